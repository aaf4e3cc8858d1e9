//! A finished call, recorded: one GenAI span built from the bodies (`lemma_core::llm_call`), sent
//! through ingest like an exporter's span (`backend::Sink`), so redaction, normalisation,
//! pricing, forwarding and the durable commit all apply. Recording happens after the client
//! has its answer and never delays it.
//!
//! Finished calls are stored in batches (`Recorder`): the calls of a short window cost one
//! ingest request per project (one OTLP export for `lemma proxy`), not one each, which keeps
//! the proxy's own CPU, and so the latency it adds under load, down.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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
/// How long a batch gathers calls after its first, and the most it takes.
const BATCH_WINDOW: Duration = Duration::from_millis(20);
const BATCH_MAX: usize = 1_000;
/// Calls waiting to be stored; past it, a call is stored on its own.
const QUEUE: usize = 20_000;

/// A call in flight: where it is recorded and under what, from its start.
pub struct Recording {
    pub recorder: Recorder,
    pub sink: Sink,
    pub api: Api,
    pub binding: Binding,
    pub started: SystemTime,
}

impl Recording {
    /// Hands the finished call to the recorder.
    pub fn finish(self, call: Call) {
        let request = request(
            self.api,
            &self.binding,
            self.started,
            &call,
            SystemTime::now(),
        );
        self.recorder.record(self.sink, request);
    }
}

/// Stores finished calls' spans in batches, on its own task.
#[derive(Clone)]
pub struct Recorder {
    queue: tokio::sync::mpsc::Sender<(Sink, ExportTraceServiceRequest)>,
}

impl Recorder {
    /// Starts the recording thread. Recording (decoding, normalising, storing) runs on a
    /// thread of its own, so a batch's work never holds up the tasks relaying calls: the
    /// operating system preempts it for them, where a task would run to its next await.
    pub fn start() -> anyhow::Result<Recorder> {
        let (queue, calls) = tokio::sync::mpsc::channel(QUEUE);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("lemma-proxy-recorder".into())
            .spawn(move || runtime.block_on(batches(calls)))?;
        Ok(Recorder { queue })
    }

    fn record(&self, sink: Sink, request: ExportTraceServiceRequest) {
        if let Err(e) = self.queue.try_send((sink, request)) {
            // A full queue (or a stopped task): this call goes alone rather than waiting.
            let (sink, request) = e.into_inner();
            tokio::spawn(async move { sink.submit(request).await });
        }
    }
}

async fn batches(mut calls: tokio::sync::mpsc::Receiver<(Sink, ExportTraceServiceRequest)>) {
    while let Some(first) = calls.recv().await {
        let mut batch = vec![first];
        let window = tokio::time::sleep(BATCH_WINDOW);
        tokio::pin!(window);
        while batch.len() < BATCH_MAX {
            tokio::select! {
                next = calls.recv() => match next {
                    Some(call) => batch.push(call),
                    None => break,
                },
                _ = &mut window => break,
            }
        }
        for (sink, request) in merged(batch) {
            tokio::spawn(async move { sink.submit(request).await });
        }
    }
}

/// One request per destination (a project, or a key of `lemma proxy`), holding its calls.
fn merged(batch: Vec<(Sink, ExportTraceServiceRequest)>) -> Vec<(Sink, ExportTraceServiceRequest)> {
    let mut groups: HashMap<String, (Sink, ExportTraceServiceRequest)> = HashMap::new();
    for (sink, request) in batch {
        match groups.get_mut(&sink.destination()) {
            Some((_, merged)) => merged.resource_spans.extend(request.resource_spans),
            None => {
                groups.insert(sink.destination(), (sink, request));
            }
        }
    }
    groups.into_values().collect()
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

    #[test]
    fn a_batch_is_one_request_per_destination_holding_all_its_calls() {
        let remote =
            std::sync::Arc::new(super::super::Remote::new("http://127.0.0.1:1", None).unwrap());
        let sink = |key: &str| Sink::Remote {
            remote: remote.clone(),
            key: key.into(),
        };
        let call = Call::default();
        let one = |n: usize| {
            let now = SystemTime::now();
            let mut r = request(Api::OpenAiChat, &Binding::default(), now, &call, now);
            r.resource_spans[0].scope_spans[0].spans[0].name = format!("call {n}");
            r
        };
        let batch = vec![
            (sink("a"), one(1)),
            (sink("b"), one(2)),
            (sink("a"), one(3)),
        ];
        let mut merged: Vec<(String, Vec<String>)> = merged(batch)
            .into_iter()
            .map(|(sink, r)| {
                let names = lemma_core::otlp::extract_spans(r)
                    .spans
                    .into_iter()
                    .map(|s| s.name)
                    .collect();
                (sink.destination(), names)
            })
            .collect();
        merged.sort();
        assert_eq!(
            merged,
            [
                (
                    "key a".to_string(),
                    vec!["call 1".to_string(), "call 3".to_string()]
                ),
                ("key b".to_string(), vec!["call 2".to_string()]),
            ]
        );
    }
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
