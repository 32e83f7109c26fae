//! Reading conversations: canonical JSONL (one [`Conversation`] per line,
//! turns embedded) and single JSON values (what the bindings hand over).
//!
//! A record that cannot be exported is never dropped silently: it comes out
//! as an `Err(SkippedRecord)` naming where it was and why, which the export
//! lists in its summary.

#[cfg(feature = "arrow")]
mod arrow;
mod background;

use std::io::BufRead;

use serde_json::Value;

use crate::model::Conversation;
use crate::{Location, SkippedRecord};

#[cfg(feature = "arrow")]
pub use self::arrow::ArrowSource;
pub use self::background::BackgroundJsonlSource;

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
}

impl<R: BufRead> JsonlSource<R> {
    /// Reads from `reader`.
    pub fn new(reader: R) -> Self {
        JsonlSource { reader, line: 0, buf: Vec::with_capacity(8 * 1024), failed: false }
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
            return Some(parse_line(text, Location::line(self.line)));
        }
    }
}

pub(crate) fn trim_line(buf: &[u8]) -> &[u8] {
    let buf = buf.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(buf);
    let buf = buf.strip_suffix(b"\n").unwrap_or(buf);
    buf.strip_suffix(b"\r").unwrap_or(buf)
}

pub(crate) fn parse_line(text: &[u8], location: Location) -> Record {
    let text = match simdutf8::compat::from_utf8(text) {
        Ok(text) => text,
        Err(e) => {
            let reason = format!("not valid JSON: invalid UTF-8 at byte {}", e.valid_up_to() + 1);
            return Err(skipped(location, None, reason));
        }
    };
    match serde_json::from_str::<Conversation>(text) {
        Ok(c) => checked(c, location),
        Err(e) if e.is_syntax() || e.is_eof() => {
            let reason = format!("not valid JSON: {} at column {}", bare(&e), e.column());
            Err(skipped(location, None, reason))
        }
        Err(_) => {
            // The fast parse failed on the data: parse again, tracking the
            // path, to say which field was wrong.
            let id = serde_json::from_str::<Value>(text).ok().as_ref().and_then(conversation_id_of);
            let mut de = serde_json::Deserializer::from_str(text);
            match serde_path_to_error::deserialize::<_, Conversation>(&mut de) {
                Ok(c) => checked(c, location),
                Err(e) => Err(refusal(location, id, &e)),
            }
        }
    }
}

/// Converts one JSON value into a conversation, or says why it cannot be
/// one, naming the field. `location` is where the value was (a record
/// number, say).
///
/// ```
/// use lora_export_core::{source::from_value, Location};
/// let err = from_value(serde_json::json!({"conversation_id": "x", "turns": [{"role": "user", "content": 5}]}), Location::record(4)).unwrap_err();
/// assert_eq!(err.location.record, Some(4));
/// assert_eq!(err.location.field.as_deref(), Some("turns[0].content"));
/// assert_eq!(err.reason, "not a valid conversation: turns[0].content: invalid type: integer `5`, expected a string, null, or a list of content parts");
/// let minimal = from_value(serde_json::json!({"conversation_id": "m-1", "messages": [{"role": "user", "content": "Hi"}]}), Location::record(1)).unwrap();
/// assert_eq!(minimal.conversation_id, "m-1");
/// ```
pub fn from_value(value: Value, location: Location) -> Record {
    let id = conversation_id_of(&value);
    match serde_path_to_error::deserialize::<_, Conversation>(value) {
        Ok(c) => checked(c, location),
        Err(e) => Err(refusal(location, id, &e)),
    }
}

/// A record refused by serde, with the path of the offending field.
fn refusal(
    location: Location,
    id: Option<String>,
    e: &serde_path_to_error::Error<serde_json::Error>,
) -> SkippedRecord {
    let path = e.path().to_string();
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
/// a `conversation_id`, at least one turn, a score within 0–10.
///
/// ```
/// use lora_export_core::source::checked;
/// use lora_export_core::Location;
/// let c: lora_export_core::model::Conversation = serde_json::from_str(
///     r#"{"conversation_id": "c-1", "turns": [], "qualityScore": 5}"#).unwrap();
/// let refused = checked(c, Location::record(3)).unwrap_err();
/// assert_eq!(refused.reason, "conversation has no turns");
/// assert_eq!(refused.location.record, Some(3));
/// ```
pub fn checked(mut c: Conversation, location: Location) -> Record {
    let resolved = c.resolve_messages();
    let reason = if let Err(why) = resolved {
        Some(why)
    } else if c.conversation_id.trim().is_empty() {
        Some("no conversation_id: it is missing or empty".to_owned())
    } else if c.turns.is_empty() {
        Some("conversation has no turns".to_owned())
    } else if !(0.0..=10.0).contains(&c.quality_score) {
        Some(format!("qualityScore outside 0–10: {}", c.quality_score))
    } else {
        None
    };
    match reason {
        None => Ok(c),
        Some(reason) => {
            let id = Some(c.conversation_id).filter(|id| !id.is_empty());
            Err(skipped(location, id, reason))
        }
    }
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
            (
                GOOD.replace("\"quality_score\":9", "\"quality_score\":\"high\""),
                "invalid type: string",
            ),
            (GOOD.replace("\"quality_score\":9", "\"quality_score\":11"), "outside 0–10: 11"),
            (GOOD.replace("\"template\"", "\"premium\""), "unknown variant `premium`"),
            (GOOD.replace("2025-10-29 10:00:00+00", "last tuesday"), "not an ISO-8601 timestamp"),
        ];
        for (line, why) in cases {
            let got = reasons(format!("\n{line}\n").as_bytes());
            let (n, id, reason) = got[0].clone().unwrap_err();
            assert_eq!((n, id.as_deref()), (2, Some("ok")), "{reason}");
            assert!(reason.contains(why), "{reason} should mention {why}");
        }
    }

    #[test]
    fn minimal_records_need_only_a_conversation_id_and_turns() {
        let text = concat!(
            r#"{"conversation_id":"a","turns":[{"role":"user","content":"Hi"}]}"#,
            "\n",
            r#"{"conversationId":"b","messages":[{"role":"user","content":"Hi"}]}"#,
            "\n",
            r#"{"conversation_id":"c","messages":[{"role":"user","content":"Hi"}],"created_at":"2025-01-02","qualityScore":7}"#,
            "\n",
            r#"{"id":"d","title":"no conversation_id","turns":[{"role":"user","content":"Hi"}]}"#,
            "\n",
        );
        let got = reasons(text.as_bytes());
        assert_eq!(got[..3], [Ok("a".to_owned()), Ok("b".to_owned()), Ok("c".to_owned())]);
        assert!(got[3].clone().unwrap_err().2.starts_with("no conversation_id"));
        let c = JsonlSource::new(text.as_bytes()).nth(2).unwrap().unwrap();
        assert_eq!(
            (c.created_at.as_str(), c.updated_at.as_str()),
            ("2025-01-02", "1970-01-01T00:00:00Z")
        );
        assert_eq!(c.quality_score, 7.0);
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
