//! Sample runs as OTLP export requests: random trace and span ids, times laid out from the
//! spans' durations, at most [`MAX_SPANS_PER_REQUEST`] spans a request.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value, AnyValue, ArrayValue, InstrumentationScope, KeyValue,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    span::{Event, SpanKind},
    status::StatusCode,
    ResourceSpans, ScopeSpans, Span, Status,
};
use rand::Rng;
use serde_json::Value;

use super::spec::{SpanSpec, GAP_MS};

pub const MAX_SPANS_PER_REQUEST: usize = 100;
pub const SERVICE_NAME: &str = "lemma-demo";

const MS: u64 = 1_000_000;

/// Requests carrying every span of `runs` (each a root and its start in Unix ns), and each
/// run's trace id in hex, in the order given, under the service name [`SERVICE_NAME`].
pub fn requests(runs: &[(&SpanSpec, u64)]) -> (Vec<ExportTraceServiceRequest>, Vec<String>) {
    requests_of(SERVICE_NAME, runs)
}

/// [`requests`] under the service (and instrumentation scope) name `service`.
pub fn requests_of(
    service: &str,
    runs: &[(&SpanSpec, u64)],
) -> (Vec<ExportTraceServiceRequest>, Vec<String>) {
    let mut spans = Vec::new();
    let mut trace_ids = Vec::new();
    for &(root, start) in runs {
        let trace_id: [u8; 16] = nonzero_id();
        emit(root, &trace_id, &[], start, &mut spans);
        trace_ids.push(hex(&trace_id));
    }
    let requests = spans
        .chunks(MAX_SPANS_PER_REQUEST)
        .map(|chunk| request(service, chunk.to_vec()))
        .collect();
    (requests, trace_ids)
}

/// Writes `spec` and its children starting at `start`; returns its end.
fn emit(spec: &SpanSpec, trace_id: &[u8], parent: &[u8], start: u64, out: &mut Vec<Span>) -> u64 {
    let span_id: [u8; 8] = nonzero_id();
    let index = out.len();
    out.push(Span::default());
    let lead = spec.own_ms / 2;
    let mut t = start + lead * MS;
    for child in &spec.children {
        t = emit(child, trace_id, &span_id, t, out) + GAP_MS * MS;
    }
    let end = t + (spec.own_ms - lead) * MS;
    let (status, events) = match &spec.failure {
        None => (None, Vec::new()),
        Some(f) => {
            let events = f
                .exception
                .iter()
                .map(|e| Event {
                    time_unix_nano: end,
                    name: "exception".into(),
                    attributes: vec![
                        kv("exception.type", &Value::from(e.kind.as_str())),
                        kv("exception.message", &Value::from(e.message.as_str())),
                        kv("exception.stacktrace", &Value::from(e.stacktrace.as_str())),
                    ],
                    dropped_attributes_count: 0,
                })
                .collect();
            let status = Status {
                code: StatusCode::Error as i32,
                message: f.message.clone(),
            };
            (Some(status), events)
        }
    };
    out[index] = Span {
        trace_id: trace_id.to_vec(),
        span_id: span_id.to_vec(),
        parent_span_id: parent.to_vec(),
        name: spec.name.clone(),
        kind: if spec.client {
            SpanKind::Client
        } else {
            SpanKind::Internal
        } as i32,
        start_time_unix_nano: start,
        end_time_unix_nano: end,
        attributes: spec.attributes.iter().map(|(k, v)| kv(k, v)).collect(),
        events,
        status,
        ..Default::default()
    };
    end
}

fn request(service: &str, spans: Vec<Span>) -> ExportTraceServiceRequest {
    let version = Value::from(env!("CARGO_PKG_VERSION"));
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    kv("service.name", &Value::from(service)),
                    kv("service.version", &version),
                ],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: service.into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    ..Default::default()
                }),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn kv(key: &str, value: &Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(any_value(value)),
        ..Default::default()
    }
}

/// Scalars and arrays map to their OTLP kinds; objects travel as JSON text.
fn any_value(v: &Value) -> AnyValue {
    use any_value::Value as V;
    let value = match v {
        Value::Null => None,
        Value::Bool(b) => Some(V::BoolValue(*b)),
        Value::Number(n) => Some(match n.as_i64() {
            Some(i) => V::IntValue(i),
            None => V::DoubleValue(n.as_f64().unwrap_or(0.0)),
        }),
        Value::String(s) => Some(V::StringValue(s.clone())),
        Value::Array(items) => Some(V::ArrayValue(ArrayValue {
            values: items.iter().map(any_value).collect(),
        })),
        Value::Object(_) => Some(V::StringValue(v.to_string())),
    };
    AnyValue { value }
}

/// All-zero ids are invalid in OTLP.
fn nonzero_id<const N: usize>() -> [u8; N] {
    loop {
        let id: [u8; N] = rand::rng().random();
        if id.iter().any(|&b| b != 0) {
            return id;
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::super::spec::{Exception, Failure};
    use super::*;

    fn tree() -> SpanSpec {
        let mut root = SpanSpec::new("invoke_agent a", false, 10);
        root.attr("n", 3)
            .attr("f", 0.5)
            .attr("list", vec!["x", "y"]);
        let mut tool = SpanSpec::new("execute_tool t", false, 100);
        tool.failure = Some(Failure {
            message: "boom".into(),
            exception: Some(Exception {
                kind: "ValueError".into(),
                message: "bad".into(),
                stacktrace: "Traceback".into(),
            }),
        });
        root.children.push(SpanSpec::new("chat m", true, 50));
        root.children.push(tool);
        root
    }

    #[test]
    fn spans_nest_in_time_and_by_parent() {
        let root = tree();
        let start = 1_000 * MS;
        let (reqs, ids) = requests(&[(&root, start)]);
        assert_eq!(reqs.len(), 1);
        let spans = &reqs[0].resource_spans[0].scope_spans[0].spans;
        assert_eq!(spans.len(), 3);
        assert_eq!(ids[0], hex(&spans[0].trace_id));
        assert!(spans.iter().all(|s| s.trace_id == spans[0].trace_id));
        let (r, chat, tool) = (&spans[0], &spans[1], &spans[2]);
        assert!(r.parent_span_id.is_empty());
        assert_eq!(chat.parent_span_id, r.span_id);
        assert_eq!(tool.parent_span_id, r.span_id);
        assert_eq!(r.start_time_unix_nano, start);
        assert_eq!(r.end_time_unix_nano - start, root.total_ms() * MS);
        assert!(chat.end_time_unix_nano < tool.start_time_unix_nano);
        assert!(tool.end_time_unix_nano <= r.end_time_unix_nano);
        assert_eq!(chat.kind, SpanKind::Client as i32);

        let status = tool.status.as_ref().unwrap();
        assert_eq!(status.code, StatusCode::Error as i32);
        assert_eq!(tool.events[0].name, "exception");
        assert_eq!(tool.events[0].attributes.len(), 3);
        let kinds: Vec<_> = r.attributes.iter().map(|a| a.value.clone()).collect();
        assert_eq!(
            kinds[0].as_ref().unwrap().value,
            Some(any_value::Value::IntValue(3))
        );
        assert_eq!(
            kinds[1].as_ref().unwrap().value,
            Some(any_value::Value::DoubleValue(0.5))
        );
        assert!(matches!(
            kinds[2].as_ref().unwrap().value,
            Some(any_value::Value::ArrayValue(_))
        ));
    }

    #[test]
    fn requests_are_capped_and_ids_fresh() {
        let mut root = SpanSpec::new("invoke_agent a", false, 10);
        for _ in 0..250 {
            root.children
                .push(SpanSpec::new("execute_tool t", false, 1));
        }
        let (reqs, first) = requests(&[(&root, 0), (&root, 0)]);
        let sizes: Vec<usize> = reqs
            .iter()
            .map(|r| r.resource_spans[0].scope_spans[0].spans.len())
            .collect();
        assert_eq!(sizes, [100, 100, 100, 100, 100, 2]);
        assert_ne!(first[0], first[1]);
        let (_, again) = requests(&[(&root, 0)]);
        assert_ne!(again[0], first[0]);
    }
}
