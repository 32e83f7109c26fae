//! The options of an export written as a training set (the `dataset` key
//! of a request), and the limits a request's options must respect: plain
//! data, read by request validation and the dataset writer alike.

use serde::{Deserialize, Serialize};

/// The smallest `maxRecordsPerShard` a request may ask for: each shard is a
/// file (open until the export commits), so one record per shard would fan
/// an export out into a file per conversation. The builder itself accepts 1.
pub const MIN_RECORDS_PER_SHARD: u64 = 10;

/// The smallest `maxBytesPerShard` a request may ask for (16 KiB); the
/// builder itself accepts 1,024.
pub const MIN_BYTES_PER_SHARD: u64 = 16 * 1024;

/// An export written as a training set: the `dataset` key of a request.
/// Every field is optional; absent, a dataset has one split `train`, seed
/// 0, no dedupe, one shard per split and no compression.
///
/// ```
/// use lora_export_core::model::DatasetOptions;
/// use lora_export_core::model::{ExportConfig, ExportRequest, Format, Scope};
/// let options: DatasetOptions = serde_json::from_str(
///     r#"{"split": "train=0.9,validation=0.1", "seed": 42, "dedupe": true,
///        "maxRecordsPerShard": 50000, "compression": "zstd"}"#).unwrap();
/// let request = ExportRequest::new(ExportConfig::new(Scope::All, Format::Jsonl));
/// assert!(options.builder(request).is_ok());
/// assert!(serde_json::from_str::<DatasetOptions>(r#"{"shards": 2}"#).is_err(), "unknown key");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DatasetOptions {
    /// Parts and shares in order, `"train=0.9,validation=0.1"`; a string,
    /// because the order decides the assignment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<String>,
    /// The seed of the split's hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Leave out repeated ids and repeated turns (listed as skipped).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dedupe: bool,
    /// At most this many conversations per shard (at least 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_records_per_shard: Option<u64>,
    /// A new shard after this many bytes of data (at least 1,024).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes_per_shard: Option<u64>,
    /// `none`, `gzip` or `zstd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<String>,
    /// Counts each conversation's tokens (feature `tokenizers`):
    /// `o200k_base`, `cl100k_base`, or the path of a `tokenizer.json`
    /// (a request to the service may name only the first two).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokenizer: Option<String>,
    /// Leaves out (and lists as skipped) a conversation of more tokens, one
    /// the trainer would truncate; needs `tokenizer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    /// Renders each conversation with this chat template before counting,
    /// as the trainer does: a Jinja template's text, or the path of a
    /// `tokenizer_config.json` (its `chat_template`, `bos_token`,
    /// `eos_token`) or of a template file. Needs a `tokenizer.json`
    /// `tokenizer` (a request to the service may name none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_template: Option<String>,
    /// Replace a directory that holds files, once the dataset is complete
    /// (default: such a directory is refused). Not a key of a request to
    /// the service, whose files are its own.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub overwrite: bool,
}
