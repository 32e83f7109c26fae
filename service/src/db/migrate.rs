use lora_export_core::ErrorKind as CoreKind;
use tokio_postgres::error::SqlState;

use super::schema::{check_schema_name, render_migration};
use crate::Database;
use crate::Result;

/// How [`Database::migrate_with`] migrates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MigrateOptions {
    /// Create minimal stand-ins for what the library needs of Supabase,
    /// where they are missing: the roles `anon`, `authenticated` and
    /// `service_role` (cluster-wide), the schema `auth`, `auth.users`,
    /// `auth.uid()` and `auth.jwt()`. For plain PostgreSQL (local
    /// development, tests), migrated by a login that may create roles.
    /// Default `false`: a database without them is refused
    /// (`CONFIG_ERROR` naming what is missing), and nothing is created. On
    /// Supabase they exist and nothing is created in `auth` either way.
    /// (Migration 1 reads it from the setting `lora_export.supabase_stand_ins`,
    /// which `migrate_with` sets for its transaction.)
    pub supabase_stand_ins: bool,
}

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
    (15, "user_lookup", include_str!("migrations/0015_user_lookup.sql")),
    (16, "file_removals", include_str!("migrations/0016_file_removals.sql")),
    (17, "workers", include_str!("migrations/0017_workers.sql")),
    (18, "job_source", include_str!("migrations/0018_job_source.sql")),
    (19, "alerts", include_str!("migrations/0019_alerts.sql")),
    (20, "admin_history", include_str!("migrations/0020_admin_history.sql")),
    (21, "message_fields", include_str!("migrations/0021_message_fields.sql")),
    (22, "parquet_format", include_str!("migrations/0022_parquet_format.sql")),
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
/// only). As `migrate()`, it creates nothing in `auth`, and stops on a
/// database without Supabase's roles and `auth` objects, naming them; for
/// plain PostgreSQL, apply it with the stand-ins asked for in the session
/// (`PGOPTIONS='-c lora_export.supabase_stand_ins=on' psql -1 -f …`; see
/// [`MigrateOptions::supabase_stand_ins`]).
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

/// SQL that removes what the migrations created for the library's
/// `schema`: the schema with everything in it (tables and their rows, the
/// audit trail, functions, triggers, policies, the foreign key to
/// `auth.users`), the grants on `auth` that earlier versions gave
/// `lora_export_service`, then that group role when nothing in the
/// cluster refers to it any more (another database's or schema's
/// installation keeps it; a notice says so). Supabase's roles and `auth`
/// objects stay, and so do stand-ins created for them (`MigrateOptions`):
/// the app may use them. The export files are not in the database: remove
/// them first ([`ExportService::uninstall`](crate::ExportService::uninstall)
/// does both). Run it in one transaction as the login that migrated.
///
/// ```
/// let sql = lora_export_service::uninstall_sql("lora_export").unwrap();
/// assert!(sql.contains("DROP SCHEMA IF EXISTS \"lora_export\" CASCADE"));
/// assert!(lora_export_service::uninstall_sql("public").is_err());
/// ```
///
/// # Errors
///
/// [`CoreKind::Config`](lora_export_core::ErrorKind::Config) when `schema` is not a
/// schema the library may own ([`check_schema_name`]).
pub fn uninstall_sql(schema: &str) -> Result<String> {
    check_schema_name(schema)?;
    Ok(render_migration(UNINSTALL, schema))
}

/// The script of [`uninstall_sql`].
const UNINSTALL: &str = "-- lora-export: uninstall (lora_export_service::uninstall_sql)
DROP SCHEMA IF EXISTS @schema@ CASCADE;
DO $$
BEGIN
  IF to_regrole('lora_export_service') IS NULL THEN
    RETURN;
  END IF;
  -- Granted by migration 14 before 15 replaced them with export_user_exists.
  IF to_regclass('auth.users') IS NOT NULL THEN
    REVOKE SELECT ON auth.users FROM lora_export_service;
  END IF;
  IF to_regnamespace('auth') IS NOT NULL THEN
    REVOKE USAGE ON SCHEMA auth FROM lora_export_service;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_shdepend WHERE refclassid = 'pg_authid'::regclass
             AND refobjid = to_regrole('lora_export_service')) THEN
    RAISE NOTICE 'lora_export_service stays: another installation of lora-export in this cluster has grants to it';
    RETURN;
  END IF;
  DROP ROLE lora_export_service;
END
$$;
";

impl Database {
    /// Applies the migrations not yet applied to the configured schema, under
    /// an advisory lock so that several processes may call it at once.
    /// Returns the versions applied. On a database that has them all it
    /// changes nothing, so a service login that does not own the schema
    /// (see the privilege model in [`crate`]) may call it; the owner
    /// applies new ones. Nothing is created in `auth` or outside the
    /// library's schema: a database without Supabase's roles and `auth`
    /// objects is refused ([`migrate_with`](Self::migrate_with) creates
    /// stand-ins for them when asked).
    ///
    /// # Errors
    ///
    /// `CONFIG_ERROR` when the database lacks what the library needs of
    /// Supabase, or the login lacks its privileges on `auth` (the message
    /// names them); a database error otherwise.
    pub async fn migrate(&self) -> Result<Vec<i32>> {
        self.migrate_with(MigrateOptions::default()).await
    }

    /// [`migrate`](Self::migrate) with `options`.
    pub async fn migrate_with(&self, options: MigrateOptions) -> Result<Vec<i32>> {
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
        let stand_ins = if options.supabase_stand_ins { "on" } else { "off" };
        tx.execute("SELECT set_config('lora_export.supabase_stand_ins', $1, true)", &[&stand_ins])
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
            tx.batch_execute(&render_migration(sql, schema)).await.map_err(unmet_prerequisite)?;
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

/// A migration's refusal of a database that lacks what the library needs
/// (SQLSTATE `55000`, raised by migration 1 naming it and the way out) is
/// a configuration error with the server's words, for the operator who
/// migrates; any other error stays a database error.
fn unmet_prerequisite(e: tokio_postgres::Error) -> crate::Error {
    match e.as_db_error() {
        Some(db) if *db.code() == SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE => {
            let hint = db.hint().map(|h| format!(" {h}")).unwrap_or_default();
            CoreKind::Config(format!("{}.{hint}", db.message())).into()
        }
        _ => e.into(),
    }
}
