//! One row of a record batch as a serde [`Deserializer`]: the row's cells
//! read straight into a [`Conversation`](crate::model::Conversation), each
//! string copied once from the Arrow buffer, with no JSON text between.
//!
//! It reads the types whose JSON form arrow-json writes and serde_json reads
//! back as the same value — nulls, booleans, integers, finite `Float64`s,
//! strings, lists and structs, and top-level timestamps as the RFC 3339
//! text [`ArrowSource`](super::ArrowSource) gives them — and
//! [`readable`] says whether a schema has only those. A `Float64` NaN or
//! infinity is null, as arrow-json writes it. A value it cannot read the
//! same way (an out-of-range instant) is an error: the caller reads that row
//! through JSON, whose error names the field.

use std::fmt;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef, OffsetSizeTrait, RecordBatch};
use arrow_schema::{DataType, Field, Fields};
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::forward_to_deserialize_any;

use super::instant_text;

/// Whether every column of `fields` has a type a [`Row`] reads as its
/// JSON form reads (timestamps only at the top level, where the source
/// writes them as text).
pub(super) fn readable(fields: &Fields) -> bool {
    fields.iter().all(|f| readable_type(f, true))
}

fn readable_type(field: &Field, top: bool) -> bool {
    match field.data_type() {
        DataType::Null
        | DataType::Boolean
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64
        | DataType::Float64
        | DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View => true,
        DataType::Timestamp(..) => top,
        DataType::List(item) | DataType::LargeList(item) => readable_type(item, false),
        DataType::Struct(fields) => fields.iter().all(|f| readable_type(f, false)),
        _ => false,
    }
}

/// Why a row could not be read directly; the JSON path says it properly.
#[derive(Debug)]
pub(super) struct Unread(String);

impl fmt::Display for Unread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unread {}

impl de::Error for Unread {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Unread(msg.to_string())
    }
}

/// Row `row` of `batch`, its columns as a map's entries (null cells left
/// out, as arrow-json leaves them out).
pub(super) struct Row<'a> {
    batch: &'a RecordBatch,
    row: usize,
}

impl<'a> Row<'a> {
    pub(super) fn new(batch: &'a RecordBatch, row: usize) -> Self {
        Row { batch, row }
    }
}

impl<'de> de::Deserializer<'de> for Row<'_> {
    type Error = Unread;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unread> {
        let schema = self.batch.schema_ref();
        visitor.visit_map(Entries::new(schema.fields(), self.batch.columns(), self.row))
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

/// A struct's (or the batch's) non-null fields at one row.
struct Entries<'a> {
    fields: &'a Fields,
    columns: &'a [ArrayRef],
    row: usize,
    at: usize,
}

impl<'a> Entries<'a> {
    fn new(fields: &'a Fields, columns: &'a [ArrayRef], row: usize) -> Self {
        Entries { fields, columns, row, at: 0 }
    }
}

impl<'de> MapAccess<'de> for Entries<'_> {
    type Error = Unread;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Unread> {
        while self.at < self.columns.len() && is_null(self.columns[self.at].as_ref(), self.row) {
            self.at += 1;
        }
        let Some(field) = self.fields.get(self.at) else { return Ok(None) };
        seed.deserialize(field.name().as_str().into_deserializer()).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Unread> {
        let column =
            self.columns.get(self.at).ok_or_else(|| Unread("a value without its key".into()))?;
        self.at += 1;
        seed.deserialize(Cell { array: column.as_ref(), row: self.row })
    }
}

/// The items `range` of a list's values.
struct Items<'a> {
    values: &'a dyn Array,
    range: std::ops::Range<usize>,
}

impl<'de> SeqAccess<'de> for Items<'_> {
    type Error = Unread;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Unread> {
        match self.range.next() {
            Some(row) => seed.deserialize(Cell { array: self.values, row }).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.range.len())
    }
}

/// The null cells arrow-json writes as `null`: those of the validity
/// bitmap, every cell of a `Null` column, and a `Float64` NaN or infinity
/// (absent, as `None` and NaN are everywhere).
fn is_null(array: &dyn Array, row: usize) -> bool {
    match array.data_type() {
        DataType::Null => true,
        _ if array.is_null(row) => true,
        DataType::Float64 => {
            !array.as_primitive::<arrow_array::types::Float64Type>().value(row).is_finite()
        }
        _ => false,
    }
}

/// One cell.
struct Cell<'a> {
    array: &'a dyn Array,
    row: usize,
}

impl Cell<'_> {
    fn is_null(&self) -> bool {
        is_null(self.array, self.row)
    }

    fn text(&self) -> Option<&str> {
        match self.array.data_type() {
            DataType::Utf8 => Some(self.array.as_string::<i32>().value(self.row)),
            DataType::LargeUtf8 => Some(self.array.as_string::<i64>().value(self.row)),
            DataType::Utf8View => Some(self.array.as_string_view().value(self.row)),
            _ => None,
        }
    }

    fn items<O: OffsetSizeTrait>(&self) -> Items<'_> {
        let list = self.array.as_list::<O>();
        let offsets = list.value_offsets();
        let (start, end) = (offsets[self.row].as_usize(), offsets[self.row + 1].as_usize());
        Items { values: list.values().as_ref(), range: start..end }
    }
}

/// A signed integer as serde_json reads its JSON text: a non-negative one
/// as `u64`.
fn visit_signed<'de, V: Visitor<'de>>(n: i64, visitor: V) -> Result<V::Value, Unread> {
    if n >= 0 {
        visitor.visit_u64(n as u64)
    } else {
        visitor.visit_i64(n)
    }
}

impl<'de> de::Deserializer<'de> for Cell<'_> {
    type Error = Unread;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unread> {
        if self.is_null() {
            return visitor.visit_unit();
        }
        if let Some(text) = self.text() {
            return visitor.visit_str(text);
        }
        let (array, row) = (self.array, self.row);
        match array.data_type() {
            DataType::Boolean => visitor.visit_bool(array.as_boolean().value(row)),
            DataType::Int8 => {
                visit_signed(array.as_primitive::<Int8Type>().value(row).into(), visitor)
            }
            DataType::Int16 => {
                visit_signed(array.as_primitive::<Int16Type>().value(row).into(), visitor)
            }
            DataType::Int32 => {
                visit_signed(array.as_primitive::<Int32Type>().value(row).into(), visitor)
            }
            DataType::Int64 => visit_signed(array.as_primitive::<Int64Type>().value(row), visitor),
            DataType::UInt8 => {
                visitor.visit_u64(array.as_primitive::<UInt8Type>().value(row).into())
            }
            DataType::UInt16 => {
                visitor.visit_u64(array.as_primitive::<UInt16Type>().value(row).into())
            }
            DataType::UInt32 => {
                visitor.visit_u64(array.as_primitive::<UInt32Type>().value(row).into())
            }
            DataType::UInt64 => visitor.visit_u64(array.as_primitive::<UInt64Type>().value(row)),
            DataType::Float64 => visitor
                .visit_f64(array.as_primitive::<arrow_array::types::Float64Type>().value(row)),
            DataType::Timestamp(..) => match instant_text(array, row) {
                Some(text) => visitor.visit_string(text),
                None => Err(Unread("an instant out of range".into())),
            },
            DataType::List(_) => visitor.visit_seq(self.items::<i32>()),
            DataType::LargeList(_) => visitor.visit_seq(self.items::<i64>()),
            DataType::Struct(fields) => {
                let columns = array.as_struct().columns();
                visitor.visit_map(Entries::new(fields, columns, row))
            }
            other => Err(Unread(format!("a {other} cell"))),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unread> {
        if self.is_null() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Unread> {
        match self.text().filter(|_| !self.is_null()) {
            Some(text) => visitor.visit_enum(text.into_deserializer()),
            None => Err(Unread("an enum that is not a string".into())),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Unread> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unread> {
        visitor.visit_unit()
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct identifier
    }
}
