//! The user's columns: which of a row's top-level columns is which field of
//! the platform's record (a request's `columns`), and which of the others
//! are carried as the row's own (`keepColumns`). The readers apply the rule
//! ([`source::Reading`](crate::source::Reading)); this module holds the
//! option and its checks.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Issue;

/// The most columns `columns` may map: each mapped column is tracked (was it
/// in the input?) in one 64-bit word.
pub const MAX_MAPPED_COLUMNS: usize = 64;

/// Which of the row's own columns — those neither read as a platform field
/// nor mapped to one — are carried into the metadata's `user_fields`
/// (a request's `keepColumns`; default none).
///
/// JSON: `false` (none), `true` (all), or a list of column names. A column
/// named in the list is the row's own even when it is named as a platform
/// field (`["status"]`: the row's `status` is carried, not read as the
/// review status).
///
/// ```
/// use lora_export_core::model::KeepColumns;
/// let all: KeepColumns = serde_json::from_str("true").unwrap();
/// let some: KeepColumns = serde_json::from_str(r#"["source", "lang"]"#).unwrap();
/// assert_eq!(all, KeepColumns::All);
/// assert!(some.names("lang") && !some.names("other") && !all.names("other"));
/// assert_eq!(serde_json::to_string(&some).unwrap(), r#"["source","lang"]"#);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum KeepColumns {
    /// None (the default): the others are reported as ignored.
    #[default]
    None,
    /// Every column that is not read.
    All,
    /// These columns.
    Named(Vec<String>),
}

impl KeepColumns {
    /// Whether no column is kept.
    pub fn is_none(&self) -> bool {
        matches!(self, KeepColumns::None)
    }

    /// Whether `column` is named in the list.
    pub fn names(&self, column: &str) -> bool {
        matches!(self, KeepColumns::Named(names) if names.iter().any(|n| n == column))
    }
}

impl Serialize for KeepColumns {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            KeepColumns::None => s.serialize_bool(false),
            KeepColumns::All => s.serialize_bool(true),
            KeepColumns::Named(names) => names.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for KeepColumns {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Given {
            All(bool),
            Named(Vec<String>),
        }
        Ok(match Option::<Given>::deserialize(d)? {
            None | Some(Given::All(false)) => KeepColumns::None,
            Some(Given::All(true)) => KeepColumns::All,
            Some(Given::Named(names)) => KeepColumns::Named(names),
        })
    }
}

/// Every field a column can be read as, each with its spellings, the first
/// its name: the record's fields ([`PLATFORM_FIELDS`](super::PLATFORM_FIELDS)),
/// `tools`, the preference shapes, and ShareGPT's `conversations` and
/// `system`.
const FIELDS: &[&[&str]] = &[
    &["turns", "messages"],
    &["conversation_id", "conversationId"],
    &["id"],
    &["title"],
    &["category", "categories"],
    &["status"],
    &["quality_score", "qualityScore"],
    &["persona"],
    &["emotion"],
    &["topic"],
    &["tier"],
    &["total_turns", "totalTurns"],
    &["token_count", "tokenCount"],
    &["parent_id", "parentId"],
    &["parent_type", "parentType"],
    &["parameters"],
    &["review_history", "reviewHistory"],
    &["created_at", "createdAt"],
    &["updated_at", "updatedAt"],
    &["tools"],
    &["prompt"],
    &["input"],
    &["chosen", "preferred_output"],
    &["rejected", "non_preferred_output"],
    &["conversations"],
    &["system"],
];

/// The field a column of this name is read as (its first spelling), if any.
///
/// ```
/// use lora_export_core::model::field_of;
/// assert_eq!(field_of("messages"), Some("turns"));
/// assert_eq!(field_of("qualityScore"), Some("quality_score"));
/// assert_eq!(field_of("dialog"), None);
/// ```
pub fn field_of(name: &str) -> Option<&'static str> {
    FIELDS.iter().find(|spellings| spellings.contains(&name)).map(|spellings| spellings[0])
}

/// Whether `column` is a pandas index stored as a column
/// (`__index_level_0__`, what `pyarrow.Table.from_pandas` writes for a
/// DataFrame's index that is not a plain range): the readers never read or
/// report it, unless `columns` or a `keepColumns` list names it.
pub fn is_pandas_index(column: &str) -> bool {
    column
        .strip_prefix("__index_level_")
        .and_then(|rest| rest.strip_suffix("__"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Every problem of a request's `columns` (the user's column → a platform
/// field) and `keepColumns`, each with its path: a field that is not one
/// (`invalid_enum`, listing them), two columns mapped to one field
/// (`duplicate`), a column both mapped and kept (`conflict`), more than
/// [`MAX_MAPPED_COLUMNS`] mapped (`too_many_items`), an empty name
/// (`empty_name`).
///
/// ```
/// use std::collections::BTreeMap;
/// use lora_export_core::model::{check_columns, KeepColumns};
/// let map: BTreeMap<String, String> =
///     [("dialog", "messages"), ("uid", "conversation_id"), ("score", "quality")]
///         .map(|(a, b)| (a.to_owned(), b.to_owned())).into();
/// let issues = check_columns(&map, &KeepColumns::Named(vec!["uid".into()]));
/// let found: Vec<_> = issues.iter().map(|i| (i.path.as_str(), i.code.as_str())).collect();
/// assert_eq!(found, [("columns.score", "invalid_enum"), ("keepColumns[0]", "conflict")]);
/// assert!(issues[0].message.contains("did you mean `quality_score`?"));
///
/// let twice: BTreeMap<String, String> =
///     [("a", "turns"), ("b", "messages")].map(|(a, b)| (a.to_owned(), b.to_owned())).into();
/// assert_eq!(check_columns(&twice, &KeepColumns::None)[0].code, "duplicate");
/// ```
pub fn check_columns(map: &BTreeMap<String, String>, keep: &KeepColumns) -> Vec<Issue> {
    let mut issues = Vec::new();
    if map.len() > MAX_MAPPED_COLUMNS {
        let message =
            format!("at most {MAX_MAPPED_COLUMNS} columns can be mapped, not {}", map.len());
        issues.push(Issue::new("columns", "too_many_items", message));
        return issues;
    }
    let mut taken: BTreeMap<&str, &str> = BTreeMap::new();
    for (column, field) in map {
        let path = format!("columns.{column}");
        if column.is_empty() {
            issues.push(Issue::new(path, "empty_name", "a column name cannot be empty"));
            continue;
        }
        let Some(canonical) = field_of(field) else {
            let names: Vec<&str> = FIELDS.iter().flat_map(|s| s.iter().copied()).collect();
            let hint =
                near(field, &names).map(|n| format!(" (did you mean `{n}`?)")).unwrap_or_default();
            let message = format!(
                "`{}` is not a field of the record{hint}; the fields are {}",
                cut(field),
                FIELDS.iter().map(|s| format!("`{}`", s[0])).collect::<Vec<_>>().join(", ")
            );
            issues.push(Issue::new(path, "invalid_enum", message));
            continue;
        };
        if let Some(first) = taken.insert(canonical, column) {
            let message = format!(
                "`{}` and `{}` are both mapped to `{canonical}`: map one column to each field",
                cut(first),
                cut(column)
            );
            issues.push(Issue::new(path, "duplicate", message));
        }
    }
    if let KeepColumns::Named(names) = keep {
        for (i, name) in names.iter().enumerate() {
            if map.contains_key(name) {
                let message = format!(
                    "`{}` is mapped to `{}` by columns: a column is read or kept, not both",
                    cut(name),
                    map[name]
                );
                issues.push(Issue::new(format!("keepColumns[{i}]"), "conflict", message));
            }
        }
    }
    issues
}

/// `text`, cut to 64 characters for a message.
fn cut(text: &str) -> String {
    match text.char_indices().nth(64) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// The known name `text` most likely meant: the same once case, `-` and
/// `_` are set aside, or one edit away.
fn near<'a>(text: &str, names: &[&'a str]) -> Option<&'a str> {
    let fold = |s: &str| -> String {
        s.chars().filter(|c| *c != '_' && *c != '-').flat_map(char::to_lowercase).collect()
    };
    if text.len() > 64 {
        return None;
    }
    let folded = fold(text);
    names.iter().copied().find(|n| fold(n) == folded).or_else(|| {
        names.iter().copied().find(|n| {
            let (a, b) = (fold(n), folded.as_str());
            a.starts_with(b) || (b.len() > 3 && a.contains(b))
        })
    })
}
