//! The measured drop precision of the shipped rules (`rules/measured.json`),
//! so that a run's report can show, beside each rule, how often its drops
//! were right on records a person labelled by reading.
//!
//! `curate eval-judged --write rules/measured.json` writes it from the judged
//! development set (`fixtures/judged/`); a test recomputes it and compares, so
//! the shipped figures are the ones the shipped rules earn. Each figure
//! carries the fingerprint of the rule it was measured on: the rule's table
//! and every data file of its stage folder (word lists, formats). A run whose
//! rule differs (a new threshold, an edited list) shows "changed since
//! measured" instead of a figure that no longer holds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::Xxh3;

use crate::rules::RuleFiles;

/// Where the figures live in a rules folder.
pub const FILE: &str = "measured.json";

/// The stages whose rules drop records one by one and are measured.
const STAGES: [&str; 2] = ["quality", "sensitive"];

/// The figures of one measurement.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Measured {
    /// What the figures were measured on.
    pub set: String,
    /// Labelled records in the set.
    pub records: usize,
    /// Per rule id.
    pub rules: BTreeMap<String, Figure>,
}

/// One rule's drops on the set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Figure {
    /// The rule as measured ([`fingerprints`]).
    pub fingerprint: String,
    /// Labelled records the rule would drop.
    pub drops: usize,
    /// Of those, records labelled `drop`.
    pub right: usize,
    /// `[right, drops]` of English records.
    pub en: [usize; 2],
    /// `[right, drops]` of Chinese records.
    pub zh: [usize; 2],
}

impl Measured {
    /// Reads the figures of a rule set, `None` when it has none or they do not parse.
    pub fn of(files: &RuleFiles) -> Option<Measured> {
        serde_json::from_str(files.get(FILE)?).ok()
    }

    /// The figures as the file holds them (sorted keys, one rule per line).
    pub fn to_json(&self) -> String {
        let mut s = format!(
            "{{\n  \"set\": {},\n  \"records\": {},\n  \"rules\": {{",
            json(&self.set),
            self.records
        );
        for (i, (id, f)) in self.rules.iter().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            s.push_str(&format!("{sep}\n    {}: {}", json(id), json(f)));
        }
        s.push_str("\n  }\n}\n");
        s
    }
}

/// Compact JSON of a value.
fn json<T: Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// A fingerprint of every rule of the measured stages, by rule id: a hash of
/// the rule's table and of the data files (not `.toml`) of its stage folder.
pub fn fingerprints(files: &RuleFiles) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for stage in STAGES {
        let prefix = format!("{stage}/");
        let mut data = Xxh3::new();
        for p in files
            .paths()
            .filter(|p| p.starts_with(&prefix) && !p.ends_with(".toml"))
        {
            data.update(p.as_bytes());
            data.update(&[0]);
            data.update(files.get(p).unwrap_or_default().as_bytes());
            data.update(&[0]);
        }
        let data = data.digest();
        // A secret format is no rule of its own: it shapes `pii-secret`.
        let formats = format!("{prefix}secrets/formats.toml");
        for p in files
            .paths()
            .filter(|p| p.starts_with(&prefix) && p.ends_with(".toml") && **p != formats)
        {
            let text = files.get(p).unwrap_or_default();
            let Ok(table) = toml::from_str::<toml::Table>(text) else {
                continue;
            };
            // `pii.toml` names its rules `pii-<type>` by its type tables, and
            // its `[task]` table and the secret formats shape every one.
            let pii = p.rsplit('/').next() == Some("pii.toml");
            for (name, value) in table {
                if !value.is_table() || (pii && name == "task") {
                    continue;
                }
                let mut h = Xxh3::new();
                h.update(&data.to_le_bytes());
                if pii {
                    h.update(text.as_bytes());
                    h.update(files.get(&formats).unwrap_or_default().as_bytes());
                    out.insert(format!("{stage}/pii-{name}"), format!("{:016x}", h.digest()));
                } else {
                    h.update(toml::to_string(&value).unwrap_or_default().as_bytes());
                    out.insert(format!("{stage}/{name}"), format!("{:016x}", h.digest()));
                }
            }
        }
    }
    out
}

/// Where the dedup rules' figures on judged pairs live in a rules folder.
pub const PAIRS_FILE: &str = "measured_pairs.json";

/// The dedup rules' precision on pairs labelled by reading
/// (`curate eval-pairs --write rules/measured_pairs.json`), by rule id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairsMeasured {
    /// Per rule id.
    pub rules: BTreeMap<String, PairFigure>,
}

/// One dedup rule's calls on a judged pair set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairFigure {
    /// The pairs file.
    pub set: String,
    /// [`dedup_fingerprint`] of the rules measured.
    pub fingerprint: String,
    /// Pairs in the set.
    pub pairs: usize,
    /// Pairs labelled duplicate.
    pub duplicates: usize,
    /// Pairs the rule calls duplicates.
    pub called: usize,
    /// Of those, pairs labelled duplicate.
    pub right: usize,
}

impl PairsMeasured {
    /// Reads the figures of a rule set, `None` when it has none or they do not parse.
    pub fn of(files: &RuleFiles) -> Option<PairsMeasured> {
        serde_json::from_str(files.get(PAIRS_FILE)?).ok()
    }

    /// The figures as the file holds them (one rule per line).
    pub fn to_json(&self) -> String {
        let mut s = String::from("{\n  \"rules\": {");
        for (i, (id, f)) in self.rules.iter().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            s.push_str(&format!("{sep}\n    {}: {}", json(id), json(f)));
        }
        s.push_str("\n  }\n}\n");
        s
    }

    /// The figure of `id` when the run's `dedup.toml` is the one measured.
    pub fn standing(&self, files: &RuleFiles, id: &str) -> Option<Result<&PairFigure, ()>> {
        let f = self.rules.get(id)?;
        Some(if dedup_fingerprint(files).as_deref() == Some(f.fingerprint.as_str()) {
            Ok(f)
        } else {
            Err(())
        })
    }
}

/// A fingerprint of the settings of `dedup.toml`: any edit of a threshold
/// or another setting makes the dedup rules' judged figures stale; comments,
/// blank lines, `enabled` (turning the opt-in rule on) and `model` (where
/// the checksummed encoder files are) do not.
pub fn dedup_fingerprint(files: &RuleFiles) -> Option<String> {
    // The dedup module's file name, written here so that rules import nothing
    // of the stages built on them.
    let text = files.get("dedup.toml")?;
    let mut h = Xxh3::new();
    for line in text.lines().map(str::trim) {
        let key = line.split('=').next().unwrap_or_default().trim();
        if line.is_empty() || line.starts_with('#') || (line.contains('=') && (key == "enabled" || key == "model")) {
            continue;
        }
        h.update(line.as_bytes());
        h.update(b"\n");
    }
    Some(format!("{:016x}", h.digest()))
}

/// What the report says of a rule: its measured figure when the run's rule is
/// the measured one.
#[derive(Debug, Clone, PartialEq)]
pub enum Standing<'a> {
    /// Measured on this very rule.
    Measured(&'a Figure),
    /// Measured, but the run's rule differs.
    Changed,
    /// Never measured (a user's rule, or no figures).
    Unmeasured,
}

/// The standing of `id` in a run whose rules have `fingerprints`.
pub fn standing<'a>(measured: Option<&'a Measured>, fingerprints: &BTreeMap<String, String>, id: &str) -> Standing<'a> {
    match measured.and_then(|m| m.rules.get(id)) {
        None => Standing::Unmeasured,
        Some(f) if fingerprints.get(id) == Some(&f.fingerprint) => Standing::Measured(f),
        Some(_) => Standing::Changed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dedup_fingerprint_ignores_comments_the_switch_and_the_model_folder() {
        let of = |t: &str| dedup_fingerprint(&RuleFiles::from_pairs("t", [("dedup.toml", t)]));
        let base = of("[semantic]\nenabled = false\nthreshold = 0.97\nmodel = \"models/usem3\"\n");
        assert!(base.is_some());
        assert_eq!(
            base,
            of("# on\n[semantic]\nenabled = true\n\nthreshold = 0.97\nmodel = \"/opt/m\"\n")
        );
        assert_ne!(
            base,
            of("[semantic]\nenabled = false\nthreshold = 0.95\nmodel = \"models/usem3\"\n")
        );
    }

    #[test]
    fn a_rule_edit_or_a_list_edit_changes_the_fingerprint_and_others_do_not() {
        let base = RuleFiles::from_pairs(
            "t",
            [
                (
                    "quality/a.toml",
                    "[one]\nkind = \"word-count\"\nmin = 3\n\n[two]\nkind = \"word-count\"\nmin = 5\n",
                ),
                ("sensitive/toxic.toml", "[toxic-en]\nkind = \"word-list\"\n"),
                ("sensitive/wordlists/en.txt", "bad\n"),
            ],
        );
        let f0 = fingerprints(&base);
        assert_eq!(f0.len(), 3);
        let mut edited = base.clone();
        edited.set(
            "quality/a.toml",
            "[one]\nkind = \"word-count\"\nmin = 4\n\n[two]\nkind = \"word-count\"\nmin = 5\n".into(),
        );
        let f1 = fingerprints(&edited);
        assert_ne!(f0["quality/one"], f1["quality/one"]);
        assert_eq!(f0["quality/two"], f1["quality/two"]);
        let mut list = base.clone();
        list.set("sensitive/wordlists/en.txt", "bad\nworse\n".into());
        let f2 = fingerprints(&list);
        assert_ne!(f0["sensitive/toxic-en"], f2["sensitive/toxic-en"]);
        assert_eq!(f0["quality/one"], f2["quality/one"]);
        // The personal-data types of `pii.toml` are rules `pii-<type>`, which
        // its `[task]` table and the secret formats shape too.
        let pii = |task: &str, formats: &str| {
            let mut f = base.clone();
            f.set(
                "sensitive/pii.toml",
                format!("[task]\n{task}\n[ssn]\naction = \"drop\"\n"),
            );
            f.set("sensitive/secrets/formats.toml", formats.to_string());
            fingerprints(&f)
        };
        let p0 = pii("x = 1", "[a-key]\nprefixes = [\"ak_\"]\n");
        assert!(p0.contains_key("sensitive/pii-ssn") && !p0.contains_key("sensitive/task"));
        assert!(!p0.contains_key("sensitive/a-key"));
        assert_ne!(
            p0["sensitive/pii-ssn"],
            pii("x = 2", "[a-key]\nprefixes = [\"ak_\"]\n")["sensitive/pii-ssn"]
        );
        assert_ne!(
            p0["sensitive/pii-ssn"],
            pii("x = 1", "[a-key]\nprefixes = [\"ak-\"]\n")["sensitive/pii-ssn"]
        );
        assert_eq!(p0["sensitive/toxic-en"], f0["sensitive/toxic-en"]);

        let m = Measured {
            set: "t".into(),
            records: 1,
            rules: [(
                "quality/one".to_string(),
                Figure {
                    fingerprint: f0["quality/one"].clone(),
                    drops: 2,
                    right: 2,
                    en: [2, 2],
                    zh: [0, 0],
                },
            )]
            .into(),
        };
        assert!(matches!(standing(Some(&m), &f0, "quality/one"), Standing::Measured(f) if f.right == 2));
        assert_eq!(standing(Some(&m), &f1, "quality/one"), Standing::Changed);
        assert_eq!(standing(Some(&m), &f0, "quality/two"), Standing::Unmeasured);
        assert_eq!(
            Measured::of(&RuleFiles::from_pairs("t", [(FILE, m.to_json().as_str())])),
            Some(m)
        );
    }
}
