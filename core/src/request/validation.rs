//! The hand walk over a request's JSON behind [`super::validate_request`].

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::{
    MAX_FILTER_ITEMS, MAX_FILTER_TEXT_BYTES, MAX_ID_BYTES, MAX_SEARCH_CHARS, MAX_SELECTED_IDS,
    MAX_SYSTEM_PROMPT_BYTES, MIN_SEARCH_CHARS,
};
use crate::error::json_type_name;
use crate::model::{
    check_columns, ConversationStatus, DateBounds, DateRange, Format, JsonlFlavor, KeepColumns,
    Scope, SplitSpec, Tier, MIN_BYTES_PER_SHARD, MIN_RECORDS_PER_SHARD,
};
use crate::Issue;

/// Why a Parquet export refuses `compression`.
const PARQUET_COMPRESSED: &str =
    "Parquet compresses its own pages (Snappy): its files are not compressed again";
const REQUEST_KEYS: &[&str] =
    &["config", "conversationIds", "filters", "dataset", "compression", "columns", "keepColumns"];
const DATASET_KEYS: &[&str] = &[
    "split",
    "seed",
    "dedupe",
    "maxRecordsPerShard",
    "maxBytesPerShard",
    "compression",
    "tokenizer",
    "maxTokens",
    "chatTemplate",
];
/// The largest integer a JavaScript number holds exactly.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;
const CONFIG_FLAGS: &[&str] = &[
    "includeMetadata",
    "includeQualityScores",
    "includeTimestamps",
    "includeApprovalHistory",
    "includeParentReferences",
    "includeFullContent",
];
const CONFIG_KEYS: &[&str] = &[
    "scope",
    "format",
    "includeMetadata",
    "includeQualityScores",
    "includeTimestamps",
    "includeApprovalHistory",
    "includeParentReferences",
    "includeFullContent",
    "jsonlFlavor",
    "systemPrompt",
    "csvFormulaGuard",
];
const FILTER_KEYS: &[&str] = &[
    "tierTypes",
    "statuses",
    "qualityRange",
    "dateRange",
    "categories",
    "personas",
    "emotions",
    "topics",
    "searchQuery",
    "parentId",
];
const TEXT_LISTS: &[&str] = &["categories", "personas", "emotions", "topics"];
const QUALITY_KEYS: &[&str] = &["min", "max"];
const DATE_KEYS: &[&str] = &["from", "to"];

const SCOPES: [Scope; 4] = [Scope::Selected, Scope::Filtered, Scope::All, Scope::AllData];
const FLAVORS: [JsonlFlavor; 8] = JsonlFlavor::ALL;
const TIERS: [Tier; 3] = [Tier::Template, Tier::Scenario, Tier::EdgeCase];
const STATUSES: [ConversationStatus; 7] = [
    ConversationStatus::Draft,
    ConversationStatus::Generated,
    ConversationStatus::PendingReview,
    ConversationStatus::Approved,
    ConversationStatus::Rejected,
    ConversationStatus::NeedsRevision,
    ConversationStatus::Failed,
];

/// Every issue of `value`, in schema order.
pub(super) fn check(value: &Value) -> Vec<Issue> {
    let mut walk = Walk::default();
    walk.request(value);
    walk.issues
}

#[derive(Default)]
struct Walk {
    issues: Vec<Issue>,
}

impl Walk {
    fn push(&mut self, path: &str, code: &str, message: impl Into<String>) {
        self.issues.push(Issue::new(path, code, message));
    }

    fn request(&mut self, value: &Value) {
        let Some(obj) = self.object("", value) else { return };
        let scope = match obj.get("config") {
            Some(config) => self.config(config),
            None => {
                self.push("config", "required", "`config` is required");
                None
            }
        };
        self.conversation_ids(present(obj, "conversationIds"), scope);
        self.filters(present(obj, "filters"), scope);
        if let Some(dataset) = present(obj, "dataset") {
            self.dataset(dataset);
        }
        let parquet = obj.get("config").and_then(|c| c.get("format")) == Some(&"parquet".into());
        if let Some(compression) = present(obj, "compression") {
            self.one_of("compression", compression, &["none", "gzip", "zstd"]);
            let compressed = compression.as_str().is_some_and(|c| c != "none");
            if compressed && present(obj, "dataset").is_some() {
                let message = "a dataset's files are compressed with `dataset.compression`";
                self.push("compression", "conflict", message);
            } else if compressed && parquet {
                self.push("compression", "conflict", PARQUET_COMPRESSED);
            }
        }
        self.columns(obj);
        let dataset_compressed = present(obj, "dataset")
            .and_then(|d| d.get("compression"))
            .and_then(Value::as_str)
            .is_some_and(|c| c != "none");
        if dataset_compressed && parquet {
            self.push("dataset.compression", "conflict", PARQUET_COMPRESSED);
        }
        self.unknown_keys("", obj, REQUEST_KEYS);
    }

    /// `columns` (an object of strings) and `keepColumns` (a boolean or a
    /// list of strings), then the rule's own checks ([`check_columns`]).
    fn columns(&mut self, obj: &Map<String, Value>) {
        let mut map = std::collections::BTreeMap::new();
        if let Some(columns) = present(obj, "columns") {
            for (column, field) in self.object("columns", columns).into_iter().flatten() {
                if let Some(field) = self.string(&format!("columns.{column}"), field) {
                    map.insert(column.clone(), field.to_owned());
                }
            }
        }
        let keep = match present(obj, "keepColumns") {
            None => KeepColumns::None,
            Some(Value::Bool(true)) => KeepColumns::All,
            Some(Value::Bool(false)) => KeepColumns::None,
            Some(Value::Array(items)) => {
                let names = items.iter().enumerate().filter_map(|(i, item)| {
                    self.string(&format!("keepColumns[{i}]"), item).map(str::to_owned)
                });
                KeepColumns::Named(names.collect())
            }
            Some(other) => {
                self.wrong_type::<()>("keepColumns", "a boolean or a list of column names", other);
                KeepColumns::None
            }
        };
        self.issues.extend(check_columns(&map, &keep));
    }

    fn dataset(&mut self, value: &Value) {
        const PATH: &str = "dataset";
        let Some(obj) = self.object(PATH, value) else { return };
        if let Some(split) = present(obj, "split") {
            if let Some(text) = self.string("dataset.split", split) {
                if let Err(e) = SplitSpec::parse(text) {
                    for issue in e.issues() {
                        let path = format!("{PATH}.{}", issue.path);
                        self.push(&path, &issue.code, issue.message.clone());
                    }
                }
            }
        }
        self.count(obj, "seed", 0);
        self.boolean(obj, PATH, "dedupe");
        self.count(obj, "maxRecordsPerShard", MIN_RECORDS_PER_SHARD);
        self.count(obj, "maxBytesPerShard", MIN_BYTES_PER_SHARD);
        if let Some(compression) = present(obj, "compression") {
            self.one_of("dataset.compression", compression, &["none", "gzip", "zstd"]);
        }
        self.tokens(obj);
        self.unknown_keys(PATH, obj, DATASET_KEYS);
    }

    /// `dataset.tokenizer`, `dataset.maxTokens` and `dataset.chatTemplate`. A request names one of
    /// the encodings built in: a path would have the server read a file of
    /// the client's choosing.
    fn tokens(&mut self, obj: &Map<String, Value>) {
        let tokenizer = present(obj, "tokenizer");
        if let Some(tokenizer) = tokenizer {
            if !cfg!(feature = "tokenizers") && tokenizer.is_string() {
                let message =
                    "this server counts no tokens (built without the `tokenizers` feature)";
                self.push("dataset.tokenizer", "unsupported", message);
            } else {
                self.one_of("dataset.tokenizer", tokenizer, &["o200k_base", "cl100k_base"]);
            }
        }
        self.count(obj, "maxTokens", 1);
        if tokenizer.is_none() && present(obj, "maxTokens").is_some() {
            let message = "maxTokens needs a tokenizer to count the tokens with";
            self.push("dataset.maxTokens", "requires_tokenizer", message);
        }
        if present(obj, "chatTemplate").is_some() {
            let message = "a chat template needs a tokenizer.json, which a request cannot name \
                           (the server reads no file of the client's choosing); o200k_base and \
                           cl100k_base count OpenAI's chat format";
            self.push("dataset.chatTemplate", "unsupported", message);
        }
    }

    /// An optional whole number of `dataset` from `min` to 2⁵³ − 1.
    fn count(&mut self, obj: &Map<String, Value>, key: &str, min: u64) {
        let Some(value) = present(obj, key) else { return };
        let path = format!("dataset.{key}");
        match value.as_u64() {
            Some(n) if (min..=MAX_SAFE_INTEGER).contains(&n) => {}
            Some(_) | None if value.is_number() => self.push(
                &path,
                "out_of_range",
                format!("{value} is not a whole number from {min} to {MAX_SAFE_INTEGER}"),
            ),
            _ => {
                self.wrong_type::<()>(&path, "a whole number", value);
            }
        }
    }

    /// Checks `config` and returns its scope when valid.
    fn config(&mut self, value: &Value) -> Option<Scope> {
        let obj = self.object("config", value)?;
        let scope_names = SCOPES.map(Scope::as_str);
        let scope = self.required_enum(obj, "config", "scope", &scope_names);
        self.required_enum(obj, "config", "format", &Format::ALL.map(Format::as_str));
        for flag in CONFIG_FLAGS {
            self.boolean(obj, "config", flag);
        }
        if let Some(flavor) = obj.get("jsonlFlavor") {
            self.one_of("config.jsonlFlavor", flavor, &FLAVORS.map(JsonlFlavor::as_str));
        }
        if let Some(prompt) = present(obj, "systemPrompt") {
            self.text("config.systemPrompt", prompt, MAX_SYSTEM_PROMPT_BYTES);
        }
        self.boolean(obj, "config", "csvFormulaGuard");
        self.unknown_keys("config", obj, CONFIG_KEYS);
        scope.map(|index| SCOPES[index])
    }

    fn conversation_ids(&mut self, value: Option<&Value>, scope: Option<Scope>) {
        const PATH: &str = "conversationIds";
        match (scope, value) {
            (Some(Scope::Selected), None) => {
                self.push(PATH, "ids_required", "scope `selected` needs `conversationIds`");
            }
            (Some(scope), Some(_)) if scope != Scope::Selected => self.unused(PATH, scope),
            _ => {}
        }
        let Some(ids) = value.and_then(|v| self.array(PATH, v)) else { return };
        if ids.is_empty() && scope == Some(Scope::Selected) {
            self.push(PATH, "ids_required", "scope `selected` needs at least one conversation id");
        }
        if ids.len() > MAX_SELECTED_IDS {
            let message =
                format!("{} ids given; at most {MAX_SELECTED_IDS} are allowed", ids.len());
            return self.push(PATH, "too_many_ids", message);
        }
        let mut first_index: HashMap<&str, usize> = HashMap::new();
        for (index, id) in ids.iter().enumerate() {
            let path = format!("{PATH}[{index}]");
            let Some(id) = self.text(&path, id, MAX_ID_BYTES) else { continue };
            if id.trim().is_empty() {
                self.push(&path, "empty_id", "a conversation id must not be blank");
            } else if let Some(first) = first_index.get(id) {
                let message = format!("`{id}` is listed twice, first at {PATH}[{first}]");
                self.push(&path, "duplicate_id", message);
            } else {
                first_index.insert(id, index);
            }
        }
    }

    fn filters(&mut self, value: Option<&Value>, scope: Option<Scope>) {
        const PATH: &str = "filters";
        match (scope, value) {
            (Some(Scope::Filtered), None) => {
                self.push(PATH, "filters_required", "scope `filtered` needs `filters`");
            }
            (Some(scope), Some(_)) if scope != Scope::Filtered => self.unused(PATH, scope),
            _ => {}
        }
        let Some(obj) = value.and_then(|v| self.object(PATH, v)) else { return };
        self.enum_list(obj, "tierTypes", &TIERS.map(Tier::as_str));
        self.enum_list(obj, "statuses", &STATUSES.map(ConversationStatus::as_str));
        if let Some(range) = present(obj, "qualityRange") {
            self.quality_range(range);
        }
        if let Some(range) = present(obj, "dateRange") {
            self.date_range(range);
        }
        for key in TEXT_LISTS {
            if let Some(list) = present(obj, key) {
                let path = format!("{PATH}.{key}");
                for (index, item) in self.list(&path, list).iter().enumerate() {
                    self.text(&format!("{path}[{index}]"), item, MAX_FILTER_TEXT_BYTES);
                }
            }
        }
        if let Some(text) = present(obj, "searchQuery") {
            self.search_query(text);
        }
        if let Some(text) = present(obj, "parentId") {
            self.text(&format!("{PATH}.parentId"), text, MAX_ID_BYTES);
        }
        self.unknown_keys(PATH, obj, FILTER_KEYS);
    }

    /// A search term: blank (no search), or [`MIN_SEARCH_CHARS`] to
    /// [`MAX_SEARCH_CHARS`] characters once trimmed.
    fn search_query(&mut self, value: &Value) {
        const PATH: &str = "filters.searchQuery";
        let Some(text) = self.string(PATH, value) else { return };
        let chars = text.trim().chars().take(MAX_SEARCH_CHARS + 1).count();
        if chars == 0 {
            return;
        }
        if chars < MIN_SEARCH_CHARS {
            let message = format!("a search term has at least {MIN_SEARCH_CHARS} characters");
            self.push(PATH, "too_short", message);
        } else if chars > MAX_SEARCH_CHARS {
            let message = format!("a search term has at most {MAX_SEARCH_CHARS} characters");
            self.push(PATH, "too_long", message);
        }
    }

    fn quality_range(&mut self, value: &Value) {
        const PATH: &str = "filters.qualityRange";
        let Some(obj) = self.object(PATH, value) else { return };
        let min = self.score(obj, "min");
        let max = self.score(obj, "max");
        if let (Some(min), Some(max)) = (min, max) {
            if min > max {
                self.push(
                    PATH,
                    "min_greater_than_max",
                    format!("min {min} is greater than max {max}"),
                );
            }
        }
        self.unknown_keys(PATH, obj, QUALITY_KEYS);
    }

    fn score(&mut self, obj: &Map<String, Value>, key: &str) -> Option<f64> {
        let path = format!("filters.qualityRange.{key}");
        let Some(value) = obj.get(key) else {
            self.push(&path, "required", format!("`{key}` is required"));
            return None;
        };
        let Some(score) = value.as_f64() else {
            return self.wrong_type(&path, "a number", value);
        };
        if !(0.0..=10.0).contains(&score) {
            self.push(&path, "out_of_range", format!("{score} is outside 0–10"));
            return None;
        }
        Some(score)
    }

    fn date_range(&mut self, value: &Value) {
        const PATH: &str = "filters.dateRange";
        let Some(obj) = self.object(PATH, value) else { return };
        let mut side = |key: &str| {
            let text = present(obj, key)?;
            self.string(&format!("{PATH}.{key}"), text).map(str::to_owned)
        };
        let range = DateRange { from: side("from"), to: side("to") };
        if let Err(issues) = DateBounds::parse(&range, PATH) {
            self.issues.extend(issues);
        }
        self.unknown_keys(PATH, obj, DATE_KEYS);
    }

    fn enum_list(&mut self, obj: &Map<String, Value>, key: &str, allowed: &[&str]) {
        let Some(list) = present(obj, key) else { return };
        let path = format!("filters.{key}");
        for (index, item) in self.list(&path, list).iter().enumerate() {
            self.one_of(&format!("{path}[{index}]"), item, allowed);
        }
    }

    /// The items of a list filter: none when it is not an array or has
    /// more than [`MAX_FILTER_ITEMS`] (then not checked one by one).
    fn list<'v>(&mut self, path: &str, value: &'v Value) -> &'v [Value] {
        let Some(items) = self.array(path, value) else { return &[] };
        if items.len() > MAX_FILTER_ITEMS {
            let message = format!("{} items given; at most {MAX_FILTER_ITEMS}", items.len());
            self.push(path, "too_many_items", message);
            return &[];
        }
        items
    }

    /// A string of at most `max` bytes.
    fn text<'v>(&mut self, path: &str, value: &'v Value, max: usize) -> Option<&'v str> {
        let text = self.string(path, value)?;
        if text.len() > max {
            let message = format!("{} bytes long; at most {max} are allowed", text.len());
            self.push(path, "too_long", message);
            return None;
        }
        Some(text)
    }

    /// Checks a required enum field and returns the index of its value in `allowed`.
    fn required_enum(
        &mut self,
        obj: &Map<String, Value>,
        parent: &str,
        key: &str,
        allowed: &[&str],
    ) -> Option<usize> {
        let path = format!("{parent}.{key}");
        match obj.get(key) {
            Some(value) => self.one_of(&path, value, allowed),
            None => {
                self.push(&path, "required", format!("`{key}` is required"));
                None
            }
        }
    }

    fn one_of(&mut self, path: &str, value: &Value, allowed: &[&str]) -> Option<usize> {
        let name = self.string(path, value)?;
        let index = allowed.iter().position(|a| *a == name);
        if index.is_none() {
            let list = allowed.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ");
            let hint = suggestion(name, allowed);
            let name = quoted(name);
            self.push(
                path,
                "invalid_enum",
                format!("unknown value {name}; expected one of {list}{hint}"),
            );
        }
        index
    }

    fn boolean(&mut self, obj: &Map<String, Value>, parent: &str, key: &str) {
        if let Some(value) = obj.get(key).filter(|v| !v.is_boolean()) {
            self.wrong_type::<()>(&format!("{parent}.{key}"), "a boolean", value);
        }
    }

    fn string<'v>(&mut self, path: &str, value: &'v Value) -> Option<&'v str> {
        value.as_str().or_else(|| self.wrong_type(path, "a string", value))
    }

    fn array<'v>(&mut self, path: &str, value: &'v Value) -> Option<&'v Vec<Value>> {
        value.as_array().or_else(|| self.wrong_type(path, "an array", value))
    }

    fn object<'v>(&mut self, path: &str, value: &'v Value) -> Option<&'v Map<String, Value>> {
        value.as_object().or_else(|| self.wrong_type(path, "an object", value))
    }

    fn wrong_type<T>(&mut self, path: &str, expected: &str, value: &Value) -> Option<T> {
        self.push(
            path,
            "invalid_type",
            format!("expected {expected}, got {}", json_type_name(value)),
        );
        None
    }

    fn unused(&mut self, path: &str, scope: Scope) {
        let message = match (path, scope) {
            ("filters", Scope::All) => "`filters` is not used by scope `all` (every approved \
                conversation); for approved conversations that match filters, use scope \
                `filtered` with `filters.statuses: [\"approved\"]` beside the other filters \
                (e.g. `qualityRange: {min: 8, max: 10}`)"
                .to_owned(),
            ("filters", Scope::AllData) => "`filters` is not used by scope `all_data` (every \
                conversation); to export those matching filters, use scope `filtered`"
                .to_owned(),
            _ => format!("`{path}` is not used by scope `{}`; omit it", scope.as_str()),
        };
        self.push(path, "unused_field", message);
    }

    fn unknown_keys(&mut self, parent: &str, obj: &Map<String, Value>, known: &[&str]) {
        let mut unknown: Vec<&String> =
            obj.keys().filter(|k| !known.contains(&k.as_str())).collect();
        unknown.sort();
        for key in unknown {
            let path = if parent.is_empty() { key.clone() } else { format!("{parent}.{key}") };
            let message = format!("unknown key {}{}", quoted(key), suggestion(key, known));
            self.push(&path, "unknown_key", message);
        }
    }
}

/// The value at `key` unless it is absent or `null` (serde's reading of an `Option`).
fn present<'v>(obj: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    obj.get(key).filter(|v| !v.is_null())
}

/// The longest word [`suggestion`] compares: the edit distance takes time
/// in the product of the lengths, and no known key or value is near this long.
const MAX_SUGGESTED: usize = 64;

/// `` `text` `` for a message, cut to [`MAX_SUGGESTED`] characters (with `…`).
fn quoted(text: &str) -> String {
    match text.char_indices().nth(MAX_SUGGESTED) {
        Some((cut, _)) => format!("`{}…`", &text[..cut]),
        None => format!("`{text}`"),
    }
}

/// `"; did you mean `x`?"` for the candidate closest to `word`, or `""` when
/// none is close: at most a third of the candidate's length in edits,
/// ignoring case, `_` and `-`. A word longer than [`MAX_SUGGESTED`]
/// characters gets none.
fn suggestion(word: &str, candidates: &[&str]) -> String {
    if word.chars().nth(MAX_SUGGESTED).is_some() {
        return String::new();
    }
    let fold = |s: &str| -> Vec<char> {
        s.chars().filter(|c| !matches!(c, '_' | '-')).flat_map(char::to_lowercase).collect()
    };
    let word = fold(word);
    candidates
        .iter()
        .map(|c| (edit_distance(&word, &fold(c)), *c))
        .filter(|(distance, c)| *distance <= (c.len() / 3).max(1))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| format!("; did you mean `{c}`?"))
        .unwrap_or_default()
}

/// Levenshtein distance.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}
