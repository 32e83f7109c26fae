//! `export`, `iter_export`, `to_string` and `preview`.
//!
//! An export runs in batches: with the GIL held, the next batch of a Python
//! iterable is converted to JSON values; then the GIL is released while the
//! core turns them into conversations and writes them (a JSONL input is read
//! by the core entirely without the GIL). Between batches the bytes meant
//! for a Python file object are handed to it, progress is reported, and
//! pending signals are checked, so Ctrl-C stops a long export.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Cursor, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use lora_export::model::Conversation;
use lora_export::source::{from_value, JsonlSource, Record};
use lora_export::{ExportBuilder, ExportWriter, Location, SkippedRecord};
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyIterator, PyMapping, PyString};
use serde_json::Value;

use crate::convert::to_json;
use crate::errors::err;
use crate::request;
use crate::summary::ExportSummary;

/// Records converted or read per batch.
const BATCH: usize = 1024;

/// Bytes read from a JSONL file at a time.
const READ_BUFFER: usize = 256 * 1024;

/// Where the conversations come from.
enum Input {
    /// Canonical JSONL, read by the core (from a file or from bytes).
    Jsonl(JsonlSource<Box<dyn BufRead + Send>>),
    /// A Python iterable of mappings; `record` counts the items taken.
    Python { items: Py<PyIterator>, record: u64 },
}

/// One item of a Python batch: its JSON value and 1-based record number, or
/// why it could not be converted.
type Item = Result<(Value, u64), SkippedRecord>;

impl Input {
    /// A path (`str` or `os.PathLike`) or `bytes` of canonical JSONL, or an
    /// iterable of mappings; with the number of items when it has a length.
    fn open(conversations: &Bound<'_, PyAny>) -> PyResult<(Input, Option<u64>)> {
        if conversations.is_instance_of::<PyString>() || conversations.hasattr("__fspath__")? {
            let path: PathBuf = conversations.extract()?;
            let file = File::open(&path)?;
            let reader: Box<dyn BufRead + Send> =
                Box::new(BufReader::with_capacity(READ_BUFFER, file));
            return Ok((Input::Jsonl(JsonlSource::new(reader)), None));
        }
        if let Ok(bytes) = conversations.cast::<PyBytes>() {
            let reader: Box<dyn BufRead + Send> = Box::new(Cursor::new(bytes.as_bytes().to_vec()));
            return Ok((Input::Jsonl(JsonlSource::new(reader)), None));
        }
        if let Ok(bytes) = conversations.cast::<PyByteArray>() {
            let reader: Box<dyn BufRead + Send> = Box::new(Cursor::new(bytes.to_vec()));
            return Ok((Input::Jsonl(JsonlSource::new(reader)), None));
        }
        if conversations.cast::<PyMapping>().is_ok() {
            return Err(PyTypeError::new_err(
                "conversations must be an iterable of mappings (a list of dicts, a generator, \
                 a Dataset), a path to canonical JSONL or bytes of it; got one mapping",
            ));
        }
        let total = conversations.len().ok().map(|n| n as u64);
        let items = conversations.try_iter().map_err(|_| {
            PyTypeError::new_err(
                "conversations must be an iterable of mappings, a path to canonical JSONL or bytes of it",
            )
        })?;
        Ok((Input::Python { items: items.unbind(), record: 0 }, total))
    }

    /// With the GIL: the next batch of a Python input as JSON values (empty
    /// for a JSONL input, which the core reads itself), and whether the
    /// input may have more.
    fn gather(&mut self, py: Python<'_>) -> PyResult<(Vec<Item>, bool)> {
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
            batch.push(match to_json(&item) {
                Ok(value) => Ok((value, *record)),
                Err(e) => {
                    let mut location = Location::record(*record);
                    if !e.path.is_empty() {
                        location = location.with_field(e.path);
                    }
                    Err(SkippedRecord {
                        location,
                        conversation_id: conversation_id_of(&item),
                        reason: format!("not convertible to JSON: {}", e.message),
                    })
                }
            });
        }
        Ok((batch, true))
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
fn push_batch(
    writer: &mut ExportWriter<Sink>,
    input: &mut Input,
    items: Vec<Item>,
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
        Input::Python { .. } => {
            let taken = items.len() as u64;
            for item in items {
                let record: Record = match item {
                    Ok((value, number)) => from_value(value, Location::record(number)),
                    Err(skipped) => Err(skipped),
                };
                writer.push(record)?;
            }
            Ok((taken, more))
        }
    }
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
    /// A file this export created (removed again if the export fails).
    Path(PathBuf),
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
            let file = File::create(&path)?;
            return Ok((Target::Path(path), Sink::File(BufWriter::with_capacity(1 << 20, file))));
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

    /// Removes a file this export created.
    fn discard(&self) {
        if let Target::Path(path) = self {
            let _ = std::fs::remove_file(path);
        }
    }
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

    fn update(&self, py: Python<'_>, done: u64, step: u64, total: Option<u64>) -> PyResult<()> {
        match self {
            Progress::Off => {}
            Progress::Bar(bar) => {
                bar.bind(py).call_method1("update", (step,))?;
            }
            Progress::Call(f) => {
                f.bind(py).call1((done, total))?;
            }
            Progress::Text => {
                let line = format!("\rlora_export: {done} records");
                py.import("sys")?.getattr("stderr")?.call_method1("write", (line,))?;
            }
        }
        Ok(())
    }

    fn close(&self, py: Python<'_>) -> PyResult<()> {
        match self {
            Progress::Bar(bar) => {
                bar.bind(py).call_method0("close")?;
            }
            Progress::Text => {
                py.import("sys")?.getattr("stderr")?.call_method1("write", ("\n",))?;
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
    /// Where the metadata sidecar goes.
    metadata_dest: Option<&'a Bound<'py, PyAny>>,
}

/// An export in progress.
struct Job {
    input: Input,
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
        let mut builder = ExportBuilder::new(request).fail_on_malformed(options.strict);
        if let Some(date) = options.export_date {
            builder = builder.export_date(request::instant(date, "export_date")?);
        }
        let (input, total) = Input::open(conversations)?;
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
        let mut job = Job { input, writer: None, out, sidecar, progress, done: 0, total };
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
        let Some(writer) = self.writer.as_mut() else {
            return Err(PyRuntimeError::new_err("this export has already ended"));
        };
        let input = &mut self.input;
        let (taken, more) = py.detach(|| push_batch(writer, input, items, more)).map_err(err)?;
        self.done += taken;
        self.drain(py)?;
        self.progress.update(py, self.done, taken, self.total)?;
        py.check_signals()?;
        Ok(more)
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
            file.into_inner().map_err(|e| PyErr::from(e.into_error()))?;
        }
        self.drain(py)?;
        self.progress.close(py)?;
        Ok(summary)
    }

    /// After a failure: closes the progress bar and removes created files.
    fn abandon(&mut self, py: Python<'_>) {
        self.writer = None;
        let _ = self.progress.close(py);
        self.out.discard();
        self.sidecar.iter().for_each(Target::discard);
    }

    /// Runs to the end (or removes what it wrote and re-raises).
    fn run(mut self, py: Python<'_>) -> PyResult<(lora_export::ExportSummary, Target)> {
        let result = (|| {
            while self.step(py)? {}
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

/// Exports `conversations` into `dest` (a path or a binary file object).
#[pyfunction]
#[pyo3(signature = (conversations, dest, *, format=None, config=None, filters=None, ids=None,
    progress=None, export_date=None, strict=false, metadata_dest=None))]
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
) -> PyResult<ExportSummary> {
    let options =
        Options { format, config, filters, ids, progress, export_date, strict, metadata_dest };
    let job = Job::start(py, conversations, Some(dest), &options)?;
    Ok(job.run(py)?.0.into())
}

/// Exports `conversations` and returns the output as text (small sets).
#[pyfunction]
#[pyo3(signature = (conversations, *, format=None, config=None, filters=None, ids=None,
    progress=None, export_date=None, strict=false, metadata_dest=None))]
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
) -> PyResult<String> {
    let options =
        Options { format, config, filters, ids, progress, export_date, strict, metadata_dest };
    let job = Job::start(py, conversations, None, &options)?;
    let (_, out) = job.run(py)?;
    let Target::Collect(buffer) = out else {
        return Err(PyRuntimeError::new_err("to_string collects its output"));
    };
    String::from_utf8(buffer.take())
        .map_err(|e| PyRuntimeError::new_err(format!("export output is not UTF-8: {e}")))
}

/// Exports `conversations` lazily: iterating yields the output as `bytes`
/// chunks; `summary` is set once the iterator is exhausted.
#[pyfunction]
#[pyo3(signature = (conversations, *, format=None, config=None, filters=None, ids=None,
    progress=None, export_date=None, strict=false, metadata_dest=None))]
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
) -> PyResult<ExportIterator> {
    let options =
        Options { format, config, filters, ids, progress, export_date, strict, metadata_dest };
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

/// Renders the first `n` conversations exactly as an export with `config`
/// would (no scope is applied; malformed records are skipped).
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
    from_value(to_json(item).ok()?, Location::record(record)).ok()
}
