//! `create_export`: validate, rate limit, count, log, then run now or queue.

use lora_export_core::ErrorKind as CoreKind;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::db::rows::audit;
use std::time::Instant;

use crate::db::source::count_selected;
use crate::db::{act_as_service, act_as_user};
use crate::jobs::run::{elapsed_ms, Lease, RunEnd, RunTarget};
use crate::{Actor, CompletedExport, ExportService, MetricEvent};
use crate::{ErrorKind, Result};
use lora_export_core::audit::safe_error_message;
use lora_export_core::model::ExportRequest;
use lora_export_core::request::validate_table_request;

/// What `create_export` answered, ready to serialize for an API response:
/// `status` is the export's status (`completed` or `queued`), as in every
/// other answer; `http_status` the HTTP status to answer with.
///
/// ```
/// use lora_export_service::CreateOutcome;
/// let queued = CreateOutcome::Queued { http_status: 202, export_id: uuid::Uuid::nil() };
/// assert_eq!(queued.http_status(), 202);
/// assert_eq!(
///     serde_json::to_value(&queued).unwrap(),
///     serde_json::json!({"status": "queued", "http_status": 202, "export_id": uuid::Uuid::nil()})
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CreateOutcome {
    /// Small enough to run at once: the file is ready (HTTP 201).
    Completed {
        /// 201.
        http_status: u16,
        /// The file's details.
        #[serde(flatten)]
        export: Box<CompletedExport>,
    },
    /// Queued for a background worker (HTTP 202); poll its status.
    Queued {
        /// 202.
        http_status: u16,
        /// The export to poll.
        export_id: Uuid,
    },
}

impl CreateOutcome {
    /// The HTTP status to answer with (201 or 202).
    pub fn http_status(&self) -> u16 {
        match self {
            CreateOutcome::Completed { http_status, .. }
            | CreateOutcome::Queued { http_status, .. } => *http_status,
        }
    }

    /// The export's id.
    pub fn export_id(&self) -> Uuid {
        match self {
            CreateOutcome::Completed { export, .. } => export.export_id,
            CreateOutcome::Queued { export_id, .. } => *export_id,
        }
    }
}

impl ExportService {
    /// Creates an export for `user` from an untrusted request body.
    ///
    /// Errors: 400 with every validation issue, 400 `NO_CONVERSATIONS` when
    /// the request selects no conversation (nothing is logged), 413
    /// `EXPORT_TOO_LARGE` past `max_conversations` (or, from the run, past
    /// `max_file_bytes`), 429 `STORAGE_QUOTA_EXCEEDED` when the user's files
    /// reach `storage_quota_bytes`, 429 `QUEUE_FULL` past `max_jobs_per_user`
    /// or `max_queued_jobs`, 401 for a user the project
    /// does not know, 429 with retry-after when the user made
    /// `rate_limit_per_hour` requests in the past hour (held in the database,
    /// across processes), 409 when a synchronous run fails, 503 (with
    /// `Retry-After`) when the database fails during it. Fewer than
    /// `sync_threshold` conversations run now (201); larger exports are
    /// queued for a worker (202). A synchronous run holds a job lease like a
    /// worker's: if its process dies, a worker rescues it after
    /// `stale_after`.
    pub async fn create_export(&self, user: impl Actor, body: &Value) -> Result<CreateOutcome> {
        let answer =
            async { self.create(self.admit(&user)?, user.claims(), body, None).await }.await;
        self.observe("create_export", answer)
    }

    /// [`create_export`](Self::create_export); with `retry_of`, the new
    /// export is a retry of that one, whose trail records it (`retried`) in
    /// the transaction that logs the new export.
    pub(super) async fn create(
        &self,
        user: Uuid,
        claims: Option<&Value>,
        body: &Value,
        retry_of: Option<Uuid>,
    ) -> Result<CreateOutcome> {
        let request = validate_table_request(body).map_err(CoreKind::InvalidRequest)?;
        let received = Instant::now();
        let logged = self.log_request(user, claims, &request, retry_of).await?;
        self.emit(&MetricEvent {
            timestamp: chrono::Utc::now(),
            export_id: logged.export_id,
            user_id: user,
            format: request.config.format.as_str().to_owned(),
            duration_ms: elapsed_ms(received),
            file_size: 0,
            conversation_count: logged.count,
            status: "created".into(),
        });
        let Some(lease) = logged.lease else {
            return Ok(CreateOutcome::Queued { http_status: 202, export_id: logged.export_id });
        };
        let export_id = logged.export_id;
        let target = RunTarget { export_id, user_id: user, lease, claims: claims.cloned() };
        let started = Instant::now();
        let message = match self.run_export(&target, &request).await {
            Ok(RunEnd::Completed(export)) => {
                return Ok(CreateOutcome::Completed { http_status: 201, export })
            }
            Ok(RunEnd::Stopped) => "cancelled".to_owned(),
            Err(e) => {
                let e = self
                    .observe_attempt("create_export", export_id, 1, Err::<(), _>(e))
                    .unwrap_err();
                let recorded = self.record_failure(&target, &e, elapsed_ms(started)).await;
                if e.is_database_failure() {
                    // Reported; a worker rescues the run when it could not be recorded.
                    let _ = self.observe("create_export", recorded);
                    return Err(database_failed(export_id, &e));
                }
                recorded?;
                if matches!(e.kind(), ErrorKind::ExportTooLarge { .. }) {
                    return Err(e);
                }
                safe_error_message(&e.to_string())
            }
        };
        Err(ErrorKind::ExportFailed { id: export_id.to_string(), message }.into())
    }

    /// In one transaction on the service's connection: the user exists, the
    /// rate limit, the count (read as the user), the log and its `requested`
    /// event, the `retried` event of the export it retries, and the job —
    /// queued for a worker, or running under this process's lease for a
    /// synchronous run.
    ///
    /// The job keeps the verified token's claims (not the token: it is a
    /// credential) so that a worker reads as the user with the claims the
    /// request was made with; only the service reads `export_jobs`.
    async fn log_request(
        &self,
        user: Uuid,
        claims: Option<&Value>,
        request: &ExportRequest,
        retry_of: Option<Uuid>,
    ) -> Result<Logged> {
        self.check_source().await?;
        let config = self.config();
        let mut client = self.database().client().await?;
        let tx = client.transaction().await?;
        let known: bool = tx.query_one("SELECT export_user_exists($1)", &[&user]).await?.get(0);
        if !known {
            return Err(ErrorKind::UnknownUser(user.to_string()).into());
        }
        let limit = i32::try_from(config.rate_limit_per_hour).unwrap_or(i32::MAX);
        let wait: i32 = tx
            .query_one("SELECT export_rate_limit_wait($1, $2, interval '1 hour')", &[&user, &limit])
            .await?
            .get(0);
        if wait > 0 {
            return Err(ErrorKind::RateLimited {
                limit: config.rate_limit_per_hour,
                retry_after_secs: u64::try_from(wait).unwrap_or(1),
            }
            .into());
        }
        act_as_user(&tx, user, claims).await?;
        let count = count_selected(&tx, request, self.source_tables()).await?;
        act_as_service(&tx).await?;
        if count == 0 {
            // Nothing was written yet: the transaction rolls back unlogged.
            return Err(CoreKind::NoConversations(
                "the export's scope, filters and ids match none; nothing was logged or written",
            )
            .into());
        }
        let queued = count >= u64::from(config.sync_threshold);
        admit_job(&tx, config, user, count, queued).await?;
        let count_sql = i32::try_from(count).unwrap_or(i32::MAX);
        let export_id: Uuid = tx
            .query_one(
                "INSERT INTO export_logs (user_id, format, config, request, conversation_count, status)
                 VALUES ($1, $2, $3, $4, $5, 'queued') RETURNING export_id",
                &[
                    &user,
                    &request.config.format.as_str(),
                    &serde_json::to_value(&request.config)?,
                    &serde_json::to_value(request)?,
                    &count_sql,
                ],
            )
            .await?
            .get(0);
        let detail = json!({
            "format": request.config.format,
            "scope": request.config.scope,
            "conversation_count": count,
            "mode": if queued { "background" } else { "sync" },
        });
        audit(&tx, self.audit_key(), export_id, user, "requested", detail).await?;
        if let Some(old) = retry_of {
            let detail = json!({ "retry_export_id": export_id });
            audit(&tx, self.audit_key(), old, user, "retried", detail).await?;
        }
        let attempts = i32::try_from(config.max_attempts).unwrap_or(i32::MAX);
        let source = self.source_tables().names();
        let lease = if queued {
            tx.execute(
                "INSERT INTO export_jobs (export_id, status, total_items, max_attempts, claims,
                   source)
                 VALUES ($1, 'queued', $2, $3, $4, $5)",
                &[&export_id, &count_sql, &attempts, &claims, &source],
            )
            .await?;
            audit(
                &tx,
                self.audit_key(),
                export_id,
                user,
                "queued",
                json!({ "total_items": count }),
            )
            .await?;
            None
        } else {
            let worker_id = format!("sync-{}-{}", std::process::id(), Uuid::new_v4().simple());
            let job_id: Uuid = tx
                .query_one(
                    "INSERT INTO export_jobs (export_id, status, total_items, max_attempts,
                       attempts, locked_by, heartbeat_at, claims, source)
                     VALUES ($1, 'running', $2, $3, 1, $4, now(), $5, $6) RETURNING id",
                    &[&export_id, &count_sql, &attempts, &worker_id, &claims, &source],
                )
                .await?
                .get(0);
            Some(Lease { job_id, worker_id, total_items: count, attempt: 1, throttle: None })
        };
        tx.commit().await?;
        Ok(Logged { export_id, lease, count })
    }
}

/// Seconds a client is told to wait when the queue is full: about what a
/// worker takes to claim and run a job of the threshold's size.
const QUEUE_RETRY_AFTER_SECS: u64 = 30;

/// The limits of a new export, checked in its transaction after the rate
/// limit (which holds the user's advisory lock, so one user's requests are
/// checked one at a time): its size, the user's stored bytes, the user's
/// jobs and — for a queued one, under a lock of its own — the queue.
async fn admit_job(
    tx: &crate::db::DbTransaction<'_>,
    config: &crate::ServiceConfig,
    user: Uuid,
    count: u64,
    queued: bool,
) -> Result<()> {
    if count > u64::from(config.max_conversations) {
        let what = format!(
            "{count} conversations selected, at most {} per export",
            config.max_conversations
        );
        return Err(ErrorKind::ExportTooLarge { what }.into());
    }
    let stored = tx
        .query_one(
            "SELECT COALESCE(sum(file_size), 0)::bigint,
                    COALESCE(ceil(extract(epoch FROM min(expires_at) - now())), 1)::bigint
             FROM export_logs
             WHERE user_id = $1 AND status = 'completed' AND deleted_at IS NULL
               AND (expires_at IS NULL OR expires_at > now())",
            &[&user],
        )
        .await?;
    let used = u64::try_from(stored.get::<_, i64>(0)).unwrap_or(0);
    if used >= config.storage_quota_bytes {
        return Err(ErrorKind::StorageQuotaExceeded {
            used,
            quota: config.storage_quota_bytes,
            retry_after_secs: u64::try_from(stored.get::<_, i64>(1)).unwrap_or(1).max(1),
        }
        .into());
    }
    let jobs: i64 = tx
        .query_one(
            "SELECT count(*) FROM export_jobs j JOIN export_logs l USING (export_id)
             WHERE l.user_id = $1 AND j.status IN ('queued', 'running')",
            &[&user],
        )
        .await?
        .get(0);
    if jobs >= i64::from(config.max_jobs_per_user) {
        let what = format!("{} exports of a user queued or running", config.max_jobs_per_user);
        return Err(queue_full(what));
    }
    if queued {
        tx.execute("SELECT pg_advisory_xact_lock(hashtextextended('lora_export.queue', 0))", &[])
            .await?;
        let waiting: i64 = tx
            .query_one("SELECT count(*) FROM export_jobs WHERE status = 'queued'", &[])
            .await?
            .get(0);
        if waiting >= i64::from(config.max_queued_jobs) {
            let what = format!("{} exports waiting for a worker", config.max_queued_jobs);
            return Err(queue_full(what));
        }
    }
    Ok(())
}

fn queue_full(what: String) -> crate::Error {
    ErrorKind::QueueFull { what, retry_after_secs: QUEUE_RETRY_AFTER_SECS }.into()
}

/// The answer to a synchronous run the database failed: 503, to be retried.
fn database_failed(export_id: Uuid, error: &crate::Error) -> crate::Error {
    let why = match (error.error_id(), error.kind()) {
        (Some(id), _) => format!("error id {id}"),
        (None, ErrorKind::Unavailable { reason, .. }) => reason.clone(),
        (None, _) => error.code().to_owned(),
    };
    ErrorKind::Unavailable {
        reason: format!("the database failed while export {export_id} ran ({why})"),
        retry_after_secs: 5,
    }
    .into()
}

/// A logged request: its export, and the lease of a synchronous run.
struct Logged {
    export_id: Uuid,
    lease: Option<Lease>,
    /// Conversations the request selected.
    count: u64,
}
