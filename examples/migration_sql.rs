//! Prints the lora-export schema as one SQL script, for a team that commits
//! it under `supabase/migrations` instead of migrating at run time:
//!
//! ```sh
//! cargo run --features postgres --example migration_sql > supabase/migrations/20261201000000_lora_export.sql
//! ```
//!
//! The script records each migration it applies, so a later `migrate()`
//! (from Rust, Node or Python) applies nothing it already holds.

fn main() {
    print!("{}", lora_export::pg::migration_sql());
}
