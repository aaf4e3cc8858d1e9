//! Metric events: feedback, task success or a score, posted to a run over Lemma's REST API
//! (`POST /api/v1/runs/{run_id}/metrics`), at once and not through the span export. The run
//! ID is known as soon as a run starts, so an event may be sent before the run's spans.

use reqwest::{Method, Url};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::{api_error, ApiTarget, Target};
use crate::config::Config;
use crate::Error;

/// A metric's value: a number, a boolean or a text.
///
/// ```
/// use lemma_sdk::MetricValue;
///
/// assert_eq!(MetricValue::from(4), MetricValue::Number(4.0));
/// assert_eq!(MetricValue::from(true), MetricValue::Bool(true));
/// assert_eq!(MetricValue::from("refund"), MetricValue::Text("refund".into()));
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MetricValue {
    /// A finite number, e.g. a score.
    Number(f64),
    /// Yes or no, e.g. whether the task succeeded.
    Bool(bool),
    /// A label, at most 1,000 characters.
    Text(String),
}

macro_rules! number_from {
    ($($t:ty),*) => {$(
        impl From<$t> for MetricValue {
            fn from(n: $t) -> Self {
                MetricValue::Number(f64::from(n))
            }
        }
    )*};
}
number_from!(f64, f32, i8, i16, i32, u8, u16, u32);

// Wider integers may round: the server stores numbers as f64.
impl From<i64> for MetricValue {
    fn from(n: i64) -> Self {
        MetricValue::Number(n as f64)
    }
}

impl From<u64> for MetricValue {
    fn from(n: u64) -> Self {
        MetricValue::Number(n as f64)
    }
}

impl From<bool> for MetricValue {
    fn from(b: bool) -> Self {
        MetricValue::Bool(b)
    }
}

impl From<&str> for MetricValue {
    fn from(text: &str) -> Self {
        MetricValue::Text(text.to_string())
    }
}

impl From<String> for MetricValue {
    fn from(text: String) -> Self {
        MetricValue::Text(text)
    }
}

/// A metric event as Lemma stored it (METRIC in the API).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// Its ID, unique within the project.
    pub id: String,
    /// The run it belongs to.
    pub run_id: String,
    /// The span it is about, if one was named.
    #[serde(default)]
    pub span_id: Option<String>,
    /// Its name, e.g. `resolved` or `quality`.
    pub name: String,
    /// Its value.
    pub value: MetricValue,
    /// A free-text comment.
    #[serde(default)]
    pub comment: Option<String>,
    /// Who produced it: `sdk` unless told otherwise.
    #[serde(default)]
    pub source: Option<String>,
    /// When the server received it, in nanoseconds since the Unix epoch.
    pub time_unix_nano: u64,
}

impl ApiTarget {
    /// `{base}/api/v1/runs/{run_id}/metrics`, the run ID escaped as a path segment.
    fn metrics_url(&self, run_id: &str) -> Url {
        self.api_url(&["runs", run_id, "metrics"])
    }
}

/// Starts a metric event for run `run_id`: `name` (1–128 letters, digits, `_`, `-`, `.` or
/// `:`) and `value` (a number, a boolean or a text). Nothing is sent until
/// [`send`](MetricRequest::send) (or [`send_blocking`](MetricRequest::send_blocking)),
/// which returns the event as stored, or the server's reason for refusing it.
///
/// It goes to the server of [`init`](crate::init) (or [`span_processor`](crate::span_processor)),
/// else to `LEMMA_URL` with `LEMMA_API_KEY`. Inside a run, [`Run::metric`](crate::Run::metric)
/// fills in the run ID.
///
/// ```no_run
/// # async fn feedback(run_id: lemma_sdk::RunId) -> Result<(), lemma_sdk::Error> {
/// let stored = lemma_sdk::metric(&run_id, "helpful", false)
///     .comment("missed the refund rule")
///     .source("user")
///     .send()
///     .await?;
/// println!("stored as {}", stored.id);
/// # Ok(()) }
/// ```
pub fn metric(
    run_id: impl AsRef<str>,
    name: impl Into<String>,
    value: impl Into<MetricValue>,
) -> MetricRequest {
    MetricRequest {
        run_id: run_id.as_ref().to_string(),
        body: Body {
            name: name.into(),
            value: value.into(),
            comment: None,
            source: Some("sdk".to_string()),
            span_id: None,
        },
        target: Target::Default,
    }
}

/// The JSON posted: `{"name", "value", "comment"?, "source"?, "span_id"?}`.
#[derive(Clone, Debug, Serialize)]
struct Body {
    name: String,
    value: MetricValue,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    span_id: Option<String>,
}

/// A metric event about to be sent; see [`metric`].
#[derive(Clone, Debug)]
#[must_use = "nothing is sent until `send` or `send_blocking`"]
pub struct MetricRequest {
    run_id: String,
    body: Body,
    target: Target,
}

impl MetricRequest {
    /// A free-text comment (at most 4,000 characters), e.g. what the user wrote.
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.body.comment = Some(comment.into());
        self
    }

    /// Who produced the event: `user`, `evaluator`, ... (default `sdk`).
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.body.source = Some(source.into());
        self
    }

    /// Ties the event to one span of the run (16 hex characters, e.g.
    /// [`SpanHandle::span_id`](crate::SpanHandle::span_id)).
    pub fn span_id(mut self, span_id: impl Into<String>) -> Self {
        self.body.span_id = Some(span_id.into());
        self
    }

    /// Sends to the server `config` names (its URL, key and timeout) instead of the default.
    /// An invalid URL is reported by `send`.
    pub fn config(mut self, config: &Config) -> Self {
        self.target = Target::from_config(config);
        self
    }

    pub(crate) fn target(mut self, target: Target) -> Self {
        self.target = target;
        self
    }

    /// Posts the event and returns it as stored. Needs a tokio runtime (reqwest's async
    /// client); from code that is not async, use [`send_blocking`](Self::send_blocking).
    pub async fn send(self) -> Result<Metric, Error> {
        let (target, url, body) = self.prepare()?;
        let (status, answer_body) = target.send(Method::POST, &url, Some(&body)).await?;
        answer(status, &answer_body)
    }

    /// [`send`](Self::send) for code that is not async. It blocks the calling thread, so do
    /// not call it on an async runtime's thread.
    pub fn send_blocking(self) -> Result<Metric, Error> {
        let (target, url, body) = self.prepare()?;
        let (status, answer_body) = target.send_blocking(Method::POST, &url, Some(&body))?;
        answer(status, &answer_body)
    }

    /// The server to use, the URL to post to and the JSON to post.
    fn prepare(&self) -> Result<(ApiTarget, Url, Value), Error> {
        let target = self.target.resolve()?;
        let url = target.metrics_url(&self.run_id);
        let body = serde_json::to_value(&self.body).map_err(|e| Error::Exporter(e.to_string()))?;
        Ok((target, url, body))
    }
}

/// The stored event of a 201, or the server's error.
fn answer(status: u16, body: &[u8]) -> Result<Metric, Error> {
    if !(200..300).contains(&status) {
        return Err(api_error(status, body));
    }
    let mut json: Value =
        serde_json::from_slice(body).map_err(|_| Error::UnexpectedResponse("not JSON".into()))?;
    let first = json["metrics"]
        .get_mut(0)
        .map(Value::take)
        .ok_or_else(|| Error::UnexpectedResponse("no `metrics` in the answer".into()))?;
    serde_json::from_value(first).map_err(|e| Error::UnexpectedResponse(e.to_string()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const RUN: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

    fn target(url: &str) -> ApiTarget {
        ApiTarget::from_config(&Config::new().url(url)).unwrap()
    }

    #[test]
    fn the_metrics_url_is_built_from_the_base_or_the_traces_endpoint() {
        let expected = format!("http://127.0.0.1:4318/api/v1/runs/{RUN}/metrics");
        for url in [
            "http://127.0.0.1:4318",
            "http://127.0.0.1:4318/",
            " http://127.0.0.1:4318/v1/traces ",
        ] {
            assert_eq!(target(url).metrics_url(RUN).as_str(), expected, "{url}");
        }
        // Behind a reverse proxy's path prefix.
        assert_eq!(
            target("http://proxy/lemma/").metrics_url(RUN).as_str(),
            format!("http://proxy/lemma/api/v1/runs/{RUN}/metrics")
        );
        // Whatever the caller passes as a run ID stays one path segment.
        assert_eq!(
            target("http://h:1").metrics_url("a/b?c").as_str(),
            "http://h:1/api/v1/runs/a%2Fb%3Fc/metrics"
        );
    }

    #[test]
    fn the_body_defaults_source_to_sdk_and_leaves_out_what_is_unset() {
        let request = metric(RUN, "resolved", true);
        assert_eq!(
            serde_json::to_value(&request.body).unwrap(),
            json!({"name": "resolved", "value": true, "source": "sdk"})
        );
        let request = metric(RUN, "quality", 0.25)
            .comment("missed the refund rule")
            .source("evaluator")
            .span_id("00f067aa0ba902b7");
        assert_eq!(
            serde_json::to_value(&request.body).unwrap(),
            json!({"name": "quality", "value": 0.25, "comment": "missed the refund rule",
                   "source": "evaluator", "span_id": "00f067aa0ba902b7"})
        );
        assert_eq!(
            serde_json::to_value(&metric(RUN, "label", "refund").body).unwrap()["value"],
            "refund"
        );
        assert_eq!(MetricValue::from(7_u64), MetricValue::Number(7.0));
    }

    #[test]
    fn a_created_answer_is_the_stored_event() {
        let body = json!({"metrics": [{
            "id": "m1", "run_id": RUN, "name": "resolved", "value": true,
            "source": "sdk", "time_unix_nano": 17
        }]});
        let stored = answer(201, body.to_string().as_bytes()).unwrap();
        assert_eq!(stored.id, "m1");
        assert_eq!(stored.value, MetricValue::Bool(true));
        assert_eq!(stored.source.as_deref(), Some("sdk"));
        assert_eq!(stored.comment, None);
        assert_eq!(stored.span_id, None);
        assert!(matches!(
            answer(201, b"{\"metrics\": []}"),
            Err(Error::UnexpectedResponse(_))
        ));
    }

    #[test]
    fn an_error_answer_carries_the_servers_reason() {
        let body =
            json!({"error": {"code": "bad_request", "message": "value must be a finite number"}});
        let error = answer(400, body.to_string().as_bytes()).unwrap_err();
        match &error {
            Error::Api {
                status,
                code,
                message,
            } => {
                assert_eq!(*status, 400);
                assert_eq!(code, "bad_request");
                assert_eq!(message, "value must be a finite number");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            error.to_string(),
            "Lemma answered HTTP 400: value must be a finite number"
        );
        // A proxy's plain-text error is still shown.
        let error = answer(502, b"Bad Gateway").unwrap_err();
        assert!(error.to_string().contains("502: Bad Gateway"), "{error}");
    }

    #[test]
    fn a_bad_url_or_a_closed_port_is_an_error_not_a_panic() {
        let bad = metric(RUN, "x", 1)
            .config(&Config::new().url("lemma:4318"))
            .send_blocking();
        assert!(matches!(bad, Err(Error::InvalidUrl { .. })), "{bad:?}");

        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let down = metric(RUN, "x", 1)
            .config(&Config::new().url(&url))
            .send_blocking()
            .unwrap_err();
        match &down {
            Error::Unreachable { url: tried, .. } => {
                assert!(tried.starts_with(&url), "{tried}");
                assert!(tried.ends_with(&format!("/api/v1/runs/{RUN}/metrics")));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_key_is_never_printed() {
        let request = metric(RUN, "x", 1).config(&Config::new().api_key("secret-key"));
        let shown = format!("{request:?}");
        assert!(!shown.contains("secret-key"), "{shown}");
    }
}
