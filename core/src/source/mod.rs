//! Reading conversations: canonical JSONL (one [`Conversation`] per line,
//! turns embedded) and single JSON values (what the bindings hand over).
//!
//! A record that cannot be exported is never dropped silently: it comes out
//! as an `Err(SkippedRecord)` naming where it was and why, which the export
//! lists in its summary. Every reader takes a row's top-level columns by one
//! rule, [`Reading`] (a request's `columns` and `keepColumns`), which also
//! counts the columns it ignored for the summary.

#[cfg(feature = "arrow")]
mod arrow;
mod background;
mod reading;

use std::io::BufRead;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::model::{derived_id, Conversation, ConversationTurn};
use crate::{Location, SkippedRecord};

#[cfg(feature = "arrow")]
pub use self::arrow::ArrowSource;
pub use self::background::BackgroundJsonlSource;
pub use self::reading::{Reading, MAX_IGNORED_NAMES, MORE_COLUMNS};

/// One input record: a conversation, or why it was refused.
pub type Record = std::result::Result<Conversation, SkippedRecord>;

/// Reads canonical JSONL: one conversation per line. Blank lines are
/// ignored; every other line is one record.
///
/// ```
/// use lora_export_core::source::JsonlSource;
/// let text = "{\"conversation_id\":\"c1\"}\n\n[1,2]\n";
/// let records: Vec<_> = JsonlSource::new(text.as_bytes()).collect();
/// assert_eq!(records.len(), 2);
/// let first = records[0].as_ref().unwrap_err();
/// assert_eq!(first.conversation_id.as_deref(), Some("c1"));
/// assert_eq!(first.location.line, Some(1));
/// assert_eq!(records[1].as_ref().unwrap_err().location.line, Some(3));
/// ```
#[derive(Debug)]
pub struct JsonlSource<R> {
    reader: R,
    line: u64,
    buf: Vec<u8>,
    failed: bool,
    reading: Arc<Reading>,
}

impl<R: BufRead> JsonlSource<R> {
    /// Reads from `reader`, every column under its own name (the default
    /// [`Reading`]).
    pub fn new(reader: R) -> Self {
        JsonlSource::with_reading(reader, Arc::default())
    }

    /// Reads from `reader` by the rule of `reading` (an export's
    /// [`ExportBuilder::reading`](crate::ExportBuilder::reading): its
    /// request's `columns` and `keepColumns`, and where the columns it
    /// ignored are counted).
    pub fn with_reading(reader: R, reading: Arc<Reading>) -> Self {
        JsonlSource { reader, line: 0, buf: Vec::with_capacity(8 * 1024), failed: false, reading }
    }
}

impl<R: BufRead> Iterator for JsonlSource<R> {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        loop {
            if self.failed {
                return None;
            }
            self.buf.clear();
            self.line += 1;
            match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => {
                    self.failed = true;
                    return Some(Err(skipped(
                        Location::line(self.line),
                        None,
                        format!("read error: {e}"),
                    )));
                }
            }
            let text = trim_line(&self.buf);
            if text.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Some(self.reading.line(text, Location::line(self.line)));
        }
    }
}

pub(crate) fn trim_line(buf: &[u8]) -> &[u8] {
    let buf = buf.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(buf);
    let buf = buf.strip_suffix(b"\n").unwrap_or(buf);
    buf.strip_suffix(b"\r").unwrap_or(buf)
}

/// Converts one JSON value into a conversation, or says why it cannot be
/// one, naming the field. `location` is where the value was (a record
/// number, say).
///
/// A top-level field named as one of the platform's
/// ([`PLATFORM_FIELDS`](crate::model::PLATFORM_FIELDS)) whose value is not
/// what the platform means by it — `status: "done"`, `id: 7`, a `turns`
/// count beside `messages` — never refuses the record: it is kept under its
/// name in [`user_fields`](Conversation::user_fields) (the export warns about
/// it), and the record is read without it. Only the turns themselves (or a
/// record that is not an object) can refuse it.
///
/// Every column is read under its own name and what is not a field is left
/// out: the default [`Reading`], whose count of ignored columns nobody sees.
/// An export reads with its own ([`Reading::value`] of
/// [`ExportBuilder::reading`](crate::ExportBuilder::reading)).
///
/// ```
/// use lora_export_core::{source::from_value, Location};
/// let err = from_value(serde_json::json!({"conversation_id": "x", "turns": [{"role": "user", "content": 5}]}), Location::record(4)).unwrap_err();
/// assert_eq!(err.location.record, Some(4));
/// assert_eq!(err.location.field.as_deref(), Some("turns[0].content"));
/// assert_eq!(err.reason, "not a valid conversation: turns[0].content: invalid type: integer `5`, expected a string, null, or a list of content parts");
/// let mine = from_value(serde_json::json!({"id": 7, "status": "done", "turns": 2,
///     "messages": [{"role": "user", "content": "Hi"}]}), Location::record(1)).unwrap();
/// assert!(mine.conversation_id.starts_with("sha256:") && mine.status.is_none());
/// assert_eq!(serde_json::Value::Object(mine.user_fields), serde_json::json!({"id": 7, "status": "done", "turns": 2}));
/// ```
pub fn from_value(value: Value, location: Location) -> Record {
    Reading::default().value(value, location)
}

/// Reads a row whose columns [`Reading`] took: `own` holds the columns it
/// kept, `renamed` the (field, column) of the mapped ones, so that a mapped
/// column whose value does not fit is kept under the row's own name.
fn read_value(
    mut value: Value,
    location: Location,
    mut own: Map<String, Value>,
    renamed: &[(String, String)],
) -> Record {
    let id = conversation_id_of(&value);
    loop {
        let e = match serde_path_to_error::deserialize::<_, Conversation>(&value) {
            Ok(mut c) => {
                c.user_fields.append(&mut own);
                return checked(c, location);
            }
            Err(e) => e,
        };
        let Some(record) = value.as_object_mut() else {
            return Err(refusal(location, id, &e, renamed));
        };
        match misread_field(record, &e) {
            Some(key) => {
                let field = record.remove(&key).unwrap_or_default();
                own.insert(reading::original(renamed, &key), field);
            }
            None => return Err(refusal(location, id, &e, renamed)),
        }
    }
}

/// One message of a record, read from a JSON value as [`from_value`] reads
/// each of a record's turns (the model's readers, their bounds and
/// checks), for a reader that holds a record's parts apart — the
/// PostgreSQL service, a turn's columns. `index` is the turn's position:
/// `Err` is located at its field (`turns[2].tool_calls[0].function.arguments`)
/// with the reason [`from_value`] gives. What only the whole record shows
/// (every tool call answered) is
/// [`Conversation::resolve_messages`]'s.
///
/// ```
/// use lora_export_core::source::turn_from_value;
/// let turn = turn_from_value(serde_json::json!({"role": "assistant", "content": "Fine.", "weight": 0}), 1).unwrap();
/// assert_eq!(turn.weight, Some(0));
/// let call = serde_json::json!({"role": "assistant", "content": null,
///     "tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": "{oops"}}]});
/// let err = turn_from_value(call, 2).unwrap_err();
/// assert_eq!(err.location.field.as_deref(), Some("turns[2].tool_calls[0].function.arguments"));
/// assert!(err.reason.starts_with("not a valid conversation: turns[2].tool_calls[0].function.arguments: `arguments` is a string but not valid JSON"));
/// ```
pub fn turn_from_value(value: Value, index: usize) -> Result<ConversationTurn, SkippedRecord> {
    serde_path_to_error::deserialize::<_, ConversationTurn>(value).map_err(|e| {
        let path = e.path().to_string();
        let field = match path.as_str() {
            "." | "" => format!("turns[{index}]"),
            inner => format!("turns[{index}].{inner}"),
        };
        let reason = format!("not a valid conversation: {field}: {}", bare(e.inner()));
        skipped(Location::default().with_field(field), None, reason)
    })
}

/// A record's `tools` read from a JSON value as [`from_value`] reads them
/// (a list of at most [`MAX_TOOLS`](crate::model::message::MAX_TOOLS)
/// function definitions, each an object; null is none); `Err` is located at
/// `tools`.
///
/// ```
/// use lora_export_core::source::tools_from_value;
/// let tools = serde_json::json!([{"type": "function", "function": {"name": "f"}}]);
/// assert_eq!(tools_from_value(&tools).unwrap().len(), 1);
/// assert_eq!(tools_from_value(&serde_json::Value::Null).unwrap(), Vec::<serde_json::Value>::new());
/// let err = tools_from_value(&serde_json::json!({"name": "f"})).unwrap_err();
/// assert_eq!(err.reason, "not a valid conversation: tools: `tools` must be a list of function definitions");
/// ```
pub fn tools_from_value(value: &Value) -> Result<Vec<Value>, SkippedRecord> {
    crate::model::message::read_tools(value).map_err(|e| {
        let reason = format!("not a valid conversation: tools: {}", bare(&e));
        skipped(Location::default().with_field("tools"), None, reason)
    })
}

/// A ShareGPT record (`conversations: [{from, value}]`, as LLaMA-Factory
/// and axolotl read it) with neither `turns` nor `messages`: its turns as
/// `messages`, and its top-level `system` prompt as a first system turn.
/// `from` is `human` (a user turn), `gpt` (assistant), `system`,
/// `function_call` (an assistant turn whose `tool_calls` hold the call, its
/// value the JSON of `{name, arguments}`) or `observation` (a `tool` turn);
/// another `from` is kept as the role, which the read then refuses by path.
///
/// ```
/// use lora_export_core::{source::from_value, Location};
/// let c = from_value(serde_json::json!({"system": "Be brief.", "conversations": [
///     {"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello!"}]}), Location::record(1)).unwrap();
/// let roles: Vec<_> = c.turns.iter().map(|t| t.role.as_str()).collect();
/// assert_eq!(roles, ["system", "user", "assistant"]);
/// ```
fn sharegpt_turns(record: &mut Map<String, Value>) {
    if record.contains_key("turns") || record.contains_key("messages") {
        return;
    }
    let Some(Value::Array(items)) = record.get("conversations") else { return };
    if !items.iter().all(|t| t.get("from").is_some() && t.get("value").is_some()) {
        return;
    }
    let Some(Value::Array(items)) = record.remove("conversations") else { return };
    let mut turns = Vec::with_capacity(items.len() + 1);
    if let Some(Value::String(system)) = record.get("system") {
        turns.push(serde_json::json!({"role": "system", "content": system}));
        record.remove("system");
    }
    for mut item in items {
        let value = item.get_mut("value").map(Value::take).unwrap_or_default();
        let from = item.get("from").and_then(Value::as_str).unwrap_or_default();
        turns.push(match from {
            "human" | "user" => serde_json::json!({"role": "user", "content": value}),
            "gpt" | "assistant" => serde_json::json!({"role": "assistant", "content": value}),
            "system" => serde_json::json!({"role": "system", "content": value}),
            "function_call" => {
                let call = match &value {
                    Value::String(text) => serde_json::from_str(text).unwrap_or(value),
                    _ => value,
                };
                let function = serde_json::json!({
                    "name": call.get("name").cloned().unwrap_or_default(),
                    "arguments": call.get("arguments").cloned().unwrap_or_default(),
                });
                serde_json::json!({"role": "assistant", "content": null,
                    "tool_calls": [{"type": "function", "function": function}]})
            }
            "observation" => serde_json::json!({"role": "tool", "content": value}),
            other => serde_json::json!({"role": other, "content": value}),
        });
    }
    record.insert("messages".to_owned(), Value::Array(turns));
}

/// The field of `record` that made the read fail when it is the record's
/// own rather than the platform's: a platform-named top-level field whose
/// value does not fit, or the second spelling of one given twice (`turns`
/// beside `messages`: the one that is not a list of turns).
fn misread_field(
    record: &Map<String, Value>,
    e: &serde_path_to_error::Error<serde_json::Error>,
) -> Option<String> {
    let message = e.inner().to_string();
    if let Some(name) = message.strip_prefix("duplicate field `").and_then(|m| m.split('`').next())
    {
        let pair = SPELLINGS.iter().find(|(a, b)| *a == name || *b == name)?;
        let looks_like_turns = |key: &str| {
            record
                .get(key)
                .and_then(Value::as_array)
                .is_some_and(|turns| turns.iter().all(|t| t.get("role").is_some()))
        };
        // Of two spellings, the one that does not look like turns (for the
        // turns) or else the second is the record's own.
        let own = if pair.0 == "turns" && !looks_like_turns("turns") { pair.0 } else { pair.1 };
        return record.contains_key(own).then(|| own.to_owned());
    }
    let first = match e.path().iter().next()? {
        serde_path_to_error::Segment::Map { key } => key.clone(),
        _ => return None,
    };
    let turns = first == "turns" || first == "messages";
    if !crate::model::is_platform_field(&first) || turns {
        return None;
    }
    record.contains_key(&first).then_some(first)
}

/// The two spellings read for one field.
const SPELLINGS: &[(&str, &str)] = &[
    ("turns", "messages"),
    ("conversation_id", "conversationId"),
    ("category", "categories"),
    ("qualityScore", "quality_score"),
    ("totalTurns", "total_turns"),
    ("tokenCount", "token_count"),
    ("parentId", "parent_id"),
    ("parentType", "parent_type"),
    ("reviewHistory", "review_history"),
    ("createdAt", "created_at"),
    ("updatedAt", "updated_at"),
];

/// A record refused by serde, with the path of the offending field, named
/// by the row's own column when the field was mapped (`renamed`).
fn refusal(
    location: Location,
    id: Option<String>,
    e: &serde_path_to_error::Error<serde_json::Error>,
    renamed: &[(String, String)],
) -> SkippedRecord {
    let mut path = e.path().to_string();
    let under = |field: &str| {
        path.strip_prefix(field).filter(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
    };
    if let Some((column, rest)) =
        renamed.iter().find_map(|(field, column)| Some((column, under(field)?)))
    {
        path = format!("{column}{rest}");
    }
    let why = bare(e.inner());
    if path == "." || path.is_empty() {
        return skipped(location, id, format!("not a valid conversation: {why}"));
    }
    let reason = format!("not a valid conversation: {path}: {why}");
    skipped(location.with_field(path), id, reason)
}

/// A serde_json error's explanation without its ` at line L column C`
/// (always line 1 of a JSONL line, and meaningless for a value).
fn bare(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    match text.strip_suffix(&position) {
        Some(bare) => bare.to_owned(),
        None => text,
    }
}

/// A conversation a binding read itself (with its own serde
/// deserializer), checked as every reader checks one — what serde cannot:
/// at least one turn; and completed: without a `conversation_id`, the
/// record's `id` is taken, else one derived from the turns (and a preference record's continuations after them)
/// ([`derived_id`](crate::model::derived_id)); a `qualityScore` outside
/// 0–10 is not the platform's score but the record's own value, kept in
/// [`user_fields`](Conversation::user_fields) (and counted in the summary's
/// warnings).
///
/// ```
/// use lora_export_core::source::checked;
/// use lora_export_core::Location;
/// let c: lora_export_core::model::Conversation = serde_json::from_str(
///     r#"{"conversation_id": "c-1", "turns": [], "qualityScore": 5}"#).unwrap();
/// let refused = checked(c, Location::record(3)).unwrap_err();
/// assert_eq!(refused.reason, "conversation has no turns");
/// assert_eq!(refused.location.record, Some(3));
/// let c: lora_export_core::model::Conversation = serde_json::from_str(
///     r#"{"messages": [{"role": "user", "content": "Hi"}], "quality_score": 87}"#).unwrap();
/// let c = checked(c, Location::record(4)).unwrap();
/// assert!(c.conversation_id.starts_with("sha256:"));
/// assert_eq!((c.quality_score, &c.user_fields["quality_score"]), (None, &serde_json::json!(87.0)));
/// ```
pub fn checked(mut c: Conversation, location: Location) -> Record {
    if let Err(why) = c.resolve_messages() {
        let id = Some(c.conversation_id).filter(|id| !id.trim().is_empty());
        return Err(skipped(location, id, why));
    }
    if c.turns.is_empty() {
        let id = Some(c.conversation_id).filter(|id| !id.trim().is_empty());
        return Err(skipped(location, id, "conversation has no turns".to_owned()));
    }
    if c.conversation_id.trim().is_empty() {
        c.conversation_id = match (&c.preference, c.id.trim().is_empty()) {
            (_, false) => c.id.clone(),
            (None, true) => derived_id(&c.turns),
            (Some(p), true) => derived_id(&[&c.turns[..], &p.chosen, &p.rejected].concat()),
        };
    }
    if let Some(score) = c.quality_score.filter(|s| !(0.0..=10.0).contains(s)) {
        c.quality_score = None;
        c.user_fields.insert("quality_score".to_owned(), Value::from(score));
    }
    Ok(c)
}

fn conversation_id_of(value: &Value) -> Option<String> {
    ["conversation_id", "conversationId"]
        .into_iter()
        .find_map(|key| value.get(key)?.as_str().filter(|id| !id.is_empty()))
        .map(str::to_owned)
}

fn skipped(location: Location, conversation_id: Option<String>, reason: String) -> SkippedRecord {
    SkippedRecord { location, conversation_id, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"conversation_id":"ok","title":"T","status":"approved","quality_score":9,"tier":"template","created_at":"2025-10-29 10:00:00+00","updated_at":"2025-10-29T10:00:00Z","review_history":null,"turns":[{"role":"user","content":"Hi","turn_number":1}]}"#;

    /// A skipped record as (line, conversation_id, reason).
    type Refusal = (u64, Option<String>, String);

    fn reasons(text: &[u8]) -> Vec<std::result::Result<String, Refusal>> {
        JsonlSource::new(text)
            .map(|r| match r {
                Ok(c) => Ok(c.conversation_id),
                Err(s) => Err((s.location.line.unwrap(), s.conversation_id, s.reason)),
            })
            .collect()
    }

    #[test]
    fn snake_case_rows_and_crlf_lines_are_read() {
        let text = format!("\u{FEFF}{GOOD}\r\n{GOOD}");
        assert_eq!(reasons(text.as_bytes()), [Ok("ok".to_owned()), Ok("ok".to_owned())]);
    }

    #[test]
    fn each_kind_of_malformed_record_is_reported_with_its_line_and_id() {
        let cases = [
            (GOOD.replace("\"user\"", "\"robot\""), "unknown variant `robot`"),
            (GOOD.replace("\"Hi\"", "null"), "`content` is null"),
            (GOOD.replace("\"turns\":[", "\"turns\":7,\"x\":["), "invalid type: integer `7`"),
        ];
        for (line, why) in cases {
            let got = reasons(format!("\n{line}\n").as_bytes());
            let (n, id, reason) = got[0].clone().unwrap_err();
            assert_eq!((n, id.as_deref()), (2, Some("ok")), "{reason}");
            assert!(reason.contains(why), "{reason} should mention {why}");
        }
    }

    #[test]
    fn minimal_records_need_only_turns_and_absent_fields_stay_absent() {
        let text = concat!(
            r#"{"conversation_id":"a","turns":[{"role":"user","content":"Hi"}]}"#,
            "\n",
            r#"{"conversationId":"b","messages":[{"role":"user","content":"Hi"}]}"#,
            "\n",
            r#"{"conversation_id":"c","messages":[{"role":"user","content":"Hi"}],"created_at":"2025-01-02","qualityScore":7}"#,
            "\n",
            r#"{"id":"d","title":"no conversation_id","turns":[{"role":"user","content":"Hi"}]}"#,
            "\n",
            r#"{"messages":[{"role":"user","content":"Hi"}]}"#,
            "\n",
        );
        let got = reasons(text.as_bytes());
        let derived = derived_id(
            &serde_json::from_str::<Vec<_>>(r#"[{"role":"user","content":"Hi"}]"#).unwrap(),
        );
        assert_eq!(got, ["a", "b", "c", "d", &derived].map(|id| Ok(id.to_owned())));
        assert_eq!(derived, "sha256:c78dd08d6154e3bc");
        let c = JsonlSource::new(text.as_bytes()).nth(2).unwrap().unwrap();
        assert_eq!(c.created_at.as_ref().map(|t| t.as_str()), Some("2025-01-02"));
        assert_eq!(
            (c.updated_at, c.quality_score, c.status, c.tier, c.title),
            (None, Some(7.0), None, None, None)
        );
    }

    #[test]
    fn a_platform_named_field_of_another_meaning_is_kept_as_the_records_own() {
        let cases = [
            (GOOD.replace("\"quality_score\":9", "\"quality_score\":\"high\""), "quality_score"),
            (GOOD.replace("\"quality_score\":9", "\"quality_score\":11"), "quality_score"),
            (GOOD.replace("\"template\"", "\"premium\""), "tier"),
            (GOOD.replace("2025-10-29 10:00:00+00", "last tuesday"), "created_at"),
            (GOOD.replace("\"title\":\"T\"", "\"title\":{\"en\":\"T\"}"), "title"),
            (GOOD.replace("\"turns\"", "\"messages\"").replace("\"title\"", "\"turns\""), "turns"),
        ];
        for (line, field) in cases {
            let c = JsonlSource::new(line.as_bytes()).next().unwrap().unwrap();
            assert_eq!(c.conversation_id, "ok");
            assert_eq!(c.user_fields.keys().collect::<Vec<_>>(), [field], "{line}");
            assert_eq!(c.turns.len(), 1);
        }
    }

    #[test]
    fn sharegpt_lines_are_read_as_turns() {
        let text = concat!(
            r#"{"conversations":[{"from":"human","value":"Hi"},{"from":"gpt","value":"Hello"}]}"#,
            "\n",
            r#"{"id":"s2","system":"Be brief.","conversations":[{"from":"human","value":"Hi"},{"from":"gpt","value":"Yo"}]}"#,
            "\n",
        );
        let read: Vec<Conversation> =
            JsonlSource::new(text.as_bytes()).map(Result::unwrap).collect();
        let turns = |c: &Conversation| {
            c.turns.iter().map(|t| (t.role.as_str(), t.content.clone())).collect::<Vec<_>>()
        };
        assert_eq!(turns(&read[0]), [("user", "Hi".to_owned()), ("assistant", "Hello".to_owned())]);
        assert_eq!(read[1].conversation_id, "s2");
        assert_eq!(turns(&read[1])[0], ("system", "Be brief.".to_owned()));
        assert!(read[0].user_fields.is_empty());
    }

    #[test]
    fn a_refused_field_is_named_by_its_path_without_a_misleading_position() {
        let line = GOOD.replace("\"Hi\"", "5");
        let record = JsonlSource::new(line.as_bytes()).next().unwrap().unwrap_err();
        assert_eq!(record.location.field.as_deref(), Some("turns[0].content"));
        assert_eq!(
            record.reason,
            "not a valid conversation: turns[0].content: invalid type: integer `5`, expected a string, null, or a list of content parts"
        );
        let broken = JsonlSource::new(&b"{\"a\": tru}"[..]).next().unwrap().unwrap_err();
        assert_eq!(broken.reason, "not valid JSON: expected ident at column 10");
    }

    #[test]
    fn a_line_that_is_not_json_or_not_utf8_is_reported() {
        let got = reasons(b"{\"conversation_id\": \"x\"\n\xff\xfe\n");
        assert!(got[0].clone().unwrap_err().2.starts_with("not valid JSON"));
        assert_eq!(got[1].clone().unwrap_err().0, 2);
    }
}
