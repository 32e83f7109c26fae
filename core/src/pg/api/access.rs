//! A user's operations on one export: `status`, `open_download` (and
//! `open_file`, one file of a dataset export), `delete`.
//! Each runs in one transaction on the service's own connection, which
//! locks the log and checks that it is the user's, and follows the seeds'
//! flows: 404 unknown, 403 another user's, then the export's own state.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::DownloadBody;
use crate::audit::{content_disposition, ExportStatus};
use crate::pg::db::rows::{
    audit, delete_files, file_key, file_type, lock_owned_log, save_log, storage_keys, StoredLog,
};
use crate::pg::storage::FileKey;
use crate::pg::{Actor, DbClient, DbTransaction, ExportFile, ExportService};
use crate::{ErrorKind, Result};

/// The answer of `GET /status/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportStatusView {
    /// The export.
    pub export_id: Uuid,
    /// Its status; a completed export past its expiry reads `expired`.
    pub status: ExportStatus,
    /// 0–100 while queued or processing, 100 once completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<u8>,
    /// Conversations selected (written, once completed).
    pub conversation_count: u64,
    /// Bytes in the file, once completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_size: Option<u64>,
    /// The file's storage key, once completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_url: Option<String>,
    /// The download file name, once completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// When the file stops being downloadable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// A dataset export's files, once completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<ExportFile>>,
}

/// An export file opened for download, with the response headers' values.
#[derive(Debug)]
pub struct Download {
    /// The export.
    pub export_id: Uuid,
    /// `training-data-{tier}-{date}-{count}.{ext}` (`.zip` for all the files
    /// of a dataset export), or a dataset file's name.
    pub file_name: String,
    /// The format's MIME type (`application/zip`, `application/zstd`,
    /// `application/gzip`, `text/markdown` for the files of a dataset).
    pub content_type: String,
    /// A safe `Content-Disposition` value for `file_name`.
    pub content_disposition: String,
    /// Bytes in the file (`Content-Length`); none for a zip, which is
    /// written as it is sent.
    pub size: Option<u64>,
    /// SHA-256 of the file, lowercase hex; none for a zip.
    pub sha256: Option<String>,
    /// The bytes.
    pub file: DownloadBody,
}

/// What `delete` did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeleteReport {
    /// The export.
    pub export_id: Uuid,
    /// Its status afterwards (`failed` when cancelled, `expired` when it had a file).
    pub status: ExportStatus,
    /// Whether a queued or running job was cancelled.
    pub cancelled: bool,
    /// Whether a file was removed.
    pub file_deleted: bool,
}

impl ExportService {
    /// The status of `user`'s export; marks a completed export past its
    /// expiry as expired (audit `expired`). 403 / 404 as the seeds say.
    pub async fn status(&self, user: impl Actor, export_id: Uuid) -> Result<ExportStatusView> {
        let user = user.user_id();
        let answer = self.status_of(user, export_id).await;
        self.observe("status", answer)
    }

    async fn status_of(&self, user: Uuid, export_id: Uuid) -> Result<ExportStatusView> {
        let mut client = self.database().client().await?;
        let tx = client.transaction().await?;
        let stored = lock_owned_log(&tx, user, export_id).await?;
        let stored = expire_if_due(&tx, stored).await?;
        let log = &stored.log;
        let progress = match log.status {
            ExportStatus::Queued | ExportStatus::Processing => {
                let p: Option<i32> = tx
                    .query_opt(
                        "SELECT progress FROM export_jobs WHERE export_id = $1",
                        &[&export_id],
                    )
                    .await?
                    .map(|row| row.get(0));
                Some(p.and_then(|p| u8::try_from(p).ok()).unwrap_or(0))
            }
            ExportStatus::Completed => Some(100),
            ExportStatus::Failed | ExportStatus::Expired => None,
        };
        tx.commit().await?;
        let completed = log.status == ExportStatus::Completed;
        let file_url = match &stored.files {
            None => file_key(&stored)?.as_str().to_owned(),
            Some(_) => format!("{}/{export_id}/", log.user_id),
        };
        Ok(ExportStatusView {
            export_id,
            status: log.status,
            progress,
            conversation_count: log.conversation_count,
            file_size: log.file_size.filter(|_| completed),
            file_url: completed.then_some(file_url),
            file_name: stored.file_name.clone().filter(|_| completed),
            error_message: log.error_message.clone(),
            expires_at: log.expires_at,
            files: stored.files.clone().filter(|_| completed),
        })
    }

    /// Opens `user`'s completed, unexpired export for download, counting the
    /// download (audit `downloaded`). Expired: 410 (and marked so); queued or
    /// processing: 425; failed: its safe error (409); 403 / 404.
    ///
    /// The file is the one its owner, id and format name (never a column's
    /// value); its size is the file's own, and a file whose size differs
    /// from the one recorded at completion is refused (500).
    ///
    /// A dataset export downloads as one zip of all its files, named as in
    /// its manifest (unzipped, the dataset directory), written as it is
    /// read: no `size`, no `sha256` (each file's are in the manifest).
    pub async fn open_download(&self, user: impl Actor, export_id: Uuid) -> Result<Download> {
        let user = user.user_id();
        let answer = self.download_of(user, export_id, Counted::Yes, None).await;
        self.observe("open_download", answer)
    }

    /// One file of a dataset export, by its manifest name
    /// (`train-00000-of-00002.jsonl.zst`, `README.md`), with its size and
    /// SHA-256; counted and audited (with the name) as a download. A name
    /// the manifest does not list, or an export of one file, is 404.
    pub async fn open_file(
        &self,
        user: impl Actor,
        export_id: Uuid,
        name: &str,
    ) -> Result<Download> {
        let user = user.user_id();
        let answer = self.download_of(user, export_id, Counted::Yes, Some(name)).await;
        self.observe("open_file", answer)
    }

    /// What [`open_download`](Self::open_download) would answer — the same
    /// checks, errors and headers, the file opened but not read — without
    /// counting a download or auditing one: the answer to `HEAD`.
    pub async fn inspect_download(&self, user: impl Actor, export_id: Uuid) -> Result<Download> {
        let user = user.user_id();
        let answer = self.download_of(user, export_id, Counted::No, None).await;
        self.observe("inspect_download", answer)
    }

    /// [`open_file`](Self::open_file)'s answer to `HEAD`: not counted.
    pub async fn inspect_file(
        &self,
        user: impl Actor,
        export_id: Uuid,
        name: &str,
    ) -> Result<Download> {
        let user = user.user_id();
        let answer = self.download_of(user, export_id, Counted::No, Some(name)).await;
        self.observe("inspect_file", answer)
    }

    async fn download_of(
        &self,
        user: Uuid,
        export_id: Uuid,
        counted: Counted,
        name: Option<&str>,
    ) -> Result<Download> {
        let mut client = self.database().client().await?;
        let tx = client.transaction().await?;
        let stored = lock_owned_log(&tx, user, export_id).await?;
        let stored = expire_if_due(&tx, stored).await?;
        let id = export_id.to_string();
        match stored.log.status {
            ExportStatus::Completed => {}
            ExportStatus::Expired => {
                tx.commit().await?;
                return Err(ErrorKind::Gone(id).into());
            }
            ExportStatus::Queued | ExportStatus::Processing => {
                let status = stored.log.status.as_str().to_owned();
                return Err(ErrorKind::TooEarly { id, status }.into());
            }
            ExportStatus::Failed => {
                let message = stored.log.error_message.clone().unwrap_or_default();
                return Err(ErrorKind::ExportFailed { id, message }.into());
            }
        }
        let opened = match (&stored.files, name) {
            (None, None) => self.open_single(&stored)?,
            (Some(files), None) => self.open_zip(&stored, files)?,
            (Some(files), Some(name)) => {
                let file = files.iter().find(|f| f.name == name);
                let file = file.ok_or_else(|| ErrorKind::NotFound(format!("{id}/{name}")))?;
                self.open_part(&stored, file)?
            }
            (None, Some(name)) => return Err(ErrorKind::NotFound(format!("{id}/{name}")).into()),
        };
        if counted == Counted::Yes {
            let log = stored.log.record_download(Utc::now())?;
            save_log(&tx, &log).await?;
            let mut detail = json!({ "download_count": log.download_count });
            if let Some(name) = name {
                detail["file"] = json!(name);
            }
            audit(&tx, export_id, user, "downloaded", detail).await?;
        }
        tx.commit().await?;
        Ok(opened)
    }

    /// The one file of a single-file export.
    fn open_single(&self, stored: &StoredLog) -> Result<Download> {
        let key = file_key(stored)?;
        let file = self.open_checked(&key, stored.log.file_size)?;
        let (_, content_type) = file_type(&stored.request)?;
        let file_name = stored
            .file_name
            .clone()
            .unwrap_or_else(|| format!("{}.{}", stored.log.export_id, key.extension()));
        Ok(Download {
            export_id: stored.log.export_id,
            content_disposition: content_disposition(&file_name),
            file_name,
            content_type: content_type.to_owned(),
            size: stored.log.file_size,
            sha256: Some(stored.log.file_sha256.clone().unwrap_or_default()),
            file: DownloadBody::File(tokio::fs::File::from_std(file)),
        })
    }

    /// One file of a dataset export.
    fn open_part(&self, stored: &StoredLog, part: &ExportFile) -> Result<Download> {
        let key = FileKey::part(stored.log.user_id, stored.log.export_id, &part.object)?;
        let file = self.open_checked(&key, Some(part.bytes))?;
        Ok(Download {
            export_id: stored.log.export_id,
            content_disposition: content_disposition(&part.name),
            file_name: part.name.clone(),
            content_type: part_type(&part.name, &stored.request)?.to_owned(),
            size: Some(part.bytes),
            sha256: Some(part.sha256.clone()),
            file: DownloadBody::File(tokio::fs::File::from_std(file)),
        })
    }

    /// Every file of a dataset export as one zip; each file is checked to
    /// be there with its recorded size before the answer starts.
    fn open_zip(&self, stored: &StoredLog, files: &[ExportFile]) -> Result<Download> {
        let mut entries = Vec::with_capacity(files.len());
        for (key, file) in storage_keys(stored)?.into_iter().zip(files) {
            self.open_checked(&key, Some(file.bytes))?;
            entries.push((key, file.name.clone()));
        }
        let file_name =
            stored.file_name.clone().unwrap_or_else(|| format!("{}.zip", stored.log.export_id));
        Ok(Download {
            export_id: stored.log.export_id,
            content_disposition: content_disposition(&file_name),
            file_name,
            content_type: "application/zip".into(),
            size: None,
            sha256: None,
            file: DownloadBody::zip(std::sync::Arc::clone(self.storage()), entries),
        })
    }

    /// Opens `key`, refusing (500) a file whose size is not the one its log
    /// recorded at completion.
    fn open_checked(&self, key: &FileKey, recorded: Option<u64>) -> Result<std::fs::File> {
        let file = self.storage().open(key)?;
        let size = file.metadata()?.len();
        if recorded != Some(size) {
            return Err(crate::Error::internal(
                "STORAGE_ERROR",
                format!("file {key} has {size} bytes, its log recorded {recorded:?}: refused"),
            ));
        }
        Ok(file)
    }

    /// Deletes `user`'s export: cancels its queued or running job (a running
    /// run stops at its next batch, and cannot complete: completion checks
    /// its lease under the same lock), marks the log deleted — `failed`
    /// ("cancelled") if unfinished, `expired` if it had a file — and, once
    /// that is committed, removes the file. A file that cannot be removed
    /// then stays recorded as not deleted (`file_deleted: false`) and
    /// [`cleanup_expired`](Self::cleanup_expired) removes it later, so a log
    /// never points at a missing file while it is still downloadable.
    /// Audit events stay. 403 / 404.
    ///
    /// Locks are taken in one order everywhere: the log, then its job.
    pub async fn delete(&self, user: impl Actor, export_id: Uuid) -> Result<DeleteReport> {
        let user = user.user_id();
        let answer = self.delete_of(user, export_id).await;
        self.observe("delete", answer)
    }

    async fn delete_of(&self, user: Uuid, export_id: Uuid) -> Result<DeleteReport> {
        let mut client = self.database().client().await?;
        let tx = client.transaction().await?;
        let stored = lock_owned_log(&tx, user, export_id).await?;
        let now = Utc::now();
        let cancelled = tx
            .execute(
                "UPDATE export_jobs SET status = 'cancelled', updated_at = now()
                 WHERE export_id = $1 AND status IN ('queued', 'running')",
                &[&export_id],
            )
            .await?
            > 0;
        let had_file = stored.log.status == ExportStatus::Completed
            || (stored.log.status == ExportStatus::Expired && stored.log.file_url.is_some());
        let log = match stored.log.status {
            ExportStatus::Queued | ExportStatus::Processing => {
                let log = stored.log.fail("cancelled", now)?;
                audit(&tx, export_id, user, "cancelled", json!({ "job_cancelled": cancelled }))
                    .await?;
                log
            }
            ExportStatus::Completed => stored.log.expire(now)?,
            ExportStatus::Failed | ExportStatus::Expired => stored.log.clone(),
        };
        save_log(&tx, &log).await?;
        tx.execute(
            "UPDATE export_logs SET deleted_at = $2::timestamptz WHERE export_id = $1",
            &[&export_id, &now],
        )
        .await?;
        audit(&tx, export_id, user, "deleted", json!({ "had_file": had_file })).await?;
        tx.commit().await?;
        let file_deleted = self.remove_files(&client, &stored).await?;
        Ok(DeleteReport { export_id, status: log.status, cancelled, file_deleted })
    }
}

impl ExportService {
    /// Removes an export's files and records when; false (and the files
    /// left for `cleanup_expired`) when the storage refuses.
    async fn remove_files(&self, client: &DbClient, stored: &StoredLog) -> Result<bool> {
        let export_id = stored.log.export_id;
        let deleted = match delete_files(&**self.storage(), stored) {
            Ok(deleted) => deleted,
            Err(_) => return Ok(false),
        };
        client
            .execute(
                "UPDATE export_logs SET file_deleted_at = now() WHERE export_id = $1",
                &[&export_id],
            )
            .await?;
        Ok(deleted)
    }
}

/// The MIME type of a dataset's file `name`: its compression's, the card's,
/// or the format's.
fn part_type(name: &str, request: &crate::model::ExportRequest) -> Result<&'static str> {
    Ok(if name.ends_with(".zst") {
        "application/zstd"
    } else if name.ends_with(".gz") {
        "application/gzip"
    } else if name == "README.md" {
        "text/markdown; charset=utf-8"
    } else {
        file_type(request)?.1
    })
}

/// Whether opening a download counts as one (GET) or not (HEAD).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Counted {
    Yes,
    No,
}

/// A completed export past its expiry becomes expired (audit `expired`).
pub(super) async fn expire_if_due(
    tx: &DbTransaction<'_>,
    mut stored: StoredLog,
) -> Result<StoredLog> {
    let now = Utc::now();
    if stored.log.status == ExportStatus::Completed && stored.log.is_expired_at(now) {
        stored.log = stored.log.expire(now)?;
        save_log(tx, &stored.log).await?;
        let detail = json!({ "expires_at": stored.log.expires_at, "reason": "past expiry" });
        audit(tx, stored.log.export_id, stored.log.user_id, "expired", detail).await?;
    }
    Ok(stored)
}
