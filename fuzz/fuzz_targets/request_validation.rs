//! Request validation never panics, and a request it accepts is accepted
//! again after a round trip through JSON (what the service stores and a
//! worker re-validates).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lora_export::request::{validate_request, validate_request_json};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match validate_request_json(text) {
        Ok(request) => {
            let stored = serde_json::to_value(&request).expect("a request serializes");
            let again = validate_request(&stored).expect("a stored request validates again");
            assert_eq!(again, request);
        }
        Err(issues) => assert!(!issues.is_empty(), "a refusal names at least one issue"),
    }
});
