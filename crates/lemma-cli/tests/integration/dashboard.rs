//! The dashboard, end to end.
//!
//! The browser test starts a `lemma serve`, loads every HTTP fixture of `shared/fixtures/` (and
//! a run whose content is hostile markup), creates a second, empty project, then runs the
//! Playwright specs of `tests/web/` in Debian's Chromium against it. The specs are installed by
//! `scripts/web-setup`; without it the test fails, saying what to run.
//!
//! The other tests check what the server itself promises about the dashboard's files: the
//! pages' security headers, asset types and revalidation, and that the API keeps its own
//! answers.

use crate::common;

use std::process::Command;

use common::fixtures;
use common::otlp::{request, string_attr};
use common::programs::{repo_root, require_setup};
use common::{client, key_from_output, Server};
use opentelemetry_proto::tonic::trace::v1::{status, Span, Status};

const HOSTILE: &str = "<img src=x onerror=\"window.__pwned=1\">";
const HOSTILE_SCRIPT: &str = "<script>window.__pwned=2</script>";

/// A run whose every text field is markup that would run if the dashboard rendered it as HTML.
fn load_hostile_run(server: &Server) -> String {
    let trace_id: [u8; 16] = *b"hostile-run-0001";
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let messages = serde_json::json!([
        {"role": "user", "parts": [{"type": "text", "content": HOSTILE_SCRIPT}]}
    ])
    .to_string();
    let root = Span {
        trace_id: trace_id.to_vec(),
        span_id: b"hostile1".to_vec(),
        name: HOSTILE.into(),
        start_time_unix_nano: now - 2_000_000_000,
        end_time_unix_nano: now,
        attributes: vec![
            string_attr("gen_ai.operation.name", "invoke_agent"),
            string_attr("gen_ai.agent.name", HOSTILE),
            string_attr("ai.agent.input", HOSTILE_SCRIPT),
            string_attr("ai.agent.output", HOSTILE),
            string_attr("lemma.thread_id", "<b>thread</b>"),
            string_attr("service.name", "hostile"),
        ],
        ..Default::default()
    };
    let chat = Span {
        trace_id: trace_id.to_vec(),
        span_id: b"hostile2".to_vec(),
        parent_span_id: b"hostile1".to_vec(),
        name: format!("chat {HOSTILE_SCRIPT}"),
        start_time_unix_nano: now - 1_500_000_000,
        end_time_unix_nano: now - 500_000_000,
        attributes: vec![
            string_attr("gen_ai.operation.name", "chat"),
            string_attr("gen_ai.request.model", "gpt-4o"),
            string_attr("gen_ai.input.messages", &messages),
            string_attr(HOSTILE, HOSTILE),
        ],
        status: Some(Status {
            code: status::StatusCode::Error as i32,
            message: HOSTILE.into(),
        }),
        ..Default::default()
    };
    let mut req = request(vec![root, chat]);
    req.resource_spans[0].resource = Some(opentelemetry_proto::tonic::resource::v1::Resource {
        attributes: vec![string_attr("service.name", "hostile")],
        ..Default::default()
    });
    let resp = fixtures::send_protobuf(server, &req);
    assert_eq!(resp.status(), 200);
    common::otlp::hex(&trace_id)
}

/// A project with no runs, for the first-run experience; returns its key.
fn empty_project_key(server: &Server) -> String {
    let (ok, _, err) = server.cli(&["projects", "create", "empty"]);
    assert!(ok, "creating a project: {err}");
    let (ok, out, err) = server.cli(&["keys", "create", "--project", "empty"]);
    assert!(ok, "creating a key: {err}");
    key_from_output(&out)
}

fn long_run_id(server: &Server) -> String {
    let runs = server.all_runs("agent:coding_agent");
    assert_eq!(runs.len(), 1, "long_run is one run of coding_agent");
    runs[0]["run_id"].as_str().unwrap().to_string()
}

#[test]
fn dashboard_in_a_real_browser() {
    require_setup("web-setup", "Chromium and playwright-core");
    let server = Server::start();
    fixtures::load_all_http(&server);
    let hostile = load_hostile_run(&server);
    let empty_key = empty_project_key(&server);
    let long_run = long_run_id(&server);

    let web = repo_root().join("tests/web");
    // `LEMMA_WEB_SPECS="specs/runs.test.mjs unit/"` runs only those, while working on a view.
    let only = std::env::var("LEMMA_WEB_SPECS").unwrap_or_default();
    let specs: Vec<&str> = match only.split_whitespace().collect::<Vec<_>>() {
        chosen if chosen.is_empty() => vec!["unit/", "specs/"],
        chosen => chosen,
    };
    let status = Command::new("node")
        .args(["--test", "--test-concurrency=1", "--test-reporter=spec"])
        .args(&specs)
        .current_dir(&web)
        .env("LEMMA_URL", &server.http)
        .env("LEMMA_API_KEY", common::KEY)
        .env("LEMMA_EMPTY_KEY", empty_key)
        .env("LEMMA_RUN_LONG", long_run)
        .env("LEMMA_RUN_HOSTILE", hostile)
        // For specs that administer the store as an operator would (`lemma users`).
        .env("LEMMA_TEST_BIN", common::lemma_bin())
        .env("LEMMA_TEST_DATA_DIR", &server.data_dir)
        .status()
        .expect("running node --test in tests/web");
    assert!(
        status.success(),
        "the dashboard's browser tests failed (see above)"
    );
}

#[test]
fn pages_are_the_dashboard_with_a_strict_policy() {
    let server = Server::start();
    for path in [
        "/",
        "/runs",
        "/runs/0123456789abcdef0123456789abcdef",
        "/threads/t%2F1",
        "/stats",
        "/alerts",
        "/experiments",
        "/datasets/d.1",
        "/compare",
        "/health",
        "/settings",
        "/welcome",
        "/signin",
    ] {
        let resp = client().get(server.url(path)).send().unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        let headers = resp.headers().clone();
        assert_eq!(
            headers["content-type"], "text/html; charset=utf-8",
            "{path}"
        );
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe"),
            "{path}: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        let body = resp.text().unwrap();
        assert!(
            body.contains("/assets/js/app.js"),
            "{path} is the dashboard page"
        );
    }
}

#[test]
fn assets_have_their_types_and_revalidate() {
    let server = Server::start();
    let resp = client()
        .get(server.url("/assets/js/app.js"))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(resp.headers()["cache-control"], "no-cache");
    let etag = resp.headers()["etag"].to_str().unwrap().to_string();
    assert!(resp.text().unwrap().contains("import"));

    let again = client()
        .get(server.url("/assets/js/app.js"))
        .header("if-none-match", &etag)
        .send()
        .unwrap();
    assert_eq!(again.status(), 304);
    assert!(again.bytes().unwrap().is_empty());

    let css = client()
        .get(server.url("/assets/css/base.css"))
        .send()
        .unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    let icon = client().get(server.url("/favicon.ico")).send().unwrap();
    assert_eq!(icon.headers()["content-type"], "image/svg+xml");

    for missing in [
        "/assets/js/nope.js",
        "/assets/index.html",
        "/assets/../Cargo.toml",
    ] {
        let resp = client().get(server.url(missing)).send().unwrap();
        assert_eq!(resp.status(), 404, "{missing}");
        let body: serde_json::Value = resp.json().unwrap();
        assert_eq!(body["error"]["code"], "not_found", "{missing}");
    }
}

#[test]
fn the_api_still_answers_for_itself() {
    let server = Server::start();
    let resp = client().get(server.url("/api/v1/runs")).send().unwrap();
    assert_eq!(
        resp.status(),
        401,
        "the API behind the dashboard needs a key"
    );
    let resp = client().get(server.url("/nope")).send().unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(
        resp.json::<serde_json::Value>().unwrap()["error"]["code"],
        "not_found"
    );
    let resp = client().post(server.url("/runs")).send().unwrap();
    assert_eq!(resp.status(), 405, "dashboard pages are read-only");
}

#[test]
fn unknown_pages_are_the_dashboard_for_a_browser_and_json_for_the_api() {
    let server = Server::start();
    let html = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    for path in ["/nope", "/runs/x/y/z", "/threads/a/b", "/stats/more"] {
        let resp = client()
            .get(server.url(path))
            .header("accept", html)
            .send()
            .unwrap();
        assert_eq!(resp.status(), 404, "{path}");
        assert_eq!(
            resp.headers()["content-type"],
            "text/html; charset=utf-8",
            "{path}"
        );
        let csp = resp.headers()["content-security-policy"].to_str().unwrap();
        assert!(!csp.contains("unsafe"), "{path}: {csp}");
        assert!(
            resp.text().unwrap().contains("/assets/js/app.js"),
            "{path} is the dashboard page"
        );
    }
    for path in [
        "/api/v1/nope",
        "/api/nope",
        "/v1/nope",
        "/assets/js/nope.js",
        "/mcp/nope",
    ] {
        let resp = client()
            .get(server.url(path))
            .header("accept", html)
            .send()
            .unwrap();
        assert_eq!(resp.status(), 404, "{path}");
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{path}"
        );
        assert_eq!(
            resp.json::<serde_json::Value>().unwrap()["error"]["code"],
            "not_found",
            "{path}"
        );
    }
    let resp = client()
        .post(server.url("/nope"))
        .header("accept", html)
        .send()
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(
        resp.json::<serde_json::Value>().unwrap()["error"]["code"],
        "not_found",
        "only a page load gets the page"
    );
}
