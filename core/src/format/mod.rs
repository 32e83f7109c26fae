//! The transformers: one streaming writer per output format behind the
//! [`ExportTransformer`] trait, and a [`Registry`] that maps format names to
//! them (and takes formats of your own at run time).
//!
//! A transformer never sees the whole dataset: [`begin`](ExportTransformer::begin)
//! writes what comes first, [`write_conversation`](ExportTransformer::write_conversation)
//! one conversation, [`finish`](ExportTransformer::finish) what comes last.
//! Each serialises into a reused buffer and then writes it, so a conversation
//! the format refuses leaves no bytes behind.

mod content;
mod csv;
mod json;
mod json_text;
mod jsonl;
mod markdown;
#[cfg(feature = "parquet")]
pub(crate) mod parquet;
mod registry;
#[cfg(test)]
mod test_fixture;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::io::Write;

use chrono::{DateTime, Utc};

use crate::model::{Conversation, ExportConfig};
use crate::Result;

pub use self::content::{truncate_content, TRUNCATION_LIMIT};
pub use self::csv::CsvTransformer;
pub use self::json::JsonTransformer;
#[cfg(feature = "tokenizers")]
pub(crate) use self::jsonl::hugging_face_messages;
pub use self::jsonl::JsonlTransformer;
pub use self::markdown::MarkdownTransformer;
#[cfg(feature = "parquet")]
pub use self::parquet::{
    ParquetTransformer, MAX_CONVERSATION_BYTES, ROW_GROUP_BYTES, ROW_GROUP_ROWS,
};
pub use self::registry::{Registry, TransformerFactory};

/// What a transformer is built from: the export's config and the export's
/// date (fixed once, so that every part of one export agrees on it).
#[derive(Debug, Clone, PartialEq)]
pub struct TransformerSettings {
    /// The export config.
    pub config: ExportConfig,
    /// The instant the export is dated (the JSON `export_date`).
    pub export_date: DateTime<Utc>,
    /// Whether the export counted each conversation's tokens (its
    /// `token_count` is then the tokenizer's): the JSONL metadata carries
    /// it as `token_count`, on every line.
    pub counted_tokens: bool,
}

/// A streaming output format: the seeds' `IExportTransformer`.
///
/// The caller calls [`begin`](Self::begin) once, then
/// [`write_conversation`](Self::write_conversation) for each conversation in
/// order, then [`finish`](Self::finish) once, always with the same writer.
/// An empty export (no conversation) is still a valid file.
///
/// A conversation the format cannot represent (for example one that does not
/// alternate user/assistant in the Anthropic flavor) is refused with
/// [`ErrorKind::Rejected`](crate::ErrorKind::Rejected) and nothing is written
/// for it; the export goes on and lists it as skipped.
///
/// ```
/// use lora_export_core::format::{ExportTransformer, Registry, TransformerSettings};
/// use lora_export_core::model::{Conversation, ExportConfig, Format, Scope};
///
/// let settings = TransformerSettings {
///     config: ExportConfig::new(Scope::All, Format::Jsonl),
///     export_date: chrono::Utc::now(),
///     counted_tokens: false,
/// };
/// let mut t = Registry::with_builtins().create("jsonl", &settings).unwrap();
/// let c: Conversation = serde_json::from_str(r#"{"conversation_id":"c1","title":"T",
///   "status":"approved","qualityScore":9,"tier":"template","createdAt":"2025-01-01T00:00:00Z",
///   "updatedAt":"2025-01-01T00:00:00Z","turns":[{"role":"user","content":"Hi"},
///   {"role":"assistant","content":"Hello"}]}"#).unwrap();
/// let mut out = Vec::new();
/// t.begin(&mut out).unwrap();
/// t.write_conversation(&mut out, &c).unwrap();
/// t.finish(&mut out).unwrap();
/// assert!(String::from_utf8(out).unwrap().starts_with(r#"{"messages":[{"role":"user","content":"Hi"}"#));
/// assert_eq!(t.file_extension(), "jsonl");
/// ```
#[doc(alias = "IExportTransformer")]
pub trait ExportTransformer: Send {
    /// Writes what precedes the first conversation (a BOM and header, an
    /// opening brace). Called once.
    fn begin(&mut self, out: &mut dyn Write) -> Result<()>;

    /// Writes one conversation, or refuses it without writing anything.
    fn write_conversation(
        &mut self,
        out: &mut dyn Write,
        conversation: &Conversation,
    ) -> Result<()>;

    /// Writes what follows the last conversation (closing brackets, counts,
    /// a summary). Called once.
    fn finish(&mut self, out: &mut dyn Write) -> Result<()>;

    /// The file extension, without a dot (`jsonl`).
    fn file_extension(&self) -> &'static str;

    /// The MIME type for an HTTP response.
    fn mime_type(&self) -> &'static str;

    /// Whether the format compresses its own data (Parquet's pages), so
    /// that an export refuses to compress its file again. Default: no.
    fn compresses_itself(&self) -> bool {
        false
    }

    /// Whether this transformer writes per-conversation metadata to a sidecar
    /// file, because its format forbids extra keys. Default: no.
    fn wants_sidecar(&self) -> bool {
        false
    }

    /// Writes the sidecar line of a conversation just written by
    /// [`write_conversation`](Self::write_conversation). Only called when
    /// [`wants_sidecar`](Self::wants_sidecar) is true and the caller gave a
    /// sidecar writer. Default: writes nothing.
    fn write_sidecar(
        &mut self,
        _sidecar: &mut dyn Write,
        _conversation: &Conversation,
    ) -> Result<()> {
        Ok(())
    }

    /// The fields of the conversations written that this format left out,
    /// counted per field (messages for message fields such as
    /// `reasoning`, conversations for `tools` and `preference`). Default:
    /// none. The export reports them in
    /// [`ExportSummary::dropped_fields`](crate::ExportSummary::dropped_fields).
    fn dropped_fields(&self) -> BTreeMap<String, u64> {
        BTreeMap::new()
    }
}
