//! The operations a user's request makes: create an export, read its
//! status, download it, delete it, list the history.

mod access;
mod create;
mod history;
mod history_query;

pub use access::{DeleteReport, Download, ExportStatusView};
pub use create::CreateOutcome;
pub use history::{HistoryItem, HistoryPage};
pub use history_query::{HistoryQuery, MAX_HISTORY_LIMIT};
