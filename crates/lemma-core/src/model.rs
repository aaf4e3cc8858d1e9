//! The normalised span: one shape whatever convention the emitter used.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use crate::messages::{Message, Part};

/// What a span does in an agent run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SpanKind {
    Agent,
    Llm,
    Tool,
    Retrieval,
    Embedding,
    Reranker,
    Chain,
    Guardrail,
    Evaluator,
    #[default]
    Span,
}

impl SpanKind {
    pub const ALL: [SpanKind; 10] = [
        SpanKind::Agent,
        SpanKind::Llm,
        SpanKind::Tool,
        SpanKind::Retrieval,
        SpanKind::Embedding,
        SpanKind::Reranker,
        SpanKind::Chain,
        SpanKind::Guardrail,
        SpanKind::Evaluator,
        SpanKind::Span,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SpanKind::Agent => "agent",
            SpanKind::Llm => "llm",
            SpanKind::Tool => "tool",
            SpanKind::Retrieval => "retrieval",
            SpanKind::Embedding => "embedding",
            SpanKind::Reranker => "reranker",
            SpanKind::Chain => "chain",
            SpanKind::Guardrail => "guardrail",
            SpanKind::Evaluator => "evaluator",
            SpanKind::Span => "span",
        }
    }

    pub fn parse(s: &str) -> Option<SpanKind> {
        SpanKind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
    }
}

/// OTel status code, as Lemma reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = SpanStatus))]
#[serde(rename_all = "lowercase")]
pub enum StatusCode {
    #[default]
    Unset,
    Ok,
    Error,
}

impl StatusCode {
    pub fn as_str(self) -> &'static str {
        match self {
            StatusCode::Unset => "unset",
            StatusCode::Ok => "ok",
            StatusCode::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<StatusCode> {
        match s.to_ascii_lowercase().as_str() {
            "unset" => Some(StatusCode::Unset),
            "ok" => Some(StatusCode::Ok),
            "error" => Some(StatusCode::Error),
            _ => None,
        }
    }
}

/// Token usage. Input tokens include cache reads and writes (the OTel rule); the cache and
/// reasoning counts are kept apart as subsets, never added on top.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Usage {
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub total_tokens: Option<u64>,
    pub cache_read_tokens: Option<u64>,
    pub cache_write_tokens: Option<u64>,
    pub reasoning_tokens: Option<u64>,
}

/// The largest token count a span may report. No model call reads or writes a trillion tokens:
/// a larger count is an emitter's bug (or hostile), and would swamp every total and cost it
/// entered, so normalisation treats it as absent; the attribute that carried it stays.
pub const MAX_TOKENS: u64 = 1_000_000_000_000;

impl Usage {
    pub fn is_empty(&self) -> bool {
        self.input_tokens.is_none() && self.output_tokens.is_none() && self.total_tokens.is_none()
    }

    /// Total as reported, else input + output.
    pub fn total(&self) -> Option<u64> {
        self.total_tokens
            .or(match (self.input_tokens, self.output_tokens) {
                (None, None) => None,
                (i, o) => Some(i.unwrap_or(0).saturating_add(o.unwrap_or(0))),
            })
    }

    /// The counts of at most [`MAX_TOKENS`]; the others absent.
    pub fn plausible(self) -> Usage {
        let keep = |n: Option<u64>| n.filter(|&n| n <= MAX_TOKENS);
        Usage {
            input_tokens: keep(self.input_tokens),
            output_tokens: keep(self.output_tokens),
            total_tokens: keep(self.total_tokens),
            cache_read_tokens: keep(self.cache_read_tokens),
            cache_write_tokens: keep(self.cache_write_tokens),
            reasoning_tokens: keep(self.reasoning_tokens),
        }
    }

    /// Adds `other`'s counts, saturating: sums never wrap, whatever was stored.
    pub fn add(&mut self, other: &Usage) {
        fn sum(a: &mut Option<u64>, b: Option<u64>) {
            if let Some(b) = b {
                *a = Some(a.unwrap_or(0).saturating_add(b));
            }
        }
        sum(&mut self.input_tokens, other.input_tokens);
        sum(&mut self.output_tokens, other.output_tokens);
        sum(&mut self.total_tokens, other.total());
        sum(&mut self.cache_read_tokens, other.cache_read_tokens);
        sum(&mut self.cache_write_tokens, other.cache_write_tokens);
        sum(&mut self.reasoning_tokens, other.reasoning_tokens);
    }
}

/// A payload that is present but not whole. An absent payload is simply `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum PayloadState {
    /// The emitter hid it on purpose (OpenInference's `__REDACTED__`).
    Redacted,
    /// Cut by a length limit: JSON that stops midway (`OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT`,
    /// OpenLLMetry's slicing).
    Truncated,
}

impl PayloadState {
    /// What a payload's value says about it.
    pub fn of(value: &Value) -> Option<PayloadState> {
        let Value::String(s) = value else {
            return None;
        };
        let t = s.trim_start();
        if t == "__REDACTED__" {
            Some(PayloadState::Redacted)
        } else if (t.starts_with('{') || t.starts_with('['))
            && serde_json::from_str::<serde::de::IgnoredAny>(t).is_err()
        {
            // Strings holding JSON are parsed on the way in; one still a string did not parse.
            Some(PayloadState::Truncated)
        } else {
            None
        }
    }
}

/// Where a span's cost comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum CostSource {
    /// The emitter recorded it (`lemma.cost_usd`, `llm.cost.total`, Langfuse cost details, ...).
    Provided,
    /// Lemma computed it from the token counts and a price table.
    Computed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SpanEvent {
    pub name: String,
    pub time_unix_nano: u64,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub attributes: Map<String, Value>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dropped_attributes_count: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SpanLink {
    pub trace_id: String,
    pub span_id: String,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub attributes: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Scope {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub attributes: Map<String, Value>,
}

/// An OTLP log record, e.g. a GenAI event (`gen_ai.choice`, `gen_ai.user.message`,
/// `gen_ai.client.inference.operation.details`, `gen_ai.evaluation.result`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogRecord {
    pub trace_id: Option<String>,
    pub span_id: Option<String>,
    pub time_unix_nano: u64,
    /// The OTLP field `event_name`, else the older `event.name` attribute.
    pub event_name: Option<String>,
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub severity_number: i32,
    pub severity_text: Option<String>,
    pub body: Option<Value>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub attributes: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub resource: Map<String, Value>,
    #[serde(default)]
    pub scope: Scope,
}

/// A normalised span. Its serde form is the API's SPAN object.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Span {
    /// 32 lowercase hex characters; also the run ID.
    pub trace_id: String,
    /// 16 lowercase hex characters.
    pub span_id: String,
    pub parent_span_id: Option<String>,
    pub name: String,
    pub kind: SpanKind,
    /// The operation as the emitter named it (`chat`, `execute_tool`, `agent_step`, `handoff`,
    /// `LLM`, `ai.generateText.doGenerate`, ...), kept raw so unknown values are not lost.
    pub operation: Option<String>,
    /// The trace's name when the emitter sets one apart from the span name
    /// (`langfuse.trace.name`).
    pub trace_name: Option<String>,
    /// The OTel span kind (`internal`, `server`, `client`, `producer`, `consumer`).
    pub otel_kind: String,
    pub start_time_unix_nano: u64,
    pub end_time_unix_nano: u64,
    pub status: StatusCode,
    pub status_message: Option<String>,
    pub model: Option<String>,
    pub provider: Option<String>,
    /// The provider's response id (`gen_ai.response.id`); two spans with the same one record the
    /// same model call.
    pub response_id: Option<String>,
    #[serde(flatten)]
    pub usage: Usage,
    pub cost_usd: Option<f64>,
    /// Where `cost_usd` came from; `None` when there is no cost.
    pub cost_source: Option<CostSource>,
    pub tool_name: Option<String>,
    pub tool_call_id: Option<String>,
    pub tool_args: Option<Value>,
    pub input: Option<Value>,
    pub output: Option<Value>,
    /// Why the input is not the whole payload, when Lemma can tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_state: Option<PayloadState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_state: Option<PayloadState>,
    /// The input as one canonical message list, whatever shape the emitter used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_messages: Option<Vec<Message>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_messages: Option<Vec<Message>>,
    pub agent_name: Option<String>,
    pub thread_id: Option<String>,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub environment: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub metadata: Map<String, Value>,
    /// Every attribute as received, including the ones normalisation read.
    #[serde(default)]
    pub attributes: Map<String, Value>,
    #[serde(default)]
    pub events: Vec<SpanEvent>,
    /// OTLP log records that name this span, joined when the span is read (`crate::logs`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<LogRecord>,
    #[serde(default)]
    pub links: Vec<SpanLink>,
    #[serde(default)]
    pub resource: Map<String, Value>,
    #[serde(default)]
    pub scope: Scope,
    #[serde(default)]
    pub dropped_attributes_count: u32,
    #[serde(default)]
    pub dropped_events_count: u32,
    #[serde(default)]
    pub dropped_links_count: u32,
}

impl Span {
    pub fn duration_ns(&self) -> u64 {
        self.end_time_unix_nano
            .saturating_sub(self.start_time_unix_nano)
    }

    pub fn service_name(&self) -> Option<&str> {
        self.resource.get("service.name").and_then(Value::as_str)
    }
}

/// A span's light fields, for trees and timelines of runs too long to read whole: what a row
/// shows, none of the payloads. Stores read it from indexed columns, never from span bodies.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SpanOutline {
    pub span_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_span_id: Option<String>,
    pub name: String,
    pub kind: SpanKind,
    pub start_time_unix_nano: u64,
    pub end_time_unix_nano: u64,
    pub status: StatusCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
}

impl SpanOutline {
    pub fn duration_ns(&self) -> u64 {
        self.end_time_unix_nano
            .saturating_sub(self.start_time_unix_nano)
    }

    /// Heap and inline bytes it holds, for caches that are bounded by bytes.
    pub fn size_bytes(&self) -> usize {
        let text = |s: &Option<String>| s.as_ref().map_or(0, String::capacity);
        std::mem::size_of::<SpanOutline>()
            + self.span_id.capacity()
            + text(&self.parent_span_id)
            + self.name.capacity()
            + text(&self.model)
            + text(&self.tool_name)
            + text(&self.agent_name)
    }
}

impl From<&Span> for SpanOutline {
    fn from(s: &Span) -> Self {
        SpanOutline {
            span_id: s.span_id.clone(),
            parent_span_id: s.parent_span_id.clone(),
            name: s.name.clone(),
            kind: s.kind,
            start_time_unix_nano: s.start_time_unix_nano,
            end_time_unix_nano: s.end_time_unix_nano,
            status: s.status,
            model: s.model.clone(),
            tool_name: s.tool_name.clone(),
            agent_name: s.agent_name.clone(),
            input_tokens: s.usage.input_tokens,
            output_tokens: s.usage.output_tokens,
            total_tokens: s.usage.total_tokens,
            cost_usd: s.cost_usd,
        }
    }
}

fn is_zero_i32(n: &i32) -> bool {
    *n == 0
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}
