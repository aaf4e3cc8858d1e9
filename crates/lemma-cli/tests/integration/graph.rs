//! `GET /api/v1/runs/{run_id}/graph` through a real server: the graphs of recorded runs (counts,
//! failures, tokens and edges exactly), a cycle between agents marked as one, and the route
//! kept to the key's project.

use crate::common;

use common::otlp::{request, string_attr};
use common::{fixtures, key_from_output, Server};
use opentelemetry_proto::tonic::trace::v1::{status, Span, Status};
use serde_json::Value;

/// Nodes as `(kind, label, count, errors, depth)`.
fn nodes(graph: &Value) -> Vec<(String, String, u64, u64, u64)> {
    graph["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["kind"].as_str().unwrap().to_string(),
                n["label"].as_str().unwrap().to_string(),
                n["count"].as_u64().unwrap(),
                n["errors"].as_u64().unwrap(),
                n["depth"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Edges as `(from label, to label, count, back)`.
fn edges(graph: &Value) -> Vec<(String, String, u64, bool)> {
    let label = |id: &Value| {
        graph["nodes"][id.as_u64().unwrap() as usize]["label"]
            .as_str()
            .unwrap()
            .to_string()
    };
    graph["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                label(&e["from"]),
                label(&e["to"]),
                e["count"].as_u64().unwrap(),
                e["back"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

fn owned<const N: usize>(
    rows: [(&str, &str, u64, u64, u64); N],
) -> Vec<(String, String, u64, u64, u64)> {
    rows.iter()
        .map(|&(k, l, c, e, d)| (k.into(), l.into(), c, e, d))
        .collect()
}

/// Every field of `value` is a property of the document's schema `name`, and every required
/// property is there; nodes and edges likewise.
fn documented(doc: &Value, name: &str, value: &Value) {
    let schema = &doc["components"]["schemas"][name];
    let properties = schema["properties"].as_object().unwrap();
    let fields = value.as_object().unwrap();
    for field in fields.keys() {
        assert!(
            properties.contains_key(field),
            "{name}.{field} is undocumented"
        );
    }
    for required in schema["required"].as_array().unwrap() {
        let required = required.as_str().unwrap();
        assert!(
            fields.contains_key(required),
            "{name}.{required} is missing: {value}"
        );
    }
}

fn documented_graph(server: &Server, graph: &Value) {
    let doc = server.api("/api/v1/openapi.json");
    let path = &doc["paths"]["/api/v1/runs/{run_id}/graph"]["get"]["responses"]["200"];
    assert_eq!(
        path["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/RunGraph"
    );
    documented(&doc, "RunGraph", graph);
    for node in graph["nodes"].as_array().unwrap() {
        documented(&doc, "GraphNode", node);
    }
    for edge in graph["edges"].as_array().unwrap() {
        documented(&doc, "GraphEdge", edge);
    }
}

/// The one run of that name.
fn run_named(server: &Server, name: &str) -> Value {
    let runs: Vec<Value> = server
        .all_runs("")
        .into_iter()
        .filter(|r| r["name"] == name)
        .collect();
    assert_eq!(runs.len(), 1, "{name}: {runs:?}");
    runs[0].clone()
}

#[test]
fn recorded_runs_read_as_graphs_of_their_calls() {
    let server = Server::start();
    fixtures::load_all_http(&server);

    // long_run: one agent, 111 model calls and 110 tool calls, the 8 `run_tests` calls failed.
    let run = run_named(&server, "invoke_agent coding_agent");
    let id = run["run_id"].as_str().unwrap();
    let graph = server.api(&format!("/api/v1/runs/{id}/graph"));
    assert_eq!(
        nodes(&graph),
        owned([
            ("agent", "coding_agent", 1, 0, 0),
            ("llm", "gpt-4.1", 111, 0, 1),
            ("tool", "search_code", 30, 0, 1),
            ("tool", "read_file", 42, 0, 1),
            ("tool", "edit_file", 30, 0, 1),
            ("tool", "run_tests", 8, 8, 1),
        ])
    );
    let agent = "coding_agent".to_string();
    assert_eq!(
        edges(&graph),
        [
            (agent.clone(), "gpt-4.1".into(), 111, false),
            (agent.clone(), "search_code".into(), 30, false),
            (agent.clone(), "read_file".into(), 42, false),
            (agent.clone(), "edit_file".into(), 30, false),
            (agent, "run_tests".into(), 8, false),
        ]
    );
    documented_graph(&server, &graph);
    assert_eq!(graph["spans"], 222);
    assert_eq!(graph["capped"], false);
    // The model calls' tokens are the run's, counted once (the agent repeats none here).
    assert_eq!(graph["nodes"][1]["tokens"], run["total_tokens"]);
    assert_eq!(graph["nodes"][0].get("tokens"), None);
    // A node's first span and first failure are spans of the run, found by their position.
    let run_tests = &graph["nodes"][5];
    let first = run_tests["first_span_id"].as_str().unwrap();
    assert_eq!(run_tests["first_error_span_id"], first);
    let outline = server.api(&format!(
        "/api/v1/runs/{id}/outline?offset={}&limit=1",
        run_tests["first_position"]
    ));
    assert_eq!(outline["rows"][0]["span_id"], first);
    assert_eq!(outline["rows"][0]["tool_name"], "run_tests");

    // openllmetry: a workflow (not an agent) is the root its agent and its task hang from.
    let run = run_named(&server, "support_workflow.workflow");
    let graph = server.api(&format!(
        "/api/v1/runs/{}/graph",
        run["run_id"].as_str().unwrap()
    ));
    assert_eq!(
        nodes(&graph),
        owned([
            ("chain", "support_workflow.workflow", 1, 0, 0),
            ("agent", "support_agent", 1, 0, 1),
            ("llm", "gpt-4o-mini", 2, 0, 2),
            ("tool", "lookup_order", 1, 0, 2),
            ("chain", "format_answer.task", 1, 0, 1),
        ])
    );
    assert_eq!(
        edges(&graph)
            .iter()
            .map(|(f, t, c, _)| format!("{f}->{t} x{c}"))
            .collect::<Vec<_>>(),
        [
            "support_workflow.workflow->support_agent x1",
            "support_agent->gpt-4o-mini x2",
            "support_agent->lookup_order x1",
            "support_workflow.workflow->format_answer.task x1",
        ]
    );
}

fn span(id: u8, parent: Option<u8>, name: &str, attrs: &[(&str, &str)], failed: bool) -> Span {
    let start = 1_700_000_000_000_000_000 + u64::from(id) * 1_000_000;
    Span {
        trace_id: b"graph-cycle-0001".to_vec(),
        span_id: [0, 0, 0, 0, 0, 0, 0, id].to_vec(),
        parent_span_id: parent
            .map(|p| [0, 0, 0, 0, 0, 0, 0, p].to_vec())
            .unwrap_or_default(),
        name: name.into(),
        start_time_unix_nano: start,
        end_time_unix_nano: start + 100_000_000 - u64::from(id) * 1_000_000,
        attributes: attrs.iter().map(|(k, v)| string_attr(k, v)).collect(),
        status: failed.then(|| Status {
            code: status::StatusCode::Error as i32,
            message: "failed".into(),
        }),
        ..Default::default()
    }
}

fn agent(id: u8, parent: Option<u8>, name: &str) -> Span {
    let attrs = [
        ("gen_ai.operation.name", "invoke_agent"),
        ("gen_ai.agent.name", name),
    ];
    span(id, parent, &format!("invoke_agent {name}"), &attrs, false)
}

fn tool(id: u8, parent: u8, name: &str, failed: bool) -> Span {
    let attrs = [
        ("gen_ai.operation.name", "execute_tool"),
        ("gen_ai.tool.name", name),
    ];
    span(
        id,
        Some(parent),
        &format!("execute_tool {name}"),
        &attrs,
        failed,
    )
}

#[test]
fn agents_calling_back_show_as_a_cycle_and_other_projects_see_nothing() {
    let server = Server::start();
    // planner → researcher → planner → search (failed) and search; researcher → search.
    let spans = vec![
        agent(1, None, "planner"),
        agent(2, Some(1), "researcher"),
        agent(3, Some(2), "planner"),
        tool(4, 3, "search", true),
        tool(5, 3, "search", false),
        tool(6, 2, "search", false),
    ];
    let resp = fixtures::send_protobuf(&server, &request(spans));
    assert_eq!(resp.status(), 200);
    let id = common::otlp::hex(b"graph-cycle-0001");
    let path = format!("/api/v1/runs/{id}/graph");
    let graph = server.api(&path);
    assert_eq!(
        nodes(&graph),
        owned([
            ("agent", "planner", 2, 0, 0),
            ("agent", "researcher", 1, 0, 1),
            ("tool", "search", 3, 1, 2),
        ])
    );
    documented_graph(&server, &graph);
    let e = |f: &str, t: &str, c: u64, back: bool| (f.to_string(), t.to_string(), c, back);
    assert_eq!(
        edges(&graph),
        [
            e("planner", "researcher", 1, false),
            e("researcher", "planner", 1, true),
            e("planner", "search", 2, false),
            e("researcher", "search", 1, false),
        ]
    );
    assert_eq!(
        graph["nodes"][2]["first_error_span_id"],
        common::otlp::hex(&[0, 0, 0, 0, 0, 0, 0, 4])
    );

    // Unknown runs, bad IDs, no key, and another project's key.
    let (status, body) = server.get("/api/v1/runs/0123456789abcdef0123456789abcdef/graph");
    assert_eq!((status, &body["error"]["code"]), (404, &"not_found".into()));
    let (status, _) = server.get("/api/v1/runs/not-a-run/graph");
    assert_eq!(status, 400);
    let resp = common::client().get(server.url(&path)).send().unwrap();
    assert_eq!(resp.status(), 401);
    let (ok, _, err) = server.cli(&["projects", "create", "elsewhere"]);
    assert!(ok, "{err}");
    let (ok, out, err) = server.cli(&["keys", "create", "--project", "elsewhere"]);
    assert!(ok, "{err}");
    let other = key_from_output(&out);
    let (status, _) = server.get_with(&path, &other);
    assert_eq!(status, 404, "another project's key cannot read the run");
    assert_eq!(server.get_with(&path, common::KEY).0, 200);
}
