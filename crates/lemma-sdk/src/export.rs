//! OTLP/HTTP export: the official OTLP exporter, carried by the workspace's `reqwest`, with one
//! clear warning when the destination cannot be reached or refuses the key.
//!
//! Warnings go to `tracing` (target `lemma_sdk`, level WARN) when the app has installed a
//! global subscriber, else to stderr, once per change of state: a server that stays down warns
//! once, and warns again only after it came back and failed anew.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{Compression, Protocol, WithExportConfig, WithHttpConfig};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_ENCODING, CONTENT_TYPE};

use crate::Error;

/// Who receives the spans, for the wording of warnings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Destination {
    Lemma,
    Other,
}

/// What one export attempt came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome<'a> {
    Status(u16),
    Unreachable(&'a str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Healthy,
    Unreachable,
    Rejected(u16),
    Failing(u16),
}

/// Remembers the last state of a destination so that each problem is reported once.
#[derive(Debug)]
pub(crate) struct Health {
    destination: Destination,
    url: String,
    state: Mutex<State>,
}

impl Health {
    pub(crate) fn new(destination: Destination, url: impl Into<String>) -> Self {
        Health {
            destination,
            url: url.into(),
            state: Mutex::new(State::Healthy),
        }
    }

    /// The warning to give for `outcome`, if it is news.
    pub(crate) fn observe(&self, outcome: Outcome<'_>) -> Option<String> {
        let next = match outcome {
            Outcome::Status(code) if (200..300).contains(&code) => State::Healthy,
            Outcome::Status(code @ (401 | 403)) => State::Rejected(code),
            Outcome::Status(code) => State::Failing(code),
            Outcome::Unreachable(_) => State::Unreachable,
        };
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if *state == next {
            return None;
        }
        *state = next;
        let url = &self.url;
        let lemma = self.destination == Destination::Lemma;
        let message = match next {
            State::Healthy => return None,
            State::Unreachable => {
                let reason = match outcome {
                    Outcome::Unreachable(reason) => reason,
                    Outcome::Status(_) => "no answer",
                };
                if lemma {
                    format!(
                        "cannot reach Lemma at {url} ({reason}); spans are dropped until it \
                         answers. Start the server with `lemma serve`, or set LEMMA_URL to \
                         where it listens."
                    )
                } else {
                    format!(
                        "cannot reach the OTLP endpoint {url} ({reason}); spans for it are \
                         dropped until it answers."
                    )
                }
            }
            State::Rejected(code) if lemma => format!(
                "Lemma at {url} refused the API key (HTTP {code}); spans are dropped. Set \
                 LEMMA_API_KEY (or Config::api_key) to a key of your project: `lemma serve` \
                 prints one on its first start."
            ),
            State::Rejected(code) => format!(
                "the OTLP endpoint {url} refused the credentials (HTTP {code}); spans for it \
                 are dropped."
            ),
            State::Failing(code) if lemma => format!(
                "Lemma at {url} answered HTTP {code} to an export; those spans were dropped. \
                 Check that LEMMA_URL points at a Lemma server."
            ),
            State::Failing(code) => format!(
                "the OTLP endpoint {url} answered HTTP {code} to an export; those spans were \
                 dropped."
            ),
        };
        Some(message)
    }
}

/// Says `message` where the app will see it: its `tracing` subscriber if it has one.
pub(crate) fn warn(message: &str) {
    if tracing::dispatcher::has_been_set() {
        tracing::warn!(target: "lemma_sdk", "{message}");
    } else {
        eprintln!("[lemma-sdk] warning: {message}");
    }
}

/// The HTTP client handed to the OTLP exporter. It sends only the body's content headers plus
/// its own, so `OTEL_EXPORTER_OTLP_HEADERS` meant for another backend never reach this one.
struct Transport {
    client: reqwest::blocking::Client,
    headers: HeaderMap,
    health: Health,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("url", &self.health.url)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl HttpClient for Transport {
    // Runs on the batch processor's own thread, where blocking is what is expected.
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let (parts, body) = request.into_parts();
        let mut outgoing = self.client.post(parts.uri.to_string());
        for name in [CONTENT_TYPE, CONTENT_ENCODING] {
            if let Some(value) = parts.headers.get(&name) {
                outgoing = outgoing.header(name, value);
            }
        }
        let sent = outgoing
            .headers(self.headers.clone())
            .body(body.to_vec())
            .send();
        let response = match sent {
            Ok(response) => response,
            Err(error) => {
                let reason = root_cause(&error);
                if let Some(message) = self.health.observe(Outcome::Unreachable(&reason)) {
                    warn(&message);
                }
                return Err(Box::new(error));
            }
        };
        let status = response.status();
        if let Some(message) = self.health.observe(Outcome::Status(status.as_u16())) {
            warn(&message);
        }
        let body = response.bytes()?;
        Ok(Response::builder().status(status).body(body)?)
    }
}

/// The innermost error, the part that says what went wrong ("Connection refused").
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// `url` parsed, without surrounding blanks or trailing slashes, if this build can reach it.
pub(crate) fn parse_url(url: &str) -> Result<reqwest::Url, Error> {
    let trimmed = url.trim().trim_end_matches('/');
    let invalid = |reason: &str| Error::InvalidUrl {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    let parsed = reqwest::Url::parse(trimmed).map_err(|e| invalid(&e.to_string()))?;
    match parsed.scheme() {
        "http" => Ok(parsed),
        "https" if cfg!(feature = "tls") => Ok(parsed),
        "https" => Err(invalid("https needs lemma-sdk's `tls` feature")),
        _ => Err(invalid("expected an http:// or https:// URL")),
    }
}

/// `{url}/v1/traces`, or `url` itself when it already names the traces path.
pub(crate) fn traces_endpoint(url: &str) -> Result<String, Error> {
    let parsed = parse_url(url)?;
    let trimmed = url.trim().trim_end_matches('/');
    if parsed.path().ends_with("/v1/traces") {
        Ok(trimmed.to_string())
    } else {
        Ok(format!("{trimmed}/v1/traces"))
    }
}

/// An OTLP/HTTP protobuf span exporter to `endpoint` that sends `headers` with every request.
pub(crate) fn exporter(
    endpoint: &str,
    headers: HeaderMap,
    timeout: Duration,
    destination: Destination,
) -> Result<opentelemetry_otlp::SpanExporter, Error> {
    let client = blocking_client(timeout)?;
    let transport = Transport {
        client,
        headers,
        health: Health::new(destination, endpoint),
    };
    opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(endpoint)
        .with_protocol(Protocol::HttpBinary)
        .with_compression(Compression::Gzip)
        .with_timeout(timeout)
        .with_http_client(transport)
        .build()
        .map_err(|e| Error::Exporter(e.to_string()))
}

/// A blocking client, built on a thread of its own: reqwest refuses to build one inside an
/// async runtime, and `init` is often called from `#[tokio::main]`.
fn blocking_client(timeout: Duration) -> Result<reqwest::blocking::Client, Error> {
    std::thread::spawn(move || {
        reqwest::blocking::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("lemma-sdk-rust/", env!("CARGO_PKG_VERSION")))
            .build()
    })
    .join()
    .map_err(|_| Error::Exporter("building the HTTP client panicked".into()))?
    .map_err(|e| Error::Exporter(e.to_string()))
}

/// Headers from `(name, value)` pairs; an invalid pair is an error, not silently dropped.
pub(crate) fn header_map<I, K, V>(headers: I) -> Result<HeaderMap, Error>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let (name, value) = (name.as_ref(), value.as_ref());
        let bad = || Error::Exporter(format!("invalid HTTP header {name:?}"));
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad())?;
        let mut value = HeaderValue::from_str(value).map_err(|_| bad())?;
        if name == reqwest::header::AUTHORIZATION {
            value.set_sensitive(true);
        }
        map.insert(name, value);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_from_base_url() {
        assert_eq!(
            traces_endpoint("http://127.0.0.1:4318").unwrap(),
            "http://127.0.0.1:4318/v1/traces"
        );
        assert_eq!(
            traces_endpoint("http://lemma.internal:8080/").unwrap(),
            "http://lemma.internal:8080/v1/traces"
        );
        assert_eq!(
            traces_endpoint("http://h:1/v1/traces").unwrap(),
            "http://h:1/v1/traces"
        );
        assert!(matches!(
            traces_endpoint("127.0.0.1:4318"),
            Err(Error::InvalidUrl { .. })
        ));
        assert!(traces_endpoint("ftp://h/").is_err());
        // HTTPS needs the `tls` feature; without it, init says so instead of failing later.
        assert_eq!(
            traces_endpoint("https://lemma.example.com").is_ok(),
            cfg!(feature = "tls")
        );
    }

    #[test]
    fn each_problem_is_reported_once_until_it_changes() {
        let health = Health::new(Destination::Lemma, "http://127.0.0.1:9/v1/traces");
        let first = health
            .observe(Outcome::Unreachable("Connection refused"))
            .expect("first failure warns");
        assert!(first.contains("http://127.0.0.1:9/v1/traces"), "{first}");
        assert!(first.contains("Connection refused"), "{first}");
        assert!(first.contains("LEMMA_URL"), "{first}");
        assert_eq!(health.observe(Outcome::Unreachable("again")), None);
        assert_eq!(health.observe(Outcome::Status(200)), None);
        assert!(health.observe(Outcome::Unreachable("down")).is_some());

        let rejected = health.observe(Outcome::Status(401)).unwrap();
        assert!(rejected.contains("LEMMA_API_KEY"), "{rejected}");
        assert!(rejected.contains("401"), "{rejected}");
        assert_eq!(health.observe(Outcome::Status(401)), None);
        assert!(health
            .observe(Outcome::Status(403))
            .unwrap()
            .contains("403"));
        assert!(health
            .observe(Outcome::Status(404))
            .unwrap()
            .contains("404"));
    }

    #[test]
    fn other_destinations_are_named_as_such() {
        let health = Health::new(Destination::Other, "http://collector:4318/v1/traces");
        let message = health.observe(Outcome::Status(403)).unwrap();
        assert!(message.contains("OTLP endpoint"), "{message}");
        assert!(!message.contains("LEMMA_API_KEY"), "{message}");
    }

    #[test]
    fn authorization_is_sensitive_and_bad_headers_are_errors() {
        let map = header_map([("Authorization", "Bearer k"), ("x-tenant", "a")]).unwrap();
        assert!(map["authorization"].is_sensitive());
        assert_eq!(map["x-tenant"], "a");
        assert!(header_map([("bad header", "v")]).is_err());
    }
}
