//! The input's own splits: a `DatasetDict`, or a mapping of split names to
//! inputs, exported split by split as the user assigned them — no hash.
//!
//! A split's name becomes the start of its files' names
//! (`{name}-00000-of-00001.jsonl`) and a key of the dataset card, so it is
//! hostile input: it must be what Hugging Face `datasets` accepts as a split
//! name and a safe file name at once — ASCII letters, digits and `_`, in
//! runs joined by single dots (`train`, `test_gen`, `train.clean.100`), at
//! most [`MAX_SPLIT_NAME`] bytes, no two alike ignoring case (one file
//! system would see one file); at most
//! [`MAX_SPLIT_PARTS`](crate::model::MAX_SPLIT_PARTS) splits. So no path
//! separator, no `..`, no `-` (the separator of the shard number: `a-*`
//! would also match the files of a split `a-b`), nothing empty.

use std::collections::HashSet;

use crate::model::MAX_SPLIT_PARTS;
use crate::{ErrorKind, Issue, Result};

/// The longest split name, in bytes.
pub const MAX_SPLIT_NAME: usize = 64;

/// Keys a conversation record is read from: a mapping that has one is one
/// record passed where its splits were expected, not a mapping of splits.
const RECORD_KEYS: [&str; 15] = [
    "messages",
    "turns",
    "conversations",
    "conversation_id",
    "conversationId",
    "id",
    "system",
    "tools",
    "prompt",
    "completion",
    "chosen",
    "rejected",
    "input",
    "preferred_output",
    "non_preferred_output",
];

/// Checks the names of the input's own splits, in order: each a safe file
/// name (see the [module docs](self)), none twice, at most
/// [`MAX_SPLIT_PARTS`]. A mapping with a key a record is read from
/// (`messages`, `conversation_id`, …) is taken for one conversation and
/// refused as such. `VALIDATION_ERROR` naming each bad name otherwise.
///
/// ```
/// use lora_export_core::dataset::check_split_names;
/// assert!(check_split_names(&["train", "test", "train.clean.100"]).is_ok());
/// let refused = check_split_names(&["train", "../etc"]).unwrap_err();
/// assert!(refused.to_string().contains("\"../etc\""), "{refused}");
/// assert!(check_split_names(&["messages"]).unwrap_err().to_string().contains("one conversation"));
/// ```
pub fn check_split_names(names: &[&str]) -> Result<()> {
    if names.len() > MAX_SPLIT_PARTS {
        let message = format!("{} splits; a dataset has at most {MAX_SPLIT_PARTS}", names.len());
        return Err(invalid(vec![Issue::new("splits", "too_many_parts", message)]));
    }
    if let Some(key) = names.iter().find(|n| RECORD_KEYS.contains(n)) {
        let message = format!(
            "the mapping has the key `{key}` of a conversation, not split names: pass one \
             conversation in a list; a mapping of splits maps names (train, test) to inputs"
        );
        return Err(invalid(vec![Issue::new("splits", "one_record", message)]));
    }
    let mut issues = Vec::new();
    if names.is_empty() {
        issues.push(Issue::new("splits", "required", "a mapping of splits names at least one"));
    }
    let mut seen = HashSet::new();
    for name in names {
        if !is_safe(name) {
            let message = format!(
                "split name {} is not a safe file name: ASCII letters, digits and `_`, in runs \
                 joined by single dots (train, test_gen, train.clean.100), at most \
                 {MAX_SPLIT_NAME} bytes",
                shown(name)
            );
            issues.push(Issue::new("splits", "invalid_name", message));
        } else if !seen.insert(name.to_ascii_lowercase()) {
            let message =
                format!("split name {} is given twice (ignoring case, as a file is)", shown(name));
            issues.push(Issue::new("splits", "duplicate", message));
        }
    }
    match issues.is_empty() {
        true => Ok(()),
        false => Err(invalid(issues)),
    }
}

/// `\w+(\.\w+)*` in ASCII, at most [`MAX_SPLIT_NAME`] bytes.
fn is_safe(name: &str) -> bool {
    name.len() <= MAX_SPLIT_NAME
        && name.split('.').all(|run| {
            !run.is_empty() && run.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
}

/// A hostile name quoted for a message: escaped, and cut after 80 characters.
fn shown(name: &str) -> String {
    match name.char_indices().nth(80) {
        None => format!("{name:?}"),
        Some((end, _)) => format!("{:?}… ({} bytes)", &name[..end], name.len()),
    }
}

fn invalid(issues: Vec<Issue>) -> crate::Error {
    ErrorKind::InvalidRequest(issues).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_split_names_are_refused_by_name() {
        for good in ["train", "test", "validation", "train_sft", "Test2", "train.clean.100", "0"] {
            assert!(check_split_names(&[good]).is_ok(), "{good}");
        }
        let long = "a".repeat(MAX_SPLIT_NAME + 1);
        for bad in [
            "", "..", ".", "../x", "a/b", "a\\b", "a-b", ".hidden", "a..b", "a.", "tr ain", "é",
            &long,
        ] {
            let error = check_split_names(&["train", bad]).unwrap_err().to_string();
            assert!(error.contains("invalid_name"), "{bad}: {error}");
            assert!(error.contains(&format!("{:?}", &bad[..bad.len().min(80)])), "{bad}: {error}");
        }
        let error = check_split_names(&["train", "Train"]).unwrap_err().to_string();
        assert!(error.contains("\"Train\" is given twice"), "{error}");
        let many: Vec<String> = (0..=MAX_SPLIT_PARTS).map(|i| format!("s{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(check_split_names(&many).unwrap_err().to_string().contains("too_many_parts"));
        assert!(check_split_names(&[]).is_err());
        let error = check_split_names(&["messages", "conversation_id"]).unwrap_err().to_string();
        assert!(error.contains("`messages` of a conversation"), "{error}");
        let huge = "x/".repeat(1 << 20);
        assert!(check_split_names(&[&huge]).unwrap_err().to_string().len() < 1000, "bounded");
    }
}
