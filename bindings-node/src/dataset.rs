//! `exportDataset`: the core's dataset export (splits, dedupe, shards,
//! compression and a dataset card in a directory), off the JavaScript thread.

use lora_export::dataset::{Compression, DatasetBuilder, DatasetSummary, SplitSpec};
use lora_export::source::JsonlSource;
use napi::bindgen_prelude::{AsyncBlock, Buffer, Either, Unknown};
use napi::Env;
use napi_derive::napi;
use serde::Deserialize;
use serde_json::Value;

use crate::client::options_of;
use crate::pure::{array_of, records_of, request_of, stringify};
use crate::reply::{blocking, spawn, Failure, Json, Reply};

/// Settings of `exportDataset`; an unknown key is a `CONFIG_ERROR`.
#[napi(object)]
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DatasetOptions {
    /// Parts and shares in order, `"train=0.9,validation=0.1"` (default: all
    /// in `train`); a string, because the order decides the assignment.
    pub split: Option<String>,
    /// The seed of the split's hash (default 0).
    pub seed: Option<u32>,
    /// Leave out repeated ids and repeated turns (listed as skipped).
    pub dedupe: Option<bool>,
    /// At most this many conversations per shard.
    pub shard_records: Option<u32>,
    /// A new shard after this many bytes of data (at least 1024).
    pub shard_bytes: Option<u32>,
    /// `gzip` or `zstd`.
    pub compression: Option<String>,
}

/// Exports `conversations` (an array of conversation objects, or a `Buffer`
/// of canonical JSONL) with `config` (an `ExportConfig` or a whole request)
/// as a Hugging Face dataset directory `dir` (created; it must be empty):
/// each split's shards (`train-00000-of-00002.jsonl.zst`) and a `README.md`
/// card that `datasets.load_dataset(dir)` reads. A conversation's split is
/// decided by a seeded hash of its id alone. Resolves with each split's
/// exact count and files (name, conversations, bytes and SHA-256 of the
/// stored bytes) and the export summary.
#[napi(
    ts_args_type = "conversations: ConversationInput[] | Buffer, dir: string, config: ExportConfig | ExportRequest, options?: DatasetOptions",
    ts_return_type = "Promise<DatasetSummary>"
)]
pub fn export_dataset(
    env: &Env,
    conversations: Either<Buffer, Unknown<'_>>,
    dir: String,
    config: Value,
    options: Option<Unknown<'_>>,
) -> napi::Result<AsyncBlock<Reply<Json<DatasetSummary>>>> {
    let options = options_of::<DatasetOptions>(env, "exportDataset options", options);
    let input = match conversations {
        Either::A(buffer) => Either::A(buffer),
        Either::B(objects) => Either::B(stringify(env, objects)?),
    };
    spawn(env, async move {
        let builder = dataset_builder(request_of(config)?, options?)?;
        blocking(move || {
            let summary = match input {
                Either::A(bytes) => builder.export(JsonlSource::new(&bytes[..]), &dir)?,
                Either::B(text) => builder.export(records_of(array_of(&text)?), &dir)?,
            };
            Ok(Json(summary))
        })
        .await
    })
}

fn dataset_builder(
    request: lora_export::model::ExportRequest,
    options: DatasetOptions,
) -> Result<DatasetBuilder, Failure> {
    let mut builder = DatasetBuilder::new(request)
        .seed(options.seed.unwrap_or(0).into())
        .dedupe(options.dedupe.unwrap_or(false));
    if let Some(split) = options.split {
        builder = builder.split(SplitSpec::parse(&split)?);
    }
    if let Some(n) = options.shard_records {
        builder = builder.max_records_per_shard(n.into());
    }
    if let Some(n) = options.shard_bytes {
        builder = builder.max_bytes_per_shard(n.into());
    }
    if let Some(name) = options.compression {
        builder = builder.compression(Compression::parse(&name)?);
    }
    Ok(builder)
}
