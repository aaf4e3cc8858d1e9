use proptest::prelude::*;

use super::graph::{RunGraph, MAX_GRAPH_NODES, OTHER_LABEL};
use super::outline::Outline;
use crate::model::{SpanKind, SpanOutline, StatusCode};

/// Builds a run's rows in the order given: each starts 10 ns after the one before and lasts
/// `10 × (1 + its number)` ns, so the tree keeps the order and durations are known.
#[derive(Default)]
struct Run {
    rows: Vec<SpanOutline>,
}

impl Run {
    fn add(&mut self, parent: Option<&str>, kind: SpanKind, name: &str) -> String {
        let n = self.rows.len() as u64;
        let id = format!("{n:016x}");
        self.rows.push(SpanOutline {
            span_id: id.clone(),
            parent_span_id: parent.map(Into::into),
            name: name.into(),
            kind,
            start_time_unix_nano: 1_000 + n * 10,
            end_time_unix_nano: 1_000 + n * 10 + 10 * (n + 1),
            ..SpanOutline::default()
        });
        id
    }

    fn agent(&mut self, parent: Option<&str>, name: &str) -> String {
        let id = self.add(parent, SpanKind::Agent, &format!("invoke_agent {name}"));
        self.last().agent_name = Some(name.into());
        id
    }

    fn tool(&mut self, parent: &str, tool: &str) -> String {
        let id = self.add(
            Some(parent),
            SpanKind::Tool,
            &format!("execute_tool {tool}"),
        );
        self.last().tool_name = Some(tool.into());
        id
    }

    fn llm(&mut self, parent: &str, model: &str, tokens: u64) -> String {
        let id = self.add(Some(parent), SpanKind::Llm, &format!("chat {model}"));
        let last = self.last();
        last.model = Some(model.into());
        last.total_tokens = Some(tokens);
        last.cost_usd = Some(tokens as f64 / 1000.0);
        id
    }

    fn fail(&mut self) {
        self.last().status = StatusCode::Error;
    }

    fn last(&mut self) -> &mut SpanOutline {
        self.rows.last_mut().unwrap()
    }

    fn graph(&self, max_nodes: usize) -> RunGraph {
        RunGraph::of(&Outline::new(self.rows.clone()), max_nodes)
    }
}

/// Nodes as `(kind label, count, errors, depth)`.
fn nodes(g: &RunGraph) -> Vec<(String, u64, u64, u32)> {
    g.nodes
        .iter()
        .map(|n| {
            (
                format!("{} {}", n.kind.as_str(), n.label),
                n.count,
                n.errors,
                n.depth,
            )
        })
        .collect()
}

/// Edges as `(from label, to label, count, back)`.
fn edges(g: &RunGraph) -> Vec<(&str, &str, u64, bool)> {
    g.edges
        .iter()
        .map(|e| {
            (
                g.nodes[e.from as usize].label.as_str(),
                g.nodes[e.to as usize].label.as_str(),
                e.count,
                e.back,
            )
        })
        .collect()
}

fn owned(v: &[(&str, u64, u64, u32)]) -> Vec<(String, u64, u64, u32)> {
    v.iter()
        .map(|&(s, c, e, d)| (s.to_string(), c, e, d))
        .collect()
}

#[test]
fn same_name_steps_are_one_node_with_counts_errors_and_totals() {
    let mut r = Run::default();
    let root = r.agent(None, "coder");
    r.llm(&root, "gpt-4o", 100);
    r.tool(&root, "search");
    r.llm(&root, "gpt-4o", 200);
    let failed = r.tool(&root, "search");
    r.fail();
    r.tool(&root, "read");
    r.llm(&root, "gpt-4o", 300);
    let g = r.graph(MAX_GRAPH_NODES);
    assert_eq!(
        nodes(&g),
        owned(&[
            ("agent coder", 1, 0, 0),
            ("llm gpt-4o", 3, 0, 1),
            ("tool search", 2, 1, 1),
            ("tool read", 1, 0, 1),
        ])
    );
    assert_eq!(
        edges(&g),
        [
            ("coder", "gpt-4o", 3, false),
            ("coder", "search", 2, false),
            ("coder", "read", 1, false),
        ]
    );
    assert_eq!((g.spans, g.capped), (7, false));
    let llm = &g.nodes[1];
    assert_eq!(llm.tokens, Some(600));
    assert!((llm.cost_usd.unwrap() - 0.6).abs() < 1e-9);
    // Rows 1, 3 and 6 last 20, 40 and 70 ns.
    assert_eq!(llm.duration_ns, 20 + 40 + 70);
    assert_eq!(llm.first_span_id, r.rows[1].span_id);
    assert_eq!(llm.first_position, 1);
    let search = &g.nodes[2];
    assert_eq!(search.first_error_span_id.as_deref(), Some(failed.as_str()));
    assert_eq!(search.tokens, None);
    assert_eq!(g.nodes[0].first_error_span_id, None);
    assert!(g.nodes.iter().enumerate().all(|(i, n)| n.id as usize == i));
}

#[test]
fn sub_agents_calling_back_close_cycles_with_back_edges() {
    // planner → researcher → planner → search; researcher → search; planner → planner.
    let mut r = Run::default();
    let planner = r.agent(None, "planner");
    let researcher = r.agent(Some(&planner), "researcher");
    let inner = r.agent(Some(&researcher), "planner");
    r.tool(&inner, "search");
    r.tool(&researcher, "search");
    r.agent(Some(&planner), "planner");
    let g = r.graph(MAX_GRAPH_NODES);
    assert_eq!(
        nodes(&g),
        owned(&[
            ("agent planner", 3, 0, 0),
            ("agent researcher", 1, 0, 1),
            ("tool search", 2, 0, 2),
        ])
    );
    assert_eq!(
        edges(&g),
        [
            ("planner", "researcher", 1, false),
            ("researcher", "planner", 1, true),
            ("planner", "search", 1, false),
            ("researcher", "search", 1, false),
            ("planner", "planner", 1, true),
        ]
    );
}

#[test]
fn a_step_belongs_to_its_nearest_agent_or_else_the_root() {
    // workflow (a chain) → turn → chat; workflow → agent → turn → lookup.
    let mut r = Run::default();
    let workflow = r.add(None, SpanKind::Chain, "workflow");
    let turn = r.add(Some(&workflow), SpanKind::Chain, "turn");
    r.llm(&turn, "gpt-4o", 10);
    let agent = r.agent(Some(&workflow), "helper");
    let turn2 = r.add(Some(&agent), SpanKind::Chain, "turn");
    r.tool(&turn2, "lookup");
    let g = r.graph(MAX_GRAPH_NODES);
    assert_eq!(
        nodes(&g),
        owned(&[
            ("chain workflow", 1, 0, 0),
            ("chain turn", 2, 0, 2),
            ("llm gpt-4o", 1, 0, 1),
            ("agent helper", 1, 0, 1),
            ("tool lookup", 1, 0, 2),
        ])
    );
    assert_eq!(
        edges(&g),
        [
            ("workflow", "turn", 1, false),
            ("workflow", "gpt-4o", 1, false),
            ("workflow", "helper", 1, false),
            ("helper", "turn", 1, false),
            ("helper", "lookup", 1, false),
        ]
    );
}

#[test]
fn labels_fall_back_to_the_span_name_and_kinds_keep_nodes_apart() {
    let mut r = Run::default();
    let root = r.add(None, SpanKind::Agent, "run");
    r.add(Some(&root), SpanKind::Tool, "search");
    r.tool(&root, "search");
    r.add(Some(&root), SpanKind::Llm, "search");
    r.add(Some(&root), SpanKind::Span, "search");
    let g = r.graph(MAX_GRAPH_NODES);
    assert_eq!(
        nodes(&g),
        owned(&[
            ("agent run", 1, 0, 0),
            ("tool search", 2, 0, 1),
            ("llm search", 1, 0, 1),
            ("span search", 1, 0, 1),
        ])
    );
}

#[test]
fn usage_repeated_by_an_agent_is_counted_once() {
    let mut r = Run::default();
    let root = r.agent(None, "coder");
    let sub = r.agent(Some(&root), "helper");
    r.llm(&sub, "gpt-4o", 40);
    r.llm(&root, "gpt-4o", 60);
    // Both agents repeat their calls' sums.
    r.rows[0].total_tokens = Some(100);
    r.rows[1].total_tokens = Some(40);
    r.rows[1].cost_usd = Some(0.04);
    let g = r.graph(MAX_GRAPH_NODES);
    assert_eq!(g.nodes[0].tokens, None);
    assert_eq!(g.nodes[1].tokens, None);
    assert_eq!(g.nodes[1].cost_usd, None);
    assert_eq!(g.nodes[2].tokens, Some(100));
}

#[test]
fn past_the_cap_the_least_called_names_merge_into_other_per_caller() {
    // coder calls tool_i (i + 1) times for i in 0..20, then a helper agent calling 5 tools once.
    let mut r = Run::default();
    let root = r.agent(None, "coder");
    for i in 0..20 {
        for _ in 0..=i {
            r.tool(&root, &format!("tool_{i:02}"));
        }
    }
    let helper = r.agent(Some(&root), "helper");
    for i in 0..5 {
        r.tool(&helper, &format!("helper_tool_{i}"));
    }
    let g = r.graph(8);
    assert!(g.capped);
    // Roots and agents first, then the most called, as many as fit with the `other` nodes.
    assert_eq!(
        nodes(&g),
        owned(&[
            ("agent coder", 1, 0, 0),
            ("span other", 136, 0, 1),
            ("tool tool_16", 17, 0, 1),
            ("tool tool_17", 18, 0, 1),
            ("tool tool_18", 19, 0, 1),
            ("tool tool_19", 20, 0, 1),
            ("agent helper", 1, 0, 1),
            ("span other", 5, 0, 2),
        ])
    );
    assert!(g.nodes[1].other && g.nodes[7].other && !g.nodes[0].other);
    // tool_00 to tool_15 under coder; helper's five tools under helper.
    assert_eq!(
        (g.nodes[1].names, g.nodes[7].names, g.nodes[2].names),
        (16, 5, 1)
    );
    assert_eq!(
        edges(&g),
        [
            ("coder", OTHER_LABEL, 136, false),
            ("coder", "tool_16", 17, false),
            ("coder", "tool_17", 18, false),
            ("coder", "tool_18", 19, false),
            ("coder", "tool_19", 20, false),
            ("coder", "helper", 1, false),
            ("helper", OTHER_LABEL, 5, false),
        ]
    );
    assert_eq!(g.nodes[1].first_span_id, r.rows[1].span_id);
}

#[test]
fn steps_of_a_merged_agent_stay_in_its_other_node() {
    // coder calls ten sub-agents, each calling `deep`: with 4 places, one sub-agent is kept.
    let mut r = Run::default();
    let root = r.agent(None, "coder");
    for i in 0..10 {
        let sub = r.agent(Some(&root), &format!("sub_{i}"));
        r.tool(&sub, "deep");
        r.fail();
    }
    let g = r.graph(4);
    assert!(g.capped);
    assert_eq!(
        nodes(&g),
        owned(&[
            ("agent coder", 1, 0, 0),
            ("agent sub_0", 1, 0, 1),
            ("span other", 1, 1, 2),
            ("span other", 18, 9, 1),
        ])
    );
    // sub_1 to sub_9 and `deep`.
    assert_eq!(g.nodes[3].names, 10);
    assert_eq!(
        edges(&g),
        [
            ("coder", "sub_0", 1, false),
            ("sub_0", OTHER_LABEL, 1, false),
            ("coder", OTHER_LABEL, 9, false),
        ]
    );
}

#[test]
fn roots_past_the_cap_share_one_other_node() {
    // Spans whose parents never arrived are roots: 30 distinct ones, each calling `t`.
    let mut r = Run::default();
    for i in 0..30 {
        let id = r.add(
            Some("ffffffffffffffff"),
            SpanKind::Span,
            &format!("orphan {i}"),
        );
        r.tool(&id, "t");
    }
    let g = r.graph(4);
    assert!(g.capped);
    assert_eq!(
        nodes(&g),
        owned(&[
            ("span orphan 0", 1, 0, 0),
            ("span other", 1, 0, 1),
            ("span other", 58, 0, 0),
        ])
    );
    assert_eq!(g.nodes[2].names, 30);
    assert_eq!(edges(&g), [("orphan 0", OTHER_LABEL, 1, false)]);
}

#[test]
fn an_empty_run_has_an_empty_graph() {
    let g = RunGraph::of(&Outline::new(Vec::new()), MAX_GRAPH_NODES);
    assert!(g.nodes.is_empty() && g.edges.is_empty() && !g.capped);
    assert_eq!(g.spans, 0);
}

/// A random run: each span's parent is any earlier span (or none), with a kind and one of a
/// few names, some failed.
fn run() -> impl Strategy<Value = Vec<SpanOutline>> {
    proptest::collection::vec(
        (
            any::<prop::sample::Index>(),
            proptest::bool::weighted(0.1),
            0usize..4,
            0u8..12,
            proptest::bool::weighted(0.15),
        ),
        1..120,
    )
    .prop_map(|specs| {
        let kinds = [
            SpanKind::Agent,
            SpanKind::Tool,
            SpanKind::Llm,
            SpanKind::Chain,
        ];
        let mut r = Run::default();
        for (i, (parent, root, kind, name, failed)) in specs.into_iter().enumerate() {
            let parent = (i > 0 && !root).then(|| r.rows[parent.index(i)].span_id.clone());
            r.add(parent.as_deref(), kinds[kind], &format!("n{name}"));
            if failed {
                r.fail();
            }
        }
        r.rows
    })
}

proptest! {
    /// Whatever the run and the cap: every span is counted in exactly one node, every failure
    /// too, the graph keeps within the cap, and edges other than back edges go down a layer
    /// (so without them the graph has no cycle).
    #[test]
    fn nodes_account_for_every_span_within_the_cap(rows in run(), max in 4usize..20) {
        let errors = rows.iter().filter(|r| r.status == StatusCode::Error).count() as u64;
        let outline = Outline::new(rows);
        let roots = outline.window(0, usize::MAX).iter().filter(|r| r.depth == 0).count();
        for (cap, g) in [(MAX_GRAPH_NODES, RunGraph::of(&outline, MAX_GRAPH_NODES)), (max, RunGraph::of(&outline, max))] {
            prop_assert!(g.nodes.len() <= cap);
            prop_assert_eq!(g.nodes.iter().map(|n| n.count).sum::<u64>() as usize, outline.len());
            prop_assert_eq!(g.nodes.iter().map(|n| n.errors).sum::<u64>(), errors);
            for e in &g.edges {
                let (from, to) = (&g.nodes[e.from as usize], &g.nodes[e.to as usize]);
                prop_assert!(e.count > 0);
                prop_assert!(e.back || to.depth > from.depth);
            }
            for n in g.nodes.iter().filter(|n| n.depth > 0) {
                prop_assert!(g.edges.iter().any(|e| e.to == n.id && !e.back && g.nodes[e.from as usize].depth + 1 == n.depth));
            }
            if !g.capped {
                // Each span but the roots is one call.
                prop_assert_eq!(g.edges.iter().map(|e| e.count).sum::<u64>() as usize, outline.len() - roots);
            }
        }
    }
}
