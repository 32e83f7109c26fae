//! The operations a user's request makes: create an export, read its
//! status, download it, delete it, retry it, list the history; and the
//! export modal's reads: the conversations table, the counts per scope and
//! the preview — with their per-user limits (`crate::limits`).

mod access;
mod audit_trail;
mod audit_verify;
mod body;
mod conversation_list;
mod create;
mod download;
mod download_body;
mod history;
mod history_query;
mod preview;
mod retry;
mod scope_counts;

pub use access::{DeleteReport, ExportStatusView, NO_WORKER_WARNING_AFTER};
pub use audit_trail::{AuditScope, AUDIT_CSV_HEADER};
pub use audit_verify::AuditProblem;
pub use conversation_list::{ConversationPage, ConversationRow, MAX_CONVERSATION_PAGE};
pub use create::CreateOutcome;
pub use download::{parse_range, ContentRange, Download, DownloadRequest, Redirect};
pub use download_body::{ByteStream, DownloadBody};
pub use history::{HistoryItem, HistoryPage};
pub use history_query::{HistoryQuery, HistorySort, SortOrder, MAX_HISTORY_LIMIT};
pub use preview::{ExportPreview, MAX_PREVIEW};
pub use scope_counts::ScopeCounts;
