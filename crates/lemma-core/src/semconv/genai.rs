//! OpenTelemetry GenAI semantic conventions, current form (≥ v1.37): `gen_ai.operation.name`,
//! `gen_ai.provider.name`, `gen_ai.input.messages` / `gen_ai.output.messages` and the usage keys.

use super::{Attrs, Fields};
use crate::model::{SpanKind, Usage};

pub fn read(a: &Attrs) -> Fields {
    let operation = a.text("gen_ai.operation.name");
    let kind = operation.as_deref().and_then(operation_kind);
    let tool_args = a.json("gen_ai.tool.call.arguments");
    let (input, output) = match kind {
        Some(SpanKind::Tool) => (tool_args.clone(), a.json("gen_ai.tool.call.result")),
        Some(SpanKind::Retrieval) => (
            a.json("gen_ai.retrieval.query.text"),
            a.json("gen_ai.retrieval.documents"),
        ),
        _ => (
            a.json("gen_ai.input.messages"),
            a.json("gen_ai.output.messages"),
        ),
    };
    Fields {
        kind,
        operation,
        model: a.text_any(&["gen_ai.response.model", "gen_ai.request.model"]),
        provider: a.text("gen_ai.provider.name"),
        response_id: a.text("gen_ai.response.id"),
        usage: Usage {
            input_tokens: a.u64("gen_ai.usage.input_tokens"),
            output_tokens: a.u64("gen_ai.usage.output_tokens"),
            total_tokens: None,
            cache_read_tokens: a.u64("gen_ai.usage.cache_read.input_tokens"),
            // Renamed from cache_creation to cache_write in semconv-genai #440; both are seen.
            cache_write_tokens: a.u64_any(&[
                "gen_ai.usage.cache_write.input_tokens",
                "gen_ai.usage.cache_creation.input_tokens",
            ]),
            reasoning_tokens: a.u64("gen_ai.usage.reasoning.output_tokens"),
        },
        tool_name: a.text("gen_ai.tool.name"),
        tool_call_id: a.text("gen_ai.tool.call.id"),
        tool_args,
        input,
        output,
        agent_name: a.text("gen_ai.agent.name"),
        thread_id: a.text("gen_ai.conversation.id"),
        ..Fields::default()
    }
}

/// `gen_ai.operation.name` to kind, including the custom values emitters use in the wild.
pub fn operation_kind(op: &str) -> Option<SpanKind> {
    Some(match op {
        "chat" | "text_completion" | "generate_content" => SpanKind::Llm,
        "embeddings" => SpanKind::Embedding,
        "retrieval" | "search_memory" | "vector_db_retrieve" => SpanKind::Retrieval,
        "execute_tool" | "handoff" => SpanKind::Tool,
        "invoke_agent" | "create_agent" | "invoke_workflow" => SpanKind::Agent,
        "plan" | "agent_step" | "execute_task" => SpanKind::Chain,
        "rerank" => SpanKind::Reranker,
        "guardrail" => SpanKind::Guardrail,
        "evaluate" | "evaluation" => SpanKind::Evaluator,
        _ => return None,
    })
}
