//! Runs: one trace, summarised from its spans whatever order they arrived in.
//!
//! Stores keep a [`SpanDigest`] per span (the fields a summary needs, without payloads) and a
//! [`ledger::RunState`] per run, into which [`ledger::apply`] merges each batch's new spans, so
//! the summary is always the function of the spans present, never of their arrival order, and
//! a batch costs the same whether its run holds ten spans or a hundred thousand.

pub mod ledger;
pub mod memory;
pub mod partial;
pub mod tally;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::model::{Span, SpanKind, StatusCode, Usage};
use ledger::RunState;
use memory::MemoryIndex;

/// The part of a span a run summary reads.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SpanDigest {
    pub span_id: String,
    pub parent_span_id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub trace_name: Option<String>,
    pub kind: SpanKind,
    pub start_time_unix_nano: u64,
    pub end_time_unix_nano: u64,
    pub status: StatusCode,
    pub status_message: Option<String>,
    pub model: Option<String>,
    /// Absent from digests stored before per-model usage existed.
    #[serde(default)]
    pub provider: Option<String>,
    pub response_id: Option<String>,
    pub usage: Usage,
    pub cost_usd: Option<f64>,
    pub tool_name: Option<String>,
    /// Tool arguments as canonical JSON text, to recognise repeated identical calls.
    pub tool_args: Option<String>,
    pub agent_name: Option<String>,
    pub thread_id: Option<String>,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub environment: Option<String>,
    pub tags: Vec<String>,
    pub metadata: Map<String, Value>,
}

impl From<&Span> for SpanDigest {
    fn from(s: &Span) -> Self {
        SpanDigest {
            span_id: s.span_id.clone(),
            parent_span_id: s.parent_span_id.clone(),
            name: s.name.clone(),
            trace_name: s.trace_name.clone(),
            kind: s.kind,
            start_time_unix_nano: s.start_time_unix_nano,
            end_time_unix_nano: s.end_time_unix_nano,
            status: s.status,
            status_message: s.status_message.clone(),
            model: s.model.clone(),
            provider: s.provider.clone(),
            response_id: s.response_id.clone(),
            usage: s.usage,
            cost_usd: s.cost_usd,
            tool_name: s.tool_name.clone(),
            tool_args: s.tool_args.as_ref().map(|v| v.to_string()),
            agent_name: s.agent_name.clone(),
            thread_id: s.thread_id.clone(),
            user_id: s.user_id.clone(),
            session_id: s.session_id.clone(),
            environment: s.environment.clone(),
            tags: s.tags.clone(),
            metadata: s.metadata.clone(),
        }
    }
}

/// A detected pattern worth a look, e.g. a tool called again and again with the same
/// arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunSignal {
    /// `loop` (three or more consecutive identical tool calls) or `error`.
    pub kind: String,
    pub tool_name: Option<String>,
    pub tool_args: Option<Value>,
    pub repeats: u32,
    /// Position among the run's tool spans in start order, from 0.
    pub first_tool_index: u32,
    /// The first call of the loop. Absent from summaries stored before it was kept.
    #[serde(default)]
    pub first_span_id: Option<String>,
}

/// A run summary. Its serde form is the API's RUN object minus the ISO times the API adds.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = RunSummary))]
pub struct Run {
    pub run_id: String,
    pub name: String,
    pub agent_name: Option<String>,
    /// Every agent in the run, in tree pre-order.
    pub agent_names: Vec<String>,
    pub status: StatusCode,
    pub status_message: Option<String>,
    pub start_time_unix_nano: u64,
    pub end_time_unix_nano: u64,
    pub duration_ms: f64,
    pub span_count: u64,
    pub error_count: u64,
    /// Span counts by kind (only kinds present).
    pub kind_counts: BTreeMap<String, u64>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub total_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
    pub reasoning_tokens: u64,
    pub cost_usd: Option<f64>,
    /// The totals above split by model and provider, largest first. Summaries stored before
    /// this field existed decode with an empty list.
    #[serde(default)]
    pub usage_by_model: Vec<ModelUsage>,
    pub thread_id: Option<String>,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub environment: Option<String>,
    pub tags: Vec<String>,
    pub metadata: Map<String, Value>,
    pub models: Vec<String>,
    pub tools: Vec<String>,
    pub signals: Vec<RunSignal>,
    /// Whether the true root (a span with no parent) has arrived. Until it has, the top-most
    /// span present stands in.
    pub has_root: bool,
    /// The root, or the span standing in for it.
    pub root_span_id: Option<String>,
    pub input: Option<Value>,
    pub output: Option<Value>,
}

impl Run {
    /// Sets the run's token totals from a sum of counted usage (absent counts are 0).
    pub fn set_tokens(&mut self, usage: &Usage) {
        self.input_tokens = usage.input_tokens.unwrap_or(0);
        self.output_tokens = usage.output_tokens.unwrap_or(0);
        self.total_tokens = usage.total_tokens.unwrap_or(0);
        self.cache_read_tokens = usage.cache_read_tokens.unwrap_or(0);
        self.cache_write_tokens = usage.cache_write_tokens.unwrap_or(0);
        self.reasoning_tokens = usage.reasoning_tokens.unwrap_or(0);
    }
}

/// What one model's calls in a run used, counted by the same rule as the run's totals, so the
/// entries of a run add up to its tokens and cost.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelUsage {
    /// The counted span's model, or [`UNKNOWN_MODEL`] when it names none (an agent span
    /// carrying usage its children do not report, a priced tool call).
    pub model: String,
    pub provider: Option<String>,
    /// Counted spans: model calls, each once.
    pub calls: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub total_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
    pub reasoning_tokens: u64,
    pub cost_usd: Option<f64>,
}

/// The model counted usage is listed under when its span names no model.
pub const UNKNOWN_MODEL: &str = "unknown";

/// Consecutive identical tool calls that make a loop.
pub const LOOP_MIN_REPEATS: u32 = 3;

/// Summarises a run from the digests of all its spans present (any order; a span id present
/// twice counts once). Input and output are left to the caller: they are the root's payloads,
/// which digests do not carry. Stores get the same summary batch by batch through
/// [`ledger::apply`], without re-reading the run.
pub fn summarize(run_id: &str, spans: &[SpanDigest]) -> Run {
    let mut index = MemoryIndex::default();
    let new = index.insert(spans);
    // Span ids repeat only in hand-made input: copy the spans only then.
    let unique: std::borrow::Cow<[SpanDigest]> = if new.len() == spans.len() {
        spans.into()
    } else {
        new.iter().map(|&i| spans[i].clone()).collect()
    };
    let mut state = RunState::default();
    match ledger::apply(&mut index, &mut state, &unique) {
        Ok(()) => {}
        Err(never) => match never {},
    }
    state.finish(run_id)
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod reference;
#[cfg(test)]
mod tests;
