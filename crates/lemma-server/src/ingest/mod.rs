//! Ingest: from request bytes to committed spans.

pub mod body;
pub mod grpc;
pub mod http;
pub mod writer;

use lemma_core::otlp::{extract_spans, Extracted};
use lemma_core::semconv;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};

/// Decoded request → normalised spans (pure CPU work, no I/O).
pub fn normalise(request: ExportTraceServiceRequest) -> Extracted {
    let mut out = extract_spans(request);
    out.spans.iter_mut().for_each(semconv::normalize);
    out
}

/// The OTLP response: `partial_success` only when something was rejected.
pub fn response(extracted: &Extracted) -> ExportTraceServiceResponse {
    ExportTraceServiceResponse {
        partial_success: (extracted.rejected > 0).then(|| ExportTracePartialSuccess {
            rejected_spans: extracted.rejected as i64,
            error_message: extracted.rejections.join("; "),
        }),
    }
}
