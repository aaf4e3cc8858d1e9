//! The ingest writer: a bounded queue in front of one task that commits batches.
//!
//! Requests wait for their spans (or log records) to be committed (group commit: every request
//! queued while a commit runs goes into the next one). Two batches may be in the store at once,
//! so one is encoded while the other commits; the store still commits one at a time. The queue
//! is bounded in items, not requests: when it is full new requests are refused at once (503 /
//! UNAVAILABLE), so memory stays bounded and clients back off. Log records share the queue and
//! its discipline: a flood of log exports waits its turn instead of taking the writer from
//! spans one commit per request.

use std::sync::Arc;

use lemma_core::{LogRecord, Span};
use lemma_store::{ProjectId, Store, StoreError};

use crate::forward::Forwarder;
use crate::signals::Signals;
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

/// What one request asks to commit.
enum Work {
    /// Spans, and the request as received (protobuf) when it is to be forwarded.
    Spans(Vec<(ProjectId, Span)>, Option<Vec<u8>>),
    Logs(Vec<(ProjectId, LogRecord)>),
}

impl Work {
    fn len(&self) -> usize {
        match self {
            Work::Spans(s, _) => s.len(),
            Work::Logs(l) => l.len(),
        }
    }
}

struct Job {
    work: Work,
    done: oneshot::Sender<Result<(), StoreError>>,
    _permit: OwnedSemaphorePermit,
}

/// The handle requests submit through. Cloning is cheap.
#[derive(Clone)]
pub struct Ingest {
    tx: mpsc::UnboundedSender<Job>,
    capacity: Arc<Semaphore>,
    max_spans: u32,
    forwards: bool,
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
    forwarder: Option<Arc<Forwarder>>,
    signals: Arc<Signals>,
) -> (Ingest, WriterTask) {
    let (tx, rx) = mpsc::unbounded_channel();
    let max_spans = queue_max_spans.clamp(1, u32::MAX as usize) as u32;
    let ingest = Ingest {
        tx,
        capacity: Arc::new(Semaphore::new(max_spans as usize)),
        max_spans,
        forwards: forwarder.is_some(),
    };
    let after = After { forwarder, signals };
    let handle = tokio::spawn(run(store, rx, batch_max_spans.max(1), Arc::new(after)));
    (ingest, WriterTask { handle })
}

impl Ingest {
    /// Queues spans and waits until they are durable. Fails fast with `Busy` when the queue is
    /// full. A request larger than the whole queue waits for an empty queue rather than being
    /// refused forever. `forward` is the request as received, queued for forwarding once its
    /// spans are committed (see [`Ingest::forwards`]).
    pub async fn submit(
        &self,
        spans: Vec<(ProjectId, Span)>,
        forward: Option<Vec<u8>>,
    ) -> Result<(), SubmitError> {
        self.submit_work(Work::Spans(spans, forward)).await
    }

    /// Whether accepted requests are forwarded (`--forward-otlp`): then `submit` wants each
    /// request as received.
    pub fn forwards(&self) -> bool {
        self.forwards
    }

    /// Queues log records like spans, and waits until they are durable.
    pub async fn submit_logs(
        &self,
        records: Vec<(ProjectId, LogRecord)>,
    ) -> Result<(), SubmitError> {
        self.submit_work(Work::Logs(records)).await
    }

    async fn submit_work(&self, work: Work) -> Result<(), SubmitError> {
        if work.len() == 0 {
            return Ok(());
        }
        let want = (work.len().min(self.max_spans as usize)) as u32;
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
                work,
                done,
                _permit: permit,
            })
            .map_err(|_| SubmitError::ShuttingDown)?;
        match wait.await {
            Ok(result) => result.map_err(SubmitError::Store),
            Err(_) => Err(SubmitError::ShuttingDown),
        }
    }
}

/// Batches handed to the store and not yet committed, at most.
const IN_FLIGHT: usize = 2;

/// What a commit of spans is followed by.
struct After {
    forwarder: Option<Arc<Forwarder>>,
    signals: Arc<Signals>,
}

async fn run(
    store: Arc<dyn Store>,
    mut rx: mpsc::UnboundedReceiver<Job>,
    batch_max_spans: usize,
    after: Arc<After>,
) {
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
        let mut count = jobs[0].work.len();
        while count < batch_max_spans {
            match rx.try_recv() {
                Ok(job) => {
                    count += job.work.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let store = store.clone();
        let after = after.clone();
        writes.spawn(async move {
            commit(store.as_ref(), jobs, &after).await;
            drop(slot);
        });
        // Reap finished writes so the set does not grow.
        while writes.try_join_next().is_some() {}
    }
    while writes.join_next().await.is_some() {}
}

/// Commits the jobs' spans in one transaction and their log records in another, then tells
/// every job the outcome of the commit that held its work. The queue space is released only
/// now, after the work is durable. Committed spans are queued for forwarding before any
/// request is answered, so every acknowledged span is forwarded. Their runs are marked for
/// the signal evaluator.
async fn commit(store: &dyn Store, jobs: Vec<Job>, after: &After) {
    let (mut spans, mut logs) = (Vec::new(), Vec::new());
    let mut waiters = Vec::with_capacity(jobs.len());
    let mut forwarded = Vec::new();
    for job in jobs {
        let is_logs = matches!(job.work, Work::Logs(_));
        match job.work {
            Work::Spans(s, forward) => {
                spans.extend(s);
                forwarded.extend(forward);
            }
            Work::Logs(l) => logs.extend(l),
        }
        waiters.push((is_logs, job.done, job._permit));
    }
    let span_requests = waiters.iter().filter(|(logs, ..)| !logs).count();
    let mut runs: Vec<(ProjectId, String)> = spans
        .iter()
        .map(|(p, s)| (*p, s.trace_id.clone()))
        .collect();
    runs.sort_unstable();
    runs.dedup();
    let spans_result = match spans.len() {
        0 => Ok(()),
        n => store.write_spans(spans).await.map(|_| ()).inspect_err(|e| {
            tracing::error!(error = %e, spans = n, "commit failed; the requests get an error and may retry")
        }),
    };
    if spans_result.is_ok() {
        if let Some(forwarder) = &after.forwarder {
            for request in &forwarded {
                forwarder.enqueue(request);
            }
        }
        after.signals.touched(runs);
    }
    // Evaluation results in log records are signals of their runs.
    let mut log_runs: Vec<(ProjectId, String)> = logs
        .iter()
        .filter_map(|(p, l)| Some((*p, l.trace_id.clone()?)))
        .collect();
    log_runs.sort_unstable();
    log_runs.dedup();
    let logs_result = match logs.len() {
        0 => Ok(()),
        n => store.write_logs(logs).await.map(|_| ()).inspect_err(|e| {
            tracing::error!(error = %e, records = n, "log commit failed; the requests get an error and may retry")
        }),
    };
    if logs_result.is_ok() && !log_runs.is_empty() {
        after.signals.touched(log_runs);
    }
    let log_requests = waiters.len() - span_requests;
    for (is_logs, done, permit) in waiters {
        let (result, shared) = if is_logs {
            (&logs_result, log_requests)
        } else {
            (&spans_result, span_requests)
        };
        let _ = done.send(outcome(result, shared));
        drop(permit);
    }
}

/// A request's answer from its commit's result. A commit that held several requests and
/// failed may have failed for any one of them: the others are told to retry (retryable), never
/// that their data is bad.
fn outcome(result: &Result<(), StoreError>, requests: usize) -> Result<(), StoreError> {
    match result {
        Ok(()) => Ok(()),
        Err(e) if requests > 1 => Err(StoreError::Unavailable(e.to_string())),
        Err(e) => Err(e.clone()),
    }
}
