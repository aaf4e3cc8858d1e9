//! Cost from prices against a real `lemma serve`: computed at ingest, provided costs kept,
//! project overrides, re-pricing stored runs, validation and isolation between projects.

use crate::common;

use common::otlp::{hex, request, string_attr};
use common::{client, fixtures, key_from_output, Server};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::Span;
use serde_json::{json, Value};

fn attr(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn int(key: &str, v: i64) -> KeyValue {
    attr(key, any_value::Value::IntValue(v))
}

/// One model call of a test run.
struct Call {
    model: &'static str,
    input: i64,
    output: i64,
    cache_read: i64,
    cache_write: i64,
    provided_cost: Option<f64>,
}

/// A call with 10k input tokens (8k read from the cache, 1.5k written to it) and 400 output.
const CACHED_SONNET: Call = Call {
    model: "claude-sonnet-4-5-20250929",
    input: 10_000,
    output: 400,
    cache_read: 8_000,
    cache_write: 1_500,
    provided_cost: None,
};

/// Sends a run (an agent root and one LLM span per call) and returns its id.
fn send_run(server: &Server, seed: u8, calls: &[Call]) -> String {
    let trace_id = [seed; 16].to_vec();
    let start = 1_700_000_000_000_000_000u64 + seed as u64 * 1_000_000_000;
    let mut spans = vec![Span {
        trace_id: trace_id.clone(),
        span_id: vec![seed, 0, 0, 0, 0, 0, 0, 1],
        name: "invoke_agent pricer".into(),
        kind: 1,
        start_time_unix_nano: start,
        end_time_unix_nano: start + 500_000_000,
        attributes: vec![
            string_attr("gen_ai.operation.name", "invoke_agent"),
            string_attr("gen_ai.agent.name", "pricer"),
        ],
        ..Default::default()
    }];
    for (i, c) in calls.iter().enumerate() {
        let mut attributes = vec![
            string_attr("gen_ai.operation.name", "chat"),
            string_attr("gen_ai.request.model", c.model),
            int("gen_ai.usage.input_tokens", c.input),
            int("gen_ai.usage.output_tokens", c.output),
            int("gen_ai.usage.cache_read.input_tokens", c.cache_read),
            int("gen_ai.usage.cache_creation.input_tokens", c.cache_write),
        ];
        if let Some(cost) = c.provided_cost {
            attributes.push(attr("lemma.cost_usd", any_value::Value::DoubleValue(cost)));
        }
        let t = start + (i as u64 + 1) * 10_000_000;
        spans.push(Span {
            trace_id: trace_id.clone(),
            span_id: vec![seed, 0, 0, 0, 0, 0, 0, i as u8 + 2],
            parent_span_id: vec![seed, 0, 0, 0, 0, 0, 0, 1],
            name: format!("chat {}", c.model),
            kind: 3,
            start_time_unix_nano: t,
            end_time_unix_nano: t + 5_000_000,
            attributes,
            ..Default::default()
        });
    }
    let resp = fixtures::send_protobuf(server, &request(spans));
    assert_eq!(resp.status(), 200, "{:?}", resp.text());
    hex(&trace_id)
}

/// The run's cost, and each model call's cost and source in start order.
fn costs(server: &Server, run_id: &str) -> (f64, Vec<(Value, Value)>) {
    let body = server.api(&format!("/api/v1/runs/{run_id}"));
    let calls = body["spans"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "llm")
        .map(|s| (s["cost_usd"].clone(), s["cost_source"].clone()))
        .collect();
    (body["run"]["cost_usd"].as_f64().expect("a run cost"), calls)
}

fn close(a: &Value, b: f64) -> bool {
    a.as_f64().is_some_and(|a| (a - b).abs() < 1e-9)
}

/// A request with a key and optional JSON body; status and JSON answer.
fn send(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = client().request(method, server.url(path));
    if let Some(key) = key {
        req = req.bearer_auth(key);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

fn entry<'a>(prices: &'a Value, model: &str) -> &'a Value {
    prices["prices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["model"] == model)
        .unwrap_or_else(|| panic!("{model} in {prices}"))
}

/// `lemma ARGS` that must succeed; returns stdout.
fn ok(server: &Server, args: &[&str]) -> String {
    let (success, out, err) = server.cli(args);
    assert!(success, "lemma {args:?} failed: {err}\n{out}");
    out
}

#[test]
fn costs_are_computed_overridden_and_reapplied() {
    let server = Server::start();
    let provided = Call {
        model: "gpt-4o",
        input: 1_000,
        output: 500,
        cache_read: 0,
        cache_write: 0,
        provided_cost: Some(0.5),
    };
    let first = send_run(&server, 1, &[CACHED_SONNET, provided]);

    // Built-in Sonnet 4.5 prices: uncached input $3, cache reads $0.30, cache writes $3.75,
    // output $15 per million tokens.
    let sonnet = (500.0 * 3.0 + 8_000.0 * 0.3 + 1_500.0 * 3.75 + 400.0 * 15.0) / 1e6;
    let (run_cost, calls) = costs(&server, &first);
    assert!(close(&calls[0].0, sonnet), "{calls:?}");
    assert_eq!(calls[0].1, "computed");
    assert_eq!(
        calls[1],
        (json!(0.5), json!("provided")),
        "a provided cost wins"
    );
    assert!((run_cost - (sonnet + 0.5)).abs() < 1e-9, "{run_cost}");

    // An override applies to what arrives next at once, and to stored runs on `apply`.
    let out = ok(
        &server,
        &[
            "prices",
            "set",
            "claude-sonnet-4-5",
            "--input",
            "1",
            "--output",
            "2",
        ],
    );
    assert!(out.contains("Set claude-sonnet-4-5"), "{out}");
    let prices = server.api("/api/v1/prices");
    let own = entry(&prices, "claude-sonnet-4-5");
    assert_eq!(
        (&own["source"], &own["input"]),
        (&json!("override"), &json!(1.0))
    );
    assert!(own["updated_at"].is_string(), "{own}");
    assert_eq!(entry(&prices, "gpt-4o")["source"], "builtin");
    assert!(prices["builtin_as_of"].is_string());

    let second = send_run(&server, 2, &[CACHED_SONNET]);
    // No cache prices of its own: cached tokens pay the input price.
    let overridden = (10_000.0 * 1.0 + 400.0 * 2.0) / 1e6;
    assert!(close(&costs(&server, &second).1[0].0, overridden));
    assert!((costs(&server, &first).0 - (sonnet + 0.5)).abs() < 1e-9);

    assert_eq!(server.all_runs("cost>0.513").len(), 1);
    let out = ok(&server, &["prices", "apply", "--json"]);
    let applied: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        applied["spans_changed"], 1,
        "only the first run's computed cost"
    );
    let (run_cost, calls) = costs(&server, &first);
    assert!(close(&calls[0].0, overridden), "{calls:?}");
    assert_eq!(calls[1], (json!(0.5), json!("provided")));
    assert!((run_cost - (overridden + 0.5)).abs() < 1e-9, "{run_cost}");
    let runs = server.all_runs("cost>0.513");
    assert_eq!(runs.len(), 0, "the run's indexed cost follows: {runs:?}");

    // The CLI table shows both sources.
    let out = ok(&server, &["prices", "list"]);
    let row = |model: &str| {
        out.lines()
            .find(|l| l.split_whitespace().next() == Some(model))
            .unwrap_or_else(|| panic!("{model} in\n{out}"))
            .to_string()
    };
    assert!(row("claude-sonnet-4-5").ends_with("override"), "{out}");
    assert!(row("gpt-4o-mini").ends_with("builtin"), "{out}");

    // Deleting the override and applying again restores the built-in price.
    ok(&server, &["prices", "delete", "claude-sonnet-4-5"]);
    let out = ok(&server, &["prices", "apply"]);
    assert!(out.contains("Re-priced 2 spans"), "{out}");
    assert!((costs(&server, &first).0 - (sonnet + 0.5)).abs() < 1e-9);
    assert!(close(&costs(&server, &second).1[0].0, sonnet));
    let (success, _, err) = server.cli(&["prices", "delete", "claude-sonnet-4-5"]);
    assert!(!success && err.contains("404"), "{err}");
}

#[test]
fn bad_prices_are_refused() {
    let server = Server::start();
    let key = Some(common::KEY);
    let put = |body: Value| {
        send(
            &server,
            reqwest::Method::PUT,
            "/api/v1/prices/acme-lm",
            key,
            Some(body),
        )
    };
    for (body, says) in [
        (
            json!({"input": -1, "output": 1}),
            "input must be a non-negative",
        ),
        (
            json!({"input": 1, "output": 1, "cache_read": -0.5}),
            "cache_read",
        ),
        (json!({"input": "cheap", "output": 1}), "invalid type"),
        (json!({"input": 1}), "missing field `output`"),
        (
            json!({"input": 1, "output": 1, "cached": 1}),
            "unknown field `cached`",
        ),
    ] {
        let (status, answer) = put(body.clone());
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], "bad_request");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{body}: {message}");
    }
    // JSON has no infinity; a number too large for one is refused too.
    let resp = client()
        .put(server.url("/api/v1/prices/acme-lm"))
        .bearer_auth(common::KEY)
        .header("content-type", "application/json")
        .body(r#"{"input": 1e400, "output": 1}"#)
        .send()
        .unwrap();
    assert_eq!(resp.status(), 400);
    let (status, answer) = send(
        &server,
        reqwest::Method::PUT,
        "/api/v1/prices/%20",
        key,
        Some(json!({"input": 1, "output": 1})),
    );
    assert_eq!(status, 400, "{answer}");

    // Nothing was stored.
    let prices = server.api("/api/v1/prices");
    assert!(prices["prices"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["source"] == "builtin"));

    let (success, _, err) =
        server.cli(&["prices", "set", "acme-lm", "--input", "-1", "--output", "1"]);
    assert!(!success && err.contains("non-negative"), "{err}");
}

#[test]
fn another_project_cannot_see_or_change_overrides() {
    let server = Server::start();
    let run = send_run(&server, 3, &[CACHED_SONNET]);
    let before = costs(&server, &run).0;
    ok(
        &server,
        &[
            "prices",
            "set",
            "claude-sonnet-4-5",
            "--input",
            "1",
            "--output",
            "2",
        ],
    );
    ok(&server, &["projects", "create", "other"]);
    let other = key_from_output(&ok(&server, &["keys", "create", "--project", "other"]));
    let other = Some(other.as_str());
    let default = Some(common::KEY);
    use reqwest::Method;

    // It sees only the built-in price, and cannot delete this project's override.
    let (status, prices) = send(&server, Method::GET, "/api/v1/prices", other, None);
    assert_eq!(status, 200);
    assert_eq!(entry(&prices, "claude-sonnet-4-5")["source"], "builtin");
    let path = "/api/v1/prices/claude-sonnet-4-5";
    assert_eq!(send(&server, Method::DELETE, path, other, None).0, 404);

    // Its own override and re-pricing stay in its project.
    let body = json!({"input": 100, "output": 100});
    assert_eq!(
        send(&server, Method::PUT, path, other, Some(body.clone())).0,
        200
    );
    let (status, applied) = send(&server, Method::POST, "/api/v1/prices/apply", other, None);
    assert_eq!((status, &applied["spans_changed"]), (200, &json!(0)));
    let (_, mine) = send(&server, Method::GET, "/api/v1/prices", default, None);
    assert_eq!(entry(&mine, "claude-sonnet-4-5")["input"], 1.0);
    assert_eq!(costs(&server, &run).0, before);
    let (_, theirs) = send(&server, Method::GET, "/api/v1/prices", other, None);
    assert_eq!(entry(&theirs, "claude-sonnet-4-5")["input"], 100.0);

    // And without a key nothing answers.
    for (method, path) in [
        (Method::GET, "/api/v1/prices"),
        (Method::PUT, path),
        (Method::DELETE, path),
        (Method::POST, "/api/v1/prices/apply"),
    ] {
        let (status, _) = send(&server, method.clone(), path, None, Some(body.clone()));
        assert_eq!(status, 401, "{method} {path}");
    }
}
