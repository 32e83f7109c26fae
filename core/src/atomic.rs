//! [`AtomicFile`]: the one way an output file comes into place — written
//! under a staged name beside its target, hashed or not by whoever writes
//! it, then (fsynced and) renamed; removed if it is dropped before. A
//! failed export never leaves a partial file under a final name, and an
//! earlier file at that name stays as it was.
//!
//! The command line, the Python binding, a dataset's directory and the
//! service's local storage all stage their files through it, so a staged
//! file has one name everywhere: `.<name>.<random>.partial` in the target's
//! directory ([`is_staged_name`] recognises it, for sweeps of files a killed
//! process left).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The suffix of a staged file's name.
pub const STAGED_SUFFIX: &str = ".partial";

/// Whether `name` (a file name, no directory) is a staged file's:
/// `.<name>.<random>.partial`.
///
/// ```
/// use lora_export_core::atomic::is_staged_name;
/// assert!(is_staged_name(".train.jsonl.0f3c2a9e4b1d4c6f8e7a6b5c4d3e2f10.partial"));
/// assert!(!is_staged_name("train.jsonl"));
/// ```
pub fn is_staged_name(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(STAGED_SUFFIX)
}

/// A file being written beside its target, put in place by
/// [`commit`](Self::commit) (or [`commit_as`](Self::commit_as), when the
/// final name is known only at the end) and removed when dropped before.
///
/// A target that exists and is not a regular file (`/dev/null`, a FIFO, a
/// terminal) cannot be replaced by a rename: it is written in place.
///
/// ```
/// use std::io::Write;
/// use lora_export_core::atomic::AtomicFile;
/// let dir = std::env::temp_dir().join(format!("atomic-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let target = dir.join("train.jsonl");
/// let mut file = AtomicFile::create(&target).unwrap();
/// file.write_all(b"{}\n").unwrap();
/// assert!(!target.exists(), "nothing under the final name before commit");
/// file.commit(true).unwrap();
/// assert_eq!(std::fs::read(&target).unwrap(), b"{}\n");
///
/// let failed = AtomicFile::create(&target).unwrap();
/// drop(failed);
/// assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "a dropped file leaves nothing");
/// # std::fs::remove_dir_all(dir).unwrap();
/// ```
#[derive(Debug)]
pub struct AtomicFile {
    file: Option<File>,
    /// The staged path; none when the target is written in place.
    staged: Option<PathBuf>,
    target: PathBuf,
}

impl AtomicFile {
    /// Stages `target`: creates `.<name>.<random>.partial` in its directory
    /// (exclusively, so two writers never share one), or opens `target`
    /// itself when it exists and is not a regular file.
    pub fn create(target: impl Into<PathBuf>) -> io::Result<AtomicFile> {
        let target = target.into();
        if fs::metadata(&target).is_ok_and(|m| !m.is_file()) {
            let file = OpenOptions::new().write(true).open(&target)?;
            return Ok(AtomicFile { file: Some(file), staged: None, target });
        }
        let name = target.file_name().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a file path", target.display()),
            )
        })?;
        let staged = target.with_file_name(format!(
            ".{}.{}{STAGED_SUFFIX}",
            name.to_string_lossy(),
            uuid::Uuid::new_v4().simple()
        ));
        let file = OpenOptions::new().write(true).create_new(true).open(&staged)?;
        Ok(AtomicFile { file: Some(file), staged: Some(staged), target })
    }

    /// The path the file goes to on [`commit`](Self::commit).
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The staged path, or none when the target is written in place.
    pub fn staged_path(&self) -> Option<&Path> {
        self.staged.as_deref()
    }

    /// The open file (to clone a handle for a writer on another thread, or
    /// to read its length).
    pub fn file(&self) -> &File {
        self.file.as_ref().expect("an uncommitted AtomicFile is open")
    }

    /// Puts the file in place under its target.
    pub fn commit(self, sync: bool) -> io::Result<()> {
        let target = self.target.clone();
        self.commit_as(&target, sync)
    }

    /// Puts the file in place under `target`; with `sync`, its bytes and
    /// then its directory entry are made durable first and after (a power
    /// cut soon after a commit without it may leave the file empty). A
    /// target written in place (a device, a pipe) has nothing to sync or
    /// rename.
    pub fn commit_as(mut self, target: &Path, sync: bool) -> io::Result<()> {
        let file = self.file.take().expect("an uncommitted AtomicFile is open");
        let Some(staged) = self.staged.clone() else { return Ok(()) };
        if sync {
            // On failure the drop removes the staged file.
            file.sync_all()?;
        }
        drop(file);
        self.staged = None;
        if let Err(e) = fs::rename(&staged, target) {
            let _ = fs::remove_file(&staged);
            return Err(io::Error::new(e.kind(), format!("{}: {e}", target.display())));
        }
        if sync {
            if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
                File::open(dir)?.sync_all()?;
            }
        }
        Ok(())
    }

    /// Removes the staged file (a missing one is fine); a file written in
    /// place stays as written.
    pub fn discard(mut self) -> io::Result<()> {
        self.file.take();
        match self.staged.take().map(fs::remove_file) {
            Some(Err(e)) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.as_mut().expect("an uncommitted AtomicFile is open").write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().expect("an uncommitted AtomicFile is open").flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        self.file.take();
        if let Some(staged) = self.staged.take() {
            let _ = fs::remove_file(staged);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir()
            .join(format!("lora-export-atomic-{name}-{}", uuid::Uuid::new_v4().simple()));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_commit_replaces_the_target_and_a_failure_keeps_the_earlier_file() {
        let dir = dir("replace");
        let target = dir.join("out.csv");
        fs::write(&target, "earlier").unwrap();
        let mut failed = AtomicFile::create(&target).unwrap();
        failed.write_all(b"half").unwrap();
        let staged = failed.staged_path().unwrap().to_path_buf();
        let name = staged.file_name().unwrap().to_string_lossy().into_owned();
        assert!(is_staged_name(&name) && name.starts_with(".out.csv."), "{name}");
        drop(failed);
        assert!(!staged.exists());
        assert_eq!(fs::read_to_string(&target).unwrap(), "earlier");
        let mut done = AtomicFile::create(&target).unwrap();
        done.write_all(b"new").unwrap();
        done.commit_as(&dir.join("renamed.csv"), false).unwrap();
        assert_eq!(fs::read_to_string(dir.join("renamed.csv")).unwrap(), "new");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 2);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn two_writers_of_one_target_never_share_a_staged_file() {
        let dir = dir("two");
        let a = AtomicFile::create(dir.join("x")).unwrap();
        let b = AtomicFile::create(dir.join("x")).unwrap();
        assert_ne!(a.staged_path(), b.staged_path());
        a.discard().unwrap();
        b.discard().unwrap();
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
        fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_target_that_is_not_a_regular_file_is_written_in_place() {
        let mut null = AtomicFile::create("/dev/null").unwrap();
        assert!(null.staged_path().is_none());
        null.write_all(b"gone").unwrap();
        null.commit(true).unwrap();
        assert!(Path::new("/dev/null").exists());
    }
}
