use std::io::Write;

use serde::Serialize;
use serde_json::{Map, Value};

use super::content::turn_content;
use super::json_text;
use super::{ExportTransformer, TransformerSettings};
use crate::model::{Conversation, ExportConfig, JsonlFlavor, ReviewAction, Role};
use crate::{ErrorKind, Result};

/// JSON Lines for fine-tuning: one conversation per line, in the flavor of
/// [`ExportConfig::jsonl_flavor`].
///
/// - `openai`: `{"messages":[{"role","content"},…],"metadata"?:{…}}`; the
///   metadata object (when `includeMetadata`) has the same keys, of the same
///   types, on every line: absent persona, emotion, topic and parent fields
///   are written as `""`, never as null or a missing key, so that Arrow
///   readers (Hugging Face `datasets`) that fix the schema on the first chunk
///   read every line.
/// - `anthropic`: `{"system"?:…,"messages":[…]}` and nothing else. The
///   conversation must start with a user turn, end with an assistant turn and
///   alternate; a leading system turn becomes `system`. Others are refused.
/// - `sharegpt`: `{"conversations":[{"from":"system"|"human"|"gpt","value"}]}`.
///
/// With `systemPrompt` set, a system message comes first, unless the
/// conversation starts with its own system turn. The `anthropic` and
/// `sharegpt` flavors forbid extra keys: their metadata goes to a sidecar
/// file, line for line (see [`ExportTransformer::wants_sidecar`]).
#[derive(Debug)]
pub struct JsonlTransformer {
    config: ExportConfig,
    counted_tokens: bool,
    line: Vec<u8>,
}

impl JsonlTransformer {
    /// A JSONL writer for these settings.
    pub fn new(settings: &TransformerSettings) -> Self {
        JsonlTransformer {
            config: settings.config.clone(),
            counted_tokens: settings.counted_tokens,
            line: Vec::with_capacity(8 * 1024),
        }
    }

    fn serialize_line(&mut self, c: &Conversation) -> Result<()> {
        let full = self.config.include_full_content;
        let mut truncated = false;
        let mut messages = Vec::with_capacity(c.turns.len() + 1);
        for t in &c.turns {
            let (content, cut) = turn_content(&t.content, full);
            truncated |= cut;
            messages.push((t.role, content));
        }
        if self.config.jsonl_flavor != JsonlFlavor::Anthropic {
            check_trainable(self.config.jsonl_flavor, &messages)?;
        }
        let system = system_prompt(&self.config, c);
        self.line.clear();
        let line = &mut self.line;
        match self.config.jsonl_flavor {
            JsonlFlavor::Openai => {
                line.extend_from_slice(b"{\"messages\":");
                let system = system.map(|s| ("system", s));
                let rest = messages.iter().map(|(r, c)| (r.as_str(), &**c));
                write_messages(line, b"role", b"content", system.into_iter().chain(rest));
                if self.config.include_metadata {
                    line.extend_from_slice(b",\"metadata\":");
                    serde_json::to_writer(
                        &mut *line,
                        &Metadata::new(c, &self.config, truncated, self.counted_tokens),
                    )?;
                }
                line.push(b'}');
            }
            JsonlFlavor::Anthropic => {
                let mut rest = &messages[..];
                let mut system = system;
                if let Some(((Role::System, first), tail)) = rest.split_first() {
                    system = Some(first);
                    rest = tail;
                }
                check_alternation(rest)?;
                line.push(b'{');
                if let Some(system) = system {
                    line.extend_from_slice(b"\"system\":");
                    json_text::write_str(line, system);
                    line.push(b',');
                }
                line.extend_from_slice(b"\"messages\":");
                let all = rest.iter().map(|(r, c)| (r.as_str(), &**c));
                write_messages(line, b"role", b"content", all);
                line.push(b'}');
            }
            JsonlFlavor::Sharegpt => {
                line.extend_from_slice(b"{\"conversations\":");
                let system = system.map(|s| ("system", s));
                let rest = messages.iter().map(|(r, c)| (sharegpt_role(*r), &**c));
                write_messages(line, b"from", b"value", system.into_iter().chain(rest));
                line.push(b'}');
            }
        }
        self.line.push(b'\n');
        Ok(())
    }
}

/// Appends `[{"<who>":"…","<what>":"…"},…]`, the texts escaped by
/// [`json_text::write_str`] (the bulk of every line).
fn write_messages<'a>(
    line: &mut Vec<u8>,
    who: &[u8],
    what: &[u8],
    items: impl Iterator<Item = (&'a str, &'a str)>,
) {
    line.push(b'[');
    for (i, (speaker, text)) in items.enumerate() {
        if i > 0 {
            line.push(b',');
        }
        line.extend_from_slice(b"{\"");
        line.extend_from_slice(who);
        line.extend_from_slice(b"\":");
        json_text::write_str(line, speaker);
        line.extend_from_slice(b",\"");
        line.extend_from_slice(what);
        line.extend_from_slice(b"\":");
        json_text::write_str(line, text);
        line.push(b'}');
    }
    line.push(b']');
}

/// The configured system prompt, unless the conversation opens with its own.
fn system_prompt<'a>(config: &'a ExportConfig, c: &Conversation) -> Option<&'a str> {
    match c.turns.first() {
        Some(t) if t.role == Role::System => None,
        _ => config.system_prompt.as_deref(),
    }
}

fn sharegpt_role(role: Role) -> &'static str {
    match role {
        Role::System => "system",
        Role::User => "human",
        Role::Assistant => "gpt",
    }
}

/// What the OpenAI and ShareGPT trainers refuse, as `validate_output`
/// reports it: an example without an assistant turn, or a blank turn.
fn check_trainable(flavor: JsonlFlavor, turns: &[(Role, std::borrow::Cow<'_, str>)]) -> Result<()> {
    let refuse =
        |why: String| Err(ErrorKind::Rejected(format!("{} flavor: {why}", flavor.as_str())).into());
    if !turns.iter().any(|(role, _)| *role == Role::Assistant) {
        return refuse(
            "no assistant turn, which trainers require (example_missing_assistant_message)".into(),
        );
    }
    if let Some(i) = turns.iter().position(|(_, content)| content.trim().is_empty()) {
        return refuse(format!("turn {} has empty content (missing_content)", i + 1));
    }
    Ok(())
}

fn check_alternation(turns: &[(Role, std::borrow::Cow<'_, str>)]) -> Result<()> {
    let refuse = |why: String| Err(ErrorKind::Rejected(format!("anthropic flavor: {why}")).into());
    match (turns.first(), turns.last()) {
        (None, _) => return refuse("no user or assistant turn".into()),
        (Some((first, _)), Some((last, _))) => {
            if *first != Role::User {
                return refuse(format!("first turn is {}, must be user", first.as_str()));
            }
            if *last != Role::Assistant {
                return refuse(format!("last turn is {}, must be assistant", last.as_str()));
            }
        }
        _ => {}
    }
    for (i, (role, content)) in turns.iter().enumerate() {
        let expected = if i % 2 == 0 { Role::User } else { Role::Assistant };
        if *role != expected {
            return refuse(format!(
                "turn {} is {}, expected {} (roles must alternate)",
                i + 1,
                role.as_str(),
                expected.as_str()
            ));
        }
        if content.trim().is_empty() {
            return refuse(format!("turn {} has empty content", i + 1));
        }
    }
    Ok(())
}

impl ExportTransformer for JsonlTransformer {
    fn begin(&mut self, _out: &mut dyn Write) -> Result<()> {
        Ok(())
    }

    fn write_conversation(
        &mut self,
        out: &mut dyn Write,
        conversation: &Conversation,
    ) -> Result<()> {
        self.serialize_line(conversation)?;
        out.write_all(&self.line)?;
        Ok(())
    }

    fn finish(&mut self, _out: &mut dyn Write) -> Result<()> {
        Ok(())
    }

    fn file_extension(&self) -> &'static str {
        "jsonl"
    }

    fn mime_type(&self) -> &'static str {
        "application/x-ndjson"
    }

    fn wants_sidecar(&self) -> bool {
        self.config.include_metadata && self.config.jsonl_flavor != JsonlFlavor::Openai
    }

    fn write_sidecar(&mut self, sidecar: &mut dyn Write, c: &Conversation) -> Result<()> {
        let truncated = !self.config.include_full_content
            && c.turns.iter().any(|t| turn_content(&t.content, false).1);
        self.line.clear();
        serde_json::to_writer(
            &mut self.line,
            &Metadata::new(c, &self.config, truncated, self.counted_tokens),
        )?;
        self.line.push(b'\n');
        sidecar.write_all(&self.line)?;
        Ok(())
    }
}

/// Per-line metadata of the JSONL formats: the same keys with the same types
/// on every line of one export.
#[derive(Serialize)]
struct Metadata<'a> {
    conversation_id: &'a str,
    title: Option<&'a str>,
    tier: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    quality_score: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    review_history: Option<&'a [ReviewAction]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_type: Option<&'a str>,
    persona: &'a str,
    emotion: &'a str,
    topic: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_truncated: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_count: Option<Option<u64>>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    user_fields: &'a Map<String, Value>,
}

impl<'a> Metadata<'a> {
    fn new(c: &'a Conversation, config: &ExportConfig, truncated: bool, counted: bool) -> Self {
        let ts = config.include_timestamps;
        let parents = config.include_parent_references;
        Metadata {
            conversation_id: &c.conversation_id,
            title: c.title.as_deref(),
            tier: c.tier.map(|t| t.as_str()),
            quality_score: config.include_quality_scores.then_some(c.quality_score),
            created_at: ts.then(|| c.created_at.as_ref().map(|t| t.as_str())),
            updated_at: ts.then(|| c.updated_at.as_ref().map(|t| t.as_str())),
            review_history: config.include_approval_history.then_some(c.review_history.as_slice()),
            parent_id: parents.then(|| c.parent_id.as_deref().unwrap_or("")),
            parent_type: parents.then(|| c.parent_type.map_or("", |p| p.as_str())),
            persona: c.persona.as_deref().unwrap_or(""),
            emotion: c.emotion.as_deref().unwrap_or(""),
            topic: c.topic.as_deref().unwrap_or(""),
            content_truncated: (!config.include_full_content).then_some(truncated),
            token_count: counted.then_some(c.token_count),
            user_fields: &c.user_fields,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ConversationTurn, Format, Scope};

    fn conversation(roles: &[Role]) -> Conversation {
        let turns = roles
            .iter()
            .enumerate()
            .map(|(i, r)| ConversationTurn {
                role: *r,
                content: format!("turn {i}"),
                token_count: None,
            })
            .collect::<Vec<_>>();
        serde_json::from_value(serde_json::json!({
            "conversation_id": "c1", "title": "T", "status": "approved", "qualityScore": 7.5,
            "tier": "scenario", "createdAt": "2025-10-29T10:00:00Z", "updatedAt": "2025-10-29T10:00:00Z",
            "turns": turns,
        }))
        .unwrap()
    }

    fn transformer(flavor: JsonlFlavor, metadata: bool, system: Option<&str>) -> JsonlTransformer {
        let mut config = ExportConfig::new(Scope::All, Format::Jsonl);
        config.jsonl_flavor = flavor;
        config.include_metadata = metadata;
        config.system_prompt = system.map(str::to_owned);
        JsonlTransformer::new(&TransformerSettings {
            config,
            export_date: chrono::Utc::now(),
            counted_tokens: false,
        })
    }

    fn line(t: &mut JsonlTransformer, c: &Conversation) -> Result<String> {
        let mut out = Vec::new();
        t.write_conversation(&mut out, c)?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn openai_puts_the_system_prompt_first_unless_the_conversation_has_one() {
        let mut t = transformer(JsonlFlavor::Openai, false, Some("Be kind."));
        let c = conversation(&[Role::User, Role::Assistant]);
        assert_eq!(
            line(&mut t, &c).unwrap(),
            r#"{"messages":[{"role":"system","content":"Be kind."},{"role":"user","content":"turn 0"},{"role":"assistant","content":"turn 1"}]}"#.to_owned() + "\n"
        );
        let own = conversation(&[Role::System, Role::User, Role::Assistant]);
        assert!(line(&mut t, &own)
            .unwrap()
            .starts_with(r#"{"messages":[{"role":"system","content":"turn 0"}"#));
    }

    #[test]
    fn openai_metadata_has_the_same_keys_and_types_on_every_line() {
        let mut t = transformer(JsonlFlavor::Openai, true, None);
        let mut with = conversation(&[Role::User, Role::Assistant]);
        with.persona = Some("Student".into());
        let without = conversation(&[Role::User, Role::Assistant]);
        let keys = |s: &str| {
            let v: serde_json::Value = serde_json::from_str(s).unwrap();
            v["metadata"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.is_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(&line(&mut t, &without).unwrap()), keys(&line(&mut t, &with).unwrap()));
    }

    #[test]
    fn anthropic_refuses_conversations_that_do_not_alternate() {
        let mut t = transformer(JsonlFlavor::Anthropic, false, None);
        for (roles, why) in [
            (&[Role::Assistant, Role::User][..], "first turn is assistant"),
            (&[Role::User, Role::Assistant, Role::User][..], "last turn is user"),
            (&[Role::User, Role::User, Role::Assistant][..], "turn 2 is user"),
            (&[Role::System][..], "no user or assistant turn"),
        ] {
            let err = line(&mut t, &conversation(roles)).unwrap_err();
            assert!(matches!(err.kind(), ErrorKind::Rejected(m) if m.contains(why)), "{err}");
        }
        let ok = line(&mut t, &conversation(&[Role::System, Role::User, Role::Assistant])).unwrap();
        assert_eq!(
            ok,
            r#"{"system":"turn 0","messages":[{"role":"user","content":"turn 1"},{"role":"assistant","content":"turn 2"}]}"#.to_owned() + "\n"
        );
    }

    #[test]
    fn sharegpt_maps_roles_and_sends_metadata_to_the_sidecar() {
        let mut t = transformer(JsonlFlavor::Sharegpt, true, Some("S"));
        assert!(t.wants_sidecar());
        let c = conversation(&[Role::User, Role::Assistant]);
        assert_eq!(
            line(&mut t, &c).unwrap(),
            r#"{"conversations":[{"from":"system","value":"S"},{"from":"human","value":"turn 0"},{"from":"gpt","value":"turn 1"}]}"#.to_owned() + "\n"
        );
        let mut sidecar = Vec::new();
        t.write_sidecar(&mut sidecar, &c).unwrap();
        let meta: serde_json::Value = serde_json::from_slice(&sidecar).unwrap();
        assert_eq!(meta["conversation_id"], "c1");
        assert!(!transformer(JsonlFlavor::Openai, true, None).wants_sidecar());
    }
}
