//! `lemma migrate`: an embedded store loaded with recorded SDK traffic, metric events, log
//! records, keys and prices is copied into a real ClickHouse (Debian's 18.16, started here).
//! Every project's counts, runs and metric events read back the same from the copy, its keys
//! authenticate against a server on it, and a copy stopped anywhere (at a page's end, or
//! killed) and run again ends as one that ran straight through.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::otlp::{request, string_attr};
use common::{client, fixtures, key_from_output, Server, KEY};
use lemma_store::clickhouse::local::LocalServer;
use lemma_store::clickhouse::ClickHouseStore;
use lemma_store::sqlite::SqliteStore;
use lemma_store::{Counts, Store};
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
/// Copies of `long_run` under other run ids, so a copy takes many pages.
const COPIES: u8 = 4;
/// The run project `second` holds.
const SECOND_RUN: &str = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e";

/// A stopped server's data dir, and what it answered about each run before it stopped.
struct Source {
    _tmp: tempfile::TempDir,
    data: PathBuf,
    /// (run id, `GET /api/v1/runs/{id}`) of the default project.
    answers: Vec<(String, Value)>,
    /// The default project's listings, searches and stats.
    listings: Value,
    /// A key of project `second`, and a revoked key of `default`.
    second_key: String,
    revoked_key: String,
}

fn post(server: &Server, key: &str, path: &str, body: &Value) {
    let resp = client()
        .post(server.url(path))
        .bearer_auth(key)
        .json(body)
        .send()
        .unwrap();
    assert!(resp.status().is_success(), "{path}: {:?}", resp.text());
}

fn send_spans(server: &Server, key: &str, spans: Vec<Span>) {
    let resp = client()
        .post(server.url("/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .bearer_auth(key)
        .body(request(spans).encode_to_vec())
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200, "{:?}", resp.text());
}

fn cli_ok(server: &Server, args: &[&str]) -> String {
    let (ok, out, err) = server.cli(args);
    assert!(ok, "lemma {args:?}: {err}");
    out
}

fn load_source() -> Source {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut server = Server::start_in(&data, &[]);
    for scenario in SCENARIOS {
        for r in fixtures::load(scenario) {
            assert_eq!(
                fixtures::replay_http(&server, &r).status(),
                200,
                "{scenario}"
            );
        }
    }
    for copy in 1..=COPIES {
        for r in fixtures::load("long_run") {
            let mut message = r.message();
            for rs in &mut message.resource_spans {
                for ss in &mut rs.scope_spans {
                    for s in &mut ss.spans {
                        s.trace_id[0] ^= copy;
                    }
                }
            }
            assert_eq!(fixtures::send_protobuf(&server, &message).status(), 200);
        }
    }
    let runs: Vec<String> = server
        .all_runs("")
        .iter()
        .map(|r| r["run_id"].as_str().unwrap().to_string())
        .collect();
    assert!(runs.len() > COPIES as usize + 5, "{runs:?}");
    for (i, run) in runs.iter().enumerate() {
        let feedback = json!({"name": "resolved", "value": i % 2 == 0, "comment": "by hand"});
        post(
            &server,
            KEY,
            &format!("/api/v1/runs/{run}/metrics"),
            &feedback,
        );
        // One at a time: events posted together share a time, and stores may list those
        // in different orders.
        let quality = json!({"name": "quality", "value": i as f64 / 10.0});
        post(
            &server,
            KEY,
            &format!("/api/v1/runs/{run}/metrics"),
            &quality,
        );
        let label = json!({"metrics": [{"name": "label", "value": "fine", "source": "evaluator"}]});
        post(&server, KEY, &format!("/api/v1/runs/{run}/metrics"), &label);
    }
    // Log records: a message event of a span, and an evaluation result (a metric event too).
    let (trace, span_id) = {
        let spans = server.api(&format!("/api/v1/runs/{}", runs[0]))["spans"].clone();
        let span = &spans[0];
        (span["trace_id"].clone(), span["span_id"].clone())
    };
    let kv = |k: &str, v: Value| json!({"key": k, "value": v});
    let logs = json!({"resourceLogs": [{"scopeLogs": [{"logRecords": [
        {"timeUnixNano": "1000", "eventName": "gen_ai.choice", "traceId": trace, "spanId": span_id,
         "body": {"kvlistValue": {"values": [kv("content", json!({"stringValue": "a logged answer"}))]}}},
        {"timeUnixNano": "2000", "eventName": "gen_ai.evaluation.result", "traceId": trace,
         "attributes": [kv("gen_ai.evaluation.name", json!({"stringValue": "relevance"})),
                        kv("gen_ai.evaluation.score.value", json!({"doubleValue": 0.75}))]},
    ]}]}]});
    post(&server, KEY, "/v1/logs", &logs);
    cli_ok(
        &server,
        &["projects", "retention", "default", "--days", "45"],
    );
    cli_ok(
        &server,
        &[
            "prices",
            "set",
            "gpt-4o-mini",
            "--input",
            "1.5",
            "--output",
            "6",
        ],
    );

    // A second project with a key and a run of its own; a revoked key.
    cli_ok(&server, &["projects", "create", "second"]);
    let second_key = key_from_output(&cli_ok(&server, &["keys", "create", "--project", "second"]));
    let span = Span {
        trace_id: vec![0x5e; 16],
        span_id: vec![0x5e; 8],
        name: "invoke_agent other".into(),
        start_time_unix_nano: 1_000,
        end_time_unix_nano: 2_000,
        attributes: vec![string_attr("gen_ai.operation.name", "invoke_agent")],
        ..Default::default()
    };
    send_spans(&server, &second_key, vec![span]);
    let revoked = cli_ok(&server, &["keys", "create", "--project", "default"]);
    let revoked_key = key_from_output(&revoked);
    let public = revoked
        .split("LANGFUSE_PUBLIC_KEY): ")
        .nth(1)
        .unwrap()
        .trim();
    cli_ok(&server, &["keys", "revoke", public]);

    // Thresholds and an alert rule of the project, copied with it; every run evaluated.
    let set = common::client()
        .put(server.url("/api/v1/signals/settings"))
        .bearer_auth(KEY)
        .json(&json!({"error_streak": 4}))
        .send()
        .unwrap();
    assert_eq!(set.status(), 200);
    post(
        &server,
        KEY,
        "/api/v1/alerts/rules",
        &json!({"name": "loops", "query": "signal:loop", "condition": {"type": "each_run"}}),
    );
    server.settle_signals();
    let answers = runs
        .iter()
        .map(|run| (run.clone(), server.api(&format!("/api/v1/runs/{run}"))))
        .collect();
    let listings = listings(&server);
    assert!(server.stop());
    Source {
        _tmp: tmp,
        data,
        answers,
        listings,
        second_key,
        revoked_key,
    }
}

/// What the API lists of the default project: runs, threads, searches, stats.
fn listings(server: &Server) -> Value {
    let runs = server.all_runs("");
    let day = |ns: u64| {
        let t = time::OffsetDateTime::from_unix_timestamp((ns / 1_000_000_000) as i64).unwrap();
        t.date()
    };
    let starts = runs
        .iter()
        .map(|r| day(r["start_time_unix_nano"].as_u64().unwrap()));
    let (from, to) = (
        starts.clone().min().unwrap(),
        starts.max().unwrap().next_day().unwrap(),
    );
    json!({
        "runs": runs,
        "threads": server.api("/api/v1/threads"),
        "errors": server.all_runs("status:error"),
        "rated": server.all_runs("metric.resolved:true"),
        "search": server.api("/api/v1/spans?q=weather&limit=100"),
        "stats": server.api(&format!("/api/v1/stats?from={from}&to={to}")),
    })
}

fn address(ch: &LocalServer, database: &str) -> String {
    format!("clickhouse://127.0.0.1:{}/{database}", ch.http_port)
}

fn migrate_command(from: &Path, to: &str, args: &[&str]) -> Command {
    let mut command = Command::new(common::lemma_bin());
    command
        .arg("migrate")
        .arg("--from")
        .arg(from)
        .args(["--to", to])
        .args(args)
        .env_remove("LEMMA_DATA_DIR")
        .env_remove("LEMMA_STORE");
    command
}

fn migrate(from: &Path, to: &str, args: &[&str]) -> Output {
    migrate_command(from, to, args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Everything a store holds of its projects, as reads give it: counts, keys, prices, and each
/// run with its spans and metric events. Ids a store assigns itself (projects', keys') and
/// the time a price was set are left out.
async fn contents(store: &dyn Store, answers: &[(String, Value)]) -> Value {
    let runs: Vec<&str> = answers
        .iter()
        .map(|(run, _)| run.as_str())
        .chain([SECOND_RUN])
        .collect();
    let mut projects = Vec::new();
    for p in store.list_projects().await.unwrap() {
        let counts = store.counts(p.id).await.unwrap();
        let keys: Vec<Value> = store
            .list_keys(Some(&p.name))
            .await
            .unwrap()
            .into_iter()
            .map(|k| json!([k.public_key, k.hint, k.created_at_unix_nano, k.revoked]))
            .collect();
        let prices: Vec<Value> = store
            .list_prices(p.id)
            .await
            .unwrap()
            .into_iter()
            .map(|o| json!([o.model, o.price]))
            .collect();
        let mut read = Vec::new();
        for run in &runs {
            let got = store.get_run(p.id, run).await.unwrap();
            let metrics = match store.list_metrics(p.id, run).await {
                Ok(mut events) => {
                    events.sort_by(|a, b| a.id.cmp(&b.id));
                    json!(events)
                }
                Err(lemma_store::StoreError::NotFound(_)) => json!("another project's run"),
                Err(e) => panic!("{e}"),
            };
            read.push(json!({"run": got, "metrics": metrics}));
        }
        let retention = store.retention(p.id).await.unwrap();
        let ids: Vec<String> = runs.iter().map(|r| r.to_string()).collect();
        let mut signals = store.signals_of(p.id, &ids).await.unwrap();
        signals.sort_by(|a, b| a.run_id.cmp(&b.run_id));
        let thresholds = store.signal_settings(p.id).await.unwrap();
        let alerts = store.alert_config(p.id).await.unwrap();
        projects.push(json!({"name": p.name, "counts": counts, "keys": keys,
                             "prices": prices, "retention": retention, "runs": read,
                             "signals": signals, "thresholds": thresholds,
                             "alerts": [alerts.rules, alerts.channels]}));
    }
    projects.sort_by_key(|p| p["name"].as_str().unwrap().to_string());
    Value::Array(projects)
}

fn embedded(source: &Source) -> (Value, Vec<Counts>) {
    runtime().block_on(async {
        let store = SqliteStore::open(source.data.join("lemma.db")).unwrap();
        let mut counts = Vec::new();
        for p in store.list_projects().await.unwrap() {
            counts.push(store.counts(p.id).await.unwrap());
        }
        (contents(&store, &source.answers).await, counts)
    })
}

fn copied(address: &str, source: &Source) -> Value {
    runtime().block_on(async {
        let store = ClickHouseStore::open(address).await.unwrap();
        contents(&store, &source.answers).await
    })
}

fn assert_same(what: &str, got: &Value, want: &Value) {
    common::compare::assert_same_json(what, got, want, "copy", "embedded");
}

#[test]
fn a_copy_reads_back_as_the_embedded_store_and_its_keys_keep_working() {
    let source = load_source();
    let (want, counts) = embedded(&source);
    // What is copied is more than a few pages, with events, records, keys and a price.
    let all = counts.iter().fold(Counts::default(), |a, c| Counts {
        spans: a.spans + c.spans,
        runs: a.runs + c.runs,
        metrics: a.metrics + c.metrics,
        logs: a.logs + c.logs,
    });
    let runs = source.answers.len() as u64;
    assert!(all.spans > 1_000 && all.runs == runs + 1, "{all:?}");
    assert_eq!((all.metrics, all.logs), (3 * runs + 1, 2));
    assert!(want.to_string().contains("gpt-4o-mini"));

    let dir = tempfile::tempdir().unwrap();
    let ch = LocalServer::start(dir.path()).expect("starting ClickHouse");
    let to = address(&ch, "copy");
    let started = Instant::now();
    let out = migrate(&source.data, &to, &[]);
    let took = started.elapsed();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("every project's counts match"), "{stdout}");
    // Not a terminal: plain progress lines.
    assert!(
        stderr.contains(&format!("spans: {} copied", all.spans)),
        "{stderr}"
    );
    eprintln!("copied {} spans in {took:?}", all.spans);
    assert_same("the copy", &copied(&to, &source), &want);

    // Again: nothing left to copy, and the counts still match.
    let again = migrate(&source.data, &to, &[]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(
        text(&again.stdout).contains("Copied 0 spans"),
        "{}",
        text(&again.stdout)
    );

    // A server on the copy: no new project or key; the keys work as they did, runs read the same.
    let mut on_copy = Server::start_with_key(&dir.path().join("unused"), None, &["--store", &to]);
    assert!(on_copy.banner.is_empty(), "{:?}", on_copy.banner);
    for (run, answer) in &source.answers {
        assert_same(run, &on_copy.api(&format!("/api/v1/runs/{run}")), answer);
    }
    assert_same("listings", &listings(&on_copy), &source.listings);
    let path = format!("/api/v1/runs/{SECOND_RUN}");
    assert_eq!(on_copy.get_with(&path, &source.second_key).0, 200);
    assert_eq!(on_copy.get(&path).0, 404, "another project's run");
    assert_eq!(on_copy.get_with(&path, &source.revoked_key).0, 401);
    assert!(on_copy.stop());

    // A copy that lost data since is an error naming the project and the counts.
    let gone = &source.answers[0].0;
    runtime().block_on(async {
        let store = ClickHouseStore::open(&to).await.unwrap();
        let default = store.project_by_name("default").await.unwrap().unwrap();
        assert!(store.delete_run(default.id, gone).await.unwrap());
    });
    let check = migrate(&source.data, &to, &[]);
    let stderr = text(&check.stderr);
    assert_eq!(check.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("project \"default\": spans") && stderr.contains("in ClickHouse"),
        "{stderr}"
    );
}

/// The checkpoint a copy to `to` keeps in `data`.
fn checkpoint(data: &Path, to: &str) -> Option<Value> {
    std::fs::read_dir(data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            // Not the new file being written (`.json.tmp`), which may never be renamed.
            name.starts_with("migrate-") && name.ends_with(".json")
        })
        .filter_map(|p| serde_json::from_slice::<Value>(&std::fs::read(p).ok()?).ok())
        .find(|cp| cp["target"] == to)
}

#[test]
fn a_copy_stopped_anywhere_and_run_again_ends_as_one_run_straight_through() {
    let source = load_source();
    let dir = tempfile::tempdir().unwrap();
    let ch = LocalServer::start(dir.path()).expect("starting ClickHouse");
    let straight = address(&ch, "straight");
    assert!(migrate(&source.data, &straight, &[]).status.success());
    let want = copied(&straight, &source);

    // Stopped right after the target acknowledged a second page, before the checkpoint
    // recorded it: each run sends one page again and one new, through spans, log records and
    // metric events, to the end.
    let stepped = address(&ch, "stepped");
    let data = source.data.clone();
    let (mut runs, mut last) = (0, 0);
    loop {
        let out = migrate(
            &data,
            &stepped,
            &["--page-size", "100", "--stop-after-pages", "2"],
        );
        runs += 1;
        if out.status.success() {
            break;
        }
        assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
        let cp = checkpoint(&data, &stepped).expect("a checkpoint after the first page");
        let done = ["spans", "logs", "metrics"].map(|k| cp[k].as_u64().unwrap());
        let done = done.iter().sum::<u64>();
        assert!(done > last || runs == 1, "run {runs} did not move on: {cp}");
        last = done;
        assert!(runs < 40, "never finished");
    }
    assert!(runs > 12, "only {runs} runs: pages were not 100 spans");
    assert_same("the copy made in steps", &copied(&stepped, &source), &want);

    // Killed at any moment once a page is stored, then run again.
    let killed = address(&ch, "killed");
    let mut child = migrate_command(&data, &killed, &["--page-size", "20"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while checkpoint(&data, &killed).is_none_or(|cp| cp["spans"] == 0) {
        assert!(Instant::now() < deadline, "no page was stored");
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the copy ended before it was killed"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let partial = runtime().block_on(async {
        let store = ClickHouseStore::open(&killed).await.unwrap();
        let p = store.project_by_name("default").await.unwrap().unwrap();
        store.counts(p.id).await.unwrap()
    });
    let (_, counts) = embedded(&source);
    assert!(partial.spans < counts[0].spans, "{partial:?}");
    let out = migrate(&data, &killed, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("Going on with the copy"), "{stderr}");
    assert_same(
        "the copy killed and run again",
        &copied(&killed, &source),
        &want,
    );
}

#[test]
fn bad_arguments_are_refused_without_a_password_shown() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = migrate(&empty, "clickhouse://127.0.0.1:1/x", &[]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no embedded store"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        !empty.join("lemma.db").exists(),
        "an empty store was created"
    );

    let source = tempfile::tempdir().unwrap();
    SqliteStore::open(source.path().join("lemma.db")).unwrap();
    for to in [
        "clickhouse://admin:s3cret-pw@127.0.0.1:1/x",
        "postgres://admin:s3cret-pw@127.0.0.1:1/x",
    ] {
        let out = migrate(source.path(), to, &[]);
        let stderr = text(&out.stderr);
        assert!(!out.status.success());
        assert!(!stderr.contains("s3cret-pw"), "{stderr}");
        assert!(stderr.contains("127.0.0.1:1"), "{stderr}");
    }
}
