//! `history`: a user's exports, filtered, sorted and paginated, in two
//! queries (count, page) — never one per row; `admin_history`: every
//! user's, for an administrator.

use chrono::Utc;
use lora_export_core::ErrorKind as CoreKind;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::db::rows::{stored_log, LOG_COLUMNS};
use crate::HistoryQuery;
use crate::{Actor, Database, ExportService};
use crate::{ErrorKind, Result};
use lora_export_core::audit::{ExportLog, ExportStatus};
use lora_export_core::model::Format;
use lora_export_core::Issue;

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

/// Live exports with the status they read as now: `$1`–`$4` the filters,
/// and (`ALL_USERS`) `$5` an optional user. The own history runs as the
/// user under RLS (`auth.uid()`); the admin history as the service, over
/// every user (indexed by `created_at` or `(user_id, created_at)`).
fn filtered(all_users: bool) -> String {
    let who = if all_users { "($5::uuid IS NULL OR user_id = $5)" } else { "user_id = auth.uid()" };
    format!(
        "FROM (SELECT *, CASE WHEN status = 'completed' AND expires_at < now()
       THEN 'expired' ELSE status END AS effective_status
     FROM export_logs WHERE {who} AND deleted_at IS NULL) l
   WHERE ($1::text IS NULL OR format = $1) AND ($2::text IS NULL OR effective_status = $2)
     AND ($3::timestamptz IS NULL OR created_at >= $3)
     AND ($4::timestamptz IS NULL OR created_at <= $4)"
    )
}

impl ExportService {
    /// `user`'s exports matching `query`, newest first (400 with every
    /// problem of an invalid query).
    /// Read as the user, under RLS.
    /// Read as the user, under RLS. `query.user` is refused (400): only the
    /// admin history takes it.
    pub async fn history(&self, user: impl Actor, query: &HistoryQuery) -> Result<HistoryPage> {
        let answer =
            async { self.history_page(self.admit(&user)?, user.claims(), query).await }.await;
        self.observe("history", answer)
    }

    /// Every user's exports matching `query` (`query.user`: one user's),
    /// for an administrator ([`Actor::is_admin`]: a session whose verified
    /// token's `app_metadata.role` is `admin`), else 403 `ADMIN_REQUIRED` —
    /// decided before anything is read. Paged like [`Self::history`] (at
    /// most [`crate::MAX_HISTORY_LIMIT`] rows), read by the service over
    /// every user.
    pub async fn admin_history(
        &self,
        user: impl Actor,
        query: &HistoryQuery,
    ) -> Result<HistoryPage> {
        let admin = user.is_admin();
        let answer = async {
            self.admit(&user)?;
            if !admin {
                return Err(ErrorKind::AdminRequired("every user's export history".into()).into());
            }
            query.validate().map_err(CoreKind::InvalidRequest)?;
            let client = self.database().client().await?;
            let (total, rows) = page_rows(&*client, query, true).await?;
            paged(query, total, &rows)
        }
        .await;
        self.observe("admin_history", answer)
    }

    async fn history_page(
        &self,
        user: Uuid,
        claims: Option<&Value>,
        query: &HistoryQuery,
    ) -> Result<HistoryPage> {
        query.validate().map_err(CoreKind::InvalidRequest)?;
        if query.user.is_some() {
            let issue = Issue::new(
                "user",
                "admin_only",
                "`user` filters the admin history only; the own history is the signed-in user's",
            );
            return Err(CoreKind::InvalidRequest(vec![issue]).into());
        }
        let mut client = self.database().client().await?;
        let tx = Database::user_transaction_with(&mut client, user, claims).await?;
        let (total, rows) = page_rows(&*tx, query, false).await?;
        tx.commit().await?;
        paged(query, total, &rows)
    }
}

/// The count of the exports `query` matches and its page's rows, sorted by
/// `query.sort` (a fixed column name, never the caller's text), ties
/// newest first.
async fn page_rows(
    client: &impl tokio_postgres::GenericClient,
    query: &HistoryQuery,
    all_users: bool,
) -> Result<(i64, Vec<tokio_postgres::Row>)> {
    let format = query.format.map(Format::as_str);
    let status = query.status.map(ExportStatus::as_str);
    let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
        vec![&format, &status, &query.from, &query.to];
    if all_users {
        params.push(&query.user);
    }
    let from = filtered(all_users);
    let total: i64 = client.query_one(&format!("SELECT count(*) {from}"), &params).await?.get(0);
    let limit = i64::from(query.limit);
    let offset = i64::from(query.page - 1) * limit;
    let (column, direction) = (query.sort.column(), query.order.sql());
    let (at_limit, at_offset) = (params.len() + 1, params.len() + 2);
    let sql = format!(
        "SELECT {LOG_COLUMNS}, effective_status {from}
         ORDER BY {column} {direction} NULLS LAST, created_at DESC, export_id DESC
         LIMIT ${at_limit} OFFSET ${at_offset}"
    );
    params.push(&limit);
    params.push(&offset);
    Ok((total, client.query(&sql, &params).await?))
}

/// The page of `query` from its rows and the total they were cut from.
fn paged(query: &HistoryQuery, total: i64, rows: &[tokio_postgres::Row]) -> Result<HistoryPage> {
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
