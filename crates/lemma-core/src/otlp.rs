//! OTLP trace and log requests (protobuf or JSON) into spans and log records with their raw
//! fields filled in. Normalisation (`crate::semconv`) fills in the rest of a span.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind as OtelSpanKind, status};
use prost::Message;

use crate::model::{LogRecord, Scope, Span, SpanEvent, SpanLink, StatusCode};
use crate::value::{any_value_to_json, key_values_to_map};

mod encode;
pub use encode::export_request;

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("invalid OTLP protobuf: {0}")]
    Protobuf(#[from] prost::DecodeError),
    #[error("invalid OTLP JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// `google.rpc.Status`: the body of an OTLP/HTTP error answer, in the request's encoding.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcStatus {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
}

/// The wire encodings OTLP/HTTP allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Protobuf,
    Json,
}

pub fn decode_trace_request(
    body: &[u8],
    encoding: Encoding,
) -> Result<ExportTraceServiceRequest, DecodeError> {
    Ok(match encoding {
        Encoding::Protobuf => ExportTraceServiceRequest::decode(body)?,
        Encoding::Json => serde_json::from_slice(body)?,
    })
}

pub fn decode_logs_request(
    body: &[u8],
    encoding: Encoding,
) -> Result<ExportLogsServiceRequest, DecodeError> {
    Ok(match encoding {
        Encoding::Protobuf => ExportLogsServiceRequest::decode(body)?,
        Encoding::Json => serde_json::from_slice(body)?,
    })
}

/// Items taken from a request (spans or log records), and what was rejected (OTLP
/// `partial_success`).
#[derive(Debug)]
pub struct Extracted<T = Span> {
    pub spans: Vec<T>,
    pub rejected: u64,
    /// One line per distinct reason, for the `partial_success.error_message`.
    pub rejections: Vec<String>,
}

impl<T> Default for Extracted<T> {
    fn default() -> Self {
        Extracted {
            spans: Vec::new(),
            rejected: 0,
            rejections: Vec::new(),
        }
    }
}

impl<T> Extracted<T> {
    fn reject(&mut self, reason: String) {
        self.rejected += 1;
        if self.rejections.len() < 10 && !self.rejections.contains(&reason) {
            self.rejections.push(reason);
        }
    }
}

/// The latest time a span or log record may carry. Stores keep times as signed 64-bit
/// nanoseconds (SQLite integers, ClickHouse `DateTime64`): a later one would sort before 1970
/// and match no time range. 2^63 - 1 ns is in the year 2262.
pub const MAX_TIME_UNIX_NANO: u64 = i64::MAX as u64;

/// Flattens a request into spans carrying their own resource and scope. Spans with invalid
/// ids or times past [`MAX_TIME_UNIX_NANO`] are rejected one by one; the rest of the request
/// is kept. An end before the start is taken as the start.
pub fn extract_spans(request: ExportTraceServiceRequest) -> Extracted {
    let mut out = Extracted::default();
    for resource_spans in request.resource_spans {
        let resource = resource_spans
            .resource
            .map(|r| key_values_to_map(&r.attributes))
            .unwrap_or_default();
        for scope_spans in resource_spans.scope_spans {
            let scope = scope(scope_spans.scope);
            for span in scope_spans.spans {
                let Some(trace_id) = id_hex(&span.trace_id, 16) else {
                    out.reject(format!(
                        "span {:?}: trace_id must be 16 bytes and not all zero (got {} bytes)",
                        span.name,
                        span.trace_id.len()
                    ));
                    continue;
                };
                let Some(span_id) = id_hex(&span.span_id, 8) else {
                    out.reject(format!(
                        "span {:?}: span_id must be 8 bytes and not all zero (got {} bytes)",
                        span.name,
                        span.span_id.len()
                    ));
                    continue;
                };
                let parent_span_id = if span.parent_span_id.is_empty() {
                    None
                } else {
                    match id_hex(&span.parent_span_id, 8) {
                        Some(p) => Some(p),
                        None => {
                            out.reject(format!(
                                "span {:?}: parent_span_id must be empty or 8 bytes (got {} bytes)",
                                span.name,
                                span.parent_span_id.len()
                            ));
                            continue;
                        }
                    }
                };
                let latest = span.start_time_unix_nano.max(span.end_time_unix_nano);
                if latest > MAX_TIME_UNIX_NANO {
                    out.reject(format!(
                        "span {:?}: start and end times must be at most 2^63-1 ns since 1970 \
                         (the year 2262), got {} and {}",
                        span.name, span.start_time_unix_nano, span.end_time_unix_nano
                    ));
                    continue;
                }
                let (status, status_message) = match span.status {
                    Some(s) => (
                        match status::StatusCode::try_from(s.code) {
                            Ok(status::StatusCode::Ok) => StatusCode::Ok,
                            Ok(status::StatusCode::Error) => StatusCode::Error,
                            _ => StatusCode::Unset,
                        },
                        Some(s.message).filter(|m| !m.is_empty()),
                    ),
                    None => (StatusCode::Unset, None),
                };
                let end = span.end_time_unix_nano.max(span.start_time_unix_nano);
                out.spans.push(Span {
                    trace_id,
                    span_id,
                    parent_span_id,
                    name: span.name,
                    otel_kind: otel_kind_name(span.kind).to_string(),
                    start_time_unix_nano: span.start_time_unix_nano,
                    end_time_unix_nano: end,
                    status,
                    status_message,
                    attributes: key_values_to_map(&span.attributes),
                    events: span
                        .events
                        .into_iter()
                        .map(|e| SpanEvent {
                            name: e.name,
                            time_unix_nano: e.time_unix_nano,
                            attributes: key_values_to_map(&e.attributes),
                            dropped_attributes_count: e.dropped_attributes_count,
                        })
                        .collect(),
                    links: span
                        .links
                        .into_iter()
                        .filter_map(|l| {
                            Some(SpanLink {
                                trace_id: id_hex(&l.trace_id, 16)?,
                                span_id: id_hex(&l.span_id, 8)?,
                                attributes: key_values_to_map(&l.attributes),
                            })
                        })
                        .collect(),
                    resource: resource.clone(),
                    scope: scope.clone(),
                    dropped_attributes_count: span.dropped_attributes_count,
                    dropped_events_count: span.dropped_events_count,
                    dropped_links_count: span.dropped_links_count,
                    ..Span::default()
                });
            }
        }
    }
    out
}

/// Flattens a logs request into records carrying their own resource and scope. Trace and span
/// ids are optional on a record, but when present they must be well formed; a time past
/// [`MAX_TIME_UNIX_NANO`] is rejected as for spans.
pub fn extract_logs(request: ExportLogsServiceRequest) -> Extracted<LogRecord> {
    let mut out = Extracted::default();
    for resource_logs in request.resource_logs {
        let resource = resource_logs
            .resource
            .map(|r| key_values_to_map(&r.attributes))
            .unwrap_or_default();
        for scope_logs in resource_logs.scope_logs {
            let scope = scope(scope_logs.scope);
            for r in scope_logs.log_records {
                let ids = (optional_id(&r.trace_id, 16), optional_id(&r.span_id, 8));
                let (Ok(trace_id), Ok(span_id)) = ids else {
                    out.reject(format!(
                        "log record: trace_id must be empty or 16 bytes and span_id empty or 8 \
                         bytes (got {} and {})",
                        r.trace_id.len(),
                        r.span_id.len()
                    ));
                    continue;
                };
                let time_unix_nano = if r.time_unix_nano != 0 {
                    r.time_unix_nano
                } else {
                    r.observed_time_unix_nano
                };
                if time_unix_nano > MAX_TIME_UNIX_NANO {
                    out.reject(format!(
                        "log record: its time must be at most 2^63-1 ns since 1970 (the year \
                         2262), got {time_unix_nano}"
                    ));
                    continue;
                }
                let attributes = key_values_to_map(&r.attributes);
                out.spans.push(LogRecord {
                    trace_id,
                    span_id,
                    time_unix_nano,
                    event_name: crate::logs::event_name(r.event_name, &attributes),
                    severity_number: r.severity_number,
                    severity_text: Some(r.severity_text).filter(|s| !s.is_empty()),
                    body: r.body.as_ref().map(any_value_to_json),
                    attributes,
                    resource: resource.clone(),
                    scope: scope.clone(),
                });
            }
        }
    }
    out
}

fn scope(scope: Option<opentelemetry_proto::tonic::common::v1::InstrumentationScope>) -> Scope {
    scope
        .map(|s| Scope {
            name: s.name,
            version: Some(s.version).filter(|v| !v.is_empty()),
            attributes: key_values_to_map(&s.attributes),
        })
        .unwrap_or_default()
}

/// An id that may be absent (empty or all zero) but not malformed.
fn optional_id(bytes: &[u8], len: usize) -> Result<Option<String>, ()> {
    if bytes.is_empty() || (bytes.len() == len && bytes.iter().all(|&b| b == 0)) {
        Ok(None)
    } else {
        id_hex(bytes, len).map(Some).ok_or(())
    }
}

fn id_hex(bytes: &[u8], len: usize) -> Option<String> {
    (bytes.len() == len && bytes.iter().any(|b| *b != 0)).then(|| hex::encode(bytes))
}

fn otel_kind_name(kind: i32) -> &'static str {
    match OtelSpanKind::try_from(kind) {
        Ok(OtelSpanKind::Server) => "server",
        Ok(OtelSpanKind::Client) => "client",
        Ok(OtelSpanKind::Producer) => "producer",
        Ok(OtelSpanKind::Consumer) => "consumer",
        Ok(OtelSpanKind::Internal) => "internal",
        _ => "unspecified",
    }
}

/// Whether a string is a valid run ID: 32 lowercase hex characters.
pub fn is_trace_id(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span as OtlpSpan};

    fn request(spans: Vec<OtlpSpan>) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    #[test]
    fn bad_ids_are_rejected_one_by_one() {
        let good = OtlpSpan {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            name: "ok".into(),
            ..Default::default()
        };
        let short = OtlpSpan {
            trace_id: vec![1; 15],
            span_id: vec![2; 8],
            ..Default::default()
        };
        let zero = OtlpSpan {
            trace_id: vec![1; 16],
            span_id: vec![0; 8],
            ..Default::default()
        };
        let out = extract_spans(request(vec![good, short, zero]));
        assert_eq!(out.spans.len(), 1);
        assert_eq!(out.rejected, 2);
        assert_eq!(out.spans[0].trace_id, "01".repeat(16));
        assert_eq!(out.rejections.len(), 2);
    }

    #[test]
    fn times_a_store_cannot_hold_are_rejected_one_by_one() {
        let at = |name: &str, start: u64, end: u64| OtlpSpan {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            name: name.into(),
            start_time_unix_nano: start,
            end_time_unix_nano: end,
            ..Default::default()
        };
        let max = MAX_TIME_UNIX_NANO;
        let out = extract_spans(request(vec![
            at("latest", max, max),
            at("backwards", 2_000, 1_000),
            at("start", max + 1, max + 1),
            at("end", 1_000, 1 << 63),
            at("all ones", u64::MAX, u64::MAX),
        ]));
        let kept: Vec<(&str, u64, u64)> = out
            .spans
            .iter()
            .map(|s| {
                (
                    s.name.as_str(),
                    s.start_time_unix_nano,
                    s.end_time_unix_nano,
                )
            })
            .collect();
        assert_eq!(kept, [("latest", max, max), ("backwards", 2_000, 2_000)]);
        assert_eq!(out.rejected, 3);
        assert!(out.rejections[0].contains("\"start\"") && out.rejections[0].contains("2262"));

        let body = format!(
            r#"{{"resourceLogs":[{{"scopeLogs":[{{"logRecords":[
              {{"timeUnixNano":"{max}"}}, {{"timeUnixNano":"{}"}},
              {{"observedTimeUnixNano":"18446744073709551615"}}]}}]}}]}}"#,
            max + 1
        );
        let logs = extract_logs(decode_logs_request(body.as_bytes(), Encoding::Json).unwrap());
        assert_eq!((logs.spans.len(), logs.rejected), (1, 2));
        assert_eq!(logs.spans[0].time_unix_nano, max);
    }

    #[test]
    fn json_with_hex_ids_and_numeric_ints() {
        let body = br#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},
          "scopeSpans":[{"scope":{"name":"ai"},"spans":[{"traceId":"5b8efff798038103d269b633813fc60c",
          "spanId":"eee19b7ec3c1b174","name":"x","kind":1,"flags":257,"startTimeUnixNano":"1000","endTimeUnixNano":2000,
          "attributes":[{"key":"n","value":{"intValue":3}}],"status":{"code":2,"message":"boom"}}]}]}]}"#;
        let req = decode_trace_request(body, Encoding::Json).unwrap();
        let out = extract_spans(req);
        let s = &out.spans[0];
        assert_eq!(s.span_id, "eee19b7ec3c1b174");
        assert_eq!(s.end_time_unix_nano, 2000);
        assert_eq!(s.attributes["n"], 3);
        assert_eq!(s.status, StatusCode::Error);
        assert_eq!(s.resource["service.name"], "svc");
        assert_eq!(s.scope.name, "ai");
    }

    #[test]
    fn truncated_protobuf_is_an_error() {
        let req = request(vec![OtlpSpan {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            name: "a fairly long span name".into(),
            ..Default::default()
        }]);
        let bytes = req.encode_to_vec();
        assert!(decode_trace_request(&bytes[..bytes.len() - 5], Encoding::Protobuf).is_err());
    }

    #[test]
    fn json_logs_with_event_names_body_and_optional_ids() {
        let body = br#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},
          "scopeLogs":[{"scope":{"name":"gen_ai"},"logRecords":[
            {"timeUnixNano":"5","eventName":"gen_ai.user.message","traceId":"5b8efff798038103d269b633813fc60c",
             "spanId":"eee19b7ec3c1b174","body":{"kvlistValue":{"values":[{"key":"content","value":{"stringValue":"hi"}}]}}},
            {"observedTimeUnixNano":"7","attributes":[{"key":"event.name","value":{"stringValue":"gen_ai.choice"}}],
             "severityText":"INFO","severityNumber":9},
            {"timeUnixNano":"9","traceId":"5b8e","spanId":"eee19b7ec3c1b174"}]}]}]}"#;
        let out = extract_logs(decode_logs_request(body, Encoding::Json).unwrap());
        assert_eq!(out.spans.len(), 2);
        assert_eq!(out.rejected, 1);
        let user = &out.spans[0];
        assert_eq!(user.event_name.as_deref(), Some("gen_ai.user.message"));
        assert_eq!(user.span_id.as_deref(), Some("eee19b7ec3c1b174"));
        assert_eq!(user.body.as_ref().unwrap()["content"], "hi");
        assert_eq!(user.resource["service.name"], "svc");
        let choice = &out.spans[1];
        assert_eq!(choice.event_name.as_deref(), Some("gen_ai.choice"));
        assert_eq!(
            (choice.trace_id.as_deref(), choice.time_unix_nano),
            (None, 7)
        );
        assert_eq!(choice.severity_text.as_deref(), Some("INFO"));
    }
}
