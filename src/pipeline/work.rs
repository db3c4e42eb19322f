//! Reading and processing: a reader thread cuts the input into batches of
//! raw items, and the workers parse, map and run every per-record stage on
//! them in parallel, handing the results on in input order.

use std::sync::atomic::AtomicU64;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;

use crate::dedup::state::Keys;
use crate::dedup::Engine;
use crate::read::{read_file, read_range, ByteRange, InputFile, RawItem, ReadOptions};
use crate::record::{map_record, Origin, Record};
use crate::ruleset::Rules;
use crate::stage::{RecordStage, StageOutcome};
use crate::text::Lang;

pub(crate) struct Batch {
    pub file: u32,
    pub items: Vec<RawItem>,
}

pub(crate) enum Fate {
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

pub(crate) struct Processed {
    pub rec: Option<Record>,
    pub fate: Fate,
    /// Nanoseconds spent in each stage.
    pub nanos: Vec<u64>,
    /// Counters reported by the stages the record went through: (stage, name, n).
    pub counts: Vec<(usize, String, u64)>,
    /// What every rule of every stage measured (`NaN`: not measured).
    pub values: Vec<Vec<f64>>,
    /// The record's language.
    pub lang: Lang,
    /// Dedup keys of a record that passed every per-record stage.
    pub keys: Option<Box<Keys>>,
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
        return malformed(item.line, item.error_kind, e, item.bytes);
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
    let value: serde_json::Value = match crate::record::strict_json::parse(&text) {
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
    let mut p = Processed {
        rec: Some(rec),
        fate,
        nanos,
        counts,
        values,
        lang,
        keys: None,
    };
    match (engine, p.rec.as_mut()) {
        (Some(e), _) => p.add_keys(e),
        // No keys now (a batched stage's records get theirs later, and cut
        // their words again): the words the stages cut are freed.
        (None, Some(rec)) => rec.words.clear(),
        (None, None) => {}
    }
    p
}

impl Processed {
    /// Dedup keys of a record that passed every per-record stage; the
    /// words the stages cut are freed.
    fn add_keys(&mut self, engine: &Engine) {
        if let (Fate::Kept, Some(rec)) = (&self.fate, &self.rec) {
            self.keys = Some(Box::new(engine.keys(rec)));
        }
        if let Some(rec) = self.rec.as_mut() {
            rec.words.clear();
        }
    }

    /// Runs batched stage `i` (its `prepare` done) on a record every earlier
    /// stage kept; a record dropped earlier is not measured by it.
    fn run_batched(&mut self, i: usize, stage: &dyn RecordStage, rules: usize) {
        let (Fate::Kept, Some(rec)) = (&self.fate, self.rec.as_mut()) else {
            if self.rec.is_some() {
                self.values.push(vec![f64::NAN; rules]);
                self.nanos.push(0);
            }
            return;
        };
        let t = Instant::now();
        let mut outcome = stage.process(rec);
        self.nanos.push(t.elapsed().as_nanos() as u64);
        self.values.push(std::mem::take(&mut outcome.values));
        self.counts
            .extend(outcome.counts.drain(..).map(|(name, n)| (i, name, n)));
        if !outcome.failed.is_empty() {
            self.fate = Fate::Rejected { stage: i, outcome };
        }
    }
}

/// The stages run record by record, then those with a batch step: a batch's
/// records go through the first group in parallel, then each batched stage
/// prepares what the records that reach it need (the model stage's calls)
/// and processes them.
fn process_batch(
    items: Vec<RawItem>,
    file: u32,
    file_key: &str,
    rules: &Rules,
    stages: &[&dyn RecordStage],
    engine: Option<&Engine>,
) -> Vec<Processed> {
    let split = stages.iter().position(|s| s.batched()).unwrap_or(stages.len());
    let (each, batched) = stages.split_at(split);
    let first_engine = if batched.is_empty() { engine } else { None };
    let mut out: Vec<Processed> = items
        .into_par_iter()
        .map(|item| process(item, file, file_key, rules, each, first_engine))
        .collect();
    if batched.is_empty() {
        add_semantic(&mut out, engine);
        return out;
    }
    for (j, stage) in batched.iter().enumerate() {
        let i = split + j;
        let recs: Vec<&Record> = out
            .iter()
            .filter(|p| matches!(p.fate, Fate::Kept))
            .filter_map(|p| p.rec.as_ref())
            .collect();
        if !recs.is_empty() {
            stage.prepare(&recs);
        }
        let rules = stage.rules().len();
        out.par_iter_mut().for_each(|p| p.run_batched(i, *stage, rules));
    }
    if let Some(e) = engine {
        out.par_iter_mut().for_each(|p| p.add_keys(e));
    }
    add_semantic(&mut out, engine);
    out
}

/// The semantic dedup keys of a batch's records that have dedup keys,
/// embedded together (a batch of texts keeps the encoder's matrix products
/// large).
fn add_semantic(out: &mut [Processed], engine: Option<&Engine>) {
    let Some(e) = engine.filter(|e| e.semantic.is_some()) else {
        return;
    };
    let mut batch: Vec<(&Record, &mut crate::dedup::Keys)> = out
        .iter_mut()
        .filter_map(|p| match (&p.rec, p.keys.as_mut()) {
            (Some(rec), Some(k)) => Some((rec, &mut **k)),
            _ => None,
        })
        .collect();
    e.add_semantic(&mut batch);
}

pub(crate) fn spawn_reader(
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

pub(crate) type ProcessedBatch = (u32, Vec<Processed>);

/// Batches processed at once: while the last records of one batch finish on
/// one thread, the other threads start on the next, instead of waiting at
/// the end of every batch.
const BATCHES_IN_FLIGHT: usize = 2;

#[allow(clippy::too_many_arguments)]
pub(crate) fn spawn_workers(
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
                let out = process_batch(batch.items, batch.file, file_key, &rules, &stages, engine.as_deref());
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
