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

use std::sync::Mutex;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::err;
use crate::request;
use crate::summary::ExportSummary;

mod input;
mod job;
mod output;
mod progress;

use input::{conversation, Rows};
pub(crate) use input::{push_batch, Input};
pub(crate) use job::python_warnings;
use job::{Job, Limits, Options};
use output::Target;
pub(crate) use progress::Progress;

/// export(conversations, dest, *, format=None, config=None, filters=None, ids=None, progress=None, export_date=None, strict=False, metadata_dest=None, dedupe=False, max_skipped_share=None, too_many_skipped="raise", keep_skipped=1000, allow_empty=False, sync=True, compression=None, columns=None, keep_columns=None)
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
///     a polars DataFrame, a pyarrow Table or RecordBatchReader or anything
///     else with ``__arrow_c_stream__`` (read batch by batch in Rust, without
///     a Python object per row), a pandas DataFrame (read by its columns, a
///     batch of rows at a time), a ``datasets.Dataset``, an
///     iterable of mappings (a list of dicts, a generator, ``df.iterrows()``
///     rows; NumPy scalars and arrays, ``pd.NA``/``NaT`` and ``datetime``
///     values are understood), a path to canonical JSONL, or ``bytes`` of it.
///     A record needs only ``conversation_id`` (or ``conversationId``) and ``turns`` (or
///     OpenAI-style ``messages``); see bindings-python/README.md's record table for the
///     other fields and their defaults. Anything else is a ``TypeError``.
/// format: ``"jsonl"`` (default), ``"json"``, ``"csv"``, ``"markdown"`` or
///     ``"parquet"`` (one row per conversation; docs/formats.md has its schema).
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
///     (default 1000); all are counted in ``skipped_total``. Any skipped
///     record raises a ``LoraExportWarning`` (the count and the top reasons).
/// allow_empty: ``False`` (default): an input with no record at all raises
///     ``NoConversationsError``; ``True`` writes an empty export.
/// columns: your column names → the record's fields, e.g. ``{"dialog":
///     "messages", "uid": "conversation_id", "score": "quality_score"}``;
///     a field the record does not have, or two columns mapped to one field,
///     raise ``ValidationError``, and so does a mapped column that no row has.
/// keep_columns: ``True`` (every column that is not read) or a list of
///     column names, carried into the metadata's ``user_fields``; other
///     columns are listed in ``summary.ignored_fields`` (name → rows) with a
///     ``LoraExportWarning``.
/// sync: with a path ``dest``, flush the file to the disk (fsync) before it
///     is renamed into place (default ``True``: after a crash or power loss
///     ``dest`` is the old file or the whole new one); ``False`` skips it,
///     as most writers do, for files that are easy to make again.
/// compression: ``"none"`` (default), ``"gzip"`` or ``"zstd"``: ``dest``
///     gets the compressed file (name it ``.gz``/``.zst``), and the
///     summary's ``bytes`` and ``sha256`` are of the compressed bytes.
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
    max_skipped_share=None, too_many_skipped="raise", keep_skipped=1000, allow_empty=false, sync=true,
    compression=None, columns=None, keep_columns=None))]
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
    allow_empty: bool,
    sync: bool,
    compression: Option<&str>,
    columns: Option<&Bound<'_, PyAny>>,
    keep_columns: Option<&Bound<'_, PyAny>>,
) -> PyResult<ExportSummary> {
    let limits =
        Limits::new(dedupe, max_skipped_share, too_many_skipped, keep_skipped, allow_empty)?;
    let options = Options {
        format,
        config,
        filters,
        ids,
        compression,
        progress,
        export_date,
        strict,
        sync,
        metadata_dest,
        limits,
        columns: request::Columns { columns, keep_columns },
        text_only: false,
    };
    let job = Job::start(py, conversations, Some(dest), &options)?;
    Ok(job.run(py)?.0.into())
}

/// to_string(conversations, *, format=None, config=None, filters=None, ids=None, progress=None, export_date=None, strict=False, metadata_dest=None, dedupe=False, max_skipped_share=None, too_many_skipped="raise", keep_skipped=1000, allow_empty=False, columns=None, keep_columns=None)
/// --
///
/// Exports ``conversations`` and returns the output as ``str`` (for small
/// sets and notebooks); the arguments are those of ``export``. Parquet,
/// which is binary, raises ``ValueError``.
///
/// conversations: what to export, read record by record:
///     a polars DataFrame, a pyarrow Table or RecordBatchReader or anything
///     else with ``__arrow_c_stream__`` (read batch by batch in Rust, without
///     a Python object per row), a pandas DataFrame (read by its columns, a
///     batch of rows at a time), a ``datasets.Dataset``, an
///     iterable of mappings (a list of dicts, a generator, ``df.iterrows()``
///     rows; NumPy scalars and arrays, ``pd.NA``/``NaT`` and ``datetime``
///     values are understood), a path to canonical JSONL, or ``bytes`` of it.
///     A record needs only ``conversation_id`` (or ``conversationId``) and ``turns`` (or
///     OpenAI-style ``messages``); see bindings-python/README.md's record table for the
///     other fields and their defaults. Anything else is a ``TypeError``.
/// format: ``"jsonl"`` (default), ``"json"``, ``"csv"``, ``"markdown"`` or
///     ``"parquet"`` (one row per conversation; docs/formats.md has its schema).
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
///     (default 1000); all are counted in ``skipped_total``. Any skipped
///     record raises a ``LoraExportWarning`` (the count and the top reasons).
/// allow_empty: ``False`` (default): an input with no record at all raises
///     ``NoConversationsError``; ``True`` writes an empty export.
/// columns: your column names → the record's fields, e.g. ``{"dialog":
///     "messages", "uid": "conversation_id", "score": "quality_score"}``;
///     a field the record does not have, or two columns mapped to one field,
///     raise ``ValidationError``, and so does a mapped column that no row has.
/// keep_columns: ``True`` (every column that is not read) or a list of
///     column names, carried into the metadata's ``user_fields``; other
///     columns are listed in ``summary.ignored_fields`` (name → rows) with a
///     ``LoraExportWarning``.
///
/// Conversations the format's trainer would refuse (no assistant turn, an
/// empty turn) are skipped with that reason, as are malformed records; each
/// is listed with its record (or line), field path and reason.
#[pyfunction]
#[pyo3(signature = (conversations, *, format=None, config=None, filters=None, ids=None,
    progress=None, export_date=None, strict=false, metadata_dest=None, dedupe=false,
    max_skipped_share=None, too_many_skipped="raise", keep_skipped=1000, allow_empty=false,
    columns=None, keep_columns=None))]
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
    allow_empty: bool,
    columns: Option<&Bound<'_, PyAny>>,
    keep_columns: Option<&Bound<'_, PyAny>>,
) -> PyResult<String> {
    let limits =
        Limits::new(dedupe, max_skipped_share, too_many_skipped, keep_skipped, allow_empty)?;
    let options = Options {
        format,
        config,
        filters,
        ids,
        compression: None,
        progress,
        export_date,
        strict,
        sync: false,
        metadata_dest,
        limits,
        columns: request::Columns { columns, keep_columns },
        text_only: true,
    };
    let job = Job::start(py, conversations, None, &options)?;
    let (_, out) = job.run(py)?;
    let Target::Collect(buffer) = out else {
        return Err(PyRuntimeError::new_err("to_string collects its output"));
    };
    String::from_utf8(buffer.take())
        .map_err(|e| PyRuntimeError::new_err(format!("export output is not UTF-8: {e}")))
}

/// iter_export(conversations, *, format=None, config=None, filters=None, ids=None, progress=None, export_date=None, strict=False, metadata_dest=None, dedupe=False, max_skipped_share=None, too_many_skipped="raise", keep_skipped=1000, allow_empty=False, columns=None, keep_columns=None)
/// --
///
/// Exports ``conversations`` lazily: iterating the returned
/// ``ExportIterator`` yields the output as ``bytes`` chunks (for an HTTP
/// response or an upload); its ``summary`` is set once it is exhausted. The
/// arguments are those of ``export``.
///
/// conversations: what to export, read record by record:
///     a polars DataFrame, a pyarrow Table or RecordBatchReader or anything
///     else with ``__arrow_c_stream__`` (read batch by batch in Rust, without
///     a Python object per row), a pandas DataFrame (read by its columns, a
///     batch of rows at a time), a ``datasets.Dataset``, an
///     iterable of mappings (a list of dicts, a generator, ``df.iterrows()``
///     rows; NumPy scalars and arrays, ``pd.NA``/``NaT`` and ``datetime``
///     values are understood), a path to canonical JSONL, or ``bytes`` of it.
///     A record needs only ``conversation_id`` (or ``conversationId``) and ``turns`` (or
///     OpenAI-style ``messages``); see bindings-python/README.md's record table for the
///     other fields and their defaults. Anything else is a ``TypeError``.
/// format: ``"jsonl"`` (default), ``"json"``, ``"csv"``, ``"markdown"`` or
///     ``"parquet"`` (one row per conversation; docs/formats.md has its schema).
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
///     (default 1000); all are counted in ``skipped_total``. Any skipped
///     record raises a ``LoraExportWarning`` (the count and the top reasons).
/// allow_empty: ``False`` (default): an input with no record at all raises
///     ``NoConversationsError``; ``True`` writes an empty export.
/// columns: your column names → the record's fields, e.g. ``{"dialog":
///     "messages", "uid": "conversation_id", "score": "quality_score"}``;
///     a field the record does not have, or two columns mapped to one field,
///     raise ``ValidationError``, and so does a mapped column that no row has.
/// keep_columns: ``True`` (every column that is not read) or a list of
///     column names, carried into the metadata's ``user_fields``; other
///     columns are listed in ``summary.ignored_fields`` (name → rows) with a
///     ``LoraExportWarning``.
///
/// Conversations the format's trainer would refuse (no assistant turn, an
/// empty turn) are skipped with that reason, as are malformed records; each
/// is listed with its record (or line), field path and reason.
#[pyfunction]
#[pyo3(signature = (conversations, *, format=None, config=None, filters=None, ids=None,
    progress=None, export_date=None, strict=false, metadata_dest=None, dedupe=false,
    max_skipped_share=None, too_many_skipped="raise", keep_skipped=1000, allow_empty=false,
    columns=None, keep_columns=None))]
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
    allow_empty: bool,
    columns: Option<&Bound<'_, PyAny>>,
    keep_columns: Option<&Bound<'_, PyAny>>,
) -> PyResult<ExportIterator> {
    let limits =
        Limits::new(dedupe, max_skipped_share, too_many_skipped, keep_skipped, allow_empty)?;
    let options = Options {
        format,
        config,
        filters,
        ids,
        compression: None,
        progress,
        export_date,
        strict,
        sync: false,
        metadata_dest,
        limits,
        columns: request::Columns { columns, keep_columns },
        text_only: false,
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

/// preview(conversations, *, format=None, config=None, n=3, columns=None, keep_columns=None)
/// --
///
/// Renders the first ``n`` conversations exactly as an export with
/// ``config`` would, as ``str`` (the export modal's preview). No scope is
/// applied; malformed records are skipped. ``conversations``, ``format``,
/// ``config``, ``columns`` and ``keep_columns`` are those of ``export``.
#[pyfunction]
#[pyo3(signature = (conversations, *, format=None, config=None, n=3, columns=None, keep_columns=None))]
pub fn preview(
    py: Python<'_>,
    conversations: &Bound<'_, PyAny>,
    format: Option<&str>,
    config: Option<&Bound<'_, PyAny>>,
    n: usize,
    columns: Option<&Bound<'_, PyAny>>,
    keep_columns: Option<&Bound<'_, PyAny>>,
) -> PyResult<String> {
    let columns = request::Columns { columns, keep_columns };
    let request = request::build(format, config, None, None, None, columns)?;
    let reading = std::sync::Arc::new(lora_export::source::Reading::of(&request));
    let config = request.config;
    match Input::open(conversations, reading)?.0 {
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
        Input::Python { rows: Rows::Items(items), reading, .. } => {
            let mut failure = None;
            let conversations = items
                .bind(py)
                .clone()
                .map_while(|item| item.map_err(|e| failure = Some(e)).ok())
                .enumerate()
                .filter_map(|(i, item)| conversation(&item, i as u64 + 1, &reading));
            let text = lora_export::preview(conversations, &config, n);
            match failure {
                Some(e) => Err(e),
                None => text.map_err(err),
            }
        }
        mut frame @ Input::Python { .. } => {
            let mut conversations = Vec::new();
            loop {
                let (batch, more) = frame.gather(py)?;
                conversations.extend(batch.into_iter().filter_map(Result::ok));
                if conversations.len() >= n || !more {
                    break;
                }
            }
            lora_export::preview(conversations, &config, n).map_err(err)
        }
    }
}
