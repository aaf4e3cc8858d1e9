//! `lemma proxy`'s view of the Lemma server it records into: sessions and keys checked through
//! its API (and kept for `recent::TTL`), spans sent to its OTLP/HTTP endpoint.

use std::time::Duration;

use axum::http::StatusCode;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use serde::Deserialize;

use super::context::{Binding, Parent};
use super::relay::{proxy_error, ProxyError};
use crate::recent::Recent;

const API_TIMEOUT: Duration = Duration::from_secs(10);

/// A session as the server's `GET /api/v1/proxy/sessions/{token}` answers it.
#[derive(Deserialize)]
struct SessionAnswer {
    traceparent: Option<String>,
    thread_id: Option<String>,
    user_id: Option<String>,
}

pub struct Remote {
    /// The server's base URL.
    url: String,
    /// The key sessions are looked up and recorded with: sessions are its project's.
    key: Option<String>,
    client: reqwest::Client,
    sessions: Recent<String, Option<Binding>>,
    keys: Recent<String, ()>,
}

fn unavailable(url: &str, e: impl std::fmt::Display) -> ProxyError {
    proxy_error(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("the Lemma server at {url} did not answer: {e}"),
    )
}

impl Remote {
    pub fn new(url: &str, key: Option<String>) -> anyhow::Result<Remote> {
        Ok(Remote {
            url: url.trim_end_matches('/').to_string(),
            key: key.filter(|k| !k.is_empty()),
            client: reqwest::Client::builder().timeout(API_TIMEOUT).build()?,
            sessions: Recent::default(),
            keys: Recent::default(),
        })
    }

    /// The session's key (to record with) and binding; `None` when the server has no live one
    /// in this proxy's project.
    pub async fn session(&self, token: &str) -> Result<Option<(String, Binding)>, ProxyError> {
        let Some(key) = self.key.clone() else {
            return Err(proxy_error(
                StatusCode::NOT_FOUND,
                "this proxy was started without --api-key, so it takes no proxy sessions: send \
                 X-Lemma-Key to its /proxy/openai/v1 and /proxy/anthropic routes instead",
            ));
        };
        let binding = match self.sessions.get(&token.to_string()) {
            Some(binding) => binding,
            None => {
                let binding = self.fetch_session(&key, token).await?;
                self.sessions.put(token.to_string(), binding.clone());
                binding
            }
        };
        Ok(binding.map(|b| (key, b)))
    }

    async fn fetch_session(&self, key: &str, token: &str) -> Result<Option<Binding>, ProxyError> {
        let url = format!("{}/api/v1/proxy/sessions/{token}", self.url);
        let answer = self
            .client
            .get(&url)
            .bearer_auth(key)
            .send()
            .await
            .map_err(|e| unavailable(&self.url, e))?;
        match answer.status() {
            StatusCode::NOT_FOUND => Ok(None),
            status if status.is_success() => {
                let session: SessionAnswer =
                    answer.json().await.map_err(|e| unavailable(&self.url, e))?;
                Ok(Some(Binding {
                    parent: session.traceparent.as_deref().and_then(Parent::parse),
                    thread_id: session.thread_id,
                    user_id: session.user_id,
                }))
            }
            status => {
                // The proxy's own key was refused: the caller can do nothing about it.
                let why = message(answer).await;
                Err(proxy_error(
                    StatusCode::BAD_GATEWAY,
                    format!(
                        "the Lemma server at {} refused this proxy's --api-key ({status}): {why}",
                        self.url
                    ),
                ))
            }
        }
    }

    /// Whether the server takes this key (checked once per `recent::TTL`).
    pub async fn check_key(&self, key: &str) -> Result<(), ProxyError> {
        if self.keys.get(&key.to_string()).is_some() {
            return Ok(());
        }
        let answer = self
            .client
            .get(format!("{}/api/v1/project", self.url))
            .bearer_auth(key)
            .send()
            .await
            .map_err(|e| unavailable(&self.url, e))?;
        let status = answer.status();
        if !status.is_success() {
            return Err(proxy_error(status, message(answer).await));
        }
        self.keys.put(key.to_string(), ());
        Ok(())
    }

    /// Sends the span to the server's OTLP/HTTP endpoint. `Err((retry, why))`.
    pub async fn export(
        &self,
        key: &str,
        request: &ExportTraceServiceRequest,
    ) -> Result<(), (bool, String)> {
        let answer = self
            .client
            .post(format!("{}/v1/traces", self.url))
            .bearer_auth(key)
            .header("content-type", "application/x-protobuf")
            .body(prost::Message::encode_to_vec(request))
            .send()
            .await
            .map_err(|e| (true, format!("sending to {}: {e}", self.url)))?;
        let status = answer.status();
        if status.is_success() {
            return Ok(());
        }
        let retry = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
        Err((retry, format!("{} answered {status}", self.url)))
    }
}

/// The message of the server's refusal.
async fn message(answer: reqwest::Response) -> String {
    let body: serde_json::Value = answer.json().await.unwrap_or_default();
    body["error"]["message"]
        .as_str()
        .unwrap_or("the Lemma server refused the request")
        .to_string()
}
