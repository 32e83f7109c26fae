//! The [`MetricsReport`] in the Prometheus text exposition format (0.0.4):
//! what a metrics route serves to a scraper. Every figure is a gauge over
//! the window of the report (the last [`PROMETHEUS_WINDOW`] for
//! [`ExportService::prometheus_metrics`]) or over the state now, except the
//! request counts and latencies, which count since this process started.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `lora_export_window_seconds` | gauge | |
//! | `lora_export_exports` | gauge | `format`, `status` |
//! | `lora_export_failure_rate` | gauge | |
//! | `lora_export_export_duration_seconds` | histogram | `format` |
//! | `lora_export_files` | gauge | `format` |
//! | `lora_export_file_size_avg_bytes`, `lora_export_file_size_max_bytes` | gauge | `format` |
//! | `lora_export_storage_bytes` | gauge | |
//! | `lora_export_exports_per_user` | histogram | |
//! | `lora_export_queue_depth`, `lora_export_running_jobs` | gauge | |
//! | `lora_export_oldest_queued_seconds`, `lora_export_longest_running_seconds` | gauge | |
//! | `lora_export_live_workers` | gauge | |
//! | `lora_export_requests_total` | counter | `route`, `status` (`2xx` … `5xx`) |
//! | `lora_export_request_duration_seconds` | histogram | `route` |

use std::fmt::Write;
use std::time::Duration;

use crate::events::Histogram;
use crate::ops::metrics::MetricsReport;
use crate::{ExportService, Result};

/// The window of [`ExportService::prometheus_metrics`]: the last hour.
pub const PROMETHEUS_WINDOW: Duration = Duration::from_secs(3600);

impl ExportService {
    /// The [metrics](Self::metrics) of the last hour in the Prometheus text
    /// exposition format (`text/plain; version=0.0.4`).
    pub async fn prometheus_metrics(&self) -> Result<String> {
        let window = chrono::Duration::from_std(PROMETHEUS_WINDOW).unwrap_or_default();
        let report = self.metrics(chrono::Utc::now() - window).await?;
        Ok(render(&report, PROMETHEUS_WINDOW))
    }
}

/// `report` as Prometheus text, its window `window` long.
///
/// ```
/// # use lora_export_service::*;
/// # let report: MetricsReport = serde_json::from_value(serde_json::json!({
/// #   "since": "2026-01-01T00:00:00Z", "completed": 1, "failed": 0, "success_rate": 1.0,
/// #   "avg_duration_ms": [], "format_distribution": {}, "volume_per_hour": [], "queue_depth": 2,
/// #   "running_jobs": 0, "oldest_queued_secs": 0, "live_workers": 1, "last_worker_seen_at": null,
/// #   "failure_rate_alert": false, "maintenance": [], "exports_by_status": [], "durations": [],
/// #   "file_sizes": [], "storage_bytes": 10, "longest_running_secs": 0, "requests": [],
/// #   "exports_per_user": {"label": "", "buckets": [[1.0, 1]], "sum": 1.0, "count": 1}})).unwrap();
/// let text = render_prometheus(&report, std::time::Duration::from_secs(3600));
/// assert!(text.contains("\nlora_export_queue_depth 2\n"));
/// assert!(text.contains("lora_export_exports_per_user_bucket{le=\"+Inf\"} 1\n"));
/// ```
pub fn render_prometheus(report: &MetricsReport, window: Duration) -> String {
    render(report, window)
}

fn render(r: &MetricsReport, window: Duration) -> String {
    let mut out = String::new();
    let o = &mut out;
    gauge(o, "window_seconds", "The window the other gauges cover, in seconds.");
    sample(o, "window_seconds", &[], window.as_secs_f64());
    gauge(o, "exports", "Exports requested in the window, by format and current status.");
    for c in &r.exports_by_status {
        sample(o, "exports", &[("format", &c.format), ("status", &c.status)], c.exports as f64);
    }
    gauge(o, "failure_rate", "Failed over finished exports in the window.");
    sample(o, "failure_rate", &[], 1.0 - r.success_rate);
    header(o, "export_duration_seconds", "histogram", "Run time of completed exports.");
    for h in &r.durations {
        histogram(o, "export_duration_seconds", Some(("format", &h.label)), h);
    }
    gauge(o, "files", "Files written in the window, by format.");
    for f in &r.file_sizes {
        sample(o, "files", &[("format", &f.format)], f.files as f64);
    }
    gauge(o, "file_size_avg_bytes", "Average file written in the window, by format.");
    for f in &r.file_sizes {
        sample(o, "file_size_avg_bytes", &[("format", &f.format)], f.avg_bytes);
    }
    gauge(o, "file_size_max_bytes", "Largest file written in the window, by format.");
    for f in &r.file_sizes {
        sample(o, "file_size_max_bytes", &[("format", &f.format)], f.max_bytes as f64);
    }
    gauge(o, "storage_bytes", "Bytes of every downloadable file now.");
    sample(o, "storage_bytes", &[], r.storage_bytes as f64);
    header(o, "exports_per_user", "histogram", "Users by exports requested in the window.");
    histogram(o, "exports_per_user", None, &r.exports_per_user);
    for (name, help, value) in [
        ("queue_depth", "Jobs waiting for a worker.", r.queue_depth),
        ("running_jobs", "Jobs running now.", r.running_jobs),
        ("oldest_queued_seconds", "Wait of the oldest job due.", r.oldest_queued_secs),
        ("longest_running_seconds", "Run time of the longest running job.", r.longest_running_secs),
        ("live_workers", "Workers seen within stale_after.", r.live_workers),
    ] {
        gauge(o, name, help);
        sample(o, name, &[], value as f64);
    }
    header(o, "requests_total", "counter", "Requests answered by route and status class.");
    for route in &r.requests {
        for (class, n) in &route.statuses {
            sample(o, "requests_total", &[("route", &route.route), ("status", class)], *n as f64);
        }
    }
    header(o, "request_duration_seconds", "histogram", "Request latency by route.");
    for route in &r.requests {
        histogram(o, "request_duration_seconds", Some(("route", &route.route)), &route.latency);
    }
    out
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP lora_export_{name} {help}\n# TYPE lora_export_{name} {kind}");
}

fn gauge(out: &mut String, name: &str, help: &str) {
    header(out, name, "gauge", help);
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    let _ = write!(out, "lora_export_{name}");
    if !labels.is_empty() {
        out.push('{');
        for (i, (key, value)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{key}=\"{}\"", escape(value));
        }
        out.push('}');
    }
    let _ = writeln!(out, " {}", number(value));
}

fn histogram(out: &mut String, name: &str, label: Option<(&str, &str)>, h: &Histogram) {
    let bucket = format!("{name}_bucket");
    for (le, n) in &h.buckets {
        let le = number(*le);
        let labels: Vec<(&str, &str)> = label.into_iter().chain([("le", le.as_str())]).collect();
        sample(out, &bucket, &labels, *n as f64);
    }
    let labels: Vec<(&str, &str)> = label.into_iter().chain([("le", "+Inf")]).collect();
    sample(out, &bucket, &labels, h.count as f64);
    let labels: Vec<(&str, &str)> = label.into_iter().collect();
    sample(out, &format!("{name}_sum"), &labels, h.sum);
    sample(out, &format!("{name}_count"), &labels, h.count as f64);
}

/// A label value escaped as the exposition format requires.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// A sample value: finite numbers as Rust prints them, else `NaN`/`±Inf`.
fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        let mut out = String::new();
        sample(&mut out, "x", &[("route", "a\"b\\c\nd")], 1.5);
        assert_eq!(out, "lora_export_x{route=\"a\\\"b\\\\c\\nd\"} 1.5\n");
    }
}
