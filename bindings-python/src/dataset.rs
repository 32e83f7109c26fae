//! `export_dataset`: the core's dataset export (splits, dedupe, shards,
//! compression and a dataset card in a directory), over the same inputs as
//! `export` — or a mapping of the user's own splits to such inputs (a
//! `datasets.DatasetDict`) — read in the same batches with the GIL released
//! while Rust works.

use std::path::PathBuf;
use std::sync::Arc;

use lora_export::dataset::{DatasetOptions, SplitBy, SplitSpec};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyMapping, PyString};

use crate::convert::serialize_to_py;
use crate::errors::{err, warn};
use crate::export::{push_batch, python_warnings, Input, Progress};
use crate::request;
use crate::summary::ExportSummary;

/// export_dataset(conversations, dest_dir, *, format=None, config=None, filters=None, ids=None, split=None, seed=0, dedupe=False, max_records_per_shard=None, max_bytes_per_shard=None, compression=None, tokenizer=None, max_tokens=None, chat_template=None, export_date=None, progress=None, overwrite=False, columns=None, keep_columns=None)
/// --
///
/// Exports ``conversations`` (anything ``export`` takes) as a Hugging Face
/// dataset directory ``dest_dir`` (created; it must be empty unless
/// ``overwrite``) and returns a ``DatasetSummary``: each split's exact count,
/// skipped records, leaks and files (name, conversations, bytes and SHA-256
/// of the stored bytes), the duplicates, and the whole export's
/// ``ExportSummary`` as ``export`` (``summary["export"]`` and ``to_dict()``
/// give the core's dicts).
///
/// ``conversations`` may also be the user's own splits: a
/// ``datasets.DatasetDict``, or a mapping of split names to inputs
/// (``{"train": df1, "test": df2}``). Each split is written into its own
/// files (``test-00000-of-00001.jsonl``) as given — no hash, no ``seed``;
/// ``split=`` with it is a ``ConfigError``. A split name must be a safe file
/// name (ASCII letters, digits and ``_`` in runs joined by dots, at most 64
/// bytes): another is a ``ValidationError`` naming it. A conversation that
/// repeats (id or turns) one of an earlier split is a leak: counted in
/// ``leaks`` and warned about (``LoraExportWarning``); with ``dedupe`` that
/// later copy is left out, without it both are written. Skipped rows,
/// fields a format cannot carry and columns neither read nor kept raise a
/// ``LoraExportWarning`` as they do in ``export()``.
///
/// split: ``"train=0.9,validation=0.1"`` or ``{"train": 0.9, "validation": 0.1}``;
///     default one split ``train``. Decided by SHA-256 of ``seed`` and each
///     conversation id alone: a conversation stays in its split when data is
///     added or the format or system prompt changes.
/// dedupe: leave out (and list as skipped) a conversation whose id or whose
///     turns came before; a duplicate is never in two splits.
/// max_records_per_shard / max_bytes_per_shard: a new shard after that many conversations /
///     bytes of data (``train-00000-of-00004.jsonl``).
/// compression: ``"gzip"`` or ``"zstd"`` (``.jsonl.gz``, ``.jsonl.zst``).
/// tokenizer: ``"o200k_base"``, ``"cl100k_base"`` or the path of a Hugging
///     Face ``tokenizer.json``: each conversation's token count goes into its
///     metadata, and their total, max, p50 and p95 into the summary.
/// max_tokens: leave out (and list as skipped) a conversation of more
///     tokens, one the trainer would truncate; needs ``tokenizer``.
/// chat_template: render each conversation with the model's chat template
///     before counting, as ``apply_chat_template`` does: a Jinja template's
///     text, or the path of a ``tokenizer_config.json`` or a template file;
///     needs a ``tokenizer.json`` ``tokenizer``.
/// progress: ``True`` for a tqdm bar (a line on stderr without tqdm), or a
///     callable ``(records_done, total_or_None)``, called once per batch of
///     records read; an exception it raises stops the export, leaving no file.
/// overwrite: replace what ``dest_dir`` holds, once the dataset is complete
///     (default ``False``: a directory that holds files is refused).
/// columns, keep_columns: how your rows' columns are read, as in ``export``.
///
/// The directory gets a ``README.md`` dataset card, so
/// ``datasets.load_dataset(dest_dir)`` loads every split. Files appear under
/// their names only once the export succeeded.
///
/// Example::
///
///     import lora_export
///     summary = lora_export.export_dataset("data/sample.jsonl", "dataset",
///                                          split={"train": 0.9, "validation": 0.1}, seed=42)
///     [s["conversations"] for s in summary["splits"]]
#[pyfunction]
#[pyo3(signature = (conversations, dest_dir, *, format=None, config=None, filters=None, ids=None,
    split=None, seed=0, dedupe=false, max_records_per_shard=None, max_bytes_per_shard=None, compression=None,
    tokenizer=None, max_tokens=None, chat_template=None, export_date=None, progress=None,
    overwrite=false, columns=None, keep_columns=None))]
#[allow(clippy::too_many_arguments)]
pub fn export_dataset<'py>(
    py: Python<'py>,
    conversations: &Bound<'py, PyAny>,
    dest_dir: PathBuf,
    format: Option<&str>,
    config: Option<&Bound<'py, PyAny>>,
    filters: Option<&Bound<'py, PyAny>>,
    ids: Option<&Bound<'py, PyAny>>,
    split: Option<&Bound<'py, PyAny>>,
    seed: u64,
    dedupe: bool,
    max_records_per_shard: Option<u64>,
    max_bytes_per_shard: Option<u64>,
    compression: Option<&str>,
    tokenizer: Option<PathBuf>,
    max_tokens: Option<u64>,
    chat_template: Option<PathBuf>,
    export_date: Option<&Bound<'py, PyAny>>,
    progress: Option<&Bound<'py, PyAny>>,
    overwrite: bool,
    columns: Option<&Bound<'py, PyAny>>,
    keep_columns: Option<&Bound<'py, PyAny>>,
) -> PyResult<DatasetSummary> {
    let columns = request::Columns { columns, keep_columns };
    let request = request::build(format, config, filters, ids, None, columns)?;
    let text = |name: &str, path: PathBuf| {
        path.into_os_string()
            .into_string()
            .map_err(|path| PyValueError::new_err(format!("{name}: {path:?} is not a UTF-8 path")))
    };
    let tokenizer = tokenizer.map(|path| text("tokenizer", path)).transpose()?;
    let chat_template = chat_template.map(|path| text("chat_template", path)).transpose()?;
    let options = DatasetOptions {
        split: None,
        seed: Some(seed),
        dedupe,
        max_records_per_shard,
        max_bytes_per_shard,
        compression: compression.map(str::to_owned),
        tokenizer,
        max_tokens,
        chat_template,
        overwrite,
    };
    let mut builder = options.builder(request).map_err(err)?;
    if let Some(split) = split {
        builder = builder.split(split_of(split)?);
    }
    if let Some(date) = export_date {
        builder = builder.export_date(request::instant(date, "export_date")?);
    }
    let given = given_splits(conversations)?;
    if let Some(splits) = &given {
        builder = builder.given_splits(splits.iter().map(|(name, _)| name.as_str()));
    }
    let reading = builder.reading();
    let mut writer = builder.to_directory(&dest_dir).map_err(err)?;
    let inputs = match given {
        None => vec![(None, Input::open(conversations, Arc::clone(&reading))?)],
        Some(splits) => splits
            .into_iter()
            .map(|(name, value)| match Input::open(&value, Arc::clone(&reading)) {
                Ok(input) => Ok((Some(name), input)),
                Err(e) => Err(in_split(py, e, &name)),
            })
            .collect::<PyResult<_>>()?,
    };
    let total = inputs.iter().try_fold(0, |sum, (_, (_, n))| n.map(|n| sum + n));
    let progress = Progress::new(py, progress, total)?;
    let mut done = 0;
    for (name, (mut input, _)) in inputs {
        if let Some(name) = &name {
            writer.start_split(name).map_err(err)?;
        }
        loop {
            let (items, more) = input.gather(py).map_err(|e| match &name {
                Some(name) => in_split(py, e, name),
                None => e,
            })?;
            let input = &mut input;
            let (taken, more) =
                py.detach(|| push_batch(&mut writer, input, items, more)).map_err(err)?;
            done += taken;
            progress.update(py, done, taken, total, writer.summary())?;
            py.check_signals()?;
            if !more {
                break;
            }
        }
    }
    let summary = py.detach(|| writer.finish()).map_err(err)?;
    progress.close(py, &summary.export)?;
    for warning in python_warnings(&summary.export) {
        warn(py, warning)?;
    }
    Ok(DatasetSummary { inner: summary })
}

/// A split's name and its input.
type Split<'py> = (String, Bound<'py, PyAny>);

/// The user's own splits, in order, when `conversations` is a mapping of
/// split names to inputs (a `datasets.DatasetDict`, a dict of DataFrames);
/// `None` for one input. The names are the core's to check.
fn given_splits<'py>(conversations: &Bound<'py, PyAny>) -> PyResult<Option<Vec<Split<'py>>>> {
    let Ok(mapping) = conversations.cast::<PyMapping>() else { return Ok(None) };
    let mut splits = Vec::new();
    for item in mapping.items()?.iter() {
        let (name, value): (Bound<'py, PyAny>, Bound<'py, PyAny>) = item.extract()?;
        let name = name.extract::<String>().map_err(|_| {
            PyTypeError::new_err(format!(
                "a mapping of splits maps split names (str) to inputs; got the key {}",
                name.repr().map(|r| r.to_string()).unwrap_or_else(|_| "?".into())
            ))
        })?;
        splits.push((name, value));
    }
    Ok(Some(splits))
}

/// `e`, with a note naming the split whose input raised it (Python ≥ 3.11).
fn in_split(py: Python<'_>, e: PyErr, name: &str) -> PyErr {
    let note = format!("while reading split {name:?} of the mapping of splits");
    let _ = e.value(py).call_method1("add_note", (note,));
    e
}

/// What a dataset export did: ``splits`` (each one's name, exact count,
/// bytes, conversations per tier, files, skipped records and leaks),
/// ``duplicates_dropped``, ``duplicates_kept``, ``seed``, ``split_by``,
/// ``leaks``, the ``card`` (``README.md``), and the
/// whole export's ``ExportSummary`` as ``export``. ``summary["key"]`` and
/// ``to_dict()`` give the core's serialised summary.
#[pyclass(frozen, module = "lora_export")]
pub struct DatasetSummary {
    inner: lora_export::dataset::DatasetSummary,
}

#[pymethods]
impl DatasetSummary {
    /// The splits in the order of ``split`` (or of the mapping of splits):
    /// ``{"name", "conversations", "bytes", "tiers", "files": [{"name",
    /// "conversations", "bytes", "sha256"}], "skipped_total", "skipped",
    /// "leaks"}``.
    #[getter]
    fn splits<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        serialize_to_py(py, &self.inner.splits)
    }

    /// Conversations written, in every split.
    #[getter]
    fn conversations(&self) -> u64 {
        self.inner.splits.iter().map(|s| s.conversations).sum()
    }

    /// Conversations left out as duplicates (with ``dedupe``).
    #[getter]
    fn duplicates_dropped(&self) -> u64 {
        self.inner.duplicates_dropped
    }

    /// Duplicates written because ``dedupe`` was off (warned about).
    #[getter]
    fn duplicates_kept(&self) -> u64 {
        self.inner.duplicates_kept
    }

    /// The seed of the split (not used with the input's own splits).
    #[getter]
    fn seed(&self) -> u64 {
        self.inner.seed
    }

    /// ``"hash"`` (split by a seeded hash of each id) or ``"given"`` (the
    /// input's own splits, kept as they were).
    #[getter]
    fn split_by(&self) -> &'static str {
        match self.inner.split_by {
            SplitBy::Hash => "hash",
            SplitBy::Given => "given",
        }
    }

    /// Conversations repeating (id or turns) one of another split, in
    /// every split (each split's own count is its ``leaks``); warned about.
    #[getter]
    fn leaks(&self) -> u64 {
        self.inner.leaks
    }

    /// The dataset card's file: ``{"name", "conversations", "bytes", "sha256"}``.
    #[getter]
    fn card<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        serialize_to_py(py, &self.inner.card)
    }

    /// The token counts (``tokenizer``, ``conversations``, ``total``,
    /// ``max``, ``p50``, ``p95``, ``over_max_tokens``, ``chat_template``),
    /// or ``None`` without a tokenizer.
    #[getter]
    fn tokens<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        serialize_to_py(py, &self.inner.export.tokens)
    }

    /// The whole export's summary.
    #[getter]
    fn export(&self) -> ExportSummary {
        ExportSummary::from(self.inner.export.clone())
    }

    /// The summary as a dict, shaped as the core serialises it.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        serialize_to_py(py, &self.inner)
    }

    /// ``summary["splits"]``: a key of ``to_dict()``.
    fn __getitem__<'py>(&self, py: Python<'py>, key: &str) -> PyResult<Bound<'py, PyAny>> {
        self.to_dict(py)?.get_item(key)
    }

    fn __repr__(&self) -> String {
        let splits: Vec<String> =
            self.inner.splits.iter().map(|s| format!("{}={}", s.name, s.conversations)).collect();
        format!(
            "DatasetSummary(splits=[{}], duplicates_dropped={}, leaks={}, skipped={})",
            splits.join(", "),
            self.inner.duplicates_dropped,
            self.inner.leaks,
            self.inner.export.skipped_total
        )
    }
}

/// A split given as `"train=0.9,validation=0.1"` or a mapping of shares.
fn split_of(split: &Bound<'_, PyAny>) -> PyResult<SplitSpec> {
    if let Ok(text) = split.cast::<PyString>() {
        return SplitSpec::parse(text.to_str()?).map_err(err);
    }
    let Ok(mapping) = split.cast::<PyMapping>() else {
        return Err(PyTypeError::new_err(
            "split: a str (\"train=0.9,validation=0.1\") or a mapping of part names to shares",
        ));
    };
    let mut parts = Vec::new();
    for item in mapping.items()?.iter() {
        let (name, share): (String, f64) = item.extract()?;
        parts.push((name, share));
    }
    SplitSpec::new(parts).map_err(err)
}
