//! [`Reading`]: how every reader takes a user's row — which column is which
//! field, which columns are carried as the row's own, and which were
//! neither (counted, so that the export reports them).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use serde::de::{self, DeserializeSeed, IgnoredAny, IntoDeserializer, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::model::{field_of, is_pandas_index, Conversation, ExportRequest, KeepColumns};

/// The most distinct ignored column names a [`Reading`] counts one by one;
/// the others are counted together under [`MORE_COLUMNS`], so a hostile
/// input with a new key on every row cannot grow the count.
pub const MAX_IGNORED_NAMES: usize = 100;

/// The name under which ignored columns past [`MAX_IGNORED_NAMES`] are
/// counted.
pub const MORE_COLUMNS: &str = "…";

/// The rule by which every reader (JSONL, Arrow, JSON values, the bindings'
/// own objects) reads a row's top-level columns, from a request's `columns`
/// and `keepColumns`, and what it met: the columns it ignored (per column,
/// the rows with a value in it) and which mapped columns it saw. One
/// `Reading` is shared by an export's reader and its writer
/// ([`ExportBuilder::reading`](crate::ExportBuilder::reading)), which puts
/// what was ignored in the summary.
///
/// A column is, in this order:
/// 1. **mapped** when `columns` names it: read as that field;
/// 2. **kept** when a `keepColumns` list names it (even if it is named as a
///    platform field): carried in the metadata's `user_fields` under its name;
/// 3. **read** when it is named as one of the record's fields (either
///    spelling, see [`field_of`]) that no mapped column is read as;
/// 4. **skipped**, never reported, when it is a pandas index
///    (`__index_level_0__`, [`is_pandas_index`]);
/// 5. **kept** with `keepColumns: true`;
/// 6. else **ignored**: left out, and counted when it has a value.
///
/// A cell that is null (`None`, NaN, a null Arrow cell) is absent: it is
/// neither kept nor counted. A row without a mapped column is read without
/// that field (a row left without turns is skipped, and the reason names the
/// column); a mapped column that no row had makes the export fail
/// ([`missing`](Self::missing)).
///
/// ```
/// use lora_export_core::{source::Reading, Location, model::{ExportConfig, ExportRequest, Format, KeepColumns, Scope}};
/// let mut request = ExportRequest::new(ExportConfig::new(Scope::AllData, Format::Jsonl));
/// request.columns.insert("dialog".into(), "messages".into());
/// request.keep_columns = KeepColumns::Named(vec!["source".into()]);
/// let reading = Reading::of(&request);
/// let row = serde_json::json!({"dialog": [{"role": "user", "content": "Hi"}],
///     "source": "web", "lang": "en", "__index_level_0__": 7});
/// let c = reading.value(row, Location::record(1)).unwrap();
/// assert_eq!(c.turns[0].content, "Hi");
/// assert_eq!(serde_json::Value::Object(c.user_fields), serde_json::json!({"source": "web"}));
/// assert_eq!(reading.ignored(), [("lang".to_owned(), 1)].into());
/// assert!(reading.missing().is_empty());
/// ```
#[derive(Debug, Default)]
pub struct Reading {
    /// Mapped columns and the field each is read as (as given), sorted by
    /// column.
    map: Vec<(String, String)>,
    /// The fields the mapped columns are read as (first spellings).
    targets: Vec<&'static str>,
    keep: KeepColumns,
    /// Bit `i`: the mapped column `map[i]` was in a row.
    seen: AtomicU64,
    /// Ignored column → rows with a value in it.
    ignored: Mutex<BTreeMap<String, u64>>,
}

/// What becomes of one column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Read as a field: the mapped column's field, or its own name.
    Read(Option<usize>),
    Keep,
    Ignore,
    Skip,
}

/// What reading one row met, counted only once the row is read for good.
#[derive(Debug, Default)]
struct Found {
    kept: Map<String, Value>,
    ignored: Vec<String>,
    seen: u64,
}

impl Reading {
    /// The rule of `columns` (column → field) and `keep`. They are not
    /// checked here: [`check_columns`](crate::model::check_columns) says
    /// what is wrong with them (an export checks them before it starts); a
    /// column mapped to a field the record does not have is read under that
    /// name, which the record ignores.
    pub fn new(columns: &BTreeMap<String, String>, keep: &KeepColumns) -> Self {
        let map: Vec<(String, String)> =
            columns.iter().map(|(c, f)| (c.clone(), f.clone())).collect();
        let targets = map.iter().filter_map(|(_, f)| field_of(f)).collect();
        Reading { map, targets, keep: keep.clone(), ..Reading::default() }
    }

    /// The rule of a request's `columns` and `keepColumns`.
    pub fn of(request: &ExportRequest) -> Self {
        Reading::new(&request.columns, &request.keep_columns)
    }

    fn role(&self, column: &str) -> Role {
        if !self.map.is_empty() {
            if let Ok(i) = self.map.binary_search_by(|(c, _)| c.as_str().cmp(column)) {
                return Role::Read(Some(i));
            }
        }
        if self.keep.names(column) {
            return Role::Keep;
        }
        if field_of(column).is_some_and(|field| !self.targets.contains(&field)) {
            return Role::Read(None);
        }
        if is_pandas_index(column) {
            return Role::Skip;
        }
        self.other()
    }

    /// The role of a column that is not read.
    fn other(&self) -> Role {
        match self.keep {
            KeepColumns::All => Role::Keep,
            _ => Role::Ignore,
        }
    }

    /// The field a column of `role` is read as.
    fn field<'a>(&'a self, role: Role, column: &'a str) -> &'a str {
        match role {
            Role::Read(Some(i)) => &self.map[i].1,
            _ => column,
        }
    }

    /// Whether `keepColumns` lists `column` by name.
    pub fn keeps_by_name(&self, column: &str) -> bool {
        self.keep.names(column)
    }

    /// The ignored columns so far, each with the number of rows that had a
    /// value in it.
    pub fn ignored(&self) -> BTreeMap<String, u64> {
        self.ignored.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The mapped columns (and their fields) that no row read so far had.
    pub fn missing(&self) -> Vec<(&str, &str)> {
        let seen = self.seen.load(Ordering::Relaxed);
        let absent = self.map.iter().enumerate().filter(|(i, _)| seen & bit(*i) == 0);
        absent.map(|(_, (c, f))| (c.as_str(), f.as_str())).collect()
    }

    /// Counts what reading a row met.
    fn commit(&self, found: &Found) {
        if found.seen != 0 && self.seen.load(Ordering::Relaxed) & found.seen != found.seen {
            self.seen.fetch_or(found.seen, Ordering::Relaxed);
        }
        if found.ignored.is_empty() {
            return;
        }
        let mut rows = self.ignored.lock().unwrap_or_else(PoisonError::into_inner);
        for name in &found.ignored {
            if let Some(n) = rows.get_mut(name.as_str()) {
                *n += 1;
            } else if rows.len() < MAX_IGNORED_NAMES {
                rows.insert(name.clone(), 1);
            } else {
                *rows.entry(MORE_COLUMNS.to_owned()).or_default() += 1;
            }
        }
    }

    /// Reads one row straight from a serde `Deserializer` (a map): the
    /// readers' fast path. `None` when the row does not read so, or has no
    /// messages: the caller reads its JSON value with [`value`](Self::value),
    /// which names what is wrong. Counts what it met only when it gives a
    /// conversation.
    pub fn deserialize<'de, D: Deserializer<'de>>(&self, row: D) -> Option<Conversation> {
        let (c, found) = self.read(row)?;
        Some(self.accept(c, found))
    }

    /// The fast path's read, not counted yet.
    fn read<'de, D: Deserializer<'de>>(&self, row: D) -> Option<(Conversation, Found)> {
        let mut found = Found::default();
        let c =
            Conversation::deserialize(Row { inner: row, reading: self, found: &mut found }).ok()?;
        c.has_messages().then_some((c, found))
    }

    fn accept(&self, mut c: Conversation, found: Found) -> Conversation {
        self.commit(&found);
        c.user_fields = found.kept;
        c
    }

    /// The JSONL line `text` as a record (see [`value`](Self::value)).
    pub(super) fn line(&self, text: &[u8], location: crate::Location) -> super::Record {
        let text = match simdutf8::compat::from_utf8(text) {
            Ok(text) => text,
            Err(e) => {
                let reason =
                    format!("not valid JSON: invalid UTF-8 at byte {}", e.valid_up_to() + 1);
                return Err(super::skipped(location, None, reason));
            }
        };
        let mut json = serde_json::Deserializer::from_str(text);
        if let Some((c, found)) = self.read(&mut json) {
            if json.end().is_ok() {
                return super::checked(self.accept(c, found), location);
            }
        }
        match serde_json::from_str::<Value>(text) {
            // The fast read failed on the data, or found no messages: read
            // the value field by field (other shapes, the record's own
            // fields, the name of a wrong one).
            Ok(value) => self.value(value, location),
            Err(e) => {
                let reason =
                    format!("not valid JSON: {} at column {}", super::bare(&e), e.column());
                Err(super::skipped(location, None, reason))
            }
        }
    }

    /// Converts one JSON value (a row) into a conversation, or says why it
    /// cannot be one, naming the field: the columns are taken by this rule
    /// (mapped, kept, read, skipped or ignored), then the record is read as
    /// [`from_value`](super::from_value) describes.
    pub fn value(&self, value: Value, location: crate::Location) -> super::Record {
        let Value::Object(row) = value else {
            return super::read_value(value, location, Map::new(), &[]);
        };
        let mut found = Found::default();
        // (field, column) of the mapped columns in this row.
        let mut renamed: Vec<(String, String)> = Vec::new();
        let mut read = Map::new();
        for (column, cell) in row {
            let role = self.role(&column);
            match role {
                Role::Read(mapped) => {
                    if let Some(i) = mapped {
                        found.seen |= bit(i);
                        let field = self.field(role, &column).to_owned();
                        renamed.push((field.clone(), column));
                        read.insert(field, cell);
                    } else {
                        read.insert(column, cell);
                    }
                }
                Role::Keep if !cell.is_null() => {
                    found.kept.insert(column, cell);
                }
                Role::Ignore if !cell.is_null() => found.ignored.push(column),
                Role::Keep | Role::Ignore | Role::Skip => {}
            }
        }
        super::sharegpt_turns(&mut read);
        // ShareGPT's keys that were not ShareGPT's turns are the row's own.
        for key in ["conversations", "system"] {
            let Some(cell) = read.remove(key) else { continue };
            let column = original(&renamed, key);
            if cell.is_null() {
                continue;
            }
            match self.other() {
                Role::Keep => {
                    found.kept.insert(column, cell);
                }
                _ => found.ignored.push(column),
            }
        }
        self.commit(&found);
        let record = super::read_value(Value::Object(read), location, found.kept, &renamed);
        record.map_err(|mut skipped| {
            if skipped.reason == "conversation has no turns" {
                if let Some((column, field)) = self.absent_turns(&renamed) {
                    skipped.reason = format!(
                        "conversation has no turns: the column `{column}` (mapped to `{field}`) \
                         is not in this row"
                    );
                }
            }
            skipped
        })
    }

    /// The column mapped to the turns when this row (its mapped columns
    /// `renamed`) lacks it.
    fn absent_turns(&self, renamed: &[(String, String)]) -> Option<(&str, &str)> {
        let (column, field) = self.map.iter().find(|(_, f)| field_of(f) == Some("turns"))?;
        (!renamed.iter().any(|(_, c)| c == column)).then_some((column.as_str(), field.as_str()))
    }
}

/// The bit of mapped column `i` in a seen mask; none past
/// [`MAX_MAPPED_COLUMNS`](crate::model::MAX_MAPPED_COLUMNS) (an export
/// refuses so many before it starts).
fn bit(i: usize) -> u64 {
    u32::try_from(i).ok().and_then(|i| 1u64.checked_shl(i)).unwrap_or(0)
}

/// The row's own name of `field`: the column mapped to it, else itself.
pub(super) fn original(renamed: &[(String, String)], field: &str) -> String {
    renamed.iter().find(|(f, _)| f == field).map_or(field, |(_, c)| c.as_str()).to_owned()
}

/// A row's deserializer whose top-level keys go through a [`Reading`].
struct Row<'r, D> {
    inner: D,
    reading: &'r Reading,
    found: &'r mut Found,
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Row<'_, D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        let Row { inner, reading, found } = self;
        inner.deserialize_map(RowVisitor { visitor, reading, found })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

struct RowVisitor<'r, V> {
    visitor: V,
    reading: &'r Reading,
    found: &'r mut Found,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for RowVisitor<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.visitor.expecting(f)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        let RowVisitor { visitor, reading, found } = self;
        visitor.visit_map(Entries { map, reading, found })
    }
}

/// The row's entries: the read ones under their fields' names; the others
/// taken aside.
struct Entries<'r, A> {
    map: A,
    reading: &'r Reading,
    found: &'r mut Found,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Entries<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let mut seed = seed;
        loop {
            let key = KeySeed { reading: self.reading, seed, seen: &mut self.found.seen };
            let (back, column, role) = match self.map.next_key_seed(key)? {
                None => return Ok(None),
                Some(Key::Read(value)) => return Ok(Some(value)),
                Some(Key::Other(back, column, role)) => (back, column, role),
            };
            seed = back;
            match role {
                Role::Keep => {
                    if let Some(cell) = self.map.next_value::<Option<Value>>()? {
                        self.found.kept.insert(column, cell);
                    }
                }
                Role::Ignore => {
                    if self.map.next_value::<Option<IgnoredAny>>()?.is_some() {
                        self.found.ignored.push(column);
                    }
                }
                Role::Read(_) | Role::Skip => {
                    self.map.next_value::<IgnoredAny>()?;
                }
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.map.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}

/// A key: read (under its field's name, by the record's own key seed), or
/// another column (with the seed handed back).
enum Key<K, V> {
    Read(V),
    Other(K, String, Role),
}

struct KeySeed<'r, K> {
    reading: &'r Reading,
    seed: K,
    seen: &'r mut u64,
}

impl<'de, K: DeserializeSeed<'de>> DeserializeSeed<'de> for KeySeed<'_, K> {
    type Value = Key<K, K::Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de, K: DeserializeSeed<'de>> Visitor<'de> for KeySeed<'_, K> {
    type Value = Key<K, K::Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a column name")
    }

    fn visit_str<E: de::Error>(self, column: &str) -> Result<Self::Value, E> {
        let role = self.reading.role(column);
        let Role::Read(mapped) = role else {
            return Ok(Key::Other(self.seed, column.to_owned(), role));
        };
        let field = self.reading.field(role, column);
        if matches!(field_of(field), Some("conversations" | "system")) {
            // ShareGPT's shape is read from the JSON value.
            return Err(E::custom("a ShareGPT column"));
        }
        if let Some(i) = mapped {
            *self.seen |= bit(i);
        }
        let key: de::value::StrDeserializer<'_, E> = field.into_deserializer();
        self.seed.deserialize(key).map(Key::Read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Location;

    fn reading(map: &[(&str, &str)], keep: KeepColumns) -> Reading {
        let map = map.iter().map(|(c, f)| (c.to_string(), f.to_string())).collect();
        Reading::new(&map, &keep)
    }

    /// The row read by the fast path and by its JSON value, which must
    /// agree, and what the reading counted.
    fn both(r: &Reading, row: &Value) -> Conversation {
        let fast = r.deserialize(row).expect("read directly");
        let slow = r.value(row.clone(), Location::record(1)).unwrap();
        assert_eq!(crate::source::checked(fast, Location::record(1)).unwrap(), slow);
        slow
    }

    #[test]
    fn the_mapping_rule_reads_maps_keeps_skips_and_ignores_columns() {
        let row = serde_json::json!({
            "dialog": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"}],
            "uid": "u-1", "score": 8.5, "messages": "the row's own", "source": "web",
            "lang": "en", "empty": null, "__index_level_0__": 3, "status": "done",
        });
        let r = reading(
            &[("dialog", "messages"), ("uid", "conversation_id"), ("score", "qualityScore")],
            KeepColumns::Named(vec!["source".into(), "status".into()]),
        );
        let c = both(&r, &row);
        assert_eq!((c.conversation_id.as_str(), c.quality_score), ("u-1", Some(8.5)));
        assert_eq!(c.turns.len(), 2);
        assert_eq!(c.status, None);
        assert_eq!(
            Value::Object(c.user_fields),
            serde_json::json!({"source": "web", "status": "done"})
        );
        // Each way counted once: `messages` (taken by `dialog`) and `lang`.
        assert_eq!(r.ignored(), [("lang".to_owned(), 2), ("messages".to_owned(), 2)].into());
        assert!(r.missing().is_empty());

        let all = reading(&[("dialog", "turns")], KeepColumns::All);
        let c = all.value(row.clone(), Location::record(1)).unwrap();
        let kept: Vec<&String> = c.user_fields.keys().collect();
        assert_eq!(kept, ["lang", "messages", "score", "source", "status", "uid"]);
        assert_eq!(c.status, None, "`done` is no status: kept as the row's own");
        let mut plain = row.as_object().unwrap().clone();
        plain.remove("status");
        let c = both(&all, &Value::Object(plain));
        assert_eq!(c.user_fields.len(), 5);
        assert!(all.ignored().is_empty());
    }

    #[test]
    fn a_missing_mapped_column_is_named() {
        let r = reading(&[("dialog", "messages"), ("score", "quality_score")], KeepColumns::None);
        let row = serde_json::json!({"messages": [{"role": "user", "content": "Hi"}]});
        let skipped = r.value(row, Location::record(3)).unwrap_err();
        assert_eq!(
            skipped.reason,
            "conversation has no turns: the column `dialog` (mapped to `messages`) is not in this row"
        );
        assert_eq!(r.missing(), [("dialog", "messages"), ("score", "quality_score")]);
        assert_eq!(r.ignored(), [("messages".to_owned(), 1)].into());
        let wrong = serde_json::json!({"dialog": [{"role": "user", "content": 5}], "score": 3});
        let skipped = r.value(wrong, Location::record(4)).unwrap_err();
        assert_eq!(skipped.location.field.as_deref(), Some("dialog[0].content"));
        assert!(skipped.reason.starts_with("not a valid conversation: dialog[0].content: "));
        assert!(r.missing().is_empty());
    }

    #[test]
    fn sharegpt_columns_are_read_from_the_value_and_else_reported() {
        let r = reading(&[("chat", "conversations")], KeepColumns::None);
        let row = serde_json::json!({"chat": [{"from": "human", "value": "Hi"}], "system": "S"});
        assert!(r.deserialize(&row).is_none());
        let c = r.value(row, Location::record(1)).unwrap();
        assert_eq!(c.turns.len(), 2);
        assert!(r.ignored().is_empty());
        let plain = Reading::default();
        let row =
            serde_json::json!({"messages": [{"role": "user", "content": "Hi"}], "system": "S"});
        plain.value(row, Location::record(1)).unwrap();
        assert_eq!(plain.ignored(), [("system".to_owned(), 1)].into());
    }

    #[test]
    fn ignored_names_are_bounded() {
        let r = Reading::default();
        for i in 0..(MAX_IGNORED_NAMES + 5) {
            let mut row = serde_json::json!({"messages": [{"role": "user", "content": "x"}]});
            row.as_object_mut().unwrap().insert(format!("k{i}"), 1.into());
            r.deserialize(&row).unwrap();
        }
        let ignored = r.ignored();
        assert_eq!(ignored.len(), MAX_IGNORED_NAMES + 1);
        assert_eq!(ignored[MORE_COLUMNS], 5);
    }
}
