//! The byte count and SHA-256 of an export's output, taken as the bytes go
//! through: on the writing thread, or on a thread of its own — the one
//! hashing writer of the workspace ([`HashingWriter`]; a dataset's shards,
//! the pipeline's output), and the one hex form of a digest ([`hex`]).
//!
//! SHA-256 runs at about 1.1 GB/s a core (SHA-NI), a third of the writing
//! thread's time in an export of long turns. When a core is otherwise idle
//! while one thread formats (a Python list of dicts, an Arrow table), the
//! hash thread takes that third off the export's critical path; where
//! parsing threads already keep every core busy it only competes with them
//! (see [`ExportBuilder::hash_on_own_thread`](crate::ExportBuilder::hash_on_own_thread)).

use std::io::Write;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use sha2::{Digest, Sha256};

/// Bytes handed to the hash thread at once.
const CHUNK: usize = 1 << 20;

/// Chunks in use at once: one filling, the others queued or being hashed.
const CHUNKS: usize = 3;

/// How the output is hashed.
enum Hash {
    /// Not at all: the summary's `sha256` stays empty.
    Off,
    /// On the writing thread.
    Inline(Sha256),
    /// On a thread of its own.
    Threaded(HashThread),
}

/// Bytes as lowercase hex (a SHA-256 as the audit log stores and shows it).
///
/// ```
/// assert_eq!(lora_export_core::digest::hex(&[0x0f, 0xa0]), "0fa0");
/// ```
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The SHA-256 of `bytes` as lowercase hex.
///
/// ```
/// assert_eq!(
///     lora_export_core::digest::sha256_hex(b""),
///     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
/// );
/// ```
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Counts, and unless told not to hashes, what goes through it into `inner`.
///
/// ```
/// use std::io::Write;
/// use lora_export_core::digest::HashingWriter;
/// let mut out = HashingWriter::new(Vec::new(), true);
/// out.write_all(b"abc").unwrap();
/// let (bytes, count, sha256) = out.into_parts();
/// assert_eq!((bytes.len(), count), (3, 3));
/// assert_eq!(sha256, lora_export_core::digest::sha256_hex(b"abc"));
/// ```
pub struct HashingWriter<W> {
    inner: W,
    bytes: u64,
    hash: Hash,
}

impl<W: Write> HashingWriter<W> {
    /// Hashes on the writing thread when `hashed`, else not at all.
    pub fn new(inner: W, hashed: bool) -> Self {
        let hash = if hashed { Hash::Inline(Sha256::new()) } else { Hash::Off };
        HashingWriter { inner, bytes: 0, hash }
    }

    /// Hashes on a thread of its own.
    pub fn threaded(inner: W) -> Self {
        HashingWriter { inner, bytes: 0, hash: Hash::Threaded(HashThread::new()) }
    }

    /// The writer, the bytes written and their SHA-256 as lowercase hex
    /// (empty if unhashed).
    pub fn into_parts(self) -> (W, u64, String) {
        let digest = match self.hash {
            Hash::Off => None,
            Hash::Inline(hasher) => Some(hasher.finalize()),
            Hash::Threaded(thread) => Some(thread.finish()),
        };
        (self.inner, self.bytes, digest.map(|d| hex(&d)).unwrap_or_default())
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        match &mut self.hash {
            Hash::Off => {}
            Hash::Inline(hasher) => hasher.update(&buf[..n]),
            Hash::Threaded(thread) => thread.update(&buf[..n]),
        }
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Output hashed in chunks of [`CHUNK`] bytes by a thread of its own,
/// started when the first chunk is full: an export smaller than that is
/// hashed here at the end, without a thread or a chunk buffer.
struct HashThread {
    filling: Vec<u8>,
    running: Option<Running>,
}

/// The hashing thread: it hashes the chunks it is sent, in order, and sends
/// each back to be filled again — [`CHUNKS`] buffers, reused, so memory
/// stays at 3 MiB and no page is touched for the first time.
struct Running {
    full: SyncSender<Vec<u8>>,
    empty: Receiver<Vec<u8>>,
    thread: JoinHandle<Sha256>,
}

impl Running {
    fn start() -> Self {
        let (full, chunks) = sync_channel::<Vec<u8>>(CHUNKS);
        let (recycle, empty) = sync_channel::<Vec<u8>>(CHUNKS);
        for _ in 1..CHUNKS {
            recycle.send(Vec::with_capacity(CHUNK)).expect("the receiver is here");
        }
        let thread = std::thread::Builder::new()
            .name("lora-export-sha256".into())
            .spawn(move || {
                let mut hasher = Sha256::new();
                for mut chunk in chunks {
                    hasher.update(&chunk);
                    chunk.clear();
                    // The writer may be gone (its export failed): the chunk
                    // is dropped, and so is the thread when `chunks` ends.
                    let _ = recycle.send(chunk);
                }
                hasher
            })
            .expect("the operating system starts a thread");
        Running { full, empty, thread }
    }
}

impl HashThread {
    fn new() -> Self {
        HashThread { filling: Vec::new(), running: None }
    }

    /// Copies `bytes` into the chunk being filled, sending each full one.
    fn update(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let room = CHUNK - self.filling.len();
            let (now, later) = bytes.split_at(room.min(bytes.len()));
            self.filling.extend_from_slice(now);
            bytes = later;
            if self.filling.len() == CHUNK {
                self.send();
            }
        }
    }

    /// Hands the chunk being filled to the thread (started on the first)
    /// and takes an empty one, waiting for the thread to give one back if
    /// all are in use.
    fn send(&mut self) {
        let running = self.running.get_or_insert_with(Running::start);
        let next = running.empty.recv().unwrap_or_else(|_| Vec::with_capacity(CHUNK));
        let full = std::mem::replace(&mut self.filling, next);
        // A send fails only when the thread is gone, which `finish` reports
        // as the panic that ended it.
        let _ = running.full.send(full);
    }

    /// Hashes what is left and returns the digest.
    fn finish(mut self) -> sha2::digest::Output<Sha256> {
        let Some(Running { full, empty: _, thread }) = self.running.take() else {
            return Sha256::digest(&self.filling);
        };
        if !self.filling.is_empty() {
            let _ = full.send(std::mem::take(&mut self.filling));
        }
        drop(full);
        match thread.join() {
            Ok(hasher) => hasher.finalize(),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(mut writer: HashingWriter<Vec<u8>>, pieces: &[&[u8]]) -> (Vec<u8>, u64, String) {
        for piece in pieces {
            writer.write_all(piece).unwrap();
        }
        writer.into_parts()
    }

    #[test]
    fn the_hash_thread_gives_the_inline_digest_across_chunk_boundaries() {
        let big = vec![7u8; CHUNK * CHUNKS + 12_345];
        let cases: [&[&[u8]]; 5] = [
            &[],
            &[b"abc"],
            &[&big[..CHUNK]],
            &[&big[..CHUNK - 1], b"xy", &big[..CHUNK + 1]],
            &[&big, b"\n", &big[..10]],
        ];
        for pieces in cases {
            let inline = parts(HashingWriter::new(Vec::new(), true), pieces);
            let threaded = parts(HashingWriter::threaded(Vec::new()), pieces);
            assert_eq!(inline, threaded);
            assert_eq!(inline.1 as usize, inline.0.len());
        }
        let started = |w: &HashingWriter<Vec<u8>>| match &w.hash {
            Hash::Threaded(thread) => thread.running.is_some(),
            _ => unreachable!("a threaded writer"),
        };
        let mut writer = HashingWriter::threaded(Vec::new());
        writer.write_all(&big[..CHUNK - 1]).unwrap();
        assert!(!started(&writer), "no thread for less than a chunk");
        writer.write_all(b"x").unwrap();
        assert!(started(&writer), "the thread starts with the first full chunk");
        let (_, _, empty) = parts(HashingWriter::threaded(Vec::new()), &[]);
        assert_eq!(empty, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    #[test]
    fn an_unhashed_writer_counts_and_leaves_the_digest_empty() {
        let (bytes, count, hex) = parts(HashingWriter::new(Vec::new(), false), &[b"abc", b"de"]);
        assert_eq!((bytes.as_slice(), count, hex.as_str()), (&b"abcde"[..], 5, ""));
    }
}
