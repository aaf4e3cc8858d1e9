//! One chat message in the shapes emitters record: GenAI and Gemini `{role, parts}`; chat-style
//! `{role, content, tool_calls, tool_call_id}` (OpenAI chat, Anthropic, AI SDK, Langfuse,
//! legacy events, OpenLLMetry); OpenAI Responses API items (`function_call`, ...).

use serde_json::{Map, Value};

use super::lookup::{first, id, text_at};
use super::parts;
use super::{Message, Part};
use crate::value::lenient_json;

/// A list in which every item is a message; `None` otherwise, so that arbitrary JSON arrays
/// (a tool's input, a retrieval result) are not mistaken for a conversation.
pub fn list(value: &Value, default_role: &str) -> Option<Vec<Message>> {
    let items = value.as_array()?;
    if items.is_empty() || !items.iter().all(is_message_like) {
        return None;
    }
    Some(
        items
            .iter()
            .filter_map(|m| message(m, default_role))
            .collect(),
    )
}

pub fn is_message_like(value: &Value) -> bool {
    let Some(obj) = value.as_object() else {
        return false;
    };
    obj.get("role").is_some_and(Value::is_string)
        || obj.get("parts").is_some_and(Value::is_array)
        || obj
            .get("type")
            .and_then(Value::as_str)
            .is_some_and(is_item_type)
}

/// Responses API item types that stand in a message list: `message`, `reasoning`,
/// `function_call`, `function_call_output`, and the built-in tools' `*_call` / `*_call_output`.
fn is_item_type(kind: &str) -> bool {
    matches!(kind, "message" | "reasoning")
        || kind.ends_with("_call")
        || kind.ends_with("_call_output")
}

pub fn message(value: &Value, default_role: &str) -> Option<Message> {
    let obj = value.as_object()?;
    let role = text_at(obj, &["role"]);
    if role.is_none() {
        if let Some(kind) = obj.get("type").and_then(Value::as_str) {
            if kind != "message" && is_item_type(kind) {
                return Some(item(value));
            }
        }
    }
    let role = match role.as_deref() {
        // Gemini's name for the assistant.
        Some("model") => "assistant".to_string(),
        Some(r) => r.to_string(),
        None => default_role.to_string(),
    };
    let mut out = Vec::new();
    if let Some(p) = obj.get("parts") {
        out.extend(parts::parts(p));
    }
    if let Some(content) = obj.get("content").filter(|c| !c.is_null()) {
        out.extend(content_parts(&role, obj, content));
    }
    if let Some(Value::String(refusal)) = obj.get("refusal") {
        out.extend(parts::text(refusal));
    }
    if let Some(Value::Array(calls)) = obj.get("tool_calls").map(lenient_json) {
        out.extend(calls.iter().filter_map(tool_call_entry));
    }
    if let Some(call) = obj.get("function_call").filter(|c| c.is_object()) {
        out.extend(tool_call_entry(call));
    }
    Some(Message {
        role,
        parts: out,
        name: text_at(obj, &["name"]),
        finish_reason: text_at(obj, &["finish_reason", "finishReason", "stop_reason"]),
    })
}

/// A tool message's content is the result of the call it answers (OpenAI `tool_call_id`); an
/// AI SDK tool message instead holds `tool-result` parts that carry their own ids.
fn content_parts(role: &str, obj: &Map<String, Value>, content: &Value) -> Vec<Part> {
    let call_id = obj.get("tool_call_id").filter(|v| !v.is_null());
    if matches!(role, "tool" | "function") && (call_id.is_some() || !content.is_array()) {
        return vec![Part::ToolCallResponse {
            id: id(call_id),
            response: parts::response(content),
        }];
    }
    parts::parts(content)
}

/// An entry of `tool_calls`: OpenAI `{id, function: {name, arguments}}`, or the flat
/// `{id, name, arguments}` of OpenLLMetry and legacy `function_call`.
fn tool_call_entry(call: &Value) -> Option<Part> {
    let obj = call.as_object()?;
    let inner = obj
        .get("function")
        .and_then(Value::as_object)
        .unwrap_or(obj);
    Some(parts::tool_call(
        first(obj, &["id", "call_id", "toolCallId"]),
        inner.get("name"),
        first(inner, &["arguments", "args", "input"]),
        call,
    ))
}

/// A Responses API item outside a message: calls and reasoning come from the assistant, call
/// outputs from the tool.
fn item(value: &Value) -> Message {
    let part = parts::part(value);
    let role = match part {
        Some(Part::ToolCallResponse { .. }) => "tool",
        _ => "assistant",
    };
    Message::new(role, part.into_iter().collect())
}

/// System instructions as a message: a string, a list of parts, or a Gemini `{parts}`.
pub fn system(value: &Value) -> Option<Message> {
    let parts = match value.get("parts") {
        Some(p) if value.is_object() => parts::parts(p),
        _ => parts::parts(value),
    };
    (!parts.is_empty()).then(|| Message::new("system", parts))
}

/// Puts system instructions first unless the messages already carry a system message.
pub fn with_system(
    system: Option<Message>,
    messages: Option<Vec<Message>>,
) -> Option<Vec<Message>> {
    match (system, messages) {
        (None, messages) => messages,
        (Some(system), None) => Some(vec![system]),
        (Some(system), Some(mut messages)) => {
            if !messages.iter().any(|m| m.role == "system") {
                messages.insert(0, system);
            }
            Some(messages)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(s: &str) -> Part {
        Part::Text { content: s.into() }
    }

    #[test]
    fn openai_assistant_message_with_text_and_tool_calls() {
        let m = message(
            &json!({"role": "assistant", "content": "Let me check.", "tool_calls": [
                {"id": "call_1", "type": "function",
                 "function": {"name": "lookup", "arguments": "{\"id\": 7}"}}]}),
            "user",
        )
        .unwrap();
        assert_eq!(m.role, "assistant");
        assert_eq!(
            m.parts,
            [
                text("Let me check."),
                Part::ToolCall {
                    id: Some("call_1".into()),
                    name: "lookup".into(),
                    arguments: Some(json!({"id": 7})),
                }
            ]
        );
    }

    #[test]
    fn tool_message_content_is_the_call_result() {
        let m = message(
            &json!({"role": "tool", "tool_call_id": "call_1", "content": "{\"ok\": true}"}),
            "user",
        )
        .unwrap();
        assert_eq!(
            m.parts,
            [Part::ToolCallResponse {
                id: Some("call_1".into()),
                response: json!({"ok": true}),
            }]
        );
    }

    #[test]
    fn ai_sdk_tool_message_keeps_its_result_parts() {
        let m = message(
            &json!({"role": "tool", "content": [{"type": "tool-result", "toolCallId": "c",
                "toolName": "f", "result": "done"}]}),
            "user",
        )
        .unwrap();
        assert_eq!(
            m.parts,
            [Part::ToolCallResponse {
                id: Some("c".into()),
                response: json!("done"),
            }]
        );
    }

    #[test]
    fn flat_tool_calls_and_json_string_tool_calls() {
        let m = message(
            &json!({"role": "assistant", "tool_calls": "[{\"id\": \"c\", \"name\": \"f\", \"arguments\": \"{}\"}]",
                "finish_reason": "tool_calls"}),
            "assistant",
        )
        .unwrap();
        assert_eq!(
            m.parts,
            [Part::ToolCall {
                id: Some("c".into()),
                name: "f".into(),
                arguments: Some(json!({})),
            }]
        );
        assert_eq!(m.finish_reason.as_deref(), Some("tool_calls"));
    }

    #[test]
    fn gemini_model_role_is_the_assistant() {
        let m = message(&json!({"role": "model", "parts": [{"text": "hi"}]}), "user").unwrap();
        assert_eq!(m.role, "assistant");
        assert_eq!(m.parts, [text("hi")]);
    }

    #[test]
    fn lists_must_hold_only_messages() {
        assert!(list(
            &json!([{"role": "user", "content": "hi"}, {"order_id": 1}]),
            "user"
        )
        .is_none());
        assert!(list(&json!([]), "user").is_none());
        assert!(list(&json!({"role": "user"}), "user").is_none());
        let items = list(
            &json!([
                {"role": "user", "content": "hi"},
                {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "c", "output": "ok"}
            ]),
            "user",
        )
        .unwrap();
        let roles: Vec<&str> = items.iter().map(|m| m.role.as_str()).collect();
        assert_eq!(roles, ["user", "assistant", "tool"]);
    }

    #[test]
    fn system_instructions_go_first_only_when_missing() {
        let system = system(&json!([{"type": "text", "content": "Be brief."}]));
        let user = Message::new("user", vec![text("hi")]);
        let merged = with_system(system.clone(), Some(vec![user.clone()])).unwrap();
        assert_eq!(merged[0].role, "system");
        assert_eq!(merged[0].parts, [text("Be brief.")]);
        let existing = Message::new("system", vec![text("Own.")]);
        let kept = with_system(system.clone(), Some(vec![existing.clone(), user])).unwrap();
        assert_eq!(kept[0], existing);
        assert_eq!(kept.len(), 2);
        assert_eq!(with_system(system, None).unwrap().len(), 1);
    }
}
