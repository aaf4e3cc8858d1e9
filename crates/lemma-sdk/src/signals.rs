//! A run's signals, asked for by the run itself ([`Run::signals`](crate::Run::signals)): what
//! Lemma finds worth a look in it so far (a streak of failed calls, a loop, a classifier's
//! flag, ...), so an agent can stop or escalate while it runs.
//!
//! `GET /api/v1/runs/{run_id}/signals` evaluates the spans Lemma has. Spans still waiting in
//! the exporter's batch are not among them, so the spans that ended are flushed first.

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::{json_answer, Target};
use crate::config::Config;
use crate::setup::flush_exports;
use crate::Error;

/// How much a signal asks for attention; ordered, so `severity >= Severity::Warning` works.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Worth a look.
    Warning,
    /// Something is wrong: stop, or escalate.
    Critical,
}

/// What found a signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum SignalSource {
    /// One of Lemma's rules over the run's spans.
    Rule,
    /// A mark an app or classifier wrote on a span (`lemma.signal.<name>`, ...).
    Attribute,
    /// An evaluation result.
    Evaluation,
}

/// One thing worth a look in a run, as Lemma found it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// What it is: `error_streak`, `tool_failing`, `loop`, `stalled`, ..., or the `<name>` of
    /// a `lemma.signal.<name>` attribute an app or classifier wrote on a span.
    pub kind: String,
    /// How much it asks for attention.
    pub severity: Severity,
    /// What found it.
    pub source: SignalSource,
    /// The span it points at (the first of a repeated stretch), when one span stands for it.
    #[serde(default)]
    pub span_id: Option<String>,
    /// One sentence for a person, with the numbers that made it a signal.
    #[serde(default)]
    pub explanation: String,
    /// A classifier's or evaluator's score, when it gave one.
    #[serde(default)]
    pub score: Option<f64>,
    /// A classifier's or evaluator's label, when it gave one.
    #[serde(default)]
    pub label: Option<String>,
    /// Consecutive repeats (loops, cycles, streaks) or occurrences counted; 0 when not counted.
    #[serde(default)]
    pub repeats: u32,
    /// For loops: the tool called again and again.
    #[serde(default)]
    pub tool_name: Option<String>,
    /// For loops: the arguments it was called with.
    #[serde(default)]
    pub tool_args: Option<Value>,
    /// For loops: the first call's position among the run's tool calls, from 0.
    #[serde(default)]
    pub first_tool_index: u32,
    /// For loops: the first call's span.
    #[serde(default)]
    pub first_span_id: Option<String>,
}

/// A run's signals as of when Lemma was asked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSignals {
    /// The run.
    pub run_id: String,
    /// The run's root span has not arrived: the run is still going (or was cut off).
    pub in_progress: bool,
    /// The spans Lemma had of the run when it evaluated it.
    pub span_count: u64,
    /// When Lemma read the run's spans for this answer (RFC 3339).
    pub evaluated_at: String,
    /// Most severe first.
    pub signals: Vec<Signal>,
}

impl RunSignals {
    /// The critical signals: `if let Some(s) = answer.critical().next() { escalate(s) }`.
    pub fn critical(&self) -> impl Iterator<Item = &Signal> {
        self.signals
            .iter()
            .filter(|s| s.severity == Severity::Critical)
    }
}

/// A question for a run's signals, about to be asked; see [`Run::signals`](crate::Run::signals).
#[derive(Clone, Debug)]
#[must_use = "nothing is asked until it is awaited, or `send_blocking`"]
pub struct SignalsRequest {
    run_id: String,
    target: Target,
}

impl SignalsRequest {
    pub(crate) fn new(run_id: impl Into<String>) -> SignalsRequest {
        SignalsRequest {
            run_id: run_id.into(),
            target: Target::Default,
        }
    }

    /// Asks the server `config` names (its URL, key and timeout) instead of the default. An
    /// invalid URL is reported when asking.
    pub fn config(mut self, config: &Config) -> Self {
        self.target = Target::from_config(config);
        self
    }

    /// Flushes the spans that ended, then asks (what awaiting the request does). Needs a
    /// tokio runtime (reqwest's async client); the flush waits on a blocking thread.
    pub async fn send(self) -> Result<RunSignals, Error> {
        let target = self.target.resolve()?;
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let _ = runtime.spawn_blocking(flush_exports).await;
            }
            Err(_) => flush_exports(),
        }
        let url = target.api_url(&["runs", &self.run_id, "signals"]);
        let (status, body) = target.send(Method::GET, &url, None).await?;
        json_answer(status, &body)
    }

    /// [`send`](Self::send) for code that is not async. It blocks the calling thread, so do
    /// not call it on an async runtime's thread.
    pub fn send_blocking(self) -> Result<RunSignals, Error> {
        let target = self.target.resolve()?;
        flush_exports();
        let url = target.api_url(&["runs", &self.run_id, "signals"]);
        let (status, body) = target.send_blocking(Method::GET, &url, None)?;
        json_answer(status, &body)
    }
}

impl IntoFuture for SignalsRequest {
    type Output = Result<RunSignals, Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_answer_reads_into_signals_with_the_critical_ones() {
        let body = json!({
            "run_id": "4bf92f3577b34da6a3ce929d0e0e4736", "in_progress": true, "span_count": 4,
            "evaluated_at": "2026-12-06T22:00:00Z",
            "signals": [
                {"kind": "error_streak", "severity": "critical", "source": "rule",
                 "span_id": "00f067aa0ba902b7", "explanation": "3 calls in a row failed",
                 "tool_name": null, "tool_args": null, "repeats": 3, "first_tool_index": 0,
                 "first_span_id": null},
                {"kind": "toxicity", "severity": "warning", "source": "attribute",
                 "explanation": "scored 0.7", "score": 0.7, "label": "rude",
                 "tool_name": null, "tool_args": null, "repeats": 0, "first_tool_index": 0,
                 "first_span_id": null}
            ]
        });
        let read: RunSignals = json_answer(200, body.to_string().as_bytes()).unwrap();
        assert!(read.in_progress);
        assert_eq!(read.span_count, 4);
        let [streak, marked] = &read.signals[..] else {
            panic!("{read:?}")
        };
        assert_eq!(
            (streak.severity, streak.source),
            (Severity::Critical, SignalSource::Rule)
        );
        assert_eq!(streak.span_id.as_deref(), Some("00f067aa0ba902b7"));
        assert_eq!((streak.score, streak.repeats), (None, 3));
        assert_eq!(
            (marked.score, marked.label.as_deref()),
            (Some(0.7), Some("rude"))
        );
        assert_eq!(marked.span_id, None);
        assert!(marked.severity < Severity::Critical);
        let critical: Vec<&str> = read.critical().map(|s| s.kind.as_str()).collect();
        assert_eq!(critical, ["error_streak"]);
    }

    #[test]
    fn a_refusal_carries_the_servers_reason() {
        let body = json!({"error": {"code": "not_found", "message": "run 4bf9 not found"}});
        let error = json_answer::<RunSignals>(404, body.to_string().as_bytes()).unwrap_err();
        assert!(
            matches!(&error, Error::Api { status: 404, code, .. } if code == "not_found"),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            "Lemma answered HTTP 404: run 4bf9 not found"
        );
    }
}
