use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;
use serde_json::{Map, Value};

use super::content::turn_content;
use super::json_text;
use super::{ExportTransformer, TransformerSettings};
use crate::model::{Conversation, ConversationTurn, ExportConfig, ReviewAction};
use crate::Result;

/// One pretty-printed JSON document (2-space indent), written as a stream:
///
/// ```text
/// {
///   "version": "1.0",
///   "export_date": "2025-10-29T10:00:00.000Z",
///   "conversations": [ {conversation_id, title, status, tier, turns, metadata?}, … ],
///   "conversation_count": 2,
///   "summary": { "total_turns", "average_quality_score", "tier_distribution" }
/// }
/// ```
///
/// `conversation_count` and `summary` (present when `includeMetadata`) come
/// after the array, so nothing has to be held back. A turn carries
/// `token_count` when known and `"truncated": true` when it was cut.
#[derive(Debug)]
pub struct JsonTransformer {
    config: ExportConfig,
    export_date: String,
    buf: Vec<u8>,
    /// Scratch space of [`pretty_into`].
    raw: Vec<u8>,
    count: u64,
    total_turns: u64,
    quality_sum: f64,
    /// Conversations with a quality score (the average's denominator).
    scored: u64,
    tiers: BTreeMap<&'static str, u64>,
}

impl JsonTransformer {
    /// A JSON writer for these settings.
    pub fn new(settings: &TransformerSettings) -> Self {
        JsonTransformer {
            config: settings.config.clone(),
            export_date: settings.export_date.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            buf: Vec::with_capacity(16 * 1024),
            raw: Vec::with_capacity(1024),
            count: 0,
            total_turns: 0,
            quality_sum: 0.0,
            scored: 0,
            tiers: BTreeMap::new(),
        }
    }
}

/// Appends the keys of a turn beyond role and content, each when present:
/// `content_parts` (the content as its list of parts), `tool_calls`,
/// `tool_call_id`, `name`, `reasoning`, `weight`.
fn write_turn_extras(buf: &mut Vec<u8>, raw: &mut Vec<u8>, t: &ConversationTurn) -> Result<()> {
    const INDENT: &str = "          ";
    if !t.parts.is_empty() {
        buf.extend_from_slice(b",\n          \"content_parts\": ");
        pretty_into(buf, raw, &t.parts, INDENT)?;
    }
    if !t.tool_calls.is_empty() {
        buf.extend_from_slice(b",\n          \"tool_calls\": ");
        pretty_into(buf, raw, &t.tool_calls, INDENT)?;
    }
    for (key, value) in
        [("tool_call_id", &t.tool_call_id), ("name", &t.name), ("reasoning", &t.reasoning)]
    {
        if let Some(value) = value {
            write!(buf, ",\n          \"{key}\": ")?;
            json_text::write_str(buf, value);
        }
    }
    if let Some(weight) = t.weight {
        write!(buf, ",\n          \"weight\": {weight}")?;
    }
    Ok(())
}

/// Pretty-prints `value` into `buf` with every line after the first indented
/// by `indent` (JSON strings never contain a raw newline, so this is exact);
/// `raw` is scratch space, kept between calls.
fn pretty_into(
    buf: &mut Vec<u8>,
    raw: &mut Vec<u8>,
    value: &impl Serialize,
    indent: &str,
) -> Result<()> {
    raw.clear();
    serde_json::to_writer_pretty(&mut *raw, value)?;
    let mut line_start = 0;
    for newline in memchr::memchr_iter(b'\n', raw) {
        buf.extend_from_slice(&raw[line_start..=newline]);
        buf.extend_from_slice(indent.as_bytes());
        line_start = newline + 1;
    }
    buf.extend_from_slice(&raw[line_start..]);
    Ok(())
}

impl ExportTransformer for JsonTransformer {
    fn begin(&mut self, out: &mut dyn Write) -> Result<()> {
        self.buf.clear();
        self.buf.extend_from_slice(b"{\n  \"version\": \"1.0\",\n  \"export_date\": ");
        serde_json::to_writer(&mut self.buf, &self.export_date)?;
        self.buf.extend_from_slice(b",\n  \"conversations\": [");
        out.write_all(&self.buf)?;
        Ok(())
    }

    fn write_conversation(&mut self, out: &mut dyn Write, c: &Conversation) -> Result<()> {
        let buf = &mut self.buf;
        buf.clear();
        buf.extend_from_slice(if self.count == 0 { b"\n    {" } else { b",\n    {" });
        for (key, value) in [
            ("conversation_id", Some(c.conversation_id.as_str())),
            ("title", c.title.as_deref()),
            ("status", c.status.map(|s| s.as_str())),
            ("tier", c.tier.map(|t| t.as_str())),
        ] {
            // A field the record lacks is left out, never invented.
            let Some(value) = value else { continue };
            buf.extend_from_slice(b"\n      \"");
            buf.extend_from_slice(key.as_bytes());
            buf.extend_from_slice(b"\": ");
            json_text::write_str(buf, value);
            buf.push(b',');
        }
        buf.extend_from_slice(b"\n      \"turns\": [");
        for (i, turn) in c.turns.iter().enumerate() {
            let (content, cut) = turn_content(&turn.content, self.config.include_full_content);
            buf.extend_from_slice(if i == 0 { b"\n        {" } else { b",\n        {" });
            buf.extend_from_slice(b"\n          \"role\": ");
            json_text::write_str(buf, turn.role.as_str());
            buf.extend_from_slice(b",\n          \"content\": ");
            json_text::write_str(buf, &content);
            if let Some(tokens) = turn.token_count {
                write!(buf, ",\n          \"token_count\": {tokens}")?;
            }
            if cut {
                buf.extend_from_slice(b",\n          \"truncated\": true");
            }
            write_turn_extras(buf, &mut self.raw, turn)?;
            buf.extend_from_slice(b"\n        }");
        }
        buf.extend_from_slice(if c.turns.is_empty() { b"]" } else { b"\n      ]" });
        if !c.tools.is_empty() {
            buf.extend_from_slice(b",\n      \"tools\": ");
            pretty_into(buf, &mut self.raw, &c.tools, "      ")?;
        }
        if let Some(pair) = &c.preference {
            buf.extend_from_slice(b",\n      \"preference\": ");
            pretty_into(buf, &mut self.raw, pair, "      ")?;
        }
        if self.config.include_metadata {
            buf.extend_from_slice(b",\n      \"metadata\": ");
            pretty_into(buf, &mut self.raw, &Metadata::new(c, &self.config), "      ")?;
        }
        buf.extend_from_slice(b"\n    }");
        out.write_all(&self.buf)?;
        self.count += 1;
        self.total_turns += c.turns.len() as u64;
        if let Some(score) = c.quality_score {
            self.quality_sum += score;
            self.scored += 1;
        }
        if let Some(tier) = c.tier {
            *self.tiers.entry(tier.as_str()).or_default() += 1;
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut dyn Write) -> Result<()> {
        self.buf.clear();
        self.buf.extend_from_slice(if self.count == 0 { b"],\n" } else { b"\n  ],\n" });
        write!(self.buf, "  \"conversation_count\": {}", self.count)?;
        if self.config.include_metadata {
            let summary = Summary {
                total_turns: self.total_turns,
                average_quality_score: (self.scored > 0)
                    .then(|| self.quality_sum / self.scored as f64),
                tier_distribution: &self.tiers,
            };
            self.buf.extend_from_slice(b",\n  \"summary\": ");
            pretty_into(&mut self.buf, &mut self.raw, &summary, "  ")?;
        }
        self.buf.extend_from_slice(b"\n}\n");
        out.write_all(&self.buf)?;
        Ok(())
    }

    fn file_extension(&self) -> &'static str {
        "json"
    }

    fn mime_type(&self) -> &'static str {
        "application/json"
    }
}

#[derive(Serialize)]
struct Metadata<'a> {
    persona: Option<&'a str>,
    emotion: Option<&'a str>,
    topic: Option<&'a str>,
    category: &'a [String],
    total_turns: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    quality_score: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    review_history: Option<&'a [ReviewAction]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_id: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_type: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameters: Option<&'a Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_fields: Option<&'a Map<String, Value>>,
}

impl<'a> Metadata<'a> {
    fn new(c: &'a Conversation, config: &ExportConfig) -> Self {
        let ts = config.include_timestamps;
        let parents = config.include_parent_references;
        Metadata {
            persona: c.persona.as_deref(),
            emotion: c.emotion.as_deref(),
            topic: c.topic.as_deref(),
            category: &c.category,
            total_turns: c.turns.len(),
            token_count: c.token_count,
            quality_score: config.include_quality_scores.then_some(c.quality_score),
            created_at: ts.then(|| c.created_at.as_ref().map(|t| t.as_str())),
            updated_at: ts.then(|| c.updated_at.as_ref().map(|t| t.as_str())),
            review_history: config.include_approval_history.then_some(c.review_history.as_slice()),
            parent_id: parents.then_some(c.parent_id.as_deref()),
            parent_type: parents.then(|| c.parent_type.map(|p| p.as_str())),
            parameters: (!c.parameters.is_empty()).then_some(&c.parameters),
            user_fields: (!c.user_fields.is_empty()).then_some(&c.user_fields),
        }
    }
}

#[derive(Serialize)]
struct Summary<'a> {
    total_turns: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    average_quality_score: Option<f64>,
    tier_distribution: &'a BTreeMap<&'static str, u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Format, Scope};

    fn settings(metadata: bool) -> TransformerSettings {
        let mut config = ExportConfig::new(Scope::All, Format::Json);
        config.include_metadata = metadata;
        TransformerSettings {
            config,
            export_date: "2025-11-01T12:00:00Z".parse().unwrap(),
            counted_tokens: false,
        }
    }

    #[test]
    fn an_empty_export_is_a_complete_document() {
        let mut t = JsonTransformer::new(&settings(true));
        let mut out = Vec::new();
        t.begin(&mut out).unwrap();
        t.finish(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\n  \"version\": \"1.0\",\n  \"export_date\": \"2025-11-01T12:00:00.000Z\",\n  \"conversations\": [],\n  \"conversation_count\": 0,\n  \"summary\": {\n    \"total_turns\": 0,\n    \"tier_distribution\": {}\n  }\n}\n"
        );
    }

    #[test]
    fn counts_and_summary_follow_the_streamed_array() {
        let c: Conversation = serde_json::from_str(r#"{"conversation_id":"c1","title":"T","status":"approved","qualityScore":8,"tier":"edge_case","createdAt":"2025-10-29T10:00:00Z","updatedAt":"2025-10-29T10:00:00Z","turns":[{"role":"user","content":"line\nbreak","tokenCount":3},{"role":"assistant","content":"ok"}]}"#).unwrap();
        let mut t = JsonTransformer::new(&settings(true));
        let mut out = Vec::new();
        t.begin(&mut out).unwrap();
        t.write_conversation(&mut out, &c).unwrap();
        let mut d = c.clone();
        d.quality_score = Some(6.0);
        t.write_conversation(&mut out, &d).unwrap();
        t.finish(&mut out).unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["conversation_count"], 2);
        assert_eq!(v["summary"]["total_turns"], 4);
        assert_eq!(v["summary"]["average_quality_score"], 7.0);
        assert_eq!(v["summary"]["tier_distribution"]["edge_case"], 2);
        assert_eq!(v["conversations"][0]["turns"][0]["token_count"], 3);
        assert_eq!(v["conversations"][0]["turns"][0]["content"], "line\nbreak");
        assert!(v["conversations"][1]["turns"][1].get("token_count").is_none());
    }
}
