//! The LLM proxy against a real `lemma serve` and the fake model APIs of `tests/compat/fake_llm.py`
//! (OpenAI chat, Responses and embeddings, Anthropic messages; plain and streamed): calls pass
//! through unchanged, each is recorded once as a span under the right parent, streams arrive
//! chunk by chunk, failures are answered and recorded, and only a session or a key opens it.
//! The real provider SDKs drive it in `tests/compat/python/llm_proxy.py` (compat.rs).

use crate::common;

use std::time::{Duration, Instant};

use common::programs::FakeLlm;
use common::{client, Server, KEY};
use serde_json::{json, Value};

const PROVIDER_KEY: &str = "sk-provider-secret-never-stored-4f1c";
const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

/// A server whose proxy calls the fake LLM; `extra` are more `lemma serve` flags.
fn start(llm: &FakeLlm, extra: &[&str]) -> Server {
    let anthropic = llm.base_url.trim_end_matches("/v1").to_string();
    let mut args = vec![
        "--proxy-openai-upstream",
        &llm.base_url,
        "--proxy-anthropic-upstream",
        &anthropic,
    ];
    args.extend_from_slice(extra);
    Server::start_with(&args)
}

/// The parent an instrumented process would have sent: an agent span of run TRACE.
fn send_parent(server: &Server) {
    let now = now_ns();
    let body = json!({"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "parent-agent"}}]},
        "scopeSpans": [{"scope": {"name": "tests"}, "spans": [{
            "traceId": TRACE, "spanId": PARENT, "name": "invoke_agent planner", "kind": 1,
            "startTimeUnixNano": (now - 5_000_000_000u64).to_string(), "endTimeUnixNano": now.to_string(),
            "attributes": [{"key": "gen_ai.operation.name", "value": {"stringValue": "invoke_agent"}},
                           {"key": "gen_ai.agent.name", "value": {"stringValue": "planner"}}]}]}]}]});
    let resp = client()
        .post(server.url("/v1/traces"))
        .bearer_auth(KEY)
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
}

/// A new key of project `default` with this scope.
fn key_of_scope(server: &Server, scope: &str) -> String {
    let (ok, out, err) = server.cli(&["keys", "create", "--project", "default", "--scope", scope]);
    assert!(ok, "{err}");
    common::key_from_output(&out)
}

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

fn open_session(server: &Server, key: &str, body: Value) -> (u16, Value) {
    let resp = client()
        .post(server.url("/api/v1/proxy/sessions"))
        .bearer_auth(key)
        .json(&body)
        .send()
        .unwrap();
    (resp.status().as_u16(), resp.json().unwrap_or(Value::Null))
}

fn chat_body(text: &str, stream: bool) -> Value {
    json!({"model": "gpt-4o-mini", "stream": stream,
           "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}]})
}

fn anthropic_body(text: &str, stream: bool) -> Value {
    json!({"model": "claude-haiku-4-5", "max_tokens": 256, "stream": stream,
           "messages": [{"role": "user", "content": text}]})
}

/// POSTs `body` to `url` as a provider SDK would (the provider's key in its own headers).
fn call(url: &str, body: &Value, headers: &[(&str, &str)]) -> reqwest::blocking::Response {
    let mut request = client()
        .post(url)
        .timeout(Duration::from_secs(60))
        .header("authorization", format!("Bearer {PROVIDER_KEY}"))
        .header("x-api-key", PROVIDER_KEY)
        .header("anthropic-version", "2023-06-01")
        .json(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().unwrap()
}

/// The run's spans once it holds `count`; the proxy records after answering.
fn spans_of(server: &Server, run: &str, count: usize) -> Vec<Value> {
    exactly(count, &format!("spans of run {run}"), || {
        let (status, body) = server.get(&format!("/api/v1/runs/{run}"));
        let spans = body["spans"].as_array().cloned().unwrap_or_default();
        if status == 200 {
            spans
        } else {
            Vec::new()
        }
    })
}

/// Runs of the proxy's own service (calls with no parent), once there are `count`.
fn proxy_runs(server: &Server, count: usize) -> Vec<Value> {
    exactly(count, "proxy runs", || {
        server.all_runs("service:lemma-proxy")
    })
}

/// What `read` answers once it holds `count` items (asserting it is no more), waiting a while.
fn exactly(count: usize, what: &str, mut read: impl FnMut() -> Vec<Value>) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let items = read();
        if items.len() >= count {
            assert_eq!(items.len(), count, "{what}: {items:#?}");
            return items;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: {}, not {count}",
            items.len()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn by_name<'a>(spans: &'a [Value], prefix: &str) -> Vec<&'a Value> {
    spans
        .iter()
        .filter(|s| s["name"].as_str().unwrap_or_default().starts_with(prefix))
        .collect()
}

#[test]
fn a_sessions_calls_nest_under_its_parent_with_the_runs_thread_and_user() {
    let llm = FakeLlm::start();
    let server = start(&llm, &[]);
    send_parent(&server);
    let (status, session) = open_session(
        &server,
        KEY,
        json!({"traceparent": format!("00-{TRACE}-{PARENT}-01"), "thread_id": "th-7", "user_id": "ada"}),
    );
    assert_eq!(status, 201, "{session}");
    let token = session["token"].as_str().unwrap();
    assert!(token.starts_with("lps_"));
    let openai = session["base_urls"]["openai"].as_str().unwrap();
    let anthropic = session["base_urls"]["anthropic"].as_str().unwrap();
    assert_eq!(
        openai,
        server.url(&format!("/proxy/session/{token}/openai/v1"))
    );
    assert_eq!(session["env"]["OPENAI_BASE_URL"], openai);
    assert_eq!(session["env"]["ANTHROPIC_BASE_URL"], anthropic);

    // A plain chat call: the provider's answer, unchanged.
    let resp = call(
        &format!("{openai}/chat/completions"),
        &chat_body("Hello", false),
        &[],
    );
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().unwrap();
    assert_eq!(
        answer["choices"][0]["message"]["content"],
        "Order A-17 has shipped and will arrive on Friday."
    );

    // A streamed Anthropic call with a tool: every event passes through.
    let tools = json!([{"name": "lookup_order", "input_schema": {"type": "object"}}]);
    let mut body = anthropic_body("Where is my order?", true);
    body["tools"] = tools;
    let resp = call(&format!("{anthropic}/v1/messages"), &body, &[]);
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let through_proxy = resp.text().unwrap();
    let direct = call(&format!("{}/messages", llm.base_url), &body, &[])
        .text()
        .unwrap();
    assert_eq!(
        without_ids(&through_proxy),
        without_ids(&direct),
        "the stream passes through as the provider sent it"
    );
    assert!(through_proxy.contains("event: message_stop"));

    // Embeddings.
    let resp = call(
        &format!("{openai}/embeddings"),
        &json!({"model": "text-embedding-3-small", "input": ["one two", "three"]}),
        &[],
    );
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<Value>().unwrap()["data"][1]["embedding"]
            .as_array()
            .unwrap()
            .len(),
        8
    );

    let spans = spans_of(&server, TRACE, 4);
    for child in spans.iter().filter(|s| s["span_id"] != PARENT) {
        assert_eq!(child["parent_span_id"], PARENT, "{child:#}");
    }
    let chat = by_name(&spans, "chat gpt-4o-mini")[0];
    assert_eq!(chat["kind"], "llm");
    assert_eq!(chat["model"], "gpt-4o-mini");
    assert_eq!(chat["input_tokens"], 50);
    assert_eq!(chat["output_tokens"], 20);
    let claude = by_name(&spans, "chat claude-haiku-4-5")[0];
    assert_eq!(claude["provider"], "anthropic");
    // Anthropic's cache reads are part of the input.
    assert_eq!(claude["input_tokens"], 50);
    assert_eq!(claude["cache_read_tokens"], 10);
    assert_eq!(claude["output_tokens"], 12);
    assert!(claude["attributes"]["gen_ai.response.time_to_first_chunk"]
        .as_f64()
        .is_some());
    let output = claude["output_messages"].to_string();
    assert!(
        output.contains("lookup_order") && output.contains("A-17"),
        "{output}"
    );
    let embedding = by_name(&spans, "embeddings")[0];
    assert_eq!(embedding["kind"], "embedding");
    assert_eq!(embedding["input_tokens"], 3);

    let (_, run) = server.get(&format!("/api/v1/runs/{TRACE}"));
    assert_eq!(run["run"]["thread_id"], "th-7");
    assert_eq!(run["run"]["user_id"], "ada");
    assert_eq!(run["run"]["input_tokens"], 103);

    // The provider's key went through and nowhere else: in no file of the data dir.
    let mut files = Vec::new();
    files_under(&server.data_dir, &mut files);
    assert!(files.len() > 1, "{files:?}");
    for file in files {
        let bytes = std::fs::read(&file).unwrap_or_default();
        assert!(
            !bytes
                .windows(PROVIDER_KEY.len())
                .any(|w| w == PROVIDER_KEY.as_bytes()),
            "the provider key is in {}",
            file.display()
        );
    }
}

/// The text with the fake LLM's sequential ids (`msg-fake0007`) masked.
fn without_ids(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("-fake") {
        out.push_str(&rest[..at]);
        rest = rest[at + 5..].trim_start_matches(|c: char| c.is_ascii_digit());
        out.push_str("-fakeN");
    }
    out.push_str(rest);
    out
}

fn files_under(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Reads a streamed answer as it arrives: the time each piece came, and the text.
fn read_timed(mut resp: reqwest::blocking::Response) -> (Vec<Duration>, String, bool) {
    use std::io::Read;
    let started = Instant::now();
    let (mut times, mut text) = (Vec::new(), Vec::new());
    let mut buf = [0u8; 64 * 1024];
    let broken = loop {
        match resp.read(&mut buf) {
            Ok(0) => break false,
            Ok(n) => {
                times.push(started.elapsed());
                text.extend_from_slice(&buf[..n]);
            }
            Err(_) => break true,
        }
    };
    (times, String::from_utf8_lossy(&text).into_owned(), broken)
}

#[test]
fn streams_pass_through_chunk_by_chunk_and_calls_without_a_session_are_runs_of_their_own() {
    let llm = FakeLlm::start();
    let server = start(&llm, &[]);
    let ingest_key = key_of_scope(&server, "ingest");
    let keyed = server.url("/proxy/openai/v1/chat/completions");

    // "SLOW": 0.3 s between the fake's chunks. The first must reach the client long before the
    // last: nothing is buffered on the way. (OpenAI streams count tokens when asked to.)
    let mut slow = chat_body("Hello SLOW", true);
    slow["stream_options"] = json!({"include_usage": true});
    let resp = call(
        &keyed,
        &slow,
        &[
            ("x-lemma-key", &ingest_key),
            ("x-lemma-thread", "keyed-thread"),
        ],
    );
    assert_eq!(resp.status(), 200);
    let (times, text, broken) = read_timed(resp);
    assert!(!broken);
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    let (first, last) = (times[0], *times.last().unwrap());
    assert!(
        last - first > Duration::from_secs(2),
        "chunks arrived together: first at {first:?}, last at {last:?}"
    );

    // Responses API, streamed; and a call that carries its own traceparent nests under it.
    let resp = call(
        &server.url("/proxy/openai/v1/responses"),
        &json!({"model": "gpt-4.1", "input": "Say hi", "stream": true}),
        &[
            ("x-lemma-key", &ingest_key),
            ("traceparent", &format!("00-{TRACE}-{PARENT}-01")),
        ],
    );
    assert_eq!(resp.status(), 200);
    assert!(resp.text().unwrap().contains("response.completed"));

    let runs = proxy_runs(&server, 2);
    let own = runs.iter().find(|r| r["run_id"] != TRACE).unwrap();
    assert_eq!(own["thread_id"], "keyed-thread");
    let chat = &spans_of(&server, own["run_id"].as_str().unwrap(), 1)[0];
    assert_eq!(chat["parent_span_id"], Value::Null);
    assert_eq!(chat["output_tokens"], 20);
    let ttfc = chat["attributes"]["gen_ai.response.time_to_first_chunk"]
        .as_f64()
        .unwrap();
    assert!(
        ttfc < 1.0,
        "the first content came within a chunk or two: {ttfc}"
    );
    let nested = &spans_of(&server, TRACE, 1)[0];
    assert_eq!(nested["parent_span_id"], PARENT);
    assert_eq!(nested["kind"], "llm");
    assert_eq!(nested["input_tokens"], 50);
    assert!(nested["output_messages"].to_string().contains("Friday"));
}

#[test]
fn failures_are_answered_and_recorded() {
    let llm = FakeLlm::start();
    // The Anthropic upstream is a port nothing listens on.
    let closed = common::free_addr();
    let dead = format!("http://{closed}");
    let server = Server::start_with(&[
        "--proxy-openai-upstream",
        &llm.base_url,
        "--proxy-anthropic-upstream",
        &dead,
        "--proxy-timeout",
        "2",
    ]);
    let openai = server.url("/proxy/openai/v1/chat/completions");
    let key = [("x-lemma-key", KEY)];

    // The provider refuses: its own answer passes through.
    let resp = call(&openai, &chat_body("FAIL please", false), &key);
    assert_eq!(resp.status(), 400);
    assert!(resp.text().unwrap().contains("asked to fail"));

    // The provider is down: 502, in the providers' error shape.
    let resp = call(
        &server.url("/proxy/anthropic/v1/messages"),
        &anthropic_body("Hi", false),
        &key,
    );
    assert_eq!(resp.status(), 502);
    let body: Value = resp.json().unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("could not be reached"),
        "{body}"
    );

    // The provider hangs: 504 after --proxy-timeout.
    let started = Instant::now();
    let resp = call(&openai, &chat_body("HANG", false), &key);
    assert_eq!(resp.status(), 504);
    assert!(started.elapsed() < Duration::from_secs(10));

    // The provider's stream breaks off: the client sees the break.
    let resp = call(&openai, &chat_body("BREAK", true), &key);
    assert_eq!(resp.status(), 200);
    let (_, _, broken) = read_timed(resp);
    assert!(broken, "a broken stream is not passed on as a complete one");

    // The client goes away mid-stream: what came so far is recorded.
    let resp = call(&openai, &chat_body("SLOW goodbye", true), &key);
    assert_eq!(resp.status(), 200);
    let mut resp = resp;
    let mut first = [0u8; 16];
    std::io::Read::read(&mut resp, &mut first).unwrap();
    drop(resp);

    let runs = proxy_runs(&server, 5);
    let mut errors: Vec<String> = runs
        .iter()
        .map(|r| {
            let spans = spans_of(&server, r["run_id"].as_str().unwrap(), 1);
            assert_eq!(spans[0]["status"], "error", "{:#}", spans[0]);
            spans[0]["status_message"].as_str().unwrap().to_string()
        })
        .collect();
    errors.sort();
    let expected = [
        "400: The fake model was asked to fail",
        "could not be reached",
        "did not answer within 2 s",
        "stream broke off",
        "client disconnected before the stream ended",
    ];
    for want in expected {
        assert!(
            errors.iter().any(|e| e.contains(want)),
            "no recorded error says {want:?}: {errors:#?}"
        );
    }
}

#[test]
fn only_a_live_session_or_an_ingest_key_opens_the_proxy() {
    let llm = FakeLlm::start();
    let server = start(&llm, &[]);
    let keyed = server.url("/proxy/openai/v1/chat/completions");
    let body = chat_body("Hello", false);

    // No Lemma key: the provider key alone opens nothing.
    let resp = call(&keyed, &body, &[]);
    assert_eq!(resp.status(), 401);
    assert!(resp.text().unwrap().contains("X-Lemma-Key"));
    let resp = call(&keyed, &body, &[("x-lemma-key", "lm_not_a_key")]);
    assert_eq!(resp.status(), 401);
    let read_key = key_of_scope(&server, "read");
    assert_eq!(
        call(&keyed, &body, &[("x-lemma-key", &read_key)]).status(),
        403
    );

    // Sessions: made with an ingest key, refused with a read key, checked.
    assert_eq!(open_session(&server, &read_key, json!({})).0, 403);
    for (bad, why) in [
        (json!({"traceparent": "00-abc-def-01"}), "traceparent"),
        (json!({"ttl_seconds": 0}), "ttl_seconds"),
        (json!({"ttl_seconds": 700000}), "ttl_seconds"),
        (json!({"parent": "x"}), "parent"),
    ] {
        let (status, answer) = open_session(&server, KEY, bad.clone());
        assert_eq!(status, 400, "{bad}: {answer}");
        assert!(
            answer["error"]["message"].as_str().unwrap().contains(why),
            "{answer}"
        );
    }
    let (status, session) = open_session(&server, KEY, json!({"ttl_seconds": 60}));
    assert_eq!(status, 201);
    let token = session["token"].as_str().unwrap();
    let url = format!(
        "{}/chat/completions",
        session["base_urls"]["openai"].as_str().unwrap()
    );
    assert_eq!(call(&url, &body, &[]).status(), 200);

    // Ended: refused at once on this server; ending it again is 404.
    let end = |key: &str| {
        client()
            .delete(server.url(&format!("/api/v1/proxy/sessions/{token}")))
            .bearer_auth(key)
            .send()
            .unwrap()
            .status()
    };
    assert_eq!(end(&read_key), 403);
    assert_eq!(end(KEY), 204);
    assert_eq!(end(KEY), 404);
    let resp = call(&url, &body, &[]);
    assert_eq!(resp.status(), 404);
    assert!(resp.text().unwrap().contains("open a new one"));
    let forged = url.replace(token, "lps_0000");
    assert_eq!(call(&forged, &body, &[]).status(), 404);

    // Not an open relay: no route names another upstream, and other paths are not served.
    for path in [
        "/proxy/openai/v1/models",
        "/proxy/other/v1/chat/completions",
    ] {
        assert_eq!(
            call(&server.url(path), &body, &[("x-lemma-key", KEY)]).status(),
            404,
            "{path}"
        );
    }
}

#[test]
fn a_call_recorded_by_the_proxy_and_by_an_instrumentation_counts_once() {
    let llm = FakeLlm::start();
    let server = start(&llm, &[]);
    send_parent(&server);
    let tp = format!("00-{TRACE}-{PARENT}-01");
    let resp = call(
        &server.url("/proxy/openai/v1/chat/completions"),
        &chat_body("Hello", false),
        &[("x-lemma-key", KEY), ("traceparent", &tp)],
    );
    let answer: Value = resp.json().unwrap();
    let response_id = answer["id"].as_str().unwrap();
    spans_of(&server, TRACE, 2);

    // The calling process's own instrumentation recorded the same call (same response id).
    let now = now_ns();
    let attr = |k: &str, v: Value| json!({"key": k, "value": v});
    let body = json!({"resourceSpans": [{"resource": {"attributes": [attr("service.name", json!({"stringValue": "parent-agent"}))]},
        "scopeSpans": [{"scope": {"name": "openinference.instrumentation.openai"}, "spans": [{
            "traceId": TRACE, "spanId": "1111111111111111", "parentSpanId": PARENT, "name": "ChatCompletion", "kind": 3,
            "startTimeUnixNano": (now - 1_000_000_000u64).to_string(), "endTimeUnixNano": now.to_string(),
            "attributes": [attr("gen_ai.operation.name", json!({"stringValue": "chat"})),
                           attr("gen_ai.request.model", json!({"stringValue": "gpt-4o-mini"})),
                           attr("gen_ai.response.id", json!({"stringValue": response_id})),
                           attr("gen_ai.usage.input_tokens", json!({"intValue": "50"})),
                           attr("gen_ai.usage.output_tokens", json!({"intValue": "20"}))]}]}]}]});
    let resp = client()
        .post(server.url("/v1/traces"))
        .bearer_auth(KEY)
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    spans_of(&server, TRACE, 3);
    let (_, run) = server.get(&format!("/api/v1/runs/{TRACE}"));
    assert_eq!(run["run"]["input_tokens"], 50, "{:#}", run["run"]);
    assert_eq!(run["run"]["output_tokens"], 20);
    assert_eq!(run["run"]["llm_calls"].as_u64().unwrap_or(1), 1);
}

/// `lemma proxy` on its own: records into `server` through its API.
struct Standalone {
    child: std::process::Child,
    url: String,
}

impl Standalone {
    fn start(server: &Server, llm: &FakeLlm, key: Option<&str>) -> Standalone {
        let listen = common::free_addr();
        let mut command = std::process::Command::new(common::lemma_bin());
        command
            .args(["proxy", "--listen", &listen, "--url", &server.http])
            .args(["--proxy-openai-upstream", &llm.base_url])
            .args([
                "--proxy-anthropic-upstream",
                llm.base_url.trim_end_matches("/v1"),
            ])
            .env_remove("LEMMA_API_KEY")
            .stdout(std::process::Stdio::null());
        if let Some(key) = key {
            command.args(["--api-key", key]);
        }
        let child = command.spawn().unwrap();
        let url = format!("http://{listen}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while client().get(format!("{url}/healthz")).send().is_err() {
            assert!(Instant::now() < deadline, "lemma proxy did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Standalone { child, url }
    }
}

impl Drop for Standalone {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn lemma_proxy_on_its_own_records_into_a_server_elsewhere() {
    let llm = FakeLlm::start();
    let server = start(&llm, &[]);
    send_parent(&server);
    // An ingest key is all it needs, as an agent's.
    let ingest_key = key_of_scope(&server, "ingest");
    let proxy = Standalone::start(&server, &llm, Some(&ingest_key));

    // A session of the server's project, used through the standalone proxy.
    let (_, session) = open_session(
        &server,
        KEY,
        json!({"traceparent": format!("00-{TRACE}-{PARENT}-01"), "thread_id": "remote-thread"}),
    );
    let token = session["token"].as_str().unwrap();
    let via_session = format!("{}/proxy/session/{token}/anthropic/v1/messages", proxy.url);
    let resp = call(&via_session, &anthropic_body("Hello", true), &[]);
    assert_eq!(resp.status(), 200);
    assert!(resp.text().unwrap().contains("message_stop"));

    // Keyed: the caller's own key, checked by the server.
    let keyed = format!("{}/proxy/openai/v1/chat/completions", proxy.url);
    assert_eq!(call(&keyed, &chat_body("Hi", false), &[]).status(), 401);
    let resp = call(
        &keyed,
        &chat_body("Hi", false),
        &[("x-lemma-key", "lm_wrong")],
    );
    assert_eq!(resp.status(), 401);
    assert!(resp.text().unwrap().contains("invalid or revoked"));
    let resp = call(
        &keyed,
        &chat_body("Hi", false),
        &[("x-lemma-key", KEY), ("x-lemma-thread", "remote-keyed")],
    );
    assert_eq!(resp.status(), 200);

    // An unknown session: 404, and the server's project was asked with the proxy's key.
    let unknown = format!(
        "{}/proxy/session/lps_nope/openai/v1/chat/completions",
        proxy.url
    );
    assert_eq!(call(&unknown, &chat_body("Hi", false), &[]).status(), 404);

    let spans = spans_of(&server, TRACE, 2);
    let claude = by_name(&spans, "chat claude")[0];
    assert_eq!(claude["parent_span_id"], PARENT);
    assert_eq!(claude["output_tokens"], 20);
    let (_, run) = server.get(&format!("/api/v1/runs/{TRACE}"));
    assert_eq!(run["run"]["thread_id"], "remote-thread");
    let own = proxy_runs(&server, 2)
        .into_iter()
        .find(|r| r["run_id"] != TRACE)
        .unwrap();
    assert_eq!(own["thread_id"], "remote-keyed");

    // Without --api-key, it takes keyed calls only.
    let keyless = Standalone::start(&server, &llm, None);
    let url = format!(
        "{}/proxy/session/{token}/openai/v1/chat/completions",
        keyless.url
    );
    let resp = call(&url, &chat_body("Hi", false), &[]);
    assert_eq!(resp.status(), 404);
    assert!(resp.text().unwrap().contains("without --api-key"));
}
