//! What one convention says about a span, and how the conventions' answers combine.

use serde_json::{Map, Value};

use crate::model::{CostSource, PayloadState, Span, SpanKind, Usage};
use crate::value::{cap_depth, MAX_DEPTH};

/// One convention's reading of a span. `None` means "this convention does not say".
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Fields {
    pub kind: Option<SpanKind>,
    /// The operation as the emitter named it, kept raw (see `Span::operation`).
    pub operation: Option<String>,
    /// `langfuse.trace.name` and the like: a name for the whole run.
    pub trace_name: Option<String>,
    pub model: Option<String>,
    pub provider: Option<String>,
    pub response_id: Option<String>,
    pub usage: Usage,
    pub cost_usd: Option<f64>,
    pub tool_name: Option<String>,
    pub tool_call_id: Option<String>,
    pub tool_args: Option<Value>,
    pub input: Option<Value>,
    pub output: Option<Value>,
    pub agent_name: Option<String>,
    /// An explicit thread id (`lemma.thread_id`, `gen_ai.conversation.id`, ...).
    pub thread_id: Option<String>,
    pub user_id: Option<String>,
    /// A session id; also the thread when no convention names a thread.
    pub session_id: Option<String>,
    pub environment: Option<String>,
    pub tags: Option<Vec<String>>,
    /// Merged key by key: a stronger convention's key wins.
    pub metadata: Map<String, Value>,
    /// The convention marks the span as failed (e.g. a level of ERROR), with a message.
    pub error: Option<Option<String>>,
}

impl Fields {
    /// `self` is the stronger reading; `weaker` fills only what `self` leaves unset.
    pub fn or(mut self, weaker: Fields) -> Fields {
        macro_rules! fill {
            ($($f:ident).+) => { if self.$($f).+.is_none() { self.$($f).+ = weaker.$($f).+; } };
        }
        fill!(kind);
        fill!(operation);
        fill!(trace_name);
        fill!(model);
        fill!(provider);
        fill!(response_id);
        fill!(usage.input_tokens);
        fill!(usage.output_tokens);
        fill!(usage.total_tokens);
        fill!(usage.cache_read_tokens);
        fill!(usage.cache_write_tokens);
        fill!(usage.reasoning_tokens);
        fill!(cost_usd);
        fill!(tool_name);
        fill!(tool_call_id);
        fill!(tool_args);
        fill!(input);
        fill!(output);
        fill!(agent_name);
        fill!(thread_id);
        fill!(user_id);
        fill!(session_id);
        fill!(environment);
        fill!(tags);
        fill!(error);
        for (k, v) in weaker.metadata {
            self.metadata.entry(k).or_insert(v);
        }
        self
    }

    /// Writes the merged reading onto the span.
    pub fn apply(mut self, span: &mut Span) {
        // Readers parse JSON found inside JSON they parsed: keep what they built within the
        // depth every value on a span has.
        let built = [&mut self.input, &mut self.output, &mut self.tool_args];
        for value in built
            .into_iter()
            .flatten()
            .chain(self.metadata.values_mut())
        {
            cap_depth(value, MAX_DEPTH);
        }
        span.model = self.model;
        // The raw value stays in the attributes; the field uses one vocabulary.
        span.provider = self.provider.map(|p| super::canonical_provider(&p));
        span.response_id = self.response_id;
        span.usage = self.usage;
        if span.usage.total_tokens.is_none() && !span.usage.is_empty() {
            span.usage.total_tokens = span.usage.total();
        }
        span.operation = self.operation;
        span.trace_name = self.trace_name;
        span.cost_source = self.cost_usd.map(|_| CostSource::Provided);
        span.cost_usd = self.cost_usd;
        span.tool_name = self.tool_name;
        span.tool_call_id = self.tool_call_id;
        span.tool_args = self.tool_args;
        span.input_state = self.input.as_ref().and_then(PayloadState::of);
        span.output_state = self.output.as_ref().and_then(PayloadState::of);
        span.input = self.input;
        span.output = self.output;
        span.agent_name = self.agent_name;
        span.session_id = self.session_id;
        span.thread_id = self.thread_id.or_else(|| span.session_id.clone());
        span.user_id = self.user_id;
        span.environment = self.environment;
        span.tags = self.tags.unwrap_or_default();
        span.metadata = self.metadata;
        if let Some(message) = self.error {
            super::mark_error(span, message);
        }
        span.kind = self.kind.unwrap_or_else(|| super::infer_kind(span));
        if span.kind == SpanKind::Tool {
            if span.tool_name.is_none() {
                span.tool_name = Some(span.name.clone());
            }
            if span.input.is_none() {
                span.input = span.tool_args.clone();
            }
        }
    }
}
