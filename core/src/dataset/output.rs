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

    /// Called once every file is published: the dataset is complete.
    fn complete(&mut self) -> Result<()> {
        Ok(())
    }
}

/// A dataset written into a directory: each file staged as an
/// [`AtomicFile`] beside its object name until it is fsynced and renamed to
/// its published name.
///
/// Replacing a directory that holds files ([`Directory::replacing`]), the
/// dataset is written into a new directory beside it, which takes its
/// place only once complete (the old one is renamed aside, then removed):
/// the directory holds the old dataset or the new one, never a mix.
#[derive(Debug)]
pub struct Directory {
    dir: PathBuf,
    /// Where the files go while `dir` still holds the old ones.
    staging: Option<PathBuf>,
}

impl Directory {
    /// The empty directory `dir`, created if missing; a directory that holds
    /// anything is refused, so that no shard of an earlier export is loaded
    /// with this one.
    pub fn new(dir: impl AsRef<Path>) -> Result<Directory> {
        Directory::open(dir.as_ref(), false)
    }

    /// The directory `dir`, created if missing; what it holds is replaced
    /// once the dataset is complete (left as it was if the export fails).
    pub fn replacing(dir: impl AsRef<Path>) -> Result<Directory> {
        Directory::open(dir.as_ref(), true)
    }

    fn open(dir: &Path, overwrite: bool) -> Result<Directory> {
        let dir = dir.to_path_buf();
        fs::create_dir_all(&dir)?;
        if fs::read_dir(&dir)?.next().is_none() {
            return Ok(Directory { dir, staging: None });
        }
        if !overwrite {
            return Err(ErrorKind::Config(format!(
                "{} is not empty: a dataset is written into an empty directory \
                 (the option `overwrite` replaces what it holds)",
                dir.display()
            ))
            .into());
        }
        let staging = sibling(&dir, "new")?;
        fs::create_dir(&staging)?;
        Ok(Directory { dir, staging: Some(staging) })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Where the files are written now.
    fn target(&self) -> &Path {
        self.staging.as_deref().unwrap_or(&self.dir)
    }
}

/// A hidden name beside `dir` for its `what` (`.dataset.lora-export-new-…`).
fn sibling(dir: &Path, what: &str) -> Result<PathBuf> {
    let name = dir.file_name().ok_or_else(|| {
        ErrorKind::Config(format!("{}: not a directory one can replace", dir.display()))
    })?;
    let name = format!(".{}.lora-export-{what}-{}", name.to_string_lossy(), uuid::Uuid::new_v4());
    Ok(dir.with_file_name(name))
}

impl Drop for Directory {
    fn drop(&mut self) {
        if let Some(staging) = self.staging.take() {
            let _ = fs::remove_dir_all(staging);
        }
    }
}

impl DatasetOutput for Directory {
    type File = AtomicFile;

    fn create(&mut self, object: &str) -> Result<AtomicFile> {
        Ok(AtomicFile::create(self.target().join(object))?)
    }

    fn publish(&mut self, file: AtomicFile, _object: &str, name: &str) -> Result<()> {
        Ok(file.commit_as(&self.target().join(name), true)?)
    }

    /// Replacing: the old directory aside, the new one in its place, the
    /// old one removed.
    fn complete(&mut self) -> Result<()> {
        let Some(staging) = self.staging.take() else { return Ok(()) };
        let old = sibling(&self.dir, "old")?;
        fs::rename(&self.dir, &old)?;
        if let Err(e) = fs::rename(&staging, &self.dir) {
            let _ = fs::rename(&old, &self.dir);
            let _ = fs::remove_dir_all(&staging);
            return Err(e.into());
        }
        if let Some(parent) = self.dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::File::open(parent)?.sync_all()?;
        }
        fs::remove_dir_all(&old)?;
        Ok(())
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
