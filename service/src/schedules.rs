//! When the maintenance tasks run: cron schedules (UTC) per task, plain
//! options of the [`ServiceConfig`](crate::ServiceConfig); running them is
//! `ops/schedule.rs`.

use lora_export_core::ErrorKind as CoreKind;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Result;

/// A maintenance task the workers run on a schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaintenanceTask {
    /// [`ExportService::mark_expired_exports`].
    ExpireExports,
    /// [`ExportService::cleanup_expired`]: expired and failed exports'
    /// files, and abandoned uploads.
    CleanupFiles,
    /// [`ExportService::purge_old_logs`]: logs past `retention_days`.
    PurgeLogs,
}

impl MaintenanceTask {
    /// Every task, in the order a worker runs due ones.
    pub const ALL: [MaintenanceTask; 3] =
        [MaintenanceTask::ExpireExports, MaintenanceTask::CleanupFiles, MaintenanceTask::PurgeLogs];

    /// The name stored in `export_schedule_runs.task`.
    ///
    /// ```
    /// use lora_export_service::MaintenanceTask;
    /// assert_eq!(MaintenanceTask::CleanupFiles.as_str(), "cleanup_files");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            MaintenanceTask::ExpireExports => "expire_exports",
            MaintenanceTask::CleanupFiles => "cleanup_files",
            MaintenanceTask::PurgeLogs => "purge_logs",
        }
    }

    pub(crate) fn parse(name: &str) -> Option<MaintenanceTask> {
        MaintenanceTask::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

/// When a task runs: a cron expression, in UTC. Five fields are a crontab
/// line (minute hour day-of-month month day-of-week); six or seven add
/// seconds first (and a year last).
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use lora_export_service::Schedule;
/// let daily = Schedule::parse("0 2 * * *").unwrap();
/// let now = Utc.with_ymd_and_hms(2026, 12, 3, 7, 30, 0).unwrap();
/// assert_eq!(daily.latest_before(now), Some(Utc.with_ymd_and_hms(2026, 12, 3, 2, 0, 0).unwrap()));
/// assert_eq!(daily.next_after(now), Some(Utc.with_ymd_and_hms(2026, 12, 4, 2, 0, 0).unwrap()));
/// assert!(Schedule::parse("at two").is_err());
/// ```
#[derive(Clone)]
pub struct Schedule {
    expression: String,
    cron: cron::Schedule,
}

impl Schedule {
    /// Parses a cron expression.
    ///
    /// # Errors
    ///
    /// [`CoreKind::Config`] naming the expression and what is wrong.
    pub fn parse(expression: &str) -> Result<Schedule> {
        let expression = expression.split_whitespace().collect::<Vec<_>>().join(" ");
        let fields = expression.split(' ').count();
        let full = match fields {
            5 => format!("0 {expression}"),
            6 | 7 => expression.clone(),
            _ => {
                return Err(CoreKind::Config(format!(
                    "schedule `{expression}` has {fields} fields: use a crontab line (5 fields) or add seconds (6)"
                ))
                .into())
            }
        };
        let cron = cron::Schedule::from_str(&full)
            .map_err(|e| CoreKind::Config(format!("schedule `{expression}`: {e}")))?;
        if cron.after(&Utc::now()).next().is_none() {
            return Err(
                CoreKind::Config(format!("schedule `{expression}` never fires again")).into()
            );
        }
        Ok(Schedule { expression, cron })
    }

    /// The expression as given (whitespace normalised).
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The latest fire time strictly before `now`: the period a worker
    /// looking at the clock at `now` makes sure has run.
    pub fn latest_before(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.after(&now).next_back()
    }

    /// The first fire time strictly after `now`.
    pub fn next_after(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.after(&now).next()
    }
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        self.expression == other.expression
    }
}

impl std::fmt::Debug for Schedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Schedule").field(&self.expression).finish()
    }
}

/// The schedule of each maintenance task; `None` turns one off.
///
/// The defaults follow the seeds: file cleanup daily at 02:00 UTC, log
/// retention monthly (the 1st, 03:00 UTC), and expiry marking hourly (the
/// seeds mark expiry in the daily cleanup, which still does; hourly keeps
/// the history's status within the hour — a download past the expiry is
/// refused at once either way).
///
/// ```
/// use lora_export_service::{MaintenanceSchedules, MaintenanceTask};
/// let schedules = MaintenanceSchedules::default();
/// assert_eq!(schedules.get(MaintenanceTask::CleanupFiles).unwrap().expression(), "0 2 * * *");
/// assert_eq!(schedules.get(MaintenanceTask::PurgeLogs).unwrap().expression(), "0 3 1 * *");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MaintenanceSchedules {
    /// Expiry marking (env `LORA_EXPORT_SCHEDULE_EXPIRE`, default `0 * * * *`).
    pub expire_exports: Option<Schedule>,
    /// File cleanup (env `LORA_EXPORT_SCHEDULE_CLEANUP`, default `0 2 * * *`).
    pub cleanup_files: Option<Schedule>,
    /// Log retention (env `LORA_EXPORT_SCHEDULE_RETENTION`, default `0 3 1 * *`).
    pub purge_logs: Option<Schedule>,
}

impl Default for MaintenanceSchedules {
    fn default() -> Self {
        let fixed = |e: &str| Some(Schedule::parse(e).expect("a default schedule parses"));
        MaintenanceSchedules {
            expire_exports: fixed("0 * * * *"),
            cleanup_files: fixed("0 2 * * *"),
            purge_logs: fixed("0 3 1 * *"),
        }
    }
}

impl MaintenanceSchedules {
    /// No task runs on its own (an app that calls them from its own cron).
    pub fn off() -> Self {
        MaintenanceSchedules { expire_exports: None, cleanup_files: None, purge_logs: None }
    }

    /// The schedule of `task`.
    pub fn get(&self, task: MaintenanceTask) -> Option<&Schedule> {
        match task {
            MaintenanceTask::ExpireExports => self.expire_exports.as_ref(),
            MaintenanceTask::CleanupFiles => self.cleanup_files.as_ref(),
            MaintenanceTask::PurgeLogs => self.purge_logs.as_ref(),
        }
    }

    /// Reads the three environment variables above through `lookup`; `off`
    /// turns a task off.
    pub(crate) fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self> {
        let mut schedules = MaintenanceSchedules::default();
        for (name, slot) in [
            ("LORA_EXPORT_SCHEDULE_EXPIRE", &mut schedules.expire_exports),
            ("LORA_EXPORT_SCHEDULE_CLEANUP", &mut schedules.cleanup_files),
            ("LORA_EXPORT_SCHEDULE_RETENTION", &mut schedules.purge_logs),
        ] {
            match lookup(name).map(|v| v.trim().to_owned()) {
                None => {}
                Some(v) if v.eq_ignore_ascii_case("off") => *slot = None,
                Some(v) => {
                    *slot = Some(Schedule::parse(&v).map_err(|e| {
                        crate::Error::from(CoreKind::Config(format!("{name}: {e}")))
                    })?)
                }
            }
        }
        Ok(schedules)
    }

    /// The first fire time of any task strictly after `now`.
    pub fn next_after(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        MaintenanceTask::ALL
            .into_iter()
            .filter_map(|t| self.get(t).and_then(|s| s.next_after(now)))
            .min()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn a_crontab_line_fires_on_the_minute_and_seconds_are_optional() {
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 2, 0, 30).unwrap();
        let monthly = Schedule::parse("0 3 1 * *").unwrap();
        assert_eq!(
            monthly.latest_before(at),
            Some(Utc.with_ymd_and_hms(2026, 11, 1, 3, 0, 0).unwrap())
        );
        let every_two = Schedule::parse("*/2 * * * * *").unwrap();
        assert_eq!(
            every_two.next_after(at),
            Some(Utc.with_ymd_and_hms(2026, 12, 1, 2, 0, 32).unwrap())
        );
        assert_eq!(
            every_two.latest_before(at),
            Some(Utc.with_ymd_and_hms(2026, 12, 1, 2, 0, 28).unwrap())
        );
    }

    #[test]
    fn bad_expressions_are_config_errors_naming_the_expression() {
        for bad in ["", "* *", "61 * * * *", "0 2 * * * * * *", "0 0 0 1 1 * 2001"] {
            let err = Schedule::parse(bad).unwrap_err();
            assert_eq!(err.code(), "CONFIG_ERROR", "{bad}");
        }
        let err = Schedule::parse("61 * * * *").unwrap_err();
        assert!(err.to_string().contains("61 * * * *"), "{err}");
    }

    #[test]
    fn the_environment_sets_or_turns_off_each_schedule() {
        let env = |k: &str| match k {
            "LORA_EXPORT_SCHEDULE_CLEANUP" => Some("*/5 * * * * *".to_owned()),
            "LORA_EXPORT_SCHEDULE_RETENTION" => Some("off".to_owned()),
            _ => None,
        };
        let s = MaintenanceSchedules::from_lookup(&env).unwrap();
        assert_eq!(s.cleanup_files.unwrap().expression(), "*/5 * * * * *");
        assert_eq!(s.purge_logs, None);
        assert_eq!(s.expire_exports.unwrap().expression(), "0 * * * *");
        let bad = |k: &str| (k == "LORA_EXPORT_SCHEDULE_EXPIRE").then(|| "hourly".to_owned());
        let err = MaintenanceSchedules::from_lookup(&bad).unwrap_err();
        assert!(err.to_string().contains("LORA_EXPORT_SCHEDULE_EXPIRE"), "{err}");
    }
}
