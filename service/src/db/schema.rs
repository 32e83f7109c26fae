//! Where things live: the library's own schema (`lora_export` by default)
//! and the relations the conversations are read from.
//!
//! The library creates its tables, functions and policies in its own schema
//! and nothing elsewhere (stand-ins for Supabase's roles and `auth` objects
//! aside, created only when asked: [`MigrateOptions`](crate::MigrateOptions)).
//! Its connections run with `search_path` set to that schema,
//! so its SQL names its objects unqualified. The conversations an export
//! reads come from the library's `conversations` and `conversation_turns`
//! (what the importer fills), or from the app's own table or view named in
//! [`ServiceConfig`](crate::ServiceConfig): see [`SourceTables`].

use lora_export_core::ErrorKind as CoreKind;
use std::fmt;

use super::{DbClient, Statements};
use crate::Result;

/// The placeholder for the schema in the migrations' SQL.
const SCHEMA_PLACEHOLDER: &str = "@schema@";

/// Schemas the library refuses to own: the app's (`public`), Supabase's,
/// and PostgreSQL's.
const RESERVED_SCHEMAS: &[&str] = &[
    "public",
    "auth",
    "storage",
    "extensions",
    "graphql",
    "graphql_public",
    "realtime",
    "supabase_functions",
    "vault",
    "information_schema",
];

/// Checks a schema name for the library's own objects: a lowercase SQL
/// identifier (`[a-z_][a-z0-9_]*`, at most 63 bytes) that is not the app's,
/// Supabase's or PostgreSQL's.
///
/// ```
/// use lora_export_service::schema::check_schema_name;
/// assert!(check_schema_name("lora_export").is_ok());
/// assert!(check_schema_name("public").is_err());
/// assert!(check_schema_name("x; DROP TABLE users").is_err());
/// ```
///
/// # Errors
///
/// [`CoreKind::Config`] naming the rule broken.
pub fn check_schema_name(name: &str) -> Result<()> {
    check_identifier("schema", name)?;
    if RESERVED_SCHEMAS.contains(&name) || name.starts_with("pg_") {
        return Err(config(format!(
            "schema `{name}` belongs to the app, Supabase or PostgreSQL: choose a schema of the library's own (default lora_export)"
        )));
    }
    Ok(())
}

/// A migration's SQL for `schema`: each `@schema@` becomes the quoted
/// schema name (`"lora_export"`). `schema` must pass [`check_schema_name`].
///
/// ```
/// use lora_export_service::schema::render_migration;
/// assert_eq!(
///     render_migration("SET search_path = @schema@, pg_temp", "lora_export"),
///     "SET search_path = \"lora_export\", pg_temp"
/// );
/// ```
pub fn render_migration(sql: &str, schema: &str) -> String {
    sql.replace(SCHEMA_PLACEHOLDER, &quoted(schema))
}

/// The relations an export reads: one row per conversation and one per turn.
///
/// By default the library's own `conversations` and `conversation_turns`
/// (in its schema, filled by the importer). An app that keeps its
/// conversations in tables of its own shape names a table or view of each
/// kind instead (`conversations_table`, `turns_table` in
/// [`ServiceConfig`](crate::ServiceConfig)) — usually two views that
/// map its columns onto these, `WITH (security_invoker = true)` so that
/// the app's own row-level security still applies. Exports read them as the
/// requesting user (role `authenticated`), so that role needs `SELECT` on
/// them; the library grants nothing on the app's relations.
///
/// The conversations relation has these columns (extra ones are ignored):
///
/// | column | type | model field |
/// |---|---|---|
/// | `id` | `uuid`, `bigint`, `integer` or `text` | `id` (the key the turns refer to; its text) |
/// | `conversation_id` | `text` | `conversation_id` |
/// | `title` | `text` | `title` |
/// | `category` | `text[]` | `category` |
/// | `status` | `text` | `status` (`approved`, `pending_review`, …) |
/// | `quality_score` | `double precision` | `quality_score` (0 to 10) |
/// | `persona`, `emotion`, `topic` | `text` (nullable) | the same |
/// | `tier` | `text` | `tier` (`template`, `scenario`, `edge_case`) |
/// | `total_turns` | `integer` | `total_turns` |
/// | `token_count` | `bigint` | `token_count` |
/// | `parent_id`, `parent_type` | `text` (nullable) | the same |
/// | `parameters` | `jsonb` | `parameters` (an object) |
/// | `review_history` | `jsonb` | `review_history` (a list of review actions) |
/// | `created_at`, `updated_at` | `timestamptz` | the same; `(created_at, id)` is the export order |
/// | `tools` (optional) | `jsonb` (nullable) | `tools` (a list of function definitions) |
///
/// The turns relation: `conversation_id` (a conversations `id`, of its type),
/// `turn_number integer` (the order), `role text` (`system`, `developer`,
/// `user`, `assistant`, `tool`), `content text` (nullable: null only on an
/// assistant turn that calls tools), `token_count integer` (nullable), and
/// the message fields of the model, each optional (a relation without the
/// column reads as "not given") and nullable:
///
/// | column | type | model field |
/// |---|---|---|
/// | `tool_calls` | `jsonb` | `tool_calls` (a list of `{id, type, function: {name, arguments}}`; arguments an object or a JSON string) |
/// | `tool_call_id` | `text` | `tool_call_id` (the call a `tool` turn answers) |
/// | `name` | `text` | `name` |
/// | `reasoning` | `text` | `reasoning` |
/// | `weight` | `smallint` | `weight` (0 or 1, assistant turns only: 0 is not trained on) |
/// | `parts` | `jsonb` | the content as a list of parts; when not null, `content` is not read |
///
/// Each stored turn is read by the core's message reader
/// ([`turn_from_value`](lora_export_core::source::turn_from_value)) and
/// each conversation checked as every reader checks one (every tool call
/// answered): a row it refuses is a skipped record naming its field.
/// [`check`](Self::check) compares a database's relations with these
/// tables before an export reads them, finds the key's type and which
/// optional columns there are.
///
/// The ids are read as they are, so map an app's `bigint` ids without a
/// cast: a cast of the key in a view keeps every batch's turn lookup
/// from using an index (the check says so when it cannot).
///
/// ```
/// use lora_export_service::SourceTables;
/// let library = SourceTables::library("lora_export").unwrap();
/// assert_eq!(library.conversations(), "\"lora_export\".\"conversations\"");
/// let app = SourceTables::app("public.training_conversations", "public.training_turns").unwrap();
/// assert_eq!(app.turns(), "\"public\".\"training_turns\"");
/// assert!(SourceTables::app("conversations", "public.turns").is_err(), "names are qualified");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceTables {
    conversations: Relation,
    turns: Relation,
    /// The SQL type of the conversation key (`id`, and the turns'
    /// `conversation_id`): one of [`KEY_TYPES`].
    key: &'static str,
    /// The [`OPTIONAL_CONVERSATION_COLUMNS`] the conversations relation has.
    conversation_extras: Vec<&'static str>,
    /// The [`OPTIONAL_TURN_COLUMNS`] the turns relation has.
    turn_extras: Vec<&'static str>,
}

/// The types a conversation key may have: the library's `uuid`, or an
/// app's `bigint`, `integer` or `text` ids as they are.
pub const KEY_TYPES: &[&str] = &["uuid", "bigint", "integer", "text"];

/// Stands for the conversation key's type in the column lists: one of
/// [`KEY_TYPES`], the same in both relations.
const KEY: &str = "uuid, bigint, integer or text";

/// The columns of a conversations relation, with their types as
/// `format_type` writes them.
const CONVERSATION_COLUMNS: &[(&str, &str)] = &[
    ("id", KEY),
    ("conversation_id", "text"),
    ("title", "text"),
    ("category", "text[]"),
    ("status", "text"),
    ("quality_score", "double precision"),
    ("persona", "text"),
    ("emotion", "text"),
    ("topic", "text"),
    ("tier", "text"),
    ("total_turns", "integer"),
    ("token_count", "bigint"),
    ("parent_id", "text"),
    ("parent_type", "text"),
    ("parameters", "jsonb"),
    ("review_history", "jsonb"),
    ("created_at", "timestamp with time zone"),
    ("updated_at", "timestamp with time zone"),
];

/// The columns of a turns relation.
const TURN_COLUMNS: &[(&str, &str)] = &[
    ("conversation_id", KEY),
    ("turn_number", "integer"),
    ("role", "text"),
    ("content", "text"),
    ("token_count", "integer"),
];

/// The columns a conversations relation may have, read when it has them
/// (the library's own tables have them since migration 21).
pub const OPTIONAL_CONVERSATION_COLUMNS: &[(&str, &str)] = &[("tools", "jsonb")];

/// The columns a turns relation may have, read when it has them.
pub const OPTIONAL_TURN_COLUMNS: &[(&str, &str)] = &[
    ("tool_calls", "jsonb"),
    ("tool_call_id", "text"),
    ("name", "text"),
    ("reasoning", "text"),
    ("weight", "smallint"),
    ("parts", "jsonb"),
];

/// `columns` of the relation aliased `alias`, each as `alias.column` when `present`
/// has it, else as a typed null under its name, so that every row has them.
fn optional_columns(alias: &str, columns: &[(&str, &str)], present: &[&str]) -> String {
    columns
        .iter()
        .map(|(column, ty)| {
            if present.contains(column) {
                format!(", {alias}.{column}")
            } else {
                format!(", NULL::{ty} AS {column}")
            }
        })
        .collect()
}

/// The names of `columns`.
fn names_of(columns: &[(&'static str, &str)]) -> Vec<&'static str> {
    columns.iter().map(|(column, _)| *column).collect()
}

impl SourceTables {
    /// The library's own `conversations` and `conversation_turns` in `schema`.
    ///
    /// # Errors
    ///
    /// [`CoreKind::Config`] when `schema` fails [`check_schema_name`].
    pub fn library(schema: &str) -> Result<Self> {
        check_schema_name(schema)?;
        Ok(SourceTables {
            conversations: Relation { schema: schema.into(), name: "conversations".into() },
            turns: Relation { schema: schema.into(), name: "conversation_turns".into() },
            key: "uuid",
            conversation_extras: names_of(OPTIONAL_CONVERSATION_COLUMNS),
            turn_extras: names_of(OPTIONAL_TURN_COLUMNS),
        })
    }

    /// The app's own relations, each `schema.name` (lowercase identifiers).
    ///
    /// # Errors
    ///
    /// [`CoreKind::Config`] for a name that is not `schema.name`.
    pub fn app(conversations: &str, turns: &str) -> Result<Self> {
        Ok(SourceTables {
            conversations: Relation::parse("conversations_table", conversations)?,
            turns: Relation::parse("turns_table", turns)?,
            key: "uuid",
            conversation_extras: Vec::new(),
            turn_extras: Vec::new(),
        })
    }

    /// The conversations relation, quoted for SQL (`"public"."chats"`).
    pub fn conversations(&self) -> String {
        self.conversations.to_string()
    }

    /// The turns relation, quoted for SQL.
    pub fn turns(&self) -> String {
        self.turns.to_string()
    }

    /// Both relations, as a job records the ones its export was requested
    /// from (`"public"."chats", "public"."chat_messages"`).
    pub fn names(&self) -> String {
        format!("{}, {}", self.conversations, self.turns)
    }

    /// The SQL type of the conversation key: `uuid` until
    /// [`check`](Self::check) found another of [`KEY_TYPES`].
    pub fn key_type(&self) -> &str {
        self.key
    }

    /// The optional columns of the conversations relation (alias `c`) for
    /// a select list, each after a comma: the column, or a typed null
    /// under its name when the relation has none
    /// ([`OPTIONAL_CONVERSATION_COLUMNS`]; all of them until
    /// [`check`](Self::check) looked, for the library's own tables; none,
    /// for the app's).
    pub(crate) fn conversation_extras(&self) -> String {
        optional_columns("c", OPTIONAL_CONVERSATION_COLUMNS, &self.conversation_extras)
    }

    /// The turns of a batch: `$1` is the batch's keys as text, in order.
    /// Each key is cast to the key's type, never the column, so that the
    /// lookup of each conversation's turns may use an index. Every row has
    /// the [`OPTIONAL_TURN_COLUMNS`], null where the relation has none.
    pub(crate) fn turns_lookup(&self) -> String {
        let extras = optional_columns("t", OPTIONAL_TURN_COLUMNS, &self.turn_extras);
        let outer: String = OPTIONAL_TURN_COLUMNS.iter().map(|(c, _)| format!(", t.{c}")).collect();
        format!(
            "SELECT batch.key AS conversation_id, t.turn_number, t.role, t.content, t.token_count{outer} \
             FROM unnest($1::text[]) AS batch(key) CROSS JOIN LATERAL \
             (SELECT t.turn_number, t.role, t.content, t.token_count{extras} FROM {} t \
              WHERE t.conversation_id = batch.key::{} ORDER BY t.turn_number OFFSET 0) t",
            self.turns, self.key
        )
    }

    /// Checks that both relations exist with the columns of the
    /// [tables above](Self) (an optional one, when there, of its type), that `authenticated` may read them, and that
    /// row-level security sees the user in everything they read through: a
    /// view (and every view under it) must run with the invoker's rights
    /// (`security_invoker = true`; without it a view runs as its owner and
    /// exports every user's rows), and every table under them must have
    /// row-level security enabled. Three catalog queries per relation;
    /// then, as `authenticated`, an `EXPLAIN` of a batch's turn lookup
    /// (sequential scans disabled, so that any usable index is taken):
    /// a sequential or full index scan in it of a table over 64 KiB means
    /// every batch reads that table once per conversation, and it is named
    /// with the column to index. Returns the relations with their key's type.
    ///
    /// # Errors
    ///
    /// An internal `SOURCE_MISCONFIGURED` error whose detail (for the log,
    /// never shown to users) names each relation and every missing or
    /// mistyped column, with the type to cast it to, and every view or table
    /// that row-level security would not apply to, with the statement that
    /// fixes it, and every table the turn lookup scans whole;
    /// [`ErrorKind::Database`] when a query fails.
    pub async fn check(&self, client: &mut DbClient) -> Result<SourceTables> {
        let mut problems = Vec::new();
        let mut keys = Vec::new();
        let mut checked = self.clone();
        for (relation, expected, optional, extras) in [
            (
                &self.conversations,
                CONVERSATION_COLUMNS,
                OPTIONAL_CONVERSATION_COLUMNS,
                &mut checked.conversation_extras,
            ),
            (&self.turns, TURN_COLUMNS, OPTIONAL_TURN_COLUMNS, &mut checked.turn_extras),
        ] {
            let name = relation.to_string();
            let readable: Option<bool> = client
                .query_one(
                    "SELECT CASE WHEN to_regclass($1) IS NOT NULL
                       THEN has_table_privilege('authenticated', to_regclass($1), 'SELECT') END",
                    &[&name],
                )
                .await?
                .get(0);
            match readable {
                None => {
                    problems.push(format!("{relation} does not exist"));
                    continue;
                }
                Some(false) => problems.push(format!(
                    "{relation} is not readable by authenticated (exports read as the user: GRANT SELECT ON {relation} TO authenticated)"
                )),
                Some(true) => {}
            }
            let found = client
                .query(
                    "SELECT a.attname::text, format_type(a.atttypid, NULL)
                     FROM pg_attribute a
                     WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped",
                    &[&name],
                )
                .await?;
            for (column, ty) in expected {
                let row = found.iter().find(|r| r.get::<_, String>(0) == *column);
                if *ty == KEY {
                    match row.map(|r| r.get::<_, String>(1)) {
                        None => problems.push(format!("{relation} has no column {column} ({ty})")),
                        Some(found) => match KEY_TYPES.iter().find(|k| **k == found) {
                            Some(key) => keys.push((format!("{relation}.{column}"), *key)),
                            None => problems
                                .push(format!("{relation}.{column} is {found}, expected {ty}")),
                        },
                    }
                    continue;
                }
                match row {
                    None => problems.push(format!("{relation} has no column {column} ({ty})")),
                    Some(row) if row.get::<_, String>(1) != *ty => problems.push(format!(
                        "{relation}.{column} is {}, expected {ty} (cast it in the view)",
                        row.get::<_, String>(1)
                    )),
                    Some(_) => {}
                }
            }
            extras.clear();
            for (column, ty) in optional {
                match found.iter().find(|r| r.get::<_, String>(0) == *column) {
                    None => {}
                    Some(row) if row.get::<_, String>(1) != *ty => problems.push(format!(
                        "{relation}.{column} is {}, expected {ty} (cast it in the view, or leave the optional column out)",
                        row.get::<_, String>(1)
                    )),
                    Some(_) => extras.push(*column),
                }
            }
            problems.extend(row_security_problems(&*client, relation).await?);
        }
        match keys.as_slice() {
            [(_, a), (_, b)] if a == b => checked.key = a,
            [(id, a), (turns, b)] => {
                problems.push(format!("{id} is {a} and {turns} is {b}: they must be of one type"))
            }
            _ => {}
        }
        if problems.is_empty() {
            problems.extend(checked.unindexed_lookup(client).await?);
        }
        if problems.is_empty() {
            Ok(checked)
        } else {
            Err(crate::Error::internal(
                "SOURCE_MISCONFIGURED",
                format!(
                    "the conversation source is not as documented (lora_export_service::SourceTables): {}",
                    problems.join("; ")
                ),
            ))
        }
    }
}

/// A table the turn lookup may read whole for each conversation at no
/// real cost (a lookup table of a policy): 64 KiB, eight pages.
const SMALL_TABLE_BYTES: i64 = 64 * 1024;

impl SourceTables {
    /// The tables a batch's turn lookup, planned as `authenticated` with
    /// sequential scans disabled, still reads whole (a sequential scan, or
    /// an index scan without an index condition), each with what it filters
    /// on and the index that would serve it; tables of at most
    /// [`SMALL_TABLE_BYTES`] are left out.
    async fn unindexed_lookup(&self, client: &mut DbClient) -> Result<Vec<String>> {
        let tx = client.transaction().await?;
        tx.batch_execute("SET LOCAL ROLE authenticated; SET LOCAL enable_seqscan = off").await?;
        let sql = self.turns_lookup().replace("$1::text[]", "ARRAY[NULL]::text[]");
        let plan: serde_json::Value =
            tx.query_one(&format!("EXPLAIN (VERBOSE, FORMAT JSON) {sql}"), &[]).await?.get(0);
        tx.rollback().await?;
        let mut scans = Vec::new();
        whole_scans(&plan, &mut scans);
        let mut large = Vec::with_capacity(scans.len());
        for ((schema, name), filter) in scans {
            let bytes: Option<i64> = client
                .query_one(
                    "SELECT pg_relation_size(c.oid) FROM pg_class c
                     JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE n.nspname = $1 AND c.relname = $2",
                    &[&schema, &name],
                )
                .await?
                .get(0);
            if bytes.unwrap_or_default() > SMALL_TABLE_BYTES {
                large.push((format!("{}.{}", sql_name(&schema), sql_name(&name)), filter));
            }
        }
        Ok(large
            .into_iter()
            .map(|(table, filter)| {
                let column = filter.as_deref().and_then(compared_column);
                let index = match &column {
                    Some(column) => format!("CREATE INDEX ON {table} ({column})"),
                    None => format!("CREATE INDEX ON {table} (<the column filtered on>)"),
                };
                format!(
                    "the turn lookup of each batch reads all of {table} once per conversation (a sequential scan{}), so large exports time out: {index}",
                    filter.map(|f| format!(" filtering {f}")).unwrap_or_default()
                )
            })
            .collect())
    }
}

/// A table's `(schema, name)` as a plan names it.
type PlannedTable = (String, String);

/// The tables `plan` (`EXPLAIN (VERBOSE, FORMAT JSON)`) reads whole:
/// sequential scans, and index scans without an index condition, with
/// their filter.
fn whole_scans(plan: &serde_json::Value, found: &mut Vec<(PlannedTable, Option<String>)>) {
    match plan {
        serde_json::Value::Array(items) => items.iter().for_each(|p| whole_scans(p, found)),
        serde_json::Value::Object(node) => {
            let kind = node.get("Node Type").and_then(|t| t.as_str()).unwrap_or_default();
            let whole = kind == "Seq Scan"
                || (matches!(kind, "Index Scan" | "Index Only Scan")
                    && !node.contains_key("Index Cond"));
            if let (true, Some(table)) = (whole, node.get("Relation Name").and_then(|r| r.as_str()))
            {
                let schema = node.get("Schema").and_then(|s| s.as_str()).unwrap_or_default();
                let filter = node.get("Filter").and_then(|f| f.as_str()).map(str::to_owned);
                let name = (schema.to_owned(), table.to_owned());
                if !found.iter().any(|(n, _)| *n == name) {
                    found.push((name, filter));
                }
            }
            node.values().for_each(|v| whole_scans(v, found));
        }
        _ => {}
    }
}

/// `name` as SQL writes it: bare when it is a lowercase identifier, else
/// double-quoted.
fn sql_name(name: &str) -> String {
    if check_identifier("name", name).is_ok() {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// The column a scan's filter compares with a lookup key or another
/// column (`(chat_id = (batch.key)::bigint)` → `chat_id`, `(c.id = m.chat_id)`
/// → `id`): the first name compared with `=`.
fn compared_column(filter: &str) -> Option<String> {
    let (left, _) = filter.split_once(" = ")?;
    let name = left.rsplit(['(', ' ']).next()?;
    let name = name.rsplit('.').next()?;
    let ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    ok.then(|| name.to_owned())
}

/// Every relation an export reads through `relation`, followed through
/// views to the tables under them: `(name, kind, row security enabled,
/// security_invoker, the view it is read through)`.
const READ_THROUGH: &str = "
WITH RECURSIVE reached(oid, via, depth) AS (
  SELECT to_regclass($1)::oid, NULL::oid, 0
  UNION
  SELECT d.refobjid, r.oid, r.depth + 1
  FROM reached r
  JOIN pg_class v ON v.oid = r.oid AND v.relkind = 'v'
  JOIN pg_rewrite w ON w.ev_class = v.oid
  JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = w.oid
   AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> v.oid
  WHERE r.depth < 32
)
SELECT DISTINCT ON (c.oid) c.oid::regclass::text, c.relkind::text, c.relrowsecurity,
  COALESCE((SELECT o.option_value::boolean FROM pg_options_to_table(c.reloptions) o
            WHERE o.option_name = 'security_invoker'), false),
  r.via::regclass::text
FROM reached r JOIN pg_class c ON c.oid = r.oid
ORDER BY c.oid, r.depth";

/// Where row-level security would not see the user in what an export
/// reads through `relation`: a view that runs with its owner's rights (no
/// `security_invoker`), at any depth, a table whose row-level security is
/// disabled, or a relation that has none (a materialized or foreign table).
/// Each problem names its fix.
async fn row_security_problems<C: Statements>(
    client: &C,
    relation: &Relation,
) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    for row in client.query(READ_THROUGH, &[&relation.to_string()]).await? {
        let (name, kind): (String, String) = (row.get(0), row.get(1));
        let (row_security, invoker): (bool, bool) = (row.get(2), row.get(3));
        let via = row
            .get::<_, Option<String>>(4)
            .map(|view| format!(" (read through {view})"))
            .unwrap_or_default();
        match kind.as_str() {
            "v" if !invoker => problems.push(format!(
                "{name}{via} is a view that runs with its owner's rights, so row-level security does not see the user and every user reads the owner's rows: ALTER VIEW {name} SET (security_invoker = true)"
            )),
            "r" | "p" if !row_security => problems.push(format!(
                "{name}{via} has row-level security disabled, so every user reads every row: ALTER TABLE {name} ENABLE ROW LEVEL SECURITY, with a SELECT policy for authenticated"
            )),
            "m" | "f" => problems.push(format!(
                "{name}{via} is a materialized view or a foreign table, which has no row-level security: read its rows through a table with row-level security"
            )),
            _ => {}
        }
    }
    Ok(problems)
}

/// A schema-qualified relation name.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Relation {
    schema: String,
    name: String,
}

impl Relation {
    fn parse(what: &str, text: &str) -> Result<Self> {
        let Some((schema, name)) = text.split_once('.') else {
            return Err(config(format!(
                "{what} must be schema-qualified (`public.{text}`), got `{text}`"
            )));
        };
        check_identifier(what, schema)?;
        check_identifier(what, name)?;
        Ok(Relation { schema: schema.into(), name: name.into() })
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", quoted(&self.schema), quoted(&self.name))
    }
}

/// `name` checked as a lowercase SQL identifier.
fn check_identifier(what: &str, name: &str) -> Result<()> {
    let mut chars = name.chars();
    let starts_well = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if starts_well && rest_ok && name.len() <= 63 {
        Ok(())
    } else {
        Err(config(format!(
            "{what}: `{name}` is not a lowercase SQL identifier ([a-z_][a-z0-9_]*, at most 63 bytes)"
        )))
    }
}

/// A checked identifier in double quotes.
fn quoted(identifier: &str) -> String {
    format!("\"{identifier}\"")
}

fn config(message: String) -> crate::Error {
    CoreKind::Config(message).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_lowercase_sql_names() {
        for bad in ["", "1abc", "Abc", "a-b", "a\"b", "a b", &"x".repeat(64)] {
            assert!(check_identifier("schema", bad).is_err(), "{bad:?}");
        }
        for good in ["a", "_a1", "lora_export", &"x".repeat(63)] {
            assert!(check_identifier("schema", good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn the_library_refuses_schemas_it_does_not_own() {
        for reserved in ["public", "auth", "storage", "pg_catalog", "information_schema"] {
            let err = check_schema_name(reserved).unwrap_err();
            assert!(err.to_string().contains(reserved), "{err}");
        }
    }

    #[test]
    fn a_whole_scan_is_named_with_the_column_it_filters_on() {
        let plan = serde_json::json!([{ "Plan": { "Node Type": "Nested Loop", "Plans": [
            { "Node Type": "Function Scan" },
            { "Node Type": "Seq Scan", "Schema": "public", "Relation Name": "chat_messages",
              "Filter": "((chat_id = (batch.key)::bigint) AND (SubPlan 3))" },
            { "Node Type": "Index Scan", "Schema": "public", "Relation Name": "chats",
              "Index Cond": "(id = m.chat_id)" },
            { "Node Type": "Index Scan", "Schema": "public", "Relation Name": "turns",
              "Filter": "(t.conversation_id = (batch.key)::uuid)" }]}}]);
        let mut found = Vec::new();
        whole_scans(&plan, &mut found);
        let names: Vec<_> = found
            .iter()
            .map(|((schema, table), f)| {
                (format!("{schema}.{table}"), f.as_deref().and_then(compared_column))
            })
            .collect();
        assert_eq!(
            names,
            [
                ("public.chat_messages".to_owned(), Some("chat_id".to_owned())),
                ("public.turns".to_owned(), Some("conversation_id".to_owned()))
            ]
        );
        assert_eq!(compared_column("(owner IS NULL)"), None);
    }

    #[test]
    fn app_relations_are_qualified_identifiers() {
        assert!(SourceTables::app("public.chats", "public.chat_turns").is_ok());
        for bad in ["chats", "public.", ".chats", "public.chats.x", "public.Chats", "a.b;--"] {
            let err = SourceTables::app(bad, "public.turns").unwrap_err();
            assert_eq!(err.code(), "CONFIG_ERROR", "{bad}");
            assert!(err.to_string().contains("conversations_table"), "{err}");
        }
    }
}
