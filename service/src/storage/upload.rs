//! [`StagedUpload`]: a multipart upload written as a plain `io::Write`.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::Arc;

use object_store::aws::AmazonS3;
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path;
use object_store::{ObjectStore, PutPayload};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use super::object::{put_small, Marker};
use super::{storage_error, StagedFile};
use crate::Result;

/// Bytes per part: above S3's 5 MiB minimum, the same for every part but the
/// last (as R2 requires).
const PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts uploading while the next one fills; memory stays under
/// `(PARTS_IN_FLIGHT + 1) × PART_SIZE`.
const PARTS_IN_FLIGHT: usize = 2;

/// A multipart upload of one object, with its marker under `.staged/`.
/// Blocking: it runs on a blocking thread of the runtime and waits there
/// for its parts.
pub(super) struct StagedUpload {
    store: Arc<AmazonS3>,
    handle: Handle,
    path: Path,
    upload_id: String,
    marker: Path,
    buffer: Vec<u8>,
    in_flight: VecDeque<JoinHandle<object_store::Result<PartId>>>,
    parts: Vec<PartId>,
    closed: bool,
    finished: bool,
}

impl StagedUpload {
    /// Creates the upload of `path` and its `marker`.
    pub(super) fn start(store: Arc<AmazonS3>, path: Path, marker: Path) -> Result<StagedUpload> {
        let handle = Handle::try_current()
            .map_err(|e| storage_error("an object upload needs the tokio runtime", e))?;
        let upload_id = handle
            .block_on(store.create_multipart(&path))
            .map_err(|e| storage_error(&format!("create upload of {path}"), e))?;
        let record = Marker { path: path.to_string(), upload_id: upload_id.clone() };
        let staged = StagedUpload {
            store,
            handle,
            path,
            upload_id,
            marker,
            buffer: Vec::with_capacity(PART_SIZE),
            in_flight: VecDeque::new(),
            parts: Vec::new(),
            closed: false,
            finished: false,
        };
        // Dropped on error: the upload is aborted.
        staged.handle.block_on(put_small(
            &staged.store,
            &staged.marker,
            serde_json::to_vec(&record)?,
        ))?;
        Ok(staged)
    }

    /// Starts uploading the buffered bytes as the next part.
    fn send_part(&mut self) -> io::Result<()> {
        while self.in_flight.len() >= PARTS_IN_FLIGHT {
            self.wait_oldest()?;
        }
        let bytes = std::mem::replace(&mut self.buffer, Vec::with_capacity(PART_SIZE));
        let index = self.parts.len() + self.in_flight.len();
        let (store, path, id) =
            (Arc::clone(&self.store), self.path.clone(), self.upload_id.clone());
        let payload = PutPayload::from(bytes);
        self.in_flight.push_back(
            self.handle.spawn(async move { store.put_part(&path, &id, index, payload).await }),
        );
        Ok(())
    }

    /// Waits for the oldest part in flight.
    fn wait_oldest(&mut self) -> io::Result<()> {
        let Some(part) = self.in_flight.pop_front() else { return Ok(()) };
        let part = self.handle.block_on(part).map_err(io::Error::other)?;
        self.parts.push(
            part.map_err(|e| io::Error::other(format!("upload part of {}: {e}", self.path)))?,
        );
        Ok(())
    }

    /// Aborts the upload and removes its marker.
    async fn discard(
        store: Arc<AmazonS3>,
        path: Path,
        upload_id: String,
        marker: Path,
    ) -> Result<()> {
        match store.abort_multipart(&path, &upload_id).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(storage_error(&format!("abort upload of {path}"), e)),
        }
        store.delete(&marker).await.map_err(|e| storage_error("delete marker", e))?;
        Ok(())
    }
}

impl Write for StagedUpload {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.closed {
            return Err(io::Error::other("the upload is closed"));
        }
        let room = PART_SIZE - self.buffer.len();
        let n = buf.len().min(room);
        self.buffer.extend_from_slice(&buf[..n]);
        if self.buffer.len() == PART_SIZE {
            self.send_part()?;
        }
        Ok(n)
    }

    /// Parts go out as they fill; a flush cannot send a short one (only
    /// the last part may be short), so it does nothing.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl StagedFile for StagedUpload {
    fn close(&mut self) -> Result<()> {
        if !self.closed {
            if !self.buffer.is_empty() || self.parts.len() + self.in_flight.len() == 0 {
                self.send_part()?;
            }
            while !self.in_flight.is_empty() {
                self.wait_oldest()?;
            }
            self.closed = true;
        }
        Ok(())
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        self.close()?;
        let parts = std::mem::take(&mut self.parts);
        let completed =
            self.handle.block_on(self.store.complete_multipart(&self.path, &self.upload_id, parts));
        completed.map_err(|e| storage_error(&format!("complete upload of {}", self.path), e))?;
        self.finished = true;
        // The object is complete: a marker that cannot be removed now is
        // removed by `sweep_staged` (aborting a completed upload is a no-op).
        let _ = self.handle.block_on(self.store.delete(&self.marker));
        Ok(())
    }

    fn abort(mut self: Box<Self>) -> Result<()> {
        self.finished = true;
        for part in self.in_flight.drain(..) {
            part.abort();
        }
        let discard = Self::discard(
            Arc::clone(&self.store),
            self.path.clone(),
            self.upload_id.clone(),
            self.marker.clone(),
        );
        self.handle.block_on(discard)
    }
}

/// Dropped without a commit or an abort (an error unwound the writer): the
/// upload is aborted in the background; if that fails too, the marker
/// stays for `sweep_staged`.
impl Drop for StagedUpload {
    fn drop(&mut self) {
        if !self.finished {
            for part in self.in_flight.drain(..) {
                part.abort();
            }
            let discard = Self::discard(
                Arc::clone(&self.store),
                self.path.clone(),
                self.upload_id.clone(),
                self.marker.clone(),
            );
            self.handle.spawn(discard);
        }
    }
}
