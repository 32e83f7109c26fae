//! JSON: the one-document export, read by a streaming deserializer that
//! walks the top-level object itself and takes the `conversations` array one
//! element at a time, so memory holds one conversation, never the document.
//!
//! Top-level findings carry the line of their key; findings inside a
//! conversation carry the line where that conversation starts, its 1-based
//! record number and the JSON path (`conversations[3].turns[0].role`).

use std::cell::Cell;
use std::fmt;
use std::io::{self, BufRead, Read};

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::error::Category;
use serde_json::{Map, Value};

use super::jsonl::{reason, short};
use super::{is_variant, Sink};
use crate::error::json_type_name;
use crate::model::{ConversationStatus, Role, Tier};
use crate::{Location, Result};

const TOP_KEYS: [&str; 5] =
    ["version", "export_date", "conversations", "conversation_count", "summary"];
const CONVERSATION_KEYS: [&str; 8] =
    ["conversation_id", "title", "status", "tier", "turns", "tools", "preference", "metadata"];
const TURN_KEYS: [&str; 10] = [
    "role",
    "content",
    "token_count",
    "truncated",
    "content_parts",
    "tool_calls",
    "tool_call_id",
    "name",
    "reasoning",
    "weight",
];

pub(super) fn validate(reader: impl BufRead, sink: &mut Sink) -> Result<()> {
    let newlines = Cell::new(0);
    let mut de =
        serde_json::Deserializer::from_reader(Counting { inner: reader, newlines: &newlines });
    let parsed = Document { sink: &mut *sink, newlines: &newlines }
        .deserialize(&mut de)
        .and_then(|()| de.end());
    if let Err(e) = parsed {
        let (code, what) = match e.classify() {
            Category::Io => return Err(io::Error::from(e).into()),
            Category::Eof => ("unexpected_eof", "the document ends early"),
            Category::Data => ("not_an_object", "the document is not a JSON object"),
            Category::Syntax => ("invalid_json", "not valid JSON"),
        };
        let at = Location::line(e.line() as u64);
        sink.error(at, code, format!("{what} at column {}: {}", e.column(), reason(&e)));
    }
    Ok(())
}

/// Counts the newlines read so far, so visitors know the current line.
/// serde_json reads its input one byte at a time and peeks one byte ahead,
/// so when a value starts the count is exact.
struct Counting<'a, R> {
    inner: R,
    newlines: &'a Cell<u64>,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let seen = buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
        self.newlines.set(self.newlines.get() + seen);
        Ok(n)
    }
}

/// The top-level object.
struct Document<'a> {
    sink: &'a mut Sink,
    newlines: &'a Cell<u64>,
}

impl<'de> DeserializeSeed<'de> for Document<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Document<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the export document, a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        let Document { sink, newlines } = self;
        let mut seen = [false; TOP_KEYS.len()];
        let mut stats = None;
        let mut count = None;
        let mut summary = None;
        while let Some(key) = map.next_key::<String>()? {
            let at = Location::line(newlines.get() + 1).with_field(key.as_str());
            let Some(index) = TOP_KEYS.iter().position(|k| *k == key) else {
                map.next_value::<IgnoredAny>()?;
                sink.error(
                    at,
                    "unknown_key",
                    format!("`{key}` is not a key of the export document"),
                );
                continue;
            };
            if std::mem::replace(&mut seen[index], true) {
                sink.error(at.clone(), "duplicate_key", format!("`{key}` appears twice"));
            }
            match index {
                0 => match map.next_value::<Value>()? {
                    Value::String(v) if v == "1.0" => {}
                    v => sink.error(
                        at,
                        "invalid_version",
                        format!("version is {}, expected `1.0`", short(&v)),
                    ),
                },
                1 => match map.next_value::<Value>()? {
                    Value::String(d) if chrono::DateTime::parse_from_rfc3339(&d).is_ok() => {}
                    d => {
                        let msg = format!("export_date {} is not an ISO-8601 date-time", short(&d));
                        sink.error(at, "invalid_export_date", msg);
                    }
                },
                2 => {
                    let seed = Conversations { sink: &mut *sink, newlines, at: at.clone() };
                    stats = Some(map.next_value_seed(seed)?);
                }
                3 => count = Some((at, map.next_value::<Value>()?)),
                _ => summary = Some((at, map.next_value::<Value>()?)),
            }
        }
        for (key, _) in TOP_KEYS.iter().zip(seen).filter(|(k, seen)| !seen && **k != "summary") {
            let msg = format!("the document has no `{key}`");
            sink.error(Location::default().with_field(*key), "missing_key", msg);
        }
        let (conversations, turns) = stats.unwrap_or_default();
        if let Some((at, count)) = count {
            match count.as_u64() {
                Some(n) if n == conversations => {}
                Some(n) => {
                    let msg = format!("conversation_count is {n}, the array holds {conversations}");
                    sink.error(at, "count_mismatch", msg);
                }
                None => sink.error(
                    at,
                    "invalid_type",
                    format!("conversation_count is {}", json_type_name(&count)),
                ),
            }
        }
        if let Some((at, summary)) = summary {
            check_summary(at, &summary, conversations, turns, sink);
        }
        Ok(())
    }
}

fn check_summary(at: Location, summary: &Value, conversations: u64, turns: u64, sink: &mut Sink) {
    let Value::Object(summary) = summary else {
        sink.error(at, "invalid_type", format!("summary is {}", json_type_name(summary)));
        return;
    };
    let field = |name: &str| at.clone().with_field(format!("summary.{name}"));
    if let Some(total) = summary.get("total_turns") {
        match total.as_u64() {
            Some(t) if t == turns => {}
            Some(t) => {
                let msg =
                    format!("summary.total_turns is {t}, the conversations hold {turns} turns");
                sink.error(field("total_turns"), "summary_mismatch", msg);
            }
            None => sink.error(
                field("total_turns"),
                "invalid_type",
                "total_turns must be a whole number",
            ),
        }
    }
    if let Some(Value::Object(tiers)) = summary.get("tier_distribution") {
        let sum: u64 = tiers.values().filter_map(Value::as_u64).sum();
        // Conversations without a tier are not counted in it.
        if sum > conversations {
            let msg = format!(
                "tier_distribution counts {sum} conversations, the array holds {conversations}"
            );
            sink.error(field("tier_distribution"), "summary_mismatch", msg);
        }
    }
}

/// The `conversations` value: checks each element as it arrives and returns
/// (conversations, turns).
struct Conversations<'a> {
    sink: &'a mut Sink,
    newlines: &'a Cell<u64>,
    at: Location,
}

impl<'de> DeserializeSeed<'de> for Conversations<'_> {
    type Value = (u64, u64);

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(u64, u64), D::Error> {
        d.deserialize_any(self)
    }
}

impl Conversations<'_> {
    fn not_an_array(self, found: &str) -> (u64, u64) {
        self.sink.error(
            self.at,
            "invalid_type",
            format!("conversations must be an array, found {found}"),
        );
        (0, 0)
    }
}

impl<'de> Visitor<'de> for Conversations<'_> {
    type Value = (u64, u64);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of conversations")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(u64, u64), A::Error> {
        let (mut count, mut turns) = (0, 0);
        while let Some((line, value)) =
            seq.next_element_seed(Element { newlines: self.newlines })?
        {
            self.sink.record();
            turns += check_conversation(count, line, &value, self.sink);
            count += 1;
        }
        Ok((count, turns))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(u64, u64), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(self.not_an_array("an object"))
    }

    fn visit_str<E>(self, _: &str) -> std::result::Result<(u64, u64), E> {
        Ok(self.not_an_array("a string"))
    }

    fn visit_bool<E>(self, _: bool) -> std::result::Result<(u64, u64), E> {
        Ok(self.not_an_array("a boolean"))
    }

    fn visit_i64<E>(self, _: i64) -> std::result::Result<(u64, u64), E> {
        Ok(self.not_an_array("a number"))
    }

    fn visit_u64<E>(self, _: u64) -> std::result::Result<(u64, u64), E> {
        Ok(self.not_an_array("a number"))
    }

    fn visit_f64<E>(self, _: f64) -> std::result::Result<(u64, u64), E> {
        Ok(self.not_an_array("a number"))
    }

    fn visit_unit<E>(self) -> std::result::Result<(u64, u64), E> {
        Ok(self.not_an_array("null"))
    }
}

/// One conversation as a `Value`, with the line it starts on.
struct Element<'a> {
    newlines: &'a Cell<u64>,
}

impl<'de> DeserializeSeed<'de> for Element<'_> {
    type Value = (u64, Value);

    fn deserialize<D: Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<(u64, Value), D::Error> {
        let line = self.newlines.get() + 1;
        Ok((line, serde::Deserialize::deserialize(d)?))
    }
}

/// Checks conversation `index` (0-based) starting on `line`; returns its
/// number of turns.
fn check_conversation(index: u64, line: u64, value: &Value, sink: &mut Sink) -> u64 {
    let at = |path: &str| Location {
        line: Some(line),
        record: Some(index + 1),
        field: Some(format!("conversations[{index}]{path}")),
    };
    let Value::Object(c) = value else {
        sink.error(
            at(""),
            "invalid_type",
            format!("a conversation must be an object, found {}", json_type_name(value)),
        );
        return 0;
    };
    for key in ["conversation_id", "title", "status", "tier"] {
        let path = format!(".{key}");
        match c.get(key) {
            // Only the id is always written: a record without a title,
            // status or tier has none in the output (nothing is invented).
            None if key == "conversation_id" => {
                sink.error(at(&path), "missing_key", format!("no `{key}`"))
            }
            None => {}
            Some(Value::String(s)) => {
                let known = match key {
                    "status" => is_variant::<ConversationStatus>(s),
                    "tier" => is_variant::<Tier>(s),
                    _ => true,
                };
                if !known {
                    sink.error(
                        at(&path),
                        "invalid_enum",
                        format!("{key} {} is not a known {key}", short(&c[key])),
                    );
                } else if key == "conversation_id" && s.is_empty() {
                    sink.error(at(&path), "missing_value", "conversation_id is empty");
                }
            }
            Some(v) => sink.error(
                at(&path),
                "invalid_type",
                format!("{key} must be a string, found {}", json_type_name(v)),
            ),
        }
    }
    unknown_keys(c, &CONVERSATION_KEYS, &at(""), sink);
    if let Some(m) = c.get("metadata").filter(|m| !m.is_object()) {
        sink.error(
            at(".metadata"),
            "invalid_type",
            format!("metadata must be an object, found {}", json_type_name(m)),
        );
    }
    let turns = match c.get("turns") {
        Some(Value::Array(turns)) if !turns.is_empty() => turns,
        Some(Value::Array(_)) => {
            sink.error(at(".turns"), "empty_turns", "the conversation has no turns");
            return 0;
        }
        Some(v) => {
            sink.error(
                at(".turns"),
                "invalid_type",
                format!("turns must be an array, found {}", json_type_name(v)),
            );
            return 0;
        }
        None => {
            sink.error(at(".turns"), "missing_key", "no `turns`");
            return 0;
        }
    };
    for (j, turn) in turns.iter().enumerate() {
        let path = |key: &str| at(&format!(".turns[{j}]{key}"));
        let Value::Object(t) = turn else {
            sink.error(
                path(""),
                "invalid_type",
                format!("a turn must be an object, found {}", json_type_name(turn)),
            );
            continue;
        };
        unknown_keys(t, &TURN_KEYS, &path(""), sink);
        match t.get("role") {
            None => sink.error(path(".role"), "missing_key", "no `role`"),
            Some(Value::String(r)) if is_variant::<Role>(r) => {}
            Some(r) => {
                let msg =
                    format!("role {} is not system, developer, user, assistant or tool", short(r));
                sink.error(path(".role"), "unrecognized_role", msg);
            }
        }
        match t.get("content") {
            None => sink.error(path(".content"), "missing_key", "no `content`"),
            Some(Value::String(s))
                if s.is_empty()
                    && !t.contains_key("tool_calls")
                    && !t.contains_key("content_parts") =>
            {
                sink.error(path(".content"), "missing_content", "content is empty")
            }
            Some(Value::String(_)) => {}
            Some(v) => {
                let msg = format!("content must be a string, found {}", json_type_name(v));
                sink.error(path(".content"), "invalid_type", msg);
            }
        }
        if let Some(n) = t.get("token_count").filter(|n| n.as_u64().is_none()) {
            let msg = format!("token_count must be a whole number, found {}", json_type_name(n));
            sink.error(path(".token_count"), "invalid_type", msg);
        }
        if let Some(b) = t.get("truncated").filter(|b| !b.is_boolean()) {
            let msg = format!("truncated must be a boolean, found {}", json_type_name(b));
            sink.error(path(".truncated"), "invalid_type", msg);
        }
    }
    turns.len() as u64
}

fn unknown_keys(object: &Map<String, Value>, known: &[&str], at: &Location, sink: &mut Sink) {
    for key in object.keys().filter(|k| !known.contains(&k.as_str())) {
        let field = format!("{}.{key}", at.field.as_deref().unwrap_or_default());
        sink.warning(
            at.clone().with_field(field),
            "unknown_key",
            format!("`{key}` is not expected here"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ExportConfig, ExportRequest, Format, JsonlFlavor, Scope};
    use crate::source::JsonlSource;
    use crate::validate::{validate_output, ValidationReport};
    use crate::ExportBuilder;

    fn check(text: &str) -> ValidationReport {
        validate_output(Format::Json, JsonlFlavor::Openai, text.as_bytes()).unwrap()
    }

    fn only_error(text: &str) -> (String, String) {
        let r = check(text);
        assert_eq!(r.errors.len(), 1, "{:#?}", r.errors);
        (r.errors[0].code.clone(), r.errors[0].location.to_string())
    }

    const INPUT: &str = r#"{"conversation_id":"c1","title":"Greeting, \"quoted\"","status":"approved","qualityScore":9,"tier":"template","category":["a"],"createdAt":"2025-10-29T10:00:00Z","updatedAt":"2025-10-29T10:00:00Z","turns":[{"role":"user","content":"Hi\nthere","tokenCount":3},{"role":"assistant","content":"Hello!"}]}
{"conversation_id":"c2","title":"Second","status":"approved","qualityScore":7.5,"tier":"edge_case","createdAt":"2025-10-29T10:00:00Z","updatedAt":"2025-10-29T10:00:00Z","parameters":{"k":1},"turns":[{"role":"system","content":"Be brief."},{"role":"user","content":"x"},{"role":"assistant","content":"y"}]}
"#;

    fn export(input: &str, metadata: bool, full: bool) -> String {
        let mut config = ExportConfig::new(Scope::All, Format::Json);
        config.include_metadata = metadata;
        config.include_full_content = full;
        config.include_approval_history = true;
        config.include_parent_references = true;
        let mut out = Vec::new();
        ExportBuilder::new(ExportRequest::new(config))
            .export(JsonlSource::new(input.as_bytes()), &mut out)
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn exports_are_valid_with_and_without_metadata() {
        for (metadata, full) in [(true, true), (false, true), (true, false)] {
            let r = check(&export(INPUT, metadata, full));
            assert!(r.is_valid(), "{:#?}", r.errors);
            assert!(r.warnings.is_empty(), "{:#?}", r.warnings);
            assert_eq!(r.records, 2);
        }
        let r = check(&export("", true, true));
        assert!(r.is_valid(), "{:#?}", r.errors);
        assert_eq!(r.records, 0);
    }

    /// A valid document with `conversations` replaced, for negative cases.
    fn doc(conversations: &str, count: usize) -> String {
        format!(
            "{{\n  \"version\": \"1.0\",\n  \"export_date\": \"2025-10-29T10:00:00.000Z\",\n  \"conversations\": [\n{conversations}\n  ],\n  \"conversation_count\": {count}\n}}\n"
        )
    }

    const GOOD: &str = r#"    {"conversation_id":"c1","title":"T","status":"approved","tier":"template","turns":[{"role":"user","content":"Hi"}]}"#;

    #[test]
    fn hand_written_document_is_valid() {
        let r = check(&doc(&format!("{GOOD},\n{GOOD}"), 2));
        assert!(r.is_valid(), "{:#?}", r.errors);
        assert_eq!(r.records, 2);
    }

    #[test]
    fn conversation_negative_cases_are_located() {
        // The second conversation starts on line 6 and is record 2.
        let cases = [
            (
                GOOD.replace(r#""conversation_id":"c1","#, ""),
                "missing_key",
                "conversations[1].conversation_id",
            ),
            (GOOD.replace(r#""c1""#, r#""""#), "missing_value", "conversations[1].conversation_id"),
            (GOOD.replace(r#""T""#, "7"), "invalid_type", "conversations[1].title"),
            (GOOD.replace("approved", "done"), "invalid_enum", "conversations[1].status"),
            (GOOD.replace("template", "gold"), "invalid_enum", "conversations[1].tier"),
            (
                GOOD.replace(r#"[{"role":"user","content":"Hi"}]"#, "[]"),
                "empty_turns",
                "conversations[1].turns",
            ),
            (
                GOOD.replace(r#"[{"role":"user","content":"Hi"}]"#, "{}"),
                "invalid_type",
                "conversations[1].turns",
            ),
            (
                GOOD.replace(r#"{"role":"user","content":"Hi"}"#, "1"),
                "invalid_type",
                "conversations[1].turns[0]",
            ),
            (
                GOOD.replace(r#""user""#, r#""human""#),
                "unrecognized_role",
                "conversations[1].turns[0].role",
            ),
            (
                GOOD.replace(r#""role":"user","#, ""),
                "missing_key",
                "conversations[1].turns[0].role",
            ),
            (GOOD.replace(r#""Hi""#, "null"), "invalid_type", "conversations[1].turns[0].content"),
            (
                GOOD.replace(r#""Hi""#, r#""""#),
                "missing_content",
                "conversations[1].turns[0].content",
            ),
            (
                GOOD.replace(r#""Hi""#, r#""Hi","token_count":-1"#),
                "invalid_type",
                "conversations[1].turns[0].token_count",
            ),
            (
                GOOD.replace(r#""Hi""#, r#""Hi","truncated":"yes""#),
                "invalid_type",
                "conversations[1].turns[0].truncated",
            ),
            (
                GOOD.replace(r#""tier""#, r#""metadata":[],"tier""#),
                "invalid_type",
                "conversations[1].metadata",
            ),
            ("    []".to_owned(), "invalid_type", "conversations[1]"),
        ];
        for (second, code, field) in cases {
            let text = doc(&format!("{GOOD},\n{second}"), 2);
            let (got_code, at) = only_error(&text);
            assert_eq!(got_code, code, "{second}");
            assert_eq!(at, format!("line 6, record 2, field {field}"), "{second}");
        }
    }

    #[test]
    fn unknown_keys_inside_conversations_are_warnings() {
        let r = check(&doc(&GOOD.replace(r#""Hi""#, r#""Hi","mood":1"#), 1));
        assert!(r.is_valid());
        assert_eq!(r.warnings[0].code, "unknown_key");
        assert_eq!(r.warnings[0].location.field.as_deref(), Some("conversations[0].turns[0].mood"));
    }

    #[test]
    fn top_level_negative_cases_are_located() {
        let good = doc(GOOD, 1);
        let cases = [
            (good.replace("\"1.0\"", "\"2.0\""), "invalid_version", "line 2, field version"),
            (good.replace("2025-10-29T10:00:00.000Z", "yesterday"), "invalid_export_date", "line 3, field export_date"),
            (good.replace("\"conversation_count\": 1", "\"conversation_count\": 3"), "count_mismatch", "line 7, field conversation_count"),
            (good.replace("\"conversation_count\": 1", "\"conversation_count\": \"1\""), "invalid_type", "line 7, field conversation_count"),
            (good.replace("\"conversation_count\": 1", "\"conversation_count\": 1, \"extra\": {}"), "unknown_key", "line 7, field extra"),
            (good.replace("\"conversation_count\": 1", "\"conversation_count\": 1, \"version\": \"1.0\""), "duplicate_key", "line 7, field version"),
            (good.replace("  \"version\": \"1.0\",\n", ""), "missing_key", "field version"),
            (good.replace("\"conversation_count\": 1", "\"conversation_count\": 1, \"summary\": {\"total_turns\": 2}"), "summary_mismatch", "line 7, field summary.total_turns"),
            (good.replace("\"conversation_count\": 1", "\"conversation_count\": 1, \"summary\": {\"tier_distribution\": {\"template\": 2}}"), "summary_mismatch", "line 7, field summary.tier_distribution"),
            ("{\"version\": \"1.0\", \"export_date\": \"2025-10-29T10:00:00Z\", \"conversations\": {}, \"conversation_count\": 0}".to_owned(), "invalid_type", "line 1, field conversations"),
        ];
        for (text, code, at) in cases {
            assert_eq!(only_error(&text), (code.to_owned(), at.to_owned()), "{text}");
        }
    }

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let broken = doc(GOOD, 1).replace("\"title\":\"T\",", "\"title\":\"T\" ");
        let r = check(&broken);
        assert_eq!(r.errors.len(), 1, "{:#?}", r.errors);
        assert_eq!(
            (r.errors[0].code.as_str(), r.errors[0].location.line),
            ("invalid_json", Some(5))
        );
        assert!(r.errors[0].message.contains("column 41"), "{}", r.errors[0].message);
        let (code, at) = only_error(&doc(GOOD, 1)[..60]);
        assert_eq!((code.as_str(), at.as_str()), ("unexpected_eof", "line 3"));
        let (code, at) = only_error("[1, 2]");
        assert_eq!((code.as_str(), at.as_str()), ("not_an_object", "line 1"));
        let (code, at) = only_error(&format!("{}{{}}", doc(GOOD, 1)));
        assert_eq!((code.as_str(), at.as_str()), ("invalid_json", "line 9"));
        let (code, _) = only_error("");
        assert_eq!(code, "unexpected_eof");
    }

    #[test]
    fn validates_a_lazily_generated_document() {
        // A reader that makes a long document up as it is read: 20,000
        // conversations validate without the document existing as a whole.
        struct Lazy {
            left: u64,
            chunk: Vec<u8>,
            pos: usize,
        }
        impl Read for Lazy {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.pos == self.chunk.len() {
                    self.chunk = match self.left {
                        0 => return Ok(0),
                        20_002 => b"{\"version\":\"1.0\",\"export_date\":\"2025-10-29T10:00:00Z\",\"conversations\":[".to_vec(),
                        1 => b"],\"conversation_count\":20000}".to_vec(),
                        n => format!("{}{GOOD}", if n == 20_001 { "" } else { "," }).into_bytes(),
                    };
                    self.left -= 1;
                    self.pos = 0;
                }
                let n = buf.len().min(self.chunk.len() - self.pos);
                buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
                self.pos += n;
                Ok(n)
            }
        }
        let lazy = Lazy { left: 20_002, chunk: Vec::new(), pos: 0 };
        let r = validate_output(Format::Json, JsonlFlavor::Openai, lazy).unwrap();
        assert!(r.is_valid(), "{:#?}", r.errors);
        assert_eq!(r.records, 20_000);
    }
}
