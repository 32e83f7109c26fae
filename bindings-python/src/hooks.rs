//! `on_error` and `on_event`, the callables of `ExportClient(...)`: the
//! service's error and metrics sinks, called from the client's runtime
//! threads (holding the GIL for the call) with the report or the event as a
//! dict. A callable that raises has its exception reported as unraisable
//! (`sys.unraisablehook`); the operation goes on.

use std::sync::Arc;

use lora_export::pg::{ErrorReport, ErrorSink, ExportService, MetricEvent, MetricsSink};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde::Serialize;

use crate::convert::serialize_to_py;

/// What `on_error` and `on_event` ask for.
enum Hook {
    /// Absent: the service's default (a JSON line on stderr for errors,
    /// nothing for events).
    Default,
    /// `None`: nothing at all.
    Off,
    /// A callable.
    Call(Py<PyAny>),
}

/// The callables of a client's options.
pub(crate) struct Hooks {
    on_error: Hook,
    on_event: Hook,
}

impl Hooks {
    /// Takes `on_error` and `on_event` out of `options` (the rest are plain
    /// settings). A value that is neither callable nor `None` is a `TypeError`.
    pub(crate) fn take(options: Option<&Bound<'_, PyDict>>) -> PyResult<Hooks> {
        let mut hooks = Hooks { on_error: Hook::Default, on_event: Hook::Default };
        let Some(options) = options else { return Ok(hooks) };
        for (name, slot) in [("on_error", &mut hooks.on_error), ("on_event", &mut hooks.on_event)] {
            if let Some(value) = options.get_item(name)? {
                options.del_item(name)?;
                *slot = if value.is_none() {
                    Hook::Off
                } else if value.is_callable() {
                    Hook::Call(value.unbind())
                } else {
                    return Err(PyTypeError::new_err(format!(
                        "ExportClient option {name} must be callable (or None to turn it off)"
                    )));
                };
            }
        }
        Ok(hooks)
    }

    /// `service` with these hooks as its sinks.
    pub(crate) fn attach(self, mut service: ExportService) -> ExportService {
        match self.on_error {
            Hook::Default => {}
            Hook::Off => service = service.with_error_sink(Arc::new(|_: &ErrorReport| {})),
            Hook::Call(callable) => {
                let sink: ErrorSink = Arc::new(move |report: &ErrorReport| call(&callable, report));
                service = service.with_error_sink(sink);
            }
        }
        if let Hook::Call(callable) = self.on_event {
            let sink: MetricsSink = Arc::new(move |event: &MetricEvent| call(&callable, event));
            service = service.with_metrics_sink(sink);
        }
        service
    }
}

/// Calls `callable` with `value` as a dict, holding the GIL for the call.
fn call(callable: &Py<PyAny>, value: &impl Serialize) {
    Python::attach(|py| {
        let result = serialize_to_py(py, value).and_then(|arg| callable.call1(py, (arg,)));
        if let Err(e) = result {
            e.write_unraisable(py, Some(callable.bind(py)));
        }
    });
}
