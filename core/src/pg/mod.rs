//! The PostgreSQL layer (cargo feature `postgres`): a Supabase-compatible
//! schema with row-level security, and everything the export lifecycle of
//! the seeds needs on top of the pure core.
//!
//! - [`ServiceConfig`]: typed configuration, from code or the environment;
//! - [`Database`]: the connection pool, [`migrate`](Database::migrate), and
//!   transactions run *as a user* (`authenticated` role with the user's JWT
//!   claims, so RLS — not only our code — keeps users apart) or as the service.
//! - [`ExportService`]: the seeds' operations — create (rate limit, count,
//!   run now or queue), status, download, history, delete/cancel, cleanup,
//!   retention, metrics — and background workers
//!   ([`run_worker`](ExportService::run_worker),
//!   [`process_jobs`](ExportService::process_jobs)) that share one queue;
//! - [`Storage`]: where files live ([`LocalStorage`] by default), written
//!   through a staged file so a partial file is never visible.
//!
//! Every operation made for a user runs through [`Database::user_transaction`]:
//!
//! ```text
//! BEGIN;
//! SELECT set_config('request.jwt.claims', '{"sub":"<user>","role":"authenticated"}', true);
//! SET LOCAL ROLE authenticated;
//! …
//! COMMIT;
//! ```

mod access;
mod cleanup;
mod config;
mod create;
mod database;
pub mod filter_sql;
mod history;
mod import;
mod metrics;
mod migrate;
mod rows;
mod run;
mod service;
pub mod source;
mod storage;
mod worker;

pub use access::{DeleteReport, Download, ExportStatusView};
pub use cleanup::{CleanupFailure, CleanupReport, PurgeReport};
pub use config::ServiceConfig;
pub use create::{CompletedExport, CreateOutcome};
pub use database::{Database, DbClient, DbTransaction};
pub use filter_sql::SqlFilter;
pub use history::{HistoryItem, HistoryPage, HistoryQuery, MAX_HISTORY_LIMIT};
pub use import::ImportSummary;
pub use metrics::{DurationBucket, HourVolume, MetricEvent, MetricsReport, FAILURE_RATE_ALERT};
pub use migrate::MIGRATIONS;
pub use service::{ExportService, MetricsSink};
pub use source::{count_selected, ConversationSource};
pub use storage::{FileKey, LocalStorage, StagedFile, Storage};
pub use worker::{WorkerOptions, WorkerReport};
