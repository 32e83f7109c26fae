//! Signed in is not allowed (issue 33): what a verified session may do
//! beyond its user id — anonymous sessions, the claims the app's own
//! policies read — against a real PostgreSQL with the bundled sample.

#[path = "support/pg.rs"]
mod pg;
#[path = "support/service.rs"]
mod support;
#[path = "support/tokens.rs"]
mod tokens;

use lora_export::pg::{AuditScope, ExportService, HistoryQuery, ServiceConfig};
use serde_json::json;
use support::*;
use tokio_postgres::error::SqlState;

/// Finding 8, seen failing on main (6be8e19): an anonymous session created
/// an export (`create_export: an anonymous session was served`).
/// Every user operation refuses it with 403 `ANONYMOUS_NOT_ALLOWED`
/// unless the app opts in with `LORA_EXPORT_ALLOW_ANONYMOUS`.
#[tokio::test(flavor = "multi_thread")]
async fn an_anonymous_session_is_refused_everywhere_unless_the_app_allows_it() {
    let (service, _) = service_with(tokens::verifying).await;
    let user = user(&service).await;
    let mut anonymous = tokens::claims(user);
    anonymous["is_anonymous"] = json!(true);
    anonymous["email"] = json!("");
    let guest = service.verify_session(&tokens::token(&anonymous)).await.unwrap();
    let member = service.verify_session(&tokens::token(&tokens::claims(user))).await.unwrap();
    let all_data = body("all_data", "jsonl");
    let export_id = service.create_export(&member, &small_body("jsonl")).await.unwrap().export_id();

    let refused = |what: &str, result: Result<(), lora_export::pg::Error>| match result {
        Err(e) => assert_eq!((e.code(), e.http_status()), ("ANONYMOUS_NOT_ALLOWED", 403), "{what}"),
        Ok(()) => panic!("{what}: an anonymous session was served"),
    };
    refused("create_export", service.create_export(&guest, &all_data).await.map(drop));
    refused("count_scopes", service.count_scopes(&guest, &json!({})).await.map(drop));
    refused("preview_export", service.preview_export(&guest, &all_data, 3).await.map(drop));
    refused("list_conversations", service.list_conversations(&guest, &json!({})).await.map(drop));
    refused("history", service.history(&guest, &HistoryQuery::default()).await.map(drop));
    refused("status", service.status(&guest, export_id).await.map(drop));
    refused("open_download", service.open_download(&guest, export_id).await.map(drop));
    refused("inspect_download", service.inspect_download(&guest, export_id).await.map(drop));
    refused("retry_export", service.retry_export(&guest, export_id).await.map(drop));
    refused("audit_trail_csv", service.audit_trail_csv(&guest, AuditScope::Own).await.map(drop));
    refused("delete", service.delete(&guest, export_id).await.map(drop));
    assert!(
        service.status(&member, export_id).await.is_ok(),
        "the same user, signed in, is served"
    );

    let config = service.config().clone();
    let mut allowing = ServiceConfig::from_lookup(|name| match name {
        "LORA_EXPORT_DATABASE_URL" => Some(config.database_url.clone()),
        "LORA_EXPORT_ALLOW_ANONYMOUS" => Some("true".into()),
        _ => None,
    })
    .unwrap();
    allowing.storage_root = config.storage_root.clone();
    tokens::verifying(&mut allowing);
    let service = ExportService::connect(allowing).unwrap();
    let guest = service.verify_session(&tokens::token(&anonymous)).await.unwrap();
    let export = service.create_export(&guest, &small_body("jsonl")).await.unwrap();
    let download = service.open_download(&guest, export.export_id()).await.unwrap();
    assert_eq!(read_all(download.file).await.iter().filter(|b| **b == b'\n').count(), 3);
}

/// The app's own policy on what exports read, deciding on claims beyond
/// `sub`: only a session that passed multi-factor sign-in (`aal2`) of the
/// `reviewers` team (`app_metadata`, which only the service role sets)
/// reads conversations. Written as Supabase's `auth.jwt()` reads the claims.
const APP_POLICY: &str = "
CREATE POLICY \"reviewers with mfa\" ON lora_export.conversations AS RESTRICTIVE
  FOR SELECT TO authenticated USING (
    (current_setting('request.jwt.claims', true)::jsonb ->> 'aal') = 'aal2'
    AND (current_setting('request.jwt.claims', true)::jsonb -> 'app_metadata' ->> 'team') = 'reviewers');
";

/// Mechanism of issue 33, seen failing on main (6be8e19): the user
/// transactions carried `{sub, role}` only, so the app's policy on `aal`
/// and `app_metadata` saw neither (`count_scopes as a reviewer with mfa:
/// left: 0, right: 46`). Every read as the user — counts, preview, the
/// conversations page, a synchronous export and a queued one run by a
/// worker (from the claims its job keeps) — now carries the verified
/// token's claims, as PostgREST does.
#[tokio::test(flavor = "multi_thread")]
async fn the_apps_policies_see_the_verified_claims_in_every_read_as_the_user() {
    let (service, _) = service_with(tokens::verifying).await;
    service.database().client().await.unwrap().batch_execute(APP_POLICY).await.unwrap();
    let user = user(&service).await;
    let mut strong = tokens::claims(user);
    strong["aal"] = json!("aal2");
    strong["app_metadata"]["team"] = json!("reviewers");
    let reviewer = service.verify_session(&tokens::token(&strong)).await.unwrap();
    let single_factor =
        service.verify_session(&tokens::token(&tokens::claims(user))).await.unwrap();

    let counts = service.count_scopes(&reviewer, &json!({})).await.unwrap();
    assert_eq!(counts.all_data, 46, "count_scopes as a reviewer with mfa");
    let counts = service.count_scopes(&single_factor, &json!({})).await.unwrap();
    assert_eq!(counts.all_data, 0, "count_scopes without mfa");
    assert_eq!(service.count_scopes(user, &json!({})).await.unwrap().all_data, 0, "a bare id");
    let preview = service.preview_export(&reviewer, &body("all_data", "jsonl"), 2).await.unwrap();
    assert_eq!(preview.count, 2, "preview");
    let page = service.list_conversations(&reviewer, &json!({})).await.unwrap();
    assert_eq!(page.total, 46, "conversations page");
    let page = service.list_conversations(&single_factor, &json!({})).await.unwrap();
    assert_eq!(page.total, 0, "conversations page without mfa");

    let small = service.create_export(&reviewer, &small_body("jsonl")).await.unwrap();
    let file = read_all(service.open_download(&reviewer, small.export_id()).await.unwrap().file);
    assert_eq!(file.await.iter().filter(|b| **b == b'\n').count(), 3, "synchronous export");

    let queued = service.create_export(&reviewer, &body("all_data", "jsonl")).await.unwrap();
    assert_eq!(queued.http_status(), 202, "46 conversations are queued");
    let kept = "SELECT claims FROM export_jobs WHERE export_id = $1";
    let client = service.database().client().await.unwrap();
    let stored: Option<serde_json::Value> =
        client.query_one(kept, &[&queued.export_id()]).await.unwrap().get(0);
    assert_eq!(stored.as_ref(), Some(reviewer.claims()), "the job keeps the verified claims");
    assert_eq!(service.process_jobs(1).await.unwrap(), 1);
    let stored: Option<serde_json::Value> =
        client.query_one(kept, &[&queued.export_id()]).await.unwrap().get(0);
    assert_eq!(stored, None, "and drops them when it ends");
    let status = service.status(&reviewer, queued.export_id()).await.unwrap();
    assert_eq!(status.conversation_count, 46);
    let file = read_all(service.open_download(&reviewer, queued.export_id()).await.unwrap().file);
    assert_eq!(file.await.iter().filter(|b| **b == b'\n').count(), 46, "the worker's export");
}

/// Mechanism of issue 33: the service's login owned every object, so a
/// `RESET ROLE` inside a user transaction gave the owner's rights. Seen
/// failing on main (6be8e19): a login that does not own the objects could
/// not run the service (`permission denied for table conversations`, at
/// the import; on a cluster without the role, `role
/// "lora_export_service" does not exist`). Now the
/// owner migrates; the service connects as a login that is only a member
/// of `lora_export_service` and `authenticated`, and the whole flow works;
/// a `RESET ROLE` in a user transaction is that login, which may not alter
/// the audit trail's guard, drop a table, or rewrite an event.
#[tokio::test(flavor = "multi_thread")]
async fn the_service_runs_as_a_login_that_does_not_own_its_objects() {
    let owner_url = pg::fresh_database().await;
    let (admin, conn) = tokio_postgres::connect(&owner_url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let login = format!("lora_svc_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    admin
        .batch_execute(&format!(
            "CREATE ROLE {login} LOGIN IN ROLE lora_export_service, authenticated"
        ))
        .await
        .unwrap();
    let (_, rest) = owner_url.split_once("://").unwrap();
    let (_, host_and_db) = rest.split_once('@').unwrap();
    let mut config = ServiceConfig::new(format!("postgres://{login}@{host_and_db}"));
    config.storage_root =
        std::env::temp_dir().join(format!("lora-export-nonowner-{}", uuid::Uuid::new_v4()));
    config.sync_threshold = 5;
    tokens::verifying(&mut config);
    let service = ExportService::connect(config).unwrap();
    assert_eq!(service.migrate().await.unwrap(), Vec::<i32>::new(), "nothing to apply");
    let sample = std::fs::File::open(SAMPLE).unwrap();
    let imported = service.import_conversations(std::io::BufReader::new(sample)).await.unwrap();
    assert_eq!(imported.imported, 46, "the importer runs as the login");
    let user = uuid::Uuid::new_v4();
    admin.execute("INSERT INTO auth.users (id) VALUES ($1)", &[&user]).await.unwrap();
    let session = service.verify_session(&tokens::token(&tokens::claims(user))).await.unwrap();

    let small = service.create_export(&session, &small_body("csv")).await.unwrap();
    assert_eq!(small.http_status(), 201);
    let queued = service.create_export(&session, &body("all_data", "jsonl")).await.unwrap();
    assert_eq!(queued.http_status(), 202);
    assert_eq!(service.process_jobs(1).await.unwrap(), 1);
    let status = service.status(&session, queued.export_id()).await.unwrap();
    assert_eq!(status.conversation_count, 46);
    let file = read_all(service.open_download(&session, queued.export_id()).await.unwrap().file);
    assert_eq!(file.await.iter().filter(|b| **b == b'\n').count(), 46);
    let history = service.history(&session, &HistoryQuery::default()).await.unwrap();
    assert_eq!(history.items.len(), 2);
    service.delete(&session, small.export_id()).await.unwrap();
    service.cleanup_expired().await.unwrap();
    service.purge_old_logs().await.unwrap();
    assert_audit_chain_intact(service.database()).await;

    let mut client = service.database().client().await.unwrap();
    let tx = lora_export::pg::Database::user_transaction(&mut client, user).await.unwrap();
    tx.batch_execute("RESET ROLE").await.unwrap();
    let me: String = tx.query_one("SELECT current_user::text", &[]).await.unwrap().get(0);
    assert_eq!(me, login);
    for attack in [
        "ALTER TABLE export_audit_events DISABLE TRIGGER USER",
        "DROP TABLE export_jobs",
        "UPDATE export_audit_events SET event = 'forged'",
        "ALTER TABLE export_logs DISABLE ROW LEVEL SECURITY",
        "CREATE FUNCTION forged() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    ] {
        tx.batch_execute("SAVEPOINT attack").await.unwrap();
        let refused = tx.batch_execute(attack).await.expect_err(attack);
        assert_eq!(refused.code(), Some(&SqlState::INSUFFICIENT_PRIVILEGE), "{attack}: {refused}");
        tx.batch_execute("ROLLBACK TO SAVEPOINT attack").await.unwrap();
    }
}
