//! Operating the service: the seeds' maintenance jobs (expiry, file
//! cleanup, retention), the uninstall, the schedules that run them, and the metrics aggregated from the audit trail.

mod cleanup;
mod health;
mod metrics;
mod schedule;
mod uninstall;
mod worker;

pub use cleanup::{CleanupFailure, CleanupReport, PurgeReport};
pub use health::Health;
pub use metrics::{DurationBucket, HourVolume, MetricsReport, FAILURE_RATE_ALERT};
pub use schedule::{ScheduledRun, RUN_TIMEOUT};
pub use uninstall::UninstallReport;
pub use worker::{WorkerOptions, WorkerReport, MAX_BACKOFF};
