//! Records staged between the two passes of a dedup run.
//!
//! Phase 1 stages every record that reaches the dedup stage; phase 2 routes
//! them to `kept/` or `rejected/` once the decision is made. A [`Stager`]
//! holds the staged batches in memory while they and the dedup state held
//! in memory fit in its budget (half the dedup memory budget, the share the
//! dedup state has on its own), so a corpus that fits is never written to
//! disk and read back. Past the budget it writes every batch held so far, and
//! every later one, to its spill sink (an Arrow IPC file in `.staging`), in
//! order, and frees them. Either way phase 2 sees the same batches in the
//! same order, so the output does not depend on where the budget fell.
//!
//! A distributed task stages to files from the start ([`Stager::on_disk`]):
//! the `write` step, another process, reads them.

use std::path::PathBuf;

use arrow::array::RecordBatch;

use crate::error::{Error, Result};
use crate::output::rechunk::read_dirs;
use arrow::datatypes::SchemaRef;

use crate::output::shard::{data_bytes, BackgroundWriter, IpcStaging};

/// Where the staged records are once phase 1 is over.
#[derive(Debug)]
pub enum Staged {
    /// Held in memory, in order.
    Held(Vec<RecordBatch>),
    /// In the shards of these folders (one per task, in order).
    Dirs(Vec<PathBuf>),
}

impl Staged {
    /// Calls `f` with every staged batch, in order; held batches are freed as
    /// they go.
    pub fn for_each(self, f: &mut dyn FnMut(RecordBatch) -> Result<()>) -> Result<()> {
        match self {
            Staged::Held(batches) => batches.into_iter().try_for_each(f),
            Staged::Dirs(dirs) => read_dirs(&dirs, f),
        }
    }
}

/// Holds staged batches up to a budget (shared with other state), then
/// spills them to disk.
pub struct Stager {
    held: Vec<RecordBatch>,
    held_bytes: usize,
    budget: usize,
    /// The folder the records go to past the budget.
    dir: PathBuf,
    /// The schema of the staged batches.
    schema: SchemaRef,
    spill: Option<BackgroundWriter>,
    spilled_rows: u64,
}

impl Stager {
    /// A stager holding up to `budget` bytes of Arrow data in memory; past
    /// that, every batch goes to an Arrow IPC file in `dir`.
    pub fn new(budget: usize, dir: PathBuf, schema: SchemaRef) -> Self {
        Stager {
            held: Vec::new(),
            held_bytes: 0,
            budget,
            dir,
            schema,
            spill: None,
            spilled_rows: 0,
        }
    }

    /// A stager that writes every batch to `sink` (writing into `dir`)
    /// from the start.
    pub fn on_disk(dir: PathBuf, schema: SchemaRef, sink: BackgroundWriter) -> Self {
        Stager {
            held: Vec::new(),
            held_bytes: 0,
            budget: 0,
            dir,
            schema,
            spill: Some(sink),
            spilled_rows: 0,
        }
    }

    /// Rows written to disk so far.
    pub fn spilled_rows(&self) -> u64 {
        self.spilled_rows
    }

    /// Bytes of the batches held in memory.
    pub fn held_bytes(&self) -> usize {
        self.held_bytes
    }

    /// Stages a batch; `others` is what else shares the budget (the dedup
    /// state held in memory).
    pub fn write(&mut self, batch: RecordBatch, others: usize) -> Result<()> {
        if self.spill.is_none() {
            let size = data_bytes(&batch);
            if self.held_bytes + size + others <= self.budget {
                self.held_bytes += size;
                self.held.push(batch);
                return Ok(());
            }
            let mut w = BackgroundWriter::spawn(IpcStaging::new(&self.dir, self.schema.clone())?);
            for b in self.held.drain(..) {
                self.spilled_rows += b.num_rows() as u64;
                w.write(b)?;
            }
            self.held_bytes = 0;
            self.spill = Some(w);
        }
        self.spilled_rows += batch.num_rows() as u64;
        match self.spill.as_mut() {
            Some(w) => w.write(batch),
            None => Err(Error::Run("staging file closed".into())),
        }
    }

    /// Ends staging: the batches held, or the folder they were spilled to.
    pub fn finish(&mut self) -> Result<Staged> {
        match self.spill.as_mut() {
            Some(w) => {
                w.finish()?;
                Ok(Staged::Dirs(vec![self.dir.clone()]))
            }
            None => Ok(Staged::Held(std::mem::take(&mut self.held))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow::array::{ArrayRef, StringArray, UInt64Array};
    use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::UInt64, false),
            Field::new("raw", DataType::Utf8, false),
        ]))
    }

    fn batch(from: u64, n: usize) -> RecordBatch {
        let ids: ArrayRef = Arc::new(UInt64Array::from_iter_values(from..from + n as u64));
        let raw: ArrayRef = Arc::new(StringArray::from_iter_values(
            (from..from + n as u64).map(|i| format!("record {i} {}", "x".repeat(i as usize % 11))),
        ));
        RecordBatch::try_new(schema(), vec![ids, raw]).expect("test")
    }

    fn stage(budget: usize, dir: &std::path::Path) -> (Staged, Vec<RecordBatch>) {
        let mut s = Stager::new(budget, dir.to_path_buf(), schema());
        let input: Vec<RecordBatch> = (0..7).map(|i| batch(i * 100, 50 + i as usize)).collect();
        for b in &input {
            s.write(b.clone(), 0).expect("test");
        }
        (s.finish().expect("test"), input)
    }

    fn collect(staged: Staged) -> Vec<RecordBatch> {
        let mut out = Vec::new();
        staged
            .for_each(&mut |b| {
                out.push(b);
                Ok(())
            })
            .expect("test");
        out
    }

    /// Held in memory, spilled part way, or spilled from the first batch:
    /// the batches read back are the ones written, in order.
    #[test]
    fn the_budget_does_not_change_what_is_read_back() {
        let one = data_bytes(&batch(0, 50));
        for (budget, spills) in [(usize::MAX, false), (3 * one, true), (0, true)] {
            let dir = tempfile::tempdir().expect("test");
            let (staged, input) = stage(budget, dir.path());
            assert_eq!(matches!(staged, Staged::Dirs(_)), spills, "budget {budget}");
            assert_eq!(dir.path().join("part-00000.arrow").exists(), spills, "budget {budget}");
            assert_eq!(collect(staged), input, "budget {budget}");
        }
    }

    /// Nothing is written to disk while the batches fit.
    #[test]
    fn held_batches_count_against_the_budget() {
        let dir = tempfile::tempdir().expect("test");
        let mut s = Stager::new(1 << 30, dir.path().to_path_buf(), schema());
        let b = batch(0, 10);
        let size = data_bytes(&b);
        s.write(b, 0).expect("test");
        s.write(batch(10, 10), 0).expect("test");
        assert!(s.held_bytes() >= size);
        assert_eq!(std::fs::read_dir(dir.path()).expect("test").count(), 0);
    }
}
