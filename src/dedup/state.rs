//! The dedup state gathered in phase 1, one record at a time, in input order.
//!
//! Held in memory per record: its exact hash packed with its sequence number
//! (16 bytes) and, for the `longest-response` policy, its response length (4
//! bytes), or, for the `best-metric` policy, the value of its survivor metric
//! (4 bytes). Band entries (16 bytes per band per record) are held until they and
//! the exact entries reach half of the memory budget, and then spilled
//! ([`super::lsh::BandStore`]). Signatures (`4 * permutations` bytes), shingle
//! sets and ids (variable-length ones with 8 bytes of offset each) are held
//! in memory while together they fit in a quarter of the budget, and go to
//! files in the staging folder past it; they are read only for candidate
//! pairs and for the records a decision names.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::dedup::config::{DedupConfig, Policy};
use crate::dedup::lsh::BandStore;
use crate::error::{Error, Result};

/// What phase 1 computes for one record (in parallel).
#[derive(Debug, Clone, Default)]
pub struct Keys {
    /// Exact key hash, when exact dedup runs.
    pub exact: Option<u128>,
    /// MinHash signature (empty when near dedup is off or the text has no words).
    pub sig: Vec<u32>,
    /// The signature's LSH band keys ([`crate::dedup::lsh::band_keys`]), one per band.
    pub bands: Vec<u64>,
    /// Sorted distinct 32-bit shingle hashes, for exact verification (under
    /// `compare = "parts"`, the request's and the answer's after their count:
    /// [`crate::dedup::similarity`]).
    pub shingles: Vec<u32>,
    /// Length in bytes of the last answer.
    pub response_len: u32,
    /// The value of the survivor metric (`best-metric` policy; `NaN`: not
    /// measured). Set by the pipeline from what the record stages measured.
    pub metric: f32,
    /// The benchmark item the record contains, if any.
    pub contaminated: Option<crate::dedup::decontam::Hit>,
}

/// Phase-1 state: per-record index in memory, signatures and ids on disk.
pub struct Collector {
    dir: PathBuf,
    perms: usize,
    bands: usize,
    sigs: Spool<u32>,
    ids: BlobWriter<u8>,
    /// Bytes of signatures, shingle sets and ids held in memory before they
    /// all go to files.
    blob_cap: usize,
    n: u32,
    sets: Option<BlobWriter<u32>>,
    /// Packed exact entries ([`super::exact::pack`]).
    pub exact: Vec<u128>,
    response_len: Vec<u32>,
    keep_lengths: bool,
    metric: Vec<f32>,
    keep_metric: bool,
    /// One band store per band partition (one in a local run).
    bands_store: Vec<BandStore>,
    part_buf: Vec<Vec<u64>>,
    zeros: Vec<u32>,
    references: u32,
}

fn create(path: &Path) -> Result<BufWriter<File>> {
    let f = File::create(path).map_err(|e| Error::io(path, e))?;
    Ok(BufWriter::with_capacity(1 << 20, f))
}

impl Collector {
    /// A collector writing under `dir` (created).
    pub fn new(dir: &Path, cfg: &DedupConfig) -> Result<Self> {
        Self::partitioned(dir, cfg, 1)
    }

    /// A collector whose band entries are split by key into `partitions`
    /// stores, one per task of the `pairs` step.
    pub fn partitioned(dir: &Path, cfg: &DedupConfig, partitions: usize) -> Result<Self> {
        let partitions = partitions.max(1);
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let id_path = dir.join("ids.bin");
        let perms = if cfg.near.enabled { cfg.near.permutations } else { 0 };
        Ok(Collector {
            dir: dir.to_path_buf(),
            perms,
            bands: cfg.near.bands,
            sigs: Spool::new(&dir.join("signatures.bin")),
            ids: BlobWriter::new(&id_path),
            blob_cap: usize::try_from(cfg.memory_bytes / 4).unwrap_or(usize::MAX),
            n: 0,
            sets: if cfg.near.enabled && cfg.near.verify == crate::dedup::config::Verify::Exact {
                Some(BlobWriter::new(&dir.join("shingles.bin")))
            } else {
                None
            },
            exact: Vec::new(),
            response_len: Vec::new(),
            keep_lengths: cfg.survivor == Policy::LongestResponse,
            metric: Vec::new(),
            keep_metric: cfg.survivor == Policy::BestMetric,
            // The exact entries and band entries share half of the budget; the
            // rest is for the pipeline's batches, the writers and the
            // decision's verified pairs.
            bands_store: (0..partitions)
                .map(|p| {
                    let d = if partitions == 1 {
                        dir.join("bands")
                    } else {
                        dir.join(format!("bands-{p:05}"))
                    };
                    BandStore::new(&d, cfg.memory_bytes / 2 / partitions as u64)
                })
                .collect(),
            part_buf: vec![Vec::new(); partitions],
            zeros: vec![0; perms],
            references: 0,
        })
    }

    /// Records collected so far (references included).
    pub fn len(&self) -> u32 {
        self.n
    }

    /// Whether nothing was collected.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Reference records (sequence numbers `0..references()`).
    pub fn references(&self) -> u32 {
        self.references
    }

    /// Adds a reference record; must come before every input record.
    pub fn push_reference(&mut self, id: &str, keys: &Keys) -> Result<u32> {
        let seq = self.push(id, keys)?;
        self.references += 1;
        Ok(seq)
    }

    /// Adds a record; returns its sequence number.
    pub fn push(&mut self, id: &str, keys: &Keys) -> Result<u32> {
        let seq = self.len();
        if seq == u32::MAX {
            return Err(Error::Run("dedup holds at most 2^32 - 1 records per run".into()));
        }
        self.n += 1;
        self.ids.push(id.as_bytes())?;
        if let Some(h) = keys.exact {
            self.exact.push(crate::dedup::exact::pack(h, seq));
        }
        if let Some(sets) = self.sets.as_mut() {
            sets.push(&keys.shingles)?;
        }
        if self.keep_lengths {
            self.response_len.push(keys.response_len);
        }
        if self.keep_metric {
            // One zero, so that -0 and 0 rank alike.
            self.metric.push(keys.metric + 0.0);
        }
        if self.perms > 0 {
            if keys.sig.len() == self.perms && keys.bands.len() == self.bands {
                self.sigs.write(&keys.sig)?;
                let other = self.exact.capacity() * 16 + self.response_len.capacity() * 4 + self.metric.capacity() * 4;
                if self.bands_store.len() == 1 {
                    self.bands_store[0].push(seq, &keys.bands, other)?;
                } else {
                    let n = self.bands_store.len() as u64;
                    for b in &mut self.part_buf {
                        b.clear();
                    }
                    for &k in &keys.bands {
                        self.part_buf[(k % n) as usize].push(k);
                    }
                    for (store, keys) in self.bands_store.iter_mut().zip(&self.part_buf) {
                        if !keys.is_empty() {
                            store.push(seq, keys, other)?;
                        }
                    }
                }
            } else {
                self.sigs.write(&self.zeros)?;
            }
        }
        if self.blob_bytes() > self.blob_cap {
            self.spill_blobs()?;
        }
        Ok(seq)
    }

    /// Bytes of signatures, shingle sets and ids held in memory.
    fn blob_bytes(&self) -> usize {
        self.sigs.held() + self.ids.held() + self.sets.as_ref().map_or(0, |s| s.held())
    }

    /// Writes the signatures, shingle sets and ids held so far to their
    /// files, and every later one straight there.
    fn spill_blobs(&mut self) -> Result<()> {
        self.sigs.spill()?;
        self.ids.spill()?;
        if let Some(s) = self.sets.as_mut() {
            s.spill()?;
        }
        Ok(())
    }

    /// Bytes of the per-record state, band entries, signatures, shingle
    /// sets and ids held in memory.
    pub fn held_bytes(&self) -> usize {
        self.blob_bytes()
            + self.exact.len() * 16
            + self.response_len.len() * 4
            + self.metric.len() * 4
            + self.bands_store.iter().map(|b| b.held_bytes()).sum::<usize>()
    }

    /// Band entries spilled to disk, and run files.
    pub fn spill_stats(&self) -> (u64, usize) {
        (
            self.bands_store.iter().map(|b| b.spilled()).sum(),
            self.bands_store.iter().map(|b| b.runs()).sum(),
        )
    }

    /// Closes the files; returns the parts the decision needs (one task).
    pub fn finish(mut self) -> Result<(Collected, Ids)> {
        let ids = Ids(self.ids.finish()?);
        let sigs = Signatures::from_spool(self.sigs, self.perms)?;
        let sets = match self.sets {
            Some(w) => Some(w.finish()?),
            None => None,
        };
        let bands = self
            .bands_store
            .pop()
            .unwrap_or_else(|| BandStore::new(&self.dir.join("bands"), 0));
        Ok((
            Collected {
                dir: self.dir,
                exact: self.exact,
                response_len: self.response_len,
                metric: self.metric,
                bands,
                sigs,
                sets,
                references: self.references,
            },
            ids,
        ))
    }

    /// Closes the files and writes what stays in memory to `dir` too, for
    /// the tasks of later steps ([`TaskState`]).
    pub fn finish_to_disk(mut self) -> Result<TaskState> {
        self.spill_blobs()?;
        self.sigs.finish()?;
        self.ids.finish()?;
        if let Some(w) = self.sets {
            w.finish()?;
        }
        write_le(&self.dir.join("exact.bin"), &self.exact)?;
        write_le(&self.dir.join("response_len.bin"), &self.response_len)?;
        write_le(&self.dir.join("metric.bin"), &self.metric)?;
        let mut band_runs = Vec::new();
        for store in self.bands_store {
            band_runs.push(store.into_runs()?);
        }
        Ok(TaskState {
            records: self.n,
            references: self.references,
            band_runs,
        })
    }
}

/// What one `process` task leaves for the dedup steps besides its files:
/// its record count and its band run files per band partition.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TaskState {
    /// Records collected (references included).
    pub records: u32,
    /// Reference records among them.
    pub references: u32,
    /// Band run files, per band partition.
    pub band_runs: Vec<Vec<PathBuf>>,
}

/// The dedup state of every task of a distributed run, as one: sequence
/// numbers are global (task `r`'s first record is the sum of the earlier
/// tasks' records).
pub struct Tasks {
    dirs: Vec<PathBuf>,
    states: Vec<TaskState>,
    offsets: Vec<u32>,
}

impl Tasks {
    /// The tasks whose collector folders and states are given, in rank order.
    pub fn new(dirs: Vec<PathBuf>, states: Vec<TaskState>) -> Result<Self> {
        let mut offsets = Vec::with_capacity(states.len());
        let mut n: u64 = 0;
        for s in &states {
            offsets.push(n as u32);
            n += s.records as u64;
        }
        if n >= u32::MAX as u64 {
            return Err(Error::Run("dedup holds at most 2^32 - 1 records per run".into()));
        }
        Ok(Tasks { dirs, states, offsets })
    }

    /// Records in all tasks.
    pub fn records(&self) -> u32 {
        self.states.iter().map(|s| s.records).sum()
    }

    /// The first sequence number of each task.
    pub fn offsets(&self) -> &[u32] {
        &self.offsets
    }

    /// Every task's exact entries, with global sequence numbers.
    pub fn exact(&self) -> Result<Vec<u128>> {
        let mut out = Vec::new();
        for (dir, &off) in self.dirs.iter().zip(&self.offsets) {
            out.extend(
                read_le::<u128>(&dir.join("exact.bin"))?
                    .into_iter()
                    .map(|e| e + off as u128),
            );
        }
        Ok(out)
    }

    /// Every task's values of file `name`, in global order.
    fn per_record<T: Le>(&self, name: &str) -> Result<Vec<T>> {
        let mut out = Vec::new();
        for dir in &self.dirs {
            out.extend(read_le::<T>(&dir.join(name))?);
        }
        Ok(out)
    }

    /// Every task's response lengths, in global order.
    pub fn response_len(&self) -> Result<Vec<u32>> {
        self.per_record("response_len.bin")
    }

    /// Every task's survivor metric values, in global order.
    pub fn metric(&self) -> Result<Vec<f32>> {
        self.per_record("metric.bin")
    }

    /// Band entries of band partition `p` from every task.
    pub fn bands(&self, p: usize) -> BandStore {
        let mut runs = Vec::new();
        for (s, &off) in self.states.iter().zip(&self.offsets) {
            if let Some(r) = s.band_runs.get(p) {
                runs.extend(r.iter().map(|path| (path.clone(), off)));
            }
        }
        BandStore::from_runs(runs)
    }

    /// Signatures of every task.
    pub fn signatures(&self, perms: usize) -> Result<Signatures> {
        let mut parts = Vec::new();
        for (dir, &off) in self.dirs.iter().zip(&self.offsets) {
            let p = dir.join("signatures.bin");
            parts.push((off, Some(File::open(&p).map_err(|e| Error::io(&p, e))?), p));
        }
        Ok(Signatures {
            parts,
            perms,
            mem: None,
        })
    }

    fn blobs<T: Le>(&self, name: &str) -> Result<Blobs<T>> {
        let mut parts = Vec::new();
        for (dir, &off) in self.dirs.iter().zip(&self.offsets) {
            let p = dir.join(name);
            let ip = idx_path(&p);
            parts.push(BlobPart {
                first: off,
                files: Some((
                    File::open(&p).map_err(|e| Error::io(&p, e))?,
                    File::open(&ip).map_err(|e| Error::io(&ip, e))?,
                )),
                path: p,
                mem: None,
            });
        }
        Ok(Blobs { parts })
    }

    /// Record ids of every task.
    pub fn ids(&self) -> Result<Ids> {
        Ok(Ids(self.blobs("ids.bin")?))
    }

    /// Everything the decision needs, with band partition `p`'s entries
    /// (`None`: no band entries, for steps that need only exact entries and
    /// the per-record files).
    pub fn collected(&self, cfg: &DedupConfig, p: Option<usize>) -> Result<Collected> {
        let perms = if cfg.near.enabled { cfg.near.permutations } else { 0 };
        let sets = if cfg.near.enabled && cfg.near.verify == crate::dedup::config::Verify::Exact {
            Some(self.blobs::<u32>("shingles.bin")?)
        } else {
            None
        };
        Ok(Collected {
            dir: self.dirs.first().cloned().unwrap_or_default(),
            exact: self.exact()?,
            response_len: if cfg.survivor == Policy::LongestResponse {
                self.response_len()?
            } else {
                Vec::new()
            },
            metric: if cfg.survivor == Policy::BestMetric {
                self.metric()?
            } else {
                Vec::new()
            },
            bands: match p {
                Some(p) => self.bands(p),
                None => BandStore::from_runs(Vec::new()),
            },
            sigs: self.signatures(perms)?,
            sets,
            references: self.states.iter().map(|s| s.references).sum(),
        })
    }
}

/// The collected state handed to the decision.
pub struct Collected {
    /// The staging folder.
    pub dir: PathBuf,
    /// Packed exact entries.
    pub exact: Vec<u128>,
    /// Response lengths (`longest-response` policy only).
    pub response_len: Vec<u32>,
    /// Survivor metric values (`best-metric` policy only; `NaN`: not measured).
    pub metric: Vec<f32>,
    /// Band entries.
    pub bands: BandStore,
    /// Signatures (in memory, or on disk past the budget).
    pub sigs: Signatures,
    /// Shingle sets (exact verification only; in memory, or on disk past
    /// the budget).
    pub sets: Option<Blobs<u32>>,
    /// Reference records (`0..references`).
    pub references: u32,
}

/// Record ids, by sequence number, read back from `ids.bin`.
pub struct Ids(Blobs<u8>);

impl Ids {
    /// The id of record `seq`.
    pub fn get(&self, seq: u32) -> Result<String> {
        Ok(String::from_utf8_lossy(&self.0.get(seq)?).into_owned())
    }
}

/// Signatures, by sequence number, from `signatures.bin` (one file per
/// task, each with the sequence number of its first record).
pub struct Signatures {
    /// Per task: its first sequence number, its file (`None` when the
    /// signatures were held in memory) and the file's path.
    parts: Vec<(u32, Option<File>, PathBuf)>,
    perms: usize,
    /// The files' bytes, when [`Self::preload`] found room for them.
    mem: Option<Vec<Vec<u32>>>,
}

/// The part holding `seq`: the last one starting at or before it.
fn part_of<T>(parts: &[T], first: impl Fn(&T) -> u32, seq: u32) -> usize {
    parts.partition_point(|p| first(p) <= seq).saturating_sub(1)
}

impl Signatures {
    /// One task's signatures: from memory when they were held, else from
    /// the spool's file.
    fn from_spool(spool: Spool<u32>, perms: usize) -> Result<Self> {
        let path = spool.path.clone();
        Ok(match spool.finish()? {
            // One part per chunk: each holds whole signatures.
            Some(chunks) => {
                let mut parts = Vec::with_capacity(chunks.len().max(1));
                let mut first = 0u32;
                for c in &chunks {
                    parts.push((first, None, path.clone()));
                    first += c.len().checked_div(perms).unwrap_or(0) as u32;
                }
                let mut mem = chunks;
                if parts.is_empty() {
                    parts.push((0, None, path));
                    mem.push(Vec::new());
                }
                Signatures {
                    parts,
                    perms,
                    mem: Some(mem),
                }
            }
            None => Signatures {
                parts: vec![(0, Some(File::open(&path).map_err(|e| Error::io(&path, e))?), path)],
                perms,
                mem: None,
            },
        })
    }

    /// Signature length.
    pub fn perms(&self) -> usize {
        self.perms
    }

    /// Reads the files into memory when they fit in `max_bytes` (candidate
    /// checks read each signature once per shared bucket); returns the bytes
    /// loaded.
    pub fn preload(&mut self, max_bytes: u64) -> Result<u64> {
        if let Some(mem) = &self.mem {
            return Ok(mem.iter().map(|m| m.len() as u64 * 4).sum());
        }
        let mut total = 0u64;
        for (_, f, p) in &self.parts {
            if let Some(f) = f {
                total += f.metadata().map_err(|e| Error::io(p, e))?.len();
            }
        }
        if total > max_bytes {
            return Ok(0);
        }
        let mut mem = Vec::with_capacity(self.parts.len());
        for (_, _, p) in &self.parts {
            mem.push(read_le(p)?);
        }
        self.mem = Some(mem);
        Ok(total)
    }

    /// The signature of `seq`: borrowed when the signatures are in memory.
    pub fn get(&self, seq: u32) -> Result<Cow<'_, [u32]>> {
        let i = part_of(&self.parts, |p| p.0, seq);
        let (first, file, path) = &self.parts[i];
        let at = (seq - first) as usize * self.perms;
        if let Some(sig) = self.mem.as_ref().and_then(|m| m[i].get(at..at + self.perms)) {
            return Ok(Cow::Borrowed(sig));
        }
        let mut b = vec![0u8; self.perms * 4];
        let file = file
            .as_ref()
            .ok_or_else(|| Error::Run(format!("{}: no signature {seq}", path.display())))?;
        file.read_exact_at(&mut b, at as u64 * 4)
            .map_err(|e| Error::io(path, e))?;
        Ok(Cow::Owned(from_le(&b)))
    }
}

/// A fixed-size value stored little-endian in the dedup state's files.
pub trait Le: Copy + Send + Sync + 'static {
    /// Bytes per value.
    const SIZE: usize;
    /// Appends the value's bytes.
    fn put(self, out: &mut Vec<u8>);
    /// The value of `SIZE` bytes.
    fn take(b: &[u8]) -> Self;
}

/// `Le` for the fixed-size number types, through their `to_le_bytes` and
/// `from_le_bytes`.
macro_rules! le_numbers {
    ($($t:ty),*) => {$(
        impl Le for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            fn put(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn take(b: &[u8]) -> Self {
                let mut a = [0u8; std::mem::size_of::<$t>()];
                a.copy_from_slice(&b[..Self::SIZE]);
                <$t>::from_le_bytes(a)
            }
        }
    )*};
}

le_numbers!(u8, u32, u64, u128, f32);

/// Appends the little-endian bytes of `vs` to `out`.
fn put_le<T: Le>(vs: &[T], out: &mut Vec<u8>) {
    out.reserve(vs.len() * T::SIZE);
    for &v in vs {
        v.put(out);
    }
}

/// Writes `vs` little-endian to the file at `path`.
pub(crate) fn write_le<T: Le>(path: &Path, vs: &[T]) -> Result<()> {
    let mut b = Vec::new();
    put_le(vs, &mut b);
    std::fs::write(path, b).map_err(|e| Error::io(path, e))
}

/// The little-endian values of the file at `path`.
pub(crate) fn read_le<T: Le>(path: &Path) -> Result<Vec<T>> {
    Ok(from_le(&std::fs::read(path).map_err(|e| Error::io(path, e))?))
}

/// The values of little-endian bytes (a trailing partial value is ignored).
pub(crate) fn from_le<T: Le>(b: &[u8]) -> Vec<T> {
    b.chunks_exact(T::SIZE).map(T::take).collect()
}

/// Values appended in order: held in memory as they are until
/// [`Spool::spill`], then written little-endian to a file. Held values are
/// handed over without a copy or a decoding step.
///
/// Held values are kept in chunks of about [`CHUNK_BYTES`], and one write
/// never straddles two chunks: a spool grows without copying what it
/// holds, where a doubling `Vec` copies it all again at every step and
/// touches twice the memory on the way (the signatures and shingle sets of
/// a large run are hundreds of megabytes).
struct Spool<T: Le> {
    path: PathBuf,
    mem: Option<Vec<Vec<T>>>,
    /// Values held in memory.
    held: usize,
    /// Values per chunk.
    chunk: usize,
    file: Option<BufWriter<File>>,
    /// Scratch for the bytes of values written to the file.
    bytes: Vec<u8>,
}

/// Bytes of one chunk of a [`Spool`].
const CHUNK_BYTES: usize = 4 << 20;

impl<T: Le> Spool<T> {
    /// A spool for `path`, holding its values in memory for now.
    fn new(path: &Path) -> Self {
        Self::with_chunk_bytes(path, CHUNK_BYTES)
    }

    /// A spool holding its values in chunks of `bytes` (tests use small ones).
    fn with_chunk_bytes(path: &Path, bytes: usize) -> Self {
        Spool {
            path: path.to_path_buf(),
            mem: Some(Vec::new()),
            held: 0,
            chunk: (bytes / T::SIZE).max(1),
            file: None,
            bytes: Vec::new(),
        }
    }

    /// Appends `vs`.
    fn write(&mut self, vs: &[T]) -> Result<()> {
        match (&mut self.mem, &mut self.file) {
            (Some(chunks), _) => {
                let room = chunks.last().map_or(0, |c| c.capacity() - c.len());
                if vs.len() > room {
                    chunks.push(Vec::with_capacity(vs.len().max(self.chunk)));
                }
                if let Some(c) = chunks.last_mut() {
                    c.extend_from_slice(vs);
                }
                self.held += vs.len();
                Ok(())
            }
            (None, Some(f)) => {
                self.bytes.clear();
                put_le(vs, &mut self.bytes);
                f.write_all(&self.bytes).map_err(|e| Error::io(&self.path, e))
            }
            (None, None) => Err(Error::Run(format!("{}: already closed", self.path.display()))),
        }
    }

    /// Bytes held in memory.
    fn held(&self) -> usize {
        self.held * T::SIZE
    }

    /// Writes what is held to the file; later values go straight there.
    fn spill(&mut self) -> Result<()> {
        if let Some(chunks) = self.mem.take() {
            let mut f = create(&self.path)?;
            for part in chunks.iter().flat_map(|c| c.chunks(1 << 16)) {
                self.bytes.clear();
                put_le(part, &mut self.bytes);
                f.write_all(&self.bytes).map_err(|e| Error::io(&self.path, e))?;
            }
            self.held = 0;
            self.file = Some(f);
        }
        Ok(())
    }

    /// Ends writing: the chunks of values when they are held (each write
    /// whole in one chunk), else `None` once the file is complete.
    fn finish(mut self) -> Result<Option<Vec<Vec<T>>>> {
        if let Some(chunks) = self.mem.take() {
            return Ok(Some(chunks));
        }
        if let Some(mut f) = self.file.take() {
            f.flush().map_err(|e| Error::io(&self.path, e))?;
        }
        Ok(None)
    }
}

/// Variable-length lists of values appended in order, with their end
/// offsets in bytes (8 bytes each) in a companion (`.idx`): held in memory
/// until spilled, then in the two files.
pub struct BlobWriter<T: Le> {
    w: Spool<T>,
    idx: Spool<u64>,
    end: u64,
}

fn idx_path(path: &Path) -> PathBuf {
    path.with_extension("idx")
}

impl<T: Le> BlobWriter<T> {
    /// Blobs for the file at `path`, held in memory for now.
    pub fn new(path: &Path) -> Self {
        Self::with_chunk_bytes(path, CHUNK_BYTES)
    }

    /// Blobs held in chunks of `bytes` of values (tests use small ones).
    fn with_chunk_bytes(path: &Path, bytes: usize) -> Self {
        BlobWriter {
            w: Spool::with_chunk_bytes(path, bytes),
            idx: Spool::new(&idx_path(path)),
            end: 0,
        }
    }

    /// Appends one blob.
    pub fn push(&mut self, vs: &[T]) -> Result<()> {
        self.w.write(vs)?;
        self.end += (vs.len() * T::SIZE) as u64;
        self.idx.write(&[self.end])
    }

    /// Bytes held in memory.
    pub fn held(&self) -> usize {
        self.w.held() + self.idx.held()
    }

    /// Writes the blobs held so far to the files, and later ones straight there.
    pub fn spill(&mut self) -> Result<()> {
        self.w.spill()?;
        self.idx.spill()
    }

    /// Ends writing; the blobs, from memory or from the files.
    pub fn finish(self) -> Result<Blobs<T>> {
        let path = self.w.path.clone();
        let ip = self.idx.path.clone();
        let (data, idx) = (self.w.finish()?, self.idx.finish()?);
        let open = |p: &Path| File::open(p).map_err(|e| Error::io(p, e));
        match (data, idx) {
            (Some(data), Some(idx)) => Ok(Blobs {
                parts: held_parts(data, &idx.concat(), &path),
            }),
            _ => Ok(Blobs {
                parts: vec![BlobPart {
                    first: 0,
                    files: Some((open(&path)?, open(&ip)?)),
                    path,
                    mem: None,
                }],
            }),
        }
    }
}

/// Held blobs as one part per chunk of values: a chunk holds whole blobs,
/// and its part's end offsets count from the chunk's start. `ends` are the
/// blobs' end offsets in bytes over all chunks.
fn held_parts<T: Le>(chunks: Vec<Vec<T>>, ends: &[u64], path: &Path) -> Vec<BlobPart<T>> {
    let mut parts = Vec::with_capacity(chunks.len() + 1);
    let (mut blob, mut base) = (0usize, 0u64);
    let part = |first: usize, data: Vec<T>, ends: &[u64], base: u64| BlobPart {
        first: first as u32,
        files: None,
        path: path.to_path_buf(),
        mem: Some((data, ends.iter().map(|e| e - base).collect())),
    };
    for data in chunks {
        let end = base + (data.len() * T::SIZE) as u64;
        let first = blob;
        while blob < ends.len() && ends[blob] <= end {
            blob += 1;
        }
        parts.push(part(first, data, &ends[first..blob], base));
        base = end;
    }
    // Empty blobs after the last value (or no values at all).
    if blob < ends.len() || parts.is_empty() {
        parts.push(part(blob, Vec::new(), &ends[blob..], base));
    }
    parts
}

/// Blobs by index (one file pair per task, each with its first index).
pub struct Blobs<T: Le> {
    parts: Vec<BlobPart<T>>,
}

struct BlobPart<T: Le> {
    first: u32,
    /// The data and index files (`None` when the blobs were held in memory).
    files: Option<(File, File)>,
    path: PathBuf,
    /// The values and end offsets, when held or when [`Blobs::preload`]
    /// found room for them.
    mem: Option<(Vec<T>, Vec<u64>)>,
}

impl<T: Le> Blobs<T> {
    /// Reads the files into memory when they fit in `max_bytes`; returns
    /// the bytes loaded.
    pub fn preload(&mut self, max_bytes: u64) -> Result<u64> {
        let mut total = 0u64;
        for p in &self.parts {
            match (&p.mem, &p.files) {
                (Some((data, idx)), _) => total += (data.len() * T::SIZE + idx.len() * 8) as u64,
                (None, Some((file, idx))) => {
                    total += file.metadata().map_err(|e| Error::io(&p.path, e))?.len();
                    total += idx.metadata().map_err(|e| Error::io(&p.path, e))?.len();
                }
                (None, None) => {}
            }
        }
        if total > max_bytes {
            return Ok(0);
        }
        for p in &mut self.parts {
            if p.mem.is_some() {
                continue;
            }
            p.mem = Some((read_le(&p.path)?, read_le(&idx_path(&p.path))?));
        }
        Ok(total)
    }

    /// The values of blob `i`: borrowed when the blobs are in memory.
    pub fn get(&self, i: u32) -> Result<Cow<'_, [T]>> {
        let part = &self.parts[part_of(&self.parts, |p| p.first, i)];
        let i = (i - part.first) as usize;
        let missing = || Error::Run(format!("{}: no blob {i}", part.path.display()));
        if let Some((data, idx)) = &part.mem {
            let start = if i == 0 { Some(&0) } else { idx.get(i - 1) };
            let (Some(&start), Some(&end)) = (start, idx.get(i)) else {
                return Err(missing());
            };
            let (start, end) = (start as usize / T::SIZE, end as usize / T::SIZE);
            return data.get(start..end).map(Cow::Borrowed).ok_or_else(missing);
        }
        let Some((file, idx)) = &part.files else {
            return Err(missing());
        };
        let mut b = [0u8; 16];
        let (start, end) = if i == 0 {
            idx.read_exact_at(&mut b[8..], 0)
                .map_err(|e| Error::io(&part.path, e))?;
            (0, u64::take(&b[8..]))
        } else {
            idx.read_exact_at(&mut b, (i as u64 - 1) * 8)
                .map_err(|e| Error::io(&part.path, e))?;
            (u64::take(&b[..8]), u64::take(&b[8..]))
        };
        let mut buf = vec![0u8; end.saturating_sub(start) as usize];
        file.read_exact_at(&mut buf, start)
            .map_err(|e| Error::io(&part.path, e))?;
        Ok(Cow::Owned(from_le(&buf)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Blobs read back the same whether they stayed in memory or were
    /// spilled to their files before, between or after the pushes.
    #[test]
    fn blobs_read_back_the_same_held_or_spilled() {
        // Empty blobs first, between and last; chunks of one default size
        // and of sizes that cut the blobs into many parts.
        let blobs: Vec<Vec<u8>> = (0..10u8).chain([0, 0]).map(|i| vec![i; i as usize * 3]).collect();
        for (spill_at, chunk) in [None, Some(0), Some(4), Some(12)]
            .into_iter()
            .flat_map(|s| [(s, CHUNK_BYTES), (s, 1), (s, 7), (s, 40)])
        {
            let dir = tempfile::tempdir().expect("test");
            let path = dir.path().join("b.bin");
            let mut w = BlobWriter::with_chunk_bytes(&path, chunk);
            for (i, b) in blobs.iter().enumerate() {
                if spill_at == Some(i) {
                    w.spill().expect("test");
                }
                w.push(b).expect("test");
            }
            if spill_at == Some(blobs.len()) {
                w.spill().expect("test");
            }
            assert_eq!(w.held() == 0, spill_at.is_some());
            let r = w.finish().expect("test");
            assert_eq!(path.exists(), spill_at.is_some(), "{spill_at:?}");
            for (i, b) in blobs.iter().enumerate() {
                assert_eq!(
                    r.get(i as u32).expect("test").as_ref(),
                    b.as_slice(),
                    "{spill_at:?} chunk {chunk} blob {i}"
                );
            }
            assert!(r.get(blobs.len() as u32).is_err(), "{spill_at:?} chunk {chunk}");
        }
    }

    /// Signatures and `u32` blobs come back from memory or from the file alike.
    #[test]
    fn signatures_read_back_the_same_held_or_spilled() {
        let sigs: Vec<Vec<u32>> = (0..5u32).map(|i| (0..4).map(|j| i * 10 + j).collect()).collect();
        for (spill, chunk) in [
            (false, CHUNK_BYTES),
            (true, CHUNK_BYTES),
            (false, 16),
            (false, 40),
            (true, 40),
        ] {
            let dir = tempfile::tempdir().expect("test");
            let mut s = Spool::with_chunk_bytes(&dir.path().join("signatures.bin"), chunk);
            for (i, sig) in sigs.iter().enumerate() {
                if spill && i == 2 {
                    s.spill().expect("test");
                }
                s.write(sig).expect("test");
            }
            let r = Signatures::from_spool(s, 4).expect("test");
            let mut w = BlobWriter::with_chunk_bytes(&dir.path().join("sets.bin"), chunk);
            for (i, sig) in sigs.iter().enumerate() {
                if spill && i == 3 {
                    w.spill().expect("test");
                }
                w.push(sig).expect("test");
            }
            let sets = w.finish().expect("test");
            for (i, sig) in sigs.iter().enumerate() {
                assert_eq!(
                    sets.get(i as u32).expect("test").as_ref(),
                    sig.as_slice(),
                    "spill {spill} chunk {chunk}"
                );
            }
            for (i, sig) in sigs.iter().enumerate() {
                assert_eq!(
                    r.get(i as u32).expect("test").as_ref(),
                    sig.as_slice(),
                    "spill {spill} chunk {chunk}"
                );
            }
        }
    }
}
