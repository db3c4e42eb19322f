//! Phase 1 of a run over some of the input (files or ranges of lines): read, parse, run the
//! per-record stages, write rejected, malformed and metrics rows, and stage
//! the survivors with their dedup keys (or write them as kept when there is
//! no dedup stage). A local run does this once over every file, writing its
//! final shards directly; a task of a distributed run does it over its share
//! of the files, writing into its own folder ([`crate::distributed`]).

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::Arc;

use crate::dedup::boilerplate::LineCounter;
use crate::dedup::state::Collector;
use crate::error::{Error, Result};
use crate::output::diversity::{update, Diversity};
use crate::output::metrics::MetricsRows;
use crate::output::staging::{Staged, Stager};
use crate::output::{BackgroundWriter, MalformedRows, RecordRows, Rejection, Report, ShardWriter};
use crate::read::{ByteRange, InputFile};
use crate::record::Record;
use crate::stage::StageOutcome;
use crate::verdict::DECONTAM;

pub(crate) use super::setup::{progress_bar, thread_pool, writer, Piece, Setup};
use super::work::{spawn_reader, spawn_workers, Batch, Fate, Processed, ProcessedBatch};
use super::RunOptions;

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
    /// The run's output folder, and this writer's name in what stages keep
    /// there across runs ([`crate::stage::RecordStage::attach`]).
    pub out: PathBuf,
    pub writer: String,
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
use crate::output::rechunk::batch_full;

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

/// Runs phase 1 over `pieces` (in input order).
pub(crate) fn run_task(setup: &Setup, opts: &RunOptions, pieces: &[Piece], t: &Targets) -> Result<TaskOutput> {
    let rules = setup.rules.clone();
    let n_ref = setup.n_ref;
    let n_record_stages = setup.record_stages();
    let _labels: Arc<Vec<String>> = Arc::new(setup.files.iter().map(|f| f.label.clone()).collect());
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
    let _report = setup.template.clone();
    let dd = match &setup.engine {
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

    for &i in setup.stage_idx.iter() {
        rules.record_stages[i].attach(&t.out, &t.writer)?;
    }
    let bytes_read = Arc::new(AtomicU64::new(0));
    let (raw_tx, raw_rx) = sync_channel::<Batch>(2);
    let (done_tx, done_rx) = sync_channel::<ProcessedBatch>(2);
    let reader = spawn_reader(
        to_read,
        opts.settings.read(),
        opts.settings.batch_records.max(1),
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

    let metric_columns: Vec<String> = setup.rule_ids.iter().flatten().cloned().collect();
    let metrics_rows = MetricsRows::new(&metric_columns);
    let metrics = writer(
        &t.root.join("metrics"),
        metrics_rows.schema(),
        opts,
        t.scratch,
        &setup.pool,
    )?;
    let shard = |name: &str, schema| writer(&t.root.join(name), schema, opts, t.scratch, &setup.pool);
    let w = Writers {
        // With dedup, kept records are written after phase 1, when the pool
        // has nothing else to do.
        kept: BackgroundWriter::spawn({
            let w = shard("kept", crate::output::schema::kept_schema())?;
            if setup.engine.is_some() {
                w.columns_side_by_side()
            } else {
                w
            }
        }),
        rejected: BackgroundWriter::spawn(shard("rejected", crate::output::schema::rejected_schema())?),
        malformed: shard("malformed", crate::output::schema::malformed_schema())?,
        kept_rows: RecordRows::new(false),
        rejected_rows: RecordRows::new(true),
        malformed_rows: MalformedRows::default(),
    };
    let user_ids = match &t.user_ids {
        Some(p) => Some((
            std::io::BufWriter::new(std::fs::File::create(p).map_err(|e| Error::io(p, e))?),
            p.clone(),
        )),
        None => None,
    };
    let mut sink = Sink {
        setup,
        opts,
        report: setup.template.clone(),
        w,
        metrics_rows,
        metrics,
        dd,
        diversity: Diversity::default(),
        user_ids,
        seen_ids: HashSet::new(),
        warned: 0,
        stage_nanos: vec![0u64; n_record_stages],
        pb: progress_bar(opts.progress, total_bytes),
    };
    let mut failure: Option<Error> = None;
    for (file, batch) in done_rx {
        if let Err(e) = sink.batch(file, batch) {
            failure = Some(e);
            break;
        }
        sink.pb.set_position(bytes_read.load(Ordering::Relaxed));
        sink.pb.set_message(format!("{} records", sink.report.totals.input));
    }
    // Closing the receiving end stops the workers and then the reader.
    let _ = workers.join();
    let _ = reader.join();
    sink.pb.finish_and_clear();
    if let Some((f, path)) = sink.user_ids.as_mut() {
        if let Err(e) = f.flush() {
            failure.get_or_insert(Error::io(&*path, e));
        }
    }
    if let Some(e) = failure {
        return Err(e);
    }
    for (at, &i) in setup.stage_idx.iter().enumerate() {
        let stage = &rules.record_stages[i];
        if let Some(e) = stage.fatal() {
            return Err(Error::Run(e));
        }
        for (name, n) in stage.run_counts() {
            *sink.report.stages[at].counts.entry(name).or_default() += n;
        }
    }
    sink.finish(bytes_read.load(Ordering::Relaxed))
}

/// The writing end of phase 1: takes each processed record, in input order,
/// to its fate (one method each), counts it in the report and writes its rows.
struct Sink<'a> {
    setup: &'a Setup,
    opts: &'a RunOptions,
    report: Report,
    w: Writers,
    metrics_rows: MetricsRows,
    metrics: ShardWriter,
    dd: Option<DedupTask>,
    diversity: Diversity,
    user_ids: Option<(std::io::BufWriter<std::fs::File>, PathBuf)>,
    seen_ids: HashSet<u64>,
    warned: usize,
    stage_nanos: Vec<u64>,
    pb: indicatif::ProgressBar,
}

impl Sink<'_> {
    /// One processed batch of input file `file`.
    fn batch(&mut self, file: u32, batch: Vec<Processed>) -> Result<()> {
        super::stop::check()?;
        if file < self.setup.n_ref {
            return self.reference(batch);
        }
        let label = self.setup.files[file as usize].label.clone();
        for p in batch {
            self.record(file, &label, p)?;
            // Every record reaches this check, or buffered rows would grow
            // without bound.
            self.w.flush(false)?;
            self.metrics_rows.flush_into(&mut self.metrics, false)?;
        }
        Ok(())
    }

    /// A reference corpus: its records only join the dedup state.
    fn reference(&mut self, batch: Vec<Processed>) -> Result<()> {
        let Some(d) = self.dd.as_mut() else { return Ok(()) };
        for p in batch {
            match (&p.rec, &p.keys) {
                (Some(rec), Some(keys)) if keys.contaminated.is_none() => {
                    d.collector.push_reference(&rec.key, keys)?;
                }
                _ => d.reference_malformed += 1,
            }
        }
        Ok(())
    }

    fn record(&mut self, file: u32, label: &str, mut p: Processed) -> Result<()> {
        let fi = (file - self.setup.n_ref) as usize;
        for (i, n) in p.nanos.iter().enumerate() {
            self.stage_nanos[i] += n;
        }
        for (stage, name, n) in &p.counts {
            *self.report.stages[*stage].counts.entry(name.clone()).or_default() += n;
        }
        if let Some(rec) = &p.rec {
            self.metrics_rows.push(rec, label, p.lang, &p.values);
            update(&mut self.report.files[fi].formats, rec.shape.name(), |n| *n += 1);
            update(&mut self.report.formats, rec.shape.name(), |n| *n += 1);
            if rec.user_id {
                self.user_id(file, label, rec)?;
            }
        }
        match std::mem::replace(&mut p.fate, Fate::Kept) {
            Fate::Malformed { line, error, kind, raw } => self.malformed(file, label, line, &error, kind, &raw),
            Fate::Rejected { stage, outcome } => {
                if let Some(rec) = &p.rec {
                    self.rejected(fi, label, rec, stage, &outcome);
                }
                Ok(())
            }
            Fate::Kept => match p.rec.take() {
                Some(rec) => self.kept(fi, label, &rec, &mut p),
                None => Ok(()),
            },
        }
    }

    /// A record with a user-given id: checked for repeats here, or written
    /// for the distributed run to check across tasks.
    fn user_id(&mut self, file: u32, label: &str, rec: &Record) -> Result<()> {
        let h = xxhash_rust::xxh3::xxh3_64(rec.id.as_bytes());
        if let Some((f, path)) = self.user_ids.as_mut() {
            let line: UserIdLine = (h, file, rec.origin.line, rec.id.clone());
            let text = serde_json::to_string(&line).unwrap_or_default();
            return writeln!(f, "{text}").map_err(|e| Error::io(&*path, e));
        }
        if !self.seen_ids.insert(h) {
            let d = &mut self.report.duplicate_ids;
            d.repeated_records += 1;
            if d.examples.len() < 10 {
                d.examples.push(format!("{} at {label}:{}", rec.id, rec.origin.line));
            }
        }
        Ok(())
    }

    fn malformed(
        &mut self,
        file: u32,
        label: &str,
        line: u64,
        error: &str,
        kind: &'static str,
        raw: &[u8],
    ) -> Result<()> {
        let fi = (file - self.setup.n_ref) as usize;
        self.report.tally_malformed(fi, kind);
        if self.warned < self.opts.warn_malformed {
            self.pb
                .suspend(|| eprintln!("warning: {label}:{line}: {error} (quarantined in malformed/)"));
            self.warned += 1;
        }
        let file_key = &self.setup.files[file as usize].key;
        self.w.malformed_rows.push(label, file_key, line, error, raw);
        match self.opts.settings.max_malformed {
            Some(max) if self.report.totals.malformed > max => Err(Error::Run(format!(
                "more than {max} malformed records (--max-malformed); last one at {label}:{line}: {error}"
            ))),
            _ => Ok(()),
        }
    }

    /// A per-record stage dropped it: its first failing rule decides.
    fn rejected(&mut self, fi: usize, label: &str, rec: &Record, stage: usize, outcome: &StageOutcome) {
        let ids = &self.setup.rule_ids[stage];
        let first = &outcome.failed[0];
        self.report.tally_rejected(
            fi,
            stage,
            &ids[first.rule],
            outcome.failed.iter().map(|f| ids[f.rule].as_str()),
        );
        let rejection = Rejection::rule(
            &self.report.stages[stage].name,
            &ids[first.rule],
            first.value,
            first.threshold,
            first.reason.clone(),
            outcome.failed.iter().map(|f| ids[f.rule].clone()).collect(),
        );
        self.w.rejected_rows.push(rec, label, Some(&rejection));
    }

    /// Every per-record stage passed it on: kept, or, with a dedup stage,
    /// dropped as contaminated or staged for the dedup decision.
    fn kept(&mut self, fi: usize, label: &str, rec: &Record, p: &mut Processed) -> Result<()> {
        let (Some(d), Some(engine)) = (self.dd.as_mut(), self.setup.engine.as_deref()) else {
            self.report.tally_kept(fi);
            self.diversity.add(rec, label);
            self.w.kept_rows.push(rec, label, None);
            return Ok(());
        };
        let dedup_stage = self.setup.record_stages();
        let mut keys = p.keys.take().map(|k| *k).unwrap_or_default();
        keys.metric = self
            .setup
            .survivor_metric
            .and_then(|(stage, rule)| p.values.get(stage)?.get(rule).copied())
            .map_or(f32::NAN, |v| v as f32);
        if let Some(hit) = keys.contaminated {
            self.report
                .tally_rejected(fi, dedup_stage, DECONTAM, std::iter::once(DECONTAM));
            let item = engine
                .benchmarks
                .items
                .get(hit.item as usize)
                .cloned()
                .unwrap_or_default();
            let rejection = Rejection::decontam(&self.report.stages[dedup_stage].name, engine.cfg.decontam.ngram, item);
            self.w.rejected_rows.push(rec, label, Some(&rejection));
            return Ok(());
        }
        if let Some(lc) = d.lines.as_mut() {
            lc.add(rec);
        }
        // Kept for now; phase 2 moves the duplicates to rejected.
        self.diversity.add(rec, label);
        self.report.tally_kept_through(fi, dedup_stage + 1);
        let seq = d.collector.push(&rec.key, &keys)?;
        if let Some(mix) = &self.setup.rules.mix {
            d.mix_items.push(crate::mix::MixItem {
                seq,
                id_hash: crate::mix::id_hash(&rec.id),
                group: crate::mix::group_of(mix, rec.task.as_deref().unwrap_or(""), &rec.tags, label),
            });
        }
        d.staging_rows.push(rec, label, None);
        // Cut by the rule of `rechunk` at the row that reaches it, so that
        // routing hands these batches on as they are.
        if batch_full(d.staging_rows.len(), d.staging_rows.bytes()) {
            d.staging.write(d.staging_rows.finish(), d.collector.held_bytes())?;
        }
        Ok(())
    }

    /// Writes what is buffered and hands phase 1's results on.
    fn finish(mut self, bytes_read: u64) -> Result<TaskOutput> {
        self.w.flush(true)?;
        self.metrics_rows.flush_into(&mut self.metrics, true)?;
        self.metrics.finish()?;
        if let Some(d) = self.dd.as_mut() {
            if !d.staging_rows.is_empty() {
                d.staging.write(d.staging_rows.finish(), d.collector.held_bytes())?;
            }
            d.staged = Some(d.staging.finish()?);
            d.staged_on_disk = d.staging.spilled_rows();
        }
        self.report.input_bytes = bytes_read;
        Ok(TaskOutput {
            report: self.report,
            diversity: self.diversity,
            stage_nanos: self.stage_nanos,
            writers: self.w,
            dedup: self.dd,
            bytes_read,
        })
    }
}
