//! `retry_export`: a new export from a failed or expired one's stored
//! request (seed 004: "Export history and retry functionality").

use serde_json::{json, Value};
use uuid::Uuid;

use super::access::expire_if_due;
use crate::audit::ExportStatus;
use crate::pg::db::rows::{audit, lock_owned_log};
use crate::pg::{Actor, CreateOutcome, ExportService};
use crate::{ErrorKind, Result};

impl ExportService {
    /// Exports again what `user`'s failed or expired export asked for (its
    /// stored request, read as the data is now), as
    /// [`create_export`](Self::create_export) does: the same rate limit,
    /// answers and audit trail; the old export's trail records the retry
    /// (`retried`, with the new export's id). 409 `NOT_RETRYABLE` for a
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
            let stored = expire_if_due(&tx, lock_owned_log(&tx, user, export_id).await?).await?;
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
        let outcome = self.create(user, claims, &body).await?;
        let client = self.database().client().await?;
        let detail = json!({ "retry_export_id": outcome.export_id() });
        audit(&client, export_id, user, "retried", detail).await?;
        Ok(outcome)
    }
}
