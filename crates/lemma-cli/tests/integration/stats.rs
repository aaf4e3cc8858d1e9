//! `GET /api/v1/stats` against a real `lemma serve`: totals, the time series, the breakdowns by
//! agent and model, filters, defaults, parameter errors, authentication and project isolation.

use crate::common;

use common::otlp::{request, string_attr};
use common::{client, key_from_output, Server, KEY};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::{status, Span, Status};
use prost::Message;
use serde_json::{json, Value};

const SECOND: u64 = 1_000_000_000;
const MINUTE: u64 = 60 * SECOND;
/// 2025-01-01T00:00:00Z.
const T0: u64 = 1_735_689_600 * SECOND;
const RANGE: [(&str, &str); 3] = [
    ("from", "2025-01-01T00:00:00Z"),
    ("to", "2025-01-01T02:00:00Z"),
    ("bucket", "1h"),
];

fn attr(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

/// One run: an agent root lasting `seconds` and one model call under it.
struct TestRun {
    seed: u8,
    agent: &'static str,
    start: u64,
    seconds: u64,
    failed: bool,
    model: &'static str,
    tokens: (i64, i64),
    cost: Option<f64>,
}

impl TestRun {
    fn spans(&self) -> Vec<Span> {
        let trace_id = [self.seed; 16].to_vec();
        let root_id = vec![self.seed, 0, 0, 0, 0, 0, 0, 1];
        let mut llm_attrs = vec![
            string_attr("gen_ai.operation.name", "chat"),
            string_attr("gen_ai.request.model", self.model),
            string_attr("gen_ai.provider.name", "openai"),
            attr(
                "gen_ai.usage.input_tokens",
                any_value::Value::IntValue(self.tokens.0),
            ),
            attr(
                "gen_ai.usage.output_tokens",
                any_value::Value::IntValue(self.tokens.1),
            ),
        ];
        if let Some(c) = self.cost {
            llm_attrs.push(attr("lemma.cost_usd", any_value::Value::DoubleValue(c)));
        }
        // An empty agent: a root that is no agent (a web request around a model call).
        let (name, attributes) = match self.agent {
            "" => ("POST /chat".to_string(), vec![]),
            agent => (
                format!("invoke_agent {agent}"),
                vec![
                    string_attr("gen_ai.operation.name", "invoke_agent"),
                    string_attr("gen_ai.agent.name", agent),
                ],
            ),
        };
        let root = Span {
            trace_id: trace_id.clone(),
            span_id: root_id.clone(),
            name,
            kind: 1,
            start_time_unix_nano: self.start,
            end_time_unix_nano: self.start + self.seconds * SECOND,
            attributes,
            status: self.failed.then(|| Status {
                code: status::StatusCode::Error as i32,
                message: "boom".into(),
            }),
            ..Default::default()
        };
        let llm = Span {
            trace_id,
            span_id: vec![self.seed, 0, 0, 0, 0, 0, 0, 2],
            parent_span_id: root_id,
            name: format!("chat {}", self.model),
            kind: 3,
            start_time_unix_nano: self.start + SECOND / 10,
            end_time_unix_nano: self.start + SECOND / 5,
            attributes: llm_attrs,
            ..Default::default()
        };
        vec![root, llm]
    }
}

fn send(server: &Server, key: &str, runs: &[TestRun]) {
    let spans = runs.iter().flat_map(TestRun::spans).collect();
    let resp = client()
        .post(server.url("/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .bearer_auth(key)
        .body(request(spans).encode_to_vec())
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200, "{:?}", resp.text());
}

/// GET /api/v1/stats with these parameters; status and JSON answer.
fn stats_with(server: &Server, key: Option<&str>, params: &[(&str, &str)]) -> (u16, Value) {
    let mut req = client().get(server.url("/api/v1/stats")).query(params);
    if let Some(key) = key {
        req = req.bearer_auth(key);
    }
    let resp = req.send().unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

fn stats(server: &Server, params: &[(&str, &str)]) -> Value {
    let (status, body) = stats_with(server, Some(KEY), params);
    assert_eq!(status, 200, "{params:?}: {body}");
    body
}

fn with_range<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    RANGE.iter().chain(extra).copied().collect()
}

fn close(v: &Value, want: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - want).abs() < 1e-9)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// Runs in the range (two support runs, one failed; a billing run in the second hour), one after
/// it, and one an hour ago for the default range.
fn load(server: &Server) {
    let run = |seed, agent, start, seconds, model, tokens, cost| TestRun {
        seed,
        agent,
        start,
        seconds,
        failed: false,
        model,
        tokens,
        cost,
    };
    let mut failed = run(
        2,
        "support",
        T0 + 20 * MINUTE,
        4,
        "acme-small",
        (100, 50),
        None,
    );
    failed.failed = true;
    send(
        server,
        KEY,
        &[
            run(
                1,
                "support",
                T0 + 10 * MINUTE,
                2,
                "acme-large",
                (1_000, 200),
                Some(0.02),
            ),
            failed,
            run(
                3,
                "billing",
                T0 + 70 * MINUTE,
                1,
                "acme-large",
                (500, 100),
                Some(0.01),
            ),
            run(
                4,
                "support",
                T0 + 300 * MINUTE,
                1,
                "acme-large",
                (7, 7),
                Some(7.0),
            ),
            run(
                5,
                "recent",
                now() - 60 * MINUTE,
                3,
                "acme-small",
                (1, 1),
                None,
            ),
        ],
    );
}

#[test]
fn totals_series_and_breakdowns() {
    let server = Server::start();
    load(&server);
    let s = stats(&server, &RANGE);

    assert_eq!(
        (s["from"].as_u64(), s["to"].as_u64()),
        (Some(T0), Some(T0 + 120 * MINUTE))
    );
    assert_eq!(s["from_time"], "2025-01-01T00:00:00Z");
    assert_eq!(s["to_time"], "2025-01-01T02:00:00Z");
    assert_eq!(s["bucket_seconds"], 3_600);

    let t = &s["totals"];
    assert_eq!((&t["runs"], &t["errors"]), (&json!(3), &json!(1)));
    assert!(close(&t["error_rate"], 1.0 / 3.0), "{t}");
    // Durations 1 s, 2 s, 4 s by nearest rank.
    assert_eq!(
        (&t["p50_ms"], &t["p95_ms"], &t["p99_ms"]),
        (&json!(2_000.0), &json!(4_000.0), &json!(4_000.0))
    );
    assert_eq!(
        (&t["input_tokens"], &t["output_tokens"], &t["total_tokens"]),
        (&json!(1_600), &json!(350), &json!(1_950))
    );
    assert!(close(&t["cost_usd"], 0.03), "{t}");

    let series = s["series"].as_array().unwrap();
    let rows: Vec<_> = series
        .iter()
        .map(|b| {
            (
                b["start_time"].as_str().unwrap(),
                b["runs"].as_u64().unwrap(),
                b["errors"].as_u64().unwrap(),
                b["total_tokens"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("2025-01-01T00:00:00Z", 2, 1, 1_350),
            ("2025-01-01T01:00:00Z", 1, 0, 600)
        ]
    );
    assert_eq!(series[1]["start"].as_u64(), Some(T0 + 60 * MINUTE));
    assert_eq!(
        (&series[0]["p50_ms"], &series[0]["p95_ms"]),
        (&json!(2_000.0), &json!(4_000.0))
    );
    assert!(close(&series[1]["cost_usd"], 0.01));

    let agents: Vec<_> = s["by_agent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["agent"].as_str().unwrap(),
                a["runs"].as_u64().unwrap(),
                a["errors"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(agents, [("support", 2, 1), ("billing", 1, 0)]);
    assert_eq!(s["by_agent"][0]["error_rate"], 0.5);
    assert!(close(&s["by_agent"][1]["cost_usd"], 0.01));

    let models = s["by_model"].as_array().unwrap();
    assert_eq!(models.len(), 2, "{models:?}");
    let large = &models[0];
    assert_eq!(
        (
            &large["model"],
            &large["provider"],
            &large["calls"],
            &large["runs"]
        ),
        (&json!("acme-large"), &json!("openai"), &json!(2), &json!(2))
    );
    assert_eq!(
        (
            &large["input_tokens"],
            &large["output_tokens"],
            &large["total_tokens"]
        ),
        (&json!(1_500), &json!(300), &json!(1_800))
    );
    assert!(close(&large["cost_usd"], 0.03));
    assert_eq!(
        (&models[1]["model"], &models[1]["total_tokens"]),
        (&json!("acme-small"), &json!(150))
    );
    assert_eq!(models[1]["cost_usd"], Value::Null);

    // The run's own summary carries the same split.
    let run = server.api(&format!("/api/v1/runs/{}", "01".repeat(16)));
    let by = &run["run"]["usage_by_model"];
    assert_eq!(
        (&by[0]["model"], &by[0]["calls"], &by[0]["total_tokens"]),
        (&json!("acme-large"), &json!(1), &json!(1_200))
    );
}

#[test]
fn runs_without_an_agent_are_one_group_that_its_query_finds() {
    let server = Server::start();
    load(&server);
    let plain = TestRun {
        seed: 9,
        agent: "",
        start: T0 + 30 * MINUTE,
        seconds: 1,
        failed: false,
        model: "acme-small",
        tokens: (1, 1),
        cost: None,
    };
    send(&server, KEY, &[plain]);
    let s = stats(&server, &RANGE);
    let agents = s["by_agent"].as_array().unwrap();
    assert_eq!(agents.len(), 3, "{agents:?}");
    assert_eq!(
        agents[2]["agent"],
        Value::Null,
        "not under its name, POST /chat"
    );
    assert_eq!(agents[2]["runs"], 1);
    // Each row's count is what the runs list finds with the row's query, over the same range.
    for a in agents {
        let q = match a["agent"].as_str() {
            Some(agent) => format!("agent:{agent}"),
            None => "-has:agent".into(),
        };
        let found = server.all_runs(&format!(
            "{q} since:2025-01-01T00:00:00Z until:2025-01-01T02:00:00Z"
        ));
        assert_eq!(found.len() as u64, a["runs"].as_u64().unwrap(), "{q}");
    }
}

#[test]
fn filters_and_default_ranges() {
    let server = Server::start();
    load(&server);

    let billing = stats(&server, &with_range(&[("q", "agent:billing")]));
    assert_eq!(billing["totals"]["runs"], 1);
    assert_eq!(billing["series"][0]["runs"], 0);
    assert_eq!(billing["by_agent"].as_array().unwrap().len(), 1);
    let failed = stats(&server, &with_range(&[("q", "status:error")]));
    assert_eq!(
        (&failed["totals"]["runs"], &failed["totals"]["errors"]),
        (&json!(1), &json!(1))
    );
    assert_eq!(failed["by_model"][0]["model"], "acme-small");

    // Without a range: the last 24 hours, in buckets chosen to be few.
    let recent = stats(&server, &[]);
    assert_eq!(recent["totals"]["runs"], 1);
    assert_eq!(recent["by_agent"][0]["agent"], "recent");
    assert_eq!(recent["bucket_seconds"], 1_800);
    let series = recent["series"].as_array().unwrap();
    assert!((48..=49).contains(&series.len()), "{}", series.len());
    assert_eq!(
        series
            .iter()
            .map(|b| b["runs"].as_u64().unwrap())
            .sum::<u64>(),
        1
    );
    let span = recent["to"].as_u64().unwrap() - recent["from"].as_u64().unwrap();
    assert_eq!(span, 24 * 60 * MINUTE);

    // Relative times mean "ago".
    assert_eq!(stats(&server, &[("from", "2h")])["totals"]["runs"], 1);
    assert_eq!(
        stats(&server, &[("from", "2h"), ("to", "90m")])["totals"]["runs"],
        0
    );
    assert_eq!(
        stats(&server, &[("from", "2024-12-31"), ("to", "2025-01-02")])["totals"]["runs"],
        4
    );
}

#[test]
fn bad_parameters_are_400_with_what_to_send() {
    let server = Server::start();
    for (params, hints) in [
        (
            vec![("from", "yesterday")],
            vec!["from must be", "RFC 3339", "24h"],
        ),
        (vec![("to", "12")], vec!["to must be"]),
        (
            vec![("bucket", "soon")],
            vec!["bucket must be a duration", "5m"],
        ),
        (vec![("bucket", "0s")], vec!["at least 1s"]),
        (
            vec![("from", "1h"), ("to", "2h")],
            vec!["must be before to"],
        ),
        (
            vec![
                ("from", "2025-01-01T00:00:00Z"),
                ("to", "2025-01-01T00:00:00Z"),
            ],
            vec!["must be before to"],
        ),
        (
            vec![("from", RANGE[0].1), ("to", RANGE[1].1), ("bucket", "1s")],
            vec!["7200 buckets", "1000", "bucket=1m"],
        ),
        (with_range(&[("bucket", "1m")]), vec!["duplicate", "bucket"]),
        (
            vec![("q", "status:nope")],
            vec!["position 7", "ok, error or unset"],
        ),
        (vec![("q", "attr.x=1")], vec!["attr.*"]),
    ] {
        let (status, body) = stats_with(&server, Some(KEY), &params);
        assert_eq!(status, 400, "{params:?}: {body}");
        assert_eq!(body["error"]["code"], "bad_request");
        let message = body["error"]["message"].as_str().unwrap();
        for hint in hints {
            assert!(
                message.contains(hint),
                "{params:?}: {message:?} lacks {hint:?}"
            );
        }
    }
}

#[test]
fn keys_are_required_and_projects_are_isolated() {
    let server = Server::start();
    load(&server);
    assert_eq!(stats_with(&server, None, &RANGE).0, 401);
    assert_eq!(stats_with(&server, Some("lm_not-a-key"), &RANGE).0, 401);

    let (ok, out, err) = server.cli(&["projects", "create", "other"]);
    assert!(ok, "{err}");
    let (ok, out2, err) = server.cli(&["keys", "create", "--project", "other"]);
    assert!(ok, "{out}{err}");
    let other = key_from_output(&out2);
    send(
        &server,
        &other,
        &[TestRun {
            seed: 9,
            agent: "support",
            start: T0 + 30 * MINUTE,
            seconds: 9,
            failed: false,
            model: "acme-large",
            tokens: (9_000, 1_000),
            cost: Some(9.0),
        }],
    );

    let (status, theirs) = stats_with(&server, Some(&other), &RANGE);
    assert_eq!(status, 200, "{theirs}");
    assert_eq!(
        (&theirs["totals"]["runs"], &theirs["totals"]["total_tokens"]),
        (&json!(1), &json!(10_000))
    );
    assert_eq!(theirs["by_model"][0]["calls"], 1);
    let mine = stats(&server, &RANGE);
    assert_eq!(
        (&mine["totals"]["runs"], &mine["totals"]["total_tokens"]),
        (&json!(3), &json!(1_950))
    );
    assert_eq!(mine["by_agent"][0]["runs"], 2);
}
