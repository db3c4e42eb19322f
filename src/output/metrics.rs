//! `metrics/`: one row per record that was read (not malformed) with every
//! measurement every rule made, so decisions can be recomputed without the
//! text (`curate tune`, `curate apply`).
//!
//! Columns: `id`, `key`, `source_file`, `source_line`, `lang`, then one `Float64`
//! column per rule, null where the rule did not apply, named by the rule id
//! written as an SQL identifier ([`metric_column`]: `quality/top-2-gram` is
//! `quality__top_2_gram`), with the rule id itself in the field's metadata
//! (`rule`).

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Builder, RecordBatch, StringBuilder, UInt64Builder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use crate::error::{Error, Result};
use crate::output::ShardWriter;
use crate::record::Record;
use crate::text::Lang;

pub use crate::stage::metric_column;

/// The metrics column of `rule_id` in `b`: by its column name, or, in the
/// metrics of runs written before columns were renamed, by the rule id.
pub fn rule_values<'a>(b: &'a RecordBatch, rule_id: &str) -> Option<&'a arrow::array::Float64Array> {
    crate::output::read_back::f64_col(b, &metric_column(rule_id))
        .or_else(|| crate::output::read_back::f64_col(b, rule_id))
}

/// The fixed columns before the per-rule ones.
pub const FIXED_COLUMNS: [&str; 5] = ["id", "key", "source_file", "source_line", "lang"];

/// Accumulates metric rows.
pub struct MetricsRows {
    schema: SchemaRef,
    id: StringBuilder,
    key: StringBuilder,
    file: StringBuilder,
    line: UInt64Builder,
    lang: StringBuilder,
    values: Vec<Float64Builder>,
    rows: usize,
}

impl MetricsRows {
    /// Builders for the given rule ids, in order.
    pub fn new(rule_ids: &[String]) -> Self {
        let mut fields = vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("key", DataType::Utf8, false),
            Field::new("source_file", DataType::Utf8, false),
            Field::new("source_line", DataType::UInt64, false),
            Field::new("lang", DataType::Utf8, false),
        ];
        fields.extend(rule_ids.iter().map(|id| {
            let meta = std::collections::HashMap::from([("rule".to_string(), id.clone())]);
            Field::new(metric_column(id), DataType::Float64, true).with_metadata(meta)
        }));
        MetricsRows {
            schema: Arc::new(Schema::new(fields)),
            id: StringBuilder::new(),
            key: StringBuilder::new(),
            file: StringBuilder::new(),
            line: UInt64Builder::new(),
            lang: StringBuilder::new(),
            values: rule_ids.iter().map(|_| Float64Builder::new()).collect(),
            rows: 0,
        }
    }

    /// The table's schema.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// Adds one record's measurements: `values[stage][rule]`, flattened in order.
    pub fn push(&mut self, rec: &Record, source_file: &str, lang: Lang, values: &[Vec<f64>]) {
        self.rows += 1;
        self.id.append_value(&rec.id);
        self.key.append_value(&rec.key);
        self.file.append_value(source_file);
        self.line.append_value(rec.origin.line);
        self.lang.append_value(lang.code());
        let mut flat = values.iter().flatten();
        for b in &mut self.values {
            match flat.next() {
                Some(v) if !v.is_nan() => b.append_value(*v),
                _ => b.append_null(),
            }
        }
    }

    /// Writes the buffered rows when there are enough of them (or `all`).
    pub fn flush_into(&mut self, w: &mut ShardWriter, all: bool) -> Result<()> {
        if self.rows == 0 || (!all && self.rows < 65_536) {
            return Ok(());
        }
        let mut cols: Vec<ArrayRef> = vec![
            Arc::new(self.id.finish()),
            Arc::new(self.key.finish()),
            Arc::new(self.file.finish()),
            Arc::new(self.line.finish()),
            Arc::new(self.lang.finish()),
        ];
        cols.extend(self.values.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
        self.rows = 0;
        let batch = RecordBatch::try_new(self.schema.clone(), cols)
            .map_err(|e| Error::Run(format!("metrics columns disagree with their schema: {e}")))?;
        w.write(&batch)
    }
}
