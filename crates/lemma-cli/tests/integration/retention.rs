//! Retention against a real server: a project's runs older than it keeps are deleted by the
//! server's pass, with their metric events, and nothing of another project or newer.

use crate::common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::otlp::{hex, request, string_attr};
use common::{client, fixtures, key_from_output, Server, KEY};
use opentelemetry_proto::tonic::trace::v1::Span;
use serde_json::{json, Value};

fn fresh_run() -> Vec<Span> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    vec![Span {
        trace_id: vec![0xee; 16],
        span_id: vec![0xee; 8],
        name: "invoke_agent fresh".into(),
        start_time_unix_nano: now - 1_000_000_000,
        end_time_unix_nano: now,
        attributes: vec![string_attr("gen_ai.agent.name", "fresh")],
        ..Default::default()
    }]
}

fn put_retention(server: &Server, key: &str, body: Value) -> (u16, Value) {
    let resp = client()
        .put(server.url("/api/v1/project/retention"))
        .bearer_auth(key)
        .json(&body)
        .send()
        .unwrap();
    (resp.status().as_u16(), resp.json().unwrap_or(Value::Null))
}

#[test]
fn old_runs_go_with_their_metric_events_and_nothing_else_does() {
    let server = Server::start_with(&["--retention-interval", "1"]);
    fixtures::load_all_http(&server);
    let resp = fixtures::send_protobuf(&server, &request(fresh_run()));
    assert_eq!(resp.status(), 200);
    let old = server.all_runs("-agent:fresh");
    assert!(old.len() > 3);
    let one = old[0]["run_id"].as_str().unwrap().to_string();
    let (ok, _, err) = server.cli(&["metric", &one, "resolved", "true"]);
    assert!(ok, "{err}");
    // Another project with an old run, and no retention.
    let (ok, _, err) = server.cli(&["projects", "create", "other"]);
    assert!(ok, "{err}");
    let (ok, out, err) = server.cli(&["keys", "create", "--project", "other"]);
    assert!(ok, "{err}");
    let other = key_from_output(&out);
    let recorded = &fixtures::load("openllmetry")[0];
    let resp = common::client()
        .post(server.url("/v1/traces"))
        .bearer_auth(&other)
        .header("content-type", "application/x-protobuf")
        .body(prost::Message::encode_to_vec(&recorded.message()))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);

    assert_eq!(
        server.api("/api/v1/project")["project"]["retention_days"],
        Value::Null
    );
    // The recorded runs are days old (shared/fixtures), the fresh one seconds.
    let day = 86_400_000_000_000u64;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    assert!(old
        .iter()
        .all(|r| r["start_time_unix_nano"].as_u64().unwrap() < now - day));
    let (status, body) = put_retention(&server, KEY, json!({"days": 1}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["project"]["retention_days"], 1);

    // The next pass deletes what started more than a day ago: every recorded run.
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.all_runs("").len() > 1 {
        assert!(Instant::now() < deadline, "old runs still there");
        std::thread::sleep(Duration::from_millis(200));
    }
    let left = server.all_runs("");
    assert_eq!(left[0]["run_id"], hex(&[0xee; 16]), "the fresh run stays");
    assert_eq!(
        server.api(&format!("/api/v1/runs/{one}/metrics"))["metrics"],
        json!([]),
        "metric events go with their run"
    );
    let (status, body) = server.get_with("/api/v1/runs", &other);
    assert_eq!(status, 200);
    assert_eq!(
        body["runs"].as_array().unwrap().len(),
        1,
        "another project keeps its runs"
    );

    // The CLI shows and changes the same setting.
    let (ok, out, err) = server.cli(&["projects", "retention", "default"]);
    assert!(ok, "{err}");
    assert!(out.contains("keeps runs for 1 day"), "{out}");
    let (ok, out, err) = server.cli(&["projects", "retention", "default", "--forever"]);
    assert!(ok, "{err}");
    assert!(out.contains("keeps runs forever"), "{out}");
    assert_eq!(
        server.api("/api/v1/project")["project"]["retention_days"],
        Value::Null
    );
}

#[test]
fn a_retention_that_is_not_a_number_of_days_is_refused() {
    let server = Server::start();
    for body in [
        json!({"days": 0}),
        json!({"days": "30"}),
        json!({"dayz": 30}),
        json!({"days": 100001}),
    ] {
        let (status, answer) = put_retention(&server, KEY, body.clone());
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(
            answer["error"]["message"].as_str().unwrap().len() > 10,
            "{answer}"
        );
    }
    let resp = client()
        .put(server.url("/api/v1/project/retention"))
        .json(&json!({"days": 3}))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(
        server.api("/api/v1/project")["project"]["retention_days"],
        Value::Null
    );
    let (ok, _, err) = server.cli(&["projects", "retention", "default", "--days", "0"]);
    assert!(!ok);
    assert!(err.contains("at least 1 day"), "{err}");
}
