//! One export in progress ([`Job`]): the keyword options every export
//! function shares, the batches, and the end (commit, warnings) or the
//! abandon (files removed).

use lora_export::dataset::Compression;
use lora_export::source::Record;
use lora_export::{ExportBuilder, ExportWriter, TooManySkipped};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

use super::input::{push_batch, push_items, Input, Report};
use super::output::{Sink, Target};
use super::progress::Progress;
use crate::errors::{err, warn};
use crate::request;

/// The keyword arguments every export function shares (see the stubs).
pub(super) struct Options<'a, 'py> {
    /// Output format; defaults to `config["format"]`, else `jsonl`.
    pub(super) format: Option<&'a str>,
    /// The API's export config (camelCase keys).
    pub(super) config: Option<&'a Bound<'py, PyAny>>,
    /// Filters of scope `filtered`.
    pub(super) filters: Option<&'a Bound<'py, PyAny>>,
    /// Conversation ids of scope `selected`.
    pub(super) ids: Option<&'a Bound<'py, PyAny>>,
    /// The file's compression (`export` only: the others give text).
    pub(super) compression: Option<&'a str>,
    /// `True`, `False`/`None` or a callable.
    pub(super) progress: Option<&'a Bound<'py, PyAny>>,
    /// The date of the export (JSON `export_date`).
    pub(super) export_date: Option<&'a Bound<'py, PyAny>>,
    /// Raise at the first malformed record.
    pub(super) strict: bool,
    /// fsync a path's file before it is renamed into place.
    pub(super) sync: bool,
    /// Where the metadata sidecar goes.
    pub(super) metadata_dest: Option<&'a Bound<'py, PyAny>>,
    /// What is tolerated: duplicates, skipped records.
    pub(super) limits: Limits,
    /// `columns=` and `keep_columns=`.
    pub(super) columns: request::Columns<'a, 'py>,
    /// The output is wanted as text (`to_string`): a binary format is refused
    /// once the whole request is valid.
    pub(super) text_only: bool,
}

/// The keyword arguments about what an export tolerates.
#[derive(Clone, Copy)]
pub(super) struct Limits {
    dedupe: bool,
    max_skipped_share: Option<f64>,
    warn_on_too_many_skipped: bool,
    keep_skipped: usize,
    allow_empty: bool,
}

impl Limits {
    pub(super) fn new(
        dedupe: bool,
        max_skipped_share: Option<f64>,
        too_many_skipped: &str,
        keep_skipped: usize,
        allow_empty: bool,
    ) -> PyResult<Self> {
        let warn_on_too_many_skipped = match too_many_skipped {
            "raise" => false,
            "warn" => true,
            other => {
                return Err(PyValueError::new_err(format!(
                    "too_many_skipped must be \"raise\" or \"warn\", got {other:?}"
                )))
            }
        };
        Ok(Limits {
            dedupe,
            max_skipped_share,
            warn_on_too_many_skipped,
            keep_skipped,
            allow_empty,
        })
    }

    pub(super) fn apply(self, mut builder: ExportBuilder) -> ExportBuilder {
        builder = builder
            .dedupe(self.dedupe)
            .max_skipped_records(self.keep_skipped)
            .allow_empty(self.allow_empty);
        if let Some(share) = self.max_skipped_share {
            builder = builder.max_skipped_share(share);
        }
        if self.warn_on_too_many_skipped {
            builder = builder.on_too_many_skipped(TooManySkipped::Warn);
        }
        builder
    }
}

/// The summary's warnings that Python raises as `LoraExportWarning`, by
/// code: duplicate ids, skipped records (any; above the limit in
/// `too_many_skipped="warn"` mode), fields kept as the record's own,
/// columns neither read nor kept,
/// conversations the default scope left out, fields the format could
/// not carry, and a dataset's leaks between splits. The others stay in
/// `summary.warnings`.
pub(crate) fn python_warnings(summary: &lora_export::ExportSummary) -> impl Iterator<Item = &str> {
    use lora_export::WarningCode::{
        ColumnsIgnored, DuplicateIds, FieldsDropped, NotApprovedLeftOut, Skipped, SplitLeak,
        TooManySkipped, UserFieldsKept,
    };
    summary
        .warnings
        .iter()
        .filter(|w| {
            matches!(
                w.code,
                DuplicateIds
                    | TooManySkipped
                    | Skipped
                    | UserFieldsKept
                    | ColumnsIgnored
                    | NotApprovedLeftOut
                    | FieldsDropped
                    | SplitLeak
            )
        })
        .map(|w| w.message.as_str())
}

/// An export in progress.
pub(super) struct Job {
    input: Input,
    /// fsync a path's file before its rename into place.
    sync: bool,
    writer: Option<ExportWriter<Sink>>,
    pub(super) out: Target,
    sidecar: Option<Target>,
    progress: Progress,
    done: u64,
    total: Option<u64>,
}

impl Job {
    pub(super) fn start(
        py: Python<'_>,
        conversations: &Bound<'_, PyAny>,
        dest: Option<&Bound<'_, PyAny>>,
        options: &Options<'_, '_>,
    ) -> PyResult<Job> {
        let request = request::build(
            options.format,
            options.config,
            options.filters,
            options.ids,
            options.compression,
            options.columns,
        )?;
        let format = request.config.format;
        if options.text_only && format.is_binary() {
            return Err(PyValueError::new_err(format!(
                "format {format} is binary and has no text form: write it with export() or iter_export()"
            )));
        }
        let compression = request.compression;
        let mut builder =
            options.limits.apply(ExportBuilder::new(request).fail_on_malformed(options.strict));
        if let Some(date) = options.export_date {
            builder = builder.export_date(request::instant(date, "export_date")?);
        }
        let (input, total) = Input::open(conversations, builder.reading())?;
        // Python objects and Arrow rows are read by one thread beside this
        // one, which leaves a core for the hash; JSONL's parsers take both.
        builder = builder.hash_on_own_thread(!matches!(input, Input::Jsonl(_)));
        let progress = Progress::new(py, options.progress, total)?;
        let mut sidecar = match options.metadata_dest {
            None => None,
            Some(dest) => {
                let (target, sink) = Target::open(Some(dest), "metadata_dest", Compression::None)?;
                builder = builder.metadata_sidecar(Box::new(sink));
                Some(target)
            }
        };
        let (out, sink) = match Target::open(dest, "dest", compression) {
            Ok(opened) => opened,
            Err(e) => {
                sidecar.iter_mut().for_each(Target::discard);
                return Err(e);
            }
        };
        let sync = options.sync;
        let mut job = Job { input, sync, writer: None, out, sidecar, progress, done: 0, total };
        match builder.from_writer(sink) {
            Ok(writer) => job.writer = Some(writer),
            Err(e) => {
                job.abandon(py);
                return Err(err(e));
            }
        }
        Ok(job)
    }

    /// One batch: gather (GIL), export (no GIL), hand over bytes, report
    /// progress, check signals. Returns whether the input may have more.
    pub(super) fn step(&mut self, py: Python<'_>) -> PyResult<bool> {
        let (items, more) = self.input.gather(py)?;
        let mut writer = self
            .writer
            .take()
            .ok_or_else(|| PyRuntimeError::new_err("this export has already ended"))?;
        let input = &mut self.input;
        let pushed = py.detach(|| push_batch(&mut writer, input, items, more)).map_err(err);
        let stepped = pushed.and_then(|(taken, more)| {
            self.written(py, taken, writer.summary())?;
            Ok(more)
        });
        self.writer = Some(writer);
        stepped
    }

    pub(super) fn drain(&self, py: Python<'_>) -> PyResult<()> {
        self.out.drain(py)?;
        self.sidecar.iter().try_for_each(|t| t.drain(py))
    }

    /// Writes the closing bytes and returns the summary.
    pub(super) fn finish(&mut self, py: Python<'_>) -> PyResult<lora_export::ExportSummary> {
        let writer = self
            .writer
            .take()
            .ok_or_else(|| PyRuntimeError::new_err("this export has already ended"))?;
        let (sink, summary) = py.detach(|| writer.finish()).map_err(err)?;
        if let Sink::File(file) = sink {
            file.into_inner().map_err(|e| PyErr::from(e.into_error()))?;
        }
        self.drain(py)?;
        if let Some(sidecar) = self.sidecar.as_mut() {
            sidecar.commit(self.sync)?;
        }
        self.out.commit(self.sync)?;
        self.progress.close(py, &summary)?;
        for warning in python_warnings(&summary) {
            warn(py, warning)?;
        }
        Ok(summary)
    }

    /// After a failure: closes the progress bar and removes created files.
    pub(super) fn abandon(&mut self, py: Python<'_>) {
        let summary = self.writer.take().map(|w| w.summary().clone()).unwrap_or_default();
        let _ = self.progress.close(py, &summary);
        self.out.discard();
        self.sidecar.iter_mut().for_each(Target::discard);
    }

    /// After a batch of `taken` records was written: hands bytes over,
    /// reports progress, checks signals.
    pub(super) fn written(
        &mut self,
        py: Python<'_>,
        taken: u64,
        summary: &lora_export::ExportSummary,
    ) -> PyResult<()> {
        self.done += taken;
        self.drain(py)?;
        self.progress.update(py, self.done, taken, self.total, summary)?;
        py.check_signals()
    }

    /// A Python iterable to the end in a pipeline: this thread converts the
    /// next batch with the GIL while a second thread writes the last one
    /// without it, so both cores work (at most three batches in memory: one
    /// being converted, one waiting, one being written). Progress and the
    /// bytes for a Python file object follow one batch behind.
    pub(super) fn pipeline(&mut self, py: Python<'_>) -> PyResult<()> {
        let mut writer = self
            .writer
            .take()
            .ok_or_else(|| PyRuntimeError::new_err("this export has already ended"))?;
        let (batches, inbox) = std::sync::mpsc::sync_channel::<Vec<Record>>(1);
        let (reports, outbox) = std::sync::mpsc::channel();
        let (fed, writer) = std::thread::scope(|scope| {
            let worker = scope.spawn(move || {
                for items in inbox {
                    let taken = items.len() as u64;
                    let report =
                        push_items(&mut writer, items).map(|()| (taken, writer.summary().clone()));
                    let failed = report.is_err();
                    if reports.send(report).is_err() || failed {
                        break;
                    }
                }
                writer
            });
            let fed = self.feed(py, batches, outbox);
            // The sender is gone (fed or failed): the worker ends its batch.
            let writer = py.detach(|| worker.join());
            (fed, writer)
        });
        self.writer =
            Some(writer.map_err(|_| PyRuntimeError::new_err("the export's writer panicked"))?);
        fed
    }

    /// The converting side of [`pipeline`](Self::pipeline): every batch
    /// into `batches`, each report from `outbox` handled as it comes.
    pub(super) fn feed(
        &mut self,
        py: Python<'_>,
        batches: std::sync::mpsc::SyncSender<Vec<Record>>,
        mut outbox: std::sync::mpsc::Receiver<Report>,
    ) -> PyResult<()> {
        let mut in_flight = 0u64;
        let mut more = true;
        while more {
            let items;
            (items, more) = self.input.gather(py)?;
            let sent = py.detach(|| batches.send(items));
            in_flight += 1;
            if sent.is_err() {
                // The worker stopped on an error: its report says which.
                break;
            }
            while let Ok(report) = outbox.try_recv() {
                in_flight -= 1;
                let (taken, summary) = report.map_err(err)?;
                self.written(py, taken, &summary)?;
            }
        }
        drop(batches);
        for _ in 0..in_flight {
            let report;
            (report, outbox) = py.detach(move || (outbox.recv(), outbox));
            let Ok(report) = report else { break };
            let (taken, summary) = report.map_err(err)?;
            self.written(py, taken, &summary)?;
        }
        Ok(())
    }

    /// Runs to the end (or removes what it wrote and re-raises).
    pub(super) fn run(mut self, py: Python<'_>) -> PyResult<(lora_export::ExportSummary, Target)> {
        let result = (|| {
            if matches!(self.input, Input::Python { .. }) {
                self.pipeline(py)?;
            } else {
                while self.step(py)? {}
            }
            self.finish(py)
        })();
        match result {
            Ok(summary) => Ok((summary, self.out)),
            Err(e) => {
                self.abandon(py);
                Err(e)
            }
        }
    }
}
