//! A dataset export in the service: the core's
//! [`DatasetWriter`](lora_export_core::dataset::DatasetWriter) writing each file into
//! a staged file of the store, keyed `<user>/<export>/<object>`. Published
//! files stay staged until the run completes: they become visible together,
//! inside the completion transaction that checks the lease, as a
//! single-file export's file does.

use std::sync::Arc;

use uuid::Uuid;

use crate::storage::{FileKey, StagedFile, Storage};
use crate::ExportFile;
use crate::Result;
use lora_export_core::dataset::{DatasetOutput, DatasetSummary};
use lora_export_core::digest::sha256_hex;

/// A dataset's files staged in the store, published but not yet committed.
pub(crate) struct StagedDataset {
    storage: Arc<dyn Storage>,
    user_id: Uuid,
    export_id: Uuid,
    published: Vec<Published>,
}

/// A file the dataset writer has finished: its object, its name, its bytes.
pub(crate) struct Published {
    pub key: FileKey,
    pub name: String,
    pub staged: Box<dyn StagedFile>,
}

impl StagedDataset {
    pub(crate) fn new(storage: Arc<dyn Storage>, user_id: Uuid, export_id: Uuid) -> Self {
        StagedDataset { storage, user_id, export_id, published: Vec::new() }
    }

    /// The manifest of `summary`, in the card's order (splits, their shards,
    /// then the card), with each file's staged bytes.
    pub(crate) fn manifest(self, summary: &DatasetSummary) -> Vec<(ExportFile, Published)> {
        let mut by_name: Vec<Option<Published>> = self.published.into_iter().map(Some).collect();
        let mut take = |name: &str| {
            by_name.iter_mut().find(|p| p.as_ref().is_some_and(|p| p.name == name))?.take()
        };
        let mut files = Vec::new();
        let shards = summary.splits.iter().flat_map(|s| s.files.iter().map(move |f| (Some(s), f)));
        for (split, file) in shards.chain([(None, &summary.card)]) {
            let Some(published) = take(&file.name) else { continue };
            let entry = ExportFile {
                name: file.name.clone(),
                object: published.key.object().unwrap_or_default().to_owned(),
                split: split.map(|s| s.name.clone()),
                conversations: file.conversations,
                bytes: file.bytes,
                sha256: file.sha256.clone(),
            };
            files.push((entry, published));
        }
        files
    }
}

impl DatasetOutput for StagedDataset {
    type File = Box<dyn StagedFile>;

    fn create(&mut self, object: &str) -> lora_export_core::Result<Self::File> {
        Ok(self.storage.stage(&FileKey::part(self.user_id, self.export_id, object)?)?)
    }

    fn publish(
        &mut self,
        mut file: Self::File,
        object: &str,
        name: &str,
    ) -> lora_export_core::Result<()> {
        file.close()?;
        let key = FileKey::part(self.user_id, self.export_id, object)?;
        self.published.push(Published { key, name: name.to_owned(), staged: file });
        Ok(())
    }
}

/// The log's one hash of a dataset export: SHA-256 of its manifest as JSON,
/// which holds every file's SHA-256.
pub(crate) fn manifest_sha256(files: &[ExportFile]) -> Result<String> {
    Ok(sha256_hex(&serde_json::to_vec(files)?))
}
