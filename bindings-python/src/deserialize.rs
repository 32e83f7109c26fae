//! Python objects read straight into the core's records: a serde
//! [`Deserializer`] over a Python value, so a dict becomes a
//! [`Conversation`](lora_export::model::Conversation) without the JSON value
//! [`to_json`](crate::convert::to_json) would build first (one copy of each
//! string, no maps of keys, no second pass).
//!
//! It reads what `to_json` reads the same way — `None`, `str`, `bool`,
//! `int`, `float` (NaN as `null`), dicts with string keys, lists and tuples
//! — and hands every other value (a `datetime`, a NumPy scalar, a pandas
//! `Series`, any mapping or sequence) to `to_json` first, so each value means
//! what it meant before. Any error ends the fast path: the caller converts
//! the record the slow way, whose error names the field.

use std::fmt;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::dict::BoundDictIterator;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple, PyType};
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::forward_to_deserialize_any;

use crate::convert::to_json;

/// Deeper nesting is refused (as `to_json` refuses it).
const MAX_DEPTH: usize = 128;

/// Why the fast path stopped; the slow path says it properly.
#[derive(Debug)]
pub struct Refused(String);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

impl de::Error for Refused {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Refused(msg.to_string())
    }
}

/// A Python value as a serde deserializer.
///
/// `T::deserialize(PyValue::new(&obj))` reads `obj` into `T`.
pub struct PyValue<'a, 'py> {
    obj: &'a Bound<'py, PyAny>,
    depth: usize,
}

impl<'a, 'py> PyValue<'a, 'py> {
    /// Reads `obj`.
    pub fn new(obj: &'a Bound<'py, PyAny>) -> Self {
        PyValue { obj, depth: 0 }
    }

    /// Anything but the plain types, through `to_json`.
    fn converted<'de, V: Visitor<'de>>(&self, visitor: V) -> Result<V::Value, Refused> {
        let value = to_json(self.obj).map_err(|e| Refused(e.message))?;
        de::Deserializer::deserialize_any(value, visitor).map_err(de::Error::custom)
    }
}

/// Whether `obj` is a NumPy array (pandas' cells of list columns are).
fn is_ndarray(obj: &Bound<'_, PyAny>) -> bool {
    static NDARRAY: PyOnceLock<Option<Py<PyType>>> = PyOnceLock::new();
    let py = obj.py();
    let ndarray = NDARRAY.get_or_init(py, || {
        let numpy = py.import("numpy").ok()?;
        Some(numpy.getattr("ndarray").ok()?.cast_into::<PyType>().ok()?.unbind())
    });
    ndarray.as_ref().is_some_and(|t| obj.is_instance(t.bind(py).as_any()).unwrap_or(false))
}

/// A row of a DataFrame read by its columns: the cells by column name, as
/// the row's dict would give them, without the dict.
///
/// `T::deserialize(PyRow::new(&names, &cells))` reads the row into `T`.
pub struct PyRow<'a, 'py> {
    names: &'a [Bound<'py, PyString>],
    cells: &'a [Bound<'py, PyAny>],
}

impl<'a, 'py> PyRow<'a, 'py> {
    /// The row of `cells`, one per column of `names`.
    pub fn new(names: &'a [Bound<'py, PyString>], cells: &'a [Bound<'py, PyAny>]) -> Self {
        PyRow { names, cells }
    }
}

impl<'de> de::Deserializer<'de> for PyRow<'_, '_> {
    type Error = Refused;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        visitor.visit_map(Cells { row: &self, next: 0 })
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

/// A row's cells, column name first, read as they are visited.
struct Cells<'r, 'a, 'py> {
    row: &'r PyRow<'a, 'py>,
    next: usize,
}

impl<'de> MapAccess<'de> for Cells<'_, '_, '_> {
    type Error = Refused;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Refused> {
        let Some(name) = self.row.names.get(self.next) else { return Ok(None) };
        seed.deserialize(text(name)?.into_deserializer()).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Refused> {
        let cell =
            self.row.cells.get(self.next).ok_or_else(|| Refused("a row short of cells".into()))?;
        self.next += 1;
        // A cell is one level below the row, as a dict's value is.
        seed.deserialize(PyValue { obj: cell, depth: 1 })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.row.names.len() - self.next)
    }
}

fn text<'a>(s: &'a Bound<'_, PyString>) -> Result<&'a str, Refused> {
    s.to_str().map_err(|e| Refused(format!("string is not valid UTF-8: {e}")))
}

impl<'de> de::Deserializer<'de> for PyValue<'_, '_> {
    type Error = Refused;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        let obj = self.obj;
        if obj.is_none() {
            return visitor.visit_unit();
        }
        if let Ok(s) = obj.cast::<PyString>() {
            return visitor.visit_str(text(s)?);
        }
        if let Ok(b) = obj.cast::<PyBool>() {
            return visitor.visit_bool(b.is_true());
        }
        if let Ok(i) = obj.cast::<PyInt>() {
            // As a JSON value holds it: a non-negative integer as u64.
            if let Ok(n) = i.extract::<i64>() {
                return if n >= 0 { visitor.visit_u64(n as u64) } else { visitor.visit_i64(n) };
            }
            return self.converted(visitor);
        }
        if let Ok(f) = obj.cast::<PyFloat>() {
            let v = f.value();
            return if v.is_nan() {
                visitor.visit_unit()
            } else if v.is_finite() {
                visitor.visit_f64(v)
            } else {
                self.converted(visitor)
            };
        }
        if let Ok(d) = obj.cast::<PyDict>() {
            return visitor.visit_map(Entries { parent: &self, items: d.iter(), value: None });
        }
        if let Ok(l) = obj.cast::<PyList>() {
            return visitor.visit_seq(Items { parent: &self, items: l.iter() });
        }
        if let Ok(t) = obj.cast::<PyTuple>() {
            return visitor.visit_seq(Items { parent: &self, items: t.iter() });
        }
        if is_ndarray(obj) {
            // What `to_json` does with it (`tolist()`), without the JSON
            // value: an object array's items (a pandas cell of dicts) are
            // read where they are.
            let plain = obj.call_method0("tolist").map_err(|e| Refused(e.to_string()))?;
            return de::Deserializer::deserialize_any(
                PyValue { obj: &plain, depth: self.depth },
                visitor,
            );
        }
        self.converted(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        let obj = self.obj;
        if obj.is_none() || obj.cast::<PyFloat>().is_ok_and(|f| f.value().is_nan()) {
            visitor.visit_none()
        } else if obj.cast::<PyString>().is_ok()
            || obj.cast::<PyDict>().is_ok()
            || obj.cast::<PyList>().is_ok()
            || obj.cast::<PyInt>().is_ok()
            || obj.cast::<PyFloat>().is_ok()
            || is_ndarray(obj)
        {
            visitor.visit_some(self)
        } else {
            // What `to_json` makes of it may be null (`pd.NA`, `NaT`).
            let value = to_json(self.obj).map_err(|e| Refused(e.message))?;
            de::Deserializer::deserialize_option(value, visitor).map_err(de::Error::custom)
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Refused> {
        match self.obj.cast::<PyString>() {
            Ok(s) => visitor.visit_enum(text(s)?.into_deserializer()),
            Err(_) => {
                let value = to_json(self.obj).map_err(|e| Refused(e.message))?;
                de::Deserializer::deserialize_enum(value, name, variants, visitor)
                    .map_err(de::Error::custom)
            }
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Refused> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        // An unknown field is not read, but it must convert, as the whole
        // record had to before.
        convertible(self.obj, self.depth)?;
        visitor.visit_unit()
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
    }
}

/// Whether `to_json` would convert `obj`, without building anything for
/// the plain types.
fn convertible(obj: &Bound<'_, PyAny>, depth: usize) -> Result<(), Refused> {
    if depth > MAX_DEPTH {
        return Err(Refused(format!("nested more than {MAX_DEPTH} levels deep")));
    }
    if obj.is_none() || obj.cast::<PyBool>().is_ok() || obj.cast::<PyFloat>().is_ok() {
        return Ok(());
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return text(s).map(drop);
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        for (k, v) in d.iter() {
            k.cast::<PyString>().map_err(|_| Refused("key".into()))?;
            convertible(&v, depth + 1)?;
        }
        return Ok(());
    }
    if let Ok(l) = obj.cast::<PyList>() {
        return l.iter().try_for_each(|v| convertible(&v, depth + 1));
    }
    to_json(obj).map(drop).map_err(|e| Refused(e.message))
}

/// A dict's entries, keys first, read as they are visited.
struct Entries<'p, 'a, 'py> {
    parent: &'p PyValue<'a, 'py>,
    items: BoundDictIterator<'py>,
    value: Option<Bound<'py, PyAny>>,
}

impl<'de> MapAccess<'de> for Entries<'_, '_, '_> {
    type Error = Refused;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Refused> {
        let Some((key, value)) = self.items.next() else { return Ok(None) };
        self.value = Some(value);
        let key = key.cast_into::<PyString>().map_err(|_| Refused("key".into()))?;
        seed.deserialize(text(&key)?.into_deserializer()).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Refused> {
        let value = self.value.take().ok_or_else(|| Refused("a value without its key".into()))?;
        seed.deserialize(nested(self.parent, &value)?)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

/// A list's or a tuple's items, read as they are visited.
struct Items<'p, 'a, 'py, I> {
    parent: &'p PyValue<'a, 'py>,
    items: I,
}

impl<'de, 'py, I> SeqAccess<'de> for Items<'_, '_, 'py, I>
where
    I: ExactSizeIterator<Item = Bound<'py, PyAny>>,
{
    type Error = Refused;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Refused> {
        match self.items.next() {
            Some(item) => seed.deserialize(nested(self.parent, &item)?).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

/// `item` one level below `parent`, borrowed for as long as the batch it
/// belongs to.
fn nested<'p, 'py>(
    parent: &PyValue<'_, 'py>,
    item: &'p Bound<'py, PyAny>,
) -> Result<PyValue<'p, 'py>, Refused> {
    if parent.depth >= MAX_DEPTH {
        return Err(Refused(format!("nested more than {MAX_DEPTH} levels deep")));
    }
    Ok(PyValue { obj: item, depth: parent.depth + 1 })
}
