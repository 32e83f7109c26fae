//! The exception hierarchy: `LoraExportError` and one subclass per stable
//! core error code, each raised with `.code`, `.status`, `.issues`,
//! `.retry_after`, `.location` and `.conversation_id` set from the core error.

use lora_export::pg::Error;
use lora_export::ErrorKind;
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyUserWarning};
use pyo3::prelude::*;
use pyo3::types::{PyTuple, PyType};

use crate::convert::{issues_to_py, serialize_to_py};

create_exception!(
    lora_export,
    LoraExportWarning,
    PyUserWarning,
    "What an export's caller should know but that did not stop it: skipped records (their \
     count and top reasons), fields named as the platform's kept as the record's own, duplicate \
     conversation ids, conversations the default scope left out."
);

/// Emits `message` as a `LoraExportWarning` (raised under `-W error`).
pub fn warn(py: Python<'_>, message: &str) -> PyResult<()> {
    let category = py.get_type::<LoraExportWarning>();
    PyErr::warn(py, category.as_any(), &std::ffi::CString::new(message)?, 1)
}

create_exception!(
    lora_export,
    LoraExportError,
    PyException,
    "Base class of every error of lora_export. `code` is the core's stable error code, `status` \
     the HTTP status an API should answer with, `issues` the validation issues, `retry_after` the \
     seconds to wait when rate limited, `location` and `conversation_id` where a malformed record was."
);

macro_rules! error_classes {
    ($($name:ident = $code:literal : $doc:literal),* $(,)?) => {
        $(create_exception!(lora_export, $name, LoraExportError, $doc);)*

        /// The exception class for a core error code (the base class for a
        /// code this binding does not know yet).
        fn class_for<'py>(py: Python<'py>, code: &str) -> Bound<'py, PyType> {
            match code {
                $($code => py.get_type::<$name>(),)*
                _ => py.get_type::<LoraExportError>(),
            }
        }

        /// Adds the hierarchy to the module, each class with its `code`.
        pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
            let py = m.py();
            let base = py.get_type::<LoraExportError>();
            base.setattr("code", "LORA_EXPORT_ERROR")?;
            base.setattr("status", 500)?;
            base.setattr("issues", PyTuple::empty(py))?;
            base.setattr("retry_after", py.None())?;
            base.setattr("error_id", py.None())?;
            base.setattr("reason", py.None())?;
            base.setattr("location", py.None())?;
            base.setattr("conversation_id", py.None())?;
            m.add("LoraExportError", base)?;
            m.add("LoraExportWarning", py.get_type::<LoraExportWarning>())?;
            $(
                let class = py.get_type::<$name>();
                class.setattr("code", $code)?;
                m.add(stringify!($name), class)?;
            )*
            Ok(())
        }
    };
}

error_classes! {
    ValidationError = "VALIDATION_ERROR": "The export request (or history query) is invalid; `issues` lists every problem.",
    MalformedRecordError = "MALFORMED_RECORD": "An input record is malformed and the export was strict; `location` says where.",
    TooManySkippedError = "TOO_MANY_SKIPPED": "More input records were skipped than allowed (by default: every one); no file was left at `dest`.",
    NoConversationsError = "NO_CONVERSATIONS": "Nothing to export: the input holds no conversations at all (pass `allow_empty=True` to write an empty export), or the export's scope, filters and ids match none (400; nothing was logged).",
    UnknownFormatError = "UNKNOWN_FORMAT": "No export format has this name.",
    RejectedError = "REJECTED_BY_FORMAT": "The format cannot represent a conversation.",
    InvalidTransitionError = "INVALID_TRANSITION": "An export status change the lifecycle forbids.",
    UnauthorizedError = "UNAUTHORIZED": "No user is attached to the request (401).",
    ForbiddenError = "FORBIDDEN": "The export belongs to another user (403).",
    NotFoundError = "NOT_FOUND": "No export has this id (404).",
    GoneError = "GONE": "The export's file has expired (410).",
    TooEarlyError = "TOO_EARLY": "The export is not finished yet (425).",
    ExportFailedError = "EXPORT_FAILED": "The export failed (409).",
    NotRetryableError = "NOT_RETRYABLE": "Only a failed or expired export can be retried; this one is queued, processing or completed (409).",
    AdminRequiredError = "ADMIN_REQUIRED": "Every user's audit trail is for an administrator's session only: `app_metadata.role` is `admin` (403).",
    RateLimitedError = "RATE_LIMITED": "Too many export requests, or a user's costly reads or downloads past their limits (429); `retry_after` says how long to wait.",
    ConfigError = "CONFIG_ERROR": "A configuration value is missing or invalid.",
    DatabaseError = "DATABASE_ERROR": "The database failed.",
    IoError = "IO_ERROR": "Reading input or writing output failed.",
    CsvError = "CSV_ERROR": "Writing CSV failed.",
    JsonError = "JSON_ERROR": "Serialising JSON failed.",
    InvalidTokenError = "INVALID_TOKEN": "An access token was missing or refused (401); `reason` says why (`expired`, `wrong_audience`, `algorithm_not_allowed`, …).",
    UnknownUserError = "UNKNOWN_USER": "The user is not a user of this project (401).",
    ServiceUnavailableError = "SERVICE_UNAVAILABLE": "The service is busy or its database unreachable for now (503); `retry_after` says when to retry.",
    NotMigratedError = "DATABASE_NOT_MIGRATED": "The database has no lora-export schema: run `ExportClient.migrate()` once.",
    StorageError = "STORAGE_ERROR": "An export file disagrees with its log, and is not served (500).",
    PoolerUnsupportedError = "DATABASE_POOLER_UNSUPPORTED": "The database URL reaches a connection pooler that refuses one of its startup parameters: remove it from the URL.",
    RangeNotSatisfiableError = "RANGE_NOT_SATISFIABLE": "The requested byte range lies outside the file (416).",
    DatabaseTlsError = "DATABASE_TLS_ERROR": "The TLS handshake with the database failed (see `sslmode` and `sslrootcert`).",
    ExportTooLargeError = "EXPORT_TOO_LARGE": "The export selects more conversations than `max_conversations`, or its file passed `max_file_mb` (413).",
    StorageQuotaExceededError = "STORAGE_QUOTA_EXCEEDED": "The user's downloadable files reach `storage_quota_mb` (429); `retry_after` says when the oldest expires, deleting an export frees it now.",
    QueueFullError = "QUEUE_FULL": "Too many exports queued or running: the user's (`max_jobs_per_user`) or everyone's (`max_queued_jobs`) (429); `retry_after` says when to retry.",
}

/// Converts an error of the core or of the service into the exception of
/// its code, with its attributes: the one mapping of this binding.
pub fn err(error: impl Into<Error>) -> PyErr {
    let error = error.into();
    Python::attach(|py| exception(py, &error).unwrap_or_else(|failed| failed))
}

fn exception(py: Python<'_>, error: &Error) -> PyResult<PyErr> {
    let value = class_for(py, error.code()).call1((error.to_string(),))?;
    value.setattr("code", error.code())?;
    value.setattr("status", error.http_status())?;
    value.setattr("issues", issues_to_py(py, error.issues())?)?;
    value.setattr("retry_after", error.retry_after_secs())?;
    value.setattr("error_id", error.error_id().map(|id| id.to_string()))?;
    value.setattr("reason", error.reason())?;
    if let Some(ErrorKind::MalformedRecord { location, conversation_id, .. }) = error.core_kind() {
        value.setattr("location", serialize_to_py(py, location)?)?;
        value.setattr("conversation_id", conversation_id.as_deref())?;
    }
    Ok(PyErr::from_value(value))
}
