use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{ConversationStatus, ExportConfig, KeepColumns, Tier};
use crate::compress::Compression;

/// The body of `POST /api/export/conversations`: a config, and the ids or the
/// filters its scope needs.
///
/// Build one from untrusted JSON with
/// [`validate_request`](crate::request::validate_request), which reports every
/// problem with its path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExportRequest {
    /// What to export and how.
    pub config: ExportConfig,
    /// For scope `selected`: the conversations' `conversation_id` (or `id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_ids: Option<Vec<String>>,
    /// For scope `filtered`: the filters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<FilterConfig>,
    /// Written as a training set (splits, shards, compression, a dataset
    /// card): several files instead of one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<super::DatasetOptions>,
    /// How a single-file export's file is compressed (default none): its
    /// name ends in `.gz` or `.zst` and its size and SHA-256 are of the
    /// compressed bytes. A dataset compresses with `dataset.compression`.
    #[serde(default, skip_serializing_if = "Compression::is_none")]
    pub compression: Compression,
    /// How the user's rows name the platform's fields: column → field
    /// (`{"dialog": "messages", "uid": "conversation_id"}`; default none,
    /// every column read under its own name). Each reader applies it
    /// ([`source::Reading`](crate::source::Reading)); checked by
    /// [`check_columns`](super::check_columns).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub columns: BTreeMap<String, String>,
    /// Which of the row's other columns are carried into the metadata's
    /// `user_fields` (default none: they are counted in the summary's
    /// `ignored_fields` and warned about).
    #[serde(default, skip_serializing_if = "KeepColumns::is_none")]
    pub keep_columns: KeepColumns,
    /// Whether the scope is the default a front door chose because the
    /// request named none ([`RequestParts::build`](crate::request::RequestParts::build)):
    /// the export then warns about what the scope left out. Never part of
    /// the request's JSON.
    #[serde(skip)]
    pub scope_defaulted: bool,
}

impl ExportRequest {
    /// A request with no ids and no filters (scopes `all` and `all_data`).
    pub fn new(config: ExportConfig) -> Self {
        ExportRequest {
            config,
            conversation_ids: None,
            filters: None,
            dataset: None,
            compression: Compression::None,
            columns: BTreeMap::new(),
            keep_columns: KeepColumns::None,
            scope_defaulted: false,
        }
    }
}

/// Filters of scope `filtered`. Every field is optional; the conditions of
/// all present fields must hold together (AND). Semantics are in
/// [`crate::scope`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FilterConfig {
    /// Tier is one of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier_types: Option<Vec<Tier>>,
    /// Status is one of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statuses: Option<Vec<ConversationStatus>>,
    /// Quality score within these bounds (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality_range: Option<QualityRange>,
    /// `createdAt` within these bounds (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_range: Option<DateRange>,
    /// At least one category in common.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<String>>,
    /// Persona is one of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personas: Option<Vec<String>>,
    /// Emotion is one of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emotions: Option<Vec<String>>,
    /// Topic is one of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topics: Option<Vec<String>>,
    /// Case-insensitive substring of the title or of any turn's content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_query: Option<String>,
    /// `parentId` equals this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
}

/// Inclusive bounds on the quality score (0–10).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QualityRange {
    /// Lowest score kept.
    pub min: f64,
    /// Highest score kept.
    pub max: f64,
}

/// Inclusive bounds on `createdAt`, as ISO-8601 strings. Either may be
/// absent. A plain date in `to` means through the end of that day (UTC).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DateRange {
    /// Earliest `createdAt` kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Latest `createdAt` kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}
