//! Removing the library from a database: its files, then what the
//! migrations created ([`uninstall_sql`]).

use serde::{Deserialize, Serialize};

use super::cleanup::CleanupFailure;
use crate::db::rows::{stored_log, LOG_COLUMNS};
use crate::storage::delete_files;
use crate::uninstall_sql;
use crate::ExportService;
use crate::Result;

/// What [`ExportService::uninstall`] did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UninstallReport {
    /// Exports whose files were removed (or already gone).
    pub files_deleted: u64,
    /// Staged files and uploads of unfinished runs removed.
    pub staged_files_deleted: u64,
    /// Files that could not be removed. When there is any, nothing was
    /// dropped (the logs still name the files): fix the cause and run it again.
    pub failures: Vec<CleanupFailure>,
    /// Whether the schema and everything in it were dropped.
    pub schema_dropped: bool,
    /// Whether the group role `lora_export_service` was dropped (it stays
    /// while another installation in the cluster has grants to it).
    pub service_role_dropped: bool,
}

impl ExportService {
    /// Removes the library from the database: every export's files (of
    /// live, expired and failed exports, of logs deleted with a user, and
    /// the staged files of unfinished runs), then, when none failed, what
    /// the migrations created ([`uninstall_sql`]: the schema with all its
    /// data and audit trail, and `lora_export_service` when no other
    /// installation uses it). Stop the workers first. Run it as the login
    /// that migrated; `migrate()` installs again.
    ///
    /// # Errors
    ///
    /// An internal database error when a query fails; the files removed
    /// until then stay removed.
    pub async fn uninstall(&self) -> Result<UninstallReport> {
        let answer = self.uninstall_all().await;
        self.observe("uninstall", answer)
    }

    async fn uninstall_all(&self) -> Result<UninstallReport> {
        let mut report = UninstallReport::default();
        let mut client = self.database().client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {LOG_COLUMNS} FROM export_logs WHERE file_deleted_at IS NULL
                     UNION ALL
                     SELECT {LOG_COLUMNS} FROM (SELECT (jsonb_populate_record(
                       NULL::export_logs, log)).* FROM export_file_removals) l"
                ),
                &[],
            )
            .await?;
        for row in rows {
            let stored = stored_log(&row)?;
            match delete_files(&**self.storage(), &stored).await {
                Ok(deleted) => report.files_deleted += u64::from(deleted),
                Err(e) => report
                    .failures
                    .push(CleanupFailure { export_id: stored.log.export_id, error: e.to_string() }),
            }
        }
        let now = std::time::SystemTime::now();
        report.staged_files_deleted = self.storage().sweep_staged(now, &Default::default()).await?;
        if !report.failures.is_empty() {
            return Ok(report);
        }
        let tx = client.transaction().await?;
        tx.batch_execute(&uninstall_sql(self.database().schema())?).await?;
        let role: bool =
            tx.query_one("SELECT to_regrole('lora_export_service') IS NULL", &[]).await?.get(0);
        tx.commit().await?;
        report.schema_dropped = true;
        report.service_role_dropped = role;
        Ok(report)
    }
}
