//! Operating the service: the seeds' maintenance jobs (expiry, file
//! cleanup, retention) and the metrics aggregated from the audit trail.

mod cleanup;
mod metrics;

pub use cleanup::{CleanupFailure, CleanupReport, PurgeReport};
pub use metrics::{DurationBucket, HourVolume, MetricEvent, MetricsReport, FAILURE_RATE_ALERT};
