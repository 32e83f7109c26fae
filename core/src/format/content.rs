use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::model::{Conversation, ConversationTurn};

/// How many characters a turn keeps when `includeFullContent` is false.
pub const TRUNCATION_LIMIT: usize = 500;

/// Cuts `content` to [`TRUNCATION_LIMIT`] characters (Unicode scalar values,
/// never inside one) and appends `…`; returns the text and whether it was cut.
///
/// ```
/// use lora_export_core::format::truncate_content;
/// let long = "é".repeat(501);
/// let (cut, truncated) = truncate_content(&long);
/// assert!(truncated);
/// assert_eq!(cut.chars().count(), 501);
/// assert!(cut.ends_with("é…"));
/// assert_eq!(truncate_content("short"), ("short".into(), false));
/// ```
pub fn truncate_content(content: &str) -> (Cow<'_, str>, bool) {
    match content.char_indices().nth(TRUNCATION_LIMIT) {
        None => (Cow::Borrowed(content), false),
        Some((cut, _)) => {
            let mut s = String::with_capacity(cut + 3);
            s.push_str(&content[..cut]);
            s.push('…');
            (Cow::Owned(s), true)
        }
    }
}

/// The content of a turn as the config wants it: whole, or truncated.
pub(crate) fn turn_content(content: &str, full: bool) -> (Cow<'_, str>, bool) {
    if full {
        (Cow::Borrowed(content), false)
    } else {
        truncate_content(content)
    }
}

/// The fields a format left out, counted per field: messages for the
/// message fields, conversations for `tools` and `preference`. The export
/// puts them in [`ExportSummary::dropped_fields`](crate::ExportSummary::dropped_fields)
/// and warns ([`WarningCode::FieldsDropped`](crate::WarningCode::FieldsDropped)).
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Dropped(pub(crate) BTreeMap<&'static str, u64>);

impl Dropped {
    /// Counts `n` of `field`.
    pub(crate) fn add(&mut self, field: &'static str, n: u64) {
        if n > 0 {
            *self.0.entry(field).or_default() += n;
        }
    }

    /// Adds another count to this one.
    pub(crate) fn merge(&mut self, other: &Dropped) {
        for (field, n) in &other.0 {
            self.add(field, *n);
        }
    }

    /// The counts with owned names.
    pub(crate) fn to_map(&self) -> BTreeMap<String, u64> {
        self.0.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    }

    /// Counts every field beyond role and text of `c`: what a format that
    /// writes only those (CSV, Markdown) leaves out.
    pub(crate) fn count_beyond_text(&mut self, c: &Conversation) {
        let turns = c
            .turns
            .iter()
            .chain(c.preference.iter().flat_map(|p| p.chosen.iter().chain(&p.rejected)));
        for t in turns {
            self.count_turn_extras(t);
        }
        self.add("tools", u64::from(!c.tools.is_empty()));
        self.add("preference", u64::from(c.preference.is_some()));
    }

    /// Counts what a text-only message (role and content) leaves out of
    /// `t`.
    pub(crate) fn count_text_only(&mut self, t: &ConversationTurn) {
        self.count_turn_extras(t);
    }

    fn count_turn_extras(&mut self, t: &ConversationTurn) {
        self.add("image_parts", t.parts.iter().filter(|p| p.text().is_none()).count() as u64);
        self.add("tool_calls", u64::from(!t.tool_calls.is_empty()));
        self.add("tool_call_id", u64::from(t.tool_call_id.is_some()));
        self.add("name", u64::from(t.name.is_some()));
        self.add("reasoning", u64::from(t.reasoning.is_some()));
        self.add("weight", u64::from(t.weight.is_some()));
    }
}
