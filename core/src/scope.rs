//! The one predicate engine deciding whether a conversation is in an export.
//!
//! A [`Selector`] is built once from an [`ExportRequest`] and asked
//! [`matches`](Selector::matches) for each conversation. The PostgreSQL layer
//! translates the same request into SQL and must agree with this table; the
//! SQL column is the translation it follows.
//!
//! | scope / filter | a conversation is kept when | SQL |
//! |---|---|---|
//! | scope `selected` | its `conversation_id` or its `id` is one of `conversationIds` (exact match) | `conversation_id = ANY($ids) OR id::text = ANY($ids)` |
//! | scope `filtered` | every filter present holds (AND); with no filter present, always | the rows below joined by `AND` |
//! | scope `all` | `status` is `approved` | `status = 'approved'` |
//! | scope `all_data` | always | no condition |
//! | `tierTypes` | `tier` is in the list | `tier = ANY($1)` |
//! | `statuses` | `status` is in the list | `status = ANY($1)` |
//! | `qualityRange` | `min ≤ qualityScore ≤ max` | `quality_score BETWEEN $min AND $max` |
//! | `dateRange.from` | `createdAt ≥ from` | `created_at >= $from` |
//! | `dateRange.to`, an instant | `createdAt ≤ to` | `created_at <= $to` |
//! | `dateRange.to`, a plain date | `createdAt` is before the next day's midnight UTC (the whole day is in) | `created_at < $next_midnight` |
//! | `categories` | at least one of the conversation's categories is in the list (exact match) | `category && $1` |
//! | `personas`, `emotions`, `topics` | the value is present and in the list (exact, case-sensitive); a conversation without one is not kept | `persona = ANY($1)` (`NULL` is not kept) |
//! | `searchQuery` | the query, trimmed and Unicode-lowercased, is a substring of the lowercased title or of any turn's lowercased content | `lower(title) LIKE $pattern OR EXISTS (… lower(content) LIKE $pattern)`, `%`, `_`, `\` escaped |
//! | `parentId` | `parentId` equals it (exact match) | `parent_id = $1` |
//!
//! Empty means unconstrained: a list filter that is empty (`tierTypes: []`)
//! and a `searchQuery` that is empty or whitespace impose no condition,
//! exactly as if they were absent ([`active_list`], [`SearchQuery::new`]).
//! Date bounds are parsed once ([`DateBounds`]) with
//! [`Timestamp::parse`](crate::model::Timestamp::parse); an instant without
//! offset is UTC. Lowercasing is Rust's [`str::to_lowercase`]; PostgreSQL's
//! `lower()` agrees for letters such as `Ä`/`ä` under a UTF-8 locale.

use std::collections::HashSet;

use crate::model::{
    Conversation, ConversationStatus, ExportConfig, ExportRequest, FilterConfig, QualityRange,
    Scope, Tier,
};
pub use crate::model::{DateBounds, UpperBound};
use crate::{ErrorKind, Issue, Result};

/// Decides which conversations an export covers; see the [module docs](self).
///
/// ```
/// use lora_export_core::model::{Conversation, ExportConfig, ExportRequest, Format, Scope};
/// use lora_export_core::scope::Selector;
///
/// let c: Conversation = serde_json::from_str(r#"{"conversation_id":"c1","title":"Refund",
///   "status":"approved","qualityScore":8,"tier":"template","createdAt":"2025-10-29",
///   "updatedAt":"2025-10-29","turns":[{"role":"user","content":"Où est ma commande ?"}]}"#).unwrap();
/// let mut request = ExportRequest::new(ExportConfig::new(Scope::Filtered, Format::Jsonl));
/// request.filters = Some(serde_json::from_str(r#"{"searchQuery":"OÙ EST","qualityRange":{"min":8,"max":10}}"#).unwrap());
/// assert!(Selector::new(&request).unwrap().matches(&c));
///
/// request.filters = Some(serde_json::from_str(r#"{"dateRange":{"from":"2025-10-30"}}"#).unwrap());
/// assert!(!Selector::new(&request).unwrap().matches(&c));
/// ```
#[derive(Debug, Clone)]
pub struct Selector {
    config: ExportConfig,
    rule: Rule,
}

#[derive(Debug, Clone)]
enum Rule {
    Ids(HashSet<String>),
    Filters(Box<Filters>),
    Approved,
    Everything,
}

impl Selector {
    /// Builds the selector of `request`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidRequest`] with the issues
    /// [`validate_request`](crate::request::validate_request) reports for the
    /// request (a request built in Rust skips that validation otherwise). A
    /// non-finite quality bound serialises to `null` and is reported as
    /// `invalid_type`.
    ///
    /// ```
    /// use lora_export_core::model::{ExportConfig, ExportRequest, Format, Scope};
    /// use lora_export_core::scope::Selector;
    /// let request = ExportRequest::new(ExportConfig::new(Scope::Selected, Format::Csv));
    /// let err = Selector::new(&request).unwrap_err();
    /// assert_eq!(err.issues()[0].code, "ids_required");
    /// ```
    pub fn new(request: &ExportRequest) -> Result<Selector> {
        let invalid = |issues| crate::Error::from(ErrorKind::InvalidRequest(issues));
        crate::request::validate_request(&serde_json::to_value(request)?).map_err(invalid)?;
        let rule = match request.config.scope {
            Scope::Selected => {
                Rule::Ids(request.conversation_ids.iter().flatten().cloned().collect())
            }
            Scope::Filtered => {
                let filters = request.filters.clone().unwrap_or_default();
                Rule::Filters(Box::new(Filters::new(filters).map_err(invalid)?))
            }
            Scope::All => Rule::Approved,
            Scope::AllData => Rule::Everything,
        };
        Ok(Selector { config: request.config.clone(), rule })
    }

    /// Whether `conversation` is in the export.
    ///
    /// ```
    /// use lora_export_core::model::{Conversation, ExportConfig, ExportRequest, Format, Scope};
    /// use lora_export_core::scope::Selector;
    /// let c: Conversation = serde_json::from_str(r#"{"conversation_id":"c1","title":"T",
    ///   "status":"draft","qualityScore":5,"tier":"scenario","createdAt":"2025-01-01",
    ///   "updatedAt":"2025-01-01","turns":[]}"#).unwrap();
    /// let all = ExportRequest::new(ExportConfig::new(Scope::All, Format::Csv));
    /// let all_data = ExportRequest::new(ExportConfig::new(Scope::AllData, Format::Csv));
    /// assert!(!Selector::new(&all).unwrap().matches(&c));
    /// assert!(Selector::new(&all_data).unwrap().matches(&c));
    /// ```
    pub fn matches(&self, conversation: &Conversation) -> bool {
        match &self.rule {
            Rule::Ids(ids) => {
                ids.contains(&conversation.conversation_id) || ids.contains(&conversation.id)
            }
            Rule::Filters(filters) => filters.matches(conversation),
            Rule::Approved => conversation.is_approved(),
            Rule::Everything => true,
        }
    }

    /// The config of the request this selector was built from.
    ///
    /// ```
    /// use lora_export_core::model::{ExportConfig, ExportRequest, Format, Scope};
    /// use lora_export_core::scope::Selector;
    /// let request = ExportRequest::new(ExportConfig::new(Scope::All, Format::Markdown));
    /// assert_eq!(Selector::new(&request).unwrap().config().format, Format::Markdown);
    /// ```
    pub fn config(&self) -> &ExportConfig {
        &self.config
    }
}

/// The filters of scope `filtered`, normalised once: empty lists and a blank
/// query dropped, dates parsed, the query lowercased.
#[derive(Debug, Clone)]
struct Filters {
    tiers: Option<Vec<Tier>>,
    statuses: Option<Vec<ConversationStatus>>,
    quality: Option<QualityRange>,
    dates: Option<DateBounds>,
    categories: Option<Vec<String>>,
    personas: Option<Vec<String>>,
    emotions: Option<Vec<String>>,
    topics: Option<Vec<String>>,
    search: Option<SearchQuery>,
    parent_id: Option<String>,
}

impl Filters {
    fn new(f: FilterConfig) -> std::result::Result<Filters, Vec<Issue>> {
        let active = |list: Option<Vec<String>>| list.filter(|l| !l.is_empty());
        Ok(Filters {
            tiers: f.tier_types.filter(|l| !l.is_empty()),
            statuses: f.statuses.filter(|l| !l.is_empty()),
            quality: f.quality_range,
            dates: f.date_range.map(|r| DateBounds::parse(&r, "filters.dateRange")).transpose()?,
            categories: active(f.categories),
            personas: active(f.personas),
            emotions: active(f.emotions),
            topics: active(f.topics),
            search: f.search_query.as_deref().and_then(SearchQuery::new),
            parent_id: f.parent_id,
        })
    }

    fn matches(&self, c: &Conversation) -> bool {
        let one_of = |list: &Option<Vec<String>>, value: &Option<String>| {
            list.as_ref().map_or(true, |l| value.as_ref().is_some_and(|v| l.contains(v)))
        };
        // A field the record lacks satisfies no constraint on it, except a
        // missing status, which is taken as approved (`Conversation::is_approved`).
        let status = c.status.unwrap_or(ConversationStatus::Approved);
        self.tiers.as_ref().map_or(true, |l| c.tier.is_some_and(|t| l.contains(&t)))
            && self.statuses.as_ref().map_or(true, |l| l.contains(&status))
            && self
                .quality
                .map_or(true, |q| c.quality_score.is_some_and(|s| q.min <= s && s <= q.max))
            && self
                .dates
                .as_ref()
                .map_or(true, |d| c.created_at.as_ref().is_some_and(|t| d.contains(t.utc())))
            && self.categories.as_ref().map_or(true, |l| c.category.iter().any(|x| l.contains(x)))
            && one_of(&self.personas, &c.persona)
            && one_of(&self.emotions, &c.emotion)
            && one_of(&self.topics, &c.topic)
            && self.parent_id.as_ref().map_or(true, |p| c.parent_id.as_ref() == Some(p))
            && self.search.as_ref().map_or(true, |s| s.matches_conversation(c))
    }
}

/// A list filter as a constraint: `None` when the list is absent or empty
/// (both mean "no constraint").
///
/// ```
/// use lora_export_core::scope::active_list;
/// assert_eq!(active_list::<u8>(None), None);
/// assert_eq!(active_list::<u8>(Some(&[])), None);
/// assert_eq!(active_list(Some(&[1, 2][..])), Some(&[1, 2][..]));
/// ```
pub fn active_list<T>(list: Option<&[T]>) -> Option<&[T]> {
    list.filter(|l| !l.is_empty())
}

/// A `searchQuery`, trimmed and lowercased once.
///
/// ```
/// use lora_export_core::scope::SearchQuery;
/// let q = SearchQuery::new("  ÄRGER ").unwrap();
/// assert_eq!(q.needle(), "ärger");
/// assert!(q.matches("Viel Ärger mit der Lieferung"));
/// assert!(SearchQuery::new(" \t").is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    needle: String,
}

impl SearchQuery {
    /// The query as a constraint; `None` when it is empty or whitespace
    /// (no constraint).
    pub fn new(query: &str) -> Option<SearchQuery> {
        let needle = query.trim().to_lowercase();
        (!needle.is_empty()).then_some(SearchQuery { needle })
    }

    /// The trimmed, lowercased query (what a SQL `LIKE` pattern is built from).
    ///
    /// ```
    /// use lora_export_core::scope::SearchQuery;
    /// assert_eq!(SearchQuery::new(" Refund ").unwrap().needle(), "refund");
    /// ```
    pub fn needle(&self) -> &str {
        &self.needle
    }

    /// Whether `text`, lowercased, contains the query.
    ///
    /// ```
    /// use lora_export_core::scope::SearchQuery;
    /// assert!(SearchQuery::new("refund").unwrap().matches("REFUND please"));
    /// ```
    pub fn matches(&self, text: &str) -> bool {
        text.to_lowercase().contains(&self.needle)
    }

    fn matches_conversation(&self, c: &Conversation) -> bool {
        c.title.as_deref().is_some_and(|t| self.matches(t))
            || c.turns.iter().any(|turn| self.matches(&turn.content))
    }
}

#[cfg(test)]
mod tests {
    use proptest::collection::vec;
    use proptest::option::of;
    use proptest::prelude::*;
    use proptest::sample::select;
    use serde_json::{json, Value};

    use super::*;
    use crate::model::DateRange;
    use crate::model::Format;
    use chrono::{DateTime, Utc};

    fn conversation(overrides: Value) -> Conversation {
        let mut c = json!({
            "id": "uuid-1", "conversation_id": "c1", "title": "Order status", "status": "approved",
            "qualityScore": 7.5, "tier": "template", "category": ["billing", "support"],
            "persona": "calm", "emotion": "frustrated", "topic": "refund", "parentId": "t-1",
            "createdAt": "2025-10-29T10:00:00Z", "updatedAt": "2025-10-29T10:00:00Z",
            "turns": [{"role": "user", "content": "Where is my parcel?"},
                      {"role": "assistant", "content": "Let me check."}],
        });
        for (key, value) in overrides.as_object().unwrap() {
            c[key] = value.clone();
        }
        serde_json::from_value(c).unwrap()
    }

    fn selector(request: Value) -> Selector {
        Selector::new(&crate::request::validate_request(&request).unwrap()).unwrap()
    }

    fn filtered(filters: Value) -> Selector {
        selector(json!({"config": {"scope": "filtered", "format": "jsonl"}, "filters": filters}))
    }

    fn keeps(selector: &Selector, overrides: Value) -> bool {
        selector.matches(&conversation(overrides))
    }

    #[test]
    fn selected_matches_conversation_id_or_id() {
        let s = selector(json!({"config": {"scope": "selected", "format": "csv"},
                                "conversationIds": ["c2", "uuid-9"]}));
        assert!(keeps(&s, json!({"conversation_id": "c2"})));
        assert!(keeps(&s, json!({"id": "uuid-9"})));
        assert!(!keeps(&s, json!({})));
        assert!(!keeps(&s, json!({"conversation_id": "C2"})));
    }

    #[test]
    fn all_is_approved_only_and_all_data_is_everything() {
        let all = selector(json!({"config": {"scope": "all", "format": "csv"}}));
        let all_data = selector(json!({"config": {"scope": "all_data", "format": "csv"}}));
        assert!(keeps(&all, json!({"status": "approved"})));
        for status in
            ["draft", "generated", "pending_review", "rejected", "needs_revision", "failed"]
        {
            assert!(!keeps(&all, json!({"status": status})), "{status}");
            assert!(keeps(&all_data, json!({"status": status})), "{status}");
        }
    }

    #[test]
    fn no_filter_and_empty_lists_constrain_nothing() {
        let empty = filtered(json!({
            "tierTypes": [], "statuses": [], "categories": [], "personas": [], "emotions": [],
            "topics": [], "searchQuery": " \n",
        }));
        let nothing = filtered(json!({}));
        for overrides in [json!({}), json!({"status": "failed", "persona": null, "category": []})] {
            assert!(keeps(&empty, overrides.clone()));
            assert!(keeps(&nothing, overrides));
        }
    }

    #[test]
    fn tier_types_and_statuses() {
        let tiers = filtered(json!({"tierTypes": ["scenario", "edge_case"]}));
        assert!(keeps(&tiers, json!({"tier": "edge_case"})));
        assert!(!keeps(&tiers, json!({"tier": "template"})));
        let statuses = filtered(json!({"statuses": ["rejected"]}));
        assert!(keeps(&statuses, json!({"status": "rejected"})));
        assert!(!keeps(&statuses, json!({"status": "approved"})));
    }

    #[test]
    fn quality_range_is_inclusive() {
        let s = filtered(json!({"qualityRange": {"min": 7, "max": 8}}));
        for (score, kept) in [(6.99, false), (7.0, true), (7.5, true), (8.0, true), (8.01, false)] {
            assert_eq!(keeps(&s, json!({"qualityScore": score})), kept, "{score}");
        }
    }

    #[test]
    fn date_range_bounds_with_offsets() {
        let s = filtered(
            json!({"dateRange": {"from": "2025-10-29T10:00:00+02:00", "to": "2025-10-30"}}),
        );
        for (created, kept) in [
            ("2025-10-29T07:59:59Z", false),
            ("2025-10-29T09:59:59+02:00", false),
            ("2025-10-29T08:00:00Z", true),
            ("2025-10-30T23:59:59.999999Z", true),
            ("2025-10-31T01:00:00+02:00", true),
            ("2025-10-31 00:00:00+00", false),
            ("2025-10-31", false),
        ] {
            assert_eq!(keeps(&s, json!({"createdAt": created})), kept, "{created}");
        }
        let instant = filtered(json!({"dateRange": {"to": "2025-10-29T12:00:00-01:00"}}));
        assert!(keeps(&instant, json!({"createdAt": "2025-10-29T13:00:00Z"})));
        assert!(!keeps(&instant, json!({"createdAt": "2025-10-29T13:00:01Z"})));
        let from_day = filtered(json!({"dateRange": {"from": "2025-10-29"}}));
        assert!(keeps(&from_day, json!({"createdAt": "2025-10-29"})));
        assert!(!keeps(&from_day, json!({"createdAt": "2025-10-28T23:59:59Z"})));
    }

    #[test]
    fn date_bounds_at_the_end_of_time_do_not_overflow() {
        let end = UpperBound::parse("+262142-12-31").unwrap();
        assert_eq!(end, UpperBound::Through(DateTime::<Utc>::MAX_UTC));
    }

    #[test]
    fn categories_share_at_least_one_exact_value() {
        let s = filtered(json!({"categories": ["support", "sales"]}));
        assert!(keeps(&s, json!({"category": ["sales"]})));
        assert!(!keeps(&s, json!({"category": ["Support"]})));
        assert!(!keeps(&s, json!({"category": []})));
    }

    #[test]
    fn personas_emotions_topics_need_a_present_exact_value() {
        for (filter, field) in
            [("personas", "persona"), ("emotions", "emotion"), ("topics", "topic")]
        {
            let s = filtered(json!({filter: ["calm", "angry"]}));
            assert!(keeps(&s, json!({field: "angry"})), "{field}");
            assert!(!keeps(&s, json!({field: "Angry"})), "{field}");
            assert!(!keeps(&s, json!({field: null})), "{field}");
        }
    }

    #[test]
    fn search_query_is_a_case_insensitive_substring_of_title_or_turns() {
        let parcel = filtered(json!({"searchQuery": "  PARCEL "}));
        assert!(keeps(&parcel, json!({})));
        assert!(keeps(&parcel, json!({"title": "A parcel", "turns": []})));
        assert!(!keeps(&parcel, json!({"turns": []})));
        let upper = filtered(json!({"searchQuery": "Ärger"}));
        let lower = filtered(json!({"searchQuery": "ärger"}));
        for s in [&upper, &lower] {
            assert!(keeps(s, json!({"title": "VIEL ÄRGER"})));
            assert!(keeps(s, json!({"turns": [{"role": "user", "content": "so ein ärger"}]})));
            assert!(!keeps(s, json!({"title": "Arger"})));
        }
    }

    #[test]
    fn parent_id_is_equal() {
        let s = filtered(json!({"parentId": "t-1"}));
        assert!(keeps(&s, json!({})));
        assert!(!keeps(&s, json!({"parentId": "t-2"})));
        assert!(!keeps(&s, json!({"parentId": null})));
    }

    #[test]
    fn present_filters_are_and_ed() {
        let s = filtered(json!({"tierTypes": ["template"], "qualityRange": {"min": 8, "max": 10}}));
        assert!(keeps(&s, json!({"qualityScore": 9})));
        assert!(!keeps(&s, json!({"qualityScore": 9, "tier": "scenario"})));
        assert!(!keeps(&s, json!({"qualityScore": 7})));
    }

    #[test]
    fn new_refuses_an_invalid_request_built_in_rust() {
        let mut request = ExportRequest::new(ExportConfig::new(Scope::Filtered, Format::Jsonl));
        assert_eq!(Selector::new(&request).unwrap_err().issues()[0].code, "filters_required");
        let filters = FilterConfig {
            quality_range: Some(QualityRange { min: f64::NAN, max: 10.0 }),
            date_range: Some(DateRange { from: Some("soon".into()), to: None }),
            ..FilterConfig::default()
        };
        request.filters = Some(filters);
        let err = Selector::new(&request).unwrap_err();
        let found: Vec<_> =
            err.issues().iter().map(|i| (i.path.as_str(), i.code.as_str())).collect();
        assert_eq!(
            found,
            [
                ("filters.qualityRange.min", "invalid_type"),
                ("filters.dateRange.from", "invalid_date")
            ]
        );
        assert_eq!(err.code(), "VALIDATION_ERROR");
    }

    const TIERS: &[&str] = &["template", "scenario", "edge_case"];
    const STATUSES: &[&str] = &["approved", "draft", "rejected"];
    const LABELS: &[&str] = &["a", "b", "c"];
    const PARENTS: &[&str] = &["p1", "p2"];
    const TEXTS: &[&str] = &["Refund please", "ÄRGER", "ärger", "hello", ""];
    const QUERIES: &[&str] = &["", " ", "refund", "Ärger", "REF"];

    fn words(pool: &'static [&'static str]) -> impl Strategy<Value = Vec<&'static str>> {
        vec(select(pool), 0..3)
    }

    fn arbitrary_conversation() -> impl Strategy<Value = Conversation> {
        let label = || of(select(LABELS));
        let turns = vec(select(TEXTS).prop_map(|t| json!({"role": "user", "content": t})), 0..3);
        (
            (select(TIERS), select(STATUSES), 0..=20u8, 1..=12u32, 0..24u32),
            (words(LABELS), label(), label(), label(), of(select(PARENTS))),
            (select(TEXTS), turns),
        )
            .prop_map(|((tier, status, score, day, hour), labels, (title, turns))| {
                let (category, persona, emotion, topic, parent_id) = labels;
                conversation(json!({
                    "tier": tier, "status": status, "qualityScore": f64::from(score) / 2.0,
                    "createdAt": format!("2025-10-{day:02}T{hour:02}:00:00Z"),
                    "category": category, "persona": persona, "emotion": emotion,
                    "topic": topic, "parentId": parent_id, "title": title, "turns": turns,
                }))
            })
    }

    /// Valid filters (ordered bounds), each field absent (`null`) or not.
    fn arbitrary_filters() -> impl Strategy<Value = FilterConfig> {
        let scores = (0..=20u8, 0..=20u8).prop_map(
            |(a, b)| json!({"min": f64::from(a.min(b)) / 2.0, "max": f64::from(a.max(b)) / 2.0}),
        );
        let dates = (of(1..=12u32), of(1..=12u32)).prop_map(|(a, b)| {
            let (from, to) = (a.min(b).or(a), b.max(a));
            json!({
                "from": from.map(|d| format!("2025-10-{d:02}T12:00:00+01:00")),
                "to": to.map(|d| format!("2025-10-{d:02}")),
            })
        });
        (
            (of(words(TIERS)), of(words(STATUSES)), of(scores), of(dates), of(select(QUERIES))),
            (of(words(LABELS)), of(words(LABELS)), of(words(LABELS)), of(words(LABELS))),
            of(select(PARENTS)),
        )
            .prop_map(|((tiers, statuses, scores, dates, query), labels, parent_id)| {
                let (categories, personas, emotions, topics) = labels;
                serde_json::from_value(json!({
                    "tierTypes": tiers, "statuses": statuses, "qualityRange": scores,
                    "dateRange": dates, "searchQuery": query, "categories": categories,
                    "personas": personas, "emotions": emotions, "topics": topics,
                    "parentId": parent_id,
                }))
                .unwrap()
            })
    }

    fn with_filters(filters: FilterConfig) -> Selector {
        let mut request = ExportRequest::new(ExportConfig::new(Scope::Filtered, Format::Jsonl));
        request.filters = Some(filters);
        Selector::new(&request).unwrap()
    }

    /// `base` with every field it lacks taken from `extra`.
    fn narrowed(base: &FilterConfig, extra: FilterConfig) -> FilterConfig {
        let base = base.clone();
        FilterConfig {
            tier_types: base.tier_types.or(extra.tier_types),
            statuses: base.statuses.or(extra.statuses),
            quality_range: base.quality_range.or(extra.quality_range),
            date_range: base.date_range.or(extra.date_range),
            categories: base.categories.or(extra.categories),
            personas: base.personas.or(extra.personas),
            emotions: base.emotions.or(extra.emotions),
            topics: base.topics.or(extra.topics),
            search_query: base.search_query.or(extra.search_query),
            parent_id: base.parent_id.or(extra.parent_id),
        }
    }

    proptest! {
        #[test]
        fn absent_filters_match_everything(c in arbitrary_conversation()) {
            prop_assert!(with_filters(FilterConfig::default()).matches(&c));
        }

        #[test]
        fn adding_a_filter_never_widens(
            base in arbitrary_filters(),
            extra in arbitrary_filters(),
            conversations in proptest::collection::vec(arbitrary_conversation(), 1..16),
        ) {
            let wide = with_filters(base.clone());
            let narrow = with_filters(narrowed(&base, extra));
            for c in &conversations {
                prop_assert!(!narrow.matches(c) || wide.matches(c), "{c:?}");
            }
        }
    }
}
