//! # lora-export
//!
//! Turns reviewed LLM training conversations into training-ready files and
//! keeps an audit trail of every export in PostgreSQL. This crate is the one
//! name a Rust user depends on; the work is done by two crates below it:
//!
//! - [`lora_export_core`], re-exported here at the root: the pure streaming
//!   core (model, request validation, scope, sources, formats, pipeline,
//!   validators, audit records, datasets). No async runtime, network or
//!   database dependency.
//! - [`lora_export_service`], as [`pg`] with the `postgres` feature: the
//!   PostgreSQL schema with row-level security, sign-in, jobs, storage and
//!   the audit trail, on top of the core.
//!
//! ```
//! use lora_export::{ExportBuilder, model::{ExportConfig, ExportRequest, Format, Scope}};
//! use lora_export::source::JsonlSource;
//!
//! let input = r#"{"conversation_id":"c1","title":"Greeting","status":"approved","qualityScore":9,"tier":"template","createdAt":"2025-10-29T10:00:00Z","updatedAt":"2025-10-29T10:00:00Z","turns":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello!"}]}"#;
//! let mut config = ExportConfig::new(Scope::All, Format::Jsonl);
//! config.include_metadata = false;
//! let mut out = Vec::new();
//! let summary = ExportBuilder::new(ExportRequest::new(config))
//!     .export(JsonlSource::new(input.as_bytes()), &mut out)
//!     .unwrap();
//! assert_eq!(summary.conversations, 1);
//! ```
#![deny(missing_docs)]

pub use lora_export_core::*;

/// The PostgreSQL service (feature `postgres`): the crate
/// [`lora_export_service`] under its historical path `lora_export::pg`.
#[cfg(feature = "postgres")]
pub use lora_export_service as pg;

/// The README's examples, compiled as doctests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// The examples of the pages under `docs/`, compiled as doctests too.
#[cfg(doctest)]
#[doc = include_str!("../../docs/formats.md")]
#[doc = include_str!("../../docs/training-sets.md")]
#[doc = include_str!("../../docs/service.md")]
#[doc = include_str!("../../docs/deploying.md")]
#[doc = include_str!("../../docs/nextjs.md")]
#[doc = include_str!("../../docs/security.md")]
#[doc = include_str!("../../docs/performance.md")]
pub struct DocsDoctests;
