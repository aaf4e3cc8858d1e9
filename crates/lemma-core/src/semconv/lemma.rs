//! Lemma's own attributes (`docs/trace-contract.md`): what Lemma's SDKs write, and what any
//! emitter can add to override every other convention.

use super::{Attrs, Fields};
use crate::model::SpanKind;

/// The root span name Lemma's SDKs give an agent run.
pub const AGENT_RUN_SPAN: &str = "ai.agent.run";

pub fn read(a: &Attrs) -> Fields {
    let kind = a
        .text("lemma.span.kind")
        .and_then(|k| SpanKind::parse(&k))
        .or_else(|| (a.name() == AGENT_RUN_SPAN).then_some(SpanKind::Agent));
    let agent_name = a.text("lemma.agent.name");
    // Every agent span of Lemma's SDKs is `ai.agent.run`: a run is known by its agent's name.
    let is_root_run = a.span.parent_span_id.is_none() && a.name() == AGENT_RUN_SPAN;
    Fields {
        kind,
        trace_name: agent_name.clone().filter(|_| is_root_run),
        agent_name,
        input: a.json("lemma.input").or_else(|| a.json("ai.agent.input")),
        output: a.json("lemma.output").or_else(|| a.json("ai.agent.output")),
        thread_id: a.text("lemma.thread_id"),
        user_id: a.text("lemma.user_id"),
        session_id: a.text("lemma.session_id"),
        environment: a.text("lemma.environment"),
        tags: a.list("lemma.tags"),
        cost_usd: a.f64("lemma.cost_usd"),
        metadata: a
            .with_prefix("lemma.metadata.")
            .map(|(k, v)| (k.to_string(), crate::value::lenient_json(v)))
            .collect(),
        ..Fields::default()
    }
}
