//! Real token counts. [`TokenSummary`] is what an export reports; the
//! tokenizers themselves (feature `tokenizers`) are OpenAI's encodings
//! `o200k_base` and `cl100k_base` (GitHub's bpe-openai, which ships them and
//! counts without building token ids: tiktoken's counts) and any
//! Hugging Face `tokenizer.json` (the `tokenizers` crate) — nothing is
//! downloaded.
//!
//! A conversation's count is what a trainer counts: for the OpenAI
//! encodings, each message costs its role's and content's tokens plus 3, and
//! the reply is primed with 3 more (OpenAI's documented chat format,
//! `num_tokens_from_messages` in its cookbook); for a `tokenizer.json`, the
//! tokens of the text its chat template renders ([`ChatTemplate`]: a Jinja
//! template, or the model's `tokenizer_config.json`), as transformers'
//! `apply_chat_template` counts them — without a template, the contents'
//! tokens only, which misses the template's own (role headers and special
//! tokens, a few per message). The messages are those the export writes: its system prompt
//! first when it adds one, contents cut when `includeFullContent` is off.

use serde::{Deserialize, Serialize};

/// Token counts of an export's written conversations.
///
/// ```
/// use lora_export_core::tokens::TokenSummary;
/// let summary = TokenSummary::from_counts("o200k_base", vec![10, 30, 20, 40]);
/// assert_eq!((summary.total, summary.max, summary.p50, summary.p95), (100, 40, 20, 40));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSummary {
    /// The tokenizer (`o200k_base`, `cl100k_base`, or the `tokenizer.json` path).
    pub tokenizer: String,
    /// Conversations counted (those written).
    pub conversations: u64,
    /// Tokens in all of them.
    pub total: u64,
    /// The longest.
    pub max: u64,
    /// The median (nearest rank).
    pub p50: u64,
    /// The 95th percentile (nearest rank).
    pub p95: u64,
    /// Conversations skipped for having more than `max_tokens`.
    #[serde(default)]
    pub over_max_tokens: u64,
    /// The chat template the conversations were rendered with before
    /// counting (its path, or `inline chat template`), when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_template: Option<String>,
}

impl TokenSummary {
    /// The summary of per-conversation `counts`.
    pub fn from_counts(tokenizer: &str, mut counts: Vec<u32>) -> TokenSummary {
        counts.sort_unstable();
        let rank = |p: f64| -> u64 {
            if counts.is_empty() {
                return 0;
            }
            let index = ((p * counts.len() as f64).ceil() as usize).clamp(1, counts.len()) - 1;
            u64::from(counts[index])
        };
        TokenSummary {
            tokenizer: tokenizer.to_owned(),
            conversations: counts.len() as u64,
            total: counts.iter().map(|&c| u64::from(c)).sum(),
            max: counts.last().map_or(0, |&c| u64::from(c)),
            p50: rank(0.5),
            p95: rank(0.95),
            over_max_tokens: 0,
            chat_template: None,
        }
    }
}

#[cfg(feature = "tokenizers")]
mod counting;
#[cfg(feature = "tokenizers")]
mod openai;
#[cfg(feature = "tokenizers")]
mod template;
#[cfg(feature = "tokenizers")]
pub use counting::{Counted, TokenCounter, Tokenizer};
#[cfg(feature = "tokenizers")]
pub use template::ChatTemplate;
