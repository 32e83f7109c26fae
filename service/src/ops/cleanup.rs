//! The seeds' cron jobs as functions an app's scheduler calls:
//! `mark_expired_exports`, `cleanup_expired` (expired-file sweep) and
//! `purge_old_logs` (retention). They run with the service's privileges.

use std::collections::HashSet;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::rows::{seal_events, stored_log, LOG_COLUMNS};
use crate::storage::delete_files;
use crate::ExportService;
use crate::Result;

/// What an expired-file sweep did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CleanupReport {
    /// Completed exports past their expiry, now marked expired.
    pub marked_expired: u64,
    /// Files removed (or already gone) of expired and failed exports, and
    /// of export logs deleted before their files were (a user deleted from
    /// `auth.users` takes their logs with them).
    pub files_deleted: u64,
    /// Staged files and uploads of writers whose lease expired (no running
    /// job of their export heartbeat within `stale_after`), untouched for
    /// `stale_after`.
    pub staged_files_deleted: u64,
    /// Files that could not be removed; the sweep went on and retries them next time.
    pub failures: Vec<CleanupFailure>,
}

/// One file the sweep could not remove.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CleanupFailure {
    /// The export.
    pub export_id: Uuid,
    /// Why.
    pub error: String,
}

/// What a retention purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgeReport {
    /// Export logs (and their jobs) older than the retention window.
    pub logs_deleted: u64,
    /// Audit events older than the retention window.
    pub audit_events_deleted: u64,
}

impl ExportService {
    /// Marks every completed export past its expiry as expired, each with an
    /// `expired` audit event, in one statement. Returns how many.
    pub async fn mark_expired_exports(&self) -> Result<u64> {
        let answer = self.mark_expired().await;
        self.observe("mark_expired_exports", answer)
    }

    async fn mark_expired(&self) -> Result<u64> {
        let mut client = self.database().client().await?;
        let tx = client.transaction().await?;
        let events = tx
            .query(
                "WITH expired AS (
                   UPDATE export_logs SET status = 'expired', updated_at = now()
                   WHERE status = 'completed' AND expires_at < now()
                   RETURNING export_id, user_id, expires_at)
                 INSERT INTO export_audit_events (export_id, user_id, event, detail, seq, hash)
                 SELECT export_id, user_id, 'expired',
                        jsonb_build_object('expires_at', expires_at, 'reason', 'cleanup'), 0, ''
                 FROM expired
                 RETURNING id, hash",
                &[],
            )
            .await?;
        seal_events(&tx, self.audit_key(), &events).await?;
        tx.commit().await?;
        Ok(events.len() as u64)
    }

    /// Marks expired exports, then removes the files of every expired or
    /// failed export whose file is not recorded as removed (a failed run
    /// whose process died after its file appeared leaves one), continuing
    /// past individual failures, and the staged files that writers whose
    /// lease expired left behind: a run that heartbeats keeps its staged
    /// files and uploads through any number of sweeps, however long it runs.
    /// Each file is the one its owner, id and format name. The files of
    /// logs deleted before their files were (deleting a user from
    /// `auth.users` deletes their logs) are queued in
    /// `export_file_removals` by a trigger and removed here too.
    pub async fn cleanup_expired(&self) -> Result<CleanupReport> {
        let answer = self.cleanup().await;
        self.observe("cleanup_expired", answer)
    }

    async fn cleanup(&self) -> Result<CleanupReport> {
        let mut report =
            CleanupReport { marked_expired: self.mark_expired().await?, ..Default::default() };
        let client = self.database().client().await?;
        let stale_after = self.config().stale_after;
        // Stale means the lease expired: no file of a run whose job still
        // heartbeats is removed, whatever its log says.
        let rows = client
            .query(
                &format!(
                    "SELECT {LOG_COLUMNS} FROM export_logs l
                     WHERE status IN ('expired', 'failed') AND file_deleted_at IS NULL
                       AND NOT EXISTS (
                         SELECT 1 FROM export_jobs j
                         WHERE j.export_id = l.export_id AND j.status = 'running'
                           AND j.heartbeat_at >= now() - make_interval(secs => $1))"
                ),
                &[&stale_after.as_secs_f64()],
            )
            .await?;
        for row in rows {
            let stored = stored_log(&row)?;
            let export_id = stored.log.export_id;
            let removed = delete_files(&**self.storage(), &stored).await;
            match removed {
                Ok(deleted) => {
                    client
                        .execute(
                            "UPDATE export_logs SET file_deleted_at = now() WHERE export_id = $1",
                            &[&export_id],
                        )
                        .await?;
                    report.files_deleted += u64::from(deleted || stored.log.file_url.is_some());
                }
                Err(e) => report.failures.push(CleanupFailure { export_id, error: e.to_string() }),
            }
        }
        // Logs deleted with their files (a user deleted from auth.users):
        // the trigger kept each row; a file removed, its row goes.
        let removals = client
            .query(
                &format!(
                    "SELECT {LOG_COLUMNS} FROM (SELECT (jsonb_populate_record(
                       NULL::export_logs, log)).* FROM export_file_removals) l"
                ),
                &[],
            )
            .await?;
        for row in removals {
            let stored = stored_log(&row)?;
            let export_id = stored.log.export_id;
            match delete_files(&**self.storage(), &stored).await {
                Ok(deleted) => {
                    client
                        .execute(
                            "DELETE FROM export_file_removals WHERE export_id = $1",
                            &[&export_id],
                        )
                        .await?;
                    report.files_deleted += u64::from(deleted);
                }
                Err(e) => report.failures.push(CleanupFailure { export_id, error: e.to_string() }),
            }
        }
        // Likewise the staged files of a run whose job heartbeats are kept
        // whatever their age. The cutoff is taken before the leases are
        // read, so a run that claims its job after the read has only files
        // newer than the cutoff.
        let untouched_since = SystemTime::now() - stale_after;
        let live: HashSet<Uuid> = client
            .query(
                "SELECT export_id FROM export_jobs
                 WHERE status = 'running' AND heartbeat_at >= now() - make_interval(secs => $1)",
                &[&stale_after.as_secs_f64()],
            )
            .await?
            .iter()
            .map(|row| row.get(0))
            .collect();
        report.staged_files_deleted = self.storage().sweep_staged(untouched_since, &live).await?;
        Ok(report)
    }

    /// Deletes export logs (with their jobs) and audit events older than
    /// `retention_days`. Unfinished exports are kept, and so is a log whose
    /// file could not be removed (the next purge retries): the files of the
    /// logs to purge are removed first. Audit events go only through
    /// `export_audit_purge`, which leaves an anchor so the rest of each
    /// chain still verifies.
    pub async fn purge_old_logs(&self) -> Result<PurgeReport> {
        let answer = self.purge().await;
        self.observe("purge_old_logs", answer)
    }

    async fn purge(&self) -> Result<PurgeReport> {
        let days = i32::try_from(self.config().retention_days).unwrap_or(i32::MAX);
        let client = self.database().client().await?;
        let old = client
            .query(
                &format!(
                    "SELECT {LOG_COLUMNS} FROM export_logs
                     WHERE created_at < now() - make_interval(days => $1)
                       AND status NOT IN ('queued', 'processing') AND file_deleted_at IS NULL"
                ),
                &[&days],
            )
            .await?;
        for row in old {
            let stored = stored_log(&row)?;
            if delete_files(&**self.storage(), &stored).await.is_ok() {
                client
                    .execute(
                        "UPDATE export_logs SET file_deleted_at = now() WHERE export_id = $1",
                        &[&stored.log.export_id],
                    )
                    .await?;
            }
        }
        let audit_events_deleted: i64 =
            client.query_one("SELECT export_audit_purge($1)", &[&days]).await?.get(0);
        let logs_deleted = client
            .execute(
                "DELETE FROM export_logs WHERE created_at < now() - make_interval(days => $1)
                   AND status NOT IN ('queued', 'processing') AND file_deleted_at IS NOT NULL",
                &[&days],
            )
            .await?;
        Ok(PurgeReport {
            logs_deleted,
            audit_events_deleted: u64::try_from(audit_events_deleted).unwrap_or(0),
        })
    }
}
