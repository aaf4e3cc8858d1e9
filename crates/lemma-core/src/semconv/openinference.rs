//! OpenInference (Arize): every span carries `openinference.span.kind`; content is in
//! `input.value` / `output.value`, lists are flattened to `prefix.<n>.suffix`, and the context
//! attributes (`metadata`, `tag.tags`, `llm.prompt_template.*`) ride on every span in scope.
//! Spans without the kind attribute are not OpenInference and are left to other readers.

use serde_json::{Map, Value};

use super::{unflatten, Attrs, Fields};
use crate::model::{SpanKind, Usage};
use crate::value::lenient_json;

pub fn read(a: &Attrs) -> Fields {
    let Some(raw_kind) = a.text("openinference.span.kind") else {
        return Fields::default();
    };
    let kind = span_kind(&raw_kind);
    let tool_args = (kind == Some(SpanKind::Tool))
        .then(|| a.json("input.value").or_else(|| tool_parameters_as_args(a)))
        .flatten();
    Fields {
        kind,
        operation: Some(raw_kind),
        model: a.text_any(&[
            "llm.response.model_name",
            "llm.model_name",
            "llm.request.model_name",
            "embedding.model_name",
            "reranker.model_name",
        ]),
        provider: a.text_any(&["llm.provider", "llm.system"]),
        usage: Usage {
            input_tokens: a.u64("llm.token_count.prompt"),
            output_tokens: a.u64("llm.token_count.completion"),
            total_tokens: a.u64("llm.token_count.total"),
            cache_read_tokens: a.u64("llm.token_count.prompt_details.cache_read"),
            cache_write_tokens: a.u64("llm.token_count.prompt_details.cache_write"),
            reasoning_tokens: a.u64("llm.token_count.completion_details.reasoning"),
        },
        cost_usd: cost(a),
        tool_name: a.text("tool.name"),
        tool_call_id: a.text_any(&["tool.id", "tool_call.id"]),
        tool_args,
        input: input(a, kind),
        output: output(a, kind),
        agent_name: a.text("agent.name").or_else(|| {
            (kind == Some(SpanKind::Agent))
                .then(|| a.text("graph.node.name"))
                .flatten()
        }),
        tags: a.list("tag.tags"),
        metadata: metadata(a),
        ..Fields::default()
    }
}

/// `openinference.span.kind` to kind. The spec says upper case; any case is accepted.
/// `UNKNOWN` and values not in the spec claim no kind.
pub fn span_kind(raw: &str) -> Option<SpanKind> {
    Some(match raw.trim().to_ascii_uppercase().as_str() {
        "LLM" => SpanKind::Llm,
        "CHAIN" | "PROMPT" => SpanKind::Chain,
        "TOOL" => SpanKind::Tool,
        "AGENT" => SpanKind::Agent,
        "RETRIEVER" => SpanKind::Retrieval,
        "EMBEDDING" => SpanKind::Embedding,
        "RERANKER" => SpanKind::Reranker,
        "GUARDRAIL" => SpanKind::Guardrail,
        "EVALUATOR" => SpanKind::Evaluator,
        _ => return None,
    })
}

fn cost(a: &Attrs) -> Option<f64> {
    a.f64("llm.cost.total").or_else(|| {
        let prompt = a.f64("llm.cost.prompt")?;
        let completion = a.f64("llm.cost.completion")?;
        Some(prompt + completion)
    })
}

/// The spec defines `tool.parameters` as the tool's parameter schema, but some converters write
/// the call's arguments there. It is taken as arguments only when it is an object that does not
/// look like a schema.
fn tool_parameters_as_args(a: &Attrs) -> Option<Value> {
    a.json("tool.parameters")
        .filter(|v| v.is_object() && !looks_like_json_schema(v))
}

/// An object made only of JSON Schema keywords, with at least one that defines a schema.
fn looks_like_json_schema(value: &Value) -> bool {
    const KEYWORDS: &[&str] = &[
        "$schema",
        "$id",
        "$ref",
        "$defs",
        "definitions",
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "anyOf",
        "oneOf",
        "allOf",
        "enum",
        "const",
        "title",
        "description",
        "default",
        "examples",
        "format",
        "strict",
    ];
    const DEFINING: &[&str] = &[
        "$schema",
        "$ref",
        "type",
        "properties",
        "anyOf",
        "oneOf",
        "allOf",
    ];
    const TYPES: &[&str] = &[
        "object", "array", "string", "number", "integer", "boolean", "null",
    ];
    let Some(obj) = value.as_object() else {
        return false;
    };
    let schema_type = match obj.get("type") {
        Some(Value::String(t)) => TYPES.contains(&t.as_str()),
        Some(Value::Array(ts)) => ts
            .iter()
            .all(|t| t.as_str().is_some_and(|t| TYPES.contains(&t))),
        Some(_) => false,
        None => true,
    };
    let defining = DEFINING.iter().any(|k| obj.contains_key(*k));
    schema_type && defining && obj.keys().all(|k| KEYWORDS.contains(&k.as_str()))
}

fn input(a: &Attrs, kind: Option<SpanKind>) -> Option<Value> {
    match kind {
        Some(SpanKind::Embedding) => embedding_texts(a).or_else(|| a.json("input.value")),
        Some(SpanKind::Reranker) => a
            .text("reranker.query")
            .map(Value::String)
            .or_else(|| a.json("input.value")),
        Some(SpanKind::Llm) => a
            .json("input.value")
            .or_else(|| unflatten(a.map(), "llm.input_messages"))
            .or_else(|| unflatten(a.map(), "llm.prompts")),
        _ => a.json("input.value"),
    }
}

fn output(a: &Attrs, kind: Option<SpanKind>) -> Option<Value> {
    match kind {
        Some(SpanKind::Retrieval) => {
            documents(a, "retrieval.documents").or_else(|| a.json("output.value"))
        }
        Some(SpanKind::Reranker) => {
            documents(a, "reranker.output_documents").or_else(|| a.json("output.value"))
        }
        Some(SpanKind::Llm) => a
            .json("output.value")
            .or_else(|| unflatten(a.map(), "llm.output_messages"))
            .or_else(|| unflatten(a.map(), "llm.choices")),
        _ => a.json("output.value"),
    }
}

/// The texts that were embedded, in index order. The vectors are never read: they are large
/// and of no use to a reader of the trace.
fn embedding_texts(a: &Attrs) -> Option<Value> {
    let Value::Array(items) = unflatten(a.map(), "embedding.embeddings")? else {
        return None;
    };
    let texts: Vec<Value> = items
        .iter()
        .filter_map(|item| item.pointer("/embedding/text").cloned())
        .filter(|t| !t.is_null())
        .collect();
    (!texts.is_empty()).then_some(Value::Array(texts))
}

/// `prefix.<n>.document.{id,content,score,metadata}` as `[{id, content, score, metadata}]`,
/// the shape of GenAI's `gen_ai.retrieval.documents`; metadata JSON strings are parsed.
fn documents(a: &Attrs, prefix: &str) -> Option<Value> {
    let Some(Value::Array(items)) = unflatten(a.map(), prefix) else {
        return a.json(prefix);
    };
    let docs = items
        .into_iter()
        .map(|item| {
            let mut doc = match item {
                Value::Object(mut m) => m.remove("document").unwrap_or(Value::Object(m)),
                other => other,
            };
            if let Some(meta) = doc.get_mut("metadata") {
                *meta = lenient_json(meta);
            }
            doc
        })
        .collect();
    Some(Value::Array(docs))
}

/// `metadata` (a JSON object, usually as a string) and flattened `metadata.<key>`, then the
/// prompt template and invocation parameters under keys of their own. A key the emitter put in
/// `metadata` itself is never overwritten.
fn metadata(a: &Attrs) -> Map<String, Value> {
    let mut meta = match a.json("metadata") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    for (k, v) in a.with_prefix("metadata.") {
        meta.entry(k).or_insert_with(|| lenient_json(v));
    }
    // The template is text, kept as sent; the variables and parameters are JSON objects.
    let raw = |key| a.get(key).cloned();
    let derived = [
        ("prompt_template", raw("llm.prompt_template.template")),
        (
            "prompt_template_version",
            raw("llm.prompt_template.version"),
        ),
        (
            "prompt_template_variables",
            a.json("llm.prompt_template.variables"),
        ),
        ("invocation_parameters", a.json("llm.invocation_parameters")),
    ];
    for (k, v) in derived {
        if let Some(v) = v {
            meta.entry(k).or_insert(v);
        }
    }
    meta
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::semconv::test_support::{fixture_spans, normalized, read_raw};

    #[test]
    fn kinds_in_any_case() {
        for (raw, kind) in [
            ("LLM", Some(SpanKind::Llm)),
            ("llm", Some(SpanKind::Llm)),
            ("Chain", Some(SpanKind::Chain)),
            ("PROMPT", Some(SpanKind::Chain)),
            ("tool", Some(SpanKind::Tool)),
            ("AGENT", Some(SpanKind::Agent)),
            ("retriever", Some(SpanKind::Retrieval)),
            ("EMBEDDING", Some(SpanKind::Embedding)),
            ("RERANKER", Some(SpanKind::Reranker)),
            ("GUARDRAIL", Some(SpanKind::Guardrail)),
            ("EVALUATOR", Some(SpanKind::Evaluator)),
            ("UNKNOWN", None),
            ("SOMETHING_NEW", None),
        ] {
            let f = read_raw(read, json!({"openinference.span.kind": raw}));
            assert_eq!(f.kind, kind, "{raw}");
            assert_eq!(
                f.operation.as_deref(),
                Some(raw),
                "operation keeps {raw} raw"
            );
        }
    }

    #[test]
    fn unknown_kind_span_is_plain() {
        let s = normalized("step", json!({"openinference.span.kind": "UNKNOWN"}));
        assert_eq!(s.kind, SpanKind::Span);
        assert_eq!(s.operation.as_deref(), Some("UNKNOWN"));
    }

    #[test]
    fn without_the_kind_attribute_nothing_is_read() {
        let f = read_raw(
            read,
            json!({
                "input.value": "hello",
                "llm.model_name": "gpt-4o",
                "metadata": "{\"a\": 1}",
                "tag.tags": ["t"],
            }),
        );
        assert_eq!(f, Fields::default());
    }

    #[test]
    fn llm_span_model_provider_usage_cost() {
        let f = read_raw(
            read,
            json!({
                "openinference.span.kind": "LLM",
                "llm.model_name": "claude-sonnet-4",
                "llm.system": "anthropic",
                "llm.provider": "aws",
                "llm.token_count.prompt": 120,
                "llm.token_count.completion": "30",
                "llm.token_count.total": 150,
                "llm.token_count.prompt_details.cache_read": 80,
                "llm.token_count.prompt_details.cache_write": 20,
                "llm.token_count.completion_details.reasoning": 10,
                "llm.cost.prompt": 0.25,
                "llm.cost.completion": 0.5,
            }),
        );
        assert_eq!(f.kind, Some(SpanKind::Llm));
        assert_eq!(f.model.as_deref(), Some("claude-sonnet-4"));
        // The host is the provider; `llm.system` only when no host is named.
        assert_eq!(f.provider.as_deref(), Some("aws"));
        assert_eq!(f.usage.input_tokens, Some(120));
        assert_eq!(f.usage.output_tokens, Some(30));
        assert_eq!(f.usage.total_tokens, Some(150));
        assert_eq!(f.usage.cache_read_tokens, Some(80));
        assert_eq!(f.usage.cache_write_tokens, Some(20));
        assert_eq!(f.usage.reasoning_tokens, Some(10));
        assert_eq!(f.cost_usd, Some(0.75));
    }

    #[test]
    fn cost_total_wins_and_half_a_cost_is_none() {
        let total = read_raw(
            read,
            json!({
                "openinference.span.kind": "LLM",
                "llm.cost.total": 1.5, "llm.cost.prompt": 0.25, "llm.cost.completion": 0.5,
            }),
        );
        assert_eq!(total.cost_usd, Some(1.5));
        let half = read_raw(
            read,
            json!({"openinference.span.kind": "LLM", "llm.cost.prompt": 0.25}),
        );
        assert_eq!(half.cost_usd, None);
    }

    #[test]
    fn response_model_wins_then_embedding_and_reranker_models() {
        let f = read_raw(
            read,
            json!({
                "openinference.span.kind": "LLM",
                "llm.request.model_name": "gpt-4o",
                "llm.model_name": "gpt-4o-alias",
                "llm.response.model_name": "gpt-4o-2024-08-06",
            }),
        );
        assert_eq!(f.model.as_deref(), Some("gpt-4o-2024-08-06"));
        let e = read_raw(
            read,
            json!({
                "openinference.span.kind": "EMBEDDING",
                "embedding.model_name": "text-embedding-3-small",
            }),
        );
        assert_eq!(e.model.as_deref(), Some("text-embedding-3-small"));
        let r = read_raw(
            read,
            json!({
                "openinference.span.kind": "RERANKER",
                "reranker.model_name": "rerank-v3",
            }),
        );
        assert_eq!(r.model.as_deref(), Some("rerank-v3"));
    }

    #[test]
    fn llm_input_output_values_with_bad_json_and_redaction() {
        let f = read_raw(
            read,
            json!({
                "openinference.span.kind": "LLM",
                "input.value": "{\"messages\": [{\"role\": \"user\"",
                "output.value": "__REDACTED__",
            }),
        );
        assert_eq!(f.input, Some(json!("{\"messages\": [{\"role\": \"user\"")));
        assert_eq!(f.output, Some(json!("__REDACTED__")));
    }

    #[test]
    fn llm_falls_back_to_flattened_messages_sparse_indices() {
        let f = read_raw(
            read,
            json!({
                "openinference.span.kind": "LLM",
                // No instructions: the Agents SDK processor starts at index 1.
                "llm.input_messages.3.message.role": "tool",
                "llm.input_messages.1.message.role": "user",
                "llm.input_messages.1.message.content": "hi",
                "llm.output_messages.0.message.role": "assistant",
                "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "search",
            }),
        );
        let input = f.input.unwrap();
        assert_eq!(input.as_array().unwrap().len(), 2);
        assert_eq!(input[0]["message"]["content"], "hi");
        assert_eq!(input[1]["message"]["role"], "tool");
        assert_eq!(
            f.output.unwrap()[0]["message"]["tool_calls"][0]["tool_call"]["function"]["name"],
            "search"
        );
    }

    #[test]
    fn tool_span_reads_name_call_id_args_and_result() {
        let f = read_raw(
            read,
            json!({
                "openinference.span.kind": "TOOL",
                "tool.name": "get_weather",
                "tool.id": "call_9",
                "tool.parameters": "{\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}}",
                "input.value": "{\"city\": \"Paris\"}",
                "output.value": "sunny",
            }),
        );
        assert_eq!(f.kind, Some(SpanKind::Tool));
        assert_eq!(f.tool_name.as_deref(), Some("get_weather"));
        assert_eq!(f.tool_call_id.as_deref(), Some("call_9"));
        assert_eq!(f.tool_args, Some(json!({"city": "Paris"})));
        assert_eq!(f.input, Some(json!({"city": "Paris"})));
        assert_eq!(f.output, Some(json!("sunny")));
    }

    #[test]
    fn tool_call_id_falls_back_to_tool_call_id_key() {
        let f = read_raw(
            read,
            json!({"openinference.span.kind": "TOOL", "tool_call.id": "call_1"}),
        );
        assert_eq!(f.tool_call_id.as_deref(), Some("call_1"));
    }

    #[test]
    fn tool_parameters_are_args_only_when_not_a_schema() {
        let args = read_raw(
            read,
            json!({
                "openinference.span.kind": "TOOL",
                "tool.parameters": "{\"city\": \"Paris\", \"type\": \"museum\"}",
            }),
        );
        assert_eq!(
            args.tool_args,
            Some(json!({"city": "Paris", "type": "museum"}))
        );

        for schema in [
            json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
            json!({"type": "object"}),
            json!({"$schema": "http://json-schema.org/draft-07/schema#", "properties": {}}),
            json!({"properties": {"q": {"type": "string"}}, "additionalProperties": false}),
        ] {
            let f = read_raw(
                read,
                json!({
                    "openinference.span.kind": "TOOL",
                    "tool.parameters": schema.to_string(),
                }),
            );
            assert_eq!(f.tool_args, None, "{schema}");
        }

        // Not JSON at all: neither schema nor arguments.
        let text = read_raw(
            read,
            json!({"openinference.span.kind": "TOOL", "tool.parameters": "city"}),
        );
        assert_eq!(text.tool_args, None);
    }

    #[test]
    fn input_value_wins_over_tool_parameters_even_when_redacted() {
        let f = read_raw(
            read,
            json!({
                "openinference.span.kind": "TOOL",
                "tool.parameters": "{\"city\": \"Paris\"}",
                "input.value": "__REDACTED__",
            }),
        );
        assert_eq!(f.tool_args, Some(json!("__REDACTED__")));
    }

    #[test]
    fn tool_parameters_as_args_become_the_input() {
        let s = normalized(
            "lookup",
            json!({"openinference.span.kind": "TOOL", "tool.parameters": {"id": 7}}),
        );
        assert_eq!(s.tool_args, Some(json!({"id": 7})));
        assert_eq!(s.input, Some(json!({"id": 7})));
    }

    #[test]
    fn tool_args_only_on_tool_spans() {
        let f = read_raw(
            read,
            json!({"openinference.span.kind": "CHAIN", "input.value": "{\"a\": 1}"}),
        );
        assert_eq!(f.tool_args, None);
        assert_eq!(f.input, Some(json!({"a": 1})));
    }

    #[test]
    fn agents_sdk_handoff_is_a_tool_named_after_the_span() {
        let s = normalized(
            "handoff to refund_agent",
            json!({
                "openinference.span.kind": "TOOL",
                "input.value": "triage_agent",
                "output.value": "refund_agent",
            }),
        );
        assert_eq!(s.kind, SpanKind::Tool);
        assert_eq!(s.tool_name.as_deref(), Some("handoff to refund_agent"));
        assert_eq!(s.agent_name, None);
    }

    #[test]
    fn retriever_documents_unflattened_and_unwrapped() {
        let f = read_raw(
            read,
            json!({
                "openinference.span.kind": "RETRIEVER",
                "input.value": "refund policy",
                "retrieval.documents.1.document.id": "d2",
                "retrieval.documents.1.document.score": 0.5,
                "retrieval.documents.0.document.id": "d1",
                "retrieval.documents.0.document.content": "Refunds take 5 days.",
                "retrieval.documents.0.document.metadata": "{\"source\": \"faq.md\"}",
            }),
        );
        assert_eq!(f.kind, Some(SpanKind::Retrieval));
        assert_eq!(f.input, Some(json!("refund policy")));
        assert_eq!(
            f.output,
            Some(json!([
                {"id": "d1", "content": "Refunds take 5 days.", "metadata": {"source": "faq.md"}},
                {"id": "d2", "score": 0.5},
            ]))
        );
    }

    #[test]
    fn retriever_without_documents_uses_output_value() {
        let f = read_raw(
            read,
            json!({"openinference.span.kind": "RETRIEVER", "output.value": "[]"}),
        );
        assert_eq!(f.output, Some(json!([])));
    }

    #[test]
    fn embedding_input_is_the_texts_never_the_vectors() {
        let f = read_raw(
            read,
            json!({
                "openinference.span.kind": "EMBEDDING",
                "embedding.embeddings.0.embedding.text": "first",
                "embedding.embeddings.0.embedding.vector": [0.1, 0.2],
                "embedding.embeddings.2.embedding.text": "third",
                "embedding.embeddings.2.embedding.vector": [0.3, 0.4],
            }),
        );
        assert_eq!(f.input, Some(json!(["first", "third"])));
        assert_eq!(f.output, None);

        let vectors_only = read_raw(
            read,
            json!({
                "openinference.span.kind": "EMBEDDING",
                "embedding.embeddings.0.embedding.vector": [0.1],
                "input.value": "fallback",
            }),
        );
        assert_eq!(vectors_only.input, Some(json!("fallback")));
    }

    #[test]
    fn reranker_query_and_output_documents() {
        let f = read_raw(
            read,
            json!({
                "openinference.span.kind": "RERANKER",
                "reranker.query": "[refund]",
                "reranker.input_documents.0.document.id": "a",
                "reranker.output_documents.0.document.id": "b",
                "reranker.output_documents.0.document.score": 0.9,
            }),
        );
        assert_eq!(f.input, Some(json!("[refund]")));
        assert_eq!(f.output, Some(json!([{"id": "b", "score": 0.9}])));
    }

    #[test]
    fn agent_name_from_agent_name_or_graph_node_on_agents_only() {
        let f = read_raw(
            read,
            json!({"openinference.span.kind": "AGENT", "graph.node.name": "planner"}),
        );
        assert_eq!(f.agent_name.as_deref(), Some("planner"));
        let named = read_raw(
            read,
            json!({
                "openinference.span.kind": "AGENT",
                "agent.name": "support",
                "graph.node.name": "planner",
            }),
        );
        assert_eq!(named.agent_name.as_deref(), Some("support"));
        let chain = read_raw(
            read,
            json!({"openinference.span.kind": "CHAIN", "graph.node.name": "n"}),
        );
        assert_eq!(chain.agent_name, None);
    }

    #[test]
    fn context_attributes_metadata_tags_template_parameters() {
        let f = read_raw(
            read,
            json!({
                "openinference.span.kind": "CHAIN",
                "metadata": "{\"tier\": \"gold\", \"prompt_template\": \"mine\"}",
                "metadata.region": "eu",
                "metadata.tier": "silver",
                "tag.tags": ["a", "b"],
                "llm.prompt_template.template": "{question}?",
                "llm.prompt_template.version": "v3",
                "llm.prompt_template.variables": "{\"question\": \"why\"}",
                "llm.invocation_parameters": "{\"temperature\": 0.2}",
            }),
        );
        assert_eq!(f.tags, Some(vec!["a".to_string(), "b".to_string()]));
        let m = &f.metadata;
        assert_eq!(m["tier"], "gold");
        assert_eq!(m["region"], "eu");
        assert_eq!(m["prompt_template"], "mine");
        assert_eq!(m["prompt_template_version"], "v3");
        assert_eq!(m["prompt_template_variables"], json!({"question": "why"}));
        assert_eq!(m["invocation_parameters"], json!({"temperature": 0.2}));
    }

    #[test]
    fn bad_metadata_json_is_ignored_not_fatal() {
        let f = read_raw(
            read,
            json!({
                "openinference.span.kind": "CHAIN",
                "metadata": "{\"tier\": ",
                "llm.prompt_template.template": "{\"literal\": true}",
            }),
        );
        // The template is text: kept as sent, not parsed.
        assert_eq!(f.metadata.len(), 1);
        assert_eq!(f.metadata["prompt_template"], "{\"literal\": true}");
    }

    #[test]
    fn dual_emission_genai_wins_openinference_fills_gaps() {
        let s = normalized(
            "chat",
            json!({
                "openinference.span.kind": "LLM",
                "llm.model_name": "oi-model",
                "llm.system": "openai",
                "llm.token_count.prompt": 11,
                "llm.token_count.completion": 5,
                "llm.cost.total": 0.01,
                "input.value": "oi input",
                "tag.tags": ["oi"],
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "azure.ai.openai",
                "gen_ai.request.model": "genai-model",
                "gen_ai.usage.input_tokens": 12,
                "gen_ai.input.messages": "[{\"role\": \"user\", \"parts\": []}]",
            }),
        );
        assert_eq!(s.kind, SpanKind::Llm);
        assert_eq!(s.operation.as_deref(), Some("chat"));
        assert_eq!(s.model.as_deref(), Some("genai-model"));
        assert_eq!(s.provider.as_deref(), Some("azure.ai.openai"));
        assert_eq!(s.usage.input_tokens, Some(12));
        assert_eq!(s.input, Some(json!([{"role": "user", "parts": []}])));
        // What gen_ai.* does not say, OpenInference does.
        assert_eq!(s.usage.output_tokens, Some(5));
        assert_eq!(s.cost_usd, Some(0.01));
        assert_eq!(s.tags, vec!["oi"]);
    }

    #[test]
    fn fixture_openinference_openai() {
        let spans = fixture_spans("openinference_openai");
        let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "support_agent",
                "ChatCompletion",
                "lookup_order",
                "ChatCompletion"
            ]
        );

        let agent = &spans[0];
        assert_eq!(agent.kind, SpanKind::Agent);
        assert_eq!(agent.agent_name.as_deref(), Some("support_agent"));
        assert_eq!(agent.input, Some(json!("Where is my order A-17?")));
        assert!(agent.output.is_some());
        assert_eq!(agent.session_id.as_deref(), Some("sess-oi-1"));
        assert_eq!(agent.user_id.as_deref(), Some("user-oi-9"));

        for (llm, (input, output)) in [&spans[1], &spans[3]].into_iter().zip([(50, 12), (80, 20)]) {
            assert_eq!(llm.kind, SpanKind::Llm);
            assert_eq!(llm.model.as_deref(), Some("gpt-4o-mini"));
            assert_eq!(llm.provider.as_deref(), Some("openai"));
            assert_eq!(llm.usage.input_tokens, Some(input));
            assert_eq!(llm.usage.output_tokens, Some(output));
            assert_eq!(llm.usage.total_tokens, Some(input + output));
            assert_eq!(llm.input.as_ref().unwrap()["model"], "gpt-4o-mini");
            assert!(llm.output.as_ref().unwrap()["choices"].is_array());
            assert_eq!(llm.tags, vec!["conformance"]);
            assert_eq!(llm.metadata["scenario"], "openinference-openai-agent");
            assert_eq!(llm.metadata["invocation_parameters"]["temperature"], 0.0);
            assert_eq!(llm.thread_id.as_deref(), Some("sess-oi-1"));
        }

        let tool = &spans[2];
        assert_eq!(tool.kind, SpanKind::Tool);
        assert_eq!(tool.tool_name.as_deref(), Some("lookup_order"));
        assert_eq!(tool.tool_call_id.as_deref(), Some("call_lookup_order_1"));
        assert_eq!(tool.tool_args, Some(json!({"order_id": "A-17"})));
        assert_eq!(tool.input, Some(json!({"order_id": "A-17"})));
        assert_eq!(tool.output.as_ref().unwrap()["status"], "shipped");
    }
}
