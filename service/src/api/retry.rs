//! `retry_export`: a new export from a failed or expired one's stored
//! request (seed 004: "Export history and retry functionality").

use serde_json::Value;
use uuid::Uuid;

use super::access::expire_if_due;
use crate::db::rows::lock_owned_log;
use crate::{Actor, CreateOutcome, ExportService};
use crate::{ErrorKind, Result};
use lora_export_core::audit::ExportStatus;

impl ExportService {
    /// Exports again what `user`'s failed or expired export asked for (its
    /// stored request, read as the data is now), as
    /// [`create_export`](Self::create_export) does: the same rate limit,
    /// answers and audit trail; the old export's trail records the retry
    /// (`retried`, with the new export's id) in the transaction that logs
    /// the new export, so neither exists without the other. 409 `NOT_RETRYABLE` for a
    /// queued, processing or completed export; 403 / 404.
    pub async fn retry_export(&self, user: impl Actor, export_id: Uuid) -> Result<CreateOutcome> {
        let answer =
            async { self.retry_of(self.admit(&user)?, user.claims(), export_id).await }.await;
        self.observe("retry_export", answer)
    }

    async fn retry_of(
        &self,
        user: Uuid,
        claims: Option<&Value>,
        export_id: Uuid,
    ) -> Result<CreateOutcome> {
        let request = {
            let mut client = self.database().client().await?;
            let tx = client.transaction().await?;
            let stored = lock_owned_log(&tx, user, export_id).await?;
            let stored = expire_if_due(&tx, self.audit_key(), stored).await?;
            tx.commit().await?;
            match stored.log.status {
                ExportStatus::Failed | ExportStatus::Expired => stored.request,
                other => {
                    let (id, status) = (export_id.to_string(), other.as_str().to_owned());
                    return Err(ErrorKind::NotRetryable { id, status }.into());
                }
            }
        };
        let body: Value = serde_json::to_value(&request)?;
        self.create(user, claims, &body, Some(export_id)).await
    }
}
