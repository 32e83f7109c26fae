//! Audit records of exports: the seeds' `export_logs` row, its status
//! lifecycle, the download file name and its `Content-Disposition` header.
//!
//! Everything here is pure: no clock, no database, no I/O. Each builder
//! takes the current instant `now` from the caller and returns a new
//! [`ExportLog`]; the database layer stores what it gets.
//!
//! - [`ExportStatus`]: `queued → processing → completed | failed`,
//!   `completed → expired`, and `queued → failed` for an export cancelled
//!   or failed before it started; anything else is
//!   [`ErrorKind::InvalidTransition`](crate::ErrorKind::InvalidTransition).
//!   The diagram is on [`ExportStatus`].
//! - [`ExportLog`]: the row, built with [`ExportLog::queued`], then
//!   [`start`](ExportLog::start), [`complete`](ExportLog::complete) or
//!   [`fail`](ExportLog::fail), [`expire`](ExportLog::expire), and
//!   [`record_download`](ExportLog::record_download) in between. Completed
//!   files stay downloadable for [`DEFAULT_EXPIRY_HOURS`] unless told
//!   otherwise.
//! - [`export_file_name`] / [`file_name_for`]: the seeds'
//!   `training-data-{tier}-{YYYY-MM-DD}-{count}.{extension}`, with only
//!   `[a-z0-9_-]` taken from data.
//! - [`content_disposition`]: a header value that no file name can break.
//!
//! A whole export, from request to download:
//!
//! ```
//! use chrono::{Duration, TimeZone, Utc};
//! use lora_export_core::audit::{content_disposition, default_expiry, file_name_for, ExportLog, ExportStatus};
//! use lora_export_core::model::{ExportConfig, ExportRequest, Format, Scope};
//! use lora_export_core::source::JsonlSource;
//! use lora_export_core::ExportBuilder;
//!
//! let input = r#"{"conversation_id":"c1","title":"Hi","status":"approved","qualityScore":9,"tier":"template","createdAt":"2025-10-29T10:00:00Z","updatedAt":"2025-10-29T10:00:00Z","turns":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello!"}]}"#;
//! let config = ExportConfig::new(Scope::All, Format::Jsonl);
//! let t0 = Utc.with_ymd_and_hms(2025, 10, 29, 12, 0, 0).unwrap();
//!
//! let log = ExportLog::queued(uuid::Uuid::new_v4(), &config, 1, t0);
//! let log = log.start(t0 + Duration::seconds(1)).unwrap();
//! let mut file = Vec::new();
//! let summary = ExportBuilder::new(ExportRequest::new(config))
//!     .export(JsonlSource::new(input.as_bytes()), &mut file)
//!     .unwrap();
//! let name = file_name_for(&summary, t0.date_naive(), "jsonl");
//! assert_eq!(name, "training-data-template-2025-10-29-1.jsonl");
//!
//! let log = log.complete(&summary, format!("/exports/{name}"), t0 + Duration::seconds(2), default_expiry()).unwrap();
//! assert_eq!(log.status, ExportStatus::Completed);
//! assert_eq!(log.file_size, Some(file.len() as u64));
//! let log = log.record_download(t0 + Duration::hours(1)).unwrap();
//! assert_eq!(log.download_count, 1);
//! assert_eq!(
//!     content_disposition(&name),
//!     format!("attachment; filename=\"{name}\"; filename*=UTF-8''{name}")
//! );
//! assert!(log.expire(t0 + Duration::hours(25)).unwrap().is_expired_at(t0));
//! ```

mod disposition;
mod file_name;
mod log;
mod status;

pub use disposition::{content_disposition, MAX_DISPOSITION_NAME_CHARS};
pub use file_name::{export_file_name, file_name_for, MAX_EXTENSION_CHARS, MAX_TIER_CHARS};
pub use log::{
    default_expiry, safe_error_message, ExportLog, DEFAULT_EXPIRY_HOURS, MAX_ERROR_MESSAGE_CHARS,
};
pub use status::ExportStatus;
