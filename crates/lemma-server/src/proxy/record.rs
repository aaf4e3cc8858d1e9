//! A finished call, recorded: one GenAI span built from the bodies (`lemma_core::llm_call`), sent
//! through ingest like an exporter's span (`backend::Sink`), so redaction, normalisation,
//! pricing, forwarding and the durable commit all apply. Recording happens after the client
//! has its answer and never delays it.

use std::time::{SystemTime, UNIX_EPOCH};

use lemma_core::llm_call::{self, Api, Call};
use lemma_core::value::map_to_key_values;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    span, status, ResourceSpans, ScopeSpans, Span, Status,
};
use rand::RngCore;
use serde_json::json;

use super::backend::Sink;
use super::context::Binding;

/// The service the proxy's spans are recorded as.
pub const SERVICE_NAME: &str = "lemma-proxy";

/// A call in flight: where it is recorded and under what, from its start.
pub struct Recording {
    pub sink: Sink,
    pub api: Api,
    pub binding: Binding,
    pub started: SystemTime,
}

impl Recording {
    /// Records the call, on its own task.
    pub fn finish(self, call: Call) {
        let ended = SystemTime::now();
        tokio::spawn(async move {
            let request = request(self.api, &self.binding, self.started, &call, ended);
            self.sink.submit(request).await;
        });
    }
}

fn unix_nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

fn random_bytes<const N: usize>() -> Vec<u8> {
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    bytes.to_vec()
}

/// The call as one span in an OTLP export request.
fn request(
    api: Api,
    binding: &Binding,
    started: SystemTime,
    call: &Call,
    ended: SystemTime,
) -> ExportTraceServiceRequest {
    let mut attributes = llm_call::attributes(api, call);
    if let Some(thread) = &binding.thread_id {
        attributes.insert("lemma.thread_id".into(), json!(thread));
    }
    if let Some(user) = &binding.user_id {
        attributes.insert("lemma.user_id".into(), json!(user));
    }
    let (trace_id, parent_span_id) = match &binding.parent {
        Some(parent) => (
            hex::decode(&parent.trace_id).unwrap_or_default(),
            hex::decode(&parent.span_id).unwrap_or_default(),
        ),
        None => (random_bytes::<16>(), Vec::new()),
    };
    let error = llm_call::error(call);
    let span = Span {
        trace_id,
        span_id: random_bytes::<8>(),
        parent_span_id,
        name: llm_call::span_name(api, call),
        kind: span::SpanKind::Client as i32,
        start_time_unix_nano: unix_nanos(started),
        // A call always lasts at least a nanosecond, so its end is after its start.
        end_time_unix_nano: unix_nanos(ended).max(unix_nanos(started) + 1),
        attributes: map_to_key_values(&attributes),
        status: Some(Status {
            code: if error.is_some() {
                status::StatusCode::Error
            } else {
                status::StatusCode::Unset
            } as i32,
            message: error.unwrap_or_default(),
        }),
        ..Default::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: map_to_key_values(&serde_json::Map::from_iter([(
                    "service.name".to_string(),
                    json!(SERVICE_NAME),
                )])),
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "lemma.proxy".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    ..Default::default()
                }),
                spans: vec![span],
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::context::Parent;

    #[test]
    fn a_bound_call_is_a_child_of_its_parent_with_the_runs_thread_and_user() {
        let binding = Binding {
            parent: Some(Parent {
                trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
                span_id: "b7ad6b7169203331".into(),
            }),
            thread_id: Some("t-1".into()),
            user_id: Some("u-1".into()),
        };
        let call = Call {
            request: Some(json!({"model": "gpt-4o", "messages": []})),
            status: Some(500),
            ..Call::default()
        };
        let now = SystemTime::now();
        let bound = request(Api::OpenAiChat, &binding, now, &call, now);
        let spans = lemma_core::otlp::extract_spans(bound).spans;
        assert_eq!(spans.len(), 1);
        let s = &spans[0];
        assert_eq!(s.trace_id, "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(s.parent_span_id.as_deref(), Some("b7ad6b7169203331"));
        assert_eq!(s.name, "chat gpt-4o");
        assert_eq!(s.status, lemma_core::model::StatusCode::Error);
        assert_eq!(
            s.status_message.as_deref(),
            Some("the provider answered 500")
        );
        assert_eq!(s.attributes["lemma.thread_id"], "t-1");
        assert_eq!(s.attributes["lemma.user_id"], "u-1");
        assert_eq!(s.resource["service.name"], SERVICE_NAME);
        assert!(s.end_time_unix_nano > s.start_time_unix_nano);

        // Unbound: a run of its own.
        let alone = Binding {
            parent: None,
            ..binding
        };
        let spans =
            lemma_core::otlp::extract_spans(request(Api::OpenAiChat, &alone, now, &call, now))
                .spans;
        assert_eq!(spans[0].parent_span_id, None);
        assert_eq!(spans[0].trace_id.len(), 32);
    }
}
