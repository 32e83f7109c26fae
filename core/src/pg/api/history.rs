//! `history`: a user's exports, filtered and paginated, newest first, in two
//! queries (count, page) — never one per row.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::audit::{ExportLog, ExportStatus};
use crate::model::Format;
use crate::pg::db::rows::{stored_log, LOG_COLUMNS};
use crate::pg::{Actor, Database, ExportService};
use crate::{ErrorKind, Issue, Result};

/// The largest page size [`HistoryQuery::limit`] accepts.
pub const MAX_HISTORY_LIMIT: u32 = 100;

/// Filters and page of a history request (`GET /history`).
///
/// ```
/// use lora_export::pg::HistoryQuery;
/// let q: HistoryQuery = serde_json::from_str(r#"{"status":"completed","limit":50}"#).unwrap();
/// assert_eq!((q.page, q.limit), (1, 50));
/// let bad = HistoryQuery { page: 0, limit: 101, ..HistoryQuery::default() };
/// let issues = bad.validate().unwrap_err();
/// assert_eq!(issues.iter().map(|i| i.path.as_str()).collect::<Vec<_>>(), ["page", "limit"]);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct HistoryQuery {
    /// Only this format.
    pub format: Option<Format>,
    /// Only this status (a completed export past its expiry counts as expired).
    pub status: Option<ExportStatus>,
    /// Only exports created at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Only exports created at or before this instant.
    pub to: Option<DateTime<Utc>>,
    /// 1-based page number (default 1).
    pub page: u32,
    /// Rows per page, 1–100 (default 20).
    pub limit: u32,
}

impl Default for HistoryQuery {
    fn default() -> Self {
        HistoryQuery { format: None, status: None, from: None, to: None, page: 1, limit: 20 }
    }
}

impl HistoryQuery {
    /// Every problem with the query (each an [`Issue`] with its path).
    pub fn validate(&self) -> std::result::Result<(), Vec<Issue>> {
        let mut issues = Vec::new();
        if self.page == 0 {
            issues.push(Issue::new("page", "out_of_range", "page must be at least 1"));
        }
        if !(1..=MAX_HISTORY_LIMIT).contains(&self.limit) {
            let message = format!("limit must be between 1 and {MAX_HISTORY_LIMIT}");
            issues.push(Issue::new("limit", "out_of_range", message));
        }
        if let (Some(from), Some(to)) = (self.from, self.to) {
            if from > to {
                issues.push(Issue::new("from", "invalid_range", "from must not be after to"));
            }
        }
        if issues.is_empty() {
            Ok(())
        } else {
            Err(issues)
        }
    }
}

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
        let user = user.user_id();
        let answer = self.history_page(user, query).await;
        self.observe("history", answer)
    }

    async fn history_page(&self, user: Uuid, query: &HistoryQuery) -> Result<HistoryPage> {
        query.validate().map_err(ErrorKind::InvalidRequest)?;
        let mut client = self.database().client().await?;
        let tx = Database::user_transaction(&mut client, user).await?;
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
