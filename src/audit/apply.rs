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

use crate::audit::run_dir::{read_batches, record_at, rejection_at, str_at, str_col, stripped_at, u64_col, RunDir};
use crate::audit::tune::{load_metrics, Decider};
use crate::error::{Error, Result};
use crate::output::report::{RuleSummary, StageReport};
use crate::output::shard::Codec;
use crate::output::{schema, RecordRows, Rejection, Report, ShardWriter};
use crate::pipeline::{prepare_out, write_reports};
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
    for s in &new.record_stages {
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

fn flush(rows: &mut RecordRows, w: &mut ShardWriter, all: bool) -> Result<()> {
    if !rows.is_empty() && (all || rows.len() >= 8192 || rows.bytes() >= 8 << 20) {
        w.write(&rows.finish())?;
    }
    Ok(())
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
    let decider = Decider::from_rules(&rules, &run.report.stages_run);
    let m = load_metrics(run, &decider)?;
    let index: HashMap<&str, usize> = m.origins.iter().enumerate().map(|(i, o)| (o.as_str(), i)).collect();
    if out
        .canonicalize()
        .ok()
        .is_some_and(|o| run.path.canonicalize().ok() == Some(o))
    {
        return Err(Error::Usage("--out must differ from the run being applied to".into()));
    }
    prepare_out(out, overwrite)?;
    rules
        .files
        .write_to(&out.join("rules"))
        .map_err(|e| Error::io(out.join("rules"), e))?;

    let mut report = run.report.clone();
    report.rules_hash = rules.files.hash();
    report.rules_origin = rules.files.origin.clone();
    report.seconds = 0.0;
    report.totals = Default::default();
    report.malformed_by_error.clear();
    for f in &mut report.files {
        f.counts = Default::default();
    }
    for s in &mut report.stages {
        let rules_now: Vec<RuleSummary> = rules
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
    let file_idx: HashMap<String, usize> = report
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.path.clone(), i))
        .collect();
    let stage_names: Vec<String> = report.stages.iter().map(|s| s.name.clone()).collect();
    let stage_idx = |name: &str| stage_names.iter().position(|s| s == name);

    // The new shards are compressed as the run's were.
    let codec = Codec::of_shards(&run.path.join("kept")).unwrap_or_default();
    let writer = |sub: &str, schema| ShardWriter::output(&out.join(sub), schema, shard_bytes, codec);
    let mut kept_w = writer("kept", schema::kept_schema())?;
    let mut rej_w = writer("rejected", schema::rejected_schema())?;
    let mut kept_rows = RecordRows::new(false);
    let mut rej_rows = RecordRows::new(true);

    // Kept and rejected shards are each in input order; merge them back into it.
    let kept = run.batches("kept")?;
    let rejected = run.batches("rejected")?;
    let rows = |bs: &[arrow::array::RecordBatch]| -> Vec<(usize, usize, usize, u64)> {
        let mut v = Vec::new();
        for (bi, b) in bs.iter().enumerate() {
            let (f, l) = (str_col(b, "source_file"), u64_col(b, "source_line"));
            for i in 0..b.num_rows() {
                let file = file_idx.get(str_at(f, i)).copied().unwrap_or(usize::MAX);
                v.push((file, bi, i, l.map_or(0, |c| c.value(i))));
            }
        }
        v
    };
    let (rk, rr) = (rows(&kept), rows(&rejected));
    let (mut a, mut b) = (0, 0);
    let mut failing = Vec::new();
    while a < rk.len() || b < rr.len() {
        let take_kept = b >= rr.len() || (a < rk.len() && (rk[a].0, rk[a].3) <= (rr[b].0, rr[b].3));
        let (batch, i, old) = if take_kept {
            a += 1;
            (&kept[rk[a - 1].1], rk[a - 1].2, None)
        } else {
            b += 1;
            let (bi, i) = (rr[b - 1].1, rr[b - 1].2);
            (&rejected[bi], i, Some(rejection_at(&rejected[bi], i)))
        };
        let (rec, label) = record_at(batch, i);
        let file = *file_idx
            .get(&label)
            .ok_or_else(|| Error::Run(format!("{label}: not an input of the run")))?;
        let key = format!("{label}:{}", rec.origin.line);
        let mi = *index
            .get(key.as_str())
            .ok_or_else(|| Error::Run(format!("{key}: no metrics row")))?;
        let fixed = old.as_ref().filter(|o| !record_stages.contains(&o.stage));
        match decider.decide(&m, mi, &mut failing) {
            Some(r) => {
                let (si, rule, _) = &decider.rules[r];
                let stage_name = &run.report.stages_run[*si];
                let same_stage: Vec<&str> = failing
                    .iter()
                    .filter(|f| decider.rules[**f].0 == *si)
                    .map(|f| decider.rules[*f].1.id.as_str())
                    .collect();
                let v = m.values[r][mi];
                // Decided from the stored value, so the threshold is crossed.
                let crossed = rule
                    .threshold_for(m.langs[mi])
                    .check(v)
                    .unwrap_or(crate::verdict::Crossed::Max(f64::NAN));
                // The run's own sentence when it dropped the record the same
                // way: it names what the filter matched, which `metrics/` does not hold.
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
                let si = stage_idx(stage_name).ok_or_else(|| Error::Run(format!("stage {stage_name} missing")))?;
                report.tally_rejected(file, si, &rule.id, same_stage.into_iter());
                rej_rows.push(&rec, &label, Some(&rejection));
            }
            None => match fixed {
                Some(o) => {
                    let si = stage_idx(&o.stage).ok_or_else(|| Error::Run(format!("stage {} missing", o.stage)))?;
                    report.tally_rejected(file, si, &o.rule, o.failed_rules.iter().map(String::as_str));
                    rej_rows.push(&rec, &label, Some(o));
                }
                None => {
                    report.tally_kept(file);
                    let stripped = if take_kept { stripped_at(batch, i) } else { None };
                    kept_rows.push_stripped(&rec, &label, None, stripped.as_deref());
                }
            },
        }
        flush(&mut kept_rows, &mut kept_w, false)?;
        flush(&mut rej_rows, &mut rej_w, false)?;
    }
    flush(&mut kept_rows, &mut kept_w, true)?;
    flush(&mut rej_rows, &mut rej_w, true)?;
    kept_w.finish()?;
    rej_w.finish()?;

    // Malformed items and metrics do not depend on thresholds: copied as they are.
    let mut mal_w = writer("malformed", schema::malformed_schema())?;
    for b in run.batches("malformed")? {
        let f = str_col(&b, "source_file");
        for i in 0..b.num_rows() {
            if let Some(&fi) = file_idx.get(str_at(f, i)) {
                report.tally_malformed(fi, "copied");
            }
        }
        mal_w.write(&b)?;
    }
    mal_w.finish()?;
    report.malformed_by_error = run.report.malformed_by_error.clone();
    let metrics = read_batches(&run.path.join("metrics"))?;
    if let Some(first) = metrics.first() {
        let mut mw = writer("metrics", first.schema())?;
        for b in &metrics {
            mw.write(b)?;
        }
        mw.finish()?;
    }
    report.verify().map_err(Error::Run)?;
    write_reports(out, &report)?;
    Ok(report)
}
