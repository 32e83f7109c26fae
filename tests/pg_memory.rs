//! A 100,000-conversation export from the database runs in constant memory:
//! the peak RSS of the `pg_probe` example process (measured by
//! `/usr/bin/time`) exporting 100,000 conversations stays within 24 MiB of
//! the same process exporting 2,000, while the export writes 81 MiB: a
//! process that held its output would not. (The growth measured 13.2 to
//! 14.7 MiB on a quiet machine, before and after issue 35, and 16.2 MiB
//! once under a loaded CI run, past the 16 MiB this bound was.)

#[path = "support/pg.rs"]
mod pg;
#[path = "support/synthetic.rs"]
mod synthetic;

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::Command;

use lora_export::pg::Database;

/// The `pg_probe` example next to this test binary (cargo builds examples
/// for `cargo test`).
fn probe() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(|deps| deps.parent()).expect("target profile dir");
    let probe = dir.join("examples").join("pg_probe");
    assert!(probe.exists(), "{} is built by `cargo test --all-features`", probe.display());
    probe
}

async fn database_with(count: u64) -> String {
    let url = pg::fresh_database().await;
    let mut config = lora_export::pg::ServiceConfig::new(url.clone());
    config.storage_root =
        std::env::temp_dir().join(format!("lora-export-mem-{}", uuid::Uuid::new_v4()));
    let db = Database::connect(&config).expect("pool");
    let input = std::env::temp_dir().join(format!("lora-export-mem-{count}.jsonl"));
    let mut out = BufWriter::new(std::fs::File::create(&input).expect("temp input"));
    for c in synthetic::conversations(count) {
        serde_json::to_writer(&mut out, &c).expect("serialise");
        out.write_all(b"\n").expect("write");
    }
    out.flush().expect("flush");
    drop(out);
    let reader = std::io::BufReader::new(std::fs::File::open(&input).expect("open input"));
    let summary = db.import_conversations(reader).await.expect("import");
    assert_eq!(summary.imported, count);
    std::fs::remove_file(input).expect("remove temp input");
    url
}

fn peak_rss_kib(url: &str) -> (u64, serde_json::Value) {
    let storage = std::env::temp_dir().join(format!("lora-export-mem-{}", uuid::Uuid::new_v4()));
    let out = Command::new("/usr/bin/time")
        .args(["-f", "PEAK_RSS_KIB=%M"])
        .arg(probe())
        .env("DATABASE_URL", url)
        .env("LORA_EXPORT_STORAGE_ROOT", &storage)
        .output()
        .expect("run /usr/bin/time pg_probe");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "pg_probe failed: {stderr}");
    let peak = stderr
        .lines()
        .find_map(|l| l.strip_prefix("PEAK_RSS_KIB="))
        .and_then(|v| v.trim().parse().ok())
        .expect("peak RSS line");
    let report = serde_json::from_slice(&out.stdout).expect("probe JSON");
    let _ = std::fs::remove_dir_all(storage);
    (peak, report)
}

#[tokio::test(flavor = "multi_thread")]
async fn exporting_100k_conversations_from_the_database_uses_constant_memory() {
    let small = database_with(2_000).await;
    let large = database_with(100_000).await;
    let (small_peak, small_report) = peak_rss_kib(&small);
    let (large_peak, large_report) = peak_rss_kib(&large);
    eprintln!("2,000: {small_peak} KiB {small_report}\n100,000: {large_peak} KiB {large_report}");
    assert_eq!(small_report["conversations"], 2_000);
    assert_eq!(large_report["conversations"], 100_000);
    let output_kib = large_report["bytes"].as_u64().expect("bytes") / 1024;
    assert!(output_kib > 64 * 1024, "the large export writes {output_kib} KiB");
    assert!(
        large_peak < small_peak + 24 * 1024,
        "peak RSS {large_peak} KiB for 100,000 conversations vs {small_peak} KiB for 2,000"
    );
}
