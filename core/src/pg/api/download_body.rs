//! [`DownloadBody`]: the bytes of a download — one stored file (or a range
//! of it), or every file of a dataset export as one zip, written on a
//! blocking thread while the client reads it (stored entries, data
//! descriptors: nothing is buffered beyond one pipe's worth, nothing is
//! written to disk).

use std::fmt;
use std::io::{self, Read, Write};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio_util::io::SyncIoBridge;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::pg::storage::{FileKey, Storage};

/// Bytes per chunk between the zip writer and the reader, and chunks in flight.
const CHUNK: usize = 64 * 1024;
const IN_FLIGHT: usize = 4;

/// The body of a [`Download`](super::Download): read it with
/// `tokio::io::AsyncReadExt`.
pub enum DownloadBody {
    /// A stored file's bytes (or those of the range asked for).
    Stored(Pin<Box<dyn AsyncRead + Send>>),
    /// No bytes: a redirect.
    Empty,
    /// A zip being written as it is read. A file that cannot be read ends
    /// the stream with that error, so a broken zip never looks complete.
    Zip(ZipStream),
}

/// The reading end of a zip being written.
pub struct ZipStream {
    chunks: mpsc::Receiver<io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    at: usize,
}

impl DownloadBody {
    /// The zip of `files` (`(key, name in the zip)`), in order, from
    /// `storage`; must be called inside the tokio runtime.
    pub(crate) fn zip(storage: Arc<dyn Storage>, files: Vec<(FileKey, String)>) -> DownloadBody {
        let (sender, chunks) = mpsc::channel(IN_FLIGHT);
        tokio::task::spawn_blocking(move || {
            let mut out = Chunks { sender, chunk: Vec::with_capacity(CHUNK) };
            let written = write_zip(&*storage, &files, &mut out).and_then(|()| out.send());
            if let Err(e) = written {
                let _ = out.sender.blocking_send(Err(e));
            }
        });
        DownloadBody::Zip(ZipStream { chunks, chunk: Vec::new(), at: 0 })
    }

    /// The body as a blocking reader, for a thread outside the runtime
    /// `handle` belongs to (a binding's caller copying into its own file
    /// object).
    pub fn into_blocking(self, handle: Handle) -> Box<dyn Read + Send> {
        match self {
            DownloadBody::Stored(body) => Box::new(SyncIoBridge::new_with_handle(body, handle)),
            DownloadBody::Empty => Box::new(io::empty()),
            DownloadBody::Zip(zip) => Box::new(zip),
        }
    }
}

/// Writes the zip of `files` into `out`.
fn write_zip(
    storage: &dyn Storage,
    files: &[(FileKey, String)],
    out: &mut Chunks,
) -> io::Result<()> {
    let mut zip = ZipWriter::new_stream(out);
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .large_file(true)
        .unix_permissions(0o644);
    let mut buf = vec![0; CHUNK];
    let handle = Handle::current();
    for (key, name) in files {
        let file = handle.block_on(storage.open(key, None)).map_err(io::Error::other)?;
        let mut file = SyncIoBridge::new_with_handle(file.body, handle.clone());
        zip.start_file(name.as_str(), options).map_err(io::Error::other)?;
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            zip.write_all(&buf[..n])?;
        }
    }
    zip.finish().map_err(io::Error::other)?;
    Ok(())
}

/// The writing side: bytes gathered into chunks, each sent when full (and
/// the writer waits while the reader is [`IN_FLIGHT`] chunks behind).
struct Chunks {
    sender: mpsc::Sender<io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
}

impl Chunks {
    fn send(&mut self) -> io::Result<()> {
        if self.chunk.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.chunk, Vec::with_capacity(CHUNK));
        self.sender
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the download was dropped"))
    }
}

impl Write for Chunks {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.chunk.extend_from_slice(buf);
        if self.chunk.len() >= CHUNK {
            self.send()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl ZipStream {
    /// Copies the next bytes of the current chunk into `out`; how many.
    fn take(&mut self, out: &mut [u8]) -> usize {
        let n = out.len().min(self.chunk.len() - self.at);
        out[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        n
    }
}

/// Blocking reads, for a thread outside the tokio runtime (a binding's
/// caller copying into its own file object); inside the runtime it panics,
/// as [`mpsc::Receiver::blocking_recv`] does: read it as a `DownloadBody`.
impl Read for ZipStream {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.at == self.chunk.len() {
            match self.chunks.blocking_recv() {
                None => return Ok(0),
                Some(Err(e)) => return Err(e),
                Some(Ok(chunk)) => (self.chunk, self.at) = (chunk, 0),
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
        match self.get_mut() {
            DownloadBody::Stored(body) => body.as_mut().poll_read(cx, buf),
            DownloadBody::Empty => Poll::Ready(Ok(())),
            DownloadBody::Zip(zip) => {
                while zip.at == zip.chunk.len() {
                    match zip.chunks.poll_recv(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(None) => return Poll::Ready(Ok(())),
                        Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(e)),
                        Poll::Ready(Some(Ok(chunk))) => (zip.chunk, zip.at) = (chunk, 0),
                    }
                }
                let n = zip.take(buf.initialize_unfilled());
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
        }
    }
}

impl fmt::Debug for DownloadBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DownloadBody::Stored(_) => f.write_str("Stored"),
            DownloadBody::Empty => f.write_str("Empty"),
            DownloadBody::Zip(_) => f.write_str("Zip"),
        }
    }
}
