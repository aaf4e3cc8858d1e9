//! The typed helpers inside a run: `tool()`, `llm()`, `retrieval()` and the generic `span()`.

use std::fmt;
use std::future::Future;
use std::ops::Deref;

use opentelemetry::trace::SpanKind;
use opentelemetry::{Array, Key, StringValue, Value};
use serde::Serialize;

use crate::messages;
use crate::span::{record_output, traced, traced_sync, Kind, SpanHandle, SpanSpec, Started};
use crate::value::to_json;

/// `run`, `run_sync` and `start` for a builder whose closure's `Ok` value is the output.
macro_rules! runs_recording_output {
    ($builder:ident) => {
        impl $builder {
            /// Sets one more attribute on the span.
            pub fn attribute(mut self, key: impl Into<Key>, value: impl Into<Value>) -> Self {
                self.spec.attr(key, value);
                self
            }

            /// Runs the future `f` returns inside the span: its `Ok` value is the output,
            /// an `Err` is recorded (exception, status ERROR) and returned.
            pub fn run<F, Fut, T, E>(self, f: F) -> impl Future<Output = Result<T, E>>
            where
                F: FnOnce(SpanHandle) -> Fut,
                Fut: Future<Output = Result<T, E>>,
                T: Serialize,
                E: fmt::Display + fmt::Debug,
            {
                let traced = traced(self.spec, std::convert::identity, f, record_output::<T>);
                async move { traced.await.0 }
            }

            /// Runs `f` inside the span, on this thread.
            pub fn run_sync<F, T, E>(self, f: F) -> Result<T, E>
            where
                F: FnOnce(SpanHandle) -> Result<T, E>,
                T: Serialize,
                E: fmt::Display + fmt::Debug,
            {
                traced_sync(self.spec, std::convert::identity, f, record_output::<T>).0
            }

            /// Starts the span now and leaves it open: see [`Started`].
            pub fn start(self) -> Started<SpanHandle> {
                Started::new(self.spec.start(&opentelemetry::Context::current()))
            }
        }
    };
}

/// A tool call about to run; see [`tool`].
#[derive(Debug)]
#[must_use = "nothing is traced until `run`, `run_sync` or `start`"]
pub struct Tool {
    spec: SpanSpec,
}

/// A tool call: span `execute_tool <name>` with `gen_ai.tool.name`, its call id, arguments
/// (`gen_ai.tool.call.arguments`) and result (`gen_ai.tool.call.result`, the `Ok` value).
///
/// ```
/// let temperature = lemma_sdk::tool("get_weather")
///     .call_id("call_1")
///     .arguments(&serde_json::json!({"city": "Paris"}))
///     .run_sync(|_| Ok::<_, std::io::Error>(21));
/// assert_eq!(temperature.unwrap(), 21);
/// ```
pub fn tool(name: impl Into<String>) -> Tool {
    let name = name.into();
    let mut spec = SpanSpec::new(
        format!("execute_tool {name}"),
        Kind::Tool,
        SpanKind::Internal,
        "tool",
    );
    spec.attr("gen_ai.operation.name", "execute_tool");
    spec.attr("gen_ai.tool.name", name);
    Tool { spec }
}

impl Tool {
    /// The call's arguments: text as is (a JSON string from a model stays one), anything
    /// else as JSON.
    pub fn arguments<T: Serialize + ?Sized>(mut self, arguments: &T) -> Self {
        self.spec.text_attr("gen_ai.tool.call.arguments", arguments);
        self
    }

    /// The id the model gave the call.
    pub fn call_id(mut self, id: impl Into<String>) -> Self {
        self.spec.attr("gen_ai.tool.call.id", id.into());
        self
    }

    /// What the tool does.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.spec
            .attr("gen_ai.tool.description", description.into());
        self
    }
}

runs_recording_output!(Tool);

/// A retrieval about to run; see [`retrieval`].
#[derive(Debug)]
#[must_use = "nothing is traced until `run`, `run_sync` or `start`"]
pub struct Retrieval {
    spec: SpanSpec,
}

/// A retrieval from `source` (a vector store, an index; may be empty): span
/// `retrieval <source>`, the query as input and the documents (the `Ok` value) as output,
/// in `lemma.input`/`lemma.output` and the GenAI `gen_ai.retrieval.*` attributes.
///
/// ```
/// let docs = lemma_sdk::retrieval("kb")
///     .query("refund policy")
///     .run_sync(|_| Ok::<_, std::io::Error>(vec!["Refunds within 30 days."]));
/// assert_eq!(docs.unwrap().len(), 1);
/// ```
pub fn retrieval(source: impl Into<String>) -> Retrieval {
    let source = source.into();
    let name = if source.is_empty() {
        "retrieval".to_string()
    } else {
        format!("retrieval {source}")
    };
    let mut spec = SpanSpec::new(name, Kind::Retrieval, SpanKind::Client, "retrieval");
    spec.attr("gen_ai.operation.name", "retrieval");
    if !source.is_empty() {
        spec.attr("gen_ai.data_source.id", source);
    }
    Retrieval { spec }
}

impl Retrieval {
    /// The query (`lemma.input`, `gen_ai.retrieval.query.text`).
    pub fn query(mut self, query: impl Into<String>) -> Self {
        let query = query.into();
        self.spec.attr("gen_ai.retrieval.query.text", query.clone());
        self.spec.attr("lemma.input", query);
        self
    }
}

runs_recording_output!(Retrieval);

/// A generic span about to run; see [`span`].
#[derive(Debug)]
#[must_use = "nothing is traced until `run`, `run_sync` or `start`"]
pub struct GenericSpan {
    spec: SpanSpec,
}

/// Any other step: span `name` with `lemma.span.kind` (default `span`; also `chain`,
/// `embedding`, `reranker`, `guardrail`, `evaluator`), input `lemma.input` and output
/// `lemma.output` (the `Ok` value).
///
/// ```
/// let plan = lemma_sdk::span("plan")
///     .kind("chain")
///     .input("book a flight")
///     .run_sync(|_| Ok::<_, std::io::Error>(vec!["search", "book"]));
/// assert!(plan.is_ok());
/// ```
pub fn span(name: impl Into<String>) -> GenericSpan {
    GenericSpan {
        spec: SpanSpec::new(name.into(), Kind::Span, SpanKind::Internal, "span"),
    }
}

impl GenericSpan {
    /// The `lemma.span.kind`.
    pub fn kind(mut self, kind: impl Into<String>) -> Self {
        self.spec.lemma_kind = kind.into();
        self
    }

    /// The input (`lemma.input`): text as is, anything else as JSON.
    pub fn input<T: Serialize + ?Sized>(mut self, input: &T) -> Self {
        self.spec.text_attr("lemma.input", input);
        self
    }
}

runs_recording_output!(GenericSpan);

/// A model call about to run; see [`llm`].
#[derive(Debug)]
#[must_use = "nothing is traced until `run`, `run_sync` or `start`"]
pub struct Llm {
    spec: SpanSpec,
}

/// The handle a model call's closure gets: record what the model answered.
#[derive(Clone, Debug)]
pub struct LlmCall(SpanHandle);

impl Deref for LlmCall {
    type Target = SpanHandle;

    fn deref(&self) -> &SpanHandle {
        &self.0
    }
}

impl AsRef<SpanHandle> for LlmCall {
    fn as_ref(&self) -> &SpanHandle {
        &self.0
    }
}

/// A model call: span `chat <model>` with `gen_ai.request.model`, the provider, input and
/// output messages (GenAI parts), token usage and finish reasons.
///
/// Messages may be [`Message`](crate::Message)s, OpenAI-style `{"role", "content"}` values
/// (with `tool_calls`), Anthropic content blocks, or one string (a user message). The
/// closure's return value is not recorded: tell the [`LlmCall`] what the model answered.
///
/// ```
/// use lemma_sdk::{llm, Message};
///
/// let reply = llm("gpt-4o-mini")
///     .provider("openai")
///     .input_messages(&[Message::user("Say hi")])
///     .run_sync(|call| {
///         let text = "Hi!"; // the provider's answer
///         call.output_text(text);
///         call.usage(9, 2);
///         call.finish_reasons(["stop"]);
///         Ok::<_, std::io::Error>(text)
///     });
/// assert_eq!(reply.unwrap(), "Hi!");
/// ```
pub fn llm(model: impl Into<String>) -> Llm {
    let model = model.into();
    let mut spec = SpanSpec::new(format!("chat {model}"), Kind::Llm, SpanKind::Client, "llm");
    spec.attr("gen_ai.operation.name", "chat");
    spec.attr("gen_ai.request.model", model);
    Llm { spec }
}

impl Llm {
    /// The provider (`gen_ai.provider.name`): `openai`, `anthropic`, `aws.bedrock`, ...
    pub fn provider(mut self, provider: impl Into<String>) -> Self {
        self.spec.attr("gen_ai.provider.name", provider.into());
        self
    }

    /// The messages sent (`gen_ai.input.messages`).
    pub fn input_messages<T: Serialize + ?Sized>(mut self, messages: &T) -> Self {
        if let Some(value) = to_json(messages) {
            let messages = messages::to_genai(value, "user");
            self.spec
                .attr("gen_ai.input.messages", messages.to_string());
        }
        self
    }

    /// `gen_ai.request.temperature`.
    pub fn temperature(mut self, temperature: f64) -> Self {
        self.spec.attr("gen_ai.request.temperature", temperature);
        self
    }

    /// `gen_ai.request.max_tokens`.
    pub fn max_tokens(mut self, max_tokens: u32) -> Self {
        self.spec
            .attr("gen_ai.request.max_tokens", i64::from(max_tokens));
        self
    }

    /// Sets one more attribute on the span.
    pub fn attribute(mut self, key: impl Into<Key>, value: impl Into<Value>) -> Self {
        self.spec.attr(key, value);
        self
    }

    /// Runs the future `f` returns inside the span; an `Err` is recorded and returned.
    pub fn run<F, Fut, T, E>(self, f: F) -> impl Future<Output = Result<T, E>>
    where
        F: FnOnce(LlmCall) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: fmt::Display + fmt::Debug,
    {
        let traced = traced(self.spec, LlmCall, f, ignore_output::<T>);
        async move { traced.await.0 }
    }

    /// Runs `f` inside the span, on this thread.
    pub fn run_sync<F, T, E>(self, f: F) -> Result<T, E>
    where
        F: FnOnce(LlmCall) -> Result<T, E>,
        E: fmt::Display + fmt::Debug,
    {
        traced_sync(self.spec, LlmCall, f, ignore_output::<T>).0
    }

    /// Starts the span now and leaves it open, for a streamed answer: see [`Started`].
    pub fn start(self) -> Started<LlmCall> {
        Started::new(LlmCall(self.spec.start(&opentelemetry::Context::current())))
    }
}

fn ignore_output<T>(_: &SpanHandle, _: &T) {}

impl LlmCall {
    /// The messages the model answered (`gen_ai.output.messages`).
    pub fn output_messages<T: Serialize + ?Sized>(&self, messages: &T) {
        self.0.set_output(messages);
    }

    /// The model's answer as one assistant text message.
    pub fn output_text(&self, text: &str) {
        self.0.set_output(text);
    }

    /// Token usage: `gen_ai.usage.input_tokens` (cached tokens included) and
    /// `gen_ai.usage.output_tokens`.
    pub fn usage(&self, input_tokens: u64, output_tokens: u64) {
        self.set_attribute("gen_ai.usage.input_tokens", saturate(input_tokens));
        self.set_attribute("gen_ai.usage.output_tokens", saturate(output_tokens));
    }

    /// Cached input tokens read (`gen_ai.usage.cache_read.input_tokens`).
    pub fn cache_read_tokens(&self, tokens: u64) {
        self.set_attribute("gen_ai.usage.cache_read.input_tokens", saturate(tokens));
    }

    /// Why the model stopped (`gen_ai.response.finish_reasons`), e.g. `["stop"]`.
    pub fn finish_reasons<I, S>(&self, reasons: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let reasons: Vec<StringValue> = reasons.into_iter().map(|r| r.into().into()).collect();
        self.set_attribute(
            "gen_ai.response.finish_reasons",
            Value::Array(Array::String(reasons)),
        );
    }

    /// The model that answered (`gen_ai.response.model`), when it differs from the request.
    pub fn response_model(&self, model: impl Into<String>) {
        self.set_attribute("gen_ai.response.model", model.into());
    }

    /// The provider's response id (`gen_ai.response.id`).
    pub fn response_id(&self, id: impl Into<String>) {
        self.set_attribute("gen_ai.response.id", id.into());
    }
}

fn saturate(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
