//! Maintenance that runs itself: expiry marking, file cleanup and log
//! retention on cron schedules (UTC), run by whichever worker gets there
//! first and by exactly one.
//!
//! Every fire time of a task is a *period*. A worker that sees a period not
//! yet run claims it with one insert into `export_schedule_runs`, whose key
//! is (task, period): of all the workers that try, one inserts the row and
//! runs the task; the others see the row and skip it. The claim holds a
//! per-task advisory lock for its transaction and is refused while an
//! earlier run of the task is still unfinished (for at most
//! [`RUN_TIMEOUT`], after which that run counts as dead), so runs of a task
//! never overlap. A period whose fire time passed while no worker was up is
//! run by the first worker that starts: the latest period of each task
//! always gets its run. The row records the worker, the times and the
//! task's report ([`ScheduledRun`]); [`ExportService::metrics`] lists them.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::schedules::MaintenanceTask;
use crate::ExportService;
use crate::Result;

/// How long a run may stay unfinished before a later period may start
/// anyway (its worker is taken to have died).
pub const RUN_TIMEOUT: Duration = Duration::from_secs(3600);

/// One run of a scheduled task, as `export_schedule_runs` records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduledRun {
    /// The task.
    pub task: MaintenanceTask,
    /// The fire time it ran for.
    pub period_start: DateTime<Utc>,
    /// The worker that ran it.
    pub worker_id: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended (`None` while it runs, or when its worker died).
    pub finished_at: Option<DateTime<Utc>>,
    /// The task's report ([`CleanupReport`](super::CleanupReport),
    /// [`PurgeReport`](super::PurgeReport), or `{"marked_expired": n}`).
    pub counts: Option<serde_json::Value>,
    /// Why it failed, if it did (the next period runs it again).
    pub error: Option<String>,
}

/// The periods a worker knows were taken care of, so that it asks the
/// database only when a task's latest period changes.
#[derive(Debug, Default)]
pub(crate) struct SeenPeriods([Option<DateTime<Utc>>; 3]);

impl ExportService {
    /// Runs every task whose latest period (by [`ServiceConfig::schedules`](crate::ServiceConfig::schedules))
    /// nobody has claimed yet, as `worker_id`, and returns the runs this call
    /// made. Safe to call from any number of processes at once, e.g. from a
    /// cron route: each period runs once. Workers call it between jobs.
    pub async fn run_due_maintenance(&self, worker_id: &str) -> Result<Vec<ScheduledRun>> {
        let answer = self.maintain(worker_id, &mut SeenPeriods::default()).await;
        self.observe("run_due_maintenance", answer)
    }

    pub(crate) async fn maintain(
        &self,
        worker_id: &str,
        seen: &mut SeenPeriods,
    ) -> Result<Vec<ScheduledRun>> {
        let now = Utc::now();
        let mut runs = Vec::new();
        for (i, task) in MaintenanceTask::ALL.into_iter().enumerate() {
            let Some(period) = self.config().schedules.get(task).and_then(|s| s.latest_before(now))
            else {
                continue;
            };
            if seen.0[i].is_some_and(|p| p >= period) {
                continue;
            }
            if self.claim_period(task, period, worker_id).await? {
                runs.push(self.run_task(task, period, worker_id).await?);
            }
            seen.0[i] = Some(period);
        }
        Ok(runs)
    }

    /// The leader lock of one period: true when this worker inserted its row.
    async fn claim_period(
        &self,
        task: MaintenanceTask,
        period: DateTime<Utc>,
        worker_id: &str,
    ) -> Result<bool> {
        let mut client = self.database().client().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('lora_export.schedule.' || $1, 0))",
            &[&task.as_str()],
        )
        .await?;
        let timeout = RUN_TIMEOUT.as_secs_f64();
        let claimed = tx
            .execute(
                "INSERT INTO export_schedule_runs (task, period_start, worker_id)
                 SELECT $1, $2, $3
                 WHERE NOT EXISTS (
                   SELECT 1 FROM export_schedule_runs WHERE task = $1 AND finished_at IS NULL
                     AND started_at > now() - make_interval(secs => $4))
                 ON CONFLICT (task, period_start) DO NOTHING",
                &[&task.as_str(), &period, &worker_id, &timeout],
            )
            .await?;
        tx.commit().await?;
        Ok(claimed == 1)
    }

    /// Runs `task` for its claimed `period` and records how it ended.
    async fn run_task(
        &self,
        task: MaintenanceTask,
        period: DateTime<Utc>,
        worker_id: &str,
    ) -> Result<ScheduledRun> {
        let outcome = match task {
            MaintenanceTask::ExpireExports => self
                .mark_expired_exports()
                .await
                .map(|marked| serde_json::json!({ "marked_expired": marked })),
            MaintenanceTask::CleanupFiles => {
                self.cleanup_expired().await.and_then(|r| Ok(serde_json::to_value(r)?))
            }
            MaintenanceTask::PurgeLogs => {
                self.purge_old_logs().await.and_then(|r| Ok(serde_json::to_value(r)?))
            }
        };
        let (counts, error) = match outcome {
            Ok(counts) => (Some(counts), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let client = self.database().client().await?;
        let row = client
            .query_one(
                "UPDATE export_schedule_runs SET finished_at = now(), counts = $3, error = $4
                 WHERE task = $1 AND period_start = $2 AND worker_id = $5
                 RETURNING task, period_start, worker_id, started_at, finished_at, counts, error",
                &[&task.as_str(), &period, &counts, &error, &worker_id],
            )
            .await?;
        scheduled_run(&row)
    }

    /// The scheduled runs started since `since`, oldest first.
    pub(crate) async fn schedule_runs(&self, since: DateTime<Utc>) -> Result<Vec<ScheduledRun>> {
        let client = self.database().client().await?;
        client
            .query(
                "SELECT task, period_start, worker_id, started_at, finished_at, counts, error
                 FROM export_schedule_runs WHERE started_at >= $1 ORDER BY started_at, task",
                &[&since],
            )
            .await?
            .iter()
            .map(scheduled_run)
            .collect()
    }
}

fn scheduled_run(row: &tokio_postgres::Row) -> Result<ScheduledRun> {
    let task: String = row.get(0);
    Ok(ScheduledRun {
        task: MaintenanceTask::parse(&task).ok_or_else(|| {
            crate::Error::internal("DATABASE_ERROR", format!("unknown scheduled task `{task}`"))
        })?,
        period_start: row.get(1),
        worker_id: row.get(2),
        started_at: row.get(3),
        finished_at: row.get(4),
        counts: row.get(5),
        error: row.get(6),
    })
}
