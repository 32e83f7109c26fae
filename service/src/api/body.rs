//! Reading the small request bodies of the modal's operations (counts,
//! preview, the conversations page): an object with known keys, whose
//! selection parts are checked by the export request's own validation, so
//! every problem is an issue at its real path.

use lora_export_core::ErrorKind as CoreKind;
use serde_json::{json, Map, Value};

use crate::Result;
use lora_export_core::model::ExportRequest;
use lora_export_core::request::validate_request;
use lora_export_core::Issue;

/// `body` as an object with only `allowed` keys (absent or `null`: empty).
pub(super) fn object_of(body: &Value, allowed: &[&str]) -> Result<Map<String, Value>> {
    let object = match body {
        Value::Null => return Ok(Map::new()),
        Value::Object(object) => object,
        _ => {
            let issue = Issue::new("", "invalid_type", "the body must be a JSON object");
            return Err(CoreKind::InvalidRequest(vec![issue]).into());
        }
    };
    let unknown: Vec<Issue> = object
        .keys()
        .filter(|key| !allowed.contains(&key.as_str()))
        .map(|key| {
            let known = allowed.join("`, `");
            Issue::new(
                key.clone(),
                "unknown_key",
                format!("unknown key `{key}` (known: `{known}`)"),
            )
        })
        .collect();
    if !unknown.is_empty() {
        return Err(CoreKind::InvalidRequest(unknown).into());
    }
    Ok(object.clone())
}

/// The export request of `scope` (`selected`, `filtered`, `all`,
/// `all_data`) over the part of `body` that scope reads — `conversationIds`
/// or `filters` (none: every conversation) — checked as an export request
/// would be, so its issues have the body's paths.
pub(super) fn selection_request(
    scope: &str,
    body: &Map<String, Value>,
) -> std::result::Result<ExportRequest, Vec<Issue>> {
    let mut request = json!({ "config": { "scope": scope, "format": "jsonl" } });
    let part = match scope {
        "selected" => Some(("conversationIds", Value::Null)),
        "filtered" => Some(("filters", json!({}))),
        _ => None,
    };
    if let Some((key, absent)) = part {
        request[key] = body.get(key).filter(|v| !v.is_null()).cloned().unwrap_or(absent);
    }
    validate_request(&request)
}

/// An optional whole number in `min..=max` at `key`, else `default`.
pub(super) fn number_in(
    body: &Map<String, Value>,
    key: &str,
    (min, max): (u32, u32),
    default: u32,
    issues: &mut Vec<Issue>,
) -> u32 {
    match body.get(key) {
        None | Some(Value::Null) => default,
        Some(value) => match value.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) if (min..=max).contains(&n) => n,
            _ => {
                let message = format!("`{key}` must be a whole number from {min} to {max}");
                issues.push(Issue::new(key, "out_of_range", message));
                default
            }
        },
    }
}
