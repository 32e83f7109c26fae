//! `export`, `iter_export`, `to_string` and `preview`.
//!
//! An export runs in batches: with the GIL held, the next batch of a Python
//! iterable is converted to JSON values, while (in `export` and
//! `to_string`) a second thread, without the GIL, turns the batch before
//! into conversations and writes it; `iter_export` does the two in turn. A
//! JSONL or Arrow input is read by the core entirely without the GIL.
//! Between batches the bytes meant for a Python file object are handed to
//! it, progress is reported, and pending signals are checked, so Ctrl-C
//! stops a long export.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Cursor, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, PoisonError};

use arrow_array::ffi_stream::{ArrowArrayStreamReader, FFI_ArrowArrayStream};
use lora_export::model::Conversation;
use lora_export::source::{checked, from_value, ArrowSource, BackgroundJsonlSource, Record};
use lora_export::{
    ExportBuilder, ExportWriter, Location, RecordSink, SkippedRecord, TooManySkipped,
};
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyCapsule, PyIterator, PyMapping, PyString};
use serde::Deserialize;

use crate::convert::to_json;
use crate::deserialize::PyValue;
use crate::errors::{err, warn};
use crate::request;
use crate::summary::ExportSummary;

/// Records converted or read per batch.
const BATCH: usize = 1024;

/// Where the conversations come from.
pub(crate) enum Input {
    /// Canonical JSONL (from a file or from bytes), read and parsed by the
    /// core on threads of its own while this one formats and writes.
    Jsonl(BackgroundJsonlSource),
    /// A Python iterable of mappings; `record` counts the items taken.
    Python { items: Py<PyIterator>, record: u64 },
    /// Arrow record batches (the Arrow C stream interface), read by the
    /// core on a thread of its own while this one formats and writes.
    Arrow(ArrowThread),
}

/// What `conversations` may be, for the `TypeError` of anything else.
const ACCEPTED: &str = "a pandas or polars DataFrame, a pyarrow Table or RecordBatchReader \
    (anything with __arrow_c_stream__), a datasets.Dataset, an iterable of mappings (a list of \
    dicts, a generator), a path to canonical JSONL or bytes of it";

impl Input {
    /// A path (`str` or `os.PathLike`) or `bytes` of canonical JSONL, or an
    /// iterable of mappings; with the number of items when it has a length.
    pub(crate) fn open(conversations: &Bound<'_, PyAny>) -> PyResult<(Input, Option<u64>)> {
        if conversations.is_instance_of::<PyString>() || conversations.hasattr("__fspath__")? {
            let path: PathBuf = conversations.extract()?;
            let file = File::open(&path).map_err(|e| os_error(&e, &path))?;
            return Ok((Input::Jsonl(BackgroundJsonlSource::new(file)), None));
        }
        if let Ok(bytes) = conversations.cast::<PyBytes>() {
            let bytes = Cursor::new(bytes.as_bytes().to_vec());
            return Ok((Input::Jsonl(BackgroundJsonlSource::new(bytes)), None));
        }
        if let Ok(bytes) = conversations.cast::<PyByteArray>() {
            let bytes = Cursor::new(bytes.to_vec());
            return Ok((Input::Jsonl(BackgroundJsonlSource::new(bytes)), None));
        }
        if conversations.cast::<PyMapping>().is_ok() {
            return Err(PyTypeError::new_err(format!(
                "conversations must be {ACCEPTED}; got one mapping (wrap it in a list)"
            )));
        }
        let total = conversations.len().ok().map(|n| n as u64);
        if let Some(table) = arrow_table(conversations)? {
            let reader = arrow_stream(&table)?;
            return Ok((Input::Arrow(ArrowThread::new(ArrowSource::new(reader))), total));
        }
        if let Some(rows) = pandas_rows(conversations)? {
            return Ok((Input::Python { items: rows.unbind(), record: 0 }, total));
        }
        let items = conversations.try_iter().map_err(|_| {
            PyTypeError::new_err(format!(
                "conversations must be {ACCEPTED}; got {}",
                type_name(conversations)
            ))
        })?;
        Ok((Input::Python { items: items.unbind(), record: 0 }, total))
    }

    /// With the GIL: the next batch of a Python input as records (empty
    /// for a JSONL input, which the core reads itself), and whether the
    /// input may have more.
    pub(crate) fn gather(&mut self, py: Python<'_>) -> PyResult<(Vec<Record>, bool)> {
        let Input::Python { items, record } = self else {
            return Ok((Vec::new(), true));
        };
        let mut batch = Vec::with_capacity(BATCH);
        let mut items = items.bind(py).clone();
        while batch.len() < BATCH {
            let Some(item) = items.next() else {
                return Ok((batch, false));
            };
            let item = item?;
            *record += 1;
            batch.push(read_record(&item, *record));
        }
        Ok((batch, true))
    }
}

/// The records of an [`ArrowSource`], read (the Arrow batches imported,
/// encoded and parsed) on a thread of their own, [`BATCH`] at a time, at
/// most two batches ahead. The stream's own callbacks take the GIL when
/// they need it (a Python-implemented stream); this side waits for batches
/// without it. A panic on the thread is an error, never a short input.
pub(crate) struct ArrowThread {
    batches: mpsc::Receiver<Vec<lora_export::Result<Record>>>,
    current: std::vec::IntoIter<lora_export::Result<Record>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ArrowThread {
    fn new(mut source: ArrowSource<ArrowArrayStreamReader>) -> Self {
        let (sender, batches) = mpsc::sync_channel(2);
        let thread = std::thread::spawn(move || loop {
            let batch: Vec<_> = source.by_ref().take(BATCH).collect();
            let last = batch.len() < BATCH || batch.last().is_some_and(Result::is_err);
            if batch.is_empty() || sender.send(batch).is_err() || last {
                return;
            }
        });
        ArrowThread { batches, current: Vec::new().into_iter(), thread: Some(thread) }
    }
}

impl Iterator for ArrowThread {
    type Item = lora_export::Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(record) = self.current.next() {
                return Some(record);
            }
            match self.batches.recv() {
                Ok(batch) => self.current = batch.into_iter(),
                Err(_) => {
                    let panicked = self.thread.take()?.join().is_err();
                    return panicked.then(|| {
                        Err(lora_export::Error::internal(
                            "INTERNAL",
                            "the thread reading the Arrow stream panicked",
                        ))
                    });
                }
            }
        }
    }
}

/// The object whose Arrow C stream holds the rows: the object itself when it
/// has `__arrow_c_stream__` (pyarrow, polars, pandas ≥ 2.2 — whose method
/// needs pyarrow, so without it a DataFrame is read row by row), a
/// `datasets.Dataset`'s Arrow table (its rows in order, after any
/// `select`/`shuffle`), else none.
fn arrow_table<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
    if obj.hasattr("__arrow_c_stream__")? {
        if is_from(obj, "pandas") && obj.py().import("pyarrow").is_err() {
            return Ok(None);
        }
        return Ok(Some(obj.clone()));
    }
    if is_from(obj, "datasets") && obj.hasattr("with_format")? && obj.hasattr("num_rows")? {
        let table = obj
            .call_method1("with_format", ("arrow",))?
            .get_item(pyo3::types::PySlice::full(obj.py()))?;
        return Ok(Some(table));
    }
    Ok(None)
}

/// A pandas DataFrame without the Arrow interface (pyarrow not installed,
/// or pandas < 2.2): its rows as dicts, a batch at a time.
fn pandas_rows<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyIterator>>> {
    if !(is_from(obj, "pandas") && obj.hasattr("to_dict")? && obj.hasattr("columns")?) {
        return Ok(None);
    }
    let code = c"lambda df, n: (row for i in range(0, len(df), n) for row in df.iloc[i:i + n].to_dict('records'))";
    let rows = obj.py().eval(code, None, None)?.call1((obj, BATCH))?;
    Ok(Some(rows.try_iter()?))
}

/// Whether `obj`'s class comes from the top-level package `package`.
fn is_from(obj: &Bound<'_, PyAny>, package: &str) -> bool {
    obj.get_type()
        .module()
        .ok()
        .and_then(|m| m.extract::<String>().ok())
        .is_some_and(|m| m == package || m.starts_with(&format!("{package}.")))
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
}

/// Imports `obj.__arrow_c_stream__()`: the stream moves into the reader,
/// which the core reads without the GIL (producers take the GIL themselves
/// when they need it).
fn arrow_stream(obj: &Bound<'_, PyAny>) -> PyResult<ArrowArrayStreamReader> {
    let capsule = obj.call_method0("__arrow_c_stream__")?;
    let capsule = capsule.cast::<PyCapsule>().map_err(|_| {
        PyTypeError::new_err(format!(
            "{}.__arrow_c_stream__() did not return a PyCapsule",
            type_name(obj)
        ))
    })?;
    let pointer = capsule.pointer_checked(Some(c"arrow_array_stream")).map_err(|_| {
        PyTypeError::new_err(format!(
            "{}.__arrow_c_stream__() did not return an arrow_array_stream capsule",
            type_name(obj)
        ))
    })?;
    let pointer = pointer.cast::<FFI_ArrowArrayStream>().as_ptr();
    // SAFETY: a capsule named `arrow_array_stream` holds a valid
    // `ArrowArrayStream` (the Arrow PyCapsule interface). `from_raw` moves it
    // out and leaves a released stream behind, which the capsule's
    // destructor then skips, as the interface specifies.
    unsafe { ArrowArrayStreamReader::from_raw(pointer) }
        .map_err(|e| PyValueError::new_err(format!("cannot read the Arrow stream: {e}")))
}

/// An I/O error on `path` as the `OSError` subclass of its errno, with
/// `filename` set (`FileNotFoundError: [Errno 2] …: 'in.jsonl'`).
fn os_error(e: &std::io::Error, path: &Path) -> PyErr {
    let errno = e.raw_os_error().unwrap_or(0);
    let message = match e.raw_os_error() {
        Some(_) => std::io::Error::from_raw_os_error(errno).to_string(),
        None => e.to_string(),
    };
    let message = message.split(" (os error").next().unwrap_or_default().to_owned();
    PyOSError::new_err((errno, message, path.display().to_string()))
}

/// One item of a Python input as a record: read straight into a
/// conversation, or — when that fails — converted to JSON first, whose
/// reader names the field that is wrong (or the value with no JSON form).
fn read_record(item: &Bound<'_, PyAny>, number: u64) -> Record {
    let location = Location::record(number);
    if let Ok(c) = Conversation::deserialize(PyValue::new(item)) {
        return checked(c, location);
    }
    match to_json(item) {
        Ok(value) => from_value(value, location),
        Err(e) => Err(SkippedRecord {
            location: if e.path.is_empty() { location } else { location.with_field(e.path) },
            conversation_id: conversation_id_of(item),
            reason: format!("not convertible to JSON: {}", e.message),
        }),
    }
}

fn conversation_id_of(item: &Bound<'_, PyAny>) -> Option<String> {
    ["conversation_id", "conversationId"]
        .into_iter()
        .find_map(|key| item.get_item(key).ok()?.extract::<String>().ok())
}

/// Without the GIL: exports one batch (a Python batch, or up to [`BATCH`]
/// records of a JSONL input). Returns the records taken and whether the
/// input may have more.
pub(crate) fn push_batch(
    writer: &mut impl RecordSink,
    input: &mut Input,
    items: Vec<Record>,
    more: bool,
) -> lora_export::Result<(u64, bool)> {
    match input {
        Input::Jsonl(source) => {
            for taken in 0..BATCH as u64 {
                let Some(record) = source.next() else {
                    return Ok((taken, false));
                };
                writer.push(record)?;
            }
            Ok((BATCH as u64, true))
        }
        Input::Arrow(source) => {
            for taken in 0..BATCH as u64 {
                let Some(record) = source.next() else {
                    return Ok((taken, false));
                };
                writer.push(record?)?;
            }
            Ok((BATCH as u64, true))
        }
        Input::Python { .. } => {
            let taken = items.len() as u64;
            push_items(writer, items)?;
            Ok((taken, more))
        }
    }
}

/// What the writing side of a pipelined export says of each batch: the
/// records taken and the summary so far, or why it stopped.
type Report = lora_export::Result<(u64, lora_export::ExportSummary)>;

/// Without the GIL: a read batch of a Python input into `writer`.
fn push_items(writer: &mut impl RecordSink, items: Vec<Record>) -> lora_export::Result<()> {
    for record in items {
        writer.push(record)?;
    }
    Ok(())
}

/// Bytes written by the core and handed to Python between batches.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What the core writes into.
enum Sink {
    File(BufWriter<File>),
    Buffer(Buffer),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::File(f) => f.write(buf),
            Sink::Buffer(b) => b.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match self {
            Sink::File(f) => f.write_all(buf),
            Sink::Buffer(b) => b.write_all(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::File(f) => f.flush(),
            Sink::Buffer(b) => b.flush(),
        }
    }
}

/// Where the bytes end up.
enum Target {
    /// A file at `dest`, written as `staged` in the same directory and
    /// renamed over `dest` once the export succeeded (removed if it fails,
    /// leaving any earlier file at `dest` as it was). `staged` is none for
    /// a destination that is not a regular file (`/dev/null`, a FIFO),
    /// written in place.
    Path { dest: PathBuf, staged: Option<PathBuf> },
    /// A binary file object: its `write` gets each batch's bytes.
    PyFile(Py<PyAny>, Buffer),
    /// Kept for the caller (`iter_export`, `to_string`).
    Collect(Buffer),
}

impl Target {
    /// `None` collects; a path or path-like creates the file; an object
    /// with `write` is a binary file object.
    fn open(dest: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<(Target, Sink)> {
        let Some(dest) = dest else {
            let buffer = Buffer::default();
            return Ok((Target::Collect(buffer.clone()), Sink::Buffer(buffer)));
        };
        if dest.is_instance_of::<PyString>() || dest.hasattr("__fspath__")? {
            let path: PathBuf = dest.extract()?;
            refuse_compressed(&path, what)?;
            let (staged, file) = stage(&path)?;
            let target = Target::Path { dest: path, staged };
            return Ok((target, Sink::File(BufWriter::with_capacity(1 << 20, file))));
        }
        if dest.hasattr("write")? {
            let buffer = Buffer::default();
            return Ok((
                Target::PyFile(dest.clone().unbind(), buffer.clone()),
                Sink::Buffer(buffer),
            ));
        }
        Err(PyTypeError::new_err(format!(
            "{what} must be a path or a binary file object with write()"
        )))
    }

    /// With the GIL: hands buffered bytes to a Python file object.
    fn drain(&self, py: Python<'_>) -> PyResult<()> {
        let Target::PyFile(file, buffer) = self else {
            return Ok(());
        };
        let bytes = buffer.take();
        let mut written = 0;
        while written < bytes.len() {
            let chunk = PyBytes::new(py, &bytes[written..]);
            let n: Option<usize> = file.bind(py).call_method1("write", (chunk,))?.extract()?;
            written += n.unwrap_or(bytes.len() - written);
        }
        Ok(())
    }

    /// Removes the staged file of a failed export.
    fn discard(&self) {
        if let Target::Path { staged: Some(staged), .. } = self {
            let _ = std::fs::remove_file(staged);
        }
    }

    /// Puts the staged file of a successful export in its place.
    fn commit(&self) -> PyResult<()> {
        if let Target::Path { dest, staged: Some(staged) } = self {
            std::fs::rename(staged, dest).map_err(|e| os_error(&e, dest))?;
        }
        Ok(())
    }
}

/// Suffixes of compressed files: a destination named so would get
/// uncompressed bytes, so it is refused.
const COMPRESSED: [&str; 6] = ["gz", "zst", "bz2", "xz", "zip", "lz4"];

fn refuse_compressed(path: &Path, what: &str) -> PyResult<()> {
    let Some(ext) = path.extension().and_then(|e| e.to_str()) else {
        return Ok(());
    };
    if !COMPRESSED.contains(&ext.to_ascii_lowercase().as_str()) {
        return Ok(());
    }
    Err(PyValueError::new_err(format!(
        "{what} {:?} names a .{ext} file, but lora_export writes uncompressed output; \
         pass an open compressed file instead (e.g. `with gzip.open(path, \"wb\") as f: \
         export(conversations, f)`) or drop the .{ext}",
        path.display().to_string()
    )))
}

/// A new file beside `dest` (same directory, so the final rename is
/// atomic); `dest` itself when it exists and is not a regular file.
fn stage(dest: &Path) -> PyResult<(Option<PathBuf>, File)> {
    static STAGED: AtomicU64 = AtomicU64::new(0);
    if std::fs::metadata(dest).is_ok_and(|m| !m.is_file()) {
        let file = OpenOptions::new().write(true).open(dest).map_err(|e| os_error(&e, dest))?;
        return Ok((None, file));
    }
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).ok_or_else(|| {
        PyValueError::new_err(format!("{:?} is not a file path", dest.display().to_string()))
    })?;
    let n = STAGED.fetch_add(1, Ordering::Relaxed);
    let staged = dest.with_file_name(format!(".{name}.{}-{n}.partial", std::process::id()));
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&staged)
        .map_err(|e| os_error(&e, dest))?;
    Ok((Some(staged), file))
}

/// How progress is shown.
enum Progress {
    Off,
    /// A tqdm bar.
    Bar(Py<PyAny>),
    /// A callable taking `(records_done, total_or_None)`.
    Call(Py<PyAny>),
    /// A line on stderr when tqdm is not installed.
    Text,
}

impl Progress {
    /// `False`/`None`: off; `True`: a tqdm bar (a line on stderr without
    /// tqdm); a callable: called after each batch.
    fn new(py: Python<'_>, arg: Option<&Bound<'_, PyAny>>, total: Option<u64>) -> PyResult<Self> {
        let Some(arg) = arg.filter(|a| !a.is_none()) else {
            return Ok(Progress::Off);
        };
        if let Ok(on) = arg.extract::<bool>() {
            if !on {
                return Ok(Progress::Off);
            }
            return Ok(match py.import("tqdm.auto") {
                Ok(tqdm) => {
                    let kwargs = pyo3::types::PyDict::new(py);
                    kwargs.set_item("total", total)?;
                    kwargs.set_item("unit", "conv")?;
                    kwargs.set_item("desc", "export")?;
                    Progress::Bar(tqdm.getattr("tqdm")?.call((), Some(&kwargs))?.unbind())
                }
                Err(e) if e.is_instance_of::<pyo3::exceptions::PyImportError>(py) => Progress::Text,
                Err(e) => return Err(e),
            });
        }
        if arg.is_callable() {
            return Ok(Progress::Call(arg.clone().unbind()));
        }
        Err(PyTypeError::new_err("progress must be a bool or a callable(done, total)"))
    }

    /// After a batch: `done` records read, `step` in this batch; the bar
    /// and the text line also show what was skipped and how many written
    /// conversations are not approved.
    fn update(
        &self,
        py: Python<'_>,
        done: u64,
        step: u64,
        total: Option<u64>,
        summary: &lora_export::ExportSummary,
    ) -> PyResult<()> {
        match self {
            Progress::Off => {}
            Progress::Bar(bar) => {
                let bar = bar.bind(py);
                let kwargs = pyo3::types::PyDict::new(py);
                kwargs.set_item("skipped", summary.skipped_total)?;
                kwargs.set_item("not_approved", summary.not_approved)?;
                kwargs.set_item("refresh", false)?;
                bar.call_method("set_postfix", (), Some(&kwargs))?;
                bar.call_method1("update", (step,))?;
            }
            Progress::Call(f) => {
                f.bind(py).call1((done, total))?;
            }
            Progress::Text => {
                let line = format!("\rlora_export: {}", progress_text(done, summary));
                py.import("sys")?.getattr("stderr")?.call_method1("write", (line,))?;
            }
        }
        Ok(())
    }

    fn close(&self, py: Python<'_>, summary: &lora_export::ExportSummary) -> PyResult<()> {
        match self {
            Progress::Bar(bar) => {
                bar.bind(py).call_method0("close")?;
            }
            Progress::Text => {
                let line = format!("\rlora_export: {} — done\n", progress_text(u64::MAX, summary));
                py.import("sys")?.getattr("stderr")?.call_method1("write", (line,))?;
            }
            Progress::Off | Progress::Call(_) => {}
        }
        Ok(())
    }
}

/// The keyword arguments every export function shares (see the stubs).
struct Options<'a, 'py> {
    /// Output format; defaults to `config["format"]`, else `jsonl`.
    format: Option<&'a str>,
    /// The API's export config (camelCase keys).
    config: Option<&'a Bound<'py, PyAny>>,
    /// Filters of scope `filtered`.
    filters: Option<&'a Bound<'py, PyAny>>,
    /// Conversation ids of scope `selected`.
    ids: Option<&'a Bound<'py, PyAny>>,
    /// `True`, `False`/`None` or a callable.
    progress: Option<&'a Bound<'py, PyAny>>,
    /// The date of the export (JSON `export_date`).
    export_date: Option<&'a Bound<'py, PyAny>>,
    /// Raise at the first malformed record.
    strict: bool,
    /// fsync a path's file before it is renamed into place.
    sync: bool,
    /// Where the metadata sidecar goes.
    metadata_dest: Option<&'a Bound<'py, PyAny>>,
    /// What is tolerated: duplicates, skipped records.
    limits: Limits,
}

/// The keyword arguments about what an export tolerates.
#[derive(Clone, Copy)]
struct Limits {
    dedupe: bool,
    max_skipped_share: Option<f64>,
    warn_on_too_many_skipped: bool,
    keep_skipped: usize,
}

impl Limits {
    fn new(
        dedupe: bool,
        max_skipped_share: Option<f64>,
        too_many_skipped: &str,
        keep_skipped: usize,
    ) -> PyResult<Self> {
        let warn_on_too_many_skipped = match too_many_skipped {
            "raise" => false,
            "warn" => true,
            other => {
                return Err(PyValueError::new_err(format!(
                    "too_many_skipped must be \"raise\" or \"warn\", got {other:?}"
                )))
            }
        };
        Ok(Limits { dedupe, max_skipped_share, warn_on_too_many_skipped, keep_skipped })
    }

    fn apply(self, mut builder: ExportBuilder) -> ExportBuilder {
        builder = builder.dedupe(self.dedupe).max_skipped_records(self.keep_skipped);
        if let Some(share) = self.max_skipped_share {
            builder = builder.max_skipped_share(share);
        }
        if self.warn_on_too_many_skipped {
            builder = builder.on_too_many_skipped(TooManySkipped::Warn);
        }
        builder
    }
}

/// `12,000 records, 3 skipped, 40 not approved` (`done` unknown: u64::MAX).
fn progress_text(done: u64, summary: &lora_export::ExportSummary) -> String {
    let mut text = if done == u64::MAX {
        format!("{} conversations written", summary.conversations)
    } else {
        format!("{done} records")
    };
    text.push_str(&format!(
        ", {} skipped, {} not approved",
        summary.skipped_total, summary.not_approved
    ));
    text
}

/// The summary's warnings that Python raises as `LoraExportWarning`:
/// duplicate ids and a share of skipped records above the limit (in
/// `too_many_skipped="warn"` mode). The others stay in `summary.warnings`.
fn python_warnings(summary: &lora_export::ExportSummary) -> impl Iterator<Item = &str> {
    use lora_export::WarningCode::{DuplicateIds, TooManySkipped};
    summary
        .warnings
        .iter()
        .filter(|w| matches!(w.code, DuplicateIds | TooManySkipped))
        .map(|w| w.message.as_str())
}

/// An export in progress.
struct Job {
    input: Input,
    /// fsync a path's file before its rename into place.
    sync: bool,
    writer: Option<ExportWriter<Sink>>,
    out: Target,
    sidecar: Option<Target>,
    progress: Progress,
    done: u64,
    total: Option<u64>,
}

impl Job {
    fn start(
        py: Python<'_>,
        conversations: &Bound<'_, PyAny>,
        dest: Option<&Bound<'_, PyAny>>,
        options: &Options<'_, '_>,
    ) -> PyResult<Job> {
        let request = request::build(options.format, options.config, options.filters, options.ids)?;
        let mut builder =
            options.limits.apply(ExportBuilder::new(request).fail_on_malformed(options.strict));
        if let Some(date) = options.export_date {
            builder = builder.export_date(request::instant(date, "export_date")?);
        }
        let (input, total) = Input::open(conversations)?;
        // Python objects and Arrow rows are read by one thread beside this
        // one, which leaves a core for the hash; JSONL's parsers take both.
        builder = builder.hash_on_own_thread(!matches!(input, Input::Jsonl(_)));
        let progress = Progress::new(py, options.progress, total)?;
        let sidecar = match options.metadata_dest {
            None => None,
            Some(dest) => {
                let (target, sink) = Target::open(Some(dest), "metadata_dest")?;
                builder = builder.metadata_sidecar(Box::new(sink));
                Some(target)
            }
        };
        let (out, sink) = match Target::open(dest, "dest") {
            Ok(opened) => opened,
            Err(e) => {
                sidecar.iter().for_each(Target::discard);
                return Err(e);
            }
        };
        let sync = options.sync;
        let mut job = Job { input, sync, writer: None, out, sidecar, progress, done: 0, total };
        match builder.from_writer(sink) {
            Ok(writer) => job.writer = Some(writer),
            Err(e) => {
                job.abandon(py);
                return Err(err(e));
            }
        }
        Ok(job)
    }

    /// One batch: gather (GIL), export (no GIL), hand over bytes, report
    /// progress, check signals. Returns whether the input may have more.
    fn step(&mut self, py: Python<'_>) -> PyResult<bool> {
        let (items, more) = self.input.gather(py)?;
        let mut writer = self
            .writer
            .take()
            .ok_or_else(|| PyRuntimeError::new_err("this export has already ended"))?;
        let input = &mut self.input;
        let pushed = py.detach(|| push_batch(&mut writer, input, items, more)).map_err(err);
        let stepped = pushed.and_then(|(taken, more)| {
            self.written(py, taken, writer.summary())?;
            Ok(more)
        });
        self.writer = Some(writer);
        stepped
    }

    fn drain(&self, py: Python<'_>) -> PyResult<()> {
        self.out.drain(py)?;
        self.sidecar.iter().try_for_each(|t| t.drain(py))
    }

    /// Writes the closing bytes and returns the summary.
    fn finish(&mut self, py: Python<'_>) -> PyResult<lora_export::ExportSummary> {
        let writer = self
            .writer
            .take()
            .ok_or_else(|| PyRuntimeError::new_err("this export has already ended"))?;
        let (sink, summary) = py.detach(|| writer.finish()).map_err(err)?;
        if let Sink::File(file) = sink {
            let file = file.into_inner().map_err(|e| PyErr::from(e.into_error()))?;
            if let (Target::Path { staged: Some(_), .. }, true) = (&self.out, self.sync) {
                file.sync_all()?;
            }
        }
        self.drain(py)?;
        if let Some(sidecar) = self.sidecar.as_ref() {
            sidecar.commit()?;
        }
        self.out.commit()?;
        self.progress.close(py, &summary)?;
        for warning in python_warnings(&summary) {
            warn(py, warning)?;
        }
        Ok(summary)
    }

    /// After a failure: closes the progress bar and removes created files.
    fn abandon(&mut self, py: Python<'_>) {
        let summary = self.writer.take().map(|w| w.summary().clone()).unwrap_or_default();
        let _ = self.progress.close(py, &summary);
        self.out.discard();
        self.sidecar.iter().for_each(Target::discard);
    }

    /// After a batch of `taken` records was written: hands bytes over,
    /// reports progress, checks signals.
    fn written(
        &mut self,
        py: Python<'_>,
        taken: u64,
        summary: &lora_export::ExportSummary,
    ) -> PyResult<()> {
        self.done += taken;
        self.drain(py)?;
        self.progress.update(py, self.done, taken, self.total, summary)?;
        py.check_signals()
    }

    /// A Python iterable to the end in a pipeline: this thread converts the
    /// next batch with the GIL while a second thread writes the last one
    /// without it, so both cores work (at most three batches in memory: one
    /// being converted, one waiting, one being written). Progress and the
    /// bytes for a Python file object follow one batch behind.
    fn pipeline(&mut self, py: Python<'_>) -> PyResult<()> {
        let mut writer = self
            .writer
            .take()
            .ok_or_else(|| PyRuntimeError::new_err("this export has already ended"))?;
        let (batches, inbox) = std::sync::mpsc::sync_channel::<Vec<Record>>(1);
        let (reports, outbox) = std::sync::mpsc::channel();
        let (fed, writer) = std::thread::scope(|scope| {
            let worker = scope.spawn(move || {
                for items in inbox {
                    let taken = items.len() as u64;
                    let report =
                        push_items(&mut writer, items).map(|()| (taken, writer.summary().clone()));
                    let failed = report.is_err();
                    if reports.send(report).is_err() || failed {
                        break;
                    }
                }
                writer
            });
            let fed = self.feed(py, batches, outbox);
            // The sender is gone (fed or failed): the worker ends its batch.
            let writer = py.detach(|| worker.join());
            (fed, writer)
        });
        self.writer =
            Some(writer.map_err(|_| PyRuntimeError::new_err("the export's writer panicked"))?);
        fed
    }

    /// The converting side of [`pipeline`](Self::pipeline): every batch
    /// into `batches`, each report from `outbox` handled as it comes.
    fn feed(
        &mut self,
        py: Python<'_>,
        batches: std::sync::mpsc::SyncSender<Vec<Record>>,
        mut outbox: std::sync::mpsc::Receiver<Report>,
    ) -> PyResult<()> {
        let mut in_flight = 0u64;
        let mut more = true;
        while more {
            let items;
            (items, more) = self.input.gather(py)?;
            let sent = py.detach(|| batches.send(items));
            in_flight += 1;
            if sent.is_err() {
                // The worker stopped on an error: its report says which.
                break;
            }
            while let Ok(report) = outbox.try_recv() {
                in_flight -= 1;
                let (taken, summary) = report.map_err(err)?;
                self.written(py, taken, &summary)?;
            }
        }
        drop(batches);
        for _ in 0..in_flight {
            let report;
            (report, outbox) = py.detach(move || (outbox.recv(), outbox));
            let Ok(report) = report else { break };
            let (taken, summary) = report.map_err(err)?;
            self.written(py, taken, &summary)?;
        }
        Ok(())
    }

    /// Runs to the end (or removes what it wrote and re-raises).
    fn run(mut self, py: Python<'_>) -> PyResult<(lora_export::ExportSummary, Target)> {
        let result = (|| {
            if matches!(self.input, Input::Python { .. }) {
                self.pipeline(py)?;
            } else {
                while self.step(py)? {}
            }
            self.finish(py)
        })();
        match result {
            Ok(summary) => Ok((summary, self.out)),
            Err(e) => {
                self.abandon(py);
                Err(e)
            }
        }
    }
}

/// export(conversations, dest, *, format=None, config=None, filters=None, ids=None, progress=None, export_date=None, strict=False, metadata_dest=None, dedupe=False, max_skipped_share=None, too_many_skipped="raise", keep_skipped=1000, sync=True)
/// --
///
/// Exports ``conversations`` into ``dest`` and returns the ``ExportSummary``.
///
/// dest: a path (``str`` or ``os.PathLike``) or a binary file object with
///     ``write()``. A path is written as a temporary file beside it and
///     renamed into place on success, so a failed export leaves any earlier
///     file untouched. A path ending in ``.gz``, ``.zst``, ``.bz2``, ``.xz``,
///     ``.zip`` or ``.lz4`` is refused (``ValueError``): pass an open
///     compressed file (``gzip.open(path, "wb")``) instead.
/// conversations: what to export, read record by record:
///     a pandas or polars DataFrame, a pyarrow Table or RecordBatchReader or
///     anything else with ``__arrow_c_stream__`` (read batch by batch in
///     Rust, without a Python object per row), a ``datasets.Dataset``, an
///     iterable of mappings (a list of dicts, a generator, ``df.iterrows()``
///     rows; NumPy scalars and arrays, ``pd.NA``/``NaT`` and ``datetime``
///     values are understood), a path to canonical JSONL, or ``bytes`` of it.
///     A record needs only ``conversation_id`` (or ``conversationId``) and ``turns`` (or
///     OpenAI-style ``messages``); see bindings-python/README.md's record table for the
///     other fields and their defaults. Anything else is a ``TypeError``.
/// format: ``"jsonl"`` (default), ``"json"``, ``"csv"`` or ``"markdown"``.
/// config: the export config (``ExportConfig``, camelCase keys); unknown
///     keys raise ``ValidationError``. Without ``scope``: ``"selected"`` when
///     ``ids`` are given, ``"filtered"`` with ``filters``, else
///     ``"all_data"`` — every conversation given, whatever its status; the
///     summary's ``not_approved`` and ``warnings`` (and the progress line)
///     say how many non-approved ones went in. ``{"scope": "all"}`` takes
///     approved ones only.
/// filters: ``FilterConfig`` of scope ``"filtered"`` (e.g.
///     ``{"statuses": ["approved"], "qualityRange": {"min": 8, "max": 10}}``).
/// ids: conversation ids (or database ids) of scope ``"selected"``.
/// progress: ``True`` for a tqdm bar (a line on stderr without tqdm), or a
///     callable ``(records_done, total_or_None)``.
/// export_date: the JSON format's ``export_date`` (aware ``datetime`` or
///     RFC 3339 text); default now.
/// strict: raise ``MalformedRecordError`` at the first malformed record
///     instead of skipping and listing it.
/// metadata_dest: where the metadata of JSONL flavors that forbid extra keys
///     goes (a path or a binary file object).
/// dedupe: skip conversations whose ``conversation_id`` was already written
///     (default ``False``: write them, count them in ``duplicate_ids`` and
///     warn with ``LoraExportWarning``).
/// max_skipped_share: the largest share (0–1) of records that may be
///     skipped; default ``None``: only an export that skips every record is
///     refused.
/// too_many_skipped: ``"raise"`` (default: ``TooManySkippedError``, and no
///     file is left at ``dest``) or ``"warn"`` (``LoraExportWarning``).
/// keep_skipped: how many skipped records ``summary.skipped`` keeps in full
///     (default 1000); all are counted in ``skipped_total``.
/// sync: with a path ``dest``, flush the file to the disk (fsync) before it
///     is renamed into place (default ``True``: after a crash or power loss
///     ``dest`` is the old file or the whole new one); ``False`` skips it,
///     as most writers do, for files that are easy to make again.
///
/// Conversations the format's trainer would refuse (no assistant turn, an
/// empty turn) are skipped with that reason, as are malformed records; each
/// is listed with its record (or line), field path and reason.
///
/// Example::
///
///     import pandas as pd, lora_export
///     df = pd.DataFrame({"conversation_id": ["c1"],
///                        "turns": [[{"role": "user", "content": "Hi"},
///                                  {"role": "assistant", "content": "Hello!"}]]})
///     summary = lora_export.export(df, "train.jsonl")
///     assert summary.conversations == 1
#[pyfunction]
#[pyo3(signature = (conversations, dest, *, format=None, config=None, filters=None, ids=None,
    progress=None, export_date=None, strict=false, metadata_dest=None, dedupe=false,
    max_skipped_share=None, too_many_skipped="raise", keep_skipped=1000, sync=true))]
#[allow(clippy::too_many_arguments)]
pub fn export(
    py: Python<'_>,
    conversations: &Bound<'_, PyAny>,
    dest: &Bound<'_, PyAny>,
    format: Option<&str>,
    config: Option<&Bound<'_, PyAny>>,
    filters: Option<&Bound<'_, PyAny>>,
    ids: Option<&Bound<'_, PyAny>>,
    progress: Option<&Bound<'_, PyAny>>,
    export_date: Option<&Bound<'_, PyAny>>,
    strict: bool,
    metadata_dest: Option<&Bound<'_, PyAny>>,
    dedupe: bool,
    max_skipped_share: Option<f64>,
    too_many_skipped: &str,
    keep_skipped: usize,
    sync: bool,
) -> PyResult<ExportSummary> {
    let limits = Limits::new(dedupe, max_skipped_share, too_many_skipped, keep_skipped)?;
    let options = Options {
        format,
        config,
        filters,
        ids,
        progress,
        export_date,
        strict,
        sync,
        metadata_dest,
        limits,
    };
    let job = Job::start(py, conversations, Some(dest), &options)?;
    Ok(job.run(py)?.0.into())
}

/// to_string(conversations, *, format=None, config=None, filters=None, ids=None, progress=None, export_date=None, strict=False, metadata_dest=None, dedupe=False, max_skipped_share=None, too_many_skipped="raise", keep_skipped=1000)
/// --
///
/// Exports ``conversations`` and returns the output as ``str`` (for small
/// sets and notebooks); the arguments are those of ``export``.
///
/// conversations: what to export, read record by record:
///     a pandas or polars DataFrame, a pyarrow Table or RecordBatchReader or
///     anything else with ``__arrow_c_stream__`` (read batch by batch in
///     Rust, without a Python object per row), a ``datasets.Dataset``, an
///     iterable of mappings (a list of dicts, a generator, ``df.iterrows()``
///     rows; NumPy scalars and arrays, ``pd.NA``/``NaT`` and ``datetime``
///     values are understood), a path to canonical JSONL, or ``bytes`` of it.
///     A record needs only ``conversation_id`` (or ``conversationId``) and ``turns`` (or
///     OpenAI-style ``messages``); see bindings-python/README.md's record table for the
///     other fields and their defaults. Anything else is a ``TypeError``.
/// format: ``"jsonl"`` (default), ``"json"``, ``"csv"`` or ``"markdown"``.
/// config: the export config (``ExportConfig``, camelCase keys); unknown
///     keys raise ``ValidationError``. Without ``scope``: ``"selected"`` when
///     ``ids`` are given, ``"filtered"`` with ``filters``, else
///     ``"all_data"`` — every conversation given, whatever its status; the
///     summary's ``not_approved`` and ``warnings`` (and the progress line)
///     say how many non-approved ones went in. ``{"scope": "all"}`` takes
///     approved ones only.
/// filters: ``FilterConfig`` of scope ``"filtered"`` (e.g.
///     ``{"statuses": ["approved"], "qualityRange": {"min": 8, "max": 10}}``).
/// ids: conversation ids (or database ids) of scope ``"selected"``.
/// progress: ``True`` for a tqdm bar (a line on stderr without tqdm), or a
///     callable ``(records_done, total_or_None)``.
/// export_date: the JSON format's ``export_date`` (aware ``datetime`` or
///     RFC 3339 text); default now.
/// strict: raise ``MalformedRecordError`` at the first malformed record
///     instead of skipping and listing it.
/// metadata_dest: where the metadata of JSONL flavors that forbid extra keys
///     goes (a path or a binary file object).
/// dedupe: skip conversations whose ``conversation_id`` was already written
///     (default ``False``: write them, count them in ``duplicate_ids`` and
///     warn with ``LoraExportWarning``).
/// max_skipped_share: the largest share (0–1) of records that may be
///     skipped; default ``None``: only an export that skips every record is
///     refused.
/// too_many_skipped: ``"raise"`` (default: ``TooManySkippedError``, and no
///     file is left at ``dest``) or ``"warn"`` (``LoraExportWarning``).
/// keep_skipped: how many skipped records ``summary.skipped`` keeps in full
///     (default 1000); all are counted in ``skipped_total``.
///
/// Conversations the format's trainer would refuse (no assistant turn, an
/// empty turn) are skipped with that reason, as are malformed records; each
/// is listed with its record (or line), field path and reason.
#[pyfunction]
#[pyo3(signature = (conversations, *, format=None, config=None, filters=None, ids=None,
    progress=None, export_date=None, strict=false, metadata_dest=None, dedupe=false,
    max_skipped_share=None, too_many_skipped="raise", keep_skipped=1000))]
#[allow(clippy::too_many_arguments)]
pub fn to_string(
    py: Python<'_>,
    conversations: &Bound<'_, PyAny>,
    format: Option<&str>,
    config: Option<&Bound<'_, PyAny>>,
    filters: Option<&Bound<'_, PyAny>>,
    ids: Option<&Bound<'_, PyAny>>,
    progress: Option<&Bound<'_, PyAny>>,
    export_date: Option<&Bound<'_, PyAny>>,
    strict: bool,
    metadata_dest: Option<&Bound<'_, PyAny>>,
    dedupe: bool,
    max_skipped_share: Option<f64>,
    too_many_skipped: &str,
    keep_skipped: usize,
) -> PyResult<String> {
    let limits = Limits::new(dedupe, max_skipped_share, too_many_skipped, keep_skipped)?;
    let options = Options {
        format,
        config,
        filters,
        ids,
        progress,
        export_date,
        strict,
        sync: false,
        metadata_dest,
        limits,
    };
    let job = Job::start(py, conversations, None, &options)?;
    let (_, out) = job.run(py)?;
    let Target::Collect(buffer) = out else {
        return Err(PyRuntimeError::new_err("to_string collects its output"));
    };
    String::from_utf8(buffer.take())
        .map_err(|e| PyRuntimeError::new_err(format!("export output is not UTF-8: {e}")))
}

/// iter_export(conversations, *, format=None, config=None, filters=None, ids=None, progress=None, export_date=None, strict=False, metadata_dest=None, dedupe=False, max_skipped_share=None, too_many_skipped="raise", keep_skipped=1000)
/// --
///
/// Exports ``conversations`` lazily: iterating the returned
/// ``ExportIterator`` yields the output as ``bytes`` chunks (for an HTTP
/// response or an upload); its ``summary`` is set once it is exhausted. The
/// arguments are those of ``export``.
///
/// conversations: what to export, read record by record:
///     a pandas or polars DataFrame, a pyarrow Table or RecordBatchReader or
///     anything else with ``__arrow_c_stream__`` (read batch by batch in
///     Rust, without a Python object per row), a ``datasets.Dataset``, an
///     iterable of mappings (a list of dicts, a generator, ``df.iterrows()``
///     rows; NumPy scalars and arrays, ``pd.NA``/``NaT`` and ``datetime``
///     values are understood), a path to canonical JSONL, or ``bytes`` of it.
///     A record needs only ``conversation_id`` (or ``conversationId``) and ``turns`` (or
///     OpenAI-style ``messages``); see bindings-python/README.md's record table for the
///     other fields and their defaults. Anything else is a ``TypeError``.
/// format: ``"jsonl"`` (default), ``"json"``, ``"csv"`` or ``"markdown"``.
/// config: the export config (``ExportConfig``, camelCase keys); unknown
///     keys raise ``ValidationError``. Without ``scope``: ``"selected"`` when
///     ``ids`` are given, ``"filtered"`` with ``filters``, else
///     ``"all_data"`` — every conversation given, whatever its status; the
///     summary's ``not_approved`` and ``warnings`` (and the progress line)
///     say how many non-approved ones went in. ``{"scope": "all"}`` takes
///     approved ones only.
/// filters: ``FilterConfig`` of scope ``"filtered"`` (e.g.
///     ``{"statuses": ["approved"], "qualityRange": {"min": 8, "max": 10}}``).
/// ids: conversation ids (or database ids) of scope ``"selected"``.
/// progress: ``True`` for a tqdm bar (a line on stderr without tqdm), or a
///     callable ``(records_done, total_or_None)``.
/// export_date: the JSON format's ``export_date`` (aware ``datetime`` or
///     RFC 3339 text); default now.
/// strict: raise ``MalformedRecordError`` at the first malformed record
///     instead of skipping and listing it.
/// metadata_dest: where the metadata of JSONL flavors that forbid extra keys
///     goes (a path or a binary file object).
/// dedupe: skip conversations whose ``conversation_id`` was already written
///     (default ``False``: write them, count them in ``duplicate_ids`` and
///     warn with ``LoraExportWarning``).
/// max_skipped_share: the largest share (0–1) of records that may be
///     skipped; default ``None``: only an export that skips every record is
///     refused.
/// too_many_skipped: ``"raise"`` (default: ``TooManySkippedError``, and no
///     file is left at ``dest``) or ``"warn"`` (``LoraExportWarning``).
/// keep_skipped: how many skipped records ``summary.skipped`` keeps in full
///     (default 1000); all are counted in ``skipped_total``.
///
/// Conversations the format's trainer would refuse (no assistant turn, an
/// empty turn) are skipped with that reason, as are malformed records; each
/// is listed with its record (or line), field path and reason.
#[pyfunction]
#[pyo3(signature = (conversations, *, format=None, config=None, filters=None, ids=None,
    progress=None, export_date=None, strict=false, metadata_dest=None, dedupe=false,
    max_skipped_share=None, too_many_skipped="raise", keep_skipped=1000))]
#[allow(clippy::too_many_arguments)]
pub fn iter_export(
    py: Python<'_>,
    conversations: &Bound<'_, PyAny>,
    format: Option<&str>,
    config: Option<&Bound<'_, PyAny>>,
    filters: Option<&Bound<'_, PyAny>>,
    ids: Option<&Bound<'_, PyAny>>,
    progress: Option<&Bound<'_, PyAny>>,
    export_date: Option<&Bound<'_, PyAny>>,
    strict: bool,
    metadata_dest: Option<&Bound<'_, PyAny>>,
    dedupe: bool,
    max_skipped_share: Option<f64>,
    too_many_skipped: &str,
    keep_skipped: usize,
) -> PyResult<ExportIterator> {
    let limits = Limits::new(dedupe, max_skipped_share, too_many_skipped, keep_skipped)?;
    let options = Options {
        format,
        config,
        filters,
        ids,
        progress,
        export_date,
        strict,
        sync: false,
        metadata_dest,
        limits,
    };
    let job = Job::start(py, conversations, None, &options)?;
    Ok(ExportIterator { state: Mutex::new(IterState { job: Some(job), summary: None }) })
}

struct IterState {
    job: Option<Job>,
    summary: Option<lora_export::ExportSummary>,
}

/// The iterator `iter_export` returns: `bytes` chunks of the output.
#[pyclass(module = "lora_export")]
pub struct ExportIterator {
    state: Mutex<IterState>,
}

#[pymethods]
impl ExportIterator {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let mut state = self.state.try_lock().map_err(|_| {
            PyRuntimeError::new_err("this export iterator is being advanced by another thread")
        })?;
        loop {
            let Some(job) = state.job.as_mut() else {
                return Ok(None);
            };
            let more = match job.step(py) {
                Ok(more) => more,
                Err(e) => {
                    job.abandon(py);
                    state.job = None;
                    return Err(e);
                }
            };
            let chunk = if more {
                collected(job)
            } else {
                let summary = job.finish(py);
                let chunk = collected(job);
                state.job = None;
                state.summary = Some(summary?);
                chunk
            };
            if !chunk.is_empty() {
                return Ok(Some(PyBytes::new(py, &chunk)));
            }
        }
    }

    /// The summary, once the iterator is exhausted (`None` before).
    #[getter]
    fn summary(&self) -> PyResult<Option<ExportSummary>> {
        let state = self.state.try_lock().map_err(|_| {
            PyRuntimeError::new_err("this export iterator is being advanced by another thread")
        })?;
        Ok(state.summary.clone().map(ExportSummary::from))
    }
}

fn collected(job: &Job) -> Vec<u8> {
    match &job.out {
        Target::Collect(buffer) => buffer.take(),
        _ => Vec::new(),
    }
}

/// preview(conversations, *, format=None, config=None, n=3)
/// --
///
/// Renders the first ``n`` conversations exactly as an export with
/// ``config`` would, as ``str`` (the export modal's preview). No scope is
/// applied; malformed records are skipped. ``conversations``, ``format``
/// and ``config`` are those of ``export``.
#[pyfunction]
#[pyo3(signature = (conversations, *, format=None, config=None, n=3))]
pub fn preview(
    py: Python<'_>,
    conversations: &Bound<'_, PyAny>,
    format: Option<&str>,
    config: Option<&Bound<'_, PyAny>>,
    n: usize,
) -> PyResult<String> {
    let config = request::build(format, config, None, None)?.config;
    match Input::open(conversations)?.0 {
        Input::Jsonl(source) => py
            .detach(|| lora_export::preview(source.filter_map(Result::ok), &config, n))
            .map_err(err),
        Input::Arrow(source) => py
            .detach(|| {
                let mut failure = None;
                let conversations = source
                    .map_while(|record| record.map_err(|e| failure = Some(e)).ok())
                    .filter_map(Result::ok);
                let text = lora_export::preview(conversations, &config, n);
                match failure {
                    Some(e) => Err(e),
                    None => text,
                }
            })
            .map_err(err),
        Input::Python { items, .. } => {
            let mut failure = None;
            let conversations = items
                .bind(py)
                .clone()
                .map_while(|item| item.map_err(|e| failure = Some(e)).ok())
                .enumerate()
                .filter_map(|(i, item)| conversation(&item, i as u64 + 1));
            let text = lora_export::preview(conversations, &config, n);
            match failure {
                Some(e) => Err(e),
                None => text.map_err(err),
            }
        }
    }
}

fn conversation(item: &Bound<'_, PyAny>, record: u64) -> Option<Conversation> {
    read_record(item, record).ok()
}
