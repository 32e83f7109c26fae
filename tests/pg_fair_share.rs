//! Fair shares of the database and the machine (issue 33, findings 4 and
//! 5), against a real PostgreSQL: a user's stalled zip downloads hold no
//! blocking thread, idle downloads are closed, downloads and the modal's
//! costly reads (counts, preview, the conversations page, their search)
//! take part in per-user limits, and a search term is bounded — while
//! another user keeps getting answers.

#[path = "support/pg.rs"]
mod pg;
#[path = "support/service.rs"]
mod support;
#[path = "support/synthetic.rs"]
mod synthetic;

use std::time::Duration;

use lora_export::pg::{Download, ExportService, HistoryQuery, ServiceConfig};
use serde_json::{json, Value};
use support::*;
use tokio::io::AsyncReadExt;
use tokio_postgres::NoTls;
use uuid::Uuid;

/// Conversations imported for the zip tests: enough that a dataset's zip
/// (about 1 MB) is far larger than what a download buffers.
const CONVERSATIONS: u64 = 1_000;

/// A service on a fresh database configured through the environment
/// variables `env` (as `ServiceConfig::from_lookup` reads them), holding
/// the bundled sample or, with `synthetic`, [`CONVERSATIONS`] synthetic ones.
async fn service_from(env: &[(&str, &str)], synthetic: bool) -> (ExportService, String) {
    let base = pg::fresh_config().await;
    let root = base.storage_root.to_string_lossy().into_owned();
    let url = base.database_url.clone();
    let lookup = |k: &str| match k {
        "LORA_EXPORT_DATABASE_URL" => Some(url.clone()),
        "LORA_EXPORT_STORAGE_ROOT" => Some(root.clone()),
        "LORA_EXPORT_SYNC_THRESHOLD" => Some("5000".to_owned()),
        _ => env.iter().find(|(name, _)| *name == k).map(|(_, v)| (*v).to_owned()),
    };
    let service = ExportService::connect(ServiceConfig::from_lookup(lookup).unwrap()).unwrap();
    let jsonl = if synthetic {
        let mut jsonl = Vec::new();
        for c in synthetic::conversations(CONVERSATIONS) {
            serde_json::to_writer(&mut jsonl, &c).unwrap();
            jsonl.push(b'\n');
        }
        jsonl
    } else {
        std::fs::read(SAMPLE).unwrap()
    };
    service.import_conversations(std::io::Cursor::new(jsonl)).await.unwrap();
    (service, url)
}

/// A completed dataset export of every conversation, for `user`.
async fn dataset_export(service: &ExportService, user: Uuid) -> Uuid {
    let body = json!({ "config": { "scope": "all", "format": "jsonl" }, "dataset": {} });
    service.create_export(user, &body).await.unwrap().export_id()
}

/// `zip` opened and its first bytes read, so its writer has started.
async fn started(service: &ExportService, user: Uuid, export: Uuid) -> Download {
    let mut zip = service.open_download(user, export).await.unwrap();
    let mut first = [0u8; 4];
    zip.file.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"PK\x03\x04", "a zip starts with a local file header");
    zip
}

fn assert_rate_limited(error: &lora_export::pg::Error) {
    assert_eq!((error.code(), error.http_status()), ("RATE_LIMITED", 429), "{error}");
    assert!(error.retry_after_secs().is_some_and(|s| s >= 1), "{error}");
}

/// Holds an exclusive lock on the conversations until dropped (the
/// transaction rolls back): every read of them waits, as a costly one runs.
async fn lock_conversations(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.unwrap();
    tokio::spawn(connection);
    client
        .batch_execute("BEGIN; LOCK TABLE lora_export.conversations IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    client
}

/// Finding 4: zip downloads whose clients stopped reading (4 of them, on a
/// runtime of 2 blocking threads) leave the blocking pool free: another
/// user's download — local files are read on blocking threads — and history
/// still answer. (On a runtime whose blocking threads are all held, the
/// scenario panics nowhere: it times out, and the runtime is shut down
/// without waiting for them.)
#[test]
fn stalled_zip_readers_hold_no_blocking_thread() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let answered = runtime.block_on(async {
        let (service, _) = service_from(&[], true).await;
        let (alice, bob, carol) =
            (user(&service).await, user(&service).await, user(&service).await);
        let carols = service.create_export(carol, &body("all", "csv")).await.unwrap().export_id();
        let exports = [dataset_export(&service, alice).await, dataset_export(&service, bob).await];
        tokio::time::timeout(Duration::from_secs(20), async {
            let mut stalled = Vec::new();
            for (owner, export) in [alice, bob].into_iter().zip(exports) {
                for _ in 0..2 {
                    let Ok(mut zip) = service.open_download(owner, export).await else {
                        return None;
                    };
                    let mut first = [0u8; 4];
                    zip.file.read_exact(&mut first).await.ok()?;
                    stalled.push(zip);
                }
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            let history = service.history(carol, &HistoryQuery::default()).await.ok()?;
            let mut download = service.open_download(carol, carols).await.ok()?.file;
            let mut bytes = Vec::new();
            download.read_to_end(&mut bytes).await.ok()?;
            drop(stalled);
            Some((history.total, bytes.len()))
        })
        .await
    });
    runtime.shutdown_timeout(Duration::from_secs(2));
    let answered = answered.expect("another user's history and download answer while zips stall");
    let (history, bytes) = answered.expect("every call succeeds");
    assert_eq!(history, 1);
    assert!(bytes > 0);
}

/// Finding 4: a download whose client has not read for the idle timeout is
/// closed (its next read fails) and no longer counts against its user.
#[tokio::test(flavor = "multi_thread")]
async fn an_idle_download_is_closed_and_frees_its_slot() {
    let env =
        [("LORA_EXPORT_DOWNLOAD_IDLE_TIMEOUT_SECS", "1"), ("LORA_EXPORT_DOWNLOADS_PER_USER", "1")];
    let (service, _) = service_from(&env, true).await;
    let alice = user(&service).await;
    let export = dataset_export(&service, alice).await;
    let mut idle = started(&service, alice, export).await;
    let second = service.open_download(alice, export).await.map(|_| ());
    assert_rate_limited(&second.unwrap_err());
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let mut rest = Vec::new();
    let read = idle.file.read_to_end(&mut rest).await;
    let error = read.expect_err("an idle download is closed");
    assert_eq!(error.kind(), std::io::ErrorKind::TimedOut, "{error}");
    let again = service.open_download(alice, export).await.unwrap();
    let zip = read_all(again.file).await;
    assert!(zip::ZipArchive::new(std::io::Cursor::new(zip)).is_ok(), "a whole zip");
}

/// Finding 4: at most `downloads_per_user` (default 4) downloads of one
/// user stream at once; the next answers 429 with `retry_after`, another
/// user's download does not wait, and a finished one frees its slot.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_downloads_are_capped_per_user() {
    let (service, _) = service_from(&[], true).await;
    let (alice, bob) = (user(&service).await, user(&service).await);
    let (alices, bobs) =
        (dataset_export(&service, alice).await, dataset_export(&service, bob).await);
    let mut open = Vec::new();
    for _ in 0..4 {
        open.push(started(&service, alice, alices).await);
    }
    assert_rate_limited(&service.open_download(alice, alices).await.unwrap_err());
    let head = lora_export::pg::DownloadRequest::new().head();
    let answer = service.download(alice, alices, &head).await;
    assert!(answer.is_ok(), "a HEAD streams nothing and is not capped");
    let bobs_zip = service.open_download(bob, bobs).await.unwrap();
    assert!(!read_all(bobs_zip.file).await.is_empty());
    drop(open.pop());
    let freed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match service.open_download(alice, alices).await {
                Ok(download) => break download,
                Err(e) => assert_rate_limited(&e),
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("a dropped download frees its slot");
    assert!(!read_all(freed.file).await.is_empty());
}

/// Finding 5: 40 parallel counts by one user while the conversations are
/// slow to read: at most `interactive_concurrency` (default 2) run, the rest
/// answer 429 at once, and another user's history answers on a pool of 6.
#[tokio::test(flavor = "multi_thread")]
async fn parallel_costly_reads_of_one_user_leave_the_pool_to_others() {
    let env = [("LORA_EXPORT_POOL_SIZE", "6"), ("LORA_EXPORT_POOL_WAIT_TIMEOUT_MS", "2000")];
    let (service, url) = service_from(&env, false).await;
    let (mallory, bob) = (user(&service).await, user(&service).await);
    let search = json!({ "filters": { "searchQuery": "refund" } });
    let lock = lock_conversations(&url).await;
    let counts: Vec<_> = (0..40)
        .map(|_| {
            let (service, search) = (service.clone(), search.clone());
            tokio::spawn(async move { service.count_scopes(mallory, &search).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let history = tokio::time::timeout(
        Duration::from_secs(5),
        service.history(bob, &HistoryQuery::default()),
    )
    .await
    .expect("another user's history answers within 5 s");
    assert_eq!(history.unwrap().total, 0, "another user's history answers");
    let bobs = {
        let service = service.clone();
        tokio::spawn(async move { service.count_scopes(bob, &json!({})).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(lock);
    let (mut counted, mut refused) = (0, 0);
    for count in counts {
        match count.await.unwrap() {
            Ok(_) => counted += 1,
            Err(e) => {
                assert_rate_limited(&e);
                refused += 1;
            }
        }
    }
    assert_eq!((counted, refused), (2, 38), "two run at once, the rest are refused");
    assert_eq!(bobs.await.unwrap().unwrap().all_data, 46, "another user's count is not refused");
}

/// Finding 5: the modal's reads share a per-user rate bucket beside the
/// export limit (`LORA_EXPORT_INTERACTIVE_RATE_LIMIT` per minute); the next
/// answers 429 with `retry_after`, another user's do not.
#[tokio::test(flavor = "multi_thread")]
async fn costly_reads_take_part_in_a_per_user_rate_limit() {
    let (service, _) = service_from(&[("LORA_EXPORT_INTERACTIVE_RATE_LIMIT", "3")], false).await;
    let (mallory, bob) = (user(&service).await, user(&service).await);
    let search = json!({ "filters": { "searchQuery": "refund" } });
    service.count_scopes(mallory, &search).await.unwrap();
    service.list_conversations(mallory, &search).await.unwrap();
    service.preview_export(mallory, &small_body("jsonl"), 1).await.unwrap();
    assert_rate_limited(&service.count_scopes(mallory, &search).await.unwrap_err());
    assert_rate_limited(&service.list_conversations(mallory, &search).await.unwrap_err());
    assert!(service.count_scopes(bob, &search).await.is_ok(), "another user's count answers");
}

/// Finding 5: the modal's reads run under a shorter statement timeout
/// (`LORA_EXPORT_INTERACTIVE_STATEMENT_TIMEOUT_MS`) and a timeout answers a
/// clear 503 with `retry_after`, no internal error.
#[tokio::test(flavor = "multi_thread")]
async fn a_costly_read_times_out_early_with_a_clear_error() {
    let env = [("LORA_EXPORT_INTERACTIVE_STATEMENT_TIMEOUT_MS", "300")];
    let (service, url) = service_from(&env, false).await;
    let mallory = user(&service).await;
    let lock = lock_conversations(&url).await;
    let search = json!({ "filters": { "searchQuery": "refund" } });
    let answer =
        tokio::time::timeout(Duration::from_secs(5), service.count_scopes(mallory, &search))
            .await
            .expect("an interactive read stops at its own statement timeout")
            .unwrap_err();
    assert_eq!((answer.code(), answer.http_status()), ("SERVICE_UNAVAILABLE", 503), "{answer}");
    assert!(answer.error_id().is_none() && answer.retry_after_secs().is_some(), "{answer}");
    assert!(answer.to_string().contains("time limit"), "{answer}");
    drop(lock);
}

/// Finding 5: a search term has at least 3 and at most 200 characters
/// (blank still means no search); the 400 names `filters.searchQuery`.
#[tokio::test(flavor = "multi_thread")]
async fn a_search_term_is_bounded() {
    let (service, _) = service_from(&[], false).await;
    let mallory = user(&service).await;
    let search = |text: &str| -> Value { json!({ "filters": { "searchQuery": text } }) };
    for (text, code) in [("ab", "too_short"), (&"x".repeat(201)[..], "too_long")] {
        let error = service.count_scopes(mallory, &search(text)).await.unwrap_err();
        let issues: Vec<(&str, &str)> =
            error.issues().iter().map(|i| (i.path.as_str(), i.code.as_str())).collect();
        assert_eq!(issues, [("filters.searchQuery", code)], "{text:?}");
        let error = service.list_conversations(mallory, &search(text)).await.unwrap_err();
        assert_eq!(error.http_status(), 400);
    }
    assert!(service.count_scopes(mallory, &search("Ärg")).await.is_ok());
    assert_eq!(service.count_scopes(mallory, &search("  ")).await.unwrap().filtered, 46);
    assert!(service.count_scopes(mallory, &search(&"é".repeat(200))).await.is_ok());
}
