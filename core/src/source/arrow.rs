//! Arrow input (feature `arrow`): record batches, one record per row.

use std::io;

use arrow_array::{RecordBatch, RecordBatchReader};
use arrow_json::writer::LineDelimited;
use arrow_json::WriterBuilder;
use arrow_schema::ArrowError;

use super::{parse_line, trim_line, Record};
use crate::{Location, Result};

/// Reads conversations from Arrow record batches (a `pyarrow.Table`, a
/// polars or pandas DataFrame through the Arrow C stream interface, a
/// Hugging Face `Dataset`'s table): each row is one record whose columns are
/// the conversation's fields, as in [`Conversation`](crate::model::Conversation)
/// — `turns` (or `messages`) a list of structs, `category` a list of
/// strings, timestamps as Arrow timestamps, dates or strings. Null cells
/// count as absent fields.
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
        let mut writer = WriterBuilder::new()
            .with_explicit_nulls(false)
            .build::<_, LineDelimited>(&mut self.lines);
        writer.write(batch).map_err(arrow_error)?;
        writer.finish().map_err(arrow_error)?;
        Ok(())
    }
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
