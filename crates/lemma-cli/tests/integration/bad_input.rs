//! Malformed, oversized and hostile input: each gets the right status and an error that says
//! what to do, and the server keeps serving afterwards.

use crate::common;

use std::io::Write;

use common::otlp::{hex, request, string_attr};
use common::{client, fixtures, mcp_tool, Server, KEY};
use lemma_core::otlp::RpcStatus;
use lemma_core::query::{MAX_QUERY_CHARS, MAX_TERMS, MAX_VALUES};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::Value;

const LIMIT: &str = "65536";

fn start() -> Server {
    Server::start_with(&["--max-body-bytes", LIMIT])
}

/// An answer from `/v1/traces`.
struct Answer {
    status: u16,
    content_type: String,
    retry_after: Option<String>,
    body: Vec<u8>,
}

impl Answer {
    fn from(resp: reqwest::blocking::Response) -> Answer {
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
        };
        let content_type = header("content-type").unwrap_or_default();
        let retry_after = header("retry-after");
        Answer {
            status: resp.status().as_u16(),
            content_type,
            retry_after,
            body: resp.bytes().unwrap().to_vec(),
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as a `google.rpc.Status` (protobuf requests).
    fn rpc_status(&self) -> RpcStatus {
        assert_eq!(
            self.content_type,
            "application/x-protobuf",
            "{}",
            self.text()
        );
        RpcStatus::decode(&self.body[..])
            .unwrap_or_else(|e| panic!("not a google.rpc.Status ({e}): {:?}", self.body))
    }

    fn json(&self) -> Value {
        assert!(
            self.content_type.starts_with("application/json"),
            "{}: {}",
            self.content_type,
            self.text()
        );
        serde_json::from_slice(&self.body).unwrap()
    }
}

fn post(
    server: &Server,
    headers: &[(&str, &str)],
    body: impl Into<reqwest::blocking::Body>,
) -> Answer {
    let mut req = client().post(server.url("/v1/traces")).bearer_auth(KEY);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    Answer::from(req.body(body).send().unwrap())
}

const PROTOBUF: (&str, &str) = ("content-type", "application/x-protobuf");
const JSON: (&str, &str) = ("content-type", "application/json");

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn agent_span(trace_id: Vec<u8>, span_id: Vec<u8>, name: &str, attrs: Vec<KeyValue>) -> Span {
    let mut attributes = vec![string_attr("gen_ai.operation.name", "invoke_agent")];
    attributes.extend(attrs);
    Span {
        trace_id,
        span_id,
        name: name.into(),
        kind: 1,
        start_time_unix_nano: 1_700_000_000_000_000_000,
        end_time_unix_nano: 1_700_000_002_000_000_000,
        attributes,
        ..Default::default()
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The run ids `otel_manual` produces.
fn otel_manual_run_ids() -> Vec<String> {
    let mut ids: Vec<String> = fixtures::load("otel_manual")
        .iter()
        .flat_map(|r| r.message().resource_spans)
        .flat_map(|rs| rs.scope_spans)
        .flat_map(|ss| ss.spans)
        .map(|s| hex(&s.trace_id))
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 2);
    ids
}

fn run_ids(server: &Server) -> Vec<String> {
    server
        .all_runs("")
        .iter()
        .map(|r| r["run_id"].as_str().unwrap().to_string())
        .collect()
}

/// After whatever came before, the server is healthy and a valid export still lands.
fn assert_still_serving(server: &Server) {
    let resp = client().get(server.url("/healthz")).send().unwrap();
    assert_eq!(resp.status(), 200);
    for r in fixtures::load("otel_manual") {
        let resp = fixtures::replay_http(server, &r);
        assert_eq!(resp.status(), 200, "{:?}", resp.text());
    }
    let ids = run_ids(server);
    for id in otel_manual_run_ids() {
        assert!(
            ids.contains(&id),
            "run {id} of a valid export is not listed: {ids:?}"
        );
    }
    let run = server.api(&format!("/api/v1/runs/{}", otel_manual_run_ids()[0]));
    assert!(run["run"]["span_count"].as_u64().unwrap() >= 3, "{run}");
}

#[test]
fn refused_otlp_bodies_get_the_right_status_and_an_actionable_error() {
    let server = start();
    let valid = std::fs::read(fixtures::dir().join("otel_manual/0001.body.pb")).unwrap();
    assert!(ExportTraceServiceRequest::decode(&valid[..]).is_ok());

    // Truncated protobuf: 400, answered as protobuf.
    let a = post(&server, &[PROTOBUF], valid[..valid.len() / 2].to_vec());
    assert_eq!(a.status, 400, "{}", a.text());
    let s = a.rpc_status();
    assert_eq!(s.code, 3, "INVALID_ARGUMENT");
    assert!(s.message.contains("protobuf"), "{}", s.message);

    // Content types: 415 saying what to send.
    for (what, headers) in [
        ("text/plain", vec![("content-type", "text/plain")]),
        (
            "form",
            vec![("content-type", "application/x-www-form-urlencoded")],
        ),
        ("missing", vec![]),
    ] {
        let a = post(&server, &headers, valid.clone());
        assert_eq!(a.status, 415, "{what}: {}", a.text());
        let v = a.json();
        assert_eq!(v["error"]["code"], "unsupported_media_type", "{what}: {v}");
        let m = v["error"]["message"].as_str().unwrap();
        assert!(
            m.contains("application/x-protobuf") && m.contains("application/json"),
            "{what}: {m}"
        );
    }

    // A valid request that is too large, with Content-Length and chunked.
    let big = request(vec![agent_span(
        vec![7; 16],
        vec![7; 8],
        "invoke_agent big",
        vec![string_attr("payload", &"x".repeat(70_000))],
    )])
    .encode_to_vec();
    assert!(big.len() >= 70_000);
    let chunked = || reqwest::blocking::Body::new(std::io::Cursor::new(big.clone()));
    for (what, a) in [
        ("content-length", post(&server, &[PROTOBUF], big.clone())),
        ("chunked", post(&server, &[PROTOBUF], chunked())),
    ] {
        assert_eq!(a.status, 413, "{what}: {}", a.text());
        let s = a.rpc_status();
        assert_eq!(s.code, 3, "{what}");
        assert!(
            s.message.contains(LIMIT) && s.message.contains("--max-body-bytes"),
            "{what}: {}",
            s.message
        );
    }
    let (status, _) = server.get(&format!("/api/v1/runs/{}", hex(&[7; 16])));
    assert_eq!(status, 404, "an oversized request must not be stored");

    // Invalid JSON: 400, answered as JSON with both the OTLP and Lemma fields.
    let a = post(
        &server,
        &[JSON],
        br#"{"resourceSpans": [ {"scopeSpans": "#.to_vec(),
    );
    assert_eq!(a.status, 400, "{}", a.text());
    let v = a.json();
    assert_eq!(v["code"], 3, "{v}");
    assert!(v["message"].as_str().unwrap().contains("JSON"), "{v}");
    assert_eq!(v["error"]["code"], "bad_request", "{v}");
    // Valid JSON that is not an OTLP request.
    let a = post(&server, &[JSON], br#"{"resourceSpans": 42}"#.to_vec());
    assert_eq!(a.status, 400, "{}", a.text());
    assert!(a.json()["message"].as_str().unwrap().contains("JSON"));

    // A gzip bomb: small on the wire, 64 MiB inflated.
    let bomb = gzip(&vec![0u8; 64 << 20]);
    assert!(
        bomb.len() < 65_536,
        "the bomb itself must fit under the limit ({} bytes)",
        bomb.len()
    );
    let a = post(&server, &[PROTOBUF, ("content-encoding", "gzip")], bomb);
    assert_eq!(a.status, 413, "{}", a.text());
    let s = a.rpc_status();
    assert!(s.message.contains("decompressed"), "{}", s.message);
    assert!(s.message.contains(LIMIT), "{}", s.message);

    // The same valid body gzipped is fine; corrupted or cut short it is a 400.
    let good_gz = gzip(&valid);
    let a = post(
        &server,
        &[PROTOBUF, ("content-encoding", "gzip")],
        good_gz.clone(),
    );
    assert_eq!(a.status, 200, "{}", a.text());
    let mut flipped = good_gz.clone();
    let mid = flipped.len() / 2;
    for b in &mut flipped[mid..mid + 16] {
        *b ^= 0x5a;
    }
    let cut = good_gz[..good_gz.len() / 2].to_vec();
    let not_gzip = b"this is not gzip at all".to_vec();
    for (what, body) in [("flipped", flipped), ("cut", cut), ("not gzip", not_gzip)] {
        let a = post(&server, &[PROTOBUF, ("content-encoding", "gzip")], body);
        assert_eq!(a.status, 400, "{what}: {}", a.text());
        let s = a.rpc_status();
        assert!(s.message.contains("gzip"), "{what}: {}", s.message);
    }

    // Unsupported Content-Encoding: 415 naming what is supported.
    let a = post(
        &server,
        &[PROTOBUF, ("content-encoding", "br")],
        valid.clone(),
    );
    assert_eq!(a.status, 415, "{}", a.text());
    let s = a.rpc_status();
    assert!(
        s.message.contains("br") && s.message.contains("gzip"),
        "{}",
        s.message
    );
    let a = post(&server, &[JSON, ("content-encoding", "br")], b"{}".to_vec());
    assert_eq!(a.status, 415, "{}", a.text());
    assert!(a.json()["message"]
        .as_str()
        .unwrap()
        .contains("Content-Encoding"));

    // Only the gzipped valid body (both otel_manual traces) was stored.
    let mut ids = run_ids(&server);
    ids.sort();
    assert_eq!(ids, otel_manual_run_ids());
    assert_still_serving(&server);
}

fn bad_ids_spans() -> (Vec<Span>, String, String) {
    let good_trace = vec![0xabu8; 16];
    let zero_span_trace = vec![0xcdu8; 16];
    let spans = vec![
        agent_span(vec![0x12; 15], vec![0x34; 8], "short trace id", vec![]),
        agent_span(zero_span_trace.clone(), vec![0; 8], "zero span id", vec![]),
        agent_span(
            good_trace.clone(),
            vec![0x56; 8],
            "invoke_agent good_agent",
            vec![string_attr("gen_ai.agent.name", "good_agent")],
        ),
    ];
    (spans, hex(&good_trace), hex(&zero_span_trace))
}

fn assert_only_the_good_span_is_stored(server: &Server, good: &str, zero_span: &str) {
    let runs = server.all_runs("");
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["run_id"], good);
    assert_eq!(runs[0]["agent_name"], "good_agent");
    assert_eq!(runs[0]["span_count"], 1);
    let (status, _) = server.get(&format!("/api/v1/runs/{zero_span}"));
    assert_eq!(status, 404);
}

#[test]
fn spans_with_bad_ids_are_rejected_one_by_one_over_json() {
    let server = start();
    let (spans, good, zero_span) = bad_ids_spans();
    let body = serde_json::to_vec(&request(spans)).unwrap();
    // The JSON carries the ids as hex, 30 characters for the short one.
    let text = String::from_utf8(body.clone()).unwrap();
    assert!(text.contains(&format!("\"{}\"", "12".repeat(15))), "{text}");
    assert!(text.contains("\"0000000000000000\""), "{text}");

    let a = post(&server, &[JSON], body);
    assert_eq!(a.status, 200, "{}", a.text());
    let v = a.json();
    assert_eq!(v["partialSuccess"]["rejectedSpans"], "2", "{v}");
    let msg = v["partialSuccess"]["errorMessage"].as_str().unwrap();
    assert!(msg.contains("trace_id") && msg.contains("span_id"), "{msg}");
    assert!(
        msg.contains("short trace id") && msg.contains("zero span id"),
        "{msg}"
    );

    assert_only_the_good_span_is_stored(&server, &good, &zero_span);
    assert_still_serving(&server);
}

#[test]
fn spans_with_bad_ids_are_rejected_one_by_one_over_protobuf() {
    let server = start();
    let (spans, good, zero_span) = bad_ids_spans();
    let a = post(&server, &[PROTOBUF], request(spans).encode_to_vec());
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(a.content_type, "application/x-protobuf");
    let resp = ExportTraceServiceResponse::decode(&a.body[..]).unwrap();
    let partial = resp.partial_success.expect("a partial_success");
    assert_eq!(partial.rejected_spans, 2);
    assert!(
        partial.error_message.contains("trace_id") && partial.error_message.contains("span_id"),
        "{}",
        partial.error_message
    );

    assert_only_the_good_span_is_stored(&server, &good, &zero_span);
    // A fully valid export has no partial_success.
    let a = post(
        &server,
        &[PROTOBUF],
        std::fs::read(fixtures::dir().join("otel_manual/0001.body.pb")).unwrap(),
    );
    assert_eq!(a.status, 200);
    assert!(ExportTraceServiceResponse::decode(&a.body[..])
        .unwrap()
        .partial_success
        .is_none());
    assert_eq!(a.retry_after, None);
    assert_still_serving(&server);
}

fn api(server: &Server, path: &str, params: &[(&str, &str)]) -> (u16, Value) {
    let resp = client()
        .get(server.url(path))
        .bearer_auth(KEY)
        .query(params)
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let text = resp.text().unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!("GET {path} {params:?}: {status} answered {ct} that is not JSON ({e}): {text}")
    });
    (status, body)
}

fn assert_bad_request(status: u16, body: &Value, what: &str, needles: &[&str]) {
    assert_eq!(status, 400, "{what}: {body}");
    assert_eq!(body["error"]["code"], "bad_request", "{what}: {body}");
    let m = body["error"]["message"].as_str().unwrap();
    for n in needles {
        assert!(m.contains(n), "{what}: {m:?} lacks {n:?}");
    }
}

#[test]
fn bad_api_requests_get_400_with_the_reason() {
    let server = start();
    for r in fixtures::load("otel_manual") {
        assert_eq!(fixtures::replay_http(&server, &r).status(), 200);
    }
    for path in ["/api/v1/runs", "/api/v1/spans", "/api/v1/threads"] {
        let (s, b) = api(&server, path, &[("q", "status:bogus")]);
        assert_bad_request(s, &b, path, &["position 7", "bogus", "ok, error or unset"]);
        let (s, b) = api(&server, path, &[("q", "tokens>abc")]);
        assert_bad_request(s, &b, path, &["position", "tokens>"]);
        let (s, b) = api(&server, path, &[("q", "\"unterminated")]);
        assert_bad_request(s, &b, path, &["position 0", "closing"]);
        let (s, b) = api(&server, path, &[("cursor", "!!not-a-cursor")]);
        assert_bad_request(s, &b, path, &["cursor", "next_cursor"]);
        let (s, b) = api(&server, path, &[("cursor", "Zm9v")]);
        assert_bad_request(s, &b, path, &["cursor"]);
        for limit in ["0", "1001"] {
            let (s, b) = api(&server, path, &[("limit", limit)]);
            assert_bad_request(s, &b, &format!("{path} limit={limit}"), &["limit", "1000"]);
        }
        // Not a number at all: still a JSON error the CLI and SDKs can read.
        for limit in ["abc", "-1"] {
            let (s, b) = api(&server, path, &[("limit", limit)]);
            assert_bad_request(s, &b, &format!("{path} limit={limit}"), &["limit"]);
        }
        // The edges of the range are fine.
        for limit in ["1", "1000"] {
            let (s, b) = api(&server, path, &[("limit", limit)]);
            assert_eq!(s, 200, "{path} limit={limit}: {b}");
        }
    }

    for id in [
        "not-a-run-id",
        "0123456789abcdef0123456789abcde",   // 31
        "0123456789abcdef0123456789abcdef0", // 33
        "g123456789abcdef0123456789abcdef",
    ] {
        let (s, b) = api(&server, &format!("/api/v1/runs/{id}"), &[]);
        assert_bad_request(s, &b, id, &["not a run ID", "32 hex"]);
    }
    let unknown = "0123456789abcdef0123456789abcdef";
    let (s, b) = api(&server, &format!("/api/v1/runs/{unknown}"), &[]);
    assert_eq!(s, 404, "{b}");
    assert_eq!(b["error"]["code"], "not_found");
    assert!(
        b["error"]["message"].as_str().unwrap().contains(unknown),
        "{b}"
    );
    let (s, b) = api(&server, "/api/v1/threads/no-such-thread", &[]);
    assert_eq!(s, 404, "{b}");
    assert!(b["error"]["message"]
        .as_str()
        .unwrap()
        .contains("no-such-thread"));
    // Run ids are case-insensitive.
    let id = otel_manual_run_ids()[0].to_ascii_uppercase();
    let (s, b) = api(&server, &format!("/api/v1/runs/{id}"), &[]);
    assert_eq!(s, 200, "{b}");

    assert_still_serving(&server);
}

#[test]
fn hostile_strings_are_stored_and_returned_verbatim() {
    let server = start();
    let sql = "'); DROP TABLE runs; --";
    let name = format!("{sql} <script>alert(\"name\")</script>");
    let agent = "<script>alert(1)</script>";
    let user = "'; DELETE FROM spans WHERE '1'='1";
    let thread = "thread'); DROP TABLE threads; --/../%2e";
    let note =
        "quote \" backslash \\ nul \u{0} bidi \u{202e} emoji 🦀 <img src=x onerror=alert(1)>";
    let trace_id = vec![0x42u8; 16];
    let span = agent_span(
        trace_id.clone(),
        vec![0x24; 8],
        &name,
        vec![
            string_attr("gen_ai.agent.name", agent),
            string_attr("user.id", user),
            string_attr("gen_ai.conversation.id", thread),
            string_attr("note", note),
            string_attr(sql, "a key that is SQL"),
        ],
    );
    let a = post(&server, &[PROTOBUF], request(vec![span]).encode_to_vec());
    assert_eq!(a.status, 200, "{}", a.text());
    let id = hex(&trace_id);

    let runs = server.all_runs("");
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run["run_id"], id.as_str());
    assert_eq!(run["name"], name.as_str());
    assert_eq!(run["agent_name"], agent);
    assert_eq!(run["user_id"], user);
    assert_eq!(run["thread_id"], thread);

    let body = server.api(&format!("/api/v1/runs/{id}"));
    let span = &body["spans"][0];
    assert_eq!(span["name"], name.as_str());
    assert_eq!(span["attributes"]["note"], note);
    assert_eq!(span["attributes"][sql], "a key that is SQL");
    assert_eq!(span["attributes"]["gen_ai.agent.name"], agent);

    // Searching with the same strings finds the run, and only by its values.
    for q in [
        format!("user:\"{user}\""),
        format!("agent:\"{agent}\""),
        "\"DROP TABLE runs\"".to_string(),
        format!("\"{sql}\""),
    ] {
        let found = server.all_runs(&q);
        assert_eq!(found.len(), 1, "query {q:?}: {found:?}");
        assert_eq!(found[0]["run_id"], id.as_str(), "query {q:?}");
    }
    assert!(server.all_runs("user:\"' OR '1'='1\"").is_empty());

    // The thread is reachable by its id, percent-encoded.
    let path = format!("/api/v1/threads/{}", urlencode(thread));
    let resp = client()
        .get(server.url(&path))
        .bearer_auth(KEY)
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    let t: Value = resp.json().unwrap();
    assert_eq!(t["thread"]["thread_id"], thread);
    assert_eq!(t["runs"][0]["run_id"], id.as_str());

    // The tables are all still there.
    assert_still_serving(&server);
    assert_eq!(server.all_runs("").len(), 3);
    let threads = server.api("/api/v1/threads");
    assert_eq!(threads["threads"].as_array().unwrap().len(), 2, "{threads}");
}

#[test]
fn a_deflate_bomb_is_refused_too() {
    let server = start();
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(&vec![0u8; 16 << 20]).unwrap();
    let bomb = enc.finish().unwrap();
    assert!(bomb.len() < 65_536);
    let a = post(&server, &[PROTOBUF, ("content-encoding", "deflate")], bomb);
    assert_eq!(a.status, 413, "{}", a.text());
    assert!(a.rpc_status().message.contains("decompressed"));
    // And a small deflate body decodes.
    let valid = std::fs::read(fixtures::dir().join("otel_manual/0001.body.pb")).unwrap();
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&valid).unwrap();
    let a = post(
        &server,
        &[PROTOBUF, ("content-encoding", "deflate")],
        enc.finish().unwrap(),
    );
    assert_eq!(a.status, 200, "{}", a.text());
    assert_still_serving(&server);
}

#[test]
fn unknown_routes_wrong_methods_and_bad_paths_answer_json_errors() {
    let server = start();
    let cases = [
        ("GET", "/api/v1/nope", 404, "not_found"),
        ("DELETE", "/api/v1/runs", 405, "method_not_allowed"),
        ("GET", "/v1/traces", 405, "method_not_allowed"),
        ("GET", "/api/v1/runs/%FF", 400, "bad_request"),
        ("GET", "/api/v1/threads/%FF%FE", 400, "bad_request"),
    ];
    for (method, path, status, code) in cases {
        let resp = client()
            .request(method.parse().unwrap(), server.url(path))
            .bearer_auth(KEY)
            .send()
            .unwrap();
        assert_eq!(resp.status().as_u16(), status, "{method} {path}");
        let body: Value = resp
            .json()
            .unwrap_or_else(|e| panic!("{method} {path}: not JSON: {e}"));
        assert_eq!(body["error"]["code"], code, "{method} {path}: {body}");
        assert!(!body["error"]["message"].as_str().unwrap().is_empty());
    }
    assert_still_serving(&server);
}

/// The otel_manual runs' month, for stats.
const STATS_RANGE: [(&str, &str); 2] = [("from", "2026-11-01"), ("to", "2026-12-01")];

/// GET `path` with `q`, and for stats the fixtures' range.
fn search(server: &Server, path: &str, q: &str) -> (u16, Value) {
    let mut params = vec![("q", q)];
    if path.ends_with("stats") {
        params.extend(STATS_RANGE);
    }
    api(server, path, &params)
}

const SEARCHES: [&str; 4] = [
    "/api/v1/runs",
    "/api/v1/spans",
    "/api/v1/threads",
    "/api/v1/stats",
];

fn send(server: &Server, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = client()
        .request(method.parse().unwrap(), server.url(path))
        .bearer_auth(KEY);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().unwrap())
}

#[test]
fn a_nul_or_other_control_character_is_a_400_wherever_it_is_sent() {
    let server = start();
    for r in fixtures::load("otel_manual") {
        assert_eq!(fixtures::replay_http(&server, &r).status(), 200);
    }
    // In the query language, wherever it sits in a term: each is refused at its position,
    // before any store sees it (a NUL used to reach SQLite's full-text and JSON path parsers).
    for path in SEARCHES {
        for (q, position, character) in [
            ("a\0b", 1, "U+0000"),
            ("x \"a b\0\"", 6, "U+0000"),
            ("agent:a\0*", 7, "U+0000"),
            ("meta.k\0:x", 6, "U+0000"),
            ("metric.q:a\0b", 10, "U+0000"),
            ("thread:t\u{1}", 8, "U+0001"),
            ("\u{7f}", 0, "U+007F"),
        ] {
            let (s, b) = search(&server, path, q);
            assert_bad_request(
                s,
                &b,
                &format!("{path} q={q:?}"),
                &[&format!("position {position}"), character, "remove it"],
            );
        }
        // The same searches without the control character run.
        let (s, b) = search(&server, path, "x \"a b\" agent:a* metric.q:a thread:t");
        assert_eq!(s, 200, "{path}: {b}");
    }

    // Path parameters and the other parameters: a 400 saying what is wrong, or a 404 for an
    // id nothing can have, never a 500.
    let run = &otel_manual_run_ids()[0];
    let (s, b) = api(&server, "/api/v1/threads/thread%00-42", &[]);
    assert_eq!(s, 404, "{b}");
    assert_eq!(b["error"]["code"], "not_found", "{b}");
    let (s, b) = api(&server, &format!("/api/v1/runs/{run}%00"), &[]);
    assert_bad_request(s, &b, "run id", &["not a run ID"]);
    let (s, b) = api(&server, &format!("/api/v1/runs/{run}%00/metrics"), &[]);
    assert_bad_request(s, &b, "metrics of a run id", &["not a run ID"]);
    for (param, value) in [
        ("from", "1d\0"),
        ("to", "\u{0}2026-11-01"),
        ("bucket", "1h\0"),
    ] {
        let mut params = vec![(param, value)];
        params.extend(STATS_RANGE.iter().filter(|(p, _)| *p != param));
        let (s, b) = api(&server, "/api/v1/stats", &params);
        assert_bad_request(s, &b, param, &[param]);
    }
    for path in &SEARCHES[..3] {
        let (s, b) = api(&server, path, &[("cursor", "MTIz\0")]);
        assert_bad_request(s, &b, path, &["cursor"]);
        let (s, b) = api(&server, path, &[("limit", "5\0")]);
        assert_bad_request(s, &b, path, &["limit"]);
    }
    let metrics = format!("/api/v1/runs/{run}/metrics");
    for (event, needle) in [
        (serde_json::json!({"name": "a\0b", "value": 1}), "name"),
        (
            serde_json::json!({"name": "q", "value": 1, "source": "s\0"}),
            "source",
        ),
        (
            serde_json::json!({"name": "q", "value": 1, "span_id": "0123456789abcde\0"}),
            "span_id",
        ),
    ] {
        let (s, b) = send(&server, "POST", &metrics, Some(event.clone()));
        assert_bad_request(s, &b, &event.to_string(), &[needle]);
    }
    let price = serde_json::json!({"input": 1, "output": 2});
    for model in ["gpt%00", "%00", "a%01b"] {
        let path = format!("/api/v1/prices/{model}");
        let (s, b) = send(&server, "PUT", &path, Some(price.clone()));
        assert_bad_request(s, &b, &path, &["control characters"]);
        let (s, b) = send(&server, "DELETE", &path, None);
        assert_bad_request(
            s,
            &b,
            &path,
            &["invalid model pattern", "control characters"],
        );
    }

    assert_still_serving(&server);
}

/// A query at every limit at once: exactly `MAX_TERMS` terms and `MAX_QUERY_CHARS` characters,
/// with lists of `MAX_VALUES` values, and as deep as SQL from one query gets: a `metric.` list
/// tests each value as a number and as text, and a run's models are a JSON list to search.
/// Every term is negated and matches nothing here, so every run matches the whole query.
fn query_at_limits() -> String {
    let numbers: Vec<String> = (0..MAX_VALUES).map(|i| i.to_string()).collect();
    let models: Vec<String> = (0..MAX_VALUES).map(|i| format!("m{i}")).collect();
    let mut terms = vec![
        format!("-metric.q:{}", numbers.join(",")),
        format!("-model:{}", models.join(",")),
    ];
    let fillers = [
        "zq",
        "agent:zq*",
        "thread:zq",
        "user:zq",
        "env:zq",
        "tool:zq",
    ];
    for i in terms.len()..MAX_TERMS - 1 {
        terms.push(format!("-{}{i}", fillers[i % fillers.len()]));
    }
    let so_far = terms.join(" ").chars().count();
    // The last term, a phrase, takes the rest: ` -"` and `"` around it.
    let phrase = "zq ".repeat(MAX_QUERY_CHARS)[..MAX_QUERY_CHARS - so_far - 4].to_string();
    terms.push(format!("-\"{phrase}\""));
    let q = terms.join(" ");
    assert_eq!(q.chars().count(), MAX_QUERY_CHARS);
    q
}

#[test]
fn a_query_at_the_size_limits_runs_and_one_past_them_is_a_400() {
    let server = start();
    for r in fixtures::load("otel_manual") {
        assert_eq!(fixtures::replay_http(&server, &r).status(), 200);
    }
    // An event of the metric the query names, so its subqueries have rows to read.
    let run = &otel_manual_run_ids()[0];
    let event = serde_json::json!({"name": "q", "value": "none of those"});
    let (s, b) = send(
        &server,
        "POST",
        &format!("/api/v1/runs/{run}/metrics"),
        Some(event),
    );
    assert_eq!(s, 201, "{b}");

    let at = query_at_limits();
    let parsed = lemma_core::query::parse(&at, 0).unwrap();
    assert_eq!(parsed.clauses.len(), MAX_TERMS);
    let (s, b) = search(&server, "/api/v1/runs", &at);
    assert_eq!(s, 200, "{b}");
    let mut found: Vec<&str> = b["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].as_str().unwrap())
        .collect();
    found.sort();
    assert_eq!(found, otel_manual_run_ids(), "every run matches");
    let (s, b) = search(&server, "/api/v1/spans", &at);
    assert_eq!(s, 200, "{b}");
    assert!(b["spans"].as_array().unwrap().len() >= 6, "{b}");
    let (s, b) = search(&server, "/api/v1/threads", &at);
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["threads"].as_array().unwrap().len(), 1, "{b}");
    let (s, b) = search(&server, "/api/v1/stats", &at);
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["totals"]["runs"], 2, "{b}");

    // One character, one term or one value more: a 400 where the limit was passed.
    let values = |n: usize| {
        let v: Vec<String> = (0..n).map(|i| format!("m{i:03}")).collect();
        format!("model:{}", v.join(","))
    };
    let terms = |n: usize| vec!["zq"; n].join(" ");
    assert!(lemma_core::query::parse(&values(MAX_VALUES), 0).is_ok());
    assert!(lemma_core::query::parse(&terms(MAX_TERMS), 0).is_ok());
    let past = [
        (
            format!("{at}x"),
            MAX_QUERY_CHARS,
            "the query is 4097 characters long, more than the 4096 allowed",
        ),
        (terms(MAX_TERMS + 1), 3 * MAX_TERMS, "at most 100 terms"),
        (
            values(MAX_VALUES + 1),
            "model:".len() + 5 * MAX_VALUES,
            "at most 100 values",
        ),
    ];
    for path in SEARCHES {
        for (q, position, needle) in &past {
            let (s, b) = search(&server, path, q);
            assert_bad_request(
                s,
                &b,
                &format!("{path}: {needle}"),
                &[&format!("invalid query at position {position}:"), needle],
            );
        }
    }
    assert_still_serving(&server);
}

#[test]
fn a_payload_nested_past_the_limit_is_stored_as_text_and_everything_still_reads() {
    let server = start();
    let deep = format!("{}1{}", "[".repeat(127), "]".repeat(127));
    let deep_trace = vec![0x51u8; 16];
    let deep_span = agent_span(
        deep_trace.clone(),
        vec![0x15; 8],
        "deep",
        vec![
            string_attr("lemma.input", &deep),
            string_attr("lemma.metadata.x", &deep),
            string_attr("gen_ai.conversation.id", "t-deep"),
        ],
    );
    // In the same request, so in the same commit: it must not fail the other span either.
    let plain_trace = vec![0x52u8; 16];
    let plain = agent_span(plain_trace.clone(), vec![0x25; 8], "plain", vec![]);
    let a = post(
        &server,
        &[PROTOBUF],
        request(vec![deep_span, plain]).encode_to_vec(),
    );
    assert_eq!(a.status, 200, "{}", a.text());
    let (deep_id, plain_id) = (hex(&deep_trace), hex(&plain_trace));

    let check = |server: &Server, spans: usize| {
        let mut ids = run_ids(server);
        ids.sort();
        assert_eq!(ids, [deep_id.clone(), plain_id.clone()]);
        let body = server.api(&format!("/api/v1/runs/{deep_id}"));
        assert_eq!(body["run"]["input"], deep.as_str());
        assert_eq!(body["run"]["metadata"]["x"], deep.as_str());
        assert_eq!(body["spans"][0]["input"], deep.as_str());
        let thread = server.api("/api/v1/threads/t-deep");
        assert_eq!(thread["runs"][0]["run_id"], deep_id.as_str());
        let found = server.api("/api/v1/spans");
        assert_eq!(found["spans"].as_array().unwrap().len(), spans);
        let (ok, out, err) = server.cli(&["runs"]);
        assert!(ok, "lemma runs: {err}");
        assert!(out.contains(&deep_id) && out.contains(&plain_id), "{out}");
        let (ok, _, err) = server.cli(&["run", &deep_id, "--transcript"]);
        assert!(ok, "lemma run --transcript: {err}");
        let found = mcp_tool(server, "search_runs", serde_json::json!({}));
        assert!(found.contains(&deep_id), "{found}");
    };
    check(&server, 2);
    // A later span of the run is committed; the run is summarised from the stored ones.
    let late = agent_span(
        deep_trace.clone(),
        vec![0x16; 8],
        "late",
        vec![string_attr("lemma.metadata.y", &deep)],
    );
    let a = post(&server, &[PROTOBUF], request(vec![late]).encode_to_vec());
    assert_eq!(a.status, 200, "{}", a.text());
    check(&server, 3);
    let mut server = server;
    assert!(server.stop());
    let again = Server::start_in(&server.data_dir, &[]);
    check(&again, 3);
}

#[test]
fn times_past_2262_are_rejected_alone_and_absurd_token_counts_are_never_counted() {
    let server = start();
    let mut spans = Vec::new();
    for (n, start) in [
        (1u8, 1u64 << 63),
        (2, u64::MAX),
        (3, 1_700_000_000_000_000_000),
    ] {
        let mut span = agent_span(
            vec![0x60 + n; 16],
            vec![n; 8],
            &format!("s{n}"),
            vec![string_attr(
                "gen_ai.usage.input_tokens",
                "18446744073709551615",
            )],
        );
        span.start_time_unix_nano = start;
        span.end_time_unix_nano = start;
        spans.push(span);
    }
    // A second span of the kept run with the same absurd count.
    let mut child = spans[2].clone();
    child.span_id = vec![9; 8];
    child.parent_span_id = vec![3; 8];
    spans.push(child);
    let a = post(&server, &[PROTOBUF], request(spans).encode_to_vec());
    assert_eq!(a.status, 200, "{}", a.text());
    let partial = ExportTraceServiceResponse::decode(&a.body[..])
        .unwrap()
        .partial_success
        .expect("a partial success");
    assert_eq!(partial.rejected_spans, 2);
    assert!(
        partial.error_message.contains("2262") && partial.error_message.contains("\"s1\""),
        "{}",
        partial.error_message
    );
    let runs = server.all_runs("since:2020-01-01");
    assert_eq!(runs.len(), 1, "{runs:?}");
    let run = &runs[0];
    assert_eq!(run["run_id"], hex(&[0x63; 16]).as_str());
    assert_eq!(
        (run["input_tokens"].as_u64(), run["total_tokens"].as_u64()),
        (Some(0), Some(0))
    );
    assert!(run["cost_usd"].is_null(), "{run}");
    let body = server.api(&format!("/api/v1/runs/{}", hex(&[0x63; 16])));
    let span = &body["spans"][0];
    assert!(span["input_tokens"].is_null(), "{span}");
    assert_eq!(
        span["attributes"]["gen_ai.usage.input_tokens"],
        "18446744073709551615"
    );
}
