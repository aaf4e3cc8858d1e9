//! `POST /api/v1/proxy/sessions` and `DELETE /api/v1/proxy/sessions/{token}`: a process opens
//! a session for its current span and hands the base URLs to a subprocess, whose model calls
//! through them are then recorded under that span. Lookups are cached for `recent::TTL`, so a
//! session ended through another server sharing the store stops working within that time.

use std::collections::HashMap;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use lemma_store::proxy_sessions::{new_token, TOKEN_PREFIX};
use lemma_store::users::hash_token;
use lemma_store::{Project, ProxySession, Store};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::context::Parent;
use crate::api::{iso, now_unix_nano};
use crate::error::{ApiError, ErrorBody};
use crate::openapi::responses::Keyed;
use crate::recent::Recent;
use crate::server::AppState;

const DEFAULT_TTL_SECONDS: u64 = 24 * 3600;
const MAX_TTL_SECONDS: u64 = 7 * 24 * 3600;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(get, end))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
struct NewProxySession {
    /// The span the calls nest under, as a W3C `traceparent`
    /// (`00-<trace id>-<span id>-<flags>`); without it, each call is a run of its own.
    traceparent: Option<String>,
    /// The thread the calls' runs belong to.
    thread_id: Option<String>,
    /// The end user the calls are made for.
    user_id: Option<String>,
    /// How long the session lasts: 24 hours unless given, at most 7 days.
    ttl_seconds: Option<u64>,
}

#[derive(Serialize, ToSchema)]
struct ProxySessionAnswer {
    /// The session's token: part of the base URLs, and what ends the session.
    token: String,
    expires_at: String,
    base_urls: ProxyBaseUrls,
    /// The environment variables the OpenAI and Anthropic SDKs (and the `claude` CLI) read
    /// their base URLs from, ready to hand to a subprocess.
    env: HashMap<String, String>,
}

#[derive(Serialize, ToSchema)]
struct ProxyBaseUrls {
    /// For OpenAI-compatible clients (`base_url`): chat completions, responses, embeddings.
    openai: String,
    /// For Anthropic clients (`base_url`): messages.
    anthropic: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/proxy/sessions",
    operation_id = "create_proxy_session",
    tag = "proxy",
    request_body = NewProxySession,
    responses(
        (status = 201, description = "The session: base URLs whose model calls are recorded under the given span, with its thread and user.", body = ProxySessionAnswer),
        (status = 400, description = "A malformed `traceparent`, or a `ttl_seconds` of 0 or past 7 days.", body = ErrorBody),
        Keyed,
    )
)]
async fn create(
    State(state): State<AppState>,
    Extension(project): Extension<Project>,
    headers: HeaderMap,
    body: Result<Json<NewProxySession>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(|e| {
        crate::api::json_body(
            e,
            "expected {\"traceparent\", \"thread_id\", \"user_id\", \"ttl_seconds\"}, all optional",
        )
    })?;
    let parent = match body.traceparent.as_deref() {
        Some(text) => Some(Parent::parse(text).ok_or_else(|| {
            ApiError::bad_request(format!(
                "traceparent {text:?} is not a W3C traceparent (00-<32 hex trace id>-<16 hex span id>-<2 hex flags>)"
            ))
        })?),
        None => None,
    };
    let ttl = body.ttl_seconds.unwrap_or(DEFAULT_TTL_SECONDS);
    if ttl == 0 || ttl > MAX_TTL_SECONDS {
        return Err(ApiError::bad_request(format!(
            "ttl_seconds is 1 to {MAX_TTL_SECONDS} (7 days), not {ttl}"
        )));
    }
    let now = now_unix_nano();
    let session = ProxySession {
        project: project.id,
        trace_id: parent.as_ref().map(|p| p.trace_id.clone()),
        parent_span_id: parent.map(|p| p.span_id),
        thread_id: body.thread_id.filter(|t| !t.is_empty()),
        user_id: body.user_id.filter(|u| !u.is_empty()),
        created_at_unix_nano: now,
        expires_at_unix_nano: now + ttl * 1_000_000_000,
    };
    let token = new_token();
    state
        .store
        .create_proxy_session(&hash_token(&token), &session)
        .await?;
    let base = super::public_base(&state, &headers);
    let openai = format!("{base}/proxy/session/{token}/openai/v1");
    let anthropic = format!("{base}/proxy/session/{token}/anthropic");
    let env = HashMap::from([
        ("OPENAI_BASE_URL".to_string(), openai.clone()),
        ("ANTHROPIC_BASE_URL".to_string(), anthropic.clone()),
    ]);
    let answer = ProxySessionAnswer {
        token,
        expires_at: iso(session.expires_at_unix_nano),
        base_urls: ProxyBaseUrls { openai, anthropic },
        env,
    };
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

/// A live session as `lemma proxy` needs it to record a call.
#[derive(Serialize, ToSchema)]
struct ProxySessionBinding {
    /// The span the calls nest under, if any.
    traceparent: Option<String>,
    thread_id: Option<String>,
    user_id: Option<String>,
    expires_at: String,
}

#[utoipa::path(
    get,
    path = "/api/v1/proxy/sessions/{token}",
    operation_id = "get_proxy_session",
    tag = "proxy",
    params(("token" = String, Path, description = "The session's token.")),
    responses(
        (status = 200, description = "The live session: what its calls nest under (how `lemma proxy` records calls for a session of this server).", body = ProxySessionBinding),
        (status = 404, description = "The project has no live session with this token.", body = ErrorBody),
        Keyed,
    )
)]
async fn get(
    State(state): State<AppState>,
    Extension(project): Extension<Project>,
    Path(token): Path<String>,
) -> Result<Json<ProxySessionBinding>, ApiError> {
    let session = state
        .proxy_sessions
        .get(state.store.as_ref(), &token)
        .await?
        .filter(|s| s.project == project.id)
        .ok_or_else(|| unknown(&token))?;
    let traceparent = match (&session.trace_id, &session.parent_span_id) {
        (Some(trace), Some(span)) => Some(format!("00-{trace}-{span}-01")),
        _ => None,
    };
    Ok(Json(ProxySessionBinding {
        traceparent,
        thread_id: session.thread_id,
        user_id: session.user_id,
        expires_at: iso(session.expires_at_unix_nano),
    }))
}

fn unknown(token: &str) -> ApiError {
    ApiError::not_found(format!(
        "proxy session {}…: none live in this project",
        token
            .chars()
            .take(TOKEN_PREFIX.len() + 6)
            .collect::<String>()
    ))
}

#[utoipa::path(
    delete,
    path = "/api/v1/proxy/sessions/{token}",
    operation_id = "end_proxy_session",
    tag = "proxy",
    params(("token" = String, Path, description = "The session's token.")),
    responses(
        (status = 204, description = "Ended: calls through its base URLs are refused from now on (within 5 seconds on other servers sharing the store)."),
        (status = 404, description = "The project has no live session with this token.", body = ErrorBody),
        Keyed,
    )
)]
async fn end(
    State(state): State<AppState>,
    Extension(project): Extension<Project>,
    Path(token): Path<String>,
) -> Result<StatusCode, ApiError> {
    let hash = hash_token(&token);
    if !state.store.end_proxy_session(project.id, &hash).await? {
        return Err(ApiError::not_found(format!(
            "proxy session {}…: none live in this project",
            token
                .chars()
                .take(TOKEN_PREFIX.len() + 6)
                .collect::<String>()
        )));
    }
    state.proxy_sessions.forget(&hash);
    Ok(StatusCode::NO_CONTENT)
}

/// Looked-up sessions, kept for `recent::TTL` so a proxied call costs no store read.
#[derive(Default)]
pub struct Sessions(Recent<Vec<u8>, Option<ProxySession>>);

impl Sessions {
    /// The live session of this token; `None` when there is none.
    pub async fn get(
        &self,
        store: &dyn Store,
        token: &str,
    ) -> Result<Option<ProxySession>, ApiError> {
        let hash = hash_token(token);
        let now = now_unix_nano();
        if let Some(session) = self.0.get(&hash) {
            return Ok(session.filter(|s| s.expires_at_unix_nano > now));
        }
        let session = store.proxy_session(&hash, now).await?;
        self.0.put(hash, session.clone());
        Ok(session)
    }

    fn forget(&self, hash: &[u8]) {
        self.0.forget(&hash.to_vec());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_body_takes_only_known_fields() {
        let body: NewProxySession = serde_json::from_str(
            r#"{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}"#,
        )
        .unwrap();
        assert!(body.traceparent.is_some());
        assert!(serde_json::from_str::<NewProxySession>(r#"{"parent": "x"}"#).is_err());
    }
}
