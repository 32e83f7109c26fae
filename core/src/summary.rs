use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Location;

/// What an export did: the figures the export log and the metrics use.
///
/// Nothing is dropped silently: every input record is either written,
/// `excluded` by the scope, or listed in `skipped` with its reason.
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
    /// Records not written, each with where it was and why.
    pub skipped: Vec<SkippedRecord>,
    /// Ids of scope `selected` that no input record had.
    pub missing_ids: Vec<String>,
    /// Conversations written per tier.
    pub tier_distribution: BTreeMap<String, u64>,
    /// Things the caller should know (metadata that needed a sidecar, …).
    pub warnings: Vec<String>,
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
