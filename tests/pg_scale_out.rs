//! Scale-out: the test process is the web process, two `pg_worker` processes
//! are the workers, and all three share nothing but PostgreSQL and the
//! S3-compatible bucket (each worker has its own working directory and local
//! storage root, which nothing may use). Twenty exports in four formats are
//! queued at once; one worker is SIGKILLed while it uploads. Every export
//! completes exactly once, byte-identical to the core's output, and after
//! cleanup no object is left that no completed export owns, and no upload
//! is open.

#[path = "support/pg.rs"]
mod pg;
#[path = "support/s3.rs"]
mod s3;
#[path = "support/service.rs"]
mod support;
#[path = "support/synthetic.rs"]
mod synthetic;
#[path = "support/worker_process.rs"]
mod worker_process;

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lora_export::audit::ExportStatus;
use lora_export::pg::{ExportService, FileKey};
use support::*;
use uuid::Uuid;
use worker_process::worker_binary;

/// A worker process with the deployment's environment and a directory of
/// its own.
fn spawn_worker(
    service: &ExportService,
    id: &str,
    throttle_ms: u32,
) -> (Child, std::path::PathBuf) {
    let config = service.config();
    let home = std::env::temp_dir().join(format!("lora-export-worker-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&home).unwrap();
    let s3 = s3::settings();
    let child = Command::new(worker_binary())
        .args(["--throttle-ms", &throttle_ms.to_string(), "--id", id])
        .current_dir(&home)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LORA_EXPORT_DATABASE_URL", &config.database_url)
        .env("LORA_EXPORT_STORAGE_ROOT", home.join("never-used"))
        .env("LORA_EXPORT_STORAGE_URL", config.storage_url.as_deref().unwrap())
        .env("AWS_ENDPOINT_URL", s3.endpoint.unwrap())
        .env("AWS_ACCESS_KEY_ID", s3.access_key_id.unwrap())
        .env("AWS_SECRET_ACCESS_KEY", s3.secret_access_key.unwrap().expose())
        .env("AWS_ALLOW_HTTP", "true")
        .env("LORA_EXPORT_BATCH_SIZE", "200")
        .env("LORA_EXPORT_STALE_AFTER_SECS", "2")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    (child, home)
}

#[tokio::test(flavor = "multi_thread")]
async fn two_worker_processes_and_a_killed_one_complete_twenty_exports_once_each() {
    let mut prefix = String::new();
    let (service, _) = service_with(|c| {
        prefix = s3::use_bucket(c);
        c.rate_limit_per_hour = 100;
        // One user queues all twenty: the per-user job bound is not tested here.
        c.max_jobs_per_user = 20;
        c.batch_size = 200;
        c.stale_after = Duration::from_secs(2);
    })
    .await;
    let mut jsonl = Vec::new();
    for c in synthetic::conversations(10_000) {
        serde_json::to_writer(&mut jsonl, &c).unwrap();
        jsonl.write_all(b"\n").unwrap();
    }
    service.import_conversations(&jsonl[..]).await.unwrap();
    let user = user(&service).await;
    let formats = ["jsonl", "json", "csv", "markdown"];
    let mut exports = Vec::new();
    for n in 0..20 {
        let body = body("all_data", formats[n % 4]);
        let export_id = service.create_export(user, &body).await.unwrap().export_id();
        exports.push((export_id, body));
    }

    let (mut doomed, doomed_home) = spawn_worker(&service, "doomed", 30);
    let (mut survivor, survivor_home) = spawn_worker(&service, "survivor", 30);
    let client = service.database().client().await.unwrap();
    let start = Instant::now();
    // Kill the doomed worker once it holds a job past its first uploaded part.
    loop {
        assert!(start.elapsed() < Duration::from_secs(120), "the doomed worker never uploaded");
        let held: i64 = client
            .query_one(
                "SELECT count(*) FROM export_jobs
                 WHERE locked_by = 'doomed' AND status = 'running' AND progress BETWEEN 50 AND 95",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if held == 1 && !s3::open_uploads(&prefix).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    doomed.kill().unwrap(); // SIGKILL
    doomed.wait().unwrap();

    let start = Instant::now();
    loop {
        let done: i64 = client
            .query_one("SELECT count(*) FROM export_logs WHERE status = 'completed'", &[])
            .await
            .unwrap()
            .get(0);
        if done == 20 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(300), "{done} of 20 completed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    survivor.kill().unwrap();
    survivor.wait().unwrap();

    let rescued: i64 = client
        .query_one("SELECT count(*) FROM export_audit_events WHERE event = 'rescued'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rescued, 1, "the killed worker's job was taken over");
    let mut owned = Vec::new();
    for (export_id, body) in &exports {
        let events = events(service.database(), *export_id).await;
        assert_eq!(
            events.iter().filter(|e| *e == "completed").count(),
            1,
            "completed exactly once: {events:?}"
        );
        let log = service.status(user, *export_id).await.unwrap();
        assert_eq!(log.status, ExportStatus::Completed);
        let key = FileKey::parse(log.file_url.as_deref().unwrap()).unwrap();
        owned.push(format!("{prefix}/{key}"));
        let timestamp: chrono::DateTime<chrono::Utc> = client
            .query_one("SELECT timestamp FROM export_logs WHERE export_id = $1", &[export_id])
            .await
            .unwrap()
            .get(0);
        let bytes = s3::object(owned.last().unwrap()).await;
        assert!(
            bytes == core_bytes(service.database(), body, timestamp).await,
            "export {export_id} is byte-identical to the core's output"
        );
    }
    owned.sort();

    // The killed upload is aborted and its marker removed once it is
    // 10 × stale_after old.
    tokio::time::sleep(Duration::from_secs(21)).await;
    let report = service.cleanup_expired().await.unwrap();
    assert_eq!(report.staged_files_deleted, 1, "{report:?}");
    assert_eq!(s3::objects(&prefix).await, owned, "only the completed exports' objects remain");
    assert!(s3::open_uploads(&prefix).is_empty(), "no upload left open");
    assert_eq!(
        std::fs::read_dir(&doomed_home).unwrap().count()
            + std::fs::read_dir(&survivor_home).unwrap().count(),
        0,
        "the workers wrote nothing to their local disks"
    );
    assert_audit_chain_intact(service.database()).await;
}
