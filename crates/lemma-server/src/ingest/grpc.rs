//! OTLP/gRPC `TraceService/Export` (logs: `super::logs`).

use lemma_store::ProjectId;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::TraceService;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use tonic::codegen::http;
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status};

use super::budget::Reservation;
use crate::error::ApiError;
use crate::server::AppState;

/// The project a gRPC call's key belongs to.
pub async fn project(state: &AppState, meta: &MetadataMap) -> Result<ProjectId, Status> {
    let get = |k: &str| meta.get(k).and_then(|v| v.to_str().ok());
    let grant = match crate::auth::credential(get("authorization"), get("x-api-key")) {
        Ok(credential) => crate::auth::authenticate(state.store.as_ref(), &credential).await,
        Err(e) => Err(e),
    };
    let project = grant.and_then(|g| {
        crate::auth::check(&g, crate::auth::access::Access::Ingest).map(|()| g.project.id)
    });
    project.map_err(|e| {
        state
            .activity
            .refused_unattributed(e.code, crate::api::now_unix_nano());
        e.grpc_status()
    })
}

/// Records a call the project's key got refused, as the health page lists it.
pub fn refused(state: &AppState, project: ProjectId, signal: &'static str, e: ApiError) -> Status {
    state
        .activity
        .refused(project, super::http::refusal(&e, "grpc", signal));
    e.grpc_status()
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
        let _reservation = reserve(&self.state, &request)
            .map_err(|e| refused(&self.state, project, "traces", e))?;
        super::accept(&self.state, project, "grpc", request.into_inner(), None)
            .await
            .map(Response::new)
            .map_err(|e| refused(&self.state, project, "traces", super::http::submit_error(e)))
    }
}

/// Holds the decoded message's size from the in-flight budget until the answer (tonic has
/// already read it, within `--max-body-bytes`), or refuses with UNAVAILABLE.
pub fn reserve<M: Message>(
    state: &AppState,
    request: &Request<M>,
) -> Result<Reservation, ApiError> {
    let mut reservation = state.budget.reservation();
    reservation.grow(request.get_ref().encoded_len())?;
    Ok(reservation)
}

/// The statuses tonic answers for a request it could not decode, in the OTLP spec's terms.
/// tonic says INTERNAL for a malformed message and OUT_OF_RANGE for one over the size limit;
/// the first blames the server, and exporters retry the second forever. Both are the client's
/// request: INVALID_ARGUMENT, which OTLP exporters do not retry.
pub fn otlp_status(
    mut response: http::Response<tonic::body::Body>,
) -> http::Response<tonic::body::Body> {
    let Some(status) = Status::from_header_map(response.headers()) else {
        return response;
    };
    let message = status.message();
    let rewritten = match status.code() {
        tonic::Code::OutOfRange if message.contains("message length too large") => {
            Status::invalid_argument(format!(
                "{message}: export smaller batches, or raise the server's --max-body-bytes"
            ))
        }
        tonic::Code::Internal if is_decoding_error(message) => Status::invalid_argument(format!(
            "the request is not a valid OTLP message: {message}"
        )),
        _ => return response,
    };
    let _ = rewritten.add_header(response.headers_mut());
    response
}

fn is_decoding_error(message: &str) -> bool {
    const DECODING: [&str; 4] = [
        "failed to decode",
        "Error decompressing",
        "protocol error",
        "Unexpected EOF",
    ];
    DECODING.iter().any(|d| message.starts_with(d))
}

pub type OtlpStatusLayer = tower::util::MapResponseLayer<
    fn(http::Response<tonic::body::Body>) -> http::Response<tonic::body::Body>,
>;

pub fn otlp_status_layer() -> OtlpStatusLayer {
    tower::util::MapResponseLayer::new(otlp_status)
}
