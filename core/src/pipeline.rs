//! The export pipeline: scope selection, a transformer, byte counting and
//! hashing, and the summary — fed one record at a time.
//!
//! [`ExportBuilder`] fixes the options once; [`ExportWriter`] takes records
//! with [`push`](ExportWriter::push) and ends with
//! [`finish`](ExportWriter::finish). Memory stays constant whatever the
//! number of records: one conversation is held at a time.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::compress::{Compression, Encoder};
use crate::digest::HashingWriter;
use crate::format::{ExportTransformer, Registry, TransformerSettings};
use crate::model::{
    check_columns, is_platform_field, Conversation, ExportConfig, ExportRequest, Scope,
};
use crate::scope::Selector;
use crate::source::{Reading, Record};
use crate::{
    ErrorKind, ExportSummary, Issue, Location, Result, SkippedRecord, Warning, WarningCode,
    DEFAULT_MAX_SKIPPED_RECORDS,
};

/// Options of one export, fixed before the first byte is written.
///
/// ```
/// use lora_export_core::ExportBuilder;
/// use lora_export_core::model::{ExportConfig, ExportRequest, Format, Scope};
///
/// let request = ExportRequest::new(ExportConfig::new(Scope::All, Format::Csv));
/// let writer = ExportBuilder::new(request).from_writer(Vec::new()).unwrap();
/// let (bytes, summary) = writer.finish().unwrap();
/// assert!(bytes.starts_with("\u{FEFF}conversation_id,".as_bytes()));
/// assert_eq!(summary.conversations, 0);
/// assert_eq!(summary.bytes, bytes.len() as u64);
/// ```
pub struct ExportBuilder {
    request: ExportRequest,
    registry: Registry,
    format_name: Option<String>,
    export_date: Option<DateTime<Utc>>,
    fail_on_malformed: bool,
    sidecar: Option<Box<dyn Write + Send>>,
    limits: Limits,
    counted_tokens: bool,
    hashed: bool,
    hash_thread: bool,
    /// How the input's rows are read (the request's columns), shared with
    /// the readers.
    reading: Arc<Reading>,
    /// Whether this export reports what `reading` met (a dataset's shard
    /// leaves it to the dataset).
    report_columns: bool,
    #[cfg(feature = "tokenizers")]
    tokens: Option<crate::tokens::TokenCounter>,
}

/// What an export tolerates; fixed by the builder.
#[derive(Debug, Clone, Copy)]
struct Limits {
    max_skipped_records: usize,
    max_skipped_share: Option<f64>,
    warn_on_too_many_skipped: bool,
    dedupe: bool,
    allow_empty: bool,
}

/// What [`ExportBuilder::on_too_many_skipped`] does when more records were
/// skipped than allowed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TooManySkipped {
    /// [`finish`](ExportWriter::finish) fails with
    /// [`ErrorKind::TooManySkipped`] (the default).
    #[default]
    Fail,
    /// The export succeeds and the summary's `warnings` say what happened.
    Warn,
}

impl ExportBuilder {
    /// An export of `request` with the built-in formats, dated now, that
    /// skips and lists malformed records.
    pub fn new(request: ExportRequest) -> Self {
        ExportBuilder {
            reading: Arc::new(Reading::of(&request)),
            report_columns: true,
            request,
            registry: Registry::with_builtins(),
            format_name: None,
            export_date: None,
            fail_on_malformed: false,
            sidecar: None,
            limits: Limits {
                max_skipped_records: DEFAULT_MAX_SKIPPED_RECORDS,
                max_skipped_share: None,
                warn_on_too_many_skipped: false,
                dedupe: false,
                allow_empty: true,
            },
            counted_tokens: false,
            hashed: true,
            hash_thread: false,
            #[cfg(feature = "tokenizers")]
            tokens: None,
        }
    }

    /// Keeps at most `n` skipped records in full in the summary (default
    /// 1,000); the others are still counted in `skipped_total` and
    /// `skipped_by_reason`, so memory stays bounded whatever the input.
    ///
    /// ```
    /// use lora_export_core::{ExportBuilder, source::JsonlSource, model::{ExportConfig, ExportRequest, Format, Scope}};
    /// let good = r#"{"conversation_id":"a","turns":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"}]}"#;
    /// let input = format!("{good}\nnot json\nnot json\nnot json\n");
    /// let summary = ExportBuilder::new(ExportRequest::new(ExportConfig::new(Scope::AllData, Format::Jsonl)))
    ///     .max_skipped_records(2)
    ///     .export(JsonlSource::new(input.as_bytes()), std::io::sink())
    ///     .unwrap();
    /// assert_eq!((summary.skipped.len(), summary.skipped_total), (2, 3));
    /// ```
    pub fn max_skipped_records(mut self, n: usize) -> Self {
        self.limits.max_skipped_records = n;
        self
    }

    /// The largest share (0–1) of the records read that may be skipped
    /// before the export is refused (see [`on_too_many_skipped`](Self::on_too_many_skipped)).
    /// Default: none, only an export that skipped every record it read is
    /// refused. Duplicates dropped by [`dedupe`](Self::dedupe) do not count.
    /// A share outside 0–1 makes [`from_writer`](Self::from_writer) fail with
    /// [`ErrorKind::Config`].
    ///
    /// ```
    /// use lora_export_core::{ExportBuilder, source::JsonlSource, model::{ExportConfig, ExportRequest, Format, Scope}};
    /// let good = r#"{"conversation_id":"a","turns":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"}]}"#;
    /// let input = format!("{good}\nnot json\n");
    /// let request = ExportRequest::new(ExportConfig::new(Scope::AllData, Format::Jsonl));
    /// let err = ExportBuilder::new(request).max_skipped_share(0.1)
    ///     .export(JsonlSource::new(input.as_bytes()), std::io::sink())
    ///     .unwrap_err();
    /// assert_eq!(err.code(), "TOO_MANY_SKIPPED");
    /// ```
    pub fn max_skipped_share(mut self, share: f64) -> Self {
        self.limits.max_skipped_share = Some(share);
        self
    }

    /// What happens when more records were skipped than allowed: fail (the
    /// default) or warn in the summary.
    pub fn on_too_many_skipped(mut self, what: TooManySkipped) -> Self {
        self.limits.warn_on_too_many_skipped = what == TooManySkipped::Warn;
        self
    }

    /// When false, an input that holds no record at all (an empty file,
    /// list or table) fails [`finish`](ExportWriter::finish) with
    /// [`ErrorKind::NoConversations`] instead of writing an empty file.
    /// Default true here (a service's export whose scope matches nothing is
    /// an empty file); the Python and Node bindings default to false
    /// (`allow_empty=False`, `allowEmpty: false`): a notebook's empty input is
    /// a mistake to say.
    ///
    /// ```
    /// use lora_export_core::model::{ExportConfig, ExportRequest, Format, Scope};
    /// use lora_export_core::{source::JsonlSource, ExportBuilder};
    /// let request = ExportRequest::new(ExportConfig::new(Scope::AllData, Format::Jsonl));
    /// let err = ExportBuilder::new(request).allow_empty(false)
    ///     .export(JsonlSource::new(&b""[..]), Vec::new()).unwrap_err();
    /// assert_eq!((err.code(), err.http_status()), ("NO_CONVERSATIONS", 400));
    /// ```
    pub fn allow_empty(mut self, yes: bool) -> Self {
        self.limits.allow_empty = yes;
        self
    }

    /// When true, a conversation whose `conversation_id` was already written
    /// is skipped (reason `duplicate conversation_id`); default false: it is
    /// written, counted in `duplicate_ids` and warned about. Either way the
    /// export keeps 8 bytes (a hash) per conversation written.
    pub fn dedupe(mut self, yes: bool) -> Self {
        self.limits.dedupe = yes;
        self
    }

    /// Counts each written conversation's tokens with `tokenizer` (feature
    /// `tokenizers`) as a trainer counts them (see [`crate::tokens`]): the
    /// count replaces the record's `token_count` in the output, and the
    /// summary's `tokens` gives the total, max, p50 and p95. With
    /// `max_tokens`, a longer conversation is skipped with its count as the
    /// reason (a trainer would truncate it).
    ///
    /// ```
    /// use lora_export_core::{ExportBuilder, source::JsonlSource, tokens::Tokenizer};
    /// use lora_export_core::model::{ExportConfig, ExportRequest, Format, Scope};
    /// let line = r#"{"conversation_id":"a","turns":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello there"}]}"#;
    /// let request = ExportRequest::new(ExportConfig::new(Scope::AllData, Format::Jsonl));
    /// let summary = ExportBuilder::new(request)
    ///     .tokenizer(Tokenizer::parse("o200k_base").unwrap(), None)
    ///     .export(JsonlSource::new(line.as_bytes()), std::io::sink())
    ///     .unwrap();
    /// // user: 3 + 1 + 1; assistant: 3 + 1 + 2; reply priming: 3.
    /// assert_eq!(summary.tokens.unwrap().total, 14);
    /// ```
    #[cfg(feature = "tokenizers")]
    pub fn tokenizer(
        mut self,
        tokenizer: crate::tokens::Tokenizer,
        max_tokens: Option<u64>,
    ) -> Self {
        self.tokens = Some(crate::tokens::TokenCounter::new(tokenizer, max_tokens));
        self.counted_tokens = true;
        self
    }

    /// Says that the conversations' `token_count` were counted by a
    /// tokenizer upstream (a dataset's shards), so the metadata carries them.
    #[cfg(feature = "tokenizers")]
    pub(crate) fn counted_tokens(mut self, yes: bool) -> Self {
        self.counted_tokens = yes;
        self
    }

    /// Leaves the output unhashed (the summary's `sha256` empty): a
    /// dataset's shard, whose file hashes its stored, maybe compressed,
    /// bytes itself — one SHA-256 pass over the data instead of two.
    pub(crate) fn unhashed(mut self) -> Self {
        self.hashed = false;
        self
    }

    /// Computes the output's SHA-256 on a thread of its own instead of the
    /// writing thread (default false). Worth it when a core is free while
    /// the export formats — records read from memory, a Python list of
    /// dicts, an Arrow table — where it takes about a third off the wall
    /// time of long turns; not when parsing threads already keep every
    /// core busy, as [`BackgroundJsonlSource`](crate::source::BackgroundJsonlSource)
    /// does on two cores. The digest is the same either way.
    ///
    /// ```
    /// use lora_export_core::{ExportBuilder, source::JsonlSource, model::{ExportConfig, ExportRequest, Format, Scope}};
    /// let input = r#"{"conversation_id":"a","turns":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"}]}"#;
    /// let request = ExportRequest::new(ExportConfig::new(Scope::AllData, Format::Jsonl));
    /// let here = ExportBuilder::new(request.clone())
    ///     .export(JsonlSource::new(input.as_bytes()), std::io::sink())
    ///     .unwrap();
    /// let there = ExportBuilder::new(request)
    ///     .hash_on_own_thread(true)
    ///     .export(JsonlSource::new(input.as_bytes()), std::io::sink())
    ///     .unwrap();
    /// assert_eq!((here.sha256.len(), here.sha256), (64, there.sha256));
    /// ```
    pub fn hash_on_own_thread(mut self, yes: bool) -> Self {
        self.hash_thread = yes;
        self
    }

    /// Uses `registry` to find the transformer (default: the built-ins).
    pub fn registry(mut self, registry: Registry) -> Self {
        self.registry = registry;
        self
    }

    /// Writes with the registry's format `name` instead of `config.format`.
    pub fn format_name(mut self, name: impl Into<String>) -> Self {
        self.format_name = Some(name.into());
        self
    }

    /// Dates the export (the JSON `export_date`); default: now.
    pub fn export_date(mut self, date: DateTime<Utc>) -> Self {
        self.export_date = Some(date);
        self
    }

    /// When true, the first malformed or refused record ends the export with
    /// [`ErrorKind::MalformedRecord`]; default false (skip and list it).
    pub fn fail_on_malformed(mut self, yes: bool) -> Self {
        self.fail_on_malformed = yes;
        self
    }

    /// Where JSONL flavors that forbid extra keys write each line's metadata
    /// (one JSON object per written line, in the same order). Without it,
    /// their metadata is left out and the summary warns about it.
    pub fn metadata_sidecar(mut self, sidecar: Box<dyn Write + Send>) -> Self {
        self.sidecar = Some(sidecar);
        self
    }

    /// How the input's rows are to be read: the request's `columns` and
    /// `keepColumns`, applied by the reader given it
    /// ([`JsonlSource::with_reading`](crate::source::JsonlSource::with_reading),
    /// [`BackgroundJsonlSource::with_reading`](crate::source::BackgroundJsonlSource::with_reading),
    /// `ArrowSource::with_reading`, [`Reading::value`]). The export reports
    /// what it met: the columns neither read nor kept in the summary's
    /// `ignored_fields` (with a [`WarningCode::ColumnsIgnored`] warning), and
    /// a mapped column that no row had as an error.
    ///
    /// ```
    /// use lora_export_core::{ExportBuilder, source::JsonlSource, model::{ExportConfig, ExportRequest, Format, Scope}};
    /// let mut request = ExportRequest::new(ExportConfig::new(Scope::AllData, Format::Jsonl));
    /// request.columns.insert("dialog".into(), "messages".into());
    /// let builder = ExportBuilder::new(request);
    /// let input = r#"{"dialog":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Yo"}],"lang":"en"}"#;
    /// let source = JsonlSource::with_reading(input.as_bytes(), builder.reading());
    /// let summary = builder.export(source, std::io::sink()).unwrap();
    /// assert_eq!(summary.conversations, 1);
    /// assert_eq!(summary.ignored_fields["lang"], 1);
    /// ```
    pub fn reading(&self) -> Arc<Reading> {
        Arc::clone(&self.reading)
    }

    /// Reads by `reading` and leaves what it met to the caller to report
    /// (a dataset's shards).
    pub(crate) fn reported_elsewhere(mut self, reading: Arc<Reading>) -> Self {
        self.reading = reading;
        self.report_columns = false;
        self
    }

    /// Starts the export into `out`: checks the request's selection, builds
    /// the transformer and writes the format's opening bytes.
    pub fn from_writer<W: Write>(self, out: W) -> Result<ExportWriter<W>> {
        if let Some(share) = self.limits.max_skipped_share {
            if !(0.0..=1.0).contains(&share) {
                return Err(ErrorKind::Config(format!(
                    "max_skipped_share must be between 0 and 1, got {share}"
                ))
                .into());
            }
        }
        let issues = check_columns(&self.request.columns, &self.request.keep_columns);
        if !issues.is_empty() {
            return Err(ErrorKind::InvalidRequest(issues).into());
        }
        let selector = Selector::new(&self.request)?;
        let settings = TransformerSettings {
            config: self.request.config.clone(),
            export_date: self.export_date.unwrap_or_else(Utc::now),
            counted_tokens: self.counted_tokens,
        };
        let name =
            self.format_name.unwrap_or_else(|| self.request.config.format.as_str().to_owned());
        let mut transformer = self.registry.create(&name, &settings)?;
        if transformer.compresses_itself() && !self.request.compression.is_none() {
            return Err(ErrorKind::Config(format!(
                "format `{name}` compresses its own data: its file is not compressed again \
                 (ask for compression `none`)"
            ))
            .into());
        }
        let mut summary = ExportSummary { format: name, ..ExportSummary::default() };
        if transformer.wants_sidecar() && self.sidecar.is_none() {
            summary.warnings.push(Warning::new(
                WarningCode::MetadataNotWritten,
                format!(
                    "jsonl flavor {} forbids extra keys and no metadata sidecar was given: metadata is not written",
                    settings.config.jsonl_flavor.as_str()
                ),
            ));
        }
        let sidecar = self.sidecar.filter(|_| transformer.wants_sidecar());
        let hashing = if self.hashed && self.hash_thread {
            HashingWriter::threaded(out)
        } else {
            HashingWriter::new(out, self.hashed)
        };
        // Counted and hashed after compression: the stored bytes.
        let mut out = self.request.compression.encoder(hashing)?;
        transformer.begin(&mut out)?;
        // Scopes that may take conversations of any status without the
        // caller having chosen the statuses.
        let warn_not_approved = match settings.config.scope {
            Scope::AllData => true,
            Scope::Filtered => !matches!(&self.request.filters, Some(f) if f.statuses.is_some()),
            Scope::All | Scope::Selected => false,
        };
        // The default scope leaves out what is not approved: said, not silent.
        let warn_left_out = settings.config.scope == Scope::All && self.request.scope_defaulted;
        let wanted_ids = match (settings.config.scope, &self.request.conversation_ids) {
            (Scope::Selected, Some(ids)) => ids.clone(),
            _ => Vec::new(),
        };
        Ok(ExportWriter {
            out,
            compression: self.request.compression,
            transformer,
            selector,
            sidecar,
            fail_on_malformed: self.fail_on_malformed,
            limits: self.limits,
            warn_not_approved,
            warn_left_out,
            summary,
            records: 0,
            written_ids: HashSet::new(),
            first_duplicate: None,
            dropped_duplicates: 0,
            kept_user_fields: 0,
            first_kept: Vec::new(),
            found_ids: HashSet::new(),
            wanted_ids,
            reading: self.reading,
            report_columns: self.report_columns,
            #[cfg(feature = "tokenizers")]
            tokens: self.tokens,
            #[cfg(feature = "tokenizers")]
            counted: None,
        })
    }

    /// Exports every record of `records` into `out` and returns the summary.
    pub fn export<I, W>(self, records: I, out: W) -> Result<ExportSummary>
    where
        I: IntoIterator<Item = Record>,
        W: Write,
    {
        let mut writer = self.from_writer(out)?;
        let mut records = records.into_iter().peekable();
        while records.peek().is_some() {
            writer.push_all(records.by_ref().take(PUSH_BATCH).collect())?;
        }
        Ok(writer.finish()?.1)
    }
}

impl std::fmt::Debug for ExportBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportBuilder")
            .field("request", &self.request)
            .field("format_name", &self.format_name)
            .field("export_date", &self.export_date)
            .field("fail_on_malformed", &self.fail_on_malformed)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// What `reading` met, into `summary`: a mapped column that none of the
/// `records` had is an error (`missing_column`, at `columns.<column>`); the
/// columns neither read nor kept go in `ignored_fields`, with one
/// [`WarningCode::ColumnsIgnored`] warning naming them.
pub(crate) fn report_columns(
    reading: &Reading,
    records: u64,
    summary: &mut ExportSummary,
) -> Result<()> {
    let missing = reading.missing();
    if records > 0 && !missing.is_empty() {
        let issues = missing.iter().map(|(column, field)| {
            let message =
                format!("no row of the input has the column `{column}` (mapped to `{field}`)");
            Issue::new(format!("columns.{column}"), "missing_column", message)
        });
        return Err(ErrorKind::InvalidRequest(issues.collect()).into());
    }
    let ignored = reading.ignored();
    if ignored.is_empty() {
        return Ok(());
    }
    let mut named: Vec<String> =
        ignored.iter().take(10).map(|(k, n)| format!("{k} ({n})")).collect();
    if ignored.len() > 10 {
        named.push(format!("and {} more", ignored.len() - 10));
    }
    summary.warnings.push(Warning::new(
        WarningCode::ColumnsIgnored,
        format!(
            "the input has columns that were neither read nor kept (rows with a value): {}; \
             carry them into the metadata's user_fields with keep_columns, or map them to \
             fields with columns",
            named.join(", ")
        ),
    ));
    summary.ignored_fields = ignored;
    Ok(())
}

/// Records an export of an iterator takes at a time ([`ExportWriter::push_all`]):
/// enough for every core to count tokens, few enough to hold.
pub const PUSH_BATCH: usize = 256;

/// Where an export pushes its records: one file ([`ExportWriter`]) or a
/// dataset directory ([`DatasetWriter`](crate::dataset::DatasetWriter)), so
/// that a reader (a binding's input loop) feeds either.
pub trait RecordSink {
    /// Takes one input record (see [`ExportWriter::push`]).
    fn push(&mut self, record: Record) -> Result<Pushed>;

    /// Takes `records` in order (see [`ExportWriter::push_all`]): what a
    /// reader calls with each batch, so that tokens are counted on every core.
    fn push_all(&mut self, records: Vec<Record>) -> Result<()> {
        for record in records {
            self.push(record)?;
        }
        Ok(())
    }

    /// The summary so far.
    fn summary(&self) -> &ExportSummary;
}

impl<W: Write> RecordSink for ExportWriter<W> {
    fn push(&mut self, record: Record) -> Result<Pushed> {
        ExportWriter::push(self, record)
    }

    fn push_all(&mut self, records: Vec<Record>) -> Result<()> {
        ExportWriter::push_all(self, records)
    }

    fn summary(&self) -> &ExportSummary {
        ExportWriter::summary(self)
    }
}

/// What became of one pushed record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// Written to the output.
    Written,
    /// Well-formed but outside the export's scope.
    Excluded,
    /// Malformed or refused by the format; listed in the summary.
    Skipped,
}

/// An export in progress. Build one with [`ExportBuilder::from_writer`].
pub struct ExportWriter<W: Write> {
    out: Encoder<HashingWriter<W>>,
    /// How `out` compresses (the request's `compression`).
    compression: Compression,
    transformer: Box<dyn ExportTransformer>,
    selector: Selector,
    sidecar: Option<Box<dyn Write + Send>>,
    fail_on_malformed: bool,
    limits: Limits,
    warn_not_approved: bool,
    /// Warn when the default scope `all` left conversations out.
    warn_left_out: bool,
    summary: ExportSummary,
    records: u64,
    /// Hashes of the `conversation_id`s written (duplicate detection).
    written_ids: HashSet<u64>,
    first_duplicate: Option<String>,
    dropped_duplicates: u64,
    /// Conversations written with platform-named fields kept as their own,
    /// and the names of the first one's.
    kept_user_fields: u64,
    first_kept: Vec<String>,
    found_ids: HashSet<String>,
    wanted_ids: Vec<String>,
    reading: Arc<Reading>,
    report_columns: bool,
    #[cfg(feature = "tokenizers")]
    tokens: Option<crate::tokens::TokenCounter>,
    /// The count of the conversation being written when a batch counted it
    /// ([`push_all`](Self::push_all)).
    #[cfg(feature = "tokenizers")]
    counted: Option<crate::tokens::Counted>,
}

impl<W: Write> ExportWriter<W> {
    /// Takes `records` in order, as [`push`](Self::push) takes each; with a
    /// tokenizer, the batch's tokens are counted on every core first (the
    /// bigger the batch, the better the cores are shared; its records are
    /// held meanwhile).
    pub fn push_all(&mut self, records: Vec<Record>) -> Result<()> {
        #[cfg(feature = "tokenizers")]
        if let Some(counter) = &self.tokens {
            let selector = &self.selector;
            let counts = counter.count_batch(&records, |c| selector.matches(c), selector.config());
            for (record, counted) in records.into_iter().zip(counts) {
                self.counted = counted;
                self.push(record)?;
            }
            self.counted = None;
            return Ok(());
        }
        for record in records {
            self.push(record)?;
        }
        Ok(())
    }

    /// Takes one input record: writes it, leaves it out of scope, or lists it
    /// as skipped (or fails, with [`ExportBuilder::fail_on_malformed`]).
    pub fn push(&mut self, record: Record) -> Result<Pushed> {
        self.records += 1;
        match record {
            Ok(c) => self.write(&c),
            Err(skipped) => self.skip(skipped),
        }
    }

    /// Takes one conversation (see [`push`](Self::push)).
    pub fn push_conversation(&mut self, conversation: &Conversation) -> Result<Pushed> {
        self.records += 1;
        self.write(conversation)
    }

    /// Takes one conversation that is record `number` of a larger input
    /// (a dataset's shard): its skipped entries are located in that input.
    pub(crate) fn push_numbered(
        &mut self,
        conversation: &Conversation,
        number: u64,
    ) -> Result<Pushed> {
        self.records = number;
        self.write(conversation)
    }

    fn write(&mut self, c: &Conversation) -> Result<Pushed> {
        if !self.selector.matches(c) {
            self.summary.excluded += 1;
            return Ok(Pushed::Excluded);
        }
        let mut hasher = DefaultHasher::new();
        c.conversation_id.hash(&mut hasher);
        let duplicate = !self.written_ids.insert(hasher.finish());
        if duplicate && self.limits.dedupe {
            self.dropped_duplicates += 1;
            return self.skip(SkippedRecord {
                location: Location::record(self.records),
                conversation_id: Some(c.conversation_id.clone()),
                reason: "duplicate conversation_id: one with this id was already written".into(),
            });
        }
        #[cfg(feature = "tokenizers")]
        let counted;
        #[cfg(feature = "tokenizers")]
        let (c, tokens) = match self.tokens.as_mut() {
            None => (c, None),
            Some(counter) => {
                match counter.check_with(c, self.selector.config(), self.counted.take()) {
                    Ok(n) => {
                        counted = Conversation { token_count: Some(n), ..c.clone() };
                        (&counted, Some(n))
                    }
                    Err(reason) => {
                        return self.skip(SkippedRecord {
                            location: Location::record(self.records),
                            conversation_id: Some(c.conversation_id.clone()),
                            reason,
                        })
                    }
                }
            }
        };
        match self.transformer.write_conversation(&mut self.out, c) {
            Ok(()) => {}
            Err(e) => match e.into_kind() {
                ErrorKind::Rejected(reason) => {
                    return self.skip(SkippedRecord {
                        location: Location::record(self.records),
                        conversation_id: Some(c.conversation_id.clone()),
                        reason,
                    })
                }
                kind => return Err(kind.into()),
            },
        }
        if let Some(sidecar) = self.sidecar.as_mut() {
            self.transformer.write_sidecar(sidecar.as_mut(), c)?;
        }
        #[cfg(feature = "tokenizers")]
        if let (Some(counter), Some(n)) = (self.tokens.as_mut(), tokens) {
            counter.written(n);
        }
        if !self.wanted_ids.is_empty() {
            self.found_ids.insert(c.conversation_id.clone());
            self.found_ids.insert(c.id.clone());
        }
        let s = &mut self.summary;
        if duplicate {
            s.duplicate_ids += 1;
            if self.first_duplicate.is_none() {
                self.first_duplicate = Some(c.conversation_id.clone());
            }
        }
        if !c.is_approved() {
            s.not_approved += 1;
        }
        s.conversations += 1;
        s.turns += c.turns.len() as u64;
        let reading = &self.reading;
        let guessed = |k: &&String| is_platform_field(k) && !reading.keeps_by_name(k);
        if c.user_fields.keys().any(|k| guessed(&k)) {
            self.kept_user_fields += 1;
            if self.first_kept.is_empty() {
                self.first_kept = c.user_fields.keys().filter(guessed).cloned().collect();
            }
        }
        if !self.selector.config().include_full_content {
            s.truncated_turns +=
                c.turns.iter().filter(|t| crate::format::truncate_content(&t.content).1).count()
                    as u64;
        }
        if let Some(tier) = c.tier {
            *s.tier_distribution.entry(tier.as_str().to_owned()).or_default() += 1;
        }
        Ok(Pushed::Written)
    }

    fn skip(&mut self, skipped: SkippedRecord) -> Result<Pushed> {
        if self.fail_on_malformed {
            return Err(ErrorKind::MalformedRecord {
                location: skipped.location,
                conversation_id: skipped.conversation_id,
                reason: skipped.reason,
            }
            .into());
        }
        self.summary.record_skipped(skipped, self.limits.max_skipped_records);
        Ok(Pushed::Skipped)
    }

    /// The summary so far (bytes and hash are final only after `finish`).
    pub fn summary(&self) -> &ExportSummary {
        &self.summary
    }

    /// Writes the format's closing bytes, flushes, and returns the writer
    /// and the final summary.
    pub fn finish(mut self) -> Result<(W, ExportSummary)> {
        if self.records == 0 && !self.limits.allow_empty {
            return Err(ErrorKind::NoConversations(
                "the input holds none (allow an empty export to write an empty file)",
            )
            .into());
        }
        if self.report_columns {
            report_columns(&self.reading, self.records, &mut self.summary)?;
        }
        self.check_skipped()?;
        self.warn_about_skipped_and_user_fields();
        self.warn_about_duplicates_and_status();
        self.transformer.finish(&mut self.out)?;
        self.warn_about_dropped_fields();
        self.out.flush()?;
        if let Some(sidecar) = self.sidecar.as_mut() {
            sidecar.flush()?;
        }
        let found = &self.found_ids;
        self.summary.missing_ids =
            self.wanted_ids.iter().filter(|id| !found.contains(*id)).cloned().collect();
        #[cfg(feature = "tokenizers")]
        if let Some(counter) = &self.tokens {
            self.summary.tokens = Some(counter.summary());
        }
        let (inner, bytes, sha256) = self.out.finish()?.into_parts();
        self.summary.bytes = bytes;
        self.summary.sha256 = sha256;
        Ok((inner, self.summary))
    }

    /// Fails (or warns) when more was skipped than the limits allow.
    fn check_skipped(&mut self) -> Result<()> {
        let skipped = self.summary.skipped_total - self.dropped_duplicates;
        let records = self.records - self.dropped_duplicates;
        if skipped == 0 {
            return Ok(());
        }
        let limit = if skipped == records {
            "nothing was written".to_owned()
        } else {
            match self.limits.max_skipped_share {
                Some(share) if skipped as f64 > share * records as f64 => {
                    format!("more than {}% of the records", share * 100.0)
                }
                _ => return Ok(()),
            }
        };
        let first = self
            .summary
            .skipped
            .iter()
            .find(|s| !s.reason.starts_with("duplicate conversation_id"))
            .map(|s| format!("{}: {}", s.location, s.reason))
            .unwrap_or_default();
        let kind = ErrorKind::TooManySkipped { skipped, records, limit, first };
        if self.limits.warn_on_too_many_skipped {
            self.summary.warnings.push(Warning::new(WarningCode::TooManySkipped, kind.to_string()));
            Ok(())
        } else {
            Err(kind.into())
        }
    }

    fn warn_about_dropped_fields(&mut self) {
        let dropped = self.transformer.dropped_fields();
        if dropped.is_empty() {
            return;
        }
        let list = dropped.iter().map(|(k, n)| format!("{k} ({n})")).collect::<Vec<_>>();
        let sentence = format!(
            "the {} output cannot carry some fields and left them out: {}",
            self.transformer_name(),
            list.join(", ")
        );
        self.summary.warnings.push(Warning::new(WarningCode::FieldsDropped, sentence));
        self.summary.dropped_fields = dropped;
    }

    fn transformer_name(&self) -> String {
        match self.summary.format.as_str() {
            "jsonl" => format!("jsonl `{}`", self.selector.config().jsonl_flavor.as_str()),
            other => other.to_owned(),
        }
    }

    /// Skipped records are said even below the limits (how many, the most
    /// frequent reasons), and so are records whose platform-named fields
    /// were kept as their own.
    fn warn_about_skipped_and_user_fields(&mut self) {
        let s = &mut self.summary;
        let skipped = s.skipped_total - self.dropped_duplicates;
        let already = s.warnings.iter().any(|w| w.code == WarningCode::TooManySkipped);
        if skipped > 0 && !already {
            let mut reasons: Vec<(&String, &u64)> = s
                .skipped_by_reason
                .iter()
                .filter(|(kind, _)| !kind.starts_with("duplicate conversation_id"))
                .collect();
            reasons.sort_by(|a, b| b.1.cmp(a.1));
            let top: Vec<String> =
                reasons.iter().take(3).map(|(kind, n)| format!("{n} × {kind}")).collect();
            s.warnings.push(Warning::new(
                WarningCode::Skipped,
                format!(
                    "{skipped} of {} input records were skipped ({}); see summary.skipped",
                    self.records - self.dropped_duplicates,
                    top.join(", ")
                ),
            ));
        }
        if self.kept_user_fields > 0 {
            s.warnings.push(Warning::new(
                WarningCode::UserFieldsKept,
                format!(
                    "{} conversations have fields named as the platform's whose values mean \
                     something else (the first: {}): kept as their own in the metadata's \
                     user_fields; map names explicitly with columns",
                    self.kept_user_fields,
                    self.first_kept.join(", ")
                ),
            ));
        }
    }

    fn warn_about_duplicates_and_status(&mut self) {
        let s = &mut self.summary;
        if let Some(first) = &self.first_duplicate {
            s.warnings.push(Warning::new(
                WarningCode::DuplicateIds,
                format!(
                    "{} conversations repeat a conversation_id written before them (the first: \
                     {first}); export with dedupe to skip them",
                    s.duplicate_ids
                ),
            ));
        }
        if s.not_approved > 0 && self.warn_not_approved {
            s.warnings.push(Warning::new(
                WarningCode::NotApproved,
                format!(
                    "{} of the {} conversations written are not approved (draft, rejected, …): \
                     scope `all` exports approved ones only",
                    s.not_approved, s.conversations
                ),
            ));
        }
        if s.excluded > 0 && self.warn_left_out {
            s.warnings.push(Warning::new(
                WarningCode::NotApprovedLeftOut,
                format!(
                    "{} conversations are not approved (draft, rejected, …) and were left out: \
                     the default scope `all` exports approved ones only (scope `all_data` \
                     exports every one)",
                    s.excluded
                ),
            ));
        }
    }

    /// The file's extension: the transformer's (`jsonl`), and the
    /// request's compression's after it (`jsonl.gz`).
    pub fn file_extension(&self) -> String {
        let compression = self.compression;
        format!("{}{}", self.transformer.file_extension(), compression.extension())
    }

    /// The file's MIME type: the compression's (`application/gzip`), else
    /// the transformer's.
    pub fn mime_type(&self) -> &'static str {
        let compression = self.compression;
        compression.mime_type().unwrap_or(self.transformer.mime_type())
    }

    /// Whether the format compresses its own data (Parquet), so that its
    /// file is not compressed again.
    pub fn compresses_itself(&self) -> bool {
        self.transformer.compresses_itself()
    }
}

impl<W: Write> std::fmt::Debug for ExportWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportWriter").field("summary", &self.summary).finish_non_exhaustive()
    }
}

/// Renders the first `n` of `conversations` exactly as an export with
/// `config` would (the export modal's preview). The scope is not applied:
/// the caller passes the conversations it has chosen. Malformed ones are
/// skipped as in an export.
/// A binary format (Parquet) has no text preview: a `VALIDATION_ERROR`
/// with the issue `no_text_form` at `config.format`.
///
/// ```
/// use lora_export_core::{preview, model::{ExportConfig, Format, Scope}};
/// let c: lora_export_core::model::Conversation = serde_json::from_str(r#"{"conversation_id":"c1",
///   "title":"T","status":"draft","qualityScore":5,"tier":"scenario","createdAt":"2025-01-01",
///   "updatedAt":"2025-01-01","turns":[{"role":"user","content":"Hi"}]}"#).unwrap();
/// let text = preview(vec![c.clone(), c], &ExportConfig::new(Scope::Filtered, Format::Markdown), 1).unwrap();
/// assert_eq!(text.matches("# Conversation: T").count(), 1);
/// ```
pub fn preview<I>(conversations: I, config: &ExportConfig, n: usize) -> Result<String>
where
    I: IntoIterator<Item = Conversation>,
{
    render_preview(conversations, config, n).map(|(text, _)| text)
}

/// [`preview`], with how many conversations it rendered.
pub fn render_preview<I>(conversations: I, config: &ExportConfig, n: usize) -> Result<(String, u64)>
where
    I: IntoIterator<Item = Conversation>,
{
    if config.format.is_binary() {
        let why = format!("a {} file is binary: it has no text preview", config.format);
        let issue = crate::Issue::new("config.format", "no_text_form", why);
        return Err(ErrorKind::InvalidRequest(vec![issue]).into());
    }
    let mut config = config.clone();
    config.scope = Scope::AllData;
    let mut writer = ExportBuilder::new(ExportRequest::new(config)).from_writer(Vec::new())?;
    for c in conversations {
        if writer.summary().conversations as usize >= n {
            break;
        }
        writer.push(Ok(c))?;
    }
    let (bytes, summary) = writer.finish()?;
    let text = String::from_utf8(bytes)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    Ok((text, summary.conversations))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Format;
    use crate::source::JsonlSource;

    const GOOD: &str = r#"{"conversation_id":"a","id":"uuid-a","title":"A","status":"approved","qualityScore":9,"tier":"template","createdAt":"2025-10-29T10:00:00Z","updatedAt":"2025-10-29T10:00:00Z","turns":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"}]}"#;

    fn input() -> String {
        let draft = GOOD
            .replace("\"a\"", "\"b\"")
            .replace("approved", "draft")
            .replace("template", "scenario");
        format!("{GOOD}\n{draft}\n{{\"conversation_id\":\"c\",\"turns\":[]}}\n")
    }

    fn request(scope: Scope, ids: Option<Vec<&str>>) -> ExportRequest {
        let mut r = ExportRequest::new(ExportConfig::new(scope, Format::Jsonl));
        r.conversation_ids = ids.map(|v| v.into_iter().map(str::to_owned).collect());
        r
    }

    #[test]
    fn every_record_is_written_excluded_or_listed() {
        let mut out = Vec::new();
        let summary = ExportBuilder::new(request(Scope::All, None))
            .export(JsonlSource::new(input().as_bytes()), &mut out)
            .unwrap();
        assert_eq!((summary.conversations, summary.excluded, summary.skipped.len()), (1, 1, 1));
        assert_eq!(summary.skipped[0].conversation_id.as_deref(), Some("c"));
        assert_eq!(summary.skipped[0].location.line, Some(3));
        assert_eq!(summary.turns, 2);
        assert_eq!(summary.bytes, out.len() as u64);
        assert_eq!(summary.sha256.len(), 64);
        assert_eq!(summary.tier_label(), "template");
    }

    #[test]
    fn selected_ids_match_either_id_and_missing_ones_are_reported() {
        let summary =
            ExportBuilder::new(request(Scope::Selected, Some(vec!["uuid-a", "b", "zzz"])))
                .export(JsonlSource::new(input().as_bytes()), std::io::sink())
                .unwrap();
        assert_eq!(summary.conversations, 2);
        assert_eq!(summary.missing_ids, ["zzz"]);
        assert_eq!(summary.tier_label(), "mixed");
    }

    #[test]
    fn fail_on_malformed_stops_at_the_first_bad_record() {
        let err = ExportBuilder::new(request(Scope::AllData, None))
            .fail_on_malformed(true)
            .export(JsonlSource::new(input().as_bytes()), std::io::sink())
            .unwrap_err();
        assert_eq!(err.code(), "MALFORMED_RECORD");
        assert!(err.to_string().contains("line 3"), "{err}");
    }

    #[test]
    fn an_invalid_request_is_refused_before_any_byte_is_written() {
        let err =
            ExportBuilder::new(request(Scope::Selected, None)).from_writer(Vec::new()).unwrap_err();
        assert_eq!(err.http_status(), 400);
        assert!(err.issues().iter().any(|i| i.code == "ids_required"));
    }

    #[test]
    fn a_million_malformed_lines_keep_a_bounded_summary() {
        let mut input = String::from(GOOD);
        input.push('\n');
        for i in 0..1_000_000 {
            input.push_str(if i % 2 == 0 { "not json\n" } else { "{\"conversation_id\":\"x\"}\n" });
        }
        let summary = ExportBuilder::new(request(Scope::AllData, None))
            .export(JsonlSource::new(input.as_bytes()), std::io::sink())
            .unwrap();
        assert_eq!(summary.conversations, 1);
        assert_eq!(summary.skipped_total, 1_000_000);
        assert_eq!(summary.skipped.len(), crate::DEFAULT_MAX_SKIPPED_RECORDS);
        assert_eq!(summary.skipped_by_reason["not valid JSON"], 500_000);
        assert_eq!(summary.skipped_by_reason["conversation has no turns"], 500_000);
        let size = serde_json::to_vec(&summary).unwrap().len();
        assert!(size < 200_000, "the summary serialises to {size} bytes");
    }

    #[test]
    fn an_export_that_skips_everything_fails_or_warns() {
        let input = "not json\n{\"conversation_id\":\"x\"}\n";
        let err = ExportBuilder::new(request(Scope::AllData, None))
            .export(JsonlSource::new(input.as_bytes()), std::io::sink())
            .unwrap_err();
        assert_eq!((err.code(), err.http_status()), ("TOO_MANY_SKIPPED", 422));
        assert!(err.to_string().contains("2 of 2 input records were skipped"), "{err}");
        assert!(err.to_string().contains("line 1"), "{err}");
        let summary = ExportBuilder::new(request(Scope::AllData, None))
            .on_too_many_skipped(TooManySkipped::Warn)
            .export(JsonlSource::new(input.as_bytes()), std::io::sink())
            .unwrap();
        assert_eq!(summary.conversations, 0);
        assert_eq!(summary.warnings[0].code, WarningCode::TooManySkipped);
        assert!(
            summary.warnings[0].message.contains("nothing was written"),
            "{:?}",
            summary.warnings
        );
    }

    #[test]
    fn a_share_of_skipped_records_above_the_limit_fails() {
        let input = format!("{GOOD}\n{GOOD}\nnot json\n");
        let export = |share: f64| {
            ExportBuilder::new(request(Scope::AllData, None))
                .max_skipped_share(share)
                .export(JsonlSource::new(input.as_bytes()), std::io::sink())
        };
        assert_eq!(export(0.25).unwrap_err().code(), "TOO_MANY_SKIPPED");
        assert_eq!(export(0.5).unwrap().skipped_total, 1);
        let err = export(1.5).unwrap_err();
        assert_eq!(err.code(), "CONFIG_ERROR");
        assert!(err.to_string().contains("between 0 and 1"), "{err}");
    }

    #[test]
    fn duplicate_ids_are_warned_about_or_dropped() {
        let input = format!("{GOOD}\n{GOOD}\n{GOOD}\n");
        let summary = ExportBuilder::new(request(Scope::AllData, None))
            .export(JsonlSource::new(input.as_bytes()), std::io::sink())
            .unwrap();
        assert_eq!((summary.conversations, summary.duplicate_ids), (3, 2));
        assert_eq!(summary.warnings[0].code, WarningCode::DuplicateIds);
        assert!(summary.warnings[0]
            .message
            .starts_with("2 conversations repeat a conversation_id"));
        let summary = ExportBuilder::new(request(Scope::AllData, None))
            .dedupe(true)
            .export(JsonlSource::new(input.as_bytes()), std::io::sink())
            .unwrap();
        assert_eq!(
            (summary.conversations, summary.skipped_total, summary.duplicate_ids),
            (1, 2, 0)
        );
        assert_eq!(summary.skipped[0].location.record, Some(2));
        assert!(summary.warnings.is_empty(), "{:?}", summary.warnings);
    }

    #[test]
    fn non_approved_conversations_written_are_counted_and_warned_about() {
        let summary = ExportBuilder::new(request(Scope::AllData, None))
            .export(JsonlSource::new(input().as_bytes()), std::io::sink())
            .unwrap();
        assert_eq!((summary.conversations, summary.not_approved), (2, 1));
        assert!(summary.warnings.iter().any(|w| w.code == WarningCode::NotApproved
            && w.message.starts_with("1 of the 2 conversations written are not approved")));
        let summary = ExportBuilder::new(request(Scope::All, None))
            .export(JsonlSource::new(input().as_bytes()), std::io::sink())
            .unwrap();
        assert_eq!(summary.not_approved, 0);
        let codes: Vec<_> = summary.warnings.iter().map(|w| w.code).collect();
        assert_eq!(codes, [WarningCode::Skipped]);
        assert_eq!(
            summary.warnings[0].message,
            "1 of 3 input records were skipped (1 × conversation has no turns); see summary.skipped"
        );
    }

    #[test]
    fn what_the_default_scope_leaves_out_is_warned_about() {
        let defaulted = crate::request::RequestParts::default().build().unwrap();
        let summary = ExportBuilder::new(defaulted)
            .export(JsonlSource::new(input().as_bytes()), std::io::sink())
            .unwrap();
        assert_eq!((summary.conversations, summary.excluded), (1, 1));
        let codes: Vec<_> = summary.warnings.iter().map(|w| w.code).collect();
        assert_eq!(codes, [WarningCode::Skipped, WarningCode::NotApprovedLeftOut]);
        assert!(summary.warnings[1].message.starts_with("1 conversations are not approved"));
    }

    #[test]
    fn conversations_the_trainer_refuses_are_skipped_with_the_reason() {
        let no_answer = GOOD.replace(",{\"role\":\"assistant\",\"content\":\"Hello\"}", "");
        let blank = GOOD.replace("\"Hello\"", "\"  \"");
        let input = format!("{GOOD}\n{no_answer}\n{blank}\n");
        for flavor in [crate::model::JsonlFlavor::Openai, crate::model::JsonlFlavor::Sharegpt] {
            let mut r = request(Scope::AllData, None);
            r.config.jsonl_flavor = flavor;
            r.config.include_metadata = false;
            let mut out = Vec::new();
            let summary =
                ExportBuilder::new(r).export(JsonlSource::new(input.as_bytes()), &mut out).unwrap();
            assert_eq!((summary.conversations, summary.skipped_total), (1, 2));
            assert!(
                summary.skipped[0].reason.contains("no assistant turn"),
                "{:?}",
                summary.skipped
            );
            assert!(summary.skipped[1].reason.contains("turn 2 has empty content"));
            let report = crate::validate::validate_output(
                crate::model::Format::Jsonl,
                flavor,
                out.as_slice(),
            )
            .unwrap();
            assert!(report.errors.is_empty(), "{:?}", report.errors);
        }
    }

    #[test]
    fn sidecar_is_missing_a_warning_not_a_silent_drop() {
        let mut r = request(Scope::All, None);
        r.config.jsonl_flavor = crate::model::JsonlFlavor::Anthropic;
        let summary = ExportBuilder::new(r)
            .export(JsonlSource::new(GOOD.as_bytes()), std::io::sink())
            .unwrap();
        assert_eq!(summary.warnings.len(), 1);
        assert_eq!(summary.warnings[0].code, WarningCode::MetadataNotWritten);
        assert!(summary.warnings[0].message.contains("sidecar"));
    }

    #[test]
    fn the_columns_an_export_ignored_are_reported_and_a_missing_mapped_one_is_an_error() {
        let input = concat!(
            r#"{"dialog":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Yo"}],"lang":"en","rank":1}"#,
            "\n",
            r#"{"dialog":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Ho"}],"lang":"fr","rank":null}"#,
            "\n",
        );
        let mut r = request(Scope::AllData, None);
        r.columns.insert("dialog".into(), "messages".into());
        let builder = ExportBuilder::new(r.clone());
        let source = JsonlSource::with_reading(input.as_bytes(), builder.reading());
        let summary = builder.export(source, std::io::sink()).unwrap();
        assert_eq!(summary.conversations, 2);
        assert_eq!(summary.ignored_fields, [("lang".into(), 2), ("rank".into(), 1)].into());
        let codes: Vec<_> = summary.warnings.iter().map(|w| w.code).collect();
        assert_eq!(codes, [WarningCode::ColumnsIgnored]);
        assert!(summary.warnings[0].message.contains("lang (2), rank (1)"));

        r.keep_columns = crate::model::KeepColumns::All;
        let builder = ExportBuilder::new(r.clone());
        let source = JsonlSource::with_reading(input.as_bytes(), builder.reading());
        let summary = builder.export(source, std::io::sink()).unwrap();
        assert!(summary.ignored_fields.is_empty() && summary.warnings.is_empty());

        r.columns.insert("grade".into(), "quality_score".into());
        let builder = ExportBuilder::new(r.clone());
        let source = JsonlSource::with_reading(input.as_bytes(), builder.reading());
        let err = builder.export(source, std::io::sink()).unwrap_err();
        let ErrorKind::InvalidRequest(issues) = err.kind() else { panic!("{err}") };
        assert_eq!(
            (issues[0].path.as_str(), issues[0].code.as_str()),
            ("columns.grade", "missing_column")
        );

        r.columns.insert("lang".into(), "qualityScore".into());
        let err = ExportBuilder::new(r).from_writer(std::io::sink()).unwrap_err();
        let ErrorKind::InvalidRequest(issues) = err.kind() else { panic!("{err}") };
        assert_eq!(
            (issues[0].path.as_str(), issues[0].code.as_str()),
            ("columns.lang", "duplicate")
        );
    }
}
