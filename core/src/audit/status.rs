//! The status of an export log and the transitions its lifecycle allows.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{ErrorKind, Result};

/// Where an export is in its lifecycle: the seeds' `export_logs.status`.
///
/// ```text
///            ┌────────┐
///            │ queued │
///            └───┬────┘
///       start    │    fail (cancelled or
///                │    failed before it started)
///        ┌───────┴──────────────┐
///        ▼                      │
///  ┌────────────┐               │
///  │ processing │               │
///  └─────┬──────┘               │
///        │                      │
///   ┌────┴─────────┐            │
///   │ complete     │ fail       │
///   ▼              ▼            ▼
/// ┌───────────┐  ┌──────────────────┐
/// │ completed │  │      failed      │  (terminal)
/// └─────┬─────┘  └──────────────────┘
///       │ expire (cleanup job, after expires_at,
///       │         or an early revocation)
///       ▼
/// ┌───────────┐
/// │  expired  │  (terminal)
/// └───────────┘
/// ```
///
/// Every other change — staying in the same status included — is refused
/// with [`ErrorKind::InvalidTransition`]. `failed` and `expired` are
/// terminal: a retry or a re-export (the seeds' "Re-export" arrow from
/// expired back to queued) is a *new* export with a new log row, built with
/// [`ExportLog::queued`](super::ExportLog::queued), so that the audit trail
/// keeps the failed or expired one as it was.
///
/// ```
/// use lora_export_core::audit::ExportStatus;
/// assert!(ExportStatus::Queued.can_transition_to(ExportStatus::Processing));
/// assert!(!ExportStatus::Failed.can_transition_to(ExportStatus::Queued));
/// assert_eq!(serde_json::to_string(&ExportStatus::Completed).unwrap(), "\"completed\"");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportStatus {
    /// Accepted, waiting for a worker (large exports run in the background).
    Queued,
    /// A worker is writing the file.
    Processing,
    /// The file is written and can be downloaded until `expires_at`.
    Completed,
    /// The export did not produce a file; `error_message` says why.
    Failed,
    /// The file was removed; the log stays as the audit record.
    Expired,
}

impl ExportStatus {
    /// Every status, in lifecycle order.
    ///
    /// ```
    /// use lora_export_core::audit::ExportStatus;
    /// assert_eq!(ExportStatus::ALL.len(), 5);
    /// assert_eq!(ExportStatus::ALL[0], ExportStatus::Queued);
    /// ```
    pub const ALL: [ExportStatus; 5] = [
        ExportStatus::Queued,
        ExportStatus::Processing,
        ExportStatus::Completed,
        ExportStatus::Failed,
        ExportStatus::Expired,
    ];

    /// The snake_case name, as stored in the `status` column.
    ///
    /// ```
    /// use lora_export_core::audit::ExportStatus;
    /// assert_eq!(ExportStatus::Processing.as_str(), "processing");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            ExportStatus::Queued => "queued",
            ExportStatus::Processing => "processing",
            ExportStatus::Completed => "completed",
            ExportStatus::Failed => "failed",
            ExportStatus::Expired => "expired",
        }
    }

    /// Parses a status name (exact, lowercase); `None` for anything else.
    ///
    /// ```
    /// use lora_export_core::audit::ExportStatus;
    /// assert_eq!(ExportStatus::parse("expired"), Some(ExportStatus::Expired));
    /// assert_eq!(ExportStatus::parse("Expired"), None);
    /// ```
    pub fn parse(name: &str) -> Option<ExportStatus> {
        ExportStatus::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether the lifecycle allows going from `self` to `next` (see the
    /// diagram on [`ExportStatus`]).
    ///
    /// ```
    /// use lora_export_core::audit::ExportStatus::*;
    /// assert!(Queued.can_transition_to(Failed));
    /// assert!(Completed.can_transition_to(Expired));
    /// assert!(!Completed.can_transition_to(Failed));
    /// assert!(!Processing.can_transition_to(Processing));
    /// ```
    pub fn can_transition_to(self, next: ExportStatus) -> bool {
        use ExportStatus::*;
        matches!(
            (self, next),
            (Queued, Processing)
                | (Queued, Failed)
                | (Processing, Completed)
                | (Processing, Failed)
                | (Completed, Expired)
        )
    }

    /// `next` when the lifecycle allows it, otherwise
    /// [`ErrorKind::InvalidTransition`] naming both statuses.
    ///
    /// ```
    /// use lora_export_core::{audit::ExportStatus, ErrorKind};
    /// assert_eq!(
    ///     ExportStatus::Queued.transition_to(ExportStatus::Processing).unwrap(),
    ///     ExportStatus::Processing
    /// );
    /// let err = ExportStatus::Expired.transition_to(ExportStatus::Completed).unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::InvalidTransition { from, to }
    ///     if from == "expired" && to == "completed"));
    /// assert_eq!(err.http_status(), 409);
    /// ```
    pub fn transition_to(self, next: ExportStatus) -> Result<ExportStatus> {
        if self.can_transition_to(next) {
            Ok(next)
        } else {
            Err(invalid_transition(self.as_str(), next.as_str()))
        }
    }

    /// Whether no transition leaves this status (`failed`, `expired`).
    ///
    /// ```
    /// use lora_export_core::audit::ExportStatus;
    /// assert!(ExportStatus::Failed.is_terminal());
    /// assert!(!ExportStatus::Completed.is_terminal());
    /// ```
    pub fn is_terminal(self) -> bool {
        ExportStatus::ALL.into_iter().all(|next| !self.can_transition_to(next))
    }
}

impl fmt::Display for ExportStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub(super) fn invalid_transition(from: &str, to: &str) -> crate::Error {
    ErrorKind::InvalidTransition { from: from.to_owned(), to: to.to_owned() }.into()
}

#[cfg(test)]
mod tests {
    use super::ExportStatus::{self, *};
    use crate::ErrorKind;

    const ALLOWED: [(ExportStatus, ExportStatus); 5] = [
        (Queued, Processing),
        (Queued, Failed),
        (Processing, Completed),
        (Processing, Failed),
        (Completed, Expired),
    ];

    #[test]
    fn exactly_the_documented_transitions_are_allowed() {
        for from in ExportStatus::ALL {
            for to in ExportStatus::ALL {
                let expected = ALLOWED.contains(&(from, to));
                assert_eq!(from.can_transition_to(to), expected, "{from} -> {to}");
                match from.transition_to(to) {
                    Ok(next) => {
                        assert!(expected, "{from} -> {to} should be refused");
                        assert_eq!(next, to);
                    }
                    Err(err) => {
                        assert!(!expected, "{from} -> {to} should be allowed");
                        match err.kind() {
                            ErrorKind::InvalidTransition { from: f, to: t } => {
                                assert_eq!((f.as_str(), t.as_str()), (from.as_str(), to.as_str()));
                            }
                            other => panic!("unexpected error {other:?}"),
                        }
                        assert_eq!(err.code(), "INVALID_TRANSITION");
                    }
                }
            }
        }
    }

    #[test]
    fn terminal_statuses() {
        let terminal: Vec<_> = ExportStatus::ALL.into_iter().filter(|s| s.is_terminal()).collect();
        assert_eq!(terminal, [Failed, Expired]);
    }

    #[test]
    fn names_round_trip_through_parse_and_serde() {
        for s in ExportStatus::ALL {
            assert_eq!(ExportStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            let back: ExportStatus = serde_json::from_value(s.as_str().into()).unwrap();
            assert_eq!(back, s);
            assert_eq!(s.to_string(), s.as_str());
        }
        assert_eq!(ExportStatus::parse(""), None);
        assert_eq!(ExportStatus::parse("done"), None);
        assert!(serde_json::from_str::<ExportStatus>("\"QUEUED\"").is_err());
    }
}
