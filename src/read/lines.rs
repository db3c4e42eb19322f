//! JSON Lines: one record per line, blank lines skipped, lines above the size
//! limit quarantined while streaming past them (never held whole in memory).

use std::io::BufRead;

use super::{RawItem, ReadOptions};

/// How much of an oversize record is kept for the quarantine row.
pub(super) const PREVIEW: usize = 1024;

pub(super) fn read(r: Box<dyn BufRead + Send>, opts: ReadOptions, sink: &mut dyn FnMut(RawItem) -> bool) {
    read_from(r, 1, opts, sink)
}

/// [`read`] for a reader whose first line is line `first_line` of its file.
pub(super) fn read_from(
    mut r: Box<dyn BufRead + Send>,
    first_line: u64,
    opts: ReadOptions,
    sink: &mut dyn FnMut(RawItem) -> bool,
) {
    let mut line_no = first_line.saturating_sub(1);
    let mut buf: Vec<u8> = Vec::new();
    loop {
        buf.clear();
        line_no += 1;
        let mut oversize = false;
        let mut total = 0usize;
        let mut ended = false;
        loop {
            let chunk = match r.fill_buf() {
                Ok(c) => c,
                Err(e) => {
                    let what = if total > 0 { "inside" } else { "after" };
                    sink(RawItem::bad(
                        line_no,
                        std::mem::take(&mut buf),
                        format!("read error {what} line {line_no} (truncated or corrupt compressed file?): {e}"),
                    ));
                    return;
                }
            };
            if chunk.is_empty() {
                ended = true;
                break;
            }
            let (take, found) = match memchr::memchr(b'\n', chunk) {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            total += take;
            if !oversize {
                if total > opts.max_record_bytes {
                    oversize = true;
                    let keep = PREVIEW.saturating_sub(buf.len()).min(take);
                    buf.extend_from_slice(&chunk[..keep]);
                    buf.truncate(PREVIEW);
                } else {
                    buf.extend_from_slice(&chunk[..take]);
                }
            }
            r.consume(take);
            if found {
                break;
            }
        }
        if total == 0 && ended {
            return;
        }
        let keep_going = if oversize {
            sink(RawItem::oversize(
                line_no,
                std::mem::take(&mut buf),
                format!(
                    "record of {total} bytes is larger than the limit of {} bytes (--max-record-bytes)",
                    opts.max_record_bytes
                ),
            ))
        } else if buf.iter().all(|b| b.is_ascii_whitespace()) {
            true
        } else {
            while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                buf.pop();
            }
            sink(RawItem::ok(line_no, std::mem::take(&mut buf)))
        };
        if !keep_going || ended {
            return;
        }
    }
}
