//! Message-shaped values: a message list, a single message, or a provider's request or response
//! body (OpenAI chat completions and Responses API, Anthropic messages, Google Gemini
//! `generateContent`, completions APIs). Anything else is not a conversation and yields `None`.

use serde_json::{Map, Value};

use super::lookup::{first, text_at};
use super::message::{self, is_message_like, with_system};
use super::{parts, Message, Part};
use crate::value::as_u64;

pub fn messages(value: &Value, default_role: &str) -> Option<Vec<Message>> {
    match value {
        Value::Array(_) => message::list(value, default_role),
        Value::Object(obj) => body(obj).or_else(|| {
            obj.get("role")
                .is_some_and(Value::is_string)
                .then(|| message::message(value, default_role))
                .flatten()
                .map(|m| vec![m])
        }),
        _ => None,
    }
}

fn body(obj: &Map<String, Value>) -> Option<Vec<Message>> {
    chat_request(obj)
        .or_else(|| choices(obj))
        .or_else(|| responses_output(obj))
        .or_else(|| responses_input(obj))
        .or_else(|| gemini_request(obj))
        .or_else(|| gemini_response(obj))
        .or_else(|| completion_request(obj))
}

/// OpenAI chat `{messages}`; Anthropic `{messages, system}` where `system` is a string or
/// text blocks.
fn chat_request(obj: &Map<String, Value>) -> Option<Vec<Message>> {
    let messages = message::list(obj.get("messages")?, "user")?;
    let system = obj.get("system").and_then(message::system);
    with_system(system, Some(messages))
}

/// OpenAI chat `{choices: [{index, message, finish_reason}]}` (streamed: `delta`) and the
/// completions API's `{choices: [{text}]}`, one message per choice in index order.
fn choices(obj: &Map<String, Value>) -> Option<Vec<Message>> {
    let choices = obj.get("choices")?.as_array()?;
    let mut indexed: Vec<(u64, Message)> = choices
        .iter()
        .enumerate()
        .filter_map(|(position, choice)| {
            let c = choice.as_object()?;
            let mut m = match first(c, &["message", "delta"]) {
                Some(m) => message::message(m, "assistant")?,
                None => Message::new(
                    "assistant",
                    parts::text(c.get("text")?.as_str()?).into_iter().collect(),
                ),
            };
            if m.finish_reason.is_none() {
                m.finish_reason = text_at(c, &["finish_reason"]);
            }
            let index = c.get("index").and_then(as_u64).unwrap_or(position as u64);
            Some((index, m))
        })
        .collect();
    indexed.sort_by_key(|(i, _)| *i);
    non_empty(indexed.into_iter().map(|(_, m)| m).collect())
}

/// Responses API `{output: [items]}`: one assistant turn, its items' parts in order.
fn responses_output(obj: &Map<String, Value>) -> Option<Vec<Message>> {
    let items = obj.get("output")?.as_array()?;
    if items.is_empty() || !items.iter().all(is_message_like) {
        return None;
    }
    let parts: Vec<Part> = items
        .iter()
        .filter_map(|item| message::message(item, "assistant"))
        .flat_map(|m| m.parts)
        .collect();
    let mut turn = Message::new("assistant", parts);
    turn.finish_reason = obj
        .get("incomplete_details")
        .and_then(|d| d.get("reason"))
        .and_then(Value::as_str)
        .map(str::to_string);
    Some(vec![turn])
}

/// Responses API `{input, instructions}`. A string input is a user message, but only in a body
/// that names a model, so that `{input: "..."}` from arbitrary code is left alone.
fn responses_input(obj: &Map<String, Value>) -> Option<Vec<Message>> {
    let messages = match obj.get("input")? {
        Value::String(s) if obj.contains_key("model") || obj.contains_key("instructions") => {
            vec![Message::new("user", parts::text(s).into_iter().collect())]
        }
        input @ Value::Array(_) => message::list(input, "user")?,
        _ => return None,
    };
    let system = obj.get("instructions").and_then(message::system);
    with_system(system, Some(messages))
}

/// Gemini `{contents, systemInstruction}` (the Python SDK: `system_instruction`, or inside
/// `config`).
fn gemini_request(obj: &Map<String, Value>) -> Option<Vec<Message>> {
    let messages = match obj.get("contents")? {
        Value::String(s) => vec![Message::new("user", parts::text(s).into_iter().collect())],
        contents => message::list(contents, "user")?,
    };
    let config = obj.get("config").and_then(Value::as_object);
    let system = first(obj, &["systemInstruction", "system_instruction"])
        .or_else(|| config.and_then(|c| first(c, &["systemInstruction", "system_instruction"])))
        .and_then(message::system);
    with_system(system, Some(messages))
}

/// Gemini `{candidates: [{content, finishReason, index}]}`.
fn gemini_response(obj: &Map<String, Value>) -> Option<Vec<Message>> {
    let candidates = obj.get("candidates")?.as_array()?;
    let mut indexed: Vec<(u64, Message)> = candidates
        .iter()
        .enumerate()
        .filter_map(|(position, candidate)| {
            let c = candidate.as_object()?;
            let mut m = message::message(c.get("content")?, "assistant")?;
            m.finish_reason = m
                .finish_reason
                .or_else(|| text_at(c, &["finishReason", "finish_reason"]));
            let index = c.get("index").and_then(as_u64).unwrap_or(position as u64);
            Some((index, m))
        })
        .collect();
    indexed.sort_by_key(|(i, _)| *i);
    non_empty(indexed.into_iter().map(|(_, m)| m).collect())
}

/// Completions APIs `{model, prompt}`, the prompt a string or a list of strings.
fn completion_request(obj: &Map<String, Value>) -> Option<Vec<Message>> {
    if !obj.contains_key("model") {
        return None;
    }
    let prompts: Vec<&str> = match obj.get("prompt")? {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => return None,
    };
    non_empty(
        prompts
            .into_iter()
            .filter_map(parts::text)
            .map(|p| Message::new("user", vec![p]))
            .collect(),
    )
}

fn non_empty(messages: Vec<Message>) -> Option<Vec<Message>> {
    (!messages.is_empty()).then_some(messages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(s: &str) -> Part {
        Part::Text { content: s.into() }
    }

    fn roles(messages: &[Message]) -> Vec<&str> {
        messages.iter().map(|m| m.role.as_str()).collect()
    }

    #[test]
    fn openai_chat_request_and_response() {
        let request = json!({"model": "gpt-4o-mini", "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Hi"},
                {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}]}]});
        let input = messages(&request, "user").unwrap();
        assert_eq!(roles(&input), ["system", "user"]);
        assert_eq!(input[1].parts.len(), 2);
        assert!(
            matches!(&input[1].parts[1], Part::Media { uri: Some(u), .. } if u == "https://x.test/a.png")
        );

        let response = json!({"choices": [
            {"index": 1, "finish_reason": "stop", "message": {"role": "assistant", "content": "B"}},
            {"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null,
                "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{\"x\":1}"}}]}}]});
        let output = messages(&response, "assistant").unwrap();
        assert_eq!(output.len(), 2);
        assert_eq!(output[0].finish_reason.as_deref(), Some("tool_calls"));
        assert_eq!(
            output[0].parts,
            [Part::ToolCall {
                id: Some("c".into()),
                name: "f".into(),
                arguments: Some(json!({"x": 1}))
            }]
        );
        assert_eq!(output[1].parts, [text("B")]);
    }

    #[test]
    fn completions_api_request_and_response() {
        let input = messages(&json!({"model": "m", "prompt": "Once upon"}), "user").unwrap();
        assert_eq!(input, [Message::new("user", vec![text("Once upon")])]);
        let output = messages(
            &json!({"choices": [{"text": " a time", "finish_reason": "length"}]}),
            "assistant",
        )
        .unwrap();
        assert_eq!(output[0].parts, [text(" a time")]);
        assert_eq!(output[0].finish_reason.as_deref(), Some("length"));
    }

    #[test]
    fn responses_api_request_and_response() {
        let request = json!({"model": "gpt-5", "instructions": "Be brief.", "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "Weather?"}]},
            {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "weather", "arguments": "{\"city\":\"Paris\"}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "{\"temp\":20}"}]});
        let input = messages(&request, "user").unwrap();
        assert_eq!(roles(&input), ["system", "user", "assistant", "tool"]);
        assert_eq!(
            input[3].parts,
            [Part::ToolCallResponse {
                id: Some("call_1".into()),
                response: json!({"temp": 20})
            }]
        );
        let plain = messages(&json!({"model": "gpt-5", "input": "Hi"}), "user").unwrap();
        assert_eq!(plain, [Message::new("user", vec![text("Hi")])]);
        assert!(messages(&json!({"input": "Hi"}), "user").is_none());

        let response = json!({"object": "response", "status": "completed", "output": [
            {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Need weather."}]},
            {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "weather", "arguments": "{}"},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Checking."}]}]});
        let output = messages(&response, "assistant").unwrap();
        assert_eq!(output.len(), 1);
        assert_eq!(
            output[0].parts,
            [
                Part::Reasoning {
                    content: "Need weather.".into()
                },
                Part::ToolCall {
                    id: Some("call_1".into()),
                    name: "weather".into(),
                    arguments: Some(json!({}))
                },
                text("Checking."),
            ]
        );
    }

    #[test]
    fn anthropic_request_and_response() {
        let request = json!({"model": "claude", "system": [{"type": "text", "text": "Be brief."}], "messages": [
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": [{"type": "thinking", "thinking": "hmm"},
                {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "20C"}]}]});
        let input = messages(&request, "user").unwrap();
        assert_eq!(roles(&input), ["system", "user", "assistant", "user"]);
        assert_eq!(input[0].parts, [text("Be brief.")]);
        assert_eq!(
            input[2].parts,
            [
                Part::Reasoning {
                    content: "hmm".into()
                },
                Part::ToolCall {
                    id: Some("toolu_1".into()),
                    name: "weather".into(),
                    arguments: Some(json!({"city": "Paris"}))
                },
            ]
        );
        assert_eq!(
            input[3].parts,
            [Part::ToolCallResponse {
                id: Some("toolu_1".into()),
                response: json!("20C")
            }]
        );

        let response = json!({"type": "message", "role": "assistant", "stop_reason": "end_turn",
            "content": [{"type": "text", "text": "Sunny."}]});
        let output = messages(&response, "assistant").unwrap();
        assert_eq!(output[0].parts, [text("Sunny.")]);
        assert_eq!(output[0].finish_reason.as_deref(), Some("end_turn"));
    }

    #[test]
    fn gemini_request_and_response() {
        let request = json!({"contents": [
            {"role": "user", "parts": [{"text": "Weather?"}]},
            {"role": "model", "parts": [{"functionCall": {"name": "weather", "args": {"city": "Paris"}}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "weather", "response": {"temp": 20}}}]}],
            "systemInstruction": {"parts": [{"text": "Be brief."}]}});
        let input = messages(&request, "user").unwrap();
        assert_eq!(roles(&input), ["system", "user", "assistant", "user"]);
        assert_eq!(
            input[2].parts,
            [Part::ToolCall {
                id: None,
                name: "weather".into(),
                arguments: Some(json!({"city": "Paris"}))
            }]
        );
        let response = json!({"candidates": [{"index": 0, "finishReason": "STOP",
            "content": {"role": "model", "parts": [{"text": "Sunny."}]}}]});
        let output = messages(&response, "assistant").unwrap();
        assert_eq!(output[0].role, "assistant");
        assert_eq!(output[0].finish_reason.as_deref(), Some("STOP"));
    }

    #[test]
    fn single_messages_are_accepted_and_other_json_is_not() {
        let one = messages(
            &json!({"role": "assistant", "content": "Done."}),
            "assistant",
        )
        .unwrap();
        assert_eq!(one[0].parts, [text("Done.")]);
        for not_messages in [
            json!({"order_id": "A-17"}),
            json!({"question": "Where?"}),
            json!(["a", "b"]),
            json!({"messages": "hi"}),
            json!({"output": [{"id": 1}]}),
            json!("plain text"),
        ] {
            assert!(messages(&not_messages, "user").is_none(), "{not_messages}");
        }
    }
}
