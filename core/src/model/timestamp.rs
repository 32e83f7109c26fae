use std::fmt;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An instant as written in the input, kept verbatim for output and parsed
/// once for comparisons.
///
/// Accepts RFC 3339 (`2025-10-29T10:00:00Z`, `…+02:00`), PostgreSQL's text
/// form (`2025-10-29 10:00:00.123+00`), a naive date-time (read as UTC) and a
/// plain date (midnight UTC).
///
/// ```
/// use lora_export::model::Timestamp;
/// let t = Timestamp::parse("2025-10-29 10:00:00+02").unwrap();
/// assert_eq!(t.as_str(), "2025-10-29 10:00:00+02");
/// assert_eq!(t.utc().to_rfc3339(), "2025-10-29T08:00:00+00:00");
/// assert!(Timestamp::parse("yesterday").is_none());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Timestamp {
    raw: String,
    utc: DateTime<Utc>,
}

impl Timestamp {
    /// Parses `raw`; `None` when it is not an ISO-8601 instant or date.
    pub fn parse(raw: &str) -> Option<Timestamp> {
        parse_instant(raw).map(|utc| Timestamp { raw: raw.to_owned(), utc })
    }

    /// The text exactly as given.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The instant in UTC.
    pub fn utc(&self) -> DateTime<Utc> {
        self.utc
    }

    /// The UTC calendar date, `YYYY-MM-DD`.
    pub fn date(&self) -> String {
        self.utc.format("%Y-%m-%d").to_string()
    }

    /// Whether the input was a plain date without a time of day.
    pub fn is_date_only(&self) -> bool {
        NaiveDate::parse_from_str(self.raw.trim(), "%Y-%m-%d").is_ok()
    }
}

fn parse_instant(raw: &str) -> Option<DateTime<Utc>> {
    let s = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for pattern in ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f%#z"] {
        if let Ok(t) = DateTime::<FixedOffset>::parse_from_str(s, pattern) {
            return Some(t.with_timezone(&Utc));
        }
    }
    for pattern in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, pattern) {
            return Some(Utc.from_utc_datetime(&t));
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| Utc.from_utc_datetime(&t))
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.raw, f)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(utc: DateTime<Utc>) -> Self {
        Timestamp { raw: utc.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true), utc }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.raw)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Timestamp::parse(&raw).ok_or_else(|| {
            serde::de::Error::custom(format!("`{raw}` is not an ISO-8601 timestamp"))
        })
    }
}
