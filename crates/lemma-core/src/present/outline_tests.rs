use super::outline::Outline;
use crate::model::{SpanKind, SpanOutline, StatusCode};
use crate::run::RunSignal;

fn row(id: &str, parent: Option<&str>, start: u64, end: u64) -> SpanOutline {
    SpanOutline {
        span_id: id.into(),
        parent_span_id: parent.map(Into::into),
        name: format!("span {id}"),
        start_time_unix_nano: start,
        end_time_unix_nano: end,
        ..SpanOutline::default()
    }
}

fn ids(o: &Outline) -> Vec<&str> {
    o.window(0, usize::MAX)
        .iter()
        .map(|r| r.span.span_id.as_str())
        .collect()
}

#[test]
fn rows_are_in_tree_pre_order_with_depths_and_subtree_sizes() {
    // Given in no particular order; `b` and `c` start together, the longer (`c`) first; `x`
    // names a parent that has not arrived, so it is a root.
    let o = Outline::new(vec![
        row("d", Some("c"), 25, 26),
        row("b", Some("a"), 20, 30),
        row("x", Some("missing"), 5, 6),
        row("a", None, 10, 100),
        row("c", Some("a"), 20, 40),
        row("e", Some("b"), 21, 22),
    ]);
    assert_eq!(ids(&o), ["x", "a", "c", "d", "b", "e"]);
    let shape: Vec<(u32, u32, u32)> = o
        .window(0, 10)
        .iter()
        .map(|r| (r.depth, r.children, r.descendants))
        .collect();
    assert_eq!(
        shape,
        [
            (0, 0, 0),
            (0, 2, 4),
            (1, 1, 1),
            (2, 0, 0),
            (1, 1, 1),
            (2, 0, 0)
        ]
    );
    assert_eq!(o.position("b"), Some(4));
    assert_eq!(o.position("x"), Some(0));
    assert_eq!(o.position("nope"), None);
}

#[test]
fn windows_stay_within_the_rows() {
    let rows = (0..10)
        .map(|i| row(&format!("{i:02}"), None, i, i + 1))
        .collect();
    let o = Outline::new(rows);
    assert_eq!(o.len(), 10);
    let w: Vec<&str> = o
        .window(8, 5)
        .iter()
        .map(|r| r.span.span_id.as_str())
        .collect();
    assert_eq!(w, ["08", "09"]);
    assert!(o.window(10, 5).is_empty());
    assert!(o.window(usize::MAX, usize::MAX).is_empty());
    assert!(o.size_bytes() > 10 * std::mem::size_of::<SpanOutline>());
}

#[test]
fn parent_cycles_and_duplicates_are_shown_once() {
    // `p` and `q` are each other's parent, `s` its own: no root reaches them.
    let o = Outline::new(vec![
        row("q", Some("p"), 2, 3),
        row("p", Some("q"), 1, 4),
        row("s", Some("s"), 0, 1),
        row("p", Some("q"), 1, 4),
    ]);
    assert_eq!(ids(&o), ["s", "p", "q"]);
    let p = o.row(1).unwrap();
    assert_eq!((p.depth, p.children, p.descendants), (0, 1, 1));
    let q = o.row(2).unwrap();
    assert_eq!((q.depth, q.children, q.descendants), (1, 0, 0));
}

#[test]
fn a_chain_thousands_deep_does_not_recurse() {
    let rows = (0..50_000u64)
        .map(|i| {
            let parent = (i > 0).then(|| format!("{:016x}", i - 1));
            row(&format!("{i:016x}"), parent.as_deref(), i, 100_000)
        })
        .collect();
    let o = Outline::new(rows);
    assert_eq!(o.row(49_999).unwrap().depth, 49_999);
    assert_eq!(o.row(0).unwrap().descendants, 49_999);
}

#[test]
fn the_overview_places_errors_loops_and_slow_spans() {
    // A root and 100 leaves under it, 10 per bucket: leaf 15 failed, leaves 40..43 are three
    // identical tool calls (the run's loop signal names tool index 1: leaves 30, 40, 41, 42
    // are tools), and leaf 77 is by far the slowest.
    let mut rows = vec![row("root", None, 0, 1_000_000)];
    for i in 0..100u64 {
        let mut r = row(
            &format!("{i:03}"),
            Some("root"),
            10 + i * 10,
            10 + i * 10 + 5,
        );
        if i == 15 {
            r.status = StatusCode::Error;
        }
        if i == 30 || (40..43).contains(&i) {
            r.kind = SpanKind::Tool;
        }
        if i == 77 {
            r.end_time_unix_nano = r.start_time_unix_nano + 5_000;
        }
        rows.push(r);
    }
    let o = Outline::new(rows);
    let signal = RunSignal {
        kind: "loop".into(),
        tool_name: Some("search".into()),
        tool_args: None,
        repeats: 3,
        first_tool_index: 1,
        first_span_id: None,
        ..RunSignal::default()
    };
    let view = o.overview(10, &[signal]);
    assert_eq!(view.total, 101);
    assert_eq!(view.buckets.len(), 10);
    assert_eq!(view.slow_threshold_ns, 6);
    let covered: usize = view.buckets.iter().map(|b| b.to - b.from).sum();
    assert_eq!(covered, 101);
    let at = |p: usize| {
        view.buckets
            .iter()
            .find(|b| (b.from..b.to).contains(&p))
            .unwrap()
    };
    // Leaf i is at position i + 1 (the root is first).
    assert_eq!(at(16).errors, 1);
    assert_eq!(at(16).first_error, Some(16));
    assert_eq!(view.buckets.iter().map(|b| b.errors).sum::<u32>(), 1);
    assert_eq!(at(42).loops, 3);
    assert_eq!(view.buckets.iter().map(|b| b.loops).sum::<u32>(), 3);
    assert_eq!(at(78).slow, 1);
    assert_eq!(view.buckets.iter().map(|b| b.slow).sum::<u32>(), 1);

    // More buckets than rows: one row each; no rows: no buckets.
    assert_eq!(o.overview(1_000, &[]).buckets.len(), 101);
    assert!(Outline::new(Vec::new())
        .overview(10, &[])
        .buckets
        .is_empty());
}

#[test]
fn the_order_is_the_span_tree_views() {
    use crate::model::Span;
    let span = |id: &str, parent: Option<&str>, start: u64, end: u64| Span {
        span_id: id.into(),
        parent_span_id: parent.map(Into::into),
        name: id.into(),
        kind: SpanKind::Llm,
        start_time_unix_nano: start,
        end_time_unix_nano: end,
        ..Span::default()
    };
    let spans = vec![
        span("c1", Some("r"), 5, 9),
        span("c2", Some("r"), 5, 7),
        span("g", Some("c2"), 6, 7),
        span("r", None, 1, 20),
        span("o", Some("gone"), 3, 4),
        span("l", Some("l"), 2, 3),
    ];
    let page = super::tree(
        &crate::run::Run::default(),
        &spans,
        &super::Budget {
            max_chars: 100_000,
            ..super::Budget::default()
        },
    );
    let shown: Vec<&str> = page
        .text
        .lines()
        .skip(1)
        .filter_map(|l| l.rsplit_once('#').map(|(_, id)| id))
        .collect();
    let o = Outline::new(spans.iter().map(SpanOutline::from).collect());
    assert_eq!(ids(&o), shown);
}

#[test]
fn steps_are_calls_agents_and_failures() {
    let mut rows = vec![
        row("a", None, 0, 100),
        row("b", Some("a"), 1, 2),
        row("c", Some("a"), 3, 4),
        row("d", Some("a"), 5, 6),
        row("e", Some("d"), 5, 6),
    ];
    rows[0].kind = SpanKind::Agent;
    rows[1].kind = SpanKind::Llm;
    rows[2].status = StatusCode::Error; // a plain span, failed
    rows[4].kind = SpanKind::Tool; // under a plain span (`d`, not a step)
    assert_eq!(Outline::new(rows).steps(), [0, 1, 2, 4]);
}

#[test]
fn a_model_call_keeps_the_messages_after_its_last_answer() {
    use crate::messages::{Message, Part};
    use crate::model::Span;
    let text = |role: &str, t: &str| Message {
        role: role.into(),
        parts: vec![Part::Text { content: t.into() }],
        name: None,
        finish_reason: None,
    };
    let mut span = Span {
        input: Some(serde_json::json!("the whole conversation")),
        input_messages: Some(vec![
            text("user", "task"),
            text("assistant", "calling a tool"),
            text("tool", "result"),
            text("user", "and then?"),
        ]),
        ..Span::default()
    };
    assert_eq!(super::keep_new_messages(&mut span), 2);
    let kept: Vec<&str> = span
        .input_messages
        .as_ref()
        .unwrap()
        .iter()
        .map(|m| m.role.as_str())
        .collect();
    assert_eq!(kept, ["tool", "user"]);
    assert_eq!(span.input, None);
    // A first call (no answer yet) is left whole.
    let mut first = Span {
        input: Some(serde_json::json!("task")),
        input_messages: Some(vec![text("user", "task")]),
        ..Span::default()
    };
    assert_eq!(super::keep_new_messages(&mut first), 0);
    assert!(first.input.is_some());
}

#[test]
fn long_names_are_cut_in_rows() {
    let mut r = row("a", None, 0, 1);
    r.name = "é".repeat(10_000);
    r.tool_name = Some("t".repeat(300));
    let o = Outline::new(vec![r]);
    let shown = o.row(0).unwrap().span;
    assert_eq!(
        shown.name.chars().count(),
        super::outline::MAX_ROW_TEXT_CHARS + 1
    );
    assert!(shown.name.ends_with('…'));
    assert_eq!(shown.tool_name.as_ref().unwrap().chars().count(), 257);
}
