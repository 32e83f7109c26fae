use deadpool_postgres::{
    Hook, HookError, Manager, ManagerConfig, Pool, PoolError, RecyclingMethod,
};
use lora_export_core::ErrorKind as CoreKind;
use serde_json::Value;
use tokio_postgres::error::SqlState;
use tokio_postgres::{NoTls, SimpleQueryMessage};
use uuid::Uuid;

use std::sync::Arc;
use std::time::Duration;

use super::listen::ListenTarget;
use super::tls::{SslMode, TlsSettings};
use crate::{Error, ErrorKind, Result};

/// A pooled connection.
pub type DbClient = deadpool_postgres::Object;

/// A transaction on a pooled connection.
pub type DbTransaction<'a> = deadpool_postgres::Transaction<'a>;

/// The connection pool (deadpool-postgres) and the two ways of using it: as
/// a user, under RLS, or as the service.
///
/// Every connection runs with `search_path` set to the library's schema
/// (`lora_export` by default), the configured `statement_timeout` and
/// `idle_in_transaction_session_timeout`, with JIT compilation off (unless
/// the URL's `options` turn it on), and a request waits at most
/// `pool_wait_timeout` for one (then [`ErrorKind::Unavailable`], HTTP 503).
/// The service never waits for a second connection while it holds one.
/// TLS follows `sslmode`/`sslrootcert` as libpq reads them (see [`SslMode`]).
#[derive(Clone)]
pub struct Database {
    pool: Pool,
    schema: String,
    listen: Arc<ListenTarget>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database").field("status", &self.pool.status()).finish()
    }
}

/// What the pool needs of the service's options
/// ([`Database::connect`](crate::Database::connect) takes them from a
/// [`ServiceConfig`](crate::ServiceConfig)).
pub(crate) struct PoolOptions<'a> {
    pub database_url: &'a str,
    pub schema: &'a str,
    pub statement_timeout: Duration,
    pub idle_in_transaction_timeout: Duration,
    pub pool_size: usize,
    pub pool_wait_timeout: Duration,
}

impl Database {
    /// Builds the pool (no connection is opened yet).
    pub(crate) fn open(config: PoolOptions<'_>) -> Result<Database> {
        let tls =
            TlsSettings::from_connection_string(config.database_url, |k| std::env::var(k).ok())?;
        let mut pg: tokio_postgres::Config =
            tls.rest.parse().map_err(|e| CoreKind::Config(format!("database_url: {e}")))?;
        pg.ssl_mode(tls.wire_mode());
        // JIT off unless the URL's own options turn it back on: the
        // service's queries are keyed lookups of a batch, and before a
        // fresh import is analyzed their cost estimates are high enough to
        // be JIT-compiled: 60-95 ms of compiling for a lookup that runs in
        // a few milliseconds.
        let options = format!(
            "-c jit=off {} -c search_path={} -c statement_timeout={} -c idle_in_transaction_session_timeout={}",
            pg.get_options().unwrap_or_default(),
            config.schema,
            config.statement_timeout.as_millis(),
            config.idle_in_transaction_timeout.as_millis(),
        );
        pg.options(options.trim_start());
        if pg.get_ports().contains(&SUPAVISOR_TRANSACTION_PORT) {
            return Err(ErrorKind::UnsupportedPooler(
                "port 6543 is Supavisor's transaction mode".into(),
            )
            .into());
        }
        let manager_config = ManagerConfig { recycling_method: RecyclingMethod::Fast };
        let connector = match tls.mode {
            SslMode::Disable => None,
            _ => Some(tls.connector()?),
        };
        let mut listen = ListenTarget { config: pg.clone(), tls: connector.clone() };
        listen.config.connect_timeout(config.statement_timeout);
        let manager = match connector {
            None => Manager::from_config(pg, NoTls, manager_config),
            Some(connector) => Manager::from_config(pg, connector, manager_config),
        };
        let pool = Pool::builder(manager)
            .max_size(config.pool_size)
            .wait_timeout(Some(config.pool_wait_timeout))
            .create_timeout(Some(config.statement_timeout))
            .recycle_timeout(Some(config.statement_timeout))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .post_create(settings_check(config.statement_timeout.as_millis().to_string()))
            .build()
            .map_err(|e| CoreKind::Config(format!("connection pool: {e}")))?;
        Ok(Database { pool, schema: config.schema.to_owned(), listen: Arc::new(listen) })
    }

    /// A connection from the pool, with the service's own privileges.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unavailable`] when none frees up within
    /// `pool_wait_timeout`; an internal `DATABASE_ERROR` when connecting fails.
    pub async fn client(&self) -> Result<DbClient> {
        self.pool.get().await.map_err(|e| match e {
            PoolError::Timeout(_) => ErrorKind::Unavailable {
                reason: "every database connection is busy".into(),
                retry_after_secs: 1,
            }
            .into(),
            PoolError::Backend(e) | PoolError::PostCreateHook(HookError::Backend(e)) => e.into(),
            PoolError::PostCreateHook(HookError::Message(why)) => {
                ErrorKind::UnsupportedPooler(why.into_owned()).into()
            }
            other => Error::internal("DATABASE_ERROR", other.to_string()),
        })
    }

    /// Opens a transaction on `client` that runs as `user`: the
    /// `authenticated` role with `{"sub": user, "role": "authenticated"}` as
    /// JWT claims, so that `auth.uid()` is the user and RLS applies.
    pub async fn user_transaction(client: &mut DbClient, user: Uuid) -> Result<DbTransaction<'_>> {
        Self::user_transaction_with(client, user, None).await
    }

    /// [`user_transaction`](Self::user_transaction) carrying a verified
    /// token's `claims` (a [`Session`](crate::Session)'s), as PostgREST
    /// carries them, so the app's policies that read `auth.jwt()` (`aal`,
    /// `is_anonymous`, `app_metadata`) decide as they do for its API.
    pub(crate) async fn user_transaction_with<'a>(
        client: &'a mut DbClient,
        user: Uuid,
        claims: Option<&Value>,
    ) -> Result<DbTransaction<'a>> {
        let tx = client.transaction().await?;
        act_as_user(&tx, user, claims).await?;
        Ok(tx)
    }

    /// [`user_transaction`](Self::user_transaction) whose statements are
    /// cancelled after `timeout` (`SET LOCAL statement_timeout`): the
    /// export modal's interactive reads run under the shorter
    /// `interactive_statement_timeout`.
    pub(crate) async fn interactive_transaction<'a>(
        client: &'a mut DbClient,
        user: Uuid,
        claims: Option<&Value>,
        timeout: std::time::Duration,
    ) -> Result<DbTransaction<'a>> {
        let tx = Database::user_transaction_with(client, user, claims).await?;
        let millis = timeout.as_millis();
        tx.batch_execute(&format!("SET LOCAL statement_timeout = {millis}")).await?;
        Ok(tx)
    }

    /// The schema of the library's objects; every pooled connection has it
    /// as its `search_path`.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// How a listening connection is opened (see `listen.rs`).
    pub(crate) fn listen_target(&self) -> &ListenTarget {
        &self.listen
    }

    /// The pool itself, for callers that manage connections by hand.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }
}

/// Supabase's transaction-mode pooler port.
const SUPAVISOR_TRANSACTION_PORT: u16 = 6543;

/// Checks each new connection kept its startup settings: a pooler that
/// drops them (PgBouncer with `ignore_startup_parameters = options`) would
/// also share the session between clients, so the service refuses it.
fn settings_check(expected_ms: String) -> Hook {
    Hook::async_fn(move |client, _| {
        let expected = expected_ms.clone();
        Box::pin(async move {
            let messages = client
                .simple_query("SELECT setting FROM pg_settings WHERE name = 'statement_timeout'")
                .await
                .map_err(HookError::Backend)?;
            let setting = messages.iter().find_map(|m| match m {
                SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
                _ => None,
            });
            if setting.as_deref() == Some(expected.as_str()) {
                return Ok(());
            }
            Err(HookError::message(format!(
                "the startup setting statement_timeout={expected}ms was dropped (the server has {})",
                setting.as_deref().unwrap_or("none")
            )))
        })
    })
}

/// Switches the rest of `tx` to `user` (see [`Database::user_transaction`]),
/// with the verified token's `claims` when there are some (`sub` and
/// `role` always the user's and `authenticated`). Both claim settings are
/// set for the transaction, so a value a pooled connection kept from an
/// earlier session never decides the user.
pub(crate) async fn act_as_user(
    tx: &DbTransaction<'_>,
    user: Uuid,
    claims: Option<&Value>,
) -> Result<()> {
    let mut claims = match claims {
        Some(Value::Object(verified)) => verified.clone(),
        _ => serde_json::Map::new(),
    };
    claims.insert("sub".into(), Value::String(user.to_string()));
    claims.insert("role".into(), Value::String("authenticated".into()));
    let claims = Value::Object(claims).to_string();
    tx.execute(
        "SELECT set_config('request.jwt.claims', $1, true),
                set_config('request.jwt.claim.sub', $2, true),
                set_config('request.jwt.claim.role', 'authenticated', true)",
        &[&claims, &user.to_string()],
    )
    .await?;
    tx.batch_execute("SET LOCAL ROLE authenticated").await?;
    Ok(())
}

/// Switches the rest of `tx` back to the service's own role.
pub(crate) async fn act_as_service(tx: &DbTransaction<'_>) -> Result<()> {
    tx.batch_execute("RESET ROLE").await?;
    Ok(())
}

/// SQLSTATEs that mean the library's schema (or Supabase's roles) is missing.
const NOT_MIGRATED: [SqlState; 4] = [
    SqlState::UNDEFINED_TABLE,
    SqlState::UNDEFINED_OBJECT,
    SqlState::UNDEFINED_FUNCTION,
    SqlState::INVALID_SCHEMA_NAME,
];

impl From<tokio_postgres::Error> for Error {
    fn from(e: tokio_postgres::Error) -> Self {
        let Some(db) = e.as_db_error() else {
            let mut detail = e.to_string();
            let mut tls = false;
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                let inner = cause.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref());
                tls |=
                    cause.is::<rustls::Error>() || inner.is_some_and(|i| i.is::<rustls::Error>());
                detail = format!("{detail}: {cause}");
                source = cause.source();
            }
            let code = if tls { "DATABASE_TLS_ERROR" } else { "DATABASE_ERROR" };
            return Error::internal(code, detail);
        };
        let code = db.code();
        if *code == SqlState::PROTOCOL_VIOLATION
            && db.message().contains("unsupported startup parameter")
        {
            return ErrorKind::UnsupportedPooler(format!("it refused: {}", db.message())).into();
        }
        if NOT_MIGRATED.contains(code) {
            return ErrorKind::NotMigrated.into();
        }
        if *code == SqlState::QUERY_CANCELED || *code == SqlState::TOO_MANY_CONNECTIONS {
            let reason = if *code == SqlState::QUERY_CANCELED {
                "a database statement took longer than its time limit (narrow the filters or the search)"
            } else {
                "the database has no free connection"
            };
            return ErrorKind::Unavailable { reason: reason.into(), retry_after_secs: 5 }.into();
        }
        Error::internal("DATABASE_ERROR", format!("{} ({})", db.message(), code.code()))
    }
}
