//! Run listings in every order, paged; and the values a filter suggests (run facets).

use lemma_core::query::parse;
use lemma_core::{Run, StatusCode};
use serde_json::json;

use super::{query, span};
use crate::facets::{values, FacetField};
use crate::{ListQuery, RunOrder, RunSort, Store, StoreError};

/// Twelve runs with durations, costs, tokens and errors in many orders, ties included.
async fn write_runs<S: Store>(store: &S, p: crate::ProjectId) {
    let mut batch = Vec::new();
    for t in 0..12u8 {
        let start = 1_000_000_000 * (t as u64 + 1);
        let mut attrs = json!({
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": if t % 3 == 0 { "billing" } else { "support-agent" },
            "lemma.metadata.plan": if t % 2 == 0 { "pro" } else { "free" },
            "lemma.user_id": format!("user-{}", t % 4),
        });
        if t % 5 != 0 {
            // Two runs of each cost, some without one.
            attrs["lemma.cost_usd"] = json!(0.001 * (t / 2) as f64 + 0.000_000_000_3);
        }
        let mut root = span(t + 1, 1, None, "invoke_agent", start, attrs);
        // Durations: a few equal ones, the rest apart.
        root.end_time_unix_nano =
            start + 1_000_000 * [5, 1, 5, 9, 2, 7, 5, 3, 8, 4, 6, 5][t as usize];
        let model = if t % 2 == 0 {
            "gpt-4o-2024-08-06"
        } else {
            "gpt-4o-mini"
        };
        let mut llm = span(
            t + 1,
            2,
            Some(1),
            "chat",
            start,
            json!({"gen_ai.operation.name": "chat", "gen_ai.request.model": model,
                   "gen_ai.usage.input_tokens": (t as u64 % 4) * 10,
                   "gen_ai.usage.output_tokens": 1}),
        );
        if t % 4 == 1 {
            llm.status = StatusCode::Error;
        }
        batch.push((p, root));
        batch.push((p, llm));
    }
    store.write_spans(batch).await.unwrap();
}

/// The position of a run in `order`, as the listing must sort it.
fn position(run: &Run, by: RunSort) -> (i64, u64, String) {
    let value = match by {
        RunSort::Start => 0,
        RunSort::Duration => (run.duration_ms * 1000.0).round() as i64,
        RunSort::Cost => (run.cost_usd.unwrap_or(-1.0) * 1e9).round() as i64,
        RunSort::Tokens => run.total_tokens as i64,
        RunSort::Spans => run.span_count as i64,
        RunSort::Errors => run.error_count as i64,
    };
    (value, run.start_time_unix_nano, run.run_id.clone())
}

/// Every page of `q` in `order`, `limit` at a time.
async fn all_pages<S: Store>(
    store: &S,
    p: crate::ProjectId,
    q: &str,
    order: RunOrder,
    limit: usize,
) -> Vec<Run> {
    let mut runs = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .list_runs(
                p,
                ListQuery {
                    order,
                    cursor: cursor.take(),
                    ..query(q, limit)
                },
            )
            .await
            .unwrap();
        runs.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(crate::Cursor::decode(&c).unwrap()),
            None => return runs,
        }
        assert!(runs.len() <= 12, "paging must end");
    }
}

pub async fn run_orders<S: Store>(store: &S) {
    let p = store.create_project("orders").await.unwrap().id;
    write_runs(store, p).await;
    let newest = all_pages(store, p, "", RunOrder::default(), 100).await;
    assert_eq!(newest.len(), 12);
    for by in RunSort::ALL {
        for ascending in [false, true] {
            let order = RunOrder { by, ascending };
            let mut expected = newest.clone();
            expected.sort_by_key(|r| position(r, by));
            if !ascending {
                expected.reverse();
            }
            let ids = |runs: &[Run]| runs.iter().map(|r| r.run_id.clone()).collect::<Vec<_>>();
            for limit in [1, 3, 5, 100] {
                let got = all_pages(store, p, "", order, limit).await;
                assert_eq!(ids(&got), ids(&expected), "{order:?}, {limit} a page");
            }
            let narrowed = all_pages(store, p, "agent:billing", order, 2).await;
            let billing: Vec<Run> = expected
                .iter()
                .filter(|r| r.agent_name.as_deref() == Some("billing"))
                .cloned()
                .collect();
            assert_eq!(ids(&narrowed), ids(&billing), "{order:?} with a filter");
        }
    }

    // A cursor continues only the order it came from.
    let by_cost = RunOrder {
        by: RunSort::Cost,
        ascending: false,
    };
    let first = store
        .list_runs(
            p,
            ListQuery {
                order: by_cost,
                ..query("", 2)
            },
        )
        .await
        .unwrap();
    let cursor = crate::Cursor::decode(&first.next_cursor.unwrap()).unwrap();
    for order in [
        RunOrder::default(),
        RunOrder {
            ascending: true,
            ..by_cost
        },
    ] {
        let other = store
            .list_runs(
                p,
                ListQuery {
                    order,
                    cursor: Some(cursor.clone()),
                    ..query("", 2)
                },
            )
            .await;
        assert!(matches!(other, Err(StoreError::Invalid(_))), "{order:?}");
    }
    let spans = store
        .search_spans(
            p,
            ListQuery {
                cursor: Some(cursor),
                ..query("", 2)
            },
        )
        .await;
    assert!(matches!(spans, Err(StoreError::Invalid(_))));
}

pub async fn run_facets<S: Store>(store: &S) {
    let p = store.create_project("orders").await;
    let p = match p {
        Ok(p) => p.id,
        Err(_) => store.project_by_name("orders").await.unwrap().unwrap().id,
    };
    let all = store
        .run_facets(p, parse("", 1).unwrap(), 100)
        .await
        .unwrap();
    assert_eq!(all.len(), 12);
    let pairs = |field: &str, prefix: &str, runs: &[crate::RunFacets]| {
        values(runs, &FacetField::parse(field).unwrap(), prefix, 10)
            .into_iter()
            .map(|v| (v.value, v.runs))
            .collect::<Vec<_>>()
    };
    let s = |v: &str, n: u64| (v.to_string(), n);
    assert_eq!(
        pairs("agent", "", &all),
        [s("support-agent", 8), s("billing", 4)]
    );
    assert_eq!(
        pairs("model", "gpt-4o", &all),
        [
            s("gpt-4o", 6),
            s("gpt-4o-2024-08-06", 6),
            s("gpt-4o-mini", 6)
        ]
    );
    assert_eq!(pairs("meta", "", &all), [s("plan", 12)]);
    assert_eq!(pairs("meta.plan", "f", &all), [s("free", 6)]);
    assert_eq!(pairs("user", "user-1", &all), [s("user-1", 3)]);

    // The newest runs first, and only those matching the filter.
    let newest = store.run_facets(p, parse("", 1).unwrap(), 3).await.unwrap();
    assert_eq!(
        newest
            .iter()
            .map(|f| f.user_id.clone().unwrap())
            .collect::<Vec<_>>(),
        ["user-3", "user-2", "user-1"],
        "runs 11, 10, 9"
    );
    let billing = store
        .run_facets(p, parse("agent:billing", 1).unwrap(), 100)
        .await
        .unwrap();
    assert_eq!(pairs("agent", "", &billing), [s("billing", 4)]);
    assert_eq!(
        pairs("user", "", &billing),
        [
            s("user-0", 1),
            s("user-1", 1),
            s("user-2", 1),
            s("user-3", 1)
        ],
        "runs 0, 3, 6 and 9"
    );
}
