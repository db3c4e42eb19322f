//! `curate tag-eval --judged`: the tagger against records whose task and
//! domains a person labelled by reading (`fixtures/judged_tags/`).
//!
//! Each label names a corpus line (`source`, `line`, the first 16 hex digits
//! of the line's SHA-256), its language, one task and zero to two domains.
//! The set splits in two halves by a hash of the record's place: `dev`, whose
//! errors may be read while changing the rules, and `test`, which is only
//! measured. Printed: task accuracy per language and half, precision and
//! recall per task, the confusion matrix, and domain precision and coverage
//! (labelled records given one of their domains).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::audit::judged::{read_labelled, CorpusLines};
use crate::error::Result;
use crate::ruleset::Rules;
use crate::tag::rules::TASKS;
use crate::tag::Tagger;

/// One labelled record.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagLabel {
    /// Corpus file, relative to the corpora folder.
    pub source: String,
    /// 1-based line.
    pub line: usize,
    /// First 16 hex digits of the line's SHA-256.
    pub sha: String,
    /// `en`, `zh` or `mixed`.
    pub lang: String,
    /// The task.
    pub task: String,
    /// Zero to two domains.
    #[serde(default)]
    pub domains: Vec<String>,
    /// Why, in a line.
    #[serde(default)]
    pub reason: String,
}

/// One record's label and what the tagger said.
#[derive(Debug, Clone)]
pub struct Tagged {
    /// The label.
    pub label: TagLabel,
    /// The tagger's task.
    pub task: String,
    /// The tagger's domains (without `domain:`).
    pub domains: Vec<String>,
    /// In the test half.
    pub test: bool,
}

/// Reads a file of task and domain labels (the judged tagging set, or the
/// models' training labels `fixtures/tag/judged_train.jsonl`); an error names
/// the file and line of a label that does not parse or names no known task.
pub fn read_tag_labels(path: &Path) -> Result<Vec<TagLabel>> {
    read_labelled(path, |l: &TagLabel| &l.task, TASKS)
}

/// Reads the labels and tags their records. A labelled line that is no
/// record counts, as a wrong task `malformed`, so every label is in the figures.
pub fn evaluate(rules: &Rules, tagger: &Tagger, labels: &Path, corpora: &Path) -> Result<Vec<Tagged>> {
    let labels = read_tag_labels(labels)?;
    let mut lines = CorpusLines::new(corpora);
    let mut out = Vec::with_capacity(labels.len());
    for label in labels {
        let (task, domains) = match lines.record(rules, &label.source, label.line, &label.sha)? {
            None => ("malformed".to_string(), Vec::new()),
            Some(rec) => {
                let t = tagger.tag(&rec);
                let domains = t
                    .tags
                    .iter()
                    .filter_map(|x| x.strip_prefix("domain:"))
                    .map(str::to_string)
                    .collect();
                (t.task, domains)
            }
        };
        let test = Sha256::digest(format!("{}:{}", label.source, label.line).as_bytes())[0] % 2 == 1;
        out.push(Tagged {
            label,
            task,
            domains,
            test,
        });
    }
    Ok(out)
}

/// Task accuracy of the records of `lang` (`None`: all) in `half` (`None`: both).
pub fn accuracy(rows: &[Tagged], lang: Option<&str>, half: Option<bool>) -> (usize, usize) {
    let sel = rows
        .iter()
        .filter(|r| lang.is_none_or(|l| r.label.lang == l) && half.is_none_or(|h| r.test == h));
    sel.fold((0, 0), |(ok, n), r| (ok + usize::from(r.task == r.label.task), n + 1))
}

/// The printed figures, and up to `errors` misclassified records of the dev
/// half (the half whose errors may be read while changing the rules).
pub fn summary(rows: &[Tagged], errors: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "task accuracy      all         dev         test");
    for lang in [None, Some("en"), Some("zh")] {
        let _ = write!(s, "{:<8}", lang.unwrap_or("all"));
        for half in [None, Some(false), Some(true)] {
            let (ok, n) = accuracy(rows, lang, half);
            let _ = write!(s, "  {:>5.3} ({ok:>3}/{n:<3})", ok as f64 / n.max(1) as f64);
        }
        s.push('\n');
    }
    let _ = writeln!(
        s,
        "\n{:<17} {:>8} {:>7} {:>9} {:>7}",
        "task", "labelled", "tagged", "precision", "recall"
    );
    for t in TASKS {
        let lab = rows.iter().filter(|r| r.label.task == *t).count();
        let tag = rows.iter().filter(|r| r.task == *t).count();
        let both = rows.iter().filter(|r| r.label.task == *t && r.task == *t).count();
        if lab + tag > 0 {
            let p = if tag > 0 { both as f64 / tag as f64 } else { 0.0 };
            let rc = if lab > 0 { both as f64 / lab as f64 } else { 0.0 };
            let _ = writeln!(s, "{t:<17} {lab:>8} {tag:>7} {p:>9.3} {rc:>7.3}");
        }
    }
    let mut conf: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for r in rows {
        *conf
            .entry(r.label.task.clone())
            .or_default()
            .entry(r.task.clone())
            .or_default() += 1;
    }
    let _ = writeln!(s, "\nconfusion (rows: label; columns: tagged task)");
    s.push_str(&crate::tag::eval::matrix(&conf, str::to_string));
    let labelled = rows.iter().filter(|r| !r.label.domains.is_empty()).count();
    let given: usize = rows.iter().map(|r| r.domains.len()).sum();
    let right: usize = rows
        .iter()
        .map(|r| r.domains.iter().filter(|d| r.label.domains.contains(d)).count())
        .sum();
    let covered = rows
        .iter()
        .filter(|r| r.domains.iter().any(|d| r.label.domains.contains(d)))
        .count();
    let _ = writeln!(
        s,
        "\ndomains: {given} tags given, {right} right (precision {:.3}); {covered} of {labelled} records labelled with a domain get one of theirs (coverage {:.3})",
        right as f64 / given.max(1) as f64,
        covered as f64 / labelled.max(1) as f64
    );
    if errors > 0 {
        let _ = writeln!(s, "\nerrors of the dev half (label, tagged, record, reason):");
        for r in rows.iter().filter(|r| !r.test && r.task != r.label.task).take(errors) {
            let reason: String = r.label.reason.chars().take(90).collect();
            let _ = writeln!(
                s,
                "  {:<16} {:<16} {}:{}  {reason}",
                r.label.task, r.task, r.label.source, r.label.line
            );
        }
    }
    s
}
