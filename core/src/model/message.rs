//! The parts of a message beyond its text: content parts, tool calls, and
//! the preference pair of a conversation, with the readers that accept the
//! shapes OpenAI, Hugging Face (TRL) and the fine-tuning providers use.
//!
//! Every reader of the crate (JSONL, Python objects, Arrow rows, Node
//! values) goes through these serde impls: the record model is defined once.

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::conversation::{ConversationTurn, Role};

/// Most content parts one message may hold.
pub const MAX_CONTENT_PARTS: usize = 256;
/// Most tool calls one assistant message may hold.
pub const MAX_TOOL_CALLS: usize = 128;
/// Most function definitions one conversation may offer (`tools`).
pub const MAX_TOOLS: usize = 256;
/// Longest tool-call `arguments` text, in bytes (8 MiB).
pub const MAX_ARGUMENTS_BYTES: usize = 8 << 20;
/// Most messages one continuation of a preference pair may hold.
pub const MAX_CONTINUATION_TURNS: usize = 1_024;

/// One part of a message whose content is a list of parts.
///
/// Read from OpenAI's `{"type":"text","text":…}` and
/// `{"type":"image_url","image_url":{"url":…,"detail"?:…}}`, and from
/// Hugging Face's `{"type":"image","url"|"image":…}` or a bare
/// `{"type":"image"}` (the image itself in another column).
///
/// ```
/// use lora_export_core::model::{ContentPart, Conversation};
/// let c: Conversation = serde_json::from_str(r#"{"conversation_id":"p","messages":[
///   {"role":"user","content":[{"type":"text","text":"What is it?"},
///     {"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]},
///   {"role":"assistant","content":[{"type":"text","text":"A cat."}]}]}"#).unwrap();
/// assert_eq!(c.turns[0].content, "What is it?");
/// assert_eq!(c.turns[0].parts[1], ContentPart::Image { url: Some("https://example.com/a.png".into()), detail: None });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentPart {
    /// A text part.
    Text(String),
    /// An image, by URL or `data:` URI; `None` when the part only marks
    /// where an image goes (Hugging Face's `{"type":"image"}`).
    Image {
        /// The URL or data URI.
        url: Option<String>,
        /// OpenAI's `detail` (`low`, `high`, `auto`), if given.
        detail: Option<String>,
    },
}

impl ContentPart {
    /// The text of a text part.
    pub fn text(&self) -> Option<&str> {
        match self {
            ContentPart::Text(text) => Some(text),
            ContentPart::Image { .. } => None,
        }
    }
}

/// A function call an assistant message makes.
///
/// `arguments` is always the JSON text of the arguments: an object given
/// as an object is written as its JSON text (what the providers require); a
/// string must be valid JSON, or the record is refused with its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCall {
    /// The call's id, which the answering `tool` message names.
    pub id: Option<String>,
    /// The function's name.
    pub name: String,
    /// The arguments, as JSON text.
    pub arguments: String,
}

impl ToolCall {
    /// The arguments as a JSON value (what chat templates take).
    pub fn arguments_value(&self) -> Value {
        serde_json::from_str(&self.arguments).unwrap_or(Value::Null)
    }
}

/// A preference record's two continuations of the shared prompt (the
/// conversation's `turns`): the chosen one and the rejected one.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Preference {
    /// The preferred continuation.
    pub chosen: Vec<ConversationTurn>,
    /// The other one.
    pub rejected: Vec<ConversationTurn>,
    /// The row gave `messages` and a pair but no `prompt`: which messages
    /// are the prompt is not said. Preference targets refuse such a
    /// record; the others write `messages` and report the pair dropped.
    #[serde(skip)]
    pub prompt_is_messages: bool,
}

// ---- content ---------------------------------------------------------------

/// A `content` value: text, null, or a list of parts.
pub(super) enum ContentValue {
    Text(String),
    Null,
    Parts(Vec<ContentPart>),
}

impl<'de> Deserialize<'de> for ContentValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ContentValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, null, or a list of content parts")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ContentValue, E> {
                Ok(ContentValue::Text(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<ContentValue, E> {
                Ok(ContentValue::Text(v))
            }
            fn visit_unit<E: de::Error>(self) -> Result<ContentValue, E> {
                Ok(ContentValue::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<ContentValue, E> {
                Ok(ContentValue::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<ContentValue, D::Error> {
                d.deserialize_any(self)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ContentValue, A::Error> {
                let mut parts = Vec::new();
                while let Some(part) = seq.next_element::<ContentPart>()? {
                    if parts.len() == MAX_CONTENT_PARTS {
                        return Err(de::Error::custom(format!(
                            "more than {MAX_CONTENT_PARTS} content parts"
                        )));
                    }
                    parts.push(part);
                }
                Ok(ContentValue::Parts(parts))
            }
        }
        d.deserialize_any(V)
    }
}

/// `image_url`: `{"url":…,"detail"?:…}` or a bare URL string.
struct ImageUrl {
    url: Option<String>,
    detail: Option<String>,
}

impl<'de> Deserialize<'de> for ImageUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ImageUrl;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object with a `url`, or a URL string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ImageUrl, E> {
                Ok(ImageUrl { url: Some(v.to_owned()), detail: None })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ImageUrl, A::Error> {
                let mut out = ImageUrl { url: None, detail: None };
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "url" => out.url = map.next_value()?,
                        "detail" => out.detail = map.next_value()?,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for ContentPart {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ContentPart;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a content part object with a `type`")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ContentPart, A::Error> {
                let mut kind: Option<String> = None;
                let mut text: Option<String> = None;
                let mut image_url: Option<ImageUrl> = None;
                let mut url: Option<String> = None;
                let mut image: Option<Value> = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "type" => kind = map.next_value()?,
                        "text" => text = map.next_value()?,
                        "image_url" => image_url = map.next_value()?,
                        "url" => url = map.next_value()?,
                        "image" => image = map.next_value()?,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                match kind.as_deref() {
                    Some("text") => match text {
                        Some(text) => Ok(ContentPart::Text(text)),
                        None => Err(de::Error::custom("a text part without `text`")),
                    },
                    Some("image_url") => match image_url {
                        Some(ImageUrl { url: Some(url), detail }) => {
                            Ok(ContentPart::Image { url: Some(url), detail })
                        }
                        _ => Err(de::Error::custom("an image_url part without `image_url.url`")),
                    },
                    Some("image") => {
                        let url = match (url, image) {
                            (Some(url), _) => Some(url),
                            (None, None | Some(Value::Null)) => None,
                            (None, Some(Value::String(url))) => Some(url),
                            (None, Some(_)) => {
                                return Err(de::Error::custom(
                                    "an image part's `image` must be a URL or data URI string",
                                ))
                            }
                        };
                        Ok(ContentPart::Image { url, detail: None })
                    }
                    Some(other) => Err(de::Error::custom(format!(
                        "unsupported content part type `{other}` (text, image_url and image are read)"
                    ))),
                    None => Err(de::Error::custom("a content part without `type`")),
                }
            }
        }
        d.deserialize_map(V)
    }
}

impl Serialize for ContentPart {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        match self {
            ContentPart::Text(text) => {
                map.serialize_entry("type", "text")?;
                map.serialize_entry("text", text)?;
            }
            ContentPart::Image { url: Some(url), detail } => {
                map.serialize_entry("type", "image_url")?;
                map.serialize_entry("image_url", &ImageUrlOut { url, detail: detail.as_deref() })?;
            }
            ContentPart::Image { url: None, .. } => map.serialize_entry("type", "image")?,
        }
        map.end()
    }
}

#[derive(Serialize)]
struct ImageUrlOut<'a> {
    url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
}

// ---- tool calls ------------------------------------------------------------

/// The tool calls of a message (`null` reads as none).
pub(super) struct ToolCalls(pub(super) Vec<ToolCall>);

impl<'de> Deserialize<'de> for ToolCalls {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ToolCalls;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of tool calls")
            }
            fn visit_unit<E: de::Error>(self) -> Result<ToolCalls, E> {
                Ok(ToolCalls(Vec::new()))
            }
            fn visit_none<E: de::Error>(self) -> Result<ToolCalls, E> {
                Ok(ToolCalls(Vec::new()))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<ToolCalls, D::Error> {
                d.deserialize_any(self)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ToolCalls, A::Error> {
                let mut calls = Vec::new();
                while let Some(call) = seq.next_element::<ToolCall>()? {
                    if calls.len() == MAX_TOOL_CALLS {
                        return Err(de::Error::custom(format!(
                            "more than {MAX_TOOL_CALLS} tool calls"
                        )));
                    }
                    calls.push(call);
                }
                Ok(ToolCalls(calls))
            }
        }
        d.deserialize_any(V)
    }
}

/// `function`: `{"name":…,"arguments":…}`.
#[derive(Deserialize)]
struct Function {
    name: String,
    #[serde(default)]
    arguments: Option<Arguments>,
}

/// Arguments as a JSON string (checked) or any other JSON value (written
/// as its JSON text).
struct Arguments(String);

impl<'de> Deserialize<'de> for Arguments {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        let text = match value {
            Value::String(text) => {
                if let Err(e) = serde_json::from_str::<de::IgnoredAny>(&text) {
                    return Err(de::Error::custom(format!(
                        "`arguments` is a string but not valid JSON ({e})"
                    )));
                }
                text
            }
            other => serde_json::to_string(&other).map_err(de::Error::custom)?,
        };
        if text.len() > MAX_ARGUMENTS_BYTES {
            return Err(de::Error::custom(format!(
                "`arguments` longer than {MAX_ARGUMENTS_BYTES} bytes"
            )));
        }
        Ok(Arguments(text))
    }
}

impl<'de> Deserialize<'de> for ToolCall {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ToolCall;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a tool call object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ToolCall, A::Error> {
                let mut id: Option<String> = None;
                let mut kind: Option<String> = None;
                let mut function: Option<Function> = None;
                let mut name: Option<String> = None;
                let mut arguments: Option<Arguments> = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "id" => id = map.next_value()?,
                        "type" => kind = map.next_value()?,
                        "function" => function = map.next_value()?,
                        "name" => name = map.next_value()?,
                        "arguments" => arguments = map.next_value()?,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                if let Some(kind) = kind.filter(|k| k != "function") {
                    return Err(de::Error::custom(format!(
                        "tool call type `{kind}`: only `function` calls are read"
                    )));
                }
                let (name, arguments) = match function {
                    Some(f) => (f.name, f.arguments),
                    None => match name {
                        Some(name) => (name, arguments),
                        None => return Err(de::Error::custom("a tool call without `function`")),
                    },
                };
                if name.is_empty() {
                    return Err(de::Error::custom("a tool call with an empty function name"));
                }
                let arguments = arguments.map_or_else(|| "{}".to_owned(), |a| a.0);
                Ok(ToolCall { id: id.filter(|id| !id.is_empty()), name, arguments })
            }
        }
        d.deserialize_map(V)
    }
}

impl Serialize for ToolCall {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct FunctionOut<'a> {
            name: &'a str,
            arguments: &'a str,
        }
        let mut map = s.serialize_map(None)?;
        if let Some(id) = &self.id {
            map.serialize_entry("id", id)?;
        }
        map.serialize_entry("type", "function")?;
        map.serialize_entry(
            "function",
            &FunctionOut { name: &self.name, arguments: &self.arguments },
        )?;
        map.end()
    }
}

// ---- tools -----------------------------------------------------------------

/// Reads a conversation's `tools`: a list of function definitions (null
/// reads as none), each kept as JSON; a JSON string holding the list (as
/// ShareGPT datasets store it) is read too.
pub(crate) fn read_tools<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Value>, D::Error> {
    let tools = match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::String(text)) => match serde_json::from_str::<Value>(&text) {
            Ok(Value::Array(tools)) => tools,
            _ => return Err(de::Error::custom("`tools` is a string but not a JSON list")),
        },
        Some(Value::Array(tools)) => tools,
        Some(_) => return Err(de::Error::custom("`tools` must be a list of function definitions")),
    };
    if tools.len() > MAX_TOOLS {
        return Err(de::Error::custom(format!("more than {MAX_TOOLS} tools")));
    }
    if let Some(i) = tools.iter().position(|t| !t.is_object()) {
        return Err(de::Error::custom(format!("tools[{i}] is not an object")));
    }
    Ok(tools)
}

// ---- preference pairs ------------------------------------------------------

/// The preference shapes of one row, as read (see [`Conversation::preference`](super::Conversation::preference)).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PreferenceInput {
    /// TRL's `prompt` (a string is one user message).
    pub prompt: Option<Vec<ConversationTurn>>,
    /// OpenAI's `input.messages`.
    pub input_messages: Option<Vec<ConversationTurn>>,
    /// OpenAI's `input.tools`.
    pub input_tools: Vec<Value>,
    /// TRL's `chosen` or OpenAI's `preferred_output`.
    pub chosen: Option<Vec<ConversationTurn>>,
    /// TRL's `rejected` or OpenAI's `non_preferred_output`.
    pub rejected: Option<Vec<ConversationTurn>>,
}

impl PreferenceInput {
    /// Whether the row had none of these shapes.
    pub fn is_empty(&self) -> bool {
        self.prompt.is_none()
            && self.input_messages.is_none()
            && self.chosen.is_none()
            && self.rejected.is_none()
    }
}

/// Messages, or a string read as one message of `role`.
struct Messages(Vec<ConversationTurn>);

fn messages_as<'de, D: Deserializer<'de>>(
    d: D,
    role: Role,
) -> Result<Option<Vec<ConversationTurn>>, D::Error> {
    struct V(Role);
    impl<'de> Visitor<'de> for V {
        type Value = Option<Messages>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string or a list of messages")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(Messages(vec![ConversationTurn::text(self.0, v)])))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut turns = Vec::new();
            while let Some(turn) = seq.next_element::<ConversationTurn>()? {
                if turns.len() == MAX_CONTINUATION_TURNS {
                    return Err(de::Error::custom(format!(
                        "more than {MAX_CONTINUATION_TURNS} messages"
                    )));
                }
                turns.push(turn);
            }
            Ok(Some(Messages(turns)))
        }
    }
    Ok(d.deserialize_any(V(role))?.map(|m| m.0))
}

struct Prompt(Option<Vec<ConversationTurn>>);
impl<'de> Deserialize<'de> for Prompt {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        messages_as(d, Role::User).map(Prompt)
    }
}

struct Continuation(Option<Vec<ConversationTurn>>);
impl<'de> Deserialize<'de> for Continuation {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        messages_as(d, Role::Assistant).map(Continuation)
    }
}

#[derive(Deserialize)]
struct Input {
    #[serde(default)]
    messages: Option<Vec<ConversationTurn>>,
    #[serde(default, deserialize_with = "read_tools")]
    tools: Vec<Value>,
}

/// Reads the preference keys of a row (flattened into the conversation).
pub(super) fn read_preference<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<PreferenceInput, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = PreferenceInput;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a conversation")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PreferenceInput, A::Error> {
            let mut out = PreferenceInput::default();
            let seen = |slot: &Option<Vec<ConversationTurn>>, key: &str| match slot {
                Some(_) => Err(de::Error::custom(format!(
                    "`{key}` given twice (chosen/preferred_output, rejected/non_preferred_output)"
                ))),
                None => Ok(()),
            };
            while let Some(key) = map.next_key::<String>()? {
                match key.as_str() {
                    "prompt" => out.prompt = map.next_value::<Prompt>()?.0,
                    "input" => {
                        if let Some(input) = map.next_value::<Option<Input>>()? {
                            out.input_messages = input.messages;
                            out.input_tools = input.tools;
                        }
                    }
                    "chosen" | "preferred_output" => {
                        seen(&out.chosen, &key)?;
                        out.chosen = map.next_value::<Continuation>()?.0;
                    }
                    "rejected" | "non_preferred_output" => {
                        seen(&out.rejected, &key)?;
                        out.rejected = map.next_value::<Continuation>()?.0;
                    }
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(out)
        }
    }
    d.deserialize_map(V)
}

// ---- turns -----------------------------------------------------------------

impl ConversationTurn {
    /// A turn of plain text.
    pub fn text(role: Role, content: impl Into<String>) -> Self {
        ConversationTurn {
            role,
            content: content.into(),
            parts: Vec::new(),
            tool_calls: Vec::new(),
            tool_call_id: None,
            name: None,
            reasoning: None,
            weight: None,
            token_count: None,
        }
    }

    /// The text a tokenizer sees of this turn: its content, then its
    /// reasoning and each tool call's name and arguments, one per line.
    pub fn counted_text(&self) -> std::borrow::Cow<'_, str> {
        if self.reasoning.is_none() && self.tool_calls.is_empty() {
            return std::borrow::Cow::Borrowed(&self.content);
        }
        let mut text = self.content.clone();
        let extras =
            self.reasoning.iter().map(String::as_str).chain(
                self.tool_calls.iter().flat_map(|c| [c.name.as_str(), c.arguments.as_str()]),
            );
        for extra in extras {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(extra);
        }
        std::borrow::Cow::Owned(text)
    }

    /// Whether the turn's content was `null` (an assistant turn that only
    /// calls tools).
    pub fn has_no_content(&self) -> bool {
        self.content.is_empty() && self.parts.is_empty()
    }
}

impl<'de> Deserialize<'de> for ConversationTurn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ConversationTurn;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a message object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<ConversationTurn, A::Error> {
                let mut role: Option<Role> = None;
                let mut content: Option<ContentValue> = None;
                let mut turn = ConversationTurn::text(Role::User, "");
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "role" => role = Some(map.next_value()?),
                        "content" => content = Some(map.next_value()?),
                        "tokenCount" | "token_count" => turn.token_count = map.next_value()?,
                        "tool_calls" | "toolCalls" => {
                            turn.tool_calls = map.next_value::<ToolCalls>()?.0
                        }
                        "tool_call_id" | "toolCallId" => turn.tool_call_id = map.next_value()?,
                        "name" => turn.name = map.next_value()?,
                        "reasoning_content" | "reasoning" | "thinking" => {
                            let text: Option<String> = map.next_value()?;
                            match (&turn.reasoning, text) {
                                (Some(a), Some(b)) if *a != b => {
                                    return Err(de::Error::custom(format!(
                                        "`{key}` differs from the reasoning read before it \
                                         (reasoning_content, reasoning, thinking)"
                                    )))
                                }
                                (_, Some(b)) => turn.reasoning = Some(b),
                                (_, None) => {}
                            }
                        }
                        "weight" => {
                            turn.weight = match map.next_value::<Option<f64>>()? {
                                None => None,
                                Some(0.0) => Some(0),
                                Some(1.0) => Some(1),
                                Some(w) => {
                                    return Err(de::Error::custom(format!(
                                        "`weight` must be 0 or 1, found {w}"
                                    )))
                                }
                            }
                        }
                        "function_call" => {
                            if map.next_value::<Option<IgnoredAny>>()?.is_some() {
                                return Err(de::Error::custom(
                                    "`function_call` (deprecated by OpenAI) is not read: \
                                     give the call as `tool_calls`",
                                ));
                            }
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                turn.role = role.ok_or_else(|| de::Error::missing_field("role"))?;
                match content {
                    Some(ContentValue::Text(text)) => turn.content = text,
                    Some(ContentValue::Parts(parts)) => {
                        turn.content = parts.iter().filter_map(ContentPart::text).collect();
                        turn.parts = parts;
                    }
                    Some(ContentValue::Null) | None if !turn.tool_calls.is_empty() => {}
                    Some(ContentValue::Null) => {
                        return Err(de::Error::custom(
                            "`content` is null (only an assistant message with `tool_calls` may omit it)",
                        ))
                    }
                    None => return Err(de::Error::missing_field("content")),
                }
                if !turn.tool_calls.is_empty() && turn.role != Role::Assistant {
                    return Err(de::Error::custom(format!(
                        "a {} message with `tool_calls` (only assistant messages call tools)",
                        turn.role.as_str()
                    )));
                }
                if turn.weight.is_some() && turn.role != Role::Assistant {
                    return Err(de::Error::custom(format!(
                        "`weight` on a {} message (only assistant messages are weighted)",
                        turn.role.as_str()
                    )));
                }
                Ok(turn)
            }
        }
        d.deserialize_map(V)
    }
}

impl Serialize for ConversationTurn {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("role", self.role.as_str())?;
        if !self.parts.is_empty() {
            map.serialize_entry("content", &self.parts)?;
        } else if self.content.is_empty() && !self.tool_calls.is_empty() {
            map.serialize_entry("content", &())?;
        } else {
            map.serialize_entry("content", &self.content)?;
        }
        if !self.tool_calls.is_empty() {
            map.serialize_entry("tool_calls", &self.tool_calls)?;
        }
        if let Some(id) = &self.tool_call_id {
            map.serialize_entry("tool_call_id", id)?;
        }
        if let Some(name) = &self.name {
            map.serialize_entry("name", name)?;
        }
        if let Some(reasoning) = &self.reasoning {
            map.serialize_entry("reasoning_content", reasoning)?;
        }
        if let Some(weight) = self.weight {
            map.serialize_entry("weight", &weight)?;
        }
        if let Some(n) = self.token_count {
            map.serialize_entry("tokenCount", &n)?;
        }
        map.end()
    }
}

// ---- whole-conversation checks ---------------------------------------------

/// Checks that every tool call is answered by a `tool` message and every
/// `tool` message answers a call: by id when the calls have ids, else in
/// order. `Err` says why the record would be a wrong example.
pub(super) fn check_tool_answers(turns: &[ConversationTurn], what: &str) -> Result<(), String> {
    let mut pending: Vec<(usize, &ToolCall)> = Vec::new();
    for (i, turn) in turns.iter().enumerate() {
        match turn.role {
            Role::Tool => {
                let answered = match &turn.tool_call_id {
                    Some(id) => pending.iter().position(|(_, c)| c.id.as_ref() == Some(id)),
                    None => (!pending.is_empty()).then_some(0),
                };
                match answered {
                    Some(k) => {
                        pending.remove(k);
                    }
                    None => {
                        let id = turn.tool_call_id.as_deref().unwrap_or("(none)");
                        return Err(format!(
                            "tool message answers no call: {what}[{i}] has tool_call_id {id}, \
                             which no open tool call has"
                        ));
                    }
                }
            }
            _ => {
                if let Some((at, call)) = pending.first() {
                    return Err(format!(
                        "unanswered tool call: {what}[{at}] calls {} and {what}[{i}] follows \
                         before a tool message answers it",
                        call.name
                    ));
                }
                pending.extend(turn.tool_calls.iter().map(|c| (i, c)));
            }
        }
    }
    match pending.first() {
        Some((at, call)) => Err(format!(
            "unanswered tool call: {what}[{at}] calls {} and no tool message answers it",
            call.name
        )),
        None => Ok(()),
    }
}

/// The longest common prefix of two message lists (TRL's implicit prompt).
pub(super) fn common_prefix(a: &[ConversationTurn], b: &[ConversationTurn]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

impl super::Conversation {
    /// Whether serde found the record's messages: turns, or a preference
    /// shape. The readers' direct paths read a record without either again
    /// through its JSON value ([`source::from_value`](crate::source::from_value)),
    /// which knows other shapes (ShareGPT's `conversations`).
    pub fn has_messages(&self) -> bool {
        !self.turns.is_empty() || !self.preference_input.is_empty()
    }

    /// Moves the preference keys read into `turns`, `tools` and
    /// `preference`, and checks what serde cannot see message by message:
    /// every tool call answered and every tool message answering a call.
    /// `Err` is the reason the record is skipped. Every reader calls it
    /// (through [`source::checked`](crate::source::checked)).
    ///
    /// - TRL's `prompt` (a string is one user message) or OpenAI's
    ///   `input.messages` become `turns`; `input.tools` becomes `tools`.
    /// - `chosen`/`preferred_output` and `rejected`/`non_preferred_output`
    ///   (a string is one assistant message) become `preference`; without a
    ///   prompt, their longest common prefix is the prompt (TRL's implicit
    ///   prompt).
    /// - A row with `messages` and a pair but no prompt keeps both, marked
    ///   by [`Preference::prompt_is_messages`].
    pub fn resolve_messages(&mut self) -> Result<(), String> {
        let input = std::mem::take(&mut self.preference_input);
        let refuse = |why: &str| Err(format!("preference record: {why}"));
        let mut prompt_given = false;
        if let Some(messages) = input.input_messages {
            if !self.turns.is_empty() || input.prompt.is_some() {
                return refuse("`input.messages` and `messages` or `prompt` both given");
            }
            self.turns = messages;
            prompt_given = true;
        }
        if !input.input_tools.is_empty() {
            if !self.tools.is_empty() && self.tools != input.input_tools {
                return refuse("`input.tools` and `tools` differ");
            }
            self.tools = input.input_tools;
        }
        if let Some(prompt) = input.prompt {
            if !self.turns.is_empty() {
                return refuse(
                    "`prompt` and `messages` both given: which is the prompt is unclear",
                );
            }
            self.turns = prompt;
            prompt_given = true;
        }
        match (input.chosen, input.rejected) {
            (None, None) => check_tool_answers(&self.turns, "turns"),
            (Some(_), None) => refuse("a chosen continuation without a rejected one"),
            (None, Some(_)) => refuse("a rejected continuation without a chosen one"),
            (Some(mut chosen), Some(mut rejected)) => {
                let prompt_is_messages = !prompt_given && !self.turns.is_empty();
                if !prompt_given && self.turns.is_empty() {
                    let n = common_prefix(&chosen, &rejected);
                    self.turns = chosen.drain(..n).collect();
                    rejected.drain(..n);
                }
                if self.turns.is_empty() {
                    return refuse(
                        "no prompt (no `prompt`, and chosen and rejected share no first message)",
                    );
                }
                if chosen.is_empty() || rejected.is_empty() {
                    return refuse("chosen or rejected is empty after the prompt");
                }
                for (name, side) in [("chosen", &chosen), ("rejected", &rejected)] {
                    let whole: Vec<ConversationTurn> =
                        self.turns.iter().chain(side.iter()).cloned().collect();
                    check_tool_answers(&whole, name)?;
                }
                self.preference = Some(Preference { chosen, rejected, prompt_is_messages });
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::source::from_value;
    use crate::Location;

    fn read(v: serde_json::Value) -> Result<super::super::Conversation, String> {
        from_value(v, Location::record(1)).map_err(|s| s.reason)
    }

    #[test]
    fn tool_calls_reasoning_weights_and_parts_are_read() {
        let c = read(json!({"conversation_id": "t", "tools": [{"type": "function", "function": {"name": "w"}}],
            "messages": [
            {"role": "developer", "content": [{"type": "text", "text": "Be "}, {"type": "text", "text": "brief."}]},
            {"role": "user", "content": "Weather?", "name": "ann"},
            {"role": "assistant", "content": null, "thinking": "call it",
             "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "w", "arguments": "{\"city\": \"Paris\"}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "18C"},
            {"role": "assistant", "content": "18C.", "weight": 0}]}))
        .unwrap();
        assert_eq!(c.turns[0].content, "Be brief.");
        assert_eq!(c.turns[0].parts.len(), 2);
        assert_eq!(c.turns[1].name.as_deref(), Some("ann"));
        assert_eq!(c.turns[2].tool_calls[0].arguments, "{\"city\": \"Paris\"}");
        assert_eq!(c.turns[2].reasoning.as_deref(), Some("call it"));
        assert_eq!(c.turns[4].weight, Some(0));
        assert_eq!(c.tools.len(), 1);
    }

    #[test]
    fn wrong_values_are_refused_with_their_path() {
        let base = |turn: serde_json::Value| json!({"conversation_id": "t", "messages": [{"role": "user", "content": "q"}, turn]});
        for (turn, why) in [
            (json!({"role": "assistant", "content": "a", "weight": 2}), "messages[1]: `weight` must be 0 or 1"),
            (json!({"role": "user", "content": "a", "weight": 1}), "`weight` on a user message"),
            (json!({"role": "assistant", "content": null, "tool_calls": [{"id": "x", "function": {"name": "f", "arguments": "{oops"}}]}),
             "messages[1].tool_calls[0].function.arguments: `arguments` is a string but not valid JSON"),
            (json!({"role": "assistant", "content": [{"type": "input_audio"}]}), "messages[1].content[0]: unsupported content part type `input_audio`"),
            (json!({"role": "assistant", "content": null}), "`content` is null"),
        ] {
            let reason = read(base(turn)).unwrap_err();
            assert!(reason.contains(why), "{reason} should say {why}");
        }
    }

    #[test]
    fn unanswered_calls_and_stray_answers_skip_the_record() {
        let call = json!({"role": "assistant", "content": null,
            "tool_calls": [{"id": "c1", "function": {"name": "w", "arguments": {}}}]});
        let unanswered = json!({"conversation_id": "t", "messages": [
            {"role": "user", "content": "q"}, call, {"role": "assistant", "content": "a"}]});
        assert!(read(unanswered)
            .unwrap_err()
            .starts_with("unanswered tool call: turns[1] calls w"));
        let stray = json!({"conversation_id": "t", "messages": [
            {"role": "user", "content": "q"}, {"role": "tool", "tool_call_id": "zz", "content": "x"},
            {"role": "assistant", "content": "a"}]});
        assert!(read(stray).unwrap_err().starts_with("tool message answers no call"));
    }

    #[test]
    fn preference_records_are_read_from_trl_and_openai_shapes() {
        let trl = read(json!({"conversation_id": "p", "prompt": "Capital of France?",
            "chosen": "Paris.", "rejected": "Lyon."}))
        .unwrap();
        assert_eq!(trl.turns[0].content, "Capital of France?");
        let pair = trl.preference.unwrap();
        assert_eq!(
            (pair.chosen[0].content.as_str(), pair.rejected[0].content.as_str()),
            ("Paris.", "Lyon.")
        );
        let openai = read(json!({"conversation_id": "o",
            "input": {"messages": [{"role": "user", "content": "Hi"}], "tools": [{"type": "function", "function": {"name": "f"}}]},
            "preferred_output": [{"role": "assistant", "content": "Hello!"}],
            "non_preferred_output": [{"role": "assistant", "content": "Go away."}]}))
        .unwrap();
        assert_eq!((openai.turns.len(), openai.tools.len()), (1, 1));
        let implicit = read(json!({"conversation_id": "i",
            "chosen": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}],
            "rejected": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "No"}]}))
        .unwrap();
        assert_eq!(implicit.turns.len(), 1);
        assert_eq!(implicit.preference.unwrap().rejected[0].content, "No");
        let both =
            read(json!({"conversation_id": "b", "messages": [{"role": "user", "content": "Hi"}],
            "chosen": "a", "rejected": "b"}))
            .unwrap();
        assert!(both.preference.unwrap().prompt_is_messages, "the pair is kept, not dropped");
        let half =
            read(json!({"conversation_id": "h", "prompt": "Hi", "chosen": "a"})).unwrap_err();
        assert_eq!(half, "preference record: a chosen continuation without a rejected one");
    }

    #[test]
    fn bounds_hold() {
        let parts = vec![json!({"type": "text", "text": "x"}); super::MAX_CONTENT_PARTS + 1];
        let c = json!({"conversation_id": "t", "messages": [{"role": "user", "content": parts}]});
        assert!(read(c).unwrap_err().contains("more than 256 content parts"));
    }
}
