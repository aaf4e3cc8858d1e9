//! What every helper shares: starting a span under the current context, running a closure or
//! future inside it, recording its result or error, and ending it.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use opentelemetry::context::{FutureExt, WithContext};
use opentelemetry::global::{self, BoxedTracer};
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer, TracerProvider};
use opentelemetry::{Context, InstrumentationScope, Key, KeyValue, Value};
use serde::Serialize;

use crate::context::{with_run_context, RunContext};
use crate::messages;
use crate::value::{to_json, to_text};

/// What a span records its output as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Agent,
    Tool,
    Llm,
    Retrieval,
    Span,
}

/// The ID of a run: its trace id as 32 lowercase hex characters, the ID Lemma's API and
/// dashboard use (`GET /api/v1/runs/{run_id}`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RunId(String);

impl RunId {
    /// The 32 hex characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// All zeros when tracing is off (no [`init`](crate::init) and no global provider).
    pub fn is_valid(&self) -> bool {
        self.0.bytes().any(|b| b != b'0')
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<RunId> for String {
    fn from(id: RunId) -> String {
        id.0
    }
}

impl AsRef<str> for RunId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for RunId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for RunId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

#[derive(Debug, Default)]
struct Flags {
    /// `set_output` was called: the return value does not replace it.
    output_set: AtomicBool,
    /// An exception is recorded: a returned error is not recorded twice.
    failed: AtomicBool,
}

/// A span in progress, handed to the closure of a helper's `run` (or returned by `start`).
/// Cheap to clone; every clone records on the same span.
#[derive(Clone, Debug)]
pub struct SpanHandle {
    cx: Context,
    kind: Kind,
    flags: Arc<Flags>,
}

impl SpanHandle {
    /// The run this span belongs to.
    pub fn run_id(&self) -> RunId {
        RunId(self.cx.span().span_context().trace_id().to_string())
    }

    /// This span's id, 16 hex characters.
    pub fn span_id(&self) -> String {
        self.cx.span().span_context().span_id().to_string()
    }

    /// The context with this span current: pass it to work that should nest under the span
    /// (`fut.with_context(cx)`), or to [`inject_headers_from`](crate::inject_headers_from).
    pub fn context(&self) -> Context {
        self.cx.clone()
    }

    /// Records `output` as the span's output now; the closure's return value then does not
    /// replace it. Text is written as is, anything else as JSON.
    pub fn set_output<T: Serialize + ?Sized>(&self, output: &T) {
        self.write_output(output);
        self.flags.output_set.store(true, Ordering::SeqCst);
    }

    /// Sets one attribute on the span.
    pub fn set_attribute(&self, key: impl Into<Key>, value: impl Into<Value>) {
        self.cx.span().set_attribute(KeyValue::new(key, value));
    }

    /// Marks the span as failed with `error`: an `exception` event (type, message, and the
    /// `Debug` form as the stack trace) and status ERROR with the message. The span goes on
    /// until its closure returns.
    pub fn fail<E: fmt::Display + fmt::Debug + ?Sized>(&self, error: &E) {
        let message = error.to_string();
        self.record_exception(std::any::type_name::<E>(), &message, &format!("{error:?}"));
    }

    /// Runs `f` with this span as the current one, so spans it starts nest under it.
    pub fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        let _guard = self.cx.clone().attach();
        f()
    }

    /// `future`, run with this span as the current one.
    pub fn instrument<F: Future>(&self, future: F) -> WithContext<F> {
        future.with_context(self.cx.clone())
    }

    pub(crate) fn write_output<T: Serialize + ?Sized>(&self, output: &T) {
        let span = self.cx.span();
        match self.kind {
            Kind::Agent => {
                if let Some(text) = to_text(output) {
                    span.set_attribute(KeyValue::new("ai.agent.output", text));
                }
            }
            Kind::Tool => {
                if let Some(text) = to_text(output) {
                    span.set_attribute(KeyValue::new("gen_ai.tool.call.result", text));
                }
            }
            Kind::Retrieval => {
                if let Some(text) = to_text(output) {
                    span.set_attribute(KeyValue::new("gen_ai.retrieval.documents", text.clone()));
                    span.set_attribute(KeyValue::new("lemma.output", text));
                }
            }
            Kind::Span => {
                if let Some(text) = to_text(output) {
                    span.set_attribute(KeyValue::new("lemma.output", text));
                }
            }
            Kind::Llm => {
                if let Some(value) = to_json(output) {
                    let messages = messages::to_genai(value, "assistant");
                    span.set_attribute(KeyValue::new(
                        "gen_ai.output.messages",
                        messages.to_string(),
                    ));
                }
            }
        }
    }

    /// Records what a closure returned: its value as the output unless one was set, its
    /// error as an exception unless one was recorded.
    fn record_result<T, E: fmt::Display + fmt::Debug>(
        &self,
        result: &Result<T, E>,
        record: fn(&SpanHandle, &T),
    ) {
        match result {
            Ok(value) if !self.flags.output_set.load(Ordering::SeqCst) => record(self, value),
            Ok(_) => {}
            Err(error) if !self.flags.failed.load(Ordering::SeqCst) => self.fail(error),
            Err(_) => {}
        }
    }

    fn record_exception(&self, kind: &str, message: &str, stacktrace: &str) {
        self.flags.failed.store(true, Ordering::SeqCst);
        let span = self.cx.span();
        span.add_event(
            "exception",
            vec![
                KeyValue::new("exception.type", kind.to_string()),
                KeyValue::new("exception.message", message.to_string()),
                KeyValue::new("exception.stacktrace", stacktrace.to_string()),
            ],
        );
        span.set_status(Status::error(message.to_string()));
    }

    pub(crate) fn end(&self) {
        self.cx.span().end();
    }
}

impl AsRef<SpanHandle> for SpanHandle {
    fn as_ref(&self) -> &SpanHandle {
        self
    }
}

/// Records the return value as the output (the `record` of most helpers).
pub(crate) fn record_output<T: Serialize>(span: &SpanHandle, value: &T) {
    span.write_output(value);
}

/// Ends the span when dropped: after the closure, or when its future is dropped unfinished,
/// or while a panic unwinds (then the span is marked failed).
struct EndOnDrop(SpanHandle);

impl Drop for EndOnDrop {
    fn drop(&mut self) {
        if std::thread::panicking() && !self.0.flags.failed.load(Ordering::SeqCst) {
            self.0.record_exception("panic", "panicked", "");
        }
        self.0.end();
    }
}

/// A span about to start: name, kind and attributes, and the run context it sets.
#[derive(Debug)]
pub(crate) struct SpanSpec {
    pub(crate) name: Cow<'static, str>,
    pub(crate) kind: Kind,
    pub(crate) otel_kind: SpanKind,
    pub(crate) lemma_kind: String,
    pub(crate) attributes: Vec<KeyValue>,
    pub(crate) run_context: RunContext,
}

impl SpanSpec {
    pub(crate) fn new(
        name: impl Into<Cow<'static, str>>,
        kind: Kind,
        otel_kind: SpanKind,
        lemma_kind: &str,
    ) -> Self {
        SpanSpec {
            name: name.into(),
            kind,
            otel_kind,
            lemma_kind: lemma_kind.to_string(),
            attributes: Vec::new(),
            run_context: RunContext::default(),
        }
    }

    pub(crate) fn attr(&mut self, key: impl Into<Key>, value: impl Into<Value>) {
        self.attributes.push(KeyValue::new(key, value));
    }

    /// Sets `key` to the text of `value` (skipped if it does not serialize).
    pub(crate) fn text_attr<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) {
        if let Some(text) = to_text(value) {
            self.attr(key, text);
        }
    }

    /// Starts the span as a child of `parent`.
    pub(crate) fn start(self, parent: &Context) -> SpanHandle {
        let parent = with_run_context(parent, &self.run_context);
        let tracer = tracer();
        let mut attributes = self.attributes;
        attributes.insert(0, KeyValue::new("lemma.span.kind", self.lemma_kind));
        let span = tracer
            .span_builder(self.name)
            .with_kind(self.otel_kind)
            .with_attributes(attributes)
            .start_with_context(&tracer, &parent);
        SpanHandle {
            cx: parent.with_span(span),
            kind: self.kind,
            flags: Arc::default(),
        }
    }
}

/// The global provider's tracer, asked for each time so that a provider installed later
/// (or replaced) is the one used.
fn tracer() -> BoxedTracer {
    static SCOPE: OnceLock<InstrumentationScope> = OnceLock::new();
    let scope = SCOPE.get_or_init(|| {
        InstrumentationScope::builder("lemma-sdk")
            .with_version(env!("CARGO_PKG_VERSION"))
            .build()
    });
    global::tracer_provider().tracer_with_scope(scope.clone())
}

/// Runs `f`'s future inside a new span under the context current now (when the future is
/// created, not when it is first polled), records its result and ends the span.
pub(crate) fn traced<H, F, Fut, T, E>(
    spec: SpanSpec,
    handle: fn(SpanHandle) -> H,
    f: F,
    record: fn(&SpanHandle, &T),
) -> impl Future<Output = (Result<T, E>, RunId)>
where
    F: FnOnce(H) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: fmt::Display + fmt::Debug,
{
    let parent = Context::current();
    async move {
        let span = spec.start(&parent);
        let end = EndOnDrop(span.clone());
        // Creating the future runs code too (an `async` closure's prologue, a sync prefix).
        let future = span.in_scope(|| f(handle(span.clone())));
        let result = future.with_context(span.context()).await;
        span.record_result(&result, record);
        drop(end);
        (result, span.run_id())
    }
}

/// [`traced`] for a closure that returns at once.
pub(crate) fn traced_sync<H, F, T, E>(
    spec: SpanSpec,
    handle: fn(SpanHandle) -> H,
    f: F,
    record: fn(&SpanHandle, &T),
) -> (Result<T, E>, RunId)
where
    F: FnOnce(H) -> Result<T, E>,
    E: fmt::Display + fmt::Debug,
{
    let span = spec.start(&Context::current());
    let end = EndOnDrop(span.clone());
    let result = span.in_scope(|| f(handle(span.clone())));
    span.record_result(&result, record);
    drop(end);
    (result, span.run_id())
}

/// A span started with a helper's `start()`: it stays open, outside any closure, until
/// [`complete`](Started::complete), [`fail`](Started::fail), [`end`](Started::end) or drop.
/// For streaming: the recorded duration and output then cover the whole stream.
///
/// It is not the current span: run nested work with [`SpanHandle::in_scope`] or
/// [`SpanHandle::instrument`].
///
/// ```
/// let run = lemma_sdk::agent("writer").input("a haiku about rust").start();
/// let mut text = String::new();
/// for chunk in ["Borrowed ", "light ", "returns"] {
///     text.push_str(chunk); // as a model streams it
/// }
/// run.complete(&text); // ends the span now, with the whole text as the output
/// ```
#[derive(Debug)]
#[must_use = "the span ends when this is dropped"]
pub struct Started<H: AsRef<SpanHandle>> {
    handle: H,
}

impl<H: AsRef<SpanHandle>> Started<H> {
    pub(crate) fn new(handle: H) -> Self {
        Started { handle }
    }

    pub(crate) fn span(&self) -> &SpanHandle {
        self.handle.as_ref()
    }

    /// Records `output` and ends the span.
    pub fn complete<T: Serialize + ?Sized>(self, output: &T) {
        self.handle.as_ref().set_output(output);
    }

    /// Records `error` (exception event, status ERROR) and ends the span.
    pub fn fail<E: fmt::Display + fmt::Debug + ?Sized>(self, error: &E) {
        self.handle.as_ref().fail(error);
    }

    /// Ends the span with what was recorded so far.
    pub fn end(self) {}

    /// Wraps `stream` so that the span ends when the stream does: the text of its items
    /// (see [`StreamItem`](crate::StreamItem)) becomes the output, an `Err` item fails the
    /// span. Polled with this span current, so work done while polling nests under it.
    pub fn wrap_stream<S>(self, stream: S) -> crate::stream::TracedStream<S, H> {
        crate::stream::TracedStream::new(stream, self)
    }
}

impl<H: AsRef<SpanHandle>> Deref for Started<H> {
    type Target = H;

    fn deref(&self) -> &H {
        &self.handle
    }
}

impl<H: AsRef<SpanHandle>> Drop for Started<H> {
    fn drop(&mut self) {
        self.handle.as_ref().end();
    }
}
