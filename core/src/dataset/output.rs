//! Where a dataset's files go: [`DatasetOutput`], and [`Directory`], the
//! output of [`DatasetBuilder::to_directory`](super::DatasetBuilder::to_directory).
//! The PostgreSQL service has another, which stages each file in its store.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::{ErrorKind, Result};

/// Where a dataset's files are written. A file is created under its
/// *object* name, fixed when it starts (`train-00003.jsonl.zst`,
/// `README.md`), and gets its published name, known only once a split's
/// shards are counted (`train-00003-of-00004.jsonl.zst`), when the whole
/// dataset is done. Nothing is visible before [`publish`](Self::publish):
/// a file dropped unpublished (the dataset failed) is thrown away.
pub trait DatasetOutput {
    /// A file being written; dropped unpublished, it is discarded.
    type File: Write + Send;

    /// Starts the file `object` (`[a-z0-9_.-]`, unique within the dataset).
    fn create(&mut self, object: &str) -> Result<Self::File>;

    /// Makes `file` (flushed) durable and visible as `name`.
    fn publish(&mut self, file: Self::File, object: &str, name: &str) -> Result<()>;
}

/// A dataset written into a directory: each file as `.{object}.tmp` until it
/// is fsynced and renamed to its published name.
#[derive(Debug)]
pub struct Directory {
    dir: PathBuf,
}

impl Directory {
    /// The empty directory `dir`, created if missing; a directory that holds
    /// anything is refused, so that no shard of an earlier export is loaded
    /// with this one.
    pub fn new(dir: impl AsRef<Path>) -> Result<Directory> {
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(&dir)?;
        if fs::read_dir(&dir)?.next().is_some() {
            return Err(ErrorKind::Config(format!(
                "{} is not empty: a dataset is written into an empty directory",
                dir.display()
            ))
            .into());
        }
        Ok(Directory { dir })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    fn temp(&self, object: &str) -> PathBuf {
        self.dir.join(format!(".{object}.tmp"))
    }
}

impl DatasetOutput for Directory {
    type File = TempFile;

    fn create(&mut self, object: &str) -> Result<TempFile> {
        let path = self.temp(object);
        Ok(TempFile { file: Some(File::create(&path)?), path })
    }

    fn publish(&mut self, mut file: TempFile, _object: &str, name: &str) -> Result<()> {
        let handle = file.file.take().expect("an unpublished file is open");
        handle.sync_all()?;
        drop(handle);
        fs::rename(&file.path, self.dir.join(name))?;
        if name == "README.md" {
            if let Ok(dir) = File::open(&self.dir) {
                let _ = dir.sync_all();
            }
        }
        Ok(())
    }
}

/// A file of a [`Directory`] under its temporary name, removed when dropped
/// unpublished.
#[derive(Debug)]
pub struct TempFile {
    file: Option<File>,
    path: PathBuf,
}

impl Write for TempFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.as_mut().expect("an unpublished file is open").write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().expect("an unpublished file is open").flush()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Writes `bytes` as the file `object`, published as `name`.
pub(super) fn write_whole<O: DatasetOutput>(
    output: &mut O,
    object: &str,
    name: &str,
    bytes: &[u8],
) -> Result<()> {
    let mut file = output.create(object)?;
    file.write_all(bytes)?;
    file.flush()?;
    output.publish(file, object, name)
}

/// A file that hashes and counts the bytes stored in it.
pub(super) struct HashedFile<W: Write> {
    file: io::BufWriter<W>,
    hasher: sha2::Sha256,
    bytes: u64,
}

impl<W: Write> HashedFile<W> {
    pub(super) fn new(file: W) -> HashedFile<W> {
        use sha2::Digest;
        HashedFile {
            file: io::BufWriter::with_capacity(256 * 1024, file),
            hasher: sha2::Sha256::new(),
            bytes: 0,
        }
    }

    /// Flushes; the file, its stored size and SHA-256.
    pub(super) fn finish(self) -> io::Result<(W, u64, String)> {
        use sha2::Digest;
        let file = self.file.into_inner().map_err(io::IntoInnerError::into_error)?;
        let digest = self.hasher.finalize();
        Ok((file, self.bytes, hex(&digest)))
    }
}

impl<W: Write> Write for HashedFile<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        use sha2::Digest;
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Bytes as lowercase hex (a SHA-256 as stored and shown).
pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
