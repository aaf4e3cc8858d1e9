//! Ingest: from request bytes to committed spans.

pub mod activity;
pub mod body;
pub mod budget;
pub mod grpc;
pub mod http;
pub mod logs;
pub mod writer;

use lemma_core::otlp::{export_request, extract_spans, Extracted};
use lemma_core::redact::Tally;
use lemma_core::{pricing, semconv};
use lemma_store::ProjectId;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use writer::SubmitError;

use crate::server::AppState;

/// Decoded request → redacted, normalised and priced spans → durable commit → the OTLP
/// response. Both receivers (HTTP and gRPC) go through here.
///
/// `received` is the request's protobuf encoding when the receiver has it (an OTLP/HTTP
/// protobuf body), so forwarding need not encode the request again.
pub async fn accept(
    state: &AppState,
    project: ProjectId,
    transport: &'static str,
    request: ExportTraceServiceRequest,
    received: Option<Vec<u8>>,
) -> Result<ExportTraceServiceResponse, SubmitError> {
    let redactor = state.redaction.redactor(project).await?;
    let forwards = state.ingest.forwards();
    let mut tally = Tally::default();
    let (mut extracted, forward) = match redactor.as_ref() {
        // Forwarded as received: the body's bytes, else encoded here, on the request's own
        // task, so the commit only appends them to the queue.
        None => {
            let forward = forwards
                .then(|| received.unwrap_or_else(|| prost::Message::encode_to_vec(&request)));
            (extract_spans(request), forward)
        }
        // Forwarded as stored: what the project's rules remove leaves no server.
        Some(redactor) => {
            let mut extracted = extract_spans(request);
            for span in &mut extracted.spans {
                redactor.span(span, &mut tally);
            }
            let forward =
                forwards.then(|| prost::Message::encode_to_vec(&export_request(&extracted.spans)));
            (extracted, forward)
        }
    };
    extracted.spans.iter_mut().for_each(semconv::normalize);
    // Cached per project: no store query on the hot path once the table is loaded.
    let prices = state.prices.table(project).await?;
    for span in &mut extracted.spans {
        pricing::price_span(span, &prices);
    }
    let response = response(&extracted);
    let now = crate::api::now_unix_nano();
    let seen = activity::observe(&extracted.spans, now);
    state
        .ingest
        .submit(
            extracted.spans.into_iter().map(|s| (project, s)).collect(),
            forward,
        )
        .await?;
    state.redaction.count(project, tally);
    state.activity.received(project, seen);
    if let Some(partial) = &response.partial_success {
        state.activity.refused(
            project,
            partial_refusal(
                transport,
                "traces",
                partial.rejected_spans,
                &partial.error_message,
                now,
            ),
        );
    }
    Ok(response)
}

/// A request stored in part: what was rejected, and why.
pub fn partial_refusal(
    transport: &'static str,
    signal: &'static str,
    rejected: i64,
    message: &str,
    now: u64,
) -> activity::Refusal {
    activity::Refusal {
        at_ns: now,
        reason: "partial".into(),
        status: 200,
        transport,
        signal,
        message: message.to_string(),
        rejected: Some(rejected.max(0) as u64),
    }
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
