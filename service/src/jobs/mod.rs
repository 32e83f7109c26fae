//! Running exports: one run of an export under its job lease (`run`; a
//! dataset export's files through `dataset`), and the background workers
//! that claim, heartbeat, retry and rescue jobs (`worker`).

mod dataset;
pub(crate) mod run;
mod worker;

pub use run::CompletedExport;
pub(crate) use worker::JobEnd;
