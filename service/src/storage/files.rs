//! The files of an export in the store: their keys, derived from the log
//! row (owner, id, format, manifest) — never read from a column that names
//! a file — and their removal.

use crate::db::rows::{file_type, StoredLog};
use crate::Result;
use lora_export_core::model::{ExportConfig, ExportRequest, Scope};

use super::{FileKey, Storage};

/// The key of an export's file, derived from its owner, its id and the
/// extension of its format — never read from a column that names a file.
pub(crate) fn file_key(stored: &StoredLog) -> Result<FileKey> {
    let mut probe = ExportRequest::new(ExportConfig::new(Scope::AllData, stored.log.format));
    probe.compression = stored.request.compression;
    let (extension, _) = file_type(&probe)?;
    FileKey::new(stored.log.user_id, stored.log.export_id, &extension)
}

/// The keys of every file of an export: its one file, or each file of its
/// manifest (each name checked to be one plain name by [`FileKey::part`]).
pub(crate) fn storage_keys(stored: &StoredLog) -> Result<Vec<FileKey>> {
    let (user, export) = (stored.log.user_id, stored.log.export_id);
    match &stored.files {
        None => Ok(vec![file_key(stored)?]),
        Some(files) => files.iter().map(|f| FileKey::part(user, export, &f.object)).collect(),
    }
}

/// Removes every file of an export from `storage`: whether any was there.
pub(crate) async fn delete_files(storage: &dyn Storage, stored: &StoredLog) -> Result<bool> {
    let mut deleted = false;
    for key in storage_keys(stored)? {
        deleted |= storage.delete(&key).await?;
    }
    Ok(deleted)
}
