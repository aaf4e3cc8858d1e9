//! Runs: one trace, summarised from its spans whatever order they arrived in.
//!
//! Stores keep a [`SpanDigest`] per span (the fields a summary needs, without payloads) and
//! call [`summarize`] over all digests of a trace whenever new spans of it arrive, so the summary
//! is always the function of the spans present, never of their arrival order.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::model::{Span, SpanKind, StatusCode, Usage};

/// The part of a span a run summary reads.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SpanDigest {
    pub span_id: String,
    pub parent_span_id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub trace_name: Option<String>,
    pub kind: SpanKind,
    pub start_time_unix_nano: u64,
    pub end_time_unix_nano: u64,
    pub status: StatusCode,
    pub status_message: Option<String>,
    pub model: Option<String>,
    /// Absent from digests stored before per-model usage existed.
    #[serde(default)]
    pub provider: Option<String>,
    pub response_id: Option<String>,
    pub usage: Usage,
    pub cost_usd: Option<f64>,
    pub tool_name: Option<String>,
    /// Tool arguments as canonical JSON text, to recognise repeated identical calls.
    pub tool_args: Option<String>,
    pub agent_name: Option<String>,
    pub thread_id: Option<String>,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub environment: Option<String>,
    pub tags: Vec<String>,
    pub metadata: Map<String, Value>,
}

impl From<&Span> for SpanDigest {
    fn from(s: &Span) -> Self {
        SpanDigest {
            span_id: s.span_id.clone(),
            parent_span_id: s.parent_span_id.clone(),
            name: s.name.clone(),
            trace_name: s.trace_name.clone(),
            kind: s.kind,
            start_time_unix_nano: s.start_time_unix_nano,
            end_time_unix_nano: s.end_time_unix_nano,
            status: s.status,
            status_message: s.status_message.clone(),
            model: s.model.clone(),
            provider: s.provider.clone(),
            response_id: s.response_id.clone(),
            usage: s.usage,
            cost_usd: s.cost_usd,
            tool_name: s.tool_name.clone(),
            tool_args: s.tool_args.as_ref().map(|v| v.to_string()),
            agent_name: s.agent_name.clone(),
            thread_id: s.thread_id.clone(),
            user_id: s.user_id.clone(),
            session_id: s.session_id.clone(),
            environment: s.environment.clone(),
            tags: s.tags.clone(),
            metadata: s.metadata.clone(),
        }
    }
}

/// A detected pattern worth a look, e.g. a tool called again and again with the same
/// arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSignal {
    /// `loop` (three or more consecutive identical tool calls) or `error`.
    pub kind: String,
    pub tool_name: Option<String>,
    pub tool_args: Option<Value>,
    pub repeats: u32,
    /// Position among the run's tool spans in start order, from 0.
    pub first_tool_index: u32,
}

/// A run summary. Its serde form is the API's RUN object minus the ISO times the API adds.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Run {
    pub run_id: String,
    pub name: String,
    pub agent_name: Option<String>,
    /// Every agent in the run, in tree pre-order.
    pub agent_names: Vec<String>,
    pub status: StatusCode,
    pub status_message: Option<String>,
    pub start_time_unix_nano: u64,
    pub end_time_unix_nano: u64,
    pub duration_ms: f64,
    pub span_count: u64,
    pub error_count: u64,
    /// Span counts by kind (only kinds present).
    pub kind_counts: BTreeMap<String, u64>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub total_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
    pub reasoning_tokens: u64,
    pub cost_usd: Option<f64>,
    /// The totals above split by model and provider, largest first. Summaries stored before
    /// this field existed decode with an empty list.
    #[serde(default)]
    pub usage_by_model: Vec<ModelUsage>,
    pub thread_id: Option<String>,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub environment: Option<String>,
    pub tags: Vec<String>,
    pub metadata: Map<String, Value>,
    pub models: Vec<String>,
    pub tools: Vec<String>,
    pub signals: Vec<RunSignal>,
    /// Whether the true root (a span with no parent) has arrived. Until it has, the top-most
    /// span present stands in.
    pub has_root: bool,
    /// The root, or the span standing in for it.
    pub root_span_id: Option<String>,
    pub input: Option<Value>,
    pub output: Option<Value>,
}

/// What one model's calls in a run used, counted by the same rule as the run's totals, so the
/// entries of a run add up to its tokens and cost.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ModelUsage {
    /// The counted span's model, or [`UNKNOWN_MODEL`] when it names none (an agent span
    /// carrying usage its children do not report, a priced tool call).
    pub model: String,
    pub provider: Option<String>,
    /// Counted spans: model calls, each once.
    pub calls: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub total_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
    pub reasoning_tokens: u64,
    pub cost_usd: Option<f64>,
}

/// The model counted usage is listed under when its span names no model.
pub const UNKNOWN_MODEL: &str = "unknown";

/// Consecutive identical tool calls that make a loop.
pub const LOOP_MIN_REPEATS: u32 = 3;

/// Summarises a run from the digests of all its spans present (any order). Input and output
/// are left to the caller: they are the root's payloads, which digests do not carry.
pub fn summarize(run_id: &str, spans: &[SpanDigest]) -> Run {
    let tree = Tree::new(spans);
    let order = tree.pre_order();
    let top = tree.roots.first().map(|&i| &spans[i]);

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
    run.input_tokens = usage.input_tokens.unwrap_or(0);
    run.output_tokens = usage.output_tokens.unwrap_or(0);
    run.total_tokens = usage.total_tokens.unwrap_or(0);
    run.cache_read_tokens = usage.cache_read_tokens.unwrap_or(0);
    run.cache_write_tokens = usage.cache_write_tokens.unwrap_or(0);
    run.reasoning_tokens = usage.reasoning_tokens.unwrap_or(0);
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
            out.push(RunSignal {
                kind: "loop".into(),
                tool_name: tools[i].tool_name.clone(),
                tool_args: tools[i]
                    .tool_args
                    .as_deref()
                    .and_then(|a| serde_json::from_str(a).ok()),
                repeats: len as u32,
                first_tool_index: i as u32,
            });
        }
        i += len;
    }
    out
}

#[cfg(test)]
mod tests {
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
            (l.tool_name.as_deref(), l.repeats, l.first_tool_index),
            (Some("b"), 3, 1)
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
}
