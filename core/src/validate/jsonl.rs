//! JSONL: one example per line, checked in the rules of its flavor.

use std::io::BufRead;

use serde_json::{Map, Value};

use super::{excerpt, next_line, Sink};
use crate::error::json_type_name;
use crate::model::JsonlFlavor;
use crate::{Location, Result};

/// OpenAI's context limit for fine-tuning examples (gpt-3.5-turbo / 4o-mini).
const TOKEN_LIMIT: u64 = 16_385;
const OPENAI_TOP_KEYS: [&str; 5] =
    ["messages", "metadata", "tools", "functions", "parallel_tool_calls"];
const OPENAI_ROLES: [&str; 5] = ["system", "user", "assistant", "tool", "function"];
const SHAREGPT_ROLES: [&str; 5] = ["system", "human", "gpt", "function_call", "observation"];

pub(super) fn validate(
    flavor: JsonlFlavor,
    mut reader: impl BufRead,
    sink: &mut Sink,
) -> Result<()> {
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    while next_line(&mut reader, &mut buf)? {
        line_no += 1;
        let mut bytes = &buf[..];
        if line_no == 1 {
            if let Some(rest) = bytes.strip_prefix("\u{FEFF}".as_bytes()) {
                sink.error(
                    Location::line(1),
                    "unexpected_bom",
                    "the file starts with a UTF-8 byte order mark, which JSONL readers refuse",
                );
                bytes = rest;
            }
        }
        let Ok(text) = std::str::from_utf8(bytes) else {
            sink.error(Location::line(line_no), "invalid_utf8", "the line is not valid UTF-8");
            continue;
        };
        if text.trim().is_empty() {
            sink.warning(Location::line(line_no), "blank_line", "blank line between examples");
            continue;
        }
        sink.record();
        let at = |field: &str| Location::line(line_no).with_field(field);
        let value: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                let msg = format!("not valid JSON at column {}: {}", e.column(), reason(&e));
                sink.error(Location::line(line_no), "invalid_json", msg);
                continue;
            }
        };
        let Value::Object(example) = value else {
            sink.error(
                Location::line(line_no),
                "not_an_object",
                "an example must be a JSON object",
            );
            continue;
        };
        match flavor {
            JsonlFlavor::Openai => openai(&example, &at, sink),
            JsonlFlavor::OpenaiDpo => openai_dpo(&example, &at, sink),
            JsonlFlavor::Trl | JsonlFlavor::Together | JsonlFlavor::Fireworks => {
                chat_or_pair(flavor, &example, &at, sink)
            }
            JsonlFlavor::BedrockNova => bedrock(&example, &at, sink),
            JsonlFlavor::Anthropic => anthropic(&example, &at, sink),
            JsonlFlavor::Sharegpt => sharegpt(&example, &at, sink),
        }
    }
    if sink.report.records == 0 {
        sink.error(Location::default(), "no_examples", "the file holds no example");
    }
    Ok(())
}

/// The non-empty array under `key`, or a `missing_messages_list` error.
fn message_list<'a>(
    example: &'a Map<String, Value>,
    key: &str,
    at: &dyn Fn(&str) -> Location,
    sink: &mut Sink,
) -> Option<&'a Vec<Value>> {
    match example.get(key) {
        Some(Value::Array(items)) if !items.is_empty() => Some(items),
        Some(Value::Array(_)) => {
            sink.error(at(key), "missing_messages_list", format!("`{key}` is empty"));
            None
        }
        Some(_) => {
            sink.error(at(key), "missing_messages_list", format!("`{key}` must be an array"));
            None
        }
        None => {
            sink.error(at(key), "missing_messages_list", format!("no `{key}` array"));
            None
        }
    }
}

/// Reports a missing, null, non-string or blank text value at `field`.
fn check_text(value: Option<&Value>, field: &str, at: &dyn Fn(&str) -> Location, sink: &mut Sink) {
    match value {
        None => sink.error(at(field), "message_missing_key", "no content"),
        Some(Value::String(s)) if s.trim().is_empty() => {
            sink.error(at(field), "missing_content", "content is empty")
        }
        Some(Value::String(_)) => {}
        Some(other) => sink.error(
            at(field),
            "missing_content",
            format!("content must be a string, found {}", json_type_name(other)),
        ),
    }
}

/// What an OpenAI-shaped flavor's messages may hold (the exporter's
/// `Shape`, read from the other side).
#[derive(Clone, Copy)]
struct Rules {
    flavor: JsonlFlavor,
    roles: &'static [&'static str],
    /// Message keys beyond role and content.
    keys: &'static [&'static str],
    /// Hugging Face's shapes: arguments as objects, `{"type":"image"}` parts.
    hugging_face: bool,
    /// Tool calls and tool messages need their ids.
    ids: bool,
}

const OPENAI_STYLE_KEYS: [&str; 6] =
    ["name", "weight", "function_call", "tool_calls", "tool_call_id", "refusal"];

impl Rules {
    fn of(flavor: JsonlFlavor) -> Rules {
        const CHAT: &[&str] = &["system", "user", "assistant", "tool"];
        let openai = Rules {
            flavor,
            roles: &OPENAI_ROLES,
            keys: &OPENAI_STYLE_KEYS,
            hugging_face: false,
            ids: false,
        };
        match flavor {
            JsonlFlavor::Trl => Rules {
                roles: &["system", "developer", "user", "assistant", "tool"],
                keys: &["name", "tool_calls", "tool_call_id", "reasoning_content"],
                hugging_face: true,
                ..openai
            },
            JsonlFlavor::Together => Rules {
                roles: CHAT,
                keys: &["name", "weight", "tool_calls", "tool_call_id", "reasoning"],
                ..openai
            },
            JsonlFlavor::Fireworks => Rules {
                roles: CHAT,
                keys: &["name", "weight", "tool_calls", "tool_call_id", "reasoning_content"],
                ..openai
            },
            _ => openai,
        }
    }
}

fn openai(example: &Map<String, Value>, at: &dyn Fn(&str) -> Location, sink: &mut Sink) {
    for key in example.keys().filter(|k| !OPENAI_TOP_KEYS.contains(&k.as_str())) {
        sink.error(at(key), "unknown_key", format!("`{key}` is not an OpenAI fine-tuning key"));
    }
    if let Some(m) = example.get("metadata").filter(|m| !m.is_object()) {
        sink.error(at("metadata"), "invalid_type", format!("metadata is {}", json_type_name(m)));
    }
    check_tools(example.get("tools"), "tools", at, sink);
    let rules = Rules::of(JsonlFlavor::Openai);
    let Some(messages) = message_list(example, "messages", at, sink) else { return };
    chat_messages(messages, "messages", rules, true, at, sink);
}

/// `trl`, `together`, `fireworks`: messages, or a preference record.
fn chat_or_pair(
    flavor: JsonlFlavor,
    example: &Map<String, Value>,
    at: &dyn Fn(&str) -> Location,
    sink: &mut Sink,
) {
    let rules = Rules::of(flavor);
    let pair = match flavor {
        JsonlFlavor::Trl => ["prompt", "chosen", "rejected"],
        _ => ["input", "preferred_output", "non_preferred_output"],
    };
    if !example.contains_key("messages") && pair.iter().any(|k| example.contains_key(*k)) {
        if flavor == JsonlFlavor::Trl {
            trl_pair(example, rules, at, sink);
        } else {
            openai_pair(example, rules, at, sink);
        }
        return;
    }
    for key in example.keys().filter(|k| *k != "messages" && *k != "tools") {
        let msg = format!("`{key}` is not a key of the {} flavor", flavor.as_str());
        sink.error(at(key), "unknown_key", msg);
    }
    check_tools(example.get("tools"), "tools", at, sink);
    let Some(messages) = message_list(example, "messages", at, sink) else { return };
    chat_messages(messages, "messages", rules, true, at, sink);
}

fn trl_pair(
    example: &Map<String, Value>,
    rules: Rules,
    at: &dyn Fn(&str) -> Location,
    sink: &mut Sink,
) {
    for key in
        example.keys().filter(|k| !["prompt", "chosen", "rejected", "tools"].contains(&k.as_str()))
    {
        sink.error(at(key), "unknown_key", format!("`{key}` is not a TRL preference key"));
    }
    check_tools(example.get("tools"), "tools", at, sink);
    for key in ["prompt", "chosen", "rejected"] {
        if let Some(messages) = message_list(example, key, at, sink) {
            chat_messages(messages, key, rules, false, at, sink);
        }
    }
}

fn openai_dpo(example: &Map<String, Value>, at: &dyn Fn(&str) -> Location, sink: &mut Sink) {
    openai_pair(example, Rules::of(JsonlFlavor::OpenaiDpo), at, sink)
}

fn openai_pair(
    example: &Map<String, Value>,
    rules: Rules,
    at: &dyn Fn(&str) -> Location,
    sink: &mut Sink,
) {
    let keys = ["input", "preferred_output", "non_preferred_output"];
    for key in example.keys().filter(|k| !keys.contains(&k.as_str())) {
        sink.error(at(key), "unknown_key", format!("`{key}` is not a preference key"));
    }
    let rules = Rules { keys: &["name", "tool_calls", "tool_call_id"], ..rules };
    match example.get("input") {
        Some(Value::Object(input)) => {
            for key in input.keys().filter(|k| *k != "messages" && *k != "tools") {
                sink.error(
                    at(&format!("input.{key}")),
                    "unknown_key",
                    format!("`{key}` is not an input key"),
                );
            }
            check_tools(input.get("tools"), "input.tools", at, sink);
            let at_input = |field: &str| at(&format!("input.{field}"));
            if let Some(messages) = message_list(input, "messages", &at_input, sink) {
                chat_messages(messages, "input.messages", rules, false, at, sink);
            }
        }
        _ => sink.error(at("input"), "missing_messages_list", "no `input` object"),
    }
    for key in ["preferred_output", "non_preferred_output"] {
        let Some(messages) = message_list(example, key, at, sink) else { continue };
        if messages.len() != 1
            || messages[0].get("role").and_then(Value::as_str) != Some("assistant")
        {
            sink.error(at(key), "invalid_output", format!("`{key}` must be one assistant message"));
        }
        chat_messages(messages, key, rules, false, at, sink);
    }
}

/// Checks `tools`: absent, or a list of objects.
fn check_tools(tools: Option<&Value>, field: &str, at: &dyn Fn(&str) -> Location, sink: &mut Sink) {
    match tools {
        None => {}
        Some(Value::Array(items)) => {
            if let Some(i) = items.iter().position(|t| !t.is_object()) {
                let msg = "a tool must be an object (a function definition)";
                sink.error(at(&format!("{field}[{i}]")), "invalid_tool", msg);
            }
        }
        Some(other) => sink.error(
            at(field),
            "invalid_tool",
            format!("tools must be a list, found {}", json_type_name(other)),
        ),
    }
}

/// Checks OpenAI-shaped messages under `list` (`messages`,
/// `input.messages`, …). `whole` says the list is a whole example (it needs
/// an assistant message and is measured against the token limit).
fn chat_messages(
    messages: &[Value],
    list: &str,
    rules: Rules,
    whole: bool,
    at: &dyn Fn(&str) -> Location,
    sink: &mut Sink,
) {
    let mut chars = 0u64;
    let mut has_assistant = false;
    for (i, message) in messages.iter().enumerate() {
        let path = |key: &str| format!("{list}[{i}].{key}");
        let Value::Object(m) = message else {
            let msg = format!("a message must be an object, found {}", json_type_name(message));
            sink.error(at(&format!("{list}[{i}]")), "message_not_object", msg);
            continue;
        };
        for key in m
            .keys()
            .filter(|k| *k != "role" && *k != "content" && !rules.keys.contains(&k.as_str()))
        {
            let msg = format!("`{key}` is not a recognised message key");
            sink.error(at(&path(key)), "message_unrecognized_key", msg);
        }
        let role = match m.get("role") {
            None => {
                sink.error(at(&path("role")), "message_missing_key", "no role");
                ""
            }
            Some(Value::String(r)) if rules.roles.contains(&r.as_str()) => r.as_str(),
            Some(r) => {
                let msg = format!("role {} is not {}", short(r), rules.roles.join(", "));
                sink.error(at(&path("role")), "unrecognized_role", msg);
                ""
            }
        };
        has_assistant |= role == "assistant";
        let calls = m.contains_key("tool_calls") || m.contains_key("function_call");
        match m.get("content") {
            None | Some(Value::Null) if calls => {}
            Some(Value::Array(parts)) => check_parts(parts, &path("content"), rules, at, sink),
            content => check_text(content, &path("content"), at, sink),
        }
        if let Some(Value::String(s)) = m.get("content") {
            chars += s.chars().count() as u64;
        }
        if let Some(calls) = m.get("tool_calls") {
            check_tool_calls(calls, &path("tool_calls"), rules, at, sink);
        }
        if role == "tool" && rules.ids && !m.get("tool_call_id").is_some_and(Value::is_string) {
            sink.error(
                at(&path("tool_call_id")),
                "message_missing_key",
                "a tool message needs its tool_call_id",
            );
        }
        for key in ["name", "tool_call_id", "reasoning", "reasoning_content"] {
            if let Some(v) = m.get(key).filter(|v| !v.is_string()) {
                let msg = format!("{key} must be a string, found {}", json_type_name(v));
                sink.error(at(&path(key)), "invalid_type", msg);
            }
        }
        match m.get("weight") {
            None => {}
            Some(w) if w.as_u64() == Some(0) || w.as_u64() == Some(1) => {}
            Some(w) => sink.error(
                at(&path("weight")),
                "invalid_weight",
                format!("weight must be 0 or 1, found {}", short(w)),
            ),
        }
    }
    if !whole {
        return;
    }
    if !has_assistant {
        sink.error(
            at(list),
            "example_missing_assistant_message",
            "an example needs at least one assistant message",
        );
    }
    // The estimate of the module docs: ⌈characters / 4⌉ + 4 per message.
    let tokens = chars.div_ceil(4) + 4 * messages.len() as u64;
    if tokens > TOKEN_LIMIT && rules.flavor == JsonlFlavor::Openai {
        let msg = format!(
            "about {tokens} tokens (estimated), over the {TOKEN_LIMIT}-token limit: \
             the example will be truncated"
        );
        sink.warning(at(list), "too_many_tokens", msg);
    }
}

fn check_parts(
    parts: &[Value],
    field: &str,
    rules: Rules,
    at: &dyn Fn(&str) -> Location,
    sink: &mut Sink,
) {
    if parts.is_empty() {
        sink.error(at(field), "missing_content", "content is an empty list");
    }
    for (i, part) in parts.iter().enumerate() {
        let here = format!("{field}[{i}]");
        let ok = match (part.get("type").and_then(Value::as_str), rules.hugging_face) {
            (Some("text"), _) => part.get("text").is_some_and(Value::is_string),
            (Some("image_url"), false) => {
                part.pointer("/image_url/url").is_some_and(Value::is_string)
            }
            (Some("image"), true) => part.get("url").map_or(true, Value::is_string),
            _ => false,
        };
        if !ok {
            let kinds = if rules.hugging_face { "text or image" } else { "text or image_url" };
            sink.error(
                at(&here),
                "invalid_content_part",
                format!("a content part must be a well-formed {kinds} part"),
            );
        }
    }
}

fn check_tool_calls(
    calls: &Value,
    field: &str,
    rules: Rules,
    at: &dyn Fn(&str) -> Location,
    sink: &mut Sink,
) {
    let Value::Array(calls) = calls else {
        sink.error(at(field), "invalid_tool_call", "tool_calls must be a list");
        return;
    };
    for (i, call) in calls.iter().enumerate() {
        let here = |key: &str| at(&format!("{field}[{i}]{key}"));
        if rules.ids && !call.get("id").is_some_and(Value::is_string) {
            sink.error(here(".id"), "invalid_tool_call", "a tool call needs its id");
        }
        if call.get("type").and_then(Value::as_str) != Some("function") {
            sink.error(here(".type"), "invalid_tool_call", "a tool call's type must be `function`");
        }
        if !call.pointer("/function/name").is_some_and(Value::is_string) {
            sink.error(
                here(".function.name"),
                "invalid_tool_call",
                "a tool call needs a function name",
            );
        }
        match (call.pointer("/function/arguments"), rules.hugging_face) {
            (Some(Value::Object(_)), true) => {}
            (Some(Value::String(text)), false)
                if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() => {}
            _ => {
                let want = if rules.hugging_face { "an object" } else { "a string of valid JSON" };
                sink.error(
                    here(".function.arguments"),
                    "invalid_tool_call",
                    format!("a tool call's arguments must be {want}"),
                );
            }
        }
    }
}

/// Bedrock's conversation schema (Nova).
fn bedrock(example: &Map<String, Value>, at: &dyn Fn(&str) -> Location, sink: &mut Sink) {
    for key in example
        .keys()
        .filter(|k| !["schemaVersion", "system", "toolConfig", "messages"].contains(&k.as_str()))
    {
        sink.error(at(key), "unknown_key", format!("`{key}` is not a Bedrock conversation key"));
    }
    if example.get("schemaVersion").and_then(Value::as_str) != Some("bedrock-conversation-2024") {
        sink.error(
            at("schemaVersion"),
            "invalid_schema_version",
            "schemaVersion must be `bedrock-conversation-2024`",
        );
    }
    match example.get("system") {
        None => {}
        Some(Value::Array(blocks))
            if blocks.iter().all(|b| {
                b.as_object()
                    .is_some_and(|o| o.len() == 1 && o.get("text").is_some_and(Value::is_string))
            }) => {}
        Some(_) => {
            sink.error(at("system"), "invalid_system", "system must be a list of {\"text\"} blocks")
        }
    }
    let tools = example.get("toolConfig").and_then(|config| nova_tool_config(config, at, sink));
    let Some(messages) = message_list(example, "messages", at, sink) else { return };
    if let Some(tools) = tools {
        nova_tool_uses(messages, &tools, at, sink);
    }
    let mut previous: Option<&str> = None;
    for (i, message) in messages.iter().enumerate() {
        let path = |key: &str| format!("messages[{i}].{key}");
        let role = match message.get("role").and_then(Value::as_str) {
            Some(r @ ("user" | "assistant")) => r,
            _ => {
                sink.error(
                    at(&path("role")),
                    "unrecognized_role",
                    "role must be user or assistant",
                );
                previous = None;
                continue;
            }
        };
        if let Some(o) = message.as_object() {
            for key in o.keys().filter(|k| *k != "role" && *k != "content") {
                sink.error(
                    at(&path(key)),
                    "message_unrecognized_key",
                    format!("`{key}` is not allowed in a message"),
                );
            }
        }
        if (i == 0 && role != "user")
            || previous == Some(role)
            || (i + 1 == messages.len() && role != "assistant")
        {
            sink.error(
                at(&path("role")),
                "roles_not_alternating",
                "messages must alternate user/assistant, from user to assistant",
            );
        }
        previous = Some(role);
        let allowed: &[&str] = if role == "user" {
            &["text", "toolResult"]
        } else {
            &["text", "reasoningContent", "toolUse"]
        };
        match message.get("content") {
            Some(Value::Array(blocks)) if !blocks.is_empty() => {
                for (j, block) in blocks.iter().enumerate() {
                    let ok = block.as_object().is_some_and(|o| {
                        o.len() == 1
                            && o.iter()
                                .all(|(k, v)| allowed.contains(&k.as_str()) && bedrock_block(k, v))
                    });
                    if !ok {
                        let msg =
                            format!("a {role} content block must be one of {}", allowed.join(", "));
                        sink.error(
                            at(&format!("messages[{i}].content[{j}]")),
                            "invalid_content_block",
                            msg,
                        );
                    }
                }
            }
            _ => sink.error(
                at(&path("content")),
                "missing_content",
                "content must be a non-empty list of blocks",
            ),
        }
    }
}

/// Checks Nova's `toolConfig` (`{"tools":[{"toolSpec":{"name",
/// "description","inputSchema":{"json":{"type",…}}}}]}`, as Nova's SFT
/// validator requires it) and returns the tools' names, none when it
/// holds no list of tools.
fn nova_tool_config<'a>(
    config: &'a Value,
    at: &dyn Fn(&str) -> Location,
    sink: &mut Sink,
) -> Option<Vec<&'a str>> {
    let Some(tools) = config.get("tools").and_then(Value::as_array).filter(|t| !t.is_empty())
    else {
        sink.error(
            at("toolConfig"),
            "invalid_tool",
            "toolConfig must hold a non-empty `tools` list",
        );
        return None;
    };
    if let Some(key) = config.as_object().and_then(|o| o.keys().find(|k| *k != "tools")) {
        let msg = format!("`{key}` is not a toolConfig key of Nova's training data");
        sink.error(at(&format!("toolConfig.{key}")), "unknown_key", msg);
    }
    let mut names = Vec::new();
    for (i, tool) in tools.iter().enumerate() {
        let spec = tool.get("toolSpec");
        let text = |key: &str| {
            spec.and_then(|s| s.get(key)).and_then(Value::as_str).filter(|s| !s.trim().is_empty())
        };
        let schema = spec.and_then(|s| s.pointer("/inputSchema/json"));
        let keys_ok = tool.as_object().is_some_and(|o| o.len() == 1);
        let schema_ok = schema.is_some_and(|s| s.is_object() && s.get("type").is_some());
        if !(keys_ok && schema_ok && text("name").is_some() && text("description").is_some()) {
            sink.error(
                at(&format!("toolConfig.tools[{i}]")),
                "invalid_tool",
                "a tool must be {\"toolSpec\":{\"name\",\"description\",\"inputSchema\":{\"json\":{\"type\",…}}}} \
                 with a name and a description",
            );
        }
        if let Some(name) = text("name") {
            if names.contains(&name) {
                let msg = format!("two tools are named `{}`", excerpt(name));
                sink.error(at(&format!("toolConfig.tools[{i}]")), "invalid_tool", msg);
            }
            names.push(name);
        }
    }
    Some(names)
}

/// With a `toolConfig`, each `toolUse` must name one of its tools.
fn nova_tool_uses(
    messages: &[Value],
    tools: &[&str],
    at: &dyn Fn(&str) -> Location,
    sink: &mut Sink,
) {
    for (i, message) in messages.iter().enumerate() {
        let blocks = message.get("content").and_then(Value::as_array).into_iter().flatten();
        for (j, block) in blocks.enumerate() {
            let Some(name) = block.pointer("/toolUse/name").and_then(Value::as_str) else {
                continue;
            };
            if !tools.contains(&name) {
                let msg =
                    format!("toolUse names `{}`, which toolConfig does not define", excerpt(name));
                sink.error(
                    at(&format!("messages[{i}].content[{j}].toolUse.name")),
                    "invalid_tool_call",
                    msg,
                );
            }
        }
    }
}

fn bedrock_block(kind: &str, v: &Value) -> bool {
    let text = |p: &str| v.pointer(p).and_then(Value::as_str).is_some_and(|s| !s.trim().is_empty());
    match kind {
        "text" => v.as_str().is_some_and(|s| !s.trim().is_empty()),
        "reasoningContent" => text("/reasoningText/text"),
        "toolUse" => {
            text("/toolUseId") && text("/name") && v.get("input").is_some_and(Value::is_object)
        }
        "toolResult" => text("/toolUseId") && v.get("content").is_some_and(Value::is_array),
        _ => false,
    }
}

fn anthropic(example: &Map<String, Value>, at: &dyn Fn(&str) -> Location, sink: &mut Sink) {
    for key in example.keys().filter(|k| *k != "system" && *k != "messages") {
        let msg = format!("`{key}` is not allowed: only `system` and `messages`");
        sink.error(at(key), "unknown_key", msg);
    }
    if let Some(s) = example.get("system").filter(|s| !s.is_string()) {
        sink.error(
            at("system"),
            "invalid_system",
            format!("system must be a string, found {}", json_type_name(s)),
        );
    }
    let Some(messages) = message_list(example, "messages", at, sink) else { return };
    let mut previous: Option<&str> = None;
    for (i, message) in messages.iter().enumerate() {
        let path = |key: &str| format!("messages[{i}].{key}");
        let Value::Object(m) = message else {
            let msg = format!("a message must be an object, found {}", json_type_name(message));
            sink.error(at(&format!("messages[{i}]")), "message_not_object", msg);
            previous = None;
            continue;
        };
        for key in m.keys().filter(|k| *k != "role" && *k != "content") {
            let msg = format!("`{key}` is not allowed: a message has only `role` and `content`");
            sink.error(at(&path(key)), "message_unrecognized_key", msg);
        }
        check_text(m.get("content"), &path("content"), at, sink);
        let role = match m.get("role") {
            Some(Value::String(r)) if r == "user" || r == "assistant" => r.as_str(),
            None => {
                sink.error(at(&path("role")), "message_missing_key", "no role");
                previous = None;
                continue;
            }
            Some(r) => {
                let msg = format!("role {} is not user or assistant", short(r));
                sink.error(at(&path("role")), "unrecognized_role", msg);
                previous = None;
                continue;
            }
        };
        if i == 0 && role != "user" {
            sink.error(
                at(&path("role")),
                "first_not_user",
                "the first message must be from the user",
            );
        }
        if previous == Some(role) {
            let msg = format!("two {role} messages in a row: roles must alternate");
            sink.error(at(&path("role")), "roles_not_alternating", msg);
        }
        if i + 1 == messages.len() && role != "assistant" {
            let msg = "the last message must be from the assistant";
            sink.error(at(&path("role")), "last_not_assistant", msg);
        }
        previous = Some(role);
    }
}

fn sharegpt(example: &Map<String, Value>, at: &dyn Fn(&str) -> Location, sink: &mut Sink) {
    for key in example.keys().filter(|k| *k != "conversations" && *k != "tools") {
        sink.warning(at(key), "unknown_key", format!("`{key}` is not a ShareGPT key"));
    }
    match example.get("tools") {
        None => {}
        Some(Value::String(text))
            if serde_json::from_str::<Value>(text).is_ok_and(|v| v.is_array()) => {}
        Some(_) => {
            let msg = "tools must be a string holding a JSON list (LLaMA-Factory)";
            sink.error(at("tools"), "invalid_tool", msg);
        }
    }
    let Some(turns) = message_list(example, "conversations", at, sink) else { return };
    let mut has_gpt = false;
    for (i, turn) in turns.iter().enumerate() {
        let path = |key: &str| format!("conversations[{i}].{key}");
        let Value::Object(t) = turn else {
            let msg = format!("a turn must be an object, found {}", json_type_name(turn));
            sink.error(at(&format!("conversations[{i}]")), "message_not_object", msg);
            continue;
        };
        for key in t.keys().filter(|k| *k != "from" && *k != "value") {
            let msg = format!("`{key}` is not a ShareGPT turn key");
            sink.warning(at(&path(key)), "message_unrecognized_key", msg);
        }
        match t.get("from") {
            Some(Value::String(f)) if SHAREGPT_ROLES.contains(&f.as_str()) => {
                has_gpt |= f == "gpt" || f == "function_call";
                if f == "function_call" {
                    let call =
                        t.get("value").and_then(Value::as_str).map(serde_json::from_str::<Value>);
                    if !matches!(call, Some(Ok(Value::Object(_) | Value::Array(_)))) {
                        let msg = "a function_call value must be a JSON object or list";
                        sink.error(at(&path("value")), "invalid_tool_call", msg);
                    }
                }
            }
            None => sink.error(at(&path("from")), "message_missing_key", "no `from`"),
            Some(f) => {
                let msg = format!("from {} is not {}", short(f), SHAREGPT_ROLES.join(", "));
                sink.error(at(&path("from")), "unrecognized_role", msg);
            }
        }
        check_text(t.get("value"), &path("value"), at, sink);
    }
    if !has_gpt {
        let msg = "an example needs at least one gpt turn";
        sink.error(at("conversations"), "example_missing_assistant_message", msg);
    }
}

/// A serde_json error's explanation without its ` at line L column C`.
pub(super) fn reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}

/// A short rendering of `v` for messages.
pub(super) fn short(v: &Value) -> String {
    match v {
        Value::String(s) => format!("`{}`", excerpt(s)),
        other => json_type_name(other).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ExportConfig, ExportRequest, Format, Scope};
    use crate::source::JsonlSource;
    use crate::validate::{validate_output, ValidationReport};
    use crate::ExportBuilder;

    fn check(flavor: JsonlFlavor, text: &str) -> ValidationReport {
        validate_output(Format::Jsonl, flavor, text.as_bytes()).unwrap()
    }

    /// The single error of `text`: its code and location.
    fn only_error(flavor: JsonlFlavor, text: &str) -> (String, String) {
        let r = check(flavor, text);
        assert_eq!(r.errors.len(), 1, "{:#?}", r.errors);
        (r.errors[0].code.clone(), r.errors[0].location.to_string())
    }

    const INPUT: &str = r#"{"conversation_id":"c1","title":"Greeting, \"quoted\"","status":"approved","qualityScore":9,"tier":"template","persona":"Anxious Investor","createdAt":"2025-10-29T10:00:00Z","updatedAt":"2025-10-29T10:00:00Z","turns":[{"role":"user","content":"Hi\nthere ≠ 1"},{"role":"assistant","content":"Hello!"},{"role":"user","content":"More?"},{"role":"assistant","content":"Sure."}]}
{"conversation_id":"c2","title":"Second","status":"approved","qualityScore":7.5,"tier":"edge_case","createdAt":"2025-10-29T10:00:00Z","updatedAt":"2025-10-29T10:00:00Z","turns":[{"role":"system","content":"Be brief."},{"role":"user","content":"=1+1"},{"role":"assistant","content":"2"}]}
"#;

    fn export(flavor: JsonlFlavor, system_prompt: Option<&str>) -> String {
        let mut config = ExportConfig::new(Scope::All, Format::Jsonl);
        config.jsonl_flavor = flavor;
        config.system_prompt = system_prompt.map(str::to_owned);
        config.include_approval_history = true;
        config.include_parent_references = true;
        let mut out = Vec::new();
        let summary = ExportBuilder::new(ExportRequest::new(config))
            .export(JsonlSource::new(INPUT.as_bytes()), &mut out)
            .unwrap();
        assert_eq!(summary.conversations, 2, "{:?}", summary.skipped);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn exports_of_every_flavor_are_valid() {
        for flavor in [JsonlFlavor::Openai, JsonlFlavor::Anthropic, JsonlFlavor::Sharegpt] {
            for prompt in [None, Some("You are kind.")] {
                let r = check(flavor, &export(flavor, prompt));
                assert!(r.is_valid(), "{flavor:?}: {:#?}", r.errors);
                assert!(r.warnings.is_empty(), "{flavor:?}: {:#?}", r.warnings);
                assert_eq!(r.records, 2);
            }
        }
    }

    #[test]
    fn openai_tool_calls_without_content_are_valid() {
        let line = r#"{"messages":[{"role":"user","content":"Weather?"},{"role":"assistant","tool_calls":[{"id":"1","type":"function","function":{"name":"w","arguments":"{}"}}]},{"role":"tool","tool_call_id":"1","content":"sunny"},{"role":"assistant","content":"Sunny.","weight":1}],"tools":[]}"#;
        assert!(check(JsonlFlavor::Openai, line).is_valid());
    }

    #[test]
    fn empty_file_has_no_examples() {
        assert_eq!(
            only_error(JsonlFlavor::Openai, ""),
            ("no_examples".into(), "start of input".into())
        );
    }

    #[test]
    fn blank_lines_are_warnings() {
        let ok =
            r#"{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]}"#;
        let r = check(JsonlFlavor::Openai, &format!("{ok}\n\n{ok}\n"));
        assert!(r.is_valid());
        assert_eq!(r.records, 2);
        assert_eq!(r.warnings[0].code, "blank_line");
        assert_eq!(r.warnings[0].location, Location::line(2));
    }

    #[test]
    fn syntax_errors_bom_and_non_objects() {
        let ok =
            r#"{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]}"#;
        let mut text = format!("{ok}\n{{\"messages\": [\n[1]\n").into_bytes();
        text.extend_from_slice(b"\xFF{}\n");
        let r = validate_output(Format::Jsonl, JsonlFlavor::Openai, &text[..]).unwrap();
        let got: Vec<_> = r.errors.iter().map(|f| (f.code.as_str(), f.location.line)).collect();
        assert_eq!(
            got,
            [("invalid_json", Some(2)), ("not_an_object", Some(3)), ("invalid_utf8", Some(4))]
        );
        assert_eq!(r.errors[0].message, "not valid JSON at column 14: EOF while parsing a list");
        let (code, at) = only_error(JsonlFlavor::Openai, &format!("\u{FEFF}{ok}"));
        assert_eq!((code.as_str(), at.as_str()), ("unexpected_bom", "line 1"));
    }

    #[test]
    fn openai_negative_cases() {
        use JsonlFlavor::Openai;
        let ok_user = r#"{"role":"user","content":"Hi"}"#;
        let ok_asst = r#"{"role":"assistant","content":"Hello"}"#;
        let line = |messages: &str, extra: &str| format!(r#"{{"messages":[{messages}]{extra}}}"#);
        let cases = [
            (
                line(&format!("{ok_user},{ok_asst}"), r#","id":"x""#),
                "unknown_key",
                "line 1, field id",
            ),
            (
                line(&format!("{ok_user},{ok_asst}"), r#","metadata":[]"#),
                "invalid_type",
                "line 1, field metadata",
            ),
            ("{}".into(), "missing_messages_list", "line 1, field messages"),
            (r#"{"messages":[]}"#.into(), "missing_messages_list", "line 1, field messages"),
            (r#"{"messages":"hi"}"#.into(), "missing_messages_list", "line 1, field messages"),
            (
                line(&format!("{ok_user},\"text\",{ok_asst}"), ""),
                "message_not_object",
                "line 1, field messages[1]",
            ),
            (
                line(&format!(r#"{ok_user},{{"role":"assistant","content":"x","mood":1}}"#), ""),
                "message_unrecognized_key",
                "line 1, field messages[1].mood",
            ),
            (
                line(&format!(r#"{{"content":"Hi"}},{ok_asst}"#), ""),
                "message_missing_key",
                "line 1, field messages[0].role",
            ),
            (
                line(&format!(r#"{{"role":"bot","content":"Hi"}},{ok_asst}"#), ""),
                "unrecognized_role",
                "line 1, field messages[0].role",
            ),
            (
                line(&format!(r#"{ok_user},{ok_asst},{ok_user},{{"role":"assistant"}}"#), ""),
                "message_missing_key",
                "line 1, field messages[3].content",
            ),
            (
                line(
                    &format!(r#"{ok_user},{ok_asst},{{"role":"user","content":null}},{ok_asst}"#),
                    "",
                ),
                "missing_content",
                "line 1, field messages[2].content",
            ),
            (
                line(
                    &format!(r#"{ok_user},{ok_asst},{{"role":"user","content":" \n"}},{ok_asst}"#),
                    "",
                ),
                "missing_content",
                "line 1, field messages[2].content",
            ),
            (
                line(
                    &format!(r#"{ok_user},{{"role":"assistant","content":[{{"type":"text"}}]}}"#),
                    "",
                ),
                "invalid_content_part",
                "line 1, field messages[1].content[0]",
            ),
            (
                line(
                    &format!(r#"{ok_user},{{"role":"assistant","content":"x","weight":0.5}}"#),
                    "",
                ),
                "invalid_weight",
                "line 1, field messages[1].weight",
            ),
            (
                line(&format!("{ok_user},{ok_user}"), ""),
                "example_missing_assistant_message",
                "line 1, field messages",
            ),
        ];
        for (text, code, at) in cases {
            assert_eq!(only_error(Openai, &text), (code.to_owned(), at.to_owned()), "{text}");
        }
    }

    #[test]
    fn openai_token_estimate_warns_over_the_limit() {
        // 2 messages: 4 × 2 + ⌈chars / 4⌉. 65,509 chars → 16,378 + 8 = 16,386 > 16,385.
        let line = |n: usize| {
            let long = "a".repeat(n);
            format!(
                r#"{{"messages":[{{"role":"user","content":"{long}"}},{{"role":"assistant","content":"b"}}]}}"#
            )
        };
        let r = check(JsonlFlavor::Openai, &line(65_508));
        assert!(r.is_valid());
        assert_eq!(r.warnings.len(), 1);
        assert_eq!(r.warnings[0].code, "too_many_tokens");
        assert_eq!(r.warnings[0].location, Location::line(1).with_field("messages"));
        assert!(r.warnings[0].message.contains("16386"), "{}", r.warnings[0].message);
        // One character fewer is exactly at the limit.
        assert!(check(JsonlFlavor::Openai, &line(65_507)).warnings.is_empty());
    }

    #[test]
    fn anthropic_negative_cases() {
        use JsonlFlavor::Anthropic;
        let u = r#"{"role":"user","content":"Hi"}"#;
        let a = r#"{"role":"assistant","content":"Hello"}"#;
        let cases = [
            (
                format!(r#"{{"messages":[{u},{a}],"metadata":{{}}}}"#),
                "unknown_key",
                "line 1, field metadata",
            ),
            (
                format!(r#"{{"system":7,"messages":[{u},{a}]}}"#),
                "invalid_system",
                "line 1, field system",
            ),
            (r#"{"system":"s"}"#.to_owned(), "missing_messages_list", "line 1, field messages"),
            (
                format!(r#"{{"messages":[{u},{{"role":"assistant","content":"x","weight":1}}]}}"#),
                "message_unrecognized_key",
                "line 1, field messages[1].weight",
            ),
            (
                format!(r#"{{"messages":[{u},{{"role":"system","content":"x"}},{u},{a}]}}"#),
                "unrecognized_role",
                "line 1, field messages[1].role",
            ),
            (
                format!(r#"{{"messages":[{a},{u},{a}]}}"#),
                "first_not_user",
                "line 1, field messages[0].role",
            ),
            (
                format!(r#"{{"messages":[{u},{a},{a}]}}"#),
                "roles_not_alternating",
                "line 1, field messages[2].role",
            ),
            (
                format!(r#"{{"messages":[{u},{a},{u}]}}"#),
                "last_not_assistant",
                "line 1, field messages[2].role",
            ),
            (
                format!(r#"{{"messages":[{u},{{"role":"assistant","content":""}}]}}"#),
                "missing_content",
                "line 1, field messages[1].content",
            ),
            (
                format!(r#"{{"messages":[{{"role":"user"}},{a}]}}"#),
                "message_missing_key",
                "line 1, field messages[0].content",
            ),
        ];
        for (text, code, at) in cases {
            assert_eq!(only_error(Anthropic, &text), (code.to_owned(), at.to_owned()), "{text}");
        }
    }

    #[test]
    fn bedrock_tool_config_is_checked_as_nova_checks_it() {
        use JsonlFlavor::BedrockNova;
        let spec = |name: &str, description: &str| {
            format!(
                r#"{{"toolSpec":{{"name":"{name}","description":"{description}","inputSchema":{{"json":{{"type":"object"}}}}}}}}"#
            )
        };
        let line = |tools: &str, called: &str| {
            format!(
                r#"{{"schemaVersion":"bedrock-conversation-2024","toolConfig":{tools},"messages":[{{"role":"user","content":[{{"text":"Hi"}}]}},{{"role":"assistant","content":[{{"toolUse":{{"toolUseId":"1","name":"{called}","input":{{}}}}}}]}},{{"role":"user","content":[{{"toolResult":{{"toolUseId":"1","content":[{{"text":"ok"}}]}}}}]}},{{"role":"assistant","content":[{{"text":"Done."}}]}}]}}"#
            )
        };
        let ok = line(&format!(r#"{{"tools":[{}]}}"#, spec("w", "Weather")), "w");
        assert!(check(BedrockNova, &ok).is_valid(), "{:#?}", check(BedrockNova, &ok).errors);
        let cases = [
            (line(r#"{"tools":[]}"#, "w"), "invalid_tool", "line 1, field toolConfig"),
            (
                line(&format!(r#"{{"tools":[{}]}}"#, spec("w", "")), "w"),
                "invalid_tool",
                "line 1, field toolConfig.tools[0]",
            ),
            (
                line(&format!(r#"{{"tools":[{0},{0}]}}"#, spec("w", "W")), "w"),
                "invalid_tool",
                "line 1, field toolConfig.tools[1]",
            ),
            (
                line(&format!(r#"{{"tools":[{}],"toolChoice":{{}}}}"#, spec("w", "W")), "w"),
                "unknown_key",
                "line 1, field toolConfig.toolChoice",
            ),
            (
                line(&format!(r#"{{"tools":[{}]}}"#, spec("w", "W")), "x"),
                "invalid_tool_call",
                "line 1, field messages[1].content[0].toolUse.name",
            ),
        ];
        for (text, code, at) in cases {
            assert_eq!(only_error(BedrockNova, &text), (code.to_owned(), at.to_owned()), "{text}");
        }
    }

    #[test]
    fn sharegpt_negative_cases() {
        use JsonlFlavor::Sharegpt;
        let h = r#"{"from":"human","value":"Hi"}"#;
        let g = r#"{"from":"gpt","value":"Hello"}"#;
        let cases = [
            (
                r#"{"messages":[]}"#.to_owned(),
                "missing_messages_list",
                "line 1, field conversations",
            ),
            (
                format!(r#"{{"conversations":[{h},{{"from":"user","value":"x"}},{g}]}}"#),
                "unrecognized_role",
                "line 1, field conversations[1].from",
            ),
            (
                format!(r#"{{"conversations":[{h},{{"from":"gpt","value":""}}]}}"#),
                "missing_content",
                "line 1, field conversations[1].value",
            ),
            (
                format!(r#"{{"conversations":[{h},{{"value":"x"}},{g}]}}"#),
                "message_missing_key",
                "line 1, field conversations[1].from",
            ),
            (
                format!(r#"{{"conversations":[{h},{h}]}}"#),
                "example_missing_assistant_message",
                "line 1, field conversations",
            ),
        ];
        for (text, code, at) in cases {
            assert_eq!(only_error(Sharegpt, &text), (code.to_owned(), at.to_owned()), "{text}");
        }
        let r = check(Sharegpt, &format!(r#"{{"id":"1","conversations":[{h},{g}]}}"#));
        assert!(r.is_valid());
        assert_eq!(r.warnings[0].code, "unknown_key");
        assert_eq!(r.warnings[0].location, Location::line(1).with_field("id"));
    }
}
