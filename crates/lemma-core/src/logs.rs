//! OTLP log records joined to their spans.
//!
//! Some emitters put message content only in log events (GenAI semconv v1.28–v1.36 per-message
//! events, `EVENT_ONLY` capture, OpenLLMetry with `use_attributes=False`). Records are stored as
//! they arrive and joined when a span is read, so a record arriving before or after its span
//! gives the same result.

use serde_json::Value;

use crate::model::{LogRecord, Span, SpanEvent};

/// Attaches `records` (all naming this span) to it, oldest first, and fills the span's message
/// lists from them when its attributes and span events had none.
pub fn attach(span: &mut Span, mut records: Vec<LogRecord>) {
    if records.is_empty() {
        return;
    }
    records.sort_by_key(|r| r.time_unix_nano);
    // Derive again with the records as events: the sources keep their precedence (attributes
    // first), and a plain-text fallback gives way to messages the records carry.
    let own_events = span.events.len();
    span.events.extend(records.iter().filter_map(as_event));
    let (input, output) = crate::messages::derive(span);
    span.events.truncate(own_events);
    if input.is_some() {
        span.input_messages = input;
    }
    if output.is_some() {
        span.output_messages = output;
    }
    span.logs.extend(records);
}

/// A named record as the span event `messages::derive` reads: its attributes, plus its body
/// under `body` (where the per-message events keep their content).
fn as_event(r: &LogRecord) -> Option<SpanEvent> {
    let name = r.event_name.clone()?;
    let mut attributes = r.attributes.clone();
    if let Some(body) = &r.body {
        attributes.insert("body".into(), body.clone());
    }
    Some(SpanEvent {
        name,
        time_unix_nano: r.time_unix_nano,
        attributes,
        dropped_attributes_count: 0,
    })
}

/// The event name of a record: the OTLP field, else the `event.name` attribute.
pub fn event_name(field: String, attributes: &serde_json::Map<String, Value>) -> Option<String> {
    Some(field).filter(|n| !n.is_empty()).or_else(|| {
        attributes
            .get("event.name")
            .and_then(Value::as_str)
            .map(str::to_string)
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::messages::Part;

    fn record(name: &str, time: u64, body: Value) -> LogRecord {
        LogRecord {
            trace_id: Some("ab".repeat(16)),
            span_id: Some("cd".repeat(8)),
            time_unix_nano: time,
            event_name: Some(name.into()),
            body: Some(body),
            ..LogRecord::default()
        }
    }

    #[test]
    fn message_events_fill_the_message_lists_in_time_order() {
        let mut span = Span::default();
        attach(
            &mut span,
            vec![
                record(
                    "gen_ai.choice",
                    3,
                    json!({"index": 0, "finish_reason": "stop",
                    "message": {"role": "assistant", "content": "Shipped."}}),
                ),
                record(
                    "gen_ai.user.message",
                    2,
                    json!({"content": "Where is A-17?"}),
                ),
                record("gen_ai.system.message", 1, json!({"content": "Be brief."})),
            ],
        );
        let input = span.input_messages.expect("input from log events");
        let roles: Vec<&str> = input.iter().map(|m| m.role.as_str()).collect();
        assert_eq!(roles, ["system", "user"]);
        assert_eq!(
            input[1].parts,
            [Part::Text {
                content: "Where is A-17?".into()
            }]
        );
        let output = span.output_messages.expect("output from log events");
        assert_eq!(output[0].finish_reason.as_deref(), Some("stop"));
        // The records stay visible on the span, oldest first; the span's own events do not grow.
        let times: Vec<u64> = span.logs.iter().map(|r| r.time_unix_nano).collect();
        assert_eq!(times, [1, 2, 3]);
        assert!(span.events.is_empty());
    }

    fn normalized(attrs: Value) -> Span {
        let mut span = Span {
            name: "chat".into(),
            attributes: attrs.as_object().unwrap().clone(),
            ..Span::default()
        };
        crate::semconv::normalize(&mut span);
        span
    }

    fn first_text(messages: &Option<Vec<crate::messages::Message>>) -> &str {
        match &messages.as_ref().unwrap()[0].parts[0] {
            Part::Text { content } => content,
            other => panic!("not text: {other:?}"),
        }
    }

    #[test]
    fn messages_from_attributes_win_over_log_events() {
        let mut span = normalized(json!({"gen_ai.operation.name": "chat",
            "gen_ai.input.messages": [{"role": "user", "parts": [{"type": "text", "content": "from attributes"}]}]}));
        attach(
            &mut span,
            vec![record(
                "gen_ai.user.message",
                1,
                json!({"content": "from logs"}),
            )],
        );
        assert_eq!(first_text(&span.input_messages), "from attributes");
        assert_eq!(span.logs.len(), 1);
    }

    #[test]
    fn log_events_beat_the_plain_text_fallback() {
        let mut span =
            normalized(json!({"openinference.span.kind": "LLM", "input.value": "summarise"}));
        assert_eq!(first_text(&span.input_messages), "summarise");
        attach(
            &mut span,
            vec![record(
                "gen_ai.user.message",
                1,
                json!({"content": "summarise this ticket"}),
            )],
        );
        assert_eq!(first_text(&span.input_messages), "summarise this ticket");
    }

    #[test]
    fn other_records_are_kept_without_touching_messages() {
        let mut span = Span::default();
        let mut plain = record("", 1, json!("retrying in 2s"));
        plain.event_name = None;
        attach(&mut span, vec![plain]);
        assert_eq!(span.logs.len(), 1);
        assert!(span.input_messages.is_none());
    }
}
