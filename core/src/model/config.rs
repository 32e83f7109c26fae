use std::fmt;

use serde::{Deserialize, Serialize};

/// What to export and how: the seeds' `ExportConfig` plus our additions.
///
/// Defaults (when a field is absent): `includeMetadata`, `includeQualityScores`,
/// `includeTimestamps` and `includeFullContent` are `true`;
/// `includeApprovalHistory` and `includeParentReferences` are `false`;
/// `jsonlFlavor` is `openai`; `systemPrompt` is none; `csvFormulaGuard` is `true`.
///
/// ```
/// use lora_export_core::model::{ExportConfig, Format, JsonlFlavor, Scope};
/// let c: ExportConfig = serde_json::from_str(r#"{"scope":"all","format":"jsonl"}"#).unwrap();
/// assert_eq!(c.format, Format::Jsonl);
/// assert_eq!(c.jsonl_flavor, JsonlFlavor::Openai);
/// assert!(c.include_metadata && c.csv_formula_guard && !c.include_approval_history);
/// assert_eq!(c, ExportConfig::new(Scope::All, Format::Jsonl));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExportConfig {
    /// Which conversations: see [`Scope`].
    pub scope: Scope,
    /// Output format.
    pub format: Format,
    /// Include per-conversation metadata (default `true`).
    #[serde(default = "yes")]
    pub include_metadata: bool,
    /// Include quality scores (default `true`).
    #[serde(default = "yes")]
    pub include_quality_scores: bool,
    /// Include created/updated timestamps (default `true`).
    #[serde(default = "yes")]
    pub include_timestamps: bool,
    /// Include the review history (default `false`).
    #[serde(default)]
    pub include_approval_history: bool,
    /// Include parent id and type (default `false`).
    #[serde(default)]
    pub include_parent_references: bool,
    /// Export turns in full (default `true`); when `false` each turn is cut
    /// to 500 characters and marked as truncated.
    #[serde(default = "yes")]
    pub include_full_content: bool,
    /// JSONL dialect (default `openai`).
    #[serde(default)]
    pub jsonl_flavor: JsonlFlavor,
    /// A system message put first in every JSONL example (default none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
    /// Protect CSV text cells against formula injection (default `true`).
    #[serde(default = "yes")]
    pub csv_formula_guard: bool,
}

fn yes() -> bool {
    true
}

impl ExportConfig {
    /// A config with every default for the given scope and format.
    pub fn new(scope: Scope, format: Format) -> Self {
        ExportConfig {
            scope,
            format,
            include_metadata: true,
            include_quality_scores: true,
            include_timestamps: true,
            include_approval_history: false,
            include_parent_references: false,
            include_full_content: true,
            jsonl_flavor: JsonlFlavor::default(),
            system_prompt: None,
            csv_formula_guard: true,
        }
    }
}

/// Which conversations an export covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Exactly the conversations listed in `conversationIds`.
    Selected,
    /// The conversations matching `filters`.
    Filtered,
    /// Every approved conversation (the seeds' "all").
    All,
    /// Every conversation whatever its status (the modal's "All Data").
    AllData,
}

impl Scope {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Selected => "selected",
            Scope::Filtered => "filtered",
            Scope::All => "all",
            Scope::AllData => "all_data",
        }
    }
}

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// JSON Lines: one training example per line.
    Jsonl,
    /// One pretty-printed JSON document.
    Json,
    /// CSV, one row per turn.
    Csv,
    /// Markdown for human review.
    Markdown,
    /// Parquet, one row per conversation (feature `parquet` of the core).
    Parquet,
}

impl Format {
    /// Every built-in format.
    pub const ALL: [Format; 5] =
        [Format::Jsonl, Format::Json, Format::Csv, Format::Markdown, Format::Parquet];

    /// The lowercase name (`jsonl`, `json`, `csv`, `markdown`, `parquet`).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Markdown => "markdown",
            Format::Parquet => "parquet",
        }
    }

    /// Whether the format's files are binary (Parquet): they have no text
    /// form (no preview, no string output).
    pub fn is_binary(self) -> bool {
        matches!(self, Format::Parquet)
    }

    /// Parses a format name.
    pub fn parse(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.as_str() == name)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The dialect of a JSONL export: which trainer or provider the file is
/// for. docs/formats.md has the table of what each writes and reports as
/// dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum JsonlFlavor {
    /// OpenAI supervised fine-tuning: `{"messages":[…],"tools"?,"metadata"?}`
    /// with `tool_calls`, `weight`, `name` and content parts.
    #[default]
    #[serde(rename = "openai")]
    Openai,
    /// OpenAI preference fine-tuning (DPO): `{"input":{"messages","tools"?},
    /// "preferred_output":[…],"non_preferred_output":[…]}`.
    #[serde(rename = "openai-dpo")]
    OpenaiDpo,
    /// Hugging Face TRL (and axolotl's chat_template): `{"messages","tools"?}`
    /// with `reasoning_content`; `{"prompt","chosen","rejected"}` for
    /// preference records.
    #[serde(rename = "trl")]
    Trl,
    /// Together AI: OpenAI's messages with `reasoning` and `weight`;
    /// OpenAI's preference shape for preference records.
    #[serde(rename = "together")]
    Together,
    /// Fireworks AI: OpenAI's messages with `reasoning_content` and
    /// `weight`; OpenAI's preference shape for preference records.
    #[serde(rename = "fireworks")]
    Fireworks,
    /// Amazon Bedrock Nova: `{"schemaVersion":"bedrock-conversation-2024",
    /// "system":[…],"messages":[…]}` with content blocks (`text`,
    /// `reasoningContent`, `toolUse`, `toolResult`).
    #[serde(rename = "bedrock-nova")]
    BedrockNova,
    /// Claude fine-tuning on Bedrock: `{"system"?: …, "messages":[…]}`, strictly alternating.
    #[serde(rename = "anthropic")]
    Anthropic,
    /// ShareGPT as LLaMA-Factory reads it: `{"conversations":[{"from","value"}],
    /// "tools"?}` with `function_call` and `observation` turns.
    #[serde(rename = "sharegpt")]
    Sharegpt,
}

impl JsonlFlavor {
    /// Every flavor.
    pub const ALL: [JsonlFlavor; 8] = [
        JsonlFlavor::Openai,
        JsonlFlavor::OpenaiDpo,
        JsonlFlavor::Trl,
        JsonlFlavor::Together,
        JsonlFlavor::Fireworks,
        JsonlFlavor::BedrockNova,
        JsonlFlavor::Anthropic,
        JsonlFlavor::Sharegpt,
    ];

    /// The name, as written in a config (`openai-dpo`).
    pub fn as_str(self) -> &'static str {
        match self {
            JsonlFlavor::Openai => "openai",
            JsonlFlavor::OpenaiDpo => "openai-dpo",
            JsonlFlavor::Trl => "trl",
            JsonlFlavor::Together => "together",
            JsonlFlavor::Fireworks => "fireworks",
            JsonlFlavor::BedrockNova => "bedrock-nova",
            JsonlFlavor::Anthropic => "anthropic",
            JsonlFlavor::Sharegpt => "sharegpt",
        }
    }
}
