//! A dataset export streams too: with splits, shards and zstd, exporting
//! 100,000 more conversations after a warm-up raises the peak resident set
//! size (VmHWM) by less than 8 MiB. With `dedupe` (which keeps a key per
//! conversation: 16 bytes per id, and per distinct content its key and first
//! id) the growth is held under 24 MiB for the 100,000.
//!
//! Peak RSS is per process: `DEDUPE=1` picks the measurement, and the test
//! runs itself once more for the other, so each has a process of its own.

#[path = "support/synthetic.rs"]
mod synthetic;

use lora_export::dataset::{Compression, DatasetBuilder, SplitSpec};
use lora_export::model::{ExportConfig, ExportRequest, Format, Scope};

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM line")
}

/// Peak RSS growth (KiB) from conversation 10,000 to 110,000 of a dataset export.
fn growth(dedupe: bool) -> u64 {
    const WARM_UP: u64 = 10_000;
    const MORE: u64 = 100_000;
    let dir =
        std::env::temp_dir().join(format!("lora-export-ds-memory-{}-{dedupe}", std::process::id()));
    let request = ExportRequest::new(ExportConfig::new(Scope::All, Format::Jsonl));
    let mut writer = DatasetBuilder::new(request)
        .split(SplitSpec::parse("train=0.9,validation=0.05,test=0.05").unwrap())
        .seed(1)
        .dedupe(dedupe)
        .max_records_per_shard(25_000)
        .compression(Compression::Zstd)
        .to_directory(&dir)
        .unwrap();
    for c in synthetic::conversations(WARM_UP) {
        writer.push(Ok(c)).unwrap();
    }
    let before = peak_rss_kib();
    for i in WARM_UP..WARM_UP + MORE {
        writer.push(Ok(synthetic::conversation(i))).unwrap();
    }
    let after = peak_rss_kib();
    let summary = writer.finish().unwrap();
    assert_eq!(summary.splits.iter().map(|s| s.conversations).sum::<u64>(), WARM_UP + MORE);
    std::fs::remove_dir_all(&dir).unwrap();
    after - before
}

#[test]
fn a_dataset_export_streams_in_flat_memory() {
    if std::env::var("DEDUPE").as_deref() == Ok("1") {
        let deduped = growth(true);
        assert!(deduped < 24 * 1024, "dedupe: peak RSS grew {deduped} KiB");
        println!("with dedupe: peak RSS grew {deduped} KiB over 100,000 conversations");
        return;
    }
    let plain = growth(false);
    assert!(plain < 8 * 1024, "splits, shards and zstd: peak RSS grew {plain} KiB");
    println!("splits, shards, zstd: peak RSS grew {plain} KiB over 100,000 conversations");
    let again = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "a_dataset_export_streams_in_flat_memory", "--nocapture"])
        .env("DEDUPE", "1")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&again.stdout);
    assert!(
        again.status.success(),
        "the dedupe run failed:\n{out}{}",
        String::from_utf8_lossy(&again.stderr)
    );
    println!("{}", out.lines().find(|l| l.starts_with("with dedupe")).unwrap_or_default());
}
