//! Duplicate detection across a whole dataset: the same `conversation_id`
//! again, or the same turns (roles and normalised contents) under another id.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::model::Conversation;

/// What makes two conversations the same training example: their turns'
/// roles and contents, each content trimmed and with whitespace runs
/// collapsed to one space.
///
/// ```
/// use lora_export_core::dataset::content_key;
/// let c = |text: &str| serde_json::from_value::<lora_export_core::model::Conversation>(serde_json::json!({
///     "conversation_id": "x", "turns": [{"role": "user", "content": text}]})).unwrap();
/// assert_eq!(content_key(&c("Hi  there\n")), content_key(&c(" Hi there")));
/// assert_ne!(content_key(&c("Hi there")), content_key(&c("Hi, there")));
/// ```
pub fn content_key(conversation: &Conversation) -> u128 {
    let mut text = Vec::with_capacity(conversation.turns.iter().map(|t| t.content.len() + 8).sum());
    for turn in &conversation.turns {
        text.extend_from_slice(turn.role.as_str().as_bytes());
        text.push(0x1f);
        push_normalised(&turn.content, &mut text);
        text.push(0x1e);
    }
    let digest = Sha256::digest(&text);
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    u128::from_be_bytes(key)
}

/// Appends `content`'s words (split at Unicode whitespace, as
/// `str::split_whitespace` splits) joined by single spaces.
///
/// Most text is nearly normal: words, single spaces, now and then one line
/// break. So [`CHUNK`] bytes at a time are checked for anything else (a
/// check the compiler vectorises) and copied whole, each lone ASCII
/// whitespace byte as a space; only a chunk that has something else is
/// walked byte by byte. Only the lead bytes `C2`, `E1`, `E2`, `E3` can start
/// a non-ASCII whitespace character, so no other byte ≥ 0x80 is decoded.
fn push_normalised(content: &str, out: &mut Vec<u8>) {
    let bytes = content.as_bytes();
    // `space`: whitespace seen since the last word (written before the next
    // one, unless nothing was written yet: leading whitespace is dropped).
    let (mut i, mut space, mut wrote) = (0, false, false);
    while i < bytes.len() {
        if let Some(chunk) = bytes.get(i..i + CHUNK) {
            let chunk: &[u8; CHUNK] = chunk.try_into().expect("CHUNK bytes");
            // A space first is the one after the last word, unless nothing
            // was written yet or whitespace came just before.
            let first_ok = !is_ascii_space(chunk[0]) || (wrote && !space);
            if first_ok && is_normal(chunk) {
                if space && wrote {
                    out.push(b' ');
                }
                // A space last waits for the next word, as any whitespace does.
                let last = is_ascii_space(chunk[CHUNK - 1]);
                let words = &chunk[..CHUNK - usize::from(last)];
                out.extend(words.iter().map(|&b| if is_ascii_space(b) { b' ' } else { b }));
                (i, space, wrote) = (i + CHUNK, last, true);
                continue;
            }
        }
        let end = (i + CHUNK).min(bytes.len());
        while i < end {
            let (is_space, len) = match bytes[i] {
                b if is_ascii_space(b) => (true, 1),
                0xc2 | 0xe1..=0xe3 => {
                    let c = content[i..].chars().next().expect("a lead byte starts a character");
                    (c.is_whitespace(), c.len_utf8())
                }
                _ => (false, 1),
            };
            if is_space {
                space = true;
            } else {
                if space && wrote {
                    out.push(b' ');
                }
                out.extend_from_slice(&bytes[i..i + len]);
                (space, wrote) = (false, true);
            }
            i += len;
        }
    }
}

/// Bytes checked at a time by [`push_normalised`].
const CHUNK: usize = 32;

/// The ASCII whitespace of `char::is_whitespace`: tab, line feed, vertical
/// tab, form feed, carriage return, space.
fn is_ascii_space(b: u8) -> bool {
    (b.wrapping_sub(b'\t') < 5) | (b == b' ')
}

/// Whether `chunk` is normal once each ASCII whitespace byte is a space:
/// no two whitespace bytes in a row, no non-ASCII whitespace
/// character (U+0085, U+00A0, U+1680, U+2000–U+200A, U+2028, U+2029,
/// U+202F, U+205F, U+3000), and no lead byte of one too near the end to
/// tell. Fixed-length loops of non-short-circuit tests, so that they run as
/// vector instructions.
fn is_normal(chunk: &[u8; CHUNK]) -> bool {
    let c = chunk;
    let lead = |b: u8| (b == 0xc2) | (b.wrapping_sub(0xe1) < 3);
    let mut odd = lead(c[CHUNK - 1]) | (c[CHUNK - 2].wrapping_sub(0xe1) < 3);
    for k in 0..CHUNK - 1 {
        let (a, b) = (c[k], c[k + 1]);
        odd |= is_ascii_space(a) & is_ascii_space(b);
        odd |= (a == 0xc2) & ((b == 0x85) | (b == 0xa0));
    }
    for k in 0..CHUNK - 2 {
        let (a, b, d) = (c[k], c[k + 1], c[k + 2]);
        let general = (d <= 0x8a) | (d == 0xa8) | (d == 0xa9) | (d == 0xaf);
        odd |= (a == 0xe1) & (b == 0x9a) & (d == 0x80);
        odd |= (a == 0xe2) & (((b == 0x80) & general) | ((b == 0x81) & (d == 0x9f)));
        odd |= (a == 0xe3) & (b == 0x80) & (d == 0x80);
    }
    !odd
}

/// The ids and contents seen so far, in 48 bytes per conversation whatever
/// its size: a 16-byte key of its id with the split it went to, and of its
/// content a 16-byte key with the split and record number that had it
/// first (for the reason and the leak between splits).
#[derive(Debug, Default)]
pub(crate) struct Seen {
    ids: HashMap<[u64; 2], u8>,
    contents: HashMap<[u64; 2], u64>,
}

/// Why a conversation is a duplicate, and the split (index) of the one it
/// repeats.
pub(crate) enum Duplicate {
    Id {
        split: usize,
    },
    /// The same turns as the record numbered `first` (within its split,
    /// with the input's own splits; in the whole input otherwise).
    Content {
        first: u64,
        split: usize,
    },
}

impl Duplicate {
    /// The split of the conversation this one repeats.
    pub(crate) fn split(&self) -> usize {
        match self {
            Duplicate::Id { split } | Duplicate::Content { split, .. } => *split,
        }
    }
}

/// Bits of a content entry's value holding the record number; the split
/// index is above them.
const RECORD_BITS: u32 = 56;

impl Seen {
    /// Records `conversation`, record number `record` going into the split
    /// of index `split` (below [`MAX_SPLIT_PARTS`](crate::model::MAX_SPLIT_PARTS));
    /// says whether its id or its content came before, and where.
    pub(crate) fn check(
        &mut self,
        conversation: &Conversation,
        record: u64,
        split: usize,
    ) -> Option<Duplicate> {
        let id = Sha256::digest(conversation.conversation_id.as_bytes());
        match self.ids.entry(halves(u128::from_be_bytes(id[..16].try_into().expect("16 bytes")))) {
            Entry::Occupied(first) => return Some(Duplicate::Id { split: *first.get() as usize }),
            Entry::Vacant(slot) => {
                slot.insert(split as u8);
            }
        }
        match self.contents.entry(halves(content_key(conversation))) {
            Entry::Occupied(first) => {
                let value = *first.get();
                let first = value & ((1 << RECORD_BITS) - 1);
                Some(Duplicate::Content { first, split: (value >> RECORD_BITS) as usize })
            }
            Entry::Vacant(slot) => {
                slot.insert(((split as u64) << RECORD_BITS) | (record & ((1 << RECORD_BITS) - 1)));
                None
            }
        }
    }
}

/// A key as two `u64`s: 8-byte aligned, so a map entry with a `u64` is 24 bytes, not 32.
fn halves(key: u128) -> [u64; 2] {
    [(key >> 64) as u64, key as u64]
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::push_normalised;

    proptest! {
        #[test]
        fn normalising_is_joining_the_words_of_split_whitespace(
            text in "([a-z]{1,12}|\\PC|\\s|\\s\\s|\\n|\u{85}|\u{a0}|\u{1680}|\u{2000}|\u{200a}|\u{200b}|\u{2014}|\u{2028}|\u{202f}|\u{205f}|\u{3000}|\u{3001}|é|日本){0,80}"
        ) {
            let mut out = Vec::new();
            push_normalised(&text, &mut out);
            let words: Vec<&str> = text.split_whitespace().collect();
            prop_assert_eq!(String::from_utf8(out).unwrap(), words.join(" "));
        }
    }
}
