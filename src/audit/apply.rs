//! `curate apply OUT --rules NEW --out OUT2`: writes the kept and rejected
//! shards that NEW rules give, from an earlier run's stored metrics and
//! records, without reading the corpus or measuring again.
//!
//! This works when NEW differs from the run's rules only in what decides
//! (thresholds, per-language thresholds, `enabled`): every measurement NEW
//! needs is then in `OUT/metrics`. A new rule, or one whose parameters
//! changed, needs measuring, and `apply` says so and stops. Dedup decisions
//! are kept as they were, except for records a per-record rule now drops.
//! Records keep their text as the run wrote it: a kept record keeps its
//! `stripped_lines`, and one now dropped goes to `rejected` with the text it
//! had in `kept` (boilerplate lines stripped).

use std::collections::HashMap;
use std::path::Path;

use arrow::array::RecordBatch;

use crate::audit::run_dir::{record_at, rejection_at, str_at, str_col, stripped_at, u64_col, Batches, RunDir};
use crate::audit::tune::{load_metrics, Decider, Metrics};
use crate::error::{Error, Result};
use crate::output::rechunk::batch_full;
use crate::output::report::{RuleSummary, StageReport};
use crate::output::shard::{BackgroundWriter, Codec};
use crate::output::{schema, RecordRows, Rejection, Report, ShardWriter};
use crate::pipeline::{after_failure, open_output, seal_run};
use crate::ruleset::{rule_definitions, Rules};

/// Checks that `new` only changes decisions, listing the rules that would need measuring.
fn check_measurable(old: &Rules, new: &Rules, stages: &[String]) -> Result<()> {
    if old.files.get("formats.toml") != new.files.get("formats.toml") {
        return Err(Error::Usage(
            "formats.toml differs from the run's: records would map differently; run `curate run` again".into(),
        ));
    }
    if old.mix.is_some() || new.mix.is_some() {
        return Err(Error::Usage(
            "mixing (mix.toml) samples from what every other stage keeps: run `curate run` again".into(),
        ));
    }
    let mut problems = Vec::new();
    for stage in stages {
        let (a, b) = (rule_definitions(&old.files, stage), rule_definitions(&new.files, stage));
        let measured: Vec<String> = old
            .record_stages
            .iter()
            .filter(|s| s.name() == stage)
            .flat_map(|s| s.rules().into_iter().map(|r| r.id))
            .collect();
        for s in new.record_stages.iter().filter(|s| s.name() == stage) {
            for r in s.rules() {
                if !measured.contains(&r.id) {
                    problems.push(format!("{} was not measured in the run", r.id));
                } else if a.get(&r.id) != b.get(&r.id) {
                    problems.push(format!("{} measures differently (its parameters changed)", r.id));
                }
            }
        }
    }
    for s in new.record_stages.iter().filter(|s| !s.opt_in()) {
        if !stages.iter().any(|x| x == s.name()) {
            problems.push(format!("stage {} did not run", s.name()));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "these rules need measuring, run `curate run` again: {}",
            problems.join("; ")
        )))
    }
}

/// One table's rows (`kept` or `rejected`), in order, a batch at a time.
struct Rows {
    batches: Batches,
    batch: Option<RecordBatch>,
    row: usize,
}

impl Rows {
    fn open(run: &RunDir, table: &str) -> Self {
        Rows {
            batches: run.batches(table),
            batch: None,
            row: 0,
        }
    }

    /// The next row's batch and index, without taking it (`None` at the end).
    fn peek(&mut self) -> Result<Option<(&RecordBatch, usize)>> {
        while self.batch.as_ref().is_none_or(|b| self.row >= b.num_rows()) {
            match self.batches.next() {
                Some(b) => {
                    self.batch = Some(b?);
                    self.row = 0;
                }
                None => return Ok(None),
            }
        }
        Ok(self.batch.as_ref().map(|b| (b, self.row)))
    }

    /// Where the next row comes from in the input: its file's place among
    /// the run's files and its line (`None` at the end).
    fn place(&mut self, files: &HashMap<String, usize>) -> Result<Option<(usize, u64)>> {
        Ok(self.peek()?.map(|(b, i)| {
            let file = files
                .get(str_at(str_col(b, "source_file"), i))
                .copied()
                .unwrap_or(usize::MAX);
            (file, u64_col(b, "source_line").map_or(0, |c| c.value(i)))
        }))
    }
}

/// Applies `rules` to the run in `run`, writing `out`.
pub fn apply(run: &RunDir, rules: Rules, out: &Path, overwrite: bool, shard_bytes: u64) -> Result<Report> {
    let old_rules = run.rules()?;
    let record_stages: Vec<String> = run
        .report
        .stages_run
        .iter()
        .filter(|s| old_rules.record_stages.iter().any(|r| r.name() == s.as_str()))
        .cloned()
        .collect();
    check_measurable(&old_rules, &rules, &record_stages)?;
    if out
        .canonicalize()
        .ok()
        .is_some_and(|o| run.path.canonicalize().ok() == Some(o))
    {
        return Err(Error::Usage("--out must differ from the run being applied to".into()));
    }
    let decider = Decider::from_rules(&rules, &run.report.stages_run);
    let metrics = load_metrics(run, &decider)?;
    let _lock = open_output(out, overwrite)?;
    let job = Job {
        run,
        rules: &rules,
        record_stages,
        decider,
        metrics,
        out,
        shard_bytes,
    };
    job.write().map_err(|e| after_failure(out, e))
}

/// What `apply` decides with and where it writes.
struct Job<'a> {
    run: &'a RunDir,
    rules: &'a Rules,
    /// The per-record stages the run ran: their drops are decided again.
    record_stages: Vec<String>,
    decider: Decider,
    metrics: Metrics,
    out: &'a Path,
    shard_bytes: u64,
}

impl Job<'_> {
    fn write(&self) -> Result<Report> {
        let snapshot = self.out.join("rules");
        self.rules
            .files
            .write_to(&snapshot)
            .map_err(|e| Error::io(&snapshot, e))?;
        let mut report = self.fresh_report();
        self.decide_again(&mut report)?;
        self.copy_unchanged(&mut report)?;
        seal_run(self.out, report)
    }

    /// A shard writer of `table`, compressed as the run's shards were.
    fn writer(&self, table: &str, schema: arrow::datatypes::SchemaRef) -> Result<ShardWriter> {
        let codec = Codec::of_shards(&self.run.path.join("kept")).unwrap_or_default();
        ShardWriter::output(&self.out.join(table), schema, self.shard_bytes, codec)
    }

    /// The run's report with its counts emptied and the new rules' summaries.
    fn fresh_report(&self) -> Report {
        let mut report = self.run.report.clone();
        report.rules_hash = self.rules.files.hash();
        report.rules_origin = self.rules.files.origin.clone();
        report.seconds = 0.0;
        report.totals = Default::default();
        report.malformed_by_error.clear();
        for f in &mut report.files {
            f.counts = Default::default();
        }
        for s in &mut report.stages {
            let rules_now: Vec<RuleSummary> = self
                .rules
                .record_stages
                .iter()
                .filter(|r| r.name() == s.name)
                .flat_map(|r| r.rules())
                .map(|r| RuleSummary::of(&r))
                .collect();
            *s = StageReport {
                name: s.name.clone(),
                rules: if rules_now.is_empty() {
                    s.rules.clone()
                } else {
                    rules_now
                },
                counts: s.counts.clone(),
                ..Default::default()
            };
        }
        report
    }

    /// Every kept and rejected record of the run, in input order (the two
    /// tables are each in input order and merged back), decided again.
    fn decide_again(&self, report: &mut Report) -> Result<()> {
        let files: HashMap<String, usize> = report
            .files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.path.clone(), i))
            .collect();
        let index: HashMap<&str, usize> = self
            .metrics
            .origins
            .iter()
            .enumerate()
            .map(|(i, o)| (o.as_str(), i))
            .collect();
        let mut kept_w = BackgroundWriter::spawn(self.writer("kept", schema::kept_schema())?);
        let mut rej_w = BackgroundWriter::spawn(self.writer("rejected", schema::rejected_schema())?);
        let (mut kept_rows, mut rej_rows) = (RecordRows::new(false), RecordRows::new(true));
        let (mut kept, mut rejected) = (Rows::open(self.run, "kept"), Rows::open(self.run, "rejected"));
        let mut failing = Vec::new();
        loop {
            let take_kept = match (kept.place(&files)?, rejected.place(&files)?) {
                (None, None) => break,
                (Some(k), Some(r)) => k <= r,
                (k, _) => k.is_some(),
            };
            let side = if take_kept { &mut kept } else { &mut rejected };
            let Some((batch, i)) = side.peek()? else { break };
            let old = (!take_kept).then(|| rejection_at(batch, i));
            let (rec, label) = record_at(batch, i);
            let stripped = if take_kept { stripped_at(batch, i) } else { None };
            side.row += 1;
            let file = *files
                .get(&label)
                .ok_or_else(|| Error::Run(format!("{label}: not an input of the run")))?;
            let key = format!("{label}:{}", rec.origin.line);
            let mi = *index
                .get(key.as_str())
                .ok_or_else(|| Error::Run(format!("{key}: no metrics row")))?;
            match self.verdict(report, file, mi, old, &mut failing)? {
                Some(rejection) => rej_rows.push(&rec, &label, Some(&rejection)),
                None => kept_rows.push_stripped(&rec, &label, None, stripped.as_deref()),
            }
            if batch_full(kept_rows.len(), kept_rows.bytes()) {
                kept_w.write(kept_rows.finish())?;
            }
            if batch_full(rej_rows.len(), rej_rows.bytes()) {
                rej_w.write(rej_rows.finish())?;
            }
        }
        if !kept_rows.is_empty() {
            kept_w.write(kept_rows.finish())?;
        }
        if !rej_rows.is_empty() {
            rej_w.write(rej_rows.finish())?;
        }
        kept_w.finish()?;
        rej_w.finish()?;
        Ok(())
    }

    /// The new fate of the record at metrics row `mi` (its file's place
    /// `file`), counted in `report`: `None` when kept, else its rejection.
    /// `old` is the run's rejection of it, if any: a drop of a stage that is
    /// not decided again (dedup) stands unless a rule now drops the record.
    fn verdict(
        &self,
        report: &mut Report,
        file: usize,
        mi: usize,
        old: Option<Rejection>,
        failing: &mut Vec<usize>,
    ) -> Result<Option<Rejection>> {
        let stage_idx = |name: &str| {
            report
                .stages
                .iter()
                .position(|s| s.name == name)
                .ok_or_else(|| Error::Run(format!("stage {name} missing")))
        };
        let Some(r) = self.decider.decide(&self.metrics, mi, failing) else {
            match old.filter(|o| !self.record_stages.contains(&o.stage)) {
                Some(o) => {
                    let si = stage_idx(&o.stage)?;
                    report.tally_rejected(file, si, &o.rule, o.failed_rules.iter().map(String::as_str));
                    return Ok(Some(o));
                }
                None => {
                    report.tally_kept(file);
                    return Ok(None);
                }
            }
        };
        let (si, rule, _) = &self.decider.rules[r];
        let stage_name = &self.run.report.stages_run[*si];
        let same_stage: Vec<&str> = failing
            .iter()
            .filter(|f| self.decider.rules[**f].0 == *si)
            .map(|f| self.decider.rules[*f].1.id.as_str())
            .collect();
        let v = self.metrics.values[r][mi];
        // Decided from the stored value, so the threshold is crossed.
        let crossed = rule
            .threshold_for(self.metrics.langs[mi])
            .check(v)
            .unwrap_or(crate::verdict::Crossed::Max(f64::NAN));
        // The run's own sentence when it dropped the record the same way: it
        // names what the filter matched, which `metrics/` does not hold.
        let reason = match &old {
            Some(o) if o.rule == rule.id && o.value == Some(v) => o.reason.clone(),
            _ => crate::verdict::crossed(&rule.subject, v, crossed, None),
        };
        let rejection = Rejection::rule(
            stage_name,
            &rule.id,
            v,
            crossed.bound(),
            reason,
            same_stage.iter().map(|s| s.to_string()).collect(),
        );
        report.tally_rejected(file, stage_idx(stage_name)?, &rule.id, same_stage.into_iter());
        Ok(Some(rejection))
    }

    /// Malformed items and metrics do not depend on thresholds: copied as
    /// they are, a batch at a time.
    fn copy_unchanged(&self, report: &mut Report) -> Result<()> {
        let files: HashMap<&str, usize> = self
            .run
            .report
            .files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.path.as_str(), i))
            .collect();
        let mut malformed = self.writer("malformed", schema::malformed_schema())?;
        for b in self.run.batches("malformed") {
            let b = b?;
            let f = str_col(&b, "source_file");
            for i in 0..b.num_rows() {
                if let Some(&fi) = files.get(str_at(f, i)) {
                    report.tally_malformed(fi, "copied");
                }
            }
            malformed.write(&b)?;
        }
        malformed.finish()?;
        report.malformed_by_error = self.run.report.malformed_by_error.clone();
        let mut metrics: Option<ShardWriter> = None;
        for b in self.run.batches("metrics") {
            let b = b?;
            let w = match metrics.as_mut() {
                Some(w) => w,
                None => metrics.insert(self.writer("metrics", b.schema())?),
            };
            w.write(&b)?;
        }
        if let Some(w) = metrics {
            w.finish()?;
        }
        Ok(())
    }
}
