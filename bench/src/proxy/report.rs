//! The figures: the JSON document, the goals, and the Markdown tables.

use serde::Serialize;

use super::client::Outcomes;
use crate::report::{human, Goal, Machine};
use crate::stats::Latency;

#[derive(Debug, Clone, Serialize)]
pub struct ProxyReport {
    pub machine: Machine,
    pub concurrency: usize,
    pub calls_per_client: usize,
    /// The model server's mean time over an unstreamed call (each between half and one and a
    /// half times it), left out of the calls' times.
    pub hold_ms: u64,
    pub streams_per_client: usize,
    pub chunks_per_stream: usize,
    pub chunk_gap_ms: u64,
    /// Send to last byte of the answer, less the time the model server held it back.
    pub unstreamed: Comparison,
    /// A chunk's time under way: made by the model server to read by the client.
    pub streamed_chunks: Comparison,
    pub open_streams: OpenStreams,
    /// The server's CPU time (user + system, recording the calls included) per 1,000 calls.
    pub cpu_seconds_per_1000_calls: f64,
    pub cpu_seconds_per_1000_streams: f64,
    pub goals: Vec<Goal>,
}

/// One measurement straight to the model server and through the proxy.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub direct: Option<Latency>,
    pub proxied: Option<Latency>,
    pub added: Option<Added>,
    pub direct_failures: usize,
    pub proxied_failures: usize,
    /// Calls (or streams) made per second on each side, over the time its batches took.
    pub direct_per_second: f64,
    pub proxied_per_second: f64,
}

/// The proxy's share: each percentile through the proxy minus the same percentile direct.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Added {
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
}

impl Added {
    pub fn between(direct: &Latency, proxied: &Latency) -> Added {
        Added {
            p50_ms: proxied.p50_ms - direct.p50_ms,
            p95_ms: proxied.p95_ms - direct.p95_ms,
            p99_ms: proxied.p99_ms - direct.p99_ms,
        }
    }
}

impl Comparison {
    pub(super) fn of(direct: &Outcomes, proxied: &Outcomes) -> Comparison {
        let (d, p) = (Latency::of(&direct.times), Latency::of(&proxied.times));
        Comparison {
            added: d.zip(p).map(|(d, p)| Added::between(&d, &p)),
            direct: d,
            proxied: p,
            direct_failures: direct.failures,
            proxied_failures: proxied.failures,
            direct_per_second: direct.calls as f64 / direct.seconds.max(1e-9),
            proxied_per_second: proxied.calls as f64 / proxied.seconds.max(1e-9),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct OpenStreams {
    pub streams: usize,
    pub chunks_per_stream: usize,
    pub chunk_gap_ms: u64,
    /// The first wave's (peak − before) / streams.
    pub rss_per_stream_bytes: u64,
    pub waves: Vec<Wave>,
}

/// One wave of streams opened at once.
#[derive(Debug, Clone, Serialize)]
pub struct Wave {
    /// Streams that got every chunk and the end.
    pub completed: usize,
    /// The most that had their answer's headers and not yet its end, at once.
    pub most_open: usize,
    pub seconds: f64,
    /// The server's resident memory before the streams open, the most sampled while they
    /// are open (every 20 ms), and once they have ended and been recorded.
    pub rss_before_bytes: u64,
    pub rss_peak_bytes: u64,
    pub rss_after_bytes: u64,
    pub chunk_delay: Option<Latency>,
    pub cpu_seconds: f64,
}

impl OpenStreams {
    /// Every stream of every wave completed, each wave's all open at once.
    pub fn all_completed(&self) -> bool {
        self.waves
            .iter()
            .all(|w| w.completed == self.streams && w.most_open == self.streams)
    }

    /// What the last wave's streams took (its peak less the memory before it) over what the
    /// first wave's took: at most 1 when open streams cost no more as waves go on. The memory
    /// between waves may still grow: the store's page cache (64 MiB for its writer) fills with
    /// the spans the waves recorded, and the allocator keeps what it was given.
    pub fn open_cost_growth(&self) -> f64 {
        let cost = |w: &Wave| w.rss_peak_bytes.saturating_sub(w.rss_before_bytes) as f64;
        match self.waves.as_slice() {
            [first, .., last] => cost(last) / cost(first).max(1.0),
            _ => 1.0,
        }
    }
}

fn ms(v: f64) -> String {
    format!("{v:.2} ms")
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

impl ProxyReport {
    /// The figures against the proxy's goals.
    pub fn goals(&self) -> Vec<Goal> {
        let mut out = Vec::new();
        if let Some(added) = self.unstreamed.added {
            out.push(Goal {
                goal: format!(
                    "added latency ≤ 2 ms p99 per unstreamed call, {} at once",
                    self.concurrency
                ),
                measured: ms(added.p99_ms),
                met: added.p99_ms <= 2.0 && self.unstreamed.proxied_failures == 0,
            });
        }
        if let Some(added) = self.streamed_chunks.added {
            out.push(Goal {
                goal: format!(
                    "added latency ≤ 1 ms p99 per streamed chunk, {} streams at once",
                    self.concurrency
                ),
                measured: ms(added.p99_ms),
                met: added.p99_ms <= 1.0 && self.streamed_chunks.proxied_failures == 0,
            });
        }
        let o = &self.open_streams;
        out.push(Goal {
            goal: format!(
                "{} streams open at once with bounded memory",
                human(o.streams as u64)
            ),
            measured: format!(
                "{} waves, {}; {:.0} KB RSS per stream; peaks {}",
                o.waves.len(),
                if o.all_completed() {
                    "all completed, all open at once"
                } else {
                    "**not all completed**"
                },
                o.rss_per_stream_bytes as f64 / 1e3,
                o.waves
                    .iter()
                    .map(|w| mb(w.rss_peak_bytes))
                    .collect::<Vec<_>>()
                    .join(" → "),
            ),
            met: o.all_completed() && o.open_cost_growth() <= 1.0,
        });
        out
    }

    pub fn markdown(&self) -> String {
        let m = &self.machine;
        let mut s = format!(
            "# Lemma LLM proxy benchmark\n\n\
             Machine: {} × {} cores, {:.1} GB RAM, Linux {}. A model server in the benchmark's \
             process; {} clients call at once, straight to it and through `lemma serve`'s proxy \
             in front of it, in alternating batches.\n\n",
            m.cpu,
            m.cores,
            m.memory_bytes as f64 / 1e9,
            m.kernel,
            self.concurrency
        );
        let model = if self.hold_ms == 0 {
            "the model server answers at once".to_string()
        } else {
            format!(
                "the model server holds each answer back {}–{} ms, which is left out",
                self.hold_ms / 2,
                self.hold_ms * 3 / 2
            )
        };
        s.push_str(&format!(
            "## Unstreamed calls\n\nSend to last byte of the answer; {model}; {} calls per \
             client each way.\n\n",
            self.calls_per_client
        ));
        table(&mut s, "calls", "calls/s", &self.unstreamed);
        s.push_str(&format!(
            "## Streamed chunks\n\nEach chunk from when the model server made it to when the \
             client read it; {} streams per client each way, {} chunks {} ms apart.\n\n",
            self.streams_per_client, self.chunks_per_stream, self.chunk_gap_ms
        ));
        table(&mut s, "chunks", "streams/s", &self.streamed_chunks);
        s.push_str(
            "Added = the percentile through the proxy minus the same percentile direct (calls \
             are not paired, so this is not a percentile of per-call differences).\n\n",
        );
        let o = &self.open_streams;
        s.push_str(&format!(
            "## {} streams open at once through the proxy\n\n\
             {} chunks {} ms apart each, in waves one after the other; the server's resident \
             memory sampled every 20 ms. Per stream: the first wave's peak less the memory before \
             it, over the streams. Bounded: every stream completed, and the last wave's streams \
             took no more memory (peak less before) than the first's. Between waves the memory \
             may grow as the store's page cache (64 MiB for its writer) fills with the spans the \
             waves recorded.\n\n\
             | wave | completed | most open at once | lasted | RSS before | peak | after | chunk p50 | chunk p99 | CPU |\n\
             | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
            human(o.streams as u64),
            o.chunks_per_stream,
            o.chunk_gap_ms,
        ));
        for (i, w) in o.waves.iter().enumerate() {
            s.push_str(&format!(
                "| {} | {} of {} | {} | {:.1} s | {} | {} | {} | {} | {} | {:.2} s |\n",
                i + 1,
                w.completed,
                o.streams,
                w.most_open,
                w.seconds,
                mb(w.rss_before_bytes),
                mb(w.rss_peak_bytes),
                mb(w.rss_after_bytes),
                w.chunk_delay.map_or("–".into(), |l| ms(l.p50_ms)),
                w.chunk_delay.map_or("–".into(), |l| ms(l.p99_ms)),
                w.cpu_seconds,
            ));
        }
        s.push_str(&format!(
            "\nRSS per open stream: {:.0} KB.\n\n",
            o.rss_per_stream_bytes as f64 / 1e3
        ));
        s.push_str(&format!(
            "## Server CPU\n\nUser + system time of `lemma serve`, recording the calls included.\n\n\
             | | CPU |\n| --- | ---: |\n\
             | per 1,000 unstreamed calls ({:.0} calls/s) | {:.2} s |\n\
             | per 1,000 streams of {} chunks ({:.0} streams/s) | {:.2} s |\n\n",
            self.unstreamed.proxied_per_second,
            self.cpu_seconds_per_1000_calls,
            self.chunks_per_stream,
            self.streamed_chunks.proxied_per_second,
            self.cpu_seconds_per_1000_streams
        ));
        s.push_str("## Goals\n\n| goal | measured | met |\n| --- | --- | --- |\n");
        for g in &self.goals {
            s.push_str(&format!(
                "| {} | {} | {} |\n",
                g.goal,
                g.measured,
                if g.met { "yes" } else { "**no**" }
            ));
        }
        s
    }
}

/// The direct, proxied and added rows of one comparison.
fn table(s: &mut String, what: &str, rate: &str, c: &Comparison) {
    s.push_str(&format!(
        "| | {what} | failed | {rate} | p50 | p95 | p99 | max |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
    ));
    for (name, l, failed, per_second) in [
        ("direct", c.direct, c.direct_failures, c.direct_per_second),
        (
            "through the proxy",
            c.proxied,
            c.proxied_failures,
            c.proxied_per_second,
        ),
    ] {
        match l {
            Some(l) => s.push_str(&format!(
                "| {name} | {} | {failed} | {per_second:.0} | {} | {} | {} | {} |\n",
                human(l.samples as u64),
                ms(l.p50_ms),
                ms(l.p95_ms),
                ms(l.p99_ms),
                ms(l.max_ms)
            )),
            None => s.push_str(&format!("| {name} | 0 | {failed} | – | – | – | – | – |\n")),
        }
    }
    if let Some(a) = c.added {
        s.push_str(&format!(
            "| **added** | | | | {} | {} | **{}** | |\n",
            ms(a.p50_ms),
            ms(a.p95_ms),
            ms(a.p99_ms)
        ));
    }
    s.push('\n');
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn latency(v: &[u64]) -> Latency {
        let micros: Vec<Duration> = v.iter().map(|&u| Duration::from_micros(u)).collect();
        Latency::of(&micros).unwrap()
    }

    #[test]
    fn added_is_the_difference_of_percentiles() {
        let direct = latency(&(1..=100).collect::<Vec<_>>());
        let proxied = latency(&(1..=100).map(|u| u * 2 + 100).collect::<Vec<_>>());
        let added = Added::between(&direct, &proxied);
        assert!((added.p50_ms - 0.150).abs() < 1e-9, "{added:?}");
        assert!((added.p95_ms - 0.195).abs() < 1e-9, "{added:?}");
        assert!((added.p99_ms - 0.199).abs() < 1e-9, "{added:?}");
    }

    #[test]
    fn a_comparison_counts_failures_and_leaves_out_a_missing_side() {
        let mut d = Outcomes::default();
        d.add(Ok(Duration::from_millis(1)), |t| vec![t]);
        let mut p = Outcomes::default();
        p.add::<Duration>(Err(anyhow::anyhow!("502")), |t| vec![t]);
        let c = Comparison::of(&d, &p);
        assert_eq!((c.direct_failures, c.proxied_failures), (0, 1));
        assert!(c.direct.is_some() && c.proxied.is_none() && c.added.is_none());
        assert_eq!(p.first_failure.as_deref(), Some("502"));
    }

    fn wave(completed: usize, before_mb: u64, peak_mb: u64) -> Wave {
        Wave {
            completed,
            most_open: completed,
            seconds: 10.0,
            rss_before_bytes: before_mb << 20,
            rss_peak_bytes: peak_mb << 20,
            rss_after_bytes: 0,
            chunk_delay: None,
            cpu_seconds: 0.0,
        }
    }

    #[test]
    fn memory_is_bounded_when_later_waves_take_no_more_than_the_first() {
        let open = |waves| OpenStreams {
            streams: 10,
            chunks_per_stream: 20,
            chunk_gap_ms: 500,
            rss_per_stream_bytes: 0,
            waves,
        };
        // Before 50, 100, 110 MB; peaks 100, 110, 125: 50 MB, then 10 and 15.
        let levels_off = open(vec![
            wave(10, 50, 100),
            wave(10, 100, 110),
            wave(10, 110, 125),
        ]);
        assert!(levels_off.all_completed() && levels_off.open_cost_growth() <= 1.0);
        // Each wave's streams take more than the last's.
        let keeps_growing = open(vec![wave(10, 50, 60), wave(10, 60, 90), wave(10, 90, 150)]);
        assert!(keeps_growing.open_cost_growth() > 1.0);
        assert!(!open(vec![wave(10, 0, 100), wave(9, 0, 100)]).all_completed());
    }
}
