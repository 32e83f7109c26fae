//! The Parquet file's schema: the same columns, of the same types, in every
//! file of one export, whatever its rows hold (docs/formats.md, "Parquet").

use std::sync::Arc;

use arrow_schema::{DataType, Field, FieldRef, Fields, Schema, TimeUnit};

/// `utf8`, nullable or not.
pub(super) fn text(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Utf8, nullable)
}

/// The fields of one content part: `{type, text?, url?, detail?}`.
pub(super) fn part_fields() -> Fields {
    Fields::from(vec![
        text("type", false),
        text("text", true),
        text("url", true),
        text("detail", true),
    ])
}

/// The fields of one tool call: `{id?, name, arguments}` (arguments as JSON text).
pub(super) fn call_fields() -> Fields {
    Fields::from(vec![text("id", true), text("name", false), text("arguments", false)])
}

/// The item of a list of structs of `fields`.
pub(super) fn item(fields: Fields) -> FieldRef {
    Arc::new(Field::new_list_field(DataType::Struct(fields), false))
}

/// The fields of one message.
pub(super) fn message_fields() -> Fields {
    Fields::from(vec![
        text("role", false),
        text("content", true),
        Field::new("parts", DataType::List(item(part_fields())), true),
        Field::new("tool_calls", DataType::List(item(call_fields())), true),
        text("tool_call_id", true),
        text("name", true),
        text("reasoning", true),
        Field::new("weight", DataType::Int8, true),
    ])
}

/// A list of messages.
pub(super) fn messages(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::List(item(message_fields())), nullable)
}

/// A timestamp in microseconds, UTC.
pub(super) fn instant(name: &str) -> Field {
    Field::new(name, DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())), true)
}

/// The columns every Parquet export has, first and in this order.
pub(crate) fn base_fields() -> Vec<Field> {
    vec![
        text("conversation_id", false),
        messages("messages", false),
        text("tools", true),
        messages("chosen", true),
        messages("rejected", true),
    ]
}

/// The whole schema: the [`base_fields`], then the `metadata` columns the
/// config asks for.
pub(super) fn schema(metadata: &[Field]) -> Schema {
    let mut fields = base_fields();
    fields.extend_from_slice(metadata);
    Schema::new(fields)
}
