//! `rules/mix.toml`: raw options (unknown keys rejected) validated into
//! [`MixConfig`]. Errors name the file, the line and the key.
//!
//! Shares are validated here (each in `[0, 1]`, together at most 1, a
//! positive share at least one in a million) so that [`super::decide`] can
//! assume them.

use serde::Deserialize;

use crate::error::RulesError;
use crate::rules::{locate, RuleFiles};
use crate::tag::rules::TASKS;

/// The rule file this module reads.
pub const FILE: &str = "mix.toml";

/// The smallest positive share: below it a target cannot be told from zero
/// in any corpus, and the search for the achievable total grows as its inverse.
pub const MIN_SHARE: f64 = 1e-6;

/// Shares are held as integer parts of this many, so sums and rounding are exact.
pub(crate) const PARTS: u64 = 1_000_000_000_000;

/// What the shares are over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum By {
    /// The record's primary task (`coding`, `open-qa`, …).
    Task,
    /// The record's tags that start with `prefix`, named without it
    /// (`prefix = "domain:"`: `domain:health` is the group `health`).
    Tag {
        /// The tag prefix, e.g. `domain:`.
        prefix: String,
    },
    /// The input file the record came from (its `source_file` label).
    Source,
}

impl By {
    /// How the groups are named in the report.
    pub fn name(&self) -> String {
        match self {
            By::Task => "task".into(),
            By::Tag { prefix } => format!("tag ({prefix}*)"),
            By::Source => "source file".into(),
        }
    }
}

impl By {
    /// The name written in the rule file.
    pub fn as_str(&self) -> &'static str {
        match self {
            By::Task => "task",
            By::Tag { .. } => "tag",
            By::Source => "source",
        }
    }
}

/// What happens to records whose group has no target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Others {
    /// They are kept as they are, outside the mix.
    #[default]
    Keep,
    /// They are all dropped.
    Drop,
}

/// One group's target.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// The group's name as written under `[targets]`.
    pub name: String,
    /// Its share of the mix total, in `[0, 1]`.
    pub share: f64,
}

impl Target {
    /// The share in integer parts of [`PARTS`], rounded.
    fn rounded_parts(&self) -> u64 {
        if self.share.is_finite() && self.share > 0.0 {
            ((self.share.min(1.0) * PARTS as f64).round() as u64).min(PARTS)
        } else {
            0
        }
    }
}

/// The targets' shares in integer parts of [`PARTS`]. Rounding each share
/// can take a sum of exactly 1 (`1/3 + 2/3` written in decimals) a few parts
/// past [`PARTS`]; the largest shares give those parts back, so the sum is
/// at most [`PARTS`].
pub(crate) fn parts(targets: &[Target]) -> Vec<u64> {
    let mut parts: Vec<u64> = targets.iter().map(Target::rounded_parts).collect();
    let mut excess = parts.iter().sum::<u64>().saturating_sub(PARTS);
    while excess > 0 {
        let Some(largest) = (0..parts.len()).max_by_key(|&i| (parts[i], std::cmp::Reverse(i))) else {
            break;
        };
        let take = excess.min(parts[largest]);
        parts[largest] -= take;
        excess -= take;
    }
    parts
}

/// The validated `mix.toml`.
#[derive(Debug, Clone, PartialEq)]
pub struct MixConfig {
    /// Whether `curate run` mixes (the shipped file has it off).
    pub enabled: bool,
    /// Seed of the per-record sampling order.
    pub seed: u64,
    /// What the shares are over.
    pub by: By,
    /// Records to keep across the targeted groups; `None`: the largest number
    /// the available records can meet.
    pub total: Option<u64>,
    /// What happens to records whose group has no target.
    pub others: Others,
    /// Targets in file order; a record's group is an index into this list.
    pub targets: Vec<Target>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Raw {
    enabled: Option<bool>,
    seed: Option<u64>,
    by: Option<RawBy>,
    prefix: Option<String>,
    total: Option<u64>,
    others: Option<Others>,
    targets: Option<toml::Table>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum RawBy {
    Task,
    Tag,
    Source,
}

/// An error at `key` (top level) or at `targets.<name>`, with its line.
fn err(text: &str, key: &str, message: String) -> RulesError {
    let line = match key.strip_prefix("targets.") {
        Some(name) => locate(text, "targets", Some(name)).or_else(|| top_level_line(text, name)),
        None => top_level_line(text, key),
    };
    RulesError {
        file: FILE.to_string(),
        line,
        key: Some(key.to_string()),
        message,
    }
}

/// The first line that assigns `key` (bare or quoted), or opens the table `[key]`.
fn top_level_line(text: &str, key: &str) -> Option<usize> {
    let quoted = format!("\"{key}\"");
    text.lines()
        .position(|l| {
            let t = l.trim_start();
            let rest = t.strip_prefix(key).or_else(|| t.strip_prefix(quoted.as_str()));
            rest.is_some_and(|r| r.trim_start().starts_with('=')) || t.starts_with(&format!("[{key}]"))
        })
        .map(|i| i + 1)
}

impl MixConfig {
    /// Reads `mix.toml` from the rule files; `None` when there is none.
    pub fn from_files(files: &RuleFiles) -> Result<Option<MixConfig>, Vec<RulesError>> {
        match files.get(FILE) {
            None => Ok(None),
            Some(text) => MixConfig::parse(text).map(Some),
        }
    }

    /// Parses and validates the text of `mix.toml`.
    pub fn parse(text: &str) -> Result<MixConfig, Vec<RulesError>> {
        let raw: Raw = toml::from_str(text).map_err(|e| vec![RulesError::from_toml(FILE, text, &e)])?;
        let mut errors = Vec::new();
        let by = match (raw.by.unwrap_or(RawBy::Task), raw.prefix) {
            (RawBy::Tag, Some(prefix)) => By::Tag { prefix },
            (RawBy::Tag, None) => {
                errors.push(err(
                    text,
                    "by",
                    "by = \"tag\" needs `prefix`, the tag prefix the shares are over (e.g. \"domain:\")".into(),
                ));
                By::Tag { prefix: String::new() }
            }
            (other, Some(_)) => {
                errors.push(err(text, "prefix", "`prefix` is only used with by = \"tag\"".into()));
                if other == RawBy::Task {
                    By::Task
                } else {
                    By::Source
                }
            }
            (RawBy::Task, None) => By::Task,
            (RawBy::Source, None) => By::Source,
        };
        if raw.total == Some(0) {
            errors.push(err(text, "total", "must be at least 1".into()));
        }
        let mut targets = Vec::new();
        for (name, value) in raw.targets.unwrap_or_default() {
            let key = format!("targets.{name}");
            let share = match value {
                toml::Value::Float(f) => f,
                toml::Value::Integer(i) => i as f64,
                other => {
                    errors.push(err(
                        text,
                        &key,
                        format!("a share is a number in [0, 1], not a {}", other.type_str()),
                    ));
                    continue;
                }
            };
            if !(0.0..=1.0).contains(&share) {
                errors.push(err(text, &key, format!("share {share} is out of range [0, 1]")));
                continue;
            }
            if share > 0.0 && share < MIN_SHARE {
                errors.push(err(
                    text,
                    &key,
                    format!("share {share} is below {MIN_SHARE}; write 0 to drop the group"),
                ));
                continue;
            }
            if let Some(message) = bad_name(&by, &name) {
                errors.push(err(text, &key, message));
                continue;
            }
            targets.push(Target { name, share });
        }
        // Rounding moves each share by at most half a part.
        let rounded: u64 = targets.iter().map(Target::rounded_parts).sum();
        if rounded > PARTS + targets.len() as u64 {
            let sum: f64 = targets.iter().map(|t| t.share).sum();
            errors.push(err(
                text,
                "targets",
                format!("the shares sum to {sum}; they must sum to at most 1"),
            ));
        }
        let enabled = raw.enabled.unwrap_or(true);
        if enabled && targets.is_empty() && errors.is_empty() {
            errors.push(err(
                text,
                "targets",
                "mixing is enabled but [targets] names no group; add targets or set enabled = false".into(),
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(MixConfig {
            enabled,
            seed: raw.seed.unwrap_or(1),
            by,
            total: raw.total,
            others: raw.others.unwrap_or_default(),
            targets,
        })
    }

    /// The index of the target named `name`.
    pub fn target(&self, name: &str) -> Option<u32> {
        self.targets.iter().position(|t| t.name == name).map(|i| i as u32)
    }
}

/// Why a target name cannot match any record, if it cannot.
fn bad_name(by: &By, name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("a group name cannot be empty".into());
    }
    match by {
        By::Task if !TASKS.contains(&name) => Some(format!("unknown task `{name}`; tasks are: {}", TASKS.join(", "))),
        By::Tag { prefix } if !prefix.is_empty() && name.starts_with(prefix.as_str()) => {
            Some(format!("write the tag without its prefix: `{}`", &name[prefix.len()..]))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example block of the shipped file, uncommented.
    fn shipped_example() -> String {
        let text = RuleFiles::embedded().get(FILE).expect("shipped mix.toml").to_string();
        text.lines()
            .skip_while(|l| !l.starts_with("# --- example"))
            .skip(1)
            .map(|l| l.strip_prefix("# ").or_else(|| l.strip_prefix('#')).unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn shipped_file_parses_and_is_off() {
        let cfg = MixConfig::from_files(&RuleFiles::embedded())
            .expect("valid")
            .expect("present");
        assert!(!cfg.enabled);
    }

    #[test]
    fn shipped_example_parses() {
        let example = shipped_example();
        let cfg = MixConfig::parse(&example).unwrap_or_else(|e| panic!("{e:?}\n{example}"));
        assert!(cfg.enabled);
        assert_eq!(cfg.by, By::Task);
        assert!(cfg.targets.len() >= 3);
        assert!(cfg.targets.iter().map(|t| t.share).sum::<f64>() <= 1.0 + 1e-9);
    }

    #[test]
    fn defaults_and_prefix() {
        let cfg = MixConfig::parse("by = \"tag\"\nprefix = \"domain:\"\n[targets]\nhealth = 0.5\nlaw = 0.5\n")
            .expect("valid");
        assert!(cfg.enabled);
        assert_eq!(cfg.seed, 1);
        assert_eq!(cfg.others, Others::Keep);
        assert_eq!(
            cfg.by,
            By::Tag {
                prefix: "domain:".into()
            }
        );
        assert_eq!(cfg.target("law"), Some(1));
        // 0.1 + 0.2 + 0.7 is above 1 in floating point, but not in parts.
        MixConfig::parse("[targets]\nmath = 0.1\ncoding = 0.2\nchat = 0.7\n").expect("sums to exactly 1");
    }

    #[test]
    fn share_above_one_names_file_line_and_key() {
        let e = MixConfig::parse("enabled = true\n[targets]\ncoding = 0.3\nmath = 1.5\n").expect_err("must fail");
        assert_eq!(e[0].file, "mix.toml");
        assert_eq!(e[0].line, Some(4));
        assert_eq!(e[0].key.as_deref(), Some("targets.math"));
        assert!(e[0].message.contains("out of range"), "{}", e[0]);
    }

    #[test]
    fn shares_summing_above_one_are_rejected() {
        let e = MixConfig::parse("seed = 3\n\n[targets]\ncoding = 0.6\nmath = 0.5\n").expect_err("must fail");
        assert_eq!(e[0].key.as_deref(), Some("targets"));
        assert_eq!(e[0].line, Some(3));
        assert!(e[0].message.contains("sum to 1.1"), "{}", e[0]);
    }

    #[test]
    fn unknown_keys_tasks_and_prefix_mistakes_are_errors() {
        let e = MixConfig::parse("enabled = true\nsed = 3\n").expect_err("must fail");
        assert_eq!((e[0].line, e[0].key.as_deref()), (Some(2), Some("sed")));
        let e = MixConfig::parse("others = \"fill\"\n").expect_err("must fail");
        assert_eq!(e[0].line, Some(1));
        let e = MixConfig::parse("[targets]\ncoding = 0.5\ncodng = 0.2\n").expect_err("must fail");
        assert_eq!((e[0].line, e[0].key.as_deref()), (Some(3), Some("targets.codng")));
        assert!(e[0].message.contains("unknown task"));
        let e = MixConfig::parse("by = \"tag\"\n[targets]\nhealth = 0.5\n").expect_err("must fail");
        assert_eq!((e[0].line, e[0].key.as_deref()), (Some(1), Some("by")));
        let e =
            MixConfig::parse("by = \"source\"\nprefix = \"x\"\n[targets]\n\"a.jsonl\" = 0.5\n").expect_err("must fail");
        assert_eq!((e[0].line, e[0].key.as_deref()), (Some(2), Some("prefix")));
        let e = MixConfig::parse("by = \"tag\"\nprefix = \"domain:\"\n[targets]\n\"domain:law\" = 0.5\n")
            .expect_err("must fail");
        assert_eq!(e[0].line, Some(4));
        assert!(e[0].message.contains("`law`"));
        let e = MixConfig::parse("[targets]\nmath = \"half\"\n").expect_err("must fail");
        assert_eq!(e[0].line, Some(2));
        let e = MixConfig::parse("total = 0\n[targets]\nmath = 0.5\n").expect_err("must fail");
        assert_eq!((e[0].line, e[0].key.as_deref()), (Some(1), Some("total")));
        let e = MixConfig::parse("enabled = true\n").expect_err("must fail");
        assert_eq!(e[0].key.as_deref(), Some("targets"));
        MixConfig::parse("enabled = false\n").expect("off without targets is fine");
    }
}
