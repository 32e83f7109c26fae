//! The columns of the row group being filled: plain buffers per leaf,
//! turned into Arrow arrays when the row group is written.

use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int8Builder, ListBuilder, StringBuilder,
    TimestampMicrosecondBuilder, UInt64Builder,
};
use arrow_array::{ArrayRef, ListArray, StructArray};
use arrow_buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{ArrowError, DataType, Field};

use super::schema;
use crate::format::content::turn_content;
use crate::model::{ContentPart, Conversation, ConversationTurn, ExportConfig, Role, Timestamp};

/// List offsets and validity of one list column.
#[derive(Debug)]
struct Lists {
    offsets: Vec<i32>,
    valid: Vec<bool>,
}

impl Default for Lists {
    fn default() -> Self {
        Lists { offsets: vec![0], valid: Vec::new() }
    }
}

impl Lists {
    /// Closes a list of `len` items in all (the child's length so far).
    fn close(&mut self, len: usize) {
        // The row group's byte bound keeps every count far below i32::MAX.
        self.offsets.push(len as i32);
        self.valid.push(true);
    }

    fn null(&mut self) {
        let last = *self.offsets.last().expect("offsets start with 0");
        self.offsets.push(last);
        self.valid.push(false);
    }

    /// The list array over `values`, leaving this empty.
    fn finish(&mut self, item: Arc<Field>, values: ArrayRef) -> Result<ArrayRef, ArrowError> {
        let offsets = std::mem::replace(&mut self.offsets, vec![0]);
        let valid = std::mem::take(&mut self.valid);
        let nulls = (!valid.iter().all(|v| *v)).then(|| NullBuffer::from(valid));
        let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets));
        Ok(Arc::new(ListArray::try_new(item, offsets, values, nulls)?))
    }
}

/// A `list<struct{type, text?, url?, detail?}>` column.
#[derive(Debug, Default)]
struct Parts {
    lists: Lists,
    len: usize,
    kind: StringBuilder,
    text: StringBuilder,
    url: StringBuilder,
    detail: StringBuilder,
}

impl Parts {
    fn push(&mut self, parts: &[ContentPart], full: bool, truncated: &mut bool) {
        if parts.is_empty() {
            return self.lists.null();
        }
        for part in parts {
            match part {
                ContentPart::Text(text) => {
                    let (text, cut) = turn_content(text, full);
                    *truncated |= cut;
                    self.kind.append_value("text");
                    self.text.append_value(text);
                    self.url.append_null();
                    self.detail.append_null();
                }
                ContentPart::Image { url, detail } => {
                    self.kind.append_value("image");
                    self.text.append_null();
                    self.url.append_option(url.as_deref());
                    self.detail.append_option(detail.as_deref());
                }
            }
        }
        self.len += parts.len();
        self.lists.close(self.len);
    }

    fn finish(&mut self) -> Result<ArrayRef, ArrowError> {
        let values = StructArray::try_new(
            schema::part_fields(),
            vec![
                Arc::new(self.kind.finish()),
                Arc::new(self.text.finish()),
                Arc::new(self.url.finish()),
                Arc::new(self.detail.finish()),
            ],
            None,
        )?;
        self.len = 0;
        self.lists.finish(schema::item(schema::part_fields()), Arc::new(values))
    }
}

/// A `list<struct{id?, name, arguments}>` column.
#[derive(Debug, Default)]
struct Calls {
    lists: Lists,
    len: usize,
    id: StringBuilder,
    name: StringBuilder,
    arguments: StringBuilder,
}

impl Calls {
    fn push(&mut self, turn: &ConversationTurn) {
        if turn.tool_calls.is_empty() {
            return self.lists.null();
        }
        for call in &turn.tool_calls {
            self.id.append_option(call.id.as_deref());
            self.name.append_value(&call.name);
            self.arguments.append_value(&call.arguments);
        }
        self.len += turn.tool_calls.len();
        self.lists.close(self.len);
    }

    fn finish(&mut self) -> Result<ArrayRef, ArrowError> {
        let values = StructArray::try_new(
            schema::call_fields(),
            vec![
                Arc::new(self.id.finish()),
                Arc::new(self.name.finish()),
                Arc::new(self.arguments.finish()),
            ],
            None,
        )?;
        self.len = 0;
        self.lists.finish(schema::item(schema::call_fields()), Arc::new(values))
    }
}

/// A `list<message>` column (`messages`, `chosen`, `rejected`).
#[derive(Debug, Default)]
pub(super) struct Messages {
    lists: Lists,
    len: usize,
    role: StringBuilder,
    content: StringBuilder,
    parts: Parts,
    calls: Calls,
    tool_call_id: StringBuilder,
    name: StringBuilder,
    reasoning: StringBuilder,
    weight: Int8Builder,
}

impl Messages {
    /// Appends a row: `system` (a system message put first), then `turns`.
    pub(super) fn push(
        &mut self,
        system: Option<&str>,
        turns: &[ConversationTurn],
        full: bool,
        truncated: &mut bool,
    ) {
        if let Some(system) = system {
            self.push_turn(&ConversationTurn::text(Role::System, system), true, truncated);
        }
        for turn in turns {
            self.push_turn(turn, full, truncated);
        }
        self.len += usize::from(system.is_some()) + turns.len();
        self.lists.close(self.len);
    }

    /// Appends a null row.
    pub(super) fn null(&mut self) {
        self.lists.null();
    }

    fn push_turn(&mut self, t: &ConversationTurn, full: bool, truncated: &mut bool) {
        self.role.append_value(t.role.as_str());
        if t.has_no_content() && !t.tool_calls.is_empty() {
            self.content.append_null();
        } else {
            let (content, cut) = turn_content(&t.content, full);
            *truncated |= cut;
            self.content.append_value(content);
        }
        self.parts.push(&t.parts, full, truncated);
        self.calls.push(t);
        self.tool_call_id.append_option(t.tool_call_id.as_deref());
        self.name.append_option(t.name.as_deref());
        self.reasoning.append_option(t.reasoning.as_deref());
        // The model holds 0 or 1 only.
        self.weight.append_option(t.weight.map(|w| w as i8));
    }

    pub(super) fn finish(&mut self) -> Result<ArrayRef, ArrowError> {
        let values = StructArray::try_new(
            schema::message_fields(),
            vec![
                Arc::new(self.role.finish()),
                Arc::new(self.content.finish()),
                self.parts.finish()?,
                self.calls.finish()?,
                Arc::new(self.tool_call_id.finish()),
                Arc::new(self.name.finish()),
                Arc::new(self.reasoning.finish()),
                Arc::new(self.weight.finish()),
            ],
            None,
        )?;
        self.len = 0;
        self.lists.finish(schema::item(schema::message_fields()), Arc::new(values))
    }
}

/// What a text metadata column reads of a conversation.
type TextOf = for<'a> fn(&'a Conversation) -> Option<&'a str>;
/// What a timestamp metadata column reads of a conversation.
type InstantOf = fn(&Conversation) -> Option<&Timestamp>;

/// One metadata column and what it reads of a conversation.
#[derive(Debug)]
enum Column {
    Text(StringBuilder, TextOf),
    Instant(TimestampMicrosecondBuilder, InstantOf),
    QualityScore(Float64Builder),
    Categories(ListBuilder<StringBuilder>),
    TokenCount(UInt64Builder),
    /// The review history as JSON text (an array).
    ReviewHistory(StringBuilder),
    ContentTruncated(BooleanBuilder),
    /// The user's own fields as JSON text (an object); null when none.
    UserFields(StringBuilder),
}

/// The metadata columns of an export, in schema order.
#[derive(Debug, Default)]
pub(super) struct Metadata {
    columns: Vec<Column>,
    fields: Vec<Field>,
}

impl Metadata {
    /// The columns `config` asks for: none without `includeMetadata`.
    pub(super) fn new(config: &ExportConfig, counted_tokens: bool) -> Metadata {
        let mut m = Metadata::default();
        if !config.include_metadata {
            return m;
        }
        let text = |m: &mut Metadata, name: &str, of: TextOf| {
            m.fields.push(schema::text(name, true));
            m.columns.push(Column::Text(StringBuilder::new(), of));
        };
        let instant = |m: &mut Metadata, name: &str, of: InstantOf| {
            m.fields.push(schema::instant(name));
            m.columns
                .push(Column::Instant(TimestampMicrosecondBuilder::new().with_timezone("UTC"), of));
        };
        text(&mut m, "title", |c| c.title.as_deref());
        text(&mut m, "status", |c| c.status.map(|s| s.as_str()));
        text(&mut m, "tier", |c| c.tier.map(|t| t.as_str()));
        m.fields.push(Field::new(
            "category",
            DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))),
            false,
        ));
        m.columns.push(Column::Categories(ListBuilder::new(StringBuilder::new())));
        if config.include_quality_scores {
            m.fields.push(Field::new("quality_score", DataType::Float64, true));
            m.columns.push(Column::QualityScore(Float64Builder::new()));
        }
        text(&mut m, "persona", |c| c.persona.as_deref());
        text(&mut m, "emotion", |c| c.emotion.as_deref());
        text(&mut m, "topic", |c| c.topic.as_deref());
        if config.include_timestamps {
            instant(&mut m, "created_at", |c| c.created_at.as_ref());
            instant(&mut m, "updated_at", |c| c.updated_at.as_ref());
        }
        if counted_tokens {
            m.fields.push(Field::new("token_count", DataType::UInt64, true));
            m.columns.push(Column::TokenCount(UInt64Builder::new()));
        }
        if config.include_parent_references {
            text(&mut m, "parent_id", |c| c.parent_id.as_deref());
            text(&mut m, "parent_type", |c| c.parent_type.map(|p| p.as_str()));
        }
        if config.include_approval_history {
            m.fields.push(schema::text("review_history", false));
            m.columns.push(Column::ReviewHistory(StringBuilder::new()));
        }
        if !config.include_full_content {
            m.fields.push(Field::new("content_truncated", DataType::Boolean, false));
            m.columns.push(Column::ContentTruncated(BooleanBuilder::new()));
        }
        m.fields.push(schema::text("user_fields", true));
        m.columns.push(Column::UserFields(StringBuilder::new()));
        m
    }

    /// The columns' fields, in order.
    pub(super) fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// Appends the metadata of `c`: `review_history` and `user_fields` are
    /// the JSON texts the caller serialized.
    pub(super) fn push(
        &mut self,
        c: &Conversation,
        truncated: bool,
        review_history: &str,
        user_fields: Option<&str>,
    ) {
        for column in &mut self.columns {
            match column {
                Column::Text(b, of) => b.append_option(of(c)),
                Column::Instant(b, of) => {
                    b.append_option(of(c).map(|t| t.utc().timestamp_micros()))
                }
                Column::QualityScore(b) => b.append_option(c.quality_score),
                Column::Categories(b) => {
                    for category in &c.category {
                        b.values().append_value(category);
                    }
                    b.append(true);
                }
                Column::TokenCount(b) => b.append_option(c.token_count),
                Column::ReviewHistory(b) => b.append_value(review_history),
                Column::ContentTruncated(b) => b.append_value(truncated),
                Column::UserFields(b) => b.append_option(user_fields),
            }
        }
    }

    /// The arrays of the rows appended since the last call.
    pub(super) fn finish(&mut self) -> Vec<ArrayRef> {
        self.columns
            .iter_mut()
            .map(|column| -> ArrayRef {
                match column {
                    Column::Text(b, _) | Column::ReviewHistory(b) | Column::UserFields(b) => {
                        Arc::new(b.finish())
                    }
                    Column::Instant(b, _) => Arc::new(b.finish()),
                    Column::QualityScore(b) => Arc::new(b.finish()),
                    Column::Categories(b) => Arc::new(b.finish()),
                    Column::TokenCount(b) => Arc::new(b.finish()),
                    Column::ContentTruncated(b) => Arc::new(b.finish()),
                }
            })
            .collect()
    }

    /// Whether the review history is written (and must be serialized).
    pub(super) fn wants_review_history(&self) -> bool {
        self.columns.iter().any(|c| matches!(c, Column::ReviewHistory(_)))
    }
}
