//! Canonical JSONL parsed on threads of their own, so that reading and
//! parsing overlap with formatting, hashing and writing on the caller's
//! thread.

use std::io::Read;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use super::{skipped, trim_line, Reading, Record};
use crate::Location;

/// Input bytes (whole lines) in one batch.
const BATCH_BYTES: usize = 512 * 1024;

/// Threads parsing batches side by side.
const PARSERS: usize = 2;

/// Batches waiting in each queue at most (raw ones before each parser,
/// parsed ones after it), so memory does not grow with the input.
const QUEUED_BATCHES: usize = 2;

/// Records in one parsed message at most: a block of short lines (malformed
/// ones, say) holds tens of thousands of records, each the size of a
/// conversation slot; sent whole, the queues held 75 MiB on 1,000,000
/// malformed lines.
const RECORDS_PER_MESSAGE: usize = 256;

/// Parsed records of one raw batch, in order; `last` marks the batch's end.
struct Parsed {
    records: Vec<Record>,
    last: bool,
}

/// Whole lines of input, numbered from `first_line`, and the read error
/// that ended the input after them, if any.
struct RawBatch {
    first_line: u64,
    bytes: Vec<u8>,
    read_error: Option<std::io::Error>,
}

/// [`JsonlSource`](super::JsonlSource) on background threads: the same records, in the same
/// order, with the same line numbers, but read and parsed while the caller
/// exports the previous ones.
///
/// One thread reads the input in blocks of about 512 KiB, cut after their
/// last line break, and deals them out in turn to two parsing threads; the records come back in input
/// order. Every queue holds at most two batches, so memory stays at a few
/// MiB (plus the longest line) whatever the size of the input. Dropping the
/// source stops the threads after their current batch. A panic on one of
/// them is resumed on the caller's thread when the records run out, so an
/// export never ends early without notice.
///
/// The records are allocated on the parsing threads and usually freed on
/// the caller's. glibc's allocator serialises such frees on its arena locks,
/// which can cost more than the parallel parsing gains; with an allocator
/// built for it (the export CLI uses mimalloc) the CLI's JSONL export went
/// from 1.9 to 1.4 s on the comparison dataset (`benches/README.md`). Under
/// glibc, measure before choosing this over [`JsonlSource`](super::JsonlSource).
///
/// ```
/// use lora_export_core::source::{BackgroundJsonlSource, JsonlSource};
/// let text = "{\"conversation_id\":\"c1\"}\n\n[1,2]\n";
/// let here: Vec<_> = JsonlSource::new(text.as_bytes()).collect();
/// let there: Vec<_> = BackgroundJsonlSource::new(std::io::Cursor::new(text)).collect();
/// assert_eq!(here, there);
/// ```
#[derive(Debug)]
pub struct BackgroundJsonlSource {
    parsed: Vec<Receiver<Parsed>>,
    turn: usize,
    current: std::vec::IntoIter<Record>,
    threads: Vec<JoinHandle<()>>,
}

impl BackgroundJsonlSource {
    /// Starts reading and parsing `reader` on new threads.
    pub fn new<R: Read + Send + 'static>(reader: R) -> Self {
        Self::with_thread_start(reader, || {})
    }

    /// As [`new`](Self::new), but each of the source's threads first runs
    /// `start`: to lower their scheduling priority, say, so that a thread
    /// that must answer quickly (an event loop) is not kept waiting while
    /// they parse on every core.
    ///
    /// ```
    /// use lora_export_core::source::BackgroundJsonlSource;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// static STARTED: AtomicUsize = AtomicUsize::new(0);
    /// let text = "{\"conversation_id\":\"c1\",\"turns\":[]}\n";
    /// let source = BackgroundJsonlSource::with_thread_start(std::io::Cursor::new(text), || {
    ///     STARTED.fetch_add(1, Ordering::SeqCst);
    /// });
    /// assert_eq!(source.count(), 1);
    /// assert_eq!(STARTED.load(Ordering::SeqCst), 3); // a reader and two parsers
    /// ```
    pub fn with_thread_start<R: Read + Send + 'static>(reader: R, start: fn()) -> Self {
        Self::with_reading(reader, Arc::default(), start)
    }

    /// As [`with_thread_start`](Self::with_thread_start), reading each line
    /// by the rule of `reading` (see [`JsonlSource::with_reading`](super::JsonlSource::with_reading)).
    pub fn with_reading<R: Read + Send + 'static>(
        reader: R,
        reading: Arc<Reading>,
        start: fn(),
    ) -> Self {
        let mut raw_senders = Vec::with_capacity(PARSERS);
        let mut parsed = Vec::with_capacity(PARSERS);
        let mut threads = Vec::with_capacity(PARSERS + 1);
        for _ in 0..PARSERS {
            let (raw_sender, raw) = sync_channel::<RawBatch>(QUEUED_BATCHES);
            let (parsed_sender, parsed_receiver) = sync_channel(QUEUED_BATCHES);
            raw_senders.push(raw_sender);
            parsed.push(parsed_receiver);
            let reading = reading.clone();
            threads.push(spawn("lora-export-parse", move || {
                start();
                parse_batches(&raw, &parsed_sender, &reading);
            }));
        }
        threads.push(spawn("lora-export-read", move || {
            start();
            read_batches(reader, &raw_senders);
        }));
        BackgroundJsonlSource { parsed, turn: 0, current: Vec::new().into_iter(), threads }
    }

    /// Joins the threads, resuming the first panic among them.
    fn join(&mut self) {
        self.parsed.clear();
        let mut panic = None;
        for thread in self.threads.drain(..) {
            if let Err(payload) = thread.join() {
                panic.get_or_insert(payload);
            }
        }
        if let Some(payload) = panic {
            std::panic::resume_unwind(payload);
        }
    }
}

fn spawn(name: &str, work: impl FnOnce() + Send + 'static) -> JoinHandle<()> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(work)
        .expect("the operating system starts a thread")
}

/// Reads the input in blocks, cuts each after its last line break, and
/// deals the batches of whole lines out to the parsers in turn, until the
/// input ends, fails, or nobody listens any more.
fn read_batches(mut reader: impl Read, parsers: &[SyncSender<RawBatch>]) {
    let mut first_line = 1;
    let mut carry = Vec::new();
    for turn in (0..parsers.len()).cycle() {
        let mut bytes = std::mem::take(&mut carry);
        bytes.reserve(BATCH_BYTES);
        let mut read_error = None;
        let mut at_end = false;
        loop {
            let wanted = BATCH_BYTES.max(bytes.len()) as u64;
            match (&mut reader).take(wanted).read_to_end(&mut bytes) {
                Ok(n) if (n as u64) < wanted => at_end = true,
                Ok(_) => {}
                Err(e) => {
                    at_end = true;
                    read_error = Some(e);
                }
            }
            if at_end {
                break;
            }
            if let Some(last_break) = memchr::memrchr(b'\n', &bytes) {
                carry.extend_from_slice(&bytes[last_break + 1..]);
                bytes.truncate(last_break + 1);
                break;
            }
        }
        let lines = memchr::memchr_iter(b'\n', &bytes).count() as u64;
        let batch = RawBatch { first_line, bytes, read_error };
        first_line += lines;
        let empty = batch.bytes.is_empty() && batch.read_error.is_none();
        if empty || parsers[turn].send(batch).is_err() || at_end {
            return;
        }
    }
}

/// Parses each batch it is given into records, in order, sent at most
/// [`RECORDS_PER_MESSAGE`] at a time.
fn parse_batches(raw: &Receiver<RawBatch>, parsed: &SyncSender<Parsed>, reading: &Reading) {
    for batch in raw {
        let mut records = Vec::with_capacity(RECORDS_PER_MESSAGE);
        let mut line = batch.first_line;
        let mut rest = &batch.bytes[..];
        while !rest.is_empty() {
            let end = memchr::memchr(b'\n', rest).map_or(rest.len(), |i| i + 1);
            let text = trim_line(&rest[..end]);
            if !text.iter().all(u8::is_ascii_whitespace) {
                records.push(reading.line(text, Location::line(line)));
                if records.len() == RECORDS_PER_MESSAGE {
                    let full =
                        std::mem::replace(&mut records, Vec::with_capacity(RECORDS_PER_MESSAGE));
                    if parsed.send(Parsed { records: full, last: false }).is_err() {
                        return;
                    }
                }
            }
            rest = &rest[end..];
            line += 1;
        }
        if let Some(e) = batch.read_error {
            records.push(Err(skipped(Location::line(line), None, format!("read error: {e}"))));
        }
        if parsed.send(Parsed { records, last: true }).is_err() {
            return;
        }
    }
}

impl Iterator for BackgroundJsonlSource {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        loop {
            if let Some(record) = self.current.next() {
                return Some(record);
            }
            let parser = self.parsed.get(self.turn)?;
            match parser.recv() {
                Ok(Parsed { records, last }) => {
                    self.current = records.into_iter();
                    if last {
                        self.turn = (self.turn + 1) % self.parsed.len();
                    }
                }
                Err(_) => {
                    self.join();
                    return None;
                }
            }
        }
    }
}

impl Drop for BackgroundJsonlSource {
    fn drop(&mut self) {
        self.parsed.clear();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::JsonlSource;

    fn lines(n: usize) -> String {
        (0..n)
            .map(|i| match i % 7 {
                3 => "not json\n".to_owned(),
                5 => "\n".to_owned(),
                _ => format!(
                    r#"{{"conversation_id":"c{i}","title":"T","status":"approved","quality_score":9,"tier":"template","created_at":"2025-10-29T10:00:00Z","updated_at":"2025-10-29T10:00:00Z","turns":[{{"role":"user","content":"{}"}}]}}"#,
                    "x".repeat(i % 3000)
                ) + "\n",
            })
            .collect()
    }

    #[test]
    fn gives_the_same_records_and_lines_as_the_plain_source_across_many_batches() {
        let text = lines(8_000);
        assert!(text.len() > 4 * PARSERS * BATCH_BYTES);
        let here: Vec<_> = JsonlSource::new(text.as_bytes()).collect();
        let there: Vec<_> = BackgroundJsonlSource::new(std::io::Cursor::new(text)).collect();
        assert_eq!(here, there);
    }

    #[test]
    fn a_last_line_without_newline_and_an_empty_input_are_read() {
        for text in ["", "\n", "{\"conversation_id\":\"c1\"}", "[]\n{}"] {
            let here: Vec<_> = JsonlSource::new(text.as_bytes()).collect();
            let there: Vec<_> = BackgroundJsonlSource::new(std::io::Cursor::new(text)).collect();
            assert_eq!(here, there, "{text:?}");
        }
    }

    #[test]
    fn dropping_early_stops_the_threads() {
        let mut source = BackgroundJsonlSource::new(std::io::Cursor::new(lines(20_000)));
        assert!(source.next().is_some());
        drop(source);
    }

    /// Gives `good` bytes, then fails.
    struct Failing {
        good: std::io::Cursor<String>,
    }

    impl std::io::Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            match self.good.read(buf)? {
                0 => Err(std::io::Error::other("disk on fire")),
                n => Ok(n),
            }
        }
    }

    #[test]
    fn a_read_error_is_the_last_record_after_everything_read_before_it() {
        let text = lines(3_000);
        let good = JsonlSource::new(text.as_bytes()).count();
        let failing = Failing { good: std::io::Cursor::new(text) };
        let records: Vec<_> = BackgroundJsonlSource::new(failing).collect();
        assert_eq!(records.len(), good + 1);
        let last = records.last().unwrap().as_ref().unwrap_err();
        assert!(last.reason.contains("disk on fire"), "{}", last.reason);
    }

    struct Exploding;

    impl std::io::Read for Exploding {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            panic!("reader exploded")
        }
    }

    #[test]
    fn a_panic_on_a_background_thread_reaches_the_consumer() {
        let source = BackgroundJsonlSource::new(Exploding);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| source.count()));
        assert!(outcome.is_err());
    }
}
