//! `validate_output` and `validate_request`.

use std::fs::File;
use std::io::Cursor;
use std::path::PathBuf;

use lora_export::model::{Format, JsonlFlavor};
use lora_export::request::{validate_request as core_validate, validate_request_json};
use lora_export::ErrorKind;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyString};
use serde_json::Value;

use crate::convert::{issues_to_py, serialize_to_py, to_request_json};
use crate::errors::err;

/// Checks an exported file (a path) or exported `bytes` as `format`; for
/// JSONL, against `flavor`. Returns `{"valid", "records", "errors", "warnings"}`.
#[pyfunction]
#[pyo3(signature = (format, data_or_path, *, flavor="openai"))]
pub fn validate_output<'py>(
    py: Python<'py>,
    format: &str,
    data_or_path: &Bound<'py, PyAny>,
    flavor: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let format =
        Format::parse(format).ok_or_else(|| err(ErrorKind::UnknownFormat(format.into())))?;
    let flavor: JsonlFlavor = serde_json::from_value(Value::String(flavor.into()))
        .map_err(|e| PyValueError::new_err(format!("flavor: {e}")))?;
    let report = if let Ok(bytes) = data_or_path.cast::<PyBytes>() {
        let data = bytes.as_bytes().to_vec();
        py.detach(|| lora_export::validate::validate_output(format, flavor, Cursor::new(data)))
    } else if let Ok(bytes) = data_or_path.cast::<PyByteArray>() {
        let data = bytes.to_vec();
        py.detach(|| lora_export::validate::validate_output(format, flavor, Cursor::new(data)))
    } else if data_or_path.is_instance_of::<PyString>() || data_or_path.hasattr("__fspath__")? {
        let path: PathBuf = data_or_path.extract()?;
        let file = File::open(path)?;
        py.detach(|| lora_export::validate::validate_output(format, flavor, file))
    } else {
        return Err(PyTypeError::new_err("data_or_path must be bytes or a path"));
    }
    .map_err(err)?;
    let dict = PyDict::new(py);
    dict.set_item("valid", report.is_valid())?;
    dict.set_item("records", report.records)?;
    dict.set_item("errors", serialize_to_py(py, &report.errors)?)?;
    dict.set_item("warnings", serialize_to_py(py, &report.warnings)?)?;
    Ok(dict.into_any())
}

/// Every problem of an export request body (a mapping, or JSON text) as
/// `[{"path", "code", "message"}]`; empty when the request is valid.
#[pyfunction]
pub fn validate_request<'py>(
    py: Python<'py>,
    body: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let checked = if let Ok(text) = body.cast::<PyString>() {
        validate_request_json(text.to_str()?)
    } else if let Ok(bytes) = body.cast::<PyBytes>() {
        let text = std::str::from_utf8(bytes.as_bytes())
            .map_err(|e| PyValueError::new_err(format!("body is not UTF-8: {e}")))?;
        validate_request_json(text)
    } else {
        core_validate(&to_request_json(body).map_err(|e| e.into_value_error("body"))?)
    };
    let issues = checked.err().unwrap_or_default();
    Ok(issues_to_py(py, &issues)?.into_any())
}
