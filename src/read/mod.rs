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

pub use inputs::{assign_keys, exclude_under, expand_inputs, InputFile, InputKind};

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
    /// What kind of problem `error` is, as the report counts it:
    /// `oversize-record`, `empty-file` or `unreadable` (empty when none).
    pub error_kind: &'static str,
}

impl RawItem {
    fn ok(line: u64, bytes: Vec<u8>) -> Self {
        RawItem {
            line,
            bytes,
            error: None,
            error_kind: "",
        }
    }

    /// A file or a part of it that cannot be read.
    fn bad(line: u64, bytes: Vec<u8>, error: impl Into<String>) -> Self {
        RawItem {
            line,
            bytes,
            error: Some(error.into()),
            error_kind: "unreadable",
        }
    }

    /// A record over `--max-record-bytes`, quarantined unread.
    fn oversize(line: u64, bytes: Vec<u8>, error: impl Into<String>) -> Self {
        RawItem {
            error_kind: "oversize-record",
            ..RawItem::bad(line, bytes, error)
        }
    }

    /// A file that holds no record.
    fn empty_file(error: impl Into<String>) -> Self {
        RawItem {
            error_kind: "empty-file",
            ..RawItem::bad(0, Vec::new(), error)
        }
    }
}

/// The default of `--max-record-bytes`.
pub const MAX_RECORD_BYTES: usize = 256 << 20;

/// Reader limits.
#[derive(Debug, Clone, Copy)]
pub struct ReadOptions {
    /// Records larger than this are quarantined without being held in memory.
    pub max_record_bytes: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            max_record_bytes: MAX_RECORD_BYTES,
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

/// A piece of a plain JSON Lines file: whole lines from byte `start` (a line
/// start) to byte `end` (a line start or the end of the file), the first of
/// them being line `first_line`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ByteRange {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
    /// Line number (from 1) of the line at `start`.
    pub first_line: u64,
}

/// Whether `file` is plain (uncompressed) JSON Lines, so that it can be read
/// in byte ranges.
pub fn splittable(file: &InputFile) -> bool {
    if file.kind != InputKind::JsonLines {
        return false;
    }
    let mut head = [0u8; 4];
    let Ok(mut f) = std::fs::File::open(&file.path) else {
        return false;
    };
    let n = std::io::Read::read(&mut f, &mut head).unwrap_or(0);
    !(head[..n].starts_with(&GZIP_MAGIC) || head[..n].starts_with(&ZSTD_MAGIC))
}

/// Cuts a plain JSON Lines file into ranges of whole lines of about
/// `target` bytes each (one pass over the file, counting lines).
pub fn split_lines(file: &InputFile, target: u64) -> std::io::Result<Vec<ByteRange>> {
    let f = std::fs::File::open(&file.path)?;
    let size = f.metadata()?.len();
    let mut r = BufReader::with_capacity(1 << 20, f);
    let target = target.max(1);
    let mut out = Vec::new();
    let (mut start, mut first_line) = (0u64, 1u64);
    let (mut pos, mut line) = (0u64, 1u64);
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        let n = buf.len();
        for (i, &b) in buf.iter().enumerate() {
            if b == b'\n' {
                line += 1;
                let next = pos + i as u64 + 1;
                if next - start >= target && next < size {
                    out.push(ByteRange {
                        start,
                        end: next,
                        first_line,
                    });
                    start = next;
                    first_line = line;
                }
            }
        }
        pos += n as u64;
        r.consume(n);
    }
    out.push(ByteRange {
        start,
        end: size,
        first_line,
    });
    Ok(out)
}

/// Streams the items of one range of a plain JSON Lines file to `sink`.
pub fn read_range(
    file: &InputFile,
    range: ByteRange,
    opts: ReadOptions,
    count: Arc<AtomicU64>,
    sink: &mut dyn FnMut(RawItem) -> bool,
) {
    use std::io::{Read, Seek, SeekFrom};
    let opened = std::fs::File::open(&file.path).and_then(|mut f| {
        f.seek(SeekFrom::Start(range.start))?;
        Ok(f)
    });
    let f = match opened {
        Ok(f) => f,
        Err(e) => {
            sink(RawItem::bad(range.first_line, Vec::new(), format!("cannot open: {e}")));
            return;
        }
    };
    let limited = Counting {
        inner: f.take(range.end - range.start),
        count,
    };
    let mut reader: Box<dyn BufRead + Send> = Box::new(BufReader::with_capacity(1 << 16, limited));
    if range.start == 0 {
        skip_bom(&mut reader);
    }
    lines::read_from(reader, range.first_line, opts, sink);
}

/// Skips a UTF-8 byte order mark at the start of a file (editors on Windows
/// write one): it is no part of the first record.
fn skip_bom(reader: &mut Box<dyn BufRead + Send>) {
    if let Ok(buf) = reader.fill_buf() {
        if buf.starts_with(b"\xEF\xBB\xBF") {
            reader.consume(3);
        }
    }
}

/// Streams the items of one file to `sink`, in order. `sink` returns false to stop.
///
/// A decoder that panics on a corrupt file (the Parquet crate asserts on
/// negative offsets in a file's metadata; found by fuzzing) does not stop
/// the run: what was read stays, and the rest of the file is one malformed
/// item naming the file's problem.
pub fn read_file(file: &InputFile, opts: ReadOptions, count: Arc<AtomicU64>, sink: &mut dyn FnMut(RawItem) -> bool) {
    let mut last = 0u64;
    let mut stopped = false;
    READING.with(|r| r.set(true));
    let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        read_whole(file, opts, count, &mut |item: RawItem| {
            last = last.max(item.line);
            let go = sink(item);
            stopped |= !go;
            go
        })
    }));
    READING.with(|r| r.set(false));
    if let Err(panic) = read {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        if !stopped {
            // Line 0 names the whole file when nothing of it was read.
            let line = if last == 0 { 0 } else { last + 1 };
            sink(RawItem::bad(
                line,
                Vec::new(),
                format!("corrupt file: it cannot be read past this point ({why})"),
            ));
        }
    }
}

std::thread_local! {
    /// Set while this thread decodes a file: a decoder's panic is then a
    /// corrupt input, reported as a malformed item, not a crash to print.
    static READING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Keeps the default panic message for real crashes but not for a decoder
/// failing on a corrupt input file, which [`read_file`] reports as a
/// malformed item naming the file.
pub fn quiet_decoder_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !READING.with(|r| r.get()) {
            default(info);
        }
    }));
}

fn read_whole(file: &InputFile, opts: ReadOptions, count: Arc<AtomicU64>, sink: &mut dyn FnMut(RawItem) -> bool) {
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
    skip_bom(&mut reader);
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
                sink(RawItem::bad(
                    1,
                    Vec::new(),
                    format!("read error at line 1 (truncated or corrupt compressed file?): {e}"),
                ));
                return;
            }
        }
    };
    match first {
        None => {
            sink(RawItem::empty_file("file is empty: no records"));
        }
        Some(b'[') if file.kind != InputKind::JsonLines => json_array::read(reader, opts, sink),
        Some(_) => lines::read(reader, opts, sink),
    }
}

#[cfg(test)]
#[allow(dead_code)] // a helper for reader tests
pub(crate) fn read_all(file: &InputFile, opts: ReadOptions) -> Vec<RawItem> {
    let mut out = Vec::new();
    read_file(file, opts, Arc::new(AtomicU64::new(0)), &mut |i| {
        out.push(i);
        true
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_of_lines_cover_the_file_and_number_lines_as_a_whole() {
        let dir = tempfile::tempdir().expect("test");
        let path = dir.path().join("a.jsonl");
        let mut text = String::new();
        for i in 0..50 {
            text.push_str(&format!(
                "{{\"instruction\":\"q{i}\",\"output\":\"{}\"}}\n",
                "x".repeat(i)
            ));
            if i % 7 == 0 {
                text.push('\n');
            }
        }
        std::fs::write(&path, &text).expect("test");
        let file = InputFile {
            path: path.clone(),
            label: "a.jsonl".into(),
            key: "a.jsonl".into(),
            kind: InputKind::JsonLines,
        };
        assert!(splittable(&file));
        let whole = read_all(&file, ReadOptions::default());
        let ranges = split_lines(&file, 200).expect("test");
        assert!(ranges.len() > 5);
        assert_eq!(ranges[0].start, 0);
        assert_eq!(ranges.last().map(|r| r.end), Some(text.len() as u64));
        let mut pieces = Vec::new();
        for w in ranges.windows(2) {
            assert_eq!(w[0].end, w[1].start);
            assert_eq!(text.as_bytes()[w[1].start as usize - 1], b'\n');
        }
        for r in ranges {
            read_range(
                &file,
                r,
                ReadOptions::default(),
                Arc::new(AtomicU64::new(0)),
                &mut |i| {
                    pieces.push(i);
                    true
                },
            );
        }
        let key = |v: &[RawItem]| v.iter().map(|i| (i.line, i.bytes.clone())).collect::<Vec<_>>();
        assert_eq!(key(&whole), key(&pieces));
    }

    fn items(name: &str, content: &[u8], max: usize) -> Vec<RawItem> {
        items_as(name, content, max, InputKind::Json)
    }

    /// A byte order mark before the first record (JSON Lines or a JSON
    /// array) is skipped, not part of the record.
    #[test]
    fn a_byte_order_mark_is_skipped() {
        let rec = br#"{"instruction": "a", "output": "b"}"#;
        for content in [
            [&b"\xEF\xBB\xBF"[..], rec, b"\n", rec, b"\n"].concat(),
            [&b"\xEF\xBB\xBF["[..], rec, b",", rec, b"]"].concat(),
        ] {
            let got = items_as("bom.json", &content, 1 << 20, InputKind::Json);
            assert_eq!(got.len(), 2);
            for item in &got {
                assert!(item.error.is_none(), "{:?}", item.error);
                assert_eq!(item.bytes, rec.to_vec());
            }
        }
    }

    fn items_as(name: &str, content: &[u8], max: usize, kind: InputKind) -> Vec<RawItem> {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(name);
        std::fs::write(&path, content).expect("write");
        let file = InputFile {
            label: name.into(),
            key: name.into(),
            path,
            kind,
        };
        read_all(&file, ReadOptions { max_record_bytes: max })
    }

    #[test]
    fn array_elements_split_only_at_top_level() {
        let text = b"[\n  {\"a\": [1, 2], \"b\": \"x, ] } \\\" [\"},\n  {\"c\": {\"d\": 1}}\n]\n";
        let got = items("a.json", text, 1 << 20);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].line, 2);
        assert_eq!(got[0].bytes, br#"{"a": [1, 2], "b": "x, ] } \" ["}"#.to_vec());
        assert_eq!(got[1].line, 3);
        assert!(got.iter().all(|i| i.error.is_none()));
    }

    #[test]
    fn lines_skip_blanks_strip_crlf_and_cap_size() {
        let got = items(
            "a.jsonl",
            b"{\"a\":1}\r\n\n   \n{\"b\":2}\n0123456789012345678901234567890\n{\"c\":3}",
            20,
        );
        let lines: Vec<u64> = got.iter().map(|i| i.line).collect();
        assert_eq!(lines, [1, 4, 5, 6]);
        assert_eq!(got[0].bytes, b"{\"a\":1}".to_vec());
        assert!(got[2]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("larger than the limit of 20 bytes")));
        assert_eq!(got[3].bytes, b"{\"c\":3}".to_vec());
    }

    #[test]
    fn a_jsonl_file_starting_with_an_array_line_is_still_lines() {
        // Found by the accounting property test: `[` first must not swallow the file.
        let got = items_as("x.jsonl", b"[\"\"\n{\"a\":1}\n", 1 << 20, InputKind::JsonLines);
        assert_eq!(got.iter().map(|i| i.line).collect::<Vec<_>>(), [1, 2]);
    }

    #[test]
    fn empty_array_and_trailing_garbage_are_reported() {
        let got = items("e.json", b"  [ ]  ", 1 << 20);
        assert_eq!(got.len(), 1);
        assert!(got[0].error.as_deref().is_some_and(|e| e.contains("empty")));
        let got = items("g.json", b"[{\"a\":1}] x", 1 << 20);
        assert_eq!(got.len(), 2);
        assert!(got[1]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("after the end of the JSON array")));
    }
}
