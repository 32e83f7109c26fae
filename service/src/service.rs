//! The [`ExportService`]: one handle for every operation of the seeds'
//! export lifecycle. The operations live in their own files (`create`,
//! `access`, `history`, `run`, `cleanup`, `metrics`, `worker`).

use lora_export_core::ErrorKind as CoreKind;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use uuid::Uuid;

use crate::config::open_storage;
use crate::events::RequestStats;
use crate::events::{ErrorReport, ErrorSink, MetricEvent, MetricsSink};
use crate::limits::UserLimits;
use crate::storage::Storage;
use crate::{Actor, Session, SignIn};
use crate::{Database, ImportSummary, MigrateOptions, ServiceConfig, SourceTables};
use crate::{ErrorKind, Result};

/// The database-backed export service: create, run, status, download,
/// history, delete, cleanup, metrics, and background workers.
///
/// Cheap to clone (a pool handle and a few `Arc`s); share one per process:
/// the per-user limits of costly reads and downloads are counted per
/// service and its clones.
/// Every state change runs on the service's own connection, after the
/// service checked that the export is the user's (403 / 404); the reads of
/// a user's data (conversations, history) run as the user, under RLS. See
/// the privilege model in the [module docs](super).
///
/// ```
/// use lora_export_service::{ExportService, ServiceConfig};
/// // Building the service opens no connection yet.
/// let service = ExportService::connect(ServiceConfig::new("postgres://localhost/app")).unwrap();
/// assert_eq!(service.config().sync_threshold, 500);
/// ```
#[derive(Clone)]
pub struct ExportService {
    db: Database,
    config: Arc<ServiceConfig>,
    storage: Arc<dyn Storage>,
    sign_in: Option<Arc<SignIn>>,
    source: Arc<Source>,
    limits: Arc<UserLimits>,
    requests: Arc<Mutex<RequestStats>>,
    metrics_sink: Option<MetricsSink>,
    error_sink: Option<ErrorSink>,
}

/// The relations exports read, and once they were found as documented,
/// the same with the type of their conversation key.
#[derive(Debug)]
struct Source {
    tables: SourceTables,
    checked: OnceLock<SourceTables>,
}

impl std::fmt::Debug for ExportService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportService")
            .field("db", &self.db)
            .field("config", &self.config)
            .field("storage", &self.storage)
            .field("sign_in", &self.sign_in)
            .finish_non_exhaustive()
    }
}

impl ExportService {
    /// A service for `config`, storing files where its `storage_url` says
    /// ([`open_storage`](super::open_storage): a [`LocalStorage`] at
    /// `storage_root` by default, or an object store), verifying sign-ins as its `supabase_url`,
    /// `jwt_secret`, `jwks_url` and `jwks_json` say. Validates the config;
    /// connects lazily.
    pub fn connect(config: ServiceConfig) -> Result<ExportService> {
        let db = Database::connect(&config)?;
        let storage = open_storage(&config)?;
        let sign_in = SignIn::from_config(&config)?.map(Arc::new);
        let tables = config.source_tables()?;
        // The library's own tables are as documented once migrated (and
        // missing ones are DATABASE_NOT_MIGRATED); only the app's are checked.
        let own = tables == SourceTables::library(&config.schema)?;
        let checked = OnceLock::new();
        if own {
            checked.get_or_init(|| tables.clone());
        }
        let source = Source { tables, checked };
        Ok(ExportService {
            db,
            limits: UserLimits::new(&config),
            requests: Arc::default(),
            config: Arc::new(config),
            storage,
            sign_in,
            source: Arc::new(source),
            metrics_sink: None,
            error_sink: None,
        })
    }

    /// The same service with another file store.
    pub fn with_storage(mut self, storage: Arc<dyn Storage>) -> ExportService {
        self.storage = storage;
        self
    }

    /// The same service, sending each export's [`MetricEvent`] to `sink`.
    pub fn with_metrics_sink(mut self, sink: MetricsSink) -> ExportService {
        self.metrics_sink = Some(sink);
        self
    }

    /// The same service, sending every [`ErrorReport`] — the detail of each
    /// internal error it answers (a database or storage failure, shown to
    /// the client only as a code and an error id), each failed attempt of a
    /// background job, each failure of connecting, migrating or a worker's
    /// loop — to `sink` instead of writing it to stderr as a JSON line. A
    /// sink that ignores its reports turns the log off.
    pub fn with_error_sink(mut self, sink: ErrorSink) -> ExportService {
        self.error_sink = Some(sink);
        self
    }

    /// Verifies a Supabase access token (see [`SignIn::verify`]).
    ///
    /// # Errors
    ///
    /// `INVALID_TOKEN` (401) with its reason; `CONFIG_ERROR` when no
    /// sign-in is configured.
    pub async fn verify_session(&self, token: &str) -> Result<Session> {
        let result = match &self.sign_in {
            Some(sign_in) => sign_in.verify(token).await,
            None => Err(no_sign_in()),
        };
        self.observe("verify_session", result)
    }

    /// Verifies the access token of a request: `Authorization: Bearer …`,
    /// else the `@supabase/ssr` auth cookie (see [`SignIn::authenticate`]).
    ///
    /// # Errors
    ///
    /// As [`verify_session`](Self::verify_session); reason `missing`
    /// without either.
    pub async fn authenticate(
        &self,
        authorization: Option<&str>,
        cookie: Option<&str>,
    ) -> Result<Session> {
        let result = match &self.sign_in {
            Some(sign_in) => sign_in.authenticate(authorization, cookie).await,
            None => Err(no_sign_in()),
        };
        self.observe("authenticate", result)
    }

    /// The user an operation runs for, once the service admits them: a
    /// session of Supabase's anonymous sign-in only when `allow_anonymous`
    /// is set (anyone holding the public anon key can get one).
    ///
    /// # Errors
    ///
    /// `ANONYMOUS_NOT_ALLOWED` (403).
    pub(crate) fn admit(&self, actor: &impl Actor) -> Result<Uuid> {
        if actor.is_anonymous() && !self.config.allow_anonymous {
            return Err(ErrorKind::AnonymousNotAllowed.into());
        }
        Ok(actor.user_id())
    }

    /// Applies pending schema migrations (see [`Database::migrate`]).
    pub async fn migrate(&self) -> Result<Vec<i32>> {
        self.migrate_with(MigrateOptions::default()).await
    }

    /// Applies pending schema migrations with `options` (see
    /// [`Database::migrate_with`]).
    pub async fn migrate_with(&self, options: MigrateOptions) -> Result<Vec<i32>> {
        self.observe_operator("migrate", self.db.migrate_with(options).await)
    }

    /// Loads canonical JSONL conversations (see [`Database::import_conversations`]).
    pub async fn import_conversations(
        &self,
        reader: impl std::io::BufRead + Send,
    ) -> Result<ImportSummary> {
        self.observe_operator("import_conversations", self.db.import_conversations(reader).await)
    }

    /// The id of the user with `email` in `auth.users`, created when there is
    /// none: a test user for a local or development database, so an app can
    /// run without hand-written SQL. On a hosted Supabase project, create
    /// users with Supabase Auth (the dashboard or its admin API) instead.
    ///
    /// # Errors
    ///
    /// `VALIDATION_ERROR` for an email without `@`; an internal database error.
    pub async fn create_dev_user(&self, email: &str) -> Result<Uuid> {
        let result = async {
            let email = email.trim();
            if !email.contains('@') || email.len() > 254 {
                return Err(CoreKind::InvalidRequest(vec![lora_export_core::Issue::new(
                    "email",
                    "invalid_email",
                    "an email address is needed",
                )])
                .into());
            }
            let client = self.db.client().await?;
            let row = client
                .query_one(
                    "WITH existing AS (SELECT id FROM auth.users WHERE email = $1 LIMIT 1),
                          created AS (INSERT INTO auth.users (id, email)
                                      SELECT gen_random_uuid(), $1
                                      WHERE NOT EXISTS (SELECT 1 FROM existing) RETURNING id)
                     SELECT id FROM existing UNION ALL SELECT id FROM created",
                    &[&email],
                )
                .await?;
            Ok(row.get(0))
        }
        .await;
        self.observe("create_dev_user", result)
    }

    /// The database handle.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// The configuration.
    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    /// The key that seals the audit events the service writes, if any.
    pub(crate) fn audit_key(&self) -> Option<&super::Secret> {
        self.config.audit_key.as_ref()
    }

    /// The relations exports read (the config's `conversations_table` and
    /// `turns_table`, else the library's own), with their key's type once
    /// [`check_source`](Self::check_source) found it.
    pub fn source_tables(&self) -> &SourceTables {
        self.source.checked.get().unwrap_or(&self.source.tables)
    }

    /// Checks, once per service, that the app's relations exports read have
    /// the documented columns, that `authenticated` may read them, and that
    /// row-level security applies to everything they read through (no view
    /// without `security_invoker`, no table without row-level security),
    /// and that a batch's turn lookup uses an index ([`SourceTables::check`],
    /// which also finds the type of the conversation key); create, counts,
    /// preview and the conversations page call it before they read. A no-op
    /// for the library's own tables.
    ///
    /// # Errors
    ///
    /// An internal `SOURCE_MISCONFIGURED` (500; the client sees an error id,
    /// the error sink the detail naming every missing relation, missing or
    /// mistyped column, and a relation `authenticated` cannot read).
    pub async fn check_source(&self) -> Result<()> {
        if self.source.checked.get().is_some() {
            return Ok(());
        }
        let mut client = self.db.client().await?;
        let checked = self.source.tables.check(&mut client).await;
        let checked = self.observe("check_source", checked)?;
        self.source.checked.get_or_init(|| checked);
        Ok(())
    }

    /// The file store.
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    /// The per-user limits of costly reads and downloads, shared by the
    /// service's clones (one count per process).
    pub(crate) fn limits(&self) -> &Arc<UserLimits> {
        &self.limits
    }

    /// The request latencies the route layer recorded, shared by the
    /// service's clones.
    pub(crate) fn request_stats(&self) -> &Mutex<RequestStats> {
        &self.requests
    }

    pub(crate) fn emit(&self, event: &MetricEvent) {
        if let Some(sink) = &self.metrics_sink {
            sink(event);
        }
    }

    /// Reports `result`'s internal error (database, storage, I/O) with its
    /// error id to the error sink (see [`report`](Self::report)) and turns
    /// every such error into one whose message is safe for a client.
    pub(crate) fn observe<T>(&self, operation: &'static str, result: Result<T>) -> Result<T> {
        let error = match result {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let error = with_error_id(error);
        if let Some(CoreKind::Internal { code, error_id, detail }) = error.core_kind() {
            self.report(ErrorReport {
                timestamp: chrono::Utc::now(),
                operation,
                code,
                error_id: Some(*error_id),
                export_id: None,
                attempt: None,
                detail: detail.clone(),
            });
        }
        Err(error)
    }

    /// Reports a failed run of `export_id`'s job (its `attempt`), whatever
    /// the error — a timeout's safe message too, so that no failed attempt
    /// goes unlogged — and returns the error as [`observe`](Self::observe)
    /// does: an internal one's message safe for a client.
    pub(crate) fn observe_attempt<T>(
        &self,
        operation: &'static str,
        export_id: uuid::Uuid,
        attempt: u32,
        result: Result<T>,
    ) -> Result<T> {
        result.map_err(|error| self.report_failure(operation, error, Some((export_id, attempt))))
    }

    /// [`observe`](Self::observe) for an operator's own operation
    /// (connecting, migrating, importing, a worker's loop): every error is
    /// reported — one whose message is already safe too — and returned with
    /// its cause in the message ([`Error::for_operator`](crate::Error::for_operator)).
    pub(crate) fn observe_operator<T>(
        &self,
        operation: &'static str,
        result: Result<T>,
    ) -> Result<T> {
        result.map_err(|error| self.report_failure(operation, error, None).for_operator(operation))
    }

    /// Reports `error` — whatever it is — with its error id, and with the
    /// export and attempt of a job's run, and returns it (an I/O, CSV or
    /// JSON error made internal, so that its message is safe for a client).
    fn report_failure(
        &self,
        operation: &'static str,
        error: crate::Error,
        attempt: Option<(uuid::Uuid, u32)>,
    ) -> crate::Error {
        let error = with_error_id(error);
        let detail = match error.core_kind() {
            Some(CoreKind::Internal { detail, .. }) => detail.clone(),
            _ => error.to_string(),
        };
        self.report(ErrorReport {
            timestamp: chrono::Utc::now(),
            operation,
            code: error.code(),
            error_id: error.error_id(),
            export_id: attempt.map(|(id, _)| id),
            attempt: attempt.map(|(_, n)| n),
            detail,
        });
        error
    }

    /// Sends `report` to the error sink, or writes it to stderr as one JSON
    /// line ([`ErrorReport::json_line`]) when there is none.
    pub(crate) fn report(&self, report: ErrorReport) {
        match &self.error_sink {
            Some(sink) => sink(&report),
            // Never `eprintln!`: it panics when stderr is closed or full.
            None => {
                let _ = writeln!(std::io::stderr(), "{}", report.json_line());
            }
        }
    }
}

/// `error`, an I/O, CSV or JSON error made internal (its words kept for the
/// log, an error id for the client).
fn with_error_id(error: crate::Error) -> crate::Error {
    match error.core_kind() {
        Some(CoreKind::Io(_) | CoreKind::Csv(_) | CoreKind::Json(_)) => {
            crate::Error::internal(error.code(), error.to_string())
        }
        _ => error,
    }
}

fn no_sign_in() -> crate::Error {
    CoreKind::Config(
        "sign-in is not configured: set SUPABASE_URL (keys from its JWKS), SUPABASE_JWT_SECRET \
         (HS256) or LORA_EXPORT_JWKS"
            .into(),
    )
    .into()
}
