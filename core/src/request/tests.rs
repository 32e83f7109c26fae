use serde_json::{json, Value};

use super::{validate_request, validate_request_json, MAX_SELECTED_IDS};
use crate::model::{ConversationStatus, Format, JsonlFlavor, Scope, Tier};
use crate::Issue;

fn issues(request: Value) -> Vec<Issue> {
    validate_request(&request).expect_err("the request should be refused")
}

/// The (path, code) pairs of the issues of `request`.
fn found(request: Value) -> Vec<(String, String)> {
    issues(request).into_iter().map(|i| (i.path, i.code)).collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected.iter().map(|(p, c)| (p.to_string(), c.to_string())).collect()
}

fn filtered(filters: Value) -> Value {
    json!({"config": {"scope": "filtered", "format": "jsonl"}, "filters": filters})
}

fn selected(ids: Value) -> Value {
    json!({"config": {"scope": "selected", "format": "csv"}, "conversationIds": ids})
}

#[test]
fn a_valid_request_comes_back_typed() {
    let request = validate_request(&json!({
        "config": {"scope": "filtered", "format": "jsonl", "jsonlFlavor": "sharegpt",
                   "includeMetadata": false, "systemPrompt": null},
        "conversationIds": null,
        "filters": {"tierTypes": ["edge_case"], "statuses": ["needs_revision"],
                    "qualityRange": {"min": 0, "max": 10},
                    "dateRange": {"from": "2025-10-01T00:00:00+02:00", "to": null},
                    "categories": [], "searchQuery": "  ", "parentId": "t-1"},
    }))
    .unwrap();
    assert_eq!(request.config.scope, Scope::Filtered);
    assert_eq!(request.config.format, Format::Jsonl);
    assert_eq!(request.config.jsonl_flavor, JsonlFlavor::Sharegpt);
    assert!(!request.config.include_metadata);
    let filters = request.filters.unwrap();
    assert_eq!(filters.tier_types, Some(vec![Tier::EdgeCase]));
    assert_eq!(filters.statuses, Some(vec![ConversationStatus::NeedsRevision]));
    assert_eq!(filters.search_query.as_deref(), Some("  "));
}

#[test]
fn invalid_json_names_line_and_column() {
    let issues = validate_request_json("{\n  \"config\": tru }").unwrap_err();
    assert_eq!(issues.len(), 1);
    assert_eq!((issues[0].path.as_str(), issues[0].code.as_str()), ("", "invalid_json"));
    assert!(issues[0].message.contains("line 2 column"), "{}", issues[0].message);
}

#[test]
fn invalid_type_for_every_wrong_json_type() {
    assert_eq!(found(json!([])), pairs(&[("", "invalid_type")]));
    let request = json!({
        "config": {"scope": 3, "format": "csv", "includeMetadata": "yes", "jsonlFlavor": null,
                   "systemPrompt": 1, "csvFormulaGuard": null},
        "conversationIds": "c1",
    });
    assert_eq!(
        found(request),
        pairs(&[
            ("config.scope", "invalid_type"),
            ("config.includeMetadata", "invalid_type"),
            ("config.jsonlFlavor", "invalid_type"),
            ("config.systemPrompt", "invalid_type"),
            ("config.csvFormulaGuard", "invalid_type"),
            ("conversationIds", "invalid_type"),
        ])
    );
    let message = &issues(json!({"config": null}))[0].message;
    assert_eq!(message, "expected an object, got null");
}

#[test]
fn required_keys() {
    assert_eq!(found(json!({})), pairs(&[("config", "required")]));
    assert_eq!(
        found(json!({"config": {}})),
        pairs(&[("config.scope", "required"), ("config.format", "required")])
    );
    assert_eq!(
        found(filtered(json!({"qualityRange": {}}))),
        pairs(&[
            ("filters.qualityRange.min", "required"),
            ("filters.qualityRange.max", "required")
        ])
    );
}

#[test]
fn unknown_keys_at_every_level_with_suggestions() {
    let request = json!({
        "config": {"scope": "filtered", "format": "csv", "include_metadata": true},
        "filters": {"qualityrange": {"min": 1, "max": 2},
                    "qualityRange": {"min": 1, "max": 2, "mx": 0},
                    "dateRange": {"since": "2025-01-01"}},
        "filter": {},
    });
    let issues = issues(request);
    let got: Vec<_> = issues.iter().map(|i| (i.path.as_str(), i.message.as_str())).collect();
    assert_eq!(
        got,
        [
            (
                "config.include_metadata",
                "unknown key `include_metadata`; did you mean `includeMetadata`?"
            ),
            ("filters.qualityRange.mx", "unknown key `mx`; did you mean `max`?"),
            ("filters.dateRange.since", "unknown key `since`"),
            ("filters.qualityrange", "unknown key `qualityrange`; did you mean `qualityRange`?"),
            ("filter", "unknown key `filter`; did you mean `filters`?"),
        ]
    );
    assert!(issues.iter().all(|i| i.code == "unknown_key"));
}

#[test]
fn invalid_enum_lists_the_allowed_values() {
    let request = json!({
        "config": {"scope": "everything", "format": "JSONL", "jsonlFlavor": "claude"},
        "filters": {"tierTypes": ["template", "gold"], "statuses": ["approved", "done"]},
    });
    let issues = issues(request);
    assert_eq!(
        issues.iter().map(|i| (i.path.as_str(), i.code.as_str())).collect::<Vec<_>>(),
        [
            ("config.scope", "invalid_enum"),
            ("config.format", "invalid_enum"),
            ("config.jsonlFlavor", "invalid_enum"),
            ("filters.tierTypes[1]", "invalid_enum"),
            ("filters.statuses[1]", "invalid_enum"),
        ]
    );
    assert_eq!(
        issues[1].message,
        "unknown value `JSONL`; expected one of `jsonl`, `json`, `csv`, `markdown`; did you mean `jsonl`?"
    );
    assert!(issues[0].message.ends_with("`selected`, `filtered`, `all`, `all_data`"));
    assert!(issues[3].message.contains("`edge_case`"));
}

#[test]
fn ids_required_for_selected() {
    let missing = json!({"config": {"scope": "selected", "format": "csv"}});
    assert_eq!(found(missing), pairs(&[("conversationIds", "ids_required")]));
    assert_eq!(found(selected(json!([]))), pairs(&[("conversationIds", "ids_required")]));
    assert_eq!(found(selected(Value::Null)), pairs(&[("conversationIds", "ids_required")]));
}

#[test]
fn filters_required_for_filtered() {
    assert_eq!(found(filtered(Value::Null)), pairs(&[("filters", "filters_required")]));
    assert!(validate_request(&filtered(json!({}))).is_ok());
}

#[test]
fn unused_field_when_the_scope_ignores_it() {
    let all = json!({"config": {"scope": "all", "format": "csv"},
                     "conversationIds": [], "filters": {}});
    assert_eq!(
        found(all),
        pairs(&[("conversationIds", "unused_field"), ("filters", "unused_field")])
    );
    let mut ids_with_filtered = filtered(json!({}));
    ids_with_filtered["conversationIds"] = json!(["c1"]);
    assert_eq!(found(ids_with_filtered), pairs(&[("conversationIds", "unused_field")]));
    let mut filters_with_selected = selected(json!(["c1"]));
    filters_with_selected["filters"] = json!({"statuses": ["approved"]});
    let issue = &issues(filters_with_selected)[0];
    assert_eq!((issue.path.as_str(), issue.code.as_str()), ("filters", "unused_field"));
    assert_eq!(issue.message, "`filters` is not used by scope `selected`; omit it");
}

#[test]
fn out_of_range_scores() {
    assert_eq!(
        found(filtered(json!({"qualityRange": {"min": -0.5, "max": 10.01}}))),
        pairs(&[
            ("filters.qualityRange.min", "out_of_range"),
            ("filters.qualityRange.max", "out_of_range"),
        ])
    );
    assert!(validate_request(&filtered(json!({"qualityRange": {"min": 0, "max": 10}}))).is_ok());
    assert!(validate_request(&filtered(json!({"qualityRange": {"min": 7, "max": 7}}))).is_ok());
}

#[test]
fn min_greater_than_max() {
    let issues = issues(filtered(json!({"qualityRange": {"min": 8, "max": 7.5}})));
    assert_eq!(issues.len(), 1);
    assert_eq!(
        (issues[0].path.as_str(), issues[0].code.as_str()),
        ("filters.qualityRange", "min_greater_than_max")
    );
    assert_eq!(issues[0].message, "min 8 is greater than max 7.5");
}

#[test]
fn invalid_date() {
    assert_eq!(
        found(filtered(json!({"dateRange": {"from": "29/10/2025", "to": "2025-02-30"}}))),
        pairs(&[
            ("filters.dateRange.from", "invalid_date"),
            ("filters.dateRange.to", "invalid_date")
        ])
    );
    assert_eq!(
        found(filtered(json!({"dateRange": {"from": 2025, "to": "soon"}}))),
        pairs(&[
            ("filters.dateRange.from", "invalid_type"),
            ("filters.dateRange.to", "invalid_date")
        ])
    );
}

#[test]
fn from_after_to() {
    let range = |from: &str, to: &str| filtered(json!({"dateRange": {"from": from, "to": to}}));
    assert_eq!(
        found(range("2025-10-30", "2025-10-29T23:59:59Z")),
        pairs(&[("filters.dateRange", "from_after_to")])
    );
    assert_eq!(
        found(range("2025-10-29T12:00:00+02:00", "2025-10-29T09:00:00Z")),
        pairs(&[("filters.dateRange", "from_after_to")])
    );
    assert!(validate_request(&range("2025-10-29", "2025-10-29")).is_ok());
    assert!(validate_request(&range("2025-10-29T18:00:00Z", "2025-10-29")).is_ok());
}

#[test]
fn too_many_ids() {
    let ids = |n: usize| json!((0..n).map(|i| format!("c{i}")).collect::<Vec<_>>());
    assert!(validate_request(&selected(ids(MAX_SELECTED_IDS))).is_ok());
    let issues = issues(selected(ids(MAX_SELECTED_IDS + 1)));
    assert_eq!(issues.len(), 1);
    assert_eq!(
        (issues[0].path.as_str(), issues[0].code.as_str()),
        ("conversationIds", "too_many_ids")
    );
    assert_eq!(issues[0].message, "10001 ids given; at most 10000 are allowed");
}

#[test]
fn duplicate_id_names_the_first_index() {
    let issues = issues(selected(json!(["a", "b", "a", "a"])));
    let got: Vec<_> = issues.iter().map(|i| (i.path.as_str(), i.message.as_str())).collect();
    assert_eq!(
        got,
        [
            ("conversationIds[2]", "`a` is listed twice, first at conversationIds[0]"),
            ("conversationIds[3]", "`a` is listed twice, first at conversationIds[0]"),
        ]
    );
    assert!(issues.iter().all(|i| i.code == "duplicate_id"));
}

#[test]
fn empty_id() {
    assert_eq!(
        found(selected(json!(["", "ok", " \t"]))),
        pairs(&[("conversationIds[0]", "empty_id"), ("conversationIds[2]", "empty_id")])
    );
}

#[test]
fn every_problem_at_once_in_schema_order() {
    let request = json!({
        "limit": 5,
        "filters": {
            "serchQuery": "refund",
            "dateRange": {"from": "yesterday", "to": "2025-01-01"},
            "qualityRange": {"min": 8, "max": 5},
            "statuses": ["approved", "done"],
            "tierTypes": ["gold"],
            "personas": ["calm", 3],
        },
        "conversationIds": ["a", "", "a", 7],
        "config": {"jsonlFlavour": "openai", "includeMetadata": "yes", "format": "xml",
                   "scope": "selected"},
    });
    assert_eq!(
        found(request),
        pairs(&[
            ("config.format", "invalid_enum"),
            ("config.includeMetadata", "invalid_type"),
            ("config.jsonlFlavour", "unknown_key"),
            ("conversationIds[1]", "empty_id"),
            ("conversationIds[2]", "duplicate_id"),
            ("conversationIds[3]", "invalid_type"),
            ("filters", "unused_field"),
            ("filters.tierTypes[0]", "invalid_enum"),
            ("filters.statuses[1]", "invalid_enum"),
            ("filters.qualityRange", "min_greater_than_max"),
            ("filters.dateRange.from", "invalid_date"),
            ("filters.personas[1]", "invalid_type"),
            ("filters.serchQuery", "unknown_key"),
            ("limit", "unknown_key"),
        ])
    );
}

#[test]
fn a_dataset_request_is_checked_key_by_key() {
    let all =
        |dataset: Value| json!({"config": {"scope": "all", "format": "jsonl"}, "dataset": dataset});
    let request = validate_request(&all(json!({
        "split": "train=0.9,validation=0.1", "seed": 42, "dedupe": true,
        "maxRecordsPerShard": 1000, "maxBytesPerShard": 1024, "compression": "zstd"
    })))
    .unwrap();
    let dataset = request.dataset.expect("the dataset settings");
    assert_eq!(dataset.max_records_per_shard, Some(1000));
    assert_eq!(dataset.compression.as_deref(), Some("zstd"));
    assert!(dataset.builder(crate::model::ExportRequest::new(request.config.clone())).is_ok());
    assert_eq!(
        found(all(json!({
            "split": "train=0.9,validation=0.2", "seed": -1, "dedupe": "yes",
            "maxRecordsPerShard": 0, "maxBytesPerShard": 1.5, "compression": "brotli",
            "shards": 2
        }))),
        pairs(&[
            ("dataset.split", "bad_sum"),
            ("dataset.seed", "out_of_range"),
            ("dataset.dedupe", "invalid_type"),
            ("dataset.maxRecordsPerShard", "out_of_range"),
            ("dataset.maxBytesPerShard", "out_of_range"),
            ("dataset.compression", "invalid_enum"),
            ("dataset.shards", "unknown_key"),
        ])
    );
    let tokens = all(json!({"tokenizer": "/etc/passwd", "maxTokens": 0}));
    let expected = if cfg!(feature = "tokenizers") { "invalid_enum" } else { "unsupported" };
    assert_eq!(
        found(tokens),
        pairs(&[("dataset.tokenizer", expected), ("dataset.maxTokens", "out_of_range")])
    );
    assert_eq!(
        found(all(json!({"maxTokens": 4096}))),
        pairs(&[("dataset.maxTokens", "requires_tokenizer")])
    );
    assert_eq!(
        found(all(json!({"split": "Train=1", "maxRecordsPerShard": "10"}))),
        pairs(&[
            ("dataset.split.Train", "invalid_name"),
            ("dataset.maxRecordsPerShard", "invalid_type")
        ])
    );
    assert_eq!(found(all(json!([]))), pairs(&[("dataset", "invalid_type")]));
}
