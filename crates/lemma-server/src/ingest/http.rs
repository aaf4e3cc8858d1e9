//! OTLP/HTTP: `POST /v1/traces` (and the Langfuse path), protobuf or JSON, compressed or not.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use lemma_core::otlp::{decode_trace_request, Encoding, RpcStatus};
use lemma_store::ProjectId;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use std::future::Future;

use super::writer::SubmitError;
use crate::error::ApiError;
use crate::openapi::otlp::OtlpErrors;
use crate::server::AppState;

#[utoipa::path(
    post,
    path = "/v1/traces",
    tag = "ingest",
    // Keys only: a dashboard session does not send data or speak MCP.
    security(("bearer" = []), ("api_key" = []), ("basic" = [])),
    request_body(
        description = "An OTLP ExportTraceServiceRequest: protobuf, or OTLP's JSON mapping; \
                       optionally gzip or deflate (Content-Encoding). At most \
                       `--max-body-bytes` as sent and decompressed.",
        content(
            (crate::openapi::otlp::Protobuf = "application/x-protobuf"),
            (Object = "application/json"),
        )
    ),
    responses(
        (
            status = 200,
            description = "Stored: an ExportTraceServiceResponse in the request's encoding \
                           (JSON: `{}`, or `partialSuccess` with the spans rejected).",
            content((crate::openapi::otlp::Protobuf = "application/x-protobuf"), (Object = "application/json"))
        ),
        OtlpErrors
    )
)]
pub async fn export_traces(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let state = &state;
    export(
        state,
        &headers,
        body,
        "traces",
        |project, bytes, encoding| async move {
            let request = decode_trace_request(&bytes, encoding)
                .map_err(|e| ApiError::bad_request(e.to_string()))?;
            // A protobuf body (decompressed) is the request's encoding: forwarded as is.
            let received = (encoding == Encoding::Protobuf).then_some(bytes);
            let response = super::accept(state, project, "http", request, received)
                .await
                .map_err(submit_error)?;
            Ok((response.encode_to_vec(), json_response(&response)))
        },
    )
    .await
}

/// The path the Langfuse SDKs export to: the same receiver as `/v1/traces`.
#[utoipa::path(
    post,
    path = "/api/public/otel/v1/traces",
    tag = "ingest",
    // Keys only: a dashboard session does not send data or speak MCP.
    security(("bearer" = []), ("api_key" = []), ("basic" = [])),
    request_body(
        description = "As `POST /v1/traces`.",
        content(
            (crate::openapi::otlp::Protobuf = "application/x-protobuf"),
            (Object = "application/json"),
        )
    ),
    responses(
        (
            status = 200,
            description = "As `POST /v1/traces`.",
            content((crate::openapi::otlp::Protobuf = "application/x-protobuf"), (Object = "application/json"))
        ),
        OtlpErrors
    )
)]
pub async fn export_traces_langfuse(
    state: State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    export_traces(state, headers, body).await
}

/// The HTTP side every OTLP signal shares: the encoding, authentication and the body's limits,
/// then `signal` answers with its response in both encodings. Errors are answered in the
/// request's encoding (a google.rpc.Status), as OTLP asks.
pub(super) async fn export<F, Fut>(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    signal_name: &'static str,
    signal: F,
) -> Response
where
    F: FnOnce(ProjectId, Vec<u8>, Encoding) -> Fut,
    Fut: Future<Output = Result<(Vec<u8>, serde_json::Value), ApiError>>,
{
    let encoding = match super::body::encoding(headers) {
        Ok(e) => e,
        Err(e) => return e.into_response(),
    };
    let answer = async {
        let grant = match crate::auth::from_headers(state.store.as_ref(), headers).await {
            Ok(grant) => grant,
            Err(e) => {
                state
                    .activity
                    .refused_unattributed(e.code, crate::api::now_unix_nano());
                return Err(e);
            }
        };
        if let Err(e) = crate::auth::check(&grant, crate::auth::access::Access::Ingest) {
            state
                .activity
                .refused(grant.project.id, refusal(&e, "http", signal_name));
            return Err(e);
        }
        let project = grant.project;
        // Held until the answer: the body's bytes, then what was decoded from them, are in
        // memory until the commit.
        let mut reservation = state.budget.reservation();
        let answer =
            match super::body::read(headers, body, state.config.max_body_bytes, &mut reservation)
                .await
            {
                Ok(bytes) => signal(project.id, bytes, encoding).await,
                Err(e) => Err(e),
            };
        drop(reservation);
        if let Err(e) = &answer {
            state
                .activity
                .refused(project.id, refusal(e, "http", signal_name));
        }
        answer
    };
    match (answer.await, encoding) {
        (Ok((protobuf, _)), Encoding::Protobuf) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-protobuf"),
            )],
            protobuf,
        )
            .into_response(),
        (Ok((_, json)), Encoding::Json) => axum::Json(json).into_response(),
        (Err(e), _) => otlp_error(e, encoding),
    }
}

/// A refused request as the health page lists it.
pub(super) fn refusal(
    e: &ApiError,
    transport: &'static str,
    signal: &'static str,
) -> super::activity::Refusal {
    super::activity::Refusal {
        at_ns: crate::api::now_unix_nano(),
        reason: e.code.to_string(),
        status: e.status.as_u16(),
        transport,
        signal,
        message: e.message.clone(),
        rejected: None,
    }
}

/// OTLP/JSON response: `{}` on full success; 64-bit counts as strings, per the OTLP JSON mapping.
fn json_response(r: &ExportTraceServiceResponse) -> serde_json::Value {
    match &r.partial_success {
        Some(p) => serde_json::json!({"partialSuccess": {
            "rejectedSpans": p.rejected_spans.to_string(), "errorMessage": p.error_message,
        }}),
        None => serde_json::json!({}),
    }
}

pub fn submit_error(e: SubmitError) -> ApiError {
    match e {
        SubmitError::Busy => ApiError::busy(),
        SubmitError::ShuttingDown => ApiError {
            retry_after: Some(5),
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "shutting_down",
                "the server is shutting down; retry shortly",
            )
        },
        SubmitError::Store(e) => e.into(),
    }
}

pub(super) fn otlp_error(e: ApiError, encoding: Encoding) -> Response {
    let status = RpcStatus {
        code: e.grpc_code(),
        message: e.message.clone(),
    };
    let mut resp = match encoding {
        Encoding::Protobuf => (
            e.status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-protobuf"),
            )],
            status.encode_to_vec(),
        )
            .into_response(),
        // Both the OTLP Status fields and Lemma's error object, so either kind of client reads it.
        Encoding::Json => (
            e.status,
            axum::Json(serde_json::json!({
                "code": status.code, "message": status.message,
                "error": {"code": e.code, "message": e.message},
            })),
        )
            .into_response(),
    };
    if let Some(s) = e.retry_after {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(s));
    }
    resp
}
