use lora_export_core::ErrorKind as CoreKind;
use std::path::PathBuf;
use std::time::Duration;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::db::schema::{check_schema_name, SourceTables};
use crate::db::PoolOptions;
use crate::schedules::MaintenanceSchedules;
use crate::secret::Secret;
use crate::storage::{LocalStorage, ObjectStorage, ObjectStoreSettings, Storage};
use crate::{Database, Result};

/// Configuration of the database-backed export service.
///
/// Build it in code ([`ServiceConfig::new`] then set fields) or from the
/// environment ([`ServiceConfig::from_env`]); [`validate`](Self::validate)
/// checks it and is called by [`Database::connect`](super::Database::connect).
///
/// | field | env | default |
/// |---|---|---|
/// | `database_url` | `LORA_EXPORT_DATABASE_URL`, else `DATABASE_URL` | required |
/// | `storage_root` | `LORA_EXPORT_STORAGE_ROOT` | `./export-files` |
/// | `storage_url` | `LORA_EXPORT_STORAGE_URL` | none: `storage_root`; else `file:///path` or `s3://bucket/prefix` |
/// | `object_store` | `AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, … | see [`ObjectStoreSettings`](super::ObjectStoreSettings) |
/// | `download_mode` | `LORA_EXPORT_DOWNLOADS` | `stream`; `redirect`: presigned URLs when the store mints them |
/// | `presign_ttl` | `LORA_EXPORT_PRESIGN_TTL_SECS` | 300 s (at most 7 days, never past the export's expiry) |
/// | `schedules` | `LORA_EXPORT_SCHEDULE_EXPIRE`, `…_CLEANUP`, `…_RETENTION` | hourly, daily 02:00 UTC, monthly (cron; `off`): see [`MaintenanceSchedules`](super::MaintenanceSchedules) |
/// | `expiry_hours` | `LORA_EXPORT_EXPIRY_HOURS` | 24 |
/// | `sync_threshold` | `LORA_EXPORT_SYNC_THRESHOLD` | 500 (fewer conversations run at once) |
/// | `rate_limit_per_hour` | `LORA_EXPORT_RATE_LIMIT` | 10 |
/// | `retention_days` | `LORA_EXPORT_RETENTION_DAYS` | 30 |
/// | `batch_size` | `LORA_EXPORT_BATCH_SIZE` | 2,000 conversations per fetch |
/// | `pool_size` | `LORA_EXPORT_POOL_SIZE` | 16; 2 in a serverless function (`VERCEL` or `AWS_LAMBDA_FUNCTION_NAME` set), where each instance has its own pool and serves one request at a time |
/// | `max_attempts` | `LORA_EXPORT_MAX_ATTEMPTS` | 3 |
/// | `stale_after` | `LORA_EXPORT_STALE_AFTER_SECS` | 30 s without heartbeat |
/// | `pool_wait_timeout` | `LORA_EXPORT_POOL_WAIT_TIMEOUT_MS` | 5 s (then 503 with `Retry-After`) |
/// | `statement_timeout` | `LORA_EXPORT_STATEMENT_TIMEOUT_MS` | 30 s per statement |
/// | `idle_in_transaction_timeout` | `LORA_EXPORT_IDLE_IN_TRANSACTION_TIMEOUT_MS` | 60 s |
/// | `interactive_statement_timeout` | `LORA_EXPORT_INTERACTIVE_STATEMENT_TIMEOUT_MS` | 5 s per statement of a count, preview or conversations page (then 503 with `Retry-After`) |
/// | `interactive_rate_per_minute` | `LORA_EXPORT_INTERACTIVE_RATE_LIMIT` | 120 counts, previews and conversation pages per user per minute, a bucket beside `rate_limit_per_hour` (then 429 with `Retry-After`) |
/// | `interactive_concurrency` | `LORA_EXPORT_INTERACTIVE_CONCURRENCY` | 2 of them running at once per user (then 429) |
/// | `downloads_per_user` | `LORA_EXPORT_DOWNLOADS_PER_USER` | 4 downloads streaming at once per user (then 429) |
/// | `download_idle_timeout` | `LORA_EXPORT_DOWNLOAD_IDLE_TIMEOUT_SECS` | 60 s: a download whose client reads nothing for this long is closed |
/// | `max_conversations` | `LORA_EXPORT_MAX_CONVERSATIONS` | 100,000 conversations per export (more: 413 `EXPORT_TOO_LARGE`, nothing logged) |
/// | `max_file_bytes` | `LORA_EXPORT_MAX_FILE_MB` | 1,024 MiB per export file (a run that writes more fails: 413 `EXPORT_TOO_LARGE`) |
/// | `storage_quota_bytes` | `LORA_EXPORT_STORAGE_QUOTA_MB` | 2,048 MiB of a user's stored files, counted while downloadable (expired and deleted files free it); at or above it, 429 `STORAGE_QUOTA_EXCEEDED` with `retry_after` until the oldest expires |
/// | `max_jobs_per_user` | `LORA_EXPORT_MAX_JOBS_PER_USER` | 3 exports of one user queued or running at once (then 429 `QUEUE_FULL` with `retry_after`) |
/// | `alert_webhook_url` | `LORA_EXPORT_ALERT_WEBHOOK_URL` | none: alerts go to the error sink only ([`evaluate_alerts`](super::ExportService::evaluate_alerts)) |
/// | `alert_webhook_secret` | `LORA_EXPORT_ALERT_WEBHOOK_SECRET` | none; required with the URL (at least 16 bytes): the HMAC-SHA256 key of `X-Lora-Export-Signature` |
/// | `alert_running` | `LORA_EXPORT_ALERT_RUNNING_SECS` | 60 s: an export running longer fires `long_running` |
/// | `alert_queue_age` | `LORA_EXPORT_ALERT_QUEUE_AGE_SECS` | 600 s: the oldest job due waiting longer fires `queue_stalled` |
/// | `alert_storage_bytes` | `LORA_EXPORT_ALERT_STORAGE_GB` | 10 GB (10^9 bytes): downloadable files holding more fire `storage` |
/// | `max_queued_jobs` | `LORA_EXPORT_MAX_QUEUED_JOBS` | 1,000 jobs waiting for a worker, every user's (then 429 `QUEUE_FULL` with `retry_after`) |
/// | `supabase_url` | `SUPABASE_URL` (else `NEXT_PUBLIC_SUPABASE_URL`) | none: the token's `iss`, the JWKS URL and the auth cookie's name derive from it |
/// | `jwt_secret` | `SUPABASE_JWT_SECRET` | none: HS256 tokens are refused |
/// | `jwks_url` | `LORA_EXPORT_JWKS_URL` | `$SUPABASE_URL/auth/v1/.well-known/jwks.json` |
/// | `jwks_json` | `LORA_EXPORT_JWKS` | none: the keys are fetched from `jwks_url` |
/// | `audit_key` | `LORA_EXPORT_AUDIT_KEY` | none: the audit chain is an unkeyed hash, which detects accidental corruption and tampering by roles other than the database owner only; set (at least 32 bytes), every event is sealed with HMAC-SHA256 and [`verify_audit`](super::ExportService::verify_audit) detects a rewrite by the owner too |
/// | `jwt_leeway` | `LORA_EXPORT_JWT_LEEWAY_SECS` | 30 s of clock skew on `exp`/`nbf` (at most 300) |
/// | `allow_anonymous` | `LORA_EXPORT_ALLOW_ANONYMOUS` | `false`: a session of Supabase's anonymous sign-in (`is_anonymous`) is refused, 403 `ANONYMOUS_NOT_ALLOWED` |
/// | `schema` | `LORA_EXPORT_SCHEMA` | `lora_export`: the schema of the library's tables and functions |
/// | `conversations_table` | `LORA_EXPORT_CONVERSATIONS_TABLE` | none: the library's own `conversations`; else the app's `schema.table` or view ([`SourceTables`]) |
/// | `turns_table` | `LORA_EXPORT_TURNS_TABLE` | none: the library's own `conversation_turns`; set with `conversations_table` |
///
/// The per-user limits (`interactive_*`, `downloads_per_user`) are counted
/// in the process, by each service (and its clones): with several
/// instances, a user gets each instance's share.
///
/// ```
/// use lora_export_service::ServiceConfig;
/// let mut config = ServiceConfig::new("postgres://localhost/app");
/// config.sync_threshold = 0;
/// let err = config.validate().unwrap_err();
/// assert!(err.to_string().contains("sync_threshold"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceConfig {
    /// PostgreSQL connection string (URL or `key=value` form). `sslmode`
    /// (`disable`, `prefer` — the default —, `require`, `verify-ca`,
    /// `verify-full`) and `sslrootcert` are read as libpq reads them, also
    /// from `PGSSLMODE`/`PGSSLROOTCERT` (see [`SslMode`](super::SslMode)).
    pub database_url: String,
    /// Directory under which export files are stored, one folder per user.
    pub storage_root: PathBuf,
    /// Where export files are stored, instead of `storage_root`:
    /// `file:///absolute/path` or `s3://bucket/prefix` ([`open_storage`](super::open_storage)).
    pub storage_url: Option<String>,
    /// How an `s3://` store is reached.
    pub object_store: ObjectStoreSettings,
    /// How the HTTP routes answer a download of a stored file.
    pub download_mode: DownloadMode,
    /// How long a presigned download URL works.
    pub presign_ttl: Duration,
    /// When workers run the maintenance tasks on their own.
    pub schedules: MaintenanceSchedules,
    /// Hours a completed export stays downloadable.
    pub expiry_hours: u32,
    /// Exports of fewer conversations than this run synchronously.
    pub sync_threshold: u32,
    /// Export requests allowed per user per rolling hour.
    pub rate_limit_per_hour: u32,
    /// Days export logs and audit events are kept.
    pub retention_days: u32,
    /// Conversations fetched per batch (two queries). A run holds three
    /// batches in memory at most: one being read, one queued, one being
    /// written.
    pub batch_size: u32,
    /// Maximum connections in the pool.
    pub pool_size: usize,
    /// Attempts a background job gets before it is failed.
    pub max_attempts: u32,
    /// A running job without heartbeat for this long is rescued.
    pub stale_after: Duration,
    /// How long a request waits for a pooled connection before it is
    /// answered 503 with `Retry-After` (no request can wait forever).
    pub pool_wait_timeout: Duration,
    /// `statement_timeout` of the service's connections.
    pub statement_timeout: Duration,
    /// `idle_in_transaction_session_timeout` of the service's connections:
    /// a connection left in a transaction is closed by the server.
    pub idle_in_transaction_timeout: Duration,
    /// `statement_timeout` of the export modal's interactive reads
    /// (`count_scopes`, `preview_export`, `list_conversations`), set for
    /// their transaction.
    pub interactive_statement_timeout: Duration,
    /// Interactive reads a user may start per minute (a bucket refilled
    /// continuously, in this process), beside the export rate limit.
    pub interactive_rate_per_minute: u32,
    /// Interactive reads of one user running at once, in this process.
    pub interactive_concurrency: u32,
    /// Downloads of one user streaming at once, in this process.
    pub downloads_per_user: u32,
    /// A download whose client reads nothing for this long is closed.
    pub download_idle_timeout: Duration,
    /// The most conversations one export may select (413 `EXPORT_TOO_LARGE`).
    pub max_conversations: u32,
    /// The most bytes one export file may hold: the run stops and fails
    /// past it (413 `EXPORT_TOO_LARGE`).
    pub max_file_bytes: u64,
    /// The bytes of a user's downloadable files (completed, neither expired
    /// nor deleted) at which a new export is refused (429
    /// `STORAGE_QUOTA_EXCEEDED`, `retry_after` until the oldest expires).
    pub storage_quota_bytes: u64,
    /// Exports of one user queued or running at once (429 `QUEUE_FULL`).
    pub max_jobs_per_user: u32,
    /// Jobs waiting for a worker, every user's (429 `QUEUE_FULL`).
    pub max_queued_jobs: u32,
    /// Where alerts are posted (signed JSON); `None`: the error sink only.
    pub alert_webhook_url: Option<String>,
    /// The HMAC-SHA256 key of the alerts' signature header.
    pub alert_webhook_secret: Option<Secret>,
    /// An export running longer fires the `long_running` alert.
    pub alert_running: Duration,
    /// The oldest job due waiting longer fires the `queue_stalled` alert.
    pub alert_queue_age: Duration,
    /// Downloadable files holding more bytes fire the `storage` alert.
    pub alert_storage_bytes: u64,
    /// The Supabase project URL (`https://<ref>.supabase.co`): tokens must
    /// be issued by `<url>/auth/v1`, its JWKS is fetched from there, and its
    /// auth cookie is `sb-<ref>-auth-token` (see [`SignIn`](super::SignIn)).
    pub supabase_url: Option<String>,
    /// The project's JWT secret, for HS256 tokens (Supabase's legacy keys).
    pub jwt_secret: Option<Secret>,
    /// Where the project's public keys are fetched (overrides the URL
    /// derived from `supabase_url`).
    pub jwks_url: Option<String>,
    /// The project's public keys as JWKS JSON, instead of fetching them.
    pub jwks_json: Option<String>,
    /// Clock skew allowed on a token's `exp` and `nbf`.
    pub jwt_leeway: Duration,
    /// The audit chain's key, held outside the database (at least 32
    /// bytes). Set, every audit event the service writes is sealed in its
    /// transaction with HMAC-SHA256 of its chain hash under this key, and
    /// [`verify_audit`](super::ExportService::verify_audit) reports an event
    /// whose seal is missing or wrong: the database owner, who can rewrite
    /// an event and recompute the unkeyed chain, cannot make its seal.
    ///
    /// **Without a key**, the chain is an unkeyed hash: `verify_audit` and
    /// `export_audit_verify` detect accidental corruption and tampering by
    /// roles other than the owner, *not* a rewrite by the owner (or anyone
    /// holding its login). Events written before the key was set carry no
    /// seal, and a keyed `verify_audit` reports each as `unsealed` until the
    /// retention purge removes it; rotating the key does the same to the
    /// seals of the old key (`seal does not match`).
    pub audit_key: Option<Secret>,
    /// Whether a session of Supabase's anonymous sign-in (`is_anonymous`
    /// in its token) may use the service. By default it may not: every user
    /// operation answers 403 `ANONYMOUS_NOT_ALLOWED`, since anyone can get
    /// such a session with the public anon key.
    pub allow_anonymous: bool,
    /// The schema of the library's own tables, functions and policies.
    pub schema: String,
    /// The app's table or view of conversations (`schema.name`), read
    /// instead of the library's own; see [`SourceTables`].
    pub conversations_table: Option<String>,
    /// The app's table or view of turns (`schema.name`), with `conversations_table`.
    pub turns_table: Option<String>,
}

/// How the HTTP routes answer a download of a stored file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DownloadMode {
    /// The bytes go through the server (ranges served).
    #[default]
    Stream,
    /// A redirect to a presigned URL minted for each request, when the
    /// store can mint one (object storage); else streamed.
    Redirect,
}

impl DownloadMode {
    /// `stream` or `redirect`.
    pub fn as_str(self) -> &'static str {
        match self {
            DownloadMode::Stream => "stream",
            DownloadMode::Redirect => "redirect",
        }
    }

    /// Reads `stream` or `redirect`.
    ///
    /// ```
    /// use lora_export_service::DownloadMode;
    /// assert_eq!(DownloadMode::parse("redirect").unwrap(), DownloadMode::Redirect);
    /// assert_eq!(DownloadMode::parse("bounce").unwrap_err().code(), "CONFIG_ERROR");
    /// ```
    pub fn parse(value: &str) -> Result<DownloadMode> {
        match value.trim() {
            "stream" => Ok(DownloadMode::Stream),
            "redirect" => Ok(DownloadMode::Redirect),
            other => Err(config_error(format!(
                "LORA_EXPORT_DOWNLOADS must be stream or redirect, got `{other}`"
            ))),
        }
    }
}

/// The longest presigned URL SigV4 allows.
const MAX_PRESIGN_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

impl ServiceConfig {
    /// A configuration with every default and this database URL.
    pub fn new(database_url: impl Into<String>) -> Self {
        ServiceConfig {
            database_url: database_url.into(),
            storage_root: PathBuf::from("./export-files"),
            storage_url: None,
            object_store: ObjectStoreSettings::default(),
            download_mode: DownloadMode::Stream,
            presign_ttl: Duration::from_secs(300),
            schedules: MaintenanceSchedules::default(),
            expiry_hours: 24,
            sync_threshold: 500,
            rate_limit_per_hour: 10,
            retention_days: 30,
            batch_size: 2_000,
            pool_size: 16,
            max_attempts: 3,
            stale_after: Duration::from_secs(30),
            pool_wait_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(30),
            idle_in_transaction_timeout: Duration::from_secs(60),
            interactive_statement_timeout: Duration::from_secs(5),
            interactive_rate_per_minute: 120,
            interactive_concurrency: 2,
            downloads_per_user: 4,
            download_idle_timeout: Duration::from_secs(60),
            max_conversations: 100_000,
            max_file_bytes: 1_024 << 20,
            storage_quota_bytes: 2_048 << 20,
            max_jobs_per_user: 3,
            max_queued_jobs: 1_000,
            alert_webhook_url: None,
            alert_webhook_secret: None,
            alert_running: Duration::from_secs(60),
            alert_queue_age: Duration::from_secs(600),
            alert_storage_bytes: 10_000_000_000,
            supabase_url: None,
            jwt_secret: None,
            jwks_url: None,
            jwks_json: None,
            jwt_leeway: Duration::from_secs(30),
            audit_key: None,
            allow_anonymous: false,
            schema: "lora_export".to_owned(),
            conversations_table: None,
            turns_table: None,
        }
    }

    /// Reads the configuration from environment variables (table above).
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (the environment, a map …).
    ///
    /// ```
    /// use lora_export_service::ServiceConfig;
    /// let env = |k: &str| match k {
    ///     "DATABASE_URL" => Some("postgres://db/app".to_owned()),
    ///     "LORA_EXPORT_RATE_LIMIT" => Some("many".to_owned()),
    ///     _ => None,
    /// };
    /// let err = ServiceConfig::from_lookup(env).unwrap_err();
    /// assert!(err.to_string().contains("LORA_EXPORT_RATE_LIMIT"));
    ///
    /// // A serverless function's instance gets a small pool, unless told otherwise.
    /// let vercel = |k: &str| match k {
    ///     "DATABASE_URL" => Some("postgres://db/app".to_owned()),
    ///     "VERCEL" => Some("1".to_owned()),
    ///     _ => None,
    /// };
    /// assert_eq!(ServiceConfig::from_lookup(vercel).unwrap().pool_size, 2);
    /// let told = |k: &str| match k {
    ///     "LORA_EXPORT_POOL_SIZE" => Some("8".to_owned()),
    ///     other => vercel(other),
    /// };
    /// assert_eq!(ServiceConfig::from_lookup(told).unwrap().pool_size, 8);
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let url = lookup("LORA_EXPORT_DATABASE_URL")
            .or_else(|| lookup("DATABASE_URL"))
            .ok_or_else(|| config_error("LORA_EXPORT_DATABASE_URL (or DATABASE_URL) is not set"))?;
        let mut config = ServiceConfig::new(url);
        if let Some(root) = lookup("LORA_EXPORT_STORAGE_ROOT") {
            config.storage_root = PathBuf::from(root);
        }
        config.storage_url = lookup("LORA_EXPORT_STORAGE_URL")
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty());
        config.object_store = ObjectStoreSettings::from_lookup(&lookup)?;
        config.schedules = MaintenanceSchedules::from_lookup(&lookup)?;
        if let Some(mode) = lookup("LORA_EXPORT_DOWNLOADS") {
            config.download_mode = DownloadMode::parse(&mode)?;
        }
        let number = |name: &str, into: &mut u32| -> Result<()> {
            if let Some(v) = lookup(name) {
                *into = v.trim().parse().map_err(|_| {
                    config_error(format!("{name} must be a non-negative integer, got `{v}`"))
                })?;
            }
            Ok(())
        };
        number("LORA_EXPORT_EXPIRY_HOURS", &mut config.expiry_hours)?;
        number("LORA_EXPORT_SYNC_THRESHOLD", &mut config.sync_threshold)?;
        number("LORA_EXPORT_RATE_LIMIT", &mut config.rate_limit_per_hour)?;
        number("LORA_EXPORT_RETENTION_DAYS", &mut config.retention_days)?;
        number("LORA_EXPORT_BATCH_SIZE", &mut config.batch_size)?;
        number("LORA_EXPORT_MAX_ATTEMPTS", &mut config.max_attempts)?;
        number("LORA_EXPORT_INTERACTIVE_RATE_LIMIT", &mut config.interactive_rate_per_minute)?;
        number("LORA_EXPORT_INTERACTIVE_CONCURRENCY", &mut config.interactive_concurrency)?;
        number("LORA_EXPORT_DOWNLOADS_PER_USER", &mut config.downloads_per_user)?;
        number("LORA_EXPORT_MAX_CONVERSATIONS", &mut config.max_conversations)?;
        number("LORA_EXPORT_MAX_JOBS_PER_USER", &mut config.max_jobs_per_user)?;
        number("LORA_EXPORT_MAX_QUEUED_JOBS", &mut config.max_queued_jobs)?;
        let mut mib = (config.max_file_bytes >> 20) as u32;
        number("LORA_EXPORT_MAX_FILE_MB", &mut mib)?;
        config.max_file_bytes = u64::from(mib) << 20;
        let mut mib = (config.storage_quota_bytes >> 20) as u32;
        number("LORA_EXPORT_STORAGE_QUOTA_MB", &mut mib)?;
        config.storage_quota_bytes = u64::from(mib) << 20;
        let mut secs = config.alert_running.as_secs() as u32;
        number("LORA_EXPORT_ALERT_RUNNING_SECS", &mut secs)?;
        config.alert_running = Duration::from_secs(secs.into());
        let mut secs = config.alert_queue_age.as_secs() as u32;
        number("LORA_EXPORT_ALERT_QUEUE_AGE_SECS", &mut secs)?;
        config.alert_queue_age = Duration::from_secs(secs.into());
        let mut gb = (config.alert_storage_bytes / 1_000_000_000) as u32;
        number("LORA_EXPORT_ALERT_STORAGE_GB", &mut gb)?;
        config.alert_storage_bytes = u64::from(gb) * 1_000_000_000;
        let mut idle = config.download_idle_timeout.as_secs() as u32;
        number("LORA_EXPORT_DOWNLOAD_IDLE_TIMEOUT_SECS", &mut idle)?;
        config.download_idle_timeout = Duration::from_secs(idle.into());
        if SERVERLESS_MARKERS.iter().any(|name| lookup(name).is_some()) {
            config.pool_size = SERVERLESS_POOL_SIZE;
        }
        let mut pool = config.pool_size as u32;
        number("LORA_EXPORT_POOL_SIZE", &mut pool)?;
        config.pool_size = pool as usize;
        let mut stale = config.stale_after.as_secs() as u32;
        number("LORA_EXPORT_STALE_AFTER_SECS", &mut stale)?;
        config.stale_after = Duration::from_secs(stale.into());
        let mut ttl = config.presign_ttl.as_secs() as u32;
        number("LORA_EXPORT_PRESIGN_TTL_SECS", &mut ttl)?;
        config.presign_ttl = Duration::from_secs(ttl.into());
        let millis = |name: &str, into: &mut Duration| -> Result<()> {
            let mut ms = u32::try_from(into.as_millis()).unwrap_or(u32::MAX);
            number(name, &mut ms)?;
            *into = Duration::from_millis(ms.into());
            Ok(())
        };
        millis("LORA_EXPORT_POOL_WAIT_TIMEOUT_MS", &mut config.pool_wait_timeout)?;
        millis("LORA_EXPORT_STATEMENT_TIMEOUT_MS", &mut config.statement_timeout)?;
        millis(
            "LORA_EXPORT_IDLE_IN_TRANSACTION_TIMEOUT_MS",
            &mut config.idle_in_transaction_timeout,
        )?;
        millis(
            "LORA_EXPORT_INTERACTIVE_STATEMENT_TIMEOUT_MS",
            &mut config.interactive_statement_timeout,
        )?;
        let text = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        config.supabase_url = text("SUPABASE_URL").or_else(|| text("NEXT_PUBLIC_SUPABASE_URL"));
        config.jwt_secret = text("SUPABASE_JWT_SECRET").map(Secret::from);
        config.alert_webhook_url = text("LORA_EXPORT_ALERT_WEBHOOK_URL");
        config.alert_webhook_secret = text("LORA_EXPORT_ALERT_WEBHOOK_SECRET").map(Secret::from);
        config.jwks_url = text("LORA_EXPORT_JWKS_URL");
        config.jwks_json = text("LORA_EXPORT_JWKS");
        config.audit_key = text("LORA_EXPORT_AUDIT_KEY").map(Secret::from);
        let mut leeway = config.jwt_leeway.as_secs() as u32;
        number("LORA_EXPORT_JWT_LEEWAY_SECS", &mut leeway)?;
        config.jwt_leeway = Duration::from_secs(leeway.into());
        if let Some(allow) = text("LORA_EXPORT_ALLOW_ANONYMOUS") {
            config.allow_anonymous = match allow.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => true,
                "false" | "0" | "no" | "off" => false,
                _ => {
                    return Err(config_error(format!(
                        "LORA_EXPORT_ALLOW_ANONYMOUS must be true or false, got `{allow}`"
                    )))
                }
            };
        }
        if let Some(schema) = text("LORA_EXPORT_SCHEMA") {
            config.schema = schema;
        }
        config.conversations_table = text("LORA_EXPORT_CONVERSATIONS_TABLE");
        config.turns_table = text("LORA_EXPORT_TURNS_TABLE");
        config.validate()?;
        Ok(config)
    }

    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<()> {
        let positive = [
            ("expiry_hours", self.expiry_hours),
            ("sync_threshold", self.sync_threshold),
            ("rate_limit_per_hour", self.rate_limit_per_hour),
            ("retention_days", self.retention_days),
            ("batch_size", self.batch_size),
            ("max_attempts", self.max_attempts),
            ("interactive_rate_per_minute", self.interactive_rate_per_minute),
            ("interactive_concurrency", self.interactive_concurrency),
            ("downloads_per_user", self.downloads_per_user),
            ("max_conversations", self.max_conversations),
            ("max_jobs_per_user", self.max_jobs_per_user),
            ("max_queued_jobs", self.max_queued_jobs),
        ];
        if self.database_url.trim().is_empty() {
            return Err(config_error("database_url is empty"));
        }
        if let Some((name, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(config_error(format!("{name} must be at least 1")));
        }
        if self.max_file_bytes == 0 || self.storage_quota_bytes == 0 {
            return Err(config_error("max_file_bytes and storage_quota_bytes must be at least 1"));
        }
        if self.batch_size > 10_000 {
            return Err(config_error("batch_size must be at most 10000"));
        }
        if !(2..=MAX_POOL_SIZE).contains(&self.pool_size) {
            return Err(config_error(format!(
                "pool_size must be between 2 and {MAX_POOL_SIZE}, got {}",
                self.pool_size
            )));
        }
        if self.stale_after < Duration::from_secs(1) {
            return Err(config_error("stale_after must be at least one second"));
        }
        if self.download_idle_timeout < Duration::from_secs(1) {
            return Err(config_error("download_idle_timeout must be at least one second"));
        }
        let timeouts = [
            ("pool_wait_timeout", self.pool_wait_timeout),
            ("statement_timeout", self.statement_timeout),
            ("idle_in_transaction_timeout", self.idle_in_transaction_timeout),
            ("interactive_statement_timeout", self.interactive_statement_timeout),
        ];
        if let Some((name, _)) = timeouts.iter().find(|(_, t)| t.as_millis() < 10) {
            return Err(config_error(format!("{name} must be at least 10 ms")));
        }
        if self.storage_root.as_os_str().is_empty() {
            return Err(config_error("storage_root is empty"));
        }
        if !(Duration::from_secs(1)..=MAX_PRESIGN_TTL).contains(&self.presign_ttl) {
            return Err(config_error(format!(
                "presign_ttl must be between 1 s and 7 days, got {} s",
                self.presign_ttl.as_secs()
            )));
        }
        self.source_tables()?;
        check_webhook(
            self.alert_webhook_url.as_deref(),
            self.alert_webhook_secret.as_ref().map(Secret::as_bytes),
        )?;
        self.validate_sign_in()
    }

    /// The relations exports read: the app's (`conversations_table` and
    /// `turns_table`, both or neither) or the library's own in `schema`.
    ///
    /// ```
    /// use lora_export_service::ServiceConfig;
    /// let mut config = ServiceConfig::new("postgres://localhost/app");
    /// assert_eq!(config.source_tables().unwrap().conversations(), "\"lora_export\".\"conversations\"");
    /// config.conversations_table = Some("public.chats".into());
    /// assert!(config.source_tables().unwrap_err().to_string().contains("turns_table"));
    /// ```
    ///
    /// # Errors
    ///
    /// [`CoreKind::Config`] for a bad schema or relation name, or only one
    /// of the two relations.
    pub fn source_tables(&self) -> Result<SourceTables> {
        match (&self.conversations_table, &self.turns_table) {
            (None, None) => SourceTables::library(&self.schema),
            (Some(conversations), Some(turns)) => {
                check_schema_name(&self.schema)?;
                SourceTables::app(conversations, turns)
            }
            _ => Err(config_error(
                "conversations_table and turns_table go together: set both (the app's relations) or neither (the library's own)",
            )),
        }
    }

    /// Checks the sign-in fields (called by [`validate`](Self::validate)).
    pub(crate) fn validate_sign_in(&self) -> Result<()> {
        for (name, url) in [("supabase_url", &self.supabase_url), ("jwks_url", &self.jwks_url)] {
            if let Some(url) = url {
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err(config_error(format!(
                        "{name} must be an http(s) URL, got `{url}`"
                    )));
                }
            }
        }
        if self.jwt_secret.as_ref().is_some_and(|s| s.as_bytes().len() < 32) {
            return Err(config_error(
                "jwt_secret (SUPABASE_JWT_SECRET) is shorter than 32 bytes: use the project's JWT secret",
            ));
        }
        if self.audit_key.as_ref().is_some_and(|s| s.as_bytes().len() < 32) {
            return Err(config_error(
                "audit_key (LORA_EXPORT_AUDIT_KEY) is shorter than 32 bytes: use a random secret of 32 bytes or more",
            ));
        }
        if self.jwt_leeway > Duration::from_secs(300) {
            return Err(config_error("jwt_leeway must be at most 300 seconds"));
        }
        Ok(())
    }
}

/// The largest connection pool a service may ask for.
const MAX_POOL_SIZE: usize = 1000;

/// Variables a serverless runtime sets (Vercel's, AWS Lambda's).
const SERVERLESS_MARKERS: [&str; 2] = ["VERCEL", "AWS_LAMBDA_FUNCTION_NAME"];

/// The default pool size of a serverless function instance: it serves one
/// request at a time, and the service never holds two connections at once
/// (2 leaves room for a worker or cron call in the same instance). Many
/// instances × 16 would exhaust the database's connections.
const SERVERLESS_POOL_SIZE: usize = 2;

fn config_error(message: impl Into<String>) -> crate::Error {
    CoreKind::Config(message.into()).into()
}

/// The service's options as an application passes them: a JavaScript
/// object in Node (`ExportClient.connect(url, options)`, camelCase), keyword
/// arguments in Python (`ExportClient(dsn, **options)`, snake_case), JSON.
/// Every field is optional and overrides the environment variable named in
/// parentheses, then the default ([`ServiceConfig::from_options`]); an
/// unknown key is an error, so a typo never goes unnoticed.
///
/// ```
/// use lora_export_service::{ServiceConfig, ServiceOptions};
/// let options: ServiceOptions = serde_json::from_str(r#"{"syncThreshold": 20, "poolSize": 4}"#).unwrap();
/// let env = |k: &str| (k == "LORA_EXPORT_RATE_LIMIT").then(|| "50".to_owned());
/// let config = ServiceConfig::from_options("postgres://db/app", env, options).unwrap();
/// assert_eq!((config.sync_threshold, config.pool_size, config.rate_limit_per_hour), (20, 4, 50));
/// assert!(serde_json::from_str::<ServiceOptions>(r#"{"syncTreshold": 20}"#).is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServiceOptions {
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

impl ServiceConfig {
    /// The configuration of the environment (read through `lookup`) for
    /// `database_url`, with `options` over it, validated: what both
    /// bindings' clients build.
    pub fn from_options(
        database_url: impl Into<String>,
        lookup: impl Fn(&str) -> Option<String>,
        o: ServiceOptions,
    ) -> Result<ServiceConfig> {
        let database_url = database_url.into();
        let mut config = ServiceConfig::from_lookup(|name| match name {
            "LORA_EXPORT_DATABASE_URL" => Some(database_url.clone()),
            _ => lookup(name),
        })?;
        if let Some(root) = o.storage_root {
            config.storage_root = PathBuf::from(root);
        }
        config.storage_url = o.storage_url.or(config.storage_url);
        if let Some(mode) = o.downloads {
            config.download_mode = DownloadMode::parse(&mode)?;
        }
        if let Some(secs) = o.presign_ttl_secs {
            config.presign_ttl = Duration::from_secs(secs.into());
        }
        let set = |from: Option<u32>, into: &mut u32| {
            if let Some(v) = from {
                *into = v;
            }
        };
        set(o.expiry_hours, &mut config.expiry_hours);
        set(o.sync_threshold, &mut config.sync_threshold);
        set(o.rate_limit_per_hour, &mut config.rate_limit_per_hour);
        set(o.retention_days, &mut config.retention_days);
        set(o.batch_size, &mut config.batch_size);
        set(o.max_attempts, &mut config.max_attempts);
        set(o.interactive_rate_limit, &mut config.interactive_rate_per_minute);
        set(o.interactive_concurrency, &mut config.interactive_concurrency);
        set(o.downloads_per_user, &mut config.downloads_per_user);
        set(o.max_conversations, &mut config.max_conversations);
        set(o.max_jobs_per_user, &mut config.max_jobs_per_user);
        set(o.max_queued_jobs, &mut config.max_queued_jobs);
        if let Some(mib) = o.max_file_mb {
            config.max_file_bytes = u64::from(mib) << 20;
        }
        if let Some(mib) = o.storage_quota_mb {
            config.storage_quota_bytes = u64::from(mib) << 20;
        }
        if let Some(ms) = o.interactive_statement_timeout_ms {
            config.interactive_statement_timeout = Duration::from_millis(ms.into());
        }
        if let Some(secs) = o.download_idle_timeout_secs {
            config.download_idle_timeout = Duration::from_secs(secs.into());
        }
        if let Some(size) = o.pool_size {
            config.pool_size = size as usize;
        }
        if let Some(secs) = o.stale_after_secs {
            config.stale_after = Duration::from_secs(secs.into());
        }
        config.supabase_url = o.supabase_url.or(config.supabase_url);
        config.jwt_secret = o.jwt_secret.map(Secret::from).or(config.jwt_secret);
        config.audit_key = o.audit_key.map(Secret::from).or(config.audit_key);
        config.jwks_url = o.jwks_url.or(config.jwks_url);
        config.jwks_json = o.jwks.or(config.jwks_json);
        config.allow_anonymous = o.allow_anonymous.unwrap_or(config.allow_anonymous);
        if let Some(schema) = o.schema {
            config.schema = schema;
        }
        config.conversations_table = o.conversations_table.or(config.conversations_table);
        config.turns_table = o.turns_table.or(config.turns_table);
        config.validate()?;
        Ok(config)
    }
}

impl Database {
    /// Builds the pool for `config` (no connection is opened yet).
    pub fn connect(config: &ServiceConfig) -> Result<Database> {
        config.validate()?;
        Database::open(PoolOptions {
            database_url: &config.database_url,
            schema: &config.schema,
            statement_timeout: config.statement_timeout,
            idle_in_transaction_timeout: config.idle_in_transaction_timeout,
            pool_size: config.pool_size,
            pool_wait_timeout: config.pool_wait_timeout,
        })
    }
}

/// The store `config` names: `storage_url` when set (`file:///path` or
/// `s3://bucket/prefix`, the latter with `config.object_store`'s settings),
/// else a [`LocalStorage`] at `storage_root`.
///
/// ```
/// use lora_export_service::{open_storage, ServiceConfig};
/// let mut config = ServiceConfig::new("postgres://localhost/app");
/// config.storage_url = Some("file:///tmp/exports".into());
/// assert!(format!("{:?}", open_storage(&config).unwrap()).contains("/tmp/exports"));
/// config.storage_url = Some("ftp://host/x".into());
/// assert_eq!(open_storage(&config).unwrap_err().code(), "CONFIG_ERROR");
/// ```
pub fn open_storage(config: &ServiceConfig) -> Result<Arc<dyn Storage>> {
    let Some(url) = config.storage_url.as_deref() else {
        return Ok(Arc::new(LocalStorage::new(&config.storage_root)));
    };
    if let Some(path) = url.strip_prefix("file://") {
        if !path.starts_with('/') {
            let message = format!("LORA_EXPORT_STORAGE_URL: `{url}` must be file:///absolute/path");
            return Err(CoreKind::Config(message).into());
        }
        return Ok(Arc::new(LocalStorage::new(path)));
    }
    if url.starts_with("s3://") {
        return Ok(Arc::new(ObjectStorage::new(url, &config.object_store)?));
    }
    let message =
        format!("LORA_EXPORT_STORAGE_URL: `{url}` is neither file:///path nor s3://bucket/prefix");
    Err(CoreKind::Config(message).into())
}

/// A webhook URL and secret go together; the secret is at least 16 bytes.
fn check_webhook(url: Option<&str>, secret: Option<&[u8]>) -> Result<()> {
    let problem = match (url, secret) {
        (None, None) => return Ok(()),
        (Some(url), _) if !(url.starts_with("https://") || url.starts_with("http://")) => {
            format!("alert_webhook_url must be an http(s) URL, got `{url}`")
        }
        (Some(_), Some(secret)) if secret.len() >= 16 => return Ok(()),
        (Some(_), Some(_)) => "alert_webhook_secret (LORA_EXPORT_ALERT_WEBHOOK_SECRET) is shorter than 16 bytes".into(),
        (Some(_), None) => "alert_webhook_url needs alert_webhook_secret (LORA_EXPORT_ALERT_WEBHOOK_SECRET): alerts are signed".into(),
        (None, Some(_)) => "alert_webhook_secret is set without alert_webhook_url".into(),
    };
    Err(lora_export_core::ErrorKind::Config(problem).into())
}
