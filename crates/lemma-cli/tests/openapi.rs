//! The OpenAPI document at `GET /api/v1/openapi.json`, against a real server: it is valid
//! OpenAPI 3.1 (checked by openapi-spec-validator, which `scripts/openapi-setup` installs),
//! every operation it documents is served with its method and its documented authentication,
//! and every route the server's source registers is in it.

mod common;

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
