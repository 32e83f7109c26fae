//! The shape check every binding's conversion of a request applies
//! (`check_shape`, `ShapeBudget`) never panics nor recurses, and it refuses
//! exactly the values past its limits; a value it accepts validates without
//! a panic. The bytes are read as a little program that builds the value
//! without recursion — `[` opens an array, `{` an object (keyed by the next
//! byte), `]` closes one, `"` adds a string of the next byte's length, any
//! other byte a number — so values far deeper than JSON text allows (serde's
//! parser stops at 128) are tried too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lora_export::request::{check_shape, validate_request, MAX_DEPTH, MAX_TEXT_BYTES, MAX_VALUES};
use serde_json::{Map, Value};

/// An open array or object: its items, and the key it goes under in its parent.
struct Open {
    items: Vec<(String, Value)>,
    object: bool,
    key: String,
}

fn close(open: Open) -> Value {
    if open.object {
        Value::Object(open.items.into_iter().collect::<Map<_, _>>())
    } else {
        Value::Array(open.items.into_iter().map(|(_, v)| v).collect())
    }
}

fuzz_target!(|data: &[u8]| {
    let mut stack = vec![Open { items: Vec::new(), object: true, key: String::new() }];
    let (mut depth, mut deepest, mut values, mut text) = (1usize, 1usize, 1usize, 0usize);
    let mut bytes = data.iter().copied();
    while let Some(byte) = bytes.next() {
        let key = format!("k{}", stack.last().map_or(0, |o| o.items.len()));
        let key_bytes = if stack.last().is_some_and(|o| o.object) { key.len() } else { 0 };
        match byte {
            b'[' | b'{' => {
                stack.push(Open { items: Vec::new(), object: byte == b'{', key });
                depth += 1;
                deepest = deepest.max(depth);
                values += 1;
                text += key_bytes;
            }
            b']' if stack.len() > 1 => {
                let open = stack.pop().expect("more than one");
                let key = open.key.clone();
                let value = close(open);
                stack.last_mut().expect("the parent").items.push((key, value));
                depth -= 1;
            }
            b'"' => {
                let length = usize::from(bytes.next().unwrap_or(0));
                stack
                    .last_mut()
                    .expect("open")
                    .items
                    .push((key, Value::String("s".repeat(length))));
                deepest = deepest.max(depth + 1);
                values += 1;
                text += key_bytes + length;
            }
            _ => {
                stack.last_mut().expect("open").items.push((key, Value::from(byte)));
                deepest = deepest.max(depth + 1);
                values += 1;
                text += key_bytes;
            }
        }
    }
    while stack.len() > 1 {
        let open = stack.pop().expect("more than one");
        let key = open.key.clone();
        let value = close(open);
        stack.last_mut().expect("the parent").items.push((key, value));
    }
    let value = close(stack.pop().expect("the top"));
    let within = deepest <= MAX_DEPTH && values <= MAX_VALUES && text <= MAX_TEXT_BYTES;
    assert_eq!(
        check_shape(&value).is_ok(),
        within,
        "depth {deepest}, {values} values, {text} bytes"
    );
    if within {
        let _ = validate_request(&value);
    }
    // Dropping a deep value recurses in serde_json; take it apart by hand.
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        match value {
            Value::Array(items) => pending.extend(items),
            Value::Object(map) => pending.extend(map.into_iter().map(|(_, v)| v)),
            _ => {}
        }
    }
});
