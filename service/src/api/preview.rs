//! `preview_export`: the export modal's preview — the first conversations a
//! request selects, rendered by the core exactly as the export would write them.

use lora_export_core::ErrorKind as CoreKind;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::db::source::ConversationSource;
use crate::Result;
use crate::{Actor, Database, ExportService};
use lora_export_core::model::Format;
use lora_export_core::pipeline::render_preview;
use lora_export_core::request::validate_table_request;
use lora_export_core::Issue;

/// The most conversations a preview renders.
pub const MAX_PREVIEW: u32 = 10;

/// A preview of an export request.
///
/// ```
/// use lora_export_core::model::Format;
/// use lora_export_service::ExportPreview;
/// let preview = ExportPreview { format: Format::Csv, preview: "id\n".into(), count: 0 };
/// assert_eq!(serde_json::to_value(&preview).unwrap()["format"], "csv");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportPreview {
    /// The request's format.
    pub format: Format,
    /// The first conversations as the export writes them (a CSV preview has
    /// its header; a JSON one is a whole array).
    pub preview: String,
    /// Conversations rendered (at most the number asked for).
    pub count: u64,
}

impl ExportService {
    /// The first `n` (1–[`MAX_PREVIEW`]) conversations that the export
    /// request `body` (untrusted) selects, in export order, rendered with its
    /// format and options. Read as `user` (RLS applies); nothing is logged
    /// or counted against the export rate limit. 400 with every issue of
    /// the body. A costly read, limited as
    /// [`count_scopes`](Self::count_scopes) is.
    pub async fn preview_export(
        &self,
        user: impl Actor,
        body: &Value,
        n: u32,
    ) -> Result<ExportPreview> {
        let answer =
            async { self.preview_of(self.admit(&user)?, user.claims(), body, n).await }.await;
        self.observe("preview_export", answer)
    }

    async fn preview_of(
        &self,
        user: Uuid,
        claims: Option<&Value>,
        body: &Value,
        n: u32,
    ) -> Result<ExportPreview> {
        let _running = self.limits().read(user)?;
        let (request, mut issues) = match validate_table_request(body) {
            Ok(request) => (Some(request), Vec::new()),
            Err(issues) => (None, issues),
        };
        if !(1..=MAX_PREVIEW).contains(&n) {
            let message = format!("a preview shows 1 to {MAX_PREVIEW} conversations, not {n}");
            issues.push(Issue::new("n", "out_of_range", message));
        }
        let Some(request) = request.filter(|_| issues.is_empty()) else {
            return Err(CoreKind::InvalidRequest(issues).into());
        };
        self.check_source().await?;
        let mut source = ConversationSource::new(&request, n, self.source_tables())?;
        let mut client = self.database().client().await?;
        let timeout = self.config().interactive_statement_timeout;
        let tx = Database::interactive_transaction(&mut client, user, claims, timeout).await?;
        let batch = source.next_batch(&tx).await?.unwrap_or_default();
        tx.commit().await?;
        let conversations = batch.into_iter().filter_map(|record| record.ok());
        let (preview, count) = render_preview(conversations, &request.config, n as usize)?;
        Ok(ExportPreview { format: request.config.format, preview, count })
    }
}
