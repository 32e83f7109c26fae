//! Where an export's bytes go: a path (an atomic file of the core), a
//! binary file object (handed bytes between batches), or a buffer kept for
//! the caller.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use lora_export::atomic::AtomicFile;
use lora_export::dataset::Compression;

use super::input::os_error;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

/// Bytes written by the core and handed to Python between batches.
#[derive(Clone, Default)]
pub(super) struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    pub(super) fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What the core writes into.
pub(super) enum Sink {
    File(BufWriter<File>),
    Buffer(Buffer),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::File(f) => f.write(buf),
            Sink::Buffer(b) => b.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match self {
            Sink::File(f) => f.write_all(buf),
            Sink::Buffer(b) => b.write_all(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::File(f) => f.flush(),
            Sink::Buffer(b) => b.flush(),
        }
    }
}

/// Where the bytes end up.
pub(super) enum Target {
    /// A file at a path: the core's [`AtomicFile`], staged beside it and
    /// renamed over it once the export succeeded (removed if it fails,
    /// leaving any earlier file there as it was); a destination that is not
    /// a regular file (`/dev/null`, a FIFO) is written in place. `None` once
    /// committed or discarded.
    Path(Option<AtomicFile>),
    /// A binary file object: its `write` gets each batch's bytes.
    PyFile(Py<PyAny>, Buffer),
    /// Kept for the caller (`iter_export`, `to_string`).
    Collect(Buffer),
}

impl Target {
    /// `None` collects; a path or path-like creates the file; an object
    /// with `write` is a binary file object.
    /// A path must not name another compression than `compression`.
    pub(super) fn open(
        dest: Option<&Bound<'_, PyAny>>,
        what: &str,
        compression: Compression,
    ) -> PyResult<(Target, Sink)> {
        let Some(dest) = dest else {
            let buffer = Buffer::default();
            return Ok((Target::Collect(buffer.clone()), Sink::Buffer(buffer)));
        };
        if dest.is_instance_of::<PyString>() || dest.hasattr("__fspath__")? {
            let path: PathBuf = dest.extract()?;
            refuse_compressed(&path, what, compression)?;
            let staged = AtomicFile::create(&path).map_err(|e| os_error(&e, &path))?;
            let file = staged.file().try_clone().map_err(|e| os_error(&e, &path))?;
            let sink = Sink::File(BufWriter::with_capacity(1 << 20, file));
            return Ok((Target::Path(Some(staged)), sink));
        }
        if dest.hasattr("write")? {
            let buffer = Buffer::default();
            return Ok((
                Target::PyFile(dest.clone().unbind(), buffer.clone()),
                Sink::Buffer(buffer),
            ));
        }
        Err(PyTypeError::new_err(format!(
            "{what} must be a path or a binary file object with write()"
        )))
    }

    /// With the GIL: hands buffered bytes to a Python file object.
    pub(super) fn drain(&self, py: Python<'_>) -> PyResult<()> {
        let Target::PyFile(file, buffer) = self else {
            return Ok(());
        };
        let bytes = buffer.take();
        let mut written = 0;
        while written < bytes.len() {
            let chunk = PyBytes::new(py, &bytes[written..]);
            let n: Option<usize> = file.bind(py).call_method1("write", (chunk,))?.extract()?;
            written += n.unwrap_or(bytes.len() - written);
        }
        Ok(())
    }

    /// Removes the staged file of a failed export.
    pub(super) fn discard(&mut self) {
        if let Target::Path(staged) = self {
            staged.take();
        }
    }

    /// Puts the staged file of a successful export in its place, its bytes
    /// and its directory entry fsynced first when `sync`.
    pub(super) fn commit(&mut self, sync: bool) -> PyResult<()> {
        if let Target::Path(staged) = self {
            if let Some(file) = staged.take() {
                let dest = file.target().to_path_buf();
                file.commit(sync).map_err(|e| os_error(&e, &dest))?;
            }
        }
        Ok(())
    }
}

/// Suffixes of compressed files: a destination named so would get
/// uncompressed bytes, so it is refused — unless the export compresses that
/// way (`compression="gzip"` into `.gz`, `"zstd"` into `.zst`).
pub(super) const COMPRESSED: [&str; 6] = ["gz", "zst", "bz2", "xz", "zip", "lz4"];

pub(super) fn refuse_compressed(path: &Path, what: &str, compression: Compression) -> PyResult<()> {
    let Some(ext) = path.extension().and_then(|e| e.to_str()) else {
        return Ok(());
    };
    let ext_lower = ext.to_ascii_lowercase();
    if !COMPRESSED.contains(&ext_lower.as_str())
        || compression.extension().strip_prefix('.') == Some(ext_lower.as_str())
    {
        return Ok(());
    }
    if !compression.is_none() {
        return Err(PyValueError::new_err(format!(
            "{what} {:?} names a .{ext} file, but the export compresses with {}: name it {}",
            path.display().to_string(),
            serde_json::to_value(compression).unwrap_or_default(),
            compression.extension()
        )));
    }
    Err(PyValueError::new_err(format!(
        "{what} {:?} names a .{ext} file, but lora_export writes uncompressed output; \
         pass compression=\"gzip\" or \"zstd\" (into .gz or .zst), an open compressed file \
         (e.g. `with gzip.open(path, \"wb\") as f: export(conversations, f)`) or drop the .{ext}",
        path.display().to_string()
    )))
}
