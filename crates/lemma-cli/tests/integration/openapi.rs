//! The OpenAPI document at `GET /api/v1/openapi.json`, against a real server: it is valid
//! OpenAPI 3.1 (checked by openapi-spec-validator, which `scripts/openapi-setup` installs),
//! every operation it documents is served with its method and its documented authentication,
//! every route the server's source registers is in it, and real answers of every operation
//! (successes and errors) match their documented schemas, field for field
//! (`tests/openapi/answers.py`).

use crate::common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::programs::{repo_root, require_setup, run_to_end};
use common::Server;
use serde_json::Value;

const DOCUMENT: &str = "/api/v1/openapi.json";
const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

/// The dashboard's pages and files: HTML and assets for a browser, not an API.
const UNDOCUMENTED_SOURCES: [&str; 1] = ["web.rs"];

/// The document, fetched without a key: it holds no project data.
fn document(server: &Server) -> (String, Value) {
    let response = common::client().get(server.url(DOCUMENT)).send().unwrap();
    assert_eq!(response.status().as_u16(), 200, "{DOCUMENT} without a key");
    let text = response.text().unwrap();
    let doc: Value = serde_json::from_str(&text).expect("the document is JSON");
    (text, doc)
}

/// `(path, method)` for every operation documented.
fn operations(doc: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method).is_some() {
                out.push((path.clone(), method.to_string()));
            }
        }
    }
    out
}

/// A concrete URL path for a templated one: parameters in the forms the handlers accept.
fn concrete(path: &str) -> String {
    path.replace("{run_id}", "0123456789abcdef0123456789abcdef")
        .replace("{span_id}", "0123456789abcdef")
        .replace("{thread_id}", "t-1")
        .replace("{model}", "gpt-test")
}

/// Sends `method` to `path` (with the key when `key`), a JSON `{}` body on methods that take one.
fn send(server: &Server, method: &str, path: &str, key: bool) -> (u16, String) {
    let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    let mut request = common::client()
        .request(method.clone(), server.url(&concrete(path)))
        .timeout(Duration::from_secs(30));
    if key {
        request = request.bearer_auth(common::KEY);
    }
    if matches!(method.as_str(), "POST" | "PUT" | "PATCH") {
        request = request
            .header("content-type", "application/json")
            .body("{}");
    }
    let response = request.send().unwrap();
    let status = response.status().as_u16();
    (status, response.text().unwrap_or_default())
}

/// What the router's fallback answers for a path it has no route for.
fn no_route(status: u16, body: &str) -> bool {
    status == 404 && body.contains("no route")
}

#[test]
fn the_document_is_valid_openapi_3_1() {
    require_setup("openapi-setup", "openapi-spec-validator");
    let server = Server::start();
    let (text, doc) = document(&server);
    assert_eq!(doc["openapi"], "3.1.0");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, text).unwrap();
    let mut command = Command::new(repo_root().join(".cache/openapi/venv/bin/python"));
    command.args([
        "-c",
        "import json, sys\n\
         from openapi_spec_validator import validate\n\
         from openapi_spec_validator.validation import OpenAPIV31SpecValidator\n\
         validate(json.load(open(sys.argv[1])), cls=OpenAPIV31SpecValidator)\n",
    ]);
    command.arg(&file);
    run_to_end(command, Duration::from_secs(120))
        .expect_success("openapi-spec-validator", Duration::from_secs(120));
}

#[test]
fn every_documented_operation_is_served_as_documented() {
    let server = Server::start();
    let (_, doc) = document(&server);
    let operations = operations(&doc);
    assert!(operations.len() >= 25, "{} operations", operations.len());
    let mut wrong = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            let (status, body) = send(&server, method, path, true);
            let Some(operation) = item.get(method) else {
                // A method the document does not name must not be served either.
                if status != 405 {
                    wrong.push(format!("{method} {path}: undocumented, answered {status}"));
                }
                continue;
            };
            if status == 405 || no_route(status, &body) {
                wrong.push(format!(
                    "{method} {path}: documented, answered {status} {body}"
                ));
                continue;
            }
            // Documented as public (`security: [{}]`) or as taking a key, and served so.
            let public = operation["security"] == serde_json::json!([{}]);
            let (status, _) = send(&server, method, path, false);
            if public == (status == 401) {
                wrong.push(format!(
                    "{method} {path}: documented {}, answered {status} without a key",
                    if public { "public" } else { "as taking a key" }
                ));
            }
            if !public && operation["responses"].get("401").is_none() {
                wrong.push(format!("{method} {path}: takes a key, 401 undocumented"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Route paths the server's source registers outside `routes!` (which documents what it
/// registers), by `.route("...")`, `.route_service("...")` or `.nest("...")`.
fn registered_paths(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            registered_paths(&path, out);
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".rs") || UNDOCUMENTED_SOURCES.contains(&name.as_str()) {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        for call in [".route(", ".route_service(", ".nest("] {
            for (at, _) in source.match_indices(call) {
                let rest = source[at + call.len()..].trim_start();
                if let Some(literal) = rest.strip_prefix('"') {
                    let end = literal.find('"').unwrap();
                    out.push((name.clone(), literal[..end].to_string()));
                } else {
                    out.push((name.clone(), format!("<not a literal: {}>", &rest[..20])));
                }
            }
        }
    }
}

#[test]
fn every_route_the_server_registers_is_documented() {
    let server = Server::start();
    let (_, doc) = document(&server);
    let mut registered = Vec::new();
    registered_paths(
        &repo_root().join("crates/lemma-server/src"),
        &mut registered,
    );
    assert!(
        registered.iter().any(|(_, p)| p == "/mcp"),
        "the scan finds the routes registered by hand: {registered:?}"
    );
    let missing: Vec<_> = registered
        .iter()
        .filter(|(_, path)| doc["paths"].get(path.as_str()).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "routes registered without being documented (register them with utoipa_axum's \
         routes!, or document them beside the registration): {missing:?}"
    );
}

/// A user's answers: a role given, a sign-in and the session it made.
fn signed_in_answers(server: &Server) -> Vec<Value> {
    let (ok, _, err) = server.cli_with_input(
        &["users", "create", "ada", "--password-stdin"],
        "a long enough password",
    );
    assert!(ok, "{err}");
    let role = answer(
        server,
        "put",
        "/api/v1/members/{user}",
        "/api/v1/members/ada",
        true,
        Some(serde_json::json!({"role": "viewer"})),
    );
    let resp = common::client()
        .post(server.url("/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "ada", "password": "a long enough password"}))
        .send()
        .unwrap();
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    let login = serde_json::json!({"method": "post", "path": "/api/v1/auth/login",
                                   "status": resp.status().as_u16(), "body": resp.json::<Value>().unwrap()});
    let resp = common::client()
        .get(server.url("/api/v1/auth/session"))
        .header("cookie", cookie.split(';').next().unwrap())
        .send()
        .unwrap();
    let session = serde_json::json!({"method": "get", "path": "/api/v1/auth/session",
                                     "status": resp.status().as_u16(), "body": resp.json::<Value>().unwrap()});
    vec![role, login, session]
}

/// A live proxy session, read back.
fn proxy_session_answer(server: &Server) -> Value {
    let session: Value = common::client()
        .post(server.url("/api/v1/proxy/sessions"))
        .bearer_auth(common::KEY)
        .json(&serde_json::json!({"thread_id": "t"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let token = session["token"].as_str().unwrap();
    answer(
        server,
        "get",
        "/api/v1/proxy/sessions/{token}",
        &format!("/api/v1/proxy/sessions/{token}"),
        true,
        None,
    )
}

/// One real answer, for `tests/openapi/answers.py`.
fn answer(
    server: &Server,
    method: &str,
    documented: &str,
    path: &str,
    key: bool,
    body: Option<Value>,
) -> Value {
    let method_name = method.to_uppercase();
    let mut request = common::client()
        .request(
            reqwest::Method::from_bytes(method_name.as_bytes()).unwrap(),
            server.url(path),
        )
        .timeout(Duration::from_secs(30));
    if key {
        request = request.bearer_auth(common::KEY);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().unwrap();
    let status = response.status().as_u16();
    let text = response.text().unwrap_or_default();
    let body: Value = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("{method_name} {path} answered {status} without JSON: {text}"));
    serde_json::json!({"method": method, "path": documented, "status": status, "body": body})
}

#[test]
fn every_answer_matches_its_documented_schema() {
    require_setup("openapi-setup", "openapi-spec-validator");
    let server = Server::start();
    common::fixtures::load_all_http(&server);
    let (text, doc) = document(&server);
    let runs = server.all_runs("");
    let long = &server.all_runs("agent:coding_agent")[0];
    let threaded = runs.iter().find(|r| r["thread_id"].is_string()).unwrap();
    let run = |r: &Value| r["run_id"].as_str().unwrap().to_string();
    let (long, threaded) = (run(long), run(threaded));
    let thread = threaded_thread(&server, &threaded);
    let root = server.api(&format!("/api/v1/runs/{threaded}"))["run"]["root_span_id"]
        .as_str()
        .unwrap()
        .to_string();
    let metric = serde_json::json!({"name": "resolved", "value": true, "comment": "yes"});

    // A channel and a rule to change, test and delete.
    let made = |path: &str, body: Value, field: &str| -> String {
        let resp = common::client()
            .post(server.url(path))
            .bearer_auth(common::KEY)
            .json(&body)
            .send()
            .unwrap();
        assert_eq!(resp.status(), 201);
        resp.json::<Value>().unwrap()[field]["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let hooks = common::receiver::Receiver::start(common::receiver::Mode::Accept);
    let ch = made(
        "/api/v1/alerts/channels",
        serde_json::json!({"name": "ops", "kind": "webhook", "url": hooks.url}),
        "channel",
    );
    let ar = made(
        "/api/v1/alerts/rules",
        serde_json::json!({"name": "r", "condition": {"type": "each_run"}}),
        "rule",
    );

    // (method, documented path, concrete path, with a key, body)
    let cases: Vec<(&str, &str, String, bool, Option<Value>)> = vec![
        (
            "get",
            "/api/v1/project",
            "/api/v1/project".into(),
            true,
            None,
        ),
        (
            "put",
            "/api/v1/project/retention",
            "/api/v1/project/retention".into(),
            true,
            Some(serde_json::json!({"days": 30})),
        ),
        (
            "put",
            "/api/v1/project/retention",
            "/api/v1/project/retention".into(),
            true,
            Some(serde_json::json!({"days": 0})),
        ),
        ("get", "/api/v1/keys", "/api/v1/keys".into(), true, None),
        (
            "post",
            "/api/v1/keys",
            "/api/v1/keys".into(),
            true,
            Some(serde_json::json!({"scope": "read"})),
        ),
        (
            "post",
            "/api/v1/keys",
            "/api/v1/keys".into(),
            true,
            Some(serde_json::json!({"scope": "root"})),
        ),
        (
            "delete",
            "/api/v1/keys/{key}",
            "/api/v1/keys/pk-lm-none".into(),
            true,
            None,
        ),
        (
            "get",
            "/api/v1/members",
            "/api/v1/members".into(),
            true,
            None,
        ),
        (
            "put",
            "/api/v1/members/{user}",
            "/api/v1/members/nobody".into(),
            true,
            Some(serde_json::json!({"role": "viewer"})),
        ),
        (
            "put",
            "/api/v1/members/{user}",
            "/api/v1/members/nobody".into(),
            true,
            Some(serde_json::json!({"role": "owner"})),
        ),
        (
            "delete",
            "/api/v1/members/{user}",
            "/api/v1/members/nobody".into(),
            true,
            None,
        ),
        (
            "post",
            "/api/v1/auth/login",
            "/api/v1/auth/login".into(),
            false,
            Some(serde_json::json!({"username": "nobody", "password": "not the password"})),
        ),
        (
            "post",
            "/api/v1/auth/login",
            "/api/v1/auth/login".into(),
            false,
            Some(serde_json::json!({"user": "nobody"})),
        ),
        (
            "get",
            "/api/v1/auth/session",
            "/api/v1/auth/session".into(),
            false,
            None,
        ),
        (
            "post",
            "/api/v1/auth/logout",
            "/api/v1/auth/logout".into(),
            false,
            None,
        ),
        (
            "post",
            "/api/v1/proxy/sessions",
            "/api/v1/proxy/sessions".into(),
            true,
            Some(
                serde_json::json!({"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "thread_id": "t", "ttl_seconds": 60}),
            ),
        ),
        (
            "post",
            "/api/v1/proxy/sessions",
            "/api/v1/proxy/sessions".into(),
            true,
            Some(serde_json::json!({"traceparent": "not one"})),
        ),
        (
            "get",
            "/api/v1/proxy/sessions/{token}",
            "/api/v1/proxy/sessions/lps_unknown".into(),
            true,
            None,
        ),
        (
            "delete",
            "/api/v1/proxy/sessions/{token}",
            "/api/v1/proxy/sessions/lps_unknown".into(),
            true,
            None,
        ),
        (
            "get",
            "/api/v1/runs/{run_id}/signals",
            format!("/api/v1/runs/{threaded}/signals"),
            true,
            None,
        ),
        (
            "get",
            "/api/v1/runs/{run_id}/signals",
            "/api/v1/runs/0123/signals".into(),
            true,
            None,
        ),
        (
            "get",
            "/api/v1/signals/settings",
            "/api/v1/signals/settings".into(),
            true,
            None,
        ),
        (
            "put",
            "/api/v1/signals/settings",
            "/api/v1/signals/settings".into(),
            true,
            Some(serde_json::json!({"error_streak": 4})),
        ),
        (
            "put",
            "/api/v1/signals/settings",
            "/api/v1/signals/settings".into(),
            true,
            Some(serde_json::json!({"error_streak": 1})),
        ),
        (
            "get",
            "/api/v1/stats/signals",
            "/api/v1/stats/signals?from=30d".into(),
            true,
            None,
        ),
        (
            "get",
            "/api/v1/stats/signals",
            "/api/v1/stats/signals?bucket=x".into(),
            true,
            None,
        ),
        (
            "post",
            "/api/v1/datasets",
            "/api/v1/datasets".into(),
            true,
            Some(
                serde_json::json!({"name": "docs", "cases": [{"id": "a", "input": "hi", "expected": "hello"}]}),
            ),
        ),
        (
            "post",
            "/api/v1/datasets",
            "/api/v1/datasets".into(),
            true,
            Some(serde_json::json!({"name": "bad", "cases": [{"id": "a"}]})),
        ),
        (
            "get",
            "/api/v1/datasets",
            "/api/v1/datasets".into(),
            true,
            None,
        ),
        (
            "get",
            "/api/v1/datasets/{name}",
            "/api/v1/datasets/docs".into(),
            true,
            None,
        ),
        (
            "get",
            "/api/v1/datasets/{name}",
            "/api/v1/datasets/none".into(),
            true,
            None,
        ),
        (
            "post",
            "/api/v1/datasets/{name}/cases",
            "/api/v1/datasets/docs/cases".into(),
            true,
            Some(serde_json::json!({"cases": [{"id": "b", "input": {"q": 1}}]})),
        ),
        (
            "put",
            "/api/v1/datasets/{name}",
            "/api/v1/datasets/docs".into(),
            true,
            Some(
                serde_json::json!({"cases": [{"id": "a", "input": "hi"}, {"id": "b", "input": "yo"}], "expected_version": 2}),
            ),
        ),
        (
            "put",
            "/api/v1/datasets/{name}",
            "/api/v1/datasets/docs".into(),
            true,
            Some(serde_json::json!({"cases": [{"id": "a", "input": "hi"}], "expected_version": 1})),
        ),
        (
            "delete",
            "/api/v1/datasets/{name}",
            "/api/v1/datasets/none".into(),
            true,
            None,
        ),
        (
            "post",
            "/api/v1/experiments",
            "/api/v1/experiments".into(),
            true,
            Some(serde_json::json!({"name": "e1", "dataset": "docs", "dataset_version": 1})),
        ),
        (
            "post",
            "/api/v1/experiments",
            "/api/v1/experiments".into(),
            true,
            Some(serde_json::json!({"name": "e2", "dataset": "docs"})),
        ),
        (
            "post",
            "/api/v1/experiments",
            "/api/v1/experiments".into(),
            true,
            Some(serde_json::json!({"name": "e2", "dataset": "docs"})),
        ),
        (
            "get",
            "/api/v1/experiments",
            "/api/v1/experiments".into(),
            true,
            None,
        ),
        (
            "post",
            "/api/v1/experiments/{name}/runs",
            "/api/v1/experiments/e1/runs".into(),
            true,
            Some(serde_json::json!({"runs": [{"case_id": "a", "run_id": threaded.clone()}]})),
        ),
        (
            "post",
            "/api/v1/experiments/{name}/runs",
            "/api/v1/experiments/e1/runs".into(),
            true,
            Some(serde_json::json!({"runs": [{"case_id": "zz", "run_id": "0123"}]})),
        ),
        (
            "post",
            "/api/v1/experiments/{name}/runs/from-query",
            "/api/v1/experiments/e2/runs/from-query".into(),
            true,
            Some(serde_json::json!({"query": format!("run:{threaded}")})),
        ),
        (
            "get",
            "/api/v1/experiments/{name}",
            "/api/v1/experiments/e1".into(),
            true,
            None,
        ),
        (
            "get",
            "/api/v1/experiments/{name}",
            "/api/v1/experiments/none".into(),
            true,
            None,
        ),
        (
            "get",
            "/api/v1/compare",
            "/api/v1/compare?experiments=e1,e2".into(),
            true,
            None,
        ),
        (
            "get",
            "/api/v1/compare",
            "/api/v1/compare?experiments=e1".into(),
            true,
            None,
        ),
        (
            "get",
            "/api/v1/alerts/rules",
            "/api/v1/alerts/rules".into(),
            true,
            None,
        ),
        (
            "post",
            "/api/v1/alerts/rules",
            "/api/v1/alerts/rules".into(),
            true,
            Some(
                serde_json::json!({"name": "loops", "query": "signal:loop", "condition": {"type": "each_run"}}),
            ),
        ),
        (
            "post",
            "/api/v1/alerts/rules",
            "/api/v1/alerts/rules".into(),
            true,
            Some(
                serde_json::json!({"name": "x", "condition": {"type": "window", "measure": "count", "op": ">", "threshold": 1, "window_secs": 1}}),
            ),
        ),
        (
            "put",
            "/api/v1/alerts/rules/{rule_id}",
            format!("/api/v1/alerts/rules/{ar}"),
            true,
            Some(serde_json::json!({"name": "x", "condition": {"type": "each_run"}})),
        ),
        (
            "delete",
            "/api/v1/alerts/rules/{rule_id}",
            "/api/v1/alerts/rules/ar_none".into(),
            true,
            None,
        ),
        (
            "get",
            "/api/v1/alerts/channels",
            "/api/v1/alerts/channels".into(),
            true,
            None,
        ),
        (
            "post",
            "/api/v1/alerts/channels",
            "/api/v1/alerts/channels".into(),
            true,
            Some(
                serde_json::json!({"name": "ops", "kind": "webhook", "url": "http://127.0.0.1:9/hook", "secret": "s"}),
            ),
        ),
        (
            "post",
            "/api/v1/alerts/channels",
            "/api/v1/alerts/channels".into(),
            true,
            Some(
                serde_json::json!({"name": "ops", "kind": "webhook", "url": "file:///etc/passwd"}),
            ),
        ),
        (
            "put",
            "/api/v1/alerts/channels/{channel_id}",
            format!("/api/v1/alerts/channels/{ch}"),
            true,
            Some(
                serde_json::json!({"name": "ops", "kind": "slack", "url": "https://hooks.example.com/x"}),
            ),
        ),
        (
            "post",
            "/api/v1/alerts/channels/{channel_id}/test",
            format!("/api/v1/alerts/channels/{ch}/test"),
            true,
            None,
        ),
        (
            "delete",
            "/api/v1/alerts/channels/{channel_id}",
            "/api/v1/alerts/channels/ch_none".into(),
            true,
            None,
        ),
        (
            "get",
            "/api/v1/alerts/events",
            "/api/v1/alerts/events?limit=5".into(),
            true,
            None,
        ),
        (
            "get",
            "/api/v1/alerts/events",
            "/api/v1/alerts/events?limit=0".into(),
            true,
            None,
        ),
        (
            "get",
            "/api/v1/auth/methods",
            "/api/v1/auth/methods".into(),
            false,
            None,
        ),
        (
            "get",
            "/api/v1/auth/oidc/start",
            "/api/v1/auth/oidc/start".into(),
            false,
            None,
        ),
        (
            "get",
            "/api/v1/ingestion",
            "/api/v1/ingestion".into(),
            true,
            None,
        ),
        (
            "get",
            "/api/v1/project/redaction",
            "/api/v1/project/redaction".into(),
            true,
            None,
        ),
        (
            "post",
            "/api/v1/project/redaction/preview",
            "/api/v1/project/redaction/preview".into(),
            true,
            Some(
                serde_json::json!({"detectors": ["email"], "patterns": [{"name": "agent", "regex": "agent"}], "drop_keys": ["service.*"]}),
            ),
        ),
        (
            "post",
            "/api/v1/project/redaction/preview",
            "/api/v1/project/redaction/preview".into(),
            true,
            Some(serde_json::json!({"patterns": [{"name": "x", "regex": "("}]})),
        ),
        (
            "put",
            "/api/v1/project/redaction",
            "/api/v1/project/redaction".into(),
            true,
            Some(serde_json::json!({"detectors": ["ssn"]})),
        ),
        (
            "put",
            "/api/v1/project/redaction",
            "/api/v1/project/redaction".into(),
            true,
            Some(serde_json::json!({"detectors": ["email", "card"], "drop_keys": ["password"]})),
        ),
        (
            "put",
            "/api/v1/project/redaction",
            "/api/v1/project/redaction".into(),
            true,
            Some(serde_json::json!({})),
        ),
        (
            "get",
            "/api/v1/runs",
            "/api/v1/runs?limit=5".into(),
            true,
            None,
        ),
        (
            "get",
            "/api/v1/runs",
            "/api/v1/runs?sort=cost&limit=2".into(),
            true,
            None,
        ),
        (
            "get",
            "/api/v1/runs",
            "/api/v1/runs?q=status:".into(),
            true,
            None,
        ),
        ("get", "/api/v1/runs", "/api/v1/runs".into(), false, None),
        (
            "post",
            "/api/v1/runs/{run_id}/metrics",
            format!("/api/v1/runs/{threaded}/metrics"),
            true,
            Some(metric),
        ),
        (
            "get",
            "/api/v1/runs/{run_id}/metrics",
            format!("/api/v1/runs/{threaded}/metrics"),
            true,
            None,
        ),
        (
            "get",
            "/api/v1/runs/{run_id}",
            format!("/api/v1/runs/{threaded}"),
            true,
            None,
        ),
        (
            "get",
            "/api/v1/runs/{run_id}",
            format!("/api/v1/runs/{}", "0".repeat(32)),
            true,
            None,
        ),
        (
            "get",
            "/api/v1/runs/{run_id}",
            "/api/v1/runs/not-an-id".into(),
            true,
            None,
        ),
        (
            "get",
            "/api/v1/runs/{run_id}/outline",
            format!("/api/v1/runs/{long}/outline?limit=50"),
            true,
            None,
        ),
        (
            "get",
            "/api/v1/runs/{run_id}/overview",
            format!("/api/v1/runs/{long}/overview"),
            true,
            None,
        ),
        (
            "get",
            "/api/v1/runs/{run_id}/find",
            format!("/api/v1/runs/{long}/find?q=kind:tool"),
            true,
            None,
        ),
        (
            "get",
            "/api/v1/runs/{run_id}/transcript",
            format!("/api/v1/runs/{long}/transcript?limit=5"),
            true,
            None,
        ),
        (
            "get",
            "/api/v1/runs/{run_id}/graph",
            format!("/api/v1/runs/{long}/graph"),
            true,
            None,
        ),
        (
            "get",
            "/api/v1/runs/{run_id}/spans",
            format!("/api/v1/runs/{long}/spans?offset=10&limit=5"),
            true,
            None,
        ),
        (
            "get",
            "/api/v1/runs/{run_id}/spans",
            format!("/api/v1/runs/{long}/spans?limit=501"),
            true,
            None,
        ),
        (
            "get",
            "/api/v1/runs/{run_id}/spans/{span_id}",
            format!("/api/v1/runs/{threaded}/spans/{root}"),
            true,
            None,
        ),
        (
            "get",
            "/api/v1/spans",
            "/api/v1/spans?q=kind:llm&limit=5".into(),
            true,
            None,
        ),
        (
            "get",
            "/api/v1/threads",
            "/api/v1/threads".into(),
            true,
            None,
        ),
        (
            "get",
            "/api/v1/threads/{thread_id}",
            format!("/api/v1/threads/{thread}"),
            true,
            None,
        ),
        (
            "get",
            "/api/v1/stats",
            "/api/v1/stats?from=2000-01-01T00:00:00Z&bucket=30d".into(),
            true,
            None,
        ),
        (
            "get",
            "/api/v1/stats",
            "/api/v1/stats?bucket=1s".into(),
            true,
            None,
        ),
        (
            "get",
            "/api/v1/values",
            "/api/v1/values?field=model".into(),
            true,
            None,
        ),
        (
            "get",
            "/api/v1/values",
            "/api/v1/values?field=nope".into(),
            true,
            None,
        ),
        (
            "put",
            "/api/v1/prices/{model}",
            "/api/v1/prices/acme-*".into(),
            true,
            Some(serde_json::json!({"input": 1.5, "output": 2})),
        ),
        ("get", "/api/v1/prices", "/api/v1/prices".into(), true, None),
        (
            "post",
            "/api/v1/prices/apply",
            "/api/v1/prices/apply".into(),
            true,
            None,
        ),
        (
            "delete",
            "/api/v1/prices/{model}",
            "/api/v1/prices/acme-*".into(),
            true,
            None,
        ),
        (
            "delete",
            "/api/v1/prices/{model}",
            "/api/v1/prices/acme-*".into(),
            true,
            None,
        ),
    ];
    let mut answers: Vec<Value> = cases
        .into_iter()
        .map(|(method, documented, path, key, body)| {
            answer(&server, method, documented, &path, key, body)
        })
        .collect();
    answers.extend(signed_in_answers(&server));
    answers.push(proxy_session_answer(&server));

    // Every documented operation that answers with JSON was asked, with a success among its
    // answers: a new route cannot be left out of this check.
    let exempt = [
        ("get", "/api/v1/openapi.json"),              // the document itself
        ("delete", "/api/v1/runs/{run_id}"),          // 204, no body
        ("post", "/api/v1/auth/logout"),              // 204
        ("delete", "/api/v1/keys/{key}"),             // 204
        ("delete", "/api/v1/members/{user}"),         // 204
        ("delete", "/api/v1/proxy/sessions/{token}"), // 204
        ("delete", "/api/v1/alerts/rules/{rule_id}"), // 204
        ("delete", "/api/v1/datasets/{name}"),        // 204
        ("delete", "/api/v1/alerts/channels/{channel_id}"), // 204
        // Redirects (303) of a browser signing in; tests/web/specs/oidc.test.mjs follows them.
        ("get", "/api/v1/auth/oidc/start"),
        ("get", "/api/v1/auth/oidc/callback"),
    ];
    let mut missing = Vec::new();
    for (path, method) in operations(&doc) {
        let api = path.starts_with("/api/v1/");
        if !api || exempt.contains(&(method.as_str(), path.as_str())) {
            continue;
        }
        let ok = answers.iter().any(|a| {
            a["method"] == method.as_str()
                && a["path"] == path.as_str()
                && (200..300).contains(&a["status"].as_u64().unwrap())
        });
        if !ok {
            missing.push(format!("{method} {path}"));
        }
    }
    assert!(
        missing.is_empty(),
        "operations without a checked answer: {missing:?}"
    );
    for status in [400, 401, 404] {
        assert!(
            answers.iter().any(|a| a["status"] == status),
            "no {status} answer checked"
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let document_file = dir.path().join("openapi.json");
    let answers_file = dir.path().join("answers.json");
    std::fs::write(&document_file, text).unwrap();
    std::fs::write(&answers_file, serde_json::to_vec(&answers).unwrap()).unwrap();
    let mut command = Command::new(repo_root().join(".cache/openapi/venv/bin/python"));
    command
        .arg(repo_root().join("tests/openapi/answers.py"))
        .args([&document_file, &answers_file]);
    run_to_end(command, Duration::from_secs(120))
        .expect_success("tests/openapi/answers.py", Duration::from_secs(120));
}

fn threaded_thread(server: &Server, run_id: &str) -> String {
    let run = server.api(&format!("/api/v1/runs/{run_id}"));
    run["run"]["thread_id"].as_str().unwrap().to_string()
}
