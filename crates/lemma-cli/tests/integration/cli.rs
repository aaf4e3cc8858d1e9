//! The read commands (`lemma runs`, `run`, `threads`, `thread`) against a real server.

use crate::common;

use std::process::Command;

use common::{fixtures, Server};
use serde_json::Value;

fn replay(server: &Server, scenario: &str) {
    for r in fixtures::load(scenario) {
        let resp = fixtures::replay_http(server, &r);
        assert_eq!(resp.status(), 200, "{scenario}: {:?}", resp.text());
    }
}

/// A server holding `otel_manual` and `long_run`.
fn loaded() -> Server {
    let server = Server::start();
    replay(&server, "otel_manual");
    replay(&server, "long_run");
    server
}

/// `lemma ARGS` that must succeed; returns stdout.
fn ok(server: &Server, args: &[&str]) -> String {
    let (success, out, err) = server.cli(args);
    assert!(success, "lemma {args:?} failed: {err}\n{out}");
    out
}

/// `lemma ARGS` that must fail; returns stderr.
fn fails(server: &Server, args: &[&str]) -> String {
    let (success, out, err) = server.cli(args);
    assert!(!success, "lemma {args:?} should fail, printed {out}");
    assert!(err.starts_with("error: "), "{err}");
    err
}

struct Ids {
    ok_run: String,
    error_run: String,
    long_run: String,
}

fn ids(server: &Server) -> Ids {
    let runs = server.all_runs("");
    assert_eq!(runs.len(), 3);
    let find = |pred: &dyn Fn(&Value) -> bool| -> String {
        let found: Vec<&Value> = runs.iter().filter(|r| pred(r)).collect();
        assert_eq!(found.len(), 1, "{found:?}");
        found[0]["run_id"].as_str().unwrap().to_string()
    };
    Ids {
        ok_run: find(&|r| r["agent_name"] == "support_agent" && r["status"] != "error"),
        error_run: find(&|r| r["agent_name"] == "support_agent" && r["status"] == "error"),
        long_run: find(&|r| r["agent_name"] == "coding_agent"),
    }
}

/// The data rows of a table whose header starts with `first_column`.
fn table<'a>(out: &'a str, first_column: &str) -> Vec<&'a str> {
    let mut lines = out.lines();
    let header = lines.next().unwrap_or("");
    assert!(header.starts_with(first_column), "no header row in:\n{out}");
    lines.take_while(|l| !l.trim().is_empty()).collect()
}

#[test]
fn runs_lists_every_run_under_a_header() {
    let server = loaded();
    let ids = ids(&server);
    let out = ok(&server, &["runs"]);
    let header = out.lines().next().unwrap();
    for column in ["RUN", "AGENT", "STATUS", "SPANS", "TOKENS", "THREAD"] {
        assert!(header.contains(column), "{header}");
    }
    let rows = table(&out, "RUN");
    assert_eq!(rows.len(), 3, "{out}");
    assert_eq!(
        rows.iter().filter(|r| r.contains("support_agent")).count(),
        2
    );
    assert_eq!(
        rows.iter().filter(|r| r.contains("coding_agent")).count(),
        1
    );
    for id in [&ids.ok_run, &ids.error_run, &ids.long_run] {
        assert_eq!(
            rows.iter().filter(|r| r.starts_with(id.as_str())).count(),
            1,
            "{id} in\n{out}"
        );
    }
    let long = rows.iter().find(|r| r.starts_with(&ids.long_run)).unwrap();
    assert!(
        long.contains("222") && long.contains("thread-long-1"),
        "{long}"
    );
    let error = rows.iter().find(|r| r.starts_with(&ids.error_run)).unwrap();
    assert!(error.contains("ERROR"), "{error}");

    // A filter, and the JSON form.
    let out = ok(&server, &["runs", "status:error"]);
    let rows = table(&out, "RUN");
    assert_eq!(rows.len(), 1, "{out}");
    assert!(rows[0].starts_with(&ids.error_run), "{out}");
    let out = ok(&server, &["runs", "agent:coding_agent", "--json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["runs"].as_array().unwrap().len(), 1);
    assert_eq!(v["runs"][0]["run_id"], ids.long_run.as_str());
    let out = ok(&server, &["runs", "agent:nobody"]);
    assert!(out.starts_with("No runs match"), "{out}");
    // Paging is offered when there is more.
    let out = ok(&server, &["runs", "--limit", "2"]);
    assert_eq!(table(&out, "RUN").len(), 2, "{out}");
    assert!(out.contains("More runs"), "{out}");
}

#[test]
fn run_prints_the_span_tree() {
    let server = loaded();
    let ids = ids(&server);
    let out = ok(&server, &["run", &ids.long_run]);
    let mut lines = out.lines();
    let title = lines.next().unwrap();
    assert!(
        title.contains("invoke_agent coding_agent") && title.contains(&ids.long_run),
        "{title}"
    );
    assert!(out.contains("spans 222"), "{out}");
    assert!(out.contains("thread thread-long-1"), "{out}");
    // The tree follows the first blank line.
    let tree: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.is_empty())
        .skip(1)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(tree.len(), 222, "one line per span:\n{out}");
    assert!(tree[0].starts_with("agent") && tree[0].contains("invoke_agent coding_agent"));
    assert!(tree[1].starts_with("├─ llm"), "{}", tree[1]);
    assert!(tree[221].starts_with("└─ "), "{}", tree[221]);
    assert!(tree[1..]
        .iter()
        .all(|l| l.starts_with("├─ ") || l.starts_with("└─ ")));
    assert_eq!(tree.iter().filter(|l| l.starts_with("└─ ")).count(), 1);
    let failing: Vec<&&str> = tree.iter().filter(|l| l.contains('✗')).collect();
    assert_eq!(failing.len(), 8, "{failing:#?}");
    assert!(failing
        .iter()
        .all(|l| l.starts_with("├─ tool") && l.contains("execute_tool run_tests")));
    assert!(tree[1].contains("1200→30 tok"), "{}", tree[1]);

    // An error run marks the failing tool and the root.
    let out = ok(&server, &["run", &ids.error_run]);
    assert!(out.contains("status ERROR"), "{out}");
    let tool = out
        .lines()
        .find(|l| l.contains("execute_tool lookup_order"))
        .unwrap();
    assert!(
        tool.starts_with("└─ tool") && tool.contains("✗ OrderServiceDown"),
        "{out}"
    );

    // --json is the API's answer (with every run's signals evaluated, so both read the same).
    server.settle_signals();
    let out = ok(&server, &["run", &ids.long_run, "--json"]);
    let v: Value = serde_json::from_str(&out).expect("--json prints JSON");
    assert_eq!(v["run"]["run_id"], ids.long_run.as_str());
    assert_eq!(v["spans"].as_array().unwrap().len(), 222);
    assert_eq!(v, server.api(&format!("/api/v1/runs/{}", ids.long_run)));

    let err = fails(&server, &["run", "0123456789abcdef0123456789abcdef"]);
    assert!(err.contains("not found") && err.contains("404"), "{err}");
    let err = fails(&server, &["run", "nope"]);
    assert!(err.contains("32 hex") && err.contains("400"), "{err}");
}

#[test]
fn threads_and_thread_show_the_conversations() {
    let server = loaded();
    let ids = ids(&server);
    let out = ok(&server, &["threads"]);
    let rows = table(&out, "THREAD");
    assert_eq!(rows.len(), 2, "{out}");
    let t42 = rows
        .iter()
        .find(|r| r.starts_with("thread-42 "))
        .expect("thread-42");
    let cells: Vec<&str> = t42.split_whitespace().collect();
    assert!(
        cells.contains(&"support_agent") && cells.contains(&"user-7"),
        "{t42}"
    );
    assert!(
        rows.iter().any(|r| r.starts_with("thread-long-1 ")),
        "{out}"
    );

    let out = ok(&server, &["thread", "thread-42"]);
    assert!(out.starts_with("thread thread-42  runs 2"), "{out}");
    let turns: Vec<&str> = out.lines().filter(|l| l.starts_with('#')).collect();
    assert_eq!(turns.len(), 2, "{out}");
    // In order: the successful run came first.
    assert!(turns[0].starts_with(&format!("#1 {}", ids.ok_run)), "{out}");
    assert!(
        turns[1].starts_with(&format!("#2 {}", ids.error_run)),
        "{out}"
    );
    assert!(turns[1].contains("ERROR"), "{out}");
    assert!(out.contains("in:  Where is my order A-17?"), "{out}");

    let err = fails(&server, &["thread", "no-such-thread"]);
    assert!(err.contains("not found"), "{err}");
}

#[test]
fn failures_say_what_went_wrong() {
    let server = loaded();

    // A wrong key.
    let err = fails(&server, &["runs", "--api-key", "nope"]);
    assert!(err.contains("API key") && err.contains("401"), "{err}");
    let err = fails(&server, &["threads", "--api-key", "nope"]);
    assert!(err.contains("API key"), "{err}");

    // No key at all.
    let out = Command::new(common::lemma_bin())
        .args(["runs", "--url", &server.http])
        .env_remove("LEMMA_API_KEY")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no API key") && err.contains("lemma keys create"),
        "{err}"
    );

    // Nothing listening.
    for cmd in [
        vec!["runs"],
        vec!["run", "0123456789abcdef0123456789abcdef"],
    ] {
        let mut args = cmd.clone();
        args.extend(["--url", "http://127.0.0.1:1"]);
        let err = fails(&server, &args);
        assert!(
            err.contains("could not reach Lemma at http://127.0.0.1:1"),
            "{err}"
        );
    }

    // A bad query: the position and the reason.
    let err = fails(&server, &["runs", "status:bogus"]);
    assert!(
        err.contains("position 7") && err.contains("unknown status 'bogus'"),
        "{err}"
    );
    let err = fails(&server, &["runs", "agent:x", "tokens>abc"]);
    assert!(err.contains("position") && err.contains("tokens>"), "{err}");

    // And with a good key the same server answers.
    let out = ok(&server, &["runs"]);
    assert_eq!(table(&out, "RUN").len(), 3);
}

#[test]
fn delete_run_removes_a_run_of_the_keys_project_only() {
    let server = loaded();
    let ids = ids(&server);
    let (ok_created, _, err) = server.cli(&["projects", "create", "other"]);
    assert!(ok_created, "{err}");
    let (ok_key, out, err) = server.cli(&["keys", "create", "--project", "other"]);
    assert!(ok_key, "{err}");
    let other_key = common::key_from_output(&out);
    let delete = |run_id: &str, key: &str| {
        common::client()
            .delete(server.url(&format!("/api/v1/runs/{run_id}")))
            .bearer_auth(key)
            .send()
            .unwrap()
    };

    // Another project's key cannot delete it, nor learn that it exists.
    let resp = delete(&ids.ok_run, &other_key);
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().unwrap();
    assert!(
        body["error"]["message"].as_str().unwrap().contains("other"),
        "{body}"
    );
    assert_eq!(delete("not-a-run", common::KEY).status(), 400);

    let resp = delete(&ids.error_run, common::KEY);
    assert_eq!(resp.status(), 204);
    assert!(resp.bytes().unwrap().is_empty());
    assert_eq!(
        server.get(&format!("/api/v1/runs/{}", ids.error_run)).0,
        404
    );
    assert_eq!(delete(&ids.error_run, common::KEY).status(), 404);

    let out = ok(&server, &["delete-run", &ids.ok_run]);
    assert!(
        out.contains(&format!("Deleted run {}", ids.ok_run)),
        "{out}"
    );
    let err = fails(&server, &["delete-run", &ids.ok_run]);
    assert!(err.contains("not found") && err.contains("404"), "{err}");
    let runs = server.all_runs("");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["run_id"], ids.long_run.as_str());
    let out = ok(&server, &["delete-run", &ids.long_run, "--json"]);
    let answer: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(answer["deleted"], ids.long_run.as_str());
    assert!(server.all_runs("").is_empty());
}

/// Admin commands work on the store a server made: run from a folder without one, they refuse
/// and say how to name it, rather than creating an empty store no server reads. Their hints
/// name the data dir they were given.
#[test]
fn admin_commands_refuse_a_folder_without_a_store_and_hints_name_the_data_dir() {
    let elsewhere = tempfile::tempdir().unwrap();
    let out = Command::new(common::lemma_bin())
        .args(["keys", "create"])
        .current_dir(elsewhere.path())
        .env_remove("LEMMA_DATA_DIR")
        .env_remove("LEMMA_STORE")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("no Lemma store at lemma-data/lemma.db") && err.contains("--data-dir"),
        "{err}"
    );
    assert!(
        !elsewhere.path().join("lemma-data").exists(),
        "no empty data dir is left behind"
    );

    let server = loaded();
    let dir = server.data_dir.display().to_string();
    let out = Command::new(common::lemma_bin())
        .args(["projects", "create", "elsewhere", "--data-dir", &dir])
        .env_remove("LEMMA_DATA_DIR")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains(&format!(
            "lemma keys create --project \"elsewhere\" --data-dir {dir:?}"
        )),
        "{said}"
    );
}
