//! OTLP logs end to end: GenAI events sent as log records join their span, in any order and
//! over either transport.

use crate::common;

use common::otlp::{request, string_attr};
use common::{client, fixtures, Server, KEY};
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::{json, Value};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN: &str = "00f067aa0ba902b7";

fn bytes(hex_id: &str) -> Vec<u8> {
    (0..hex_id.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex_id[i..i + 2], 16).unwrap())
        .collect()
}

/// A GenAI per-message event as the v1.28–v1.36 instrumentations log it: content in the body.
fn event_json(name: &str, time: u64, body: Value) -> Value {
    json!({"timeUnixNano": time.to_string(), "eventName": name,
           "traceId": TRACE, "spanId": SPAN, "body": {"kvlistValue": {"values": kv(&body)}}})
}

fn kv(body: &Value) -> Vec<Value> {
    body.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let value = match v {
                Value::String(s) => json!({"stringValue": s}),
                Value::Number(n) => json!({"intValue": n.as_i64().unwrap()}),
                Value::Object(_) => json!({"kvlistValue": {"values": kv(v)}}),
                other => panic!("unsupported {other}"),
            };
            json!({"key": k, "value": value})
        })
        .collect()
}

fn logs_json(records: Vec<Value>) -> Value {
    json!({"resourceLogs": [{"scopeLogs": [{"scope": {"name": "opentelemetry.instrumentation.openai"},
        "logRecords": records}]}]})
}

fn post_json(server: &Server, body: &Value, key: &str) -> reqwest::blocking::Response {
    client()
        .post(server.url("/v1/logs"))
        .bearer_auth(key)
        .json(body)
        .send()
        .unwrap()
}

fn chat_span() -> Span {
    Span {
        trace_id: bytes(TRACE),
        span_id: bytes(SPAN),
        name: "chat gpt-4o-mini".into(),
        start_time_unix_nano: 1_000,
        end_time_unix_nano: 2_000,
        attributes: vec![
            string_attr("gen_ai.operation.name", "chat"),
            string_attr("gen_ai.request.model", "gpt-4o-mini"),
        ],
        ..Default::default()
    }
}

fn span_of_run(server: &Server) -> Value {
    let body = server.api(&format!("/api/v1/runs/{TRACE}"));
    body["spans"][0].clone()
}

#[test]
fn log_events_join_their_span_before_and_after_it_arrives() {
    let server = Server::start();
    // The prompt is logged before the span is exported, the choice after.
    let early = logs_json(vec![
        event_json(
            "gen_ai.system.message",
            1_100,
            json!({"content": "Be brief."}),
        ),
        event_json(
            "gen_ai.user.message",
            1_200,
            json!({"content": "Where is A-17?"}),
        ),
    ]);
    let resp = post_json(&server, &early, KEY);
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().unwrap(), json!({}));
    assert_eq!(
        fixtures::send_protobuf(&server, &request(vec![chat_span()])).status(),
        200
    );
    let choice = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord {
                    time_unix_nano: 1_900,
                    event_name: "gen_ai.choice".into(),
                    trace_id: bytes(TRACE),
                    span_id: bytes(SPAN),
                    body: Some(any_kv(
                        &[("index", "0"), ("finish_reason", "stop")],
                        "Shipped.",
                    )),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let resp = client()
        .post(server.url("/v1/logs"))
        .header("content-type", "application/x-protobuf")
        .bearer_auth(KEY)
        .body(choice.encode_to_vec())
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    // A retried export adds nothing.
    assert_eq!(post_json(&server, &early, KEY).status(), 200);

    let span = span_of_run(&server);
    let events: Vec<&str> = span["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["event_name"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "gen_ai.system.message",
            "gen_ai.user.message",
            "gen_ai.choice"
        ]
    );
    let roles: Vec<&str> = span["input_messages"]
        .as_array()
        .expect("input messages from log events")
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["system", "user"]);
    assert_eq!(
        span["input_messages"][1]["parts"][0],
        json!({"type": "text", "content": "Where is A-17?"})
    );
    let out = &span["output_messages"][0];
    assert_eq!(out["role"], "assistant");
    assert_eq!(out["finish_reason"], "stop");
    assert_eq!(out["parts"][0]["content"], "Shipped.");
}

/// `{index, finish_reason, message: {content}}` as an OTLP kvlist.
fn any_kv(
    fields: &[(&str, &str)],
    content: &str,
) -> opentelemetry_proto::tonic::common::v1::AnyValue {
    use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValueList};
    let mut values: Vec<_> = fields.iter().map(|(k, v)| string_attr(k, v)).collect();
    values.push(opentelemetry_proto::tonic::common::v1::KeyValue {
        key: "message".into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::KvlistValue(KeyValueList {
                values: vec![string_attr("content", content)],
            })),
        }),
        ..Default::default()
    });
    AnyValue {
        value: Some(any_value::Value::KvlistValue(KeyValueList { values })),
    }
}

#[test]
fn logs_over_grpc_and_records_without_a_span_are_kept() {
    let server = Server::start();
    fixtures::send_protobuf(&server, &request(vec![chat_span()]));
    let records = vec![
        LogRecord {
            time_unix_nano: 1_500,
            severity_text: "WARN".into(),
            body: Some(opentelemetry_proto::tonic::common::v1::AnyValue {
                value: Some(
                    opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(
                        "rate limited, retrying".into(),
                    ),
                ),
            }),
            trace_id: bytes(TRACE),
            span_id: bytes(SPAN),
            ..Default::default()
        },
        // No trace context at all: accepted and stored, joined to nothing.
        LogRecord {
            time_unix_nano: 1_600,
            ..Default::default()
        },
    ];
    let req = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let resp = fixtures::runtime().block_on(async {
        let mut client = LogsServiceClient::connect(server.grpc.clone())
            .await
            .unwrap()
            .send_compressed(tonic::codec::CompressionEncoding::Gzip);
        let mut r = tonic::Request::new(req.clone());
        r.metadata_mut()
            .insert("authorization", format!("Bearer {KEY}").parse().unwrap());
        let ok = client.export(r).await.map(|r| r.into_inner());
        let mut bad = tonic::Request::new(req);
        bad.metadata_mut()
            .insert("authorization", "Bearer wrong-key".parse().unwrap());
        (ok, client.export(bad).await)
    });
    assert!(resp.0.unwrap().partial_success.is_none());
    assert_eq!(resp.1.unwrap_err().code(), tonic::Code::Unauthenticated);
    let span = span_of_run(&server);
    assert_eq!(span["logs"].as_array().unwrap().len(), 1);
    assert_eq!(span["logs"][0]["body"], "rate limited, retrying");
    assert_eq!(span["logs"][0]["severity_text"], "WARN");
    assert!(span.get("input_messages").is_none_or(Value::is_null));
}

#[test]
fn bad_log_requests_get_clear_errors() {
    let server = Server::start();
    let resp = post_json(&server, &logs_json(vec![]), "wrong-key");
    assert_eq!(resp.status(), 401);
    let resp = client()
        .post(server.url("/v1/logs"))
        .bearer_auth(KEY)
        .header("content-type", "application/json")
        .body("{\"resourceLogs\": 7}")
        .send()
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.json::<Value>().unwrap()["message"]
        .as_str()
        .unwrap()
        .contains("invalid OTLP JSON"));
    // A malformed span id rejects that record alone, reported as OTLP partial success.
    let mut bad = event_json("gen_ai.user.message", 1, json!({"content": "x"}));
    bad["spanId"] = json!("00f0");
    let good = event_json("gen_ai.user.message", 2, json!({"content": "y"}));
    let resp = post_json(&server, &logs_json(vec![bad, good]), KEY);
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().unwrap();
    assert_eq!(body["partialSuccess"]["rejectedLogRecords"], "1");
}
