//! The database-backed export flow end to end, printing each step:
//! migrate → import `data/sample.jsonl` → create (queued: 202) → worker →
//! status → download to a file → history.
//!
//! ```text
//! DATABASE_URL=postgres://postgres@localhost/app cargo run --features postgres --example pg_flow
//! ```
//!
//! Any `ServiceConfig` environment variable applies (files go to
//! `LORA_EXPORT_STORAGE_ROOT`, default `./export-files`); the sync threshold
//! is lowered to 5 so that the 32 approved sample conversations take the
//! background path. It migrates with Supabase's stand-ins (for plain
//! PostgreSQL: the roles and `auth.users`; on Supabase nothing is created in
//! `auth`). The user is created in `auth.users` on plain PostgreSQL; on
//! Supabase set `LORA_EXPORT_USER_ID` to an existing user.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use lora_export::pg::{CreateOutcome, ExportService, HistoryQuery, MigrateOptions, ServiceConfig};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

type Main = Result<(), Box<dyn std::error::Error>>;

#[tokio::main]
async fn main() -> Main {
    let mut config = ServiceConfig::from_env()?;
    config.sync_threshold = 5;
    let service = ExportService::connect(config)?;

    let stand_ins = MigrateOptions { supabase_stand_ins: true };
    println!("1. migrate: applied {:?}", service.migrate_with(stand_ins).await?);
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/sample.jsonl");
    let imported = service.import_conversations(BufReader::new(File::open(sample)?)).await?;
    println!("2. import: {} conversations, {} skipped", imported.imported, imported.skipped.len());

    let user = user(&service).await?;
    let body = serde_json::json!({ "config": { "scope": "all", "format": "jsonl" } });
    let outcome = service.create_export(user, &body).await?;
    println!("3. create: {}", serde_json::to_string(&outcome)?);
    let export_id = outcome.export_id();
    if let CreateOutcome::Queued { .. } = outcome {
        println!("   status: {}", serde_json::to_string(&service.status(user, export_id).await?)?);
        println!("4. worker: ran {} job(s)", service.process_jobs(1).await?);
    }

    println!("5. status: {}", serde_json::to_string(&service.status(user, export_id).await?)?);

    let download = service.open_download(user, export_id).await?;
    let path = std::env::temp_dir().join(&download.file_name);
    let mut out = tokio::fs::File::create(&path).await?;
    let mut file = download.file;
    let copied = tokio::io::copy(&mut file, &mut out).await?;
    out.flush().await?;
    println!(
        "6. download: {copied} bytes to {} ({}; sha256 {}; {})",
        path.display(),
        download.content_type,
        download.sha256.as_deref().unwrap_or("-"),
        download.content_disposition
    );

    let page = service.history(user, &HistoryQuery::default()).await?;
    println!("7. history: {} export(s), page {}/{}", page.total, page.page, page.total_pages);
    for item in &page.items {
        let name = item.file_name.as_deref().unwrap_or("-");
        println!(
            "   {} {} {name} downloadable={}",
            item.log.export_id, item.log.status, item.downloadable
        );
    }
    Ok(())
}

/// `LORA_EXPORT_USER_ID`, or a new user in the `auth.users` stand-in.
async fn user(service: &ExportService) -> Result<Uuid, Box<dyn std::error::Error>> {
    if let Ok(id) = std::env::var("LORA_EXPORT_USER_ID") {
        return Ok(Uuid::parse_str(&id)?);
    }
    let id = Uuid::new_v4();
    let client = service.database().client().await?;
    client
        .execute(
            "INSERT INTO auth.users (id, email) VALUES ($1, $2)",
            &[&id, &format!("{id}@example.com")],
        )
        .await?;
    Ok(id)
}
