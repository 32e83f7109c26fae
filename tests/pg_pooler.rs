//! Through Supabase's transaction pooler (Supavisor on port 6543 pools per
//! transaction; here PgBouncer 1.18 in transaction mode, which refuses the
//! startup parameter `options` and has no prepared-statement support,
//! started by `scripts/postgres.sh`): the service's whole round trip —
//! migrate, import, create exports, a worker running them, status,
//! download, history, delete — runs through it, with several clients at
//! once. A server session then serves many clients in turn, so a named
//! prepared statement or a session setting of one client would reach (or
//! collide with) another's.

#[path = "support/pg.rs"]
mod pg;
#[path = "support/service.rs"]
mod support;

use std::io::BufReader;
use std::time::Duration;

use lora_export::audit::ExportStatus;
use lora_export::pg::{
    CreateOutcome, ExportService, HistoryQuery, ServiceConfig, WorkerOptions, WorkerReport,
    NO_WORKER_WARNING_AFTER,
};
use support::{assert_audit_chain_intact, body, read_all, small_body, wait_until, SAMPLE};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The pooler's URL for `database` (the pooler serves every database of
/// the cluster).
fn through_pooler(variable: &str, database: &str) -> String {
    let url = std::env::var(variable)
        .unwrap_or_else(|_| panic!("{variable} is not set: run the tests with scripts/test.sh"));
    let (base, _) = url.rsplit_once('/').expect("URL with a database name");
    format!("{base}/{database}")
}

/// A service on a new database shaped as Supabase's, connected through the
/// pooler of `variable` as the app's login (not a superuser, as on
/// Supabase), migrated through it and holding the sample, with a pool of 8.
async fn pooled_service(variable: &str) -> ExportService {
    let db = pg::supabase_database().await;
    let database = db.app_url.rsplit_once('/').unwrap().1;
    let url = through_pooler(variable, database).replacen(
        "://postgres@",
        &format!("://{}@", pg::APP_LOGIN),
        1,
    );
    assert!(url.contains(pg::APP_LOGIN), "{url}");
    let mut config = ServiceConfig::new(url);
    config.storage_root =
        std::env::temp_dir().join(format!("lora-export-pooler-{}", uuid::Uuid::new_v4()));
    config.sync_threshold = 5;
    config.pool_size = 8;
    let service = ExportService::connect(config).unwrap();
    drop(service.database().client().await.expect("a connection through the pooler"));
    assert!(service.database().behind_transaction_pooler(), "the pooler is recognised");
    service.migrate().await.expect("migrations through the pooler");
    let file = std::fs::File::open(SAMPLE).unwrap();
    service.import_conversations(BufReader::new(file)).await.expect("import through the pooler");
    service
}

/// Workers through the pooler (they listen for jobs: that cannot work
/// through it, and they fall back to polling), until `stop` turns true.
fn workers(
    service: &ExportService,
    count: usize,
    stop: &watch::Receiver<bool>,
) -> Vec<JoinHandle<lora_export::pg::Result<WorkerReport>>> {
    (0..count)
        .map(|n| {
            let mut options = WorkerOptions::new(format!("pooled-{n}"));
            options.poll_interval = Duration::from_millis(100);
            options.stop = Some(stop.clone());
            let service = service.clone();
            tokio::spawn(async move { service.run_worker(options).await })
        })
        .collect()
}

/// One user's round trip: a synchronous export and a queued one that the
/// workers run, status, download, history, delete.
async fn round_trip(service: ExportService) {
    let user = pg::create_user(service.database()).await;
    let small = service.create_export(user, &small_body("jsonl")).await.unwrap();
    let CreateOutcome::Completed { .. } = small else { panic!("{small:?}") };
    let queued = service.create_export(user, &body("all", "csv")).await.unwrap();
    let CreateOutcome::Queued { export_id, .. } = queued else { panic!("{queued:?}") };
    wait_until(Duration::from_secs(60), "the queued export to complete", || async {
        let status = service.status(user, export_id).await.unwrap();
        assert_ne!(status.status, ExportStatus::Failed, "{status:?}");
        status.status == ExportStatus::Completed
    })
    .await;
    let download = service.open_download(user, export_id).await.unwrap();
    let size = download.size;
    assert_eq!(Some(read_all(download.file).await.len() as u64), size);
    let page = service.history(user, &HistoryQuery::default()).await.unwrap();
    assert_eq!(page.total, 2);
    assert_eq!(page.items.iter().map(|i| i.log.download_count).sum::<u64>(), 1);
    let deleted = service.delete(user, small.export_id()).await.unwrap();
    assert!(deleted.file_deleted, "{deleted:?}");
    assert_eq!(
        service.history(user, &HistoryQuery::default()).await.unwrap().total,
        1,
        "a deleted export leaves the history"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_round_trip_runs_through_a_transaction_pooler_with_several_clients() {
    let service = pooled_service("LORA_EXPORT_TEST_POOLER_URL").await;
    let (stop, stopped) = watch::channel(false);
    let workers = workers(&service, 2, &stopped);
    let clients: Vec<_> = (0..6).map(|_| tokio::spawn(round_trip(service.clone()))).collect();
    for client in clients {
        client.await.unwrap();
    }
    stop.send(true).unwrap();
    let mut completed = 0;
    for worker in workers {
        completed += worker.await.unwrap().expect("a worker through the pooler").completed;
    }
    assert_eq!(completed, 6);
    assert_audit_chain_intact(service.database()).await;
    let metrics = service.metrics(chrono::Utc::now() - chrono::Duration::hours(1)).await.unwrap();
    assert_eq!(metrics.queue_depth, 0, "{metrics:?}");
    service.cleanup_expired().await.expect("cleanup through the pooler");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pooler_that_drops_startup_settings_works_too() {
    let service = pooled_service("LORA_EXPORT_TEST_POOLER_IGNORING_URL").await;
    let (stop, stopped) = watch::channel(false);
    let workers = workers(&service, 1, &stopped);
    round_trip(service).await;
    stop.send(true).unwrap();
    for worker in workers {
        worker.await.unwrap().expect("a worker through the pooler");
    }
}

#[test]
fn supavisor_transaction_port_is_accepted() {
    let url = "postgres://postgres.abcd:secret@aws-0-eu-west-1.pooler.supabase.com:6543/postgres";
    ExportService::connect(ServiceConfig::new(url)).expect("no refusal before connecting");
}

/// Serverless: with no worker running, a queued export's status says so
/// once it waited [`NO_WORKER_WARNING_AFTER`], and the metrics show how long
/// the oldest job waits; a worker's claim clears both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_without_workers_shows_in_the_status_and_the_metrics() {
    let service = pooled_service("LORA_EXPORT_TEST_POOLER_URL").await;
    let user = pg::create_user(service.database()).await;
    let queued = service.create_export(user, &body("all", "jsonl")).await.unwrap();
    let export_id = queued.export_id();
    assert_eq!(service.status(user, export_id).await.unwrap().warning, None, "just queued");
    let waited = NO_WORKER_WARNING_AFTER.as_secs() + 60;
    service
        .database()
        .client()
        .await
        .unwrap()
        .execute(
            "UPDATE export_jobs SET run_after = now() - make_interval(secs => $2)
             WHERE export_id = $1",
            &[&export_id, &(waited as f64)],
        )
        .await
        .unwrap();
    let status = service.status(user, export_id).await.unwrap();
    let warning = status.warning.expect("a warning while no worker is seen");
    assert!(warning.contains("no worker has been seen"), "{warning}");
    let since = chrono::Utc::now() - chrono::Duration::hours(1);
    let metrics = service.metrics(since).await.unwrap();
    assert!(metrics.oldest_queued_secs >= waited, "{metrics:?}");
    assert_eq!((metrics.live_workers, metrics.last_worker_seen_at), (0, None));

    let mut options = WorkerOptions::new("late");
    options.max_jobs = Some(1);
    assert_eq!(service.run_worker(options).await.unwrap().completed, 1);
    let status = service.status(user, export_id).await.unwrap();
    assert_eq!((status.status, status.warning), (ExportStatus::Completed, None));
    let metrics = service.metrics(since).await.unwrap();
    assert_eq!(metrics.oldest_queued_secs, 0, "{metrics:?}");
    assert!(metrics.last_worker_seen_at.is_some(), "{metrics:?}");
}
