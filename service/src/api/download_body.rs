//! [`DownloadBody`]: the bytes of a download — one stored file (or a range
//! of it), or every file of a dataset export as one zip written as it is
//! read (stored entries, data descriptors) — produced by an asynchronous
//! task into a bounded channel.
//!
//! No blocking thread is held while a client does not read: the task reads
//! the store asynchronously, the zip writer writes into memory, and a full
//! channel is an `.await`. At most [`IN_FLIGHT`] chunks of [`CHUNK`] bytes
//! wait for the reader. A reader that takes nothing for the service's
//! `download_idle_timeout` has its download closed: the task stops, frees
//! the file and its user's download slot, and the next read fails with
//! `TimedOut`.

use std::fmt;
use std::io::{self, Read, Write};
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};
use tokio::sync::mpsc::{self, error::SendTimeoutError};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::limits::Slot;
use crate::storage::{FileKey, Storage};

/// Bytes per chunk between the producing task and the reader, and chunks in flight.
const CHUNK: usize = 64 * 1024;
const IN_FLIGHT: usize = 4;

/// The body of a [`Download`](super::Download): read it with
/// `tokio::io::AsyncReadExt`, or [`into_blocking`](Self::into_blocking)
/// outside the runtime.
pub enum DownloadBody {
    /// No bytes: a redirect, or the answer to a `HEAD`.
    Empty,
    /// Bytes being produced. A file that cannot be read, or a download
    /// closed idle, ends the stream with that error, so a broken file or
    /// zip never looks complete.
    Stream(ByteStream),
}

/// The reading end of a download's bytes.
pub struct ByteStream {
    chunks: mpsc::Receiver<Vec<u8>>,
    failed: Arc<OnceLock<(io::ErrorKind, String)>>,
    chunk: Vec<u8>,
    at: usize,
}

/// How a download streams: the user's download slot, held by the producing
/// task until it ends, and how long it waits for a reader.
#[derive(Debug)]
pub(crate) struct Streaming {
    pub(crate) slot: Slot,
    pub(crate) idle_timeout: Duration,
}

/// The producing side: sends each chunk, waiting at most the idle timeout.
struct Sink {
    sender: mpsc::Sender<Vec<u8>>,
    idle_timeout: Duration,
}

impl DownloadBody {
    /// The bytes of a stored file (`body`), or [`Empty`](Self::Empty)
    /// without `streaming` (a `HEAD`); must be called inside the runtime.
    pub(crate) fn stored(
        mut body: Pin<Box<dyn AsyncRead + Send>>,
        streaming: Option<Streaming>,
    ) -> DownloadBody {
        DownloadBody::produce(streaming, |sink| async move {
            loop {
                let mut chunk = vec![0; CHUNK];
                let n = body.read(&mut chunk).await?;
                if n == 0 {
                    return Ok(());
                }
                chunk.truncate(n);
                sink.send(chunk).await?;
            }
        })
    }

    /// The zip of `files` (`(key, name in the zip)`), in order, from
    /// `storage`, or [`Empty`](Self::Empty) without `streaming`.
    pub(crate) fn zip(
        storage: Arc<dyn Storage>,
        files: Vec<(FileKey, String)>,
        streaming: Option<Streaming>,
    ) -> DownloadBody {
        DownloadBody::produce(
            streaming,
            |sink| async move { write_zip(&*storage, &files, &sink).await },
        )
    }

    /// Spawns `producer` with the sink of a new stream; its error, if any,
    /// becomes the stream's.
    fn produce<P, F>(streaming: Option<Streaming>, producer: P) -> DownloadBody
    where
        P: FnOnce(Sink) -> F,
        F: std::future::Future<Output = io::Result<()>> + Send + 'static,
    {
        let Some(Streaming { slot, idle_timeout }) = streaming else {
            return DownloadBody::Empty;
        };
        let (sender, chunks) = mpsc::channel(IN_FLIGHT);
        let failed = Arc::new(OnceLock::new());
        let produced = producer(Sink { sender, idle_timeout });
        let failure = Arc::clone(&failed);
        tokio::spawn(async move {
            if let Err(e) = produced.await {
                let _ = failure.set((e.kind(), e.to_string()));
            }
            drop(slot);
        });
        DownloadBody::Stream(ByteStream { chunks, failed, chunk: Vec::new(), at: 0 })
    }

    /// The body as a blocking reader, for a thread outside the runtime (a
    /// binding's caller copying into its own file object); inside the
    /// runtime it panics, as [`mpsc::Receiver::blocking_recv`] does.
    pub fn into_blocking(self) -> Box<dyn Read + Send> {
        match self {
            DownloadBody::Empty => Box::new(io::empty()),
            DownloadBody::Stream(stream) => Box::new(stream),
        }
    }
}

impl Sink {
    async fn send(&self, chunk: Vec<u8>) -> io::Result<()> {
        match self.sender.send_timeout(chunk, self.idle_timeout).await {
            Ok(()) => Ok(()),
            Err(SendTimeoutError::Timeout(_)) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "the download was closed: nothing was read for {} s",
                    self.idle_timeout.as_secs()
                ),
            )),
            Err(SendTimeoutError::Closed(_)) => {
                Err(io::Error::new(io::ErrorKind::BrokenPipe, "the download was dropped"))
            }
        }
    }
}

/// The zip writer's sink: memory, emptied into chunks as they fill.
#[derive(Clone, Default)]
struct Memory(Arc<Mutex<Vec<u8>>>);

impl Memory {
    /// The bytes written so far, when there are at least `at_least`.
    fn take(&self, at_least: usize) -> Option<Vec<u8>> {
        let mut bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        (bytes.len() >= at_least.max(1)).then(|| std::mem::take(&mut *bytes))
    }
}

impl Write for Memory {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes the zip of `files` into `sink`, a chunk at a time.
async fn write_zip(
    storage: &dyn Storage,
    files: &[(FileKey, String)],
    sink: &Sink,
) -> io::Result<()> {
    let memory = Memory::default();
    let mut zip = ZipWriter::new_stream(memory.clone());
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .large_file(true)
        .unix_permissions(0o644);
    let mut buf = vec![0; CHUNK];
    for (key, name) in files {
        let mut file = storage.open(key, None).await.map_err(io::Error::other)?.body;
        zip.start_file(name.as_str(), options).map_err(io::Error::other)?;
        loop {
            let n = file.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            zip.write_all(&buf[..n])?;
            if let Some(chunk) = memory.take(CHUNK) {
                sink.send(chunk).await?;
            }
        }
    }
    zip.finish().map_err(io::Error::other)?;
    match memory.take(1) {
        Some(chunk) => sink.send(chunk).await,
        None => Ok(()),
    }
}

impl ByteStream {
    /// The stream's error, once its producer failed.
    fn failure(&self) -> Option<io::Error> {
        self.failed.get().map(|(kind, message)| io::Error::new(*kind, message.clone()))
    }

    /// Copies the next bytes of the current chunk into `out`; how many.
    fn take(&mut self, out: &mut [u8]) -> usize {
        let n = out.len().min(self.chunk.len() - self.at);
        out[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        n
    }

    /// The next chunk: `None` at the end.
    fn next(&mut self, chunk: Option<Vec<u8>>) -> io::Result<bool> {
        match chunk {
            Some(chunk) => {
                (self.chunk, self.at) = (chunk, 0);
                Ok(true)
            }
            None => self.failure().map_or(Ok(false), Err),
        }
    }
}

/// Blocking reads, for a thread outside the tokio runtime.
impl Read for ByteStream {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if let Some(e) = self.failure() {
            return Err(e);
        }
        while self.at == self.chunk.len() {
            let chunk = self.chunks.blocking_recv();
            if !self.next(chunk)? {
                return Ok(0);
            }
        }
        Ok(self.take(out))
    }
}

impl AsyncRead for DownloadBody {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let DownloadBody::Stream(stream) = self.get_mut() else { return Poll::Ready(Ok(())) };
        if let Some(e) = stream.failure() {
            return Poll::Ready(Err(e));
        }
        while stream.at == stream.chunk.len() {
            let Poll::Ready(chunk) = stream.chunks.poll_recv(cx) else { return Poll::Pending };
            match stream.next(chunk) {
                Ok(true) => {}
                Ok(false) => return Poll::Ready(Ok(())),
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        let n = stream.take(buf.initialize_unfilled());
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl fmt::Debug for DownloadBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DownloadBody::Empty => f.write_str("Empty"),
            DownloadBody::Stream(_) => f.write_str("Stream"),
        }
    }
}
