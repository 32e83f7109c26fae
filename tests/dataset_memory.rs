//! A dataset export streams too. Two measurements of the peak resident set
//! size (VmHWM), each in a process of its own (peak RSS is per process: the
//! test runs itself again with `MEASURE=index` for the second):
//!
//! - **Data**: with every option on — three splits, dedupe, 10 MB shards,
//!   zstd — 200 MB more of conversations after a 40 MB warm-up raise the
//!   peak by less than 8 MiB. The warm-up sends each split more than a zstd
//!   window (2 MiB at level 3), whose pages the compressor touches as data
//!   first passes through it.
//! - **The dedup index**, the one thing that grows with the number of
//!   conversations (whatever their size): 100,000 more small conversations
//!   (uncompressed, so that no compressor window is in the figure) raise
//!   the peak by less than 96 bytes each. Its tables hold 48 bytes
//!   per conversation; a table that grows is briefly there twice.

#[path = "support/memory.rs"]
mod memory;
#[path = "support/synthetic.rs"]
mod synthetic;

use memory::peak_rss_kib;

use lora_export::dataset::{Compression, DatasetBuilder, SplitSpec};
use lora_export::model::{Conversation, ExportConfig, ExportRequest, Format, Scope};

/// Synthetic conversation `i` with each turn repeated `times` (about 1 KB
/// of JSONL per time).
fn conversation(i: u64, times: usize) -> Conversation {
    let mut conversation = synthetic::conversation(i);
    for turn in &mut conversation.turns {
        turn.content = turn.content.repeat(times);
    }
    conversation
}

/// Peak RSS growth (KiB) over conversations `warm_up..warm_up + more` of a
/// dataset export with three splits, dedupe and shards.
fn growth(warm_up: u64, more: u64, times: usize, compression: Compression) -> u64 {
    let dir =
        std::env::temp_dir().join(format!("lora-export-ds-memory-{}-{times}", std::process::id()));
    let request = ExportRequest::new(ExportConfig::new(Scope::All, Format::Jsonl));
    let mut writer = DatasetBuilder::new(request)
        .split(SplitSpec::parse("train=0.9,validation=0.05,test=0.05").unwrap())
        .seed(1)
        .dedupe(true)
        .max_bytes_per_shard(10_000_000)
        .compression(compression)
        .to_directory(&dir)
        .unwrap();
    for i in 0..warm_up {
        writer.push(Ok(conversation(i, times))).unwrap();
    }
    let before = peak_rss_kib();
    for i in warm_up..warm_up + more {
        writer.push(Ok(conversation(i, times))).unwrap();
    }
    let after = peak_rss_kib();
    let summary = writer.finish().unwrap();
    assert_eq!(summary.duplicates_dropped, 0);
    assert_eq!(summary.splits.iter().map(|s| s.conversations).sum::<u64>(), warm_up + more);
    std::fs::remove_dir_all(&dir).unwrap();
    after - before
}

#[test]
fn a_dataset_export_streams_in_flat_memory() {
    if std::env::var("MEASURE").as_deref() == Ok("index") {
        let grew = growth(10_000, 100_000, 1, Compression::None);
        let per_conversation = grew * 1024 / 100_000;
        assert!(
            per_conversation < 96,
            "the dedup index: {per_conversation} bytes per conversation"
        );
        println!("dedup index: peak RSS grew {grew} KiB over 100,000 conversations");
        return;
    }
    let grew = growth(2_000, 10_000, 20, Compression::Zstd);
    assert!(grew < 8 * 1024, "all options on: peak RSS grew {grew} KiB over 200 MB");
    println!("all options on: peak RSS grew {grew} KiB over 10,000 conversations of 20 KB");
    let again = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "a_dataset_export_streams_in_flat_memory", "--nocapture"])
        .env("MEASURE", "index")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&again.stdout);
    assert!(
        again.status.success(),
        "the index measurement failed:\n{out}{}",
        String::from_utf8_lossy(&again.stderr)
    );
    println!("{}", out.lines().find(|l| l.starts_with("dedup index")).unwrap_or_default());
}
