//! `lemma-bench`: runs the benchmark, prints the results as Markdown tables and writes them to
//! `<out>/results.json` and `<out>/results.md`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use clap::Parser;

#[derive(Parser)]
#[command(
    about = "Benchmarks Lemma's ingest, time-to-queryable, queries and storage next to Arize Phoenix"
)]
struct Args {
    /// Tiny sizes and short measurements: checks that every part of the benchmark works.
    #[arg(long)]
    quick: bool,
    /// Store sizes (spans) at which queries are measured, e.g. 100k,1m.
    #[arg(long, value_delimiter = ',', default_value = "100k,1m")]
    sizes: Vec<String>,
    /// Leave Phoenix out.
    #[arg(long)]
    no_phoenix: bool,
    /// Where the results go [default: bench/results, bench/results/proxy with --proxy,
    /// bench/results/signals with --signals and --alerts].
    #[arg(long)]
    out: Option<PathBuf>,
    /// The lemma binary.
    #[arg(long, default_value = "target/release/lemma")]
    lemma_bin: PathBuf,
    /// Phoenix's entry point, as scripts/bench-setup installs it.
    #[arg(long, default_value = ".cache/bench/phoenix-venv/bin/phoenix")]
    phoenix_bin: PathBuf,
    /// Seconds Phoenix may spend loading before it is measured at the size it reached.
    #[arg(long)]
    phoenix_budget: Option<u64>,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Leave the servers' data dirs in $TMPDIR (their paths are printed) for inspection.
    #[arg(long)]
    keep_data: bool,
    /// Instead of the benchmark: one run of each of these many spans (e.g. 10k,100k), sent in
    /// 512-span requests to a fresh Lemma, measuring how batch cost grows with the run.
    #[arg(long, value_delimiter = ',')]
    long_run: Vec<String>,
    /// Seconds each long run may spend sending before it is measured as far as it got.
    #[arg(long, default_value_t = 1800)]
    long_run_budget: u64,
    /// Where Lemma stores: its embedded SQLite store, or a ClickHouse server started for
    /// the benchmark on this machine.
    #[arg(long, value_enum, default_value = "sqlite")]
    store: lemma_bench::target::lemma::StoreKind,
    /// Instead of the benchmark: the latency the LLM proxy adds to model calls (unstreamed,
    /// and per streamed chunk) and its memory with many streams open, in front of a model
    /// server in this process. Results go to <out>/results.{json,md}.
    #[arg(long)]
    proxy: bool,
    /// Clients calling at once in the proxy's latency measurements.
    #[arg(long, default_value_t = 200)]
    proxy_concurrency: usize,
    /// Unstreamed calls per client, made both directly and through the proxy.
    #[arg(long, default_value_t = 100)]
    proxy_calls: usize,
    /// Mean milliseconds the model server takes over an unstreamed call (each between half and
    /// one and a half times it; left out of the calls' times); 0 answers at once.
    #[arg(long, default_value_t = 100)]
    proxy_hold_ms: u64,
    /// Streams per client (20 chunks, 20 ms apart), made both directly and through the proxy.
    #[arg(long, default_value_t = 10)]
    proxy_stream_calls: usize,
    /// Streams held open at once through the proxy (20 chunks, 500 ms apart).
    #[arg(long, default_value_t = 1000)]
    proxy_streams: usize,
    /// An argument added to `lemma serve` (repeat it for more), e.g. `--serve-arg=--no-signals`.
    #[arg(long, allow_hyphen_values = true)]
    serve_arg: Vec<String>,
    /// Instead of the benchmark: what evaluating signals at ingest costs, as alternating runs
    /// of the same binary with and without `--no-signals`, each loading the first of --sizes.
    /// Results go to <out>/cost.{json,md}.
    #[arg(long)]
    signals: bool,
    /// Pairs of runs (with and without signals) in --signals.
    #[arg(long, default_value_t = 6)]
    signals_pairs: usize,
    /// Instead of the benchmark: ack-to-webhook latency of an each-run alert while the server
    /// takes a steady background load. Results go to <out>/alerts-<rate>.{json,md}, e.g.
    /// alerts-10k.md; exits non-zero
    /// when a trigger's alert never arrived.
    #[arg(long)]
    alerts: bool,
    /// Background spans per second in --alerts.
    #[arg(long, default_value_t = 10_000)]
    alerts_rate: u64,
    /// Seconds of background load in --alerts.
    #[arg(long, default_value_t = 60)]
    alerts_seconds: u64,
    /// Background exporters in --alerts.
    #[arg(long, default_value_t = 16)]
    alerts_exporters: usize,
    /// Milliseconds between trigger runs in --alerts.
    #[arg(long, default_value_t = 100)]
    alerts_every_ms: u64,
}

fn parse_size(s: &str) -> Result<u64> {
    let s = s.trim().to_ascii_lowercase();
    let (digits, unit) = match s.strip_suffix('m') {
        Some(d) => (d, 1_000_000),
        None => match s.strip_suffix('k') {
            Some(d) => (d, 1_000),
            None => (s.as_str(), 1),
        },
    };
    let n: f64 = digits.parse().with_context(|| format!("size {s:?}"))?;
    Ok((n * unit as f64) as u64)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    if !args.lemma_bin.exists() {
        bail!(
            "{} not found: build it with `cargo build --release -p lemma-cli`",
            args.lemma_bin.display()
        );
    }
    if args.proxy {
        let out = args.out.unwrap_or_else(|| "bench/results/proxy".into());
        let config = lemma_bench::proxy::ProxyConfig {
            concurrency: args.proxy_concurrency.max(1),
            calls: args.proxy_calls.max(1),
            hold_ms: args.proxy_hold_ms,
            stream_calls: args.proxy_stream_calls.max(1),
            open_streams: args.proxy_streams.max(1),
            keep_data: args.keep_data,
        };
        let report = lemma_bench::proxy::measure(&args.lemma_bin, &config).await?;
        return write(&out, &report, &report.markdown());
    }
    if args.signals {
        let out = args.out.unwrap_or_else(|| "bench/results/signals".into());
        let spans = match args.sizes.first() {
            _ if args.quick => 2_000,
            Some(size) => parse_size(size)?,
            None => 100_000,
        };
        let config = lemma_bench::signals::cost::CostConfig {
            lemma_bin: args.lemma_bin,
            pairs: if args.quick {
                1
            } else {
                args.signals_pairs.max(1)
            },
            spans,
            seed: args.seed,
            keep_data: args.keep_data,
        };
        let report = lemma_bench::signals::cost::measure(&config).await?;
        return write_named(&out, "cost", &report, &report.markdown());
    }
    if args.alerts {
        let out = args.out.unwrap_or_else(|| "bench/results/signals".into());
        let config = lemma_bench::signals::alerts::AlertsConfig {
            lemma_bin: args.lemma_bin,
            rate: args.alerts_rate.max(100),
            seconds: if args.quick {
                5
            } else {
                args.alerts_seconds.max(1)
            },
            exporters: args.alerts_exporters.max(1),
            trigger_every: std::time::Duration::from_millis(args.alerts_every_ms.max(1)),
            seed: args.seed,
            keep_data: args.keep_data,
            serve_args: args.serve_arg,
        };
        let report = lemma_bench::signals::alerts::measure(&config).await?;
        let name = format!(
            "alerts-{}",
            lemma_bench::report::human(config.rate).to_lowercase()
        );
        write_named(&out, &name, &report, &report.markdown())?;
        if report.lost_triggers() {
            bail!(
                "{} of {} triggers' alerts never arrived ({} exports failed)",
                report.triggers.missed,
                report.triggers.sent,
                report.triggers.failed
            );
        }
        return Ok(());
    }
    let out = args.out.unwrap_or_else(|| "bench/results".into());
    if !args.long_run.is_empty() {
        let mut figures = Vec::new();
        for size in &args.long_run {
            let size = parse_size(size)? as usize;
            eprintln!("long run: {size} spans");
            figures.push(
                lemma_bench::longrun::measure(
                    &args.lemma_bin,
                    args.seed,
                    size,
                    std::time::Duration::from_secs(args.long_run_budget),
                    args.keep_data,
                )
                .await?,
            );
        }
        let markdown = lemma_bench::longrun::markdown(&figures);
        println!("{markdown}");
        std::fs::create_dir_all(&out)?;
        std::fs::write(
            out.join("long-run.json"),
            serde_json::to_string_pretty(&figures)?,
        )?;
        std::fs::write(out.join("long-run.md"), markdown)?;
        eprintln!("wrote {0}/long-run.json and {0}/long-run.md", out.display());
        return Ok(());
    }
    let phoenix = if args.no_phoenix {
        None
    } else if args.phoenix_bin.exists() {
        Some(args.phoenix_bin.clone())
    } else {
        bail!(
            "{} not found: run scripts/bench-setup, or pass --no-phoenix",
            args.phoenix_bin.display()
        );
    };
    let mut config = if args.quick {
        lemma_bench::Config::quick(args.lemma_bin, phoenix)
    } else {
        let mut sizes = args
            .sizes
            .iter()
            .map(|s| parse_size(s))
            .collect::<Result<Vec<_>>>()?;
        sizes.sort_unstable();
        lemma_bench::Config::full(args.lemma_bin, phoenix, sizes)
    };
    config.seed = args.seed;
    config.keep_data = args.keep_data;
    config.store = args.store;
    config.serve_args = args.serve_arg;
    if let Some(secs) = args.phoenix_budget {
        config.phoenix_budget = std::time::Duration::from_secs(secs);
    }
    let report = lemma_bench::run(&config).await?;
    write(&out, &report, &report.markdown())
}

/// Prints the Markdown and writes it and the JSON report to `out`/results.{md,json}.
fn write(out: &Path, report: &impl serde::Serialize, markdown: &str) -> Result<()> {
    write_named(out, "results", report, markdown)
}

/// Prints the Markdown and writes it and the JSON report to `out`/`name`.{md,json}.
fn write_named(
    out: &Path,
    name: &str,
    report: &impl serde::Serialize,
    markdown: &str,
) -> Result<()> {
    println!("{markdown}");
    std::fs::create_dir_all(out)?;
    std::fs::write(
        out.join(format!("{name}.json")),
        serde_json::to_string_pretty(report)?,
    )?;
    std::fs::write(out.join(format!("{name}.md")), markdown)?;
    eprintln!("wrote {0}/{name}.json and {0}/{name}.md", out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_take_k_and_m() {
        assert_eq!(parse_size("100k").unwrap(), 100_000);
        assert_eq!(parse_size("1M").unwrap(), 1_000_000);
        assert_eq!(parse_size("2.5m").unwrap(), 2_500_000);
        assert_eq!(parse_size("1500").unwrap(), 1_500);
        assert!(parse_size("lots").is_err());
    }
}
