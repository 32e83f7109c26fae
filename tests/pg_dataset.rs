//! Dataset exports in the service, against a real PostgreSQL: a request
//! with `dataset` writes several files (shards per split, the card), the
//! log keeps their manifest, each file downloads by name byte-identical to
//! the core's dataset directory, all of them download as one zip that
//! unzips to that directory, and delete and cleanup remove every file.

#[path = "support/pg.rs"]
mod pg;
#[path = "support/service.rs"]
mod support;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use lora_export::audit::ExportStatus;
use lora_export::dataset::DatasetOptions;
use lora_export::pg::{CreateOutcome, HistoryQuery};
use lora_export::request::validate_request;
use serde_json::{json, Value};
use support::*;

fn dataset_body() -> Value {
    json!({
        "config": { "scope": "all", "format": "jsonl" },
        "dataset": {
            "split": "train=0.75,validation=0.25", "seed": 7, "dedupe": true,
            "maxRecordsPerShard": 10, "compression": "zstd"
        }
    })
}

/// Every file under `dir`, by name.
fn files_in(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            let name = entry.file_name().to_string_lossy().into_owned();
            files.insert(name, std::fs::read(entry.path()).unwrap());
        }
    }
    files
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dataset_export_downloads_file_by_file_and_as_one_zip() {
    let (service, _) = service_with(|c| c.sync_threshold = 100).await;
    let user = user(&service).await;
    let body = dataset_body();
    let outcome = service.create_export(user, &body).await.unwrap();
    let CreateOutcome::Completed { export, .. } = &outcome else { panic!("{outcome:?}") };
    let export_id = export.export_id;
    let manifest = export.files.clone().expect("a dataset export lists its files");
    let names: Vec<&str> = manifest.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names.last(), Some(&"README.md"));
    assert!(names.contains(&"train-00000-of-00003.jsonl.zst"), "{names:?}");
    assert!(names.iter().any(|n| n.starts_with("validation-00000-of-")), "{names:?}");
    assert_eq!(export.conversation_count, 32);
    assert_eq!(export.file_size, manifest.iter().map(|f| f.bytes).sum::<u64>());
    assert!(export.file_name.ends_with(".zip"), "{}", export.file_name);

    // The core alone, on the same conversations and date, writes the same files.
    let history = service.history(user, &HistoryQuery::default()).await.unwrap();
    let item = history.items.iter().find(|i| i.log.export_id == export_id).unwrap();
    assert_eq!(item.files.as_ref(), Some(&manifest), "history shows the files");
    let request = validate_request(&body).unwrap();
    let records = every_record(service.database(), &request).await;
    let dir = std::env::temp_dir().join(format!("lora-export-pg-dataset-{export_id}"));
    let options: &DatasetOptions = request.dataset.as_ref().unwrap();
    options
        .builder(request.clone())
        .unwrap()
        .export_date(item.log.timestamp)
        .export(records, &dir)
        .unwrap();
    let expected = files_in(&dir);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(expected.keys().collect::<Vec<_>>(), {
        let mut sorted: Vec<&String> = manifest.iter().map(|f| &f.name).collect();
        sorted.sort();
        sorted
    });

    for file in &manifest {
        let head = service.inspect_file(user, export_id, &file.name).await.unwrap();
        assert_eq!((head.size, head.sha256.as_deref()), (Some(file.bytes), Some(&*file.sha256)));
        let download = service.open_file(user, export_id, &file.name).await.unwrap();
        assert_eq!(download.file_name, file.name);
        let expected_type = if file.name == "README.md" {
            "text/markdown; charset=utf-8"
        } else {
            "application/zstd"
        };
        assert_eq!(download.content_type, expected_type);
        let bytes = read_all(download.file).await;
        assert!(bytes == expected[&file.name], "{} is the core's file", file.name);
    }

    let zip = service.open_download(user, export_id).await.unwrap();
    assert_eq!((zip.content_type.as_str(), zip.size, zip.sha256), ("application/zip", None, None));
    let bytes = read_all(zip.file).await;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut unzipped = BTreeMap::new();
    let mut order = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let mut content = Vec::new();
        entry.read_to_end(&mut content).unwrap();
        order.push(entry.name().to_owned());
        unzipped.insert(entry.name().to_owned(), content);
    }
    assert_eq!(order, names, "the zip holds the files in the manifest's order");
    assert!(unzipped == expected, "the zip unzips to the core's dataset directory");

    let status = service.status(user, export_id).await.unwrap();
    assert_eq!(status.files.as_ref(), Some(&manifest));
    assert_eq!(
        service.history(user, &HistoryQuery::default()).await.unwrap().items[0].log.download_count,
        manifest.len() as u64 + 1,
        "HEADs are not counted"
    );

    for name in ["no-such-file.jsonl", "../README.md", ""] {
        let err = service.open_file(user, export_id, name).await.unwrap_err();
        assert_eq!(err.http_status(), 404, "{name:?}");
    }
    let single = service.create_export(user, &small_body("jsonl")).await.unwrap().export_id();
    let err = service.open_file(user, single, "README.md").await.unwrap_err();
    assert_eq!(err.http_status(), 404, "a single-file export has no named files");
    let stranger = support::user(&service).await;
    let err = service.open_file(stranger, export_id, "README.md").await.unwrap_err();
    assert_eq!(err.http_status(), 403);

    let folder = service.config().storage_root.join(user.to_string()).join(export_id.to_string());
    assert_eq!(files_in(&folder).len(), manifest.len());
    let report = service.delete(user, export_id).await.unwrap();
    assert!(report.file_deleted);
    assert!(!folder.exists(), "delete removes every file and the export's folder");
    assert_audit_chain_intact(service.database()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cleanup_removes_every_file_of_an_expired_dataset_export() {
    let (service, _) = service_with(|c| c.sync_threshold = 100).await;
    let user = user(&service).await;
    let export_id = service.create_export(user, &dataset_body()).await.unwrap().export_id();
    let folder = service.config().storage_root.join(user.to_string()).join(export_id.to_string());
    assert!(files_in(&folder).len() > 2);
    admin_sql(
        service.database(),
        "UPDATE export_logs SET expires_at = now() - interval '1 minute' WHERE export_id = $1",
        export_id,
    )
    .await;
    let err = service.open_file(user, export_id, "README.md").await.unwrap_err();
    assert_eq!(err.http_status(), 410);
    let report = service.cleanup_expired().await.unwrap();
    assert_eq!((report.files_deleted, report.failures.len()), (1, 0));
    assert!(!folder.exists(), "every file of the expired export is gone");
    assert_eq!(service.status(user, export_id).await.unwrap().status, ExportStatus::Expired);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_dataset_request_is_refused_with_its_paths() {
    let (service, _) = service().await;
    let user = user(&service).await;
    let mut body = dataset_body();
    body["dataset"]["split"] = json!("train=0.5,validation=0.4");
    body["dataset"]["maxBytesPerShard"] = json!(10);
    let err = service.create_export(user, &body).await.unwrap_err();
    assert_eq!((err.http_status(), err.code()), (400, "VALIDATION_ERROR"));
    let paths: Vec<&str> = err.issues().iter().map(|i| i.path.as_str()).collect();
    assert_eq!(paths, ["dataset.split", "dataset.maxBytesPerShard"]);
}

/// A dataset request that counts tokens: the summary has the counts, and a
/// conversation over `maxTokens` is skipped with its count; a tokenizer
/// path in a request is refused (the server reads no file a client names).
#[cfg(feature = "tokenizers")]
#[tokio::test(flavor = "multi_thread")]
async fn a_dataset_export_counts_tokens_and_skips_those_over_max_tokens() {
    let (service, _) = service_with(|c| c.sync_threshold = 100).await;
    let user = user(&service).await;
    let mut body = dataset_body();
    body["dataset"]["tokenizer"] = json!("o200k_base");
    let outcome = service.create_export(user, &body).await.unwrap();
    let CreateOutcome::Completed { export, .. } = &outcome else { panic!("{outcome:?}") };
    let tokens = export.summary.tokens.clone().expect("token counts in the summary");
    assert_eq!((tokens.tokenizer.as_str(), tokens.conversations), ("o200k_base", 32));
    assert!(tokens.p50 > 0 && tokens.p50 <= tokens.p95 && tokens.p95 <= tokens.max);

    body["dataset"]["maxTokens"] = json!(tokens.p50);
    let outcome = service.create_export(user, &body).await.unwrap();
    let CreateOutcome::Completed { export, .. } = &outcome else { panic!("{outcome:?}") };
    let limited = export.summary.tokens.clone().unwrap();
    assert!(limited.over_max_tokens > 0 && limited.max <= tokens.p50, "{limited:?}");
    assert_eq!(export.conversation_count + limited.over_max_tokens, 32);
    let skipped = export.summary.skipped.iter().filter(|s| s.reason.contains("tokens")).count();
    assert_eq!(skipped as u64, limited.over_max_tokens, "each one listed with its reason");

    body["dataset"]["tokenizer"] = json!("/etc/passwd");
    let err = service.create_export(user, &body).await.unwrap_err();
    assert_eq!(err.issues()[0].path, "dataset.tokenizer");
}
