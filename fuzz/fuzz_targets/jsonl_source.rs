//! The JSONL source never panics on any bytes, and every line is accounted
//! for: a record, or a skipped record located at a line of the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lora_export::source::JsonlSource;

fuzz_target!(|data: &[u8]| {
    let lines = data.split(|b| *b == b'\n').count() as u64;
    for record in JsonlSource::new(data) {
        if let Err(skipped) = record {
            let line = skipped.location.line.expect("a skipped line has its line number");
            assert!((1..=lines).contains(&line), "line {line} of {lines}");
            assert!(!skipped.reason.is_empty());
        }
    }
});
