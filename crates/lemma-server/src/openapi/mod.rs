//! The OpenAPI document, served at `GET /api/v1/openapi.json`.
//!
//! Routes are registered with `utoipa_axum`'s `routes!`, which adds a handler and its
//! `#[utoipa::path]` together, so the document is assembled from the router itself rather than
//! from a list kept beside it. This module holds what is not a route: the document's header,
//! the security schemes, and the shared parameters and answers.

pub mod otlp;
pub mod params;
pub mod responses;

use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Extension;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi as Document;
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::error::ErrorBody;
use crate::server::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Lemma",
        description = "Lemma's HTTP interface: the REST API under `/api/v1`, OTLP/HTTP ingest \
                       and MCP. Every route but this document, `/healthz` and signing in takes \
                       the project's API key, in any of the three ways the security schemes \
                       name; the REST API also takes a dashboard session (the `lemma_session` \
                       cookie from `POST /api/v1/auth/login`, the project in `X-Lemma-Project`, \
                       and `X-CSRF-Token` on requests that change something).",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    modifiers(&KeySchemes),
    security(("bearer" = []), ("api_key" = []), ("basic" = []), ("session" = [])),
    components(schemas(ErrorBody, otlp::OtlpError, otlp::Protobuf)),
    tags(
        (name = "runs", description = "Runs (one trace each), whole or in windows, and their spans."),
        (name = "spans", description = "Span search across runs."),
        (name = "threads", description = "Runs sharing a thread."),
        (name = "metrics", description = "Metric events posted to runs."),
        (name = "prices", description = "The price table and the project's own prices."),
        (name = "stats", description = "Aggregates over runs in a time range."),
        (name = "project", description = "The key's project."),
        (name = "ingest", description = "OTLP/HTTP receivers (OTLP/gRPC is served on its own port)."),
        (name = "mcp", description = "The Model Context Protocol over Streamable HTTP."),
        (name = "server", description = "The server itself."),
        (name = "auth", description = "Signing in to the dashboard as a person (`lemma users`)."),
        (name = "keys", description = "The project's API keys and their scopes."),
        (name = "members", description = "The people of the project and their roles."),
        (name = "proxy", description = "The LLM proxy: OpenAI- and Anthropic-compatible routes that pass model calls on to the configured provider and record each as a span, and the sessions that bind them to a parent span."),
    )
)]
struct Header;

/// The three ways a key is accepted, and the session cookie (`crate::auth`).
struct KeySchemes;

impl Modify for KeySchemes {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("`Authorization: Bearer <key>`"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "x-api-key",
                "`x-api-key: <key>`",
            ))),
        );
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "Langfuse style: the key's public key as the user name and the key \
                         as the password.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "proxy_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Lemma-Key",
                "A Lemma API key (ingest or admin) on an LLM proxy call, whose own \
                 `Authorization` or `x-api-key` header is the provider's key, passed on.",
            ))),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "lemma_session",
                "A dashboard session from `POST /api/v1/auth/login` (HttpOnly, SameSite=Strict).",
            ))),
        );
    }
}

/// A router whose document starts with the header and the security schemes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(Header::openapi())
}

/// The finished document as served, built once.
#[derive(Clone)]
pub struct Served(Bytes);

impl Served {
    pub fn new(doc: &Document) -> Served {
        Served(
            doc.to_pretty_json()
                .expect("the OpenAPI document serialises")
                .into(),
        )
    }
}

/// The document itself. It holds no project data, so it is public like the dashboard's files,
/// and it reads no body.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "server",
    security(()),
    responses((status = 200, description = "This document (OpenAPI 3.1).", content_type = "application/json"))
)]
pub async fn openapi_json(Extension(served): Extension<Served>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], served.0)
}
