//! Validation of an untrusted export request — the seeds' Zod layer, in Rust.
//!
//! [`validate_request`] walks the JSON by hand and reports **every** problem
//! at once, each as an [`Issue`] with a dotted `path` (`config.format`,
//! `filters.qualityRange.min`, `conversationIds[3]`), a stable `code` and a
//! human `message`. Only when there is none is the typed [`ExportRequest`]
//! returned.
//!
//! | code | path | when |
//! |---|---|---|
//! | `invalid_json` | `""` | the text is not JSON (the message has line and column) |
//! | `invalid_type` | the value | wrong JSON type, e.g. a string where a boolean belongs; `null` is accepted only where a field is optional |
//! | `required` | the missing key | `config`, `config.scope`, `config.format`, `filters.qualityRange.min`/`.max` absent |
//! | `unknown_key` | the key | a key the schema does not know, at any level; the message suggests the closest known key ("did you mean `qualityRange`?") |
//! | `invalid_enum` | the value | unknown scope, format, jsonlFlavor, tier, status or compression; the message lists the allowed values |
//! | `conflict` | `compression` | a compressed single file asked of a `dataset`, whose files `dataset.compression` compresses |
//! | `conflict` | `compression`, `dataset.compression` | compression asked of a `parquet` export, whose pages Parquet compresses itself |
//! | `no_text_form` | `config.format` | a preview of a binary format (`parquet`), from [`render_preview`](crate::pipeline::render_preview) |
//! | `ids_required` | `conversationIds` | scope `selected` without a non-empty `conversationIds` |
//! | `filters_required` | `filters` | scope `filtered` without `filters` |
//! | `unused_field` | `conversationIds` or `filters` | given (not `null`) for a scope that does not use it |
//! | `out_of_range` | `filters.qualityRange.min`/`.max` | a bound outside 0–10 |
//! | `min_greater_than_max` | `filters.qualityRange` | `min > max` |
//! | `invalid_date` | `filters.dateRange.from`/`.to` | not an ISO-8601 instant or date ([`Timestamp::parse`](crate::model::Timestamp::parse)) |
//! | `from_after_to` | `filters.dateRange` | no instant lies between `from` and `to` |
//! | `too_many_ids` | `conversationIds` | more than [`MAX_SELECTED_IDS`] ids (the items are then not checked one by one) |
//! | `too_short`, `too_long` | `filters.searchQuery` | a search term (trimmed) of fewer than [`MIN_SEARCH_CHARS`] or more than [`MAX_SEARCH_CHARS`] characters; a blank one is no search |
//! | `too_long` | `conversationIds[i]`, `filters.parentId`, `filters.categories[i]` (and `personas`, `emotions`, `topics`), `config.systemPrompt` | longer than [`MAX_ID_BYTES`], [`MAX_FILTER_TEXT_BYTES`] or [`MAX_SYSTEM_PROMPT_BYTES`] bytes |
//! | `too_many_items` | `filters.tierTypes` (and every list filter) | more than [`MAX_FILTER_ITEMS`] items |
//! | `too_many_parts` | `dataset.split` | more than [`MAX_SPLIT_PARTS`](crate::dataset::MAX_SPLIT_PARTS) parts |
//! | `too_deep`, `too_large` | the top-level key | nested more than [`MAX_DEPTH`] levels, or more than [`MAX_VALUES`] values or [`MAX_TEXT_BYTES`] bytes of text ([`check_shape`]) |
//! | `duplicate_id` | `conversationIds[i]` | the id already appeared; the message names the first index |
//! | `empty_id` | `conversationIds[i]` | an id that is empty or only whitespace |
//! | `bad_sum`, `invalid_name`, `duplicate`, `out_of_range`, `invalid` | `dataset.split[.part]` | a split whose shares do not sum to 1, a part name not `[a-z][a-z0-9_]*`, a part twice, a share outside (0, 1], an item not `name=share` |
//! | `out_of_range` | `dataset.seed`, `dataset.maxRecordsPerShard`, `dataset.maxBytesPerShard`, `dataset.maxTokens` | not a whole number from 0, [`MIN_RECORDS_PER_SHARD`](crate::dataset::MIN_RECORDS_PER_SHARD) (10), [`MIN_BYTES_PER_SHARD`](crate::dataset::MIN_BYTES_PER_SHARD) (16 KiB) and 1 respectively to 2⁵³ − 1 |
//! | `invalid_enum`, `unsupported` | `dataset.tokenizer` | not `o200k_base` or `cl100k_base` (a request names no file of the server), or a build without the `tokenizers` feature |
//! | `requires_tokenizer` | `dataset.maxTokens` | a token limit without a `tokenizer` to count with |
//! | `unsupported` | `dataset.chatTemplate` | a chat template needs a `tokenizer.json`, which a request cannot name |
//! | `invalid_type` | `columns.<column>`, `keepColumns[i]` | `columns` not an object of field names, `keepColumns` not a boolean or a list of column names |
//! | `invalid_enum`, `duplicate`, `conflict`, `too_many_items`, `empty_name` | `columns.<column>`, `keepColumns[i]` | a column mapped to a field the record does not have, two columns mapped to one field, a column both mapped and kept, more than [`MAX_MAPPED_COLUMNS`](crate::model::MAX_MAPPED_COLUMNS) mapped, an empty name ([`check_columns`](crate::model::check_columns)) |
//!
//! At most [`MAX_ISSUES`] issues are returned, and a value a message quotes
//! is cut to 64 characters: an answer never grows with a hostile input.
//! Typo suggestions ("did you mean") are made for keys and values of at
//! most 64 characters, so validation takes time linear in the request.
//!
//! Order: issues follow the schema — `config`, `conversationIds`, `filters`,
//! each walked in the model's field order, a range's cross-field check after
//! its bounds, and an object's unknown keys last, alphabetically.
//!
//! Decisions:
//! - `null` for an optional field means "absent", as serde reads it.
//!   Defaulted options that are not optional types (the `include*` flags,
//!   `csvFormulaGuard`, `jsonlFlavor`) must be omitted rather than `null`.
//! - An empty or whitespace-only `searchQuery`, an empty list filter
//!   (`tierTypes: []`) and an empty `filters: {}` are valid: each means "no
//!   constraint" (see [`crate::scope`]).
//! - Config options that a format does not use (`jsonlFlavor` with CSV, …)
//!   are accepted: one UI sends one config shape for every format, and they
//!   never change which conversations are exported. Ids and filters do, so
//!   they are `unused_field` when the scope ignores them.
//! - JSON has no NaN or infinity; a number too large for `f64` is
//!   `invalid_json`.

use serde::Deserialize;
use serde_json::Value;

use crate::model::ExportRequest;
use crate::Issue;

mod build;
mod limits;
mod validation;

pub use build::RequestParts;
pub use limits::{check_shape, ShapeBudget, MAX_DEPTH, MAX_TEXT_BYTES, MAX_VALUES};

#[cfg(test)]
mod tests;

/// The most ids a `selected` export may list.
///
/// ```
/// use lora_export_core::request::{validate_request, MAX_SELECTED_IDS};
/// let ids: Vec<String> = (0..=MAX_SELECTED_IDS).map(|i| format!("c{i}")).collect();
/// let request = serde_json::json!({
///     "config": {"scope": "selected", "format": "csv"}, "conversationIds": ids,
/// });
/// assert_eq!(validate_request(&request).unwrap_err()[0].code, "too_many_ids");
/// ```
pub const MAX_SELECTED_IDS: usize = 10_000;

/// The fewest characters of a search term (`filters.searchQuery`, trimmed):
/// a shorter one matches nearly everything at the cost of a full scan.
///
/// ```
/// use lora_export_core::request::validate_request;
/// let search = |q: &str| serde_json::json!({
///     "config": {"scope": "filtered", "format": "csv"}, "filters": {"searchQuery": q},
/// });
/// assert_eq!(validate_request(&search(" ab ")).unwrap_err()[0].code, "too_short");
/// assert_eq!(validate_request(&search(&"x".repeat(201))).unwrap_err()[0].code, "too_long");
/// assert!(validate_request(&search("abc")).is_ok() && validate_request(&search(" ")).is_ok());
/// ```
pub const MIN_SEARCH_CHARS: usize = 3;

/// The most characters of a search term (`filters.searchQuery`, trimmed).
pub const MAX_SEARCH_CHARS: usize = 200;

/// The longest conversation id, in bytes (`conversationIds[i]`, `filters.parentId`).
pub const MAX_ID_BYTES: usize = 256;

/// The longest `config.systemPrompt`, in bytes (64 KiB): it is written into
/// every record, so its length is multiplied by the export's size.
pub const MAX_SYSTEM_PROMPT_BYTES: usize = 64 * 1024;

/// The longest item of a text list filter (`categories`, `personas`,
/// `emotions`, `topics`), in bytes.
pub const MAX_FILTER_TEXT_BYTES: usize = 256;

/// The most items of one list filter (`tierTypes`, `statuses`, `categories`, …).
pub const MAX_FILTER_ITEMS: usize = 100;

/// The most issues one validation returns (the first ones, in schema order).
pub const MAX_ISSUES: usize = 100;

/// Checks an export request given as a JSON value and returns it typed, or
/// every problem found (see the [module docs](self) for codes and order).
///
/// ```
/// use lora_export_core::request::validate_request;
/// let request = serde_json::json!({
///     "config": {"scope": "filtered", "format": "jsonl"},
///     "filters": {"qualityRange": {"min": 7, "max": 11}, "tierType": ["template"]},
/// });
/// let issues = validate_request(&request).unwrap_err();
/// let found: Vec<_> = issues.iter().map(|i| (i.path.as_str(), i.code.as_str())).collect();
/// assert_eq!(found, [
///     ("filters.qualityRange.max", "out_of_range"),
///     ("filters.tierType", "unknown_key"),
/// ]);
/// assert!(issues[1].message.contains("did you mean `tierTypes`?"));
/// ```
pub fn validate_request(value: &Value) -> Result<ExportRequest, Vec<Issue>> {
    check_shape(value).map_err(|issue| vec![issue])?;
    let mut issues = validation::check(value);
    if !issues.is_empty() {
        issues.truncate(MAX_ISSUES);
        return Err(issues);
    }
    // A backstop: the walk above accepts exactly what serde accepts.
    ExportRequest::deserialize(value)
        .map_err(|e| vec![Issue::new("", "invalid_type", e.to_string())])
}

/// [`validate_request`] for an export that reads tables, not rows the caller
/// passes (the PostgreSQL service): `columns` and `keepColumns` say how to
/// read a caller's rows, so such a request naming them is refused with
/// `not_supported` issues rather than exported as if they were applied.
///
/// ```
/// use lora_export_core::request::validate_table_request;
/// let body = serde_json::json!({"config": {"scope": "all", "format": "jsonl"}, "columns": {"dialog": "messages"}});
/// let issues = validate_table_request(&body).unwrap_err();
/// assert_eq!((issues[0].path.as_str(), issues[0].code.as_str()), ("columns", "not_supported"));
/// ```
pub fn validate_table_request(value: &Value) -> Result<ExportRequest, Vec<Issue>> {
    let request = validate_request(value)?;
    let mut issues = Vec::new();
    let why = "the export reads the database's tables; this option reads rows passed to export()";
    if !request.columns.is_empty() {
        issues.push(Issue::new("columns", "not_supported", why));
    }
    if !request.keep_columns.is_none() {
        issues.push(Issue::new("keepColumns", "not_supported", why));
    }
    if issues.is_empty() {
        Ok(request)
    } else {
        Err(issues)
    }
}

/// Parses `text` as JSON and checks it with [`validate_request`]. Text that
/// is not JSON gives one `invalid_json` issue at path `""`.
///
/// ```
/// use lora_export_core::model::{Format, Scope};
/// use lora_export_core::request::validate_request_json;
/// let ok = validate_request_json(r#"{"config":{"scope":"all","format":"csv"}}"#).unwrap();
/// assert_eq!((ok.config.scope, ok.config.format), (Scope::All, Format::Csv));
///
/// let bad = validate_request_json("{\"config\":\n  {,}").unwrap_err();
/// assert_eq!((bad[0].path.as_str(), bad[0].code.as_str()), ("", "invalid_json"));
/// assert!(bad[0].message.contains("line 2 column 4"));
/// ```
pub fn validate_request_json(text: &str) -> Result<ExportRequest, Vec<Issue>> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| vec![Issue::new("", "invalid_json", format!("not valid JSON: {e}"))])?;
    validate_request(&value)
}
