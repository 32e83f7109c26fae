//! Operating the service: the seeds' maintenance jobs (expiry, file
//! cleanup, retention), the schedules that run them, and the metrics aggregated from the audit trail.

mod cleanup;
mod metrics;
mod schedule;

pub use cleanup::{CleanupFailure, CleanupReport, PurgeReport};
pub use metrics::{DurationBucket, HourVolume, MetricEvent, MetricsReport, FAILURE_RATE_ALERT};
pub(crate) use schedule::SeenPeriods;
pub use schedule::{MaintenanceSchedules, MaintenanceTask, Schedule, ScheduledRun, RUN_TIMEOUT};
