//! A user's operations on one export: `status` and `delete` (downloads
//! are in `download`).
//! Each runs in one transaction on the service's own connection, which
//! locks the log and checks that it is the user's, and follows the seeds'
//! flows: 404 unknown, 403 another user's, then the export's own state.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::db::rows::{audit, lock_owned_log, save_log, StoredLog};
use crate::storage::{delete_files, file_key};
use crate::Result;
use crate::{Actor, DbClient, DbTransaction, ExportFile, ExportService, Secret};
use lora_export_core::audit::ExportStatus;

/// The answer of `GET /status/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportStatusView {
    /// The export.
    pub export_id: Uuid,
    /// Its status; a completed export past its expiry reads `expired`.
    pub status: ExportStatus,
    /// 0–100 while queued or processing, 100 once completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<u8>,
    /// Conversations selected (written, once completed).
    pub conversation_count: u64,
    /// Bytes in the file, once completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_size: Option<u64>,
    /// The file's storage key, once completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_url: Option<String>,
    /// The download file name, once completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// When the file stops being downloadable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// A dataset export's files, once completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<ExportFile>>,
    /// Set while the export waits and no worker has been seen for
    /// [`NO_WORKER_WARNING_AFTER`]: no job was claimed, no running job
    /// beat since it became due, and no worker's loop polled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// How long a due export waits without any sign of a worker before its
/// status says so ([`ExportStatusView::warning`]).
pub const NO_WORKER_WARNING_AFTER: std::time::Duration = std::time::Duration::from_secs(120);

/// What `delete` did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeleteReport {
    /// The export.
    pub export_id: Uuid,
    /// Its status afterwards (`failed` when cancelled, `expired` when it had a file).
    pub status: ExportStatus,
    /// Whether a queued or running job was cancelled.
    pub cancelled: bool,
    /// Whether a file was removed.
    pub file_deleted: bool,
}

impl ExportService {
    /// The status of `user`'s export; marks a completed export past its
    /// expiry as expired (audit `expired`). 403 / 404 as the seeds say.
    pub async fn status(&self, user: impl Actor, export_id: Uuid) -> Result<ExportStatusView> {
        let answer = async { self.status_of(self.admit(&user)?, export_id).await }.await;
        self.observe("status", answer)
    }

    async fn status_of(&self, user: Uuid, export_id: Uuid) -> Result<ExportStatusView> {
        let mut client = self.database().client().await?;
        let tx = client.transaction().await?;
        let stored = lock_owned_log(&tx, user, export_id).await?;
        let stored = expire_if_due(&tx, self.audit_key(), stored).await?;
        let log = &stored.log;
        let mut no_worker = false;
        let progress = match log.status {
            ExportStatus::Queued | ExportStatus::Processing => {
                let row = tx
                    .query_opt(
                        "SELECT progress, status = 'queued'
                           AND run_after < now() - make_interval(secs => $2)
                           AND NOT EXISTS (SELECT 1 FROM export_jobs w
                                           WHERE w.heartbeat_at >= j.run_after
                                             AND w.locked_by NOT LIKE 'sync-%')
                           AND NOT EXISTS (SELECT 1 FROM export_workers w
                                           WHERE w.seen_at >= now() - make_interval(secs => $2))
                         FROM export_jobs j WHERE export_id = $1",
                        &[&export_id, &NO_WORKER_WARNING_AFTER.as_secs_f64()],
                    )
                    .await?;
                no_worker = row.as_ref().is_some_and(|row| row.get(1));
                let p: Option<i32> = row.map(|row| row.get(0));
                Some(p.and_then(|p| u8::try_from(p).ok()).unwrap_or(0))
            }
            ExportStatus::Completed => Some(100),
            ExportStatus::Failed | ExportStatus::Expired => None,
        };
        tx.commit().await?;
        let completed = log.status == ExportStatus::Completed;
        let file_url = match &stored.files {
            None => file_key(&stored)?.as_str().to_owned(),
            Some(_) => format!("{}/{export_id}/", log.user_id),
        };
        Ok(ExportStatusView {
            export_id,
            status: log.status,
            progress,
            conversation_count: log.conversation_count,
            file_size: log.file_size.filter(|_| completed),
            file_url: completed.then_some(file_url),
            file_name: stored.file_name.clone().filter(|_| completed),
            error_message: log.error_message.clone(),
            expires_at: log.expires_at,
            files: stored.files.clone().filter(|_| completed),
            warning: no_worker.then(|| {
                format!(
                    "no worker has been seen for over {} s: queued exports wait for a worker \
                     (run_worker, runWorker() or run_worker() on a host that stays up)",
                    NO_WORKER_WARNING_AFTER.as_secs()
                )
            }),
        })
    }

    /// Deletes `user`'s export: cancels its queued or running job (a running
    /// run stops at its next batch, and cannot complete: completion checks
    /// its lease under the same lock), marks the log deleted — `failed`
    /// ("cancelled") if unfinished, `expired` if it had a file — and, once
    /// that is committed, removes the file. A file that cannot be removed
    /// then stays recorded as not deleted (`file_deleted: false`) and
    /// [`cleanup_expired`](Self::cleanup_expired) removes it later, so a log
    /// never points at a missing file while it is still downloadable.
    /// Audit events stay. 403 / 404.
    ///
    /// Locks are taken in one order everywhere: the log, then its job.
    pub async fn delete(&self, user: impl Actor, export_id: Uuid) -> Result<DeleteReport> {
        let answer = async { self.delete_of(self.admit(&user)?, export_id).await }.await;
        self.observe("delete", answer)
    }

    async fn delete_of(&self, user: Uuid, export_id: Uuid) -> Result<DeleteReport> {
        let mut client = self.database().client().await?;
        let tx = client.transaction().await?;
        let stored = lock_owned_log(&tx, user, export_id).await?;
        let now = Utc::now();
        let cancelled = tx
            .execute(
                "UPDATE export_jobs SET status = 'cancelled', claims = NULL, updated_at = now()
                 WHERE export_id = $1 AND status IN ('queued', 'running')",
                &[&export_id],
            )
            .await?
            > 0;
        let had_file = stored.log.status == ExportStatus::Completed
            || (stored.log.status == ExportStatus::Expired && stored.log.file_url.is_some());
        let log = match stored.log.status {
            ExportStatus::Queued | ExportStatus::Processing => {
                let log = stored.log.fail("cancelled", now)?;
                audit(
                    &tx,
                    self.audit_key(),
                    export_id,
                    user,
                    "cancelled",
                    json!({ "job_cancelled": cancelled }),
                )
                .await?;
                log
            }
            ExportStatus::Completed => stored.log.expire(now)?,
            ExportStatus::Failed | ExportStatus::Expired => stored.log.clone(),
        };
        save_log(&tx, &log).await?;
        tx.execute(
            "UPDATE export_logs SET deleted_at = $2::timestamptz WHERE export_id = $1",
            &[&export_id, &now],
        )
        .await?;
        audit(&tx, self.audit_key(), export_id, user, "deleted", json!({ "had_file": had_file }))
            .await?;
        tx.commit().await?;
        let file_deleted = self.remove_files(&client, &stored).await?;
        Ok(DeleteReport { export_id, status: log.status, cancelled, file_deleted })
    }
}

impl ExportService {
    /// Removes an export's files and records when; false (and the files
    /// left for `cleanup_expired`) when the storage refuses.
    async fn remove_files(&self, client: &DbClient, stored: &StoredLog) -> Result<bool> {
        let export_id = stored.log.export_id;
        let deleted = match delete_files(&**self.storage(), stored).await {
            Ok(deleted) => deleted,
            Err(_) => return Ok(false),
        };
        client
            .execute(
                "UPDATE export_logs SET file_deleted_at = now() WHERE export_id = $1",
                &[&export_id],
            )
            .await?;
        Ok(deleted)
    }
}

/// A completed export past its expiry becomes expired (audit `expired`,
/// sealed with `key`).
pub(super) async fn expire_if_due(
    tx: &DbTransaction<'_>,
    key: Option<&Secret>,
    mut stored: StoredLog,
) -> Result<StoredLog> {
    let now = Utc::now();
    if stored.log.status == ExportStatus::Completed && stored.log.is_expired_at(now) {
        stored.log = stored.log.expire(now)?;
        save_log(tx, &stored.log).await?;
        let detail = json!({ "expires_at": stored.log.expires_at, "reason": "past expiry" });
        audit(tx, key, stored.log.export_id, stored.log.user_id, "expired", detail).await?;
    }
    Ok(stored)
}
