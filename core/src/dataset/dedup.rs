//! Duplicate detection across a whole dataset: the same `conversation_id`
//! again, or the same turns (roles and normalised contents) under another id.

use std::collections::hash_map::Entry;
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

/// The ids and contents seen so far, in 40 bytes per conversation whatever
/// its size: a 16-byte key of its id, and of its content a 16-byte key with
/// the record number that had it first (for the reason).
#[derive(Debug, Default)]
pub(crate) struct Seen {
    ids: HashSet<[u64; 2]>,
    contents: HashMap<[u64; 2], u64>,
}

/// Why a conversation is a duplicate.
pub(crate) enum Duplicate {
    Id,
    /// The same turns as the record numbered `first`.
    Content {
        first: u64,
    },
}

impl Seen {
    /// Records `conversation`, record number `record`; says whether its id
    /// or its content came before.
    pub(crate) fn check(&mut self, conversation: &Conversation, record: u64) -> Option<Duplicate> {
        let id = Sha256::digest(conversation.conversation_id.as_bytes());
        if !self.ids.insert(halves(u128::from_be_bytes(id[..16].try_into().expect("16 bytes")))) {
            return Some(Duplicate::Id);
        }
        match self.contents.entry(halves(content_key(conversation))) {
            Entry::Occupied(first) => Some(Duplicate::Content { first: *first.get() }),
            Entry::Vacant(slot) => {
                slot.insert(record);
                None
            }
        }
    }
}

/// A key as two `u64`s: 8-byte aligned, so a map entry with a `u64` is 24 bytes, not 32.
fn halves(key: u128) -> [u64; 2] {
    [(key >> 64) as u64, key as u64]
}
