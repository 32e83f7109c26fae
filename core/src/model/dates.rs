//! The bounds of a `dateRange`, parsed once: request validation reports
//! what does not parse, the scope decides with them.

use chrono::{DateTime, Days, Utc};

use super::{DateRange, Timestamp};
use crate::Issue;

/// The upper end of a [`DateBounds`].
///
/// ```
/// use lora_export_core::model::UpperBound;
/// let day = UpperBound::parse("2025-10-29").unwrap();
/// assert_eq!(day, UpperBound::Before("2025-10-30T00:00:00Z".parse().unwrap()));
/// let instant = UpperBound::parse("2025-10-29T12:00:00+02:00").unwrap();
/// assert_eq!(instant, UpperBound::Through("2025-10-29T10:00:00Z".parse().unwrap()));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpperBound {
    /// Up to and including this instant (`to` was an instant).
    Through(DateTime<Utc>),
    /// Strictly before this instant: the midnight UTC after `to`, when `to`
    /// was a plain date.
    Before(DateTime<Utc>),
}

impl UpperBound {
    /// Reads `to`: a plain date covers its whole UTC day; `None` when `raw`
    /// is not ISO-8601.
    pub fn parse(raw: &str) -> Option<UpperBound> {
        let to = Timestamp::parse(raw)?;
        if !to.is_date_only() {
            return Some(UpperBound::Through(to.utc()));
        }
        Some(match to.utc().checked_add_days(Days::new(1)) {
            Some(next_midnight) => UpperBound::Before(next_midnight),
            None => UpperBound::Through(DateTime::<Utc>::MAX_UTC),
        })
    }

    /// Whether `t` is at or below this bound.
    ///
    /// ```
    /// use lora_export_core::model::UpperBound;
    /// let day = UpperBound::parse("2025-10-29").unwrap();
    /// assert!(day.admits("2025-10-29T23:59:59.999Z".parse().unwrap()));
    /// assert!(!day.admits("2025-10-30T00:00:00Z".parse().unwrap()));
    /// ```
    pub fn admits(self, t: DateTime<Utc>) -> bool {
        match self {
            UpperBound::Through(end) => t <= end,
            UpperBound::Before(end) => t < end,
        }
    }
}

/// The parsed bounds of a `dateRange` on `createdAt`: `from` inclusive,
/// `to` as an [`UpperBound`].
///
/// ```
/// use lora_export_core::model::DateRange;
/// use lora_export_core::model::DateBounds;
/// let range = DateRange { from: Some("2025-10-01".into()), to: Some("2025-10-31".into()) };
/// let bounds = DateBounds::parse(&range, "filters.dateRange").unwrap();
/// assert!(bounds.contains("2025-10-31T23:00:00Z".parse().unwrap()));
/// assert!(!bounds.contains("2025-09-30T23:59:59Z".parse().unwrap()));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateBounds {
    /// Earliest instant kept, inclusive.
    pub from: Option<DateTime<Utc>>,
    /// Latest instant kept.
    pub to: Option<UpperBound>,
}

impl DateBounds {
    /// Parses both ends of `range`. On failure, the issues are `invalid_date`
    /// at `{path}.from` / `{path}.to` and `from_after_to` at `path`.
    ///
    /// ```
    /// use lora_export_core::model::DateRange;
    /// use lora_export_core::model::DateBounds;
    /// let range = DateRange { from: Some("2025-10-02".into()), to: Some("2025-10-01".into()) };
    /// let issues = DateBounds::parse(&range, "dateRange").unwrap_err();
    /// assert_eq!((issues[0].path.as_str(), issues[0].code.as_str()), ("dateRange", "from_after_to"));
    /// ```
    pub fn parse(range: &DateRange, path: &str) -> std::result::Result<DateBounds, Vec<Issue>> {
        let mut issues = Vec::new();
        let mut invalid = |side: &str, raw: &str| {
            let message = format!("`{raw}` is not an ISO-8601 date or instant");
            issues.push(Issue::new(format!("{path}.{side}"), "invalid_date", message));
        };
        let from = range
            .from
            .as_deref()
            .map(|raw| Timestamp::parse(raw).map(|t| t.utc()).ok_or_else(|| invalid("from", raw)));
        let to =
            range.to.as_deref().map(|raw| UpperBound::parse(raw).ok_or_else(|| invalid("to", raw)));
        let bounds = match (from.transpose(), to.transpose()) {
            (Ok(from), Ok(to)) => DateBounds { from, to },
            _ => return Err(issues),
        };
        if bounds.is_empty() {
            let message = "`from` is after `to`: no date lies between them";
            return Err(vec![Issue::new(path, "from_after_to", message)]);
        }
        Ok(bounds)
    }

    /// Whether no instant lies within the bounds.
    ///
    /// ```
    /// use lora_export_core::model::{DateBounds, UpperBound};
    /// let t = "2025-10-29T10:00:00Z".parse().unwrap();
    /// assert!(!DateBounds { from: Some(t), to: Some(UpperBound::Through(t)) }.is_empty());
    /// assert!(DateBounds { from: Some(t), to: Some(UpperBound::Before(t)) }.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        match (self.from, self.to) {
            (Some(from), Some(to)) => !to.admits(from),
            _ => false,
        }
    }

    /// Whether `t` lies within the bounds.
    ///
    /// ```
    /// use lora_export_core::model::DateBounds;
    /// let open = DateBounds { from: None, to: None };
    /// assert!(open.contains(chrono::Utc::now()));
    /// ```
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.from.map_or(true, |from| from <= t) && self.to.map_or(true, |to| to.admits(t))
    }
}
