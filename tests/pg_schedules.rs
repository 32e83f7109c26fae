//! Maintenance that runs itself, and workers woken by notifications, on a
//! real PostgreSQL (and the S3-compatible server of `scripts/s3.sh`): with a
//! two-second cleanup schedule, three workers — each its own service and
//! pool, as on three hosts — run every period exactly once between them and
//! the expired export's object is deleted; a run still going holds the next
//! period off; an idle worker that polls once a minute starts a queued job
//! at once because the enqueue notified it.

#[path = "support/pg.rs"]
mod pg;
#[path = "support/s3.rs"]
mod s3;
#[path = "support/service.rs"]
mod support;

use std::time::{Duration, Instant};

use chrono::Utc;
use lora_export::audit::ExportStatus;
use lora_export::pg::{
    CreateOutcome, ExportService, MaintenanceSchedules, MaintenanceTask, Schedule, ServiceConfig,
    WorkerOptions, WorkerReport,
};
use support::*;
use tokio::sync::watch;

/// Cleanup every two seconds; the other tasks off.
fn every_two_seconds(config: &mut ServiceConfig) {
    config.schedules = MaintenanceSchedules {
        cleanup_files: Some(Schedule::parse("*/2 * * * * *").unwrap()),
        ..MaintenanceSchedules::off()
    };
}

#[tokio::test(flavor = "multi_thread")]
async fn three_workers_run_each_cleanup_period_once_and_delete_the_expired_object() {
    let mut prefix = String::new();
    let (service, _) = service_with(|config| {
        prefix = s3::use_bucket(config);
        every_two_seconds(config);
    })
    .await;
    let user = user(&service).await;
    let CreateOutcome::Completed { export, .. } =
        service.create_export(user, &small_body("jsonl")).await.unwrap()
    else {
        panic!("three conversations run at once")
    };
    let export_id = export.export_id;
    assert_eq!(s3::objects(&prefix).await.len(), 1, "the export's object");
    admin_sql(
        service.database(),
        "UPDATE export_logs SET expires_at = now() - interval '1 minute' WHERE export_id = $1",
        export_id,
    )
    .await;

    let since = Utc::now();
    let (stop, stopped) = watch::channel(false);
    let mut workers = Vec::new();
    for n in 0..3 {
        // A service of its own: a pool, a listening connection and a
        // schedule clock per worker, sharing only the database and bucket.
        let worker = ExportService::connect(service.config().clone()).unwrap();
        let mut options = WorkerOptions::new(format!("host-{n}"));
        options.poll_interval = Duration::from_millis(100);
        options.stop = Some(stopped.clone());
        workers.push(tokio::spawn(async move { worker.run_worker(options).await.unwrap() }));
    }
    tokio::time::sleep(Duration::from_millis(7_500)).await;
    stop.send(true).unwrap();
    let mut reports: Vec<WorkerReport> = Vec::new();
    for worker in workers {
        reports.push(worker.await.unwrap());
    }

    let runs = service.metrics(since).await.unwrap().maintenance;
    let ran: u64 = reports.iter().map(|r| r.maintenance_runs).sum();
    assert!(runs.len() >= 3, "a run every two seconds for 7.5 s: {runs:?}");
    assert_eq!(ran, runs.len() as u64, "every run the workers made is recorded once: {reports:?}");
    assert!(reports.iter().all(|r| r.errors == 0), "{reports:?}");
    for pair in runs.windows(2) {
        assert_eq!(
            pair[1].period_start - pair[0].period_start,
            chrono::Duration::seconds(2),
            "one run per period, none skipped: {runs:?}"
        );
    }
    assert!(runs.iter().all(|r| r.task == MaintenanceTask::CleanupFiles
        && r.finished_at.is_some()
        && r.error.is_none()));
    let deleted: u64 =
        runs.iter().map(|r| r.counts.as_ref().unwrap()["files_deleted"].as_u64().unwrap()).sum();
    assert_eq!(deleted, 1, "the first run deletes the file, the later ones find nothing");

    assert!(s3::objects(&prefix).await.is_empty(), "the expired export's object is deleted");
    let status = service.status(user, export_id).await.unwrap();
    assert_eq!(status.status, ExportStatus::Expired);
    assert_audit_chain_intact(service.database()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_still_going_holds_the_next_period_off_until_it_is_presumed_dead() {
    let (service, _) = service_with(every_two_seconds).await;
    let client = service.database().client().await.unwrap();
    client
        .execute(
            "INSERT INTO export_schedule_runs (task, period_start, worker_id)
             VALUES ('cleanup_files', now() - interval '1 hour', 'busy-host')",
            &[],
        )
        .await
        .unwrap();
    assert!(service.run_due_maintenance("second").await.unwrap().is_empty(), "held off");
    client
        .execute("UPDATE export_schedule_runs SET started_at = now() - interval '61 minutes'", &[])
        .await
        .unwrap();
    let runs = service.run_due_maintenance("second").await.unwrap();
    assert_eq!(runs.len(), 1, "the unfinished run is over an hour old: presumed dead");
    assert_eq!(
        (runs[0].task, runs[0].worker_id.as_str()),
        (MaintenanceTask::CleanupFiles, "second")
    );
    assert!(service.run_due_maintenance("third").await.unwrap().is_empty(), "that period ran");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_worker_is_woken_by_the_enqueue_not_by_its_poll() {
    let (service, _) = service_with(|c| c.schedules = MaintenanceSchedules::off()).await;
    let user = user(&service).await;
    let (stop, stopped) = watch::channel(false);
    let worker = ExportService::connect(service.config().clone()).unwrap();
    let mut options = WorkerOptions::new("listener");
    options.poll_interval = Duration::from_secs(600);
    options.stop = Some(stopped);
    let running = tokio::spawn(async move { worker.run_worker(options).await.unwrap() });
    // Let it find the queue empty and go to sleep on its notifications.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let CreateOutcome::Queued { export_id, .. } =
        service.create_export(user, &body("all", "jsonl")).await.unwrap()
    else {
        panic!("more than the sync threshold is queued")
    };
    let start = Instant::now();
    while service.status(user, export_id).await.unwrap().status != ExportStatus::Completed {
        assert!(start.elapsed() < Duration::from_secs(60), "not woken: it would sleep 600 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.send(true).unwrap();
    let report = running.await.unwrap();
    assert_eq!((report.completed, report.errors), (1, 0), "{report:?}");
}
