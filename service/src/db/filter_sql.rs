//! An export request's scope and filters as one parameterized SQL condition
//! over `conversations c` (the relation of [`SourceTables`]), selecting
//! exactly what [`Selector`] keeps.
//!
//! The translation follows the table of [`lora_export_core::scope`] row by row. Values
//! from the request never enter the SQL text: each is a `$n` parameter
//! (lists as `= ANY($n)`, the search as a `LIKE` pattern with `%`, `_` and
//! `\` escaped). Two details make the SQL agree with Rust at the edges:
//!
//! - **Microseconds.** PostgreSQL stores instants to the microsecond, Rust
//!   compares nanoseconds, so `from` is rounded up and an instant `to` down
//!   to a whole microsecond; bounds before PostgreSQL's earliest instant
//!   (4714-11-24 BC) become "no condition" (`from`) or `FALSE` (`to`).
//! - **Lowercasing.** The search needle is lowercased in Rust
//!   ([`SearchQuery`]), the text by PostgreSQL's `lower()`, which maps one
//!   character at a time with the database's `LC_CTYPE`. Under a UTF-8
//!   locale (the test cluster runs `C.UTF-8`) the two agree for Latin,
//!   Greek and Cyrillic letters such as `Ä`, `É`, `Ж`, but not where Rust
//!   is context- or length-dependent: a word-final `Σ` is `ς` in Rust and
//!   `σ` in PostgreSQL, and `İ` is `i̇` (two characters) in Rust and `i` in
//!   PostgreSQL. Under the `C` locale `lower()` maps ASCII only.

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use lora_export_core::ErrorKind as CoreKind;
use tokio_postgres::types::ToSql;

use super::schema::SourceTables;
use crate::Result;
use lora_export_core::model::{ExportRequest, Scope};
use lora_export_core::scope::{active_list, DateBounds, SearchQuery, Selector, UpperBound};

/// PostgreSQL's earliest `timestamptz`, 4714-11-24 00:00:00 BC (UTC), in
/// seconds from the Unix epoch.
const PG_MIN_SECONDS: i64 = -210_866_803_200;

/// PostgreSQL's earliest `timestamptz` as an instant.
pub(crate) const PG_MIN_INSTANT: DateTime<Utc> = match DateTime::from_timestamp(PG_MIN_SECONDS, 0) {
    Some(t) => t,
    None => panic!("PostgreSQL's earliest instant is within chrono's range"),
};

/// A boolean SQL condition over the table alias `c` (`conversations c`) and
/// the values of its `$n` parameters.
///
/// ```
/// use lora_export_core::model::ExportRequest;
/// use lora_export_service::{SourceTables, SqlFilter};
///
/// let tables = SourceTables::library("lora_export").unwrap();
/// let request: ExportRequest = serde_json::from_str(r#"{
///   "config": {"scope": "filtered", "format": "jsonl"},
///   "filters": {"tierTypes": ["template"], "qualityRange": {"min": 7.5, "max": 10},
///               "categories": [], "searchQuery": " 100% ÄRGER "}
/// }"#).unwrap();
/// let filter = SqlFilter::for_request(&request, 3, &tables).unwrap();
/// assert_eq!(
///     filter.clause,
///     "c.tier = ANY($3) AND c.quality_score BETWEEN $4 AND $5 AND (lower(c.title) LIKE $6 \
///      ESCAPE '\\' OR EXISTS (SELECT 1 FROM \"lora_export\".\"conversation_turns\" t \
///      WHERE t.conversation_id = c.id AND lower(t.content) LIKE $6 ESCAPE '\\'))"
/// );
/// assert_eq!(format!("{:?}", filter.params[3]), r#""%100\\% ärger%""#);
/// for value in ["template", "7.5", "100", "rger"] {
///     assert!(!filter.clause.contains(value), "{value} is a parameter, not SQL text");
/// }
/// assert_eq!(filter.param_refs().len(), 4);
/// ```
#[derive(Debug)]
pub struct SqlFilter {
    /// The condition; `TRUE` when the request constrains nothing. Safe to
    /// join with `AND`: it has no top-level `OR`.
    pub clause: String,
    /// The values of `$first_param`, `$first_param + 1`, …, in order.
    pub params: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl SqlFilter {
    /// Translates `request`, numbering parameters from `$first_param` (so the
    /// caller can put its own parameters first); the search looks into the
    /// turns of `tables`.
    ///
    /// # Errors
    ///
    /// [`CoreKind::InvalidRequest`] exactly when [`Selector::new`] refuses
    /// the request; [`CoreKind::Config`] when `first_param` is 0.
    ///
    /// ```
    /// use lora_export_core::model::{ExportConfig, ExportRequest, Format, Scope};
    /// use lora_export_service::{SourceTables, SqlFilter};
    ///
    /// let tables = SourceTables::library("lora_export").unwrap();
    /// let all_data = ExportRequest::new(ExportConfig::new(Scope::AllData, Format::Csv));
    /// assert_eq!(SqlFilter::for_request(&all_data, 1, &tables).unwrap().clause, "TRUE");
    /// let all = ExportRequest::new(ExportConfig::new(Scope::All, Format::Csv));
    /// assert_eq!(SqlFilter::for_request(&all, 1, &tables).unwrap().clause, "c.status = 'approved'");
    ///
    /// let mut selected = ExportRequest::new(ExportConfig::new(Scope::Selected, Format::Csv));
    /// selected.conversation_ids = Some(vec!["c-1".into()]);
    /// let filter = SqlFilter::for_request(&selected, 2, &tables).unwrap();
    /// assert_eq!(filter.clause, "(c.conversation_id = ANY($2) OR c.id::text = ANY($2))");
    /// ```
    pub fn for_request(
        request: &ExportRequest,
        first_param: usize,
        tables: &SourceTables,
    ) -> Result<SqlFilter> {
        if first_param == 0 {
            return Err(CoreKind::Config("SQL parameters are numbered from $1".into()).into());
        }
        Selector::new(request)?;
        let mut sql = Builder {
            next: first_param,
            conditions: Vec::new(),
            params: Vec::new(),
            turns: tables.turns(),
        };
        match request.config.scope {
            Scope::Selected => {
                let ids = sql.param(request.conversation_ids.clone().unwrap_or_default());
                sql.push(format!("(c.conversation_id = ANY({ids}) OR c.id::text = ANY({ids}))"));
            }
            Scope::Filtered => sql.filters(request)?,
            Scope::All => sql.push("c.status = 'approved'".to_owned()),
            Scope::AllData => {}
        }
        let clause = if sql.conditions.is_empty() {
            "TRUE".to_owned()
        } else {
            sql.conditions.join(" AND ")
        };
        Ok(SqlFilter { clause, params: sql.params })
    }

    /// The parameters as tokio-postgres takes them (`client.query(sql, &refs)`).
    pub fn param_refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params.iter().map(|p| &**p as &(dyn ToSql + Sync)).collect()
    }
}

/// Conditions joined by `AND`, and the parameters they refer to.
struct Builder {
    next: usize,
    conditions: Vec<String>,
    params: Vec<Box<dyn ToSql + Sync + Send>>,
    /// The turns relation, quoted.
    turns: String,
}

impl Builder {
    /// Adds `value` as the next parameter and returns its placeholder.
    fn param(&mut self, value: impl ToSql + Sync + Send + 'static) -> String {
        self.params.push(Box::new(value));
        self.next += 1;
        format!("${}", self.next - 1)
    }

    fn push(&mut self, condition: String) {
        self.conditions.push(condition);
    }

    /// Adds `{column} = ANY($n)` when `list` is present and not empty.
    fn one_of(&mut self, column: &str, list: Option<&[String]>) {
        if let Some(list) = active_list(list) {
            let p = self.param(list.to_vec());
            self.push(format!("{column} = ANY({p})"));
        }
    }

    fn filters(&mut self, request: &ExportRequest) -> Result<()> {
        let f = request.filters.clone().unwrap_or_default();
        let tiers: Option<Vec<String>> =
            f.tier_types.map(|l| l.iter().map(|t| t.as_str().to_owned()).collect());
        self.one_of("c.tier", tiers.as_deref());
        let statuses: Option<Vec<String>> =
            f.statuses.map(|l| l.iter().map(|s| s.as_str().to_owned()).collect());
        self.one_of("c.status", statuses.as_deref());
        if let Some(q) = f.quality_range {
            let (min, max) = (self.param(q.min), self.param(q.max));
            self.push(format!("c.quality_score BETWEEN {min} AND {max}"));
        }
        if let Some(range) = &f.date_range {
            let bounds = DateBounds::parse(range, "filters.dateRange")
                .map_err(|issues| crate::Error::from(CoreKind::InvalidRequest(issues)))?;
            self.dates(bounds);
        }
        if let Some(categories) = active_list(f.categories.as_deref()) {
            let p = self.param(categories.to_vec());
            self.push(format!("c.category && {p}::text[]"));
        }
        self.one_of("c.persona", f.personas.as_deref());
        self.one_of("c.emotion", f.emotions.as_deref());
        self.one_of("c.topic", f.topics.as_deref());
        if let Some(query) = f.search_query.as_deref().and_then(SearchQuery::new) {
            let p = self.param(like_pattern(query.needle()));
            let turns = &self.turns;
            self.push(format!(
                "(lower(c.title) LIKE {p} ESCAPE '\\' OR EXISTS (SELECT 1 FROM {turns} t \
                 WHERE t.conversation_id = c.id AND lower(t.content) LIKE {p} ESCAPE '\\'))"
            ));
        }
        if let Some(parent_id) = f.parent_id {
            let p = self.param(parent_id);
            self.push(format!("c.parent_id = {p}"));
        }
        Ok(())
    }

    /// The bounds on `created_at`, in microseconds (see the module docs).
    fn dates(&mut self, bounds: DateBounds) {
        if let Some(from) = bounds.from.filter(|&from| from > PG_MIN_INSTANT) {
            match micros_ceil(from) {
                Some(from) => {
                    let p = self.param(from);
                    self.push(format!("c.created_at >= {p}"));
                }
                None => self.push("FALSE".to_owned()),
            }
        }
        match bounds.to {
            Some(UpperBound::Through(to)) if to < PG_MIN_INSTANT => self.push("FALSE".to_owned()),
            Some(UpperBound::Before(to)) if to <= PG_MIN_INSTANT => self.push("FALSE".to_owned()),
            Some(UpperBound::Through(to)) => {
                let p = self.param(to.trunc_subsecs(6));
                self.push(format!("c.created_at <= {p}"));
            }
            // A plain date's next midnight: a whole microsecond already.
            Some(UpperBound::Before(to)) => {
                let p = self.param(to);
                self.push(format!("c.created_at < {p}"));
            }
            None => {}
        }
    }
}

/// `t` rounded up to a whole microsecond; `None` past chrono's last instant.
fn micros_ceil(t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let floor = t.trunc_subsecs(6);
    if floor == t {
        Some(t)
    } else {
        floor.checked_add_signed(TimeDelta::microseconds(1))
    }
}

/// A `LIKE … ESCAPE '\'` pattern matching any text that contains `needle`.
fn like_pattern(needle: &str) -> String {
    let mut pattern = String::with_capacity(needle.len() + 2);
    pattern.push('%');
    for ch in needle.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn library() -> SourceTables {
        SourceTables::library("lora_export").unwrap()
    }

    fn filter(filters: serde_json::Value) -> SqlFilter {
        let request =
            json!({"config": {"scope": "filtered", "format": "jsonl"}, "filters": filters});
        SqlFilter::for_request(&serde_json::from_value(request).unwrap(), 1, &library()).unwrap()
    }

    #[test]
    fn like_metacharacters_are_escaped() {
        assert_eq!(like_pattern(r"50%_a\b"), r"%50\%\_a\\b%");
    }

    #[test]
    fn empty_lists_and_blank_search_constrain_nothing() {
        let f = filter(json!({"tierTypes": [], "statuses": [], "categories": [], "personas": [],
                              "emotions": [], "topics": [], "searchQuery": " \t"}));
        assert_eq!((f.clause.as_str(), f.params.len()), ("TRUE", 0));
    }

    #[test]
    fn every_filter_is_one_parameterized_condition() {
        let f = filter(json!({
            "statuses": ["approved"], "dateRange": {"from": "2025-10-01", "to": "2025-10-31"},
            "categories": ["billing"], "personas": ["calm"], "emotions": ["x"], "topics": ["y"],
            "parentId": "p-1",
        }));
        assert_eq!(
            f.clause,
            "c.status = ANY($1) AND c.created_at >= $2 AND c.created_at < $3 \
             AND c.category && $4::text[] AND c.persona = ANY($5) AND c.emotion = ANY($6) \
             AND c.topic = ANY($7) AND c.parent_id = $8"
        );
        assert_eq!(format!("{:?}", f.params[2]), "2025-11-01T00:00:00Z");
    }

    #[test]
    fn date_bounds_are_rounded_to_whole_microseconds_inwards() {
        let f = filter(json!({"dateRange": {"from": "2025-10-29T10:00:00.0000001Z",
                                            "to": "2025-10-29T11:00:00.9999999Z"}}));
        assert_eq!(format!("{:?}", f.params[0]), "2025-10-29T10:00:00.000001Z");
        assert_eq!(format!("{:?}", f.params[1]), "2025-10-29T11:00:00.999999Z");
    }

    #[test]
    fn bounds_before_postgresql_time_need_no_parameter() {
        let early = filter(json!({"dateRange": {"from": "-5000-01-01"}}));
        assert_eq!(early.clause, "TRUE");
        let never = filter(json!({"dateRange": {"to": "-5000-01-01T00:00:00Z"}}));
        assert_eq!(never.clause, "FALSE");
    }

    #[test]
    fn an_invalid_request_or_parameter_zero_is_refused() {
        let request: ExportRequest =
            serde_json::from_value(json!({"config": {"scope": "selected", "format": "csv"}}))
                .unwrap();
        assert_eq!(
            SqlFilter::for_request(&request, 1, &library()).unwrap_err().code(),
            "VALIDATION_ERROR"
        );
        let all = json!({"config": {"scope": "all", "format": "csv"}});
        let all: ExportRequest = serde_json::from_value(all).unwrap();
        assert_eq!(SqlFilter::for_request(&all, 0, &library()).unwrap_err().code(), "CONFIG_ERROR");
    }
}
