//! Parquet shards that rotate by size, written under a temporary name and
//! renamed when complete, so a reader never sees a half-written shard.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::error::{Error, Result};

/// Writes `part-00000.parquet`, `part-00001.parquet`, … in one folder.
pub struct ShardWriter {
    dir: PathBuf,
    schema: SchemaRef,
    max_bytes: u64,
    next: usize,
    props: WriterProperties,
    current: Option<(ArrowWriter<File>, PathBuf, PathBuf)>,
    rows: u64,
    files: Vec<PathBuf>,
}

/// Columns with few distinct values, worth dictionary encoding; the text
/// columns (messages, raw) are not, and trying costs time.
const DICTIONARY_COLUMNS: &[&str] = &[
    "source_file",
    "format",
    "messages.list.item.role",
    "task",
    "tags.list.item",
    "pii.list.item.type",
    "stage",
    "rule",
    "failed_rules.list.item",
    "lang",
];

fn props() -> WriterProperties {
    props_with(Compression::ZSTD(ZstdLevel::try_new(3).unwrap_or_default()))
}

fn props_with(compression: Compression) -> WriterProperties {
    let mut b = WriterProperties::builder()
        .set_compression(compression)
        .set_dictionary_enabled(false)
        .set_max_row_group_row_count(Some(65_536))
        .set_max_row_group_bytes(Some(32 << 20));
    for c in DICTIONARY_COLUMNS {
        b = b.set_column_dictionary_enabled(parquet::schema::types::ColumnPath::from(*c), true);
    }
    b.set_created_by(format!("curate {}", env!("CARGO_PKG_VERSION")))
        .build()
}

impl ShardWriter {
    /// A writer into `dir` (created) rotating shards at about `max_bytes`.
    pub fn new(dir: &Path, schema: SchemaRef, max_bytes: u64) -> Result<Self> {
        Self::with_props(dir, schema, max_bytes, props())
    }

    /// A writer for intermediate shards that another task reads back once
    /// over shared storage (Snappy: fast, and a third of the bytes).
    pub fn scratch(dir: &Path, schema: SchemaRef, max_bytes: u64) -> Result<Self> {
        Self::with_props(dir, schema, max_bytes, props_with(Compression::SNAPPY))
    }

    /// A writer for intermediate shards read back once by the same process
    /// (uncompressed: the cheapest to write and read on a local disk).
    pub fn staging(dir: &Path, schema: SchemaRef, max_bytes: u64) -> Result<Self> {
        Self::with_props(dir, schema, max_bytes, props_with(Compression::UNCOMPRESSED))
    }

    fn with_props(dir: &Path, schema: SchemaRef, max_bytes: u64, props: WriterProperties) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        Ok(ShardWriter {
            dir: dir.to_path_buf(),
            schema,
            max_bytes: max_bytes.max(1),
            next: 0,
            props,
            current: None,
            rows: 0,
            files: Vec::new(),
        })
    }

    fn pq_err(path: &Path, e: impl std::fmt::Display) -> Error {
        Error::Parquet {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    }

    fn open(&mut self) -> Result<()> {
        let name = format!("part-{:05}.parquet", self.next);
        self.next += 1;
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let fin = self.dir.join(name);
        let f = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let w = ArrowWriter::try_new(f, self.schema.clone(), Some(self.props.clone()))
            .map_err(|e| Self::pq_err(&tmp, e))?;
        self.current = Some((w, tmp, fin));
        Ok(())
    }

    fn close_current(&mut self) -> Result<()> {
        if let Some((w, tmp, fin)) = self.current.take() {
            w.close().map_err(|e| Self::pq_err(&tmp, e))?;
            std::fs::rename(&tmp, &fin).map_err(|e| Error::io(&fin, e))?;
            self.files.push(fin);
        }
        Ok(())
    }

    /// Appends a batch, rotating to a new shard when the current one is full.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        if self.current.is_none() {
            self.open()?;
        }
        if let Some((w, tmp, _)) = self.current.as_mut() {
            w.write(batch).map_err(|e| Self::pq_err(tmp, e))?;
            self.rows += batch.num_rows() as u64;
            let size = w.bytes_written() as u64 + w.in_progress_size() as u64;
            if size >= self.max_bytes {
                self.close_current()?;
            }
        }
        Ok(())
    }

    /// Closes the last shard; a folder that got no rows gets one empty shard,
    /// so readers still find the schema. Returns the shard paths.
    pub fn finish(mut self) -> Result<Vec<PathBuf>> {
        if self.files.is_empty() && self.current.is_none() {
            self.open()?;
        }
        self.close_current()?;
        Ok(self.files)
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }
}

/// A [`ShardWriter`] on its own thread: `write` hands the batch over (at most
/// two batches wait), so encoding and compressing overlap with the caller's
/// work. Shards are the same as with the writer used directly.
pub struct BackgroundWriter {
    tx: Option<std::sync::mpsc::SyncSender<RecordBatch>>,
    handle: Option<std::thread::JoinHandle<Result<Vec<PathBuf>>>>,
}

impl BackgroundWriter {
    /// Moves `writer` to a new thread.
    pub fn spawn(mut writer: ShardWriter) -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel::<RecordBatch>(2);
        let handle = std::thread::spawn(move || {
            for b in rx {
                writer.write(&b)?;
            }
            writer.finish()
        });
        BackgroundWriter {
            tx: Some(tx),
            handle: Some(handle),
        }
    }

    /// Queues a batch; fails with the writer's error if it stopped.
    pub fn write(&mut self, batch: RecordBatch) -> Result<()> {
        let sent = self.tx.as_ref().is_some_and(|tx| tx.send(batch).is_ok());
        if sent {
            Ok(())
        } else {
            self.finish().map(|_| ())
        }
    }

    /// Waits for every queued batch and closes the last shard.
    pub fn finish(&mut self) -> Result<Vec<PathBuf>> {
        self.tx = None;
        match self.handle.take() {
            Some(h) => h
                .join()
                .unwrap_or_else(|_| Err(Error::Run("a shard writer thread panicked".into()))),
            None => Err(Error::Run("shard writer already finished".into())),
        }
    }
}
