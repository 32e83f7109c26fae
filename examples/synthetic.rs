//! Exports N synthetic conversations, generated on the fly, to a file or to
//! nowhere: the memory and speed probe of `benches/README.md`.
//!
//! ```text
//! cargo run --release --example synthetic -- --count 1000000 --format jsonl --output /dev/null
//! ```
//!
//! Prints the export summary (without the per-record lists) and the elapsed
//! time as JSON on stderr. With `--format input` it writes the conversations
//! themselves as canonical JSONL instead (input for the importer and the main
//! job).

#[path = "../tests/support/synthetic.rs"]
mod synthetic;

use std::io::{BufWriter, Write};
use std::time::Instant;

use lora_export::model::{ExportConfig, ExportRequest, Format, Scope};
use lora_export::ExportBuilder;

fn main() {
    if let Err(message) = run() {
        eprintln!("error: {message}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let mut count: u64 = 100_000;
    let mut format = Some(Format::Jsonl);
    let mut output = String::from("/dev/null");
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--count" => count = value.parse().map_err(|e| format!("--count: {e}"))?,
            "--format" if value == "input" => format = None,
            "--format" => {
                format = Some(Format::parse(&value).ok_or(format!("unknown format {value}"))?)
            }
            "--output" => output = value,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    let file = std::fs::File::create(&output).map_err(|e| format!("{output}: {e}"))?;
    let Some(format) = format else {
        return write_input(count, BufWriter::with_capacity(256 * 1024, file));
    };
    let request = ExportRequest::new(ExportConfig::new(Scope::All, format));
    let started = Instant::now();
    let mut writer = ExportBuilder::new(request)
        .from_writer(BufWriter::with_capacity(256 * 1024, file))
        .map_err(|e| e.to_string())?;
    for c in synthetic::conversations(count) {
        writer.push(Ok(c)).map_err(|e| e.to_string())?;
    }
    let (out, summary) = writer.finish().map_err(|e| e.to_string())?;
    out.into_inner().map_err(|e| e.to_string())?.flush().map_err(|e| e.to_string())?;
    let seconds = started.elapsed().as_secs_f64();
    let report = serde_json::json!({
        "format": summary.format,
        "conversations": summary.conversations,
        "bytes": summary.bytes,
        "seconds": seconds,
        "mb_per_s": summary.bytes as f64 / 1e6 / seconds,
        "skipped": summary.skipped.len(),
    });
    eprintln!("{report}");
    Ok(())
}

/// Writes the conversations as canonical JSONL.
fn write_input(count: u64, mut out: impl Write) -> Result<(), String> {
    for c in synthetic::conversations(count) {
        serde_json::to_writer(&mut out, &c).map_err(|e| e.to_string())?;
        out.write_all(b"\n").map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())
}
