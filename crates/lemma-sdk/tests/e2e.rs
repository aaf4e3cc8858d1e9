//! End to end: the SDK exports to a real Lemma server started in this process, and every
//! check reads the server's REST API.
//!
//! Two tests also run this test binary as a child process (selected by
//! `LEMMA_SDK_E2E_ROLE`): a worker continuing the parent's run, and a program facing a server
//! that is down or refuses its key, whose stderr is checked.

mod support;

use std::collections::BTreeMap;
use std::future::IntoFuture;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lemma_sdk::scorers::{self, Score};
use lemma_sdk::{
    agent, compare, context_env, continue_from_env, experiment, init, llm, metric, otlp_exporter,
    proxy, retrieval, span_processor, tool, Case, Config, Error, Message, MetricValue,
    ProxySession, RunSignals, Severity, SignalSource,
};
use opentelemetry::global;
use opentelemetry_sdk::trace::SdkTracerProvider;
use serde_json::{json, Value};
use support::{agent_span, closed_port_url, exclusive, span, span_ids, TestServer};

const KEY: &str = "sdk-e2e-key";
const ROLE: &str = "LEMMA_SDK_E2E_ROLE";

fn config(server: &TestServer) -> Config {
    Config::new()
        .url(&server.url)
        .api_key(&server.key)
        .service_name("sdk-e2e")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[derive(Debug)]
struct AgentError(String);

impl std::fmt::Display for AgentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "agent error: {}", self.0)
    }
}

impl std::error::Error for AgentError {}

/// Runs this test binary again for test `name` only, as `role`, with `envs`.
fn rerun_self(name: &str, role: &str, envs: Vec<(String, String)>) -> Output {
    Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env_remove("LEMMA_URL")
        .env_remove("LEMMA_API_KEY")
        .env_remove("TRACEPARENT")
        .env_remove("TRACESTATE")
        .env_remove("BAGGAGE")
        .env(ROLE, role)
        .envs(envs)
        .output()
        .expect("running the test binary as a child")
}

fn role() -> Option<String> {
    std::env::var(ROLE).ok()
}

#[test]
fn a_run_reads_back_with_its_tree_input_output_and_id() {
    let _turn = exclusive();
    let server = TestServer::start(KEY);
    let lemma = init(config(&server)).unwrap();
    let (answer, run_id) = runtime().block_on(
        agent("support_agent")
            .input("Where is order 42?")
            .user_id("user-7")
            .run(|run| async move {
                let docs = retrieval("kb")
                    .query("order 42")
                    .run(|_| async { Ok::<_, AgentError>(vec![json!({"id": "doc-1"})]) })
                    .await?;
                let status = tool("lookup_order")
                    .call_id("call_1")
                    .arguments(&json!({"order": 42}))
                    .run(|_| async {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        Ok::<_, AgentError>(json!({"status": "shipped"}))
                    })
                    .await?;
                let reply = llm("gpt-4o-mini")
                    .provider("openai")
                    .input_messages(&[Message::user("Status of order 42?")])
                    .run(|call| async move {
                        call.output_text("It has shipped.");
                        call.usage(20, 5);
                        call.finish_reasons(["stop"]);
                        Ok::<_, AgentError>("It has shipped.".to_string())
                    })
                    .await?;
                let polished = agent("tone_checker")
                    .input(&reply)
                    .run(|_| async move { Ok::<_, AgentError>(format!("{reply} Thanks!")) })
                    .await
                    .0?;
                assert_eq!(docs.len(), 1);
                assert_eq!(status["status"], "shipped");
                assert!(run.run_id().is_valid());
                Ok::<_, AgentError>(polished)
            }),
    );
    assert_eq!(answer.unwrap(), "It has shipped. Thanks!");
    lemma.flush();

    let body = server.run(run_id.as_str(), 5);
    let run = &body["run"];
    assert_eq!(run["run_id"], run_id.as_str());
    assert_eq!(run["status"], "ok");
    assert_eq!(run["agent_name"], "support_agent");
    assert_eq!(run["agent_names"], json!(["support_agent", "tone_checker"]));
    assert_eq!(run["input"], "Where is order 42?");
    assert_eq!(run["output"], "It has shipped. Thanks!");
    assert_eq!(run["user_id"], "user-7");
    assert_eq!(run["input_tokens"], 20);
    assert_eq!(run["output_tokens"], 5);

    let root = agent_span(&body, "support_agent");
    assert_eq!(root["kind"], "agent");
    assert!(root["parent_span_id"].is_null(), "{root:#}");
    assert_eq!(root["resource"]["service.name"], "sdk-e2e");
    let root_id = root["span_id"].as_str().unwrap();
    let children = [
        ("retrieval kb", "retrieval"),
        ("execute_tool lookup_order", "tool"),
        ("chat gpt-4o-mini", "llm"),
    ];
    for (name, kind) in children {
        let child = span(&body, name);
        assert_eq!(child["kind"], kind, "{child:#}");
        assert_eq!(child["parent_span_id"], root_id, "{name}");
    }
    let sub = agent_span(&body, "tone_checker");
    assert_eq!(sub["parent_span_id"], root_id);
    assert_eq!(sub["input"], "It has shipped.");

    let tool = span(&body, "execute_tool lookup_order");
    assert_eq!(tool["tool_name"], "lookup_order");
    assert_eq!(tool["tool_call_id"], "call_1");
    assert_eq!(tool["tool_args"], json!({"order": 42}));
    assert_eq!(tool["output"], json!({"status": "shipped"}));
    let model = span(&body, "chat gpt-4o-mini");
    assert_eq!(model["model"], "gpt-4o-mini");
    assert_eq!(model["provider"], "openai");
    assert_eq!(
        model["input_messages"][0]["parts"][0]["content"],
        "Status of order 42?"
    );
    assert_eq!(
        model["output_messages"][0]["parts"][0]["content"],
        "It has shipped."
    );
    let docs = span(&body, "retrieval kb");
    assert_eq!(docs["input"], "order 42");
    assert_eq!(docs["output"], json!([{"id": "doc-1"}]));
}

#[test]
fn an_error_reads_back_as_status_error_with_the_exception() {
    let _turn = exclusive();
    let server = TestServer::start(KEY);
    let lemma = init(config(&server)).unwrap();
    let (result, run_id) = agent("billing_agent").input("refund").run_sync(|_| {
        tool("refund").run_sync(|_| Err::<(), _>(AgentError("card expired".into())))?;
        Ok::<_, AgentError>("refunded")
    });
    assert_eq!(result.unwrap_err().to_string(), "agent error: card expired");
    lemma.flush();

    let body = server.run(run_id.as_str(), 2);
    assert_eq!(body["run"]["status"], "error");
    assert_eq!(body["run"]["status_message"], "agent error: card expired");
    assert_eq!(body["run"]["error_count"], 2);
    for span in body["spans"].as_array().unwrap() {
        assert_eq!(span["status"], "error");
        let exception = &span["events"][0];
        assert_eq!(exception["name"], "exception", "{span:#}");
        let attributes = &exception["attributes"];
        assert_eq!(attributes["exception.message"], "agent error: card expired");
        assert!(attributes["exception.type"]
            .as_str()
            .unwrap()
            .ends_with("AgentError"));
    }
}

#[test]
fn a_streamed_run_is_recorded_when_the_stream_ends() {
    let _turn = exclusive();
    let server = TestServer::start(KEY);
    let lemma = init(config(&server)).unwrap();
    let run = agent("storyteller").input("a short story").start();
    let run_id = run.run_id();
    let mut story = String::new();
    for chunk in ["Once ", "upon ", "a ", "time."] {
        // Each chunk comes from a model call inside the run.
        let piece = run.in_scope(|| {
            llm("story-model").run_sync(|call| {
                call.output_text(chunk);
                Ok::<_, AgentError>(chunk)
            })
        });
        story.push_str(piece.unwrap());
        std::thread::sleep(Duration::from_millis(100));
    }
    // Mid-stream: the finished model calls are there, the run's root is not.
    lemma.flush();
    let partial = server.run_where(run_id.as_str(), |b| {
        b["spans"].as_array().map(Vec::len) == Some(4)
    });
    assert_eq!(partial["run"]["has_root"], false);
    assert_ne!(
        partial["run"]["output"], "Once upon a time.",
        "{:#}",
        partial["run"]
    );

    run.complete(&story);
    lemma.flush();
    let body = server.run(run_id.as_str(), 5);
    assert_eq!(body["run"]["output"], "Once upon a time.");
    let root = agent_span(&body, "storyteller");
    let start = root["start_time_unix_nano"].as_u64().unwrap();
    let end = root["end_time_unix_nano"].as_u64().unwrap();
    assert!(
        end - start >= 400_000_000,
        "the root covers the stream: {}",
        end - start
    );
    assert!(
        body["run"]["duration_ms"].as_f64().unwrap() >= 400.0,
        "{:#}",
        body["run"]
    );
}

#[test]
fn runs_with_one_thread_id_form_one_thread() {
    let _turn = exclusive();
    let server = TestServer::start(KEY);
    let lemma = init(config(&server)).unwrap();
    let mut run_ids = Vec::new();
    for question in ["hi", "order 42?", "thanks"] {
        let (_, run_id) = agent("support_agent")
            .thread_id("conversation-1")
            .input(question)
            .run_sync(|_| Ok::<_, AgentError>(format!("re: {question}")));
        run_ids.push(run_id);
    }
    let (_, other) = agent("support_agent")
        .thread_id("conversation-2")
        .run_sync(|_| Ok::<_, AgentError>("other"));
    lemma.flush();
    for id in &run_ids {
        assert_eq!(
            server.run(id.as_str(), 1)["run"]["thread_id"],
            "conversation-1"
        );
    }
    server.run(other.as_str(), 1);

    let (status, body) = server.get("/api/v1/threads/conversation-1");
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["thread"]["run_count"], 3);
    assert_eq!(body["thread"]["agent_names"], json!(["support_agent"]));
    let mut listed: Vec<&str> = body["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].as_str().unwrap())
        .collect();
    listed.sort();
    let mut expected: Vec<&str> = run_ids.iter().map(|id| id.as_str()).collect();
    expected.sort();
    assert_eq!(listed, expected);
}

#[test]
fn a_child_process_nests_under_its_parent_span() {
    if role().as_deref() == Some("child") {
        // The child: a worker that continues the run it was handed.
        let lemma = init(Config::from_env()).unwrap();
        let _continued = continue_from_env();
        let (result, run_id) = agent("worker")
            .input("sub task")
            .run_sync(|_| tool("crunch").run_sync(|_| Ok::<_, AgentError>(42)));
        println!("worker result {} in run {run_id}", result.unwrap());
        lemma.shutdown();
        return;
    }
    let _turn = exclusive();
    let server = TestServer::start(KEY);
    let lemma = init(config(&server)).unwrap();
    let (child_stdout, run_id) = agent("orchestrator")
        .thread_id("thread-xp")
        .tag("multi-process")
        .run_sync(|run| {
            let mut envs = context_env();
            envs.push(("LEMMA_URL".into(), server.url.clone()));
            envs.push(("LEMMA_API_KEY".into(), KEY.into()));
            envs.push(("OTEL_SERVICE_NAME".into(), "sdk-e2e-worker".into()));
            let out = rerun_self("a_child_process_nests_under_its_parent_span", "child", envs);
            assert!(
                out.status.success(),
                "child failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(run.run_id().is_valid());
            Ok::<_, AgentError>(String::from_utf8_lossy(&out.stdout).into_owned())
        });
    let child_stdout = child_stdout.unwrap();
    assert!(
        child_stdout.contains(&format!("worker result 42 in run {run_id}")),
        "{child_stdout}"
    );
    lemma.flush();

    let body = server.run(run_id.as_str(), 3);
    assert_eq!(
        body["run"]["agent_names"],
        json!(["orchestrator", "worker"])
    );
    let parent = agent_span(&body, "orchestrator");
    let worker = agent_span(&body, "worker");
    assert_eq!(worker["parent_span_id"], parent["span_id"]);
    assert_eq!(worker["resource"]["service.name"], "sdk-e2e-worker");
    assert_eq!(parent["resource"]["service.name"], "sdk-e2e");
    // The run context came along in baggage.
    assert_eq!(worker["thread_id"], "thread-xp");
    assert_eq!(worker["tags"], json!(["multi-process"]));
    let crunch = span(&body, "execute_tool crunch");
    assert_eq!(crunch["parent_span_id"], worker["span_id"]);
    assert_eq!(crunch["thread_id"], "thread-xp");
}

#[test]
fn dual_export_delivers_the_same_spans_to_a_second_server() {
    let _turn = exclusive();
    let lemma_server = TestServer::start(KEY);
    let other = TestServer::start("second-key");
    let second = otlp_exporter(
        &format!("{}/v1/traces", other.url),
        &[("authorization", "Bearer second-key")],
    )
    .unwrap();
    let lemma = init(config(&lemma_server).also_export_to(second)).unwrap();
    let (_, run_id) = agent("dual")
        .input("both")
        .run_sync(|_| tool("step").run_sync(|_| Ok::<_, AgentError>("done")));
    lemma.flush();
    let here = lemma_server.run(run_id.as_str(), 2);
    let there = other.run(run_id.as_str(), 2);
    assert_eq!(span_ids(&here), span_ids(&there));
    assert_eq!(here["run"]["output"], there["run"]["output"]);
    assert_eq!(there["run"]["output"], "done");
}

#[test]
fn lemma_joins_a_tracer_provider_the_app_already_has() {
    let _turn = exclusive();
    let lemma_server = TestServer::start(KEY);
    let existing = TestServer::start("existing-key");
    // The app's own pipeline, exporting elsewhere.
    let its_exporter = otlp_exporter(
        &format!("{}/v1/traces", existing.url),
        &[("x-api-key", "existing-key")],
    )
    .unwrap();
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(its_exporter)
        .with_span_processor(span_processor(config(&lemma_server).environment("prod")).unwrap())
        .build();
    global::set_tracer_provider(provider.clone());

    let (_, run_id) = agent("joined").run_sync(|_| Ok::<_, AgentError>("hello"));
    provider.force_flush().unwrap();
    let here = lemma_server.run(run_id.as_str(), 1);
    let there = existing.run(run_id.as_str(), 1);
    assert_eq!(span_ids(&here), span_ids(&there));
    // The run context stamped by Lemma's processor reaches the app's exporter too.
    assert_eq!(there["run"]["environment"], "prod");
    provider.shutdown().unwrap();
}

/// What the child prints when it got through every export without failing.
const SURVIVED: &str = "the program carried on";

#[test]
fn export_problems_warn_once_and_never_fail_the_program() {
    if role().as_deref() == Some("warn") {
        let lemma = init(Config::from_env().timeout(Duration::from_secs(2))).unwrap();
        for i in 0..3 {
            let (result, _) = agent("warned")
                .input(&i)
                .run_sync(|_| Ok::<_, AgentError>(i));
            assert_eq!(result.unwrap(), i);
            lemma.flush();
        }
        lemma.shutdown();
        println!("{SURVIVED}");
        return;
    }
    let _turn = exclusive();
    let server = TestServer::start(KEY);
    let env = |url: &str, key: &str| {
        vec![
            ("LEMMA_URL".to_string(), url.to_string()),
            ("LEMMA_API_KEY".to_string(), key.to_string()),
        ]
    };
    let run = |envs| {
        let out = rerun_self(
            "export_problems_warn_once_and_never_fail_the_program",
            "warn",
            envs,
        );
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stdout}\n{stderr}");
        assert!(stdout.contains(SURVIVED), "{stdout}");
        stderr
    };

    let stderr = run(env(&server.url, "not-the-key"));
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("[lemma-sdk] warning"))
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].contains(&format!("{}/v1/traces", server.url)),
        "{stderr}"
    );
    assert!(
        warnings[0].contains("refused the API key (HTTP 401)"),
        "{stderr}"
    );
    assert!(warnings[0].contains("LEMMA_API_KEY"), "{stderr}");
    let (_, runs) = server.get("/api/v1/runs");
    assert_eq!(runs["runs"], json!([]), "nothing was accepted");

    let down = closed_port_url();
    let stderr = run(env(&down, KEY));
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("[lemma-sdk] warning"))
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].contains(&format!("cannot reach Lemma at {down}/v1/traces")),
        "{stderr}"
    );
    assert!(warnings[0].contains("LEMMA_URL"), "{stderr}");
}

/// Collects the `tracing` events of target `lemma_sdk`.
struct Capture(Arc<Mutex<Vec<(tracing::Level, String)>>>);

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Message(String);
        impl tracing::field::Visit for Message {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.0 = format!("{value:?}");
                }
            }
        }
        if event.metadata().target() == "lemma_sdk" {
            let mut message = Message(String::new());
            event.record(&mut message);
            let level = *event.metadata().level();
            self.0.lock().unwrap().push((level, message.0));
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn with_a_tracing_subscriber_the_warning_goes_to_tracing() {
    let _turn = exclusive();
    let events = Arc::new(Mutex::new(Vec::new()));
    tracing::subscriber::set_global_default(Capture(events.clone())).unwrap();
    let down = closed_port_url();
    let lemma = init(Config::new().url(&down).timeout(Duration::from_secs(2))).unwrap();
    for _ in 0..2 {
        let (result, _) = agent("quiet").run_sync(|_| Ok::<_, AgentError>(()));
        assert!(result.is_ok());
        lemma.flush();
    }
    lemma.shutdown();
    let events = events.lock().unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].0, tracing::Level::WARN);
    assert!(
        events[0]
            .1
            .contains(&format!("cannot reach Lemma at {down}/v1/traces")),
        "{events:?}"
    );
}

#[test]
fn metric_events_are_stored_before_and_after_the_spans_and_read_back() {
    let _turn = exclusive();
    let server = TestServer::start(KEY);
    let lemma = init(config(&server)).unwrap();
    let rt = runtime();
    // Inside the run, before any of its spans is exported.
    let (outcome, run_id) = rt.block_on(agent("support_agent").input("Refund?").run(
        |run| async move {
            let stored = run
                .metric("resolved", true)
                .comment("first try")
                .send()
                .await?;
            Ok::<_, Error>((stored, run.span_id()))
        },
    ));
    let (first, root_span) = outcome.unwrap();
    assert_eq!(first.run_id, run_id.as_str());
    assert_eq!(first.name, "resolved");
    assert_eq!(first.value, MetricValue::Bool(true));
    assert_eq!(first.comment.as_deref(), Some("first try"));
    assert_eq!(first.source.as_deref(), Some("sdk"));
    assert!(!first.id.is_empty());
    let (status, early) = server.get(&format!("/api/v1/runs/{run_id}/metrics"));
    assert_eq!(status, 200, "{early}");
    assert_eq!(early["metrics"][0]["id"], first.id.as_str());

    // Still before the flush, from code that is not async, about the agent span.
    let quality = metric(&run_id, "quality", 0.8)
        .source("evaluator")
        .span_id(&root_span)
        .send_blocking()
        .unwrap();
    assert_eq!(quality.span_id.as_deref(), Some(root_span.as_str()));
    assert_eq!(quality.source.as_deref(), Some("evaluator"));

    lemma.flush();
    server.run(run_id.as_str(), 1);
    let label = rt
        .block_on(metric(&run_id, "label", "refund").send())
        .unwrap();
    assert_eq!(label.value, MetricValue::Text("refund".into()));

    let (status, listed) = server.get(&format!("/api/v1/runs/{run_id}/metrics"));
    assert_eq!(status, 200, "{listed}");
    let names = |metrics: &Value| -> Vec<String> {
        metrics
            .as_array()
            .unwrap_or_else(|| panic!("no metrics: {metrics:#}"))
            .iter()
            .map(|m| m["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&listed["metrics"]), ["resolved", "quality", "label"]);
    assert_eq!(listed["metrics"][1]["value"], 0.8);
    assert_eq!(listed["metrics"][1]["span_id"], root_span.as_str());
    let body = server.run(run_id.as_str(), 1);
    assert_eq!(
        names(&body["run"]["metrics"]),
        ["resolved", "quality", "label"]
    );
    assert_eq!(body["run"]["metrics"][2]["value"], "refund");

    // An invalid event: the server's reason comes back, and nothing is stored.
    let too_long = "x".repeat(1001);
    let refused = metric(&run_id, "label", too_long.as_str())
        .send_blocking()
        .unwrap_err();
    match &refused {
        Error::Api {
            status, message, ..
        } => {
            assert_eq!(*status, 400);
            assert!(message.contains("at most 1000 characters"), "{message}");
        }
        other => panic!("expected the server's reason, got {other:?}"),
    }
    assert!(refused.to_string().contains("at most 1000 characters"));
    let bad_name = rt
        .block_on(metric(&run_id, "bad name!", 1).send())
        .unwrap_err();
    assert!(
        bad_name.to_string().contains("may only contain"),
        "{bad_name}"
    );

    // A wrong key is refused; with no server, the call says where it tried.
    let wrong_key = metric(&run_id, "resolved", false)
        .config(&Config::new().url(&server.url).api_key("not-a-key"))
        .send_blocking()
        .unwrap_err();
    assert!(
        matches!(wrong_key, Error::Api { status: 401, .. }),
        "{wrong_key:?}"
    );
    let down = closed_port_url();
    let unreachable = rt
        .block_on(
            metric(&run_id, "resolved", false)
                .config(&Config::new().url(&down))
                .send(),
        )
        .unwrap_err();
    assert!(
        matches!(&unreachable, Error::Unreachable { url, .. } if url.starts_with(&down)),
        "{unreachable:?}"
    );
    let (_, after) = server.get(&format!("/api/v1/runs/{run_id}/metrics"));
    assert_eq!(
        after["metrics"].as_array().map(Vec::len),
        Some(3),
        "{after}"
    );
    lemma.shutdown();
}

#[test]
fn a_proxy_session_opened_inside_a_run() {
    let _turn = exclusive();
    let server = TestServer::start(KEY);
    let lemma = init(config(&server)).unwrap();
    let rt = runtime();
    let opened: Arc<Mutex<Option<ProxySession>>> = Arc::default();
    let slot = Arc::clone(&opened);
    let (outcome, run_id) = rt.block_on(agent("proxy_parent").thread_id("thread-proxy-rust").run(
        |run| async move {
            let session = proxy()
                .user_id("user-proxy-rust")
                .ttl(Duration::from_secs(600))
                .start()
                .await?;
            *slot.lock().unwrap() = Some(session);
            Ok::<_, Error>(run.span_id())
        },
    ));
    let parent_span = outcome.unwrap();
    let session = opened.lock().unwrap().take().unwrap();
    let token = session.token.clone();
    assert!(token.starts_with("lps_"), "{session:?}");
    assert!(
        session
            .openai_base_url
            .contains(&format!("/proxy/session/{token}/openai/v1")),
        "{session:?}"
    );
    assert!(
        session
            .anthropic_base_url
            .contains(&format!("/proxy/session/{token}/anthropic")),
        "{session:?}"
    );
    assert_eq!(
        session.env.get("OPENAI_BASE_URL"),
        Some(&session.openai_base_url)
    );
    assert_eq!(
        session.env.get("ANTHROPIC_BASE_URL"),
        Some(&session.anthropic_base_url)
    );
    assert!(!session.expires_at.is_empty(), "{session:?}");

    // Closing twice is harmless: the second time, Lemma answers 404, which is fine.
    rt.block_on(session.clone().close()).unwrap();
    session.close_blocking().unwrap();
    let gone = reqwest::blocking::Client::new()
        .delete(format!("{}/api/v1/proxy/sessions/{token}", server.url))
        .bearer_auth(&server.key)
        .send()
        .unwrap()
        .status()
        .as_u16();
    assert_eq!(gone, 404, "Lemma no longer knows the session");

    // From code that is not async, outside any span.
    let plain = proxy().start_blocking().unwrap();
    assert!(plain
        .openai_base_url
        .contains(&format!("/proxy/session/{}/openai/v1", plain.token)));
    plain.close_blocking().unwrap();

    // The agent span the session was opened in is recorded as usual.
    lemma.flush();
    let body = server.run(run_id.as_str(), 1);
    assert_eq!(
        agent_span(&body, "proxy_parent")["span_id"],
        parent_span.as_str()
    );
    lemma.shutdown();
}

/// A tool call that failed; the error carries the call's span id.
#[derive(Debug)]
struct TimedOut(String);

impl std::fmt::Display for TimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("order service timed out")
    }
}

#[test]
fn a_run_reads_its_own_signals_while_it_runs() {
    let _turn = exclusive();
    let server = TestServer::start(KEY);
    // An agent has an ingest key, and that is enough to ask.
    let ingest_key = server.create_key("ingest");
    let lemma = init(config(&server).api_key(&ingest_key)).unwrap();
    let rt = runtime();
    // After each failed call the agent checks its run, and escalates once Lemma finds
    // something critical.
    let (outcome, run_id) = rt.block_on(agent("signals_agent").input("Where is order 42?").run(
        |run| async move {
            let mut checks: Vec<RunSignals> = Vec::new();
            let mut failed = Vec::new();
            for attempt in 1..=5 {
                let call = tool("lookup_order")
                    .arguments(&json!({"order": 42, "try": attempt}))
                    .run(|call| async move { Err::<(), _>(TimedOut(call.span_id())) })
                    .await;
                failed.push(call.unwrap_err().0);
                let answer = run.signals().await?;
                let worst = answer.critical().next().cloned();
                checks.push(answer);
                if let Some(worst) = worst {
                    run.set_output(&format!("escalated: {}", worst.explanation));
                    break;
                }
            }
            Ok::<_, Error>((checks, failed))
        },
    ));
    let (checks, failed) = outcome.unwrap();

    // The first two checks found nothing critical, the third a streak.
    assert_eq!(checks.len(), 3, "{checks:#?}");
    for (seen, check) in checks.iter().enumerate() {
        assert_eq!(check.run_id, run_id.as_str());
        // The agent span was still open, and every failed call had been flushed to Lemma.
        assert!(check.in_progress, "{check:?}");
        assert_eq!(check.span_count, seen as u64 + 1, "{check:?}");
    }
    assert_eq!(
        checks[0].critical().count() + checks[1].critical().count(),
        0
    );
    let streak = &checks[2].signals[0]; // most severe first
    assert_eq!(streak.kind, "error_streak", "{:#?}", checks[2]);
    assert_eq!(streak.severity, Severity::Critical);
    assert_eq!(streak.source, SignalSource::Rule);
    assert_eq!(streak.span_id.as_ref(), Some(&failed[0])); // the first failed call
    assert_eq!(streak.repeats, 3);
    assert!(
        streak.explanation.contains("order service timed out"),
        "{streak:?}"
    );

    // The run ended after: Lemma has all of it, and reads the same signal.
    lemma.flush();
    let body = server.run(run_id.as_str(), 4);
    assert_eq!(
        body["run"]["output"],
        format!("escalated: {}", streak.explanation)
    );
    let calls: Vec<&Value> = body["spans"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "tool")
        .collect();
    assert_eq!(calls.len(), 3);
    assert!(calls.iter().all(|s| s["status"] == "error"), "{body:#}");
    let (status, ended) = server.get(&format!("/api/v1/runs/{run_id}/signals"));
    assert_eq!(status, 200, "{ended}");
    assert_eq!(ended["in_progress"], false);
    assert_eq!(ended["signals"][0]["kind"], "error_streak");

    // From code that is not async: one failure, nothing critical. And before any span of a
    // run has ended, Lemma has none to judge: it says so.
    let (outcome, _) = agent("sync_agent").run_sync(|run| {
        let _ = tool("lookup_order").run_sync(|call| Err::<(), _>(TimedOut(call.span_id())));
        run.signals().send_blocking()
    });
    let answer = outcome.unwrap();
    assert!(answer.in_progress && answer.span_count == 1, "{answer:?}");
    assert_eq!(answer.critical().count(), 0);
    let (outcome, _) = agent("quiet_agent").run_sync(|run| run.signals().send_blocking());
    match outcome.unwrap_err() {
        Error::Api {
            status, message, ..
        } => {
            assert_eq!(status, 404);
            assert!(message.contains("not found"), "{message}");
        }
        other => panic!("expected Lemma's 404, got {other:?}"),
    }
    lemma.shutdown();
}

#[test]
fn helpers_work_unconfigured_and_init_rejects_bad_urls() {
    let _turn = exclusive();
    assert!(init(Config::new().url("not a url")).is_err());
    assert!(init(Config::new().url("ftp://127.0.0.1/")).is_err());
    let server = TestServer::start(KEY);
    // The URL may already name the traces path, with or without a trailing slash.
    let lemma = init(config(&server).url(format!("{}/v1/traces", server.url))).unwrap();
    let (_, run_id) = agent("path").run_sync(|_| Ok::<_, AgentError>(Value::Null));
    lemma.shutdown();
    server.run(run_id.as_str(), 1);
}

/// Answers from the input, with a tool call; fails for a division by zero.
async fn calculator(case: Case) -> Result<String, AgentError> {
    let text = case.input.as_str().unwrap_or_default().to_string();
    if text == "say hi" {
        return Ok("hi".to_string());
    }
    tool("calculate")
        .arguments(&json!({ "expression": text }))
        .run(|_| async move {
            let digit = |i: usize| i64::from(text.as_bytes()[i] - b'0');
            let (a, b) = (digit(0), digit(2));
            match &text[1..2] {
                "+" => Ok((a + b).to_string()),
                "*" => Ok((a * b).to_string()),
                _ if b == 0 => Err(AgentError("division by zero".into())),
                _ => Ok((a / b).to_string()),
            }
        })
        .await
}

#[test]
fn experiments_run_score_link_and_compare() {
    let _turn = exclusive();
    let server = TestServer::start(KEY);
    let lemma = init(config(&server)).unwrap();
    let rt = runtime();
    let cases = vec![
        Case::new("2+2").id("add").expected("4").tag("easy"),
        Case::new("3*5").id("mul").expected("15"),
        Case::new("1/0").id("div").expected("0"),
        // No expected: exact_match does not apply.
        Case::new("say hi").id("greet"),
    ];
    // A custom scorer that fails for a failed case (no output).
    let brevity = || {
        scorers::from_fn("brevity", |output, _| {
            output
                .and_then(Value::as_str)
                .map(|o| o.len() <= 2)
                .ok_or("no output to measure")
        })
    };
    let first = rt
        .block_on(
            experiment("arithmetic")
                .cases(cases.clone())
                .name("arithmetic-first")
                .scorer(scorers::exact_match())
                .scorer(brevity())
                .metadata("agent", "calculator-v1")
                .agent_name("calculator")
                .run(calculator),
        )
        .unwrap();
    assert_eq!(
        (first.dataset.as_str(), first.dataset_version),
        ("arithmetic", 1)
    );
    let outputs: Vec<(&str, Option<&Value>)> = first
        .cases
        .iter()
        .map(|c| (c.case_id.as_str(), c.output.as_ref()))
        .collect();
    assert_eq!(
        outputs,
        [
            ("add", Some(&json!("4"))),
            ("mul", Some(&json!("15"))),
            ("div", None),
            ("greet", Some(&json!("hi")))
        ]
    );
    let by_case = |id: &str| first.cases.iter().find(|c| c.case_id == id).unwrap();
    // The failing case: its error recorded, scored on no output; the custom scorer failed.
    let div = by_case("div");
    assert_eq!(div.error.as_deref(), Some("agent error: division by zero"));
    assert_eq!(first.failed().count(), 1);
    assert_eq!(
        div.scores,
        [("exact_match".to_string(), Score::Bool(false))].into()
    );
    assert_eq!(div.score_errors["brevity"], "no output to measure");
    assert_eq!(
        by_case("greet").scores.keys().collect::<Vec<_>>(),
        ["brevity"]
    );
    assert_eq!(
        first.scores,
        [
            ("brevity".to_string(), 1.0),
            ("exact_match".to_string(), 2.0 / 3.0)
        ]
        .into()
    );
    assert_eq!(first.previous, None);

    // Each case linked to the run that answered it.
    let (status, stored) = server.get("/api/v1/experiments/arithmetic-first");
    assert_eq!(status, 200, "{stored}");
    assert_eq!(
        stored["experiment"]["metadata"],
        json!({"agent": "calculator-v1"})
    );
    let mut linked: Vec<(String, String)> = stored["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["case_id"].as_str().unwrap().into(),
                r["run_id"].as_str().unwrap().into(),
            )
        })
        .collect();
    let mut ran: Vec<(String, String)> = first
        .cases
        .iter()
        .map(|c| (c.case_id.clone(), c.run_id.to_string()))
        .collect();
    linked.sort();
    ran.sort();
    assert_eq!(linked, ran);
    for case in &first.cases {
        let spans = if case.case_id == "greet" { 1 } else { 2 };
        let body = server.run(case.run_id.as_str(), spans);
        let run = &body["run"];
        assert_eq!(run["agent_name"], "calculator");
        assert_eq!(
            run["metadata"],
            json!({"case_id": case.case_id, "experiment": "arithmetic-first"})
        );
        assert_eq!(run["input"], case.input);
        assert_eq!(run["status"], if case.failed() { "error" } else { "ok" });
        // The scores are metric events on that run.
        let (_, metrics) = server.get(&format!("/api/v1/runs/{}/metrics", case.run_id));
        let recorded: BTreeMap<String, Score> = metrics["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                assert_eq!(m["source"], "experiment");
                let name = m["name"].as_str().unwrap().to_string();
                (name, serde_json::from_value(m["value"].clone()).unwrap())
            })
            .collect();
        assert_eq!(recorded, case.scores, "{}", case.case_id);
    }
    assert_eq!(
        server.run(by_case("add").run_id.as_str(), 2)["run"]["tags"],
        json!(["easy"])
    );

    // The same cases again reuse the dataset's version; this agent gets "mul" wrong.
    let second = rt
        .block_on(
            experiment("arithmetic")
                .cases(cases.clone())
                .name("arithmetic-second")
                .scorer(scorers::exact_match())
                .scorer(scorers::contains("1"))
                .concurrency(2)
                .run(|case| async move {
                    if case.id == "mul" {
                        Ok("16".to_string())
                    } else {
                        calculator(case).await
                    }
                }),
        )
        .unwrap();
    assert_eq!(second.dataset_version, 1);
    assert_eq!(second.previous.as_deref(), Some("arithmetic-first"));
    assert_eq!(
        second.compare_url.as_deref(),
        Some(
            format!(
                "{}/api/v1/compare?experiments=arithmetic-first,arithmetic-second",
                server.url
            )
            .as_str()
        )
    );
    let comparison = rt
        .block_on(compare(["arithmetic-first", "arithmetic-second"]).into_future())
        .unwrap();
    assert_eq!(
        second.compare("arithmetic-first").send_blocking().unwrap(),
        comparison
    );
    let totals: Vec<(&str, u64, u64)> = comparison
        .experiments
        .iter()
        .map(|e| (e.name.as_str(), e.answered, e.failed))
        .collect();
    assert_eq!(
        totals,
        [("arithmetic-first", 4, 1), ("arithmetic-second", 4, 1)]
    );
    assert_eq!(comparison.regressions, 1);
    let regressed: Vec<_> = comparison.regressed().collect();
    assert_eq!(regressed[0].case_id, "mul");
    assert_eq!(
        regressed[0].reasons,
        ["exact_match fell from 1 to 0 in experiment 2"]
    );
    let outputs: Vec<_> = regressed[0]
        .results
        .iter()
        .map(|r| r.as_ref().unwrap().output.clone())
        .collect();
    assert_eq!(outputs, [Some(json!("15")), Some(json!("16"))]);
    let exact = comparison
        .scores
        .iter()
        .find(|s| s.name == "exact_match")
        .unwrap();
    assert!((exact.delta.unwrap() + 1.0 / 3.0).abs() < 1e-9, "{exact:?}");

    // One more case: a new version of the dataset, and a default name from it and the time.
    let mut more = cases;
    more.push(Case::new("1+1").id("one").expected("2"));
    let third = rt
        .block_on(
            experiment("arithmetic")
                .cases(more)
                .scorer(scorers::exact_match())
                .run(calculator),
        )
        .unwrap();
    assert_eq!(third.dataset_version, 2);
    assert_eq!(third.previous.as_deref(), Some("arithmetic-second"));
    let stamp = third.name.strip_prefix("arithmetic-").unwrap();
    assert!(
        stamp.len() == 20 && stamp.as_bytes()[8] == b'T' && stamp.ends_with('Z'),
        "{}",
        third.name
    );
    assert_eq!(third.cases.len(), 5);

    // An unknown dataset, and a case without input: Lemma's refusal, said clearly.
    let unknown = rt
        .block_on(experiment("no-such-dataset").run(calculator))
        .unwrap_err();
    match &unknown {
        Error::Api {
            status: 404,
            message,
            ..
        } => {
            assert!(
                message.contains("no dataset \"no-such-dataset\""),
                "{message}"
            )
        }
        other => panic!("{other:?}"),
    }
    let bad = rt
        .block_on(
            experiment("arithmetic")
                .cases([Case::new(Value::Null).id("empty")])
                .run(calculator),
        )
        .unwrap_err();
    match &bad {
        Error::Api {
            status: 400,
            message,
            ..
        } => {
            assert!(message.contains("(empty): it has no input"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    lemma.shutdown();
}
