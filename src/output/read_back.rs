//! Reading a run's shards back: the batches of a table, and one row of
//! `kept` or `rejected` as a record and its rejection.

use std::path::{Path, PathBuf};

use arrow::array::{Array, Float64Array, ListArray, RecordBatch, StringArray, StructArray, UInt64Array};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use crate::error::{Error, Result};

/// The `*.parquet` shards of `dir`, in name order (none if `dir` is absent
/// or unreadable): [`crate::output::rechunk::shards`] without the staging
/// `.arrow` files.
pub fn shards(dir: &Path) -> Vec<PathBuf> {
    crate::output::rechunk::shards(dir)
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect()
}

fn parquet_error(shard: &Path, e: impl std::fmt::Display) -> Error {
    Error::Parquet {
        path: shard.to_path_buf(),
        message: e.to_string(),
    }
}

/// A reader of one shard's batches, with only the named top-level `columns`
/// (all when `None`).
fn open_shard(shard: &Path, columns: Option<&[&str]>) -> Result<ParquetRecordBatchReader> {
    open_groups(shard, columns, None)
}

/// The reader builder of a shard (its footer read).
fn builder(shard: &Path) -> Result<ParquetRecordBatchReaderBuilder<std::fs::File>> {
    let file = std::fs::File::open(shard).map_err(|e| Error::io(shard, e))?;
    ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| parquet_error(shard, e))
}

/// [`open_shard`] over row groups `groups` only (all when `None`).
fn open_groups(shard: &Path, columns: Option<&[&str]>, groups: Option<Vec<usize>>) -> Result<ParquetRecordBatchReader> {
    let builder = builder(shard)?;
    let builder = match groups {
        Some(g) => builder.with_row_groups(g),
        None => builder,
    };
    let builder = match columns {
        Some(names) => {
            let roots: Vec<usize> = builder
                .schema()
                .fields()
                .iter()
                .enumerate()
                .filter(|(_, f)| names.contains(&f.name().as_str()))
                .map(|(i, _)| i)
                .collect();
            let mask = parquet::arrow::ProjectionMask::roots(builder.parquet_schema(), roots);
            builder.with_projection(mask)
        }
        None => builder,
    };
    builder
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| parquet_error(shard, e))
}

/// Rows per batch read back.
const BATCH_ROWS: usize = 8192;

/// The batches of every shard of a table folder, in name order, read one
/// at a time: memory does not grow with the table.
pub struct Batches {
    shards: std::vec::IntoIter<PathBuf>,
    columns: Option<Vec<String>>,
    current: Option<(PathBuf, ParquetRecordBatchReader)>,
}

impl Batches {
    /// Every column of the shards of `dir` (none if `dir` is absent).
    pub fn of(dir: &Path) -> Self {
        Batches {
            shards: shards(dir).into_iter(),
            columns: None,
            current: None,
        }
    }

    /// Only the named top-level columns.
    pub fn columns(mut self, names: &[&str]) -> Self {
        self.columns = Some(names.iter().map(|s| s.to_string()).collect());
        self
    }
}

impl Iterator for Batches {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Result<RecordBatch>> {
        loop {
            if let Some((shard, reader)) = self.current.as_mut() {
                match reader.next() {
                    Some(b) => return Some(b.map_err(|e| parquet_error(shard, e))),
                    None => self.current = None,
                }
            }
            let shard = self.shards.next()?;
            let names: Option<Vec<&str>> = self.columns.as_ref().map(|c| c.iter().map(String::as_str).collect());
            match open_shard(&shard, names.as_deref()) {
                Ok(reader) => self.current = Some((shard, reader)),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// Calls `f` on every batch of every shard in `dir`, in name order, reading
/// only the named top-level `columns` (all when `None`); nothing is held
/// between batches, so memory does not grow with the table.
pub fn for_each_batch(dir: &Path, columns: Option<&[&str]>, mut f: impl FnMut(&RecordBatch)) -> Result<()> {
    let batches = match columns {
        Some(c) => Batches::of(dir).columns(c),
        None => Batches::of(dir),
    };
    for b in batches {
        f(&b?);
    }
    Ok(())
}

/// [`for_each_batch`] over one shard.
pub fn for_each_batch_of(shard: &Path, columns: Option<&[&str]>, mut f: impl FnMut(&RecordBatch)) -> Result<()> {
    for b in open_shard(shard, columns)? {
        f(&b.map_err(|e| parquet_error(shard, e))?);
    }
    Ok(())
}

/// The number of row groups of a shard.
pub fn row_groups(shard: &Path) -> Result<usize> {
    Ok(builder(shard)?.metadata().num_row_groups())
}

/// [`for_each_batch_of`] over one row group of a shard.
pub fn for_each_batch_of_group(
    shard: &Path,
    group: usize,
    columns: Option<&[&str]>,
    mut f: impl FnMut(&RecordBatch),
) -> Result<()> {
    for b in open_groups(shard, columns, Some(vec![group]))? {
        f(&b.map_err(|e| parquet_error(shard, e))?);
    }
    Ok(())
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

/// Rebuilds the record of row `i` of a `kept` or `rejected` batch, with its
/// `source_file`. The shape is carried by name.
pub fn record_at(b: &RecordBatch, i: usize) -> (crate::record::Record, String) {
    use crate::record::{Origin, PiiSpan, Record, Role, Shape, Turn};
    let msgs = messages_at(b, i);
    let mut system = None;
    let mut turns = Vec::with_capacity(msgs.len());
    for (k, (role, content)) in msgs.into_iter().enumerate() {
        match Role::parse(&role) {
            Some(Role::System) if k == 0 => system = Some(content),
            Some(r) => turns.push(Turn::new(r, content)),
            None => turns.push(Turn::new(Role::User, content)),
        }
    }
    let tags = strings_at(b, "tags", i).unwrap_or_default();
    let mut pii = Vec::new();
    if let Some(list) = b
        .column_by_name("pii")
        .and_then(|c| c.as_any().downcast_ref::<arrow::array::ListArray>())
    {
        let v = list.value(i);
        if let Some(s) = v.as_any().downcast_ref::<arrow::array::StructArray>() {
            let u = |k: usize| {
                s.column(k)
                    .as_any()
                    .downcast_ref::<arrow::array::UInt32Array>()
                    .cloned()
            };
            if let (Some(t), Some(a), Some(e)) = (u(0), u(1), u(2)) {
                let kind = s.column(3).as_any().downcast_ref::<StringArray>();
                for j in 0..s.len() {
                    pii.push(PiiSpan {
                        turn: t.value(j),
                        start: a.value(j),
                        end: e.value(j),
                        kind: str_at(kind, j).to_string(),
                    });
                }
            }
        }
    }
    let task = Some(str_at(str_col(b, "task"), i))
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    let rec = Record {
        id: str_at(str_col(b, "id"), i).to_string(),
        key: match str_col(b, "key") {
            Some(c) => str_at(Some(c), i).to_string(),
            None => str_at(str_col(b, "id"), i).to_string(),
        },
        user_id: false,
        origin: Origin {
            file: 0,
            line: u64_col(b, "source_line").map_or(0, |c| c.value(i)),
        },
        shape: Shape::Declared(str_at(str_col(b, "format"), i).to_string()),
        lang: crate::text::Lang::detect_parts(turns.iter().map(|t: &Turn| t.content.as_str())),
        system,
        turns,
        input_at: None,
        raw: str_at(str_col(b, "raw"), i).to_string(),
        task,
        tags,
        pii,
        words: crate::record::TurnWords::default(),
    };
    (rec, str_at(str_col(b, "source_file"), i).to_string())
}

/// The boilerplate lines stripped from row `i` of a `kept` batch (`None`:
/// nothing was stripped, or the column is missing).
pub fn stripped_at(b: &RecordBatch, i: usize) -> Option<Vec<String>> {
    strings_at(b, crate::output::schema::STRIPPED_LINES, i)
}

/// Value `i` of a list-of-strings column; `None` when null or missing.
pub fn strings_at(b: &RecordBatch, column: &str, i: usize) -> Option<Vec<String>> {
    let list = b
        .column_by_name(column)?
        .as_any()
        .downcast_ref::<arrow::array::ListArray>()?;
    if list.is_null(i) {
        return None;
    }
    let v = list.value(i);
    let s = v.as_any().downcast_ref::<StringArray>()?;
    Some((0..s.len()).map(|j| s.value(j).to_string()).collect())
}

/// Value `i` of an optional f64 column; `None` when null or missing.
pub fn f64_at(c: Option<&Float64Array>, i: usize) -> Option<f64> {
    c.filter(|c| !c.is_null(i)).map(|c| c.value(i))
}

/// The rejection columns of row `i` of a `rejected` batch.
pub fn rejection_at(b: &RecordBatch, i: usize) -> crate::output::Rejection {
    let f = |name: &str| f64_at(f64_col(b, name), i);
    let failed = strings_at(b, "failed_rules", i).unwrap_or_default();
    crate::output::Rejection {
        stage: str_at(str_col(b, "stage"), i).to_string(),
        rule: str_at(str_col(b, "rule"), i).to_string(),
        value: f("value"),
        threshold: f("threshold"),
        reason: str_at(str_col(b, "reason"), i).to_string(),
        failed_rules: failed,
        duplicate_of: Some(str_at(str_col(b, "duplicate_of"), i))
            .filter(|d| !d.is_empty())
            .map(str::to_string),
        similarity: f("similarity"),
    }
}

/// The messages of row `i` as (role, content).
pub fn messages_at(b: &RecordBatch, i: usize) -> Vec<(String, String)> {
    let Some(list) = b
        .column_by_name("messages")
        .and_then(|c| c.as_any().downcast_ref::<ListArray>())
    else {
        return Vec::new();
    };
    let v = list.value(i);
    let Some(s) = v.as_any().downcast_ref::<StructArray>() else {
        return Vec::new();
    };
    let roles = s.column(0).as_any().downcast_ref::<StringArray>();
    let texts = s.column(1).as_any().downcast_ref::<StringArray>();
    (0..s.len())
        .map(|j| (str_at(roles, j).to_string(), str_at(texts, j).to_string()))
        .collect()
}

/// The first request and the last answer of a record's messages (empty when
/// it has none).
pub fn request_and_answer(msgs: &[(String, String)]) -> (&str, &str) {
    let request = msgs.iter().find(|m| m.0 == "user").map_or("", |m| m.1.as_str());
    let answer = msgs
        .iter()
        .rev()
        .find(|m| m.0 == "assistant")
        .map_or("", |m| m.1.as_str());
    (request, answer)
}
