//! The worker loop: between jobs of the queue (`jobs/worker.rs`) a worker
//! runs the maintenance tasks that are due (`ops/schedule.rs`), evaluates
//! the alerts every minute (`ops/alerts.rs`) and records
//! that it is alive (`export_workers`, read by health and metrics); idle, it
//! sleeps until a job is queued (`LISTEN`/`NOTIFY` on a connection of its
//! own, see `db/listen.rs`), the next fire time of a maintenance schedule,
//! or `poll_interval`, whichever comes first.

use std::time::{Duration, Instant};

use chrono::Utc;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::alerts::ALERT_EVERY;
use super::schedule::SeenPeriods;
use crate::db::JobListener;
use crate::jobs::JobEnd;
use crate::ExportService;
use crate::Result;

/// How a worker runs.
///
/// ```
/// use lora_export_service::WorkerOptions;
/// let options = WorkerOptions::new("worker-1");
/// assert_eq!(options.poll_interval, std::time::Duration::from_secs(5));
/// assert!(options.listen && options.maintenance);
/// assert!(options.max_jobs.is_none() && options.stop.is_none());
/// ```
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Written to `export_jobs.locked_by`; unique per worker.
    pub worker_id: String,
    /// The longest pause when the queue is empty (default 5 s): the
    /// fallback to notifications.
    pub poll_interval: Duration,
    /// Wake when a job is queued, through `LISTEN` on a connection of its
    /// own (default true; when it cannot connect, or its connection drops,
    /// the worker polls and tries again every 30 s; behind a
    /// transaction-mode pooler it only polls).
    pub listen: bool,
    /// Run the maintenance tasks that are due by the service's
    /// [`schedules`](crate::ServiceConfig::schedules) (default true;
    /// each period runs on one worker only).
    pub maintenance: bool,
    /// Return after this many jobs (default: never).
    pub max_jobs: Option<u64>,
    /// Return when this turns `true` (between jobs; a running job finishes).
    pub stop: Option<watch::Receiver<bool>>,
    /// Pause after each batch, to spare a shared database (default none).
    pub throttle: Option<Duration>,
}

impl WorkerOptions {
    /// Options with the defaults above.
    pub fn new(worker_id: impl Into<String>) -> Self {
        WorkerOptions {
            worker_id: worker_id.into(),
            poll_interval: Duration::from_secs(5),
            listen: true,
            maintenance: true,
            max_jobs: None,
            stop: None,
            throttle: None,
        }
    }
}

/// What a worker did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerReport {
    /// Jobs claimed.
    pub claimed: u64,
    /// Exports completed.
    pub completed: u64,
    /// Attempts that failed and were scheduled again.
    pub retried: u64,
    /// Exports failed for good.
    pub failed: u64,
    /// Jobs stopped because they were cancelled or taken over.
    pub stopped: u64,
    /// Scheduled maintenance runs this worker made.
    pub maintenance_runs: u64,
    /// Errors met outside a job's own run, e.g. the database being down
    /// (the worker kept going).
    pub errors: u64,
    /// The last of those errors.
    pub last_error: Option<String>,
}

impl ExportService {
    /// Runs jobs until `options.stop` turns true or `max_jobs` were claimed.
    ///
    /// The loop outlives the database: a failure outside a job's own run (a
    /// connection refused, the database restarting) or of its maintenance
    /// is reported to the error sink (a JSON line on stderr by default, with its cause), counted
    /// in the [`WorkerReport`], and followed by a pause that doubles with
    /// each failure in a row, from `poll_interval` up to [`MAX_BACKOFF`];
    /// the first success ends it.
    pub async fn run_worker(&self, mut options: WorkerOptions) -> Result<WorkerReport> {
        let mut report = WorkerReport::default();
        let mut wake = Wake::default();
        let mut seen = SeenPeriods::default();
        let mut alerted: Option<Instant> = None;
        let mut failures = 0u32;
        loop {
            if options.stop.as_ref().is_some_and(|s| *s.borrow())
                || options.max_jobs.is_some_and(|max| report.claimed >= max)
            {
                let left = self.worker_left(&options.worker_id).await;
                if let Err(e) = self.observe_operator("run_worker", left) {
                    report.error(e);
                }
                return Ok(report);
            }
            if options.maintenance {
                let maintained = self.maintain(&options.worker_id, &mut seen).await;
                match self.observe_operator("maintenance", maintained) {
                    Ok(runs) => report.maintenance_runs += runs.len() as u64,
                    Err(e) => report.error(e),
                }
                if !alerted.is_some_and(|at| at.elapsed() < ALERT_EVERY) {
                    alerted = Some(Instant::now());
                    if let Err(e) = self.evaluate_alerts().await {
                        report.error(e);
                    }
                }
            }
            let next = async {
                self.worker_seen(&options.worker_id).await?;
                self.process_next(&options.worker_id, options.throttle).await
            }
            .await;
            match self.observe_operator("run_worker", next) {
                Ok(Some(end)) => {
                    failures = 0;
                    tally(&mut report, end);
                }
                Ok(None) => {
                    failures = 0;
                    let pause = options.poll_interval;
                    wake.wait(self, &mut options, pause).await;
                }
                Err(e) => {
                    report.error(e);
                    failures = failures.saturating_add(1);
                    let pause = backoff(options.poll_interval, failures);
                    wake.wait(self, &mut options, pause).await;
                }
            }
        }
    }
}

impl ExportService {
    /// Records that `worker_id` is alive now, and forgets the workers not
    /// seen for a day.
    async fn worker_seen(&self, worker_id: &str) -> Result<()> {
        let client = self.database().client().await?;
        client
            .execute(
                "WITH gone AS (DELETE FROM export_workers WHERE seen_at < now() - interval '1 day')
                 INSERT INTO export_workers (worker_id) VALUES ($1)
                 ON CONFLICT (worker_id) DO UPDATE SET seen_at = now()",
                &[&worker_id],
            )
            .await?;
        Ok(())
    }

    /// Removes `worker_id` from the workers seen: it stopped.
    async fn worker_left(&self, worker_id: &str) -> Result<()> {
        let client = self.database().client().await?;
        client.execute("DELETE FROM export_workers WHERE worker_id = $1", &[&worker_id]).await?;
        Ok(())
    }
}

fn tally(report: &mut WorkerReport, end: JobEnd) {
    report.claimed += 1;
    match end {
        JobEnd::Completed => report.completed += 1,
        JobEnd::Retried => report.retried += 1,
        JobEnd::Failed => report.failed += 1,
        JobEnd::Stopped => report.stopped += 1,
    }
}

impl WorkerReport {
    fn error(&mut self, error: crate::Error) {
        self.errors += 1;
        self.last_error = Some(error.to_string());
    }
}

/// The longest pause of a worker after failures in a row.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// The pause after `failures` failures in a row: `poll_interval`, doubled
/// for each failure after the first, at most [`MAX_BACKOFF`].
///
/// ```text
/// poll 5 s: 5 s, 10 s, 20 s, 40 s, 60 s, 60 s, …
/// ```
fn backoff(poll_interval: Duration, failures: u32) -> Duration {
    let doubled = poll_interval.saturating_mul(1 << failures.saturating_sub(1).min(16));
    doubled.min(MAX_BACKOFF.max(poll_interval))
}

/// What ends an idle worker's pause: a notification, a schedule's fire time,
/// `poll_interval`, or `stop`.
#[derive(Default)]
struct Wake {
    listener: Option<JobListener>,
    last_attempt: Option<Instant>,
}

/// How long a worker whose listening connection failed waits before it
/// tries again.
const RELISTEN_AFTER: Duration = Duration::from_secs(30);

impl Wake {
    /// Sleeps at most `pause`.
    async fn wait(
        &mut self,
        service: &ExportService,
        options: &mut WorkerOptions,
        pause: Duration,
    ) {
        if options.listen {
            self.relisten(service).await;
        }
        let mut pause = pause;
        if options.maintenance {
            let now = Utc::now();
            if let Some(fire) = service.config().schedules.next_after(now) {
                pause = pause.min((fire - now).to_std().unwrap_or_default());
            }
        }
        let notified = async {
            match &self.listener {
                Some(listener) if listener.is_alive() => listener.notified().await,
                _ => std::future::pending().await,
            }
        };
        let stopped = async {
            match options.stop.as_mut() {
                Some(stop) => {
                    let _ = stop.changed().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = notified => {}
            _ = stopped => {}
        }
    }

    /// Opens the listening connection when there is none (or it dropped),
    /// at most every [`RELISTEN_AFTER`].
    async fn relisten(&mut self, service: &ExportService) {
        if self.listener.as_ref().is_some_and(JobListener::is_alive)
            || self.last_attempt.is_some_and(|t| t.elapsed() < RELISTEN_AFTER)
        {
            return;
        }
        self.last_attempt = Some(Instant::now());
        self.listener = service.database().listen_for_jobs().await.ok();
    }
}
