//! `curate tag-eval`: the tagger's accuracy on labelled sets.
//!
//! A sets file (TOML) names each labelled set, where its label is (a field,
//! or the file name for sets such as Alpaca-CoT whose files are single tasks)
//! and how its labels map to the task vocabulary. A label maps to one or more
//! accepted tasks; the first is the canonical one. Two figures are reported:
//! *strict* (the prediction is the canonical task) and *accepted* (the
//! prediction is any accepted task), because some source labels are broader
//! than one task (InstructionWild's `Generation` covers stories and code).
//!
//! Every set is split in two halves by a hash of the prompt: `dev` (the half
//! looked at while writing the rules) and `test` (the half not looked at).
//! Both are reported, so a rule tuned on the dev half shows whether it holds.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use serde::Deserialize;
use xxhash_rust::xxh3::xxh3_64;

use crate::error::{Error, Result};
use crate::read::{expand_inputs, read_file, ReadOptions};
use crate::record::{map_record, Adapters, Origin};
use crate::tag::score::Tagger;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetsFile {
    set: Vec<SetSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn list(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetSpec {
    name: String,
    files: Vec<String>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    label_from_file: bool,
    #[serde(default)]
    limit: Option<usize>,
    map: BTreeMap<String, OneOrMany>,
}

/// Counts for one half of a set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    /// Records.
    pub n: u64,
    /// Predicted the canonical task.
    pub strict: u64,
    /// Predicted an accepted task.
    pub accepted: u64,
}

impl Figures {
    fn add(&mut self, strict: bool, accepted: bool) {
        self.n += 1;
        self.strict += u64::from(strict);
        self.accepted += u64::from(accepted);
    }

    /// Strict accuracy.
    pub fn strict_acc(&self) -> f64 {
        self.strict as f64 / self.n.max(1) as f64
    }

    /// Accepted accuracy.
    pub fn accepted_acc(&self) -> f64 {
        self.accepted as f64 / self.n.max(1) as f64
    }
}

/// One set's results.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SetResult {
    /// Set name.
    pub name: String,
    /// The dev half.
    pub dev: Figures,
    /// The test half.
    pub test: Figures,
    /// Records skipped (label missing or not in the map).
    pub skipped: u64,
    /// `confusion[source label][predicted task]`.
    pub confusion: BTreeMap<String, BTreeMap<String, u64>>,
    /// Label -> accepted tasks.
    pub map: BTreeMap<String, Vec<String>>,
    /// Misclassified records of the dev half (up to `show_errors`).
    pub errors: Vec<String>,
}

/// Which half a prompt belongs to.
pub fn is_test(prompt: &str) -> bool {
    xxh3_64(prompt.as_bytes()) % 2 == 1
}

/// Runs the tagger over every set of `sets` (paths relative to `corpora`).
/// With `export`, writes each labelled record as `{prompt, label, set, split}`
/// (`prompt` is also the record part a model reads at tagging time).
pub fn evaluate(
    sets: &Path,
    corpora: &Path,
    tagger: &Tagger,
    adapters: &Adapters,
    mut export: Option<&mut dyn Write>,
    show_errors: usize,
) -> Result<Vec<SetResult>> {
    let text = std::fs::read_to_string(sets).map_err(|e| Error::io(sets, e))?;
    let spec: SetsFile =
        toml::from_str(&text).map_err(|e| Error::Usage(format!("{}: {}", sets.display(), e.message().trim())))?;
    let mut results = Vec::new();
    for s in spec.set {
        let mut r = SetResult {
            name: s.name.clone(),
            map: s.map.iter().map(|(k, v)| (k.clone(), v.list())).collect(),
            ..SetResult::default()
        };
        for f in &s.files {
            let path = corpora.join(f);
            let files = expand_inputs(&[path.display().to_string()])?;
            let stem = Path::new(f)
                .file_stem()
                .map(|x| x.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mut taken = 0usize;
            for (i, input) in files.iter().enumerate() {
                let mut failure = None;
                read_file(
                    input,
                    ReadOptions::default(),
                    Arc::new(AtomicU64::new(0)),
                    &mut |item| {
                        if s.limit.is_some_and(|l| taken >= l) {
                            return false;
                        }
                        let Ok(v) = serde_json::from_slice::<serde_json::Value>(&item.bytes) else {
                            r.skipped += 1;
                            return true;
                        };
                        let label = if s.label_from_file {
                            Some(stem.clone())
                        } else {
                            s.label
                                .as_ref()
                                .and_then(|l| v.get(l))
                                .and_then(|x| x.as_str())
                                .map(str::to_string)
                        };
                        let Some(accepted) = label.as_ref().and_then(|l| r.map.get(l)).cloned() else {
                            r.skipped += 1;
                            return true;
                        };
                        let label = label.unwrap_or_default();
                        let Ok(mut rec) = map_record(
                            adapters,
                            &v,
                            Origin {
                                file: i as u32,
                                line: item.line,
                            },
                            &input.label,
                        ) else {
                            r.skipped += 1;
                            return true;
                        };
                        rec.raw = String::from_utf8_lossy(&item.bytes).into_owned();
                        taken += 1;
                        let t = tagger.tag(&rec);
                        let strict = accepted.first() == Some(&t.task);
                        let ok = accepted.contains(&t.task);
                        let test = is_test(rec.prompt());
                        if test {
                            r.test.add(strict, ok);
                        } else {
                            r.dev.add(strict, ok);
                        }
                        if !test && !ok && r.errors.len() < show_errors {
                            let p: String = rec.prompt().chars().take(160).collect();
                            r.errors
                                .push(format!("{label} -> {}: {}", t.task, p.replace('\n', " ")));
                        }
                        *r.confusion.entry(label).or_default().entry(t.task.clone()).or_default() += 1;
                        if let Some(w) = export.as_mut() {
                            let line = serde_json::json!({
                                "prompt": rec.prompt(),
                                "label": accepted.first(),
                                "task": t.task,
                                "set": s.name,
                                "split": if test { "test" } else { "dev" },
                            });
                            if let Err(e) = writeln!(w, "{line}") {
                                failure = Some(e);
                                return false;
                            }
                        }
                        true
                    },
                );
                if let Some(e) = failure {
                    return Err(Error::Run(format!("writing the export: {e}")));
                }
            }
        }
        results.push(r);
    }
    Ok(results)
}

/// The accuracy table and the confusion matrices.
pub struct Table<'a>(pub &'a [SetResult]);

impl fmt::Display for Table<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<22}{:>7}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}",
            "set", "records", "dev", "dev+", "test", "test+", "all", "all+"
        )?;
        let mut sums = [0f64; 6];
        let mut pooled = [Figures::default(), Figures::default()];
        for r in self.0 {
            for (p, h) in pooled.iter_mut().zip([&r.dev, &r.test]) {
                p.n += h.n;
                p.strict += h.strict;
                p.accepted += h.accepted;
            }
            let mut all = r.dev.clone();
            all.n += r.test.n;
            all.strict += r.test.strict;
            all.accepted += r.test.accepted;
            let v = [
                r.dev.strict_acc(),
                r.dev.accepted_acc(),
                r.test.strict_acc(),
                r.test.accepted_acc(),
                all.strict_acc(),
                all.accepted_acc(),
            ];
            for (s, x) in sums.iter_mut().zip(v) {
                *s += x;
            }
            writeln!(
                f,
                "{:<22}{:>7}{:>9.3}{:>9.3}{:>9.3}{:>9.3}{:>9.3}{:>9.3}",
                r.name, all.n, v[0], v[1], v[2], v[3], v[4], v[5]
            )?;
        }
        let n = self.0.len().max(1) as f64;
        writeln!(
            f,
            "{:<22}{:>7}{:>9.3}{:>9.3}{:>9.3}{:>9.3}{:>9.3}{:>9.3}",
            "mean of sets",
            "",
            sums[0] / n,
            sums[1] / n,
            sums[2] / n,
            sums[3] / n,
            sums[4] / n,
            sums[5] / n
        )?;
        let [d, t] = &pooled;
        let all = Figures {
            n: d.n + t.n,
            strict: d.strict + t.strict,
            accepted: d.accepted + t.accepted,
        };
        writeln!(
            f,
            "{:<22}{:>7}{:>9.3}{:>9.3}{:>9.3}{:>9.3}{:>9.3}{:>9.3}",
            "all records",
            all.n,
            d.strict_acc(),
            d.accepted_acc(),
            t.strict_acc(),
            t.accepted_acc(),
            all.strict_acc(),
            all.accepted_acc()
        )?;
        writeln!(
            f,
            "(strict: the canonical task; +: any accepted task; dev/test: halves split by a hash of the prompt)"
        )?;
        for r in self.0 {
            if !r.errors.is_empty() {
                writeln!(f, "\ndev-half errors, {}:", r.name)?;
                for e in &r.errors {
                    writeln!(f, "  {e}")?;
                }
            }
        }
        for r in self.0 {
            writeln!(
                f,
                "\nconfusion, {} (rows: source label -> accepted; columns: predicted task)",
                r.name
            )?;
            let row_name = |label: &str| {
                let acc = r.map.get(label).map(|v| v.join("|")).unwrap_or_default();
                format!("{label} -> {acc}")
            };
            f.write_str(&matrix(&r.confusion, row_name))?;
        }
        Ok(())
    }
}

/// A confusion matrix as text: one row per label (named by `row_name`), one
/// column per predicted task (abbreviated), counts in the cells.
pub fn matrix(confusion: &BTreeMap<String, BTreeMap<String, u64>>, row_name: impl Fn(&str) -> String) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let mut cols: Vec<&String> = confusion.values().flat_map(|m| m.keys()).collect();
    cols.sort();
    cols.dedup();
    let _ = write!(out, "{:<34}", "");
    for c in &cols {
        let _ = write!(out, "{:>9}", abbrev(c));
    }
    out.push('\n');
    for (label, row) in confusion {
        let _ = write!(out, "{:<34}", truncate(&row_name(label), 33));
        for c in &cols {
            let _ = write!(out, "{:>9}", row.get(*c).copied().unwrap_or(0));
        }
        out.push('\n');
    }
    out
}

fn abbrev(task: &str) -> String {
    match task {
        "classification" => "classif".into(),
        "summarization" => "summ".into(),
        "brainstorming" => "brainst".into(),
        "creative-writing" => "creative".into(),
        "translation" => "transl".into(),
        "extraction" => "extract".into(),
        "reasoning" => "reason".into(),
        "rewriting" => "rewrite".into(),
        other => other.chars().take(8).collect(),
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('~');
        t
    }
}
