//! The main job: export canonical JSONL conversations to a training file.
//!
//! ```text
//! lora-export --input FILE|- --format jsonl|json|csv|markdown|parquet \
//!     --output FILE|- [--config '<ExportConfig JSON>'] [--filters '<FilterConfig JSON>'] \
//!     [--ids a,b,…] [--strict] [--no-sync]
//!     [--columns '{"dialog":"messages"}'] [--keep-columns 'true'|'["source"]']
//!     [--split train=0.9,validation=0.1] [--seed N] [--dedupe]
//!     [--shard-records N] [--shard-bytes N] [--compress gzip|zstd]
//!     [--tokenizer o200k_base|cl100k_base|tokenizer.json] [--max-tokens N]
//!     [--chat-template tokenizer_config.json|FILE|'<Jinja>']
//! ```
//!
//! `--tokenizer` (a build with `--features tokenizers`) counts each
//! conversation's tokens as the trainer does: the count replaces the
//! record's `token_count` and the summary gives total, max, p50 and p95;
//! `--max-tokens` skips (and lists) the conversations a trainer would truncate.
//! `--chat-template` (with a `tokenizer.json`) renders each conversation
//! with the model's chat template first, so the count is the trainer's.
//!
//! Any of the last line's flags writes a dataset directory instead of one
//! file (`--output DIR`, created, must be empty): each split's shards named
//! `train-00000-of-00004.jsonl[.gz|.zst]` and a `README.md` dataset card
//! that `datasets.load_dataset(DIR)` reads. The split is decided by a
//! seeded hash of each conversation id (default seed 0), so it does not move
//! when data is added or the format or system prompt changes; `--dedupe`
//! leaves out repeated ids and repeated turns and lists them as skipped.
//!
//! With no arguments it exports the bundled sample (`data/sample.jsonl`) to
//! every format under `./exports/`.
//!
//! The scope defaults to `selected` with `--ids`, `filtered` with
//! `--filters`, else `all` (approved conversations only); `--config` may set
//! it and every other ExportConfig field. `--columns` maps your column names
//! to the record's fields and `--keep-columns` carries other columns into the
//! metadata's `user_fields` (the request's `columns` and `keepColumns`); the
//! columns neither read nor kept are counted in the summary's
//! `ignored_fields`. The request is validated like an
//! API request: every problem is printed with its path and the exit code is
//! 2. The export summary is printed on stderr as one JSON object; skipped
//! records are named there. `--strict` makes the first malformed record
//! fatal (exit code 1). Files are written to a temporary name, synced and
//! renamed, so a failed export never leaves a partial file under the final
//! name (`--no-sync` skips the sync: the file still appears only when
//! complete, but a power cut soon after may leave it empty; the comparison in
//! `benches/` measures both). A destination that is not a regular file
//! (`/dev/null`, a FIFO) is written in place. JSONL flavors that forbid extra keys (anthropic, sharegpt) write
//! their metadata next to the output as `<output>.metadata.jsonl`.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::Utc;
use lora_export_core::atomic::AtomicFile;
use lora_export_core::audit::file_name_for;
use lora_export_core::dataset::{Compression, DatasetBuilder, DatasetSummary, SplitSpec};
use lora_export_core::model::{ExportRequest, Format};
use lora_export_core::pipeline::PUSH_BATCH;
use lora_export_core::request::RequestParts;
use lora_export_core::source::BackgroundJsonlSource;
use lora_export_core::{ExportBuilder, ExportSummary};
use serde_json::{json, Value};

/// mimalloc: the parser threads allocate the conversations and this thread
/// frees them, which glibc's allocator does with lock contention between
/// arenas (measured in `benches/README.md`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Args {
    input: String,
    output: String,
    format: Option<String>,
    config: Option<String>,
    filters: Option<String>,
    ids: Option<String>,
    columns: Option<String>,
    keep_columns: Option<String>,
    strict: bool,
    sync: bool,
    dataset: DatasetArgs,
    tokenizer: Option<String>,
    max_tokens: Option<String>,
    chat_template: Option<String>,
}

/// The flags that make the output a dataset directory.
#[derive(Default)]
struct DatasetArgs {
    split: Option<String>,
    seed: Option<String>,
    dedupe: bool,
    shard_records: Option<String>,
    shard_bytes: Option<String>,
    compress: Option<String>,
}

impl DatasetArgs {
    fn wanted(&self) -> bool {
        self.split.is_some()
            || self.dedupe
            || self.shard_records.is_some()
            || self.shard_bytes.is_some()
            || self.compress.is_some()
    }
}

/// What `--help` prints: the usage block of this file's documentation.
const HELP: &str = "\
lora-export: canonical JSONL conversations to a training file or a dataset directory

usage: lora-export --input FILE|- --format jsonl|json|csv|markdown|parquet --output FILE|-|DIR
         [--config '<ExportConfig JSON>'] [--filters '<FilterConfig JSON>'] [--ids a,b,...]
         [--strict] [--no-sync]
         [--columns '<column -> field JSON>'] [--keep-columns 'true'|'<JSON list of columns>']
         [--split train=0.9,validation=0.1] [--seed N] [--dedupe]
         [--shard-records N] [--shard-bytes N] [--compress gzip|zstd]
         [--tokenizer o200k_base|cl100k_base|tokenizer.json] [--max-tokens N]
         [--chat-template tokenizer_config.json|FILE|'<Jinja>']
       lora-export            (no arguments: the bundled sample to ./exports/, every format)

The summary is printed on stderr as one JSON object. Exit codes: 0 done, 1 the export
failed, 2 the request or the flags are invalid.
";

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.iter().any(|a| a == "--help" || a == "-h") {
        print!("{HELP}");
        return;
    }
    let code = if argv.is_empty() { run_sample() } else { parse_args(&argv).and_then(run) };
    if let Err(e) = code {
        eprintln!("error: {}", e.message);
        std::process::exit(e.code);
    }
}

struct Failure {
    message: String,
    code: i32,
}

fn usage(message: impl Into<String>) -> Failure {
    Failure { message: message.into(), code: 2 }
}

fn failed(message: impl std::fmt::Display) -> Failure {
    Failure { message: message.to_string(), code: 1 }
}

fn parse_args(argv: &[String]) -> Result<Args, Failure> {
    let mut args = Args {
        input: String::new(),
        output: String::new(),
        format: None,
        config: None,
        filters: None,
        ids: None,
        columns: None,
        keep_columns: None,
        strict: false,
        sync: true,
        dataset: DatasetArgs::default(),
        tokenizer: None,
        max_tokens: None,
        chat_template: None,
    };
    let mut it = argv.iter();
    while let Some(flag) = it.next() {
        if flag == "--strict" {
            args.strict = true;
            continue;
        }
        if flag == "--no-sync" {
            args.sync = false;
            continue;
        }
        if flag == "--dedupe" {
            args.dataset.dedupe = true;
            continue;
        }
        let value = it.next().ok_or_else(|| usage(format!("{flag} needs a value")))?.clone();
        match flag.as_str() {
            "--input" => args.input = value,
            "--output" => args.output = value,
            "--format" => args.format = Some(value),
            "--config" => args.config = Some(value),
            "--filters" => args.filters = Some(value),
            "--ids" => args.ids = Some(value),
            "--columns" => args.columns = Some(value),
            "--keep-columns" => args.keep_columns = Some(value),
            "--split" => args.dataset.split = Some(value),
            "--seed" => args.dataset.seed = Some(value),
            "--shard-records" => args.dataset.shard_records = Some(value),
            "--shard-bytes" => args.dataset.shard_bytes = Some(value),
            "--compress" => args.dataset.compress = Some(value),
            "--tokenizer" => args.tokenizer = Some(value),
            "--max-tokens" => args.max_tokens = Some(value),
            "--chat-template" => args.chat_template = Some(value),
            _ => {
                return Err(usage(format!(
                    "unknown flag {flag} (see the comment at the top of examples/export.rs)"
                )))
            }
        }
    }
    if args.input.is_empty() || args.output.is_empty() {
        return Err(usage("--input and --output are required (use - for stdin/stdout)"));
    }
    if args.max_tokens.is_some() && args.tokenizer.is_none() {
        return Err(usage("--max-tokens needs --tokenizer (what counts the tokens)"));
    }
    if args.chat_template.is_some() && args.tokenizer.is_none() {
        return Err(usage("--chat-template needs --tokenizer (a tokenizer.json)"));
    }
    if args.tokenizer.is_some() && !cfg!(feature = "tokenizers") {
        return Err(usage(
            "--tokenizer needs a build with token counting: cargo install --path cli --features tokenizers",
        ));
    }
    if args.dataset.seed.is_some() && !args.dataset.wanted() {
        return Err(usage("--seed goes with --split (or another dataset flag)"));
    }
    if args.dataset.wanted() && args.output == "-" {
        return Err(usage("a dataset is a directory: --output DIR, not -"));
    }
    Ok(args)
}

/// Builds the request body exactly as an API client would send it, then
/// validates it with the library's validator.
fn build_request(args: &Args) -> Result<ExportRequest, Failure> {
    let parse = |what: &str, text: &str| {
        serde_json::from_str::<Value>(text).map_err(|e| usage(format!("{what} is not JSON: {e}")))
    };
    let config = match &args.config {
        None => serde_json::Map::new(),
        Some(text) => match parse("--config", text)? {
            Value::Object(map) => map,
            _ => return Err(usage("--config must be a JSON object")),
        },
    };
    let parts = RequestParts {
        format: args.format.clone(),
        config,
        filters: args.filters.as_deref().map(|f| parse("--filters", f)).transpose()?,
        conversation_ids: args
            .ids
            .as_ref()
            .map(|ids| ids.split(',').map(|i| json!(i.trim())).collect()),
        compression: None,
        columns: args.columns.as_deref().map(|c| parse("--columns", c)).transpose()?,
        keep_columns: args
            .keep_columns
            .as_deref()
            .map(|k| parse("--keep-columns", k))
            .transpose()?,
    };
    parts.build().map_err(|issues| {
        let lines: Vec<String> =
            issues.iter().map(|i| format!("  {}: {} [{}]", i.path, i.message, i.code)).collect();
        usage(format!("invalid export request:\n{}", lines.join("\n")))
    })
}

fn run(args: Args) -> Result<(), Failure> {
    let request = build_request(&args)?;
    let input: Box<dyn BufRead + Send> = if args.input == "-" {
        Box::new(BufReader::new(io::stdin()))
    } else {
        let file = File::open(&args.input).map_err(|e| failed(format!("{}: {e}", args.input)))?;
        Box::new(BufReader::with_capacity(256 * 1024, file))
    };
    if args.dataset.wanted() {
        let summary = export_dataset(request, input, &args)?;
        eprintln!("{}", serde_json::to_string(&summary).expect("summary serialises"));
        return Ok(());
    }
    let summary = if args.output == "-" {
        let stdout = io::stdout();
        export(request, input, BufWriter::new(stdout.lock()), None, &args)?
    } else {
        let target = PathBuf::from(&args.output);
        export_to_file(request, input, &target, &args, |_| target.clone())?.0
    };
    eprintln!("{}", serde_json::to_string(&summary).expect("summary serialises"));
    Ok(())
}

fn export<W: Write>(
    request: ExportRequest,
    input: Box<dyn BufRead + Send>,
    out: W,
    sidecar: Option<Box<dyn Write + Send>>,
    args: &Args,
) -> Result<ExportSummary, Failure> {
    let mut builder = ExportBuilder::new(request).fail_on_malformed(args.strict);
    #[cfg(feature = "tokenizers")]
    if let Some((tokenizer, max_tokens)) = tokenizer_of(args)? {
        builder = builder.tokenizer(tokenizer, max_tokens);
    }
    if let Some(sidecar) = sidecar {
        builder = builder.metadata_sidecar(sidecar);
    }
    let reading = builder.reading();
    let mut writer = builder.from_writer(out).map_err(failed)?;
    let mut records = BackgroundJsonlSource::with_reading(input, reading, || {}).peekable();
    while records.peek().is_some() {
        writer.push_all(records.by_ref().take(PUSH_BATCH).collect()).map_err(failed)?;
    }
    let (mut out, summary) = writer.finish().map_err(failed)?;
    out.flush().map_err(failed)?;
    Ok(summary)
}

/// Exports into the dataset directory `--output` with the dataset flags.
fn export_dataset(
    request: ExportRequest,
    input: Box<dyn BufRead + Send>,
    args: &Args,
) -> Result<DatasetSummary, Failure> {
    let flags = &args.dataset;
    let number = |flag: &str, value: &Option<String>| -> Result<Option<u64>, Failure> {
        value
            .as_deref()
            .map(|v| v.parse::<u64>().map_err(|_| usage(format!("{flag} {v}: not a whole number"))))
            .transpose()
    };
    let mut builder = DatasetBuilder::new(request).dedupe(flags.dedupe);
    if let Some(split) = &flags.split {
        let split = SplitSpec::parse(split).map_err(|e| {
            let lines: Vec<String> = e
                .issues()
                .iter()
                .map(|i| format!("  {}: {} [{}]", i.path, i.message, i.code))
                .collect();
            usage(format!("--split {split}:\n{}", lines.join("\n")))
        })?;
        builder = builder.split(split);
    }
    if let Some(seed) = number("--seed", &flags.seed)? {
        builder = builder.seed(seed);
    }
    if let Some(n) = number("--shard-records", &flags.shard_records)? {
        builder = builder.max_records_per_shard(n);
    }
    if let Some(n) = number("--shard-bytes", &flags.shard_bytes)? {
        builder = builder.max_bytes_per_shard(n);
    }
    if let Some(name) = &flags.compress {
        builder = builder.compression(Compression::parse(name).map_err(|e| usage(e.to_string()))?);
    }
    #[cfg(feature = "tokenizers")]
    if let Some((tokenizer, max_tokens)) = tokenizer_of(args)? {
        builder = builder.tokenizer(tokenizer, max_tokens);
    }
    let reading = builder.reading();
    let mut writer = builder.to_directory(&args.output).map_err(|e| usage(e.to_string()))?;
    let mut records = BackgroundJsonlSource::with_reading(input, reading, || {}).peekable();
    while records.peek().is_some() {
        let batch: Vec<_> = records.by_ref().take(PUSH_BATCH).collect();
        if let (true, Some(Err(skipped))) = (args.strict, batch.iter().find(|r| r.is_err())) {
            return Err(failed(format!("{}: {}", skipped.location, skipped.reason)));
        }
        writer.push_all(batch).map_err(failed)?;
    }
    writer.finish().map_err(failed)
}

/// The tokenizer and the token limit of `--tokenizer` / `--max-tokens`.
#[cfg(feature = "tokenizers")]
fn tokenizer_of(
    args: &Args,
) -> Result<Option<(lora_export_core::tokens::Tokenizer, Option<u64>)>, Failure> {
    let Some(spec) = &args.tokenizer else { return Ok(None) };
    let mut tokenizer =
        lora_export_core::tokens::Tokenizer::parse(spec).map_err(|e| usage(e.to_string()))?;
    if let Some(template) = &args.chat_template {
        let template = lora_export_core::tokens::ChatTemplate::parse(template)
            .map_err(|e| usage(e.to_string()))?;
        tokenizer = tokenizer.with_chat_template(template).map_err(|e| usage(e.to_string()))?;
    }
    let max_tokens = match &args.max_tokens {
        None => None,
        Some(n) => Some(
            n.parse::<u64>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| usage(format!("--max-tokens {n}: not a positive whole number")))?,
        ),
    };
    Ok(Some((tokenizer, max_tokens)))
}

/// Exports next to `near` under a temporary name and renames the result to
/// the path `name` picks from the summary: a failed export leaves nothing.
fn export_to_file(
    request: ExportRequest,
    input: Box<dyn BufRead + Send>,
    near: &Path,
    args: &Args,
    name: impl FnOnce(&ExportSummary) -> PathBuf,
) -> Result<(ExportSummary, PathBuf), Failure> {
    let stage = |path: &Path| {
        AtomicFile::create(path).map_err(|e| failed(format!("{}: {e}", path.display())))
    };
    let handle = |file: &AtomicFile| file.file().try_clone().map_err(failed);
    let main = stage(near)?;
    // A device or a pipe (`/dev/null`, a FIFO) is written in place, with no
    // sidecar beside it.
    let sidecar = match main.staged_path() {
        Some(_) => Some(stage(&near.with_extension("metadata.jsonl"))?),
        None => None,
    };
    let sidecar_writer = match &sidecar {
        Some(file) => Some(Box::new(BufWriter::new(handle(file)?)) as Box<dyn Write + Send>),
        None => None,
    };
    let out = BufWriter::with_capacity(256 * 1024, handle(&main)?);
    let summary = export(request, input, out, sidecar_writer, args)?;
    let target = name(&summary);
    let commit = |file: AtomicFile, to: &Path| file.commit_as(to, args.sync).map_err(failed);
    commit(main, &target)?;
    if let Some(sidecar) = sidecar.filter(|f| f.file().metadata().is_ok_and(|m| m.len() > 0)) {
        commit(sidecar, &PathBuf::from(format!("{}.metadata.jsonl", target.display())))?;
    }
    Ok((summary, target))
}

/// The bundled sample (`data/sample.jsonl`, 75 KB), built into the binary
/// so that an installed `lora-export` runs it from any directory.
const SAMPLE: &[u8] = include_bytes!("../../data/sample.jsonl");

fn run_sample() -> Result<(), Failure> {
    let dir = Path::new("exports");
    fs::create_dir_all(dir).map_err(|e| failed(format!("{}: {e}", dir.display())))?;
    for format in Format::ALL {
        let args = Args {
            input: "data/sample.jsonl".to_owned(),
            output: String::new(),
            format: Some(format.as_str().to_owned()),
            config: None,
            filters: None,
            ids: None,
            columns: None,
            keep_columns: None,
            strict: false,
            sync: true,
            dataset: DatasetArgs::default(),
            tokenizer: None,
            max_tokens: None,
            chat_template: None,
        };
        let request = build_request(&args)?;
        let input = SAMPLE;
        let ext = if format == Format::Markdown { "md" } else { format.as_str() };
        let near = dir.join(format!("sample.{ext}"));
        let (summary, final_path) = export_to_file(request, Box::new(input), &near, &args, |s| {
            dir.join(file_name_for(s, Utc::now().date_naive(), ext))
        })?;
        eprintln!(
            "{} -> {} ({} conversations, {} bytes, {} excluded by scope, {} skipped)",
            format,
            final_path.display(),
            summary.conversations,
            summary.bytes,
            summary.excluded,
            summary.skipped_total
        );
        for s in &summary.skipped {
            eprintln!("  skipped {}: {}", s.location, s.reason);
        }
        if summary.skipped_total > summary.skipped.len() as u64 {
            eprintln!(
                "  … and {} more skipped; by reason: {:?}",
                summary.skipped_total - summary.skipped.len() as u64,
                summary.skipped_by_reason
            );
        }
    }
    Ok(())
}
