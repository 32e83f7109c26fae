//! CSV: one row per turn, read row by row with the csv crate in flexible
//! mode so that a row of the wrong width is reported, not fatal.
//!
//! Locations: `line` is the line a row starts on (the header is line 1),
//! `record` the 1-based data row (the header is not counted), `field` the
//! column name.
//!
//! Rows end at `\n`, and the `\r` of a CRLF is taken off the last field:
//! the csv crate's own CRLF handling leaves `\n` for the next row, which puts
//! every row's reported line one short.

use std::io::{self, BufRead, Read};

use super::{excerpt, is_variant, Sink};
use crate::model::{ConversationStatus, ParentType, Role, Tier, Timestamp};
use crate::{Location, Result};

const BOM: &[u8] = b"\xEF\xBB\xBF";
/// The columns every export starts with, in this order.
const MANDATORY: [&str; 7] =
    ["conversation_id", "title", "status", "tier", "turn_number", "role", "content"];
/// The columns the include flags may add.
const OPTIONAL: [&str; 10] = [
    "quality_score",
    "persona",
    "emotion",
    "topic",
    "created_at",
    "updated_at",
    "parent_id",
    "parent_type",
    "review_history",
    "content_truncated",
];
/// Columns the formula guard leaves alone (numbers and booleans).
const NOT_TEXT: [&str; 3] = ["turn_number", "quality_score", "content_truncated"];
/// First characters a spreadsheet reads as a formula (OWASP CSV injection).
const FORMULA_TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

pub(super) fn validate(mut reader: impl BufRead, sink: &mut Sink) -> Result<()> {
    let mut head = Vec::with_capacity(3);
    reader.by_ref().take(3).read_to_end(&mut head)?;
    if head == BOM {
        head.clear();
    } else if !head.is_empty() {
        let msg = "no UTF-8 byte order mark: Excel will misread non-ASCII text";
        sink.warning(Location::line(1), "missing_bom", msg);
    }
    let mut rows = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(io::Cursor::new(head).chain(reader));
    let mut row = csv::ByteRecord::new();
    if !rows.read_byte_record(&mut row).map_err(read_error)? {
        sink.error(Location::line(1), "missing_header", "the file has no header row");
        return Ok(());
    }
    let header = check_header(&cells(&row).collect::<Vec<_>>(), sink);
    let mut previous: Option<(String, u64)> = None;
    let mut data_row = 0u64;
    while rows.read_byte_record(&mut row).map_err(read_error)? {
        let line = row.position().map_or(0, |p| p.line());
        if row.len() == 1 && cells(&row).all(<[u8]>::is_empty) {
            sink.warning(Location::line(line), "blank_line", "blank line between rows");
            continue;
        }
        data_row += 1;
        sink.record();
        let at = |field: &str| Location {
            line: Some(line),
            record: Some(data_row),
            field: (!field.is_empty()).then(|| field.to_owned()),
        };
        if row.len() != header.len() {
            let msg = format!("{} fields, the header has {}", row.len(), header.len());
            sink.error(at(""), "field_count", msg);
            continue;
        }
        let mut id = None;
        let mut turn = None;
        for (name, bytes) in header.iter().zip(cells(&row)) {
            let Ok(cell) = std::str::from_utf8(bytes) else {
                sink.error(at(name), "invalid_utf8", "the cell is not valid UTF-8");
                continue;
            };
            match check_cell(name, cell, &at(name), sink) {
                Cell::Id => id = Some(cell),
                Cell::Turn(n) => turn = Some(n),
                Cell::Other => {}
            }
            if !NOT_TEXT.contains(&name.as_str()) && cell.starts_with(FORMULA_TRIGGERS) {
                let msg = format!(
                    "`{}` starts with a formula trigger; the formula guard would prefix `'`",
                    excerpt(cell)
                );
                sink.warning(at(name), "formula_risk", msg);
            }
        }
        if let (Some(id), Some(turn)) = (id, turn) {
            let expected = match &previous {
                Some((last, n)) if last == id => n + 1,
                _ => 1,
            };
            if turn != expected {
                let msg = format!(
                    "turn {turn} of conversation `{}` where turn {expected} was due",
                    excerpt(id)
                );
                sink.warning(at("turn_number"), "turn_out_of_order", msg);
            }
            previous = Some((id.to_owned(), turn));
        }
    }
    Ok(())
}

/// The fields of `row`, the last without the `\r` of a CRLF.
fn cells(row: &csv::ByteRecord) -> impl Iterator<Item = &[u8]> {
    let last = row.len().saturating_sub(1);
    row.iter().enumerate().map(move |(i, cell)| match cell {
        [rest @ .., b'\r'] if i == last => rest,
        cell => cell,
    })
}

/// Checks the header row and returns the column names (`""` for a name that
/// is not UTF-8).
fn check_header(row: &[&[u8]], sink: &mut Sink) -> Vec<String> {
    let names: Vec<String> =
        row.iter().map(|b| std::str::from_utf8(b).unwrap_or_default().to_owned()).collect();
    let at = |name: &str| Location::line(1).with_field(name);
    for (i, expected) in MANDATORY.iter().enumerate() {
        let found = names.get(i).map_or("nothing", String::as_str);
        if found != *expected {
            let msg = format!("column {} is `{}`, expected `{expected}`", i + 1, excerpt(found));
            sink.error(at(expected), "invalid_header", msg);
        }
    }
    for (i, name) in names.iter().enumerate() {
        if names[..i].contains(name) {
            sink.error(
                at(name),
                "duplicate_column",
                format!("column `{}` appears twice", excerpt(name)),
            );
        } else if i >= MANDATORY.len() && !OPTIONAL.contains(&name.as_str()) {
            let msg = format!("column {} `{}` is not a known column", i + 1, excerpt(name));
            sink.error(at(name), "unknown_column", msg);
        }
    }
    names
}

/// What a cell tells the row-level checks.
enum Cell {
    Id,
    Turn(u64),
    Other,
}

fn check_cell(name: &str, cell: &str, at: &Location, sink: &mut Sink) -> Cell {
    let mut fail = |code: &str, what: &str| {
        sink.error(at.clone(), code, format!("`{}` is not {what}", excerpt(cell)));
    };
    match name {
        "conversation_id" if cell.is_empty() => fail("missing_value", "a conversation id"),
        "conversation_id" => return Cell::Id,
        // A record without one of these has an empty cell (nothing is
        // invented).
        "status" | "tier" | "quality_score" | "created_at" | "updated_at" if cell.is_empty() => {}
        "status" if !is_variant::<ConversationStatus>(cell) => {
            fail("invalid_enum", "a known status")
        }
        "tier" if !is_variant::<Tier>(cell) => fail("invalid_enum", "a known tier"),
        "parent_type" if !cell.is_empty() && !is_variant::<ParentType>(cell) => {
            fail("invalid_enum", "template or scenario")
        }
        "role" if !is_variant::<Role>(cell) => {
            fail("unrecognized_role", "system, developer, user, assistant or tool")
        }
        // A turn that only calls tools has no text; its calls are counted
        // as dropped by the export.
        "content" if cell.is_empty() => {
            let msg = "empty content (a turn that only calls tools, or a blank one)";
            sink.warning(at.clone(), "missing_content", msg);
        }
        "turn_number" => match cell.parse::<u64>() {
            Ok(n) if n > 0 && !cell.starts_with('+') => return Cell::Turn(n),
            _ => fail("invalid_turn_number", "a positive integer"),
        },
        "quality_score" => match cell.parse::<f64>() {
            Ok(q) if (0.0..=10.0).contains(&q) => {}
            _ => fail("invalid_quality_score", "a number from 0 to 10"),
        },
        "content_truncated" if cell != "true" && cell != "false" => {
            fail("invalid_bool", "true or false")
        }
        "created_at" | "updated_at" if Timestamp::parse(cell).is_none() => {
            fail("invalid_timestamp", "an ISO-8601 timestamp")
        }
        _ => {}
    }
    Cell::Other
}

/// An I/O error stays an I/O error; the csv crate reports nothing else for
/// byte records in flexible mode.
fn read_error(e: csv::Error) -> crate::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => io.into(),
        other => io::Error::new(io::ErrorKind::InvalidData, format!("{other:?}")).into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Format, JsonlFlavor};
    use crate::validate::{validate_output, ValidationReport};

    fn check(text: &str) -> ValidationReport {
        validate_output(Format::Csv, JsonlFlavor::Openai, text.as_bytes()).unwrap()
    }

    const HEADER: &str = "conversation_id,title,status,tier,turn_number,role,content,quality_score,persona,emotion,topic,created_at,updated_at,parent_id,parent_type,review_history,content_truncated";

    /// A hand-built export with every optional column: quoted commas, quotes,
    /// CRLF inside a cell, a guarded formula, a negative-looking guarded cell.
    fn sample() -> String {
        let rows = [
            HEADER,
            r#"c1,"Greeting, ""quoted""",approved,template,1,user,"Hi,
there",8.5,Anxious Investor,Fear,Markets,2025-10-29T10:00:00Z,2025-10-29T11:00:00Z,,,[],false"#,
            "c1,\"Greeting, \"\"quoted\"\"\",approved,template,2,assistant,'=SUM(A1),8.5,,,,2025-10-29T10:00:00Z,2025-10-29T11:00:00Z,,,[],false",
            "c2,Second,approved,edge_case,1,system,'-1 is fine,10,,,,2025-10-29T10:00:00Z,2025-10-29T11:00:00Z,t1,template,\"[{\"\"action\"\":\"\"approved\"\"}]\",true",
            "c2,Second,approved,edge_case,2,user,\"tab\there\",0,,,,2025-10-29,2025-10-29 10:00:00+00,t1,template,[],true",
        ];
        format!("\u{FEFF}{}\r\n", rows.join("\r\n").replace("Hi,\nthere", "Hi,\r\nthere"))
    }

    #[test]
    fn a_full_sample_is_valid() {
        let r = check(&sample());
        assert!(r.is_valid(), "{:#?}", r.errors);
        assert!(r.warnings.is_empty(), "{:#?}", r.warnings);
        assert_eq!(r.records, 4);
    }

    #[test]
    fn mandatory_columns_alone_and_an_empty_export_are_valid() {
        let r = check("\u{FEFF}conversation_id,title,status,tier,turn_number,role,content\r\n");
        assert!(r.is_valid() && r.warnings.is_empty(), "{r:#?}");
        assert_eq!(r.records, 0);
        let r = check("\u{FEFF}conversation_id,title,status,tier,turn_number,role,content,persona\r\nc,t,draft,scenario,1,assistant,ok,\r\n");
        assert!(r.is_valid() && r.warnings.is_empty(), "{r:#?}");
    }

    #[test]
    fn missing_bom_is_a_warning_and_an_empty_file_an_error() {
        let r = check(&sample()[3..].replace("\r\n", "\n"));
        assert!(r.is_valid());
        assert_eq!(r.warnings.len(), 1);
        assert_eq!(
            (r.warnings[0].code.as_str(), r.warnings[0].location.clone()),
            ("missing_bom", Location::line(1))
        );
        let r = check("");
        assert_eq!(r.errors[0].code, "missing_header");
        let r = check("\u{FEFF}");
        assert_eq!(r.errors[0].code, "missing_header");
    }

    #[test]
    fn header_negative_cases() {
        let cases = [
            (HEADER.replace("status,tier", "tier,status"), "invalid_header", "status"),
            ("conversation_id,title".to_owned(), "invalid_header", "status"),
            (HEADER.replace("persona", "mood"), "unknown_column", "mood"),
            (HEADER.replace("persona", "topic"), "duplicate_column", "topic"),
        ];
        for (header, code, field) in cases {
            let r = check(&format!("\u{FEFF}{header}\r\n"));
            assert_eq!(r.errors[0].code, code, "{header}");
            assert_eq!(r.errors[0].location, Location::line(1).with_field(field), "{header}");
        }
    }

    /// The sample with the third data row (line 5, record 3) changed.
    fn with_row3(find: &str, replace: &str) -> ValidationReport {
        let text = sample();
        let (head, tail) = text.split_at(text.find("c2,Second").unwrap());
        check(&format!("{head}{}", tail.replacen(find, replace, 1)))
    }

    #[test]
    fn row_negative_cases_are_located() {
        let cases = [
            ("c2,Second", ",Second", "missing_value", "conversation_id"),
            ("approved", "shipped", "invalid_enum", "status"),
            ("edge_case", "edge", "invalid_enum", "tier"),
            (",1,system", ",0,system", "invalid_turn_number", "turn_number"),
            (",1,system", ",one,system", "invalid_turn_number", "turn_number"),
            ("system", "robot", "unrecognized_role", "role"),
            (",10,", ",10.5,", "invalid_quality_score", "quality_score"),
            (",10,", ",NaN,", "invalid_quality_score", "quality_score"),
            ("2025-10-29T10:00:00Z", "soon", "invalid_timestamp", "created_at"),
            ("t1,template", "t1,tpl", "invalid_enum", "parent_type"),
            ("true\r\n", "yes\r\n", "invalid_bool", "content_truncated"),
        ];
        for (find, replace, code, field) in cases {
            let r = with_row3(find, replace);
            assert_eq!(r.errors.len(), 1, "{find}: {:#?}", r.errors);
            let at = Location { line: Some(5), record: Some(3), field: Some(field.into()) };
            assert_eq!((r.errors[0].code.as_str(), &r.errors[0].location), (code, &at), "{find}");
        }
        let blank = with_row3("'-1 is fine", "");
        assert!(blank.is_valid());
        assert_eq!(blank.warnings[0].code, "missing_content");
    }

    #[test]
    fn rows_of_the_wrong_width_are_reported() {
        let r = with_row3(",true\r\n", "\r\n");
        assert_eq!(r.errors.len(), 1, "{:#?}", r.errors);
        assert_eq!(r.errors[0].code, "field_count");
        assert_eq!(r.errors[0].location, Location { line: Some(5), record: Some(3), field: None });
        assert_eq!(r.errors[0].message, "16 fields, the header has 17");
    }

    #[test]
    fn formula_triggers_in_text_cells_are_warnings() {
        let r = with_row3("'-1 is fine,10,,,", "-1 is fine,10,@me,\tx,");
        assert!(r.is_valid(), "{:#?}", r.errors);
        let got: Vec<_> = r
            .warnings
            .iter()
            .map(|w| (w.code.as_str(), w.location.field.as_deref().unwrap()))
            .collect();
        assert_eq!(
            got,
            [("formula_risk", "content"), ("formula_risk", "persona"), ("formula_risk", "emotion")]
        );
        assert_eq!(r.warnings[0].location.line, Some(5));
        // A negative number in a numeric column is not a risk.
        let r = check("\u{FEFF}conversation_id,title,status,tier,turn_number,role,content,quality_score\r\nc,t,draft,template,1,user,x,-0\r\n");
        assert!(r.warnings.is_empty(), "{:#?}", r.warnings);
    }

    #[test]
    fn turns_must_count_up_within_a_conversation() {
        let r = with_row3(",1,system", ",2,system");
        assert!(r.is_valid());
        assert_eq!(r.warnings[0].code, "turn_out_of_order");
        assert_eq!(
            r.warnings[0].location,
            Location { line: Some(5), record: Some(3), field: Some("turn_number".into()) }
        );
    }

    #[test]
    fn blank_lines_are_warnings() {
        let r = check(&format!("{}\r\n", sample()));
        assert!(r.is_valid(), "{:#?}", r.errors);
        assert_eq!(r.warnings[0].code, "blank_line");
        assert_eq!(r.warnings[0].location, Location::line(7));
        assert_eq!(r.records, 4);
    }

    #[test]
    fn invalid_utf8_is_located() {
        let mut bytes = sample().into_bytes();
        let at = bytes.windows(5).position(|w| w == b"Fear,").unwrap();
        bytes[at] = 0xFF;
        let r = validate_output(Format::Csv, JsonlFlavor::Openai, &bytes[..]).unwrap();
        assert_eq!(r.errors.len(), 1);
        assert_eq!(r.errors[0].code, "invalid_utf8");
        assert_eq!(
            r.errors[0].location,
            Location { line: Some(2), record: Some(1), field: Some("emotion".into()) }
        );
    }
}
