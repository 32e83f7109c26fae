//! `verify_audit`: the audit chain checked as a whole — the unkeyed hash
//! chain (`export_audit_verify`, in the database) and, with the service's
//! `audit_key`, each event's seal (here: the key never reaches the
//! database).

use futures_util::{pin_mut, TryStreamExt};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::rows::event_seal;
use crate::ExportService;
use crate::Result;

/// One problem [`ExportService::verify_audit`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditProblem {
    /// The export whose chain it is in.
    pub export_id: Uuid,
    /// The event (`seq` in its export's chain), when one is named.
    pub seq: Option<i32>,
    /// What is wrong, in words: `modified: …`, `removed: …`, `chain
    /// broken: …`, `forged: …`, `unsealed: …`.
    pub problem: String,
}

impl ExportService {
    /// Verifies the audit chain of `export` (every export's when `None`):
    /// every problem, none when intact.
    ///
    /// Always: what `export_audit_verify` checks — each event's hash
    /// against its row, the links between events, the chain heads (a
    /// removed tail) and the purge anchors. With `audit_key`, also each
    /// event's seal: an event whose seal does not match was rewritten by
    /// someone without the key (the database owner recomputing the
    /// unkeyed chain included), or sealed under another key; an event
    /// without a seal was written without the key (before it was set, or
    /// by a role that inserted it directly) or had its seal removed.
    ///
    /// **Without `audit_key`** this detects accidental corruption and
    /// tampering by roles other than the database owner only: the owner
    /// can rewrite an event and recompute the unkeyed chain.
    ///
    /// The events are read as a stream: memory does not grow with the
    /// trail.
    pub async fn verify_audit(&self, export: Option<Uuid>) -> Result<Vec<AuditProblem>> {
        let answer = self.verify_audit_of(export).await;
        self.observe("verify_audit", answer)
    }

    async fn verify_audit_of(&self, export: Option<Uuid>) -> Result<Vec<AuditProblem>> {
        let mut client = self.database().client().await?;
        let tx = client.transaction().await?;
        let mut problems: Vec<AuditProblem> = tx
            .query("SELECT export_id, seq, problem FROM export_audit_verify($1)", &[&export])
            .await?
            .iter()
            .map(|row| AuditProblem { export_id: row.get(0), seq: row.get(1), problem: row.get(2) })
            .collect();
        let Some(key) = self.audit_key() else { return Ok(problems) };
        let rows = tx
            .query_raw(
                "SELECT e.export_id, e.seq, e.hash, s.mac
                 FROM export_audit_events e LEFT JOIN export_audit_seals s ON s.event_id = e.id
                 WHERE $1::uuid IS NULL OR e.export_id = $1
                 ORDER BY e.export_id, e.seq",
                &[&export],
            )
            .await?;
        pin_mut!(rows);
        while let Some(row) = rows.try_next().await? {
            let hash: String = row.get(2);
            let problem = match row.get::<_, Option<String>>(3) {
                None => "unsealed: no seal under the audit key (written before the key was set or without it, or its seal removed)",
                Some(mac) if mac != event_seal(key, &hash) => {
                    "modified: the seal does not match (rewritten without the audit key, or sealed under another key)"
                }
                Some(_) => continue,
            };
            problems.push(AuditProblem {
                export_id: row.get(0),
                seq: row.get(1),
                problem: problem.to_owned(),
            });
        }
        Ok(problems)
    }
}
