//! `onError` and `onEvent`, the callbacks of `ExportClient.connect`: the
//! service's error and metrics sinks, called from any thread through a
//! (weak: it never keeps the process alive) threadsafe function with the
//! report or the event as a plain object (its serde field names).

use lora_export::pg::{ErrorReport, ErrorSink, ExportService, MetricEvent, MetricsSink};
use napi::bindgen_prelude::{Function, JsObjectValue, Object, Unknown};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, JsValue, Status, ValueType};
use serde_json::Value;
use std::sync::Arc;

use crate::reply::Failure;

/// A JavaScript function called with one plain object.
type Callback = ThreadsafeFunction<Value, (), Value, Status, false, true>;

/// What `onError` and `onEvent` ask for.
enum Hook {
    /// Absent: the service's default (a JSON line on stderr for errors,
    /// nothing for events).
    Default,
    /// `null`: nothing at all.
    Off,
    /// A function.
    Call(Callback),
}

/// The callbacks of an options object.
pub(crate) struct Hooks {
    on_error: Hook,
    on_event: Hook,
}

/// Splits `options` into its callbacks and a copy of the rest, which
/// [`options_of`](crate::client::options_of) reads as plain data. A hook
/// that is neither a function nor `null` is a `CONFIG_ERROR`.
pub(crate) fn split<'env>(
    env: &'env Env,
    options: Option<Unknown<'env>>,
) -> Result<(Option<Unknown<'env>>, Hooks), Failure> {
    let mut hooks = Hooks { on_error: Hook::Default, on_event: Hook::Default };
    let Some(options) = options else { return Ok((None, hooks)) };
    if options.get_type().map_err(js)? != ValueType::Object {
        return Ok((Some(options), hooks));
    }
    // SAFETY: the value's type was just read from `get_type`.
    let object: Object = unsafe { options.cast() }.map_err(js)?;
    let mut rest = Object::new(env).map_err(js)?;
    let names = object.get_property_names().map_err(js)?;
    for i in 0..names.get_array_length().map_err(js)? {
        let name: String = names.get_element(i).map_err(js)?;
        let value: Unknown = object.get_named_property(&name).map_err(js)?;
        match name.as_str() {
            "onError" => hooks.on_error = hook(&name, value)?,
            "onEvent" => hooks.on_event = hook(&name, value)?,
            _ => rest.set_named_property(&name, value).map_err(js)?,
        }
    }
    Ok((Some(rest.to_unknown()), hooks))
}

impl Hooks {
    /// `service` with these hooks as its sinks.
    pub(crate) fn attach(self, mut service: ExportService) -> ExportService {
        match self.on_error {
            Hook::Default => {}
            Hook::Off => service = service.with_error_sink(Arc::new(|_: &ErrorReport| {})),
            Hook::Call(callback) => {
                let sink: ErrorSink = Arc::new(move |report: &ErrorReport| call(&callback, report));
                service = service.with_error_sink(sink);
            }
        }
        if let Hook::Call(callback) = self.on_event {
            let sink: MetricsSink = Arc::new(move |event: &MetricEvent| call(&callback, event));
            service = service.with_metrics_sink(sink);
        }
        service
    }
}

/// Queues a call of `callback` with `value` (never blocks the caller).
fn call(callback: &Callback, value: &impl serde::Serialize) {
    if let Ok(value) = serde_json::to_value(value) {
        callback.call(value, ThreadsafeFunctionCallMode::NonBlocking);
    }
}

fn hook(name: &str, value: Unknown<'_>) -> Result<Hook, Failure> {
    match value.get_type().map_err(js)? {
        ValueType::Undefined => Ok(Hook::Default),
        ValueType::Null => Ok(Hook::Off),
        ValueType::Function => {
            // SAFETY: the value's type was just read from `get_type`.
            let function: Function<'_, Value, ()> = unsafe { value.cast() }.map_err(js)?;
            let callback = function.build_threadsafe_function().weak::<true>().build().map_err(js)?;
            Ok(Hook::Call(callback))
        }
        _ => Err(lora_export::ErrorKind::Config(format!(
            "ExportClient.connect options at `{name}`: a function (or null to turn it off) is expected"
        ))
        .into()),
    }
}

fn js(e: napi::Error) -> Failure {
    lora_export::ErrorKind::Config(format!("ExportClient.connect options: {}", e.reason)).into()
}
