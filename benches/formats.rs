//! Throughput of each format (and JSONL flavor) on synthetic conversations,
//! reported by criterion in MB/s of output. Run: `cargo bench --bench formats`.

#[path = "../tests/support/synthetic.rs"]
mod synthetic;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lora_export::model::{Conversation, ExportConfig, ExportRequest, Format, JsonlFlavor, Scope};
use lora_export::source::JsonlSource;
use lora_export::ExportBuilder;

const CONVERSATIONS: u64 = 2_000;

fn export(conversations: &[Conversation], config: &ExportConfig, out: &mut Vec<u8>) -> u64 {
    out.clear();
    let mut writer =
        ExportBuilder::new(ExportRequest::new(config.clone())).from_writer(out).unwrap();
    for c in conversations {
        writer.push_conversation(c).unwrap();
    }
    writer.finish().unwrap().1.bytes
}

fn configs() -> Vec<(String, ExportConfig)> {
    let mut list: Vec<(String, ExportConfig)> = Format::ALL
        .into_iter()
        .map(|f| (f.as_str().to_owned(), ExportConfig::new(Scope::All, f)))
        .collect();
    for flavor in [JsonlFlavor::Anthropic, JsonlFlavor::Sharegpt] {
        let mut config = ExportConfig::new(Scope::All, Format::Jsonl);
        config.jsonl_flavor = flavor;
        config.include_metadata = false;
        list.push((format!("jsonl-{}", flavor.as_str()), config));
    }
    list
}

fn formats(c: &mut Criterion) {
    let conversations: Vec<Conversation> = synthetic::conversations(CONVERSATIONS).collect();
    let mut out = Vec::with_capacity(8 << 20);
    let mut group = c.benchmark_group("export");
    for (name, config) in configs() {
        let bytes = export(&conversations, &config, &mut out);
        group.throughput(Throughput::Bytes(bytes));
        group.bench_with_input(BenchmarkId::from_parameter(&name), &config, |b, config| {
            b.iter(|| export(&conversations, config, &mut out))
        });
    }
    group.finish();
}

/// The whole main job: parse canonical JSONL input, select, write JSONL.
fn parse_and_export(c: &mut Criterion) {
    let mut input = Vec::new();
    for conversation in synthetic::conversations(CONVERSATIONS) {
        serde_json::to_writer(&mut input, &conversation).unwrap();
        input.push(b'\n');
    }
    let config = ExportConfig::new(Scope::All, Format::Jsonl);
    let mut group = c.benchmark_group("parse_and_export");
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.bench_function("jsonl_input_to_jsonl", |b| {
        b.iter(|| {
            ExportBuilder::new(ExportRequest::new(config.clone()))
                .export(JsonlSource::new(input.as_slice()), std::io::sink())
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, formats, parse_and_export);
criterion_main!(benches);
