//! Python values ⇄ JSON values: how mappings given by Python reach the
//! core (which reads conversations and requests as JSON) and how the core's
//! serialisable results come back as plain dicts and lists.
//!
//! Python → JSON: `str`, `bool`, `int`, `float`, `None`, any mapping with
//! string keys, lists, tuples and other sequences; a `datetime` becomes
//! ISO-8601 UTC text (`…Z`; a naive one is taken as UTC, as pandas and Arrow
//! store instants), a `date` its ISO-8601 date; NaN, `pd.NA` and `NaT`
//! (pandas' missing values) become `null`; a NumPy `datetime64` its ISO-8601
//! text; a pandas `Series` (a row of `df.iterrows()`) its dict; other objects
//! with `.tolist()` (NumPy arrays and scalars: an array stays a list, even of
//! one element) or `.item()` are converted through those. Anything else is
//! refused with the path where it was.
//!
//! A request or an options value ([`to_request_json`]) is held to the
//! core's limits for one ([`ShapeBudget`]: depth, values, bytes of text),
//! counted as it is converted, the same rule the Node binding applies.

use lora_export::request::ShapeBudget;
use lora_export::Issue;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{
    IntoPyDict, PyBool, PyByteArray, PyBytes, PyDate, PyDateTime, PyDict, PyFloat, PyInt, PyList,
    PyMapping, PySequence, PyString, PyTuple, PyTzInfo, PyTzInfoAccess,
};
use serde::Serialize;
use serde_json::{Map, Number, Value};

/// Deeper nesting of a record is refused (it also catches self-referencing
/// structures); a request's limit is the core's.
const MAX_DEPTH: usize = 128;

/// What one conversion is held to.
enum Shape {
    /// A conversation record: its depth only.
    Record,
    /// A request or options value: the core's [`ShapeBudget`].
    Request(ShapeBudget),
}

impl Shape {
    /// Counts a value at `depth` (the top is 0).
    fn value(&mut self, depth: usize) -> Result<(), ConvertError> {
        match self {
            Shape::Record if depth > MAX_DEPTH => {
                Err(ConvertError::new(format!("nested more than {MAX_DEPTH} levels deep")))
            }
            Shape::Record => Ok(()),
            Shape::Request(budget) => {
                budget.value(depth + 1, "").map_err(|i| ConvertError::new(i.message))
            }
        }
    }

    /// Counts `bytes` of a string or a key.
    fn text(&mut self, bytes: usize) -> Result<(), ConvertError> {
        match self {
            Shape::Record => Ok(()),
            Shape::Request(budget) => {
                budget.text(bytes, "").map_err(|i| ConvertError::new(i.message))
            }
        }
    }
}

/// A Python value that has no JSON form, and where it was.
#[derive(Debug)]
pub struct ConvertError {
    /// JSON path inside the converted value (`turns[0].content`), empty at the top.
    pub path: String,
    /// What was wrong.
    pub message: String,
}

impl ConvertError {
    fn new(message: impl Into<String>) -> Self {
        ConvertError { path: String::new(), message: message.into() }
    }

    fn within_key(mut self, key: &str) -> Self {
        self.path = if self.path.is_empty() || self.path.starts_with('[') {
            format!("{key}{}", self.path)
        } else {
            format!("{key}.{}", self.path)
        };
        self
    }

    fn within_index(mut self, index: usize) -> Self {
        self.path = if self.path.is_empty() || self.path.starts_with('[') {
            format!("[{index}]{}", self.path)
        } else {
            format!("[{index}].{}", self.path)
        };
        self
    }

    /// As a Python `ValueError` for an argument named `what`.
    pub fn into_value_error(self, what: &str) -> PyErr {
        if self.path.is_empty() {
            PyValueError::new_err(format!("{what}: {}", self.message))
        } else {
            PyValueError::new_err(format!("{what}.{}: {}", self.path, self.message))
        }
    }
}

/// Converts a Python value (a conversation record) into JSON.
pub fn to_json(obj: &Bound<'_, PyAny>) -> Result<Value, ConvertError> {
    convert(obj, 0, &mut Shape::Record)
}

/// Converts a request or an options value into JSON, within the core's
/// limits ([`ShapeBudget`]): a deeper or larger one is refused before the
/// conversion goes further.
pub fn to_request_json(obj: &Bound<'_, PyAny>) -> Result<Value, ConvertError> {
    convert(obj, 0, &mut Shape::Request(ShapeBudget::default()))
}

fn convert(obj: &Bound<'_, PyAny>, depth: usize, shape: &mut Shape) -> Result<Value, ConvertError> {
    shape.value(depth)?;
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(s) = obj.cast::<PyString>() {
        let text =
            s.to_str().map_err(|e| ConvertError::new(format!("string is not valid UTF-8: {e}")))?;
        shape.text(text.len())?;
        return Ok(Value::String(text.to_owned()));
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(i) = obj.cast::<PyInt>() {
        if let Ok(n) = i.extract::<i64>() {
            return Ok(Value::from(n));
        }
        return i
            .extract::<u64>()
            .map(Value::from)
            .map_err(|_| ConvertError::new("integer does not fit in 64 bits"));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        let v = f.value();
        if v.is_nan() {
            return Ok(Value::Null);
        }
        return Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| ConvertError::new(format!("{v} has no JSON form")));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut map = Map::new();
        for (k, v) in d.iter() {
            let key = key_of(&k)?;
            shape.text(key.len())?;
            let value = convert(&v, depth + 1, shape).map_err(|e| e.within_key(&key))?;
            map.insert(key, value);
        }
        return Ok(Value::Object(map));
    }
    if let Ok(l) = obj.cast::<PyList>() {
        return array(l.iter(), depth, shape);
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        return array(t.iter(), depth, shape);
    }
    let type_name = obj.get_type().name().map(|n| n.to_string()).unwrap_or_default();
    match type_name.as_str() {
        "NAType" | "NaTType" => return Ok(Value::Null),
        "datetime64" => {
            let text: String = obj
                .str()
                .and_then(|s| s.extract())
                .map_err(|e| ConvertError::new(e.to_string()))?;
            return Ok(if text == "NaT" { Value::Null } else { Value::String(text) });
        }
        _ => {}
    }
    if let Ok(dt) = obj.cast::<PyDateTime>() {
        return utc_text(dt).map(Value::String).map_err(|e| ConvertError::new(e.to_string()));
    }
    if obj.cast::<PyDate>().is_ok() {
        let text = obj.call_method0("isoformat").map_err(|e| ConvertError::new(e.to_string()))?;
        return convert(&text, depth + 1, shape);
    }
    if obj.cast::<PyBytes>().is_ok() || obj.cast::<PyByteArray>().is_ok() {
        return Err(ConvertError::new("bytes have no JSON form (decode them to str)"));
    }
    if let Ok(m) = obj.cast::<PyMapping>() {
        let items = m.items().map_err(|e| ConvertError::new(e.to_string()))?;
        let mut map = Map::new();
        for item in items.iter() {
            let (k, v) = item
                .extract::<(Bound<'_, PyAny>, Bound<'_, PyAny>)>()
                .map_err(|e: PyErr| ConvertError::new(e.to_string()))?;
            let key = key_of(&k)?;
            shape.text(key.len())?;
            let value = convert(&v, depth + 1, shape).map_err(|e| e.within_key(&key))?;
            map.insert(key, value);
        }
        return Ok(Value::Object(map));
    }
    if let Ok(s) = obj.cast::<PySequence>() {
        let items = s.to_list().map_err(|e| ConvertError::new(e.to_string()))?;
        return array(items.iter(), depth, shape);
    }
    if type_name == "Series" && obj.hasattr("to_dict").unwrap_or(false) {
        let dict = obj.call_method0("to_dict").map_err(|e| ConvertError::new(e.to_string()))?;
        return convert(&dict, depth + 1, shape);
    }
    for method in ["tolist", "item"] {
        if obj.hasattr(method).unwrap_or(false) {
            let plain = obj.call_method0(method).map_err(|e| ConvertError::new(e.to_string()))?;
            if !plain.is(obj) {
                return convert(&plain, depth + 1, shape);
            }
        }
    }
    let name = obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into());
    Err(ConvertError::new(format!("a value of type {name} has no JSON form")))
}

/// A datetime as ISO-8601 UTC text ending in `Z`; a naive one is taken as
/// UTC (as pandas and Arrow store instants).
fn utc_text(dt: &Bound<'_, PyDateTime>) -> PyResult<String> {
    let utc = PyTzInfo::utc(dt.py())?;
    let in_utc = match dt.get_tzinfo() {
        Some(_) => dt.call_method1("astimezone", (utc,))?,
        None => dt.call_method("replace", (), Some(&[("tzinfo", utc)].into_py_dict(dt.py())?))?,
    };
    let text: String = in_utc.call_method0("isoformat")?.extract()?;
    Ok(match text.strip_suffix("+00:00") {
        Some(bare) => format!("{bare}Z"),
        None => text,
    })
}

fn key_of(key: &Bound<'_, PyAny>) -> Result<String, ConvertError> {
    match key.cast::<PyString>() {
        Ok(s) => s.to_str().map(str::to_owned).map_err(|e| ConvertError::new(e.to_string())),
        Err(_) => {
            let name = key.get_type().name().map(|n| n.to_string()).unwrap_or_default();
            Err(ConvertError::new(format!("mapping key of type {name}: keys must be strings")))
        }
    }
}

fn array<'py>(
    items: impl Iterator<Item = Bound<'py, PyAny>>,
    depth: usize,
    shape: &mut Shape,
) -> Result<Value, ConvertError> {
    items
        .enumerate()
        .map(|(i, item)| convert(&item, depth + 1, shape).map_err(|e| e.within_index(i)))
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

/// Converts JSON into Python: objects become dicts, arrays lists.
pub fn to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.into_pyobject(py)?.into_any(),
            (None, Some(u)) => u.into_pyobject(py)?.into_any(),
            _ => n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any(),
        },
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, to_py(py, v)?)?;
            }
            dict.into_any()
        }
    })
}

/// Validation issues as `[{"path", "code", "message"}]`, keys in that order.
pub fn issues_to_py<'py>(py: Python<'py>, issues: &[Issue]) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for issue in issues {
        let dict = PyDict::new(py);
        dict.set_item("path", &issue.path)?;
        dict.set_item("code", &issue.code)?;
        dict.set_item("message", &issue.message)?;
        list.append(dict)?;
    }
    Ok(list)
}

/// Serialises a core value (a report, a summary) into Python dicts and lists.
pub fn serialize_to_py<'py, T: Serialize + ?Sized>(
    py: Python<'py>,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    let json = serde_json::to_value(value)
        .map_err(|e| PyValueError::new_err(format!("cannot serialise a result: {e}")))?;
    to_py(py, &json)
}
