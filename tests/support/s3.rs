//! The S3-compatible server `scripts/s3.sh` starts (s3s-fs on 127.0.0.1):
//! a store under a fresh prefix for each test, and what the bucket holds,
//! read through the S3 API.
#![allow(dead_code)]

use std::path::PathBuf;

use futures_util::TryStreamExt;
use lora_export::pg::{ObjectStoreSettings, ServiceConfig};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::ObjectStore;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: start the S3 server with `eval \"$(bash scripts/s3.sh start DIR)\"`")
    })
}

/// The server's settings, as a deployment's `AWS_*` variables would give them.
pub fn settings() -> ObjectStoreSettings {
    ObjectStoreSettings {
        endpoint: Some(env("LORA_EXPORT_TEST_S3_ENDPOINT")),
        access_key_id: Some(env("LORA_EXPORT_TEST_S3_ACCESS_KEY")),
        secret_access_key: Some(env("LORA_EXPORT_TEST_S3_SECRET_KEY").into()),
        allow_http: true,
        ..ObjectStoreSettings::default()
    }
}

/// Points `config` at a fresh prefix of the test bucket; returns the prefix.
pub fn use_bucket(config: &mut ServiceConfig) -> String {
    // Short: s3s-fs's bookkeeping file names hold base64 of the whole key.
    let prefix = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..6]);
    config.storage_url = Some(format!("s3://{}/{prefix}", env("LORA_EXPORT_TEST_S3_BUCKET")));
    config.object_store = settings();
    prefix
}

/// A client of the bucket, for the tests' own looks.
pub fn bucket() -> AmazonS3 {
    let s = settings();
    AmazonS3Builder::new()
        .with_bucket_name(env("LORA_EXPORT_TEST_S3_BUCKET"))
        .with_endpoint(s.endpoint.unwrap())
        .with_access_key_id(s.access_key_id.unwrap())
        .with_secret_access_key(s.secret_access_key.unwrap().expose())
        .with_region(s.region)
        .with_allow_http(true)
        .build()
        .unwrap()
}

/// Every object under `prefix`, sorted.
pub async fn objects(prefix: &str) -> Vec<String> {
    let store = bucket();
    let listed: Vec<_> =
        store.list(Some(&Path::from(prefix))).try_collect().await.expect("list the bucket");
    let mut names: Vec<String> = listed.into_iter().map(|m| m.location.to_string()).collect();
    names.sort();
    names
}

/// An object's bytes.
pub async fn object(name: &str) -> Vec<u8> {
    let got = bucket().get(&Path::from(name)).await.expect("get the object");
    got.bytes().await.unwrap().to_vec()
}

/// The keys under `prefix` with a multipart upload the server holds open:
/// S3's ListMultipartUploads is not in object_store's API, so this reads
/// s3s-fs's own bookkeeping, one
/// `.bucket-<b64>.object-<b64 key>.upload-<id>.metadata.json` per open upload.
pub fn open_uploads(prefix: &str) -> Vec<String> {
    use base64::Engine;
    let root = PathBuf::from(env("LORA_EXPORT_TEST_S3_ROOT"));
    let mut open = Vec::new();
    for entry in std::fs::read_dir(root).expect("the server's data folder") {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(".bucket-") else { continue };
        let Some((_, rest)) = rest.split_once(".object-") else { continue };
        let Some((key, _)) = rest.split_once(".upload-") else { continue };
        let key = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(key).unwrap();
        let key = String::from_utf8(key).unwrap();
        if key.starts_with(prefix) {
            open.push(key);
        }
    }
    open
}
