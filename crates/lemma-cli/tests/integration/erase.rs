//! `lemma delete-runs` and `lemma erase-user` against a real server: a count first, nothing
//! deleted without consent, then exactly the runs found, with their metric events.

use crate::common;

use common::otlp::{hex, request, string_attr};
use common::{fixtures, Server};
use opentelemetry_proto::tonic::trace::v1::Span;

fn ids(runs: &[serde_json::Value]) -> Vec<String> {
    let mut ids: Vec<String> = runs
        .iter()
        .map(|r| r["run_id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[test]
fn delete_runs_says_how_many_asks_then_deletes_exactly_those() {
    let server = Server::start();
    fixtures::load_all_http(&server);
    let all = server.all_runs("");
    let failed = server.all_runs("status:error");
    assert!(!failed.is_empty() && failed.len() < all.len());
    let one = failed[0]["run_id"].as_str().unwrap();
    let (ok, _, err) = server.cli(&["metric", one, "resolved", "false"]);
    assert!(ok, "{err}");

    // Not a terminal, no --yes: the count, and nothing deleted.
    let (ok, _, err) = server.cli(&["delete-runs", "status:error"]);
    assert!(!ok);
    let n = failed.len();
    assert!(
        err.contains(&format!("{n} run")) && err.contains("--yes"),
        "{err}"
    );
    assert_eq!(server.all_runs("").len(), all.len());

    let (ok, _, err) = server.cli(&["delete-runs", "status:error", "--yes"]);
    assert!(ok, "{err}");
    assert!(err.contains(&format!("Deleted {n} run")), "{err}");
    assert!(server.all_runs("status:error").is_empty());
    let kept: Vec<_> = all
        .iter()
        .filter(|r| r["status"] != "error")
        .cloned()
        .collect();
    assert_eq!(ids(&server.all_runs("")), ids(&kept), "the other runs stay");
    let (status, _) = server.get(&format!("/api/v1/runs/{one}"));
    assert_eq!(status, 404);
    assert_eq!(
        server.api(&format!("/api/v1/runs/{one}/metrics"))["metrics"],
        serde_json::json!([]),
        "its metric events went with it"
    );

    // Nothing left to match: said so, and a success.
    let (ok, _, err) = server.cli(&["delete-runs", "status:error", "--yes"]);
    assert!(ok, "{err}");
    assert!(err.contains("nothing to delete"), "{err}");
    // A query is required: deleting everything takes one that says so.
    let (ok, _, err) = server.cli(&["delete-runs", "--yes"]);
    assert!(!ok);
    assert!(err.contains("QUERY"), "{err}");
}

/// A run whose root names `root_user`, with a child span naming `child_user`.
fn run(seed: u8, root_user: &str, child_user: &str) -> Vec<Span> {
    let trace_id = vec![seed; 16];
    let root = Span {
        trace_id: trace_id.clone(),
        span_id: vec![seed, 0, 0, 0, 0, 0, 0, 1],
        name: "invoke_agent helper".into(),
        start_time_unix_nano: 1_700_000_000_000_000_000 + seed as u64,
        end_time_unix_nano: 1_700_000_001_000_000_000,
        attributes: vec![
            string_attr("gen_ai.operation.name", "invoke_agent"),
            string_attr("lemma.user_id", root_user),
        ],
        ..Default::default()
    };
    let child = Span {
        trace_id,
        span_id: vec![seed, 0, 0, 0, 0, 0, 0, 2],
        parent_span_id: root.span_id.clone(),
        name: "execute_tool lookup".into(),
        start_time_unix_nano: root.start_time_unix_nano + 1,
        end_time_unix_nano: root.end_time_unix_nano - 1,
        attributes: vec![
            string_attr("gen_ai.operation.name", "execute_tool"),
            string_attr("lemma.user_id", child_user),
        ],
        ..Default::default()
    };
    vec![root, child]
}

#[test]
fn erase_user_deletes_their_runs_and_runs_with_a_span_naming_them() {
    let server = Server::start();
    let user = "ana \"the\" tester";
    let mut spans = run(1, user, user);
    spans.extend(run(2, "bob", user));
    spans.extend(run(3, "bob", "bob"));
    let resp = fixtures::send_protobuf(&server, &request(spans));
    assert_eq!(resp.status(), 200);
    assert_eq!(server.all_runs("").len(), 3);

    let (ok, _, err) = server.cli(&["erase-user", user]);
    assert!(!ok);
    assert!(
        err.contains("2 runs holding user") && err.contains("--yes"),
        "{err}"
    );
    let (ok, _, err) = server.cli(&["erase-user", user, "--yes"]);
    assert!(ok, "{err}");
    assert!(err.contains("Deleted 2 runs"), "{err}");
    let left = server.all_runs("");
    assert_eq!(
        ids(&left),
        [hex(&[3; 16])],
        "only the run that never named them"
    );
    let (status, body) = server.get(&format!(
        "/api/v1/spans?q={}",
        "user:%22ana%20%5C%22the%5C%22%20tester%22"
    ));
    assert_eq!(status, 200);
    assert_eq!(
        body["spans"],
        serde_json::json!([]),
        "no span names them any more"
    );
}
