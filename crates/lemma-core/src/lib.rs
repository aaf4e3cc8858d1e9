//! Lemma's domain: the normalised span and run model, OTLP decoding, the normalisation of
//! tracing conventions, run summaries and the query language.
//!
//! Everything here is pure: no I/O, no async. The server decodes and normalises with it, the
//! stores summarise runs with it, and the query language is parsed here once for every store.

pub mod alerts;
pub mod diagnose;
pub mod experiments;
pub mod llm_call;
pub mod logs;
pub mod messages;
pub mod metrics;
pub mod model;
pub mod otlp;
pub mod present;
pub mod pricing;
pub mod query;
pub mod redact;
pub mod run;
pub mod semconv;
pub mod signals;
pub mod stats;
pub mod value;

pub use messages::{Message, Part};
pub use metrics::{MetricEvent, MetricValue};
pub use model::{
    CostSource, LogRecord, PayloadState, Span, SpanEvent, SpanKind, SpanLink, SpanOutline,
    StatusCode, Usage,
};
pub use run::{Run, RunSignal, Severity, SignalSource, SpanDigest};
