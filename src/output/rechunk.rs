//! Re-batching a stream of rows by a rule that depends only on the rows.
//!
//! Parquet files depend on how rows were handed to the writer (page and
//! row-group boundaries, shard rotation). A local run hands rows over in
//! batches cut by a rule over the rows themselves (at [`FLUSH_ROWS`] rows or
//! when the rows' weight reaches [`FLUSH_BYTES`]). A distributed run writes
//! the same rows in pieces, one per task; reading the pieces back in order
//! and cutting the stream again by the same rule gives the same batches, so
//! both runs write byte-identical shards.

use std::path::{Path, PathBuf};

use arrow::array::{Array, RecordBatch, StringArray};
use arrow::datatypes::{Schema, SchemaRef};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::error::{Error, Result};

/// Rows per batch handed to a shard writer (at most).
pub const FLUSH_ROWS: usize = 8192;
/// Weight of the rows per batch (at most, give or take the last row).
pub const FLUSH_BYTES: usize = 8 << 20;
/// Whether buffered rows (`rows` of them, `bytes` of [`RecordRows`]
/// weight) make a batch to write out.
///
/// [`RecordRows`]: super::RecordRows
pub fn batch_full(rows: usize, bytes: usize) -> bool {
    rows >= FLUSH_ROWS || bytes >= FLUSH_BYTES
}

/// Rows per metrics batch (metrics rows are small and all alike).
pub const METRICS_ROWS: usize = 65_536;

/// How much a row weighs towards [`FLUSH_BYTES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    /// Nothing: batches are cut by row count only.
    Rows,
    /// A kept or rejected record: twice its raw text plus 64 bytes
    /// ([`super::RecordRows`]).
    Record,
    /// A malformed item: its raw text and error plus 32 bytes
    /// ([`super::MalformedRows`]).
    Malformed,
}

impl Weight {
    /// The weight of a record row whose raw text is `raw` bytes long.
    pub fn record(raw: usize) -> usize {
        raw * 2 + 64
    }

    /// The weight of a malformed row.
    pub fn malformed(raw: usize, error: usize) -> usize {
        raw + error + 32
    }

    /// The rule for rows of `schema`: malformed items (a `raw` and an
    /// `error` column), records (a `raw` column), anything else by count.
    pub fn of_schema(schema: &Schema) -> Weight {
        let has = |name: &str| schema.column_with_name(name).is_some();
        match (has("raw"), has("error")) {
            (true, true) => Weight::Malformed,
            (true, false) => Weight::Record,
            _ => Weight::Rows,
        }
    }

    /// Each row's weight, from its own values only (never from how its
    /// arrays are laid out in memory); `None` when rows are only counted.
    pub fn of_rows(self, batch: &RecordBatch) -> Result<Option<Vec<usize>>> {
        Ok(match self {
            Weight::Rows => None,
            Weight::Record => Some(text_len(batch, "raw")?.into_iter().map(Weight::record).collect()),
            Weight::Malformed => {
                let raw = text_len(batch, "raw")?;
                let err = text_len(batch, "error")?;
                Some(raw.iter().zip(&err).map(|(&r, &e)| Weight::malformed(r, e)).collect())
            }
        })
    }
}

/// Cuts a stream of batches into batches of at most `max_rows` rows or
/// `max_bytes` of weight.
pub struct Rechunk {
    schema: SchemaRef,
    max_rows: usize,
    max_bytes: usize,
    weight: Weight,
    pending: Vec<RecordBatch>,
    rows: usize,
    bytes: usize,
}

fn text_len(batch: &RecordBatch, name: &str) -> Result<Vec<usize>> {
    let col = batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<StringArray>())
        .ok_or_else(|| Error::Run(format!("staged rows have no text column `{name}`")))?;
    Ok((0..col.len()).map(|i| col.value_length(i) as usize).collect())
}

impl Rechunk {
    /// A re-batcher for rows of `schema`.
    pub fn new(schema: SchemaRef, max_rows: usize, max_bytes: usize, weight: Weight) -> Self {
        Rechunk {
            schema,
            max_rows: max_rows.max(1),
            max_bytes,
            weight,
            pending: Vec::new(),
            rows: 0,
            bytes: 0,
        }
    }

    fn emit(&mut self, out: &mut dyn FnMut(RecordBatch) -> Result<()>) -> Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        let batch = if self.pending.len() == 1 {
            self.pending
                .pop()
                .unwrap_or_else(|| RecordBatch::new_empty(self.schema.clone()))
        } else {
            arrow::compute::concat_batches(&self.schema, &self.pending)
                .map_err(|e| Error::Run(format!("cannot join staged rows: {e}")))?
        };
        self.pending.clear();
        self.rows = 0;
        self.bytes = 0;
        out(batch)
    }

    /// Adds rows; calls `out` with every batch that is complete.
    pub fn push(&mut self, batch: RecordBatch, out: &mut dyn FnMut(RecordBatch) -> Result<()>) -> Result<()> {
        let n = batch.num_rows();
        let weights = self.weight.of_rows(&batch)?;
        let mut start = 0;
        for i in 0..n {
            self.rows += 1;
            if let Some(w) = &weights {
                self.bytes += w[i];
            }
            if self.rows >= self.max_rows || self.bytes >= self.max_bytes {
                self.pending.push(batch.slice(start, i + 1 - start));
                start = i + 1;
                self.emit(out)?;
            }
        }
        if start < n {
            self.pending.push(batch.slice(start, n - start));
        }
        Ok(())
    }

    /// Emits the rows left.
    pub fn finish(&mut self, out: &mut dyn FnMut(RecordBatch) -> Result<()>) -> Result<()> {
        self.emit(out)
    }
}

/// The Parquet shards of `dir`, in name order (none when it does not exist).
pub fn shards(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "parquet" || e == "arrow")
                && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    v.sort();
    Ok(v)
}

/// Reads every shard of every folder of `dirs`, in order, and calls `f`
/// with each batch.
pub fn read_dirs(dirs: &[PathBuf], f: &mut dyn FnMut(RecordBatch) -> Result<()>) -> Result<()> {
    for dir in dirs {
        for shard in shards(dir)? {
            let pq = |e: &dyn std::fmt::Display| Error::Parquet {
                path: shard.clone(),
                message: e.to_string(),
            };
            let file = std::fs::File::open(&shard).map_err(|e| Error::io(&shard, e))?;
            if shard.extension().is_some_and(|e| e == "arrow") {
                let reader =
                    arrow::ipc::reader::FileReader::try_new(std::io::BufReader::with_capacity(1 << 20, file), None)
                        .map_err(|e| pq(&e))?;
                for batch in reader {
                    f(batch.map_err(|e| pq(&e))?)?;
                }
                continue;
            }
            let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                .map_err(|e| pq(&e))?
                .with_batch_size(FLUSH_ROWS)
                .build()
                .map_err(|e| pq(&e))?;
            for batch in reader {
                f(batch.map_err(|e| pq(&e))?)?;
            }
        }
    }
    Ok(())
}

/// Copies the rows of `dirs` (in order) to `write`, cut by the rule.
pub fn copy_dirs(
    dirs: &[PathBuf],
    schema: SchemaRef,
    max_rows: usize,
    weight: Weight,
    write: &mut dyn FnMut(RecordBatch) -> Result<()>,
) -> Result<u64> {
    let mut r = Rechunk::new(schema, max_rows, FLUSH_BYTES, weight);
    let mut rows = 0u64;
    read_dirs(dirs, &mut |b| {
        rows += b.num_rows() as u64;
        r.push(b, write)
    })?;
    r.finish(write)?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow::array::{ArrayRef, UInt64Array};
    use arrow::datatypes::{DataType, Field, Schema};

    fn batch(schema: &SchemaRef, from: u64, n: usize) -> RecordBatch {
        let ids: ArrayRef = Arc::new(UInt64Array::from_iter_values(from..from + n as u64));
        let raw: ArrayRef = Arc::new(StringArray::from_iter_values(
            (from..from + n as u64).map(|i| "x".repeat(i as usize % 7)),
        ));
        RecordBatch::try_new(schema.clone(), vec![ids, raw]).expect("test")
    }

    /// However the stream is split, the batches that come out are the same.
    #[test]
    fn cuts_do_not_depend_on_the_input_batches() {
        let schema: SchemaRef = Arc::new(Schema::new(vec![
            Field::new("id", DataType::UInt64, false),
            Field::new("raw", DataType::Utf8, false),
        ]));
        let run = |splits: &[usize]| {
            let mut r = Rechunk::new(schema.clone(), 10, 200, Weight::Record);
            let mut out = Vec::new();
            let mut from = 0u64;
            for &n in splits {
                r.push(batch(&schema, from, n), &mut |b| {
                    out.push(b);
                    Ok(())
                })
                .expect("test");
                from += n as u64;
            }
            r.finish(&mut |b| {
                out.push(b);
                Ok(())
            })
            .expect("test");
            out
        };
        let a = run(&[100]);
        let b = run(&[3, 0, 41, 1, 55]);
        let sizes = |v: &[RecordBatch]| v.iter().map(|b| b.num_rows()).collect::<Vec<_>>();
        assert_eq!(sizes(&a), sizes(&b));
        assert_eq!(a, b);
        assert!(a.len() > 10, "weight cuts before the row limit");
        assert_eq!(a.iter().map(|b| b.num_rows()).sum::<usize>(), 100);
    }
}
