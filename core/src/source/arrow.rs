//! Arrow input (feature `arrow`): record batches, one record per row.

use std::io;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::temporal_conversions::as_datetime;
use arrow_array::types::{
    ArrowTimestampType, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType,
};
use arrow_array::{ArrayRef, RecordBatch, RecordBatchReader, StringArray};
use arrow_json::writer::LineDelimited;
use arrow_json::WriterBuilder;
use arrow_schema::{ArrowError, DataType, Field, Schema, TimeUnit};
use chrono::{SecondsFormat, TimeZone, Utc};

use super::{parse_line, trim_line, Record};
use crate::{Location, Result};

/// Reads conversations from Arrow record batches (a `pyarrow.Table`, a
/// polars or pandas DataFrame through the Arrow C stream interface, a
/// Hugging Face `Dataset`'s table): each row is one record whose columns are
/// the conversation's fields, as in [`Conversation`](crate::model::Conversation)
/// — `turns` (or `messages`) a list of structs, `category` a list of
/// strings, timestamps as Arrow timestamps (read as RFC 3339 UTC text,
/// `…Z`), dates or strings. Null cells count as absent fields.
///
/// Each batch is encoded to JSON lines by `arrow-json` and read as
/// [`JsonlSource`](super::JsonlSource) reads a line, without an object per
/// cell; locations are 1-based row numbers across batches. A batch that
/// cannot be read or encoded (a column type JSON has no form for) is an
/// error, never a skipped row.
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{ArrayRef, RecordBatch, RecordBatchIterator, StringArray};
/// use lora_export::source::ArrowSource;
/// let ids: ArrayRef = Arc::new(StringArray::from(vec!["a", "b"]));
/// let batch = RecordBatch::try_from_iter([("conversation_id", ids)]).unwrap();
/// let schema = batch.schema();
/// let reader = RecordBatchIterator::new([Ok(batch)], schema);
/// let records: Vec<_> = ArrowSource::new(reader).collect::<Result<_, _>>().unwrap();
/// let first = records[0].as_ref().unwrap_err();
/// assert_eq!((first.location.record, first.conversation_id.as_deref()), (Some(1), Some("a")));
/// assert_eq!(first.reason, "not a valid conversation: missing field `turns`");
/// ```
pub struct ArrowSource<R> {
    reader: R,
    /// JSON lines of the current batch.
    lines: Vec<u8>,
    /// Where the next line starts in `lines`.
    at: usize,
    record: u64,
    done: bool,
}

impl<R: RecordBatchReader> ArrowSource<R> {
    /// Reads the batches of `reader`.
    pub fn new(reader: R) -> Self {
        ArrowSource { reader, lines: Vec::new(), at: 0, record: 0, done: false }
    }

    fn encode(&mut self, batch: &RecordBatch) -> Result<()> {
        self.lines.clear();
        self.at = 0;
        let batch = instants_as_text(batch).map_err(arrow_error)?;
        let mut writer = WriterBuilder::new()
            .with_explicit_nulls(false)
            .build::<_, LineDelimited>(&mut self.lines);
        writer.write(&batch).map_err(arrow_error)?;
        writer.finish().map_err(arrow_error)?;
        Ok(())
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
    let text: StringArray = column
        .as_primitive::<T>()
        .iter()
        .map(|v| {
            let instant = as_datetime::<T>(v?)?;
            Some(Utc.from_utc_datetime(&instant).to_rfc3339_opts(SecondsFormat::AutoSi, true))
        })
        .collect();
    Arc::new(text)
}

fn arrow_error(e: ArrowError) -> crate::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("Arrow input: {e}")).into()
}

impl<R: RecordBatchReader> Iterator for ArrowSource<R> {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Result<Record>> {
        while self.at >= self.lines.len() {
            if self.done {
                return None;
            }
            match self.reader.next() {
                None => {
                    self.done = true;
                    return None;
                }
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(arrow_error(e)));
                }
                Some(Ok(batch)) => {
                    if let Err(e) = self.encode(&batch) {
                        self.done = true;
                        return Some(Err(e));
                    }
                }
            }
        }
        let rest = &self.lines[self.at..];
        let end = memchr::memchr(b'\n', rest).map_or(rest.len(), |i| i + 1);
        let line = trim_line(&rest[..end]);
        self.at += end;
        self.record += 1;
        Some(Ok(parse_line(line, Location::record(self.record))))
    }
}

impl<R> std::fmt::Debug for ArrowSource<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArrowSource").field("record", &self.record).finish_non_exhaustive()
    }
}
