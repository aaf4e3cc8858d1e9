//! Signals against a real `lemma serve`: found as spans arrive (failure streaks, marks written
//! onto spans, a rephrased turn), found when a run goes quiet (stalled) and gone when it ends,
//! read mid-run with an ingest key, filtered on, counted over time, and per-project thresholds
//! with clear errors.

use std::time::{Duration, Instant};

use crate::common;

use common::otlp::{hex, request, string_attr};
use common::{client, Server, KEY};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::{status, Span, Status};
use prost::Message;
use serde_json::{json, Value};

pub(crate) const MS: u64 = 1_000_000;

pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

pub(crate) fn bool_attr(key: &str, value: bool) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::BoolValue(value)),
        }),
        ..Default::default()
    }
}

/// Span `id` of run `seed`, under `parent` (0: the root).
pub(crate) fn span(seed: u8, id: u8, parent: Option<u8>, start: u64, attrs: Vec<KeyValue>) -> Span {
    Span {
        trace_id: vec![seed; 16],
        span_id: vec![seed, 0, 0, 0, 0, 0, 0, id],
        parent_span_id: parent
            .map(|p| vec![seed, 0, 0, 0, 0, 0, 0, p])
            .unwrap_or_default(),
        name: format!("span {id}"),
        kind: 1,
        start_time_unix_nano: start,
        end_time_unix_nano: start + 10 * MS,
        attributes: attrs,
        ..Default::default()
    }
}

pub(crate) fn agent(seed: u8, start: u64, extra: Vec<KeyValue>) -> Span {
    let mut attrs = vec![
        string_attr("gen_ai.operation.name", "invoke_agent"),
        string_attr("gen_ai.agent.name", "support"),
    ];
    attrs.extend(extra);
    let mut s = span(seed, 1, None, start, attrs);
    s.end_time_unix_nano = start + 1_000 * MS;
    s
}

pub(crate) fn failed_tool(seed: u8, id: u8, start: u64) -> Span {
    let mut s = span(
        seed,
        id,
        Some(1),
        start,
        vec![
            string_attr("gen_ai.operation.name", "execute_tool"),
            string_attr("gen_ai.tool.name", "lookup_order"),
            string_attr(
                "gen_ai.tool.call.arguments",
                &format!("{{\"order\": {id}}}"),
            ),
        ],
    );
    s.status = Some(Status {
        code: status::StatusCode::Error as i32,
        message: "order service timed out".into(),
    });
    s
}

pub(crate) fn send(server: &Server, key: &str, spans: Vec<Span>) {
    let resp = client()
        .post(server.url("/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .bearer_auth(key)
        .body(request(spans).encode_to_vec())
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200, "{:?}", resp.text());
}

pub(crate) fn put(server: &Server, key: &str, path: &str, body: &Value) -> (u16, Value) {
    let resp = client()
        .put(server.url(path))
        .bearer_auth(key)
        .json(body)
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

fn kinds(signals: &Value) -> Vec<String> {
    signals
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap().to_string())
        .collect()
}

/// The run ids `q` matches, polled until `done` holds of them or `within` passes.
fn runs_until(
    server: &Server,
    q: &str,
    within: Duration,
    done: impl Fn(&[String]) -> bool,
) -> (Vec<String>, Duration) {
    let start = Instant::now();
    loop {
        let ids: Vec<String> = server
            .all_runs(q)
            .iter()
            .map(|r| r["run_id"].as_str().unwrap().to_string())
            .collect();
        if done(&ids) || start.elapsed() > within {
            return (ids, start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn signals_are_found_as_spans_arrive_and_read_back_everywhere() {
    let server = Server::start();
    let ingest_key = common::key_from_output(
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
    let t = now() - 60_000 * MS;

    // A run whose tool failed three times in a row, sent with its root still open.
    let streak = hex(&[0x31; 16]);
    send(
        &server,
        KEY,
        (2..=4)
            .map(|i| failed_tool(0x31, i, t + u64::from(i) * 100 * MS))
            .collect(),
    );
    // The agent asks mid-run with its ingest key, and sees it at once.
    let (status, answer) = server.get_with(&format!("/api/v1/runs/{streak}/signals"), &ingest_key);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["in_progress"], true);
    assert_eq!(answer["span_count"], 3);
    assert_eq!(kinds(&answer["signals"]), ["error_streak", "tool_failing"]);
    let first = &answer["signals"][0];
    assert_eq!(first["severity"], "critical");
    assert_eq!(first["source"], "rule");
    assert_eq!(first["span_id"], hex(&[0x31, 0, 0, 0, 0, 0, 0, 2]));
    assert!(
        first["explanation"]
            .as_str()
            .unwrap()
            .contains("order service timed out"),
        "{first}"
    );

    // A span marked by a classifier, in a run that is otherwise fine: found in the background,
    // without anyone asking, within moments of being acknowledged.
    let marked = hex(&[0x32; 16]);
    let sent = Instant::now();
    send(
        &server,
        KEY,
        vec![
            agent(0x32, t, vec![]),
            span(
                0x32,
                2,
                Some(1),
                t + MS,
                vec![bool_attr("guard.jailbreak_attempt", true)],
            ),
        ],
    );
    let (ids, _) = runs_until(
        &server,
        "signal:jailbreak_attempt",
        Duration::from_secs(10),
        |ids| ids.contains(&marked),
    );
    assert_eq!(ids, std::slice::from_ref(&marked));
    let took = sent.elapsed();
    assert!(took < Duration::from_secs(5), "found after {took:?}");
    let run = server.api(&format!("/api/v1/runs/{marked}"));
    let signal = &run["run"]["signals"][0];
    assert_eq!(signal["kind"], "jailbreak_attempt");
    assert_eq!(signal["severity"], "critical");
    assert_eq!(signal["source"], "attribute");

    // Filters, lists and the run views agree.
    let (ids, _) = runs_until(
        &server,
        "signal.severity:critical",
        Duration::from_secs(10),
        |ids| ids.len() == 2,
    );
    assert_eq!(ids, [streak.clone(), marked.clone()]);
    let (ids, _) = runs_until(
        &server,
        "signal:error_streak,tool_failing",
        Duration::from_secs(10),
        |ids| ids.len() == 1,
    );
    assert_eq!(ids, std::slice::from_ref(&streak));
    assert_eq!(server.all_runs("-has:signal").len(), 0);
    let listed = server.all_runs("signal:tool_failing");
    assert_eq!(
        kinds(&listed[0]["signals"]),
        ["error_streak", "tool_failing"]
    );
    let outline = server.api(&format!("/api/v1/runs/{streak}/outline"));
    assert_eq!(
        kinds(&outline["run"]["signals"]),
        ["error_streak", "tool_failing"]
    );

    // Counted over time by run start.
    let counts = server.api("/api/v1/stats/signals?from=2h&bucket=1h");
    let counted: Vec<(String, String, u64)> = counts["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().into(),
                c["severity"].as_str().unwrap().into(),
                c["runs"].as_u64().unwrap(),
            )
        })
        .collect();
    for expected in [
        ("error_streak", "critical"),
        ("jailbreak_attempt", "critical"),
        ("tool_failing", "warning"),
    ] {
        assert!(
            counted
                .iter()
                .any(|(n, s, r)| n == expected.0 && s == expected.1 && *r == 1),
            "{expected:?} in {counted:?}"
        );
    }

    // Over MCP, for an agent or an IDE.
    let text = common::mcp_tool(&server, "get_run_signals", json!({"run_id": streak}));
    assert!(text.contains("still going"), "{text}");
    assert!(text.contains("- critical error_streak (span "), "{text}");
    let found = common::mcp_tool(
        &server,
        "search_runs",
        json!({"query": "signal.severity:critical"}),
    );
    assert!(
        found.contains(&streak) && found.contains(&marked),
        "{found}"
    );

    // Bad requests.
    let (status, body) = server.get(&format!("/api/v1/runs/{}/signals", hex(&[0x7f; 16])));
    assert_eq!(status, 404, "{body}");
    let (status, body) = server.get("/api/v1/runs/nope/signals");
    assert_eq!(status, 400, "{body}");
    let (status, body) = server.get("/api/v1/stats/signals?bucket=0s");
    assert_eq!(status, 400, "{body}");
}

#[test]
fn a_quiet_open_run_is_stalled_until_its_root_arrives_and_thresholds_are_per_project() {
    let server = Server::start();
    let t = now() - 10_000 * MS;

    // Thresholds: read, refused when out of range or unknown, set.
    let defaults = server.api("/api/v1/signals/settings");
    assert_eq!(defaults["stall_after_secs"], 300);
    let (status, body) = put(
        &server,
        KEY,
        "/api/v1/signals/settings",
        &json!({"context_share": 1.5}),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("context_share"),
        "{body}"
    );
    let (status, body) = put(
        &server,
        KEY,
        "/api/v1/signals/settings",
        &json!({"stall_after": 1}),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("stall_after"),
        "{body}"
    );
    let (status, body) = put(
        &server,
        KEY,
        "/api/v1/signals/settings",
        &json!({"stall_after_secs": 1}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["stall_after_secs"], 1);
    assert_eq!(body["error_streak"], 3, "the rest keep their defaults");
    let read_key = common::key_from_output(
        &server
            .cli(&["keys", "create", "--project", "default", "--scope", "read"])
            .1,
    );
    let (status, _) = put(&server, &read_key, "/api/v1/signals/settings", &json!({}));
    assert_eq!(status, 403);

    // A run whose root has not ended: its child arrives, then nothing.
    let open = hex(&[0x41; 16]);
    send(&server, KEY, vec![span(0x41, 2, Some(1), t + MS, vec![])]);
    let (ids, waited) = runs_until(&server, "signal:stalled", Duration::from_secs(15), |ids| {
        ids.contains(&open)
    });
    assert_eq!(ids, std::slice::from_ref(&open), "stalled after {waited:?}");
    let answer = server.api(&format!("/api/v1/runs/{open}/signals"));
    assert_eq!(answer["in_progress"], true);
    assert_eq!(kinds(&answer["signals"]), ["stalled"]);

    // The root arrives: the run is no longer stalled.
    send(&server, KEY, vec![agent(0x41, t, vec![])]);
    let (ids, _) = runs_until(&server, "signal:stalled", Duration::from_secs(15), |ids| {
        ids.is_empty()
    });
    assert!(ids.is_empty(), "{ids:?}");
    assert_eq!(
        server.api(&format!("/api/v1/runs/{open}/signals"))["in_progress"],
        false
    );
}

#[test]
fn a_user_asking_again_after_an_answer_is_a_rephrase() {
    let server = Server::start();
    let t = now() - 60_000 * MS;
    let turn = |seed: u8, start: u64, question: &str| {
        agent(
            seed,
            start,
            vec![
                string_attr("lemma.thread_id", "th-1"),
                string_attr("lemma.input", question),
                string_attr("lemma.output", "Go to settings and press reset."),
            ],
        )
    };
    send(
        &server,
        KEY,
        vec![turn(0x51, t, "How do I reset my password?")],
    );
    send(
        &server,
        KEY,
        vec![turn(0x52, t + 5_000 * MS, "how can I reset my password")],
    );
    send(
        &server,
        KEY,
        vec![turn(0x53, t + 10_000 * MS, "What are your opening hours?")],
    );
    let second = hex(&[0x52; 16]);
    let (ids, _) = runs_until(&server, "signal:rephrase", Duration::from_secs(10), |ids| {
        !ids.is_empty()
    });
    assert_eq!(ids, std::slice::from_ref(&second));
    let answer = server.api(&format!("/api/v1/runs/{second}/signals"));
    let signal = &answer["signals"][0];
    assert_eq!(signal["kind"], "rephrase");
    assert_eq!(
        signal["label"],
        hex(&[0x51; 16]),
        "names the turn asked again"
    );
    // Turns that arrive out of order: the later one first, then the one it repeats.
    send(
        &server,
        KEY,
        vec![turn(
            0x55,
            t + 30_000 * MS,
            "how can I change my e-mail address",
        )],
    );
    std::thread::sleep(Duration::from_millis(600));
    send(
        &server,
        KEY,
        vec![turn(
            0x54,
            t + 20_000 * MS,
            "How do I change my email address?",
        )],
    );
    let late = hex(&[0x55; 16]);
    let (ids, waited) = runs_until(&server, "signal:rephrase", Duration::from_secs(10), |ids| {
        ids.len() == 2
    });
    assert_eq!(ids, [late, second.clone()], "after {waited:?}");
    // Read on the thread's page too.
    let thread = server.api("/api/v1/threads/th-1");
    let with: Vec<Vec<String>> = thread["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| kinds(&r["signals"]))
        .collect();
    assert_eq!(
        with,
        [
            vec![],
            vec!["rephrase".to_string()],
            vec![],
            vec![],
            vec!["rephrase".to_string()]
        ]
    );
}

#[test]
fn a_projects_classifier_labels_each_finished_run_once_within_its_sample_and_budget() {
    use common::receiver::{Mode, Receiver};
    let server = Server::start();
    let classifier = Receiver::start(Mode::Reply(
        r#"{"label": "User Frustrated", "score": 0.91, "explanation": "the user repeats themselves"}"#,
    ));
    let (status, body) = put(
        &server,
        KEY,
        "/api/v1/signals/settings",
        &json!({"classifier": {"url": classifier.url, "sample_rate": 0.5, "daily_budget": 2}}),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = put(
        &server,
        KEY,
        "/api/v1/signals/settings",
        &json!({"classifier": {"url": "x"}}),
    );
    assert_eq!(status, 400, "{body}");

    let t = now() - 60_000 * MS;
    // Run ids 0x11.. are in a 50% sample; 0xee.. are not.
    let finished = |seed: u8| {
        vec![
            agent(
                seed,
                t,
                vec![
                    string_attr("lemma.input", "Where is my order?!"),
                    string_attr("lemma.output", "Checking."),
                ],
            ),
            failed_tool(seed, 2, t + MS),
        ]
    };
    send(&server, KEY, finished(0x11));
    send(&server, KEY, finished(0xee));
    let labelled = hex(&[0x11; 16]);
    let (ids, _) = runs_until(
        &server,
        "signal:user_frustrated",
        Duration::from_secs(10),
        |ids| !ids.is_empty(),
    );
    assert_eq!(ids, std::slice::from_ref(&labelled));
    let answer = server.api(&format!("/api/v1/runs/{labelled}/signals"));
    let signal = answer["signals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "user_frustrated")
        .unwrap()
        .clone();
    assert_eq!(signal["source"], "classifier");
    assert_eq!(signal["score"], 0.91);
    assert_eq!(signal["explanation"], "the user repeats themselves");

    let sent = classifier.received();
    assert_eq!(sent.len(), 1, "only the run in the sample");
    let request = &sent[0].body;
    assert_eq!(request["run_id"], labelled);
    assert_eq!(request["user_text"], "Where is my order?!");
    assert_eq!(request["tool_calls"][0]["name"], "lookup_order");
    assert_eq!(request["tool_calls"][0]["status"], "error");

    // Sent once: more spans of the run, and asking again, send nothing more.
    send(
        &server,
        KEY,
        vec![span(0x11, 3, Some(1), t + 2 * MS, vec![])],
    );
    server.api(&format!("/api/v1/runs/{labelled}/signals"));
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(classifier.received().len(), 1);

    // The budget of two calls a day: a second run in the sample is sent, a third is not.
    send(&server, KEY, finished(0x12));
    send(&server, KEY, finished(0x13));
    std::thread::sleep(Duration::from_millis(1_500));
    assert_eq!(
        classifier.received().len(),
        2,
        "{:?}",
        classifier
            .received()
            .iter()
            .map(|r| r.body["run_id"].clone())
            .collect::<Vec<_>>()
    );
}
