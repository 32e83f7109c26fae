//! Streaming validators of exported files: read an export back and list what
//! is wrong with it, each problem located by line, record and field.
//!
//! [`validate_output`] reads any [`io::Read`] once, in constant memory: JSONL
//! and Markdown line by line, CSV row by row, and the JSON document with a
//! streaming deserializer that holds one conversation at a time. Only one
//! record (a line, a row, a conversation) is ever in memory, so a record is
//! the unit of memory, not the file.
//!
//! Reading errors are an `Err`; problems in the content are [`Finding`]s in
//! the [`ValidationReport`]: `errors` make the file invalid, `warnings` do
//! not. Each list keeps at most [`MAX_FINDINGS`] entries; past that a last
//! finding (`errors_suppressed` or `warnings_suppressed`) says how many more
//! there were.
//!
//! What each format is checked for:
//!
//! - **JSONL, `openai`** — OpenAI's published fine-tuning data checks (the
//!   cookbook's "Data preparation and analysis for chat model fine-tuning"):
//!   every non-empty line a JSON object (`invalid_json`, `not_an_object`);
//!   top-level keys only `messages`, `metadata`, `tools`, `functions`,
//!   `parallel_tool_calls` (`unknown_key`); `messages` a non-empty array
//!   (`missing_messages_list`); each message an object (`message_not_object`)
//!   with `role` and `content` (`message_missing_key`) and no other keys than
//!   `name`, `weight`, `function_call`, `tool_calls`, `tool_call_id`,
//!   `refusal` (`message_unrecognized_key`); `role` one of `system`, `user`,
//!   `assistant`, `tool`, `function` (`unrecognized_role`); `content` a
//!   non-blank string, which a message carrying `tool_calls` or
//!   `function_call` may leave out or set to null (`missing_content`);
//!   `weight` 0 or 1 (`invalid_weight`); at least one assistant message
//!   (`example_missing_assistant_message`); an empty file is an error
//!   (`no_examples`). A warning (`too_many_tokens`) flags an example whose
//!   estimated tokens exceed 16,385. The estimate needs no tokenizer: the
//!   characters of every string `content`, divided by 4 and rounded up, plus
//!   4 per message — about right for English, low for CJK text.
//! - **JSONL, `anthropic`** (Claude on Bedrock) — keys only `system` (a
//!   string) and `messages` (`unknown_key`, `invalid_system`); messages with
//!   only `role` and `content`, roles `user`/`assistant`, starting with user
//!   (`first_not_user`), alternating (`roles_not_alternating`), ending with
//!   assistant (`last_not_assistant`); content a non-blank string.
//! - **JSONL, `sharegpt`** — `{"conversations":[{"from","value"}]}`: `from`
//!   one of `system`, `human`, `gpt`; `value` a non-blank string; at least one
//!   `gpt` turn. Extra keys are warnings (ShareGPT readers ignore them).
//! - **JSON** — the document of the JSON transformer: `version` `"1.0"`,
//!   `export_date` an ISO-8601 instant, `conversations` an array of objects
//!   with string `conversation_id`, `title`, `status`, `tier` (known values)
//!   and a non-empty `turns` array of `{role, content, token_count?,
//!   truncated?}`; `conversation_count` equal to the number of conversations;
//!   `summary.total_turns`, when present, equal to the number of turns.
//!   Syntax errors are reported with their line and column.
//! - **CSV** — the UTF-8 BOM (a warning when absent), a header starting with
//!   the seven mandatory columns and holding only known columns, once each;
//!   every row as wide as the header; `turn_number` a positive integer
//!   counting up from 1 in each conversation; known `role`, `status`, `tier`;
//!   `quality_score` a number from 0 to 10; `content_truncated` `true` or
//!   `false`; timestamps ISO-8601; `review_history` a JSON array; a text cell
//!   starting with `=`, `+`, `-`, `@`, TAB or CR is a `formula_risk` warning.
//! - **Markdown** — every conversation opens with `# Conversation: `, has a
//!   `## Conversation` heading and at least one turn; each turn label
//!   (`**User:**`, `**Assistant:**`, `**System:**`) is followed by a
//!   blockquote, and nothing between the label and the end of its quote
//!   stands outside the quote; conversations are separated by `---`.
//! - **Parquet** — only the file, not its rows: `PAR1` at its start and end
//!   (`not_parquet`), a footer that fits the file and decodes
//!   (`invalid_footer`, read only with the `parquet` feature; without it a
//!   `footer_not_read` warning), and the columns every export has, of their
//!   types (`missing_column`, `column_type`: `conversation_id`, `messages`,
//!   `tools`, `chosen`, `rejected`). `records` is the footer's row count.
//!   The rows are not checked one by one: the writer builds them from typed
//!   columns, and reading them needs the whole file (its footer is at the
//!   end), where every other validator reads one record at a time.
//!
//! ```
//! use lora_export_core::model::{Format, JsonlFlavor};
//! use lora_export_core::validate::validate_output;
//!
//! let jsonl = "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"},{\"role\":\"assistant\",\"content\":\"\"}]}\n";
//! let report = validate_output(Format::Jsonl, JsonlFlavor::Openai, jsonl.as_bytes()).unwrap();
//! assert!(!report.is_valid());
//! assert_eq!(report.errors[0].code, "missing_content");
//! assert_eq!(report.errors[0].location.to_string(), "line 1, field messages[1].content");
//! ```

mod csv;
mod json;
mod jsonl;
mod markdown;
mod parquet;

use std::fmt;
use std::io::{self, BufRead, BufReader};

use serde::{Deserialize, Serialize};

use crate::model::{Format, JsonlFlavor};
use crate::{Location, Result};

/// How many errors, and how many warnings, a [`ValidationReport`] keeps; the
/// rest are counted in one last `errors_suppressed` / `warnings_suppressed`
/// finding.
///
/// ```
/// use lora_export_core::model::{Format, JsonlFlavor};
/// use lora_export_core::validate::{validate_output, MAX_FINDINGS};
///
/// let bad = "not json\n".repeat(MAX_FINDINGS + 5);
/// let report = validate_output(Format::Jsonl, JsonlFlavor::Openai, bad.as_bytes()).unwrap();
/// assert_eq!(report.errors.len(), MAX_FINDINGS + 1);
/// assert_eq!(report.errors[MAX_FINDINGS].code, "errors_suppressed");
/// assert!(report.errors[MAX_FINDINGS].message.contains("5 more"));
/// ```
pub const MAX_FINDINGS: usize = 1_000;

/// What a validator found in one exported file.
///
/// ```
/// use lora_export_core::model::{Format, JsonlFlavor};
/// use lora_export_core::validate::validate_output;
///
/// let md = "# Conversation: Hi\n\n## Conversation\n\n**User:**\n\n> Hello\n\n**Assistant:**\n\n> Hi!\n\n---\n";
/// let report = validate_output(Format::Markdown, JsonlFlavor::Openai, md.as_bytes()).unwrap();
/// assert!(report.is_valid(), "{:?}", report.errors);
/// assert_eq!(report.records, 1);
/// assert_eq!(serde_json::to_value(&report).unwrap()["records"], 1);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationReport {
    /// Records read: JSONL examples, JSON conversations, CSV data rows,
    /// Markdown conversations, Parquet rows (the footer's count).
    pub records: u64,
    /// Problems that make the file invalid (at most [`MAX_FINDINGS`] plus one
    /// `errors_suppressed` note).
    pub errors: Vec<Finding>,
    /// Problems worth a look that do not make the file invalid (bounded the
    /// same way, with a `warnings_suppressed` note).
    pub warnings: Vec<Finding>,
}

impl ValidationReport {
    /// True when no error was found (warnings allowed).
    ///
    /// ```
    /// use lora_export_core::validate::ValidationReport;
    /// assert!(ValidationReport::default().is_valid());
    /// ```
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }
}

/// One problem: where it is, a stable snake_case `code` to branch on, and a
/// sentence for a human.
///
/// ```
/// use lora_export_core::model::{Format, JsonlFlavor};
/// use lora_export_core::validate::validate_output;
/// use lora_export_core::Location;
///
/// let line = r#"{"messages":[{"role":"robot","content":"Hi"}]}"#;
/// let report = validate_output(Format::Jsonl, JsonlFlavor::Openai, line.as_bytes()).unwrap();
/// let f = &report.errors[0];
/// assert_eq!(f.code, "unrecognized_role");
/// assert_eq!(f.location, Location::line(1).with_field("messages[0].role"));
/// assert!(f.to_string().starts_with("line 1, field messages[0].role: "));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Where: line, record and/or field.
    pub location: Location,
    /// A stable machine-readable code, e.g. `missing_content`.
    pub code: String,
    /// A human-readable explanation.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.location, self.message, self.code)
    }
}

/// Validates an exported file read from `reader` as `format` (and, for JSONL,
/// `flavor`; other formats ignore it). Reads the input once, streaming.
///
/// Returns `Err` only when reading fails; everything wrong with the content
/// is in the report.
///
/// ```
/// use lora_export_core::model::{Format, JsonlFlavor};
/// use lora_export_core::validate::validate_output;
///
/// let csv = "\u{FEFF}conversation_id,title,status,tier,turn_number,role,content\r\n\
///            c1,Hi,approved,template,1,user,=SUM(A1)\r\n";
/// let report = validate_output(Format::Csv, JsonlFlavor::Openai, csv.as_bytes()).unwrap();
/// assert!(report.is_valid());
/// assert_eq!(report.records, 1);
/// assert_eq!(report.warnings[0].code, "formula_risk");
/// assert_eq!(report.warnings[0].location.field.as_deref(), Some("content"));
/// ```
pub fn validate_output<R: io::Read>(
    format: Format,
    flavor: JsonlFlavor,
    reader: R,
) -> Result<ValidationReport> {
    let reader = BufReader::with_capacity(64 * 1024, reader);
    let mut sink = Sink::default();
    match format {
        Format::Jsonl => jsonl::validate(flavor, reader, &mut sink)?,
        Format::Json => json::validate(reader, &mut sink)?,
        Format::Csv => csv::validate(reader, &mut sink)?,
        Format::Markdown => markdown::validate(reader, &mut sink)?,
        Format::Parquet => parquet::validate(reader, &mut sink)?,
    }
    Ok(sink.finish())
}

/// Collects findings, keeping at most [`MAX_FINDINGS`] of each kind.
#[derive(Debug, Default)]
struct Sink {
    report: ValidationReport,
    suppressed_errors: u64,
    suppressed_warnings: u64,
}

impl Sink {
    fn error(&mut self, location: Location, code: &str, message: impl Into<String>) {
        if self.report.errors.len() < MAX_FINDINGS {
            self.report.errors.push(finding(location, code, message));
        } else {
            self.suppressed_errors += 1;
        }
    }

    fn warning(&mut self, location: Location, code: &str, message: impl Into<String>) {
        if self.report.warnings.len() < MAX_FINDINGS {
            self.report.warnings.push(finding(location, code, message));
        } else {
            self.suppressed_warnings += 1;
        }
    }

    fn record(&mut self) {
        self.report.records += 1;
    }

    fn finish(mut self) -> ValidationReport {
        if self.suppressed_errors > 0 {
            let n = self.suppressed_errors;
            self.report.errors.push(finding(
                Location::default(),
                "errors_suppressed",
                format!("{n} more errors were found and not listed"),
            ));
        }
        if self.suppressed_warnings > 0 {
            let n = self.suppressed_warnings;
            self.report.warnings.push(finding(
                Location::default(),
                "warnings_suppressed",
                format!("{n} more warnings were found and not listed"),
            ));
        }
        self.report
    }
}

fn finding(location: Location, code: &str, message: impl Into<String>) -> Finding {
    Finding { location, code: code.to_owned(), message: message.into() }
}

/// Reads the next line into `buf` without its `\n` / `\r\n`; false at the end.
/// A UTF-8 byte order mark opening the first line is left in place.
fn next_line(reader: &mut impl BufRead, buf: &mut Vec<u8>) -> io::Result<bool> {
    buf.clear();
    if reader.read_until(b'\n', buf)? == 0 {
        return Ok(false);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
    }
    Ok(true)
}

/// True when `s` names a variant of the serde enum `T` (the model's roles,
/// statuses and tiers), so the validators accept exactly what the model does.
fn is_variant<'de, T: Deserialize<'de>>(s: &'de str) -> bool {
    use serde::de::value::{Error, StrDeserializer};
    T::deserialize(StrDeserializer::<Error>::new(s)).is_ok()
}

/// Shortens `s` for a message.
fn excerpt(s: &str) -> String {
    const MAX: usize = 40;
    match s.char_indices().nth(MAX) {
        None => s.to_owned(),
        Some((cut, _)) => format!("{}…", &s[..cut]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_keeps_max_findings_and_counts_the_rest() {
        let mut sink = Sink::default();
        for i in 0..(MAX_FINDINGS as u64 + 3) {
            sink.error(Location::line(i + 1), "x", "bad");
            sink.warning(Location::line(i + 1), "y", "meh");
        }
        let report = sink.finish();
        assert_eq!(report.errors.len(), MAX_FINDINGS + 1);
        assert_eq!(report.warnings.len(), MAX_FINDINGS + 1);
        assert_eq!(report.errors.last().unwrap().code, "errors_suppressed");
        assert!(report.errors.last().unwrap().message.starts_with("3 more"));
        assert_eq!(report.warnings.last().unwrap().code, "warnings_suppressed");
    }

    #[test]
    fn next_line_strips_crlf_and_keeps_a_last_line_without_newline() {
        let mut r = "a\r\nb\n\nc".as_bytes();
        let mut buf = Vec::new();
        let mut lines = Vec::new();
        while next_line(&mut r, &mut buf).unwrap() {
            lines.push(String::from_utf8(buf.clone()).unwrap());
        }
        assert_eq!(lines, ["a", "b", "", "c"]);
    }

    #[test]
    fn is_variant_follows_the_model() {
        use crate::model::{Role, Tier};
        assert!(is_variant::<Role>("assistant"));
        assert!(!is_variant::<Role>("gpt"));
        assert!(is_variant::<Tier>("edge_case"));
        assert!(!is_variant::<Tier>("Template"));
    }

    #[test]
    fn io_errors_are_err() {
        struct Broken;
        impl io::Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk gone"))
            }
        }
        for format in Format::ALL {
            let err = validate_output(format, JsonlFlavor::Openai, Broken).unwrap_err();
            assert_eq!(err.code(), "IO_ERROR", "{format}");
        }
    }
}
