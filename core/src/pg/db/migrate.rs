use crate::pg::Database;
use crate::Result;

/// The schema migrations, in order: (version, name, SQL). Each runs once, in
/// its own transaction, recorded in `lora_export_migrations`.
pub const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "supabase_standins", include_str!("migrations/0001_supabase_standins.sql")),
    (2, "conversations", include_str!("migrations/0002_conversations.sql")),
    (3, "export_logs", include_str!("migrations/0003_export_logs.sql")),
    (4, "audit_events", include_str!("migrations/0004_audit_events.sql")),
    (5, "export_jobs", include_str!("migrations/0005_export_jobs.sql")),
    (6, "export_service", include_str!("migrations/0006_export_service.sql")),
    (7, "privilege_model", include_str!("migrations/0007_privilege_model.sql")),
];

/// The table that records which migrations a database has.
const MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS lora_export_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at TIMESTAMPTZ NOT NULL DEFAULT NOW())";

/// Every migration as one SQL script, for a team that commits its schema
/// (`supabase/migrations/<timestamp>_lora_export.sql`, applied by the
/// Supabase CLI) instead of calling [`Database::migrate`] at run time. The
/// script also records each version in `lora_export_migrations`, so a later
/// `migrate()` applies nothing it already holds. Write it for a database
/// without the lora-export schema; later versions of the library print the
/// same script with the new migrations appended (apply the new part only).
///
/// ```
/// let sql = lora_export::pg::migration_sql();
/// assert!(sql.contains("CREATE TABLE IF NOT EXISTS lora_export_migrations"));
/// assert!(sql.contains("VALUES (7, 'privilege_model')"));
/// ```
pub fn migration_sql() -> String {
    let mut script = format!(
        "-- lora-export schema, migrations 1 to {} (lora_export::pg::migration_sql)\n{MIGRATIONS_TABLE};\n",
        MIGRATIONS.len()
    );
    for (version, name, sql) in MIGRATIONS {
        script.push_str(&format!("\n-- migration {version}: {name}\n{}\n", sql.trim_end()));
        script.push_str(&format!(
            "INSERT INTO lora_export_migrations (version, name) VALUES ({version}, '{name}') \
             ON CONFLICT (version) DO NOTHING;\n"
        ));
    }
    script
}

impl Database {
    /// Applies the migrations not yet applied, under an advisory lock so that
    /// several processes may call it at once. Returns the versions applied.
    pub async fn migrate(&self) -> Result<Vec<i32>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock(hashtextextended('lora_export.migrate', 0))", &[])
            .await?;
        tx.batch_execute(MIGRATIONS_TABLE).await?;
        let done: Vec<i32> = tx
            .query("SELECT version FROM lora_export_migrations", &[])
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut applied = Vec::new();
        for (version, name, sql) in MIGRATIONS {
            if done.contains(version) {
                continue;
            }
            tx.batch_execute(sql).await?;
            tx.execute(
                "INSERT INTO lora_export_migrations (version, name) VALUES ($1, $2)",
                &[version, name],
            )
            .await?;
            applied.push(*version);
        }
        tx.commit().await?;
        Ok(applied)
    }
}
