//! The database: the connection pool and the two ways of using it (as a
//! user under RLS, or as the service), the schema migrations, the rows the
//! service reads and writes, the SQL of the export scopes, the streaming of
//! conversations out of PostgreSQL, and the importer.

pub mod filter_sql;
mod import;
mod listen;
mod migrate;
mod pool;
pub(crate) mod rows;
pub mod schema;
mod session;
pub mod source;
mod tls;

pub use import::ImportSummary;
pub(crate) use listen::JobListener;
pub use migrate::{migration_sql, uninstall_sql, MigrateOptions, MIGRATIONS};
pub use pool::Database;
pub(crate) use pool::PoolOptions;
pub(crate) use pool::{act_as_service, act_as_user};
pub use rows::ExportFile;
pub use schema::SourceTables;
pub use session::{DbClient, DbTransaction, Statements};
pub use tls::SslMode;
