//! Limits and quotas of the export service (issue 37), against a real
//! PostgreSQL: an export that selects nothing is refused before anything is
//! logged, and each limit answers its typed error at its bound.

#[path = "support/pg.rs"]
mod pg;
#[path = "support/service.rs"]
mod support;

use lora_export::pg::ExportService;
use serde_json::{json, Value};
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
