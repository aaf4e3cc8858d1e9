//! Chat messages in the OTel GenAI shape (`{"role", "parts": [...]}`), built with [`Message`]
//! or converted from the shapes apps already hold: OpenAI-style `{"role", "content"}` with
//! `tool_calls`, Anthropic content blocks, or a plain string.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// One chat message as the GenAI conventions write it.
///
/// ```
/// use lemma_sdk::Message;
///
/// let history = vec![
///     Message::system("You are a support agent."),
///     Message::user("Where is my order?"),
///     Message::assistant("").with_tool_call("call_1", "lookup_order", &serde_json::json!({"id": 42})),
///     Message::tool_result("call_1", &serde_json::json!({"status": "shipped"})),
/// ];
/// assert_eq!(
///     serde_json::to_value(&history[1]).unwrap(),
///     serde_json::json!({"role": "user", "parts": [{"type": "text", "content": "Where is my order?"}]})
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// `system`, `user`, `assistant` or `tool`.
    pub role: String,
    /// What the message holds, in order.
    pub parts: Vec<Part>,
    /// The participant's name, when the provider takes one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Why the model stopped (output messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
}

/// One part of a [`Message`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Part {
    /// Text.
    Text {
        /// The text.
        content: String,
    },
    /// A tool call the model asks for.
    ToolCall {
        /// The call id, matched by the tool's response.
        id: String,
        /// The tool's name.
        name: String,
        /// The arguments, as JSON.
        arguments: Value,
    },
    /// A tool's answer to a call.
    ToolCallResponse {
        /// The id of the call answered.
        id: String,
        /// The result, as JSON.
        response: Value,
    },
}

impl Message {
    /// A message of `role` holding `text` (no part when `text` is empty).
    pub fn new(role: impl Into<String>, text: impl Into<String>) -> Self {
        let text = text.into();
        let parts = if text.is_empty() {
            Vec::new()
        } else {
            vec![Part::Text { content: text }]
        };
        Message {
            role: role.into(),
            parts,
            name: None,
            finish_reason: None,
        }
    }

    /// A system message.
    pub fn system(text: impl Into<String>) -> Self {
        Message::new("system", text)
    }

    /// A user message.
    pub fn user(text: impl Into<String>) -> Self {
        Message::new("user", text)
    }

    /// An assistant message.
    pub fn assistant(text: impl Into<String>) -> Self {
        Message::new("assistant", text)
    }

    /// A tool's result for call `id`.
    pub fn tool_result<T: Serialize + ?Sized>(id: impl Into<String>, response: &T) -> Self {
        Message {
            role: "tool".into(),
            parts: vec![Part::ToolCallResponse {
                id: id.into(),
                response: serde_json::to_value(response).unwrap_or(Value::Null),
            }],
            name: None,
            finish_reason: None,
        }
    }

    /// Adds a tool call to this (assistant) message.
    pub fn with_tool_call<T: Serialize + ?Sized>(
        mut self,
        id: impl Into<String>,
        name: impl Into<String>,
        arguments: &T,
    ) -> Self {
        self.parts.push(Part::ToolCall {
            id: id.into(),
            name: name.into(),
            arguments: serde_json::to_value(arguments).unwrap_or(Value::Null),
        });
        self
    }

    /// Sets why the model stopped.
    pub fn with_finish_reason(mut self, reason: impl Into<String>) -> Self {
        self.finish_reason = Some(reason.into());
        self
    }
}

/// `value` as a GenAI message list. A plain string is one message of `default_role`.
pub(crate) fn to_genai(value: Value, default_role: &str) -> Value {
    let messages = match value {
        Value::Array(items) => items
            .into_iter()
            .map(|item| message(item, default_role))
            .collect(),
        other => vec![message(other, default_role)],
    };
    Value::Array(messages)
}

fn message(value: Value, default_role: &str) -> Value {
    let mut obj = match value {
        Value::Object(obj) => obj,
        Value::String(text) => return text_message(default_role, text),
        other => return text_message(default_role, other.to_string()),
    };
    if obj.get("parts").is_some_and(Value::is_array) {
        return Value::Object(obj);
    }
    let role = match obj.remove("role") {
        Some(Value::String(role)) => role,
        _ => default_role.to_string(),
    };
    let mut parts = Vec::new();
    let content = obj.remove("content").unwrap_or(Value::Null);
    if role == "tool" {
        if let Some(id) = obj.remove("tool_call_id").and_then(string) {
            parts.push(json!({"type": "tool_call_response", "id": id, "response": content}));
            return finish(role, parts, obj);
        }
    }
    match content {
        Value::Null => {}
        Value::String(text) if text.is_empty() => {}
        Value::String(text) => parts.push(text_part(text)),
        Value::Array(items) => parts.extend(items.into_iter().map(content_part)),
        other => parts.push(content_part(other)),
    }
    if let Some(Value::Array(calls)) = obj.remove("tool_calls") {
        parts.extend(calls.into_iter().map(openai_tool_call));
    }
    finish(role, parts, obj)
}

/// The message with `name` and `finish_reason` kept from the source.
fn finish(role: String, parts: Vec<Value>, mut source: Map<String, Value>) -> Value {
    let mut out = Map::new();
    out.insert("role".into(), Value::String(role));
    out.insert("parts".into(), Value::Array(parts));
    for key in ["name", "finish_reason"] {
        if let Some(value @ Value::String(_)) = source.remove(key) {
            out.insert(key.into(), value);
        }
    }
    Value::Object(out)
}

fn text_message(role: &str, text: String) -> Value {
    json!({"role": role, "parts": [text_part(text)]})
}

fn text_part(text: String) -> Value {
    json!({"type": "text", "content": text})
}

/// One element of a content array: OpenAI (`text`, `image_url`) or Anthropic (`tool_use`,
/// `tool_result`) blocks; anything else is kept as it is.
fn content_part(item: Value) -> Value {
    let Value::Object(mut block) = item else {
        return match item {
            Value::String(text) => text_part(text),
            other => json!({"type": "text", "content": other.to_string()}),
        };
    };
    let kind = block.get("type").and_then(Value::as_str).unwrap_or("");
    match kind {
        "text" | "input_text" | "output_text" if block.contains_key("text") => {
            let text = block.remove("text").and_then(string).unwrap_or_default();
            text_part(text)
        }
        "image_url" => {
            let url = match block.remove("image_url") {
                Some(Value::Object(mut image)) => image.remove("url"),
                other => other,
            };
            json!({"type": "uri", "modality": "image", "uri": url})
        }
        "tool_use" => json!({
            "type": "tool_call",
            "id": block.remove("id"),
            "name": block.remove("name"),
            "arguments": block.remove("input"),
        }),
        "tool_result" => json!({
            "type": "tool_call_response",
            "id": block.remove("tool_use_id"),
            "response": block.remove("content"),
        }),
        _ => Value::Object(block),
    }
}

/// An OpenAI `tool_calls` entry as a `tool_call` part, arguments parsed when they are JSON.
fn openai_tool_call(call: Value) -> Value {
    let Value::Object(mut call) = call else {
        return call;
    };
    let (name, arguments) = match call.remove("function") {
        Some(Value::Object(mut function)) => (
            function.remove("name"),
            function.remove("arguments").map(parse_if_json),
        ),
        _ => (
            call.remove("name"),
            call.remove("arguments").map(parse_if_json),
        ),
    };
    json!({"type": "tool_call", "id": call.remove("id"), "name": name, "arguments": arguments})
}

fn parse_if_json(value: Value) -> Value {
    match &value {
        Value::String(s) => serde_json::from_str(s).unwrap_or(value),
        _ => value,
    }
}

fn string(value: Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_messages_become_parts() {
        let input = json!([
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
            {"role": "assistant", "content": null, "tool_calls": [{
                "id": "call_1", "type": "function",
                "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}
            }]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ]);
        assert_eq!(
            to_genai(input, "user"),
            json!([
                {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
                {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]},
                {"role": "assistant", "parts": [{
                    "type": "tool_call", "id": "call_1", "name": "get_weather",
                    "arguments": {"city": "Paris"}
                }]},
                {"role": "tool", "parts": [{
                    "type": "tool_call_response", "id": "call_1", "response": "sunny"
                }]},
            ])
        );
    }

    #[test]
    fn strings_and_single_messages() {
        assert_eq!(
            to_genai(json!("hi"), "assistant"),
            json!([{"role": "assistant", "parts": [{"type": "text", "content": "hi"}]}])
        );
        assert_eq!(
            to_genai(
                json!({"role": "assistant", "content": "done", "finish_reason": "stop"}),
                "user"
            ),
            json!([{"role": "assistant", "parts": [{"type": "text", "content": "done"}],
                    "finish_reason": "stop"}])
        );
    }

    #[test]
    fn genai_messages_pass_through() {
        let typed = vec![
            Message::user("hi"),
            Message::assistant("")
                .with_tool_call("c1", "search", &json!({"q": "x"}))
                .with_finish_reason("tool_calls"),
        ];
        let value = serde_json::to_value(&typed).unwrap();
        assert_eq!(to_genai(value.clone(), "user"), value);
        assert_eq!(
            value[1],
            json!({"role": "assistant", "finish_reason": "tool_calls", "parts": [
                {"type": "tool_call", "id": "c1", "name": "search", "arguments": {"q": "x"}}
            ]})
        );
    }

    #[test]
    fn anthropic_blocks() {
        let input = json!([{"role": "assistant", "content": [
            {"type": "text", "text": "Looking."},
            {"type": "tool_use", "id": "tu_1", "name": "search", "input": {"q": "rust"}},
        ]}, {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "tu_1", "content": "found"},
        ]}]);
        assert_eq!(
            to_genai(input, "user"),
            json!([
                {"role": "assistant", "parts": [
                    {"type": "text", "content": "Looking."},
                    {"type": "tool_call", "id": "tu_1", "name": "search", "arguments": {"q": "rust"}},
                ]},
                {"role": "user", "parts": [
                    {"type": "tool_call_response", "id": "tu_1", "response": "found"},
                ]},
            ])
        );
    }
}
