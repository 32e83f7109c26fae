//! Validates an exported file, streaming: prints every finding with its
//! location and exits 1 when there are errors.
//!
//! ```text
//! cargo run --release --example validate -- FILE [--format jsonl|json|csv|markdown] [--flavor openai|anthropic|sharegpt]
//! ```
//!
//! The format defaults to the file's extension (`.md` is Markdown).

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use lora_export::model::{Format, JsonlFlavor};
use lora_export::validate::validate_output;

fn main() {
    match run() {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(message) => {
            eprintln!("error: {message}");
            std::process::exit(2);
        }
    }
}

fn run() -> Result<bool, String> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: validate FILE [--format F] [--flavor F]")?;
    let ext = Path::new(&path).extension().and_then(|e| e.to_str()).unwrap_or_default();
    let mut format = Format::parse(if ext == "md" { "markdown" } else { ext });
    let mut flavor = JsonlFlavor::Openai;
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--format" => format = Format::parse(&value),
            "--flavor" => {
                flavor = serde_json::from_value(serde_json::json!(value))
                    .map_err(|_| format!("unknown flavor {value}"))?
            }
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    let format = format.ok_or("cannot tell the format: pass --format")?;
    let file = File::open(&path).map_err(|e| format!("{path}: {e}"))?;
    let report = validate_output(format, flavor, BufReader::new(file))
        .map_err(|e| format!("{path}: {e}"))?;
    for f in &report.warnings {
        println!("{path}: warning at {}: {} [{}]", f.location, f.message, f.code);
    }
    for f in &report.errors {
        println!("{path}: error at {}: {} [{}]", f.location, f.message, f.code);
    }
    println!(
        "{path}: {} records, {} errors, {} warnings",
        report.records,
        report.errors.len(),
        report.warnings.len()
    );
    Ok(report.is_valid())
}
