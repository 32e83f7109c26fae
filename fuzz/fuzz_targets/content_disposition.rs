//! A `Content-Disposition` built from any file name is printable ASCII with
//! no CR, LF or other control character, has exactly the two parameters,
//! and its quoted `filename` cannot be closed early.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lora_export::audit::content_disposition;

fuzz_target!(|data: &[u8]| {
    let Ok(name) = std::str::from_utf8(data) else {
        return;
    };
    let header = content_disposition(name);
    assert!(header.bytes().all(|b| (0x20..0x7f).contains(&b)), "{header:?}");
    let rest = header.strip_prefix("attachment; filename=\"").expect("prefix");
    let (fallback, rest) = rest.split_once('"').expect("quoted fallback");
    assert!(!fallback.contains(['"', '\\']), "{fallback:?}");
    let encoded = rest.strip_prefix("; filename*=UTF-8''").expect("extended parameter");
    assert!(
        encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~%".contains(&b)),
        "{encoded:?}"
    );
});
