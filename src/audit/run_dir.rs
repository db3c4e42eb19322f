//! Reading an output folder written by `curate run`.

use std::path::{Path, PathBuf};

use arrow::array::{Array, Float64Array, RecordBatch, StringArray, UInt64Array};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::error::{Error, Result};
use crate::output::Report;
use crate::pipeline::SUCCESS_MARKER;
use crate::rules::{RuleFiles, Rules};

/// An output folder of a complete run.
pub struct RunDir {
    /// Its path.
    pub path: PathBuf,
    /// Its report.
    pub report: Report,
}

impl RunDir {
    /// Opens `path`, which must hold a complete run.
    pub fn open(path: &Path) -> Result<RunDir> {
        if !path.join(SUCCESS_MARKER).exists() {
            return Err(Error::Usage(format!(
                "{}: not the output of a complete `curate run` (no {SUCCESS_MARKER})",
                path.display()
            )));
        }
        let text =
            std::fs::read_to_string(path.join("report.json")).map_err(|e| Error::io(path.join("report.json"), e))?;
        let report: Report = serde_json::from_str(&text)
            .map_err(|e| Error::Usage(format!("{}: unreadable report.json: {e}", path.display())))?;
        Ok(RunDir {
            path: path.to_path_buf(),
            report,
        })
    }

    /// The rules the run used (its `rules/` snapshot), compiled.
    pub fn rules(&self) -> Result<Rules> {
        let files = RuleFiles::from_dir(&self.path.join("rules")).map_err(Error::Rules)?;
        Rules::compile(files).map_err(Error::Rules)
    }

    /// Every batch of one table (`kept`, `rejected`, `malformed`, `metrics`), in shard order.
    pub fn batches(&self, table: &str) -> Result<Vec<RecordBatch>> {
        read_batches(&self.path.join(table))
    }
}

/// Every batch of every `*.parquet` shard in `dir`, in name order (none if `dir` is absent).
pub fn read_batches(dir: &Path) -> Result<Vec<RecordBatch>> {
    let mut shards: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
            .collect(),
        Err(_) => return Ok(Vec::new()),
    };
    shards.sort();
    let mut out = Vec::new();
    for s in shards {
        let err = |e: String| Error::Parquet {
            path: s.clone(),
            message: e,
        };
        let f = std::fs::File::open(&s).map_err(|e| Error::io(&s, e))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(f)
            .and_then(|b| b.with_batch_size(65_536).build())
            .map_err(|e| err(e.to_string()))?;
        for b in reader {
            out.push(b.map_err(|e| err(e.to_string()))?);
        }
    }
    Ok(out)
}

/// A string column of a batch (empty strings for nulls or a missing column).
pub fn str_col<'a>(b: &'a RecordBatch, name: &str) -> Option<&'a StringArray> {
    b.column_by_name(name)?.as_any().downcast_ref::<StringArray>()
}

/// A u64 column of a batch.
pub fn u64_col<'a>(b: &'a RecordBatch, name: &str) -> Option<&'a UInt64Array> {
    b.column_by_name(name)?.as_any().downcast_ref::<UInt64Array>()
}

/// A f64 column of a batch.
pub fn f64_col<'a>(b: &'a RecordBatch, name: &str) -> Option<&'a Float64Array> {
    b.column_by_name(name)?.as_any().downcast_ref::<Float64Array>()
}

/// Value `i` of an optional string column.
pub fn str_at(c: Option<&StringArray>, i: usize) -> &str {
    match c {
        Some(c) if !c.is_null(i) => c.value(i),
        _ => "",
    }
}
