//! Export files in an S3-compatible bucket (s3s-fs, started by
//! `scripts/s3.sh` on 127.0.0.1) with the service on a real PostgreSQL:
//! uploaded while written, invisible until complete, byte-identical to the
//! core's output; ranges; presigned URLs a plain HTTP client can use (and a
//! tampered or expired one it cannot); delete and cleanup remove objects;
//! a failed or cancelled run, and a writer that died, leave no object and no
//! open upload.

#[path = "support/pg.rs"]
mod pg;
#[path = "support/s3.rs"]
mod s3;
#[path = "support/service.rs"]
mod support;
#[path = "support/synthetic.rs"]
mod synthetic;

use std::io::Write;
use std::time::Duration;

use lora_export::audit::ExportStatus;
use lora_export::pg::{
    CreateOutcome, DownloadMode, DownloadRequest, ExportService, FileKey, ServiceConfig,
    WorkerOptions,
};
use serde_json::json;
use support::*;
use uuid::Uuid;

/// A service on a fresh database holding the sample and `extra` synthetic
/// conversations (about 1 KB each), storing into a fresh prefix of the
/// bucket; the prefix.
async fn s3_service(extra: u64, tune: impl FnOnce(&mut ServiceConfig)) -> (ExportService, String) {
    let mut prefix = String::new();
    let (service, _) = service_with(|config| {
        prefix = s3::use_bucket(config);
        tune(config);
    })
    .await;
    if extra > 0 {
        let mut lines = Vec::new();
        for c in synthetic::conversations(extra) {
            serde_json::to_writer(&mut lines, &c).unwrap();
            lines.write_all(b"\n").unwrap();
        }
        service.import_conversations(std::io::Cursor::new(lines)).await.unwrap();
    }
    (service, prefix)
}

async fn status(service: &ExportService, user: Uuid, export_id: Uuid) -> ExportStatus {
    service.status(user, export_id).await.unwrap().status
}

#[tokio::test(flavor = "multi_thread")]
async fn an_export_is_uploaded_in_parts_and_downloads_byte_identical() {
    let (service, prefix) = s3_service(30_000, |c| c.sync_threshold = 10).await;
    let user = user(&service).await;
    let body = body("all", "jsonl");
    let CreateOutcome::Queued { export_id, .. } = service.create_export(user, &body).await.unwrap()
    else {
        panic!("30,000 conversations are queued")
    };
    assert_eq!(service.process_jobs(1).await.unwrap(), 1);
    let log = service.status(user, export_id).await.unwrap();
    assert_eq!(log.status, ExportStatus::Completed);
    let size = log.file_size.unwrap();
    assert!(size > 20 << 20, "more than two 8 MiB parts: {size} bytes");

    let key = FileKey::parse(log.file_url.as_deref().unwrap()).unwrap();
    let object = format!("{prefix}/{key}");
    assert_eq!(s3::objects(&prefix).await, vec![object.clone()], "the file, no marker left");
    assert!(s3::open_uploads(&prefix).is_empty(), "the upload was completed");

    let download = service.open_download(user, export_id).await.unwrap();
    assert_eq!((download.http_status(), download.content_length()), (200, Some(size)));
    let bytes = read_all(download.file).await;
    let date = service.database().client().await.unwrap();
    let timestamp: chrono::DateTime<chrono::Utc> = date
        .query_one("SELECT timestamp FROM export_logs WHERE export_id = $1", &[&export_id])
        .await
        .unwrap()
        .get(0);
    assert!(bytes == core_bytes(service.database(), &body, timestamp).await, "the core's bytes");
    assert!(bytes == s3::object(&object).await, "the object holds the same bytes");

    // A range crossing the first part's end is served as 206, and is not
    // counted as a download unless it starts at the first byte.
    let part = 8u64 << 20;
    let header = format!("bytes={}-{}", part - 10, part + 9);
    let ranged = DownloadRequest::new().range(header);
    let download = service.download(user, export_id, &ranged).await.unwrap();
    let range = download.range.unwrap();
    assert_eq!(
        (download.http_status(), range.header()),
        (206, format!("bytes {}-{}/{size}", part - 10, part + 9))
    );
    let slice = read_all(download.file).await;
    assert_eq!(slice, bytes[(part - 10) as usize..(part + 10) as usize]);
    let tail = service.download(user, export_id, &DownloadRequest::new().range("bytes=-7")).await;
    assert_eq!(read_all(tail.unwrap().file).await, bytes[bytes.len() - 7..]);
    let err = service
        .download(user, export_id, &DownloadRequest::new().range(format!("bytes={size}-")))
        .await
        .unwrap_err();
    assert_eq!((err.http_status(), err.code()), (416, "RANGE_NOT_SATISFIABLE"));
    let head = service.inspect_download(user, export_id).await.unwrap();
    assert_eq!(head.size, Some(size));
    let counted: i32 = date
        .query_one("SELECT download_count FROM export_logs WHERE export_id = $1", &[&export_id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(counted, 1, "the whole download counts; ranges past byte 0 and HEAD do not");

    let report = service.delete(user, export_id).await.unwrap();
    assert!(report.file_deleted);
    assert!(s3::objects(&prefix).await.is_empty(), "delete removes the object");
    assert_audit_chain_intact(service.database()).await;
}

/// Starts a slow worker on one job, waits until a part of its upload is on
/// the server, runs `interrupt`, and returns what the worker did.
async fn interrupt_upload<F, Fut>(
    service: &ExportService,
    prefix: &str,
    interrupt: F,
) -> lora_export::pg::WorkerReport
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let worker = {
        let service = service.clone();
        let mut options = WorkerOptions::new(format!("slow-{}", Uuid::new_v4().simple()));
        options.throttle = Some(Duration::from_millis(60));
        options.max_jobs = Some(1);
        tokio::spawn(async move { service.run_worker(options).await })
    };
    wait_until(Duration::from_secs(60), "a part uploaded", || async {
        !s3::open_uploads(prefix).is_empty()
    })
    .await;
    interrupt().await;
    let report = worker.await.unwrap().unwrap();
    wait_until(Duration::from_secs(10), "the upload aborted", || async {
        s3::open_uploads(prefix).is_empty()
    })
    .await;
    report
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancelled_run_and_a_fenced_run_leave_no_object_and_no_open_upload() {
    let (service, prefix) = s3_service(30_000, |c| c.sync_threshold = 10).await;
    let user = user(&service).await;
    let cancelled = service.create_export(user, &body("all", "csv")).await.unwrap().export_id();
    let report = interrupt_upload(&service, &prefix, || async {
        service.delete(user, cancelled).await.unwrap();
    })
    .await;
    assert_eq!(report.stopped, 1, "{report:?}");
    assert!(s3::objects(&prefix).await.is_empty(), "a cancelled run leaves no object, no marker");

    // Another worker took the job over: this run may not complete.
    let fenced = service.create_export(user, &body("all", "jsonl")).await.unwrap().export_id();
    let report = interrupt_upload(&service, &prefix, || async {
        admin_sql(
            service.database(),
            "UPDATE export_jobs SET locked_by = 'another-worker' WHERE export_id = $1",
            fenced,
        )
        .await;
    })
    .await;
    assert_eq!(report.stopped, 1, "{report:?}");
    assert_eq!(status(&service, user, fenced).await, ExportStatus::Processing);
    assert!(s3::objects(&prefix).await.is_empty(), "a fenced run leaves no object, no marker");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_upload_of_a_writer_that_died_is_aborted_by_cleanup() {
    let (service, prefix) = s3_service(0, |c| c.stale_after = Duration::from_secs(1)).await;
    let storage = std::sync::Arc::clone(service.storage());
    let key = FileKey::new(Uuid::new_v4(), Uuid::new_v4(), "jsonl").unwrap();
    tokio::task::spawn_blocking(move || {
        let mut staged = storage.stage(&key).unwrap();
        staged.write_all(&vec![b'x'; 9 << 20]).unwrap();
        // The process dies here: nothing aborts the upload.
        std::mem::forget(staged);
    })
    .await
    .unwrap();
    assert_eq!(s3::open_uploads(&prefix).len(), 1);
    assert_eq!(s3::objects(&prefix).await.len(), 1, "the upload's marker");
    let report = service.cleanup_expired().await.unwrap();
    assert_eq!(report.staged_files_deleted, 0, "not before stale_after");
    tokio::time::sleep(Duration::from_secs(11)).await;
    let report = service.cleanup_expired().await.unwrap();
    assert_eq!(report.staged_files_deleted, 1);
    assert!(s3::open_uploads(&prefix).is_empty(), "the upload is aborted");
    assert!(s3::objects(&prefix).await.is_empty(), "and its marker removed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_presigned_url_serves_the_file_to_a_plain_client_until_it_expires() {
    let (service, _) = s3_service(0, |c| {
        c.download_mode = DownloadMode::Redirect;
        c.presign_ttl = Duration::from_secs(2);
    })
    .await;
    let user = user(&service).await;
    let export_id = service.create_export(user, &small_body("jsonl")).await.unwrap().export_id();
    let streamed = read_all(service.open_download(user, export_id).await.unwrap().file).await;

    let redirect = DownloadRequest::new().redirect(true);
    let download = service.download(user, export_id, &redirect).await.unwrap();
    assert_eq!(download.http_status(), 302);
    let target = download.redirect.unwrap();
    assert!(target.expires_at <= chrono::Utc::now() + chrono::Duration::seconds(2));
    let fetched =
        ureq::get(&target.url).call().expect("the presigned URL works without credentials");
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut fetched.into_reader(), &mut body).unwrap();
    assert_eq!(body, streamed, "the same bytes as streamed");

    let signature = target.url.find("X-Amz-Signature=").unwrap() + "X-Amz-Signature=".len();
    let mut tampered = target.url.clone();
    let flipped = if &tampered[signature..signature + 1] == "0" { "1" } else { "0" };
    tampered.replace_range(signature..signature + 1, flipped);
    assert_refused(&tampered, "a tampered signature");
    let other_key = target.url.replace(".jsonl?", ".csv?");
    assert_refused(&other_key, "another object with this signature");

    let head = service.download(user, export_id, &redirect.clone().head()).await.unwrap();
    assert!(head.redirect.is_none() && head.size.is_some(), "HEAD answers headers, no URL");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_refused(&target.url, "an expired URL");
    let client = service.database().client().await.unwrap();
    let row = client
        .query_one(
            "SELECT download_count, (SELECT count(*) FROM export_audit_events
               WHERE export_id = $1 AND event = 'downloaded' AND detail ? 'presigned')
             FROM export_logs WHERE export_id = $1",
            &[&export_id],
        )
        .await
        .unwrap();
    assert_eq!((row.get::<_, i32>(0), row.get::<_, i64>(1)), (2, 1), "each GET counted, audited");

    // Never past the export's expiry.
    client
        .execute(
            "UPDATE export_logs SET expires_at = now() + interval '1500 milliseconds'
             WHERE export_id = $1",
            &[&export_id],
        )
        .await
        .unwrap();
    let download = service.download(user, export_id, &redirect).await.unwrap();
    let expiry: chrono::DateTime<chrono::Utc> = client
        .query_one("SELECT expires_at FROM export_logs WHERE export_id = $1", &[&export_id])
        .await
        .unwrap()
        .get(0);
    let capped = download.redirect.expect("a URL for the last second and a half");
    assert!(capped.expires_at <= expiry, "the URL ends with the export");
}

fn assert_refused(url: &str, what: &str) {
    match ureq::get(url).call() {
        Err(ureq::Error::Status(code, _)) => assert_eq!(code, 403, "{what}"),
        other => panic!("{what} was not refused: {:?}", other.map(|r| r.status())),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dataset_export_lives_in_the_bucket_and_cleanup_removes_it_when_expired() {
    let (service, prefix) = s3_service(2_000, |c| c.sync_threshold = 100_000).await;
    let user = user(&service).await;
    let body = json!({
        "config": { "scope": "all", "format": "jsonl" },
        "dataset": { "split": "train=0.9,validation=0.1", "maxRecordsPerShard": 500, "compression": "zstd" },
    });
    let export_id = service.create_export(user, &body).await.unwrap().export_id();
    let log = service.status(user, export_id).await.unwrap();
    let files = log.files.unwrap();
    assert!(files.len() > 3, "{files:?}");
    let objects = s3::objects(&prefix).await;
    assert_eq!(objects.len(), files.len(), "one object per file, no marker: {objects:?}");
    for file in &files {
        let download = service.open_file(user, export_id, &file.name).await.unwrap();
        let bytes = read_all(download.file).await;
        assert_eq!(bytes.len() as u64, file.bytes, "{}", file.name);
        let object = format!("{prefix}/{user}/{export_id}/{}", file.object);
        assert!(bytes == s3::object(&object).await, "{}", file.name);
    }
    let zip = read_all(service.open_download(user, export_id).await.unwrap().file).await;
    assert!(zip.len() as u64 > files.iter().map(|f| f.bytes).sum::<u64>());

    admin_sql(
        service.database(),
        "UPDATE export_logs SET expires_at = now() - interval '1 minute' WHERE export_id = $1",
        export_id,
    )
    .await;
    let report = service.cleanup_expired().await.unwrap();
    assert_eq!((report.files_deleted, report.failures.len()), (1, 0));
    assert!(s3::objects(&prefix).await.is_empty(), "every object of the expired export is gone");
    assert_audit_chain_intact(service.database()).await;
}

/// Issue 33, finding 10: the multipart uploads of a run whose lease is
/// alive (it heartbeats) survive a cleanup however old their markers are;
/// once the lease has expired, cleanup aborts them.
#[tokio::test(flavor = "multi_thread")]
async fn cleanup_keeps_a_live_runs_uploads_and_aborts_an_expired_ones() {
    let (service, prefix) = s3_service(0, |c| c.stale_after = Duration::from_secs(1)).await;
    let user = user(&service).await;
    let export_id = service.create_export(user, &body("all", "jsonl")).await.unwrap().export_id();
    let db = service.database().clone();
    let claim = "UPDATE export_jobs SET status = 'running', locked_by = 'live-worker',
                   attempts = 1, heartbeat_at = now() WHERE export_id = $1";
    assert_eq!(admin_sql(&db, claim, export_id).await, 1);
    let storage = std::sync::Arc::clone(service.storage());
    let staged = tokio::task::spawn_blocking(move || {
        let keys = [
            FileKey::part(user, export_id, "train-00000-of-00002.jsonl").unwrap(),
            FileKey::part(user, export_id, "train-00001-of-00002.jsonl").unwrap(),
        ];
        keys.iter()
            .map(|key| {
                let mut file = storage.stage(key).unwrap();
                file.write_all(b"{}\n").unwrap();
                file
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    assert_eq!(s3::open_uploads(&prefix).len(), 2);
    // The run heartbeats, as a live run does, while its markers grow old
    // (past the 10 × stale_after that was the whole rule).
    let beating = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let heartbeat = tokio::spawn({
        let (db, beating) = (db.clone(), std::sync::Arc::clone(&beating));
        async move {
            let beat = "UPDATE export_jobs SET heartbeat_at = now() WHERE export_id = $1";
            while beating.load(std::sync::atomic::Ordering::SeqCst) {
                admin_sql(&db, beat, export_id).await;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });
    tokio::time::sleep(Duration::from_secs(11)).await;
    let report = service.cleanup_expired().await.unwrap();
    assert_eq!(report.staged_files_deleted, 0, "the run's lease is alive");
    assert_eq!(s3::open_uploads(&prefix).len(), 2);

    beating.store(false, std::sync::atomic::Ordering::SeqCst);
    heartbeat.await.unwrap();
    let expire =
        "UPDATE export_jobs SET heartbeat_at = now() - interval '1 hour' WHERE export_id = $1";
    assert_eq!(admin_sql(&db, expire, export_id).await, 1);
    let report = service.cleanup_expired().await.unwrap();
    assert_eq!(report.staged_files_deleted, 2, "the lease expired: its writer is dead");
    assert!(s3::open_uploads(&prefix).is_empty(), "the uploads are aborted");
    tokio::task::spawn_blocking(move || drop(staged)).await.unwrap();
}

/// Deleting a user from `auth.users` queues their objects; cleanup removes
/// them from the bucket.
#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_user_removes_their_objects_at_cleanup() {
    let (service, prefix) = s3_service(0, |_| {}).await;
    let gone = user(&service).await;
    service.create_export(gone, &small_body("jsonl")).await.unwrap();
    assert_eq!(s3::objects(&prefix).await.len(), 1);
    let client = service.database().client().await.unwrap();
    client.execute("DELETE FROM auth.users WHERE id = $1", &[&gone]).await.unwrap();
    assert_eq!(s3::objects(&prefix).await.len(), 1, "the cascade removes rows, not objects");
    let report = service.cleanup_expired().await.unwrap();
    assert_eq!((report.files_deleted, report.failures.len()), (1, 0), "{report:?}");
    assert!(s3::objects(&prefix).await.is_empty());
}

/// A compressed file in the bucket: its object's name ends in `.jsonl.gz`,
/// it holds the bytes downloaded, whose SHA-256 the log holds, and delete
/// removes it.
#[tokio::test(flavor = "multi_thread")]
async fn a_compressed_export_is_one_gz_object() {
    let (service, prefix) = s3_service(0, |_| {}).await;
    let user = user(&service).await;
    let mut body = small_body("jsonl");
    body["compression"] = "gzip".into();
    let export_id = service.create_export(user, &body).await.unwrap().export_id();
    let log = service.status(user, export_id).await.unwrap();
    let key = FileKey::parse(log.file_url.as_deref().unwrap()).unwrap();
    let object = format!("{prefix}/{key}");
    assert!(object.ends_with(".jsonl.gz"), "{object}");
    assert_eq!(s3::objects(&prefix).await, vec![object.clone()]);
    let download = service.open_download(user, export_id).await.unwrap();
    assert_eq!(download.content_type, "application/gzip");
    let bytes = read_all(download.file).await;
    assert!(bytes == s3::object(&object).await, "the object holds the bytes served");
    assert_eq!(download.sha256.unwrap(), lora_export::digest::sha256_hex(&bytes));
    assert!(service.delete(user, export_id).await.unwrap().file_deleted);
    assert!(s3::objects(&prefix).await.is_empty(), "delete removes the object");
}
