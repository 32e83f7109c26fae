//! Conversations with their turns, streamed out of PostgreSQL in batches,
//! from the relations of [`SourceTables`] (the library's own tables, or the
//! app's).
//!
//! Each batch is exactly two queries, whatever its size: the next
//! `batch_size` conversations in `(created_at, id)` order (keyset
//! pagination, so a batch costs the same at any depth), then every turn of
//! those conversations at once:
//!
//! ```text
//! SELECT … FROM <conversations> c
//!  WHERE <filter> AND (c.created_at, c.id) > ($a, $b)
//!  ORDER BY c.created_at, c.id LIMIT $batch;
//! SELECT … FROM unnest($1::text[]) AS batch(key)
//!  CROSS JOIN LATERAL (SELECT … FROM <turns> t WHERE t.conversation_id = batch.key::<key type>
//!                      ORDER BY t.turn_number OFFSET 0) t;
//! ```
//!
//! The conversation key (`id`) is read as text and cast back to its own
//! type (`uuid`, `bigint`, `integer` or `text`: [`SourceTables::key_type`])
//! on the parameter's side only, so an app's `bigint` ids need no cast in
//! its views and each lookup may use the index on the turns' column.
//!
//! The turns are looked up conversation by conversation (a nested loop of
//! index scans, `OFFSET 0` keeps the planner from flattening it), so a
//! batch's cost grows with its own size only. `conversation_id = ANY($1)`
//! was planned as a sequential scan of every turn, and a join to
//! `unnest($1)` as a merge join over the whole index, once a batch's turns
//! were a percent or two of the table (benches/README.md).
//!
//! Only one batch is in memory at a time. Each turn row becomes the message
//! object the core reads (with its tool calls, tool call id, name,
//! reasoning, weight and content parts when the relation has them) and is
//! read by the core's message reader, and each conversation is checked as
//! every reader checks one (every tool call answered). A row that cannot
//! become a valid [`Conversation`] (no turns, a review history that is not
//! a list of review actions, tool call arguments that are not JSON, a
//! `jsonb` value nested deeper than the parser reads, …) comes out as an
//! `Err(SkippedRecord)` located at its record number in the export order and
//! the offending field, so the export lists it instead of dropping it.
//! Timestamps come out in RFC 3339, UTC, with `Z` (`2025-10-29T10:00:00.123Z`).

use lora_export_core::ErrorKind as CoreKind;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::schema::SourceTables;
use super::Statements;
use crate::Result;
use crate::SqlFilter;
use lora_export_core::model::{
    Conversation, ConversationTurn, ExportRequest, ReviewAction, Timestamp,
};
use lora_export_core::source::{tools_from_value, turn_from_value, Record};
use lora_export_core::{Location, SkippedRecord};

const COLUMNS: &str = "c.id::text AS id, c.conversation_id, c.title, c.category, c.status, \
    c.quality_score, c.persona, c.emotion, c.topic, c.tier, c.total_turns, c.token_count, \
    c.parent_id, c.parent_type, c.parameters, c.review_history, c.created_at, c.updated_at";

/// How many conversations of `tables` `request` selects: one `count(*)`
/// with the same [`SqlFilter`] the export streams with.
///
/// # Errors
///
/// [`CoreKind::InvalidRequest`] for an invalid request, [`ErrorKind::Database`]
/// when the query fails.
pub async fn count_selected<C: Statements>(
    client: &C,
    request: &ExportRequest,
    tables: &SourceTables,
) -> Result<u64> {
    let filter = SqlFilter::for_request(request, 1, tables)?;
    let sql = format!("SELECT count(*) FROM {} c WHERE {}", tables.conversations(), filter.clause);
    let count: i64 = client.query_one(&sql, &filter.param_refs()).await?.try_get(0)?;
    Ok(u64::try_from(count).unwrap_or_default())
}

/// The conversations a request selects, batch by batch, in deterministic
/// `(created_at, id)` order; see the [module docs](self).
///
/// The source holds no connection: each [`next_batch`](Self::next_batch)
/// runs on the client it is given (a pooled connection, or a transaction
/// running as the user so that RLS applies).
///
/// ```
/// use lora_export_core::model::{ExportConfig, ExportRequest, Format, Scope};
/// use lora_export_service::{ConversationSource, SourceTables};
///
/// let tables = SourceTables::library("lora_export").unwrap();
/// let request = ExportRequest::new(ExportConfig::new(Scope::All, Format::Jsonl));
/// let source = ConversationSource::new(&request, 500, &tables).unwrap();
/// assert_eq!(source.fetched(), 0);
/// assert!(ConversationSource::new(&request, 0, &tables).is_err());
/// ```
#[derive(Debug)]
pub struct ConversationSource {
    filter: SqlFilter,
    first_sql: String,
    next_sql: String,
    turns_sql: String,
    batch_size: i64,
    after: Option<(DateTime<Utc>, String)>,
    fetched: u64,
    exhausted: bool,
}

impl ConversationSource {
    /// A source of what `request` selects from `tables`, `batch_size`
    /// conversations per batch.
    ///
    /// # Errors
    ///
    /// [`CoreKind::InvalidRequest`] for an invalid request,
    /// [`CoreKind::Config`] when `batch_size` is 0.
    pub fn new(request: &ExportRequest, batch_size: u32, tables: &SourceTables) -> Result<Self> {
        if batch_size == 0 {
            return Err(CoreKind::Config("batch_size must be at least 1".into()).into());
        }
        let filter = SqlFilter::for_request(request, 1, tables)?;
        let (where_, n) = (&filter.clause, filter.params.len());
        let from = tables.conversations();
        let columns = format!("{COLUMNS}{}", tables.conversation_extras());
        let first_sql = format!(
            "SELECT {columns} FROM {from} c WHERE {where_} \
             ORDER BY c.created_at, c.id LIMIT ${}",
            n + 1
        );
        let next_sql = format!(
            "SELECT {columns} FROM {from} c WHERE {where_} \
             AND (c.created_at, c.id) > (${}, ${}::text::{}) ORDER BY c.created_at, c.id LIMIT ${}",
            n + 1,
            n + 2,
            tables.key_type(),
            n + 3
        );
        Ok(ConversationSource {
            filter,
            first_sql,
            next_sql,
            turns_sql: tables.turns_lookup(),
            batch_size: i64::from(batch_size),
            after: None,
            fetched: 0,
            exhausted: false,
        })
    }

    /// Next batch in deterministic (created_at, id) order, converted to
    /// records; None when exhausted. The same as
    /// [`fetch_batch`](Self::fetch_batch) then
    /// [`FetchedBatch::into_records`].
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Database`] when a query fails.
    pub async fn next_batch<C: Statements>(&mut self, client: &C) -> Result<Option<Vec<Record>>> {
        self.fetch_batch(client).await?.map(FetchedBatch::into_records).transpose()
    }

    /// Next batch's rows in deterministic (created_at, id) order, as read:
    /// the two queries and nothing more, so that the caller can convert
    /// them ([`FetchedBatch::into_records`]) elsewhere while the next batch
    /// is read. None when exhausted.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Database`] when a query fails.
    pub async fn fetch_batch<C: Statements>(&mut self, client: &C) -> Result<Option<FetchedBatch>> {
        if self.exhausted {
            return Ok(None);
        }
        let mut params = self.filter.param_refs();
        let rows = match &self.after {
            None => {
                params.push(&self.batch_size);
                client.query(&self.first_sql, &params).await?
            }
            Some((created_at, id)) => {
                params.extend([created_at as &(dyn ToSql + Sync), id, &self.batch_size]);
                client.query(&self.next_sql, &params).await?
            }
        };
        self.exhausted = (rows.len() as i64) < self.batch_size;
        let Some(last) = rows.last() else {
            return Ok(None);
        };
        self.after = Some((last.try_get("created_at")?, last.try_get("id")?));
        let ids: Vec<String> =
            rows.iter().map(|r| r.try_get("id")).collect::<std::result::Result<_, _>>()?;
        let turns = client.query(&self.turns_sql, &[&ids]).await?;
        let first = self.fetched + 1;
        self.fetched += rows.len() as u64;
        Ok(Some(FetchedBatch { rows, ids, turns, first }))
    }

    /// Conversation rows read so far.
    pub fn fetched(&self) -> u64 {
        self.fetched
    }
}

/// One batch of conversation rows and all their turns, as read from the
/// database, not yet converted into records.
#[derive(Debug)]
pub struct FetchedBatch {
    rows: Vec<Row>,
    ids: Vec<String>,
    turns: Vec<Row>,
    /// The 1-based export position of the first row.
    first: u64,
}

impl FetchedBatch {
    /// Conversations in the batch.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the batch has no conversation (never, for a batch
    /// [`ConversationSource::fetch_batch`] returns).
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The batch's records, in export order: a conversation with its turns
    /// in `turn_number` order, or the skipped record a row that is not a
    /// valid conversation becomes (see the [module docs](self)).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Database`] when a column does not have the type the
    /// relation is documented with ([`SourceTables`]).
    pub fn into_records(self) -> Result<Vec<Record>> {
        let mut turns: HashMap<String, Vec<(i32, Row)>> = HashMap::with_capacity(self.ids.len());
        for turn in self.turns {
            let number: i32 = turn.try_get("turn_number")?;
            turns.entry(turn.try_get("conversation_id")?).or_default().push((number, turn));
        }
        let mut batch = Vec::with_capacity(self.rows.len());
        for ((row, id), number) in self.rows.iter().zip(&self.ids).zip(self.first..) {
            let mut turns = turns.remove(id).unwrap_or_default();
            // Already in order as the lookups return them; SQL promises no
            // order across the lateral join, so this makes sure (a linear
            // pass when sorted).
            turns.sort_by_key(|(number, _)| *number);
            batch.push(record(row, &turns, number)?);
        }
        Ok(batch)
    }
}

/// Why a row is not a valid conversation: a field and a reason (the row is
/// skipped), or a database error (the export fails).
enum Problem {
    Data { field: String, reason: String },
    Database(tokio_postgres::Error),
}

impl From<tokio_postgres::Error> for Problem {
    fn from(e: tokio_postgres::Error) -> Self {
        Problem::Database(e)
    }
}

/// A conversion that may find a [`Problem`].
type Converted<T> = std::result::Result<T, Problem>;

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Problem {
    Problem::Data { field: field.into(), reason: reason.into() }
}

/// The row at 1-based position `number` of the export, with its turns.
fn record(row: &Row, turns: &[(i32, Row)], number: u64) -> Result<Record> {
    match conversation(row, turns) {
        Ok(c) => Ok(Ok(c)),
        Err(Problem::Database(e)) => Err(e.into()),
        Err(Problem::Data { field, reason }) => Ok(Err(SkippedRecord {
            location: Location::record(number).with_field(field),
            conversation_id: row.try_get("conversation_id").ok(),
            reason,
        })),
    }
}

fn conversation(row: &Row, turns: &[(i32, Row)]) -> Converted<Conversation> {
    let conversation_id: String = row.try_get("conversation_id")?;
    if conversation_id.trim().is_empty() {
        return Err(invalid("conversation_id", "conversation_id is empty"));
    }
    if turns.is_empty() {
        return Err(invalid("turns", "conversation has no turns"));
    }
    let turns = turns.iter().enumerate().map(|(i, (_, t))| turn(t, i)).collect::<Converted<_>>()?;
    let parameters: Option<Map<String, Value>> = json("parameters", jsonb(row, "parameters")?)?;
    let history: Option<Vec<ReviewAction>> = json("review_history", jsonb(row, "review_history")?)?;
    let tools = match jsonb(row, "tools")? {
        Value::Null => Vec::new(),
        tools => tools_from_value(&tools).map_err(skipped_field)?,
    };
    let mut conversation = Conversation {
        id: row.try_get("id")?,
        conversation_id,
        title: Some(row.try_get("title")?),
        category: row.try_get("category")?,
        status: Some(json("status", Value::String(row.try_get("status")?))?),
        quality_score: Some(row.try_get("quality_score")?),
        persona: row.try_get("persona")?,
        emotion: row.try_get("emotion")?,
        topic: row.try_get("topic")?,
        tier: Some(json("tier", Value::String(row.try_get("tier")?))?),
        total_turns: unsigned("total_turns", row.try_get::<_, i32>("total_turns")?)?,
        token_count: Some(unsigned("token_count", row.try_get::<_, i64>("token_count")?)?),
        parent_id: row.try_get("parent_id")?,
        parent_type: json("parent_type", row.try_get::<_, Option<String>>("parent_type")?.into())?,
        parameters: parameters.unwrap_or_default(),
        review_history: history.unwrap_or_default(),
        created_at: Some(Timestamp::from(row.try_get::<_, DateTime<Utc>>("created_at")?)),
        updated_at: Some(Timestamp::from(row.try_get::<_, DateTime<Utc>>("updated_at")?)),
        turns,
        tools,
        preference: None,
        preference_input: Default::default(),
        user_fields: Map::new(),
    };
    // What only the whole conversation shows (every tool call answered, every
    // tool turn answering one), as every reader checks it.
    conversation.resolve_messages().map_err(|reason| invalid("turns", reason))?;
    Ok(conversation)
}

/// A turn row as the message object the core reads (`role`, `content` —
/// its `parts` when not null —, `tool_calls`, `tool_call_id`, `name`,
/// `reasoning`, `weight`, `token_count`, each when not null), read by the
/// core's message reader: its checks and bounds, its field paths.
fn turn(row: &Row, index: usize) -> Converted<ConversationTurn> {
    let token_count = match row.try_get::<_, Option<i32>>("token_count")? {
        Some(n) => Some(unsigned(format!("turns[{index}].token_count"), n)?),
        None => None,
    };
    let mut message = Map::new();
    message.insert("role".into(), Value::String(row.try_get("role")?));
    let content = match jsonb(row, "parts").map_err(|p| at_turn(p, index))? {
        Value::Null => {
            row.try_get::<_, Option<String>>("content")?.map_or(Value::Null, Value::from)
        }
        parts => parts,
    };
    message.insert("content".into(), content);
    let tool_calls = jsonb(row, "tool_calls").map_err(|p| at_turn(p, index))?;
    if !tool_calls.is_null() {
        message.insert("tool_calls".into(), tool_calls);
    }
    for column in ["tool_call_id", "name", "reasoning"] {
        if let Some(text) = row.try_get::<_, Option<String>>(column)? {
            message.insert(column.into(), Value::String(text));
        }
    }
    if let Some(weight) = row.try_get::<_, Option<i16>>("weight")? {
        message.insert("weight".into(), Value::from(weight));
    }
    let turn = turn_from_value(Value::Object(message), index).map_err(skipped_field)?;
    Ok(ConversationTurn { token_count, ..turn })
}

/// A `jsonb` column's value (null when SQL NULL). A value the JSON parser
/// refuses (nested deeper than it reads) is the row's problem, named by
/// its column, not the export's.
fn jsonb(row: &Row, column: &str) -> Converted<Value> {
    match row.try_get::<_, Option<Value>>(column) {
        Ok(value) => Ok(value.unwrap_or_default()),
        // A conversion's error has the parser's as its source; a missing
        // column has none.
        Err(e) => match std::error::Error::source(&e) {
            Some(parser) => Err(invalid(column, format!("not a valid {column}: {parser}"))),
            None => Err(Problem::Database(e)),
        },
    }
}

/// A problem of turn `index`'s column, located in the turn.
fn at_turn(problem: Problem, index: usize) -> Problem {
    match problem {
        Problem::Data { field, reason } => invalid(format!("turns[{index}].{field}"), reason),
        database => database,
    }
}

/// The field and reason of a record the core refused.
fn skipped_field(skipped: SkippedRecord) -> Problem {
    invalid(skipped.location.field.unwrap_or_default(), skipped.reason)
}

/// `value` read as the model's `T` (an enum name, the JSONB columns).
fn json<T: DeserializeOwned>(field: impl Into<String>, value: Value) -> Converted<T> {
    let field = field.into();
    serde_json::from_value(value).map_err(|e| invalid(&field, format!("not a valid {field}: {e}")))
}

fn unsigned<N: Into<i64>>(field: impl Into<String>, n: N) -> Converted<u64> {
    let n = n.into();
    u64::try_from(n).map_err(|_| invalid(field, format!("{n} is negative")))
}
