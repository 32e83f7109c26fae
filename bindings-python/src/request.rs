//! The export request from the keyword arguments of `export` & co., checked
//! by the core's request validation (every problem raised as one
//! `ValidationError` with its issues).

use chrono::{DateTime, FixedOffset, Utc};
use lora_export::model::ExportRequest;
use lora_export::request::RequestParts;
use lora_export::ErrorKind;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyString;
use serde_json::{Map, Value};

use crate::convert::to_request_json;
use crate::errors::err;

/// The request of an export from its keyword arguments: `config` (camelCase
/// keys, as the API takes them), `format`, `filters` and `ids`, built by the
/// core's one rule ([`RequestParts::build`]: the format fills the config's,
/// and without a scope: `selected` with `ids`, `filtered` with `filters`,
/// else `all`, the approved conversations), with `columns` (the user's
/// column → a platform field) and `keep_columns` (`True` or a list of names).
pub fn build(
    format: Option<&str>,
    config: Option<&Bound<'_, PyAny>>,
    filters: Option<&Bound<'_, PyAny>>,
    ids: Option<&Bound<'_, PyAny>>,
    compression: Option<&str>,
    columns: Columns<'_, '_>,
) -> PyResult<ExportRequest> {
    let config = match config {
        None => Map::new(),
        Some(c) => match to_request_json(c).map_err(|e| e.into_value_error("config"))? {
            Value::Object(map) => map,
            _ => return Err(PyTypeError::new_err("config must be a mapping")),
        },
    };
    let conversation_ids = match ids {
        None => None,
        Some(ids) if ids.is_instance_of::<PyString>() => {
            return Err(PyTypeError::new_err("ids must be an iterable of strings, not a string"))
        }
        Some(ids) => {
            let list: Vec<Bound<'_, PyAny>> = ids.try_iter()?.collect::<PyResult<_>>()?;
            let ids = list.iter().enumerate().map(|(i, id)| {
                to_request_json(id).map_err(|e| e.into_value_error(&format!("ids[{i}]")))
            });
            Some(ids.collect::<PyResult<Vec<_>>>()?)
        }
    };
    let filters = filters
        .map(|f| to_request_json(f).map_err(|e| e.into_value_error("filters")))
        .transpose()?;
    let json = |value: Option<&Bound<'_, PyAny>>, what: &str| {
        value.map(|v| to_request_json(v).map_err(|e| e.into_value_error(what))).transpose()
    };
    let parts = RequestParts {
        format: format.map(str::to_owned),
        config,
        filters,
        conversation_ids,
        compression: compression.map(str::to_owned),
        columns: json(columns.columns, "columns")?,
        keep_columns: json(columns.keep_columns, "keep_columns")?,
    };
    parts.build().map_err(|issues| err(ErrorKind::InvalidRequest(issues)))
}

/// The `columns=` and `keep_columns=` keyword arguments.
#[derive(Clone, Copy, Default)]
pub struct Columns<'a, 'py> {
    /// The user's column → a platform field.
    pub columns: Option<&'a Bound<'py, PyAny>>,
    /// `True`, `False` or a list of column names.
    pub keep_columns: Option<&'a Bound<'py, PyAny>>,
}

/// An instant given as an aware `datetime` or as RFC 3339 text.
pub fn instant(value: &Bound<'_, PyAny>, what: &str) -> PyResult<DateTime<Utc>> {
    if let Ok(text) = value.cast::<PyString>() {
        let text = text.to_str()?;
        return DateTime::parse_from_rfc3339(text)
            .map(|d| d.with_timezone(&Utc))
            .map_err(|e| PyValueError::new_err(format!("{what}: {text:?} is not RFC 3339: {e}")));
    }
    let aware: DateTime<FixedOffset> = value.extract().map_err(|e| {
        PyTypeError::new_err(format!(
            "{what} must be a timezone-aware datetime or an RFC 3339 string: {e}"
        ))
    })?;
    Ok(aware.with_timezone(&Utc))
}
