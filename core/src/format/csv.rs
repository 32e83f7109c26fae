use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Write;

use super::content::{turn_content, Dropped};
use super::{ExportTransformer, TransformerSettings};
use crate::model::{Conversation, ExportConfig, ParentType};
use crate::Result;

/// The UTF-8 byte order mark, which tells Excel the file is UTF-8.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Characters that make a spreadsheet read a cell as a formula (OWASP CSV
/// injection).
const FORMULA_TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// CSV for spreadsheets and data frames: one row per turn, written through
/// the `csv` crate.
///
/// The file starts with a UTF-8 byte order mark (`EF BB BF`) and a header
/// row. The columns, in this order:
///
/// | columns | when |
/// |---|---|
/// | `conversation_id`, `title`, `status`, `tier`, `turn_number`, `role`, `content` | always |
/// | `quality_score` | `includeQualityScores` |
/// | `persona`, `emotion`, `topic` | `includeMetadata` |
/// | `created_at`, `updated_at` | `includeTimestamps` |
/// | `parent_id`, `parent_type` | `includeParentReferences` |
/// | `review_history` | `includeApprovalHistory` |
/// | `content_truncated` | `includeFullContent` is false |
///
/// - The conversation's fields repeat on each of its rows; `turn_number`
///   counts from 1.
/// - `quality_score` is written as the JSON formats write it (`8.5`, `9.0`);
///   `review_history` is the review actions as one compact JSON array;
///   `content_truncated` is `true` or `false`. An absent value is an empty cell.
/// - Records end with CRLF (RFC 4180, what Excel writes). A field is quoted
///   only when it contains a comma, a double quote, CR or LF; quotes inside
///   are doubled.
/// - With `csvFormulaGuard` (default on), a text cell starting with `=`, `+`,
///   `-`, `@`, TAB or CR gets a leading `'`, so that a spreadsheet shows it
///   as text instead of running it. The numeric cells (`turn_number`,
///   `quality_score`) are never changed.
/// - An export without conversations is the BOM and the header.
///
/// ```
/// use lora_export_core::format::{CsvTransformer, ExportTransformer, TransformerSettings};
/// use lora_export_core::model::{Conversation, ExportConfig, Format, Scope};
///
/// let mut config = ExportConfig::new(Scope::All, Format::Csv);
/// config.include_metadata = false;
/// config.include_timestamps = false;
/// let settings = TransformerSettings { config, export_date: chrono::Utc::now(), counted_tokens: false };
/// let c: Conversation = serde_json::from_str(r#"{"conversation_id":"c1","title":"Sums",
///   "status":"approved","qualityScore":8.5,"tier":"template","createdAt":"2025-10-29",
///   "updatedAt":"2025-10-29","turns":[{"role":"user","content":"Add A1, A2"},
///   {"role":"assistant","content":"=A1+A2"}]}"#).unwrap();
/// let mut csv = CsvTransformer::new(&settings);
/// let mut out = Vec::new();
/// csv.begin(&mut out).unwrap();
/// csv.write_conversation(&mut out, &c).unwrap();
/// csv.finish(&mut out).unwrap();
/// assert_eq!(
///     String::from_utf8(out).unwrap(),
///     "\u{FEFF}conversation_id,title,status,tier,turn_number,role,content,quality_score\r\n\
///      c1,Sums,approved,template,1,user,\"Add A1, A2\",8.5\r\n\
///      c1,Sums,approved,template,2,assistant,'=A1+A2,8.5\r\n"
/// );
/// ```
#[derive(Debug)]
pub struct CsvTransformer {
    columns: Vec<Column>,
    formula_guard: bool,
    full_content: bool,
    builder: csv::WriterBuilder,
    buf: Vec<u8>,
    dropped: Dropped,
}

impl CsvTransformer {
    /// A CSV writer for these settings.
    pub fn new(settings: &TransformerSettings) -> Self {
        let config = &settings.config;
        let mut builder = csv::WriterBuilder::new();
        builder.terminator(csv::Terminator::CRLF);
        CsvTransformer {
            columns: Column::for_config(config),
            formula_guard: config.csv_formula_guard,
            full_content: config.include_full_content,
            builder,
            buf: Vec::with_capacity(16 * 1024),
            dropped: Dropped::default(),
        }
    }

    /// Serialises the rows of `c` into `self.buf`.
    fn serialize_rows(&mut self, c: &Conversation) -> Result<()> {
        let score = match c.quality_score {
            Some(score) if self.columns.contains(&Column::QualityScore) => {
                serde_json::to_string(&score)?
            }
            _ => String::new(),
        };
        let history = if self.columns.contains(&Column::ReviewHistory) {
            serde_json::to_string(&c.review_history)?
        } else {
            String::new()
        };
        self.buf.clear();
        let mut wtr = self.builder.from_writer(&mut self.buf);
        for (i, turn) in c.turns.iter().enumerate() {
            let (content, truncated) = turn_content(&turn.content, self.full_content);
            let row = Row {
                conversation: c,
                turn_number: (i + 1).to_string(),
                role: turn.role.as_str(),
                content: &content,
                truncated,
                score: &score,
                history: &history,
            };
            for column in &self.columns {
                match row.cell(*column) {
                    Cell::Text(text) => {
                        wtr.write_field(guard(text, self.formula_guard).as_bytes())?
                    }
                    Cell::Number(number) => wtr.write_field(number)?,
                }
            }
            wtr.write_record(None::<&[u8]>)?;
        }
        wtr.flush()?;
        Ok(())
    }
}

impl ExportTransformer for CsvTransformer {
    fn begin(&mut self, out: &mut dyn Write) -> Result<()> {
        self.buf.clear();
        self.buf.extend_from_slice(UTF8_BOM);
        {
            let mut wtr = self.builder.from_writer(&mut self.buf);
            wtr.write_record(self.columns.iter().map(|c| c.name()))?;
            wtr.flush()?;
        }
        out.write_all(&self.buf)?;
        Ok(())
    }

    fn write_conversation(
        &mut self,
        out: &mut dyn Write,
        conversation: &Conversation,
    ) -> Result<()> {
        self.serialize_rows(conversation)?;
        out.write_all(&self.buf)?;
        self.dropped.count_beyond_text(conversation);
        Ok(())
    }

    fn dropped_fields(&self) -> BTreeMap<String, u64> {
        self.dropped.to_map()
    }

    fn finish(&mut self, _out: &mut dyn Write) -> Result<()> {
        Ok(())
    }

    fn file_extension(&self) -> &'static str {
        "csv"
    }

    fn mime_type(&self) -> &'static str {
        "text/csv; charset=utf-8"
    }
}

/// What the cells of one row are made of.
struct Row<'a> {
    conversation: &'a Conversation,
    turn_number: String,
    role: &'a str,
    content: &'a str,
    truncated: bool,
    score: &'a str,
    history: &'a str,
}

impl Row<'_> {
    /// The cell of `column` in this row.
    fn cell(&self, column: Column) -> Cell<'_> {
        let c = self.conversation;
        match column {
            Column::ConversationId => Cell::Text(&c.conversation_id),
            Column::Title => Cell::Text(c.title.as_deref().unwrap_or("")),
            Column::Status => Cell::Text(c.status.map_or("", |s| s.as_str())),
            Column::Tier => Cell::Text(c.tier.map_or("", |t| t.as_str())),
            Column::TurnNumber => Cell::Number(&self.turn_number),
            Column::Role => Cell::Text(self.role),
            Column::Content => Cell::Text(self.content),
            Column::QualityScore => Cell::Number(self.score),
            Column::Persona => Cell::Text(c.persona.as_deref().unwrap_or("")),
            Column::Emotion => Cell::Text(c.emotion.as_deref().unwrap_or("")),
            Column::Topic => Cell::Text(c.topic.as_deref().unwrap_or("")),
            Column::CreatedAt => Cell::Text(c.created_at.as_ref().map_or("", |t| t.as_str())),
            Column::UpdatedAt => Cell::Text(c.updated_at.as_ref().map_or("", |t| t.as_str())),
            Column::ParentId => Cell::Text(c.parent_id.as_deref().unwrap_or("")),
            Column::ParentType => Cell::Text(c.parent_type.map_or("", ParentType::as_str)),
            Column::ReviewHistory => Cell::Text(self.history),
            Column::ContentTruncated => Cell::Text(if self.truncated { "true" } else { "false" }),
        }
    }
}

/// A cell's value: text (subject to the formula guard) or a number.
enum Cell<'a> {
    Text(&'a str),
    Number(&'a str),
}

/// `text`, with a leading `'` when the guard is on and it would start a
/// formula.
fn guard(text: &str, on: bool) -> Cow<'_, str> {
    if on && text.starts_with(FORMULA_TRIGGERS) {
        let mut guarded = String::with_capacity(text.len() + 1);
        guarded.push('\'');
        guarded.push_str(text);
        Cow::Owned(guarded)
    } else {
        Cow::Borrowed(text)
    }
}

/// One column of the CSV output; the header and every row are written from
/// the same list, so they always agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    ConversationId,
    Title,
    Status,
    Tier,
    TurnNumber,
    Role,
    Content,
    QualityScore,
    Persona,
    Emotion,
    Topic,
    CreatedAt,
    UpdatedAt,
    ParentId,
    ParentType,
    ReviewHistory,
    ContentTruncated,
}

impl Column {
    /// The columns of an export with `config`, in order.
    fn for_config(config: &ExportConfig) -> Vec<Column> {
        use Column::*;
        let mut columns = vec![ConversationId, Title, Status, Tier, TurnNumber, Role, Content];
        let optional: [(bool, &[Column]); 6] = [
            (config.include_quality_scores, &[QualityScore]),
            (config.include_metadata, &[Persona, Emotion, Topic]),
            (config.include_timestamps, &[CreatedAt, UpdatedAt]),
            (config.include_parent_references, &[ParentId, ParentType]),
            (config.include_approval_history, &[ReviewHistory]),
            (!config.include_full_content, &[ContentTruncated]),
        ];
        for (wanted, group) in optional {
            if wanted {
                columns.extend_from_slice(group);
            }
        }
        columns
    }

    /// The header name.
    fn name(self) -> &'static str {
        match self {
            Column::ConversationId => "conversation_id",
            Column::Title => "title",
            Column::Status => "status",
            Column::Tier => "tier",
            Column::TurnNumber => "turn_number",
            Column::Role => "role",
            Column::Content => "content",
            Column::QualityScore => "quality_score",
            Column::Persona => "persona",
            Column::Emotion => "emotion",
            Column::Topic => "topic",
            Column::CreatedAt => "created_at",
            Column::UpdatedAt => "updated_at",
            Column::ParentId => "parent_id",
            Column::ParentType => "parent_type",
            Column::ReviewHistory => "review_history",
            Column::ContentTruncated => "content_truncated",
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::format::test_fixture::conversation;
    use crate::model::{Format, Scope};

    fn config() -> ExportConfig {
        ExportConfig::new(Scope::AllData, Format::Csv)
    }

    fn greeting() -> Conversation {
        conversation("Greeting", &[("user", "Hi, there"), ("assistant", "Hello!")])
    }

    fn export(config: ExportConfig, conversations: &[Conversation]) -> String {
        let settings =
            TransformerSettings { config, export_date: chrono::Utc::now(), counted_tokens: false };
        let mut csv = CsvTransformer::new(&settings);
        let mut out = Vec::new();
        csv.begin(&mut out).unwrap();
        for c in conversations {
            csv.write_conversation(&mut out, c).unwrap();
        }
        csv.finish(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// Parses an export as Excel-compatible readers do; fails on rows whose
    /// length differs from the header's.
    fn read(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
        let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
        let header = reader.headers().unwrap().iter().map(str::to_owned).collect();
        let rows =
            reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect();
        (header, rows)
    }

    fn header_of(config: ExportConfig) -> String {
        let text = export(config, &[]);
        text.strip_prefix('\u{FEFF}').unwrap().strip_suffix("\r\n").unwrap().to_owned()
    }

    #[test]
    fn small_conversation_exact_output() {
        assert_eq!(
            export(config(), &[greeting()]),
            "\u{FEFF}conversation_id,title,status,tier,turn_number,role,content,quality_score,\
             persona,emotion,topic,created_at,updated_at\r\n\
             c1,Greeting,approved,template,1,user,\"Hi, there\",8.5,Anxious Investor,,,\
             2025-10-29T10:00:00Z,2025-10-30T09:30:00Z\r\n\
             c1,Greeting,approved,template,2,assistant,Hello!,8.5,Anxious Investor,,,\
             2025-10-29T10:00:00Z,2025-10-30T09:30:00Z\r\n"
        );
    }

    #[test]
    fn empty_export_is_bom_and_header() {
        let text = export(config(), &[]);
        assert!(text.as_bytes().starts_with(UTF8_BOM));
        assert_eq!(
            text,
            "\u{FEFF}conversation_id,title,status,tier,turn_number,role,content,quality_score,\
             persona,emotion,topic,created_at,updated_at\r\n"
        );
    }

    #[test]
    fn each_flag_adds_its_columns() {
        let base = "conversation_id,title,status,tier,turn_number,role,content";
        let mut none = config();
        none.include_metadata = false;
        none.include_quality_scores = false;
        none.include_timestamps = false;
        assert_eq!(header_of(none.clone()), base);
        type Set = fn(&mut ExportConfig);
        let flags: [(Set, &str); 6] = [
            (|c| c.include_quality_scores = true, "quality_score"),
            (|c| c.include_metadata = true, "persona,emotion,topic"),
            (|c| c.include_timestamps = true, "created_at,updated_at"),
            (|c| c.include_parent_references = true, "parent_id,parent_type"),
            (|c| c.include_approval_history = true, "review_history"),
            (|c| c.include_full_content = false, "content_truncated"),
        ];
        for (set, added) in flags {
            let mut one = none.clone();
            set(&mut one);
            assert_eq!(header_of(one), format!("{base},{added}"));
        }
    }

    #[test]
    fn every_flag_on_exact_output() {
        let mut all = config();
        all.include_parent_references = true;
        all.include_approval_history = true;
        all.include_full_content = false;
        let mut c = conversation("T", &[("user", &"x".repeat(501)), ("assistant", "ok")]);
        c.quality_score = Some(9.0);
        c.parent_id = Some("tpl-1".into());
        c.parent_type = Some(ParentType::Template);
        c.review_history = serde_json::from_str(
            r#"[{"id":"r1","action":"approved","performedBy":"ana","timestamp":"2025-10-30","comment":"a, \"b\""}]"#,
        )
        .unwrap();
        let history = r#""[{""id"":""r1"",""action"":""approved"",""performedBy"":""ana"",""timestamp"":""2025-10-30"",""comment"":""a, \""b\""""}]""#;
        let tail = format!(
            "9.0,Anxious Investor,,,2025-10-29T10:00:00Z,2025-10-30T09:30:00Z,tpl-1,template,{history}"
        );
        assert_eq!(
            export(all, &[c]),
            format!(
                "\u{FEFF}conversation_id,title,status,tier,turn_number,role,content,quality_score,\
                 persona,emotion,topic,created_at,updated_at,parent_id,parent_type,review_history,\
                 content_truncated\r\n\
                 c1,T,approved,template,1,user,{}…,{tail},true\r\n\
                 c1,T,approved,template,2,assistant,ok,{tail},false\r\n",
                "x".repeat(500)
            )
        );
    }

    #[test]
    fn formula_guard_prefixes_text_cells_only() {
        let mut c =
            conversation("+title", &[("user", "=1+1"), ("assistant", "-2"), ("user", "@x")]);
        c.conversation_id = "\tid".into();
        c.persona = Some("\rcr".into());
        c.emotion = Some("calm = good".into());
        c.quality_score = Some(-1.5);
        let (_, rows) = read(&export(config(), &[c.clone()]));
        assert_eq!(
            rows[0][..8],
            ["'\tid", "'+title", "approved", "template", "1", "user", "'=1+1", "-1.5"]
        );
        assert_eq!(rows[1][6], "'-2");
        assert_eq!(rows[2][6], "'@x");
        assert_eq!(rows[0][8..10], ["'\rcr", "calm = good"]);

        let mut off = config();
        off.csv_formula_guard = false;
        let (_, rows) = read(&export(off, &[c]));
        assert_eq!(
            rows[0][..8],
            ["\tid", "+title", "approved", "template", "1", "user", "=1+1", "-1.5"]
        );
        assert_eq!(rows[0][8], "\rcr");
    }

    #[test]
    fn hard_characters_round_trip() {
        let big = "ü,\"\r\n".repeat(200_000);
        let contents = [
            "say \"hi\", then \"bye\"",
            "a,b,,c",
            "line 1\r\nline 2\nline 3\rline 4",
            "\ttabbed\tcells\t",
            "  padded  ",
            "ünïcödé — 日本語 🎉 \u{200B}",
            "",
            "\"",
            big.as_str(),
        ];
        assert!(big.len() >= 1_000_000);
        let turns: Vec<_> = contents.iter().map(|c| ("user", *c)).collect();
        let mut off = config();
        off.csv_formula_guard = false;
        let (header, rows) = read(&export(off, &[conversation("a \"quoted\", title\r\n", &turns)]));
        assert_eq!(header[6], "content");
        assert_eq!(rows.len(), contents.len());
        for (row, content) in rows.iter().zip(contents) {
            assert_eq!(row[1], "a \"quoted\", title\r\n");
            assert_eq!(row[6], content);
        }
    }

    #[test]
    fn numbers_are_written_like_json() {
        let mut c = greeting();
        c.quality_score = Some(9.0);
        let (_, rows) = read(&export(config(), &[c]));
        assert_eq!(
            (rows[0][4].as_str(), rows[1][4].as_str(), rows[0][7].as_str()),
            ("1", "2", "9.0")
        );
    }

    proptest! {
        #[test]
        fn arbitrary_text_round_trips(title in any::<String>(), content in any::<String>()) {
            let c = conversation(&title, &[("user", &content)]);
            let mut off = config();
            off.csv_formula_guard = false;
            let (_, rows) = read(&export(off, std::slice::from_ref(&c)));
            prop_assert_eq!(&rows[0][1], &title);
            prop_assert_eq!(&rows[0][6], &content);

            let (_, rows) = read(&export(config(), &[c]));
            for (cell, original) in [(&rows[0][1], &title), (&rows[0][6], &content)] {
                if original.starts_with(FORMULA_TRIGGERS) {
                    prop_assert_eq!(cell, &format!("'{original}"));
                } else {
                    prop_assert_eq!(cell, original);
                }
            }
        }
    }
}
