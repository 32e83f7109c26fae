//! The export modal's and the history page's operations against a real
//! PostgreSQL: the counts per scope agree with what an export of that scope
//! takes, the preview is what the export writes, the conversations page,
//! retry from a failed or expired export, HEAD without counting a
//! download, the audit trail as CSV, and the history's sort and admin view.

#[path = "support/pg.rs"]
mod pg;
#[path = "support/service.rs"]
mod support;

use lora_export::audit::ExportStatus;
use lora_export::pg::{
    AuditScope, CreateOutcome, HistoryQuery, HistorySort, SortOrder, AUDIT_CSV_HEADER,
};
use serde_json::json;
use support::*;

#[tokio::test(flavor = "multi_thread")]
async fn each_scope_count_is_what_an_export_of_that_scope_takes() {
    let (service, _) = service_with(|c| c.rate_limit_per_hour = 100).await;
    let user = user(&service).await;
    let selection = json!({
        "conversationIds": ["cs-0001", "cs-0002", "cs-0004", "no-such-id"],
        "filters": { "tierTypes": ["edge_case"], "qualityRange": { "min": 0, "max": 10 } },
    });
    let counts = service.count_scopes(user, &selection).await.unwrap();
    assert_eq!((counts.selected, counts.all, counts.all_data), (3, 32, 46));
    for (scope, expected) in [
        ("selected", counts.selected),
        ("filtered", counts.filtered),
        ("all", counts.all),
        ("all_data", counts.all_data),
    ] {
        let mut body = body(scope, "jsonl");
        body["conversationIds"] = selection["conversationIds"].clone();
        body["filters"] = selection["filters"].clone();
        if scope != "selected" {
            body.as_object_mut().unwrap().remove("conversationIds");
        }
        if scope != "filtered" {
            body.as_object_mut().unwrap().remove("filters");
        }
        let export_id = service.create_export(user, &body).await.unwrap().export_id();
        let logged = service.status(user, export_id).await.unwrap().conversation_count;
        assert_eq!(logged, expected, "scope {scope}");
    }
    assert!(counts.filtered > 0 && counts.filtered < counts.all_data, "{counts:?}");

    let nothing = service.count_scopes(user, &json!({ "conversationIds": [] })).await.unwrap();
    assert_eq!((nothing.selected, nothing.filtered), (0, 46), "no ids, no filters");
    let bad = json!({ "filters": { "qualityRange": { "min": 7, "max": 11 } }, "conversationIds": "x", "sort": 1 });
    let err = service.count_scopes(user, &bad).await.unwrap_err();
    assert_eq!((err.http_status(), err.code()), (400, "VALIDATION_ERROR"));
    let paths: Vec<&str> = err.issues().iter().map(|i| i.path.as_str()).collect();
    assert_eq!(paths, ["sort"], "unknown keys first: {:?}", err.issues());
    let err = service.count_scopes(user, &json!({ "filters": { "qualityRange": { "min": 7, "max": 11 } }, "conversationIds": "x" })).await.unwrap_err();
    let paths: Vec<&str> = err.issues().iter().map(|i| i.path.as_str()).collect();
    assert_eq!(paths, ["conversationIds", "filters.qualityRange.max"], "{:?}", err.issues());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_preview_is_what_the_export_writes_and_logs_nothing() {
    let (service, _) = service().await;
    let user = user(&service).await;
    for format in ["jsonl", "csv", "markdown", "json"] {
        let body = small_body(format);
        let preview = service.preview_export(user, &body, 3).await.unwrap();
        assert_eq!((preview.format.as_str(), preview.count), (format, 3));
        let export_id = service.create_export(user, &body).await.unwrap().export_id();
        let file = read_all(service.open_download(user, export_id).await.unwrap().file).await;
        let file = String::from_utf8(file).unwrap();
        if format == "json" {
            // A JSON export is one document that carries its export date.
            let undated = |text: &str| {
                let mut doc: serde_json::Value = serde_json::from_str(text).unwrap();
                doc.as_object_mut().unwrap().remove("export_date");
                doc
            };
            assert_eq!(undated(&preview.preview), undated(&file));
        } else {
            assert!(preview.preview == file, "{format}: the preview of all 3 is the file");
        }
        let two = service.preview_export(user, &body, 2).await.unwrap();
        assert_eq!(two.count, 2);
        assert!(two.preview.len() < preview.preview.len());
    }
    let logged = service.history(user, &HistoryQuery::default()).await.unwrap().total;
    assert_eq!(logged, 4, "only the exports are logged, not the previews");
    for n in [0, 11] {
        let err = service.preview_export(user, &small_body("csv"), n).await.unwrap_err();
        assert_eq!(err.issues()[0].path, "n");
    }
    let err = service.preview_export(user, &body("all", "xml"), 3).await.unwrap_err();
    assert_eq!(err.issues()[0].path, "config.format");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_conversations_page_uses_the_export_filters() {
    let (service, _) = service().await;
    let user = user(&service).await;
    let filters = json!({ "tierTypes": ["template"], "statuses": ["approved"] });
    let counts = service.count_scopes(user, &json!({ "filters": filters })).await.unwrap();
    let first =
        service.list_conversations(user, &json!({ "filters": filters, "limit": 5 })).await.unwrap();
    assert_eq!(first.total, counts.filtered);
    assert_eq!((first.items.len(), first.page, first.limit), (5, 1, 5));
    assert_eq!(first.total_pages, counts.filtered.div_ceil(5));
    assert!(first.items.iter().all(|c| c.tier == "template" && c.status == "approved"));
    assert!(first.items.windows(2).all(|w| w[0].created_at >= w[1].created_at), "newest first");
    let mut seen = std::collections::HashSet::new();
    for page in 1..=first.total_pages {
        let body = json!({ "filters": filters, "limit": 5, "page": page });
        for row in service.list_conversations(user, &body).await.unwrap().items {
            assert!(seen.insert(row.conversation_id), "a row on two pages");
        }
    }
    assert_eq!(seen.len() as u64, counts.filtered);
    let all = service.list_conversations(user, &json!(null)).await.unwrap();
    assert_eq!((all.total, all.limit, all.items.len()), (46, 25, 25));
    // A conversation imported without totalTurns shows the turns it has.
    let client = service.database().client().await.unwrap();
    client
        .execute("UPDATE conversations SET total_turns = 0 WHERE conversation_id = 'cs-0001'", &[])
        .await
        .unwrap();
    let one = json!({ "filters": { "searchQuery": "charged twice for the annual plan" } });
    let row = &service.list_conversations(user, &one).await.unwrap().items[0];
    assert_eq!((row.conversation_id.as_str(), row.turn_count), ("cs-0001", 4));
    let err = service
        .list_conversations(
            user,
            &json!({ "limit": 0, "page": "2", "filters": { "tierTypes": ["x"] } }),
        )
        .await
        .unwrap_err();
    let paths: Vec<&str> = err.issues().iter().map(|i| i.path.as_str()).collect();
    assert_eq!(paths, ["page", "limit", "filters.tierTypes[0]"], "{:?}", err.issues());
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_makes_a_new_export_from_an_expired_or_failed_one() {
    let (service, _) = service().await;
    let user = user(&service).await;
    let other = user_of_another(&service).await;
    let body = small_body("csv");
    let first = service.create_export(user, &body).await.unwrap().export_id();
    let err = service.retry_export(user, first).await.unwrap_err();
    assert_eq!((err.http_status(), err.code()), (409, "NOT_RETRYABLE"));
    assert_eq!(service.retry_export(other, first).await.unwrap_err().http_status(), 403);

    let sql =
        "UPDATE export_logs SET expires_at = now() - interval '1 minute' WHERE export_id = $1";
    admin_sql(service.database(), sql, first).await;
    let retried = service.retry_export(user, first).await.unwrap();
    let CreateOutcome::Completed { http_status: 201, export } = &retried else {
        panic!("{retried:?}")
    };
    assert_ne!(export.export_id, first);
    let bytes = read_all(service.open_download(user, export.export_id).await.unwrap().file).await;
    let date =
        service.history(user, &HistoryQuery::default()).await.unwrap().items[0].log.timestamp;
    assert_eq!(bytes, core_bytes(service.database(), &body, date).await);
    assert_eq!(service.status(user, first).await.unwrap().status, ExportStatus::Expired);
    assert_eq!(events(service.database(), first).await.last().unwrap(), "retried");

    let failed = service.create_export(user, &small_body("json")).await.unwrap().export_id();
    let sql = "UPDATE export_logs SET status = 'failed', error_message = 'disk full' WHERE export_id = $1";
    admin_sql(service.database(), sql, failed).await;
    assert_eq!(service.retry_export(user, failed).await.unwrap().http_status(), 201);
    assert_audit_chain_intact(service.database()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn inspecting_a_download_checks_it_without_counting_it() {
    let (service, _) = service().await;
    let user = user(&service).await;
    let export_id = service.create_export(user, &small_body("jsonl")).await.unwrap().export_id();
    for _ in 0..2 {
        let head = service.inspect_download(user, export_id).await.unwrap();
        let get = service.status(user, export_id).await.unwrap();
        assert_eq!(head.size, get.file_size);
        assert_eq!(head.content_type, "application/x-ndjson");
    }
    let page = service.history(user, &HistoryQuery::default()).await.unwrap();
    assert_eq!(page.items[0].log.download_count, 0);
    assert_eq!(events(service.database(), export_id).await, ["requested", "started", "completed"]);
    service.open_download(user, export_id).await.unwrap();
    let page = service.history(user, &HistoryQuery::default()).await.unwrap();
    assert_eq!(page.items[0].log.download_count, 1);
    let stranger = user_of_another(&service).await;
    assert_eq!(service.inspect_download(stranger, export_id).await.unwrap_err().http_status(), 403);
    let sql =
        "UPDATE export_logs SET expires_at = now() - interval '1 minute' WHERE export_id = $1";
    admin_sql(service.database(), sql, export_id).await;
    assert_eq!(service.inspect_download(user, export_id).await.unwrap_err().http_status(), 410);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_audit_trail_csv_is_the_users_own_and_every_users_only_for_an_admin() {
    let (service, _) = service().await;
    let (alice, bob) = (user(&service).await, user_of_another(&service).await);
    let mine = service.create_export(alice, &small_body("csv")).await.unwrap().export_id();
    let theirs = service.create_export(bob, &small_body("json")).await.unwrap().export_id();
    let csv = service.audit_trail_csv(alice, AuditScope::Own).await.unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_slice());
    assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>(), AUDIT_CSV_HEADER);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let events: Vec<&str> = rows.iter().map(|r| &r[4]).collect();
    assert_eq!(events, ["requested", "started", "completed"]);
    assert!(rows.iter().all(|r| r[1] == mine.to_string() && r[2] == alice.to_string()));
    assert!(!String::from_utf8(csv).unwrap().contains(&theirs.to_string()));
    let detail: serde_json::Value = serde_json::from_str(&rows[0][5]).unwrap();
    assert_eq!(detail["format"], "csv");
    assert_eq!(rows[1][6], rows[0][7], "each row carries the previous row's hash");

    let err = service.audit_trail_csv(alice, AuditScope::AllUsers).await.unwrap_err();
    assert_eq!((err.http_status(), err.code()), (403, "ADMIN_REQUIRED"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_history_sorts_by_a_column_and_every_users_is_only_for_an_admin() {
    let (service, _) = service().await;
    let (alice, bob) = (user(&service).await, user_of_another(&service).await);
    for (n, format) in [(2, "csv"), (3, "json"), (1, "markdown")] {
        let ids = &["cs-0001", "cs-0002", "cs-0004"][..n];
        let body =
            json!({ "config": { "scope": "selected", "format": format }, "conversationIds": ids });
        service.create_export(alice, &body).await.unwrap();
    }
    service.create_export(bob, &small_body("csv")).await.unwrap();
    let sorted = |sort, order| HistoryQuery { sort, order, ..HistoryQuery::default() };
    let counts = |page: lora_export::pg::HistoryPage| {
        page.items.iter().map(|i| i.log.conversation_count).collect::<Vec<_>>()
    };
    let by_count = sorted(HistorySort::ConversationCount, SortOrder::Asc);
    assert_eq!(counts(service.history(alice, &by_count).await.unwrap()), [1, 2, 3]);
    let page = service.history(alice, &sorted(HistorySort::Format, SortOrder::Desc)).await.unwrap();
    let formats: Vec<&str> = page.items.iter().map(|i| i.log.format.as_str()).collect();
    assert_eq!(formats, ["markdown", "json", "csv"]);

    // `user` is the admin history's; a bare user id is never an administrator.
    let mine = HistoryQuery { user: Some(bob), ..HistoryQuery::default() };
    let err = service.history(alice, &mine).await.unwrap_err();
    assert_eq!((err.code(), err.issues()[0].path.as_str()), ("VALIDATION_ERROR", "user"));
    let err = service.admin_history(alice, &HistoryQuery::default()).await.unwrap_err();
    assert_eq!((err.http_status(), err.code()), (403, "ADMIN_REQUIRED"));
}

/// A second user.
async fn user_of_another(service: &lora_export::pg::ExportService) -> uuid::Uuid {
    user(service).await
}
