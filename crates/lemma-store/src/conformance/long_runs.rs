//! A long run delivered the way exporters deliver it: in many batches, out of order, with
//! retries. Its summary must equal the one a single batch of the same spans gives.

use lemma_core::{semconv, Run, Span, StatusCode};
use serde_json::json;

use crate::{ProjectId, Store};

/// Spans in the run.
const SPANS: u32 = 2_000;
/// Batches it arrives in.
const BATCHES: usize = 200;

fn span(
    trace: &str,
    id: u32,
    parent: Option<u32>,
    name: &str,
    start: u64,
    attrs: serde_json::Value,
) -> Span {
    let mut s = Span {
        trace_id: trace.into(),
        span_id: format!("{id:016x}"),
        parent_span_id: parent.map(|p| format!("{p:016x}")),
        name: name.into(),
        start_time_unix_nano: start,
        end_time_unix_nano: start + 900_000,
        attributes: attrs.as_object().cloned().unwrap_or_default(),
        ..Span::default()
    };
    semconv::normalize(&mut s);
    s
}

/// An agent run: turns of a model call and a tool call under the root agent, a sub-agent
/// every so often (whose span repeats its calls' usage, which must not count twice), calls
/// recorded twice under one response id, failing tools, and stretches of identical tool calls.
fn long_run(trace: &str) -> Vec<Span> {
    let base = 1_700_000_000_000_000_000u64;
    let mut spans = vec![span(
        trace,
        1,
        None,
        "agent",
        base,
        json!({"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "long",
               "lemma.thread_id": "long-thread"}),
    )];
    let mut id = 2u32;
    let mut turn = 0u64;
    while id < SPANS {
        let t = base + 1_000_000 * turn;
        turn += 1;
        let mut parent = 1;
        if turn.is_multiple_of(25) {
            parent = id;
            spans.push(span(
                trace,
                id,
                Some(1),
                "sub-agent",
                t,
                json!({"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "helper",
                       "gen_ai.usage.input_tokens": 40, "gen_ai.usage.output_tokens": 4}),
            ));
            id += 1;
        }
        let model = if turn.is_multiple_of(3) {
            "small"
        } else {
            "large"
        };
        let chat = json!({"gen_ai.operation.name": "chat", "gen_ai.request.model": model,
                          "gen_ai.response.id": format!("resp-{turn}"),
                          "gen_ai.usage.input_tokens": 20 + turn % 7,
                          "gen_ai.usage.output_tokens": 2, "lemma.cost_usd": 0.000_125});
        spans.push(span(trace, id, Some(parent), "chat", t + 1, chat.clone()));
        id += 1;
        if turn.is_multiple_of(10) {
            // A second instrumentation recording the same call.
            spans.push(span(trace, id, Some(parent), "chat", t + 2, chat));
            id += 1;
        }
        // Stretches of identical calls (loops), broken every eighth turn.
        let args = if turn % 8 < 5 {
            "{\"q\":1}".to_string()
        } else {
            format!("{{\"q\":{turn}}}")
        };
        let tool = json!({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search",
                          "gen_ai.tool.call.arguments": args});
        let mut tool = span(trace, id, Some(parent), "search", t + 3, tool);
        if turn.is_multiple_of(13) {
            tool.status = StatusCode::Error;
        }
        spans.push(tool);
        id += 1;
    }
    spans
}

/// A fixed pseudo-random permutation (the suite has no dependencies for randomness).
fn shuffle<T>(items: &mut [T], mut seed: u64) {
    for i in (1..items.len()).rev() {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        items.swap(i, (seed >> 33) as usize % (i + 1));
    }
}

async fn summary<S: Store>(store: &S, p: ProjectId, trace: &str) -> Run {
    let (run, spans) = store
        .get_run(p, trace)
        .await
        .unwrap()
        .expect("the run is stored");
    assert_eq!(spans.len() as u64, run.span_count);
    run
}

pub async fn long_run_in_shuffled_batches<S: Store>(store: &S, p: ProjectId) {
    let (whole, split) = (format!("{:032x}", 0x10a6u32), format!("{:032x}", 0x10a7u32));
    let one: Vec<(ProjectId, Span)> = long_run(&whole).into_iter().map(|s| (p, s)).collect();
    store.write_spans(one).await.unwrap();

    let mut spans = long_run(&split);
    let total = spans.len();
    shuffle(&mut spans, 7);
    let size = total.div_ceil(BATCHES);
    let mut batches: Vec<Vec<Span>> = spans.chunks(size).map(<[Span]>::to_vec).collect();
    shuffle(&mut batches, 11);
    let mut sent: Vec<Span> = Vec::new();
    for (n, batch) in batches.into_iter().enumerate() {
        // An exporter retrying: a few spans already stored come again with the batch.
        let retried = sent.iter().skip(n * 3 % sent.len().max(1)).take(5).cloned();
        let mut request: Vec<(ProjectId, Span)> = batch.iter().cloned().map(|s| (p, s)).collect();
        request.extend(retried.map(|s| (p, s)));
        let stats = store.write_spans(request).await.unwrap();
        assert_eq!(stats.inserted as usize, batch.len(), "batch {n}");
        sent.extend(batch);
    }

    let (a, mut b) = (
        summary(store, p, &whole).await,
        summary(store, p, &split).await,
    );
    assert_eq!(a.span_count as usize, total);
    assert!(a.total_tokens > 0 && a.cost_usd.is_some() && !a.signals.is_empty());
    assert_eq!(a.agent_names, ["long", "helper"]);
    b.run_id.clone_from(&a.run_id);
    // Loop signals name their first span, the same in both runs (same span ids).
    assert_eq!(
        b, a,
        "the run summarised batch by batch differs from the run sent whole"
    );
}
