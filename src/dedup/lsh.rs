//! LSH band keys with a bounded memory: held in memory up to a budget, then
//! spilled as sorted runs to disk and merged.
//!
//! A signature of `bands * rows` values gives one 64-bit key per band (xxh3 of
//! the band's rows, seeded by the band index, so equal rows in different
//! bands give different keys). Each key is stored with its record's sequence
//! number as one `u128` (`key << 64 | seq`): 16 bytes per band per record.
//! Sorting the entries puts every bucket (records sharing a key) together, in
//! input order. When the entries in memory reach the budget they are sorted
//! and written as a run file; at the end the runs are merged with a heap, so
//! memory stays at the budget plus one read buffer per run. The result is the
//! same with or without spilling.
//!
//! This file is the "band buckets" step of the dedup phases: its input is
//! plain `(key, seq)` entries and its output plain buckets, so the step can run
//! apart from the signature step (e.g. one task per band range).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::error::{Error, Result};

/// The band keys of a signature.
pub fn band_keys(sig: &[u32], bands: usize, rows: usize, out: &mut Vec<u64>) {
    out.clear();
    out.reserve_exact(bands);
    out.extend((0..bands).map(|b| band_key(sig, b, rows)));
}

/// The key of band `b` of a signature: xxh3 of its rows' little-endian
/// bytes, seeded with the band's number.
fn band_key(sig: &[u32], b: usize, rows: usize) -> u64 {
    let values = &sig[b * rows..(b + 1) * rows];
    // Bands of up to 16 rows (every sensible setting) are laid out on the
    // stack; this runs for every band of every record.
    let mut stack = [0u8; 64];
    let mut heap = Vec::new();
    let bytes: &mut [u8] = if rows * 4 <= stack.len() {
        &mut stack[..rows * 4]
    } else {
        heap.resize(rows * 4, 0);
        &mut heap
    };
    for (chunk, v) in bytes.chunks_exact_mut(4).zip(values) {
        chunk.copy_from_slice(&v.to_le_bytes());
    }
    xxh3_64_with_seed(bytes, b as u64)
}

/// Whether the bucket of `key` is where the pair `a`, `b` is compared: the
/// bucket of the first band whose rows they share. A pair sharing several
/// bands meets in several buckets and is compared in one of them only, the
/// same one whatever the order or partition of the buckets. A pair that
/// shares no band's rows (a bucket from a key collision) is compared where
/// it meets.
pub fn first_meeting(key: u64, a: &[u32], b: &[u32], bands: usize, rows: usize) -> bool {
    let Some(first) = (0..bands).find(|&k| a[k * rows..(k + 1) * rows] == b[k * rows..(k + 1) * rows]) else {
        return true;
    };
    band_key(a, first, rows) == key
}

/// Band entries, spilled to sorted runs past a budget.
pub struct BandStore {
    buf: Vec<u128>,
    cap: usize,
    dir: PathBuf,
    /// Run files with the offset added to their sequence numbers.
    runs: Vec<(PathBuf, u32)>,
    spilled: u64,
    keep_runs: bool,
}

impl BandStore {
    /// A store holding at most `budget_bytes` of entries in memory, spilling to `dir`.
    pub fn new(dir: &Path, budget_bytes: u64) -> Self {
        let cap = (budget_bytes / 16).max(1024) as usize;
        BandStore {
            buf: Vec::new(),
            cap,
            dir: dir.to_path_buf(),
            runs: Vec::new(),
            spilled: 0,
            keep_runs: false,
        }
    }

    /// A store over run files written by other tasks (see [`Self::into_runs`]),
    /// each with the offset of its task's first sequence number. The runs are
    /// left in place after [`Self::buckets`].
    pub fn from_runs(runs: Vec<(PathBuf, u32)>) -> Self {
        BandStore {
            buf: Vec::new(),
            cap: 1024,
            dir: PathBuf::new(),
            runs,
            spilled: 0,
            keep_runs: true,
        }
    }

    /// Spills what is held and returns the run files (for another task).
    pub fn into_runs(mut self) -> Result<Vec<PathBuf>> {
        self.spill()?;
        Ok(self.runs.into_iter().map(|(p, _)| p).collect())
    }

    /// Adds the band keys of record `seq`; spills when the entries held
    /// plus `other_bytes` (the rest of the dedup state) reach the budget.
    pub fn push(&mut self, seq: u32, keys: &[u64], other_bytes: usize) -> Result<()> {
        if self.buf.capacity() == 0 {
            // Allocated once at its full size: growing by doubling would
            // overshoot the budget.
            self.buf = Vec::with_capacity(self.cap);
        }
        for &k in keys {
            self.buf.push(((k as u128) << 64) | seq as u128);
        }
        if self.buf.len() + keys.len() > self.cap || self.buf.len() * 16 + other_bytes >= self.cap * 16 {
            self.spill()?;
        }
        Ok(())
    }

    /// Bytes of the entries held in memory.
    pub fn held_bytes(&self) -> usize {
        self.buf.len() * 16
    }

    /// Entries written to disk so far.
    pub fn spilled(&self) -> u64 {
        self.spilled
    }

    /// Run files written so far.
    pub fn runs(&self) -> usize {
        self.runs.len()
    }

    fn spill(&mut self) -> Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.buf.sort_unstable();
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        let path = self.dir.join(format!("bands-{:05}.run", self.runs.len()));
        let f = File::create(&path).map_err(|e| Error::io(&path, e))?;
        let mut w = BufWriter::with_capacity(1 << 20, f);
        for e in &self.buf {
            w.write_all(&e.to_le_bytes()).map_err(|e| Error::io(&path, e))?;
        }
        w.flush().map_err(|e| Error::io(&path, e))?;
        self.spilled += self.buf.len() as u64;
        self.buf.clear();
        self.runs.push((path, 0));
        Ok(())
    }

    /// Calls `f` with every bucket of two or more records (sequence numbers
    /// ascending), in key order; entries held in memory are sorted on
    /// `pool`. Removes the run files.
    pub fn buckets(mut self, pool: &rayon::ThreadPool, mut f: impl FnMut(u64, &[u32]) -> Result<()>) -> Result<()> {
        let mut bucket: Vec<u32> = Vec::new();
        let mut current: Option<u64> = None;
        let mut feed = |e: u128, bucket: &mut Vec<u32>| -> Result<()> {
            let key = (e >> 64) as u64;
            if current != Some(key) {
                if let (Some(k), true) = (current, bucket.len() > 1) {
                    f(k, bucket)?;
                }
                bucket.clear();
                current = Some(key);
            }
            let seq = e as u32;
            if bucket.last() != Some(&seq) {
                bucket.push(seq);
            }
            Ok(())
        };
        if self.runs.is_empty() {
            pool.install(|| rayon::slice::ParallelSliceMut::par_sort_unstable(&mut self.buf[..]));
            // (no runs: every entry is in memory, offsets are zero)
            for e in std::mem::take(&mut self.buf) {
                feed(e, &mut bucket)?;
            }
        } else {
            self.spill()?;
            self.buf = Vec::new();
            let mut readers = Vec::new();
            for (p, offset) in &self.runs {
                let f = File::open(p).map_err(|e| Error::io(p, e))?;
                readers.push((BufReader::with_capacity(1 << 16, f), p.clone(), *offset as u128));
            }
            // A run is sorted by (key, local seq); adding its task's offset
            // keeps it sorted, and tasks' sequence ranges do not overlap.
            let next = |r: &mut (BufReader<File>, PathBuf, u128)| -> Result<Option<u128>> {
                let mut b = [0u8; 16];
                match r.0.read_exact(&mut b) {
                    Ok(()) => Ok(Some(u128::from_le_bytes(b) + r.2)),
                    Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
                    Err(e) => Err(Error::io(&r.1, e)),
                }
            };
            let mut heap = BinaryHeap::new();
            for (i, r) in readers.iter_mut().enumerate() {
                if let Some(e) = next(r)? {
                    heap.push(Reverse((e, i)));
                }
            }
            while let Some(Reverse((e, i))) = heap.pop() {
                feed(e, &mut bucket)?;
                if let Some(e) = next(&mut readers[i])? {
                    heap.push(Reverse((e, i)));
                }
            }
            if !self.keep_runs {
                for (p, _) in &self.runs {
                    let _ = std::fs::remove_file(p);
                }
            }
        }
        if let (Some(k), true) = (current, bucket.len() > 1) {
            f(k, &bucket)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(store: BandStore) -> Vec<Vec<u32>> {
        let mut out = Vec::new();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().expect("test");
        store
            .buckets(&pool, |_, b| {
                out.push(b.to_vec());
                Ok(())
            })
            .expect("test");
        out
    }

    /// A pair sharing bands 1 and 3 is compared in band 1's bucket only.
    #[test]
    fn pairs_meet_first_in_their_first_shared_band() {
        let (bands, rows) = (4, 2);
        let a = [1, 2, 3, 4, 5, 6, 7, 8];
        let b = [9, 2, 3, 4, 0, 6, 7, 8];
        let mut keys = Vec::new();
        band_keys(&a, bands, rows, &mut keys);
        assert!(!first_meeting(keys[0], &a, &b, bands, rows));
        assert!(first_meeting(keys[1], &a, &b, bands, rows));
        assert!(!first_meeting(keys[3], &a, &b, bands, rows));
        // No band shared: a bucket from a key collision still compares.
        assert!(first_meeting(keys[0], &a, &[0; 8], bands, rows));
    }

    proptest::proptest! {
        /// Spilling to runs gives the same buckets as holding everything in memory.
        #[test]
        fn spilling_changes_nothing(keys in proptest::collection::vec(proptest::collection::vec(0u64..30, 3), 0..400)) {
            let dir = tempfile::tempdir().expect("test");
            let mut mem = BandStore::new(dir.path(), 1 << 30);
            let mut disk = BandStore::new(dir.path(), 0);
            disk.cap = 7;
            for (i, k) in keys.iter().enumerate() {
                mem.push(i as u32, k, 0).expect("test");
                disk.push(i as u32, k, 0).expect("test");
            }
            proptest::prop_assert_eq!(collect(mem), collect(disk));
        }
    }
}
