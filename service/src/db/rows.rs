//! Reading `export_logs` rows into [`ExportLog`]s and writing audit events:
//! the SQL shared by every operation of the service.

use lora_export_core::ErrorKind as CoreKind;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio_postgres::Row;
use uuid::Uuid;

use super::Statements;
use crate::Secret;
use crate::{ErrorKind, Result};
use lora_export_core::audit::{ExportLog, ExportStatus};
use lora_export_core::model::{ExportConfig, ExportRequest, Format};
use lora_export_core::pipeline::ExportBuilder;

/// The `export_logs` columns [`stored_log`] reads, in order.
pub(crate) const LOG_COLUMNS: &str = "id, export_id, user_id, timestamp, format, config, \
     conversation_count, file_size, status, file_url, expires_at, error_message, created_at, \
     updated_at, file_sha256, download_count, last_downloaded_at, request, file_name, files";

/// One file of a dataset export, as its log's manifest (`export_logs.files`)
/// lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportFile {
    /// Its name in the dataset (`train-00000-of-00002.jsonl.zst`, `README.md`):
    /// the name to download it by, and its path in the zip of all of them.
    pub name: String,
    /// Its object in the store, under `<user>/<export>/`.
    pub object: String,
    /// The split it belongs to (none for the card).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<String>,
    /// Conversations in it (for the card, the dataset's).
    pub conversations: u64,
    /// Bytes stored.
    pub bytes: u64,
    /// SHA-256 of the stored bytes, lowercase hex.
    pub sha256: String,
}

/// An export log row with what the service keeps beside seed 003's columns.
#[derive(Debug, Clone)]
pub(crate) struct StoredLog {
    pub log: ExportLog,
    pub request: ExportRequest,
    pub file_name: Option<String>,
    /// A dataset export's manifest.
    pub files: Option<Vec<ExportFile>>,
}

/// Reads a row selected with [`LOG_COLUMNS`] (first column at `0`).
pub(crate) fn stored_log(row: &Row) -> Result<StoredLog> {
    let status: String = row.get("status");
    let status = ExportStatus::parse(&status)
        .ok_or_else(|| ErrorKind::Database(format!("unknown export status `{status}`")))?;
    let config: Value = row.get("config");
    let request: Option<Value> = row.get("request");
    let config: ExportConfig = serde_json::from_value(config)?;
    let request = match request {
        Some(r) => serde_json::from_value(r)?,
        None => ExportRequest::new(config.clone()),
    };
    let format: String = row.get("format");
    let log = ExportLog {
        id: row.get("id"),
        export_id: row.get("export_id"),
        user_id: row.get("user_id"),
        timestamp: row.get("timestamp"),
        format: Format::parse(&format).ok_or_else(|| CoreKind::UnknownFormat(format.clone()))?,
        config,
        conversation_count: non_negative(row.get::<_, i32>("conversation_count").into()),
        file_size: row.get::<_, Option<i64>>("file_size").map(non_negative),
        status,
        file_url: row.get("file_url"),
        expires_at: row.get("expires_at"),
        error_message: row.get("error_message"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
        file_sha256: row.get("file_sha256"),
        download_count: non_negative(row.get::<_, i32>("download_count").into()),
        last_downloaded_at: row.get("last_downloaded_at"),
    };
    let files: Option<Value> = row.get("files");
    let files = files.map(serde_json::from_value).transpose()?;
    Ok(StoredLog { log, request, file_name: row.get("file_name"), files })
}

fn non_negative(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// The live (not deleted) log of `export_id`, locked for update.
pub(crate) async fn lock_log(
    client: &impl Statements,
    export_id: Uuid,
) -> Result<Option<StoredLog>> {
    let sql = format!(
        "SELECT {LOG_COLUMNS} FROM export_logs WHERE export_id = $1 AND deleted_at IS NULL FOR UPDATE"
    );
    client.query_opt(&sql, &[&export_id]).await?.as_ref().map(stored_log).transpose()
}

/// `user`'s live log of `export_id`, locked for update in one statement:
/// 403 when the export is someone else's, 404 when there is none (or it
/// was deleted). The service checks ownership itself, on its own
/// connection, so no second connection is ever needed.
pub(crate) async fn lock_owned_log(
    client: &impl Statements,
    user: Uuid,
    export_id: Uuid,
) -> Result<StoredLog> {
    let sql = format!(
        "SELECT {LOG_COLUMNS}, deleted_at IS NOT NULL AS deleted FROM export_logs
         WHERE export_id = $1 FOR UPDATE"
    );
    let row = client.query_opt(&sql, &[&export_id]).await?;
    let id = export_id.to_string();
    match row {
        None => Err(ErrorKind::NotFound(id).into()),
        Some(row) if row.get::<_, Uuid>("user_id") != user => Err(ErrorKind::Forbidden(id).into()),
        Some(row) if row.get::<_, bool>("deleted") => Err(ErrorKind::NotFound(id).into()),
        Some(row) => stored_log(&row),
    }
}

/// Writes the status-related fields of `log` back to its row.
pub(crate) async fn save_log(client: &impl Statements, log: &ExportLog) -> Result<()> {
    let count = i32::try_from(log.conversation_count).unwrap_or(i32::MAX);
    let size = log.file_size.map(|s| i64::try_from(s).unwrap_or(i64::MAX));
    let downloads = i32::try_from(log.download_count).unwrap_or(i32::MAX);
    client
        .execute(
            "UPDATE export_logs SET status = $2, conversation_count = $3, file_size = $4,
               file_url = $5, expires_at = $6, error_message = $7, updated_at = $8,
               file_sha256 = $9, download_count = $10, last_downloaded_at = $11
             WHERE export_id = $1",
            &[
                &log.export_id,
                &log.status.as_str(),
                &count,
                &size,
                &log.file_url,
                &log.expires_at,
                &log.error_message,
                &log.updated_at,
                &log.file_sha256,
                &downloads,
                &log.last_downloaded_at,
            ],
        )
        .await?;
    Ok(())
}

/// Appends an audit event; the trigger fills in `seq` and the hash chain.
/// With `key` (the service's `audit_key`), the event is sealed on the same
/// connection ([`seal_events`]): call it in the event's transaction.
pub(crate) async fn audit(
    client: &impl Statements,
    key: Option<&Secret>,
    export_id: Uuid,
    user_id: Uuid,
    event: &str,
    detail: Value,
) -> Result<()> {
    let row = client
        .query_one(
            "INSERT INTO export_audit_events (export_id, user_id, event, detail, seq, hash)
             VALUES ($1, $2, $3, $4, 0, '') RETURNING id, hash",
            &[&export_id, &user_id, &event, &detail],
        )
        .await?;
    seal_events(client, key, &[row]).await
}

/// Seals audit events (rows of their `id` and `hash`) with `key`: one
/// `export_audit_seals` row each, HMAC-SHA256 of the chain hash. Nothing
/// without a key.
pub(crate) async fn seal_events(
    client: &impl Statements,
    key: Option<&Secret>,
    events: &[Row],
) -> Result<()> {
    let Some(key) = key else { return Ok(()) };
    if events.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = events.iter().map(|row| row.get("id")).collect();
    let macs: Vec<String> =
        events.iter().map(|row| event_seal(key, row.get::<_, &str>("hash"))).collect();
    client
        .execute(
            "INSERT INTO export_audit_seals (event_id, mac)
             SELECT * FROM unnest($1::bigint[], $2::text[])",
            &[&ids, &macs],
        )
        .await?;
    Ok(())
}

/// HMAC-SHA256 of an event's chain hash under the audit key, lowercase hex.
/// The chain hash covers the event's every column and its predecessor's
/// hash, so the seal does too.
pub(crate) fn event_seal(key: &Secret, hash: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(hash.as_bytes());
    lora_export_core::digest::hex(&mac.finalize().into_bytes())
}

/// The file extension and MIME type the core gives `request` (its
/// format's, and its compression's).
pub(crate) fn file_type(request: &ExportRequest) -> Result<(String, &'static str)> {
    let probe = ExportBuilder::new(request.clone()).from_writer(std::io::sink())?;
    Ok((probe.file_extension(), probe.mime_type()))
}
