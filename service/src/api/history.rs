//! `history`: a user's exports, filtered and paginated, newest first, in two
//! queries (count, page) — never one per row.

use chrono::Utc;
use lora_export_core::ErrorKind as CoreKind;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::db::rows::{stored_log, LOG_COLUMNS};
use crate::HistoryQuery;
use crate::Result;
use crate::{Actor, Database, ExportService};
use lora_export_core::audit::{ExportLog, ExportStatus};
use lora_export_core::model::Format;

/// One export of a history page: its log row, file name, and whether it
/// can still be downloaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryItem {
    /// The log row (status as it reads now: past expiry is `expired`).
    #[serde(flatten)]
    pub log: ExportLog,
    /// The download file name, once completed.
    pub file_name: Option<String>,
    /// Completed and not expired.
    pub downloadable: bool,
    /// A dataset export's files (name, split, conversations, bytes, SHA-256).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<crate::ExportFile>>,
}

/// A page of a user's exports with its pagination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryPage {
    /// The exports on this page, newest first.
    pub items: Vec<HistoryItem>,
    /// Exports matching the filters.
    pub total: u64,
    /// This page's number.
    pub page: u32,
    /// The page size.
    pub limit: u32,
    /// Pages in all (0 when nothing matches).
    pub total_pages: u64,
    /// Whether a later page exists.
    pub has_next: bool,
    /// Whether an earlier page exists.
    pub has_prev: bool,
}

/// The user's live exports with the status they read as now.
const FILTERED: &str = "FROM (SELECT *, CASE WHEN status = 'completed' AND expires_at < now()
       THEN 'expired' ELSE status END AS effective_status
     FROM export_logs WHERE user_id = auth.uid() AND deleted_at IS NULL) l
   WHERE ($1::text IS NULL OR format = $1) AND ($2::text IS NULL OR effective_status = $2)
     AND ($3::timestamptz IS NULL OR created_at >= $3)
     AND ($4::timestamptz IS NULL OR created_at <= $4)";

impl ExportService {
    /// `user`'s exports matching `query`, newest first (400 with every
    /// problem of an invalid query).
    /// Read as the user, under RLS.
    pub async fn history(&self, user: impl Actor, query: &HistoryQuery) -> Result<HistoryPage> {
        let answer =
            async { self.history_page(self.admit(&user)?, user.claims(), query).await }.await;
        self.observe("history", answer)
    }

    async fn history_page(
        &self,
        user: Uuid,
        claims: Option<&Value>,
        query: &HistoryQuery,
    ) -> Result<HistoryPage> {
        query.validate().map_err(CoreKind::InvalidRequest)?;
        let mut client = self.database().client().await?;
        let tx = Database::user_transaction_with(&mut client, user, claims).await?;
        let format = query.format.map(Format::as_str);
        let status = query.status.map(ExportStatus::as_str);
        let filters: [&(dyn tokio_postgres::types::ToSql + Sync); 4] =
            [&format, &status, &query.from, &query.to];
        let total: i64 =
            tx.query_one(&format!("SELECT count(*) {FILTERED}"), &filters).await?.get(0);
        let limit = i64::from(query.limit);
        let offset = i64::from(query.page - 1) * limit;
        let sql = format!(
            "SELECT {LOG_COLUMNS}, effective_status {FILTERED}
             ORDER BY created_at DESC, export_id DESC LIMIT $5 OFFSET $6"
        );
        let mut params = filters.to_vec();
        params.push(&limit);
        params.push(&offset);
        let rows = tx.query(&sql, &params).await?;
        tx.commit().await?;
        let now = Utc::now();
        let items = rows
            .iter()
            .map(|row| {
                let mut stored = stored_log(row)?;
                let effective: String = row.get("effective_status");
                stored.log.status = ExportStatus::parse(&effective).unwrap_or(stored.log.status);
                Ok(HistoryItem {
                    downloadable: stored.log.is_downloadable_at(now),
                    file_name: stored.file_name,
                    files: stored.files,
                    log: stored.log,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let total = u64::try_from(total).unwrap_or(0);
        let total_pages = total.div_ceil(u64::from(query.limit));
        Ok(HistoryPage {
            items,
            total,
            page: query.page,
            limit: query.limit,
            total_pages,
            has_next: u64::from(query.page) < total_pages,
            has_prev: query.page > 1,
        })
    }
}
