use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::content::{turn_content, Dropped};
use super::json_text;
use super::{ExportTransformer, TransformerSettings};
use crate::model::{
    ContentPart, Conversation, ConversationTurn, ExportConfig, JsonlFlavor, Preference,
    ReviewAction, Role,
};
use crate::{ErrorKind, Result};

/// JSON Lines for fine-tuning: one conversation per line, in the flavor of
/// [`ExportConfig::jsonl_flavor`] (docs/formats.md has the table of what each
/// flavor writes and what it reports as dropped).
///
/// - `openai`: `{"messages":[…],"tools"?:[…],"metadata"?:{…}}`; messages
///   carry `tool_calls` (arguments as JSON text), `tool_call_id`, `name`,
///   `weight` and content parts. The metadata object (when
///   `includeMetadata`) has the same keys on every line: a field the record
///   lacks (persona, emotion, topic, parent, title, tier, dates) is written
///   as `null`, never as an invented `""` nor a missing key, so that Arrow
///   readers (Hugging Face `datasets`) that fix the schema on the first
///   chunk read every line (a null in a string column).
/// - `openai-dpo`: `{"input":{"messages","tools"?},"preferred_output":[…],
///   "non_preferred_output":[…]}`, preference records only.
/// - `trl`: `{"messages","tools"?}` as Hugging Face chat templates take them
///   (arguments as objects, `reasoning_content`, `{"type":"image"}` parts);
///   preference records as `{"prompt","chosen","rejected","tools"?}`.
/// - `together`, `fireworks`: OpenAI's messages with `reasoning` (Together)
///   or `reasoning_content` (Fireworks); preference records in OpenAI's
///   preference shape.
/// - `bedrock-nova`: `{"schemaVersion":"bedrock-conversation-2024",
///   "system":[{"text"}],"messages":[{"role","content":[blocks]}]}` with
///   `reasoningContent`, `toolUse` and `toolResult` blocks.
/// - `anthropic`: `{"system"?:…,"messages":[…]}` and nothing else, text
///   only, as Claude's fine-tuning on Bedrock takes it. The conversation
///   must start with a user turn, end with an assistant turn and alternate;
///   a leading system turn becomes `system`. Others, and conversations with
///   tool calls, are refused; reasoning is dropped (an Anthropic `thinking`
///   block needs a signature the input does not have).
/// - `sharegpt`: `{"conversations":[{"from","value"}],"tools"?}` as
///   LLaMA-Factory reads it: `system`, `human`, `gpt`, `function_call`,
///   `observation`; `tools` as a JSON string.
///
/// What a flavor cannot carry is left out and counted
/// ([`dropped_fields`](ExportTransformer::dropped_fields)); a record that
/// would become a wrong example is refused with its reason.
///
/// With `systemPrompt` set, a system message comes first, unless the
/// conversation starts with its own system (or developer) turn. Flavors
/// other than `openai` forbid extra keys: their metadata goes to a sidecar
/// file, line for line (see [`ExportTransformer::wants_sidecar`]).
#[derive(Debug)]
pub struct JsonlTransformer {
    config: ExportConfig,
    counted_tokens: bool,
    line: Vec<u8>,
    dropped: Dropped,
}

/// What an OpenAI-shaped flavor writes of a message.
#[derive(Debug, Clone, Copy)]
struct Shape {
    /// The key of the reasoning, if the flavor carries it.
    reasoning: Option<&'static str>,
    weight: bool,
    /// Keeps `developer` (else written as `system`, and counted).
    developer: bool,
    /// Hugging Face's message shape: arguments as objects, `{"type":"image"}` parts.
    hugging_face: bool,
    /// Tool calls need their ids (OpenAI).
    call_ids: bool,
}

impl Shape {
    fn of(flavor: JsonlFlavor) -> Shape {
        let base = Shape {
            reasoning: None,
            weight: true,
            developer: false,
            hugging_face: false,
            call_ids: false,
        };
        match flavor {
            JsonlFlavor::Openai => Shape { call_ids: true, ..base },
            JsonlFlavor::OpenaiDpo => Shape { call_ids: true, weight: false, ..base },
            JsonlFlavor::Trl => Shape {
                reasoning: Some("reasoning_content"),
                weight: false,
                developer: true,
                hugging_face: true,
                ..base
            },
            JsonlFlavor::Together => Shape { reasoning: Some("reasoning"), ..base },
            JsonlFlavor::Fireworks => Shape { reasoning: Some("reasoning_content"), ..base },
            _ => base,
        }
    }
}

impl JsonlTransformer {
    /// A JSONL writer for these settings.
    pub fn new(settings: &TransformerSettings) -> Self {
        JsonlTransformer {
            config: settings.config.clone(),
            counted_tokens: settings.counted_tokens,
            line: Vec::with_capacity(8 * 1024),
            dropped: Dropped::default(),
        }
    }

    fn refuse<T>(&self, why: impl fmt::Display) -> Result<T> {
        Err(ErrorKind::Rejected(format!("{} flavor: {why}", self.config.jsonl_flavor.as_str()))
            .into())
    }

    fn serialize_line(&mut self, c: &Conversation, dropped: &mut Dropped) -> Result<()> {
        let flavor = self.config.jsonl_flavor;
        let pair = match &c.preference {
            Some(p) if p.prompt_is_messages => {
                if matches!(flavor, JsonlFlavor::OpenaiDpo) {
                    return self.refuse(
                        "a record with `messages` and a chosen/rejected pair but no `prompt`: \
                         which messages are the prompt is not said",
                    );
                }
                dropped.add("preference", 1);
                None
            }
            pair => pair.as_ref(),
        };
        let system = system_prompt(&self.config, c);
        self.line.clear();
        let mut line = std::mem::take(&mut self.line);
        let written = match (flavor, pair) {
            (JsonlFlavor::OpenaiDpo, None) => self.refuse(
                "not a preference record (no chosen and rejected continuations): \
                 export it with an SFT flavor",
            ),
            (JsonlFlavor::OpenaiDpo | JsonlFlavor::Together | JsonlFlavor::Fireworks, Some(p)) => {
                self.openai_preference(&mut line, c, p, system, dropped)
            }
            (JsonlFlavor::Trl, Some(p)) => self.trl_preference(&mut line, c, p, system, dropped),
            (_, Some(_)) => self.refuse(
                "a preference record: this flavor writes single conversations \
                 (export it with openai-dpo, trl, together or fireworks)",
            ),
            (JsonlFlavor::BedrockNova, None) => self.bedrock(&mut line, c, system, dropped),
            (JsonlFlavor::Anthropic, None) => self.anthropic(&mut line, c, system, dropped),
            (JsonlFlavor::Sharegpt, None) => self.sharegpt(&mut line, c, system, dropped),
            (_, None) => self.openai_messages(&mut line, c, system, dropped),
        };
        line.push(b'\n');
        self.line = line;
        written
    }

    /// `{"messages":[…],"tools"?:[…],"metadata"?:{…}}` (openai, trl,
    /// together, fireworks).
    fn openai_messages(
        &self,
        line: &mut Vec<u8>,
        c: &Conversation,
        system: Option<&str>,
        dropped: &mut Dropped,
    ) -> Result<()> {
        let shape = Shape::of(self.config.jsonl_flavor);
        check_trainable(self.config.jsonl_flavor, &c.turns)?;
        line.extend_from_slice(b"{\"messages\":");
        let mut truncated = false;
        self.write_openai_list(line, system, &c.turns, shape, &mut truncated, dropped)?;
        write_tools(line, b"tools", &c.tools)?;
        if self.config.jsonl_flavor == JsonlFlavor::Openai && self.config.include_metadata {
            line.extend_from_slice(b",\"metadata\":");
            serde_json::to_writer(
                &mut *line,
                &Metadata::new(c, &self.config, truncated, self.counted_tokens),
            )?;
        }
        line.push(b'}');
        Ok(())
    }

    /// OpenAI's preference shape (openai-dpo, together, fireworks).
    fn openai_preference(
        &self,
        line: &mut Vec<u8>,
        c: &Conversation,
        p: &Preference,
        system: Option<&str>,
        dropped: &mut Dropped,
    ) -> Result<()> {
        let shape = Shape { weight: false, ..Shape::of(self.config.jsonl_flavor) };
        for (name, side) in [("chosen", &p.chosen), ("rejected", &p.rejected)] {
            if side.len() != 1 || side[0].role != Role::Assistant {
                return self.refuse(format!(
                    "the {name} continuation must be one assistant message, found {} messages",
                    side.len()
                ));
            }
        }
        let mut truncated = false;
        line.extend_from_slice(b"{\"input\":{\"messages\":");
        self.write_openai_list(line, system, &c.turns, shape, &mut truncated, dropped)?;
        write_tools(line, b"tools", &c.tools)?;
        line.extend_from_slice(b"},\"preferred_output\":");
        self.write_openai_list(line, None, &p.chosen, shape, &mut truncated, dropped)?;
        line.extend_from_slice(b",\"non_preferred_output\":");
        self.write_openai_list(line, None, &p.rejected, shape, &mut truncated, dropped)?;
        line.push(b'}');
        Ok(())
    }

    /// TRL's conversational preference shape.
    fn trl_preference(
        &self,
        line: &mut Vec<u8>,
        c: &Conversation,
        p: &Preference,
        system: Option<&str>,
        dropped: &mut Dropped,
    ) -> Result<()> {
        let shape = Shape::of(JsonlFlavor::Trl);
        let mut truncated = false;
        line.extend_from_slice(b"{\"prompt\":");
        self.write_openai_list(line, system, &c.turns, shape, &mut truncated, dropped)?;
        line.extend_from_slice(b",\"chosen\":");
        self.write_openai_list(line, None, &p.chosen, shape, &mut truncated, dropped)?;
        line.extend_from_slice(b",\"rejected\":");
        self.write_openai_list(line, None, &p.rejected, shape, &mut truncated, dropped)?;
        write_tools(line, b"tools", &c.tools)?;
        line.push(b'}');
        Ok(())
    }

    fn write_openai_list<'t>(
        &self,
        line: &mut Vec<u8>,
        system: Option<&str>,
        turns: impl IntoIterator<Item = &'t ConversationTurn>,
        shape: Shape,
        truncated: &mut bool,
        dropped: &mut Dropped,
    ) -> Result<()> {
        let out = OpenAiList {
            flavor: self.config.jsonl_flavor,
            full: self.config.include_full_content,
            shape,
        };
        out.write(line, system, turns, truncated, dropped)
    }
}

/// Writes lists of OpenAI-shaped messages in one flavor's [`Shape`].
struct OpenAiList {
    flavor: JsonlFlavor,
    full: bool,
    shape: Shape,
}

impl OpenAiList {
    fn refuse<T>(&self, why: impl fmt::Display) -> Result<T> {
        Err(ErrorKind::Rejected(format!("{} flavor: {why}", self.flavor.as_str())).into())
    }

    fn write<'t>(
        &self,
        line: &mut Vec<u8>,
        system: Option<&str>,
        turns: impl IntoIterator<Item = &'t ConversationTurn>,
        truncated: &mut bool,
        dropped: &mut Dropped,
    ) -> Result<()> {
        line.push(b'[');
        if let Some(system) = system {
            line.extend_from_slice(b"{\"role\":\"system\",\"content\":");
            json_text::write_str(line, system);
            line.extend_from_slice(b"},");
        }
        for (i, t) in turns.into_iter().enumerate() {
            if i > 0 {
                line.push(b',');
            }
            self.write_message(line, t, truncated, dropped)?;
        }
        line.push(b']');
        Ok(())
    }

    fn write_message(
        &self,
        line: &mut Vec<u8>,
        t: &ConversationTurn,
        truncated: &mut bool,
        dropped: &mut Dropped,
    ) -> Result<()> {
        let (full, shape) = (self.full, self.shape);
        let role = match t.role {
            Role::Developer if !shape.developer => {
                dropped.add("developer_role", 1);
                "system"
            }
            role => role.as_str(),
        };
        line.extend_from_slice(b"{\"role\":");
        json_text::write_str(line, role);
        if !t.parts.is_empty() {
            line.extend_from_slice(b",\"content\":[");
            let mut first = true;
            for part in &t.parts {
                let written = match part {
                    ContentPart::Text(text) => {
                        let (text, cut) = turn_content(text, full);
                        *truncated |= cut;
                        comma(line, &mut first);
                        line.extend_from_slice(b"{\"type\":\"text\",\"text\":");
                        json_text::write_str(line, &text);
                        true
                    }
                    ContentPart::Image { url, detail } if shape.hugging_face => {
                        comma(line, &mut first);
                        line.extend_from_slice(b"{\"type\":\"image\"");
                        if let Some(url) = url {
                            line.extend_from_slice(b",\"url\":");
                            json_text::write_str(line, url);
                        }
                        dropped.add("image_detail", u64::from(detail.is_some()));
                        true
                    }
                    ContentPart::Image { url: Some(url), detail } => {
                        comma(line, &mut first);
                        line.extend_from_slice(b"{\"type\":\"image_url\",\"image_url\":{\"url\":");
                        json_text::write_str(line, url);
                        if let Some(detail) = detail {
                            line.extend_from_slice(b",\"detail\":");
                            json_text::write_str(line, detail);
                        }
                        line.push(b'}');
                        true
                    }
                    ContentPart::Image { url: None, .. } => {
                        dropped.add("image_parts", 1);
                        false
                    }
                };
                if written {
                    line.push(b'}');
                }
            }
            line.push(b']');
        } else if !t.has_no_content() || t.tool_calls.is_empty() {
            let (content, cut) = turn_content(&t.content, full);
            *truncated |= cut;
            line.extend_from_slice(b",\"content\":");
            json_text::write_str(line, &content);
        }
        if let Some(name) = &t.name {
            line.extend_from_slice(b",\"name\":");
            json_text::write_str(line, name);
        }
        match (&t.reasoning, shape.reasoning) {
            (Some(reasoning), Some(key)) => {
                line.extend_from_slice(b",\"");
                line.extend_from_slice(key.as_bytes());
                line.extend_from_slice(b"\":");
                json_text::write_str(line, reasoning);
            }
            (Some(_), None) => dropped.add("reasoning", 1),
            (None, _) => {}
        }
        if !t.tool_calls.is_empty() {
            line.extend_from_slice(b",\"tool_calls\":[");
            for (i, call) in t.tool_calls.iter().enumerate() {
                if i > 0 {
                    line.push(b',');
                }
                line.push(b'{');
                match &call.id {
                    Some(id) => {
                        line.extend_from_slice(b"\"id\":");
                        json_text::write_str(line, id);
                        line.push(b',');
                    }
                    None if shape.call_ids => {
                        return self.refuse(format!(
                            "tool call {} has no id, which this flavor requires",
                            call.name
                        ))
                    }
                    None => {}
                }
                line.extend_from_slice(b"\"type\":\"function\",\"function\":{\"name\":");
                json_text::write_str(line, &call.name);
                line.extend_from_slice(b",\"arguments\":");
                if shape.hugging_face {
                    line.extend_from_slice(call.arguments.as_bytes());
                } else {
                    json_text::write_str(line, &call.arguments);
                }
                line.extend_from_slice(b"}}");
            }
            line.push(b']');
        }
        match &t.tool_call_id {
            Some(id) => {
                line.extend_from_slice(b",\"tool_call_id\":");
                json_text::write_str(line, id);
            }
            None if t.role == Role::Tool && shape.call_ids => {
                return self
                    .refuse("a tool message without tool_call_id, which this flavor requires")
            }
            None => {}
        }
        if let Some(weight) = t.weight {
            if shape.weight {
                line.extend_from_slice(if weight == 0 {
                    b",\"weight\":0"
                } else {
                    b",\"weight\":1"
                });
            } else {
                dropped.add("weight", 1);
            }
        }
        line.push(b'}');
        Ok(())
    }
}

impl JsonlTransformer {
    /// Bedrock's conversation schema for Nova.
    fn bedrock(
        &self,
        line: &mut Vec<u8>,
        c: &Conversation,
        system: Option<&str>,
        dropped: &mut Dropped,
    ) -> Result<()> {
        let full = self.config.include_full_content;
        let (leading, rest) = split_system(&c.turns);
        let mut system_texts: Vec<Cow<'_, str>> = system.map(Cow::Borrowed).into_iter().collect();
        for t in leading {
            system_texts.push(turn_content(&t.content, full).0);
            dropped.add("name", u64::from(t.name.is_some()));
        }
        let tool_config = nova_tool_config(c);
        dropped.add("tools", u64::from(!c.tools.is_empty() && tool_config.is_none()));
        // Messages: tool answers become toolResult blocks of a user message.
        let mut messages: Vec<(Role, Vec<Value>)> = Vec::new();
        for t in rest {
            let role = match t.role {
                Role::User | Role::Tool => Role::User,
                Role::Assistant => Role::Assistant,
                other => {
                    return self.refuse(format!(
                        "a {} turn after the first user turn, which Bedrock cannot place",
                        other.as_str()
                    ))
                }
            };
            dropped.add("name", u64::from(t.name.is_some()));
            dropped.add("weight", u64::from(t.weight.is_some()));
            let mut blocks = Vec::new();
            if let Some(reasoning) = &t.reasoning {
                blocks.push(json!({"reasoningContent": {"reasoningText": {"text": reasoning}}}));
            }
            let text = turn_content(&t.content, full).0;
            dropped
                .add("image_parts", t.parts.iter().filter(|p| p.text().is_none()).count() as u64);
            if t.role == Role::Tool {
                let Some(id) = &t.tool_call_id else {
                    return self.refuse("a tool message without tool_call_id (toolUseId)");
                };
                blocks.push(json!({"toolResult": {"toolUseId": id, "content": [{"text": text}]}}));
            } else if !text.trim().is_empty() {
                blocks.push(json!({ "text": text }));
            }
            for call in &t.tool_calls {
                let Some(id) = &call.id else {
                    return self.refuse(format!("tool call {} has no id (toolUseId)", call.name));
                };
                blocks.push(
                    json!({"toolUse": {"toolUseId": id, "name": call.name, "input": call.arguments_value()}}),
                );
            }
            match messages.last_mut() {
                Some((last, content)) if *last == role && t.role == Role::Tool => {
                    content.extend(blocks)
                }
                _ => messages.push((role, blocks)),
            }
        }
        let roles: Vec<(Role, bool)> =
            messages.iter().map(|(r, blocks)| (*r, blocks.is_empty())).collect();
        check_alternation(self.config.jsonl_flavor, &roles)?;
        line.extend_from_slice(b"{\"schemaVersion\":\"bedrock-conversation-2024\",");
        if !system_texts.is_empty() {
            line.extend_from_slice(b"\"system\":");
            let system: Vec<Value> = system_texts.iter().map(|s| json!({ "text": s })).collect();
            serde_json::to_writer(&mut *line, &system)?;
            line.push(b',');
        }
        if let Some(tool_config) = tool_config {
            line.extend_from_slice(b"\"toolConfig\":");
            serde_json::to_writer(&mut *line, &tool_config)?;
            line.push(b',');
        }
        line.extend_from_slice(b"\"messages\":[");
        for (i, (role, blocks)) in messages.iter().enumerate() {
            if i > 0 {
                line.push(b',');
            }
            line.extend_from_slice(b"{\"role\":");
            json_text::write_str(line, role.as_str());
            line.extend_from_slice(b",\"content\":");
            serde_json::to_writer(&mut *line, blocks)?;
            line.push(b'}');
        }
        line.extend_from_slice(b"]}");
        Ok(())
    }

    /// Claude on Bedrock: text messages, strictly alternating.
    fn anthropic(
        &self,
        line: &mut Vec<u8>,
        c: &Conversation,
        system: Option<&str>,
        dropped: &mut Dropped,
    ) -> Result<()> {
        let full = self.config.include_full_content;
        let (leading, rest) = split_system(&c.turns);
        if leading.len() > 1 {
            return self.refuse("more than one leading system turn");
        }
        let system =
            leading.first().map(|t| turn_content(&t.content, full).0).or(system.map(Cow::Borrowed));
        // Claude's fine-tuning on Bedrock takes text messages and no other
        // key (Anthropic's Bedrock fine-tuning guide): tool_use and
        // tool_result blocks would make the file refused, and dropping
        // them would leave a wrong example.
        if rest.iter().any(|t| !t.tool_calls.is_empty() || t.role == Role::Tool) {
            return self.refuse(
                "tool calls and tool messages: Claude fine-tuning on Bedrock takes text \
                 messages only (export them with bedrock-nova, openai or trl)",
            );
        }
        let roles: Vec<(Role, bool)> =
            rest.iter().map(|t| (t.role, t.content.trim().is_empty())).collect();
        check_alternation(self.config.jsonl_flavor, &roles)?;
        dropped.add("tools", u64::from(!c.tools.is_empty()));
        line.push(b'{');
        if let Some(system) = system {
            line.extend_from_slice(b"\"system\":");
            json_text::write_str(line, &system);
            line.push(b',');
        }
        line.extend_from_slice(b"\"messages\":[");
        for (i, t) in rest.iter().enumerate() {
            dropped.count_text_only(t);
            if i > 0 {
                line.push(b',');
            }
            line.extend_from_slice(b"{\"role\":");
            json_text::write_str(line, t.role.as_str());
            line.extend_from_slice(b",\"content\":");
            json_text::write_str(line, &turn_content(&t.content, full).0);
            line.push(b'}');
        }
        line.extend_from_slice(b"]}");
        Ok(())
    }

    /// ShareGPT as LLaMA-Factory reads it.
    fn sharegpt(
        &self,
        line: &mut Vec<u8>,
        c: &Conversation,
        system: Option<&str>,
        dropped: &mut Dropped,
    ) -> Result<()> {
        let full = self.config.include_full_content;
        check_trainable(self.config.jsonl_flavor, &c.turns)?;
        let mut items: Vec<(&'static str, Cow<'_, str>)> = Vec::with_capacity(c.turns.len() + 1);
        if let Some(system) = system {
            items.push(("system", Cow::Borrowed(system)));
        }
        let mut i = 0;
        while i < c.turns.len() {
            let t = &c.turns[i];
            if t.role == Role::Tool {
                // Consecutive tool answers make one observation (a JSON list
                // of their texts when there are several).
                let end = c.turns[i..]
                    .iter()
                    .position(|t| t.role != Role::Tool)
                    .map_or(c.turns.len(), |n| i + n);
                let answers = &c.turns[i..end];
                for a in answers {
                    dropped.count_text_only(a);
                }
                let value = match answers {
                    [one] => turn_content(&one.content, full).0,
                    many => {
                        let texts: Vec<Cow<'_, str>> =
                            many.iter().map(|a| turn_content(&a.content, full).0).collect();
                        Cow::Owned(serde_json::to_string(&texts)?)
                    }
                };
                items.push(("observation", value));
                i = end;
                continue;
            }
            if !t.tool_calls.is_empty() {
                if !t.content.trim().is_empty() {
                    return self.refuse(
                        "an assistant turn with text and tool calls, which LLaMA-Factory's \
                         function_call turn cannot hold together",
                    );
                }
                let calls: Vec<Value> = t
                    .tool_calls
                    .iter()
                    .map(|call| json!({"name": call.name, "arguments": call.arguments_value()}))
                    .collect();
                let value = match calls.as_slice() {
                    [one] => serde_json::to_string(one)?,
                    _ => serde_json::to_string(&calls)?,
                };
                dropped.add(
                    "tool_call_id",
                    t.tool_calls.iter().filter(|c| c.id.is_some()).count() as u64,
                );
                dropped.add("reasoning", u64::from(t.reasoning.is_some()));
                dropped.add("name", u64::from(t.name.is_some()));
                dropped.add("weight", u64::from(t.weight.is_some()));
                items.push(("function_call", Cow::Owned(value)));
                i += 1;
                continue;
            }
            dropped.count_text_only(t);
            items.push((sharegpt_role(t.role), turn_content(&t.content, full).0));
            i += 1;
        }
        line.extend_from_slice(b"{\"conversations\":[");
        for (i, (from, value)) in items.iter().enumerate() {
            if i > 0 {
                line.push(b',');
            }
            line.extend_from_slice(b"{\"from\":");
            json_text::write_str(line, from);
            line.extend_from_slice(b",\"value\":");
            json_text::write_str(line, value);
            line.push(b'}');
        }
        line.push(b']');
        if !c.tools.is_empty() {
            // LLaMA-Factory's tools: a JSON string of function definitions.
            let functions: Vec<&Value> = c
                .tools
                .iter()
                .map(|t| match (t.get("type").and_then(Value::as_str), t.get("function")) {
                    (Some("function"), Some(f)) => f,
                    _ => t,
                })
                .collect();
            line.extend_from_slice(b",\"tools\":");
            json_text::write_str(line, &serde_json::to_string(&functions)?);
        }
        line.push(b'}');
        Ok(())
    }
}

fn comma(line: &mut Vec<u8>, first: &mut bool) {
    if !*first {
        line.push(b',');
    }
    *first = false;
}

/// Appends `,"<key>":[…]` when there are tools.
fn write_tools(line: &mut Vec<u8>, key: &[u8], tools: &[Value]) -> Result<()> {
    if !tools.is_empty() {
        line.extend_from_slice(b",\"");
        line.extend_from_slice(key);
        line.extend_from_slice(b"\":");
        serde_json::to_writer(&mut *line, tools)?;
    }
    Ok(())
}

/// The leading system and developer turns, and the rest.
fn split_system(turns: &[ConversationTurn]) -> (&[ConversationTurn], &[ConversationTurn]) {
    let n = turns.iter().take_while(|t| matches!(t.role, Role::System | Role::Developer)).count();
    turns.split_at(n)
}

/// The configured system prompt, unless the conversation opens with its own.
fn system_prompt<'a>(config: &'a ExportConfig, c: &Conversation) -> Option<&'a str> {
    match c.turns.first() {
        Some(t) if matches!(t.role, Role::System | Role::Developer) => None,
        _ => config.system_prompt.as_deref(),
    }
}

/// The conversation's `tools` as Nova's `toolConfig`
/// (`{"tools":[{"toolSpec":{"name","description","inputSchema":{"json"}}}]}`),
/// when Nova's SFT validator accepts them: each tool an OpenAI function (or
/// a bare function definition) with a name, a non-blank description and a
/// `parameters` schema that has its `type`, no two with one name, and
/// every call of the conversation naming one of them. `None` otherwise
/// (the export reports `tools` dropped): a description or schema the input
/// lacks is never invented.
fn nova_tool_config(c: &Conversation) -> Option<Value> {
    if c.tools.is_empty() {
        return None;
    }
    let mut names = Vec::with_capacity(c.tools.len());
    let mut specs = Vec::with_capacity(c.tools.len());
    for tool in &c.tools {
        let function = match (tool.get("type").and_then(Value::as_str), tool.get("function")) {
            (Some("function"), Some(f)) => f,
            _ => tool,
        };
        let text =
            |key: &str| function.get(key).and_then(Value::as_str).filter(|s| !s.trim().is_empty());
        let (name, description) = (text("name")?, text("description")?);
        let schema = function.get("parameters").filter(|p| p.get("type").is_some())?;
        if names.contains(&name) {
            return None;
        }
        names.push(name);
        specs.push(json!({"toolSpec": {"name": name, "description": description,
            "inputSchema": {"json": schema}}}));
    }
    let calls =
        c.turns.iter().chain(c.preference.iter().flat_map(|p| p.chosen.iter().chain(&p.rejected)));
    if calls.flat_map(|t| &t.tool_calls).any(|call| !names.contains(&call.name.as_str())) {
        return None;
    }
    Some(json!({ "tools": specs }))
}

/// What a chat template renders of `c` in an export with `config`: the
/// messages as the `trl` flavor writes them (Hugging Face's message shape:
/// arguments as objects, `reasoning_content`, `{"type":"image"}` parts;
/// the configured system prompt first unless the conversation opens with
/// its own; contents cut as the export cuts them), as the JSON text of a
/// list — one per text a trainer tokenizes: the messages, or for a
/// preference record the prompt followed by the chosen continuation, then
/// the prompt followed by the rejected one.
#[cfg(feature = "tokenizers")]
pub(crate) fn hugging_face_messages(
    c: &Conversation,
    config: &ExportConfig,
) -> Result<Vec<Vec<u8>>> {
    let out = OpenAiList {
        flavor: JsonlFlavor::Trl,
        full: config.include_full_content,
        shape: Shape::of(JsonlFlavor::Trl),
    };
    let system = system_prompt(config, c);
    let (mut truncated, mut dropped) = (false, Dropped::default());
    let mut write = |continuation: &[ConversationTurn]| -> Result<Vec<u8>> {
        let mut list = Vec::new();
        out.write(
            &mut list,
            system,
            c.turns.iter().chain(continuation),
            &mut truncated,
            &mut dropped,
        )?;
        Ok(list)
    };
    match &c.preference {
        Some(p) if !p.prompt_is_messages => Ok(vec![write(&p.chosen)?, write(&p.rejected)?]),
        _ => Ok(vec![write(&[])?]),
    }
}

fn sharegpt_role(role: Role) -> &'static str {
    match role {
        Role::System | Role::Developer => "system",
        Role::User => "human",
        Role::Assistant => "gpt",
        Role::Tool => "observation",
    }
}

/// What the OpenAI-shaped and ShareGPT trainers refuse, as `validate_output`
/// reports it: an example without an assistant turn, or a blank turn (an
/// assistant turn that only calls tools is not blank).
fn check_trainable(flavor: JsonlFlavor, turns: &[ConversationTurn]) -> Result<()> {
    let refuse =
        |why: String| Err(ErrorKind::Rejected(format!("{} flavor: {why}", flavor.as_str())).into());
    if !turns.iter().any(|t| t.role == Role::Assistant) {
        return refuse(
            "no assistant turn, which trainers require (example_missing_assistant_message)".into(),
        );
    }
    let blank = |t: &ConversationTurn| {
        t.content.trim().is_empty() && t.parts.is_empty() && t.tool_calls.is_empty()
    };
    if let Some(i) = turns.iter().position(blank) {
        return refuse(format!("turn {} has empty content (missing_content)", i + 1));
    }
    Ok(())
}

/// Roles (and whether each message is blank) must start with user, end
/// with assistant and alternate.
fn check_alternation(flavor: JsonlFlavor, turns: &[(Role, bool)]) -> Result<()> {
    let refuse =
        |why: String| Err(ErrorKind::Rejected(format!("{} flavor: {why}", flavor.as_str())).into());
    match (turns.first(), turns.last()) {
        (None, _) => return refuse("no user or assistant turn".into()),
        (Some((first, _)), Some((last, _))) => {
            if *first != Role::User {
                return refuse(format!("first turn is {}, must be user", first.as_str()));
            }
            if *last != Role::Assistant {
                return refuse(format!("last turn is {}, must be assistant", last.as_str()));
            }
        }
        _ => {}
    }
    for (i, (role, blank)) in turns.iter().enumerate() {
        let expected = if i % 2 == 0 { Role::User } else { Role::Assistant };
        if *role != expected {
            return refuse(format!(
                "turn {} is {}, expected {} (roles must alternate)",
                i + 1,
                role.as_str(),
                expected.as_str()
            ));
        }
        if *blank {
            return refuse(format!("turn {} has empty content", i + 1));
        }
    }
    Ok(())
}

impl ExportTransformer for JsonlTransformer {
    fn begin(&mut self, _out: &mut dyn Write) -> Result<()> {
        Ok(())
    }

    fn write_conversation(
        &mut self,
        out: &mut dyn Write,
        conversation: &Conversation,
    ) -> Result<()> {
        let mut dropped = Dropped::default();
        self.serialize_line(conversation, &mut dropped)?;
        out.write_all(&self.line)?;
        self.dropped.merge(&dropped);
        Ok(())
    }

    fn dropped_fields(&self) -> BTreeMap<String, u64> {
        self.dropped.to_map()
    }

    fn finish(&mut self, _out: &mut dyn Write) -> Result<()> {
        Ok(())
    }

    fn file_extension(&self) -> &'static str {
        "jsonl"
    }

    fn mime_type(&self) -> &'static str {
        "application/x-ndjson"
    }

    fn wants_sidecar(&self) -> bool {
        self.config.include_metadata && self.config.jsonl_flavor != JsonlFlavor::Openai
    }

    fn write_sidecar(&mut self, sidecar: &mut dyn Write, c: &Conversation) -> Result<()> {
        let truncated = !self.config.include_full_content
            && c.turns.iter().any(|t| turn_content(&t.content, false).1);
        self.line.clear();
        serde_json::to_writer(
            &mut self.line,
            &Metadata::new(c, &self.config, truncated, self.counted_tokens),
        )?;
        self.line.push(b'\n');
        sidecar.write_all(&self.line)?;
        Ok(())
    }
}

/// Per-line metadata of the JSONL formats: the same keys with the same types
/// on every line of one export.
#[derive(Serialize)]
struct Metadata<'a> {
    conversation_id: &'a str,
    title: Option<&'a str>,
    tier: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    quality_score: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    review_history: Option<&'a [ReviewAction]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_id: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_type: Option<Option<&'a str>>,
    persona: Option<&'a str>,
    emotion: Option<&'a str>,
    topic: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_truncated: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_count: Option<Option<u64>>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    user_fields: &'a Map<String, Value>,
}

impl<'a> Metadata<'a> {
    fn new(c: &'a Conversation, config: &ExportConfig, truncated: bool, counted: bool) -> Self {
        let ts = config.include_timestamps;
        let parents = config.include_parent_references;
        Metadata {
            conversation_id: &c.conversation_id,
            title: c.title.as_deref(),
            tier: c.tier.map(|t| t.as_str()),
            quality_score: config.include_quality_scores.then_some(c.quality_score),
            created_at: ts.then(|| c.created_at.as_ref().map(|t| t.as_str())),
            updated_at: ts.then(|| c.updated_at.as_ref().map(|t| t.as_str())),
            review_history: config.include_approval_history.then_some(c.review_history.as_slice()),
            parent_id: parents.then_some(c.parent_id.as_deref()),
            parent_type: parents.then(|| c.parent_type.map(|p| p.as_str())),
            persona: c.persona.as_deref(),
            emotion: c.emotion.as_deref(),
            topic: c.topic.as_deref(),
            content_truncated: (!config.include_full_content).then_some(truncated),
            token_count: counted.then_some(c.token_count),
            user_fields: &c.user_fields,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ConversationTurn, Format, Scope};

    fn conversation(roles: &[Role]) -> Conversation {
        let turns = roles
            .iter()
            .enumerate()
            .map(|(i, r)| ConversationTurn::text(*r, format!("turn {i}")))
            .collect::<Vec<_>>();
        serde_json::from_value(serde_json::json!({
            "conversation_id": "c1", "title": "T", "status": "approved", "qualityScore": 7.5,
            "tier": "scenario", "createdAt": "2025-10-29T10:00:00Z", "updatedAt": "2025-10-29T10:00:00Z",
            "turns": turns,
        }))
        .unwrap()
    }

    fn transformer(flavor: JsonlFlavor, metadata: bool, system: Option<&str>) -> JsonlTransformer {
        let mut config = ExportConfig::new(Scope::All, Format::Jsonl);
        config.jsonl_flavor = flavor;
        config.include_metadata = metadata;
        config.system_prompt = system.map(str::to_owned);
        JsonlTransformer::new(&TransformerSettings {
            config,
            export_date: chrono::Utc::now(),
            counted_tokens: false,
        })
    }

    fn line(t: &mut JsonlTransformer, c: &Conversation) -> Result<String> {
        let mut out = Vec::new();
        t.write_conversation(&mut out, c)?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn openai_puts_the_system_prompt_first_unless_the_conversation_has_one() {
        let mut t = transformer(JsonlFlavor::Openai, false, Some("Be kind."));
        let c = conversation(&[Role::User, Role::Assistant]);
        assert_eq!(
            line(&mut t, &c).unwrap(),
            r#"{"messages":[{"role":"system","content":"Be kind."},{"role":"user","content":"turn 0"},{"role":"assistant","content":"turn 1"}]}"#.to_owned() + "\n"
        );
        let own = conversation(&[Role::System, Role::User, Role::Assistant]);
        assert!(line(&mut t, &own)
            .unwrap()
            .starts_with(r#"{"messages":[{"role":"system","content":"turn 0"}"#));
    }

    #[test]
    fn openai_metadata_has_the_same_keys_on_every_line_and_null_for_what_is_absent() {
        let mut t = transformer(JsonlFlavor::Openai, true, None);
        t.config.include_parent_references = true;
        let mut with = conversation(&[Role::User, Role::Assistant]);
        with.persona = Some("Student".into());
        with.parent_id = Some("p1".into());
        let without = conversation(&[Role::User, Role::Assistant]);
        let metadata = |s: &str| {
            let v: serde_json::Value = serde_json::from_str(s).unwrap();
            v["metadata"].as_object().unwrap().clone()
        };
        let (with, without) =
            (metadata(&line(&mut t, &with).unwrap()), metadata(&line(&mut t, &without).unwrap()));
        assert_eq!(with.keys().collect::<Vec<_>>(), without.keys().collect::<Vec<_>>());
        assert_eq!((&with["persona"], &with["parent_id"]), (&json!("Student"), &json!("p1")));
        for key in ["persona", "emotion", "topic", "parent_id", "parent_type"] {
            assert_eq!(without[key], Value::Null, "{key}: an absent field is null, never invented");
        }
    }

    #[test]
    fn bedrock_writes_tools_as_nova_tool_config_or_reports_them_dropped() {
        let record = |description: Option<&str>, called: &str| -> Conversation {
            let mut function = json!({"name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}});
            if let Some(d) = description {
                function["description"] = json!(d);
            }
            serde_json::from_value(json!({"conversation_id": "c", "tools": [{"type": "function", "function": function}],
                "messages": [{"role": "user", "content": "Paris?"},
                    {"role": "assistant", "content": null, "tool_calls": [{"id": "1", "type": "function",
                        "function": {"name": called, "arguments": "{}"}}]},
                    {"role": "tool", "tool_call_id": "1", "content": "18C"},
                    {"role": "assistant", "content": "18C."}]}))
            .unwrap()
        };
        let mut t = transformer(JsonlFlavor::BedrockNova, false, None);
        let written: Value =
            serde_json::from_str(&line(&mut t, &record(Some("Weather"), "get_weather")).unwrap())
                .unwrap();
        assert_eq!(
            written["toolConfig"],
            json!({"tools": [{"toolSpec": {"name": "get_weather", "description": "Weather",
                "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}}}}}}]})
        );
        assert!(t.dropped_fields().is_empty(), "{:?}", t.dropped_fields());
        // No description (Nova requires one: never invented), or a call of a
        // tool it does not define: written without toolConfig, reported.
        for c in [
            record(None, "get_weather"),
            record(Some(" "), "get_weather"),
            record(Some("W"), "other"),
        ] {
            let mut t = transformer(JsonlFlavor::BedrockNova, false, None);
            let written: Value = serde_json::from_str(&line(&mut t, &c).unwrap()).unwrap();
            assert!(written.get("toolConfig").is_none(), "{written}");
            assert_eq!(t.dropped_fields().get("tools"), Some(&1));
        }
    }

    #[test]
    fn anthropic_refuses_conversations_that_do_not_alternate() {
        let mut t = transformer(JsonlFlavor::Anthropic, false, None);
        for (roles, why) in [
            (&[Role::Assistant, Role::User][..], "first turn is assistant"),
            (&[Role::User, Role::Assistant, Role::User][..], "last turn is user"),
            (&[Role::User, Role::User, Role::Assistant][..], "turn 2 is user"),
            (&[Role::System][..], "no user or assistant turn"),
        ] {
            let err = line(&mut t, &conversation(roles)).unwrap_err();
            assert!(matches!(err.kind(), ErrorKind::Rejected(m) if m.contains(why)), "{err}");
        }
        let ok = line(&mut t, &conversation(&[Role::System, Role::User, Role::Assistant])).unwrap();
        assert_eq!(
            ok,
            r#"{"system":"turn 0","messages":[{"role":"user","content":"turn 1"},{"role":"assistant","content":"turn 2"}]}"#.to_owned() + "\n"
        );
    }

    #[test]
    fn sharegpt_maps_roles_and_sends_metadata_to_the_sidecar() {
        let mut t = transformer(JsonlFlavor::Sharegpt, true, Some("S"));
        assert!(t.wants_sidecar());
        let c = conversation(&[Role::User, Role::Assistant]);
        assert_eq!(
            line(&mut t, &c).unwrap(),
            r#"{"conversations":[{"from":"system","value":"S"},{"from":"human","value":"turn 0"},{"from":"gpt","value":"turn 1"}]}"#.to_owned() + "\n"
        );
        let mut sidecar = Vec::new();
        t.write_sidecar(&mut sidecar, &c).unwrap();
        let meta: serde_json::Value = serde_json::from_slice(&sidecar).unwrap();
        assert_eq!(meta["conversation_id"], "c1");
        assert!(!transformer(JsonlFlavor::Openai, true, None).wants_sidecar());
    }
}
