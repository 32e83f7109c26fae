//! The pure functions: request validation, in-memory transforms, preview,
//! output validation, file names. No database, no files.

use std::io::Write;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, Utc};
use lora_export::model::{ExportRequest, Format, JsonlFlavor};
use lora_export::request::validate_request;
use lora_export::source::{BackgroundJsonlSource, Reading, Record};
use lora_export::{audit, ErrorKind, ExportBuilder, ExportSummary, Issue, Location};
use napi::bindgen_prelude::JsObjectValue;
use napi::bindgen_prelude::{
    Array, AsyncBlock, Buffer, Either, Function, Object, ToNapiValue, Unknown,
};
use napi::{sys, Env, JsValue};
use napi_derive::napi;
use serde_json::{json, Value};

use crate::client::plain_value;
use crate::modal::body_of;
use crate::reply::{blocking, guarded, spawn, Failure, IntoJs, Json, Reply, ERROR_NAME};

/// Whether `value` is an error this package threw or rejected with (its
/// `name` is `LoraExportError`, and it has a string `code` and a numeric
/// `status`): the run-time check behind the `LoraExportError` type.
#[napi(ts_args_type = "value: unknown", ts_return_type = "value is LoraExportError")]
pub fn is_lora_export_error(value: Unknown<'_>) -> napi::Result<bool> {
    if value.get_type()? != napi::ValueType::Object {
        return Ok(false);
    }
    // SAFETY: the value was just checked to be an object.
    let object: Object = unsafe { value.cast()? };
    let name = object.get::<Unknown>("name")?;
    let code = object.get::<Unknown>("code")?;
    let status = object.get::<Unknown>("status")?;
    let is = |v: Option<Unknown>, t| v.and_then(|v| v.get_type().ok()) == Some(t);
    if !(is(name, napi::ValueType::String)
        && is(code, napi::ValueType::String)
        && is(status, napi::ValueType::Number))
    {
        return Ok(false);
    }
    Ok(object.get::<String>("name")?.as_deref() == Some(ERROR_NAME))
}

/// Checks an untrusted export request body (`{ config, conversationIds?,
/// filters? }`) exactly as the API does: `{ ok: true, request }` with every
/// default filled in, or `{ ok: false, issues }` listing every problem with
/// its path.
#[napi(ts_args_type = "body: unknown", ts_return_type = "ValidationResult")]
pub fn validate_export_request(body: Unknown<'_>) -> Reply<Json<Validated>> {
    guarded(|| {
        let checked = plain_value(body, "invalid_body")
            .map_err(|issue| vec![issue])
            .and_then(|body| validate_request(&body));
        Ok(Json(match checked {
            Ok(request) => Validated { ok: true, request: Some(request), issues: None },
            Err(issues) => Validated { ok: false, request: None, issues: Some(issues) },
        }))
    })
}

/// What [`validate_export_request`] answers: `{ ok, request }` or `{ ok, issues }`.
#[derive(serde::Serialize)]
pub struct Validated {
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    request: Option<ExportRequest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    issues: Option<Vec<Issue>>,
}

/// Options of [`transform`].
#[napi(object)]
pub struct TransformOptions {
    /// The export's date (RFC 3339, e.g. `2025-11-01T12:00:00Z`), written
    /// as the JSON format's `export_date`; default: now.
    pub export_date: Option<String>,
    /// Reject at the first malformed record instead of listing it in
    /// `summary.skipped` (default false).
    pub fail_on_malformed: Option<bool>,
    /// Write an empty export for an input with no conversation at all
    /// (default false: it is rejected with code `NO_CONVERSATIONS`).
    pub allow_empty: Option<bool>,
}

/// Exports a small in-memory set of conversations with `config` (an
/// `ExportConfig`, or a whole request `{ config, conversationIds?, filters?,
/// compression? }` to apply a selection or filters, or to compress).
/// `conversations` is an array of conversation objects, or a `Buffer` of
/// canonical JSONL (or of one JSON array). The work runs off the JavaScript
/// thread; the promise resolves with the file's bytes (gzip or zstd with
/// `compression`: `fileExtension`, `mimeType` and the summary's `bytes` and
/// `sha256` are then the compressed file's), the metadata sidecar of JSONL
/// flavors that forbid extra keys, and the export summary. Malformed
/// records are listed in `summary.skipped` with their line (Buffer) or
/// 1-based record number.
#[napi(
    ts_args_type = "conversations: ConversationInput[] | Buffer, config: ExportConfig | ExportRequest, options?: TransformOptions",
    ts_return_type = "Promise<TransformResult>"
)]
pub fn transform(
    env: &Env,
    conversations: Either<Buffer, Unknown<'_>>,
    config: Unknown<'_>,
    options: Option<TransformOptions>,
) -> napi::Result<AsyncBlock<Reply<Transformed>>> {
    let config = body_of(Some(config));
    let objects = match conversations {
        Either::A(bytes) => {
            return spawn(env, async move {
                let builder = builder(config?, options)?;
                blocking(move || export_bytes(builder, bytes)).await
            })
        }
        Either::B(objects) => objects,
    };
    if !objects.is_array()? {
        // `JSON.stringify` says what it is (an array only through `toJSON`).
        let values = array_of(&stringify(env, objects)?);
        return spawn(env, async move {
            let builder = builder(config?, options)?;
            let reading = builder.reading();
            blocking(move || export_records(builder, records_of(values?, reading), 0)).await
        });
    }
    // SAFETY: the value was just checked to be an array.
    let array: Array = unsafe { objects.cast()? };
    let (chunks, inbox) = std::sync::mpsc::sync_channel(LINES_IN_FLIGHT);
    let elements = array.len() as usize;
    let exported = spawn(env, async move {
        let builder = builder(config?, options)?;
        blocking(move || export_lines(builder, inbox, elements)).await
    })?;
    send_lines(env, &array, &chunks)?;
    Ok(exported)
}

/// Code units of JSONL per chunk handed from the JavaScript thread to the
/// export, and chunks in flight.
const LINES_CHUNK: usize = 1 << 20;
const LINES_IN_FLIGHT: usize = 4;

/// On the JavaScript thread: each element of `array` by V8's own
/// `JSON.stringify` (a `Date` becomes its ISO string, `undefined` fields are
/// left out), one per line, in chunks to the export, which parses and writes
/// the last chunk while this thread makes the next. One string per element,
/// so no input is too large for one JavaScript string. The text is copied
/// out as UTF-16, V8's own form (a copy, no encoding on this thread); the
/// export's thread turns it into UTF-8. Stops early when the export has
/// stopped (its answer says why).
fn send_lines(
    env: &Env,
    array: &Array,
    chunks: &std::sync::mpsc::SyncSender<Vec<u16>>,
) -> napi::Result<()> {
    let json: Object = env.get_global()?.get_named_property("JSON")?;
    let stringify: Function<Unknown<'_>, Unknown<'_>> = json.get_named_property("stringify")?;
    let mut chunk = Vec::with_capacity(LINES_CHUNK);
    for i in 0..array.len() {
        // A scope per element: the element's text dies young instead of
        // being held, with every text before it, until the call returns —
        // V8's scavenger copied each one to the old space, and every
        // scavenge walked all their handles.
        env.run_in_scope(|| {
            let element: Unknown = array.get_element(i)?;
            let text = stringify.call(element)?;
            if text.get_type()? == napi::ValueType::String {
                append_utf16(env, &text, &mut chunk)
            } else {
                // `JSON.stringify(undefined)` is undefined: the element is null.
                chunk.extend("null".encode_utf16());
                Ok(())
            }
        })?;
        chunk.push(u16::from(b'\n'));
        if chunk.len() >= LINES_CHUNK {
            let full = std::mem::replace(&mut chunk, Vec::with_capacity(LINES_CHUNK));
            if chunks.send(full).is_err() {
                return Ok(());
            }
        }
    }
    let _ = chunks.send(chunk);
    Ok(())
}

/// Appends the UTF-16 code units of the string `text` to `out`.
fn append_utf16(env: &Env, text: &Unknown<'_>, out: &mut Vec<u16>) -> napi::Result<()> {
    let status = |status: sys::napi_status| match status {
        sys::Status::napi_ok => Ok(()),
        other => Err(napi::Error::new(napi::Status::from(other), "cannot read a string")),
    };
    let mut len = 0;
    // SAFETY: `text` is a live string of this environment; a null buffer
    // asks for its length.
    status(unsafe {
        sys::napi_get_value_string_utf16(env.raw(), text.raw(), std::ptr::null_mut(), 0, &mut len)
    })?;
    out.reserve(len + 1);
    let mut written = 0;
    // SAFETY: `out` has room for `len` units and the terminating NUL napi
    // writes after them; `written` (≤ `len`) units are initialised after it.
    unsafe {
        let tail = out.as_mut_ptr().add(out.len());
        status(sys::napi_get_value_string_utf16(
            env.raw(),
            text.raw(),
            tail,
            len + 1,
            &mut written,
        ))?;
        out.set_len(out.len() + written);
    }
    Ok(())
}

/// Exports the lines [`send_lines`] sends, as they come: line `n` is the
/// array's element `n`, reported at its 1-based record number. They are
/// read and parsed on the core's background threads, below the event loop
/// as a Buffer's are, while this thread formats. The output
/// buffer is sized from the first chunk's lines, scaled to all `elements`
/// (an export is about as long as its input).
fn export_lines(
    builder: ExportBuilder,
    inbox: std::sync::mpsc::Receiver<Vec<u16>>,
    elements: usize,
) -> Result<Transformed, Failure> {
    let mut lines = Utf16Chunks { inbox, chunk: Vec::new(), at: 0 };
    let first = lines.next_chunk().then(|| {
        let in_chunk = lines.chunk.iter().filter(|&&b| b == b'\n').count().max(1);
        lines.chunk.len() / in_chunk * elements
    });
    let reading = builder.reading();
    let records =
        BackgroundJsonlSource::with_reading(lines, reading, below_the_event_loop).map(|record| {
            record.map_err(|mut skipped| {
                skipped.location = Location::record(skipped.location.line.unwrap_or_default());
                skipped
            })
        });
    export_records(builder, records, first.unwrap_or(0))
}

/// Reads the UTF-16 chunks of a channel in order, to its end, as UTF-8.
struct Utf16Chunks {
    inbox: std::sync::mpsc::Receiver<Vec<u16>>,
    chunk: Vec<u8>,
    at: usize,
}

impl Utf16Chunks {
    /// Takes the next chunk, as UTF-8; false at the end.
    fn next_chunk(&mut self) -> bool {
        let Ok(units) = self.inbox.recv() else { return false };
        // At most 3 bytes of UTF-8 per UTF-16 code unit.
        self.chunk.resize(units.len() * 3, 0);
        let n = encoding_rs::mem::convert_utf16_to_utf8(&units, &mut self.chunk);
        self.chunk.truncate(n);
        self.at = 0;
        true
    }
}

impl std::io::Read for Utf16Chunks {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.chunk.len() {
            if !self.next_chunk() {
                return Ok(0);
            }
        }
        let n = (self.chunk.len() - self.at).min(buf.len());
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// The JSON text of `value` by V8's own `JSON.stringify` (on the JavaScript
/// thread, and much faster than walking the objects through N-API): a
/// `Date` becomes its ISO string, `undefined` fields are left out.
pub(crate) fn stringify(env: &Env, value: Unknown<'_>) -> napi::Result<String> {
    let json: Object = env.get_global()?.get_named_property("JSON")?;
    let stringify: Function<Unknown<'_>, Option<String>> = json.get_named_property("stringify")?;
    Ok(stringify.call(value)?.unwrap_or_default())
}

fn not_an_array(e: &serde_json::Error) -> Failure {
    let message = format!("conversations must be an array of objects or a Buffer: {e}");
    ErrorKind::InvalidRequest(vec![Issue::new("conversations", "invalid_type", message)]).into()
}

/// The elements of a JSON array (what [`stringify`] made of an array).
pub(crate) fn array_of(text: &str) -> Result<Vec<Value>, Failure> {
    serde_json::from_str(text).map_err(|e| not_an_array(&e))
}

/// Renders the first `n` (default 3) of `conversations` exactly as an
/// export with `config` would (the export modal's preview). A malformed
/// conversation rejects with `MALFORMED_RECORD` and its record number.
#[napi(
    ts_args_type = "conversations: ConversationInput[], config: ExportConfig, n?: number",
    ts_return_type = "Promise<string>"
)]
pub fn preview(
    env: &Env,
    conversations: Unknown<'_>,
    config: Unknown<'_>,
    n: Option<u32>,
) -> napi::Result<AsyncBlock<Reply<String>>> {
    let config = body_of(Some(config));
    let text = stringify(env, conversations)?;
    spawn(env, async move {
        let request = request_of(config?)?;
        let reading = Arc::new(Reading::of(&request));
        let config = request.config;
        blocking(move || {
            let conversations = records_of(array_of(&text)?, reading)
                .map(|record| {
                    record.map_err(|s| ErrorKind::MalformedRecord {
                        location: s.location,
                        conversation_id: s.conversation_id,
                        reason: s.reason,
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(lora_export::preview(conversations, &config, n.unwrap_or(3) as usize)?)
        })
        .await
    })
}

/// Checks an exported file (`data`) against `format`'s rules (and, for
/// JSONL, `jsonlFlavor`'s, default `openai`), streaming; resolves with every
/// error and warning found, each with its location.
#[napi(
    ts_args_type = "format: ExportFormat, data: Buffer | string, jsonlFlavor?: JsonlFlavor",
    ts_return_type = "Promise<ValidationReport>"
)]
pub fn validate_output(
    env: &Env,
    format: String,
    data: Either<Buffer, String>,
    jsonl_flavor: Option<String>,
) -> napi::Result<AsyncBlock<Reply<Json<lora_export::validate::ValidationReport>>>> {
    let data = match data {
        Either::A(buffer) => buffer,
        Either::B(text) => Buffer::from(text.into_bytes()),
    };
    spawn(env, async move {
        let format = Format::parse(&format).ok_or(ErrorKind::UnknownFormat(format))?;
        let flavor = match jsonl_flavor {
            None => JsonlFlavor::default(),
            Some(name) => serde_json::from_value(Value::String(name.clone())).map_err(|_| {
                let message = format!(
                    "unknown JSONL flavor `{name}` ({})",
                    JsonlFlavor::ALL.map(JsonlFlavor::as_str).join(", ")
                );
                ErrorKind::InvalidRequest(vec![Issue::new("jsonlFlavor", "invalid_enum", message)])
            })?,
        };
        blocking(move || {
            Ok(Json(lora_export::validate::validate_output(format, flavor, &data[..])?))
        })
        .await
    })
}

/// The seeds' download file name
/// `training-data-{tier}-{YYYY-MM-DD}-{count}.{extension}`, with the tier
/// and extension reduced to safe characters. `date` is `YYYY-MM-DD` or an
/// RFC 3339 instant (its UTC date is used).
#[napi(catch_unwind, ts_return_type = "string")]
pub fn export_file_name(
    tier_label: String,
    date: String,
    count: u32,
    extension: String,
) -> Reply<String> {
    guarded(|| {
        let day = date
            .parse::<NaiveDate>()
            .ok()
            .or_else(|| date.parse::<DateTime<Utc>>().ok().map(|d| d.date_naive()))
            .ok_or_else(|| {
                let message = format!("`{date}` is neither YYYY-MM-DD nor an RFC 3339 instant");
                ErrorKind::InvalidRequest(vec![Issue::new("date", "invalid_date", message)])
            })?;
        Ok(audit::export_file_name(&tier_label, day, count.into(), &extension))
    })
}

/// A safe `Content-Disposition: attachment` value for `fileName` (an ASCII
/// `filename` and an RFC 5987 `filename*`).
#[napi(catch_unwind)]
pub fn content_disposition(file_name: String) -> String {
    audit::content_disposition(&file_name)
}

/// What the functions above were given to read.
/// A finished in-memory export: the file, the metadata sidecar and the
/// summary.
pub struct Transformed {
    data: Vec<u8>,
    metadata: Vec<u8>,
    summary: ExportSummary,
    file_extension: String,
    mime_type: &'static str,
}

impl IntoJs for Transformed {
    fn into_js(self, env: &Env) -> napi::Result<sys::napi_value> {
        let mut object = Object::new(env)?;
        object.set("data", Buffer::from(self.data))?;
        object.set("metadata", Buffer::from(self.metadata))?;
        object.set("summary", env.to_js_value(&self.summary)?)?;
        object.set("fileExtension", self.file_extension)?;
        object.set("mimeType", self.mime_type)?;
        // SAFETY: `env` is the live environment of the current call.
        unsafe { Object::to_napi_value(env.raw(), object) }
    }
}

/// The request `config` stands for: a whole request when it has a
/// `config` key, else an `ExportConfig` alone; validated by the core.
pub(crate) fn request_of(config: Value) -> Result<ExportRequest, Failure> {
    let body = if config.get("config").is_some() { config } else { json!({ "config": config }) };
    Ok(validate_request(&body).map_err(ErrorKind::InvalidRequest)?)
}

fn builder(config: Value, options: Option<TransformOptions>) -> Result<ExportBuilder, Failure> {
    let request = request_of(config)?;
    let options = options.unwrap_or(TransformOptions {
        export_date: None,
        fail_on_malformed: None,
        allow_empty: None,
    });
    let mut builder = ExportBuilder::new(request)
        .fail_on_malformed(options.fail_on_malformed.unwrap_or(false))
        .allow_empty(options.allow_empty.unwrap_or(false));
    if let Some(date) = options.export_date {
        let date = date.parse::<DateTime<Utc>>().map_err(|e| {
            let message = format!("`{date}` is not an RFC 3339 instant: {e}");
            ErrorKind::InvalidRequest(vec![Issue::new("exportDate", "invalid_date", message)])
        })?;
        builder = builder.export_date(date);
    }
    Ok(builder)
}

/// Conversation objects as records, numbered from 1, read by `reading`.
pub(crate) fn records_of(
    values: Vec<Value>,
    reading: Arc<Reading>,
) -> impl Iterator<Item = Record> {
    values.into_iter().zip(1..).map(move |(value, n)| reading.value(value, Location::record(n)))
}

/// Exports a byte buffer: canonical JSONL (parsed on threads of the core's
/// own while this one formats), or one JSON array when its first non-blank
/// character is `[`.
fn export_bytes(builder: ExportBuilder, bytes: Buffer) -> Result<Transformed, Failure> {
    let bom = if bytes.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
    let text = &bytes[bom..];
    if text.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        let values: Vec<Value> =
            serde_json::from_slice(text).map_err(|e| ErrorKind::MalformedRecord {
                location: Location::line(e.line() as u64),
                conversation_id: None,
                reason: format!("not a valid JSON array of conversations: {e}"),
            })?;
        let reading = builder.reading();
        return export_records(builder, records_of(values, reading), bytes.len());
    }
    let capacity = bytes.len();
    let mut reader = std::io::Cursor::new(bytes);
    reader.set_position(bom as u64);
    let reading = builder.reading();
    let source = BackgroundJsonlSource::with_reading(reader, reading, below_the_event_loop);
    export_records(builder, source, capacity)
}

/// How much lower than the JavaScript thread the parsing threads run
/// (a nice value): 10 weighs them at a tenth of a normal thread.
const PARSER_NICENESS: i32 = 10;

/// Lowers the calling thread's scheduling priority by [`PARSER_NICENESS`]
/// (on Linux a nice value is per thread). The core parses a Buffer on
/// three threads of its own beside the one that formats, so on a machine
/// with fewer cores than busy threads the JavaScript thread queued behind
/// them each time its timer woke it: with two cores, exporting 100,000
/// conversations, its 99th-percentile delay was 3.7–4.6 ms and the worst
/// 6–14 ms; below them, 2.3–3.1 ms and 4–8 ms, and the export takes as long.
/// Elsewhere a no-op (`setpriority` there would lower the whole process).
fn below_the_event_loop() {
    #[cfg(target_os = "linux")]
    // SAFETY: `setpriority` reads its integer arguments only; `0` is the
    // calling thread. Raising one's own nice value needs no privilege, and
    // a failure leaves the priority as it was, which is harmless.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, PARSER_NICENESS);
    }
}

/// A writer whose bytes stay readable after the export took it.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Exports `records` into memory; `capacity` is the room to reserve for
/// the output (the input's size when known: an export is about as long as
/// its input, and growing a buffer of hundreds of MB copies it each time).
fn export_records(
    builder: ExportBuilder,
    records: impl Iterator<Item = Record>,
    capacity: usize,
) -> Result<Transformed, Failure> {
    let sidecar = Shared::default();
    let out = Vec::with_capacity(capacity);
    let mut writer = builder.metadata_sidecar(Box::new(sidecar.clone())).from_writer(out)?;
    let (file_extension, mime_type) = (writer.file_extension(), writer.mime_type());
    for record in records {
        writer.push(record)?;
    }
    let (data, summary) = writer.finish()?;
    let metadata = std::mem::take(&mut *sidecar.0.lock().unwrap_or_else(|p| p.into_inner()));
    Ok(Transformed { data, metadata, summary, file_extension, mime_type })
}

/// Panics on purpose — on the JavaScript thread (`'sync'`), on the blocking
/// pool (`'blocking'`) or in a future on the tokio runtime (`'async'`) — so
/// the test suite can prove that a panic becomes an `INTERNAL` error
/// and never ends the process. Not for production use.
#[napi(
    ts_args_type = "where: 'sync' | 'blocking' | 'async'",
    ts_return_type = "Promise<never> | never"
)]
pub fn debug_panic(
    env: &Env,
    place: String,
) -> napi::Result<Either<AsyncBlock<Reply<String>>, Reply<String>>> {
    let message = format!("deliberate panic ({place})");
    Ok(match place.as_str() {
        "blocking" => {
            Either::A(spawn(env, async move { blocking(move || panic!("{message}")).await })?)
        }
        "async" => Either::A(spawn(env, async move { panic!("{message}") })?),
        _ => Either::B(guarded(|| panic!("{message}"))),
    })
}
