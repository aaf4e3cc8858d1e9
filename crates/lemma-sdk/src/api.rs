//! Calls to Lemma's REST API (metric events, proxy sessions, a run's signals): which server
//! and key, the HTTP clients, and the server's errors as [`Error`]s. Unlike span export these
//! calls are the caller's own, so every failure is returned.

use std::fmt;
use std::sync::{OnceLock, RwLock};
use std::time::Duration;

use reqwest::header::AUTHORIZATION;
use reqwest::{Method, Url};
use serde_json::Value;

use crate::config::Config;
use crate::export::parse_url;
use crate::Error;

/// A server's base URL and key, and how long a call may take.
#[derive(Clone)]
pub(crate) struct ApiTarget {
    base: Url,
    api_key: Option<String>,
    timeout: Duration,
}

impl ApiTarget {
    /// The server `config` names; its URL may be the base or the traces endpoint.
    pub(crate) fn from_config(config: &Config) -> Result<ApiTarget, Error> {
        let mut base = parse_url(&config.url)?;
        let path = base.path().trim_end_matches('/');
        if let Some(prefix) = path.strip_suffix("/v1/traces") {
            let prefix = prefix.to_string();
            base.set_path(&prefix);
        }
        Ok(ApiTarget {
            base,
            api_key: config.api_key.clone(),
            timeout: config.timeout,
        })
    }

    /// `{base}/api/v1/{segments...}`, each segment escaped as one path segment.
    pub(crate) fn api_url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty()
                .extend(["api", "v1"])
                .extend(segments.iter().copied());
        }
        url
    }

    /// Sends `body` (as JSON, when given) to `url`: the answer's status and body. Needs a
    /// tokio runtime (reqwest's async client).
    pub(crate) async fn send(
        &self,
        method: Method,
        url: &Url,
        body: Option<&Value>,
    ) -> Result<(u16, Vec<u8>), Error> {
        let mut request = async_client()?
            .request(method, url.clone())
            .timeout(self.timeout);
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(key) = &self.api_key {
            request = request.header(AUTHORIZATION, bearer(key));
        }
        let response = request.send().await.map_err(|e| unreachable(url, &e))?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|e| unreachable(url, &e))?;
        Ok((status, body.to_vec()))
    }

    /// [`send`](Self::send) for code that is not async (not on an async runtime's thread).
    pub(crate) fn send_blocking(
        &self,
        method: Method,
        url: &Url,
        body: Option<&Value>,
    ) -> Result<(u16, Vec<u8>), Error> {
        let mut request = blocking_client()?
            .request(method, url.clone())
            .timeout(self.timeout);
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(key) = &self.api_key {
            request = request.header(AUTHORIZATION, bearer(key));
        }
        let response = request.send().map_err(|e| unreachable(url, &e))?;
        let status = response.status().as_u16();
        let body = response.bytes().map_err(|e| unreachable(url, &e))?;
        Ok((status, body.to_vec()))
    }
}

impl fmt::Debug for ApiTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the key itself.
        f.debug_struct("ApiTarget")
            .field("base", &self.base.as_str())
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The server of the last [`init`](crate::init) or [`span_processor`](crate::span_processor).
fn configured() -> &'static RwLock<Option<ApiTarget>> {
    static TARGET: RwLock<Option<ApiTarget>> = RwLock::new(None);
    &TARGET
}

/// Makes `target` the server REST calls go to by default.
pub(crate) fn remember(target: ApiTarget) {
    *configured().write().unwrap_or_else(|e| e.into_inner()) = Some(target);
}

/// The server a request goes to, as its builder was told.
#[derive(Clone, Debug)]
pub(crate) enum Target {
    /// That of `init`, else the environment's.
    Default,
    /// That of the builder's `config`.
    Given(ApiTarget),
    /// The builder's `config` named a URL that cannot be used.
    Invalid { url: String, reason: String },
}

impl Target {
    /// The server `config` names, or why it cannot be used (reported when sending).
    pub(crate) fn from_config(config: &Config) -> Target {
        match ApiTarget::from_config(config) {
            Ok(target) => Target::Given(target),
            Err(Error::InvalidUrl { url, reason }) => Target::Invalid { url, reason },
            Err(other) => Target::Invalid {
                url: config.url.clone(),
                reason: other.to_string(),
            },
        }
    }

    /// The server to call.
    pub(crate) fn resolve(&self) -> Result<ApiTarget, Error> {
        match self {
            Target::Invalid { url, reason } => Err(Error::InvalidUrl {
                url: url.clone(),
                reason: reason.clone(),
            }),
            Target::Given(target) => Ok(target.clone()),
            Target::Default => {
                let remembered = configured()
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                match remembered {
                    Some(target) => Ok(target),
                    None => ApiTarget::from_config(&Config::from_env()),
                }
            }
        }
    }
}

fn bearer(key: &str) -> reqwest::header::HeaderValue {
    let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {key}"))
        .unwrap_or_else(|_| reqwest::header::HeaderValue::from_static("Bearer"));
    value.set_sensitive(true);
    value
}

/// The server's `{"error": {"code", "message"}}` of an error answer as [`Error::Api`]; an
/// answer in another shape (a proxy's error page, say) gives its text as the message.
/// A 2xx answer's JSON as `T`, or the server's error.
pub(crate) fn json_answer<T: serde::de::DeserializeOwned>(
    status: u16,
    body: &[u8],
) -> Result<T, Error> {
    if !(200..300).contains(&status) {
        return Err(api_error(status, body));
    }
    serde_json::from_slice(body).map_err(|e| Error::UnexpectedResponse(e.to_string()))
}

pub(crate) fn api_error(status: u16, body: &[u8]) -> Error {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let error = json.as_ref().map(|j| &j["error"]);
    let field = |name: &str| error.and_then(|e| e[name].as_str()).map(str::to_string);
    let message = field("message").unwrap_or_else(|| {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        if text.is_empty() {
            "no reason given".to_string()
        } else {
            text.chars().take(300).collect()
        }
    });
    Error::Api {
        status,
        code: field("code").unwrap_or_default(),
        message,
    }
}

fn unreachable(url: &Url, error: &reqwest::Error) -> Error {
    let mut cause: &(dyn std::error::Error + 'static) = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    let reason = if error.is_timeout() {
        "timed out".to_string()
    } else {
        cause.to_string()
    };
    Error::Unreachable {
        url: url.to_string(),
        reason,
    }
}

fn user_agent() -> &'static str {
    concat!("lemma-sdk-rust/", env!("CARGO_PKG_VERSION"))
}

/// One async client for the process. It keeps no idle connections: a connection belongs to
/// the runtime that opened it, and callers may come from different runtimes.
fn async_client() -> Result<&'static reqwest::Client, Error> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    if let Some(client) = CLIENT.get() {
        return Ok(client);
    }
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .connect_timeout(Duration::from_secs(5))
        .user_agent(user_agent())
        .build()
        .map_err(|e| Error::Exporter(e.to_string()))?;
    Ok(CLIENT.get_or_init(|| client))
}

/// One blocking client for the process (it runs its own runtime thread), built on a thread
/// of its own since reqwest refuses to build one on an async runtime's thread.
fn blocking_client() -> Result<&'static reqwest::blocking::Client, Error> {
    static CLIENT: OnceLock<reqwest::blocking::Client> = OnceLock::new();
    if let Some(client) = CLIENT.get() {
        return Ok(client);
    }
    let client = std::thread::spawn(|| {
        reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .user_agent(user_agent())
            .build()
    })
    .join()
    .map_err(|_| Error::Exporter("building the HTTP client panicked".into()))?
    .map_err(|e| Error::Exporter(e.to_string()))?;
    Ok(CLIENT.get_or_init(|| client))
}
