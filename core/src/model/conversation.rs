use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::message::{ContentPart, Preference, PreferenceInput, ToolCall};
use super::Timestamp;

/// A reviewed training conversation with its turns, as the seeds'
/// TypeScript `Conversation` (camelCase), a database row (snake_case), or a
/// minimal record of your own.
///
/// Only an identifier and the turns are required: `conversation_id` (or
/// `conversationId`) and `turns` (or `messages`, OpenAI chat style). Every other field has a default: `title` `""`,
/// `status` `approved` (a record without a review status is taken as your
/// own curated data), `qualityScore` `0`, `tier` `template`, `createdAt`
/// and `updatedAt` `1970-01-01T00:00:00Z`, lists and maps empty, the rest
/// none. Every field is read in camelCase and in snake_case. Unknown extra
/// fields are ignored.
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
/// assert_eq!(c.quality_score, 8.5);
/// assert_eq!(c.tier, Tier::Template);
/// assert_eq!(c.turns[1].role, Role::Assistant);
///
/// let minimal: Conversation = serde_json::from_str(r#"{"conversation_id": "m-1",
///   "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]}"#).unwrap();
/// assert_eq!((minimal.status, minimal.tier, minimal.quality_score), (ConversationStatus::Approved, Tier::Template, 0.0));
/// assert_eq!(minimal.created_at.as_str(), "1970-01-01T00:00:00Z");
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
    /// Human title (default `""`).
    #[serde(default)]
    pub title: String,
    /// Categories (`category[]` in the seeds).
    #[serde(default, alias = "categories", deserialize_with = "null_as_default")]
    pub category: Vec<String>,
    /// Review status (default `approved`).
    #[serde(default = "approved")]
    pub status: ConversationStatus,
    /// Reviewer quality score, 0–10 (default 0).
    #[serde(rename = "qualityScore", alias = "quality_score", default)]
    pub quality_score: f64,
    /// Persona of the user side, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persona: Option<String>,
    /// Emotion of the user side, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emotion: Option<String>,
    /// Topic, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Generation tier (default `template`).
    #[serde(default = "template")]
    pub tier: Tier,
    /// Declared number of turns (informational; `turns.len()` is what is exported).
    #[serde(rename = "totalTurns", alias = "total_turns", default)]
    pub total_turns: u64,
    /// Declared token count of the whole conversation.
    #[serde(rename = "tokenCount", alias = "token_count", default)]
    pub token_count: u64,
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
    /// Creation instant (default `1970-01-01T00:00:00Z`).
    #[serde(rename = "createdAt", alias = "created_at", default = "epoch")]
    pub created_at: Timestamp,
    /// Last update instant (default `1970-01-01T00:00:00Z`).
    #[serde(rename = "updatedAt", alias = "updated_at", default = "epoch")]
    pub updated_at: Timestamp,
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
}

fn approved() -> ConversationStatus {
    ConversationStatus::Approved
}

fn template() -> Tier {
    Tier::Template
}

fn epoch() -> Timestamp {
    Timestamp::from(chrono::DateTime::<chrono::Utc>::UNIX_EPOCH)
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
