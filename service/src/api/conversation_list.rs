//! `list_conversations`: a page of the conversations table the export modal
//! selects from, filtered with the same SQL as an export of scope `filtered`.

use chrono::{DateTime, Utc};
use lora_export_core::ErrorKind as CoreKind;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::body::{number_in, object_of, selection_request};
use crate::db::filter_sql::SqlFilter;
use crate::Result;
use crate::{Actor, Database, ExportService};

/// The largest page of [`ExportService::list_conversations`].
pub const MAX_CONVERSATION_PAGE: u32 = 100;

/// One conversation of a page: what a table row shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationRow {
    /// The id an export's `conversationIds` takes.
    pub conversation_id: String,
    /// Its title.
    pub title: String,
    /// `template`, `scenario` or `edge_case`.
    pub tier: String,
    /// Its review status.
    pub status: String,
    /// Quality score, 0–10.
    pub quality_score: f64,
    /// Persona, when set.
    pub persona: Option<String>,
    /// Emotion, when set.
    pub emotion: Option<String>,
    /// Topic, when set.
    pub topic: Option<String>,
    /// Categories.
    pub category: Vec<String>,
    /// Turns in the conversation.
    pub turn_count: i32,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A page of conversations, newest first.
///
/// ```
/// use lora_export_service::ConversationPage;
/// let page = ConversationPage { items: vec![], total: 0, page: 1, limit: 25, total_pages: 0 };
/// assert_eq!(serde_json::to_value(&page).unwrap()["totalPages"], 0);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationPage {
    /// The rows of this page.
    pub items: Vec<ConversationRow>,
    /// Conversations matching the filters.
    pub total: u64,
    /// This page's number, from 1.
    pub page: u32,
    /// The page size.
    pub limit: u32,
    /// Pages in all (0 when nothing matches).
    pub total_pages: u64,
}

/// A row's columns; `turn_count` is `total_turns`, or the turns counted when
/// it is unset (0: an import without `totalTurns`) — in the page's one query.
fn row_columns(turns: &str) -> String {
    format!(
        "c.conversation_id, c.title, c.tier, c.status, c.quality_score, c.persona, c.emotion, \
         c.topic, c.category, COALESCE(NULLIF(c.total_turns, 0), \
         (SELECT count(*)::int FROM {turns} t WHERE t.conversation_id = c.id)), c.created_at"
    )
}

impl ExportService {
    /// A page of the conversations `user` can read that match `body` —
    /// `{ filters?, page? (from 1), limit? (1–100, default 25) }`, untrusted;
    /// `filters` as an export request's, checked the same way — newest
    /// first, read as the user (RLS applies). Two queries: the count and
    /// the page. 400 with every issue at its path. A costly read, limited
    /// as [`count_scopes`](Self::count_scopes) is.
    pub async fn list_conversations(
        &self,
        user: impl Actor,
        body: &Value,
    ) -> Result<ConversationPage> {
        let answer =
            async { self.conversation_page(self.admit(&user)?, user.claims(), body).await }.await;
        self.observe("list_conversations", answer)
    }

    async fn conversation_page(
        &self,
        user: Uuid,
        claims: Option<&Value>,
        body: &Value,
    ) -> Result<ConversationPage> {
        let _running = self.limits().read(user)?;
        let body = object_of(body, &["filters", "page", "limit"])?;
        let mut issues = Vec::new();
        let page = number_in(&body, "page", (1, 1_000_000), 1, &mut issues);
        let limit = number_in(&body, "limit", (1, MAX_CONVERSATION_PAGE), 25, &mut issues);
        let request = selection_request("filtered", &body).map_err(|found| issues.extend(found));
        let request = match request {
            Ok(request) if issues.is_empty() => request,
            _ => return Err(CoreKind::InvalidRequest(issues).into()),
        };
        self.check_source().await?;
        let tables = self.source_tables();
        let filter = SqlFilter::for_request(&request, 1, tables)?;
        let from = format!("FROM {} c WHERE {}", tables.conversations(), filter.clause);
        let n = filter.params.len();
        let page_sql = format!(
            "SELECT {} {from} ORDER BY c.created_at DESC, c.id DESC LIMIT ${} OFFSET ${}",
            row_columns(&tables.turns()),
            n + 1,
            n + 2
        );
        let (limit_sql, offset) = (i64::from(limit), i64::from(page - 1) * i64::from(limit));
        let mut params = filter.param_refs();
        let mut client = self.database().client().await?;
        let timeout = self.config().interactive_statement_timeout;
        let tx = Database::interactive_transaction(&mut client, user, claims, timeout).await?;
        let total: i64 = tx.query_one(&format!("SELECT count(*) {from}"), &params).await?.get(0);
        params.extend([&limit_sql as &(dyn tokio_postgres::types::ToSql + Sync), &offset]);
        let rows = tx.query(&page_sql, &params).await?;
        tx.commit().await?;
        let items = rows
            .iter()
            .map(|row| {
                Ok(ConversationRow {
                    conversation_id: row.try_get(0)?,
                    title: row.try_get(1)?,
                    tier: row.try_get(2)?,
                    status: row.try_get(3)?,
                    quality_score: row.try_get(4)?,
                    persona: row.try_get(5)?,
                    emotion: row.try_get(6)?,
                    topic: row.try_get(7)?,
                    category: row.try_get::<_, Option<Vec<String>>>(8)?.unwrap_or_default(),
                    turn_count: row.try_get::<_, Option<i32>>(9)?.unwrap_or_default(),
                    created_at: row.try_get(10)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let total = u64::try_from(total).unwrap_or(0);
        Ok(ConversationPage {
            items,
            total,
            page,
            limit,
            total_pages: total.div_ceil(u64::from(limit)),
        })
    }
}
