//! # lora-export-core
//!
//! Turns reviewed LLM training conversations into training-ready files —
//! JSONL (OpenAI, Anthropic, ShareGPT flavors), JSON, CSV, Markdown and
//! Parquet (feature `parquet`, on by default) — in one streaming pass and
//! constant memory, and builds the audit records of every export.
//!
//! The pieces, one module each:
//! - [`model`]: conversations, the export config, filters and the request;
//! - [`request`]: validation of an untrusted request, every problem with its path;
//! - [`scope`]: the one predicate engine deciding what is in an export;
//! - [`source`]: reading canonical JSONL input, reporting malformed records;
//! - [`format`](mod@format): the [`ExportTransformer`](format::ExportTransformer) trait, the
//!   built-in formats and a registry for your own;
//! - [`pipeline`]: [`ExportBuilder`] and [`ExportWriter`], which tie the above together
//!   and produce an [`ExportSummary`];
//! - [`validate`]: streaming validators of exported files;
//! - [`audit`]: export log rows, their status lifecycle, file names;
//! - [`atomic`] and [`digest`]: the one staged-then-renamed output file and the
//!   one hashing writer, which every front door and the service use;
//!
//! No async runtime, network or database: the PostgreSQL service is the
//! `lora-export-service` crate on top of this one, and `lora-export` puts
//! both behind one name (this crate at its root, the service as `pg`).
//!
//! ```
//! use lora_export_core::{ExportBuilder, model::{ExportConfig, ExportRequest, Format, Scope}};
//! use lora_export_core::source::JsonlSource;
//!
//! let good = r#"{"conversation_id":"c1","title":"Greeting","status":"approved","qualityScore":9,"tier":"template","createdAt":"2025-10-29T10:00:00Z","updatedAt":"2025-10-29T10:00:00Z","turns":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello!"}]}"#;
//! let input = format!("{good}\n\nnot json at all\n");
//! let mut config = ExportConfig::new(Scope::All, Format::Jsonl);
//! config.include_metadata = false;
//! let mut out = Vec::new();
//! let summary = ExportBuilder::new(ExportRequest::new(config))
//!     .export(JsonlSource::new(input.as_bytes()), &mut out)
//!     .unwrap();
//! assert_eq!(
//!     String::from_utf8(out).unwrap(),
//!     "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"},{\"role\":\"assistant\",\"content\":\"Hello!\"}]}\n"
//! );
//! assert_eq!(summary.conversations, 1);
//! assert_eq!(summary.skipped[0].location.line, Some(3));
//! ```
#![deny(missing_docs)]

pub mod atomic;
pub mod audit;
mod compress;
pub mod dataset;
pub mod digest;
mod error;
pub mod format;
pub mod model;
pub mod pipeline;
pub mod request;
pub mod scope;
pub mod source;
mod summary;
pub mod tokens;
pub mod validate;

pub use error::{Error, ErrorKind, Issue, Location, Result};
pub use pipeline::{preview, ExportBuilder, ExportWriter, RecordSink, TooManySkipped};
pub use summary::{
    ExportSummary, SkippedRecord, Warning, WarningCode, DEFAULT_MAX_SKIPPED_RECORDS,
};
