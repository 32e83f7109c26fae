//! Limits and quotas of the export service (issue 37), against a real
//! PostgreSQL: an export that selects nothing is refused before anything is
//! logged, and each limit answers its typed error at its bound.

#[path = "support/pg.rs"]
mod pg;
#[path = "support/service.rs"]
mod support;

use lora_export::pg::ExportService;
use serde_json::json;
use support::*;

/// Rows of `table` in the service's database.
async fn rows(service: &ExportService, table: &str) -> i64 {
    let client = service.database().client().await.unwrap();
    client.query_one(&format!("SELECT count(*) FROM {table}"), &[]).await.unwrap().get(0)
}

/// Files under the service's storage root.
fn files(service: &ExportService) -> usize {
    walk(&service.config().storage_root)
}

fn walk(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries.flatten().map(|e| if e.path().is_dir() { walk(&e.path()) } else { 1 }).sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_export_that_selects_nothing_is_400_no_conversations_and_leaves_no_trace() {
    let (service, events) = service().await;
    let user = user(&service).await;
    let nothing = [
        json!({ "config": { "scope": "selected", "format": "jsonl" },
                "conversationIds": ["no-such-conversation"] }),
        json!({ "config": { "scope": "filtered", "format": "csv" },
                "filters": { "searchQuery": "a phrase no conversation holds 1f3e9a" } }),
    ];
    for body in &nothing {
        let err = service.create_export(user, body).await.unwrap_err();
        assert_eq!((err.http_status(), err.code()), (400, "NO_CONVERSATIONS"), "{body}: {err}");
        assert!(err.to_string().contains("no conversation"), "{err}");
    }
    // Every scope of an empty database, a dataset export among them.
    let admin = superuser(&service).await;
    admin.batch_execute("DELETE FROM conversation_turns; DELETE FROM conversations").await.unwrap();
    for body in [
        body("all", "json"),
        json!({ "config": { "scope": "all", "format": "jsonl" }, "dataset": {} }),
    ] {
        let err = service.create_export(user, &body).await.unwrap_err();
        assert_eq!((err.http_status(), err.code()), (400, "NO_CONVERSATIONS"), "{body}: {err}");
    }
    assert_eq!(rows(&service, "export_logs").await, 0, "nothing logged");
    assert_eq!(rows(&service, "export_audit_events").await, 0, "no audit event");
    assert_eq!(rows(&service, "export_jobs").await, 0, "no job");
    assert_eq!(files(&service), 0, "no file");
    assert!(events.lock().unwrap().is_empty(), "no metric event");
}

fn assert_refused(err: &lora_export::pg::Error, status: u16, code: &str) {
    assert_eq!((err.http_status(), err.code()), (status, code), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn more_conversations_than_the_limit_is_413_before_anything_is_logged() {
    let (service, _) = service_with(|c| c.max_conversations = 3).await;
    let user = user(&service).await;
    assert_eq!(service.create_export(user, &small_body("jsonl")).await.unwrap().http_status(), 201);
    let err = service.create_export(user, &body("all", "jsonl")).await.unwrap_err();
    assert_refused(&err, 413, "EXPORT_TOO_LARGE");
    assert!(err.to_string().contains("32 conversations selected, at most 3"), "{err}");
    assert_eq!(rows(&service, "export_logs").await, 1, "the refused one is not logged");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_past_the_byte_limit_fails_its_export_at_once_and_leaves_no_file() {
    let (service, _) = service_with(|c| {
        c.max_file_bytes = 300;
        c.sync_threshold = 4;
    })
    .await;
    let user = user(&service).await;
    let err = service.create_export(user, &small_body("jsonl")).await.unwrap_err();
    assert_refused(&err, 413, "EXPORT_TOO_LARGE");
    assert!(err.to_string().contains("300 bytes"), "{err}");
    let queued = service.create_export(user, &body("all", "jsonl")).await.unwrap();
    assert_eq!(queued.http_status(), 202);
    assert_eq!(service.process_jobs(10).await.unwrap(), 1);
    let status = service.status(user, queued.export_id()).await.unwrap();
    assert_eq!(status.status, lora_export::audit::ExportStatus::Failed);
    let message = status.error_message.unwrap();
    assert!(
        message.contains("300 bytes") && !message.contains("attempts"),
        "not retried: {message}"
    );
    assert_eq!(files(&service), 0, "no file, staged or committed");
    assert_audit_chain_intact(service.database()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_storage_quota_is_429_until_a_file_expires_or_is_deleted() {
    let (service, _) = service_with(|c| c.storage_quota_bytes = 1).await;
    let user = user(&service).await;
    let first = service.create_export(user, &small_body("jsonl")).await.unwrap().export_id();
    let err = service.create_export(user, &small_body("csv")).await.unwrap_err();
    assert_refused(&err, 429, "STORAGE_QUOTA_EXCEEDED");
    let retry = err.retry_after_secs().unwrap();
    assert!((23 * 3600..=24 * 3600).contains(&retry), "until the file expires: {retry}");
    let other = support::user(&service).await;
    assert_eq!(service.create_export(other, &small_body("csv")).await.unwrap().http_status(), 201);
    service.delete(user, first).await.unwrap();
    let second = service.create_export(user, &small_body("csv")).await.unwrap().export_id();
    assert_refused(
        &service.create_export(user, &small_body("csv")).await.unwrap_err(),
        429,
        "STORAGE_QUOTA_EXCEEDED",
    );
    admin_sql(
        service.database(),
        "UPDATE export_logs SET expires_at = now() - interval '1 second' WHERE export_id = $1",
        second,
    )
    .await;
    assert_eq!(service.create_export(user, &small_body("csv")).await.unwrap().http_status(), 201);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_users_jobs_and_the_queue_are_bounded_with_retry_after() {
    let (service, _) = service_with(|c| {
        c.sync_threshold = 1;
        c.max_jobs_per_user = 2;
        c.max_queued_jobs = 3;
    })
    .await;
    let (alice, bob, carol) = (user(&service).await, user(&service).await, user(&service).await);
    for _ in 0..2 {
        assert_eq!(
            service.create_export(alice, &body("all", "jsonl")).await.unwrap().http_status(),
            202
        );
    }
    let err = service.create_export(alice, &body("all", "jsonl")).await.unwrap_err();
    assert_refused(&err, 429, "QUEUE_FULL");
    assert!(err.to_string().contains("2 exports of a user"), "{err}");
    assert_eq!(err.retry_after_secs(), Some(30));
    assert_eq!(service.create_export(bob, &body("all", "jsonl")).await.unwrap().http_status(), 202);
    let err = service.create_export(carol, &body("all", "jsonl")).await.unwrap_err();
    assert_refused(&err, 429, "QUEUE_FULL");
    assert!(err.to_string().contains("3 exports waiting for a worker"), "{err}");
    assert_eq!(rows(&service, "export_logs").await, 3, "refusals are not logged");
    assert_eq!(service.process_jobs(10).await.unwrap(), 3);
    assert_eq!(
        service.create_export(carol, &body("all", "jsonl")).await.unwrap().http_status(),
        202
    );
    assert_eq!(
        service.create_export(alice, &body("all", "jsonl")).await.unwrap().http_status(),
        202
    );
}
