//! Measures a database export: speed, and (under `/usr/bin/time -v`) peak
//! memory. Exports every conversation of `DATABASE_URL` to JSONL through
//! the service's synchronous path and prints one JSON line on stdout:
//! conversations, bytes, seconds, conversations/s, MB/s.
//!
//! ```text
//! DATABASE_URL=… cargo run --release --features postgres --example pg_probe
//! DATABASE_URL=… cargo run --release --features postgres --example pg_probe -- --copy
//! ```
//!
//! It runs with the system allocator (`tests/pg_memory.rs` measures its
//! memory); `pg_probe_mimalloc` is the same probe with mimalloc, the
//! allocator the Node and Python modules and the CLI ship with, which
//! `benches/storage.sh` times.
//!
//! `--copy` instead times `COPY … TO STDOUT` of the same rows (conversations
//! joined with their turns, in export order) — the floor for reading them —
//! from the relations the service reads: the library's own tables, or the
//! app's (`LORA_EXPORT_CONVERSATIONS_TABLE` and `LORA_EXPORT_TURNS_TABLE`).
//! `--user UUID` exports as that existing user (else a new one), and makes
//! `--copy` read as that user, under row-level security, as an export does.
//! `--import FILE` first migrates the database (with Supabase's stand-ins,
//! for plain PostgreSQL) and imports a JSONL file of conversations
//! (untimed), e.g. the output of
//! `synthetic --format input`. The store is the environment's:
//! `LORA_EXPORT_STORAGE_ROOT`, or `LORA_EXPORT_STORAGE_URL=s3://…` with `AWS_*`.

use std::time::Instant;

use futures_util::StreamExt;
use lora_export::pg::{CreateOutcome, Database, ExportService, MigrateOptions, ServiceConfig};
use serde_json::json;
use uuid::Uuid;

#[tokio::main]
pub async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = ServiceConfig::from_env()?;
    config.sync_threshold = u32::MAX;
    config.rate_limit_per_hour = u32::MAX;
    let service = ExportService::connect(config)?;
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--import") {
        let path = args.get(at + 1).ok_or("--import needs a file")?;
        service.migrate_with(MigrateOptions { supabase_stand_ins: true }).await?;
        let file = std::io::BufReader::new(std::fs::File::open(path)?);
        let summary = service.import_conversations(file).await?;
        eprintln!("imported: {}", serde_json::to_string(&summary)?);
    }
    let user = match args.iter().position(|a| a == "--user") {
        Some(at) => Some(args.get(at + 1).ok_or("--user needs a UUID")?.parse::<Uuid>()?),
        None => None,
    };
    let started = Instant::now();
    let (conversations, bytes) = if std::env::args().any(|a| a == "--copy") {
        copy_out(&service, user).await?
    } else {
        export(&service, user).await?
    };
    let seconds = started.elapsed().as_secs_f64();
    let report = json!({
        "mode": if std::env::args().any(|a| a == "--copy") { "copy" } else { "export" },
        "conversations": conversations,
        "bytes": bytes,
        "seconds": seconds,
        "conversations_per_s": conversations as f64 / seconds,
        "mb_per_s": bytes as f64 / 1e6 / seconds,
    });
    println!("{report}");
    Ok(())
}

async fn export(
    service: &ExportService,
    user: Option<Uuid>,
) -> Result<(u64, u64), Box<dyn std::error::Error>> {
    let user = match user {
        Some(user) => user,
        None => {
            let user = Uuid::new_v4();
            let client = service.database().client().await?;
            let sql = "INSERT INTO auth.users (id, email) VALUES ($1, 'probe@example.com')";
            client.execute(sql, &[&user]).await?;
            user
        }
    };
    let body = json!({ "config": { "scope": "all_data", "format": "jsonl" } });
    match service.create_export(user, &body).await? {
        CreateOutcome::Completed { export, .. } => {
            Ok((export.conversation_count, export.file_size))
        }
        other => {
            Err(format!("expected a synchronous export, got {}", serde_json::to_string(&other)?)
                .into())
        }
    }
}

async fn copy_out(
    service: &ExportService,
    user: Option<Uuid>,
) -> Result<(u64, u64), Box<dyn std::error::Error>> {
    let tables = service.config().source_tables()?;
    let (conversations, turns) = (tables.conversations(), tables.turns());
    let mut client = service.database().client().await?;
    // As the user, the way an export reads: the same transaction setup.
    let tx = match user {
        Some(user) => Database::user_transaction(&mut client, user).await?,
        None => client.transaction().await?,
    };
    let count: i64 =
        tx.query_one(&format!("SELECT count(*) FROM {conversations}"), &[]).await?.get(0);
    let stream = tx
        .copy_out(&format!(
            "COPY (SELECT c.*, t.turn_number, t.role, t.content, t.token_count
                   FROM {conversations} c JOIN {turns} t ON t.conversation_id = c.id
                   ORDER BY c.created_at, c.id, t.turn_number) TO STDOUT"
        ))
        .await?;
    let mut stream = std::pin::pin!(stream);
    let mut bytes = 0u64;
    while let Some(chunk) = stream.next().await {
        bytes += chunk?.len() as u64;
    }
    tx.commit().await?;
    Ok((count as u64, bytes))
}
