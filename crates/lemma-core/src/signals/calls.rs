//! Signals over a run's calls in start order: streaks of failures, a tool failing again and
//! again, stretches of calls with near-identical arguments, and cycles of calls.

use std::collections::BTreeMap;

use super::{similarity, SignalSettings};
use crate::model::{SpanKind, StatusCode};
use crate::run::{RunSignal, Severity, SpanDigest};

fn is_call(s: &SpanDigest) -> bool {
    matches!(s.kind, SpanKind::Tool | SpanKind::Llm)
}

fn tools<'a>(spans: &[&'a SpanDigest]) -> Vec<&'a SpanDigest> {
    spans
        .iter()
        .copied()
        .filter(|s| s.kind == SpanKind::Tool)
        .collect()
}

fn failed(s: &SpanDigest) -> bool {
    s.status == StatusCode::Error
}

fn call_name(s: &SpanDigest) -> &str {
    s.tool_name
        .as_deref()
        .or(s.model.as_deref())
        .unwrap_or(&s.name)
}

/// Maximal stretches of `spans` for which `same(previous, next)` holds between neighbours,
/// as (start, length), of at least `min` items.
fn stretches<T>(items: &[T], min: usize, same: impl Fn(&T, &T) -> bool) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < items.len() {
        let mut j = i + 1;
        while j < items.len() && same(&items[j - 1], &items[j]) {
            j += 1;
        }
        if j - i >= min {
            out.push((i, j - i));
        }
        i = j;
    }
    out
}

/// `error_streak`: N or more tool or model calls in a row failed.
pub fn error_streaks(spans: &[&SpanDigest], settings: &SignalSettings) -> Vec<RunSignal> {
    let calls: Vec<&SpanDigest> = spans.iter().copied().filter(|s| is_call(s)).collect();
    let min = settings.error_streak as usize;
    let mut out = Vec::new();
    let mut i = 0;
    while i < calls.len() {
        let len = calls[i..].iter().take_while(|s| failed(s)).count();
        if len >= min {
            let last = calls[i + len - 1];
            let why = last
                .status_message
                .as_deref()
                .filter(|m| !m.is_empty())
                .map(|m| format!("; the last, {}: {}", call_name(last), cut(m, 160)))
                .unwrap_or_default();
            out.push(RunSignal {
                kind: "error_streak".into(),
                severity: Severity::Critical,
                span_id: Some(calls[i].span_id.clone()),
                explanation: format!("{len} tool and model calls in a row failed{why}"),
                repeats: len as u32,
                ..RunSignal::default()
            });
        }
        i += len.max(1);
    }
    out
}

/// `tool_failing`: one tool failed N or more times in the run, in a row or not.
pub fn failing_tools(spans: &[&SpanDigest], settings: &SignalSettings) -> Vec<RunSignal> {
    // Tool name → (first failure, failures, calls), listed by first failure.
    let mut by_tool: BTreeMap<&str, (usize, &SpanDigest, u32, u32)> = BTreeMap::new();
    for (i, s) in tools(spans).into_iter().enumerate() {
        let name = call_name(s);
        let entry = by_tool.entry(name).or_insert((usize::MAX, s, 0, 0));
        entry.3 += 1;
        if failed(s) {
            if entry.2 == 0 {
                (entry.0, entry.1) = (i, s);
            }
            entry.2 += 1;
        }
    }
    let mut found: Vec<_> = by_tool
        .into_iter()
        .filter(|(_, (_, _, failures, _))| *failures >= settings.tool_failures)
        .collect();
    found.sort_by_key(|(_, (first, ..))| *first);
    found
        .into_iter()
        .map(|(name, (_, first, failures, calls))| RunSignal {
            kind: "tool_failing".into(),
            severity: Severity::Warning,
            span_id: Some(first.span_id.clone()),
            explanation: format!("{name} failed {failures} of {calls} times"),
            tool_name: first.tool_name.clone(),
            repeats: failures,
            ..RunSignal::default()
        })
        .collect()
}

/// `similar_calls`: N or more calls of one tool in a row with near-identical arguments (a
/// search re-worded by a letter). Stretches of identical calls are loops, found elsewhere.
pub fn similar_calls(spans: &[&SpanDigest], settings: &SignalSettings) -> Vec<RunSignal> {
    let tools = tools(spans);
    let alike = |a: &&SpanDigest, b: &&SpanDigest| {
        a.tool_name == b.tool_name
            && match (&a.tool_args, &b.tool_args) {
                (Some(x), Some(y)) => x == y || similarity(x, y) >= settings.similar_arguments,
                (None, None) => true,
                _ => false,
            }
    };
    stretches(&tools, settings.repeats as usize, alike)
        .into_iter()
        .filter(|&(i, len)| {
            // All identical is a loop; so is a stretch made only of identical runs.
            let distinct = tools[i..i + len]
                .windows(2)
                .filter(|w| w[0].tool_args != w[1].tool_args)
                .count();
            distinct > 0
        })
        .map(|(i, len)| {
            let first = tools[i];
            RunSignal {
                kind: "similar_calls".into(),
                severity: Severity::Warning,
                span_id: Some(first.span_id.clone()),
                explanation: format!(
                    "{} was called {len} times in a row with nearly the same arguments",
                    call_name(first)
                ),
                tool_name: first.tool_name.clone(),
                tool_args: first
                    .tool_args
                    .as_deref()
                    .and_then(|a| serde_json::from_str(a).ok()),
                repeats: len as u32,
                ..RunSignal::default()
            }
        })
        .collect()
}

/// `cycle`: the same two or three calls (name and arguments) again and again, A→B→A→B, at
/// least N times round.
pub fn cycles(spans: &[&SpanDigest], settings: &SignalSettings) -> Vec<RunSignal> {
    let tools = tools(spans);
    let key = |s: &SpanDigest| (s.tool_name.clone(), s.tool_args.clone());
    let keys: Vec<_> = tools.iter().map(|s| key(s)).collect();
    let rounds = settings.repeats as usize;
    let mut out = Vec::new();
    let mut i = 0;
    'scan: while i < keys.len() {
        for period in 2..=3 {
            // The period's calls must differ from their neighbours, or it is a loop.
            let distinct =
                (0..period).all(|k| i + k + 1 < keys.len() && keys[i + k] != keys[i + k + 1]);
            if !distinct {
                continue;
            }
            let mut len = period;
            while i + len < keys.len() && keys[i + len] == keys[i + len - period] {
                len += 1;
            }
            if len / period >= rounds {
                let names: Vec<&str> = tools[i..i + period].iter().map(|s| call_name(s)).collect();
                out.push(RunSignal {
                    kind: "cycle".into(),
                    severity: Severity::Warning,
                    span_id: Some(tools[i].span_id.clone()),
                    explanation: format!(
                        "the calls {} went round {} times with the same arguments",
                        names.join(" → "),
                        len / period
                    ),
                    tool_name: tools[i].tool_name.clone(),
                    repeats: (len / period) as u32,
                    ..RunSignal::default()
                });
                i += len;
                continue 'scan;
            }
        }
        i += 1;
    }
    out
}

/// At most `max` characters of `s`, with `…` when cut.
pub(super) fn cut(s: &str, max: usize) -> String {
    let mut chars = s.chars();
    let head: String = chars.by_ref().take(max).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}
