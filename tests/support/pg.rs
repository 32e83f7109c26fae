//! A fresh, migrated database per test, on the PostgreSQL cluster that
//! `scripts/postgres.sh` started (`LORA_EXPORT_TEST_DATABASE_URL`, a
//! superuser URL): shaped as Supabase ships one (`supabase.sql`) and
//! migrated by its app's login, `app_owner`, not a superuser, as whom the
//! tests connect. The migrated database is built once as a template
//! (named after a hash of the migrations and the shape) and copied, which
//! is fast and safe when tests run in parallel processes.
#![allow(dead_code)]

use lora_export::pg::schema::render_migration;
use lora_export::pg::{Database, MigrateOptions, ServiceConfig, MIGRATIONS};
use sha2::{Digest, Sha256};
use tokio_postgres::NoTls;

/// The admin URL of the test cluster; tests fail loudly without it.
pub fn admin_url() -> String {
    std::env::var("LORA_EXPORT_TEST_DATABASE_URL").expect(
        "LORA_EXPORT_TEST_DATABASE_URL is not set: run the tests through scripts/test.sh, \
         which starts a PostgreSQL cluster",
    )
}

fn url_for(db: &str) -> String {
    let admin = admin_url();
    let base = admin.rsplit_once('/').map(|(b, _)| b).expect("URL with a database name");
    format!("{base}/{db}")
}

async fn admin(url: &str) -> tokio_postgres::Client {
    let (client, conn) =
        tokio_postgres::connect(url, NoTls).await.expect("connect to test cluster");
    tokio::spawn(conn);
    client
}

/// Migrating a bare database of the test cluster asks for Supabase's
/// stand-ins (roles and `auth`).
pub const STAND_INS: MigrateOptions = MigrateOptions { supabase_stand_ins: true };

/// A new Supabase-shaped database ([`supabase_database`]'s shape) with
/// every migration applied by [`APP_LOGIN`], no stand-ins; returns
/// [`APP_LOGIN`]'s URL on it, so that the suites run as a Supabase app's
/// login does: not a superuser. The migrated database is built once as a
/// template (named after a hash of the migrations and the shape) and
/// copied.
pub async fn fresh_database() -> String {
    let shape = include_str!("supabase.sql");
    let digest = Sha256::digest(
        MIGRATIONS.iter().map(|m| m.2).chain([shape]).collect::<String>().as_bytes(),
    );
    let template = format!("lora_tpl_{}", &format!("{digest:x}")[..16]);
    let client = admin(&admin_url()).await;
    client.execute("SELECT pg_advisory_lock(727272)", &[]).await.expect("lock");
    let exists = client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&template])
        .await
        .expect("query")
        .is_some();
    if !exists {
        client
            .batch_execute(&format!("CREATE DATABASE {template}"))
            .await
            .expect("create template");
        admin(&url_for(&template))
            .await
            .batch_execute(shape)
            .await
            .expect("shape the template as Supabase's");
        let db =
            Database::connect(&ServiceConfig::new(app_url_of(&url_for(&template)))).expect("pool");
        db.migrate().await.expect("migrations apply as the app's login");
        drop(db);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    client
        .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
        .await
        .expect("copy template");
    client.execute("SELECT pg_advisory_unlock(727272)", &[]).await.expect("unlock");
    // A copy does not keep the database's grants.
    admin(&url_for(&name))
        .await
        .batch_execute(&format!("GRANT ALL ON DATABASE {name} TO {APP_LOGIN}"))
        .await
        .expect("grant the app's login its database");
    app_url_of(&url_for(&name))
}

/// The cluster's superuser on the database of `url` (a URL of
/// [`fresh_database`]), for what a test sets up that the app's login may
/// not do.
pub fn superuser_url(url: &str) -> String {
    url.replacen(&format!("://{APP_LOGIN}@"), "://postgres@", 1)
}

/// [`APP_LOGIN`]'s URL for the superuser URL `url`.
fn app_url_of(url: &str) -> String {
    let app_url = url.replacen("://postgres@", &format!("://{APP_LOGIN}@"), 1);
    assert_ne!(app_url, url, "the test cluster's URL names the user postgres");
    app_url
}

/// A service config on a fresh database with its own storage directory.
pub async fn fresh_config() -> ServiceConfig {
    let mut config = ServiceConfig::new(fresh_database().await);
    config.storage_root =
        std::env::temp_dir().join(format!("lora-export-test-{}", uuid::Uuid::new_v4()));
    config
}

/// Creates a user in auth.users (the stand-in, or Supabase's) and returns its id.
pub async fn create_user(db: &Database) -> uuid::Uuid {
    let id = uuid::Uuid::new_v4();
    let client = db.client().await.expect("client");
    client
        .execute(
            "INSERT INTO auth.users (id, email) VALUES ($1, $2)",
            &[&id, &format!("{id}@example.com")],
        )
        .await
        .expect("insert user");
    id
}

/// The login of a Supabase-shaped database's app (Supabase's `postgres`):
/// not a superuser, see `supabase.sql`.
pub const APP_LOGIN: &str = "app_owner";

/// A database shaped as Supabase ships one (`tests/support/supabase.sql`),
/// nothing of the library in it.
pub struct SupabaseDatabase {
    /// The cluster's superuser on it (plays `supabase_admin`).
    pub admin_url: String,
    /// [`APP_LOGIN`] on it.
    pub app_url: String,
}

/// A new [`SupabaseDatabase`]. The roles it needs are cluster-wide: they
/// are created (when missing) under the lock [`fresh_database`] takes.
pub async fn supabase_database() -> SupabaseDatabase {
    let client = admin(&admin_url()).await;
    let name = format!("s_{}", uuid::Uuid::new_v4().simple());
    client.execute("SELECT pg_advisory_lock(727272)", &[]).await.expect("lock");
    client.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("create database");
    let admin_url = url_for(&name);
    admin(&admin_url)
        .await
        .batch_execute(include_str!("supabase.sql"))
        .await
        .expect("shape the database as Supabase's");
    client.execute("SELECT pg_advisory_unlock(727272)", &[]).await.expect("unlock");
    let app_url = app_url_of(&admin_url);
    SupabaseDatabase { admin_url, app_url }
}

/// A new database with nothing in it (no migration applied); returns its URL.
pub async fn empty_database() -> String {
    let client = admin(&admin_url()).await;
    let name = format!("e_{}", uuid::Uuid::new_v4().simple());
    client.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("create database");
    url_for(&name)
}

/// How many relations and functions the database's `public` schema holds.
pub async fn objects_in_public(client: &tokio_postgres::Client) -> i64 {
    client
        .query_one(
            "SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace)
                  + (SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace)",
            &[],
        )
        .await
        .expect("count the objects in public")
        .get(0)
}

/// Makes `admin`'s database one that an earlier library migrated: the first
/// `count` migrations applied in `schema` (on the stand-ins) and recorded
/// there as `migrate()` records them. Leaves the session's `search_path` at
/// `schema`.
pub async fn apply_first_migrations(admin: &tokio_postgres::Client, schema: &str, count: usize) {
    admin
        .batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {schema}; SET search_path = {schema};
             SET lora_export.supabase_stand_ins = on;
             CREATE TABLE lora_export_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,
               applied_at TIMESTAMPTZ NOT NULL DEFAULT NOW())"
        ))
        .await
        .expect("create the migrations table");
    for (version, name, sql) in &MIGRATIONS[..count] {
        admin.batch_execute(&render_migration(sql, schema)).await.expect("apply a migration");
        admin
            .execute("INSERT INTO lora_export_migrations VALUES ($1, $2)", &[version, name])
            .await
            .expect("record a migration");
    }
}
