//! The schema against a real PostgreSQL: migrations are idempotent, RLS
//! keeps users apart even for direct SQL as the `authenticated` role, the
//! audit trail is append-only and tamper-evident, and the rate limit holds.

#[path = "support/pg.rs"]
mod pg;

use lora_export::pg::Database;
use uuid::Uuid;

async fn insert_log(db: &Database, user: Uuid) -> Uuid {
    let client = db.client().await.unwrap();
    client
        .query_one(
            "INSERT INTO export_logs (user_id, format, config, conversation_count, status)
             VALUES ($1, 'jsonl', '{\"scope\":\"all\",\"format\":\"jsonl\"}', 3, 'queued') RETURNING export_id",
            &[&user],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn migrations_apply_once() {
    let config = pg::fresh_config().await;
    let db = Database::connect(&config).unwrap();
    assert_eq!(db.migrate().await.unwrap(), Vec::<i32>::new(), "the template already has them");
    let client = db.client().await.unwrap();
    let tables: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE tablename IN
             ('conversations','conversation_turns','export_logs','export_audit_events','export_jobs')
             AND rowsecurity",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(tables, 5, "every table has row-level security enabled");
}

#[tokio::test]
async fn rls_hides_and_protects_other_users_exports_in_direct_sql() {
    let db = Database::connect(&pg::fresh_config().await).unwrap();
    let (alice, bob) = (pg::create_user(&db).await, pg::create_user(&db).await);
    let alices = insert_log(&db, alice).await;
    let mut client = db.client().await.unwrap();

    let tx = Database::user_transaction(&mut client, bob).await.unwrap();
    let seen: i64 = tx.query_one("SELECT count(*) FROM export_logs", &[]).await.unwrap().get(0);
    assert_eq!(seen, 0, "bob sees none of alice's exports");
    drop(tx);
    let tx = Database::user_transaction(&mut client, bob).await.unwrap();
    let updated = tx
        .execute("UPDATE export_logs SET status = 'failed' WHERE export_id = $1", &[&alices])
        .await;
    assert!(updated.is_err(), "users update no export, not even their own");
    drop(tx);
    let tx = Database::user_transaction(&mut client, bob).await.unwrap();
    let forged = tx
        .execute(
            "INSERT INTO export_logs (user_id, format, config, conversation_count, status)
             VALUES ($1, 'csv', '{}', 1, 'queued')",
            &[&bob],
        )
        .await;
    assert!(forged.is_err(), "users create no export log by hand, not even in their own name");
    drop(tx);

    let tx = Database::user_transaction(&mut client, alice).await.unwrap();
    let uid: Uuid = tx.query_one("SELECT auth.uid()", &[]).await.unwrap().get(0);
    assert_eq!(uid, alice);
    let seen: i64 = tx.query_one("SELECT count(*) FROM export_logs", &[]).await.unwrap().get(0);
    assert_eq!(seen, 1);
    let jobs = tx.query("SELECT * FROM export_jobs", &[]).await;
    assert!(jobs.is_err(), "users have no access to the job queue");
}

#[tokio::test]
async fn audit_events_are_append_only_and_tampering_is_detected() {
    let db = Database::connect(&pg::fresh_config().await).unwrap();
    let user = pg::create_user(&db).await;
    let export = insert_log(&db, user).await;
    let client = db.client().await.unwrap();
    for event in ["requested", "queued", "started", "completed", "downloaded"] {
        client
            .execute(
                "INSERT INTO export_audit_events (export_id, user_id, event, detail, seq, hash)
                 VALUES ($1, $2, $3, '{\"n\": 1}', 0, '')",
                &[&export, &user, &event],
            )
            .await
            .unwrap();
    }
    assert!(problems(&client, export).await.is_empty(), "an intact chain verifies");
    let refused =
        client.execute("UPDATE export_audit_events SET detail = '{}' WHERE seq = 3", &[]).await;
    let refused = refused.unwrap_err();
    assert!(refused.as_db_error().unwrap().message().contains("append-only"), "{refused}");
    assert!(client.execute("DELETE FROM export_audit_events WHERE seq = 2", &[]).await.is_err());
    assert!(client.batch_execute("TRUNCATE export_audit_events").await.is_err());

    // A superuser who disables the guard can still change rows — and is caught.
    client
        .batch_execute(
            "ALTER TABLE export_audit_events DISABLE TRIGGER export_audit_events_guard;
             UPDATE export_audit_events SET detail = '{\"n\": 2}' WHERE seq = 3;
             DELETE FROM export_audit_events WHERE seq = 4;
             ALTER TABLE export_audit_events ENABLE TRIGGER export_audit_events_guard;",
        )
        .await
        .unwrap();
    let found = problems(&client, export).await;
    assert!(found.iter().any(|(s, p)| *s == 3 && p.starts_with("modified")), "{found:?}");
    assert!(found.iter().any(|(s, p)| *s == 5 && p.starts_with("removed")), "{found:?}");
}

async fn problems(client: &tokio_postgres::Client, export: Uuid) -> Vec<(i32, String)> {
    client
        .query("SELECT seq, problem FROM export_audit_verify($1)", &[&export])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get::<_, i32>(0), r.get::<_, String>(1)))
        .collect()
}

#[tokio::test]
async fn the_rate_limit_holds_under_concurrent_requests() {
    let db = Database::connect(&pg::fresh_config().await).unwrap();
    let user = pg::create_user(&db).await;
    let attempts = (0..30).map(|_| {
        let db = db.clone();
        tokio::spawn(async move {
            let mut client = db.client().await.unwrap();
            let tx = client.transaction().await.unwrap();
            let wait: i32 = tx
                .query_one("SELECT export_rate_limit_wait($1, 10, interval '1 hour')", &[&user])
                .await
                .unwrap()
                .get(0);
            if wait == 0 {
                tx.execute(
                    "INSERT INTO export_logs (user_id, format, config, conversation_count, status)
                     VALUES ($1, 'jsonl', '{}', 0, 'queued')",
                    &[&user],
                )
                .await
                .unwrap();
            }
            tx.commit().await.unwrap();
            wait
        })
    });
    let waits: Vec<i32> = futures_util_join(attempts).await;
    assert_eq!(waits.iter().filter(|w| **w == 0).count(), 10);
    assert!(waits.iter().filter(|w| **w > 0).all(|w| *w <= 3600));
}

async fn futures_util_join<T>(tasks: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for t in tasks.collect::<Vec<_>>() {
        out.push(t.await.unwrap());
    }
    out
}

/// The printed schema, applied by psql as the Supabase CLI would apply a
/// committed migration file (here on a bare database, with the Supabase
/// stand-ins asked for in the session), leaves `migrate()` nothing to do
/// and a working service.
#[tokio::test]
async fn the_printed_migration_sql_applied_by_psql_is_what_migrate_would_do() {
    let url = pg::empty_database().await;
    let file = std::env::temp_dir().join(format!("lora-export-schema-{}.sql", Uuid::new_v4()));
    std::fs::write(&file, lora_export::pg::migration_sql("lora_export").unwrap()).unwrap();
    let psql = std::process::Command::new("psql")
        .env("PGOPTIONS", "-c lora_export.supabase_stand_ins=on")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-d", &url, "-f"])
        .arg(&file)
        .output()
        .expect("psql runs");
    std::fs::remove_file(&file).unwrap();
    assert!(psql.status.success(), "psql failed: {}", String::from_utf8_lossy(&psql.stderr));
    let mut config = lora_export::pg::ServiceConfig::new(&url);
    config.storage_root = std::env::temp_dir().join("lora-export-schema-sql");
    let service = lora_export::pg::ExportService::connect(config).unwrap();
    assert_eq!(service.migrate().await.unwrap(), Vec::<i32>::new(), "nothing left to apply");
    let sample =
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/sample.jsonl")).unwrap();
    assert_eq!(service.import_conversations(&sample[..]).await.unwrap().imported, 46);
    let user = pg::create_user(service.database()).await;
    let body = serde_json::json!({ "config": { "scope": "all", "format": "jsonl" } });
    match service.create_export(user, &body).await.unwrap() {
        lora_export::pg::CreateOutcome::Completed { export, .. } => {
            assert_eq!(export.conversation_count, 32)
        }
        other => panic!("a 32-conversation export runs at once, got {other:?}"),
    }
}
