use serde_json::{json, Value};

use super::*;
use crate::messages::{Message, Part};
use crate::model::{SpanEvent, SpanKind};

const T: u64 = 1_000_000_000;

fn span(id: &str, parent: Option<&str>, kind: SpanKind, name: &str, start: u64) -> Span {
    Span {
        trace_id: "0".repeat(32),
        span_id: id.into(),
        parent_span_id: parent.map(Into::into),
        name: name.into(),
        kind,
        start_time_unix_nano: start * T,
        end_time_unix_nano: start * T + T / 2,
        ..Span::default()
    }
}

fn tool(id: &str, parent: &str, start: u64, name: &str, args: Value, result: Value) -> Span {
    Span {
        tool_name: Some(name.into()),
        tool_call_id: Some(format!("call_{id}")),
        tool_args: Some(args),
        output: Some(result),
        ..span(
            id,
            Some(parent),
            SpanKind::Tool,
            &format!("execute_tool {name}"),
            start,
        )
    }
}

fn text(role: &str, content: &str) -> Message {
    Message {
        role: role.into(),
        parts: vec![Part::Text {
            content: content.into(),
        }],
        name: None,
        finish_reason: None,
    }
}

fn call(id: &str, name: &str, args: Value) -> Message {
    Message {
        role: "assistant".into(),
        parts: vec![Part::ToolCall {
            id: Some(id.into()),
            name: name.into(),
            arguments: Some(args),
        }],
        name: None,
        finish_reason: None,
    }
}

fn llm(id: &str, parent: &str, start: u64, input: Vec<Message>, output: Vec<Message>) -> Span {
    Span {
        model: Some("gpt-test".into()),
        input_messages: Some(input),
        output_messages: Some(output),
        ..span(id, Some(parent), SpanKind::Llm, "chat gpt-test", start)
    }
}

fn run_of(spans: &[Span], input: Option<Value>, output: Option<Value>) -> Run {
    let digests: Vec<crate::SpanDigest> = spans.iter().map(Into::into).collect();
    let mut run = crate::run::summarize(&spans[0].trace_id, &digests);
    run.input = input;
    run.output = output;
    run
}

/// A root agent that calls `tool_name` with each of `args`, a model call before each.
fn agent_calling(tool_name: &str, args: &[Value]) -> Vec<Span> {
    let mut spans = vec![span("root", None, SpanKind::Agent, "invoke_agent a", 0)];
    for (n, a) in args.iter().enumerate() {
        let at = 1 + 2 * n as u64;
        let id = format!("c{n}");
        spans.push(llm(
            &format!("m{n}"),
            "root",
            at,
            vec![],
            vec![call(&format!("call_{id}"), tool_name, a.clone())],
        ));
        spans.push(tool(
            &id,
            "root",
            at + 1,
            tool_name,
            a.clone(),
            json!({"n": n}),
        ));
    }
    spans
}

fn big() -> Budget {
    Budget {
        max_chars: 1_000_000,
        ..Budget::default()
    }
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn twelve_identical_calls_fold_into_one_step() {
    let spans = agent_calling("read_file", &vec![json!({"path": "src/main.rs"}); 12]);
    let run = run_of(&spans, None, None);
    let page = transcript(&run, &spans, &big());
    assert_eq!(
        count(&page.text, "× 12 identical read_file calls"),
        1,
        "{}",
        page.text
    );
    assert_eq!(count(&page.text, "→ tool read_file"), 1, "{}", page.text);
    // The model calls between the first and the last call fold with them.
    assert!(
        page.text.contains("(11 model calls between)"),
        "{}",
        page.text
    );
    assert_eq!(page.total_steps, 1);
    let page = tree(&run, &spans, &big());
    assert_eq!(
        count(&page.text, "× 12 identical read_file calls"),
        1,
        "{}",
        page.text
    );
    // The root, the first model call, the fold.
    assert_eq!(page.total_steps, 3, "{}", page.text);
}

#[test]
fn two_identical_calls_do_not_fold() {
    let spans = agent_calling("read_file", &vec![json!({"path": "a"}); 2]);
    let run = run_of(&spans, None, None);
    let page = transcript(&run, &spans, &big());
    assert!(!page.text.contains('×'), "{}", page.text);
    assert_eq!(count(&page.text, "→ tool read_file"), 2);
    assert!(!tree(&run, &spans, &big()).text.contains('×'));
}

#[test]
fn different_arguments_break_a_fold() {
    let a = json!({"path": "a"});
    let b = json!({"path": "b"});
    let spans = agent_calling(
        "read_file",
        &[a.clone(), a.clone(), b, a.clone(), a.clone()],
    );
    let page = transcript(&run_of(&spans, None, None), &spans, &big());
    assert!(!page.text.contains('×'), "{}", page.text);
    assert_eq!(count(&page.text, "→ tool read_file"), 5);

    let spans = agent_calling(
        "read_file",
        &[
            a.clone(),
            a.clone(),
            a.clone(),
            json!({"path": "b"}),
            a.clone(),
            a.clone(),
            a,
        ],
    );
    let page = transcript(&run_of(&spans, None, None), &spans, &big());
    assert_eq!(
        count(&page.text, "× 3 identical read_file calls"),
        2,
        "{}",
        page.text
    );
    assert_eq!(page.total_steps, 3, "{}", page.text);
}

#[test]
fn a_model_call_shows_only_new_messages() {
    let system = text("system", "You are a support agent.");
    let user = text("user", "Where is my order 42?");
    let asked = call("call_t1", "lookup_order", json!({"id": 42}));
    let answer = Message {
        role: "tool".into(),
        parts: vec![Part::ToolCallResponse {
            id: Some("call_t1".into()),
            response: json!({"status": "shipped"}),
        }],
        name: None,
        finish_reason: None,
    };
    let spans = vec![
        span("root", None, SpanKind::Agent, "invoke_agent support", 0),
        llm(
            "m1",
            "root",
            1,
            vec![system.clone(), user.clone()],
            vec![asked.clone()],
        ),
        tool(
            "t1",
            "root",
            2,
            "lookup_order",
            json!({"id": 42}),
            json!({"status": "shipped"}),
        ),
        llm(
            "m2",
            "root",
            3,
            vec![system, user, asked, answer],
            vec![text("assistant", "It has shipped.")],
        ),
    ];
    let run = run_of(
        &spans,
        Some(json!("Where is my order 42?")),
        Some(json!("It has shipped.")),
    );
    let page = transcript(&run, &spans, &big());
    let t = &page.text;
    assert_eq!(count(t, "System: You are a support agent."), 1, "{t}");
    // The run's input is the user's message: shown once, not again by the model call.
    assert_eq!(count(t, "Where is my order 42?"), 1, "{t}");
    assert!(
        t.contains("→ tool lookup_order {\"id\":42}\n  ← {\"status\":\"shipped\"}"),
        "{t}"
    );
    // The tool span shows the call and its result; the messages do not repeat them.
    assert!(!t.contains("→ call"), "{t}");
    assert_eq!(count(t, "Assistant (gpt-test): It has shipped."), 1, "{t}");
    // The model said the run's output already.
    assert!(!t.contains("Final output"), "{t}");
    let order: Vec<usize> = ["User:", "System:", "→ tool", "Assistant"]
        .iter()
        .map(|s| t.find(s).unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{t}");
}

#[test]
fn pages_cover_every_step_once_within_the_budget() {
    let args: Vec<Value> = (0..40)
        .map(|n| json!({"path": format!("file_{n:02}.rs")}))
        .collect();
    let spans = agent_calling("read_file", &args);
    let run = run_of(&spans, None, None);
    let budget = Budget {
        max_chars: 700,
        max_item_chars: 100,
        offset: 0,
    };
    let mut seen = Vec::new();
    let mut offset = Some(0);
    let mut pages = 0;
    while let Some(o) = offset {
        let page = transcript(
            &run,
            &spans,
            &Budget {
                offset: o,
                ..budget
            },
        );
        assert!(
            page.text.chars().count() <= budget.max_chars,
            "{}",
            page.text
        );
        assert!(page.shown_steps > 0);
        assert_eq!(page.total_steps, 40);
        if let Some(next) = page.next_offset {
            assert_eq!(next, o + page.shown_steps);
            assert!(
                page.text.contains("more steps")
                    && page.text.ends_with(&format!("ask with offset={next}\n")),
                "{}",
                page.text
            );
        } else {
            assert!(!page.text.contains("offset="));
        }
        for n in 0..40 {
            if page.text.contains(&format!("file_{n:02}.rs")) {
                seen.push(n);
            }
        }
        offset = page.next_offset;
        pages += 1;
    }
    assert!(pages > 2, "{pages}");
    assert_eq!(seen, (0..40).collect::<Vec<_>>());

    let past = transcript(
        &run,
        &spans,
        &Budget {
            offset: 99,
            ..budget
        },
    );
    assert_eq!((past.shown_steps, past.next_offset), (0, None));
}

#[test]
fn long_items_are_cut_to_the_item_limit() {
    let long = "x".repeat(5_000);
    let spans = agent_calling("write", &[json!({"body": long})]);
    let budget = Budget {
        max_item_chars: 200,
        ..big()
    };
    let page = transcript(&run_of(&spans, None, None), &spans, &budget);
    let line = page
        .text
        .lines()
        .find(|l| l.starts_with("→ tool write"))
        .unwrap();
    assert!(line.chars().count() < 230, "{line}");
    assert!(line.contains("chars)"), "{line}");
}

#[test]
fn sub_agents_are_indented_sections() {
    let mut researcher = span(
        "sub",
        Some("root"),
        SpanKind::Agent,
        "invoke_agent researcher",
        2,
    );
    researcher.agent_name = Some("researcher".into());
    researcher.input = Some(json!("find the refund policy"));
    researcher.output = Some(json!("30 days"));
    researcher.end_time_unix_nano = 6 * T;
    let spans = vec![
        span("root", None, SpanKind::Agent, "invoke_agent main", 0),
        llm(
            "m1",
            "root",
            1,
            vec![text("user", "refunds?")],
            vec![text("assistant", "Asking the researcher.")],
        ),
        researcher,
        tool(
            "t1",
            "sub",
            3,
            "search",
            json!({"q": "refund"}),
            json!(["policy.md"]),
        ),
        llm(
            "m2",
            "sub",
            4,
            vec![],
            vec![text("assistant", "It is 30 days.")],
        ),
        llm(
            "m3",
            "root",
            7,
            vec![],
            vec![text("assistant", "Refunds within 30 days.")],
        ),
    ];
    let page = transcript(&run_of(&spans, None, None), &spans, &big());
    let t = &page.text;
    assert!(
        t.contains("\nSub-agent researcher:\n  Input: find the refund policy\n"),
        "{t}"
    );
    assert!(t.contains("\n  → tool search {\"q\":\"refund\"}\n"), "{t}");
    assert!(
        t.contains("\n  Assistant (gpt-test): It is 30 days.\n"),
        "{t}"
    );
    assert!(
        t.contains("\nSub-agent researcher answered: 30 days\n"),
        "{t}"
    );
    assert!(
        t.contains("\nAssistant (gpt-test): Refunds within 30 days.\n"),
        "{t}"
    );
    let tree = tree(&run_of(&spans, None, None), &spans, &big()).text;
    assert!(tree.contains("\n    tool execute_tool search"), "{tree}");
}

#[test]
fn errors_show_the_exception() {
    let mut failing = tool("t1", "root", 1, "fetch", json!({"url": "x"}), Value::Null);
    failing.output = None;
    failing.status = crate::StatusCode::Error;
    failing.status_message = Some("took too long".into());
    failing.events.push(SpanEvent {
        name: "exception".into(),
        time_unix_nano: 0,
        attributes: json!({"exception.type": "TimeoutError", "exception.message": "took too long"})
            .as_object()
            .cloned()
            .unwrap(),
        dropped_attributes_count: 0,
    });
    let mut root = span("root", None, SpanKind::Agent, "invoke_agent a", 0);
    root.status = crate::StatusCode::Error;
    root.status_message = Some("gave up".into());
    let spans = vec![root, failing];
    let run = run_of(&spans, None, None);
    let t = transcript(&run, &spans, &big()).text;
    assert!(
        t.contains("→ tool fetch {\"url\":\"x\"}\n  ← ERROR TimeoutError: took too long"),
        "{t}"
    );
    assert!(t.contains("· agent invoke_agent a\n  ERROR gave up"), "{t}");
    assert!(t.lines().next().unwrap().contains("ERROR"), "{t}");
    let tree = tree(&run, &spans, &big()).text;
    assert!(
        tree.contains("tool execute_tool fetch")
            && tree.contains("ERROR TimeoutError: took too long"),
        "{tree}"
    );
}

#[test]
fn hostile_trees_do_not_loop_or_overflow() {
    let mut spans = vec![
        span("a", Some("b"), SpanKind::Chain, "a", 0),
        span("b", Some("a"), SpanKind::Chain, "b", 1),
    ];
    for n in 0..20_000u64 {
        let parent = if n == 0 {
            "a".to_string()
        } else {
            format!("d{}", n - 1)
        };
        spans.push(span(
            &format!("d{n}"),
            Some(&parent),
            SpanKind::Tool,
            "deep",
            2 + n,
        ));
    }
    let run = run_of(&spans[..2], None, None);
    let page = tree(&run, &spans, &big());
    assert_eq!(page.total_steps, 20_002);
    transcript(&run, &spans, &big());
}

/// The spans of every recorded request of a scenario, normalised.
fn fixture(scenario: &str) -> Vec<Span> {
    let dir = format!(
        "{}/../../../shared/fixtures/{scenario}",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".otlp.json"))
        .collect();
    files.sort();
    let mut spans = Vec::new();
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        let request =
            crate::otlp::decode_trace_request(&bytes, crate::otlp::Encoding::Json).unwrap();
        spans.extend(crate::otlp::extract_spans(request).spans);
    }
    spans.iter_mut().for_each(crate::semconv::normalize);
    spans
}

#[test]
fn the_long_run_folds_its_loops_and_pages() {
    let spans = fixture("long_run");
    assert_eq!(spans.len(), 222);
    let root = spans.iter().find(|s| s.parent_span_id.is_none()).unwrap();
    let run = run_of(&spans, root.input.clone(), root.output.clone());

    let tree = tree(&run, &spans, &big());
    assert_eq!(
        count(&tree.text, "× 12 identical read_file calls"),
        1,
        "{}",
        tree.text
    );
    assert_eq!(
        count(&tree.text, "× 8 identical run_tests calls"),
        1,
        "{}",
        tree.text
    );
    assert!(tree.text.contains("8 failed"), "{}", tree.text);

    let full = transcript(&run, &spans, &big());
    assert_eq!(
        count(&full.text, "× 12 identical read_file calls"),
        1,
        "{}",
        full.text
    );
    assert_eq!(
        count(&full.text, "× 8 identical run_tests calls"),
        1,
        "{}",
        full.text
    );
    assert!(
        full.text.contains("User: Fix the failing billing tests"),
        "{}",
        full.text
    );
    assert_eq!(
        count(&full.text, "the failure is in tax rounding"),
        1,
        "{}",
        full.text
    );

    let budget = Budget {
        max_chars: 20_000,
        ..Budget::default()
    };
    let first = transcript(&run, &spans, &budget);
    assert!(first.text.chars().count() <= 20_000);
    let mut shown = first.shown_steps;
    let mut next = first.next_offset;
    while let Some(offset) = next {
        let page = transcript(&run, &spans, &Budget { offset, ..budget });
        assert!(page.text.chars().count() <= 20_000);
        shown += page.shown_steps;
        next = page.next_offset;
    }
    assert_eq!(shown, full.total_steps);

    let small = Budget {
        max_chars: 4_000,
        ..Budget::default()
    };
    let page = transcript(&run, &spans, &small);
    assert!(page.text.chars().count() <= 4_000);
    let next = page
        .next_offset
        .expect("a 4000-character page does not hold the run");
    assert!(
        page.text.contains(&format!("ask with offset={next}")),
        "{}",
        page.text
    );
}
