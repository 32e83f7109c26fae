//! Golden files shared by the Rust, Python and Node tests: every case of
//! `tests/golden/cases.json`, exported from `tests/golden/input.jsonl` (or
//! the case's own `input`, such as `turns.jsonl`), must
//! reproduce `tests/golden/expected/<name>.<ext>` byte for byte, with its
//! summary and, for flavors that need one, its metadata sidecar.
//!
//! `UPDATE_GOLDEN=1 cargo test --test golden` rewrites the expected files;
//! review the diff before committing it.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use lora_export::request::validate_request;
use lora_export::source::JsonlSource;
use lora_export::validate::validate_output;
use lora_export::ExportBuilder;
use serde_json::Value;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/golden")
}

/// A writer whose bytes stay readable after the export took it.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("not poisoned").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Produced {
    output: Vec<u8>,
    sidecar: Vec<u8>,
    summary: String,
}

fn produce(case: &Value, export_date: DateTime<Utc>) -> Produced {
    let dir = golden_dir();
    let request = validate_request(&case["request"]).expect("golden request is valid");
    let input_name = case["input"].as_str().unwrap_or("input.jsonl");
    let input = fs::read(dir.join(input_name)).expect("golden input");
    let sidecar = Shared::default();
    let mut output = Vec::new();
    let summary = ExportBuilder::new(request)
        .export_date(export_date)
        .metadata_sidecar(Box::new(sidecar.clone()))
        .export(JsonlSource::new(input.as_slice()), &mut output)
        .expect("export succeeds");
    let sidecar = sidecar.0.lock().expect("not poisoned").clone();
    let summary = serde_json::to_string_pretty(&summary).expect("summary serialises") + "\n";
    Produced { output, sidecar, summary }
}

fn check(path: &Path, actual: &[u8], update: bool, failures: &mut Vec<String>) {
    if update {
        if actual.is_empty() {
            let _ = fs::remove_file(path);
        } else {
            fs::write(path, actual).expect("write golden file");
        }
        return;
    }
    let expected = fs::read(path).unwrap_or_default();
    if expected != actual {
        failures.push(format!(
            "{} differs: expected {} bytes, produced {} bytes; first difference at byte {}",
            path.display(),
            expected.len(),
            actual.len(),
            expected
                .iter()
                .zip(actual)
                .position(|(a, b)| a != b)
                .unwrap_or(expected.len().min(actual.len()))
        ));
    }
}

#[test]
fn every_case_matches_its_golden_files() {
    let dir = golden_dir();
    let cases: Value =
        serde_json::from_slice(&fs::read(dir.join("cases.json")).expect("cases.json"))
            .expect("JSON");
    let export_date: DateTime<Utc> =
        cases["export_date"].as_str().expect("export_date").parse().expect("RFC 3339");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let expected = dir.join("expected");
    fs::create_dir_all(&expected).expect("expected dir");
    let mut failures = Vec::new();
    let list = cases["cases"].as_array().expect("cases array");
    assert!(list.len() >= 15, "the golden set covers every format × flag combination");
    for case in list {
        let name = case["name"].as_str().expect("name");
        let ext = case["extension"].as_str().expect("extension");
        let produced = produce(case, export_date);
        assert!(!produced.output.is_empty(), "{name}: output is never empty");
        let config = &validate_request(&case["request"]).expect("valid").config;
        let report =
            validate_output(config.format, config.jsonl_flavor, produced.output.as_slice())
                .expect("readable");
        assert!(
            report.is_valid(),
            "{name}: the validator refuses our own output: {:?}",
            report.errors
        );
        check(&expected.join(format!("{name}.{ext}")), &produced.output, update, &mut failures);
        check(
            &expected.join(format!("{name}.summary.json")),
            produced.summary.as_bytes(),
            update,
            &mut failures,
        );
        check(
            &expected.join(format!("{name}.metadata.jsonl")),
            &produced.sidecar,
            update,
            &mut failures,
        );
    }
    assert!(failures.is_empty(), "golden mismatches:\n{}", failures.join("\n"));
}

#[test]
fn exporting_twice_is_byte_identical() {
    let dir = golden_dir();
    let cases: Value =
        serde_json::from_slice(&fs::read(dir.join("cases.json")).expect("cases.json"))
            .expect("JSON");
    let date: DateTime<Utc> = "2025-11-01T12:00:00Z".parse().expect("date");
    for case in cases["cases"].as_array().expect("cases") {
        let a = produce(case, date);
        let b = produce(case, date);
        assert_eq!(a.output, b.output, "{}", case["name"]);
        assert_eq!(a.summary, b.summary, "{}", case["name"]);
    }
}
