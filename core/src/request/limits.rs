//! The shape every request or options value must keep while it is
//! converted into Rust: at most [`MAX_DEPTH`] levels of arrays and objects,
//! [`MAX_VALUES`] values and [`MAX_TEXT_BYTES`] bytes of strings and keys.
//!
//! A conversion that recurses (napi's `from_js_value`, a walk over a Python
//! dict) overflows the stack on a value nested 20,000 deep — 40 KB of
//! `[[[…]]]` ended the Node process with SIGSEGV. So each binding's
//! conversion counts with a [`ShapeBudget`] as it goes and stops at the
//! first value past a limit, before it descends any further; a value already
//! in Rust is checked by [`check_shape`], without recursion.
//!
//! The refusal is one [`Issue`] whose path is the top-level key the value
//! sits under (`filters`; `""` for the value itself), with code `too_deep`
//! or `too_large`.

use serde_json::Value;

use crate::Issue;

/// The deepest nesting of arrays and objects, the top level being 1. The
/// deepest valid request is 4 levels (`filters.qualityRange.min`).
pub const MAX_DEPTH: usize = 64;

/// The most values (each scalar, array and object counts one) in one value:
/// ten times the most ids a request may list.
pub const MAX_VALUES: usize = 100_000;

/// The most bytes of strings and object keys in one value (8 MiB): above
/// what the route handlers read (1 MiB) and every string cap of a request.
pub const MAX_TEXT_BYTES: usize = 8 << 20;

/// Counts the values of one conversion against the limits.
///
/// ```
/// use lora_export_core::request::{ShapeBudget, MAX_DEPTH};
/// let mut budget = ShapeBudget::default();
/// assert!(budget.value(MAX_DEPTH, "filters").is_ok());
/// let issue = budget.value(MAX_DEPTH + 1, "filters").unwrap_err();
/// assert_eq!((issue.path.as_str(), issue.code.as_str()), ("filters", "too_deep"));
/// ```
#[derive(Debug, Default)]
pub struct ShapeBudget {
    values: usize,
    text_bytes: usize,
}

impl ShapeBudget {
    /// Counts one value at `depth` (the top-level value is at 1) under the
    /// top-level key `key`; call it before descending into the value.
    pub fn value(&mut self, depth: usize, key: &str) -> Result<(), Issue> {
        if depth > MAX_DEPTH {
            let message = format!("nested more than {MAX_DEPTH} levels deep");
            return Err(Issue::new(key, "too_deep", message));
        }
        self.values += 1;
        if self.values > MAX_VALUES {
            let message = format!("more than {MAX_VALUES} values in one request");
            return Err(Issue::new(key, "too_large", message));
        }
        Ok(())
    }

    /// Counts `bytes` of a string or an object key under the top-level key `key`.
    pub fn text(&mut self, bytes: usize, key: &str) -> Result<(), Issue> {
        self.text_bytes = self.text_bytes.saturating_add(bytes);
        if self.text_bytes > MAX_TEXT_BYTES {
            let message = format!("more than {MAX_TEXT_BYTES} bytes of text in one request");
            return Err(Issue::new(key, "too_large", message));
        }
        Ok(())
    }
}

/// Checks `value` against the limits without recursion.
///
/// ```
/// use lora_export_core::request::check_shape;
/// let mut deep = serde_json::json!(1);
/// for _ in 0..100 {
///     deep = serde_json::json!([deep]);
/// }
/// let issue = check_shape(&serde_json::json!({ "filters": deep })).unwrap_err();
/// assert_eq!((issue.path.as_str(), issue.code.as_str()), ("filters", "too_deep"));
/// ```
pub fn check_shape(value: &Value) -> Result<(), Issue> {
    let mut budget = ShapeBudget::default();
    let mut stack: Vec<(&Value, usize, &str)> = vec![(value, 1, "")];
    while let Some((value, depth, key)) = stack.pop() {
        budget.value(depth, key)?;
        match value {
            Value::String(s) => budget.text(s.len(), key)?,
            Value::Array(items) => stack.extend(items.iter().map(|v| (v, depth + 1, key))),
            Value::Object(map) => {
                for (k, v) in map {
                    budget.text(k.len(), key)?;
                    stack.push((v, depth + 1, if depth == 1 { k.as_str() } else { key }));
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
    Ok(())
}
