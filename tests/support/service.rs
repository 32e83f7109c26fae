//! Shared setup of the service tests: a fresh database with the bundled
//! sample imported, a service on it, and the checks every test ends with.
#![allow(dead_code)]

use std::io::BufReader;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lora_export::model::ExportRequest;
use lora_export::pg::source::ConversationSource;
use lora_export::pg::Result;
use lora_export::pg::{
    Database, ExportService, FileKey, MetricEvent, ServiceConfig, SourceTables, StagedFile,
    Storage, StorageFuture, StoredFile,
};
use lora_export::request::validate_request;
use lora_export::ExportBuilder;
use serde_json::Value;
use tokio::io::AsyncReadExt;
use uuid::Uuid;

use super::pg;

/// The bundled sample: 46 conversations (32 approved) and 4 malformed lines.
pub const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/sample.jsonl");

/// A service on a fresh database holding the sample, with `tune` applied to
/// its config (sync threshold 5 unless changed), and the metric events it emits.
pub async fn service_with(
    tune: impl FnOnce(&mut ServiceConfig),
) -> (ExportService, Arc<Mutex<Vec<MetricEvent>>>) {
    let mut config = pg::fresh_config().await;
    config.sync_threshold = 5;
    tune(&mut config);
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    let service = ExportService::connect(config)
        .unwrap()
        .with_metrics_sink(Arc::new(move |e: &MetricEvent| sink.lock().unwrap().push(e.clone())));
    let file = std::fs::File::open(SAMPLE).unwrap();
    service.import_conversations(BufReader::new(file)).await.unwrap();
    (service, events)
}

/// [`service_with`] the defaults of the tests.
pub async fn service() -> (ExportService, Arc<Mutex<Vec<MetricEvent>>>) {
    service_with(|_| {}).await
}

/// A new user.
pub async fn user(service: &ExportService) -> Uuid {
    pg::create_user(service.database()).await
}

/// A request body with `scope` and `format`.
pub fn body(scope: &str, format: &str) -> Value {
    serde_json::json!({ "config": { "scope": scope, "format": format } })
}

/// Three approved conversations: small enough to run synchronously.
pub fn small_body(format: &str) -> Value {
    serde_json::json!({
        "config": { "scope": "selected", "format": format },
        "conversationIds": ["cs-0001", "cs-0002", "cs-0004"],
    })
}

/// What the core alone writes for `body` over every conversation of the
/// database, read back in the export's order, dated like the export.
pub async fn core_bytes(
    db: &Database,
    body: &Value,
    date: chrono::DateTime<chrono::Utc>,
) -> Vec<u8> {
    let request: ExportRequest = validate_request(body).unwrap();
    let records = every_record(db, &request).await;
    let mut out = Vec::new();
    ExportBuilder::new(request).export_date(date).export(records, &mut out).unwrap();
    out
}

/// Every conversation of the database as records, in the export's order.
pub async fn every_record(
    db: &Database,
    request: &ExportRequest,
) -> Vec<lora_export::source::Record> {
    let mut all = ExportRequest::new(request.config.clone());
    all.config.scope = lora_export::model::Scope::AllData;
    let client = db.client().await.unwrap();
    let mut source =
        ConversationSource::new(&all, 1000, &SourceTables::library(db.schema()).unwrap()).unwrap();
    let mut records = Vec::new();
    while let Some(batch) = source.next_batch(&client).await.unwrap() {
        records.extend(batch);
    }
    records
}

/// Reads a download to its end.
pub async fn read_all(mut file: impl tokio::io::AsyncRead + Unpin) -> Vec<u8> {
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).await.unwrap();
    bytes
}

/// The audit events of an export, in order.
pub async fn events(db: &Database, export_id: Uuid) -> Vec<String> {
    let client = db.client().await.unwrap();
    client
        .query(
            "SELECT event FROM export_audit_events WHERE export_id = $1 ORDER BY seq",
            &[&export_id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// The hash chain of every export verifies.
pub async fn assert_audit_chain_intact(db: &Database) {
    let client = db.client().await.unwrap();
    let problems = client.query("SELECT * FROM export_audit_verify(NULL)", &[]).await.unwrap();
    assert!(problems.is_empty(), "{} audit chain problems", problems.len());
}

/// Runs SQL as the superuser of the test database.
pub async fn admin_sql(db: &Database, sql: &str, export_id: Uuid) -> u64 {
    db.client().await.unwrap().execute(sql, &[&export_id]).await.unwrap()
}

/// A store whose writes always fail.
#[derive(Debug)]
pub struct BrokenStorage;

impl Storage for BrokenStorage {
    fn stage(&self, _: &FileKey) -> Result<Box<dyn StagedFile>> {
        Err(std::io::Error::other("disk full").into())
    }
    fn open<'a>(
        &'a self,
        _: &'a FileKey,
        _: Option<std::ops::Range<u64>>,
    ) -> StorageFuture<'a, StoredFile> {
        Box::pin(async { Err(std::io::Error::other("no file").into()) })
    }
    fn delete<'a>(&'a self, _: &'a FileKey) -> StorageFuture<'a, bool> {
        Box::pin(async { Ok(false) })
    }
    fn exists<'a>(&'a self, _: &'a FileKey) -> StorageFuture<'a, bool> {
        Box::pin(async { Ok(false) })
    }
    fn sweep_staged<'a>(
        &'a self,
        _: std::time::SystemTime,
        _: &'a std::collections::HashSet<Uuid>,
    ) -> StorageFuture<'a, u64> {
        Box::pin(async { Ok(0) })
    }
}

/// Polls `check` every 50 ms until it holds; panics after `limit`.
pub async fn wait_until<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The cluster's superuser on `service`'s database, with the library's
/// schema on its search path: for tampering that only a superuser can do
/// (`session_replication_role`, any role), never for the service's work.
pub async fn superuser(service: &ExportService) -> tokio_postgres::Client {
    let url = pg::superuser_url(&service.config().database_url);
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    client.batch_execute("SET search_path = lora_export").await.unwrap();
    client
}
