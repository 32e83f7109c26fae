//! Streamed compression of a dataset's files: gzip (flate2, pure Rust) or
//! zstd, chosen per export; the file's size and SHA-256 are of the stored
//! (compressed) bytes.

use std::io::{self, Write};

use crate::{ErrorKind, Result};

/// How a dataset's files are compressed.
///
/// ```
/// use lora_export_core::dataset::Compression;
/// assert_eq!(Compression::parse("zstd").unwrap().extension(), ".zst");
/// assert_eq!(Compression::None.extension(), "");
/// assert!(Compression::parse("brotli").is_err());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Compression {
    /// Plain files (the default).
    #[default]
    None,
    /// gzip (`.gz`), level 6.
    Gzip,
    /// zstd (`.zst`), level 3.
    Zstd,
}

impl Compression {
    /// `none`, `gzip` or `zstd`.
    pub fn parse(name: &str) -> Result<Compression> {
        match name {
            "none" => Ok(Compression::None),
            "gzip" | "gz" => Ok(Compression::Gzip),
            "zstd" | "zst" => Ok(Compression::Zstd),
            other => Err(ErrorKind::Config(format!(
                "unknown compression `{other}` (known: none, gzip, zstd)"
            ))
            .into()),
        }
    }

    /// What a compressed file's name ends with after the format's extension.
    pub fn extension(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Gzip => ".gz",
            Compression::Zstd => ".zst",
        }
    }

    /// Wraps `inner` in this compression's encoder.
    pub(crate) fn encoder<W: Write>(self, inner: W) -> io::Result<Encoder<W>> {
        Ok(match self {
            Compression::None => Encoder::Plain(inner),
            Compression::Gzip => {
                Encoder::Gzip(flate2::write::GzEncoder::new(inner, flate2::Compression::new(6)))
            }
            Compression::Zstd => Encoder::Zstd(zstd::stream::write::Encoder::new(inner, 3)?),
        })
    }
}

/// A writer that compresses into `W`; [`finish`](Encoder::finish) writes
/// the end of the stream and returns `W`.
pub(crate) enum Encoder<W: Write> {
    Plain(W),
    Gzip(flate2::write::GzEncoder<W>),
    Zstd(zstd::stream::write::Encoder<'static, W>),
}

impl<W: Write> Encoder<W> {
    /// Ends the compressed stream and hands back the inner writer.
    pub(crate) fn finish(self) -> io::Result<W> {
        match self {
            Encoder::Plain(w) => Ok(w),
            Encoder::Gzip(e) => e.finish(),
            Encoder::Zstd(e) => e.finish(),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::Plain(w) => w.write(buf),
            Encoder::Gzip(e) => e.write(buf),
            Encoder::Zstd(e) => e.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::Plain(w) => w.flush(),
            Encoder::Gzip(e) => e.flush(),
            Encoder::Zstd(e) => e.flush(),
        }
    }
}
