//! [`FileKey`]: the address of one export file.

use std::fmt;

use uuid::Uuid;

use super::io_error;
use crate::Result;

/// The address of one export file: `<user_id>/<export_id>.<extension>`.
///
/// ```
/// use lora_export::pg::FileKey;
/// use uuid::Uuid;
/// let key = FileKey::new(Uuid::nil(), Uuid::max(), "jsonl").unwrap();
/// assert_eq!(
///     key.as_str(),
///     "00000000-0000-0000-0000-000000000000/ffffffff-ffff-ffff-ffff-ffffffffffff.jsonl"
/// );
/// assert_eq!(FileKey::parse(key.as_str()).unwrap(), key);
/// assert!(FileKey::new(Uuid::nil(), Uuid::nil(), "../x").is_err());
/// assert!(FileKey::parse("../../etc/passwd").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileKey {
    user_id: Uuid,
    export_id: Uuid,
    extension: String,
    key: String,
}

impl FileKey {
    /// The key of `export_id`'s file; the extension must be 1–16 characters
    /// of `[a-z0-9]`.
    pub fn new(user_id: Uuid, export_id: Uuid, extension: &str) -> Result<FileKey> {
        let valid = (1..=16).contains(&extension.len())
            && extension.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if !valid {
            return Err(io_error(format!("invalid file extension `{extension}`")));
        }
        let key = format!("{user_id}/{export_id}.{extension}");
        Ok(FileKey { user_id, export_id, extension: extension.to_owned(), key })
    }

    /// Reads back a key written by [`as_str`](Self::as_str) (the
    /// `file_url` column); anything else is refused.
    pub fn parse(key: &str) -> Result<FileKey> {
        let bad = || io_error(format!("invalid storage key `{key}`"));
        let (user, file) = key.split_once('/').ok_or_else(bad)?;
        let (export, extension) = file.split_once('.').ok_or_else(bad)?;
        let user_id = Uuid::try_parse(user).map_err(|_| bad())?;
        let export_id = Uuid::try_parse(export).map_err(|_| bad())?;
        let parsed = FileKey::new(user_id, export_id, extension)?;
        if parsed.key != key {
            return Err(bad());
        }
        Ok(parsed)
    }

    /// The owner's id.
    pub fn user_id(&self) -> Uuid {
        self.user_id
    }

    /// The export's id.
    pub fn export_id(&self) -> Uuid {
        self.export_id
    }

    /// The file extension.
    pub fn extension(&self) -> &str {
        &self.extension
    }

    /// The key as stored in `export_logs.file_url`.
    pub fn as_str(&self) -> &str {
        &self.key
    }
}

impl fmt::Display for FileKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key)
    }
}
