//! A run too long to read whole, in windows: the API cuts them, these render them as the text
//! pages the CLI and MCP show.
//!
//! The transcript's steps are cut from a run's outline ([`super::Outline::steps`]) and read span
//! by span, so a model call cannot show only what earlier steps did not (that needs every
//! earlier step). It shows what is new by a rule of its own input instead: the messages after
//! the last assistant message, which agents resend on every call.

use serde::Deserialize;

use super::{budget, header, indent, transcript, tree, Budget, Page};
use crate::model::{Span, SpanOutline, Usage};
use crate::run::Run;

/// A row of an outline window as the API answers it.
#[derive(Debug, Clone, Deserialize)]
pub struct WindowRow {
    #[serde(flatten)]
    pub span: SpanOutline,
    pub depth: u32,
}

/// A step of a transcript window as the API answers it.
#[derive(Debug, Clone, Deserialize)]
pub struct WindowStep {
    pub depth: u32,
    pub span: Span,
}

/// How many outline rows to ask for to fill a tree page of `max_chars` (a line is about a
/// hundred characters; the API answers at most 2,000).
pub fn rows_for(max_chars: usize) -> usize {
    (max_chars / 60).clamp(20, 2_000)
}

/// How many transcript steps to ask for to fill a page of `max_chars` (a step is several
/// hundred characters; the API answers at most 200).
pub fn steps_for(max_chars: usize) -> usize {
    (max_chars / 300).clamp(5, 200)
}

/// A page of a run's span tree from the outline rows at `offset` (of `total`).
pub fn tree_window(
    run: &Run,
    rows: &[WindowRow],
    offset: usize,
    total: usize,
    budget: &Budget,
) -> Page {
    let entries: Vec<String> = rows
        .iter()
        .map(|r| indent(&tree::line(&light(&r.span), budget), r.depth as usize))
        .collect();
    budget::paginate_from(&header(run, "span tree"), &entries, offset, total, budget)
}

/// A page of a run's transcript from the steps at `from` (of `total`): each step as the
/// transcript shows its span, at its depth.
pub fn transcript_window(
    run: &Run,
    steps: &[WindowStep],
    from: usize,
    total: usize,
    budget: &Budget,
) -> Page {
    // The run's own input and output belong to its first and last pages, not to every step.
    let bare = Run {
        run_id: run.run_id.clone(),
        ..Run::default()
    };
    let whole = Budget {
        max_chars: usize::MAX,
        offset: 0,
        ..*budget
    };
    let entries: Vec<String> = steps
        .iter()
        .map(|s| {
            let page = transcript(&bare, std::slice::from_ref(&s.span), &whole);
            let body = page
                .text
                .split_once('\n')
                .map_or("", |(_, rest)| rest)
                .trim_end();
            // A span the transcript has nothing to say about still takes its step.
            let text = if body.is_empty() {
                tree::line(&s.span, budget)
            } else {
                body.to_string()
            };
            indent(&text, s.depth as usize)
        })
        .collect();
    budget::paginate_from(&header(run, "transcript"), &entries, from, total, budget)
}

/// The span a tree line needs, from its light row.
fn light(r: &SpanOutline) -> Span {
    Span {
        span_id: r.span_id.clone(),
        parent_span_id: r.parent_span_id.clone(),
        name: r.name.clone(),
        kind: r.kind,
        start_time_unix_nano: r.start_time_unix_nano,
        end_time_unix_nano: r.end_time_unix_nano,
        status: r.status,
        model: r.model.clone(),
        tool_name: r.tool_name.clone(),
        agent_name: r.agent_name.clone(),
        usage: Usage {
            input_tokens: r.input_tokens,
            output_tokens: r.output_tokens,
            total_tokens: r.total_tokens,
            ..Usage::default()
        },
        cost_usd: r.cost_usd,
        ..Span::default()
    }
}

/// Keeps only a model call's new input messages (those after its last assistant message) and
/// drops its raw `input`, which holds the whole conversation again; returns how many messages
/// were left out (0 leaves the span as it was).
pub fn keep_new_messages(span: &mut Span) -> usize {
    let Some(messages) = span.input_messages.as_mut() else {
        return 0;
    };
    let Some(last) = messages.iter().rposition(|m| m.role == "assistant") else {
        return 0;
    };
    messages.drain(..=last);
    span.input = None;
    last + 1
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::SpanKind;

    fn run() -> Run {
        Run {
            run_id: "r".into(),
            name: "long".into(),
            span_count: 10_000,
            input: Some(json!("the task")),
            ..Run::default()
        }
    }

    #[test]
    fn a_tree_window_numbers_its_lines_from_its_offset() {
        let rows: Vec<WindowRow> = (0..3)
            .map(|i| WindowRow {
                span: SpanOutline {
                    span_id: format!("s{i}"),
                    name: format!("step {i}"),
                    kind: SpanKind::Tool,
                    tool_name: Some("grep".into()),
                    ..SpanOutline::default()
                },
                depth: i,
            })
            .collect();
        let budget = Budget::default();
        let page = tree_window(&run(), &rows, 500, 10_000, &budget);
        assert!(page.text.contains("\n    tool step 2"), "{}", page.text);
        assert!(page.text.contains("#s1"));
        assert_eq!(page.next_offset, Some(503));
        let last = tree_window(&run(), &rows, 9_997, 10_000, &budget);
        assert_eq!(last.next_offset, None);
    }

    #[test]
    fn a_transcript_window_shows_each_step_and_pages_by_step() {
        let steps: Vec<WindowStep> = (0..40)
            .map(|i| WindowStep {
                depth: 1,
                span: Span {
                    span_id: format!("t{i}"),
                    name: "grep".into(),
                    kind: SpanKind::Tool,
                    tool_name: Some("grep".into()),
                    tool_args: Some(json!({"pattern": format!("needle {i}")})),
                    output: Some(json!("x".repeat(400))),
                    ..Span::default()
                },
            })
            .collect();
        let budget = Budget {
            max_chars: 4_000,
            ..Budget::default()
        };
        let page = transcript_window(&run(), &steps, 100, 5_000, &budget);
        assert!(page.text.contains("needle 0"), "{}", page.text);
        assert!(
            !page.text.contains("the task"),
            "the run's input is not every page's"
        );
        let next = page.next_offset.expect("the window does not fit one page");
        assert!(next > 100 && next < 140, "{next}");
        assert!(page.text.contains(&format!("offset={next}")));
    }
}
