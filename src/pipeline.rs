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
//! Batches carry their items in input order and rayon's indexed `collect`
//! keeps that order, so the writer sees records in exactly the order of the
//! sorted inputs whatever the thread count: shard contents are identical for
//! 1 or N threads and for any order the inputs were listed in. Channels are
//! bounded, so at most a few batches are in memory at once: memory does not
//! grow with the corpus.

use std::collections::{BTreeMap, HashSet};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::dedup::clusters::DropRule;
use crate::dedup::state::{Collector, Keys};
use crate::dedup::Engine;
use crate::error::{Error, Result};
use crate::output::metrics::MetricsRows;
use crate::output::report::{Counts, FileReport, RuleSummary, StageReport};
use crate::output::{BackgroundWriter, MalformedRows, RecordRows, Rejection, Report, ShardWriter};
use crate::read::{expand_inputs, read_file, InputFile, RawItem, ReadOptions};
use crate::record::{map_record, Origin, Record};
use crate::rules::Rules;
use crate::stage::{RecordStage, RuleInfo, StageOutcome};
use crate::text::Lang;

/// Options of one run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Files, folders and globs.
    pub inputs: Vec<String>,
    /// The output folder.
    pub out: PathBuf,
    /// Stages to run (all with rules when `None`).
    pub stages: Option<Vec<String>>,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Replace an earlier run in `out`.
    pub overwrite: bool,
    /// Fail the run when more items than this are malformed.
    pub max_malformed: Option<u64>,
    /// Reader limits.
    pub read: ReadOptions,
    /// Rotate shards at about this many bytes.
    pub shard_bytes: u64,
    /// Records per processing batch.
    pub batch_records: usize,
    /// Show a progress bar (only on a terminal).
    pub progress: bool,
    /// Print warnings for the first malformed items.
    pub warn_malformed: usize,
    /// Corpora the inputs are deduplicated against, not written out.
    pub references: Vec<String>,
    /// Benchmark files to decontaminate against (besides those in the rules).
    pub decontaminate: Vec<String>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            inputs: Vec::new(),
            out: PathBuf::from("out"),
            stages: None,
            threads: 0,
            overwrite: false,
            max_malformed: None,
            read: ReadOptions::default(),
            shard_bytes: 256 << 20,
            batch_records: 4096,
            progress: true,
            warn_malformed: 5,
            references: Vec::new(),
            decontaminate: Vec::new(),
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

/// The marker written last: a folder without it holds no complete run.
pub const SUCCESS_MARKER: &str = "_SUCCESS";

struct Batch {
    file: u32,
    items: Vec<RawItem>,
}

enum Fate {
    Kept,
    Rejected {
        stage: usize,
        outcome: StageOutcome,
    },
    Malformed {
        line: u64,
        error: String,
        kind: &'static str,
        raw: Vec<u8>,
    },
}

struct Processed {
    rec: Option<Record>,
    fate: Fate,
    /// Nanoseconds spent in each stage.
    nanos: Vec<u64>,
    /// Counters reported by the stages the record went through: (stage, name, n).
    counts: Vec<(usize, String, u64)>,
    /// What every rule of every stage measured (`NaN`: not measured).
    values: Vec<Vec<f64>>,
    /// The record's language.
    lang: Lang,
    /// Dedup keys of a record that passed every per-record stage.
    keys: Option<Box<Keys>>,
}

fn malformed(line: u64, kind: &'static str, error: String, raw: Vec<u8>) -> Processed {
    Processed {
        rec: None,
        fate: Fate::Malformed { line, error, kind, raw },
        nanos: Vec::new(),
        counts: Vec::new(),
        values: Vec::new(),
        lang: Lang::Other,
        keys: None,
    }
}

/// Classifies reader errors for the report.
fn reader_error_kind(e: &str) -> &'static str {
    if e.contains("larger than the limit") {
        "oversize-record"
    } else if e.contains("empty") || e.contains("no rows") {
        "empty-file"
    } else {
        "unreadable"
    }
}

fn process(
    item: RawItem,
    file: u32,
    label: &str,
    rules: &Rules,
    stages: &[&dyn RecordStage],
    engine: Option<&Engine>,
) -> Processed {
    if let Some(e) = item.error {
        return malformed(item.line, reader_error_kind(&e), e, item.bytes);
    }
    let text = match String::from_utf8(item.bytes) {
        Ok(t) => t,
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            return malformed(
                item.line,
                "invalid-utf8",
                format!("invalid UTF-8 at byte {at} of the record"),
                e.into_bytes(),
            );
        }
    };
    let value: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            let msg = e.to_string();
            let msg = msg.split(" at line ").next().unwrap_or(&msg);
            return malformed(
                item.line,
                "invalid-json",
                format!("invalid JSON at column {}: {msg}", e.column()),
                text.into_bytes(),
            );
        }
    };
    let origin = Origin { file, line: item.line };
    let mut rec = match map_record(&rules.adapters, &value, origin, label) {
        Ok(r) => r,
        Err(e) => {
            let kind = if e.field.is_empty() {
                "unknown-shape"
            } else {
                "bad-field"
            };
            return malformed(item.line, kind, e.message, text.into_bytes());
        }
    };
    drop(value);
    rec.raw = text;
    // Every stage measures every record, so stored metrics can re-decide any
    // rule later; the record is routed by the first stage where a rule fails.
    let lang = rec.lang;
    let mut nanos = Vec::with_capacity(stages.len());
    let mut counts = Vec::new();
    let mut values = Vec::with_capacity(stages.len());
    let mut dropped: Option<(usize, StageOutcome)> = None;
    for (i, stage) in stages.iter().enumerate() {
        let t = Instant::now();
        let mut outcome = stage.process(&mut rec);
        nanos.push(t.elapsed().as_nanos() as u64);
        values.push(std::mem::take(&mut outcome.values));
        if dropped.is_none() {
            counts.extend(outcome.counts.drain(..).map(|(name, n)| (i, name, n)));
            if !outcome.failed.is_empty() {
                dropped = Some((i, outcome));
            }
        }
    }
    let fate = match dropped {
        Some((stage, outcome)) => Fate::Rejected { stage, outcome },
        None => Fate::Kept,
    };
    let keys = match (&fate, engine) {
        (Fate::Kept, Some(e)) => Some(Box::new(e.keys(&rec))),
        _ => None,
    };
    Processed {
        rec: Some(rec),
        fate,
        nanos,
        counts,
        values,
        lang,
        keys,
    }
}

/// Prepares the output folder: refuses to replace an earlier run unless asked.
pub(crate) fn prepare_out(out: &Path, overwrite: bool) -> Result<()> {
    if out.exists() {
        let entries: Vec<String> = std::fs::read_dir(out)
            .map_err(|e| Error::io(out, e))?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        if !entries.is_empty() {
            let ours = entries.iter().any(|e| RUN_ENTRIES.contains(&e.as_str()));
            if !overwrite {
                let what = if ours { "holds an earlier run" } else { "is not empty" };
                return Err(Error::Usage(format!(
                    "{}: output folder {what}; pass --overwrite to replace it",
                    out.display()
                )));
            }
            for e in RUN_ENTRIES {
                let p = out.join(e);
                if p.is_dir() {
                    std::fs::remove_dir_all(&p).map_err(|err| Error::io(&p, err))?;
                } else if p.exists() {
                    std::fs::remove_file(&p).map_err(|err| Error::io(&p, err))?;
                }
            }
        }
    }
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))
}

/// Checks the stages asked for against the rules and options; returns
/// whether the dedup stage runs.
pub(crate) fn check_stages(rules: &Rules, opts: &RunOptions) -> Result<bool> {
    select_stages(rules, &opts.stages)?;
    let dedup_on = rules.dedup.is_some()
        && opts
            .stages
            .as_ref()
            .is_none_or(|w| w.iter().any(|s| s == crate::registry::DEDUP_STAGE));
    if !dedup_on && !opts.references.is_empty() {
        return Err(Error::Usage("--reference needs the dedup stage".into()));
    }
    if !dedup_on && !opts.decontaminate.is_empty() {
        return Err(Error::Usage("--decontaminate needs the dedup stage".into()));
    }
    Ok(dedup_on)
}

/// Picks the stages to run, in pipeline order.
fn select_stages<'r>(rules: &'r Rules, wanted: &Option<Vec<String>>) -> Result<Vec<&'r dyn RecordStage>> {
    let all: Vec<&dyn RecordStage> = rules.record_stages.iter().map(|s| s.as_ref()).collect();
    let Some(wanted) = wanted else {
        return Ok(all);
    };
    let known = crate::registry::all_stages();
    for w in wanted {
        if w == crate::registry::DEDUP_STAGE {
            if rules.dedup.is_none() {
                return Err(Error::Usage("stage `dedup` needs dedup.toml in the rule set".into()));
            }
            continue;
        }
        if !known.contains(&w.as_str()) {
            return Err(Error::Usage(format!(
                "unknown stage `{w}`; stages are: {}",
                known.join(", ")
            )));
        }
        if !all.iter().any(|s| s.name() == w) {
            return Err(Error::Usage(format!(
                "stage `{w}` has no enabled rules in the rule set"
            )));
        }
    }
    Ok(all
        .into_iter()
        .filter(|s| wanted.iter().any(|w| w == s.name()))
        .collect())
}

fn spawn_reader(
    files: Vec<InputFile>,
    opts: ReadOptions,
    batch_records: usize,
    bytes: Arc<AtomicU64>,
    tx: SyncSender<Batch>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        const BATCH_BYTES: usize = 16 << 20;
        for (i, f) in files.iter().enumerate() {
            let mut items = Vec::with_capacity(batch_records.min(4096));
            let mut size = 0usize;
            let mut alive = true;
            read_file(f, opts, bytes.clone(), &mut |item| {
                size += item.bytes.len();
                items.push(item);
                if items.len() >= batch_records || size >= BATCH_BYTES {
                    size = 0;
                    let full = std::mem::take(&mut items);
                    if tx
                        .send(Batch {
                            file: i as u32,
                            items: full,
                        })
                        .is_err()
                    {
                        alive = false;
                    }
                }
                alive
            });
            if !alive {
                return;
            }
            if !items.is_empty() && tx.send(Batch { file: i as u32, items }).is_err() {
                return;
            }
        }
    })
}

type ProcessedBatch = (u32, Vec<Processed>);

#[allow(clippy::too_many_arguments)]
fn spawn_workers(
    rules: Arc<Rules>,
    stage_idx: Vec<usize>,
    labels: Arc<Vec<String>>,
    pool: Arc<rayon::ThreadPool>,
    engine: Option<Arc<Engine>>,
    references: u32,
    rx: Receiver<Batch>,
    tx: SyncSender<ProcessedBatch>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let stages: Vec<&dyn RecordStage> = stage_idx.iter().map(|&i| rules.record_stages[i].as_ref()).collect();
        let engine = engine.as_deref();
        for batch in rx {
            let label = &labels[batch.file as usize];
            // Reference corpora only need their dedup keys.
            let stages: &[&dyn RecordStage] = if batch.file < references { &[] } else { &stages };
            let out: Vec<Processed> = pool.install(|| {
                batch
                    .items
                    .into_par_iter()
                    .map(|item| process(item, batch.file, label, &rules, stages, engine))
                    .collect()
            });
            if tx.send((batch.file, out)).is_err() {
                return;
            }
        }
    })
}

struct Writers {
    kept: BackgroundWriter,
    rejected: BackgroundWriter,
    malformed: ShardWriter,
    kept_rows: RecordRows,
    rejected_rows: RecordRows,
    malformed_rows: MalformedRows,
}

/// Buffered rows are written out at these sizes. The check runs after every
/// record, so where batches end depends only on the records, never on how
/// the input was batched or how many threads processed it.
const FLUSH_BYTES: usize = 8 << 20;
const FLUSH_ROWS: usize = 8192;

impl Writers {
    fn flush(&mut self, all: bool) -> Result<()> {
        let due = |rows: usize, bytes: usize| rows > 0 && (all || rows >= FLUSH_ROWS || bytes >= FLUSH_BYTES);
        if due(self.kept_rows.len(), self.kept_rows.bytes()) {
            self.kept.write(self.kept_rows.finish())?;
        }
        if due(self.rejected_rows.len(), self.rejected_rows.bytes()) {
            self.rejected.write(self.rejected_rows.finish())?;
        }
        if due(self.malformed_rows.len(), self.malformed_rows.bytes()) {
            self.malformed.write(&self.malformed_rows.finish())?;
        }
        Ok(())
    }
}

fn progress_bar(show: bool, total: u64) -> indicatif::ProgressBar {
    if !show || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(total);
    let style = indicatif::ProgressStyle::with_template(
        "{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    pb.set_style(style);
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

/// The dedup stage's report and collector while phase 1 runs.
struct DedupRun {
    engine: Arc<Engine>,
    collector: Collector,
    staging: BackgroundWriter,
    staging_rows: RecordRows,
    /// Index of the dedup stage in the report.
    stage: usize,
    reference_malformed: u64,
    lines: Option<crate::dedup::boilerplate::LineCounter>,
}

fn dedup_stage_report(engine: &Engine) -> StageReport {
    let c = &engine.cfg;
    let mut rules = Vec::new();
    if !engine.benchmarks.is_empty() {
        rules.push(RuleSummary {
            id: "dedup/decontam".into(),
            threshold: format!(
                "shares an n-gram of {} words with one of {} benchmark items",
                c.decontam.ngram,
                engine.benchmarks.items.len()
            ),
        });
    }
    if c.exact.enabled {
        rules.push(RuleSummary {
            id: DropRule::Exact.id().into(),
            threshold: format!("same normalised {:?} key as a kept record", c.exact.key).to_lowercase(),
        });
    }
    if c.near.enabled {
        rules.push(RuleSummary {
            id: DropRule::Near.id().into(),
            threshold: format!(
                "estimated Jaccard >= {} with a kept record ({}-word shingles, {} bands x {} rows)",
                c.near.threshold, c.near.ngram, c.near.bands, c.near.rows
            ),
        });
    }
    StageReport {
        name: crate::registry::DEDUP_STAGE.into(),
        rules,
        ..Default::default()
    }
}

/// Runs the pipeline and writes `out`. Returns the report (already written).
pub fn run(rules: Rules, opts: &RunOptions) -> Result<Report> {
    let started = Instant::now();
    let inputs = expand_inputs(&opts.inputs)?;
    let dedup_on = check_stages(&rules, opts)?;
    let stage_refs = select_stages(&rules, &opts.stages)?;
    let mut stage_names: Vec<String> = stage_refs.iter().map(|s| s.name().to_string()).collect();
    let stage_idx: Vec<usize> = stage_names
        .iter()
        .filter_map(|n| rules.record_stages.iter().position(|s| s.name() == n))
        .collect();
    let infos: Vec<Vec<RuleInfo>> = stage_refs.iter().map(|s| s.rules()).collect();
    let rule_ids: Vec<Vec<String>> = infos.iter().map(|r| r.iter().map(|i| i.id.clone()).collect()).collect();
    let mut stage_reports: Vec<StageReport> = stage_refs
        .iter()
        .zip(&infos)
        .map(|(s, rules)| StageReport {
            name: s.name().to_string(),
            rules: rules
                .iter()
                .map(|r| RuleSummary {
                    id: r.id.clone(),
                    threshold: r.describe(),
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    let n_record_stages = stage_reports.len();
    drop(stage_refs);
    let engine = match (&rules.dedup, dedup_on) {
        (Some(cfg), true) => {
            let mut paths = cfg.decontam.benchmarks.clone();
            paths.extend(opts.decontaminate.iter().cloned());
            let index = crate::dedup::decontam::Index::load(&paths, &cfg.decontam, &rules.adapters)?;
            let e = Engine::new(cfg.clone(), index);
            stage_reports.push(dedup_stage_report(&e));
            stage_names.push(crate::registry::DEDUP_STAGE.into());
            Some(Arc::new(e))
        }
        _ => None,
    };
    let references = if opts.references.is_empty() {
        Vec::new()
    } else {
        expand_inputs(&opts.references)?
    };
    prepare_out(&opts.out, opts.overwrite)?;
    // The rules used travel with the run, so `tune`, `explain` and `apply` see them.
    let snapshot = opts.out.join("rules");
    rules.files.write_to(&snapshot).map_err(|e| Error::io(&snapshot, e))?;

    let threads = if opts.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        opts.threads
    };
    let pool = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| Error::Run(format!("cannot start {threads} threads: {e}")))?,
    );
    let n_ref = references.len() as u32;
    let files: Vec<InputFile> = references.into_iter().chain(inputs).collect();
    let total_bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(&f.path).map_or(0, |m| m.len()))
        .sum();
    let labels: Arc<Vec<String>> = Arc::new(files.iter().map(|f| f.label.clone()).collect());
    let mut report = Report {
        curate_version: env!("CARGO_PKG_VERSION").to_string(),
        rules_hash: rules.files.hash(),
        rules_origin: rules.files.origin.clone(),
        stages_run: stage_names.clone(),
        threads,
        stages: stage_reports,
        files: files[n_ref as usize..]
            .iter()
            .map(|f| FileReport {
                path: f.label.clone(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    let staging_dir = opts.out.join(".staging");
    let mut dd = match &engine {
        Some(e) => Some(DedupRun {
            engine: e.clone(),
            collector: Collector::new(&staging_dir.join("dedup"), &e.cfg)?,
            staging: BackgroundWriter::spawn(ShardWriter::scratch(
                &staging_dir.join("records"),
                crate::output::schema::kept_schema(),
                opts.shard_bytes,
            )?),
            staging_rows: RecordRows::new(false),
            stage: n_record_stages,
            reference_malformed: 0,
            lines: e
                .cfg
                .lines
                .enabled
                .then(|| crate::dedup::boilerplate::LineCounter::new(e.cfg.lines.clone())),
        }),
        None => None,
    };

    let bytes_read = Arc::new(AtomicU64::new(0));
    let (raw_tx, raw_rx) = sync_channel::<Batch>(2);
    let (done_tx, done_rx) = sync_channel::<ProcessedBatch>(2);
    let reader = spawn_reader(files, opts.read, opts.batch_records.max(1), bytes_read.clone(), raw_tx);
    let rules = Arc::new(rules);
    let workers = spawn_workers(
        rules.clone(),
        stage_idx,
        labels.clone(),
        pool.clone(),
        engine.clone(),
        n_ref,
        raw_rx,
        done_tx,
    );

    let metric_columns: Vec<String> = rule_ids.iter().flatten().cloned().collect();
    let mut metrics_rows = MetricsRows::new(&metric_columns);
    let mut metrics = ShardWriter::new(&opts.out.join("metrics"), metrics_rows.schema(), opts.shard_bytes)?;
    let mut w = Writers {
        kept: BackgroundWriter::spawn(ShardWriter::new(
            &opts.out.join("kept"),
            crate::output::schema::kept_schema(),
            opts.shard_bytes,
        )?),
        rejected: BackgroundWriter::spawn(ShardWriter::new(
            &opts.out.join("rejected"),
            crate::output::schema::rejected_schema(),
            opts.shard_bytes,
        )?),
        malformed: ShardWriter::new(
            &opts.out.join("malformed"),
            crate::output::schema::malformed_schema(),
            opts.shard_bytes,
        )?,
        kept_rows: RecordRows::new(false),
        rejected_rows: RecordRows::new(true),
        malformed_rows: MalformedRows::default(),
    };
    let pb = progress_bar(opts.progress, total_bytes);
    let mut seen_ids: HashSet<u64> = HashSet::new();
    let mut warned = 0usize;
    let mut failure: Option<Error> = None;
    let mut stage_nanos = vec![0u64; n_record_stages];
    let mut diversity = crate::output::diversity::Diversity::default();

    'batches: for (file, batch) in done_rx {
        let label = labels[file as usize].clone();
        if file < n_ref {
            // A reference corpus: its records only join the dedup state.
            if let Some(d) = dd.as_mut() {
                for p in batch {
                    match (&p.rec, &p.keys) {
                        (Some(rec), Some(keys)) if keys.contaminated.is_none() => {
                            if let Err(e) = d.collector.push_reference(&rec.id, keys) {
                                failure = Some(e);
                                break 'batches;
                            }
                        }
                        _ => d.reference_malformed += 1,
                    }
                }
            }
            continue;
        }
        let fi = (file - n_ref) as usize;
        for p in batch {
            let fr = &mut report.files[fi];
            for (i, n) in p.nanos.iter().enumerate() {
                stage_nanos[i] += n;
            }
            for (stage, name, n) in &p.counts {
                *report.stages[*stage].counts.entry(name.clone()).or_default() += n;
            }
            if let Some(rec) = &p.rec {
                metrics_rows.push(rec, &label, p.lang, &p.values);
                *fr.formats.entry(rec.shape.name().to_string()).or_default() += 1;
                *report.formats.entry(rec.shape.name().to_string()).or_default() += 1;
                if rec.user_id && !seen_ids.insert(xxhash_rust::xxh3::xxh3_64(rec.id.as_bytes())) {
                    report.duplicate_ids.repeated_records += 1;
                    if report.duplicate_ids.examples.len() < 10 {
                        report
                            .duplicate_ids
                            .examples
                            .push(format!("{} at {label}:{}", rec.id, rec.origin.line));
                    }
                }
            }
            match p.fate {
                Fate::Malformed { line, error, kind, raw } => {
                    report.tally_malformed(fi, kind);
                    if warned < opts.warn_malformed {
                        pb.suspend(|| eprintln!("warning: {label}:{line}: {error} (quarantined in malformed/)"));
                        warned += 1;
                    }
                    w.malformed_rows.push(&label, line, &error, &raw);
                    if let Some(max) = opts.max_malformed {
                        if report.totals.malformed > max {
                            failure = Some(Error::Run(format!(
                                "more than {max} malformed records (--max-malformed); last one at {label}:{line}: {error}"
                            )));
                            break 'batches;
                        }
                    }
                }
                Fate::Rejected { stage, outcome } => {
                    let ids = &rule_ids[stage];
                    let first = &outcome.failed[0];
                    report.tally_rejected(
                        fi,
                        stage,
                        &ids[first.rule],
                        outcome.failed.iter().map(|f| ids[f.rule].as_str()),
                    );
                    let rejection = Rejection {
                        stage: report.stages[stage].name.clone(),
                        rule: ids[first.rule].clone(),
                        value: Some(first.value),
                        threshold: Some(first.threshold),
                        reason: first.reason.clone(),
                        failed_rules: outcome.failed.iter().map(|f| ids[f.rule].clone()).collect(),
                        duplicate_of: None,
                        similarity: None,
                    };
                    if let Some(rec) = &p.rec {
                        w.rejected_rows.push(rec, &label, Some(&rejection));
                    }
                }
                // A labeled block, not `continue`: every record must reach the
                // flush check below, or buffered rows would grow without bound.
                Fate::Kept => 'kept: {
                    let Some(rec) = &p.rec else { break 'kept };
                    let Some(d) = dd.as_mut() else {
                        report.tally_kept(fi);
                        diversity.add(rec, &label);
                        w.kept_rows.push(rec, &label, None);
                        break 'kept;
                    };
                    // Every per-record stage passed it on; the dedup stage decides.
                    fr.counts.input += 1;
                    report.totals.input += 1;
                    for s in &mut report.stages[..n_record_stages] {
                        s.input += 1;
                        s.kept += 1;
                    }
                    let s = &mut report.stages[d.stage];
                    s.input += 1;
                    let keys = p.keys.as_deref().cloned().unwrap_or_default();
                    if let Some(hit) = keys.contaminated {
                        s.dropped += 1;
                        *s.dropped_per_rule.entry("dedup/decontam".into()).or_default() += 1;
                        *s.failed_per_rule.entry("dedup/decontam".into()).or_default() += 1;
                        fr.counts.rejected += 1;
                        report.totals.rejected += 1;
                        let item = d
                            .engine
                            .benchmarks
                            .items
                            .get(hit.item as usize)
                            .cloned()
                            .unwrap_or_default();
                        let rejection = Rejection {
                            stage: s.name.clone(),
                            rule: "dedup/decontam".into(),
                            value: None,
                            threshold: Some(d.engine.cfg.decontam.ngram as f64),
                            reason: format!(
                                "contains a {}-word n-gram of benchmark item {item}",
                                d.engine.cfg.decontam.ngram
                            ),
                            failed_rules: vec!["dedup/decontam".into()],
                            duplicate_of: Some(item),
                            similarity: None,
                        };
                        w.rejected_rows.push(rec, &label, Some(&rejection));
                        break 'kept;
                    }
                    if let Some(lc) = d.lines.as_mut() {
                        lc.add(rec);
                    }
                    // Kept for now; phase 2 moves the duplicates to rejected.
                    diversity.add(rec, &label);
                    s.kept += 1;
                    fr.counts.kept += 1;
                    report.totals.kept += 1;
                    if let Err(e) = d.collector.push(&rec.id, &keys) {
                        failure = Some(e);
                        break 'batches;
                    }
                    d.staging_rows.push(rec, &label, None);
                }
            }
            if let Err(e) = w
                .flush(false)
                .and_then(|_| metrics_rows.flush_into(&mut metrics, false))
            {
                failure = Some(e);
                break 'batches;
            }
        }
        if let Some(d) = dd.as_mut() {
            if d.staging_rows.bytes() >= FLUSH_BYTES {
                if let Err(e) = d.staging.write(d.staging_rows.finish()) {
                    failure = Some(e);
                    break;
                }
            }
        }
        pb.set_position(bytes_read.load(Ordering::Relaxed));
        pb.set_message(format!("{} records", report.totals.input));
    }
    // Closing the receiving end stops the workers and then the reader.
    let _ = workers.join();
    let _ = reader.join();
    pb.finish_and_clear();
    if let Some(e) = failure {
        return Err(e);
    }
    w.flush(true)?;
    metrics_rows.flush_into(&mut metrics, true)?;
    metrics.finish()?;
    if let Some(mut d) = dd {
        let t = Instant::now();
        if !d.staging_rows.is_empty() {
            d.staging.write(d.staging_rows.finish())?;
        }
        d.staging.finish()?;
        let n = d.collector.len();
        let (spilled, runs) = d.collector.spill_stats();
        let (collected, ids_file) = d.collector.finish()?;
        let references = collected.references;
        let decision = crate::dedup::clusters::decide(collected, n, &d.engine.cfg, &pool)?;
        let id = |s: u32| ids_file.get(s);
        let file_index: std::collections::HashMap<String, usize> = report
            .files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.path.clone(), i))
            .collect();
        let mut sink = DedupCounts {
            report: &mut report,
            stage: d.stage,
            file_index,
        };
        crate::dedup::route::route(
            &staging_dir.join("records"),
            &decision,
            references,
            d.engine.cfg.near.threshold,
            &id,
            &mut w.kept,
            &mut w.rejected,
            &mut sink,
        )?;
        crate::dedup::clusters::write_clusters(&opts.out.join("dedup").join("clusters.parquet"), &decision, &id)?;
        if let Some(lc) = &d.lines {
            let lines = lc.report();
            report.stages[d.stage]
                .counts
                .insert("boilerplate_lines".into(), lines.len() as u64);
            write_json(&opts.out.join("dedup").join("boilerplate.json"), &lines)?;
        }
        let s = &mut report.stages[d.stage];
        s.counts.insert("reference_records".into(), references as u64);
        s.counts.insert("reference_unreadable".into(), d.reference_malformed);
        s.counts.insert("lsh_buckets".into(), decision.buckets);
        s.counts.insert("candidate_pairs".into(), decision.candidate_pairs);
        s.counts.insert("verified_pairs".into(), decision.verified_pairs);
        s.counts.insert("band_entries_spilled".into(), spilled);
        s.counts.insert("band_runs".into(), runs as u64);
        s.cpu_seconds = t.elapsed().as_secs_f64();
        drop(ids_file);
        std::fs::remove_dir_all(&staging_dir).map_err(|e| Error::io(&staging_dir, e))?;
    }
    w.kept.finish()?;
    w.rejected.finish()?;
    w.malformed.finish()?;

    for (s, n) in report.stages.iter_mut().zip(stage_nanos) {
        s.cpu_seconds = n as f64 / 1e9;
    }
    report.diversity = Some(diversity.finish());
    report.input_bytes = bytes_read.load(Ordering::Relaxed);
    report.seconds = started.elapsed().as_secs_f64();
    report.verify().map_err(Error::Run)?;
    write_reports(&opts.out, &report)?;
    Ok(report)
}

/// Moves records dropped in phase 2 from kept to rejected in the report.
struct DedupCounts<'r> {
    report: &'r mut Report,
    stage: usize,
    file_index: std::collections::HashMap<String, usize>,
}

impl crate::dedup::route::RouteSink for DedupCounts<'_> {
    fn dropped(&mut self, source_file: &str, rule: DropRule) {
        let r = &mut *self.report;
        if let Some(&i) = self.file_index.get(source_file) {
            r.files[i].counts.kept -= 1;
            r.files[i].counts.rejected += 1;
        }
        r.totals.kept -= 1;
        r.totals.rejected += 1;
        let s = &mut r.stages[self.stage];
        s.kept -= 1;
        s.dropped += 1;
        *s.dropped_per_rule.entry(rule.id().into()).or_default() += 1;
        *s.failed_per_rule.entry(rule.id().into()).or_default() += 1;
    }
}

fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::Run(format!("cannot encode {}: {e}", path.display())))?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text + "\n").map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
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
