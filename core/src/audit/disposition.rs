//! A `Content-Disposition` header value that is safe whatever the file name.

use super::log::is_bidi_control;

/// The longest file name [`content_disposition`] keeps, in characters.
///
/// ```
/// use lora_export_core::audit::{content_disposition, MAX_DISPOSITION_NAME_CHARS};
/// let header = content_disposition(&format!("{}.csv", "a".repeat(1000)));
/// let kept = format!("{}.csv", "a".repeat(MAX_DISPOSITION_NAME_CHARS - 4));
/// assert_eq!(header, format!("attachment; filename=\"{kept}\"; filename*=UTF-8''{kept}"));
/// ```
pub const MAX_DISPOSITION_NAME_CHARS: usize = 200;

/// The value of a `Content-Disposition` header offering `file_name` as a
/// download: `attachment; filename="<ascii>"; filename*=UTF-8''<encoded>`
/// (RFC 6266).
///
/// First the name itself is cleaned: control characters (CR, LF, NUL, …)
/// and bidirectional-override characters are removed, `/` and `\` become
/// `_`, leading dots and surrounding spaces are trimmed, a name longer than
/// [`MAX_DISPOSITION_NAME_CHARS`] is cut (keeping an extension of up to 16
/// characters), and an empty name becomes `download`.
///
/// - `filename` is the ASCII fallback for old clients: `"` and `\` are
///   dropped, `%` (which some clients decode) and every non-ASCII
///   character become `_`, runs of `_` from such replacements collapse, and a fallback without
///   a single letter or digit becomes `download`.
/// - `filename*` is the exact cleaned name, UTF-8, percent-encoded as
///   RFC 5987 asks (everything but `A–Z a–z 0–9 ! # $ & + - . ^ _ ` | ~`).
///
/// The result is printable ASCII: no CR or LF can ever reach the header.
/// Names from [`export_file_name`](super::export_file_name) come out the
/// same in both parameters.
///
/// ```
/// use lora_export_core::audit::content_disposition;
/// assert_eq!(
///     content_disposition("training-data-template-2025-10-29-42.jsonl"),
///     "attachment; filename=\"training-data-template-2025-10-29-42.jsonl\"; \
///      filename*=UTF-8''training-data-template-2025-10-29-42.jsonl"
/// );
/// assert_eq!(
///     content_disposition("résumé \"final\".md"),
///     "attachment; filename=\"r_sum_ final.md\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22.md"
/// );
/// assert!(!content_disposition("a\r\nSet-Cookie: x=1").contains(['\r', '\n']));
/// ```
pub fn content_disposition(file_name: &str) -> String {
    let name = clean(file_name);
    format!(
        "attachment; filename=\"{}\"; filename*=UTF-8''{}",
        ascii_fallback(&name),
        encode(&name)
    )
}

/// The file name with what no header or file system should see removed.
fn clean(file_name: &str) -> String {
    let cleaned: String = file_name
        .chars()
        .filter(|&c| !c.is_control() && !is_bidi_control(c))
        .map(|c| if c == '/' || c == '\\' { '_' } else { c })
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim_start();
    let name = bound(trimmed);
    if name.is_empty() {
        "download".to_owned()
    } else {
        name
    }
}

/// Cuts `name` to [`MAX_DISPOSITION_NAME_CHARS`], keeping a short extension.
fn bound(name: &str) -> String {
    let total = name.chars().count();
    if total <= MAX_DISPOSITION_NAME_CHARS {
        return name.to_owned();
    }
    let ext = match name.rfind('.') {
        Some(dot) if name[dot..].chars().count() <= 17 => &name[dot..],
        _ => "",
    };
    let stem_chars = MAX_DISPOSITION_NAME_CHARS - ext.chars().count();
    let stem: String = name.chars().take(stem_chars).collect();
    format!("{}{ext}", stem.trim_end())
}

/// The quoted-string-safe ASCII rendering of `name`.
fn ascii_fallback(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut replaced = false;
    for c in name.chars() {
        match c {
            '"' | '\\' => {}
            ' '..='~' if c != '%' => {
                out.push(c);
                replaced = false;
            }
            _ => {
                if !replaced {
                    out.push('_');
                }
                replaced = true;
            }
        }
    }
    if out.bytes().any(|b| b.is_ascii_alphanumeric()) {
        out
    } else {
        "download".to_owned()
    }
}

/// RFC 5987 `value-chars`: UTF-8, every byte outside `attr-char` as `%XX`.
fn encode(name: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(name.len() * 3);
    for &b in name.as_bytes() {
        let attr_char = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#' | b'$' | b'&' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
            );
        if attr_char {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0F)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two parameters of a header built by `content_disposition`.
    fn params(header: &str) -> (String, String) {
        let rest = header.strip_prefix("attachment; filename=\"").expect("prefix");
        let (fallback, rest) = rest.split_once("\"; filename*=UTF-8''").expect("separator");
        (fallback.to_owned(), rest.to_owned())
    }

    fn decode(encoded: &str) -> String {
        let bytes = encoded.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    fn assert_header_safe(header: &str) {
        assert!(header.bytes().all(|b| (0x20..0x7F).contains(&b)), "non-printable in {header:?}");
        let (fallback, encoded) = params(header);
        assert!(!fallback.contains(['"', '\\', '%']), "{fallback:?}");
        assert!(!fallback.is_empty());
        assert!(encoded
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~%".contains(&b)));
    }

    #[test]
    fn plain_names_are_unchanged() {
        let header = content_disposition("training-data-edge_case-2025-10-29-42.csv");
        assert_eq!(
            header,
            "attachment; filename=\"training-data-edge_case-2025-10-29-42.csv\"; \
             filename*=UTF-8''training-data-edge_case-2025-10-29-42.csv"
        );
    }

    #[test]
    fn quotes_backslashes_and_percent() {
        let header = content_disposition(r#"a"b\c%d'e.md"#);
        assert_header_safe(&header);
        let (fallback, encoded) = params(&header);
        assert_eq!(fallback, "ab_c_d'e.md");
        assert_eq!(encoded, "a%22b_c%25d%27e.md");
        assert_eq!(decode(&encoded), "a\"b_c%d'e.md");
    }

    #[test]
    fn header_injection_is_impossible() {
        for hostile in [
            "x.csv\r\nSet-Cookie: session=evil",
            "x.csv\nContent-Type: text/html",
            "x.csv\r",
            "\u{0}x.csv",
            "x\u{7F}.csv",
            "x\u{85}.csv",
            "\"; filename=\"evil.exe",
        ] {
            let header = content_disposition(hostile);
            assert_header_safe(&header);
            assert!(!header.contains(['\r', '\n']));
            assert_eq!(header.matches('"').count(), 2, "{header}");
        }
        let (fallback, encoded) = params(&content_disposition("x.csv\r\nSet-Cookie: a=b"));
        assert_eq!(fallback, "x.csvSet-Cookie: a=b");
        assert_eq!(decode(&encoded), "x.csvSet-Cookie: a=b");
    }

    #[test]
    fn unicode_is_kept_in_filename_star() {
        for name in ["训练数据.jsonl", "שלום.md", "emoji 🎉.csv", "e\u{301}.json"] {
            let header = content_disposition(name);
            assert_header_safe(&header);
            let (_, encoded) = params(&header);
            assert_eq!(decode(&encoded), name);
        }
        assert_eq!(params(&content_disposition("训练数据.jsonl")).0, "_.jsonl");
        assert_eq!(params(&content_disposition("emoji 🎉.csv")).0, "emoji _.csv");
        assert_eq!(params(&content_disposition("训练")).0, "download");
    }

    #[test]
    fn bidi_overrides_and_paths_are_removed() {
        let (fallback, encoded) = params(&content_disposition("invoice\u{202E}fdp.exe"));
        assert_eq!(fallback, "invoicefdp.exe");
        assert_eq!(decode(&encoded), "invoicefdp.exe");
        let (fallback, encoded) = params(&content_disposition("../../etc/passwd"));
        assert_eq!(fallback, "_.._etc_passwd");
        assert_eq!(decode(&encoded), "_.._etc_passwd");
        let (fallback, _) = params(&content_disposition("..\\..\\boot.ini"));
        assert_eq!(fallback, "_.._boot.ini");
        assert_eq!(params(&content_disposition(".hidden")).0, "hidden");
    }

    #[test]
    fn empty_names_get_a_default() {
        for empty in ["", "   ", "\r\n", "...", "\u{202E}"] {
            let (fallback, encoded) = params(&content_disposition(empty));
            assert_eq!(
                (fallback.as_str(), encoded.as_str()),
                ("download", "download"),
                "{empty:?}"
            );
        }
    }

    #[test]
    fn long_names_keep_their_extension() {
        let header = content_disposition(&format!("{}.jsonl", "é".repeat(500)));
        assert_header_safe(&header);
        let (_, encoded) = params(&header);
        let name = decode(&encoded);
        assert_eq!(name.chars().count(), MAX_DISPOSITION_NAME_CHARS);
        assert!(name.ends_with("é.jsonl"));
        let no_ext = decode(&params(&content_disposition(&"b".repeat(900))).1);
        assert_eq!(no_ext, "b".repeat(MAX_DISPOSITION_NAME_CHARS));
    }
}
