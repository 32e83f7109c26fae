use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Location;

/// Skipped records a summary keeps in full, unless the builder says
/// otherwise ([`ExportBuilder::max_skipped_records`](crate::ExportBuilder::max_skipped_records)).
pub const DEFAULT_MAX_SKIPPED_RECORDS: usize = 1_000;

/// What an export did: the figures the export log and the metrics use.
///
/// Nothing is dropped silently: every input record is either written,
/// `excluded` by the scope, or counted in `skipped_total` with its reason.
/// Memory stays bounded however many records are malformed: `skipped` keeps
/// the first ones in full (1,000 by default), `skipped_by_reason` counts
/// them all by the kind of their reason.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExportSummary {
    /// Format name (`jsonl`, …).
    pub format: String,
    /// Conversations written.
    pub conversations: u64,
    /// Turns written.
    pub turns: u64,
    /// Turns cut to 500 characters (`includeFullContent: false`).
    pub truncated_turns: u64,
    /// Bytes of output.
    pub bytes: u64,
    /// SHA-256 of the output, lowercase hex.
    pub sha256: String,
    /// Well-formed records left out because the scope does not cover them.
    pub excluded: u64,
    /// The first skipped records, each with where it was and why.
    pub skipped: Vec<SkippedRecord>,
    /// Records not written, all of them (`skipped` may hold fewer).
    #[serde(default)]
    pub skipped_total: u64,
    /// Every skipped record counted by the kind of its reason: the reason's
    /// text up to its first colon (`not a valid conversation`, …).
    #[serde(default)]
    pub skipped_by_reason: BTreeMap<String, u64>,
    /// Conversations written whose status is not `approved`.
    #[serde(default)]
    pub not_approved: u64,
    /// Conversations written whose `conversation_id` an earlier written one
    /// had (with `dedupe`, they are skipped instead and not counted here).
    #[serde(default)]
    pub duplicate_ids: u64,
    /// Ids of scope `selected` that no input record had.
    pub missing_ids: Vec<String>,
    /// Conversations written per tier.
    pub tier_distribution: BTreeMap<String, u64>,
    /// Things the caller should know (metadata that needed a sidecar, …),
    /// each with a stable [`WarningCode`]; in JSON, their sentences.
    pub warnings: Vec<Warning>,
    /// Fields of the conversations written that the format cannot carry
    /// and left out, counted per field: messages for message fields
    /// (`reasoning`, `weight`, `name`, `tool_calls`, `tool_call_id`,
    /// `image_parts`, `developer_role` written as `system`), conversations
    /// for `tools`, `preference` and `messages`. Empty when nothing was left
    /// out; each export with some also has a
    /// [`WarningCode::FieldsDropped`] warning.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dropped_fields: BTreeMap<String, u64>,
    /// The input's columns that were neither read as a field nor kept in
    /// `user_fields`, each with the number of rows that had a value in it
    /// (see [`Reading`](crate::source::Reading)). Empty when there was none;
    /// else the export also has a [`WarningCode::ColumnsIgnored`] warning.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ignored_fields: BTreeMap<String, u64>,
    /// Token counts, when the export counted them with a tokenizer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<crate::tokens::TokenSummary>,
}

impl ExportSummary {
    /// The tier for the file name: the only tier written, `mixed` when there
    /// were several, `none` when nothing was written.
    pub fn tier_label(&self) -> &str {
        let mut tiers = self.tier_distribution.keys();
        match (tiers.next(), tiers.next()) {
            (None, _) => "none",
            (Some(t), None) => t,
            _ => "mixed",
        }
    }

    /// Counts a skipped record and keeps it in `skipped` while fewer than
    /// `keep` are kept.
    ///
    /// ```
    /// use lora_export_core::{ExportSummary, Location, SkippedRecord};
    /// let mut summary = ExportSummary::default();
    /// for line in 1..=3 {
    ///     let reason = format!("not valid JSON: at column {line}");
    ///     summary.record_skipped(SkippedRecord { location: Location::line(line), conversation_id: None, reason }, 2);
    /// }
    /// assert_eq!((summary.skipped.len(), summary.skipped_total), (2, 3));
    /// assert_eq!(summary.skipped_by_reason["not valid JSON"], 3);
    /// ```
    pub fn record_skipped(&mut self, skipped: SkippedRecord, keep: usize) {
        self.skipped_total += 1;
        let kind = skipped.reason_kind();
        match self.skipped_by_reason.get_mut(kind) {
            Some(n) => *n += 1,
            None => {
                self.skipped_by_reason.insert(kind.to_owned(), 1);
            }
        }
        if self.skipped.len() < keep {
            self.skipped.push(skipped);
        }
    }
}

/// An input record that was not exported, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedRecord {
    /// Where it was in the input (line for JSONL, record for other sources).
    pub location: Location,
    /// Its `conversation_id`, when it had a readable one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    /// Why it was skipped.
    pub reason: String,
}

impl SkippedRecord {
    /// The kind of the reason: its text up to the first colon.
    ///
    /// ```
    /// use lora_export_core::{Location, SkippedRecord};
    /// let s = SkippedRecord { location: Location::record(1), conversation_id: None,
    ///     reason: "not a valid conversation: turns[0].content: invalid type".into() };
    /// assert_eq!(s.reason_kind(), "not a valid conversation");
    /// ```
    pub fn reason_kind(&self) -> &str {
        self.reason.split(':').next().unwrap_or_default().trim()
    }
}

/// What a [`Warning`] is about. Front doors decide on the code (Python
/// raises `LoraExportWarning` for some), never on the sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WarningCode {
    /// A JSONL flavor without extra keys and no metadata sidecar: the
    /// metadata was not written.
    MetadataNotWritten,
    /// More records were skipped than the export allows, and it was asked
    /// to warn instead of failing.
    TooManySkipped,
    /// Conversations repeat a `conversation_id` written before them.
    DuplicateIds,
    /// A dataset kept conversations repeating the id or the turns of an
    /// earlier one (without dedupe).
    DuplicatesKept,
    /// Conversations written are not approved although the scope meant
    /// approved ones.
    NotApproved,
    /// The default scope (`all`, the request named none) left out
    /// conversations that are not approved.
    NotApprovedLeftOut,
    /// The format left out fields it cannot carry (see
    /// [`ExportSummary::dropped_fields`]).
    FieldsDropped,
    /// Records were skipped (fewer than the limits refuse): how many, and
    /// the most frequent reasons.
    Skipped,
    /// Records had fields named as the platform's whose values mean
    /// something else (`status: "done"`): they were kept as the record's own,
    /// in the metadata's `user_fields`.
    UserFieldsKept,
    /// The input had columns that were neither read nor kept (see
    /// [`ExportSummary::ignored_fields`]).
    ColumnsIgnored,
    /// Conversations of one split of a dataset repeat (by id or turns) one
    /// of another split: a leak between splits.
    SplitLeak,
    /// A warning read back from JSON, where only the sentence is kept.
    Other,
}

impl WarningCode {
    /// The code as `snake_case` text (`too_many_skipped`).
    pub fn as_str(self) -> &'static str {
        match self {
            WarningCode::MetadataNotWritten => "metadata_not_written",
            WarningCode::TooManySkipped => "too_many_skipped",
            WarningCode::DuplicateIds => "duplicate_ids",
            WarningCode::DuplicatesKept => "duplicates_kept",
            WarningCode::NotApproved => "not_approved",
            WarningCode::NotApprovedLeftOut => "not_approved_left_out",
            WarningCode::FieldsDropped => "fields_dropped",
            WarningCode::Skipped => "skipped",
            WarningCode::UserFieldsKept => "user_fields_kept",
            WarningCode::ColumnsIgnored => "columns_ignored",
            WarningCode::SplitLeak => "split_leak",
            WarningCode::Other => "other",
        }
    }
}

/// Something the caller of an export should know that did not stop it: a
/// [`WarningCode`] and a sentence. In JSON a warning is its sentence (a
/// summary's `"warnings": ["…"]`, as the bindings show it); read back, its
/// code is [`WarningCode::Other`].
///
/// ```
/// use lora_export_core::{Warning, WarningCode};
/// let w = Warning::new(WarningCode::DuplicateIds, "2 conversations repeat a conversation_id");
/// assert_eq!(serde_json::to_string(&w).unwrap(), r#""2 conversations repeat a conversation_id""#);
/// assert_eq!(w.to_string(), w.message);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// What it is about.
    pub code: WarningCode,
    /// The sentence for a person.
    pub message: String,
}

impl Warning {
    /// A warning.
    pub fn new(code: WarningCode, message: impl Into<String>) -> Self {
        Warning { code, message: message.into() }
    }
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl Serialize for Warning {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.message)
    }
}

impl<'de> Deserialize<'de> for Warning {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        Ok(Warning::new(WarningCode::Other, String::deserialize(deserializer)?))
    }
}
