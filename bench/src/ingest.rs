//! Exporters sending a list of requests concurrently, like OTLP exporters in several processes:
//! each takes the next request, posts it, and waits for the answer before taking another. A 503
//! or 429 (a full queue) is retried after a short pause, as OTLP exporters do. Meanwhile a probe
//! measures time-to-queryable: now and then it takes the latest acknowledged request that
//! completed a run and polls the target until that run's root is readable.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use crate::target::Target;
use crate::workload::{Batch, RunInfo};

/// The longest pause before retrying a refused request.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// What one load of requests measured.
#[derive(Debug, Clone)]
pub struct Load {
    pub exporters: usize,
    pub requests: usize,
    pub spans: u64,
    pub bytes: u64,
    /// From the first request sent to the last acknowledgement.
    pub seconds: f64,
    /// Request latencies, send to acknowledgement, retries included.
    pub latencies: Vec<Duration>,
    /// Answers 503/429 that were retried.
    pub refused: u64,
    /// Time from a run's acknowledgement to its being readable, sampled during the load.
    pub probes: Vec<Duration>,
    /// From the last acknowledgement until the last run is readable; `None` if it was not
    /// within the timeout.
    pub after_last_ack: Option<Duration>,
    /// From the first request sent until the last run is readable.
    pub stored_seconds: Option<f64>,
}

/// How time-to-queryable is sampled.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    /// Pause between samples.
    pub every: Duration,
    /// How long to wait for a run to become readable before giving up on it.
    pub timeout: Duration,
}

/// Shared between exporters and the probe: the newest acknowledged completed run.
#[derive(Default)]
struct Latest {
    seq: AtomicU64,
    run: Mutex<Option<(Instant, RunInfo)>>,
}

/// Posts every request of `batches` with `exporters` concurrent exporters.
pub async fn load(
    target: Arc<dyn Target>,
    batches: Arc<Vec<Batch>>,
    exporters: usize,
    probe: Probe,
) -> Result<Load> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(exporters)
        .build()?;
    let next = Arc::new(AtomicUsize::new(0));
    let latest = Arc::new(Latest::default());
    let done = Arc::new(AtomicBool::new(false));
    let started = Instant::now();

    let probing = tokio::spawn(probe_loop(
        target.clone(),
        latest.clone(),
        done.clone(),
        probe,
    ));
    let mut tasks = Vec::new();
    for _ in 0..exporters {
        let (target, client, batches, next, latest) = (
            target.clone(),
            client.clone(),
            batches.clone(),
            next.clone(),
            latest.clone(),
        );
        tasks.push(tokio::spawn(async move {
            exporter(&*target, &client, &batches, &next, &latest).await
        }));
    }
    let mut acks = Vec::with_capacity(batches.len());
    let mut refused = 0;
    let mut first_error = None;
    for t in tasks {
        match t.await? {
            Ok((a, r)) => {
                acks.extend(a);
                refused += r;
            }
            Err(e) => first_error = first_error.or(Some(e)),
        }
    }
    let last_ack = Instant::now();
    done.store(true, Ordering::Relaxed);
    let probes = probing.await?;
    if let Some(e) = first_error {
        return Err(e);
    }
    let mut after_last_ack = Some(Duration::ZERO);
    for run in last_runs(&batches, &acks, exporters) {
        let waited = wait_visible(&*target, run, last_ack, probe.timeout).await?;
        after_last_ack = after_last_ack.zip(waited).map(|(a, b)| a.max(b));
    }
    Ok(Load {
        exporters,
        requests: batches.len(),
        spans: batches.iter().map(|b| b.spans as u64).sum(),
        bytes: batches.iter().map(|b| b.body.len() as u64).sum(),
        seconds: (last_ack - started).as_secs_f64(),
        latencies: acks.iter().map(|a| a.latency).collect(),
        refused,
        probes,
        after_last_ack,
        stored_seconds: after_last_ack.map(|d| (last_ack + d - started).as_secs_f64()),
    })
}

/// One acknowledged request.
#[derive(Debug, Clone, Copy)]
struct Ack {
    batch: usize,
    at: Instant,
    latency: Duration,
}

/// The runs to wait for before everything sent is readable. A target that queues requests
/// stores them in arrival order, so it suffices that the requests acknowledged last (as many as
/// were in flight) are wholly readable: for each, the runs it completes and the run its last
/// span belongs to, which completes in a later request unless it ended there.
fn last_runs<'a>(batches: &'a [Batch], acks: &[Ack], in_flight: usize) -> Vec<&'a RunInfo> {
    let mut by_time = acks.to_vec();
    by_time.sort_by_key(|a| a.at);
    let mut runs: Vec<&RunInfo> = Vec::new();
    for ack in by_time.iter().rev().take(in_flight) {
        let completed = batches[ack.batch].completed.iter();
        let open = batches[ack.batch + 1..]
            .iter()
            .find_map(|b| b.completed.first());
        for run in completed.chain(open) {
            if !runs.iter().any(|r| r.trace_id == run.trace_id) {
                runs.push(run);
            }
        }
    }
    runs
}

/// Sends requests until none is left; returns their acknowledgements and how many refusals it
/// retried.
async fn exporter(
    target: &dyn Target,
    client: &reqwest::Client,
    batches: &[Batch],
    next: &AtomicUsize,
    latest: &Latest,
) -> Result<(Vec<Ack>, u64)> {
    let url = target.otlp_url();
    let headers = target.otlp_headers();
    let mut acks = Vec::new();
    let mut refused = 0;
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(batch) = batches.get(i) else {
            return Ok((acks, refused));
        };
        let sent = Instant::now();
        let mut backoff = Duration::from_millis(50);
        loop {
            let resp = client
                .post(&url)
                .headers(headers.clone())
                .body(batch.body.clone())
                .send()
                .await?;
            let status = resp.status().as_u16();
            if status == 200 {
                break;
            }
            if status != 503 && status != 429 {
                bail!(
                    "{} answered {status} to an export: {}",
                    target.name(),
                    resp.text().await.unwrap_or_default()
                );
            }
            refused += 1;
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
        let acked = Instant::now();
        acks.push(Ack {
            batch: i,
            at: acked,
            latency: acked - sent,
        });
        if let Some(run) = batch.completed.last() {
            *latest.run.lock().expect("not poisoned") = Some((acked, run.clone()));
            latest.seq.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Every `every`, measures how long the newest acknowledged run takes to become readable.
async fn probe_loop(
    target: Arc<dyn Target>,
    latest: Arc<Latest>,
    done: Arc<AtomicBool>,
    probe: Probe,
) -> Vec<Duration> {
    let mut seen = 0;
    let mut out = Vec::new();
    while !done.load(Ordering::Relaxed) {
        tokio::time::sleep(probe.every).await;
        let seq = latest.seq.load(Ordering::Relaxed);
        if seq == seen {
            continue;
        }
        seen = seq;
        let Some((acked, run)) = latest.run.lock().expect("not poisoned").clone() else {
            continue;
        };
        if let Ok(Some(d)) = wait_visible(&*target, &run, acked, probe.timeout).await {
            out.push(d);
        }
    }
    out
}

/// Polls until `run`'s root is readable; the time since `acked`, or `None` after the timeout.
async fn wait_visible(
    target: &dyn Target,
    run: &RunInfo,
    acked: Instant,
    timeout: Duration,
) -> Result<Option<Duration>> {
    loop {
        if target.is_visible(run).await? {
            return Ok(Some(acked.elapsed()));
        }
        if acked.elapsed() > timeout {
            return Ok(None);
        }
        tokio::time::sleep(target.poll_interval()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::Workload;

    #[test]
    fn the_last_acknowledged_requests_decide_what_to_wait_for() {
        let batches = Workload::new(4, 1_700_000_000_000_000_000).batches(2_000);
        let t0 = Instant::now();
        let n = batches.len();
        // The last request by index was answered before the one ahead of it.
        let acks: Vec<Ack> = (0..n)
            .map(|i| {
                let order = if i == n - 2 { n } else { i };
                Ack {
                    batch: i,
                    at: t0 + Duration::from_millis(order as u64),
                    latency: Duration::ZERO,
                }
            })
            .collect();
        let runs = last_runs(&batches, &acks, 1);
        let mut expected: Vec<&RunInfo> = batches[n - 2].completed.iter().collect();
        expected.push(batches[n - 1].completed.first().unwrap());
        expected.dedup_by(|a, b| a.trace_id == b.trace_id);
        let ids = |v: &[&RunInfo]| v.iter().map(|r| r.trace_id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&runs), ids(&expected));

        let two = last_runs(&batches, &acks, 2);
        assert!(two
            .iter()
            .any(|r| r.trace_id == batches[n - 1].completed.last().unwrap().trace_id));
    }
}
