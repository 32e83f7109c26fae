//! [`RequestParts`]: an export request as a front door gathers it — the
//! command line's flags, Python's keyword arguments — built into an
//! [`ExportRequest`] by one rule: the format fills the config's, and a
//! request that names no scope gets one from what it gives
//! ([`RequestParts::build`]).

use serde_json::{Map, Value};

use super::validate_request;
use crate::model::ExportRequest;
use crate::Issue;

/// The pieces of an export request before they are one: each optional.
#[derive(Debug, Clone, Default)]
pub struct RequestParts {
    /// The format (`--format`, `format=`); it fills `config.format` and
    /// must agree with it when both are given. Neither: `jsonl`.
    pub format: Option<String>,
    /// The export config as the API takes it (camelCase keys).
    pub config: Map<String, Value>,
    /// Filters of scope `filtered`.
    pub filters: Option<Value>,
    /// Conversation ids of scope `selected`.
    pub conversation_ids: Option<Vec<Value>>,
    /// The single file's compression (`none`, `gzip`, `zstd`), the
    /// request's `compression`.
    pub compression: Option<String>,
    /// The user's column → platform field (`columns=`), the request's
    /// `columns`.
    pub columns: Option<Value>,
    /// The row's other columns to carry (`keep_columns=`: `true`, or a
    /// list of names), the request's `keepColumns`.
    pub keep_columns: Option<Value>,
}

impl RequestParts {
    /// The validated request. A config without `scope` gets `selected` when
    /// ids are given, `filtered` with filters, else `all`: the approved
    /// conversations only — a record without a review status counts as
    /// approved, and what the default leaves out is counted and warned
    /// about ([`WarningCode::NotApprovedLeftOut`](crate::WarningCode::NotApprovedLeftOut)).
    /// Every problem is an [`Issue`] with its path, as for an API request.
    ///
    /// ```
    /// use lora_export_core::model::{Format, Scope};
    /// use lora_export_core::request::RequestParts;
    /// let parts = RequestParts { format: Some("csv".into()), ..RequestParts::default() };
    /// let request = parts.build().unwrap();
    /// assert_eq!((request.config.format, request.config.scope), (Format::Csv, Scope::All));
    /// assert!(request.scope_defaulted);
    ///
    /// let ids = RequestParts { conversation_ids: Some(vec!["c1".into()]), ..RequestParts::default() };
    /// assert_eq!(ids.build().unwrap().config.scope, Scope::Selected);
    ///
    /// let mut config = serde_json::Map::new();
    /// config.insert("format".into(), "json".into());
    /// let clash = RequestParts { format: Some("csv".into()), config, ..RequestParts::default() };
    /// assert_eq!(clash.build().unwrap_err()[0].code, "conflict");
    /// ```
    pub fn build(self) -> Result<ExportRequest, Vec<Issue>> {
        let RequestParts {
            format,
            mut config,
            filters,
            conversation_ids,
            compression,
            columns,
            keep_columns,
        } = self;
        match (format, config.get("format")) {
            (Some(f), Some(Value::String(given))) if *given != f => {
                let message = format!("format `{f}` disagrees with config.format `{given}`");
                return Err(vec![Issue::new("config.format", "conflict", message)]);
            }
            (Some(f), _) => {
                config.insert("format".into(), f.into());
            }
            (None, None) => {
                config.insert("format".into(), "jsonl".into());
            }
            (None, Some(_)) => {}
        }
        let scope_defaulted = !config.contains_key("scope");
        if scope_defaulted {
            let scope = match (&conversation_ids, &filters) {
                (Some(_), _) => "selected",
                (None, Some(_)) => "filtered",
                (None, None) => "all",
            };
            config.insert("scope".into(), scope.into());
        }
        let mut body = Map::new();
        body.insert("config".into(), Value::Object(config));
        if let Some(ids) = conversation_ids {
            body.insert("conversationIds".into(), Value::Array(ids));
        }
        if let Some(filters) = filters {
            body.insert("filters".into(), filters);
        }
        if let Some(compression) = compression {
            body.insert("compression".into(), compression.into());
        }
        if let Some(columns) = columns {
            body.insert("columns".into(), columns);
        }
        if let Some(keep) = keep_columns {
            body.insert("keepColumns".into(), keep);
        }
        let mut request = validate_request(&Value::Object(body))?;
        request.scope_defaulted = scope_defaulted;
        Ok(request)
    }
}
