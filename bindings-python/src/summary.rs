//! `ExportSummary`: the core's summary of one export, read-only.

use pyo3::prelude::*;

use crate::convert::serialize_to_py;

/// What an export did: conversations and turns written, bytes and SHA-256
/// of the output, records excluded by the scope, how many were skipped (the
/// first ones in full, with location, field path and reason; all of them
/// counted by reason), non-approved conversations and duplicate ids written,
/// and warnings.
#[pyclass(frozen, module = "lora_export")]
pub struct ExportSummary {
    inner: lora_export::ExportSummary,
}

impl From<lora_export::ExportSummary> for ExportSummary {
    fn from(inner: lora_export::ExportSummary) -> Self {
        ExportSummary { inner }
    }
}

#[pymethods]
impl ExportSummary {
    /// Format name (`jsonl`, `json`, `csv`, `markdown`, `parquet`).
    #[getter]
    fn format(&self) -> &str {
        &self.inner.format
    }

    /// Conversations written.
    #[getter]
    fn conversations(&self) -> u64 {
        self.inner.conversations
    }

    /// Turns written.
    #[getter]
    fn turns(&self) -> u64 {
        self.inner.turns
    }

    /// Turns cut to 500 characters (`includeFullContent: False`).
    #[getter]
    fn truncated_turns(&self) -> u64 {
        self.inner.truncated_turns
    }

    /// Bytes of output.
    #[getter]
    fn bytes(&self) -> u64 {
        self.inner.bytes
    }

    /// SHA-256 of the output, lowercase hex.
    #[getter]
    fn sha256(&self) -> &str {
        &self.inner.sha256
    }

    /// Well-formed records outside the export's scope.
    #[getter]
    fn excluded(&self) -> u64 {
        self.inner.excluded
    }

    /// The first skipped records (``keep_skipped``, default 1000):
    /// ``{"location": {"line"|"record", "field"?}, "conversation_id"?: str, "reason": str}``.
    #[getter]
    fn skipped<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        serialize_to_py(py, &self.inner.skipped)
    }

    /// Every record not written (``skipped`` may list fewer).
    #[getter]
    fn skipped_total(&self) -> u64 {
        self.inner.skipped_total
    }

    /// Skipped records counted by the kind of their reason (its text up to
    /// the first colon, e.g. ``"not a valid conversation"``).
    #[getter]
    fn skipped_by_reason<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        serialize_to_py(py, &self.inner.skipped_by_reason)
    }

    /// Conversations written whose status is not ``approved``.
    #[getter]
    fn not_approved(&self) -> u64 {
        self.inner.not_approved
    }

    /// Conversations written whose ``conversation_id`` an earlier one had.
    #[getter]
    fn duplicate_ids(&self) -> u64 {
        self.inner.duplicate_ids
    }

    /// Ids of scope `selected` that no input record had.
    #[getter]
    fn missing_ids(&self) -> Vec<String> {
        self.inner.missing_ids.clone()
    }

    /// Conversations written per tier.
    #[getter]
    fn tier_distribution<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        serialize_to_py(py, &self.inner.tier_distribution)
    }

    /// Things to know, e.g. metadata left out for want of a sidecar.
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.inner.warnings.iter().map(|w| w.message.clone()).collect()
    }

    /// Fields the format could not carry and left out, counted per field
    /// (`{"reasoning": 3}`); empty when nothing was left out.
    #[getter]
    fn dropped_fields<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        serialize_to_py(py, &self.inner.dropped_fields)
    }

    /// The input's columns neither read nor kept (``keep_columns``), each
    /// with the rows that had a value in it (``{"lang": 100}``); empty when
    /// there was none.
    #[getter]
    fn ignored_fields<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        serialize_to_py(py, &self.inner.ignored_fields)
    }

    /// The tier for a file name: the only tier written, `mixed` or `none`.
    #[getter]
    fn tier_label(&self) -> &str {
        self.inner.tier_label()
    }

    /// The summary as a dict, shaped as the core serialises it.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        serialize_to_py(py, &self.inner)
    }

    fn __repr__(&self) -> String {
        let s = &self.inner;
        format!(
            "ExportSummary(format={:?}, conversations={}, turns={}, bytes={}, excluded={}, skipped={}, not_approved={})",
            s.format,
            s.conversations,
            s.turns,
            s.bytes,
            s.excluded,
            s.skipped_total,
            s.not_approved
        )
    }
}
