//! Metric events against a real `lemma serve`: posted before and after a run's spans, read back
//! (on their own and on the run), filtered on, aggregated by stats, refused when invalid, kept
//! apart between projects, and used from the CLI.

use crate::common;

use common::otlp::{hex, request, string_attr};
use common::{client, key_from_output, Server, KEY};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::{json, Value};

const MINUTE: u64 = 60_000_000_000;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

fn run_id(seed: u8) -> String {
    hex(&[seed; 16])
}

fn root_span_id(seed: u8) -> String {
    hex(&[seed, 0, 0, 0, 0, 0, 0, 1])
}

/// A one-span agent run that started ten minutes ago.
fn send_run(server: &Server, key: &str, seed: u8) {
    send_run_with(server, key, seed, Vec::new());
}

fn send_run_with(server: &Server, key: &str, seed: u8, extra: Vec<KeyValue>) {
    let start = now() - 10 * MINUTE;
    let span = Span {
        trace_id: vec![seed; 16],
        span_id: vec![seed, 0, 0, 0, 0, 0, 0, 1],
        name: "invoke_agent helper".into(),
        kind: 1,
        start_time_unix_nano: start,
        end_time_unix_nano: start + MINUTE / 60,
        attributes: [
            string_attr("gen_ai.operation.name", "invoke_agent"),
            string_attr("gen_ai.agent.name", "helper"),
        ]
        .into_iter()
        .chain(extra)
        .collect(),
        ..Default::default()
    };
    let resp = client()
        .post(server.url("/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .bearer_auth(key)
        .body(request(vec![span]).encode_to_vec())
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200, "{:?}", resp.text());
}

fn post_with(server: &Server, key: Option<&str>, run: &str, body: &Value) -> (u16, Value) {
    let mut req = client()
        .post(server.url(&format!("/api/v1/runs/{run}/metrics")))
        .json(body);
    if let Some(key) = key {
        req = req.bearer_auth(key);
    }
    let resp = req.send().unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

fn post(server: &Server, run: &str, body: Value) -> Value {
    let (status, answer) = post_with(server, Some(KEY), run, &body);
    assert_eq!(status, 201, "{body}: {answer}");
    answer
}

fn metrics_of(server: &Server, run: &str) -> Vec<Value> {
    server.api(&format!("/api/v1/runs/{run}/metrics"))["metrics"]
        .as_array()
        .unwrap()
        .clone()
}

fn names(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["name"].as_str().unwrap()).collect()
}

fn run_ids(server: &Server, q: &str) -> Vec<String> {
    let mut ids: Vec<String> = server
        .all_runs(q)
        .iter()
        .map(|r| r["run_id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

fn error_message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or("")
}

#[test]
fn metric_events_end_to_end() {
    let server = Server::start();
    let (a, b, c) = (run_id(0x61), run_id(0x62), run_id(0x63));

    // Before any span of run A: accepted and readable, though the run itself is not there yet.
    let first = post(
        &server,
        &a,
        json!({"name": "resolved", "value": true, "source": "user"}),
    );
    let stored = &first["metrics"][0];
    assert_eq!(stored["name"], "resolved");
    assert_eq!(stored["value"], true);
    assert_eq!(stored["source"], "user");
    assert_eq!(stored["run_id"], a.as_str());
    assert_eq!(stored["id"].as_str().unwrap().len(), 32);
    assert!(stored["time_unix_nano"].as_u64().unwrap() > now() - MINUTE);
    assert_eq!(server.get(&format!("/api/v1/runs/{a}")).0, 404);
    assert_eq!(names(&metrics_of(&server, &a)), ["resolved"]);

    for seed in [0x61, 0x62, 0x63] {
        send_run(&server, KEY, seed);
    }

    // After the spans, in a batch; the run ID in the path is case-insensitive.
    let batch = post(
        &server,
        &a.to_ascii_uppercase(),
        json!({"metrics": [
            {"name": "quality", "value": 0.3, "source": "evaluator",
             "span_id": root_span_id(0x61), "comment": "misses the refund rule"},
            {"name": "feedback", "value": "too long"}
        ]}),
    );
    assert_eq!(
        names(batch["metrics"].as_array().unwrap()),
        ["quality", "feedback"]
    );
    post(
        &server,
        &b,
        json!({"metrics": [
            {"name": "quality", "value": 0.9},
            {"name": "resolved", "value": false}
        ]}),
    );

    // Read back, on their own and on the RUN object.
    let events = metrics_of(&server, &a);
    assert_eq!(names(&events), ["resolved", "quality", "feedback"]);
    assert_eq!(events[1]["value"], 0.3);
    assert_eq!(events[1]["span_id"], root_span_id(0x61).as_str());
    assert_eq!(events[1]["comment"], "misses the refund rule");
    assert_eq!(events[2]["value"], "too long");
    let run = server.api(&format!("/api/v1/runs/{a}"));
    assert_eq!(run["run"]["metrics"], Value::Array(events.clone()));
    let run_c = server.api(&format!("/api/v1/runs/{c}"));
    assert_eq!(run_c["run"]["metrics"], json!([]));

    // Filters.
    assert_eq!(run_ids(&server, "metric.resolved=true"), [a.as_str()]);
    assert_eq!(run_ids(&server, "metric.resolved=false"), [b.as_str()]);
    assert_eq!(run_ids(&server, "metric.quality<0.5"), [a.as_str()]);
    assert_eq!(run_ids(&server, "metric.quality>=0.5"), [b.as_str()]);
    assert_eq!(run_ids(&server, "metric.quality=0.9"), [b.as_str()]);
    assert_eq!(run_ids(&server, "has:metric.feedback"), [a.as_str()]);
    assert_eq!(
        run_ids(&server, "metric.feedback:\"too long\""),
        [a.as_str()]
    );
    assert_eq!(run_ids(&server, "-has:metric.quality"), [c.as_str()]);
    assert!(run_ids(&server, "metric.quality>1").is_empty());
    let (status, body) = server.get("/api/v1/runs?q=metric.quality%3Chigh");
    assert_eq!(status, 400);
    assert!(error_message(&body).contains("expected a number"), "{body}");

    // Stats over the runs in range.
    let resp = client()
        .get(server.url("/api/v1/stats"))
        .bearer_auth(KEY)
        .query(&[("from", "1h")])
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    let stats: Value = resp.json().unwrap();
    let by_metric = stats["by_metric"].as_array().unwrap();
    let find = |name: &str| {
        by_metric
            .iter()
            .find(|m| m["name"] == name)
            .unwrap()
            .clone()
    };
    let quality = find("quality");
    assert_eq!(quality["count"], 2);
    assert!((quality["mean"].as_f64().unwrap() - 0.6).abs() < 1e-9);
    assert_eq!(quality["true_rate"], Value::Null);
    let resolved = find("resolved");
    assert_eq!(resolved["count"], 2);
    assert_eq!(resolved["true_rate"], 0.5);
    assert_eq!(find("feedback")["values"], json!({"too long": 1}));

    // Invalid values: 400 with the reason, and nothing of a bad batch is stored.
    let long = "x".repeat(1_001);
    for (body, reason) in [
        (json!({"name": "bad name", "value": 1}), "may only contain"),
        (
            json!({"name": "q", "value": null}),
            "a number, a boolean or a string",
        ),
        (
            json!({"name": "q", "value": {"nested": 1}}),
            "a number, a boolean or a string",
        ),
        (json!({"name": "q", "value": long}), "at most 1000"),
        (json!({"name": "q"}), "value is required"),
        (
            json!({"name": "q", "value": 1, "span_id": "nope"}),
            "16 hex",
        ),
        (
            json!({"metrics": [{"name": "ok", "value": 1}, {"name": "", "value": 2}]}),
            "metrics[1]: name must not be empty",
        ),
    ] {
        let (status, answer) = post_with(&server, Some(KEY), &a, &body);
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(error_message(&answer).contains(reason), "{body}: {answer}");
    }
    let resp = client()
        .post(server.url(&format!("/api/v1/runs/{a}/metrics")))
        .bearer_auth(KEY)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .unwrap();
    assert_eq!(resp.status(), 400);
    let (status, _) = post_with(
        &server,
        Some(KEY),
        "not-a-run",
        &json!({"name": "q", "value": 1}),
    );
    assert_eq!(status, 400);
    assert_eq!(metrics_of(&server, &a).len(), 3);

    // Another project's run: not found from this one, and this one's runs not from it.
    let (ok, _, err) = server.cli(&["projects", "create", "other"]);
    assert!(ok, "{err}");
    let (ok, out, err) = server.cli(&["keys", "create", "--project", "other"]);
    assert!(ok, "{err}");
    let other = key_from_output(&out);
    let d = run_id(0x64);
    send_run(&server, &other, 0x64);
    let (status, body) = post_with(&server, Some(KEY), &d, &json!({"name": "q", "value": 1}));
    assert_eq!(status, 404, "{body}");
    assert_eq!(server.get(&format!("/api/v1/runs/{d}/metrics")).0, 404);
    let (status, _) = post_with(&server, Some(&other), &d, &json!({"name": "q", "value": 1}));
    assert_eq!(status, 201);
    assert_eq!(
        server
            .get_with(&format!("/api/v1/runs/{a}/metrics"), &other)
            .0,
        404
    );
    assert_eq!(metrics_of(&server, &a).len(), 3);

    // No key, or a wrong one.
    let (status, _) = post_with(&server, None, &a, &json!({"name": "q", "value": 1}));
    assert_eq!(status, 401);
    let (status, _) = post_with(
        &server,
        Some("lm_wrong"),
        &a,
        &json!({"name": "q", "value": 1}),
    );
    assert_eq!(status, 401);
    let resp = client()
        .get(server.url(&format!("/api/v1/runs/{a}/metrics")))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 401);

    // Evaluation results sent as OpenInference annotations on a span become evaluator events.
    let e = run_id(0x65);
    let score = KeyValue {
        key: "annotations.0.annotation.score".into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::DoubleValue(0.95)),
        }),
        ..Default::default()
    };
    let annotations = vec![
        string_attr("annotations.0.annotation.name", "correctness"),
        score,
        string_attr("annotations.0.annotation.explanation", "cites the policy"),
        string_attr("annotations.0.annotation.annotator_kind", "LLM"),
    ];
    send_run_with(&server, KEY, 0x65, annotations.clone());
    send_run_with(&server, KEY, 0x65, annotations);
    let derived = metrics_of(&server, &e);
    assert_eq!(names(&derived), ["correctness"]);
    assert_eq!(derived[0]["value"], 0.95);
    assert_eq!(derived[0]["source"], "evaluator");
    assert_eq!(derived[0]["comment"], "cites the policy");
    assert_eq!(derived[0]["span_id"], root_span_id(0x65).as_str());
    assert_eq!(run_ids(&server, "metric.correctness>0.9"), [e.as_str()]);

    // The CLI posts one and shows a run's metrics.
    let (ok, out, err) = server.cli(&["metric", &c, "helpful", "4", "--comment", "clear answer"]);
    assert!(ok, "{err}");
    assert!(out.contains("helpful = 4"), "{out}");
    let (ok, out, err) = server.cli(&["metric", &c, "label", "42", "--text"]);
    assert!(ok, "{err}");
    assert!(out.contains("label = \"42\""), "{out}");
    let events = metrics_of(&server, &c);
    assert_eq!(events[0]["value"], 4.0);
    assert_eq!(events[0]["source"], "user");
    assert_eq!(events[1]["value"], "42");
    let (ok, out, err) = server.cli(&["run", &c]);
    assert!(ok, "{err}");
    assert!(out.contains("metrics"), "{out}");
    assert!(out.contains("helpful = 4  (user)  clear answer"), "{out}");
    let (ok, _, err) = server.cli(&["metric", &c, "bad name", "1"]);
    assert!(!ok);
    assert!(err.contains("may only contain"), "{err}");
}
