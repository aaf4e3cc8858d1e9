//! `lemma demo` against a real `lemma serve`: the sample runs arrive over OTLP and read back
//! through the API as a thread, a failed run, a long run with a loop, a sub-agent and costs.

mod common;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use common::{Server, KEY};
use serde_json::Value;

const RUNS: usize = 16;

/// `lemma demo --url <server> --key <key>`, with no URL or key from the environment.
fn demo(url: &str, key: Option<&str>) -> (bool, String, String) {
    let mut command = Command::new(common::lemma_bin());
    command
        .args(["demo", "--url", url])
        .env_remove("LEMMA_URL")
        .env_remove("LEMMA_API_KEY");
    if let Some(key) = key {
        command.args(["--key", key]);
    }
    let out = command.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn loaded() -> (Server, String) {
    let server = Server::start();
    let (ok, out, err) = demo(&server.http, Some(KEY));
    assert!(ok, "lemma demo failed: {err}\n{out}");
    (server, out)
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_default()
}

fn only<'a>(runs: &'a [Value], what: &str, pred: impl Fn(&Value) -> bool) -> &'a Value {
    let found: Vec<&Value> = runs.iter().filter(|r| pred(r)).collect();
    assert_eq!(found.len(), 1, "expected one {what}, found {}", found.len());
    found[0]
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

#[test]
fn loads_recent_runs_of_three_agents_with_costs() {
    let (server, out) = loaded();
    let runs = server.all_runs("");
    assert_eq!(runs.len(), RUNS, "{out}");
    assert_eq!(server.all_runs("service:lemma-demo").len(), RUNS);
    assert!(out.contains(&format!("Loaded {RUNS} sample runs")), "{out}");

    let now = now_ns();
    let hours = |h: f64| (h * 3600e9) as u64;
    for r in &runs {
        let end = r["end_time_unix_nano"].as_u64().unwrap();
        assert!(
            end <= now && end >= now - hours(3.0),
            "{} ends outside the last 3h",
            r["run_id"]
        );
        assert!(
            r["cost_usd"].as_f64().unwrap_or(0.0) > 0.0,
            "no cost: {}",
            r["run_id"]
        );
        assert_eq!(r["status"] == "error", r["error_count"] != 0);
    }
    let ends: Vec<u64> = runs
        .iter()
        .map(|r| r["end_time_unix_nano"].as_u64().unwrap())
        .collect();
    let spread = ends.iter().max().unwrap() - ends.iter().min().unwrap();
    assert!(
        spread > hours(1.5),
        "runs are spread over the hours, not bunched"
    );

    let agents: BTreeSet<&str> = runs.iter().map(|r| str_of(r, "agent_name")).collect();
    assert_eq!(
        agents,
        BTreeSet::from(["coding-agent", "research-agent", "support-agent"])
    );
    let users: BTreeSet<&str> = runs.iter().map(|r| str_of(r, "user_id")).collect();
    assert!(users.len() >= 6, "{users:?}");
    let models: BTreeSet<&str> = runs
        .iter()
        .flat_map(|r| {
            r["models"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_str)
        })
        .collect();
    for m in [
        "gpt-4o-2024-08-06",
        "gpt-4o-mini-2024-07-18",
        "claude-sonnet-4-5-20250929",
    ] {
        assert!(models.contains(m), "{models:?}");
    }

    let staging = only(&runs, "staging run", |r| r["environment"] == "staging");
    let tags = staging["tags"].as_array().unwrap();
    assert!(tags.iter().any(|t| t == "canary"), "{staging}");
    assert!(runs
        .iter()
        .filter(|r| r["environment"] != "staging")
        .all(|r| r["environment"].is_string()));

    let sub = only(&runs, "run with a sub-agent", |r| {
        r["agent_names"].as_array().unwrap().len() > 1
    });
    assert_eq!(
        sub["agent_names"],
        serde_json::json!(["research-agent", "web-researcher"])
    );
    let kinds = &sub["kind_counts"];
    for kind in ["agent", "llm", "tool", "retrieval", "embedding"] {
        assert!(kinds[kind].as_u64().unwrap_or(0) > 0, "no {kind}: {kinds}");
    }
}

#[test]
fn the_thread_has_four_turns_in_order_with_growing_history() {
    let (server, out) = loaded();
    let runs = server.all_runs("has:thread");
    assert_eq!(runs.len(), 4);
    let thread_id = str_of(&runs[0], "thread_id");
    assert!(runs.iter().all(|r| str_of(r, "thread_id") == thread_id));
    assert!(out.contains(thread_id), "{out}");

    let body = server.api(&format!("/api/v1/threads/{thread_id}"));
    assert_eq!(body["thread"]["run_count"], 4);
    assert_eq!(body["thread"]["user_id"], "cust_2290");
    let turns = body["runs"].as_array().unwrap();
    let inputs: Vec<&str> = turns.iter().map(|r| str_of(r, "input")).collect();
    for (input, start) in inputs.iter().zip([
        "Hi, I think I was charged twice",
        "Yes please",
        "Thanks!",
        "While I have you",
    ]) {
        assert!(input.starts_with(start), "{inputs:?}");
    }
    let starts: Vec<u64> = turns
        .iter()
        .map(|r| r["start_time_unix_nano"].as_u64().unwrap())
        .collect();
    assert!(starts.windows(2).all(|w| w[0] < w[1]), "{starts:?}");

    // Each turn's first model call is sent the conversation so far.
    let first_call_messages = |run: &Value| -> usize {
        let body = server.api(&format!("/api/v1/runs/{}", str_of(run, "run_id")));
        let chat = body["spans"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["kind"] == "llm")
            .cloned()
            .unwrap();
        chat["input_messages"].as_array().unwrap().len()
    };
    let sizes: Vec<usize> = turns.iter().map(first_call_messages).collect();
    assert!(sizes.windows(2).all(|w| w[0] < w[1]), "{sizes:?}");
}

#[test]
fn the_failed_run_carries_the_exception_on_its_tool() {
    let (server, _) = loaded();
    let runs = server.all_runs("status:error");
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert!(
        str_of(run, "status_message").contains("issue_refund"),
        "{run}"
    );

    let body = server.api(&format!("/api/v1/runs/{}", str_of(run, "run_id")));
    let spans = body["spans"].as_array().unwrap();
    let tool = only(spans, "failed span below the root", |s| {
        s["status"] == "error" && !s["parent_span_id"].is_null()
    });
    assert_eq!(tool["kind"], "tool");
    assert_eq!(tool["tool_name"], "issue_refund");
    let exception = tool["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "exception")
        .expect("an exception event");
    let attrs = &exception["attributes"];
    assert_eq!(
        attrs["exception.type"],
        "payments_client.errors.InvalidRequestError"
    );
    assert!(str_of(attrs, "exception.message").contains("Refund amount"));
    assert!(str_of(attrs, "exception.stacktrace").starts_with("Traceback (most recent call last):"));
}

#[test]
fn the_long_run_has_a_read_file_loop() {
    let (server, out) = loaded();
    let runs = server.all_runs("signal:loop");
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    let run_id = str_of(run, "run_id");
    assert!(run["span_count"].as_u64().unwrap() >= 300, "{run}");
    assert_eq!(run["agent_name"], "coding-agent");
    let signals = run["signals"].as_array().unwrap();
    assert_eq!(signals.len(), 1, "{signals:?}");
    assert_eq!(signals[0]["kind"], "loop");
    assert_eq!(signals[0]["tool_name"], "read_file");
    assert_eq!(signals[0]["repeats"], 12);
    assert_eq!(signals[0]["tool_args"]["path"], "src/ledger/rounding.py");
    assert!(
        out.contains(&format!("{}/runs/{run_id}", server.http)),
        "a dashboard link to the long run: {out}"
    );

    let body = server.api(&format!("/api/v1/runs/{run_id}"));
    assert_eq!(
        body["spans"].as_array().unwrap().len() as u64,
        run["span_count"].as_u64().unwrap()
    );
}

#[test]
fn running_twice_adds_a_second_set() {
    let (server, _) = loaded();
    let (ok, _, err) = demo(&server.http, Some(KEY));
    assert!(ok, "{err}");
    let runs = server.all_runs("");
    assert_eq!(runs.len(), 2 * RUNS);
    let threads: BTreeSet<&str> = runs
        .iter()
        .filter_map(|r| r["thread_id"].as_str())
        .collect();
    assert_eq!(threads.len(), 2, "each invocation has its own thread");
    for t in threads {
        let body = server.api(&format!("/api/v1/threads/{t}"));
        assert_eq!(body["thread"]["run_count"], 4);
    }
    assert_eq!(server.all_runs("signal:loop").len(), 2);
}

#[test]
fn a_wrong_or_missing_key_fails_clearly() {
    let server = Server::start();
    let (ok, out, err) = demo(&server.http, Some("lm_not_a_key"));
    assert!(!ok, "should fail, printed {out}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("API key") && err.contains("401"), "{err}");

    let (ok, _, err) = demo(&server.http, None);
    assert!(!ok);
    assert!(err.contains("no API key"), "{err}");
    assert!(server.all_runs("").is_empty());
}

#[test]
fn an_unreachable_server_fails_clearly() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let (ok, _, err) = demo(&url, Some(KEY));
    assert!(!ok);
    assert!(
        err.contains(&format!("could not reach Lemma at {url}")),
        "{err}"
    );
}
