//! Where export files live: the [`Storage`] trait and [`LocalStorage`].
//!
//! A file is addressed by a [`FileKey`] — the owner's id, the export's id and
//! the format's extension — never by a name taken from data, so no request
//! can reach outside the store. Writing goes through a [`StagedFile`]: bytes
//! land under a temporary name and appear under the final name only on
//! [`commit`](StagedFile::commit), so a partial file is never visible.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use uuid::Uuid;

use crate::{ErrorKind, Result};

/// The address of one export file: `<user_id>/<export_id>.<extension>`.
///
/// ```
/// use lora_export::pg::FileKey;
/// use uuid::Uuid;
/// let key = FileKey::new(Uuid::nil(), Uuid::max(), "jsonl").unwrap();
/// assert_eq!(
///     key.as_str(),
///     "00000000-0000-0000-0000-000000000000/ffffffff-ffff-ffff-ffff-ffffffffffff.jsonl"
/// );
/// assert_eq!(FileKey::parse(key.as_str()).unwrap(), key);
/// assert!(FileKey::new(Uuid::nil(), Uuid::nil(), "../x").is_err());
/// assert!(FileKey::parse("../../etc/passwd").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileKey {
    user_id: Uuid,
    export_id: Uuid,
    extension: String,
    key: String,
}

impl FileKey {
    /// The key of `export_id`'s file; the extension must be 1–16 characters
    /// of `[a-z0-9]`.
    pub fn new(user_id: Uuid, export_id: Uuid, extension: &str) -> Result<FileKey> {
        let valid = (1..=16).contains(&extension.len())
            && extension.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if !valid {
            return Err(io_error(format!("invalid file extension `{extension}`")));
        }
        let key = format!("{user_id}/{export_id}.{extension}");
        Ok(FileKey { user_id, export_id, extension: extension.to_owned(), key })
    }

    /// Reads back a key written by [`as_str`](Self::as_str) (the
    /// `file_url` column); anything else is refused.
    pub fn parse(key: &str) -> Result<FileKey> {
        let bad = || io_error(format!("invalid storage key `{key}`"));
        let (user, file) = key.split_once('/').ok_or_else(bad)?;
        let (export, extension) = file.split_once('.').ok_or_else(bad)?;
        let user_id = Uuid::try_parse(user).map_err(|_| bad())?;
        let export_id = Uuid::try_parse(export).map_err(|_| bad())?;
        let parsed = FileKey::new(user_id, export_id, extension)?;
        if parsed.key != key {
            return Err(bad());
        }
        Ok(parsed)
    }

    /// The owner's id.
    pub fn user_id(&self) -> Uuid {
        self.user_id
    }

    /// The export's id.
    pub fn export_id(&self) -> Uuid {
        self.export_id
    }

    /// The file extension.
    pub fn extension(&self) -> &str {
        &self.extension
    }

    /// The key as stored in `export_logs.file_url`.
    pub fn as_str(&self) -> &str {
        &self.key
    }
}

impl fmt::Display for FileKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key)
    }
}

/// A file being written: invisible under its final name until
/// [`commit`](Self::commit). Dropping it without committing discards it.
pub trait StagedFile: Write + Send {
    /// Makes the bytes durable and visible under the final name.
    fn commit(self: Box<Self>) -> Result<()>;
    /// Discards the bytes.
    fn abort(self: Box<Self>) -> Result<()>;
}

/// A store of export files.
///
/// The trait is synchronous because the export writer is a plain
/// `std::io::Write` running on a blocking thread. An S3-compatible store
/// (Supabase Storage has one) implements it as: `stage` returns a writer into
/// a local temporary file (or a multipart upload), `commit` completes the
/// upload of the object [`key.as_str()`](FileKey::as_str), `abort` (or a
/// drop) discards it, `open` fetches the object into a local temporary file,
/// `delete` and `exists` map to `DeleteObject` and `HeadObject`, and
/// `sweep_staged` aborts multipart uploads left incomplete
/// (`ListMultipartUploads` + `AbortMultipartUpload`).
pub trait Storage: Send + Sync + fmt::Debug {
    /// Starts writing the file `key` (replacing it on commit if it exists).
    fn stage(&self, key: &FileKey) -> Result<Box<dyn StagedFile>>;
    /// Opens the committed file `key` for reading.
    fn open(&self, key: &FileKey) -> Result<File>;
    /// Removes the file `key`; `Ok(false)` when there was none.
    fn delete(&self, key: &FileKey) -> Result<bool>;
    /// Whether the committed file `key` exists.
    fn exists(&self, key: &FileKey) -> Result<bool>;
    /// Removes staged files untouched for `older_than` — left by a writer
    /// that died (a killed worker) — and returns how many.
    fn sweep_staged(&self, older_than: Duration) -> Result<u64>;
}

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
        self.root.join(key.user_id.to_string()).join(format!("{}.{}", key.export_id, key.extension))
    }
}

impl Storage for LocalStorage {
    fn stage(&self, key: &FileKey) -> Result<Box<dyn StagedFile>> {
        let dir = self.root.join(key.user_id.to_string());
        fs::create_dir_all(&dir)?;
        let temp = dir.join(format!(
            ".{}.{}.{}.partial",
            key.export_id,
            key.extension,
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

fn io_error(message: impl Into<String>) -> crate::Error {
    ErrorKind::Io(io::Error::new(io::ErrorKind::InvalidInput, message.into())).into()
}
