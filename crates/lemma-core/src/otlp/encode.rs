//! Spans back to OTLP: an export request holding stored spans as their exporter sent them, for
//! exports and for moving data to another OTLP backend.
//!
//! What decoding kept comes back: attributes, events, links, resource and scope, status, kinds,
//! times, dropped counts. What normalisation derived from them (messages, usage, cost, the
//! agent) is not sent, since the attributes it came from are; a receiver normalising the
//! request again gets the same spans. Decoding turned bytes into base64 text and non-finite
//! doubles into text: they come back as that text.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link, SpanKind as OtelSpanKind};
use opentelemetry_proto::tonic::trace::v1::{
    span, status, ResourceSpans, ScopeSpans, Span as OtelSpan, Status,
};

use crate::model::{Scope, Span, StatusCode};
use crate::value::map_to_key_values;

/// Spans under one key (a resource's or a scope's JSON), groups in order of first appearance.
type Groups<T> = Vec<(String, T)>;

/// One request holding `spans`, grouped by resource, then by scope, in the order each group
/// first appears.
pub fn export_request<'a>(spans: impl IntoIterator<Item = &'a Span>) -> ExportTraceServiceRequest {
    let mut groups: Groups<Groups<Vec<&Span>>> = Vec::new();
    for span in spans {
        let resource = serde_json::to_string(&span.resource).unwrap_or_default();
        let scope = serde_json::to_string(&span.scope).unwrap_or_default();
        let at = match groups.iter().position(|(r, _)| *r == resource) {
            Some(at) => at,
            None => {
                groups.push((resource, Vec::new()));
                groups.len() - 1
            }
        };
        let scopes = &mut groups[at].1;
        match scopes.iter_mut().find(|(s, _)| *s == scope) {
            Some((_, members)) => members.push(span),
            None => scopes.push((scope, vec![span])),
        }
    }
    let resource_spans = groups
        .into_iter()
        .map(|(_, scopes)| {
            let first = scopes[0].1[0];
            ResourceSpans {
                resource: Some(Resource {
                    attributes: map_to_key_values(&first.resource),
                    ..Default::default()
                }),
                scope_spans: scopes
                    .into_iter()
                    .map(|(_, members)| ScopeSpans {
                        scope: Some(scope(&members[0].scope)),
                        spans: members.into_iter().map(otlp_span).collect(),
                        schema_url: String::new(),
                    })
                    .collect(),
                schema_url: String::new(),
            }
        })
        .collect();
    ExportTraceServiceRequest { resource_spans }
}

fn scope(scope: &Scope) -> InstrumentationScope {
    InstrumentationScope {
        name: scope.name.clone(),
        version: scope.version.clone().unwrap_or_default(),
        attributes: map_to_key_values(&scope.attributes),
        dropped_attributes_count: 0,
    }
}

fn otlp_span(span: &Span) -> OtelSpan {
    OtelSpan {
        trace_id: id_bytes(&span.trace_id),
        span_id: id_bytes(&span.span_id),
        parent_span_id: span
            .parent_span_id
            .as_deref()
            .map(id_bytes)
            .unwrap_or_default(),
        name: span.name.clone(),
        kind: otel_kind(&span.otel_kind) as i32,
        start_time_unix_nano: span.start_time_unix_nano,
        end_time_unix_nano: span.end_time_unix_nano,
        attributes: map_to_key_values(&span.attributes),
        dropped_attributes_count: span.dropped_attributes_count,
        events: span
            .events
            .iter()
            .map(|e| Event {
                time_unix_nano: e.time_unix_nano,
                name: e.name.clone(),
                attributes: map_to_key_values(&e.attributes),
                dropped_attributes_count: e.dropped_attributes_count,
            })
            .collect(),
        dropped_events_count: span.dropped_events_count,
        links: span
            .links
            .iter()
            .map(|l| Link {
                trace_id: id_bytes(&l.trace_id),
                span_id: id_bytes(&l.span_id),
                attributes: map_to_key_values(&l.attributes),
                ..Default::default()
            })
            .collect(),
        dropped_links_count: span.dropped_links_count,
        status: (span.status != StatusCode::Unset || span.status_message.is_some()).then(|| {
            Status {
                code: match span.status {
                    StatusCode::Unset => status::StatusCode::Unset,
                    StatusCode::Ok => status::StatusCode::Ok,
                    StatusCode::Error => status::StatusCode::Error,
                } as i32,
                message: span.status_message.clone().unwrap_or_default(),
            }
        }),
        ..Default::default()
    }
}

/// The OTel span kind decoding named (`super::otel_kind_name`).
fn otel_kind(name: &str) -> span::SpanKind {
    match name {
        "server" => OtelSpanKind::Server,
        "client" => OtelSpanKind::Client,
        "producer" => OtelSpanKind::Producer,
        "consumer" => OtelSpanKind::Consumer,
        "internal" => OtelSpanKind::Internal,
        _ => OtelSpanKind::Unspecified,
    }
}

/// Stored ids are lowercase hex of the right length (decoding checked them).
fn id_bytes(hex_id: &str) -> Vec<u8> {
    hex::decode(hex_id).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otlp::{decode_trace_request, extract_spans, Encoding};

    fn decoded(request: ExportTraceServiceRequest) -> Vec<Span> {
        let mut spans = extract_spans(request).spans;
        spans.iter_mut().for_each(crate::semconv::normalize);
        spans
    }

    /// Every recorded request of `shared/fixtures/` (real SDK traffic of every convention).
    fn fixture_requests() -> Vec<(String, ExportTraceServiceRequest)> {
        let dir = format!("{}/../../../shared/fixtures", env!("CARGO_MANIFEST_DIR"));
        let mut out = Vec::new();
        for scenario in std::fs::read_dir(&dir).unwrap().flatten() {
            for file in std::fs::read_dir(scenario.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let path = file.path();
                if path.to_string_lossy().ends_with(".otlp.json") {
                    let body = std::fs::read(&path).unwrap();
                    let request = decode_trace_request(&body, Encoding::Json).unwrap();
                    out.push((path.display().to_string(), request));
                }
            }
        }
        out
    }

    #[test]
    fn every_fixture_span_comes_back_the_same_through_an_export() {
        let mut checked = 0;
        for (path, request) in fixture_requests() {
            let spans = decoded(request);
            assert_eq!(decoded(export_request(&spans[..])), spans, "{path}");
            // And through OTLP JSON, as an export file holds it.
            let json = serde_json::to_vec(&export_request(&spans[..])).unwrap();
            let again = decode_trace_request(&json, Encoding::Json).unwrap();
            assert_eq!(decoded(again), spans, "{path} as JSON");
            checked += spans.len();
        }
        assert!(checked > 100, "{checked} fixture spans checked");
    }

    #[test]
    fn spans_are_grouped_by_resource_then_scope() {
        let span = |id: &str, service: &str, scope: &str| {
            let mut s = Span {
                trace_id: "ab".repeat(16),
                span_id: id.repeat(8),
                otel_kind: "client".into(),
                ..Span::default()
            };
            s.resource.insert("service.name".into(), service.into());
            s.scope.name = scope.into();
            s
        };
        let spans = [
            span("01", "api", "openai"),
            span("02", "worker", "openai"),
            span("03", "api", "langchain"),
            span("04", "api", "openai"),
        ];
        let request = export_request(&spans[..]);
        let shape: Vec<Vec<(String, usize)>> = request
            .resource_spans
            .iter()
            .map(|r| {
                r.scope_spans
                    .iter()
                    .map(|s| (s.scope.as_ref().unwrap().name.clone(), s.spans.len()))
                    .collect()
            })
            .collect();
        assert_eq!(
            shape,
            [
                vec![("openai".to_string(), 2), ("langchain".to_string(), 1)],
                vec![("openai".to_string(), 1)]
            ]
        );
        assert_eq!(
            request.resource_spans[0].scope_spans[0].spans[0].kind,
            OtelSpanKind::Client as i32
        );
        assert_eq!(decoded(request).len(), 4);
    }
}
