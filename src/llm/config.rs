//! `rules/llm.toml`: the endpoint, the prompt templates and the rules that
//! read the model's answers. Errors name the file, the line and the key.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::error::RulesError;
use crate::rules::{locate, RuleFiles};
use crate::stage::Threshold;
use crate::text::Lang;

/// The file.
pub const FILE: &str = "llm.toml";

/// Where requests go and how they are paced.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// The API root, e.g. `http://127.0.0.1:8000/v1` (`OPENAI_BASE_URL` overrides it).
    pub base_url: String,
    /// The model asked (`CURATE_LLM_MODEL` overrides it).
    pub model: String,
    /// The environment variable holding the API key (never written anywhere).
    pub api_key_env: String,
    /// One attempt's time limit.
    pub timeout: Duration,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Requests started per second at most (0: no limit).
    pub requests_per_second: f64,
    /// Attempts after the first on a timeout, a lost connection, 408, 429 or 5xx.
    pub retries: u32,
    /// The wait before the first retry; each next one waits twice as long.
    pub backoff: Duration,
    /// The run fails after this many calls in a row failed (every retry spent)
    /// for the endpoint's sake (no connection, time out, 429, 5xx); a request
    /// it refuses (400: too long for the model) fails alone.
    pub max_consecutive_failures: u32,
    /// Sampling temperature (0: the model's most likely answer).
    pub temperature: f64,
    /// Tokens the answer may take.
    pub max_tokens: u32,
    /// A record's text is cut to this many characters in a prompt.
    pub max_prompt_chars: usize,
    /// Prices in US dollars per million tokens, for the report's estimate.
    pub price_input: f64,
    pub price_output: f64,
    /// Reject a record whose call failed (`llm/error`); else keep it unjudged.
    pub reject_on_error: bool,
}

/// A rule: a template asked of every record, the field of the answer it
/// reads, and the threshold on that value.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmRule {
    /// `quality` (id `llm/quality`).
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Index into [`LlmConfig::templates`].
    pub template: usize,
    /// The answer's field (`score`, `correct`).
    pub field: String,
    /// Keep a record when the value is within.
    pub threshold: Threshold,
    /// Per-language thresholds.
    pub by_lang: Vec<(Lang, Threshold)>,
}

/// A prompt in English and Chinese, with `{conversation}`, `{prompt}` and
/// `{response}` standing for the record's parts.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub name: String,
    pub en: String,
    pub zh: String,
}

/// Open intention tags (InsTag): a template asking for a list of short
/// tags, written to the record's tags with a prefix after normalising.
#[derive(Debug, Clone, PartialEq)]
pub struct TagRule {
    /// Index into [`LlmConfig::templates`].
    pub template: usize,
    /// The answer's list field.
    pub field: String,
    /// Put before each tag (`intent:`).
    pub prefix: String,
    /// Tags kept per record, in the model's order.
    pub max_tags: usize,
    /// Tags merged into another (`code-generation` -> `coding`), after normalising.
    pub synonyms: BTreeMap<String, String>,
}

/// The whole file.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmConfig {
    pub endpoint: Endpoint,
    pub rules: Vec<LlmRule>,
    pub templates: Vec<Template>,
    /// Intention tags, when enabled.
    pub tags: Option<TagRule>,
    /// Instruction-following difficulty, when enabled: keep a record whose
    /// value is within.
    pub ifd: Option<Threshold>,
    /// Ask about a seeded sample of the records only, when set.
    pub sample: Option<Sample>,
}

/// A seeded sample of the records, the only ones sent to the model (to
/// label a sample and distill it into a classifier): a record is in it when
/// its draw, a seeded hash of its key mapped to [0, 1), is at most `rate`.
/// The draw is a property of the record, so the sample is the same for any
/// thread count, input order or distributed run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// The share of records asked about, in (0, 1).
    pub rate: f64,
    /// Another seed draws an independent sample.
    pub seed: u64,
    /// Records outside the sample are rejected (`llm/sample`), so that the
    /// run's output is the judged sample; else they are kept unjudged.
    pub reject_unsampled: bool,
}

impl Sample {
    /// The draw of the record with key `key`, in [0, 1), to six decimals
    /// (the value stored, so `tune` and `apply` decide on what was decided).
    pub fn draw(&self, key: &str) -> f64 {
        let h = xxhash_rust::xxh3::xxh3_64_with_seed(key.as_bytes(), self.seed);
        ((h >> 11) as f64 / (1u64 << 53) as f64 * 1e6).floor() / 1e6
    }

    /// Whether the record with key `key` is asked about.
    pub fn contains(&self, key: &str) -> bool {
        self.draw(key) <= self.rate
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    endpoint: RawEndpoint,
    #[serde(default)]
    rules: BTreeMap<String, RawRule>,
    #[serde(default)]
    templates: BTreeMap<String, RawTemplate>,
    tags: Option<RawTags>,
    ifd: Option<RawIfd>,
    sample: Option<RawSample>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSample {
    rate: f64,
    #[serde(default)]
    seed: u64,
    #[serde(default = "default_unsampled")]
    unsampled: String,
}

fn default_unsampled() -> String {
    "reject".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIfd {
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    description: String,
    min: Option<f64>,
    max: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawTags {
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    description: String,
    template: String,
    #[serde(default = "default_tags_field")]
    field: String,
    #[serde(default = "default_tags_prefix")]
    prefix: String,
    #[serde(default = "default_max_tags")]
    max_tags: usize,
    #[serde(default)]
    synonyms: BTreeMap<String, String>,
}

fn default_tags_field() -> String {
    "tags".into()
}
fn default_tags_prefix() -> String {
    "intent:".into()
}
fn default_max_tags() -> usize {
    5
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawEndpoint {
    base_url: String,
    model: String,
    #[serde(default = "default_key_env")]
    api_key_env: String,
    #[serde(default = "default_timeout")]
    timeout_seconds: f64,
    #[serde(default = "default_concurrency")]
    concurrency: usize,
    #[serde(default)]
    requests_per_second: f64,
    #[serde(default = "default_retries")]
    retries: u32,
    #[serde(default = "default_backoff")]
    backoff_seconds: f64,
    #[serde(default = "default_failures")]
    max_consecutive_failures: u32,
    #[serde(default)]
    temperature: f64,
    #[serde(default = "default_max_tokens")]
    max_tokens: u32,
    #[serde(default = "default_prompt_chars")]
    max_prompt_chars: usize,
    #[serde(default)]
    price_input_per_million: f64,
    #[serde(default)]
    price_output_per_million: f64,
    #[serde(default = "yes")]
    reject_on_error: bool,
}

fn default_key_env() -> String {
    "OPENAI_API_KEY".into()
}
fn default_timeout() -> f64 {
    60.0
}
fn default_concurrency() -> usize {
    8
}
fn default_retries() -> u32 {
    4
}
fn default_backoff() -> f64 {
    1.0
}
fn default_failures() -> u32 {
    20
}
fn default_max_tokens() -> u32 {
    200
}
fn default_prompt_chars() -> usize {
    12_000
}
fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    #[serde(default)]
    description: String,
    template: String,
    field: String,
    min: Option<f64>,
    max: Option<f64>,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    lang: BTreeMap<String, RawBounds>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBounds {
    min: Option<f64>,
    max: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTemplate {
    en: String,
    zh: String,
}

/// The placeholders a template may hold.
pub const PLACEHOLDERS: &[&str] = &["{conversation}", "{prompt}", "{response}"];

impl LlmConfig {
    /// The settings of the rule set, or `None` when it has no `llm.toml`.
    /// The environment overrides the endpoint (`OPENAI_BASE_URL`,
    /// `CURATE_LLM_MODEL`).
    pub fn from_files(files: &RuleFiles) -> Result<Option<LlmConfig>, Vec<RulesError>> {
        let Some(text) = files.get(FILE) else {
            return Ok(None);
        };
        let mut cfg = Self::parse(text)?;
        if let Some(url) = std::env::var("OPENAI_BASE_URL").ok().filter(|u| !u.trim().is_empty()) {
            cfg.endpoint.base_url = url.trim().to_string();
        }
        if let Some(m) = std::env::var("CURATE_LLM_MODEL").ok().filter(|m| !m.trim().is_empty()) {
            cfg.endpoint.model = m.trim().to_string();
        }
        Ok(Some(cfg))
    }

    /// Parses and checks the text of `llm.toml`.
    pub fn parse(text: &str) -> Result<LlmConfig, Vec<RulesError>> {
        let raw: Raw = toml::from_str(text).map_err(|e| vec![RulesError::from_toml(FILE, text, &e)])?;
        let mut errors = Vec::new();
        let err = |table: &str, key: &str, message: String| RulesError {
            file: FILE.into(),
            line: locate(text, table, Some(key)),
            key: Some(format!("{table}.{key}")),
            message,
        };
        let e = &raw.endpoint;
        if !(e.base_url.starts_with("http://") || e.base_url.starts_with("https://")) {
            errors.push(err(
                "endpoint",
                "base-url",
                format!("`{}` is no http:// or https:// address", e.base_url),
            ));
        }
        for (key, v, lo) in [
            ("timeout-seconds", e.timeout_seconds, 0.001),
            ("backoff-seconds", e.backoff_seconds, 0.0),
            ("requests-per-second", e.requests_per_second, 0.0),
            ("temperature", e.temperature, 0.0),
            ("price-input-per-million", e.price_input_per_million, 0.0),
            ("price-output-per-million", e.price_output_per_million, 0.0),
        ] {
            if !(v >= lo && v < 1e9) {
                errors.push(err(
                    "endpoint",
                    key,
                    format!("{v} is out of range: it takes {lo} or more"),
                ));
            }
        }
        if !(1..=1024).contains(&e.concurrency) {
            errors.push(err(
                "endpoint",
                "concurrency",
                "it takes 1 to 1024 requests in flight".into(),
            ));
        }
        if e.max_consecutive_failures == 0 {
            errors.push(err("endpoint", "max-consecutive-failures", "it takes 1 or more".into()));
        }
        let templates: Vec<Template> = raw
            .templates
            .iter()
            .map(|(name, t)| Template {
                name: name.clone(),
                en: t.en.clone(),
                zh: t.zh.clone(),
            })
            .collect();
        for t in &templates {
            for (key, body) in [("en", &t.en), ("zh", &t.zh)] {
                if !PLACEHOLDERS.iter().any(|p| body.contains(p)) {
                    errors.push(err(
                        &format!("templates.{}", t.name),
                        key,
                        format!(
                            "the template shows the model nothing of the record: use {}",
                            PLACEHOLDERS.join(", ")
                        ),
                    ));
                }
            }
        }
        let mut rules = Vec::new();
        for (name, r) in &raw.rules {
            let table = format!("rules.{name}");
            let Some(template) = templates.iter().position(|t| t.name == r.template) else {
                let known: Vec<&str> = templates.iter().map(|t| t.name.as_str()).collect();
                errors.push(err(
                    &table,
                    "template",
                    format!(
                        "no template `{}` in [templates]; there are: {}",
                        r.template,
                        known.join(", ")
                    ),
                ));
                continue;
            };
            if r.min.is_none() && r.max.is_none() && r.lang.is_empty() {
                errors.push(err(
                    &table,
                    "min",
                    format!("rule `{name}` sets neither min nor max, so it can never drop a record"),
                ));
                continue;
            }
            let mut by_lang = Vec::new();
            for (code, b) in &r.lang {
                match Lang::from_code(code) {
                    Some(l) => by_lang.push((l, Threshold { min: b.min, max: b.max })),
                    None => errors.push(err(
                        &table,
                        &format!("lang.{code}"),
                        format!("unknown language `{code}` (zh, ja, ko, en, other)"),
                    )),
                }
            }
            if r.enabled {
                rules.push(LlmRule {
                    name: name.clone(),
                    description: r.description.clone(),
                    template,
                    field: r.field.clone(),
                    threshold: Threshold { min: r.min, max: r.max },
                    by_lang,
                });
            }
        }
        let mut tags = None;
        if let Some(t) = raw.tags.as_ref().filter(|t| t.enabled) {
            let _ = &t.description;
            match templates.iter().position(|x| x.name == t.template) {
                Some(template) => {
                    tags = Some(TagRule {
                        template,
                        field: t.field.clone(),
                        prefix: t.prefix.clone(),
                        max_tags: t.max_tags,
                        synonyms: t
                            .synonyms
                            .iter()
                            .map(|(a, b)| (normalise_tag(a), normalise_tag(b)))
                            .collect(),
                    })
                }
                None => errors.push(err(
                    "tags",
                    "template",
                    format!("no template `{}` in [templates]", t.template),
                )),
            }
        }
        let ifd = raw.ifd.as_ref().filter(|i| i.enabled).map(|i| {
            let _ = &i.description;
            Threshold { min: i.min, max: i.max }
        });
        let mut sample = None;
        if let Some(s) = &raw.sample {
            if !(s.rate > 0.0 && s.rate <= 1.0) {
                errors.push(err(
                    "sample",
                    "rate",
                    format!("{} is out of range: it takes a share above 0 and at most 1", s.rate),
                ));
            }
            let reject_unsampled = match s.unsampled.as_str() {
                "reject" => true,
                "keep" => false,
                other => {
                    errors.push(err(
                        "sample",
                        "unsampled",
                        format!("`{other}`: it takes \"reject\" or \"keep\""),
                    ));
                    true
                }
            };
            if s.rate < 1.0 {
                sample = Some(Sample {
                    rate: s.rate,
                    seed: s.seed,
                    reject_unsampled,
                });
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(LlmConfig {
            endpoint: Endpoint {
                base_url: e.base_url.trim_end_matches('/').to_string(),
                model: e.model.clone(),
                api_key_env: e.api_key_env.clone(),
                timeout: Duration::from_secs_f64(e.timeout_seconds),
                concurrency: e.concurrency,
                requests_per_second: e.requests_per_second,
                retries: e.retries,
                backoff: Duration::from_secs_f64(e.backoff_seconds),
                max_consecutive_failures: e.max_consecutive_failures,
                temperature: e.temperature,
                max_tokens: e.max_tokens,
                max_prompt_chars: e.max_prompt_chars,
                price_input: e.price_input_per_million,
                price_output: e.price_output_per_million,
                reject_on_error: e.reject_on_error,
            },
            rules,
            templates,
            tags,
            ifd,
            sample,
        })
    }
}

/// What each rule of the file measures by, for `apply` to tell a rule
/// whose measure changed from one whose threshold did: the rule's table
/// without its bounds, the text of the template it asks, the endpoint
/// settings that shape an answer (model, temperature, max-tokens,
/// max-prompt-chars) and the sample. Empty when the file is missing or
/// does not parse.
pub fn definitions(files: &RuleFiles) -> BTreeMap<String, toml::Table> {
    let mut out = BTreeMap::new();
    let Some(file) = files.get(FILE).and_then(|t| toml::from_str::<toml::Table>(t).ok()) else {
        return out;
    };
    let table = |key: &str| {
        file.get(key)
            .and_then(toml::Value::as_table)
            .cloned()
            .unwrap_or_default()
    };
    let (endpoint, templates) = (table("endpoint"), table("templates"));
    let mut shared = toml::Table::new();
    for k in ["model", "temperature", "max-tokens", "max-prompt-chars"] {
        if let Some(v) = endpoint.get(k) {
            shared.insert(format!("endpoint.{k}"), v.clone());
        }
    }
    if let Some(v) = file.get("sample") {
        shared.insert("sample".into(), v.clone());
    }
    let define = |mut t: toml::Table| {
        for k in ["min", "max", "lang", "enabled", "description"] {
            t.remove(k);
        }
        if let Some(body) = t
            .get("template")
            .and_then(toml::Value::as_str)
            .and_then(|n| templates.get(n))
        {
            t.insert("template-text".into(), body.clone());
        }
        t.extend(shared.clone());
        t
    };
    for (name, rule) in table("rules") {
        if let toml::Value::Table(t) = rule {
            out.insert(format!("{}/{name}", super::STAGE), define(t));
        }
    }
    for name in ["tags", "ifd"] {
        out.insert(format!("{}/{name}", super::STAGE), define(table(name)));
    }
    out.insert(format!("{}/error", super::STAGE), define(toml::Table::new()));
    out.insert(format!("{}/sample", super::STAGE), define(toml::Table::new()));
    out
}

/// A tag as InsTag normalises it: lower case, words joined by `-`, no
/// punctuation around, at most 40 characters (`"Code Generation."` ->
/// `code-generation`, `数学 计算` -> `数学-计算`).
pub fn normalise_tag(tag: &str) -> String {
    let mut out = String::new();
    for c in tag.trim().chars().flat_map(char::to_lowercase) {
        let c = if c.is_whitespace() || c == '_' || c == '-' || c == '/' {
            '-'
        } else {
            c
        };
        if c == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        if c == '-' || c.is_alphanumeric() || c == '+' || c == '#' || c == '.' {
            out.push(c);
        }
    }
    let out = out.trim_matches(|c| c == '-' || c == '.');
    out.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_file_parses_and_errors_name_their_key() {
        let files = RuleFiles::embedded();
        let cfg = LlmConfig::parse(files.get(FILE).expect("shipped")).expect("valid");
        assert!(cfg.rules.iter().any(|r| r.name == "quality"));
        let bad = "[endpoint]\nbase-url = \"localhost:8000\"\nmodel = \"m\"\nconcurrency = 0\n[rules.q]\ntemplate = \"nope\"\nfield = \"score\"\nmin = 3\n";
        let e = LlmConfig::parse(bad).expect_err("bad");
        let keys: Vec<_> = e.iter().map(|e| (e.key.clone().unwrap_or_default(), e.line)).collect();
        assert_eq!(
            keys,
            [
                ("endpoint.base-url".to_string(), Some(2)),
                ("endpoint.concurrency".to_string(), Some(4)),
                ("rules.q.template".to_string(), Some(6)),
            ]
        );
        let e = LlmConfig::parse("[endpoint]\nbase-url = \"http://x\"\nmodel = \"m\"\nretry = 3\n").expect_err("typo");
        assert!(e[0].message.contains("unknown field `retry`"), "{}", e[0].message);
    }

    #[test]
    fn a_sample_is_drawn_from_the_record_key_and_the_seed() {
        let cfg = |extra: &str| {
            let text = format!("[endpoint]\nbase-url = \"http://x\"\nmodel = \"m\"\n{extra}");
            LlmConfig::parse(&text)
        };
        let s = cfg("[sample]\nrate = 0.25\nseed = 3\n")
            .expect("valid")
            .sample
            .expect("a sample");
        let keys: Vec<String> = (1..=4_000).map(|i| format!("data/a.jsonl:{i}")).collect();
        let n = keys.iter().filter(|k| s.contains(k)).count();
        assert!((900..=1_100).contains(&n), "{n} of 4000 at rate 0.25");
        // The same keys always; another seed, another sample.
        assert!(keys
            .iter()
            .all(|k| s.draw(k) == s.draw(k) && (0.0..1.0).contains(&s.draw(k))));
        let t = Sample { seed: 4, ..s };
        assert!(keys.iter().filter(|k| s.contains(k) != t.contains(k)).count() > 500);
        // Rate 1 is no sample; out of range and unknown modes name their key.
        assert_eq!(cfg("[sample]\nrate = 1.0\n").expect("valid").sample, None);
        let e = cfg("[sample]\nrate = 0\nunsampled = \"drop\"\n").expect_err("bad");
        let keys: Vec<_> = e.iter().map(|e| e.key.clone().unwrap_or_default()).collect();
        assert_eq!(keys, ["sample.rate", "sample.unsampled"]);
    }

    #[test]
    fn tags_are_normalised_as_instag_does() {
        assert_eq!(normalise_tag("  Code Generation. "), "code-generation");
        assert_eq!(normalise_tag("information_retrieval"), "information-retrieval");
        assert_eq!(normalise_tag("C++ / Rust"), "c++-rust");
        assert_eq!(normalise_tag("数学 计算"), "数学-计算");
        assert_eq!(normalise_tag("\"!!\""), "");
        assert_eq!(normalise_tag(&"x".repeat(60)).len(), 40);
    }
}
