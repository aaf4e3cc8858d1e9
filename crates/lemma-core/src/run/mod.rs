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
use crate::signals::{marks_of, SpanMark};
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
    /// Signals written onto the span (`lemma.signal.<name>`, classifier flags).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub marks: Vec<SpanMark>,
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
            marks: marks_of(&s.attributes),
        }
    }
}

/// Something in a run worth a look: a tool called again and again with the same arguments,
/// a streak of failures, a classifier's label. Loops come with the run's summary; the rest
/// are found by [`crate::signals::detect`] as spans arrive.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunSignal {
    /// The signal's name: `loop`, `error_streak`, `jailbreak_attempt`, ...
    pub kind: String,
    /// Summaries stored before severities existed hold only loops, which are warnings.
    #[serde(default)]
    pub severity: Severity,
    /// What found it.
    #[serde(default)]
    pub source: SignalSource,
    /// The span it points at (the first of a repeated stretch), when one span stands for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_id: Option<String>,
    /// One sentence for a person: what happened, with the numbers that made it a signal.
    #[serde(default)]
    pub explanation: String,
    /// A classifier's or evaluator's score, when it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// A classifier's or evaluator's label, when it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub tool_name: Option<String>,
    pub tool_args: Option<Value>,
    /// Consecutive repeats (loops, cycles, streaks) or occurrences counted; 0 when not counted.
    pub repeats: u32,
    /// For loops: the first call's position among the run's tool spans in start order, from 0.
    pub first_tool_index: u32,
    /// For loops: the first call. Absent from summaries stored before it was kept.
    #[serde(default)]
    pub first_span_id: Option<String>,
}

/// How much a signal asks for attention.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = SignalSeverity))]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    #[default]
    Warning,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Info, Severity::Warning, Severity::Critical];

    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(name: &str) -> Option<Severity> {
        Severity::ALL
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(name))
    }
}

/// What found a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SignalSource {
    /// A rule over the run's spans, applied by Lemma as they arrive.
    #[default]
    Rule,
    /// A label or score the app or a classifier wrote onto a span (`lemma.signal.<name>`,
    /// `jailbreak_attempt`, ...).
    Attribute,
    /// An evaluation result (`gen_ai.evaluation.result`, OpenInference annotations).
    Evaluation,
    /// The project's HTTP classifier, called with the finished run.
    Classifier,
}

impl RunSignal {
    /// The loop signal of `repeats` consecutive identical calls of a tool.
    pub fn repeated_calls(
        tool_name: Option<String>,
        tool_args: Option<&str>,
        repeats: u32,
        first_tool_index: u32,
        first_span_id: &str,
    ) -> RunSignal {
        let tool = tool_name.as_deref().unwrap_or("a tool");
        RunSignal {
            kind: "loop".into(),
            severity: Severity::Warning,
            source: SignalSource::Rule,
            span_id: Some(first_span_id.to_string()),
            explanation: format!(
                "{tool} was called {repeats} times in a row with the same arguments"
            ),
            tool_args: tool_args.and_then(|a| serde_json::from_str(a).ok()),
            tool_name,
            repeats,
            first_tool_index,
            first_span_id: Some(first_span_id.to_string()),
            ..RunSignal::default()
        }
    }
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
