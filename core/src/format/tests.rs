//! Property test of the JSONL targets: for random records with every kind
//! of message field, each flavor's export is accepted by `validate_output`
//! of that flavor, and the flavors our reader reads back (openai,
//! openai-dpo, trl, together, fireworks) give the same bytes when their
//! output is exported again.

use proptest::prelude::*;
use serde_json::{json, Value};

use crate::model::{ExportConfig, ExportRequest, Format, JsonlFlavor, Scope};
use crate::source::{from_value, JsonlSource};
use crate::validate::validate_output;
use crate::{ExportBuilder, Location};

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 \"\\\\\n{}é]{0,12}".prop_map(|s| format!("t{s}"))
}

/// One exchange: a user message, then an answer (maybe after tool calls).
fn exchange() -> impl Strategy<Value = Vec<Value>> {
    (
        text(),
        proptest::bool::ANY,
        text(),
        proptest::option::of(text()),
        proptest::option::of(0u8..2),
        0usize..3,
        proptest::bool::ANY,
    )
        .prop_map(|(question, image, answer, reasoning, weight, calls, name)| {
            let mut out = Vec::new();
            let user = if image {
                json!({"role": "user", "content": [{"type": "text", "text": question},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]})
            } else if name {
                json!({"role": "user", "content": question, "name": "ann"})
            } else {
                json!({"role": "user", "content": question})
            };
            out.push(user);
            if calls > 0 {
                let ids: Vec<String> =
                    (0..calls).map(|i| format!("call_{i}_{}", answer.len())).collect();
                let tool_calls: Vec<Value> = ids
                    .iter()
                    .map(|id| {
                        json!({"id": id, "type": "function",
                        "function": {"name": "lookup", "arguments": {"q": question}}})
                    })
                    .collect();
                out.push(json!({"role": "assistant", "content": null, "tool_calls": tool_calls}));
                for id in &ids {
                    out.push(json!({"role": "tool", "tool_call_id": id, "content": answer}));
                }
            }
            let mut reply = json!({"role": "assistant", "content": answer});
            if let Some(r) = reasoning {
                reply["reasoning_content"] = json!(r);
            }
            if let Some(w) = weight {
                reply["weight"] = json!(w);
            }
            out.push(reply);
            out
        })
}

fn record() -> impl Strategy<Value = Value> {
    (
        proptest::option::of(prop_oneof![Just("system"), Just("developer")]),
        proptest::collection::vec(exchange(), 1..3),
        proptest::option::of(proptest::bool::ANY),
        proptest::option::of((text(), text())),
    )
        .prop_map(|(system, exchanges, tools, pair)| {
            let mut messages: Vec<Value> = system
                .map(|role| json!({"role": role, "content": "Be kind."}))
                .into_iter()
                .collect();
            messages.extend(exchanges.into_iter().flatten());
            let mut record = json!({"conversation_id": "p"});
            match pair {
                Some((chosen, rejected)) => {
                    let prompt: Vec<Value> = messages
                        .into_iter()
                        .filter(|m| m["role"] != "assistant" && m["role"] != "tool")
                        .take(1)
                        .collect();
                    record["prompt"] = json!(prompt);
                    record["chosen"] = json!(chosen);
                    record["rejected"] = json!(rejected);
                }
                None => record["messages"] = json!(messages),
            }
            // With a description or without (which Nova's toolConfig requires).
            if let Some(described) = tools {
                let mut function = json!({"name": "lookup",
                    "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}});
                if described {
                    function["description"] = json!("Looks it up.");
                }
                record["tools"] = json!([{"type": "function", "function": function}]);
            }
            record
        })
}

fn export(flavor: JsonlFlavor, input: &[u8]) -> (Vec<u8>, u64) {
    let mut config = ExportConfig::new(Scope::AllData, Format::Jsonl);
    config.jsonl_flavor = flavor;
    config.include_metadata = false;
    let mut out = Vec::new();
    match ExportBuilder::new(ExportRequest::new(config)).export(JsonlSource::new(input), &mut out) {
        Ok(summary) => (out, summary.conversations),
        // Nothing this flavor can write (a preference record in an SFT
        // flavor, say): refused with a reason, which is not under test here.
        Err(e) if e.code() == "TOO_MANY_SKIPPED" => (Vec::new(), 0),
        Err(e) => panic!("{e}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn every_flavor_writes_what_its_validator_accepts(records in proptest::collection::vec(record(), 1..4)) {
        let mut input = Vec::new();
        for r in &records {
            prop_assert!(from_value(r.clone(), Location::record(1)).is_ok(), "{r}");
            serde_json::to_writer(&mut input, r).unwrap();
            input.push(b'\n');
        }
        for flavor in JsonlFlavor::ALL {
            let (out, written) = export(flavor, &input);
            if flavor == JsonlFlavor::Trl {
                prop_assert_eq!(written, records.len() as u64, "trl writes every record");
            }
            if written == 0 {
                continue;
            }
            let report = validate_output(Format::Jsonl, flavor, out.as_slice()).unwrap();
            prop_assert!(report.is_valid(), "{flavor:?}: {:?}\n{}", report.errors, String::from_utf8_lossy(&out));
            if matches!(flavor, JsonlFlavor::Openai | JsonlFlavor::OpenaiDpo | JsonlFlavor::Trl | JsonlFlavor::Together | JsonlFlavor::Fireworks) {
                // What the validator accepted reads back as the same records.
                let again: Vec<u8> = out.split(|b| *b == b'\n').filter(|l| !l.is_empty()).flat_map(|line| {
                    let mut v: Value = serde_json::from_slice(line).unwrap();
                    v["conversation_id"] = json!("p");
                    let mut l = serde_json::to_vec(&v).unwrap();
                    l.push(b'\n');
                    l
                }).collect();
                let (twice, n) = export(flavor, &again);
                prop_assert_eq!(n, written);
                prop_assert_eq!(String::from_utf8_lossy(&twice), String::from_utf8_lossy(&out), "{:?}", flavor);
            }
        }
    }
}
