//! The library's main job in a few lines: a canonical JSONL file in, a
//! training file out, the summary on stderr. The `lora-export` command
//! (crate `cli/`, `cargo install --path cli`) does the same with every flag,
//! dataset directories and the bundled sample.
//!
//! ```text
//! cargo run --example export -- data/sample.jsonl jsonl > train.jsonl
//! ```

use std::fs::File;
use std::io::{self, BufReader, BufWriter};

use lora_export::model::{ExportConfig, ExportRequest, Format, Scope};
use lora_export::source::JsonlSource;
use lora_export::ExportBuilder;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| "data/sample.jsonl".to_owned());
    let name = args.next().unwrap_or_else(|| "jsonl".to_owned());
    let format = Format::parse(&name).ok_or(format!("unknown format {name:?}"))?;
    let request = ExportRequest::new(ExportConfig::new(Scope::All, format));
    let input = BufReader::new(File::open(&path)?);
    let out = BufWriter::new(io::stdout().lock());
    let summary = ExportBuilder::new(request).export(JsonlSource::new(input), out)?;
    eprintln!("{}", serde_json::to_string(&summary)?);
    Ok(())
}
