//! Orchestration of `curate run`.
//!
//! ```text
//!  reader thread         processing thread (rayon)          writer (this thread)
//!  files in path order -> batches of raw items -> parse, map, stages -> shards + counts
//! ```
//!
//! With the `dedup` stage the run has two phases (see [`crate::dedup`]):
//! phase 1 also computes each surviving record's dedup keys in the parallel
//! map and writes the survivors to `OUT/.staging/`; once every record is in,
//! the dedup decision runs, and phase 2 streams the staging shards to `kept/`
//! or `rejected/`. Without it, phase 1 writes straight to `kept/`.
//!
//! A distributed run ([`crate::distributed`]) runs phase 1 as several tasks
//! over shares of the inputs and the rest as later steps; it writes the same
//! shards, because every batch handed to a shard writer is cut by a rule over
//! the rows alone ([`crate::output::rechunk`]).
//!
//! Batches carry their items in input order and rayon's indexed `collect`
//! keeps that order, so the writer sees records in exactly the order of the
//! sorted inputs whatever the thread count: shard contents are identical for
//! 1 or N threads and for any order the inputs were listed in. Channels are
//! bounded, so at most a few batches are in memory at once: memory does not
//! grow with the corpus.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::dedup::clusters::{Decision, DropRule};
use crate::dedup::{DedupConfig, Engine};
use crate::error::{Error, Result};
use crate::output::report::{Counts, RuleSummary, StageReport};
use crate::output::{BackgroundWriter, Report};
use crate::read::{expand_inputs, InputFile, ReadOptions};
use crate::ruleset::Rules;
use crate::stage::RecordStage;

pub mod lock;
mod setup;
pub mod stop;
pub(crate) mod task;
mod work;

use task::{Setup, Targets, TaskOutput};

/// The default of `--shard-bytes`: a new shard after about this many bytes.
pub const SHARD_BYTES: u64 = 256 << 20;
/// The default of `--batch-records`: records per processing batch.
pub const BATCH_RECORDS: usize = 1024;

/// What shapes a run's work and output: the same for a local run, in a
/// distributed run's plan (`plan.json` holds these keys) and in each of its
/// tasks. Its defaults are the command line's.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunSettings {
    /// Stages to run (all with rules when `None`).
    pub stages: Option<Vec<String>>,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Fail the run when more items than this are malformed.
    pub max_malformed: Option<u64>,
    /// Records larger than this are quarantined without being read whole.
    pub max_record_bytes: usize,
    /// Rotate shards at about this many bytes.
    pub shard_bytes: u64,
    /// Compression of the output shards.
    #[serde(default)]
    pub compression: crate::output::shard::Codec,
    /// Records per processing batch.
    pub batch_records: usize,
}

impl Default for RunSettings {
    fn default() -> Self {
        RunSettings {
            stages: None,
            threads: 0,
            max_malformed: None,
            max_record_bytes: crate::read::MAX_RECORD_BYTES,
            shard_bytes: SHARD_BYTES,
            compression: crate::output::shard::Codec::Zstd,
            batch_records: BATCH_RECORDS,
        }
    }
}

impl RunSettings {
    /// The reader's limits.
    pub fn read(&self) -> ReadOptions {
        ReadOptions {
            max_record_bytes: self.max_record_bytes,
        }
    }
}

/// Options of one run: what it reads and writes, and its settings.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Files, folders and globs.
    pub inputs: Vec<String>,
    /// The output folder.
    pub out: PathBuf,
    /// Replace an earlier run in `out`.
    pub overwrite: bool,
    /// Show a progress bar (only on a terminal).
    pub progress: bool,
    /// Print warnings for the first malformed items.
    pub warn_malformed: usize,
    /// Corpora the inputs are deduplicated against, not written out.
    pub references: Vec<String>,
    /// Benchmark files to decontaminate against (besides those in the rules).
    pub decontaminate: Vec<String>,
    /// What shapes the work and the output.
    pub settings: RunSettings,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            inputs: Vec::new(),
            out: PathBuf::from("out"),
            overwrite: false,
            progress: true,
            warn_malformed: 5,
            references: Vec::new(),
            decontaminate: Vec::new(),
            settings: RunSettings::default(),
        }
    }
}

/// Entries a run writes in its output folder (removed by `--overwrite`).
pub const RUN_ENTRIES: &[&str] = &[
    "kept",
    "rejected",
    "malformed",
    "reports",
    "report.json",
    "report.html",
    "metrics",
    "rules",
    "dedup",
    ".staging",
    ".work",
    "plan.json",
    "_SUCCESS",
];

pub use crate::output::run_folder::SUCCESS_MARKER;

/// Prepares the output folder: refuses to replace an earlier run unless asked.
fn prepare_out(out: &Path, overwrite: bool) -> Result<()> {
    if out.exists() {
        let entries: Vec<String> = std::fs::read_dir(out)
            .map_err(|e| Error::io(out, e))?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|e| e != lock::LOCK_FILE && e != crate::llm::cache::DIR)
            .collect();
        if !entries.is_empty() {
            let ours = entries.iter().any(|e| RUN_ENTRIES.contains(&e.as_str()));
            if !overwrite {
                let finished = out.join(SUCCESS_MARKER).exists();
                let what = match (ours, finished) {
                    (true, true) => "holds an earlier run",
                    // Shards of a run that was killed or failed: never read
                    // them as a result.
                    (true, false) => {
                        "holds an incomplete run (no _SUCCESS: it was stopped or failed; its shards are partial; a run started with --checkpoint resumes with the same command)"
                    }
                    _ => "is not empty",
                };
                return Err(Error::Usage(format!(
                    "{}: output folder {what}; pass --overwrite to replace it",
                    out.display()
                )));
            }
            for e in RUN_ENTRIES {
                let p = out.join(e);
                // The entry itself, not what a symbolic link points at: a
                // link left there is removed, never written through.
                match std::fs::symlink_metadata(&p) {
                    Ok(m) if m.is_dir() => std::fs::remove_dir_all(&p).map_err(|err| Error::io(&p, err))?,
                    Ok(_) => std::fs::remove_file(&p).map_err(|err| Error::io(&p, err))?,
                    Err(_) => {}
                }
            }
        }
    }
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))
}

/// Checks the stages asked for against the rules and options; returns
/// whether the dedup stage runs.
pub(crate) fn check_stages(rules: &Rules, opts: &RunOptions) -> Result<bool> {
    select_stages(rules, &opts.settings.stages)?;
    let dedup_on = rules.dedup.is_some()
        && opts
            .settings
            .stages
            .as_ref()
            .is_none_or(|w| w.iter().any(|s| s == crate::registry::DEDUP_STAGE || s == "default"));
    if let (Some(cfg), true) = (&rules.dedup, dedup_on) {
        check_survivor_metric(rules, cfg, opts)?;
    }
    if !dedup_on && !opts.references.is_empty() {
        return Err(Error::Usage("--reference needs the dedup stage".into()));
    }
    if !dedup_on && !opts.decontaminate.is_empty() {
        return Err(Error::Usage("--decontaminate needs the dedup stage".into()));
    }
    if !dedup_on && rules.mix.is_some() {
        return Err(Error::Usage(
            "mixing (mix.toml) runs after the dedup stage: include `dedup` in --stages (turn exact and near dedup off in dedup.toml to mix without deduplicating)".into(),
        ));
    }
    Ok(dedup_on)
}

/// The `best-metric` survivor policy ranks records by what a per-record
/// rule measured in phase 1: that rule's stage must run too.
fn check_survivor_metric(rules: &Rules, cfg: &DedupConfig, opts: &RunOptions) -> Result<()> {
    let Some(metric) = cfg.survivor_metric.as_deref() else {
        return Ok(());
    };
    let measured = select_stages(rules, &opts.settings.stages)?
        .iter()
        .any(|s| s.rules().iter().any(|r| r.id == metric));
    if measured {
        return Ok(());
    }
    let stage = metric.split('/').next().unwrap_or("");
    let e = crate::dedup::config::key_error(
        &rules.files,
        "survivor-metric",
        format!(
            "the survivor policy ranks duplicates by `{metric}`, which the `{stage}` stage measures, \
             but this run does not run it: add `{stage}` to --stages (or choose another survivor policy)"
        ),
    );
    Err(Error::Usage(e.to_string()))
}

/// Picks the stages to run, in pipeline order.
pub(crate) fn select_stages<'r>(rules: &'r Rules, wanted: &Option<Vec<String>>) -> Result<Vec<&'r dyn RecordStage>> {
    let all: Vec<&dyn RecordStage> = rules.record_stages.iter().map(|s| s.as_ref()).collect();
    let Some(wanted) = wanted else {
        return Ok(all.into_iter().filter(|s| !s.opt_in()).collect());
    };
    let known = crate::registry::all_stages();
    // `default` stands for every stage that runs when none is named.
    let named = |s: &dyn RecordStage| wanted.iter().any(|w| w == s.name() || (w == "default" && !s.opt_in()));
    for w in wanted {
        if w == crate::registry::DEDUP_STAGE || w == "default" {
            if rules.dedup.is_none() {
                return Err(Error::Usage("stage `dedup` needs dedup.toml in the rule set".into()));
            }
            continue;
        }
        if !known.contains(&w.as_str()) {
            return Err(Error::Usage(format!(
                "unknown stage `{w}`; stages are: {} (and `default`: every stage that runs when none is named)",
                known.join(", ")
            )));
        }
        if !all.iter().any(|s| s.name() == w) {
            return Err(Error::Usage(format!(
                "stage `{w}` has no enabled rules in the rule set"
            )));
        }
    }
    Ok(all.into_iter().filter(|s| named(*s)).collect())
}

pub(crate) fn dedup_stage_report(engine: &Engine) -> StageReport {
    let c = &engine.cfg;
    let mut rules = Vec::new();
    if !engine.benchmarks.is_empty() {
        rules.push(RuleSummary {
            id: crate::verdict::DECONTAM.into(),
            threshold: format!(
                "shares an n-gram of {} words with one of {} benchmark items",
                c.decontam.ngram,
                engine.benchmarks.items.len()
            ),
            ..Default::default()
        });
    }
    if c.exact.enabled {
        rules.push(RuleSummary {
            id: DropRule::Exact.id().into(),
            threshold: format!("same normalised {:?} key as a kept record", c.exact.key).to_lowercase(),
            ..Default::default()
        });
    }
    if c.near.enabled {
        rules.push(RuleSummary {
            id: DropRule::Near.id().into(),
            threshold: match c.near.compare {
                crate::dedup::Compare::Whole => format!(
                    "Jaccard >= {} with a kept record ({}-word shingles, {} bands x {} rows)",
                    c.near.threshold, c.near.ngram, c.near.bands, c.near.rows
                ),
                crate::dedup::Compare::Parts => {
                    let mut also = Vec::new();
                    if c.near.thin_requests {
                        also.push(format!("thin requests naming the same: answers >= {}", c.near.short_threshold));
                    }
                    if c.near.tool_calls {
                        also.push(format!("the same tool calls: requests >= {}", c.near.part_threshold));
                    }
                    if c.near.choices {
                        also.push("never another chosen option".to_string());
                    }
                    format!(
                        "Jaccard >= {} with a kept record, request and answer each >= {} (a short one: both >= {}){} ({}-word shingles, {} bands x {} rows)",
                        c.near.threshold,
                        c.near.part_threshold,
                        c.near.short_threshold,
                        also.iter().map(|a| format!("; {a}")).collect::<String>(),
                        c.near.ngram,
                        c.near.bands,
                        c.near.rows
                    )
                }
            },
            ..Default::default()
        });
    }
    if c.semantic.enabled {
        rules.push(RuleSummary {
            id: DropRule::Semantic.id().into(),
            threshold: format!(
                "cosine >= {} of the sentence embeddings with a kept record{} ({} bands x {} bits)",
                c.semantic.threshold,
                if c.semantic.cross_language {
                    ""
                } else {
                    " of the same language"
                },
                c.semantic.bands,
                c.semantic.rows
            ),
            ..Default::default()
        });
    }
    StageReport {
        name: crate::registry::DEDUP_STAGE.into(),
        rules,
        ..Default::default()
    }
}

/// The files a run reads: its inputs and its reference corpora (keyed
/// apart, `reference:<path>`), none inside the output folder, also when it
/// sits inside an input folder (the shards of an earlier run there would be
/// read back). No input left is a usage error.
pub fn run_files(opts: &RunOptions) -> Result<(Vec<InputFile>, Vec<InputFile>)> {
    let mut inputs = expand_inputs(&opts.inputs)?;
    let mut references = if opts.references.is_empty() {
        Vec::new()
    } else {
        let mut files = expand_inputs(&opts.references)?;
        crate::read::assign_keys(&mut files, "reference:");
        files
    };
    crate::read::exclude_under(&mut inputs, &opts.out);
    crate::read::exclude_under(&mut references, &opts.out);
    if inputs.is_empty() {
        return Err(Error::Usage(format!(
            "no input file outside the output folder {}",
            opts.out.display()
        )));
    }
    Ok((inputs, references))
}

/// Runs the pipeline and writes `out`. Returns the report (already written).
pub fn run(rules: Rules, opts: &RunOptions) -> Result<Report> {
    let started = Instant::now();
    let (inputs, references) = run_files(opts)?;
    let n_ref = references.len() as u32;
    let files: Vec<InputFile> = references.into_iter().chain(inputs).collect();
    let setup = Setup::new(rules, opts, files, n_ref)?;
    let _lock = open_output(&opts.out, opts.overwrite)?;
    run_in(&setup, opts, started).map_err(|e| after_failure(&opts.out, e))
}

/// The start of every command that writes a run folder (`run`, `apply`):
/// the folder's lock, held until the returned guard drops, then the folder
/// emptied of an earlier run (with `overwrite`) or checked empty.
pub(crate) fn open_output(out: &Path, overwrite: bool) -> Result<lock::OutLock> {
    let lock = lock::OutLock::acquire(out)?;
    prepare_out(out, overwrite)?;
    Ok(lock)
}

/// The run in its prepared output folder.
fn run_in(setup: &Setup, opts: &RunOptions, started: Instant) -> Result<Report> {
    // The rules used travel with the run, so `tune`, `explain` and `apply` see them.
    let snapshot = opts.out.join("rules");
    setup
        .rules
        .files
        .write_to(&snapshot)
        .map_err(|e| Error::io(&snapshot, e))?;
    let targets = Targets {
        root: opts.out.clone(),
        staging: opts.out.join(".staging"),
        scratch: false,
        partitions: 1,
        user_ids: None,
        out: opts.out.clone(),
        writer: "run".into(),
    };
    // A run that fails (a full disk, a bad input with `--max-malformed`)
    // leaves no staging behind: it can take more room than the output.
    let _staging = RemoveOnDrop(targets.staging.clone());
    let TaskOutput {
        mut report,
        diversity,
        stage_nanos,
        mut writers,
        dedup,
        bytes_read,
    } = task::run_task(setup, opts, &task::Piece::whole_files(setup.files.len()), &targets)?;
    stop::check()?;
    if let (Some(mut d), Some(engine)) = (dedup, setup.engine.as_deref()) {
        let t = Instant::now();
        let n = d.collector.len();
        let staged = d
            .staged
            .take()
            .ok_or_else(|| Error::Run("phase 1 left no staged records".into()))?;
        let (spilled, runs) = d.collector.spill_stats();
        let (collected, ids) = d.collector.finish()?;
        let references = collected.references;
        let decision = crate::dedup::clusters::decide(collected, n, &engine.cfg, &setup.pool)?;
        let s = &mut report.stages[setup.dedup_stage];
        s.counts.insert("reference_unreadable".into(), d.reference_malformed);
        s.counts.insert("band_entries_spilled".into(), spilled);
        s.counts.insert("band_runs".into(), runs as u64);
        s.counts.insert("staged_records_on_disk".into(), d.staged_on_disk);
        finish_dedup(
            &mut report,
            setup.dedup_stage,
            staged,
            &decision,
            references,
            &engine.cfg,
            &|s| ids.get(s),
            &mut writers.kept,
            &mut writers.rejected,
            &opts.out,
            d.lines.as_ref(),
            setup.rules.mix.as_ref().map(|m| (m, d.mix_items)),
        )?;
        report.stages[setup.dedup_stage].cpu_seconds = t.elapsed().as_secs_f64();
        drop(ids);
        std::fs::remove_dir_all(&targets.staging).map_err(|e| Error::io(&targets.staging, e))?;
    }
    writers.kept.finish()?;
    writers.rejected.finish()?;
    writers.malformed.finish()?;
    stop::check()?;
    report.input_bytes = bytes_read;
    finish_run(
        &opts.out,
        report,
        setup,
        diversity,
        stage_nanos,
        opts.settings.stages.is_some(),
        started.elapsed().as_secs_f64(),
    )
}

/// The end of every run, local or distributed, once its shards are written:
/// the stages' CPU time, the diversity and warnings of the report, the
/// accounting check, then the reports and the `_SUCCESS` marker.
#[allow(clippy::too_many_arguments)]
pub(crate) fn finish_run(
    out: &Path,
    mut report: Report,
    setup: &Setup,
    diversity: crate::output::diversity::Diversity,
    stage_nanos: Vec<u64>,
    stages_named: bool,
    seconds: f64,
) -> Result<Report> {
    for (s, n) in report.stages.iter_mut().zip(stage_nanos) {
        s.cpu_seconds = n as f64 / 1e9;
    }
    report.diversity = Some(crate::output::diversity::label(diversity.finish(), &report));
    report.warnings = report.run_warnings(
        &setup.rules.adapters.benchmark_formats(),
        stages_named,
        setup.rules.dedup.is_some(),
    );
    report.seconds = seconds;
    // The report page reads the output back on the run's threads.
    setup.pool.install(|| seal_run(out, report))
}

/// The last step of every command that writes a run folder (`run`, the
/// distributed `write`, `apply`): the accounting check, then the reports and
/// the `_SUCCESS` marker.
pub(crate) fn seal_run(out: &Path, report: Report) -> Result<Report> {
    report.verify().map_err(Error::Run)?;
    write_reports(out, &report)?;
    Ok(report)
}

/// What a run that did not finish leaves under `out`: never a half-written
/// file (the temporary `.*.tmp` shards of a failed write, a full disk, are
/// removed), and after a signal no table at all, so nothing there looks
/// finished. The error passes through, reworded for a signal.
pub(crate) fn after_failure(out: &Path, e: Error) -> Error {
    let stopped = matches!(e, Error::Stopped(_));
    for entry in RUN_ENTRIES {
        let p = out.join(entry);
        if stopped {
            let _ = if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
        } else if let Ok(files) = std::fs::read_dir(&p) {
            for f in files.flatten() {
                let name = f.file_name();
                let name = name.to_string_lossy();
                if name.starts_with('.') && name.ends_with(".tmp") {
                    let _ = std::fs::remove_file(f.path());
                }
            }
        }
    }
    if !stopped {
        return e;
    }
    Error::Stopped(format!(
        "stopped by a signal: {} holds no partial output; run the same command again to start over",
        out.display()
    ))
}

/// Removes a folder when dropped, whether the run ended well or not.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if self.0.exists() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// The mix over the records dedup keeps (`items` and `drops` by sequence number).
fn mix_decision(
    mut items: Vec<crate::mix::MixItem>,
    drops: &[crate::dedup::clusters::Removal],
    cfg: &crate::mix::MixConfig,
) -> crate::mix::MixDecision {
    let mut d = drops.iter().map(|d| d.seq).peekable();
    items.retain(|it| {
        while d.peek().is_some_and(|&s| s < it.seq) {
            d.next();
        }
        d.peek() != Some(&it.seq)
    });
    crate::mix::decide(&items, cfg)
}

/// The mix stage's report before it runs.
pub(crate) fn mix_stage_report(mix: &crate::mix::MixConfig) -> StageReport {
    StageReport {
        name: crate::verdict::MIX_STAGE.into(),
        rules: vec![RuleSummary {
            id: crate::verdict::MIX_RULE.into(),
            threshold: format!(
                "sampled (seed {}) to target shares of {} groups by {}",
                mix.seed,
                mix.targets.len(),
                mix.by.name()
            ),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// Applies a dedup decision: routes the staged records (`staged`: in
/// memory, or one folder per task, in order) to kept or rejected, writes the clusters table
/// and the boilerplate lines, and counts it all in the report. With `[lines]
/// strip = true`, the kept records lose their boilerplate lines, decided from
/// `lines` (counted over every task) before any record is routed; the
/// decision above was made on the text as read.
#[allow(clippy::too_many_arguments)]
pub(crate) fn finish_dedup(
    report: &mut Report,
    stage: usize,
    staged: crate::output::staging::Staged,
    decision: &Decision,
    references: u32,
    cfg: &DedupConfig,
    id: &dyn Fn(u32) -> Result<String>,
    kept: &mut BackgroundWriter,
    rejected: &mut BackgroundWriter,
    out: &Path,
    lines: Option<&crate::dedup::boilerplate::LineCounter>,
    mix: Option<(&crate::mix::MixConfig, Vec<crate::mix::MixItem>)>,
) -> Result<()> {
    let mix = mix.map(|(cfg, items)| mix_decision(items, &decision.drops, cfg));
    let file_index: std::collections::HashMap<String, usize> = report
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.path.clone(), i))
        .collect();
    let mut stripper = lines
        .filter(|_| cfg.lines.strip)
        .map(crate::dedup::boilerplate::Stripper::new);
    let mut sink = DedupCounts {
        report,
        stage,
        file_index,
    };
    crate::dedup::route::route(
        staged,
        decision,
        mix.as_ref(),
        references,
        cfg,
        id,
        kept,
        rejected,
        &mut sink,
        stripper.as_mut(),
    )?;
    // Every record is routed: both writers encode their last row groups at
    // once, and while the clusters table is written.
    kept.close();
    rejected.close();
    crate::dedup::clusters::write_clusters(&out.join("dedup").join("clusters.parquet"), decision, id)?;
    if let Some(lc) = lines {
        let lines = lc.report(stripper.as_ref());
        let c = &mut report.stages[stage].counts;
        c.insert("boilerplate_lines".into(), lines.len() as u64);
        if let Some(st) = &stripper {
            c.insert("boilerplate_stripped_records".into(), st.records);
            c.insert("boilerplate_stripped_lines".into(), st.lines_stripped);
            c.insert("boilerplate_unstripped_messages".into(), st.unstripped_messages);
        }
        write_json(&out.join("dedup").join("boilerplate.json"), &lines)?;
    }
    if let Some(m) = mix {
        let input = report.stages[stage].kept;
        let s = &mut report.stages[stage + 1];
        s.input = input;
        s.kept = input - s.dropped;
        report.mix = Some(m.report);
    }
    let s = &mut report.stages[stage];
    s.counts.insert("reference_records".into(), references as u64);
    s.counts.insert("lsh_buckets".into(), decision.buckets);
    s.counts.insert("candidate_pairs".into(), decision.candidate_pairs);
    s.counts.insert("verified_pairs".into(), decision.verified_pairs);
    if cfg.semantic.enabled {
        s.counts
            .insert("semantic_candidate_pairs".into(), decision.semantic_candidates);
        s.counts
            .insert("semantic_verified_pairs".into(), decision.semantic_pairs);
    }
    Ok(())
}

/// Moves records dropped in phase 2 from kept to rejected in the report.
struct DedupCounts<'r> {
    report: &'r mut Report,
    stage: usize,
    file_index: std::collections::HashMap<String, usize>,
}

impl crate::dedup::route::RouteSink for DedupCounts<'_> {
    fn dropped(&mut self, source_file: &str, rule: Option<DropRule>) {
        let r = &mut *self.report;
        if let Some(&i) = self.file_index.get(source_file) {
            r.files[i].counts.kept -= 1;
            r.files[i].counts.rejected += 1;
        }
        r.totals.kept -= 1;
        r.totals.rejected += 1;
        // The mix stage follows dedup; its input is set once routing is done.
        let (stage, id) = match rule {
            Some(rule) => (self.stage, rule.id()),
            None => (self.stage + 1, crate::verdict::MIX_RULE),
        };
        let s = &mut r.stages[stage];
        if rule.is_some() {
            s.kept -= 1;
        }
        s.dropped += 1;
        *s.dropped_per_rule.entry(id.into()).or_default() += 1;
        *s.failed_per_rule.entry(id.into()).or_default() += 1;
    }
}

pub(crate) fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    crate::output::run_folder::write_json_atomic(path, value)
}

pub(crate) fn write_reports(out: &Path, report: &Report) -> Result<()> {
    let dir = out.join("reports");
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    for s in &report.stages {
        write_json(&dir.join(format!("{}.json", s.name)), s)?;
    }
    write_json(&out.join("report.json"), report)?;
    crate::output::html::write(out, report)?;
    let marker: BTreeMap<&str, String> = [
        ("curate_version", report.curate_version.clone()),
        ("rules_hash", report.rules_hash.clone()),
        ("records", report.totals.input.to_string()),
    ]
    .into_iter()
    .collect();
    write_json(&out.join(SUCCESS_MARKER), &marker)
}

/// Counts as a `Counts` (helper for callers that only need totals).
pub fn totals(report: &Report) -> &Counts {
    &report.totals
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A failed run leaves no half-written shard; a stopped one no table.
    #[test]
    fn a_run_that_did_not_finish_leaves_nothing_that_looks_finished() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let out = tmp.path();
        std::fs::create_dir_all(out.join("kept")).expect("mkdir");
        std::fs::write(out.join("kept/.part-00001.parquet.tmp"), "partial").expect("write");
        std::fs::write(out.join("kept/part-00000.parquet"), "done").expect("write");
        let e = after_failure(out, Error::Run("disk full".into()));
        assert_eq!(e.to_string(), "run failed: disk full");
        assert!(!out.join("kept/.part-00001.parquet.tmp").exists());
        assert!(out.join("kept/part-00000.parquet").exists());
        let e = after_failure(out, Error::Stopped("signal".into()));
        assert_eq!(e.exit_code(), 130);
        assert!(e.to_string().contains("holds no partial output"), "{e}");
        assert!(!out.join("kept").exists());
    }
}
