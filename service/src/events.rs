//! What the service tells the application as it runs: one [`MetricEvent`]
//! per finished export (to the [`MetricsSink`]), and the detail of every
//! internal error a client got only as a code and an error id (an
//! [`ErrorReport`], to the [`ErrorSink`]). Plain types below every
//! operation that emits them.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One structured event per completed or failed export. It is sent to the
/// service's metrics sink and stored in the `completed` / `failed` audit
/// event's `metric` detail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricEvent {
    /// When the export finished.
    pub timestamp: DateTime<Utc>,
    /// The export.
    pub export_id: Uuid,
    /// Its owner.
    pub user_id: Uuid,
    /// Its format.
    pub format: String,
    /// Time spent running it.
    pub duration_ms: u64,
    /// Bytes written (0 when failed).
    pub file_size: u64,
    /// Conversations written (0 when failed).
    pub conversation_count: u64,
    /// `completed` or `failed`.
    pub status: String,
}

/// A callback receiving one [`MetricEvent`] per completed or failed export.
pub type MetricsSink = Arc<dyn Fn(&MetricEvent) + Send + Sync>;

/// A callback receiving the detail of every internal error the service
/// answered with a safe message (see [`ExportService::with_error_sink`]).
pub type ErrorSink = Arc<dyn Fn(&ErrorReport) + Send + Sync>;

/// The detail of an internal error: what the client got only as a code and
/// an error id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorReport {
    /// When it happened.
    pub timestamp: DateTime<Utc>,
    /// The service operation (`create_export`, `status`, …).
    pub operation: &'static str,
    /// The stable code the client got.
    pub code: &'static str,
    /// The error id the client got.
    pub error_id: Uuid,
    /// What happened (database message, I/O error): for operators only.
    pub detail: String,
}
