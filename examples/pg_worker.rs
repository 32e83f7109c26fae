//! A background export worker process on the database of the environment.
//!
//! ```text
//! DATABASE_URL=postgres://… LORA_EXPORT_STORAGE_URL=s3://bucket/prefix AWS_ENDPOINT_URL=… \
//!   cargo run --features postgres --example pg_worker -- [--max-jobs N] [--throttle-ms MS] [--id NAME]
//! ```
//!
//! Configuration comes from the environment (see `ServiceConfig`). It runs
//! jobs until `--max-jobs` were claimed (default: forever); `--throttle-ms`
//! pauses after each batch. Start as many as you like, on any machine: they
//! share the queue, wake when a job is queued (LISTEN/NOTIFY, polling as the
//! fallback) and run the maintenance schedules (`LORA_EXPORT_SCHEDULE_*`),
//! each period on one of them. Files go to `LORA_EXPORT_STORAGE_URL` (an S3
//! bucket, with the `AWS_*` variables) or `LORA_EXPORT_STORAGE_ROOT` (local
//! disk). The crash-recovery and scale-out tests kill one with SIGKILL midway.

use std::time::Duration;

use lora_export::pg::{ExportService, ServiceConfig, WorkerOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut options = WorkerOptions::new(format!("pg_worker-{}", std::process::id()));
    options.poll_interval = Duration::from_millis(200);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--max-jobs" => options.max_jobs = Some(value.parse()?),
            "--throttle-ms" => options.throttle = Some(Duration::from_millis(value.parse()?)),
            "--id" => options.worker_id = value,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let service = ExportService::connect(ServiceConfig::from_env()?)?;
    eprintln!("worker {} started", options.worker_id);
    let report = service.run_worker(options).await?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
