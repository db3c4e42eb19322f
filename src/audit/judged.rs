//! `curate eval-judged`: how the per-record rules decide on records that a
//! person labelled by reading (`fixtures/judged/`).
//!
//! Each label names a line of a corpus file (`source`, `line`, and the first 16
//! hex digits of the SHA-256 of the line, so a changed corpus is an error, not
//! a silently different set), the curator's `keep`/`drop`, a category and a
//! reason. The labels were written before the tool's verdicts were looked at
//! (`fixtures/judged/GUIDELINE.md`).
//!
//! The repair stage runs first, as in a run; then every rule of the quality
//! and sensitive stages is evaluated on every
//! labelled record, whatever an earlier rule decided, so each rule's drop
//! precision stands on its own:
//! - **precision of a rule**: of the records the rule would drop, the share
//!   labelled `drop`;
//! - **drop precision**: of the records any rule drops, the share labelled `drop`;
//! - **good kept**: of the records labelled `keep`, the share no rule drops;
//! - **junk caught**: of the records labelled `drop` (but `wrong-answer`, which no
//!   rule can see), the share some rule drops; and the same per category.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::record::{map_record, Origin, Record};
use crate::ruleset::Rules;

/// One labelled record.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Label {
    /// Path of the corpus file, relative to the corpora folder.
    pub source: String,
    /// 1-based line in that file.
    pub line: usize,
    /// First 16 hex digits of the SHA-256 of the line (without its newline).
    pub sha: String,
    /// The conversation's language: `en`, `zh`, `mixed` or `other`.
    pub lang: String,
    /// `keep` or `drop`.
    pub label: String,
    /// Why (`good` for kept records; see the guideline for the drop categories).
    pub category: String,
    /// One line, in the labeller's words.
    pub reason: String,
    /// How the record was drawn (`uniform`, `rule:<id>`, `hard:<pattern>`);
    /// not shown to whoever labelled it.
    #[serde(default)]
    pub origins: Vec<String>,
    /// Set when the record was labelled again under a later revision of the
    /// guideline: the case of the revision and the first label.
    #[serde(default)]
    pub revised: Option<Revised>,
}

/// A label given again under a revision of the guideline.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revised {
    /// The guideline's revision and the case it settled (`2: marker input`).
    pub case: String,
    /// The first label, category and reason.
    pub label: String,
    pub category: String,
    pub reason: String,
}

/// What the rules did to one labelled record.
#[derive(Debug, Clone)]
pub struct Judged {
    /// The label.
    pub label: Label,
    /// Every rule that would drop the record, in stage and rule order
    /// (`malformed` when the line could not be mapped to a record).
    pub failed: Vec<String>,
}

impl Judged {
    /// Whether the curator dropped it.
    pub fn is_drop(&self) -> bool {
        self.label.label == "drop"
    }

    /// Whether any rule dropped it.
    pub fn dropped(&self) -> bool {
        !self.failed.is_empty()
    }
}

/// A rule's drops on the set and how many of them the curator dropped too.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RuleScore {
    /// Records the rule would drop.
    pub drops: usize,
    /// Of those, records labelled `drop`.
    pub right: usize,
}

impl RuleScore {
    /// `right / drops`, 1 when the rule drops nothing.
    pub fn precision(&self) -> f64 {
        ratio(self.right, self.drops).unwrap_or(1.0)
    }
}

/// The evaluation of a rule set on the labelled records.
#[derive(Debug, Clone)]
pub struct JudgedEval {
    /// One entry per label, in the labels' order.
    pub records: Vec<Judged>,
    /// Every rule of the evaluated stages, in order (rules that dropped nothing included).
    pub rule_ids: Vec<String>,
}

fn ratio(a: usize, b: usize) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// Reads the labels file (JSON Lines).
pub fn read_labels(path: &Path) -> Result<Vec<Label>> {
    read_labelled(path, |l: &Label| &l.label, &["keep", "drop"])
}

/// Reads a JSON Lines file of labelled items (blank lines skipped); a line
/// that does not parse, or whose `label` (read by `label`) is not one of
/// `labels`, is an error naming the file and line.
pub fn read_labelled<T: serde::de::DeserializeOwned>(
    path: &Path,
    label: impl Fn(&T) -> &str,
    labels: &[&str],
) -> Result<Vec<T>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::input(path, e))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = format!("{}:{}", path.display(), i + 1);
        let item: T = serde_json::from_str(line).map_err(|e| Error::Usage(format!("{at}: {e}")))?;
        if !labels.contains(&label(&item)) {
            let expected: Vec<String> = labels.iter().map(|l| format!("{l:?}")).collect();
            return Err(Error::Usage(format!(
                "{at}: label is {:?}, expected {}",
                label(&item),
                expected.join(" or ")
            )));
        }
        out.push(item);
    }
    Ok(out)
}

/// Evaluates `rules` (their quality and sensitive stages) on the labelled
/// records, read from the corpus files under `corpora`.
pub fn evaluate(rules: &Rules, labels: Vec<Label>, corpora: &Path) -> Result<JudgedEval> {
    let stages: Vec<_> = rules
        .record_stages
        .iter()
        .filter(|s| matches!(s.name(), "repair" | "quality" | "sensitive"))
        .collect();
    let rule_ids: Vec<String> = stages.iter().flat_map(|s| s.rules()).map(|r| r.id).collect();
    let infos: Vec<Vec<String>> = stages
        .iter()
        .map(|s| s.rules().into_iter().map(|r| r.id).collect())
        .collect();
    let mut corpus = CorpusLines::new(corpora);
    let mut records = Vec::with_capacity(labels.len());
    for label in labels {
        let failed = match corpus.record(rules, &label.source, label.line, &label.sha)? {
            None => vec!["malformed".to_string()],
            Some(mut rec) => {
                let mut failed = Vec::new();
                for (stage, ids) in stages.iter().zip(&infos) {
                    let outcome = stage.process(&mut rec);
                    failed.extend(outcome.failed.iter().map(|f| ids[f.rule].clone()));
                }
                failed
            }
        };
        records.push(Judged { label, failed });
    }
    Ok(JudgedEval { records, rule_ids })
}

/// The corpus lines labels point at: each file read once, each line checked
/// against the hash its label was made with.
pub struct CorpusLines {
    root: PathBuf,
    files: BTreeMap<String, Vec<String>>,
}

impl CorpusLines {
    /// Lines of the files under `root`.
    pub fn new(root: &Path) -> Self {
        CorpusLines {
            root: root.to_path_buf(),
            files: BTreeMap::new(),
        }
    }

    /// Line `line` (1-based) of `source`, when its hash is `sha` (the first
    /// 16 hex digits of the SHA-256 of its bytes); an error names the file and
    /// line when it is missing or changed.
    pub fn line(&mut self, source: &str, line: usize, sha: &str) -> Result<&str> {
        if !self.files.contains_key(source) {
            let path = self.root.join(source);
            let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
            self.files
                .insert(source.to_string(), text.split('\n').map(str::to_string).collect());
        }
        let Some(text) = line.checked_sub(1).and_then(|i| self.files[source].get(i)) else {
            return Err(Error::Usage(format!("{source}: no line {line}")));
        };
        let got = hex16(text.as_bytes());
        if got != sha {
            return Err(Error::Usage(format!(
                "{source}:{line}: the line's hash is {got}, the label's {sha}: the corpus changed since it was labelled"
            )));
        }
        Ok(text)
    }

    /// The record on line `line` of `source` (checked against `sha` as
    /// [`CorpusLines::line`] does), mapped by `rules`' formats, with the line
    /// as its raw text; `None` when the line is no record (malformed).
    pub fn record(&mut self, rules: &Rules, source: &str, line: usize, sha: &str) -> Result<Option<Record>> {
        let text = self.line(source, line, sha)?;
        let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
            return Ok(None);
        };
        let origin = Origin {
            file: 0,
            line: line as u64,
        };
        Ok(map_record(&rules.adapters, &v, origin, source).ok().map(|mut r| {
            r.raw = text.to_string();
            r
        }))
    }
}

fn hex16(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Figures for one slice of the set (all records, or one language).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Slice {
    /// Records in the slice.
    pub records: usize,
    /// Labelled `keep`.
    pub keep: usize,
    /// Labelled `keep` and dropped by no rule.
    pub keep_kept: usize,
    /// Labelled `drop`, `wrong-answer` aside.
    pub junk: usize,
    /// Of those, dropped by some rule.
    pub junk_caught: usize,
    /// Dropped by some rule.
    pub dropped: usize,
    /// Dropped by some rule and labelled `drop`.
    pub dropped_right: usize,
}

impl Slice {
    /// Of the dropped records, the share labelled `drop`.
    pub fn drop_precision(&self) -> Option<f64> {
        ratio(self.dropped_right, self.dropped)
    }
    /// Of the records labelled `keep`, the share kept.
    pub fn good_kept(&self) -> Option<f64> {
        ratio(self.keep_kept, self.keep)
    }
    /// Of the junk records, the share dropped.
    pub fn junk_caught(&self) -> Option<f64> {
        ratio(self.junk_caught, self.junk)
    }
}

impl JudgedEval {
    /// Each rule's drops and how many were right, for records whose language
    /// passes `lang` (every rule listed, in order).
    pub fn rule_scores(&self, lang: Option<&str>) -> Vec<(String, RuleScore)> {
        let mut scores: Vec<(String, RuleScore)> = self
            .rule_ids
            .iter()
            .map(|id| (id.clone(), RuleScore::default()))
            .collect();
        for j in self.records.iter().filter(|j| lang.is_none_or(|l| j.label.lang == l)) {
            for id in &j.failed {
                if let Some((_, s)) = scores.iter_mut().find(|(r, _)| r == id) {
                    s.drops += 1;
                    s.right += usize::from(j.is_drop());
                }
            }
        }
        scores
    }

    /// Every rule's figures on the set, with the fingerprint of the rule as
    /// `files` holds it, for `rules/measured.json`.
    pub fn measured(&self, set: &str, files: &crate::rules::RuleFiles) -> crate::rules::measured::Measured {
        use crate::rules::measured::{fingerprints, Figure, Measured};
        let prints = fingerprints(files);
        let lang = |l: &str| self.rule_scores(Some(l));
        let (en, zh) = (lang("en"), lang("zh"));
        let pair = |v: &[(String, RuleScore)], id: &str| {
            v.iter()
                .find(|(r, _)| r == id)
                .map_or([0, 0], |(_, s)| [s.right, s.drops])
        };
        Measured {
            set: set.to_string(),
            records: self.records.len(),
            rules: self
                .rule_scores(None)
                .into_iter()
                .map(|(id, s)| {
                    let figure = Figure {
                        fingerprint: prints.get(&id).cloned().unwrap_or_default(),
                        drops: s.drops,
                        right: s.right,
                        en: pair(&en, &id),
                        zh: pair(&zh, &id),
                    };
                    (id, figure)
                })
                .collect(),
        }
    }

    /// The figures of one language (`None`: every record).
    pub fn slice(&self, lang: Option<&str>) -> Slice {
        self.slice_where(|j| lang.is_none_or(|l| j.label.lang == l))
    }

    /// The figures of the records drawn uniformly from the corpus files: the
    /// share a run drops without the bias of the records drawn from rule drops
    /// and hard cases.
    pub fn uniform(&self) -> Slice {
        self.slice_where(|j| j.label.origins.iter().any(|o| o == "uniform"))
    }

    fn slice_where(&self, keep: impl Fn(&Judged) -> bool) -> Slice {
        let mut s = Slice::default();
        for j in self.records.iter().filter(|j| keep(j)) {
            s.records += 1;
            if j.dropped() {
                s.dropped += 1;
                s.dropped_right += usize::from(j.is_drop());
            }
            if j.is_drop() {
                if j.label.category != "wrong-answer" {
                    s.junk += 1;
                    s.junk_caught += usize::from(j.dropped());
                }
            } else {
                s.keep += 1;
                s.keep_kept += usize::from(!j.dropped());
            }
        }
        s
    }

    /// Recall per drop category: (category, labelled, dropped by a rule).
    pub fn categories(&self) -> Vec<(String, usize, usize)> {
        let mut m: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for j in self.records.iter().filter(|j| j.is_drop()) {
            let e = m.entry(&j.label.category).or_default();
            e.0 += 1;
            e.1 += usize::from(j.dropped());
        }
        m.into_iter().map(|(c, (n, d))| (c.to_string(), n, d)).collect()
    }

    /// The report `curate eval-judged` prints; with `errors`, every record the
    /// rules and the label disagree on.
    pub fn summary(&self, errors: bool) -> String {
        let pct = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.3}"));
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<10} {:>7} {:>9} {:>10} {:>9} {:>11}",
            "records", "count", "dropped", "precision", "good kept", "junk caught"
        );
        let slices = [
            ("all", self.slice(None)),
            ("en", self.slice(Some("en"))),
            ("zh", self.slice(Some("zh"))),
            ("uniform", self.uniform()),
        ];
        for (name, s) in slices {
            let _ = writeln!(
                out,
                "{:<10} {:>7} {:>9} {:>10} {:>9} {:>11}",
                name,
                s.records,
                s.dropped,
                pct(s.drop_precision()),
                pct(s.good_kept()),
                pct(s.junk_caught())
            );
        }
        let _ = writeln!(
            out,
            "\n{:<36} {:>6} {:>10} {:>12} {:>12}",
            "rule", "drops", "precision", "en", "zh"
        );
        let (all, en, zh) = (
            self.rule_scores(None),
            self.rule_scores(Some("en")),
            self.rule_scores(Some("zh")),
        );
        let cell = |s: &RuleScore| {
            if s.drops == 0 {
                "-".to_string()
            } else {
                format!("{}/{}", s.right, s.drops)
            }
        };
        for ((id, a), ((_, e), (_, z))) in all.iter().zip(en.iter().zip(zh.iter())) {
            if a.drops == 0 {
                continue;
            }
            let _ = writeln!(
                out,
                "{:<36} {:>6} {:>10.3} {:>12} {:>12}",
                id,
                a.drops,
                a.precision(),
                cell(e),
                cell(z)
            );
        }
        let _ = writeln!(
            out,
            "\n{:<18} {:>9} {:>9} {:>7}",
            "drop category", "labelled", "dropped", "recall"
        );
        for (c, n, d) in self.categories() {
            let _ = writeln!(out, "{:<18} {:>9} {:>9} {:>7}", c, n, d, pct(ratio(d, n)));
        }
        if errors {
            let _ = writeln!(out, "\ndisagreements (label, rules, record, reason):");
            for j in self.records.iter().filter(|j| j.is_drop() != j.dropped()) {
                let _ = writeln!(
                    out,
                    "  {:<4} {:<40} {}:{}  [{}] {}",
                    j.label.label,
                    if j.failed.is_empty() {
                        "kept".to_string()
                    } else {
                        j.failed.join(",")
                    },
                    j.label.source,
                    j.label.line,
                    j.label.category,
                    j.label.reason
                );
            }
        }
        out
    }
}
