//! `exportDataset`: the core's dataset export (splits, dedupe, shards,
//! compression and a dataset card in a directory), off the JavaScript thread.

use lora_export::dataset::{DatasetOptions, DatasetSummary};
use lora_export::source::JsonlSource;
use napi::bindgen_prelude::{AsyncBlock, Buffer, Either, Unknown};
use napi::Env;
use napi_derive::napi;

use crate::client::options_of;
use crate::modal::body_of;
use crate::pure::{array_of, records_of, request_of, stringify};
use crate::reply::{blocking, spawn, Json, Reply};

/// Exports `conversations` (an array of conversation objects, or a `Buffer`
/// of canonical JSONL) with `config` (an `ExportConfig` or a whole request)
/// as a Hugging Face dataset directory `dir` (created; it must be empty):
/// each split's shards (`train-00000-of-00002.jsonl.zst`) and a `README.md`
/// card that `datasets.load_dataset(dir)` reads. A conversation's split is
/// decided by a seeded hash of its id alone. Resolves with each split's
/// exact count and files (name, conversations, bytes and SHA-256 of the
/// stored bytes) and the export summary. `options` are a request's
/// `dataset` settings (`split`, `seed`, `dedupe`, `maxRecordsPerShard`,
/// `maxBytesPerShard`, `compression`); an unknown key is a `CONFIG_ERROR`.
#[napi(
    ts_args_type = "conversations: ConversationInput[] | Buffer, dir: string, config: ExportConfig | ExportRequest, options?: DatasetOptions",
    ts_return_type = "Promise<DatasetSummary>"
)]
pub fn export_dataset(
    env: &Env,
    conversations: Either<Buffer, Unknown<'_>>,
    dir: String,
    config: Unknown<'_>,
    options: Option<Unknown<'_>>,
) -> napi::Result<AsyncBlock<Reply<Json<DatasetSummary>>>> {
    let config = body_of(Some(config));
    let options = options_of::<DatasetOptions>("exportDataset options", options);
    let input = match conversations {
        Either::A(buffer) => Either::A(buffer),
        Either::B(objects) => Either::B(stringify(env, objects)?),
    };
    spawn(env, async move {
        let builder = options?.builder(request_of(config?)?)?;
        blocking(move || {
            let reading = builder.reading();
            let summary = match input {
                Either::A(bytes) => {
                    builder.export(JsonlSource::with_reading(&bytes[..], reading), &dir)?
                }
                Either::B(text) => builder.export(records_of(array_of(&text)?, reading), &dir)?,
            };
            Ok(Json(summary))
        })
        .await
    })
}
