//! Whatever records the input holds, each transformer's output passes its
//! own format's validator: the first byte picks the format (and flavor),
//! the rest is JSONL input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lora_export::model::{ExportConfig, ExportRequest, Format, JsonlFlavor, Scope};
use lora_export::source::JsonlSource;
use lora_export::validate::validate_output;
use lora_export::ExportBuilder;

const CHOICES: [(Format, JsonlFlavor); 6] = [
    (Format::Jsonl, JsonlFlavor::Openai),
    (Format::Jsonl, JsonlFlavor::Anthropic),
    (Format::Jsonl, JsonlFlavor::Sharegpt),
    (Format::Json, JsonlFlavor::Openai),
    (Format::Csv, JsonlFlavor::Openai),
    (Format::Markdown, JsonlFlavor::Openai),
];

fuzz_target!(|data: &[u8]| {
    let Some((choice, input)) = data.split_first() else {
        return;
    };
    let (format, flavor) = CHOICES[usize::from(*choice) % CHOICES.len()];
    let mut config = ExportConfig::new(Scope::AllData, format);
    config.jsonl_flavor = flavor;
    let mut out = Vec::new();
    let summary = match ExportBuilder::new(ExportRequest::new(config))
        .export(JsonlSource::new(input), &mut out)
    {
        Ok(summary) => summary,
        // Every record refused: a loud error, never an empty file.
        Err(e) if e.code() == "TOO_MANY_SKIPPED" => return,
        Err(e) => panic!("an export into memory failed: {e}"),
    };
    assert_eq!(summary.bytes, out.len() as u64);
    if summary.conversations == 0 {
        return;
    }
    let report = validate_output(format, flavor, out.as_slice()).expect("reading memory");
    assert_eq!(report.records, expected_records(format, &summary));
    assert!(report.is_valid(), "{format:?}/{flavor:?}: {:?}", report.errors);
});

fn expected_records(format: Format, summary: &lora_export::ExportSummary) -> u64 {
    match format {
        Format::Csv => summary.turns,
        _ => summary.conversations,
    }
}
