//! Round trips: what goes in comes back out of JSONL (serde_json), JSON
//! (serde_json) and CSV (the csv crate), for the bundled sample and for
//! arbitrary strings (proptest).

#[path = "support/synthetic.rs"]
mod synthetic;

use std::path::Path;

use lora_export::model::{Conversation, ExportConfig, ExportRequest, Format, Scope};
use lora_export::source::JsonlSource;
use lora_export::{ExportBuilder, TooManySkipped};
use proptest::prelude::*;
use serde_json::Value;

fn sample() -> Vec<Conversation> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/sample.jsonl");
    let file = std::io::BufReader::new(std::fs::File::open(path).expect("sample"));
    JsonlSource::new(file).filter_map(Result::ok).collect()
}

fn export(conversations: &[Conversation], config: ExportConfig) -> Vec<u8> {
    // A lone conversation the format refuses leaves nothing written: that
    // is what the JSONL check looks at, not an error here.
    let mut writer = ExportBuilder::new(ExportRequest::new(config))
        .on_too_many_skipped(TooManySkipped::Warn)
        .from_writer(Vec::new())
        .unwrap();
    for c in conversations {
        writer.push_conversation(c).unwrap();
    }
    writer.finish().unwrap().0
}

fn config(format: Format) -> ExportConfig {
    let mut config = ExportConfig::new(Scope::AllData, format);
    config.csv_formula_guard = false;
    config
}

fn check_jsonl(conversations: &[Conversation]) {
    let out = String::from_utf8(export(conversations, config(Format::Jsonl))).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    // A conversation with a blank turn is what the trainer refuses: skipped
    // (and listed), not written.
    let trainable: Vec<&Conversation> = conversations
        .iter()
        .filter(|c| c.turns.iter().all(|t| !t.content.trim().is_empty()))
        .collect();
    assert_eq!(lines.len(), trainable.len());
    for (line, c) in lines.iter().zip(trainable) {
        let v: Value = serde_json::from_str(line).unwrap();
        let messages = v["messages"].as_array().unwrap();
        assert_eq!(messages.len(), c.turns.len());
        for (m, t) in messages.iter().zip(&c.turns) {
            assert_eq!(m["role"], t.role.as_str());
            assert_eq!(m["content"].as_str().unwrap(), t.content);
        }
        assert_eq!(v["metadata"]["conversation_id"], c.conversation_id.as_str());
        assert_eq!(v["metadata"]["title"].as_str(), c.title.as_deref());
    }
}

fn check_json(conversations: &[Conversation]) {
    let out = export(conversations, config(Format::Json));
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["conversation_count"], conversations.len());
    let items = v["conversations"].as_array().unwrap();
    for (item, c) in items.iter().zip(conversations) {
        assert_eq!(item["title"].as_str(), c.title.as_deref());
        for (t, turn) in item["turns"].as_array().unwrap().iter().zip(&c.turns) {
            assert_eq!(t["content"].as_str().unwrap(), turn.content);
        }
    }
}

fn check_csv(conversations: &[Conversation]) {
    let out = export(conversations, config(Format::Csv));
    let body = out.strip_prefix("\u{FEFF}".as_bytes()).expect("BOM");
    let mut reader = csv::Reader::from_reader(body);
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (id, title, content, turn) =
        (col("conversation_id"), col("title"), col("content"), col("turn_number"));
    let mut rows = reader.records();
    for c in conversations {
        for (n, t) in c.turns.iter().enumerate() {
            let row = rows.next().expect("a row per turn").unwrap();
            assert_eq!(&row[id], c.conversation_id);
            assert_eq!(&row[title], c.title.as_deref().unwrap_or(""));
            assert_eq!(&row[content], t.content);
            assert_eq!(row[turn].parse::<usize>().unwrap(), n + 1);
        }
    }
    assert!(rows.next().is_none());
}

#[test]
fn sample_round_trips_through_jsonl_json_and_csv() {
    let conversations = sample();
    assert!(conversations.len() >= 30, "the sample has a few dozen good conversations");
    check_jsonl(&conversations);
    check_json(&conversations);
    check_csv(&conversations);
}

#[test]
fn a_one_megabyte_cell_survives_csv_and_jsonl() {
    let mut c = synthetic::conversation(7);
    c.turns[1].content = "quote \" comma , newline \r\n tab \t ".repeat(1 << 15);
    assert!(c.turns[1].content.len() > 1_000_000);
    check_csv(std::slice::from_ref(&c));
    check_jsonl(std::slice::from_ref(&c));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn arbitrary_strings_round_trip(title in any::<String>(), a in any::<String>(), b in any::<String>()) {
        let mut c = synthetic::conversation(1);
        c.title = Some(title);
        c.turns[0].content = a;
        c.turns[1].content = b;
        let cs = [c];
        check_jsonl(&cs);
        check_json(&cs);
        check_csv(&cs);
    }
}
