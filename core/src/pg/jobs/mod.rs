//! Running exports: one run of an export under its job lease (`run`), and
//! the background workers that claim, heartbeat, retry and rescue jobs
//! (`worker`).

pub(crate) mod run;
mod worker;

pub use run::CompletedExport;
pub use worker::{WorkerOptions, WorkerReport};
