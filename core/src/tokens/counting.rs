//! The tokenizers (feature `tokenizers`) and the export's counter.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;

use super::openai::Encoding;
use super::template::ChatTemplate;
use super::TokenSummary;
use crate::format::{hugging_face_messages, truncate_content};
use crate::model::{Conversation, ConversationTurn, ExportConfig, Role};
use crate::{ErrorKind, Result};

/// A tokenizer: one of OpenAI's encodings, or a Hugging Face `tokenizer.json`.
///
/// ```
/// use lora_export_core::tokens::Tokenizer;
/// let o200k = Tokenizer::parse("o200k_base").unwrap();
/// assert_eq!(o200k.count("Hello, world!"), 4);
/// assert!(Tokenizer::parse("no/such/tokenizer.json").is_err());
/// ```
#[derive(Clone)]
pub struct Tokenizer {
    name: String,
    kind: Kind,
    template: Option<ChatTemplate>,
}

#[derive(Clone)]
enum Kind {
    /// Built once per process, on first use.
    OpenAi(Encoding),
    HuggingFace(Arc<tokenizers::Tokenizer>),
}

/// Tokens OpenAI's chat format adds per message, and to prime the reply.
const OPENAI_PER_MESSAGE: u64 = 3;
const OPENAI_REPLY_PRIMING: u64 = 3;

impl Tokenizer {
    /// `o200k_base` or `cl100k_base`, else a path to a `tokenizer.json`.
    /// `CONFIG_ERROR` naming what is wrong otherwise.
    pub fn parse(spec: &str) -> Result<Tokenizer> {
        let Some(encoding) = Encoding::named(spec) else {
            return Tokenizer::from_file(spec);
        };
        Ok(Tokenizer { name: spec.to_owned(), kind: Kind::OpenAi(encoding), template: None })
    }

    /// A Hugging Face `tokenizer.json`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Tokenizer> {
        let path = path.as_ref();
        let tokenizer = tokenizers::Tokenizer::from_file(path).map_err(|e| {
            ErrorKind::Config(format!(
                "tokenizer `{}` is neither o200k_base, cl100k_base nor a readable tokenizer.json: {e}",
                path.display()
            ))
        })?;
        let name = path.display().to_string();
        Ok(Tokenizer { name, kind: Kind::HuggingFace(Arc::new(tokenizer)), template: None })
    }

    /// Counts each conversation as the tokens of its text rendered by
    /// `template`, as transformers' `apply_chat_template` tokenizes it (no
    /// generation prompt; the special tokens the template writes are the
    /// tokenizer's). Only for a `tokenizer.json`: OpenAI's encodings count
    /// OpenAI's own chat format. `CONFIG_ERROR` otherwise.
    ///
    /// ```
    /// use lora_export_core::tokens::{ChatTemplate, Tokenizer};
    /// let template = ChatTemplate::new("{{ bos_token }}").unwrap();
    /// assert!(Tokenizer::parse("o200k_base").unwrap().with_chat_template(template).is_err());
    /// ```
    pub fn with_chat_template(mut self, template: ChatTemplate) -> Result<Tokenizer> {
        if let Kind::OpenAi(_) = self.kind {
            return Err(ErrorKind::Config(format!(
                "chat template `{}`: {} counts OpenAI's chat format; a chat template needs a \
                 Hugging Face tokenizer.json",
                template.name(),
                self.name
            ))
            .into());
        }
        self.template = Some(template);
        Ok(self)
    }

    /// Its chat template, when it has one.
    pub fn chat_template(&self) -> Option<&ChatTemplate> {
        self.template.as_ref()
    }

    /// Its name: the encoding's, or the `tokenizer.json` path.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Tokens in `text`, with no special tokens added (for OpenAI's
    /// encodings, `<|endoftext|>` in a turn is text; a `tokenizer.json`
    /// reads its added tokens in the text, as transformers does).
    pub fn count(&self, text: &str) -> u64 {
        match &self.kind {
            // Counted without the token ids (rust-gems' counter: the same
            // counts as tiktoken's encode_ordinary, checked in the tests).
            Kind::OpenAi(encoding) => encoding.count(text),
            Kind::HuggingFace(tokenizer) => {
                // encode_fast: no offsets, which a count does not need.
                tokenizer.encode_fast(text, false).map_or(0, |e| e.len() as u64)
            }
        }
    }

    /// Tokens of `conversation` as a trainer counts them (see the
    /// [module docs](super)) in an export with `config`: its messages as
    /// the export writes them — the configured system prompt first unless
    /// the conversation opens with its own, contents cut to 500 characters
    /// without `includeFullContent` — rendered by its chat template first
    /// when it has one (the messages as the `trl` flavor writes them, with
    /// the conversation's `tools`); an error (the template refused the
    /// conversation) as text. A preference record is two texts, the prompt
    /// with the chosen continuation and the prompt with the rejected one:
    /// its count is the longer's (what `max_tokens` compares).
    pub fn count_conversation(
        &self,
        conversation: &Conversation,
        config: &ExportConfig,
    ) -> std::result::Result<u64, String> {
        if let Some(template) = &self.template {
            let texts = hugging_face_messages(conversation, config).map_err(|e| e.to_string())?;
            let mut longest = 0;
            for messages in texts {
                let text = template
                    .render_json(&messages, &conversation.tools)
                    .map_err(|e| format!("chat template `{}`: {e}", template.name()))?;
                longest = longest.max(self.count(&text));
            }
            return Ok(longest);
        }
        let prompt = match conversation.turns.first() {
            Some(turn) if matches!(turn.role, Role::System | Role::Developer) => None,
            _ => config.system_prompt.as_deref(),
        };
        let continuations: &[&[ConversationTurn]] = match &conversation.preference {
            Some(p) if !p.prompt_is_messages => &[&p.chosen, &p.rejected],
            _ => &[&[]],
        };
        let full = config.include_full_content;
        let longest = continuations.iter().map(|continuation| {
            let turns = conversation.turns.iter().chain(*continuation).map(|t| {
                let content = match (full, t.counted_text()) {
                    (true, text) => text,
                    (false, text) => Cow::Owned(truncate_content(&text).0.into_owned()),
                };
                (t.role.as_str(), content)
            });
            let messages = prompt.map(|p| ("system", Cow::Borrowed(p))).into_iter().chain(turns);
            match &self.kind {
                Kind::OpenAi(_) => {
                    messages
                        .map(|(role, content)| {
                            OPENAI_PER_MESSAGE + self.count(role) + self.count(&content)
                        })
                        .sum::<u64>()
                        + OPENAI_REPLY_PRIMING
                }
                Kind::HuggingFace(_) => messages.map(|(_, content)| self.count(&content)).sum(),
            }
        });
        Ok(longest.max().unwrap_or(0))
    }
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer").field("name", &self.name).finish_non_exhaustive()
    }
}

/// A conversation's count, or why it could not be counted (its chat
/// template refused it).
pub type Counted = std::result::Result<u64, String>;

/// Counts each written conversation's tokens and refuses those over
/// `max_tokens`; 4 bytes kept per conversation for the percentiles.
#[derive(Debug, Clone)]
pub struct TokenCounter {
    tokenizer: Tokenizer,
    max_tokens: Option<u64>,
    counts: Vec<u32>,
    over: u64,
}

impl TokenCounter {
    /// A counter with `tokenizer`, refusing conversations longer than
    /// `max_tokens` when given.
    pub fn new(tokenizer: Tokenizer, max_tokens: Option<u64>) -> TokenCounter {
        TokenCounter { tokenizer, max_tokens, counts: Vec::new(), over: 0 }
    }

    /// The count of `conversation`, or why it is refused (over `max_tokens`:
    /// a trainer would truncate it).
    pub fn check(
        &mut self,
        conversation: &Conversation,
        config: &ExportConfig,
    ) -> std::result::Result<u64, String> {
        self.check_with(conversation, config, None)
    }

    /// The counts of the conversations of `records` that `wanted` keeps
    /// (those an export would count: in scope), on every core — the
    /// tokenizer is shared, each thread encodes whole conversations — in
    /// the records' order: `None` for a record not counted. Deterministic:
    /// a count depends on its conversation alone.
    pub fn count_batch<E: Sync>(
        &self,
        records: &[std::result::Result<Conversation, E>],
        wanted: impl Fn(&Conversation) -> bool + Sync,
        config: &ExportConfig,
    ) -> Vec<Option<Counted>> {
        records
            .par_iter()
            .map(|record| match record {
                Ok(c) if wanted(c) => Some(self.tokenizer.count_conversation(c, config)),
                _ => None,
            })
            .collect()
    }

    /// [`check`](Self::check) of a conversation that
    /// [`count_batch`](Self::count_batch) may have counted already.
    pub fn check_with(
        &mut self,
        conversation: &Conversation,
        config: &ExportConfig,
        counted: Option<Counted>,
    ) -> std::result::Result<u64, String> {
        let counted =
            counted.unwrap_or_else(|| self.tokenizer.count_conversation(conversation, config));
        self.judge(counted)
    }

    /// The count, or why it is refused (over `max_tokens`).
    fn judge(&mut self, counted: Counted) -> std::result::Result<u64, String> {
        let count = counted?;
        if let Some(max) = self.max_tokens.filter(|&max| count > max) {
            self.over += 1;
            return Err(format!(
                "too long: {count} tokens ({}) is over max_tokens {max}; a trainer would truncate it",
                self.tokenizer.name()
            ));
        }
        Ok(count)
    }

    /// Records `count` as written.
    pub fn written(&mut self, count: u64) {
        self.counts.push(u32::try_from(count).unwrap_or(u32::MAX));
    }

    /// The summary of what was written.
    pub fn summary(&self) -> TokenSummary {
        let mut summary = TokenSummary::from_counts(self.tokenizer.name(), self.counts.clone());
        summary.over_max_tokens = self.over;
        summary.chat_template = self.tokenizer.chat_template().map(|t| t.name().to_owned());
        summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Format, Scope};
    use crate::source::{JsonlSource, Record};

    fn chat_tokenizer(template: &str) -> Tokenizer {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/tokenizer/chat/tokenizer.json");
        Tokenizer::from_file(path)
            .unwrap()
            .with_chat_template(ChatTemplate::new(template).unwrap())
            .unwrap()
    }

    /// A chat template sees each message as the `trl` flavor writes it —
    /// tool calls (arguments as objects, in their order), tool_call_id,
    /// name, reasoning_content, content parts — and the conversation's
    /// tools, as transformers' `apply_chat_template(messages, tools=…)`.
    #[test]
    fn a_chat_template_sees_every_field_of_the_messages_and_the_tools() {
        let template = "{% if tools is none %}no tools{% else %}{% for t in tools %}{{ t.function.name }};{% endfor %}{% endif %}\
            {% for m in messages %}[{{ m.role }}{% if m.name %}:{{ m.name }}{% endif %}]\
            {% if m.content is string %}{{ m.content }}{% elif m.content %}{% for p in m.content %}{{ p.type }}={{ p.text }}{{ p.url }},{% endfor %}{% endif %}\
            {% if m.reasoning_content %}<think>{{ m.reasoning_content }}</think>{% endif %}\
            {% for c in m.tool_calls or [] %}<call {{ c.id }} {{ c.function.name }} {{ c.function.arguments | tojson }}>{% endfor %}\
            {% if m.tool_call_id %}<answers {{ m.tool_call_id }}>{% endif %}{% endfor %}";
        let tokenizer = chat_tokenizer(template);
        let c: Conversation = serde_json::from_value(serde_json::json!({"conversation_id": "c",
            "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
            "messages": [
                {"role": "user", "name": "ann", "content": [{"type": "text", "text": "Look:"},
                    {"type": "image_url", "image_url": {"url": "https://x/a.png"}}]},
                {"role": "assistant", "content": null, "reasoning_content": "Call it.",
                    "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_weather",
                        "arguments": "{\"zone\": \"b\", \"city\": \"Paris\"}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "18C"},
                {"role": "assistant", "content": "18C."}]}))
        .unwrap();
        let config = ExportConfig::new(Scope::All, Format::Jsonl);
        let expected = "get_weather;[user:ann]text=Look:,image=https://x/a.png,\
            [assistant]<think>Call it.</think><call c1 get_weather {\"zone\": \"b\", \"city\": \"Paris\"}>\
            [tool]18C<answers c1>[assistant]18C.";
        let template = tokenizer.chat_template().unwrap();
        let messages = hugging_face_messages(&c, &config).unwrap();
        assert_eq!(template.render_json(&messages[0], &c.tools).unwrap(), expected);
        assert_eq!(tokenizer.count_conversation(&c, &config), Ok(tokenizer.count(expected)));
        let mut plain = c.clone();
        plain.tools.clear();
        let text = tokenizer.count_conversation(&plain, &config).unwrap();
        assert_eq!(text, tokenizer.count(&expected.replacen("get_weather;", "no tools", 1)));
    }

    /// A preference record counts as the longer of prompt + chosen and
    /// prompt + rejected, with a template or without.
    #[test]
    fn a_preference_record_counts_its_longer_continuation() {
        let c: Conversation = serde_json::from_value(serde_json::json!({"conversation_id": "p",
            "prompt": [{"role": "user", "content": "Capital of France?"}],
            "chosen": [{"role": "assistant", "content": "Paris."}],
            "rejected": [{"role": "assistant", "content": "It is Lyon, a city on the Rhône, I believe."}]}))
        .unwrap();
        let c = crate::source::checked(c, crate::Location::record(1)).unwrap();
        let config = ExportConfig::new(Scope::All, Format::Jsonl);
        let tokenizer =
            chat_tokenizer("{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}");
        let rejected =
            "<user>Capital of France?<assistant>It is Lyon, a city on the Rhône, I believe.";
        assert_eq!(tokenizer.count_conversation(&c, &config), Ok(tokenizer.count(rejected)));
        let o200k = Tokenizer::parse("o200k_base").unwrap();
        let message = |role: &str, text: &str| 3 + o200k.count(role) + o200k.count(text);
        let longer = message("user", "Capital of France?")
            + message("assistant", "It is Lyon, a city on the Rhône, I believe.")
            + 3;
        assert_eq!(o200k.count_conversation(&c, &config), Ok(longer));
    }

    /// A batch counted on every core gives each conversation the count it
    /// gets alone, in the records' order; records not wanted get none.
    #[test]
    fn a_batch_is_counted_in_order_as_each_alone() {
        let line = |i: usize| {
            let words = "word ".repeat(i % 37);
            format!(
                r#"{{"conversation_id":"c{i}","status":"approved","turns":[{{"role":"user","content":"{words}{i}"}}]}}"#
            )
        };
        let mut input: String = (0..300).map(|i| line(i) + "\n").collect();
        input.push_str("not json\n");
        let records: Vec<Record> = JsonlSource::new(input.as_bytes()).collect();
        let config = ExportConfig::new(Scope::All, Format::Jsonl);
        let tokenizer = Tokenizer::parse("o200k_base").unwrap();
        let counter = TokenCounter::new(tokenizer.clone(), None);
        let counts = counter.count_batch(&records, |c| c.conversation_id != "c7", &config);
        assert_eq!(counts.len(), records.len());
        for (record, counted) in records.iter().zip(counts) {
            match record {
                Ok(c) if c.conversation_id != "c7" => {
                    assert_eq!(counted, Some(tokenizer.count_conversation(c, &config)));
                }
                _ => assert_eq!(counted, None),
            }
        }
    }
}
