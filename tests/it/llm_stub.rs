//! A local stand-in for an OpenAI-compatible chat-completions endpoint, for
//! the model stage's tests and throughput check: deterministic answers, and
//! faults injected on request (errors, rate limits, bad bodies, cut bodies,
//! slow answers).
//!
//! The answer to a prompt follows from the prompt's hash: a quality score
//! of 1 to 5 and a correctness yes/no, in a JSON object the way models write
//! it (sometimes inside a fenced block with a sentence before).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Which requests fail, by the prompt's hash.
#[derive(Clone, Copy, Default)]
pub struct Faults {
    /// Per mille of prompts whose first attempt fails (500, 429, a body that
    /// is no JSON, a body cut short, or an answer slower than the client's
    /// time limit, in turn).
    pub first_attempt_permille: u64,
    /// Per mille of prompts that always get a 400 (too long for the model).
    pub always_permille: u64,
    /// Every request gets a 500.
    pub down: bool,
    /// How long a slow answer takes.
    pub slow: Duration,
}

/// A running stub; stops when dropped.
pub struct Stub {
    /// `http://127.0.0.1:PORT/v1`
    pub url: String,
    /// Requests received.
    pub requests: Arc<AtomicUsize>,
    /// Authorization headers received.
    pub auth: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    port: u16,
}

fn hash(s: &str) -> u64 {
    // FNV-1a: stable across runs and platforms.
    s.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

impl Stub {
    /// Starts a stub on a free local port.
    pub fn start(faults: Faults) -> Stub {
        Stub::start_on(0, faults)
    }

    /// Starts a stub on `port` (0: a free one).
    pub fn start_on(port: u16, faults: Faults) -> Stub {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicUsize::new(0));
        let auth = Arc::new(Mutex::new(Vec::new()));
        let attempts: Arc<Mutex<HashMap<u64, u32>>> = Arc::new(Mutex::new(HashMap::new()));
        {
            let (stop, requests, auth) = (stop.clone(), requests.clone(), auth.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let (requests, auth, attempts) = (requests.clone(), auth.clone(), attempts.clone());
                    std::thread::spawn(move || serve(conn, faults, &requests, &auth, &attempts));
                }
            });
        }
        Stub {
            url: format!("http://127.0.0.1:{port}/v1"),
            requests,
            auth,
            stop,
            port,
        }
    }

    /// Requests received so far.
    pub fn count(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// The answer the stub gives to `prompt`: (score, correct).
pub fn judgement(prompt: &str) -> (u64, bool) {
    let h = hash(prompt);
    (1 + (h >> 8) % 5, !(h >> 16).is_multiple_of(3))
}

fn serve(
    conn: TcpStream,
    faults: Faults,
    requests: &AtomicUsize,
    auth: &Mutex<Vec<String>>,
    attempts: &Mutex<HashMap<u64, u32>>,
) {
    let _ = conn.set_nodelay(true);
    let mut reader = BufReader::new(match conn.try_clone() {
        Ok(c) => c,
        Err(_) => return,
    });
    let mut w = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap_or(0);
                } else if k.eq_ignore_ascii_case("authorization") {
                    auth.lock().expect("auth").push(v.trim().to_string());
                }
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        requests.fetch_add(1, Ordering::Relaxed);
        let req: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        if line.starts_with("POST /v1/completions") {
            let answer = loss_answer(req["prompt"].as_str().unwrap_or(""));
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                answer.len()
            );
            if w.write_all(head.as_bytes()).is_err() || w.write_all(answer.as_bytes()).is_err() {
                return;
            }
            continue;
        }
        let prompt = req
            .pointer("/messages/0/content")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        let h = hash(&prompt);
        let attempt = {
            let mut a = attempts.lock().expect("attempts");
            let n = a.entry(h).or_default();
            *n += 1;
            *n
        };
        let respond = |w: &mut TcpStream, status: &str, extra: &str, body: &str| {
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}\r\n",
                body.len()
            );
            w.write_all(head.as_bytes()).is_ok() && w.write_all(body.as_bytes()).is_ok()
        };
        if faults.down {
            if !respond(&mut w, "500 Internal Server Error", "", "{\"error\": \"down\"}") {
                return;
            }
            continue;
        }
        if (h >> 24) % 1000 < faults.always_permille {
            let body = "{\"error\": {\"message\": \"This model's maximum context length is 8192 tokens\"}}";
            if !respond(&mut w, "400 Bad Request", "", body) {
                return;
            }
            continue;
        }
        if attempt == 1 && (h >> 40) % 1000 < faults.first_attempt_permille {
            match (h >> 4) % 5 {
                0 => {
                    if !respond(&mut w, "500 Internal Server Error", "", "{\"error\": \"boom\"}") {
                        return;
                    }
                }
                1 => {
                    if !respond(
                        &mut w,
                        "429 Too Many Requests",
                        "Retry-After: 0\r\n",
                        "{\"error\": \"slow down\"}",
                    ) {
                        return;
                    }
                }
                2 => {
                    if !respond(&mut w, "200 OK", "", "{\"choices\": [") {
                        return;
                    }
                }
                3 => {
                    // A body cut short: the connection closes mid-answer.
                    let _ = w.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{\"choices\"");
                    return;
                }
                _ => {
                    std::thread::sleep(faults.slow);
                    return;
                }
            }
            continue;
        }
        let (score, correct) = judgement(&prompt);
        const TAGS: &[&str] = &[
            "Information Retrieval",
            "code_generation",
            "Math",
            "creative writing",
            "Summarization.",
        ];
        let content = if prompt.contains("\"tags\"") {
            let n = 1 + (h >> 12) as usize % 4;
            let tags: Vec<&str> = (0..n).map(|i| TAGS[(h as usize >> (i * 3)) % TAGS.len()]).collect();
            serde_json::json!({ "tags": tags }).to_string()
        } else if prompt.contains("\"correct\"") {
            format!("{{\"correct\": {correct}, \"reason\": \"stub\"}}")
        } else if h.is_multiple_of(2) {
            format!("{{\"score\": {score}, \"reason\": \"stub verdict\"}}")
        } else {
            format!("Here is my rating:\n```json\n{{\"score\": {score}, \"reason\": \"stub verdict\"}}\n```")
        };
        let answer = serde_json::json!({
            "id": "stub",
            "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt.len() / 4, "completion_tokens": 12},
        })
        .to_string();
        if !respond(&mut w, "200 OK", "", &answer) {
            return;
        }
    }
}

/// An echo of `prompt`'s tokens (words) with log-probabilities, as vLLM's
/// `/v1/completions` gives them with `echo` and `logprobs`: a word seen
/// earlier in the text is likely (-0.3), a new one is not (-2.5); the first
/// token has none; one generated token follows.
fn loss_answer(prompt: &str) -> String {
    let mut tokens = Vec::new();
    let mut probs = Vec::new();
    let mut offsets = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut at = 0usize;
    for (i, word) in prompt.split_inclusive(char::is_whitespace).enumerate() {
        let w = word.trim().to_lowercase();
        tokens.push(word.to_string());
        offsets.push(at);
        probs.push(if i == 0 {
            serde_json::Value::Null
        } else if seen.contains(&w) {
            serde_json::json!(-0.3)
        } else {
            serde_json::json!(-2.5)
        });
        seen.insert(w);
        at += word.chars().count();
    }
    tokens.push(".".into());
    offsets.push(at);
    probs.push(serde_json::json!(-1.0));
    serde_json::json!({
        "choices": [{"text": prompt, "logprobs": {"tokens": tokens, "token_logprobs": probs, "text_offset": offsets}}],
        "usage": {"prompt_tokens": offsets.len() - 1, "completion_tokens": 1},
    })
    .to_string()
}
