//! `lemma serve --store clickhouse://…` against real ClickHouse servers started here (Debian's
//! 18.16, `scripts/clickhouse-setup`): the recorded SDK traffic reads back exactly as from the
//! embedded store, two Lemma servers share a two-shard cluster, and neither a ClickHouse that
//! stops nor a Lemma server killed mid-load loses an acknowledged span.

use crate::common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::otlp::{hex, request, string_attr};
use common::{client, expected, fixtures, Server, KEY};
use lemma_store::clickhouse::local::{LocalServer, CLUSTER};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::{json, Value};

const SCENARIOS: &[&str] = &[
    "langfuse_sdk",
    "openinference_openai",
    "openllmetry",
    "vercel_ai",
    "otel_manual",
    "long_run",
];

fn start_clickhouse(dir: &std::path::Path) -> LocalServer {
    LocalServer::start(dir).expect("starting ClickHouse (scripts/clickhouse-setup installs it)")
}

fn store_url(server: &LocalServer, database: &str) -> String {
    format!("clickhouse://127.0.0.1:{}/{database}", server.http_port)
}

fn replay(server: &Server, scenario: &str) {
    for r in fixtures::load(scenario) {
        let resp = fixtures::replay_http(server, &r);
        assert_eq!(resp.status(), 200, "{scenario}: {:?}", resp.text());
    }
}

/// What the API says about all the data: every run in full, threads, searches, stats.
fn answers(server: &Server) -> Value {
    // Signals are evaluated a moment after spans commit; asking for each run's evaluates it
    // now, so both stores answer with every run evaluated.
    for r in server.all_runs("") {
        server.api(&format!(
            "/api/v1/runs/{}/signals",
            r["run_id"].as_str().unwrap()
        ));
    }
    let runs = server.all_runs("");
    let details: Vec<Value> = runs
        .iter()
        .map(|r| server.api(&format!("/api/v1/runs/{}", r["run_id"].as_str().unwrap())))
        .collect();
    let starts: Vec<u64> = runs
        .iter()
        .map(|r| r["start_time_unix_nano"].as_u64().unwrap())
        .collect();
    let (from, to) = (
        starts.iter().min().copied().unwrap_or(0) / 1_000_000_000,
        starts.iter().max().copied().unwrap_or(0) / 1_000_000_000 + 3_600,
    );
    let rfc3339 = |secs: u64| {
        time::OffsetDateTime::from_unix_timestamp(secs as i64)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let stats = server.api(&format!(
        "/api/v1/stats?from={}&to={}",
        rfc3339(from),
        rfc3339(to)
    ));
    json!({
        "runs": runs,
        "details": details,
        "threads": server.api("/api/v1/threads"),
        "errors": server.all_runs("status:error"),
        "llm_runs": server.all_runs("kind:llm"),
        "search": server.api("/api/v1/spans?q=%22order+A-17%22&limit=100"),
        "search_runs": server.all_runs("billing"),
        "stats": stats,
    })
}

fn assert_same(what: &str, got: &Value, want: &Value) {
    common::compare::assert_same_json(what, got, want, "ClickHouse", "SQLite");
}

/// Every recorded scenario, replayed into ClickHouse, matches its expected file and every
/// answer of the embedded store fed the same requests.
#[test]
fn recorded_traffic_reads_back_the_same_as_from_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    let ch = start_clickhouse(dir.path());
    for scenario in SCENARIOS {
        let on_ch =
            Server::start_with(&["--store", &store_url(&ch, &format!("replay_{scenario}"))]);
        let on_sqlite = Server::start();
        replay(&on_ch, scenario);
        replay(&on_sqlite, scenario);
        expected::check(&on_ch, scenario);
        assert_same(scenario, &answers(&on_ch), &answers(&on_sqlite));
    }
}

/// The table rows a shard holds itself.
fn local_rows(shard: &LocalServer, table: &str) -> u64 {
    let body = client()
        .post(shard.http_url())
        .body(format!("SELECT count() FROM lemma.{table}_local"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    body.trim()
        .parse()
        .unwrap_or_else(|_| panic!("count: {body}"))
}

/// Two Lemma servers, each sending its queries to its own shard of a two-shard cluster, take
/// the recorded traffic at once (each request to one of them); both then answer exactly what
/// the embedded store answers, and the spans are spread over both shards.
#[test]
fn two_servers_on_a_two_shard_cluster_answer_as_one_store() {
    let dir = tempfile::tempdir().unwrap();
    let shards = LocalServer::start_cluster(dir.path(), 2).expect("starting two ClickHouse shards");
    let shard_list = format!(
        "127.0.0.1:{},127.0.0.1:{}",
        shards[0].http_port, shards[1].http_port
    );
    let lemma: Vec<Server> = shards
        .iter()
        .map(|s| {
            let url = format!(
                "clickhouse://127.0.0.1:{}/lemma?cluster={CLUSTER}&shards={shard_list}",
                s.http_port
            );
            Server::start_with(&["--store", &url])
        })
        .collect();
    let reference = Server::start();
    let requests: Vec<_> = SCENARIOS.iter().flat_map(|s| fixtures::load(s)).collect();
    std::thread::scope(|scope| {
        for (i, server) in lemma.iter().enumerate() {
            let requests = &requests;
            scope.spawn(move || {
                for r in requests.iter().skip(i).step_by(2) {
                    let resp = fixtures::replay_http(server, r);
                    assert_eq!(resp.status(), 200, "{:?}", resp.text());
                }
            });
        }
    });
    for r in &requests {
        assert_eq!(fixtures::replay_http(&reference, r).status(), 200);
    }
    let want = answers(&reference);
    // The comparison covers real data: runs, search hits and stats.
    assert!(
        want["runs"].as_array().unwrap().len() >= 6,
        "{}",
        want["runs"]
    );
    assert!(
        !want["search"]["spans"].as_array().unwrap().is_empty(),
        "{}",
        want["search"]
    );
    assert!(!want["threads"]["threads"].as_array().unwrap().is_empty());
    assert!(
        want["stats"]["totals"]["runs"].as_u64().unwrap() >= 6,
        "{}",
        want["stats"]
    );
    for (i, server) in lemma.iter().enumerate() {
        assert_same(&format!("Lemma server {i}"), &answers(server), &want);
    }
    for (i, shard) in shards.iter().enumerate() {
        assert!(local_rows(shard, "spans") > 0, "shard {i} holds no span");
    }
}

/// Run `n`: a root and two children in one request; its run ID.
fn run_request(n: u32) -> (Vec<u8>, String) {
    let mut trace_id = vec![0x5c; 16];
    trace_id[12..].copy_from_slice(&n.to_be_bytes());
    let t0 = 1_700_000_000_000_000_000 + u64::from(n) * 1_000_000;
    let spans = (0..3u8)
        .map(|j| Span {
            trace_id: trace_id.clone(),
            span_id: vec![j + 1; 8],
            parent_span_id: if j == 0 { Vec::new() } else { vec![1; 8] },
            name: format!("step {j}"),
            start_time_unix_nano: t0 + u64::from(j),
            end_time_unix_nano: t0 + 1_000,
            attributes: vec![string_attr(
                "gen_ai.operation.name",
                if j == 0 { "invoke_agent" } else { "chat" },
            )],
            ..Default::default()
        })
        .collect();
    (request(spans).encode_to_vec(), hex(&trace_id))
}

fn export(server: &Server, n: u32) -> (u16, bool, String) {
    let (body, run_id) = run_request(n);
    match client()
        .post(server.url("/v1/traces"))
        .bearer_auth(KEY)
        .header("content-type", "application/x-protobuf")
        .body(body)
        .timeout(Duration::from_secs(30))
        .send()
    {
        Ok(resp) => (
            resp.status().as_u16(),
            resp.headers().contains_key("retry-after"),
            run_id,
        ),
        Err(_) => (0, false, run_id),
    }
}

/// Every acknowledged run reads back whole through `server`.
fn assert_all_read_back(server: &Server, acked: &[String]) {
    let listed: std::collections::HashSet<String> = server
        .all_runs("")
        .iter()
        .map(|r| r["run_id"].as_str().unwrap().to_string())
        .collect();
    for id in acked {
        assert!(listed.contains(id), "acknowledged run {id} is not listed");
    }
    for id in acked.iter().step_by(7) {
        let body = server.api(&format!("/api/v1/runs/{id}"));
        assert_eq!(body["spans"].as_array().unwrap().len(), 3, "{id}");
    }
}

/// ClickHouse stopping under load from several senders: requests get 503 + Retry-After
/// (reads too, without ClickHouse's own message), nothing acknowledged is lost, and once it is
/// back ingest goes on without restarting Lemma, the refused requests landing when retried.
#[test]
fn clickhouse_stopping_under_load_means_retry_later_and_recovery_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut ch = start_clickhouse(dir.path());
    let server = Server::start_with(&["--store", &store_url(&ch, "lemma")]);
    let acked = Mutex::new(Vec::new());
    let refused = Mutex::new(Vec::new());
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for _ in 0..3 {
            let (acked, refused, next, stop, server) = (&acked, &refused, &next, &stop, &server);
            scope.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let n = next.fetch_add(1, Ordering::Relaxed) as u32;
                    match export(server, n) {
                        (200, _, id) => acked.lock().unwrap().push(id),
                        (503, true, _) => {
                            refused.lock().unwrap().push(n);
                            std::thread::sleep(Duration::from_millis(50));
                        }
                        other => panic!("export {n} answered {other:?}"),
                    }
                }
            });
        }
        std::thread::sleep(Duration::from_millis(1_000));
        ch.stop();
        std::thread::sleep(Duration::from_millis(1_000));
        let (status, body) = server.get("/api/v1/runs");
        assert_eq!(status, 503, "a read while ClickHouse is down: {body}");
        assert!(
            !body.to_string().contains("Code:"),
            "ClickHouse's own error reached the client: {body}"
        );
        ch.resume().expect("restarting ClickHouse");
        std::thread::sleep(Duration::from_millis(1_500));
        stop.store(true, Ordering::Relaxed);
    });
    let mut acked = acked.into_inner().unwrap();
    let refused = refused.into_inner().unwrap();
    assert!(
        !refused.is_empty(),
        "no request was refused while ClickHouse was down"
    );
    assert!(
        acked.len() > 20,
        "too little load: {} acknowledged",
        acked.len()
    );
    // Exporters retry what was refused: it lands now.
    for n in refused {
        let (status, _, id) = export(&server, n);
        assert_eq!(
            status, 200,
            "retrying export {n} after ClickHouse came back"
        );
        acked.push(id);
    }
    assert_all_read_back(&server, &acked);
    assert_eq!(server.all_runs("").len(), acked.len());
}

/// Two Lemma servers share one ClickHouse; one is killed (SIGKILL) under load from several
/// senders. Every request either of them acknowledged reads back through the survivor.
#[test]
fn a_lemma_server_killed_under_load_loses_no_acknowledged_span() {
    let dir = tempfile::tempdir().unwrap();
    let ch = start_clickhouse(dir.path());
    let url = store_url(&ch, "lemma");
    let survivor = Server::start_with(&["--store", &url]);
    let victim = Mutex::new(Some(Server::start_with(&["--store", &url])));
    let victim_url = victim.lock().unwrap().as_ref().unwrap().http.clone();
    let acked = Mutex::new(Vec::new());
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for sender in 0..4 {
            let (acked, next, stop, survivor, victim_url) =
                (&acked, &next, &stop, &survivor, &victim_url);
            scope.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let n = next.fetch_add(1, Ordering::Relaxed) as u32;
                    let (body, run_id) = run_request(n);
                    let base = if sender % 2 == 0 {
                        victim_url.as_str()
                    } else {
                        survivor.http.as_str()
                    };
                    let ok = client()
                        .post(format!("{base}/v1/traces"))
                        .bearer_auth(KEY)
                        .header("content-type", "application/x-protobuf")
                        .body(body)
                        .timeout(Duration::from_secs(30))
                        .send()
                        .is_ok_and(|r| r.status() == 200);
                    if ok {
                        acked.lock().unwrap().push(run_id);
                    }
                }
            });
        }
        std::thread::sleep(Duration::from_millis(1_500));
        // Dropping a `Server` kills it with SIGKILL: no shutdown, no final commit.
        drop(victim.lock().unwrap().take());
        std::thread::sleep(Duration::from_millis(800));
        stop.store(true, Ordering::Relaxed);
    });
    let acked = Arc::new(acked.into_inner().unwrap());
    assert!(
        acked.len() > 20,
        "too little load: {} acknowledged",
        acked.len()
    );
    assert_all_read_back(&survivor, &acked);
}
