//! Messages carried by events rather than span attributes: the GenAI
//! `gen_ai.client.inference.operation.details` event, the legacy `gen_ai.content.prompt` /
//! `gen_ai.content.completion` events, and the per-message events `gen_ai.{system,user,
//! assistant,tool}.message` / `gen_ai.choice`.
//!
//! Log records joined to a span arrive here as span events whose attributes hold the record's
//! attributes plus its body under `body`; span events keep the same fields in attributes. Both
//! are read as one map.

use serde_json::{Map, Value};

use super::lookup::{first, json_at, Parsed};
use super::{genai, message, parts, provider, Dir, Message};
use crate::model::{Span, SpanEvent};
use crate::value::{as_u64, lenient_json};

const DETAILS: &str = "gen_ai.client.inference.operation.details";

pub fn details(span: &Span, dir: Dir) -> Option<Vec<Message>> {
    span.events
        .iter()
        .filter(|e| e.name == DETAILS)
        .find_map(|e| genai::read(&fields(e), Parsed::NONE, dir))
}

pub fn legacy(span: &Span, dir: Dir) -> Option<Vec<Message>> {
    let (event, key) = dir.pick(
        ("gen_ai.content.prompt", "gen_ai.prompt"),
        ("gen_ai.content.completion", "gen_ai.completion"),
    );
    span.events
        .iter()
        .filter(|e| e.name == event)
        .find_map(|e| content_event(&fields(e), key, dir))
        .or_else(|| match dir {
            Dir::Input => message_events(span),
            Dir::Output => choice_events(span),
        })
}

/// An event's attributes with its log body's fields (a string body is the content).
fn fields(event: &SpanEvent) -> Map<String, Value> {
    let mut out = event.attributes.clone();
    match out.remove("body") {
        Some(Value::Object(body)) => {
            for (k, v) in body {
                out.entry(k).or_insert(v);
            }
        }
        Some(body @ Value::String(_)) => {
            out.entry("content").or_insert(body);
        }
        _ => {}
    }
    out
}

/// `gen_ai.prompt` / `gen_ai.completion`: OpenAI-style messages as JSON, or bare text.
fn content_event(fields: &Map<String, Value>, key: &str, dir: Dir) -> Option<Vec<Message>> {
    match json_at(fields, key)? {
        Value::String(s) => Some(vec![Message::new(
            dir.role(),
            parts::text(&s).into_iter().collect(),
        )]),
        v => provider::messages(&v, dir.role()),
    }
}

fn message_events(span: &Span) -> Option<Vec<Message>> {
    let mut events: Vec<(&SpanEvent, &str)> = span
        .events
        .iter()
        .filter_map(|e| {
            let role = match e.name.as_str() {
                "gen_ai.system.message" => "system",
                "gen_ai.user.message" => "user",
                "gen_ai.assistant.message" => "assistant",
                "gen_ai.tool.message" => "tool",
                _ => return None,
            };
            Some((e, role))
        })
        .collect();
    // Log records joined later may sit after the span's own events; time orders them.
    events.sort_by_key(|(e, _)| e.time_unix_nano);
    let messages: Vec<Message> = events
        .into_iter()
        .filter_map(|(e, role)| {
            let mut m = fields(e);
            // The tool message names the call it answers `id`.
            if role == "tool" && !m.contains_key("tool_call_id") {
                if let Some(call_id) = m.remove("id") {
                    m.insert("tool_call_id".into(), call_id);
                }
            }
            message::message(&Value::Object(m), role)
        })
        .collect();
    (!messages.is_empty()).then_some(messages)
}

/// `gen_ai.choice`: `{index, finish_reason, message: {content, role}, tool_calls}`, one event
/// per choice, ordered by index.
fn choice_events(span: &Span) -> Option<Vec<Message>> {
    let mut choices: Vec<(u64, Message)> = span
        .events
        .iter()
        .filter(|e| e.name == "gen_ai.choice")
        .filter_map(|e| {
            let fields = fields(e);
            let mut m = match json_at(&fields, "message") {
                Some(Value::Object(m)) => m,
                _ => Map::new(),
            };
            for key in ["tool_calls", "finish_reason", "content", "role"] {
                if let Some(v) = fields.get(key).filter(|_| !m.contains_key(key)) {
                    m.insert(key.into(), lenient_json(v));
                }
            }
            let index = first(&fields, &["index"])
                .and_then(as_u64)
                .unwrap_or(u64::MAX);
            Some((index, message::message(&Value::Object(m), "assistant")?))
        })
        .collect();
    choices.sort_by_key(|(i, _)| *i);
    let messages: Vec<Message> = choices.into_iter().map(|(_, m)| m).collect();
    (!messages.is_empty()).then_some(messages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::Part;
    use serde_json::json;

    fn event(name: &str, time: u64, attrs: Value) -> SpanEvent {
        SpanEvent {
            name: name.into(),
            time_unix_nano: time,
            attributes: attrs.as_object().unwrap().clone(),
            dropped_attributes_count: 0,
        }
    }

    fn span(events: Vec<SpanEvent>) -> Span {
        Span {
            events,
            ..Span::default()
        }
    }

    fn text(s: &str) -> Part {
        Part::Text { content: s.into() }
    }

    #[test]
    fn details_event_as_span_event_and_as_log_event() {
        let payload = json!({
            "gen_ai.system_instructions": [{"type": "text", "content": "Be brief."}],
            "gen_ai.input.messages": [{"role": "user", "parts": [{"type": "text", "content": "Hi"}]}],
            "gen_ai.output.messages": [{"role": "assistant", "finish_reason": "stop",
                "parts": [{"type": "text", "content": "Hello"}]}],
        });
        let as_span_event = span(vec![event(DETAILS, 1, payload.clone())]);
        let as_log_event = span(vec![event(DETAILS, 1, json!({"body": payload}))]);
        for s in [as_span_event, as_log_event] {
            let input = details(&s, Dir::Input).unwrap();
            assert_eq!(input[0], Message::new("system", vec![text("Be brief.")]));
            assert_eq!(input[1], Message::new("user", vec![text("Hi")]));
            assert_eq!(details(&s, Dir::Output).unwrap()[0].parts, [text("Hello")]);
        }
    }

    #[test]
    fn content_prompt_and_completion_events() {
        let s = span(vec![
            event(
                "gen_ai.content.prompt",
                1,
                json!({"gen_ai.prompt":
                "[{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\": \"user\", \"content\": \"Hi\"}]"}),
            ),
            event(
                "gen_ai.content.completion",
                2,
                json!({"gen_ai.completion":
                "[{\"role\": \"assistant\", \"content\": \"Hello\"}]"}),
            ),
        ]);
        let input = legacy(&s, Dir::Input).unwrap();
        assert_eq!(input.len(), 2);
        assert_eq!(input[1], Message::new("user", vec![text("Hi")]));
        assert_eq!(
            legacy(&s, Dir::Output).unwrap(),
            [Message::new("assistant", vec![text("Hello")])]
        );
    }

    #[test]
    fn per_message_span_events_keep_content_in_attributes() {
        let s = span(vec![
            event(
                "gen_ai.user.message",
                2,
                json!({"gen_ai.system": "openai", "content": "Weather?"}),
            ),
            event("gen_ai.system.message", 1, json!({"content": "Be brief."})),
            event(
                "gen_ai.assistant.message",
                3,
                json!({"tool_calls":
                "[{\"id\": \"c1\", \"type\": \"function\", \"function\": {\"name\": \"weather\", \"arguments\": \"{\\\"city\\\": \\\"Paris\\\"}\"}}]"}),
            ),
            event(
                "gen_ai.tool.message",
                4,
                json!({"id": "c1", "content": "rainy"}),
            ),
        ]);
        let input = legacy(&s, Dir::Input).unwrap();
        let roles: Vec<&str> = input.iter().map(|m| m.role.as_str()).collect();
        assert_eq!(roles, ["system", "user", "assistant", "tool"]);
        assert_eq!(
            input[2].parts,
            [Part::ToolCall {
                id: Some("c1".into()),
                name: "weather".into(),
                arguments: Some(json!({"city": "Paris"}))
            }]
        );
        assert_eq!(
            input[3].parts,
            [Part::ToolCallResponse {
                id: Some("c1".into()),
                response: json!("rainy")
            }]
        );
    }

    #[test]
    fn per_message_log_events_keep_content_in_the_body() {
        let s = span(vec![
            event(
                "gen_ai.user.message",
                1,
                json!({"gen_ai.system": "openai", "body": {"content": "Weather?"}}),
            ),
            event(
                "gen_ai.assistant.message",
                2,
                json!({"body": {"content": null, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": {"city": "Paris"}}}]}}),
            ),
            event(
                "gen_ai.tool.message",
                3,
                json!({"body": {"id": "c1", "content": {"temp": 20}}}),
            ),
            event(
                "gen_ai.choice",
                5,
                json!({"body": {"index": 1, "finish_reason": "stop",
                "message": {"role": "assistant", "content": "Second"}}}),
            ),
            event(
                "gen_ai.choice",
                4,
                json!({"body": {"index": 0, "finish_reason": "tool_calls",
                "message": {"role": "assistant"},
                "tool_calls": [{"id": "c2", "type": "function", "function": {"name": "weather", "arguments": "{}"}}]}}),
            ),
        ]);
        let input = legacy(&s, Dir::Input).unwrap();
        assert_eq!(input[0], Message::new("user", vec![text("Weather?")]));
        assert_eq!(
            input[2].parts,
            [Part::ToolCallResponse {
                id: Some("c1".into()),
                response: json!({"temp": 20})
            }]
        );
        let output = legacy(&s, Dir::Output).unwrap();
        assert_eq!(output.len(), 2);
        assert_eq!(output[0].finish_reason.as_deref(), Some("tool_calls"));
        assert_eq!(
            output[0].parts,
            [Part::ToolCall {
                id: Some("c2".into()),
                name: "weather".into(),
                arguments: Some(json!({}))
            }]
        );
        assert_eq!(output[1].parts, [text("Second")]);
    }

    #[test]
    fn string_log_body_is_the_content() {
        let s = span(vec![event("gen_ai.user.message", 1, json!({"body": "Hi"}))]);
        assert_eq!(
            legacy(&s, Dir::Input).unwrap(),
            [Message::new("user", vec![text("Hi")])]
        );
    }
}
