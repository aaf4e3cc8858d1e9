//! What evaluating signals as spans arrive costs ingest: the same binary served with and
//! without `--no-signals`, one after the other in alternating pairs (the order swapped every
//! pair, so drift on a shared machine falls on both sides alike), each fresh server loaded with
//! the same requests the way the main benchmark loads its first size (10% with 1 exporter, 20%
//! with 4, the rest with 16), without the queries.
//!
//! Throughput is the acknowledged rate of each step, as in the main benchmark; evaluations run
//! after the acknowledgements (200 ms or more after a run's batches), so what they cost shows
//! most in the server's CPU per span, which is counted until the server has gone quiet after
//! the last step.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;

use super::{median, settled_cpu};
use crate::ingest::{self, Probe};
use crate::procfs;
use crate::report::{human, LoadFigure, Machine};
use crate::target::lemma::{Lemma, StoreKind};
use crate::target::{rfc3339, Target};
use crate::workload::{Batch, Workload};

/// The argument that turns evaluation at ingest off.
const OFF: &str = "--no-signals";

#[derive(Debug, Clone)]
pub struct CostConfig {
    pub lemma_bin: PathBuf,
    /// Pairs of runs (one with signals, one without).
    pub pairs: usize,
    /// Spans each run loads.
    pub spans: u64,
    pub seed: u64,
    pub keep_data: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct CostReport {
    pub machine: Machine,
    pub seed: u64,
    pub spans: u64,
    pub pairs: usize,
    /// Every run, in the order they ran.
    pub runs: Vec<CostRun>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CostRun {
    /// 1-based.
    pub pair: usize,
    /// Whether the server evaluated signals as spans arrived.
    pub signals: bool,
    pub loads: Vec<LoadFigure>,
    /// From just before the first step until the server went quiet after the last.
    pub cpu_seconds: f64,
    pub cpu_ms_per_1000_spans: f64,
    /// From the last acknowledgement until the server went quiet: the evaluations trailing
    /// the load.
    pub busy_after_last_ack_ms: f64,
    pub peak_rss_bytes: u64,
    /// Cores the rest of the machine kept busy meanwhile (not the server, not this process):
    /// other work on a shared machine, which the run competed with.
    pub other_cores: f64,
    /// Signals stored over the loaded runs (a run with two counts twice), read once the
    /// server was quiet: without signals at ingest nothing is evaluated, so none.
    pub signals_stored: Option<u64>,
}

/// Runs `pairs` pairs, alternating which side goes first.
pub async fn measure(config: &CostConfig) -> Result<CostReport> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let start_unix_nano =
        (now * 1_000_000_000).saturating_sub(Workload::time_span_nanos(config.spans));
    // One set of requests for every run, so both sides store exactly the same spans.
    let steps = tokio::task::block_in_place(|| {
        let mut w = Workload::new(config.seed, start_unix_nano);
        let s = config.spans;
        [(1, s / 10), (4, s / 5), (16, s - s / 10 - s / 5)]
            .into_iter()
            .filter(|&(_, n)| n > 0)
            .map(|(exporters, n)| (exporters, Arc::new(w.batches(n))))
            .collect::<Vec<_>>()
    });
    let mut runs = Vec::new();
    for pair in 1..=config.pairs {
        let order = if pair % 2 == 1 {
            [false, true]
        } else {
            [true, false]
        };
        for signals in order {
            eprintln!(
                "signals cost: pair {pair} of {}, {}",
                config.pairs,
                if signals { "signals" } else { OFF }
            );
            runs.push(one(config, pair, signals, &steps, start_unix_nano).await?);
        }
    }
    Ok(CostReport {
        machine: Machine::read(),
        seed: config.seed,
        spans: config.spans,
        pairs: config.pairs,
        runs,
    })
}

async fn one(
    config: &CostConfig,
    pair: usize,
    signals: bool,
    steps: &[(usize, Arc<Vec<Batch>>)],
    start_unix_nano: u64,
) -> Result<CostRun> {
    let args: Vec<String> = if signals {
        Vec::new()
    } else {
        vec![OFF.into()]
    };
    let lemma = Arc::new(Lemma::start_with(
        &config.lemma_bin,
        config.keep_data,
        StoreKind::Sqlite,
        &args,
    )?);
    let pid = lemma.server().pid();
    let (cpu_before, _) = settled_cpu(pid, Duration::from_secs(10)).await;
    // The server is this process's child, and usage counts descendants: leave it out.
    let own_cpu = || procfs::usage(std::process::id()).cpu_seconds - procfs::usage(pid).cpu_seconds;
    let (bench_before, machine_before, t0) =
        (own_cpu(), procfs::machine_busy_seconds(), Instant::now());
    let target: Arc<dyn Target> = lemma.clone();
    let probe = Probe {
        every: Duration::from_millis(500),
        timeout: Duration::from_secs(600),
    };
    let mut loads = Vec::new();
    let mut stored = 0;
    let mut last_ack = Instant::now();
    for (exporters, batches) in steps {
        let started = Instant::now();
        let load = ingest::load(target.clone(), batches.clone(), *exporters, probe).await?;
        last_ack = started + Duration::from_secs_f64(load.seconds);
        let mut figure = LoadFigure::new(*exporters, stored);
        figure.add(&load);
        stored += load.spans;
        loads.push(figure.finish());
    }
    let (cpu_after, quiet_at) = settled_cpu(pid, Duration::from_secs(120)).await;
    let cpu_seconds = cpu_after - cpu_before;
    // Up to now rather than to the quiet moment: the CPU figures are read now.
    let wall = t0.elapsed().as_secs_f64();
    let bench = own_cpu() - bench_before;
    let other = procfs::machine_busy_seconds() - machine_before - bench - cpu_seconds;
    let signals_stored = signal_count(&lemma, start_unix_nano).await.ok();
    Ok(CostRun {
        pair,
        signals,
        loads,
        cpu_seconds,
        cpu_ms_per_1000_spans: cpu_seconds * 1e6 / stored.max(1) as f64,
        busy_after_last_ack_ms: quiet_at.saturating_duration_since(last_ack).as_secs_f64() * 1e3,
        peak_rss_bytes: procfs::usage(pid).peak_rss_bytes,
        other_cores: other.max(0.0) / wall,
        signals_stored,
    })
}

/// Signals stored for runs started since `from_unix_nano`, by the signal counts over time.
async fn signal_count(lemma: &Lemma, from_unix_nano: u64) -> Result<u64> {
    let path = format!(
        "/api/v1/stats/signals?from={}&bucket=1d",
        rfc3339(from_unix_nano)
    );
    let (status, body) = lemma.get_status(&path).await?;
    anyhow::ensure!(status == 200, "GET {path}: {status}");
    let body: serde_json::Value = serde_json::from_slice(&body)?;
    Ok(body["counts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["runs"].as_u64())
        .sum())
}

impl CostReport {
    fn side(&self, signals: bool) -> impl Iterator<Item = &CostRun> {
        self.runs.iter().filter(move |r| r.signals == signals)
    }

    /// The median of `f` over each side's runs: (without, with).
    fn medians(&self, f: impl Fn(&CostRun) -> Option<f64>) -> (f64, f64) {
        let of = |signals| median(&self.side(signals).filter_map(&f).collect::<Vec<_>>());
        (of(false), of(true))
    }

    fn rate(run: &CostRun, exporters: usize) -> Option<f64> {
        run.loads
            .iter()
            .find(|l| l.exporters == exporters)
            .map(|l| l.spans_per_s)
    }

    /// The goal: signals at ingest cost at most 10% of the ingest rate, with the cost read as
    /// the median rate lost at each step and the median CPU added per span.
    pub fn goals(&self) -> Vec<crate::report::Goal> {
        let mut worst_rate: f64 = 0.0;
        for exporters in [1, 4, 16] {
            let (off, on) = self.medians(|r| CostReport::rate(r, exporters));
            if off > 0.0 {
                worst_rate = worst_rate.max(1.0 - on / off);
            }
        }
        let (off, on) = self.medians(|r| Some(r.cpu_ms_per_1000_spans));
        let cpu = if off > 0.0 { on / off - 1.0 } else { 0.0 };
        vec![crate::report::Goal {
            goal: "signals at ingest cost ≤ 10% of ingest throughput".into(),
            measured: format!(
                "{:.1}% of the rate at worst (step medians), {:+.1}% CPU per span (medians)",
                worst_rate * 100.0,
                cpu * 100.0
            ),
            met: worst_rate <= 0.10 && cpu <= 0.10,
        }]
    }

    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let m = &self.machine;
        let _ = writeln!(
            s,
            "# Signals at ingest: with and without `{OFF}`\n\n\
             Machine: {} × {} cores, {:.1} GB RAM, Linux {}; the load generator and the server share them. \
             Workload: seed {}, {} spans per run of the server (10% with 1 exporter, 20% with 4, the rest with 16), \
             {} alternating pairs.\n",
            m.cpu,
            m.cores,
            m.memory_bytes as f64 / 1e9,
            m.kernel,
            self.seed,
            human(self.spans),
            self.pairs
        );
        let _ = writeln!(
            s,
            "## Medians\n\n| | without signals | with signals | difference |\n| --- | --- | --- | --- |"
        );
        for exporters in [1, 4, 16] {
            let (off, on) = self.medians(|r| CostReport::rate(r, exporters));
            let (lo_off, hi_off) = self.spread(false, |r| CostReport::rate(r, exporters));
            let (lo_on, hi_on) = self.spread(true, |r| CostReport::rate(r, exporters));
            let _ = writeln!(
                s,
                "| ingest, {exporters} exporter{} (acked spans/s) | {off:.0} ({lo_off:.0}–{hi_off:.0}) | {on:.0} ({lo_on:.0}–{hi_on:.0}) | {} |",
                if exporters == 1 { "" } else { "s" },
                pct(off, on)
            );
        }
        let cpu = |r: &CostRun| Some(r.cpu_ms_per_1000_spans);
        let (off, on) = self.medians(cpu);
        let (lo_off, hi_off) = self.spread(false, cpu);
        let (lo_on, hi_on) = self.spread(true, cpu);
        let _ = writeln!(
            s,
            "| server CPU per 1,000 spans | {off:.1} ms ({lo_off:.1}–{hi_off:.1}) | {on:.1} ms ({lo_on:.1}–{hi_on:.1}) | {} |",
            pct(off, on)
        );
        let busy = |r: &CostRun| Some(r.busy_after_last_ack_ms);
        let (off, on) = self.medians(busy);
        let _ = writeln!(
            s,
            "| busy after the last ack | {off:.0} ms | {on:.0} ms | |"
        );
        let rss = |r: &CostRun| Some(r.peak_rss_bytes as f64 / 1e6);
        let (off, on) = self.medians(rss);
        let _ = writeln!(
            s,
            "| server peak RSS | {off:.0} MB | {on:.0} MB | {} |\n",
            pct(off, on)
        );

        let _ = writeln!(
            s,
            "## Every run\n\n| pair | signals | 1 exporter | 4 exporters | 16 exporters | request p99, 16 | CPU per 1,000 spans | busy after last ack | peak RSS | signals stored | other load |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
        );
        for r in &self.runs {
            let rate = |e| CostReport::rate(r, e).map_or("–".into(), |v| format!("{v:.0}"));
            let p99 = r
                .loads
                .iter()
                .find(|l| l.exporters == 16)
                .and_then(|l| l.latency)
                .map_or("–".into(), |l| format!("{:.1} ms", l.p99_ms));
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {p99} | {:.1} ms | {:.0} ms | {:.0} MB | {} | {:.2} cores |",
                r.pair,
                if r.signals { "yes" } else { "no" },
                rate(1),
                rate(4),
                rate(16),
                r.cpu_ms_per_1000_spans,
                r.busy_after_last_ack_ms,
                r.peak_rss_bytes as f64 / 1e6,
                r.signals_stored.map_or("–".into(), |n| n.to_string()),
                r.other_cores,
            );
        }
        let _ = writeln!(
            s,
            "\n## Goal\n\n| goal | measured | met |\n| --- | --- | --- |"
        );
        for g in self.goals() {
            let _ = writeln!(
                s,
                "| {} | {} | {} |",
                g.goal,
                g.measured,
                if g.met { "yes" } else { "**no**" }
            );
        }
        s
    }

    /// The lowest and highest of `f` over one side's runs.
    fn spread(&self, signals: bool, f: impl Fn(&CostRun) -> Option<f64>) -> (f64, f64) {
        self.side(signals)
            .filter_map(f)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            })
    }
}

/// `on` against `off`, as a signed percentage.
fn pct(off: f64, on: f64) -> String {
    if off > 0.0 {
        format!("{:+.1}%", (on / off - 1.0) * 100.0)
    } else {
        "–".into()
    }
}
