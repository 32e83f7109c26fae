//! The Parquet writer read back with the `parquet` crate's Arrow reader.

use std::fs::File;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int8Type, TimestampMicrosecondType, UInt64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, Schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{json, Map, Value};

use super::ROW_GROUP_ROWS;
use crate::dataset::{Compression, DatasetBuilder, SplitSpec};
use crate::model::{ExportConfig, ExportRequest, Format, Scope};
use crate::source::JsonlSource;
use crate::validate::validate_output;
use crate::{ExportBuilder, ExportSummary};

/// A file of this test's own in the temporary directory.
fn temp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("lora-export-parquet-{}-{name}", std::process::id()))
}

fn export(config: ExportConfig, input: &str) -> (Vec<u8>, ExportSummary) {
    let mut out = Vec::new();
    let summary = ExportBuilder::new(ExportRequest::new(config))
        .export(JsonlSource::new(input.as_bytes()), &mut out)
        .unwrap();
    (out, summary)
}

/// The file's schema, its row groups' row counts, and its rows as JSON.
fn read(bytes: &[u8], name: &str) -> (Schema, Vec<i64>, Vec<Value>) {
    let path = temp(name);
    std::fs::write(&path, bytes).unwrap();
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap()).unwrap();
    let groups = builder.metadata().row_groups().iter().map(|g| g.num_rows()).collect();
    let schema = builder.schema().as_ref().clone();
    let mut rows = Vec::new();
    for batch in builder.build().unwrap() {
        rows.extend(batch_rows(&batch.unwrap()));
    }
    std::fs::remove_file(&path).unwrap();
    (schema, groups, rows)
}

fn batch_rows(batch: &RecordBatch) -> Vec<Value> {
    (0..batch.num_rows())
        .map(|i| {
            let row: Map<String, Value> = batch
                .schema()
                .fields()
                .iter()
                .zip(batch.columns())
                .map(|(f, column)| (f.name().clone(), cell(column.as_ref(), i)))
                .collect();
            Value::Object(row)
        })
        .collect()
}

/// One cell as JSON: null, text, number, list or object.
fn cell(array: &dyn Array, i: usize) -> Value {
    if array.is_null(i) {
        return Value::Null;
    }
    match array.data_type() {
        DataType::Utf8 => json!(array.as_string::<i32>().value(i)),
        DataType::Int8 => json!(array.as_primitive::<Int8Type>().value(i)),
        DataType::UInt64 => json!(array.as_primitive::<UInt64Type>().value(i)),
        DataType::Float64 => json!(array.as_primitive::<Float64Type>().value(i)),
        DataType::Boolean => json!(array.as_boolean().value(i)),
        DataType::Timestamp(..) => {
            json!(array.as_primitive::<TimestampMicrosecondType>().value(i))
        }
        DataType::List(_) => {
            let list = array.as_list::<i32>().value(i);
            Value::Array((0..list.len()).map(|k| cell(list.as_ref(), k)).collect())
        }
        DataType::Struct(fields) => {
            let s = array.as_struct();
            Value::Object(
                fields
                    .iter()
                    .zip(s.columns())
                    .map(|(f, c)| (f.name().clone(), cell(c.as_ref(), i)))
                    .collect(),
            )
        }
        other => panic!("no JSON for {other}"),
    }
}

/// A message as the file holds it, with the fields not given null.
fn message(fields: Value) -> Value {
    let mut m = json!({"role": null, "content": null, "parts": null, "tool_calls": null,
        "tool_call_id": null, "name": null, "reasoning": null, "weight": null});
    for (k, v) in fields.as_object().unwrap() {
        m[k] = v.clone();
    }
    m
}

const TOOLS: &str = r#"{"conversation_id":"tools","title":"Weather","status":"approved","tier":"scenario","qualityScore":8.5,"persona":"Student","category":["weather","tools"],"createdAt":"2025-10-29T10:00:00Z","tools":[{"type":"function","function":{"name":"weather","parameters":{"type":"object"}}}],"messages":[{"role":"developer","content":[{"type":"text","text":"Be "},{"type":"text","text":"brief."}]},{"role":"user","content":[{"type":"text","text":"And here?"},{"type":"image_url","image_url":{"url":"https://example.com/a.png","detail":"low"}}],"name":"ann"},{"role":"assistant","content":null,"reasoning_content":"Call it.","tool_calls":[{"id":"c1","type":"function","function":{"name":"weather","arguments":{"city":"Paris"}}}]},{"role":"tool","tool_call_id":"c1","content":"18C"},{"role":"assistant","content":"18C.","weight":0}]}"#;
const PAIR: &str = r#"{"conversation_id":"pair","prompt":"Capital of France?","chosen":"Paris.","rejected":"Lyon."}"#;

#[test]
fn rows_read_back_equal_with_tool_calls_parts_pairs_and_metadata() {
    let input = format!("{TOOLS}\n{PAIR}\n");
    let (bytes, summary) = export(ExportConfig::new(Scope::All, Format::Parquet), &input);
    assert_eq!(summary.conversations, 2);
    assert!(summary.dropped_fields.is_empty(), "{:?}", summary.dropped_fields);
    assert!(bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"));
    let (_, groups, rows) = read(&bytes, "round-trip");
    assert_eq!(groups, [2]);
    let created = chrono::DateTime::parse_from_rfc3339("2025-10-29T10:00:00Z").unwrap();
    let expected = json!([
        {
            "conversation_id": "tools",
            "messages": [
                message(json!({"role": "developer", "content": "Be brief.", "parts": [
                    {"type": "text", "text": "Be ", "url": null, "detail": null},
                    {"type": "text", "text": "brief.", "url": null, "detail": null}]})),
                message(json!({"role": "user", "content": "And here?", "name": "ann", "parts": [
                    {"type": "text", "text": "And here?", "url": null, "detail": null},
                    {"type": "image", "text": null, "url": "https://example.com/a.png", "detail": "low"}]})),
                message(json!({"role": "assistant", "reasoning": "Call it.", "tool_calls": [
                    {"id": "c1", "name": "weather", "arguments": "{\"city\":\"Paris\"}"}]})),
                message(json!({"role": "tool", "content": "18C", "tool_call_id": "c1"})),
                message(json!({"role": "assistant", "content": "18C.", "weight": 0})),
            ],
            "tools": r#"[{"function":{"name":"weather","parameters":{"type":"object"}},"type":"function"}]"#,
            "chosen": null, "rejected": null,
            "title": "Weather", "status": "approved", "tier": "scenario",
            "category": ["weather", "tools"], "quality_score": 8.5,
            "persona": "Student", "emotion": null, "topic": null,
            "created_at": created.timestamp_micros(), "updated_at": null, "user_fields": null,
        },
        {
            "conversation_id": "pair",
            "messages": [message(json!({"role": "user", "content": "Capital of France?"}))],
            "tools": null,
            "chosen": [message(json!({"role": "assistant", "content": "Paris."}))],
            "rejected": [message(json!({"role": "assistant", "content": "Lyon."}))],
            "title": null, "status": null, "tier": null, "category": [], "quality_score": null,
            "persona": null, "emotion": null, "topic": null,
            "created_at": null, "updated_at": null, "user_fields": null,
        },
    ]);
    assert_eq!(Value::Array(rows), expected);
}

#[test]
fn the_schema_is_the_same_whatever_the_rows_hold() {
    let config = ExportConfig::new(Scope::All, Format::Parquet);
    let (full, _) = export(config.clone(), &format!("{TOOLS}\n"));
    let (pair, _) = export(config.clone(), &format!("{PAIR}\n"));
    let (empty, _) = export(config, "");
    let (a, _, _) = read(&full, "schema-a");
    let (b, _, _) = read(&pair, "schema-b");
    let (c, _, rows) = read(&empty, "schema-c");
    assert_eq!(a, b);
    assert_eq!(a, c);
    assert!(rows.is_empty());
    let names: Vec<&str> = a.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(
        names,
        [
            "conversation_id",
            "messages",
            "tools",
            "chosen",
            "rejected",
            "title",
            "status",
            "tier",
            "category",
            "quality_score",
            "persona",
            "emotion",
            "topic",
            "created_at",
            "updated_at",
            "user_fields"
        ]
    );
}

#[test]
fn the_config_chooses_the_metadata_columns_and_the_system_prompt_comes_first() {
    let long = "x".repeat(600);
    let input = format!(
        r#"{{"conversation_id":"c","parentId":"t1","parentType":"template","reviewHistory":[{{"id":"r","action":"approved","performedBy":"ann","timestamp":"2025-01-01"}}],"messages":[{{"role":"user","content":"{long}"}},{{"role":"assistant","content":"ok"}}]}}"#
    );
    let mut config = ExportConfig::new(Scope::All, Format::Parquet);
    config.include_quality_scores = false;
    config.include_timestamps = false;
    config.include_parent_references = true;
    config.include_approval_history = true;
    config.include_full_content = false;
    config.system_prompt = Some("Be kind.".into());
    let (bytes, _) = export(config.clone(), &format!("{input}\n"));
    let (schema, _, rows) = read(&bytes, "config");
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(
        &names[5..],
        [
            "title",
            "status",
            "tier",
            "category",
            "persona",
            "emotion",
            "topic",
            "parent_id",
            "parent_type",
            "review_history",
            "content_truncated",
            "user_fields"
        ]
    );
    let row = &rows[0];
    assert_eq!(row["messages"][0]["content"], "Be kind.");
    let cut = row["messages"][1]["content"].as_str().unwrap();
    assert_eq!(cut.chars().count(), 501);
    assert!(cut.ends_with('…'));
    assert_eq!(row["content_truncated"], true);
    assert_eq!((&row["parent_id"], &row["parent_type"]), (&json!("t1"), &json!("template")));
    let history: Value = serde_json::from_str(row["review_history"].as_str().unwrap()).unwrap();
    assert_eq!(history[0]["performedBy"], "ann");

    config.include_metadata = false;
    let (bytes, _) = export(config, &format!("{input}\n"));
    let (schema, _, _) = read(&bytes, "no-metadata");
    assert_eq!(schema.fields().len(), 5);
}

#[test]
fn a_pair_whose_prompt_is_not_said_is_left_out_and_counted() {
    let input = r#"{"conversation_id":"b","messages":[{"role":"user","content":"Hi"}],"chosen":"a","rejected":"b"}"#;
    let (bytes, summary) = export(ExportConfig::new(Scope::All, Format::Parquet), input);
    assert_eq!(summary.dropped_fields.get("preference"), Some(&1));
    let (_, _, rows) = read(&bytes, "pair-dropped");
    assert_eq!((&rows[0]["chosen"], &rows[0]["rejected"]), (&Value::Null, &Value::Null));
    assert_eq!(rows[0]["messages"][0]["content"], "Hi");
}

#[test]
fn row_groups_are_written_as_they_fill() {
    let line = |i: usize| {
        format!(
            r#"{{"conversation_id":"c{i}","messages":[{{"role":"user","content":"Q {i}"}},{{"role":"assistant","content":"A {i}"}}]}}"#
        )
    };
    let request = ExportRequest::new(ExportConfig::new(Scope::All, Format::Parquet));
    let mut writer = ExportBuilder::new(request).from_writer(Vec::new()).unwrap();
    let n = 2 * ROW_GROUP_ROWS + 1;
    let mut before_first_group = 0;
    for i in 0..n {
        if i == ROW_GROUP_ROWS - 1 {
            before_first_group = writer.summary().conversations;
        }
        let c = serde_json::from_str(&line(i)).unwrap();
        writer.push(Ok(c)).unwrap();
    }
    assert_eq!(before_first_group, ROW_GROUP_ROWS as u64 - 1);
    let (bytes, summary) = writer.finish().unwrap();
    assert_eq!(summary.bytes, bytes.len() as u64);
    let (_, groups, rows) = read(&bytes, "row-groups");
    assert_eq!(groups, [ROW_GROUP_ROWS as i64, ROW_GROUP_ROWS as i64, 1]);
    assert_eq!(rows.len(), n);
    assert_eq!(rows[n - 1]["messages"][1]["content"], format!("A {}", n - 1));
}

#[test]
fn bytes_reach_the_output_at_each_row_group() {
    use std::io::Write;
    use std::sync::{Arc, Mutex};
    /// A writer whose length the test reads while the export runs.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let out = Shared::default();
    let request = ExportRequest::new(ExportConfig::new(Scope::All, Format::Parquet));
    let mut writer = ExportBuilder::new(request).unhashed().from_writer(out.clone()).unwrap();
    let c: crate::model::Conversation = serde_json::from_str(TOOLS).unwrap();
    let mut sizes = Vec::new();
    for i in 0..2 * ROW_GROUP_ROWS {
        if i % ROW_GROUP_ROWS == 0 {
            sizes.push(out.0.lock().unwrap().len());
        }
        writer.push_conversation(&c).unwrap();
    }
    sizes.push(out.0.lock().unwrap().len());
    writer.finish().unwrap();
    // Before the first row group, at most the writer's own 8 KiB buffer is held back.
    assert!(sizes[0] < sizes[1] && sizes[1] < sizes[2], "{sizes:?}");
}

#[test]
fn compression_around_parquet_is_refused() {
    let mut request = ExportRequest::new(ExportConfig::new(Scope::All, Format::Parquet));
    request.compression = Compression::Gzip;
    let err = ExportBuilder::new(request).from_writer(Vec::new()).unwrap_err();
    assert_eq!((err.code(), err.issues()[0].path.as_str()), ("VALIDATION_ERROR", "compression"));
    let mut request = ExportRequest::new(ExportConfig::new(Scope::All, Format::Jsonl));
    request.compression = Compression::Gzip;
    let err =
        ExportBuilder::new(request).format_name("parquet").from_writer(Vec::new()).unwrap_err();
    assert_eq!(err.code(), "CONFIG_ERROR");
    assert!(err.to_string().contains("compresses its own data"), "{err}");
    let dir = temp("dataset-gz");
    let request = ExportRequest::new(ExportConfig::new(Scope::All, Format::Parquet));
    let err = DatasetBuilder::new(request)
        .compression(Compression::Gzip)
        .to_directory(&dir)
        .map(|_| ())
        .unwrap_err();
    assert!(err.to_string().contains("compresses its own data"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
    let body = json!({"config": {"scope": "all", "format": "parquet"}, "compression": "zstd"});
    let issues = crate::request::validate_request(&body).unwrap_err();
    assert_eq!((issues[0].path.as_str(), issues[0].code.as_str()), ("compression", "conflict"));
    let body = json!({"config": {"scope": "all", "format": "parquet"}, "dataset": {"compression": "gzip"}});
    let issues = crate::request::validate_request(&body).unwrap_err();
    assert_eq!(issues[0].path, "dataset.compression");
}

#[test]
fn splits_and_shards_are_parquet_files() {
    let line = |i: usize| {
        format!(
            r#"{{"conversation_id":"c{i}","messages":[{{"role":"user","content":"Q {i}"}},{{"role":"assistant","content":"A"}}]}}"#
        )
    };
    let input: String = (0..100).map(|i| line(i) + "\n").collect();
    let dir = temp("dataset");
    let request = ExportRequest::new(ExportConfig::new(Scope::All, Format::Parquet));
    let summary = DatasetBuilder::new(request)
        .split(SplitSpec::parse("train=0.8,test=0.2").unwrap())
        .max_records_per_shard(30)
        .export(JsonlSource::new(input.as_bytes()), &dir)
        .unwrap();
    let mut total = 0;
    let mut schemas = Vec::new();
    for split in &summary.splits {
        for file in &split.files {
            assert!(file.name.ends_with(".parquet"), "{}", file.name);
            let bytes = std::fs::read(dir.join(&file.name)).unwrap();
            let (schema, _, rows) = read(&bytes, &file.name);
            assert_eq!(rows.len() as u64, file.conversations);
            total += rows.len();
            schemas.push(schema);
        }
    }
    assert_eq!(total, 100);
    assert!(summary.splits[0].files.len() > 1, "train is sharded");
    assert!(schemas.windows(2).all(|w| w[0] == w[1]), "every shard has the same schema");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn validate_output_reads_the_footer() {
    let (bytes, _) =
        export(ExportConfig::new(Scope::All, Format::Parquet), &format!("{TOOLS}\n{PAIR}\n"));
    let report = validate_output(Format::Parquet, Default::default(), bytes.as_slice()).unwrap();
    assert!(report.is_valid(), "{:?}", report.errors);
    assert_eq!(report.records, 2);
    let cut = &bytes[..bytes.len() - 1];
    let report = validate_output(Format::Parquet, Default::default(), cut).unwrap();
    assert_eq!(report.errors[0].code, "not_parquet");
    let report = validate_output(Format::Parquet, Default::default(), &b"{\"a\":1}\n"[..]).unwrap();
    assert_eq!(report.errors[0].code, "not_parquet");
    let mut bad_footer = bytes.clone();
    let at = bad_footer.len() - 8;
    bad_footer[at - 40..at].fill(0xff);
    let report =
        validate_output(Format::Parquet, Default::default(), bad_footer.as_slice()).unwrap();
    assert_eq!(report.errors[0].code, "invalid_footer", "{:?}", report.errors);
}

#[test]
fn a_preview_of_parquet_is_refused_at_the_format() {
    let c: crate::model::Conversation = serde_json::from_str(TOOLS).unwrap();
    let config = ExportConfig::new(Scope::All, Format::Parquet);
    let err = crate::preview(vec![c], &config, 1).unwrap_err();
    assert_eq!((err.code(), err.http_status()), ("VALIDATION_ERROR", 400));
    assert_eq!(err.issues()[0].code, "no_text_form");
}
