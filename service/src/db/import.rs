//! Loading canonical JSONL conversations (the core's input format) into
//! `conversations` and `conversation_turns`: for seeding development
//! databases, demos and tests.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::BufRead;
use std::sync::Arc;

use chrono::SecondsFormat;
use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::db::filter_sql::PG_MIN_INSTANT;
use crate::Result;
use crate::{Database, DbClient};
use lora_export_core::model::{
    Conversation, ConversationStatus, ConversationTurn, ParentType, Tier, Timestamp,
};
use lora_export_core::source::{JsonlSource, Reading};
use lora_export_core::{Location, SkippedRecord};

/// Conversations written per transaction.
const BATCH: usize = 500;

const UPSERT: &str = "
INSERT INTO conversations (id, conversation_id, title, category, status, quality_score,
  persona, emotion, topic, tier, total_turns, token_count, parent_id, parent_type,
  parameters, review_history, created_at, updated_at, tools)
SELECT CASE WHEN r.id IS NULL OR EXISTS (SELECT 1 FROM conversations x WHERE x.id = r.id)
            THEN gen_random_uuid() ELSE r.id END,
  r.conversation_id, r.title, r.category, r.status, r.quality_score, r.persona, r.emotion,
  r.topic, r.tier, r.total_turns, r.token_count, r.parent_id, r.parent_type, r.parameters,
  r.review_history, r.created_at, r.updated_at, r.tools
FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, conversation_id text, title text,
  category text[], status text, quality_score double precision, persona text, emotion text,
  topic text, tier text, total_turns integer, token_count bigint, parent_id text,
  parent_type text, parameters jsonb, review_history jsonb, created_at timestamptz,
  updated_at timestamptz, tools jsonb)
ON CONFLICT (conversation_id) DO UPDATE SET title = EXCLUDED.title,
  category = EXCLUDED.category, status = EXCLUDED.status,
  quality_score = EXCLUDED.quality_score, persona = EXCLUDED.persona,
  emotion = EXCLUDED.emotion, topic = EXCLUDED.topic, tier = EXCLUDED.tier,
  total_turns = EXCLUDED.total_turns, token_count = EXCLUDED.token_count,
  parent_id = EXCLUDED.parent_id, parent_type = EXCLUDED.parent_type,
  parameters = EXCLUDED.parameters, review_history = EXCLUDED.review_history,
  created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at, tools = EXCLUDED.tools";

const DELETE_TURNS: &str = "DELETE FROM conversation_turns t USING conversations c \
  WHERE t.conversation_id = c.id AND c.conversation_id = ANY($1)";

const INSERT_TURNS: &str = "
INSERT INTO conversation_turns (conversation_id, turn_number, role, content, token_count,
  tool_calls, tool_call_id, name, reasoning, weight, parts)
SELECT c.id, r.turn_number, r.role, r.content, r.token_count, r.tool_calls, r.tool_call_id,
  r.name, r.reasoning, r.weight, r.parts
FROM jsonb_to_recordset($1::jsonb) AS r(conversation_id text, turn_number integer,
  role text, content text, token_count integer, tool_calls jsonb, tool_call_id text,
  name text, reasoning text, weight smallint, parts jsonb)
JOIN conversations c ON c.conversation_id = r.conversation_id";

/// What [`Database::import_conversations`] did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImportSummary {
    /// Records written (inserted, or updated when the `conversation_id` was
    /// already there). A record repeated later in the same input counts
    /// each time; the last one wins.
    pub imported: u64,
    /// Records not written, each with its line and why: the malformed
    /// records the export would report, plus values PostgreSQL cannot store.
    pub skipped: Vec<SkippedRecord>,
    /// What the tables have no column for, counted per field and left out
    /// of the records written: `user_fields` (records holding fields named
    /// as the platform's with another meaning, which an export would carry
    /// in its metadata). Empty when nothing was left out.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub dropped_fields: BTreeMap<String, u64>,
    /// The input's columns that are not the platform's, each with the
    /// number of records that had a value in it: not stored. Empty when
    /// every column was read.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub ignored_fields: BTreeMap<String, u64>,
}

impl Database {
    /// Loads canonical JSONL conversations (one per line, turns embedded)
    /// into `conversations` and `conversation_turns`.
    ///
    /// - Malformed lines are read by [`JsonlSource`] and listed in
    ///   [`ImportSummary::skipped`] exactly as an export lists them; so are
    ///   records PostgreSQL cannot store (a NUL character, an instant before
    ///   4714 BC, a count beyond the column's integer type) and preference
    ///   records (their chosen and rejected continuations have no place in
    ///   `conversation_turns`).
    /// - A turn's message fields are stored in their columns (migration
    ///   21): `tool_calls` (as the core writes them, arguments as JSON
    ///   text), `tool_call_id`, `name`, `reasoning`, `weight`, and `parts`
    ///   for content given as a list of parts (`content` then holds the text
    ///   parts joined; it is empty for a turn that only calls tools); a
    ///   conversation's `tools` in `conversations.tools`. An export reads
    ///   them back as they were read.
    /// - What the tables have no column for is counted, never dropped in
    ///   silence: records with `user_fields` in
    ///   [`ImportSummary::dropped_fields`], columns that are not the
    ///   platform's in [`ImportSummary::ignored_fields`].
    /// - Each record is an upsert on `conversation_id`: an existing
    ///   conversation is updated and its turns replaced, so importing the
    ///   same file again changes nothing. Its `id` is kept from the first
    ///   import; a new conversation gets the record's `id` when that is a
    ///   UUID not yet taken, a fresh UUID otherwise.
    /// - Instants are stored to the microsecond (PostgreSQL's precision).
    /// - Records are written 500 at a time, each batch in its own transaction
    ///   as the connecting (service) role with three multi-row statements;
    ///   memory holds one batch. A failed import keeps the batches committed
    ///   before the failure; running it again is safe.
    ///
    /// Reading is blocking (`reader` is a [`BufRead`]); a read error ends the
    /// input and is listed in `skipped`, as in an export.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Database`](lora_export_core::ErrorKind::Database) when a statement fails.
    pub async fn import_conversations<R: BufRead + Send>(
        &self,
        mut reader: R,
    ) -> Result<ImportSummary> {
        let mut client = self.client().await?;
        let mut summary = ImportSummary::default();
        let mut batch = Batch::default();
        let mut line = Vec::new();
        let reading = Arc::new(Reading::default());
        for number in 1u64.. {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    let reason = format!("read error: {e}");
                    let location = Location::line(number);
                    summary.skipped.push(SkippedRecord { location, conversation_id: None, reason });
                    break;
                }
            }
            // One line at a time, so that every record keeps its line number.
            for record in JsonlSource::with_reading(line.as_slice(), Arc::clone(&reading)) {
                match record.and_then(storable) {
                    Ok(c) => {
                        if !c.user_fields.is_empty() {
                            *summary.dropped_fields.entry("user_fields".into()).or_default() += 1;
                        }
                        batch.push(c)
                    }
                    Err(mut skipped) => {
                        skipped.location.line = Some(number);
                        summary.skipped.push(skipped);
                    }
                }
            }
            if batch.records >= BATCH {
                summary.imported += batch.write(&mut client).await?;
            }
        }
        summary.imported += batch.write(&mut client).await?;
        summary.ignored_fields = reading.ignored();
        Ok(summary)
    }
}

/// The conversations of one transaction, the last one of each
/// `conversation_id` (an upsert cannot touch a row twice in one statement).
#[derive(Default)]
struct Batch {
    conversations: Vec<Conversation>,
    index: HashMap<String, usize>,
    records: usize,
}

impl Batch {
    fn push(&mut self, c: Conversation) {
        self.records += 1;
        match self.index.get(&c.conversation_id) {
            Some(&i) => self.conversations[i] = c,
            None => {
                self.index.insert(c.conversation_id.clone(), self.conversations.len());
                self.conversations.push(c);
            }
        }
    }

    /// Writes the batch in one transaction and empties it; returns the
    /// number of records it held.
    async fn write(&mut self, client: &mut DbClient) -> Result<u64> {
        if self.conversations.is_empty() {
            return Ok(0);
        }
        let mut ids = HashSet::new();
        let mut rows = Vec::with_capacity(self.conversations.len());
        let mut turns = Vec::new();
        for c in &self.conversations {
            let id = Uuid::parse_str(&c.id).ok().filter(|id| ids.insert(*id));
            rows.push(row(c, id));
            for (i, t) in c.turns.iter().enumerate() {
                turns.push(turn_row(&c.conversation_id, i + 1, t));
            }
        }
        let conversation_ids: Vec<&str> =
            self.conversations.iter().map(|c| c.conversation_id.as_str()).collect();
        let tx = client.transaction().await?;
        tx.execute(UPSERT, &[&Value::Array(rows)]).await?;
        tx.execute(DELETE_TURNS, &[&conversation_ids]).await?;
        tx.execute(INSERT_TURNS, &[&Value::Array(turns)]).await?;
        tx.commit().await?;
        let written = self.records as u64;
        *self = Batch::default();
        Ok(written)
    }
}

/// The record for `jsonb_to_recordset`: the table's column names.
fn row(c: &Conversation, id: Option<Uuid>) -> Value {
    // The tables' columns are NOT NULL: a field the record lacks is stored
    // as the platform's own default (approved, template, score 0, the epoch).
    let instant = |t: &Option<Timestamp>| match t {
        Some(t) => t.utc().to_rfc3339_opts(SecondsFormat::AutoSi, true),
        None => "1970-01-01T00:00:00Z".to_owned(),
    };
    json!({
        "id": id, "conversation_id": c.conversation_id, "title": c.title.as_deref().unwrap_or(""),
        "category": c.category,
        "status": c.status.unwrap_or(ConversationStatus::Approved).as_str(),
        "quality_score": c.quality_score.unwrap_or(0.0),
        "persona": c.persona, "emotion": c.emotion, "topic": c.topic,
        "tier": c.tier.unwrap_or(Tier::Template).as_str(),
        "total_turns": c.total_turns, "token_count": c.token_count.unwrap_or(0),
        "parent_id": c.parent_id,
        "parent_type": c.parent_type.map(ParentType::as_str), "parameters": c.parameters,
        "review_history": c.review_history, "created_at": instant(&c.created_at),
        "updated_at": instant(&c.updated_at),
        "tools": (!c.tools.is_empty()).then_some(&c.tools),
    })
}

/// The turn row for `jsonb_to_recordset`: the message fields as the core
/// writes them (tool calls with their arguments as JSON text, content
/// parts), null when not given; `content` holds the text (the text parts
/// joined, empty for a turn that only calls tools).
fn turn_row(conversation_id: &str, number: usize, t: &ConversationTurn) -> Value {
    json!({
        "conversation_id": conversation_id, "turn_number": number,
        "role": t.role.as_str(), "content": t.content, "token_count": t.token_count,
        "tool_calls": (!t.tool_calls.is_empty()).then_some(&t.tool_calls),
        "tool_call_id": t.tool_call_id, "name": t.name, "reasoning": t.reasoning,
        "weight": t.weight, "parts": (!t.parts.is_empty()).then_some(&t.parts),
    })
}

/// `c`, or why PostgreSQL cannot store it (the field is a JSON path of the
/// input record; the caller adds the line).
fn storable(c: Conversation) -> std::result::Result<Conversation, SkippedRecord> {
    match unstorable(&c) {
        None => Ok(c),
        Some((field, what)) => Err(SkippedRecord {
            reason: format!("{field} holds {what}"),
            location: Location::default().with_field(field),
            conversation_id: Some(c.conversation_id),
        }),
    }
}

fn unstorable(c: &Conversation) -> Option<(String, &'static str)> {
    const INTEGER: &str = "a number beyond PostgreSQL's integer";
    let too_big = |n: u64| n > i32::MAX as u64;
    if c.preference.is_some() {
        return Some((
            "preference".to_owned(),
            "a chosen and a rejected continuation, which conversation_turns cannot store",
        ));
    }
    if let Some(path) = serde_json::to_value(c).ok().and_then(|v| nul_path(&v, "")) {
        return Some((path, "a NUL character, which PostgreSQL text cannot store"));
    }
    for (field, t) in [("createdAt", &c.created_at), ("updatedAt", &c.updated_at)] {
        if t.as_ref().is_some_and(|t| t.utc() < PG_MIN_INSTANT) {
            return Some((field.to_owned(), "an instant before PostgreSQL's earliest (4714 BC)"));
        }
    }
    if too_big(c.total_turns) {
        return Some(("totalTurns".to_owned(), INTEGER));
    }
    if c.token_count.is_some_and(|n| n > i64::MAX as u64) {
        return Some(("tokenCount".to_owned(), "a number beyond PostgreSQL's bigint"));
    }
    let i = c.turns.iter().position(|t| t.token_count.is_some_and(too_big))?;
    Some((format!("turns[{i}].tokenCount"), INTEGER))
}

/// The JSON path of the first string or key holding a NUL character.
fn nul_path(value: &Value, path: &str) -> Option<String> {
    match value {
        Value::String(s) => s.contains('\0').then(|| path.to_owned()),
        Value::Array(items) => {
            items.iter().enumerate().find_map(|(i, v)| nul_path(v, &format!("{path}[{i}]")))
        }
        Value::Object(map) => map.iter().find_map(|(key, v)| {
            let inner = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
            if key.contains('\0') {
                Some(inner)
            } else {
                nul_path(v, &inner)
            }
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conversation(extra: Value) -> Conversation {
        let mut c = json!({"conversation_id": "c1", "title": "T", "status": "approved",
            "qualityScore": 8, "tier": "template", "createdAt": "2025-10-29",
            "updatedAt": "2025-10-29", "turns": [{"role": "user", "content": "Hi"}]});
        for (key, value) in extra.as_object().unwrap() {
            c[key] = value.clone();
        }
        serde_json::from_value(c).unwrap()
    }

    fn refusal(extra: Value) -> (String, String) {
        let skipped = storable(conversation(extra)).unwrap_err();
        (skipped.location.field.unwrap(), skipped.reason)
    }

    #[test]
    fn values_postgresql_cannot_store_are_refused_with_their_field() {
        assert!(storable(conversation(json!({}))).is_ok());
        let nul = json!([{"role": "user", "content": "a"}, {"role": "user", "content": "b\u{0}"}]);
        assert_eq!(refusal(json!({"turns": nul})).0, "turns[1].content");
        assert_eq!(refusal(json!({"parameters": {"k\u{0}": 1}})).0, "parameters.k\u{0}");
        assert_eq!(refusal(json!({"createdAt": "-5000-01-01"})).0, "createdAt");
        assert_eq!(refusal(json!({"totalTurns": 1u64 << 31})).0, "totalTurns");
        assert_eq!(refusal(json!({"tokenCount": u64::MAX})).0, "tokenCount");
        let big = json!([{"role": "user", "content": "a", "tokenCount": 1u64 << 40}]);
        assert_eq!(refusal(json!({"turns": big})).0, "turns[0].tokenCount");
    }
}
