//! The Arrow schemas of the output tables, and builders that turn records
//! into record batches. One place defines every column.
//!
//! - `kept` and `rejected` share one schema, so that they load as two splits
//!   of one dataset: `id`, `key` (`file:line`, unique:
//!   [`crate::record::Record::key`]), `source_file`, `source_line`, `format`,
//!   `messages` (list of struct `role`, `content`), `task`, `tags` (list of
//!   string), `pii` (list of struct `turn`, `start`, `end`, `type`), `raw`,
//!   `stripped_lines` (list of string, null unless boilerplate lines were
//!   stripped from a kept record's messages: [`crate::dedup::boilerplate`]),
//!   then the decision columns, null in `kept`: `stage`, `rule`, `value`,
//!   `threshold`, `reason`, `failed_rules` (list of string), `duplicate_of`,
//!   `similarity`.
//! - `malformed`: `key`, `source_file`, `source_line`, `error`, `raw`.

use std::sync::{Arc, OnceLock};

use arrow::array::{
    ArrayRef, Float64Builder, ListBuilder, RecordBatch, StringBuilder, StructBuilder, UInt32Builder, UInt64Builder,
};
use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};

use crate::record::Record;

fn message_fields() -> Fields {
    Fields::from(vec![
        Field::new("role", DataType::Utf8, false),
        Field::new("content", DataType::Utf8, false),
    ])
}

fn pii_fields() -> Fields {
    Fields::from(vec![
        Field::new("turn", DataType::UInt32, false),
        Field::new("start", DataType::UInt32, false),
        Field::new("end", DataType::UInt32, false),
        Field::new("type", DataType::Utf8, false),
    ])
}

fn list_of(dt: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", dt, false)))
}

fn record_fields() -> Vec<Field> {
    vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("key", DataType::Utf8, false),
        Field::new("source_file", DataType::Utf8, false),
        Field::new("source_line", DataType::UInt64, false),
        Field::new("format", DataType::Utf8, false),
        Field::new("messages", list_of(DataType::Struct(message_fields())), false),
        Field::new("task", DataType::Utf8, true),
        Field::new("tags", list_of(DataType::Utf8), false),
        Field::new("pii", list_of(DataType::Struct(pii_fields())), false),
        Field::new("raw", DataType::Utf8, false),
    ]
}

/// The number of record columns, which `kept` and `rejected` begin with.
pub const RECORD_COLUMNS: usize = 10;

/// The one schema of `kept/` and `rejected/` (and of the records staged for
/// dedup): the record columns, `stripped_lines`, and the decision columns,
/// which are null in `kept`.
pub fn output_schema() -> SchemaRef {
    static S: OnceLock<SchemaRef> = OnceLock::new();
    S.get_or_init(|| {
        let mut f = record_fields();
        f.push(Field::new(STRIPPED_LINES, list_of(DataType::Utf8), true));
        f.extend([
            Field::new("stage", DataType::Utf8, true),
            Field::new("rule", DataType::Utf8, true),
            Field::new("value", DataType::Float64, true),
            Field::new("threshold", DataType::Float64, true),
            Field::new("reason", DataType::Utf8, true),
            Field::new("failed_rules", list_of(DataType::Utf8), true),
            Field::new("duplicate_of", DataType::Utf8, true),
            Field::new("similarity", DataType::Float64, true),
        ]);
        Arc::new(Schema::new(f))
    })
    .clone()
}

/// Schema of `kept/` (also that of the records staged for dedup).
pub fn kept_schema() -> SchemaRef {
    output_schema()
}

/// The kept column listing the boilerplate lines stripped from a record.
pub const STRIPPED_LINES: &str = "stripped_lines";

/// A builder of `messages` values.
pub(crate) fn messages_builder() -> ListBuilder<StructBuilder> {
    messages_builder_with(Sizes::default())
}

/// A builder of `messages` values with room for `s`.
fn messages_builder_with(s: Sizes) -> ListBuilder<StructBuilder> {
    let values = StructBuilder::new(
        message_fields(),
        vec![
            Box::new(StringBuilder::with_capacity(s.messages, s.role_bytes)),
            Box::new(StringBuilder::with_capacity(s.messages, s.content_bytes)),
        ],
    );
    ListBuilder::with_capacity(values, s.rows).with_field(list_field(DataType::Struct(message_fields())))
}

/// The sizes of the large columns of a batch of records: the builders of
/// the next batch start with room for a quarter more, so the text is not
/// copied again and again while they grow.
#[derive(Debug, Clone, Copy, Default)]
struct Sizes {
    rows: usize,
    messages: usize,
    role_bytes: usize,
    content_bytes: usize,
    raw_bytes: usize,
}

impl Sizes {
    fn of(rows: &RecordRows) -> Self {
        let values = rows.messages.values_ref();
        let text = |i: usize| {
            values
                .field_builders()
                .get(i)
                .and_then(|b| b.as_any().downcast_ref::<StringBuilder>())
                .map_or(0, |b| b.values_slice().len())
        };
        Sizes {
            rows: rows.rows,
            messages: arrow::array::ArrayBuilder::len(values),
            role_bytes: text(0),
            content_bytes: text(1),
            raw_bytes: rows.raw.values_slice().len(),
        }
        .with_margin()
    }

    fn with_margin(self) -> Self {
        let more = |n: usize| n + n / 4;
        Sizes {
            rows: more(self.rows),
            messages: more(self.messages),
            role_bytes: more(self.role_bytes),
            content_bytes: more(self.content_bytes),
            raw_bytes: more(self.raw_bytes),
        }
    }
}

/// A builder of `pii` values.
pub(crate) fn pii_builder() -> ListBuilder<StructBuilder> {
    ListBuilder::new(StructBuilder::from_fields(pii_fields(), 0)).with_field(list_field(DataType::Struct(pii_fields())))
}

/// A builder of list-of-string values (`tags`, `stripped_lines`).
pub(crate) fn strings_builder() -> ListBuilder<StringBuilder> {
    ListBuilder::new(StringBuilder::new()).with_field(list_field(DataType::Utf8))
}

/// Schema of `rejected/`.
pub fn rejected_schema() -> SchemaRef {
    output_schema()
}

/// Schema of `malformed/`.
pub fn malformed_schema() -> SchemaRef {
    static S: OnceLock<SchemaRef> = OnceLock::new();
    S.get_or_init(|| {
        Arc::new(Schema::new(vec![
            Field::new("key", DataType::Utf8, false),
            Field::new("source_file", DataType::Utf8, false),
            Field::new("source_line", DataType::UInt64, false),
            Field::new("error", DataType::Utf8, false),
            Field::new("raw", DataType::Utf8, false),
        ]))
    })
    .clone()
}

pub use crate::verdict::Rejection;

/// Accumulates records into `kept` or `rejected` batches.
pub struct RecordRows {
    id: StringBuilder,
    key: StringBuilder,
    file: StringBuilder,
    line: UInt64Builder,
    format: StringBuilder,
    messages: ListBuilder<StructBuilder>,
    task: StringBuilder,
    tags: ListBuilder<StringBuilder>,
    pii: ListBuilder<StructBuilder>,
    raw: StringBuilder,
    stripped: ListBuilder<StringBuilder>,
    rejection: RejectionCols,
    /// Whether the rows are rejected ones (a rejection each) or kept ones.
    rejected: bool,
    rows: usize,
    bytes: usize,
}

/// The `rejected` columns after the record's: one encoder for every stage,
/// dedup routing and `apply`.
pub struct RejectionCols {
    stage: StringBuilder,
    rule: StringBuilder,
    value: Float64Builder,
    threshold: Float64Builder,
    reason: StringBuilder,
    failed: ListBuilder<StringBuilder>,
    duplicate_of: StringBuilder,
    similarity: Float64Builder,
}

impl Default for RejectionCols {
    fn default() -> Self {
        RejectionCols {
            stage: StringBuilder::new(),
            rule: StringBuilder::new(),
            value: Float64Builder::new(),
            threshold: Float64Builder::new(),
            reason: StringBuilder::new(),
            failed: ListBuilder::new(StringBuilder::new()).with_field(list_field(DataType::Utf8)),
            duplicate_of: StringBuilder::new(),
            similarity: Float64Builder::new(),
        }
    }
}

impl RejectionCols {
    /// Appends one row.
    pub fn push(&mut self, r: &Rejection) {
        self.stage.append_value(&r.stage);
        self.rule.append_value(&r.rule);
        self.value.append_option(r.value);
        self.threshold.append_option(r.threshold);
        self.reason.append_value(&r.reason);
        for f in &r.failed_rules {
            self.failed.values().append_value(f);
        }
        self.failed.append(true);
        self.duplicate_of.append_option(r.duplicate_of.as_deref());
        self.similarity.append_option(r.similarity);
    }

    /// Appends a row of nulls (a kept record).
    pub fn push_null(&mut self) {
        self.stage.append_null();
        self.rule.append_null();
        self.value.append_null();
        self.threshold.append_null();
        self.reason.append_null();
        self.failed.append_null();
        self.duplicate_of.append_null();
        self.similarity.append_null();
    }

    /// The columns of the rows pushed, in schema order.
    pub fn finish(&mut self) -> [ArrayRef; 8] {
        [
            Arc::new(self.stage.finish()),
            Arc::new(self.rule.finish()),
            Arc::new(self.value.finish()),
            Arc::new(self.threshold.finish()),
            Arc::new(self.reason.finish()),
            Arc::new(self.failed.finish()),
            Arc::new(self.duplicate_of.finish()),
            Arc::new(self.similarity.finish()),
        ]
    }
}

fn list_field(dt: DataType) -> Arc<Field> {
    Arc::new(Field::new("item", dt, false))
}

impl RecordRows {
    /// Builders for `kept` (`rejected == false`) or `rejected`.
    pub fn new(rejected: bool) -> Self {
        let messages = messages_builder();
        let pii = pii_builder();
        RecordRows {
            id: StringBuilder::new(),
            key: StringBuilder::new(),
            file: StringBuilder::new(),
            line: UInt64Builder::new(),
            format: StringBuilder::new(),
            messages,
            task: StringBuilder::new(),
            tags: strings_builder(),
            pii,
            stripped: strings_builder(),
            raw: StringBuilder::new(),
            rejection: RejectionCols::default(),
            rejected,
            rows: 0,
            bytes: 0,
        }
    }

    /// Rows buffered.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no row is buffered.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Approximate bytes buffered.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Adds a record; `rejection` must be given exactly for `rejected` builders.
    pub fn push(&mut self, rec: &Record, source_file: &str, rejection: Option<&Rejection>) {
        self.push_stripped(rec, source_file, rejection, None);
    }

    /// Adds a record with the boilerplate lines stripped from it (`kept`
    /// builders only; `None`: nothing was stripped).
    pub fn push_stripped(
        &mut self,
        rec: &Record,
        source_file: &str,
        rejection: Option<&Rejection>,
        stripped: Option<&[String]>,
    ) {
        self.rows += 1;
        self.bytes += crate::output::rechunk::Weight::record(rec.raw.len());
        self.id.append_value(&rec.id);
        self.key.append_value(&rec.key);
        self.file.append_value(source_file);
        self.line.append_value(rec.origin.line);
        self.format.append_value(rec.shape.name());
        for (role, content) in rec.messages() {
            let s = self.messages.values();
            append_str(s, 0, role);
            append_str(s, 1, content);
            s.append(true);
        }
        self.messages.append(true);
        self.task.append_option(rec.task.as_deref());
        for t in &rec.tags {
            self.tags.values().append_value(t);
        }
        self.tags.append(true);
        for p in &rec.pii {
            let s = self.pii.values();
            append_u32(s, 0, p.turn);
            append_u32(s, 1, p.start);
            append_u32(s, 2, p.end);
            append_str(s, 3, &p.kind);
            s.append(true);
        }
        self.pii.append(true);
        self.raw.append_value(&rec.raw);
        match stripped.filter(|_| !self.rejected) {
            Some(lines) => {
                for l in lines {
                    self.stripped.values().append_value(l);
                }
                self.stripped.append(true);
            }
            None => self.stripped.append(false),
        }
        match rejection.filter(|_| self.rejected) {
            Some(r) => self.rejection.push(r),
            None => self.rejection.push_null(),
        }
    }

    /// Takes the buffered rows as a batch.
    pub fn finish(&mut self) -> RecordBatch {
        let sizes = Sizes::of(self);
        let mut cols: Vec<ArrayRef> = vec![
            Arc::new(self.id.finish()),
            Arc::new(self.key.finish()),
            Arc::new(self.file.finish()),
            Arc::new(self.line.finish()),
            Arc::new(self.format.finish()),
            Arc::new(self.messages.finish()),
            Arc::new(self.task.finish()),
            Arc::new(self.tags.finish()),
            Arc::new(self.pii.finish()),
            Arc::new(self.raw.finish()),
        ];
        cols.push(Arc::new(self.stripped.finish()));
        cols.extend(self.rejection.finish());
        self.rows = 0;
        self.bytes = 0;
        self.messages = messages_builder_with(sizes);
        self.raw = StringBuilder::with_capacity(sizes.rows, sizes.raw_bytes);
        batch(output_schema(), cols)
    }
}

fn batch(schema: SchemaRef, cols: Vec<ArrayRef>) -> RecordBatch {
    match RecordBatch::try_new(schema, cols) {
        Ok(b) => b,
        // The builders above append one value per column per row, in schema order.
        Err(e) => unreachable!("output columns disagree with their schema: {e}"),
    }
}

pub(crate) fn append_str(s: &mut StructBuilder, i: usize, v: &str) {
    if let Some(b) = s.field_builder::<StringBuilder>(i) {
        b.append_value(v);
    }
}

pub(crate) fn append_u32(s: &mut StructBuilder, i: usize, v: u32) {
    if let Some(b) = s.field_builder::<UInt32Builder>(i) {
        b.append_value(v);
    }
}

/// Accumulates quarantined items into `malformed` batches.
#[derive(Default)]
pub struct MalformedRows {
    key: StringBuilder,
    file: StringBuilder,
    line: UInt64Builder,
    error: StringBuilder,
    raw: StringBuilder,
    rows: usize,
    bytes: usize,
}

impl MalformedRows {
    /// Adds one quarantined item of the file shown as `source_file` and
    /// keyed `file_key` ([`crate::read::InputFile::key`]).
    pub fn push(&mut self, source_file: &str, file_key: &str, line: u64, error: &str, raw: &[u8]) {
        let raw = String::from_utf8_lossy(raw);
        self.rows += 1;
        self.bytes += crate::output::rechunk::Weight::malformed(raw.len(), error.len());
        self.key.append_value(format!("{file_key}:{line}"));
        self.file.append_value(source_file);
        self.line.append_value(line);
        self.error.append_value(error);
        self.raw.append_value(raw);
    }

    /// Rows buffered.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no row is buffered.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Approximate bytes buffered.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Takes the buffered rows as a batch.
    pub fn finish(&mut self) -> RecordBatch {
        self.rows = 0;
        self.bytes = 0;
        batch(
            malformed_schema(),
            vec![
                Arc::new(self.key.finish()),
                Arc::new(self.file.finish()),
                Arc::new(self.line.finish()),
                Arc::new(self.error.finish()),
                Arc::new(self.raw.finish()),
            ],
        )
    }
}
