use std::collections::BTreeMap;
use std::io::Write;

use super::content::{turn_content, Dropped, TRUNCATION_LIMIT};
use super::{ExportTransformer, TransformerSettings};
use crate::model::{Conversation, ConversationTurn, ExportConfig, Role};
use crate::Result;

/// Markdown for human review, following the seed template:
///
/// ```text
/// # Conversation: <title>
///
/// **Metadata:**
/// - ID: <conversation_id>
/// - Tier: template
/// - Status: approved
/// - Quality Score: 8.5                        (includeQualityScores)
/// - Persona: … / - Emotion: … / - Topic: …    (includeMetadata, each when present)
/// - Created: <createdAt> / - Updated: <updatedAt>   (includeTimestamps)
/// - Parent: <parentType> <parentId>           (includeParentReferences, when present)
/// - Review History:                           (includeApprovalHistory; `none` when empty)
///   - <timestamp>: <action> by <performedBy> — <comment>
///
/// ## Conversation
///
/// **User:**
///
/// > first line
/// > second line
///
/// **Assistant:**
///
/// > …
///
/// ---
/// ```
///
/// `**System:**` labels system turns. Every conversation ends with a `---`
/// rule and the next one starts after a blank line; the output depends only
/// on the config and the conversations. An export without conversations is
/// empty. ID, tier and status are always listed; the other metadata lines
/// follow their own flags, as the CSV columns do, and an empty persona,
/// emotion or topic counts as absent.
///
/// A turn keeps its own Markdown (lists, emphasis, code fences) but stays
/// inside its blockquote and cannot forge the document's structure:
/// - every line of the turn is prefixed with `> ` (an empty line with `>`),
///   so none can leave the quote, and the quote is followed by a blank line,
///   so no later line is drawn into it; LF, CRLF and a lone CR all end a
///   line;
/// - raw HTML is never emitted: outside fenced code, `<` is written `&lt;`,
///   and an `&` that would start a character reference (`&amp;`, `&#60;`)
///   is written `&amp;`, so the text shows as written. Inside a fenced code
///   block opened at the start of a line, the code is written unchanged;
///   its closing fence is written without indentation or trailing
///   whitespace, so every CommonMark reader agrees where the code ends.
///   Code a renderer may see but this writer cannot place for sure (inline
///   code spans, indented code, a fence opened after indentation, e.g. in a
///   list item, and everything after such a fence in the same turn) gets
///   the escapes too, which then show literally;
/// - the title and metadata values are put on one line (line breaks become
///   spaces) and their Markdown characters are backslash-escaped, so they
///   render as plain text.
///
/// With `includeFullContent` off, a turn longer than 500 characters is cut
/// and followed, after its quote, by the line
/// `*(truncated to 500 characters)*`.
///
/// ```
/// use lora_export_core::{preview, model::{Conversation, ExportConfig, Format, Scope}};
///
/// let c: Conversation = serde_json::from_str(r#"{"conversation_id":"c1","title":"Refund *now*",
///   "status":"approved","qualityScore":8.5,"tier":"template","createdAt":"2025-10-29",
///   "updatedAt":"2025-10-29","turns":[{"role":"user","content":"Hi\n<b>Help</b>"},
///   {"role":"assistant","content":"Sure:\n- step 1"}]}"#).unwrap();
/// let mut config = ExportConfig::new(Scope::All, Format::Markdown);
/// config.include_timestamps = false;
/// let lines = [
///     "# Conversation: Refund \\*now\\*",
///     "",
///     "**Metadata:**",
///     "- ID: c1",
///     "- Tier: template",
///     "- Status: approved",
///     "- Quality Score: 8.5",
///     "",
///     "## Conversation",
///     "",
///     "**User:**",
///     "",
///     "> Hi",
///     "> &lt;b>Help&lt;/b>",
///     "",
///     "**Assistant:**",
///     "",
///     "> Sure:",
///     "> - step 1",
///     "",
///     "---",
/// ];
/// assert_eq!(preview(vec![c], &config, 3).unwrap(), lines.join("\n") + "\n");
/// ```
#[derive(Debug)]
pub struct MarkdownTransformer {
    config: ExportConfig,
    buf: String,
    written: bool,
    dropped: Dropped,
}

impl MarkdownTransformer {
    /// A Markdown writer for these settings.
    pub fn new(settings: &TransformerSettings) -> Self {
        MarkdownTransformer {
            config: settings.config.clone(),
            buf: String::with_capacity(16 * 1024),
            written: false,
            dropped: Dropped::default(),
        }
    }

    /// Renders `c` into `self.buf`.
    fn render(&mut self, c: &Conversation) -> Result<()> {
        let buf = &mut self.buf;
        buf.clear();
        if self.written {
            buf.push('\n');
        }
        buf.push_str("# Conversation: ");
        // A record without a title is headed by its id.
        push_inline(buf, c.title.as_deref().unwrap_or(&c.conversation_id));
        buf.push_str("\n\n");
        push_metadata(buf, c, &self.config)?;
        buf.push_str("\n## Conversation\n\n");
        for turn in &c.turns {
            push_turn(buf, turn, self.config.include_full_content);
        }
        buf.push_str("---\n");
        Ok(())
    }
}

impl ExportTransformer for MarkdownTransformer {
    fn begin(&mut self, _out: &mut dyn Write) -> Result<()> {
        Ok(())
    }

    fn write_conversation(
        &mut self,
        out: &mut dyn Write,
        conversation: &Conversation,
    ) -> Result<()> {
        self.render(conversation)?;
        out.write_all(self.buf.as_bytes())?;
        self.written = true;
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
        "md"
    }

    fn mime_type(&self) -> &'static str {
        "text/markdown; charset=utf-8"
    }
}

/// The `**Metadata:**` paragraph and its bullet list.
fn push_metadata(buf: &mut String, c: &Conversation, config: &ExportConfig) -> Result<()> {
    buf.push_str("**Metadata:**\n");
    push_item(buf, "ID", &c.conversation_id);
    if let Some(tier) = c.tier {
        push_item(buf, "Tier", tier.as_str());
    }
    if let Some(status) = c.status {
        push_item(buf, "Status", status.as_str());
    }
    if let Some(score) = c.quality_score.filter(|_| config.include_quality_scores) {
        push_item(buf, "Quality Score", &serde_json::to_string(&score)?);
    }
    if config.include_metadata {
        let optional = [("Persona", &c.persona), ("Emotion", &c.emotion), ("Topic", &c.topic)];
        for (label, value) in optional {
            if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
                push_item(buf, label, value);
            }
        }
    }
    if config.include_timestamps {
        if let Some(t) = &c.created_at {
            push_item(buf, "Created", t.as_str());
        }
        if let Some(t) = &c.updated_at {
            push_item(buf, "Updated", t.as_str());
        }
    }
    if config.include_parent_references {
        let parent = [c.parent_type.map(|t| t.as_str()), c.parent_id.as_deref()];
        let parent: Vec<&str> = parent.into_iter().flatten().collect();
        if !parent.is_empty() {
            push_item(buf, "Parent", &parent.join(" "));
        }
    }
    if config.include_approval_history {
        push_history(buf, c);
    }
    Ok(())
}

/// `- <label>: <value>`, the value escaped.
fn push_item(buf: &mut String, label: &str, value: &str) {
    buf.push_str("- ");
    buf.push_str(label);
    buf.push_str(": ");
    push_inline(buf, value);
    buf.push('\n');
}

/// The review history as a nested list, oldest first.
fn push_history(buf: &mut String, c: &Conversation) {
    if c.review_history.is_empty() {
        buf.push_str("- Review History: none\n");
        return;
    }
    buf.push_str("- Review History:\n");
    for action in &c.review_history {
        buf.push_str("  - ");
        push_inline(buf, &action.timestamp);
        buf.push_str(": ");
        push_inline(buf, &action.action);
        buf.push_str(" by ");
        push_inline(buf, &action.performed_by);
        if let Some(comment) = &action.comment {
            buf.push_str(" — ");
            push_inline(buf, comment);
        }
        buf.push('\n');
    }
}

/// A role label, the turn in a blockquote, and the truncation note.
fn push_turn(buf: &mut String, turn: &ConversationTurn, full: bool) {
    buf.push_str(match turn.role {
        Role::System => "**System:**\n\n",
        Role::Developer => "**Developer:**\n\n",
        Role::User => "**User:**\n\n",
        Role::Assistant => "**Assistant:**\n\n",
        Role::Tool => "**Tool:**\n\n",
    });
    let (content, truncated) = turn_content(&turn.content, full);
    push_quote(buf, &content);
    if truncated {
        buf.push_str("*(truncated to ");
        buf.push_str(&TRUNCATION_LIMIT.to_string());
        buf.push_str(" characters)*\n\n");
    }
}

/// `text` as one line of plain text: line breaks become spaces and the
/// characters Markdown could read as markup are backslash-escaped.
fn push_inline(buf: &mut String, text: &str) {
    let mut chars = text.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '\r' => {
                chars.next_if_eq(&'\n');
                buf.push(' ');
            }
            '\n' => buf.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '&' | '#' | '~' => {
                buf.push('\\');
                buf.push(ch);
            }
            _ => buf.push(ch),
        }
    }
}

/// `content` as a blockquote followed by a blank line.
fn push_quote(buf: &mut String, content: &str) {
    let mut block = Block::Text;
    for line in lines(content) {
        if line.is_empty() {
            buf.push_str(">\n");
            continue;
        }
        buf.push_str("> ");
        block = block.push_line(buf, line);
        buf.push('\n');
    }
    buf.push('\n');
}

/// The lines of `text`, split at LF, CRLF and lone CR.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let s = rest?;
        match memchr::memchr2(b'\r', b'\n', s.as_bytes()) {
            None => {
                rest = None;
                Some(s)
            }
            Some(i) => {
                let next = if s[i..].starts_with("\r\n") { i + 2 } else { i + 1 };
                rest = Some(&s[next..]);
                Some(&s[..i])
            }
        }
    })
}

/// Where a line of a turn falls, as far as raw HTML is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    /// Markdown text: `<` and character references are escaped.
    Text,
    /// Inside a fenced code block opened at the start of a line, by `len`
    /// (at least 3) of `ch` (a backtick or a tilde): written unchanged.
    Fence { ch: char, len: usize },
    /// After a fence opened behind indentation, which a renderer may or may
    /// not take as code (it may sit in a list item): escaped to the end of
    /// the turn, so no reading of it can contain raw HTML.
    Uncertain,
}

impl Block {
    /// Writes `line` (without the quote prefix) and returns the state for
    /// the next line.
    fn push_line(self, buf: &mut String, line: &str) -> Block {
        match self {
            Block::Fence { ch, len } => match closing_fence(line, ch, len) {
                Some(fence) => {
                    buf.push_str(fence);
                    Block::Text
                }
                None => {
                    buf.push_str(line);
                    self
                }
            },
            Block::Text => match opening_fence(line) {
                Some(fence) => {
                    buf.push_str(line);
                    fence
                }
                None => {
                    push_escaped(buf, line);
                    let unindented = line.trim_start_matches([' ', '\t']);
                    let indented_fence = unindented.len() < line.len()
                        && (unindented.starts_with("```") || unindented.starts_with("~~~"));
                    if indented_fence {
                        Block::Uncertain
                    } else {
                        Block::Text
                    }
                }
            },
            Block::Uncertain => {
                push_escaped(buf, line);
                Block::Uncertain
            }
        }
    }
}

/// The fence a line opens, when it starts (unindented) with three or more
/// backticks or tildes; a backtick fence's info string has no backtick.
fn opening_fence(line: &str) -> Option<Block> {
    let ch = line.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let len = line.len() - line.trim_start_matches(ch).len();
    let opens = len >= 3 && !(ch == '`' && line[len..].contains('`'));
    opens.then_some(Block::Fence { ch, len })
}

/// The bare fence run when `line` closes a fence of `len` × `ch`: at least
/// `len` of `ch`, with only spaces and tabs around, indented by at most three
/// columns or by tabs (CommonMark readers differ on tabs; the run alone
/// closes the fence for all of them).
fn closing_fence(line: &str, ch: char, len: usize) -> Option<&str> {
    let body = line.trim_start_matches([' ', '\t']);
    let indent = &line[..line.len() - body.len()];
    let run = body.len() - body.trim_start_matches(ch).len();
    let closes = run >= len
        && body[run..].chars().all(|c| c == ' ' || c == '\t')
        && (indent.len() <= 3 || indent.contains('\t'));
    closes.then(|| &body[..run])
}

/// `line` with `<` as `&lt;` and each `&` that starts a character reference
/// as `&amp;`.
fn push_escaped(buf: &mut String, line: &str) {
    let mut rest = line;
    while let Some(i) = memchr::memchr2(b'<', b'&', rest.as_bytes()) {
        buf.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        buf.push_str(match rest.as_bytes()[i] {
            b'<' => "&lt;",
            _ if starts_reference(after) => "&amp;",
            _ => "&",
        });
        rest = after;
    }
    buf.push_str(rest);
}

/// Whether the text after an `&` would make a character reference: letters,
/// digits or `#`, then `;`.
fn starts_reference(after: &str) -> bool {
    let name = after.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'#').count();
    name > 0 && after.as_bytes().get(name) == Some(&b';')
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Parser, Tag, TagEnd};

    use super::*;
    use crate::format::test_fixture::conversation;
    use crate::model::{Format, ParentType, Scope};

    fn config() -> ExportConfig {
        ExportConfig::new(Scope::AllData, Format::Markdown)
    }

    fn export(config: ExportConfig, conversations: &[Conversation]) -> String {
        let settings =
            TransformerSettings { config, export_date: chrono::Utc::now(), counted_tokens: false };
        let mut md = MarkdownTransformer::new(&settings);
        let mut out = Vec::new();
        md.begin(&mut out).unwrap();
        for c in conversations {
            md.write_conversation(&mut out, c).unwrap();
        }
        md.finish(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn quote_of(content: &str) -> String {
        let mut buf = String::new();
        push_quote(&mut buf, content);
        buf
    }

    /// The top-level blocks of a document as a CommonMark parser sees them:
    /// (kind, text inside), and the number of raw HTML events anywhere.
    #[derive(Debug, Default)]
    struct Outline {
        blocks: Vec<(&'static str, String)>,
        html: usize,
    }

    impl Outline {
        fn of(markdown: &str) -> Outline {
            let mut outline = Outline::default();
            let mut depth = 0;
            let mut text = String::new();
            for event in Parser::new(markdown) {
                match event {
                    Event::Start(tag) => {
                        if let Tag::CodeBlock(CodeBlockKind::Fenced(info)) = &tag {
                            text.push_str(info);
                            text.push('\n');
                        }
                        outline.html += usize::from(matches!(tag, Tag::HtmlBlock));
                        depth += 1;
                    }
                    Event::End(end) => {
                        depth -= 1;
                        if depth > 0 {
                            let inline = matches!(
                                end,
                                TagEnd::Emphasis | TagEnd::Strong | TagEnd::Link | TagEnd::Image
                            );
                            if !inline {
                                text.push('\n');
                            }
                            continue;
                        }
                        let kind = match end {
                            TagEnd::Heading(HeadingLevel::H1) => "h1",
                            TagEnd::Heading(HeadingLevel::H2) => "h2",
                            TagEnd::Paragraph => "p",
                            TagEnd::List(_) => "list",
                            TagEnd::BlockQuote(_) => "quote",
                            _ => "other",
                        };
                        outline.blocks.push((kind, std::mem::take(&mut text)));
                    }
                    Event::Text(t) | Event::Code(t) => text.push_str(&t),
                    Event::SoftBreak | Event::HardBreak => text.push('\n'),
                    Event::Rule if depth == 0 => outline.blocks.push(("rule", String::new())),
                    Event::Html(_) | Event::InlineHtml(_) => outline.html += 1,
                    _ => {}
                }
            }
            outline
        }

        fn texts(&self, kind: &str) -> Vec<&str> {
            self.blocks.iter().filter(|(k, _)| *k == kind).map(|(_, t)| t.as_str()).collect()
        }
    }

    /// Asserts that `markdown`, the export of `conversations` with full
    /// content, has exactly the layout of the template: per conversation one
    /// H1, the metadata, one H2, a label and one blockquote per turn, a rule;
    /// and no raw HTML. Returns the blockquotes' texts.
    fn assert_layout(markdown: &str, conversations: &[Conversation]) -> Vec<String> {
        let outline = Outline::of(markdown);
        assert_eq!(outline.html, 0, "raw HTML in:\n{markdown}");
        let mut expected = Vec::new();
        for c in conversations {
            expected.extend(["h1", "p", "list", "h2"]);
            for _ in &c.turns {
                expected.extend(["p", "quote"]);
            }
            expected.push("rule");
        }
        let kinds: Vec<_> = outline.blocks.iter().map(|(k, _)| *k).collect();
        assert_eq!(kinds, expected, "layout of:\n{markdown}");
        let labels = conversations.iter().flat_map(|c| {
            std::iter::once("Metadata:".to_owned())
                .chain(c.turns.iter().map(|t| format!("{}:", label(t.role))))
        });
        assert_eq!(outline.texts("p"), labels.collect::<Vec<_>>());
        outline.texts("quote").into_iter().map(str::to_owned).collect()
    }

    /// [`assert_layout`] of the export of `c` alone, with the default config.
    fn assert_exported_layout(c: &Conversation) -> Vec<String> {
        let conversations = std::slice::from_ref(c);
        assert_layout(&export(config(), conversations), conversations)
    }

    fn label(role: Role) -> &'static str {
        match role {
            Role::System => "System",
            Role::Developer => "Developer",
            Role::User => "User",
            Role::Assistant => "Assistant",
            Role::Tool => "Tool",
        }
    }

    /// The text a parser reads from the H1 of `title`: line breaks as
    /// spaces, NUL replaced, trailing spaces and tabs trimmed.
    fn rendered_heading(title: &str) -> String {
        let one_line = title.replace("\r\n", " ").replace(['\r', '\n'], " ");
        let heading = format!("Conversation: {}", one_line.replace('\0', "\u{FFFD}"));
        heading.trim_end_matches([' ', '\t']).to_owned()
    }

    /// Asserts that `words` occur in `text` in this order.
    fn assert_words_in_order(text: &str, words: &[&str]) {
        let mut from = 0;
        for word in words {
            match text[from..].find(word) {
                Some(at) => from += at + word.len(),
                None => panic!("`{word}` missing (in order) from {text:?}"),
            }
        }
    }

    const NASTIES: [&str; 16] = [
        "# heading",
        "---",
        "***",
        "===",
        "",
        "```",
        "~~~ unclosed",
        "**Assistant:**",
        "</blockquote>",
        "<script>alert(1)</script>",
        "<!-- comment",
        "<div>",
        "    indented code <i>",
        "> nested",
        "- list <b>item</b>",
        "[link]: https://example.com",
    ];

    #[test]
    fn small_conversation_exact_output() {
        let c = conversation("Greeting", &[("user", "Hi, there"), ("assistant", "Hello!\nBye.")]);
        assert_eq!(
            export(config(), &[c]),
            "# Conversation: Greeting\n\
             \n\
             **Metadata:**\n\
             - ID: c1\n\
             - Tier: template\n\
             - Status: approved\n\
             - Quality Score: 8.5\n\
             - Persona: Anxious Investor\n\
             - Created: 2025-10-29T10:00:00Z\n\
             - Updated: 2025-10-30T09:30:00Z\n\
             \n\
             ## Conversation\n\
             \n\
             **User:**\n\
             \n\
             > Hi, there\n\
             \n\
             **Assistant:**\n\
             \n\
             > Hello!\n\
             > Bye.\n\
             \n\
             ---\n"
        );
    }

    #[test]
    fn empty_export_is_empty() {
        assert_eq!(export(config(), &[]), "");
    }

    #[test]
    fn flags_off_keep_id_tier_status_and_conversations_are_separated() {
        let mut off = config();
        off.include_metadata = false;
        off.include_quality_scores = false;
        off.include_timestamps = false;
        let a = conversation("A", &[("system", "Be brief.")]);
        let b = conversation("B", &[]);
        let block = |title: &str, turns: &str| {
            format!(
                "# Conversation: {title}\n\n**Metadata:**\n- ID: c1\n- Tier: template\n\
                 - Status: approved\n\n## Conversation\n\n{turns}---\n"
            )
        };
        let expected =
            format!("{}\n{}", block("A", "**System:**\n\n> Be brief.\n\n"), block("B", ""));
        let text = export(off, &[a.clone(), b.clone()]);
        assert_eq!(text, expected);
        assert_layout(&text, &[a, b]);
    }

    #[test]
    fn every_flag_on_exact_output() {
        let mut all = config();
        all.include_parent_references = true;
        all.include_approval_history = true;
        all.include_full_content = false;
        let long = "é".repeat(501);
        let mut c = conversation("T", &[("user", &long), ("assistant", "ok")]);
        c.quality_score = Some(9.0);
        c.emotion = Some("worried_*a lot*".into());
        c.topic = Some(String::new());
        c.parent_id = Some("tpl-1".into());
        c.parent_type = Some(ParentType::Template);
        c.review_history = serde_json::from_str(
            r#"[{"id":"r1","action":"approved","performedBy":"ana","timestamp":"2025-10-30T08:00:00Z","comment":"fine\n# really"},
                {"id":"r2","action":"revision_requested","performedBy":"bo","timestamp":"2025-10-31"}]"#,
        )
        .unwrap();
        assert_eq!(
            export(all, &[c]),
            format!(
                "# Conversation: T\n\
                 \n\
                 **Metadata:**\n\
                 - ID: c1\n\
                 - Tier: template\n\
                 - Status: approved\n\
                 - Quality Score: 9.0\n\
                 - Persona: Anxious Investor\n\
                 - Emotion: worried\\_\\*a lot\\*\n\
                 - Created: 2025-10-29T10:00:00Z\n\
                 - Updated: 2025-10-30T09:30:00Z\n\
                 - Parent: template tpl-1\n\
                 - Review History:\n  \
                   - 2025-10-30T08:00:00Z: approved by ana — fine \\# really\n  \
                   - 2025-10-31: revision\\_requested by bo\n\
                 \n\
                 ## Conversation\n\
                 \n\
                 **User:**\n\
                 \n\
                 > {}…\n\
                 \n\
                 *(truncated to 500 characters)*\n\
                 \n\
                 **Assistant:**\n\
                 \n\
                 > ok\n\
                 \n\
                 ---\n",
                "é".repeat(500)
            )
        );
    }

    #[test]
    fn empty_review_history_says_none() {
        let mut history = config();
        history.include_approval_history = true;
        let text = export(history, &[conversation("T", &[])]);
        assert!(text.contains("\n- Review History: none\n"), "{text}");
    }

    #[test]
    fn nasty_lines_stay_inside_their_quotes() {
        let turns: Vec<_> = NASTIES.iter().map(|n| ("assistant", *n)).collect();
        let each = conversation("Each", &turns);
        let joined = NASTIES.join("\n");
        let all =
            conversation("All", &[("user", &joined), ("assistant", &joined.replace('\n', "\r"))]);
        let conversations = [each, all];
        let quotes = assert_layout(&export(config(), &conversations), &conversations);
        assert_eq!(quotes.len(), NASTIES.len() + 2);
        assert_words_in_order(&quotes[9], &["<script>alert(1)</script>"]);
        assert_words_in_order(&quotes[7], &["Assistant:"]);
        let words = [
            "heading",
            "Assistant",
            "blockquote",
            "alert",
            "comment",
            "indented",
            "nested",
            "item",
        ];
        assert_words_in_order(&quotes[NASTIES.len()], &words);
        assert_words_in_order(&quotes[NASTIES.len() + 1], &words);
    }

    #[test]
    fn fenced_code_is_written_unchanged() {
        let content = "See:\n```html\n<script>a && b</script>\n```\nafter <b> &amp;";
        assert_eq!(
            quote_of(content),
            "> See:\n> ```html\n> <script>a && b</script>\n> ```\n> after &lt;b> &amp;amp;\n\n"
        );
        let c = conversation("T", &[("user", content)]);
        let quotes = assert_exported_layout(&c);
        assert_words_in_order(&quotes[0], &["<script>a && b</script>", "after <b> &amp;"]);
    }

    #[test]
    fn unclosed_fence_ends_with_its_quote() {
        let c = conversation("T", &[("user", "```\n<i>code"), ("assistant", "<script>")]);
        let text = export(config(), std::slice::from_ref(&c));
        assert!(text.contains("> ```\n> <i>code\n\n**Assistant:**\n\n> &lt;script>\n"), "{text}");
        assert_layout(&text, &[c]);
    }

    #[test]
    fn closing_fences_are_written_bare() {
        assert_eq!(quote_of("```\n  ```\t\n<a>"), "> ```\n> ```\n> &lt;a>\n\n");
        assert_eq!(quote_of("~~~~\n\t~~~~~ \n<a>"), "> ~~~~\n> ~~~~~\n> &lt;a>\n\n");
        assert_eq!(quote_of("```\n    ```\n<a>"), "> ```\n>     ```\n> <a>\n\n");
        assert_eq!(quote_of("```\n``` x\n~~~\n<a>"), "> ```\n> ``` x\n> ~~~\n> <a>\n\n");
        for content in ["```\n```\t\n<script>", "```\n \t```\n<p>x</p>"] {
            let c = conversation("T", &[("user", content)]);
            assert_exported_layout(&c);
        }
    }

    #[test]
    fn a_fence_behind_indentation_escapes_the_rest_of_the_turn() {
        let in_list = "1. step\n   ```\n   <i>\n   ```\n```\n<script>\n```\n<b>";
        let top_level = "  ```\n<i>\n```\n<script>\n```";
        let c = conversation("T", &[("user", in_list), ("user", top_level)]);
        assert_exported_layout(&c);
        assert_eq!(
            quote_of(in_list),
            "> 1. step\n>    ```\n>    &lt;i>\n>    ```\n> ```\n> &lt;script>\n> ```\n> &lt;b>\n\n"
        );
    }

    #[test]
    fn fences_in_other_constructs_never_let_html_out() {
        let contents = [
            "[a]: /u \"\n```\n\"\n<script>x</script>\n```",
            "- ```\n<script>\n```\n<b>x</b>\n```",
            "> ```\n<script>\n```\n<i>\n```",
            "    ```\n<script>\n```\n<i>",
            "1. a\n\n   ```\n   x\n<script>\n```\n<i>\n```",
            "text\n```\n<code>\n```\ttrailing\n<script>\n```",
        ];
        let turns: Vec<_> = contents.iter().map(|c| ("user", *c)).collect();
        let c = conversation("T", &turns);
        assert_exported_layout(&c);
    }

    #[test]
    fn backtick_in_info_string_is_not_a_fence() {
        assert_eq!(quote_of("```a`\n<b>"), "> ```a`\n> &lt;b>\n\n");
    }

    #[test]
    fn line_breaks_are_normalised_inside_the_quote() {
        assert_eq!(quote_of("a\rb\r\nc\n\nd\n"), "> a\n> b\n> c\n>\n> d\n>\n\n");
        assert_eq!(quote_of(""), ">\n\n");
    }

    #[test]
    fn character_references_show_as_written() {
        let content = "&lt;b&gt; & && &amp; &#60; &#x3C; &copy;";
        let c = conversation("T", &[("user", content)]);
        let quotes = assert_exported_layout(&c);
        assert_eq!(quotes[0], format!("{content}\n"));
    }

    #[test]
    fn title_and_metadata_stay_plain_single_lines() {
        let title = "Evil\r\n# H1\r<script>x</script>\n**bold** [a](b) `c` ~d~ #";
        let mut c = conversation(title, &[("user", "hi")]);
        c.persona = Some("p\n- forged item\n\n# forged".into());
        c.topic = Some("&amp; <img src=x>".into());
        let text = export(config(), std::slice::from_ref(&c));
        assert_layout(&text, &[c]);
        let outline = Outline::of(&text);
        assert_eq!(outline.texts("h1"), [rendered_heading(title)]);
        let metadata = outline.texts("list")[0];
        assert!(metadata.contains("Persona: p - forged item  # forged\n"), "{metadata}");
        assert!(metadata.contains("Topic: &amp; <img src=x>\n"), "{metadata}");
        assert_eq!(metadata.lines().filter(|l| !l.is_empty()).count(), 8, "{metadata}");
    }

    fn nasty_or_word() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => "[a-z]{1,8}".prop_map(|w| format!("{w} ")),
            // A link reference definition hides its line: not one for this test.
            2 => prop::sample::select(NASTIES[..NASTIES.len() - 1].to_vec()).prop_map(str::to_owned),
            2 => prop::sample::select(vec![
                "\n", "\r\n", "\r", "\n\n", "`", "``", "* ", "_", "\\", "    ", "\t", "  ```",
                " ", "[", "&amp;", "&", "#", "> ", "- ", "1. ", "<", "~~~~",
            ])
            .prop_map(str::to_owned),
        ]
    }

    proptest! {
        #[test]
        fn arbitrary_strings_keep_the_layout(
            title in any::<String>(),
            persona in any::<String>(),
            turns in prop::collection::vec(any::<String>(), 0..4),
        ) {
            let turns: Vec<_> = turns.iter().map(|t| ("user", t.as_str())).collect();
            let mut c = conversation(&title, &turns);
            c.persona = Some(persona);
            let text = export(config(), &[c.clone(), c.clone()]);
            assert_layout(&text, &[c.clone(), c]);
            let expected = rendered_heading(&title);
            let outline = Outline::of(&text);
            prop_assert_eq!(outline.texts("h1"), [&expected, &expected]);
        }

        #[test]
        fn adversarial_turns_keep_their_words(
            turns in prop::collection::vec(prop::collection::vec(nasty_or_word(), 0..40), 1..4),
        ) {
            let contents: Vec<String> = turns.iter().map(|t| t.concat()).collect();
            let roles = ["user", "assistant", "system"];
            let turns: Vec<_> =
                contents.iter().enumerate().map(|(i, t)| (roles[i % 3], t.as_str())).collect();
            let c = conversation("T", &turns);
            let quotes = assert_exported_layout(&c);
            for (quote, content) in quotes.iter().zip(&contents) {
                let words: Vec<&str> = content
                    .split(|ch: char| !ch.is_ascii_lowercase())
                    .filter(|w| !w.is_empty() && !NASTIES.iter().any(|n| n.contains(*w)))
                    .collect();
                assert_words_in_order(quote, &words);
            }
        }
    }
}
