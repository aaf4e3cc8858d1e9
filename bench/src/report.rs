//! The results: the JSON document, and the Markdown tables printed and written next to it.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use crate::ingest::Load;
use crate::physical::Physical;
use crate::procfs::Usage;
use crate::queries::QueryFigure;
use crate::stats::{ms, Latency};

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub machine: Machine,
    /// Which store Lemma kept its data in.
    pub store: crate::target::lemma::StoreKind,
    /// Arguments added to `lemma serve`.
    pub serve_args: Vec<String>,
    pub quick: bool,
    pub seed: u64,
    pub sizes: Vec<u64>,
    /// Average protobuf bytes per span of the workload's requests.
    pub span_bytes: f64,
    pub physical: Physical,
    pub targets: Vec<TargetReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub memory_bytes: u64,
    pub kernel: String,
}

impl Machine {
    pub fn read() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        Machine {
            cpu: cpuinfo
                .lines()
                .find_map(|l| l.strip_prefix("model name")?.split(':').nth(1))
                .unwrap_or("unknown")
                .trim()
                .to_string(),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_bytes: meminfo
                .lines()
                .find_map(|l| {
                    l.strip_prefix("MemTotal:")?
                        .split_whitespace()
                        .next()?
                        .parse::<u64>()
                        .ok()
                })
                .unwrap_or(0)
                * 1024,
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetReport {
    pub name: String,
    /// Whether an acknowledged request was already durably stored.
    pub durable_acks: bool,
    pub loads: Vec<LoadFigure>,
    /// Acknowledgement to readable, sampled while loading.
    pub time_to_queryable: Option<Latency>,
    pub sizes: Vec<SizeFigure>,
    /// The server process over the whole run.
    pub usage: Usage,
    /// The database server it stored in, when that is a process of its own (ClickHouse).
    pub store_usage: Option<Usage>,
    pub seconds: f64,
}

/// One ingest step: a number of exporters taking the store from `from_spans` up by `spans`.
#[derive(Debug, Clone, Serialize)]
pub struct LoadFigure {
    pub exporters: usize,
    pub from_spans: u64,
    pub spans: u64,
    pub bytes: u64,
    pub seconds: f64,
    pub spans_per_s: f64,
    pub mb_per_s: f64,
    /// Spans per second counting until they were readable, not just acknowledged.
    pub stored_spans_per_s: Option<f64>,
    pub latency: Option<Latency>,
    pub refused: u64,
    /// From the last acknowledgement until the last run was readable.
    pub after_last_ack_ms: Option<f64>,
    #[serde(skip)]
    latencies: Vec<Duration>,
    #[serde(skip)]
    stored_seconds: Option<f64>,
}

impl LoadFigure {
    pub fn new(exporters: usize, from_spans: u64) -> LoadFigure {
        LoadFigure {
            exporters,
            from_spans,
            spans: 0,
            bytes: 0,
            seconds: 0.0,
            spans_per_s: 0.0,
            mb_per_s: 0.0,
            stored_spans_per_s: None,
            latency: None,
            refused: 0,
            after_last_ack_ms: None,
            latencies: Vec::new(),
            stored_seconds: Some(0.0),
        }
    }

    /// Adds one load (of several, when a load is sent in chunks).
    pub fn add(&mut self, load: &Load) {
        self.spans += load.spans;
        self.bytes += load.bytes;
        self.seconds += load.seconds;
        self.refused += load.refused;
        self.latencies.extend(&load.latencies);
        self.after_last_ack_ms = load.after_last_ack.map(ms);
        self.stored_seconds = self
            .stored_seconds
            .zip(load.stored_seconds)
            .map(|(a, b)| a + b);
    }

    pub fn finish(mut self) -> LoadFigure {
        self.spans_per_s = self.spans as f64 / self.seconds;
        self.mb_per_s = self.bytes as f64 / self.seconds / 1e6;
        self.stored_spans_per_s = self.stored_seconds.map(|s| self.spans as f64 / s);
        self.latency = Latency::of(&self.latencies);
        self
    }
}

/// The store at one size, and the queries measured there.
#[derive(Debug, Clone, Serialize)]
pub struct SizeFigure {
    /// The size aimed at.
    pub size: u64,
    /// Spans actually stored.
    pub spans: u64,
    pub reached: bool,
    pub queries: Vec<QueryFigure>,
    pub disk_bytes: u64,
    pub bytes_per_span: f64,
}

/// A goal for Lemma from the benchmark issue, and whether this run met it.
#[derive(Debug, Clone, Serialize)]
pub struct Goal {
    pub goal: String,
    pub measured: String,
    pub met: bool,
}

impl Report {
    pub fn lemma(&self) -> Option<&TargetReport> {
        self.targets.iter().find(|t| t.name == "Lemma")
    }

    pub fn phoenix(&self) -> Option<&TargetReport> {
        self.targets.iter().find(|t| t.name == "Phoenix")
    }

    /// Lemma's figures against its goals; goals without a figure in this run are left out.
    pub fn goals(&self) -> Vec<Goal> {
        let mut out = Vec::new();
        let Some(lemma) = self.lemma() else {
            return out;
        };
        if let Some(best) = lemma.loads.iter().map(|l| l.spans_per_s).reduce(f64::max) {
            out.push(Goal {
                goal: "ingest ≥ 20,000 spans/s with durable acks".into(),
                measured: format!("{best:.0} spans/s (best step)"),
                met: best >= 20_000.0,
            });
        }
        if let Some(ttq) = lemma.time_to_queryable {
            out.push(Goal {
                goal: "time-to-queryable ≤ 1 s p99".into(),
                measured: format!("{:.1} ms p99", ttq.p99_ms),
                met: ttq.p99_ms <= 1000.0,
            });
        }
        if let Some(size) = lemma.sizes.last() {
            let at = human(size.spans);
            for (query, limit) in [
                ("get a 300-span run", 30.0),
                ("filtered list (agent, status, time)", 50.0),
                ("full-text search", 200.0),
                ("tokens by model", 300.0),
            ] {
                if let Some(l) = size
                    .queries
                    .iter()
                    .find(|q| q.name == query)
                    .and_then(|q| q.latency)
                {
                    out.push(Goal {
                        goal: format!("{query} < {limit:.0} ms p99 (at {at})"),
                        measured: format!("{:.1} ms", l.p99_ms),
                        met: l.p99_ms < limit,
                    });
                }
            }
            if let Some(p) = self.phoenix().and_then(|p| p.sizes.last()) {
                let ratio = p.bytes_per_span / size.bytes_per_span;
                out.push(Goal {
                    goal: "storage ≤ 1/5 of Phoenix's bytes per span".into(),
                    measured: format!(
                        "{:.0} vs {:.0} bytes/span (1/{ratio:.1})",
                        size.bytes_per_span, p.bytes_per_span
                    ),
                    met: ratio >= 5.0,
                });
            }
        }
        out.push(Goal {
            goal: "peak RSS < 300 MB".into(),
            measured: format!("{:.0} MB", lemma.usage.peak_rss_bytes as f64 / 1e6),
            met: lemma.usage.peak_rss_bytes < 300_000_000,
        });
        out
    }

    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let m = &self.machine;
        let _ = writeln!(
            s,
            "# Lemma benchmark{}{}\n",
            if self.quick { " (quick mode)" } else { "" },
            match self.store {
                crate::target::lemma::StoreKind::Sqlite => "",
                crate::target::lemma::StoreKind::Clickhouse =>
                    ", Lemma storing in ClickHouse on the same machine",
            }
        );
        let _ = writeln!(
            s,
            "Machine: {} × {} cores, {:.1} GB RAM, Linux {}. Workload: seed {}, {:.0} bytes of protobuf per span, {} spans per request.\n",
            m.cpu,
            m.cores,
            m.memory_bytes as f64 / 1e9,
            m.kernel,
            self.seed,
            self.span_bytes,
            crate::workload::SPANS_PER_REQUEST
        );
        if !self.serve_args.is_empty() {
            let _ = writeln!(s, "Lemma served with `{}`.\n", self.serve_args.join(" "));
        }
        self.ingest_table(&mut s);
        self.query_tables(&mut s);
        self.resource_table(&mut s);
        self.physical_table(&mut s);
        let goals = self.goals();
        if !goals.is_empty() {
            let _ = writeln!(
                s,
                "## Goals\n\n| goal | measured | met |\n| --- | --- | --- |"
            );
            for g in goals {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} |",
                    g.goal,
                    g.measured,
                    if g.met { "yes" } else { "**no**" }
                );
            }
            s.push('\n');
        }
        s
    }

    fn columns(&self) -> (String, String) {
        let names: Vec<&str> = self.targets.iter().map(|t| t.name.as_str()).collect();
        let mut head = format!("| | {} |", names.join(" | "));
        let mut rule = format!("| --- |{}", " --- |".repeat(names.len()));
        if self.targets.len() == 2 {
            head.push_str(" Lemma vs Phoenix |");
            rule.push_str(" --- |");
        }
        (head, rule)
    }

    /// A row of one figure per target, with the ratio when both have it. `higher_is_better`
    /// orients the ratio so that above 1 favours Lemma.
    fn row(
        &self,
        s: &mut String,
        label: &str,
        values: &[Option<f64>],
        fmt: fn(f64) -> String,
        higher_is_better: bool,
    ) {
        let cells: Vec<String> = values.iter().map(|v| v.map_or("n/a".into(), fmt)).collect();
        let _ = write!(s, "| {label} | {} |", cells.join(" | "));
        if values.len() == 2 {
            let ratio = match (values[0], values[1]) {
                (Some(l), Some(p)) if l > 0.0 && p > 0.0 => {
                    let r = if higher_is_better { l / p } else { p / l };
                    format!("{r:.1}×")
                }
                _ => "n/a".into(),
            };
            let _ = write!(s, " {ratio} |");
        }
        s.push('\n');
    }

    fn ingest_table(&self, s: &mut String) {
        let (head, rule) = self.columns();
        let _ = writeln!(s, "## Ingest (OTLP/HTTP protobuf)\n\n{head}\n{rule}");
        // Every target goes through the same steps in the same order; one may stop early.
        let steps = self
            .targets
            .iter()
            .map(|t| t.loads.len())
            .max()
            .unwrap_or(0);
        let lead = self.targets.iter().max_by_key(|t| t.loads.len());
        for step in 0..steps {
            let loads: Vec<Option<LoadFigure>> = self
                .targets
                .iter()
                .map(|t| t.loads.get(step).cloned())
                .collect();
            let first = lead.and_then(|t| t.loads.get(step)).expect("a step");
            let exporters = first.exporters;
            let what = format!(
                "{exporters} exporter{}, from {}",
                if exporters == 1 { "" } else { "s" },
                human(first.from_spans)
            );
            let get = |f: fn(&LoadFigure) -> Option<f64>| {
                loads
                    .iter()
                    .map(|l| l.as_ref().and_then(f))
                    .collect::<Vec<_>>()
            };
            self.row(
                s,
                &format!("{what}: spans sent"),
                &get(|l| Some(l.spans as f64)),
                |v| human(v as u64),
                true,
            );
            self.row(
                s,
                &format!("{what}: acknowledged spans/s"),
                &get(|l| Some(l.spans_per_s)),
                |v| format!("{v:.0}"),
                true,
            );
            self.row(
                s,
                &format!("{what}: acknowledged MB/s"),
                &get(|l| Some(l.mb_per_s)),
                |v| format!("{v:.1}"),
                true,
            );
            self.row(
                s,
                &format!("{what}: readable spans/s"),
                &get(|l| l.stored_spans_per_s),
                |v| format!("{v:.0}"),
                true,
            );
            self.row(
                s,
                &format!("{what}: request p50 ms"),
                &get(|l| l.latency.map(|x| x.p50_ms)),
                |v| format!("{v:.1}"),
                false,
            );
            self.row(
                s,
                &format!("{what}: request p99 ms"),
                &get(|l| l.latency.map(|x| x.p99_ms)),
                |v| format!("{v:.1}"),
                false,
            );
            self.row(
                s,
                &format!("{what}: refused (503) and retried"),
                &get(|l| Some(l.refused as f64)),
                |v| format!("{v:.0}"),
                false,
            );
            self.row(
                s,
                &format!("{what}: last ack → readable ms"),
                &get(|l| l.after_last_ack_ms),
                |v| format!("{v:.0}"),
                false,
            );
        }
        let ttq: Vec<Option<Latency>> = self.targets.iter().map(|t| t.time_to_queryable).collect();
        self.row(
            s,
            "time-to-queryable p50 ms (sampled while loading)",
            &ttq.iter().map(|l| l.map(|l| l.p50_ms)).collect::<Vec<_>>(),
            |v| format!("{v:.1}"),
            false,
        );
        self.row(
            s,
            "time-to-queryable p99 ms",
            &ttq.iter().map(|l| l.map(|l| l.p99_ms)).collect::<Vec<_>>(),
            |v| format!("{v:.1}"),
            false,
        );
        let durable: Vec<String> = self
            .targets
            .iter()
            .map(|t| {
                if t.durable_acks {
                    "yes".to_string()
                } else {
                    "no (queued in memory)".to_string()
                }
            })
            .collect();
        let _ = writeln!(
            s,
            "| durable acknowledgement | {} |{}\n",
            durable.join(" | "),
            if self.targets.len() == 2 { " |" } else { "" }
        );
    }

    fn query_tables(&self, s: &mut String) {
        let Some(lemma) = self.lemma() else { return };
        for (i, size) in lemma.sizes.iter().enumerate() {
            let others: Vec<Option<&SizeFigure>> =
                self.targets.iter().map(|t| t.sizes.get(i)).collect();
            let _ = writeln!(s, "## Queries at {} spans\n", human(size.size));
            for (t, f) in self.targets.iter().zip(&others) {
                match f {
                    Some(f) if !f.reached => {
                        let _ = writeln!(
                            s,
                            "{} did not reach {} spans within its time budget: measured at {} spans.\n",
                            t.name,
                            human(f.size),
                            human(f.spans)
                        );
                    }
                    None => {
                        let stopped = t.sizes.last().map_or(0, |f| f.spans);
                        let _ = writeln!(
                            s,
                            "{} was not measured here: its time budget ran out at {} spans.\n",
                            t.name,
                            human(stopped)
                        );
                    }
                    Some(_) => {}
                }
            }
            let (head, rule) = self.columns();
            let _ = writeln!(s, "{head}\n{rule}");
            for q in &size.queries {
                let find = |f: &Option<&SizeFigure>| {
                    f.and_then(|f| f.queries.iter().find(|x| x.name == q.name))
                        .cloned()
                };
                let figures: Vec<Option<QueryFigure>> = others.iter().map(find).collect();
                for (pct, pick) in [
                    ("p50", (|l: Latency| l.p50_ms) as fn(Latency) -> f64),
                    ("p99", |l: Latency| l.p99_ms),
                ] {
                    let values: Vec<Option<f64>> = figures
                        .iter()
                        .map(|f| f.as_ref().and_then(|f| f.latency).map(pick))
                        .collect();
                    self.row(
                        s,
                        &format!("{} {pct} ms", q.name),
                        &values,
                        |v| format!("{v:.1}"),
                        false,
                    );
                }
            }
            let notes: Vec<String> = self
                .targets
                .iter()
                .zip(&others)
                .flat_map(|(t, f)| {
                    f.iter()
                        .flat_map(|f| f.queries.iter())
                        .filter_map(move |q| {
                            q.note
                                .as_ref()
                                .map(|n| format!("- {} — {}: {n}", t.name, q.name))
                        })
                })
                .collect();
            if !notes.is_empty() {
                let _ = writeln!(s, "\n{}", notes.join("\n"));
            }
            s.push('\n');
        }
    }

    fn resource_table(&self, s: &mut String) {
        let (head, rule) = self.columns();
        let _ = writeln!(s, "## Storage and resources\n\n{head}\n{rule}");
        let last: Vec<Option<&SizeFigure>> = self.targets.iter().map(|t| t.sizes.last()).collect();
        self.row(
            s,
            "spans stored",
            &last
                .iter()
                .map(|f| f.map(|f| f.spans as f64))
                .collect::<Vec<_>>(),
            |v| human(v as u64),
            true,
        );
        self.row(
            s,
            "bytes on disk per span",
            &last
                .iter()
                .map(|f| f.map(|f| f.bytes_per_span))
                .collect::<Vec<_>>(),
            |v| format!("{v:.0}"),
            false,
        );
        self.row(
            s,
            "server peak RSS MB",
            &self
                .targets
                .iter()
                .map(|t| Some(t.usage.peak_rss_bytes as f64 / 1e6))
                .collect::<Vec<_>>(),
            |v| format!("{v:.0}"),
            false,
        );
        self.row(
            s,
            "server CPU seconds",
            &self
                .targets
                .iter()
                .map(|t| Some(t.usage.cpu_seconds))
                .collect::<Vec<_>>(),
            |v| format!("{v:.1}"),
            false,
        );
        self.row(
            s,
            "server CPU ms per 1,000 spans",
            &self
                .targets
                .iter()
                .zip(&last)
                .map(|(t, f)| f.map(|f| t.usage.cpu_seconds * 1e6 / f.spans.max(1) as f64))
                .collect::<Vec<_>>(),
            |v| format!("{v:.0}"),
            false,
        );
        if self.targets.iter().any(|t| t.store_usage.is_some()) {
            self.row(
                s,
                "ClickHouse peak RSS MB",
                &self
                    .targets
                    .iter()
                    .map(|t| t.store_usage.map(|u| u.peak_rss_bytes as f64 / 1e6))
                    .collect::<Vec<_>>(),
                |v| format!("{v:.0}"),
                false,
            );
            self.row(
                s,
                "ClickHouse CPU ms per 1,000 spans",
                &self
                    .targets
                    .iter()
                    .zip(&last)
                    .map(|(t, f)| {
                        Some(t.store_usage?.cpu_seconds * 1e6 / f.as_ref()?.spans.max(1) as f64)
                    })
                    .collect::<Vec<_>>(),
                |v| format!("{v:.0}"),
                false,
            );
        }
        s.push('\n');
    }

    fn physical_table(&self, s: &mut String) {
        let p = &self.physical;
        let _ = writeln!(
            s,
            "## Physical reference (this machine)\n\n| | figure |\n| --- | --- |"
        );
        let _ = writeln!(
            s,
            "| OTLP protobuf decode, one core | {:.0} spans/s ({:.0} MB/s) |",
            p.decode_spans_per_s, p.decode_mb_per_s
        );
        let _ = writeln!(
            s,
            "| decode + normalise (lemma-core), one core | {:.0} spans/s |",
            p.normalize_spans_per_s
        );
        let _ = writeln!(
            s,
            "| sequential write, fsynced | {:.0} MB/s |",
            p.write_mb_per_s
        );
        let _ = writeln!(s, "| 4 KiB append + fdatasync | {:.0} /s |", p.fsyncs_per_s);
        if let Some(best) = self.lemma().and_then(|l| {
            l.loads
                .iter()
                .max_by(|a, b| a.spans_per_s.total_cmp(&b.spans_per_s))
        }) {
            let _ = writeln!(
                s,
                "\nLemma's best ingest step reached {:.0}% of one core's decode + normalise rate, {:.1}% of the raw decode rate and {:.1}% of the disk's sequential bandwidth.",
                100.0 * best.spans_per_s / p.normalize_spans_per_s,
                100.0 * best.spans_per_s / p.decode_spans_per_s,
                100.0 * best.mb_per_s / p.write_mb_per_s
            );
        }
        s.push('\n');
    }
}

/// 1234567 → "1.2M", 100000 → "100k".
pub fn human(n: u64) -> String {
    match n {
        n if n >= 1_000_000 => trim(format!("{:.1}", n as f64 / 1e6)) + "M",
        n if n >= 10_000 => format!("{:.0}k", n as f64 / 1e3),
        n if n >= 1_000 => trim(format!("{:.1}", n as f64 / 1e3)) + "k",
        n => n.to_string(),
    }
}

fn trim(s: String) -> String {
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes() {
        assert_eq!(human(1_000_000), "1M");
        assert_eq!(human(1_250_000), "1.2M");
        assert_eq!(human(100_000), "100k");
        assert_eq!(human(2_000), "2k");
        assert_eq!(human(2_500), "2.5k");
        assert_eq!(human(950), "950");
    }

    #[test]
    fn a_load_figure_adds_chunks() {
        let load = |spans: u64, secs: f64, ms_lat: u64| Load {
            exporters: 4,
            requests: 1,
            spans,
            bytes: spans * 1000,
            seconds: secs,
            latencies: vec![Duration::from_millis(ms_lat)],
            refused: 1,
            probes: Vec::new(),
            after_last_ack: Some(Duration::from_millis(5)),
            stored_seconds: Some(secs * 2.0),
        };
        let mut f = LoadFigure::new(4, 0);
        f.add(&load(1000, 1.0, 10));
        f.add(&load(3000, 1.0, 30));
        let f = f.finish();
        assert_eq!(f.spans, 4000);
        assert_eq!(f.spans_per_s, 2000.0);
        assert_eq!(f.mb_per_s, 2.0);
        assert_eq!(f.stored_spans_per_s, Some(1000.0));
        assert_eq!(f.refused, 2);
        assert_eq!(f.latency.unwrap().p99_ms, 30.0);
    }
}
