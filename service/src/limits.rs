//! Fair shares per user, held in this process (each service instance
//! counts its own): the export modal's costly reads — `count_scopes`,
//! `preview_export`, `list_conversations`, and so every search — take a
//! token of the user's rate bucket (`interactive_rate_per_minute`, refilled
//! continuously) and one of `interactive_concurrency` slots while they run;
//! a download that streams bytes holds one of `downloads_per_user` slots
//! until it ends (read to its end, dropped, or closed idle). The next one
//! answers 429 (`RATE_LIMITED`) with `retry_after`, before any database work.
//!
//! A user's entry is dropped once nothing of theirs runs and their bucket
//! is full again, so the table holds the users active in the last minute.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::ServiceConfig;
use crate::{ErrorKind, Result};

/// Users whose idle entries are swept on the next new user, at least.
const SWEEP_AT: usize = 1024;

/// The per-user counters of one service.
#[derive(Debug)]
pub(crate) struct UserLimits {
    rate_per_minute: u32,
    concurrency: u32,
    downloads: u32,
    users: Mutex<Users>,
}

#[derive(Debug)]
struct Users {
    by_id: HashMap<Uuid, Usage>,
    sweep_at: usize,
}

/// One user's share: bucket tokens as of `refilled`, and what runs now.
#[derive(Debug)]
struct Usage {
    tokens: f64,
    refilled: Instant,
    reads: u32,
    downloads: u32,
}

/// What a [`Slot`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Read,
    Download,
}

/// A running read or download of a user; dropping it frees the slot.
#[derive(Debug)]
pub(crate) struct Slot {
    limits: Arc<UserLimits>,
    user: Uuid,
    kind: Kind,
}

impl UserLimits {
    pub(crate) fn new(config: &ServiceConfig) -> Arc<UserLimits> {
        Arc::new(UserLimits {
            rate_per_minute: config.interactive_rate_per_minute,
            concurrency: config.interactive_concurrency,
            downloads: config.downloads_per_user,
            users: Mutex::new(Users { by_id: HashMap::new(), sweep_at: SWEEP_AT }),
        })
    }

    /// A costly read of `user`: a token of the bucket and a running slot.
    ///
    /// # Errors
    ///
    /// `RATE_LIMITED` (429) when `interactive_concurrency` reads of the user
    /// run, or the bucket is empty (`retry_after`: when a token is back).
    pub(crate) fn read(self: &Arc<Self>, user: Uuid) -> Result<Slot> {
        let mut users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        let usage = self.usage(&mut users, user, now);
        if usage.reads >= self.concurrency {
            return Err(throttled(
                format!("{} searches, counts or previews running at once", self.concurrency),
                1,
            ));
        }
        if usage.tokens < 1.0 {
            let wait = (1.0 - usage.tokens) * 60.0 / f64::from(self.rate_per_minute);
            return Err(throttled(
                format!("{} searches, counts or previews per minute", self.rate_per_minute),
                wait.ceil().max(1.0) as u64,
            ));
        }
        usage.tokens -= 1.0;
        usage.reads += 1;
        Ok(Slot { limits: Arc::clone(self), user, kind: Kind::Read })
    }

    /// A download of `user` that streams bytes.
    ///
    /// # Errors
    ///
    /// `RATE_LIMITED` (429) when `downloads_per_user` of the user stream.
    pub(crate) fn download(self: &Arc<Self>, user: Uuid) -> Result<Slot> {
        let mut users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        let usage = self.usage(&mut users, user, Instant::now());
        if usage.downloads >= self.downloads {
            return Err(throttled(format!("{} downloads at once", self.downloads), 1));
        }
        usage.downloads += 1;
        Ok(Slot { limits: Arc::clone(self), user, kind: Kind::Download })
    }

    /// `user`'s entry, its bucket refilled to `now` (a new user's full).
    fn usage<'a>(&self, users: &'a mut Users, user: Uuid, now: Instant) -> &'a mut Usage {
        if !users.by_id.contains_key(&user) && users.by_id.len() >= users.sweep_at {
            users.by_id.retain(|_, usage| !self.idle(usage, now));
            users.sweep_at = (users.by_id.len() * 2).max(SWEEP_AT);
        }
        let full = f64::from(self.rate_per_minute);
        let usage = users.by_id.entry(user).or_insert(Usage {
            tokens: full,
            refilled: now,
            reads: 0,
            downloads: 0,
        });
        let minutes = now.saturating_duration_since(usage.refilled).as_secs_f64() / 60.0;
        usage.tokens = (usage.tokens + minutes * full).min(full);
        usage.refilled = now;
        usage
    }

    /// Nothing runs and the bucket would be full: the entry can go.
    fn idle(&self, usage: &Usage, now: Instant) -> bool {
        let full = f64::from(self.rate_per_minute);
        let refill = Duration::from_secs_f64((full - usage.tokens).max(0.0) * 60.0 / full);
        usage.reads == 0 && usage.downloads == 0 && usage.refilled + refill <= now
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut users = self.limits.users.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(usage) = users.by_id.get_mut(&self.user) else { return };
        match self.kind {
            Kind::Read => usage.reads = usage.reads.saturating_sub(1),
            Kind::Download => usage.downloads = usage.downloads.saturating_sub(1),
        }
        if self.limits.idle(usage, Instant::now()) {
            users.by_id.remove(&self.user);
        }
    }
}

fn throttled(what: String, retry_after_secs: u64) -> crate::Error {
    ErrorKind::Throttled { what, retry_after_secs }.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(rate: u32, concurrency: u32, downloads: u32) -> Arc<UserLimits> {
        let mut config = ServiceConfig::new("postgres://localhost/app");
        config.interactive_rate_per_minute = rate;
        config.interactive_concurrency = concurrency;
        config.downloads_per_user = downloads;
        UserLimits::new(&config)
    }

    #[test]
    fn reads_are_bounded_at_once_and_per_minute_for_each_user() {
        let limits = limits(3, 2, 1);
        let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
        let running = [limits.read(alice).unwrap(), limits.read(alice).unwrap()];
        let at_once = limits.read(alice).unwrap_err();
        assert_eq!((at_once.code(), at_once.http_status()), ("RATE_LIMITED", 429));
        assert!(at_once.to_string().contains("at once"), "{at_once}");
        drop(running);
        drop(limits.read(alice).unwrap());
        let per_minute = limits.read(alice).unwrap_err();
        assert!(per_minute.to_string().contains("per minute"), "{per_minute}");
        assert_eq!(per_minute.retry_after_secs(), Some(20), "a token every 20 s");
        assert!(limits.read(bob).is_ok(), "another user has a bucket of their own");
    }

    #[test]
    fn a_download_slot_is_freed_when_dropped_and_idle_users_are_forgotten() {
        let limits = limits(60, 2, 1);
        let alice = Uuid::new_v4();
        let download = limits.download(alice).unwrap();
        assert_eq!(limits.download(alice).unwrap_err().retry_after_secs(), Some(1));
        drop(download);
        drop(limits.download(alice).unwrap());
        assert!(limits.users.lock().unwrap().by_id.is_empty(), "nothing of an idle user is kept");
        drop(limits.read(alice).unwrap());
        assert_eq!(limits.users.lock().unwrap().by_id.len(), 1, "kept until the bucket refills");
    }
}
