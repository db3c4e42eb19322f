//! Calls to an OpenAI-compatible chat-completions endpoint: bounded
//! concurrency and pace, a time limit per attempt, retries with a doubling
//! wait on the failures worth retrying, and a circuit breaker that stops
//! asking after too many calls in a row failed.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::config::Endpoint;

/// A model's answer to one prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// The message content.
    pub content: String,
    /// Tokens of the prompt and of the answer, as the endpoint counts them.
    pub tokens_in: u64,
    pub tokens_out: u64,
}

/// Why a call gave no answer, by kind (the report counts them).
#[derive(Debug, Clone, PartialEq)]
pub struct CallError {
    /// `timeout`, `connect`, `http-429`, `http-500`, `bad-body`, `breaker`, …
    pub kind: String,
    /// What happened, in words (never the API key).
    pub message: String,
}

/// What is asked of the endpoint.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// A chat completion of one user message.
    Chat(String),
    /// The log-probabilities of a text's own tokens (`/completions` with
    /// `echo` and `logprobs`, as vLLM serves it): the answer is the mean
    /// negative log-probability of the tokens from character `from` on, as
    /// `{"nll": …, "tokens": …}`.
    Loss { text: String, from: usize },
}

/// The client of one run.
pub struct Client {
    agent: ureq::Agent,
    url: String,
    key: Option<String>,
    endpoint: Endpoint,
    next_start: Mutex<Instant>,
    failures_in_a_row: AtomicU32,
    broken: AtomicBool,
    /// The error that opened the breaker.
    last_error: Mutex<Option<CallError>>,
    /// Attempts after a first one, over the run.
    pub retries: AtomicUsize,
}

impl Client {
    /// A client of `endpoint`, its key read from the environment variable the
    /// endpoint names (no key is sent when it is unset).
    pub fn new(endpoint: &Endpoint) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(endpoint.timeout))
            .http_status_as_error(false)
            .max_idle_connections(endpoint.concurrency.max(1) * 2)
            .max_idle_connections_per_host(endpoint.concurrency.max(1) * 2)
            .build()
            .into();
        Client {
            agent,
            url: endpoint.base_url.clone(),
            key: std::env::var(&endpoint.api_key_env).ok().filter(|k| !k.is_empty()),
            endpoint: endpoint.clone(),
            next_start: Mutex::new(Instant::now()),
            failures_in_a_row: AtomicU32::new(0),
            broken: AtomicBool::new(false),
            last_error: Mutex::new(None),
            retries: AtomicUsize::new(0),
        }
    }

    /// Whether the breaker is open, and the error that opened it.
    pub fn broken(&self) -> Option<CallError> {
        if self.broken.load(Ordering::Relaxed) {
            self.last_error.lock().map(|e| e.clone()).unwrap_or(None)
        } else {
            None
        }
    }

    /// Answers to every prompt, in order, with at most `concurrency` calls
    /// in flight.
    pub fn complete_all(&self, prompts: &[&Request]) -> Vec<Result<Completion, CallError>> {
        let next = AtomicUsize::new(0);
        let slots: Vec<Mutex<Option<Result<Completion, CallError>>>> =
            prompts.iter().map(|_| Mutex::new(None)).collect();
        let workers = self.endpoint.concurrency.min(prompts.len()).max(1);
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(p) = prompts.get(i) else { break };
                    let r = self.complete(p);
                    if let Ok(mut slot) = slots[i].lock() {
                        *slot = Some(r);
                    }
                });
            }
        });
        slots
            .into_iter()
            .map(|m| {
                m.into_inner().ok().flatten().unwrap_or_else(|| {
                    Err(CallError {
                        kind: "internal".into(),
                        message: "no answer was recorded".into(),
                    })
                })
            })
            .collect()
    }

    /// One request's answer, retried as the endpoint settings say.
    pub fn complete(&self, request: &Request) -> Result<Completion, CallError> {
        if self.broken.load(Ordering::Relaxed) {
            return Err(CallError {
                kind: "breaker".into(),
                message: "not asked: the endpoint failed too many calls in a row".into(),
            });
        }
        let (path, body) = match request {
            Request::Chat(prompt) => (
                "chat/completions",
                json!({
                    "model": self.endpoint.model,
                    "messages": [{"role": "user", "content": prompt}],
                    "temperature": self.endpoint.temperature,
                    "max_tokens": self.endpoint.max_tokens,
                }),
            ),
            Request::Loss { text, .. } => (
                "completions",
                json!({
                    "model": self.endpoint.model,
                    "prompt": text,
                    "echo": true,
                    "logprobs": 1,
                    "max_tokens": 1,
                    "temperature": 0.0,
                }),
            ),
        };
        let url = format!("{}/{path}", self.url);
        let body = body.to_string();
        let mut wait = self.endpoint.backoff;
        let mut attempt = 0;
        loop {
            self.pace();
            let (result, retry_after) = self.attempt(&url, &body, request);
            match result {
                Ok(c) => {
                    self.failures_in_a_row.store(0, Ordering::Relaxed);
                    return Ok(c);
                }
                Err((e, retryable)) => {
                    if retryable && attempt < self.endpoint.retries && !self.broken.load(Ordering::Relaxed) {
                        attempt += 1;
                        self.retries.fetch_add(1, Ordering::Relaxed);
                        std::thread::sleep(retry_after.unwrap_or(wait).min(Duration::from_secs(60)));
                        wait *= 2;
                        continue;
                    }
                    // A request the endpoint refuses (400: too long for the
                    // model) says nothing of the endpoint's health.
                    if !retryable {
                        return Err(e);
                    }
                    let n = self.failures_in_a_row.fetch_add(1, Ordering::Relaxed) + 1;
                    if n >= self.endpoint.max_consecutive_failures {
                        if let Ok(mut last) = self.last_error.lock() {
                            last.get_or_insert_with(|| e.clone());
                        }
                        self.broken.store(true, Ordering::Relaxed);
                    }
                    return Err(e);
                }
            }
        }
    }

    /// Waits for this request's start under `requests-per-second`.
    fn pace(&self) {
        let rps = self.endpoint.requests_per_second;
        if rps <= 0.0 {
            return;
        }
        let start = {
            let Ok(mut next) = self.next_start.lock() else { return };
            let now = Instant::now();
            let start = (*next).max(now);
            *next = start + Duration::from_secs_f64(1.0 / rps);
            start
        };
        let now = Instant::now();
        if start > now {
            std::thread::sleep(start - now);
        }
    }

    /// One attempt: the answer, or the error, whether it is worth another
    /// attempt, and the wait the endpoint asked for.
    #[allow(clippy::type_complexity)]
    fn attempt(
        &self,
        url: &str,
        body: &str,
        request: &Request,
    ) -> (Result<Completion, (CallError, bool)>, Option<Duration>) {
        let mut req = self.agent.post(url).header("Content-Type", "application/json");
        if let Some(k) = &self.key {
            req = req.header("Authorization", &format!("Bearer {k}"));
        }
        let fail = |kind: &str, message: String, retry: bool| {
            Err((
                CallError {
                    kind: kind.into(),
                    message,
                },
                retry,
            ))
        };
        let mut resp = match req.send(body) {
            Ok(r) => r,
            Err(e) => {
                let (kind, retry) = match &e {
                    ureq::Error::Timeout(_) => ("timeout", true),
                    ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => ("connect", true),
                    ureq::Error::Io(_) => ("io", true),
                    _ => ("request", false),
                };
                return (fail(kind, e.to_string(), retry), None);
            }
        };
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64);
        let text = match resp.body_mut().with_config().limit(16 << 20).read_to_string() {
            Ok(t) => t,
            Err(e) => {
                let kind = if matches!(e, ureq::Error::Timeout(_)) {
                    "timeout"
                } else {
                    "bad-body"
                };
                return (fail(kind, format!("the answer could not be read: {e}"), true), None);
            }
        };
        if status != 200 {
            let retry = matches!(status, 408 | 409 | 429 | 500..=599);
            let snippet: String = text.chars().take(200).collect();
            return (
                fail(&format!("http-{status}"), format!("HTTP {status}: {snippet}"), retry),
                retry_after,
            );
        }
        let parsed: Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => return (fail("bad-body", format!("the answer is not JSON: {e}"), true), None),
        };
        let content = match request {
            Request::Chat(_) => match parsed.pointer("/choices/0/message/content").and_then(Value::as_str) {
                Some(c) => c.to_string(),
                None => {
                    return (
                        fail("bad-body", "the answer has no choices[0].message.content".into(), false),
                        None,
                    )
                }
            },
            Request::Loss { text, from } => match mean_loss(&parsed, text, *from) {
                Some((nll, n)) => json!({"nll": nll, "tokens": n}).to_string(),
                None => {
                    return (
                        fail(
                            "no-logprobs",
                            "the answer has no choices[0].logprobs with token_logprobs and text_offset (the endpoint must echo the prompt's log-probabilities)".into(),
                            false,
                        ),
                        None,
                    )
                }
            },
        };
        let usage = |k: &str| {
            parsed
                .pointer(&format!("/usage/{k}"))
                .and_then(Value::as_u64)
                .unwrap_or(0)
        };
        (
            Ok(Completion {
                content,
                tokens_in: usage("prompt_tokens"),
                tokens_out: usage("completion_tokens"),
            }),
            None,
        )
    }
}

/// The mean negative log-probability of the echoed tokens of `text` that
/// start at character `from` or later (the generated token after the text,
/// and a first token without a log-probability, are left out), and how many.
fn mean_loss(parsed: &Value, text: &str, from: usize) -> Option<(f64, usize)> {
    let lp = parsed.pointer("/choices/0/logprobs")?;
    let probs = lp.get("token_logprobs")?.as_array()?;
    let offsets = lp.get("text_offset")?.as_array()?;
    let end = text.chars().count();
    let (mut sum, mut n) = (0.0, 0usize);
    for (p, o) in probs.iter().zip(offsets) {
        let (Some(p), Some(o)) = (p.as_f64(), o.as_u64()) else {
            continue;
        };
        let o = o as usize;
        if o >= from && o < end && p.is_finite() {
            sum -= p;
            n += 1;
        }
    }
    (n > 0).then(|| (sum / n as f64, n))
}
