use deadpool_postgres::{
    Connect, Hook, HookError, Manager, ManagerConfig, Pool, PoolError, RecyclingMethod,
};
use lora_export_core::ErrorKind as CoreKind;
use serde_json::Value;
use tokio_postgres::error::SqlState;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{NoTls, SimpleQueryMessage, Socket};
use tokio_postgres_rustls::MakeRustlsConnect;
use uuid::Uuid;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use super::listen::ListenTarget;
use super::session::{DbClient, DbTransaction, Session};
use super::tls::{SslMode, TlsSettings};
use crate::{Error, ErrorKind, Result};

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
///
/// The settings travel in the startup parameter `options`. Behind a
/// transaction-mode pooler — port 6543 (Supavisor's), a pooler that refuses
/// `options` (PgBouncer's default) or one that drops it — they are set in
/// each transaction instead (`SET LOCAL`), and statements keep no state
/// between transactions (see [`DbClient`]).
#[derive(Clone)]
pub struct Database {
    pool: Pool,
    schema: String,
    listen: Arc<ListenTarget>,
    session: Arc<Session>,
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
        let bare = pg.clone();
        // JIT off unless the URL's own options turn it back on: the
        // service's queries are keyed lookups of a batch, and before a
        // fresh import is analyzed their cost estimates are high enough to
        // be JIT-compiled: 60-95 ms of compiling for a lookup that runs in
        // a few milliseconds.
        let settings = [
            ("jit", "off".to_owned()),
            ("search_path", config.schema.to_owned()),
            ("statement_timeout", config.statement_timeout.as_millis().to_string()),
            (
                "idle_in_transaction_session_timeout",
                config.idle_in_transaction_timeout.as_millis().to_string(),
            ),
        ];
        let (first, rest) = settings.split_first().expect("settings");
        let options = std::iter::once(format!("-c {}={}", first.0, first.1))
            .chain(pg.get_options().map(str::to_owned))
            .chain(rest.iter().map(|(name, value)| format!("-c {name}={value}")))
            .collect::<Vec<_>>()
            .join(" ");
        pg.options(&options);
        let pooled = pg.get_ports().contains(&SUPAVISOR_TRANSACTION_PORT);
        let session = Arc::new(Session::new(&settings, pooled));
        let manager_config = ManagerConfig { recycling_method: RecyclingMethod::Fast };
        let connector = match tls.mode {
            SslMode::Disable => None,
            _ => Some(tls.connector()?),
        };
        let mut listen = ListenTarget { config: pg.clone(), tls: connector.clone() };
        listen.config.connect_timeout(config.statement_timeout);
        let connect = SettingsConnect { tls: connector, bare, session: Arc::clone(&session) };
        let manager = Manager::from_connect(pg, connect, manager_config);
        let pool = Pool::builder(manager)
            .max_size(config.pool_size)
            .wait_timeout(Some(config.pool_wait_timeout))
            .create_timeout(Some(config.statement_timeout))
            .recycle_timeout(Some(config.statement_timeout))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .post_create(settings_check(
                config.statement_timeout.as_millis().to_string(),
                Arc::clone(&session),
            ))
            .build()
            .map_err(|e| CoreKind::Config(format!("connection pool: {e}")))?;
        Ok(Database { pool, schema: config.schema.to_owned(), listen: Arc::new(listen), session })
    }

    /// A connection from the pool, with the service's own privileges.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unavailable`] when none frees up within
    /// `pool_wait_timeout`; an internal `DATABASE_ERROR` when connecting fails.
    pub async fn client(&self) -> Result<DbClient> {
        let object = self.pool.get().await.map_err(|e| match e {
            PoolError::Timeout(_) => ErrorKind::Unavailable {
                reason: "every database connection is busy".into(),
                retry_after_secs: 1,
            }
            .into(),
            PoolError::Backend(e) | PoolError::PostCreateHook(HookError::Backend(e)) => e.into(),
            other => Error::internal("DATABASE_ERROR", other.to_string()),
        })?;
        Ok(DbClient::new(object, Arc::clone(&self.session)))
    }

    /// Whether a transaction-mode pooler stands between the service and
    /// the database (known once a connection was opened).
    pub fn behind_transaction_pooler(&self) -> bool {
        self.session.pooled()
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

/// Opens connections with the startup settings, and without them once a
/// pooler refused the startup parameter `options` (PgBouncer's
/// "unsupported startup parameter: options").
struct SettingsConnect {
    tls: Option<MakeRustlsConnect>,
    bare: tokio_postgres::Config,
    session: Arc<Session>,
}

type Connected = (tokio_postgres::Client, tokio::task::JoinHandle<()>);

impl Connect for SettingsConnect {
    fn connect(
        &self,
        pg_config: &tokio_postgres::Config,
    ) -> Pin<
        Box<dyn Future<Output = std::result::Result<Connected, tokio_postgres::Error>> + Send + '_>,
    > {
        let with_settings = pg_config.clone();
        Box::pin(async move {
            if !self.session.pooled() {
                match open(&with_settings, self.tls.clone()).await {
                    Err(e) if refused_options(&e) => self.session.mark_pooled(),
                    other => return other,
                }
            }
            open(&self.bare, self.tls.clone()).await
        })
    }
}

fn refused_options(e: &tokio_postgres::Error) -> bool {
    e.as_db_error().is_some_and(|db| {
        *db.code() == SqlState::PROTOCOL_VIOLATION
            && db.message().contains("unsupported startup parameter")
            && db.message().contains("options")
    })
}

async fn open(
    config: &tokio_postgres::Config,
    tls: Option<MakeRustlsConnect>,
) -> std::result::Result<Connected, tokio_postgres::Error> {
    match tls {
        None => drive(config, NoTls).await,
        Some(tls) => drive(config, tls).await,
    }
}

async fn drive<T>(
    config: &tokio_postgres::Config,
    tls: T,
) -> std::result::Result<Connected, tokio_postgres::Error>
where
    T: MakeTlsConnect<Socket> + Send + 'static,
    T::Stream: Send + 'static,
    T::TlsConnect: Send,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    let (client, connection) = config.connect(tls).await?;
    // A connection's end shows at its next use, as the pool's error.
    let task = tokio::spawn(async move { drop(connection.await) });
    Ok((client, task))
}

/// Checks whether each new connection kept its startup settings: a pooler
/// that drops them (PgBouncer with `ignore_startup_parameters = options`)
/// pools per transaction, and the settings are then set per transaction.
fn settings_check(expected_ms: String, session: Arc<Session>) -> Hook {
    Hook::async_fn(move |client, _| {
        let expected = expected_ms.clone();
        let session = Arc::clone(&session);
        Box::pin(async move {
            if session.pooled() {
                return Ok(());
            }
            let messages = client
                .simple_query("SELECT setting FROM pg_settings WHERE name = 'statement_timeout'")
                .await
                .map_err(HookError::Backend)?;
            let setting = messages.iter().find_map(|m| match m {
                SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
                _ => None,
            });
            if setting.as_deref() != Some(expected.as_str()) {
                session.mark_pooled();
            }
            Ok(())
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
