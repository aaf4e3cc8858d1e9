//! `lemma serve --forward-otlp` into a second real server: every accepted span arrives and
//! reads back the same, also when the target was down and the forwarding server restarted
//! meanwhile; and ingest does not wait for the target.

use crate::common;

use std::time::{Duration, Instant};

use common::otlp::{request, string_attr};
use common::{fixtures, Server, KEY};
use opentelemetry_proto::tonic::trace::v1::Span;

/// Waits until `target` has the same runs as `source`, then returns them.
fn same_runs(source: &Server, target: &Server, within: Duration) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + within;
    loop {
        // Both sides evaluate their runs' signals a moment after spans commit.
        let want = source.all_runs("");
        let got = target.all_runs("");
        if got == want {
            return got;
        }
        if Instant::now() >= deadline {
            common::compare::assert_same_json(
                &format!("the target's runs after {within:?}"),
                &serde_json::json!(got),
                &serde_json::json!(want),
                "target",
                "source",
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn run(n: u8) -> Vec<Span> {
    let trace_id = vec![0xf0, n, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14];
    (1..=2u8)
        .map(|i| Span {
            trace_id: trace_id.clone(),
            span_id: vec![n, i, 0, 0, 0, 0, 0, 1],
            parent_span_id: if i == 1 {
                vec![]
            } else {
                vec![n, 1, 0, 0, 0, 0, 0, 1]
            },
            name: format!("step {i}"),
            start_time_unix_nano: 1_700_000_000_000_000_000 + n as u64,
            end_time_unix_nano: 1_700_000_001_000_000_000,
            attributes: vec![string_attr("gen_ai.agent.name", "forwarded")],
            ..Default::default()
        })
        .collect()
}

#[test]
fn every_accepted_span_reaches_the_target_across_its_outage_and_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let addr = common::free_addr();
    let target_dir = tmp.path().join("target");
    let mut target = Server::start_at(&target_dir, &addr, &[]);
    let url = format!("http://{addr}/v1/traces");
    let header = format!("authorization=Bearer {KEY}");
    let forwarding = ["--forward-otlp", &url, "--forward-header", &header];
    let source_dir = tmp.path().join("source");
    let mut source = Server::start_in(&source_dir, &forwarding);

    fixtures::load_all_http(&source);
    let runs = same_runs(&source, &target, Duration::from_secs(30));
    let long = source.all_runs("agent:coding_agent")[0]["run_id"].clone();
    let long = long.as_str().unwrap();
    assert_eq!(
        target.api(&format!("/api/v1/runs/{long}/spans?limit=500"))["spans"],
        source.api(&format!("/api/v1/runs/{long}/spans?limit=500"))["spans"],
        "spans read back the same"
    );

    // The target goes down: the source goes on accepting at once.
    target.stop();
    for n in 0..20 {
        let started = Instant::now();
        let resp = fixtures::send_protobuf(&source, &request(run(n)));
        assert_eq!(resp.status(), 200);
        assert!(started.elapsed() < Duration::from_secs(2), "ingest waited");
    }
    // The source restarts with spans still queued, then the target comes back.
    source.stop();
    let source = Server::start_in(&source_dir, &forwarding);
    let target = Server::start_at(&target_dir, &addr, &[]);
    let after = same_runs(&source, &target, Duration::from_secs(60));
    assert_eq!(after.len(), runs.len() + 20);
    for run in target.all_runs("agent:forwarded") {
        assert_eq!(run["span_count"], 2, "{run}");
    }
}
