//! Checks the API's runs and span trees against `expected/<scenario>.json`.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::Server;

/// Lemma's kinds in the fixtures' vocabulary.
fn fixture_kind(kind: &str) -> &str {
    match kind {
        "agent" | "llm" | "tool" | "retrieval" | "embedding" | "chain" => kind,
        _ => "other",
    }
}

/// Compares every expected trace with the run the API returns; panics listing all differences.
pub fn check(server: &Server, scenario: &str) {
    let expected = super::fixtures::expected(scenario);
    let mut runs = server.all_runs("");
    runs.sort_by_key(|r| r["start_time_unix_nano"].as_u64().unwrap());
    let want = expected["traces"].as_array().unwrap();
    let mut problems = Vec::new();
    if runs.len() != want.len() {
        problems.push(format!("{} runs, expected {}", runs.len(), want.len()));
    }
    for (i, (run, exp)) in runs.iter().zip(want).enumerate() {
        let id = run["run_id"].as_str().unwrap();
        let body = server.api(&format!("/api/v1/runs/{id}"));
        let p = format!("{scenario} trace {i} ({id})");
        check_run(&p, &body["run"], exp, &mut problems);
        let spans = body["spans"].as_array().unwrap();
        let tree = build_tree(spans);
        if tree.len() != 1 {
            problems.push(format!("{p}: {} top-level spans, expected 1", tree.len()));
        }
        if let Some(root) = tree.first() {
            compare_node(&format!("{p} tree"), root, &exp["tree"], &mut problems);
        }
    }
    assert!(
        problems.is_empty(),
        "differences from expected/{scenario}.json:\n{}",
        problems.join("\n")
    );
}

fn check_run(p: &str, run: &Value, exp: &Value, problems: &mut Vec<String>) {
    let mut eq = |what: &str, got: Value, want: &Value| {
        if &got != want {
            problems.push(format!("{p}: {what} is {got}, expected {want}"));
        }
    };
    eq("name", run["name"].clone(), &exp["trace_name"]);
    eq("thread_id", run["thread_id"].clone(), &exp["thread_id"]);
    eq("user_id", run["user_id"].clone(), &exp["user_id"]);
    eq("agent_name", run["agent_name"].clone(), &exp["agent_name"]);
    eq(
        "agent_names",
        run["agent_names"].clone(),
        &exp["agent_names"],
    );
    eq("span_count", run["span_count"].clone(), &exp["span_count"]);
    eq(
        "has_error",
        json!(run["error_count"].as_u64().unwrap() > 0),
        &exp["has_error"],
    );
    eq(
        "input_tokens",
        run["input_tokens"].clone(),
        &exp["total_tokens"]["input"],
    );
    eq(
        "output_tokens",
        run["output_tokens"].clone(),
        &exp["total_tokens"]["output"],
    );
    eq(
        "total_tokens",
        run["total_tokens"].clone(),
        &exp["total_tokens"]["total"],
    );
    let loops: Vec<Value> = run["signals"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "loop")
        .map(|s| {
            json!({"tool_name": s["tool_name"], "tool_args": s["tool_args"],
                   "repeats": s["repeats"], "first_tool_index": s["first_tool_index"]})
        })
        .collect();
    eq("loops", json!(loops), &exp["loops"]);
    eq("has_root", run["has_root"].clone(), &json!(true));
}

pub struct Node<'a> {
    pub span: &'a Value,
    pub children: Vec<Node<'a>>,
}

/// The span tree, children by start time then end time.
pub fn build_tree(spans: &[Value]) -> Vec<Node<'_>> {
    let ids: HashMap<&str, usize> = spans
        .iter()
        .enumerate()
        .map(|(i, s)| (s["span_id"].as_str().unwrap(), i))
        .collect();
    let mut kids: Vec<Vec<usize>> = vec![Vec::new(); spans.len()];
    let mut roots = Vec::new();
    for (i, s) in spans.iter().enumerate() {
        match s["parent_span_id"].as_str().and_then(|p| ids.get(p)) {
            Some(&p) => kids[p].push(i),
            None => roots.push(i),
        }
    }
    let key = |&i: &usize| {
        (
            spans[i]["start_time_unix_nano"].as_u64(),
            spans[i]["end_time_unix_nano"].as_u64(),
        )
    };
    for k in &mut kids {
        k.sort_by_key(key);
    }
    roots.sort_by_key(key);
    fn build<'a>(i: usize, spans: &'a [Value], kids: &[Vec<usize>]) -> Node<'a> {
        Node {
            span: &spans[i],
            children: kids[i].iter().map(|&j| build(j, spans, kids)).collect(),
        }
    }
    roots.into_iter().map(|r| build(r, spans, &kids)).collect()
}

fn present(v: &Value) -> bool {
    !v.is_null()
}

fn compare_node(path: &str, node: &Node, exp: &Value, problems: &mut Vec<String>) {
    let s = node.span;
    let p = format!("{path}/{}", exp["name"].as_str().unwrap_or("?"));
    let mut eq = |what: &str, got: Value, want: &Value| {
        if &got != want {
            problems.push(format!("{p}: {what} is {got}, expected {want}"));
        }
    };
    eq("name", s["name"].clone(), &exp["name"]);
    eq(
        "kind",
        json!(fixture_kind(s["kind"].as_str().unwrap())),
        &exp["kind"],
    );
    let status = if s["status"] == "error" {
        "error"
    } else {
        "ok"
    };
    eq("status", json!(status), &exp["status"]);
    eq("has_input", json!(present(&s["input"])), &exp["has_input"]);
    eq(
        "has_output",
        json!(present(&s["output"])),
        &exp["has_output"],
    );
    for key in [
        "model",
        "input_tokens",
        "output_tokens",
        "tool_name",
        "tool_args",
    ] {
        if let Some(want) = exp.get(key) {
            eq(key, s[key].clone(), want);
        }
    }
    let want_children = exp["children"].as_array().unwrap();
    if node.children.len() != want_children.len() {
        problems.push(format!(
            "{p}: {} children, expected {}",
            node.children.len(),
            want_children.len()
        ));
        return;
    }
    for (c, e) in node.children.iter().zip(want_children) {
        compare_node(&p, c, e, problems);
    }
}
