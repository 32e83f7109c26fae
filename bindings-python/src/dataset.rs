//! `export_dataset`: the core's dataset export (splits, dedupe, shards,
//! compression and a dataset card in a directory), over the same inputs as
//! `export`, read in the same batches with the GIL released while Rust works.

use std::path::PathBuf;

use lora_export::dataset::{DatasetOptions, SplitSpec};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyMapping, PyString};

use crate::convert::serialize_to_py;
use crate::errors::err;
use crate::export::{push_batch, Input};
use crate::request;

/// export_dataset(conversations, dest_dir, *, format=None, config=None, filters=None, ids=None, split=None, seed=0, dedupe=False, max_records_per_shard=None, max_bytes_per_shard=None, compression=None, tokenizer=None, max_tokens=None, chat_template=None, export_date=None)
/// --
///
/// Exports ``conversations`` (anything ``export`` takes) as a Hugging Face
/// dataset directory ``dest_dir`` (created; it must be empty) and returns
/// the summary as a ``dict``: each split's exact count and files (name,
/// conversations, bytes and SHA-256 of the stored bytes), the duplicates,
/// and the whole export's summary under ``"export"``.
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
    tokenizer=None, max_tokens=None, chat_template=None, export_date=None))]
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
) -> PyResult<Bound<'py, PyAny>> {
    let request = request::build(format, config, filters, ids)?;
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
    };
    let mut builder = options.builder(request).map_err(err)?;
    if let Some(split) = split {
        builder = builder.split(split_of(split)?);
    }
    if let Some(date) = export_date {
        builder = builder.export_date(request::instant(date, "export_date")?);
    }
    let (mut input, _) = Input::open(conversations)?;
    let mut writer = builder.to_directory(&dest_dir).map_err(err)?;
    loop {
        let (items, more) = input.gather(py)?;
        let input = &mut input;
        let (_, more) = py.detach(|| push_batch(&mut writer, input, items, more)).map_err(err)?;
        py.check_signals()?;
        if !more {
            break;
        }
    }
    let summary = py.detach(|| writer.finish()).map_err(err)?;
    serialize_to_py(py, &summary)
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
