//! Phase 1 of a run over some of the input (files or ranges of lines): read, parse, run the
//! per-record stages, write rejected, malformed and metrics rows, and stage
//! the survivors with their dedup keys (or write them as kept when there is
//! no dedup stage). A local run does this once over every file, writing its
//! final shards directly; a task of a distributed run does it over its share
//! of the files, writing into its own folder ([`crate::distributed`]).

use std::collections::HashSet;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::dedup::boilerplate::LineCounter;
use crate::dedup::state::{Collector, Keys};
use crate::dedup::Engine;
use crate::error::{Error, Result};
use crate::output::diversity::{entry, Diversity};
use crate::output::metrics::MetricsRows;
use crate::output::report::{FileReport, RuleSummary, StageReport};
use crate::output::staging::{Staged, Stager};
use crate::output::{BackgroundWriter, MalformedRows, RecordRows, Rejection, Report, ShardWriter};
use crate::read::{read_file, read_range, ByteRange, InputFile, RawItem, ReadOptions};
use crate::record::{map_record, Origin, Record};
use crate::ruleset::Rules;
use crate::stage::{RecordStage, RuleInfo, StageOutcome};
use crate::text::Lang;
use crate::verdict::DECONTAM;

use super::RunOptions;

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

/// Whether `text` holds a `\uD800`-`\uDFFF` escape (either case).
fn surrogate_escape(text: &str) -> bool {
    text.as_bytes().windows(4).any(|w| {
        w[0] == b'\\'
            && w[1] == b'u'
            && matches!(w[2], b'd' | b'D')
            && matches!(w[3], b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F')
    })
}

fn process(
    item: RawItem,
    file: u32,
    file_key: &str,
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
            // `\ud800` alone: serde_json names the parser's state, not the cause.
            let near = {
                let at = e.column().min(text.len());
                (at.saturating_sub(16)..=at.saturating_sub(16) + 3)
                    .find_map(|from| text.get(from..at))
                    .unwrap_or(&text)
            };
            let msg = if msg.contains("hex escape") && surrogate_escape(near) {
                "a \\uD800-\\uDFFF escape without its pair (a lone UTF-16 surrogate encodes no character)"
            } else {
                msg
            };
            return malformed(
                item.line,
                "invalid-json",
                format!("invalid JSON at column {}: {msg}", e.column()),
                text.into_bytes(),
            );
        }
    };
    let origin = Origin { file, line: item.line };
    let mut rec = match map_record(&rules.adapters, &value, origin, file_key) {
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

fn spawn_reader(
    pieces: Vec<(u32, InputFile, Option<ByteRange>)>,
    opts: ReadOptions,
    batch_records: usize,
    bytes: Arc<AtomicU64>,
    tx: SyncSender<Batch>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        const BATCH_BYTES: usize = 16 << 20;
        for (file, f, range) in &pieces {
            let file = *file;
            let mut items = Vec::with_capacity(batch_records.min(4096));
            let mut size = 0usize;
            let mut alive = true;
            let mut sink = |item: RawItem| {
                size += item.bytes.len();
                items.push(item);
                if items.len() >= batch_records || size >= BATCH_BYTES {
                    size = 0;
                    let full = std::mem::take(&mut items);
                    if tx.send(Batch { file, items: full }).is_err() {
                        alive = false;
                    }
                }
                alive
            };
            match range {
                Some(r) => read_range(f, *r, opts, bytes.clone(), &mut sink),
                None => read_file(f, opts, bytes.clone(), &mut sink),
            }
            if !alive {
                return;
            }
            if !items.is_empty() && tx.send(Batch { file, items }).is_err() {
                return;
            }
        }
    })
}

type ProcessedBatch = (u32, Vec<Processed>);

/// Batches processed at once: while the last records of one batch finish on
/// one thread, the other threads start on the next, instead of waiting at
/// the end of every batch.
const BATCHES_IN_FLIGHT: usize = 2;

#[allow(clippy::too_many_arguments)]
fn spawn_workers(
    rules: Arc<Rules>,
    stage_idx: Vec<usize>,
    file_keys: Arc<Vec<String>>,
    pool: Arc<rayon::ThreadPool>,
    engine: Option<Arc<Engine>>,
    references: u32,
    rx: Receiver<Batch>,
    tx: SyncSender<ProcessedBatch>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let stage_idx = Arc::new(stage_idx);
        // Results are handed on in input order, whichever batch ends first.
        let mut in_flight: std::collections::VecDeque<(u32, Receiver<Vec<Processed>>)> =
            std::collections::VecDeque::new();
        let hand_on = |(file, done): (u32, Receiver<Vec<Processed>>)| match done.recv() {
            Ok(out) => tx.send((file, out)).is_ok(),
            Err(_) => false,
        };
        for batch in rx {
            let (done_tx, done_rx) = sync_channel(1);
            let (rules, stage_idx, file_keys, engine) =
                (rules.clone(), stage_idx.clone(), file_keys.clone(), engine.clone());
            let file = batch.file;
            pool.spawn(move || {
                let file_key = &file_keys[batch.file as usize];
                // Reference corpora only need their dedup keys.
                let stages: Vec<&dyn RecordStage> = if batch.file < references {
                    Vec::new()
                } else {
                    stage_idx.iter().map(|&i| rules.record_stages[i].as_ref()).collect()
                };
                let out: Vec<Processed> = batch
                    .items
                    .into_par_iter()
                    .map(|item| process(item, batch.file, file_key, &rules, &stages, engine.as_deref()))
                    .collect();
                let _ = done_tx.send(out);
            });
            in_flight.push_back((file, done_rx));
            if in_flight.len() >= BATCHES_IN_FLIGHT {
                if let Some(b) = in_flight.pop_front() {
                    if !hand_on(b) {
                        return;
                    }
                }
            }
        }
        while let Some(b) = in_flight.pop_front() {
            if !hand_on(b) {
                return;
            }
        }
    })
}

/// The shard writers of phase 1.
pub(crate) struct Writers {
    pub kept: BackgroundWriter,
    pub rejected: BackgroundWriter,
    pub malformed: ShardWriter,
    kept_rows: RecordRows,
    rejected_rows: RecordRows,
    malformed_rows: MalformedRows,
}

// Buffered rows are written out at these sizes. The check runs after every
// record, so where batches end depends only on the records, never on how
// the input was batched or how many threads processed it; a distributed
// run cuts the same batches from its tasks' rows ([`crate::output::rechunk`]).
use crate::output::rechunk::{FLUSH_BYTES, FLUSH_ROWS};

/// Whether buffered rows make a batch to write out.
fn batch_full(rows: usize, bytes: usize) -> bool {
    rows >= FLUSH_ROWS || bytes >= FLUSH_BYTES
}

impl Writers {
    fn flush(&mut self, all: bool) -> Result<()> {
        let due = |rows: usize, bytes: usize| rows > 0 && (all || batch_full(rows, bytes));
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

pub(crate) fn progress_bar(show: bool, total: u64) -> indicatif::ProgressBar {
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

/// What every part of a run agrees on: the stages, their rules, the dedup
/// engine, the report's layout and the thread pool.
pub(crate) struct Setup {
    pub rules: Arc<Rules>,
    pub stage_idx: Vec<usize>,
    pub rule_ids: Vec<Vec<String>>,
    pub engine: Option<Arc<Engine>>,
    /// The report with every stage and input file and no counts.
    pub template: Report,
    /// Index of the dedup stage in the report.
    pub dedup_stage: usize,
    /// Where the survivor metric of the `best-metric` policy is among the
    /// measured values: (stage, rule).
    pub survivor_metric: Option<(usize, usize)>,
    pub pool: Arc<rayon::ThreadPool>,
    /// Every file in reading order (references first) and how many are references.
    pub files: Vec<InputFile>,
    pub n_ref: u32,
}

impl Setup {
    /// Checks the stages and builds what the run needs for `files`
    /// (`n_ref` reference files first, then the inputs).
    pub fn new(rules: Rules, opts: &RunOptions, files: Vec<InputFile>, n_ref: u32) -> Result<Setup> {
        let dedup_on = super::check_stages(&rules, opts)?;
        let stage_refs = super::select_stages(&rules, &opts.stages)?;
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
        let dedup_stage = stage_reports.len();
        drop(stage_refs);
        let engine = match (&rules.dedup, dedup_on) {
            (Some(cfg), true) => {
                let mut paths = cfg.decontam.benchmarks.clone();
                paths.extend(opts.decontaminate.iter().cloned());
                let index = crate::dedup::decontam::Index::load(&paths, &cfg.decontam, &rules.adapters)?;
                let e = Engine::new(cfg.clone(), index);
                stage_reports.push(super::dedup_stage_report(&e));
                stage_names.push(crate::registry::DEDUP_STAGE.into());
                if let Some(mix) = &rules.mix {
                    stage_reports.push(super::mix_stage_report(mix));
                    stage_names.push(crate::verdict::MIX_STAGE.into());
                }
                Some(Arc::new(e))
            }
            _ => None,
        };
        // `check_stages` made sure the stage measuring it runs.
        let survivor_metric = engine
            .as_ref()
            .and_then(|e| e.cfg.survivor_metric.as_deref())
            .and_then(|m| {
                rule_ids
                    .iter()
                    .enumerate()
                    .find_map(|(s, ids)| ids.iter().position(|id| id == m).map(|r| (s, r)))
            });
        let pool = Arc::new(thread_pool(opts.threads)?);
        let threads = pool.current_num_threads();
        let template = Report {
            curate_version: env!("CARGO_PKG_VERSION").to_string(),
            rules_hash: rules.files.hash(),
            rules_origin: rules.files.origin.clone(),
            stages_run: stage_names,
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
        Ok(Setup {
            rules: Arc::new(rules),
            stage_idx,
            rule_ids,
            engine,
            template,
            dedup_stage,
            survivor_metric,
            pool,
            files,
            n_ref,
        })
    }

    /// Number of per-record stages.
    pub fn record_stages(&self) -> usize {
        self.dedup_stage
    }
}

/// A pool of `threads` workers (0: one per core).
/// The most worker threads per core `--threads` may ask for.
const MAX_THREADS_PER_CORE: usize = 4;

pub(crate) fn thread_pool(threads: usize) -> Result<rayon::ThreadPool> {
    // More threads than 4 per core only add switching and memory (-j 2000
    // took 53 s instead of 0.3 s; -j 100000 never started).
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads > MAX_THREADS_PER_CORE * cores {
        return Err(Error::Usage(format!(
            "--threads {threads} is more than {} ({MAX_THREADS_PER_CORE} per core on this machine's {cores}); 0 uses one per core",
            MAX_THREADS_PER_CORE * cores
        )));
    }
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        threads
    };
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::Run(format!("cannot start {threads} threads: {e}")))
}

/// Where phase 1 writes.
pub(crate) struct Targets {
    /// Folder of `kept/`, `rejected/`, `malformed/` and `metrics/`.
    pub root: PathBuf,
    /// Folder of the staged survivors and the dedup state.
    pub staging: PathBuf,
    /// Intermediate files (fast compression), read back by the `write` step.
    pub scratch: bool,
    /// Band partitions of the dedup state.
    pub partitions: usize,
    /// Where user ids go to be checked for repeats across tasks (`None`:
    /// checked here).
    pub user_ids: Option<PathBuf>,
}

/// The dedup stage's state while phase 1 runs.
pub(crate) struct DedupTask {
    pub collector: Collector,
    staging: Stager,
    /// The staged records, once phase 1 is over.
    pub staged: Option<Staged>,
    /// How many of them went to disk (past the memory budget).
    pub staged_on_disk: u64,
    staging_rows: RecordRows,
    pub reference_malformed: u64,
    pub lines: Option<LineCounter>,
    /// What mixing needs of each staged record (when `mix.toml` is enabled).
    pub mix_items: Vec<crate::mix::MixItem>,
}

/// What phase 1 leaves.
pub(crate) struct TaskOutput {
    pub report: Report,
    pub diversity: Diversity,
    pub stage_nanos: Vec<u64>,
    pub writers: Writers,
    pub dedup: Option<DedupTask>,
    pub bytes_read: u64,
}

/// One line of the user-id file of a task: the id's hash, the input file
/// index, the line and the id.
pub(crate) type UserIdLine = (u64, u32, u64, String);

/// A shard writer of the run's output in `dir`, encoding on `pool`: with
/// the run's codec, or Snappy for the scratch shards of a distributed task.
pub(crate) fn writer(
    dir: &Path,
    schema: arrow::datatypes::SchemaRef,
    opts: &RunOptions,
    scratch: bool,
    pool: &Arc<rayon::ThreadPool>,
) -> Result<ShardWriter> {
    let w = if scratch {
        ShardWriter::scratch(dir, schema, opts.shard_bytes)
    } else {
        ShardWriter::output(dir, schema, opts.shard_bytes, opts.compression)
    };
    Ok(w?.encode_on(pool.clone()))
}

/// A part of the input one task reads: a file (an index into
/// `Setup::files`), whole or a range of its lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Piece {
    pub file: usize,
    pub range: Option<ByteRange>,
}

impl Piece {
    /// Every file, whole.
    pub fn whole_files(n: usize) -> Vec<Piece> {
        (0..n).map(|file| Piece { file, range: None }).collect()
    }
}

/// Runs phase 1 over `pieces` (in input order).
pub(crate) fn run_task(setup: &Setup, opts: &RunOptions, pieces: &[Piece], t: &Targets) -> Result<TaskOutput> {
    let rules = setup.rules.clone();
    let n_ref = setup.n_ref;
    let n_record_stages = setup.record_stages();
    let labels: Arc<Vec<String>> = Arc::new(setup.files.iter().map(|f| f.label.clone()).collect());
    let file_keys: Arc<Vec<String>> = Arc::new(setup.files.iter().map(|f| f.key.clone()).collect());
    let to_read: Vec<(u32, InputFile, Option<ByteRange>)> = pieces
        .iter()
        .map(|p| (p.file as u32, setup.files[p.file].clone(), p.range))
        .collect();
    let total_bytes: u64 = to_read
        .iter()
        .map(|(_, f, r)| match r {
            Some(r) => r.end - r.start,
            None => std::fs::metadata(&f.path).map_or(0, |m| m.len()),
        })
        .sum();
    let mut report = setup.template.clone();
    let mut dd = match &setup.engine {
        Some(e) => Some(DedupTask {
            collector: Collector::partitioned(&t.staging.join("dedup"), &e.cfg, t.partitions)?,
            staging: {
                let dir = t.staging.join("records");
                if t.scratch {
                    let w = BackgroundWriter::spawn(writer(
                        &dir,
                        crate::output::schema::kept_schema(),
                        opts,
                        true,
                        &setup.pool,
                    )?);
                    Stager::on_disk(dir, crate::output::schema::kept_schema(), w)
                } else {
                    Stager::new(e.cfg.staging_budget(), dir, crate::output::schema::kept_schema())
                }
            },
            staged: None,
            staged_on_disk: 0,
            staging_rows: RecordRows::new(false),
            reference_malformed: 0,
            mix_items: Vec::new(),
            lines: e.cfg.lines.enabled.then(|| {
                if t.user_ids.is_some() {
                    LineCounter::for_task(e.cfg.lines.clone())
                } else {
                    LineCounter::new(e.cfg.lines.clone())
                }
            }),
        }),
        None => None,
    };

    let bytes_read = Arc::new(AtomicU64::new(0));
    let (raw_tx, raw_rx) = sync_channel::<Batch>(2);
    let (done_tx, done_rx) = sync_channel::<ProcessedBatch>(2);
    let reader = spawn_reader(
        to_read,
        opts.read,
        opts.batch_records.max(1),
        bytes_read.clone(),
        raw_tx,
    );
    let workers = spawn_workers(
        rules.clone(),
        setup.stage_idx.clone(),
        file_keys.clone(),
        setup.pool.clone(),
        setup.engine.clone(),
        n_ref,
        raw_rx,
        done_tx,
    );

    let rule_ids = &setup.rule_ids;
    let metric_columns: Vec<String> = rule_ids.iter().flatten().cloned().collect();
    let mut metrics_rows = MetricsRows::new(&metric_columns);
    let mut metrics = writer(
        &t.root.join("metrics"),
        metrics_rows.schema(),
        opts,
        t.scratch,
        &setup.pool,
    )?;
    let mut w = Writers {
        kept: BackgroundWriter::spawn(writer(
            &t.root.join("kept"),
            crate::output::schema::kept_schema(),
            opts,
            t.scratch,
            &setup.pool,
        )?),
        rejected: BackgroundWriter::spawn(writer(
            &t.root.join("rejected"),
            crate::output::schema::rejected_schema(),
            opts,
            t.scratch,
            &setup.pool,
        )?),
        malformed: writer(
            &t.root.join("malformed"),
            crate::output::schema::malformed_schema(),
            opts,
            t.scratch,
            &setup.pool,
        )?,
        kept_rows: RecordRows::new(false),
        rejected_rows: RecordRows::new(true),
        malformed_rows: MalformedRows::default(),
    };
    let mut user_ids = match &t.user_ids {
        Some(p) => Some((
            std::io::BufWriter::new(std::fs::File::create(p).map_err(|e| Error::io(p, e))?),
            p.clone(),
        )),
        None => None,
    };
    let pb = progress_bar(opts.progress, total_bytes);
    let mut seen_ids: HashSet<u64> = HashSet::new();
    let mut warned = 0usize;
    let mut failure: Option<Error> = None;
    let mut stage_nanos = vec![0u64; n_record_stages];
    let mut diversity = Diversity::default();

    'batches: for (file, batch) in done_rx {
        let label = labels[file as usize].clone();
        if file < n_ref {
            // A reference corpus: its records only join the dedup state.
            if let Some(d) = dd.as_mut() {
                for p in batch {
                    match (&p.rec, &p.keys) {
                        (Some(rec), Some(keys)) if keys.contaminated.is_none() => {
                            if let Err(e) = d.collector.push_reference(&rec.key, keys) {
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
        for mut p in batch {
            let fr = &mut report.files[fi];
            for (i, n) in p.nanos.iter().enumerate() {
                stage_nanos[i] += n;
            }
            for (stage, name, n) in &p.counts {
                *report.stages[*stage].counts.entry(name.clone()).or_default() += n;
            }
            if let Some(rec) = &p.rec {
                metrics_rows.push(rec, &label, p.lang, &p.values);
                *entry(&mut fr.formats, rec.shape.name()) += 1;
                *entry(&mut report.formats, rec.shape.name()) += 1;
                if rec.user_id {
                    let h = xxhash_rust::xxh3::xxh3_64(rec.id.as_bytes());
                    if let Some((f, path)) = user_ids.as_mut() {
                        let line: UserIdLine = (h, file, rec.origin.line, rec.id.clone());
                        let text = serde_json::to_string(&line).unwrap_or_default();
                        if let Err(e) = writeln!(f, "{text}") {
                            failure = Some(Error::io(&*path, e));
                            break 'batches;
                        }
                    } else if !seen_ids.insert(h) {
                        report.duplicate_ids.repeated_records += 1;
                        if report.duplicate_ids.examples.len() < 10 {
                            report
                                .duplicate_ids
                                .examples
                                .push(format!("{} at {label}:{}", rec.id, rec.origin.line));
                        }
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
                    w.malformed_rows
                        .push(&label, &file_keys[file as usize], line, &error, &raw);
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
                    let rejection = Rejection::rule(
                        &report.stages[stage].name,
                        &ids[first.rule],
                        first.value,
                        first.threshold,
                        first.reason.clone(),
                        outcome.failed.iter().map(|f| ids[f.rule].clone()).collect(),
                    );
                    if let Some(rec) = &p.rec {
                        w.rejected_rows.push(rec, &label, Some(&rejection));
                    }
                }
                // A labeled block, not `continue`: every record must reach the
                // flush check below, or buffered rows would grow without bound.
                Fate::Kept => 'kept: {
                    let Some(rec) = &p.rec else { break 'kept };
                    let (Some(d), Some(engine)) = (dd.as_mut(), setup.engine.as_deref()) else {
                        report.tally_kept(fi);
                        diversity.add(rec, &label);
                        w.kept_rows.push(rec, &label, None);
                        break 'kept;
                    };
                    // Every per-record stage passed it on; the dedup stage decides.
                    let dedup_stage = n_record_stages;
                    let mut keys = p.keys.take().map(|k| *k).unwrap_or_default();
                    keys.metric = setup
                        .survivor_metric
                        .and_then(|(stage, rule)| p.values.get(stage)?.get(rule).copied())
                        .map_or(f32::NAN, |v| v as f32);
                    if let Some(hit) = keys.contaminated {
                        report.tally_rejected(fi, dedup_stage, DECONTAM, std::iter::once(DECONTAM));
                        let item = engine
                            .benchmarks
                            .items
                            .get(hit.item as usize)
                            .cloned()
                            .unwrap_or_default();
                        let rejection =
                            Rejection::decontam(&report.stages[dedup_stage].name, engine.cfg.decontam.ngram, item);
                        w.rejected_rows.push(rec, &label, Some(&rejection));
                        break 'kept;
                    }
                    if let Some(lc) = d.lines.as_mut() {
                        lc.add(rec);
                    }
                    // Kept for now; phase 2 moves the duplicates to rejected.
                    diversity.add(rec, &label);
                    report.tally_kept_through(fi, dedup_stage + 1);
                    let seq = match d.collector.push(&rec.key, &keys) {
                        Ok(seq) => seq,
                        Err(e) => {
                            failure = Some(e);
                            break 'batches;
                        }
                    };
                    if let Some(mix) = &rules.mix {
                        d.mix_items.push(crate::mix::MixItem {
                            seq,
                            id_hash: crate::mix::id_hash(&rec.id),
                            group: crate::mix::group_of(mix, rec.task.as_deref().unwrap_or(""), &rec.tags, &label),
                        });
                    }
                    d.staging_rows.push(rec, &label, None);
                    // Cut by the rule of `rechunk` at the row that reaches it,
                    // so that routing hands these batches on as they are.
                    if batch_full(d.staging_rows.len(), d.staging_rows.bytes()) {
                        if let Err(e) = d.staging.write(d.staging_rows.finish(), d.collector.held_bytes()) {
                            failure = Some(e);
                            break 'batches;
                        }
                    }
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
        pb.set_position(bytes_read.load(Ordering::Relaxed));
        pb.set_message(format!("{} records", report.totals.input));
    }
    // Closing the receiving end stops the workers and then the reader.
    let _ = workers.join();
    let _ = reader.join();
    pb.finish_and_clear();
    if let Some((f, path)) = user_ids.as_mut() {
        if let Err(e) = f.flush() {
            failure.get_or_insert(Error::io(&*path, e));
        }
    }
    if let Some(e) = failure {
        return Err(e);
    }
    w.flush(true)?;
    metrics_rows.flush_into(&mut metrics, true)?;
    metrics.finish()?;
    if let Some(d) = dd.as_mut() {
        if !d.staging_rows.is_empty() {
            d.staging.write(d.staging_rows.finish(), d.collector.held_bytes())?;
        }
        d.staged = Some(d.staging.finish()?);
        d.staged_on_disk = d.staging.spilled_rows();
    }
    report.input_bytes = bytes_read.load(Ordering::Relaxed);
    Ok(TaskOutput {
        report,
        diversity,
        stage_nanos,
        writers: w,
        dedup: dd,
        bytes_read: bytes_read.load(Ordering::Relaxed),
    })
}
