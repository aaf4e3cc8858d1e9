//! The summary rules written over the whole span tree, as they read most plainly: the oracle
//! the incremental [`super::ledger`] is tested against.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::*;
use crate::model::{SpanKind, StatusCode, Usage};

/// Summarises a run from the digests of all its spans present (any order). Input and output
/// are left to the caller: they are the root's payloads, which digests do not carry.
pub(super) fn summarize_all(run_id: &str, spans: &[SpanDigest]) -> Run {
    let tree = Tree::new(spans);
    // "First span that has …" rules read spans in start order (the longer first, then by id);
    // the run is named after the earliest true root, or until one arrives, the earliest span.
    let mut order: Vec<usize> = (0..spans.len()).collect();
    order.sort_by_key(|&i| partial::Order::of(&spans[i]));
    let top = spans
        .iter()
        .filter(|s| s.parent_span_id.is_none())
        .min_by_key(|s| {
            (
                s.start_time_unix_nano,
                s.end_time_unix_nano,
                s.span_id.clone(),
            )
        })
        .or(order.first().map(|&i| &spans[i]));

    let mut run = Run {
        run_id: run_id.to_string(),
        span_count: spans.len() as u64,
        has_root: spans.iter().any(|s| s.parent_span_id.is_none()),
        root_span_id: top.map(|s| s.span_id.clone()),
        name: top.map(|s| s.name.clone()).unwrap_or_default(),
        start_time_unix_nano: spans
            .iter()
            .map(|s| s.start_time_unix_nano)
            .min()
            .unwrap_or(0),
        end_time_unix_nano: spans
            .iter()
            .map(|s| s.end_time_unix_nano)
            .max()
            .unwrap_or(0),
        ..Run::default()
    };
    run.duration_ms = run
        .end_time_unix_nano
        .saturating_sub(run.start_time_unix_nano) as f64
        / 1e6;

    let mut agents = Vec::new();
    let mut models = Vec::new();
    let mut tools = Vec::new();
    let mut tags = Vec::new();
    let mut trace_name = None;
    for &i in &order {
        let s = &spans[i];
        *run.kind_counts
            .entry(s.kind.as_str().to_string())
            .or_default() += 1;
        if s.status == StatusCode::Error {
            run.error_count += 1;
        }
        push_unique(&mut agents, &s.agent_name);
        push_unique(&mut models, &s.model);
        if s.kind == SpanKind::Tool {
            push_unique(&mut tools, &s.tool_name);
        }
        for t in &s.tags {
            push_unique(&mut tags, &Some(t.clone()));
        }
        fill(&mut trace_name, &s.trace_name);
        fill(&mut run.thread_id, &s.thread_id);
        fill(&mut run.user_id, &s.user_id);
        fill(&mut run.session_id, &s.session_id);
        fill(&mut run.environment, &s.environment);
        for (k, v) in &s.metadata {
            run.metadata.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    // An agent span that names no agent (the Langfuse SDK's, the Agents SDK's workflow root) is
    // known by its span name.
    if agents.is_empty() {
        let unnamed = order
            .iter()
            .map(|&i| &spans[i])
            .find(|s| s.kind == SpanKind::Agent);
        agents.extend(unnamed.map(|s| s.name.clone()));
    }
    run.agent_name = agents.first().cloned();
    run.agent_names = agents;
    if let Some(name) = trace_name {
        run.name = name;
    }
    run.models = models;
    run.tools = tools;
    run.tags = tags;

    (run.status, run.status_message) = match top {
        Some(t) if t.status == StatusCode::Error => (StatusCode::Error, t.status_message.clone()),
        Some(_) if run.has_root => (StatusCode::Ok, None),
        _ if run.error_count > 0 => (StatusCode::Error, None),
        _ => (StatusCode::Unset, None),
    };

    let with_usage = tree.counted(spans, |s| !s.usage.is_empty());
    // Cost follows the same rule on its own: a span with a cost but no token counts (a priced
    // tool call) still counts, and an agent repeating its children's cost is not added again.
    let with_cost = tree.counted(spans, |s| s.cost_usd.is_some());
    let mut usage = Usage::default();
    for &i in &with_usage {
        usage.add(&spans[i].usage);
    }
    let cost = in_span_id_order(spans, with_cost.iter().copied())
        .into_iter()
        .filter_map(|i| spans[i].cost_usd)
        .fold(None, |sum: Option<f64>, c| Some(sum.unwrap_or(0.0) + c));
    run.usage_by_model = usage_by_model(spans, &with_usage, &with_cost);
    run.set_tokens(&usage);
    run.cost_usd = cost;
    run.signals = loops(spans);
    run
}

/// `indices` without repeats, in span id order: floating-point sums (costs) visited in this
/// order do not depend on the order spans arrived in.
fn in_span_id_order(spans: &[SpanDigest], indices: impl Iterator<Item = usize>) -> Vec<usize> {
    let mut visit: Vec<usize> = indices.collect();
    visit.sort_unstable_by(|&a, &b| spans[a].span_id.cmp(&spans[b].span_id).then(a.cmp(&b)));
    visit.dedup();
    visit
}

/// Splits the counted spans' usage and cost by (model, provider), visiting spans in span id
/// order.
fn usage_by_model(
    spans: &[SpanDigest],
    with_usage: &[usize],
    with_cost: &[usize],
) -> Vec<ModelUsage> {
    let visit = in_span_id_order(spans, with_usage.iter().chain(with_cost).copied());
    // (model, provider) → (calls, usage, cost)
    type Sums = (u64, Usage, Option<f64>);
    let mut groups: BTreeMap<(&str, Option<&str>), Sums> = BTreeMap::new();
    for i in visit {
        let s = &spans[i];
        let key = (
            s.model.as_deref().unwrap_or(UNKNOWN_MODEL),
            s.provider.as_deref(),
        );
        let (calls, usage, cost) = groups.entry(key).or_default();
        *calls += 1;
        if with_usage.binary_search(&i).is_ok() {
            usage.add(&s.usage);
        }
        if let (Ok(_), Some(c)) = (with_cost.binary_search(&i), s.cost_usd) {
            *cost = Some(cost.unwrap_or(0.0) + c);
        }
    }
    let mut out: Vec<ModelUsage> = groups
        .into_iter()
        .map(|((model, provider), (calls, u, cost_usd))| ModelUsage {
            model: model.to_string(),
            provider: provider.map(str::to_string),
            calls,
            input_tokens: u.input_tokens.unwrap_or(0),
            output_tokens: u.output_tokens.unwrap_or(0),
            total_tokens: u.total_tokens.unwrap_or(0),
            cache_read_tokens: u.cache_read_tokens.unwrap_or(0),
            cache_write_tokens: u.cache_write_tokens.unwrap_or(0),
            reasoning_tokens: u.reasoning_tokens.unwrap_or(0),
            cost_usd,
        })
        .collect();
    // The map left equal token counts in (model, provider) order; a stable sort keeps it.
    out.sort_by_key(|m| std::cmp::Reverse(m.total_tokens));
    out
}

fn push_unique(list: &mut Vec<String>, v: &Option<String>) {
    if let Some(v) = v {
        if !list.contains(v) {
            list.push(v.clone());
        }
    }
}

fn fill(slot: &mut Option<String>, v: &Option<String>) {
    if slot.is_none() {
        slot.clone_from(v);
    }
}

/// The span tree of the spans present. A span whose parent has not arrived is a root.
struct Tree {
    roots: Vec<usize>,
    children: Vec<Vec<usize>>,
}

impl Tree {
    fn new(spans: &[SpanDigest]) -> Tree {
        let by_id: HashMap<&str, usize> = spans
            .iter()
            .enumerate()
            .map(|(i, s)| (s.span_id.as_str(), i))
            .collect();
        let mut roots = Vec::new();
        let mut children = vec![Vec::new(); spans.len()];
        for (i, s) in spans.iter().enumerate() {
            match s.parent_span_id.as_deref().and_then(|p| by_id.get(p)) {
                Some(&p) if p != i => children[p].push(i),
                _ => roots.push(i),
            }
        }
        let key = |&i: &usize| {
            let s = &spans[i];
            // True roots before stand-ins, then by time: start, then end (siblings often share
            // a millisecond start).
            (
                s.parent_span_id.is_some(),
                s.start_time_unix_nano,
                s.end_time_unix_nano,
                s.span_id.clone(),
            )
        };
        roots.sort_by_key(key);
        for c in &mut children {
            c.sort_by_key(key);
        }
        Tree { roots, children }
    }

    fn pre_order(&self) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.children.len());
        let mut stack: Vec<usize> = self.roots.iter().rev().copied().collect();
        let mut seen = HashSet::new();
        while let Some(i) = stack.pop() {
            if !seen.insert(i) {
                continue; // a parent cycle in hostile input
            }
            out.push(i);
            stack.extend(self.children[i].iter().rev());
        }
        out
    }

    /// The spans a run total counts, for a quantity `carries` tells which spans have: each span
    /// carrying it none of whose descendants carries it (an agent span repeating its children's
    /// sum is skipped), and of spans reporting the same provider response id, only the
    /// latest-starting one.
    fn counted(&self, spans: &[SpanDigest], carries: impl Fn(&SpanDigest) -> bool) -> Vec<usize> {
        let n = spans.len();
        let mut below = vec![false; n]; // some descendant carries it
        for &i in self.pre_order().iter().rev() {
            below[i] = self.children[i]
                .iter()
                .any(|&c| below[c] || carries(&spans[c]));
        }
        let mut by_response: HashMap<&str, usize> = HashMap::new();
        let mut counted = Vec::new();
        for i in 0..n {
            let s = &spans[i];
            if !carries(s) || below[i] {
                continue;
            }
            match s.response_id.as_deref() {
                Some(r) => {
                    let e = by_response.entry(r).or_insert(i);
                    let cur = &spans[*e];
                    if (s.start_time_unix_nano, &s.span_id)
                        > (cur.start_time_unix_nano, &cur.span_id)
                    {
                        *e = i;
                    }
                }
                None => counted.push(i),
            }
        }
        counted.extend(by_response.into_values());
        counted.sort_unstable();
        counted
    }
}

/// Runs of at least [`LOOP_MIN_REPEATS`] consecutive identical tool calls, tool spans taken
/// in start order.
fn loops(spans: &[SpanDigest]) -> Vec<RunSignal> {
    let mut tools: Vec<&SpanDigest> = spans.iter().filter(|s| s.kind == SpanKind::Tool).collect();
    tools.sort_by_key(|s| {
        (
            s.start_time_unix_nano,
            s.end_time_unix_nano,
            s.span_id.clone(),
        )
    });
    let mut out = Vec::new();
    let mut i = 0;
    while i < tools.len() {
        let first = tools[i];
        let len = tools[i..]
            .iter()
            .take_while(|t| t.tool_name == first.tool_name && t.tool_args == first.tool_args)
            .count();
        if len as u32 >= LOOP_MIN_REPEATS {
            out.push(RunSignal::repeated_calls(
                tools[i].tool_name.clone(),
                tools[i].tool_args.as_deref(),
                len as u32,
                i as u32,
                &tools[i].span_id,
            ));
        }
        i += len;
    }
    out
}
