//! The compact span tree: one line per span, repeated tool calls folded into one line. Each line
//! ends with its span's id, so a reader can ask for that span in full.

use super::fold::{fold, Class, Unit};
use super::spans::SpanTree;
use super::{budget, error_of, indent, span_duration, tool_args, tool_key, tool_name, truncate};
use super::{Budget, Page};
use crate::model::{Span, SpanKind};
use crate::run::Run;

/// The run's spans as an indented tree, paged by line.
pub fn tree(run: &Run, spans: &[Span], budget: &Budget) -> Page {
    let t = SpanTree::new(spans);
    let span = |n: usize| t.spans[t.order[n]];
    let units = fold(
        t.order.len(),
        |n| t.depth[t.order[n]],
        |n| match span(n).kind {
            SpanKind::Tool => Class::Tool(tool_key(span(n))),
            SpanKind::Llm => Class::Between,
            _ => Class::Other,
        },
    );
    let entries: Vec<String> = units
        .iter()
        .map(|unit| match unit {
            Unit::One(n) => indent(&line(span(*n), budget), t.depth[t.order[*n]]),
            Unit::Fold { items, count } => {
                let folded: Vec<&Span> = items.clone().map(span).collect();
                indent(
                    &fold_line(&folded, *count, budget),
                    t.depth[t.order[items.start]],
                )
            }
        })
        .collect();
    budget::paginate(&super::header(run, "span tree"), &entries, budget)
}

pub(super) fn line(s: &Span, budget: &Budget) -> String {
    let mut out = format!("{} {}  {}", s.kind.as_str(), s.name, span_duration(s));
    if let Some(model) = &s.model {
        out.push_str(&format!("  {model}"));
    }
    if let (Some(i), Some(o)) = (s.usage.input_tokens, s.usage.output_tokens) {
        out.push_str(&format!("  {i}→{o} tok"));
    }
    if s.kind == SpanKind::Tool {
        if s.tool_name.as_deref().is_some_and(|t| !s.name.contains(t)) {
            out.push_str(&format!("  {}", tool_name(s)));
        }
        if let Some(args) = tool_args(s) {
            out.push_str(&format!(
                "  {}",
                truncate(&args.to_string(), budget.max_item_chars)
            ));
        }
    }
    if let Some(error) = error_of(s) {
        out.push_str(&format!("  {}", truncate(&error, budget.max_item_chars)));
    }
    out.push_str(&format!("  #{}", s.span_id));
    out
}

/// A fold: its first call's line, how many identical calls, what ran between, what failed.
fn fold_line(spans: &[&Span], count: usize, budget: &Budget) -> String {
    let first = spans[0];
    let models = spans.iter().filter(|s| s.kind == SpanKind::Llm).count();
    let errors: Vec<String> = spans
        .iter()
        .filter(|s| s.kind == SpanKind::Tool)
        .filter_map(|s| error_of(s))
        .collect();
    let mut out = format!(
        "{}  × {count} identical {} calls",
        line(first, budget),
        tool_name(first)
    );
    if models > 0 {
        out.push_str(&format!(", {models} model calls between"));
    }
    if let Some(e) = errors.first().filter(|_| error_of(first).is_none()) {
        out.push_str(&format!(
            ", {} failed: {}",
            errors.len(),
            truncate(e, budget.max_item_chars)
        ));
    } else if errors.len() > 1 {
        out.push_str(&format!(", {} failed", errors.len()));
    }
    out
}
