//! The data model: conversations as the platform stores them, and the
//! export request (config, filters, selected ids) that says what to export.
//!
//! Every type deserialises from the seeds' camelCase TypeScript shapes and
//! from the snake_case spellings of database rows, and tolerates unknown
//! extra fields on conversations. Request types reject unknown fields: a typo
//! must never silently widen an export.

mod columns;
mod config;
mod conversation;
mod dataset;
mod dates;
mod filter;
pub mod message;
mod split;
mod timestamp;

pub use columns::{check_columns, field_of, is_pandas_index, KeepColumns, MAX_MAPPED_COLUMNS};
pub use config::{ExportConfig, Format, JsonlFlavor, Scope};
pub use conversation::{
    derived_id, is_platform_field, Conversation, ConversationStatus, ConversationTurn, ParentType,
    ReviewAction, Role, Tier, PLATFORM_FIELDS,
};
pub use dataset::{DatasetOptions, MIN_BYTES_PER_SHARD, MIN_RECORDS_PER_SHARD};
pub use dates::{DateBounds, UpperBound};
pub use filter::{DateRange, ExportRequest, FilterConfig, QualityRange};
pub use message::{ContentPart, Preference, PreferenceInput, ToolCall};
pub use split::{SplitSpec, MAX_SPLIT_PARTS};
pub use timestamp::Timestamp;
