//! The record model of 2026 in the PostgreSQL service (issue 36), against a
//! real database migrated by the app's login: a conversation with a
//! reviewer's per-turn rejection (`weight: 0`), tool calls and their
//! answer, reasoning, content parts and `tools` imports into the library's
//! tables and reads back as it was read; the `openai` export carries them
//! and a format that cannot counts them in `dropped_fields`; stored rows the
//! core refuses (arguments that are not JSON, a list too long, a value
//! nested too deep, an unanswered call) are skipped with their field; the
//! app's own tables carry `weight` and `tool_calls` through its views under
//! its row-level security, and a mistyped optional column is named.

#[path = "support/pg.rs"]
mod pg;

use lora_export::model::{Conversation, Timestamp};
use lora_export::pg::{
    ConversationSource, CreateOutcome, Database, ExportService, ServiceConfig, SourceTables,
};
use lora_export::source::{JsonlSource, Record};
use serde_json::{json, Value};
use tokio::io::AsyncReadExt;
use tokio_postgres::Client;
use uuid::Uuid;

/// A reviewed tool-using conversation: a developer prompt as content
/// parts, a named user, an assistant turn that reasons and calls a tool
/// (no content), the tool's answer, and a final answer the reviewer
/// rejected (`weight: 0`); the conversation offers one tool. Then a plain
/// one.
const TOOL_CHAT: &str = r#"{"conversation_id": "tool-1", "title": "Weather", "status": "approved", "qualityScore": 9, "tier": "template", "createdAt": "2025-10-29T10:00:00Z", "updatedAt": "2025-10-29T10:00:00Z", "tools": [{"type": "function", "function": {"name": "weather", "description": "The weather of a city", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}], "messages": [{"role": "developer", "content": [{"type": "text", "text": "Be "}, {"type": "text", "text": "brief."}]}, {"role": "user", "content": "Weather in Paris?", "name": "ann"}, {"role": "assistant", "content": null, "reasoning_content": "Call the tool.", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}}]}, {"role": "tool", "tool_call_id": "c1", "content": "18C"}, {"role": "assistant", "content": "It is 18C.", "weight": 0}]}
{"conversation_id": "plain-1", "title": "Hi", "status": "approved", "qualityScore": 8, "tier": "template", "createdAt": "2025-10-29T11:00:00Z", "updatedAt": "2025-10-29T11:00:00Z", "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!", "weight": 1}]}
"#;

fn config(url: &str) -> ServiceConfig {
    let mut config = ServiceConfig::new(url);
    config.storage_root = std::env::temp_dir().join(format!("lora-export-msg-{}", Uuid::new_v4()));
    config
}

async fn admin(url: &str) -> Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    client
}

/// Every record of `tables`, in the export's order.
async fn read_all(db: &Database, tables: &SourceTables) -> Vec<Record> {
    let client = db.client().await.unwrap();
    let request =
        serde_json::from_value(json!({"config": {"scope": "all_data", "format": "jsonl"}}))
            .unwrap();
    let mut source = ConversationSource::new(&request, 3, tables).unwrap();
    let mut records = Vec::new();
    while let Some(batch) = source.next_batch(&client).await.unwrap() {
        records.extend(batch);
    }
    records
}

/// An export of `config` (merged into `{"scope": "all"}`) by `user`, run at
/// once: its summary and its file's text.
async fn export(
    service: &ExportService,
    user: Uuid,
    config: Value,
) -> (lora_export::ExportSummary, String) {
    let mut body = json!({"config": {"scope": "all"}});
    for (key, value) in config.as_object().unwrap() {
        body["config"][key] = value.clone();
    }
    let export = match service.create_export(user, &body).await.unwrap() {
        CreateOutcome::Completed { export, .. } => export,
        other => panic!("a small export runs at once, got {other:?}"),
    };
    let mut download = service.open_download(user, export.export_id).await.unwrap();
    let mut text = String::new();
    download.file.read_to_string(&mut text).await.unwrap();
    (export.summary, text)
}

/// Seen failing before migration 21: the importer stored the text of each
/// turn only, so the conversation read back without its tool calls, its
/// weights, reasoning, name, parts and tools (and the tool-calling turn as
/// an empty assistant message).
#[tokio::test(flavor = "multi_thread")]
async fn message_fields_import_into_the_library_tables_and_export_as_they_were_read() {
    let service = ExportService::connect(config(&pg::fresh_database().await)).unwrap();
    let summary = service.import_conversations(TOOL_CHAT.as_bytes()).await.unwrap();
    assert_eq!((summary.imported, summary.skipped.len()), (2, 0), "{summary:?}");

    let client = service.database().client().await.unwrap();
    let stored: Vec<(String, Option<i16>, Option<Value>)> = client
        .query(
            "SELECT t.role, t.weight, t.tool_calls FROM conversation_turns t
               JOIN conversations c ON c.id = t.conversation_id
              WHERE c.conversation_id = 'tool-1' ORDER BY t.turn_number",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(stored[0].0, "developer");
    assert_eq!(stored[4].1, Some(0), "the reviewer's rejection is a stored weight 0");
    assert_eq!(stored[2].2.as_ref().unwrap()[0]["function"]["arguments"], "{\"city\":\"Paris\"}");

    let tables = SourceTables::library("lora_export").unwrap();
    let read: Vec<Conversation> = read_all(service.database(), &tables)
        .await
        .into_iter()
        .map(|r| r.expect("a valid conversation"))
        .collect();
    let given: Vec<Conversation> = JsonlSource::new(TOOL_CHAT.as_bytes())
        .map(|r| {
            let mut c = r.unwrap();
            c.created_at = c.created_at.map(|t| Timestamp::from(t.utc()));
            c.updated_at = c.updated_at.map(|t| Timestamp::from(t.utc()));
            c
        })
        .collect();
    assert_eq!(
        read.iter().map(|c| (&c.turns, &c.tools)).collect::<Vec<_>>(),
        given.iter().map(|c| (&c.turns, &c.tools)).collect::<Vec<_>>(),
        "the turns and tools read back as they were read"
    );

    let user = pg::create_user(service.database()).await;
    let (summary, text) =
        export(&service, user, json!({"format": "jsonl", "jsonlFlavor": "openai"})).await;
    let line: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let messages = &line["messages"];
    assert_eq!(messages[2]["tool_calls"][0]["id"], "c1", "{line}");
    assert_eq!(messages[2]["tool_calls"][0]["function"]["arguments"], "{\"city\":\"Paris\"}");
    assert_eq!(messages[3]["tool_call_id"], "c1", "{line}");
    assert_eq!(messages[4]["weight"], 0, "{line}");
    assert_eq!(line["tools"][0]["function"]["name"], "weather", "{line}");
    assert_eq!(summary.dropped_fields.get("reasoning"), Some(&1), "openai has no reasoning");
    for carried in ["weight", "tool_calls", "tools", "tool_call_id"] {
        assert!(!summary.dropped_fields.contains_key(carried), "{:?}", summary.dropped_fields);
    }

    let (summary, _) = export(&service, user, json!({"format": "csv"})).await;
    for (field, n) in [("weight", 2), ("tool_calls", 1), ("tools", 1), ("reasoning", 1)] {
        assert_eq!(summary.dropped_fields.get(field), Some(&n), "{:?}", summary.dropped_fields);
    }

    let pair = r#"{"conversation_id": "pair-1", "prompt": "Capital of France?", "chosen": "Paris.", "rejected": "Lyon."}"#;
    let summary = service.import_conversations(pair.as_bytes()).await.unwrap();
    assert_eq!(summary.imported, 0, "a preference pair is not stored without its pair");
    assert_eq!(summary.skipped[0].location.field.as_deref(), Some("preference"));
    std::fs::remove_dir_all(&service.config().storage_root).unwrap();
}

/// A stored conversation: its id, the assistant turn's `tool_calls`,
/// whether a tool turn answers them, the user turn's weight, its `tools`.
type Stored = (&'static str, Option<String>, bool, Option<i16>, Option<&'static str>);

/// Seen failing before: the columns did not exist. Each stored row the
/// core refuses is a skipped record naming its field, and the others are
/// read: arguments that are not JSON, tool calls that are not a list, a
/// 9 MiB argument object, a value nested deeper than the JSON parser reads
/// (a conversion error of the row, which the source's `?` made a failed
/// export), an unanswered call, a weight on a user turn, tools that are not
/// a list.
#[tokio::test(flavor = "multi_thread")]
async fn stored_rows_the_core_refuses_are_skipped_with_their_field() {
    let db = Database::connect(&config(&pg::fresh_database().await)).unwrap();
    let client = db.client().await.unwrap();
    let call = |arguments: &str| {
        format!(
            r#"[{{"id": "c1", "type": "function", "function": {{"name": "f", "arguments": {arguments}}}}}]"#
        )
    };
    let rows: Vec<Stored> = vec![
        ("a-good", Some(call(r#""{}""#)), true, None, Some(r#"[{"type": "function"}]"#)),
        ("b-not-json", Some(call(r#""{oops""#)), true, None, None),
        ("c-not-a-list", Some(r#"{"id": "c1"}"#.to_owned()), true, None, None),
        ("d-unanswered", Some(call(r#""{}""#)), false, None, None),
        ("e-user-weight", None, false, Some(1), None),
        ("f-tools", None, false, None, Some(r#"{"name": "f"}"#)),
        ("g-huge", None, true, None, None),
        ("h-deep", None, true, None, None),
    ];
    for (n, (id, tool_calls, answered, user_weight, tools)) in rows.iter().enumerate() {
        client
            .execute(
                "WITH c AS (
                   INSERT INTO conversations (conversation_id, title, status, quality_score, tier,
                                              created_at, tools)
                   VALUES ($1, 't', 'approved', 8, 'template',
                           '2025-01-01Z'::timestamptz + make_interval(secs => $2), $3::text::jsonb)
                   RETURNING id)
                 INSERT INTO conversation_turns (conversation_id, turn_number, role, content, weight,
                                                 tool_calls, tool_call_id)
                 SELECT c.id, t.n, t.role, t.content, t.weight, t.calls::jsonb, t.answers
                 FROM c, (VALUES (1, 'user', 'q', $4::smallint, NULL, NULL),
                                 (2, 'assistant', '', NULL, $5::text, NULL),
                                 (3, CASE WHEN $6 THEN 'tool' ELSE 'assistant' END, 'a', NULL, NULL,
                                  CASE WHEN $6 THEN 'c1' END))
                        AS t(n, role, content, weight, calls, answers)
                 WHERE t.n < 3 OR $6 OR $5::text IS NULL",
                &[id, &(n as f64), tools, user_weight, tool_calls, answered],
            )
            .await
            .unwrap();
    }
    // A 9 MiB argument object, and a list nested 200 deep (PostgreSQL
    // stores it; serde_json reads 128 levels).
    client
        .batch_execute(
            "UPDATE conversation_turns t SET tool_calls = jsonb_build_array(jsonb_build_object(
               'id', 'c1', 'type', 'function', 'function', jsonb_build_object('name', 'f',
               'arguments', jsonb_build_object('x', repeat('a', 9 * 1024 * 1024)))))
             FROM conversations c WHERE c.id = t.conversation_id AND c.conversation_id = 'g-huge'
               AND t.turn_number = 2;
             UPDATE conversation_turns t SET tool_calls = (repeat('[', 200) || repeat(']', 200))::jsonb
             FROM conversations c WHERE c.id = t.conversation_id AND c.conversation_id = 'h-deep'
               AND t.turn_number = 2;",
        )
        .await
        .unwrap();

    let records = read_all(&db, &SourceTables::library("lora_export").unwrap()).await;
    assert_eq!(records.len(), rows.len());
    let good = records[0].as_ref().expect("the good row is read");
    assert_eq!(good.turns[1].tool_calls[0].name, "f");
    assert_eq!(good.tools.len(), 1);
    let skipped: Vec<(String, String)> = records[1..]
        .iter()
        .map(|r| {
            let s = r.as_ref().expect_err("skipped");
            (s.location.field.clone().unwrap_or_default(), s.reason.clone())
        })
        .collect();
    let expected = [
        ("turns[1].tool_calls[0].function.arguments", "`arguments` is a string but not valid JSON"),
        ("turns[1].tool_calls", "invalid type: map, expected a list of tool calls"),
        ("turns", "unanswered tool call: turns[1] calls f"),
        ("turns[0]", "`weight` on a user message"),
        ("tools", "`tools` must be a list of function definitions"),
        ("turns[1].tool_calls[0].function.arguments", "`arguments` longer than 8388608 bytes"),
        ("turns[1].tool_calls", "recursion limit exceeded"),
    ];
    for ((field, reason), (want_field, want_reason)) in skipped.iter().zip(expected) {
        assert_eq!(field, want_field, "{reason}");
        assert!(reason.contains(want_reason), "{reason} should say {want_reason}");
    }
    assert_eq!(skipped.len(), expected.len());
}

/// The app's chats keyed by `bigint`, each its owner's (row-level security
/// on both tables), messages with the reviewer's rejection as a boolean, the
/// tool calls as `jsonb`, the answered call's id, and a nullable body (a
/// turn that only calls a tool has none).
const APP_TABLES: &str = "
CREATE TABLE public.chats (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  owner UUID NOT NULL,
  title TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE public.chat_messages (
  chat_id BIGINT NOT NULL REFERENCES public.chats (id) ON DELETE CASCADE,
  idx INTEGER NOT NULL,
  role TEXT NOT NULL,
  body TEXT,
  calls JSONB,
  answers TEXT,
  rejected BOOLEAN NOT NULL DEFAULT false,
  PRIMARY KEY (chat_id, idx)
);
ALTER TABLE public.chats ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.chat_messages ENABLE ROW LEVEL SECURITY;
CREATE POLICY \"own chats\" ON public.chats FOR SELECT TO authenticated
  USING (owner = (SELECT auth.uid()));
CREATE POLICY \"own messages\" ON public.chat_messages FOR SELECT TO authenticated
  USING (EXISTS (SELECT 1 FROM public.chats c WHERE c.id = chat_id AND c.owner = (SELECT auth.uid())));
CREATE VIEW public.training_conversations WITH (security_invoker = true) AS
SELECT c.id, 'chat-' || c.id AS conversation_id, c.title, ARRAY[]::text[] AS category,
       'approved' AS status, 8.0::double precision AS quality_score, NULL::text AS persona,
       NULL::text AS emotion, NULL::text AS topic, 'template' AS tier, 0::bigint AS token_count,
       0 AS total_turns, NULL::text AS parent_id, NULL::text AS parent_type,
       '{}'::jsonb AS parameters, '[]'::jsonb AS review_history, c.created_at,
       c.created_at AS updated_at
FROM public.chats c;
CREATE VIEW public.training_turns WITH (security_invoker = true) AS
SELECT m.chat_id AS conversation_id, m.idx AS turn_number, m.role, m.body AS content,
       NULL::integer AS token_count, m.calls AS tool_calls, m.answers AS tool_call_id,
       CASE WHEN m.role = 'assistant' THEN (NOT m.rejected)::integer::smallint END AS weight
FROM public.chat_messages m;
GRANT SELECT ON public.training_conversations, public.training_turns TO authenticated;
";

/// Seen failing before: the tool-calling turn's null body failed the
/// export, and the weights and calls were not read. The app's views carry
/// `weight` and `tool_calls` (and no `name`, `reasoning`, `parts`:
/// optional), a user exports their chats only with both; a `weight` of
/// another type than `smallint` is named with the cast.
#[tokio::test(flavor = "multi_thread")]
async fn an_apps_own_tables_carry_weights_and_tool_calls_through_its_views() {
    let db = pg::supabase_database().await;
    let app = admin(&db.app_url).await;
    let service = ExportService::connect(config(&db.app_url)).unwrap();
    service.migrate().await.unwrap();
    app.batch_execute(APP_TABLES).await.unwrap();
    let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
    for user in [alice, bob] {
        app.execute(
            "INSERT INTO auth.users (id, email) VALUES ($1, $2)",
            &[&user, &format!("{user}@example.com")],
        )
        .await
        .unwrap();
    }
    let calls = json!([{"id": "w1", "type": "function",
        "function": {"name": "weather", "arguments": {"city": "Paris"}}}]);
    for owner in [alice, bob] {
        app.execute(
            "WITH chat AS (INSERT INTO public.chats (owner, title) VALUES ($1, 'weather') RETURNING id)
             INSERT INTO public.chat_messages (chat_id, idx, role, body, calls, answers, rejected)
             SELECT chat.id, m.idx, m.role, m.body, m.calls, m.answers, m.rejected
             FROM chat, (VALUES (1, 'user', 'Weather in Paris?', NULL::jsonb, NULL, false),
                                (2, 'assistant', NULL, $2::jsonb, NULL, false),
                                (3, 'tool', '18C', NULL, 'w1', false),
                                (4, 'assistant', 'Sunny, 18C.', NULL, NULL, true),
                                (5, 'user', $3, NULL, NULL, false),
                                (6, 'assistant', 'Bye.', NULL, NULL, false))
                  AS m(idx, role, body, calls, answers, rejected)",
            &[&owner, &calls, &if owner == alice { "Thanks" } else { "bob's secret" }],
        )
        .await
        .unwrap();
    }
    let mut mapped = config(&db.app_url);
    mapped.conversations_table = Some("public.training_conversations".into());
    mapped.turns_table = Some("public.training_turns".into());
    let service = ExportService::connect(mapped.clone()).unwrap();

    let (summary, text) =
        export(&service, alice, json!({"format": "jsonl", "jsonlFlavor": "openai"})).await;
    assert_eq!((summary.conversations, summary.skipped_total), (1, 0), "{summary:?}");
    assert!(!text.contains("bob's secret"), "{text}");
    let line: Value = serde_json::from_str(text.trim_end()).unwrap();
    let messages = &line["messages"];
    assert_eq!(messages[1]["content"], Value::Null, "{line}");
    assert_eq!(messages[1]["tool_calls"][0]["function"]["arguments"], "{\"city\":\"Paris\"}");
    assert_eq!(messages[1]["weight"], 1, "{line}");
    assert_eq!(messages[2]["tool_call_id"], "w1", "{line}");
    assert_eq!(messages[3]["weight"], 0, "the reviewer's rejection: {line}");
    assert_eq!(messages[5]["weight"], 1, "{line}");
    std::fs::remove_dir_all(&service.config().storage_root).unwrap();

    app.batch_execute(
        "DROP VIEW public.training_turns;
         CREATE VIEW public.training_turns WITH (security_invoker = true) AS
         SELECT m.chat_id AS conversation_id, m.idx AS turn_number, m.role, m.body AS content,
                NULL::integer AS token_count, m.calls::text AS tool_calls,
                CASE WHEN m.role = 'assistant' THEN (NOT m.rejected)::integer END AS weight
         FROM public.chat_messages m;
         GRANT SELECT ON public.training_turns TO authenticated;",
    )
    .await
    .unwrap();
    let err = ExportService::connect(mapped).unwrap().check_source().await.unwrap_err();
    let Some(lora_export::ErrorKind::Internal { detail, .. }) = err.core_kind() else {
        panic!("{err:?}")
    };
    for named in [
        "\"public\".\"training_turns\".weight is integer, expected smallint (cast it in the view",
        "\"public\".\"training_turns\".tool_calls is text, expected jsonb",
    ] {
        assert!(detail.contains(named), "{named} in {detail}");
    }
}
