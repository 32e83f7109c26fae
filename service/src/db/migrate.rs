use super::schema::{check_schema_name, render_migration};
use crate::Database;
use crate::Result;

/// The schema migrations, in order: (version, name, SQL). Each SQL text is
/// a template: `@schema@` stands for the library's schema (see
/// [`render_migration`]). All run in one transaction, with `search_path`
/// set to the schema, each recorded in its `lora_export_migrations`.
pub const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "supabase_standins", include_str!("migrations/0001_supabase_standins.sql")),
    (2, "conversations", include_str!("migrations/0002_conversations.sql")),
    (3, "export_logs", include_str!("migrations/0003_export_logs.sql")),
    (4, "audit_events", include_str!("migrations/0004_audit_events.sql")),
    (5, "export_jobs", include_str!("migrations/0005_export_jobs.sql")),
    (6, "export_service", include_str!("migrations/0006_export_service.sql")),
    (7, "privilege_model", include_str!("migrations/0007_privilege_model.sql")),
    (8, "own_schema", include_str!("migrations/0008_own_schema.sql")),
    (9, "export_files", include_str!("migrations/0009_export_files.sql")),
    (10, "schedules", include_str!("migrations/0010_schedules.sql")),
    (11, "audit_every_byte", include_str!("migrations/0011_audit_every_byte.sql")),
    (12, "no_leftovers", include_str!("migrations/0012_no_leftovers.sql")),
    (13, "job_claims", include_str!("migrations/0013_job_claims.sql")),
    (14, "service_login", include_str!("migrations/0014_service_login.sql")),
];

/// Moves the objects of a database migrated before the library had its own
/// schema out of `public` (a no-op otherwise).
const RELOCATE_FROM_PUBLIC: &str = include_str!("migrations/relocate_from_public.sql");

/// The table that records which migrations a database has.
const MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS lora_export_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at TIMESTAMPTZ NOT NULL DEFAULT NOW())";

/// What runs before the migrations: the schema, the search path (`SET
/// LOCAL` in `migrate()`'s transaction, `SET` in the script, which resets
/// it at its end) and, for a database of the earlier layout, the move out
/// of `public`.
fn preamble(schema: &str, set: &str) -> String {
    render_migration(
        &format!(
            "CREATE SCHEMA IF NOT EXISTS @schema@;\n{set} search_path = @schema@;\n{RELOCATE_FROM_PUBLIC}"
        ),
        schema,
    )
}

/// Every migration as one SQL script for the library's `schema`, for a
/// team that commits its schema (`supabase/migrations/<timestamp>_lora_export.sql`,
/// applied by the Supabase CLI) instead of calling [`Database::migrate`] at
/// run time. Apply it in one transaction (`psql -1 -f`, as the Supabase CLI
/// applies a migration file); it sets `search_path` for its statements and
/// resets it at the end. It also records each
/// version in `<schema>.lora_export_migrations`, so a later `migrate()`
/// applies nothing it already holds. Later versions of the library print
/// the same script with the new migrations appended (apply the new part
/// only).
///
/// ```
/// let sql = lora_export_service::migration_sql("lora_export").unwrap();
/// assert!(sql.contains("CREATE SCHEMA IF NOT EXISTS \"lora_export\""));
/// assert!(sql.contains("VALUES (8, 'own_schema')"));
/// assert!(lora_export_service::migration_sql("public").is_err());
/// ```
///
/// # Errors
///
/// [`CoreKind::Config`](lora_export_core::ErrorKind::Config) when `schema` is not a
/// schema the library may own ([`check_schema_name`]).
pub fn migration_sql(schema: &str) -> Result<String> {
    check_schema_name(schema)?;
    let mut script = format!(
        "-- lora-export schema \"{schema}\", migrations 1 to {} (lora_export_service::migration_sql)\n{}\n{MIGRATIONS_TABLE};\n",
        MIGRATIONS.len(),
        preamble(schema, "SET").trim_end()
    );
    for (version, name, sql) in MIGRATIONS {
        script.push_str(&format!(
            "\n-- migration {version}: {name}\n{}\n",
            render_migration(sql, schema).trim_end()
        ));
        script.push_str(&format!(
            "INSERT INTO lora_export_migrations (version, name) VALUES ({version}, '{name}') \
             ON CONFLICT (version) DO NOTHING;\n"
        ));
    }
    script.push_str("RESET search_path;\n");
    Ok(script)
}

impl Database {
    /// Applies the migrations not yet applied to the configured schema, under
    /// an advisory lock so that several processes may call it at once.
    /// Returns the versions applied. On a database that has them all it
    /// changes nothing, so a service login that does not own the schema
    /// (see the privilege model in [`crate`]) may call it; the owner
    /// applies new ones.
    pub async fn migrate(&self) -> Result<Vec<i32>> {
        let schema = self.schema();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock(hashtextextended('lora_export.migrate', 0))", &[])
            .await?;
        let recorded = format!("{}.lora_export_migrations", render_migration("@schema@", schema));
        let exists: bool =
            tx.query_one("SELECT to_regclass($1) IS NOT NULL", &[&recorded]).await?.get(0);
        if exists {
            let versions: Vec<i32> = MIGRATIONS.iter().map(|m| m.0).collect();
            let sql = format!("SELECT count(*) FROM {recorded} WHERE version = ANY($1)");
            let held: i64 = tx.query_one(&sql, &[&versions]).await?.get(0);
            if usize::try_from(held).is_ok_and(|held| held == MIGRATIONS.len()) {
                tx.commit().await?;
                return Ok(Vec::new());
            }
        }
        tx.batch_execute(&preamble(schema, "SET LOCAL")).await?;
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
            tx.batch_execute(&render_migration(sql, schema)).await?;
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
