//! OTLP/gRPC `TraceService/Export`.

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::TraceService;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tonic::{Request, Response, Status};

use super::writer::SubmitError;
use crate::server::AppState;

pub struct TraceReceiver {
    pub state: AppState,
}

#[tonic::async_trait]
impl TraceService for TraceReceiver {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let meta = request.metadata();
        let get = |k: &str| meta.get(k).and_then(|v| v.to_str().ok());
        let credential = crate::auth::credential(get("authorization"), get("x-api-key"))
            .map_err(|e| Status::unauthenticated(e.message))?;
        let project = crate::auth::authenticate(self.state.store.as_ref(), &credential)
            .await
            .map_err(|e| Status::unauthenticated(e.message))?;
        match super::accept(&self.state.ingest, project.id, request.into_inner()).await {
            Ok(response) => Ok(Response::new(response)),
            // UNAVAILABLE is retryable for OTLP exporters.
            Err(SubmitError::Busy) => Err(Status::unavailable(
                "the ingest queue is full; retry with backoff",
            )),
            Err(SubmitError::ShuttingDown) => Err(Status::unavailable(
                "the server is shutting down; retry shortly",
            )),
            Err(SubmitError::Store(e)) => {
                tracing::error!(error = %e, "commit failed");
                Err(Status::internal("the store failed; see the server log"))
            }
        }
    }
}
