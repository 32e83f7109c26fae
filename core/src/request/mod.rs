//! STUB — to be replaced by request validation.
#![allow(missing_docs)]
use crate::model::ExportRequest;
use crate::Issue;

pub fn validate_request(value: &serde_json::Value) -> Result<ExportRequest, Vec<Issue>> {
    serde_json::from_value(value.clone())
        .map_err(|e| vec![Issue::new("", "invalid", e.to_string())])
}

pub fn validate_request_json(text: &str) -> Result<ExportRequest, Vec<Issue>> {
    let v: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| vec![Issue::new("", "invalid_json", e.to_string())])?;
    validate_request(&v)
}
