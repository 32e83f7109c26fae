//! Metrics in the Prometheus text exposition format (issue 37), against a
//! real PostgreSQL: every figure the seeds ask for is there, with bounded
//! label sets, and the text passes a strict reading of the format.

#[path = "support/pg.rs"]
mod pg;
#[path = "support/service.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use support::*;

/// One sample: metric name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

/// Reads `text` as the exposition format 0.0.4 strictly: every line a
/// `# HELP`, a `# TYPE` (once per family, before its samples) or a sample
/// of a declared family; names and labels well formed, label values
/// escaped, values numbers; histogram buckets cumulative up to `+Inf`,
/// which equals `_count`.
fn parse(text: &str) -> (BTreeMap<String, String>, Vec<Sample>) {
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.chars().enumerate().all(|(i, c)| {
                c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit())
            })
    };
    let mut types = BTreeMap::new();
    let mut samples = Vec::new();
    assert!(text.ends_with('\n'), "the text ends with a line feed");
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(name_ok(name), "{line}");
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            assert!(
                types.insert(name.to_owned(), kind.to_owned()).is_none(),
                "declared twice: {line}"
            );
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            assert!(name_ok(rest.split_once(' ').unwrap().0), "{line}");
            continue;
        }
        assert!(!line.starts_with('#') && !line.is_empty(), "stray line: {line:?}");
        let (series, value) = line.rsplit_once(' ').unwrap();
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("value of {line}")),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series, BTreeMap::new()),
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').unwrap_or_else(|| panic!("{line}"));
                let mut labels = BTreeMap::new();
                let mut chars = body.chars().peekable();
                while chars.peek().is_some() {
                    let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
                    assert!(name_ok(&key), "label name in {line}");
                    assert_eq!(chars.next(), Some('"'), "{line}");
                    let mut value = String::new();
                    loop {
                        match chars.next().unwrap_or_else(|| panic!("unterminated: {line}")) {
                            '\\' => match chars.next() {
                                Some('\\') => value.push('\\'),
                                Some('"') => value.push('"'),
                                Some('n') => value.push('\n'),
                                other => panic!("bad escape {other:?} in {line}"),
                            },
                            '"' => break,
                            c => value.push(c),
                        }
                    }
                    assert!(labels.insert(key, value).is_none(), "{line}");
                    match chars.next() {
                        None | Some(',') => {}
                        other => panic!("{other:?} after a label in {line}"),
                    }
                }
                (name, labels)
            }
        };
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s).filter(|f| types.get(*f).is_some_and(|t| t == "histogram"))
            })
            .unwrap_or(name);
        assert!(types.contains_key(family), "sample before its # TYPE: {line}");
        samples.push((name.to_owned(), labels, value));
    }
    for (family, _) in types.iter().filter(|(_, t)| *t == "histogram") {
        let mut series: BTreeMap<BTreeMap<String, String>, Vec<(f64, f64)>> = BTreeMap::new();
        for (name, labels, value) in &samples {
            if *name == format!("{family}_bucket") {
                let mut rest = labels.clone();
                let le = rest.remove("le").unwrap();
                let le = if le == "+Inf" { f64::INFINITY } else { le.parse().unwrap() };
                series.entry(rest).or_default().push((le, *value));
            }
        }
        for (labels, buckets) in series {
            assert!(
                buckets.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1),
                "{family} {labels:?}"
            );
            let (le, inf) = *buckets.last().unwrap();
            assert!(le.is_infinite(), "{family} ends with +Inf");
            let count =
                samples.iter().find(|(n, l, _)| *n == format!("{family}_count") && *l == labels);
            assert_eq!(count.map(|s| s.2), Some(inf), "{family} {labels:?}: +Inf is _count");
        }
    }
    (types, samples)
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|(n, l, _)| {
            n == name && labels.iter().all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.2)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_prometheus_text_holds_every_figure_with_bounded_labels() {
    let (service, _) = service().await;
    let (alice, bob) = (user(&service).await, user(&service).await);
    service.create_export(alice, &small_body("jsonl")).await.unwrap();
    service.create_export(alice, &small_body("csv")).await.unwrap();
    service.create_export(bob, &small_body("jsonl")).await.unwrap();
    let queued = service.create_export(bob, &body("all", "json")).await.unwrap();
    assert_eq!(queued.http_status(), 202);
    service.record_request("create", 201, Duration::from_millis(30));
    service.record_request("create", 429, Duration::from_millis(2));
    service.record_request("status", 200, Duration::from_millis(4));
    for i in 0..100 {
        service.record_request(&format!("made_up_{i}"), 404, Duration::from_millis(1));
    }
    service.record_request("a \"quoted\"\nname", 200, Duration::from_millis(1));

    let text = service.prometheus_metrics().await.unwrap();
    let (types, samples) = parse(&text);
    assert_eq!(types["lora_export_export_duration_seconds"], "histogram");
    assert_eq!(types["lora_export_requests_total"], "counter");
    assert_eq!(
        value(&samples, "lora_export_exports", &[("format", "jsonl"), ("status", "completed")]),
        Some(2.0)
    );
    assert_eq!(
        value(&samples, "lora_export_exports", &[("format", "json"), ("status", "queued")]),
        Some(1.0)
    );
    assert_eq!(
        value(&samples, "lora_export_export_duration_seconds_count", &[("format", "jsonl")]),
        Some(2.0)
    );
    assert_eq!(value(&samples, "lora_export_files", &[("format", "jsonl")]), Some(2.0));
    let max = value(&samples, "lora_export_file_size_max_bytes", &[("format", "csv")]).unwrap();
    assert!(max > 100.0, "{max}");
    let storage = value(&samples, "lora_export_storage_bytes", &[]).unwrap();
    let stored: i64 = service
        .database()
        .client()
        .await
        .unwrap()
        .query_one("SELECT sum(file_size)::bigint FROM export_logs WHERE status = 'completed'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(storage, stored as f64);
    assert_eq!(value(&samples, "lora_export_exports_per_user_bucket", &[("le", "1")]), Some(0.0));
    assert_eq!(value(&samples, "lora_export_exports_per_user_bucket", &[("le", "2")]), Some(2.0));
    assert_eq!(value(&samples, "lora_export_exports_per_user_sum", &[]), Some(4.0));
    assert_eq!(value(&samples, "lora_export_queue_depth", &[]), Some(1.0));
    assert!(value(&samples, "lora_export_oldest_queued_seconds", &[]).is_some());
    assert_eq!(value(&samples, "lora_export_live_workers", &[]), Some(0.0));
    assert_eq!(
        value(&samples, "lora_export_requests_total", &[("route", "create"), ("status", "4xx")]),
        Some(1.0)
    );
    assert_eq!(
        value(
            &samples,
            "lora_export_request_duration_seconds_bucket",
            &[("route", "create"), ("le", "0.05")]
        ),
        Some(2.0)
    );
    let routes: BTreeSet<&str> = samples
        .iter()
        .filter(|(n, _, _)| n == "lora_export_requests_total")
        .map(|(_, l, _)| l["route"].as_str())
        .collect();
    assert_eq!(routes.len(), lora_export::pg::MAX_ROUTES + 1, "bounded: {routes:?}");
    assert!(routes.contains("other"));
    assert!(samples.iter().all(|(_, l, _)| !l.contains_key("user") && !l.contains_key("user_id")));
    let metrics = service.metrics(chrono::Utc::now() - chrono::Duration::hours(1)).await.unwrap();
    assert_eq!(
        (metrics.storage_bytes, metrics.queue_depth),
        (stored as u64, 1),
        "the same numbers"
    );
}
