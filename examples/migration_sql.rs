//! Prints the lora-export schema as one SQL script, for a team that commits
//! it under `supabase/migrations` instead of migrating at run time:
//!
//! ```sh
//! cargo run --features postgres --example migration_sql > supabase/migrations/20261201000000_lora_export.sql
//! ```
//!
//! The library's objects go into the schema named by the first argument,
//! else `LORA_EXPORT_SCHEMA`, else `lora_export`. The script records each
//! migration it applies, so a later `migrate()` (from Rust, Node or Python)
//! applies nothing it already holds.

use std::process::ExitCode;

fn main() -> ExitCode {
    let schema = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("LORA_EXPORT_SCHEMA").ok())
        .unwrap_or_else(|| "lora_export".to_owned());
    match lora_export::pg::migration_sql(&schema) {
        Ok(sql) => {
            print!("{sql}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("migration_sql: {e}");
            ExitCode::from(2)
        }
    }
}
