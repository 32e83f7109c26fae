//! The Node.js binding of `lora-export` (the npm package `lora-export`),
//! built with napi-rs.
//!
//! The binding is thin: it converts JavaScript values to the core's types
//! and back, and the core's [`lora_export::Error`] to a JavaScript `Error`
//! carrying `code`, `status`, `issues` and `retryAfter`. All logic stays in
//! the core. Everything that touches the database, a file, or more than a
//! handful of conversations runs on napi's tokio runtime (CPU-bound work on
//! its blocking pool), so the JavaScript thread never waits; a panic
//! anywhere becomes a rejected promise or a thrown error, never a crash.
//!
//! - [`pure`]: `validateExportRequest`, `transform`, `preview`,
//!   `validateOutput`, `exportFileName`, `contentDisposition`;
//! - [`dataset`]: `exportDataset`, a dataset directory (splits, shards, card);
//! - [`client`]: `ExportClient`, the database-backed export service;
//! - [`hooks`]: its `onError` and `onEvent` callbacks;
//! - [`modal`]: the export modal's and history page's operations on `ExportClient`;
//! - [`session`]: `Session`, a verified sign-in;
//! - [`reply`]: how results and errors cross into JavaScript.
#![deny(missing_docs)]

/// Rust's allocations in this module (not V8's objects): see Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod client;
pub mod dataset;
pub mod hooks;
pub mod modal;
pub mod pure;
pub mod reply;
pub mod session;
