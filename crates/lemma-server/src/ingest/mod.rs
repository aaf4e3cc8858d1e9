//! Ingest: from request bytes to committed spans.

pub mod body;
pub mod grpc;
pub mod http;
pub mod writer;

use lemma_core::otlp::{extract_spans, Extracted};
use lemma_core::semconv;
use lemma_store::ProjectId;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use writer::{Ingest, SubmitError};

/// Decoded request → normalised spans → durable commit → the OTLP response. Both receivers
/// (HTTP and gRPC) go through here.
pub async fn accept(
    ingest: &Ingest,
    project: ProjectId,
    request: ExportTraceServiceRequest,
) -> Result<ExportTraceServiceResponse, SubmitError> {
    let extracted = normalise(request);
    let response = response(&extracted);
    ingest
        .submit(extracted.spans.into_iter().map(|s| (project, s)).collect())
        .await?;
    Ok(response)
}

/// Pure CPU work, no I/O.
fn normalise(request: ExportTraceServiceRequest) -> Extracted {
    let mut out = extract_spans(request);
    out.spans.iter_mut().for_each(semconv::normalize);
    out
}

/// The OTLP response: `partial_success` only when something was rejected.
fn response(extracted: &Extracted) -> ExportTraceServiceResponse {
    ExportTraceServiceResponse {
        partial_success: (extracted.rejected > 0).then(|| ExportTracePartialSuccess {
            rejected_spans: extracted.rejected as i64,
            error_message: extracted.rejections.join("; "),
        }),
    }
}
