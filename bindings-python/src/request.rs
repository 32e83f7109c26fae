//! The export request from the keyword arguments of `export` & co., checked
//! by the core's request validation (every problem raised as one
//! `ValidationError` with its issues).

use chrono::{DateTime, FixedOffset, Utc};
use lora_export::model::ExportRequest;
use lora_export::request::validate_request;
use lora_export::ErrorKind;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyString;
use serde_json::{Map, Value};

use crate::convert::to_request_json;
use crate::errors::err;

/// The request of an export: `config` (camelCase keys, as the API takes
/// them), with `format` and a scope filled in when absent — `selected` when
/// `ids` are given, `filtered` with `filters`, else `all_data` (every
/// conversation given) — then `conversationIds` and `filters`.
pub fn build(
    format: Option<&str>,
    config: Option<&Bound<'_, PyAny>>,
    filters: Option<&Bound<'_, PyAny>>,
    ids: Option<&Bound<'_, PyAny>>,
) -> PyResult<ExportRequest> {
    let mut config = match config {
        None => Map::new(),
        Some(c) => match to_request_json(c).map_err(|e| e.into_value_error("config"))? {
            Value::Object(map) => map,
            _ => return Err(PyTypeError::new_err("config must be a mapping")),
        },
    };
    match (format, config.get("format")) {
        (Some(f), Some(Value::String(given))) if given != f => {
            return Err(PyValueError::new_err(format!(
                "format={f:?} disagrees with config[\"format\"]={given:?}"
            )))
        }
        (Some(f), _) => {
            config.insert("format".into(), f.into());
        }
        (None, None) => {
            config.insert("format".into(), "jsonl".into());
        }
        (None, Some(_)) => {}
    }
    if !config.contains_key("scope") {
        let scope = match (ids, filters) {
            (Some(_), _) => "selected",
            (None, Some(_)) => "filtered",
            (None, None) => "all_data",
        };
        config.insert("scope".into(), scope.into());
    }
    let mut body = Map::new();
    body.insert("config".into(), Value::Object(config));
    if let Some(ids) = ids {
        if ids.is_instance_of::<PyString>() {
            return Err(PyTypeError::new_err("ids must be an iterable of strings, not a string"));
        }
        let list: Vec<Bound<'_, PyAny>> = ids.try_iter()?.collect::<PyResult<_>>()?;
        let ids = list
            .iter()
            .enumerate()
            .map(|(i, id)| {
                to_request_json(id).map_err(|e| e.into_value_error(&format!("ids[{i}]")))
            })
            .collect::<PyResult<Vec<_>>>()?;
        body.insert("conversationIds".into(), Value::Array(ids));
    }
    if let Some(filters) = filters {
        body.insert(
            "filters".into(),
            to_request_json(filters).map_err(|e| e.into_value_error("filters"))?,
        );
    }
    validate_request(&Value::Object(body)).map_err(|issues| err(ErrorKind::InvalidRequest(issues)))
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
