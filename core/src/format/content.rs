use std::borrow::Cow;

/// How many characters a turn keeps when `includeFullContent` is false.
pub const TRUNCATION_LIMIT: usize = 500;

/// Cuts `content` to [`TRUNCATION_LIMIT`] characters (Unicode scalar values,
/// never inside one) and appends `…`; returns the text and whether it was cut.
///
/// ```
/// use lora_export_core::format::truncate_content;
/// let long = "é".repeat(501);
/// let (cut, truncated) = truncate_content(&long);
/// assert!(truncated);
/// assert_eq!(cut.chars().count(), 501);
/// assert!(cut.ends_with("é…"));
/// assert_eq!(truncate_content("short"), ("short".into(), false));
/// ```
pub fn truncate_content(content: &str) -> (Cow<'_, str>, bool) {
    match content.char_indices().nth(TRUNCATION_LIMIT) {
        None => (Cow::Borrowed(content), false),
        Some((cut, _)) => {
            let mut s = String::with_capacity(cut + 3);
            s.push_str(&content[..cut]);
            s.push('…');
            (Cow::Owned(s), true)
        }
    }
}

/// The content of a turn as the config wants it: whole, or truncated.
pub(crate) fn turn_content(content: &str, full: bool) -> (Cow<'_, str>, bool) {
    if full {
        (Cow::Borrowed(content), false)
    } else {
        truncate_content(content)
    }
}
