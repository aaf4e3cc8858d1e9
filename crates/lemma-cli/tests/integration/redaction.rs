//! Redaction rules against real servers: what a rule matches is never stored, so no read path
//! (REST, full-text search, values, MCP, export, a forwarding target) returns it; a preview
//! changes nothing; counts survive a restart; bad rules get a clear 400.

use crate::common;

use std::time::{Duration, Instant};

use common::{client, Server, KEY};
use serde_json::{json, Value};

const EMAIL: &str = "ada.lovelace@example.com";
const CARD: &str = "4111 1111 1111 1111";
const API_KEY: &str = "sk-proj-Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1";
const PHONE: &str = "+44 20 7946 0958";
const TICKET: &str = "TCK-12345";
const PASSWORD: &str = "hunter2-correct-horse";
const BEARER: &str = "abcdefghijklmnopqrstuvwxyz";

/// Every text the rules below remove.
const SECRETS: [&str; 7] = [EMAIL, CARD, API_KEY, "7946 0958", TICKET, PASSWORD, BEARER];

fn rules() -> Value {
    json!({
        "detectors": ["email", "card", "secret", "phone"],
        "patterns": [{"name": "ticket", "regex": "TCK-\\d{5}"}],
        "drop_keys": ["password", "http.request.header.*"],
    })
}

fn str_attr(key: &str, value: &str) -> Value {
    json!({"key": key, "value": {"stringValue": value}})
}

/// A two-span run (an agent and a tool call) carrying each secret somewhere, as OTLP JSON.
fn run(trace: &str) -> Value {
    let input = json!([{"role": "user", "content": format!("I am {EMAIL}, card {CARD}")}]);
    let root = json!({
        "traceId": trace, "spanId": "00000000000000a1",
        "name": format!("support for {EMAIL}"),
        "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000002000000000",
        "attributes": [
            str_attr("openinference.span.kind", "AGENT"),
            str_attr("gen_ai.agent.name", "support"),
            str_attr("user.id", EMAIL),
            str_attr("input.value", &input.to_string()),
            str_attr("input.mime_type", "application/json"),
            str_attr("output.value", &format!("Ticket {TICKET} is open; call {PHONE}")),
        ],
    });
    let tool = json!({
        "traceId": trace, "spanId": "00000000000000a2", "parentSpanId": "00000000000000a1",
        "name": "execute_tool lookup",
        "startTimeUnixNano": "1700000000500000000", "endTimeUnixNano": "1700000001000000000",
        "attributes": [
            str_attr("gen_ai.operation.name", "execute_tool"),
            str_attr("gen_ai.tool.name", "lookup"),
            str_attr("gen_ai.tool.call.arguments", &json!({"api_key": API_KEY}).to_string()),
            str_attr("password", PASSWORD),
            str_attr("http.request.header.authorization", &format!("Bearer {BEARER}")),
        ],
        "events": [{"name": "exception", "timeUnixNano": "1700000000900000000",
                    "attributes": [str_attr("exception.message", &format!("key {API_KEY} refused"))]}],
        "status": {"code": 2, "message": "refused"},
    });
    json!({"resourceSpans": [{
        "resource": {"attributes": [str_attr("service.name", "support"), str_attr("owner", EMAIL)]},
        "scopeSpans": [{"spans": [root, tool]}],
    }]})
}

fn log_of(trace: &str) -> Value {
    json!({"resourceLogs": [{"scopeLogs": [{"logRecords": [{
        "timeUnixNano": "1700000001500000000", "traceId": trace, "spanId": "00000000000000a1",
        "body": {"stringValue": format!("caller left {PHONE}")},
    }]}]}]})
}

fn post(server: &Server, path: &str, body: &Value) -> (u16, Value) {
    let resp = client()
        .post(server.url(path))
        .bearer_auth(KEY)
        .json(body)
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

fn put_rules(server: &Server, rules: &Value) -> (u16, Value) {
    let resp = client()
        .put(server.url("/api/v1/project/redaction"))
        .bearer_auth(KEY)
        .json(rules)
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().unwrap())
}

/// Sends one run, its log record and a metric event.
fn send(server: &Server, trace: &str) {
    assert_eq!(post(server, "/v1/traces", &run(trace)).0, 200);
    assert_eq!(post(server, "/v1/logs", &log_of(trace)).0, 200);
    let metric = json!({"name": "feedback", "value": format!("mail {EMAIL}"),
                        "comment": format!("card {CARD} declined")});
    let (status, body) = post(server, &format!("/api/v1/runs/{trace}/metrics"), &metric);
    assert_eq!(status, 201, "{body}");
}

/// Every read path's answer about the run, as text.
fn read_everything(server: &Server, trace: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for path in [
        format!("/api/v1/runs/{trace}"),
        format!("/api/v1/runs/{trace}/spans?limit=500"),
        format!("/api/v1/runs/{trace}/spans/00000000000000a2"),
        format!("/api/v1/runs/{trace}/transcript"),
        format!("/api/v1/runs/{trace}/outline"),
        format!("/api/v1/runs/{trace}/metrics"),
        format!("/api/v1/runs?q=run:{trace}"),
        format!("/api/v1/spans?q=run:{trace}"),
        format!("/api/v1/threads?q=run:{trace}"),
        format!("/api/v1/values?field=user&q=run:{trace}"),
    ] {
        let (status, body) = server.get(&path);
        assert_eq!(status, 200, "{path}: {body}");
        out.push((path, body.to_string()));
    }
    out.push((
        "mcp get_run".into(),
        common::mcp_tool(server, "get_run", json!({"run_id": trace})),
    ));
    let (ok, stdout, stderr) =
        server.cli(&["export", "--format", "jsonl", &format!("run:{trace}")]);
    assert!(ok, "{stderr}");
    out.push(("lemma export".into(), stdout));
    out
}

fn assert_no_secret(answers: &[(String, String)]) {
    for (what, text) in answers {
        for secret in SECRETS {
            assert!(!text.contains(secret), "{what} returns {secret:?}: {text}");
        }
    }
}

fn runs_found(server: &Server, q: &str) -> Vec<String> {
    server
        .all_runs(q)
        .iter()
        .map(|r| r["run_id"].as_str().unwrap().to_string())
        .collect()
}

fn counts(server: &Server) -> Value {
    let body = server.api("/api/v1/project/redaction");
    let mut by_rule = serde_json::Map::new();
    for c in body["counts"]["by_rule"].as_array().unwrap() {
        by_rule.insert(c["rule"].as_str().unwrap().into(), c["count"].clone());
    }
    Value::Object(by_rule)
}

#[test]
fn nothing_redacted_reads_back_through_any_interface() {
    let tmp = tempfile::tempdir().unwrap();
    let target_addr = common::free_addr();
    let target = Server::start_at(&tmp.path().join("target"), &target_addr, &[]);
    let url = format!("http://{target_addr}/v1/traces");
    let header = format!("authorization=Bearer {KEY}");
    let source_dir = tmp.path().join("source");
    let forwarding = ["--forward-otlp", url.as_str(), "--forward-header", &header];
    let mut server = Server::start_in(&source_dir, &forwarding);
    let before = "11111111111111111111111111111111";
    let after = "22222222222222222222222222222222";

    // Before any rule: stored as sent.
    send(&server, before);
    assert_eq!(
        server.api(&format!("/api/v1/runs/{before}"))["run"]["user_id"],
        EMAIL
    );

    // A preview shows what the rules would change, and changes nothing.
    let (status, preview) = post(&server, "/api/v1/project/redaction/preview", &rules());
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["spans_checked"], 2);
    assert_eq!(preview["spans_changed"], 2);
    let user = preview["examples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["field"] == "attributes.user.id")
        .expect("the user id is an example");
    assert_eq!(user["before"], EMAIL);
    assert_eq!(user["after"], "[REDACTED:email]");
    let dropped = preview["examples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["field"] == "attributes.password")
        .expect("the dropped key is an example");
    assert_eq!(dropped["after"], Value::Null);
    assert_eq!(
        server.api(&format!("/api/v1/runs/{before}"))["run"]["user_id"],
        EMAIL
    );
    assert_eq!(
        server.api("/api/v1/project/redaction")["rules"],
        json!({"detectors": [], "patterns": [], "drop_keys": []})
    );

    // With the rules: nothing they match is stored.
    let (status, body) = put_rules(&server, &rules());
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rules"], rules());
    send(&server, after);
    let answers = read_everything(&server, after);
    assert_no_secret(&answers);
    let stored = server.api(&format!("/api/v1/runs/{after}"));
    assert_eq!(stored["run"]["user_id"], "[REDACTED:email]");
    let spans = server.api(&format!("/api/v1/runs/{after}/spans?limit=500"))["spans"].clone();
    let tool = spans
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "execute_tool lookup")
        .unwrap();
    assert!(
        tool["attributes"].get("password").is_none(),
        "dropped: {tool}"
    );
    assert!(tool["attributes"]
        .get("http.request.header.authorization")
        .is_none());
    assert_eq!(tool["tool_args"], json!({"api_key": "[REDACTED:secret]"}));
    let text = answers.iter().map(|(_, t)| t.as_str()).collect::<String>();
    for placeholder in [
        "[REDACTED:email]",
        "[REDACTED:card]",
        "[REDACTED:secret]",
        "[REDACTED:phone]",
        "[REDACTED:ticket]",
    ] {
        assert!(
            text.contains(placeholder),
            "{placeholder} is what reads back"
        );
    }

    // Full-text search finds the run stored before the rules, never the one after.
    assert_eq!(runs_found(&server, "lovelace"), vec![before.to_string()]);
    assert_eq!(
        runs_found(&server, "\"TCK-12345\""),
        vec![before.to_string()]
    );
    assert!(runs_found(&server, "redacted").contains(&after.to_string()));

    // The forwarding target received the redacted spans, not the ones as sent.
    let deadline = Instant::now() + Duration::from_secs(30);
    while target.get(&format!("/api/v1/runs/{after}")).0 != 200 {
        assert!(Instant::now() < deadline, "the run was not forwarded");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (_, forwarded) = target.get(&format!("/api/v1/runs/{after}/spans?limit=500"));
    assert_eq!(forwarded["spans"].as_array().unwrap().len(), 2);
    assert_no_secret(&[("forwarded spans".into(), forwarded.to_string())]);

    // Each redaction counted, under its rule; the counts survive a restart.
    let want = json!({"card": 2, "drop_keys": 2, "email": 6, "phone": 2, "secret": 2, "ticket": 1});
    assert_eq!(counts(&server), want);
    server.stop();
    let server = Server::start_in(&source_dir, &forwarding);
    assert_eq!(counts(&server), want, "flushed at shutdown");

    // `{}` turns redaction off.
    let (status, _) = put_rules(&server, &json!({}));
    assert_eq!(status, 200);
    let third = "33333333333333333333333333333333";
    assert_eq!(post(&server, "/v1/traces", &run(third)).0, 200);
    assert_eq!(
        server.api(&format!("/api/v1/runs/{third}"))["run"]["user_id"],
        EMAIL
    );
}

#[test]
fn bad_rules_get_a_clear_400_and_change_nothing() {
    let server = Server::start();
    assert_eq!(put_rules(&server, &rules()).0, 200);
    for (rules, says) in [
        (json!({"detectors": ["ssn"]}), "unknown variant `ssn`"),
        (
            json!({"patterns": [{"name": "x", "regex": "(unclosed"}]}),
            "pattern \"x\"",
        ),
        (
            json!({"patterns": [{"name": "x", "regex": ".*"}]}),
            "matches empty text",
        ),
        (
            json!({"patterns": [{"name": "email", "regex": "a"}]}),
            "built-in",
        ),
        (json!({"drop_keys": [""]}), "drop_keys"),
        (json!({"detector": ["email"]}), "unknown field `detector`"),
        (json!(["email"]), "expected redaction rules"),
    ] {
        let (status, body) = put_rules(&server, &rules);
        assert_eq!(status, 400, "{rules}: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{rules}: {message}");
        let (status, body) = post(&server, "/api/v1/project/redaction/preview", &rules);
        assert_eq!(status, 400, "preview {rules}: {body}");
    }
    assert_eq!(server.api("/api/v1/project/redaction")["rules"], rules());

    // Without a key: 401, before the body is read.
    let resp = client()
        .put(server.url("/api/v1/project/redaction"))
        .json(&json!({}))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 401);
}

#[test]
fn the_cli_shows_and_replaces_a_projects_rules() {
    let mut server = Server::start();
    server.stop();
    let (ok, out, err) = server.cli(&["projects", "redaction", "default"]);
    assert!(ok, "{err}");
    assert!(out.contains("redacts nothing"), "{out}");
    let (ok, out, err) = server.cli(&[
        "projects",
        "redaction",
        "default",
        "--detect",
        "email,secret",
        "--pattern",
        "order=ORD-\\d{6}",
        "--drop-key",
        "password",
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains("email") && out.contains("/ORD-\\d{6}/") && out.contains("password"),
        "{out}"
    );
    let (ok, _, err) = server.cli(&["projects", "redaction", "default", "--pattern", "bad=("]);
    assert!(!ok);
    assert!(err.contains("pattern \"bad\""), "{err}");
    let (ok, _, err) = server.cli(&["projects", "redaction", "default", "--detect", "ssn"]);
    assert!(!ok);
    assert!(
        err.contains("choose from email, card, secret, phone"),
        "{err}"
    );

    let server = Server::start_in(&server.data_dir, &[]);
    let rules = server.api("/api/v1/project/redaction")["rules"].clone();
    assert_eq!(rules["detectors"], json!(["email", "secret"]));
    assert_eq!(
        rules["patterns"],
        json!([{"name": "order", "regex": "ORD-\\d{6}"}])
    );
    let (ok, out, _) = server.cli(&["projects", "redaction", "default", "--off"]);
    assert!(ok && out.contains("redacts nothing"), "{out}");
}
