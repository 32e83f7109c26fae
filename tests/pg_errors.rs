//! Errors an operator can see and a service that survives a blip, against
//! a real PostgreSQL: connect and migrate errors carry their cause; a
//! failed background attempt is one JSON line on the worker's stderr; a
//! database failure during a synchronous export is 503 and a job failed
//! for good says so; the pool and the worker loop come back after the
//! database went away (a TCP proxy in front of the cluster, cut and
//! restored); `health()` says what is wrong.

#[path = "support/pg.rs"]
mod pg;
#[path = "support/service.rs"]
mod support;
#[path = "support/worker_process.rs"]
mod worker_process;

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lora_export::audit::ExportStatus;
use lora_export::pg::{ErrorReport, ExportService, ServiceConfig, WorkerOptions};
use support::*;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;
use worker_process::worker_binary;

/// A trigger that fails every completion of an export the way a full disk
/// does: the database refuses the statement.
const REFUSE_COMPLETION: &str = "
CREATE FUNCTION public.refuse_completion() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status = 'completed' THEN
    RAISE EXCEPTION 'could not extend file \"base/16384/2619\": No space left on device';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER refuse_completion BEFORE UPDATE ON lora_export.export_logs
  FOR EACH ROW EXECUTE FUNCTION public.refuse_completion();";

/// A trigger that makes every completion outlast a 1 s `statement_timeout`.
const SLOW_COMPLETION: &str = "
CREATE FUNCTION public.slow_completion() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status = 'completed' THEN PERFORM pg_sleep(3); END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER slow_completion BEFORE UPDATE ON lora_export.export_logs
  FOR EACH ROW EXECUTE FUNCTION public.slow_completion();";

async fn sql(service: &ExportService, sql: &str) {
    service.database().client().await.unwrap().batch_execute(sql).await.unwrap();
}

/// Every report sent to the service's error sink.
fn collecting(service: ExportService) -> (ExportService, Arc<Mutex<Vec<ErrorReport>>>) {
    let reports = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&reports);
    let service = service
        .with_error_sink(Arc::new(move |r: &ErrorReport| sink.lock().unwrap().push(r.clone())));
    (service, reports)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_failure_during_a_synchronous_export_is_503() {
    let (service, _) = service().await;
    let (service, reports) = collecting(service);
    sql(&service, REFUSE_COMPLETION).await;
    let user = user(&service).await;
    let err = service.create_export(user, &small_body("jsonl")).await.unwrap_err();
    assert_eq!((err.http_status(), err.code()), (503, "SERVICE_UNAVAILABLE"), "{err}");
    assert!(err.retry_after_secs().is_some());
    let message = err.to_string();
    assert!(
        !message.contains("No space left"),
        "the database's words stay on the server: {message}"
    );
    let report = reports.lock().unwrap()[0].clone();
    assert!(report.detail.contains("No space left on device"), "{report:?}");
    assert!(message.contains(&report.error_id.unwrap().to_string()), "{message}");
    assert_eq!((report.export_id.is_some(), report.attempt), (true, Some(1)));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_synchronous_export_past_its_time_limit_is_503_saying_why() {
    let (service, _) = service_with(|c| c.statement_timeout = Duration::from_secs(1)).await;
    let (service, reports) = collecting(service);
    sql(&service, SLOW_COMPLETION).await;
    let user = user(&service).await;
    let err = service.create_export(user, &small_body("jsonl")).await.unwrap_err();
    assert_eq!((err.http_status(), err.code()), (503, "SERVICE_UNAVAILABLE"), "{err}");
    let message = err.to_string();
    assert!(message.contains("time limit"), "{message}");
    assert_eq!(message.matches("retry in").count(), 1, "{message}");
    let report = reports.lock().unwrap()[0].clone();
    assert_eq!(
        (report.code, report.error_id, report.attempt),
        ("SERVICE_UNAVAILABLE", None, Some(1))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_failed_for_good_says_so() {
    let (service, _) = service_with(|c| {
        c.max_attempts = 2;
        c.statement_timeout = Duration::from_secs(1);
    })
    .await;
    sql(&service, SLOW_COMPLETION).await;
    let user = user(&service).await;
    let export_id = service.create_export(user, &body("all", "jsonl")).await.unwrap().export_id();
    for attempt in 1..=2 {
        admin_sql(
            service.database(),
            "UPDATE export_jobs SET run_after = now() WHERE export_id = $1",
            export_id,
        )
        .await;
        assert_eq!(service.process_jobs(1).await.unwrap(), 1);
        if attempt == 1 {
            let client = service.database().client().await.unwrap();
            let sql = "SELECT last_error FROM export_jobs WHERE export_id = $1";
            let last: String = client.query_one(sql, &[&export_id]).await.unwrap().get(0);
            assert!(last.contains("time limit") && !last.contains("retry in 5 s"), "{last}");
        }
    }
    let status = service.status(user, export_id).await.unwrap();
    assert_eq!(status.status, ExportStatus::Failed);
    let message = status.error_message.unwrap();
    assert!(!message.contains("retry in"), "a job failed for good promises no retry: {message}");
    assert!(message.contains("2 attempts") && message.contains("time limit"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_attempt_is_a_json_line_on_the_workers_stderr() {
    let (service, _) = service().await;
    sql(&service, REFUSE_COMPLETION).await;
    let user = user(&service).await;
    let export_id = service.create_export(user, &body("all", "jsonl")).await.unwrap().export_id();
    let config = service.config();
    let output = Command::new(worker_binary())
        .args(["--max-jobs", "1"])
        .env("LORA_EXPORT_DATABASE_URL", &config.database_url)
        .env("LORA_EXPORT_STORAGE_ROOT", &config.storage_root)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(output.status.success());
    let lines: Vec<serde_json::Value> = output
        .stderr
        .lines()
        .map_while(std::result::Result::ok)
        .filter_map(|l| serde_json::from_str(&l).ok())
        .collect();
    let line =
        lines.iter().find(|l| l["export_id"] == export_id.to_string()).unwrap_or_else(|| {
            panic!("no JSON line for the attempt: {}", String::from_utf8_lossy(&output.stderr))
        });
    assert_eq!(line["source"], "lora-export");
    assert_eq!(
        (line["operation"].as_str(), line["attempt"].as_u64()),
        (Some("run_worker"), Some(1))
    );
    assert_eq!(line["code"], "DATABASE_ERROR");
    assert!(line["error_id"].as_str().is_some_and(|id| id.len() == 36), "{line}");
    assert!(line["detail"].as_str().unwrap().contains("No space left on device"), "{line}");
}

/// `url` (`postgres://user@host…`) with `role` as its user.
fn with_role(url: &str, role: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (_, host) = rest.split_once('@').unwrap();
    format!("{scheme}://{role}@{host}")
}

#[tokio::test(flavor = "multi_thread")]
async fn connect_and_migrate_errors_carry_their_cause() {
    let url = pg::fresh_database().await;
    let (base, _) = url.rsplit_once('/').unwrap();
    let refused = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        format!("postgres://postgres@127.0.0.1:{port}/postgres")
    };
    let wrong_ca = std::env::var("LORA_EXPORT_TEST_SSL_WRONG_CA").unwrap();
    let cases = [
        (format!("{base}/no_such_database"), "DATABASE_ERROR", "does not exist"),
        (with_role(&url, "no_such_role"), "DATABASE_ERROR", "no_such_role"),
        (refused, "DATABASE_ERROR", "refused"),
        (
            format!("{url}?sslmode=verify-full&sslrootcert={wrong_ca}"),
            "DATABASE_TLS_ERROR",
            "certificate",
        ),
    ];
    for (url, code, cause) in cases {
        let service = ExportService::connect(ServiceConfig::new(url.clone())).unwrap();
        let (service, reports) = collecting(service);
        let err = service.migrate().await.unwrap_err();
        assert_eq!(err.code(), code, "{url}: {err}");
        let message = err.to_string();
        assert!(message.contains(cause), "{url}: the cause is in the error: {message}");
        let report = reports.lock().unwrap()[0].clone();
        assert_eq!(report.operation, "migrate");
        assert!(message.contains(&report.error_id.unwrap().to_string()), "{message}");
    }
}

/// A TCP proxy in front of the test cluster that can be cut (every open
/// connection dropped, new ones closed at once) and restored.
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<AbortHandle>>>,
}

impl Proxy {
    async fn start() -> Proxy {
        let admin = pg::admin_url();
        let target = admin.split('@').nth(1).unwrap().split('/').next().unwrap().to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let open = Arc::new(Mutex::new(Vec::<AbortHandle>::new()));
        let (accepting, tracked) = (Arc::clone(&up), Arc::clone(&open));
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !accepting.load(Ordering::SeqCst) {
                    continue; // dropped: the client sees its connection closed
                }
                let target = target.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tracked.lock().unwrap().push(task.abort_handle());
            }
        });
        Proxy { port, up, open }
    }

    /// `url` of the test cluster, through the proxy.
    fn url(&self, url: &str) -> String {
        let (head, rest) = url.split_once('@').unwrap();
        let (_, path) = rest.split_once('/').unwrap();
        format!("{head}@127.0.0.1:{}/{path}", self.port)
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for task in self.open.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pool_recovers_after_the_database_went_away() {
    let proxy = Proxy::start().await;
    let (direct, _) = service().await;
    let mut config = direct.config().clone();
    config.database_url = proxy.url(&config.database_url);
    let (service, _) = collecting(ExportService::connect(config).unwrap());
    let user = user(&direct).await;
    let export_id = service.create_export(user, &small_body("jsonl")).await.unwrap().export_id();
    service.status(user, export_id).await.unwrap();
    proxy.cut();
    let err = service.status(user, export_id).await.unwrap_err();
    assert_eq!(err.http_status(), 500, "{err}");
    proxy.restore();
    let started = Instant::now();
    wait_until(Duration::from_secs(10), "the pool to reconnect", || async {
        service.status(user, export_id).await.is_ok()
    })
    .await;
    eprintln!("reconnected in {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_worker_loop_survives_an_outage_backs_off_and_logs_each_failure() {
    let proxy = Proxy::start().await;
    let (direct, _) = service().await;
    let mut config = direct.config().clone();
    config.database_url = proxy.url(&config.database_url);
    let (worker, reports) = collecting(ExportService::connect(config).unwrap());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut options = WorkerOptions::new("outage-worker");
    options.poll_interval = Duration::from_millis(100);
    options.listen = false;
    options.maintenance = false;
    options.stop = Some(stopped);
    let running = tokio::spawn(async move { worker.run_worker(options).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    proxy.cut();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let failures: Vec<ErrorReport> = reports.lock().unwrap().clone();
    assert!(!failures.is_empty(), "every failure of the loop is reported");
    assert!(
        failures.iter().all(|r| r.operation == "run_worker" && !r.detail.is_empty()),
        "{failures:?}"
    );
    // 100 ms polls would have failed 30 times in 3 s; the backoff doubles.
    assert!(failures.len() <= 8, "the loop backs off: {} failures", failures.len());
    proxy.restore();
    let user = user(&direct).await;
    let export_id = direct.create_export(user, &body("all", "jsonl")).await.unwrap().export_id();
    wait_until(Duration::from_secs(20), "the worker to run the job", || async {
        direct.status(user, export_id).await.unwrap().status == ExportStatus::Completed
    })
    .await;
    stop.send(true).unwrap();
    let report = running.await.unwrap().unwrap();
    assert_eq!(report.completed, 1);
    assert!(report.errors >= 1 && report.last_error.is_some(), "{report:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn health_says_what_is_wrong_without_the_cause() {
    let (service, _) = service().await;
    let health = service.health().await;
    assert!(health.ok && health.database && health.migrations_current, "{health:?}");
    assert_eq!(health.schema_version, Some(health.latest_version));
    assert_eq!((health.worker_seen_at, health.problem.as_deref()), (None, None));
    assert_eq!(service.process_jobs(1).await.unwrap(), 0);
    let user = user(&service).await;
    service.create_export(user, &body("all", "jsonl")).await.unwrap();
    assert_eq!(service.process_jobs(1).await.unwrap(), 1);
    assert!(service.health().await.worker_seen_at.is_some(), "a worker ran a job");

    let bare = ExportService::connect(ServiceConfig::new(pg::empty_database().await)).unwrap();
    let health = bare.health().await;
    assert!(!health.ok && health.database && !health.migrations_current, "{health:?}");
    assert!(health.problem.unwrap().starts_with("DATABASE_NOT_MIGRATED"));

    let mut config = service.config().clone();
    config.database_url = with_role(&config.database_url, "no_such_role");
    let (gone, reports) = collecting(ExportService::connect(config).unwrap());
    let health = gone.health().await;
    assert!(!health.ok && !health.database, "{health:?}");
    let problem = health.problem.unwrap();
    assert!(problem.starts_with("DATABASE_ERROR (error id ") && !problem.contains("no_such_role"));
    let report = reports.lock().unwrap()[0].clone();
    assert!(
        report.detail.contains("no_such_role")
            && problem.contains(&report.error_id.unwrap().to_string())
    );
}
