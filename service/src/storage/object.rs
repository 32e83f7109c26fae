//! [`ObjectStorage`]: export files in an S3-compatible bucket.

use lora_export_core::ErrorKind as CoreKind;
use std::collections::HashSet;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::multipart::MultipartStore;
use object_store::path::Path;
use object_store::signer::Signer;
use object_store::{GetOptions, GetRange, ObjectStore, PutPayload};
use serde::{Deserialize, Serialize};
use tokio_util::io::StreamReader;
use uuid::Uuid;

use super::upload::StagedUpload;
use super::StoredFile;
use super::{storage_error, FileKey, ObjectStoreSettings, StagedFile, Storage, StorageFuture};
use crate::Result;

/// Files as objects of a bucket, `<prefix>/<user_id>/<export_id>.<extension>`
/// (a dataset's under `<prefix>/<user_id>/<export_id>/`), on AWS S3 or any
/// S3-compatible server (Supabase Storage, Cloudflare R2, MinIO), through
/// the `object_store` crate.
///
/// A file is written as a multipart upload while the export runs (parts of
/// 8 MiB, at most two in flight: constant memory, no local copy) and exists
/// under its key only once the upload is completed on commit. Each upload
/// is recorded by a small marker object under `<prefix>/.staged/`, named
/// after its export (`<export_id>.<random>`), until it is completed or
/// aborted, so that [`sweep_staged`](Storage::sweep_staged) can abort the
/// uploads of a writer whose lease expired; a bucket lifecycle rule
/// (`AbortIncompleteMultipartUpload`) is a good backstop. Downloads are
/// ranged GETs, or presigned GET URLs ([`presign`](Storage::presign)).
///
/// ```
/// use lora_export_service::{ObjectStorage, ObjectStoreSettings};
/// let settings = ObjectStoreSettings {
///     endpoint: Some("http://127.0.0.1:9000".into()),
///     access_key_id: Some("key".into()),
///     secret_access_key: Some("secret".into()),
///     allow_http: true,
///     ..ObjectStoreSettings::default()
/// };
/// let storage = ObjectStorage::new("s3://exports/prod", &settings).unwrap();
/// assert_eq!(storage.bucket(), "exports");
/// assert_eq!(storage.prefix(), "prod");
/// assert!(ObjectStorage::new("s3://", &settings).is_err());
/// ```
#[derive(Clone)]
pub struct ObjectStorage {
    store: Arc<AmazonS3>,
    bucket: String,
    prefix: String,
}

/// What a marker under `.staged/` records: the upload to abort.
#[derive(Serialize, Deserialize)]
pub(super) struct Marker {
    pub path: String,
    pub upload_id: String,
}

impl ObjectStorage {
    /// The bucket and prefix of `url` (`s3://bucket` or `s3://bucket/prefix`),
    /// reached with `settings`. Credentials are required: a store that would
    /// fall back to instance metadata is refused at startup, not at the
    /// first export.
    pub fn new(url: &str, settings: &ObjectStoreSettings) -> Result<ObjectStorage> {
        let config = |message: String| -> crate::Error { CoreKind::Config(message).into() };
        let rest = url.strip_prefix("s3://").ok_or_else(|| {
            config(format!("LORA_EXPORT_STORAGE_URL: `{url}` is not s3://bucket/prefix"))
        })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = prefix.trim_matches('/');
        let valid_bucket = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.".contains(&b));
        if !valid_bucket {
            return Err(config(format!(
                "LORA_EXPORT_STORAGE_URL: `{bucket}` is not a bucket name (3-63 of a-z 0-9 . -)"
            )));
        }
        if Path::parse(prefix).is_err() || prefix.split('/').any(|p| p == "." || p == "..") {
            return Err(config(format!("LORA_EXPORT_STORAGE_URL: bad prefix `{prefix}`")));
        }
        let (Some(key_id), Some(secret)) = (&settings.access_key_id, &settings.secret_access_key)
        else {
            return Err(config(
                "s3:// storage needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".into(),
            ));
        };
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_region(&settings.region)
            .with_access_key_id(key_id)
            .with_secret_access_key(secret.expose())
            .with_allow_http(settings.allow_http)
            .with_virtual_hosted_style_request(settings.virtual_hosted_style);
        if let Some(endpoint) = &settings.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(token) = &settings.session_token {
            builder = builder.with_token(token.expose());
        }
        let store = builder.build().map_err(|e| config(format!("s3:// storage: {e}")))?;
        Ok(ObjectStorage {
            store: Arc::new(store),
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        })
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The prefix of every key (empty: the bucket's root).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The object of `key`: `<prefix>/<key>`.
    pub fn object_of(&self, key: &FileKey) -> String {
        self.under(key.as_str())
    }

    fn under(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{}/{name}", self.prefix)
        }
    }

    fn path_of(&self, key: &FileKey) -> Result<Path> {
        Path::parse(self.object_of(key)).map_err(|e| storage_error("object path", e))
    }
}

impl fmt::Debug for ObjectStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectStorage")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl Storage for ObjectStorage {
    fn stage(&self, key: &FileKey) -> Result<Box<dyn StagedFile>> {
        // The marker carries its export's id (its run's lease) in its name.
        let name = format!(".staged/{}.{}", key.export_id(), Uuid::new_v4().simple());
        let marker = Path::parse(self.under(&name)).map_err(|e| storage_error("marker path", e))?;
        let upload = StagedUpload::start(Arc::clone(&self.store), self.path_of(key)?, marker)?;
        Ok(Box::new(upload))
    }

    fn open<'a>(
        &'a self,
        key: &'a FileKey,
        range: Option<Range<u64>>,
    ) -> StorageFuture<'a, StoredFile> {
        Box::pin(async move {
            let path = self.path_of(key)?;
            // A zero-length range is no range at all (object_store refuses one).
            let ranged = range.clone().filter(|r| r.start < r.end);
            let options = GetOptions {
                range: ranged.clone().map(GetRange::Bounded),
                ..GetOptions::default()
            };
            let got = self
                .store
                .get_opts(&path, options)
                .await
                .map_err(|e| storage_error(&format!("GET {path}"), e))?;
            let size = got.meta.size;
            if let Some(r) = &range {
                if r.start > r.end || r.end > size {
                    return Err(storage_error(
                        &format!("GET {path}"),
                        format!("range {r:?} of {size} bytes"),
                    ));
                }
            }
            let stream = if range.is_some() && ranged.is_none() {
                futures_util::stream::empty().boxed()
            } else {
                got.into_stream()
            };
            let body = StreamReader::new(stream.map_err(std::io::Error::other));
            Ok(StoredFile { size, body: Box::pin(body) })
        })
    }

    fn delete<'a>(&'a self, key: &'a FileKey) -> StorageFuture<'a, bool> {
        Box::pin(async move {
            let path = self.path_of(key)?;
            let existed = match self.store.head(&path).await {
                Ok(_) => true,
                Err(object_store::Error::NotFound { .. }) => false,
                Err(e) => return Err(storage_error(&format!("HEAD {path}"), e)),
            };
            if existed {
                self.store
                    .delete(&path)
                    .await
                    .map_err(|e| storage_error(&format!("DELETE {path}"), e))?;
            }
            Ok(existed)
        })
    }

    fn exists<'a>(&'a self, key: &'a FileKey) -> StorageFuture<'a, bool> {
        Box::pin(async move {
            let path = self.path_of(key)?;
            match self.store.head(&path).await {
                Ok(_) => Ok(true),
                Err(object_store::Error::NotFound { .. }) => Ok(false),
                Err(e) => Err(storage_error(&format!("HEAD {path}"), e)),
            }
        })
    }

    fn sweep_staged<'a>(
        &'a self,
        untouched_since: SystemTime,
        live: &'a HashSet<Uuid>,
    ) -> StorageFuture<'a, u64> {
        Box::pin(async move {
            let folder =
                Path::parse(self.under(".staged")).map_err(|e| storage_error("marker path", e))?;
            let markers: Vec<_> = self
                .store
                .list(Some(&folder))
                .try_collect()
                .await
                .map_err(|e| storage_error("list staged uploads", e))?;
            let cutoff = chrono::DateTime::<chrono::Utc>::from(untouched_since);
            // `.staged/<export_id>.<random>`; an earlier version's
            // `.staged/<random>` names no export and goes by its age.
            let export_of = |marker: &Path| {
                let name = marker.filename()?;
                Uuid::try_parse(name.split_once('.')?.0).ok()
            };
            let stale = markers.into_iter().filter(|m| {
                m.last_modified <= cutoff
                    && !export_of(&m.location).is_some_and(|export| live.contains(&export))
            });
            let mut removed = 0;
            for meta in stale {
                let bytes = match self.store.get(&meta.location).await {
                    Ok(got) => got.bytes().await.map_err(|e| storage_error("read marker", e))?,
                    Err(object_store::Error::NotFound { .. }) => continue,
                    Err(e) => return Err(storage_error("read marker", e)),
                };
                if let Ok(marker) = serde_json::from_slice::<Marker>(&bytes) {
                    let path = Path::parse(&marker.path).map_err(|e| storage_error("marker", e))?;
                    match self.store.abort_multipart(&path, &marker.upload_id).await {
                        Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                        Err(e) => return Err(storage_error(&format!("abort upload of {path}"), e)),
                    }
                }
                self.store
                    .delete(&meta.location)
                    .await
                    .map_err(|e| storage_error("delete marker", e))?;
                removed += 1;
            }
            Ok(removed)
        })
    }

    fn presign<'a>(&'a self, key: &'a FileKey, ttl: Duration) -> StorageFuture<'a, Option<String>> {
        Box::pin(async move {
            let path = self.path_of(key)?;
            let url = self
                .store
                .signed_url(http::Method::GET, &path, ttl)
                .await
                .map_err(|e| storage_error(&format!("presign {path}"), e))?;
            Ok(Some(url.to_string()))
        })
    }
}

/// Puts a small object (a marker).
pub(super) async fn put_small(store: &AmazonS3, path: &Path, bytes: Vec<u8>) -> Result<()> {
    store
        .put(path, PutPayload::from(bytes))
        .await
        .map_err(|e| storage_error(&format!("PUT {path}"), e))?;
    Ok(())
}
