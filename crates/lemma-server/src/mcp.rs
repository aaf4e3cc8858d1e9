//! MCP over Streamable HTTP at `/mcp`: `lemma_mcp`'s tools, answered by this server's own REST
//! API in-process, with the caller's key.

use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap};
use axum::middleware;
use axum::Router;
use http_body_util::{BodyExt, Limited};
use lemma_mcp::{Api, ApiCall, ApiFailure};
use serde_json::Value;
use tower::ServiceExt;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::error::ErrorBody;
use crate::openapi::responses::Keyed;
use crate::server::AppState;

/// The largest MCP request read: tool calls are small JSON-RPC messages.
const MAX_REQUEST_BYTES: usize = 1024 * 1024;

/// The largest API answer a tool reads: a run of tens of thousands of spans fits.
const MAX_ANSWER_BYTES: usize = 256 * 1024 * 1024;

/// The headers that carry an API key, copied from the MCP request onto each API call.
const KEY_HEADERS: [header::HeaderName; 2] = [
    header::AUTHORIZATION,
    header::HeaderName::from_static("x-api-key"),
];

/// MCP is a service of its own, not a handler `routes!` can register, so its operation is
/// documented here beside the one line that serves it.
#[derive(OpenApi)]
#[openapi(paths(mcp))]
struct McpDoc;

#[utoipa::path(
    post,
    path = "/mcp",
    operation_id = "mcp",
    tag = "mcp",
    // Keys only: a dashboard session does not send data or speak MCP.
    security(("bearer" = []), ("api_key" = []), ("basic" = [])),
    request_body(
        description = "A JSON-RPC message of the Model Context Protocol (Streamable HTTP). At \
                       most 1 MiB. Send `Accept: application/json, text/event-stream`.",
        content((Object = "application/json"))
    ),
    responses(
        (status = 200, description = "The JSON-RPC answer (tool lists, tool results).", content((Object = "application/json"))),
        (status = 202, description = "A notification or response was accepted."),
        (status = 400, description = "Not a JSON-RPC message, or an unknown session."),
        (status = 406, description = "The Accept header does not allow the answer's types."),
        (status = 413, description = "The body is over 1 MiB.", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`."),
        Keyed
    )
)]
#[allow(dead_code)]
fn mcp() {}

pub fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    let (api, _) = crate::api::routes(state).split_for_parts();
    let api = Arc::new(InProcessApi {
        router: api.with_state(state.clone()),
    });
    // A client without a valid key learns so at connection time (401, with how to send a
    // key) rather than at its first tool call.
    OpenApiRouter::with_openapi(McpDoc::openapi())
        .route_service("/mcp", lemma_mcp::http_service(api))
        .route_layer(middleware::from_fn_with_state(
            MAX_REQUEST_BYTES,
            crate::body_limit::buffer_within,
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            crate::auth::require_project,
        ))
}

/// The REST API as a tower service, called without a network hop.
struct InProcessApi {
    router: Router,
}

#[async_trait]
impl Api for InProcessApi {
    async fn call(&self, call: ApiCall, caller: Option<&HeaderMap>) -> Result<Value, ApiFailure> {
        let mut request = Request::builder()
            .method(call.method)
            .uri(&call.path_and_query);
        for name in KEY_HEADERS {
            if let Some(value) = caller.and_then(|h| h.get(&name)) {
                request = request.header(name, value);
            }
        }
        let body = match call.body {
            Some(json) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        let request = request
            .body(body)
            .map_err(|e| ApiFailure::Unreachable(format!("bad API request: {e}")))?;
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .unwrap_or_else(|never| match never {});
        let status = response.status();
        let bytes = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
            .map_err(|e| ApiFailure::Unreachable(format!("reading the API's answer: {e}")))?
            .to_bytes();
        let body: Value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiFailure::Unreachable(format!("the API answered non-JSON: {e}")))?;
        ApiFailure::check(status.as_u16(), body)
    }
}
