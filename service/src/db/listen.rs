//! Wake-ups for idle workers: a connection of its own, outside the pool,
//! that `LISTEN`s on the schema's job channel. A trigger on `export_jobs`
//! (migration 10) notifies it when a job is queued.
//!
//! Notifications need a session: a transaction-mode pooler would hand the
//! listening connection's server session to other clients, and the
//! notifications would be lost or reach them. Behind one
//! ([`Database::behind_transaction_pooler`]) no `LISTEN` is attempted and
//! workers only poll. Workers poll every `poll_interval` in any case, which
//! is also how they find a retry whose backoff passed and a dead worker's
//! job.

use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::Notify;
use tokio_postgres::tls::TlsStream;
use tokio_postgres::{AsyncMessage, Client, Connection, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

use lora_export_core::ErrorKind as CoreKind;

use super::Database;
use crate::Result;

/// How a listening connection is opened: the pool's settings and TLS.
#[derive(Clone)]
pub(crate) struct ListenTarget {
    pub(crate) config: tokio_postgres::Config,
    pub(crate) tls: Option<MakeRustlsConnect>,
}

/// A live `LISTEN` on the job channel.
pub(crate) struct JobListener {
    woken: Arc<Notify>,
    alive: Arc<AtomicBool>,
    _client: Client,
}

impl JobListener {
    /// Waits for a notification; one that came while nobody waited is kept,
    /// so none is missed between a claim that found nothing and this wait.
    /// Returns at once, and then always, when the connection is gone.
    pub(crate) async fn notified(&self) {
        if self.is_alive() {
            self.woken.notified().await;
        }
    }

    /// Whether the connection still stands (else the worker only polls).
    pub(crate) fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Acquire)
    }
}

impl Database {
    /// Opens a connection and listens on `lora_export_jobs:<schema>`.
    pub(crate) async fn listen_for_jobs(&self) -> Result<JobListener> {
        if self.behind_transaction_pooler() {
            return Err(CoreKind::Config(
                "LISTEN cannot work through a transaction-mode pooler: workers poll".into(),
            )
            .into());
        }
        let target = self.listen_target();
        let woken = Arc::new(Notify::new());
        let alive = Arc::new(AtomicBool::new(true));
        let client = match &target.tls {
            None => {
                let (client, connection) = target.config.connect(NoTls).await?;
                drive(connection, Arc::clone(&woken), Arc::clone(&alive));
                client
            }
            Some(tls) => {
                let (client, connection) = target.config.connect(tls.clone()).await?;
                drive(connection, Arc::clone(&woken), Arc::clone(&alive));
                client
            }
        };
        client.batch_execute(&format!("LISTEN \"lora_export_jobs:{}\"", self.schema())).await?;
        Ok(JobListener { woken, alive, _client: client })
    }
}

/// Runs the connection, turning each notification into a wake-up, until it
/// closes (its client dropped or the server gone).
fn drive<S, T>(mut connection: Connection<S, T>, woken: Arc<Notify>, alive: Arc<AtomicBool>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    T: TlsStream + AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        while let Some(Ok(message)) = poll_fn(|cx| connection.poll_message(cx)).await {
            if let AsyncMessage::Notification(_) = message {
                woken.notify_one();
            }
        }
        alive.store(false, Ordering::Release);
        woken.notify_one();
    });
}
