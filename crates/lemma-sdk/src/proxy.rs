//! Proxy sessions: the model calls of a program no Lemma SDK is in (the `claude` CLI, a
//! script using the openai or anthropic SDK), recorded as spans of the current run.
//!
//! Lemma's LLM proxy forwards OpenAI- and Anthropic-compatible calls to the real provider and
//! records each one as a GenAI span. A session (`POST /api/v1/proxy/sessions`) ties those
//! calls to a parent span: its base URLs, handed to the sub-agent as `OPENAI_BASE_URL` and
//! `ANTHROPIC_BASE_URL`, make every call through them a child of that span, in the same run,
//! with the run's thread and user. `DELETE /api/v1/proxy/sessions/{token}` ends it early.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use opentelemetry::Context;
use reqwest::{Method, Url};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::{api_error, ApiTarget, Target};
use crate::config::Config;
use crate::context::run_context;
use crate::propagation::inject_headers_from;
use crate::Error;

/// Starts a proxy session request for a sub-agent Lemma's SDKs are not in: every model call it
/// makes through the session's base URLs becomes a child span of the current span, in the
/// same run, with the run's thread and user. Nothing is sent until
/// [`start`](ProxyRequest::start) (or [`start_blocking`](ProxyRequest::start_blocking)).
///
/// The parent is the span current when `start` is called (or the context given to
/// [`parent`](ProxyRequest::parent)); without one, each call becomes a run of its own. The
/// session goes to the server of [`init`](crate::init) (or
/// [`span_processor`](crate::span_processor)), else to `LEMMA_URL` with `LEMMA_API_KEY`.
///
/// ```no_run
/// # fn delegate(task: &str) -> Result<(), Box<dyn std::error::Error>> {
/// let session = lemma_sdk::proxy().thread_id("conversation-7").start_blocking()?;
/// let status = std::process::Command::new("claude")
///     .args(["-p", task])
///     .envs(&session.env) // OPENAI_BASE_URL, ANTHROPIC_BASE_URL
///     .status();
/// session.close_blocking()?;
/// status?;
/// # Ok(()) }
/// ```
///
/// In async code, `proxy().start().await` and `session.close().await` do the same.
pub fn proxy() -> ProxyRequest {
    ProxyRequest {
        thread_id: None,
        user_id: None,
        ttl_seconds: None,
        parent: None,
        target: Target::Default,
    }
}

/// A proxy session about to be created; see [`proxy`].
#[derive(Clone, Debug)]
#[must_use = "no session is created until `start` or `start_blocking`"]
pub struct ProxyRequest {
    thread_id: Option<String>,
    user_id: Option<String>,
    ttl_seconds: Option<u64>,
    parent: Option<Context>,
    target: Target,
}

/// The JSON posted: `{"traceparent"?, "thread_id"?, "user_id"?, "ttl_seconds"?}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
struct Body {
    #[serde(skip_serializing_if = "Option::is_none")]
    traceparent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thread_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttl_seconds: Option<u64>,
}

impl ProxyRequest {
    /// The thread of the calls (default: the current run's).
    pub fn thread_id(mut self, thread_id: impl Into<String>) -> Self {
        self.thread_id = Some(thread_id.into());
        self
    }

    /// The user of the calls (default: the current run's).
    pub fn user_id(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// How long the session lasts unless closed first, in whole seconds (rounded up).
    /// Lemma's default is a day, its maximum a week.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl_seconds = Some(ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0));
        self
    }

    /// Makes the calls children of the span `cx` holds (e.g.
    /// [`SpanHandle::context`](crate::SpanHandle::context)), with its run context, instead of
    /// the current one.
    pub fn parent(mut self, cx: &Context) -> Self {
        self.parent = Some(cx.clone());
        self
    }

    /// Sends to the server `config` names (its URL, key and timeout) instead of the default.
    /// An invalid URL is reported by `start`.
    pub fn config(mut self, config: &Config) -> Self {
        self.target = Target::from_config(config);
        self
    }

    /// Creates the session under the span current now, and returns it as Lemma answered.
    /// Needs a tokio runtime (reqwest's async client); from code that is not async, use
    /// [`start_blocking`](Self::start_blocking).
    pub fn start(self) -> impl Future<Output = Result<ProxySession, Error>> + Send + 'static {
        let prepared = self.prepare(&Context::current());
        async move {
            let (target, url, body) = prepared?;
            let (status, answer) = target.send(Method::POST, &url, Some(&body)).await?;
            session(status, &answer, target)
        }
    }

    /// [`start`](Self::start) for code that is not async. It blocks the calling thread, so do
    /// not call it on an async runtime's thread.
    pub fn start_blocking(self) -> Result<ProxySession, Error> {
        let (target, url, body) = self.prepare(&Context::current())?;
        let (status, answer) = target.send_blocking(Method::POST, &url, Some(&body))?;
        session(status, &answer, target)
    }

    /// The server, the URL to post to and the JSON to post, for a parent of `current` unless
    /// one was given.
    fn prepare(&self, current: &Context) -> Result<(ApiTarget, Url, Value), Error> {
        let target = self.target.resolve()?;
        let url = target.api_url(&["proxy", "sessions"]);
        let body = serde_json::to_value(self.body(self.parent.as_ref().unwrap_or(current)))
            .map_err(|e| Error::Exporter(e.to_string()))?;
        Ok((target, url, body))
    }

    /// The span of `cx` as `traceparent` (none when it holds no valid span), and the thread
    /// and user given, else those of its run context.
    fn body(&self, cx: &Context) -> Body {
        let run = run_context(cx);
        let non_empty = |value: Option<String>| value.filter(|v| !v.is_empty());
        Body {
            traceparent: inject_headers_from(cx).remove("traceparent"),
            thread_id: non_empty(self.thread_id.clone().or(run.thread_id)),
            user_id: non_empty(self.user_id.clone().or(run.user_id)),
            ttl_seconds: self.ttl_seconds,
        }
    }
}

/// A proxy session as Lemma created it: base URLs for a sub-agent's model calls. Calls
/// through them are recorded until it is [closed](Self::close) or expires.
///
/// ```no_run
/// # fn run(session: lemma_sdk::ProxySession) -> std::io::Result<()> {
/// std::process::Command::new("claude")
///     .args(["-p", "Summarise the failing tests"])
///     .envs(&session.env)
///     .status()?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct ProxySession {
    /// The session's token (`lps_...`); it is part of both base URLs.
    pub token: String,
    /// When the session ends by itself, as Lemma wrote it (RFC 3339, UTC).
    pub expires_at: String,
    /// The base URL for OpenAI-compatible clients (`.../openai/v1`).
    pub openai_base_url: String,
    /// The base URL for Anthropic-compatible clients (`.../anthropic`).
    pub anthropic_base_url: String,
    /// The environment variables that point a sub-agent at the session, `OPENAI_BASE_URL`
    /// and `ANTHROPIC_BASE_URL`: pass them with `Command::envs(&session.env)`.
    pub env: BTreeMap<String, String>,
    /// The server it was created on, where `close` ends it.
    target: ApiTarget,
}

impl ProxySession {
    /// Ends the session now: Lemma refuses later calls through its URLs. A session that has
    /// already ended (closed, or expired) is left as it is, so closing twice (a clone, say)
    /// is harmless. Needs a tokio runtime; see [`close_blocking`](Self::close_blocking).
    pub async fn close(self) -> Result<(), Error> {
        let url = self.url();
        let (status, answer) = self.target.send(Method::DELETE, &url, None).await?;
        closed(status, &answer)
    }

    /// [`close`](Self::close) for code that is not async (not on an async runtime's thread).
    pub fn close_blocking(self) -> Result<(), Error> {
        let url = self.url();
        let (status, answer) = self.target.send_blocking(Method::DELETE, &url, None)?;
        closed(status, &answer)
    }

    /// `{base}/api/v1/proxy/sessions/{token}`, the token escaped as a path segment.
    fn url(&self) -> Url {
        self.target.api_url(&["proxy", "sessions", &self.token])
    }
}

/// Lemma's `201` answer.
#[derive(Deserialize)]
struct Answer {
    token: String,
    expires_at: String,
    base_urls: BaseUrls,
    #[serde(default)]
    env: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
struct BaseUrls {
    openai: String,
    anthropic: String,
}

/// The session of a `201`, or the server's error.
fn session(status: u16, body: &[u8], target: ApiTarget) -> Result<ProxySession, Error> {
    if !(200..300).contains(&status) {
        return Err(api_error(status, body));
    }
    let answer: Answer = serde_json::from_slice(body)
        .map_err(|e| Error::UnexpectedResponse(format!("not a proxy session: {e}")))?;
    let BaseUrls { openai, anthropic } = answer.base_urls;
    if answer.token.is_empty() || openai.is_empty() || anthropic.is_empty() {
        return Err(Error::UnexpectedResponse(
            "a proxy session without a token or base URLs".into(),
        ));
    }
    let env = answer.env.unwrap_or_else(|| {
        BTreeMap::from([
            ("OPENAI_BASE_URL".to_string(), openai.clone()),
            ("ANTHROPIC_BASE_URL".to_string(), anthropic.clone()),
        ])
    });
    Ok(ProxySession {
        token: answer.token,
        expires_at: answer.expires_at,
        openai_base_url: openai,
        anthropic_base_url: anthropic,
        env,
        target,
    })
}

/// Ended (2xx), or already gone (404); else the server's error.
fn closed(status: u16, body: &[u8]) -> Result<(), Error> {
    if (200..300).contains(&status) || status == 404 {
        Ok(())
    } else {
        Err(api_error(status, body))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::thread::JoinHandle;

    use opentelemetry::trace::{
        Span as _, SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, Tracer,
        TracerProvider as _,
    };
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use serde_json::json;

    use super::*;
    use crate::context::{with_run_context, RunContext};

    const TOKEN: &str = "lps_0123456789abcdef";
    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const SPAN: &str = "00f067aa0ba902b7";

    fn remote(flags: TraceFlags) -> Context {
        Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from_hex(TRACE).unwrap(),
            SpanId::from_hex(SPAN).unwrap(),
            flags,
            true,
            TraceState::default(),
        ))
    }

    fn body_json(request: &ProxyRequest, cx: &Context) -> Value {
        serde_json::to_value(request.body(cx)).unwrap()
    }

    /// Lemma's 201 answer for a session on the server at `url`.
    fn created(url: &str) -> Value {
        let openai = format!("{url}/proxy/session/{TOKEN}/openai/v1");
        let anthropic = format!("{url}/proxy/session/{TOKEN}/anthropic");
        json!({
            "token": TOKEN,
            "expires_at": "2026-12-06T20:00:00Z",
            "base_urls": {"openai": openai, "anthropic": anthropic},
            "env": {"OPENAI_BASE_URL": openai, "ANTHROPIC_BASE_URL": anthropic},
        })
    }

    #[derive(Debug)]
    struct Received {
        method: String,
        path: String,
        headers: HashMap<String, String>,
        body: String,
    }

    /// A stand-in for Lemma on a local port: answers each connection with the next of the
    /// answers `make` builds from its URL, then hands back what it received.
    struct FakeLemma {
        url: String,
        thread: JoinHandle<Vec<Received>>,
    }

    impl FakeLemma {
        fn start(make: impl FnOnce(&str) -> Vec<(u16, Option<Value>)>) -> FakeLemma {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            let answers = make(&url);
            let thread = std::thread::spawn(move || {
                answers
                    .into_iter()
                    .map(|(status, body)| {
                        let (stream, _) = listener.accept().unwrap();
                        let mut reader = BufReader::new(stream);
                        let mut line = String::new();
                        reader.read_line(&mut line).unwrap();
                        let mut parts = line.split_whitespace();
                        let method = parts.next().unwrap_or_default().to_string();
                        let path = parts.next().unwrap_or_default().to_string();
                        let mut headers = HashMap::new();
                        loop {
                            let mut header = String::new();
                            reader.read_line(&mut header).unwrap();
                            let header = header.trim_end();
                            if header.is_empty() {
                                break;
                            }
                            if let Some((name, value)) = header.split_once(':') {
                                headers.insert(name.to_ascii_lowercase(), value.trim().to_string());
                            }
                        }
                        let length = headers
                            .get("content-length")
                            .map_or(0, |n| n.parse::<usize>().unwrap());
                        let mut raw = vec![0; length];
                        reader.read_exact(&mut raw).unwrap();
                        let text = body.map(|b| b.to_string()).unwrap_or_default();
                        let mut stream = reader.into_inner();
                        write!(
                            stream,
                            "HTTP/1.1 {status} Answer\r\nContent-Type: application/json\r\n\
                             Content-Length: {}\r\nConnection: close\r\n\r\n{text}",
                            text.len()
                        )
                        .unwrap();
                        stream.flush().unwrap();
                        Received {
                            method,
                            path,
                            headers,
                            body: String::from_utf8(raw).unwrap(),
                        }
                    })
                    .collect()
            });
            FakeLemma { url, thread }
        }

        fn config(&self) -> Config {
            Config::new().url(&self.url).api_key("secret-key")
        }

        fn received(self) -> Vec<Received> {
            self.thread.join().unwrap()
        }
    }

    fn not_found() -> (u16, Option<Value>) {
        (
            404,
            Some(json!({"error": {"code": "not_found", "message": "no such session"}})),
        )
    }

    #[test]
    fn the_body_names_the_parent_span_and_the_run_s_thread_and_user() {
        let cx = with_run_context(
            &remote(TraceFlags::SAMPLED),
            &RunContext {
                thread_id: Some("t-1".into()),
                user_id: Some("u-1".into()),
                ..RunContext::default()
            },
        );
        assert_eq!(
            body_json(&proxy().ttl(Duration::from_secs(600)), &cx),
            json!({"traceparent": format!("00-{TRACE}-{SPAN}-01"),
                   "thread_id": "t-1", "user_id": "u-1", "ttl_seconds": 600})
        );
        // Given values win over the run's.
        assert_eq!(
            body_json(&proxy().thread_id("t-given"), &cx),
            json!({"traceparent": format!("00-{TRACE}-{SPAN}-01"),
                   "thread_id": "t-given", "user_id": "u-1"})
        );
        // Only the sampled flag is sent.
        assert_eq!(
            body_json(&proxy(), &remote(TraceFlags::NOT_SAMPLED))["traceparent"],
            format!("00-{TRACE}-{SPAN}-00")
        );
    }

    #[test]
    fn without_a_span_no_traceparent_is_sent() {
        assert_eq!(body_json(&proxy(), &Context::new()), json!({}));
        assert_eq!(
            body_json(&proxy().user_id("u-1"), &Context::new()),
            json!({"user_id": "u-1"})
        );
        let run_only = with_run_context(
            &Context::new(),
            &RunContext {
                thread_id: Some("t-1".into()),
                ..RunContext::default()
            },
        );
        assert_eq!(body_json(&proxy(), &run_only), json!({"thread_id": "t-1"}));
    }

    #[test]
    fn a_ttl_is_sent_in_whole_seconds_rounded_up() {
        for (ttl, seconds) in [
            (Duration::from_secs(3600), 3600),
            (Duration::from_millis(1500), 2),
            (Duration::from_millis(1), 1),
        ] {
            assert_eq!(proxy().ttl(ttl).ttl_seconds, Some(seconds), "{ttl:?}");
        }
    }

    #[test]
    fn the_urls_are_built_from_the_base_or_the_traces_endpoint() {
        for url in [
            "http://127.0.0.1:4318",
            "http://127.0.0.1:4318/",
            "http://127.0.0.1:4318/v1/traces",
        ] {
            let (_, posted, _) = proxy()
                .config(&Config::new().url(url))
                .prepare(&Context::new())
                .unwrap();
            assert_eq!(
                posted.as_str(),
                "http://127.0.0.1:4318/api/v1/proxy/sessions",
                "{url}"
            );
        }
        let target = ApiTarget::from_config(&Config::new().url("http://proxy/lemma/")).unwrap();
        let session = session(201, created("http://x").to_string().as_bytes(), target).unwrap();
        assert_eq!(
            session.url().as_str(),
            format!("http://proxy/lemma/api/v1/proxy/sessions/{TOKEN}")
        );
        // Whatever the token holds stays one path segment.
        let odd = ProxySession {
            token: "a/b?c".into(),
            ..session
        };
        assert_eq!(
            odd.url().as_str(),
            "http://proxy/lemma/api/v1/proxy/sessions/a%2Fb%3Fc"
        );
    }

    #[test]
    fn start_posts_the_body_and_close_deletes_the_session_twice_harmlessly() {
        let lemma =
            FakeLemma::start(|url| vec![(201, Some(created(url))), (204, None), not_found()]);
        let config = lemma.config();
        let cx = remote(TraceFlags::SAMPLED);
        let session = {
            let _guard = cx.attach();
            proxy()
                .thread_id("t-1")
                .ttl(Duration::from_secs(3600))
                .config(&config)
                .start_blocking()
                .unwrap()
        };
        assert_eq!(session.token, TOKEN);
        assert_eq!(session.expires_at, "2026-12-06T20:00:00Z");
        assert_eq!(
            session.openai_base_url,
            format!("{}/proxy/session/{TOKEN}/openai/v1", lemma.url)
        );
        assert_eq!(
            session.anthropic_base_url,
            format!("{}/proxy/session/{TOKEN}/anthropic", lemma.url)
        );
        assert_eq!(
            session.env,
            BTreeMap::from([
                ("OPENAI_BASE_URL".into(), session.openai_base_url.clone()),
                (
                    "ANTHROPIC_BASE_URL".into(),
                    session.anthropic_base_url.clone()
                ),
            ])
        );
        let shown = format!("{session:?}");
        assert!(!shown.contains("secret-key"), "{shown}");

        session.clone().close_blocking().unwrap();
        session.close_blocking().unwrap(); // already ended: 404 is fine

        let [post, delete, again]: [Received; 3] = lemma.received().try_into().unwrap();
        assert_eq!(
            (post.method.as_str(), post.path.as_str()),
            ("POST", "/api/v1/proxy/sessions")
        );
        assert_eq!(post.headers["authorization"], "Bearer secret-key");
        assert_eq!(post.headers["content-type"], "application/json");
        assert_eq!(
            serde_json::from_str::<Value>(&post.body).unwrap(),
            json!({"traceparent": format!("00-{TRACE}-{SPAN}-01"),
                   "thread_id": "t-1", "ttl_seconds": 3600})
        );
        for delete in [delete, again] {
            assert_eq!(delete.method, "DELETE");
            assert_eq!(delete.path, format!("/api/v1/proxy/sessions/{TOKEN}"));
            assert_eq!(delete.headers["authorization"], "Bearer secret-key");
            assert_eq!(delete.body, "");
        }
    }

    #[test]
    fn async_start_takes_the_span_current_when_called() {
        let provider = SdkTracerProvider::builder().build();
        let span = provider.tracer("app").start("handler");
        let parent = span.span_context().clone();
        let cx = Context::current_with_span(span);
        let lemma = FakeLemma::start(|url| vec![(201, Some(created(url))), (204, None)]);
        let config = lemma.config();

        let started = {
            let _guard = cx.attach();
            proxy().user_id("u-9").config(&config).start()
        };
        // Polled outside the span: the parent was read when `start` was called.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let session = started.await.unwrap();
            session.close().await.unwrap();
        });

        let [post, delete]: [Received; 2] = lemma.received().try_into().unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&post.body).unwrap(),
            json!({"traceparent": format!("00-{}-{}-01", parent.trace_id(), parent.span_id()),
                   "user_id": "u-9"})
        );
        assert_eq!(delete.method, "DELETE");
    }

    #[test]
    fn a_given_parent_wins_over_the_current_span() {
        let lemma = FakeLemma::start(|url| vec![(201, Some(created(url)))]);
        let config = lemma.config();
        let _guard = remote(TraceFlags::NOT_SAMPLED).attach();
        proxy()
            .parent(&remote(TraceFlags::SAMPLED))
            .config(&config)
            .start_blocking()
            .unwrap();
        let [post]: [Received; 1] = lemma.received().try_into().unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&post.body).unwrap()["traceparent"],
            format!("00-{TRACE}-{SPAN}-01")
        );
    }

    #[test]
    fn an_agent_run_is_the_parent_with_its_thread_and_user() {
        crate::tests::exporter();
        let (body, run_id) = crate::agent("planner")
            .thread_id("t-run")
            .user_id("u-run")
            .run_sync(|run| {
                let body = body_json(&proxy(), &Context::current());
                assert_eq!(
                    body["traceparent"],
                    format!("00-{}-{}-01", run.run_id(), run.span_id())
                );
                Ok::<_, Error>(body)
            });
        let body = body.unwrap();
        assert!(body["traceparent"]
            .as_str()
            .unwrap()
            .starts_with(&format!("00-{run_id}-")));
        assert_eq!(
            (&body["thread_id"], &body["user_id"]),
            (&json!("t-run"), &json!("u-run"))
        );
    }

    #[test]
    fn a_refused_session_carries_the_server_s_reason() {
        for (status, code, message) in [
            (400, "bad_request", "ttl_seconds must be at most 604800"),
            (401, "unauthorized", "invalid API key"),
            (403, "forbidden", "this key may not create proxy sessions"),
            (503, "unavailable", "the LLM proxy is not enabled"),
        ] {
            let answer = json!({"error": {"code": code, "message": message}});
            let error = session(status, answer.to_string().as_bytes(), target()).unwrap_err();
            match &error {
                Error::Api {
                    status: got,
                    code: got_code,
                    message: got_message,
                } => {
                    assert_eq!((*got, got_code.as_str()), (status, code));
                    assert_eq!(got_message, message);
                }
                other => panic!("{other:?}"),
            }
            assert_eq!(
                error.to_string(),
                format!("Lemma answered HTTP {status}: {message}")
            );
        }
        let error = session(502, b"Bad Gateway", target()).unwrap_err();
        assert!(error.to_string().contains("502: Bad Gateway"), "{error}");
    }

    fn target() -> ApiTarget {
        ApiTarget::from_config(&Config::new()).unwrap()
    }

    #[test]
    fn an_answer_that_is_not_a_session_is_an_error() {
        for answer in [
            json!({"token": TOKEN}),
            json!({"token": "", "expires_at": "x", "base_urls": {"openai": "o", "anthropic": "a"}}),
            json!({"token": TOKEN, "expires_at": "x", "base_urls": {"openai": 1, "anthropic": "a"}}),
        ] {
            let got = session(201, answer.to_string().as_bytes(), target());
            assert!(
                matches!(got, Err(Error::UnexpectedResponse(_))),
                "{answer}: {got:?}"
            );
        }
        assert!(matches!(
            session(201, b"not json", target()),
            Err(Error::UnexpectedResponse(_))
        ));
    }

    #[test]
    fn without_env_in_the_answer_it_is_made_from_the_base_urls() {
        let mut answer = created("http://lemma:4318");
        answer.as_object_mut().unwrap().remove("env");
        let session = session(201, answer.to_string().as_bytes(), target()).unwrap();
        assert_eq!(
            session.env,
            BTreeMap::from([
                (
                    "OPENAI_BASE_URL".into(),
                    format!("http://lemma:4318/proxy/session/{TOKEN}/openai/v1")
                ),
                (
                    "ANTHROPIC_BASE_URL".into(),
                    format!("http://lemma:4318/proxy/session/{TOKEN}/anthropic")
                ),
            ])
        );
    }

    #[test]
    fn closing_maps_statuses() {
        assert!(closed(204, b"").is_ok());
        assert!(closed(200, b"").is_ok());
        assert!(closed(404, b"").is_ok());
        let error = closed(
            500,
            json!({"error": {"code": "internal", "message": "disk full"}})
                .to_string()
                .as_bytes(),
        )
        .unwrap_err();
        assert!(
            matches!(&error, Error::Api { status: 500, message, .. } if message == "disk full"),
            "{error:?}"
        );
    }

    #[test]
    fn a_bad_url_or_a_closed_port_is_an_error_not_a_panic() {
        let bad = proxy()
            .config(&Config::new().url("lemma:4318"))
            .start_blocking();
        assert!(matches!(bad, Err(Error::InvalidUrl { .. })), "{bad:?}");

        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let down = proxy()
            .config(&Config::new().url(&url))
            .start_blocking()
            .unwrap_err();
        match &down {
            Error::Unreachable { url: tried, .. } => {
                assert_eq!(tried, &format!("{url}/api/v1/proxy/sessions"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_key_is_never_printed() {
        let request = proxy().config(&Config::new().api_key("secret-key"));
        let shown = format!("{request:?}");
        assert!(!shown.contains("secret-key"), "{shown}");
    }
}
