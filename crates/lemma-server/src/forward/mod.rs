//! Forwarding (`lemma serve --forward-otlp URL`): every request the server accepted, sent on
//! to another OTLP/HTTP backend as it was received (protobuf, from HTTP or gRPC alike).
//!
//! A request enters a queue on disk (`queue.rs`, in `<data dir>/forward/`) once its spans'
//! commit succeeded and before it is answered, so an acknowledged span is forwarded even
//! across a restart. It is encoded on its own task before the commit, so the commit only
//! appends bytes. A task delivers the queue in order: a failure it may retry (no answer, 408,
//! 429, 5xx) is retried with growing pauses, for as long as it takes; a refusal (another 4xx) is
//! logged and skipped. Ingest never waits for the other backend: appending to the queue is one
//! write to a file, and the queue is bounded in bytes (its oldest spans dropped, counted and
//! logged), so a backend down for days cannot fill the disk.

mod queue;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

pub use queue::DiskQueue;

/// Where and how spans are forwarded.
#[derive(Debug, Clone)]
pub struct ForwardConfig {
    /// The OTLP/HTTP traces endpoint, e.g. `https://collector:4318/v1/traces`.
    pub url: String,
    /// Sent with every request, e.g. `("authorization", "Bearer ...")`.
    pub headers: Vec<(String, String)>,
    /// The most the queue holds on disk.
    pub max_bytes: u64,
    /// The queue's folder.
    pub dir: PathBuf,
}

/// The longest pause between two attempts to deliver a request.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How often the queue's file is synced while there is nothing to deliver.
const SYNC_EVERY: Duration = Duration::from_secs(1);

pub struct Forwarder {
    queue: Mutex<DiskQueue>,
    wake: Notify,
}

impl Forwarder {
    /// Opens the queue and starts delivering it (on the current tokio runtime).
    pub fn start(config: ForwardConfig) -> anyhow::Result<Arc<Forwarder>> {
        let queue = DiskQueue::open(&config.dir, config.max_bytes)?;
        let forwarder = Arc::new(Forwarder {
            queue: Mutex::new(queue),
            wake: Notify::new(),
        });
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?;
        tokio::spawn(deliver(forwarder.clone(), client, config));
        Ok(forwarder)
    }

    /// Queues an export request whose spans were committed. A failure to write the queue is
    /// logged: the spans are stored, only their forwarding is lost.
    pub fn enqueue(&self, request: &[u8]) {
        let appended = self.lock().append(request);
        if let Err(e) = appended {
            tracing::error!(error = %e, bytes = request.len(), "could not queue spans for forwarding");
        }
        self.wake.notify_one();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DiskQueue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Delivers the queue in order, forever.
async fn deliver(forwarder: Arc<Forwarder>, client: reqwest::Client, config: ForwardConfig) {
    loop {
        let next = forwarder.lock().peek();
        match next {
            Ok(Some((body, after))) => {
                send(&client, &config, body).await;
                if let Err(e) = forwarder.lock().ack(after) {
                    tracing::error!(error = %e, "could not record a forwarded request");
                }
            }
            Ok(None) => {
                if let Err(e) = forwarder.lock().sync() {
                    tracing::warn!(error = %e, "could not sync the forwarding queue");
                }
                let _ = tokio::time::timeout(SYNC_EVERY, forwarder.wake.notified()).await;
            }
            Err(e) => {
                tracing::error!(error = %e, "could not read the forwarding queue");
                tokio::time::sleep(SYNC_EVERY).await;
            }
        }
    }
}

/// Sends one request until it is accepted or refused for good.
async fn send(client: &reqwest::Client, config: &ForwardConfig, body: Vec<u8>) {
    let mut pause = Duration::from_millis(250);
    loop {
        let mut request = client
            .post(&config.url)
            .header("content-type", "application/x-protobuf")
            .body(body.clone());
        for (name, value) in &config.headers {
            request = request.header(name, value);
        }
        let retry = match request.send().await {
            Ok(resp) if resp.status().is_success() => return,
            Ok(resp) => {
                let status = resp.status();
                let retryable = status.is_server_error() || matches!(status.as_u16(), 408 | 429);
                if !retryable {
                    let text = resp.text().await.unwrap_or_default();
                    tracing::error!(%status, answer = %text.chars().take(300).collect::<String>(),
                        url = %config.url, "the forwarding target refused spans; they are dropped");
                    return;
                }
                format!("answered {status}")
            }
            Err(e) => e.to_string(),
        };
        tracing::warn!(url = %config.url, error = %retry, retry_in = ?pause,
            "forwarding failed; retrying");
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_BACKOFF);
    }
}
