//! Pooled connections that keep no state between transactions, so the
//! service works through a transaction-mode pooler (Supabase's Supavisor on
//! port 6543, PgBouncer with `pool_mode = transaction`), which hands each
//! transaction to whichever server session is free:
//!
//! - Every statement is PostgreSQL's unnamed statement, parsed, bound and
//!   run in one round trip (tokio-postgres's `query_typed`). tokio-postgres's
//!   `query`/`execute` first prepare a named statement `sN` in a round trip
//!   of its own: through such a pooler the statement may be bound on
//!   another server session, where it is missing or where another client's
//!   `sN` already exists. Each parameter's type is the first of
//!   [`PARAM_TYPES`] its Rust type encodes to.
//! - When the connection's startup settings (`search_path`,
//!   `statement_timeout`, `idle_in_transaction_session_timeout`, `jit`) did
//!   not reach the server — the pooler refused the startup parameter
//!   `options` or dropped it — each transaction starts with them as
//!   `SET LOCAL`, and a statement outside a transaction runs in one of its
//!   own (`BEGIN; SET LOCAL …`, the statement and `COMMIT` sent together: one
//!   round trip).
//!
//! Advisory locks are the transaction's (`pg_advisory_xact_lock`) and user
//! claims are set for the transaction only (see `pool.rs`); `LISTEN` needs a
//! session and is not attempted behind such a pooler (see `listen.rs`).

use std::future::Future;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::BytesMut;
use tokio_postgres::types::{ToSql, Type, WrongType};
use tokio_postgres::{Error as PgError, Row, RowStream};

/// The parameter types the service binds, in the order they are tried: a
/// Rust value gets the first it encodes to (a `String` is `text`, a JSON
/// value `jsonb`, a `Vec<Uuid>` `uuid[]`).
const PARAM_TYPES: [Type; 18] = [
    Type::UUID,
    Type::INT8,
    Type::INT4,
    Type::INT2,
    Type::BOOL,
    Type::FLOAT8,
    Type::FLOAT4,
    Type::TEXT,
    Type::JSONB,
    Type::TIMESTAMPTZ,
    Type::TIMESTAMP,
    Type::DATE,
    Type::BYTEA,
    Type::UUID_ARRAY,
    Type::INT8_ARRAY,
    Type::INT4_ARRAY,
    Type::TEXT_ARRAY,
    Type::JSONB_ARRAY,
];

/// The PostgreSQL type `param` is sent as. `text` when none of
/// [`PARAM_TYPES`] fits, so that tokio-postgres names the mismatch. A type
/// that fits is found by encoding the value into a scratch buffer (a wrong
/// type is refused before any encoding), so the value is encoded twice:
/// the service's parameters are small but for the importer's JSON batches.
fn param_type(param: &(dyn ToSql + Sync)) -> Type {
    let mut scratch = BytesMut::new();
    PARAM_TYPES
        .iter()
        .find(|ty| {
            scratch.clear();
            !matches!(param.to_sql_checked(ty, &mut scratch), Err(e) if e.is::<WrongType>())
        })
        .unwrap_or(&Type::TEXT)
        .clone()
}

fn typed<'p>(params: &[&'p (dyn ToSql + Sync)]) -> Vec<(&'p (dyn ToSql + Sync), Type)> {
    params.iter().map(|p| (*p, param_type(*p))).collect()
}

/// Whether a pool's connections carry the service's settings from their
/// startup, and the `SET LOCAL` statements that set them in a transaction
/// when they do not.
#[derive(Debug)]
pub(crate) struct Session {
    pooled: AtomicBool,
    set_local: String,
}

impl Session {
    /// `settings`: the service's settings as (name, value) pairs.
    pub(crate) fn new(settings: &[(&str, String)], pooled: bool) -> Session {
        let set_local = settings
            .iter()
            .map(|(name, value)| format!("SET LOCAL {name} = {value}"))
            .collect::<Vec<_>>();
        Session { pooled: AtomicBool::new(pooled), set_local: set_local.join("; ") }
    }

    /// Whether a transaction-mode pooler stands in between: the startup
    /// settings did not reach the server.
    pub(crate) fn pooled(&self) -> bool {
        self.pooled.load(Ordering::Acquire)
    }

    /// Records that the startup settings did not reach the server.
    pub(crate) fn mark_pooled(&self) {
        self.pooled.store(true, Ordering::Release);
    }
}

/// What [`DbClient`] and [`DbTransaction`] have in common: the statements
/// of the module docs, for code that runs on either.
pub trait Statements: Sync {
    /// The rows of `sql`.
    fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<Vec<Row>, PgError>> + Send;

    /// The one row of `sql` (an error when there are none or several).
    fn query_one(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<Row, PgError>> + Send;

    /// The row of `sql`, if any (an error when there are several).
    fn query_opt(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<Option<Row>, PgError>> + Send;

    /// Runs `sql` and returns the number of rows it changed.
    fn execute(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<u64, PgError>> + Send;
}

macro_rules! statements {
    ($type:ty) => {
        impl Statements for $type {
            fn query(
                &self,
                sql: &str,
                params: &[&(dyn ToSql + Sync)],
            ) -> impl Future<Output = Result<Vec<Row>, PgError>> + Send {
                <$type>::query(self, sql, params)
            }

            fn query_one(
                &self,
                sql: &str,
                params: &[&(dyn ToSql + Sync)],
            ) -> impl Future<Output = Result<Row, PgError>> + Send {
                <$type>::query_one(self, sql, params)
            }

            fn query_opt(
                &self,
                sql: &str,
                params: &[&(dyn ToSql + Sync)],
            ) -> impl Future<Output = Result<Option<Row>, PgError>> + Send {
                <$type>::query_opt(self, sql, params)
            }

            fn execute(
                &self,
                sql: &str,
                params: &[&(dyn ToSql + Sync)],
            ) -> impl Future<Output = Result<u64, PgError>> + Send {
                <$type>::execute(self, sql, params)
            }
        }
    };
}

statements!(DbClient);
statements!(DbTransaction<'_>);

/// A pooled connection (see the module docs). Dereferences to the
/// tokio-postgres client for everything else (`batch_execute`,
/// `simple_query`).
pub struct DbClient {
    object: deadpool_postgres::Object,
    session: Arc<Session>,
}

impl std::fmt::Debug for DbClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbClient").field("pooled", &self.session.pooled()).finish()
    }
}

impl Deref for DbClient {
    type Target = tokio_postgres::Client;

    fn deref(&self) -> &tokio_postgres::Client {
        &self.object
    }
}

impl DbClient {
    pub(crate) fn new(object: deadpool_postgres::Object, session: Arc<Session>) -> DbClient {
        DbClient { object, session }
    }

    /// Opens a transaction, with the service's settings when the startup
    /// did not set them.
    pub async fn transaction(&mut self) -> Result<DbTransaction<'_>, PgError> {
        let tx = self.object.transaction().await?;
        if self.session.pooled() {
            tx.batch_execute(&self.session.set_local).await?;
        }
        Ok(DbTransaction { tx })
    }

    /// Runs `work` (one statement already built, not yet polled) in a
    /// transaction of its own with the service's settings when the startup
    /// did not set them; sent together with its `BEGIN` and `COMMIT`.
    async fn alone<T>(&self, work: impl Future<Output = Result<T, PgError>>) -> Result<T, PgError> {
        if !self.session.pooled() {
            return work.await;
        }
        let begin = format!("BEGIN; {}", self.session.set_local);
        // `join!` polls the three in order before any waits, so the three
        // requests go out in order; a failed statement turns the `COMMIT`
        // into a rollback.
        let (begun, result, committed) = tokio::join!(
            self.object.batch_execute(&begin),
            work,
            self.object.batch_execute("COMMIT")
        );
        begun?;
        let value = result?;
        committed?;
        Ok(value)
    }

    /// The rows of `sql`.
    pub async fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, PgError> {
        self.alone(self.object.query_typed(sql, &typed(params))).await
    }

    /// The one row of `sql` (an error when there are none or several).
    pub async fn query_one(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, PgError> {
        self.alone(self.object.query_typed_one(sql, &typed(params))).await
    }

    /// The row of `sql`, if any (an error when there are several).
    pub async fn query_opt(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, PgError> {
        self.alone(self.object.query_typed_opt(sql, &typed(params))).await
    }

    /// Runs `sql` and returns the number of rows it changed.
    pub async fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, PgError> {
        self.alone(self.object.execute_typed(sql, &typed(params))).await
    }
}

/// A transaction on a [`DbClient`]; its statements are unnamed as the
/// client's are. Dereferences to the tokio-postgres transaction for
/// everything else.
pub struct DbTransaction<'a> {
    tx: deadpool_postgres::Transaction<'a>,
}

impl<'a> Deref for DbTransaction<'a> {
    type Target = tokio_postgres::Transaction<'a>;

    fn deref(&self) -> &tokio_postgres::Transaction<'a> {
        &self.tx
    }
}

impl DbTransaction<'_> {
    /// Commits.
    pub async fn commit(self) -> Result<(), PgError> {
        self.tx.commit().await
    }

    /// Rolls back (dropping the transaction does too).
    pub async fn rollback(self) -> Result<(), PgError> {
        self.tx.rollback().await
    }

    /// The rows of `sql`.
    pub async fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, PgError> {
        self.tx.query_typed(sql, &typed(params)).await
    }

    /// The rows of `sql` as they arrive.
    pub async fn query_raw(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<RowStream, PgError> {
        self.tx.query_typed_raw(sql, typed(params)).await
    }

    /// The one row of `sql` (an error when there are none or several).
    pub async fn query_one(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, PgError> {
        self.tx.query_typed_one(sql, &typed(params)).await
    }

    /// The row of `sql`, if any (an error when there are several).
    pub async fn query_opt(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, PgError> {
        self.tx.query_typed_opt(sql, &typed(params)).await
    }

    /// Runs `sql` and returns the number of rows it changed.
    pub async fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, PgError> {
        self.tx.execute_typed(sql, &typed(params)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use serde_json::json;
    use uuid::Uuid;

    #[test]
    fn each_parameter_is_sent_as_the_first_type_its_rust_type_encodes_to() {
        let none: Option<Uuid> = None;
        let params: [(&(dyn ToSql + Sync), Type); 9] = [
            (&Uuid::nil(), Type::UUID),
            (&none, Type::UUID),
            (&7_i64, Type::INT8),
            (&7_i32, Type::INT4),
            (&"text", Type::TEXT),
            (&String::from("text"), Type::TEXT),
            (&json!({"a": 1}), Type::JSONB),
            (&DateTime::<Utc>::UNIX_EPOCH, Type::TIMESTAMPTZ),
            (&vec![Uuid::nil()], Type::UUID_ARRAY),
        ];
        for (param, expected) in params {
            assert_eq!(param_type(param), expected, "{param:?}");
        }
    }
}
