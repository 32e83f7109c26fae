//! The history request's filters and page ([`HistoryQuery`]), typed or
//! parsed from what a URL's query string holds.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use lora_export_core::ErrorKind as CoreKind;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::Result;
use lora_export_core::audit::ExportStatus;
use lora_export_core::model::Format;
use lora_export_core::Issue;

/// The largest page size [`HistoryQuery::limit`] accepts.
pub const MAX_HISTORY_LIMIT: u32 = 100;

/// Filters and page of a history request (`GET /history`).
///
/// ```
/// use lora_export_service::HistoryQuery;
/// let q: HistoryQuery = serde_json::from_str(r#"{"status":"completed","limit":50}"#).unwrap();
/// assert_eq!((q.page, q.limit), (1, 50));
/// let bad = HistoryQuery { page: 0, limit: 101, ..HistoryQuery::default() };
/// let issues = bad.validate().unwrap_err();
/// assert_eq!(issues.iter().map(|i| i.path.as_str()).collect::<Vec<_>>(), ["page", "limit"]);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct HistoryQuery {
    /// Only this format.
    pub format: Option<Format>,
    /// Only this status (a completed export past its expiry counts as expired).
    pub status: Option<ExportStatus>,
    /// Only exports created at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Only exports created at or before this instant.
    pub to: Option<DateTime<Utc>>,
    /// 1-based page number (default 1).
    pub page: u32,
    /// Rows per page, 1–100 (default 20).
    pub limit: u32,
    /// The column the page is sorted by (default `created_at`); ties go
    /// newest first.
    pub sort: HistorySort,
    /// The direction of `sort` (default `desc`).
    pub order: SortOrder,
    /// Only this user's exports: the admin history only
    /// ([`ExportService::admin_history`](crate::ExportService::admin_history));
    /// a user's own history refuses it (400).
    pub user: Option<Uuid>,
}

impl Default for HistoryQuery {
    fn default() -> Self {
        HistoryQuery {
            format: None,
            status: None,
            from: None,
            to: None,
            page: 1,
            limit: 20,
            sort: HistorySort::CreatedAt,
            order: SortOrder::Desc,
            user: None,
        }
    }
}

/// The columns a history page can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistorySort {
    /// When the export was requested (the default).
    #[default]
    CreatedAt,
    /// The file format's name.
    Format,
    /// The status as it reads now (a completed export past its expiry is `expired`).
    Status,
    /// How many conversations the export holds.
    ConversationCount,
    /// The file's size (exports without a file last).
    FileSize,
    /// When the file expires (exports without an expiry last).
    ExpiresAt,
}

impl HistorySort {
    /// The column of the history query this sort orders by.
    pub(crate) fn column(self) -> &'static str {
        match self {
            HistorySort::CreatedAt => "created_at",
            HistorySort::Format => "format",
            HistorySort::Status => "effective_status",
            HistorySort::ConversationCount => "conversation_count",
            HistorySort::FileSize => "file_size",
            HistorySort::ExpiresAt => "expires_at",
        }
    }
}

/// A sort's direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    /// Smallest (or earliest) first.
    Asc,
    /// Largest (or latest) first (the default).
    #[default]
    Desc,
}

impl SortOrder {
    /// The SQL keyword.
    pub(crate) fn sql(self) -> &'static str {
        match self {
            SortOrder::Asc => "ASC",
            SortOrder::Desc => "DESC",
        }
    }
}

impl HistoryQuery {
    /// Every problem with the query (each an [`Issue`] with its path).
    pub fn validate(&self) -> std::result::Result<(), Vec<Issue>> {
        let mut issues = Vec::new();
        if self.page == 0 {
            issues.push(Issue::new("page", "out_of_range", "page must be at least 1"));
        }
        if !(1..=MAX_HISTORY_LIMIT).contains(&self.limit) {
            let message = format!("limit must be between 1 and {MAX_HISTORY_LIMIT}");
            issues.push(Issue::new("limit", "out_of_range", message));
        }
        if let (Some(from), Some(to)) = (self.from, self.to) {
            if from > to {
                issues.push(Issue::new("from", "invalid_range", "from must not be after to"));
            }
        }
        if issues.is_empty() {
            Ok(())
        } else {
            Err(issues)
        }
    }

    /// The query a request's parameters describe: an object of strings
    /// (`Object.fromEntries(url.searchParams)`, a form) or of typed values.
    /// `page` and `limit` may be integers or decimal strings; `from` and
    /// `to` RFC 3339 instants or `YYYY-MM-DD` dates (what a date input
    /// sends: `from` is the start of that day, UTC, `to` its end); an empty
    /// string or `null` is the default. Every problem is an [`Issue`] at
    /// its key, unknown keys included.
    ///
    /// ```
    /// use lora_export_service::HistoryQuery;
    /// let q = HistoryQuery::parse(&serde_json::json!({"limit": "50", "from": "2026-12-01", "format": ""})).unwrap();
    /// assert_eq!((q.limit, q.format), (50, None));
    /// assert_eq!(q.from.unwrap().to_rfc3339(), "2026-12-01T00:00:00+00:00");
    /// let err = HistoryQuery::parse(&serde_json::json!({"limit": "abc", "sort": "x"})).unwrap_err();
    /// let paths: Vec<&str> = err.issues().iter().map(|i| i.path.as_str()).collect();
    /// assert_eq!(paths, ["limit", "sort"]);
    /// ```
    ///
    /// # Errors
    ///
    /// [`CoreKind::InvalidRequest`] with every issue.
    pub fn parse(params: &Value) -> Result<HistoryQuery> {
        let mut query = HistoryQuery::default();
        let mut issues = Vec::new();
        let map = match params {
            Value::Null => return Ok(query),
            Value::Object(map) => map,
            _ => {
                let issue = Issue::new("", "invalid_type", "the history query must be an object");
                return Err(CoreKind::InvalidRequest(vec![issue]).into());
            }
        };
        for (key, value) in map {
            if value.is_null() || value.as_str() == Some("") {
                continue;
            }
            let parsed = match key.as_str() {
                "format" => named(value, "format").map(|v| query.format = Some(v)),
                "status" => named(value, "status").map(|v| query.status = Some(v)),
                "from" => instant(value, false).map(|v| query.from = Some(v)),
                "to" => instant(value, true).map(|v| query.to = Some(v)),
                "page" => whole(value).map(|v| query.page = v),
                "limit" => whole(value).map(|v| query.limit = v),
                "sort" => named(value, "sort").map(|v| query.sort = v),
                "order" => named(value, "order").map(|v| query.order = v),
                "user" => user_id(value).map(|v| query.user = Some(v)),
                other => Err(Issue::new(
                    other,
                    "unknown_field",
                    format!("unknown field `{other}`; expected one of format, status, from, to, page, limit, sort, order, user"),
                )),
            };
            if let Err(mut issue) = parsed {
                issue.path.clone_from(key);
                issues.push(issue);
            }
        }
        if let Err(more) = query.validate() {
            let fresh: Vec<Issue> =
                more.into_iter().filter(|m| !issues.iter().any(|i| i.path == m.path)).collect();
            issues.extend(fresh);
        }
        if issues.is_empty() {
            Ok(query)
        } else {
            Err(CoreKind::InvalidRequest(issues).into())
        }
    }
}

/// An enum value of the model (`jsonl`, `completed`, …) by its name.
fn named<T: DeserializeOwned>(value: &Value, what: &str) -> std::result::Result<T, Issue> {
    serde_json::from_value(value.clone())
        .map_err(|e| Issue::new(what, "invalid_enum", format!("not a valid {what}: {e}")))
}

/// A user id: a UUID string.
fn user_id(value: &Value) -> std::result::Result<Uuid, Issue> {
    value.as_str().and_then(|s| Uuid::parse_str(s.trim()).ok()).ok_or_else(|| {
        Issue::new("", "invalid_uuid", format!("expected a user id (a UUID), got {value}"))
    })
}

/// A page number or size: an integer, or a string of decimal digits.
fn whole(value: &Value) -> std::result::Result<u32, Issue> {
    let parsed = match value {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.trim().parse::<u32>().ok(),
        _ => None,
    };
    parsed.ok_or_else(|| {
        Issue::new("", "invalid_number", format!("expected a whole number, got {value}"))
    })
}

/// An RFC 3339 instant, or a date: its first instant, or (`end`) its last
/// microsecond.
fn instant(value: &Value, end: bool) -> std::result::Result<DateTime<Utc>, Issue> {
    let text = value.as_str().unwrap_or_default().trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let start = day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        if !end {
            return Ok(start);
        }
        // The last day chrono holds has no next midnight: checked, not a panic.
        let last = start
            .checked_add_signed(TimeDelta::days(1))
            .and_then(|next| next.checked_sub_signed(TimeDelta::microseconds(1)));
        return last.ok_or_else(|| {
            Issue::new("", "invalid_date", format!("{value} is the last day this server can count"))
        });
    }
    Err(Issue::new(
        "",
        "invalid_date",
        format!("expected an RFC 3339 instant or a YYYY-MM-DD date, got {value}"),
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_query_string_parses_into_the_typed_query() {
        let q = HistoryQuery::parse(&json!({
            "format": "csv", "status": "completed", "from": "2026-12-01", "to": "2026-12-02",
            "page": "2", "limit": 50,
        }))
        .unwrap();
        assert_eq!(
            (q.format, q.status, q.page, q.limit),
            (Some(Format::Csv), Some(ExportStatus::Completed), 2, 50)
        );
        assert_eq!(q.to.unwrap().to_rfc3339(), "2026-12-02T23:59:59.999999+00:00");
        assert_eq!(HistoryQuery::parse(&json!({})).unwrap(), HistoryQuery::default());
    }

    #[test]
    fn sort_order_and_user_parse_and_refuse_what_they_do_not_know() {
        let user = "6f1c2d3e-0000-4000-8000-000000000001";
        let q = HistoryQuery::parse(&json!({"sort": "file_size", "order": "asc", "user": user}))
            .unwrap();
        assert_eq!((q.sort, q.order), (HistorySort::FileSize, SortOrder::Asc));
        assert_eq!(q.user.unwrap().to_string(), user);
        assert_eq!(q.sort.column(), "file_size");
        let err =
            HistoryQuery::parse(&json!({"sort": "user_id; DROP", "order": "up", "user": "me"}))
                .unwrap_err();
        let mut found: Vec<(&str, &str)> =
            err.issues().iter().map(|i| (i.path.as_str(), i.code.as_str())).collect();
        found.sort_unstable();
        assert_eq!(
            found,
            [("order", "invalid_enum"), ("sort", "invalid_enum"), ("user", "invalid_uuid")]
        );
    }

    #[test]
    fn every_problem_is_an_issue_at_its_key() {
        let err = HistoryQuery::parse(&json!({
            "format": "xml", "from": "yesterday", "page": "-1", "limit": "101", "x": 1,
        }))
        .unwrap_err();
        assert_eq!(err.code(), "VALIDATION_ERROR");
        let mut found: Vec<(&str, &str)> =
            err.issues().iter().map(|i| (i.path.as_str(), i.code.as_str())).collect();
        found.sort_unstable();
        assert_eq!(
            found,
            [
                ("format", "invalid_enum"),
                ("from", "invalid_date"),
                ("limit", "out_of_range"),
                ("page", "invalid_number"),
                ("x", "unknown_field")
            ]
        );
        assert_eq!(HistoryQuery::parse(&json!([1])).unwrap_err().issues()[0].path, "");
    }

    #[test]
    fn a_date_without_a_next_day_is_an_issue_at_its_key() {
        for to in ["+262142-12-31", "+262143-01-01"] {
            let err = HistoryQuery::parse(&json!({ "to": to })).unwrap_err();
            let issue = &err.issues()[0];
            assert_eq!((issue.path.as_str(), issue.code.as_str()), ("to", "invalid_date"), "{to}");
        }
        let from = HistoryQuery::parse(&json!({ "from": "+262142-12-31" })).unwrap();
        assert!(from.from.is_some());
    }
}
