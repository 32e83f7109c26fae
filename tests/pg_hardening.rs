//! The service tried as an attacker would (issue 10): through the service's
//! API, and straight in SQL as the `authenticated` role with a user's JWT
//! claims — exactly what any logged-in Supabase user reaches through
//! PostgREST with the public anon key. Each test is a finding or a suspected
//! point of the hardening issue.

#[path = "support/pg.rs"]
mod pg;
#[path = "support/service.rs"]
mod support;

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use lora_export::audit::ExportStatus;
use lora_export::pg::{
    ExportService, FileKey, HistoryQuery, LocalStorage, ServiceConfig, StagedFile, Storage,
    StorageFuture, StoredFile, WorkerOptions,
};
use support::*;
use tokio_postgres::error::SqlState;
use uuid::Uuid;

/// Runs `sql` as PostgREST would for `user`: role `authenticated`, the
/// user's claims, one transaction. Returns the SQLSTATE when refused.
async fn as_postgrest_user(
    service: &ExportService,
    user: Uuid,
    sql: &str,
) -> std::result::Result<u64, SqlState> {
    let mut client = service.database().client().await.unwrap();
    let tx = client.transaction().await.unwrap();
    let claims = serde_json::json!({ "sub": user, "role": "authenticated" }).to_string();
    tx.execute("SELECT set_config('request.jwt.claims', $1, true)", &[&claims]).await.unwrap();
    tx.batch_execute("SET LOCAL ROLE authenticated").await.unwrap();
    let result = tx.execute(sql, &[]).await;
    match result {
        Ok(n) => {
            tx.commit().await.unwrap();
            Ok(n)
        }
        Err(e) => Err(e.code().cloned().expect("a database error")),
    }
}

fn refused(result: std::result::Result<u64, SqlState>) -> bool {
    matches!(result, Err(code) if code == SqlState::INSUFFICIENT_PRIVILEGE
        || code == SqlState::UNDEFINED_FUNCTION)
}

/// A store over [`LocalStorage`] whose `stage` waits while the gate is
/// closed: it holds a run at a known point, as a slow disk would.
#[derive(Debug)]
struct GatedStorage {
    inner: LocalStorage,
    open: AtomicBool,
}

impl GatedStorage {
    fn new(root: &std::path::Path) -> Arc<GatedStorage> {
        Arc::new(GatedStorage { inner: LocalStorage::new(root), open: AtomicBool::new(false) })
    }
    fn open_gate(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

impl Storage for GatedStorage {
    fn stage(&self, key: &FileKey) -> lora_export::pg::Result<Box<dyn StagedFile>> {
        while !self.open.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.inner.stage(key)
    }
    fn open<'a>(
        &'a self,
        key: &'a FileKey,
        range: Option<std::ops::Range<u64>>,
    ) -> StorageFuture<'a, StoredFile> {
        self.inner.open(key, range)
    }
    fn delete<'a>(&'a self, key: &'a FileKey) -> StorageFuture<'a, bool> {
        self.inner.delete(key)
    }
    fn exists<'a>(&'a self, key: &'a FileKey) -> StorageFuture<'a, bool> {
        self.inner.exists(key)
    }
    fn sweep_staged<'a>(
        &'a self,
        untouched_since: std::time::SystemTime,
        live: &'a std::collections::HashSet<Uuid>,
    ) -> StorageFuture<'a, u64> {
        self.inner.sweep_staged(untouched_since, live)
    }
}

async fn log_status(service: &ExportService, export_id: Uuid) -> Option<String> {
    let client = service.database().client().await.unwrap();
    client
        .query_opt("SELECT status FROM export_logs WHERE export_id = $1", &[&export_id])
        .await
        .unwrap()
        .map(|r| r.get(0))
}

async fn wait_for_log(service: &ExportService, user: Uuid, status: &str) -> Uuid {
    for _ in 0..1000 {
        let client = service.database().client().await.unwrap();
        let row = client
            .query_opt(
                "SELECT export_id FROM export_logs WHERE user_id = $1 AND status = $2",
                &[&user, &status],
            )
            .await
            .unwrap();
        if let Some(row) = row {
            return row.get(0);
        }
        drop(client);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no export of the user reached {status}");
}

/// Every file (final or staged) of `export_id` in the user's folder.
fn files_of(service: &ExportService, user: Uuid, export_id: Uuid) -> Vec<String> {
    let dir = service.config().storage_root.join(user.to_string());
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name.contains(&export_id.to_string()))
                .collect()
        })
        .unwrap_or_default()
}

// Finding 1: the pool deadlocked for good under concurrent lookups of
// unknown or foreign ids.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_lookups_of_unknown_and_foreign_ids_never_starve_the_pool() {
    let (service, _) = service_with(|c| c.pool_size = 4).await;
    let (alice, mallory) = (user(&service).await, user(&service).await);
    let alices = service.create_export(alice, &small_body("jsonl")).await.unwrap().export_id();
    let lookups: Vec<_> = (0..64)
        .map(|i| {
            let service = service.clone();
            tokio::spawn(async move {
                let id = if i % 2 == 0 { alices } else { Uuid::new_v4() };
                let err = if i % 4 < 2 {
                    service.status(mallory, id).await.unwrap_err()
                } else {
                    service.open_download(mallory, id).await.unwrap_err()
                };
                (id == alices, err.http_status())
            })
        })
        .collect();
    let all = tokio::time::timeout(Duration::from_secs(60), async {
        let mut answers = Vec::new();
        for lookup in lookups {
            answers.push(lookup.await.unwrap());
        }
        answers
    })
    .await
    .expect("64 lookups answered; the pool did not deadlock");
    for (foreign, status) in all {
        assert!(
            status == if foreign { 403 } else { 404 } || status == 503,
            "foreign {foreign}: {status}"
        );
    }
    let after = tokio::time::timeout(Duration::from_secs(10), service.status(alice, alices))
        .await
        .expect("the service still answers");
    assert_eq!(after.unwrap().status, ExportStatus::Completed);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pool_wait_timeout_answers_503_with_retry_after() {
    let base = pg::fresh_config().await;
    let env = |k: &str| match k {
        "LORA_EXPORT_DATABASE_URL" => Some(base.database_url.clone()),
        "LORA_EXPORT_POOL_SIZE" => Some("2".to_owned()),
        "LORA_EXPORT_POOL_WAIT_TIMEOUT_MS" => Some("200".to_owned()),
        _ => None,
    };
    let service = ExportService::connect(ServiceConfig::from_lookup(env).unwrap()).unwrap();
    let held = (service.database().client().await, service.database().client().await);
    let answer = tokio::time::timeout(
        Duration::from_secs(10),
        service.status(Uuid::new_v4(), Uuid::new_v4()),
    )
    .await
    .expect("a request waits at most the pool wait timeout")
    .unwrap_err();
    assert_eq!((answer.code(), answer.http_status()), ("SERVICE_UNAVAILABLE", 503));
    assert!(answer.retry_after_secs().is_some_and(|s| s >= 1));
    drop(held);
}

#[tokio::test(flavor = "multi_thread")]
async fn service_connections_have_statement_and_idle_in_transaction_timeouts() {
    let (service, _) = service().await;
    let client = service.database().client().await.unwrap();
    for setting in ["statement_timeout", "idle_in_transaction_session_timeout"] {
        let value: String = client.query_one(&format!("SHOW {setting}"), &[]).await.unwrap().get(0);
        assert_ne!(value, "0", "{setting} is set");
    }
}

// Finding 2: a logged-in user could write around the service.
#[tokio::test(flavor = "multi_thread")]
async fn a_postgrest_user_cannot_write_around_the_service() {
    let (service, _) = service_with(|c| c.rate_limit_per_hour = 2).await;
    let (alice, mallory) = (user(&service).await, user(&service).await);
    let alices = service.create_export(alice, &small_body("jsonl")).await.unwrap().export_id();
    let own = service.create_export(mallory, &small_body("jsonl")).await.unwrap().export_id();
    service.create_export(mallory, &small_body("csv")).await.unwrap();
    assert_eq!(
        service.create_export(mallory, &small_body("csv")).await.unwrap_err().http_status(),
        429
    );

    let attacks = [
        "UPDATE export_logs SET created_at = created_at - interval '2 hours'".to_owned(),
        format!("UPDATE export_logs SET file_url = '{alice}/{alices}.jsonl' WHERE export_id = '{own}'"),
        format!(
            "INSERT INTO export_logs (user_id, format, config, request, conversation_count, status)
             VALUES ('{mallory}', 'jsonl', '{{}}', '{{}}', 1, 'queued')"
        ),
        format!("DELETE FROM export_logs WHERE export_id = '{own}'"),
        format!(
            "INSERT INTO export_audit_events (export_id, user_id, event, detail, seq, hash)
             VALUES ('{alices}', '{alice}', 'downloaded', '{{}}', 0, '')"
        ),
        format!(
            "INSERT INTO export_audit_events (export_id, user_id, event, detail, seq, hash)
             VALUES ('{own}', '{mallory}', 'completed', '{{\"metric\":{{\"file_size\":\"x\"}}}}', 0, '')"
        ),
        format!("SELECT export_job_enqueue('{own}', 1, 2000000000)"),
        format!("SELECT export_job_cancel('{alices}')"),
        format!("SELECT export_rate_limit_wait('{alice}', 1, interval '1 hour')"),
        "SELECT * FROM export_audit_verify(NULL)".to_owned(),
        "UPDATE export_jobs SET status = 'queued'".to_owned(),
        "DELETE FROM lora_export_migrations".to_owned(),
    ];
    for sql in &attacks {
        assert!(refused(as_postgrest_user(&service, mallory, sql).await), "refused: {sql}");
    }
    assert_eq!(
        service.create_export(mallory, &small_body("csv")).await.unwrap_err().http_status(),
        429,
        "the rate limit still holds"
    );
    let own_rows = as_postgrest_user(&service, mallory, "SELECT 1 FROM export_logs").await.unwrap();
    assert_eq!(own_rows, 2, "a user reads her own rows, and only those");
    let events =
        as_postgrest_user(&service, mallory, "SELECT 1 FROM export_audit_events").await.unwrap();
    assert!(events > 0);
    let others = format!("SELECT 1 FROM export_audit_events WHERE user_id = '{alice}'");
    assert_eq!(as_postgrest_user(&service, mallory, &others).await.unwrap(), 0);
    assert!(service.metrics(chrono::Utc::now() - chrono::Duration::hours(1)).await.is_ok());
    assert_audit_chain_intact(service.database()).await;
}

/// The privilege model in one table, checked in the catalog over every
/// table, sequence and function the migrations create in the library's
/// schema, on a database whose default privileges grant everything to
/// `anon` and `authenticated` — in `public`, as Supabase's does, and in
/// every schema. Nothing lands in `public`.
#[tokio::test(flavor = "multi_thread")]
async fn authenticated_and_anon_hold_only_the_reads_of_the_privilege_model() {
    let url = pg::empty_database().await;
    let (admin, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    admin
        .batch_execute(
            "DO $$ BEGIN
               IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN CREATE ROLE anon NOLOGIN; END IF;
               IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN CREATE ROLE authenticated NOLOGIN; END IF;
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
             ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated;
             ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON SEQUENCES TO anon, authenticated;
             ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON FUNCTIONS TO anon, authenticated;
             ALTER DEFAULT PRIVILEGES GRANT ALL ON TABLES TO anon, authenticated;
             ALTER DEFAULT PRIVILEGES GRANT ALL ON SEQUENCES TO anon, authenticated;
             ALTER DEFAULT PRIVILEGES GRANT ALL ON FUNCTIONS TO anon, authenticated;",
        )
        .await
        .unwrap();
    let db = lora_export::pg::Database::connect(&ServiceConfig::new(url.clone())).unwrap();
    db.migrate_with(pg::STAND_INS).await.unwrap();

    let tables = admin
        .query(
            "SELECT c.relname, r.role,
               has_table_privilege(r.role, c.oid, 'SELECT'),
               has_table_privilege(r.role, c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
                  (VALUES ('anon'), ('authenticated')) r(role)
             WHERE n.nspname = 'lora_export' AND c.relkind IN ('r', 'v', 'm', 'S')",
            &[],
        )
        .await
        .unwrap();
    let readable = ["conversations", "conversation_turns", "export_logs", "export_audit_events"];
    assert!(tables.len() >= 16, "{} tables checked", tables.len());
    for row in &tables {
        let (name, role): (String, String) = (row.get(0), row.get(1));
        let (select, write): (bool, bool) = (row.get(2), row.get(3));
        assert!(!write, "{role} can write {name}");
        let may_read = role == "authenticated" && readable.contains(&name.as_str());
        assert_eq!(select, may_read, "{role} SELECT on {name}");
    }
    let functions = admin
        .query(
            "SELECT p.oid::regprocedure::text, r.role
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace,
                  (VALUES ('anon'), ('authenticated')) r(role)
             WHERE n.nspname = 'lora_export' AND p.proname LIKE 'export%'
               AND has_function_privilege(r.role, p.oid, 'EXECUTE')",
            &[],
        )
        .await
        .unwrap();
    let callable: Vec<String> = functions
        .iter()
        .map(|r| format!("{} by {}", r.get::<_, String>(0), r.get::<_, String>(1)))
        .collect();
    assert!(callable.is_empty(), "callable through PostgREST: {callable:?}");
    let rls: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'lora_export' AND c.relkind = 'r' AND NOT c.relrowsecurity",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(rls, 0, "every table has row-level security");
    assert_eq!(pg::objects_in_public(&admin).await, 0, "the migrations create nothing in public");
    let schema_usage: Vec<bool> = admin
        .query_one(
            "SELECT ARRAY[has_schema_privilege('anon', 'lora_export', 'USAGE'),
                          has_schema_privilege('authenticated', 'lora_export', 'USAGE'),
                          has_schema_privilege('authenticated', 'lora_export', 'CREATE')]",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        schema_usage,
        [false, true, false],
        "anon, authenticated usage, authenticated create"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_revalidates_the_stored_request() {
    let (service, _) = service().await;
    let user = user(&service).await;
    // Well-formed for serde and for SQL, refused by validation.
    let request = serde_json::json!({
        "config": { "scope": "selected", "format": "jsonl" },
        "conversationIds": ["cs-0001", "cs-0001", " "],
    });
    let client = service.database().client().await.unwrap();
    let export_id: Uuid = client
        .query_one(
            "INSERT INTO export_logs (user_id, format, config, request, conversation_count, status)
             VALUES ($1, 'jsonl', $2, $3, 1, 'queued') RETURNING export_id",
            &[&user, &request["config"], &request],
        )
        .await
        .unwrap()
        .get(0);
    client
        .execute(
            "INSERT INTO export_jobs (export_id, status, total_items, max_attempts)
             VALUES ($1, 'queued', 1, 1)",
            &[&export_id],
        )
        .await
        .unwrap();
    service.process_jobs(1).await.unwrap();
    let status = service.status(user, export_id).await.unwrap();
    assert_eq!(status.status, ExportStatus::Failed);
    assert!(
        status.error_message.unwrap().contains("duplicate_id"),
        "the validation reason is recorded"
    );
    assert!(files_of(&service, user, export_id).is_empty());
}

/// A row that a bug (or a hand-edit) changed never makes the service serve
/// or delete another user's file.
#[tokio::test(flavor = "multi_thread")]
async fn the_served_and_deleted_file_is_derived_from_owner_id_and_format() {
    let (service, _) = service().await;
    let (alice, mallory) = (user(&service).await, user(&service).await);
    let alices = service.create_export(alice, &small_body("jsonl")).await.unwrap().export_id();
    let own = service.create_export(mallory, &small_body("csv")).await.unwrap().export_id();
    let alice_key = service.status(alice, alices).await.unwrap().file_url.unwrap();
    let client = service.database().client().await.unwrap();
    client
        .execute("UPDATE export_logs SET file_url = $2 WHERE export_id = $1", &[&own, &alice_key])
        .await
        .unwrap();
    let alice_bytes = read_all(service.open_download(alice, alices).await.unwrap().file).await;
    if let Ok(download) = service.open_download(mallory, own).await {
        let bytes = read_all(download.file).await;
        assert_ne!(bytes, alice_bytes, "mallory is served her own file, not alice's");
    }
    service.delete(mallory, own).await.unwrap();
    let key = FileKey::parse(&alice_key).unwrap();
    assert!(
        service.storage().exists(&key).await.unwrap(),
        "alice's file survives mallory's delete"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn download_headers_come_from_the_file_not_the_row() {
    let (service, _) = service().await;
    let user = user(&service).await;
    let id = service.create_export(user, &small_body("jsonl")).await.unwrap().export_id();
    admin_sql(service.database(), "UPDATE export_logs SET file_size = 1 WHERE export_id = $1", id)
        .await;
    match service.open_download(user, id).await {
        Ok(download) => {
            let size = download.size;
            assert_eq!(
                Some(read_all(download.file).await.len() as u64),
                size,
                "Content-Length is true"
            );
        }
        Err(e) => assert_eq!(e.http_status(), 500, "a file that disagrees with its log is refused"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forged_metric_cannot_break_metrics() {
    let (service, _) = service().await;
    let user = user(&service).await;
    let id = service.create_export(user, &small_body("jsonl")).await.unwrap().export_id();
    admin_sql(
        service.database(),
        "INSERT INTO export_audit_events (export_id, user_id, event, detail, seq, hash)
         SELECT export_id, user_id, 'completed',
                '{\"metric\":{\"file_size\":\"abc\",\"duration_ms\":\"x\",\"format\":\"jsonl\"}}', 0, ''
         FROM export_logs WHERE export_id = $1",
        id,
    )
    .await;
    let report = service.metrics(chrono::Utc::now() - chrono::Duration::hours(1)).await.unwrap();
    assert_eq!(report.completed, 2);
}

// Finding 3: the append-only audit trail had an escape hatch.
#[tokio::test(flavor = "multi_thread")]
async fn no_setting_and_no_role_opens_the_audit_guard() {
    let (service, _) = service().await;
    let user = user(&service).await;
    let id = service.create_export(user, &small_body("jsonl")).await.unwrap().export_id();
    for role in ["service_role", "postgres"] {
        let mut client = superuser(&service).await;
        let tx = client.transaction().await.unwrap();
        tx.batch_execute(&format!("SET LOCAL ROLE {role}")).await.unwrap();
        tx.execute("SELECT set_config('lora_export.audit_retention_days', '-1', true)", &[])
            .await
            .unwrap();
        let deleted =
            tx.execute("DELETE FROM export_audit_events WHERE export_id = $1", &[&id]).await;
        assert!(deleted.is_err(), "{role} deleted recent audit events");
    }
    assert!(events(service.database(), id).await.len() >= 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_detects_a_removed_tail_and_a_removed_chain() {
    let (service, _) = service().await;
    let user = user(&service).await;
    let tail = service.create_export(user, &small_body("jsonl")).await.unwrap().export_id();
    let whole = service.create_export(user, &small_body("csv")).await.unwrap().export_id();
    let mut client = superuser(&service).await;
    let tx = client.transaction().await.unwrap();
    // A superuser with the triggers off: the one way left to delete events.
    tx.batch_execute("SET LOCAL session_replication_role = replica").await.unwrap();
    tx.execute(
        "DELETE FROM export_audit_events WHERE export_id = $1
           AND seq = (SELECT max(seq) FROM export_audit_events WHERE export_id = $1)",
        &[&tail],
    )
    .await
    .unwrap();
    tx.execute("DELETE FROM export_audit_events WHERE export_id = $1", &[&whole]).await.unwrap();
    tx.commit().await.unwrap();
    let problems: Vec<Uuid> = client
        .query("SELECT export_id FROM export_audit_verify(NULL)", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(problems.contains(&tail), "a removed tail is reported");
    assert!(problems.contains(&whole), "a removed chain is reported");
}

// Finding 4: a worker that paused past `stale_after` deleted the file of
// the export its rescuer had completed.
#[tokio::test(flavor = "multi_thread")]
async fn a_worker_that_lost_its_lease_never_removes_the_rescuers_file() {
    let (service, _) = service_with(|c| c.stale_after = Duration::from_secs(1)).await;
    let user = user(&service).await;
    let body = body("all", "jsonl");
    let export_id = service.create_export(user, &body).await.unwrap().export_id();
    let mut options = WorkerOptions::new("paused");
    options.max_jobs = Some(1);
    options.throttle = Some(Duration::from_millis(2500));
    let paused = tokio::spawn({
        let service = service.clone();
        async move { service.run_worker(options).await }
    });
    wait_for_log(&service, user, "processing").await;
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(service.process_jobs(1).await.unwrap(), 1, "the stale job is rescued");
    assert_eq!(service.status(user, export_id).await.unwrap().status, ExportStatus::Completed);
    let report = paused.await.unwrap().unwrap();
    assert_eq!(report.stopped, 1, "the paused worker notices it lost its lease");
    let download = service.open_download(user, export_id).await.expect("the file is still there");
    assert_eq!(Some(read_all(download.file).await.len() as u64), download.size);
    assert_eq!(files_of(&service, user, export_id).len(), 1, "one file, no staged leftovers");
    assert_audit_chain_intact(service.database()).await;
}

// Finding 5: a synchronous export whose process died stayed `processing`.
#[tokio::test(flavor = "multi_thread")]
async fn a_synchronous_export_whose_process_died_is_rescued() {
    let (service, _) = service_with(|c| c.stale_after = Duration::from_secs(1)).await;
    let gate = GatedStorage::new(&service.config().storage_root);
    let service = service.with_storage(gate.clone());
    let user = user(&service).await;
    let run = tokio::spawn({
        let service = service.clone();
        async move { service.create_export(user, &small_body("jsonl")).await }
    });
    let export_id = wait_for_log(&service, user, "processing").await;
    run.abort(); // the process dies mid-run: nothing more of it reaches the database
    let _ = run.await;
    gate.open_gate();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(service.process_jobs(1).await.unwrap(), 1, "a worker rescues the dead run");
    let status = service.status(user, export_id).await.unwrap();
    assert_eq!(status.status, ExportStatus::Completed);
    let download = service.open_download(user, export_id).await.unwrap();
    assert_eq!(Some(read_all(download.file).await.len() as u64), download.size);
    assert_audit_chain_intact(service.database()).await;
}

// Finding 6: deleting a running synchronous export orphaned its file.
#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_running_synchronous_export_leaves_no_file() {
    let (service, _) = service().await;
    let gate = GatedStorage::new(&service.config().storage_root);
    let service = service.with_storage(gate.clone());
    let user = user(&service).await;
    let run = tokio::spawn({
        let service = service.clone();
        async move { service.create_export(user, &small_body("jsonl")).await }
    });
    let export_id = wait_for_log(&service, user, "processing").await;
    service.delete(user, export_id).await.unwrap();
    gate.open_gate();
    let outcome = run.await.unwrap();
    assert!(outcome.is_err(), "the deleted run does not complete");
    assert!(files_of(&service, user, export_id).is_empty(), "no file is left behind");
    assert_eq!(service.status(user, export_id).await.unwrap_err().http_status(), 404);
    assert_audit_chain_intact(service.database()).await;
}

// Suspected: delete (logs → jobs) and completion (jobs → logs) take their
// locks in opposite orders; a deadlock between them could orphan a file.
#[tokio::test(flavor = "multi_thread")]
async fn delete_racing_completion_neither_deadlocks_nor_orphans_a_file() {
    let (service, _) = service_with(|c| c.rate_limit_per_hour = 1000).await;
    let user = user(&service).await;
    for round in 0..12 {
        let export_id =
            service.create_export(user, &body("all", "jsonl")).await.unwrap().export_id();
        let worker = tokio::spawn({
            let service = service.clone();
            async move { service.process_jobs(1).await }
        });
        tokio::time::sleep(Duration::from_millis(round * 3)).await;
        let deleted = service.delete(user, export_id).await;
        assert!(deleted.is_ok(), "round {round}: delete failed: {deleted:?}");
        worker.await.unwrap().unwrap();
        assert!(files_of(&service, user, export_id).is_empty(), "round {round}: file left");
    }
    assert_audit_chain_intact(service.database()).await;
}

// Suspected: auth.uid() prefers `request.jwt.claim.sub`; a stale
// session-level value on a pooled connection would win over the claims.
#[tokio::test(flavor = "multi_thread")]
async fn a_stale_claim_on_a_pooled_connection_never_decides_the_user() {
    let (service, _) = service_with(|c| c.pool_size = 2).await;
    let (alice, mallory) = (user(&service).await, user(&service).await);
    service.create_export(alice, &small_body("jsonl")).await.unwrap();
    {
        let (a, b) = (
            service.database().client().await.unwrap(),
            service.database().client().await.unwrap(),
        );
        for client in [&a, &b] {
            client
                .execute(
                    "SELECT set_config('request.jwt.claim.sub', $1, false)",
                    &[&alice.to_string()],
                )
                .await
                .unwrap();
        }
    }
    let page = service.history(mallory, &HistoryQuery::default()).await.unwrap();
    assert_eq!(page.total, 0, "mallory sees none of alice's exports");
}

// Suspected: the retention purge deleted logs whose files were never removed.
#[tokio::test(flavor = "multi_thread")]
async fn the_retention_purge_never_orphans_a_file() {
    let (service, _) = service().await;
    let user = user(&service).await;
    let id = service.create_export(user, &small_body("jsonl")).await.unwrap().export_id();
    admin_sql(
        service.database(),
        "UPDATE export_logs SET created_at = now() - interval '40 days',
           expires_at = now() - interval '39 days' WHERE export_id = $1",
        id,
    )
    .await;
    service.purge_old_logs().await.unwrap();
    let left = files_of(&service, user, id);
    let row = log_status(&service, id).await;
    assert!(left.is_empty() || row.is_some(), "purged log left its file: {left:?}");
}

// Finding 8: database text reached clients.
#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_user_is_a_clear_401() {
    let (service, _) = service().await;
    let err = service.create_export(Uuid::new_v4(), &small_body("jsonl")).await.unwrap_err();
    assert_eq!((err.code(), err.http_status()), ("UNKNOWN_USER", 401));
    assert!(!err.to_string().contains("constraint"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unmigrated_database_is_an_error_naming_migrate() {
    let mut config = ServiceConfig::new(pg::empty_database().await);
    config.storage_root = std::env::temp_dir().join(format!("lora-unmigrated-{}", Uuid::new_v4()));
    let service = ExportService::connect(config).unwrap();
    let err = service.create_export(Uuid::new_v4(), &small_body("jsonl")).await.unwrap_err();
    assert_eq!(err.code(), "DATABASE_NOT_MIGRATED", "{err}");
    assert!(err.to_string().contains("migrate()"), "{err}");
    let err = service.history(Uuid::new_v4(), &HistoryQuery::default()).await.unwrap_err();
    assert_eq!(err.code(), "DATABASE_NOT_MIGRATED", "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_failure_answers_a_safe_message_with_an_error_id() {
    let (service, _) = service().await;
    let user = user(&service).await;
    service
        .database()
        .client()
        .await
        .unwrap()
        .batch_execute("ALTER TABLE export_logs RENAME COLUMN file_name TO file_name_gone")
        .await
        .unwrap();
    let err = service.history(user, &HistoryQuery::default()).await.unwrap_err();
    assert_eq!((err.code(), err.http_status()), ("DATABASE_ERROR", 500));
    let message = err.to_string();
    assert!(!message.contains("file_name"), "no database text: {message}");
    assert!(message.contains("error id"), "{message}");
}

/// Migration 7 also repairs a database migrated with the earlier schema:
/// its users' write grants and policies go, its audit chains get their
/// heads (and an anchor where a purge already removed a prefix), and every
/// chain still verifies.
#[tokio::test(flavor = "multi_thread")]
async fn the_privilege_migration_repairs_a_database_of_the_earlier_schema() {
    let url = pg::empty_database().await;
    let (admin, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    pg::apply_first_migrations(&admin, "lora_export", 6).await;
    let user = Uuid::new_v4();
    admin.execute("INSERT INTO auth.users (id) VALUES ($1)", &[&user]).await.unwrap();
    let mut exports = Vec::new();
    for _ in 0..2 {
        let id: Uuid = admin
            .query_one(
                "INSERT INTO export_logs (user_id, format, config, conversation_count, status)
                 VALUES ($1, 'jsonl', '{}', 1, 'queued') RETURNING export_id",
                &[&user],
            )
            .await
            .unwrap()
            .get(0);
        for event in ["requested", "queued", "started"] {
            admin
                .execute(
                    "INSERT INTO export_audit_events (export_id, user_id, event, detail, seq, hash)
                     VALUES ($1, $2, $3, '{}', 0, '')",
                    &[&id, &user, &event],
                )
                .await
                .unwrap();
        }
        exports.push(id);
    }
    // The earlier purge removed the first event of the second export.
    admin
        .batch_execute(&format!(
            "BEGIN; SET LOCAL lora_export.audit_retention_days = '-1';
             DELETE FROM export_audit_events WHERE export_id = '{}' AND seq = 1; COMMIT;",
            exports[1]
        ))
        .await
        .unwrap();
    let db = lora_export::pg::Database::connect(&ServiceConfig::new(url.clone())).unwrap();
    let newest = lora_export::pg::MIGRATIONS.last().unwrap().0;
    assert_eq!(db.migrate().await.unwrap(), (7..=newest).collect::<Vec<_>>());
    let problems = admin.query("SELECT * FROM export_audit_verify(NULL)", &[]).await.unwrap();
    assert!(problems.is_empty(), "{} problems after the repair", problems.len());
    let heads: i64 =
        admin.query_one("SELECT count(*) FROM export_audit_heads", &[]).await.unwrap().get(0);
    assert_eq!(heads, 2);
    let policies: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_policies WHERE tablename IN ('export_logs', 'export_audit_events')
               AND cmd <> 'SELECT' AND roles && ARRAY['public', 'anon', 'authenticated']::name[]",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(policies, 0, "no policy lets a user write");
    let writable: bool = admin
        .query_one("SELECT has_table_privilege('authenticated', 'export_logs', 'UPDATE')", &[])
        .await
        .unwrap()
        .get(0);
    assert!(!writable);
    admin
        .execute(
            "INSERT INTO export_audit_events (export_id, user_id, event, detail, seq, hash)
             VALUES ($1, $2, 'failed', '{}', 0, '')",
            &[&exports[1], &user],
        )
        .await
        .unwrap();
    let problems = admin.query("SELECT * FROM export_audit_verify(NULL)", &[]).await.unwrap();
    assert!(problems.is_empty(), "new events chain on from the repaired head");
}

/// The staged (`.partial`) files under `user`'s folder, nested ones included.
fn staged_files(service: &ExportService, user: Uuid) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut folders = vec![service.config().storage_root.join(user.to_string())];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(folder).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type().unwrap().is_dir() {
                folders.push(entry.path());
            } else if name.starts_with('.') && name.ends_with(".partial") {
                found.push(entry.path());
            }
        }
    }
    found
}

// Issue 33, finding 10: cleanup deleted a running export's staged shards
// by their age; a file of a run whose lease is alive is kept whatever its
// age, and removed once the lease has expired.
#[tokio::test(flavor = "multi_thread")]
async fn cleanup_keeps_a_live_runs_staged_files_and_removes_an_expired_ones() {
    let (service, _) = service().await;
    let user = user(&service).await;
    let export_id = service.create_export(user, &body("all", "jsonl")).await.unwrap().export_id();
    let db = service.database();
    let claim = "UPDATE export_jobs SET status = 'running', locked_by = 'live-worker',
                   attempts = 1, heartbeat_at = now() WHERE export_id = $1";
    assert_eq!(admin_sql(db, claim, export_id).await, 1);
    let keys = [
        FileKey::part(user, export_id, "train-00000-of-00002.jsonl").unwrap(),
        FileKey::part(user, export_id, "train-00001-of-00002.jsonl").unwrap(),
        FileKey::new(user, export_id, "jsonl").unwrap(),
    ];
    let mut staged = Vec::new();
    for key in &keys {
        let mut file = service.storage().stage(key).unwrap();
        file.write_all(b"{}\n").unwrap();
        staged.push(file);
    }
    // A long run: its shards were written an hour ago, it is still heartbeating.
    let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    for path in staged_files(&service, user) {
        std::fs::File::options().write(true).open(path).unwrap().set_modified(hour_ago).unwrap();
    }
    let beat = "UPDATE export_jobs SET heartbeat_at = now() WHERE export_id = $1";
    assert_eq!(admin_sql(db, beat, export_id).await, 1);
    let report = service.cleanup_expired().await.unwrap();
    assert_eq!(report.staged_files_deleted, 0, "the run's lease is alive");
    assert_eq!(staged_files(&service, user).len(), 3);

    let expire =
        "UPDATE export_jobs SET heartbeat_at = now() - interval '1 hour' WHERE export_id = $1";
    assert_eq!(admin_sql(db, expire, export_id).await, 1);
    let report = service.cleanup_expired().await.unwrap();
    assert_eq!(report.staged_files_deleted, 3, "the lease expired: its writer is dead");
    assert!(staged_files(&service, user).is_empty());
    drop(staged);
}

/// What the database owner does to rewrite history: an event's detail
/// changed, the unkeyed chain recomputed from it to the head, the triggers
/// off (the owner may), and — when `reseal` — the event's seal replaced by
/// one made with `reseal`'s key.
async fn rewrite_as_owner(service: &ExportService, export_id: Uuid, reseal: Option<&[u8]>) {
    let mut client = superuser(service).await;
    let tx = client.transaction().await.unwrap();
    tx.batch_execute("SET LOCAL session_replication_role = replica").await.unwrap();
    tx.execute(
        "UPDATE export_audit_events SET detail = detail || '{\"format\": \"csv\"}'
         WHERE export_id = $1 AND seq = 1",
        &[&export_id],
    )
    .await
    .unwrap();
    let rehash = format!(
        "DO $$ DECLARE r RECORD; v_prev TEXT := NULL; BEGIN
           FOR r IN SELECT * FROM export_audit_events WHERE export_id = '{export_id}' ORDER BY seq LOOP
             UPDATE export_audit_events SET prev_hash = v_prev,
               hash = export_audit_event_hash(v_prev, r.export_id, r.user_id, r.seq, r.event,
                                              r.detail, r.created_at)
             WHERE id = r.id RETURNING hash INTO v_prev;
           END LOOP;
           UPDATE export_audit_heads SET last_hash = v_prev WHERE export_id = '{export_id}';
         END $$"
    );
    tx.batch_execute(&rehash).await.unwrap();
    if let Some(key) = reseal {
        let rows = tx
            .query("SELECT id, hash FROM export_audit_events WHERE export_id = $1", &[&export_id])
            .await
            .unwrap();
        for row in rows {
            use hmac::{Hmac, Mac};
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
            mac.update(row.get::<_, &str>(1).as_bytes());
            let mac: String =
                mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
            let id: i64 = row.get(0);
            tx.execute("UPDATE export_audit_seals SET mac = $2 WHERE event_id = $1", &[&id, &mac])
                .await
                .unwrap();
        }
    }
    tx.commit().await.unwrap();
}

// Issue 33: the audit chain was an unkeyed hash its owning role could
// rewrite and re-hash. Keyed with a secret held outside the database, a
// rewrite by the owner — re-hashed, even re-sealed with a wrong key — is
// reported; the unkeyed check alone is fooled.
#[tokio::test(flavor = "multi_thread")]
async fn a_rewrite_by_the_database_owner_breaks_the_keyed_chain() {
    let key = "an audit key of 32 bytes or more, kept out of the db";
    let (service, _) = service_with(|c| c.audit_key = Some(key.into())).await;
    let user = user(&service).await;
    let export_id = service.create_export(user, &small_body("jsonl")).await.unwrap().export_id();
    read_all(service.open_download(user, export_id).await.unwrap().file).await;
    let other = service.create_export(user, &small_body("csv")).await.unwrap().export_id();
    let expire =
        "UPDATE export_logs SET expires_at = now() - interval '1 minute' WHERE export_id = $1";
    assert_eq!(admin_sql(service.database(), expire, other).await, 1);
    assert_eq!(
        service.mark_expired_exports().await.unwrap(),
        1,
        "its `expired` event is sealed too"
    );
    assert_eq!(
        service.verify_audit(None).await.unwrap(),
        [],
        "every event sealed, the chain intact"
    );

    rewrite_as_owner(&service, export_id, None).await;
    assert_audit_chain_intact(service.database()).await; // the unkeyed chain is fooled
    let problems = service.verify_audit(None).await.unwrap();
    let named: Vec<_> = problems.iter().map(|p| (p.export_id, p.seq)).collect();
    assert_eq!(
        named,
        (1..=4).map(|seq| (export_id, Some(seq))).collect::<Vec<_>>(),
        "{problems:?}"
    );
    assert!(problems[0].problem.starts_with("modified: the seal does not match"));
    assert_eq!(service.verify_audit(Some(other)).await.unwrap(), [], "another export is intact");

    rewrite_as_owner(&service, export_id, Some(b"the owner's guess at the key, also 32+ bytes"))
        .await;
    assert_eq!(
        service.verify_audit(Some(export_id)).await.unwrap().len(),
        4,
        "a wrong key's seals"
    );

    // The same rewrite, seals deleted: each event is reported unsealed.
    let strip = "DELETE FROM export_audit_seals WHERE event_id IN
                   (SELECT id FROM export_audit_events WHERE export_id = $1)";
    assert_eq!(admin_sql(service.database(), strip, export_id).await, 4);
    let problems = service.verify_audit(Some(export_id)).await.unwrap();
    assert!(problems.iter().all(|p| p.problem.starts_with("unsealed")), "{problems:?}");
    assert_eq!(problems.len(), 4);
}

// Without a key nothing is sealed, and `verify_audit` is the unkeyed check:
// it reports what `export_audit_verify` reports (and says so in its docs).
#[tokio::test(flavor = "multi_thread")]
async fn without_an_audit_key_verify_is_the_unkeyed_check() {
    let (service, _) = service().await;
    let user = user(&service).await;
    let export_id = service.create_export(user, &small_body("jsonl")).await.unwrap().export_id();
    let seals: i64 = service
        .database()
        .client()
        .await
        .unwrap()
        .query_one("SELECT count(*) FROM export_audit_seals", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(seals, 0);
    assert_eq!(service.verify_audit(None).await.unwrap(), []);
    let forge = "UPDATE export_audit_events SET detail = '{}' WHERE export_id = $1 AND seq = 1";
    let mut client = superuser(&service).await;
    let tx = client.transaction().await.unwrap();
    tx.batch_execute("SET LOCAL session_replication_role = replica").await.unwrap();
    tx.execute(forge, &[&export_id]).await.unwrap();
    tx.commit().await.unwrap();
    let problems = service.verify_audit(None).await.unwrap();
    assert_eq!(problems.len(), 1, "a change not re-hashed is still found: {problems:?}");
    assert!(problems[0].problem.starts_with("modified: hash does not match"));
}

// Issue 33, finding 10: the sweep of expired and failed exports' files
// skips an export whose run still holds a live lease (a log marked failed
// while its run goes on), and removes them once the lease has expired.
#[tokio::test(flavor = "multi_thread")]
async fn cleanup_leaves_the_files_of_a_failed_export_whose_run_is_alive() {
    let (service, _) = service().await;
    let user = user(&service).await;
    let export_id = service.create_export(user, &small_body("jsonl")).await.unwrap().export_id();
    let db = service.database();
    let fail = "UPDATE export_logs SET status = 'failed', error_message = 'x' WHERE export_id = $1";
    assert_eq!(admin_sql(db, fail, export_id).await, 1);
    let alive = "UPDATE export_jobs SET status = 'running', locked_by = 'live-worker',
                   heartbeat_at = now() WHERE export_id = $1";
    assert_eq!(admin_sql(db, alive, export_id).await, 1);
    let report = service.cleanup_expired().await.unwrap();
    assert_eq!(report.files_deleted, 0, "the run's lease is alive");
    assert_eq!(files_of(&service, user, export_id).len(), 1);

    let expire =
        "UPDATE export_jobs SET heartbeat_at = now() - interval '1 hour' WHERE export_id = $1";
    assert_eq!(admin_sql(db, expire, export_id).await, 1);
    let report = service.cleanup_expired().await.unwrap();
    assert_eq!(report.files_deleted, 1);
    assert!(files_of(&service, user, export_id).is_empty());
}
