//! Vercel AI SDK (v3–v7 legacy telemetry): `ai.prompt.messages` on model calls, `ai.prompt`
//! `{system, prompt, messages}` on run spans, and the response as `ai.response.text`,
//! `ai.response.toolCalls`, `ai.response.reasoning` (v3: `ai.result.*`).

use serde_json::{Map, Value};

use super::lookup::{first, json_at, text_at};
use super::message::{self, with_system};
use super::{parts, Dir, Message, Part};

pub fn read(attrs: &Map<String, Value>, dir: Dir) -> Option<Vec<Message>> {
    match dir {
        Dir::Input => json_at(attrs, "ai.prompt.messages")
            .and_then(|v| message::list(&v, "user"))
            .or_else(|| run_prompt(attrs)),
        Dir::Output => response(attrs),
    }
}

/// The run span's `ai.prompt`: `system` first, then `messages`, or `prompt` (a string, or a
/// message list since v5).
fn run_prompt(attrs: &Map<String, Value>) -> Option<Vec<Message>> {
    let prompt = json_at(attrs, "ai.prompt")?;
    let prompt = prompt.as_object()?;
    let messages = match first(prompt, &["messages", "prompt"]) {
        Some(Value::String(s)) => Some(vec![Message::new(
            "user",
            parts::text(s).into_iter().collect(),
        )]),
        Some(list) => message::list(list, "user"),
        None => None,
    };
    let system = prompt.get("system").and_then(message::system);
    with_system(system, messages)
}

fn response(attrs: &Map<String, Value>) -> Option<Vec<Message>> {
    let mut out: Vec<Part> = Vec::new();
    if let Some(reasoning) = text_at(attrs, &["ai.response.reasoning"]) {
        out.push(Part::Reasoning { content: reasoning });
    }
    if let Some(text) = text_at(attrs, &["ai.response.text", "ai.result.text"]) {
        out.extend(parts::text(&text));
    }
    // generateObject / streamObject: the object's JSON is the answer.
    if let Some(object) = text_at(attrs, &["ai.response.object", "ai.result.object"]) {
        out.extend(parts::text(&object));
    }
    let calls =
        json_at(attrs, "ai.response.toolCalls").or_else(|| json_at(attrs, "ai.result.toolCalls"));
    if let Some(Value::Array(calls)) = calls {
        out.extend(calls.iter().filter_map(tool_call));
    }
    if out.is_empty() {
        return None;
    }
    let mut turn = Message::new("assistant", out);
    turn.finish_reason = text_at(attrs, &["ai.response.finishReason"]);
    Some(vec![turn])
}

/// v4 `{toolCallType, toolCallId, toolName, args}`, v5+ `{toolCallId, toolName, input}`.
fn tool_call(call: &Value) -> Option<Part> {
    let obj = call.as_object()?;
    Some(parts::tool_call(
        obj.get("toolCallId"),
        obj.get("toolName"),
        first(obj, &["input", "args"]),
        call,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attrs(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn text(s: &str) -> Part {
        Part::Text { content: s.into() }
    }

    #[test]
    fn prompt_messages_with_ai_sdk_parts() {
        let messages = json!([
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "What is this?"},
                {"type": "image", "image": "iVBORw0KGgo=", "mediaType": "image/png"},
                {"type": "file", "data": "https://x.test/a.pdf", "mediaType": "application/pdf"}]},
            {"role": "assistant", "content": [{"type": "reasoning", "text": "Look."},
                {"type": "tool-call", "toolCallId": "c1", "toolName": "lookup", "input": {"q": "x"}},
                {"type": "tool-call", "toolCallId": "c2", "toolName": "lookup", "args": {"q": "y"}}]},
            {"role": "tool", "content": [
                {"type": "tool-result", "toolCallId": "c1", "toolName": "lookup", "output": {"type": "text", "value": "a cat"}},
                {"type": "tool-result", "toolCallId": "c2", "toolName": "lookup", "result": {"hits": 0}}]}
        ]);
        let input = read(
            &attrs(json!({"ai.prompt.messages": messages.to_string()})),
            Dir::Input,
        )
        .unwrap();
        assert_eq!(input[0].parts, [text("Be brief.")]);
        assert_eq!(
            input[1].parts[1..],
            [
                Part::Media {
                    modality: "image".into(),
                    mime_type: Some("image/png".into()),
                    uri: None,
                    file_id: None
                },
                Part::Media {
                    modality: "document".into(),
                    mime_type: Some("application/pdf".into()),
                    uri: Some("https://x.test/a.pdf".into()),
                    file_id: None
                },
            ]
        );
        assert_eq!(
            input[2].parts,
            [
                Part::Reasoning {
                    content: "Look.".into()
                },
                Part::ToolCall {
                    id: Some("c1".into()),
                    name: "lookup".into(),
                    arguments: Some(json!({"q": "x"}))
                },
                Part::ToolCall {
                    id: Some("c2".into()),
                    name: "lookup".into(),
                    arguments: Some(json!({"q": "y"}))
                },
            ]
        );
        assert_eq!(
            input[3].parts,
            [
                Part::ToolCallResponse {
                    id: Some("c1".into()),
                    response: json!("a cat")
                },
                Part::ToolCallResponse {
                    id: Some("c2".into()),
                    response: json!({"hits": 0})
                },
            ]
        );
    }

    #[test]
    fn run_span_prompt() {
        let a = attrs(json!({"ai.prompt": "{\"system\":\"Be brief.\",\"prompt\":\"Hi\"}"}));
        let input = read(&a, Dir::Input).unwrap();
        assert_eq!(
            input,
            [
                Message::new("system", vec![text("Be brief.")]),
                Message::new("user", vec![text("Hi")])
            ]
        );
        let with_messages =
            attrs(json!({"ai.prompt": {"messages": [{"role": "user", "content": "Hi"}]}}));
        assert_eq!(
            read(&with_messages, Dir::Input).unwrap(),
            [Message::new("user", vec![text("Hi")])]
        );
        assert!(read(&attrs(json!({"ai.prompt": "just text"})), Dir::Input).is_none());
    }

    #[test]
    fn response_text_tool_calls_and_reasoning() {
        let v5 = attrs(json!({
            "ai.response.reasoning": "Need data.",
            "ai.response.text": "",
            "ai.response.toolCalls": "[{\"toolCallId\":\"c1\",\"toolName\":\"lookup\",\"input\":\"{\\\"q\\\": \\\"x\\\"}\"}]",
            "ai.response.finishReason": "tool-calls",
        }));
        let output = read(&v5, Dir::Output).unwrap();
        assert_eq!(output[0].finish_reason.as_deref(), Some("tool-calls"));
        assert_eq!(
            output[0].parts,
            [
                Part::Reasoning {
                    content: "Need data.".into()
                },
                Part::ToolCall {
                    id: Some("c1".into()),
                    name: "lookup".into(),
                    arguments: Some(json!({"q": "x"}))
                },
            ]
        );
        let v4 = attrs(json!({"ai.response.toolCalls":
            [{"toolCallType": "function", "toolCallId": "c1", "toolName": "lookup", "args": "{\"q\":\"x\"}"}]}));
        assert_eq!(
            read(&v4, Dir::Output).unwrap()[0].parts,
            [Part::ToolCall {
                id: Some("c1".into()),
                name: "lookup".into(),
                arguments: Some(json!({"q": "x"}))
            }]
        );
        let text_only =
            attrs(json!({"ai.response.text": "Done.", "ai.response.finishReason": "stop"}));
        assert_eq!(
            read(&text_only, Dir::Output).unwrap()[0].parts,
            [text("Done.")]
        );
        assert!(read(&attrs(json!({})), Dir::Output).is_none());
    }
}
