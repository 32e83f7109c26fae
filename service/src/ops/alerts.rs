//! Alerts that reach someone: [`ExportService::evaluate_alerts`] checks the
//! seeds' thresholds against the [metrics](ExportService::metrics) of the
//! last hour and delivers each alert once per incident — to the error sink
//! (an [`ErrorReport`] with operation `alert` and code `ALERT_<KIND>`) and,
//! when `alert_webhook_url` is set, as a signed JSON POST.
//!
//! | kind | fires when |
//! |---|---|
//! | `failure_rate` | more than 10 % ([`FAILURE_RATE_ALERT`](super::FAILURE_RATE_ALERT)) of the exports finished in the last hour failed |
//! | `long_running` | an export has run longer than `alert_running` (60 s) |
//! | `storage` | the downloadable files hold more than `alert_storage_bytes` (10 GB) |
//! | `queue_stalled` | the oldest job due has waited longer than `alert_queue_age` (10 minutes) |
//! | `no_worker` | a job is due and no worker was seen within `stale_after` |
//!
//! Incidents live in `export_alerts` (migration 19): one row per kind. An
//! alert that fires while no incident of its kind is open opens one (a
//! single insert-or-update, so of several instances one opens it); one
//! instance claims its delivery; when the alert stops firing the incident
//! is resolved, and a later firing is a new incident. A delivery that fails
//! after [`WEBHOOK_ATTEMPTS`] attempts is reported to the error sink
//! (`ALERT_WEBHOOK_FAILED`) and claimed again by an evaluation five minutes
//! later. Workers evaluate every [`ALERT_EVERY`]; a deployment without
//! workers calls `evaluate_alerts` from its cron route.
//!
//! The webhook's body is JSON (`source`, `alert`, `incident_id`,
//! `fired_at`, `message`, `value`, `threshold`, `sent_at`), signed with
//! HMAC-SHA256 under `alert_webhook_secret`: header
//! `X-Lora-Export-Signature: sha256=<lowercase hex of the MAC of the raw body>`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::events::ErrorReport;
use crate::ops::metrics::FAILURE_RATE_ALERT;
use crate::{ExportService, Result};

/// How often a worker evaluates the alerts.
pub const ALERT_EVERY: Duration = Duration::from_secs(60);

/// Attempts of one webhook delivery, 0.5 s, 1 s, then 2 s apart.
pub const WEBHOOK_ATTEMPTS: u32 = 4;

/// The longest a webhook request may take.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// The header that carries the body's signature.
pub const SIGNATURE_HEADER: &str = "X-Lora-Export-Signature";

/// An alert that fires now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// `failure_rate`, `long_running`, `storage`, `queue_stalled` or `no_worker`.
    pub kind: String,
    /// What is wrong, for the person on call.
    pub message: String,
    /// The measured value (a rate, seconds, bytes, workers).
    pub value: f64,
    /// The threshold it passed.
    pub threshold: f64,
}

/// What one evaluation did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertReport {
    /// The alerts firing now.
    pub firing: Vec<Alert>,
    /// Incidents this evaluation opened (their ids).
    pub opened: Vec<Uuid>,
    /// Incidents this evaluation delivered.
    pub delivered: Vec<Uuid>,
    /// Incidents this evaluation resolved.
    pub resolved: Vec<Uuid>,
}

/// The kinds, each with its error-sink code.
const KINDS: [(&str, &str); 5] = [
    ("failure_rate", "ALERT_FAILURE_RATE"),
    ("long_running", "ALERT_LONG_RUNNING"),
    ("storage", "ALERT_STORAGE"),
    ("queue_stalled", "ALERT_QUEUE_STALLED"),
    ("no_worker", "ALERT_NO_WORKER"),
];

impl ExportService {
    /// Evaluates the alerts, opens and resolves incidents, and delivers the
    /// new ones (see the [module docs](self)).
    pub async fn evaluate_alerts(&self) -> Result<AlertReport> {
        let answer = self.alerts().await;
        self.observe_operator("evaluate_alerts", answer)
    }

    async fn alerts(&self) -> Result<AlertReport> {
        let config = self.config();
        let m = self.metrics(Utc::now() - chrono::Duration::hours(1)).await?;
        let mut firing = Vec::new();
        let finished = m.completed + m.failed;
        let rate = if finished == 0 { 0.0 } else { m.failed as f64 / finished as f64 };
        let mut fire = |kind: &str, on: bool, message: String, value: f64, threshold: f64| {
            if on {
                firing.push(Alert { kind: kind.to_owned(), message, value, threshold });
            }
        };
        fire(
            "failure_rate",
            rate > FAILURE_RATE_ALERT,
            format!("{} of {finished} exports failed in the last hour", m.failed),
            rate,
            FAILURE_RATE_ALERT,
        );
        let running = config.alert_running.as_secs();
        fire(
            "long_running",
            m.longest_running_secs > running,
            format!("an export has run for {} s (more than {running} s)", m.longest_running_secs),
            m.longest_running_secs as f64,
            running as f64,
        );
        fire(
            "storage",
            m.storage_bytes > config.alert_storage_bytes,
            format!(
                "the export files hold {} bytes (more than {})",
                m.storage_bytes, config.alert_storage_bytes
            ),
            m.storage_bytes as f64,
            config.alert_storage_bytes as f64,
        );
        let age = config.alert_queue_age.as_secs();
        fire(
            "queue_stalled",
            m.oldest_queued_secs > age,
            format!(
                "the oldest queued export has waited {} s (more than {age} s)",
                m.oldest_queued_secs
            ),
            m.oldest_queued_secs as f64,
            age as f64,
        );
        fire(
            "no_worker",
            m.live_workers == 0 && m.oldest_queued_secs > 0,
            format!("{} exports wait and no worker is alive", m.queue_depth),
            0.0,
            1.0,
        );
        let mut report = AlertReport { firing, ..AlertReport::default() };
        let client = self.database().client().await?;
        for (kind, _) in KINDS {
            match report.firing.iter().find(|a| a.kind == kind) {
                Some(alert) => {
                    let opened = client
                        .query_opt(
                            "INSERT INTO export_alerts (kind, incident_id, detail) VALUES ($1, $2, $3)
                             ON CONFLICT (kind) DO UPDATE SET incident_id = EXCLUDED.incident_id,
                               fired_at = now(), detail = EXCLUDED.detail, delivering_at = NULL,
                               delivered_at = NULL, resolved_at = NULL
                             WHERE export_alerts.resolved_at IS NOT NULL
                             RETURNING incident_id",
                            &[&kind, &Uuid::new_v4(), &serde_json::to_value(alert)?],
                        )
                        .await?;
                    report.opened.extend(opened.map(|r| r.get::<_, Uuid>(0)));
                }
                None => {
                    let resolved = client
                        .query_opt(
                            "UPDATE export_alerts SET resolved_at = now()
                             WHERE kind = $1 AND resolved_at IS NULL RETURNING incident_id",
                            &[&kind],
                        )
                        .await?;
                    report.resolved.extend(resolved.map(|r| r.get::<_, Uuid>(0)));
                }
            }
        }
        let claimed = client
            .query(
                "UPDATE export_alerts SET delivering_at = now()
                 WHERE resolved_at IS NULL AND delivered_at IS NULL
                   AND (delivering_at IS NULL OR delivering_at < now() - interval '5 minutes')
                 RETURNING kind, incident_id, fired_at, detail",
                &[],
            )
            .await?;
        drop(client);
        for row in claimed {
            let (kind, incident, fired_at): (String, Uuid, DateTime<Utc>) =
                (row.get(0), row.get(1), row.get(2));
            let alert: Alert = serde_json::from_value(row.get(3))?;
            if self.deliver(&kind, incident, fired_at, &alert).await {
                self.database()
                    .client()
                    .await?
                    .execute(
                        "UPDATE export_alerts SET delivered_at = now() WHERE incident_id = $1",
                        &[&incident],
                    )
                    .await?;
                report.delivered.push(incident);
            }
        }
        Ok(report)
    }

    /// Reports the incident to the error sink and posts it to the webhook;
    /// whether it reached the webhook (or there is none).
    async fn deliver(
        &self,
        kind: &str,
        incident: Uuid,
        fired_at: DateTime<Utc>,
        alert: &Alert,
    ) -> bool {
        let code = KINDS.iter().find(|(k, _)| *k == kind).map_or("ALERT", |(_, code)| code);
        self.report(ErrorReport {
            timestamp: Utc::now(),
            operation: "alert",
            code,
            error_id: Some(incident),
            export_id: None,
            attempt: None,
            detail: alert.message.clone(),
        });
        let config = self.config();
        let (Some(url), Some(secret)) = (&config.alert_webhook_url, &config.alert_webhook_secret)
        else {
            return true;
        };
        let body = json!({
            "source": "lora-export",
            "alert": kind,
            "incident_id": incident,
            "fired_at": fired_at,
            "message": alert.message,
            "value": alert.value,
            "threshold": alert.threshold,
            "sent_at": Utc::now(),
        })
        .to_string();
        let signature = format!("sha256={}", sign(secret.as_bytes(), body.as_bytes()));
        let mut failure = String::new();
        for attempt in 0..WEBHOOK_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(500 << (attempt - 1))).await;
            }
            let (url, body, signature) = (url.clone(), body.clone(), signature.clone());
            let posted = tokio::task::spawn_blocking(move || {
                ureq::post(&url)
                    .timeout(WEBHOOK_TIMEOUT)
                    .set("Content-Type", "application/json")
                    .set(SIGNATURE_HEADER, &signature)
                    .send_string(&body)
                    .map(drop)
                    .map_err(|e| e.to_string())
            })
            .await
            .unwrap_or_else(|e| Err(e.to_string()));
            match posted {
                Ok(()) => return true,
                Err(e) => failure = e,
            }
        }
        self.report(ErrorReport {
            timestamp: Utc::now(),
            operation: "alert",
            code: "ALERT_WEBHOOK_FAILED",
            error_id: Some(incident),
            export_id: None,
            attempt: Some(WEBHOOK_ATTEMPTS),
            detail: format!(
                "alert {kind} not delivered after {WEBHOOK_ATTEMPTS} attempts: {failure}"
            ),
        });
        false
    }
}

/// HMAC-SHA256 of `body` under `key`, lowercase hex: what a receiver
/// compares (in constant time) with the header's value after `sha256=`.
///
/// ```
/// let mac = lora_export_service::sign_alert(b"key", b"{}");
/// assert_eq!(mac.len(), 64);
/// ```
pub fn sign(key: &[u8], body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(body);
    lora_export_core::digest::hex(&mac.finalize().into_bytes())
}
