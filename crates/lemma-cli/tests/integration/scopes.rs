//! Key scopes against a real server: every documented operation, sent with an ingest, a read
//! and an admin key, is allowed or refused (403, saying which scope would do) exactly as its
//! access says; OTLP over gRPC too.

use crate::common;

use common::access::{access, guarded_operations, Operation};
use common::{client, fixtures, Server, KEY};
use serde_json::Value;

fn allows(scope: &str, access: &str) -> bool {
    scope == "admin"
        || access == "identify"
        || scope == access
        || (access == "check" && matches!(scope, "ingest" | "read"))
}

fn create_key(server: &Server, scope: &str) -> String {
    let (ok, out, err) = server.cli(&["keys", "create", "--scope", scope]);
    assert!(ok, "{err}");
    assert!(out.contains(&format!("scope {scope}")), "{out}");
    common::key_from_output(&out)
}

#[test]
fn every_operation_answers_each_scope_as_its_access_says() {
    let server = Server::start();
    fixtures::load_all_http(&server);
    let keys: Vec<(&str, String)> = ["ingest", "read", "admin"]
        .into_iter()
        .map(|scope| (scope, create_key(&server, scope)))
        .collect();
    let mut checked = 0;
    for Operation {
        method,
        path,
        concrete,
    } in guarded_operations(&server)
    {
        let needs = access(&method, &path);
        for (scope, key) in &keys {
            let url = server.url(&concrete);
            let resp = client()
                .request(method.to_uppercase().parse().unwrap(), url)
                .bearer_auth(key)
                .header("content-type", "application/json")
                .header("accept", "application/json, text/event-stream")
                .body("{}")
                .send()
                .unwrap();
            let status = resp.status().as_u16();
            let body: Value = resp.json().unwrap_or(Value::Null);
            let what = format!("{method} {path} with a {scope} key: {status} {body}");
            if allows(scope, needs) {
                assert!(status != 401 && status != 403, "allowed, yet {what}");
            } else {
                assert_eq!(status, 403, "{what}");
                assert_eq!(body["error"]["code"], "forbidden", "{what}");
                let message = body["error"]["message"].as_str().unwrap();
                assert!(
                    message.contains(&format!("a {scope} key"))
                        || message.contains(&format!("an {scope} key")),
                    "{what}"
                );
                assert!(message.contains("--scope"), "{what}");
            }
            checked += 1;
        }
    }
    assert!(checked > 60, "only {checked} requests checked");
    // The bootstrap key is an admin key: the first start still works with no setup.
    let (status, _) = server.get_with("/api/v1/project", KEY);
    assert_eq!(status, 200);
}

#[test]
fn grpc_export_needs_an_ingest_or_admin_key() {
    let server = Server::start();
    let read = create_key(&server, "read");
    let ingest = create_key(&server, "ingest");
    let request = common::otlp::request(vec![opentelemetry_proto::tonic::trace::v1::Span {
        trace_id: vec![7; 16],
        span_id: vec![7; 8],
        name: "scoped".into(),
        start_time_unix_nano: 1,
        end_time_unix_nano: 2,
        ..Default::default()
    }]);
    let refused = fixtures::send_grpc(&server, request.clone(), &read).unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused:?}");
    assert!(refused.message().contains("a read key"), "{refused:?}");
    assert_eq!(
        server
            .get("/api/v1/runs/07070707070707070707070707070707")
            .0,
        404
    );
    fixtures::send_grpc(&server, request, &ingest).expect("an ingest key sends");
    assert_eq!(
        server
            .get("/api/v1/runs/07070707070707070707070707070707")
            .0,
        200
    );
    // An ingest key reads nothing back.
    let (status, body) = server.get_with("/api/v1/runs", &ingest);
    assert_eq!(status, 403, "{body}");
}
