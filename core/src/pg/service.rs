//! The [`ExportService`]: one handle for every operation of the seeds'
//! export lifecycle. The operations live in their own files (`create`,
//! `access`, `history`, `run`, `cleanup`, `metrics`, `worker`).

use std::sync::Arc;

use uuid::Uuid;

use super::metrics::MetricEvent;
use super::rows::{lock_log, StoredLog};
use super::storage::{LocalStorage, Storage};
use super::{Database, DbTransaction, ImportSummary, ServiceConfig};
use crate::{ErrorKind, Result};

/// A callback receiving one [`MetricEvent`] per completed or failed export.
pub type MetricsSink = Arc<dyn Fn(&MetricEvent) + Send + Sync>;

/// The database-backed export service: create, run, status, download,
/// history, delete, cleanup, metrics, and background workers.
///
/// Cheap to clone (a pool handle and two `Arc`s); share one per process.
/// Every operation made for a user runs in
/// [`Database::user_transaction`], so RLS keeps users apart; the service's
/// own privileges are used only to tell "another user's export" (403) from
/// "no such export" (404), and by workers and the cleanup jobs.
///
/// ```
/// use lora_export::pg::{ExportService, ServiceConfig};
/// // Building the service opens no connection yet.
/// let service = ExportService::connect(ServiceConfig::new("postgres://localhost/app")).unwrap();
/// assert_eq!(service.config().sync_threshold, 500);
/// ```
#[derive(Clone)]
pub struct ExportService {
    db: Database,
    config: Arc<ServiceConfig>,
    storage: Arc<dyn Storage>,
    metrics_sink: Option<MetricsSink>,
}

impl std::fmt::Debug for ExportService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportService")
            .field("db", &self.db)
            .field("config", &self.config)
            .field("storage", &self.storage)
            .finish_non_exhaustive()
    }
}

impl ExportService {
    /// A service for `config`, storing files in a [`LocalStorage`] at
    /// `config.storage_root`. Validates the config; connects lazily.
    pub fn connect(config: ServiceConfig) -> Result<ExportService> {
        let db = Database::connect(&config)?;
        let storage = Arc::new(LocalStorage::new(&config.storage_root));
        Ok(ExportService { db, config: Arc::new(config), storage, metrics_sink: None })
    }

    /// The same service with another file store.
    pub fn with_storage(mut self, storage: Arc<dyn Storage>) -> ExportService {
        self.storage = storage;
        self
    }

    /// The same service, sending each export's [`MetricEvent`] to `sink`.
    pub fn with_metrics_sink(mut self, sink: MetricsSink) -> ExportService {
        self.metrics_sink = Some(sink);
        self
    }

    /// Applies pending schema migrations (see [`Database::migrate`]).
    pub async fn migrate(&self) -> Result<Vec<i32>> {
        self.db.migrate().await
    }

    /// Loads canonical JSONL conversations (see [`Database::import_conversations`]).
    pub async fn import_conversations(
        &self,
        reader: impl std::io::BufRead + Send,
    ) -> Result<ImportSummary> {
        self.db.import_conversations(reader).await
    }

    /// The database handle.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// The configuration.
    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    /// The file store.
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    pub(super) fn emit(&self, event: &MetricEvent) {
        if let Some(sink) = &self.metrics_sink {
            sink(event);
        }
    }

    /// The user's live export `export_id`, locked for update in `tx` (a user
    /// transaction); otherwise 403 when it belongs to someone else, else 404.
    pub(super) async fn locate(
        &self,
        tx: &DbTransaction<'_>,
        user: Uuid,
        export_id: Uuid,
    ) -> Result<StoredLog> {
        if let Some(found) = lock_log(tx, export_id).await? {
            return Ok(found);
        }
        let client = self.db.client().await?;
        let owner: Option<Uuid> = client
            .query_opt("SELECT user_id FROM export_logs WHERE export_id = $1", &[&export_id])
            .await?
            .map(|row| row.get(0));
        Err(match owner {
            Some(owner) if owner != user => ErrorKind::Forbidden(export_id.to_string()),
            _ => ErrorKind::NotFound(export_id.to_string()),
        }
        .into())
    }
}
