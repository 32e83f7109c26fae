use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::message::{ContentPart, Preference, PreferenceInput, ToolCall};
use super::Timestamp;

/// A reviewed training conversation with its turns, as the seeds'
/// TypeScript `Conversation` (camelCase), a database row (snake_case), or a
/// minimal record of your own.
///
/// Only the turns are required: `turns` (or `messages`, OpenAI chat style).
/// Every other field is optional, and a field the record lacks stays absent:
/// it is not written to the output (or written as `null` where a format
/// needs the same keys on every line), never given an invented value. Where
/// a rule needs a value, it says what absence means: a record without a
/// review `status` is taken as your own curated data (approved, see
/// [`Conversation::is_approved`]). Without a `conversation_id` (or
/// `conversationId`), the readers take the record's `id`, else derive one
/// from the turns ([`derived_id`]). Every field is read in camelCase and in
/// snake_case. serde ignores unknown fields; the readers take a row's
/// columns by the rule of [`source::Reading`](crate::source::Reading): mapped
/// by a request's `columns`, carried in
/// [`user_fields`](Conversation::user_fields) by its `keepColumns`, and else
/// counted as ignored and reported.
///
/// ```
/// use lora_export_core::model::{Conversation, ConversationStatus, Role, Tier};
/// let c: Conversation = serde_json::from_str(r#"{
///   "conversation_id": "c-1", "title": "Refund", "status": "approved",
///   "quality_score": 8.5, "tier": "template",
///   "created_at": "2025-10-29T10:00:00Z", "updatedAt": "2025-10-29T11:00:00Z",
///   "turns": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}],
///   "somethingElse": true
/// }"#).unwrap();
/// assert_eq!(c.quality_score, Some(8.5));
/// assert_eq!(c.tier, Some(Tier::Template));
/// assert_eq!(c.turns[1].role, Role::Assistant);
///
/// let minimal: Conversation = serde_json::from_str(r#"{
///   "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]}"#).unwrap();
/// assert_eq!((minimal.status, minimal.tier, minimal.quality_score), (None, None, None));
/// assert!(minimal.created_at.is_none() && minimal.is_approved());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    /// Database primary key (often a UUID); empty when not given.
    #[serde(default)]
    pub id: String,
    /// Stable business identifier of the conversation.
    /// Required: empty when absent, which the readers refuse (see
    /// [`source::from_value`](crate::source::from_value)).
    #[serde(alias = "conversationId", default)]
    pub conversation_id: String,
    /// Human title, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Categories (`category[]` in the seeds).
    #[serde(default, alias = "categories", deserialize_with = "null_as_default")]
    pub category: Vec<String>,
    /// Review status, if any (absent: taken as approved by the scopes, see
    /// [`Conversation::is_approved`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ConversationStatus>,
    /// Reviewer quality score, 0–10, if any.
    #[serde(
        rename = "qualityScore",
        alias = "quality_score",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub quality_score: Option<f64>,
    /// Persona of the user side, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persona: Option<String>,
    /// Emotion of the user side, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emotion: Option<String>,
    /// Topic, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Generation tier, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<Tier>,
    /// Declared number of turns (informational; `turns.len()` is what is exported).
    #[serde(rename = "totalTurns", alias = "total_turns", default)]
    pub total_turns: u64,
    /// Declared (or counted) token count of the whole conversation, if any.
    #[serde(
        rename = "tokenCount",
        alias = "token_count",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub token_count: Option<u64>,
    /// The template or scenario this conversation was generated from.
    #[serde(
        rename = "parentId",
        alias = "parent_id",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub parent_id: Option<String>,
    /// What `parent_id` refers to.
    #[serde(
        rename = "parentType",
        alias = "parent_type",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub parent_type: Option<ParentType>,
    /// Free-form generation parameters.
    #[serde(default, deserialize_with = "null_as_default")]
    pub parameters: Map<String, Value>,
    /// Review actions, oldest first.
    #[serde(
        rename = "reviewHistory",
        alias = "review_history",
        default,
        deserialize_with = "null_as_default"
    )]
    pub review_history: Vec<ReviewAction>,
    /// Creation instant, if any.
    #[serde(
        rename = "createdAt",
        alias = "created_at",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub created_at: Option<Timestamp>,
    /// Last update instant, if any.
    #[serde(
        rename = "updatedAt",
        alias = "updated_at",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub updated_at: Option<Timestamp>,
    /// The turns, in order (`messages` is read too). For a preference
    /// record, the shared prompt (TRL's `prompt`, OpenAI's `input.messages`).
    #[serde(alias = "messages", default)]
    pub turns: Vec<ConversationTurn>,
    /// Function definitions offered to the model (`tools`, OpenAI's
    /// `input.tools`), each kept as the JSON it was given; none by default.
    #[serde(
        default,
        deserialize_with = "super::message::read_tools",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tools: Vec<Value>,
    /// The chosen and rejected continuations of a preference record.
    #[serde(skip_deserializing, default, skip_serializing_if = "Option::is_none")]
    pub preference: Option<Preference>,
    /// The preference keys as read (`prompt`, `chosen`, `rejected`, `input`,
    /// `preferred_output`, `non_preferred_output`); the readers move them
    /// into `turns`, `tools` and `preference`
    /// ([`source::checked`](crate::source::checked)) and leave this empty.
    #[serde(flatten, deserialize_with = "super::message::read_preference", skip_serializing)]
    pub preference_input: PreferenceInput,
    /// The record's own fields that are not the platform's: columns carried
    /// on request (`keepColumns`, see [`source::Reading`](crate::source::Reading)),
    /// and a column named as a platform field whose value means something
    /// else (`status: "done"`, `id: 7`), kept here under its own name (see
    /// [`source::from_value`](crate::source::from_value)). Written in the
    /// metadata as `user_fields` when not empty. Never read from a record's
    /// own keys by serde.
    #[serde(skip)]
    pub user_fields: Map<String, Value>,
}

impl Conversation {
    /// Whether the conversation counts as approved: its status is
    /// `approved`, or it has none (your own curated data).
    pub fn is_approved(&self) -> bool {
        self.status.map_or(true, |s| s == ConversationStatus::Approved)
    }
}

/// The top-level field names a record is read with (both spellings): a
/// record's own field of one of these names whose value does not fit is kept
/// in [`Conversation::user_fields`] under its name.
pub const PLATFORM_FIELDS: &[&str] = &[
    "id",
    "conversation_id",
    "conversationId",
    "title",
    "category",
    "categories",
    "status",
    "qualityScore",
    "quality_score",
    "persona",
    "emotion",
    "topic",
    "tier",
    "totalTurns",
    "total_turns",
    "tokenCount",
    "token_count",
    "parentId",
    "parent_id",
    "parentType",
    "parent_type",
    "parameters",
    "reviewHistory",
    "review_history",
    "createdAt",
    "created_at",
    "updatedAt",
    "updated_at",
    "turns",
    "messages",
];

/// Whether `name` is one of the [`PLATFORM_FIELDS`].
pub fn is_platform_field(name: &str) -> bool {
    PLATFORM_FIELDS.contains(&name)
}

/// The `conversation_id` of a record that has neither a `conversation_id`
/// nor an `id`: `sha256:` and the first 16 hex digits of the SHA-256 of its
/// turns as canonical JSON — the turns as this library reads them,
/// serialized compactly with the model's key order (`role`, `content`, then
/// any other field of the turn that is present), UTF-8, no spaces. The same
/// turns give the same id in Rust, Python and Node; the `sha256:` prefix
/// says it was derived, not given.
///
/// ```
/// use lora_export_core::model::{derived_id, ConversationTurn};
/// let turns: Vec<ConversationTurn> = serde_json::from_str(
///     r#"[{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]"#).unwrap();
/// let id = derived_id(&turns);
/// assert!(id.starts_with("sha256:") && id.len() == 23);
/// let canonical = r#"[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello!"}]"#;
/// use sha2::Digest;
/// let hex = lora_export_core::digest::hex(&sha2::Sha256::digest(canonical));
/// assert_eq!(id, format!("sha256:{}", &hex[..16]));
/// ```
pub fn derived_id(turns: &[ConversationTurn]) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    // Serializing plain data into a hasher cannot fail.
    serde_json::to_writer(HashWriter(&mut hash), turns).expect("turns serialize");
    format!("sha256:{}", &crate::digest::hex(&hash.finalize())[..16])
}

/// An `io::Write` into a SHA-256.
struct HashWriter<'a>(&'a mut sha2::Sha256);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        sha2::Digest::update(self.0, buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// One message of a conversation.
///
/// Read from OpenAI's and Hugging Face's message shapes (see
/// [`model::message`](super::message) for the readers): `content` as text, a
/// list of parts, or null on an assistant message that calls tools;
/// `tool_calls`, `tool_call_id`, `name`, `reasoning_content` (or
/// `reasoning`, `thinking`) and `weight` (0 or 1, assistant messages only).
///
/// ```
/// use lora_export_core::model::{Conversation, Role};
/// let c: Conversation = serde_json::from_str(r#"{"conversation_id":"t","messages":[
///   {"role":"developer","content":"Be brief."},
///   {"role":"user","content":"Weather in Paris?"},
///   {"role":"assistant","content":null,"reasoning_content":"Call the tool.",
///    "tool_calls":[{"id":"c1","type":"function","function":{"name":"weather","arguments":{"city":"Paris"}}}]},
///   {"role":"tool","tool_call_id":"c1","content":"18C"},
///   {"role":"assistant","content":"18C.","weight":1}]}"#).unwrap();
/// assert_eq!(c.turns[0].role, Role::Developer);
/// assert_eq!(c.turns[2].tool_calls[0].arguments, r#"{"city":"Paris"}"#);
/// assert_eq!(c.turns[2].reasoning.as_deref(), Some("Call the tool."));
/// assert_eq!(c.turns[4].weight, Some(1));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationTurn {
    /// Who speaks.
    pub role: Role,
    /// The text. For content given as a list of parts, the text parts
    /// joined (the parts themselves are in `parts`); empty when the content
    /// was null (an assistant message that only calls tools).
    pub content: String,
    /// The content parts, when the content was a list of parts; else empty.
    pub parts: Vec<ContentPart>,
    /// The tool calls of an assistant message.
    pub tool_calls: Vec<ToolCall>,
    /// The call a `tool` message answers.
    pub tool_call_id: Option<String>,
    /// The participant's or the tool's name.
    pub name: Option<String>,
    /// The model's reasoning before its answer (`reasoning_content`).
    pub reasoning: Option<String>,
    /// Whether an assistant message is trained on (1) or not (0); none
    /// when not given.
    pub weight: Option<u8>,
    /// Token count of this turn, if known.
    pub token_count: Option<u64>,
}

/// The speaker of a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A system prompt.
    System,
    /// Instructions from the developer (OpenAI's successor of `system`).
    Developer,
    /// The human side.
    User,
    /// The model side.
    Assistant,
    /// A tool's answer to a call.
    Tool,
}

impl Role {
    /// The lowercase name, as written in every format.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::Developer => "developer",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

/// Review status of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    /// Not generated yet.
    Draft,
    /// Generated, not yet submitted for review.
    Generated,
    /// Waiting for a reviewer.
    PendingReview,
    /// Approved for training.
    Approved,
    /// Rejected by a reviewer.
    Rejected,
    /// Sent back for changes.
    NeedsRevision,
    /// Generation failed.
    Failed,
}

impl ConversationStatus {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationStatus::Draft => "draft",
            ConversationStatus::Generated => "generated",
            ConversationStatus::PendingReview => "pending_review",
            ConversationStatus::Approved => "approved",
            ConversationStatus::Rejected => "rejected",
            ConversationStatus::NeedsRevision => "needs_revision",
            ConversationStatus::Failed => "failed",
        }
    }
}

/// Generation tier of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Generated from a template.
    Template,
    /// Generated from a scenario.
    Scenario,
    /// An edge case.
    EdgeCase,
}

impl Tier {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Template => "template",
            Tier::Scenario => "scenario",
            Tier::EdgeCase => "edge_case",
        }
    }
}

/// What a conversation's `parentId` refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParentType {
    /// A template.
    Template,
    /// A scenario.
    Scenario,
}

impl ParentType {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ParentType::Template => "template",
            ParentType::Scenario => "scenario",
        }
    }
}

/// One entry of a conversation's review history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewAction {
    /// Identifier of the action.
    pub id: String,
    /// What was done (`approved`, `rejected`, `revision_requested`, …).
    pub action: String,
    /// Who did it.
    #[serde(rename = "performedBy", alias = "performed_by")]
    pub performed_by: String,
    /// When, as given.
    pub timestamp: String,
    /// Reviewer's comment, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}
