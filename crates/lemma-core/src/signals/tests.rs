use proptest::prelude::*;
use serde_json::{json, Map, Value};

use super::*;
use crate::model::{SpanKind, StatusCode, Usage};
use crate::run::{summarize, Severity, SignalSource};

fn span(id: u32, kind: SpanKind, start: u64) -> SpanDigest {
    SpanDigest {
        span_id: format!("{id:016x}"),
        parent_span_id: (id != 0).then(|| format!("{:016x}", 0)),
        name: format!("span-{id}"),
        kind,
        start_time_unix_nano: start,
        end_time_unix_nano: start + 10,
        ..SpanDigest::default()
    }
}

fn root() -> SpanDigest {
    let mut r = span(0, SpanKind::Agent, 0);
    r.end_time_unix_nano = 1_000_000;
    r.agent_name = Some("planner".into());
    r
}

fn tool(id: u32, name: &str, args: Value, status: StatusCode) -> SpanDigest {
    let mut s = span(id, SpanKind::Tool, u64::from(id) * 100);
    s.tool_name = Some(name.into());
    s.tool_args = Some(args.to_string());
    s.status = status;
    if status == StatusCode::Error {
        s.status_message = Some(format!("{name} timed out"));
    }
    s
}

fn llm(id: u32, model: &str, input: u64, status: StatusCode) -> SpanDigest {
    let mut s = span(id, SpanKind::Llm, u64::from(id) * 100);
    s.model = Some(model.into());
    s.usage = Usage {
        input_tokens: Some(input),
        output_tokens: Some(10),
        total_tokens: Some(input + 10),
        ..Usage::default()
    };
    s.status = status;
    s
}

fn found(spans: &[SpanDigest]) -> Vec<RunSignal> {
    let run = summarize("r", spans);
    detect(&Evidence::new(&run, spans), &SignalSettings::default())
}

fn kinds(signals: &[RunSignal]) -> Vec<&str> {
    signals.iter().map(|s| s.kind.as_str()).collect()
}

#[test]
fn a_clean_run_has_no_signal() {
    let spans = vec![
        root(),
        llm(1, "gpt-4o", 1_000, StatusCode::Ok),
        tool(2, "search", json!({"q": "rust"}), StatusCode::Ok),
        tool(3, "fetch", json!({"url": "https://a"}), StatusCode::Ok),
        llm(4, "gpt-4o", 2_000, StatusCode::Ok),
    ];
    assert!(found(&spans).is_empty(), "{:?}", found(&spans));
}

#[test]
fn failures_in_a_row_make_a_streak_pointing_at_the_first() {
    let spans = vec![
        root(),
        tool(1, "search", json!({"q": 1}), StatusCode::Error),
        llm(2, "gpt-4o", 100, StatusCode::Error),
        tool(3, "search", json!({"q": 2}), StatusCode::Error),
        tool(4, "fetch", json!({}), StatusCode::Ok),
        tool(5, "search", json!({"q": 3}), StatusCode::Error),
    ];
    let s = found(&spans);
    let streak = s.iter().find(|s| s.kind == "error_streak").expect("streak");
    assert_eq!(streak.severity, Severity::Critical);
    assert_eq!(streak.repeats, 3);
    assert_eq!(streak.span_id.as_deref(), Some(spans[1].span_id.as_str()));
    assert!(
        streak.explanation.contains("search timed out"),
        "{}",
        streak.explanation
    );
    // search failed three times, though not in a row.
    let failing = s
        .iter()
        .find(|s| s.kind == "tool_failing")
        .expect("tool_failing");
    assert_eq!(failing.repeats, 3);
    assert_eq!(failing.explanation, "search failed 3 of 3 times");
    // Severe first.
    assert_eq!(s[0].kind, "error_streak");
}

#[test]
fn two_failures_are_not_a_streak() {
    let spans = vec![
        root(),
        tool(1, "a", json!(1), StatusCode::Error),
        tool(2, "a", json!(2), StatusCode::Error),
        tool(3, "a", json!(3), StatusCode::Ok),
        tool(4, "a", json!(4), StatusCode::Error),
        tool(5, "b", json!(5), StatusCode::Ok),
    ];
    assert_eq!(kinds(&found(&spans)), ["tool_failing"]);
}

#[test]
fn near_identical_arguments_in_a_row_are_similar_calls_not_loops() {
    let spans = vec![
        root(),
        tool(
            1,
            "search",
            json!({"query": "weather in paris today"}),
            StatusCode::Ok,
        ),
        tool(
            2,
            "search",
            json!({"query": "weather in paris today?"}),
            StatusCode::Ok,
        ),
        tool(
            3,
            "search",
            json!({"query": "the weather in paris today"}),
            StatusCode::Ok,
        ),
        tool(
            4,
            "search",
            json!({"query": "stock prices"}),
            StatusCode::Ok,
        ),
    ];
    let s = found(&spans);
    assert_eq!(kinds(&s), ["similar_calls"]);
    assert_eq!(s[0].repeats, 3);
    // Identical calls are the summary's loop, not this.
    let same: Vec<SpanDigest> = std::iter::once(root())
        .chain((1..=4).map(|i| tool(i, "search", json!({"q": "x"}), StatusCode::Ok)))
        .collect();
    assert!(found(&same).is_empty());
    assert_eq!(summarize("r", &same).signals[0].kind, "loop");
}

#[test]
fn calls_going_round_make_a_cycle() {
    let mut spans = vec![root()];
    for i in 0..3 {
        spans.push(tool(1 + 2 * i, "search", json!({"q": "x"}), StatusCode::Ok));
        spans.push(tool(2 + 2 * i, "open", json!({"url": "u"}), StatusCode::Ok));
    }
    let s = found(&spans);
    assert_eq!(kinds(&s), ["cycle"]);
    assert_eq!(s[0].repeats, 3);
    assert!(
        s[0].explanation.contains("search → open"),
        "{}",
        s[0].explanation
    );
    // Twice round is not yet a cycle.
    spans.truncate(5);
    assert!(found(&spans).is_empty());
}

#[test]
fn deep_and_wide_sub_agents() {
    let mut spans = vec![root()];
    // A chain of agents 7 deep under the root agent.
    for i in 1..=6u32 {
        let mut a = span(i, SpanKind::Agent, u64::from(i));
        a.parent_span_id = Some(format!("{:016x}", i - 1));
        a.agent_name = Some(format!("agent-{i}"));
        spans.push(a);
    }
    let s = found(&spans);
    assert_eq!(kinds(&s), ["agent_depth"]);
    assert!(s[0].explanation.contains("7 deep"), "{}", s[0].explanation);
    // 26 sub-agents under the root.
    let mut wide = vec![root()];
    for i in 1..=26u32 {
        wide.push(span(i, SpanKind::Agent, u64::from(i)));
    }
    let s = found(&wide);
    assert_eq!(kinds(&s), ["fan_out"]);
    assert_eq!(s[0].span_id.as_deref(), Some(wide[0].span_id.as_str()));
}

#[test]
fn a_call_near_its_context_window() {
    assert_eq!(context_window("openai/gpt-4o-mini"), Some(128_000));
    assert_eq!(context_window("gpt-4.1-nano"), Some(1_047_576));
    assert_eq!(context_window("claude-3-5-sonnet-20241022"), Some(200_000));
    assert_eq!(context_window("my-own-model"), None);
    let spans = vec![
        root(),
        llm(1, "gpt-4o", 100_000, StatusCode::Ok),
        llm(2, "gpt-4o", 120_000, StatusCode::Ok),
        llm(3, "my-own-model", 10_000_000, StatusCode::Ok),
    ];
    let s = found(&spans);
    assert_eq!(kinds(&s), ["context_window"]);
    assert_eq!(s[0].span_id.as_deref(), Some(spans[2].span_id.as_str()));
    assert_eq!(s[0].severity, Severity::Warning);
    assert_eq!(s[0].score, Some(0.938));
}

#[test]
fn spikes_against_the_agents_baseline() {
    let spans = vec![root(), llm(1, "gpt-4o", 9_990, StatusCode::Ok)];
    let mut run = summarize("r", &spans);
    run.cost_usd = Some(0.5);
    let mut e = Evidence::new(&run, &spans);
    let settings = SignalSettings::default();
    e.baseline = Some(Baseline {
        runs: 20,
        median_tokens: 2_000.0,
        median_cost_usd: Some(0.1),
    });
    let s = detect(&e, &settings);
    assert_eq!(kinds(&s), ["token_spike", "cost_spike"]);
    assert!(s[0].explanation.contains("5.0×"), "{}", s[0].explanation);
    // Too few runs to judge.
    e.baseline.as_mut().unwrap().runs = 4;
    assert!(detect(&e, &settings).is_empty());
}

#[test]
fn marks_written_by_apps_and_classifiers() {
    let mut attrs = Map::new();
    attrs.insert("lemma.signal.off_topic".into(), json!(true));
    attrs.insert("lemma.signal.off_topic.severity".into(), json!("critical"));
    attrs.insert("lemma.signal.toxicity".into(), json!(0.82));
    attrs.insert("lemma.signal.intent".into(), json!("refund"));
    attrs.insert("lemma.signal.fine".into(), json!(false));
    attrs.insert("lemma.signal.bad name!".into(), json!(true));
    attrs.insert("guard.jailbreak_attempt".into(), json!(true));
    attrs.insert("is_agent_looping".into(), json!("false"));
    let marks = marks_of(&attrs);
    let names: Vec<&str> = marks.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        ["jailbreak_attempt", "intent", "off_topic", "toxicity"]
    );

    let mut s = span(1, SpanKind::Llm, 5);
    s.marks = marks;
    let spans = vec![root(), s];
    let sig = found(&spans);
    assert_eq!(
        sig.iter()
            .map(|s| (s.kind.as_str(), s.severity))
            .collect::<Vec<_>>(),
        [
            ("jailbreak_attempt", Severity::Critical),
            ("off_topic", Severity::Critical),
            ("intent", Severity::Warning),
            ("toxicity", Severity::Info),
        ]
    );
    assert!(sig.iter().all(|s| s.source == SignalSource::Attribute));
    assert_eq!(sig[2].label.as_deref(), Some("refund"));
    assert_eq!(sig[3].score, Some(0.82));
}

#[test]
fn evaluation_results_are_signals() {
    let spans = vec![root()];
    let run = summarize("r", &spans);
    let metric = |name: &str, value: crate::MetricValue, source: &str| crate::MetricEvent {
        id: name.into(),
        run_id: "r".into(),
        span_id: None,
        name: name.into(),
        value,
        comment: None,
        source: Some(source.into()),
        time_unix_nano: 1,
    };
    let metrics = vec![
        metric(
            "relevance",
            crate::MetricValue::Text("irrelevant".into()),
            "evaluator",
        ),
        metric("helpfulness", crate::MetricValue::Number(0.9), "evaluator"),
        metric("thumbs", crate::MetricValue::Bool(false), "user"),
    ];
    let mut e = Evidence::new(&run, &spans);
    e.metrics = &metrics;
    let s = detect(&e, &SignalSettings::default());
    assert_eq!(
        s.iter()
            .map(|s| (s.kind.as_str(), s.severity))
            .collect::<Vec<_>>(),
        [
            ("relevance", Severity::Warning),
            ("helpfulness", Severity::Info)
        ]
    );
}

#[test]
fn stalled_rephrased_and_abandoned_turns() {
    let mut open = root();
    open.parent_span_id = Some("ffffffffffffffff".into());
    let spans = vec![open];
    let mut run = summarize("r", &spans);
    assert!(!run.has_root);
    let settings = SignalSettings::default();
    let mut e = Evidence::new(&run, &spans);
    e.open_quiet_ns = Some(299 * 1_000_000_000);
    assert!(detect(&e, &settings).is_empty());
    e.open_quiet_ns = Some(301 * 1_000_000_000);
    assert_eq!(kinds(&detect(&e, &settings)), ["stalled"]);

    run.input = Some(json!([
        {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
        {"role": "user", "parts": [{"type": "text", "content": "How do I reset my password?"}]}
    ]));
    let previous = PreviousTurn {
        run_id: "p".into(),
        input_text: "how can I reset my password".into(),
        answered: true,
    };
    let mut e = Evidence::new(&run, &spans);
    e.previous_turn = Some(previous.clone());
    let s = detect(&e, &settings);
    assert_eq!(kinds(&s), ["rephrase"]);
    assert_eq!(s[0].label.as_deref(), Some("p"));
    // Not after an unanswered turn, not for a new question.
    e.previous_turn = Some(PreviousTurn {
        answered: false,
        ..previous.clone()
    });
    assert!(detect(&e, &settings).is_empty());
    e.previous_turn = Some(PreviousTurn {
        input_text: "What is the capital of France?".into(),
        ..previous.clone()
    });
    assert!(detect(&e, &settings).is_empty());
    // The rephrased turn is the thread's last and nobody came back.
    e.previous_turn = Some(previous);
    e.thread_quiet_ns = Some(31 * 60 * 1_000_000_000);
    assert_eq!(kinds(&detect(&e, &settings)), ["rephrase", "abandoned"]);
}

#[test]
fn user_text_and_similarity() {
    assert_eq!(user_text(&json!("  hi ")).as_deref(), Some("hi"));
    assert_eq!(
        user_text(&json!({"question": "why?", "context": "x"})).as_deref(),
        Some("why?")
    );
    assert_eq!(user_text(&json!(42)), None);
    assert_eq!(similarity("Reset my password!", "reset my password"), 1.0);
    assert_eq!(similarity("abc", "xyz"), 0.0);
    let s = similarity("how do I reset my password", "how can I reset my password");
    assert!(s > 0.6 && s < 1.0, "{s}");
}

#[test]
fn settings_are_checked_and_partial_json_keeps_defaults() {
    let s: SignalSettings = serde_json::from_value(json!({"error_streak": 5})).unwrap();
    assert_eq!(s.error_streak, 5);
    assert_eq!(s.tool_failures, SignalSettings::default().tool_failures);
    assert!(s.validate().is_ok());
    let bad: SignalSettings = serde_json::from_value(json!({"context_share": 1.5})).unwrap();
    assert!(bad.validate().unwrap_err().contains("context_share"));
    let bad: SignalSettings = serde_json::from_value(json!({"repeats": 1})).unwrap();
    assert!(bad.validate().unwrap_err().contains("repeats"));
    assert!(serde_json::from_value::<SignalSettings>(json!({"nope": 1})).is_err());
    let off = SignalSettings {
        enabled: false,
        ..SignalSettings::default()
    };
    let spans: Vec<SpanDigest> = std::iter::once(root())
        .chain((1..=4).map(|i| tool(i, "a", json!(i), StatusCode::Error)))
        .collect();
    let run = summarize("r", &spans);
    assert!(detect(&Evidence::new(&run, &spans), &off).is_empty());
}

#[test]
fn many_signals_of_one_kind_are_capped() {
    let mut spans = vec![root()];
    for i in 0..40u32 {
        // Streaks of three failures, each broken by a success.
        let ok = i % 4 == 3;
        spans.push(tool(
            i + 1,
            &format!("t{i}"),
            json!(i),
            if ok {
                StatusCode::Ok
            } else {
                StatusCode::Error
            },
        ));
    }
    let s = found(&spans);
    assert_eq!(
        s.iter().filter(|s| s.kind == "error_streak").count(),
        MAX_PER_KIND
    );
}

#[test]
fn summary_loops_are_merged_once() {
    let same: Vec<SpanDigest> = std::iter::once(root())
        .chain((1..=3).map(|i| tool(i, "search", json!({"q": "x"}), StatusCode::Error)))
        .collect();
    let run = summarize("r", &same);
    let found = detect(&Evidence::new(&run, &same), &SignalSettings::default());
    let all = with_loops(found, &run.signals);
    assert_eq!(kinds(&all), ["error_streak", "loop", "tool_failing"]);
    // Merging again changes nothing.
    assert_eq!(with_loops(all.clone(), &run.signals), all);
}

proptest! {
    /// Signals depend on the spans present, not the order they came in.
    #[test]
    fn arrival_order_does_not_matter(order in Just((0..12u32).collect::<Vec<_>>()).prop_shuffle(),
                                     fails in proptest::collection::vec(any::<bool>(), 12)) {
        let all: Vec<SpanDigest> = std::iter::once(root())
            .chain((0..12u32).map(|i| {
                let name = if i % 2 == 0 { "search" } else { "open" };
                let status = if fails[i as usize] { StatusCode::Error } else { StatusCode::Ok };
                tool(i + 1, name, json!({"q": i % 4}), status)
            }))
            .collect();
        let mut shuffled = vec![all[0].clone()];
        shuffled.extend(order.iter().map(|&i| all[i as usize + 1].clone()));
        prop_assert_eq!(found(&all), found(&shuffled));
    }
}
