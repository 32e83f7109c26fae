//! [`LocalStorage`]: export files under a directory on this machine.

use std::collections::HashSet;
use std::fs;
use std::io::{self, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::SystemTime;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt};
use uuid::Uuid;

use lora_export_core::atomic::{is_staged_name, AtomicFile};

use super::{io_error, FileKey, StagedFile, Storage, StorageFuture, StoredFile};
use crate::Result;

/// Files under a root directory, one folder per user:
/// `<root>/<user_id>/<export_id>.<extension>`. A file being written is
/// `<root>/<user_id>/.<export_id>.<extension>.<random>.partial` until it is
/// fsynced and renamed.
///
/// ```
/// use lora_export_service::{FileKey, LocalStorage, Storage};
/// use std::io::Write;
/// let root = std::env::temp_dir().join(format!("doc-{}", uuid::Uuid::new_v4()));
/// let storage = LocalStorage::new(&root);
/// let key = FileKey::new(uuid::Uuid::new_v4(), uuid::Uuid::new_v4(), "csv").unwrap();
/// let mut staged = storage.stage(&key).unwrap();
/// staged.write_all(b"a,b\n").unwrap();
/// assert!(!storage.path_of(&key).exists(), "nothing is visible before commit");
/// staged.commit().unwrap();
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// assert!(storage.exists(&key).await.unwrap());
/// assert_eq!(storage.open(&key, None).await.unwrap().size, 4);
/// assert!(storage.delete(&key).await.unwrap());
/// # });
/// # std::fs::remove_dir_all(root).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct LocalStorage {
    root: PathBuf,
}

impl LocalStorage {
    /// A store rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalStorage { root: root.into() }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The final path of `key`: `<root>/<user_id>/<export_id>.<extension>`,
    /// or `<root>/<user_id>/<export_id>/<object>` for a dataset's file.
    pub fn path_of(&self, key: &FileKey) -> PathBuf {
        let user = self.root.join(key.user_id().to_string());
        match key.object() {
            Some(object) => user.join(key.export_id().to_string()).join(object),
            None => user.join(format!("{}.{}", key.export_id(), key.extension())),
        }
    }
}

impl Storage for LocalStorage {
    fn stage(&self, key: &FileKey) -> Result<Box<dyn StagedFile>> {
        let target = self.path_of(key);
        fs::create_dir_all(target.parent().expect("a key's path has a folder"))?;
        Ok(Box::new(LocalStagedFile(Some(AtomicFile::create(target)?))))
    }

    fn open<'a>(
        &'a self,
        key: &'a FileKey,
        range: Option<Range<u64>>,
    ) -> StorageFuture<'a, StoredFile> {
        Box::pin(async move {
            let mut file = tokio::fs::File::open(self.path_of(key)).await?;
            let size = file.metadata().await?.len();
            let body: Pin<Box<dyn AsyncRead + Send>> = match range {
                None => Box::pin(file),
                Some(range) => {
                    if range.start > range.end || range.end > size {
                        return Err(io_error(format!("range {range:?} of a {size}-byte file")));
                    }
                    file.seek(SeekFrom::Start(range.start)).await?;
                    Box::pin(file.take(range.end - range.start))
                }
            };
            Ok(StoredFile { size, body })
        })
    }

    fn delete<'a>(&'a self, key: &'a FileKey) -> StorageFuture<'a, bool> {
        Box::pin(async move {
            let path = self.path_of(key);
            let deleted = match tokio::fs::remove_file(&path).await {
                Ok(()) => true,
                Err(e) if e.kind() == io::ErrorKind::NotFound => false,
                Err(e) => return Err(e.into()),
            };
            if key.object().is_some() {
                // The export's folder goes with its last file; not empty yet is fine.
                let folder = path.parent().expect("a part's path has a folder");
                let _ = tokio::fs::remove_dir(folder).await;
            }
            Ok(deleted)
        })
    }

    fn exists<'a>(&'a self, key: &'a FileKey) -> StorageFuture<'a, bool> {
        Box::pin(async move { Ok(tokio::fs::try_exists(self.path_of(key)).await?) })
    }

    fn sweep_staged<'a>(
        &'a self,
        untouched_since: SystemTime,
        live: &'a HashSet<Uuid>,
    ) -> StorageFuture<'a, u64> {
        let (root, live) = (self.root.clone(), live.clone());
        Box::pin(async move {
            tokio::task::spawn_blocking(move || sweep_root(&root, untouched_since, &live))
                .await
                .map_err(|e| io_error(format!("sweep: {e}")))?
        })
    }
}

/// Removes the staged files under `root` untouched since `untouched_since`
/// whose export is not in `live`.
fn sweep_root(root: &Path, untouched_since: SystemTime, live: &HashSet<Uuid>) -> Result<u64> {
    let users = match fs::read_dir(root) {
        Ok(users) => users,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let mut removed = 0;
    for user in users {
        let user = user?;
        if user.file_type()?.is_dir() {
            removed += sweep_folder(&user.path(), None, untouched_since, live)?;
        }
    }
    Ok(removed)
}

/// Removes the staged files in `folder` (a user's, or the dataset folder of
/// `export`, nested in it) untouched since `untouched_since` whose export
/// is not in `live`. A folder is left even when empty: a run may be about
/// to stage its first file in it.
fn sweep_folder(
    folder: &Path,
    export: Option<Uuid>,
    untouched_since: SystemTime,
    live: &HashSet<Uuid>,
) -> Result<u64> {
    let mut removed = 0;
    for entry in fs::read_dir(folder)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if entry.file_type()?.is_dir() {
            if export.is_none() {
                let export = Uuid::try_parse(&name).ok();
                removed += sweep_folder(&entry.path(), export, untouched_since, live)?;
            }
            continue;
        }
        if !is_staged_name(&name) {
            continue;
        }
        let staged = &name[1..];
        // `.<export_id>.<extension>.<random>.partial`, or a dataset file's
        // `.<object>.<random>.partial` in its export's folder.
        let export = export.or_else(|| staged.get(..36).and_then(|id| Uuid::try_parse(id).ok()));
        if export.is_some_and(|export| live.contains(&export))
            || entry.metadata()?.modified()? > untouched_since
        {
            continue;
        }
        match fs::remove_file(entry.path()) {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(removed)
}

/// A staged file next to its target: the core's [`AtomicFile`], committed
/// with its bytes and its directory entry synced.
struct LocalStagedFile(Option<AtomicFile>);

impl LocalStagedFile {
    fn file(&mut self) -> io::Result<&mut AtomicFile> {
        self.0.as_mut().ok_or_else(|| io::Error::other("staged file already closed"))
    }

    fn take(&mut self) -> Result<AtomicFile> {
        self.0.take().ok_or_else(|| io_error("staged file already closed"))
    }
}

impl Write for LocalStagedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file()?.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file()?.flush()
    }
}

impl StagedFile for LocalStagedFile {
    fn commit(mut self: Box<Self>) -> Result<()> {
        Ok(self.take()?.commit(true)?)
    }

    fn abort(mut self: Box<Self>) -> Result<()> {
        Ok(self.take()?.discard()?)
    }
}
