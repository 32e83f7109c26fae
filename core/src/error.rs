//! The one error type of the crate: [`Error`], its [`ErrorKind`], and the
//! [`Issue`]s a request validation reports.

use std::fmt;
use std::io;

/// A `Result` whose error is this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Where in an input or output a problem was found.
///
/// Every field is optional: a JSONL input has lines, a CSV output has rows
/// and fields, a JSON document has a path (`conversations[3].turns[0].role`).
///
/// ```
/// use lora_export_core::Location;
/// let at = Location::line(7).with_field("messages[1].content");
/// assert_eq!(at.to_string(), "line 7, field messages[1].content");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Location {
    /// 1-based line number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// 1-based record number (a CSV row, a JSON array element).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<u64>,
    /// A field name or a JSON path inside the record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl Location {
    /// A location at a 1-based line.
    pub fn line(line: u64) -> Self {
        Location { line: Some(line), ..Location::default() }
    }

    /// A location at a 1-based record.
    pub fn record(record: u64) -> Self {
        Location { record: Some(record), ..Location::default() }
    }

    /// This location narrowed to a field or JSON path.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(line) = self.line {
            parts.push(format!("line {line}"));
        }
        if let Some(record) = self.record {
            parts.push(format!("record {record}"));
        }
        if let Some(field) = &self.field {
            parts.push(format!("field {field}"));
        }
        if parts.is_empty() {
            f.write_str("start of input")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

/// One problem found in an export request: where (`path`), what (`code`),
/// and a sentence for a human (`message`).
///
/// ```
/// use lora_export_core::request::validate_request_json;
/// let issues = validate_request_json(r#"{"config":{"scope":"all","format":"xml"}}"#).unwrap_err();
/// assert!(issues.iter().any(|i| i.path == "config.format" && i.code == "invalid_enum"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Issue {
    /// Dotted path of the offending value, e.g. `filters.qualityRange.min`.
    pub path: String,
    /// A stable machine-readable code, e.g. `out_of_range`.
    pub code: String,
    /// A human-readable explanation.
    pub message: String,
}

impl Issue {
    /// Builds an issue.
    pub fn new(
        path: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Issue { path: path.into(), code: code.into(), message: message.into() }
    }
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.path, self.message, self.code)
    }
}

/// The kinds of error this crate reports. Match on [`Error::kind`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Reading input or writing output failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// An export request is invalid; every problem is listed.
    #[error("invalid export request: {}", join_issues(.0))]
    InvalidRequest(Vec<Issue>),
    /// An input record is malformed (only fatal when the export was asked to
    /// stop at the first malformed record).
    #[error("malformed record at {location}: {reason}")]
    MalformedRecord {
        /// Where the record is.
        location: Location,
        /// The record's `conversation_id`, when it has one.
        conversation_id: Option<String>,
        /// Why it was refused.
        reason: String,
    },
    /// More of the input was skipped than the export allows (by default:
    /// every record), so the output would be empty or misleading.
    #[error("{skipped} of {records} input records were skipped ({limit}); the first at {first}")]
    TooManySkipped {
        /// Records skipped.
        skipped: u64,
        /// Records read.
        records: u64,
        /// The limit that was passed, in words (`nothing was written`,
        /// `more than 10% of the records`).
        limit: String,
        /// The first skipped record's location and reason.
        first: String,
    },
    /// Nothing to export: the input held no record at all (an empty file,
    /// list or table, and the export was not told an empty one is fine:
    /// [`ExportBuilder::allow_empty`](crate::ExportBuilder::allow_empty)),
    /// or the export's scope, filters and ids match no conversation (nothing
    /// is logged or written). HTTP 400; the text says which.
    #[error("no conversations to export: {0}")]
    NoConversations(&'static str),
    /// A format name that no transformer is registered for.
    #[error("unknown export format `{0}`")]
    UnknownFormat(String),
    /// An export log status change that the lifecycle forbids.
    #[error("invalid status transition from {from} to {to}")]
    InvalidTransition {
        /// Current status.
        from: String,
        /// Requested status.
        to: String,
    },
    /// The output format cannot represent this conversation (it is skipped
    /// and listed in the export summary).
    #[error("conversation refused by the format: {0}")]
    Rejected(String),
    /// A configuration value is missing or invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A failure whose detail must not reach a client (a database or
    /// storage error in the service): the message names only its code and
    /// an error id; the detail is for the server's log (HTTP 500).
    #[error("internal error {code} (error id {error_id}); the detail is in the server log")]
    Internal {
        /// The stable code (`DATABASE_ERROR`, `IO_ERROR`, …).
        code: &'static str,
        /// The id the server's log records the detail under.
        error_id: uuid::Uuid,
        /// What happened, for the log only.
        detail: String,
    },
    /// Writing CSV failed.
    #[error("CSV error: {0}")]
    Csv(#[from] csv::Error),
    /// Serialising JSON failed.
    #[error("JSON error: {0}")]
    Json(#[from] serde_json::Error),
}

/// The JSON type of `value` as a phrase for messages ("a string", "null").
pub(crate) fn json_type_name(value: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn join_issues(issues: &[Issue]) -> String {
    issues.iter().map(Issue::to_string).collect::<Vec<_>>().join("; ")
}

/// The error type of this crate: a boxed [`ErrorKind`], so `Result<T>` stays
/// one pointer wide.
///
/// ```
/// use lora_export_core::{Error, ErrorKind};
/// let err = Error::from(ErrorKind::UnknownFormat("xml".into()));
/// assert_eq!(err.code(), "UNKNOWN_FORMAT");
/// assert_eq!(err.http_status(), 400);
/// ```
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct Error(Box<ErrorKind>);

impl Error {
    /// The kind of this error.
    pub fn kind(&self) -> &ErrorKind {
        &self.0
    }

    /// Consumes the error, returning its kind.
    pub fn into_kind(self) -> ErrorKind {
        *self.0
    }

    /// A stable, upper-snake-case code that bindings expose (`err.code` in
    /// JavaScript, the exception class in Python).
    pub fn code(&self) -> &'static str {
        match &*self.0 {
            ErrorKind::Io(_) => "IO_ERROR",
            ErrorKind::InvalidRequest(_) => "VALIDATION_ERROR",
            ErrorKind::MalformedRecord { .. } => "MALFORMED_RECORD",
            ErrorKind::TooManySkipped { .. } => "TOO_MANY_SKIPPED",
            ErrorKind::NoConversations(_) => "NO_CONVERSATIONS",
            ErrorKind::UnknownFormat(_) => "UNKNOWN_FORMAT",
            ErrorKind::Rejected(_) => "REJECTED_BY_FORMAT",
            ErrorKind::InvalidTransition { .. } => "INVALID_TRANSITION",
            ErrorKind::Config(_) => "CONFIG_ERROR",
            ErrorKind::Internal { code, .. } => code,
            ErrorKind::Csv(_) => "CSV_ERROR",
            ErrorKind::Json(_) => "JSON_ERROR",
        }
    }

    /// The HTTP status an API route should answer with for this error.
    pub fn http_status(&self) -> u16 {
        match &*self.0 {
            ErrorKind::InvalidRequest(_)
            | ErrorKind::MalformedRecord { .. }
            | ErrorKind::UnknownFormat(_)
            | ErrorKind::NoConversations(_)
            | ErrorKind::Rejected(_) => 400,
            ErrorKind::InvalidTransition { .. } => 409,
            ErrorKind::TooManySkipped { .. } => 422,
            ErrorKind::Io(_)
            | ErrorKind::Csv(_)
            | ErrorKind::Json(_)
            | ErrorKind::Config(_)
            | ErrorKind::Internal { .. } => 500,
        }
    }

    /// The id under which the server logged the detail of an internal error.
    ///
    /// ```
    /// use lora_export_core::{Error, ErrorKind};
    /// let err = Error::internal("IO_ERROR", "/srv/exports/tmp: disk full");
    /// assert!(err.error_id().is_some());
    /// assert!(!err.to_string().contains("disk full"), "the detail stays out of the message");
    /// assert_eq!((err.code(), err.http_status()), ("IO_ERROR", 500));
    /// ```
    pub fn error_id(&self) -> Option<uuid::Uuid> {
        match &*self.0 {
            ErrorKind::Internal { error_id, .. } => Some(*error_id),
            _ => None,
        }
    }

    /// An internal error with a fresh error id; `detail` is kept for the log
    /// ([`ErrorKind::Internal`]) and never shown by `Display`.
    pub fn internal(code: &'static str, detail: impl Into<String>) -> Error {
        ErrorKind::Internal { code, error_id: uuid::Uuid::new_v4(), detail: detail.into() }.into()
    }

    /// The validation issues, when this is an invalid request.
    pub fn issues(&self) -> &[Issue] {
        match &*self.0 {
            ErrorKind::InvalidRequest(issues) => issues,
            _ => &[],
        }
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Error(Box::new(kind))
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        ErrorKind::Io(e).into()
    }
}

impl From<csv::Error> for Error {
    fn from(e: csv::Error) -> Self {
        ErrorKind::Csv(e).into()
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        ErrorKind::Json(e).into()
    }
}
