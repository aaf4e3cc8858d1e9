//! `lemma demo` against a real `lemma serve`: the sample runs arrive over OTLP and read back
//! through the API as a thread, a failed run, a long run with a loop, a sub-agent and costs.

use crate::common;

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
    let url = format!("http://{}", common::free_addr());
    let (ok, _, err) = demo(&url, Some(KEY));
    assert!(!ok);
    assert!(
        err.contains(&format!("could not reach Lemma at {url}")),
        "{err}"
    );
}

/// Every run of `/api/v1/runs` with `params`, `limit` at a time, following cursors.
fn pages(server: &Server, params: &[(&str, &str)], limit: &str) -> Vec<Value> {
    let mut all = params.to_vec();
    all.push(("limit", limit));
    server.all_runs_with(&all)
}

#[test]
fn runs_sort_by_any_column_and_page_in_that_order() {
    let (server, _) = loaded();
    let mut all: Vec<String> = server
        .all_runs("")
        .iter()
        .map(|r| str_of(r, "run_id").to_string())
        .collect();
    all.sort();
    for (sort, field) in [
        ("cost", "cost_usd"),
        ("duration", "duration_ms"),
        ("tokens", "total_tokens"),
        ("spans", "span_count"),
        ("errors", "error_count"),
        ("start_time", "start_time_unix_nano"),
    ] {
        for order in ["desc", "asc"] {
            let runs = pages(&server, &[("sort", sort), ("order", order)], "3");
            let mut ids: Vec<String> = runs
                .iter()
                .map(|r| str_of(r, "run_id").to_string())
                .collect();
            let values: Vec<f64> = runs.iter().map(|r| r[field].as_f64().unwrap()).collect();
            let sorted = values.windows(2).all(|w| match order {
                "desc" => w[0] >= w[1],
                _ => w[0] <= w[1],
            });
            assert!(sorted, "{sort} {order}: {values:?}");
            ids.sort();
            assert_eq!(ids, all, "{sort} {order}: every run once");
        }
    }
    // The distinct costs of the demo make the order a real test, not a tie.
    let costs: BTreeSet<String> = pages(&server, &[], "100")
        .iter()
        .map(|r| r["cost_usd"].to_string())
        .collect();
    assert!(costs.len() > 5, "{costs:?}");

    let bad = |query: &str| {
        let (status, body) = server.get(&format!("/api/v1/runs?{query}"));
        assert_eq!(status, 400, "{query}: {body}");
        body["error"]["message"].as_str().unwrap().to_string()
    };
    assert!(bad("sort=price").contains("sort must be one of start_time, duration, cost"));
    assert!(bad("sort=cost&order=up").contains("order must be asc or desc"));
    let first = server.api("/api/v1/runs?sort=cost&limit=2");
    let cursor = first["next_cursor"].as_str().unwrap();
    for other in ["sort=duration", "sort=cost&order=asc", ""] {
        let message = bad(&format!("{other}&limit=2&cursor={cursor}"));
        assert!(message.contains("another order"), "{other}: {message}");
    }
    let (status, body) = server.get(&format!("/api/v1/spans?q=kind:llm&cursor={cursor}"));
    assert_eq!(status, 400, "a run order's cursor on spans: {body}");

    // The CLI asks for the same order.
    let ids = |runs: &[Value]| -> Vec<String> {
        runs.iter()
            .map(|r| str_of(r, "run_id").to_string())
            .collect()
    };
    let cheapest = server.api("/api/v1/runs?sort=cost&order=asc&limit=3");
    let (ok, out, err) = server.cli(&["runs", "--sort", "cost", "--asc", "--limit", "3", "--json"]);
    assert!(ok, "{err}");
    let printed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        ids(printed["runs"].as_array().unwrap()),
        ids(cheapest["runs"].as_array().unwrap())
    );
    let (ok, _, err) = server.cli(&["runs", "--sort", "price"]);
    assert!(!ok);
    assert!(
        err.contains("possible values") && err.contains("cost"),
        "{err}"
    );
}

/// The query that finds the runs holding `value` in `field` (a facet's name).
fn finding(field: &str, value: &str) -> String {
    let value = format!("\"{value}\"");
    match field {
        "meta" => format!("has:meta.{}", value.trim_matches('"')),
        f => format!("{f}:{value}"),
    }
}

#[test]
fn values_suggest_what_the_runs_hold_with_the_counts_search_finds() {
    let (server, _) = loaded();
    let values = |query: &str| {
        let body = server.api(&format!("/api/v1/values?{query}"));
        assert_eq!(body["runs_read"], RUNS, "{body}");
        body["values"].as_array().unwrap().clone()
    };
    let agents = values("field=agent");
    let names: Vec<&str> = agents.iter().map(|v| str_of(v, "value")).collect();
    assert!(names.contains(&"support-agent"), "{names:?}");
    let mut checked = 0;
    for field in [
        "agent", "model", "tool", "user", "thread", "tag", "env", "meta",
    ] {
        let found = values(&format!("field={field}&limit=200"));
        assert!(
            !found.is_empty() || ["tag", "env"].contains(&field),
            "{field} has values in the demo"
        );
        let counts: Vec<u64> = found.iter().map(|v| v["runs"].as_u64().unwrap()).collect();
        assert!(
            counts.windows(2).all(|w| w[0] >= w[1]),
            "{field}: most common first"
        );
        for v in &found {
            let value = str_of(v, "value");
            let q = finding(field, value);
            assert_eq!(
                server.all_runs(&q).len() as u64,
                v["runs"].as_u64().unwrap(),
                "{q}: the count a suggestion shows is what the query finds"
            );
            checked += 1;
        }
    }
    assert!(checked > 10, "{checked} values checked");
    // Each metadata key's values, the same way.
    for key in values("field=meta") {
        let key = str_of(&key, "value");
        for v in values(&format!("field=meta.{key}")) {
            let q = format!("meta.{key}:\"{}\"", str_of(&v, "value"));
            assert_eq!(
                server.all_runs(&q).len() as u64,
                v["runs"].as_u64().unwrap(),
                "{q}"
            );
        }
    }

    let support = values("field=agent&prefix=SUP");
    assert_eq!(support.len(), 1, "{support:?}");
    assert_eq!(str_of(&support[0], "value"), "support-agent");
    let narrowed = server.api("/api/v1/values?field=agent&q=status:error");
    assert_eq!(
        narrowed["runs_read"].as_u64().unwrap() as usize,
        server.all_runs("status:error").len()
    );
    assert_eq!(values("field=agent&limit=1").len(), 1);

    for (query, says) in [
        ("field=status", "field must be one of agent, model"),
        ("", "field must be one of"),
        (
            "field=agent&limit=0",
            "limit must be a number from 1 to 200",
        ),
        ("field=agent&q=since:", "invalid query at position"),
    ] {
        let (status, body) = server.get(&format!("/api/v1/values?{query}"));
        assert_eq!(status, 400, "{query}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{query}: {message}");
    }
    let resp = common::client()
        .get(server.url("/api/v1/values?field=agent"))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 401);
    let (ok, _, err) = server.cli(&["projects", "create", "other"]);
    assert!(ok, "{err}");
    let (ok, out, err) = server.cli(&["keys", "create", "--project", "other"]);
    assert!(ok, "{err}");
    let other = common::key_from_output(&out);
    let (status, body) = server.get_with("/api/v1/values?field=agent", &other);
    assert_eq!(status, 200);
    assert_eq!(
        body["values"],
        serde_json::json!([]),
        "another project's runs"
    );
}

/// The backticked parts of `text`.
fn backticked(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// Every query the README and the dashboard's search help show as an example: the query
/// language's table, `lemma runs` commands, `?q=` in URLs, the search menu's examples and the
/// search boxes' placeholders. Placeholders for ids (`<run id>`) are not examples.
fn documented_queries() -> Vec<(String, String)> {
    let root = common::programs::repo_root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let mut out = Vec::new();
    let language = readme
        .split("### The query language")
        .nth(1)
        .and_then(|s| s.split("A query that does not parse").next())
        .expect("the README's query language section");
    for row in language.lines().filter(|l| l.starts_with("| `")) {
        for term in backticked(row.split('|').nth(1).unwrap()) {
            out.push(("README, the query language".into(), term));
        }
    }
    for line in readme.lines() {
        if let Some(rest) = line.strip_prefix("lemma runs ") {
            let mut terms = Vec::new();
            let mut words = rest.split('#').next().unwrap().split_whitespace();
            while let Some(word) = words.next() {
                match word {
                    "--sort" | "--limit" => drop(words.next()),
                    w if w.starts_with("--") => {}
                    w => terms.push(w),
                }
            }
            out.push(("README, lemma runs".into(), terms.join(" ")));
        }
        if let Some((_, q)) = line.split_once("?q=") {
            let q = q.split(['&', '"']).next().unwrap();
            out.push(("README, a URL".into(), q.to_string()));
        }
    }
    let search = std::fs::read_to_string(root.join("web/js/components/search.js")).unwrap();
    for line in search
        .lines()
        .filter(|l| l.trim_start().starts_with("{ query: '"))
    {
        if !line.contains("template: true") {
            let query = line.split('\'').nth(1).unwrap();
            out.push(("the search help".into(), query.replace("\\'", "'")));
        }
    }
    for page in [
        "components/search.js",
        "views/stats.js",
        "views/threads.js",
        "views/runs.js",
    ] {
        let text = std::fs::read_to_string(root.join("web/js").join(page)).unwrap();
        for line in text.lines().filter(|l| l.contains("placeholder")) {
            if let Some((_, example)) = line.split_once("e.g. ") {
                let example = example.split('\'').next().unwrap();
                out.push((format!("the placeholder of {page}"), example.to_string()));
            }
        }
    }
    out.retain(|(_, q)| !q.contains('<') && !q.trim().is_empty());
    out
}

#[test]
fn every_query_example_of_the_readme_and_the_search_help_finds_demo_runs() {
    let (server, _) = loaded();
    let examples = documented_queries();
    let sources: BTreeSet<&str> = examples.iter().map(|(s, _)| s.as_str()).collect();
    for source in [
        "README, the query language",
        "README, lemma runs",
        "README, a URL",
        "the search help",
        "the placeholder of views/stats.js",
    ] {
        assert!(
            sources.contains(source),
            "no example found in {source}: {sources:?}"
        );
    }
    assert!(examples.len() > 30, "{examples:?}");
    let all = server.all_runs("");
    let mut wrong = Vec::new();
    for (source, q) in &examples {
        let found = server.all_runs(q).len();
        // A date finds the runs that started after it. The demo's runs are recent, but the
        // tests may run with the clock moved (LEMMA_TEST_CLOCK), so they are counted.
        let expected = match q.strip_prefix("since:").filter(|d| d.contains('-')) {
            Some(date) => all
                .iter()
                .filter(|r| str_of(r, "start_time") >= date)
                .count(),
            None => found.max(1),
        };
        if found != expected {
            wrong.push(format!(
                "{source}: {q:?} finds {found} demo runs, not {expected}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
