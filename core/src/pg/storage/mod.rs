//! Where export files live: the [`Storage`] trait and [`LocalStorage`].
//!
//! A file is addressed by a [`FileKey`] — the owner's id, the export's id and
//! the format's extension — never by a name taken from data, so no request
//! can reach outside the store. Writing goes through a [`StagedFile`]: bytes
//! land under a temporary name and appear under the final name only on
//! [`commit`](StagedFile::commit), so a partial file is never visible.

mod key;
mod local;

use std::fmt;
use std::fs::File;
use std::io::{self, Write};
use std::time::Duration;

pub use key::FileKey;
pub use local::LocalStorage;

use crate::{ErrorKind, Result};

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

pub(crate) fn io_error(message: impl Into<String>) -> crate::Error {
    ErrorKind::Io(io::Error::new(io::ErrorKind::InvalidInput, message.into())).into()
}
