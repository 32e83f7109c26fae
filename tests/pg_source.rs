//! The PostgreSQL importer and conversation source against a real database:
//! the sample imports with its malformed lines reported, again without
//! change; the source streams everything once, in `(created_at, id)` order
//! and in batches; a row that cannot be a conversation is reported, not
//! dropped; the SQL filter selects exactly what the core's predicate
//! engine selects, for hundreds of random requests; a large batch looks its
//! turns up by index in an analyzed table; and the service's connections
//! run without JIT compilation.

#[path = "support/pg.rs"]
mod pg;

use std::collections::BTreeSet;

use chrono::{DateTime, FixedOffset, SecondsFormat, TimeDelta, Utc};
use lora_export::model::{Conversation, ExportRequest, Timestamp};
use lora_export::pg::{count_selected, ConversationSource, Database, SourceTables, SqlFilter};
use lora_export::scope::Selector;
use lora_export::source::{JsonlSource, Record};
use serde_json::{json, Value};

const SAMPLE: &str = include_str!("../data/sample.jsonl");

async fn database() -> Database {
    Database::connect(&pg::fresh_config().await).unwrap()
}

fn request(value: Value) -> ExportRequest {
    serde_json::from_value(value).unwrap()
}

/// The library's own conversation tables.
fn library() -> SourceTables {
    SourceTables::library("lora_export").unwrap()
}

fn all_data() -> ExportRequest {
    request(json!({"config": {"scope": "all_data", "format": "jsonl"}}))
}

/// Every record `request` selects, read `batch_size` at a time; also
/// returns the number of batches.
async fn export(db: &Database, request: &ExportRequest, batch_size: u32) -> (Vec<Record>, usize) {
    let client = db.client().await.unwrap();
    let mut source = ConversationSource::new(request, batch_size, &library()).unwrap();
    let (mut records, mut batches) = (Vec::new(), 0);
    while let Some(batch) = source.next_batch(&client).await.unwrap() {
        assert!(!batch.is_empty() && batch.len() <= batch_size as usize);
        records.extend(batch);
        batches += 1;
    }
    assert_eq!(source.fetched(), records.len() as u64);
    (records, batches)
}

async fn conversations(db: &Database) -> Vec<Conversation> {
    let (records, _) = export(db, &all_data(), 100).await;
    records.into_iter().map(|r| r.expect("a valid conversation")).collect()
}

/// `c` with its timestamps written the way the database source writes them.
fn normalized(mut c: Conversation) -> Conversation {
    c.created_at = c.created_at.map(|t| Timestamp::from(t.utc()));
    c.updated_at = c.updated_at.map(|t| Timestamp::from(t.utc()));
    c
}

async fn count(db: &Database, sql: &str) -> i64 {
    db.client().await.unwrap().query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn the_sample_imports_with_its_malformed_lines_reported_and_reimports_unchanged() {
    let db = database().await;
    let summary = db.import_conversations(SAMPLE.as_bytes()).await.unwrap();
    assert_eq!(summary.imported, 46);
    let lines: Vec<_> = summary.skipped.iter().map(|s| s.location.line.unwrap()).collect();
    assert_eq!(lines, [47, 48, 49, 50]);
    let as_export_reports: Vec<_> =
        JsonlSource::new(SAMPLE.as_bytes()).filter_map(Result::err).collect();
    assert_eq!(summary.skipped, as_export_reports);
    assert!(summary.skipped.iter().all(|s| !s.reason.is_empty()));
    let turns: usize =
        JsonlSource::new(SAMPLE.as_bytes()).filter_map(Result::ok).map(|c| c.turns.len()).sum();
    assert_eq!(count(&db, "SELECT count(*) FROM conversations").await, 46);
    assert_eq!(count(&db, "SELECT count(*) FROM conversation_turns").await, turns as i64);

    let before = conversations(&db).await;
    let again = db.import_conversations(SAMPLE.as_bytes()).await.unwrap();
    assert_eq!(again, summary);
    assert_eq!(conversations(&db).await, before, "ids, rows and turns are unchanged");
    assert_eq!(count(&db, "SELECT count(*) FROM conversation_turns").await, turns as i64);
}

#[tokio::test]
async fn what_the_tables_cannot_store_is_counted_not_lost_in_silence() {
    let db = database().await;
    let rows = concat!(
        r#"{"conversation_id":"own","status":"done","source":"web","messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"}]}"#,
        "\n",
        r#"{"conversation_id":"plain","source":"forum","messages":[{"role":"user","content":"Q"},{"role":"assistant","content":"A"}]}"#,
        "\n",
    );
    let summary = db.import_conversations(rows.as_bytes()).await.unwrap();
    assert_eq!(summary.imported, 2);
    assert_eq!(summary.dropped_fields, [("user_fields".to_owned(), 1)].into());
    assert_eq!(summary.ignored_fields, [("source".to_owned(), 2)].into());
    let json = serde_json::to_value(&summary).unwrap();
    assert_eq!(json["dropped_fields"]["user_fields"], 1);
    assert_eq!(json["ignored_fields"]["source"], 2);
}

#[tokio::test]
async fn the_source_streams_every_conversation_once_in_order_in_batches() {
    let db = database().await;
    db.import_conversations(SAMPLE.as_bytes()).await.unwrap();
    let (records, batches) = export(&db, &all_data(), 7).await;
    assert_eq!((records.len(), batches), (46, 7));
    let exported: Vec<Conversation> = records.into_iter().map(Result::unwrap).collect();
    let keys: Vec<_> = exported
        .iter()
        .map(|c| (c.created_at.as_ref().map(Timestamp::utc), c.id.clone()))
        .collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "strictly increasing (created_at, id)");

    let mut imported: Vec<Conversation> =
        JsonlSource::new(SAMPLE.as_bytes()).filter_map(Result::ok).map(normalized).collect();
    imported.sort_by_key(|c| (c.created_at.as_ref().map(Timestamp::utc), c.id.clone()));
    assert_eq!(exported, imported, "equal to the input, turns in order, timestamps in UTC");
    assert!(exported
        .iter()
        .all(|c| c.created_at.as_ref().is_some_and(|t| t.as_str().ends_with('Z'))));

    let user = pg::create_user(&db).await;
    let mut client = db.client().await.unwrap();
    let tx = Database::user_transaction(&mut client, user).await.unwrap();
    let approved = request(json!({"config": {"scope": "all", "format": "csv"}}));
    let mut source = ConversationSource::new(&approved, 10, &library()).unwrap();
    let mut seen = 0;
    while let Some(batch) = source.next_batch(&tx).await.unwrap() {
        seen += batch.len();
    }
    let expected = exported.iter().filter(|c| c.is_approved()).count();
    assert_eq!(seen, expected, "a user reads conversations under RLS");
    assert_eq!(count_selected(&tx, &approved, &library()).await.unwrap(), expected as u64);
}

#[tokio::test]
async fn a_row_that_cannot_be_a_conversation_is_reported_not_dropped() {
    let db = database().await;
    let first_two: String = SAMPLE.lines().take(2).map(|l| format!("{l}\n")).collect();
    db.import_conversations(first_two.as_bytes()).await.unwrap();
    let client = db.client().await.unwrap();
    client
        .batch_execute(
            "INSERT INTO conversations (conversation_id, title, status, quality_score, tier, created_at)
             VALUES ('no-turns', 'Empty', 'approved', 8, 'template', '2000-01-01Z');
             INSERT INTO conversations (conversation_id, title, status, quality_score, tier,
                                        review_history, created_at)
             VALUES ('bad-history', 'Odd', 'approved', 8, 'template', '{\"not\": \"a list\"}',
                     '2100-01-01Z');
             INSERT INTO conversation_turns (conversation_id, turn_number, role, content)
             SELECT id, 1, 'user', 'Hi' FROM conversations WHERE conversation_id = 'bad-history';",
        )
        .await
        .unwrap();
    let (records, _) = export(&db, &all_data(), 2).await;
    assert_eq!(records.len(), 4);
    let no_turns = records[0].as_ref().unwrap_err();
    assert_eq!(no_turns.conversation_id.as_deref(), Some("no-turns"));
    assert_eq!(no_turns.location.to_string(), "record 1, field turns");
    assert_eq!(no_turns.reason, "conversation has no turns");
    assert!(records[1].is_ok() && records[2].is_ok());
    let history = records[3].as_ref().unwrap_err();
    assert_eq!(history.conversation_id.as_deref(), Some("bad-history"));
    assert_eq!(history.location.to_string(), "record 4, field review_history");
    assert!(history.reason.starts_with("not a valid review_history"), "{}", history.reason);
    assert_eq!(count_selected(&client, &all_data(), &library()).await.unwrap(), 4);
}

/// SplitMix64: a small seeded generator, so every run draws the same cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }

    /// A random subset, possibly empty.
    fn subset<T: Clone>(&mut self, items: &[T]) -> Vec<T> {
        items.iter().filter(|_| self.chance(30)).cloned().collect()
    }
}

const TIERS: &[&str] = &["template", "scenario", "edge_case"];
const STATUSES: &[&str] =
    &["draft", "generated", "pending_review", "approved", "rejected", "needs_revision", "failed"];
const LABELS: &[&str] = &["Calm", "calm", "Angry", "Ärgerlich", "élève"];
const CATEGORIES: &[&str] = &["billing", "support", "Support", "sales", "école", "ÄRGER"];
const PARENTS: &[&str] = &["p-1", "p-2", "P-1"];
/// Mixed case, non-ASCII letters that Rust and PostgreSQL (C.UTF-8) lowercase
/// alike, and the LIKE metacharacters `%`, `_` and `\`.
const WORDS: &[&str] = &[
    "Refund",
    "REFUND",
    "parcel",
    "Parcel",
    "Ärger",
    "ärger",
    "ÉCOLE",
    "école",
    "Straße",
    "naïve",
    "Ölpreis",
    "100%",
    "50_50",
    r"back\slash",
    "snake_case",
    "Zoë",
    "Crème Brûlée",
    "ÅLAND",
    "ДОСТАВКА",
    "доставка",
    "Ωmega",
];
const QUERIES: &[&str] = &[
    "",
    "   ",
    "refund",
    "REFUND",
    " Ärger ",
    "ÄRGER",
    "école",
    "ÉCOLE",
    "100%",
    "%%%",
    "___",
    "0_5",
    r"\\\",
    r"back\slash",
    "STRASSE",
    "straße",
    "доставка",
    "ДОСТ",
    "zoë",
    "Crème b",
    "nothing here",
    "e",
    "ωMEGA",
];
/// Instants on and around the edges of the date bounds below.
const INSTANTS: &[&str] = &[
    "2025-10-29T00:00:00Z",
    "2025-10-28T23:59:59.999999Z",
    "2025-10-29T23:59:59.999999Z",
    "2025-10-30T00:00:00Z",
    "2025-10-30T01:00:00+02:00",
    "2025-10-29T12:00:00Z",
    "2025-10-29T12:00:00.000001Z",
    "2025-10-29T11:59:59.999999Z",
    "2025-10-31T23:30:00-01:00",
    "2025-11-01T00:00:00Z",
];
const BOUNDS: &[&str] = &[
    "2025-10-29",
    "2025-10-30",
    "2025-11-01",
    "2025-10-29T12:00:00Z",
    "2025-10-29T14:00:00+02:00",
    "2025-10-29T12:00:00",
    "2025-10-29 12:00:00.000001+00",
    "2025-10-30T00:00:00Z",
    "2025-10-31T23:30:00-01:00",
    "2025-10-29T12:00:00.0000009Z",
    "2025-10-29T11:59:59.9999991Z",
];

fn score(rng: &mut Rng) -> f64 {
    rng.below(41) as f64 / 4.0
}

fn label(rng: &mut Rng) -> Option<&'static str> {
    rng.chance(70).then(|| rng.pick(LABELS))
}

fn text(rng: &mut Rng) -> String {
    (0..=rng.below(3)).map(|_| rng.pick(WORDS)).collect::<Vec<_>>().join(" ")
}

fn created_at(rng: &mut Rng) -> String {
    if rng.chance(30) {
        return rng.pick(INSTANTS).to_owned();
    }
    let start: DateTime<Utc> = "2025-10-25T00:00:00Z".parse().unwrap();
    let mut t = start + TimeDelta::seconds(rng.below(12 * 86_400) as i64);
    if rng.chance(30) {
        t += TimeDelta::microseconds(rng.below(1_000_000) as i64);
    }
    let offset = FixedOffset::east_opt(rng.pick(&[0, 7_200, -19_800, 3_600])).unwrap();
    t.with_timezone(&offset).to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn generated_conversation(rng: &mut Rng, n: usize) -> Value {
    let turns: Vec<Value> = (0..=rng.below(3))
        .map(|i| json!({"role": if i % 2 == 0 { "user" } else { "assistant" }, "content": text(rng)}))
        .collect();
    let created = created_at(rng);
    let mut c = json!({
        "conversation_id": format!("gen-{n:04}"), "title": text(rng),
        "category": rng.subset(CATEGORIES), "status": rng.pick(STATUSES),
        "qualityScore": score(rng), "tier": rng.pick(TIERS), "persona": label(rng),
        "emotion": label(rng), "topic": label(rng),
        "parentId": rng.chance(60).then(|| rng.pick(PARENTS)),
        "createdAt": created, "updatedAt": created, "turns": turns,
    });
    if rng.chance(70) {
        c["id"] = json!(uuid::Uuid::new_v4());
    }
    c
}

fn random_request(rng: &mut Rng, known: &[Conversation]) -> ExportRequest {
    let scope = ["selected", "all", "all_data", "filtered", "filtered", "filtered"];
    let mut r = json!({"config": {"scope": rng.pick(&scope), "format": "jsonl"}});
    match r["config"]["scope"].as_str().unwrap() {
        "selected" => {
            let ids: Vec<String> = (0..=rng.below(8))
                .map(|_| {
                    let c = rng.pick(known);
                    match rng.below(5) {
                        0 | 1 => c.conversation_id,
                        2 => c.id,
                        3 => c.id.to_uppercase(),
                        _ => uuid::Uuid::new_v4().to_string(),
                    }
                })
                .collect();
            r["conversationIds"] = json!(ids);
        }
        "filtered" => {
            let mut f = json!({});
            let mut maybe = |rng: &mut Rng, key: &str, value: &dyn Fn(&mut Rng) -> Value| {
                if rng.chance(40) {
                    f[key] = value(rng);
                }
            };
            maybe(rng, "tierTypes", &|rng| json!(rng.subset(TIERS)));
            maybe(rng, "statuses", &|rng| json!(rng.subset(STATUSES)));
            maybe(rng, "qualityRange", &|rng| {
                let (a, b) = (score(rng), score(rng));
                json!({"min": a.min(b), "max": a.max(b)})
            });
            maybe(rng, "dateRange", &|rng| {
                let mut range = json!({});
                for side in ["from", "to"] {
                    if rng.chance(70) {
                        range[side] = json!(rng.pick(BOUNDS));
                    }
                }
                range
            });
            maybe(rng, "categories", &|rng| json!(rng.subset(&[CATEGORIES, &["none"]].concat())));
            for key in ["personas", "emotions", "topics"] {
                maybe(rng, key, &|rng| json!(rng.subset(&[LABELS, &["nobody"]].concat())));
            }
            maybe(rng, "searchQuery", &|rng| json!(rng.pick(QUERIES)));
            maybe(rng, "parentId", &|rng| json!(rng.pick(&[PARENTS, &["p-404"]].concat())));
            r["filters"] = f;
        }
        _ => {}
    }
    request(r)
}

#[tokio::test]
async fn the_sql_selection_equals_the_predicate_engines_for_random_requests() {
    let db = database().await;
    db.import_conversations(SAMPLE.as_bytes()).await.unwrap();
    let mut rng = Rng(0x5EED_2025);
    let generated: String =
        (0..300).map(|n| format!("{}\n", generated_conversation(&mut rng, n))).collect();
    let summary = db.import_conversations(generated.as_bytes()).await.unwrap();
    assert_eq!((summary.imported, summary.skipped.len()), (300, 0));
    let stored = conversations(&db).await;
    assert_eq!(stored.len(), 346);
    let client = db.client().await.unwrap();

    let (mut compared, mut refused, mut partial) = (0, 0, 0);
    while compared < 250 {
        let request = random_request(&mut rng, &stored);
        let selector =
            match (Selector::new(&request), SqlFilter::for_request(&request, 1, &library())) {
                (Ok(selector), Ok(_)) => selector,
                (Err(a), Err(b)) => {
                    assert_eq!(a.issues(), b.issues());
                    refused += 1;
                    continue;
                }
                (a, b) => panic!("{request:?}: engine {:?}, SQL {:?}", a.err(), b.err()),
            };
        let expected: BTreeSet<&str> = stored
            .iter()
            .filter(|c| selector.matches(c))
            .map(|c| c.conversation_id.as_str())
            .collect();
        let (records, _) = export(&db, &request, rng.pick(&[7, 50, 128, 500])).await;
        let selected: Vec<Conversation> = records.into_iter().map(Result::unwrap).collect();
        let got: BTreeSet<&str> = selected.iter().map(|c| c.conversation_id.as_str()).collect();
        assert_eq!(got.len(), selected.len(), "no conversation twice");
        assert_eq!(got, expected, "{}", serde_json::to_string(&request).unwrap());
        assert_eq!(
            count_selected(&client, &request, &library()).await.unwrap(),
            expected.len() as u64
        );
        compared += 1;
        partial += usize::from(!expected.is_empty() && expected.len() < stored.len());
    }
    println!("{compared} requests compared ({partial} selecting some but not all), {refused} refused by both");
    assert!(partial >= 100, "the random requests are selective: {partial}");
}

/// How many sequential scans and index scans of `conversation_turns` the
/// current transaction of `tx` has made so far.
async fn turn_scans(tx: &lora_export::pg::DbTransaction<'_>) -> (i64, i64) {
    let row = tx
        .query_one(
            "SELECT seq_scan, coalesce(idx_scan, 0) FROM pg_stat_xact_user_tables
              WHERE schemaname = 'lora_export' AND relname = 'conversation_turns'",
            &[],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

#[tokio::test]
async fn a_large_batch_looks_its_turns_up_by_index_in_an_analyzed_table() {
    let db = database().await;
    let client = db.client().await.unwrap();
    client
        .batch_execute(
            "INSERT INTO conversations (conversation_id, title, status, quality_score, tier, created_at)
               SELECT 'c' || n, 'title ' || n, 'approved', 8, 'template',
                      '2025-01-01'::timestamptz + n * interval '1 second'
                 FROM generate_series(1, 20000) AS n;
             INSERT INTO conversation_turns (conversation_id, turn_number, role, content)
               SELECT c.id, t, CASE WHEN t % 2 = 1 THEN 'user' ELSE 'assistant' END, 'turn ' || t
                 FROM conversations c, generate_series(1, 4) AS t;
             ANALYZE conversations, conversation_turns;",
        )
        .await
        .unwrap();
    drop(client);

    let mut client = db.client().await.unwrap();
    let tx = client.transaction().await.unwrap();
    let mut source = ConversationSource::new(&all_data(), 2_000, &library()).unwrap();
    let before = turn_scans(&tx).await;
    let batch = source.next_batch(&tx).await.unwrap().unwrap();
    let after = turn_scans(&tx).await;
    assert_eq!(batch.len(), 2_000);
    let turns: Vec<usize> = batch.iter().map(|r| r.as_ref().unwrap().turns.len()).collect();
    assert!(turns.iter().all(|&n| n == 4), "every conversation has its four turns");
    assert_eq!(
        after.0 - before.0,
        0,
        "the turns of 2,000 of 20,000 conversations (10% of the turns) are looked up, \
         not read by scanning every turn: {before:?} -> {after:?} (seq_scan, idx_scan)"
    );
    assert!(after.1 > before.1, "read through the index: {before:?} -> {after:?}");
}

#[tokio::test]
async fn the_service_connections_compile_no_query_unless_the_url_asks() {
    let jit = |db: Database| async move {
        let row = db.client().await.unwrap().query_one("SHOW jit", &[]).await.unwrap();
        row.get::<_, String>(0)
    };
    // Before a fresh import is analyzed, a batch's lookups are estimated
    // high enough to be JIT-compiled: 60-95 ms a query (benches/README.md).
    assert_eq!(jit(database().await).await, "off");
    let mut config = pg::fresh_config().await;
    config.database_url.push_str(if config.database_url.contains('?') { "&" } else { "?" });
    config.database_url.push_str("options=-c%20jit%3Don");
    assert_eq!(jit(Database::connect(&config).unwrap()).await, "on");
}
