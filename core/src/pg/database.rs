use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;
use uuid::Uuid;

use super::ServiceConfig;
use crate::{Error, ErrorKind, Result};

/// A pooled connection.
pub type DbClient = deadpool_postgres::Object;

/// A transaction on a pooled connection.
pub type DbTransaction<'a> = deadpool_postgres::Transaction<'a>;

/// The connection pool (deadpool-postgres) and the two ways of using it: as
/// a user, under RLS, or as the service.
#[derive(Clone)]
pub struct Database {
    pool: Pool,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database").field("status", &self.pool.status()).finish()
    }
}

impl Database {
    /// Builds the pool for `config` (no connection is opened yet).
    pub fn connect(config: &ServiceConfig) -> Result<Database> {
        config.validate()?;
        let pg: tokio_postgres::Config = config
            .database_url
            .parse()
            .map_err(|e| ErrorKind::Config(format!("database_url: {e}")))?;
        let manager = Manager::from_config(
            pg,
            NoTls,
            ManagerConfig { recycling_method: RecyclingMethod::Fast },
        );
        let pool = Pool::builder(manager)
            .max_size(config.pool_size)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| ErrorKind::Config(format!("connection pool: {e}")))?;
        Ok(Database { pool })
    }

    /// A connection from the pool, with the service's own privileges.
    pub async fn client(&self) -> Result<DbClient> {
        self.pool.get().await.map_err(|e| database_error(&e.to_string()))
    }

    /// Opens a transaction on `client` that runs as `user`: the
    /// `authenticated` role with `{"sub": user, "role": "authenticated"}` as
    /// JWT claims, so that `auth.uid()` is the user and RLS applies.
    pub async fn user_transaction(client: &mut DbClient, user: Uuid) -> Result<DbTransaction<'_>> {
        let tx = client.transaction().await?;
        let claims = serde_json::json!({ "sub": user, "role": "authenticated" }).to_string();
        tx.execute("SELECT set_config('request.jwt.claims', $1, true)", &[&claims]).await?;
        tx.batch_execute("SET LOCAL ROLE authenticated").await?;
        Ok(tx)
    }

    /// The pool itself, for callers that manage connections by hand.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }
}

/// A database error with a message safe to show to an API client: the
/// SQLSTATE and the server's message, never connection details.
fn database_error(message: &str) -> Error {
    ErrorKind::Database(message.lines().next().unwrap_or("database error").to_owned()).into()
}

impl From<tokio_postgres::Error> for Error {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.as_db_error() {
            Some(db) => database_error(&format!("{} ({})", db.message(), db.code().code())),
            None => database_error(&e.to_string()),
        }
    }
}
