//! OTLP/gRPC `TraceService/Export` (logs: `super::logs`).

use lemma_store::ProjectId;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::TraceService;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status};

use super::writer::SubmitError;
use crate::server::AppState;

/// The project a gRPC call's key belongs to.
pub async fn project(state: &AppState, meta: &MetadataMap) -> Result<ProjectId, Status> {
    let get = |k: &str| meta.get(k).and_then(|v| v.to_str().ok());
    let credential = crate::auth::credential(get("authorization"), get("x-api-key"))
        .map_err(|e| Status::unauthenticated(e.message))?;
    let project = crate::auth::authenticate(state.store.as_ref(), &credential)
        .await
        .map_err(|e| Status::unauthenticated(e.message))?;
    Ok(project.id)
}

pub struct TraceReceiver {
    pub state: AppState,
}

#[tonic::async_trait]
impl TraceService for TraceReceiver {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let project = project(&self.state, request.metadata()).await?;
        match super::accept(&self.state, project, request.into_inner()).await {
            Ok(response) => Ok(Response::new(response)),
            // UNAVAILABLE is retryable for OTLP exporters.
            Err(SubmitError::Busy) => Err(Status::unavailable(
                "the ingest queue is full; retry with backoff",
            )),
            Err(SubmitError::ShuttingDown) => Err(Status::unavailable(
                "the server is shutting down; retry shortly",
            )),
            Err(SubmitError::Store(e)) => Err(crate::error::grpc_status(e)),
        }
    }
}
