//! [`DatasetOptions`]: a request's `dataset` settings, as the service and
//! the bindings take them (JSON, camelCase).

use serde::{Deserialize, Serialize};

use super::{Compression, DatasetBuilder, SplitSpec};
use crate::model::ExportRequest;
use crate::{ErrorKind, Result};

/// An export written as a training set: the `dataset` key of a request.
/// Every field is optional; absent, a dataset has one split `train`, seed
/// 0, no dedupe, one shard per split and no compression.
///
/// ```
/// use lora_export_core::dataset::DatasetOptions;
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
}

impl DatasetOptions {
    /// The dataset builder of `request` with these settings; an invalid
    /// split, compression or tokenizer is an error naming it, and so is
    /// `max_tokens` without a tokenizer.
    pub fn builder(&self, request: ExportRequest) -> Result<DatasetBuilder> {
        let mut builder =
            DatasetBuilder::new(request).seed(self.seed.unwrap_or(0)).dedupe(self.dedupe);
        if let Some(split) = &self.split {
            builder = builder.split(SplitSpec::parse(split)?);
        }
        if let Some(n) = self.max_records_per_shard {
            builder = builder.max_records_per_shard(n);
        }
        if let Some(n) = self.max_bytes_per_shard {
            builder = builder.max_bytes_per_shard(n);
        }
        if let Some(name) = &self.compression {
            builder = builder.compression(Compression::parse(name)?);
        }
        match (&self.tokenizer, self.max_tokens) {
            (Some(spec), max_tokens) => counting(builder, spec, max_tokens),
            (None, Some(_)) => Err(ErrorKind::Config(
                "maxTokens needs a tokenizer to count the tokens with".into(),
            )
            .into()),
            (None, None) => Ok(builder),
        }
    }
}

#[cfg(feature = "tokenizers")]
fn counting(
    builder: DatasetBuilder,
    spec: &str,
    max_tokens: Option<u64>,
) -> Result<DatasetBuilder> {
    Ok(builder.tokenizer(crate::tokens::Tokenizer::parse(spec)?, max_tokens))
}

#[cfg(not(feature = "tokenizers"))]
fn counting(_: DatasetBuilder, spec: &str, _: Option<u64>) -> Result<DatasetBuilder> {
    Err(ErrorKind::Config(format!(
        "tokenizer `{spec}`: this build counts no tokens (it needs the `tokenizers` feature)"
    ))
    .into())
}
