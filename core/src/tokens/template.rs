//! Chat templates (feature `tokenizers`): the Jinja a model's
//! `tokenizer_config.json` carries, rendered as transformers'
//! `apply_chat_template` renders it — `trim_blocks` and `lstrip_blocks` on,
//! loop controls, `raise_exception`, `strftime_now`, a `tojson` that writes
//! what Python's `json.dumps` writes, and Python's string and dict methods
//! (`.strip()`, `.items()`) — so that a count is the count of the text the
//! trainer tokenizes.

use std::path::Path;
use std::sync::Arc;

use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error, ErrorKind as JinjaErrorKind};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Serialize;

use crate::{ErrorKind, Result};

/// A chat template and the special tokens it may name (`bos_token`,
/// `eos_token`).
///
/// ```
/// use lora_export_core::tokens::ChatTemplate;
/// let template = ChatTemplate::new(
///     "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content | trim }}<|im_end|>\n{% endfor %}",
/// ).unwrap();
/// let text = template.render_messages(&[("user", " Hi ")]).unwrap();
/// assert_eq!(text, "<|im_start|>user\nHi<|im_end|>\n");
/// assert!(ChatTemplate::new("{% for %}").is_err());
/// ```
#[derive(Clone)]
pub struct ChatTemplate {
    env: Arc<Environment<'static>>,
    bos_token: Option<String>,
    eos_token: Option<String>,
    name: String,
}

const TEMPLATE: &str = "chat_template";

impl ChatTemplate {
    /// A Jinja template's text, with no special tokens.
    /// `CONFIG_ERROR` when it does not compile.
    pub fn new(source: &str) -> Result<ChatTemplate> {
        ChatTemplate::build(source, None, None, "inline chat template".into())
    }

    /// The text of a template when `spec` holds one (`{{` or `{%` in it);
    /// else a path: a `tokenizer_config.json` (its `chat_template`, a string
    /// or the `default` of a named list, with its `bos_token` and
    /// `eos_token`), or any other file read as the template's text.
    pub fn parse(spec: &str) -> Result<ChatTemplate> {
        if spec.contains("{{") || spec.contains("{%") {
            return ChatTemplate::new(spec);
        }
        let path = Path::new(spec);
        let text = std::fs::read_to_string(path).map_err(|e| {
            ErrorKind::Config(format!(
                "chat template `{spec}` is neither a Jinja template nor a readable file: {e}"
            ))
        })?;
        if path.extension().is_some_and(|e| e == "json") {
            return ChatTemplate::from_tokenizer_config(&text, spec);
        }
        ChatTemplate::build(&text, None, None, spec.to_owned())
    }

    /// The template of a `tokenizer_config.json`'s text, `name` saying
    /// where it came from in errors.
    fn from_tokenizer_config(text: &str, name: &str) -> Result<ChatTemplate> {
        let config_error =
            |what: &str| ErrorKind::Config(format!("chat template `{name}`: {what}"));
        let config: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| config_error(&format!("not a tokenizer_config.json: {e}")))?;
        let source = match config.get("chat_template") {
            Some(serde_json::Value::String(source)) => source.as_str(),
            Some(serde_json::Value::Array(named)) => named
                .iter()
                .find(|t| t.get("name").and_then(|n| n.as_str()) == Some("default"))
                .and_then(|t| t.get("template")?.as_str())
                .ok_or_else(|| config_error("its chat_template list has no `default` template"))?,
            _ => return Err(config_error("it has no chat_template").into()),
        };
        let token = |key: &str| match config.get(key)? {
            serde_json::Value::String(token) => Some(token.clone()),
            added => added.get("content")?.as_str().map(str::to_owned),
        };
        ChatTemplate::build(source, token("bos_token"), token("eos_token"), name.to_owned())
    }

    fn build(
        source: &str,
        bos_token: Option<String>,
        eos_token: Option<String>,
        name: String,
    ) -> Result<ChatTemplate> {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_filter("tojson", tojson);
        env.add_function("raise_exception", raise_exception);
        env.add_function("strftime_now", strftime_now);
        env.add_template_owned(TEMPLATE, without_generation_tags(source))
            .map_err(|e| ErrorKind::Config(format!("chat template `{name}`: {e:#}")))?;
        Ok(ChatTemplate { env: Arc::new(env), bos_token, eos_token, name })
    }

    /// Where it came from: the path, or `inline chat template`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The text of `messages` (role, content) as the template renders them,
    /// without a generation prompt: what a trainer tokenizes.
    pub fn render_messages(
        &self,
        messages: &[(&str, &str)],
    ) -> std::result::Result<String, String> {
        let messages: Vec<Value> = messages
            .iter()
            .map(|(role, content)| {
                Value::from_iter([("role", Value::from(*role)), ("content", Value::from(*content))])
            })
            .collect();
        self.render(Value::from(messages), Value::from(()))
    }

    /// The text of a list of messages given as JSON text (as the `trl`
    /// flavor writes them) with the conversation's `tools`, as transformers'
    /// `apply_chat_template(messages, tools=tools)` renders them after
    /// `json.loads`: objects keep the text's key order, `tools` is none when
    /// the conversation offers none.
    pub(super) fn render_json(
        &self,
        messages: &[u8],
        tools: &[serde_json::Value],
    ) -> std::result::Result<String, String> {
        let Json(messages) = serde_json::from_slice(messages).map_err(|e| e.to_string())?;
        let tools = if tools.is_empty() { Value::from(()) } else { Value::from_serialize(tools) };
        self.render(messages, tools)
    }

    /// The rendered text of `messages`; an error (a template's
    /// `raise_exception`, an undefined call) as text. The context is
    /// transformers': `messages`, `tools` and `documents` (none unless
    /// given), the special tokens, no generation prompt.
    fn render(&self, messages: Value, tools: Value) -> std::result::Result<String, String> {
        let template = self.env.get_template(TEMPLATE).map_err(|e| e.to_string())?;
        // An absent token is undefined (renders as nothing), as in
        // transformers, which passes only the tokens a model has.
        let token = |t: &Option<String>| t.as_deref().map_or(Value::UNDEFINED, Value::from);
        let context = minijinja::context! {
            messages => messages,
            tools => tools,
            documents => Value::from(()),
            bos_token => token(&self.bos_token),
            eos_token => token(&self.eos_token),
            add_generation_prompt => false,
        };
        template.render(context).map_err(|e| match e.kind() {
            JinjaErrorKind::InvalidOperation => {
                e.detail().map_or_else(|| e.to_string(), str::to_owned)
            }
            _ => e.to_string(),
        })
    }
}

/// `source` with transformers' `{% generation %}` and `{% endgeneration %}`
/// tags (which mark the assistant's tokens for `return_assistant_tokens_mask`
/// and render nothing) made `{% if true %}` and `{% endif %}`: block tags
/// too, so `trim_blocks`, `lstrip_blocks` and `-` trim the same whitespace.
fn without_generation_tags(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(start) = rest.find("{%") {
        out.push_str(&rest[..start]);
        let tag = &rest[start + 2..];
        let Some(end) = tag.find("%}") else {
            rest = &rest[start..];
            break;
        };
        let inner = &tag[..end];
        let open = inner.strip_prefix(['-', '+']).map_or("", |_| &inner[..1]);
        let close = inner.strip_suffix(['-', '+']).map_or("", |_| &inner[inner.len() - 1..]);
        let word = inner.get(open.len()..inner.len() - close.len()).unwrap_or("").trim();
        let replaced = match word {
            "generation" => Some("if true"),
            "endgeneration" => Some("endif"),
            _ => None,
        };
        match replaced {
            Some(word) => out.push_str(&format!("{{%{open} {word} {close}%}}")),
            None => out.push_str(&rest[start..start + 2 + end + 2]),
        }
        rest = &tag[end + 2..];
    }
    out.push_str(rest);
    out
}

/// A JSON text as a template's value, each object's keys in the text's
/// order (what Python's `json.loads` gives a template: a `tojson` of the
/// arguments writes them in the order they were given).
struct Json(Value);

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Json, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("JSON")
    }

    fn visit_bool<E>(self, v: bool) -> std::result::Result<Json, E> {
        Ok(Json(Value::from(v)))
    }

    fn visit_i64<E>(self, v: i64) -> std::result::Result<Json, E> {
        Ok(Json(Value::from(v)))
    }

    fn visit_u64<E>(self, v: u64) -> std::result::Result<Json, E> {
        Ok(Json(Value::from(v)))
    }

    fn visit_f64<E>(self, v: f64) -> std::result::Result<Json, E> {
        Ok(Json(Value::from(v)))
    }

    fn visit_str<E>(self, v: &str) -> std::result::Result<Json, E> {
        Ok(Json(Value::from(v)))
    }

    fn visit_unit<E>(self) -> std::result::Result<Json, E> {
        Ok(Json(Value::from(())))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(Json(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json(Value::from(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Json, A::Error> {
        let mut entries: Vec<(String, Value)> = Vec::new();
        while let Some((key, Json(value))) = map.next_entry::<String, Json>()? {
            entries.push((key, value));
        }
        Ok(Json(Value::from_iter(entries)))
    }
}

impl std::fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTemplate").field("name", &self.name).finish_non_exhaustive()
    }
}

/// `raise_exception(message)`: a template refusing its input.
fn raise_exception(message: String) -> std::result::Result<Value, Error> {
    Err(Error::new(
        JinjaErrorKind::InvalidOperation,
        format!("the chat template refused it: {message}"),
    ))
}

/// `strftime_now(format)`: the current UTC time, as transformers gives it.
fn strftime_now(format: String) -> String {
    chrono::Utc::now().format(&format).to_string()
}

/// `tojson`, as transformers defines it: Python's `json.dumps` with
/// `ensure_ascii=False` — `", "` and `": "` between items, keys in their
/// order — or indented by `indent=` spaces.
fn tojson(value: Value, kwargs: Kwargs) -> std::result::Result<String, Error> {
    let indent: Option<usize> = kwargs.get("indent")?;
    kwargs.assert_all_used()?;
    let invalid =
        |e: serde_json::Error| Error::new(JinjaErrorKind::BadSerialization, e.to_string());
    let mut out = Vec::new();
    match indent {
        None => value.serialize(&mut serde_json::Serializer::with_formatter(&mut out, PythonJson)),
        Some(n) => {
            let indent = vec![b' '; n];
            let formatter = serde_json::ser::PrettyFormatter::with_indent(&indent);
            value.serialize(&mut serde_json::Serializer::with_formatter(&mut out, formatter))
        }
    }
    .map_err(invalid)?;
    String::from_utf8(out).map_err(|e| Error::new(JinjaErrorKind::BadSerialization, e.to_string()))
}

/// The separators of Python's `json.dumps` without `indent`.
struct PythonJson;

impl serde_json::ser::Formatter for PythonJson {
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
    ) -> std::io::Result<()> {
        writer.write_all(b": ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(source: &str, messages: &[(&str, &str)]) -> std::result::Result<String, String> {
        ChatTemplate::new(source).unwrap().render_messages(messages)
    }

    #[test]
    fn tojson_writes_what_python_json_dumps_writes() {
        let source =
            "{{ {'name': 'get', 'args': [1, 'é', none]} | tojson }}|{{ [1] | tojson(indent=2) }}";
        assert_eq!(
            render(source, &[]).unwrap(),
            "{\"name\": \"get\", \"args\": [1, \"é\", null]}|[\n  1\n]"
        );
    }

    #[test]
    fn python_methods_and_loop_controls_work() {
        let source = "{% for m in messages %}{% if m.role == 'system' %}{% continue %}{% endif %}\
                      {{ m.content.strip() }}{% for k, v in {'a': 1}.items() %}{{ k }}{{ v }}{% endfor %}{% endfor %}";
        assert_eq!(render(source, &[("system", "x"), ("user", " hi ")]).unwrap(), "hia1");
    }

    #[test]
    fn a_refusing_template_says_why() {
        let source = "{% if messages[0].role != 'user' %}{{ raise_exception('Conversation roles must alternate') }}{% endif %}";
        let err = render(source, &[("assistant", "x")]).unwrap_err();
        assert!(err.contains("Conversation roles must alternate"), "{err}");
    }

    #[test]
    fn generation_tags_render_nothing_and_trim_as_block_tags() {
        let source = "{% for m in messages %}{{ m.role }}:\n{%- generation -%}\n {{ m.content }}\n{% endgeneration %}\n|{% endfor %}";
        assert_eq!(
            render(source, &[("user", "a"), ("assistant", "b")]).unwrap(),
            "user:a\n|assistant:b\n|"
        );
        assert_eq!(
            without_generation_tags("{{ x }}{%+ generation %}{% raw %}"),
            "{{ x }}{%+ if true %}{% raw %}"
        );
        assert_eq!(
            without_generation_tags("{% if %} {% endgeneration -%} {%"),
            "{% if %} {% endif -%} {%"
        );
        assert_eq!(without_generation_tags("{%-%}{%%}"), "{%-%}{%%}");
    }

    #[test]
    fn a_tokenizer_config_gives_its_default_template_and_tokens() {
        let config = r#"{"bos_token": {"content": "<s>"}, "eos_token": "</s>",
            "chat_template": [{"name": "tool_use", "template": "no"},
                              {"name": "default", "template": "{{ bos_token }}{{ messages[0].content }}{{ eos_token }}"}]}"#;
        let template = ChatTemplate::from_tokenizer_config(config, "t.json").unwrap();
        assert_eq!(template.render_messages(&[("user", "hi")]).unwrap(), "<s>hi</s>");
        let none =
            ChatTemplate::from_tokenizer_config(r#"{"chat_template": "[{{ bos_token }}]"}"#, "t")
                .unwrap();
        assert_eq!(none.render_messages(&[]).unwrap(), "[]", "an absent token renders as nothing");
        let err = ChatTemplate::from_tokenizer_config("{}", "t.json").unwrap_err();
        assert!(err.to_string().contains("no chat_template"), "{err}");
    }
}
