//! # lora-export-service
//!
//! The PostgreSQL service of lora-export, on top of the pure core
//! ([`lora_export_core`]; `lora_export::pg` with the facade crate's
//! `postgres` feature): a Supabase-compatible
//! schema with row-level security, and everything the export lifecycle of
//! the seeds needs on top of the pure core.
//!
//! - [`ServiceConfig`]: typed configuration, from code or the environment;
//! - [`Database`]: the connection pool, [`migrate`](Database::migrate), and
//!   transactions run *as a user* (`authenticated` role with the user's JWT
//!   claims, so RLS — not only our code — keeps users apart) or as the service.
//! - [`SignIn`]: Supabase access tokens verified (HS256 secret, ES256/RS256
//!   JWKS) into a [`Session`], which every user operation takes;
//! - [`ExportService`]: the seeds' operations — create (rate limit, count,
//!   run now or queue), status, download, history, delete/cancel, cleanup,
//!   retention, metrics — and background workers
//!   ([`run_worker`](ExportService::run_worker),
//!   [`process_jobs`](ExportService::process_jobs)) that share one queue,
//!   wake on `LISTEN`/`NOTIFY` and run the maintenance [`MaintenanceSchedules`]
//!   (each period on one worker);
//! - [`Storage`]: where files live ([`LocalStorage`] by default), written
//!   through a staged file so a partial file is never visible.
//!
//! # The privilege model
//!
//! Who may do what, for every object the migrations create — all in the
//! library's own schema (`lora_export` by default, [`ServiceConfig::schema`];
//! see [`schema`]), which `authenticated` and `service_role` may use and
//! `anon` may not; nothing goes into `public`. The *service* is
//! the role the library connects as (it owns these objects: the migrating
//! role); `authenticated` and `anon` are what any browser reaches through
//! PostgREST with the public anon key. Tested in `tests/pg_hardening.rs`
//! (catalog check over every table, sequence and function, on a database
//! whose default privileges grant everything, as Supabase's `public` does,
//! and each attack of the hardening issue as `authenticated` with claims).
//!
//! | object | `anon` | `authenticated` | `service_role` | the service |
//! |---|---|---|---|---|
//! | `conversations`, `conversation_turns` | — | SELECT (all rows: one workspace) | ALL (importer) | ALL |
//! | `export_logs` | — | SELECT own rows (RLS) | SELECT | ALL |
//! | `export_audit_events` | — | SELECT own rows (RLS) | SELECT | INSERT (trigger chains it); UPDATE never; DELETE only through `export_audit_purge` |
//! | `export_jobs`, `export_audit_heads`, `export_audit_anchors`, `lora_export_migrations` | — | — | SELECT (not the migrations) | ALL (heads and anchors: the triggers and the purge) |
//! | `export_audit_seals` | — | — | SELECT | INSERT (one seal per event, with `audit_key`); removed with its event |
//! | `export_file_removals` (files of deleted logs, queued by a trigger) | — | — | — | SELECT, DELETE |
//! | `export_audit_verify(uuid)` | — | — | EXECUTE | EXECUTE |
//! | the app's relations named in `conversations_table` / `turns_table` | the app's grants | the app's grants and RLS (exports read as the user) | the app's | SELECT as `authenticated` only |
//! | every other `export_*` function | — | — | — | EXECUTE |
//!
//! The service need not own these objects, and should not: the owner
//! migrates (`migrate()` or [`migration_sql`]), and the service connects as
//! a login that is a member of `lora_export_service` (a NOLOGIN role that
//! migration 13 creates and grants exactly what the service does at run
//! time: the reads and writes of the export state and the importer, the
//! audit trail's inserts, its verify and purge functions,
//! `export_user_exists` (whether a user is in `auth.users`, answered as the
//! owner: on Supabase row-level security hides that table from other
//! logins), and a row-level security policy per table) and of
//! `authenticated` (to read as the user):
//!
//! ```text
//! CREATE ROLE lora_export_app LOGIN PASSWORD '…' IN ROLE lora_export_service, authenticated;
//! ```
//!
//! Then a `RESET ROLE` inside a user transaction is that login, which may
//! not disable the audit trail's triggers or row-level security, drop or
//! create anything, or update an audit event (tested in `tests/pg_authz.rs`).
//!
//! Every state change — create, status (expiry), download count, delete,
//! job claims, heartbeats, completion, cleanup — runs on the service's own
//! connection, after the service itself checked that the export is the
//! user's (one locked read: 403 another user's, 404 none). The reads of a
//! user's data run as the user, so RLS applies as well as our checks:
//! history, and the conversations an export reads, batch by batch:
//!
//! ```text
//! BEGIN;
//! SELECT set_config('request.jwt.claims', '<the verified token\'s claims>', true),
//!        set_config('request.jwt.claim.sub', '<user>', true);  -- a stale session value never wins
//! SET LOCAL ROLE authenticated;
//! …
//! COMMIT;
//! ```
//!
//! The claims are the verified token's, whole (`sub` and `role` forced to
//! the user and `authenticated`), as PostgREST sets them, so the app's own
//! policies that read `auth.jwt()` (`aal`, `is_anonymous`, `app_metadata`)
//! decide for an export as they do for the app's API; a queued export's job
//! keeps them (never the token) for its worker. A bare user id (trusted
//! server code) carries `{"sub", "role"}` only. A session of Supabase's
//! anonymous sign-in is refused (`ANONYMOUS_NOT_ALLOWED`) unless
//! [`ServiceConfig::allow_anonymous`].
//!
//! No column decides which file is served or deleted: an export's file is
//! named by its owner, its id and its format's extension ([`FileKey`]);
//! `file_url` only records it. The audit trail keeps a head per export and
//! an anchor per purged prefix, so `export_audit_verify` reports a modified
//! event, a removed event, a removed tail and a whole removed chain; no
//! session setting opens its guard. That chain is an unkeyed hash: the
//! database owner can rewrite an event and recompute it. With `audit_key`
//! (`LORA_EXPORT_AUDIT_KEY`, held outside the database) every event is also
//! sealed with HMAC-SHA256 in its own transaction, and
//! [`ExportService::verify_audit`] reports an event whose seal is wrong or
//! missing: a rewrite by the owner, who lacks the key, is detected too.
//! Every byte served is in the trail: a download counted once
//! (`downloaded`), and every other range answered (`range_served`), each
//! with its range and byte count.
//!
//! Every run, synchronous or in a worker, holds a job lease: a run whose
//! process died is rescued by a worker after `stale_after`; the file appears
//! under its key only inside the transaction that checks the lease; a
//! delete cancels the lease, so the run stops at its next batch and leaves
//! no file. The service never holds a pooled connection while it waits for
//! another; a request waits at most `pool_wait_timeout` (then 503 with
//! `Retry-After`), and every connection has a `statement_timeout` and an
//! `idle_in_transaction_session_timeout`.
//!
//! Errors: a database or storage failure answers with a stable code, a
//! safe message and an error id ([`ErrorKind::Internal`](lora_export_core::ErrorKind::Internal));
//! the detail goes to the [`ErrorSink`] (one JSON line on stderr without
//! one, [`ErrorReport::json_line`]), as does every failed attempt of a job.
//! The operator's own calls (migrate, import, a worker's loop) fail with
//! the cause in the error ([`ErrorKind::Operator`]); [`ExportService::health`]
//! says what is wrong in words safe to expose. An unknown
//! user is `UNKNOWN_USER` (401); a database without the schema is
//! `DATABASE_NOT_MIGRATED`, naming `migrate()`.

mod api;
mod auth;
mod config;
mod db;
mod error;
mod events;
mod jobs;
mod limits;
mod ops;
mod schedules;
mod secret;
mod service;
mod storage;

pub use api::{
    parse_range, AuditProblem, AuditScope, ByteStream, ContentRange, ConversationPage,
    ConversationRow, CreateOutcome, DeleteReport, Download, DownloadBody, DownloadRequest,
    ExportPreview, ExportStatusView, HistoryItem, HistoryPage, HistoryQuery, HistorySort, Redirect,
    ScopeCounts, SortOrder, AUDIT_CSV_HEADER, MAX_CONVERSATION_PAGE, MAX_HISTORY_LIMIT,
    MAX_PREVIEW, NO_WORKER_WARNING_AFTER,
};
pub use auth::{access_token, cookie_name_for, Actor, Caller, Session, SignIn};
pub use config::{open_storage, DownloadMode, ServiceConfig, ServiceOptions};
pub use db::filter_sql::SqlFilter;
pub use db::source::{count_selected, ConversationSource, FetchedBatch};
pub use db::{filter_sql, schema, source};
pub use db::{
    migration_sql, uninstall_sql, Database, DbClient, DbTransaction, ExportFile, ImportSummary,
    MigrateOptions, SourceTables, SslMode, MIGRATIONS,
};
pub use error::{Error, ErrorKind, Result, TokenRefusal};
pub use events::{ErrorReport, ErrorSink, MetricEvent, MetricsSink};
pub use jobs::CompletedExport;
pub use ops::{
    render_prometheus, sign_alert, Alert, AlertReport, CleanupFailure, CleanupReport,
    DurationBucket, FileSizes, Health, Histogram, HourVolume, MetricsReport, PurgeReport,
    RouteLatency, ScheduledRun, StatusCount, UninstallReport, WorkerOptions, WorkerReport,
    ALERT_EVERY, DURATION_BUCKETS, FAILURE_RATE_ALERT, LATENCY_BUCKETS, MAX_BACKOFF, MAX_ROUTES,
    PER_USER_BUCKETS, PROMETHEUS_WINDOW, RUN_TIMEOUT, SIGNATURE_HEADER, WEBHOOK_ATTEMPTS,
};
pub use schedules::{MaintenanceSchedules, MaintenanceTask, Schedule};
pub use secret::Secret;
pub use service::ExportService;
pub use storage::{
    FileKey, LocalStorage, ObjectStorage, ObjectStoreSettings, StagedFile, Storage, StorageFuture,
    StoredFile,
};
