//! The steps of a distributed run. Each is a function of the output folder
//! and its rank: it reads only files that earlier steps left there and
//! writes only under its own folder, so tasks run anywhere, in any order
//! within a step, and again after a failure.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::dedup::boilerplate::{LineCounter, LineCounts};
use crate::dedup::clusters::{Decision, DropRule, Edges, Removal};
use crate::dedup::state::{TaskState, Tasks};
use crate::error::{Error, Result};
use crate::output::diversity::Diversity;
use crate::output::metrics::MetricsRows;
use crate::output::rechunk::{copy_dirs, Weight, FLUSH_ROWS, METRICS_ROWS};
use crate::output::{BackgroundWriter, Report};
use crate::pipeline::task::{run_task, Piece, Setup, Targets, TaskOutput, UserIdLine};
use crate::rules::RuleFiles;
use crate::ruleset::Rules;

use super::plan::{partition, Plan};
use super::{is_done, mark_done, mark_failed, read_json, step_dir, task_dir, write_json_atomic};

/// What a `process` task leaves besides its shards.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Partial {
    report: Report,
    diversity: Diversity,
    stage_nanos: Vec<u64>,
    dedup: Option<TaskState>,
    reference_malformed: u64,
    band_entries_spilled: u64,
    band_runs: u64,
    lines: Option<LineCounts>,
}

/// Counts of a `pairs` task.
#[derive(Debug, Default, Serialize, Deserialize)]
struct PairCounts {
    buckets: u64,
    candidate_pairs: u64,
}

/// How a step task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// It ran and left its marker.
    Done,
    /// Its marker was already there: nothing was done.
    AlreadyDone,
}

fn load_rules(out: &Path, plan: &Plan) -> Result<Rules> {
    let files = RuleFiles::from_dir(&out.join("rules")).map_err(Error::Rules)?;
    if files.hash() != plan.rules_hash {
        return Err(Error::Run(format!(
            "{}: the rules changed since the run was planned",
            out.join("rules").display()
        )));
    }
    Rules::compile_for(files, plan.settings.stages.as_deref()).map_err(Error::Rules)
}

fn setup(out: &Path, plan: &Plan) -> Result<Setup> {
    let rules = load_rules(out, plan)?;
    let mut s = Setup::new(
        rules,
        &plan.run_options(out),
        plan.files(),
        plan.references.len() as u32,
    )?;
    s.template.rules_origin = plan.rules_origin.clone();
    Ok(s)
}

/// The step before `step`, which must be complete before it starts.
fn previous(step: &str) -> Option<&'static str> {
    let i = super::STEPS.iter().position(|s| *s == step)?;
    i.checked_sub(1).map(|j| super::STEPS[j])
}

/// Runs task `rank` of `step` (rank and world resolved as in
/// [`super::resolve_rank`]); leaves `_DONE.<rank>` or `_FAILED.<rank>`.
pub fn run_step(out: &Path, step: &str, rank: Option<usize>, world: Option<usize>) -> Result<StepOutcome> {
    let plan = Plan::load(out)?;
    let planned = plan.world(step)?;
    let (rank, world) = super::resolve_rank(rank, world, planned, step)?;
    if is_done(out, step, rank) {
        return Ok(StepOutcome::AlreadyDone);
    }
    if let Some(prev) = previous(step) {
        let pw = plan.world(prev)?;
        let missing: Vec<usize> = (0..pw).filter(|&r| !is_done(out, prev, r)).collect();
        if !missing.is_empty() {
            let e = Error::Run(format!(
                "step {step} needs step {prev} to be complete; ranks not done: {missing:?}"
            ));
            mark_failed(out, step, rank, world, &e.to_string())?;
            return Err(e);
        }
    }
    let t = Instant::now();
    let result = match step {
        "process" => process(out, &plan, rank, world),
        "pairs" => pairs(out, &plan, rank),
        "decide" => decide(out, &plan),
        "write" => write(out, &plan),
        other => Err(Error::Usage(format!("unknown step {other}"))),
    };
    match result {
        Ok(records) => {
            mark_done(out, step, rank, world, t.elapsed().as_secs_f64(), records)?;
            if step == "write" {
                clean(out)?;
            }
            Ok(StepOutcome::Done)
        }
        Err(e) => {
            mark_failed(out, step, rank, world, &e.to_string())?;
            Err(e)
        }
    }
}

fn fresh_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))
}

/// `process`: phase 1 over this task's share of the input files.
fn process(out: &Path, plan: &Plan, rank: usize, world: usize) -> Result<u64> {
    let setup = setup(out, plan)?;
    let opts = plan.run_options(out);
    let planned: Vec<_> = plan.references.iter().chain(&plan.inputs).collect();
    let all = plan.pieces();
    let bytes: Vec<u64> = all.iter().map(|p| p.bytes).collect();
    let mine = &all[partition(&bytes, world)[rank].clone()];
    let mut checked = std::collections::BTreeSet::new();
    for p in mine {
        let f = planned
            .get(p.file)
            .ok_or_else(|| Error::Run(format!("plan.json: piece of file {} out of range", p.file)))?;
        if !checked.insert(p.file) {
            continue;
        }
        let meta = std::fs::metadata(&f.path).map_err(|e| Error::io(&f.path, e))?;
        if meta.len() != f.bytes {
            return Err(Error::Run(format!(
                "{}: {} bytes now, {} when the run was planned",
                f.path,
                meta.len(),
                f.bytes
            )));
        }
    }
    let pieces: Vec<Piece> = mine
        .iter()
        .map(|p| Piece {
            file: p.file,
            range: p.range,
        })
        .collect();
    let dir = task_dir(out, "process", rank);
    fresh_dir(&dir)?;
    let targets = Targets {
        root: dir.clone(),
        staging: dir.join("staging"),
        scratch: true,
        partitions: plan.world("pairs")?,
        user_ids: Some(dir.join("user_ids.jsonl")),
        out: out.to_path_buf(),
        writer: format!("task-{rank:05}"),
    };
    let TaskOutput {
        report,
        diversity,
        stage_nanos,
        mut writers,
        dedup,
        ..
    } = run_task(&setup, &opts, &pieces, &targets)?;
    writers.kept.finish()?;
    writers.rejected.finish()?;
    writers.malformed.finish()?;
    let records = report.totals.input;
    let mut partial = Partial {
        diversity,
        stage_nanos,
        ..Default::default()
    };
    if let Some(d) = dedup {
        let (spilled, runs) = d.collector.spill_stats();
        partial.band_entries_spilled = spilled;
        partial.band_runs = runs as u64;
        partial.reference_malformed = d.reference_malformed;
        partial.lines = d.lines.as_ref().map(|l| l.counts());
        partial.dedup = Some(d.collector.finish_to_disk()?);
        save_mix_items(&dir.join("mix.bin"), &d.mix_items)?;
    }
    partial.report = report;
    write_json_atomic(&dir.join("partial.json"), &partial)?;
    Ok(records)
}

fn partials(out: &Path, plan: &Plan) -> Result<Vec<(PathBuf, Partial)>> {
    let world = plan.world("process")?;
    (0..world)
        .map(|r| {
            let dir = task_dir(out, "process", r);
            let p: Partial = read_json(&dir.join("partial.json"))?;
            Ok((dir, p))
        })
        .collect()
}

fn tasks(parts: &[(PathBuf, Partial)]) -> Result<Tasks> {
    Tasks::new(
        parts.iter().map(|(d, _)| d.join("staging").join("dedup")).collect(),
        parts.iter().map(|(_, p)| p.dedup.clone().unwrap_or_default()).collect(),
    )
}

/// Threads of a task: the plan's, else the CPUs Slurm gave the task, else
/// every core.
fn task_threads(plan: &Plan) -> usize {
    if plan.settings.threads > 0 {
        return plan.settings.threads;
    }
    std::env::var("SLURM_CPUS_PER_TASK")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn pool(plan: &Plan) -> Result<rayon::ThreadPool> {
    crate::pipeline::task::thread_pool(task_threads(plan))
}

/// `pairs`: verified near-duplicate pairs among the records that share a
/// band key of this task's band partition.
fn pairs(out: &Path, plan: &Plan, rank: usize) -> Result<u64> {
    let rules = load_rules(out, plan)?;
    let dir = task_dir(out, "pairs", rank);
    fresh_dir(&dir)?;
    let mut edges: Edges = Vec::new();
    let mut counts = PairCounts::default();
    if let (Some(cfg), true) = (&rules.dedup, dedup_runs(out, plan, &rules)?) {
        let parts = partials(out, plan)?;
        let tasks = tasks(&parts)?;
        let mut c = tasks.collected(cfg, Some(rank))?;
        let mut d = Decision::default();
        edges = crate::dedup::clusters::near_pairs(&mut c, tasks.records(), cfg, &pool(plan)?, &mut d)?;
        counts.buckets = d.buckets;
        counts.candidate_pairs = d.candidate_pairs;
    }
    let flat: Vec<u32> = edges.iter().flat_map(|&(a, c, s)| [a, c, s]).collect();
    crate::dedup::state::write_le(&dir.join("edges.bin"), &flat)?;
    write_json_atomic(&dir.join("counts.json"), &counts)?;
    Ok(edges.len() as u64)
}

fn dedup_runs(out: &Path, plan: &Plan, rules: &Rules) -> Result<bool> {
    crate::pipeline::check_stages(rules, &plan.run_options(out))
}

/// `decide`: survivors and drops from the exact keys and every partition's pairs.
fn decide(out: &Path, plan: &Plan) -> Result<u64> {
    let rules = load_rules(out, plan)?;
    let dir = task_dir(out, "decide", 0);
    fresh_dir(&dir)?;
    let mut decision = Decision::default();
    if let (Some(cfg), true) = (&rules.dedup, dedup_runs(out, plan, &rules)?) {
        let parts = partials(out, plan)?;
        let tasks = tasks(&parts)?;
        let c = tasks.collected(cfg, None)?;
        let mut edges: Edges = Vec::new();
        let mut counts = PairCounts::default();
        for r in 0..plan.world("pairs")? {
            let pd = task_dir(out, "pairs", r);
            let v: Vec<u32> = crate::dedup::state::read_le(&pd.join("edges.bin"))?;
            edges.extend(v.chunks_exact(3).map(|t| (t[0], t[1], t[2])));
            let pc: PairCounts = read_json(&pd.join("counts.json"))?;
            counts.buckets += pc.buckets;
            counts.candidate_pairs += pc.candidate_pairs;
        }
        decision.buckets = counts.buckets;
        decision.candidate_pairs = counts.candidate_pairs;
        decision = crate::dedup::clusters::decide_all(c, tasks.records(), cfg, edges, decision, &pool(plan)?)?;
    }
    save_decision(&dir, &decision)?;
    Ok(decision.drops.len() as u64)
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct DecisionCounts {
    buckets: u64,
    candidate_pairs: u64,
    verified_pairs: u64,
    #[serde(default)]
    semantic_candidates: u64,
    #[serde(default)]
    semantic_pairs: u64,
}

fn save_decision(dir: &Path, d: &Decision) -> Result<()> {
    let mut b = Vec::with_capacity(d.drops.len() * 17);
    for x in &d.drops {
        b.extend_from_slice(&x.seq.to_le_bytes());
        b.extend_from_slice(&x.survivor.to_le_bytes());
        b.extend_from_slice(&x.similarity.to_le_bytes());
        b.push(match x.rule {
            DropRule::Exact => 0,
            DropRule::Near => 1,
            DropRule::Semantic => 2,
        });
    }
    let p = dir.join("drops.bin");
    std::fs::write(&p, b).map_err(|e| Error::io(&p, e))?;
    write_json_atomic(
        &dir.join("decision.json"),
        &DecisionCounts {
            buckets: d.buckets,
            candidate_pairs: d.candidate_pairs,
            verified_pairs: d.verified_pairs,
            semantic_candidates: d.semantic_candidates,
            semantic_pairs: d.semantic_pairs,
        },
    )
}

fn load_decision(dir: &Path) -> Result<Decision> {
    let p = dir.join("drops.bin");
    let b = std::fs::read(&p).map_err(|e| Error::io(&p, e))?;
    let c: DecisionCounts = read_json(&dir.join("decision.json"))?;
    let drops = b
        .chunks_exact(17)
        .map(|x| {
            let mut f = [0u8; 8];
            f.copy_from_slice(&x[8..16]);
            Removal {
                seq: u32::from_le_bytes([x[0], x[1], x[2], x[3]]),
                survivor: u32::from_le_bytes([x[4], x[5], x[6], x[7]]),
                similarity: f64::from_le_bytes(f),
                rule: match x[16] {
                    0 => DropRule::Exact,
                    1 => DropRule::Near,
                    _ => DropRule::Semantic,
                },
            }
        })
        .collect();
    Ok(Decision {
        drops,
        buckets: c.buckets,
        candidate_pairs: c.candidate_pairs,
        verified_pairs: c.verified_pairs,
        semantic_candidates: c.semantic_candidates,
        semantic_pairs: c.semantic_pairs,
        ..Decision::default()
    })
}

/// What mixing needs of each staged record: 16 bytes each (sequence number
/// within the task, id hash, group or `u32::MAX`).
fn save_mix_items(path: &Path, items: &[crate::mix::MixItem]) -> Result<()> {
    let mut b = Vec::with_capacity(items.len() * 16);
    for it in items {
        b.extend_from_slice(&it.seq.to_le_bytes());
        b.extend_from_slice(&it.id_hash.to_le_bytes());
        b.extend_from_slice(&it.group.unwrap_or(u32::MAX).to_le_bytes());
    }
    std::fs::write(path, b).map_err(|e| Error::io(path, e))
}

/// Every task's mix items, with global sequence numbers.
fn load_mix_items(parts: &[(PathBuf, Partial)], tasks: &Tasks) -> Result<Vec<crate::mix::MixItem>> {
    let mut out = Vec::new();
    for ((dir, _), &off) in parts.iter().zip(tasks.offsets()) {
        let p = dir.join("mix.bin");
        let b = std::fs::read(&p).map_err(|e| Error::io(&p, e))?;
        for c in b.chunks_exact(16) {
            let u = |x: &[u8]| u32::from_le_bytes([x[0], x[1], x[2], x[3]]);
            let mut h = [0u8; 8];
            h.copy_from_slice(&c[4..12]);
            let g = u(&c[12..16]);
            out.push(crate::mix::MixItem {
                seq: u(&c[0..4]) + off,
                id_hash: u64::from_le_bytes(h),
                group: (g != u32::MAX).then_some(g),
            });
        }
    }
    Ok(out)
}

/// Repeated user ids across every task, in input order (as a local run
/// finds them).
fn duplicate_ids(parts: &[(PathBuf, Partial)], report: &mut Report, labels: &[String]) -> Result<()> {
    use std::io::BufRead;
    let mut seen = std::collections::HashSet::new();
    for (dir, _) in parts {
        let p = dir.join("user_ids.jsonl");
        let f = std::fs::File::open(&p).map_err(|e| Error::io(&p, e))?;
        for line in std::io::BufReader::new(f).lines() {
            let line = line.map_err(|e| Error::io(&p, e))?;
            let (h, file, at, id): UserIdLine =
                serde_json::from_str(&line).map_err(|e| Error::Run(format!("{}: {e}", p.display())))?;
            if !seen.insert(h) {
                report.duplicate_ids.repeated_records += 1;
                if report.duplicate_ids.examples.len() < 10 {
                    let label = labels.get(file as usize).map_or("", |s| s.as_str());
                    report.duplicate_ids.examples.push(format!("{id} at {label}:{at}"));
                }
            }
        }
    }
    Ok(())
}

/// `write`: the final shards and reports, from every task's rows.
fn write(out: &Path, plan: &Plan) -> Result<u64> {
    let setup = setup(out, plan)?;
    let opts = plan.run_options(out);
    let parts = partials(out, plan)?;
    let mut report = setup.template.clone();
    let mut diversity = Diversity::default();
    let mut stage_nanos = vec![0u64; setup.record_stages()];
    for (_, p) in &parts {
        report.absorb(&p.report);
        diversity.absorb(&p.diversity);
        for (a, b) in stage_nanos.iter_mut().zip(&p.stage_nanos) {
            *a += b;
        }
    }
    let labels: Vec<String> = setup.files.iter().map(|f| f.label.clone()).collect();
    duplicate_ids(&parts, &mut report, &labels)?;
    if let Some(max) = plan.settings.max_malformed {
        if report.totals.malformed > max {
            return Err(Error::Run(format!(
                "{} malformed records, more than {max} (--max-malformed)",
                report.totals.malformed
            )));
        }
    }
    for e in ["kept", "rejected", "malformed", "metrics", "dedup"] {
        let p = out.join(e);
        if p.exists() {
            std::fs::remove_dir_all(&p).map_err(|err| Error::io(&p, err))?;
        }
    }
    let dirs = |name: &str| -> Vec<PathBuf> { parts.iter().map(|(d, _)| d.join(name)).collect() };
    let w = |name: &str, schema| crate::pipeline::task::writer(&out.join(name), schema, &opts, false, &setup.pool);
    let mut kept = BackgroundWriter::spawn(w("kept", crate::output::schema::kept_schema())?);
    let mut rejected = BackgroundWriter::spawn(w("rejected", crate::output::schema::rejected_schema())?);
    let mut malformed = w("malformed", crate::output::schema::malformed_schema())?;
    let metric_columns: Vec<String> = setup.rule_ids.iter().flatten().cloned().collect();
    let metrics_schema = MetricsRows::new(&metric_columns).schema();
    let mut metrics = w("metrics", metrics_schema.clone())?;
    copy_dirs(
        &dirs("rejected"),
        crate::output::schema::rejected_schema(),
        FLUSH_ROWS,
        Weight::Record,
        &mut |b| rejected.write(b),
    )?;
    copy_dirs(
        &dirs("malformed"),
        crate::output::schema::malformed_schema(),
        FLUSH_ROWS,
        Weight::Malformed,
        &mut |b| malformed.write(&b),
    )?;
    copy_dirs(&dirs("metrics"), metrics_schema, METRICS_ROWS, Weight::Rows, &mut |b| {
        metrics.write(&b)
    })?;
    metrics.finish()?;
    copy_dirs(
        &dirs("kept"),
        crate::output::schema::kept_schema(),
        FLUSH_ROWS,
        Weight::Record,
        &mut |b| kept.write(b),
    )?;
    if let Some(engine) = setup.engine.as_deref() {
        let t = Instant::now();
        let cfg = &engine.cfg;
        let tasks = tasks(&parts)?;
        let decision = load_decision(&task_dir(out, "decide", 0))?;
        let mut lines = cfg.lines.enabled.then(|| LineCounter::new(cfg.lines.clone()));
        let s = &mut report.stages[setup.dedup_stage];
        let (mut unreadable, mut spilled, mut runs, mut references) = (0, 0, 0, 0u32);
        for (_, p) in &parts {
            unreadable += p.reference_malformed;
            spilled += p.band_entries_spilled;
            runs += p.band_runs;
            references += p.dedup.as_ref().map_or(0, |d| d.references);
            if let (Some(l), Some(c)) = (lines.as_mut(), &p.lines) {
                l.absorb(c.clone());
            }
        }
        s.counts.insert("reference_unreadable".into(), unreadable);
        s.counts.insert("band_entries_spilled".into(), spilled);
        s.counts.insert("band_runs".into(), runs);
        let ids = tasks.ids()?;
        let staging = crate::output::staging::Staged::Dirs(
            parts.iter().map(|(d, _)| d.join("staging").join("records")).collect(),
        );
        crate::pipeline::finish_dedup(
            &mut report,
            setup.dedup_stage,
            staging,
            &decision,
            references,
            cfg,
            &|s| ids.get(s),
            &mut kept,
            &mut rejected,
            out,
            lines.as_ref(),
            match &setup.rules.mix {
                Some(m) => Some((m, load_mix_items(&parts, &tasks)?)),
                None => None,
            },
        )?;
        report.stages[setup.dedup_stage].cpu_seconds = t.elapsed().as_secs_f64();
    }
    kept.finish()?;
    rejected.finish()?;
    malformed.finish()?;
    let planned_at = std::fs::metadata(out.join(super::plan::PLAN_FILE))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok());
    let report = crate::pipeline::finish_run(
        out,
        report,
        &setup,
        diversity,
        stage_nanos,
        plan.settings.stages.is_some(),
        planned_at.map_or(0.0, |d| d.as_secs_f64()),
    )?;
    Ok(report.totals.input)
}

/// Removes the tasks' intermediate data once the run is complete (the
/// markers stay, so `curate status` still shows every step).
pub fn clean(out: &Path) -> Result<()> {
    for step in super::STEPS {
        let dir = step_dir(out, step);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                std::fs::remove_dir_all(&p).map_err(|err| Error::io(&p, err))?;
            }
        }
    }
    Ok(())
}
