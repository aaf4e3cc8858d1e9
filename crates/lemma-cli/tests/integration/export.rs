//! `lemma export` against real servers: OTLP JSON lines that recreate every run on another
//! server, one span per line with a query, and clear refusals.

use crate::common;

use std::collections::BTreeSet;

use common::{fixtures, Server, KEY};
use serde_json::Value;

/// `lemma export <args>` against `server`; returns (success, stderr).
fn export(server: &Server, args: &[&str]) -> (bool, String) {
    let mut all = vec!["export"];
    all.extend_from_slice(args);
    let (ok, _, err) = server.cli(&all);
    (ok, err)
}

/// Every span of a run, through the span windows, without the log records joined to them
/// (an OTLP trace export carries spans; log records are another signal).
fn spans_of(server: &Server, run_id: &str) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let window = server.api(&format!(
            "/api/v1/runs/{run_id}/spans?offset={}&limit=500",
            out.len()
        ));
        let spans = window["spans"].as_array().unwrap();
        out.extend(spans.iter().cloned().map(|mut s| {
            s.as_object_mut().unwrap().remove("logs");
            s
        }));
        if spans.is_empty() || out.len() as u64 >= window["total"].as_u64().unwrap() {
            return out;
        }
    }
}

#[test]
fn otlp_lines_recreate_every_run_on_another_server() {
    let source = Server::start();
    fixtures::load_all_http(&source);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("runs.otlp.jsonl");
    // An odd window size, so long runs take several requests and lines.
    let (ok, err) = export(&source, &["--out", file.to_str().unwrap(), "--batch", "37"]);
    assert!(ok, "{err}");
    let runs = source.all_runs("");
    let spans: u64 = runs.iter().map(|r| r["span_count"].as_u64().unwrap()).sum();
    assert!(
        err.contains(&format!("Exported {} runs ({spans} spans)", runs.len())),
        "{err}"
    );

    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() > runs.len(), "a long run takes several lines");
    let target = Server::start();
    for line in &lines {
        let resp = common::client()
            .post(target.url("/v1/traces"))
            .bearer_auth(KEY)
            .header("content-type", "application/json")
            .body(line.to_string())
            .send()
            .unwrap();
        assert_eq!(resp.status(), 200, "{}", resp.text().unwrap());
    }
    assert_eq!(target.all_runs("").len(), runs.len());
    source.settle_signals();
    target.settle_signals();
    for run in &runs {
        let id = run["run_id"].as_str().unwrap();
        let mut copied = target.api(&format!("/api/v1/runs/{id}/outline?limit=1"))["run"].clone();
        let mut original = source.api(&format!("/api/v1/runs/{id}/outline?limit=1"))["run"].clone();
        // Metric events are not spans: neither side's copy has them to compare.
        for r in [&mut copied, &mut original] {
            r.as_object_mut().unwrap().remove("metrics");
        }
        assert_eq!(copied, original, "run {id}");
        assert_eq!(
            spans_of(&target, id),
            spans_of(&source, id),
            "spans of {id}"
        );
    }
}

#[test]
fn jsonl_holds_each_span_of_the_runs_a_query_finds_once() {
    let server = Server::start();
    fixtures::load_all_http(&server);
    let long = &server.all_runs("agent:coding_agent")[0];
    let id = long["run_id"].as_str().unwrap();
    let count = long["span_count"].as_u64().unwrap();
    assert!(count > 100, "the long run spans several windows");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("spans.jsonl");
    let (ok, err) = export(
        &server,
        &[
            "agent:coding_agent",
            "--format",
            "jsonl",
            "--batch",
            "50",
            "--out",
            file.to_str().unwrap(),
        ],
    );
    assert!(ok, "{err}");
    assert!(
        err.contains(&format!("Exported 1 runs ({count} spans)")),
        "{err}"
    );
    let text = std::fs::read_to_string(&file).unwrap();
    let spans: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(spans.len() as u64, count);
    assert!(spans.iter().all(|s| s["trace_id"] == id));
    let ids: BTreeSet<&str> = spans
        .iter()
        .map(|s| s["span_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len() as u64, count, "each span once");

    // Nothing matches: an empty export, said so.
    let (ok, err) = export(&server, &["agent:nobody", "--out", file.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(err.contains("Exported 0 runs (0 spans)"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "");
}

#[test]
fn bad_arguments_and_keys_are_refused_clearly() {
    let server = Server::start();
    let (ok, err) = export(&server, &["--batch", "0"]);
    assert!(!ok);
    assert!(err.contains("--batch"), "{err}");
    let (ok, err) = export(&server, &["--format", "csv"]);
    assert!(!ok);
    assert!(
        err.contains("possible values") && err.contains("otlp"),
        "{err}"
    );
    let (ok, err) = export(&server, &["status:", "--api-key", "lm_wrong"]);
    assert!(!ok);
    assert!(err.contains("401") || err.contains("API key"), "{err}");
    let (ok, err) = export(&server, &["status:"]);
    assert!(!ok);
    assert!(err.contains("invalid query at position"), "{err}");
}
