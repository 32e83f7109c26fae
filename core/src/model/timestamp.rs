use std::fmt;
use std::sync::LazyLock;

use chrono::format::{Item, Parsed, StrftimeItems};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An instant as written in the input, kept verbatim for output and parsed
/// once for comparisons.
///
/// Accepts RFC 3339 (`2025-10-29T10:00:00Z`, `…+02:00`), PostgreSQL's text
/// form (`2025-10-29 10:00:00.123+00`), a naive date-time (read as UTC) and a
/// plain date (midnight UTC).
///
/// ```
/// use lora_export_core::model::Timestamp;
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
    let patterns = &*PATTERNS;
    for items in &patterns.with_offset {
        if let Some(t) = parsed(s, items).and_then(|p| p.to_datetime().ok()) {
            return Some(t.with_timezone(&Utc));
        }
    }
    for items in &patterns.naive {
        if let Some(t) = parsed(s, items).and_then(|p| p.to_naive_datetime_with_offset(0).ok()) {
            return Some(Utc.from_utc_datetime(&t));
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| Utc.from_utc_datetime(&t))
}

/// `s` read by the format `items`, as `parse_from_str` reads it.
fn parsed(s: &str, items: &[Item<'static>]) -> Option<Parsed> {
    let mut parsed = Parsed::new();
    chrono::format::parse(&mut parsed, s, items.iter()).ok()?;
    Some(parsed)
}

/// The formats tried after RFC 3339, each parsed once (parsing a format
/// string for every timestamp was a few per cent of an export whose
/// timestamps are in PostgreSQL's text form).
struct Patterns {
    /// With an offset: PostgreSQL's text form, and RFC 3339 with an
    /// offset of hours only.
    with_offset: [Vec<Item<'static>>; 2],
    /// Without one, read as UTC.
    naive: [Vec<Item<'static>>; 2],
}

static PATTERNS: LazyLock<Patterns> = LazyLock::new(|| {
    let items = |pattern: &'static str| {
        StrftimeItems::new(pattern).parse().expect("the built-in formats are valid")
    };
    Patterns {
        with_offset: [items("%Y-%m-%d %H:%M:%S%.f%#z"), items("%Y-%m-%dT%H:%M:%S%.f%#z")],
        naive: [items("%Y-%m-%dT%H:%M:%S%.f"), items("%Y-%m-%d %H:%M:%S%.f")],
    }
});

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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{FixedOffset, NaiveDateTime};
    use proptest::prelude::*;

    /// What `parse_instant` read before its formats were parsed once:
    /// chrono's `parse_from_str` with the format strings.
    fn by_format_strings(raw: &str) -> Option<DateTime<Utc>> {
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

    #[test]
    fn every_accepted_form_reads_as_the_format_strings_read_it() {
        for raw in [
            "2025-10-29T10:00:00Z",
            "2025-10-29T10:00:00.123456+02:00",
            "2025-10-01 12:00:00.250+00",
            "2025-10-01 12:00:00+0530",
            "2025-10-01 12:00:00-03:30",
            "2025-10-01T12:00:00+01",
            "2025-10-01T12:00:00",
            "2025-10-01 12:00:00.5",
            " 2025-10-01 ",
            "2025-02-30 12:00:00+00",
            "2025-10-01 25:00:00+00",
            "2025-10-01 12:00:00+",
            "2025-10-01 12:00:00 +00",
            "yesterday",
            "",
        ] {
            assert_eq!(parse_instant(raw), by_format_strings(raw), "{raw:?}");
        }
    }

    proptest! {
        #[test]
        fn generated_instants_read_as_the_format_strings_read_them(
            raw in "[0-9]{4}-[01][0-9]-[0-3][0-9]([ T][0-2][0-9]:[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?([+-][01][0-9](:?[0-5][0-9])?|Z)?)? ?"
        ) {
            prop_assert_eq!(parse_instant(&raw), by_format_strings(&raw));
        }
    }
}
