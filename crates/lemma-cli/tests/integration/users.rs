//! People signing in to a real server: accounts made with `lemma users`, sessions in an
//! HttpOnly cookie with a CSRF token, roles per project checked on every documented route, and
//! an admin managing keys and members through the API.

use crate::common;

use common::access::{access, guarded_operations, Operation};
use common::{client, fixtures, Server, KEY};
use serde_json::{json, Value};

const PASSWORD: &str = "a long enough password";

/// `lemma users ...` on the server's data dir, with `stdin` as its input.
fn users(server: &Server, args: &[&str], stdin: &str) -> (bool, String) {
    let args: Vec<&str> = std::iter::once("users")
        .chain(args.iter().copied())
        .collect();
    let (ok, out, err) = server.cli_with_input(&args, stdin);
    (ok, out + &err)
}

fn add_user(server: &Server, name: &str, grants: &[(&str, &str)]) {
    let (ok, out) = users(server, &["create", name, "--password-stdin"], PASSWORD);
    assert!(ok, "{out}");
    for (project, role) in grants {
        let (ok, out) = users(
            server,
            &["grant", name, "--project", project, "--role", role],
            "",
        );
        assert!(ok, "{out}");
    }
}

/// A signed-in browser: its session cookie and CSRF token.
struct Browser {
    cookie: String,
    csrf: String,
    project: Option<String>,
}

fn login(server: &Server, user: &str, password: &str) -> (u16, Value, Option<String>) {
    let resp = client()
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({"username": user, "password": password}))
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    let cookie = resp
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_string());
    (status, resp.json().unwrap_or(Value::Null), cookie)
}

fn sign_in(server: &Server, user: &str) -> Browser {
    let (status, body, cookie) = login(server, user, PASSWORD);
    assert_eq!(status, 200, "{body}");
    let cookie = cookie.expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    Browser {
        cookie: cookie.split(';').next().unwrap().to_string(),
        csrf: body["csrf_token"].as_str().unwrap().to_string(),
        project: None,
    }
}

impl Browser {
    fn send(
        &self,
        server: &Server,
        method: &str,
        path: &str,
        body: Option<Value>,
        csrf: bool,
    ) -> (u16, Value) {
        let mut req = client()
            .request(method.parse().unwrap(), server.url(path))
            .header("cookie", &self.cookie)
            .header("accept", "application/json, text/event-stream");
        if csrf {
            req = req.header("x-csrf-token", &self.csrf);
        }
        if let Some(project) = &self.project {
            req = req.header("x-lemma-project", project);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().unwrap_or(Value::Null))
    }

    fn get(&self, server: &Server, path: &str) -> (u16, Value) {
        self.send(server, "GET", path, None, false)
    }
}

#[test]
fn a_person_signs_in_works_in_their_projects_and_signs_out() {
    let server = Server::start();
    fixtures::load_all_http(&server);
    let (ok, _, err) = server.cli(&["projects", "create", "other"]);
    assert!(ok, "{err}");
    add_user(&server, "ada", &[("default", "admin"), ("other", "viewer")]);
    add_user(&server, "dave", &[]);

    // Wrong password and unknown user: one answer, no cookie.
    for (user, password) in [("ada", "not the password"), ("nobody", PASSWORD)] {
        let (status, body, cookie) = login(&server, user, password);
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"]["message"], "wrong user name or password");
        assert!(cookie.is_none());
    }
    let (ok, out) = users(&server, &["create", "eve", "--password-stdin"], "short");
    assert!(!ok && out.contains("at least 10 characters"), "{out}");

    let mut ada = sign_in(&server, "ada");
    let (status, session) = ada.get(&server, "/api/v1/auth/session");
    assert_eq!(status, 200);
    assert_eq!(session["user"], "ada");
    assert_eq!(
        session["projects"],
        json!([{"name": "default", "role": "admin"}, {"name": "other", "role": "viewer"}])
    );

    // Two projects: each request names one.
    let (status, body) = ada.get(&server, "/api/v1/runs");
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("X-Lemma-Project"));
    ada.project = Some("default".into());
    let runs = ada.get(&server, "/api/v1/runs?limit=5");
    assert_eq!(runs.0, 200);
    assert_eq!(runs.1["runs"].as_array().unwrap().len(), 5);
    ada.project = Some("other".into());
    let (status, body) = ada.get(&server, "/api/v1/runs");
    assert_eq!(
        (status, body["runs"].clone()),
        (200, json!([])),
        "other's runs only"
    );
    ada.project = Some("nope".into());
    assert_eq!(ada.get(&server, "/api/v1/runs").0, 403);

    // Changing something needs the CSRF token, and the role.
    ada.project = Some("default".into());
    let body = Some(json!({"days": 30}));
    let (status, refused) = ada.send(
        &server,
        "PUT",
        "/api/v1/project/retention",
        body.clone(),
        false,
    );
    assert_eq!(status, 403, "{refused}");
    assert!(refused["error"]["message"]
        .as_str()
        .unwrap()
        .contains("X-CSRF-Token"));
    assert_eq!(
        ada.send(
            &server,
            "PUT",
            "/api/v1/project/retention",
            body.clone(),
            true
        )
        .0,
        200
    );
    ada.project = Some("other".into());
    let (status, refused) = ada.send(&server, "PUT", "/api/v1/project/retention", body, true);
    assert_eq!(status, 403);
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("is a viewer of project \"other\""),
        "{refused}"
    );

    // Someone in no project is told so.
    let dave = sign_in(&server, "dave");
    let (status, body) = dave.get(&server, "/api/v1/runs");
    assert_eq!(status, 403);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("lemma users grant dave"),
        "{body}"
    );

    // Signing out ends the session; a forged or old cookie gets 401.
    assert_eq!(
        ada.send(&server, "POST", "/api/v1/auth/logout", None, false)
            .0,
        403
    );
    assert_eq!(
        ada.send(&server, "POST", "/api/v1/auth/logout", None, true)
            .0,
        204
    );
    assert_eq!(ada.get(&server, "/api/v1/auth/session").0, 401);
    ada.project = Some("default".into());
    assert_eq!(ada.get(&server, "/api/v1/runs").0, 401);

    // A new password ends the sessions made with the old one.
    let mut again = sign_in(&server, "ada");
    again.project = Some("default".into());
    assert_eq!(again.get(&server, "/api/v1/runs").0, 200);
    let (ok, out) = users(
        &server,
        &["password", "ada", "--password-stdin"],
        "an even longer password",
    );
    assert!(ok, "{out}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while again.get(&server, "/api/v1/runs").0 != 401 {
        assert!(
            std::time::Instant::now() < deadline,
            "the old session still works"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let (status, _, _) = login(&server, "ada", "an even longer password");
    assert_eq!(status, 200);

    // Keys still work beside sessions, as before.
    assert_eq!(server.get_with("/api/v1/project", KEY).0, 200);
}

/// Whether a role has the access an operation needs (`common::access`).
fn role_allows(role: &str, method: &str, path: &str) -> bool {
    let access = access(method, path);
    match role {
        _ if access == "identify" => true,
        "admin" => true,
        "member" => access != "admin",
        _ => matches!(access, "read" | "check"),
    }
}

#[test]
fn every_operation_answers_each_role_as_its_access_says() {
    let server = Server::start();
    fixtures::load_all_http(&server);
    let roles = ["viewer", "member", "admin"];
    let browsers: Vec<(&str, Browser)> = roles
        .iter()
        .map(|role| {
            add_user(&server, role, &[("default", role)]);
            (*role, sign_in(&server, role))
        })
        .collect();
    let mut checked = 0;
    for Operation {
        method,
        path,
        concrete,
    } in guarded_operations(&server)
    {
        // Signing in itself; MCP and the ingest routes take keys only (a browser never sends
        // spans).
        let keys_only = ["/api/v1/auth/", "/mcp", "/v1/", "/api/public/"];
        if keys_only.iter().any(|p| path.starts_with(p)) {
            continue;
        }
        for (role, browser) in &browsers {
            let (status, body) = browser.send(
                &server,
                &method.to_uppercase(),
                &concrete,
                Some(json!({})),
                true,
            );
            let what = format!("{method} {path} as {role}: {status} {body}");
            if role_allows(role, &method, &path) {
                assert!(status != 401 && status != 403, "allowed, yet {what}");
            } else {
                assert_eq!(status, 403, "{what}");
                let message = body["error"]["message"].as_str().unwrap();
                assert!(
                    message.contains(&format!("is a {role} of project")),
                    "{what}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 60, "only {checked} requests checked");
}

#[test]
fn an_admin_manages_keys_and_members_through_the_api() {
    let server = Server::start();
    let (ok, _, err) = server.cli(&["projects", "create", "other"]);
    assert!(ok, "{err}");
    add_user(&server, "ada", &[("default", "admin")]);
    add_user(&server, "bob", &[]);
    let ada = sign_in(&server, "ada");

    // A key made for an app: ingest only, its secret shown once.
    let (status, made) = ada.send(
        &server,
        "POST",
        "/api/v1/keys",
        Some(json!({"scope": "ingest"})),
        true,
    );
    assert_eq!(status, 201, "{made}");
    let secret = made["secret"].as_str().unwrap().to_string();
    assert_eq!(made["key"]["scope"], "ingest");
    assert_eq!(
        server.get_with("/api/v1/runs", &secret).0,
        403,
        "an ingest key reads nothing"
    );
    let (_, listed) = ada.get(&server, "/api/v1/keys");
    let keys = listed["keys"].as_array().unwrap();
    assert!(keys
        .iter()
        .any(|k| k["public_key"] == made["key"]["public_key"]));
    assert!(
        !listed.to_string().contains(&secret),
        "secrets are never listed"
    );
    let (status, body) = ada.send(
        &server,
        "POST",
        "/api/v1/keys",
        Some(json!({"scope": "root"})),
        true,
    );
    assert_eq!(status, 400, "{body}");

    // Another project's key cannot be revoked from this one.
    let (ok, out, err) = server.cli(&["keys", "create", "--project", "other"]);
    assert!(ok, "{err}");
    let other_public = out
        .lines()
        .find(|l| l.starts_with("Public key"))
        .unwrap()
        .split_whitespace()
        .last()
        .unwrap()
        .to_string();
    let (status, _) = ada.send(
        &server,
        "DELETE",
        &format!("/api/v1/keys/{other_public}"),
        None,
        true,
    );
    assert_eq!(status, 404);
    let public = made["key"]["public_key"].as_str().unwrap();
    assert_eq!(
        ada.send(
            &server,
            "DELETE",
            &format!("/api/v1/keys/{public}"),
            None,
            true
        )
        .0,
        204
    );
    assert_eq!(
        server.get_with("/api/v1/project", &secret).0,
        401,
        "revoked"
    );

    // Members: bob is given a role, changed, and taken out.
    let (status, body) = ada.send(
        &server,
        "PUT",
        "/api/v1/members/bob",
        Some(json!({"role": "viewer"})),
        true,
    );
    assert_eq!(status, 200, "{body}");
    let bob = sign_in(&server, "bob");
    assert_eq!(bob.get(&server, "/api/v1/runs").0, 200);
    assert_eq!(
        bob.send(
            &server,
            "PUT",
            "/api/v1/project/retention",
            Some(json!({"days": 3})),
            true
        )
        .0,
        403
    );
    ada.send(
        &server,
        "PUT",
        "/api/v1/members/bob",
        Some(json!({"role": "admin"})),
        true,
    );
    assert_eq!(
        bob.send(
            &server,
            "PUT",
            "/api/v1/project/retention",
            Some(json!({"days": 3})),
            true
        )
        .0,
        200
    );
    let (_, members) = ada.get(&server, "/api/v1/members");
    assert_eq!(
        members["members"],
        json!([{"user": "ada", "role": "admin"}, {"user": "bob", "role": "admin"}])
    );
    assert_eq!(
        ada.send(
            &server,
            "PUT",
            "/api/v1/members/nobody",
            Some(json!({"role": "viewer"})),
            true
        )
        .0,
        404
    );
    assert_eq!(
        ada.send(
            &server,
            "PUT",
            "/api/v1/members/bob",
            Some(json!({"role": "owner"})),
            true
        )
        .0,
        400
    );
    assert_eq!(
        ada.send(&server, "DELETE", "/api/v1/members/bob", None, true)
            .0,
        204
    );
    assert_eq!(bob.get(&server, "/api/v1/runs").0, 403);
    assert_eq!(
        ada.send(&server, "DELETE", "/api/v1/members/bob", None, true)
            .0,
        404
    );

    // A read key cannot manage keys.
    let (ok, out, err) = server.cli(&["keys", "create", "--scope", "read"]);
    assert!(ok, "{err}");
    let read = common::key_from_output(&out);
    assert_eq!(server.get_with("/api/v1/keys", &read).0, 403);
}

#[test]
fn repeated_failed_sign_ins_must_wait() {
    let server = Server::start();
    add_user(&server, "ada", &[("default", "viewer")]);
    add_user(&server, "bob", &[("default", "viewer")]);
    for _ in 0..5 {
        assert_eq!(login(&server, "ada", "a wrong guess!").0, 401);
    }
    let resp = client()
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({"username": "ada", "password": PASSWORD}))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 429, "even the right password waits");
    assert_eq!(resp.headers()["retry-after"], "1");
    let body: Value = resp.json().unwrap();
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("try again in 1 s"));
    assert_eq!(
        login(&server, "bob", PASSWORD).0,
        200,
        "other users are not held"
    );
    std::thread::sleep(std::time::Duration::from_millis(1_100));
    assert_eq!(login(&server, "ada", PASSWORD).0, 200);
    assert_eq!(
        login(&server, "ada", "a wrong guess!").0,
        401,
        "a success starts the count again"
    );
}
