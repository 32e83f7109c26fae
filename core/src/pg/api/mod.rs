//! The operations a user's request makes: create an export, read its
//! status, download it, delete it, list the history.

mod access;
mod create;
mod history;

pub use access::{DeleteReport, Download, ExportStatusView};
pub use create::CreateOutcome;
pub use history::{HistoryItem, HistoryPage, HistoryQuery, MAX_HISTORY_LIMIT};
