//! Ingestion health against a real server: each problem as real OpenTelemetry exporters
//! produce it (a context handed on by a process that exports nothing, a process killed before
//! flushing, a skewed clock, one call recorded twice), refused requests with their reasons,
//! and the services sending.

use crate::common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::programs::{repo_root, require_setup, run_to_end};
use common::{client, Server, KEY};
use serde_json::{json, Value};

const TIMEOUT: Duration = Duration::from_secs(60);

/// Runs one app of `tests/compat/python/ingestion_problems.py`; returns the run id it wrote.
/// `killed` ends by SIGKILL, so only its output is checked.
fn app(server: &Server, scenario: &str) -> String {
    let dir = repo_root().join("tests/compat/python");
    let mut command = Command::new(repo_root().join(".cache/compat/venv/bin/python"));
    command
        .arg(dir.join("ingestion_problems.py"))
        .arg(scenario)
        .current_dir(&dir)
        .env("LEMMA_URL", &server.http)
        .env("LEMMA_API_KEY", KEY);
    let outcome = run_to_end(command, TIMEOUT);
    if scenario != "killed" {
        outcome.expect_success(scenario, TIMEOUT);
    }
    let run_id = outcome.stdout.trim().to_string();
    assert_eq!(
        run_id.len(),
        32,
        "{scenario}: {}{}",
        outcome.stdout,
        outcome.stderr
    );
    run_id
}

fn health(server: &Server) -> Value {
    server.api("/api/v1/ingestion")
}

fn problem<'a>(health: &'a Value, kind: &str) -> Option<&'a Value> {
    health["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["problem"] == kind)
}

/// Waits until the run has `spans` spans.
fn wait_for_run(server: &Server, run_id: &str, spans: u64) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let (status, body) = server.get(&format!("/api/v1/runs/{run_id}"));
        if status == 200 && body["run"]["span_count"] == spans {
            return;
        }
        assert!(Instant::now() < deadline, "run {run_id}: {body}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn each_problem_from_real_exporters_shows_with_an_example_and_a_fix() {
    require_setup("compat-setup", "the OpenTelemetry Python SDK");
    let server = Server::start();
    assert_eq!(
        health(&server)["problems"],
        json!([]),
        "a new project has none"
    );

    let orphaned = app(&server, "unexported-parent");
    wait_for_run(&server, &orphaned, 2);
    let killed = app(&server, "killed");
    wait_for_run(&server, &killed, 3);
    let skewed = app(&server, "skewed");
    wait_for_run(&server, &skewed, 2);
    let doubled = app(&server, "duplicate");
    wait_for_run(&server, &doubled, 3);

    let h = health(&server);
    let missing = problem(&h, "missing_parent").expect("missing parent");
    assert_eq!(missing["example"]["run_id"], orphaned.as_str(), "{missing}");
    assert!(missing["example"]["detail"]
        .as_str()
        .unwrap()
        .contains("worker job"));
    assert!(missing["fix"].as_str().unwrap().contains("traceparent"));

    let rootless = problem(&h, "no_root").expect("no root");
    assert_eq!(rootless["example"]["run_id"], killed.as_str(), "{rootless}");
    // The orphaned run has no root either, but it ended just now: its root may still come.
    assert_eq!(rootless["runs"], 1, "{rootless}");
    assert!(rootless["fix"].as_str().unwrap().contains("shutdown()"));

    let skew = problem(&h, "clock_skew").expect("clock skew");
    assert_eq!(skew["example"]["run_id"], skewed.as_str());
    assert!(
        skew["example"]["detail"]
            .as_str()
            .unwrap()
            .contains("3.0 s"),
        "{skew}"
    );

    let twice = problem(&h, "duplicate_call").expect("duplicate call");
    assert_eq!(twice["example"]["run_id"], doubled.as_str());
    assert_eq!(twice["count"], 1);
    let run = server.api(&format!("/api/v1/runs/{doubled}"));
    assert_eq!(run["run"]["input_tokens"], 120, "counted once");

    let late = problem(&h, "late_spans").expect("late spans");
    assert_eq!(
        late["count"], 3,
        "the killed job's spans ended 10 minutes before arriving"
    );
    assert_eq!(late["example"]["run_id"], killed.as_str());
    assert!(late["example"]["detail"]
        .as_str()
        .unwrap()
        .contains("from batch-job"));

    assert_eq!(h["checked"]["runs"], 4);
    let (ok, out, err) = server.cli(&["health"]);
    assert!(ok, "{err}");
    for want in [
        "Problems in the 4 runs of the last 24 hours",
        "Spans whose parent never arrived",
        killed.as_str(),
        "Fix: ",
        "batch-job",
    ] {
        assert!(out.contains(want), "{want:?} in lemma health:\n{out}");
    }
    let services: Vec<&str> = h["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["service"].as_str().unwrap())
        .collect();
    for service in ["worker", "batch-job", "api", "assistant"] {
        assert!(services.contains(&service), "{services:?}");
    }
    assert!(!services.contains(&"gateway"), "it exported nothing");
    let worker = h["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service"] == "worker")
        .unwrap();
    assert_eq!(worker["spans_total"], 2);
    assert_eq!(worker["spans_last_hour"], 2);
}

fn post(server: &Server, key: Option<&str>, content_type: &str, body: Vec<u8>) -> u16 {
    let mut request = client()
        .post(server.url("/v1/traces"))
        .header("content-type", content_type)
        .body(body);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    request.send().unwrap().status().as_u16()
}

#[test]
fn refused_requests_are_listed_with_their_reasons() {
    let server = Server::start_with(&["--max-body-bytes", "4096"]);
    let json = "application/json";
    assert_eq!(post(&server, Some(KEY), json, b"{not json".to_vec()), 400);
    assert_eq!(
        post(&server, Some(KEY), "application/x-protobuf", vec![0xff; 64]),
        400
    );
    assert_eq!(post(&server, Some(KEY), json, vec![b' '; 10_000]), 413);
    assert_eq!(post(&server, None, json, b"{}".to_vec()), 401);
    assert_eq!(
        post(&server, Some("lm_not-a-key"), json, b"{}".to_vec()),
        401
    );
    // One good span and one with a short trace id: stored in part.
    let partial = json!({"resourceSpans": [{"scopeSpans": [{"spans": [
        {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
         "name": "kept", "startTimeUnixNano": "1", "endTimeUnixNano": "2"},
        {"traceId": "5b8e", "spanId": "eee19b7ec3c1b175", "name": "lost",
         "startTimeUnixNano": "1", "endTimeUnixNano": "2"}]}]}]});
    assert_eq!(
        post(&server, Some(KEY), json, partial.to_string().into_bytes()),
        200
    );

    let refused = &health(&server)["refused"];
    let by_reason: Vec<(String, u64)> = refused["by_reason"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["reason"].as_str().unwrap().into(),
                r["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        by_reason,
        vec![
            ("bad_request".into(), 2),
            ("partial".into(), 1),
            ("payload_too_large".into(), 1)
        ]
    );
    assert_eq!(refused["total"], 4);
    let recent = refused["recent"].as_array().unwrap();
    assert_eq!(recent[0]["reason"], "partial", "newest first");
    assert_eq!(recent[0]["rejected"], 1);
    assert!(
        recent[0]["message"].as_str().unwrap().contains("lost"),
        "{}",
        recent[0]
    );
    assert_eq!(recent[1]["status"], 413);
    assert!(recent[1]["message"]
        .as_str()
        .unwrap()
        .contains("--max-body-bytes"));
    assert_eq!(recent[3]["transport"], "http");
    assert_eq!(recent[3]["signal"], "traces");
    let unauthenticated: u64 = refused["unauthenticated"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["count"].as_u64().unwrap())
        .sum();
    assert_eq!(unauthenticated, 2);

    // Another project sees none of this project's refusals.
    let (ok, out, err) = server.cli(&["projects", "create", "other"]);
    assert!(ok, "{err}");
    let _ = out;
    let (ok, out, err) = server.cli(&["keys", "create", "--project", "other"]);
    assert!(ok, "{err}");
    let other = common::key_from_output(&out);
    let (status, body) = server.get_with("/api/v1/ingestion", &other);
    assert_eq!(status, 200);
    assert_eq!(body["refused"]["total"], 0);
    assert_eq!(body["refused"]["recent"], json!([]));
    assert_eq!(body["services"], json!([]));
}
