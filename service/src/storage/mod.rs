//! Where export files live: the [`Storage`] trait, [`LocalStorage`] (a
//! directory, the default) and [`ObjectStorage`] (an S3-compatible bucket).
//!
//! A file is addressed by a [`FileKey`] — the owner's id, the export's id and
//! the format's extension — never by a name taken from data, so no request
//! can reach outside the store. Writing goes through a [`StagedFile`]: bytes
//! land under a temporary name (a file, or a multipart upload) and appear
//! under the final name only on [`commit`](StagedFile::commit), so a partial
//! file is never visible.
//!
//! [`open_storage`] picks the store from the configuration's
//! `storage_url` (`file:///path`, `s3://bucket/prefix`) or `storage_root`.

mod files;
mod key;
mod local;
mod object;
mod settings;
mod upload;

use lora_export_core::ErrorKind as CoreKind;
use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::io::{self, Write};
use std::ops::Range;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use tokio::io::AsyncRead;
use uuid::Uuid;

pub(crate) use files::{delete_files, file_key, storage_keys};
pub use key::FileKey;
pub use local::LocalStorage;
pub use object::ObjectStorage;
pub use settings::ObjectStoreSettings;

use crate::Result;

/// What the asynchronous methods of [`Storage`] return.
pub type StorageFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// A file being written: invisible under its final name until
/// [`commit`](Self::commit). Dropping it without committing discards it.
///
/// Its methods block; they run on a blocking thread of the tokio runtime
/// (`spawn_blocking`), as the export writer does.
pub trait StagedFile: Write + Send {
    /// No more bytes follow: writes out what is buffered (an object store
    /// uploads its last part), so that a file waiting for its commit holds
    /// no memory. The default flushes.
    fn close(&mut self) -> Result<()> {
        Ok(self.flush()?)
    }
    /// Makes the bytes durable and visible under the final name.
    fn commit(self: Box<Self>) -> Result<()>;
    /// Discards the bytes.
    fn abort(self: Box<Self>) -> Result<()>;
}

/// A stored file opened for reading: its whole size and its bytes (all of
/// them, or the range asked for).
pub struct StoredFile {
    /// Bytes in the whole file.
    pub size: u64,
    /// The bytes asked for.
    pub body: Pin<Box<dyn AsyncRead + Send>>,
}

impl fmt::Debug for StoredFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredFile").field("size", &self.size).finish_non_exhaustive()
    }
}

/// A store of export files.
///
/// [`stage`](Self::stage) and the [`StagedFile`] it returns are blocking
/// (the export writer is a plain `std::io::Write` on a blocking thread);
/// reading, deleting and sweeping are asynchronous, called from the
/// service's tasks.
pub trait Storage: Send + Sync + fmt::Debug {
    /// Starts writing the file `key` (replacing it on commit if it exists).
    /// Called on a blocking thread of the tokio runtime.
    fn stage(&self, key: &FileKey) -> Result<Box<dyn StagedFile>>;
    /// Opens the committed file `key` for reading, the bytes of `range`
    /// only when given (it must lie within the file).
    fn open<'a>(
        &'a self,
        key: &'a FileKey,
        range: Option<Range<u64>>,
    ) -> StorageFuture<'a, StoredFile>;
    /// Removes the file `key`; `Ok(false)` when there was none.
    fn delete<'a>(&'a self, key: &'a FileKey) -> StorageFuture<'a, bool>;
    /// Whether the committed file `key` exists.
    fn exists<'a>(&'a self, key: &'a FileKey) -> StorageFuture<'a, bool>;
    /// Discards what writers whose lease expired (a killed worker) left
    /// staged — files, or multipart uploads — and returns how many. Each
    /// staged file and upload marker carries its export's id (its job's
    /// lease): one of an export in `live` (a run holding a live lease) is
    /// kept whatever its age; any other is removed once untouched since
    /// `untouched_since` (a margin for a run that claimed its job after
    /// `live` was read, and for the store's clock). One that names no
    /// export (staged by an earlier version) goes by that age alone.
    fn sweep_staged<'a>(
        &'a self,
        untouched_since: SystemTime,
        live: &'a HashSet<Uuid>,
    ) -> StorageFuture<'a, u64>;
    /// A URL that fetches the committed file `key` without credentials
    /// until `ttl` has passed, when the store can mint one (an object
    /// store's presigned URL); `None` otherwise, the default.
    fn presign<'a>(&'a self, key: &'a FileKey, ttl: Duration) -> StorageFuture<'a, Option<String>> {
        let _ = (key, ttl);
        Box::pin(async { Ok(None) })
    }
}

pub(crate) fn io_error(message: impl Into<String>) -> crate::Error {
    CoreKind::Io(io::Error::new(io::ErrorKind::InvalidInput, message.into())).into()
}

/// A failure of the store itself (500, `STORAGE_ERROR`).
pub(crate) fn storage_error(what: &str, error: impl fmt::Display) -> crate::Error {
    crate::Error::internal("STORAGE_ERROR", format!("{what}: {error}"))
}
