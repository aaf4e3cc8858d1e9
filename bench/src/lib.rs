//! Lemma's benchmark harness: loads a seeded agent-run workload into Lemma and Arize Phoenix
//! over OTLP/HTTP, measures ingest, time-to-queryable, queries at several sizes, storage and
//! resource use, next to the machine's own limits, and reports them side by side.
//!
//! Both systems are black boxes: real server processes on loopback, driven through their
//! network APIs only.

pub mod ingest;
pub mod longrun;
pub mod physical;
pub mod procfs;
pub mod proxy;
pub mod queries;
pub mod report;
pub mod signals;
pub mod stats;
pub mod target;
pub mod upstream;
pub mod windows;
pub mod workload;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;

use ingest::Probe;
use queries::Repeat;
use report::{LoadFigure, Report, SizeFigure, TargetReport};
use target::Target;
use workload::{RunInfo, Workload};

#[derive(Debug, Clone)]
pub struct Config {
    /// The `lemma` binary to serve with.
    pub lemma_bin: PathBuf,
    /// Phoenix's `phoenix` entry point; `None` to leave Phoenix out.
    pub phoenix_bin: Option<PathBuf>,
    /// Spans stored at each point where queries are measured, ascending.
    pub sizes: Vec<u64>,
    pub seed: u64,
    pub quick: bool,
    /// Phoenix stops being sent more spans once this much time has passed since it started
    /// loading (it stores far more slowly than Lemma).
    pub phoenix_budget: Duration,
    /// While a budget applies, spans are sent in loads of this many, between which it is
    /// checked.
    pub budget_chunk: u64,
    pub repeat: Repeat,
    pub probe_every: Duration,
    /// How long a run may take to become readable before it counts as not readable.
    pub visible_timeout: Duration,
    /// How long each physical figure is measured for, and how much the write test writes.
    pub physical_each: Duration,
    pub physical_write_bytes: u64,
    /// Leave the servers' data dirs in place for inspection.
    pub keep_data: bool,
    /// Which store Lemma keeps its data in.
    pub store: target::lemma::StoreKind,
    /// More arguments for `lemma serve` (e.g. `--no-signals`).
    pub serve_args: Vec<String>,
}

impl Config {
    /// Every figure at tiny sizes, in well under two minutes.
    pub fn quick(lemma_bin: PathBuf, phoenix_bin: Option<PathBuf>) -> Config {
        Config {
            lemma_bin,
            phoenix_bin,
            sizes: vec![2_000],
            seed: 42,
            quick: true,
            phoenix_budget: Duration::from_secs(40),
            budget_chunk: 500,
            repeat: Repeat {
                min: 3,
                max: 5,
                budget: Duration::from_secs(2),
            },
            probe_every: Duration::from_millis(100),
            visible_timeout: Duration::from_secs(30),
            physical_each: Duration::from_millis(300),
            physical_write_bytes: 32 << 20,
            keep_data: false,
            store: target::lemma::StoreKind::Sqlite,
            serve_args: Vec::new(),
        }
    }

    /// The published benchmark.
    pub fn full(lemma_bin: PathBuf, phoenix_bin: Option<PathBuf>, sizes: Vec<u64>) -> Config {
        Config {
            sizes,
            quick: false,
            phoenix_budget: Duration::from_secs(600),
            budget_chunk: 5_000,
            repeat: Repeat {
                min: 5,
                max: 50,
                budget: Duration::from_secs(20),
            },
            probe_every: Duration::from_millis(500),
            visible_timeout: Duration::from_secs(600),
            physical_each: Duration::from_secs(3),
            physical_write_bytes: 1 << 30,
            ..Config::quick(lemma_bin, phoenix_bin)
        }
    }
}

/// Runs the whole benchmark.
pub async fn run(config: &Config) -> Result<Report> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let largest = config.sizes.iter().copied().max().unwrap_or(0);
    // Whole seconds, so that query time ranges fall between run starts.
    let start_unix_nano = (now * 1_000_000_000).saturating_sub(Workload::time_span_nanos(largest));

    let sample = Workload::new(config.seed, start_unix_nano).batches(if config.quick {
        2_000
    } else {
        100_000
    });
    let scratch = tempfile::tempdir()?;
    eprintln!("measuring the machine's decode rate and disk");
    let physical = tokio::task::block_in_place(|| {
        physical::measure(
            &sample,
            scratch.path(),
            config.physical_each,
            config.physical_write_bytes,
        )
    })?;
    let span_bytes = sample.iter().map(|b| b.body.len()).sum::<usize>() as f64
        / sample.iter().map(|b| b.spans).sum::<usize>() as f64;
    drop(sample);

    let mut targets = Vec::new();
    let lemma: Arc<dyn Target> = Arc::new(target::lemma::Lemma::start_with(
        &config.lemma_bin,
        config.keep_data,
        config.store,
        &config.serve_args,
    )?);
    targets.push(bench_target(lemma, config, start_unix_nano, None).await?);
    if let Some(bin) = &config.phoenix_bin {
        let phoenix: Arc<dyn Target> =
            Arc::new(target::phoenix::Phoenix::start(bin, config.keep_data).await?);
        targets.push(
            bench_target(
                phoenix,
                config,
                start_unix_nano,
                Some(config.phoenix_budget),
            )
            .await?,
        );
    }
    Ok(Report {
        machine: report::Machine::read(),
        store: config.store,
        serve_args: config.serve_args.clone(),
        quick: config.quick,
        seed: config.seed,
        sizes: config.sizes.clone(),
        span_bytes,
        physical,
        targets,
    })
}

/// Loads the workload into `target` size by size (1, 4 and 16 exporters on the way to the first
/// size, 16 after it), measuring the queries at each size.
async fn bench_target(
    target: Arc<dyn Target>,
    config: &Config,
    start_unix_nano: u64,
    budget: Option<Duration>,
) -> Result<TargetReport> {
    let mut workload = Workload::new(config.seed, start_unix_nano);
    let mut loaded: Vec<RunInfo> = Vec::new();
    let mut stored = 0;
    let mut loads = Vec::new();
    let mut sizes = Vec::new();
    let mut probes = Vec::new();
    let started = Instant::now();
    let probe = Probe {
        every: config.probe_every,
        timeout: config.visible_timeout,
    };
    for (i, &size) in config.sizes.iter().enumerate() {
        let steps = if i == 0 {
            vec![
                (1, size / 10),
                (4, size / 5),
                (16, size - size / 10 - size / 5),
            ]
        } else {
            vec![(16, size.saturating_sub(stored))]
        };
        let mut out_of_time = false;
        for (exporters, spans) in steps {
            let mut figure = LoadFigure::new(exporters, stored);
            let mut left = spans;
            while left > 0 {
                if budget.is_some_and(|b| started.elapsed() > b) {
                    out_of_time = true;
                    break;
                }
                let chunk = if budget.is_some() {
                    left.min(config.budget_chunk)
                } else {
                    left
                };
                let batches = Arc::new(tokio::task::block_in_place(|| workload.batches(chunk)));
                eprintln!(
                    "{}: sending {} spans with {exporters} exporter(s), {} stored",
                    target.name(),
                    report::human(batches.iter().map(|b| b.spans as u64).sum()),
                    report::human(stored)
                );
                let load = ingest::load(target.clone(), batches.clone(), exporters, probe).await?;
                loaded.extend(batches.iter().flat_map(|b| b.completed.iter().cloned()));
                stored += load.spans;
                left = left.saturating_sub(load.spans);
                probes.extend(load.probes.iter().copied());
                figure.add(&load);
            }
            if figure.spans > 0 {
                loads.push(figure.finish());
            }
            if out_of_time {
                break;
            }
        }
        eprintln!(
            "{}: measuring queries at {} spans",
            target.name(),
            report::human(stored)
        );
        let queries = queries::measure(&*target, &loaded, config.repeat).await;
        let disk = target.stored_bytes().await?;
        sizes.push(SizeFigure {
            size,
            spans: stored,
            reached: stored >= size,
            queries,
            disk_bytes: disk,
            bytes_per_span: disk as f64 / stored.max(1) as f64,
        });
        if out_of_time {
            break;
        }
    }
    Ok(TargetReport {
        name: target.name().to_string(),
        durable_acks: target.durable_acks(),
        loads,
        time_to_queryable: stats::Latency::of(&probes),
        sizes,
        usage: procfs::usage(target.server().pid()),
        store_usage: target.store_process().map(procfs::usage),
        seconds: started.elapsed().as_secs_f64(),
    })
}
