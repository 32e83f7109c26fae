//! The export log row and its pure builders.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::status::{invalid_transition, ExportStatus};
use crate::model::{ExportConfig, Format};
use crate::{ExportSummary, Result};

/// How long a completed export stays downloadable by default, in hours
/// (the seeds' 24-hour retention).
///
/// ```
/// assert_eq!(lora_export_core::audit::DEFAULT_EXPIRY_HOURS, 24);
/// ```
pub const DEFAULT_EXPIRY_HOURS: i64 = 24;

/// [`DEFAULT_EXPIRY_HOURS`] as a [`Duration`], for [`ExportLog::complete`].
///
/// ```
/// assert_eq!(lora_export_core::audit::default_expiry(), chrono::Duration::hours(24));
/// ```
pub fn default_expiry() -> Duration {
    Duration::hours(DEFAULT_EXPIRY_HOURS)
}

/// The longest `error_message` [`ExportLog::fail`] stores, in characters
/// (`…` included).
///
/// ```
/// use lora_export_core::audit::{safe_error_message, MAX_ERROR_MESSAGE_CHARS};
/// let long = "x".repeat(10_000);
/// assert_eq!(safe_error_message(&long).chars().count(), MAX_ERROR_MESSAGE_CHARS);
/// ```
pub const MAX_ERROR_MESSAGE_CHARS: usize = 500;

/// One row of the seeds' `export_logs` table: the audit record of one
/// export, from the request to the file's expiry.
///
/// Fields and JSON keys are the seed's (`snake_case`; nullable columns are
/// `Option` and serialise as `null`), plus three columns the database layer
/// adds: `file_sha256`, `download_count` and `last_downloaded_at`. Rows
/// without those three still deserialise (they default to `null`, `0`,
/// `null`). Timestamps are RFC 3339 in UTC.
///
/// The builders are pure: each takes the current instant `now` from the
/// caller, checks the [status lifecycle](ExportStatus), and returns an
/// updated copy (setting `updated_at = now`), leaving `self` untouched — so
/// a refused change loses nothing and tests need no clock.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use lora_export_core::audit::{default_expiry, ExportLog, ExportStatus};
/// use lora_export_core::model::{ExportConfig, Format, Scope};
/// use lora_export_core::ExportSummary;
///
/// let t0 = Utc.with_ymd_and_hms(2025, 10, 29, 10, 0, 0).unwrap();
/// let config = ExportConfig::new(Scope::All, Format::Jsonl);
/// let log = ExportLog::queued(uuid::Uuid::nil(), &config, 42, t0);
/// let summary = ExportSummary { conversations: 41, bytes: 1024, sha256: "ab12".into(), ..Default::default() };
///
/// let done = log
///     .start(t0 + chrono::Duration::seconds(1)).unwrap()
///     .complete(&summary, "https://files.example/e.jsonl", t0 + chrono::Duration::seconds(3), default_expiry())
///     .unwrap();
/// assert_eq!(done.status, ExportStatus::Completed);
/// assert_eq!((done.conversation_count, done.file_size), (41, Some(1024)));
/// assert!(done.is_downloadable_at(t0 + chrono::Duration::hours(24)));
/// assert!(done.is_expired_at(t0 + chrono::Duration::hours(25)));
/// assert!(log.start(t0).unwrap().start(t0).is_err()); // processing -> processing
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportLog {
    /// Primary key of the row.
    pub id: Uuid,
    /// Public identifier of the export (status and download URLs use it).
    pub export_id: Uuid,
    /// Who asked for the export.
    pub user_id: Uuid,
    /// When the export was requested.
    pub timestamp: DateTime<Utc>,
    /// Output format (`json`, `jsonl`, `csv`, `markdown`, `parquet`).
    pub format: Format,
    /// The request's config, stored so the export can be reproduced.
    pub config: ExportConfig,
    /// Conversations in the export: the estimate when queued, the number
    /// written once completed.
    pub conversation_count: u64,
    /// Size of the file in bytes, once completed.
    pub file_size: Option<u64>,
    /// Where the export is in its lifecycle.
    pub status: ExportStatus,
    /// Where the file can be fetched, once completed.
    pub file_url: Option<String>,
    /// The last instant the file may be downloaded, once completed.
    pub expires_at: Option<DateTime<Utc>>,
    /// Why the export failed: one line, at most [`MAX_ERROR_MESSAGE_CHARS`].
    pub error_message: Option<String>,
    /// When the row was created.
    pub created_at: DateTime<Utc>,
    /// When the row last changed.
    pub updated_at: DateTime<Utc>,
    /// SHA-256 of the file, lowercase hex, once completed (added column).
    #[serde(default)]
    pub file_sha256: Option<String>,
    /// How many times the file was downloaded (added column).
    #[serde(default)]
    pub download_count: u64,
    /// When the file was last downloaded (added column).
    #[serde(default)]
    pub last_downloaded_at: Option<DateTime<Utc>>,
}

impl ExportLog {
    /// A new `queued` log for an export of `config` by `user_id`, with fresh
    /// random (v4) `id` and `export_id`; `timestamp`, `created_at` and
    /// `updated_at` are `now`. `conversation_count` is the expected count;
    /// [`complete`](Self::complete) replaces it with the number written.
    ///
    /// ```
    /// use chrono::Utc;
    /// use lora_export_core::audit::{ExportLog, ExportStatus};
    /// use lora_export_core::model::{ExportConfig, Format, Scope};
    ///
    /// let now = Utc::now();
    /// let log = ExportLog::queued(uuid::Uuid::new_v4(), &ExportConfig::new(Scope::All, Format::Csv), 7, now);
    /// assert_eq!(log.status, ExportStatus::Queued);
    /// assert_eq!(log.format, lora_export_core::model::Format::Csv);
    /// assert_ne!(log.id, log.export_id);
    /// assert_eq!((log.timestamp, log.created_at, log.updated_at), (now, now, now));
    /// assert_eq!((log.file_size, log.download_count), (None, 0));
    /// ```
    pub fn queued(
        user_id: Uuid,
        config: &ExportConfig,
        conversation_count: u64,
        now: DateTime<Utc>,
    ) -> ExportLog {
        ExportLog {
            id: Uuid::new_v4(),
            export_id: Uuid::new_v4(),
            user_id,
            timestamp: now,
            format: config.format,
            config: config.clone(),
            conversation_count,
            file_size: None,
            status: ExportStatus::Queued,
            file_url: None,
            expires_at: None,
            error_message: None,
            created_at: now,
            updated_at: now,
            file_sha256: None,
            download_count: 0,
            last_downloaded_at: None,
        }
    }

    /// `queued` → `processing`: a worker picked the export up.
    ///
    /// ```
    /// use chrono::Utc;
    /// use lora_export_core::audit::{ExportLog, ExportStatus};
    /// use lora_export_core::model::{ExportConfig, Format, Scope};
    ///
    /// let log = ExportLog::queued(uuid::Uuid::nil(), &ExportConfig::new(Scope::All, Format::Json), 3, Utc::now());
    /// let running = log.start(Utc::now()).unwrap();
    /// assert_eq!(running.status, ExportStatus::Processing);
    /// assert_eq!(running.start(Utc::now()).unwrap_err().code(), "INVALID_TRANSITION");
    /// ```
    pub fn start(&self, now: DateTime<Utc>) -> Result<ExportLog> {
        self.moved_to(ExportStatus::Processing, now)
    }

    /// `processing` → `completed`: the file is written. Takes
    /// `conversation_count`, `file_size` and `file_sha256` from the export
    /// `summary`, stores `file_url`, and sets `expires_at = now + expiry`
    /// (a negative `expiry` counts as zero; an instant beyond chrono's
    /// range is clamped to its maximum).
    ///
    /// ```
    /// use chrono::{Duration, TimeZone, Utc};
    /// use lora_export_core::audit::{ExportLog, ExportStatus};
    /// use lora_export_core::model::{ExportConfig, Format, Scope};
    /// use lora_export_core::ExportSummary;
    ///
    /// let now = Utc.with_ymd_and_hms(2025, 11, 3, 9, 0, 0).unwrap();
    /// let summary = ExportSummary { conversations: 2, bytes: 300, sha256: "9f86d0".into(), ..Default::default() };
    /// let log = ExportLog::queued(uuid::Uuid::nil(), &ExportConfig::new(Scope::All, Format::Jsonl), 2, now)
    ///     .start(now).unwrap()
    ///     .complete(&summary, "/exports/e.jsonl", now, Duration::hours(2)).unwrap();
    /// assert_eq!(log.expires_at, Some(Utc.with_ymd_and_hms(2025, 11, 3, 11, 0, 0).unwrap()));
    /// assert_eq!(log.file_sha256.as_deref(), Some("9f86d0"));
    /// assert_eq!(log.file_url.as_deref(), Some("/exports/e.jsonl"));
    /// ```
    pub fn complete(
        &self,
        summary: &ExportSummary,
        file_url: impl Into<String>,
        now: DateTime<Utc>,
        expiry: Duration,
    ) -> Result<ExportLog> {
        let mut next = self.moved_to(ExportStatus::Completed, now)?;
        let expiry = expiry.max(Duration::zero());
        next.conversation_count = summary.conversations;
        next.file_size = Some(summary.bytes);
        next.file_sha256 = Some(summary.sha256.clone());
        next.file_url = Some(file_url.into());
        next.expires_at = Some(now.checked_add_signed(expiry).unwrap_or(DateTime::<Utc>::MAX_UTC));
        Ok(next)
    }

    /// `queued` or `processing` → `failed`, storing `message` made safe by
    /// [`safe_error_message`]: one line, at most [`MAX_ERROR_MESSAGE_CHARS`]
    /// characters. It is not redacted: pass a message fit for the user who
    /// owns the export, never a raw database error with connection details.
    ///
    /// ```
    /// use chrono::Utc;
    /// use lora_export_core::audit::{ExportLog, ExportStatus};
    /// use lora_export_core::model::{ExportConfig, Format, Scope};
    ///
    /// let log = ExportLog::queued(uuid::Uuid::nil(), &ExportConfig::new(Scope::All, Format::Csv), 1, Utc::now());
    /// let failed = log.fail("disk full\r\nwhile writing\trow 3", Utc::now()).unwrap();
    /// assert_eq!(failed.status, ExportStatus::Failed);
    /// assert_eq!(failed.error_message.as_deref(), Some("disk full while writing row 3"));
    /// assert!(failed.fail("again", Utc::now()).is_err());
    /// ```
    pub fn fail(&self, message: &str, now: DateTime<Utc>) -> Result<ExportLog> {
        let mut next = self.moved_to(ExportStatus::Failed, now)?;
        next.error_message = Some(safe_error_message(message));
        Ok(next)
    }

    /// `completed` → `expired`: the file was removed. The cleanup job calls
    /// it once [`is_expired_at`](Self::is_expired_at) holds; calling it
    /// earlier revokes the file before its time. `expires_at` and
    /// `file_url` are kept as the audit record; `updated_at` says when.
    ///
    /// ```
    /// use chrono::Utc;
    /// use lora_export_core::audit::{default_expiry, ExportLog, ExportStatus};
    /// use lora_export_core::model::{ExportConfig, Format, Scope};
    /// use lora_export_core::ExportSummary;
    ///
    /// let now = Utc::now();
    /// let log = ExportLog::queued(uuid::Uuid::nil(), &ExportConfig::new(Scope::All, Format::Markdown), 1, now);
    /// assert!(log.expire(now).is_err()); // only a completed export expires
    /// let done = log.start(now).unwrap()
    ///     .complete(&ExportSummary::default(), "/e.md", now, default_expiry()).unwrap();
    /// let gone = done.expire(now + default_expiry()).unwrap();
    /// assert_eq!(gone.status, ExportStatus::Expired);
    /// assert!(!gone.is_downloadable_at(now));
    /// ```
    pub fn expire(&self, now: DateTime<Utc>) -> Result<ExportLog> {
        self.moved_to(ExportStatus::Expired, now)
    }

    /// Counts one download at `now`: `download_count + 1`,
    /// `last_downloaded_at = now`, `updated_at = now`. Refused with
    /// [`ErrorKind::InvalidTransition`](crate::ErrorKind::InvalidTransition)
    /// (`to` = `"downloaded"`) unless
    /// [`is_downloadable_at(now)`](Self::is_downloadable_at); `from` is
    /// `"expired"` for a completed export past its `expires_at`. An HTTP
    /// route checks first, to answer 410 (expired) or 425 (not ready).
    ///
    /// ```
    /// use chrono::{Duration, Utc};
    /// use lora_export_core::audit::ExportLog;
    /// use lora_export_core::model::{ExportConfig, Format, Scope};
    /// use lora_export_core::ExportSummary;
    ///
    /// let now = Utc::now();
    /// let log = ExportLog::queued(uuid::Uuid::nil(), &ExportConfig::new(Scope::All, Format::Json), 1, now);
    /// assert!(log.record_download(now).is_err()); // not ready
    /// let done = log.start(now).unwrap()
    ///     .complete(&ExportSummary::default(), "/e.json", now, Duration::hours(1)).unwrap();
    /// let once = done.record_download(now).unwrap();
    /// assert_eq!((once.download_count, once.last_downloaded_at), (1, Some(now)));
    /// assert!(once.record_download(now + Duration::hours(2)).is_err()); // expired
    /// ```
    pub fn record_download(&self, now: DateTime<Utc>) -> Result<ExportLog> {
        if !self.is_downloadable_at(now) {
            let from = if self.is_expired_at(now) { "expired" } else { self.status.as_str() };
            return Err(invalid_transition(from, "downloaded"));
        }
        let mut next = self.clone();
        next.download_count = next.download_count.saturating_add(1);
        next.last_downloaded_at = Some(now);
        next.updated_at = now;
        Ok(next)
    }

    /// Whether the export is expired at `now`: its status is `expired`, or
    /// it is `completed` and `now` is strictly after `expires_at`.
    ///
    /// `expires_at` is the *last* instant the file may be downloaded, which
    /// is what the seeds' cleanup query (`status = 'completed' AND
    /// expires_at < NOW()`) means, so both agree at the boundary. A
    /// completed row without `expires_at` never expires; `queued`,
    /// `processing` and `failed` exports are not expired (nor downloadable).
    ///
    /// ```
    /// use chrono::{Duration, Utc};
    /// use lora_export_core::audit::ExportLog;
    /// use lora_export_core::model::{ExportConfig, Format, Scope};
    /// use lora_export_core::ExportSummary;
    ///
    /// let now = Utc::now();
    /// let log = ExportLog::queued(uuid::Uuid::nil(), &ExportConfig::new(Scope::All, Format::Csv), 1, now)
    ///     .start(now).unwrap()
    ///     .complete(&ExportSummary::default(), "/e.csv", now, Duration::hours(24)).unwrap();
    /// let at = log.expires_at.unwrap();
    /// assert!(!log.is_expired_at(at));
    /// assert!(log.is_expired_at(at + Duration::nanoseconds(1)));
    /// ```
    pub fn is_expired_at(&self, now: DateTime<Utc>) -> bool {
        match self.status {
            ExportStatus::Expired => true,
            ExportStatus::Completed => self.expires_at.is_some_and(|at| now > at),
            ExportStatus::Queued | ExportStatus::Processing | ExportStatus::Failed => false,
        }
    }

    /// Whether the file may be downloaded at `now`: `completed` and not
    /// [expired](Self::is_expired_at).
    ///
    /// ```
    /// use chrono::{Duration, Utc};
    /// use lora_export_core::audit::ExportLog;
    /// use lora_export_core::model::{ExportConfig, Format, Scope};
    /// use lora_export_core::ExportSummary;
    ///
    /// let now = Utc::now();
    /// let queued = ExportLog::queued(uuid::Uuid::nil(), &ExportConfig::new(Scope::All, Format::Csv), 1, now);
    /// assert!(!queued.is_downloadable_at(now));
    /// let done = queued.start(now).unwrap()
    ///     .complete(&ExportSummary::default(), "/e.csv", now, Duration::hours(24)).unwrap();
    /// assert!(done.is_downloadable_at(now + Duration::hours(24)));
    /// assert!(!done.is_downloadable_at(now + Duration::hours(25)));
    /// ```
    pub fn is_downloadable_at(&self, now: DateTime<Utc>) -> bool {
        self.status == ExportStatus::Completed && !self.is_expired_at(now)
    }

    /// A copy in status `next` with `updated_at = now`, if the lifecycle
    /// allows it.
    fn moved_to(&self, next: ExportStatus, now: DateTime<Utc>) -> Result<ExportLog> {
        let status = self.status.transition_to(next)?;
        Ok(ExportLog { status, updated_at: now, ..self.clone() })
    }
}

/// Makes an error message safe to store and show: control characters
/// (CR, LF, TAB, NUL, …), Unicode line/paragraph separators and
/// bidirectional-override characters become spaces; runs of whitespace
/// collapse to one space; the ends are trimmed; a message longer than
/// [`MAX_ERROR_MESSAGE_CHARS`] is cut on a character boundary and ends with
/// `…`; an empty message becomes `unknown error`. Nothing is redacted.
///
/// ```
/// use lora_export_core::audit::safe_error_message;
/// assert_eq!(safe_error_message("  bad\r\n\r\nrow\u{202E}7 "), "bad row 7");
/// assert_eq!(safe_error_message("\n\t"), "unknown error");
/// assert!(safe_error_message(&"é".repeat(900)).ends_with('…'));
/// ```
pub fn safe_error_message(message: &str) -> String {
    let mut out = String::new();
    let mut chars = 0;
    let mut pending_space = false;
    for c in message.chars() {
        if c.is_whitespace() || c.is_control() || is_bidi_control(c) {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            chars += 1;
            pending_space = false;
        }
        out.push(c);
        chars += 1;
        if chars > MAX_ERROR_MESSAGE_CHARS {
            let keep: String = out.chars().take(MAX_ERROR_MESSAGE_CHARS - 1).collect();
            return format!("{}…", keep.trim_end());
        }
    }
    if out.is_empty() {
        out.push_str("unknown error");
    }
    out
}

/// Characters that reorder how text is displayed (U+200E/F, U+202A–E,
/// U+2066–9): shown to a user, they can make a message or a file name read
/// differently from what it is.
pub(super) fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use serde_json::{json, Value};

    use super::*;
    use crate::model::{Format, Scope};
    use crate::ErrorKind;

    fn t(minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 10, 29, 10, 0, 0).unwrap() + Duration::minutes(minutes)
    }

    fn user() -> Uuid {
        Uuid::parse_str("6f1c2f0e-4a4b-4c8e-9a57-2f0d1b9c3e11").unwrap()
    }

    fn summary() -> ExportSummary {
        let mut s = ExportSummary {
            format: "jsonl".into(),
            conversations: 40,
            turns: 160,
            bytes: 123_456,
            sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into(),
            ..ExportSummary::default()
        };
        s.tier_distribution.insert("template".into(), 40);
        s
    }

    fn queued() -> ExportLog {
        ExportLog::queued(user(), &ExportConfig::new(Scope::All, Format::Jsonl), 42, t(0))
    }

    fn processing() -> ExportLog {
        queued().start(t(1)).unwrap()
    }

    fn completed() -> ExportLog {
        processing()
            .complete(&summary(), "https://files.example/e.jsonl", t(2), default_expiry())
            .unwrap()
    }

    fn failed() -> ExportLog {
        processing().fail("boom", t(2)).unwrap()
    }

    fn expired() -> ExportLog {
        completed().expire(t(60 * 25)).unwrap()
    }

    fn assert_refused(result: Result<ExportLog>, from: &str, to: &str) {
        let err = result.expect_err("transition should be refused");
        match err.kind() {
            ErrorKind::InvalidTransition { from: f, to: t } => {
                assert_eq!((f.as_str(), t.as_str()), (from, to));
            }
            other => panic!("unexpected error {other:?}"),
        }
        assert_eq!(err.http_status(), 409);
    }

    #[test]
    fn queued_starts_the_lifecycle() {
        let log = queued();
        assert_eq!(log.status, ExportStatus::Queued);
        assert_eq!(log.format, Format::Jsonl);
        assert_eq!(log.config.format, Format::Jsonl);
        assert_eq!(log.conversation_count, 42);
        assert_eq!(log.id.get_version_num(), 4);
        assert_eq!(log.export_id.get_version_num(), 4);
        assert_ne!(log.id, log.export_id);
        assert_ne!(log.export_id, queued().export_id, "fresh ids every time");
        assert_eq!((log.timestamp, log.created_at, log.updated_at), (t(0), t(0), t(0)));
        assert_eq!(log.file_size, None);
        assert_eq!(log.file_url, None);
        assert_eq!(log.expires_at, None);
        assert_eq!(log.error_message, None);
        assert_eq!(log.file_sha256, None);
        assert_eq!(log.download_count, 0);
        assert_eq!(log.last_downloaded_at, None);
    }

    #[test]
    fn start_from_queued_only() {
        let log = processing();
        assert_eq!(log.status, ExportStatus::Processing);
        assert_eq!(log.updated_at, t(1));
        assert_eq!(log.created_at, t(0));
        assert_eq!(log.timestamp, t(0));
        assert_refused(processing().start(t(3)), "processing", "processing");
        assert_refused(completed().start(t(3)), "completed", "processing");
        assert_refused(failed().start(t(3)), "failed", "processing");
        assert_refused(expired().start(t(3)), "expired", "processing");
    }

    #[test]
    fn complete_from_processing_only() {
        let log = completed();
        assert_eq!(log.status, ExportStatus::Completed);
        assert_eq!(log.conversation_count, 40, "count comes from the summary");
        assert_eq!(log.file_size, Some(123_456));
        assert_eq!(log.file_sha256.as_deref(), Some(summary().sha256.as_str()));
        assert_eq!(log.file_url.as_deref(), Some("https://files.example/e.jsonl"));
        assert_eq!(log.expires_at, Some(t(2) + Duration::hours(24)));
        assert_eq!(log.updated_at, t(2));
        let s = summary();
        assert_refused(queued().complete(&s, "u", t(3), default_expiry()), "queued", "completed");
        assert_refused(
            completed().complete(&s, "u", t(3), default_expiry()),
            "completed",
            "completed",
        );
        assert_refused(failed().complete(&s, "u", t(3), default_expiry()), "failed", "completed");
        assert_refused(expired().complete(&s, "u", t(3), default_expiry()), "expired", "completed");
    }

    #[test]
    fn complete_clamps_odd_expiries() {
        let negative = processing().complete(&summary(), "u", t(2), Duration::hours(-5)).unwrap();
        assert_eq!(negative.expires_at, Some(t(2)));
        let huge = processing().complete(&summary(), "u", t(2), Duration::MAX).unwrap();
        assert_eq!(huge.expires_at, Some(DateTime::<Utc>::MAX_UTC));
        assert!(huge.is_downloadable_at(t(60 * 24 * 365 * 100)));
    }

    #[test]
    fn fail_from_queued_or_processing() {
        let from_queued = queued().fail("cancelled by user", t(1)).unwrap();
        assert_eq!(from_queued.status, ExportStatus::Failed);
        assert_eq!(from_queued.error_message.as_deref(), Some("cancelled by user"));
        assert_eq!(from_queued.updated_at, t(1));
        let from_processing = failed();
        assert_eq!(from_processing.status, ExportStatus::Failed);
        assert_eq!(from_processing.error_message.as_deref(), Some("boom"));
        assert_eq!(from_processing.file_url, None);
        assert_eq!(from_processing.expires_at, None);
        assert!(!from_processing.is_downloadable_at(t(3)));
        assert!(!from_processing.is_expired_at(t(60 * 48)));
        assert_refused(completed().fail("late", t(3)), "completed", "failed");
        assert_refused(failed().fail("twice", t(3)), "failed", "failed");
        assert_refused(expired().fail("late", t(3)), "expired", "failed");
    }

    #[test]
    fn expire_from_completed_only() {
        let log = expired();
        assert_eq!(log.status, ExportStatus::Expired);
        assert_eq!(log.updated_at, t(60 * 25));
        assert_eq!(log.expires_at, completed().expires_at, "kept for the audit trail");
        assert!(log.is_expired_at(t(0)), "an expired status is expired at any instant");
        assert!(!log.is_downloadable_at(t(3)));
        assert_refused(queued().expire(t(3)), "queued", "expired");
        assert_refused(processing().expire(t(3)), "processing", "expired");
        assert_refused(failed().expire(t(3)), "failed", "expired");
        assert_refused(expired().expire(t(3)), "expired", "expired");
    }

    #[test]
    fn expiry_edge_is_inclusive_of_expires_at() {
        let log = completed();
        let at = log.expires_at.unwrap();
        assert!(!log.is_expired_at(at - Duration::nanoseconds(1)));
        assert!(!log.is_expired_at(at), "expires_at is the last downloadable instant");
        assert!(log.is_downloadable_at(at));
        assert!(log.record_download(at).is_ok());
        let after = at + Duration::nanoseconds(1);
        assert!(log.is_expired_at(after));
        assert!(!log.is_downloadable_at(after));
        assert_refused(log.record_download(after), "expired", "downloaded");
        // The cleanup job may then move it to `expired`.
        assert_eq!(log.expire(after).unwrap().status, ExportStatus::Expired);
    }

    #[test]
    fn a_completed_row_without_expiry_never_expires() {
        let mut log = completed();
        log.expires_at = None;
        assert!(!log.is_expired_at(DateTime::<Utc>::MAX_UTC));
        assert!(log.is_downloadable_at(DateTime::<Utc>::MAX_UTC));
    }

    #[test]
    fn record_download_counts_and_refuses_outside_completed() {
        let once = completed().record_download(t(10)).unwrap();
        let twice = once.record_download(t(20)).unwrap();
        assert_eq!(once.download_count, 1);
        assert_eq!(twice.download_count, 2);
        assert_eq!(twice.last_downloaded_at, Some(t(20)));
        assert_eq!(twice.updated_at, t(20));
        assert_eq!(twice.status, ExportStatus::Completed);
        assert_refused(queued().record_download(t(3)), "queued", "downloaded");
        assert_refused(processing().record_download(t(3)), "processing", "downloaded");
        assert_refused(failed().record_download(t(3)), "failed", "downloaded");
        assert_refused(expired().record_download(t(3)), "expired", "downloaded");
    }

    #[test]
    fn refused_changes_leave_the_log_untouched() {
        let log = completed();
        let before = log.clone();
        assert!(log.start(t(99)).is_err());
        assert!(log.fail("x", t(99)).is_err());
        assert_eq!(log, before);
    }

    #[test]
    fn error_messages_are_one_bounded_line() {
        assert_eq!(safe_error_message("plain"), "plain");
        assert_eq!(
            safe_error_message("line1\r\nline2\rline3\nline4\tTAB\u{0}NUL\u{2028}LS\u{85}NEL"),
            "line1 line2 line3 line4 TAB NUL LS NEL"
        );
        assert_eq!(safe_error_message("\u{202E}txt.exe"), "txt.exe");
        assert_eq!(safe_error_message(""), "unknown error");
        assert_eq!(safe_error_message(" \r\n "), "unknown error");
        let exact = "a".repeat(MAX_ERROR_MESSAGE_CHARS);
        assert_eq!(safe_error_message(&exact), exact, "a message that fits is kept whole");
        let over = "a".repeat(MAX_ERROR_MESSAGE_CHARS + 1);
        let cut = safe_error_message(&over);
        assert_eq!(cut.chars().count(), MAX_ERROR_MESSAGE_CHARS);
        assert!(cut.ends_with("a…"));
        let cjk = safe_error_message(&"错误".repeat(1000));
        assert_eq!(cjk.chars().count(), MAX_ERROR_MESSAGE_CHARS);
        assert!(cjk.ends_with('…'));
        let log = processing().fail(&format!("{}\nsecond line", "x".repeat(2000)), t(2)).unwrap();
        let msg = log.error_message.unwrap();
        assert!(!msg.contains('\n'));
        assert!(msg.chars().count() <= MAX_ERROR_MESSAGE_CHARS);
    }

    const SEED_KEYS: [&str; 14] = [
        "id",
        "export_id",
        "user_id",
        "timestamp",
        "format",
        "config",
        "conversation_count",
        "file_size",
        "status",
        "file_url",
        "expires_at",
        "error_message",
        "created_at",
        "updated_at",
    ];

    #[test]
    fn serde_keys_are_the_seed_row_plus_three() {
        let value = serde_json::to_value(queued()).unwrap();
        let mut keys: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut expected: Vec<&str> = SEED_KEYS.to_vec();
        expected.extend(["file_sha256", "download_count", "last_downloaded_at"]);
        expected.sort_unstable();
        assert_eq!(keys, expected);
        // Nullable columns are null, not absent, as the seed's `T | null`.
        for key in ["file_size", "file_url", "expires_at", "error_message", "file_sha256"] {
            assert_eq!(value[key], Value::Null, "{key}");
        }
        assert_eq!(value["status"], "queued");
        assert_eq!(value["format"], "jsonl");
        assert_eq!(value["timestamp"], "2025-10-29T10:00:00Z");
        assert_eq!(value["config"]["scope"], "all");
        assert_eq!(value["config"]["includeMetadata"], true);
    }

    #[test]
    fn serde_round_trips_every_state() {
        for log in [queued(), processing(), completed(), failed(), expired()] {
            let text = serde_json::to_string(&log).unwrap();
            let back: ExportLog = serde_json::from_str(&text).unwrap();
            assert_eq!(back, log);
        }
        let downloaded = completed().record_download(t(5)).unwrap();
        let back: ExportLog =
            serde_json::to_value(&downloaded).and_then(serde_json::from_value).unwrap();
        assert_eq!(back, downloaded);
    }

    #[test]
    fn reads_a_seed_row_as_the_database_returns_it() {
        let row = json!({
            "id": "0b3f5a8e-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
            "export_id": "9c8b7a6f-5e4d-4c3b-8a2f-1e0d9c8b7a6f",
            "user_id": "6f1c2f0e-4a4b-4c8e-9a57-2f0d1b9c3e11",
            "timestamp": "2025-10-29T10:00:00.123456+00:00",
            "format": "csv",
            "config": {"scope": "filtered", "format": "csv", "includeMetadata": true,
                       "includeQualityScores": true, "includeTimestamps": true,
                       "includeApprovalHistory": false, "includeParentReferences": false,
                       "includeFullContent": true},
            "conversation_count": 42,
            "file_size": 1024000,
            "status": "completed",
            "file_url": "https://files.example/e.csv",
            "expires_at": "2025-10-30T10:00:00+00:00",
            "error_message": null,
            "created_at": "2025-10-29T10:00:00.123456+00:00",
            "updated_at": "2025-10-29T10:00:05+00:00"
        });
        let log: ExportLog = serde_json::from_value(row).unwrap();
        assert_eq!(log.format, Format::Csv);
        assert_eq!(log.config.scope, Scope::Filtered);
        assert_eq!(log.status, ExportStatus::Completed);
        assert_eq!(log.file_size, Some(1_024_000));
        assert_eq!(log.file_sha256, None);
        assert_eq!(log.download_count, 0);
        assert_eq!(log.last_downloaded_at, None);
        assert_eq!(log.expires_at, Some(Utc.with_ymd_and_hms(2025, 10, 30, 10, 0, 0).unwrap()));
        assert!(log.is_downloadable_at(Utc.with_ymd_and_hms(2025, 10, 30, 10, 0, 0).unwrap()));
        let bad = json!({"status": "done"});
        assert!(serde_json::from_value::<ExportLog>(bad).is_err());
    }
}
