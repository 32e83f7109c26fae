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
/// use lora_export::Location;
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
/// use lora_export::request::validate_request_json;
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
    /// No user is attached to the request (HTTP 401).
    #[error("authentication required")]
    Unauthorized,
    /// The export belongs to another user (HTTP 403).
    #[error("export {0} belongs to another user")]
    Forbidden(String),
    /// No export has this id (HTTP 404).
    #[error("export {0} not found")]
    NotFound(String),
    /// The export's file has expired (HTTP 410).
    #[error("export {0} has expired")]
    Gone(String),
    /// The `Range` of a download lies outside the file (HTTP 416, with
    /// `Content-Range: bytes */{size}`).
    #[error("the requested range is outside the file's {size} bytes")]
    RangeNotSatisfiable {
        /// Bytes in the file.
        size: u64,
    },
    /// The export is not finished yet (HTTP 425).
    #[error("export {id} is {status}, not ready for download")]
    TooEarly {
        /// The export id.
        id: String,
        /// Its current status.
        status: String,
    },
    /// The export failed; its safe error message (HTTP 409).
    #[error("export {id} failed: {message}")]
    ExportFailed {
        /// The export id.
        id: String,
        /// Safe error message recorded for it.
        message: String,
    },
    /// The export cannot be retried: only a failed or expired one can (HTTP 409).
    #[error("export {id} is {status}: only a failed or expired export can be retried")]
    NotRetryable {
        /// The export id.
        id: String,
        /// Its current status.
        status: String,
    },
    /// The operation is for an administrator (a token whose
    /// `app_metadata.role` is `admin`) (HTTP 403).
    #[error("{0} is for an administrator only")]
    AdminRequired(String),
    /// The session is anonymous (Supabase's anonymous sign-in) and the
    /// service does not admit anonymous sessions (`allow_anonymous`) (HTTP 403).
    #[error("an anonymous session may not use the export service: sign in with an account")]
    AnonymousNotAllowed,
    /// Too many export requests (HTTP 429).
    #[error("rate limit exceeded: at most {limit} export requests per hour; retry in {retry_after_secs} s")]
    RateLimited {
        /// Requests allowed per rolling hour.
        limit: u32,
        /// Seconds until a request would be accepted.
        retry_after_secs: u64,
    },
    /// Too many costly reads (counts, previews, conversation pages,
    /// searches) or downloads of one user, per minute or at once (HTTP 429,
    /// code `RATE_LIMITED` as for exports).
    #[error("too many requests: at most {what}; retry in {retry_after_secs} s")]
    Throttled {
        /// The limit passed, in words (`2 searches, counts or previews running at once`).
        what: String,
        /// Seconds until a request would be accepted.
        retry_after_secs: u64,
    },
    /// A configuration value is missing or invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The database failed; the message is safe to show (HTTP 500).
    #[error("database error: {0}")]
    Database(String),
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
    /// The service is overloaded or its database unreachable for now
    /// (HTTP 503, with `Retry-After`).
    #[error("service unavailable: {reason}; retry in {retry_after_secs} s")]
    Unavailable {
        /// Why, safe to show.
        reason: String,
        /// Seconds to wait before retrying.
        retry_after_secs: u64,
    },
    /// An access token was missing or refused (HTTP 401); the
    /// [`TokenRefusal`] says why ([`Error::reason`]).
    #[error("sign-in refused: {0}")]
    InvalidToken(TokenRefusal),
    /// The signed-in user is not a user of this project (HTTP 401).
    #[error("unknown user {0}: sign in again")]
    UnknownUser(String),
    /// The database URL reaches a connection pooler that refuses or drops
    /// the connection's startup settings: a transaction-mode pooler
    /// (PgBouncer, Supabase's Supavisor on port 6543), which the service
    /// does not support.
    #[error("the database URL reaches a transaction-mode connection pooler ({0}); lora-export needs a connection that keeps its session settings: connect directly (db.<ref>.supabase.co:5432) or through Supavisor's session mode (port 5432 of <region>.pooler.supabase.com)")]
    UnsupportedPooler(String),
    /// The database has no (or an outdated) lora-export schema.
    #[error("the database is not migrated for lora-export: run migrate() (ExportService::migrate, client.migrate()) once, or apply the script of migration_sql() (cargo run --features postgres --example migration_sql)")]
    NotMigrated,
    /// Writing CSV failed.
    #[error("CSV error: {0}")]
    Csv(#[from] csv::Error),
    /// Serialising JSON failed.
    #[error("JSON error: {0}")]
    Json(#[from] serde_json::Error),
}

/// Why an access token was refused: each has a stable [`code`](Self::code)
/// and a message that says what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenRefusal {
    /// No token: neither `Authorization: Bearer …` nor the auth cookie.
    Missing,
    /// Not a JWT (three base64url parts, a JSON header and claims).
    Malformed,
    /// `alg: none`, or an algorithm this key or project does not use
    /// (HS256 without a configured secret, RS256 for an EC key, …).
    AlgorithmNotAllowed,
    /// The `kid` is in no key of the project's JWKS, even after a refresh.
    UnknownKey,
    /// The signature does not verify.
    BadSignature,
    /// Past `exp` (beyond the leeway), or no `exp` at all.
    Expired,
    /// Before `nbf` (beyond the leeway).
    NotYetValid,
    /// `iss` is not this project's auth server.
    WrongIssuer,
    /// `aud` is not `authenticated`.
    WrongAudience,
    /// `role` is not `authenticated` (the anon key, the service-role key).
    WrongRole,
    /// `sub` is missing or not a user id (UUID).
    BadSubject,
}

impl TokenRefusal {
    /// The stable reason code (`missing`, `malformed`,
    /// `algorithm_not_allowed`, `unknown_key`, `bad_signature`, `expired`,
    /// `not_yet_valid`, `wrong_issuer`, `wrong_audience`, `wrong_role`,
    /// `bad_subject`).
    pub fn code(self) -> &'static str {
        match self {
            TokenRefusal::Missing => "missing",
            TokenRefusal::Malformed => "malformed",
            TokenRefusal::AlgorithmNotAllowed => "algorithm_not_allowed",
            TokenRefusal::UnknownKey => "unknown_key",
            TokenRefusal::BadSignature => "bad_signature",
            TokenRefusal::Expired => "expired",
            TokenRefusal::NotYetValid => "not_yet_valid",
            TokenRefusal::WrongIssuer => "wrong_issuer",
            TokenRefusal::WrongAudience => "wrong_audience",
            TokenRefusal::WrongRole => "wrong_role",
            TokenRefusal::BadSubject => "bad_subject",
        }
    }
}

impl fmt::Display for TokenRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenRefusal::Missing => {
                "no access token (send `Authorization: Bearer <token>` or the Supabase auth cookie)"
            }
            TokenRefusal::Malformed => "the access token is not a JWT",
            TokenRefusal::AlgorithmNotAllowed => {
                "the token's algorithm is not one this project signs with"
            }
            TokenRefusal::UnknownKey => {
                "the token is signed by a key this project does not publish; sign in again"
            }
            TokenRefusal::BadSignature => "the token's signature is invalid",
            TokenRefusal::Expired => "the token has expired; refresh the session",
            TokenRefusal::NotYetValid => "the token is not valid yet (check the clock)",
            TokenRefusal::WrongIssuer => "the token was issued by another auth server",
            TokenRefusal::WrongAudience => "the token's audience is not `authenticated`",
            TokenRefusal::WrongRole => {
                "the token is not a signed-in user's (role is not `authenticated`)"
            }
            TokenRefusal::BadSubject => "the token's subject is not a user id",
        })
    }
}

impl From<TokenRefusal> for Error {
    fn from(refusal: TokenRefusal) -> Self {
        ErrorKind::InvalidToken(refusal).into()
    }
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
/// use lora_export::{Error, ErrorKind};
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
            ErrorKind::UnknownFormat(_) => "UNKNOWN_FORMAT",
            ErrorKind::Rejected(_) => "REJECTED_BY_FORMAT",
            ErrorKind::InvalidTransition { .. } => "INVALID_TRANSITION",
            ErrorKind::Unauthorized => "UNAUTHORIZED",
            ErrorKind::Forbidden(_) => "FORBIDDEN",
            ErrorKind::NotFound(_) => "NOT_FOUND",
            ErrorKind::Gone(_) => "GONE",
            ErrorKind::TooEarly { .. } => "TOO_EARLY",
            ErrorKind::RangeNotSatisfiable { .. } => "RANGE_NOT_SATISFIABLE",
            ErrorKind::ExportFailed { .. } => "EXPORT_FAILED",
            ErrorKind::NotRetryable { .. } => "NOT_RETRYABLE",
            ErrorKind::AdminRequired(_) => "ADMIN_REQUIRED",
            ErrorKind::AnonymousNotAllowed => "ANONYMOUS_NOT_ALLOWED",
            ErrorKind::RateLimited { .. } | ErrorKind::Throttled { .. } => "RATE_LIMITED",
            ErrorKind::Config(_) => "CONFIG_ERROR",
            ErrorKind::Database(_) => "DATABASE_ERROR",
            ErrorKind::Internal { code, .. } => code,
            ErrorKind::Unavailable { .. } => "SERVICE_UNAVAILABLE",
            ErrorKind::InvalidToken(_) => "INVALID_TOKEN",
            ErrorKind::UnknownUser(_) => "UNKNOWN_USER",
            ErrorKind::NotMigrated => "DATABASE_NOT_MIGRATED",
            ErrorKind::UnsupportedPooler(_) => "DATABASE_POOLER_UNSUPPORTED",
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
            | ErrorKind::Rejected(_) => 400,
            ErrorKind::Unauthorized | ErrorKind::InvalidToken(_) | ErrorKind::UnknownUser(_) => 401,
            ErrorKind::Forbidden(_)
            | ErrorKind::AdminRequired(_)
            | ErrorKind::AnonymousNotAllowed => 403,
            ErrorKind::NotFound(_) => 404,
            ErrorKind::InvalidTransition { .. }
            | ErrorKind::ExportFailed { .. }
            | ErrorKind::NotRetryable { .. } => 409,
            ErrorKind::Gone(_) => 410,
            ErrorKind::RangeNotSatisfiable { .. } => 416,
            ErrorKind::TooManySkipped { .. } => 422,
            ErrorKind::TooEarly { .. } => 425,
            ErrorKind::RateLimited { .. } | ErrorKind::Throttled { .. } => 429,
            ErrorKind::Io(_)
            | ErrorKind::Csv(_)
            | ErrorKind::Json(_)
            | ErrorKind::Config(_)
            | ErrorKind::Database(_)
            | ErrorKind::Internal { .. }
            | ErrorKind::NotMigrated
            | ErrorKind::UnsupportedPooler(_) => 500,
            ErrorKind::Unavailable { .. } => 503,
        }
    }

    /// Seconds to wait before retrying, when rate limited or unavailable.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match &*self.0 {
            ErrorKind::RateLimited { retry_after_secs, .. }
            | ErrorKind::Throttled { retry_after_secs, .. }
            | ErrorKind::Unavailable { retry_after_secs, .. } => Some(*retry_after_secs),
            _ => None,
        }
    }

    /// The id under which the server logged the detail of an internal error.
    ///
    /// ```
    /// use lora_export::{Error, ErrorKind};
    /// let err = Error::internal("DATABASE_ERROR", "relation \"x\" does not exist");
    /// assert!(err.error_id().is_some());
    /// assert!(!err.to_string().contains("relation"), "the detail stays out of the message");
    /// assert_eq!((err.code(), err.http_status()), ("DATABASE_ERROR", 500));
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

    /// Why an access token was refused (`expired`, `wrong_audience`, …: see
    /// [`TokenRefusal::code`]), when this is [`ErrorKind::InvalidToken`].
    ///
    /// ```
    /// use lora_export::{Error, ErrorKind, TokenRefusal};
    /// let err = Error::from(ErrorKind::InvalidToken(TokenRefusal::Expired));
    /// assert_eq!((err.code(), err.reason(), err.http_status()), ("INVALID_TOKEN", Some("expired"), 401));
    /// ```
    pub fn reason(&self) -> Option<&'static str> {
        match &*self.0 {
            ErrorKind::InvalidToken(refusal) => Some(refusal.code()),
            _ => None,
        }
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
