//! What a request may do: the access each route needs, and what a key's scope grants. Pure, so
//! the rules read in one place and the tests check every documented route against them.

use axum::http::Method;
use lemma_store::{KeyScope, Role};

/// The access a request needs, from the least to the most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// Name the credential's project (`GET /api/v1/project`): any key or role, so a client
    /// (or `lemma doctor`) can check an ingest key it cannot read with.
    Identify,
    /// Send spans, logs and metric events.
    Ingest,
    /// Read a run's signals (`GET /api/v1/runs/{run_id}/signals`): what an agent asks of its
    /// own run while it runs, with the key it sends with, so ingest and read keys both may.
    Check,
    /// Read runs, threads, stats and settings.
    Read,
    /// Change what was recorded: delete runs.
    Write,
    /// Change the project's settings, prices and keys.
    Admin,
}

impl Access {
    pub fn name(self) -> &'static str {
        match self {
            Access::Identify => "identify",
            Access::Ingest => "ingest",
            Access::Check => "check",
            Access::Read => "read",
            Access::Write => "write",
            Access::Admin => "admin",
        }
    }
}

/// The access a route needs, by method and path template (axum's `MatchedPath`).
pub fn required(method: &Method, path: &str) -> Access {
    const INGEST: [&str; 4] = [
        "/v1/traces",
        "/v1/logs",
        "/api/public/otel/v1/traces",
        "/api/v1/runs/{run_id}/metrics",
    ];
    if *method == Method::POST && INGEST.contains(&path) {
        return Access::Ingest;
    }
    // Proxy sessions are part of sending data: an agent's ingest key opens and ends them, and
    // `lemma proxy` reads them with one.
    if path.starts_with("/api/v1/proxy/sessions") {
        return Access::Ingest;
    }
    if path == "/api/v1/project" && matches!(*method, Method::GET | Method::HEAD) {
        return Access::Identify;
    }
    if path == "/api/v1/runs/{run_id}/signals" && matches!(*method, Method::GET | Method::HEAD) {
        return Access::Check;
    }
    // Running an experiment is sending data: an SDK with its ingest key reads the dataset it
    // runs over, records the experiment, links its runs and may add cases. Changing or
    // deleting a dataset is not.
    let records = path.starts_with("/api/v1/experiments")
        || path == "/api/v1/datasets"
        || path == "/api/v1/datasets/{name}/cases";
    if *method == Method::POST && records {
        return Access::Ingest;
    }
    if path == "/api/v1/datasets/{name}" {
        match *method {
            Method::GET | Method::HEAD => return Access::Check,
            Method::PUT | Method::DELETE => return Access::Write,
            _ => {}
        }
    }
    if path == "/mcp" {
        // Each tool calls the API with the caller's credentials, and is checked there.
        return Access::Read;
    }
    if path.starts_with("/api/v1/keys") || path.starts_with("/api/v1/members") {
        return Access::Admin;
    }
    match *method {
        Method::GET | Method::HEAD => Access::Read,
        Method::DELETE if path == "/api/v1/runs/{run_id}" => Access::Write,
        _ => Access::Admin,
    }
}

/// Whether a key of this scope may make a request needing `access`.
pub fn scope_allows(scope: KeyScope, access: Access) -> bool {
    if access == Access::Identify {
        return true;
    }
    match scope {
        KeyScope::Admin => true,
        KeyScope::Read => matches!(access, Access::Read | Access::Check),
        KeyScope::Ingest => matches!(access, Access::Ingest | Access::Check),
    }
}

/// Whether a person with this role in a project may make a request needing `access`.
pub fn role_allows(role: Role, access: Access) -> bool {
    if access == Access::Identify {
        return true;
    }
    match role {
        Role::Admin => true,
        Role::Member => access != Access::Admin,
        Role::Viewer => matches!(access, Access::Read | Access::Check),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_need_what_they_change() {
        let cases = [
            (Method::POST, "/v1/traces", Access::Ingest),
            (Method::POST, "/api/v1/proxy/sessions", Access::Ingest),
            (
                Method::GET,
                "/api/v1/proxy/sessions/{token}",
                Access::Ingest,
            ),
            (
                Method::DELETE,
                "/api/v1/proxy/sessions/{token}",
                Access::Ingest,
            ),
            (Method::POST, "/v1/logs", Access::Ingest),
            (
                Method::POST,
                "/api/v1/runs/{run_id}/metrics",
                Access::Ingest,
            ),
            (Method::GET, "/api/v1/runs/{run_id}/metrics", Access::Read),
            (Method::GET, "/api/v1/runs/{run_id}/signals", Access::Check),
            (Method::POST, "/api/v1/experiments", Access::Ingest),
            (
                Method::POST,
                "/api/v1/experiments/{name}/runs",
                Access::Ingest,
            ),
            (
                Method::POST,
                "/api/v1/datasets/{name}/cases",
                Access::Ingest,
            ),
            (Method::GET, "/api/v1/datasets/{name}", Access::Check),
            (Method::PUT, "/api/v1/datasets/{name}", Access::Write),
            (Method::DELETE, "/api/v1/datasets/{name}", Access::Write),
            (Method::GET, "/api/v1/compare", Access::Read),
            (Method::PUT, "/api/v1/signals/settings", Access::Admin),
            (Method::GET, "/api/v1/runs", Access::Read),
            (Method::GET, "/api/v1/project", Access::Identify),
            (Method::POST, "/mcp", Access::Read),
            (Method::DELETE, "/api/v1/runs/{run_id}", Access::Write),
            (Method::PUT, "/api/v1/project/retention", Access::Admin),
            (
                Method::POST,
                "/api/v1/project/redaction/preview",
                Access::Admin,
            ),
            (Method::POST, "/api/v1/prices/apply", Access::Admin),
            (Method::GET, "/api/v1/keys", Access::Admin),
            (Method::GET, "/api/v1/members", Access::Admin),
        ];
        for (method, path, access) in cases {
            assert_eq!(required(&method, path), access, "{method} {path}");
        }
    }

    #[test]
    fn scopes_grant_only_their_part() {
        use Access::*;
        for access in [Identify, Ingest, Check, Read, Write, Admin] {
            assert!(scope_allows(KeyScope::Admin, access));
            assert_eq!(
                scope_allows(KeyScope::Read, access),
                matches!(access, Identify | Check | Read)
            );
            assert_eq!(
                scope_allows(KeyScope::Ingest, access),
                matches!(access, Identify | Ingest | Check)
            );
            assert!(role_allows(Role::Admin, access));
            assert_eq!(role_allows(Role::Member, access), access != Admin);
            assert_eq!(
                role_allows(Role::Viewer, access),
                matches!(access, Identify | Check | Read)
            );
        }
    }
}
