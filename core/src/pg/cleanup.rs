//! The seeds' cron jobs as functions an app's scheduler calls:
//! `mark_expired_exports`, `cleanup_expired` (expired-file sweep) and
//! `purge_old_logs` (retention). They run with the service's privileges.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::storage::FileKey;
use super::ExportService;
use crate::Result;

/// What an expired-file sweep did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CleanupReport {
    /// Completed exports past their expiry, now marked expired.
    pub marked_expired: u64,
    /// Files removed (or already gone).
    pub files_deleted: u64,
    /// Staged files of dead writers removed (untouched for 10 × `stale_after`).
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
        let client = self.database().client().await?;
        let marked = client
            .execute(
                "WITH expired AS (
                   UPDATE export_logs SET status = 'expired', updated_at = now()
                   WHERE status = 'completed' AND expires_at < now()
                   RETURNING export_id, user_id, expires_at)
                 INSERT INTO export_audit_events (export_id, user_id, event, detail, seq, hash)
                 SELECT export_id, user_id, 'expired',
                        jsonb_build_object('expires_at', expires_at, 'reason', 'cleanup'), 0, ''
                 FROM expired",
                &[],
            )
            .await?;
        Ok(marked)
    }

    /// Marks expired exports, then removes the files of every expired
    /// export still holding one, continuing past individual failures, and
    /// the staged files that killed workers left behind.
    pub async fn cleanup_expired(&self) -> Result<CleanupReport> {
        let mut report = CleanupReport {
            marked_expired: self.mark_expired_exports().await?,
            ..Default::default()
        };
        let client = self.database().client().await?;
        let rows = client
            .query(
                "SELECT export_id, file_url FROM export_logs
                 WHERE status = 'expired' AND file_url IS NOT NULL AND file_deleted_at IS NULL",
                &[],
            )
            .await?;
        for row in rows {
            let export_id: Uuid = row.get(0);
            let url: String = row.get(1);
            let removed = FileKey::parse(&url).and_then(|key| self.storage().delete(&key));
            match removed {
                Ok(_) => {
                    client
                        .execute(
                            "UPDATE export_logs SET file_deleted_at = now() WHERE export_id = $1",
                            &[&export_id],
                        )
                        .await?;
                    report.files_deleted += 1;
                }
                Err(e) => report.failures.push(CleanupFailure { export_id, error: e.to_string() }),
            }
        }
        report.staged_files_deleted =
            self.storage().sweep_staged(self.config().stale_after * 10)?;
        Ok(report)
    }

    /// Deletes export logs (with their jobs) and audit events older than
    /// `retention_days`. Unfinished exports are kept. The audit trail's
    /// guard allows exactly this purge (`lora_export.audit_retention_days`).
    pub async fn purge_old_logs(&self) -> Result<PurgeReport> {
        let days = i32::try_from(self.config().retention_days).unwrap_or(i32::MAX);
        let mut client = self.database().client().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "SELECT set_config('lora_export.audit_retention_days', $1, true)",
            &[&days.to_string()],
        )
        .await?;
        let audit_events_deleted = tx
            .execute(
                "DELETE FROM export_audit_events WHERE created_at < now() - make_interval(days => $1)",
                &[&days],
            )
            .await?;
        let logs_deleted = tx
            .execute(
                "DELETE FROM export_logs WHERE created_at < now() - make_interval(days => $1)
                   AND status NOT IN ('queued', 'processing')",
                &[&days],
            )
            .await?;
        tx.commit().await?;
        Ok(PurgeReport { logs_deleted, audit_events_deleted })
    }
}
