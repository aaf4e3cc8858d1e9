//! The access rule the server is held to, as the auth tests state it, and the documented
//! operations to check it on.

use super::Server;

/// What each documented operation needs. An operation this does not decide fails the test,
/// so a new route must be given its access.
pub fn access(method: &str, path: &str) -> &'static str {
    match (method, path) {
        ("post", "/v1/traces" | "/v1/logs" | "/api/public/otel/v1/traces") => "ingest",
        ("post", "/api/v1/runs/{run_id}/metrics") => "ingest",
        ("post", "/mcp") => "read",
        // Proxy sessions are part of sending: an agent's ingest key opens, reads and ends them.
        ("post" | "get" | "delete", p) if p.starts_with("/api/v1/proxy/sessions") => "ingest",
        // Any key or role names its project, so an ingest key can be checked.
        ("get", "/api/v1/project") => "identify",
        // An agent checks its own run with the key it sends with: ingest and read keys both.
        ("get", "/api/v1/runs/{run_id}/signals") => "check",
        // Running an experiment is sending data; an SDK reads the dataset it runs over.
        ("post", p) if p.starts_with("/api/v1/experiments") => "ingest",
        ("post", "/api/v1/datasets" | "/api/v1/datasets/{name}/cases") => "ingest",
        ("get", "/api/v1/datasets/{name}") => "check",
        ("put" | "delete", "/api/v1/datasets/{name}") => "write",
        ("get", p) if p.starts_with("/api/v1/keys") || p.starts_with("/api/v1/members") => "admin",
        ("get", _) => "read",
        ("delete", "/api/v1/runs/{run_id}") => "write",
        ("put" | "post" | "delete", p) if p.starts_with("/api/v1/") => "admin",
        _ => panic!("no access decided for {method} {path}"),
    }
}

/// A documented operation that takes a key, with a path to send it
/// to: a run and span of the loaded fixtures, names that exist nowhere for the rest, and
/// another run for DELETE so the run stays for the next request.
pub struct Operation {
    pub method: String,
    pub path: String,
    pub concrete: String,
}

pub fn guarded_operations(server: &Server) -> Vec<Operation> {
    let run = server.all_runs("")[0]["run_id"]
        .as_str()
        .expect("fixtures loaded")
        .to_string();
    let span = server.api(&format!("/api/v1/runs/{run}"))["run"]["root_span_id"]
        .as_str()
        .unwrap()
        .to_string();
    let doc = server.api("/api/v1/openapi.json");
    let mut out = Vec::new();
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            // Public (the health check, the document itself, signing in) or for a session
            // only (the session itself): no key to check.
            let takes_key = operation.get("security").is_none_or(|schemes| {
                schemes
                    .as_array()
                    .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()))
            });
            if !takes_key || operation["responses"].get("401").is_none() {
                continue;
            }
            let run = if method == "delete" && path == "/api/v1/runs/{run_id}" {
                "00000000000000000000000000000abc"
            } else {
                &run
            };
            let concrete = path
                .replace("{run_id}", run)
                .replace("{span_id}", &span)
                .replace("{thread_id}", "no-such-thread")
                .replace("{model}", "no-such-model")
                .replace("{key}", "pk-lm-none")
                .replace("{user}", "no-such-user");
            out.push(Operation {
                method: method.clone(),
                path: path.clone(),
                concrete,
            });
        }
    }
    out
}
