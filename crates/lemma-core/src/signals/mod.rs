//! Signals: what in a run is worth a look, found as its spans arrive.
//!
//! [`detect`] is a pure function of a run's spans (their digests), its evaluation results and a
//! little context the caller looks up (the agent's recent runs, the previous turn of its
//! thread, how long the run or thread has been quiet). The same spans always give the same
//! signals, whatever order they came in. Loops of identical tool calls are not found here:
//! the run's summary keeps them exactly as spans arrive (`run::ledger`), and a caller adds
//! them with [`with_loops`].

mod calls;
mod marks;
mod settings;
mod shape;
#[cfg(test)]
mod tests;
mod text;
mod turns;
mod usage;

use std::cmp::Ordering;

pub use marks::{marks_of, valid_name, SpanMark, FLAGS};
pub use settings::{ClassifierSettings, SignalSettings};
pub use text::{similarity, user_text};
pub use usage::context_window;

use crate::metrics::MetricEvent;
use crate::run::{Run, RunSignal, SpanDigest};

/// The most signals of one name a run reports; a run of thousands of failures needs the
/// first few, and its other signals must not be crowded out.
pub const MAX_PER_KIND: usize = 10;

/// What an agent's recent finished runs used, to tell a spike from the usual.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Baseline {
    /// How many runs the medians are over.
    pub runs: u32,
    pub median_tokens: f64,
    pub median_cost_usd: Option<f64>,
}

/// The turn before this run in its thread.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PreviousTurn {
    pub run_id: String,
    /// What the user said then.
    pub input_text: String,
    /// Whether that turn gave an answer (an output) before this one began.
    pub answered: bool,
}

/// Everything [`detect`] reads about one run.
#[derive(Debug, Clone)]
pub struct Evidence<'a> {
    pub run: &'a Run,
    /// Every span of the run present, in any order.
    pub spans: &'a [SpanDigest],
    /// The run's metric events; those from evaluators become signals.
    pub metrics: &'a [MetricEvent],
    /// The run's agent's recent runs, without this one.
    pub baseline: Option<Baseline>,
    pub previous_turn: Option<PreviousTurn>,
    /// How long since a span of this run last arrived, when its root has not.
    pub open_quiet_ns: Option<u64>,
    /// How long since this run ended, when it is the newest turn of its thread.
    pub thread_quiet_ns: Option<u64>,
}

impl<'a> Evidence<'a> {
    /// The evidence of the run and its spans alone; the rest is added by whoever has it.
    pub fn new(run: &'a Run, spans: &'a [SpanDigest]) -> Evidence<'a> {
        Evidence {
            run,
            spans,
            metrics: &[],
            baseline: None,
            previous_turn: None,
            open_quiet_ns: None,
            thread_quiet_ns: None,
        }
    }
}

/// The signals of a run, most severe first, then in the order of the spans they point at.
pub fn detect(evidence: &Evidence, settings: &SignalSettings) -> Vec<RunSignal> {
    if !settings.enabled {
        return Vec::new();
    }
    let mut spans: Vec<&SpanDigest> = evidence.spans.iter().collect();
    spans.sort_by(|a, b| start_order(a, b));
    spans.dedup_by(|a, b| a.span_id == b.span_id);

    let mut out = Vec::new();
    out.extend(calls::error_streaks(&spans, settings));
    out.extend(calls::failing_tools(&spans, settings));
    out.extend(calls::similar_calls(&spans, settings));
    out.extend(calls::cycles(&spans, settings));
    out.extend(shape::depth(&spans, settings));
    out.extend(shape::fan_out(&spans, settings));
    out.extend(usage::context(&spans, settings));
    if let Some(b) = &evidence.baseline {
        out.extend(usage::spikes(evidence.run, b, settings));
    }
    out.extend(marks::from_spans(&spans));
    out.extend(marks::from_evaluations(evidence.metrics));
    let rephrase = evidence
        .previous_turn
        .as_ref()
        .and_then(|p| turns::rephrase(evidence.run, p, settings));
    let rephrased = rephrase.is_some();
    out.extend(rephrase);
    out.extend(
        evidence
            .open_quiet_ns
            .and_then(|q| turns::stalled(evidence.run, q, settings)),
    );
    out.extend(
        evidence
            .thread_quiet_ns
            .and_then(|q| turns::abandoned(evidence.run, rephrased, q, settings)),
    );
    sorted(out)
}

/// `found` with the loops of the run's summary added (found first by the summary, so kept
/// when both name the same span), in the order [`detect`] gives.
pub fn with_loops(found: Vec<RunSignal>, loops: &[RunSignal]) -> Vec<RunSignal> {
    let mut all: Vec<RunSignal> = loops.to_vec();
    for s in found {
        if !all
            .iter()
            .any(|l| l.kind == s.kind && l.span_id == s.span_id)
        {
            all.push(s);
        }
    }
    sorted(all)
}

fn sorted(mut signals: Vec<RunSignal>) -> Vec<RunSignal> {
    // Stable: within a severity, detectors already list by span order.
    signals.sort_by_key(|s| std::cmp::Reverse(s.severity));
    let mut kept = Vec::with_capacity(signals.len());
    let mut counts = std::collections::HashMap::<String, usize>::new();
    for s in signals {
        let n = counts.entry(s.kind.clone()).or_default();
        *n += 1;
        if *n <= MAX_PER_KIND {
            kept.push(s);
        }
    }
    kept
}

/// Start order, the longer first when two start together (a parent before the child it
/// starts with), then span id: the order the run's summary uses.
fn start_order(a: &SpanDigest, b: &SpanDigest) -> Ordering {
    a.start_time_unix_nano
        .cmp(&b.start_time_unix_nano)
        .then(b.end_time_unix_nano.cmp(&a.end_time_unix_nano))
        .then_with(|| a.span_id.cmp(&b.span_id))
}

/// `1.2 s`, `4 min`, `2 h`: a duration for an explanation.
fn duration_text(ns: u64) -> String {
    let s = ns / 1_000_000_000;
    match s {
        0..=119 => format!("{s} s"),
        120..=7_199 => format!("{} min", s / 60),
        _ => format!("{} h", s / 3_600),
    }
}
