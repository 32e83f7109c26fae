//! Parquet: the file's framing and, with the `parquet` feature, its footer
//! (row count and the columns every export has). The rows themselves are
//! not read: that needs the whole file at hand (the footer is at its end),
//! and the writer builds them from typed columns.

use std::io::{self, BufRead};

use super::Sink;
use crate::Location;

/// The magic bytes a Parquet file starts and ends with.
const MAGIC: &[u8; 4] = b"PAR1";
/// The largest footer read (16 MiB); an export's is a few KiB.
pub(super) const MAX_FOOTER_BYTES: usize = 16 << 20;

pub(super) fn validate(mut reader: impl BufRead, sink: &mut Sink) -> io::Result<()> {
    let mut head = Vec::with_capacity(MAGIC.len());
    let mut tail: Vec<u8> = Vec::new();
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        let n = buf.len();
        let wanted = MAGIC.len() - head.len();
        head.extend_from_slice(&buf[..wanted.min(n)]);
        tail.extend_from_slice(buf);
        reader.consume(n);
        if tail.len() > 2 * (MAX_FOOTER_BYTES + 8) {
            tail.drain(..tail.len() - (MAX_FOOTER_BYTES + 8));
        }
    }
    let file = Location::default();
    if head != MAGIC {
        sink.error(file, "not_parquet", "the file does not start with Parquet's magic `PAR1`");
        return Ok(());
    }
    if tail.len() < 12 || !tail.ends_with(MAGIC) {
        let message = "the file does not end with `PAR1`: it is cut short or not Parquet";
        sink.error(file, "not_parquet", message);
        return Ok(());
    }
    let at = tail.len() - 8;
    let footer_len = u32::from_le_bytes(tail[at..at + 4].try_into().expect("4 bytes")) as usize;
    if footer_len > MAX_FOOTER_BYTES || footer_len + 12 > tail.len() {
        let message = format!("the footer's length ({footer_len} bytes) does not fit the file");
        sink.error(file, "invalid_footer", message);
        return Ok(());
    }
    footer(&tail[at - footer_len..at], sink);
    Ok(())
}

/// Reads the footer: the row count, and the columns every export has.
#[cfg(feature = "parquet")]
fn footer(bytes: &[u8], sink: &mut Sink) {
    use parquet::arrow::parquet_to_arrow_schema;
    use parquet::file::metadata::ParquetMetaDataReader;

    // The Thrift decoder is not hardened against every hostile footer: a
    // panic in it is a finding, not a crash.
    let decoded = std::panic::catch_unwind(|| ParquetMetaDataReader::decode_metadata(bytes));
    let metadata = match decoded {
        Ok(Ok(metadata)) => metadata,
        Ok(Err(e)) => return sink.error(Location::default(), "invalid_footer", e.to_string()),
        Err(_) => {
            let message = "the footer could not be decoded";
            return sink.error(Location::default(), "invalid_footer", message);
        }
    };
    let file = metadata.file_metadata();
    sink.report.records = u64::try_from(file.num_rows()).unwrap_or_default();
    let schema = match parquet_to_arrow_schema(file.schema_descr(), file.key_value_metadata()) {
        Ok(schema) => schema,
        Err(e) => return sink.error(Location::default(), "invalid_schema", e.to_string()),
    };
    for expected in crate::format::parquet::schema::base_fields() {
        let at = Location::default().with_field(expected.name());
        match schema.field_with_name(expected.name()) {
            Err(_) => {
                let message = format!("no column `{}`", expected.name());
                sink.error(at, "missing_column", message);
            }
            Ok(found) if found.data_type() != expected.data_type() => {
                let message = format!(
                    "column `{}` is {}, expected {}",
                    expected.name(),
                    found.data_type(),
                    expected.data_type()
                );
                sink.error(at, "column_type", message);
            }
            Ok(_) => {}
        }
    }
}

/// Without the `parquet` feature, the footer is not decoded.
#[cfg(not(feature = "parquet"))]
fn footer(_bytes: &[u8], sink: &mut Sink) {
    let message = "the footer is not read: this build has no Parquet reader (feature `parquet`)";
    sink.warning(Location::default(), "footer_not_read", message);
}
