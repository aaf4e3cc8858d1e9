//! `lemma export`: the runs matching a query, streamed to a file (or stdout) and checked
//! complete.
//!
//! Runs are read page by page (newest first) and each run's spans a window at a time in tree
//! order (`GET /api/v1/runs/{id}/spans`), so a run of any length is exported in bounded memory.
//! Each run's exported spans are counted against its summary's `span_count`: an export that
//! came out short (spans arriving while it ran, a server error) says which runs and exits with
//! an error instead of leaving a file that looks whole.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use lemma_core::otlp::export_request;
use lemma_core::Span;
use serde_json::Value;

use crate::client::get;
use crate::Remote;

#[derive(Args)]
pub struct ExportArgs {
    /// A query, e.g. `agent:support-agent since:7d`; every run when left out.
    query: Vec<String>,
    #[arg(long, value_enum, default_value_t = Format::Otlp)]
    format: Format,
    /// The file to write; standard output when left out.
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// Spans read per request (1 to 500).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=500))]
    batch: u64,
    #[command(flatten)]
    remote: Remote,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// OTLP JSON, one export request per line (a window of one run's spans), as the
    /// OpenTelemetry Collector's file exporter writes it: any OTLP/HTTP endpoint takes a line.
    Otlp,
    /// One span per line, as the REST API returns it (log records included).
    Jsonl,
}

#[derive(Default)]
struct Tally {
    runs: u64,
    spans: u64,
    /// Runs whose exported spans did not add up to their span count: (run, exported, count).
    short: Vec<(String, u64, u64)>,
}

pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    let query = args.query.join(" ");
    let mut out: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(BufWriter::new(
            File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let progress = std::io::stderr().is_terminal();
    let mut tally = Tally::default();
    let mut cursor = String::new();
    loop {
        let page = get(
            &args.remote,
            &["runs"],
            &[
                ("q", query.clone()),
                ("limit", "100".into()),
                ("cursor", cursor.clone()),
            ],
        )?;
        for run in page["runs"].as_array().into_iter().flatten() {
            export_run(&args, run, &mut out, &mut tally)?;
            if progress {
                eprint!("\r{} runs, {} spans exported", tally.runs, tally.spans);
            }
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
    }
    out.flush().context("writing the export")?;
    if progress {
        eprintln!();
    }
    let target = args
        .out
        .as_ref()
        .map_or("standard output".into(), |p| p.display().to_string());
    eprintln!(
        "Exported {} runs ({} spans) to {target}.",
        tally.runs, tally.spans
    );
    if !tally.short.is_empty() {
        let list: Vec<String> = tally
            .short
            .iter()
            .map(|(run, got, count)| format!("{run} ({got} of {count} spans)"))
            .collect();
        bail!(
            "{} runs were exported short, probably still receiving spans: {}; export them \
             again once they are complete",
            list.len(),
            list.join(", ")
        );
    }
    Ok(())
}

/// Writes one run's spans, a window at a time, and counts them against its summary.
fn export_run(
    args: &ExportArgs,
    run: &Value,
    out: &mut dyn Write,
    tally: &mut Tally,
) -> anyhow::Result<()> {
    let run_id = run["run_id"].as_str().context("a run without a run_id")?;
    let count = run["span_count"].as_u64().unwrap_or(0);
    let mut written = 0;
    let mut offset = 0;
    loop {
        let window = get(
            &args.remote,
            &["runs", run_id, "spans"],
            &[
                ("offset", offset.to_string()),
                ("limit", args.batch.to_string()),
            ],
        )?;
        let spans = window["spans"].as_array().cloned().unwrap_or_default();
        written += spans.len() as u64;
        write_spans(args.format, spans, out)?;
        offset += args.batch;
        if offset >= window["total"].as_u64().unwrap_or(0) {
            break;
        }
    }
    tally.runs += 1;
    tally.spans += written;
    if written != count {
        tally.short.push((run_id.to_string(), written, count));
    }
    Ok(())
}

fn write_spans(format: Format, spans: Vec<Value>, out: &mut dyn Write) -> anyhow::Result<()> {
    match format {
        Format::Jsonl => {
            for span in &spans {
                serde_json::to_writer(&mut *out, span)?;
                out.write_all(b"\n")?;
            }
        }
        Format::Otlp if spans.is_empty() => {}
        Format::Otlp => {
            let spans: Vec<Span> = spans
                .into_iter()
                .map(serde_json::from_value)
                .collect::<Result<_, _>>()
                .context("the server answered spans this lemma cannot read")?;
            serde_json::to_writer(&mut *out, &export_request(&spans[..]))?;
            out.write_all(b"\n")?;
        }
    }
    Ok(())
}
