//! Authentication and project isolation, route by route, against a real `lemma serve`.

use crate::common;

use common::otlp::{hex, string_attr};
use common::{client, fixtures, Server, KEY};
use lemma_core::otlp::RpcStatus;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use serde_json::Value;

/// The OTLP/HTTP routes.
const OTLP: [&str; 2] = ["/v1/traces", "/api/public/otel/v1/traces"];

/// How a request authenticates.
#[derive(Clone, Copy, Debug)]
enum Cred<'a> {
    None,
    Bearer(&'a str),
    XApiKey(&'a str),
    Basic(&'a str, &'a str),
}

fn with_cred(
    req: reqwest::blocking::RequestBuilder,
    cred: Cred,
) -> reqwest::blocking::RequestBuilder {
    match cred {
        Cred::None => req,
        Cred::Bearer(k) => req.bearer_auth(k),
        Cred::XApiKey(k) => req.header("x-api-key", k),
        Cred::Basic(user, secret) => req.basic_auth(user, Some(secret)),
    }
}

/// Every REST route, with ids that exist in project `default` once `otel_manual` is replayed.
fn api_routes(run_id: &str) -> Vec<String> {
    vec![
        "/api/v1/project".into(),
        "/api/v1/runs".into(),
        format!("/api/v1/runs/{run_id}"),
        "/api/v1/spans".into(),
        "/api/v1/threads".into(),
        "/api/v1/threads/thread-42".into(),
    ]
}

fn api_get(server: &Server, path: &str, cred: Cred) -> (u16, Value) {
    let resp = with_cred(client().get(server.url(path)), cred)
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Enc {
    Protobuf,
    Json,
}

/// POSTs a request to an OTLP/HTTP route; returns status, content type and body.
fn otlp_post(
    server: &Server,
    path: &str,
    request: &ExportTraceServiceRequest,
    enc: Enc,
    cred: Cred,
) -> (u16, String, Vec<u8>) {
    let (ct, body) = match enc {
        Enc::Protobuf => ("application/x-protobuf", request.encode_to_vec()),
        Enc::Json => ("application/json", serde_json::to_vec(request).unwrap()),
    };
    let req = client()
        .post(server.url(path))
        .header("content-type", ct)
        .body(body);
    let resp = with_cred(req, cred).send().unwrap();
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ct, resp.bytes().unwrap().to_vec())
}

/// A one-span agent run with its own trace id, so whether it was stored is observable.
fn one_span_run(seed: u8, agent: &str) -> (ExportTraceServiceRequest, String) {
    let mut trace_id = [0x5au8; 16];
    trace_id[15] = seed;
    let span = Span {
        trace_id: trace_id.to_vec(),
        span_id: vec![0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, seed.max(1)],
        name: format!("invoke_agent {agent}"),
        kind: 1,
        start_time_unix_nano: 1_700_000_000_000_000_000,
        end_time_unix_nano: 1_700_000_001_000_000_000,
        attributes: vec![
            string_attr("gen_ai.operation.name", "invoke_agent"),
            string_attr("gen_ai.agent.name", agent),
        ],
        ..Default::default()
    };
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![span],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    (request, hex(&trace_id))
}

fn replay(server: &Server, scenario: &str) {
    for r in fixtures::load(scenario) {
        let resp = fixtures::replay_http(server, &r);
        assert_eq!(resp.status(), 200, "{scenario}: {:?}", resp.text());
    }
}

/// A key made with `lemma keys create`: the secret and its public key.
struct CliKey {
    secret: String,
    public_key: String,
}

fn create_key(server: &Server, project: &str) -> CliKey {
    let (ok, out, err) = server.cli(&["keys", "create", "--project", project]);
    assert!(ok, "keys create: {err}");
    let secret = common::key_from_output(&out);
    let public_key = out
        .lines()
        .find(|l| l.starts_with("Public key"))
        .and_then(|l| l.split_whitespace().last())
        .expect("a public key line")
        .to_string();
    assert!(secret.starts_with("lm_") && secret.len() > 20, "{out}");
    assert!(public_key.starts_with("pk-lm-"), "{out}");
    CliKey { secret, public_key }
}

/// A row of `lemma keys list`.
#[derive(Debug)]
struct KeyRow {
    id: String,
    project: String,
    public_key: String,
    status: String,
}

fn list_keys(server: &Server) -> Vec<KeyRow> {
    let (ok, out, err) = server.cli(&["keys", "list"]);
    assert!(ok, "keys list: {err}");
    let mut lines = out.lines();
    let header = lines.next().expect("a header row");
    assert!(
        header.starts_with("ID") && header.contains("PUBLIC KEY") && header.contains("STATUS"),
        "{out}"
    );
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            // ID PROJECT PUBLIC_KEY HINT CREATED ("3s ago") STATUS
            let cells: Vec<&str> = l.split_whitespace().collect();
            KeyRow {
                id: cells[0].to_string(),
                project: cells[1].to_string(),
                public_key: cells[2].to_string(),
                status: cells.last().unwrap().to_string(),
            }
        })
        .collect()
}

fn some_run_id(server: &Server) -> String {
    let runs = server.all_runs("");
    assert!(!runs.is_empty());
    runs[0]["run_id"].as_str().unwrap().to_string()
}

/// Asserts a 401 from an API route that says how to authenticate.
fn assert_api_401(status: u16, body: &Value, what: &str, needle: &str) {
    assert_eq!(status, 401, "{what}: {body}");
    assert_eq!(body["error"]["code"], "unauthorized", "{what}: {body}");
    let message = body["error"]["message"].as_str().unwrap_or("");
    assert!(
        message.contains("Authorization: Bearer"),
        "{what}: the message should say what to send: {message}"
    );
    assert!(
        message.contains(needle),
        "{what}: {message:?} lacks {needle:?}"
    );
}

/// Asserts a 401 from an OTLP route, in the request's encoding.
fn assert_otlp_401(resp: &(u16, String, Vec<u8>), enc: Enc, what: &str, needle: &str) {
    let (status, ct, body) = resp;
    assert_eq!(*status, 401, "{what}: {}", String::from_utf8_lossy(body));
    let (code, message) = match enc {
        Enc::Protobuf => {
            assert_eq!(ct, "application/x-protobuf", "{what}");
            let s = RpcStatus::decode(&body[..])
                .unwrap_or_else(|e| panic!("{what}: the body is not a google.rpc.Status: {e}"));
            (s.code, s.message)
        }
        Enc::Json => {
            assert!(ct.starts_with("application/json"), "{what}: {ct}");
            let v: Value = serde_json::from_slice(body).unwrap();
            assert_eq!(v["error"]["code"], "unauthorized", "{what}: {v}");
            (
                v["code"].as_i64().unwrap() as i32,
                v["message"].as_str().unwrap().to_string(),
            )
        }
    };
    assert_eq!(code, 16, "{what}: UNAUTHENTICATED is 16");
    assert!(
        message.contains("Authorization: Bearer"),
        "{what}: the message should say what to send: {message}"
    );
    assert!(
        message.contains(needle),
        "{what}: {message:?} lacks {needle:?}"
    );
}

#[test]
fn every_route_refuses_a_missing_or_wrong_key() {
    let server = Server::start();
    replay(&server, "otel_manual");
    let run_id = some_run_id(&server);
    // Sent with each refused credential; it must never be stored.
    let (probe, probe_id) = one_span_run(1, "probe_agent");

    let refused = [
        (Cred::None, "missing"),
        (Cred::Bearer("lm_not-a-real-key-000000"), "invalid"),
        (Cred::XApiKey("wrong-key"), "invalid"),
        (
            Cred::Basic("pk-lm-doesnotexist00", "lm_whatever"),
            "the secret key (the Basic password) is invalid",
        ),
        // A real secret sent under a public key that does not exist: the message says which
        // part is wrong.
        (
            Cred::Basic("pk-lm-doesnotexist00", KEY),
            "the public key \"pk-lm-doesnotexist00\" (the Basic user name) is not",
        ),
    ];
    for (cred, needle) in refused {
        for path in api_routes(&run_id) {
            let (status, body) = api_get(&server, &path, cred);
            assert_api_401(status, &body, &format!("GET {path} with {cred:?}"), needle);
        }
        for path in OTLP {
            for enc in [Enc::Protobuf, Enc::Json] {
                let resp = otlp_post(&server, path, &probe, enc, cred);
                assert_otlp_401(
                    &resp,
                    enc,
                    &format!("POST {path} {enc:?} with {cred:?}"),
                    needle,
                );
            }
        }
    }
    // Nothing refused was stored, and the same routes answer with the right key.
    let (status, _) = server.get(&format!("/api/v1/runs/{probe_id}"));
    assert_eq!(status, 404, "a refused export must not be stored");
    for path in api_routes(&run_id) {
        let (status, body) = api_get(&server, &path, Cred::Bearer(KEY));
        assert_eq!(status, 200, "GET {path}: {body}");
    }
    for path in OTLP {
        for enc in [Enc::Protobuf, Enc::Json] {
            let (status, _, body) = otlp_post(&server, path, &probe, enc, Cred::Bearer(KEY));
            let body = String::from_utf8_lossy(&body);
            assert_eq!(
                status, 200,
                "POST {path} {enc:?} with the right key: {body}"
            );
        }
    }
    assert_eq!(
        server.api(&format!("/api/v1/runs/{probe_id}"))["run"]["agent_name"],
        "probe_agent"
    );
}

#[test]
fn a_revoked_key_is_refused_on_every_route() {
    let server = Server::start();
    replay(&server, "otel_manual");
    let run_id = some_run_id(&server);
    let by_id = create_key(&server, "default");
    let by_public_key = create_key(&server, "default");

    let rows = list_keys(&server);
    assert_eq!(rows.len(), 3, "{rows:?}");
    let row_of = |rows: &[KeyRow], pk: &str| -> usize {
        rows.iter()
            .position(|r| r.public_key == pk)
            .unwrap_or_else(|| panic!("{pk} not in keys list: {rows:?}"))
    };
    let id_row = &rows[row_of(&rows, &by_id.public_key)];
    assert_eq!(
        (id_row.project.as_str(), id_row.status.as_str()),
        ("default", "active")
    );
    let key_id = id_row.id.clone();
    assert!(key_id.parse::<u64>().is_ok(), "{id_row:?}");

    // Both keys work everywhere first.
    for key in [&by_id, &by_public_key] {
        for path in api_routes(&run_id) {
            let (status, body) = api_get(&server, &path, Cred::Bearer(&key.secret));
            assert_eq!(status, 200, "GET {path} before revocation: {body}");
        }
        for (i, path) in OTLP.iter().enumerate() {
            let (request, _) = one_span_run(10 + i as u8, "before_revocation");
            let (status, _, body) = otlp_post(
                &server,
                path,
                &request,
                Enc::Protobuf,
                Cred::Bearer(&key.secret),
            );
            assert_eq!(
                status,
                200,
                "POST {path}: {}",
                String::from_utf8_lossy(&body)
            );
        }
    }

    let (ok, out, err) = server.cli(&["keys", "revoke", &key_id]);
    assert!(ok && out.contains("Revoked"), "revoke by id: {out} {err}");
    let (ok, out, err) = server.cli(&["keys", "revoke", &by_public_key.public_key]);
    assert!(
        ok && out.contains("Revoked"),
        "revoke by public key: {out} {err}"
    );
    let (ok, _, err) = server.cli(&["keys", "revoke", "pk-lm-nosuchkey00000"]);
    assert!(
        !ok && err.contains("no key"),
        "revoking an unknown key: {err}"
    );

    let rows = list_keys(&server);
    assert_eq!(rows[row_of(&rows, &by_id.public_key)].status, "revoked");
    assert_eq!(
        rows[row_of(&rows, &by_public_key.public_key)].status,
        "revoked"
    );
    assert_eq!(
        rows.iter().filter(|r| r.status == "active").count(),
        1,
        "only the bootstrap key is left: {rows:?}"
    );

    let (probe, probe_id) = one_span_run(20, "after_revocation");
    for key in [&by_id, &by_public_key] {
        let creds = [
            Cred::Bearer(&key.secret),
            Cred::XApiKey(&key.secret),
            Cred::Basic(&key.public_key, &key.secret),
        ];
        for cred in creds {
            for path in api_routes(&run_id) {
                let (status, body) = api_get(&server, &path, cred);
                assert_api_401(
                    status,
                    &body,
                    &format!("GET {path} with {cred:?}"),
                    "revoked",
                );
            }
            for path in OTLP {
                for enc in [Enc::Protobuf, Enc::Json] {
                    let resp = otlp_post(&server, path, &probe, enc, cred);
                    let what = format!("POST {path} {enc:?} with {cred:?}");
                    assert_otlp_401(&resp, enc, &what, "revoked");
                }
            }
        }
    }
    let (status, _) = server.get(&format!("/api/v1/runs/{probe_id}"));
    assert_eq!(status, 404, "nothing sent with a revoked key is stored");
    // The bootstrap key is untouched.
    let (status, body) = server.get("/api/v1/project");
    assert_eq!(
        (status, &body["project"]["name"]),
        (200, &Value::from("default"))
    );
}

#[test]
fn bearer_x_api_key_and_basic_auth_all_work() {
    let server = Server::start();
    let key = create_key(&server, "default");
    let other = create_key(&server, "default");
    let good = [
        Cred::Bearer(&key.secret),
        Cred::XApiKey(&key.secret),
        Cred::Basic(&key.public_key, &key.secret),
    ];
    let mut sent = Vec::new();
    for (i, cred) in good.into_iter().enumerate() {
        let (status, body) = api_get(&server, "/api/v1/project", cred);
        assert_eq!(status, 200, "{cred:?}: {body}");
        assert_eq!(body["project"]["name"], "default");
        for (j, path) in OTLP.iter().enumerate() {
            let (request, id) = one_span_run((i * 2 + j + 1) as u8, "auth_forms_agent");
            let (status, _, body) = otlp_post(&server, path, &request, Enc::Protobuf, cred);
            assert_eq!(status, 200, "POST {path} with {cred:?}: {body:?}");
            sent.push(id);
        }
    }
    let stored: Vec<String> = server
        .all_runs("")
        .iter()
        .map(|r| r["run_id"].as_str().unwrap().to_string())
        .collect();
    for id in &sent {
        assert!(
            stored.contains(id),
            "run {id} sent with a good key is missing"
        );
    }

    // Basic: the secret must be the one of that public key.
    let (probe, probe_id) = one_span_run(99, "probe_agent");
    // The refusal says which part is wrong: a valid secret under another key's public key, or
    // a secret that is no key's.
    let (bad_secret, not_its_secret) = (
        "the secret key (the Basic password) is invalid",
        "(the Basic user name) is not this secret key's",
    );
    let bad = [
        (
            Cred::Basic(&key.public_key, "lm_wrong-secret-0000000000"),
            "wrong secret",
            bad_secret,
        ),
        (
            Cred::Basic(&key.public_key, &other.secret),
            "another key's secret",
            not_its_secret,
        ),
        (
            Cred::Basic(&key.public_key, KEY),
            "the bootstrap key's secret",
            not_its_secret,
        ),
        (
            Cred::Basic(&key.public_key, ""),
            "an empty secret",
            bad_secret,
        ),
    ];
    for (cred, what, needle) in bad {
        let (status, body) = api_get(&server, "/api/v1/project", cred);
        assert_api_401(status, &body, &format!("Basic with {what}"), needle);
        for path in OTLP {
            let resp = otlp_post(&server, path, &probe, Enc::Protobuf, cred);
            assert_otlp_401(
                &resp,
                Enc::Protobuf,
                &format!("{path} Basic with {what}"),
                needle,
            );
        }
    }
    let (status, _) = server.get(&format!("/api/v1/runs/{probe_id}"));
    assert_eq!(status, 404);
}

#[test]
fn a_project_sees_only_its_own_data() {
    let server = Server::start();
    let (ok, out, err) = server.cli(&["projects", "create", "other"]);
    assert!(ok, "projects create: {out} {err}");
    let other = create_key(&server, "other");
    replay(&server, "otel_manual");

    let default_runs = server.all_runs("");
    assert_eq!(default_runs.len(), 2);
    let run_id = default_runs[0]["run_id"].as_str().unwrap().to_string();

    // `other` sees nothing of `default`.
    let o = Cred::Bearer(&other.secret);
    let (status, body) = api_get(&server, "/api/v1/project", o);
    assert_eq!(
        (status, &body["project"]["name"]),
        (200, &Value::from("other"))
    );
    let (status, body) = api_get(&server, "/api/v1/runs", o);
    assert_eq!(status, 200);
    assert_eq!(body["runs"], Value::Array(vec![]), "{body}");
    let (status, body) = api_get(&server, "/api/v1/spans", o);
    assert_eq!(status, 200);
    assert_eq!(body["spans"], Value::Array(vec![]), "{body}");
    let (status, body) = api_get(&server, "/api/v1/threads", o);
    assert_eq!(status, 200);
    assert_eq!(body["threads"], Value::Array(vec![]), "{body}");
    let (status, body) = api_get(&server, &format!("/api/v1/runs/{run_id}"), o);
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "not_found");
    let (status, body) = api_get(&server, "/api/v1/threads/thread-42", o);
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "not_found");
    // A query cannot reach across either.
    let (status, body) = api_get(&server, "/api/v1/runs?q=agent:support_agent", o);
    assert_eq!((status, &body["runs"]), (200, &Value::Array(vec![])));

    // `default` sees them.
    let (status, body) = server.get("/api/v1/spans");
    assert_eq!(status, 200);
    assert!(!body["spans"].as_array().unwrap().is_empty(), "{body}");
    let body = server.api("/api/v1/threads");
    assert_eq!(body["threads"][0]["thread_id"], "thread-42");
    assert_eq!(
        server.api(&format!("/api/v1/runs/{run_id}"))["run"]["run_id"],
        run_id.as_str()
    );
    assert_eq!(
        server.api("/api/v1/threads/thread-42")["runs"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // What `other` sends lands in `other`, not in `default`.
    let (request, id) = one_span_run(7, "other_agent");
    let (status, _, _) = otlp_post(&server, "/v1/traces", &request, Enc::Protobuf, o);
    assert_eq!(status, 200);
    let (status, body) = api_get(&server, &format!("/api/v1/runs/{id}"), o);
    assert_eq!(
        (status, &body["run"]["agent_name"]),
        (200, &Value::from("other_agent"))
    );
    let (status, _) = server.get(&format!("/api/v1/runs/{id}"));
    assert_eq!(status, 404, "default must not see other's run");
    assert_eq!(server.all_runs("").len(), 2);
}

/// An OTLP/gRPC export with the given metadata.
fn grpc_export(
    server: &Server,
    request: ExportTraceServiceRequest,
    metadata: &[(&'static str, &str)],
) -> Result<ExportTraceServiceResponse, tonic::Status> {
    fixtures::runtime().block_on(async {
        let mut client = TraceServiceClient::connect(server.grpc.clone())
            .await
            .unwrap();
        let mut req = tonic::Request::new(request);
        for (k, v) in metadata {
            req.metadata_mut().insert(*k, v.parse().unwrap());
        }
        client.export(req).await.map(|r| r.into_inner())
    })
}

#[test]
fn grpc_requires_a_valid_key() {
    let server = Server::start();
    let (probe, probe_id) = one_span_run(3, "grpc_agent");

    let status = grpc_export(&server, probe.clone(), &[]).expect_err("no key must be refused");
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
    assert!(status.message().contains("missing"), "{status:?}");
    assert!(
        status.message().contains("Authorization: Bearer"),
        "{status:?}"
    );

    let status = fixtures::send_grpc(&server, probe.clone(), "lm_wrong-key-000000000")
        .expect_err("a wrong key must be refused");
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
    assert!(status.message().contains("invalid"), "{status:?}");

    let status = grpc_export(&server, probe.clone(), &[("x-api-key", "wrong-key")])
        .expect_err("a wrong x-api-key must be refused");
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");

    let (status, _) = server.get(&format!("/api/v1/runs/{probe_id}"));
    assert_eq!(status, 404, "a refused export must not be stored");

    let resp = fixtures::send_grpc(&server, probe, KEY).expect("the right key works");
    assert!(resp.partial_success.is_none());
    assert_eq!(
        server.api(&format!("/api/v1/runs/{probe_id}"))["run"]["agent_name"],
        "grpc_agent"
    );
    let (second, second_id) = one_span_run(4, "grpc_agent");
    grpc_export(&server, second, &[("x-api-key", KEY)]).expect("x-api-key works over gRPC");
    assert_eq!(
        server.api(&format!("/api/v1/runs/{second_id}"))["run"]["run_id"],
        second_id.as_str()
    );
}
