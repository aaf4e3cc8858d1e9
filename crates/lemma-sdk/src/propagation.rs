//! Carrying a run to another process or service: W3C `traceparent`, `tracestate` and
//! `baggage` (which holds the run context), in HTTP headers or environment variables.

use std::collections::HashMap;

use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator};
use opentelemetry::{Context, ContextGuard};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

/// The variables [`context_env`] sets and [`continue_from_env`] reads.
const ENV_VARS: [(&str, &str); 3] = [
    ("traceparent", "TRACEPARENT"),
    ("tracestate", "TRACESTATE"),
    ("baggage", "BAGGAGE"),
];

/// W3C trace context plus baggage, the pair Lemma's SDKs speak.
pub(crate) fn propagator() -> TextMapCompositePropagator {
    TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ])
}

/// The current span and run context as HTTP headers (`traceparent`, `tracestate`,
/// `baggage`), to send along with a request to another service.
///
/// ```
/// let headers = lemma_sdk::inject_headers();
/// // e.g. request.headers(headers) with your HTTP client; empty outside any span
/// assert!(headers.get("traceparent").is_none());
/// ```
pub fn inject_headers() -> HashMap<String, String> {
    inject_headers_from(&Context::current())
}

/// [`inject_headers`] for a given context, e.g. [`SpanHandle::context`](crate::SpanHandle::context).
pub fn inject_headers_from(cx: &Context) -> HashMap<String, String> {
    let mut headers = HashMap::new();
    propagator().inject_context(cx, &mut headers);
    headers
}

/// The current span and run context as environment variables `TRACEPARENT`, `TRACESTATE`
/// and `BAGGAGE`, for a child process; there [`continue_from_env`] picks them up.
///
/// ```no_run
/// let status = std::process::Command::new("./worker")
///     .envs(lemma_sdk::context_env())
///     .status()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn context_env() -> Vec<(String, String)> {
    let headers = inject_headers();
    ENV_VARS
        .iter()
        .filter_map(|(header, var)| Some((var.to_string(), headers.get(*header)?.clone())))
        .collect()
}

/// The context `carrier` describes (header names in any case, `TRACEPARENT` too), to run a
/// future in: `fut.with_context(cx)` (see [`opentelemetry::context::FutureExt`]).
pub fn extract_context<K, V, S>(carrier: &HashMap<K, V, S>) -> Context
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    let lowered: HashMap<String, String> = carrier
        .iter()
        .map(|(k, v)| (k.as_ref().to_ascii_lowercase(), v.as_ref().to_string()))
        .collect();
    propagator().extract(&lowered)
}

/// Continues the trace `carrier` describes on this thread until the guard drops: spans
/// started meanwhile (an `agent()` run, say) nest under the caller's span, with its run
/// context.
///
/// ```
/// use std::collections::HashMap;
///
/// let headers: HashMap<String, String> = HashMap::from([(
///     "traceparent".to_string(),
///     "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_string(),
/// )]);
/// let _guard = lemma_sdk::continue_from(&headers);
/// // lemma_sdk::agent("worker").run_sync(...) is now part of trace 0af76519...
/// ```
#[must_use = "the trace is continued only while the guard lives"]
pub fn continue_from<K, V, S>(carrier: &HashMap<K, V, S>) -> ContextGuard
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    extract_context(carrier).attach()
}

/// The context [`context_env`] passed to this process, from `TRACEPARENT`, `TRACESTATE` and
/// `BAGGAGE`; empty when they are not set.
pub fn env_context() -> Context {
    let carrier: HashMap<&str, String> = ENV_VARS
        .iter()
        .filter_map(|(header, var)| Some((*header, std::env::var(var).ok()?)))
        .collect();
    extract_context(&carrier)
}

/// [`continue_from`] with the variables [`context_env`] set, in a child process.
///
/// ```no_run
/// let _guard = lemma_sdk::continue_from_env();
/// ```
#[must_use = "the trace is continued only while the guard lives"]
pub fn continue_from_env() -> ContextGuard {
    env_context().attach()
}
