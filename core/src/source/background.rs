//! Canonical JSONL parsed on a thread of its own, so that reading and
//! parsing (one core) overlap with formatting, hashing and writing (the
//! caller's core).

use std::io::BufRead;
use std::sync::mpsc::{sync_channel, Receiver};
use std::thread::JoinHandle;

use super::{JsonlSource, Record};

/// Input bytes parsed into one batch before it is handed over.
const BATCH_BYTES: usize = 512 * 1024;

/// Batches parsed ahead of the consumer at most. Memory stays bounded by
/// about `(QUEUED_BATCHES + 2) × BATCH_BYTES` of conversations (plus one
/// line, however long) whatever the input's size.
const QUEUED_BATCHES: usize = 4;

/// [`JsonlSource`] on a background thread: the same records, in the same
/// order, with the same line numbers, but parsed while the caller exports
/// the previous ones.
///
/// Parsing runs about 512 KiB of input ahead in batches, at most four
/// batches queued, so memory does not grow with the input. Dropping the
/// source stops the thread after its current batch. A panic on the parsing
/// thread is resumed on the caller's thread when the records run out, so an
/// export can never end early without notice.
///
/// ```
/// use lora_export::source::{BackgroundJsonlSource, JsonlSource};
/// let text = "{\"conversation_id\":\"c1\"}\n\n[1,2]\n";
/// let here: Vec<_> = JsonlSource::new(text.as_bytes()).collect();
/// let there: Vec<_> = BackgroundJsonlSource::new(std::io::Cursor::new(text)).collect();
/// assert_eq!(here, there);
/// ```
#[derive(Debug)]
pub struct BackgroundJsonlSource {
    batches: Option<Receiver<Vec<Record>>>,
    current: std::vec::IntoIter<Record>,
    parser: Option<JoinHandle<()>>,
}

impl BackgroundJsonlSource {
    /// Starts parsing `reader` on a new thread.
    pub fn new<R: BufRead + Send + 'static>(reader: R) -> Self {
        let (sender, batches) = sync_channel(QUEUED_BATCHES);
        let parser = std::thread::Builder::new()
            .name("lora-export-parse".into())
            .spawn(move || {
                let mut source = JsonlSource::new(reader);
                let mut batch = Vec::new();
                let mut bytes = 0;
                while let Some((record, size)) = source.next_sized() {
                    batch.push(record);
                    bytes += size;
                    if bytes >= BATCH_BYTES {
                        if sender.send(std::mem::take(&mut batch)).is_err() {
                            return;
                        }
                        bytes = 0;
                    }
                }
                if !batch.is_empty() {
                    let _ = sender.send(batch);
                }
            })
            .expect("the operating system starts a thread");
        BackgroundJsonlSource {
            batches: Some(batches),
            current: Vec::new().into_iter(),
            parser: Some(parser),
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
            match self.batches.as_ref()?.recv() {
                Ok(batch) => self.current = batch.into_iter(),
                Err(_) => {
                    self.batches = None;
                    if let Some(Err(panic)) = self.parser.take().map(JoinHandle::join) {
                        std::panic::resume_unwind(panic);
                    }
                    return None;
                }
            }
        }
    }
}

impl Drop for BackgroundJsonlSource {
    fn drop(&mut self) {
        self.batches = None;
        if let Some(parser) = self.parser.take() {
            let _ = parser.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn gives_the_same_records_as_the_plain_source_across_many_batches() {
        let text = lines(8_000);
        assert!(text.len() > 3 * QUEUED_BATCHES * BATCH_BYTES);
        let here: Vec<_> = JsonlSource::new(text.as_bytes()).collect();
        let there: Vec<_> = BackgroundJsonlSource::new(std::io::Cursor::new(text)).collect();
        assert_eq!(here, there);
    }

    #[test]
    fn dropping_early_stops_the_parser() {
        let mut source = BackgroundJsonlSource::new(std::io::Cursor::new(lines(20_000)));
        assert!(source.next().is_some());
        drop(source);
    }

    struct Exploding;

    impl std::io::Read for Exploding {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            panic!("reader exploded")
        }
    }

    #[test]
    fn a_panic_while_parsing_reaches_the_consumer() {
        let source = BackgroundJsonlSource::new(std::io::BufReader::new(Exploding));
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| source.count()));
        assert!(outcome.is_err());
    }
}
