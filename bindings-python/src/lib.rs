//! The Python module `lora_export`: a thin PyO3 binding of the core — it
//! converts Python values, destinations and errors, and adds no logic of
//! its own. Built with maturin (`pip install ./bindings-python`); the typed
//! API is in `lora_export.pyi`.

use pyo3::prelude::*;

/// Rust's allocations in this module (not Python's objects): see Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod client;
mod convert;
mod dataset;
mod deserialize;
mod errors;
mod export;
mod hooks;
mod request;
mod session;
mod summary;
mod validate;

/// Streaming export of reviewed LLM training conversations to JSONL, JSON,
/// CSV and Markdown, and the database-backed export service.
#[pymodule]
#[pyo3(name = "lora_export")]
fn lora_export_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(export::export, m)?)?;
    m.add_function(wrap_pyfunction!(dataset::export_dataset, m)?)?;
    m.add_function(wrap_pyfunction!(export::iter_export, m)?)?;
    m.add_function(wrap_pyfunction!(export::to_string, m)?)?;
    m.add_function(wrap_pyfunction!(export::preview, m)?)?;
    m.add_function(wrap_pyfunction!(validate::validate_output, m)?)?;
    m.add_function(wrap_pyfunction!(validate::validate_request, m)?)?;
    m.add_class::<summary::ExportSummary>()?;
    m.add_class::<dataset::DatasetSummary>()?;
    m.add_class::<export::ExportIterator>()?;
    m.add_class::<client::ExportClient>()?;
    m.add_class::<session::Session>()?;
    errors::register(m)
}
