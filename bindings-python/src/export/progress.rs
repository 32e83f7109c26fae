//! How an export shows its progress: a tqdm bar, a callable, or a line on
//! stderr.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

/// How progress is shown.
pub(crate) enum Progress {
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
    pub(crate) fn new(
        py: Python<'_>,
        arg: Option<&Bound<'_, PyAny>>,
        total: Option<u64>,
    ) -> PyResult<Self> {
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
    pub(crate) fn update(
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

    pub(crate) fn close(
        &self,
        py: Python<'_>,
        summary: &lora_export::ExportSummary,
    ) -> PyResult<()> {
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

/// `12,000 records, 3 skipped, 40 not approved` (`done` unknown: u64::MAX).
pub(super) fn progress_text(done: u64, summary: &lora_export::ExportSummary) -> String {
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
