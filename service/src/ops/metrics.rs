//! Export metrics: one [`MetricEvent`] per finished export, and the
//! aggregate [`MetricsReport`] computed in SQL from the audit trail, the
//! logs and the jobs, with the request latencies the route layer recorded
//! in this process ([`ExportService::record_request`]). Its Prometheus text
//! is [`ExportService::prometheus_metrics`] (`prometheus.rs`).
//!
//! Every label set is bounded: formats and statuses are fixed lists,
//! exports per user a histogram (never a label per user), routes at most
//! [`MAX_ROUTES`](crate::events::MAX_ROUTES) names.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::events::{Histogram, RouteLatency};
use crate::Result;
use crate::{ExportService, ScheduledRun};

/// The failure rate above which [`MetricsReport::failure_rate_alert`] is set.
pub const FAILURE_RATE_ALERT: f64 = 0.10;

/// Upper bounds (seconds) of the export duration histogram.
pub const DURATION_BUCKETS: [f64; 8] = [0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0];

/// Upper bounds of the exports-per-user histogram (exports in the window).
pub const PER_USER_BUCKETS: [u64; 6] = [1, 2, 5, 10, 20, 50];

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
    /// Exports requested in the window, by format and current status.
    pub exports_by_status: Vec<StatusCount>,
    /// Run time of the exports completed in the window, per format.
    pub durations: Vec<Histogram>,
    /// File sizes of the exports completed in the window, per format.
    pub file_sizes: Vec<FileSizes>,
    /// Bytes of every downloadable file now (completed, neither expired nor
    /// deleted), every user's: what the storage holds for downloads.
    pub storage_bytes: u64,
    /// Users by the exports they requested in the window: `le` bounds of
    /// [`PER_USER_BUCKETS`], cumulative counts (the last bucket is `+Inf`).
    pub exports_per_user: Histogram,
    /// Seconds the longest-running export has run (0 when none runs).
    pub longest_running_secs: u64,
    /// Request latency per route, as the route layer of this process
    /// recorded it ([`ExportService::record_request`]), since it started.
    pub requests: Vec<RouteLatency>,
}

/// Exports of one format and status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusCount {
    /// Format name.
    pub format: String,
    /// `queued`, `processing`, `completed`, `failed` or `expired`.
    pub status: String,
    /// Exports.
    pub exports: u64,
}

/// File sizes of one format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileSizes {
    /// Format name.
    pub format: String,
    /// Files.
    pub files: u64,
    /// Their total bytes.
    pub total_bytes: u64,
    /// The average file, in bytes.
    pub avg_bytes: f64,
    /// The largest file, in bytes.
    pub max_bytes: u64,
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

    /// Records one answered request of the route layer: its route name
    /// (letters, digits and `_`, at most 40; past [`MAX_ROUTES`](crate::events::MAX_ROUTES) names, or
    /// another name, it counts as `other`), its HTTP status and how long it
    /// took. Held in this process, shared by the service's clones;
    /// [`metrics`](Self::metrics) reports it as `requests`.
    pub fn record_request(&self, route: &str, status: u16, elapsed: std::time::Duration) {
        self.request_stats().lock().unwrap_or_else(std::sync::PoisonError::into_inner).record(
            route,
            status,
            elapsed.as_secs_f64(),
        );
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
        let exports_by_status = client
            .query(
                "SELECT format, status, count(*) FROM export_logs WHERE created_at >= $1
                 GROUP BY 1, 2 ORDER BY 1, 2",
                &[&since],
            )
            .await?
            .iter()
            .map(|r| StatusCount { format: r.get(0), status: r.get(1), exports: count(r.get(2)) })
            .collect();
        let durations = histograms(
            &client
                .query(
                    "WITH e AS (
                       SELECT detail->'metric'->>'format' AS label,
                              (detail->'metric'->>'duration_ms')::float8 / 1000 AS v
                       FROM export_audit_events
                       WHERE event = 'completed' AND created_at >= $1
                         AND jsonb_typeof(detail->'metric'->'duration_ms') = 'number'
                         AND jsonb_typeof(detail->'metric'->'format') = 'string')
                     SELECT label, array_agg(n ORDER BY le), min(total), min(observed)
                     FROM (SELECT label, le, count(*) FILTER (WHERE v <= le) AS n,
                                  sum(v) AS total, count(*) AS observed
                           FROM e CROSS JOIN unnest($2::text::float8[]) AS b(le) GROUP BY 1, 2) h
                     GROUP BY 1 ORDER BY 1",
                    &[&since, &pg_array(&DURATION_BUCKETS)],
                )
                .await?,
            &DURATION_BUCKETS,
        );
        let file_sizes = client
            .query(
                "SELECT format, count(*), sum(file_size)::bigint, avg(file_size)::float8,
                        max(file_size)
                 FROM export_logs WHERE created_at >= $1 AND file_size IS NOT NULL
                 GROUP BY 1 ORDER BY 1",
                &[&since],
            )
            .await?
            .iter()
            .map(|r| FileSizes {
                format: r.get(0),
                files: count(r.get(1)),
                total_bytes: count(r.get(2)),
                avg_bytes: r.get(3),
                max_bytes: count(r.get(4)),
            })
            .collect();
        let per_user: Vec<f64> = PER_USER_BUCKETS.iter().map(|b| *b as f64).collect();
        let exports_per_user = histograms(
            &client
                .query(
                    "WITH e AS (SELECT ''::text AS label, count(*)::float8 AS v FROM export_logs
                                WHERE created_at >= $1 GROUP BY user_id)
                     SELECT label, array_agg(n ORDER BY le), min(total), min(observed)
                     FROM (SELECT label, le, count(*) FILTER (WHERE v <= le) AS n,
                                  sum(v) AS total, count(*) AS observed
                           FROM e CROSS JOIN unnest($2::text::float8[]) AS b(le) GROUP BY 1, 2) h
                     GROUP BY 1",
                    &[&since, &pg_array(&per_user)],
                )
                .await?,
            &per_user,
        )
        .pop()
        .unwrap_or_else(|| Histogram {
            label: String::new(),
            buckets: per_user.iter().map(|le| (*le, 0)).collect(),
            sum: 0.0,
            count: 0,
        });
        let now = client
            .query_one(
                "SELECT (SELECT COALESCE(sum(file_size), 0)::bigint FROM export_logs
                          WHERE status = 'completed' AND deleted_at IS NULL
                            AND (expires_at IS NULL OR expires_at > now())),
                        (SELECT COALESCE(extract(epoch FROM now() - min(s.created_at)), 0)::bigint
                          FROM export_jobs j
                          CROSS JOIN LATERAL (SELECT created_at FROM export_audit_events a
                            WHERE a.export_id = j.export_id AND a.event = 'started'
                            ORDER BY a.seq DESC LIMIT 1) s
                          WHERE j.status = 'running')",
                &[],
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
            exports_by_status,
            durations,
            file_sizes,
            storage_bytes: count(now.get(0)),
            exports_per_user,
            longest_running_secs: count(now.get(1)),
            requests: self
                .request_stats()
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .routes
                .values()
                .cloned()
                .collect(),
        })
    }
}

/// `bounds` as a PostgreSQL array literal (`{0.1,0.5}`), sent as text.
fn pg_array(bounds: &[f64]) -> String {
    let items: Vec<String> = bounds.iter().map(f64::to_string).collect();
    format!("{{{}}}", items.join(","))
}

/// Histograms from rows of `label, counts at each bound, sum, count`.
fn histograms(rows: &[tokio_postgres::Row], bounds: &[f64]) -> Vec<Histogram> {
    rows.iter()
        .map(|r| {
            let counts: Vec<i64> = r.get(1);
            Histogram {
                label: r.get(0),
                buckets: bounds.iter().zip(counts).map(|(le, n)| (*le, count(n))).collect(),
                sum: r.get::<_, Option<f64>>(2).unwrap_or(0.0),
                count: count(r.get(3)),
            }
        })
        .collect()
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
