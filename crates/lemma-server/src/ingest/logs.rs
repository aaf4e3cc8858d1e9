//! OTLP logs: `POST /v1/logs` and gRPC `LogsService/Export`. Records are committed as they come
//! and joined to their spans when spans are read, so they may arrive before or after them.

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use lemma_core::otlp::{decode_logs_request, extract_logs};
use lemma_store::{ProjectId, Store};
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::LogsService;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use prost::Message;
use tonic::{Request, Status};

use crate::error::ApiError;
use crate::server::AppState;

/// Decoded request → records → durable commit → the OTLP response.
pub async fn accept(
    store: &dyn Store,
    project: ProjectId,
    request: ExportLogsServiceRequest,
) -> Result<ExportLogsServiceResponse, lemma_store::StoreError> {
    let extracted = extract_logs(request);
    let batch = extracted.spans.into_iter().map(|r| (project, r)).collect();
    store.write_logs(batch).await?;
    Ok(ExportLogsServiceResponse {
        partial_success: (extracted.rejected > 0).then(|| ExportLogsPartialSuccess {
            rejected_log_records: extracted.rejected as i64,
            error_message: extracted.rejections.join("; "),
        }),
    })
}

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
        |project, bytes, encoding| async move {
            let request = decode_logs_request(&bytes, encoding)
                .map_err(|e| ApiError::bad_request(e.to_string()))?;
            let response = accept(state.store.as_ref(), project, request).await?;
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
        match accept(self.state.store.as_ref(), project, request.into_inner()).await {
            Ok(response) => Ok(tonic::Response::new(response)),
            Err(e) => Err(crate::error::grpc_status(e)),
        }
    }
}
