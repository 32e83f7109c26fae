//! Duplicate detection across a whole dataset: the same `conversation_id`
//! again, or the same turns (roles and normalised contents) under another id.

use std::collections::{HashMap, HashSet};

use sha2::{Digest, Sha256};

use crate::model::Conversation;

/// What makes two conversations the same training example: their turns'
/// roles and contents, each content trimmed and with whitespace runs
/// collapsed to one space.
///
/// ```
/// use lora_export::dataset::content_key;
/// let c = |text: &str| serde_json::from_value::<lora_export::model::Conversation>(serde_json::json!({
///     "conversation_id": "x", "turns": [{"role": "user", "content": text}]})).unwrap();
/// assert_eq!(content_key(&c("Hi  there\n")), content_key(&c(" Hi there")));
/// assert_ne!(content_key(&c("Hi there")), content_key(&c("Hi, there")));
/// ```
pub fn content_key(conversation: &Conversation) -> u128 {
    let mut hasher = Sha256::new();
    for turn in &conversation.turns {
        hasher.update(turn.role.as_str().as_bytes());
        hasher.update([0x1f]);
        let mut first = true;
        for word in turn.content.split_whitespace() {
            if !first {
                hasher.update(b" ");
            }
            hasher.update(word.as_bytes());
            first = false;
        }
        hasher.update([0x1e]);
    }
    let digest = hasher.finalize();
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    u128::from_be_bytes(key)
}

/// The ids and contents seen so far: 16 bytes per id, and per distinct
/// content its 16-byte key and the id that had it first (for the reason).
#[derive(Debug, Default)]
pub(crate) struct Seen {
    ids: HashSet<u128>,
    contents: HashMap<u128, String>,
}

/// Why a conversation is a duplicate.
pub(crate) enum Duplicate {
    Id,
    Content { first: String },
}

impl Seen {
    /// Records `conversation`; says whether its id or its content came before.
    pub(crate) fn check(&mut self, conversation: &Conversation) -> Option<Duplicate> {
        let id = Sha256::digest(conversation.conversation_id.as_bytes());
        let mut id_key = [0u8; 16];
        id_key.copy_from_slice(&id[..16]);
        if !self.ids.insert(u128::from_be_bytes(id_key)) {
            return Some(Duplicate::Id);
        }
        match self.contents.entry(content_key(conversation)) {
            std::collections::hash_map::Entry::Occupied(first) => {
                Some(Duplicate::Content { first: first.get().clone() })
            }
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(conversation.conversation_id.clone());
                None
            }
        }
    }
}
