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

/// Finding 8, seen failing on main (6be8e19): an anonymous session created
/// an `all_data` export and downloaded all 46 conversations
/// (`assertion failed: create_export: Ok(Completed { http_status: 201, … })`).
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

    let refused = |what: &str, result: Result<(), lora_export::Error>| match result {
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
