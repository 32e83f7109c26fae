//! Export metrics: one [`MetricEvent`] per finished export, and the
//! aggregate [`MetricsReport`] computed in SQL from the audit trail.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Result;
use crate::{ExportService, ScheduledRun};

/// The failure rate above which [`MetricsReport::failure_rate_alert`] is set.
pub const FAILURE_RATE_ALERT: f64 = 0.10;

/// Aggregates over the exports finished since a given instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsReport {
    /// Start of the window.
    pub since: DateTime<Utc>,
    /// Exports completed in the window.
    pub completed: u64,
    /// Exports failed in the window.
    pub failed: u64,
    /// completed / (completed + failed); 1 when nothing finished.
    pub success_rate: f64,
    /// Average run time of completed exports by format and file-size bucket.
    pub avg_duration_ms: Vec<DurationBucket>,
    /// Exports requested in the window, per format.
    pub format_distribution: BTreeMap<String, u64>,
    /// Exports requested and bytes written, per hour.
    pub volume_per_hour: Vec<HourVolume>,
    /// Jobs waiting for a worker now.
    pub queue_depth: u64,
    /// Jobs being run now.
    pub running_jobs: u64,
    /// Seconds the oldest job due now has waited for a worker (0 when none
    /// waits): the alert of a deployment whose workers stopped (a cron that
    /// no longer fires, a worker host down).
    pub oldest_queued_secs: u64,
    /// Workers alive now: seen by their loop (`export_workers`) or beating
    /// for a running job within `stale_after`; a worker's loop records
    /// itself at each poll (at least every `poll_interval`).
    pub live_workers: u64,
    /// When a worker was last seen (its loop, a claim or a running job's beat).
    pub last_worker_seen_at: Option<DateTime<Utc>>,
    /// Whether the failure rate is above [`FAILURE_RATE_ALERT`].
    pub failure_rate_alert: bool,
    /// The scheduled maintenance runs started in the window, with their
    /// counts, oldest first.
    pub maintenance: Vec<ScheduledRun>,
}

/// Average duration of one format and size bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DurationBucket {
    /// Format name.
    pub format: String,
    /// `<1MB`, `1-10MB`, `10-100MB` or `>=100MB`.
    pub size_bucket: String,
    /// Exports in the bucket.
    pub exports: u64,
    /// Their average duration.
    pub avg_duration_ms: f64,
}

/// Export volume in one hour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HourVolume {
    /// Start of the hour.
    pub hour: DateTime<Utc>,
    /// Exports requested.
    pub requested: u64,
    /// Bytes of completed files.
    pub bytes: u64,
}

impl ExportService {
    /// Aggregates the audit trail since `since` (service privileges). Only
    /// well-typed metric details count, so no event can make it fail.
    pub async fn metrics(&self, since: DateTime<Utc>) -> Result<MetricsReport> {
        let answer = self.aggregate(since).await;
        self.observe("metrics", answer)
    }

    async fn aggregate(&self, since: DateTime<Utc>) -> Result<MetricsReport> {
        let client = self.database().client().await?;
        let outcome = client
            .query_one(
                "SELECT count(*) FILTER (WHERE event = 'completed'),
                        count(*) FILTER (WHERE event = 'failed')
                 FROM export_audit_events WHERE created_at >= $1 AND event IN ('completed', 'failed')",
                &[&since],
            )
            .await?;
        let (completed, failed) = (count(outcome.get(0)), count(outcome.get(1)));
        let avg_duration_ms = client
            .query(
                "SELECT detail->'metric'->>'format' AS format,
                   CASE WHEN (detail->'metric'->>'file_size')::numeric < 1048576 THEN '<1MB'
                        WHEN (detail->'metric'->>'file_size')::numeric < 10485760 THEN '1-10MB'
                        WHEN (detail->'metric'->>'file_size')::numeric < 104857600 THEN '10-100MB'
                        ELSE '>=100MB' END AS bucket,
                   count(*), avg((detail->'metric'->>'duration_ms')::float8)
                 FROM export_audit_events
                 WHERE event = 'completed' AND created_at >= $1 AND detail ? 'metric'
                   AND jsonb_typeof(detail->'metric'->'file_size') = 'number'
                   AND jsonb_typeof(detail->'metric'->'duration_ms') = 'number'
                   AND jsonb_typeof(detail->'metric'->'format') = 'string'
                 GROUP BY 1, 2 ORDER BY 1, 2",
                &[&since],
            )
            .await?
            .iter()
            .map(|r| DurationBucket {
                format: r.get(0),
                size_bucket: r.get(1),
                exports: count(r.get(2)),
                avg_duration_ms: r.get(3),
            })
            .collect();
        let format_distribution = client
            .query(
                "SELECT format, count(*) FROM export_logs WHERE created_at >= $1 GROUP BY format",
                &[&since],
            )
            .await?
            .iter()
            .map(|r| (r.get(0), count(r.get(1))))
            .collect();
        let volume_per_hour = client
            .query(
                "SELECT date_trunc('hour', created_at) AS hour,
                   count(*) FILTER (WHERE event = 'requested'),
                   COALESCE(sum((detail->'metric'->>'file_size')::numeric)
                            FILTER (WHERE event = 'completed'
                              AND jsonb_typeof(detail->'metric'->'file_size') = 'number'), 0)::bigint
                 FROM export_audit_events
                 WHERE created_at >= $1 AND event IN ('requested', 'completed')
                 GROUP BY 1 ORDER BY 1",
                &[&since],
            )
            .await?
            .iter()
            .map(|r| HourVolume {
                hour: r.get(0),
                requested: count(r.get(1)),
                bytes: count(r.get(2)),
            })
            .collect();
        let stale = self.config().stale_after.as_secs_f64();
        let queue = client
            .query_one(
                "SELECT count(*) FILTER (WHERE status = 'queued'),
                        count(*) FILTER (WHERE status = 'running'),
                        COALESCE(extract(epoch FROM now() - min(run_after)
                          FILTER (WHERE status = 'queued' AND run_after <= now())), 0)::bigint,
                        (SELECT count(*) FROM (
                           SELECT worker_id FROM export_workers
                            WHERE seen_at >= now() - make_interval(secs => $1)
                           UNION
                           SELECT locked_by FROM export_jobs
                            WHERE status = 'running' AND locked_by NOT LIKE 'sync-%'
                              AND heartbeat_at >= now() - make_interval(secs => $1)) w),
                        greatest((SELECT max(seen_at) FROM export_workers),
                                 (SELECT max(heartbeat_at) FROM export_jobs
                                   WHERE locked_by NOT LIKE 'sync-%'))
                 FROM export_jobs WHERE status IN ('queued', 'running')",
                &[&stale],
            )
            .await?;
        drop(client);
        let maintenance = self.schedule_runs(since).await?;
        let finished = completed + failed;
        let failure_rate = if finished == 0 { 0.0 } else { failed as f64 / finished as f64 };
        Ok(MetricsReport {
            since,
            completed,
            failed,
            success_rate: 1.0 - failure_rate,
            avg_duration_ms,
            format_distribution,
            volume_per_hour,
            queue_depth: count(queue.get(0)),
            running_jobs: count(queue.get(1)),
            oldest_queued_secs: count(queue.get(2)),
            live_workers: count(queue.get(3)),
            last_worker_seen_at: queue.get(4),
            failure_rate_alert: failure_rate > FAILURE_RATE_ALERT,
            maintenance,
        })
    }
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
