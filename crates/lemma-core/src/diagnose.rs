//! Problems in how an app's spans arrived, read from a stored run: what an ingestion health
//! page shows with an example and the change that fixes it. Each check reads the run's light
//! rows only (no payloads), so a page can check many runs.

use std::collections::HashMap;

use serde::Serialize;

use crate::model::{SpanKind, SpanOutline};
use crate::run::Run;

/// A child starting this much before its parent is put down to clocks, not rounding.
pub const SKEW_TOLERANCE_NS: u64 = 10_000_000;
/// A run without a root is reported once it has been quiet this long (a root usually ends
/// last, so a run still going has none yet).
pub const ROOTLESS_AFTER_NS: u64 = 5 * 60 * 1_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    /// Spans name a parent that never arrived.
    MissingParent,
    /// A run has no root span.
    NoRoot,
    /// A child span starts before its parent.
    ClockSkew,
    /// One model call recorded by two instrumentations.
    DuplicateCall,
    /// Spans that arrived minutes after they ended (seen at ingest, not in a stored run).
    LateSpans,
}

impl Problem {
    pub const ALL: [Problem; 5] = [
        Problem::MissingParent,
        Problem::NoRoot,
        Problem::ClockSkew,
        Problem::DuplicateCall,
        Problem::LateSpans,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Problem::MissingParent => "Spans whose parent never arrived",
            Problem::NoRoot => "Runs without a root span",
            Problem::ClockSkew => "Child spans that start before their parent",
            Problem::DuplicateCall => "Model calls recorded twice",
            Problem::LateSpans => "Spans that arrived minutes after they ended",
        }
    }

    /// What to change in the app.
    pub fn fix(self) -> &'static str {
        match self {
            Problem::MissingParent => {
                "The trace context was not carried to where the child started. Pass the \
                 current context into threads, tasks and callbacks (OpenTelemetry's \
                 context.attach / contextvars; Lemma's SDKs do this for agent(), tool() and \
                 llm()), send a W3C traceparent header to other services and subprocesses, \
                 and make sure every process that writes the run exports to Lemma."
            }
            Problem::NoRoot => {
                "The process that started the run ended before exporting its first span (the \
                 root ends last, so it is the one lost). Flush before exit: \
                 tracer_provider.shutdown() or force_flush(), at the end of a script, a \
                 serverless handler or a worker's job."
            }
            Problem::ClockSkew => {
                "Parent and child were timed on hosts whose clocks disagree. Synchronise the \
                 hosts' clocks (NTP, chrony); spans keep their own timestamps, so Lemma \
                 cannot correct them."
            }
            Problem::DuplicateCall => {
                "Two instrumentations recorded the same model call (for example a \
                 framework's and the provider SDK's). Lemma counts its tokens and cost once \
                 either way; turn one instrumentation off to keep the tree readable."
            }
            Problem::LateSpans => {
                "The exporter held spans long after they ended: a process that exports only \
                 when it exits, a batch processor with a long delay (OTEL_BSP_SCHEDULE_DELAY), \
                 an exporter retrying against an unreachable endpoint, or a host clock behind. \
                 Flush at the end of each run, shorten the delay, or check the host's clock."
            }
        }
    }
}

/// One instance of a problem in a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub problem: Problem,
    /// The span it shows in (none for a run without a root).
    pub span_id: Option<String>,
    /// What was seen, in words.
    pub detail: String,
}

/// The problems of one run, at `now`.
pub fn diagnose(run: &Run, rows: &[SpanOutline], now: u64) -> Vec<Finding> {
    let by_id: HashMap<&str, &SpanOutline> = rows.iter().map(|r| (r.span_id.as_str(), r)).collect();
    let mut out = Vec::new();
    let mut missing: Vec<&SpanOutline> = Vec::new();
    for row in rows {
        let Some(parent_id) = row.parent_span_id.as_deref() else {
            continue;
        };
        match by_id.get(parent_id) {
            None => missing.push(row),
            Some(parent) => {
                if let Some(finding) = skew(parent, row) {
                    out.push(finding);
                }
                if let Some(finding) = duplicate(parent, row) {
                    out.push(finding);
                }
            }
        }
    }
    // One finding per missing parent: its children share the cause.
    let mut seen = std::collections::HashSet::new();
    for row in missing {
        let parent = row.parent_span_id.as_deref().unwrap_or_default();
        if seen.insert(parent) {
            out.push(Finding {
                problem: Problem::MissingParent,
                span_id: Some(row.span_id.clone()),
                detail: format!(
                    "span {:?} ({}) names parent {parent}, which the run does not hold",
                    row.name, row.span_id
                ),
            });
        }
    }
    if !run.has_root && now.saturating_sub(run.end_time_unix_nano) >= ROOTLESS_AFTER_NS {
        out.push(Finding {
            problem: Problem::NoRoot,
            span_id: None,
            detail: format!(
                "{} spans, none without a parent; the earliest is {:?}",
                run.span_count, run.name
            ),
        });
    }
    out
}

fn skew(parent: &SpanOutline, child: &SpanOutline) -> Option<Finding> {
    let early = parent
        .start_time_unix_nano
        .checked_sub(child.start_time_unix_nano)?;
    (early > SKEW_TOLERANCE_NS).then(|| Finding {
        problem: Problem::ClockSkew,
        span_id: Some(child.span_id.clone()),
        detail: format!(
            "span {:?} starts {} before its parent {:?}",
            child.name,
            millis(early),
            parent.name
        ),
    })
}

/// A model call inside a model call of the same model with the same token counts.
fn duplicate(parent: &SpanOutline, child: &SpanOutline) -> Option<Finding> {
    let tokens = |s: &SpanOutline| (s.input_tokens, s.output_tokens);
    let same = parent.kind == SpanKind::Llm
        && child.kind == SpanKind::Llm
        && parent.model.is_some()
        && parent.model == child.model
        && tokens(parent) != (None, None)
        && tokens(parent) == tokens(child);
    same.then(|| Finding {
        problem: Problem::DuplicateCall,
        span_id: Some(child.span_id.clone()),
        detail: format!(
            "{:?} and its parent {:?} record one {} call ({} in, {} out tokens)",
            child.name,
            parent.name,
            child.model.as_deref().unwrap_or_default(),
            child.input_tokens.unwrap_or(0),
            child.output_tokens.unwrap_or(0)
        ),
    })
}

fn millis(ns: u64) -> String {
    match ns {
        ns if ns >= 1_000_000_000 => format!("{:.1} s", ns as f64 / 1e9),
        ns => format!("{} ms", ns / 1_000_000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, parent: Option<&str>, start_ms: u64, end_ms: u64) -> SpanOutline {
        SpanOutline {
            span_id: id.into(),
            parent_span_id: parent.map(str::to_string),
            name: format!("step {id}"),
            kind: SpanKind::Span,
            start_time_unix_nano: start_ms * 1_000_000,
            end_time_unix_nano: end_ms * 1_000_000,
            status: Default::default(),
            model: None,
            tool_name: None,
            agent_name: None,
            input_tokens: None,
            output_tokens: None,
            total_tokens: None,
            cost_usd: None,
        }
    }

    fn llm(id: &str, parent: Option<&str>, tokens: (u64, u64)) -> SpanOutline {
        SpanOutline {
            kind: SpanKind::Llm,
            model: Some("gpt-4o".into()),
            input_tokens: Some(tokens.0),
            output_tokens: Some(tokens.1),
            ..row(id, parent, 10, 20)
        }
    }

    fn run(has_root: bool, end_ms: u64) -> Run {
        Run {
            has_root,
            end_time_unix_nano: end_ms * 1_000_000,
            span_count: 3,
            name: "step a".into(),
            ..Run::default()
        }
    }

    fn problems(findings: &[Finding]) -> Vec<Problem> {
        findings.iter().map(|f| f.problem).collect()
    }

    #[test]
    fn a_clean_run_has_no_findings() {
        let rows = [
            row("a", None, 0, 100),
            row("b", Some("a"), 10, 50),
            llm("c", Some("b"), (5, 6)),
        ];
        assert!(diagnose(&run(true, 100), &rows, 100 * 1_000_000).is_empty());
    }

    #[test]
    fn missing_parents_are_reported_once_per_parent() {
        let rows = [
            row("a", Some("gone"), 0, 100),
            row("b", Some("gone"), 10, 50),
            row("c", Some("lost"), 10, 50),
        ];
        let found = diagnose(&run(true, 100), &rows, 0);
        assert_eq!(
            problems(&found),
            [Problem::MissingParent, Problem::MissingParent]
        );
        assert!(found[0].detail.contains("gone"));
    }

    #[test]
    fn a_rootless_run_is_reported_once_it_is_quiet() {
        let rows = [row("a", Some("gone"), 0, 100)];
        let quiet = 100 * 1_000_000 + ROOTLESS_AFTER_NS;
        assert_eq!(
            problems(&diagnose(&run(false, 100), &rows, quiet)),
            [Problem::MissingParent, Problem::NoRoot]
        );
        assert_eq!(
            problems(&diagnose(&run(false, 100), &rows, quiet - 1)),
            [Problem::MissingParent],
            "still going"
        );
    }

    #[test]
    fn children_starting_before_their_parent_beyond_the_tolerance() {
        let rows = [
            row("a", None, 1_000, 5_000),
            row("b", Some("a"), 995, 2_000), // 5 ms early: rounding
            row("c", Some("a"), 400, 2_000), // 600 ms early: clocks
        ];
        let found = diagnose(&run(true, 5_000), &rows, 0);
        assert_eq!(problems(&found), [Problem::ClockSkew]);
        assert_eq!(found[0].span_id.as_deref(), Some("c"));
        assert!(found[0].detail.contains("600 ms"), "{}", found[0].detail);
    }

    #[test]
    fn a_model_call_inside_the_same_call_is_a_duplicate() {
        let rows = [
            row("a", None, 0, 100),
            llm("b", Some("a"), (5, 6)),
            llm("c", Some("b"), (5, 6)), // the same call, twice
            llm("d", Some("a"), (7, 8)),
            llm("e", Some("d"), (1, 2)), // a different call
        ];
        let found = diagnose(&run(true, 100), &rows, 0);
        assert_eq!(problems(&found), [Problem::DuplicateCall]);
        assert_eq!(found[0].span_id.as_deref(), Some("c"));
    }
}
