//! The export service against a real PostgreSQL: every operation of the
//! seeds' flows and each of its error answers, the rate limit under
//! concurrency, history, delete, cleanup, metrics — and after each test the
//! audit hash chain still verifies.

#[path = "support/pg.rs"]
mod pg;
#[path = "support/service.rs"]
mod support;

use std::sync::Arc;

use lora_export::audit::{content_disposition, ExportStatus};
use lora_export::model::Format;
use lora_export::pg::ErrorKind;
use lora_export::pg::{CreateOutcome, ErrorReport, FileKey, HistoryQuery, LocalStorage, Storage};
use support::*;
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread")]
async fn invalid_request_is_400_with_every_issue() {
    let (service, _) = service().await;
    let user = user(&service).await;
    let bad = serde_json::json!({
        "config": { "scope": "filtered", "format": "xml" },
        "filters": { "qualityRange": { "min": 7, "max": 11 } },
    });
    let err = service.create_export(user, &bad).await.unwrap_err();
    assert_eq!((err.http_status(), err.code()), (400, "VALIDATION_ERROR"));
    let paths: Vec<&str> = err.issues().iter().map(|i| i.path.as_str()).collect();
    assert!(
        paths.contains(&"config.format") && paths.contains(&"filters.qualityRange.max"),
        "{paths:?}"
    );
    let logs: i64 = service
        .database()
        .client()
        .await
        .unwrap()
        .query_one("SELECT count(*) FROM export_logs", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(logs, 0, "an invalid request leaves no trace");
}

#[tokio::test(flavor = "multi_thread")]
async fn small_export_is_201_and_downloads_exactly_the_core_bytes() {
    let (service, metrics) = service().await;
    let user = user(&service).await;
    let body = small_body("jsonl");
    let outcome = service.create_export(user, &body).await.unwrap();
    let CreateOutcome::Completed { http_status: 201, export } = &outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(export.conversation_count, 3);
    assert_eq!(
        export.file_name,
        format!("training-data-template-{}-3.jsonl", chrono::Utc::now().date_naive())
    );
    let json = serde_json::to_value(&outcome).unwrap();
    assert_eq!(
        (json["status"].as_str(), json["http_status"].as_u64()),
        (Some("completed"), Some(201))
    );

    let status = service.status(user, export.export_id).await.unwrap();
    assert_eq!((status.status, status.progress), (ExportStatus::Completed, Some(100)));
    assert_eq!(status.file_size, Some(export.file_size));

    let download = service.open_download(user, export.export_id).await.unwrap();
    assert_eq!(download.content_type, "application/x-ndjson");
    assert_eq!(download.content_disposition, content_disposition(&export.file_name));
    assert_eq!(
        (download.size, download.sha256.as_deref().unwrap_or_default()),
        (Some(export.file_size), export.sha256.as_str())
    );
    let bytes = read_all(download.file).await;
    let page = service.history(user, &HistoryQuery::default()).await.unwrap();
    let logged = &page.items[0].log;
    assert_eq!(bytes, core_bytes(service.database(), &body, logged.timestamp).await);
    assert_eq!(bytes.len() as u64, export.file_size);
    assert_eq!(logged.download_count, 1);
    assert!(logged.last_downloaded_at.is_some());

    assert_eq!(
        events(service.database(), export.export_id).await,
        ["requested", "started", "completed", "downloaded"]
    );
    let metrics = metrics.lock().unwrap().clone();
    assert_eq!(metrics.len(), 2);
    assert_eq!((metrics[0].status.as_str(), metrics[0].conversation_count), ("created", 3));
    assert_eq!((metrics[1].status.as_str(), metrics[1].file_size), ("completed", export.file_size));
    assert_audit_chain_intact(service.database()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn large_export_is_202_then_425_until_a_worker_completes_it() {
    let (service, _) = service().await;
    let user = user(&service).await;
    let outcome = service.create_export(user, &body("all", "csv")).await.unwrap();
    let CreateOutcome::Queued { http_status: 202, export_id } = outcome else {
        panic!("{outcome:?}")
    };
    let status = service.status(user, export_id).await.unwrap();
    assert_eq!(
        (status.status, status.progress, status.conversation_count),
        (ExportStatus::Queued, Some(0), 32)
    );
    let err = service.open_download(user, export_id).await.unwrap_err();
    assert_eq!((err.http_status(), err.code()), (425, "TOO_EARLY"));

    assert_eq!(service.process_jobs(10).await.unwrap(), 1);
    let status = service.status(user, export_id).await.unwrap();
    assert_eq!((status.status, status.progress), (ExportStatus::Completed, Some(100)));
    let progress: i32 = service
        .database()
        .client()
        .await
        .unwrap()
        .query_one("SELECT progress FROM export_jobs WHERE export_id = $1", &[&export_id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(progress, 100);
    let download = service.open_download(user, export_id).await.unwrap();
    assert_eq!(
        download.file_name,
        format!("training-data-mixed-{}-32.csv", chrono::Utc::now().date_naive())
    );
    let bytes = read_all(download.file).await;
    let date =
        service.history(user, &HistoryQuery::default()).await.unwrap().items[0].log.timestamp;
    assert_eq!(bytes, core_bytes(service.database(), &body("all", "csv"), date).await);
    assert_eq!(
        events(service.database(), export_id).await,
        ["requested", "queued", "started", "completed", "downloaded"]
    );
    assert_audit_chain_intact(service.database()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn another_users_export_is_403_and_an_unknown_id_404() {
    let (service, _) = service().await;
    let (alice, bob) = (user(&service).await, user(&service).await);
    let export_id = service.create_export(alice, &small_body("json")).await.unwrap().export_id();
    let statuses = [
        service.status(bob, export_id).await.unwrap_err(),
        service.open_download(bob, export_id).await.unwrap_err(),
        service.delete(bob, export_id).await.unwrap_err(),
    ];
    for err in &statuses {
        assert_eq!((err.http_status(), err.code()), (403, "FORBIDDEN"));
    }
    let unknown = Uuid::new_v4();
    for err in [
        service.status(alice, unknown).await.unwrap_err(),
        service.open_download(alice, unknown).await.unwrap_err(),
        service.delete(alice, unknown).await.unwrap_err(),
    ] {
        assert_eq!((err.http_status(), err.code()), (404, "NOT_FOUND"));
    }
    assert_eq!(service.history(bob, &HistoryQuery::default()).await.unwrap().total, 0);
    assert_eq!(service.status(alice, export_id).await.unwrap().status, ExportStatus::Completed);
    assert_audit_chain_intact(service.database()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_export_is_410_and_marked_expired() {
    let (service, _) = service().await;
    let user = user(&service).await;
    let export_id = service.create_export(user, &small_body("markdown")).await.unwrap().export_id();
    admin_sql(
        service.database(),
        "UPDATE export_logs SET expires_at = now() - interval '1 minute' WHERE export_id = $1",
        export_id,
    )
    .await;
    let err = service.open_download(user, export_id).await.unwrap_err();
    assert_eq!((err.http_status(), err.code()), (410, "GONE"));
    let status = service.status(user, export_id).await.unwrap();
    assert_eq!(status.status, ExportStatus::Expired);
    assert_eq!(status.file_url, None);
    assert_eq!(
        events(service.database(), export_id).await,
        ["requested", "started", "completed", "expired"]
    );
    let report = service.cleanup_expired().await.unwrap();
    assert_eq!((report.marked_expired, report.files_deleted, report.failures.len()), (0, 1, 0));
    assert_audit_chain_intact(service.database()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_export_reports_a_safe_error_everywhere() {
    let (service, metrics) = service().await;
    let reports = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = Arc::clone(&reports);
    let service = service
        .with_storage(Arc::new(BrokenStorage))
        .with_error_sink(Arc::new(move |r: &ErrorReport| sink.lock().unwrap().push(r.clone())));
    let user = user(&service).await;
    let err = service.create_export(user, &small_body("jsonl")).await.unwrap_err();
    assert_eq!((err.http_status(), err.code()), (409, "EXPORT_FAILED"));
    let message = err.to_string();
    assert!(!message.contains("disk full"), "the storage's words stay on the server: {message}");
    let report = reports.lock().unwrap()[0].clone();
    assert_eq!((report.operation, report.code), ("create_export", "IO_ERROR"));
    assert!(report.detail.contains("disk full"), "{report:?}");
    assert!(message.contains(&format!("error id {}", report.error_id.unwrap())), "{message}");
    let page = service.history(user, &HistoryQuery::default()).await.unwrap();
    let export_id = page.items[0].log.export_id;
    let status = service.status(user, export_id).await.unwrap();
    assert_eq!(status.status, ExportStatus::Failed);
    assert!(status.error_message.unwrap().contains(&report.error_id.unwrap().to_string()));
    let err = service.open_download(user, export_id).await.unwrap_err();
    assert_eq!(err.code(), "EXPORT_FAILED");
    assert_eq!(events(service.database(), export_id).await, ["requested", "started", "failed"]);
    assert_eq!(metrics.lock().unwrap()[1].status, "failed");
    assert_audit_chain_intact(service.database()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_eleventh_request_in_an_hour_is_429_with_retry_after() {
    // Queued and never run: the user's jobs are not the bound here.
    let (service, _) = service_with(|c| {
        c.sync_threshold = 1;
        c.max_jobs_per_user = 20;
    })
    .await;
    let user = user(&service).await;
    for _ in 0..10 {
        let outcome = service.create_export(user, &body("all", "jsonl")).await.unwrap();
        assert_eq!(outcome.http_status(), 202);
    }
    let err = service.create_export(user, &body("all", "jsonl")).await.unwrap_err();
    assert_eq!((err.http_status(), err.code()), (429, "RATE_LIMITED"));
    let retry = err.retry_after_secs().unwrap();
    assert!((3500..=3600).contains(&retry), "{retry}");
    let other = support::user(&service).await;
    assert_eq!(
        service.create_export(other, &body("all", "jsonl")).await.unwrap().http_status(),
        202
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_concurrent_requests_of_one_user_accept_exactly_ten() {
    let (service, _) = service_with(|c| {
        c.sync_threshold = 1;
        c.pool_size = 24;
        c.max_jobs_per_user = 50;
    })
    .await;
    let user = user(&service).await;
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let service = service.clone();
            tokio::spawn(async move { service.create_export(user, &body("all", "jsonl")).await })
        })
        .collect();
    let (mut accepted, mut limited) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => accepted += 1,
            Err(e) if matches!(e.kind(), ErrorKind::RateLimited { .. }) => limited += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!((accepted, limited), (10, 40));
    assert_audit_chain_intact(service.database()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn history_pages_and_filters_newest_first() {
    let (service, _) = service_with(|c| c.rate_limit_per_hour = 100).await;
    let user = user(&service).await;
    let formats = ["jsonl", "csv", "json", "jsonl", "markdown", "jsonl", "csv"];
    let mut ids = Vec::new();
    for format in formats {
        ids.push(service.create_export(user, &small_body(format)).await.unwrap().export_id());
    }
    let queued = service.create_export(user, &body("all", "jsonl")).await.unwrap().export_id();
    ids.push(queued);

    let page = |page, limit| HistoryQuery { page, limit, ..HistoryQuery::default() };
    let first = service.history(user, &page(1, 3)).await.unwrap();
    assert_eq!(
        (first.total, first.total_pages, first.has_next, first.has_prev),
        (8, 3, true, false)
    );
    let newest: Vec<Uuid> = first.items.iter().map(|i| i.log.export_id).collect();
    assert_eq!(newest, [ids[7], ids[6], ids[5]]);
    assert!(!first.items[0].downloadable && first.items[1].downloadable);
    assert!(first.items[1].file_name.as_deref().unwrap().ends_with(".csv"));
    let last = service.history(user, &page(3, 3)).await.unwrap();
    assert_eq!((last.items.len(), last.has_next, last.has_prev), (2, false, true));
    let beyond = service.history(user, &page(9, 3)).await.unwrap();
    assert_eq!((beyond.items.len(), beyond.total), (0, 8));

    let jsonl = HistoryQuery { format: Some(Format::Jsonl), ..HistoryQuery::default() };
    assert_eq!(service.history(user, &jsonl).await.unwrap().total, 4);
    let completed_csv = HistoryQuery {
        format: Some(Format::Csv),
        status: Some(ExportStatus::Completed),
        ..HistoryQuery::default()
    };
    assert_eq!(service.history(user, &completed_csv).await.unwrap().total, 2);
    let future = HistoryQuery {
        from: Some(chrono::Utc::now() + chrono::Duration::hours(1)),
        ..HistoryQuery::default()
    };
    assert_eq!(service.history(user, &future).await.unwrap().total, 0);

    let err = service.history(user, &page(1, 101)).await.unwrap_err();
    assert_eq!((err.http_status(), err.issues()[0].path.as_str()), (400, "limit"));
    let json = serde_json::to_value(&first).unwrap();
    assert!(json["totalPages"].is_u64() && json["items"][1]["file_name"].is_string(), "{json}");
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_cancels_a_queued_job_and_removes_a_completed_file() {
    let (service, _) = service().await;
    let user = user(&service).await;
    let queued = service.create_export(user, &body("all", "jsonl")).await.unwrap().export_id();
    let report = service.delete(user, queued).await.unwrap();
    assert!(report.cancelled && !report.file_deleted);
    assert_eq!(report.status, ExportStatus::Failed);
    assert_eq!(service.process_jobs(10).await.unwrap(), 0, "a cancelled job is never run");
    assert_eq!(service.status(user, queued).await.unwrap_err().http_status(), 404);
    assert_eq!(
        events(service.database(), queued).await,
        ["requested", "queued", "cancelled", "deleted"]
    );

    let done = service.create_export(user, &small_body("csv")).await.unwrap().export_id();
    let storage = LocalStorage::new(&service.config().storage_root);
    let key = FileKey::new(user, done, "csv").unwrap();
    assert!(storage.exists(&key).await.unwrap());
    let report = service.delete(user, done).await.unwrap();
    assert!(!report.cancelled && report.file_deleted);
    assert_eq!(report.status, ExportStatus::Expired);
    assert!(!storage.exists(&key).await.unwrap());
    assert_eq!(service.open_download(user, done).await.unwrap_err().http_status(), 404);
    assert_eq!(service.history(user, &HistoryQuery::default()).await.unwrap().total, 0);
    let kept: i64 = service
        .database()
        .client()
        .await
        .unwrap()
        .query_one("SELECT count(*) FROM export_audit_events", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(kept, 4 + 4, "audit events stay");
    assert_eq!(
        events(service.database(), done).await,
        ["requested", "started", "completed", "deleted"]
    );
    assert_audit_chain_intact(service.database()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cleanup_sweeps_expired_files_and_purges_old_logs() {
    let (service, _) = service_with(|c| c.rate_limit_per_hour = 100).await;
    let user = user(&service).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(service.create_export(user, &small_body("jsonl")).await.unwrap().export_id());
    }
    for id in &ids[..2] {
        admin_sql(
            service.database(),
            "UPDATE export_logs SET expires_at = now() - interval '1 hour' WHERE export_id = $1",
            *id,
        )
        .await;
    }
    let report = service.cleanup_expired().await.unwrap();
    assert_eq!((report.marked_expired, report.files_deleted), (2, 2));
    assert!(report.failures.is_empty());
    let again = service.cleanup_expired().await.unwrap();
    assert_eq!((again.marked_expired, again.files_deleted), (0, 0), "idempotent");
    assert_eq!(service.mark_expired_exports().await.unwrap(), 0);
    assert_eq!(service.open_download(user, ids[0]).await.unwrap_err().http_status(), 410);
    assert_eq!(service.status(user, ids[2]).await.unwrap().status, ExportStatus::Completed);

    // Age the first export and its events past the 30-day retention window.
    admin_sql(
        service.database(),
        "UPDATE export_logs SET created_at = now() - interval '40 days' WHERE export_id = $1",
        ids[0],
    )
    .await;
    let client = service.database().client().await.unwrap();
    client
        .batch_execute("ALTER TABLE export_audit_events DISABLE TRIGGER export_audit_events_guard")
        .await
        .unwrap();
    client
        .execute("UPDATE export_audit_events SET created_at = now() - interval '40 days' WHERE export_id = $1", &[&ids[0]])
        .await
        .unwrap();
    client
        .batch_execute("ALTER TABLE export_audit_events ENABLE TRIGGER export_audit_events_guard")
        .await
        .unwrap();
    let purge = service.purge_old_logs().await.unwrap();
    assert_eq!(purge.logs_deleted, 1);
    assert!(purge.audit_events_deleted >= 4, "{purge:?}");
    assert_eq!(service.status(user, ids[0]).await.unwrap_err().http_status(), 404);
    assert_audit_chain_intact(service.database()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_aggregate_the_audit_trail() {
    let (service, _) = service().await;
    let user = user(&service).await;
    let since = chrono::Utc::now() - chrono::Duration::minutes(1);
    for format in ["jsonl", "csv", "jsonl"] {
        service.create_export(user, &small_body(format)).await.unwrap();
    }
    service.create_export(user, &body("all", "json")).await.unwrap();
    let broken = service.clone().with_storage(Arc::new(BrokenStorage));
    broken.create_export(user, &small_body("markdown")).await.unwrap_err();

    let report = service.metrics(since).await.unwrap();
    assert_eq!((report.completed, report.failed), (3, 1));
    assert!((report.success_rate - 0.75).abs() < 1e-9);
    assert!(report.failure_rate_alert, "25% failures is above 10%");
    assert_eq!(report.queue_depth, 1);
    assert_eq!(report.format_distribution.get("jsonl"), Some(&2));
    assert_eq!(report.format_distribution.get("markdown"), Some(&1));
    let jsonl = report.avg_duration_ms.iter().find(|b| b.format == "jsonl").unwrap();
    assert_eq!((jsonl.size_bucket.as_str(), jsonl.exports), ("<1MB", 2));
    assert_eq!(report.volume_per_hour.iter().map(|h| h.requested).sum::<u64>(), 5);
    assert!(report.volume_per_hour.iter().map(|h| h.bytes).sum::<u64>() > 0);

    service.process_jobs(1).await.unwrap();
    let report = service.metrics(since).await.unwrap();
    assert_eq!((report.completed, report.queue_depth, report.failure_rate_alert), (4, 0, true));
    assert_audit_chain_intact(service.database()).await;
}

/// Finding 9 of issue 33: every range served leaves an audit event with
/// the bytes it carried; only a range from the first byte counts as a
/// download (once, as a whole download does).
#[tokio::test(flavor = "multi_thread")]
async fn every_served_range_is_audited_with_its_bytes() {
    let (service, _) = service().await;
    let user = user(&service).await;
    let outcome = service.create_export(user, &small_body("jsonl")).await.unwrap();
    let CreateOutcome::Completed { export, .. } = outcome else { panic!("{outcome:?}") };
    let (export_id, size) = (export.export_id, export.file_size);
    let request = lora_export::pg::DownloadRequest::new().range("bytes=1-");
    for _ in 0..5 {
        let download = service.download(user, export_id, &request).await.unwrap();
        assert_eq!(download.http_status(), 206);
        assert_eq!(read_all(download.file).await.len() as u64, size - 1);
    }
    let head = lora_export::pg::DownloadRequest::new().range("bytes=0-9");
    let download = service.download(user, export_id, &head).await.unwrap();
    assert_eq!(read_all(download.file).await.len(), 10);

    let client = service.database().client().await.unwrap();
    let rows = client
        .query(
            "SELECT event, detail FROM export_audit_events
             WHERE export_id = $1 AND event IN ('range_served', 'downloaded') ORDER BY seq",
            &[&export_id],
        )
        .await
        .unwrap();
    let served: Vec<(String, serde_json::Value)> =
        rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let tail =
        serde_json::json!({ "range": format!("bytes 1-{}/{size}", size - 1), "bytes": size - 1 });
    let mut expected = vec![("range_served".to_owned(), tail); 5];
    expected.push((
        "downloaded".to_owned(),
        serde_json::json!({ "download_count": 1, "range": format!("bytes 0-9/{size}"), "bytes": 10 }),
    ));
    assert_eq!(served, expected);
    let count: i32 = client
        .query_one("SELECT download_count FROM export_logs WHERE export_id = $1", &[&export_id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 1, "a range that does not start at the first byte is not a new download");
    assert_audit_chain_intact(service.database()).await;
}

/// Issue 33: a retry (the new export) and the old export's `retried` event
/// are one transaction: when the event cannot be written, no new export
/// exists; when it can, it names the new export.
#[tokio::test(flavor = "multi_thread")]
async fn a_retry_and_its_audit_event_commit_together() {
    let (service, _) = service().await;
    let user = user(&service).await;
    let outcome = service.create_export(user, &small_body("jsonl")).await.unwrap();
    let old = outcome.export_id();
    let db = service.database();
    let expire =
        "UPDATE export_logs SET expires_at = now() - interval '1 minute' WHERE export_id = $1";
    assert_eq!(admin_sql(db, expire, old).await, 1);
    let refuse = format!(
        "ALTER TABLE export_audit_events ADD CONSTRAINT refuse_retried
           CHECK (event <> 'retried' OR export_id <> '{old}') NOT VALID"
    );
    db.client().await.unwrap().batch_execute(&refuse).await.unwrap();

    assert!(
        service.retry_export(user, old).await.is_err(),
        "the retried event could not be written"
    );
    let exports = |user: Uuid| async move {
        let client = db.client().await.unwrap();
        let row = client
            .query_one("SELECT count(*) FROM export_logs WHERE user_id = $1", &[&user])
            .await
            .unwrap();
        row.get::<_, i64>(0)
    };
    assert_eq!(exports(user).await, 1, "no new export without its retried event");

    let allow = "ALTER TABLE export_audit_events DROP CONSTRAINT refuse_retried";
    db.client().await.unwrap().batch_execute(allow).await.unwrap();
    let retried = service.retry_export(user, old).await.unwrap();
    assert_eq!(exports(user).await, 2);
    let client = db.client().await.unwrap();
    let detail: serde_json::Value = client
        .query_one(
            "SELECT detail FROM export_audit_events WHERE export_id = $1 AND event = 'retried'",
            &[&old],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(detail["retry_export_id"], retried.export_id().to_string());
    assert_audit_chain_intact(db).await;
}

/// Seen failing on the earlier main: after the user was deleted from
/// `auth.users` (the cascade removes their logs) their files stayed on
/// disk, and `cleanup_expired` removed none (`files_deleted: 0`). Deleting a
/// user queues the files of each log the cascade removes; cleanup removes
/// them, and another user's file stays.
#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_user_queues_their_files_and_cleanup_removes_them() {
    let (service, _) = service().await;
    let (gone, stays) = (user(&service).await, user(&service).await);
    let storage = LocalStorage::new(&service.config().storage_root);
    let small = service.create_export(gone, &small_body("csv")).await.unwrap().export_id();
    let queued = service.create_export(gone, &body("all", "jsonl")).await.unwrap().export_id();
    assert_eq!(service.process_jobs(1).await.unwrap(), 1);
    let kept = service.create_export(stays, &small_body("csv")).await.unwrap().export_id();
    let keys =
        [FileKey::new(gone, small, "csv").unwrap(), FileKey::new(gone, queued, "jsonl").unwrap()];
    for key in &keys {
        assert!(storage.exists(key).await.unwrap(), "{key:?} was written");
    }
    let client = service.database().client().await.unwrap();
    client.execute("DELETE FROM auth.users WHERE id = $1", &[&gone]).await.unwrap();
    let logs: i64 = client
        .query_one("SELECT count(*) FROM export_logs WHERE user_id = $1", &[&gone])
        .await
        .unwrap()
        .get(0);
    assert_eq!(logs, 0, "the cascade removed the user's logs");

    let report = service.cleanup_expired().await.unwrap();
    assert_eq!(report.files_deleted, 2, "{report:?}");
    assert!(report.failures.is_empty(), "{report:?}");
    for key in &keys {
        assert!(!storage.exists(key).await.unwrap(), "{key:?} was removed");
    }
    assert!(storage.exists(&FileKey::new(stays, kept, "csv").unwrap()).await.unwrap());
    let report = service.cleanup_expired().await.unwrap();
    assert_eq!(report.files_deleted, 0, "nothing is queued twice: {report:?}");
    let _ = std::fs::remove_dir_all(&service.config().storage_root);
}

/// The uncompressed bytes of `compressed` (`gzip` or `zstd`).
fn decompress(compression: &str, compressed: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    match compression {
        "gzip" => flate2::read::GzDecoder::new(compressed).read_to_end(&mut out).unwrap(),
        _ => zstd::stream::read::Decoder::new(compressed).unwrap().read_to_end(&mut out).unwrap(),
    };
    out
}

/// A compressed single file, run now (gzip) or by a worker (zstd) and
/// retried once expired: stored and served as the compressed file (its
/// MIME type, its name with the suffix), whose size and SHA-256 the log and
/// the answer hold, and which decompresses to the uncompressed export.
#[tokio::test(flavor = "multi_thread")]
async fn a_compressed_export_stores_serves_and_hashes_the_compressed_file() {
    let (service, _) = service().await;
    let user = user(&service).await;
    let db = service.database();
    let cases = [
        ("gzip", small_body("jsonl"), ".jsonl.gz", "application/gzip"),
        ("zstd", body("all", "csv"), ".csv.zst", "application/zstd"),
    ];
    for (compression, plain, suffix, mime) in cases {
        let mut compressed = plain.clone();
        compressed["compression"] = compression.into();
        let mut export_id = service.create_export(user, &compressed).await.unwrap().export_id();
        for attempt in 0..2 {
            service.process_jobs(10).await.unwrap();
            let download = service.open_download(user, export_id).await.unwrap();
            assert!(download.file_name.ends_with(suffix), "{}", download.file_name);
            assert_eq!(download.content_type, mime);
            assert_eq!(download.content_disposition, content_disposition(&download.file_name));
            let bytes = read_all(download.file).await;
            let page = service.history(user, &HistoryQuery::default()).await.unwrap();
            let logged = &page.items[0].log;
            assert_eq!(logged.export_id, export_id);
            assert_eq!(logged.file_size, Some(bytes.len() as u64));
            assert_eq!(
                logged.file_sha256.as_deref(),
                Some(lora_export::digest::sha256_hex(&bytes).as_str())
            );
            let expected = core_bytes(db, &plain, logged.timestamp).await;
            assert_ne!(bytes, expected, "{compression} stored compressed");
            assert_eq!(decompress(compression, &bytes), expected, "{compression}, {attempt}");
            if attempt == 0 {
                let expire = "UPDATE export_logs SET expires_at = now() - interval '1 minute'
                              WHERE export_id = $1";
                assert_eq!(admin_sql(db, expire, export_id).await, 1);
                export_id = service.retry_export(user, export_id).await.unwrap().export_id();
            }
        }
    }

    let mut bad = small_body("jsonl");
    bad["compression"] = "brotli".into();
    let err = service.create_export(user, &bad).await.unwrap_err();
    assert_eq!((err.http_status(), err.code()), (400, "VALIDATION_ERROR"));
    assert_eq!(err.issues()[0].path, "compression");
    bad["compression"] = "gzip".into();
    bad["dataset"] = serde_json::json!({});
    let err = service.create_export(user, &bad).await.unwrap_err();
    assert_eq!(
        (err.issues()[0].path.as_str(), err.issues()[0].code.as_str()),
        ("compression", "conflict")
    );
    assert_audit_chain_intact(db).await;
}

/// `columns` and `keepColumns` read a caller's rows; the service reads its
/// tables, so it refuses them instead of exporting as if they applied.
#[tokio::test(flavor = "multi_thread")]
async fn options_for_callers_rows_are_refused_not_ignored() {
    let (service, _) = service().await;
    let user = user(&service).await;
    let mut body = small_body("jsonl");
    body["columns"] = serde_json::json!({"dialog": "messages"});
    body["keepColumns"] = true.into();
    let err = service.create_export(user, &body).await.unwrap_err();
    let paths: Vec<_> = err.issues().iter().map(|i| (i.path.as_str(), i.code.as_str())).collect();
    assert_eq!(err.http_status(), 400);
    assert_eq!(paths, [("columns", "not_supported"), ("keepColumns", "not_supported")]);
    let err = service.preview_export(user, &body, 3).await.unwrap_err();
    assert_eq!(err.issues()[0].path, "columns");
}

/// Parquet through the service: the log's format check takes it (migration
/// 22), run now or by a worker, stored as the core writes it and served as
/// `application/vnd.apache.parquet`; compression around it is a 400.
#[tokio::test(flavor = "multi_thread")]
async fn a_parquet_export_is_logged_stored_and_served_as_parquet() {
    let (service, _) = service().await;
    let user = user(&service).await;
    let db = service.database();
    for body in [small_body("parquet"), body("all", "parquet")] {
        let export_id = service.create_export(user, &body).await.unwrap().export_id();
        service.process_jobs(10).await.unwrap();
        let download = service.open_download(user, export_id).await.unwrap();
        assert!(download.file_name.ends_with(".parquet"), "{}", download.file_name);
        assert_eq!(download.content_type, "application/vnd.apache.parquet");
        let bytes = read_all(download.file).await;
        assert!(bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"));
        let page = service.history(user, &HistoryQuery::default()).await.unwrap();
        let logged = &page.items[0].log;
        assert_eq!((logged.export_id, logged.format), (export_id, Format::Parquet));
        assert_eq!(bytes, core_bytes(db, &body, logged.timestamp).await);
    }
    let mut compressed = small_body("parquet");
    compressed["compression"] = "gzip".into();
    let err = service.create_export(user, &compressed).await.unwrap_err();
    assert_eq!((err.http_status(), err.issues()[0].path.as_str()), (400, "compression"));
    assert_audit_chain_intact(db).await;
}
