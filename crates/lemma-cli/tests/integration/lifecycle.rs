//! Starting, stopping and restarting `lemma serve` on the same data dir.

use crate::common;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use common::otlp::hex;
use common::{client, fixtures, Server, KEY};
use lemma_core::query::MAX_VALUES;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use serde_json::Value;

/// `lemma <args>` on a data dir, without a server.
fn admin(data_dir: &Path, args: &[&str]) -> String {
    let out = Command::new(common::lemma_bin())
        .args(args)
        .env("LEMMA_DATA_DIR", data_dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "lemma {args:?}: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The data rows of a `lemma ... list` table.
fn table_rows(out: &str) -> Vec<Vec<String>> {
    out.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

fn assert_one_project_one_key(data_dir: &Path) {
    let projects = table_rows(&admin(data_dir, &["projects", "list"]));
    assert_eq!(projects.len(), 1, "{projects:?}");
    assert_eq!(projects[0][0], "default");
    let keys = table_rows(&admin(data_dir, &["keys", "list"]));
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(keys[0][1], "default");
    assert_eq!(keys[0].last().unwrap(), "active");
}

fn replay(server: &Server, scenario: &str) {
    for r in fixtures::load(scenario) {
        let resp = fixtures::replay_http(server, &r);
        assert_eq!(resp.status(), 200, "{scenario}: {:?}", resp.text());
    }
}

/// Everything the API says about the data: runs, each run with its spans, threads.
fn snapshot(server: &Server) -> Value {
    // Signals are evaluated a moment after spans commit: evaluate every run first.
    server.settle_signals();
    let runs = server.all_runs("");
    let details: Vec<Value> = runs
        .iter()
        .map(|r| server.api(&format!("/api/v1/runs/{}", r["run_id"].as_str().unwrap())))
        .collect();
    serde_json::json!({
        "runs": runs,
        "details": details,
        "threads": server.api("/api/v1/threads"),
        "thread-42": server.api("/api/v1/threads/thread-42"),
        "errors": server.all_runs("status:error"),
    })
}

#[test]
fn a_restart_keeps_everything_and_sigterm_exits_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut server = Server::start_in(&dir, &[]);
    replay(&server, "otel_manual");
    replay(&server, "long_run");
    let before = snapshot(&server);
    assert_eq!(before["runs"].as_array().unwrap().len(), 3);
    let spans: usize = before["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["spans"].as_array().unwrap().len())
        .sum();
    assert_eq!(spans, 4 + 3 + 222);
    assert!(server.stop(), "lemma serve must exit 0 on SIGTERM");

    let mut again = Server::start_in(&dir, &[]);
    let after = snapshot(&again);
    assert_eq!(after, before, "the API answers differently after a restart");
    assert_one_project_one_key(&dir);
    // Still writable, and a replay of what is there changes nothing.
    replay(&again, "otel_manual");
    assert_eq!(snapshot(&again), before);
    assert!(again.stop());

    // A later start with another bootstrap key neither adds a project nor that key.
    let mut other = Server::start_with_key(&dir, Some("lm_a-different-bootstrap-key"), &[]);
    assert!(
        !other.banner.iter().any(|l| l.contains("Created project")),
        "{:?}",
        other.banner
    );
    let (status, body) = other.get_with("/api/v1/project", "lm_a-different-bootstrap-key");
    assert_eq!(status, 401, "{body}");
    let (status, body) = other.get_with("/api/v1/project", KEY);
    assert_eq!(status, 200, "{body}");
    let (status, body) = other.get_with("/api/v1/runs", KEY);
    assert_eq!(status, 200);
    assert_eq!(body["runs"].as_array().unwrap().len(), 3);
    assert_one_project_one_key(&dir);
    assert!(other.stop());
}

fn attr(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

const SPANS: usize = 5;

/// Run `i`: a root and four children in one request, and the run's ID.
fn run_request(i: usize) -> (ExportTraceServiceRequest, String) {
    let mut trace_id = vec![0x1f, 0xe0, 0xc7, 0xc1];
    trace_id.extend_from_slice(&(i as u64 + 1).to_be_bytes());
    trace_id.extend_from_slice(&[9, 9, 9, 9]);
    let span_id = |j: usize| {
        let mut id = (i as u32 + 1).to_be_bytes().to_vec();
        id.extend_from_slice(&[0, 0, 0, j as u8 + 1]);
        id
    };
    let t0 = 1_700_000_000_000_000_000 + i as u64 * 1_000_000_000;
    let spans = (0..SPANS)
        .map(|j| Span {
            trace_id: trace_id.clone(),
            span_id: span_id(j),
            parent_span_id: if j == 0 { Vec::new() } else { span_id(0) },
            name: if j == 0 {
                "invoke_agent shutdown_agent".into()
            } else {
                format!("chat {j}")
            },
            kind: 1,
            start_time_unix_nano: t0 + j as u64,
            end_time_unix_nano: t0 + 100_000_000,
            attributes: if j == 0 {
                vec![
                    attr("gen_ai.operation.name", "invoke_agent"),
                    attr("gen_ai.agent.name", "shutdown_agent"),
                ]
            } else {
                vec![
                    attr("gen_ai.operation.name", "chat"),
                    attr("gen_ai.input.messages", &"x".repeat(500)),
                ]
            },
            ..Default::default()
        })
        .collect();
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    (request, hex(&trace_id))
}

#[test]
fn sigterm_under_load_keeps_every_acknowledged_request() {
    const SENDERS: usize = 4;
    const MAX: usize = 20_000;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut server = Server::start_in(&dir, &[]);
    let url = server.url("/v1/traces");

    let next = Arc::new(AtomicUsize::new(0));
    let acknowledged: Arc<Mutex<Vec<String>>> = Arc::default();
    let unexpected: Arc<Mutex<Vec<String>>> = Arc::default();
    let sigterm_sent = Arc::new(AtomicBool::new(false));
    let after_sigterm = Arc::new(AtomicUsize::new(0));
    let senders: Vec<_> = (0..SENDERS)
        .map(|_| {
            let (next, acknowledged, unexpected, url) = (
                next.clone(),
                acknowledged.clone(),
                unexpected.clone(),
                url.clone(),
            );
            let (sigterm_sent, after_sigterm) = (sigterm_sent.clone(), after_sigterm.clone());
            std::thread::spawn(move || {
                let http = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .build()
                    .unwrap();
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= MAX {
                        return;
                    }
                    let (request, id) = run_request(i);
                    let sent_after_sigterm = sigterm_sent.load(Ordering::SeqCst);
                    let resp = http
                        .post(&url)
                        .header("content-type", "application/x-protobuf")
                        .bearer_auth(KEY)
                        .body(request.encode_to_vec())
                        .send();
                    match resp {
                        Ok(r) if r.status() == 200 => {
                            acknowledged.lock().unwrap().push(id);
                            if sent_after_sigterm {
                                after_sigterm.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                        // Refused while shutting down: the exporter retries later.
                        Ok(r) if r.status() == 503 && r.headers().contains_key("retry-after") => {}
                        Ok(r) => unexpected.lock().unwrap().push(format!(
                            "request {i}: {} {:?}",
                            r.status(),
                            r.text()
                        )),
                        // The listener is closed: this sender is done.
                        Err(_) => return,
                    }
                }
            })
        })
        .collect();

    // SIGTERM once the load is well under way.
    let deadline = Instant::now() + Duration::from_secs(30);
    while acknowledged.lock().unwrap().len() < 100 {
        assert!(Instant::now() < deadline, "the load never got going");
        std::thread::sleep(Duration::from_millis(5));
    }
    sigterm_sent.store(true, Ordering::SeqCst);
    assert!(
        server.stop(),
        "lemma serve must exit 0 on SIGTERM under load"
    );
    for s in senders {
        s.join().unwrap();
    }
    let unexpected = unexpected.lock().unwrap();
    assert!(unexpected.is_empty(), "{unexpected:?}");
    assert!(
        next.load(Ordering::SeqCst) < MAX,
        "the senders ran out of requests before the server stopped"
    );
    let acknowledged = acknowledged.lock().unwrap().clone();
    eprintln!(
        "{} requests acknowledged, {} of them sent after SIGTERM",
        acknowledged.len(),
        after_sigterm.load(Ordering::SeqCst)
    );

    let again = Server::start_in(&dir, &[]);
    let stored: std::collections::HashMap<String, Value> = again
        .all_runs("")
        .into_iter()
        .map(|r| (r["run_id"].as_str().unwrap().to_string(), r))
        .collect();
    for id in &acknowledged {
        let run = stored
            .get(id)
            .unwrap_or_else(|| panic!("run {id} was acknowledged but is gone after restart"));
        assert_eq!(run["span_count"], SPANS as u64, "{run}");
        assert_eq!(run["agent_name"], "shutdown_agent");
    }
}

/// How a sender exports.
#[derive(Debug, Clone, Copy)]
enum Transport {
    Protobuf,
    Json,
    Grpc,
}

/// Where the server of the moment listens: (OTLP/HTTP base URL, OTLP/gRPC URL).
type Endpoints = Arc<RwLock<(String, String)>>;

/// Exports `request` once; whether the server acknowledged all of it.
fn export(
    transport: Transport,
    endpoints: &Endpoints,
    http: &reqwest::blocking::Client,
    runtime: &tokio::runtime::Runtime,
    request: ExportTraceServiceRequest,
) -> bool {
    let (base, grpc) = endpoints.read().unwrap().clone();
    let post = |content_type: &str, body: Vec<u8>| {
        http.post(format!("{base}/v1/traces"))
            .header("content-type", content_type)
            .bearer_auth(KEY)
            .body(body)
            .send()
            .is_ok_and(|r| r.status() == 200)
    };
    match transport {
        Transport::Protobuf => post("application/x-protobuf", request.encode_to_vec()),
        Transport::Json => post("application/json", serde_json::to_vec(&request).unwrap()),
        Transport::Grpc => runtime.block_on(async {
            let call = async {
                let mut client = TraceServiceClient::connect(grpc).await.ok()?;
                let mut request = tonic::Request::new(request);
                request
                    .metadata_mut()
                    .insert("authorization", format!("Bearer {KEY}").parse().unwrap());
                client.export(request).await.ok()
            };
            let answer = tokio::time::timeout(Duration::from_secs(30), call).await;
            answer
                .ok()
                .flatten()
                .is_some_and(|r| r.into_inner().partial_success.is_none())
        }),
    }
}

#[test]
fn sigkill_under_load_loses_no_acknowledged_span() {
    const KILLS: usize = 6;
    const MAX: usize = 50_000;
    let transports = [
        Transport::Protobuf,
        Transport::Protobuf,
        Transport::Json,
        Transport::Grpc,
        Transport::Grpc,
    ];
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut server = Server::start_in(&dir, &[]);
    let endpoints: Endpoints = Arc::new(RwLock::new((server.http.clone(), server.grpc.clone())));
    let next = Arc::new(AtomicUsize::new(0));
    let acknowledged: Arc<Mutex<Vec<String>>> = Arc::default();
    let failed = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let senders: Vec<_> = transports
        .into_iter()
        .map(|transport| {
            let (endpoints, next, acknowledged, failed, stop) = (
                endpoints.clone(),
                next.clone(),
                acknowledged.clone(),
                failed.clone(),
                stop.clone(),
            );
            std::thread::spawn(move || {
                let http = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .build()
                    .unwrap();
                let runtime = fixtures::runtime();
                let deadline = Instant::now() + Duration::from_secs(120);
                let mut mine = 0;
                while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= MAX {
                        break;
                    }
                    let (request, id) = run_request(i);
                    if export(transport, &endpoints, &http, &runtime, request) {
                        acknowledged.lock().unwrap().push(id);
                        mine += 1;
                    } else {
                        // Killed mid-request, or not listening yet: an exporter retries; this
                        // run simply was not acknowledged.
                        failed.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(10));
                    }
                }
                (transport, mine)
            })
        })
        .collect();

    // Waits until the server of the moment has acknowledged something more.
    let wait_for_load = |acknowledged: &Mutex<Vec<String>>| {
        let before = acknowledged.lock().unwrap().len();
        let deadline = Instant::now() + Duration::from_secs(30);
        while acknowledged.lock().unwrap().len() <= before {
            assert!(
                Instant::now() < deadline,
                "the restarted server took no load"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    };
    for _ in 0..KILLS {
        wait_for_load(&acknowledged);
        std::thread::sleep(Duration::from_millis(rand::random_range(50..600)));
        // Dropping a `Server` kills it with SIGKILL: no shutdown, no final commit.
        drop(server);
        server = Server::start_in(&dir, &[]);
        *endpoints.write().unwrap() = (server.http.clone(), server.grpc.clone());
    }
    wait_for_load(&acknowledged);
    stop.store(true, Ordering::SeqCst);
    let per_sender: Vec<(Transport, usize)> =
        senders.into_iter().map(|s| s.join().unwrap()).collect();
    let acknowledged = acknowledged.lock().unwrap().clone();
    eprintln!(
        "{KILLS} kills: {} requests acknowledged ({per_sender:?}), {} not, in {:?}",
        acknowledged.len(),
        failed.load(Ordering::SeqCst),
        started.elapsed()
    );
    assert!(
        per_sender.iter().all(|(_, n)| *n > 0),
        "every sender must have been acknowledged: {per_sender:?}"
    );

    // Every acknowledged span reads back, counted span by span and in its run's summary.
    let mut spans: HashMap<String, usize> = HashMap::new();
    for ids in acknowledged.chunks(MAX_VALUES) {
        let q = format!("run:{}", ids.join(","));
        let mut cursor = String::new();
        loop {
            let resp = client()
                .get(server.url("/api/v1/spans"))
                .bearer_auth(KEY)
                .query(&[("q", q.as_str()), ("limit", "1000"), ("cursor", &cursor)])
                .send()
                .unwrap();
            assert_eq!(resp.status(), 200);
            let page: Value = resp.json().unwrap();
            for span in page["spans"].as_array().unwrap() {
                *spans
                    .entry(span["trace_id"].as_str().unwrap().to_string())
                    .or_default() += 1;
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = c.to_string(),
                None => break,
            }
        }
    }
    let runs: HashMap<String, Value> = server
        .all_runs("")
        .into_iter()
        .map(|r| (r["run_id"].as_str().unwrap().to_string(), r))
        .collect();
    for id in &acknowledged {
        assert_eq!(
            spans.get(id).copied().unwrap_or(0),
            SPANS,
            "run {id} was acknowledged, but not all its spans read back after the kills"
        );
        assert_eq!(runs[id]["span_count"], SPANS as u64, "{}", runs[id]);
    }
}

#[test]
fn the_first_start_without_a_bootstrap_key_prints_a_generated_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut first = Server::start_with_key(&dir, None, &[]);
    let banner = first.banner.join("\n");
    assert!(banner.contains("Created project \"default\""), "{banner}");
    assert!(banner.contains("shown once"), "{banner}");
    let key = first
        .banner
        .iter()
        .map(|l| l.trim())
        .find(|l| l.starts_with("lm_"))
        .unwrap_or_else(|| panic!("no generated key in {banner}"))
        .to_string();
    assert!(key.len() >= 40 && !key.contains(' '), "{key:?}");
    let public_key = first
        .banner
        .iter()
        .find(|l| l.starts_with("Public key"))
        .and_then(|l| l.split_whitespace().last())
        .expect("a public key line")
        .to_string();
    assert!(public_key.starts_with("pk-lm-"), "{public_key}");

    let (status, body) = first.get_with("/api/v1/project", &key);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["project"]["name"], "default");
    let resp = client()
        .get(format!("{}/api/v1/project", first.http))
        .basic_auth(&public_key, Some(&key))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200, "Basic auth with the printed public key");
    let (status, _) = first.get_with("/api/v1/project", KEY);
    assert_eq!(status, 401, "no key but the generated one exists");
    let keys = table_rows(&admin(&dir, &["keys", "list"]));
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(keys[0][2], public_key);
    assert!(
        keys[0][3].starts_with(&key[..7]),
        "the hint {} is not the key's start",
        keys[0][3]
    );
    assert!(first.stop());

    // The key is shown once: a second start prints none, and the key still works.
    let mut second = Server::start_with_key(&dir, None, &[]);
    assert!(
        !second.banner.iter().any(|l| l.trim().starts_with("lm_")),
        "{:?}",
        second.banner
    );
    assert!(!second.banner.iter().any(|l| l.contains("Created project")));
    let (status, _) = second.get_with("/api/v1/project", &key);
    assert_eq!(status, 200);
    assert_one_project_one_key(&dir);
    assert!(second.stop());
}
