//! Phase 2: stream the staging shards to `kept/` or `rejected/` by the
//! decision, in input order, filling the dedup audit columns, and strip the
//! boilerplate lines from the kept records when asked.

use arrow::array::{Array, ArrayRef, BooleanArray, RecordBatch, StringArray};
use arrow::compute::filter_record_batch;

use crate::dedup::boilerplate::Stripper;
use crate::dedup::clusters::{Decision, DropRule, Removal};
use crate::error::{Error, Result};
use crate::mix::{MixDecision, MixVerdict};
use crate::output::rechunk::{Rechunk, Weight, FLUSH_BYTES, FLUSH_ROWS};
use crate::output::schema::{kept_schema, rejected_schema, RejectionCols, RECORD_COLUMNS};
use crate::output::staging::Staged;
use crate::output::BackgroundWriter;
use crate::output::Rejection;
use crate::verdict::DEDUP_STAGE;

/// What routing counted: per source file label, (kept, dropped by rule).
pub trait RouteSink {
    /// One record of `source_file` was dropped by dedup `rule`, or by the
    /// mix (`rule` = `None`).
    fn dropped(&mut self, source_file: &str, rule: Option<DropRule>);
}

/// Why one staged record goes to `rejected`.
enum Gone<'a> {
    Dedup(Removal),
    Mix(&'a MixVerdict),
}

/// Routes every staged record (`staged`: held in memory, or the shards of
/// one folder per task, in order), cut into batches by a rule over the rows
/// alone ([`crate::output::rechunk`]), so that where the staged rows were
/// split does not change the output; `first_seq` is the sequence number of
/// the first staged record (the number of reference records). With
/// `stripper`, kept records lose their boilerplate lines.
#[allow(clippy::too_many_arguments)]
pub fn route(
    staged: Staged,
    decision: &Decision,
    mix: Option<&MixDecision>,
    first_seq: u32,
    cfg: &crate::dedup::DedupConfig,
    id: &dyn Fn(u32) -> Result<String>,
    kept: &mut BackgroundWriter,
    rejected: &mut BackgroundWriter,
    sink: &mut dyn RouteSink,
    mut stripper: Option<&mut Stripper>,
) -> Result<()> {
    let mut seq = first_seq;
    let mut next = decision.drops.iter().peekable();
    let mut mixed = mix.map(|m| m.drops.iter().peekable());
    let pq = |e: &dyn std::fmt::Display| Error::Run(format!("routing staged records: {e}"));
    let mut one = |batch: RecordBatch| -> Result<()> {
        let n = batch.num_rows();
        let mut keep = Vec::with_capacity(n);
        let mut drops = Vec::new();
        for _ in 0..n {
            let by_mix = mixed.as_mut().and_then(|it| it.next_if(|d| d.seq == seq));
            match next.peek() {
                Some(d) if d.seq == seq => {
                    keep.push(false);
                    drops.push(Gone::Dedup(**d));
                    next.next();
                }
                _ => match (by_mix, mix) {
                    (Some(d), Some(m)) => {
                        keep.push(false);
                        drops.push(Gone::Mix(m.verdict(d)));
                    }
                    _ => keep.push(true),
                },
            }
            seq += 1;
        }
        let mut keep_batch = |b: RecordBatch| match stripper.as_deref_mut() {
            Some(s) => kept.write(s.strip_batch(b).map_err(|e| pq(&e))?),
            None => kept.write(b),
        };
        if drops.is_empty() {
            return keep_batch(batch);
        }
        let mask = BooleanArray::from(keep);
        keep_batch(filter_record_batch(&batch, &mask).map_err(|e| pq(&e))?)?;
        let inverse = arrow::compute::not(&mask).map_err(|e| pq(&e))?;
        let gone = filter_record_batch(&batch, &inverse).map_err(|e| pq(&e))?;
        let files = gone
            .column_by_name("source_file")
            .and_then(|c| c.as_any().downcast_ref::<StringArray>())
            .ok_or_else(|| pq(&"staging shard has no source_file column"))?;
        let mut cols = RejectionCols::default();
        for (i, g) in drops.iter().enumerate() {
            let rejection = match g {
                Gone::Mix(v) => {
                    sink.dropped(files.value(i), None);
                    Rejection::mix(v.value, v.threshold, &v.reason)
                }
                Gone::Dedup(d) => {
                    sink.dropped(files.value(i), Some(d.rule));
                    Rejection::duplicate(
                        DEDUP_STAGE,
                        d.rule,
                        id(d.survivor)?,
                        d.similarity,
                        cfg.threshold_of(d.rule),
                    )
                }
            };
            cols.push(&rejection);
        }
        // The record columns as staged, no stripped lines, the decision.
        let cols: Vec<ArrayRef> = gone.columns()[..RECORD_COLUMNS]
            .iter()
            .cloned()
            .chain(std::iter::once(arrow::array::new_null_array(
                gone.schema().field(RECORD_COLUMNS).data_type(),
                gone.num_rows(),
            )))
            .chain(cols.finish())
            .collect();
        let out = RecordBatch::try_new(rejected_schema(), cols).map_err(|e| pq(&e))?;
        rejected.write(out)
    };
    let mut cut = Rechunk::new(kept_schema(), FLUSH_ROWS, FLUSH_BYTES, Weight::Record);
    staged.for_each(&mut |b| cut.push(b, &mut one))?;
    cut.finish(&mut one)?;
    if next.peek().is_some() || mixed.is_some_and(|mut m| m.peek().is_some()) {
        return Err(Error::Run("dedup decided about records that were not staged".into()));
    }
    Ok(())
}
