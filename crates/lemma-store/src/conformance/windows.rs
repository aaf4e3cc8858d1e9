//! Reading a run in pieces: its summary, its spans' light fields, one span, a search inside it.

use lemma_core::query::parse;
use lemma_core::{SpanOutline, StatusCode};
use serde_json::json;

use super::{log, span};
use crate::{ProjectId, Store};

pub async fn run_windows<S: Store>(store: &S, a: ProjectId, b: ProjectId) {
    let trace = 160;
    let run_id = format!("{trace:032x}");
    let root = span(
        trace,
        1,
        None,
        "invoke_agent planner",
        1_000,
        json!({"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner"}),
    );
    let llm = span(
        trace,
        2,
        Some(1),
        "chat gpt-x",
        2_000,
        json!({"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-x",
               "gen_ai.usage.input_tokens": 12, "gen_ai.usage.output_tokens": 3,
               "lemma.cost_usd": 0.25}),
    );
    let mut tool = span(
        trace,
        3,
        Some(1),
        "execute_tool search",
        3_000,
        json!({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search",
               "lemma.output": "a solitary flamingo"}),
    );
    tool.status = StatusCode::Error;
    // Its parent never arrives: still part of the run.
    let orphan = span(trace, 4, Some(9), "late step", 500, json!({}));
    store
        .write_spans(
            [orphan, tool, root, llm]
                .into_iter()
                .map(|s| (a, s))
                .collect(),
        )
        .await
        .unwrap();
    let record = log(
        trace,
        3,
        "gen_ai.tool.message",
        3_500,
        json!({"content": "hit"}),
    );
    store.write_logs(vec![(a, record)]).await.unwrap();
    let (run, spans) = store.get_run(a, &run_id).await.unwrap().unwrap();

    // The summary alone is the run's.
    assert_eq!(store.run_summary(a, &run_id).await.unwrap(), Some(run));
    assert_eq!(store.run_summary(b, &run_id).await.unwrap(), None);
    assert_eq!(
        store
            .run_summary(a, &format!("{:032x}", 161))
            .await
            .unwrap(),
        None
    );

    // The outline is every span's light fields, in the run's start order.
    let outline = store.run_outline(a, &run_id).await.unwrap().unwrap();
    let expected: Vec<SpanOutline> = spans.iter().map(SpanOutline::from).collect();
    assert_eq!(outline, expected);
    let ids: Vec<&str> = outline.iter().map(|r| &r.span_id[14..]).collect();
    assert_eq!(ids, ["04", "01", "02", "03"]);
    let chat = &outline[2];
    assert_eq!(chat.model.as_deref(), Some("gpt-x"));
    assert_eq!((chat.input_tokens, chat.output_tokens), (Some(12), Some(3)));
    assert_eq!(chat.cost_usd, Some(0.25));
    assert_eq!(outline[3].tool_name.as_deref(), Some("search"));
    assert_eq!(outline[3].status, StatusCode::Error);
    assert_eq!(
        outline[0].parent_span_id.as_deref(),
        Some(&*format!("{:016x}", 9))
    );
    assert_eq!(outline[1].agent_name.as_deref(), Some("planner"));
    assert_eq!(store.run_outline(b, &run_id).await.unwrap(), None);
    assert_eq!(store.run_outline(a, "not-a-run").await.unwrap(), None);

    // One span in full, with its log records, as the whole run has it.
    let tool_id = format!("{:016x}", 3);
    let full = store.get_span(a, &run_id, &tool_id).await.unwrap().unwrap();
    assert_eq!(&full, spans.iter().find(|s| s.span_id == tool_id).unwrap());
    assert_eq!(full.logs.len(), 1);
    assert_eq!(full.output, Some(json!("a solitary flamingo")));
    let upper = store
        .get_span(a, &run_id.to_uppercase(), &tool_id.to_uppercase())
        .await
        .unwrap();
    assert_eq!(upper.as_ref(), Some(&full));
    assert_eq!(store.get_span(b, &run_id, &tool_id).await.unwrap(), None);
    let elsewhere = format!("{:032x}", 70);
    assert_eq!(store.get_span(a, &elsewhere, &tool_id).await.unwrap(), None);
    assert_eq!(store.get_span(a, &run_id, "zz").await.unwrap(), None);

    // Several spans at once, in start order, whatever order they were asked in; unknown and
    // malformed ids, and other projects' spans, left out.
    let asked = [3, 9, 1].map(|i| format!("{i:016x}")).to_vec();
    let some = store.get_spans(a, &run_id, [asked.clone(), vec!["zz".into()]].concat());
    let some = some.await.unwrap();
    let expect: Vec<_> = spans
        .iter()
        .filter(|s| asked.contains(&s.span_id))
        .cloned()
        .collect();
    assert_eq!(some, expect);
    assert_eq!(some.len(), 2);
    assert!(some[1].logs.len() == 1, "log records are joined");
    assert!(store.get_spans(b, &run_id, asked).await.unwrap().is_empty());

    // A search inside the run: the query language, scoped to it, in start order.
    let find = |p: ProjectId, q: &str, limit: usize| {
        let filter = parse(q, u64::MAX / 2).expect("valid query");
        let run_id = run_id.clone();
        async move {
            let ids = store.find_in_run(p, &run_id, filter, limit).await.unwrap();
            ids.iter()
                .map(|id| id[14..].to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(find(a, "status:error", 10).await, ["03"]);
    assert_eq!(find(a, "kind:llm", 10).await, ["02"]);
    assert_eq!(find(a, "flamingo", 10).await, ["03"]);
    assert_eq!(find(a, "name:*e*", 10).await, ["04", "01", "03"]);
    assert_eq!(find(a, "name:*e*", 2).await, ["04", "01"]);
    assert_eq!(find(a, "", 10).await.len(), 4);
    assert!(find(b, "", 10).await.is_empty());
    // The same words in another run of the project are not found here.
    let other = span(
        162,
        3,
        None,
        "other",
        1,
        json!({"lemma.output": "flamingo again"}),
    );
    store.write_spans(vec![(a, other)]).await.unwrap();
    assert_eq!(find(a, "flamingo", 10).await, ["03"]);
}
