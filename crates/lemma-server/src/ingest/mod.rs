//! Ingest: from request bytes to committed spans.

pub mod body;
pub mod budget;
pub mod grpc;
pub mod http;
pub mod logs;
pub mod writer;

use lemma_core::otlp::{extract_spans, Extracted};
use lemma_core::{pricing, semconv};
use lemma_store::ProjectId;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use writer::SubmitError;

use crate::server::AppState;

/// Decoded request → normalised and priced spans → durable commit → the OTLP response. Both
/// receivers (HTTP and gRPC) go through here.
pub async fn accept(
    state: &AppState,
    project: ProjectId,
    request: ExportTraceServiceRequest,
) -> Result<ExportTraceServiceResponse, SubmitError> {
    // Forwarded as received: encoded here, on the request's own task, so the commit only
    // appends it to the queue.
    let forward = state
        .ingest
        .forwards()
        .then(|| prost::Message::encode_to_vec(&request));
    let mut extracted = normalise(request);
    // Cached per project: no store query on the hot path once the table is loaded.
    let prices = state.prices.table(project).await?;
    for span in &mut extracted.spans {
        pricing::price_span(span, &prices);
    }
    let response = response(&extracted);
    state
        .ingest
        .submit(
            extracted.spans.into_iter().map(|s| (project, s)).collect(),
            forward,
        )
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
