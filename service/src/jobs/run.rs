//! Running one export: conversations stream from the database in batches,
//! through the core's [`ExportWriter`](lora_export_core::ExportWriter) on a blocking
//! thread, into a staged file that becomes visible only once complete.
//!
//! ```text
//! async reader: per batch, one short user transaction (RLS) ──▶ bounded channel (1)
//!     │ then, on the same connection, heartbeat + progress     │  rows as read
//!     ▼   (at most once a second)                              ▼
//! export_jobs               spawn_blocking: rows → records → ExportWriter → StagedFile
//!                                     Finish → finish, flush (file still staged)
//! completion, one transaction: lock log → lock job held by this lease →
//!     commit the staged file (fsync, rename) → log completed → COMMIT
//! ```
//!
//! Every run — a worker's or a synchronous one — holds a job lease, and a
//! run holds one pooled connection at a time. The file appears under its
//! key only inside the transaction that checked the lease, with the job
//! row locked, so a rescued run's file is never overwritten or removed by
//! the run that lost its lease: that run only discards its staged file.

use lora_export_core::ErrorKind as CoreKind;
use std::io::BufWriter;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::dataset::{manifest_sha256, Published, StagedDataset};
use crate::db::rows::{audit, file_type, lock_log, save_log};
use crate::db::source::{ConversationSource, FetchedBatch};
use crate::storage::{FileKey, StagedFile, Storage};
use crate::ExportFile;
use crate::MetricEvent;
use crate::{Database, DbClient, ExportService};
use crate::{ErrorKind, Result};
use lora_export_core::audit::{file_name_for, safe_error_message, ExportStatus};
use lora_export_core::dataset::DatasetBuilder;
use lora_export_core::model::ExportRequest;
use lora_export_core::pipeline::{ExportBuilder, RecordSink};
use lora_export_core::ExportSummary;

/// How often a run beats its job's heartbeat at most (and at least four
/// times per `stale_after`): after its first batch, then after the first
/// batch this long after the last beat.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(1);

/// The export a run is for, and the job lease the run holds.
#[derive(Debug, Clone)]
pub(crate) struct RunTarget {
    pub export_id: Uuid,
    pub user_id: Uuid,
    pub lease: Lease,
    /// The verified claims the export was requested with, which its reads
    /// carry (`None`: a trusted caller's bare user id).
    pub claims: Option<serde_json::Value>,
}

/// A run's claim on a job: valid while the job is `running` and
/// `locked_by` is still this run's worker id.
#[derive(Debug, Clone)]
pub(crate) struct Lease {
    pub job_id: Uuid,
    pub worker_id: String,
    pub total_items: u64,
    pub attempt: u32,
    pub throttle: Option<Duration>,
}

/// How a run ended without an error.
#[derive(Debug)]
pub(crate) enum RunEnd {
    Completed(Box<CompletedExport>),
    /// The job was cancelled or another worker took it over.
    Stopped,
}

/// A finished export file, as recorded in its log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompletedExport {
    /// The export's id.
    pub export_id: Uuid,
    /// The download file name (`training-data-{tier}-{date}-{count}.{ext}`).
    pub file_name: String,
    /// Bytes in the file.
    pub file_size: u64,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
    /// When the file stops being downloadable.
    pub expires_at: DateTime<Utc>,
    /// Conversations written.
    pub conversation_count: u64,
    /// The core's summary of the export (skipped records, tiers, …). For a
    /// dataset, `bytes` are of all its files and `sha256` is of its manifest.
    pub summary: ExportSummary,
    /// A dataset export's files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<ExportFile>>,
}

/// What the blocking writer hands back: the summary and the staged
/// file(s), not yet visible.
type Written = (ExportSummary, Staged);

/// An export's bytes, staged.
enum Staged {
    File(FileKey, Box<dyn StagedFile>),
    Dataset(Vec<(ExportFile, Published)>),
}

impl Staged {
    /// Makes every file visible; if one fails, removes those made visible.
    fn commit(self, storage: &dyn Storage) -> Result<()> {
        match self {
            Staged::File(_, staged) => staged.commit(),
            Staged::Dataset(files) => {
                let mut committed = Vec::new();
                for (_, published) in files {
                    let key = published.key.clone();
                    if let Err(e) = published.staged.commit() {
                        let handle = tokio::runtime::Handle::current();
                        for key in &committed {
                            let _ = handle.block_on(storage.delete(key));
                        }
                        return Err(e);
                    }
                    committed.push(key);
                }
                Ok(())
            }
        }
    }

    /// Discards every file.
    fn abort(self) -> Result<()> {
        match self {
            Staged::File(_, staged) => staged.abort(),
            Staged::Dataset(files) => {
                files.into_iter().try_for_each(|(_, published)| published.staged.abort())
            }
        }
    }
}

/// What the reader sends the blocking writer: batches as read, converted
/// into records on the writer's thread while the reader reads the next.
enum Feed {
    Batch(FetchedBatch),
    Finish,
}

impl ExportService {
    /// Runs `target` to completion; on `Err` the log is left for the caller
    /// to fail or retry ([`record_failure`](Self::record_failure)).
    pub(crate) async fn run_export(
        &self,
        target: &RunTarget,
        request: &ExportRequest,
    ) -> Result<RunEnd> {
        let started = Instant::now();
        let timestamp = self.start_run(target).await?;
        let (feed, batches) = mpsc::channel(1);
        let storage = Arc::clone(self.storage());
        let writer = match &request.dataset {
            None => {
                let (extension, _) = file_type(request)?;
                let key = FileKey::new(target.user_id, target.export_id, &extension)?;
                let builder = ExportBuilder::new(request.clone()).export_date(timestamp);
                let cap = self.config().max_file_bytes;
                tokio::task::spawn_blocking(move || {
                    write_file(builder, &*storage, key, cap, batches)
                })
            }
            Some(options) => {
                let builder = options.builder(request.clone())?.export_date(timestamp);
                let output = StagedDataset::new(storage, target.user_id, target.export_id);
                tokio::task::spawn_blocking(move || write_dataset(builder, output, batches))
            }
        };
        let fed = self.feed(target, request, &feed).await;
        if matches!(fed, Ok(true)) {
            // A send error means the writer failed; its error comes from the join.
            let _ = feed.send(Feed::Finish).await;
        }
        drop(feed);
        let written = writer
            .await
            .map_err(|e| CoreKind::Io(std::io::Error::other(format!("export writer: {e}"))))?;
        match (fed?, written?) {
            (false, Some((_, staged))) => {
                discard(staged).await?;
                Ok(RunEnd::Stopped)
            }
            (false, None) => Ok(RunEnd::Stopped),
            (true, Some((summary, staged))) => {
                self.complete_run(target, summary, staged, started).await
            }
            (true, None) => {
                Err(CoreKind::Io(std::io::Error::other("export writer stopped")).into())
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
        let detail = json!({ "attempt": target.lease.attempt, "worker": target.lease.worker_id });
        audit(&tx, self.audit_key(), target.export_id, target.user_id, "started", detail).await?;
        tx.commit().await?;
        Ok(stored.log.timestamp)
    }

    /// Reads every batch as the user, each in its own short transaction, and
    /// sends its rows to the writer, which converts them while the next
    /// batch is read; beats the job's heartbeat on the same connection after
    /// the first batch, then at most every [`HEARTBEAT_EVERY`].
    /// `Ok(false)`: the lease was lost (cancelled, or rescued by another
    /// worker). No transaction stays open while the writer is waited for.
    async fn feed(
        &self,
        target: &RunTarget,
        request: &ExportRequest,
        feed: &mpsc::Sender<Feed>,
    ) -> Result<bool> {
        self.check_source().await?;
        let mut client = self.database().client().await?;
        let mut source =
            ConversationSource::new(request, self.config().batch_size, self.source_tables())?;
        let every = (self.config().stale_after / 4).min(HEARTBEAT_EVERY);
        let mut beaten: Option<Instant> = None;
        loop {
            let tx = Database::user_transaction_with(
                &mut client,
                target.user_id,
                target.claims.as_ref(),
            )
            .await?;
            let batch = source.fetch_batch(&tx).await?;
            tx.commit().await?;
            let Some(batch) = batch else {
                return Ok(true);
            };
            if beaten.map_or(true, |at| at.elapsed() >= every) {
                if !heartbeat(&client, &target.lease, source.fetched()).await? {
                    return Ok(false);
                }
                beaten = Some(Instant::now());
            }
            if feed.send(Feed::Batch(batch)).await.is_err() {
                return Ok(true);
            }
            if let Some(pause) = target.lease.throttle {
                tokio::time::sleep(pause).await;
            }
        }
    }

    /// Completes the run in one transaction, locking the log, then the job
    /// (the order every operation uses): only while the job is still this
    /// lease's running job does the staged file become visible (inside the
    /// transaction, with the job row locked) and the log completed with
    /// size, hash, key and expiry (audit `completed`). A run that lost its
    /// lease discards its staged file and touches nothing else.
    async fn complete_run(
        &self,
        target: &RunTarget,
        summary: ExportSummary,
        staged: Staged,
        started: Instant,
    ) -> Result<RunEnd> {
        let mut client = self.database().client().await?;
        let tx = client.transaction().await?;
        let stored = lock_log(&tx, target.export_id).await?;
        let lease = &target.lease;
        let held = tx
            .execute(
                "UPDATE export_jobs SET status = 'completed', progress = 100, claims = NULL,
                   processed_items = total_items, heartbeat_at = now(), updated_at = now()
                 WHERE id = $1 AND locked_by = $2 AND status = 'running'",
                &[&lease.job_id, &lease.worker_id],
            )
            .await?;
        let stored = match stored {
            Some(stored) if held == 1 => stored,
            _ => {
                drop(tx);
                discard(staged).await?;
                return Ok(RunEnd::Stopped);
            }
        };
        let (file_url, extension, files) = match &staged {
            Staged::File(key, _) => (key.as_str().to_owned(), key.extension().to_owned(), None),
            Staged::Dataset(files) => {
                let manifest: Vec<ExportFile> = files.iter().map(|(f, _)| f.clone()).collect();
                (format!("{}/{}/", target.user_id, target.export_id), "zip".into(), Some(manifest))
            }
        };
        let storage = Arc::clone(self.storage());
        tokio::task::spawn_blocking(move || staged.commit(&*storage))
            .await
            .map_err(|e| CoreKind::Io(std::io::Error::other(format!("file commit: {e}"))))??;
        let now = Utc::now();
        let expiry = chrono::Duration::hours(i64::from(self.config().expiry_hours));
        let log = stored.log.complete(&summary, file_url, now, expiry)?;
        let file_name = file_name_for(&summary, stored.log.timestamp.date_naive(), &extension);
        save_log(&tx, &log).await?;
        let manifest = files.as_ref().map(serde_json::to_value).transpose()?;
        tx.execute(
            "UPDATE export_logs SET file_name = $2, files = $3 WHERE export_id = $1",
            &[&target.export_id, &file_name, &manifest],
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
        audit(&tx, self.audit_key(), target.export_id, target.user_id, "completed", detail).await?;
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
            files,
        })))
    }

    /// Fails the export: log failed with a safe message, job failed (if the
    /// lease holds), audit `failed` with its metric event.
    pub(crate) async fn record_failure(
        &self,
        target: &RunTarget,
        error: &crate::Error,
        duration_ms: u64,
    ) -> Result<()> {
        let message = final_message(error, target.lease.attempt);
        let mut client = self.database().client().await?;
        let tx = client.transaction().await?;
        let Some(stored) = lock_log(&tx, target.export_id).await? else {
            return Ok(());
        };
        let lease = &target.lease;
        let held = tx
            .execute(
                "UPDATE export_jobs SET status = 'failed', last_error = $3, claims = NULL,
                   updated_at = now()
                 WHERE id = $1 AND locked_by = $2 AND status = 'running'",
                &[&lease.job_id, &lease.worker_id, &message],
            )
            .await?;
        if held == 0 {
            return Ok(());
        }
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
        audit(&tx, self.audit_key(), target.export_id, target.user_id, "failed", detail).await?;
        tx.commit().await?;
        self.emit(&metric);
        Ok(())
    }
}

/// What a failed export's status says: the error, without the wait a
/// retryable one suggests (nothing retries it any more), and after how many
/// attempts a background job gave up.
fn final_message(error: &crate::Error, attempts: u32) -> String {
    let reason = failure_reason(error);
    let message = match error.kind() {
        ErrorKind::ExportFailed { .. } => reason,
        _ if attempts > 1 => format!("failed for good after {attempts} attempts: {reason}"),
        _ => reason,
    };
    safe_error_message(&message)
}

/// What a failed attempt's error says, without the wait a retryable one
/// suggests to a client (a job's retry has its own backoff).
pub(crate) fn failure_reason(error: &crate::Error) -> String {
    match error.kind() {
        ErrorKind::Unavailable { reason, .. } => reason.clone(),
        _ => error.to_string(),
    }
}

/// The blocking half: writes every batch through the core writer into a
/// staged file; on `Finish` hands back the summary and the staged file
/// (flushed, not yet visible); discards it when the feed ends without it.
fn write_file(
    builder: ExportBuilder,
    storage: &dyn Storage,
    key: FileKey,
    cap: u64,
    mut batches: mpsc::Receiver<Feed>,
) -> Result<Option<Written>> {
    let capped = Capped { inner: storage.stage(&key)?, left: cap };
    let too_large = |e: crate::Error| match e.core_kind() {
        Some(CoreKind::Io(io)) if io.get_ref().is_some_and(|e| e.is::<PastCap>()) => {
            let what = format!("the file passed {cap} bytes, the most one export may hold");
            ErrorKind::ExportTooLarge { what }.into()
        }
        _ => e,
    };
    let mut writer = builder.from_writer(BufWriter::with_capacity(256 * 1024, capped))?;
    let finished = take_batches(&mut writer, &mut batches).map_err(too_large)?;
    let (buffered, summary) = writer.finish().map_err(|e| too_large(e.into()))?;
    let staged = buffered.into_inner().map_err(|e| too_large(e.into_error().into()))?.inner;
    if !finished {
        staged.abort()?;
        return Ok(None);
    }
    Ok(Some((summary, Staged::File(key, staged))))
}

/// A staged file that refuses to grow past `left` more bytes (the
/// dropped file is discarded with its stage).
struct Capped {
    inner: Box<dyn StagedFile>,
    left: u64,
}

/// The error a [`Capped`] write fails with.
#[derive(Debug)]
struct PastCap;

impl std::fmt::Display for PastCap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the export file passed its size limit")
    }
}

impl std::error::Error for PastCap {}

impl std::io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.len() as u64 > self.left {
            return Err(std::io::Error::other(PastCap));
        }
        let n = self.inner.write(buf)?;
        self.left -= n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The blocking half of a dataset export: every batch through the core's
/// dataset writer into staged files; on `Finish`, the summary (`bytes` of
/// all files, `sha256` of the manifest) and the files, in manifest order.
/// When the feed ends without `Finish`, the writer is dropped and with it
/// every staged file.
fn write_dataset(
    builder: DatasetBuilder,
    output: StagedDataset,
    mut batches: mpsc::Receiver<Feed>,
) -> Result<Option<Written>> {
    let mut writer = builder.to_output(output)?;
    if !take_batches(&mut writer, &mut batches)? {
        return Ok(None);
    }
    let (dataset, output) = writer.finish_output()?;
    let files = output.manifest(&dataset);
    let entries: Vec<ExportFile> = files.iter().map(|(f, _)| f.clone()).collect();
    let mut summary = dataset.export;
    summary.bytes = entries.iter().map(|f| f.bytes).sum();
    summary.sha256 = manifest_sha256(&entries)?;
    Ok(Some((summary, Staged::Dataset(files))))
}

/// Pushes every record of every batch into `sink` until the feed says
/// `Finish` (`true`) or ends without it (`false`: the run stopped).
fn take_batches(sink: &mut impl RecordSink, batches: &mut mpsc::Receiver<Feed>) -> Result<bool> {
    loop {
        match batches.blocking_recv() {
            Some(Feed::Batch(batch)) => {
                for record in batch.into_records()? {
                    sink.push(record)?;
                }
            }
            Some(Feed::Finish) => return Ok(true),
            None => return Ok(false),
        }
    }
}

/// Discards staged files on a blocking thread.
async fn discard(staged: Staged) -> Result<()> {
    tokio::task::spawn_blocking(move || staged.abort())
        .await
        .map_err(|e| CoreKind::Io(std::io::Error::other(format!("file discard: {e}"))))?
}

/// Records progress (capped at 99 until completion) and the heartbeat on
/// `client`; `false` when the job is no longer this lease's running job.
async fn heartbeat(client: &DbClient, lease: &Lease, fetched: u64) -> Result<bool> {
    let progress = (fetched * 100).checked_div(lease.total_items).unwrap_or(0).min(99);
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

pub(crate) fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}
