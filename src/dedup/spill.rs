//! The spill store of the dedup state: values and variable-length blobs
//! appended in order, held in memory in chunks while they fit and written
//! little-endian to files past that, read back without copies when held.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Creates a file for buffered writing.
pub(crate) fn create(path: &Path) -> Result<BufWriter<File>> {
    let f = File::create(path).map_err(|e| Error::io(path, e))?;
    Ok(BufWriter::with_capacity(1 << 20, f))
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
pub(crate) struct Spool<T: Le> {
    pub(crate) path: PathBuf,
    pub(crate) mem: Option<Vec<Vec<T>>>,
    /// Values held in memory.
    pub(crate) held: usize,
    /// Values per chunk.
    pub(crate) chunk: usize,
    pub(crate) file: Option<BufWriter<File>>,
    /// Scratch for the bytes of values written to the file.
    pub(crate) bytes: Vec<u8>,
}

/// Bytes of one chunk of a [`Spool`].
pub(crate) const CHUNK_BYTES: usize = 4 << 20;

impl<T: Le> Spool<T> {
    /// A spool for `path`, holding its values in memory for now.
    pub(crate) fn new(path: &Path) -> Self {
        Self::with_chunk_bytes(path, CHUNK_BYTES)
    }

    /// A spool holding its values in chunks of `bytes` (tests use small ones).
    pub(crate) fn with_chunk_bytes(path: &Path, bytes: usize) -> Self {
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
    pub(crate) fn write(&mut self, vs: &[T]) -> Result<()> {
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
    pub(crate) fn held(&self) -> usize {
        self.held * T::SIZE
    }

    /// Writes what is held to the file; later values go straight there.
    pub(crate) fn spill(&mut self) -> Result<()> {
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
    pub(crate) fn finish(mut self) -> Result<Option<Vec<Vec<T>>>> {
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

pub(crate) fn idx_path(path: &Path) -> PathBuf {
    path.with_extension("idx")
}

impl<T: Le> BlobWriter<T> {
    /// Blobs for the file at `path`, held in memory for now.
    pub fn new(path: &Path) -> Self {
        Self::with_chunk_bytes(path, CHUNK_BYTES)
    }

    /// Blobs held in chunks of `bytes` of values (tests use small ones).
    pub(crate) fn with_chunk_bytes(path: &Path, bytes: usize) -> Self {
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
    pub(crate) parts: Vec<BlobPart<T>>,
}

pub(crate) struct BlobPart<T: Le> {
    pub(crate) first: u32,
    /// The data and index files (`None` when the blobs were held in memory).
    pub(crate) files: Option<(File, File)>,
    pub(crate) path: PathBuf,
    /// The values and end offsets, when held or when [`Blobs::preload`]
    /// found room for them.
    pub(crate) mem: Option<(Vec<T>, Vec<u64>)>,
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

/// The part holding `seq`: the last one starting at or before it.
pub(crate) fn part_of<T>(parts: &[T], first: impl Fn(&T) -> u32, seq: u32) -> usize {
    parts.partition_point(|p| first(p) <= seq).saturating_sub(1)
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
}
