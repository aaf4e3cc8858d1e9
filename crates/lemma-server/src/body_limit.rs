//! Bodies larger than a route reads are refused from their headers: a client that declares a
//! 512 MB body learns at once (413) instead of after sending it. A body without a declared
//! length is bounded while it is read (`DefaultBodyLimit` for the API's extractors,
//! [`buffer_within`] for MCP, `ingest::body` for OTLP).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::error::ApiError;

/// Middleware: 413 when the request's Content-Length exceeds `limit`.
pub async fn refuse_declared_over(
    State(limit): State<usize>,
    request: Request,
    next: Next,
) -> Response {
    if declared_over(&request, limit) {
        return too_large(limit).into_response();
    }
    next.run(request).await
}

/// Middleware for a service that reads bodies its own way (MCP): reads the whole body within
/// `limit` first, so that going over it is our 413 rather than the service's own error.
pub async fn buffer_within(State(limit): State<usize>, request: Request, next: Next) -> Response {
    if declared_over(&request, limit) {
        return too_large(limit).into_response();
    }
    let (parts, body) = request.into_parts();
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return too_large(limit).into_response()
        }
        Err(e) => {
            return ApiError::bad_request(format!("could not read the request body: {e}"))
                .into_response()
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn declared_over(request: &Request, limit: usize) -> bool {
    request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|n| n > limit as u64)
}

pub fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("the request body exceeds this route's limit of {limit} bytes"),
    )
}
