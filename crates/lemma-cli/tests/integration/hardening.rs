//! What a hostile or broken client can do to a real `lemma serve`, over raw sockets where a
//! well-behaved HTTP client would hide it: bodies on routes without a key, bodies too large or
//! too slow, headers that never end, more connections than the server may hold, more bytes in
//! flight than it may hold, and gRPC messages it cannot decode. After each, the server must
//! still answer everyone else.

use crate::common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::fixtures;
use common::otlp::{request, string_attr};
use common::{Server, KEY};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue, KeyValueList};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

const RUN: &str = "0123456789abcdef0123456789abcdef";

fn addr(server: &Server) -> String {
    server.http.trim_start_matches("http://").to_string()
}

/// Sends `head` (request line and headers, without the blank line) and `body_prefix`, then
/// reads the answer without sending the rest of the body. Returns the status and the text.
fn send_partial(server: &Server, head: &str, body_prefix: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr(server)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(b"\r\n\r\n").unwrap();
    // The server may close the connection before taking all of it: that is fine.
    let _ = stream.write_all(body_prefix);
    read_answer(&mut stream)
}

fn read_answer(stream: &mut TcpStream) -> (u16, String) {
    let mut answer = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                answer.extend_from_slice(&buf[..n]);
                if complete(&answer) {
                    break;
                }
            }
            Err(e) if answer.is_empty() => panic!("no answer: {e}"),
            Err(_) => break,
        }
    }
    let text = String::from_utf8_lossy(&answer).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {text:?}"));
    (status, text)
}

/// Whether `answer` holds the headers and the whole Content-Length body.
fn complete(answer: &[u8]) -> bool {
    let text = String::from_utf8_lossy(answer);
    let Some(end) = text.find("\r\n\r\n") else {
        return false;
    };
    let length = text[..end]
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    answer.len() >= end + 4 + length
}

fn healthy(server: &Server) -> bool {
    common::client()
        .get(server.url("/healthz"))
        .timeout(Duration::from_secs(2))
        .send()
        .map(|r| r.status() == 200)
        .unwrap_or(false)
}

/// Every route that takes a body, as (method, path, content type).
const BODY_ROUTES: [(&str, &str, &str); 7] = [
    ("POST", "/v1/traces", "application/x-protobuf"),
    ("POST", "/api/public/otel/v1/traces", "application/json"),
    ("POST", "/v1/logs", "application/json"),
    ("POST", "/api/v1/runs/RUN/metrics", "application/json"),
    ("PUT", "/api/v1/prices/gpt-4o", "application/json"),
    ("POST", "/api/v1/prices/apply", "application/json"),
    ("POST", "/mcp", "application/json"),
];

#[test]
fn without_a_key_no_route_reads_the_body() {
    let server = Server::start();
    for (method, path, content_type) in BODY_ROUTES {
        let path = path.replace("RUN", RUN);
        // Claims 512 MB and sends 64 KB: the answer must come without the rest.
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n\
             Accept: application/json, text/event-stream\r\nContent-Length: 536870912"
        );
        let started = Instant::now();
        let (status, text) = send_partial(&server, &head, &[b'{'; 65536]);
        assert_eq!(status, 401, "{method} {path}: {text}");
        assert!(text.contains("API key"), "{method} {path}: {text}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{method} {path} answered only after {:?}",
            started.elapsed()
        );
    }
    let rss = common::rss_kb(server.pid()).expect("reading the server's RSS");
    assert!(
        rss < 200_000,
        "the server holds {rss} KiB after refusing them"
    );
    assert!(healthy(&server));
}

#[test]
fn a_body_over_its_routes_limit_is_413_even_with_a_key() {
    let server = Server::start_with(&["--max-body-bytes", "1048576"]);
    let auth = format!("Authorization: Bearer {KEY}");
    for (method, path, content_type) in BODY_ROUTES {
        let path = path.replace("RUN", RUN);
        // Declared too large: refused from the headers alone.
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\n{auth}\r\nContent-Type: {content_type}\r\n\
             Accept: application/json, text/event-stream\r\nContent-Length: 536870912"
        );
        let (status, text) = send_partial(&server, &head, b"{");
        assert_eq!(status, 413, "{method} {path}: {text}");
        assert!(text.contains("limit"), "{method} {path}: {text}");
    }
    // Chunked, with no length declared: refused once the limit is passed.
    for (method, path, content_type) in BODY_ROUTES {
        if path == "/api/v1/prices/apply" {
            continue; // reads no body
        }
        let path = path.replace("RUN", RUN);
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\n{auth}\r\nContent-Type: {content_type}\r\n\
             Accept: application/json, text/event-stream\r\nTransfer-Encoding: chunked"
        );
        let (status, text) = send_chunked(&server, &head, 4 * 1024 * 1024);
        assert_eq!(status, 413, "{method} {path}: {text}");
    }
    assert!(healthy(&server));
}

/// Sends `head` and then up to `total` bytes of chunked body, a chunk at a time, stopping as
/// soon as the server answers; returns the answer.
fn send_chunked(server: &Server, head: &str, total: usize) -> (u16, String) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let mut stream = TcpStream::connect(addr(server)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(b"\r\n\r\n").unwrap();
    let answered = Arc::new(AtomicBool::new(false));
    let mut writer = stream.try_clone().unwrap();
    let stop = answered.clone();
    let sender = std::thread::spawn(move || {
        let chunk = [b' '; 64 * 1024];
        let mut sent = 0;
        while sent < total && !stop.load(Ordering::SeqCst) {
            let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
            if writer.write_all(&framed).is_err() {
                return;
            }
            sent += chunk.len();
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    let answer = read_answer(&mut stream);
    answered.store(true, Ordering::SeqCst);
    sender.join().unwrap();
    answer
}

#[test]
fn headers_that_never_end_cannot_take_the_server_down() {
    let server = Server::start_with(&["--max-connections", "64", "--header-timeout", "2"]);
    // More half-sent requests than the server may hold connections.
    let mut idle = Vec::new();
    for _ in 0..200 {
        let Ok(mut s) = TcpStream::connect(addr(&server)) else {
            continue;
        };
        let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ");
        idle.push(s);
    }
    // Within the header deadline the server answers again.
    let started = Instant::now();
    while !healthy(&server) {
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "the server stopped answering"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // And it closed every half-sent request.
    std::thread::sleep(Duration::from_secs(3));
    for s in &mut idle {
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut buf = [0u8; 1024];
        let closed = match s.read(&mut buf) {
            Ok(_) => true, // EOF, or the 408 hyper sends before closing
            Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
        };
        assert!(closed, "a half-sent request is still held open");
    }
    assert!(healthy(&server));
}

#[test]
fn a_body_that_stops_arriving_is_408() {
    let server = Server::start_with(&["--body-timeout", "1"]);
    let mut stream = TcpStream::connect(addr(&server)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let head = format!(
        "POST /v1/traces HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n\
         Content-Type: application/x-protobuf\r\nContent-Length: 1000\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&[0u8; 10]).unwrap();
    let started = Instant::now();
    let (status, text) = read_answer(&mut stream);
    assert_eq!(status, 408, "{text}");
    assert!(text.contains("stopped arriving"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(healthy(&server));
}

/// A request of `spans` spans with `filler` bytes of input each, as protobuf.
fn padded_request(seed: u8, spans: usize, filler: usize) -> Vec<u8> {
    let spans = (0..spans)
        .map(|i| Span {
            trace_id: vec![seed; 16],
            span_id: [[seed; 4], (i as u32).to_be_bytes()].concat(),
            name: "step".into(),
            start_time_unix_nano: 1_700_000_000_000_000_000 + i as u64,
            end_time_unix_nano: 1_700_000_000_000_000_001 + i as u64,
            attributes: vec![string_attr("lemma.input", &"x".repeat(filler))],
            ..Default::default()
        })
        .collect();
    request(spans).encode_to_vec()
}

#[test]
fn bytes_in_flight_are_bounded_and_refusals_are_retryable() {
    let server = Server::start_with(&[
        "--max-body-bytes",
        "4194304",
        "--max-inflight-bytes",
        "6291456",
    ]);
    // A request that has sent 3.4 MB of its body holds that much of the budget...
    let held = padded_request(1, 3, 1_150_000);
    assert!(held.len() < 4194304);
    let mut slow = TcpStream::connect(addr(&server)).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let head = format!(
        "POST /v1/traces HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n\
         Content-Type: application/x-protobuf\r\nContent-Length: {}\r\n\r\n",
        held.len()
    );
    slow.write_all(head.as_bytes()).unwrap();
    let (first, rest) = held.split_at(held.len() - 100);
    slow.write_all(first).unwrap();
    std::thread::sleep(Duration::from_millis(500));

    // ...so another of 3 MB does not fit: 503 with Retry-After, at once.
    let other = padded_request(2, 3, 1_000_000);
    let response = common::client()
        .post(server.url("/v1/traces"))
        .bearer_auth(KEY)
        .header("content-type", "application/x-protobuf")
        .body(other.clone())
        .send()
        .unwrap();
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));

    // The first finishes; then the second fits.
    slow.write_all(rest).unwrap();
    let (status, text) = read_answer(&mut slow);
    assert_eq!(status, 200, "{text}");
    let response = common::client()
        .post(server.url("/v1/traces"))
        .bearer_auth(KEY)
        .header("content-type", "application/x-protobuf")
        .body(other)
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(server.all_runs("").len(), 2);
}

#[test]
fn undecodable_or_oversized_grpc_messages_are_invalid_argument() {
    let server = Server::start_with(&["--max-body-bytes", "1048576"]);
    fixtures::runtime().block_on(async {
        let channel = tonic::transport::Endpoint::from_shared(server.grpc.clone())
            .unwrap()
            .connect()
            .await
            .unwrap();
        for (what, bytes) in [
            ("malformed", vec![0xff; 64]),
            ("truncated", {
                let mut b = padded_request(3, 2, 100);
                b.truncate(b.len() - 7);
                b
            }),
            ("oversized", padded_request(4, 3, 512 * 1024)),
        ] {
            let status = raw_export(channel.clone(), bytes).await.unwrap_err();
            assert_eq!(
                status.code(),
                tonic::Code::InvalidArgument,
                "{what}: {status:?}"
            );
        }
        // A good one still works on the same channel.
        raw_export(channel, padded_request(5, 2, 10)).await.unwrap();
    });
    assert_eq!(server.all_runs("").len(), 1);
}

/// Calls TraceService/Export with `bytes` as the message, whatever they hold.
async fn raw_export(
    channel: tonic::transport::Channel,
    bytes: Vec<u8>,
) -> Result<(), tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let mut request = tonic::Request::new(bytes::Bytes::from(bytes));
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {KEY}").parse().unwrap());
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    );
    grpc.unary(request, path, RawCodec).await.map(|_| ())
}

/// Sends bytes as they are; reads the answer's bytes.
#[derive(Clone, Default)]
struct RawCodec;

impl tonic::codec::Codec for RawCodec {
    type Encode = bytes::Bytes;
    type Decode = bytes::Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl tonic::codec::Encoder for RawCodec {
    type Item = bytes::Bytes;
    type Error = tonic::Status;

    fn encode(
        &mut self,
        item: Self::Item,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), Self::Error> {
        use bytes::BufMut;
        dst.put(item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawCodec {
    type Item = bytes::Bytes;
    type Error = tonic::Status;

    fn decode(
        &mut self,
        src: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<Self::Item>, Self::Error> {
        use bytes::Buf;
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// A JSON text nested `depth` levels deep in arrays.
fn nested_text(depth: usize) -> String {
    format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
}

/// An OTLP value nested `depth` levels deep in key-value lists.
fn nested_value(depth: usize) -> AnyValue {
    let mut value = AnyValue {
        value: Some(any_value::Value::IntValue(1)),
    };
    for _ in 0..depth {
        value = AnyValue {
            value: Some(any_value::Value::KvlistValue(KeyValueList {
                values: vec![KeyValue {
                    key: "k".into(),
                    value: Some(value),
                    ..Default::default()
                }],
            })),
        };
    }
    value
}

#[test]
fn values_nested_deep_in_every_place_a_payload_can_be_read_back_everywhere() {
    let server = Server::start();
    let trace = vec![0x7au8; 16];
    let run_id = common::otlp::hex(&trace);
    let deep = nested_text(200);
    let messages = format!(
        r#"[{{"role":"user","parts":[{{"type":"text","content":"deep"}}],"extra":{deep}}}]"#
    );
    let places: Vec<(&str, Vec<KeyValue>)> = vec![
        (
            "root",
            vec![
                string_attr("gen_ai.operation.name", "invoke_agent"),
                string_attr("gen_ai.agent.name", "deep_agent"),
                string_attr("lemma.thread_id", "t-deep-everywhere"),
                string_attr("lemma.input", &deep),
                string_attr("lemma.output", &deep),
                string_attr("lemma.metadata.deep", &deep),
                string_attr("lemma.tags", &deep),
            ],
        ),
        (
            "model",
            vec![
                string_attr("gen_ai.operation.name", "chat"),
                string_attr("gen_ai.request.model", "gpt-4o"),
                string_attr("gen_ai.input.messages", &messages),
                string_attr("gen_ai.output.messages", &deep),
                string_attr("llm.input_messages.0.message.content", &deep),
            ],
        ),
        (
            "tool",
            vec![
                string_attr("gen_ai.operation.name", "execute_tool"),
                string_attr("gen_ai.tool.name", "dig"),
                string_attr("gen_ai.tool.call.arguments", &deep),
                string_attr("gen_ai.tool.call.result", &deep),
                KeyValue {
                    key: "app.structure".into(),
                    // As deep as protobuf decoding allows (three messages a level).
                    value: Some(nested_value(30)),
                    ..Default::default()
                },
            ],
        ),
        (
            "langfuse",
            vec![
                string_attr("langfuse.observation.type", "generation"),
                string_attr("langfuse.observation.input", &deep),
                string_attr("langfuse.observation.metadata.deep", &deep),
                string_attr("langfuse.observation.usage_details", &deep),
            ],
        ),
    ];
    let root_id = [0x10u8; 8].to_vec();
    let spans: Vec<Span> = places
        .into_iter()
        .enumerate()
        .map(|(i, (name, attributes))| Span {
            trace_id: trace.clone(),
            span_id: if i == 0 {
                root_id.clone()
            } else {
                vec![0x10 + i as u8; 8]
            },
            parent_span_id: if i == 0 { vec![] } else { root_id.clone() },
            name: name.into(),
            start_time_unix_nano: 1_790_000_000_000_000_000 + i as u64,
            end_time_unix_nano: 1_790_000_000_000_000_100,
            attributes,
            ..Default::default()
        })
        .collect();
    let response = fixtures::send_protobuf(&server, &request(spans));
    assert_eq!(response.status(), 200);

    // Deeper than protobuf decoding allows: the request is refused as a whole, saying why.
    let too_deep = Span {
        trace_id: vec![0x7b; 16],
        span_id: vec![0x20; 8],
        name: "too deep".into(),
        start_time_unix_nano: 1_790_000_000_000_000_000,
        end_time_unix_nano: 1_790_000_000_000_000_100,
        attributes: vec![KeyValue {
            key: "app.structure".into(),
            value: Some(nested_value(60)),
            ..Default::default()
        }],
        ..Default::default()
    };
    let response = fixtures::send_protobuf(&server, &request(vec![too_deep]));
    assert_eq!(response.status(), 400);
    let text = response.text().unwrap();
    assert!(text.contains("recursion limit"), "{text}");

    // A log record with a deep body, joined to the model call.
    let log = serde_json::json!({"resourceLogs": [{"scopeLogs": [{"logRecords": [{
        "timeUnixNano": "1790000000000000001",
        "traceId": run_id, "spanId": common::otlp::hex(&[0x11; 8]),
        "eventName": "gen_ai.user.message",
        "body": {"stringValue": deep},
        "attributes": [{"key": "event.name", "value": {"stringValue": "gen_ai.user.message"}}]
    }]}]}]});
    let response = common::client()
        .post(server.url("/v1/logs"))
        .bearer_auth(KEY)
        .json(&log)
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);

    // A metric event whose comment holds the same text.
    let response = common::client()
        .post(server.url(&format!("/api/v1/runs/{run_id}/metrics")))
        .bearer_auth(KEY)
        .json(&serde_json::json!({"name": "depth", "value": 1, "comment": deep}))
        .send()
        .unwrap();
    assert_eq!(response.status(), 201);
    // A metric body nested past what JSON parsing allows is a clear 400, not a 500.
    let response = common::client()
        .post(server.url(&format!("/api/v1/runs/{run_id}/metrics")))
        .bearer_auth(KEY)
        .header("content-type", "application/json")
        .body(format!(r#"{{"name":"x","value":{deep}}}"#))
        .send()
        .unwrap();
    assert_eq!(response.status(), 400);

    check_reads(&server, &run_id, &deep, "as stored");
    let mut first = server;
    assert!(first.stop());
    let again = Server::start_in(&first.data_dir, &[]);
    check_reads(&again, &run_id, &deep, "after a restart");
}

/// Every read of the deep run answers, with the payloads as they were sent.
fn check_reads(server: &Server, run_id: &str, deep: &str, when: &str) {
    let runs = server.all_runs("");
    assert_eq!(runs.len(), 1, "{when}: {runs:?}");
    let body = server.api(&format!("/api/v1/runs/{run_id}"));
    assert_eq!(body["spans"].as_array().unwrap().len(), 4, "{when}");
    assert_eq!(body["run"]["input"], deep, "{when}");
    assert_eq!(body["run"]["metadata"]["deep"], deep, "{when}");
    assert_eq!(body["run"]["metrics"][0]["comment"], deep, "{when}");
    for path in [
        "/api/v1/spans?q=deep",
        "/api/v1/spans?q=tool:dig",
        "/api/v1/threads",
        "/api/v1/threads/t-deep-everywhere",
        "/api/v1/stats?from=2026-01-01&to=2027-01-01",
    ] {
        let (status, body) = server.get(path);
        assert_eq!(status, 200, "{when}: {path}: {body}");
    }
    let (ok, out, err) = server.cli(&["runs"]);
    assert!(ok && out.contains(run_id), "{when}: {out} {err}");
    let (ok, _, err) = server.cli(&["run", run_id, "--transcript"]);
    assert!(ok, "{when}: {err}");
}
