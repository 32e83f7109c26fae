//! `exportDataset`: the core's dataset export (splits, dedupe, shards,
//! compression and a dataset card in a directory), off the JavaScript
//! thread — of one input, or of an object of the user's own splits — with a
//! `progress` callback that can slow the export down or stop it, never
//! crash the process.

use std::sync::Arc;

use lora_export::dataset::{check_split_names, DatasetOptions, DatasetSummary, DatasetWriter};
use lora_export::source::{JsonlSource, Record};
use lora_export::{ErrorKind, Issue};
use napi::bindgen_prelude::{
    AsyncBlock, Buffer, FnArgs, FromNapiValue, Function, JsObjectValue, Object, Promise, Unknown,
};
use napi::threadsafe_function::{
    ThreadsafeFunction, ThreadsafeFunctionCallMode, UnknownReturnValue,
};
use napi::{sys, Env, JsValue, Status, ValueType};
use napi_derive::napi;

use crate::client::options_of;
use crate::modal::body_of;
use crate::pure::{array_of, records_of, request_of, stringify};
use crate::reply::{blocking, spawn, Failure, Json, Reply};

/// Records pushed between two calls of `progress` (as Python's batches).
const PROGRESS_BATCH: usize = 1024;

/// Exports `conversations` (an array of conversation objects, a `Buffer`
/// of canonical JSONL, or an object of the user's own splits mapping each
/// split's name to one of those) with `config` (an `ExportConfig` or a
/// whole request) as a Hugging Face dataset directory `dir` (created; it
/// must be empty unless `overwrite`): each split's shards
/// (`train-00000-of-00002.jsonl.zst`) and a `README.md` card that
/// `datasets.load_dataset(dir)` reads. A conversation's split is decided by
/// a seeded hash of its id alone — or, with an object of splits, is the one
/// it was given (names checked as file names; `split` with it is a
/// `CONFIG_ERROR`; a conversation repeating one of an earlier split is a
/// leak, counted and warned). Resolves with each split's exact count,
/// skipped records, leaks and files (name, conversations, bytes and
/// SHA-256 of the stored bytes) and the export summary. `options` are a
/// request's `dataset` settings (`split`, `seed`, `dedupe`,
/// `maxRecordsPerShard`, `maxBytesPerShard`, `compression`, `overwrite`, …)
/// and `progress(done, total)`; an unknown key is a `CONFIG_ERROR`.
#[napi(
    ts_args_type = "conversations: ConversationInput[] | Buffer | Record<string, ConversationInput[] | Buffer>, dir: string, config: ExportConfig | ExportRequest, options?: ExportDatasetOptions",
    ts_return_type = "Promise<DatasetSummary>"
)]
pub fn export_dataset(
    env: &Env,
    conversations: Unknown<'_>,
    dir: String,
    config: Unknown<'_>,
    options: Option<Unknown<'_>>,
) -> napi::Result<AsyncBlock<Reply<Json<DatasetSummary>>>> {
    let config = body_of(Some(config));
    let input = input_of(env, conversations);
    let options = progress_of(env, options).and_then(|(options, progress)| {
        Ok((options_of::<DatasetOptions>("exportDataset options", options)?, progress))
    });
    spawn(env, async move {
        let input = input?;
        let (options, progress) = options?;
        let mut builder = options.builder(request_of(config?)?)?;
        if let Input::Splits(splits) = &input {
            builder = builder.given_splits(splits.iter().map(|(name, _)| name.as_str()));
        }
        let runtime = tokio::runtime::Handle::current();
        blocking(move || {
            let reading = builder.reading();
            let mut writer = builder.to_directory(&dir)?;
            let inputs: Vec<(Option<String>, Rows)> = match input {
                Input::One(rows) => vec![(None, rows.parse()?)],
                Input::Splits(splits) => splits
                    .into_iter()
                    .map(|(name, rows)| Ok((Some(name), rows.parse()?)))
                    .collect::<Result<_, Failure>>()?,
            };
            let total = inputs.iter().try_fold(0, |sum, (_, rows)| Some(sum + rows.len()?));
            let progress = progress.map(|callback| Progress { callback, runtime, total });
            let mut done = 0;
            for (name, rows) in inputs {
                if let Some(name) = name {
                    writer.start_split(&name)?;
                }
                match rows {
                    Rows::Jsonl(bytes) => {
                        let source = JsonlSource::with_reading(&bytes[..], Arc::clone(&reading));
                        pump(&mut writer, source, &mut done, &progress)?
                    }
                    Rows::Parsed(values) => {
                        let records = records_of(values, Arc::clone(&reading));
                        pump(&mut writer, records, &mut done, &progress)?
                    }
                }
            }
            Ok(Json(writer.finish()?))
        })
        .await
    })
}

/// Pushes `records` into `writer`, calling `progress` after each
/// [`PROGRESS_BATCH`].
fn pump(
    writer: &mut DatasetWriter,
    records: impl Iterator<Item = Record>,
    done: &mut u64,
    progress: &Option<Progress>,
) -> Result<(), Failure> {
    let mut records = records.peekable();
    while records.peek().is_some() {
        let batch: Vec<Record> = records.by_ref().take(PROGRESS_BATCH).collect();
        *done += batch.len() as u64;
        writer.push_all(batch)?;
        if let Some(progress) = progress {
            progress.report(*done)?;
        }
    }
    Ok(())
}

/// What `conversations` is, read on the JavaScript thread.
enum Input {
    One(Given),
    /// The user's own splits, in the object's key order.
    Splits(Vec<(String, Given)>),
}

/// One input as received: JSONL bytes, or the JSON text of an array.
enum Given {
    Jsonl(Buffer),
    Array(String),
}

/// One input, ready to read.
enum Rows {
    Jsonl(Buffer),
    Parsed(Vec<serde_json::Value>),
}

impl Given {
    fn parse(self) -> Result<Rows, Failure> {
        Ok(match self {
            Given::Jsonl(bytes) => Rows::Jsonl(bytes),
            Given::Array(text) => Rows::Parsed(array_of(&text)?),
        })
    }
}

impl Rows {
    /// Its records when known (an array's length; not a JSONL buffer's).
    fn len(&self) -> Option<u64> {
        match self {
            Rows::Jsonl(_) => None,
            Rows::Parsed(values) => Some(values.len() as u64),
        }
    }
}

/// `conversations` as an [`Input`]: a `Buffer`, an array, or an object of
/// splits whose values are each a `Buffer` or an array (its names are
/// checked before any value is read).
fn input_of(env: &Env, value: Unknown<'_>) -> Result<Input, Failure> {
    if value.is_buffer().map_err(js)? || value.is_array().map_err(js)? {
        return Ok(Input::One(given_of(env, value)?.ok_or_else(not_rows)?));
    }
    if value.get_type().map_err(js)? != ValueType::Object {
        return Err(not_rows());
    }
    // SAFETY: the value's type was just read from `get_type`.
    let object: Object = unsafe { value.cast() }.map_err(js)?;
    let keys = object.get_property_names().map_err(js)?;
    let names = (0..keys.get_array_length().map_err(js)?)
        .map(|i| keys.get_element::<String>(i).map_err(js))
        .collect::<Result<Vec<_>, _>>()?;
    check_split_names(&names.iter().map(String::as_str).collect::<Vec<_>>())?;
    let mut splits = Vec::new();
    for name in names {
        let value: Unknown = object.get_named_property(&name).map_err(js)?;
        let Some(given) = given_of(env, value)? else {
            let message = format!(
                "split {name:?}: an array of conversations or a Buffer of JSONL is expected"
            );
            let issue = Issue::new("conversations", "invalid_type", message);
            return Err(ErrorKind::InvalidRequest(vec![issue]).into());
        };
        splits.push((name, given));
    }
    Ok(Input::Splits(splits))
}

/// A `Buffer` or an array as a [`Given`], else `None`.
fn given_of(env: &Env, value: Unknown<'_>) -> Result<Option<Given>, Failure> {
    if value.is_buffer().map_err(js)? {
        // SAFETY: `is_buffer` just said so.
        let buffer = unsafe { Buffer::from_napi_value(env.raw(), value.raw()) }.map_err(js)?;
        return Ok(Some(Given::Jsonl(buffer)));
    }
    if value.is_array().map_err(js)? {
        return Ok(Some(Given::Array(stringify(env, value).map_err(js)?)));
    }
    Ok(None)
}

fn not_rows() -> Failure {
    let message = "conversations must be an array of objects, a Buffer of JSONL, or an object \
                   of splits mapping names to those";
    ErrorKind::InvalidRequest(vec![Issue::new("conversations", "invalid_type", message)]).into()
}

/// `progress(done, total)`: the function, called from the export's thread.
type Callback = ThreadsafeFunction<
    FnArgs<(f64, Option<f64>)>,
    Returned,
    FnArgs<(f64, Option<f64>)>,
    Status,
    false,
>;

/// Splits `options` into its `progress` function and a copy of the rest,
/// which [`options_of`] reads as plain data. A `progress` that is neither a
/// function nor `null`/`undefined` is a `CONFIG_ERROR`.
fn progress_of<'env>(
    env: &'env Env,
    options: Option<Unknown<'env>>,
) -> Result<(Option<Unknown<'env>>, Option<Callback>), Failure> {
    let Some(options) = options else { return Ok((None, None)) };
    if options.get_type().map_err(js)? != ValueType::Object {
        return Ok((Some(options), None));
    }
    // SAFETY: the value's type was just read from `get_type`.
    let object: Object = unsafe { options.cast() }.map_err(js)?;
    let mut rest = Object::new(env).map_err(js)?;
    let mut progress = None;
    let names = object.get_property_names().map_err(js)?;
    for i in 0..names.get_array_length().map_err(js)? {
        let name: String = names.get_element(i).map_err(js)?;
        let value: Unknown = object.get_named_property(&name).map_err(js)?;
        if name != "progress" {
            rest.set_named_property(&name, value).map_err(js)?;
            continue;
        }
        match value.get_type().map_err(js)? {
            ValueType::Undefined | ValueType::Null => {}
            ValueType::Function => {
                // SAFETY: the value's type was just read from `get_type`.
                let function: Function<'_, FnArgs<(f64, Option<f64>)>, Returned> =
                    unsafe { value.cast() }.map_err(js)?;
                progress = Some(function.build_threadsafe_function().build().map_err(js)?);
            }
            _ => {
                let message =
                    "exportDataset options at `progress`: a function (done, total) is expected";
                return Err(ErrorKind::Config(message.into()).into());
            }
        }
    }
    Ok((Some(rest.to_unknown()), progress))
}

/// What `progress` returned: nothing to wait for, or a promise, which the
/// export awaits (so an async callback paces it, and its rejection is the
/// export's, never an unhandled rejection).
struct Returned(Option<Promise<UnknownReturnValue>>);

impl FromNapiValue for Returned {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        let mut is_promise = false;
        // SAFETY: napi hands a live `env` and `value` of the current call.
        let status = unsafe { sys::napi_is_promise(env, value, &mut is_promise) };
        if status != sys::Status::napi_ok || !is_promise {
            return Ok(Returned(None));
        }
        // SAFETY: `value` is a promise of the live `env`.
        Ok(Returned(Some(unsafe { Promise::from_napi_value(env, value) }?)))
    }
}

/// The `progress` callback of an export in progress.
struct Progress {
    callback: Callback,
    runtime: tokio::runtime::Handle,
    total: Option<u64>,
}

/// What became of one call of `progress`.
enum Called {
    Returned(Returned),
    Threw(napi::Error),
}

impl Progress {
    /// Calls `progress(done, total)` on the JavaScript thread and waits for
    /// it to return (and for a promise it returns to settle). What it
    /// throws (or its promise rejects with) stops the export: the promise
    /// of `exportDataset` rejects with that very value, and no file is left.
    fn report(&self, done: u64) -> Result<(), Failure> {
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        let args = FnArgs::from((done as f64, self.total.map(|t| t as f64)));
        let status = self.callback.call_with_return_value(
            args,
            ThreadsafeFunctionCallMode::Blocking,
            move |returned, _env| {
                let called = match returned {
                    Ok(returned) => Called::Returned(returned),
                    Err(thrown) => Called::Threw(thrown),
                };
                let _ = sender.send(called);
                Ok(())
            },
        );
        let called = match status {
            Status::Ok => receiver.recv().map_err(|_| gone())?,
            _ => return Err(gone()),
        };
        match called {
            Called::Returned(Returned(None)) => Ok(()),
            Called::Returned(Returned(Some(promise))) => {
                self.runtime.block_on(promise).map(drop).map_err(Failure::Thrown)
            }
            Called::Threw(thrown) => Err(Failure::Thrown(thrown)),
        }
    }
}

/// The callback could not be called: Node is shutting down.
fn gone() -> Failure {
    ErrorKind::Config("exportDataset: the progress callback is gone (Node is exiting)".into())
        .into()
}

fn js(e: napi::Error) -> Failure {
    ErrorKind::Config(format!("exportDataset: {}", e.reason)).into()
}
