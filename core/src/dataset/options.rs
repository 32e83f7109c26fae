//! The dataset builder of a request's [`DatasetOptions`] (plain data, in
//! the model).

use super::{Compression, DatasetBuilder};
use crate::model::{DatasetOptions, ExportRequest, SplitSpec};
use crate::{ErrorKind, Result};

impl DatasetOptions {
    /// The dataset builder of `request` with these settings; an invalid
    /// split, compression or tokenizer is an error naming it, and so is
    /// `max_tokens` without a tokenizer.
    pub fn builder(&self, request: ExportRequest) -> Result<DatasetBuilder> {
        let mut builder =
            DatasetBuilder::new(request).seed(self.seed.unwrap_or(0)).dedupe(self.dedupe);
        builder = builder.overwrite(self.overwrite);
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
        match (&self.tokenizer, self.max_tokens, &self.chat_template) {
            (Some(spec), max_tokens, template) => {
                counting(builder, spec, max_tokens, template.as_deref())
            }
            (None, Some(_), _) => Err(ErrorKind::Config(
                "maxTokens needs a tokenizer to count the tokens with".into(),
            )
            .into()),
            (None, None, Some(_)) => Err(ErrorKind::Config(
                "chatTemplate needs a tokenizer (a tokenizer.json) to count the rendered text with"
                    .into(),
            )
            .into()),
            (None, None, None) => Ok(builder),
        }
    }
}

#[cfg(feature = "tokenizers")]
fn counting(
    builder: DatasetBuilder,
    spec: &str,
    max_tokens: Option<u64>,
    template: Option<&str>,
) -> Result<DatasetBuilder> {
    let mut tokenizer = crate::tokens::Tokenizer::parse(spec)?;
    if let Some(template) = template {
        tokenizer = tokenizer.with_chat_template(crate::tokens::ChatTemplate::parse(template)?)?;
    }
    Ok(builder.tokenizer(tokenizer, max_tokens))
}

#[cfg(not(feature = "tokenizers"))]
fn counting(
    _: DatasetBuilder,
    spec: &str,
    _: Option<u64>,
    _: Option<&str>,
) -> Result<DatasetBuilder> {
    Err(ErrorKind::Config(format!(
        "tokenizer `{spec}`: this build counts no tokens (it needs the `tokenizers` feature)"
    ))
    .into())
}
