//! `FileKey::parse` accepts exactly the keys `FileKey::new` writes: a key it
//! accepts prints back as the same text, names a file inside its user's
//! folder, and never contains a path separator beyond the one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lora_export::pg::FileKey;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(key) = FileKey::parse(text) {
        assert_eq!(key.as_str(), text);
        assert_eq!(text.matches('/').count(), 1);
        assert!(!text.contains(".."), "{text}");
        assert!(!text.contains('\\'));
        let again = FileKey::new(key.user_id(), key.export_id(), key.extension()).unwrap();
        assert_eq!(again, key);
    }
});
