//! Where a dataset's files go: [`DatasetOutput`], and [`Directory`], the
//! output of [`DatasetBuilder::to_directory`](super::DatasetBuilder::to_directory).
//! The PostgreSQL service has another, which stages each file in its store.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::atomic::AtomicFile;
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

/// A dataset written into a directory: each file staged as an
/// [`AtomicFile`] beside its object name until it is fsynced and renamed to
/// its published name.
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
}

impl DatasetOutput for Directory {
    type File = AtomicFile;

    fn create(&mut self, object: &str) -> Result<AtomicFile> {
        Ok(AtomicFile::create(self.dir.join(object))?)
    }

    fn publish(&mut self, file: AtomicFile, _object: &str, name: &str) -> Result<()> {
        Ok(file.commit_as(&self.dir.join(name), true)?)
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
