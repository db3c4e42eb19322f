//! Parquet shards that rotate by size, written under a temporary name and
//! renamed when complete, so a reader never sees a half-written shard.

use std::fs::File;
use std::path::{Path, PathBuf};

use std::collections::VecDeque;
use std::io::Write;
use std::sync::mpsc::Receiver;
use std::sync::Arc;

use arrow::array::{Array, RecordBatch};
use arrow::datatypes::SchemaRef;
use parquet::arrow::arrow_writer::{
    compute_leaves, ArrowColumnChunk, ArrowColumnWriter, ArrowLeafColumn, ArrowRowGroupWriterFactory,
};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::output::rechunk::Weight;

/// Writes `part-00000.parquet`, `part-00001.parquet`, … in one folder.
///
/// Rows are cut into row groups by a rule over the rows alone (at most
/// [`ROW_GROUP_ROWS`] rows; a group closes at the row that brings its
/// [`Weight`] to [`ROW_GROUP_BYTES`]), so the same rows give the same bytes
/// however they were batched: a local run and a distributed one hand the
/// writer the same rows in other batches. With a thread pool ([`ShardWriter::encode_on`]) row groups are
/// encoded and compressed on it, several at once, and appended in order: the
/// output does not depend on the pool.
pub struct ShardWriter {
    dir: PathBuf,
    schema: SchemaRef,
    max_bytes: u64,
    next: usize,
    props: WriterProperties,
    current: Option<OpenShard>,
    /// Column writers for new row groups (the same for every shard).
    factory: Option<ArrowRowGroupWriterFactory>,
    pool: Option<Arc<rayon::ThreadPool>>,
    /// Every row group's columns encoded side by side, not the last one's
    /// only ([`ShardWriter::columns_side_by_side`]).
    all_columns: bool,
    pending: Vec<RecordBatch>,
    pending_rows: usize,
    pending_bytes: usize,
    /// How a row weighs towards [`ROW_GROUP_BYTES`] (from the schema).
    weight: Weight,
    /// Row groups being encoded, oldest first.
    in_flight: VecDeque<Receiver<parquet::errors::Result<Vec<ArrowColumnChunk>>>>,
    rows: u64,
    files: Vec<PathBuf>,
}

/// The shard being written, under its temporary name.
struct OpenShard {
    writer: SerializedFileWriter<File>,
    tmp: PathBuf,
    fin: PathBuf,
}

/// At most this many rows per row group.
pub const ROW_GROUP_ROWS: usize = 65_536;
/// A row group closes once its rows weigh this much ([`Weight`]: about the
/// bytes of their text).
pub const ROW_GROUP_BYTES: usize = 16 << 20;
/// At most this many row groups of one writer are encoded at once, so a
/// writer holds at most `(MAX_IN_FLIGHT + 1) * ROW_GROUP_BYTES` of rows
/// however many threads the pool has.
const MAX_IN_FLIGHT: usize = 4;

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

/// Long free text: min/max statistics of it help no reader (nobody prunes
/// row groups by the alphabetical range of answers) and cost a comparison
/// per value.
const NO_STATISTICS_COLUMNS: &[&str] = &["messages.list.item.content", "raw", "reason", "error"];

/// A column's path from its dotted name (`messages.list.item.role`).
fn column_path(dotted: &str) -> parquet::schema::types::ColumnPath {
    parquet::schema::types::ColumnPath::new(dotted.split('.').map(String::from).collect())
}

/// How the output shards (kept, rejected, malformed, metrics) are compressed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    /// Zstandard, level 3: about a third smaller than Snappy on text.
    #[default]
    Zstd,
    /// Snappy: the fastest to write and read, the default of most Parquet
    /// writers.
    Snappy,
    /// No compression.
    None,
}

impl Codec {
    /// The codec the shards of `dir` were written with (that of the first
    /// column of the first shard), if there is one to read.
    pub fn of_shards(dir: &Path) -> Option<Codec> {
        let first = crate::output::rechunk::shards(dir).ok()?.into_iter().next()?;
        let file = File::open(first).ok()?;
        let reader = parquet::file::reader::SerializedFileReader::new(file).ok()?;
        let meta = parquet::file::reader::FileReader::metadata(&reader);
        let chunk = meta.row_groups().first()?.columns().first()?;
        match chunk.compression() {
            Compression::ZSTD(_) => Some(Codec::Zstd),
            Compression::SNAPPY => Some(Codec::Snappy),
            Compression::UNCOMPRESSED => Some(Codec::None),
            _ => None,
        }
    }

    fn compression(self) -> Compression {
        match self {
            Codec::Zstd => Compression::ZSTD(ZstdLevel::try_new(3).unwrap_or_default()),
            Codec::Snappy => Compression::SNAPPY,
            Codec::None => Compression::UNCOMPRESSED,
        }
    }
}

/// Writes `columns` as one Parquet file at `path` (its folder created): a
/// small table written at once (`dedup/clusters.parquet`,
/// `selection.parquet`).
pub fn write_table(path: &Path, schema: SchemaRef, columns: Vec<arrow::array::ArrayRef>) -> Result<()> {
    let pq = |e: &dyn std::fmt::Display| Error::Parquet {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let batch = RecordBatch::try_new(schema.clone(), columns).map_err(|e| pq(&e))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let f = File::create(path).map_err(|e| Error::io(path, e))?;
    let mut w = ArrowWriter::try_new(f, schema, None).map_err(|e| pq(&e))?;
    w.write(&batch).map_err(|e| pq(&e))?;
    w.close().map_err(|e| pq(&e))?;
    Ok(())
}

fn props_with(compression: Compression) -> WriterProperties {
    let mut b = WriterProperties::builder()
        .set_compression(compression)
        .set_dictionary_enabled(false)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_max_row_group_bytes(Some(2 * ROW_GROUP_BYTES));
    for c in DICTIONARY_COLUMNS {
        b = b.set_column_dictionary_enabled(column_path(c), true);
    }
    for c in NO_STATISTICS_COLUMNS {
        b = b.set_column_statistics_enabled(column_path(c), parquet::file::properties::EnabledStatistics::None);
    }
    b.set_created_by(format!("curate {}", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Bytes of Arrow data in `batch` (its values, not its buffers' capacity).
pub(crate) fn data_bytes(batch: &RecordBatch) -> usize {
    batch
        .columns()
        .iter()
        .map(|c| c.to_data().get_slice_memory_size().unwrap_or(0))
        .sum()
}

/// Encodes one row group: every column of every batch, in order. With
/// `parallel`, the columns are encoded side by side on the current thread
/// pool; each column chunk is encoded on its own, so the bytes are the same.
fn encode(
    writers: Vec<ArrowColumnWriter>,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    parallel: bool,
) -> parquet::errors::Result<Vec<ArrowColumnChunk>> {
    let mut leaves: Vec<Vec<ArrowLeafColumn>> = (0..writers.len()).map(|_| Vec::new()).collect();
    for batch in batches {
        let mut column = leaves.iter_mut();
        for (field, array) in schema.fields().iter().zip(batch.columns()) {
            for leaf in compute_leaves(field, array)? {
                match column.next() {
                    Some(c) => c.push(leaf),
                    None => {
                        return Err(parquet::errors::ParquetError::General(
                            "more leaf columns than column writers".into(),
                        ))
                    }
                }
            }
        }
    }
    let one = |(mut writer, leaves): (ArrowColumnWriter, Vec<ArrowLeafColumn>)| {
        for leaf in &leaves {
            writer.write(leaf)?;
        }
        writer.close()
    };
    if parallel {
        writers.into_par_iter().zip(leaves).map(one).collect()
    } else {
        writers.into_iter().zip(leaves).map(one).collect()
    }
}

impl ShardWriter {
    /// A writer into `dir` (created) rotating shards at about `max_bytes`
    /// (Zstandard).
    pub fn new(dir: &Path, schema: SchemaRef, max_bytes: u64) -> Result<Self> {
        Self::output(dir, schema, max_bytes, Codec::Zstd)
    }

    /// A writer of output shards compressed with `codec`.
    pub fn output(dir: &Path, schema: SchemaRef, max_bytes: u64, codec: Codec) -> Result<Self> {
        Self::with_props(dir, schema, max_bytes, props_with(codec.compression()))
    }

    /// A writer for intermediate shards that another task reads back once
    /// over shared storage (Snappy: fast, and a third of the bytes).
    pub fn scratch(dir: &Path, schema: SchemaRef, max_bytes: u64) -> Result<Self> {
        Self::with_props(dir, schema, max_bytes, props_with(Compression::SNAPPY))
    }

    fn with_props(dir: &Path, schema: SchemaRef, max_bytes: u64, props: WriterProperties) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        Ok(ShardWriter {
            dir: dir.to_path_buf(),
            weight: Weight::of_schema(&schema),
            schema,
            max_bytes: max_bytes.max(1),
            next: 0,
            props,
            current: None,
            factory: None,
            pool: None,
            all_columns: false,
            pending: Vec::new(),
            pending_rows: 0,
            pending_bytes: 0,
            in_flight: VecDeque::new(),
            rows: 0,
            files: Vec::new(),
        })
    }

    /// Encodes row groups on `pool`, up to one per thread at a time (at most
    /// four). The shards are the same as without it.
    pub fn encode_on(mut self, pool: Arc<rayon::ThreadPool>) -> Self {
        self.pool = Some(pool);
        self
    }

    /// Encodes the columns of every row group side by side, for a table
    /// written when nothing else runs (the kept records of a run with dedup,
    /// all written after the dedup decision): one job per row group would
    /// leave the pool's other threads idle while one compresses a large
    /// group's text alone. The shards are the same.
    pub fn columns_side_by_side(mut self) -> Self {
        self.all_columns = true;
        self
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
        let (writer, factory) = ArrowWriter::try_new(f, self.schema.clone(), Some(self.props.clone()))
            .and_then(|w| w.into_serialized_writer())
            .map_err(|e| Self::pq_err(&tmp, e))?;
        self.factory.get_or_insert(factory);
        self.current = Some(OpenShard { writer, tmp, fin });
        Ok(())
    }

    fn close_current(&mut self) -> Result<()> {
        if let Some(OpenShard { writer, tmp, fin }) = self.current.take() {
            writer.close().map_err(|e| Self::pq_err(&tmp, e))?;
            std::fs::rename(&tmp, &fin).map_err(|e| Error::io(&fin, e))?;
            self.files.push(fin);
        }
        Ok(())
    }

    /// The path errors name: the shard being written, else the folder.
    fn at(&self) -> PathBuf {
        self.current
            .as_ref()
            .map_or_else(|| self.dir.clone(), |c| c.tmp.clone())
    }

    /// Appends a batch, rotating to a new shard when the current one is full.
    /// A row group ends at the row that fills it, wherever the batches
    /// that carried the rows began and ended.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let weights = self.weight.of_rows(batch)?;
        let n = batch.num_rows();
        let mut start = 0;
        for i in 0..n {
            self.pending_rows += 1;
            if let Some(w) = &weights {
                self.pending_bytes += w[i];
            }
            if self.pending_rows >= ROW_GROUP_ROWS || self.pending_bytes >= ROW_GROUP_BYTES {
                self.pending.push(batch.slice(start, i + 1 - start));
                self.rows += (i + 1 - start) as u64;
                start = i + 1;
                self.submit(false)?;
            }
        }
        if start < n {
            self.pending.push(batch.slice(start, n - start));
            self.rows += (n - start) as u64;
        }
        Ok(())
    }

    /// Starts encoding the pending rows as one row group; the `last` one's
    /// columns are encoded side by side, since nothing else is left to keep
    /// the pool busy (earlier row groups are one job each: splitting them
    /// too let the pool interleave more row groups at once, and on 10
    /// million records raised the peak memory by 80 MB for no gain).
    fn submit(&mut self, last: bool) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        if self.current.is_none() {
            self.open()?;
        }
        let batches = std::mem::take(&mut self.pending);
        self.pending_rows = 0;
        self.pending_bytes = 0;
        let writers = match &self.factory {
            Some(f) => f.create_column_writers(0).map_err(|e| Self::pq_err(&self.at(), e))?,
            None => return Err(Error::Run("shard writer has no column writers".into())),
        };
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let schema = self.schema.clone();
        match &self.pool {
            Some(pool) => {
                let parallel = last || self.all_columns;
                pool.spawn(move || {
                    let _ = tx.send(encode(writers, &schema, &batches, parallel));
                })
            }
            None => {
                let _ = tx.send(encode(writers, &schema, &batches, false));
            }
        }
        self.in_flight.push_back(rx);
        let limit = self
            .pool
            .as_ref()
            .map_or(1, |p| p.current_num_threads().clamp(1, MAX_IN_FLIGHT));
        while self.in_flight.len() > limit.saturating_sub(1) {
            self.append_oldest()?;
        }
        Ok(())
    }

    /// Waits for the oldest row group being encoded and appends it to the
    /// current shard, rotating when the shard is full.
    fn append_oldest(&mut self) -> Result<()> {
        let Some(rx) = self.in_flight.pop_front() else {
            return Ok(());
        };
        let at = self.at();
        let chunks = rx
            .recv()
            .map_err(|_| Error::Run("a row group encoder stopped".into()))?
            .map_err(|e| Self::pq_err(&at, e))?;
        if self.current.is_none() {
            self.open()?;
        }
        let full = match self.current.as_mut() {
            Some(OpenShard { writer, tmp, .. }) => {
                let pq = |e: parquet::errors::ParquetError| Self::pq_err(tmp, e);
                let mut rg = writer.next_row_group().map_err(pq)?;
                for c in chunks {
                    c.append_to_row_group(&mut rg).map_err(pq)?;
                }
                rg.close().map_err(pq)?;
                writer.bytes_written() as u64 >= self.max_bytes
            }
            None => false,
        };
        if full {
            self.close_current()?;
        }
        Ok(())
    }

    /// Closes the last shard; a folder that got no rows gets one empty shard,
    /// so readers still find the schema. Returns the shard paths.
    pub fn finish(mut self) -> Result<Vec<PathBuf>> {
        self.submit(true)?;
        while !self.in_flight.is_empty() {
            self.append_oldest()?;
        }
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

/// Where a [`BackgroundWriter`] puts its batches.
pub trait BatchSink: Send + 'static {
    /// Appends a batch.
    fn write(&mut self, batch: &RecordBatch) -> Result<()>;
    /// Closes the output; returns the files written.
    fn finish(self: Box<Self>) -> Result<Vec<PathBuf>>;
}

impl BatchSink for ShardWriter {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        ShardWriter::write(self, batch)
    }

    fn finish(self: Box<Self>) -> Result<Vec<PathBuf>> {
        ShardWriter::finish(*self)
    }
}

/// Records staged for the same process to read back once: one Arrow IPC
/// file (`part-00000.arrow`), written under a temporary name. The batches are
/// stored as they are, with no encoding or compression: the cheapest to
/// write and read on a local disk.
pub struct IpcStaging {
    writer: Option<arrow::ipc::writer::FileWriter<std::io::BufWriter<File>>>,
    tmp: PathBuf,
    fin: PathBuf,
}

impl IpcStaging {
    /// A staging file in `dir` (created).
    pub fn new(dir: &Path, schema: SchemaRef) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let tmp = dir.join(".part-00000.arrow.tmp");
        let fin = dir.join("part-00000.arrow");
        let f = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let writer = arrow::ipc::writer::FileWriter::try_new(std::io::BufWriter::with_capacity(1 << 20, f), &schema)
            .map_err(|e| ShardWriter::pq_err(&tmp, e))?;
        Ok(IpcStaging {
            writer: Some(writer),
            tmp,
            fin,
        })
    }
}

impl BatchSink for IpcStaging {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        match self.writer.as_mut() {
            Some(w) => w.write(batch).map_err(|e| ShardWriter::pq_err(&self.tmp, e)),
            None => Err(Error::Run("staging file already closed".into())),
        }
    }

    fn finish(mut self: Box<Self>) -> Result<Vec<PathBuf>> {
        if let Some(mut w) = self.writer.take() {
            w.finish().map_err(|e| ShardWriter::pq_err(&self.tmp, e))?;
            let mut inner = w.into_inner().map_err(|e| ShardWriter::pq_err(&self.tmp, e))?;
            inner.flush().map_err(|e| Error::io(&self.tmp, e))?;
        }
        std::fs::rename(&self.tmp, &self.fin).map_err(|e| Error::io(&self.fin, e))?;
        Ok(vec![self.fin.clone()])
    }
}

/// A [`BatchSink`] on its own thread: `write` hands the batch over (at most
/// two batches wait), so encoding and compressing overlap with the caller's
/// work. Shards are the same as with the writer used directly.
pub struct BackgroundWriter {
    tx: Option<std::sync::mpsc::SyncSender<RecordBatch>>,
    handle: Option<std::thread::JoinHandle<Result<Vec<PathBuf>>>>,
}

impl BackgroundWriter {
    /// Moves `writer` to a new thread.
    pub fn spawn(writer: impl BatchSink) -> Self {
        let mut writer: Box<dyn BatchSink> = Box::new(writer);
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

    /// Says no batch follows: the writer encodes what it holds and closes
    /// its last shard on its own thread, while the caller goes on;
    /// [`BackgroundWriter::finish`] then waits for it.
    pub fn close(&mut self) {
        self.tx = None;
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

/// A writer dropped without [`BackgroundWriter::finish`] (a run that failed
/// or was stopped) still waits for its thread, so that no shard is written
/// after the run has removed its partial output.
impl Drop for BackgroundWriter {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    fn batches() -> (SchemaRef, Vec<RecordBatch>) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, false),
            Field::new("text", DataType::Utf8, false),
        ]));
        // 150,000 rows in uneven batches: row groups are cut inside batches.
        let mut out = Vec::new();
        let mut start = 0i64;
        for len in [1usize, 70_000, 3, 50_000, 29_996] {
            let n: Vec<i64> = (start..start + len as i64).collect();
            let text: Vec<String> = n
                .iter()
                .map(|i| format!("row {i} {}", "x".repeat((*i % 7) as usize)))
                .collect();
            let b = RecordBatch::try_new(
                schema.clone(),
                vec![Arc::new(Int64Array::from(n)), Arc::new(StringArray::from(text))],
            )
            .expect("test");
            out.push(b);
            start += len as i64;
        }
        (schema, out)
    }

    fn write(dir: &Path, pool: Option<usize>, max_bytes: u64) -> Vec<Vec<u8>> {
        write_with(dir, pool, max_bytes, false)
    }

    fn write_with(dir: &Path, pool: Option<usize>, max_bytes: u64, side_by_side: bool) -> Vec<Vec<u8>> {
        let (schema, batches) = batches();
        let mut w = ShardWriter::new(dir, schema, max_bytes).expect("test");
        if side_by_side {
            w = w.columns_side_by_side();
        }
        if let Some(n) = pool {
            let p = rayon::ThreadPoolBuilder::new().num_threads(n).build().expect("test");
            w = w.encode_on(Arc::new(p));
        }
        for b in &batches {
            w.write(b).expect("test");
        }
        assert_eq!(w.rows(), 150_000);
        let files = w.finish().expect("test");
        files.iter().map(|f| std::fs::read(f).expect("test")).collect()
    }

    /// Encoding row groups on a pool, several at once, with every group's
    /// columns side by side or not, gives the same shards as encoding them
    /// one by one, with and without rotation.
    #[test]
    fn pool_changes_no_byte() {
        let dir = tempfile::tempdir().expect("test");
        for max_bytes in [u64::MAX, 1] {
            let alone = write(&dir.path().join(format!("a{max_bytes}")), None, max_bytes);
            for threads in [1, 2, 3] {
                for side_by_side in [false, true] {
                    let pooled = write_with(
                        &dir.path().join(format!("p{threads}-{max_bytes}-{side_by_side}")),
                        Some(threads),
                        max_bytes,
                        side_by_side,
                    );
                    assert_eq!(
                        alone, pooled,
                        "{threads} threads, shards of {max_bytes} bytes, columns side by side: {side_by_side}"
                    );
                }
            }
            if max_bytes != u64::MAX {
                assert!(alone.len() > 1, "rotation happened");
            }
        }
    }

    /// Where a row group ends depends on the rows, not on the batches that
    /// carried them: a distributed run hands the writer the rows of a local
    /// run in other batches (its shards are byte-identical only when its
    /// batches are too, see [`crate::output::rechunk`], but the row groups
    /// must not hang on them).
    #[test]
    fn row_groups_end_at_the_same_row_however_rows_are_batched() {
        use parquet::file::reader::FileReader;
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, false),
            Field::new("raw", DataType::Utf8, false),
        ]));
        // 100 rows of about 200 kB, each weighing about 400 kB.
        let rows = |from: usize, len: usize| {
            let n: Vec<i64> = (from as i64..(from + len) as i64).collect();
            let raw: Vec<String> = n.iter().map(|i| format!("{i:03} {}", "x".repeat(200_000))).collect();
            RecordBatch::try_new(
                schema.clone(),
                vec![Arc::new(Int64Array::from(n)), Arc::new(StringArray::from(raw))],
            )
            .expect("test")
        };
        let dir = tempfile::tempdir().expect("test");
        for (k, cuts) in [vec![100], vec![1, 37, 5, 50, 7], vec![41, 1, 58]]
            .into_iter()
            .enumerate()
        {
            let mut w = ShardWriter::new(&dir.path().join(k.to_string()), schema.clone(), u64::MAX).expect("test");
            let mut from = 0;
            for len in cuts {
                w.write(&rows(from, len)).expect("test");
                from += len;
            }
            let files = w.finish().expect("test");
            let reader =
                parquet::file::reader::SerializedFileReader::new(File::open(&files[0]).expect("test")).expect("test");
            let meta = reader.metadata();
            let groups: Vec<i64> = (0..meta.num_row_groups())
                .map(|i| meta.row_group(i).num_rows())
                .collect();
            // 16 MiB / (2 x 200,004 + 64) = 41.9: the 42nd row fills a group.
            assert_eq!(groups, [42, 42, 16], "batching {k}");
        }
    }

    /// The settings reach nested columns too: roles are dictionary
    /// encoded, message text carries no min/max statistics.
    #[test]
    fn column_settings_reach_nested_columns() {
        use crate::output::schema::{kept_schema, RecordRows};
        let dir = tempfile::tempdir().expect("test");
        let mut rows = RecordRows::new(false);
        for i in 0..3 {
            let r = crate::filters::testing::record(&format!(
                r#"{{"instruction": "question {i}", "output": "answer {i}"}}"#
            ));
            rows.push(&r, "f.jsonl", None);
        }
        let mut w = ShardWriter::new(dir.path(), kept_schema(), u64::MAX).expect("test");
        w.write(&rows.finish()).expect("test");
        let files = w.finish().expect("test");
        let f = File::open(&files[0]).expect("test");
        let r = parquet::file::reader::SerializedFileReader::new(f).expect("test");
        let rg = parquet::file::reader::FileReader::metadata(&r).row_group(0).clone();
        let col = |name: &str| {
            rg.columns()
                .iter()
                .find(|c| c.column_path().string() == name)
                .unwrap_or_else(|| panic!("no column {name}"))
                .clone()
        };
        let dict = |name: &str| col(name).dictionary_page_offset().is_some();
        assert!(dict("messages.list.item.role"));
        assert!(dict("source_file"));
        assert!(!dict("messages.list.item.content"));
        assert!(col("messages.list.item.content")
            .statistics()
            .is_none_or(|s| s.min_bytes_opt().is_none()));
        assert!(col("raw").statistics().is_none_or(|s| s.min_bytes_opt().is_none()));
        assert!(col("id").statistics().is_some_and(|s| s.min_bytes_opt().is_some()));
    }

    /// Rows come back in order, in row groups of at most ROW_GROUP_ROWS.
    #[test]
    fn rows_read_back_in_order() {
        let dir = tempfile::tempdir().expect("test");
        write(dir.path(), Some(2), u64::MAX);
        let f = File::open(dir.path().join("part-00000.parquet")).expect("test");
        let r = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f).expect("test");
        let groups: Vec<i64> = r.metadata().row_groups().iter().map(|g| g.num_rows()).collect();
        assert_eq!(groups, [65_536, 65_536, 18_928]);
        let mut next = 0i64;
        for b in r.build().expect("test") {
            let b = b.expect("test");
            let n = b.column(0).as_any().downcast_ref::<Int64Array>().expect("test");
            for v in n.values() {
                assert_eq!(*v, next);
                next += 1;
            }
        }
        assert_eq!(next, 150_000);
    }
}
