//! Parquet: one row per conversation, in a schema that is the same in
//! every file and every row of an export (docs/formats.md, "Parquet").

mod columns;
pub(crate) mod schema;

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use self::columns::{Messages, Metadata};
use super::content::Dropped;
use super::{ExportTransformer, TransformerSettings};
use crate::model::{Conversation, ExportConfig, Role};
use crate::{ErrorKind, Result};

/// Rows a row group holds at most: a row group is written (and its bytes
/// handed to the output) when it has this many rows, or
/// [`ROW_GROUP_BYTES`] of text, whichever comes first.
pub const ROW_GROUP_ROWS: usize = 10_000;
/// Bytes of text a row group holds at most (16 MiB; one conversation may
/// pass it): what bounds the writer's memory whatever the rows' size. A row
/// group is held about four times over while it is written (the Arrow
/// columns, the encoded pages, the compressed chunk, the output buffer):
/// 64 MiB made a peak of 395 MiB on 8 KB conversations.
pub const ROW_GROUP_BYTES: usize = 16 << 20;
/// The largest conversation a Parquet export writes (512 MiB of text);
/// larger ones are refused and listed as skipped.
pub const MAX_CONVERSATION_BYTES: usize = 512 << 20;

/// Parquet for data tools and trainers that read tables (pyarrow, polars,
/// DuckDB, Hugging Face `datasets`): one row per conversation, `messages` a
/// list of structs, the same columns of the same types in every file.
///
/// Streams in row groups: rows are buffered in Arrow columns and written as
/// a row group of at most [`ROW_GROUP_ROWS`] rows or [`ROW_GROUP_BYTES`] of
/// text; the row group's bytes go to the output as soon as it is written
/// (but for the last few KiB the writer buffers), so memory stays bounded
/// by one row group. The footer is written by
/// [`finish`](ExportTransformer::finish). Pages are compressed with Snappy.
///
/// A preference record's continuations are in `chosen` and `rejected`;
/// its prompt is `messages`. A row that gave `messages` and a pair but no
/// `prompt` is written without the pair (which messages are the prompt is
/// not said), counted as `preference` in the dropped fields. Everything
/// else of the record model has a column.
///
/// ```
/// use lora_export_core::format::{ExportTransformer, ParquetTransformer, TransformerSettings};
/// use lora_export_core::model::{Conversation, ExportConfig, Format, Scope};
///
/// let settings = TransformerSettings {
///     config: ExportConfig::new(Scope::All, Format::Parquet),
///     export_date: chrono::Utc::now(),
///     counted_tokens: false,
/// };
/// let mut t = ParquetTransformer::new(&settings);
/// let c: Conversation = serde_json::from_str(r#"{"conversation_id":"c1",
///   "messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"}]}"#).unwrap();
/// let mut out = Vec::new();
/// t.begin(&mut out).unwrap();
/// t.write_conversation(&mut out, &c).unwrap();
/// t.finish(&mut out).unwrap();
/// assert!(out.starts_with(b"PAR1") && out.ends_with(b"PAR1"));
/// assert_eq!(t.mime_type(), "application/vnd.apache.parquet");
/// ```
pub struct ParquetTransformer {
    config: ExportConfig,
    schema: SchemaRef,
    writer: Option<ArrowWriter<Vec<u8>>>,
    rows: usize,
    /// Bytes of text in the rows buffered.
    bytes: usize,
    row_group_rows: usize,
    conversation_id: StringBuilder,
    messages: Messages,
    tools: StringBuilder,
    chosen: Messages,
    rejected: Messages,
    metadata: Metadata,
    dropped: Dropped,
}

impl std::fmt::Debug for ParquetTransformer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetTransformer")
            .field("schema", &self.schema)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl ParquetTransformer {
    /// A Parquet writer for these settings.
    pub fn new(settings: &TransformerSettings) -> Self {
        let metadata = Metadata::new(&settings.config, settings.counted_tokens);
        let schema = Arc::new(schema::schema(metadata.fields()));
        ParquetTransformer {
            config: settings.config.clone(),
            schema,
            writer: None,
            rows: 0,
            bytes: 0,
            row_group_rows: ROW_GROUP_ROWS,
            conversation_id: StringBuilder::new(),
            messages: Messages::default(),
            tools: StringBuilder::new(),
            chosen: Messages::default(),
            rejected: Messages::default(),
            metadata,
            dropped: Dropped::default(),
        }
    }

    /// The schema every file of this export has.
    pub fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    /// Writes the buffered rows as one row group and hands its bytes to `out`.
    fn flush(&mut self, out: &mut dyn Write) -> Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        let mut arrays: Vec<ArrayRef> = vec![
            Arc::new(self.conversation_id.finish()),
            self.messages.finish().map_err(arrow_error)?,
            Arc::new(self.tools.finish()),
            self.chosen.finish().map_err(arrow_error)?,
            self.rejected.finish().map_err(arrow_error)?,
        ];
        arrays.extend(self.metadata.finish());
        let batch = RecordBatch::try_new(Arc::clone(&self.schema), arrays).map_err(arrow_error)?;
        self.rows = 0;
        self.bytes = 0;
        let writer = self.writer()?;
        writer.write(&batch).map_err(parquet_error)?;
        writer.flush().map_err(parquet_error)?;
        self.drain(out)
    }

    /// The writer, made by [`begin`](ExportTransformer::begin).
    fn writer(&mut self) -> Result<&mut ArrowWriter<Vec<u8>>> {
        self.writer
            .as_mut()
            .ok_or_else(|| io::Error::other("the Parquet writer was not begun").into())
    }

    /// Moves the bytes the writer has produced to `out`.
    fn drain(&mut self, out: &mut dyn Write) -> Result<()> {
        let bytes = self.writer()?.inner_mut();
        out.write_all(bytes.as_slice())?;
        bytes.clear();
        Ok(())
    }
}

fn parquet_error(e: parquet::errors::ParquetError) -> crate::Error {
    io::Error::other(format!("Parquet writer: {e}")).into()
}

fn arrow_error(e: ArrowError) -> crate::Error {
    io::Error::other(format!("Parquet columns: {e}")).into()
}

/// Bytes of text `c` puts in a row (an estimate from above of what its
/// columns hold), with the JSON texts written for it.
fn text_bytes(c: &Conversation, system: Option<&str>, json: usize) -> usize {
    let turns =
        c.turns.iter().chain(c.preference.iter().flat_map(|p| p.chosen.iter().chain(&p.rejected)));
    let mut n = c.conversation_id.len() + system.map_or(0, str::len) + json + 256;
    for t in turns {
        n += 32 + t.content.len();
        n += [&t.tool_call_id, &t.name, &t.reasoning]
            .iter()
            .map(|s| s.as_ref().map_or(0, String::len))
            .sum::<usize>();
        for part in &t.parts {
            n += 16
                + match part {
                    crate::model::ContentPart::Text(text) => text.len(),
                    crate::model::ContentPart::Image { url, detail } => {
                        url.as_ref().map_or(0, String::len) + detail.as_ref().map_or(0, String::len)
                    }
                };
        }
        for call in &t.tool_calls {
            n += 16
                + call.id.as_ref().map_or(0, String::len)
                + call.name.len()
                + call.arguments.len();
        }
    }
    n += [&c.title, &c.persona, &c.emotion, &c.topic, &c.parent_id]
        .iter()
        .map(|s| s.as_ref().map_or(0, String::len))
        .sum::<usize>();
    n + c.category.iter().map(String::len).sum::<usize>()
}

/// The configured system prompt, unless the conversation opens with its own.
fn system_prompt<'a>(config: &'a ExportConfig, c: &Conversation) -> Option<&'a str> {
    match c.turns.first() {
        Some(t) if matches!(t.role, Role::System | Role::Developer) => None,
        _ => config.system_prompt.as_deref(),
    }
}

impl ExportTransformer for ParquetTransformer {
    fn begin(&mut self, out: &mut dyn Write) -> Result<()> {
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_size(self.row_group_rows)
            // Min/max statistics of long texts would make the footer (held
            // in memory until the end) grow with the rows.
            .set_statistics_truncate_length(Some(64))
            .build();
        let writer = ArrowWriter::try_new(Vec::new(), self.schema(), Some(properties))
            .map_err(parquet_error)?;
        self.writer = Some(writer);
        self.drain(out)
    }

    fn write_conversation(&mut self, out: &mut dyn Write, c: &Conversation) -> Result<()> {
        let pair = match &c.preference {
            Some(p) if p.prompt_is_messages => None,
            pair => pair.as_ref(),
        };
        let system = system_prompt(&self.config, c).map(str::to_owned);
        let system = system.as_deref();
        let tools = match c.tools.is_empty() {
            true => None,
            false => Some(serde_json::to_string(&c.tools)?),
        };
        let user_fields = match c.user_fields.is_empty() {
            true => None,
            false => Some(serde_json::to_string(&c.user_fields)?),
        };
        let review_history = match self.metadata.wants_review_history() {
            true => serde_json::to_string(&c.review_history)?,
            false => String::new(),
        };
        let json = tools.as_ref().map_or(0, String::len)
            + user_fields.as_ref().map_or(0, String::len)
            + review_history.len();
        let size = text_bytes(c, system, json);
        if size > MAX_CONVERSATION_BYTES {
            return Err(ErrorKind::Rejected(format!(
                "parquet: the conversation holds {size} bytes of text, more than the \
                 {MAX_CONVERSATION_BYTES} one row may"
            ))
            .into());
        }
        if self.bytes + size > ROW_GROUP_BYTES {
            self.flush(out)?;
        }
        if c.preference.as_ref().is_some_and(|p| p.prompt_is_messages) {
            self.dropped.add("preference", 1);
        }
        let full = self.config.include_full_content;
        let mut truncated = false;
        self.conversation_id.append_value(&c.conversation_id);
        self.messages.push(system, &c.turns, full, &mut truncated);
        self.tools.append_option(tools);
        match pair {
            Some(p) => {
                self.chosen.push(None, &p.chosen, full, &mut truncated);
                self.rejected.push(None, &p.rejected, full, &mut truncated);
            }
            None => {
                self.chosen.null();
                self.rejected.null();
            }
        }
        self.metadata.push(c, truncated, &review_history, user_fields.as_deref());
        self.rows += 1;
        self.bytes += size;
        if self.rows >= self.row_group_rows || self.bytes >= ROW_GROUP_BYTES {
            self.flush(out)?;
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut dyn Write) -> Result<()> {
        self.flush(out)?;
        self.writer()?.finish().map_err(parquet_error)?;
        self.drain(out)
    }

    fn file_extension(&self) -> &'static str {
        "parquet"
    }

    fn mime_type(&self) -> &'static str {
        "application/vnd.apache.parquet"
    }

    fn compresses_itself(&self) -> bool {
        true
    }

    fn dropped_fields(&self) -> BTreeMap<String, u64> {
        self.dropped.to_map()
    }
}

#[cfg(test)]
mod tests;
