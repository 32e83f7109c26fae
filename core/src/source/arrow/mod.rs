//! Arrow input (feature `arrow`): record batches, one record per row.

use std::io;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::temporal_conversions::as_datetime;
use arrow_array::types::{
    ArrowTimestampType, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType,
};
use arrow_array::{Array, ArrayRef, RecordBatch, RecordBatchReader, StringArray};
use arrow_json::writer::LineDelimited;
use arrow_json::WriterBuilder;
use arrow_schema::{ArrowError, DataType, Field, Schema, TimeUnit};
use chrono::{SecondsFormat, TimeZone, Utc};

use self::row::Row;
use super::{checked, trim_line, Reading, Record};
use crate::{Location, Result};

mod row;

/// Reads conversations from Arrow record batches (a `pyarrow.Table`, a
/// polars or pandas DataFrame through the Arrow C stream interface, a
/// Hugging Face `Dataset`'s table): each row is one record whose columns are
/// the conversation's fields, as in [`Conversation`](crate::model::Conversation)
/// — `turns` (or `messages`) a list of structs, `category` a list of
/// strings, timestamps as Arrow timestamps (read as RFC 3339 UTC text,
/// `…Z`), dates or strings. Null cells count as absent fields.
///
/// Each row is read straight from the batch's arrays into a conversation,
/// as its JSON form would be read (strings copied once, no JSON text
/// between). A batch with a column of another type (a dictionary, a
/// `Float32`, a nested timestamp), and a row that cannot be read so (a
/// wrong type), is encoded to JSON lines by
/// `arrow-json` and read as [`JsonlSource`](super::JsonlSource) reads a
/// line, so a refusal names the field; locations are 1-based row numbers
/// across batches. A batch that cannot be read or encoded (a column type
/// JSON has no form for) is an error, never a skipped row.
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{ArrayRef, RecordBatch, RecordBatchIterator, StringArray};
/// use lora_export_core::source::ArrowSource;
/// let ids: ArrayRef = Arc::new(StringArray::from(vec!["a", "b"]));
/// let batch = RecordBatch::try_from_iter([("conversation_id", ids)]).unwrap();
/// let schema = batch.schema();
/// let reader = RecordBatchIterator::new([Ok(batch)], schema);
/// let records: Vec<_> = ArrowSource::new(reader).collect::<Result<_, _>>().unwrap();
/// let first = records[0].as_ref().unwrap_err();
/// assert_eq!((first.location.record, first.conversation_id.as_deref()), (Some(1), Some("a")));
/// assert_eq!(first.reason, "conversation has no turns");
/// ```
pub struct ArrowSource<R> {
    reader: R,
    batch: Option<Batch>,
    record: u64,
    done: bool,
    reading: Arc<Reading>,
}

impl<R: RecordBatchReader> ArrowSource<R> {
    /// Reads the batches of `reader`, every column under its own name (the
    /// default [`Reading`]).
    pub fn new(reader: R) -> Self {
        ArrowSource::with_reading(reader, Arc::default())
    }

    /// Reads the batches of `reader` by the rule of `reading` (see
    /// [`JsonlSource::with_reading`](super::JsonlSource::with_reading)).
    pub fn with_reading(reader: R, reading: Arc<Reading>) -> Self {
        ArrowSource { reader, batch: None, record: 0, done: false, reading }
    }
}

/// The batch being read.
struct Batch {
    batch: RecordBatch,
    /// Every column is of a type [`Row`] reads.
    direct: bool,
    /// The next row.
    next: usize,
    /// The batch as JSON lines, encoded when a row needs them.
    json: Option<JsonLines>,
}

impl Batch {
    fn new(batch: RecordBatch) -> Self {
        let direct = row::readable(batch.schema_ref().fields());
        Batch { batch, direct, next: 0, json: None }
    }

    /// Row `row` read directly when it can be, else through its JSON line
    /// (the refusal then names the field).
    fn record(&mut self, row: usize, location: Location, reading: &Reading) -> Result<Record> {
        if self.direct {
            if let Some(c) = reading.deserialize(Row::new(&self.batch, row)) {
                return Ok(checked(c, location));
            }
        }
        let json = match &mut self.json {
            Some(json) => json,
            none => none.insert(JsonLines::encode(&self.batch)?),
        };
        Ok(reading.line(json.line(row), location))
    }
}

/// A batch encoded by arrow-json, one line per row.
struct JsonLines {
    text: Vec<u8>,
    /// Where each line starts, and the end.
    starts: Vec<usize>,
}

impl JsonLines {
    fn encode(batch: &RecordBatch) -> Result<JsonLines> {
        let mut text = Vec::new();
        let batch = instants_as_text(batch).map_err(arrow_error)?;
        let mut writer =
            WriterBuilder::new().with_explicit_nulls(false).build::<_, LineDelimited>(&mut text);
        writer.write(&batch).map_err(arrow_error)?;
        writer.finish().map_err(arrow_error)?;
        let mut starts = Vec::with_capacity(batch.num_rows() + 1);
        starts.push(0);
        starts.extend(memchr::memchr_iter(b'\n', &text).map(|i| i + 1));
        Ok(JsonLines { text, starts })
    }

    fn line(&self, row: usize) -> &[u8] {
        let end = self.starts.get(row + 1).copied().unwrap_or(self.text.len());
        trim_line(&self.text[self.starts[row].min(end)..end])
    }
}

/// The batch with its timestamp columns as RFC 3339 UTC text (`…Z`, with 0,
/// 3, 6 or 9 fractional digits), as the bindings write a `datetime`, whatever
/// the column's zone: Arrow stores instants as UTC; a naive one is read as
/// UTC.
fn instants_as_text(batch: &RecordBatch) -> std::result::Result<RecordBatch, ArrowError> {
    let schema = batch.schema();
    if !schema.fields().iter().any(|f| matches!(f.data_type(), DataType::Timestamp(..))) {
        return Ok(batch.clone());
    }
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        let text = match field.data_type() {
            DataType::Timestamp(TimeUnit::Second, _) => utc_text::<TimestampSecondType>(column),
            DataType::Timestamp(TimeUnit::Millisecond, _) => {
                utc_text::<TimestampMillisecondType>(column)
            }
            DataType::Timestamp(TimeUnit::Microsecond, _) => {
                utc_text::<TimestampMicrosecondType>(column)
            }
            DataType::Timestamp(TimeUnit::Nanosecond, _) => {
                utc_text::<TimestampNanosecondType>(column)
            }
            _ => {
                fields.push(field.clone());
                columns.push(column.clone());
                continue;
            }
        };
        fields.push(Arc::new(Field::new(field.name(), DataType::Utf8, true)));
        columns.push(text);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}

fn utc_text<T: ArrowTimestampType>(column: &ArrayRef) -> ArrayRef {
    let text: StringArray =
        column.as_primitive::<T>().iter().map(|v| utc(as_datetime::<T>(v?)?)).collect();
    Arc::new(text)
}

fn utc(instant: chrono::NaiveDateTime) -> Option<String> {
    Some(Utc.from_utc_datetime(&instant).to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

/// The RFC 3339 UTC text of a timestamp cell, as [`instants_as_text`]
/// writes it; none when the instant is out of chrono's range.
fn instant_text(array: &dyn Array, row: usize) -> Option<String> {
    fn text<T: ArrowTimestampType>(array: &dyn Array, row: usize) -> Option<String> {
        utc(as_datetime::<T>(array.as_primitive::<T>().value(row))?)
    }
    match array.data_type() {
        DataType::Timestamp(TimeUnit::Second, _) => text::<TimestampSecondType>(array, row),
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            text::<TimestampMillisecondType>(array, row)
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            text::<TimestampMicrosecondType>(array, row)
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => text::<TimestampNanosecondType>(array, row),
        _ => None,
    }
}

fn arrow_error(e: ArrowError) -> crate::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("Arrow input: {e}")).into()
}

impl<R: RecordBatchReader> Iterator for ArrowSource<R> {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Result<Record>> {
        loop {
            if self.done {
                return None;
            }
            if let Some(batch) = self.batch.as_mut().filter(|b| b.next < b.batch.num_rows()) {
                let row = batch.next;
                batch.next += 1;
                self.record += 1;
                let record = batch.record(row, Location::record(self.record), &self.reading);
                self.done = record.is_err();
                return Some(record);
            }
            match self.reader.next() {
                None => self.done = true,
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(arrow_error(e)));
                }
                Some(Ok(batch)) => self.batch = Some(Batch::new(batch)),
            }
        }
    }
}

impl<R> std::fmt::Debug for ArrowSource<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArrowSource").field("record", &self.record).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use arrow_json::ReaderBuilder;
    use arrow_schema::{Fields, SchemaRef};
    use serde::Deserialize;

    use super::*;
    use crate::model::Conversation;

    fn list(item: DataType) -> DataType {
        DataType::List(Arc::new(Field::new_list_field(item, true)))
    }

    fn field(name: &str, data_type: DataType) -> Field {
        Field::new(name, data_type, true)
    }

    /// A batch of `schema` from JSON lines (arrow-json's reader).
    fn batch(schema: &SchemaRef, lines: &[&str]) -> RecordBatch {
        let text = lines.join("\n");
        let mut reader = ReaderBuilder::new(schema.clone()).build(text.as_bytes()).unwrap();
        reader.next().unwrap().unwrap()
    }

    /// Each row read directly (`None` where it could not be) and through
    /// its JSON line.
    fn both_ways(batch: &RecordBatch) -> Vec<(Option<Record>, Record)> {
        let json = JsonLines::encode(batch).unwrap();
        (0..batch.num_rows())
            .map(|row| {
                let location = Location::record(row as u64 + 1);
                let direct = Conversation::deserialize(Row::new(batch, row))
                    .ok()
                    .map(|c| checked(c, location.clone()));
                (direct, Reading::default().line(json.line(row), location))
            })
            .collect()
    }

    fn conversations() -> SchemaRef {
        let turn = Fields::from(vec![
            field("role", DataType::Utf8),
            field("content", DataType::LargeUtf8),
            field("token_count", DataType::Int32),
        ]);
        let parameters = Fields::from(vec![
            field("temperature", DataType::Float64),
            field("seed", DataType::Int64),
            field("streaming", DataType::Boolean),
            field("stop", list(DataType::Utf8View)),
            field("model", DataType::Struct(Fields::from(vec![field("name", DataType::Utf8)]))),
            field("nothing", DataType::Null),
        ]);
        Arc::new(Schema::new(vec![
            field("conversation_id", DataType::Utf8View),
            field("title", DataType::Utf8),
            field("category", list(DataType::Utf8)),
            field("status", DataType::Utf8),
            field("quality_score", DataType::Float64),
            field("total_turns", DataType::UInt32),
            field("token_count", DataType::Int64),
            field("tier", DataType::Utf8),
            field("parameters", DataType::Struct(parameters)),
            field("created_at", DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))),
            field("updated_at", DataType::Timestamp(TimeUnit::Nanosecond, None)),
            field("turns", list(DataType::Struct(turn))),
            field("extra", DataType::Int16),
            field("blank", DataType::Null),
        ]))
    }

    #[test]
    fn rows_read_directly_are_the_records_their_json_lines_are() {
        let schema = conversations();
        let rows = [
            r#"{"conversation_id":"c-1","title":"Refund \"now\"\n","category":["billing","é"],"status":"approved","quality_score":8.0,"total_turns":2,"token_count":12,"tier":"edge_case","parameters":{"temperature":0.7,"seed":42,"streaming":true,"stop":["\u0000",null],"model":{"name":"m"}},"created_at":"2025-10-29T10:00:00.123456Z","updated_at":"2025-10-29T10:00:00.000000001","turns":[{"role":"user","content":"Hi 👋","token_count":3},{"role":"assistant","content":"","token_count":null}],"extra":7}"#,
            r#"{"conversation_id":"c-2","quality_score":1e-7,"parameters":{"temperature":1e300,"seed":-5},"turns":[{"role":"system","content":"s"}]}"#,
            r#"{"conversation_id":"c-3","quality_score":10,"parameters":null,"category":null,"turns":[{"role":"user","content":"x"}]}"#,
        ];
        let batch = batch(&schema, &rows);
        assert!(row::readable(schema.fields()));
        for (direct, json) in both_ways(&batch) {
            let direct = direct.expect("read directly");
            assert!(direct.is_ok(), "{direct:?}");
            assert_eq!(direct, json);
        }
        let first = ArrowSource::new(arrow_array::RecordBatchIterator::new([Ok(batch)], schema))
            .next()
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(first.parameters["temperature"], serde_json::json!(0.7));
        assert_eq!(first.created_at.as_ref().unwrap().as_str(), "2025-10-29T10:00:00.123456Z");
        assert_eq!(first.updated_at.as_ref().unwrap().as_str(), "2025-10-29T10:00:00.000000001Z");
    }

    #[test]
    fn rows_that_cannot_be_read_directly_are_refused_as_their_json_lines_are() {
        let schema = conversations();
        let rows = [
            r#"{"conversation_id":"bad-role","turns":[{"role":"robot","content":"x"}]}"#,
            r#"{"conversation_id":"no-turns"}"#,
            r#"{"conversation_id":"empty-turns","turns":[]}"#,
            r#"{"conversation_id":"null-content","turns":[{"role":"user"}]}"#,
            r#"{"conversation_id":"null-turn","turns":[null]}"#,
        ];
        let batch = batch(&schema, &rows);
        let source =
            ArrowSource::new(arrow_array::RecordBatchIterator::new([Ok(batch.clone())], schema));
        let read: Vec<Record> = source.map(|r| r.unwrap()).collect();
        for (i, (_, json)) in both_ways(&batch).into_iter().enumerate() {
            assert!(json.is_err(), "row {i}: {json:?}");
            assert_eq!(read[i], json, "row {i}");
        }
        let field = read[3].as_ref().unwrap_err();
        assert_eq!(field.location.field.as_deref(), Some("turns[0]"));
    }

    /// A minimal conversation schema whose `quality_score` is of type `score`.
    fn scored(score: DataType) -> SchemaRef {
        let turn =
            Fields::from(vec![field("role", DataType::Utf8), field("content", DataType::Utf8)]);
        Arc::new(Schema::new(vec![
            field("conversation_id", DataType::Utf8),
            field("quality_score", score),
            field("turns", list(DataType::Struct(turn))),
        ]))
    }

    #[test]
    fn a_nan_score_is_absent_both_ways_and_other_types_go_through_json() {
        let schema = scored(DataType::Float64);
        let good =
            batch(&schema, &[r#"{"conversation_id":"n","turns":[{"role":"user","content":"x"}]}"#]);
        let scores: ArrayRef = Arc::new(arrow_array::Float64Array::from(vec![f64::NAN]));
        let nan = RecordBatch::try_new(
            schema.clone(),
            vec![good.column(0).clone(), scores, good.column(2).clone()],
        )
        .unwrap();
        let (direct, json) = both_ways(&nan).remove(0);
        assert_eq!(direct, Some(json.clone()), "a NaN is null both ways");
        let read = ArrowSource::new(arrow_array::RecordBatchIterator::new([Ok(nan)], schema))
            .next()
            .unwrap()
            .unwrap();
        assert_eq!(read, json);
        assert_eq!(read.unwrap().quality_score, None);

        let single = scored(DataType::Float32);
        assert!(!row::readable(single.fields()));
        let b = batch(
            &single,
            &[
                r#"{"conversation_id":"f","quality_score":8.1,"turns":[{"role":"user","content":"x"}]}"#,
            ],
        );
        let read = ArrowSource::new(arrow_array::RecordBatchIterator::new([Ok(b)], single))
            .next()
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(read.quality_score, Some(8.1));
    }
}
