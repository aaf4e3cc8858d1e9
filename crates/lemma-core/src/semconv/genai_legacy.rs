//! GenAI semantic conventions before v1.37, and the flattened form OpenLLMetry still emits:
//! `gen_ai.system`, `gen_ai.usage.prompt_tokens`, `gen_ai.prompt.<n>.*` /
//! `gen_ai.completion.<n>.*`, the `gen_ai.content.*` span events and per-message span events.

use serde_json::{json, Map, Value};

use super::{unflatten, Attrs, Fields};
use crate::model::{SpanKind, Usage};
use crate::value::lenient_json;

pub fn read(a: &Attrs) -> Fields {
    Fields {
        kind: a.text("llm.request.type").and_then(|t| match t.as_str() {
            "chat" | "completion" => Some(SpanKind::Llm),
            "embedding" => Some(SpanKind::Embedding),
            "rerank" => Some(SpanKind::Reranker),
            _ => None,
        }),
        provider: a.text("gen_ai.system"),
        usage: Usage {
            input_tokens: a.u64("gen_ai.usage.prompt_tokens"),
            output_tokens: a.u64("gen_ai.usage.completion_tokens"),
            total_tokens: a.u64_any(&["gen_ai.usage.total_tokens", "llm.usage.total_tokens"]),
            cache_read_tokens: a.u64("gen_ai.usage.cache_read_input_tokens"),
            cache_write_tokens: a.u64("gen_ai.usage.cache_creation_input_tokens"),
            reasoning_tokens: a.u64("gen_ai.usage.reasoning_tokens"),
        },
        input: flattened_messages(a, "gen_ai.prompt")
            .or_else(|| event_attr(a, "gen_ai.content.prompt", "gen_ai.prompt"))
            .or_else(|| message_events(a, false)),
        output: flattened_messages(a, "gen_ai.completion")
            .or_else(|| event_attr(a, "gen_ai.content.completion", "gen_ai.completion"))
            .or_else(|| message_events(a, true)),
        ..Fields::default()
    }
}

/// `gen_ai.prompt.<n>.{role,content,...}` (and OpenLLMetry's older `llm.prompts.<n>.*`) as a
/// message array, JSON-in-string content parsed.
pub(super) fn flattened_messages(a: &Attrs, prefix: &str) -> Option<Value> {
    let mut messages = unflatten(a.map(), prefix)?;
    if let Value::Array(items) = &mut messages {
        for item in items.iter_mut() {
            if let Some(content) = item.get_mut("content") {
                *content = lenient_json(content);
            }
        }
    }
    Some(messages)
}

fn event_attr(a: &Attrs, event: &str, key: &str) -> Option<Value> {
    a.events()
        .iter()
        .find(|e| e.name == event)
        .and_then(|e| e.attributes.get(key))
        .map(lenient_json)
}

/// Per-message span events (`gen_ai.user.message`, ..., `gen_ai.choice`) as a message array.
fn message_events(a: &Attrs, choices: bool) -> Option<Value> {
    let messages: Vec<Value> = a
        .events()
        .iter()
        .filter_map(|e| {
            let role = match e.name.as_str() {
                "gen_ai.choice" if choices => "assistant",
                "gen_ai.system.message" if !choices => "system",
                "gen_ai.user.message" if !choices => "user",
                "gen_ai.assistant.message" if !choices => "assistant",
                "gen_ai.tool.message" if !choices => "tool",
                _ => return None,
            };
            let mut m: Map<String, Value> = e
                .attributes
                .iter()
                .filter(|(k, _)| k.as_str() != "gen_ai.system")
                .map(|(k, v)| (k.clone(), lenient_json(v)))
                .collect();
            m.entry("role").or_insert_with(|| json!(role));
            Some(Value::Object(m))
        })
        .collect();
    (!messages.is_empty()).then_some(Value::Array(messages))
}
