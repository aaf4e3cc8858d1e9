//! A burst against a tiny ingest queue: the server refuses what it cannot queue with
//! 503 + Retry-After, keeps memory bounded, loses nothing it acknowledged, and accepts the
//! refused requests when they are retried.

use crate::common;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::otlp::{hex, string_attr};
use common::{client, Server, KEY};
use lemma_core::otlp::RpcStatus;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

const REQUESTS: usize = 300;
const SPANS_PER_REQUEST: usize = 7;
const THREADS: usize = 16;
const RSS_LIMIT_KB: u64 = 300 * 1024;

fn trace_id(i: usize) -> Vec<u8> {
    let mut id = vec![0xb7, 0x0c, 0x4e, 0x55];
    id.extend_from_slice(&(i as u64 + 1).to_be_bytes());
    id.extend_from_slice(&[0x5e, 0x4d, 0x11, 0x01]);
    id
}

/// Request `i`: one agent run of a root and six children, each with ~2 KB of payload.
fn synthetic_request(i: usize) -> ExportTraceServiceRequest {
    let tid = trace_id(i);
    let span_id = |j: usize| -> Vec<u8> {
        let mut id = (i as u32 + 1).to_be_bytes().to_vec();
        id.extend_from_slice(&[0xa0, 0x00, 0x00, j as u8 + 1]);
        id
    };
    let t0 = 1_700_000_000_000_000_000u64 + i as u64 * 10_000_000_000;
    let payload = |j: usize| {
        format!("request {i} span {j}: ")
            + &"lorem ipsum dolor sit amet ".repeat(2048 / 27 + 1)[..2048]
    };
    let mut spans = vec![Span {
        trace_id: tid.clone(),
        span_id: span_id(0),
        name: "invoke_agent burst_agent".into(),
        kind: 1,
        start_time_unix_nano: t0,
        end_time_unix_nano: t0 + 7_000_000_000,
        attributes: vec![
            string_attr("gen_ai.operation.name", "invoke_agent"),
            string_attr("gen_ai.agent.name", "burst_agent"),
            string_attr("payload", &payload(0)),
        ],
        ..Default::default()
    }];
    for j in 1..SPANS_PER_REQUEST {
        let attributes = if j % 2 == 1 {
            vec![
                string_attr("gen_ai.operation.name", "chat"),
                string_attr("gen_ai.request.model", "gpt-4.1"),
                string_attr("payload", &payload(j)),
            ]
        } else {
            vec![
                string_attr("gen_ai.operation.name", "execute_tool"),
                string_attr("gen_ai.tool.name", "read_file"),
                string_attr("payload", &payload(j)),
            ]
        };
        spans.push(Span {
            trace_id: tid.clone(),
            span_id: span_id(j),
            parent_span_id: span_id(0),
            name: format!("step {j}"),
            kind: 1,
            start_time_unix_nano: t0 + j as u64 * 1_000_000_000,
            end_time_unix_nano: t0 + j as u64 * 1_000_000_000 + 500_000_000,
            attributes,
            ..Default::default()
        });
    }
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![string_attr("service.name", "burst")],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// What one POST got back.
#[derive(Debug)]
struct Outcome {
    status: u16,
    retry_after: Option<String>,
    body: Vec<u8>,
}

fn post(http: &reqwest::blocking::Client, url: &str, body: &[u8]) -> Outcome {
    let resp = http
        .post(url)
        .header("content-type", "application/x-protobuf")
        .bearer_auth(KEY)
        .body(body.to_vec())
        .send()
        .unwrap();
    Outcome {
        status: resp.status().as_u16(),
        retry_after: resp
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string()),
        body: resp.bytes().unwrap().to_vec(),
    }
}

#[test]
fn a_burst_gets_503_with_retry_after_and_loses_nothing_acknowledged() {
    let server = Server::start_with(&["--queue-max-spans", "7", "--batch-max-spans", "7"]);
    let url = server.url("/v1/traces");
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..REQUESTS)
            .map(|i| synthetic_request(i).encode_to_vec())
            .collect(),
    );
    assert!(bodies.iter().all(|b| b.len() > 7 * 2048));

    // Sample the server's memory for the whole burst.
    let pid = server.pid();
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let done = done.clone();
        std::thread::spawn(move || {
            let (mut peak, mut samples) = (0u64, 0usize);
            loop {
                if let Some(kb) = common::rss_kb(pid) {
                    peak = peak.max(kb);
                    samples += 1;
                }
                if done.load(Ordering::Relaxed) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            (peak, samples)
        })
    };

    let next = Arc::new(AtomicUsize::new(0));
    let outcomes: Arc<Mutex<HashMap<usize, Outcome>>> = Arc::default();
    let started = Instant::now();
    let workers: Vec<_> = (0..THREADS)
        .map(|_| {
            let (next, bodies, outcomes, url) =
                (next.clone(), bodies.clone(), outcomes.clone(), url.clone());
            std::thread::spawn(move || {
                let http = client();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= REQUESTS {
                        return;
                    }
                    let outcome = post(&http, &url, &bodies[i]);
                    outcomes.lock().unwrap().insert(i, outcome);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let burst = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let (peak_kb, samples) = sampler.join().unwrap();

    let outcomes = Arc::try_unwrap(outcomes).unwrap().into_inner().unwrap();
    assert_eq!(outcomes.len(), REQUESTS);
    let mut accepted = BTreeSet::new();
    let mut refused = BTreeSet::new();
    for (&i, o) in &outcomes {
        match o.status {
            200 => {
                accepted.insert(i);
            }
            503 => {
                let retry_after = o
                    .retry_after
                    .as_deref()
                    .unwrap_or_else(|| panic!("request {i}: a 503 without Retry-After"));
                let secs: u32 = retry_after
                    .parse()
                    .unwrap_or_else(|_| panic!("Retry-After {retry_after:?} is not seconds"));
                assert!(secs >= 1, "Retry-After {secs}");
                let status = RpcStatus::decode(&o.body[..]).expect("a google.rpc.Status body");
                assert_eq!(status.code, 14, "UNAVAILABLE: {status:?}");
                assert!(status.message.contains("retry"), "{status:?}");
                refused.insert(i);
            }
            other => panic!(
                "request {i}: unexpected status {other}: {}",
                String::from_utf8_lossy(&o.body)
            ),
        }
    }
    eprintln!(
        "burst of {REQUESTS} in {burst:?}: {} accepted, {} refused; peak RSS {} MB over {samples} samples",
        accepted.len(),
        refused.len(),
        peak_kb / 1024
    );
    assert!(!accepted.is_empty(), "nothing was accepted");
    assert!(
        !refused.is_empty(),
        "a 7-span queue under 16 clients never said 503"
    );
    assert!(samples >= 3, "too few memory samples ({samples})");
    assert!(
        peak_kb < RSS_LIMIT_KB,
        "peak RSS {} MB during the burst",
        peak_kb / 1024
    );

    // Everything acknowledged is stored, complete; nothing else is.
    let runs = server.all_runs("");
    let stored: HashMap<String, u64> = runs
        .iter()
        .map(|r| {
            (
                r["run_id"].as_str().unwrap().to_string(),
                r["span_count"].as_u64().unwrap(),
            )
        })
        .collect();
    for &i in &accepted {
        let id = hex(&trace_id(i));
        assert_eq!(
            stored.get(&id),
            Some(&(SPANS_PER_REQUEST as u64)),
            "acknowledged request {i} (run {id})"
        );
    }
    for id in stored.keys() {
        assert!(
            accepted.iter().any(|&i| hex(&trace_id(i)) == *id),
            "run {id} is stored but its request was refused"
        );
    }

    // Retried one by one, the refused requests all get in.
    let http = client();
    for &i in &refused {
        let mut tries = 0;
        loop {
            tries += 1;
            let o = post(&http, &url, &bodies[i]);
            match o.status {
                200 => break,
                503 if tries < 100 => std::thread::sleep(Duration::from_millis(20)),
                other => panic!("request {i} retry {tries}: {other}"),
            }
        }
    }
    let runs = server.all_runs("");
    assert_eq!(runs.len(), REQUESTS);
    let want: BTreeSet<String> = (0..REQUESTS).map(|i| hex(&trace_id(i))).collect();
    let got: BTreeSet<String> = runs
        .iter()
        .map(|r| r["run_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, want);
    for r in &runs {
        assert_eq!(r["span_count"], SPANS_PER_REQUEST as u64, "{}", r["run_id"]);
        assert_eq!(r["agent_name"], "burst_agent");
        assert_eq!(r["has_root"], true);
    }
    // A sample run is whole: its root and six children, payloads intact.
    let one = server.api(&format!("/api/v1/runs/{}", hex(&trace_id(REQUESTS - 1))));
    let spans = one["spans"].as_array().unwrap();
    assert_eq!(spans.len(), SPANS_PER_REQUEST);
    for s in spans {
        assert!(
            s["attributes"]["payload"].as_str().unwrap().len() > 2048,
            "{}",
            s["name"]
        );
    }
}
