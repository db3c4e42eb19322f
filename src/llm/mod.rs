//! `llm`: model-based scoring through an OpenAI-compatible endpoint (vLLM,
//! SGLang, llama.cpp server, Ollama, OpenAI and compatible services).
//!
//! ## What it measures
//! Each rule of `rules/llm.toml` sends every record that passed the earlier
//! stages to the model with its prompt template (English or Chinese, by the
//! record's language) and reads one field of the JSON object in the answer:
//! - `llm/quality`: `score`, 1 to 5, how helpful and accurate the answer is;
//! - `llm/correct`: `correct`, 1 when the answer solves the task (for math
//!   and code: is it right), else 0;
//! - `llm/ifd` (when `[ifd]` is enabled): Instruction-Following Difficulty,
//!   the answer's perplexity after the request over its perplexity alone,
//!   from the log-probabilities the endpoint echoes (`/completions` with
//!   `echo` and `logprobs`); above 1 the request does not help;
//! - `llm/tags` (when `[tags]` is enabled): open intention tags, InsTag-style,
//!   normalised, merged by `synonyms` and written to the record's tags as
//!   `intent:<tag>`; the value is how many (never drops);
//! - `llm/sample` (when `[sample]` sets a rate below 1): the record's draw,
//!   a seeded hash of its key in [0, 1); only records drawn at most `rate`
//!   are asked about, the others are rejected (or kept unjudged), so a
//!   sample's verdicts can train a classifier that scores the rest.
//!
//! The values are metrics like any rule's, so `tune`, `apply`, `explain` and
//! `report.html` work on them. `llm/error` counts the calls of a record that
//! gave no judgement (the endpoint failed after its retries, or the answer
//! held no such field); with `reject-on-error` (default) such a record is
//! rejected with the cause, never kept or dropped silently.
//!
//! ## Why
//! Heuristics cannot see a wrong answer: a triangle's area of 15 where it is
//! 4.5, a rationale that contradicts its key. A strong model as judge can
//! (the GPT-4-as-filter and AlpaGasus practice).
//!
//! ## How it runs
//! Off unless named: `--stages llm`, or `--stages default,llm` for every
//! default stage and this one. It runs after the other per-record stages and
//! before dedup. A batch's records are asked at once, `concurrency` calls in
//! flight, paced by `requests-per-second`, each attempt limited by
//! `timeout-seconds`, retried with a doubling wait on timeouts, lost
//! connections, 408, 429 (after its `Retry-After`) and 5xx; after
//! `max-consecutive-failures` calls in a row failed the run stops asking
//! and fails with the cause (what was answered stays in the cache). Answers
//! are cached in the output folder ([`cache`]): nothing is asked twice.
//! `OPENAI_BASE_URL` and `CURATE_LLM_MODEL` override the endpoint and the
//! model; the key is read from `OPENAI_API_KEY` (or the variable the file
//! names) and is never written anywhere. No network call is made unless
//! this stage runs.
//!
//! ## Example
//! `curate run data.jsonl --out out --stages default,llm` with
//! `OPENAI_BASE_URL=http://127.0.0.1:8000/v1` rejects a record whose answer
//! the model scores 2 as `llm/quality: model score 2 < 3 (the model: "the
//! area is wrong")`.

pub mod cache;
pub mod client;
pub mod config;
pub mod reply;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::RulesError;
use crate::record::{Record, Role};
use crate::rules::RuleFiles;
use crate::stage::{Failure, RecordStage, RuleInfo, StageOutcome, Threshold};
use crate::text::Lang;

use cache::Cache;
use client::{CallError, Client, Request};
use config::LlmConfig;

/// The stage's name.
pub const STAGE: &str = "llm";

/// The model stage.
pub struct LlmStage {
    cfg: LlmConfig,
    run: Mutex<Option<Arc<RunState>>>,
}

/// What one run (or task) holds: the client, the cache and the counts.
struct RunState {
    client: Client,
    cache: Cache,
    /// Calls that gave no answer, by key.
    failed: Mutex<BTreeMap<u128, CallError>>,
    asked: AtomicU64,
    hits: AtomicU64,
    tokens_in: AtomicU64,
    tokens_out: AtomicU64,
    /// A write that failed: the run fails with it.
    fatal: Mutex<Option<String>>,
}

impl RunState {
    fn new(cfg: &LlmConfig, cache: Cache) -> RunState {
        RunState {
            client: Client::new(&cfg.endpoint),
            cache,
            failed: Mutex::new(BTreeMap::new()),
            asked: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            tokens_in: AtomicU64::new(0),
            tokens_out: AtomicU64::new(0),
            fatal: Mutex::new(None),
        }
    }
}

/// Builds the stage from `llm.toml` (`None` without the file or rules).
pub fn build(files: &RuleFiles) -> Result<Option<Box<dyn RecordStage>>, Vec<RulesError>> {
    let Some(cfg) = LlmConfig::from_files(files)? else {
        return Ok(None);
    };
    if cfg.rules.is_empty() && cfg.tags.is_none() && cfg.ifd.is_none() {
        return Ok(None);
    }
    Ok(Some(Box::new(LlmStage::new(cfg))))
}

/// Roles as the prompt names them, in English and Chinese.
fn speaker(role: Role, zh: bool) -> &'static str {
    match (role, zh) {
        (Role::User, false) => "User",
        (Role::User, true) => "用户",
        (Role::Assistant, false) => "Assistant",
        (Role::Assistant, true) => "助手",
        (Role::System, false) => "System",
        (Role::System, true) => "系统",
        (Role::FunctionCall, false) => "Tool call",
        (Role::FunctionCall, true) => "工具调用",
        (Role::Observation, false) => "Tool result",
        (Role::Observation, true) => "工具结果",
    }
}

/// `text` cut to `max` characters.
fn cut(text: &str, max: usize) -> String {
    match crate::text::head_chars(text, max) {
        (head, true) => format!("{head} …[cut]"),
        (all, false) => all.to_string(),
    }
}

impl LlmStage {
    /// The stage of `cfg`.
    pub fn new(cfg: LlmConfig) -> LlmStage {
        LlmStage {
            cfg,
            run: Mutex::new(None),
        }
    }

    fn state(&self) -> Arc<RunState> {
        let mut run = self.run.lock().unwrap_or_else(|p| p.into_inner());
        run.get_or_insert_with(|| Arc::new(RunState::new(&self.cfg, Cache::in_memory())))
            .clone()
    }

    /// What is asked for `rec`: every rule's prompt in rule order, the tags'
    /// prompt, then the two losses of the instruction-following difficulty
    /// (the answer after the request, the answer alone).
    fn requests(&self, rec: &Record) -> Vec<Request> {
        if self.cfg.sample.is_some_and(|s| !s.contains(&rec.key)) {
            return Vec::new();
        }
        let mut out: Vec<Request> = self
            .cfg
            .rules
            .iter()
            .map(|r| r.template)
            .chain(self.cfg.tags.as_ref().map(|t| t.template))
            .map(|t| Request::Chat(self.prompt(t, rec)))
            .collect();
        if self.cfg.ifd.is_some() {
            let max = self.cfg.endpoint.max_prompt_chars;
            let request = format!("{}\n\n", cut(rec.prompt(), max));
            let answer = cut(rec.response().unwrap_or(""), max);
            out.push(Request::Loss {
                from: request.chars().count(),
                text: request + &answer,
            });
            out.push(Request::Loss { text: answer, from: 0 });
        }
        out
    }

    /// The prompt of template `template` for `rec`.
    pub fn prompt(&self, template: usize, rec: &Record) -> String {
        let zh = rec.lang == Lang::Zh;
        let t = &self.cfg.templates[template];
        let body = if zh { &t.zh } else { &t.en };
        let max = self.cfg.endpoint.max_prompt_chars;
        let mut out = body.clone();
        if out.contains("{conversation}") {
            let mut conv = String::new();
            for turn in &rec.turns {
                if !conv.is_empty() {
                    conv.push_str("\n\n");
                }
                conv.push_str(speaker(turn.role, zh));
                conv.push_str(if zh { "：" } else { ": " });
                conv.push_str(&turn.content);
            }
            out = out.replace("{conversation}", &cut(&conv, max));
        }
        out = out.replace("{prompt}", &cut(rec.prompt(), max));
        out.replace("{response}", &cut(rec.response().unwrap_or(""), max))
    }

    /// The cache key of a request: the model, the sampling settings and the
    /// prompt's text.
    fn key(&self, request: &Request) -> u128 {
        let e = &self.cfg.endpoint;
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        h.update(e.model.as_bytes());
        h.update(&[0]);
        match request {
            Request::Chat(prompt) => {
                h.update(&e.temperature.to_le_bytes());
                h.update(&e.max_tokens.to_le_bytes());
                h.update(prompt.as_bytes());
            }
            Request::Loss { text, from } => {
                h.update(b"\x01loss");
                h.update(&(*from as u64).to_le_bytes());
                h.update(text.as_bytes());
            }
        }
        h.digest128()
    }

    fn error_threshold(&self) -> Threshold {
        Threshold {
            min: None,
            max: self.cfg.endpoint.reject_on_error.then_some(0.0),
        }
    }
}

impl RecordStage for LlmStage {
    fn name(&self) -> &str {
        STAGE
    }

    fn rules(&self) -> Vec<RuleInfo> {
        let mut out: Vec<RuleInfo> = self
            .cfg
            .rules
            .iter()
            .map(|r| RuleInfo {
                id: format!("{STAGE}/{}", r.name),
                subject: format!("model {}", r.field),
                threshold: r.threshold,
                by_lang: r.by_lang.clone(),
            })
            .collect();
        if let Some(th) = self.cfg.ifd {
            out.push(RuleInfo {
                id: format!("{STAGE}/ifd"),
                subject: "instruction-following difficulty".into(),
                threshold: th,
                by_lang: Vec::new(),
            });
        }
        if self.cfg.tags.is_some() {
            out.push(RuleInfo {
                id: format!("{STAGE}/tags"),
                subject: "intention tags".into(),
                threshold: Threshold::default(),
                by_lang: Vec::new(),
            });
        }
        out.push(RuleInfo {
            id: format!("{STAGE}/error"),
            subject: "calls without a judgement".into(),
            threshold: self.error_threshold(),
            by_lang: Vec::new(),
        });
        if let Some(s) = self.cfg.sample {
            out.push(RuleInfo {
                id: format!("{STAGE}/sample"),
                subject: "sample draw".into(),
                threshold: Threshold {
                    min: None,
                    max: s.reject_unsampled.then_some(s.rate),
                },
                by_lang: Vec::new(),
            });
        }
        out
    }

    fn opt_in(&self) -> bool {
        true
    }

    fn attach(&self, dir: &Path, writer: &str) -> crate::error::Result<()> {
        let cache = Cache::open(&dir.join(cache::DIR), writer)?;
        *self.run.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(RunState::new(&self.cfg, cache)));
        Ok(())
    }

    fn prepare(&self, recs: &[&Record]) {
        let st = self.state();
        let mut keys = std::collections::HashSet::new();
        let mut ask: Vec<(u128, Request)> = Vec::new();
        for rec in recs {
            for p in self.requests(rec) {
                let k = self.key(&p);
                if st.cache.get(k).is_some() {
                    st.hits.fetch_add(1, Ordering::Relaxed);
                } else if keys.insert(k) {
                    ask.push((k, p));
                }
            }
        }
        if ask.is_empty() {
            return;
        }
        let prompts: Vec<&Request> = ask.iter().map(|(_, p)| p).collect();
        let answers = st.client.complete_all(&prompts);
        let mut failed = st.failed.lock().unwrap_or_else(|p| p.into_inner());
        for ((k, _), a) in ask.iter().zip(answers) {
            match a {
                Ok(c) => {
                    st.asked.fetch_add(1, Ordering::Relaxed);
                    st.tokens_in.fetch_add(c.tokens_in, Ordering::Relaxed);
                    st.tokens_out.fetch_add(c.tokens_out, Ordering::Relaxed);
                    failed.remove(k);
                    if let Err(e) = st.cache.put(*k, c) {
                        st.fatal
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .get_or_insert(e.to_string());
                    }
                }
                Err(e) => {
                    if e.kind != "breaker" {
                        st.asked.fetch_add(1, Ordering::Relaxed);
                    }
                    failed.insert(*k, e);
                }
            }
        }
        if let Err(e) = st.cache.flush() {
            st.fatal
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_or_insert(e.to_string());
        }
    }

    fn process(&self, rec: &mut Record) -> StageOutcome {
        let st = self.state();
        let n = self.cfg.rules.len() + usize::from(self.cfg.tags.is_some()) + usize::from(self.cfg.ifd.is_some());
        let mut out = StageOutcome {
            failed: Vec::new(),
            values: Vec::with_capacity(n + 1),
            counts: Vec::new(),
        };
        if let Some(s) = self.cfg.sample {
            let draw = s.draw(&rec.key);
            if !s.contains(&rec.key) {
                // Outside the sample: nothing asked, every judgement missing.
                out.values.resize(n, f64::NAN);
                out.values.extend([0.0, draw]);
                if s.reject_unsampled {
                    out.failed.push(Failure {
                        rule: n + 1,
                        value: draw,
                        threshold: s.rate,
                        reason: format!("outside the sample sent to the model (draw {draw} > rate {})", s.rate),
                    });
                }
                return out;
            }
        }
        let mut errors: Vec<String> = Vec::new();
        let prompts = self.requests(rec);
        let answer = |i: usize, name: &str, out: &mut StageOutcome, errors: &mut Vec<String>| {
            let k = self.key(&prompts[i]);
            let a = st.cache.get(k);
            if a.is_none() {
                let failed = st.failed.lock().unwrap_or_else(|p| p.into_inner());
                let (kind, msg) = match failed.get(&k) {
                    Some(e) => (e.kind.clone(), e.message.clone()),
                    None => ("not-asked".to_string(), "the record was not sent".to_string()),
                };
                out.counts.push((format!("error/{kind}"), 1));
                errors.push(format!("{name}: {kind}: {}", cut(&msg, 160)));
            }
            a
        };
        for (i, rule) in self.cfg.rules.iter().enumerate() {
            let Some(answer) = answer(i, &rule.name, &mut out, &mut errors) else {
                out.values.push(f64::NAN);
                continue;
            };
            let Some((value, why)) = reply::field(&answer.content, &rule.field) else {
                out.counts.push(("error/no-judgement".to_string(), 1));
                errors.push(format!(
                    "{}: the answer holds no JSON object with `{}`: {}",
                    rule.name,
                    rule.field,
                    cut(&answer.content, 160)
                ));
                out.values.push(f64::NAN);
                continue;
            };
            out.values.push(value);
            let th = rule
                .by_lang
                .iter()
                .find(|(l, _)| *l == rec.lang)
                .map_or(&rule.threshold, |(_, t)| t);
            if let Some(crossed) = th.check(value) {
                let mut reason = crate::verdict::crossed(&format!("model {}", rule.field), value, crossed, None);
                if let Some(w) = why.filter(|w| !w.trim().is_empty()) {
                    reason.push_str(&format!(" (the model: \"{}\")", cut(w.trim(), 200)));
                }
                out.failed.push(Failure {
                    rule: i,
                    value,
                    threshold: crossed.bound(),
                    reason,
                });
            }
        }
        let tags_at = self.cfg.rules.len();
        let ifd_at = tags_at + usize::from(self.cfg.tags.is_some());
        if let Some(th) = self.cfg.ifd {
            let loss = |i: usize, out: &mut StageOutcome, errors: &mut Vec<String>| {
                answer(i, "ifd", out, errors)
                    .and_then(|a| reply::field(&a.content, "nll"))
                    .map(|x| x.0)
            };
            let (with, alone) = (
                loss(ifd_at, &mut out, &mut errors),
                loss(ifd_at + 1, &mut out, &mut errors),
            );
            match (with, alone) {
                (Some(with), Some(alone)) => {
                    // The answer's perplexity after the request over its
                    // perplexity alone: above 1, the request does not help.
                    let value = ((with - alone).exp() * 1e4).round() / 1e4;
                    out.values.push(value);
                    if let Some(crossed) = th.check(value) {
                        out.failed.push(Failure {
                            rule: self.cfg.rules.len(),
                            value,
                            threshold: crossed.bound(),
                            reason: crate::verdict::crossed("instruction-following difficulty", value, crossed, None),
                        });
                    }
                }
                _ => out.values.push(f64::NAN),
            }
        }
        if let Some(t) = &self.cfg.tags {
            let i = tags_at;
            match answer(i, "tags", &mut out, &mut errors).map(|a| reply::list(&a.content, &t.field)) {
                Some(Some(list)) => {
                    let mut added = 0;
                    for tag in list {
                        let tag = config::normalise_tag(&tag);
                        let tag = t.synonyms.get(&tag).cloned().unwrap_or(tag);
                        let tag = format!("{}{tag}", t.prefix);
                        if tag.len() > t.prefix.len() && added < t.max_tags && !rec.tags.contains(&tag) {
                            rec.tags.push(tag);
                            added += 1;
                        }
                    }
                    out.values.push(added as f64);
                }
                Some(None) => {
                    out.counts.push(("error/no-judgement".to_string(), 1));
                    errors.push(format!("tags: the answer holds no JSON list `{}`", t.field));
                    out.values.push(f64::NAN);
                }
                None => out.values.push(f64::NAN),
            }
        }
        let n_err = errors.len() as f64;
        out.values.push(n_err);
        if let Some(crossed) = self.error_threshold().check(n_err) {
            out.failed.push(Failure {
                rule: n,
                value: n_err,
                threshold: crossed.bound(),
                reason: format!("the model gave no judgement ({})", errors.join("; ")),
            });
        }
        if let Some(s) = self.cfg.sample {
            out.values.push(s.draw(&rec.key));
        }
        out
    }

    fn fatal(&self) -> Option<String> {
        let st = self.run.lock().ok()?.clone()?;
        if let Some(e) = st.fatal.lock().ok()?.clone() {
            return Some(format!("the model stage could not store its answers: {e}"));
        }
        let e = st.client.broken()?;
        Some(format!(
            "the model endpoint {} failed {} calls in a row (last: {}: {}); the answers so far are cached: run the same command again to go on",
            self.cfg.endpoint.base_url, self.cfg.endpoint.max_consecutive_failures, e.kind, e.message
        ))
    }

    fn run_counts(&self) -> Vec<(String, u64)> {
        let Some(st) = self.run.lock().ok().and_then(|r| r.clone()) else {
            return Vec::new();
        };
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let e = &self.cfg.endpoint;
        let cost = get(&st.tokens_in) as f64 * e.price_input / 1e6 + get(&st.tokens_out) as f64 * e.price_output / 1e6;
        vec![
            ("calls".into(), get(&st.asked)),
            ("cache-hits".into(), get(&st.hits)),
            ("retries".into(), st.client.retries.load(Ordering::Relaxed) as u64),
            ("tokens-in".into(), get(&st.tokens_in)),
            ("tokens-out".into(), get(&st.tokens_out)),
            ("cost-micro-usd".into(), (cost * 1e6).round() as u64),
        ]
    }
}
