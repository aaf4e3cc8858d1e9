//! The recorded requests of `shared/fixtures/`, and ways to send them.

use std::path::PathBuf;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use serde_json::Value;

use super::{client, Server, KEY};

pub fn dir() -> PathBuf {
    std::env::var_os("LEMMA_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures")
        })
}

/// One recorded request.
pub struct Recorded {
    pub meta: Value,
    pub body: Vec<u8>,
}

impl Recorded {
    /// The request message, whatever encoding it was recorded in.
    pub fn message(&self) -> ExportTraceServiceRequest {
        let mut raw = self.body.clone();
        if self.meta["content_encoding"] == "gzip" {
            use std::io::Read;
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&raw[..])
                .read_to_end(&mut out)
                .unwrap();
            raw = out;
        }
        if self.meta["content_type"]
            .as_str()
            .unwrap_or("")
            .contains("json")
        {
            serde_json::from_slice(&raw).unwrap()
        } else {
            ExportTraceServiceRequest::decode(&raw[..]).unwrap()
        }
    }
}

pub fn load(scenario: &str) -> Vec<Recorded> {
    let dir = dir().join(scenario);
    let mut metas: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("fixtures {} missing: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".meta.json"))
        .collect();
    metas.sort();
    metas
        .into_iter()
        .map(|m| {
            let meta: Value = serde_json::from_slice(&std::fs::read(&m).unwrap()).unwrap();
            let body = std::fs::read(dir.join(meta["body_file"].as_str().unwrap())).unwrap();
            Recorded { meta, body }
        })
        .collect()
}

pub fn expected(scenario: &str) -> Value {
    serde_json::from_slice(
        &std::fs::read(dir().join("expected").join(format!("{scenario}.json"))).unwrap(),
    )
    .unwrap()
}

/// Replays every fixture recorded over HTTP, as the exporters sent it. (`otel_manual_grpc`
/// repeats `otel_manual` over gRPC; the data is the same.)
pub fn load_all_http(server: &Server) {
    let mut scenarios: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name != "expected" && name != "otel_manual_grpc")
        .collect();
    scenarios.sort();
    for scenario in scenarios {
        for recorded in load(&scenario) {
            let resp = replay_http(server, &recorded);
            assert_eq!(resp.status(), 200, "replaying {scenario}");
        }
    }
}

/// Replays a recorded HTTP request byte for byte, with its recorded headers.
pub fn replay_http(server: &Server, r: &Recorded) -> reqwest::blocking::Response {
    let mut req = client().post(server.url(r.meta["path"].as_str().unwrap()));
    for (name, value) in r.meta["headers"].as_object().unwrap() {
        let lower = name.to_ascii_lowercase();
        // Transport headers are the client's own business.
        if [
            "host",
            "content-length",
            "connection",
            "transfer-encoding",
            "authorization",
        ]
        .contains(&lower.as_str())
        {
            continue;
        }
        req = req.header(name, value.as_str().unwrap());
    }
    let chunked = r.meta["headers"]
        .as_object()
        .unwrap()
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v == "chunked");
    let body = if chunked {
        // A reader of unknown length goes out chunked, with no Content-Length, as JS exporters send.
        reqwest::blocking::Body::new(std::io::Cursor::new(r.body.clone()))
    } else {
        reqwest::blocking::Body::from(r.body.clone())
    };
    req.bearer_auth(KEY).body(body).send().unwrap()
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Sends a request over OTLP/gRPC with a key (gzip-compressed, as exporters may).
pub fn send_grpc(
    server: &Server,
    request: ExportTraceServiceRequest,
    key: &str,
) -> Result<
    opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse,
    tonic::Status,
> {
    runtime().block_on(async {
        let mut client = TraceServiceClient::connect(server.grpc.clone())
            .await
            .unwrap()
            .send_compressed(tonic::codec::CompressionEncoding::Gzip)
            .accept_compressed(tonic::codec::CompressionEncoding::Gzip);
        let mut req = tonic::Request::new(request);
        req.metadata_mut()
            .insert("authorization", format!("Bearer {key}").parse().unwrap());
        client.export(req).await.map(|r| r.into_inner())
    })
}

/// Sends a request as uncompressed OTLP/HTTP protobuf.
pub fn send_protobuf(
    server: &Server,
    request: &ExportTraceServiceRequest,
) -> reqwest::blocking::Response {
    client()
        .post(server.url("/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .bearer_auth(KEY)
        .body(request.encode_to_vec())
        .send()
        .unwrap()
}
