//! Unit tests of the spans the helpers write, through the real SDK into an in-memory exporter.
//!
//! One global provider serves every test (the helpers use the global provider); tests run in
//! parallel, so each looks only at the spans of its own trace.

use std::collections::HashMap;
use std::future::poll_fn;
use std::pin::{pin, Pin};
use std::sync::OnceLock;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use futures_core::Stream;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer, TracerProvider as _};
use opentelemetry::{global, Array, Context, Value};
use opentelemetry_sdk::trace::{
    InMemorySpanExporter, SdkTracerProvider, SimpleSpanProcessor, SpanData,
};
use serde_json::json;

use crate::setup::LemmaSpanProcessor;
use crate::*;

const ENVIRONMENT: &str = "unit-test";

pub(crate) fn exporter() -> &'static InMemorySpanExporter {
    static EXPORTER: OnceLock<InMemorySpanExporter> = OnceLock::new();
    EXPORTER.get_or_init(|| {
        let exporter = InMemorySpanExporter::default();
        let mut processor = LemmaSpanProcessor::new(Some(ENVIRONMENT.into()));
        processor.add(SimpleSpanProcessor::new(exporter.clone()));
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .build();
        global::set_tracer_provider(provider);
        exporter
    })
}

/// The finished spans of run `id`, in the order they ended.
fn spans_of(id: &RunId) -> Vec<SpanData> {
    exporter()
        .get_finished_spans()
        .unwrap()
        .into_iter()
        .filter(|s| s.span_context.trace_id().to_string() == id.as_str())
        .collect()
}

fn named<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name} in {:?}", names(spans)))
}

fn names(spans: &[SpanData]) -> Vec<String> {
    spans.iter().map(|s| s.name.to_string()).collect()
}

fn attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

fn text(span: &SpanData, key: &str) -> String {
    match attr(span, key) {
        Some(Value::String(s)) => s.to_string(),
        other => panic!("{key} on {}: {other:?}", span.name),
    }
}

fn json_attr(span: &SpanData, key: &str) -> serde_json::Value {
    serde_json::from_str(&text(span, key)).unwrap()
}

fn attribute_map(span: &SpanData) -> HashMap<String, Value> {
    span.attributes
        .iter()
        .map(|kv| (kv.key.to_string(), kv.value.clone()))
        .collect()
}

fn strings(values: &[&str]) -> Value {
    Value::Array(Array::String(
        values.iter().map(|s| s.to_string().into()).collect(),
    ))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap()
}

#[derive(Debug)]
struct LookupError(&'static str);

impl std::fmt::Display for LookupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "lookup failed: {}", self.0)
    }
}

impl std::error::Error for LookupError {}

#[test]
fn agent_writes_exactly_the_contract_attributes() {
    exporter();
    let (out, run_id) = agent("support_agent")
        .input("Where is my order?")
        .run_sync(|_| Ok::<_, LookupError>(json!({"answer": "shipped"})));
    assert_eq!(out.unwrap(), json!({"answer": "shipped"}));
    let spans = spans_of(&run_id);
    assert_eq!(spans.len(), 1);
    let root = &spans[0];
    assert_eq!(root.name, "ai.agent.run");
    assert_eq!(root.span_kind, SpanKind::Internal);
    assert_eq!(root.parent_span_id, opentelemetry::trace::SpanId::INVALID);
    assert_eq!(root.status, Status::Unset);
    assert_eq!(root.instrumentation_scope.name(), "lemma-sdk");
    let expected: HashMap<String, Value> = [
        ("lemma.span.kind", Value::from("agent")),
        ("lemma.agent.name", "support_agent".into()),
        ("gen_ai.operation.name", "invoke_agent".into()),
        ("gen_ai.agent.name", "support_agent".into()),
        ("ai.agent.input", "Where is my order?".into()),
        ("ai.agent.output", r#"{"answer":"shipped"}"#.into()),
        ("lemma.environment", ENVIRONMENT.into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(attribute_map(root), expected);
    assert_eq!(run_id.as_str(), root.span_context.trace_id().to_string());
    assert_eq!(run_id.as_str().len(), 32);
    assert!(run_id.is_valid());
}

#[test]
fn helpers_nest_under_the_run_with_their_attributes() {
    exporter();
    let (_, run_id) = agent("research")
        .input(&json!({"topic": "otel"}))
        .run_sync(|run| {
            let docs = retrieval("papers")
                .query("what is otel")
                .run_sync(|_| Ok::<_, LookupError>(vec![json!({"id": "d1", "text": "OTel is"})]))?;
            let weather = tool("get_weather")
                .call_id("call_9")
                .arguments(&json!({"city": "Paris"}))
                .run_sync(|_| Ok::<_, LookupError>("sunny"))?;
            llm("gpt-4o-mini")
                .provider("openai")
                .temperature(0.2)
                .max_tokens(100)
                .input_messages(&json!([{"role": "user", "content": "hi"}]))
                .run_sync(|call| {
                    call.output_messages(&json!({"role": "assistant", "content": "hello"}));
                    call.usage(11, 3);
                    call.finish_reasons(["stop"]);
                    call.response_model("gpt-4o-mini-2024-07-18");
                    call.response_id("chatcmpl-1");
                    Ok::<_, LookupError>(())
                })?;
            let summary = agent("summarizer")
                .input("summarize")
                .run_sync(|_| Ok::<_, LookupError>("short"))
                .0?;
            span("rank")
                .kind("reranker")
                .input(&["a", "b"])
                .run_sync(|_| Ok::<_, LookupError>(vec!["b", "a"]))?;
            assert_eq!(run.run_id(), run.run_id());
            Ok::<_, LookupError>(format!("{} {weather} {summary}", docs.len()))
        });
    let spans = spans_of(&run_id);
    assert_eq!(spans.len(), 6, "{:?}", names(&spans));
    let root = spans
        .iter()
        .find(|s| s.name == "ai.agent.run" && text(s, "lemma.agent.name") == "research")
        .unwrap();
    assert_eq!(text(root, "ai.agent.input"), r#"{"topic":"otel"}"#);
    assert_eq!(text(root, "ai.agent.output"), "1 sunny short");
    for span in spans.iter().filter(|s| s.span_context != root.span_context) {
        assert_eq!(
            span.parent_span_id,
            root.span_context.span_id(),
            "{}",
            span.name
        );
    }

    let retrieval = named(&spans, "retrieval papers");
    assert_eq!(retrieval.span_kind, SpanKind::Client);
    assert_eq!(text(retrieval, "lemma.span.kind"), "retrieval");
    assert_eq!(text(retrieval, "gen_ai.operation.name"), "retrieval");
    assert_eq!(text(retrieval, "gen_ai.data_source.id"), "papers");
    assert_eq!(text(retrieval, "lemma.input"), "what is otel");
    assert_eq!(
        text(retrieval, "gen_ai.retrieval.query.text"),
        "what is otel"
    );
    let docs = json!([{"id": "d1", "text": "OTel is"}]);
    assert_eq!(json_attr(retrieval, "lemma.output"), docs);
    assert_eq!(json_attr(retrieval, "gen_ai.retrieval.documents"), docs);

    let tool = named(&spans, "execute_tool get_weather");
    assert_eq!(text(tool, "lemma.span.kind"), "tool");
    assert_eq!(text(tool, "gen_ai.operation.name"), "execute_tool");
    assert_eq!(text(tool, "gen_ai.tool.name"), "get_weather");
    assert_eq!(text(tool, "gen_ai.tool.call.id"), "call_9");
    assert_eq!(
        json_attr(tool, "gen_ai.tool.call.arguments"),
        json!({"city": "Paris"})
    );
    assert_eq!(text(tool, "gen_ai.tool.call.result"), "sunny");

    let llm = named(&spans, "chat gpt-4o-mini");
    assert_eq!(llm.span_kind, SpanKind::Client);
    assert_eq!(text(llm, "lemma.span.kind"), "llm");
    assert_eq!(text(llm, "gen_ai.operation.name"), "chat");
    assert_eq!(text(llm, "gen_ai.request.model"), "gpt-4o-mini");
    assert_eq!(text(llm, "gen_ai.response.model"), "gpt-4o-mini-2024-07-18");
    assert_eq!(text(llm, "gen_ai.response.id"), "chatcmpl-1");
    assert_eq!(text(llm, "gen_ai.provider.name"), "openai");
    assert_eq!(
        attr(llm, "gen_ai.request.temperature"),
        Some(&Value::F64(0.2))
    );
    assert_eq!(
        attr(llm, "gen_ai.request.max_tokens"),
        Some(&Value::I64(100))
    );
    assert_eq!(
        json_attr(llm, "gen_ai.input.messages"),
        json!([{"role": "user", "parts": [{"type": "text", "content": "hi"}]}])
    );
    assert_eq!(
        json_attr(llm, "gen_ai.output.messages"),
        json!([{"role": "assistant", "parts": [{"type": "text", "content": "hello"}]}])
    );
    assert_eq!(
        attr(llm, "gen_ai.usage.input_tokens"),
        Some(&Value::I64(11))
    );
    assert_eq!(
        attr(llm, "gen_ai.usage.output_tokens"),
        Some(&Value::I64(3))
    );
    assert_eq!(
        attr(llm, "gen_ai.response.finish_reasons"),
        Some(&strings(&["stop"]))
    );

    let sub = spans
        .iter()
        .find(|s| s.name == "ai.agent.run" && s.span_context != root.span_context)
        .unwrap();
    assert_eq!(text(sub, "lemma.agent.name"), "summarizer");
    assert_eq!(text(sub, "gen_ai.operation.name"), "invoke_agent");
    assert_eq!(text(sub, "ai.agent.output"), "short");

    let rank = named(&spans, "rank");
    assert_eq!(text(rank, "lemma.span.kind"), "reranker");
    assert_eq!(json_attr(rank, "lemma.input"), json!(["a", "b"]));
    assert_eq!(json_attr(rank, "lemma.output"), json!(["b", "a"]));
}

#[test]
fn an_error_is_recorded_and_returned_unchanged() {
    exporter();
    let (out, run_id) = agent("failing").run_sync(|_| {
        tool("lookup").run_sync(|_| Err::<(), _>(LookupError("order 7 not found")))?;
        Ok::<(), LookupError>(())
    });
    let err = out.unwrap_err();
    assert_eq!(err.to_string(), "lookup failed: order 7 not found");
    let spans = spans_of(&run_id);
    for name in ["ai.agent.run", "execute_tool lookup"] {
        let span = named(&spans, name);
        assert_eq!(
            span.status,
            Status::error("lookup failed: order 7 not found"),
            "{name}"
        );
        let events: Vec<_> = span.events.iter().collect();
        assert_eq!(events.len(), 1, "{name}");
        assert_eq!(events[0].name, "exception");
        let ev: HashMap<_, _> = events[0]
            .attributes
            .iter()
            .map(|kv| (kv.key.as_str().to_string(), kv.value.to_string()))
            .collect();
        assert!(ev["exception.type"].ends_with("LookupError"), "{ev:?}");
        assert_eq!(ev["exception.message"], "lookup failed: order 7 not found");
        assert!(ev["exception.stacktrace"].contains("LookupError"), "{ev:?}");
        assert!(attr(span, "ai.agent.output").is_none());
    }
}

#[test]
fn fail_and_set_output_are_explicit() {
    exporter();
    let (out, run_id) = agent("fallback").run_sync(|run| {
        run.fail(&LookupError("model timed out"));
        run.set_output("fallback answer");
        run.set_attribute("app.attempts", 3_i64);
        Ok::<_, LookupError>("ignored return value")
    });
    assert_eq!(out.unwrap(), "ignored return value");
    let root = &spans_of(&run_id)[0];
    assert_eq!(root.status, Status::error("lookup failed: model timed out"));
    assert_eq!(text(root, "ai.agent.output"), "fallback answer");
    assert_eq!(attr(root, "app.attempts"), Some(&Value::I64(3)));
    // Returning the same failure again does not record a second exception.
    let (_, run_id) = agent("twice").run_sync(|run| {
        run.fail(&LookupError("x"));
        Err::<(), _>(LookupError("x"))
    });
    assert_eq!(spans_of(&run_id)[0].events.len(), 1);
}

#[test]
fn after_fail_the_return_value_is_the_output() {
    exporter();
    let (out, run_id) = agent("fallback").run_sync(|run| {
        run.fail(&LookupError("empty question"));
        Ok::<_, LookupError>("Please ask a question.")
    });
    assert_eq!(out.unwrap(), "Please ask a question.");
    let root = &spans_of(&run_id)[0];
    assert_eq!(root.status, Status::error("lookup failed: empty question"));
    assert_eq!(root.events.len(), 1);
    assert_eq!(text(root, "ai.agent.output"), "Please ask a question.");
}

#[test]
fn a_panic_ends_the_span_as_failed() {
    exporter();
    let mut run_id = None;
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        agent("panicky").run_sync(|run| {
            run_id = Some(run.run_id());
            if run_id.is_some() {
                panic!("boom");
            }
            Ok::<(), LookupError>(())
        })
    }));
    assert!(caught.is_err());
    let spans = spans_of(&run_id.unwrap());
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].status, Status::error("panicked"));
}

#[test]
fn async_runs_keep_their_context_across_awaits_and_tasks() {
    exporter();
    let rt = runtime();
    let ((a, b), c) = rt.block_on(async {
        let one = agent("one").run(|_| async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            tool("t1").run(|_| async { Ok::<_, LookupError>(1) }).await
        });
        let two = agent("two").run(|run| async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            // A spawned task carries the context only when told to.
            use opentelemetry::context::FutureExt;
            let task = tokio::spawn(
                tool("t2")
                    .run(|_| async { Ok::<_, LookupError>(2) })
                    .with_context(run.context()),
            );
            task.await.unwrap()
        });
        let both = futures_join(one, two).await;
        let c = agent("three")
            .run(|_| async { Ok::<_, LookupError>(3) })
            .await;
        (both, c)
    });
    for ((result, run_id), tool_name) in [(a, "execute_tool t1"), (b, "execute_tool t2")] {
        assert!(result.is_ok());
        let spans = spans_of(&run_id);
        assert_eq!(spans.len(), 2, "{:?}", names(&spans));
        let root = named(&spans, "ai.agent.run");
        assert_eq!(
            named(&spans, tool_name).parent_span_id,
            root.span_context.span_id()
        );
    }
    assert_ne!(spans_of(&c.1)[0].span_context.trace_id().to_string(), "");
    assert_eq!(spans_of(&c.1).len(), 1);
}

/// Polls both futures to completion (what `futures::join!` does).
async fn futures_join<A: std::future::Future, B: std::future::Future>(
    a: A,
    b: B,
) -> (A::Output, B::Output) {
    let (mut a, mut b) = (pin!(a), pin!(b));
    let (mut ra, mut rb) = (None, None);
    poll_fn(|cx| {
        if ra.is_none() {
            if let Poll::Ready(v) = a.as_mut().poll(cx) {
                ra = Some(v);
            }
        }
        if rb.is_none() {
            if let Poll::Ready(v) = b.as_mut().poll(cx) {
                rb = Some(v);
            }
        }
        if ra.is_some() && rb.is_some() {
            Poll::Ready((ra.take().unwrap(), rb.take().unwrap()))
        } else {
            Poll::Pending
        }
    })
    .await
}

#[test]
fn run_context_reaches_every_span_of_the_run() {
    exporter();
    let (_, run_id) = agent("ctx")
        .thread_id("thread-1")
        .user_id("user-1")
        .session_id("session-1")
        .environment("staging")
        .tags(["beta", "vip"])
        .metadata("plan", "gold")
        .metadata("limits", &json!({"max": 3}))
        .run_sync(|_| {
            tool("t").run_sync(|_| {
                // A span from plain OpenTelemetry code inside the run gets it too.
                let tracer = global::tracer_provider().tracer("other-library");
                tracer.in_span("raw", |_| {});
                Ok::<_, LookupError>(())
            })?;
            llm("m").run_sync(|_| Ok::<_, LookupError>(()))?;
            agent("sub")
                .tag("sub")
                .run_sync(|_| Ok::<_, LookupError>(()))
                .0
        });
    let spans = spans_of(&run_id);
    assert_eq!(spans.len(), 5, "{:?}", names(&spans));
    for span in &spans {
        assert_eq!(text(span, "lemma.thread_id"), "thread-1", "{}", span.name);
        assert_eq!(text(span, "lemma.user_id"), "user-1");
        assert_eq!(text(span, "lemma.session_id"), "session-1");
        assert_eq!(text(span, "lemma.environment"), "staging");
        assert_eq!(text(span, "lemma.metadata.plan"), "gold");
        assert_eq!(json_attr(span, "lemma.metadata.limits"), json!({"max": 3}));
        let tags = if attr(span, "lemma.agent.name") == Some(&Value::from("sub")) {
            strings(&["beta", "vip", "sub"])
        } else {
            strings(&["beta", "vip"])
        };
        assert_eq!(attr(span, "lemma.tags"), Some(&tags), "{}", span.name);
    }
    // Outside the run, nothing is stamped but the configured environment.
    let (_, other) = agent("plain").run_sync(|_| Ok::<_, LookupError>(()));
    let plain = &spans_of(&other)[0];
    assert!(attr(plain, "lemma.thread_id").is_none());
    assert_eq!(text(plain, "lemma.environment"), ENVIRONMENT);
}

#[test]
fn propagation_round_trip_nests_the_remote_side() {
    exporter();
    let (sent, run_id) = agent("caller")
        .thread_id("t-remote")
        .tag("x")
        .run_sync(|run| {
            let headers = inject_headers();
            let env: HashMap<String, String> = context_env().into_iter().collect();
            Ok::<_, LookupError>((headers, env, run.span_id()))
        });
    let (headers, env, caller_span) = sent.unwrap();
    assert!(
        headers["traceparent"].contains(run_id.as_str()),
        "{headers:?}"
    );
    assert!(headers["traceparent"].contains(&caller_span));
    assert!(
        headers["baggage"].contains("lemma.thread_id=t-remote"),
        "{headers:?}"
    );
    assert_eq!(env["TRACEPARENT"], headers["traceparent"]);
    assert_eq!(env["BAGGAGE"], headers["baggage"]);

    // The other side, on a thread with no context of its own: headers, then env vars.
    for carrier in [headers, env] {
        let id = std::thread::spawn(move || {
            let _guard = continue_from(&carrier);
            agent("callee").run_sync(|_| Ok::<_, LookupError>(())).1
        })
        .join()
        .unwrap();
        assert_eq!(id, run_id);
    }
    let callees: Vec<_> = spans_of(&run_id)
        .into_iter()
        .filter(|s| s.attributes.iter().any(|kv| kv.value.as_str() == "callee"))
        .collect();
    assert_eq!(callees.len(), 2);
    for callee in &callees {
        assert_eq!(callee.parent_span_id.to_string(), caller_span);
        assert_eq!(text(callee, "lemma.thread_id"), "t-remote");
        assert_eq!(attr(callee, "lemma.tags"), Some(&strings(&["x"])));
    }
    // Outside any span there is nothing to carry.
    assert!(std::thread::spawn(inject_headers)
        .join()
        .unwrap()
        .is_empty());
    assert!(!Context::current().span().span_context().is_valid());
}

#[test]
fn a_started_run_covers_the_whole_stream() {
    exporter();
    let run = agent("streamer").input("tell me").start();
    let run_id = run.run_id();
    let child = run.in_scope(|| llm("m").start());
    std::thread::sleep(Duration::from_millis(60));
    child.complete("partial model text");
    assert!(
        spans_of(&run_id).iter().all(|s| s.name != "ai.agent.run"),
        "still open"
    );
    run.complete("full streamed answer");
    let spans = spans_of(&run_id);
    let root = named(&spans, "ai.agent.run");
    let took = root.end_time.duration_since(root.start_time).unwrap();
    assert!(took >= Duration::from_millis(60), "{took:?}");
    assert_eq!(text(root, "ai.agent.output"), "full streamed answer");
    let llm = named(&spans, "chat m");
    assert_eq!(llm.parent_span_id, root.span_context.span_id());
    assert_eq!(
        json_attr(llm, "gen_ai.output.messages"),
        json!([{"role": "assistant", "parts": [{"type": "text", "content": "partial model text"}]}])
    );

    // fail() ends it too, and a dropped handle still ends the span.
    let failed = agent("stream-fails").start();
    let failed_id = failed.run_id();
    failed.fail(&LookupError("connection reset"));
    assert_eq!(
        spans_of(&failed_id)[0].status,
        Status::error("lookup failed: connection reset")
    );
    let dropped = agent("dropped").start();
    let dropped_id = dropped.run_id();
    drop(dropped);
    assert_eq!(spans_of(&dropped_id).len(), 1);
}

/// A stream of prepared items, one per poll, each after `delay`.
struct Scripted<T> {
    items: Vec<T>,
    delay: Duration,
}

impl<T: Unpin> Stream for Scripted<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<Option<T>> {
        std::thread::sleep(self.delay);
        if Context::current().span().span_context().is_valid() {
            // Work done while polling nests under the stream's span.
            tool("inside_poll")
                .run_sync(|_| Ok::<_, LookupError>(()))
                .unwrap();
        }
        Poll::Ready(if self.items.is_empty() {
            None
        } else {
            Some(self.items.remove(0))
        })
    }
}

fn drain<S: Stream>(stream: S) -> Vec<S::Item> {
    runtime().block_on(async {
        let mut stream = pin!(stream);
        let mut out = Vec::new();
        while let Some(item) = poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
            out.push(item);
        }
        out
    })
}

#[test]
fn wrapped_streams_end_the_span_with_their_text() {
    exporter();
    let call = llm("streaming-model").start();
    let run_id = call.run_id();
    let stream = call.wrap_stream(Scripted {
        items: vec!["Hel".to_string(), "lo".to_string()],
        delay: Duration::from_millis(15),
    });
    assert_eq!(drain(stream), ["Hel", "lo"]);
    let spans = spans_of(&run_id);
    let root = named(&spans, "chat streaming-model");
    assert!(root.end_time.duration_since(root.start_time).unwrap() >= Duration::from_millis(45));
    assert_eq!(
        json_attr(root, "gen_ai.output.messages"),
        json!([{"role": "assistant", "parts": [{"type": "text", "content": "Hello"}]}])
    );
    assert_eq!(
        named(&spans, "execute_tool inside_poll").parent_span_id,
        root.span_context.span_id()
    );

    // An error item fails the span; the items still reach the caller.
    let run = agent("stream-error").start();
    let run_id = run.run_id();
    let items = vec![Ok("a"), Err(LookupError("cut off")), Ok("b")];
    let got = drain(run.wrap_stream(Scripted {
        items,
        delay: Duration::ZERO,
    }));
    assert_eq!(got.len(), 3);
    let root = named(&spans_of(&run_id), "ai.agent.run").clone();
    assert_eq!(root.status, Status::error("lookup failed: cut off"));

    // Dropped early: ended with the text so far.
    let run = agent("stream-dropped").start();
    let run_id = run.run_id();
    let mut stream = Box::pin(run.wrap_stream(Scripted {
        items: vec!["first ", "second"],
        delay: Duration::ZERO,
    }));
    let first = runtime().block_on(poll_fn(|cx| stream.as_mut().poll_next(cx)));
    assert_eq!(first, Some("first "));
    drop(stream);
    assert_eq!(
        text(named(&spans_of(&run_id), "ai.agent.run"), "ai.agent.output"),
        "first "
    );
}

#[test]
fn without_a_run_the_helpers_just_run() {
    // Spans with no parent are roots of their own trace; nothing fails.
    exporter();
    let value = tool("standalone").run_sync(|span| {
        assert!(span.run_id().is_valid());
        Ok::<_, LookupError>(5)
    });
    assert_eq!(value.unwrap(), 5);
}
