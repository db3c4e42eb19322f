//! JSON array files (`[{…}, {…}]`, as Alpaca ships): elements are cut out by
//! a streaming scanner that tracks strings and nesting, so a 20 GB array is
//! read with the memory of one element. Each element keeps the line it starts on.

use std::io::BufRead;

use super::lines::PREVIEW;
use super::{RawItem, ReadOptions};

enum State {
    /// Before the opening `[`.
    Start,
    /// Between elements: expecting an element, `,` or `]`.
    Between,
    /// Inside an element.
    Element,
    /// After the closing `]`.
    Done,
}

pub(super) fn read(mut r: Box<dyn BufRead + Send>, opts: ReadOptions, sink: &mut dyn FnMut(RawItem) -> bool) {
    let mut state = State::Start;
    let mut line = 1u64;
    let mut start_line = 1u64;
    let mut depth = 0u32;
    let mut in_str = false;
    let mut escape = false;
    let mut elem: Vec<u8> = Vec::new();
    let mut elem_len = 0usize;
    let mut count = 0u64;
    loop {
        let chunk = match r.fill_buf() {
            Ok(c) => c,
            Err(e) => {
                sink(RawItem::bad(
                    line,
                    std::mem::take(&mut elem),
                    format!("read error at line {line} (truncated or corrupt compressed file?): {e}"),
                ));
                return;
            }
        };
        if chunk.is_empty() {
            break;
        }
        let n = chunk.len();
        let mut i = 0;
        while i < n {
            let b = chunk[i];
            match state {
                State::Start => {
                    if b == b'[' {
                        state = State::Between;
                    }
                }
                State::Between => match b {
                    b',' => {}
                    b']' => state = State::Done,
                    b if b.is_ascii_whitespace() => {}
                    _ => {
                        state = State::Element;
                        start_line = line;
                        depth = 0;
                        in_str = false;
                        escape = false;
                        elem.clear();
                        elem_len = 0;
                        continue; // re-read this byte as part of the element
                    }
                },
                State::Element => {
                    let mut end = false;
                    if in_str {
                        if escape {
                            escape = false;
                        } else if b == b'\\' {
                            escape = true;
                        } else if b == b'"' {
                            in_str = false;
                        }
                    } else {
                        match b {
                            b'"' => in_str = true,
                            b'{' | b'[' => depth += 1,
                            b'}' | b']' if depth > 0 => depth -= 1,
                            b']' | b',' if depth == 0 => end = true,
                            _ => {}
                        }
                    }
                    if end {
                        while elem.last().is_some_and(|c| c.is_ascii_whitespace()) {
                            elem.pop();
                        }
                        count += 1;
                        if !emit(sink, start_line, &mut elem, elem_len, opts) {
                            return;
                        }
                        state = if b == b']' { State::Done } else { State::Between };
                    } else {
                        elem_len += 1;
                        if elem_len <= opts.max_record_bytes {
                            elem.push(b);
                        } else if elem.len() > PREVIEW {
                            elem.truncate(PREVIEW);
                        }
                    }
                }
                State::Done => {
                    if !b.is_ascii_whitespace() {
                        sink(RawItem::bad(
                            line,
                            Vec::new(),
                            format!("unexpected data after the end of the JSON array at line {line}"),
                        ));
                        return;
                    }
                }
            }
            if b == b'\n' {
                line += 1;
            }
            i += 1;
        }
        r.consume(n);
    }
    match state {
        State::Done => {
            if count == 0 {
                sink(RawItem::empty_file("JSON array is empty: no records"));
            }
        }
        State::Element => {
            sink(RawItem::bad(
                start_line,
                elem,
                format!("JSON array ends inside an element starting at line {start_line} (truncated file?)"),
            ));
        }
        _ => {
            sink(RawItem::bad(
                line,
                Vec::new(),
                "JSON array is not closed with `]` (truncated file?)",
            ));
        }
    }
}

fn emit(sink: &mut dyn FnMut(RawItem) -> bool, line: u64, elem: &mut Vec<u8>, len: usize, opts: ReadOptions) -> bool {
    let bytes = std::mem::take(elem);
    if len > opts.max_record_bytes {
        sink(RawItem::oversize(
            line,
            bytes,
            format!(
                "record of {len} bytes is larger than the limit of {} bytes (--max-record-bytes)",
                opts.max_record_bytes
            ),
        ))
    } else {
        sink(RawItem::ok(line, bytes))
    }
}
