//! Datasets and experiments against a real `lemma serve`: versions (an edit never changes what
//! an old experiment compares against), cases in and out as JSON lines and CSV, runs sent over
//! OTLP linked to cases (also by their metadata), scores as metric events, the comparison
//! and its regressions, the query language, the CLI's CI gate, and clear 400s.

use crate::common;
use crate::signals::{agent, now, put, send, MS};

use common::otlp::{hex, string_attr};
use common::{client, Server, KEY};
use serde_json::{json, Value};

fn post(server: &Server, key: &str, path: &str, body: Value) -> (u16, Value) {
    let resp = client()
        .post(server.url(path))
        .bearer_auth(key)
        .json(&body)
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

fn post_text(server: &Server, path: &str, body: &str) -> (u16, Value) {
    let resp = client()
        .post(server.url(path))
        .bearer_auth(KEY)
        .body(body.to_string())
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

/// A run answering `case` with `output`, failed when `ok` is false.
fn answer(server: &Server, seed: u8, case: &str, output: &str, ok: bool) -> String {
    let mut root = agent(
        seed,
        now() - 60_000 * MS + u64::from(seed) * MS,
        vec![
            string_attr("lemma.input", case),
            string_attr("lemma.output", output),
            string_attr("lemma.metadata.case_id", case),
        ],
    );
    if !ok {
        root.status = Some(opentelemetry_proto::tonic::trace::v1::Status {
            code: 2,
            message: "boom".into(),
        });
    }
    send(server, KEY, vec![root]);
    hex(&[seed; 16])
}

fn score(server: &Server, run: &str, name: &str, value: Value) {
    let (status, body) = post(
        server,
        KEY,
        &format!("/api/v1/runs/{run}/metrics"),
        json!({"name": name, "value": value, "source": "experiment"}),
    );
    assert_eq!(status, 201, "{body}");
}

#[test]
fn experiments_compare_case_by_case_over_fixed_dataset_versions() {
    let server = Server::start();
    let ingest = common::key_from_output(
        &server
            .cli(&[
                "keys",
                "create",
                "--project",
                "default",
                "--scope",
                "ingest",
            ])
            .1,
    );

    // Version 1 from JSON with an ingest key, as an SDK running an experiment would.
    let (status, v1) = post(
        &server,
        &ingest,
        "/api/v1/datasets",
        json!({"name": "orders", "cases": [
            {"id": "a", "input": "Where is A-17?", "expected": "shipped"},
            {"id": "b", "input": "Refund B-2", "expected": "refunded"},
        ]}),
    );
    assert_eq!(status, 201, "{v1}");
    assert_eq!(v1["version"], 1);
    // Version 2 adds cases from CSV; the ingest key cannot rewrite or delete.
    let (status, v2) = post_text(&server, "/api/v1/datasets/orders/cases?format=csv", "id,input,expected,tags,metadata.tier\nc,\"Cancel C-3, please\",cancelled,urgent;smoke,gold\n");
    assert_eq!(status, 201, "{v2}");
    assert_eq!(v2["version"], 2);
    assert_eq!(v2["cases"][2]["metadata"]["tier"], "gold");
    assert_eq!(v2["cases"][2]["tags"], json!(["urgent", "smoke"]));
    let (status, _) = put(
        &server,
        &ingest,
        "/api/v1/datasets/orders",
        &json!({"cases": [], "expected_version": 2}),
    );
    assert_eq!(status, 403);
    assert_eq!(
        server
            .get_with("/api/v1/datasets/orders?version=1", &ingest)
            .0,
        200,
        "an ingest key reads the cases it runs"
    );

    // Bad input.
    let (status, body) = post_text(
        &server,
        "/api/v1/datasets/orders/cases?format=csv",
        "id,input\nd,\n",
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no input"),
        "{body}"
    );
    let (status, body) = post_text(
        &server,
        "/api/v1/datasets/orders/cases?format=jsonl",
        "{\"input\": 1}\n{oops}\n",
    );
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("line 2"),
        "{body}"
    );
    let (status, body) = post(
        &server,
        KEY,
        "/api/v1/experiments",
        json!({"name": "x", "dataset": "nope"}),
    );
    assert_eq!(status, 400, "{body}");
    let (status, _) = post(
        &server,
        KEY,
        "/api/v1/datasets",
        json!({"name": "orders", "cases": [{"input": 1}]}),
    );
    assert_eq!(status, 409);

    // The baseline over version 1, the candidate over version 2.
    let (status, body) = post(
        &server,
        &ingest,
        "/api/v1/experiments",
        json!({"name": "v1", "dataset": "orders", "dataset_version": 1}),
    );
    assert_eq!(status, 201, "{body}");
    let (status, body) = post(
        &server,
        &ingest,
        "/api/v1/experiments",
        json!({"name": "v2", "dataset": "orders", "metadata": {"model": "gpt-4.1"}}),
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["dataset_version"], 2, "the latest by default");
    let (status, _) = post(
        &server,
        KEY,
        "/api/v1/experiments",
        json!({"name": "v2", "dataset": "orders"}),
    );
    assert_eq!(status, 409);

    let base_a = answer(&server, 0x21, "a", "shipped", true);
    let base_b = answer(&server, 0x22, "b", "refunded", true);
    let cand_a = answer(&server, 0x23, "a", "shipped", true);
    let cand_b = answer(&server, 0x24, "b", "sorry", false);
    let cand_c = answer(&server, 0x25, "c", "cancelled", true);
    let (status, body) = post(
        &server,
        &ingest,
        "/api/v1/experiments/v1/runs",
        json!({"runs": [
        {"case_id": "a", "run_id": base_a}, {"case_id": "b", "run_id": base_b}]}),
    );
    assert_eq!(status, 200, "{body}");
    // The candidate's runs are linked by the case id in their metadata.
    let (status, body) = post(
        &server,
        &ingest,
        "/api/v1/experiments/v2/runs/from-query",
        json!({"query": "run:".to_string() + &[cand_a.as_str(), cand_b.as_str(), cand_c.as_str()].join(",")}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["linked"], 3);
    let (status, body) = post(
        &server,
        KEY,
        "/api/v1/experiments/v1/runs",
        json!({"runs": [{"case_id": "c", "run_id": cand_c}]}),
    );
    assert_eq!(status, 400, "version 1 has no case c: {body}");
    for (run, exact) in [
        (&base_a, true),
        (&base_b, true),
        (&cand_a, true),
        (&cand_b, false),
        (&cand_c, true),
    ] {
        score(&server, run, "exact", json!(exact));
    }

    // Editing the dataset later changes nothing the baseline compares against.
    let (status, _) = put(
        &server,
        KEY,
        "/api/v1/datasets/orders",
        &json!({"cases": [{"id": "z", "input": "new"}], "expected_version": 2}),
    );
    assert_eq!(status, 200);

    let c = server.api("/api/v1/compare?experiments=v1,v2");
    let ids: Vec<&str> = c["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["case_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["a", "b", "c"],
        "version 1's cases, then the candidate's new one"
    );
    assert_eq!(c["cases"][0]["input"], "Where is A-17?");
    assert_eq!(c["regressions"], 1);
    let b = &c["cases"][1];
    assert_eq!(b["regression"], true);
    assert_eq!(
        b["reasons"],
        json!([
            "failed in experiment 2",
            "exact fell from 1 to 0 in experiment 2"
        ])
    );
    assert_eq!(b["results"][1]["output"], "sorry");
    assert_eq!(c["experiments"][1]["failed"], 1);
    assert_eq!(c["scores"][0]["means"], json!([1.0, 2.0 / 3.0]));
    let changed = server.api("/api/v1/compare?experiments=v1,v2&changed=true");
    assert_eq!(changed["cases"].as_array().unwrap().len(), 2);
    let (status, _) = server.get("/api/v1/compare?experiments=v1");
    assert_eq!(status, 400);
    let (status, _) = server.get("/api/v1/compare?experiments=v1,nope");
    assert_eq!(status, 404);

    // Over MCP.
    let text = common::mcp_tool(
        &server,
        "compare_experiments",
        json!({"experiments": ["v1", "v2"]}),
    );
    assert!(
        text.contains("3 cases, 2 changed, 1 worse than the baseline"),
        "{text}"
    );
    assert!(
        text.contains("- WORSE case b · input: Refund B-2 · failed in experiment 2"),
        "{text}"
    );
    assert!(
        text.contains(&format!("v2: run {cand_b} error · output: sorry")),
        "{text}"
    );

    // The query language.
    let ids = |q: &str| -> Vec<String> {
        server
            .all_runs(q)
            .iter()
            .map(|r| r["run_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids("experiment:v1"), [base_b.clone(), base_a.clone()]);
    assert_eq!(ids("case:b"), [cand_b.clone(), base_b.clone()]);
    assert_eq!(
        ids("dataset:orders experiment:v2 status:error"),
        std::slice::from_ref(&cand_b)
    );

    // The CLI: the comparison, and a gate that fails on the regression.
    let (ok, out, err) = server.cli(&["experiments", "compare", "v1", "v2"]);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("1 worse than the baseline") && out.contains("b: failed in experiment 2"),
        "{out}"
    );
    let (ok, _, err) = server.cli(&["experiments", "compare", "v1", "v2", "--fail-on-regression"]);
    assert!(!ok && err.contains("1 cases got worse than in v1"), "{err}");
    let (ok, _, _) = server.cli(&["experiments", "compare", "v2", "v2", "--fail-on-regression"]);
    assert!(ok, "no regression against itself");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("more.jsonl");
    std::fs::write(&file, "{\"id\": \"q\", \"input\": \"Hello\"}\n").unwrap();
    let (ok, out, err) = server.cli(&["datasets", "import", "orders", file.to_str().unwrap()]);
    assert!(ok && out.contains("version 4"), "{out}{err}");
    let (ok, out, _) = server.cli(&[
        "datasets",
        "export",
        "orders",
        "--version",
        "2",
        "--format",
        "csv",
    ]);
    assert!(
        ok && out.starts_with("id,input,expected,tags,metadata.tier\n")
            && out.contains("\"Cancel C-3, please\""),
        "{out}"
    );
    let (ok, out, _) = server.cli(&["experiments", "list"]);
    assert!(ok && out.contains("v1") && out.contains("v2"), "{out}");
}
