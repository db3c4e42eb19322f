//! Phase 2: stream the staging shards to `kept/` or `rejected/` by the
//! decision, in input order, filling the dedup audit columns, and strip the
//! boilerplate lines from the kept records when asked.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, Float64Builder, ListBuilder, RecordBatch, StringArray, StringBuilder,
};
use arrow::compute::filter_record_batch;
use arrow::datatypes::{DataType, Field};

use crate::dedup::clusters::{Decision, Drop, DropRule};
use crate::mix::{MixDecision, MixVerdict};

/// The stage of mix rows in `rejected`.
const MIX_STAGE: &str = "mix";
use crate::dedup::boilerplate::Stripper;
use crate::error::{Error, Result};
use crate::output::rechunk::{Rechunk, Weight, FLUSH_BYTES, FLUSH_ROWS};
use crate::output::schema::{kept_schema, rejected_schema, RECORD_COLUMNS};
use crate::output::staging::Staged;
use crate::output::BackgroundWriter;

/// What routing counted: per source file label, (kept, dropped by rule).
pub trait RouteSink {
    /// One record of `source_file` was dropped by dedup `rule`, or by the
    /// mix (`rule` = `None`).
    fn dropped(&mut self, source_file: &str, rule: Option<DropRule>);
}

/// Why one staged record goes to `rejected`.
enum Gone<'a> {
    Dedup(Drop),
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
    threshold: f64,
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
        let mut stage = StringBuilder::new();
        let mut rule = StringBuilder::new();
        let mut value = Float64Builder::new();
        let mut thr = Float64Builder::new();
        let mut reason = StringBuilder::new();
        let mut failed =
            ListBuilder::new(StringBuilder::new()).with_field(Arc::new(Field::new("item", DataType::Utf8, false)));
        let mut dup = StringBuilder::new();
        let mut sim = Float64Builder::new();
        for (i, g) in drops.iter().enumerate() {
            let d = match g {
                Gone::Dedup(d) => d,
                Gone::Mix(v) => {
                    sink.dropped(files.value(i), None);
                    stage.append_value(MIX_STAGE);
                    rule.append_value(crate::mix::RULE_ID);
                    value.append_value(v.value);
                    thr.append_value(v.threshold);
                    reason.append_value(&v.reason);
                    failed.values().append_value(crate::mix::RULE_ID);
                    failed.append(true);
                    dup.append_null();
                    sim.append_null();
                    continue;
                }
            };
            let survivor = id(d.survivor)?;
            sink.dropped(files.value(i), Some(d.rule));
            stage.append_value("dedup");
            rule.append_value(d.rule.id());
            value.append_value(d.similarity);
            let t = match d.rule {
                DropRule::Exact => 1.0,
                DropRule::Near => threshold,
            };
            thr.append_value(t);
            reason.append_value(match d.rule {
                DropRule::Exact => format!("exact duplicate (normalised) of `{survivor}`, which is kept"),
                DropRule::Near => format!(
                    "near-duplicate of `{survivor}` (Jaccard similarity {:.3} >= {threshold}), which is kept",
                    d.similarity
                ),
            });
            failed.values().append_value(d.rule.id());
            failed.append(true);
            dup.append_value(&survivor);
            sim.append_value(d.similarity);
        }
        let mut cols: Vec<ArrayRef> = gone.columns()[..RECORD_COLUMNS].to_vec();
        cols.extend::<[ArrayRef; 8]>([
            Arc::new(stage.finish()),
            Arc::new(rule.finish()),
            Arc::new(value.finish()),
            Arc::new(thr.finish()),
            Arc::new(reason.finish()),
            Arc::new(failed.finish()),
            Arc::new(dup.finish()),
            Arc::new(sim.finish()),
        ]);
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
