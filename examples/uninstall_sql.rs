//! Prints the SQL that removes what lora-export's migrations created, for a
//! team that removes the library by hand (remove the export files first:
//! docs/service.md, "Uninstalling"):
//!
//! ```sh
//! cargo run --features postgres --example uninstall_sql | psql -1 "$DATABASE_URL"
//! ```
//!
//! The library's schema is named by the first argument, else
//! `LORA_EXPORT_SCHEMA`, else `lora_export`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let schema = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("LORA_EXPORT_SCHEMA").ok())
        .unwrap_or_else(|| "lora_export".to_owned());
    match lora_export::pg::uninstall_sql(&schema) {
        Ok(sql) => {
            print!("{sql}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("uninstall_sql: {e}");
            ExitCode::from(2)
        }
    }
}
