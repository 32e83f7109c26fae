//! `audit_trail_csv`: the audit trail as CSV for compliance (seed 003
//! FR5.2.2) — a user's own events, or every user's for an administrator.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::{Actor, Database, ExportService};
use crate::{ErrorKind, Result};

/// The columns of [`ExportService::audit_trail_csv`], in order.
pub const AUDIT_CSV_HEADER: [&str; 8] =
    ["created_at", "export_id", "user_id", "seq", "event", "detail", "prev_hash", "hash"];

/// Who an audit trail covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuditScope {
    /// The user's own exports (read as the user, under RLS).
    #[default]
    Own,
    /// Every user's: an administrator only.
    AllUsers,
}

const EVENTS: &str = "SELECT created_at, export_id, user_id, seq, event, detail, prev_hash, hash
     FROM export_audit_events";
const ORDER: &str = "ORDER BY created_at, export_id, seq";

impl ExportService {
    /// The audit events of `scope` as CSV (a header of
    /// [`AUDIT_CSV_HEADER`], oldest first; `detail` as JSON text), with the
    /// chain hashes so that an auditor can check it against
    /// `export_audit_verify`. [`AuditScope::AllUsers`] needs an
    /// administrator ([`Actor::is_admin`]: a session whose token's
    /// `app_metadata.role` is `admin`), else 403 `ADMIN_REQUIRED`.
    ///
    /// Every cell is a timestamp, an id, a number, one of the fixed event
    /// names, a hash or a JSON object, so none can start a spreadsheet
    /// formula.
    pub async fn audit_trail_csv(&self, user: impl Actor, scope: AuditScope) -> Result<Vec<u8>> {
        let admin = user.is_admin();
        let answer =
            async { self.audit_csv_of(self.admit(&user)?, user.claims(), admin, scope).await }
                .await;
        self.observe("audit_trail_csv", answer)
    }

    async fn audit_csv_of(
        &self,
        user: Uuid,
        claims: Option<&Value>,
        admin: bool,
        scope: AuditScope,
    ) -> Result<Vec<u8>> {
        let mut client = self.database().client().await?;
        let rows = match scope {
            AuditScope::AllUsers if !admin => {
                return Err(ErrorKind::AdminRequired("every user's audit trail".into()).into())
            }
            AuditScope::AllUsers => client.query(&format!("{EVENTS} {ORDER}"), &[]).await?,
            AuditScope::Own => {
                let tx = Database::user_transaction_with(&mut client, user, claims).await?;
                let sql = format!("{EVENTS} WHERE user_id = auth.uid() {ORDER}");
                let rows = tx.query(&sql, &[]).await?;
                tx.commit().await?;
                rows
            }
        };
        let mut out = csv::Writer::from_writer(Vec::new());
        out.write_record(AUDIT_CSV_HEADER)?;
        for row in rows {
            let at: DateTime<Utc> = row.try_get("created_at")?;
            let export_id: Uuid = row.try_get("export_id")?;
            let user_id: Uuid = row.try_get("user_id")?;
            let seq: i32 = row.try_get("seq")?;
            let detail: Value = row.try_get("detail")?;
            let prev_hash: Option<String> = row.try_get("prev_hash")?;
            out.write_record([
                at.to_rfc3339_opts(SecondsFormat::Micros, true),
                export_id.to_string(),
                user_id.to_string(),
                seq.to_string(),
                row.try_get("event")?,
                detail.to_string(),
                prev_hash.unwrap_or_default(),
                row.try_get("hash")?,
            ])?;
        }
        out.into_inner().map_err(|e| e.into_error().into())
    }
}
