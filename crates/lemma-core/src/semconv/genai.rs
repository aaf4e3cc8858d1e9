//! OpenTelemetry GenAI semantic conventions, current form (≥ v1.37): `gen_ai.operation.name`,
//! `gen_ai.provider.name`, `gen_ai.input.messages` / `gen_ai.output.messages` and the usage keys.
//! Also the OpenAI Agents SDK's hand-off and guardrail keys (`gen_ai.handoff.*`,
//! `gen_ai.guardrail.*`), which the OTel contrib and OpenLLMetry processors add to the family.

use serde_json::{Map, Value};

use super::{Attrs, Fields};
use crate::model::{SpanKind, Usage};

pub fn read(a: &Attrs) -> Fields {
    let operation = a.text("gen_ai.operation.name");
    let guardrail =
        a.get("gen_ai.guardrail.name").is_some() || a.get("gen_ai.guardrail.triggered").is_some();
    let kind = operation
        .as_deref()
        .and_then(operation_kind)
        .or_else(|| guardrail.then_some(SpanKind::Guardrail));
    let tool_name = a
        .text("gen_ai.tool.name")
        .or_else(|| handoff_tool_name(a, operation.as_deref()));
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
        tool_name,
        tool_call_id: a.text("gen_ai.tool.call.id"),
        tool_args,
        input,
        output,
        agent_name: a.text("gen_ai.agent.name"),
        thread_id: a.text("gen_ai.conversation.id"),
        metadata: agents_sdk_metadata(a),
        ..Fields::default()
    }
}

/// A hand-off is shown as a tool call named `handoff to <agent>`, the name the OpenInference
/// processor gives the same span, so a hand-off reads the same whichever exporter sent it.
fn handoff_tool_name(a: &Attrs, operation: Option<&str>) -> Option<String> {
    match a.text("gen_ai.handoff.to_agent") {
        Some(to) => Some(format!("handoff to {to}")),
        None => matches!(operation, Some("handoff" | "agent_handoff")).then(|| "handoff".into()),
    }
}

fn agents_sdk_metadata(a: &Attrs) -> Map<String, Value> {
    [
        ("handoff_from", "gen_ai.handoff.from_agent"),
        ("handoff_to", "gen_ai.handoff.to_agent"),
        ("guardrail_name", "gen_ai.guardrail.name"),
        ("guardrail_triggered", "gen_ai.guardrail.triggered"),
    ]
    .into_iter()
    .filter_map(|(name, key)| Some((name.to_string(), a.get(key)?.clone())))
    .collect()
}

/// `gen_ai.operation.name` to kind, including the custom values emitters use in the wild.
pub fn operation_kind(op: &str) -> Option<SpanKind> {
    Some(match op {
        "chat" | "text_completion" | "generate_content" => SpanKind::Llm,
        "embeddings" => SpanKind::Embedding,
        "retrieval" | "search_memory" | "vector_db_retrieve" => SpanKind::Retrieval,
        // `agent_handoff` / `guardrail_check`: the OTel contrib Agents SDK processor.
        "execute_tool" | "handoff" | "agent_handoff" => SpanKind::Tool,
        "invoke_agent" | "create_agent" | "invoke_workflow" => SpanKind::Agent,
        "plan" | "agent_step" | "execute_task" => SpanKind::Chain,
        "rerank" => SpanKind::Reranker,
        "guardrail" | "guardrail_check" => SpanKind::Guardrail,
        "evaluate" | "evaluation" => SpanKind::Evaluator,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::semconv::test_support::normalized;

    #[test]
    fn contrib_handoff_is_a_tool_named_after_the_target() {
        for op in ["handoff", "agent_handoff"] {
            let s = normalized(
                "agent_handoff",
                json!({
                    "gen_ai.operation.name": op,
                    "gen_ai.handoff.from_agent": "triage",
                    "gen_ai.handoff.to_agent": "refunds",
                }),
            );
            assert_eq!(s.kind, SpanKind::Tool, "{op}");
            assert_eq!(s.operation.as_deref(), Some(op));
            assert_eq!(s.tool_name.as_deref(), Some("handoff to refunds"));
            assert_eq!(s.metadata["handoff_from"], "triage");
            assert_eq!(s.metadata["handoff_to"], "refunds");
        }
    }

    #[test]
    fn handoff_without_target_is_named_handoff() {
        let s = normalized(
            "agent_handoff support",
            json!({"gen_ai.operation.name": "agent_handoff"}),
        );
        assert_eq!(s.tool_name.as_deref(), Some("handoff"));
        assert!(s.metadata.is_empty());
    }

    #[test]
    fn explicit_tool_name_wins_over_the_handoff_name() {
        let s = normalized(
            "x",
            json!({
                "gen_ai.operation.name": "handoff",
                "gen_ai.tool.name": "transfer_to_refunds",
                "gen_ai.handoff.to_agent": "refunds",
            }),
        );
        assert_eq!(s.tool_name.as_deref(), Some("transfer_to_refunds"));
    }

    #[test]
    fn guardrail_by_operation_or_by_its_keys() {
        let s = normalized(
            "guardrail_check",
            json!({
                "gen_ai.operation.name": "guardrail_check",
                "gen_ai.guardrail.name": "no_pii",
                "gen_ai.guardrail.triggered": true,
            }),
        );
        assert_eq!(s.kind, SpanKind::Guardrail);
        assert_eq!(s.metadata["guardrail_name"], "no_pii");
        assert_eq!(s.metadata["guardrail_triggered"], true);

        let keys_only = normalized("check", json!({"gen_ai.guardrail.triggered": false}));
        assert_eq!(keys_only.kind, SpanKind::Guardrail);
        assert_eq!(keys_only.metadata["guardrail_triggered"], false);
    }
}
