//! [`FileKey`]: the address of one export file.

use std::fmt;

use uuid::Uuid;

use super::io_error;
use crate::Result;

/// The address of one export file: `<user_id>/<export_id>.<extension>`, or
/// for one file of a dataset export `<user_id>/<export_id>/<object>`.
///
/// ```
/// use lora_export_service::FileKey;
/// use uuid::Uuid;
/// let key = FileKey::new(Uuid::nil(), Uuid::max(), "jsonl").unwrap();
/// assert_eq!(
///     key.as_str(),
///     "00000000-0000-0000-0000-000000000000/ffffffff-ffff-ffff-ffff-ffffffffffff.jsonl"
/// );
/// assert_eq!(FileKey::parse(key.as_str()).unwrap(), key);
/// assert!(FileKey::new(Uuid::nil(), Uuid::nil(), "../x").is_err());
/// assert!(FileKey::parse("../../etc/passwd").is_err());
/// let part = FileKey::part(Uuid::nil(), Uuid::max(), "train-00000.jsonl.zst").unwrap();
/// assert!(part.as_str().ends_with("ffff/train-00000.jsonl.zst"));
/// assert!(FileKey::part(Uuid::nil(), Uuid::nil(), "../x").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileKey {
    user_id: Uuid,
    export_id: Uuid,
    extension: String,
    object: Option<String>,
    key: String,
}

impl FileKey {
    /// The key of `export_id`'s file; the extension must be 1–16 characters
    /// of `[a-z0-9]` in one or two dot-separated parts (`jsonl.gz` for a
    /// compressed file).
    ///
    /// ```
    /// use lora_export_service::FileKey;
    /// let (user, export) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    /// let key = FileKey::new(user, export, "jsonl.gz").unwrap();
    /// assert_eq!(FileKey::parse(key.as_str()).unwrap(), key);
    /// for bad in ["", "jsonl.", ".gz", "a.b.c", "jsonl..gz", "JSONL", "csv/x"] {
    ///     assert!(FileKey::new(user, export, bad).is_err(), "{bad}");
    /// }
    /// ```
    pub fn new(user_id: Uuid, export_id: Uuid, extension: &str) -> Result<FileKey> {
        let part = |p: &str| {
            !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        };
        let valid = (1..=16).contains(&extension.len())
            && extension.split('.').count() <= 2
            && extension.split('.').all(part);
        if !valid {
            return Err(io_error(format!("invalid file extension `{extension}`")));
        }
        let key = format!("{user_id}/{export_id}.{extension}");
        Ok(FileKey { user_id, export_id, extension: extension.to_owned(), object: None, key })
    }

    /// The key of the file `object` of dataset export `export_id`: 1–128
    /// characters of `[A-Za-z0-9_.-]`, starting with a letter or digit, so
    /// that it is one plain name in any store.
    pub fn part(user_id: Uuid, export_id: Uuid, object: &str) -> Result<FileKey> {
        let valid = (1..=128).contains(&object.len())
            && object.starts_with(|c: char| c.is_ascii_alphanumeric())
            && object.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
            && !object.contains("..");
        if !valid {
            return Err(io_error(format!("invalid dataset file name `{object}`")));
        }
        let extension = object.rsplit('.').next().unwrap_or_default().to_ascii_lowercase();
        let key = format!("{user_id}/{export_id}/{object}");
        Ok(FileKey { user_id, export_id, extension, object: Some(object.to_owned()), key })
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

    /// The file's name within its dataset export, for a [`part`](Self::part).
    pub fn object(&self) -> Option<&str> {
        self.object.as_deref()
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
