//! Parquet inputs: each row becomes one JSON object (nested lists and structs
//! kept), so the same adapters map it. `line` is the 1-based row number.
//! Text stored as binary (no UTF8 annotation) is read as text; a value that
//! is not UTF-8 makes its row malformed, naming the field.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arrow::array::{Array, RecordBatch};
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::{DataType, Field, Schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::{InputFile, RawItem, ReadOptions};

/// Top-level binary columns (Parquet byte arrays without a UTF8 annotation,
/// as some writers store strings) read as text: the JSON writer would give
/// their hex digits. A value that is not valid UTF-8 makes its row
/// malformed: `not_text[row]` names the field.
fn binary_as_text(batch: RecordBatch) -> (RecordBatch, Vec<Option<String>>) {
    let mut not_text: Vec<Option<String>> = vec![None; batch.num_rows()];
    let schema = batch.schema();
    if !schema
        .fields()
        .iter()
        .any(|f| matches!(f.data_type(), DataType::Binary | DataType::LargeBinary))
    {
        return (batch, not_text);
    }
    let options = CastOptions {
        safe: true,
        ..Default::default()
    };
    let mut fields = Vec::with_capacity(schema.fields().len());
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (f, col) in schema.fields().iter().zip(batch.columns()) {
        let to = match f.data_type() {
            DataType::Binary => DataType::Utf8,
            DataType::LargeBinary => DataType::LargeUtf8,
            _ => {
                fields.push(f.as_ref().clone());
                columns.push(col.clone());
                continue;
            }
        };
        match cast_with_options(col, &to, &options) {
            Ok(text) => {
                for (i, slot) in not_text.iter_mut().enumerate() {
                    if slot.is_none() && col.is_valid(i) && text.is_null(i) {
                        *slot = Some(f.name().clone());
                    }
                }
                fields.push(Field::new(f.name(), to, true));
                columns.push(text);
            }
            Err(_) => {
                fields.push(f.as_ref().clone());
                columns.push(col.clone());
            }
        }
    }
    match RecordBatch::try_new(Arc::new(Schema::new(fields)), columns) {
        Ok(b) => (b, not_text),
        Err(_) => (batch, not_text),
    }
}

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
        sink(RawItem::empty_file("Parquet file has no rows"));
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
        let (batch, not_text) = binary_as_text(batch);
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
                let item = if let Some(field) = not_text.get(i).and_then(Option::as_deref) {
                    RawItem::bad(
                        line_no,
                        Vec::new(),
                        format!("field `{field}` is binary and not UTF-8 text"),
                    )
                } else if line.len() > opts.max_record_bytes {
                    RawItem::oversize(
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

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{BinaryArray, StringArray};

    #[test]
    fn binary_columns_read_as_text_and_bad_bytes_name_the_field() {
        let instruction = BinaryArray::from(vec![&b"ok question here?"[..], &b"\xff\xfe bad"[..]]);
        let output = StringArray::from(vec!["yes", "no"]);
        let schema = Schema::new(vec![
            Field::new("instruction", DataType::Binary, false),
            Field::new("output", DataType::Utf8, false),
        ]);
        let batch =
            RecordBatch::try_new(Arc::new(schema), vec![Arc::new(instruction), Arc::new(output)]).expect("batch");
        let (text, bad) = binary_as_text(batch);
        assert_eq!(text.schema().field(0).data_type(), &DataType::Utf8);
        let col = text.column(0).as_any().downcast_ref::<StringArray>().expect("utf8");
        assert_eq!(col.value(0), "ok question here?");
        assert_eq!(bad, [None, Some("instruction".to_string())]);
    }
}
