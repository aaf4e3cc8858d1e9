//! The ingest writer: a bounded queue in front of one task that commits batches.
//!
//! Requests wait for their spans to be committed (group commit: every request queued while a
//! commit runs goes into the next one). Two batches may be in the store at once, so one is
//! encoded while the other commits; the store still commits one at a time. The queue is
//! bounded in spans, not requests: when it is full new requests are refused at once (503 /
//! UNAVAILABLE), so memory stays bounded and clients back off.

use std::sync::Arc;

use lemma_core::Span;
use lemma_store::{ProjectId, Store, StoreError};
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("the ingest queue is full")]
    Busy,
    #[error("the server is shutting down")]
    ShuttingDown,
    #[error(transparent)]
    Store(#[from] StoreError),
}

struct Job {
    spans: Vec<(ProjectId, Span)>,
    done: oneshot::Sender<Result<(), StoreError>>,
    _permit: OwnedSemaphorePermit,
}

/// The handle requests submit through. Cloning is cheap.
#[derive(Clone)]
pub struct Ingest {
    tx: mpsc::UnboundedSender<Job>,
    capacity: Arc<Semaphore>,
    max_spans: u32,
}

/// Owns the writer task; `finish` waits until everything queued is committed.
pub struct WriterTask {
    handle: tokio::task::JoinHandle<()>,
}

impl WriterTask {
    pub async fn finish(self) {
        let _ = self.handle.await;
    }
}

pub fn start(
    store: Arc<dyn Store>,
    queue_max_spans: usize,
    batch_max_spans: usize,
) -> (Ingest, WriterTask) {
    let (tx, rx) = mpsc::unbounded_channel();
    let max_spans = queue_max_spans.clamp(1, u32::MAX as usize) as u32;
    let ingest = Ingest {
        tx,
        capacity: Arc::new(Semaphore::new(max_spans as usize)),
        max_spans,
    };
    let handle = tokio::spawn(run(store, rx, batch_max_spans.max(1)));
    (ingest, WriterTask { handle })
}

impl Ingest {
    /// Queues spans and waits until they are durable. Fails fast with `Busy` when the queue is
    /// full. A request larger than the whole queue waits for an empty queue rather than being
    /// refused forever.
    pub async fn submit(&self, spans: Vec<(ProjectId, Span)>) -> Result<(), SubmitError> {
        if spans.is_empty() {
            return Ok(());
        }
        let want = (spans.len().min(self.max_spans as usize)) as u32;
        let permit = self
            .capacity
            .clone()
            .try_acquire_many_owned(want)
            .map_err(|e| match e {
                tokio::sync::TryAcquireError::Closed => SubmitError::ShuttingDown,
                tokio::sync::TryAcquireError::NoPermits => SubmitError::Busy,
            })?;
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Job {
                spans,
                done,
                _permit: permit,
            })
            .map_err(|_| SubmitError::ShuttingDown)?;
        match wait.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(SubmitError::Store(e)),
            Err(_) => Err(SubmitError::ShuttingDown),
        }
    }
}

/// Batches handed to the store and not yet committed, at most.
const IN_FLIGHT: usize = 2;

async fn run(store: Arc<dyn Store>, mut rx: mpsc::UnboundedReceiver<Job>, batch_max_spans: usize) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut writes = tokio::task::JoinSet::new();
    // Ends when every sender is gone (shutdown) and the queue is drained.
    while let Some(first) = rx.recv().await {
        // Waiting for a slot lets more requests queue up: the next batch is bigger.
        let slot = slots
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let mut jobs = vec![first];
        let mut count = jobs[0].spans.len();
        while count < batch_max_spans {
            match rx.try_recv() {
                Ok(job) => {
                    count += job.spans.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let mut batch = Vec::with_capacity(count);
        let mut waiters = Vec::with_capacity(jobs.len());
        for job in jobs {
            batch.extend(job.spans);
            waiters.push((job.done, job._permit));
        }
        let store = store.clone();
        writes.spawn(async move {
            let result = store.write_spans(batch).await;
            if let Err(e) = &result {
                tracing::error!(error = %e, spans = count, "commit failed; the requests get an error and may retry");
            }
            // Every request in the batch learns the outcome of the one commit; the queue space
            // is released only now, after the spans are durable.
            for (done, permit) in waiters {
                let _ = done.send(result.as_ref().map(|_| ()).map_err(Clone::clone));
                drop(permit);
            }
            drop(slot);
        });
        // Reap finished writes so the set does not grow.
        while writes.try_join_next().is_some() {}
    }
    while writes.join_next().await.is_some() {}
}
