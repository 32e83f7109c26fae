//! Alerts that reach someone (issue 37), against a real PostgreSQL and a
//! real HTTP receiver started here (a tokio TCP server speaking HTTP/1.1):
//! each alert is delivered once per incident, signed, retried after a
//! failed attempt, to the webhook and the error sink; two instances do not
//! deliver twice; a resolved alert can fire again as a new incident.

#[path = "support/pg.rs"]
mod pg;
#[path = "support/service.rs"]
mod support;

use std::sync::{Arc, Mutex};

use hmac::{Hmac, Mac};
use lora_export::pg::{ErrorReport, ExportService};
use serde_json::Value;
use support::*;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

const SECRET: &str = "an-alert-webhook-secret";

/// What the receiver got: each request's body, whether its signature
/// verified, and whether it was accepted (2xx).
type Received = Arc<Mutex<Vec<(Value, bool, bool)>>>;

/// Starts the receiver: it answers 500 to its first request (so the
/// sender retries) and 204 to every other, recording each.
async fn receiver() -> (String, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks/alerts", listener.local_addr().unwrap());
    let received: Received = Arc::default();
    let seen = Arc::clone(&received);
    tokio::spawn(async move {
        let mut requests = 0;
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            requests += 1;
            let accepted = requests > 1;
            let status = if accepted { "204 No Content" } else { "500 Internal Server Error" };
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut read = BufReader::new(read);
                let (mut length, mut signature) = (0usize, String::new());
                let mut line = String::new();
                read.read_line(&mut line).await.unwrap();
                assert!(line.starts_with("POST /hooks/alerts "), "{line}");
                loop {
                    line.clear();
                    read.read_line(&mut line).await.unwrap();
                    let Some((name, value)) = line.trim_end().split_once(": ") else { break };
                    match name.to_ascii_lowercase().as_str() {
                        "content-length" => length = value.parse().unwrap(),
                        "x-lora-export-signature" => signature = value.to_owned(),
                        _ => {}
                    }
                }
                let mut body = vec![0; length];
                read.read_exact(&mut body).await.unwrap();
                let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
                mac.update(&body);
                let hex = signature.strip_prefix("sha256=").unwrap_or_default();
                let bytes: Vec<u8> = (0..hex.len() / 2)
                    .filter_map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
                    .collect();
                let verified = mac.verify_slice(&bytes).is_ok();
                seen.lock().unwrap().push((
                    serde_json::from_slice(&body).unwrap(),
                    verified,
                    accepted,
                ));
                let answer =
                    format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                write.write_all(answer.as_bytes()).await.unwrap();
            });
        }
    });
    (url, received)
}

fn kinds(received: &Received) -> Vec<String> {
    let mut kinds: Vec<String> = received
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, _, accepted)| *accepted)
        .map(|(body, _, _)| body["alert"].as_str().unwrap().to_owned())
        .collect();
    kinds.sort();
    kinds
}

#[tokio::test(flavor = "multi_thread")]
async fn each_alert_reaches_the_webhook_and_the_sink_once_per_incident() {
    let (url, received) = receiver().await;
    let (service, _) = service_with(|c| {
        c.sync_threshold = 10;
        c.alert_webhook_url = Some(url.clone());
        c.alert_webhook_secret = Some(SECRET.into());
        c.alert_storage_bytes = 1;
    })
    .await;
    let reports: Arc<Mutex<Vec<ErrorReport>>> = Arc::default();
    let sink = Arc::clone(&reports);
    let sink: lora_export::pg::ErrorSink =
        Arc::new(move |r: &ErrorReport| sink.lock().unwrap().push(r.clone()));
    let service = service.with_error_sink(Arc::clone(&sink));
    let user = user(&service).await;
    let small = service.create_export(user, &small_body("jsonl")).await.unwrap().export_id();
    let queued = service.create_export(user, &body("all", "csv")).await.unwrap().export_id();
    admin_sql(
        service.database(),
        "UPDATE export_jobs SET run_after = now() - interval '20 minutes' WHERE export_id = $1",
        queued,
    )
    .await;

    // Two instances evaluate at once: each incident is opened and delivered once.
    let other = ExportService::connect(service.config().clone()).unwrap().with_error_sink(sink);
    let (a, b) = tokio::join!(service.evaluate_alerts(), other.evaluate_alerts());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.firing.len(), 3, "{a:?}");
    assert_eq!(a.opened.len() + b.opened.len(), 3, "{a:?} {b:?}");
    assert_eq!(a.delivered.len() + b.delivered.len(), 3);
    assert_eq!(
        kinds(&received),
        ["no_worker", "queue_stalled", "storage"],
        "the first 500 was retried"
    );
    assert!(received.lock().unwrap().iter().all(|(_, verified, _)| *verified), "signed");
    let body = received.lock().unwrap()[0].0.clone();
    assert_eq!(body["source"], "lora-export");
    assert!(body["incident_id"].is_string() && body["message"].is_string(), "{body}");
    let codes: Vec<&str> = reports.lock().unwrap().iter().map(|r| r.code).collect();
    assert_eq!(codes.iter().filter(|c| c.starts_with("ALERT_")).count(), codes.len());
    assert!(
        codes.contains(&"ALERT_QUEUE_STALLED") && codes.contains(&"ALERT_STORAGE"),
        "{codes:?}"
    );

    let again = service.evaluate_alerts().await.unwrap();
    assert!(again.opened.is_empty() && again.delivered.is_empty(), "{again:?}");
    assert_eq!(received.lock().unwrap().len(), 4, "once per incident (and the retried 500)");

    // The queue moves and the file goes: every incident resolves.
    assert_eq!(service.process_jobs(10).await.unwrap(), 1);
    service.delete(user, small).await.unwrap();
    service.delete(user, queued).await.unwrap();
    let calm = service.evaluate_alerts().await.unwrap();
    assert!(calm.firing.is_empty(), "{calm:?}");
    assert_eq!(calm.resolved.len(), 3);

    // It happens again: a new incident, delivered again.
    service.create_export(user, &small_body("csv")).await.unwrap();
    let storm = service.evaluate_alerts().await.unwrap();
    assert_eq!(storm.opened.len(), 1);
    assert_eq!(kinds(&received), ["no_worker", "queue_stalled", "storage", "storage"]);
    let storage: Vec<Value> = received
        .lock()
        .unwrap()
        .iter()
        .filter(|(b, _, accepted)| *accepted && b["alert"] == "storage")
        .map(|(b, _, _)| b["incident_id"].clone())
        .collect();
    assert_ne!(storage[0], storage[1], "a new incident");
    assert_audit_chain_intact(service.database()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_without_its_secret_is_a_config_error() {
    let mut config = pg::fresh_config().await;
    config.alert_webhook_url = Some("https://alerts.example/hook".into());
    let err = ExportService::connect(config.clone()).unwrap_err();
    assert_eq!(err.code(), "CONFIG_ERROR");
    assert!(err.to_string().contains("LORA_EXPORT_ALERT_WEBHOOK_SECRET"), "{err}");
    config.alert_webhook_secret = Some("short".into());
    assert!(ExportService::connect(config).unwrap_err().to_string().contains("16 bytes"));
}
