//! What the LLM proxy adds to model calls: many streams held open at once through `lemma
//! serve`'s proxy, with the server's memory sampled meanwhile; then the same calls, unstreamed
//! and streamed, made straight to a model server and through the proxy in front of it, at the
//! same concurrency, in alternating batches.
//!
//! The model server ([`crate::upstream`]) runs in this process and does no work: an unstreamed
//! answer is held back for a model's time (a tenth of a second by default, drawn anew for each
//! call), which is then left out of the call's time, and streams are chunks made on a timer. So
//! a direct call's time is the client's, the loopback's and the model server's own, and the
//! proxy's share is what a proxied call takes beyond it.
//!
//! The model's time matters: with 200 clients calling back to back and answers coming at
//! once, every part shares the cores flat out and a call's time is the clients' number over
//! the calls answered per second, a measure of throughput; with calls taking a while, as real
//! ones do, 200 at once is a load the machine carries, and the time is what the proxy adds to
//! each.

mod client;
mod report;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use crate::procfs;
use crate::report::{human, Machine};
use crate::stats::Latency;
use crate::target::lemma::{Lemma, StoreKind};
use crate::target::Target;
use crate::upstream::{self, Upstream};
use client::{alternate, batch, Gauge, Route, Work};
pub use report::{Added, Comparison, OpenStreams, ProxyReport, Wave};

/// Unstreamed calls each client makes to one side before the other side's turn.
const CALLS_PER_BATCH: usize = 10;
/// Chunks per stream, and the pause before each, in the latency measurements.
const CHUNKS: usize = upstream::DEFAULT_CHUNKS;
const CHUNK_GAP_MS: u64 = upstream::DEFAULT_GAP_MS;
/// The open streams: a chunk every 500 ms for 10 s.
const OPEN_CHUNKS: usize = 20;
const OPEN_GAP_MS: u64 = 500;
/// The open streams are opened this many times over, one wave after the other: a server that
/// kept something of every stream would peak higher each time, by as much as the first wave
/// took, where one that only grows its pools and caches levels off.
const OPEN_WAVES: usize = 3;

#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// Clients calling at once.
    pub concurrency: usize,
    /// Unstreamed calls per client, on each side.
    pub calls: usize,
    /// How long, on average, the model server takes over an unstreamed call (each call
    /// between half and one and a half times this).
    pub hold_ms: u64,
    /// Streams per client, on each side.
    pub stream_calls: usize,
    /// Streams held open together through the proxy.
    pub open_streams: usize,
    pub keep_data: bool,
}

/// The server's CPU time once it has stopped using any (recording what it proxied runs after
/// the answers), waiting at most 10 s.
async fn settled_cpu(pid: u32) -> f64 {
    let mut last = procfs::usage(pid).cpu_seconds;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = procfs::usage(pid).cpu_seconds;
        if now == last {
            break;
        }
        last = now;
    }
    last
}

/// Raises this process's open-file limit to its hard limit: the open streams take two
/// descriptors each here (the client's, and the model server's from the proxy).
fn raise_open_files(needed: u64) {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) if limit < needed => eprintln!(
            "proxy: the open-file limit is {limit}, and {needed} descriptors may be needed"
        ),
        Ok(_) => {}
        Err(e) => eprintln!("proxy: could not raise the open-file limit: {e}"),
    }
}

/// Runs the whole measurement against a fresh `lemma serve` in front of a model server in
/// this process.
pub async fn measure(lemma_bin: &std::path::Path, config: &ProxyConfig) -> Result<ProxyReport> {
    raise_open_files(2 * (config.open_streams.max(config.concurrency) as u64) + 256);
    let upstream = Upstream::start().await?;
    let lemma = Lemma::start_with(
        lemma_bin,
        config.keep_data,
        StoreKind::Sqlite,
        &["--proxy-openai-upstream".into(), upstream.base_url()],
    )?;
    let pid = lemma.server().pid();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(usize::MAX)
        .tcp_nodelay(true)
        .build()?;
    let direct = Route::new(format!("{}/chat/completions", upstream.base_url()), None);
    let proxied = Route::new(
        format!("{}/proxy/openai/v1/chat/completions", lemma.base_url()),
        Some(lemma.key()),
    );
    let routes = (&direct, &proxied);
    let clients = config.concurrency;

    eprintln!("proxy: warming up ({clients} connections each way)");
    let (d, p) = alternate(
        &client,
        routes,
        clients,
        1,
        1,
        Work::Calls {
            mean_hold: Duration::ZERO,
        },
    )
    .await;
    if d.times.is_empty() || p.times.is_empty() {
        p.report("warm-up calls through the proxy");
        d.report("warm-up calls direct");
        bail!("calls fail: see above");
    }

    // First, while the server's memory holds little besides the warm-up's connections.
    eprintln!(
        "proxy: {} streams open at once through the proxy ({OPEN_CHUNKS} chunks {OPEN_GAP_MS} ms apart)",
        human(config.open_streams as u64)
    );
    let open_streams = open(&client, &proxied, config.open_streams, pid).await;

    eprintln!(
        "proxy: {} unstreamed calls each way, {clients} at once",
        human((clients * config.calls) as u64)
    );
    let cpu_before = settled_cpu(pid).await;
    let (d, p) = alternate(
        &client,
        routes,
        clients,
        config.calls,
        CALLS_PER_BATCH,
        Work::Calls {
            mean_hold: Duration::from_millis(config.hold_ms),
        },
    )
    .await;
    let cpu_calls = settled_cpu(pid).await - cpu_before;
    d.report("direct calls");
    p.report("proxied calls");
    let unstreamed = Comparison::of(&d, &p);
    let calls_made = p.calls;

    eprintln!(
        "proxy: {} streams each way ({CHUNKS} chunks {CHUNK_GAP_MS} ms apart), {clients} at once",
        human((clients * config.stream_calls) as u64)
    );
    let cpu_before = settled_cpu(pid).await;
    let work = Work::Streams {
        chunks: CHUNKS,
        gap_ms: CHUNK_GAP_MS,
        staggered: true,
    };
    let (d, p) = alternate(&client, routes, clients, config.stream_calls, 1, work).await;
    let cpu_streams = settled_cpu(pid).await - cpu_before;
    d.report("direct streams");
    p.report("proxied streams");
    let streams_made = p.calls;
    let streamed_chunks = Comparison::of(&d, &p);

    let per_1000 = |cpu: f64, n: usize| cpu * 1000.0 / n.max(1) as f64;
    let mut report = ProxyReport {
        machine: Machine::read(),
        concurrency: clients,
        calls_per_client: config.calls,
        hold_ms: config.hold_ms,
        streams_per_client: config.stream_calls,
        chunks_per_stream: CHUNKS,
        chunk_gap_ms: CHUNK_GAP_MS,
        unstreamed,
        streamed_chunks,
        open_streams,
        cpu_seconds_per_1000_calls: per_1000(cpu_calls, calls_made),
        cpu_seconds_per_1000_streams: per_1000(cpu_streams, streams_made),
        goals: Vec::new(),
    };
    report.goals = report.goals();
    Ok(report)
}

/// [`OPEN_WAVES`] waves of `streams` streams opened at once through the proxy, one after the
/// other, with the server's memory sampled.
async fn open(client: &reqwest::Client, route: &Route, streams: usize, pid: u32) -> OpenStreams {
    let mut waves = Vec::new();
    for _ in 0..OPEN_WAVES {
        waves.push(wave(client, route, streams, pid).await);
    }
    OpenStreams {
        streams,
        chunks_per_stream: OPEN_CHUNKS,
        chunk_gap_ms: OPEN_GAP_MS,
        rss_per_stream_bytes: waves[0]
            .rss_peak_bytes
            .saturating_sub(waves[0].rss_before_bytes)
            / streams.max(1) as u64,
        waves,
    }
}

async fn wave(client: &reqwest::Client, route: &Route, streams: usize, pid: u32) -> Wave {
    let cpu_before = settled_cpu(pid).await;
    let rss_before = procfs::current_rss(pid).unwrap_or(0);
    let gauge = Arc::new(Gauge::default());
    let started = Instant::now();
    let work = Work::Streams {
        chunks: OPEN_CHUNKS,
        gap_ms: OPEN_GAP_MS,
        staggered: false,
    };
    let (out, peak) = procfs::peak_rss_during(
        pid,
        Duration::from_millis(20),
        batch(client, route, streams, 1, work, &gauge),
    )
    .await;
    let seconds = started.elapsed().as_secs_f64();
    out.report("open streams");
    let cpu_seconds = settled_cpu(pid).await - cpu_before;
    Wave {
        completed: streams - out.failures,
        most_open: gauge.most.load(std::sync::atomic::Ordering::SeqCst),
        seconds,
        rss_before_bytes: rss_before,
        rss_peak_bytes: peak,
        rss_after_bytes: procfs::current_rss(pid).unwrap_or(0),
        chunk_delay: Latency::of(&out.times),
        cpu_seconds,
    }
}
