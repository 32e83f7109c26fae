use serde_json::{json, Value};

use super::{
    check_shape, validate_request, validate_request_json, MAX_DEPTH, MAX_ISSUES, MAX_SELECTED_IDS,
    MAX_SYSTEM_PROMPT_BYTES, MAX_VALUES,
};
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
        "unknown value `JSONL`; expected one of `jsonl`, `json`, `csv`, `markdown`, `parquet`; did you mean `jsonl`?"
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
        "maxRecordsPerShard": 1000, "maxBytesPerShard": 16384, "compression": "zstd"
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
    // A chat template needs a tokenizer.json on the server: never in a request.
    let template = if cfg!(feature = "tokenizers") {
        pairs(&[("dataset.chatTemplate", "unsupported")])
    } else {
        pairs(&[("dataset.tokenizer", "unsupported"), ("dataset.chatTemplate", "unsupported")])
    };
    assert_eq!(
        found(all(json!({"tokenizer": "o200k_base", "chatTemplate": "{{ messages }}"}))),
        template
    );
    assert_eq!(
        found(all(json!({"overwrite": true}))),
        pairs(&[("dataset.overwrite", "unknown_key")]),
        "the service's files are its own"
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

/// `value` inside `depth - 1` arrays (built without recursion).
fn nested(depth: usize, value: Value) -> Value {
    (1..depth).fold(value, |inner, _| Value::Array(vec![inner]))
}

#[test]
fn a_deep_or_huge_request_is_refused_at_its_top_level_key() {
    let all = json!({"scope": "all", "format": "jsonl"});
    // `filters` is at depth 2, so its value may be MAX_DEPTH - 1 deep.
    let request = |filters| json!({"config": all, "filters": filters});
    let deep = request(nested(MAX_DEPTH, json!(0)));
    assert_eq!(found(deep.clone()), pairs(&[("filters", "too_deep")]));
    assert_eq!(check_shape(&deep).unwrap_err().code, "too_deep");
    assert_eq!(check_shape(&request(nested(MAX_DEPTH - 1, json!(0)))), Ok(()));
    let wide = json!({"config": all, "conversationIds": vec![0; MAX_VALUES]});
    assert_eq!(found(wide), pairs(&[("conversationIds", "too_large")]));
}

#[test]
fn every_string_and_list_of_a_request_has_a_cap() {
    let long = |n: usize| "x".repeat(n);
    let prompt =
        |n| json!({"config": {"scope": "all", "format": "jsonl", "systemPrompt": long(n)}});
    assert!(validate_request(&prompt(MAX_SYSTEM_PROMPT_BYTES)).is_ok());
    assert_eq!(
        found(prompt(MAX_SYSTEM_PROMPT_BYTES + 1)),
        pairs(&[("config.systemPrompt", "too_long")])
    );
    assert_eq!(found(selected(json!([long(257)]))), pairs(&[("conversationIds[0]", "too_long")]));
    let many: Vec<String> = (0..101).map(|i| format!("c{i}")).collect();
    assert_eq!(
        found(filtered(json!({
            "categories": many, "personas": [long(257)], "searchQuery": long(1001),
            "parentId": long(257), "statuses": vec!["approved"; 101]
        }))),
        pairs(&[
            ("filters.statuses", "too_many_items"),
            ("filters.categories", "too_many_items"),
            ("filters.personas[0]", "too_long"),
            ("filters.searchQuery", "too_long"),
            ("filters.parentId", "too_long"),
        ])
    );
}

#[test]
fn a_split_of_many_parts_and_tiny_shards_are_refused() {
    let all =
        |dataset: Value| json!({"config": {"scope": "all", "format": "jsonl"}, "dataset": dataset});
    let split: Vec<String> = (0..80_000).map(|i| format!("p{i}=0.0000125")).collect();
    assert_eq!(
        found(all(json!({"split": split.join(",")}))),
        pairs(&[("dataset.split", "too_many_parts")])
    );
    let split: Vec<String> = (0..17).map(|i| format!("p{i}=0.05")).collect();
    assert_eq!(found(all(json!({"split": split.join(",")})))[0].1, "too_many_parts");
    assert_eq!(
        found(all(json!({"maxRecordsPerShard": 9, "maxBytesPerShard": 16383}))),
        pairs(&[
            ("dataset.maxRecordsPerShard", "out_of_range"),
            ("dataset.maxBytesPerShard", "out_of_range"),
        ])
    );
    assert!(validate_request(&all(json!({"maxRecordsPerShard": 10, "maxBytesPerShard": 16384})))
        .is_ok());
}

#[test]
fn an_answer_does_not_grow_with_a_hostile_input() {
    let key = "k".repeat(100_000);
    let unknown = issues(json!({"config": {"scope": "all", "format": "jsonl", key: 1}}));
    assert_eq!(unknown[0].code, "unknown_key");
    assert!(unknown[0].message.len() < 200, "{}", unknown[0].message.len());
    let value = json!({"config": {"scope": "a".repeat(100_000), "format": "jsonl"}});
    assert!(issues(value)[0].message.len() < 300);
    let twice = issues(selected(json!(vec!["same"; MAX_SELECTED_IDS])));
    assert_eq!(twice.len(), MAX_ISSUES);
}

/// A value built without recursion from `ops` (as `fuzz/fuzz_targets/request_shape.rs`
/// builds it: `[`/`{` open, `]` closes, `"` a string, else a number) with
/// its depth, its count of values and its bytes of text, counted by hand.
/// An array or object being built: its items, whether it is an object, its key.
type Open = (Vec<(String, Value)>, bool, String);

fn built(ops: &[u8]) -> (Value, usize, usize) {
    let mut stack: Vec<Open> = vec![(Vec::new(), true, String::new())];
    let (mut depth, mut deepest, mut values) = (1usize, 1usize, 1usize);
    let close = |(items, object, _): Open| {
        if object {
            Value::Object(items.into_iter().collect())
        } else {
            Value::Array(items.into_iter().map(|(_, v)| v).collect())
        }
    };
    for &op in ops {
        let key = format!("k{}", stack.last().map_or(0, |o| o.0.len()));
        match op {
            b'[' | b'{' => {
                stack.push((Vec::new(), op == b'{', key));
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' if stack.len() > 1 => {
                let open = stack.pop().unwrap();
                let key = open.2.clone();
                stack.last_mut().unwrap().0.push((key, close(open)));
                depth -= 1;
                continue;
            }
            _ => {
                stack.last_mut().unwrap().0.push((key, Value::from(op)));
                deepest = deepest.max(depth + 1);
            }
        }
        values += 1;
    }
    while stack.len() > 1 {
        let open = stack.pop().unwrap();
        let key = open.2.clone();
        stack.last_mut().unwrap().0.push((key, close(open)));
    }
    (close(stack.pop().unwrap()), deepest, values)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, ..Default::default() })]

    /// The property `fuzz/fuzz_targets/request_shape.rs` fuzzes (cargo-fuzz
    /// needs a nightly toolchain and sanitizer builds; this runs in CI):
    /// `check_shape` refuses exactly the values past its limits, without
    /// recursing, and a value it accepts validates without a panic.
    #[test]
    fn the_shape_check_refuses_exactly_what_is_past_its_limits(
        ops in proptest::collection::vec(
            proptest::prop_oneof![4 => proptest::strategy::Just(b'['), 1 => proptest::strategy::Just(b'{'),
                                  2 => proptest::strategy::Just(b']'), 2 => proptest::prelude::any::<u8>()],
            0..400,
        )
    ) {
        let (value, deepest, values) = built(&ops);
        let within = deepest <= MAX_DEPTH && values <= MAX_VALUES;
        proptest::prop_assert_eq!(check_shape(&value).is_ok(), within, "depth {}", deepest);
        if within {
            let _ = validate_request(&value);
        }
        // serde_json drops a value recursively: take a deep one apart by hand.
        let mut pending = vec![value];
        while let Some(value) = pending.pop() {
            match value {
                Value::Array(items) => pending.extend(items),
                Value::Object(map) => pending.extend(map.into_iter().map(|(_, v)| v)),
                _ => {}
            }
        }
    }
}
