//! `agent()`: the root span of a run, or a sub-agent inside one.

use std::fmt;
use std::future::Future;
use std::ops::Deref;

use opentelemetry::trace::SpanKind;
use opentelemetry::{Key, Value};
use serde::Serialize;

use crate::metric::{MetricRequest, MetricValue};
use crate::signals::SignalsRequest;
use crate::span::{record_output, traced, traced_sync, Kind, RunId, SpanHandle, SpanSpec, Started};
use crate::value::to_text;

/// The handle an agent's closure gets: the run's ID, and ways to record on the agent span
/// (through [`SpanHandle`]: `set_output`, `fail`, `set_attribute`, `context`).
#[derive(Clone, Debug)]
pub struct Run(SpanHandle);

impl Deref for Run {
    type Target = SpanHandle;

    fn deref(&self) -> &SpanHandle {
        &self.0
    }
}

impl Run {
    /// Starts a metric event for this run (see [`metric`](crate::metric)); nothing is sent
    /// until `send().await` or `send_blocking()`.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
    /// let (reply, _run_id) = lemma_sdk::agent("support_agent")
    ///     .run(|run| async move {
    ///         let reply = "It has shipped.";
    ///         run.metric("answered", true).send().await?;
    ///         Ok::<_, lemma_sdk::Error>(reply)
    ///     })
    ///     .await;
    /// # reply?; Ok(()) }
    /// ```
    pub fn metric(&self, name: impl Into<String>, value: impl Into<MetricValue>) -> MetricRequest {
        crate::metric::metric(self.run_id(), name, value)
    }

    /// What Lemma finds worth a look in this run so far (a streak of failed calls, a loop, a
    /// classifier's flag, ...), most severe first, so the agent can stop or escalate. Await
    /// it (or `send_blocking()` in code that is not async).
    ///
    /// Spans that ended are flushed to Lemma first, so they count; spans still open (this
    /// run's own, until it ends) do not. Any key of the project may ask, an ingest key too.
    /// Lemma's refusal comes back as [`Error::Api`](crate::Error::Api): 404 while it has no
    /// span of the run (none has ended yet), 401 for a wrong key.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
    /// let (reply, _run_id) = lemma_sdk::agent("support_agent")
    ///     .run(|run| async move {
    ///         // ... a tool call failed again ...
    ///         if let Some(worst) = run.signals().await?.critical().next() {
    ///             return Ok(format!("Passing you to a person: {}", worst.explanation));
    ///         }
    ///         Ok::<_, lemma_sdk::Error>("It has shipped.".to_string())
    ///     })
    ///     .await;
    /// # reply?; Ok(()) }
    /// ```
    pub fn signals(&self) -> SignalsRequest {
        SignalsRequest::new(self.run_id().as_str())
    }
}

impl AsRef<SpanHandle> for Run {
    fn as_ref(&self) -> &SpanHandle {
        &self.0
    }
}

/// An agent run about to start; see [`agent`].
#[derive(Debug)]
#[must_use = "nothing is traced until `run`, `run_sync` or `start`"]
pub struct Agent {
    spec: SpanSpec,
}

/// An agent run: span `ai.agent.run` with `lemma.agent.name` and the GenAI `invoke_agent`
/// attributes, its input and output. Called inside another run, it is a sub-agent of it.
///
/// The closure's `Ok` value becomes the output (text as is, anything else as JSON); an
/// `Err` is recorded as an exception with status ERROR and returned unchanged, together
/// with the [`RunId`].
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use lemma_sdk::{agent, tool};
///
/// let question = "Where is order 42?";
/// let (answer, run_id) = agent("support_agent")
///     .input(question)
///     .thread_id("conversation-7")
///     .user_id("user-1")
///     .run(|run| async move {
///         let status = tool("lookup_order")
///             .arguments(&serde_json::json!({"order": 42}))
///             .run(|_| async { Ok::<_, std::io::Error>("shipped") })
///             .await?;
///         Ok::<_, std::io::Error>(format!("Order 42 is {status}."))
///     })
///     .await;
/// assert_eq!(answer.unwrap(), "Order 42 is shipped.");
/// println!("run {run_id}");
/// # });
/// ```
pub fn agent(name: impl Into<String>) -> Agent {
    let name = name.into();
    let mut spec = SpanSpec::new("ai.agent.run", Kind::Agent, SpanKind::Internal, "agent");
    spec.attr("lemma.agent.name", name.clone());
    spec.attr("gen_ai.operation.name", "invoke_agent");
    spec.attr("gen_ai.agent.name", name);
    Agent { spec }
}

impl Agent {
    /// The run's input (`ai.agent.input`): text as is, anything else as JSON.
    pub fn input<T: Serialize + ?Sized>(mut self, input: &T) -> Self {
        self.spec.text_attr("ai.agent.input", input);
        self
    }

    /// The conversation this run belongs to: runs with one thread id form one thread.
    pub fn thread_id(mut self, id: impl Into<String>) -> Self {
        self.spec.run_context.thread_id = Some(id.into());
        self
    }

    /// The end user the run serves.
    pub fn user_id(mut self, id: impl Into<String>) -> Self {
        self.spec.run_context.user_id = Some(id.into());
        self
    }

    /// The session the run belongs to.
    pub fn session_id(mut self, id: impl Into<String>) -> Self {
        self.spec.run_context.session_id = Some(id.into());
        self
    }

    /// The deployment environment, instead of [`Config::environment`](crate::Config::environment).
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.spec.run_context.environment = Some(environment.into());
        self
    }

    /// Adds a tag (`lemma.tags`).
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        let tag = tag.into();
        if !self.spec.run_context.tags.contains(&tag) {
            self.spec.run_context.tags.push(tag);
        }
        self
    }

    /// Adds tags.
    pub fn tags<I, S>(self, tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        tags.into_iter().fold(self, Agent::tag)
    }

    /// Sets `lemma.metadata.<key>`: text as is, anything else as JSON.
    pub fn metadata<T: Serialize + ?Sized>(mut self, key: impl Into<String>, value: &T) -> Self {
        if let Some(text) = to_text(value) {
            self.spec.run_context.metadata.insert(key.into(), text);
        }
        self
    }

    /// Sets one more attribute on the agent span (not propagated to its children).
    pub fn attribute(mut self, key: impl Into<Key>, value: impl Into<Value>) -> Self {
        self.spec.attr(key, value);
        self
    }

    /// Runs the future `f` returns inside the agent span. The parent is the context current
    /// when `run` is called.
    pub fn run<F, Fut, T, E>(self, f: F) -> impl Future<Output = (Result<T, E>, RunId)>
    where
        F: FnOnce(Run) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        T: Serialize,
        E: fmt::Display + fmt::Debug,
    {
        traced(self.spec, Run, f, record_output::<T>)
    }

    /// Runs `f` inside the agent span, on this thread.
    ///
    /// ```
    /// let (reply, run_id) = lemma_sdk::agent("echo")
    ///     .input("hi")
    ///     .run_sync(|_run| Ok::<_, std::fmt::Error>("hi back"));
    /// assert_eq!(reply, Ok("hi back"));
    /// assert_eq!(run_id.as_str().len(), 32);
    /// ```
    pub fn run_sync<F, T, E>(self, f: F) -> (Result<T, E>, RunId)
    where
        F: FnOnce(Run) -> Result<T, E>,
        T: Serialize,
        E: fmt::Display + fmt::Debug,
    {
        traced_sync(self.spec, Run, f, record_output::<T>)
    }

    /// Starts the agent span now and leaves it open (streaming): see [`Started`].
    pub fn start(self) -> Started<Run> {
        let span = self.spec.start(&opentelemetry::Context::current());
        Started::new(Run(span))
    }
}
