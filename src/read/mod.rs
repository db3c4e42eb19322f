//! Reading inputs: files, folders (recursed) and globs; JSON Lines, JSON
//! arrays, gzip/zstd compressed versions of both, and Parquet.
//!
//! Readers never fail on bad data: a line that is too long, a truncated
//! compressed stream, an unterminated array or an empty file each become one
//! [`RawItem`] carrying an error, so the pipeline quarantines it with its file
//! and line and goes on. Only the input list itself (a path that does not
//! exist, a glob that matches nothing) stops a run before it starts.

mod inputs;
mod json_array;
mod lines;
mod parquet_rows;

pub use inputs::{expand_inputs, InputFile, InputKind};

use std::io::{BufRead, BufReader, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// One record's bytes as read, or a problem found where a record should be.
#[derive(Debug, Clone, PartialEq)]
pub struct RawItem {
    /// 1-based line (or row) where the record starts; 0 for file-level problems.
    pub line: u64,
    /// The bytes (possibly a prefix, when `error` says so).
    pub bytes: Vec<u8>,
    /// Set when the reader already knows this item is malformed.
    pub error: Option<String>,
}

impl RawItem {
    fn ok(line: u64, bytes: Vec<u8>) -> Self {
        RawItem {
            line,
            bytes,
            error: None,
        }
    }

    fn bad(line: u64, bytes: Vec<u8>, error: impl Into<String>) -> Self {
        RawItem {
            line,
            bytes,
            error: Some(error.into()),
        }
    }
}

/// Reader limits.
#[derive(Debug, Clone, Copy)]
pub struct ReadOptions {
    /// Records larger than this are quarantined without being held in memory.
    pub max_record_bytes: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            max_record_bytes: 256 << 20,
        }
    }
}

/// Counts bytes read from the underlying file (for progress).
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// Opens a text input, undoing gzip or zstd compression found by magic bytes.
fn open_text(file: &InputFile, count: Arc<AtomicU64>) -> std::io::Result<Box<dyn BufRead + Send>> {
    let f = std::fs::File::open(&file.path)?;
    let mut raw = BufReader::with_capacity(1 << 16, Counting { inner: f, count });
    let head = raw.fill_buf()?;
    let reader: Box<dyn BufRead + Send> = if head.starts_with(&GZIP_MAGIC) {
        Box::new(BufReader::with_capacity(
            1 << 16,
            flate2::bufread::MultiGzDecoder::new(raw),
        ))
    } else if head.starts_with(&ZSTD_MAGIC) {
        Box::new(BufReader::with_capacity(
            1 << 16,
            zstd::stream::read::Decoder::with_buffer(raw)?,
        ))
    } else {
        Box::new(raw)
    };
    Ok(reader)
}

/// Streams the items of one file to `sink`, in order. `sink` returns false to stop.
pub fn read_file(file: &InputFile, opts: ReadOptions, count: Arc<AtomicU64>, sink: &mut dyn FnMut(RawItem) -> bool) {
    if file.kind == InputKind::Parquet {
        parquet_rows::read(file, opts, count, sink);
        return;
    }
    let mut reader = match open_text(file, count) {
        Ok(r) => r,
        Err(e) => {
            sink(RawItem::bad(0, Vec::new(), format!("cannot open: {e}")));
            return;
        }
    };
    // Look at the first non-blank byte: `[` is a JSON array, anything else lines.
    let first = loop {
        match reader.fill_buf() {
            Ok([]) => break None,
            Ok(buf) => {
                let skip = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
                if skip < buf.len() {
                    break Some(buf[skip]);
                }
                let n = buf.len();
                reader.consume(n);
            }
            Err(e) => {
                sink(RawItem::bad(1, Vec::new(), format!("read error: {e}")));
                return;
            }
        }
    };
    match first {
        None => {
            sink(RawItem::bad(0, Vec::new(), "file is empty: no records"));
        }
        Some(b'[') => json_array::read(reader, opts, sink),
        Some(_) => lines::read(reader, opts, sink),
    }
}

#[cfg(test)]
#[allow(dead_code)]
pub(crate) fn read_all(file: &InputFile, opts: ReadOptions) -> Vec<RawItem> {
    let mut out = Vec::new();
    read_file(file, opts, Arc::new(AtomicU64::new(0)), &mut |i| {
        out.push(i);
        true
    });
    out
}
