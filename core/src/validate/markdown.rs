//! Markdown: the review document, read line by line through a small state
//! machine that follows the layout of the Markdown transformer:
//!
//! ```text
//! # Conversation: <title>
//!
//! **Metadata:**
//! - ID: c1
//!
//! ## Conversation
//!
//! **User:**
//!
//! > the turn, every line inside the quote
//!
//! *(truncated to 500 characters)*
//!
//! ---
//! ```
//!
//! Blank lines between blocks are free; what matters is that every turn's
//! text stays inside its blockquote. A blockquote that resumes after a line
//! outside it, or a non-blank line right after a quote line (which Markdown
//! would run into the quote lazily), means the content broke out of its
//! quote. Every finding carries its line.

use std::io::BufRead;

use super::{next_line, Sink};
use crate::{Location, Result};

const TITLE: &str = "# Conversation: ";
const HEADING: &str = "## Conversation";
const LABELS: [&str; 5] =
    ["**User:**", "**Assistant:**", "**System:**", "**Developer:**", "**Tool:**"];

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    /// Before the first conversation or after a `---`.
    Between,
    /// After a line that is not a conversation title: skip to the next title.
    Lost,
    /// After the title, before `## Conversation`.
    Metadata,
    /// After `## Conversation` or a finished turn: a label, a truncation
    /// note or the separator may come.
    Turns,
    /// After a turn label, before its quote (line of the label).
    Label(u64),
    /// Inside a turn's quote.
    Quote,
}

/// One conversation being read.
struct Conversation {
    title_line: u64,
    heading: bool,
    turns: u64,
}

pub(super) fn validate(mut reader: impl BufRead, sink: &mut Sink) -> Result<()> {
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    let mut state = State::Between;
    let mut current: Option<Conversation> = None;
    while next_line(&mut reader, &mut buf)? {
        line_no += 1;
        let bytes = match buf.strip_prefix("\u{FEFF}".as_bytes()) {
            Some(rest) if line_no == 1 => rest,
            _ => &buf[..],
        };
        let line = String::from_utf8_lossy(bytes);
        if let std::borrow::Cow::Owned(_) = line {
            sink.error(Location::line(line_no), "invalid_utf8", "the line is not valid UTF-8");
        }
        if has_raw_html(&line) {
            let msg = "raw HTML: a renderer would run it instead of showing it";
            sink.warning(Location::line(line_no), "raw_html", msg);
        }
        state = step(state, &line, line_no, &mut current, sink);
    }
    end_conversation(state, &mut current, sink);
    Ok(())
}

/// Moves the state machine over one line.
fn step(
    state: State,
    line: &str,
    at: u64,
    current: &mut Option<Conversation>,
    sink: &mut Sink,
) -> State {
    let blank = line.trim().is_empty();
    let label = LABELS.contains(&line);
    match state {
        State::Between | State::Lost if line.starts_with(TITLE) => {
            start_conversation(at, current, sink)
        }
        State::Between | State::Lost if line == "---" => State::Between,
        State::Between | State::Lost if blank => state,
        State::Lost => State::Lost,
        State::Between => {
            let msg = format!("expected `{TITLE}…`: every conversation starts with its title");
            sink.error(Location::line(at), "missing_title", msg);
            State::Lost
        }
        State::Label(_) | State::Quote | State::Turns | State::Metadata
            if line.starts_with(TITLE) =>
        {
            end_conversation(state, current, sink);
            let msg = "a new conversation starts without a `---` separator";
            sink.error(Location::line(at), "missing_separator", msg);
            start_conversation(at, current, sink)
        }
        State::Metadata
            if blank
                || line == "**Metadata:**"
                || line.starts_with("- ")
                || line.starts_with("  - ") =>
        {
            state
        }
        State::Metadata if line == HEADING => {
            if let Some(c) = current.as_mut() {
                c.heading = true;
            }
            State::Turns
        }
        State::Metadata if label || line == "---" => {
            let msg = format!("no `{HEADING}` heading before the turns");
            sink.error(Location::line(at), "missing_conversation_heading", msg);
            if let Some(c) = current.as_mut() {
                c.heading = true; // reported once
            }
            step(State::Turns, line, at, current, sink)
        }
        State::Label(_) if blank => state,
        State::Label(_) | State::Quote if line.starts_with('>') => State::Quote,
        State::Label(label_at) => {
            let msg = "the turn label is not followed by a blockquote";
            sink.error(Location::line(label_at), "missing_blockquote", msg);
            step(State::Turns, line, at, current, sink)
        }
        State::Quote if blank => State::Turns,
        State::Quote if label || line == "---" || line.starts_with("*(truncated") => {
            let msg = "a blank line must end the quote before the next block";
            sink.error(Location::line(at), "missing_blank_line", msg);
            step(State::Turns, line, at, current, sink)
        }
        State::Quote => {
            let msg =
                "a line outside the quote would run into it: the turn broke out of its blockquote";
            sink.error(Location::line(at), "line_outside_quote", msg);
            State::Quote
        }
        State::Turns if blank => state,
        State::Turns if label => {
            if let Some(c) = current.as_mut() {
                c.turns += 1;
            }
            State::Label(at)
        }
        State::Turns if line == "---" => {
            end_conversation(state, current, sink);
            State::Between
        }
        State::Turns if line.starts_with("*(truncated") && line.ends_with(")*") => state,
        State::Turns if line.starts_with('>') && current.as_ref().is_some_and(|c| c.turns > 0) => {
            let msg =
                "a blockquote resumes after a line outside it: the turn broke out of its quote";
            sink.error(Location::line(at), "quote_broken", msg);
            State::Quote
        }
        State::Metadata | State::Turns => {
            let msg = format!("unexpected line `{}` outside any turn", super::excerpt(line));
            sink.error(Location::line(at), "unexpected_line", msg);
            state
        }
    }
}

fn start_conversation(at: u64, current: &mut Option<Conversation>, sink: &mut Sink) -> State {
    sink.record();
    *current = Some(Conversation { title_line: at, heading: false, turns: 0 });
    State::Metadata
}

/// Closes the current conversation (at a `---`, a new title or the end).
fn end_conversation(state: State, current: &mut Option<Conversation>, sink: &mut Sink) {
    if let State::Label(label_at) = state {
        let msg = "the turn label is not followed by a blockquote";
        sink.error(Location::line(label_at), "missing_blockquote", msg);
    }
    let Some(c) = current.take() else { return };
    if !c.heading {
        let msg = format!("the conversation has no `{HEADING}` heading");
        sink.error(Location::line(c.title_line), "missing_conversation_heading", msg);
    } else if c.turns == 0 {
        sink.error(Location::line(c.title_line), "no_turns", "the conversation has no turns");
    }
}

/// True when `line` holds something an HTML-aware renderer takes as a tag:
/// `<` followed by a letter, `/`, `!` or `?`.
fn has_raw_html(line: &str) -> bool {
    line.as_bytes()
        .windows(2)
        .any(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || b"/!?".contains(&w[1])))
}

#[cfg(test)]
mod tests {
    use crate::model::{Format, JsonlFlavor};
    use crate::validate::{validate_output, ValidationReport};

    fn check(text: &str) -> ValidationReport {
        validate_output(Format::Markdown, JsonlFlavor::Openai, text.as_bytes()).unwrap()
    }

    fn errors(text: &str) -> Vec<(String, u64)> {
        check(text).errors.into_iter().map(|f| (f.code, f.location.line.unwrap())).collect()
    }

    /// Two conversations as the transformer's contract lays them out, with
    /// hard content kept inside the quotes.
    const SAMPLE: &str = "\
# Conversation: Greeting, \"quoted\"

**Metadata:**
- ID: c1
- Tier: template
- Quality Score: 8.5

## Conversation

**System:**

> Be brief.

**User:**

> # not a heading
>
> ---
> ```
> unclosed fence

**Assistant:**

> Hello &lt;script&gt;!

*(truncated to 500 characters)*

---

# Conversation: Second

**Metadata:**
- ID: c2

## Conversation

**User:**

> Hi

**Assistant:**

> Bye

---
";

    #[test]
    fn the_contract_layout_is_valid() {
        let r = check(SAMPLE);
        assert!(r.is_valid(), "{:#?}", r.errors);
        assert!(r.warnings.is_empty(), "{:#?}", r.warnings);
        assert_eq!(r.records, 2);
        // CRLF, a BOM, no final separator and no metadata are fine too.
        let crlf =
            format!("\u{FEFF}{}", SAMPLE.trim_end().trim_end_matches("---").replace('\n', "\r\n"));
        assert!(check(&crlf).is_valid(), "{:#?}", check(&crlf).errors);
        assert!(check("# Conversation: T\n## Conversation\n**User:**\n> x\n").is_valid());
        assert!(check("").is_valid());
    }

    /// `SAMPLE` with its first occurrence of `find` replaced.
    fn broken(find: &str, replace: &str) -> Vec<(String, u64)> {
        assert!(SAMPLE.contains(find), "{find}");
        errors(&SAMPLE.replacen(find, replace, 1))
    }

    #[test]
    fn negative_cases_are_located() {
        type Case<'a> = (&'a str, &'a str, &'a [(&'a str, u64)]);
        let cases: [Case; 11] = [
            ("# Conversation: Greeting", "# Chat: Greeting", &[("missing_title", 1)]),
            (
                "---\n\n# Conversation: Second",
                "---\n\nstray\n# Conversation: Second",
                &[("missing_title", 30)],
            ),
            (
                "## Conversation\n\n**System:**",
                "**System:**",
                &[("missing_conversation_heading", 8)],
            ),
            ("**System:**\n\n> Be brief.\n", "**System:**\n\n", &[("missing_blockquote", 10)]),
            ("> ---\n", "\n---\n", &[("missing_title", 20)]),
            ("> # not a heading\n>\n", "> # not a heading\n\n", &[("quote_broken", 18)]),
            ("> unclosed fence", "unclosed fence", &[("line_outside_quote", 20)]),
            ("> Hello &lt;script&gt;!\n\n", "> Hello!\n", &[("missing_blank_line", 25)]),
            ("*(truncated to 500 characters)*", "Some text.", &[("unexpected_line", 26)]),
            (
                "---\n\n# Conversation: Second",
                "# Conversation: Second",
                &[("missing_separator", 28)],
            ),
            (
                "## Conversation\n\n**User:**\n\n> Hi\n\n**Assistant:**\n\n> Bye\n",
                "## Conversation\n",
                &[("no_turns", 30)],
            ),
        ];
        for (find, replace, expected) in cases {
            let expected: Vec<_> = expected.iter().map(|(c, l)| (c.to_string(), *l)).collect();
            assert_eq!(broken(find, replace), expected, "{replace:?}");
        }
    }

    #[test]
    fn a_commonmark_parser_agrees_with_the_sample() {
        use pulldown_cmark::{Event, Parser, Tag, TagEnd};
        // Outside the quotes: the two titles and two rules; the turns' own
        // `# …` and `---` stay inside their quotes.
        let (mut titles, mut quotes, mut rules, mut depth) = (0, 0, 0, 0);
        for event in Parser::new(SAMPLE) {
            match event {
                Event::Start(Tag::BlockQuote(_)) => {
                    quotes += 1;
                    depth += 1;
                }
                Event::End(TagEnd::BlockQuote(_)) => depth -= 1,
                Event::Start(Tag::Heading { level, .. }) if depth == 0 && level as u8 == 1 => {
                    titles += 1
                }
                Event::Rule if depth == 0 => rules += 1,
                _ => {}
            }
        }
        assert_eq!((titles, quotes, rules), (2, 5, 2));
    }

    #[test]
    fn end_of_file_closes_the_last_conversation() {
        assert_eq!(
            errors("# Conversation: T\n\n**Metadata:**\n"),
            [("missing_conversation_heading".to_owned(), 1)]
        );
        assert_eq!(
            errors("# Conversation: T\n## Conversation\n**User:**\n"),
            [("missing_blockquote".to_owned(), 3)]
        );
    }

    #[test]
    fn raw_html_and_bad_utf8_are_reported() {
        let r = check(&SAMPLE.replace("&lt;script&gt;", "<script>"));
        assert!(r.is_valid());
        assert_eq!(
            (r.warnings[0].code.as_str(), r.warnings[0].location.line),
            ("raw_html", Some(24))
        );
        let mut bytes = SAMPLE.as_bytes().to_vec();
        bytes[SAMPLE.find("Hi").unwrap()] = 0xFF;
        let r = validate_output(Format::Markdown, JsonlFlavor::Openai, &bytes[..]).unwrap();
        let got: Vec<_> = r.errors.iter().map(|f| (f.code.as_str(), f.location.line)).collect();
        assert_eq!(got, [("invalid_utf8", Some(39))]);
    }
}
