//! Parquet inputs: each row becomes one JSON object (nested lists and structs
//! kept), so the same adapters map it. `line` is the 1-based row number.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::{InputFile, RawItem, ReadOptions};

pub(super) fn read(file: &InputFile, opts: ReadOptions, count: Arc<AtomicU64>, sink: &mut dyn FnMut(RawItem) -> bool) {
    let f = match std::fs::File::open(&file.path) {
        Ok(f) => f,
        Err(e) => {
            sink(RawItem::bad(0, Vec::new(), format!("cannot open: {e}")));
            return;
        }
    };
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    let builder = match ParquetRecordBatchReaderBuilder::try_new(f) {
        Ok(b) => b,
        Err(e) => {
            sink(RawItem::bad(0, Vec::new(), format!("not a readable Parquet file: {e}")));
            return;
        }
    };
    let total_rows = builder.metadata().file_metadata().num_rows().max(0) as u64;
    let reader = match builder.with_batch_size(1024).build() {
        Ok(r) => r,
        Err(e) => {
            sink(RawItem::bad(0, Vec::new(), format!("not a readable Parquet file: {e}")));
            return;
        }
    };
    let mut row = 0u64;
    let mut reported = 0u64;
    if total_rows == 0 {
        count.fetch_add(size, Ordering::Relaxed);
        sink(RawItem::bad(0, Vec::new(), "Parquet file has no rows"));
        return;
    }
    for batch in reader {
        let batch = match batch {
            Ok(b) => b,
            Err(e) => {
                sink(RawItem::bad(
                    row + 1,
                    Vec::new(),
                    format!("Parquet read error at row {}: {e}", row + 1),
                ));
                return;
            }
        };
        let n = batch.num_rows() as u64;
        let mut buf = Vec::new();
        let mut w = arrow::json::LineDelimitedWriter::new(&mut buf);
        let res = w.write(&batch).and_then(|_| w.finish());
        drop(w);
        if let Err(e) = res {
            for i in 0..n {
                if !sink(RawItem::bad(
                    row + i + 1,
                    Vec::new(),
                    format!("row cannot be converted to JSON: {e}"),
                )) {
                    return;
                }
            }
        } else {
            for (i, line) in buf.split(|b| *b == b'\n').filter(|l| !l.is_empty()).enumerate() {
                let line_no = row + i as u64 + 1;
                let item = if line.len() > opts.max_record_bytes {
                    RawItem::bad(
                        line_no,
                        line[..1024.min(line.len())].to_vec(),
                        format!(
                            "record of {} bytes is larger than the limit of {} bytes (--max-record-bytes)",
                            line.len(),
                            opts.max_record_bytes
                        ),
                    )
                } else {
                    RawItem::ok(line_no, line.to_vec())
                };
                if !sink(item) {
                    return;
                }
            }
        }
        row += n;
        let done = size * row / total_rows;
        count.fetch_add(done - reported, Ordering::Relaxed);
        reported = done;
    }
}
