//! OTLP logs: `POST /v1/logs` and gRPC `LogsService/Export`. Records are committed as they come
//! and joined to their spans when spans are read, so they may arrive before or after them.

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use lemma_core::otlp::{decode_logs_request, extract_logs};
use lemma_core::redact::Tally;
use lemma_store::ProjectId;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::LogsService;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use prost::Message;
use tonic::{Request, Status};

use super::writer::SubmitError;
use crate::error::ApiError;
use crate::server::AppState;

/// Decoded request → records → queued and committed like spans → the OTLP response.
pub async fn accept(
    state: &AppState,
    project: ProjectId,
    transport: &'static str,
    request: ExportLogsServiceRequest,
) -> Result<ExportLogsServiceResponse, SubmitError> {
    let redactor = state.redaction.redactor(project).await?;
    let mut extracted = extract_logs(request);
    let mut tally = Tally::default();
    if let Some(redactor) = redactor.as_ref() {
        for record in &mut extracted.spans {
            redactor.log(record, &mut tally);
        }
    }
    let batch = extracted.spans.into_iter().map(|r| (project, r)).collect();
    state.ingest.submit_logs(batch).await?;
    state.redaction.count(project, tally);
    let partial_success = (extracted.rejected > 0).then(|| ExportLogsPartialSuccess {
        rejected_log_records: extracted.rejected as i64,
        error_message: extracted.rejections.join("; "),
    });
    if let Some(p) = &partial_success {
        state.activity.refused(
            project,
            super::partial_refusal(
                transport,
                "logs",
                p.rejected_log_records,
                &p.error_message,
                crate::api::now_unix_nano(),
            ),
        );
    }
    Ok(ExportLogsServiceResponse { partial_success })
}

#[utoipa::path(
    post,
    path = "/v1/logs",
    tag = "ingest",
    // Keys only: a dashboard session does not send data or speak MCP.
    security(("bearer" = []), ("api_key" = []), ("basic" = [])),
    request_body(
        description = "An OTLP ExportLogsServiceRequest: protobuf, or OTLP's JSON mapping; \
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
            description = "Stored: an ExportLogsServiceResponse in the request's encoding \
                           (JSON: `{}`, or `partialSuccess` with the records rejected).",
            content((crate::openapi::otlp::Protobuf = "application/x-protobuf"), (Object = "application/json"))
        ),
        crate::openapi::otlp::OtlpErrors
    )
)]
pub async fn export_logs(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let state = &state;
    super::http::export(
        state,
        &headers,
        body,
        "logs",
        |project, bytes, encoding| async move {
            let request = decode_logs_request(&bytes, encoding)
                .map_err(|e| ApiError::bad_request(e.to_string()))?;
            let response = accept(state, project, "http", request)
                .await
                .map_err(super::http::submit_error)?;
            let json = match &response.partial_success {
                Some(p) => serde_json::json!({"partialSuccess": {
                    "rejectedLogRecords": p.rejected_log_records.to_string(),
                    "errorMessage": p.error_message,
                }}),
                None => serde_json::json!({}),
            };
            Ok((response.encode_to_vec(), json))
        },
    )
    .await
}

pub struct LogsReceiver {
    pub state: AppState,
}

#[tonic::async_trait]
impl LogsService for LogsReceiver {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<tonic::Response<ExportLogsServiceResponse>, Status> {
        let project = super::grpc::project(&self.state, request.metadata()).await?;
        let refused = |e| super::grpc::refused(&self.state, project, "logs", e);
        let _reservation = super::grpc::reserve(&self.state, &request).map_err(refused)?;
        accept(&self.state, project, "grpc", request.into_inner())
            .await
            .map(tonic::Response::new)
            .map_err(|e| refused(super::http::submit_error(e)))
    }
}
