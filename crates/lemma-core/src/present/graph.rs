//! A run as a graph of what called what: its agents, tools, model calls and other steps, each
//! name one node however many times it ran, and an edge from each step's caller (the nearest
//! enclosing agent, else the run's root) with the number of calls. A sub-agent calling back into
//! its caller closes a cycle; its edge is marked `back`, so a layout can draw cycles as cycles.
//!
//! Built from a run's outline, so it costs one pass over the rows whatever the run's length, and
//! its size is bounded by distinct names, not spans: past [`MAX_GRAPH_NODES`] the least called
//! names are merged into one `other` node per caller.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::outline::{Outline, OutlineRow};
use crate::model::{SpanKind, SpanOutline, StatusCode};

/// The most nodes a graph holds, `other` nodes included.
pub const MAX_GRAPH_NODES: usize = 300;

/// What `other` nodes are called.
pub const OTHER_LABEL: &str = "other";

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunGraph {
    /// In order of first appearance in the run's tree (pre-order).
    pub nodes: Vec<GraphNode>,
    /// In order of their first call.
    pub edges: Vec<GraphEdge>,
    /// The spans the graph was built from: the nodes' counts add up to it.
    pub spans: usize,
    /// More distinct names than the graph holds (`MAX_GRAPH_NODES`, 300): the least called
    /// are in `other` nodes.
    pub capped: bool,
}

/// The spans of one kind and name (agent name, tool name, model, or span name).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GraphNode {
    /// Its index in `nodes`, which edges refer to.
    pub id: u32,
    /// `span` for an `other` node.
    pub kind: SpanKind,
    pub label: String,
    /// Spans of several names merged past the cap, under one caller.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub other: bool,
    /// Distinct names merged into an `other` node (1 for the rest).
    pub names: u32,
    /// Spans.
    pub count: u64,
    /// Spans that failed.
    pub errors: u64,
    /// The spans' durations added up (nested spans of one node count each).
    pub duration_ns: u64,
    /// Tokens counted once: a span whose descendants carry usage (an agent repeating its
    /// calls' sum) adds none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens: Option<u64>,
    /// Cost counted once, by the same rule as tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// The layer: the longest chain of calls from a root, not following `back` edges.
    pub depth: u32,
    pub first_span_id: String,
    /// The first span's position in the run's tree (pre-order).
    pub first_position: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error_span_id: Option<String>,
}

/// `from` called `to` `count` times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GraphEdge {
    pub from: u32,
    pub to: u32,
    pub count: u64,
    /// Closes a cycle (a self-call included): `to` is already on the path of calls to `from`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub back: bool,
}

impl RunGraph {
    /// The graph of `outline`, with at most `max_nodes` nodes (at least 4).
    pub fn of(outline: &Outline, max_nodes: usize) -> RunGraph {
        let rows = outline.window(0, usize::MAX);
        let calls = Calls::of(&rows);
        let max_nodes = max_nodes.max(4);
        let ranking = calls.ranking();
        let fold = |keep: usize| {
            let mut kept = vec![false; ranking.len()];
            for &n in &ranking[..keep] {
                kept[n as usize] = true;
            }
            calls.fold(&rows, &kept)
        };
        let mut keep = ranking.len().min(max_nodes);
        let mut graph = fold(keep);
        if graph.nodes.len() > max_nodes {
            // Each `other` node takes a place too: the most names whose graph fits, found by
            // bisection (one name always fits: its node and at most two `other` nodes).
            let (mut fits, mut over) = (1, keep);
            graph = fold(1);
            while over - fits > 1 {
                let mid = (fits + over) / 2;
                let g = fold(mid);
                if g.nodes.len() <= max_nodes {
                    (fits, graph) = (mid, g);
                } else {
                    over = mid;
                }
            }
            keep = fits;
        }
        graph.capped = keep < ranking.len();
        layer(&mut graph);
        graph
    }
}

/// Per row: its name's node (before any cap), its caller's position, and whether its usage is
/// counted.
struct Calls {
    node: Vec<u32>,
    caller: Vec<Option<usize>>,
    counted: Vec<bool>,
    /// Per name node: (spans, is an agent, is a root's, first position).
    names: Vec<(u64, bool, bool, usize)>,
}

impl Calls {
    fn of(rows: &[OutlineRow<'_>]) -> Calls {
        let n = rows.len();
        let mut ids: HashMap<(SpanKind, &str), u32> = HashMap::new();
        let mut names: Vec<(u64, bool, bool, usize)> = Vec::new();
        let mut node = Vec::with_capacity(n);
        let mut caller = Vec::with_capacity(n);
        let mut parent = Vec::with_capacity(n);
        // The ancestors of the current row, and the nearest agent at or above each.
        let mut path: Vec<usize> = Vec::new();
        let mut agent_at: Vec<Option<usize>> = Vec::new();
        for (p, row) in rows.iter().enumerate() {
            let depth = row.depth as usize;
            path.truncate(depth);
            agent_at.truncate(depth);
            parent.push(path.last().copied());
            caller.push(agent_at.last().copied().flatten().or(path.first().copied()));
            let span = row.span;
            let key = (span.kind, label(span));
            let id = *ids.entry(key).or_insert_with(|| {
                names.push((0, span.kind == SpanKind::Agent, false, p));
                names.len() as u32 - 1
            });
            let name = &mut names[id as usize];
            name.0 += 1;
            name.2 |= depth == 0;
            node.push(id);
            let nearest = agent_at.last().copied().flatten();
            agent_at.push(if span.kind == SpanKind::Agent {
                Some(p)
            } else {
                nearest
            });
            path.push(p);
        }
        // A row's usage counts unless a descendant carries some (children come after parents).
        let mut below = vec![false; n];
        for p in (0..n).rev() {
            if let Some(q) = parent[p] {
                below[q] |= below[p] || carries(rows[p].span);
            }
        }
        Calls {
            node,
            caller,
            counted: below.into_iter().map(|b| !b).collect(),
            names,
        }
    }

    /// Name nodes, the first kept first: roots, agents, then the most called, then the first seen.
    fn ranking(&self) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.names.len() as u32).collect();
        order.sort_by_key(|&i| {
            let (count, agent, root, first) = self.names[i as usize];
            (!root, !agent, std::cmp::Reverse(count), first)
        });
        order
    }

    /// The graph with the names not `kept` merged into `other` nodes, unlayered.
    fn fold(&self, rows: &[OutlineRow<'_>], kept: &[bool]) -> RunGraph {
        let mut nodes: Vec<GraphNode> = Vec::new();
        // Each kept name's node, once it has one.
        let mut named: Vec<Option<u32>> = vec![None; kept.len()];
        // `other` nodes by their caller (none for roots past the cap), and the names in each.
        let mut others: HashMap<Option<u32>, u32> = HashMap::new();
        let mut merged: HashSet<(u32, u32)> = HashSet::new();
        let mut edges: Vec<GraphEdge> = Vec::new();
        let mut edge_at: HashMap<(u32, u32), usize> = HashMap::new();
        let mut at: Vec<u32> = Vec::with_capacity(rows.len());
        for (p, row) in rows.iter().enumerate() {
            let name = self.node[p];
            let from = self.caller[p].map(|q| at[q]);
            let id = if kept[name as usize] {
                *named[name as usize].get_or_insert_with(|| push(&mut nodes, row.span, p, false))
            } else {
                match from {
                    // A step under a merged step stays in its `other` node.
                    Some(f) if nodes[f as usize].other => f,
                    _ => *others
                        .entry(from)
                        .or_insert_with(|| push(&mut nodes, row.span, p, true)),
                }
            };
            at.push(id);
            let node = &mut nodes[id as usize];
            if node.other && merged.insert((id, name)) {
                node.names += 1;
            }
            add(node, row.span, self.counted[p]);
            let Some(from) = from else { continue };
            if from == id && node.other {
                continue;
            }
            let e = *edge_at.entry((from, id)).or_insert_with(|| {
                edges.push(GraphEdge {
                    from,
                    to: id,
                    count: 0,
                    back: false,
                });
                edges.len() - 1
            });
            edges[e].count += 1;
        }
        RunGraph {
            nodes,
            edges,
            spans: rows.len(),
            capped: false,
        }
    }
}

/// What a span's node is called: the agent's name, the tool's, the model, else the span's name.
fn label(span: &SpanOutline) -> &str {
    let named = match span.kind {
        SpanKind::Agent => span.agent_name.as_deref(),
        SpanKind::Tool => span.tool_name.as_deref(),
        SpanKind::Llm => span.model.as_deref(),
        _ => None,
    };
    named.filter(|s| !s.is_empty()).unwrap_or(&span.name)
}

fn carries(span: &SpanOutline) -> bool {
    tokens(span).is_some() || span.cost_usd.is_some()
}

fn tokens(span: &SpanOutline) -> Option<u64> {
    span.total_tokens
        .or(match (span.input_tokens, span.output_tokens) {
            (None, None) => None,
            (i, o) => Some(i.unwrap_or(0).saturating_add(o.unwrap_or(0))),
        })
}

fn push(nodes: &mut Vec<GraphNode>, span: &SpanOutline, position: usize, other: bool) -> u32 {
    let id = nodes.len() as u32;
    nodes.push(GraphNode {
        id,
        kind: if other { SpanKind::Span } else { span.kind },
        label: if other { OTHER_LABEL } else { label(span) }.to_string(),
        other,
        names: u32::from(!other),
        count: 0,
        errors: 0,
        duration_ns: 0,
        tokens: None,
        cost_usd: None,
        depth: 0,
        first_span_id: span.span_id.clone(),
        first_position: position,
        first_error_span_id: None,
    });
    id
}

fn add(node: &mut GraphNode, span: &SpanOutline, counted: bool) {
    node.count += 1;
    node.duration_ns = node.duration_ns.saturating_add(span.duration_ns());
    if span.status == StatusCode::Error {
        node.errors += 1;
        if node.first_error_span_id.is_none() {
            node.first_error_span_id = Some(span.span_id.clone());
        }
    }
    if counted {
        if let Some(t) = tokens(span) {
            node.tokens = Some(node.tokens.unwrap_or(0).saturating_add(t));
        }
        if let Some(c) = span.cost_usd {
            node.cost_usd = Some(node.cost_usd.unwrap_or(0.0) + c);
        }
    }
}

/// Marks the edges that close cycles (a depth-first search from the nodes in order, roots
/// first) and gives each node its layer: the longest path to it over the other edges.
fn layer(graph: &mut RunGraph) {
    let n = graph.nodes.len();
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (e, edge) in graph.edges.iter().enumerate() {
        out[edge.from as usize].push(e);
    }
    // 0 unseen, 1 on the current path, 2 done.
    let mut state = vec![0u8; n];
    let mut finished: Vec<usize> = Vec::with_capacity(n);
    for start in 0..n {
        if state[start] != 0 {
            continue;
        }
        state[start] = 1;
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        while let Some(&mut (v, ref mut next)) = stack.last_mut() {
            let Some(&e) = out[v].get(*next) else {
                state[v] = 2;
                finished.push(v);
                stack.pop();
                continue;
            };
            *next += 1;
            let to = graph.edges[e].to as usize;
            match state[to] {
                0 => {
                    state[to] = 1;
                    stack.push((to, 0));
                }
                1 => graph.edges[e].back = true,
                _ => {}
            }
        }
    }
    // Reverse finishing order is a topological order once back edges are left out.
    let mut depth = vec![0u32; n];
    for &v in finished.iter().rev() {
        for &e in &out[v] {
            let edge = &graph.edges[e];
            if !edge.back {
                let to = edge.to as usize;
                depth[to] = depth[to].max(depth[v] + 1);
            }
        }
    }
    for (node, d) in graph.nodes.iter_mut().zip(depth) {
        node.depth = d;
    }
}
