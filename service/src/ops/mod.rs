//! Operating the service: the seeds' maintenance jobs (expiry, file
//! cleanup, retention), the uninstall, the schedules that run them, and the metrics aggregated from the audit trail.

mod alerts;
mod cleanup;
mod health;
mod metrics;
mod prometheus;
mod schedule;
mod uninstall;
mod worker;

pub use crate::events::{Histogram, RouteLatency, LATENCY_BUCKETS, MAX_ROUTES};
pub use alerts::{
    sign as sign_alert, Alert, AlertReport, ALERT_EVERY, SIGNATURE_HEADER, WEBHOOK_ATTEMPTS,
};
pub use cleanup::{CleanupFailure, CleanupReport, PurgeReport};
pub use health::Health;
pub use metrics::{
    DurationBucket, FileSizes, HourVolume, MetricsReport, StatusCount, DURATION_BUCKETS,
    FAILURE_RATE_ALERT, PER_USER_BUCKETS,
};
pub use prometheus::{render_prometheus, PROMETHEUS_WINDOW};
pub use schedule::{ScheduledRun, RUN_TIMEOUT};
pub use uninstall::UninstallReport;
pub use worker::{WorkerOptions, WorkerReport, MAX_BACKOFF};
