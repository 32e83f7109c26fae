//! How results and errors cross into JavaScript.
//!
//! Every exported function produces a [`Reply`]: the core's result, turned
//! into a JavaScript value on the JavaScript thread. An error of the core or
//! of the service becomes an `Error` whose `code` is
//! [`lora_export::pg::Error::code`], `status` the HTTP status a route should
//! answer ([`lora_export::pg::Error::http_status`]),
//! `issues` the validation issues (`[{ path, code, message }]`), for an
//! internal error `errorId` (the id its cause was reported under) and, for a
//! rate limit, `retryAfter` in seconds; for a range outside the file (416),
//! `size` its bytes (`Content-Range: bytes */size`). A panic becomes an
//! internal error like any other: code `INTERNAL`, status 500, a message
//! naming only an error id; the panic's text goes to standard error under
//! that id, for the operator, never to the caller. What a callback of the
//! caller's threw (`exportDataset`'s `progress`) is rejected with as it was
//! thrown.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;

use napi::bindgen_prelude::{AsyncBlock, AsyncBlockBuilder, ToNapiValue};
use napi::{sys, Env, JsValue, Status};
use serde::Serialize;

/// Why an operation failed: the core or the service said so, or Rust code
/// panicked.
#[derive(Debug)]
pub enum Failure {
    /// An error of the core or the service (the core's errors converted into
    /// the service's, which carries both), with its stable code and HTTP status.
    Core(lora_export::pg::Error),
    /// A panic, caught before it could reach JavaScript.
    Panic(String),
    /// What a callback of the caller's threw (or its promise rejected
    /// with): rejected with as it was thrown.
    Thrown(napi::Error),
}

impl From<lora_export::pg::Error> for Failure {
    fn from(e: lora_export::pg::Error) -> Self {
        Failure::Core(e)
    }
}

impl From<lora_export::Error> for Failure {
    fn from(e: lora_export::Error) -> Self {
        Failure::Core(e.into())
    }
}

impl From<lora_export::ErrorKind> for Failure {
    fn from(kind: lora_export::ErrorKind) -> Self {
        Failure::Core(kind.into())
    }
}

impl From<lora_export::pg::ErrorKind> for Failure {
    fn from(kind: lora_export::pg::ErrorKind) -> Self {
        Failure::Core(kind.into())
    }
}

impl From<tokio::task::JoinError> for Failure {
    fn from(e: tokio::task::JoinError) -> Self {
        match e.try_into_panic() {
            Ok(payload) => Failure::Panic(panic_message(payload.as_ref())),
            Err(e) => Failure::Panic(format!("task ended before finishing: {e}")),
        }
    }
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_owned()
    }
}

/// A value that becomes a JavaScript value on the JavaScript thread.
pub trait IntoJs: Send + 'static {
    /// Creates the JavaScript value.
    fn into_js(self, env: &Env) -> napi::Result<sys::napi_value>;
}

/// A serializable core value, converted field by field (its serde names).
pub struct Json<S>(pub S);

impl<S: Serialize + Send + 'static> IntoJs for Json<S> {
    fn into_js(self, env: &Env) -> napi::Result<sys::napi_value> {
        Ok(env.to_js_value(&self.0)?.raw())
    }
}

impl IntoJs for String {
    fn into_js(self, env: &Env) -> napi::Result<sys::napi_value> {
        // SAFETY: `env` is the live environment of the current call.
        unsafe { String::to_napi_value(env.raw(), self) }
    }
}

/// The outcome of an operation, resolved (or thrown) as a JavaScript value.
pub struct Reply<T>(pub Result<T, Failure>);

impl<T> From<Result<T, Failure>> for Reply<T> {
    fn from(result: Result<T, Failure>) -> Self {
        Reply(result)
    }
}

impl<T: IntoJs> ToNapiValue for Reply<T> {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        let env = Env::from_raw(env);
        match val.0 {
            Ok(value) => value.into_js(&env),
            Err(failure) => Err(js_error(&env, &failure)),
        }
    }
}

/// The `name` of every error the binding throws (`isLoraExportError` checks it).
pub const ERROR_NAME: &str = "LoraExportError";

/// A JavaScript `Error` for `failure`, with `code`, `status`, `issues` and
/// `retryAfter`, wrapped so napi throws (or rejects with) that very object.
pub fn js_error(env: &Env, failure: &Failure) -> napi::Error {
    let panicked;
    let core = match failure {
        Failure::Thrown(thrown) => {
            let reason = || napi::Error::new(Status::GenericFailure, thrown.reason.clone());
            return thrown.try_clone().unwrap_or_else(|_| reason());
        }
        Failure::Core(e) => e,
        Failure::Panic(detail) => {
            panicked = lora_export::pg::Error::internal("INTERNAL", detail.as_str());
            if let Some(id) = panicked.error_id() {
                // Not `eprintln!`: Node's stderr may be a non-blocking pipe, and
                // a failed write would panic here, where no panic may unwind.
                let line = format!("lora-export: a call panicked (error id {id}): {detail}\n");
                let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
            }
            &panicked
        }
    };
    let (message, code, status) = (core.to_string(), core.code(), core.http_status());
    let build = || -> napi::Result<napi::Error> {
        let mut error = env.create_error(napi::Error::new(Status::GenericFailure, &message))?;
        error.set("name", ERROR_NAME)?;
        error.set("code", code)?;
        error.set("status", status)?;
        error.set("issues", env.to_js_value(&core.issues())?)?;
        if let Some(reason) = core.reason() {
            error.set("reason", reason)?;
        }
        if let Some(id) = core.error_id() {
            error.set("errorId", id.to_string())?;
        }
        if let Some(secs) = core.retry_after_secs() {
            error.set("retryAfter", secs as f64)?;
        }
        if let lora_export::pg::ErrorKind::RangeNotSatisfiable { size } = core.kind() {
            error.set("size", *size as f64)?;
        }
        Ok(napi::Error::from(error.to_unknown()))
    };
    build().unwrap_or_else(|_| napi::Error::new(Status::GenericFailure, message))
}

/// Runs `future` on napi's tokio runtime and resolves the returned promise
/// with its reply (the JavaScript thread only converts the result); a panic
/// in it rejects with [`Failure::Panic`].
pub fn spawn<T, F>(env: &Env, future: F) -> napi::Result<AsyncBlock<Reply<T>>>
where
    T: IntoJs,
    F: Future<Output = Result<T, Failure>> + Send + 'static,
{
    AsyncBlockBuilder::new(async move {
        let outcome = AssertUnwindSafe(future).catch_unwind().await;
        Ok(Reply(
            outcome.unwrap_or_else(|payload| Err(Failure::Panic(panic_message(payload.as_ref())))),
        ))
    })
    .build(env)
}

/// Runs the CPU-bound `work` on the runtime's blocking pool (a panic in it
/// becomes a [`Failure::Panic`]).
pub async fn blocking<T, W>(work: W) -> Result<T, Failure>
where
    T: Send + 'static,
    W: FnOnce() -> Result<T, Failure> + Send + 'static,
{
    tokio::task::spawn_blocking(work).await?
}

/// Runs `work` on the JavaScript thread, turning a panic into a
/// [`Failure::Panic`] (for the quick synchronous functions).
pub fn guarded<T>(work: impl FnOnce() -> Result<T, Failure>) -> Reply<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)) {
        Ok(result) => Reply(result),
        Err(payload) => Reply(Err(Failure::Panic(panic_message(payload.as_ref())))),
    }
}
