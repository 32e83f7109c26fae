//! `ExportClient`: the database-backed export service of the core
//! ([`lora_export::pg::ExportService`]), one connection pool per client.

use std::io::{BufReader, Cursor};
use std::pin::Pin;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::Stream;
use lora_export::pg::{
    Caller, Download, DownloadMode, DownloadRequest, ExportService, HistoryQuery, ServiceConfig,
    ServiceOptions, WorkerOptions,
};
use lora_export::request::ShapeBudget;
use lora_export::{ErrorKind, Issue};
use napi::bindgen_prelude::JsObjectValue;
use napi::bindgen_prelude::{
    AsyncBlock, Buffer, ClassInstance, Either, Null, Object, ReadableStream, ToNapiValue, Unknown,
};
use napi::{sys, Env, JsValue, ValueType};
use napi_derive::napi;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use tokio::io::AsyncReadExt;
use tokio::sync::watch;
use uuid::Uuid;

use crate::modal::body_of;
use crate::reply::{guarded, spawn, Failure, IntoJs, Json, Reply};
use crate::session::Session;

/// Who a user operation is for: a verified `Session`, or a user id (for
/// trusted server code only: never an id taken from a request).
pub(crate) type User<'env> = Either<String, ClassInstance<'env, Session>>;

/// Settings of a client; each overrides the environment variable named
/// in parentheses (read when the option is absent), then the core's default.
/// An unknown key, or a value of the wrong type or range, is a `CONFIG_ERROR`.
/// The TypeScript shape of the service's `ServiceOptions`, which
/// `ExportClient.connect` reads the object as (the one options type of both
/// bindings).
#[napi(object)]
pub struct ClientOptions {
    /// Where export files are written (`LORA_EXPORT_STORAGE_ROOT`, default `./export-files`).
    pub storage_root: Option<String>,
    /// Where export files are stored instead: `file:///path` or
    /// `s3://bucket/prefix` with the `AWS_*` variables (`LORA_EXPORT_STORAGE_URL`).
    pub storage_url: Option<String>,
    /// `stream` (through the server) or `redirect` (302 to a presigned URL
    /// when the store mints them) (`LORA_EXPORT_DOWNLOADS`, `stream`).
    pub downloads: Option<String>,
    /// Seconds a presigned download URL lives, never past the export's expiry
    /// (`LORA_EXPORT_PRESIGN_TTL_SECS`, 300).
    pub presign_ttl_secs: Option<u32>,
    /// Hours a file stays downloadable (`LORA_EXPORT_EXPIRY_HOURS`, 24).
    pub expiry_hours: Option<u32>,
    /// Exports of at least this many conversations are queued (`LORA_EXPORT_SYNC_THRESHOLD`, 500).
    pub sync_threshold: Option<u32>,
    /// Export requests per user per rolling hour (`LORA_EXPORT_RATE_LIMIT`, 10).
    pub rate_limit_per_hour: Option<u32>,
    /// Days export logs are kept (`LORA_EXPORT_RETENTION_DAYS`, 30).
    pub retention_days: Option<u32>,
    /// Conversations read per database batch (`LORA_EXPORT_BATCH_SIZE`, 2,000).
    pub batch_size: Option<u32>,
    /// Connections in the client's pool (`LORA_EXPORT_POOL_SIZE`, 16; 2 in a serverless function).
    pub pool_size: Option<u32>,
    /// Attempts of a background job before it fails (`LORA_EXPORT_MAX_ATTEMPTS`, 3).
    pub max_attempts: Option<u32>,
    /// Seconds without a heartbeat before a job is rescued (`LORA_EXPORT_STALE_AFTER_SECS`, 30).
    pub stale_after_secs: Option<u32>,
    /// Milliseconds a statement of a count, preview or conversations page may
    /// run (`LORA_EXPORT_INTERACTIVE_STATEMENT_TIMEOUT_MS`, 5000); then 503.
    pub interactive_statement_timeout_ms: Option<u32>,
    /// Counts, previews and conversation pages per user per minute
    /// (`LORA_EXPORT_INTERACTIVE_RATE_LIMIT`, 120); then 429 with `retryAfter`.
    pub interactive_rate_limit: Option<u32>,
    /// Of those, how many of one user run at once (`LORA_EXPORT_INTERACTIVE_CONCURRENCY`, 2).
    pub interactive_concurrency: Option<u32>,
    /// Downloads of one user streaming at once (`LORA_EXPORT_DOWNLOADS_PER_USER`, 4).
    pub downloads_per_user: Option<u32>,
    /// Seconds a download may go unread before it is closed
    /// (`LORA_EXPORT_DOWNLOAD_IDLE_TIMEOUT_SECS`, 60).
    pub download_idle_timeout_secs: Option<u32>,
    /// Conversations one export may select
    /// (`LORA_EXPORT_MAX_CONVERSATIONS`, 100,000); more: 413 `EXPORT_TOO_LARGE`.
    pub max_conversations: Option<u32>,
    /// MiB one export file may hold (`LORA_EXPORT_MAX_FILE_MB`, 1,024);
    /// more: the export fails, 413 `EXPORT_TOO_LARGE`.
    pub max_file_mb: Option<u32>,
    /// MiB of a user's downloadable files at which a new export is refused
    /// (`LORA_EXPORT_STORAGE_QUOTA_MB`, 2,048): 429 `STORAGE_QUOTA_EXCEEDED`
    /// with `retryAfter`; expired and deleted files free it.
    pub storage_quota_mb: Option<u32>,
    /// Exports of one user queued or running at once
    /// (`LORA_EXPORT_MAX_JOBS_PER_USER`, 3); more: 429 `QUEUE_FULL`.
    pub max_jobs_per_user: Option<u32>,
    /// Jobs waiting for a worker, every user's
    /// (`LORA_EXPORT_MAX_QUEUED_JOBS`, 1,000); more: 429 `QUEUE_FULL`.
    pub max_queued_jobs: Option<u32>,
    /// The Supabase project URL (`SUPABASE_URL`): tokens' issuer, the JWKS
    /// location and the auth cookie's name derive from it.
    pub supabase_url: Option<String>,
    /// The project's JWT secret, for HS256 tokens (`SUPABASE_JWT_SECRET`).
    pub jwt_secret: Option<String>,
    /// The key that seals the audit chain with HMAC-SHA256, held outside
    /// the database (`LORA_EXPORT_AUDIT_KEY`).
    pub audit_key: Option<String>,
    /// Where the project's JWKS is fetched (`LORA_EXPORT_JWKS_URL`, default
    /// `$SUPABASE_URL/auth/v1/.well-known/jwks.json`).
    pub jwks_url: Option<String>,
    /// The project's public keys as JWKS JSON, instead of fetching them (`LORA_EXPORT_JWKS`).
    pub jwks: Option<String>,
    /// Whether sessions of Supabase's anonymous sign-in may export
    /// (`LORA_EXPORT_ALLOW_ANONYMOUS`, false: 403 `ANONYMOUS_NOT_ALLOWED`).
    pub allow_anonymous: Option<bool>,
    /// The schema of the library's tables and functions (`LORA_EXPORT_SCHEMA`, `lora_export`).
    pub schema: Option<String>,
    /// The app's table or view of conversations, `schema.name`, read instead of the
    /// library's own (`LORA_EXPORT_CONVERSATIONS_TABLE`); its columns are in the README.
    pub conversations_table: Option<String>,
    /// The app's table or view of turns, `schema.name`, with `conversationsTable`
    /// (`LORA_EXPORT_TURNS_TABLE`).
    pub turns_table: Option<String>,
}

/// Settings of [`ExportClient::run_worker`]; an unknown key is a `CONFIG_ERROR`.
#[napi(object)]
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RunWorkerOptions {
    /// Unique name of this worker (default `node-<pid>-<random>`).
    pub worker_id: Option<String>,
    /// The longest pause in milliseconds when the queue is empty (default
    /// 5000): the fallback to the notifications that wake it.
    pub poll_interval_ms: Option<u32>,
    /// Wake when a job is queued (LISTEN/NOTIFY; default true).
    pub listen: Option<bool>,
    /// Run the maintenance tasks that are due by the schedules (default true).
    pub maintenance: Option<bool>,
    /// Return after this many jobs (default: run until `stopWorkers()` or `close()`).
    pub max_jobs: Option<u32>,
    /// Pause in milliseconds after each batch, to spare a shared database.
    pub throttle_ms: Option<u32>,
}

/// Settings of [`ExportClient::migrate`]; an unknown key is a `CONFIG_ERROR`.
#[napi(object)]
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MigrateOptions {
    /// Create stand-ins for Supabase's roles (`anon`, `authenticated`,
    /// `service_role`) and `auth` objects (`auth.users`, `auth.uid()`,
    /// `auth.jwt()`) where they are missing: for plain PostgreSQL (local
    /// development, tests). Default false: a database without them is a
    /// `CONFIG_ERROR` naming what is missing. On Supabase nothing is created
    /// in `auth` either way.
    pub supabase_stand_ins: Option<bool>,
}

/// The export service: create, status, download, history, delete,
/// workers, cleanup, purge, metrics, migrations and import. Create one per process
/// with `await ExportClient.connect(databaseUrl, options)`; every method
/// returns a promise and runs off the JavaScript thread.
#[napi]
pub struct ExportClient {
    pub(crate) service: ExportService,
    stop: watch::Sender<bool>,
}

#[napi]
impl ExportClient {
    /// A client for PostgreSQL (one pool for this client): the options are
    /// checked (a `CONFIG_ERROR` rejects), no connection is opened. Each
    /// operation connects as it needs to, so an unreachable database fails
    /// that operation (with its cause for the operator: `migrate`, `health`,
    /// `onError`) and never the client: it serves again once the database
    /// is back. Options left out come from the environment; `onError` and
    /// `onEvent` (see `ClientHooks`) receive error reports and metric events.
    #[napi(
        ts_args_type = "databaseUrl: string, options?: ClientOptions & ClientHooks",
        ts_return_type = "Promise<ExportClient>"
    )]
    pub fn connect<'env>(
        env: &'env Env,
        database_url: String,
        options: Option<Unknown<'env>>,
    ) -> napi::Result<AsyncBlock<Reply<ExportClient>>> {
        let (options, hooks) = match crate::hooks::split(env, options) {
            Ok((options, hooks)) => {
                (options_of::<ServiceOptions>("ExportClient.connect options", options), Some(hooks))
            }
            Err(e) => (Err(e), None),
        };
        spawn(env, async move {
            let env = |name: &str| std::env::var(name).ok();
            let config = ServiceConfig::from_options(database_url, env, options?)?;
            let mut service = ExportService::connect(config)?;
            if let Some(hooks) = hooks {
                service = hooks.attach(service);
            }
            Ok(ExportClient { service, stop: watch::channel(false).0 })
        })
    }

    /// The service's health, safe to expose from a health route: whether
    /// the database answers, its schema is current, when a worker was last
    /// seen; `problem` names a code and an error id (the cause goes to
    /// `onError`). Never rejects.
    #[napi(ts_return_type = "Promise<Health>")]
    pub fn health(
        &self,
        env: &Env,
    ) -> napi::Result<AsyncBlock<Reply<Json<lora_export::pg::Health>>>> {
        let service = self.service.clone();
        spawn(env, async move { Ok(Json(service.health().await)) })
    }

    /// Applies pending schema migrations; resolves with the versions applied.
    /// Creates nothing in `auth`; on a database without Supabase's roles and
    /// `auth` objects it rejects (`CONFIG_ERROR`, naming them) unless
    /// `supabaseStandIns` asks for stand-ins.
    #[napi(ts_args_type = "options?: MigrateOptions", ts_return_type = "Promise<number[]>")]
    pub fn migrate(
        &self,
        env: &Env,
        options: Option<Unknown<'_>>,
    ) -> napi::Result<AsyncBlock<Reply<Json<Vec<i32>>>>> {
        let service = self.service.clone();
        let options = options_of::<MigrateOptions>("migrate options", options);
        spawn(env, async move {
            let options = options?;
            let migrate = lora_export::pg::MigrateOptions {
                supabase_stand_ins: options.supabase_stand_ins.unwrap_or(false),
            };
            Ok(Json(service.migrate_with(migrate).await?))
        })
    }

    /// Loads canonical JSONL conversations from a file path or a `Buffer`
    /// (upserting by `conversation_id`); malformed lines are listed.
    #[napi(
        ts_args_type = "pathOrBuffer: string | Buffer",
        ts_return_type = "Promise<ImportSummary>"
    )]
    pub fn import_conversations(
        &self,
        env: &Env,
        path_or_buffer: Either<String, Buffer>,
    ) -> napi::Result<AsyncBlock<Reply<Json<lora_export::pg::ImportSummary>>>> {
        let service = self.service.clone();
        spawn(env, async move {
            let summary = match path_or_buffer {
                Either::A(path) => {
                    let file = std::fs::File::open(&path).map_err(|e| {
                        ErrorKind::Io(std::io::Error::new(e.kind(), format!("{path}: {e}")))
                    })?;
                    service.import_conversations(BufReader::new(file)).await?
                }
                Either::B(buffer) => service.import_conversations(Cursor::new(buffer)).await?,
            };
            Ok(Json(summary))
        })
    }

    /// The id of the `auth.users` user with `email`, created when there is
    /// none: a test user for a local or development database (on a hosted
    /// Supabase project, create users with Supabase Auth instead).
    #[napi(ts_args_type = "email: string", ts_return_type = "Promise<string>")]
    pub fn create_dev_user(
        &self,
        env: &Env,
        email: String,
    ) -> napi::Result<AsyncBlock<Reply<String>>> {
        let service = self.service.clone();
        spawn(env, async move { Ok(service.create_dev_user(&email).await?.to_string()) })
    }

    /// Verifies a Supabase access token (HS256 with `jwtSecret`, ES256/RS256
    /// with the project's JWKS) and resolves with its `Session`. Rejects 401
    /// with `code: 'INVALID_TOKEN'` and a `reason` (`expired`,
    /// `wrong_audience`, `algorithm_not_allowed`, …).
    #[napi(ts_args_type = "token: string", ts_return_type = "Promise<Session>")]
    pub fn verify_session(
        &self,
        env: &Env,
        token: String,
    ) -> napi::Result<AsyncBlock<Reply<Session>>> {
        let service = self.service.clone();
        spawn(env, async move { Ok(Session { inner: service.verify_session(&token).await? }) })
    }

    /// The `Session` of a request: its `Authorization: Bearer` token, else
    /// the auth cookie `@supabase/ssr` sets (chunked or not), verified as
    /// `verifySession` does. Pass `request.headers.get('authorization')`
    /// and `request.headers.get('cookie')`. Rejects 401 (`reason:
    /// 'missing'` without either).
    #[napi(
        ts_args_type = "authorization?: string | null, cookie?: string | null",
        ts_return_type = "Promise<Session>"
    )]
    pub fn authenticate(
        &self,
        env: &Env,
        authorization: Option<String>,
        cookie: Option<String>,
    ) -> napi::Result<AsyncBlock<Reply<Session>>> {
        let service = self.service.clone();
        spawn(env, async move {
            let session = service.authenticate(authorization.as_deref(), cookie.as_deref()).await?;
            Ok(Session { inner: session })
        })
    }

    /// Creates an export for `user` from an untrusted request body:
    /// fewer than `syncThreshold` conversations are exported at once
    /// (`{ status: 'completed', http_status: 201, … }`), larger ones are queued
    /// (`{ status: 'queued', http_status: 202, export_id }`). Rejects with
    /// status 400 (with `issues`), 429 (with `retryAfter`) or 409.
    #[napi(
        ts_args_type = "user: Session | string, body: unknown",
        ts_return_type = "Promise<CreateExportResult>"
    )]
    pub fn create_export<'env>(
        &self,
        env: &'env Env,
        user: User<'env>,
        body: Unknown<'env>,
    ) -> napi::Result<AsyncBlock<Reply<Json<lora_export::pg::CreateOutcome>>>> {
        let (service, user, body) = (self.service.clone(), user_of(&user), body_of(Some(body)));
        spawn(env, async move { Ok(Json(service.create_export(user?, &body?).await?)) })
    }

    /// The status of one of `user`'s exports, with progress while it runs
    /// (rejects 403 for another user's export, 404 for an unknown one).
    #[napi(
        ts_args_type = "user: Session | string, exportId: string",
        ts_return_type = "Promise<ExportStatusResponse>"
    )]
    pub fn get_status<'env>(
        &self,
        env: &'env Env,
        user: User<'env>,
        export_id: String,
    ) -> napi::Result<AsyncBlock<Reply<Json<lora_export::pg::ExportStatusView>>>> {
        let (service, user) = (self.service.clone(), user_of(&user));
        spawn(env, async move {
            let (user, export) = (user?, export_of(&export_id)?);
            Ok(Json(service.status(user, export).await?))
        })
    }

    /// Opens a completed export for download: its file name, headers, size,
    /// SHA-256 and a web `ReadableStream` of its bytes (`new Response(stream)`).
    /// A dataset export is one zip of all its files (no size, no SHA-256),
    /// or with `file` the one file of that manifest name
    /// (`train-00000-of-00002.jsonl`, `README.md`). Rejects 410 when
    /// expired, 425 while running, 409 when failed, 403, 404 (also for a
    /// `file` the manifest does not list).
    #[napi(
        ts_args_type = "user: Session | string, exportId: string, file?: string",
        ts_return_type = "Promise<DownloadHandle>"
    )]
    pub fn open_download<'env>(
        &self,
        env: &'env Env,
        user: User<'env>,
        export_id: String,
        file: Option<String>,
    ) -> napi::Result<AsyncBlock<Reply<Opened>>> {
        let (service, user) = (self.service.clone(), user_of(&user));
        spawn(env, async move {
            let (user, export) = (user?, export_of(&export_id)?);
            let download = match file {
                Some(name) => service.open_file(user, export, &name).await?,
                None => service.open_download(user, export).await?,
            };
            let idle_timeout = service.config().download_idle_timeout;
            Ok(Opened { download, stream: true, idle_timeout })
        })
    }

    /// A download as an HTTP route answers it: `options.file` one file of
    /// a dataset export; `range` the request's `Range` header (one range is
    /// served as `status` 206 with `contentRange`; a range outside the file
    /// rejects 416 with the file's `size`); `head` checks and answers the
    /// headers without counting a download (`stream` null); `redirect`
    /// (default: the client's `downloads` is `redirect`) answers `status`
    /// 302 with a presigned URL minted for this request, when the store
    /// mints them (object storage; never a zip, never a `HEAD`). Counted and
    /// audited like `openDownload`, except a `HEAD` and a range past the
    /// first byte. An unknown option key is a `CONFIG_ERROR`.
    #[napi(
        ts_args_type = "user: Session | string, exportId: string, options?: DownloadOptions",
        ts_return_type = "Promise<DownloadAnswer>"
    )]
    pub fn download<'env>(
        &self,
        env: &'env Env,
        user: User<'env>,
        export_id: String,
        options: Option<Unknown<'env>>,
    ) -> napi::Result<AsyncBlock<Reply<Opened>>> {
        let (service, user) = (self.service.clone(), user_of(&user));
        let options = options_of::<DownloadOptions>("download options", options);
        spawn(env, async move {
            let (user, export, options) = (user?, export_of(&export_id)?, options?);
            let redirect = options
                .redirect
                .unwrap_or(service.config().download_mode == DownloadMode::Redirect);
            let request = DownloadRequest {
                file: options.file,
                range: options.range,
                head: options.head.unwrap_or(false),
                redirect,
            };
            let download = service.download(user, export, &request).await?;
            let idle_timeout = service.config().download_idle_timeout;
            Ok(Opened { download, stream: !request.head, idle_timeout })
        })
    }

    /// A page of `user`'s exports, newest first (or by `sort` and `order`),
    /// filtered by `format`, `status`, `from`, `to` (RFC 3339), with `page`
    /// (from 1) and `limit` (1–100, default 20). Rejects 400 with `issues`
    /// for a bad query.
    #[napi(
        ts_args_type = "user: Session | string, query?: HistoryQuery",
        ts_return_type = "Promise<HistoryPage>"
    )]
    pub fn list_history<'env>(
        &self,
        env: &'env Env,
        user: User<'env>,
        query: Option<Unknown<'env>>,
    ) -> napi::Result<AsyncBlock<Reply<Json<lora_export::pg::HistoryPage>>>> {
        let (service, user) = (self.service.clone(), user_of(&user));
        let query = match query {
            None => Ok(Value::Null),
            Some(query) => plain_value(query, "invalid_query")
                .map_err(|issue| Failure::from(ErrorKind::InvalidRequest(vec![issue]))),
        };
        spawn(env, async move {
            let query = HistoryQuery::parse(&query?)?;
            Ok(Json(service.history(user?, &query).await?))
        })
    }

    /// A page of every user's exports (`query.user`: one user's), for an
    /// administrator — a session whose verified token's `app_metadata.role`
    /// is `admin` — else rejects 403 `ADMIN_REQUIRED`. Filters, sort and
    /// page as `listHistory`.
    #[napi(
        ts_args_type = "user: Session | string, query?: HistoryQuery",
        ts_return_type = "Promise<HistoryPage>"
    )]
    pub fn list_admin_history<'env>(
        &self,
        env: &'env Env,
        user: User<'env>,
        query: Option<Unknown<'env>>,
    ) -> napi::Result<AsyncBlock<Reply<Json<lora_export::pg::HistoryPage>>>> {
        let (service, user) = (self.service.clone(), user_of(&user));
        let query = match query {
            None => Ok(Value::Null),
            Some(query) => plain_value(query, "invalid_query")
                .map_err(|issue| Failure::from(ErrorKind::InvalidRequest(vec![issue]))),
        };
        spawn(env, async move {
            let query = HistoryQuery::parse(&query?)?;
            Ok(Json(service.admin_history(user?, &query).await?))
        })
    }

    /// Deletes one of `user`'s exports: cancels a queued or running job,
    /// removes the file, keeps the audit trail.
    #[napi(
        ts_args_type = "user: Session | string, exportId: string",
        ts_return_type = "Promise<DeleteReport>"
    )]
    pub fn delete_export<'env>(
        &self,
        env: &'env Env,
        user: User<'env>,
        export_id: String,
    ) -> napi::Result<AsyncBlock<Reply<Json<lora_export::pg::DeleteReport>>>> {
        let (service, user) = (self.service.clone(), user_of(&user));
        spawn(env, async move {
            let (user, export) = (user?, export_of(&export_id)?);
            Ok(Json(service.delete(user, export).await?))
        })
    }

    /// Runs a background worker on this client until `stopWorkers()` or
    /// `close()` (or `maxJobs`), sharing the queue with every other worker;
    /// resolves with what it did.
    #[napi(ts_args_type = "options?: RunWorkerOptions", ts_return_type = "Promise<WorkerReport>")]
    pub fn run_worker(
        &self,
        env: &Env,
        options: Option<Unknown<'_>>,
    ) -> napi::Result<AsyncBlock<Reply<Json<lora_export::pg::WorkerReport>>>> {
        let service = self.service.clone();
        let stop = self.stop.subscribe();
        let options = options_of::<RunWorkerOptions>("runWorker options", options);
        spawn(env, async move {
            let options = options?;
            let id = options.worker_id.unwrap_or_else(|| {
                format!("node-{}-{}", std::process::id(), &Uuid::new_v4().simple().to_string()[..8])
            });
            let mut worker = WorkerOptions::new(id);
            if let Some(ms) = options.poll_interval_ms {
                worker.poll_interval = Duration::from_millis(ms.into());
            }
            worker.listen = options.listen.unwrap_or(worker.listen);
            worker.maintenance = options.maintenance.unwrap_or(worker.maintenance);
            worker.max_jobs = options.max_jobs.map(u64::from);
            worker.throttle = options.throttle_ms.map(|ms| Duration::from_millis(ms.into()));
            worker.stop = Some(stop);
            Ok(Json(service.run_worker(worker).await?))
        })
    }

    /// Runs up to `limit` queued jobs now; resolves with how many ran.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn process_jobs(
        &self,
        env: &Env,
        limit: u32,
    ) -> napi::Result<AsyncBlock<Reply<Json<u64>>>> {
        let service = self.service.clone();
        spawn(env, async move { Ok(Json(service.process_jobs(limit.into()).await?)) })
    }

    /// Asks every worker of this client to return after its current job.
    #[napi]
    pub fn stop_workers(&self) {
        self.stop.send_replace(true);
    }

    /// Runs the maintenance tasks whose latest scheduled period nobody has
    /// run yet (each period runs once across every process): the call for a
    /// cron route when no long-running worker runs them.
    #[napi(ts_args_type = "workerId?: string", ts_return_type = "Promise<ScheduledRun[]>")]
    pub fn run_due_maintenance(
        &self,
        env: &Env,
        worker_id: Option<String>,
    ) -> napi::Result<AsyncBlock<Reply<Json<Vec<lora_export::pg::ScheduledRun>>>>> {
        let service = self.service.clone();
        let id = worker_id.unwrap_or_else(|| format!("node-cron-{}", std::process::id()));
        spawn(env, async move { Ok(Json(service.run_due_maintenance(&id).await?)) })
    }

    /// Marks expired exports and deletes their files (and abandoned staged files).
    #[napi(ts_return_type = "Promise<CleanupReport>")]
    pub fn cleanup_expired(
        &self,
        env: &Env,
    ) -> napi::Result<AsyncBlock<Reply<Json<lora_export::pg::CleanupReport>>>> {
        let service = self.service.clone();
        spawn(env, async move { Ok(Json(service.cleanup_expired().await?)) })
    }

    /// Deletes export logs (and their jobs) and audit events older than
    /// `retentionDays`; each audit chain still verifies from its anchor.
    #[napi(ts_return_type = "Promise<PurgeReport>")]
    pub fn purge_old_logs(
        &self,
        env: &Env,
    ) -> napi::Result<AsyncBlock<Reply<Json<lora_export::pg::PurgeReport>>>> {
        let service = self.service.clone();
        spawn(env, async move { Ok(Json(service.purge_old_logs().await?)) })
    }

    /// Export metrics since `since` (a `Date` or an RFC 3339 string):
    /// success rate, durations, formats, hourly volume, queue depth.
    #[napi(ts_args_type = "since: Date | string", ts_return_type = "Promise<MetricsReport>")]
    pub fn metrics(
        &self,
        env: &Env,
        since: Either<String, napi::bindgen_prelude::Date>,
    ) -> napi::Result<AsyncBlock<Reply<Json<lora_export::pg::MetricsReport>>>> {
        let since = match since {
            Either::A(text) => text,
            Either::B(date) => date_to_rfc3339(&date)?,
        };
        let service = self.service.clone();
        spawn(env, async move {
            let since = since.parse::<DateTime<Utc>>().map_err(|e| {
                let message = format!("`{since}` is not an RFC 3339 instant: {e}");
                ErrorKind::InvalidRequest(vec![Issue::new("since", "invalid_date", message)])
            })?;
            Ok(Json(service.metrics(since).await?))
        })
    }

    /// The metrics of the last hour in the Prometheus text exposition
    /// format, what `exportRoutes(...).metrics` serves: the numbers of
    /// `metrics()`, as gauges, counters and histograms.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn prometheus_metrics(&self, env: &Env) -> napi::Result<AsyncBlock<Reply<String>>> {
        let service = self.service.clone();
        spawn(env, async move { Ok(service.prometheus_metrics().await?) })
    }

    /// Records one answered request of the route layer (what
    /// `exportRoutes` does for each): its route name (letters, digits, `_`;
    /// at most 32 names, the rest count as `other`), HTTP status and
    /// duration in milliseconds. `metrics()` reports them as `requests`.
    #[napi]
    pub fn record_request(&self, route: String, status: u32, duration_ms: f64) {
        let status = u16::try_from(status).unwrap_or(599);
        let elapsed = std::time::Duration::from_secs_f64((duration_ms / 1000.0).max(0.0));
        self.service.record_request(&route, status, elapsed);
    }

    /// Stops this client's workers and closes its connection pool.
    #[napi]
    pub fn close(&self) {
        self.stop.send_replace(true);
        self.service.database().pool().close();
    }
}

impl IntoJs for ExportClient {
    fn into_js(self, env: &Env) -> napi::Result<sys::napi_value> {
        // SAFETY: `env` is the live environment of the current call.
        unsafe { ExportClient::to_napi_value(env.raw(), self) }
    }
}

/// What [`ExportClient::download`] is asked for.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DownloadOptions {
    file: Option<String>,
    range: Option<String>,
    head: Option<bool>,
    redirect: Option<bool>,
}

/// An opened download, turned into `{ fileName, contentType, …, stream,
/// idleTimeoutSecs }` on the JavaScript thread; `stream` is null without a
/// body to read (a `HEAD`, a redirect).
pub struct Opened {
    /// The checked download.
    pub download: Download,
    /// Whether its body goes to JavaScript as a stream.
    pub stream: bool,
    /// How long the stream may go unread before the service closes it.
    pub idle_timeout: Duration,
}

/// Bytes read from the file per stream chunk.
const CHUNK: usize = 64 * 1024;

type Chunks = Pin<Box<dyn Stream<Item = napi::Result<Vec<u8>>> + Send>>;

impl IntoJs for Opened {
    fn into_js(self, env: &Env) -> napi::Result<sys::napi_value> {
        let mut object = download_object(env, &self.download)?;
        object.set("idleTimeoutSecs", self.idle_timeout.as_secs() as f64)?;
        if !self.stream || self.download.redirect.is_some() {
            object.set("stream", Null)?;
        } else {
            let file = self.download.file;
            let chunks: Chunks =
                Box::pin(futures_util::stream::unfold(Some(file), |file| async move {
                    let mut file = file?;
                    let mut buf = vec![0; CHUNK];
                    match file.read(&mut buf).await {
                        Ok(0) => None,
                        Ok(n) => {
                            buf.truncate(n);
                            Some((Ok(buf), Some(file)))
                        }
                        Err(e) => {
                            Some((Err(napi::Error::from_reason(format!("read error: {e}"))), None))
                        }
                    }
                }));
            object.set("stream", ReadableStream::create_with_stream_bytes(env, chunks)?)?;
        }
        // SAFETY: `env` is the live environment of the current call.
        unsafe { Object::to_napi_value(env.raw(), object) }
    }
}

/// `{ exportId, fileName, contentType, contentDisposition, size, sha256,
/// status, contentLength, contentRange, redirect }` of a checked download:
/// what its response's status and headers say.
pub(crate) fn download_object<'env>(
    env: &'env Env,
    download: &Download,
) -> napi::Result<Object<'env>> {
    let mut object = Object::new(env)?;
    object.set("exportId", download.export_id.to_string())?;
    object.set("fileName", download.file_name.as_str())?;
    object.set("contentType", download.content_type.as_str())?;
    object.set("contentDisposition", download.content_disposition.as_str())?;
    object.set("size", download.size.map(|n| n as f64))?;
    object.set("sha256", download.sha256.as_deref())?;
    object.set("status", download.http_status())?;
    object.set("contentLength", download.content_length().map(|n| n as f64))?;
    object.set("contentRange", download.range.map(|r| r.header()))?;
    match &download.redirect {
        Some(redirect) => {
            let mut target = Object::new(env)?;
            target.set("url", redirect.url.as_str())?;
            target.set("expiresAt", redirect.expires_at.to_rfc3339())?;
            object.set("redirect", target)?;
        }
        None => object.set("redirect", Null)?,
    }
    Ok(object)
}

/// The lora-export schema as one SQL script for the library's `schema`
/// (default `lora_export`), to commit under `supabase/migrations` instead of
/// calling `client.migrate()` at run time; it records each migration, so a
/// later `migrate()` applies nothing twice. It creates nothing in `auth`; on
/// plain PostgreSQL, apply it with `lora_export.supabase_stand_ins=on` set in
/// the session (`PGOPTIONS`), as `migrate({ supabaseStandIns: true })` does.
#[napi(catch_unwind, ts_return_type = "string")]
pub fn migration_sql(schema: Option<String>) -> Reply<String> {
    guarded(|| Ok(lora_export::pg::migration_sql(schema.as_deref().unwrap_or("lora_export"))?))
}

/// An options object (absent: the defaults) as `T`. An unknown key, or a
/// value of the wrong type or range, is a `CONFIG_ERROR` naming the key.
pub(crate) fn options_of<T: DeserializeOwned + Default>(
    what: &str,
    options: Option<Unknown<'_>>,
) -> Result<T, Failure> {
    let Some(options) = options else {
        return Ok(T::default());
    };
    let value = plain_value(options, "invalid_option").map_err(|issue| {
        let at =
            if issue.path.is_empty() { String::new() } else { format!(" at `{}`", issue.path) };
        ErrorKind::Config(format!("{what}{at}: {}", issue.message))
    })?;
    if value.is_null() {
        return Ok(T::default());
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let at = if path == "." { String::new() } else { format!(" at `{path}`") };
        ErrorKind::Config(format!("{what}{at}: {}", e.into_inner())).into()
    })
}

/// A JavaScript value as JSON, or the issue at the top-level key that
/// stops it: a value nested or sized past the core's limits (`too_deep`,
/// `too_large`, see [`lora_export::request::ShapeBudget`]), checked before
/// each value is read so that no input can exhaust the stack; or (`code`) a
/// value JSON cannot hold — a function, a symbol, a number that is not
/// finite (JSON would make it `null`, a silent default). A property whose
/// value is `undefined` is left out, as `JSON.stringify` does.
pub(crate) fn plain_value(value: Unknown<'_>, code: &str) -> Result<Value, Issue> {
    let mut budget = ShapeBudget::default();
    json_of(value, 1, "", code, &mut budget)
}

/// [`plain_value`] of `value` at `depth`, under the top-level key `key`.
fn json_of(
    value: Unknown<'_>,
    depth: usize,
    key: &str,
    code: &str,
    budget: &mut ShapeBudget,
) -> Result<Value, Issue> {
    budget.value(depth, key)?;
    let failed = |e: napi::Error| Issue::new(key, code, e.reason);
    let not_json = |what: &str| Issue::new(key, code, format!("{what} is not JSON"));
    // SAFETY (each `cast`): the value's type was just read from `get_type`.
    Ok(match value.get_type().map_err(failed)? {
        ValueType::Undefined | ValueType::Null => Value::Null,
        ValueType::Boolean => Value::Bool(unsafe { value.cast::<bool>() }.map_err(failed)?),
        ValueType::Number => {
            let n: f64 = unsafe { value.cast() }.map_err(failed)?;
            if !n.is_finite() {
                return Err(Issue::new(key, code, format!("{n} is not a finite number")));
            }
            // A whole number is an integer, as napi's `from_js_value` reads it.
            if n.trunc() == n && n.abs() < 2f64.powi(63) {
                Value::from(n as i64)
            } else {
                Value::from(n)
            }
        }
        ValueType::String => {
            let text: String = unsafe { value.cast() }.map_err(failed)?;
            budget.text(text.len(), key)?;
            Value::String(text)
        }
        ValueType::Object => {
            let object: Object = unsafe { value.cast() }.map_err(failed)?;
            if object.is_array().map_err(failed)? {
                let length = object.get_array_length().map_err(failed)?;
                let mut items = Vec::new();
                for i in 0..length {
                    let item: Unknown = object.get_element(i).map_err(failed)?;
                    items.push(json_of(item, depth + 1, key, code, budget)?);
                }
                Value::Array(items)
            } else {
                let keys = object.get_property_names().map_err(failed)?;
                let mut map = serde_json::Map::new();
                for i in 0..keys.get_array_length().map_err(failed)? {
                    let name: String = keys.get_element(i).map_err(failed)?;
                    budget.text(name.len(), key)?;
                    let item: Unknown = object.get_named_property(&name).map_err(failed)?;
                    if item.get_type().map_err(failed)? == ValueType::Undefined {
                        continue;
                    }
                    let top = if depth == 1 { name.as_str() } else { key };
                    let item = json_of(item, depth + 1, top, code, budget)?;
                    map.insert(name, item);
                }
                Value::Object(map)
            }
        }
        ValueType::Function => return Err(not_json("a function")),
        ValueType::Symbol => return Err(not_json("a symbol")),
        ValueType::BigInt => return Err(not_json("a BigInt")),
        _ => return Err(not_json("this value")),
    })
}

/// The user of an operation: a verified session, or a user id (one that
/// is not a UUID is no user: 401).
pub(crate) fn user_of(user: &User<'_>) -> Result<Caller, Failure> {
    match user {
        Either::A(id) => Uuid::parse_str(id)
            .map(Caller::User)
            .map_err(|_| lora_export::pg::ErrorKind::Unauthorized.into()),
        Either::B(session) => Ok(Caller::Session(session.inner.clone())),
    }
}

/// An export id; one that is not a UUID names no export (404).
pub(crate) fn export_of(id: &str) -> Result<Uuid, Failure> {
    Uuid::parse_str(id).map_err(|_| lora_export::pg::ErrorKind::NotFound(id.to_owned()).into())
}

fn date_to_rfc3339(date: &napi::bindgen_prelude::Date) -> napi::Result<String> {
    let millis = date.value_of()?;
    DateTime::<Utc>::from_timestamp_millis(millis as i64)
        .map(|d| d.to_rfc3339())
        .ok_or_else(|| napi::Error::from_reason(format!("invalid Date ({millis} ms)")))
}
