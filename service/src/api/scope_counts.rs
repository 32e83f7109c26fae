//! `count_scopes`: the export modal's live counts, one per scope, counted by
//! the same SQL selection an export of that scope reads.

use lora_export_core::ErrorKind as CoreKind;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::body::{object_of, selection_request};
use crate::db::source::count_selected;
use crate::Result;
use crate::{Actor, Database, ExportService};

/// How many conversations each export scope would take.
///
/// ```
/// use lora_export_service::ScopeCounts;
/// let counts = ScopeCounts { selected: 2, filtered: 10, all: 40, all_data: 55 };
/// assert_eq!(serde_json::to_value(counts).unwrap()["all_data"], 55);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeCounts {
    /// The selected conversations (`conversationIds`) the export would take;
    /// 0 without any (an absent, `null` or empty list).
    pub selected: u64,
    /// Those matching `filters` (every conversation without filters).
    pub filtered: u64,
    /// Every approved conversation.
    pub all: u64,
    /// Every conversation, whatever its status.
    pub all_data: u64,
}

impl ExportService {
    /// The count of each scope for `user`'s selection — `body` is
    /// `{ conversationIds?, filters? }`, untrusted — read as the user (RLS
    /// applies) with the exports' own SQL. 400 with every issue at its path
    /// (`filters.qualityRange.max`, an unknown key, …).
    ///
    /// A costly read: it takes part in the user's limits (429 with
    /// `retry_after` past `interactive_rate_per_minute` or
    /// `interactive_concurrency`) and runs under
    /// `interactive_statement_timeout` (then 503 with `retry_after`).
    pub async fn count_scopes(&self, user: impl Actor, body: &Value) -> Result<ScopeCounts> {
        let answer =
            async { self.scope_counts(self.admit(&user)?, user.claims(), body).await }.await;
        self.observe("count_scopes", answer)
    }

    async fn scope_counts(
        &self,
        user: Uuid,
        claims: Option<&Value>,
        body: &Value,
    ) -> Result<ScopeCounts> {
        let _running = self.limits().read(user)?;
        let body = object_of(body, &["conversationIds", "filters"])?;
        let has_ids = match body.get("conversationIds") {
            None | Some(Value::Null) => false,
            Some(Value::Array(ids)) => !ids.is_empty(),
            Some(_) => true, // the wrong type: the validation says so
        };
        let mut issues = Vec::new();
        let mut requests = Vec::new();
        for scope in ["selected", "filtered", "all", "all_data"] {
            if scope == "selected" && !has_ids {
                requests.push(None);
                continue;
            }
            match selection_request(scope, &body) {
                Ok(request) => requests.push(Some(request)),
                Err(found) => issues.extend(found),
            }
        }
        if !issues.is_empty() {
            return Err(CoreKind::InvalidRequest(issues).into());
        }
        self.check_source().await?;
        let mut client = self.database().client().await?;
        let timeout = self.config().interactive_statement_timeout;
        let tx = Database::interactive_transaction(&mut client, user, claims, timeout).await?;
        let mut counts = [0u64; 4];
        for (count, request) in counts.iter_mut().zip(&requests) {
            if let Some(request) = request {
                *count = count_selected(&tx, request, self.source_tables()).await?;
            }
        }
        tx.commit().await?;
        let [selected, filtered, all, all_data] = counts;
        Ok(ScopeCounts { selected, filtered, all, all_data })
    }
}
