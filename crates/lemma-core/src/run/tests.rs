use super::*;

fn d(id: &str, parent: Option<&str>, kind: SpanKind, start: u64) -> SpanDigest {
    SpanDigest {
        span_id: id.into(),
        parent_span_id: parent.map(Into::into),
        name: format!("span {id}"),
        kind,
        start_time_unix_nano: start,
        end_time_unix_nano: start + 10,
        ..SpanDigest::default()
    }
}

fn usage(i: u64, o: u64) -> Usage {
    Usage {
        input_tokens: Some(i),
        output_tokens: Some(o),
        total_tokens: Some(i + o),
        ..Usage::default()
    }
}

#[test]
fn token_sums_saturate_instead_of_wrapping() {
    let mut spans = vec![
        d("r", None, SpanKind::Agent, 1),
        d("a", Some("r"), SpanKind::Llm, 2),
        d("b", Some("r"), SpanKind::Llm, 3),
    ];
    for s in &mut spans[1..] {
        s.model = Some("m".into());
        s.usage = Usage {
            input_tokens: Some(u64::MAX),
            output_tokens: Some(1),
            ..Usage::default()
        };
    }
    let run = summarize("t", &spans);
    assert_eq!((run.input_tokens, run.output_tokens), (u64::MAX, 2));
    assert_eq!(run.total_tokens, u64::MAX);
    let by_model = &run.usage_by_model[0];
    assert_eq!((by_model.calls, by_model.input_tokens), (2, u64::MAX));
    assert_eq!(by_model.total_tokens, u64::MAX);
}

#[test]
fn same_summary_whatever_the_order() {
    let mut spans = vec![
        d("r", None, SpanKind::Agent, 1),
        d("a", Some("r"), SpanKind::Llm, 2),
        d("b", Some("r"), SpanKind::Tool, 3),
    ];
    spans[0].agent_name = Some("bot".into());
    spans[1].usage = usage(5, 1);
    let forward = summarize("t", &spans);
    spans.reverse();
    assert_eq!(summarize("t", &spans), forward);
    assert_eq!(forward.agent_name.as_deref(), Some("bot"));
    assert_eq!(forward.total_tokens, 6);
    assert!(forward.has_root);
    assert_eq!(forward.status, StatusCode::Ok);
    assert_eq!(forward.root_span_id.as_deref(), Some("r"));
}

#[test]
fn a_trace_name_set_on_any_span_names_the_run() {
    let mut spans = vec![
        d("r", None, SpanKind::Agent, 1),
        d("a", Some("r"), SpanKind::Llm, 2),
    ];
    assert_eq!(summarize("t", &spans).name, "span r");
    spans[1].trace_name = Some("support-request".into());
    assert_eq!(summarize("t", &spans).name, "support-request");
}

#[test]
fn nested_agents_are_listed_in_pre_order() {
    let mut spans = vec![
        d("r", None, SpanKind::Agent, 1),
        d("a", Some("r"), SpanKind::Agent, 2),
        d("b", Some("a"), SpanKind::Agent, 3),
        d("c", Some("r"), SpanKind::Agent, 4),
    ];
    for (s, name) in spans
        .iter_mut()
        .zip(["triage", "refunds", "ledger", "refunds"])
    {
        s.agent_name = Some(name.into());
    }
    spans.reverse();
    let run = summarize("t", &spans);
    assert_eq!(run.agent_name.as_deref(), Some("triage"));
    assert_eq!(run.agent_names, ["triage", "refunds", "ledger"]);
}

#[test]
fn without_root_the_top_most_span_stands_in() {
    let spans = vec![
        d("c", Some("b"), SpanKind::Llm, 5),
        d("b", Some("missing"), SpanKind::Agent, 2),
    ];
    let run = summarize("t", &spans);
    assert!(!run.has_root);
    assert_eq!(run.root_span_id.as_deref(), Some("b"));
    assert_eq!(run.name, "span b");
    assert_eq!(run.status, StatusCode::Unset);
    assert_eq!(run.agent_name.as_deref(), Some("span b"));
}

#[test]
fn agent_usage_repeating_children_is_not_added() {
    let mut spans = vec![
        d("r", None, SpanKind::Agent, 1),
        d("a", Some("r"), SpanKind::Llm, 2),
        d("b", Some("r"), SpanKind::Llm, 3),
    ];
    spans[0].usage = usage(30, 3);
    spans[1].usage = usage(10, 1);
    spans[2].usage = usage(20, 2);
    let run = summarize("t", &spans);
    assert_eq!(
        (run.input_tokens, run.output_tokens, run.total_tokens),
        (30, 3, 33)
    );
}

#[test]
fn usage_on_a_childless_agent_counts() {
    let mut spans = vec![d("r", None, SpanKind::Agent, 1)];
    spans[0].usage = usage(7, 2);
    assert_eq!(summarize("t", &spans).total_tokens, 9);
}

#[test]
fn same_response_id_counts_once_latest_start_wins() {
    let mut spans = vec![
        d("r", None, SpanKind::Agent, 1),
        d("a", Some("r"), SpanKind::Llm, 2),
        d("b", Some("r"), SpanKind::Llm, 3),
    ];
    spans[1].usage = usage(12, 20);
    spans[1].response_id = Some("msg_1".into());
    spans[2].usage = usage(13, 21);
    spans[2].response_id = Some("msg_1".into());
    let run = summarize("t", &spans);
    assert_eq!((run.input_tokens, run.output_tokens), (13, 21));
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-12)
}

#[test]
fn cost_counts_each_model_call_once() {
    // An agent repeating its children's usage and cost.
    let mut spans = vec![
        d("r", None, SpanKind::Agent, 1),
        d("a", Some("r"), SpanKind::Llm, 2),
        d("b", Some("r"), SpanKind::Llm, 3),
    ];
    spans[0].usage = usage(30, 3);
    spans[0].cost_usd = Some(0.3);
    spans[1].usage = usage(10, 1);
    spans[1].cost_usd = Some(0.1);
    spans[2].usage = usage(20, 2);
    spans[2].cost_usd = Some(0.2);
    assert!(close(summarize("t", &spans).cost_usd, 0.3));

    // Two spans recording one call (same response id).
    spans[2].response_id = Some("msg_1".into());
    spans.push(d("c", Some("r"), SpanKind::Llm, 4));
    spans[3].usage = usage(20, 2);
    spans[3].cost_usd = Some(0.2);
    spans[3].response_id = Some("msg_1".into());
    let run = summarize("t", &spans);
    assert!(close(run.cost_usd, 0.3), "{:?}", run.cost_usd);
    assert_eq!(run.total_tokens, 33);
}

#[test]
fn cost_without_usage_counts_and_falls_back_to_the_level_that_has_it() {
    // A priced tool call carries a cost but no tokens.
    let mut spans = vec![
        d("r", None, SpanKind::Agent, 1),
        d("a", Some("r"), SpanKind::Llm, 2),
        d("b", Some("r"), SpanKind::Tool, 3),
    ];
    spans[1].usage = usage(10, 1);
    spans[1].cost_usd = Some(0.1);
    spans[2].cost_usd = Some(0.05);
    assert!(close(summarize("t", &spans).cost_usd, 0.15));

    // Only the agent knows the cost; its children have tokens but no price.
    spans[1].cost_usd = None;
    spans[2].cost_usd = None;
    spans[0].cost_usd = Some(0.4);
    let run = summarize("t", &spans);
    assert!(close(run.cost_usd, 0.4));
    assert_eq!(run.total_tokens, 11);
    spans[0].cost_usd = None;
    assert_eq!(summarize("t", &spans).cost_usd, None);
}

fn llm(id: &str, model: &str, provider: Option<&str>, start: u64) -> SpanDigest {
    SpanDigest {
        model: Some(model.into()),
        provider: provider.map(Into::into),
        ..d(id, Some("r"), SpanKind::Llm, start)
    }
}

#[test]
fn usage_by_model_splits_the_counted_totals() {
    // The agent repeats its children's usage and cost; only the calls count.
    let mut spans = vec![
        d("r", None, SpanKind::Agent, 1),
        llm("a", "small", Some("openai"), 2),
        llm("b", "large", Some("anthropic"), 3),
        llm("c", "small", Some("openai"), 4),
    ];
    spans[0].usage = usage(80, 8);
    spans[0].cost_usd = Some(0.8);
    spans[1].usage = usage(10, 1);
    spans[1].cost_usd = Some(0.1);
    spans[2].usage = usage(50, 5);
    spans[2].usage.cache_read_tokens = Some(40);
    spans[2].usage.reasoning_tokens = Some(3);
    spans[3].usage = usage(20, 2);
    spans[3].cost_usd = Some(0.2);
    let run = summarize("t", &spans);
    let by = &run.usage_by_model;
    assert_eq!(by.len(), 2, "{by:?}");
    assert_eq!(
        (by[0].model.as_str(), by[0].provider.as_deref(), by[0].calls),
        ("large", Some("anthropic"), 1)
    );
    assert_eq!(
        (by[0].input_tokens, by[0].output_tokens, by[0].total_tokens),
        (50, 5, 55)
    );
    assert_eq!((by[0].cache_read_tokens, by[0].reasoning_tokens), (40, 3));
    assert_eq!(by[0].cost_usd, None, "no call of it was priced");
    assert_eq!(
        (by[1].model.as_str(), by[1].calls, by[1].total_tokens),
        ("small", 2, 33)
    );
    assert!(close(by[1].cost_usd, 0.3));
    assert_eq!(
        by.iter().map(|m| m.total_tokens).sum::<u64>(),
        run.total_tokens
    );
    assert_eq!(
        by.iter().map(|m| m.input_tokens).sum::<u64>(),
        run.input_tokens
    );
    assert!(close(run.cost_usd, 0.3));

    spans.reverse();
    assert_eq!(summarize("t", &spans).usage_by_model, run.usage_by_model);
}

#[test]
fn usage_by_model_counts_a_repeated_response_once() {
    let mut spans = vec![
        d("r", None, SpanKind::Agent, 1),
        llm("a", "m", None, 2),
        llm("b", "m", None, 3),
    ];
    for s in &mut spans[1..] {
        s.usage = usage(12, 20);
        s.response_id = Some("msg_1".into());
    }
    let by = summarize("t", &spans).usage_by_model;
    assert_eq!(by.len(), 1);
    assert_eq!((by[0].calls, by[0].total_tokens), (1, 32));
}

#[test]
fn usage_without_a_model_is_listed_as_unknown() {
    // A childless agent reporting usage, and a priced tool call.
    let mut spans = vec![
        d("r", None, SpanKind::Agent, 1),
        d("t", Some("r"), SpanKind::Tool, 2),
    ];
    spans[0].usage = usage(7, 2);
    spans[1].cost_usd = Some(0.05);
    let run = summarize("t", &spans);
    assert_eq!(run.usage_by_model.len(), 1);
    let u = &run.usage_by_model[0];
    assert_eq!(
        (u.model.as_str(), u.provider.as_deref()),
        (UNKNOWN_MODEL, None)
    );
    assert_eq!((u.calls, u.total_tokens), (2, 9));
    assert!(close(u.cost_usd, 0.05));
}

#[test]
fn one_model_from_two_providers_is_two_entries() {
    let mut spans = vec![
        d("r", None, SpanKind::Agent, 1),
        llm("a", "gpt-4o", Some("openai"), 2),
        llm("b", "gpt-4o", Some("azure.ai.openai"), 3),
        llm("c", "a-model", None, 4),
    ];
    for s in &mut spans[1..] {
        s.usage = usage(5, 5);
    }
    let by = summarize("t", &spans).usage_by_model;
    let keys: Vec<_> = by
        .iter()
        .map(|m| (m.model.as_str(), m.provider.as_deref(), m.total_tokens))
        .collect();
    assert_eq!(
        keys,
        [
            ("a-model", None, 10),
            ("gpt-4o", Some("azure.ai.openai"), 10),
            ("gpt-4o", Some("openai"), 10)
        ],
        "equal totals are ordered by model, then provider"
    );
}

#[test]
fn summaries_and_digests_stored_before_per_model_usage_still_decode() {
    let mut run =
        serde_json::to_value(summarize("t", &[d("r", None, SpanKind::Agent, 1)])).unwrap();
    run.as_object_mut().unwrap().remove("usage_by_model");
    let run: Run = serde_json::from_value(run).unwrap();
    assert!(run.usage_by_model.is_empty());

    let mut digest = serde_json::to_value(llm("a", "m", Some("p"), 1)).unwrap();
    digest.as_object_mut().unwrap().remove("provider");
    let digest: SpanDigest = serde_json::from_value(digest).unwrap();
    assert_eq!(
        (digest.model.as_deref(), digest.provider),
        (Some("m"), None)
    );
}

#[test]
fn error_status_and_counts() {
    let mut spans = vec![
        d("r", None, SpanKind::Agent, 1),
        d("a", Some("r"), SpanKind::Tool, 2),
    ];
    spans[1].status = StatusCode::Error;
    let run = summarize("t", &spans);
    assert_eq!(
        run.status,
        StatusCode::Ok,
        "the root decides the run's status"
    );
    assert_eq!(run.error_count, 1);
    spans[0].status = StatusCode::Error;
    spans[0].status_message = Some("boom".into());
    let run = summarize("t", &spans);
    assert_eq!(run.status, StatusCode::Error);
    assert_eq!(run.status_message.as_deref(), Some("boom"));
}

#[test]
fn thread_user_from_first_span_in_pre_order() {
    let mut spans = vec![
        d("r", None, SpanKind::Agent, 1),
        d("a", Some("r"), SpanKind::Llm, 2),
        d("b", Some("a"), SpanKind::Tool, 3),
        d("c", Some("r"), SpanKind::Tool, 4),
    ];
    spans[3].thread_id = Some("late".into());
    spans[2].thread_id = Some("deep".into());
    spans[2].user_id = Some("u".into());
    let run = summarize("t", &spans);
    assert_eq!(run.thread_id.as_deref(), Some("deep"));
    assert_eq!(run.user_id.as_deref(), Some("u"));
}

#[test]
fn loops_of_identical_tool_calls() {
    let mut spans = vec![d("r", None, SpanKind::Agent, 0)];
    let calls = [
        ("a", "1"),
        ("b", "1"),
        ("b", "1"),
        ("b", "1"),
        ("b", "2"),
        ("c", "1"),
        ("c", "1"),
    ];
    for (n, (tool, arg)) in calls.iter().enumerate() {
        let mut s = d(&format!("s{n}"), Some("r"), SpanKind::Tool, 10 + n as u64);
        s.tool_name = Some(tool.to_string());
        s.tool_args = Some(format!("{{\"x\":{arg}}}"));
        spans.push(s);
    }
    let run = summarize("t", &spans);
    assert_eq!(run.signals.len(), 1);
    let l = &run.signals[0];
    assert_eq!(
        (
            l.tool_name.as_deref(),
            l.repeats,
            l.first_span_id.as_deref()
        ),
        (Some("b"), 3, Some("s1"))
    );
    assert_eq!(l.tool_args, Some(serde_json::json!({"x": 1})));
    assert_eq!(run.tools, vec!["a", "b", "c"]);
}

#[test]
fn parent_cycles_do_not_hang() {
    let spans = vec![
        d("a", Some("b"), SpanKind::Span, 1),
        d("b", Some("a"), SpanKind::Span, 2),
    ];
    let run = summarize("t", &spans);
    assert_eq!(run.span_count, 2);
}

/// A later batch splits a loop with two different calls: what follows them is still a loop of
/// its own (the ledger once dropped it when the split ended right before it).
#[test]
fn a_loop_split_by_later_calls_keeps_its_tail() {
    let call = |id: &str, at: u64, tool: &str| {
        let mut s = d(id, Some("r"), SpanKind::Tool, at);
        s.tool_name = Some(tool.to_string());
        s
    };
    let first = vec![
        d("r", None, SpanKind::Agent, 0),
        call("x1", 10, "x"),
        call("x2", 20, "x"),
        call("x3", 21, "x"),
        call("x4", 22, "x"),
    ];
    let later = vec![call("a", 11, "a"), call("b", 12, "b")];
    let mut index = super::memory::MemoryIndex::default();
    let mut state = super::ledger::RunState::default();
    for batch in [&first, &later] {
        index.insert(batch);
        let Ok(()) = super::ledger::apply(&mut index, &mut state, batch);
    }
    let mut all = first.clone();
    all.extend(later);
    let whole = summarize("t", &all);
    assert_eq!(state.finish("t").signals, whole.signals);
    let l = &whole.signals[0];
    assert_eq!((l.first_span_id.as_deref(), l.repeats), (Some("x2"), 3));
}
