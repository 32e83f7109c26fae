//! Background workers: any number of them — tasks, processes, machines —
//! share the `export_jobs` queue of one database.
//!
//! A worker claims one job at a time with `FOR UPDATE SKIP LOCKED`: a queued
//! job whose `run_after` has come, or a running job whose heartbeat is older
//! than `stale_after` (its worker died: the job is *rescued*). While running
//! it beats the heartbeat after its first batch and then after the first
//! batch a second (or a quarter of `stale_after`, if less) after the last
//! beat — so `stale_after` must exceed the time a batch takes — and stops
//! when the job was cancelled or another worker took it over. A failed
//! attempt is retried after `2^attempt` seconds (at most 5 minutes) until
//! `max_attempts`, then the export fails. The loop around it — maintenance
//! between jobs, and the idle worker's sleep, whose polling finds retries
//! whose backoff passed, dead workers' jobs and anything a lost notification
//! would have announced — is `ops/worker.rs`.

use std::time::{Duration, Instant};

use serde_json::json;
use uuid::Uuid;

use crate::db::rows::audit;
use crate::jobs::run::{elapsed_ms, failure_reason, Lease, RunEnd, RunTarget};
use crate::ExportService;
use crate::{ErrorKind, Result};
use lora_export_core::audit::safe_error_message;
use lora_export_core::model::ExportRequest;
use lora_export_core::request::validate_request;

/// One claimed job.
struct Claim {
    lease: Lease,
    export_id: Uuid,
    max_attempts: u32,
}

/// How one claimed job ended.
pub(crate) enum JobEnd {
    Completed,
    Retried,
    Failed,
    Stopped,
}

impl ExportService {
    /// Runs the jobs runnable now, at most `limit`, one after the other;
    /// returns how many were claimed.
    pub async fn process_jobs(&self, limit: u64) -> Result<u64> {
        let answer = self.process_some(limit).await;
        self.observe_operator("process_jobs", answer)
    }

    async fn process_some(&self, limit: u64) -> Result<u64> {
        let worker_id = format!("process-jobs-{}-{}", std::process::id(), Uuid::new_v4().simple());
        let mut claimed = 0;
        while claimed < limit {
            if self.process_next(&worker_id, None).await?.is_none() {
                break;
            }
            claimed += 1;
        }
        Ok(claimed)
    }

    /// Claims one job and runs it; `None` when nothing is runnable.
    pub(crate) async fn process_next(
        &self,
        worker_id: &str,
        throttle: Option<Duration>,
    ) -> Result<Option<JobEnd>> {
        let Some(claim) = self.claim(worker_id, throttle).await? else {
            return Ok(None);
        };
        let client = self.database().client().await?;
        let row = client
            .query_one(
                "SELECT l.user_id, l.request, j.claims, j.source FROM export_logs l, export_jobs j
                 WHERE l.export_id = $1 AND j.id = $2",
                &[&claim.export_id, &claim.lease.job_id],
            )
            .await?;
        drop(client);
        let user_id: Uuid = row.get(0);
        let request: Option<serde_json::Value> = row.get(1);
        let claims: Option<serde_json::Value> = row.get(2);
        let source: Option<String> = row.get(3);
        // The stored request is validated again, exactly as `create_export`
        // validates a body: a row the service did not write runs nothing.
        let request: Result<ExportRequest> = match request {
            Some(r) => validate_request(&r).map_err(|issues| {
                let reasons: Vec<String> = issues.iter().map(ToString::to_string).collect();
                let message = format!("the stored request is invalid: {}", reasons.join("; "));
                ErrorKind::ExportFailed { id: claim.export_id.to_string(), message }.into()
            }),
            None => Err(ErrorKind::Database("the export has no stored request".into()).into()),
        };
        let attempt = claim.lease.attempt;
        let target = RunTarget { export_id: claim.export_id, user_id, lease: claim.lease, claims };
        let started = Instant::now();
        let outcome = if attempt > claim.max_attempts {
            let message = format!(
                "its worker stopped responding; gave up after {} attempts",
                claim.max_attempts
            );
            Err(ErrorKind::ExportFailed { id: claim.export_id.to_string(), message }.into())
        } else {
            match (request, self.check_job_source(source)) {
                (Ok(request), Ok(())) => self.run_export(&target, &request).await,
                (Err(e), _) | (_, Err(e)) => Err(e),
            }
        };
        let outcome = self.observe_attempt("run_worker", claim.export_id, attempt, outcome);
        let end = match outcome {
            Ok(RunEnd::Completed(_)) => JobEnd::Completed,
            Ok(RunEnd::Stopped) => JobEnd::Stopped,
            Err(error)
                if attempt < claim.max_attempts
                    && !matches!(
                        error.kind(),
                        ErrorKind::ExportFailed { .. } | ErrorKind::ExportTooLarge { .. }
                    ) =>
            {
                self.retry(&target, &error, attempt).await?;
                JobEnd::Retried
            }
            Err(error) => {
                self.record_failure(&target, &error, elapsed_ms(started)).await?;
                JobEnd::Failed
            }
        };
        Ok(Some(end))
    }

    /// Refuses to run a job requested from other relations than this
    /// service reads (a worker without the app's source tables would read
    /// the library's own and complete with a wrong file): an internal error
    /// naming both, so the attempt is retried, by a worker that reads the
    /// same ones, until the job's attempts are spent. `None`: a job queued
    /// before jobs recorded their source.
    fn check_job_source(&self, source: Option<String>) -> Result<()> {
        let ours = self.source_tables().names();
        match source {
            Some(theirs) if theirs != ours => Err(crate::Error::internal(
                "SOURCE_MISMATCH",
                format!(
                    "the export was requested from {theirs} but this worker reads {ours}: give \
                     every worker the app's LORA_EXPORT_CONVERSATIONS_TABLE and \
                     LORA_EXPORT_TURNS_TABLE (conversations_table, turns_table)"
                ),
            )),
            _ => Ok(()),
        }
    }

    /// The claim of the brief: one queued-and-due or stale running job. A
    /// stale job's claim (a rescue) and its `rescued` event commit together.
    async fn claim(&self, worker_id: &str, throttle: Option<Duration>) -> Result<Option<Claim>> {
        let mut client = self.database().client().await?;
        let tx = client.transaction().await?;
        let stale = self.config().stale_after.as_secs_f64();
        let row = tx
            .query_opt(
                "WITH c AS (
                   SELECT id, status AS prev_status, locked_by AS prev_worker FROM export_jobs
                   WHERE (status = 'queued' AND run_after <= now())
                      OR (status = 'running' AND heartbeat_at < now() - make_interval(secs => $2))
                   ORDER BY run_after FOR UPDATE SKIP LOCKED LIMIT 1)
                 UPDATE export_jobs j SET status = 'running', attempts = j.attempts + 1,
                   locked_by = $1, heartbeat_at = now(), updated_at = now()
                 FROM c WHERE j.id = c.id
                 RETURNING j.id, j.export_id, j.attempts, j.max_attempts, j.total_items,
                   c.prev_status, c.prev_worker,
                   (SELECT l.user_id FROM export_logs l WHERE l.export_id = j.export_id)",
                &[&worker_id, &stale],
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        let claim = Claim {
            lease: Lease {
                job_id: row.get(0),
                worker_id: worker_id.to_owned(),
                total_items: u64::try_from(row.get::<_, i32>(4)).unwrap_or(0),
                attempt: u32::try_from(row.get::<_, i32>(2)).unwrap_or(u32::MAX),
                throttle,
            },
            export_id: row.get(1),
            max_attempts: u32::try_from(row.get::<_, i32>(3)).unwrap_or(1),
        };
        if row.get::<_, String>(5) == "running" {
            let previous = row.get::<_, Option<String>>(6).unwrap_or_default();
            let detail = json!({
                "previous_worker": previous,
                "worker": worker_id,
                "attempt": claim.lease.attempt,
            });
            let user_id: Option<Uuid> = row.get(7);
            let user_id = user_id.ok_or_else(|| {
                ErrorKind::Database(format!("job of export {} has no log", claim.export_id))
            })?;
            audit(&tx, self.audit_key(), claim.export_id, user_id, "rescued", detail).await?;
        }
        tx.commit().await?;
        Ok(Some(claim))
    }

    /// Puts the job back in the queue after a backoff (audit `retried`).
    async fn retry(&self, target: &RunTarget, error: &crate::Error, attempt: u32) -> Result<()> {
        let lease = &target.lease;
        let backoff = 2f64.powi(i32::try_from(attempt).unwrap_or(8).min(8)).min(300.0);
        let message = safe_error_message(&failure_reason(error));
        let mut client = self.database().client().await?;
        let tx = client.transaction().await?;
        let held = tx
            .execute(
                "UPDATE export_jobs SET status = 'queued', locked_by = NULL, last_error = $3,
                   run_after = now() + make_interval(secs => $4), updated_at = now()
                 WHERE id = $1 AND locked_by = $2 AND status = 'running'",
                &[&lease.job_id, &lease.worker_id, &message, &backoff],
            )
            .await?;
        if held == 1 {
            let detail = json!({ "attempt": attempt, "error": message, "retry_in_secs": backoff });
            audit(&tx, self.audit_key(), target.export_id, target.user_id, "retried", detail)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
