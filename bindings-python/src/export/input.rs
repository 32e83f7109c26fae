//! Where an export's conversations come from: JSONL (paths, bytes), Arrow
//! (pyarrow, polars, datasets), pandas DataFrames (by their columns),
//! iterables of dicts, and the batches they are read in.

use std::fs::File;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};

use arrow_array::ffi_stream::{ArrowArrayStreamReader, FFI_ArrowArrayStream};
use lora_export::model::Conversation;
use lora_export::source::{checked, ArrowSource, BackgroundJsonlSource, Reading, Record};
use lora_export::{Location, RecordSink, SkippedRecord};
use pyo3::exceptions::{PyOSError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{
    PyByteArray, PyBytes, PyCapsule, PyDict, PyIterator, PyList, PyMapping, PySlice, PyString,
};

use crate::convert::to_json;
use crate::deserialize::{PyRow, PyValue};

/// Records converted or read per batch.
pub(super) const BATCH: usize = 1024;

/// Where the conversations come from.
pub(crate) enum Input {
    /// Canonical JSONL (from a file or from bytes), read and parsed by the
    /// core on threads of its own while this one formats and writes.
    Jsonl(BackgroundJsonlSource),
    /// Python rows (an iterable of mappings, or a pandas DataFrame read by
    /// its columns); `record` counts the rows taken.
    Python { rows: Rows, record: u64, reading: Arc<Reading> },
    /// Arrow record batches (the Arrow C stream interface), read by the
    /// core on a thread of its own while this one formats and writes.
    Arrow(ArrowThread),
}

/// What `conversations` may be, for the `TypeError` of anything else.
pub(super) const ACCEPTED: &str =
    "a pandas or polars DataFrame, a pyarrow Table or RecordBatchReader \
    (anything with __arrow_c_stream__), a datasets.Dataset, an iterable of mappings (a list of \
    dicts, a generator), a path to a Parquet file or to JSONL, or bytes of JSONL";

impl Input {
    /// A path (`str` or `os.PathLike`) or `bytes` of canonical JSONL, or an
    /// iterable of mappings; with the number of items when it has a length.
    /// Every reader reads the rows by the rule of `reading` (the request's
    /// `columns` and `keepColumns`).
    pub(crate) fn open(
        conversations: &Bound<'_, PyAny>,
        reading: Arc<Reading>,
    ) -> PyResult<(Input, Option<u64>)> {
        let arrow = |reader, reading| {
            Input::Arrow(ArrowThread::new(ArrowSource::with_reading(reader, reading)))
        };
        if conversations.is_instance_of::<PyString>() || conversations.hasattr("__fspath__")? {
            let path: PathBuf = conversations.extract()?;
            let mut file = File::open(&path).map_err(|e| os_error(&e, &path))?;
            if is_parquet(&mut file).map_err(|e| os_error(&e, &path))? {
                let (table, total) = parquet_batches(conversations.py(), &path)?;
                let reader = arrow_stream(&table)?;
                return Ok((arrow(reader, reading), total));
            }
            return Ok((
                Input::Jsonl(BackgroundJsonlSource::with_reading(file, reading, || {})),
                None,
            ));
        }
        if let Ok(bytes) = conversations.cast::<PyBytes>() {
            let bytes = Cursor::new(bytes.as_bytes().to_vec());
            return Ok((
                Input::Jsonl(BackgroundJsonlSource::with_reading(bytes, reading, || {})),
                None,
            ));
        }
        if let Ok(bytes) = conversations.cast::<PyByteArray>() {
            let bytes = Cursor::new(bytes.to_vec());
            return Ok((
                Input::Jsonl(BackgroundJsonlSource::with_reading(bytes, reading, || {})),
                None,
            ));
        }
        if is_from(conversations, "datasets") && type_name(conversations) == "DatasetDict" {
            let splits: Vec<String> = conversations
                .call_method0("keys")?
                .try_iter()?
                .map(|k| k.and_then(|k| k.extract::<String>()))
                .collect::<PyResult<_>>()?;
            let first = splits.first().map_or("train", String::as_str);
            return Err(PyTypeError::new_err(format!(
                "conversations is a datasets.DatasetDict with the splits {splits:?}: export one \
                 split, e.g. dd[{first:?}], or export_dataset(dd, out_dir) for every split"
            )));
        }
        if conversations.cast::<PyMapping>().is_ok() {
            return Err(PyTypeError::new_err(format!(
                "conversations must be {ACCEPTED}; got one mapping (wrap it in a list)"
            )));
        }
        let total = conversations.len().ok().map(|n| n as u64);
        if let Some(frame) = Frame::open(conversations)? {
            return Ok((Input::Python { rows: Rows::Frame(frame), record: 0, reading }, total));
        }
        if let Some(table) = arrow_table(conversations)? {
            let reader = arrow_stream(&table)?;
            return Ok((arrow(reader, reading), total));
        }
        let items = conversations.try_iter().map_err(|_| {
            PyTypeError::new_err(format!(
                "conversations must be {ACCEPTED}; got {}",
                type_name(conversations)
            ))
        })?;
        Ok((Input::Python { rows: Rows::Items(items.unbind()), record: 0, reading }, total))
    }

    /// With the GIL: the next batch of a Python input as records (empty
    /// for a JSONL input, which the core reads itself), and whether the
    /// input may have more.
    pub(crate) fn gather(&mut self, py: Python<'_>) -> PyResult<(Vec<Record>, bool)> {
        let Input::Python { rows, record, reading } = self else {
            return Ok((Vec::new(), true));
        };
        let items = match rows {
            Rows::Items(items) => items,
            Rows::Frame(frame) => return frame.batch(py, record, reading),
        };
        let mut batch = Vec::with_capacity(BATCH);
        let mut items = items.bind(py).clone();
        while batch.len() < BATCH {
            let Some(item) = items.next() else {
                return Ok((batch, false));
            };
            let item = item?;
            *record += 1;
            batch.push(read_record(&item, *record, reading));
        }
        Ok((batch, true))
    }
}

/// The rows of a Python input.
pub(crate) enum Rows {
    /// An iterable of mappings, an item at a time.
    Items(Py<PyIterator>),
    /// A pandas DataFrame, read by its columns.
    Frame(Frame),
}

/// A pandas DataFrame read by its columns, [`BATCH`] rows at a time: each
/// column's slice as a list (`Series.tolist()`: Python scalars, pandas'
/// `Timestamp`s, the cells of object columns as they are — NumPy arrays of
/// dicts from `read_parquet`), each row read from those lists into a
/// record without a dict, a frame converted to Arrow or a copy of it. Only
/// a batch of cells is held at a time. The index is not a column.
pub(crate) struct Frame {
    /// The column names as text (`str()` of a name that is not one, as
    /// pyarrow names them).
    names: Vec<Py<PyString>>,
    /// The columns, by position (names may repeat).
    columns: Vec<Py<PyAny>>,
    rows: usize,
    next: usize,
}

impl Frame {
    /// `obj` when it is a pandas DataFrame.
    fn open(obj: &Bound<'_, PyAny>) -> PyResult<Option<Frame>> {
        if !(is_from(obj, "pandas") && type_name(obj) == "DataFrame") {
            return Ok(None);
        }
        let py = obj.py();
        let names = obj
            .getattr("columns")?
            .try_iter()?
            .map(|name| Ok(name?.str()?.unbind()))
            .collect::<PyResult<Vec<_>>>()?;
        let iloc = obj.getattr("iloc")?;
        let columns = (0..names.len())
            .map(|j| Ok(iloc.get_item((PySlice::full(py), j))?.unbind()))
            .collect::<PyResult<Vec<_>>>()?;
        Ok(Some(Frame { names, columns, rows: obj.len()?, next: 0 }))
    }

    /// The next rows as records, and whether there are more.
    fn batch(
        &mut self,
        py: Python<'_>,
        record: &mut u64,
        reading: &Reading,
    ) -> PyResult<(Vec<Record>, bool)> {
        let end = (self.next + BATCH).min(self.rows);
        let slice = PySlice::new(py, self.next as isize, end as isize, 1);
        let lists = self
            .columns
            .iter()
            .map(|column| {
                let cells = column.bind(py).getattr("iloc")?.get_item(&slice)?;
                Ok(cells.call_method0("tolist")?.cast_into::<PyList>()?)
            })
            .collect::<PyResult<Vec<_>>>()?;
        let names: Vec<_> = self.names.iter().map(|name| name.bind(py).clone()).collect();
        let mut batch = Vec::with_capacity(end - self.next);
        let mut cells = Vec::with_capacity(lists.len());
        for i in 0..end - self.next {
            cells.clear();
            for list in &lists {
                cells.push(list.get_item(i)?);
            }
            *record += 1;
            let location = Location::record(*record);
            batch.push(match reading.deserialize(PyRow::new(&names, &cells)) {
                Some(c) => checked(c, location),
                None => {
                    // The slow path, whose error names the field: the row's dict.
                    let row = PyDict::new(py);
                    for (name, cell) in names.iter().zip(&cells) {
                        row.set_item(name, cell)?;
                    }
                    read_record(row.as_any(), *record, reading)
                }
            });
        }
        self.next = end;
        Ok((batch, end < self.rows))
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
    pub(super) fn new(mut source: ArrowSource<ArrowArrayStreamReader>) -> Self {
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
/// has `__arrow_c_stream__` (pyarrow, polars; a pandas DataFrame is read
/// by its columns, see [`Frame`]), a `datasets.Dataset`'s Arrow table (its rows in order, after any
/// `select`/`shuffle`), else none.
///
/// A polars frame's stream is passed through pyarrow when pyarrow is there:
/// polars exports a column of dtype `Null` (all values `None`, an ordinary
/// column to have) with one buffer where the C data interface has none, and
/// arrow-rs refuses it ("The datatype \"Null\" doesn't expect buffer at index
/// 0"); pyarrow reads polars' arrays and exports them as specified, batch by
/// batch, without a copy.
pub(super) fn arrow_table<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
    if obj.hasattr("__arrow_c_stream__")? {
        if is_from(obj, "polars") {
            return match obj.py().import("pyarrow") {
                Ok(pyarrow) => {
                    let reader = pyarrow.getattr("RecordBatchReader")?;
                    Ok(Some(reader.call_method1("from_stream", (obj,))?))
                }
                Err(_) => polars_without_null_columns(obj).map(Some),
            };
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

/// Without pyarrow: a polars DataFrame with its columns of dtype `Null`
/// cast to `String` (every value still `None`), which arrow-rs reads; a
/// `Null` field inside a list or struct column is a `ValueError` saying
/// what to do.
fn polars_without_null_columns<'py>(frame: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let polars = frame.py().import("polars")?;
    let null = polars.getattr("Null")?;
    let casts = PyDict::new(frame.py());
    for item in frame.getattr("schema")?.call_method0("items")?.try_iter()? {
        let (name, dtype): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract()?;
        if dtype.eq(&null)? {
            casts.set_item(name, polars.getattr("String")?)?;
        } else if holds_null(&dtype, &null)? {
            return Err(PyValueError::new_err(format!(
                "column {name} of this polars DataFrame has a field of dtype Null (every value \
                 None) inside a list or struct, which polars exports in a form Arrow readers \
                 refuse (pola-rs/polars#22934): install pyarrow, which reads it, or cast the \
                 field to its type"
            )));
        }
    }
    if casts.is_empty() {
        return Ok(frame.clone());
    }
    frame.call_method1("cast", (casts,))
}

/// Whether the polars `dtype` is `Null` or holds it in a list, array or
/// struct.
fn holds_null(dtype: &Bound<'_, PyAny>, null: &Bound<'_, PyAny>) -> PyResult<bool> {
    if dtype.eq(null)? {
        return Ok(true);
    }
    if let Ok(inner) = dtype.getattr("inner") {
        if !inner.is_none() && holds_null(&inner, null)? {
            return Ok(true);
        }
    }
    if let Ok(fields) = dtype.getattr("fields") {
        for field in fields.try_iter()? {
            if holds_null(&field?.getattr("dtype")?, null)? {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Whether `file` starts with Parquet's magic bytes `PAR1` (it is rewound).
fn is_parquet(file: &mut File) -> std::io::Result<bool> {
    use std::io::{Read, Seek};
    let mut magic = [0u8; 4];
    let n = file.read(&mut magic)?;
    file.rewind()?;
    Ok(n == 4 && &magic == b"PAR1")
}

/// A Parquet file's rows as an Arrow stream of record batches, read by
/// pyarrow a row group at a time, and its row count.
fn parquet_batches<'py>(
    py: Python<'py>,
    path: &Path,
) -> PyResult<(Bound<'py, PyAny>, Option<u64>)> {
    let pq = py.import("pyarrow.parquet").map_err(|_| {
        PyTypeError::new_err(format!(
            "{} is a Parquet file: reading it needs pyarrow (pip install pyarrow)",
            path.display()
        ))
    })?;
    let file = pq.call_method1("ParquetFile", (path,))?;
    let total = file.getattr("metadata")?.getattr("num_rows")?.extract::<u64>().ok();
    let batches = file.call_method1("iter_batches", (BATCH,))?;
    let schema = file.getattr("schema_arrow")?;
    let reader = py
        .import("pyarrow")?
        .getattr("RecordBatchReader")?
        .call_method1("from_batches", (schema, batches))?;
    Ok((reader, total))
}

/// Whether `obj`'s class comes from the top-level package `package`.
pub(super) fn is_from(obj: &Bound<'_, PyAny>, package: &str) -> bool {
    obj.get_type()
        .module()
        .ok()
        .and_then(|m| m.extract::<String>().ok())
        .is_some_and(|m| m == package || m.starts_with(&format!("{package}.")))
}

pub(super) fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
}

/// Imports `obj.__arrow_c_stream__()`: the stream moves into the reader,
/// which the core reads without the GIL (producers take the GIL themselves
/// when they need it).
pub(super) fn arrow_stream(obj: &Bound<'_, PyAny>) -> PyResult<ArrowArrayStreamReader> {
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
pub(super) fn os_error(e: &std::io::Error, path: &Path) -> PyErr {
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
pub(super) fn read_record(item: &Bound<'_, PyAny>, number: u64, reading: &Reading) -> Record {
    let location = Location::record(number);
    if let Some(c) = reading.deserialize(PyValue::new(item)) {
        return checked(c, location);
    }
    match to_json(item) {
        Ok(value) => reading.value(value, location),
        Err(e) => Err(SkippedRecord {
            location: if e.path.is_empty() { location } else { location.with_field(e.path) },
            conversation_id: conversation_id_of(item),
            reason: format!("not convertible to JSON: {}", e.message),
        }),
    }
}

pub(super) fn conversation_id_of(item: &Bound<'_, PyAny>) -> Option<String> {
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
            let batch: Vec<Record> = source.by_ref().take(BATCH).collect();
            let taken = batch.len();
            writer.push_all(batch)?;
            Ok((taken as u64, taken == BATCH))
        }
        Input::Arrow(source) => {
            let batch = source.by_ref().take(BATCH).collect::<lora_export::Result<Vec<_>>>()?;
            let taken = batch.len();
            writer.push_all(batch)?;
            Ok((taken as u64, taken == BATCH))
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
pub(super) type Report = lora_export::Result<(u64, lora_export::ExportSummary)>;

/// Without the GIL: a read batch of a Python input into `writer`.
pub(super) fn push_items(
    writer: &mut impl RecordSink,
    items: Vec<Record>,
) -> lora_export::Result<()> {
    writer.push_all(items)
}

pub(super) fn conversation(
    item: &Bound<'_, PyAny>,
    record: u64,
    reading: &Reading,
) -> Option<Conversation> {
    read_record(item, record, reading).ok()
}
