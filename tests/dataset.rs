//! Dataset exports: splits stay put when data is appended or reordered and
//! when the format or the system prompt changes (proptest); no conversation
//! lands in two parts; duplicates are left out with their reason; shards and
//! compression round-trip; an export that writes nothing fails and leaves
//! no file under a final name.

#[path = "support/synthetic.rs"]
mod synthetic;

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use lora_export::dataset::{
    Compression, DatasetBuilder, DatasetSummary, SplitSpec, MAX_DATASET_FILES,
};
use lora_export::model::{Conversation, ExportConfig, ExportRequest, Format, Scope};
use lora_export::SkippedRecord;
use proptest::prelude::*;

fn temp_dir(tag: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    std::env::temp_dir().join(format!("lora-export-dataset-{}-{tag}-{n}", std::process::id()))
}

fn request(format: Format, system_prompt: Option<&str>) -> ExportRequest {
    let mut config = ExportConfig::new(Scope::AllData, format);
    config.system_prompt = system_prompt.map(str::to_owned);
    ExportRequest::new(config)
}

fn export(builder: DatasetBuilder, conversations: &[Conversation], dir: &Path) -> DatasetSummary {
    builder.export(conversations.iter().cloned().map(Ok), dir).unwrap()
}

/// The stored bytes of a dataset file, decompressed.
fn read(path: &Path) -> String {
    let file = std::fs::File::open(path).unwrap();
    let mut text = String::new();
    let name = path.to_string_lossy();
    if name.ends_with(".gz") {
        flate2::read::GzDecoder::new(file).read_to_string(&mut text).unwrap();
    } else if name.ends_with(".zst") {
        zstd::stream::read::Decoder::new(file).unwrap().read_to_string(&mut text).unwrap();
    } else {
        std::io::BufReader::new(file).read_to_string(&mut text).unwrap();
    }
    text
}

/// Which split each conversation id is in, read back from the files (JSONL
/// metadata or the CSV column); panics if an id is in two splits.
fn membership(dir: &Path) -> HashMap<String, String> {
    let mut found: HashMap<String, String> = HashMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name == "README.md" {
            continue;
        }
        let split = name.split('-').next().unwrap().to_owned();
        let text = read(&path);
        let ids: Vec<String> = if name.contains(".csv") {
            let mut reader =
                csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
            reader.records().map(|r| r.unwrap()[0].to_owned()).collect()
        } else {
            text.lines()
                .map(|line| {
                    let value: serde_json::Value = serde_json::from_str(line).unwrap();
                    value["metadata"]["conversation_id"].as_str().unwrap().to_owned()
                })
                .collect()
        };
        for id in ids {
            let before = found.insert(id.clone(), split.clone());
            assert!(before.is_none() || before.as_deref() == Some(&split), "{id} is in two splits");
        }
    }
    found
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn a_split_does_not_move_when_data_grows_is_reordered_or_the_format_changes(
        first in 1u64..40,
        added in 0u64..40,
        seed in any::<u64>(),
        order in any::<u64>(),
        shard_records in 1u64..8,
    ) {
        let split = SplitSpec::parse("train=0.7,validation=0.2,test=0.1").unwrap();
        let all: Vec<Conversation> = synthetic::conversations(first + added).collect();
        let a = temp_dir("a");
        let before = DatasetBuilder::new(request(Format::Jsonl, None)).split(split.clone()).seed(seed);
        let summary = export(before, &all[..first as usize], &a);
        prop_assert_eq!(summary.splits.iter().map(|s| s.conversations).sum::<u64>(), first);

        // More data, in another order, as CSV with a system prompt, sharded.
        let mut grown = all.clone();
        let n = grown.len();
        grown.rotate_left((order % n as u64) as usize);
        if order % 2 == 0 {
            grown.reverse();
        }
        let b = temp_dir("b");
        let after = DatasetBuilder::new(request(Format::Csv, Some("You are a support agent.")))
            .split(split.clone())
            .seed(seed)
            .max_records_per_shard(shard_records)
            .compression(Compression::Gzip);
        let grown_summary = export(after, &grown, &b);

        let (was, is) = (membership(&a), membership(&b));
        prop_assert_eq!(was.len() as u64, first);
        prop_assert_eq!(is.len() as u64, first + added);
        for (id, part) in &was {
            prop_assert_eq!(Some(part), is.get(id), "{} moved", id);
        }
        for s in &grown_summary.splits {
            prop_assert!(s.files.iter().all(|f| f.conversations <= shard_records));
            prop_assert_eq!(s.conversations, is.values().filter(|p| **p == s.name).count() as u64);
        }
        std::fs::remove_dir_all(&a).unwrap();
        std::fs::remove_dir_all(&b).unwrap();
    }
}

#[test]
fn dedupe_leaves_out_repeated_ids_and_contents_and_no_duplicate_is_in_two_splits() {
    let mut input: Vec<Conversation> = synthetic::conversations(30).collect();
    for i in 0..30 {
        let mut copy = input[i].clone();
        copy.conversation_id = format!("copy-{i}"); // another id, the same turns
        input.push(copy);
    }
    input.push(input[3].clone()); // the same id again
    let split = SplitSpec::parse("train=0.5,validation=0.5").unwrap();

    let dir = temp_dir("dedupe");
    let builder =
        DatasetBuilder::new(request(Format::Jsonl, None)).split(split.clone()).dedupe(true);
    let summary = export(builder, &input, &dir);
    assert_eq!(summary.duplicates_dropped, 31);
    assert_eq!(summary.export.conversations, 30);
    let reasons: Vec<&SkippedRecord> = summary.export.skipped.iter().collect();
    assert_eq!(reasons.len(), 31);
    assert_eq!(reasons[0].conversation_id.as_deref(), Some("copy-0"));
    assert_eq!(reasons[0].reason, "duplicate content: the same turns as record 1");
    assert_eq!(reasons[0].location.record, Some(31));
    assert!(reasons[30].reason.starts_with("duplicate conversation_id"));
    assert!(membership(&dir).keys().all(|id| id.starts_with("syn-")));
    assert_eq!(summary.leaks, 0, "dedupe leaves every repeat out: none can leak");
    std::fs::remove_dir_all(&dir).unwrap();

    // Without dedupe they are written and warned about; a copy the hash of
    // its other id put in another split is a leak, counted and warned.
    let dir = temp_dir("kept");
    let summary = export(
        DatasetBuilder::new(request(Format::Jsonl, None)).split(split.clone()),
        &input,
        &dir,
    );
    assert_eq!((summary.duplicates_kept, summary.export.conversations), (31, 61));
    let apart: Vec<usize> = (0..30)
        .filter(|&i| {
            split.part_of(&input[i].conversation_id, 0) != split.part_of(&format!("copy-{i}"), 0)
        })
        .collect();
    assert!(!apart.is_empty(), "some copies land in the other split");
    assert_eq!(summary.leaks, apart.len() as u64);
    assert_eq!(summary.splits.iter().map(|s| s.leaks).sum::<u64>(), summary.leaks);
    let leaks =
        summary.export.warnings.iter().filter(|w| w.code == lora_export::WarningCode::SplitLeak);
    assert!(leaks.clone().all(|w| w.message.contains("the hash placed them apart")));
    assert_eq!(leaks.count(), summary.splits.iter().filter(|s| s.leaks > 0).count());
    assert!(summary
        .export
        .warnings
        .iter()
        .any(|w| w.code == lora_export::WarningCode::DuplicatesKept
            && w.message.contains("export with dedupe")));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn given_splits_are_kept_with_their_own_record_numbers_and_leaks_reported() {
    let train: Vec<Conversation> = synthetic::conversations(20).collect();
    let mut test: Vec<Conversation> = synthetic::conversations(25).skip(20).collect();
    let mut leak = train[4].clone();
    leak.conversation_id = "leak-of-4".into();
    test.push(leak);
    test.push(train[7].clone()); // the same id as train's record 8
    let bad = Err(SkippedRecord {
        location: lora_export::Location::record(8),
        conversation_id: None,
        reason: "malformed".into(),
    });
    let records = |c: &[Conversation]| c.iter().cloned().map(Ok).collect::<Vec<_>>();
    let splits = |dedupe: bool| {
        let mut test = records(&test);
        test.push(bad.clone());
        let builder = DatasetBuilder::new(request(Format::Jsonl, None))
            .dedupe(dedupe)
            .max_records_per_shard(8);
        (builder, [("train", records(&train)), ("test", test)])
    };

    let dir = temp_dir("given");
    let (builder, input) = splits(false);
    let summary = builder.export_splits(input, &dir).unwrap();
    assert_eq!(summary.split_by, lora_export::dataset::SplitBy::Given);
    let counts: Vec<_> =
        summary.splits.iter().map(|s| (s.name.as_str(), s.conversations, s.files.len())).collect();
    assert_eq!(counts, [("train", 20, 3), ("test", 7, 1)], "as given, the leaks too");
    assert_eq!((summary.leaks, summary.splits[0].leaks, summary.splits[1].leaks), (2, 0, 2));
    let warning = summary
        .export
        .warnings
        .iter()
        .find(|w| w.code == lora_export::WarningCode::SplitLeak)
        .unwrap();
    assert!(warning.message.starts_with("split `test`: 2 conversations repeat"), "{warning}");
    assert!(warning.message.contains("(train: 2)") && warning.message.contains("written as given"));
    assert!(warning.message.contains("the first: record 6 (id \"leak-of-4\")"), "{warning}");
    assert_eq!(summary.splits[1].skipped_total, 1);
    assert_eq!(summary.splits[1].skipped[0].location.record, Some(8));
    let ids = |split: &str| -> Vec<String> {
        let mut ids = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().unwrap().to_string_lossy().starts_with(&format!("{split}-")) {
                for line in read(&path).lines() {
                    let value: serde_json::Value = serde_json::from_str(line).unwrap();
                    ids.push(value["metadata"]["conversation_id"].as_str().unwrap().to_owned());
                }
            }
        }
        ids.sort();
        ids
    };
    let mut expected: Vec<String> = test.iter().map(|c| c.conversation_id.clone()).collect();
    expected.sort();
    assert_eq!(ids("test"), expected, "no hash moved a conversation");
    assert!(read(&dir.join("README.md")).contains("the splits as the input gave them"));
    std::fs::remove_dir_all(&dir).unwrap();

    let dir = temp_dir("given-dedupe");
    let (builder, input) = splits(true);
    let summary = builder.export_splits(input, &dir).unwrap();
    assert_eq!(summary.splits[1].conversations, 5);
    assert_eq!(summary.leaks, 2, "the leaks are reported though left out");
    let reasons: Vec<(Option<u64>, &str)> =
        summary.splits[1].skipped.iter().map(|s| (s.location.record, s.reason.as_str())).collect();
    assert_eq!(
        reasons,
        [
            (Some(6), "duplicate content: the same turns as record 5 of split `train`"),
            (Some(7), "duplicate conversation_id: one with this id came before in split `train`"),
            (Some(8), "malformed"),
        ]
    );
    std::fs::remove_dir_all(&dir).unwrap();

    let refused = |builder: DatasetBuilder| builder.to_directory(temp_dir("refused")).unwrap_err();
    let given =
        || DatasetBuilder::new(request(Format::Jsonl, None)).given_splits(["train", "test"]);
    let both = refused(given().split(SplitSpec::parse("train=0.5,test=0.5").unwrap()));
    assert!(
        both.to_string()
            .contains("`split` (train=0.5,test=0.5) and the input's own splits (train, test)"),
        "{both}"
    );
    let hostile =
        refused(DatasetBuilder::new(request(Format::Jsonl, None)).given_splits(["train", "../x"]));
    assert_eq!(hostile.code(), "VALIDATION_ERROR");
    let mut writer = given().to_directory(temp_dir("unstarted")).unwrap();
    assert!(writer.push(Ok(train[0].clone())).unwrap_err().to_string().contains("start_split"));
    assert!(writer
        .start_split("validation")
        .unwrap_err()
        .to_string()
        .contains("\"validation\" is not one of the splits given (train, test)"));
}

#[test]
fn shards_by_bytes_compress_and_hash_the_stored_bytes() {
    let input: Vec<Conversation> = synthetic::conversations(200).collect();
    for compression in [Compression::None, Compression::Gzip, Compression::Zstd] {
        let dir = temp_dir("bytes");
        let builder = DatasetBuilder::new(request(Format::Jsonl, None))
            .max_bytes_per_shard(16 * 1024)
            .compression(compression);
        let summary = export(builder, &input, &dir);
        let train = &summary.splits[0];
        assert!(train.files.len() > 3, "{compression:?}: {} shards", train.files.len());
        let mut lines = 0;
        for (i, file) in train.files.iter().enumerate() {
            let total = train.files.len();
            let ext = format!("jsonl{}", compression.extension());
            assert_eq!(file.name, format!("train-{i:05}-of-{total:05}.{ext}"));
            let stored = std::fs::read(dir.join(&file.name)).unwrap();
            assert_eq!(stored.len() as u64, file.bytes);
            let digest: String = sha256(&stored);
            assert_eq!(digest, file.sha256, "the SHA-256 is of the stored bytes");
            let text = read(&dir.join(&file.name));
            assert!(
                text.len() < 16 * 1024 + 4096,
                "a shard passes the limit by one conversation at most"
            );
            lines += text.lines().count();
        }
        assert_eq!(lines, 200);
        let card = std::fs::read_to_string(dir.join("README.md")).unwrap();
        assert!(
            card.contains("path: \"train-*.jsonl") && card.contains("num_examples: 200"),
            "{card}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn nothing_written_fails_and_leaves_no_file_and_a_used_directory_is_refused() {
    let dir = temp_dir("nothing");
    let malformed = (1..=3).map(|line| {
        Err(SkippedRecord {
            location: lora_export::Location::record(line),
            conversation_id: None,
            reason: "not JSON".into(),
        })
    });
    let err =
        DatasetBuilder::new(request(Format::Jsonl, None)).export(malformed, &dir).unwrap_err();
    assert_eq!(err.code(), "TOO_MANY_SKIPPED");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "no file, not even a temporary one");

    std::fs::write(dir.join("train-00000-of-00009.jsonl"), "old").unwrap();
    let err = DatasetBuilder::new(request(Format::Jsonl, None)).to_directory(&dir).unwrap_err();
    assert_eq!(err.code(), "CONFIG_ERROR");
    assert!(err.to_string().contains("not empty"));
    assert!(err.to_string().contains(&dir.display().to_string()), "it names the path");
    assert!(err.to_string().contains("overwrite"), "and the option");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `overwrite` replaces a used directory only once the new dataset is
/// complete: a failed export leaves the old files as they were, a finished
/// one leaves the new files only, and no staging directory stays beside it.
#[test]
fn overwrite_replaces_a_used_directory_whole_and_only_on_success() {
    let parent = temp_dir("overwrite");
    let dir = parent.join("dataset");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("train-00000-of-00009.jsonl"), "old").unwrap();
    let malformed = std::iter::once(Err(SkippedRecord {
        location: lora_export::Location::record(1),
        conversation_id: None,
        reason: "not JSON".into(),
    }));
    let builder = || DatasetBuilder::new(request(Format::Jsonl, None)).overwrite(true);
    builder().export(malformed, &dir).unwrap_err();
    let names = |dir: &Path| {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(names(&dir), ["train-00000-of-00009.jsonl"], "the old dataset, untouched");
    assert_eq!(names(&parent), ["dataset"], "no staging directory left");

    let conversations: Vec<_> = synthetic::conversations(20).collect();
    let summary = export(builder(), &conversations, &dir);
    assert_eq!(summary.splits[0].conversations, 20);
    assert_eq!(names(&dir), ["README.md", "train-00000-of-00001.jsonl"], "the new one only");
    assert_eq!(names(&parent), ["dataset"], "the old one removed");
    std::fs::remove_dir_all(&parent).unwrap();
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Each split counts its conversations per tier, and since the hash does
/// not see the tier, every tier is split in about the same shares: within
/// four standard deviations of the binomial on 3,000 conversations.
#[test]
fn each_split_counts_its_tiers_and_every_tier_is_split_in_the_shares() {
    let all: Vec<Conversation> = synthetic::conversations(3000).collect();
    let dir = temp_dir("tiers");
    let split = SplitSpec::parse("train=0.8,validation=0.2").unwrap();
    let summary =
        export(DatasetBuilder::new(request(Format::Jsonl, None)).split(split), &all, &dir);
    for (s, share) in summary.splits.iter().zip([0.8, 0.2]) {
        assert_eq!(s.tiers.values().sum::<u64>(), s.conversations, "{}", s.name);
        assert_eq!(s.tiers.len(), 3, "{:?}", s.tiers);
        for (tier, &n) in &s.tiers {
            let total =
                all.iter().filter(|c| c.tier.is_some_and(|t| t.as_str() == tier)).count() as f64;
            let deviation = (total * share * (1.0 - share)).sqrt();
            let off = (n as f64 - total * share).abs();
            assert!(off < 4.0 * deviation, "{}/{tier}: {n} of {total}, {off} off", s.name);
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_export_of_more_files_than_the_cap_fails_and_leaves_none() {
    let input: Vec<Conversation> = synthetic::conversations(MAX_DATASET_FILES as u64 + 1).collect();
    let dir = temp_dir("fan-out");
    let builder = DatasetBuilder::new(request(Format::Jsonl, None)).max_records_per_shard(1);
    let err = builder.export(input.into_iter().map(Ok), &dir).unwrap_err();
    let issue = &err.issues()[0];
    assert_eq!((err.http_status(), issue.path.as_str()), (400, "dataset.maxRecordsPerShard"));
    assert_eq!(issue.code, "too_many_files");
    let left = std::fs::read_dir(&dir).map_or(0, |d| d.count());
    assert_eq!(left, 0, "no file is left behind");
    std::fs::remove_dir_all(&dir).ok();
}
