//! Vercel AI SDK `ai.*` attributes: the telemetry of v3–v6 and of v7's `LegacyOpenTelemetry`
//! (spans named by operation id, `ai.operationId`), and the supplemental `ai.*` keys v7's GenAI
//! flavoured `OpenTelemetry` integration adds to its `gen_ai.*` spans.
//!
//! Kind, operation and agent name are read only from legacy spans; on GenAI-flavoured spans
//! `genai.rs` owns them and this module only fills what `gen_ai.*` lacks (runtime context,
//! reasoning tokens, embedding and reranking payloads).

use serde_json::{json, Map, Value};

use super::{Attrs, Fields};
use crate::model::{SpanKind, Usage};
use crate::value::{as_text, decode_json_layers, lenient_json, tag_list};

/// Where the AI SDK writes user-supplied context: `ai.settings.context.*` (v7; its docs say
/// `runtimeContext`) and `ai.telemetry.metadata.*` (v3–v6). Earlier prefixes win.
const CONTEXT_PREFIXES: [&str; 3] = [
    "ai.settings.context.",
    "ai.settings.runtimeContext.",
    "ai.telemetry.metadata.",
];

pub fn read(a: &Attrs) -> Fields {
    let operation = legacy_operation(a);
    let kind = operation.as_deref().and_then(operation_kind);
    let context = user_context(a);
    let tool_args = a.get("ai.toolCall.args").map(decode_json_layers);
    let (input, output) = match kind {
        Some(SpanKind::Tool) => (
            tool_args.clone(),
            a.get("ai.toolCall.result").map(decode_json_layers),
        ),
        _ => (input(a), output(a)),
    };
    Fields {
        agent_name: a
            .text_any(&["ai.telemetry.functionId", "resource.name"])
            .filter(|_| kind == Some(SpanKind::Agent)),
        kind,
        operation,
        model: a.text_any(&["ai.response.model", "ai.model.id"]),
        provider: a.text("ai.model.provider"),
        response_id: a.text("ai.response.id"),
        usage: usage(a),
        tool_name: a.text("ai.toolCall.name"),
        tool_call_id: a.text("ai.toolCall.id"),
        tool_args,
        input,
        output,
        user_id: context.user_id,
        session_id: context.session_id,
        thread_id: context.thread_id,
        tags: context.tags.filter(|t| !t.is_empty()),
        metadata: metadata(a, context.rest),
        ..Fields::default()
    }
}

/// The operation id of a legacy span: `ai.operationId`, else the span name of an `ai`-scoped
/// span that is not GenAI-flavoured, when it names a known operation.
fn legacy_operation(a: &Attrs) -> Option<String> {
    a.text("ai.operationId").or_else(|| {
        let legacy_scope = a.span.scope.name == "ai"
            && a.get("gen_ai.operation.name").is_none()
            && a.has_prefix("ai.");
        (legacy_scope && operation_kind(a.name()).is_some()).then(|| a.name().to_string())
    })
}

/// An operation id to kind. The top-level text and object calls are the run (the tool loop);
/// `ai.embed*` wraps its `doEmbed` calls like a chain.
fn operation_kind(op: &str) -> Option<SpanKind> {
    Some(match op {
        "ai.generateText" | "ai.streamText" | "ai.generateObject" | "ai.streamObject" => {
            SpanKind::Agent
        }
        "ai.toolCall" => SpanKind::Tool,
        "ai.embed" | "ai.embedMany" => SpanKind::Chain,
        "ai.rerank" => SpanKind::Reranker,
        _ if op.ends_with(".doGenerate") || op.ends_with(".doStream") => SpanKind::Llm,
        _ if op.ends_with(".doEmbed") => SpanKind::Embedding,
        _ if op.starts_with("ai.rerank.") => SpanKind::Reranker,
        _ => return None,
    })
}

/// Usage under every key the SDK versions used: v4 `promptTokens`/`completionTokens`, v5+
/// `inputTokens`/`outputTokens`, embeddings `tokens`, and the v6+ token details. The SDK's input
/// already includes cached tokens, as Lemma's does.
fn usage(a: &Attrs) -> Usage {
    Usage {
        input_tokens: a.u64_any(&[
            "ai.usage.inputTokens",
            "ai.usage.promptTokens",
            "ai.usage.tokens",
        ]),
        output_tokens: a.u64_any(&["ai.usage.outputTokens", "ai.usage.completionTokens"]),
        total_tokens: a.u64_any(&["ai.usage.totalTokens", "ai.usage.tokens"]),
        cache_read_tokens: a.u64_any(&[
            "ai.usage.inputTokenDetails.cacheReadTokens",
            "ai.usage.cachedInputTokens",
        ]),
        cache_write_tokens: a.u64("ai.usage.inputTokenDetails.cacheWriteTokens"),
        reasoning_tokens: a.u64_any(&[
            "ai.usage.outputTokenDetails.reasoningTokens",
            "ai.usage.reasoningTokens",
        ]),
    }
}

/// The prompt of a model call, else of the run, else the embedded values or reranked
/// documents.
fn input(a: &Attrs) -> Option<Value> {
    a.json("ai.prompt.messages")
        .or_else(|| a.json("ai.prompt"))
        .or_else(|| a.get("ai.values").map(decode_each))
        .or_else(|| a.get("ai.value").map(decode_json_layers))
        .or_else(|| a.get("ai.documents").map(decode_each))
}

/// Text, object or tool calls; text and tool calls together as one assistant message.
/// Embedding vectors are never an output (their count goes to metadata).
fn output(a: &Attrs) -> Option<Value> {
    let text = a.text_any(&["ai.response.text", "ai.result.text"]);
    let tool_calls = ["ai.response.toolCalls", "ai.result.toolCalls"]
        .iter()
        .find_map(|k| a.json(k))
        .map(tool_calls);
    match (text, tool_calls) {
        (Some(text), Some(calls)) => Some(json!({
            "role": "assistant",
            "content": text,
            "tool_calls": calls,
        })),
        (Some(text), None) => Some(Value::String(text)),
        (None, calls) => ["ai.response.object", "ai.result.object"]
            .iter()
            .find_map(|k| a.json(k))
            .or(calls)
            .or_else(|| a.get("ai.ranking").map(decode_each)),
    }
}

/// Tool calls with their arguments parsed: v5+ items carry `input`, v4 items `args`, both
/// usually a JSON string.
fn tool_calls(calls: Value) -> Value {
    match calls {
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|mut item| {
                    if let Some(obj) = item.as_object_mut() {
                        for key in ["input", "args"] {
                            if let Some(v) = obj.get_mut(key) {
                                *v = decode_json_layers(v);
                            }
                        }
                    }
                    item
                })
                .collect(),
        ),
        other => other,
    }
}

/// An array attribute whose items are each JSON-encoded (`ai.values`, `ai.documents`,
/// `ai.ranking`).
fn decode_each(value: &Value) -> Value {
    match lenient_json(value) {
        Value::Array(items) => Value::Array(items.iter().map(decode_json_layers).collect()),
        other => other,
    }
}

/// User context with the keys that name a user, session, thread or tags taken out.
#[derive(Default)]
struct UserContext {
    rest: Map<String, Value>,
    user_id: Option<String>,
    session_id: Option<String>,
    thread_id: Option<String>,
    tags: Option<Vec<String>>,
}

fn user_context(a: &Attrs) -> UserContext {
    let mut ctx = UserContext::default();
    for prefix in CONTEXT_PREFIXES {
        for (key, value) in a.with_prefix(prefix).filter(|(k, _)| !k.is_empty()) {
            let slot = match key {
                "userId" | "user_id" => &mut ctx.user_id,
                "sessionId" | "session_id" => &mut ctx.session_id,
                "threadId" | "thread_id" => &mut ctx.thread_id,
                "tags" => {
                    ctx.tags.get_or_insert_with(|| tag_list(value));
                    continue;
                }
                _ => {
                    ctx.rest.entry(key).or_insert_with(|| lenient_json(value));
                    continue;
                }
            };
            if slot.is_none() {
                *slot = as_text(value);
            }
        }
    }
    ctx
}

/// User context plus what the SDK records about the call: settings, finish reason, time to
/// first chunk and the number of embeddings.
fn metadata(a: &Attrs, mut metadata: Map<String, Value>) -> Map<String, Value> {
    let settings: Map<String, Value> = a
        .with_prefix("ai.settings.")
        .filter(|(k, _)| {
            !k.is_empty() && !k.starts_with("context.") && !k.starts_with("runtimeContext.")
        })
        .map(|(k, v)| (k.to_string(), lenient_json(v)))
        .collect();
    if !settings.is_empty() {
        metadata.insert("settings".into(), Value::Object(settings));
    }
    if let Some(reason) = a.text("ai.response.finishReason") {
        metadata.insert("finish_reason".into(), Value::String(reason));
    }
    if let Some(ms) = ["ai.response.msToFirstChunk", "ai.stream.msToFirstChunk"]
        .iter()
        .find_map(|k| a.get(k))
    {
        metadata.insert("ms_to_first_chunk".into(), ms.clone());
    }
    let embeddings = match (a.get("ai.embeddings"), a.get("ai.embedding")) {
        (Some(all), _) => lenient_json(all).as_array().map(Vec::len),
        (None, Some(_)) => Some(1),
        (None, None) => None,
    };
    if let Some(n) = embeddings {
        metadata.insert("embedding_count".into(), n.into());
    }
    metadata
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::{Scope, Span};
    use crate::run::{summarize, SpanDigest};
    use crate::semconv::normalize;
    use crate::semconv::test_support::fixture_spans;

    fn span(name: &str, attrs: Value) -> Span {
        Span {
            name: name.into(),
            attributes: attrs.as_object().unwrap().clone(),
            scope: Scope {
                name: "ai".into(),
                ..Scope::default()
            },
            ..Span::default()
        }
    }

    fn fields(attrs: Value) -> Fields {
        read(&Attrs::new(&span("x", attrs)))
    }

    fn normalized(name: &str, attrs: Value) -> Span {
        let mut s = span(name, attrs);
        normalize(&mut s);
        s
    }

    #[test]
    fn operation_ids_map_to_kinds() {
        for (op, kind) in [
            ("ai.generateText", SpanKind::Agent),
            ("ai.streamText", SpanKind::Agent),
            ("ai.generateObject", SpanKind::Agent),
            ("ai.streamObject", SpanKind::Agent),
            ("ai.generateText.doGenerate", SpanKind::Llm),
            ("ai.streamText.doStream", SpanKind::Llm),
            ("ai.streamObject.doStream", SpanKind::Llm),
            ("ai.toolCall", SpanKind::Tool),
            ("ai.embed", SpanKind::Chain),
            ("ai.embedMany", SpanKind::Chain),
            ("ai.embedMany.doEmbed", SpanKind::Embedding),
            ("ai.rerank", SpanKind::Reranker),
            ("ai.rerank.doRerank", SpanKind::Reranker),
        ] {
            let f = fields(json!({"ai.operationId": op}));
            assert_eq!(f.kind, Some(kind), "{op}");
            assert_eq!(f.operation.as_deref(), Some(op));
        }
        let f = fields(json!({"ai.operationId": "ai.somethingNew"}));
        assert_eq!(
            (f.kind, f.operation.as_deref()),
            (None, Some("ai.somethingNew"))
        );
    }

    #[test]
    fn span_name_stands_in_for_a_missing_operation_id_in_the_ai_scope() {
        let s = span("ai.streamText.doStream", json!({"ai.model.id": "m"}));
        let f = read(&Attrs::new(&s));
        assert_eq!(f.kind, Some(SpanKind::Llm));
        assert_eq!(f.operation.as_deref(), Some("ai.streamText.doStream"));

        let mut other_scope = s.clone();
        other_scope.scope.name = "my-app".into();
        assert_eq!(read(&Attrs::new(&other_scope)).kind, None);
    }

    #[test]
    fn genai_flavoured_spans_get_no_kind_from_here() {
        // v7 `OpenTelemetry`: genai.rs reads the kind; only the supplemental keys are read here.
        let s = span(
            "ai.generateText",
            json!({
                "gen_ai.operation.name": "agent_step",
                "ai.settings.context.sessionId": "s-7",
                "ai.settings.context.plan": "pro",
                "ai.usage.outputTokenDetails.reasoningTokens": 4,
                "ai.usage.inputTokenDetails.noCacheTokens": 9,
            }),
        );
        let f = read(&Attrs::new(&s));
        assert_eq!((f.kind, f.operation, f.agent_name), (None, None, None));
        assert_eq!(f.usage.input_tokens, None);
        let mut s = s;
        normalize(&mut s);
        assert_eq!(s.kind, SpanKind::Chain);
        assert_eq!(s.operation.as_deref(), Some("agent_step"));
        assert_eq!(s.session_id.as_deref(), Some("s-7"));
        assert_eq!(s.metadata["plan"], "pro");
        assert_eq!(s.usage.reasoning_tokens, Some(4));
    }

    #[test]
    fn genai_usage_wins_on_genai_flavoured_spans() {
        let s = normalized(
            "chat gpt-4o",
            json!({
                "gen_ai.operation.name": "chat",
                "gen_ai.usage.input_tokens": 10,
                "gen_ai.usage.output_tokens": 3,
                "ai.usage.inputTokens": 99,
            }),
        );
        assert_eq!(s.kind, SpanKind::Llm);
        assert_eq!(s.usage.input_tokens, Some(10));
    }

    #[test]
    fn usage_keys_of_v4() {
        let u = fields(json!({"ai.usage.promptTokens": 11, "ai.usage.completionTokens": 4})).usage;
        assert_eq!(
            (u.input_tokens, u.output_tokens, u.total_tokens),
            (Some(11), Some(4), None)
        );
    }

    #[test]
    fn usage_keys_of_v5_v6_stream_text() {
        let u = fields(json!({
            "ai.usage.inputTokens": 100,
            "ai.usage.outputTokens": 20,
            "ai.usage.totalTokens": 120,
            "ai.usage.cachedInputTokens": 60,
            "ai.usage.reasoningTokens": 8,
        }))
        .usage;
        assert_eq!(u.input_tokens, Some(100)); // already includes the 60 cached
        assert_eq!(u.total_tokens, Some(120));
        assert_eq!(u.cache_read_tokens, Some(60));
        assert_eq!(u.reasoning_tokens, Some(8));
    }

    #[test]
    fn usage_keys_of_v7_legacy_details() {
        let u = fields(json!({
            "ai.usage.inputTokens": 100,
            "ai.usage.outputTokens": 20,
            "ai.usage.inputTokenDetails.noCacheTokens": 30,
            "ai.usage.inputTokenDetails.cacheReadTokens": 50,
            "ai.usage.inputTokenDetails.cacheWriteTokens": 20,
            "ai.usage.outputTokenDetails.textTokens": 12,
            "ai.usage.outputTokenDetails.reasoningTokens": 8,
        }))
        .usage;
        assert_eq!(u.input_tokens, Some(100));
        assert_eq!(u.cache_read_tokens, Some(50));
        assert_eq!(u.cache_write_tokens, Some(20));
        assert_eq!(u.reasoning_tokens, Some(8));
    }

    #[test]
    fn embedding_tokens_are_input_and_total() {
        let u = fields(json!({"ai.operationId": "ai.embed.doEmbed", "ai.usage.tokens": 7})).usage;
        assert_eq!((u.input_tokens, u.total_tokens), (Some(7), Some(7)));
    }

    #[test]
    fn tool_call_span() {
        let s = normalized(
            "ai.toolCall",
            json!({
                "ai.operationId": "ai.toolCall",
                "ai.toolCall.name": "weather",
                "ai.toolCall.id": "call_1",
                "ai.toolCall.args": "{\"city\":\"Paris\"}",
                "ai.toolCall.result": "\"sunny\"",
                "ai.telemetry.functionId": "bot",
            }),
        );
        assert_eq!(s.kind, SpanKind::Tool);
        assert_eq!(s.tool_name.as_deref(), Some("weather"));
        assert_eq!(s.tool_call_id.as_deref(), Some("call_1"));
        assert_eq!(s.tool_args, Some(json!({"city": "Paris"})));
        assert_eq!(s.input, Some(json!({"city": "Paris"})));
        assert_eq!(s.output, Some(json!("sunny")));
        assert_eq!(s.agent_name, None);
    }

    #[test]
    fn double_encoded_tool_args_are_decoded() {
        let f = fields(json!({
            "ai.operationId": "ai.toolCall",
            "ai.toolCall.args": "\"{\\\"city\\\":\\\"Paris\\\"}\"",
        }));
        assert_eq!(f.tool_args, Some(json!({"city": "Paris"})));
    }

    #[test]
    fn invalid_json_is_kept_as_a_string() {
        let f = fields(json!({
            "ai.operationId": "ai.toolCall",
            "ai.toolCall.args": "{\"city\":\"Par",
            "ai.toolCall.result": "plain text",
        }));
        assert_eq!(f.tool_args, Some(json!("{\"city\":\"Par")));
        assert_eq!(f.output, Some(json!("plain text")));
        let f = fields(json!({"ai.prompt.messages": "[{\"role\":"}));
        assert_eq!(f.input, Some(json!("[{\"role\":")));
    }

    #[test]
    fn response_tool_calls_have_their_arguments_parsed() {
        // v5+ items carry `input`, v4 items `args`; both a JSON string inside a JSON string.
        let f = fields(json!({
            "ai.operationId": "ai.generateText.doGenerate",
            "ai.response.toolCalls": "[{\"toolCallId\":\"c1\",\"toolName\":\"weather\",\"input\":\"{\\\"city\\\":\\\"Paris\\\"}\"}]",
        }));
        assert_eq!(f.output.unwrap()[0]["input"], json!({"city": "Paris"}));
        let f = fields(json!({
            "ai.operationId": "ai.generateText.doGenerate",
            "ai.response.toolCalls": "[{\"toolCallType\":\"function\",\"toolName\":\"weather\",\"args\":\"{\\\"city\\\":\\\"Paris\\\"}\"}]",
        }));
        assert_eq!(f.output.unwrap()[0]["args"], json!({"city": "Paris"}));
    }

    #[test]
    fn text_and_tool_calls_are_one_output() {
        let f = fields(json!({
            "ai.response.text": "Let me check.",
            "ai.response.toolCalls": "[{\"toolName\":\"weather\",\"input\":{}}]",
        }));
        let out = f.output.unwrap();
        assert_eq!(out["content"], "Let me check.");
        assert_eq!(out["tool_calls"][0]["toolName"], "weather");
        let f = fields(json!({"ai.result.text": "v3 answer"}));
        assert_eq!(f.output, Some(json!("v3 answer")));
        let f = fields(json!({"ai.response.object": "{\"ok\":true}"}));
        assert_eq!(f.output, Some(json!({"ok": true})));
    }

    #[test]
    fn run_and_call_inputs() {
        let f = fields(json!({
            "ai.operationId": "ai.generateText",
            "ai.prompt": "{\"system\":\"be brief\",\"prompt\":\"hi\"}",
        }));
        assert_eq!(f.input, Some(json!({"system": "be brief", "prompt": "hi"})));
        let f = fields(json!({
            "ai.operationId": "ai.generateText.doGenerate",
            "ai.prompt.messages": "[{\"role\":\"user\",\"content\":\"hi\"}]",
        }));
        assert_eq!(f.input.unwrap()[0]["role"], "user");
    }

    #[test]
    fn embeddings_input_is_the_values_never_the_vectors() {
        let f = fields(json!({
            "ai.operationId": "ai.embedMany.doEmbed",
            "ai.values": ["\"first\"", "\"second\""],
            "ai.embeddings": ["[0.1,0.2]", "[0.3,0.4]"],
        }));
        assert_eq!(f.input, Some(json!(["first", "second"])));
        assert_eq!(f.output, None);
        assert_eq!(f.metadata["embedding_count"], 2);
        let f = fields(json!({
            "ai.operationId": "ai.embed",
            "ai.value": "\"one\"",
            "ai.embedding": "[0.1,0.2]",
        }));
        assert_eq!(f.input, Some(json!("one")));
        assert_eq!(f.output, None);
        assert_eq!(f.metadata["embedding_count"], 1);
    }

    #[test]
    fn rerank_documents_and_ranking() {
        let f = fields(json!({
            "ai.operationId": "ai.rerank",
            "ai.documents": ["\"doc a\"", "{\"text\":\"doc b\"}"],
            "ai.ranking": ["{\"index\":1,\"relevanceScore\":0.9}"],
        }));
        assert_eq!(f.input, Some(json!(["doc a", {"text": "doc b"}])));
        assert_eq!(f.output.unwrap()[0]["index"], 1);
    }

    #[test]
    fn agent_name_only_on_the_run() {
        let f =
            fields(json!({"ai.operationId": "ai.streamText", "ai.telemetry.functionId": "bot"}));
        assert_eq!(f.agent_name.as_deref(), Some("bot"));
        let f = fields(json!({"ai.operationId": "ai.streamText", "resource.name": "bot-2"}));
        assert_eq!(f.agent_name.as_deref(), Some("bot-2"));
        let f = fields(json!({
            "ai.operationId": "ai.streamText.doStream",
            "ai.telemetry.functionId": "bot",
        }));
        assert_eq!(f.agent_name, None);
    }

    #[test]
    fn model_provider_and_response_id() {
        let f = fields(json!({
            "ai.model.id": "gpt-4o",
            "ai.response.model": "gpt-4o-2024-08-06",
            "ai.model.provider": "openai.chat",
            "ai.response.id": "r-1",
        }));
        assert_eq!(f.model.as_deref(), Some("gpt-4o-2024-08-06"));
        assert_eq!(f.provider.as_deref(), Some("openai.chat"));
        assert_eq!(f.response_id.as_deref(), Some("r-1"));
        assert_eq!(
            fields(json!({"ai.model.id": "gpt-4o"})).model.as_deref(),
            Some("gpt-4o")
        );
    }

    #[test]
    fn telemetry_metadata_of_v4_to_v6() {
        let f = fields(json!({
            "ai.telemetry.metadata.userId": "u-1",
            "ai.telemetry.metadata.sessionId": "s-1",
            "ai.telemetry.metadata.threadId": "t-1",
            "ai.telemetry.metadata.tags": ["a", "b"],
            "ai.telemetry.metadata.tier": "gold",
        }));
        assert_eq!(f.user_id.as_deref(), Some("u-1"));
        assert_eq!(f.session_id.as_deref(), Some("s-1"));
        assert_eq!(f.thread_id.as_deref(), Some("t-1"));
        assert_eq!(f.tags, Some(vec!["a".into(), "b".into()]));
        assert_eq!(f.metadata["tier"], "gold");
        assert!(f.metadata.get("userId").is_none());
    }

    #[test]
    fn runtime_context_of_v7() {
        let f = fields(json!({
            "ai.settings.context.user_id": "u-2",
            "ai.settings.runtimeContext.session_id": "s-2",
            "ai.settings.context.thread_id": "t-2",
            "ai.settings.context.tags": "x,y",
            "ai.settings.context.tenant.id": "acme",
            "ai.settings.temperature": 0,
            "ai.settings.maxRetries": 2,
        }));
        assert_eq!(f.user_id.as_deref(), Some("u-2"));
        assert_eq!(f.session_id.as_deref(), Some("s-2"));
        assert_eq!(f.thread_id.as_deref(), Some("t-2"));
        assert_eq!(f.tags, Some(vec!["x".into(), "y".into()]));
        assert_eq!(f.metadata["tenant.id"], "acme");
        assert_eq!(
            f.metadata["settings"],
            json!({"temperature": 0, "maxRetries": 2})
        );
    }

    #[test]
    fn call_details_go_to_metadata() {
        let f = fields(json!({
            "ai.response.finishReason": "tool-calls",
            "ai.response.msToFirstChunk": 212.5,
        }));
        assert_eq!(f.metadata["finish_reason"], "tool-calls");
        assert_eq!(f.metadata["ms_to_first_chunk"], 212.5);
        assert!(f.metadata.get("settings").is_none());
        let f = fields(json!({"ai.stream.msToFirstChunk": 90}));
        assert_eq!(f.metadata["ms_to_first_chunk"], 90);
    }

    #[test]
    fn fixture_vercel_ai_v6() {
        let spans = fixture_spans("vercel_ai");
        assert_eq!(spans.len(), 4);
        let root = spans.iter().find(|s| s.parent_span_id.is_none()).unwrap();
        assert_eq!(root.name, "ai.generateText");
        assert_eq!(root.kind, SpanKind::Agent);
        assert_eq!(root.agent_name.as_deref(), Some("support-agent"));
        assert_eq!(root.user_id.as_deref(), Some("user-v-1"));
        assert_eq!(root.thread_id.as_deref(), Some("sess-v-1"));
        assert_eq!(root.metadata["tier"], "gold");
        assert!(root.input.is_some() && root.output.is_some());

        let calls: Vec<&Span> = spans.iter().filter(|s| s.kind == SpanKind::Llm).collect();
        assert_eq!(calls.len(), 2);
        for (call, (input, output)) in calls.iter().zip([(50, 12), (80, 20)]) {
            assert_eq!(call.name, "ai.generateText.doGenerate");
            assert_eq!(call.model.as_deref(), Some("gpt-4o-mini"));
            assert_eq!(call.usage.input_tokens, Some(input));
            assert_eq!(call.usage.output_tokens, Some(output));
            assert!(call.input.is_some() && call.output.is_some());
        }
        assert_eq!(calls[0].metadata["finish_reason"], "tool-calls");
        assert_eq!(
            calls[0].output.as_ref().unwrap()[0]["input"]["order_id"],
            "A-17"
        );

        let tool = spans.iter().find(|s| s.kind == SpanKind::Tool).unwrap();
        assert_eq!(tool.tool_name.as_deref(), Some("lookup_order"));
        assert_eq!(tool.tool_args, Some(json!({"order_id": "A-17"})));
        assert_eq!(tool.output.as_ref().unwrap()["status"], "shipped");
    }

    #[test]
    fn aggregate_run_span_is_read_as_sent_and_counted_once() {
        let spans = fixture_spans("vercel_ai");
        let root = spans.iter().find(|s| s.kind == SpanKind::Agent).unwrap();
        // The run span repeats the sum of its calls' usage: it is reported as read...
        assert_eq!(root.usage.input_tokens, Some(130));
        assert_eq!(root.usage.output_tokens, Some(32));
        assert_eq!(root.usage.total_tokens, Some(162));
        // ...and the run summary counts each model call once, not the sum twice.
        let digests: Vec<SpanDigest> = spans.iter().map(SpanDigest::from).collect();
        let run = summarize(&root.trace_id, &digests);
        assert_eq!(
            (run.input_tokens, run.output_tokens, run.total_tokens),
            (130, 32, 162)
        );
    }
}
