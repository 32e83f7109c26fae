//! [`ExportService::health`]: what an app's health endpoint shows — the
//! database answers, its lora-export schema is current, when a worker was
//! last seen — without a cause a visitor should not read (that goes to the
//! error sink under the error id the answer names).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::db::MIGRATIONS;
use crate::{ErrorKind, ExportService, Result};

/// The service's health, safe to expose (`GET /api/export/health`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// The database answers and its schema is current.
    pub ok: bool,
    /// A connection was made and answered a query.
    pub database: bool,
    /// Every migration this version of the library ships is applied.
    pub migrations_current: bool,
    /// The newest migration applied (`None`: unreachable, not migrated, or
    /// the login may not read `lora_export_migrations`).
    pub schema_version: Option<i32>,
    /// The newest migration this version ships.
    pub latest_version: i32,
    /// When a background worker last claimed or beat a job, or started a
    /// maintenance run (`None`: never, or unknown). Queued exports wait
    /// for one: with none running they stay `queued`.
    pub worker_seen_at: Option<DateTime<Utc>>,
    /// What is wrong, safe to show: a code and an error id, whose cause
    /// the error sink got (a JSON line on stderr by default).
    pub problem: Option<String>,
}

impl ExportService {
    /// Checks the database (one connection, one query), the schema's
    /// version and the workers' last sign of life. Never fails: what is
    /// wrong is in [`Health::problem`], its cause reported to the error sink.
    pub async fn health(&self) -> Health {
        let latest_version = MIGRATIONS.last().map_or(0, |m| m.0);
        let mut health = Health {
            ok: false,
            database: false,
            migrations_current: false,
            schema_version: None,
            latest_version,
            worker_seen_at: None,
            problem: None,
        };
        let checked = self.check_health(&mut health).await;
        if let Err(e) = self.observe_operator("health", checked) {
            health.problem = Some(match e.error_id() {
                Some(id) => format!("{} (error id {id})", e.code()),
                None => e.code().to_owned(),
            });
        } else if !health.migrations_current {
            health.problem = Some(format!(
                "DATABASE_NOT_MIGRATED: schema version {}, this library needs {latest_version}",
                health.schema_version.map_or("none".into(), |v| v.to_string())
            ));
        }
        health.ok = health.database && health.migrations_current;
        health
    }

    async fn check_health(&self, health: &mut Health) -> Result<()> {
        let client = self.database().client().await?;
        client.simple_query("SELECT 1").await?;
        health.database = true;
        let version =
            client.query_one("SELECT max(version) FROM lora_export_migrations", &[]).await;
        health.schema_version = match version.map_err(crate::Error::from) {
            Ok(row) => row.get(0),
            Err(e) if matches!(e.kind(), ErrorKind::NotMigrated) => None,
            Err(e) => return Err(e),
        };
        health.migrations_current = health.schema_version == Some(health.latest_version);
        if health.migrations_current {
            let seen = client
                .query_one(
                    "SELECT greatest(
                       (SELECT max(seen_at) FROM export_workers),
                       (SELECT max(heartbeat_at) FROM export_jobs WHERE locked_by NOT LIKE 'sync-%'),
                       (SELECT max(started_at) FROM export_schedule_runs))",
                    &[],
                )
                .await?;
            health.worker_seen_at = seen.get(0);
        }
        Ok(())
    }
}
