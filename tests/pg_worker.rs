//! Background workers against a real PostgreSQL: a worker process killed
//! with SIGKILL midway is rescued and its export completes byte-identical;
//! failed attempts back off and then fail; a cancelled running job stops;
//! several workers share one queue without running a job twice, and are
//! seen alive while idle.
//!
//! The worker process is the `pg_worker` example (`support/worker_process.rs`).

#[path = "support/pg.rs"]
mod pg;
#[path = "support/service.rs"]
mod support;
#[path = "support/synthetic.rs"]
mod synthetic;
#[path = "support/worker_process.rs"]
mod worker_process;

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lora_export::audit::ExportStatus;
use lora_export::pg::{FileKey, LocalStorage, Storage, WorkerOptions};
use support::*;
use uuid::Uuid;
use worker_process::worker_binary;

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_worker_process_is_rescued_and_no_partial_file_is_ever_visible() {
    let started = Instant::now();
    let (service, _) = service_with(|c| {
        c.batch_size = 200;
        c.stale_after = Duration::from_secs(2);
    })
    .await;
    let mut jsonl = Vec::new();
    for c in synthetic::conversations(20_000) {
        serde_json::to_writer(&mut jsonl, &c).unwrap();
        jsonl.write_all(b"\n").unwrap();
    }
    service.import_conversations(&jsonl[..]).await.unwrap();
    let user = user(&service).await;
    let body = body("all_data", "jsonl");
    let export_id = service.create_export(user, &body).await.unwrap().export_id();
    let config = service.config();
    eprintln!("setup: {:?}", started.elapsed());

    let mut child = Command::new(worker_binary())
        .args(["--max-jobs", "1", "--throttle-ms", "40", "--id", "doomed"])
        .env("LORA_EXPORT_DATABASE_URL", &config.database_url)
        .env("LORA_EXPORT_STORAGE_ROOT", &config.storage_root)
        .env("LORA_EXPORT_BATCH_SIZE", "200")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_until(Duration::from_secs(60), "progress from the worker process", || async {
        service.status(user, export_id).await.unwrap().progress.unwrap_or(0) > 0
    })
    .await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let status = service.status(user, export_id).await.unwrap();
    assert_eq!(status.status, ExportStatus::Processing);
    let progress = status.progress.unwrap();
    assert!((1..100).contains(&progress), "killed midway, at {progress}%");
    let err = service.open_download(user, export_id).await.unwrap_err();
    assert_eq!(err.http_status(), 425, "a half-written export is not downloadable");
    let storage = LocalStorage::new(&config.storage_root);
    let key = FileKey::new(user, export_id, "jsonl").unwrap();
    assert!(!storage.exists(&key).await.unwrap(), "no file under the final name");

    let mut options = WorkerOptions::new("rescuer");
    options.max_jobs = Some(1);
    options.poll_interval = Duration::from_millis(200);
    let report = tokio::time::timeout(Duration::from_secs(90), service.run_worker(options))
        .await
        .expect("the rescuer finishes")
        .unwrap();
    assert_eq!((report.claimed, report.completed), (1, 1));

    let status = service.status(user, export_id).await.unwrap();
    assert_eq!(
        (status.status, status.progress, status.conversation_count),
        (ExportStatus::Completed, Some(100), 20_046),
        "the sample and 20,000 synthetic"
    );
    let download = service.open_download(user, export_id).await.unwrap();
    let bytes = read_all(download.file).await;
    let date = service.history(user, &Default::default()).await.unwrap().items[0].log.timestamp;
    let expected = core_bytes(service.database(), &body, date).await;
    assert_eq!(bytes.len(), expected.len());
    assert!(
        bytes == expected,
        "the rescued file is byte-identical to one uninterrupted core export"
    );
    assert_eq!(
        storage.sweep_staged(std::time::SystemTime::now(), &Default::default()).await.unwrap(),
        1,
        "the killed worker's hidden staged file is swept"
    );
    assert!(storage.exists(&key).await.unwrap());
    let events = events(service.database(), export_id).await;
    assert_eq!(
        events,
        ["requested", "queued", "started", "rescued", "started", "completed", "downloaded"]
    );
    let attempts: i32 = service
        .database()
        .client()
        .await
        .unwrap()
        .query_one("SELECT attempts FROM export_jobs WHERE export_id = $1", &[&export_id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(attempts, 2);
    assert_audit_chain_intact(service.database()).await;
    eprintln!("total: {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_attempts_back_off_then_the_export_fails() {
    let (service, metrics) = service_with(|c| c.max_attempts = 2).await;
    let service = service.with_storage(Arc::new(BrokenStorage));
    let user = user(&service).await;
    let export_id = service.create_export(user, &body("all", "jsonl")).await.unwrap().export_id();
    assert_eq!(service.process_jobs(10).await.unwrap(), 1, "the retry waits for its backoff");
    let client = service.database().client().await.unwrap();
    let job = client
        .query_one(
            "SELECT status, attempts, last_error, run_after > now() FROM export_jobs WHERE export_id = $1",
            &[&export_id],
        )
        .await
        .unwrap();
    assert_eq!(
        (job.get::<_, String>(0).as_str(), job.get::<_, i32>(1), job.get::<_, bool>(3)),
        ("queued", 1, true)
    );
    let last_error = job.get::<_, String>(2);
    assert!(last_error.contains("IO_ERROR") && last_error.contains("error id"), "{last_error}");
    assert_eq!(service.status(user, export_id).await.unwrap().status, ExportStatus::Processing);

    admin_sql(
        service.database(),
        "UPDATE export_jobs SET run_after = now() WHERE export_id = $1",
        export_id,
    )
    .await;
    assert_eq!(service.process_jobs(10).await.unwrap(), 1);
    let status = service.status(user, export_id).await.unwrap();
    assert_eq!(status.status, ExportStatus::Failed);
    let message = status.error_message.unwrap();
    assert!(!message.contains("disk full") && message.contains("error id"), "{message}");
    assert_eq!(
        events(service.database(), export_id).await,
        ["requested", "queued", "started", "retried", "started", "failed"]
    );
    let statuses: Vec<String> = metrics.lock().unwrap().iter().map(|m| m.status.clone()).collect();
    assert_eq!(statuses, ["created", "failed"], "one metric event per export, not per attempt");
    assert_audit_chain_intact(service.database()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_running_export_stops_its_worker_and_leaves_no_file() {
    let (service, _) = service_with(|c| c.batch_size = 4).await;
    let user = user(&service).await;
    let export_id =
        service.create_export(user, &body("all_data", "json")).await.unwrap().export_id();
    let mut options = WorkerOptions::new("slow");
    options.max_jobs = Some(1);
    options.throttle = Some(Duration::from_millis(150));
    let worker = tokio::spawn({
        let service = service.clone();
        async move { service.run_worker(options).await }
    });
    wait_until(Duration::from_secs(30), "the job to start", || async {
        service.status(user, export_id).await.unwrap().progress.unwrap_or(0) > 0
    })
    .await;
    let report = service.delete(user, export_id).await.unwrap();
    assert!(report.cancelled);
    let worker = worker.await.unwrap().unwrap();
    assert_eq!((worker.claimed, worker.stopped, worker.completed), (1, 1, 0));
    let dir = service.config().storage_root.join(user.to_string());
    let left: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "no file and no temporary file remain: {left:?}");
    let job: String = service
        .database()
        .client()
        .await
        .unwrap()
        .query_one("SELECT status FROM export_jobs WHERE export_id = $1", &[&export_id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(job, "cancelled");
    assert_audit_chain_intact(service.database()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn several_workers_share_the_queue_and_run_each_job_once() {
    let (service, _) = service().await;
    let users = [user(&service).await, user(&service).await];
    let mut ids: Vec<Uuid> = Vec::new();
    for (i, format) in ["jsonl", "csv", "json", "markdown", "jsonl", "csv"].iter().enumerate() {
        let outcome = service.create_export(users[i % 2], &body("all", format)).await.unwrap();
        ids.push(outcome.export_id());
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let workers: Vec<_> = (0..3)
        .map(|n| {
            let mut options = WorkerOptions::new(format!("w{n}"));
            options.poll_interval = Duration::from_millis(50);
            options.stop = Some(stopped.clone());
            let service = service.clone();
            tokio::spawn(async move { service.run_worker(options).await })
        })
        .collect();
    wait_until(Duration::from_secs(60), "every job to complete", || async {
        let client = service.database().client().await.unwrap();
        let done: i64 = client
            .query_one("SELECT count(*) FROM export_jobs WHERE status = 'completed'", &[])
            .await
            .unwrap()
            .get(0);
        done == 6
    })
    .await;
    // Idle now, the three are still seen (their loops record themselves);
    // once stopped, none is.
    let since = chrono::Utc::now() - chrono::Duration::hours(1);
    wait_until(Duration::from_secs(10), "three idle workers seen", || async {
        service.metrics(since).await.unwrap().live_workers == 3
    })
    .await;
    assert!(service.health().await.worker_seen_at.is_some());
    stop.send(true).unwrap();
    let mut claimed = 0;
    for worker in workers {
        let report = worker.await.unwrap().unwrap();
        assert_eq!(report.claimed, report.completed);
        claimed += report.claimed;
    }
    assert_eq!(claimed, 6, "each job claimed exactly once");
    assert_eq!(service.metrics(since).await.unwrap().live_workers, 0, "stopped workers leave");
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(
            service.status(users[i % 2], *id).await.unwrap().status,
            ExportStatus::Completed
        );
    }
    assert_audit_chain_intact(service.database()).await;
}

/// Issue 33: a rescue (the claim of a dead worker's job) and its `rescued`
/// event are one transaction: when the event cannot be written, the job is
/// still the dead worker's, not taken over without a trace.
#[tokio::test(flavor = "multi_thread")]
async fn a_rescue_and_its_audit_event_commit_together() {
    let (service, _) = service().await;
    let user = user(&service).await;
    let export_id = service.create_export(user, &body("all", "jsonl")).await.unwrap().export_id();
    let db = service.database();
    let stale =
        "UPDATE export_jobs SET status = 'running', locked_by = 'dead-worker', attempts = 1,
                   heartbeat_at = now() - interval '1 hour' WHERE export_id = $1";
    assert_eq!(admin_sql(db, stale, export_id).await, 1);
    let refuse = "ALTER TABLE export_audit_events ADD CONSTRAINT refuse_rescued
                    CHECK (event <> 'rescued' OR export_id <> $1) NOT VALID";
    db.client()
        .await
        .unwrap()
        .batch_execute(&refuse.replace("$1", &format!("'{export_id}'")))
        .await
        .unwrap();

    assert!(service.process_jobs(1).await.is_err(), "the rescue's event could not be written");
    let job = db
        .client()
        .await
        .unwrap()
        .query_one(
            "SELECT locked_by, attempts FROM export_jobs WHERE export_id = $1",
            &[&export_id],
        )
        .await
        .unwrap();
    let (worker, attempts): (String, i32) = (job.get(0), job.get(1));
    assert_eq!((worker.as_str(), attempts), ("dead-worker", 1), "the claim was rolled back");
    assert!(!events(db, export_id).await.contains(&"rescued".to_owned()));

    let allow = "ALTER TABLE export_audit_events DROP CONSTRAINT refuse_rescued";
    db.client().await.unwrap().batch_execute(allow).await.unwrap();
    assert_eq!(service.process_jobs(1).await.unwrap(), 1);
    assert_eq!(
        events(db, export_id).await,
        ["requested", "queued", "rescued", "started", "completed"]
    );
    assert_audit_chain_intact(db).await;
}
