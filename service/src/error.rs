//! The service's error type: [`Error`], whose [`ErrorKind`] is either an
//! error of the core ([`ErrorKind::Core`]: an invalid request, a malformed
//! record, a configuration or I/O failure) or one of the service's own —
//! sign-in, access, the export lifecycle, limits, the database. One
//! [`code`](Error::code) and [`http_status`](Error::http_status) table for
//! both, which each binding maps once.

use std::fmt;
use std::io;

use lora_export_core::Issue;

/// A `Result` whose error is the service's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// The kinds of error the service reports. Match on [`Error::kind`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An error of the pure core (request validation, records, formats,
    /// configuration, I/O, internal errors with an error id).
    #[error(transparent)]
    Core(lora_export_core::Error),
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
    /// The export is past a size limit: more conversations than
    /// `max_conversations` (refused before anything is logged), or a file
    /// past `max_file_bytes` (the run stops and the export fails) (HTTP 413).
    #[error("export too large: {what}")]
    ExportTooLarge {
        /// The limit passed, in words (`120 conversations selected, at most 100`).
        what: String,
    },
    /// The user's downloadable files (completed, neither expired nor
    /// deleted) reach `storage_quota_bytes` (HTTP 429, with `retry_after`:
    /// until the oldest of them expires; deleting an export frees it now).
    #[error("storage quota exceeded: {used} of {quota} bytes of stored export files; delete an export or retry in {retry_after_secs} s, when one expires")]
    StorageQuotaExceeded {
        /// Bytes of the user's downloadable files.
        used: u64,
        /// The quota, in bytes.
        quota: u64,
        /// Seconds until the oldest of those files expires.
        retry_after_secs: u64,
    },
    /// Too many exports queued or running: the user's own
    /// (`max_jobs_per_user`) or every user's waiting jobs
    /// (`max_queued_jobs`) (HTTP 429, with `retry_after`).
    #[error("export queue full: at most {what}; retry in {retry_after_secs} s")]
    QueueFull {
        /// The limit passed, in words (`3 exports of a user queued or running`).
        what: String,
        /// Seconds to wait before retrying.
        retry_after_secs: u64,
    },
    /// The database failed; the message is safe to show (HTTP 500).
    #[error("database error: {0}")]
    Database(String),
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
    /// The database URL reaches a connection pooler that refuses one of the
    /// connection's startup parameters other than `options` (which the
    /// service does without behind a transaction-mode pooler).
    #[error("the database URL reaches a connection pooler that refuses a startup parameter ({0}): remove that parameter from the URL")]
    UnsupportedPooler(String),
    /// An operator's own operation failed — connecting, migrating, importing,
    /// a worker or a maintenance run, a health check — and the message
    /// carries the cause (the server's words, the TLS reason, the I/O
    /// error), for the person who called it. Request errors never take this
    /// form: a client gets the safe [`Internal`](lora_export_core::ErrorKind::Internal)
    /// message and the error id. HTTP 500; [`Error::code`] is the failure's
    /// own (`DATABASE_ERROR`, `DATABASE_TLS_ERROR`, `STORAGE_ERROR`, …).
    #[error("{operation} failed: {cause} ({code}, error id {error_id})")]
    Operator {
        /// What the operator called (`connect`, `migrate`, `run_worker`, …).
        operation: &'static str,
        /// The stable code of the failure.
        code: &'static str,
        /// The id the error sink reported it under.
        error_id: uuid::Uuid,
        /// What happened, in the server's or the system's words.
        cause: String,
    },
    /// The database has no (or an outdated) lora-export schema.
    #[error("the database is not migrated for lora-export: run migrate() (ExportService::migrate, client.migrate()) once, or apply the script of migration_sql() (cargo run --features postgres --example migration_sql)")]
    NotMigrated,
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

/// The service's error: a boxed [`ErrorKind`], so `Result<T>` stays one
/// pointer wide.
///
/// ```
/// use lora_export_service::{Error, ErrorKind};
/// let err = Error::from(ErrorKind::NotFound("7".into()));
/// assert_eq!((err.code(), err.http_status()), ("NOT_FOUND", 404));
/// let core = Error::from(lora_export_core::ErrorKind::UnknownFormat("xml".into()));
/// assert_eq!((core.code(), core.http_status()), ("UNKNOWN_FORMAT", 400));
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

    /// The core's error, when this is one ([`ErrorKind::Core`]).
    pub fn core(&self) -> Option<&lora_export_core::Error> {
        match &*self.0 {
            ErrorKind::Core(e) => Some(e),
            _ => None,
        }
    }

    /// The core's error kind, when this is a core error.
    pub fn core_kind(&self) -> Option<&lora_export_core::ErrorKind> {
        self.core().map(lora_export_core::Error::kind)
    }

    /// A stable, upper-snake-case code that bindings expose (`err.code` in
    /// JavaScript, the exception class in Python); the core's errors keep
    /// theirs.
    pub fn code(&self) -> &'static str {
        match &*self.0 {
            ErrorKind::Core(e) => e.code(),
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
            ErrorKind::ExportTooLarge { .. } => "EXPORT_TOO_LARGE",
            ErrorKind::StorageQuotaExceeded { .. } => "STORAGE_QUOTA_EXCEEDED",
            ErrorKind::QueueFull { .. } => "QUEUE_FULL",
            ErrorKind::Database(_) => "DATABASE_ERROR",
            ErrorKind::Unavailable { .. } => "SERVICE_UNAVAILABLE",
            ErrorKind::InvalidToken(_) => "INVALID_TOKEN",
            ErrorKind::UnknownUser(_) => "UNKNOWN_USER",
            ErrorKind::NotMigrated => "DATABASE_NOT_MIGRATED",
            ErrorKind::UnsupportedPooler(_) => "DATABASE_POOLER_UNSUPPORTED",
            ErrorKind::Operator { code, .. } => code,
        }
    }

    /// The HTTP status an API route should answer with for this error.
    pub fn http_status(&self) -> u16 {
        match &*self.0 {
            ErrorKind::Core(e) => e.http_status(),
            ErrorKind::Unauthorized | ErrorKind::InvalidToken(_) | ErrorKind::UnknownUser(_) => 401,
            ErrorKind::Forbidden(_)
            | ErrorKind::AdminRequired(_)
            | ErrorKind::AnonymousNotAllowed => 403,
            ErrorKind::NotFound(_) => 404,
            ErrorKind::ExportFailed { .. } | ErrorKind::NotRetryable { .. } => 409,
            ErrorKind::Gone(_) => 410,
            ErrorKind::RangeNotSatisfiable { .. } => 416,
            ErrorKind::ExportTooLarge { .. } => 413,
            ErrorKind::TooEarly { .. } => 425,
            ErrorKind::RateLimited { .. }
            | ErrorKind::Throttled { .. }
            | ErrorKind::StorageQuotaExceeded { .. }
            | ErrorKind::QueueFull { .. } => 429,
            ErrorKind::Database(_)
            | ErrorKind::NotMigrated
            | ErrorKind::UnsupportedPooler(_)
            | ErrorKind::Operator { .. } => 500,
            ErrorKind::Unavailable { .. } => 503,
        }
    }

    /// Seconds to wait before retrying, when rate limited or unavailable.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match &*self.0 {
            ErrorKind::RateLimited { retry_after_secs, .. }
            | ErrorKind::Throttled { retry_after_secs, .. }
            | ErrorKind::StorageQuotaExceeded { retry_after_secs, .. }
            | ErrorKind::QueueFull { retry_after_secs, .. }
            | ErrorKind::Unavailable { retry_after_secs, .. } => Some(*retry_after_secs),
            _ => None,
        }
    }

    /// The id under which the server logged the detail of an internal error.
    ///
    /// ```
    /// use lora_export_service::Error;
    /// let err = Error::internal("DATABASE_ERROR", "relation \"x\" does not exist");
    /// assert!(err.error_id().is_some());
    /// assert!(!err.to_string().contains("relation"), "the detail stays out of the message");
    /// assert_eq!((err.code(), err.http_status()), ("DATABASE_ERROR", 500));
    /// ```
    pub fn error_id(&self) -> Option<uuid::Uuid> {
        match &*self.0 {
            ErrorKind::Operator { error_id, .. } => Some(*error_id),
            _ => self.core().and_then(lora_export_core::Error::error_id),
        }
    }

    /// This error as its operator sees it: an internal error (whose message
    /// shows only a code and an error id) becomes [`ErrorKind::Operator`],
    /// with the same code and error id and the cause in its message; any
    /// other error is itself.
    ///
    /// ```
    /// use lora_export_service::Error;
    /// let err = Error::internal("DATABASE_ERROR", "password authentication failed for user \"app\"");
    /// let id = err.error_id();
    /// let err = err.for_operator("connect");
    /// assert!(err.to_string().contains("password authentication failed"), "{err}");
    /// assert_eq!((err.code(), err.http_status(), err.error_id()), ("DATABASE_ERROR", 500, id));
    /// ```
    pub fn for_operator(self, operation: &'static str) -> Error {
        match self.into_kind() {
            ErrorKind::Core(core) => match core.into_kind() {
                lora_export_core::ErrorKind::Internal { code, error_id, detail } => {
                    ErrorKind::Operator { operation, code, error_id, cause: detail }.into()
                }
                other => lora_export_core::Error::from(other).into(),
            },
            other => other.into(),
        }
    }

    /// Whether this is the database failing (an internal `DATABASE_*`
    /// error, or [`ErrorKind::Unavailable`]: a statement past its time
    /// limit, no free connection), which a later attempt may not meet.
    pub fn is_database_failure(&self) -> bool {
        matches!(self.kind(), ErrorKind::Unavailable { .. })
            || (self.code().starts_with("DATABASE_")
                && !matches!(self.kind(), ErrorKind::NotMigrated | ErrorKind::UnsupportedPooler(_)))
    }

    /// An internal error with a fresh error id (the core's
    /// [`Internal`](lora_export_core::ErrorKind::Internal)); `detail` is kept
    /// for the log and never shown by `Display`.
    pub fn internal(code: &'static str, detail: impl Into<String>) -> Error {
        lora_export_core::Error::internal(code, detail).into()
    }

    /// Why an access token was refused (`expired`, `wrong_audience`, …: see
    /// [`TokenRefusal::code`]), when this is [`ErrorKind::InvalidToken`].
    ///
    /// ```
    /// use lora_export_service::{Error, ErrorKind, TokenRefusal};
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
        self.core().map(lora_export_core::Error::issues).unwrap_or(&[])
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Error(Box::new(kind))
    }
}

impl From<lora_export_core::Error> for Error {
    fn from(e: lora_export_core::Error) -> Self {
        ErrorKind::Core(e).into()
    }
}

impl From<lora_export_core::ErrorKind> for Error {
    fn from(kind: lora_export_core::ErrorKind) -> Self {
        lora_export_core::Error::from(kind).into()
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        lora_export_core::Error::from(e).into()
    }
}

/// A service error where the core's traits need the core's error (a dataset
/// file staged in the service's storage): a core error is itself, any other
/// keeps its code as an internal error whose detail is the message.
impl From<Error> for lora_export_core::Error {
    fn from(e: Error) -> Self {
        match e.into_kind() {
            ErrorKind::Core(e) => e,
            other => {
                let code = Error::from(other);
                lora_export_core::Error::internal(code.code(), code.to_string())
            }
        }
    }
}

impl From<csv::Error> for Error {
    fn from(e: csv::Error) -> Self {
        lora_export_core::Error::from(e).into()
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        lora_export_core::Error::from(e).into()
    }
}
