//! Messages flattened into indexed attribute keys: OpenInference
//! `llm.input_messages.<n>.message.*` (with `contents.<m>.message_content.*` and
//! `tool_calls.<m>.tool_call.*`) and its completions-API `llm.prompts` / `llm.choices`, and
//! OpenLLMetry `gen_ai.prompt.<n>.*` / `gen_ai.completion.<n>.*`. Indices may be sparse; order
//! comes from the index.

use serde_json::{Map, Value};

use super::lookup::{first, id, indexed, text_at};
use super::message;
use super::parts::{self, media, text};
use super::{Dir, Message, Part};
use crate::semconv::unflatten;
use crate::value::lenient_json;

pub fn openinference(attrs: &Map<String, Value>, dir: Dir) -> Option<Vec<Message>> {
    let prefix = dir.pick("llm.input_messages", "llm.output_messages");
    let tree = unflatten(attrs, prefix)?;
    let mut messages: Vec<Message> = indexed(&tree)
        .into_iter()
        .filter_map(|item| oi_message(item.get("message")?.as_object()?, dir.role()))
        .collect();
    if dir == Dir::Output {
        if let Some(reason) = text_at(attrs, &["llm.finish_reason"]) {
            for m in messages.iter_mut().filter(|m| m.finish_reason.is_none()) {
                m.finish_reason = Some(reason.clone());
            }
        }
    }
    non_empty(messages)
}

/// Completions API: `llm.prompts.<n>.prompt.text` / `llm.choices.<n>.completion.text`, and the
/// older `llm.prompts` list of strings.
pub fn openinference_completions(attrs: &Map<String, Value>, dir: Dir) -> Option<Vec<Message>> {
    let (prefix, inner) = dir.pick(("llm.prompts", "prompt"), ("llm.choices", "completion"));
    let texts: Vec<String> = match unflatten(attrs, prefix) {
        Some(tree) => indexed(&tree)
            .into_iter()
            .filter_map(|item| item.get(inner)?.get("text")?.as_str().map(str::to_string))
            .collect(),
        None => match attrs.get(prefix).map(lenient_json) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        },
    };
    non_empty(
        texts
            .iter()
            .filter_map(|t| text(t))
            .map(|p| Message::new(dir.role(), vec![p]))
            .collect(),
    )
}

fn oi_message(m: &Map<String, Value>, default_role: &str) -> Option<Message> {
    let role = text_at(m, &["role"]).unwrap_or_else(|| default_role.to_string());
    let mut out = Vec::new();
    let call_id = m.get("tool_call_id");
    let contents = m.get("contents");
    match m.get("content") {
        Some(content) if matches!(role.as_str(), "tool" | "function") => {
            out.push(Part::ToolCallResponse {
                id: id(call_id),
                response: parts::response(content),
            });
        }
        // The ordered `contents` is the whole message when present; emitters such as the
        // Agents SDK processor write the same text to `content` as well.
        Some(Value::String(s)) if contents.is_none() => out.extend(text(s)),
        _ => {}
    }
    if let Some(contents) = contents {
        out.extend(indexed(contents).into_iter().filter_map(oi_content));
    }
    if let Some(calls) = m.get("tool_calls") {
        out.extend(indexed(calls).into_iter().filter_map(|c| {
            c.get("tool_call")?
                .as_object()
                .map(|tc| oi_tool_call(tc, c))
        }));
    }
    if let Some(name) = m.get("function_call_name") {
        out.push(parts::tool_call(
            None,
            Some(name),
            m.get("function_call_arguments_json"),
            &Value::Object(m.clone()),
        ));
    }
    Some(Message {
        role,
        parts: out,
        name: text_at(m, &["name"]),
        finish_reason: None,
    })
}

/// One `message.contents.<m>` item: `message_content.{type, text, image.image.url, ...}`, with
/// an ordered `tool_use` item's call beside it under `tool_call`.
fn oi_content(item: &Value) -> Option<Part> {
    let content = item.get("message_content").and_then(Value::as_object);
    let kind = content.and_then(|c| c.get("type")?.as_str());
    let body = || content.and_then(|c| c.get("text")?.as_str());
    match kind {
        Some("text") => body().and_then(text),
        Some("reasoning") => match body() {
            Some(t) if !t.is_empty() => Some(Part::Reasoning {
                content: t.to_string(),
            }),
            _ => Some(Part::Other {
                value: Value::Object(content?.clone()),
            }),
        },
        Some(kind @ ("image" | "audio" | "video")) => {
            Some(media(kind, content.and_then(|c| c.get(kind)?.as_object())))
        }
        Some("tool_use") => {
            let call = first(item.as_object()?, &["tool_call"])
                .or_else(|| content?.get("tool_call"))?
                .as_object()?;
            Some(oi_tool_call(call, item))
        }
        _ => Some(Part::Other {
            value: content
                .map(|c| Value::Object(c.clone()))
                .unwrap_or_else(|| item.clone()),
        }),
    }
}

fn oi_tool_call(call: &Map<String, Value>, raw: &Value) -> Part {
    let function = call.get("function");
    parts::tool_call(
        call.get("id"),
        function.and_then(|f| f.get("name")),
        function.and_then(|f| f.get("arguments")),
        raw,
    )
}

/// OpenLLMetry: `gen_ai.prompt.<n>.{role, content, tool_call_id, tool_calls.<m>.{id, name,
/// arguments}}` and `gen_ai.completion.<n>.{role, content, finish_reason, refusal, tool_calls}`.
pub fn openllmetry(attrs: &Map<String, Value>, dir: Dir) -> Option<Vec<Message>> {
    let prefix = dir.pick("gen_ai.prompt", "gen_ai.completion");
    let tree = unflatten(attrs, prefix)?;
    non_empty(
        indexed(&tree)
            .into_iter()
            .filter_map(|item| {
                let mut m = item.as_object()?.clone();
                // Multimodal content arrives as a JSON string of OpenAI content parts.
                if let Some(Value::String(s)) = m.get("content") {
                    if let parsed @ Value::Array(_) = lenient_json(&Value::String(s.clone())) {
                        if parsed
                            .as_array()
                            .is_some_and(|a| a.iter().all(is_typed_part))
                        {
                            m.insert("content".into(), parsed);
                        }
                    }
                }
                // The completions wrappers record the prompt under its role: `gen_ai.prompt.0.user`.
                if !m.contains_key("content") && !m.contains_key("role") {
                    if let Some(prompt) = m.remove("user") {
                        m.insert("role".into(), "user".into());
                        m.insert("content".into(), prompt);
                    }
                }
                message::message(&Value::Object(m), dir.role())
            })
            .collect(),
    )
}

fn is_typed_part(v: &Value) -> bool {
    v.get("type").is_some_and(Value::is_string)
}

fn non_empty(messages: Vec<Message>) -> Option<Vec<Message>> {
    (!messages.is_empty()).then_some(messages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attrs(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn text_part(s: &str) -> Part {
        Part::Text { content: s.into() }
    }

    #[test]
    fn openinference_messages_ordered_by_sparse_index() {
        // The openai-agents instrumentation starts at 1 when there are no instructions.
        let a = attrs(json!({
            "llm.input_messages.10.message.role": "tool",
            "llm.input_messages.10.message.tool_call_id": "call_1",
            "llm.input_messages.10.message.content": "{\"temp\": 20}",
            "llm.input_messages.1.message.role": "user",
            "llm.input_messages.1.message.content": "Weather?",
            "llm.input_messages.3.message.role": "assistant",
            "llm.input_messages.3.message.tool_calls.0.tool_call.id": "call_1",
            "llm.input_messages.3.message.tool_calls.0.tool_call.function.name": "weather",
            "llm.input_messages.3.message.tool_calls.0.tool_call.function.arguments": "{\"city\": \"Paris\"}",
        }));
        let input = openinference(&a, Dir::Input).unwrap();
        let roles: Vec<&str> = input.iter().map(|m| m.role.as_str()).collect();
        assert_eq!(roles, ["user", "assistant", "tool"]);
        assert_eq!(
            input[1].parts,
            [Part::ToolCall {
                id: Some("call_1".into()),
                name: "weather".into(),
                arguments: Some(json!({"city": "Paris"})),
            }]
        );
        assert_eq!(
            input[2].parts,
            [Part::ToolCallResponse {
                id: Some("call_1".into()),
                response: json!({"temp": 20}),
            }]
        );
    }

    #[test]
    fn openinference_contents_and_ordered_tool_use() {
        let p = "llm.output_messages.0.message";
        let a = attrs(json!({
            format!("{p}.role"): "assistant",
            format!("{p}.contents.0.message_content.type"): "reasoning",
            format!("{p}.contents.0.message_content.text"): "Look it up.",
            format!("{p}.contents.1.message_content.type"): "tool_use",
            format!("{p}.contents.1.tool_call.id"): "c",
            format!("{p}.contents.1.tool_call.function.name"): "f",
            format!("{p}.contents.1.tool_call.function.arguments"): "{}",
            format!("{p}.contents.2.message_content.type"): "image",
            format!("{p}.contents.2.message_content.image.image.url"): "data:image/png;base64,iVBOR",
            format!("{p}.contents.3.message_content.type"): "text",
            format!("{p}.contents.3.message_content.text"): "__REDACTED__",
            "llm.finish_reason": "stop",
        }));
        let output = openinference(&a, Dir::Output).unwrap();
        assert_eq!(output[0].finish_reason.as_deref(), Some("stop"));
        assert_eq!(
            output[0].parts,
            [
                Part::Reasoning {
                    content: "Look it up.".into()
                },
                Part::ToolCall {
                    id: Some("c".into()),
                    name: "f".into(),
                    arguments: Some(json!({})),
                },
                Part::Media {
                    modality: "image".into(),
                    mime_type: Some("image/png".into()),
                    uri: None,
                    file_id: None,
                },
                text_part("__REDACTED__"),
            ]
        );
    }

    #[test]
    fn openinference_text_in_both_content_and_contents_appears_once() {
        let a = attrs(json!({
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.content": "Refund issued.",
            "llm.output_messages.0.message.contents.0.message_content.type": "text",
            "llm.output_messages.0.message.contents.0.message_content.text": "Refund issued.",
        }));
        let out = openinference(&a, Dir::Output).unwrap();
        assert_eq!(out[0].parts, [text_part("Refund issued.")]);
    }

    #[test]
    fn openinference_huge_sparse_index_is_one_message() {
        let a = attrs(json!({
            "llm.input_messages.4000000000.message.role": "user",
            "llm.input_messages.4000000000.message.content": "hi",
        }));
        let input = openinference(&a, Dir::Input).unwrap();
        assert_eq!(input, [Message::new("user", vec![text_part("hi")])]);
    }

    #[test]
    fn openinference_completions_api() {
        let a = attrs(json!({
            "llm.prompts.0.prompt.text": "Once upon",
            "llm.choices.0.completion.text": " a time",
        }));
        assert_eq!(
            openinference_completions(&a, Dir::Input).unwrap(),
            [Message::new("user", vec![text_part("Once upon")])]
        );
        assert_eq!(
            openinference_completions(&a, Dir::Output).unwrap(),
            [Message::new("assistant", vec![text_part(" a time")])]
        );
        let list = attrs(json!({"llm.prompts": ["Once upon"]}));
        assert_eq!(
            openinference_completions(&list, Dir::Input).unwrap().len(),
            1
        );
    }

    #[test]
    fn openllmetry_flattened_with_tool_calls_and_json_content() {
        let a = attrs(json!({
            "gen_ai.prompt.0.role": "user",
            "gen_ai.prompt.0.content": "[{\"type\": \"text\", \"text\": \"What is this?\"}, {\"type\": \"image_url\", \"image_url\": {\"url\": \"https://x.test/a.png\"}}]",
            "gen_ai.prompt.1.role": "assistant",
            "gen_ai.prompt.1.tool_calls.0.id": "call_1",
            "gen_ai.prompt.1.tool_calls.0.name": "lookup",
            "gen_ai.prompt.1.tool_calls.0.arguments": "{\"q\": \"cat\"}",
            "gen_ai.prompt.2.role": "tool",
            "gen_ai.prompt.2.tool_call_id": "call_1",
            "gen_ai.prompt.2.content": "a cat",
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.content": "A cat.",
            "gen_ai.completion.0.finish_reason": "stop",
        }));
        let input = openllmetry(&a, Dir::Input).unwrap();
        assert_eq!(input.len(), 3);
        assert_eq!(input[0].parts.len(), 2);
        assert_eq!(input[0].parts[0], text_part("What is this?"));
        assert_eq!(
            input[1].parts,
            [Part::ToolCall {
                id: Some("call_1".into()),
                name: "lookup".into(),
                arguments: Some(json!({"q": "cat"})),
            }]
        );
        assert_eq!(
            input[2].parts,
            [Part::ToolCallResponse {
                id: Some("call_1".into()),
                response: json!("a cat"),
            }]
        );
        let output = openllmetry(&a, Dir::Output).unwrap();
        assert_eq!(output[0].parts, [text_part("A cat.")]);
        assert_eq!(output[0].finish_reason.as_deref(), Some("stop"));
    }

    #[test]
    fn openllmetry_plain_json_like_content_stays_text() {
        let a = attrs(json!({
            "gen_ai.prompt.0.role": "user",
            "gen_ai.prompt.0.content": "[1, 2, 3]",
            "gen_ai.prompt.1.user": "Complete this",
        }));
        let input = openllmetry(&a, Dir::Input).unwrap();
        assert_eq!(input[0].parts, [text_part("[1, 2, 3]")]);
        assert_eq!(input[1].role, "user");
        assert_eq!(input[1].parts, [text_part("Complete this")]);
    }
}
