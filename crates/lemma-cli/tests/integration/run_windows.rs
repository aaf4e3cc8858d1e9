//! A long run read in windows over the API: the outline's pages, one span, a search inside the
//! run, its overview; parameters checked; other projects kept out; the whole-run route kept
//! for small runs and refused, with directions, for long ones.

use crate::common;

use common::otlp::{request, string_attr};
use common::{client, mcp_tool, Server, KEY};
use lemma_bench::longrun::LongRun;
use opentelemetry_proto::tonic::trace::v1::{status, Span, Status};
use prost::Message;
use serde_json::Value;

fn post(server: &Server, body: Vec<u8>) {
    let resp = client()
        .post(server.url("/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .bearer_auth(KEY)
        .body(body)
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().unwrap_or_default());
}

/// GET with the bootstrap key: status, the body's size and the body.
fn get(server: &Server, path: &str) -> (u16, usize, Value) {
    let resp = client()
        .get(server.url(path))
        .bearer_auth(KEY)
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.bytes().unwrap();
    (
        status,
        bytes.len(),
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn ok(server: &Server, path: &str) -> Value {
    let (status, _, body) = get(server, path);
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

/// The error message of a 400.
fn bad(server: &Server, path: &str) -> String {
    let (status, _, body) = get(server, path);
    assert_eq!(status, 400, "GET {path}: {body}");
    body["error"]["message"].as_str().unwrap().to_string()
}

fn span(trace: &str, id: u64, parent: Option<&str>, name: &str, start: u64) -> Span {
    let parent = parent.map(|p| u64::from_str_radix(p, 16).unwrap().to_be_bytes().to_vec());
    Span {
        trace_id: u128::from_str_radix(trace, 16)
            .unwrap()
            .to_be_bytes()
            .to_vec(),
        span_id: id.to_be_bytes().to_vec(),
        parent_span_id: parent.unwrap_or_default(),
        name: name.into(),
        start_time_unix_nano: start,
        end_time_unix_nano: start + 1_000_000,
        ..Span::default()
    }
}

#[test]
fn a_long_run_reads_in_windows() {
    let server = Server::start();
    let mut run = LongRun::new(11, 10_000);
    while let Some((body, _)) = run.next_batch() {
        post(&server, body);
    }
    let id = run.trace_id.clone();
    let base = format!("/api/v1/runs/{id}");

    // The first window: the summary and 500 rows, small whatever the run's size.
    let (status, bytes, first) = get(&server, &format!("{base}/outline"));
    assert_eq!(status, 200, "{first}");
    assert!(bytes < 200_000, "the first outline answer is {bytes} bytes");
    assert_eq!(first["total"], 10_000);
    assert_eq!(first["run"]["span_count"], 10_000);
    assert!(first["run"]["metrics"].is_array());
    let rows = first["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 500);
    let root = rows[0]["span_id"].as_str().unwrap().to_string();
    assert_eq!(rows[0]["depth"], 0);
    assert_eq!(rows[0]["children"], 9_999);
    assert_eq!(rows[0]["descendants"], 9_999);
    assert_eq!(rows[1]["depth"], 1);
    assert!(rows[1].get("input").is_none(), "rows carry no payloads");

    // A failing tool call with a rare word, starting in the middle of the run.
    let mid = rows[250]["start_time_unix_nano"].as_u64().unwrap() + 1;
    let mut failing = span(&id, 0xfa11, Some(&root), "execute_tool broken", mid);
    failing.attributes = vec![
        string_attr("gen_ai.operation.name", "execute_tool"),
        string_attr("gen_ai.tool.name", "broken"),
        string_attr("lemma.output", "a zanzibar quokka"),
    ];
    failing.status = Some(Status {
        code: status::StatusCode::Error as i32,
        message: "it broke".into(),
    });
    post(&server, request(vec![failing]).encode_to_vec());
    let failing_id = format!("{:016x}", 0xfa11);

    // Paging through the grown run sees every span once, in tree order.
    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let page = ok(
            &server,
            &format!("{base}/outline?offset={offset}&limit=2000"),
        );
        assert_eq!(page["total"], 10_001);
        assert_eq!(page["offset"], offset);
        let rows = page["rows"].as_array().unwrap();
        if rows.is_empty() {
            break;
        }
        seen.extend(rows.iter().cloned());
        offset += rows.len();
    }
    assert_eq!(seen.len(), 10_001);
    let ids: std::collections::HashSet<&str> = seen
        .iter()
        .map(|r| r["span_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 10_001);
    let starts: Vec<u64> = seen[1..]
        .iter()
        .map(|r| r["start_time_unix_nano"].as_u64().unwrap())
        .collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "children by start");
    let position = seen
        .iter()
        .position(|r| r["span_id"] == failing_id.as_str())
        .unwrap();
    assert_eq!(seen[position]["status"], "error");
    assert_eq!(seen[position]["tool_name"], "broken");

    // One span in full.
    let full = ok(&server, &format!("{base}/spans/{failing_id}"));
    assert_eq!(full["span"]["output"], "a zanzibar quokka");
    assert_eq!(full["span"]["status_message"], "it broke");
    let upper = ok(
        &server,
        &format!("{base}/spans/{}", failing_id.to_uppercase()),
    );
    assert_eq!(upper, full);
    let (status, _, _) = get(&server, &format!("{base}/spans/{:016x}", 0xdead));
    assert_eq!(status, 404);
    assert!(bad(&server, &format!("{base}/spans/xyz")).contains("16 hex"));

    // Search inside the run, by status, text, kind; matches in tree order with positions.
    for q in ["status:error", "zanzibar", "tool:broken"] {
        let found = ok(&server, &format!("{base}/find?q={q}"));
        assert_eq!(found["total"], 1, "{q}: {found}");
        assert_eq!(found["matches"][0]["span_id"], failing_id.as_str());
        assert_eq!(found["matches"][0]["position"], position);
    }
    let after = ok(
        &server,
        &format!("{base}/find?q=status:error&from={}", position + 1),
    );
    assert_eq!(after["matches"].as_array().unwrap().len(), 0);
    let tools = ok(&server, &format!("{base}/find?q=kind:tool&limit=5"));
    assert_eq!(tools["total"], 5_000);
    assert_eq!(tools["truncated"], false);
    let positions: Vec<u64> = tools["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["position"].as_u64().unwrap())
        .collect();
    assert_eq!(positions.len(), 5);
    assert!(positions.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(seen[positions[0] as usize]["kind"], "tool");
    // Past 10,000 matches a search says it looked no further.
    let all = ok(&server, &format!("{base}/find?q=name:*"));
    assert_eq!(all["truncated"], true);
    assert_eq!(all["total"], 10_000);

    // The overview: where the failure is.
    let overview = ok(&server, &format!("{base}/overview?buckets=50"));
    assert_eq!(overview["total"], 10_001);
    let buckets = overview["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 50);
    let errors: u64 = buckets.iter().map(|b| b["errors"].as_u64().unwrap()).sum();
    assert_eq!(errors, 1);
    let holding = buckets.iter().find(|b| b["errors"] == 1).unwrap();
    assert_eq!(holding["first_error"], position);
    assert_eq!(buckets[0]["from"], 0);
    assert_eq!(buckets[49]["to"], 10_001);

    // The transcript in windows: the model calls and tool calls in tree order, each model
    // call with only the messages after its last answer.
    let transcript = ok(&server, &format!("{base}/transcript?from=100&limit=20"));
    assert_eq!(
        transcript["total_steps"], 10_001,
        "every span is a call or the agent"
    );
    assert_eq!(transcript["from"], 100);
    let steps = transcript["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 20);
    for (i, step) in steps.iter().enumerate() {
        assert_eq!(step["step"], 100 + i);
        let at = step["position"].as_u64().unwrap() as usize;
        assert_eq!(step["span"]["span_id"], seen[at]["span_id"]);
        assert_eq!(step["depth"], 1);
    }
    let model = steps.iter().find(|s| s["span"]["kind"] == "llm").unwrap();
    assert!(model["earlier_messages"].as_u64().unwrap() > 0, "{model}");
    let kept = model["span"]["input_messages"].as_array().unwrap();
    assert!(kept.iter().all(|m| m["role"] != "assistant"), "{kept:?}");
    assert!(model["span"]["input"].is_null());
    let tool = steps.iter().find(|s| s["span"]["kind"] == "tool").unwrap();
    assert!(tool["span"]["output"].is_string() || tool["span"]["output"].is_object());
    let end = ok(&server, &format!("{base}/transcript?from=10001"));
    assert_eq!(end["steps"].as_array().unwrap().len(), 0);

    // Parameters out of range are 400s that say what is allowed.
    for (path, word) in [
        ("outline?limit=0", "limit"),
        ("outline?limit=2001", "limit"),
        ("outline?limit=many", "limit"),
        ("outline?offset=-1", "offset"),
        ("find", "q is required"),
        ("find?q=status:error&limit=0", "limit"),
        ("find?q=-", "invalid query"),
        ("overview?buckets=0", "buckets"),
        ("overview?buckets=2001", "buckets"),
        ("transcript?limit=201", "limit"),
        ("transcript?from=x", "from"),
    ] {
        assert!(
            bad(&server, &format!("{base}/{path}")).contains(word),
            "{path}"
        );
    }
    assert!(bad(&server, "/api/v1/runs/nope/outline").contains("32 hex"));

    // The whole run is refused with directions to the windows.
    let (status, _, body) = get(&server, &base);
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "run_too_long");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("/outline"));

    // Another project's key sees none of it.
    let (created, _, err) = server.cli(&["projects", "create", "other"]);
    assert!(created, "{err}");
    let (made, out, err) = server.cli(&["keys", "create", "--project", "other"]);
    assert!(made, "{err}");
    let other = common::key_from_output(&out);
    for path in [
        "outline".to_string(),
        format!("spans/{failing_id}"),
        "find?q=status:error".into(),
        "overview".into(),
        "transcript".into(),
    ] {
        let (status, body) = server.get_with(&format!("{base}/{path}"), &other);
        assert_eq!(status, 404, "{path}: {body}");
    }
    let (status, _) = server.get_with(&format!("{base}/outline"), "wrong-key");
    assert_eq!(status, 401);

    // The CLI and MCP read it in windows too, a page at a time.
    let (done, out, err) = server.cli(&["run", &id]);
    assert!(done, "{err}");
    assert!(
        out.contains("spans 10001") && out.contains(&format!("#{root}")),
        "{out}"
    );
    assert!(out.contains("ask with offset="), "{out}");
    let (done, out, err) = server.cli(&["run", &id, "--offset", "9995"]);
    assert!(done, "{err}");
    assert_eq!(out.lines().filter(|l| l.contains(" #")).count(), 6, "{out}");
    assert!(!out.contains("ask with offset="), "the last page: {out}");
    let (done, out, err) = server.cli(&["run", &id, "--transcript", "--max-chars", "5000"]);
    assert!(done, "{err}");
    assert!(
        out.contains("· transcript") && out.contains("ask with offset="),
        "{out}"
    );
    let (done, out, err) = server.cli(&["run", &id, "--json"]);
    assert!(done, "{err}");
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["total"], 10_001);
    let tree = mcp_tool(
        &server,
        "get_run",
        serde_json::json!({"run_id": id, "view": "tree"}),
    );
    assert!(
        tree.contains(&format!("#{root}")) && tree.contains("ask with offset="),
        "{tree}"
    );
    let far = mcp_tool(
        &server,
        "get_run",
        serde_json::json!({"run_id": id, "view": "tree", "offset": position}),
    );
    assert!(far.contains(&format!("#{failing_id}")), "{far}");
    let transcript = mcp_tool(&server, "get_run", serde_json::json!({"run_id": id}));
    assert!(transcript.contains("· transcript"), "{transcript}");
    assert!(
        transcript.chars().count() <= 12_500,
        "a page stays within its budget"
    );
    let one = mcp_tool(
        &server,
        "get_span",
        serde_json::json!({"run_id": id, "span_id": failing_id}),
    );
    assert!(one.contains("zanzibar"), "{one}");

    // Deleted, the run is gone from every window (nothing is served from the cache).
    let deleted = client()
        .delete(server.url(&base))
        .bearer_auth(KEY)
        .send()
        .unwrap();
    assert_eq!(deleted.status(), 204);
    for path in ["outline", "overview", "find?q=status:error"] {
        let (status, _, _) = get(&server, &format!("{base}/{path}"));
        assert_eq!(status, 404, "{path}");
    }
}

#[test]
fn a_small_run_reads_whole_and_in_windows() {
    let server = Server::start();
    let id = format!("{:032x}", 0xabc);
    let root = span(&id, 1, None, "invoke_agent bot", 1_000_000_000);
    let root_id = format!("{:016x}", 1);
    let child = span(&id, 2, Some(&root_id), "chat", 1_100_000_000);
    let grandchild = span(&id, 3, Some(&format!("{:016x}", 2)), "inner", 1_200_000_000);
    post(
        &server,
        request(vec![grandchild, child, root]).encode_to_vec(),
    );

    let whole = ok(&server, &format!("/api/v1/runs/{id}"));
    assert_eq!(whole["spans"].as_array().unwrap().len(), 3);
    let outline = ok(&server, &format!("/api/v1/runs/{id}/outline"));
    assert_eq!(outline["run"], whole["run"]);
    let shape: Vec<(String, u64, u64)> = outline["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["depth"].as_u64().unwrap(),
                r["descendants"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            ("invoke_agent bot".to_string(), 0, 2),
            ("chat".into(), 1, 1),
            ("inner".into(), 2, 0)
        ]
    );
    let unknown = format!("/api/v1/runs/{:032x}", 0xdef);
    for path in [unknown.clone(), format!("{unknown}/outline")] {
        let (status, _, body) = get(&server, &path);
        assert_eq!(status, 404, "{path}: {body}");
    }
}

#[test]
fn a_window_of_long_names_stays_small() {
    let server = Server::start();
    let id = format!("{:032x}", 0x10a9);
    let root_id = format!("{:016x}", 1);
    let mut spans = vec![span(&id, 1, None, "root", 1_000_000_000)];
    for i in 0..600u64 {
        let name = format!("{i} {}", "a very long span name ".repeat(100));
        spans.push(span(&id, 2 + i, Some(&root_id), &name, 1_000_000_000 + i));
    }
    post(&server, request(spans).encode_to_vec());
    let (status, bytes, page) = get(&server, &format!("/api/v1/runs/{id}/outline"));
    assert_eq!(status, 200);
    assert!(bytes < 200_000, "{bytes} bytes");
    let rows = page["rows"].as_array().unwrap();
    assert!(rows.len() > 100 && rows.len() < 500, "{} rows", rows.len());
    assert!(rows[1]["name"].as_str().unwrap().chars().count() <= 257);
    // The next window starts where this one stopped.
    let next = ok(
        &server,
        &format!("/api/v1/runs/{id}/outline?offset={}", rows.len()),
    );
    assert_eq!(
        next["rows"][0]["name"].as_str().unwrap().split(' ').next(),
        Some(&*format!("{}", rows.len() - 1))
    );
}
