//! The LLM proxy: OpenAI-compatible (`/chat/completions`, `/responses`, `/embeddings`) and
//! Anthropic-compatible (`/v1/messages`) routes that pass each call on to the configured
//! provider, with the client's own provider key, and record it as a GenAI span. A sub-agent
//! nobody instrumented (a CLI, a program in another language) needs only a base URL:
//!
//! - `/proxy/session/{token}/openai/v1`, `/proxy/session/{token}/anthropic`: a proxy session
//!   (`sessions`) names the project and the span the calls nest under;
//! - `/proxy/openai/v1`, `/proxy/anthropic`: a Lemma key in `X-Lemma-Key` names the project;
//!   a `traceparent` header the parent, else each call is a run of its own (grouped by the
//!   `X-Lemma-Thread` header, if any).
//!
//! Only the configured upstreams are called, and only for a valid session or key: the proxy
//! is not an open relay. The provider key passes through and is neither stored nor logged.

mod context;
mod record;
mod relay;
pub mod sessions;

use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use lemma_core::llm_call::{Api, Provider};
use lemma_store::Credential;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::access::Access;
use crate::server::AppState;
use context::Binding;
use record::Recording;
use relay::proxy_error;

/// The proxy's shared parts: one HTTP client (its connection pool) and the session cache.
pub struct Proxy {
    client: reqwest::Client,
    pub sessions: sessions::Sessions,
}

impl Proxy {
    pub fn new() -> anyhow::Result<Proxy> {
        Ok(Proxy {
            client: reqwest::Client::builder()
                // The upstream is configured; a redirect would send the call elsewhere.
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(std::time::Duration::from_secs(10))
                .build()?,
            sessions: sessions::Sessions::default(),
        })
    }
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(openai_chat))
        .routes(routes!(openai_responses))
        .routes(routes!(openai_embeddings))
        .routes(routes!(anthropic_messages))
        .routes(routes!(session_openai_chat))
        .routes(routes!(session_openai_responses))
        .routes(routes!(session_openai_embeddings))
        .routes(routes!(session_anthropic_messages))
}

/// Where links this server hands out point: `--public-url`, else the host the request was
/// sent to (over https when a proxy in front says so).
pub fn public_base(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.config.public_url {
        return url.trim_end_matches('/').to_string();
    }
    let host = headers
        .get("x-forwarded-host")
        .or_else(|| headers.get(axum::http::header::HOST))
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1:4318");
    let scheme = if crate::api::account::over_tls(headers) {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}")
}

/// How a call says whose it is.
enum Credentials {
    Key,
    Session(String),
}

async fn handle(state: AppState, api: Api, credentials: Credentials, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let binding = match bind(&state, credentials, &parts.headers).await {
        Ok(binding) => binding,
        Err(response) => return response,
    };
    // Authenticated first, then the body is read.
    let body = match axum::body::to_bytes(body, state.config.max_body_bytes).await {
        Ok(body) => body,
        Err(_) => {
            return proxy_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the request body is over {} bytes (--max-body-bytes) or broke off",
                    state.config.max_body_bytes
                ),
            )
        }
    };
    let upstream = match api.provider() {
        Provider::OpenAi => &state.config.proxy.openai_upstream,
        Provider::Anthropic => &state.config.proxy.anthropic_upstream,
    };
    let path = match api {
        Api::OpenAiChat => "chat/completions",
        Api::OpenAiResponses => "responses",
        Api::OpenAiEmbeddings => "embeddings",
        Api::AnthropicMessages => "v1/messages",
    };
    let mut url = format!("{}/{path}", upstream.trim_end_matches('/'));
    if let Some(query) = parts.uri.query() {
        url.push('?');
        url.push_str(query);
    }
    let recording = Recording {
        state: state.clone(),
        api,
        binding,
        started: std::time::SystemTime::now(),
    };
    relay::relay(
        &state.proxy.client,
        url,
        &parts.headers,
        body,
        state.config.proxy.timeout,
        recording,
    )
    .await
}

async fn bind(
    state: &AppState,
    credentials: Credentials,
    headers: &HeaderMap,
) -> Result<Binding, Response> {
    match credentials {
        Credentials::Session(token) => {
            let session = state
                .proxy
                .sessions
                .get(state.store.as_ref(), &token)
                .await
                .map_err(|e| proxy_error(e.status, e.message))?
                .ok_or_else(|| {
                    proxy_error(
                        StatusCode::NOT_FOUND,
                        "this proxy session does not exist, has expired or was ended: open a new one",
                    )
                })?;
            Ok(Binding::of(session.project, Some(&session), headers))
        }
        Credentials::Key => {
            let key = headers
                .get("x-lemma-key")
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .ok_or_else(|| {
                    proxy_error(
                        StatusCode::UNAUTHORIZED,
                        "send a Lemma API key in X-Lemma-Key (the Authorization header is the \
                         provider's), or use a proxy session's base URL",
                    )
                })?;
            let grant =
                crate::auth::authenticate(state.store.as_ref(), &Credential::Key(key.into()))
                    .await
                    .map_err(|e| proxy_error(e.status, e.message))?;
            crate::auth::check(&grant, Access::Ingest)
                .map_err(|e| proxy_error(e.status, e.message))?;
            Ok(Binding::of(grant.project.id, None, headers))
        }
    }
}

/// One documented route per API and way of saying whose the call is: the document lists every
/// path a client can call.
macro_rules! proxy_routes {
    ($($keyed:ident, $session:ident, $api:expr, $path:literal, $what:literal;)*) => {$(
        #[utoipa::path(
            post,
            path = concat!("/proxy/", $path),
            operation_id = stringify!($keyed),
            tag = "proxy",
            security(("proxy_key" = [])),
            request_body(content = Object, description = concat!("The provider's ", $what, " request, passed on as sent.")),
            responses(
                (status = 200, description = "The provider's answer, passed on as it comes (JSON, or `text/event-stream` chunk by chunk when streamed); the provider's own errors pass through the same way."),
                (status = 401, description = "No Lemma key in `X-Lemma-Key`, or an unknown or revoked one."),
                (status = 403, description = "A read key: the proxy needs an ingest or admin key."),
                (status = 413, description = "The request body is over `--max-body-bytes`."),
                (status = 502, description = "The provider could not be reached, or its answer broke off."),
                (status = 504, description = "The provider did not answer within `--proxy-timeout`."),
            )
        )]
        async fn $keyed(State(state): State<AppState>, request: Request) -> Response {
            handle(state, $api, Credentials::Key, request).await
        }

        #[utoipa::path(
            post,
            path = concat!("/proxy/session/{token}/", $path),
            operation_id = stringify!($session),
            tag = "proxy",
            security(()),
            params(("token" = String, Path, description = "A proxy session's token (`POST /api/v1/proxy/sessions`), which is the credential: the call is recorded in its project, under its span.")),
            request_body(content = Object, description = concat!("The provider's ", $what, " request, passed on as sent.")),
            responses(
                (status = 200, description = "The provider's answer, passed on as it comes (JSON, or `text/event-stream` chunk by chunk when streamed); the provider's own errors pass through the same way."),
                (status = 404, description = "No live proxy session has this token (it expired or was ended)."),
                (status = 413, description = "The request body is over `--max-body-bytes`."),
                (status = 502, description = "The provider could not be reached, or its answer broke off."),
                (status = 504, description = "The provider did not answer within `--proxy-timeout`."),
            )
        )]
        async fn $session(
            State(state): State<AppState>,
            Path(token): Path<String>,
            request: Request,
        ) -> Response {
            handle(state, $api, Credentials::Session(token), request).await
        }
    )*};
}

proxy_routes! {
    openai_chat, session_openai_chat, Api::OpenAiChat, "openai/v1/chat/completions", "chat completions";
    openai_responses, session_openai_responses, Api::OpenAiResponses, "openai/v1/responses", "Responses API";
    openai_embeddings, session_openai_embeddings, Api::OpenAiEmbeddings, "openai/v1/embeddings", "embeddings";
    anthropic_messages, session_anthropic_messages, Api::AnthropicMessages, "anthropic/v1/messages", "messages";
}
