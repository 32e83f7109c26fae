//! Running one export: conversations stream from the database in batches,
//! through the core's [`ExportWriter`](crate::ExportWriter) on a blocking
//! thread, into a staged file that becomes visible only once complete.
//!
//! ```text
//! async reader (user transaction, RLS) ──batches──▶ bounded channel (2)
//!     │ heartbeat + progress per batch                  │
//!     ▼                                                 ▼
//! export_jobs                       spawn_blocking: ExportWriter → StagedFile
//!                                   Finish → finish, fsync, rename (commit)
//! ```

use std::io::BufWriter;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::json;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::create::CompletedExport;
use super::metrics::MetricEvent;
use super::rows::{audit, file_type, lock_log, save_log};
use super::source::ConversationSource;
use super::storage::{FileKey, Storage};
use super::{Database, ExportService};
use crate::audit::{file_name_for, safe_error_message, ExportStatus};
use crate::model::ExportRequest;
use crate::pipeline::ExportBuilder;
use crate::source::Record;
use crate::{ErrorKind, ExportSummary, Result};

/// The export a run is for, and the job lease when a worker runs it.
#[derive(Debug, Clone)]
pub(super) struct RunTarget {
    pub export_id: Uuid,
    pub user_id: Uuid,
    pub lease: Option<Lease>,
}

/// A worker's claim on a job: valid while the job is `running` and
/// `locked_by` is still this worker.
#[derive(Debug, Clone)]
pub(super) struct Lease {
    pub job_id: Uuid,
    pub worker_id: String,
    pub total_items: u64,
    pub attempt: u32,
    pub throttle: Option<Duration>,
}

/// How a run ended without an error.
#[derive(Debug)]
pub(super) enum RunEnd {
    Completed(Box<CompletedExport>),
    /// The job was cancelled or another worker took it over.
    Stopped,
}

/// What the reader sends the blocking writer.
enum Feed {
    Batch(Vec<Record>),
    Finish,
}

impl ExportService {
    /// Runs `target` to completion; on `Err` the log is left for the caller
    /// to fail or retry ([`record_failure`](Self::record_failure)).
    pub(super) async fn run_export(
        &self,
        target: &RunTarget,
        request: &ExportRequest,
    ) -> Result<RunEnd> {
        let started = Instant::now();
        let timestamp = self.start_run(target).await?;
        let (extension, _) = file_type(request)?;
        let key = FileKey::new(target.user_id, target.export_id, extension)?;
        let builder = ExportBuilder::new(request.clone()).export_date(timestamp);
        let (feed, batches) = mpsc::channel(2);
        let storage = Arc::clone(self.storage());
        let write_key = key.clone();
        let writer = tokio::task::spawn_blocking(move || {
            write_file(builder, &*storage, &write_key, batches)
        });
        let fed = self.feed(target, request, &feed).await;
        if matches!(fed, Ok(true)) {
            // A send error means the writer failed; its error comes from the join.
            let _ = feed.send(Feed::Finish).await;
        }
        drop(feed);
        let written = writer
            .await
            .map_err(|e| ErrorKind::Io(std::io::Error::other(format!("export writer: {e}"))))?;
        match (fed?, written?) {
            (false, _) => Ok(RunEnd::Stopped),
            (true, Some(summary)) => self.complete_run(target, &key, summary, started).await,
            (true, None) => {
                Err(ErrorKind::Io(std::io::Error::other("export writer stopped")).into())
            }
        }
    }

    /// Moves the log to processing (a retried or rescued run finds it there
    /// already), audits `started`, and returns the log's timestamp: the
    /// export date every attempt writes, so retries produce identical bytes.
    async fn start_run(&self, target: &RunTarget) -> Result<chrono::DateTime<Utc>> {
        let mut client = self.database().client().await?;
        let tx = client.transaction().await?;
        let stored = lock_log(&tx, target.export_id)
            .await?
            .ok_or_else(|| ErrorKind::NotFound(target.export_id.to_string()))?;
        if stored.log.status != ExportStatus::Processing {
            save_log(&tx, &stored.log.start(Utc::now())?).await?;
        }
        let attempt = target.lease.as_ref().map_or(1, |l| l.attempt);
        let worker = target.lease.as_ref().map(|l| l.worker_id.as_str());
        let detail = json!({ "attempt": attempt, "worker": worker });
        audit(&tx, target.export_id, target.user_id, "started", detail).await?;
        tx.commit().await?;
        Ok(stored.log.timestamp)
    }

    /// Reads every batch as the user and sends it to the writer, beating the
    /// job's heartbeat after each. `Ok(false)`: the lease was lost.
    async fn feed(
        &self,
        target: &RunTarget,
        request: &ExportRequest,
        feed: &mpsc::Sender<Feed>,
    ) -> Result<bool> {
        let mut client = self.database().client().await?;
        let tx = Database::user_transaction(&mut client, target.user_id).await?;
        let mut source = ConversationSource::new(request, self.config().batch_size)?;
        while let Some(batch) = source.next_batch(&tx).await? {
            if feed.send(Feed::Batch(batch)).await.is_err() {
                return Ok(true);
            }
            if let Some(lease) = &target.lease {
                if !self.heartbeat(lease, source.fetched()).await? {
                    return Ok(false);
                }
                if let Some(pause) = lease.throttle {
                    tokio::time::sleep(pause).await;
                }
            }
        }
        Ok(true)
    }

    /// Records progress (capped at 99 until completion) and the heartbeat;
    /// `false` when the job is no longer this worker's running job.
    async fn heartbeat(&self, lease: &Lease, fetched: u64) -> Result<bool> {
        let progress = (fetched * 100).checked_div(lease.total_items).unwrap_or(0).min(99);
        let client = self.database().client().await?;
        let updated = client
            .execute(
                "UPDATE export_jobs SET heartbeat_at = now(), updated_at = now(),
                   processed_items = $3, progress = $4
                 WHERE id = $1 AND locked_by = $2 AND status = 'running'",
                &[
                    &lease.job_id,
                    &lease.worker_id,
                    &i32::try_from(fetched).unwrap_or(i32::MAX),
                    &i32::try_from(progress).unwrap_or(99),
                ],
            )
            .await?;
        Ok(updated == 1)
    }

    /// Records a committed file: job completed (if the lease still holds),
    /// log completed with size, hash, key and expiry, audit `completed`.
    async fn complete_run(
        &self,
        target: &RunTarget,
        key: &FileKey,
        summary: ExportSummary,
        started: Instant,
    ) -> Result<RunEnd> {
        let mut client = self.database().client().await?;
        let tx = client.transaction().await?;
        if let Some(lease) = &target.lease {
            let held = tx
                .execute(
                    "UPDATE export_jobs SET status = 'completed', progress = 100,
                       processed_items = total_items, heartbeat_at = now(), updated_at = now()
                     WHERE id = $1 AND locked_by = $2 AND status = 'running'",
                    &[&lease.job_id, &lease.worker_id],
                )
                .await?;
            if held == 0 {
                drop(tx);
                self.discard_if_cancelled(lease, key).await?;
                return Ok(RunEnd::Stopped);
            }
        }
        let stored = lock_log(&tx, target.export_id)
            .await?
            .ok_or_else(|| ErrorKind::NotFound(target.export_id.to_string()))?;
        let now = Utc::now();
        let expiry = chrono::Duration::hours(i64::from(self.config().expiry_hours));
        let log = stored.log.complete(&summary, key.as_str(), now, expiry)?;
        let file_name = file_name_for(&summary, stored.log.timestamp.date_naive(), key.extension());
        save_log(&tx, &log).await?;
        tx.execute(
            "UPDATE export_logs SET file_name = $2 WHERE export_id = $1",
            &[&target.export_id, &file_name],
        )
        .await?;
        let metric = MetricEvent {
            timestamp: now,
            export_id: target.export_id,
            user_id: target.user_id,
            format: summary.format.clone(),
            duration_ms: elapsed_ms(started),
            file_size: summary.bytes,
            conversation_count: summary.conversations,
            status: "completed".into(),
        };
        let detail = json!({
            "duration_ms": metric.duration_ms,
            "file_size": summary.bytes,
            "conversation_count": summary.conversations,
            "format": summary.format,
            "skipped": summary.skipped_total,
            "sha256": summary.sha256,
            "metric": metric,
        });
        audit(&tx, target.export_id, target.user_id, "completed", detail).await?;
        tx.commit().await?;
        self.emit(&metric);
        let expires_at = log.expires_at.unwrap_or(now);
        Ok(RunEnd::Completed(Box::new(CompletedExport {
            export_id: target.export_id,
            file_name,
            file_size: summary.bytes,
            sha256: summary.sha256.clone(),
            expires_at,
            conversation_count: summary.conversations,
            summary,
        })))
    }

    /// A cancelled job's file is removed; a job another worker took over
    /// keeps the file that worker writes.
    async fn discard_if_cancelled(&self, lease: &Lease, key: &FileKey) -> Result<()> {
        let client = self.database().client().await?;
        let status: Option<String> = client
            .query_opt("SELECT status FROM export_jobs WHERE id = $1", &[&lease.job_id])
            .await?
            .map(|r| r.get(0));
        if status.as_deref() != Some("running") {
            self.storage().delete(key)?;
        }
        Ok(())
    }

    /// Fails the export: log failed with a safe message, job failed (if the
    /// lease holds), audit `failed` with its metric event.
    pub(super) async fn record_failure(
        &self,
        target: &RunTarget,
        error: &crate::Error,
        duration_ms: u64,
    ) -> Result<()> {
        let message = safe_error_message(&error.to_string());
        let mut client = self.database().client().await?;
        let tx = client.transaction().await?;
        if let Some(lease) = &target.lease {
            let held = tx
                .execute(
                    "UPDATE export_jobs SET status = 'failed', last_error = $3, updated_at = now()
                     WHERE id = $1 AND locked_by = $2 AND status = 'running'",
                    &[&lease.job_id, &lease.worker_id, &message],
                )
                .await?;
            if held == 0 {
                return Ok(());
            }
        }
        let Some(stored) = lock_log(&tx, target.export_id).await? else {
            return Ok(());
        };
        if !matches!(stored.log.status, ExportStatus::Queued | ExportStatus::Processing) {
            return Ok(());
        }
        let now = Utc::now();
        save_log(&tx, &stored.log.fail(&message, now)?).await?;
        let metric = MetricEvent {
            timestamp: now,
            export_id: target.export_id,
            user_id: target.user_id,
            format: stored.log.format.as_str().to_owned(),
            duration_ms,
            file_size: 0,
            conversation_count: 0,
            status: "failed".into(),
        };
        let detail = json!({
            "error": message,
            "code": error.code(),
            "duration_ms": duration_ms,
            "format": metric.format,
            "metric": metric,
        });
        audit(&tx, target.export_id, target.user_id, "failed", detail).await?;
        tx.commit().await?;
        self.emit(&metric);
        Ok(())
    }
}

/// The blocking half: writes every batch through the core writer into a
/// staged file; commits on `Finish`, discards when the feed ends without it.
fn write_file(
    builder: ExportBuilder,
    storage: &dyn Storage,
    key: &FileKey,
    mut batches: mpsc::Receiver<Feed>,
) -> Result<Option<ExportSummary>> {
    let staged = storage.stage(key)?;
    let mut writer = builder.from_writer(BufWriter::with_capacity(256 * 1024, staged))?;
    loop {
        match batches.blocking_recv() {
            Some(Feed::Batch(records)) => {
                for record in records {
                    writer.push(record)?;
                }
            }
            Some(Feed::Finish) => {
                let (buffered, summary) = writer.finish()?;
                buffered.into_inner().map_err(|e| e.into_error())?.commit()?;
                return Ok(Some(summary));
            }
            None => {
                let (buffered, _) = writer.finish()?;
                buffered.into_inner().map_err(|e| e.into_error())?.abort()?;
                return Ok(None);
            }
        }
    }
}

pub(super) fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}
