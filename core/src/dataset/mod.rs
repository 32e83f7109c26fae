//! Training sets, not just files: an export written as a dataset directory —
//! deterministic splits by a seeded hash of the conversation id, dedup of
//! repeated ids and repeated contents across the whole dataset, shards named
//! as Hugging Face datasets names them (`train-00000-of-00004.jsonl`),
//! streamed gzip or zstd compression, and a dataset card (`README.md`) that
//! `datasets.load_dataset(dir)` reads.
//!
//! ```
//! use lora_export_core::dataset::{DatasetBuilder, SplitSpec};
//! use lora_export_core::model::{ExportConfig, ExportRequest, Format, Scope};
//! use lora_export_core::source::JsonlSource;
//!
//! let dir = std::env::temp_dir().join(format!("lora-export-doc-{}", std::process::id()));
//! let line = |i: u32| format!(r#"{{"conversation_id":"c{i}","status":"approved","turns":[{{"role":"user","content":"Hi {i}"}},{{"role":"assistant","content":"Hello"}}]}}"#);
//! let input: String = (0..50).map(|i| line(i) + "\n").collect();
//! let request = ExportRequest::new(ExportConfig::new(Scope::All, Format::Jsonl));
//! let summary = DatasetBuilder::new(request)
//!     .split(SplitSpec::parse("train=0.8,validation=0.2").unwrap())
//!     .seed(42)
//!     .export(JsonlSource::new(input.as_bytes()), &dir)
//!     .unwrap();
//! assert_eq!(summary.splits.iter().map(|s| s.conversations).sum::<u64>(), 50);
//! assert_eq!(summary.splits[0].files[0].name, "train-00000-of-00001.jsonl");
//! assert!(dir.join("README.md").exists());
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```
//!
//! **Tiers.** A split is not stratified by tier with exact counts: that
//! would need every conversation before the first is placed, and would move
//! conversations between splits when data is added — the leak between
//! experiments splits exist to prevent. The hash does not see the tier, so
//! each tier is split in the same shares in expectation (the deviation of a
//! tier of `n` in a part of share `p` is about `√(n·p·(1−p))`), and each
//! split's summary counts its conversations per tier
//! ([`SplitSummary::tiers`]).
//!
//! **The input's own splits.** A `DatasetDict`, or a mapping of split names
//! to inputs, keeps the user's assignment: [`DatasetBuilder::given_splits`]
//! names the splits, [`DatasetWriter::start_split`] says which one the
//! records pushed next belong to, and each split's rows go into its own
//! files (`test-00000-of-00001.jsonl`), sharded as configured — no hash, no
//! seed. Its names are checked as file names ([`check_split_names`]); a
//! `split` of shares with them is an error naming both. Record numbers (in
//! skipped records' locations and in the reasons of duplicates) count
//! within each split.
//!
//! **Leaks between splits.** A conversation that repeats — by id or by
//! normalised turns ([`content_key`]) — one of another split is a leak: the
//! trainer would be evaluated on what it was trained on. It is counted
//! ([`SplitSummary::leaks`], [`DatasetSummary::leaks`]) and warned about
//! ([`WarningCode::SplitLeak`]), never dropped or kept in silence. With
//! given splits it is the input's own overlap: with `dedupe` the later copy
//! (in the order of the splits) is left out and listed as skipped, without
//! it both are written. With a hashed split only a copy of the same turns
//! under another id can land in another split, and only without `dedupe`
//! (which leaves every repeat out).
//!
//! ```
//! use lora_export_core::dataset::DatasetBuilder;
//! use lora_export_core::model::{ExportConfig, ExportRequest, Format, Scope};
//! use lora_export_core::source::from_value;
//! use lora_export_core::Location;
//!
//! let dir = std::env::temp_dir().join(format!("lora-export-doc-given-{}", std::process::id()));
//! let rows = |ids: &[&str]| -> Vec<_> {
//!     let row = |id: &&str| serde_json::json!({"conversation_id": id, "messages": [
//!         {"role": "user", "content": format!("Hi {id}")}, {"role": "assistant", "content": "Hello"}]});
//!     ids.iter().zip(1..).map(|(id, n)| from_value(row(id), Location::record(n))).collect()
//! };
//! let request = ExportRequest::new(ExportConfig::new(Scope::All, Format::Jsonl));
//! let summary = DatasetBuilder::new(request)
//!     .export_splits([("train", rows(&["a", "b", "c"])), ("test", rows(&["d", "a"]))], &dir)
//!     .unwrap();
//! let counts: Vec<_> = summary.splits.iter().map(|s| (s.name.as_str(), s.conversations)).collect();
//! assert_eq!(counts, [("train", 3), ("test", 2)], "kept as given, the leak too");
//! assert_eq!((summary.leaks, summary.splits[1].leaks), (1, 1));
//! assert!(dir.join("test-00000-of-00001.jsonl").exists());
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

mod card;
mod dedup;
mod given;
mod options;
mod output;

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A file of a [`Directory`] being written: an
/// [`AtomicFile`](crate::atomic::AtomicFile), under the name of earlier releases.
pub use crate::atomic::AtomicFile as TempFile;
pub use crate::compress::Compression;
pub use crate::model::{
    DatasetOptions, SplitSpec, MAX_SPLIT_PARTS, MIN_BYTES_PER_SHARD, MIN_RECORDS_PER_SHARD,
};
use chrono::{DateTime, Utc};
pub use dedup::content_key;
pub use given::{check_split_names, MAX_SPLIT_NAME};
pub use output::{DatasetOutput, Directory};
use serde::{Deserialize, Serialize};

/// The most files (shards) one dataset export writes, the card aside: past
/// it the export fails with `too_many_files` at `dataset.maxRecordsPerShard`
/// (a request's shards are too small for its data), before the file is made.
pub const MAX_DATASET_FILES: usize = 256;

pub(crate) use crate::compress::Encoder;
use crate::digest::{sha256_hex, HashingWriter};
use crate::model::{Conversation, ExportRequest};
use crate::pipeline::{
    ExportBuilder, ExportWriter, Pushed, RecordSink, TooManySkipped, PUSH_BATCH,
};
use crate::scope::Selector;
use crate::source::{Reading, Record};
use crate::{
    ErrorKind, ExportSummary, Issue, Location, Result, SkippedRecord, Warning, WarningCode,
};
use dedup::{Duplicate, Seen};
use output::write_whole;

/// One file of a dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetFile {
    /// Its name in the directory (`train-00000-of-00002.jsonl.zst`).
    pub name: String,
    /// Conversations in it.
    pub conversations: u64,
    /// Bytes stored (compressed, when compressed).
    pub bytes: u64,
    /// SHA-256 of the stored bytes, lowercase hex.
    pub sha256: String,
}

/// One split of a dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitSummary {
    /// Its name (`train`).
    pub name: String,
    /// Conversations in it: the exact count.
    pub conversations: u64,
    /// Bytes of its data before compression.
    pub bytes: u64,
    /// Its conversations per tier: the split is decided by the id alone, so
    /// every tier is split in the same shares in expectation, and this says
    /// how close each came.
    pub tiers: BTreeMap<String, u64>,
    /// Its shards, in order.
    pub files: Vec<DatasetFile>,
    /// Its records skipped: with the input's own splits, every skipped row
    /// of its input; with a hashed split, those whose split was known (a
    /// duplicate, a conversation over `max_tokens` or refused by the
    /// format — a malformed row has no split).
    #[serde(default)]
    pub skipped_total: u64,
    /// The first [`MAX_SKIPPED_PER_SPLIT`] of them, with their locations
    /// and reasons (also in `export.skipped`).
    #[serde(default)]
    pub skipped: Vec<SkippedRecord>,
    /// Its conversations that repeat (by id or turns) one of another split:
    /// leaks, warned about (see the [module docs](self)).
    #[serde(default)]
    pub leaks: u64,
}

/// The most skipped records a [`SplitSummary`] lists (each is counted).
pub const MAX_SKIPPED_PER_SPLIT: usize = 100;

/// How conversations were assigned to splits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SplitBy {
    /// By a seeded hash of the conversation id ([`SplitSpec::part_of`]).
    #[default]
    Hash,
    /// As the input gave them ([`DatasetBuilder::given_splits`]).
    Given,
}

/// What a dataset export did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetSummary {
    /// The splits, in the order of the [`SplitSpec`].
    pub splits: Vec<SplitSummary>,
    /// Conversations left out as duplicates (with `dedupe`), also listed in
    /// `export.skipped` with the first one's id.
    pub duplicates_dropped: u64,
    /// Duplicates written because `dedupe` was off (warned about).
    pub duplicates_kept: u64,
    /// The seed of the split (not used with the input's own splits).
    pub seed: u64,
    /// Whether the splits were hashed or given by the input.
    #[serde(default)]
    pub split_by: SplitBy,
    /// Conversations repeating one of another split, in every split.
    #[serde(default)]
    pub leaks: u64,
    /// The dataset card, `README.md` (its `conversations` are the dataset's).
    pub card: DatasetFile,
    /// The whole export's summary: written, excluded, skipped with their
    /// locations, warnings. `bytes`/`sha256` are left empty: each file has its own.
    pub export: ExportSummary,
}

/// Settings of a dataset export; see the [module docs](self).
#[derive(Debug)]
pub struct DatasetBuilder {
    request: ExportRequest,
    split: Option<SplitSpec>,
    given: Option<Vec<String>>,
    seed: u64,
    dedupe: bool,
    max_records_per_shard: Option<u64>,
    max_bytes_per_shard: Option<u64>,
    compression: Compression,
    export_date: Option<DateTime<Utc>>,
    overwrite: bool,
    reading: Arc<Reading>,
    #[cfg(feature = "tokenizers")]
    tokens: Option<crate::tokens::TokenCounter>,
}

impl DatasetBuilder {
    /// A dataset of `request`: one split `train`, seed 0, no dedupe, one
    /// shard per split, no compression.
    pub fn new(request: ExportRequest) -> Self {
        DatasetBuilder {
            reading: Arc::new(Reading::of(&request)),
            request,
            split: None,
            given: None,
            seed: 0,
            dedupe: false,
            max_records_per_shard: None,
            max_bytes_per_shard: None,
            compression: Compression::None,
            export_date: None,
            overwrite: false,
            #[cfg(feature = "tokenizers")]
            tokens: None,
        }
    }

    /// How the input's rows are to be read, for the reader: see
    /// [`ExportBuilder::reading`].
    pub fn reading(&self) -> Arc<Reading> {
        Arc::clone(&self.reading)
    }

    /// The parts and their shares.
    pub fn split(mut self, split: SplitSpec) -> Self {
        self.split = Some(split);
        self
    }

    /// The input's own splits, in order, instead of a hashed
    /// [`split`](Self::split) (the two together are refused): each record
    /// goes into the split last started with [`DatasetWriter::start_split`].
    /// The names are checked when the export starts ([`check_split_names`]).
    pub fn given_splits<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.given = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// The seed of the split's hash (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Leave out (and list as skipped) a conversation whose id or whose
    /// normalised turns ([`content_key`]) came before; without it they are
    /// written and warned about — a repeated content may then land in two
    /// splits.
    pub fn dedupe(mut self, yes: bool) -> Self {
        self.dedupe = yes;
        self
    }

    /// At most `n` conversations per shard (at least 1).
    pub fn max_records_per_shard(mut self, n: u64) -> Self {
        self.max_records_per_shard = Some(n);
        self
    }

    /// A new shard once a shard holds `n` bytes of data (before
    /// compression; at least 1,024): a shard may pass it by one conversation.
    pub fn max_bytes_per_shard(mut self, n: u64) -> Self {
        self.max_bytes_per_shard = Some(n);
        self
    }

    /// How the files are compressed.
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// Counts tokens across the whole dataset, as
    /// [`ExportBuilder::tokenizer`] does for one file (feature `tokenizers`).
    #[cfg(feature = "tokenizers")]
    pub fn tokenizer(
        mut self,
        tokenizer: crate::tokens::Tokenizer,
        max_tokens: Option<u64>,
    ) -> Self {
        self.tokens = Some(crate::tokens::TokenCounter::new(tokenizer, max_tokens));
        self
    }

    /// Dates the export (JSON's `export_date`); default now.
    pub fn export_date(mut self, date: DateTime<Utc>) -> Self {
        self.export_date = Some(date);
        self
    }

    /// Whether a directory that holds files is replaced (default `false`:
    /// it is refused, so that no shard of an earlier export is loaded with
    /// this one). Replaced only once the dataset is complete, never mixed
    /// with the old files ([`Directory::replacing`]).
    pub fn overwrite(mut self, yes: bool) -> Self {
        self.overwrite = yes;
        self
    }

    /// Starts writing into `dir` (created if missing; it must be empty
    /// unless [`overwrite`](Self::overwrite)).
    pub fn to_directory(self, dir: impl AsRef<Path>) -> Result<DatasetWriter<Directory>> {
        let output = match self.overwrite {
            true => Directory::replacing(dir)?,
            false => Directory::new(dir)?,
        };
        self.to_output(output)
    }

    /// Starts writing into `output`.
    pub fn to_output<O: DatasetOutput>(self, output: O) -> Result<DatasetWriter<O>> {
        if self.max_records_per_shard == Some(0) {
            return Err(ErrorKind::Config("max_records_per_shard must be at least 1".into()).into());
        }
        if self.max_bytes_per_shard.is_some_and(|n| n < 1024) {
            let message = "max_bytes_per_shard must be at least 1024".into();
            return Err(ErrorKind::Config(message).into());
        }
        if !self.request.compression.is_none() {
            let message = "a dataset compresses its files with its own `compression` option, \
                           not the request's"
                .into();
            return Err(ErrorKind::Config(message).into());
        }
        let selector = Selector::new(&self.request)?;
        let assign = match (&self.split, &self.given) {
            (Some(split), Some(given)) => {
                let message = format!(
                    "`split` ({split}) and the input's own splits ({}) exclude each other: \
                     given splits are kept as they are; leave out `split`, or pass one input \
                     to split it by hash",
                    given.join(", ")
                );
                return Err(ErrorKind::Config(message).into());
            }
            (None, Some(given)) => {
                check_split_names(&given.iter().map(String::as_str).collect::<Vec<_>>())?;
                Assign::Given { current: None }
            }
            (split, None) => {
                Assign::Hash(split.clone().unwrap_or_else(|| SplitSpec::single("train")))
            }
        };
        let probe = ExportBuilder::new(self.request.clone()).from_writer(io::sink())?;
        if probe.compresses_itself() && !self.compression.is_none() {
            let message = format!(
                "format `{}` compresses its own data: its files are not compressed again \
                 (ask for compression `none`)",
                self.request.config.format
            );
            return Err(ErrorKind::Config(message).into());
        }
        let extension = format!("{}{}", probe.file_extension(), self.compression.extension());
        let export_date = self.export_date.unwrap_or_else(Utc::now);
        let parts = match (&assign, &self.given) {
            (Assign::Hash(split), _) => split.names().map(Part::new).collect(),
            (Assign::Given { .. }, given) => given.iter().flatten().map(|n| Part::new(n)).collect(),
        };
        let summary = ExportSummary {
            format: self.request.config.format.as_str().to_owned(),
            ..ExportSummary::default()
        };
        Ok(DatasetWriter {
            output,
            settings: self,
            assign,
            selector,
            extension,
            export_date,
            parts,
            seen: Seen::default(),
            summary,
            records: 0,
            duplicates_dropped: 0,
            duplicates_kept: 0,
        })
    }

    /// Writes every record of `records` into `dir` and returns the summary.
    pub fn export<I>(self, records: I, dir: impl AsRef<Path>) -> Result<DatasetSummary>
    where
        I: IntoIterator<Item = Record>,
    {
        let mut writer = self.to_directory(dir)?;
        let mut records = records.into_iter().peekable();
        while records.peek().is_some() {
            writer.push_all(records.by_ref().take(PUSH_BATCH).collect())?;
        }
        writer.finish()
    }

    /// Writes each split of `splits` — the input's own, named, in order —
    /// into its own files in `dir`, as [`given_splits`](Self::given_splits)
    /// and [`DatasetWriter::start_split`] do, and returns the summary.
    pub fn export_splits<N, I>(
        self,
        splits: impl IntoIterator<Item = (N, I)>,
        dir: impl AsRef<Path>,
    ) -> Result<DatasetSummary>
    where
        N: Into<String>,
        I: IntoIterator<Item = Record>,
    {
        let splits: Vec<(String, I)> = splits.into_iter().map(|(n, r)| (n.into(), r)).collect();
        let names: Vec<&str> = splits.iter().map(|(n, _)| n.as_str()).collect();
        let mut writer = self.given_splits(names).to_directory(dir)?;
        for (name, records) in splits {
            writer.start_split(&name)?;
            let mut records = records.into_iter().peekable();
            while records.peek().is_some() {
                writer.push_all(records.by_ref().take(PUSH_BATCH).collect())?;
            }
        }
        writer.finish()
    }
}

/// How a writer assigns conversations to splits.
#[derive(Debug)]
enum Assign {
    /// By the hash of [`SplitSpec::part_of`].
    Hash(SplitSpec),
    /// The input's own: the split started last, once one is.
    Given { current: Option<usize> },
}

/// A dataset export in progress. Files are written under temporary names
/// and get their final names only in [`finish`](Self::finish); dropped
/// unfinished, it removes them.
pub struct DatasetWriter<O: DatasetOutput = Directory> {
    output: O,
    settings: DatasetBuilder,
    assign: Assign,
    selector: Selector,
    extension: String,
    export_date: DateTime<Utc>,
    parts: Vec<Part<O::File>>,
    seen: Seen,
    summary: ExportSummary,
    records: u64,
    duplicates_dropped: u64,
    duplicates_kept: u64,
}

impl<O: DatasetOutput> DatasetWriter<O> {
    /// With the input's own splits ([`DatasetBuilder::given_splits`]): the
    /// records pushed from now on are split `name`'s (their record numbers
    /// count on from its last record). An error with a hashed split, or for
    /// a name not given.
    pub fn start_split(&mut self, name: &str) -> Result<()> {
        let index = self.parts.iter().position(|p| p.name == name);
        match (&mut self.assign, index) {
            (Assign::Given { current }, Some(index)) => {
                *current = Some(index);
                Ok(())
            }
            (Assign::Given { .. }, None) => Err(ErrorKind::Config(format!(
                "start_split: {name:?} is not one of the splits given ({})",
                self.parts.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
            ))
            .into()),
            (Assign::Hash(_), _) => Err(ErrorKind::Config(
                "start_split: this dataset is split by hash (given_splits names the input's own)"
                    .into(),
            )
            .into()),
        }
    }

    /// Takes one input record: writes it into its split, leaves it out of
    /// scope, or lists it as skipped (malformed, refused by the format, or a
    /// duplicate with `dedupe`).
    pub fn push(&mut self, record: Record) -> Result<Pushed> {
        #[cfg(feature = "tokenizers")]
        return self.push_counted(record, None);
        #[cfg(not(feature = "tokenizers"))]
        self.push_counted(record)
    }

    /// Takes `records` in order, as [`push`](Self::push) takes each; with
    /// a tokenizer, the batch's tokens are counted on every core first
    /// (see [`ExportWriter::push_all`]).
    pub fn push_all(&mut self, records: Vec<Record>) -> Result<()> {
        #[cfg(feature = "tokenizers")]
        if let Some(counter) = &self.settings.tokens {
            let selector = &self.selector;
            let config = &self.settings.request.config;
            let counts = counter.count_batch(&records, |c| selector.matches(c), config);
            for (record, counted) in records.into_iter().zip(counts) {
                self.push_counted(record, counted)?;
            }
            return Ok(());
        }
        for record in records {
            self.push(record)?;
        }
        Ok(())
    }

    /// [`push`](Self::push), with the record's tokens counted already
    /// when `counted` is given.
    fn push_counted(
        &mut self,
        record: Record,
        #[cfg(feature = "tokenizers")] counted: Option<crate::tokens::Counted>,
    ) -> Result<Pushed> {
        let given = match self.assign {
            Assign::Given { current: None } => {
                let message = "push: start a split first (start_split): the dataset has the \
                               input's own splits";
                return Err(ErrorKind::Config(message.into()).into());
            }
            Assign::Given { current: Some(index) } => Some(index),
            Assign::Hash(_) => None,
        };
        self.records += 1;
        let number = match given {
            Some(index) => {
                self.parts[index].records += 1;
                self.parts[index].records
            }
            None => self.records,
        };
        let conversation = match record {
            Ok(c) => c,
            Err(skipped) => {
                self.record_skipped(given, skipped);
                return Ok(Pushed::Skipped);
            }
        };
        #[cfg(feature = "tokenizers")]
        let mut conversation = conversation;
        if !self.selector.matches(&conversation) {
            self.summary.excluded += 1;
            return Ok(Pushed::Excluded);
        }
        let index = match &self.assign {
            Assign::Hash(split) => split.part_of(&conversation.conversation_id, self.settings.seed),
            Assign::Given { .. } => given.unwrap_or_default(),
        };
        if let Some(duplicate) = self.seen.check(&conversation, number, index) {
            let from = duplicate.split();
            if from != index && (given.is_some() || !self.settings.dedupe) {
                let part = &mut self.parts[index];
                part.leaks += 1;
                *part.leaked_from.entry(from).or_default() += 1;
                let id = &conversation.conversation_id;
                part.first_leak.get_or_insert_with(|| format!("record {number} (id {id:?})"));
            }
            if !self.settings.dedupe {
                self.duplicates_kept += 1;
            } else {
                self.duplicates_dropped += 1;
                let from = &self.parts[from].name;
                let reason = match (duplicate, given) {
                    (Duplicate::Id { .. }, None) => {
                        "duplicate conversation_id: one with this id came before".into()
                    }
                    (Duplicate::Id { .. }, Some(_)) => format!(
                        "duplicate conversation_id: one with this id came before in split `{from}`"
                    ),
                    (Duplicate::Content { first, .. }, None) => {
                        format!("duplicate content: the same turns as record {first}")
                    }
                    (Duplicate::Content { first, .. }, Some(_)) => format!(
                        "duplicate content: the same turns as record {first} of split `{from}`"
                    ),
                };
                return Ok(self.skip(index, number, &conversation, reason));
            }
        }
        #[cfg(feature = "tokenizers")]
        let tokens = match self.settings.tokens.as_mut() {
            None => None,
            Some(counter) => {
                match counter.check_with(&conversation, &self.settings.request.config, counted) {
                    Ok(n) => {
                        conversation.token_count = Some(n);
                        Some(n)
                    }
                    Err(reason) => return Ok(self.skip(index, number, &conversation, reason)),
                }
            }
        };
        let (max_records, max_bytes) =
            (self.settings.max_records_per_shard, self.settings.max_bytes_per_shard);
        let shard = self.open_shard(index)?;
        let pushed = shard.writer.push_numbered(&conversation, number)?;
        if pushed == Pushed::Written {
            #[cfg(feature = "tokenizers")]
            if let (Some(counter), Some(n)) = (self.settings.tokens.as_mut(), tokens) {
                counter.written(n);
            }
            let part = &mut self.parts[index];
            if let Some(tier) = conversation.tier {
                *part.tiers.entry(tier.as_str().to_owned()).or_default() += 1;
            }
            let shard = part.open.as_mut().expect("the shard just written to");
            shard.conversations += 1;
            let full = max_records.is_some_and(|n| shard.conversations >= n)
                || max_bytes.is_some_and(|n| shard.data_bytes() >= n);
            if full {
                self.close_shard(index)?;
            }
        }
        Ok(pushed)
    }

    /// Lists the current record, number `number` of split `index`,
    /// `conversation`, as skipped for `reason`.
    fn skip(
        &mut self,
        index: usize,
        number: u64,
        conversation: &Conversation,
        reason: String,
    ) -> Pushed {
        let skipped = SkippedRecord {
            location: Location::record(number),
            conversation_id: Some(conversation.conversation_id.clone()),
            reason,
        };
        self.record_skipped(Some(index), skipped);
        Pushed::Skipped
    }

    /// Counts `skipped` in the dataset's summary and in split `index`'s.
    fn record_skipped(&mut self, index: Option<usize>, skipped: SkippedRecord) {
        if let Some(part) = index.map(|i| &mut self.parts[i]) {
            part.record_skipped(&skipped);
        }
        self.summary.record_skipped(skipped, crate::DEFAULT_MAX_SKIPPED_RECORDS);
    }

    /// The summary so far: written, excluded, skipped (the shards' own
    /// counts join it as each shard is finished).
    pub fn summary(&self) -> &ExportSummary {
        &self.summary
    }

    /// The open shard of part `index`, opened if there is none.
    fn open_shard(&mut self, index: usize) -> Result<&mut Shard<O::File>> {
        if self.parts[index].open.is_none() {
            let files: usize =
                self.parts.iter().map(|p| p.closed.len() + usize::from(p.open.is_some())).sum();
            if files >= MAX_DATASET_FILES {
                let message = format!(
                    "the export would write more than {MAX_DATASET_FILES} files: \
                     raise maxRecordsPerShard or maxBytesPerShard"
                );
                let issue = Issue::new("dataset.maxRecordsPerShard", "too_many_files", message);
                return Err(ErrorKind::InvalidRequest(vec![issue]).into());
            }
            let part = &self.parts[index];
            let object = format!("{}-{:05}.{}", part.name, part.closed.len(), self.extension);
            let file = self.output.create(&object)?;
            let buffered = io::BufWriter::with_capacity(256 * 1024, file);
            let encoder = self.settings.compression.encoder(HashingWriter::new(buffered, true))?;
            let counted = Counted { inner: encoder, count: Arc::default() };
            let count = Arc::clone(&counted.count);
            let builder = ExportBuilder::new(self.settings.request.clone())
                .export_date(self.export_date)
                .on_too_many_skipped(TooManySkipped::Warn)
                .reported_elsewhere(Arc::clone(&self.settings.reading))
                .unhashed();
            #[cfg(feature = "tokenizers")]
            let builder = builder.counted_tokens(self.settings.tokens.is_some());
            let writer = builder.from_writer(counted)?;
            self.parts[index].open = Some(Shard { writer, object, conversations: 0, count });
        }
        Ok(self.parts[index].open.as_mut().expect("opened above"))
    }

    /// Finishes the open shard of part `index`: its closing bytes, the end
    /// of the compressed stream, the sync.
    fn close_shard(&mut self, index: usize) -> Result<()> {
        let Some(shard) = self.parts[index].open.take() else { return Ok(()) };
        let (counted, summary) = shard.writer.finish()?;
        let (buffered, bytes, sha256) = counted.inner.finish()?.into_parts();
        let file = buffered.into_inner().map_err(io::IntoInnerError::into_error)?;
        let part = &mut self.parts[index];
        part.data_bytes += summary.bytes;
        for skipped in &summary.skipped {
            part.record_skipped(skipped);
        }
        let unlisted = summary.skipped_total - summary.skipped.len() as u64;
        part.skipped_total += unlisted;
        part.closed.push(Closed {
            file,
            object: shard.object,
            conversations: shard.conversations,
            bytes,
            sha256,
        });
        merge(&mut self.summary, summary);
        Ok(())
    }

    /// Closes every shard (an empty one for a split that got nothing),
    /// gives the files their final names, writes the card and returns the
    /// summary. Fails — leaving no file under a final name — when records
    /// were read and none was written.
    pub fn finish(self) -> Result<DatasetSummary> {
        Ok(self.finish_output()?.0)
    }

    /// [`finish`](Self::finish), handing back the output too.
    pub fn finish_output(mut self) -> Result<(DatasetSummary, O)> {
        for index in 0..self.parts.len() {
            if self.parts[index].open.is_none() && self.parts[index].closed.is_empty() {
                self.open_shard(index)?;
            }
            self.close_shard(index)?;
        }
        #[cfg(feature = "tokenizers")]
        if let Some(counter) = &self.settings.tokens {
            self.summary.tokens = Some(counter.summary());
        }
        crate::pipeline::report_columns(&self.settings.reading, self.records, &mut self.summary)?;
        let written = self.summary.conversations;
        let skipped = self.summary.skipped_total - self.duplicates_dropped;
        if written == 0 && skipped > 0 {
            let first = self.summary.skipped.first();
            let first = first.map(|s| format!("{}: {}", s.location, s.reason)).unwrap_or_default();
            return Err(ErrorKind::TooManySkipped {
                skipped,
                records: self.records,
                limit: "nothing was written".into(),
                first,
            }
            .into());
        }
        self.warn_of_leaks();
        if self.duplicates_kept > 0 {
            self.summary.warnings.push(Warning::new(
                WarningCode::DuplicatesKept,
                format!(
                    "{} conversations repeat the id or the turns of one before them and were \
                     written (a repeated content may be in two splits); export with dedupe to \
                     leave them out",
                    self.duplicates_kept
                ),
            ));
        }
        let mut splits = Vec::with_capacity(self.parts.len());
        for part in &mut self.parts {
            let total = part.closed.len();
            let mut files = Vec::with_capacity(total);
            for (i, closed) in part.closed.drain(..).enumerate() {
                let name = format!("{}-{i:05}-of-{total:05}.{}", part.name, self.extension);
                self.output.publish(closed.file, &closed.object, &name)?;
                files.push(DatasetFile {
                    name,
                    conversations: closed.conversations,
                    bytes: closed.bytes,
                    sha256: closed.sha256,
                });
            }
            let conversations = files.iter().map(|f| f.conversations).sum();
            splits.push(SplitSummary {
                name: part.name.clone(),
                conversations,
                bytes: part.data_bytes,
                tiers: std::mem::take(&mut part.tiers),
                files,
                skipped_total: part.skipped_total,
                skipped: std::mem::take(&mut part.skipped),
                leaks: part.leaks,
            });
        }
        let split_by = match &self.assign {
            Assign::Hash(split) => format!(
                "split `{split}` by a SHA-256 of each conversation id with seed {}",
                self.settings.seed
            ),
            Assign::Given { .. } => "the splits as the input gave them".to_owned(),
        };
        let about = format!(
            "Exported by lora-export on {}: format `{}`, {split_by}{}{}.",
            self.export_date.to_rfc3339(),
            self.summary.format,
            if self.settings.dedupe { ", duplicates (ids and turns) left out" } else { "" },
            match self.settings.compression {
                Compression::None => String::new(),
                other => format!(", files compressed ({})", &other.extension()[1..]),
            }
        );
        let card =
            card::dataset_card(&self.settings.request.config, &splits, &self.extension, &about);
        write_whole(&mut self.output, "README.md", "README.md", card.as_bytes())?;
        self.output.complete()?;
        let card = DatasetFile {
            name: "README.md".into(),
            conversations: splits.iter().map(|s| s.conversations).sum(),
            bytes: card.len() as u64,
            sha256: sha256_hex(card.as_bytes()),
        };
        let leaks = splits.iter().map(|s| s.leaks).sum();
        let summary = DatasetSummary {
            card,
            splits,
            duplicates_dropped: self.duplicates_dropped,
            duplicates_kept: self.duplicates_kept,
            seed: self.settings.seed,
            split_by: match self.assign {
                Assign::Hash(_) => SplitBy::Hash,
                Assign::Given { .. } => SplitBy::Given,
            },
            leaks,
            export: self.summary,
        };
        Ok((summary, self.output))
    }

    /// A [`WarningCode::SplitLeak`] for each split with leaks: how many,
    /// from which splits, what became of them, and the first.
    fn warn_of_leaks(&mut self) {
        let given = matches!(self.assign, Assign::Given { .. });
        let fate = match (given, self.settings.dedupe) {
            (true, true) => "left out of it (dedupe; listed as skipped)",
            (true, false) => "written as given (dedupe leaves the later copy out)",
            (false, _) => {
                "written there too: their ids differ, so the hash placed them apart (dedupe \
                 leaves every repeat out)"
            }
        };
        for part in self.parts.iter().filter(|p| p.leaks > 0) {
            let from: Vec<String> = part
                .leaked_from
                .iter()
                .map(|(i, n)| format!("{}: {n}", self.parts[*i].name))
                .collect();
            let message = format!(
                "split `{}`: {} conversations repeat (by id or turns) one of another split ({}) \
                 — a leak between splits, {fate}; the first: {}",
                part.name,
                part.leaks,
                from.join(", "),
                part.first_leak.as_deref().unwrap_or_default()
            );
            self.summary.warnings.push(Warning::new(WarningCode::SplitLeak, message));
        }
    }
}

impl<O: DatasetOutput> RecordSink for DatasetWriter<O> {
    fn push(&mut self, record: Record) -> Result<Pushed> {
        DatasetWriter::push(self, record)
    }

    fn push_all(&mut self, records: Vec<Record>) -> Result<()> {
        DatasetWriter::push_all(self, records)
    }

    fn summary(&self) -> &ExportSummary {
        DatasetWriter::summary(self)
    }
}

impl<O: DatasetOutput + std::fmt::Debug> std::fmt::Debug for DatasetWriter<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatasetWriter").field("output", &self.output).finish_non_exhaustive()
    }
}

/// One split while it is written.
struct Part<F: Write> {
    name: String,
    open: Option<Shard<F>>,
    closed: Vec<Closed<F>>,
    data_bytes: u64,
    tiers: BTreeMap<String, u64>,
    /// Records read into it (with the input's own splits).
    records: u64,
    skipped_total: u64,
    skipped: Vec<SkippedRecord>,
    leaks: u64,
    /// Its leaks per split (index) of the conversation they repeat.
    leaked_from: BTreeMap<usize, u64>,
    /// The first leak, for the warning.
    first_leak: Option<String>,
}

impl<F: Write> Part<F> {
    fn new(name: &str) -> Part<F> {
        Part {
            name: name.to_owned(),
            open: None,
            closed: Vec::new(),
            data_bytes: 0,
            tiers: BTreeMap::new(),
            records: 0,
            skipped_total: 0,
            skipped: Vec::new(),
            leaks: 0,
            leaked_from: BTreeMap::new(),
            first_leak: None,
        }
    }

    fn record_skipped(&mut self, skipped: &SkippedRecord) {
        self.skipped_total += 1;
        if self.skipped.len() < MAX_SKIPPED_PER_SPLIT {
            self.skipped.push(skipped.clone());
        }
    }
}

/// A shard being written.
struct Shard<F: Write> {
    writer: ExportWriter<Counted<Encoder<HashingWriter<io::BufWriter<F>>>>>,
    object: String,
    conversations: u64,
    count: Arc<AtomicU64>,
}

impl<F: Write> Shard<F> {
    /// Bytes of data written so far, before compression.
    fn data_bytes(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

/// A finished shard, not yet published.
struct Closed<F> {
    file: F,
    object: String,
    conversations: u64,
    bytes: u64,
    sha256: String,
}

/// Counts the bytes written through it (the shard's data size).
struct Counted<W> {
    inner: W,
    count: Arc<AtomicU64>,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Adds a shard's summary into the dataset's.
fn merge(into: &mut ExportSummary, shard: ExportSummary) {
    into.conversations += shard.conversations;
    into.turns += shard.turns;
    into.truncated_turns += shard.truncated_turns;
    into.not_approved += shard.not_approved;
    into.duplicate_ids += shard.duplicate_ids;
    for skipped in shard.skipped {
        into.record_skipped(skipped, crate::DEFAULT_MAX_SKIPPED_RECORDS);
    }
    for (tier, n) in shard.tier_distribution {
        *into.tier_distribution.entry(tier).or_default() += n;
    }
    for warning in shard.warnings {
        let too_many = warning.code == WarningCode::TooManySkipped;
        if !too_many && !into.warnings.contains(&warning) {
            into.warnings.push(warning);
        }
    }
}
