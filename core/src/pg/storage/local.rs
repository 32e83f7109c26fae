//! [`LocalStorage`]: export files under a directory on this machine.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use uuid::Uuid;

use super::{io_error, FileKey, StagedFile, Storage};
use crate::Result;

/// Files under a root directory, one folder per user:
/// `<root>/<user_id>/<export_id>.<extension>`. A file being written is
/// `<root>/<user_id>/.<export_id>.<extension>.<random>.partial` until it is
/// fsynced and renamed.
///
/// ```
/// use lora_export::pg::{FileKey, LocalStorage, Storage};
/// use std::io::Write;
/// let root = std::env::temp_dir().join(format!("doc-{}", uuid::Uuid::new_v4()));
/// let storage = LocalStorage::new(&root);
/// let key = FileKey::new(uuid::Uuid::new_v4(), uuid::Uuid::new_v4(), "csv").unwrap();
/// let mut staged = storage.stage(&key).unwrap();
/// staged.write_all(b"a,b\n").unwrap();
/// assert!(!storage.exists(&key).unwrap(), "nothing is visible before commit");
/// staged.commit().unwrap();
/// assert!(storage.exists(&key).unwrap());
/// assert!(storage.delete(&key).unwrap());
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

    /// The final path of `key`.
    pub fn path_of(&self, key: &FileKey) -> PathBuf {
        self.root.join(key.user_id().to_string()).join(format!(
            "{}.{}",
            key.export_id(),
            key.extension()
        ))
    }
}

impl Storage for LocalStorage {
    fn stage(&self, key: &FileKey) -> Result<Box<dyn StagedFile>> {
        let dir = self.root.join(key.user_id().to_string());
        fs::create_dir_all(&dir)?;
        let temp = dir.join(format!(
            ".{}.{}.{}.partial",
            key.export_id(),
            key.extension(),
            Uuid::new_v4().simple()
        ));
        let file = OpenOptions::new().write(true).create_new(true).open(&temp)?;
        Ok(Box::new(LocalStagedFile { file: Some(file), temp, target: self.path_of(key), dir }))
    }

    fn open(&self, key: &FileKey) -> Result<File> {
        Ok(File::open(self.path_of(key))?)
    }

    fn delete(&self, key: &FileKey) -> Result<bool> {
        match fs::remove_file(self.path_of(key)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    fn exists(&self, key: &FileKey) -> Result<bool> {
        Ok(self.path_of(key).try_exists()?)
    }

    fn sweep_staged(&self, older_than: Duration) -> Result<u64> {
        let users = match fs::read_dir(&self.root) {
            Ok(users) => users,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e.into()),
        };
        let mut removed = 0;
        for user in users {
            let user = user?;
            if !user.file_type()?.is_dir() {
                continue;
            }
            for entry in fs::read_dir(user.path())? {
                let entry = entry?;
                let name = entry.file_name();
                let name = name.to_string_lossy();
                let staged = name.starts_with('.') && name.ends_with(".partial");
                let age = entry.metadata()?.modified()?.elapsed().unwrap_or_default();
                if staged && age >= older_than {
                    match fs::remove_file(entry.path()) {
                        Ok(()) => removed += 1,
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
        Ok(removed)
    }
}

/// A temporary file next to its target.
struct LocalStagedFile {
    file: Option<File>,
    temp: PathBuf,
    target: PathBuf,
    dir: PathBuf,
}

impl LocalStagedFile {
    fn file(&mut self) -> io::Result<&mut File> {
        self.file.as_mut().ok_or_else(|| io::Error::other("staged file already closed"))
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
        let file = self.file.take().ok_or_else(|| io_error("staged file already closed"))?;
        file.sync_all()?;
        drop(file);
        fs::rename(&self.temp, &self.target)?;
        File::open(&self.dir)?.sync_all()?;
        Ok(())
    }

    fn abort(mut self: Box<Self>) -> Result<()> {
        self.file.take();
        match fs::remove_file(&self.temp) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

impl Drop for LocalStagedFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.temp);
        }
    }
}
