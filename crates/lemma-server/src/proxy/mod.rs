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

mod backend;
mod context;
mod record;
mod relay;
mod remote;
pub mod sessions;
pub mod standalone;

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use lemma_core::llm_call::{Api, Provider};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::ProxyConfig;
use crate::server::AppState;
use backend::{Backend, Credentials};
use record::Recording;
use relay::proxy_error;

pub use remote::Remote;

/// What the proxy's routes need: where calls go and where they are recorded.
#[derive(Clone)]
pub struct ProxyState {
    backend: Backend,
    /// One HTTP client to the upstreams, so their connections are pooled.
    client: reqwest::Client,
    config: Arc<ProxyConfig>,
    max_body_bytes: usize,
    recorder: record::Recorder,
}

impl ProxyState {
    fn new(backend: Backend, config: ProxyConfig, max_body_bytes: usize) -> anyhow::Result<Self> {
        Ok(ProxyState {
            backend,
            client: reqwest::Client::builder()
                // The upstream is configured; a redirect would send the call elsewhere.
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(std::time::Duration::from_secs(10))
                .build()?,
            config: Arc::new(config),
            max_body_bytes,
            recorder: record::Recorder::start()?,
        })
    }

    /// The proxy of `lemma serve`: sessions and keys from its store, spans through its ingest.
    pub fn local(state: &AppState) -> anyhow::Result<Self> {
        ProxyState::new(
            Backend::Local(state.clone(), Arc::default()),
            state.config.proxy.clone(),
            state.config.max_body_bytes,
        )
    }

    /// `lemma proxy`: sessions and keys checked by another Lemma server, spans sent to it.
    pub fn remote(
        remote: Remote,
        config: ProxyConfig,
        max_body_bytes: usize,
    ) -> anyhow::Result<Self> {
        ProxyState::new(Backend::Remote(Arc::new(remote)), config, max_body_bytes)
    }
}

pub fn routes() -> OpenApiRouter<ProxyState> {
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

async fn handle(
    state: ProxyState,
    api: Api,
    credentials: Credentials,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let (sink, binding) = match state.backend.bind(credentials, &parts.headers).await {
        Ok(bound) => bound,
        Err(refused) => return refused.into_response(),
    };
    // Authenticated first, then the body is read.
    let body = match axum::body::to_bytes(body, state.max_body_bytes).await {
        Ok(body) => body,
        Err(_) => {
            return proxy_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the request body is over {} bytes (--max-body-bytes) or broke off",
                    state.max_body_bytes
                ),
            )
            .into_response()
        }
    };
    let upstream = match api.provider() {
        Provider::OpenAi => &state.config.openai_upstream,
        Provider::Anthropic => &state.config.anthropic_upstream,
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
        recorder: state.recorder.clone(),
        sink,
        api,
        binding,
        started: std::time::SystemTime::now(),
    };
    relay::relay(
        &state.client,
        url,
        &parts.headers,
        body,
        state.config.timeout,
        recording,
    )
    .await
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
        async fn $keyed(State(state): State<ProxyState>, request: Request) -> Response {
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
            State(state): State<ProxyState>,
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
