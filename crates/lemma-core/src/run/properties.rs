//! Property tests: the ledger, batch by batch in any split, order and with retries, summarises
//! a run exactly as the whole-tree rules do.

use std::collections::HashSet;

use proptest::prelude::*;
use serde_json::{Map, Value};

use super::ledger::{self, RunState};
use super::memory::MemoryIndex;
use super::partial::RunPartial;
use super::reference::summarize_all;
use super::*;
use crate::model::{SpanKind, StatusCode, Usage};

/// A span as the generator draws it: its parent is an earlier span (or none), so spans form
/// trees; a few fields are drawn from small pools so that ties, shared response ids, repeated
/// tool calls and competing values occur.
fn digest(i: usize, g: &Gen) -> SpanDigest {
    let kinds = [
        SpanKind::Agent,
        SpanKind::Llm,
        SpanKind::Tool,
        SpanKind::Span,
    ];
    let pick = |v: &[&str], k: u8| v.get(k as usize).map(|s| s.to_string());
    SpanDigest {
        span_id: format!("s{i:03}"),
        parent_span_id: match g.parent {
            0 => None,
            p if i > 0 => Some(format!("s{:03}", (p as usize) % i)),
            _ => Some("missing".into()),
        },
        name: format!("span {i}"),
        trace_name: pick(&["named"], g.pool[0]),
        kind: kinds[g.kind as usize % kinds.len()],
        start_time_unix_nano: g.start as u64,
        end_time_unix_nano: g.start as u64 + g.len as u64,
        status: if g.error {
            StatusCode::Error
        } else {
            StatusCode::Unset
        },
        status_message: g.error.then(|| format!("failed {i}")),
        model: pick(&["m1", "m2"], g.pool[1]),
        provider: pick(&["p1"], g.pool[2]),
        response_id: pick(&["r1", "r2"], g.pool[3]),
        usage: if g.tokens > 0 {
            Usage {
                input_tokens: Some(g.tokens as u64),
                output_tokens: Some(1),
                cache_read_tokens: g.tokens.is_multiple_of(3).then_some(2),
                ..Usage::default()
            }
        } else {
            Usage::default()
        },
        cost_usd: (g.cost > 0).then(|| g.cost as f64 / 8.0),
        tool_name: pick(&["grep", "ls"], g.pool[4]),
        tool_args: pick(&["{\"a\":1}", "{\"a\":2}"], g.pool[5]),
        agent_name: pick(&["a1", "a2", "a3"], g.pool[6]),
        thread_id: pick(&["t1", "t2"], g.pool[7]),
        user_id: pick(&["u1", "u2"], g.pool[8]),
        session_id: pick(&["x1"], g.pool[9]),
        environment: pick(&["prod", "dev"], g.pool[10]),
        tags: match g.pool[11] {
            0 => vec!["x".into(), "y".into()],
            1 => vec!["y".into()],
            _ => Vec::new(),
        },
        metadata: match g.pool[12] {
            0 => [("k".to_string(), Value::from(i))].into_iter().collect(),
            1 => [("j".to_string(), Value::from("v"))].into_iter().collect(),
            _ => Map::new(),
        },
        marks: Vec::new(),
    }
}

#[derive(Debug, Clone)]
struct Gen {
    parent: u8,
    kind: u8,
    start: u8,
    len: u8,
    error: bool,
    tokens: u8,
    cost: u8,
    pool: [u8; 13],
}

fn gen() -> impl Strategy<Value = Gen> {
    (
        (0u8..6, 0u8..4, 0u8..12, 0u8..4),
        (proptest::bool::weighted(0.15), 0u8..4, 0u8..3),
        proptest::array::uniform13(0u8..4),
    )
        .prop_map(
            |((parent, kind, start, len), (error, tokens, cost), pool)| Gen {
                parent,
                kind,
                start,
                len,
                error,
                tokens: tokens * 3,
                cost,
                pool,
            },
        )
}

/// Spans, a split of them into batches (a batch number per span), an arrival order of the
/// batches, and spans sent again (an exporter retrying).
fn case() -> impl Strategy<Value = (Vec<SpanDigest>, Vec<usize>, Vec<usize>, Vec<usize>)> {
    proptest::collection::vec(gen(), 1..24).prop_flat_map(|gens| {
        let spans: Vec<SpanDigest> = gens.iter().enumerate().map(|(i, g)| digest(i, g)).collect();
        let n = spans.len();
        (
            Just(spans),
            proptest::collection::vec(0usize..5, n),
            Just((0..5).collect::<Vec<_>>()).prop_shuffle(),
            proptest::collection::vec(0usize..n, 0..4),
        )
    })
}

/// What a store does: inserts each batch, retried spans included, and applies the spans it
/// had not stored before.
fn store(spans: &[SpanDigest], split: &[usize], order: &[usize], retried: &[usize]) -> RunState {
    let mut index = MemoryIndex::default();
    let mut state = RunState::default();
    let mut seen: HashSet<&str> = HashSet::new();
    for &b in order {
        let mut batch: Vec<SpanDigest> = spans
            .iter()
            .zip(split)
            .filter(|(_, &s)| s == b)
            .map(|(d, _)| d.clone())
            .collect();
        // Retried spans come again with every batch, once they have been sent.
        batch.extend(
            retried
                .iter()
                .filter(|&&i| seen.contains(spans[i].span_id.as_str()))
                .map(|&i| spans[i].clone()),
        );
        for d in &batch {
            seen.insert(
                spans
                    .iter()
                    .find(|s| s.span_id == d.span_id)
                    .unwrap()
                    .span_id
                    .as_str(),
            );
        }
        let new: Vec<SpanDigest> = index
            .insert(&batch)
            .into_iter()
            .map(|i| batch[i].clone())
            .collect();
        let Ok(()) = ledger::apply(&mut index, &mut state, &new);
    }
    state
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn the_ledger_summarises_like_the_whole_tree_rules((spans, _, _, _) in case()) {
        prop_assert_eq!(summarize("t", &spans), summarize_all("t", &spans));
    }

    #[test]
    fn any_split_order_and_retries_summarise_the_same(
        (spans, split, order, retried) in case()
    ) {
        let got = store(&spans, &split, &order, &retried).finish("t");
        prop_assert_eq!(got, summarize("t", &spans));
    }

    /// What a store that keeps partials per batch (a column store) relies on.
    #[test]
    fn partials_merged_in_any_order_equal_the_partial_of_all(
        (spans, split, order, _) in case()
    ) {
        let mut merged = RunPartial::default();
        for &b in &order {
            let part: Vec<SpanDigest> = spans
                .iter()
                .zip(&split)
                .filter(|(_, &s)| s == b)
                .map(|(d, _)| d.clone())
                .collect();
            merged.merge(&RunPartial::of(&part));
        }
        prop_assert_eq!(merged, RunPartial::of(&spans));
    }

    #[test]
    fn a_run_state_survives_its_stored_form((spans, split, order, retried) in case()) {
        let state = store(&spans, &split, &order, &retried);
        let back: RunState = serde_json::from_str(&serde_json::to_string(&state).unwrap()).unwrap();
        prop_assert_eq!(back, state);
    }
}
