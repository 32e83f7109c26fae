//! The tokenizers (feature `tokenizers`) and the export's counter.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use super::TokenSummary;
use crate::format::truncate_content;
use crate::model::{Conversation, ExportConfig, Role};
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
}

#[derive(Clone)]
enum Kind {
    OpenAi(Arc<tiktoken_rs::CoreBPE>),
    HuggingFace(Arc<tokenizers::Tokenizer>),
}

/// Tokens OpenAI's chat format adds per message, and to prime the reply.
const OPENAI_PER_MESSAGE: u64 = 3;
const OPENAI_REPLY_PRIMING: u64 = 3;

impl Tokenizer {
    /// `o200k_base` or `cl100k_base`, else a path to a `tokenizer.json`.
    /// `CONFIG_ERROR` naming what is wrong otherwise.
    pub fn parse(spec: &str) -> Result<Tokenizer> {
        let bpe = match spec {
            "o200k_base" => Some(tiktoken_rs::o200k_base()),
            "cl100k_base" => Some(tiktoken_rs::cl100k_base()),
            _ => None,
        };
        if let Some(bpe) = bpe {
            let bpe = bpe.map_err(|e| ErrorKind::Config(format!("{spec}: {e}")))?;
            return Ok(Tokenizer { name: spec.to_owned(), kind: Kind::OpenAi(Arc::new(bpe)) });
        }
        Tokenizer::from_file(spec)
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
        Ok(Tokenizer { name, kind: Kind::HuggingFace(Arc::new(tokenizer)) })
    }

    /// Its name: the encoding's, or the `tokenizer.json` path.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Tokens in `text`, read as plain text (`<|endoftext|>` in a turn is
    /// text, not a special token).
    pub fn count(&self, text: &str) -> u64 {
        match &self.kind {
            Kind::OpenAi(bpe) => bpe.encode_ordinary(text).len() as u64,
            Kind::HuggingFace(tokenizer) => {
                tokenizer.encode(text, false).map_or(0, |e| e.get_ids().len() as u64)
            }
        }
    }

    /// Tokens of `conversation` as a trainer counts them (see the
    /// [module docs](super)) in an export with `config`: its messages as
    /// the export writes them — the configured system prompt first unless
    /// the conversation opens with its own, contents cut to 500 characters
    /// without `includeFullContent`.
    pub fn count_conversation(&self, conversation: &Conversation, config: &ExportConfig) -> u64 {
        let prompt = match conversation.turns.first() {
            Some(turn) if matches!(turn.role, Role::System | Role::Developer) => None,
            _ => config.system_prompt.as_deref(),
        };
        let full = config.include_full_content;
        let turns = conversation.turns.iter().map(|t| {
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
    }
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer").field("name", &self.name).finish_non_exhaustive()
    }
}

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
        let count = self.tokenizer.count_conversation(conversation, config);
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
        summary
    }
}
