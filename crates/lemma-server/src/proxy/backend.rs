//! Where the proxy checks who a call is from and records it: this server's own store and ingest
//! (`lemma serve`), or another Lemma server's API (`lemma proxy`, run beside the agents).

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use lemma_store::{Credential, ProjectId};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use super::context::Binding;
use super::relay::{proxy_error, ProxyError};
use super::remote::Remote;
use crate::auth::access::Access;
use crate::ingest::writer::SubmitError;
use crate::recent::Recent;
use crate::server::AppState;

const SUBMIT_ATTEMPTS: u32 = 8;

#[derive(Clone)]
pub enum Backend {
    Local(AppState, Arc<KeyCache>),
    Remote(Arc<Remote>),
}

/// Keys checked lately for proxied calls, with the project each belongs to: a revoked key
/// stops opening the proxy within `recent::TTL` (the store read, from a pool of connections,
/// is most of what a call would otherwise add under load).
pub type KeyCache = Recent<String, ProjectId>;

/// How a call says whose it is.
pub enum Credentials {
    /// A Lemma key in `X-Lemma-Key`.
    Key,
    /// A proxy session's token, from the path.
    Session(String),
}

/// Where one call's span goes.
pub enum Sink {
    Local { state: AppState, project: ProjectId },
    Remote { remote: Arc<Remote>, key: String },
}

const NO_SESSION: &str =
    "this proxy session does not exist, has expired or was ended: open a new one";

fn lemma_key(headers: &HeaderMap) -> Result<String, ProxyError> {
    headers
        .get("x-lemma-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .ok_or_else(|| {
            proxy_error(
                StatusCode::UNAUTHORIZED,
                "send a Lemma API key in X-Lemma-Key (the Authorization header is the \
                 provider's), or use a proxy session's base URL",
            )
        })
}

impl Backend {
    /// Who the call is from and what it nests under; refused (as the answer to send) when it
    /// has no live session or valid key.
    pub async fn bind(
        &self,
        credentials: Credentials,
        headers: &HeaderMap,
    ) -> Result<(Sink, Binding), ProxyError> {
        match (self, credentials) {
            (Backend::Local(state, _), Credentials::Session(token)) => {
                let session = state
                    .proxy_sessions
                    .get(state.store.as_ref(), &token)
                    .await
                    .map_err(|e| proxy_error(e.status, e.message))?
                    .ok_or_else(|| proxy_error(StatusCode::NOT_FOUND, NO_SESSION))?;
                let sink = Sink::Local {
                    state: state.clone(),
                    project: session.project,
                };
                Ok((sink, Binding::of_session(&session).with_headers(headers)))
            }
            (Backend::Local(state, keys), Credentials::Key) => {
                let key = lemma_key(headers)?;
                let project = match keys.get(&key) {
                    Some(project) => project,
                    None => {
                        let grant = crate::auth::authenticate(
                            state.store.as_ref(),
                            &Credential::Key(key.clone()),
                        )
                        .await
                        .map_err(|e| proxy_error(e.status, e.message))?;
                        crate::auth::check(&grant, Access::Ingest)
                            .map_err(|e| proxy_error(e.status, e.message))?;
                        keys.put(key, grant.project.id);
                        grant.project.id
                    }
                };
                let sink = Sink::Local {
                    state: state.clone(),
                    project,
                };
                Ok((sink, Binding::default().with_headers(headers)))
            }
            (Backend::Remote(remote), Credentials::Session(token)) => {
                let (key, binding) = remote
                    .session(&token)
                    .await?
                    .ok_or_else(|| proxy_error(StatusCode::NOT_FOUND, NO_SESSION))?;
                let sink = Sink::Remote {
                    remote: remote.clone(),
                    key,
                };
                Ok((sink, binding.with_headers(headers)))
            }
            (Backend::Remote(remote), Credentials::Key) => {
                let key = lemma_key(headers)?;
                remote.check_key(&key).await?;
                let sink = Sink::Remote {
                    remote: remote.clone(),
                    key,
                };
                Ok((sink, Binding::default().with_headers(headers)))
            }
        }
    }
}

impl Sink {
    /// Sinks with the same destination can share a request.
    pub fn destination(&self) -> String {
        match self {
            Sink::Local { project, .. } => format!("project {}", project.0),
            Sink::Remote { key, .. } => format!("key {key}"),
        }
    }

    /// Stores the span, retrying while the store or server is busy; a span that still cannot
    /// be stored is logged (its call was answered already).
    pub async fn submit(&self, request: ExportTraceServiceRequest) {
        let mut wait = Duration::from_millis(100);
        for attempt in 1..=SUBMIT_ATTEMPTS {
            let outcome = match self {
                Sink::Local { state, project } => {
                    match crate::ingest::accept(state, *project, "proxy", request.clone(), None)
                        .await
                    {
                        Ok(_) => Ok(()),
                        Err(SubmitError::ShuttingDown) => {
                            Err((false, "the server is shutting down".to_string()))
                        }
                        Err(e) => Err((true, e.to_string())),
                    }
                }
                Sink::Remote { remote, key } => remote.export(key, &request).await,
            };
            match outcome {
                Ok(()) => return,
                Err((retry, why)) if !retry || attempt == SUBMIT_ATTEMPTS => {
                    tracing::warn!(reason = %why, "a proxied model call could not be recorded");
                    return;
                }
                Err(_) => {
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}
