//! What the service tells the application as it runs: a [`MetricEvent`]
//! per export created and per export finished (to the [`MetricsSink`]), and
//! an [`ErrorReport`] (to the [`ErrorSink`]; by default one JSON line on
//! stderr, [`ErrorReport::json_line`]) for every internal error a client
//! got only as a code and an error id, every failed attempt of a
//! background job, and every failure of an operator's own operation
//! (connecting, migrating, a worker's loop). Plain types below every
//! operation that emits them.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One structured event per export created (`status` `created`, with the
/// conversations it selected) and per completed or failed export. It is
/// sent to the service's metrics sink; a finished export's is also stored
/// in the `completed` / `failed` audit event's `metric` detail.
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
    /// Time spent running it (for `created`: checking and logging the request).
    pub duration_ms: u64,
    /// Bytes written (0 when failed).
    pub file_size: u64,
    /// Conversations written (0 when failed; for `created`: selected).
    pub conversation_count: u64,
    /// `created`, `completed` or `failed`.
    pub status: String,
}

/// A callback receiving one [`MetricEvent`] per created, completed or failed export.
pub type MetricsSink = Arc<dyn Fn(&MetricEvent) + Send + Sync>;

/// A callback receiving every [`ErrorReport`] (see
/// [`ExportService::with_error_sink`](crate::ExportService::with_error_sink));
/// without one the service writes each as a JSON line to stderr.
pub type ErrorSink = Arc<dyn Fn(&ErrorReport) + Send + Sync>;

/// The detail of a failure, for the operator: an internal error a client
/// got only as a code and an error id, a failed attempt of a background
/// job, a failure of an operator's operation.
///
/// ```
/// use lora_export_service::ErrorReport;
/// let report = ErrorReport {
///     timestamp: "2026-12-06T16:00:00Z".parse().unwrap(),
///     operation: "run_worker",
///     code: "SERVICE_UNAVAILABLE",
///     error_id: None,
///     export_id: Some(uuid::Uuid::nil()),
///     attempt: Some(2),
///     detail: "a database statement took longer than its time limit".into(),
/// };
/// let line: serde_json::Value = serde_json::from_str(&report.json_line()).unwrap();
/// assert_eq!(line["source"], "lora-export");
/// assert_eq!((line["attempt"].as_u64(), line["error_id"].is_null()), (Some(2), true));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorReport {
    /// When it happened.
    pub timestamp: DateTime<Utc>,
    /// The service operation (`create_export`, `status`, `run_worker`,
    /// `migrate`, `connect`, …).
    pub operation: &'static str,
    /// The stable code of the error.
    pub code: &'static str,
    /// The error id the caller got (an internal error's); `None` for an
    /// error whose message is already safe (a failed attempt that timed out).
    pub error_id: Option<Uuid>,
    /// The export, for a failure of one export's run.
    pub export_id: Option<Uuid>,
    /// Which attempt of the export's job failed (1 for the first).
    pub attempt: Option<u32>,
    /// What happened (the database's words, the TLS or I/O error): for
    /// operators only.
    pub detail: String,
}

impl ErrorReport {
    /// The report as one line of JSON, `{"source":"lora-export","level":"error",…}`
    /// with every field above: what the service writes to stderr when no
    /// sink replaces it.
    pub fn json_line(&self) -> String {
        #[derive(Serialize)]
        struct Line<'a> {
            source: &'static str,
            level: &'static str,
            #[serde(flatten)]
            report: &'a ErrorReport,
        }
        // Strings, numbers and ids only: serializing it cannot fail.
        serde_json::to_string(&Line { source: "lora-export", level: "error", report: self })
            .unwrap_or_default()
    }
}

/// Upper bounds (seconds) of the request latency histogram.
pub const LATENCY_BUCKETS: [f64; 11] =
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The most route names [`ExportService::record_request`] keeps apart; the
/// others count as `other`.
pub const MAX_ROUTES: usize = 32;

/// A histogram: cumulative counts at each upper bound, the sum and count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// What the histogram is of: a format, or empty.
    pub label: String,
    /// `(upper bound, observations at or below it)`, ascending; `+Inf` is `count`.
    pub buckets: Vec<(f64, u64)>,
    /// Sum of the observations.
    pub sum: f64,
    /// Observations.
    pub count: u64,
}

/// The latency of one route, and its answers by status class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteLatency {
    /// The route's name (`create`, `status`, `download`, …).
    pub route: String,
    /// Seconds per request.
    pub latency: Histogram,
    /// Answers by status class (`2xx`, `3xx`, `4xx`, `5xx`).
    pub statuses: BTreeMap<String, u64>,
}

/// The request latencies recorded in this process, per route.
#[derive(Debug, Default)]
pub(crate) struct RequestStats {
    pub(crate) routes: BTreeMap<String, RouteLatency>,
}

impl RequestStats {
    pub(crate) fn record(&mut self, route: &str, status: u16, seconds: f64) {
        let known = route.len() <= 40
            && !route.is_empty()
            && route.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        let route = if known && (self.routes.contains_key(route) || self.routes.len() < MAX_ROUTES)
        {
            route
        } else {
            "other"
        };
        let entry = self.routes.entry(route.to_owned()).or_insert_with(|| RouteLatency {
            route: route.to_owned(),
            latency: Histogram {
                label: route.to_owned(),
                buckets: LATENCY_BUCKETS.iter().map(|le| (*le, 0)).collect(),
                sum: 0.0,
                count: 0,
            },
            statuses: BTreeMap::new(),
        });
        for (le, n) in &mut entry.latency.buckets {
            if seconds <= *le {
                *n += 1;
            }
        }
        entry.latency.sum += seconds;
        entry.latency.count += 1;
        let class = format!("{}xx", (status / 100).clamp(1, 5));
        *entry.statuses.entry(class).or_insert(0) += 1;
    }
}
