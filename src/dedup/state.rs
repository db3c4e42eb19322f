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
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::dedup::config::{DedupConfig, Policy};
use crate::dedup::lsh::BandStore;
pub(crate) use crate::dedup::spill::{from_le, read_le, write_le, BlobWriter, Blobs, Le};
use crate::dedup::spill::{idx_path, part_of, BlobPart, Spool};
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
    /// The semantic rule's entry ([`crate::dedup::semantic`]; empty when
    /// the rule is off or the text has no words).
    pub sem: Vec<u8>,
    /// Its band keys.
    pub sem_bands: Vec<u64>,
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
    /// The semantic rule's entries and band store, when it runs.
    sem: Option<(BlobWriter<u8>, BandStore)>,
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
            sem: cfg.semantic.enabled.then(|| {
                (
                    BlobWriter::new(&dir.join("semantic.bin")),
                    BandStore::new(&dir.join("semantic-bands"), cfg.memory_bytes / 8),
                )
            }),
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
        if let Some((entries, bands)) = self.sem.as_mut() {
            entries.push(&keys.sem)?;
            if !keys.sem_bands.is_empty() {
                bands.push(seq, &keys.sem_bands, 0)?;
            }
        }
        if self.blob_bytes() > self.blob_cap {
            self.spill_blobs()?;
        }
        Ok(seq)
    }

    /// Bytes of signatures, shingle sets and ids held in memory.
    fn blob_bytes(&self) -> usize {
        self.sigs.held()
            + self.ids.held()
            + self.sets.as_ref().map_or(0, |s| s.held())
            + self.sem.as_ref().map_or(0, |s| s.0.held())
    }

    /// Writes the signatures, shingle sets and ids held so far to their
    /// files, and every later one straight there.
    fn spill_blobs(&mut self) -> Result<()> {
        self.sigs.spill()?;
        self.ids.spill()?;
        if let Some(s) = self.sets.as_mut() {
            s.spill()?;
        }
        if let Some(s) = self.sem.as_mut() {
            s.0.spill()?;
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
            + self.sem.as_ref().map_or(0, |s| s.1.held_bytes())
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
        let sem = match self.sem {
            Some((entries, bands)) => Some((entries.finish()?, bands)),
            None => None,
        };
        Ok((
            Collected {
                sem,
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
        let semantic_runs = match self.sem {
            Some((entries, bands)) => {
                entries.finish()?;
                bands.into_runs()?
            }
            None => Vec::new(),
        };
        Ok(TaskState {
            records: self.n,
            references: self.references,
            band_runs,
            semantic_runs,
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
    /// The semantic rule's band run files (one partition: its pairs are
    /// found in the `decide` step).
    #[serde(default)]
    pub semantic_runs: Vec<PathBuf>,
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

    /// The semantic rule's band entries of every task.
    pub fn semantic_bands(&self) -> BandStore {
        let runs = self
            .states
            .iter()
            .zip(&self.offsets)
            .flat_map(|(s, &off)| s.semantic_runs.iter().map(move |path| (path.clone(), off)))
            .collect();
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
            // The semantic rule's entries and bands, for the step that
            // decides (its band entries are not partitioned).
            sem: if cfg.semantic.enabled && p.is_none() {
                Some((self.blobs::<u8>("semantic.bin")?, self.semantic_bands()))
            } else {
                None
            },
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
    /// The semantic rule's entries and band entries, when it runs.
    pub sem: Option<(Blobs<u8>, BandStore)>,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::spill::CHUNK_BYTES;

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
