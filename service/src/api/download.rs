//! Downloads: [`ExportService::download`] with a [`DownloadRequest`] — the
//! file of an export, one file of a dataset export or all of them as a zip;
//! a byte range; a redirect to a presigned URL — and its shorthands
//! `open_download`, `open_file`, `inspect_download`, `inspect_file`.
//!
//! Each runs in one transaction that locks the log and checks that it is
//! the user's: 404 unknown, 403 another user's, then the export's own state.

use std::ops::Range;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use super::access::expire_if_due;
use super::download_body::Streaming;
use super::DownloadBody;
use crate::db::rows::{audit, file_type, lock_owned_log, save_log, StoredLog};
use crate::storage::{file_key, storage_keys, FileKey};
use crate::{Actor, ExportFile, ExportService};
use crate::{ErrorKind, Result};
use lora_export_core::audit::{content_disposition, ExportStatus};

/// What a download asks for: by default the export's file (a dataset's
/// zip), whole, streamed, counted.
///
/// ```
/// use lora_export_service::DownloadRequest;
/// let request = DownloadRequest::new().file("README.md").range("bytes=0-99").redirect(true);
/// assert_eq!(request.file.as_deref(), Some("README.md"));
/// assert!(!request.head && request.redirect);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DownloadRequest {
    /// One file of a dataset export, by its manifest name.
    pub file: Option<String>,
    /// The request's `Range` header, as sent: one range of bytes
    /// (`bytes=0-99`, `bytes=100-`, `bytes=-500`) is served as `206`;
    /// anything else is ignored and the whole file served, as RFC 9110
    /// allows. A zip, written as it is sent, is always whole.
    pub range: Option<String>,
    /// A `HEAD` request: the same checks and headers, not counted.
    pub head: bool,
    /// Answer with a presigned URL of the stored file instead of its bytes,
    /// when the store can mint one (object storage). A zip, and a `HEAD`,
    /// are always streamed.
    pub redirect: bool,
}

impl DownloadRequest {
    /// The export's file, whole, streamed, counted.
    pub fn new() -> Self {
        DownloadRequest::default()
    }

    /// One file of a dataset export.
    pub fn file(mut self, name: impl Into<String>) -> Self {
        self.file = Some(name.into());
        self
    }

    /// The `Range` header.
    pub fn range(mut self, header: impl Into<String>) -> Self {
        self.range = Some(header.into());
        self
    }

    /// A `HEAD` request.
    pub fn head(mut self) -> Self {
        self.head = true;
        self
    }

    /// A presigned redirect when the store can mint one.
    pub fn redirect(mut self, redirect: bool) -> Self {
        self.redirect = redirect;
        self
    }
}

/// The bytes a `206 Partial Content` answer carries.
///
/// ```
/// use lora_export_service::ContentRange;
/// let range = ContentRange { start: 10, end: 19, total: 100 };
/// assert_eq!(range.header(), "bytes 10-19/100");
/// assert_eq!(range.len(), 10);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentRange {
    /// The first byte.
    pub start: u64,
    /// The last byte (inclusive, as in the header).
    pub end: u64,
    /// Bytes in the whole file.
    pub total: u64,
}

impl ContentRange {
    /// The `Content-Range` value.
    pub fn header(&self) -> String {
        format!("bytes {}-{}/{}", self.start, self.end, self.total)
    }

    /// Bytes in the range.
    #[allow(clippy::len_without_is_empty)] // a satisfiable range is never empty
    pub fn len(&self) -> u64 {
        self.end - self.start + 1
    }
}

/// A presigned URL to send the client to (`302 Found`, `Location`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// The URL: it fetches the file without credentials until `expires_at`.
    pub url: String,
    /// When the URL stops working (never after the export's expiry).
    pub expires_at: DateTime<Utc>,
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
    /// Bytes in the whole file; none for a zip, which is written as it is
    /// sent. `Content-Length` is [`content_length`](Self::content_length).
    pub size: Option<u64>,
    /// SHA-256 of the whole file, lowercase hex; none for a zip.
    pub sha256: Option<String>,
    /// The part served, for a `206` answer.
    pub range: Option<ContentRange>,
    /// Where to send the client instead of serving bytes (`302`).
    pub redirect: Option<Redirect>,
    /// The bytes (none for a redirect or a `HEAD`).
    pub file: DownloadBody,
}

impl Download {
    /// The answer's status: 302 redirect, 206 range, 200.
    pub fn http_status(&self) -> u16 {
        if self.redirect.is_some() {
            302
        } else if self.range.is_some() {
            206
        } else {
            200
        }
    }

    /// Bytes in the body: the range's, or the whole file's.
    pub fn content_length(&self) -> Option<u64> {
        match (&self.range, &self.redirect) {
            (_, Some(_)) => Some(0),
            (Some(range), None) => Some(range.len()),
            (None, None) => self.size,
        }
    }
}

/// The range of bytes `header` asks for in a file of `size` bytes: `None`
/// to serve it whole (no `bytes=` unit, several ranges, a malformed one),
/// an error (416) when the range lies outside the file.
///
/// ```
/// use lora_export_service::parse_range;
/// assert_eq!(parse_range("bytes=0-99", 1000).unwrap(), Some(0..100));
/// assert_eq!(parse_range("bytes=900-", 1000).unwrap(), Some(900..1000));
/// assert_eq!(parse_range("bytes=-100", 1000).unwrap(), Some(900..1000));
/// assert_eq!(parse_range("bytes=0-5000", 1000).unwrap(), Some(0..1000));
/// assert_eq!(parse_range("bytes=0-1,5-9", 1000).unwrap(), None);
/// assert_eq!(parse_range("items=0-1", 1000).unwrap(), None);
/// assert_eq!(parse_range("bytes=1000-", 1000).unwrap_err().http_status(), 416);
/// ```
pub fn parse_range(header: &str, size: u64) -> Result<Option<Range<u64>>> {
    let Some(spec) = header.trim().strip_prefix("bytes=") else { return Ok(None) };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((first, last)) = spec.trim().split_once('-') else { return Ok(None) };
    let number = |s: &str| -> Option<Option<u64>> {
        let s = s.trim();
        if s.is_empty() {
            Some(None)
        } else if s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse().ok().map(Some)
        } else {
            None
        }
    };
    let (Some(first), Some(last)) = (number(first), number(last)) else { return Ok(None) };
    let unsatisfiable = || ErrorKind::RangeNotSatisfiable { size }.into();
    let range = match (first, last) {
        (Some(first), last) => {
            if last.is_some_and(|last| last < first) {
                return Ok(None);
            }
            if first >= size {
                return Err(unsatisfiable());
            }
            first..last.map_or(size, |last| last.saturating_add(1).min(size))
        }
        (None, Some(suffix)) => {
            if suffix == 0 || size == 0 {
                return Err(unsatisfiable());
            }
            size.saturating_sub(suffix)..size
        }
        (None, None) => return Ok(None),
    };
    Ok(Some(range))
}

/// The body and what it is, of one stored file.
struct Opened {
    file: DownloadBody,
    range: Option<ContentRange>,
    redirect: Option<Redirect>,
}

impl ExportService {
    /// Opens `user`'s completed, unexpired export as `request` asks,
    /// counting the download (audit `downloaded`) unless it is a `HEAD` or
    /// a range that does not start at the first byte (the rest of a
    /// download already counted). Every answer but a `HEAD` is audited in
    /// the transaction that checks it: a range not counted as `range_served`,
    /// and every range with its `Content-Range` and byte count in the
    /// event's detail (`range`, `bytes`). Expired: 410 (and marked so); queued or
    /// processing: 425; failed: its safe error (409); 403 / 404; a range
    /// outside the file: 416.
    ///
    /// The file is the one its owner, id and format name (never a column's
    /// value); its size is the file's own, and a file whose size differs
    /// from the one recorded at completion is refused (500).
    ///
    /// A dataset export downloads as one zip of all its files, named as in
    /// its manifest (unzipped, the dataset directory), written as it is
    /// read: no `size`, no `sha256` (each file's are in the manifest).
    ///
    /// With `redirect` and a store that presigns (object storage), a file
    /// is answered with a URL minted for this request, valid for
    /// `presign_ttl` but never past the export's expiry.
    ///
    /// The bytes are produced by an asynchronous task (no blocking thread
    /// waits for a slow client). At most `downloads_per_user` downloads of
    /// a user stream at once, in this process: the next answers 429
    /// (`RATE_LIMITED`) with `retry_after`; a `HEAD` and a redirect do not
    /// count. A download whose client reads nothing for
    /// `download_idle_timeout` is closed: its next read fails (`TimedOut`).
    pub async fn download(
        &self,
        user: impl Actor,
        export_id: Uuid,
        request: &DownloadRequest,
    ) -> Result<Download> {
        let answer = async { self.download_of(self.admit(&user)?, export_id, request).await }.await;
        self.observe("download", answer)
    }

    /// The export's file (a dataset's zip), whole, counted:
    /// [`download`](Self::download) with the default request.
    pub async fn open_download(&self, user: impl Actor, export_id: Uuid) -> Result<Download> {
        let answer = async {
            self.download_of(self.admit(&user)?, export_id, &DownloadRequest::new()).await
        }
        .await;
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
        let answer = async {
            self.download_of(self.admit(&user)?, export_id, &DownloadRequest::new().file(name))
                .await
        }
        .await;
        self.observe("open_file", answer)
    }

    /// What [`open_download`](Self::open_download) would answer — the same
    /// checks, errors and headers, the file opened but not read — without
    /// counting a download or auditing one: the answer to `HEAD`.
    pub async fn inspect_download(&self, user: impl Actor, export_id: Uuid) -> Result<Download> {
        let answer = async {
            self.download_of(self.admit(&user)?, export_id, &DownloadRequest::new().head()).await
        }
        .await;
        self.observe("inspect_download", answer)
    }

    /// [`open_file`](Self::open_file)'s answer to `HEAD`: not counted.
    pub async fn inspect_file(
        &self,
        user: impl Actor,
        export_id: Uuid,
        name: &str,
    ) -> Result<Download> {
        let request = DownloadRequest::new().file(name).head();
        let answer =
            async { self.download_of(self.admit(&user)?, export_id, &request).await }.await;
        self.observe("inspect_file", answer)
    }

    async fn download_of(
        &self,
        user: Uuid,
        export_id: Uuid,
        request: &DownloadRequest,
    ) -> Result<Download> {
        let mut client = self.database().client().await?;
        let tx = client.transaction().await?;
        let stored = lock_owned_log(&tx, user, export_id).await?;
        let stored = expire_if_due(&tx, self.audit_key(), stored).await?;
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
        // The user's download slot, once the export is theirs and ready.
        let streaming = if request.head {
            None
        } else {
            let slot = self.limits().download(user)?;
            Some(Streaming { slot, idle_timeout: self.config().download_idle_timeout })
        };
        let name = request.file.as_deref();
        let opened = match (&stored.files, name) {
            (None, None) => self.open_single(&stored, request, streaming).await?,
            (Some(files), None) => self.open_zip(&stored, files, streaming).await?,
            (Some(files), Some(name)) => {
                let file = files.iter().find(|f| f.name == name);
                let file = file.ok_or_else(|| ErrorKind::NotFound(format!("{id}/{name}")))?;
                self.open_part(&stored, file, request, streaming).await?
            }
            (None, Some(name)) => return Err(ErrorKind::NotFound(format!("{id}/{name}")).into()),
        };
        if !request.head {
            let counted = opened.range.map_or(true, |r| r.start == 0);
            let mut detail = json!({});
            if counted {
                let log = stored.log.record_download(Utc::now())?;
                save_log(&tx, &log).await?;
                detail["download_count"] = json!(log.download_count);
            }
            if let Some(name) = name {
                detail["file"] = json!(name);
            }
            if opened.redirect.is_some() {
                detail["presigned"] = json!(true);
            }
            if let Some(range) = opened.range {
                detail["range"] = json!(range.header());
                detail["bytes"] = json!(range.len());
            }
            let event = if counted { "downloaded" } else { "range_served" };
            audit(&tx, self.audit_key(), export_id, user, event, detail).await?;
        }
        tx.commit().await?;
        Ok(opened)
    }

    /// The one file of a single-file export.
    async fn open_single(
        &self,
        stored: &StoredLog,
        request: &DownloadRequest,
        streaming: Option<Streaming>,
    ) -> Result<Download> {
        let key = file_key(stored)?;
        let size = stored.log.file_size;
        let opened = self.open_stored(stored, &key, size, request, streaming).await?;
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
            range: opened.range,
            redirect: opened.redirect,
            file: opened.file,
        })
    }

    /// One file of a dataset export.
    async fn open_part(
        &self,
        stored: &StoredLog,
        part: &ExportFile,
        request: &DownloadRequest,
        streaming: Option<Streaming>,
    ) -> Result<Download> {
        let key = FileKey::part(stored.log.user_id, stored.log.export_id, &part.object)?;
        let opened = self.open_stored(stored, &key, Some(part.bytes), request, streaming).await?;
        Ok(Download {
            export_id: stored.log.export_id,
            content_disposition: content_disposition(&part.name),
            file_name: part.name.clone(),
            content_type: part_type(&part.name, &stored.request)?.to_owned(),
            size: Some(part.bytes),
            sha256: Some(part.sha256.clone()),
            range: opened.range,
            redirect: opened.redirect,
            file: opened.file,
        })
    }

    /// Every file of a dataset export as one zip; each file is checked to
    /// be there with its recorded size before the answer starts.
    async fn open_zip(
        &self,
        stored: &StoredLog,
        files: &[ExportFile],
        streaming: Option<Streaming>,
    ) -> Result<Download> {
        let mut entries = Vec::with_capacity(files.len());
        for (key, file) in storage_keys(stored)?.into_iter().zip(files) {
            self.check_size(&key, Some(file.bytes)).await?;
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
            range: None,
            redirect: None,
            file: DownloadBody::zip(std::sync::Arc::clone(self.storage()), entries, streaming),
        })
    }

    /// `key` as `request` asks: a presigned redirect, or its bytes (a range
    /// of them), refusing (500) a file whose size is not the one its log
    /// recorded at completion.
    async fn open_stored(
        &self,
        stored: &StoredLog,
        key: &FileKey,
        recorded: Option<u64>,
        request: &DownloadRequest,
        streaming: Option<Streaming>,
    ) -> Result<Opened> {
        if request.redirect && !request.head {
            let now = Utc::now();
            let left = stored
                .log
                .expires_at
                .map_or(Duration::ZERO, |at| (at - now).to_std().unwrap_or(Duration::ZERO));
            let ttl = self.config().presign_ttl.min(left);
            if ttl >= Duration::from_secs(1) {
                if let Some(url) = self.storage().presign(key, ttl).await? {
                    let expires_at = now + chrono::Duration::from_std(ttl).unwrap_or_default();
                    let redirect = Some(Redirect { url, expires_at });
                    return Ok(Opened { file: DownloadBody::Empty, range: None, redirect });
                }
            }
        }
        let recorded = recorded.ok_or_else(|| {
            crate::Error::internal("STORAGE_ERROR", format!("file {key} has no recorded size"))
        })?;
        let range = match &request.range {
            Some(header) => parse_range(header, recorded)?,
            None => None,
        };
        let file = self.storage().open(key, range.clone()).await?;
        if file.size != recorded {
            return Err(size_mismatch(key, file.size, recorded));
        }
        let range = range.map(|r| ContentRange { start: r.start, end: r.end - 1, total: recorded });
        let file = DownloadBody::stored(file.body, streaming);
        Ok(Opened { file, range, redirect: None })
    }

    /// Refuses (500) a file whose size is not `recorded`.
    async fn check_size(&self, key: &FileKey, recorded: Option<u64>) -> Result<()> {
        let size = self.storage().open(key, None).await?.size;
        match recorded {
            Some(recorded) if recorded == size => Ok(()),
            _ => Err(size_mismatch(key, size, recorded.unwrap_or(0))),
        }
    }
}

fn size_mismatch(key: &FileKey, size: u64, recorded: u64) -> crate::Error {
    crate::Error::internal(
        "STORAGE_ERROR",
        format!("file {key} has {size} bytes, its log recorded {recorded}: refused"),
    )
}

/// The MIME type of a dataset's file `name`: its compression's, the card's,
/// or the format's.
fn part_type(name: &str, request: &lora_export_core::model::ExportRequest) -> Result<&'static str> {
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
