use std::collections::BTreeMap;
use std::sync::Arc;

#[cfg(feature = "parquet")]
use super::ParquetTransformer;
use super::{
    CsvTransformer, ExportTransformer, JsonTransformer, JsonlTransformer, MarkdownTransformer,
    TransformerSettings,
};
use crate::{ErrorKind, Result};

/// Builds a transformer for one export.
pub type TransformerFactory =
    Arc<dyn Fn(&TransformerSettings) -> Box<dyn ExportTransformer> + Send + Sync>;

/// Format names mapped to transformer factories.
///
/// ```
/// use std::io::Write;
/// use std::sync::Arc;
/// use lora_export_core::format::{ExportTransformer, Registry, TransformerSettings};
/// use lora_export_core::model::Conversation;
///
/// struct Titles;
/// impl ExportTransformer for Titles {
///     fn begin(&mut self, _: &mut dyn Write) -> lora_export_core::Result<()> { Ok(()) }
///     fn write_conversation(&mut self, out: &mut dyn Write, c: &Conversation) -> lora_export_core::Result<()> {
///         writeln!(out, "{}", c.title.as_deref().unwrap_or(&c.conversation_id))?;
///         Ok(())
///     }
///     fn finish(&mut self, _: &mut dyn Write) -> lora_export_core::Result<()> { Ok(()) }
///     fn file_extension(&self) -> &'static str { "txt" }
///     fn mime_type(&self) -> &'static str { "text/plain" }
/// }
///
/// let mut registry = Registry::with_builtins();
/// registry.register("titles", Arc::new(|_: &TransformerSettings| Box::new(Titles) as Box<dyn ExportTransformer>));
/// assert_eq!(registry.names(), ["csv", "json", "jsonl", "markdown", "parquet", "titles"]);
/// ```
#[derive(Clone)]
pub struct Registry {
    factories: BTreeMap<String, TransformerFactory>,
}

impl Registry {
    /// A registry with no format at all.
    pub fn empty() -> Self {
        Registry { factories: BTreeMap::new() }
    }

    /// A registry with the built-in formats: `jsonl`, `json`, `csv`,
    /// `markdown`, and `parquet` (feature `parquet`, on by default).
    pub fn with_builtins() -> Self {
        let mut r = Registry::empty();
        r.register(
            "jsonl",
            Arc::new(|s: &TransformerSettings| Box::new(JsonlTransformer::new(s)) as _),
        );
        r.register(
            "json",
            Arc::new(|s: &TransformerSettings| Box::new(JsonTransformer::new(s)) as _),
        );
        r.register(
            "csv",
            Arc::new(|s: &TransformerSettings| Box::new(CsvTransformer::new(s)) as _),
        );
        r.register(
            "markdown",
            Arc::new(|s: &TransformerSettings| Box::new(MarkdownTransformer::new(s)) as _),
        );
        #[cfg(feature = "parquet")]
        r.register(
            "parquet",
            Arc::new(|s: &TransformerSettings| Box::new(ParquetTransformer::new(s)) as _),
        );
        r
    }

    /// Adds or replaces the factory of `name`.
    pub fn register(&mut self, name: impl Into<String>, factory: TransformerFactory) -> &mut Self {
        self.factories.insert(name.into(), factory);
        self
    }

    /// The registered names, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.factories.keys().map(String::as_str).collect()
    }

    /// Builds the transformer of `name`.
    pub fn create(
        &self,
        name: &str,
        settings: &TransformerSettings,
    ) -> Result<Box<dyn ExportTransformer>> {
        let factory = match self.factories.get(name) {
            Some(factory) => factory,
            None if name == "parquet" && cfg!(not(feature = "parquet")) => {
                let why = "format `parquet`: this build has no Parquet writer (it needs the \
                           `parquet` feature of lora-export-core)";
                return Err(ErrorKind::Config(why.into()).into());
            }
            None => return Err(ErrorKind::UnknownFormat(name.to_owned()).into()),
        };
        Ok(factory(settings))
    }
}

impl Default for Registry {
    fn default() -> Self {
        Registry::with_builtins()
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").field("formats", &self.names()).finish()
    }
}
