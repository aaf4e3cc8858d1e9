//! Trace AI agents into Lemma: every [`agent`] call becomes a run, with
//! its model calls ([`llm`]), tool calls ([`tool`]), retrievals ([`retrieval`]) and
//! sub-agents nested under it, read back in Lemma's dashboard and API.
//!
//! It is a thin layer over the official OpenTelemetry SDK: spans go through the global
//! tracer provider, so anything else instrumented with OpenTelemetry in the same program
//! nests under the same run.
//!
//! ```no_run
//! use lemma_sdk::{agent, llm, tool, Config, Message};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // LEMMA_URL (default http://127.0.0.1:4318) and LEMMA_API_KEY
//!     let lemma = lemma_sdk::init(Config::from_env())?;
//!
//!     let (answer, run_id) = agent("support_agent")
//!         .input("Where is my order?")
//!         .thread_id("conversation-7")
//!         .run(|_run| async {
//!             let status = tool("lookup_order")
//!                 .arguments(&serde_json::json!({"order": 42}))
//!                 .run(|_| async { Ok::<_, std::io::Error>("shipped") })
//!                 .await?;
//!             llm("gpt-4o-mini")
//!                 .provider("openai")
//!                 .input_messages(&[Message::user(format!("Order status: {status}"))])
//!                 .run(|call| async move {
//!                     let text = format!("Your order has {status}.");
//!                     call.output_text(&text);
//!                     call.usage(12, 6);
//!                     Ok::<_, std::io::Error>(text)
//!                 })
//!                 .await
//!         })
//!         .await;
//!     println!("{} (run {run_id})", answer?);
//!     lemma.shutdown();
//!     Ok(())
//! }
//! ```
//!
//! # Runs, context and async
//!
//! A helper's span is a child of the context current when its `run` is called (or when
//! `run_sync` runs), and its closure runs with that span current: in async code the future
//! is wrapped with [`opentelemetry::context::FutureExt::with_context`], so the context
//! follows it across `.await`s. A task you `tokio::spawn` inside a run does not inherit it
//! by itself: spawn `fut.with_current_context()` (or `fut.with_context(run.context())`).
//!
//! The run context set on an agent ([`Agent::thread_id`], `user_id`, `session_id`,
//! `environment`, `tags`, `metadata`) is copied onto every span started inside the run, by
//! Lemma's span processor, including spans other libraries start; it also travels to other
//! processes in W3C baggage (see [`inject_headers`], [`context_env`], [`continue_from`]).
//!
//! # Feedback and scores
//!
//! [`metric`] (or [`Run::metric`] inside a run) posts a named value to a run at once, over
//! Lemma's REST API: user feedback, task success, an evaluator's score. Unlike span export it
//! is a direct call, so it returns the stored [`Metric`] or the server's reason ([`Error`]).
//!
//! # A run's signals, while it runs
//!
//! [`Run::signals`] asks Lemma what it finds worth a look in the run so far: a streak of
//! failed calls, a loop, a classifier's flag ([`RunSignals`], most severe first), so an agent
//! can stop or escalate. It flushes the spans that ended first, so they count.
//!
//! # Experiments
//!
//! [`experiment`] runs an agent over every case of a dataset kept by Lemma (or over the
//! [`Case`]s you give, kept as one), each case in a run of its own, scores each answer with
//! [`scorers`] (posted as metric events on the case's run), and links each case to its run.
//! [`compare`] then sets two experiments side by side, case by case, with the regressions a
//! CI gate checks.
//!
//! # Sub-agents you did not instrument
//!
//! A sub-agent with no Lemma SDK in it (the `claude` CLI, a program using the openai or
//! anthropic SDK) cannot continue a run, but Lemma's LLM proxy can record its model calls.
//! [`proxy`] opens a [`ProxySession`] for the current span: hand its base URLs to the
//! sub-agent through `OPENAI_BASE_URL` and `ANTHROPIC_BASE_URL` ([`ProxySession::env`]), and
//! every call it makes through them becomes a model call span under that span, in the same
//! run, with the run's thread and user. [`ProxySession::close`] ends it.
//!
//! # When the server is unreachable or refuses the key
//!
//! Nothing fails in your code: export happens on a background thread, and a problem is
//! reported once (and again only after the server came back and failed anew) as a warning
//! naming the URL and what to do. It goes to `tracing` (target `lemma_sdk`, level WARN) when
//! the program has installed a global `tracing` subscriber, otherwise to stderr.
#![warn(missing_docs)]

mod agent;
mod api;
mod compare;
mod config;
mod context;
mod error;
mod experiment;
mod export;
mod helpers;
mod messages;
mod metric;
mod propagation;
mod proxy;
pub mod scorers;
mod setup;
mod signals;
mod span;
mod stream;
mod value;

#[cfg(test)]
mod tests;

pub use agent::{agent, Agent, Run};
pub use compare::{
    compare, CompareRequest, ComparedCase, ComparedRun, Comparison, ExperimentTotals, ScoreDelta,
};
pub use config::{Config, DEFAULT_URL};
pub use error::Error;
pub use experiment::{experiment, Case, CaseResult, Experiment, ExperimentResult};
pub use helpers::{llm, retrieval, span, tool, GenericSpan, Llm, LlmCall, Retrieval, Tool};
pub use messages::{Message, Part};
pub use metric::{metric, Metric, MetricRequest, MetricValue};
pub use propagation::{
    context_env, continue_from, continue_from_env, env_context, extract_context, inject_headers,
    inject_headers_from,
};
pub use proxy::{proxy, ProxyRequest, ProxySession};
pub use setup::{init, otlp_exporter, span_processor, Lemma, LemmaSpanProcessor};
pub use signals::{RunSignals, Severity, Signal, SignalSource, SignalsRequest};
pub use span::{RunId, SpanHandle, Started};
pub use stream::{StreamItem, TracedStream};

/// The OpenTelemetry API and SDK this crate is built on, for matching versions.
pub use opentelemetry;
pub use opentelemetry_sdk;
