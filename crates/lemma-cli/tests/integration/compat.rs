//! Compatibility with the real tracing libraries.
//!
//! Each test starts a `lemma serve` and a fake LLM (`tests/compat/fake_llm.py`), runs one
//! scenario script from `tests/compat/` that drives a third-party library from PyPI or npm
//! against them, waits for the runs to show up in the API, and checks what a user would look
//! at: the tree, the model calls with their tokens and messages, the tools with their
//! arguments, the thread, user and agents, and errors.
//!
//! The libraries are installed by `scripts/compat-setup`; without it these tests fail, saying
//! so. Every check of a test is made before it fails, and the failure lists all that differ.

use crate::common;

use std::fmt::Display;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::programs::{repo_root, require_setup, run_to_end, FakeLlm};
use common::Server;
use serde_json::{json, Value};

const MODEL: &str = "gpt-4o-mini";
const QUESTION: &str = "Where is my order A-17?";
const ANSWER: &str = "Order A-17 has shipped and will arrive on Friday.";
const SYSTEM_PROMPT: &str = "You answer questions about orders.";

/// How long a scenario may take, and how long its runs may take to show up afterwards.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(240);
const RUNS_TIMEOUT: Duration = Duration::from_secs(60);
const SETTLED: Duration = Duration::from_secs(5);

// ---- the environment: installed libraries, the fake LLM, scenario processes ----

fn compat_dir() -> PathBuf {
    repo_root().join("tests/compat")
}

fn venv_python() -> PathBuf {
    repo_root().join(".cache/compat/venv/bin/python")
}

/// The public half of the bootstrap key, which Langfuse SDKs send as the Basic-auth user.
fn public_key(server: &Server) -> String {
    server
        .banner
        .iter()
        .find_map(|l| {
            l.split("Public key (for Basic auth / Langfuse SDKs): ")
                .nth(1)
        })
        .expect("the banner names the public key")
        .trim()
        .to_string()
}

/// Runs one scenario script to completion with the environment pointing at `server` and
/// `llm`; panics with its output if it fails or hangs.
fn run_scenario(server: &Server, llm: &FakeLlm, script: &str, args: &[&str]) {
    let path = compat_dir().join(script);
    let mut command = if script.ends_with(".py") {
        Command::new(venv_python())
    } else {
        Command::new("node")
    };
    command
        .arg(&path)
        .args(args)
        .current_dir(path.parent().unwrap())
        .env("LEMMA_URL", &server.http)
        .env("LEMMA_API_KEY", common::KEY)
        .env("LEMMA_PUBLIC_KEY", public_key(server))
        .env("OPENAI_BASE_URL", &llm.base_url)
        .env("OPENAI_API_KEY", "sk-compat-fake");
    run_to_end(command, SCENARIO_TIMEOUT)
        .expect_success(&format!("{script} {args:?}"), SCENARIO_TIMEOUT);
}

/// One scenario's server, fake LLM and runs.
struct Scenario {
    server: Server,
    runs: Vec<RunView>,
}

impl Scenario {
    /// Runs `script` and waits until the API shows `span_counts.len()` runs with these span
    /// counts (in start order); the runs are then read in start order.
    fn run(script: &str, args: &[&str], span_counts: &[u64]) -> Scenario {
        require_setup("compat-setup", "the real libraries installed");
        let server = Server::start();
        let llm = FakeLlm::start();
        run_scenario(&server, &llm, script, args);
        let runs = wait_for_runs(&server, span_counts)
            .into_iter()
            .map(|r| {
                let id = r["run_id"].as_str().unwrap().to_string();
                RunView::new(server.api(&format!("/api/v1/runs/{id}")))
            })
            .collect();
        Scenario { server, runs }
    }
}

/// Polls the run list until it holds the expected runs, each with its expected number of spans.
/// Gives up when the deadline passes, or when what the API shows has not changed for a while
/// (every span is committed before the exporter's request is answered, so nothing more is
/// coming), showing the runs it found.
fn wait_for_runs(server: &Server, span_counts: &[u64]) -> Vec<Value> {
    let deadline = Instant::now() + RUNS_TIMEOUT;
    let mut last = (Vec::new(), Instant::now());
    loop {
        let mut runs = server.all_runs("");
        runs.sort_by_key(|r| r["start_time_unix_nano"].as_u64().unwrap_or(0));
        let counts: Vec<u64> = runs
            .iter()
            .map(|r| r["span_count"].as_u64().unwrap_or(0))
            .collect();
        if counts == span_counts {
            return runs;
        }
        if counts != last.0 {
            last = (counts.clone(), Instant::now());
        }
        if Instant::now() > deadline || last.1.elapsed() > SETTLED {
            let found: String = runs
                .iter()
                .map(|r| {
                    let id = r["run_id"].as_str().unwrap();
                    let view = RunView::new(server.api(&format!("/api/v1/runs/{id}")));
                    format!("\n{} spans:\n{}", r["span_count"], view.outline())
                })
                .collect();
            panic!(
                "expected {} runs with {span_counts:?} spans; the API shows {} runs with \
                 {counts:?} spans:{found}",
                span_counts.len(),
                runs.len(),
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

// ---- reading a run ----

/// A run as `GET /api/v1/runs/{id}` returns it.
struct RunView {
    run: Value,
    spans: Vec<Value>,
}

impl RunView {
    fn new(body: Value) -> RunView {
        RunView {
            run: body["run"].clone(),
            spans: body["spans"].as_array().unwrap().clone(),
        }
    }

    /// The `nth` span (from 0, in start order) with this name.
    fn span(&self, name: &str, nth: usize) -> Option<&Value> {
        self.spans.iter().filter(|s| s["name"] == name).nth(nth)
    }

    fn children(&self, span_id: &Value) -> Vec<&Value> {
        let mut out: Vec<&Value> = self
            .spans
            .iter()
            .filter(|s| &s["parent_span_id"] == span_id)
            .collect();
        out.sort_by_key(|s| {
            (
                s["start_time_unix_nano"].as_u64(),
                s["end_time_unix_nano"].as_u64(),
            )
        });
        out
    }

    /// The span tree as an indented outline, one `name (kind)` line per span, two spaces a
    /// level, children in start order.
    fn outline(&self) -> String {
        let mut out = String::new();
        for root in self.children(&Value::Null) {
            self.outline_into(root, 0, &mut out);
        }
        out
    }

    fn outline_into(&self, span: &Value, depth: usize, out: &mut String) {
        let name = span["name"].as_str().unwrap_or("?");
        let kind = span["kind"].as_str().unwrap_or("?");
        out.push_str(&format!("{}{name} ({kind})\n", "  ".repeat(depth)));
        for child in self.children(&span["span_id"]) {
            self.outline_into(child, depth + 1, out);
        }
    }
}

/// An outline written in the source, with its common indentation and blank lines removed.
fn dedent(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let indent = lines
        .iter()
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    lines
        .iter()
        .map(|l| format!("{}\n", l[indent..].trim_end()))
        .collect()
}

// ---- checking ----

/// Collects every difference of a test, and fails listing them all.
struct Report {
    problems: Vec<String>,
}

impl Report {
    fn new() -> Report {
        Report {
            problems: Vec::new(),
        }
    }

    fn fail(&mut self, what: impl Display, msg: impl Display) {
        self.problems.push(format!("{what}: {msg}"));
    }

    fn eq(&mut self, what: impl Display, got: &Value, want: &Value) {
        if got != want {
            self.fail(what, format!("got {got}, want {want}"));
        }
    }

    /// Each key of `want` (an object) equals the same key of `got`.
    fn fields(&mut self, what: impl Display, got: &Value, want: Value) {
        for (k, v) in want.as_object().unwrap() {
            self.eq(format!("{what} {k}"), &got[k], v);
        }
    }

    /// `got`, as JSON text, contains `needle`.
    fn contains(&mut self, what: impl Display, got: &Value, needle: &str) {
        let text = match got {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if !text.contains(needle) {
            self.fail(what, format!("{got} does not contain {needle:?}"));
        }
    }

    fn finish(self, scenario: &str) {
        assert!(
            self.problems.is_empty(),
            "{scenario}: {} differences from what a correct backend reconstructs:\n  - {}",
            self.problems.len(),
            self.problems.join("\n  - ")
        );
    }
}

/// Finds span `name` (the `nth` of that name) of run `label`, noting it if absent.
fn span<'a>(r: &mut Report, run: &'a RunView, label: &str, name: &str, nth: usize) -> &'a Value {
    static MISSING: Value = Value::Null;
    run.span(name, nth).unwrap_or_else(|| {
        r.fail(format!("{label}: span {name:?} #{nth}"), "not in the run");
        &MISSING
    })
}

/// The span tree, as an outline of `name (kind)` lines (see `RunView::outline`).
fn check_tree(r: &mut Report, label: &str, run: &RunView, want: &str) {
    let (got, want) = (run.outline(), dedent(want));
    if got != want {
        let indent = |t: &str| {
            t.lines()
                .map(|l| format!("\n        {l}"))
                .collect::<String>()
        };
        r.fail(
            format!("{label} tree"),
            format!("\n      got:{}\n      want:{}", indent(&got), indent(&want)),
        );
    }
}

/// A model call that succeeded: kind, model, tokens, and an input and output recorded.
fn check_llm(r: &mut Report, what: &str, s: &Value, input_tokens: u64, output_tokens: u64) {
    r.fields(
        what,
        s,
        json!({
            "kind": "llm",
            "model": MODEL,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
        }),
    );
    for field in ["input", "output"] {
        if s[field].is_null() {
            r.fail(format!("{what} {field}"), "absent");
        }
    }
}

/// A tool call: kind, name, parsed arguments, and the call id where the library records it.
fn check_tool(
    r: &mut Report,
    what: &str,
    s: &Value,
    name: &str,
    args: Value,
    call_id: Option<&str>,
) {
    r.fields(
        what,
        s,
        json!({"kind": "tool", "tool_name": name, "tool_args": args}),
    );
    if let Some(id) = call_id {
        r.eq(
            format!("{what} tool_call_id"),
            &s["tool_call_id"],
            &json!(id),
        );
    }
}

/// The `lookup_order` tool's result, parsed.
fn check_tool_result(r: &mut Report, what: &str, s: &Value) {
    r.eq(
        format!("{what} output"),
        &s["output"],
        &json!({"order_id": "A-17", "status": "shipped", "eta": "Friday"}),
    );
}

/// The run summary: every key given.
fn check_run(r: &mut Report, label: &str, run: &RunView, want: Value) {
    r.fields(label, &run.run, want);
}

/// A thread through the API: how many runs it holds, how many failed.
fn check_thread(r: &mut Report, server: &Server, thread: &str, runs: u64, errors: u64) {
    let (status, body) = server.get(&format!("/api/v1/threads/{thread}"));
    if status != 200 {
        r.fail(
            format!("thread {thread}"),
            format!("GET answered {status}: {body}"),
        );
        return;
    }
    r.fields(
        format!("thread {thread}"),
        &body["thread"],
        json!({"run_count": runs, "error_count": errors}),
    );
}

/// A query through the API (`q=`) finds exactly these runs.
fn check_query(r: &mut Report, sc: &Scenario, q: &str, runs: &[usize]) {
    let mut got: Vec<String> = sc
        .server
        .all_runs(q)
        .iter()
        .map(|run| run["run_id"].as_str().unwrap().to_string())
        .collect();
    got.sort();
    let mut want: Vec<String> = runs
        .iter()
        .map(|&i| sc.runs[i].run["run_id"].as_str().unwrap().to_string())
        .collect();
    want.sort();
    if got != want {
        r.fail(
            format!("query {q:?}"),
            format!("found {got:?}, want {want:?}"),
        );
    }
}

fn messages<'a>(s: &'a Value, field: &str) -> &'a [Value] {
    s[field].as_array().map(Vec::as_slice).unwrap_or(&[])
}

fn parts<'a>(m: &'a Value, kind: &str) -> Vec<&'a Value> {
    m["parts"]
        .as_array()
        .map(|ps| ps.iter().filter(|p| p["type"] == kind).collect())
        .unwrap_or_default()
}

fn text(m: &Value) -> String {
    parts(m, "text")
        .iter()
        .filter_map(|p| p["content"].as_str())
        .collect()
}

/// The roles of a message list, without system messages (some libraries keep the system
/// prompt apart, as system instructions).
fn roles(msgs: &[Value]) -> Vec<&str> {
    msgs.iter()
        .filter_map(|m| m["role"].as_str())
        .filter(|r| *r != "system")
        .collect()
}

/// The model call's input starts with the system prompt (a system message, or the system
/// instructions a library keeps apart, put first).
fn check_system_prompt(r: &mut Report, what: &str, s: &Value, prompt: &str) {
    let input = messages(s, "input_messages");
    match input.first() {
        Some(m) if m["role"] == "system" && text(m) == prompt => {}
        _ => r.fail(
            format!("{what} input_messages"),
            format!(
                "want a first system message saying {prompt:?}: {}",
                s["input_messages"]
            ),
        ),
    }
}

/// Message `m` has a tool call part for `call`, by id, with its name and arguments.
fn check_tool_call_part(r: &mut Report, what: &str, m: &Value, call: &Call) {
    let parts = parts(m, "tool_call");
    let Some(part) = parts.iter().find(|p| p["id"] == call.id) else {
        r.fail(
            what,
            format!("no tool_call part with id {:?} in {m}", call.id),
        );
        return;
    };
    r.eq(
        format!("{what} tool_call name"),
        &part["name"],
        &json!(call.name),
    );
    if let Some(args) = &call.args {
        r.eq(
            format!("{what} tool_call arguments"),
            &part["arguments"],
            args,
        );
    }
}

/// A tool call as the model made it.
struct Call<'a> {
    id: &'a str,
    name: &'a str,
    /// The parsed arguments, when they are to be checked.
    args: Option<Value>,
}

/// The `n`th tool call of a conversation, to `lookup_order`.
fn lookup(n: u32) -> Call<'static> {
    Call {
        id: ["call_lookup_order_1", "call_lookup_order_2"][n as usize - 1],
        name: "lookup_order",
        args: Some(lookup_args()),
    }
}

fn cancel_call() -> Call<'static> {
    Call {
        id: "call_cancel_order_1",
        name: "cancel_order",
        args: Some(json!({"order_id": "A-17", "reason": "late"})),
    }
}

/// A model call that answered the user's question with a tool call.
fn check_tool_call_turn(r: &mut Report, what: &str, s: &Value, question: &str, call: &Call) {
    let input = messages(s, "input_messages");
    if roles(input) != ["user"] {
        r.fail(
            format!("{what} input_messages"),
            format!(
                "roles {:?}, want [user] (system aside): {}",
                roles(input),
                s["input_messages"]
            ),
        );
    } else if let Some(user) = input.iter().find(|m| m["role"] == "user") {
        if text(user) != question {
            r.fail(
                format!("{what} input_messages user text"),
                format!("{user}"),
            );
        }
    }
    let output = messages(s, "output_messages");
    if roles(output) != ["assistant"] {
        r.fail(
            format!("{what} output_messages"),
            format!(
                "roles {:?}, want [assistant]: {}",
                roles(output),
                s["output_messages"]
            ),
        );
    } else {
        check_tool_call_part(r, &format!("{what} output_messages"), &output[0], call);
    }
}

/// A model call that got back the result of `call` (its text containing `result`) and
/// answered.
fn check_answer_turn(r: &mut Report, what: &str, s: &Value, call: &Call, result: &str) {
    let input = messages(s, "input_messages");
    let got = roles(input);
    if !got.contains(&"user") || !got.ends_with(&["assistant", "tool"]) {
        r.fail(
            format!("{what} input_messages"),
            format!(
                "roles {got:?}, want [user, .., assistant, tool] (system aside): {}",
                s["input_messages"]
            ),
        );
    } else {
        let n = input.len();
        check_tool_call_part(
            r,
            &format!("{what} input_messages assistant"),
            &input[n - 2],
            call,
        );
        let responses = parts(&input[n - 1], "tool_call_response");
        match responses.first() {
            Some(p) if p["id"] == call.id => {
                r.contains(
                    format!("{what} input_messages tool response"),
                    &p["response"],
                    result,
                );
            }
            _ => r.fail(
                format!("{what} input_messages tool"),
                format!(
                    "want a tool_call_response part with id {:?}: {}",
                    call.id,
                    input[n - 1]
                ),
            ),
        }
    }
    let output = messages(s, "output_messages");
    if roles(output) != ["assistant"] || text(&output[0]) != ANSWER {
        r.fail(
            format!("{what} output_messages"),
            format!(
                "want one assistant message saying {ANSWER:?}: {}",
                s["output_messages"]
            ),
        );
    }
}

/// The answered turn every OpenAI-instrumenting scenario records as run 1: the question, a
/// model call asking for `lookup_order`, the tool, and a streamed answer. `chat` and `tool` are
/// the span names the library gives the model calls and the tool.
fn check_answered_order_turn(r: &mut Report, ok: &RunView, chat: &str, tool: &str) {
    r.contains("run 1 input", &ok.run["input"], QUESTION);
    r.contains("run 1 output", &ok.run["output"], ANSWER);
    let plan = span(r, ok, "run 1", chat, 0);
    let what = format!("{chat} #0");
    check_llm(r, &what, plan, 50, 12);
    r.eq(
        format!("{what} provider"),
        &plan["provider"],
        &json!("openai"),
    );
    check_system_prompt(r, &what, plan, SYSTEM_PROMPT);
    check_tool_call_turn(r, &what, plan, QUESTION, &lookup(1));
    let tool_span = span(r, ok, "run 1", tool, 0);
    check_tool(r, tool, tool_span, "lookup_order", lookup_args(), None);
    check_tool_result(r, tool, tool_span);
    let answer = span(r, ok, "run 1", chat, 1);
    let what = format!("{chat} #1 (streamed)");
    check_llm(r, &what, answer, 80, 20);
    check_answer_turn(r, &what, answer, &lookup(1), "shipped");
}

fn lookup_args() -> Value {
    json!({"order_id": "A-17"})
}

// ---- the scenarios ----

/// openai + openinference-instrumentation-openai, inside OpenInference AGENT/TOOL spans; the
/// second model call streamed; a second run whose model call is rejected.
#[test]
fn openinference_openai() {
    let sc = Scenario::run("python/openinference_openai.py", &[], &[4, 2]);
    let mut r = Report::new();
    let (ok, failed) = (&sc.runs[0], &sc.runs[1]);

    check_tree(
        &mut r,
        "run 1",
        ok,
        "
        support_agent (agent)
          ChatCompletion (llm)
          lookup_order (tool)
          ChatCompletion (llm)
        ",
    );
    check_run(
        &mut r,
        "run 1",
        ok,
        json!({
            "name": "support_agent",
            "status": "ok",
            "has_root": true,
            "span_count": 4,
            "error_count": 0,
            "kind_counts": {"agent": 1, "llm": 2, "tool": 1},
            "agent_name": "support_agent",
            "agent_names": ["support_agent"],
            "thread_id": "sess-oi-1",
            "user_id": "user-oi-9",
            "input_tokens": 130,
            "output_tokens": 32,
            "total_tokens": 162,
            "models": [MODEL],
            "tools": ["lookup_order"],
        }),
    );
    check_answered_order_turn(&mut r, ok, "ChatCompletion", "lookup_order");

    check_tree(
        &mut r,
        "run 2",
        failed,
        "
        support_agent (agent)
          ChatCompletion (llm)
        ",
    );
    check_run(
        &mut r,
        "run 2",
        failed,
        json!({
            "status": "error",
            "error_count": 2,
            "thread_id": "sess-oi-1",
            "input_tokens": 0,
            "output_tokens": 0,
        }),
    );
    r.contains(
        "run 2 status_message",
        &failed.run["status_message"],
        "asked to fail",
    );
    let call = span(&mut r, failed, "run 2", "ChatCompletion", 0);
    r.eq(
        "run 2 ChatCompletion status",
        &call["status"],
        &json!("error"),
    );
    check_thread(&mut r, &sc.server, "sess-oi-1", 2, 1);
    check_query(&mut r, &sc, "status:error", &[1]);
    check_query(&mut r, &sc, "tool:lookup_order model:gpt-4o-mini", &[0]);
    r.finish("openinference_openai");
}

/// traceloop-sdk decorators and its OpenAI instrumentation: a workflow with an agent, a tool
/// and a task; a second workflow whose tool raises.
#[test]
fn openllmetry_traceloop() {
    let sc = Scenario::run("python/openllmetry.py", &[], &[6, 4]);
    let mut r = Report::new();
    let (ok, failed) = (&sc.runs[0], &sc.runs[1]);

    check_tree(
        &mut r,
        "run 1",
        ok,
        "
        support_workflow.workflow (chain)
          support_agent.agent (agent)
            openai.chat (llm)
            lookup_order.tool (tool)
            openai.chat (llm)
          format_answer.task (chain)
        ",
    );
    check_run(
        &mut r,
        "run 1",
        ok,
        json!({
            "name": "support_workflow.workflow",
            "status": "ok",
            "has_root": true,
            "span_count": 6,
            "error_count": 0,
            "kind_counts": {"agent": 1, "chain": 2, "llm": 2, "tool": 1},
            "agent_name": "support_agent",
            "agent_names": ["support_agent"],
            "thread_id": "conv-ollm-1",
            "user_id": "user-ollm-5",
            "input_tokens": 130,
            "output_tokens": 32,
            "total_tokens": 162,
            "models": [MODEL],
            "tools": ["lookup_order"],
        }),
    );
    check_answered_order_turn(&mut r, ok, "openai.chat", "lookup_order.tool");

    check_tree(
        &mut r,
        "run 2",
        failed,
        "
        cancel_workflow.workflow (chain)
          cancel_agent.agent (agent)
            openai.chat (llm)
            cancel_order.tool (tool)
        ",
    );
    check_run(
        &mut r,
        "run 2",
        failed,
        json!({
            "status": "error",
            "error_count": 3,
            "agent_names": ["cancel_agent"],
            "thread_id": "conv-ollm-1",
            "input_tokens": 50,
            "output_tokens": 12,
        }),
    );
    r.contains(
        "run 2 status_message",
        &failed.run["status_message"],
        "can no longer be cancelled",
    );
    let cancel = span(&mut r, failed, "run 2", "cancel_order.tool", 0);
    check_tool(
        &mut r,
        "cancel_order.tool",
        cancel,
        "cancel_order",
        json!({"order_id": "A-17", "reason": "late"}),
        None,
    );
    r.eq(
        "cancel_order.tool status",
        &cancel["status"],
        &json!("error"),
    );
    check_thread(&mut r, &sc.server, "conv-ollm-1", 2, 1);
    check_query(&mut r, &sc, "agent:cancel_agent errors>0", &[1]);
    r.finish("openllmetry_traceloop");
}

/// The Langfuse Python SDK (OTel-based, Basic auth on /api/public/otel) with its OpenAI
/// integration: generations with the OpenAI usage shape, a tool, an ERROR-level span.
#[test]
fn langfuse_python_sdk() {
    let sc = Scenario::run("python/langfuse_sdk.py", &[], &[5]);
    let mut r = Report::new();
    let run = &sc.runs[0];
    check_langfuse_run(&mut r, run, "sess-lf-1", "user-lf-3", "langfuse-sdk");
    check_query(&mut r, &sc, "tag:langfuse-sdk meta.tier=gold", &[0]);
    // The OpenAI integration records the request ({tools, messages}) and the response message.
    let plan = span(&mut r, run, "run", "chat-plan", 0);
    check_tool_call_turn(&mut r, "chat-plan", plan, QUESTION, &lookup(1));
    let answer = span(&mut r, run, "run", "chat-answer", 0);
    check_answer_turn(
        &mut r,
        "chat-answer (streamed)",
        answer,
        &lookup(1),
        "shipped",
    );
    r.finish("langfuse_python_sdk");
}

/// The Langfuse Python SDK naming the agent through trace metadata (`gen_ai.agent.name`), as
/// its documentation shows: the run's agent is that name, and `agent:` finds it.
#[test]
fn langfuse_agent_named_through_trace_metadata() {
    let sc = Scenario::run("python/langfuse_agent_metadata.py", &[], &[2]);
    let mut r = Report::new();
    check_run(
        &mut r,
        "run",
        &sc.runs[0],
        json!({"name": "metadata-named", "agent_name": "support-agent",
               "agent_names": ["support-agent"], "span_count": 2}),
    );
    check_query(&mut r, &sc, "agent:support-agent", &[0]);
    r.finish("langfuse_agent_named_through_trace_metadata");
}

/// `@langfuse/tracing` + `@langfuse/otel`: hand-recorded generations, a tool, an ERROR-level
/// span (which the JS SDK marks by level only, not by OTel status).
#[test]
fn langfuse_js_tracing() {
    let sc = Scenario::run("node/langfuse_tracing.mjs", &[], &[5]);
    let mut r = Report::new();
    let run = &sc.runs[0];
    check_langfuse_run(&mut r, run, "sess-lfjs-1", "user-lfjs-4", "langfuse-js");
    check_query(&mut r, &sc, "tag:langfuse-js meta.tier=gold errors>0", &[0]);
    let plan = span(&mut r, run, "run", "chat-plan", 0);
    check_tool_call_turn(&mut r, "chat-plan", plan, QUESTION, &lookup(1));
    let answer = span(&mut r, run, "run", "chat-answer", 0);
    check_answer_turn(&mut r, "chat-answer", answer, &lookup(1), "shipped");
    r.finish("langfuse_js_tracing");
}

/// What both Langfuse SDK scenarios share: the same observations under the same names.
fn check_langfuse_run(r: &mut Report, run: &RunView, session: &str, user: &str, tag: &str) {
    check_tree(
        r,
        "run",
        run,
        "
        support-agent (agent)
          chat-plan (llm)
          lookup_order (tool)
          chat-answer (llm)
          notify-customer (span)
        ",
    );
    check_run(
        r,
        "run",
        run,
        json!({
            "name": "support-request",
            "status": "ok",
            "has_root": true,
            "span_count": 5,
            "error_count": 1,
            "kind_counts": {"agent": 1, "llm": 2, "tool": 1, "span": 1},
            "agent_name": "support-agent",
            "agent_names": ["support-agent"],
            "thread_id": session,
            "session_id": session,
            "user_id": user,
            "input_tokens": 130,
            "output_tokens": 32,
            "total_tokens": 162,
            "models": [MODEL],
            "tools": ["lookup_order"],
            "tags": ["compat", tag],
        }),
    );
    r.eq(
        "run metadata tier",
        &run.run["metadata"]["tier"],
        &json!("gold"),
    );
    r.contains("run input", &run.run["input"], QUESTION);
    r.contains("run output", &run.run["output"], ANSWER);
    let root = span(r, run, "run", "support-agent", 0);
    r.eq(
        "support-agent trace_name",
        &root["trace_name"],
        &json!("support-request"),
    );
    let plan = span(r, run, "run", "chat-plan", 0);
    check_llm(r, "chat-plan", plan, 50, 12);
    check_system_prompt(r, "chat-plan", plan, SYSTEM_PROMPT);
    let tool = span(r, run, "run", "lookup_order", 0);
    check_tool(r, "lookup_order", tool, "lookup_order", lookup_args(), None);
    check_tool_result(r, "lookup_order", tool);
    let answer = span(r, run, "run", "chat-answer", 0);
    check_llm(r, "chat-answer", answer, 80, 20);
    let notify = span(r, run, "run", "notify-customer", 0);
    r.fields(
        "notify-customer",
        notify,
        json!({"status": "error", "status_message": "SMTP relay refused connection"}),
    );
}

/// The Vercel AI SDK v6 `experimental_telemetry` (`ai.*` spans, OTLP/HTTP JSON): generateText,
/// streamText, and a call the model rejects.
#[test]
fn vercel_ai_v6_experimental_telemetry() {
    let sc = Scenario::run("node/vercel_ai_v6.mjs", &[], &[4, 4, 2]);
    let mut r = Report::new();
    for (i, (root, call)) in [
        ("ai.generateText", "ai.generateText.doGenerate"),
        ("ai.streamText", "ai.streamText.doStream"),
    ]
    .into_iter()
    .enumerate()
    {
        let label = format!("run {} ({root})", i + 1);
        let run = &sc.runs[i];
        let tree = format!(
            "
            {root} (agent)
              {call} (llm)
              ai.toolCall (tool)
              {call} (llm)
            "
        );
        check_tree(&mut r, &label, run, &tree);
        check_vercel_legacy_run(&mut r, &label, run, root, call, ("sess-v6-1", "user-v6-1"));
    }
    check_tree(
        &mut r,
        "run 3 (rejected)",
        &sc.runs[2],
        "
        ai.generateText (agent)
          ai.generateText.doGenerate (llm)
        ",
    );
    check_rejected_run(&mut r, &sc.runs[2], 2, "sess-v6-1");
    check_thread(&mut r, &sc.server, "sess-v6-1", 3, 1);
    check_query(&mut r, &sc, "user:user-v6-1 tool:lookup_order", &[0, 1]);
    r.finish("vercel_ai_v6_experimental_telemetry");
}

/// The Vercel AI SDK v7 with `@ai-sdk/otel`'s `LegacyOpenTelemetry` (the `ai.*` spans; the
/// tool call now nests under the model call that asked for it).
#[test]
fn vercel_ai_v7_legacy_open_telemetry() {
    let sc = Scenario::run("node/vercel_ai_v7.mjs", &["legacy"], &[4, 4, 2]);
    let mut r = Report::new();
    for (i, (root, call)) in [
        ("ai.generateText", "ai.generateText.doGenerate"),
        ("ai.streamText", "ai.streamText.doStream"),
    ]
    .into_iter()
    .enumerate()
    {
        let label = format!("run {} ({root})", i + 1);
        let run = &sc.runs[i];
        let tree = format!(
            "
            {root} (agent)
              {call} (llm)
                ai.toolCall (tool)
              {call} (llm)
            "
        );
        check_tree(&mut r, &label, run, &tree);
        check_vercel_legacy_run(
            &mut r,
            &label,
            run,
            root,
            call,
            ("sess-v7-legacy", "user-v7-1"),
        );
    }
    check_tree(
        &mut r,
        "run 3 (rejected)",
        &sc.runs[2],
        "
        ai.generateText (agent)
          ai.generateText.doGenerate (llm)
        ",
    );
    check_rejected_run(&mut r, &sc.runs[2], 2, "sess-v7-legacy");
    check_thread(&mut r, &sc.server, "sess-v7-legacy", 3, 1);
    r.finish("vercel_ai_v7_legacy_open_telemetry");
}

/// A Vercel `ai.*` tool-loop run: the root repeats its children's usage, which counts once.
fn check_vercel_legacy_run(
    r: &mut Report,
    label: &str,
    run: &RunView,
    root: &str,
    call: &str,
    (session, user): (&str, &str),
) {
    check_run(
        r,
        label,
        run,
        json!({
            "name": root,
            "status": "ok",
            "has_root": true,
            "span_count": 4,
            "error_count": 0,
            "kind_counts": {"agent": 1, "llm": 2, "tool": 1},
            "agent_name": "support-agent",
            "agent_names": ["support-agent"],
            "thread_id": session,
            "user_id": user,
            "input_tokens": 130,
            "output_tokens": 32,
            "total_tokens": 162,
            "models": [MODEL],
            "tools": ["lookup_order"],
        }),
    );
    r.contains(format!("{label} input"), &run.run["input"], QUESTION);
    r.contains(format!("{label} output"), &run.run["output"], ANSWER);
    let plan = span(r, run, label, call, 0);
    let what = format!("{label} {call} #0");
    check_llm(r, &what, plan, 50, 12);
    r.eq(
        format!("{what} provider"),
        &plan["provider"],
        &json!("openai"),
    );
    check_system_prompt(r, &what, plan, SYSTEM_PROMPT);
    check_tool_call_turn(r, &format!("{label} {call} #0"), plan, QUESTION, &lookup(1));
    let tool = span(r, run, label, "ai.toolCall", 0);
    check_tool(
        r,
        &format!("{label} ai.toolCall"),
        tool,
        "lookup_order",
        lookup_args(),
        Some("call_lookup_order_1"),
    );
    check_tool_result(r, &format!("{label} ai.toolCall"), tool);
    let answer = span(r, run, label, call, 1);
    check_llm(r, &format!("{label} {call} #1"), answer, 80, 20);
    check_answer_turn(
        r,
        &format!("{label} {call} #1"),
        answer,
        &lookup(1),
        "shipped",
    );
}

/// A run whose model call was rejected: it failed, and used no tokens.
fn check_rejected_run(r: &mut Report, run: &RunView, spans: u64, session: &str) {
    check_run(
        r,
        "run 3 (rejected)",
        run,
        json!({
            "status": "error",
            "span_count": spans,
            "error_count": spans,
            "agent_name": "support-agent",
            "thread_id": session,
            "input_tokens": 0,
            "output_tokens": 0,
        }),
    );
    r.contains(
        "run 3 (rejected) status_message",
        &run.run["status_message"],
        "asked to fail",
    );
}

/// The Vercel AI SDK v7 with `@ai-sdk/otel`'s `OpenTelemetry` integration (GenAI spans:
/// invoke_agent → step → chat / execute_tool, OTLP/HTTP protobuf).
#[test]
fn vercel_ai_v7_open_telemetry_genai() {
    let sc = Scenario::run("node/vercel_ai_v7.mjs", &["genai"], &[6, 6, 3]);
    let mut r = Report::new();
    let root = "invoke_agent gpt-4o-mini";
    let chat = "chat gpt-4o-mini";
    for (i, label) in ["run 1 (generateText)", "run 2 (streamText)"]
        .into_iter()
        .enumerate()
    {
        let run = &sc.runs[i];
        check_tree(
            &mut r,
            label,
            run,
            "
            invoke_agent gpt-4o-mini (agent)
              step 1 (chain)
                chat gpt-4o-mini (llm)
                execute_tool lookup_order (tool)
              step 2 (chain)
                chat gpt-4o-mini (llm)
            ",
        );
        check_run(
            &mut r,
            label,
            run,
            json!({
                "name": root,
                "status": "ok",
                "has_root": true,
                "span_count": 6,
                "error_count": 0,
                "kind_counts": {"agent": 1, "chain": 2, "llm": 2, "tool": 1},
                "agent_name": "support-agent",
                "agent_names": ["support-agent"],
                "thread_id": "sess-v7-genai",
                "user_id": "user-v7-1",
                "input_tokens": 130,
                "output_tokens": 32,
                "total_tokens": 162,
                "models": [MODEL],
                "tools": ["lookup_order"],
            }),
        );
        r.contains(format!("{label} input"), &run.run["input"], QUESTION);
        r.contains(format!("{label} output"), &run.run["output"], ANSWER);
        let plan = span(&mut r, run, label, chat, 0);
        let what = format!("{label} {chat} #0");
        check_llm(&mut r, &what, plan, 50, 12);
        r.eq(
            format!("{what} provider"),
            &plan["provider"],
            &json!("openai"),
        );
        check_system_prompt(&mut r, &what, plan, SYSTEM_PROMPT);
        check_tool_call_turn(&mut r, &what, plan, QUESTION, &lookup(1));
        let tool = span(&mut r, run, label, "execute_tool lookup_order", 0);
        let what = format!("{label} execute_tool");
        check_tool(
            &mut r,
            &what,
            tool,
            "lookup_order",
            lookup_args(),
            Some("call_lookup_order_1"),
        );
        check_tool_result(&mut r, &what, tool);
        let answer = span(&mut r, run, label, chat, 1);
        let what = format!("{label} {chat} #1");
        check_llm(&mut r, &what, answer, 80, 20);
        check_answer_turn(&mut r, &what, answer, &lookup(1), "shipped");
    }
    check_tree(
        &mut r,
        "run 3 (rejected)",
        &sc.runs[2],
        "
        invoke_agent gpt-4o-mini (agent)
          step 1 (chain)
            chat gpt-4o-mini (llm)
        ",
    );
    check_rejected_run(&mut r, &sc.runs[2], 3, "sess-v7-genai");
    check_thread(&mut r, &sc.server, "sess-v7-genai", 3, 1);
    r.finish("vercel_ai_v7_open_telemetry_genai");
}

/// The OpenAI Agents SDK under openinference-instrumentation-openai-agents: a triage agent
/// hands off to a sub-agent that calls a function tool; a second run whose tool raises.
#[test]
fn openai_agents_openinference() {
    let sc = Scenario::run("python/openai_agents.py", &[], &[12, 8]);
    let mut r = Report::new();
    let (ok, failed) = (&sc.runs[0], &sc.runs[1]);

    check_tree(
        &mut r,
        "run 1",
        ok,
        "
        support workflow (agent)
          support workflow (chain)
            triage_agent (agent)
              turn (chain)
                generation (llm)
                handoff to refund_agent (tool)
            refund_agent (agent)
              turn (chain)
                generation (llm)
                lookup_order (tool)
              turn (chain)
                generation (llm)
        ",
    );
    check_run(
        &mut r,
        "run 1",
        ok,
        json!({
            "name": "support workflow",
            "status": "ok",
            "has_root": true,
            "span_count": 12,
            "error_count": 0,
            "kind_counts": {"agent": 3, "chain": 4, "llm": 3, "tool": 2},
            "agent_name": "triage_agent",
            "agent_names": ["triage_agent", "refund_agent"],
            "thread_id": "sess-agents-1",
            "user_id": "user-agents-2",
            "input_tokens": 240,
            "output_tokens": 44,
            "total_tokens": 284,
            "models": [MODEL],
            "tools": ["handoff to refund_agent", "lookup_order"],
        }),
    );
    let triage = span(&mut r, ok, "run 1", "generation", 0);
    check_llm(&mut r, "generation #0 (triage)", triage, 50, 12);
    r.eq(
        "generation #0 provider",
        &triage["provider"],
        &json!("openai"),
    );
    check_tool_call_turn(
        &mut r,
        "generation #0 (triage)",
        triage,
        QUESTION,
        &Call {
            id: "call_transfer_to_refund_agent_1",
            name: "transfer_to_refund_agent",
            // The model passes no arguments; OpenInference leaves out the empty object.
            args: None,
        },
    );
    let handoff = span(&mut r, ok, "run 1", "handoff to refund_agent", 0);
    r.fields(
        "handoff to refund_agent",
        handoff,
        json!({"kind": "tool", "tool_name": "handoff to refund_agent"}),
    );
    let refund = span(&mut r, ok, "run 1", "generation", 1);
    check_llm(&mut r, "generation #1 (refund)", refund, 80, 12);
    check_system_prompt(
        &mut r,
        "generation #1 (refund)",
        refund,
        "You look up orders and handle refunds.",
    );
    let out = messages(refund, "output_messages");
    match out.first() {
        Some(m) => check_tool_call_part(
            &mut r,
            "generation #1 (refund) output_messages",
            m,
            &lookup(2),
        ),
        None => r.fail("generation #1 (refund) output_messages", "absent"),
    }
    let tool = span(&mut r, ok, "run 1", "lookup_order", 0);
    check_tool(
        &mut r,
        "lookup_order",
        tool,
        "lookup_order",
        lookup_args(),
        None,
    );
    check_tool_result(&mut r, "lookup_order", tool);
    // The flattened input skips an index here (tool_calls.1 alone in its message).
    let answer = span(&mut r, ok, "run 1", "generation", 2);
    check_llm(&mut r, "generation #2 (refund)", answer, 110, 20);
    check_answer_turn(
        &mut r,
        "generation #2 (refund)",
        answer,
        &lookup(2),
        "shipped",
    );

    // The second run talks to the Responses API.
    check_tree(
        &mut r,
        "run 2",
        failed,
        "
        cancel workflow (agent)
          cancel workflow (chain)
            cancel_agent (agent)
              turn (chain)
                response (llm)
                cancel_order (tool)
              turn (chain)
                response (llm)
        ",
    );
    check_run(
        &mut r,
        "run 2",
        failed,
        json!({
            "name": "cancel workflow",
            "status": "ok",
            "span_count": 8,
            "error_count": 1,
            "agent_name": "cancel_agent",
            "agent_names": ["cancel_agent"],
            "thread_id": "sess-agents-1",
            "input_tokens": 130,
            "output_tokens": 32,
            "total_tokens": 162,
        }),
    );
    let plan = span(&mut r, failed, "run 2", "response", 0);
    check_llm(&mut r, "response #0", plan, 50, 12);
    check_system_prompt(&mut r, "response #0", plan, "You cancel orders.");
    check_tool_call_turn(
        &mut r,
        "response #0",
        plan,
        "Please cancel order A-17.",
        &cancel_call(),
    );
    let cancel = span(&mut r, failed, "run 2", "cancel_order", 0);
    check_tool(
        &mut r,
        "cancel_order",
        cancel,
        "cancel_order",
        cancel_call().args.unwrap(),
        None,
    );
    r.eq("cancel_order status", &cancel["status"], &json!("error"));
    let answer = span(&mut r, failed, "run 2", "response", 1);
    check_llm(&mut r, "response #1", answer, 80, 20);
    check_answer_turn(
        &mut r,
        "response #1",
        answer,
        &cancel_call(),
        "error occurred while running the tool",
    );
    check_thread(&mut r, &sc.server, "sess-agents-1", 2, 0);
    check_query(&mut r, &sc, "agent:refund_agent", &[0]);
    check_query(&mut r, &sc, "tool:cancel_order errors>0", &[1]);
    r.finish("openai_agents_openinference");
}
