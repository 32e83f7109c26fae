//! Streamed compression of an export's files — a dataset's, or the one file
//! of a single-file export (the request's `compression`): gzip (flate2, pure
//! Rust) or zstd (feature `zstd`, on by default: it builds the reference C
//! library), chosen per export; the file's size and SHA-256 are of the
//! stored (compressed) bytes.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::{ErrorKind, Result};

/// How an export's files are compressed; in a request's JSON, `"none"`,
/// `"gzip"` or `"zstd"`.
///
/// ```
/// use lora_export_core::dataset::Compression;
/// assert_eq!(Compression::parse("zstd").unwrap().extension(), ".zst");
/// assert_eq!(Compression::None.extension(), "");
/// assert!(Compression::parse("brotli").is_err());
/// ```
///
/// A build without the `zstd` feature refuses `zstd` by name, saying so.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
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
            "zstd" | "zst" if cfg!(feature = "zstd") => Ok(Compression::Zstd),
            "zstd" | "zst" => Err(ErrorKind::Config(
                "compression `zstd`: this build has gzip only (zstd needs the `zstd` feature, \
                 which builds the reference C library)"
                    .into(),
            )
            .into()),
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

    /// Whether this is [`Compression::None`].
    pub fn is_none(&self) -> bool {
        *self == Compression::None
    }

    /// The MIME type of a file compressed this way (`None`: the format's).
    pub fn mime_type(self) -> Option<&'static str> {
        match self {
            Compression::None => None,
            Compression::Gzip => Some("application/gzip"),
            Compression::Zstd => Some("application/zstd"),
        }
    }

    /// Wraps `inner` in this compression's encoder.
    pub(crate) fn encoder<W: Write>(self, inner: W) -> io::Result<Encoder<W>> {
        Ok(match self {
            Compression::None => Encoder::Plain(inner),
            Compression::Gzip => {
                let level = flate2::Compression::new(6);
                Encoder::Gzip(Box::new(flate2::write::GzEncoder::new(inner, level)))
            }
            #[cfg(feature = "zstd")]
            Compression::Zstd => Encoder::Zstd(zstd::stream::write::Encoder::new(inner, 3)?),
            #[cfg(not(feature = "zstd"))]
            Compression::Zstd => {
                let why = "compression zstd needs the `zstd` feature of lora-export-core";
                return Err(io::Error::new(io::ErrorKind::Unsupported, why));
            }
        })
    }
}

/// A writer that compresses into `W`; [`finish`](Encoder::finish) writes
/// the end of the stream and returns `W`.
pub(crate) enum Encoder<W: Write> {
    Plain(W),
    Gzip(Box<flate2::write::GzEncoder<W>>),
    #[cfg(feature = "zstd")]
    Zstd(zstd::stream::write::Encoder<'static, W>),
}

impl<W: Write> Encoder<W> {
    /// Ends the compressed stream and hands back the inner writer.
    pub(crate) fn finish(self) -> io::Result<W> {
        match self {
            Encoder::Plain(w) => Ok(w),
            Encoder::Gzip(e) => e.finish(),
            #[cfg(feature = "zstd")]
            Encoder::Zstd(e) => e.finish(),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::Plain(w) => w.write(buf),
            Encoder::Gzip(e) => e.write(buf),
            #[cfg(feature = "zstd")]
            Encoder::Zstd(e) => e.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::Plain(w) => w.flush(),
            Encoder::Gzip(e) => e.flush(),
            #[cfg(feature = "zstd")]
            Encoder::Zstd(e) => e.flush(),
        }
    }
}

#[cfg(all(test, not(feature = "zstd")))]
mod tests {
    use crate::compress::Compression;

    #[test]
    fn a_build_without_zstd_refuses_it_by_name() {
        let err = Compression::parse("zstd").unwrap_err();
        assert!(err.to_string().contains("`zstd` feature"), "{err}");
        assert!(Compression::Zstd.encoder(Vec::new()).is_err());
        assert_eq!(Compression::parse("gzip").unwrap(), Compression::Gzip);
    }
}
