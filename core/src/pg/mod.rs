//! The PostgreSQL layer (cargo feature `postgres`): a Supabase-compatible
//! schema with row-level security, and everything the export lifecycle of
//! the seeds needs on top of the pure core.
//!
//! - [`ServiceConfig`]: typed configuration, from code or the environment;
//! - [`Database`]: the connection pool, [`migrate`](Database::migrate), and
//!   transactions run *as a user* (`authenticated` role with the user's JWT
//!   claims, so RLS — not only our code — keeps users apart) or as the service.
//!
//! Every operation made for a user runs through [`Database::user_transaction`]:
//!
//! ```text
//! BEGIN;
//! SELECT set_config('request.jwt.claims', '{"sub":"<user>","role":"authenticated"}', true);
//! SET LOCAL ROLE authenticated;
//! …
//! COMMIT;
//! ```

mod config;
mod database;
pub mod filter_sql;
mod import;
mod migrate;
mod service;
pub mod source;
mod storage;
mod worker;

pub use config::ServiceConfig;
pub use database::{Database, DbClient, DbTransaction};
pub use filter_sql::SqlFilter;
pub use import::ImportSummary;
pub use migrate::MIGRATIONS;
pub use source::{count_selected, ConversationSource};
