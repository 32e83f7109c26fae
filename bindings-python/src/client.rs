//! `ExportClient`: the database-backed export service.
//!
//! Each operation runs on the client's own tokio runtime while the calling
//! thread waits without the GIL; it checks for signals every 50 ms, so
//! Ctrl-C cancels a database call (and asks a worker to stop after its
//! current job: a second Ctrl-C abandons it).
//!
//! The operations are the Node client's, named in snake_case (the table in
//! `docs/service.md`); `status`, `history` and `delete`, this binding's
//! earlier names, remain as deprecated aliases.

use std::fs::File;
use std::future::Future;
use std::io::{BufReader, Cursor, Read};
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Mutex;
use std::time::Duration;

use lora_export::pg::{
    AuditScope, Caller, Download, DownloadBody, ExportService, HistoryQuery, MigrateOptions,
    ServiceConfig, ServiceOptions, WorkerOptions,
};
use pyo3::exceptions::{PyDeprecationWarning, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyDictMethods, PyString};
use serde::Serialize;
use tokio::runtime::Runtime;
use tokio::sync::watch;
use uuid::Uuid;

use crate::convert::{serialize_to_py, to_json, to_request_json};
use crate::errors::err;
use crate::hooks::Hooks;
use crate::request::instant;
use crate::session::Session;

/// How often a waiting call looks for signals.
const SIGNAL_CHECK: Duration = Duration::from_millis(50);

/// Bytes copied at a time into a Python file object by `download`.
const COPY_CHUNK: usize = 1 << 20;

/// A client of the export service on PostgreSQL: `ExportClient(dsn, **options)`.
///
/// Options (all optional; the service's `ServiceOptions`, in snake_case, each
/// over its `LORA_EXPORT_*` environment variable as in Node): `storage_root`
/// or `storage_url` (`file:///path`, `s3://bucket/prefix` with the `AWS_*`
/// variables), `downloads`, `presign_ttl_secs`, `expiry_hours`, `sync_threshold`,
/// `rate_limit_per_hour`, `retention_days`, `batch_size`, `pool_size`,
/// `max_attempts`, `stale_after` (seconds), `supabase_url`, `jwt_secret`,
/// `audit_key` (else `LORA_EXPORT_AUDIT_KEY`: seals the audit chain),
/// `jwks_url`, `jwks`, `allow_anonymous` (default false: sessions of
/// Supabase's anonymous sign-in are refused), `schema` (the library's own,
/// default `lora_export`),
/// `conversations_table` and `turns_table` (the app's relations to export
/// from, `schema.name`), and the per-user limits `interactive_rate_limit`
/// (per minute), `interactive_concurrency`, `interactive_statement_timeout`
/// (seconds), `downloads_per_user`, `download_idle_timeout` (seconds); the
/// quotas `max_conversations`, `max_file_mb`, `storage_quota_mb`,
/// `max_jobs_per_user`, `max_queued_jobs`.
#[pyclass(module = "lora_export")]
pub struct ExportClient {
    service: Mutex<Option<ExportService>>,
    runtime: Mutex<Option<Runtime>>,
    /// Set by `stop_workers`: every `run_worker` of this client returns
    /// after its current job.
    stop: watch::Sender<bool>,
}

/// The keyword options as the service's `ServiceOptions` (camelCase), over
/// the environment: each snake_case name in camelCase, and the three
/// durations this binding has always taken in seconds under their own names.
fn config_from(dsn: &str, options: Option<&Bound<'_, PyDict>>) -> PyResult<ServiceConfig> {
    let mut json = serde_json::Map::new();
    for (key, value) in options.into_iter().flat_map(|o| o.iter()) {
        let key: String = key.extract()?;
        let (name, value) = match key.as_str() {
            "storage_root" => {
                let path: PathBuf = value.extract()?;
                ("storageRoot".to_owned(), serde_json::json!(path.to_string_lossy()))
            }
            "stale_after" => ("staleAfterSecs".to_owned(), option_json(&key, &value)?),
            "download_idle_timeout" => {
                ("downloadIdleTimeoutSecs".to_owned(), option_json(&key, &value)?)
            }
            "interactive_statement_timeout" => {
                let millis = (value.extract::<f64>()? * 1000.0).round();
                ("interactiveStatementTimeoutMs".to_owned(), serde_json::json!(millis as u64))
            }
            other => (camel_case(other), option_json(other, &value)?),
        };
        json.insert(name, value);
    }
    let options: ServiceOptions = serde_json::from_value(serde_json::Value::Object(json))
        .map_err(|e| PyTypeError::new_err(format!("ExportClient got an unexpected option: {e}")))?;
    let env = |name: &str| std::env::var(name).ok();
    ServiceConfig::from_options(dsn, env, options).map_err(err)
}

/// `rate_limit_per_hour` as `rateLimitPerHour`.
fn camel_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        match c {
            '_' => upper = true,
            c if upper => {
                out.extend(c.to_uppercase());
                upper = false;
            }
            c => out.push(c),
        }
    }
    out
}

fn option_json(key: &str, value: &Bound<'_, PyAny>) -> PyResult<serde_json::Value> {
    to_json(value).map_err(|e| e.into_value_error(key))
}

/// The user of an operation: a verified `Session`'s, or a user id (for
/// trusted code only: never an id taken from a request).
fn user_of(value: &Bound<'_, PyAny>) -> PyResult<Caller> {
    match value.cast::<Session>() {
        Ok(session) => Ok(Caller::Session(session.get().inner.clone())),
        Err(_) => uuid_of(value, "user").map(Caller::User),
    }
}

fn uuid_of(value: &Bound<'_, PyAny>, what: &str) -> PyResult<Uuid> {
    let text = value.str()?;
    let text = text.to_str()?;
    Uuid::parse_str(text).map_err(|e| PyValueError::new_err(format!("{what}: {text:?}: {e}")))
}

/// A request body (a mapping, as the API takes it; absent: `null`) as JSON.
fn body_of(body: Option<&Bound<'_, PyAny>>) -> PyResult<serde_json::Value> {
    match body {
        None => Ok(serde_json::Value::Null),
        Some(body) => to_request_json(body).map_err(|e| e.into_value_error("body")),
    }
}

/// Warns that `old` is deprecated in favour of `new` (an error under `-W error`).
fn deprecated(py: Python<'_>, old: &str, new: &str) -> PyResult<()> {
    let message = format!("ExportClient.{old} is deprecated: use ExportClient.{new}");
    let category = py.get_type::<PyDeprecationWarning>();
    PyErr::warn(py, category.as_any(), &std::ffi::CString::new(message)?, 1)
}

impl ExportClient {
    fn service(&self) -> PyResult<ExportService> {
        self.service
            .lock()
            .map_err(|_| PyRuntimeError::new_err("client state is poisoned"))?
            .clone()
            .ok_or_else(|| PyRuntimeError::new_err("this ExportClient is closed"))
    }

    /// Runs `fut` on the runtime; waits without the GIL, checking signals.
    /// With `stop`, the first signal asks the future to stop and the
    /// interrupt is raised once it has; another signal abandons it.
    fn wait<T, F>(&self, py: Python<'_>, fut: F, stop: Option<watch::Sender<bool>>) -> PyResult<T>
    where
        T: Send + 'static,
        F: Future<Output = lora_export::pg::Result<T>> + Send + 'static,
    {
        let (tx, mut rx) = mpsc::channel();
        let task = {
            let runtime = self
                .runtime
                .lock()
                .map_err(|_| PyRuntimeError::new_err("client state is poisoned"))?;
            let runtime = runtime
                .as_ref()
                .ok_or_else(|| PyRuntimeError::new_err("this ExportClient is closed"))?;
            runtime.spawn(async move {
                let _ = tx.send(fut.await);
            })
        };
        let mut interrupted: Option<PyErr> = None;
        loop {
            let (answer, receiver) = py.detach(move || (rx.recv_timeout(SIGNAL_CHECK), rx));
            rx = receiver;
            match answer {
                Ok(result) => {
                    return match interrupted {
                        Some(interrupt) => Err(interrupt),
                        None => result.map_err(err),
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    // The task panicked: its text went to standard error (the
                    // panic hook); the caller gets an internal error and its id.
                    let error =
                        lora_export::Error::internal("INTERNAL", "a database operation panicked");
                    if let Some(id) = error.error_id() {
                        // A failed write must not panic again (as `eprintln!` would).
                        let line = format!("lora-export: a call panicked (error id {id})\n");
                        let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
                    }
                    return Err(err(error));
                }
            }
            if let Err(signal) = py.check_signals() {
                match (&stop, interrupted.is_some()) {
                    (Some(stop), false) => {
                        stop.send_replace(true);
                        interrupted = Some(signal);
                    }
                    _ => {
                        task.abort();
                        return Err(signal);
                    }
                }
            }
        }
    }
}

/// What `download` answers: the response headers' values.
#[derive(Serialize)]
struct DownloadInfo {
    export_id: Uuid,
    file_name: String,
    content_type: String,
    content_disposition: String,
    /// None for the zip of a dataset export, written as it is sent.
    size: Option<u64>,
    sha256: Option<String>,
}

impl DownloadInfo {
    /// A checked download's headers' values, and its bytes.
    fn split(download: Download) -> (Self, DownloadBody) {
        let Download {
            export_id,
            file_name,
            content_type,
            content_disposition,
            size,
            sha256,
            file,
            ..
        } = download;
        let info =
            DownloadInfo { export_id, file_name, content_type, content_disposition, size, sha256 };
        (info, file)
    }
}

fn to_py<'py, T: Serialize>(py: Python<'py>, value: &T) -> PyResult<Bound<'py, PyAny>> {
    serialize_to_py(py, value)
}

#[pymethods]
impl ExportClient {
    /// Connects lazily to `dsn` (a PostgreSQL URL or `key=value` string):
    /// an unreachable database fails an operation, never the client.
    /// `on_error` receives every error report (default: one JSON line on
    /// stderr; `None` turns it off), `on_event` every metric event.
    #[new]
    #[pyo3(signature = (dsn, **options))]
    fn new(dsn: &str, options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let options = options.map(|o| o.copy()).transpose()?;
        let hooks = Hooks::take(options.as_ref())?;
        let config = config_from(dsn, options.as_ref())?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("lora-export-db")
            .enable_all()
            .build()?;
        let service = {
            let _entered = runtime.enter();
            hooks.attach(ExportService::connect(config).map_err(err)?)
        };
        Ok(ExportClient {
            service: Mutex::new(Some(service)),
            runtime: Mutex::new(Some(runtime)),
            stop: watch::channel(false).0,
        })
    }

    /// Verifies a Supabase access token (HS256 with `jwt_secret`,
    /// ES256/RS256 with the project's JWKS) and returns its `Session`.
    /// Raises `InvalidTokenError` (401) with a `reason`.
    fn verify_session(&self, py: Python<'_>, token: String) -> PyResult<Session> {
        let service = self.service()?;
        let inner = self.wait(py, async move { service.verify_session(&token).await }, None)?;
        Ok(Session { inner })
    }

    /// The `Session` of a request: its `Authorization: Bearer` token, else
    /// the `@supabase/ssr` auth cookie in the `Cookie` header, verified.
    #[pyo3(signature = (authorization=None, cookie=None))]
    fn authenticate(
        &self,
        py: Python<'_>,
        authorization: Option<String>,
        cookie: Option<String>,
    ) -> PyResult<Session> {
        let service = self.service()?;
        let inner = self.wait(
            py,
            async move { service.authenticate(authorization.as_deref(), cookie.as_deref()).await },
            None,
        )?;
        Ok(Session { inner })
    }

    /// Applies pending schema migrations; returns the versions applied.
    /// Creates nothing in `auth`; on a database without Supabase's roles and
    /// `auth` objects it raises (naming them) unless `supabase_stand_ins`
    /// asks for stand-ins (plain PostgreSQL: local development, tests).
    #[pyo3(signature = (*, supabase_stand_ins = false))]
    fn migrate(&self, py: Python<'_>, supabase_stand_ins: bool) -> PyResult<Vec<i32>> {
        let service = self.service()?;
        let options = MigrateOptions { supabase_stand_ins };
        self.wait(py, async move { service.migrate_with(options).await }, None)
    }

    /// The id of the `auth.users` user with `email`, created when there is
    /// none: a test user for a local or development database (on a hosted
    /// Supabase project, create users with Supabase Auth instead).
    fn create_dev_user(&self, py: Python<'_>, email: String) -> PyResult<String> {
        let service = self.service()?;
        let id = self.wait(py, async move { service.create_dev_user(&email).await }, None)?;
        Ok(id.to_string())
    }

    /// Loads canonical JSONL conversations (a path or `bytes`) into the
    /// database. Returns `{"imported", "skipped"}`.
    fn import_conversations<'py>(
        &self,
        py: Python<'py>,
        source: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let service = self.service()?;
        let summary = if let Ok(bytes) = source.cast::<PyBytes>() {
            let data = Cursor::new(bytes.as_bytes().to_vec());
            self.wait(py, async move { service.import_conversations(data).await }, None)?
        } else if source.is_instance_of::<PyString>() || source.hasattr("__fspath__")? {
            let path: PathBuf = source.extract()?;
            let reader = BufReader::with_capacity(256 * 1024, File::open(path)?);
            self.wait(py, async move { service.import_conversations(reader).await }, None)?
        } else {
            return Err(PyTypeError::new_err("source must be a path or bytes of canonical JSONL"));
        };
        to_py(py, &summary)
    }

    /// Creates an export for `user` (a `Session`, or a user id from trusted code) from a request body (a mapping, as
    /// the API takes it). Returns the outcome: `completed` (201) with the
    /// file's details, or `queued` (202): `status` is the export's, `http_status` the HTTP one.
    fn create_export<'py>(
        &self,
        py: Python<'py>,
        user: &Bound<'py, PyAny>,
        body: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let user = user_of(user)?;
        let body = to_request_json(body).map_err(|e| e.into_value_error("body"))?;
        let service = self.service()?;
        let outcome =
            self.wait(py, async move { service.create_export(user, &body).await }, None)?;
        to_py(py, &outcome)
    }

    /// The status of `user`'s export `export_id`, with progress while it
    /// runs (`ForbiddenError` for another user's export, `NotFoundError`
    /// for an unknown one).
    fn get_status<'py>(
        &self,
        py: Python<'py>,
        user: &Bound<'py, PyAny>,
        export_id: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (user, export) = (user_of(user)?, uuid_of(export_id, "export_id")?);
        let service = self.service()?;
        let view = self.wait(py, async move { service.status(user, export).await }, None)?;
        to_py(py, &view)
    }

    /// Writes the export's file into `dest` (a path or a binary file
    /// object). A dataset export is one zip of all its files, streamed as
    /// it is written (``size`` and ``sha256`` are None), or with ``file``
    /// the one file of that manifest name (``"README.md"``). Returns
    /// `{"export_id", "file_name", "content_type", "content_disposition",
    /// "size", "sha256"}`.
    #[pyo3(signature = (user, export_id, dest, *, file=None))]
    fn download<'py>(
        &self,
        py: Python<'py>,
        user: &Bound<'py, PyAny>,
        export_id: &Bound<'py, PyAny>,
        dest: &Bound<'py, PyAny>,
        file: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (user, export) = (user_of(user)?, uuid_of(export_id, "export_id")?);
        let service = self.service()?;
        let to_path = dest.is_instance_of::<PyString>() || dest.hasattr("__fspath__")?;
        if !to_path && !dest.hasattr("write")? {
            return Err(PyTypeError::new_err("dest must be a path or a binary file object"));
        }
        let target: Option<PathBuf> = if to_path { Some(dest.extract()?) } else { None };
        let (info, file) = self.wait(
            py,
            async move {
                let download = match file {
                    Some(name) => service.open_file(user, export, &name).await?,
                    None => service.open_download(user, export).await?,
                };
                let (info, mut file) = DownloadInfo::split(download);
                let Some(path) = target else {
                    // Read chunk by chunk into the Python file object below
                    // (a zip is written as it is read).
                    let reader = file.into_blocking();
                    return Ok((info, Some(reader)));
                };
                let mut out = tokio::fs::File::create(&path).await?;
                let copied = tokio::io::copy(&mut file, &mut out).await;
                if let Err(e) = copied.and(out.sync_all().await) {
                    let _ = tokio::fs::remove_file(&path).await;
                    return Err(e.into());
                }
                Ok((info, None))
            },
            None,
        )?;
        if let Some(mut file) = file {
            let mut chunk = vec![0; COPY_CHUNK];
            loop {
                let n = py.detach(|| file.read(&mut chunk))?;
                if n == 0 {
                    break;
                }
                dest.call_method1("write", (PyBytes::new(py, &chunk[..n]),))?;
                py.check_signals()?;
            }
        }
        to_py(py, &info)
    }

    /// A page of `user`'s exports, newest first. `query` takes `format`,
    /// `status`, `from`, `to`, `page`, `limit`.
    #[pyo3(signature = (user, query=None))]
    fn list_history<'py>(
        &self,
        py: Python<'py>,
        user: &Bound<'py, PyAny>,
        query: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let user = user_of(user)?;
        let query = match query {
            None => HistoryQuery::default(),
            Some(q) => {
                let json = to_request_json(q).map_err(|e| e.into_value_error("query"))?;
                HistoryQuery::parse(&json).map_err(err)?
            }
        };
        let service = self.service()?;
        let page = self.wait(py, async move { service.history(user, &query).await }, None)?;
        to_py(py, &page)
    }

    /// Deletes `user`'s export (cancelling it when queued or running).
    fn delete_export<'py>(
        &self,
        py: Python<'py>,
        user: &Bound<'py, PyAny>,
        export_id: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (user, export) = (user_of(user)?, uuid_of(export_id, "export_id")?);
        let service = self.service()?;
        let report = self.wait(py, async move { service.delete(user, export).await }, None)?;
        to_py(py, &report)
    }

    /// Deprecated alias of `get_status`.
    fn status<'py>(
        &self,
        py: Python<'py>,
        user: &Bound<'py, PyAny>,
        export_id: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        deprecated(py, "status", "get_status")?;
        self.get_status(py, user, export_id)
    }

    /// Deprecated alias of `list_history`.
    #[pyo3(signature = (user, query=None))]
    fn history<'py>(
        &self,
        py: Python<'py>,
        user: &Bound<'py, PyAny>,
        query: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        deprecated(py, "history", "list_history")?;
        self.list_history(py, user, query)
    }

    /// Deprecated alias of `delete_export`.
    fn delete<'py>(
        &self,
        py: Python<'py>,
        user: &Bound<'py, PyAny>,
        export_id: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        deprecated(py, "delete", "delete_export")?;
        self.delete_export(py, user, export_id)
    }

    /// A page of the conversations `user` can read, newest first: `body` is
    /// `{"filters"?, "page"?, "limit"?}` (filters as an export request's;
    /// limit 1–100, default 25). `ValidationError` with `issues` at their paths.
    #[pyo3(signature = (user, body=None))]
    fn list_conversations<'py>(
        &self,
        py: Python<'py>,
        user: &Bound<'py, PyAny>,
        body: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (user, body) = (user_of(user)?, body_of(body)?);
        let service = self.service()?;
        let page =
            self.wait(py, async move { service.list_conversations(user, &body).await }, None)?;
        to_py(py, &page)
    }

    /// How many conversations each scope would export for `body`
    /// (`{"conversationIds"?, "filters"?}`), counted by the export's own SQL:
    /// `{"selected", "filtered", "all", "all_data"}`.
    #[pyo3(signature = (user, body=None))]
    fn count_scopes<'py>(
        &self,
        py: Python<'py>,
        user: &Bound<'py, PyAny>,
        body: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (user, body) = (user_of(user)?, body_of(body)?);
        let service = self.service()?;
        let counts = self.wait(py, async move { service.count_scopes(user, &body).await }, None)?;
        to_py(py, &counts)
    }

    /// The first `n` (1–10) conversations the export request `body`
    /// selects, rendered exactly as the export writes them:
    /// `{"format", "preview", "count"}`. Logs nothing.
    #[pyo3(signature = (user, body, *, n=3))]
    fn preview_export<'py>(
        &self,
        py: Python<'py>,
        user: &Bound<'py, PyAny>,
        body: &Bound<'py, PyAny>,
        n: u32,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (user, body) = (user_of(user)?, body_of(Some(body))?);
        let service = self.service()?;
        let preview =
            self.wait(py, async move { service.preview_export(user, &body, n).await }, None)?;
        to_py(py, &preview)
    }

    /// A new export from `user`'s failed or expired export's stored
    /// request, answered like `create_export` (and rate-limited like it).
    /// `NotRetryableError` (409) for one that is queued, processing or completed.
    fn retry_export<'py>(
        &self,
        py: Python<'py>,
        user: &Bound<'py, PyAny>,
        export_id: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (user, export) = (user_of(user)?, uuid_of(export_id, "export_id")?);
        let service = self.service()?;
        let outcome =
            self.wait(py, async move { service.retry_export(user, export).await }, None)?;
        to_py(py, &outcome)
    }

    /// What `download` would answer — the same checks and errors, the same
    /// values — without counting a download or reading the file (the answer
    /// to `HEAD`); with ``file`` of that one file of a dataset export.
    #[pyo3(signature = (user, export_id, *, file=None))]
    fn inspect_download<'py>(
        &self,
        py: Python<'py>,
        user: &Bound<'py, PyAny>,
        export_id: &Bound<'py, PyAny>,
        file: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (user, export) = (user_of(user)?, uuid_of(export_id, "export_id")?);
        let service = self.service()?;
        let download = self.wait(
            py,
            async move {
                match file {
                    Some(name) => service.inspect_file(user, export, &name).await,
                    None => service.inspect_download(user, export).await,
                }
            },
            None,
        )?;
        to_py(py, &DownloadInfo::split(download).0)
    }

    /// The audit trail as CSV text (header `created_at,export_id,user_id,
    /// seq,event,detail,prev_hash,hash`, oldest first): the user's own, or
    /// with ``all_users=True`` every user's, for an administrator's session
    /// only (else `AdminRequiredError`, 403).
    #[pyo3(signature = (user, *, all_users=false))]
    fn audit_trail_csv(
        &self,
        py: Python<'_>,
        user: &Bound<'_, PyAny>,
        all_users: bool,
    ) -> PyResult<String> {
        let user = user_of(user)?;
        let scope = if all_users { AuditScope::AllUsers } else { AuditScope::Own };
        let service = self.service()?;
        self.wait(
            py,
            async move {
                let csv = service.audit_trail_csv(user, scope).await?;
                String::from_utf8(csv)
                    .map_err(|e| lora_export::Error::internal("CSV_ERROR", e.to_string()).into())
            },
            None,
        )
    }

    /// Runs queued export jobs until `max_jobs` were claimed (forever
    /// without it; Ctrl-C stops after the current job). Returns the
    /// worker's report.
    #[pyo3(signature = (worker_id, *, max_jobs=None, poll_interval=1.0, throttle=None))]
    fn run_worker<'py>(
        &self,
        py: Python<'py>,
        worker_id: &str,
        max_jobs: Option<u64>,
        poll_interval: f64,
        throttle: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let poll = Duration::try_from_secs_f64(poll_interval)
            .map_err(|e| PyValueError::new_err(format!("poll_interval: {e}")))?;
        let throttle = throttle
            .map(Duration::try_from_secs_f64)
            .transpose()
            .map_err(|e| PyValueError::new_err(format!("throttle: {e}")))?;
        // One stop for this worker: Ctrl-C (in `wait`) or `stop_workers`.
        let (stop, stopped) = watch::channel(false);
        let (forward, mut asked) = (stop.clone(), self.stop.subscribe());
        let mut options = WorkerOptions::new(worker_id);
        options.max_jobs = max_jobs;
        options.poll_interval = poll;
        options.throttle = throttle;
        options.stop = Some(stopped);
        let service = self.service()?;
        let run = async move {
            let run = service.run_worker(options);
            tokio::pin!(run);
            tokio::select! {
                biased;
                Ok(()) = async { asked.wait_for(|stop| *stop).await.map(drop) } => {
                    forward.send_replace(true);
                }
                report = &mut run => return report,
            }
            run.await
        };
        let report = self.wait(py, run, Some(stop))?;
        to_py(py, &report)
    }

    /// Asks every `run_worker` of this client (on other threads) to return
    /// after its current job; one started afterwards returns at once.
    fn stop_workers(&self) {
        self.stop.send_replace(true);
    }

    /// Runs up to `limit` queued jobs now; returns how many ran.
    fn process_jobs(&self, py: Python<'_>, limit: u64) -> PyResult<u64> {
        let service = self.service()?;
        self.wait(py, async move { service.process_jobs(limit).await }, None)
    }

    /// Runs the maintenance tasks whose latest scheduled period nobody has
    /// run yet (each period runs once across every process), as `worker_id`
    /// (default `python-cron-<pid>`): the call for a cron job when no
    /// long-running worker runs them. Returns the runs made.
    #[pyo3(signature = (worker_id=None))]
    fn run_due_maintenance<'py>(
        &self,
        py: Python<'py>,
        worker_id: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = worker_id.unwrap_or_else(|| format!("python-cron-{}", std::process::id()));
        let service = self.service()?;
        let runs = self.wait(py, async move { service.run_due_maintenance(&id).await }, None)?;
        to_py(py, &runs)
    }

    /// Marks expired exports and removes their files.
    fn cleanup_expired<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let service = self.service()?;
        let report = self.wait(py, async move { service.cleanup_expired().await }, None)?;
        to_py(py, &report)
    }

    /// Deletes export logs and audit events past the retention window.
    fn purge_old_logs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let service = self.service()?;
        let report = self.wait(py, async move { service.purge_old_logs().await }, None)?;
        to_py(py, &report)
    }

    /// Export metrics since `since` (an aware `datetime` or RFC 3339 text).
    fn metrics<'py>(
        &self,
        py: Python<'py>,
        since: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let since = instant(since, "since")?;
        let service = self.service()?;
        let report = self.wait(py, async move { service.metrics(since).await }, None)?;
        to_py(py, &report)
    }

    /// The metrics of the last hour in the Prometheus text exposition
    /// format (`text/plain; version=0.0.4`): the numbers of `metrics()`.
    fn prometheus_metrics(&self, py: Python<'_>) -> PyResult<String> {
        let service = self.service()?;
        self.wait(py, async move { service.prometheus_metrics().await }, None)
    }

    /// Records one answered request of the app's route layer: its route
    /// name (letters, digits, `_`; at most 32 names, the rest count as
    /// `other`), HTTP status and duration in seconds; `metrics()` reports
    /// them as `requests`.
    fn record_request(&self, route: &str, status: u16, seconds: f64) -> PyResult<()> {
        let elapsed = std::time::Duration::try_from_secs_f64(seconds)
            .map_err(|e| PyValueError::new_err(format!("seconds: {e}")))?;
        self.service()?.record_request(route, status, elapsed);
        Ok(())
    }

    /// The service's health, safe to expose from a health endpoint: `ok`,
    /// `database`, `migrations_current`, `schema_version`, `latest_version`,
    /// `worker_seen_at`, and `problem` (a code and an error id; the cause
    /// goes to `on_error`). Never raises for the database.
    fn health<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let service = self.service()?;
        let health = self.wait(py, async move { Ok(service.health().await) }, None)?;
        to_py(py, &health)
    }

    /// Closes the connection pool; the client cannot be used afterwards.
    fn close(&self) -> PyResult<()> {
        let service = self.service.lock().map_err(|_| PyRuntimeError::new_err("poisoned"))?.take();
        drop(service);
        if let Some(runtime) =
            self.runtime.lock().map_err(|_| PyRuntimeError::new_err("poisoned"))?.take()
        {
            runtime.shutdown_background();
        }
        Ok(())
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, _exc: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.close()?;
        Ok(false)
    }
}
