//! The run report (`report.json`, `reports/<stage>.json`) and the accounting
//! identity it proves: `input = kept + rejected + malformed`, in total, per
//! file and per stage.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Record counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Records (and quarantined items) read.
    pub input: u64,
    /// Records that passed every stage.
    pub kept: u64,
    /// Records dropped by a rule.
    pub rejected: u64,
    /// Items that could not be read or mapped.
    pub malformed: u64,
}

impl Counts {
    /// Whether `input == kept + rejected + malformed`.
    pub fn balanced(&self) -> bool {
        self.input == self.kept + self.rejected + self.malformed
    }
}

/// One input file's counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FileReport {
    /// The file as given (`source_file`).
    pub path: String,
    /// Its counts.
    #[serde(flatten)]
    pub counts: Counts,
    /// Records per detected shape.
    pub formats: BTreeMap<String, u64>,
}

/// One stage's funnel.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StageReport {
    /// Stage name.
    pub name: String,
    /// Records that reached the stage.
    pub input: u64,
    /// Records it passed on.
    pub kept: u64,
    /// Records it dropped.
    pub dropped: u64,
    /// Drops by the first failing rule (these sum to `dropped`).
    pub dropped_per_rule: BTreeMap<String, u64>,
    /// Records failing each rule, counting every failing rule of a record.
    pub failed_per_rule: BTreeMap<String, u64>,
    /// The stage's rules and thresholds, in evaluation order.
    pub rules: Vec<RuleSummary>,
    /// CPU seconds spent in the stage, summed over threads.
    pub cpu_seconds: f64,
    /// Named counters the stage reported (e.g. findings per type and action).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub counts: BTreeMap<String, u64>,
}

/// A rule as run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleSummary {
    /// Rule id.
    pub id: String,
    /// The threshold, in words.
    pub threshold: String,
    /// The smallest value kept (the default threshold; per-language ones are
    /// in `threshold`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// The largest value kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

impl RuleSummary {
    /// The summary of a per-record rule.
    pub fn of(rule: &crate::stage::RuleInfo) -> Self {
        RuleSummary {
            id: rule.id.clone(),
            threshold: rule.describe(),
            min: rule.threshold.min,
            max: rule.threshold.max,
        }
    }
}

/// User ids that occur more than once.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DuplicateIds {
    /// Records whose user id was already seen earlier in the run.
    pub repeated_records: u64,
    /// Up to 10 repeated ids, with the `file:line` of the repeat.
    pub examples: Vec<String>,
}

/// `report.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The curate version that wrote it.
    pub curate_version: String,
    /// Hash of every rule file used (same rules, same hash).
    pub rules_hash: String,
    /// Where the rules came from.
    pub rules_origin: String,
    /// Stages run, in order.
    pub stages_run: Vec<String>,
    /// Threads used.
    pub threads: usize,
    /// Wall seconds.
    pub seconds: f64,
    /// Input bytes read (compressed size for compressed files).
    pub input_bytes: u64,
    /// Totals.
    pub totals: Counts,
    /// Records per detected shape.
    pub formats: BTreeMap<String, u64>,
    /// Malformed items per kind of error.
    pub malformed_by_error: BTreeMap<String, u64>,
    /// Per stage, in order.
    pub stages: Vec<StageReport>,
    /// Per input file, sorted by path.
    pub files: Vec<FileReport>,
    /// Repeated user ids.
    pub duplicate_ids: DuplicateIds,
    /// What a user should know about the run before training on it (inputs
    /// holding benchmark items, no decontamination).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Mixing: target against achieved shares per group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mix: Option<crate::mix::MixReport>,
    /// Task and tag distributions and complexity signals of the records that
    /// passed the per-record stages (`of` says which).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diversity: Option<crate::output::diversity::DiversityReport>,
}

impl Report {
    /// The warnings about benchmark items and decontamination, from what
    /// the run read (`formats`: records per format) and ran: inputs read as
    /// a format of `benchmark_formats` are named, and a run with the dedup
    /// stage but no `dedup/decontam` rule says that nothing was checked
    /// against test sets.
    pub fn benchmark_warnings(&self, benchmark_formats: &[&str]) -> Vec<String> {
        let mut out = Vec::new();
        let items: Vec<(&str, u64)> = self
            .formats
            .iter()
            .filter(|(f, n)| **n > 0 && benchmark_formats.contains(&f.as_str()))
            .map(|(f, n)| (f.as_str(), *n))
            .collect();
        let decontam = self
            .stages
            .iter()
            .any(|s| s.rules.iter().any(|r| r.id == crate::verdict::DECONTAM));
        if !items.is_empty() {
            let total: u64 = items.iter().map(|(_, n)| n).sum();
            let list: Vec<String> = items.iter().map(|(f, n)| format!("{f} {n}")).collect();
            out.push(format!(
                "{total} input records are benchmark test items ({}); unless dropped by a rule they are kept as training data",
                list.join(", ")
            ));
        }
        if !decontam && self.stages_run.iter().any(|s| s == crate::verdict::DEDUP_STAGE) {
            out.push(
                "no benchmark given: kept records were not checked against test sets (decontaminate with `--decontaminate BENCHMARK_FILES`, e.g. the GSM8K, MMLU and HumanEval test files)"
                    .to_string(),
            );
        }
        out
    }

    /// The warnings of a run: [`Report::benchmark_warnings`], and, when the
    /// default stages ran (`stages_given` false) from a rule set without
    /// `dedup.toml`, that dedup did not run.
    pub fn run_warnings(&self, benchmark_formats: &[&str], stages_given: bool, has_dedup: bool) -> Vec<String> {
        let mut out = Vec::new();
        if !stages_given && !has_dedup {
            out.push(
                "the rules have no dedup.toml: no exact or near-duplicate removal and no decontamination ran (add dedup.toml to the rules folder, or set mode = \"overlay\" in its rules.toml to use the built-in one)"
                    .to_string(),
            );
        }
        out.extend(self.benchmark_warnings(benchmark_formats));
        out
    }

    /// Counts a record of input file `file` that passed every stage.
    pub fn tally_kept(&mut self, file: usize) {
        self.tally_kept_through(file, self.stages.len());
    }

    /// Counts a record that the first `stages` stages keep (the stages after
    /// them decide later, e.g. dedup).
    pub fn tally_kept_through(&mut self, file: usize, stages: usize) {
        self.files[file].counts.input += 1;
        self.files[file].counts.kept += 1;
        self.totals.input += 1;
        self.totals.kept += 1;
        for s in &mut self.stages[..stages] {
            s.input += 1;
            s.kept += 1;
        }
    }

    /// Counts a record dropped by stage `stage` (an index into `stages`): the
    /// first failing rule, then every failing rule.
    pub fn tally_rejected<'a>(
        &mut self,
        file: usize,
        stage: usize,
        first: &str,
        failed: impl Iterator<Item = &'a str>,
    ) {
        self.files[file].counts.input += 1;
        self.files[file].counts.rejected += 1;
        self.totals.input += 1;
        self.totals.rejected += 1;
        for s in &mut self.stages[..stage] {
            s.input += 1;
            s.kept += 1;
        }
        let s = &mut self.stages[stage];
        s.input += 1;
        s.dropped += 1;
        *s.dropped_per_rule.entry(first.to_string()).or_default() += 1;
        for f in failed {
            *s.failed_per_rule.entry(f.to_string()).or_default() += 1;
        }
    }

    /// Counts an item of input file `file` that could not be read or mapped.
    pub fn tally_malformed(&mut self, file: usize, kind: &str) {
        self.files[file].counts.input += 1;
        self.files[file].counts.malformed += 1;
        self.totals.input += 1;
        self.totals.malformed += 1;
        *self.malformed_by_error.entry(format!("malformed/{kind}")).or_default() += 1;
    }

    /// Adds the counts of another part of the same run (a task of a
    /// distributed run, planned with the same files and stages).
    pub fn absorb(&mut self, o: &Report) {
        fn add(a: &mut Counts, b: &Counts) {
            a.input += b.input;
            a.kept += b.kept;
            a.rejected += b.rejected;
            a.malformed += b.malformed;
        }
        fn add_map(a: &mut BTreeMap<String, u64>, b: &BTreeMap<String, u64>) {
            for (k, v) in b {
                *a.entry(k.clone()).or_default() += v;
            }
        }
        add(&mut self.totals, &o.totals);
        add_map(&mut self.formats, &o.formats);
        add_map(&mut self.malformed_by_error, &o.malformed_by_error);
        self.input_bytes += o.input_bytes;
        for (a, b) in self.stages.iter_mut().zip(&o.stages) {
            a.input += b.input;
            a.kept += b.kept;
            a.dropped += b.dropped;
            add_map(&mut a.dropped_per_rule, &b.dropped_per_rule);
            add_map(&mut a.failed_per_rule, &b.failed_per_rule);
            add_map(&mut a.counts, &b.counts);
            a.cpu_seconds += b.cpu_seconds;
        }
        for (a, b) in self.files.iter_mut().zip(&o.files) {
            add(&mut a.counts, &b.counts);
            add_map(&mut a.formats, &b.formats);
        }
    }

    /// Checks the accounting identity everywhere; returns what does not add up.
    pub fn verify(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        if !self.totals.balanced() {
            problems.push(format!("totals: {:?}", self.totals));
        }
        let mut sum = Counts::default();
        for f in &self.files {
            if !f.counts.balanced() {
                problems.push(format!("file {}: {:?}", f.path, f.counts));
            }
            sum.input += f.counts.input;
            sum.kept += f.counts.kept;
            sum.rejected += f.counts.rejected;
            sum.malformed += f.counts.malformed;
        }
        if sum != self.totals {
            problems.push(format!("files sum to {sum:?}, totals say {:?}", self.totals));
        }
        let mut expected_input = self.totals.input - self.totals.malformed;
        let mut dropped = 0;
        for s in &self.stages {
            if s.input != expected_input || s.input != s.kept + s.dropped {
                problems.push(format!(
                    "stage {}: input {} kept {} dropped {} (expected input {expected_input})",
                    s.name, s.input, s.kept, s.dropped
                ));
            }
            let per_rule: u64 = s.dropped_per_rule.values().sum();
            if per_rule != s.dropped {
                problems.push(format!(
                    "stage {}: drops per rule sum to {per_rule}, not {}",
                    s.name, s.dropped
                ));
            }
            dropped += s.dropped;
            expected_input = s.kept;
        }
        if dropped != self.totals.rejected {
            problems.push(format!(
                "stages dropped {dropped}, totals say rejected {}",
                self.totals.rejected
            ));
        }
        if expected_input != self.totals.kept {
            problems.push(format!(
                "last stage kept {expected_input}, totals say kept {}",
                self.totals.kept
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!("accounting does not add up: {}", problems.join("; ")))
        }
    }

    /// The summary table printed at the end of a run.
    pub fn summary(&self) -> String {
        let t = &self.totals;
        let pct = |n: u64| {
            if t.input == 0 {
                0.0
            } else {
                100.0 * n as f64 / t.input as f64
            }
        };
        let totals: Vec<Vec<String>> = [
            ("input", t.input),
            ("kept", t.kept),
            ("rejected", t.rejected),
            ("malformed", t.malformed),
        ]
        .into_iter()
        .map(|(name, n)| vec![name.to_string(), n.to_string(), format!("{:.2}%", pct(n))])
        .collect();
        let mut s = crate::output::table::plain(&["", "records", "share"], &totals, 0);
        let mut reasons: Vec<(&str, u64)> = self
            .stages
            .iter()
            .flat_map(|st| st.dropped_per_rule.iter().map(|(r, n)| (r.as_str(), *n)))
            .chain(self.malformed_by_error.iter().map(|(r, n)| (r.as_str(), *n)))
            .filter(|(_, n)| *n > 0)
            .collect();
        reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        if !reasons.is_empty() {
            s.push_str("top reasons:\n");
            let rows: Vec<Vec<String>> = reasons
                .iter()
                .take(10)
                .map(|(r, n)| vec![r.to_string(), n.to_string(), format!("{:.2}%", pct(*n))])
                .collect();
            s.push_str(&crate::output::table::plain(&[""], &rows, 2));
        }
        if let Some(st) = self.stages.iter().find(|st| st.name == crate::llm::STAGE) {
            let c = |k: &str| st.counts.get(k).copied().unwrap_or(0);
            s.push_str(&format!(
                "model: {} calls, {} answers from the cache, {} retries, {} tokens in, {} out, about ${:.2}\n",
                c("calls"),
                c("cache-hits"),
                c("retries"),
                c("tokens-in"),
                c("tokens-out"),
                c("cost-micro-usd") as f64 / 1e6
            ));
        }
        for w in &self.warnings {
            s.push_str(&format!("warning: {w}\n"));
        }
        if self.duplicate_ids.repeated_records > 0 {
            s.push_str(&format!(
                "warning: {} records repeat an id seen earlier (e.g. {})\n",
                self.duplicate_ids.repeated_records,
                self.duplicate_ids.examples.first().map_or("", String::as_str)
            ));
        }
        s
    }
}
