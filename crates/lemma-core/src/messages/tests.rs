//! `derive` as a whole: the precedence between sources, the plain-text fallback, hostile input,
//! and the LLM spans of real captured SDK traffic.

use serde_json::{json, Value};

use super::*;
use crate::model::SpanEvent;

fn span(attrs: Value) -> Span {
    Span {
        attributes: attrs.as_object().unwrap().clone(),
        ..Span::default()
    }
}

fn text(s: &str) -> Part {
    Part::Text { content: s.into() }
}

fn call(id: &str, name: &str, arguments: Value) -> Part {
    Part::ToolCall {
        id: Some(id.into()),
        name: name.into(),
        arguments: Some(arguments),
    }
}

fn result(id: &str, response: Value) -> Part {
    Part::ToolCallResponse {
        id: Some(id.into()),
        response,
    }
}

fn roles(messages: &[Message]) -> Vec<&str> {
    messages.iter().map(|m| m.role.as_str()).collect()
}

const GENAI_USER: &str = r#"[{"role":"user","parts":[{"type":"text","content":"from gen_ai"}]}]"#;

#[test]
fn langfuse_messages_win_over_gen_ai() {
    let s = span(json!({
        "langfuse.observation.input": r#"[{"role": "user", "content": "from langfuse"}]"#,
        "gen_ai.input.messages": GENAI_USER,
    }));
    let (input, _) = derive(&s);
    assert_eq!(input.unwrap()[0].parts, [text("from langfuse")]);
}

#[test]
fn langfuse_non_messages_fall_through() {
    for value in [json!("plain text"), json!(r#"{"question": "Where?"}"#)] {
        let s = span(json!({
            "langfuse.observation.input": value,
            "gen_ai.input.messages": GENAI_USER,
        }));
        assert_eq!(derive(&s).0.unwrap()[0].parts, [text("from gen_ai")]);
    }
}

#[test]
fn gen_ai_wins_over_openinference_and_each_side_falls_through_alone() {
    let s = span(json!({
        "gen_ai.input.messages": GENAI_USER,
        "llm.input_messages.0.message.role": "user",
        "llm.input_messages.0.message.content": "from openinference",
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.content": "answer from openinference",
    }));
    let (input, output) = derive(&s);
    assert_eq!(input.unwrap()[0].parts, [text("from gen_ai")]);
    assert_eq!(
        output.unwrap()[0].parts,
        [text("answer from openinference")]
    );
}

#[test]
fn details_event_is_read_when_attributes_have_nothing() {
    let mut s = span(json!({"gen_ai.operation.name": "chat"}));
    s.events.push(SpanEvent {
        name: "gen_ai.client.inference.operation.details".into(),
        time_unix_nano: 1,
        attributes: json!({"gen_ai.input.messages": GENAI_USER})
            .as_object()
            .unwrap()
            .clone(),
        dropped_attributes_count: 0,
    });
    assert_eq!(derive(&s).0.unwrap()[0].parts, [text("from gen_ai")]);
}

#[test]
fn openinference_flattened_wins_over_its_input_value() {
    let s = span(json!({
        "llm.input_messages.0.message.role": "user",
        "llm.input_messages.0.message.content": "flattened",
        "input.value": r#"{"messages": [{"role": "user", "content": "body"}]}"#,
        "output.value": r#"{"choices": [{"message": {"role": "assistant", "content": "from body"}}]}"#,
    }));
    let (input, output) = derive(&s);
    assert_eq!(input.unwrap()[0].parts, [text("flattened")]);
    assert_eq!(output.unwrap()[0].parts, [text("from body")]);
}

#[test]
fn openinference_wins_over_vercel_and_vercel_over_openllmetry() {
    let s = span(json!({
        "llm.input_messages.0.message.role": "user",
        "llm.input_messages.0.message.content": "from openinference",
        "ai.prompt.messages": r#"[{"role": "user", "content": "from vercel"}]"#,
        "ai.response.text": "answer from vercel",
        "gen_ai.completion.0.role": "assistant",
        "gen_ai.completion.0.content": "answer from openllmetry",
    }));
    let (input, output) = derive(&s);
    assert_eq!(input.unwrap()[0].parts, [text("from openinference")]);
    assert_eq!(output.unwrap()[0].parts, [text("answer from vercel")]);
}

#[test]
fn openllmetry_wins_over_legacy_events() {
    let mut s = span(json!({
        "gen_ai.prompt.0.role": "user",
        "gen_ai.prompt.0.content": "from attributes",
    }));
    s.events.push(SpanEvent {
        name: "gen_ai.user.message".into(),
        time_unix_nano: 1,
        attributes: json!({"content": "from event"})
            .as_object()
            .unwrap()
            .clone(),
        dropped_attributes_count: 0,
    });
    assert_eq!(derive(&s).0.unwrap()[0].parts, [text("from attributes")]);
    s.attributes.clear();
    assert_eq!(derive(&s).0.unwrap()[0].parts, [text("from event")]);
}

#[test]
fn plain_text_is_a_message_only_on_llm_spans() {
    let mut s = Span {
        kind: SpanKind::Llm,
        input: Some(json!("Once upon a time")),
        output: Some(json!(", there was a cat.")),
        ..Span::default()
    };
    let (input, output) = derive(&s);
    assert_eq!(
        input.unwrap(),
        [Message::new("user", vec![text("Once upon a time")])]
    );
    assert_eq!(
        output.unwrap(),
        [Message::new("assistant", vec![text(", there was a cat.")])]
    );
    s.kind = SpanKind::Agent;
    assert_eq!(derive(&s), (None, None));
    s.kind = SpanKind::Llm;
    s.input = Some(json!({"not": "text"}));
    assert!(derive(&s).0.is_none());
}

#[test]
fn hostile_values_never_panic() {
    let junk = [
        json!(null),
        json!(42),
        json!("[{\"role\":"),
        json!("\"\\\"\\\"\\\"\""),
        json!([null, 1, "x", [], {}]),
        json!([{"role": 5, "content": {"type": 7}}]),
        json!([{"role": "tool", "content": null, "tool_calls": "nope"}]),
        json!({"messages": [{"role": "user", "content": [{"type": "image", "source": 3}]}]}),
        json!({"choices": [null, {"message": 3}, {"text": 5}]}),
        json!({"output": [], "input": {}, "contents": 1, "candidates": "x", "prompt": {}}),
        json!([{"role": "user", "parts": [{"type": "tool_call", "name": {}, "arguments": []}]}]),
        json!([{"role": "user", "parts": [{"type": "blob", "content": "x".repeat(1000)}]}]),
    ];
    let keys = [
        "langfuse.observation.input",
        "langfuse.observation.output",
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "gen_ai.system_instructions",
        "input.value",
        "output.value",
        "ai.prompt.messages",
        "ai.prompt",
        "ai.response.toolCalls",
        "llm.prompts",
        "llm.input_messages.0.message.contents",
        "llm.input_messages.0.message.tool_calls.0.tool_call",
        "gen_ai.prompt.0.content",
        "gen_ai.completion.0.tool_calls",
    ];
    for key in keys {
        for value in &junk {
            let mut s = span(json!({ key: value }));
            s.kind = SpanKind::Llm;
            s.events.push(SpanEvent {
                name: "gen_ai.choice".into(),
                time_unix_nano: 0,
                attributes: json!({"body": value, "message": value, "index": value})
                    .as_object()
                    .unwrap()
                    .clone(),
                dropped_attributes_count: 0,
            });
            let _ = derive(&s);
        }
    }
}

#[test]
fn blob_content_is_never_copied() {
    let s = span(json!({"gen_ai.input.messages": [{"role": "user", "parts": [
        {"type": "blob", "modality": "image", "mime_type": "image/png", "content": "SECRETBYTES"}]}]}));
    let input = derive(&s).0.unwrap();
    assert!(!serde_json::to_string(&input)
        .unwrap()
        .contains("SECRETBYTES"));
}

mod fixtures {
    use super::*;

    use crate::semconv::test_support::fixture_spans as spans;

    fn named<'a>(spans: &'a [Span], name: &str) -> Vec<&'a Span> {
        spans.iter().filter(|s| s.name == name).collect()
    }

    fn messages(s: &Span) -> (Vec<Message>, Vec<Message>) {
        (
            s.input_messages.clone().expect("input messages"),
            s.output_messages.clone().expect("output messages"),
        )
    }

    const ANSWER: &str = "Order A-17 shipped on 2024-05-02 and arrives Friday. Anything else?";
    const SYSTEM: &str = "You answer questions about orders.";

    fn lookup_call() -> Part {
        call(
            "call_lookup_order_1",
            "lookup_order",
            json!({"order_id": "A-17"}),
        )
    }

    fn lookup_result() -> Part {
        result(
            "call_lookup_order_1",
            json!({"order_id": "A-17", "status": "shipped", "eta": "Friday"}),
        )
    }

    /// The two LLM calls every scenario makes: one that calls `lookup_order`, one that answers
    /// from its result. Both start with the system prompt and the user's question.
    fn assert_tool_round_trip(first: &Span, second: &Span, system: &str) {
        let (input, output) = messages(first);
        assert_eq!(roles(&input), ["system", "user"]);
        assert_eq!(input[0].parts, [text(system)]);
        assert_eq!(roles(&output), ["assistant"]);
        assert_eq!(output[0].parts, [lookup_call()]);

        let (input, output) = messages(second);
        assert_eq!(roles(&input), ["system", "user", "assistant", "tool"]);
        assert_eq!(input[2].parts, [lookup_call()]);
        assert_eq!(input[3].parts, [lookup_result()]);
        assert_eq!(
            output,
            [Message {
                finish_reason: output[0].finish_reason.clone(),
                ..Message::new("assistant", vec![text(ANSWER)])
            }]
        );
    }

    #[test]
    fn otel_manual_gen_ai_parts() {
        let spans = spans("otel_manual");
        let chats = named(&spans, "chat gpt-4o-mini");
        // `gen_ai.system_instructions` becomes the leading system message.
        let system = "You are a support agent. Use tools to answer questions about orders.";
        assert_tool_round_trip(chats[0], chats[1], system);
        assert_eq!(
            chats[0].output_messages.as_ref().unwrap()[0]
                .finish_reason
                .as_deref(),
            Some("tool_calls")
        );
        let agent = named(&spans, "invoke_agent support_agent")[0];
        let (input, output) = messages(agent);
        assert_eq!(
            input.last().unwrap().parts,
            [text("Where is my order A-17?")]
        );
        assert_eq!(output[0].parts, [text(ANSWER)]);
    }

    #[test]
    fn openinference_openai_flattened_messages() {
        let spans = spans("openinference_openai");
        let chats = named(&spans, "ChatCompletion");
        assert_tool_round_trip(chats[0], chats[1], SYSTEM);
        // The tool and agent spans hold plain JSON and text, not conversations.
        assert!(named(&spans, "lookup_order")[0].input_messages.is_none());
        assert!(named(&spans, "support_agent")[0].input_messages.is_none());
    }

    #[test]
    fn openinference_openai_request_and_response_bodies() {
        let spans = spans("openinference_openai");
        let chats = named(&spans, "ChatCompletion");
        for chat in chats {
            let mut bodies_only = chat.clone();
            bodies_only.attributes.retain(|k, _| {
                !k.starts_with("llm.input_messages") && !k.starts_with("llm.output_messages")
            });
            let (input, output) = derive(&bodies_only);
            assert_eq!(input, chat.input_messages);
            let output = output.unwrap();
            // The response body also knows the finish reason.
            assert!(output[0].finish_reason.is_some());
            assert_eq!(
                output[0].parts,
                chat.output_messages.as_ref().unwrap()[0].parts
            );
        }
    }

    #[test]
    fn openllmetry_gen_ai_messages() {
        let spans = spans("openllmetry");
        let chats = named(&spans, "openai.chat");
        assert_tool_round_trip(chats[0], chats[1], SYSTEM);
        // Decorator spans carry `{args, kwargs}`, not messages.
        assert!(named(&spans, "lookup_order.tool")[0]
            .input_messages
            .is_none());
    }

    #[test]
    fn vercel_ai_prompt_messages_and_response() {
        let spans = spans("vercel_ai");
        let calls = named(&spans, "ai.generateText.doGenerate");
        assert_tool_round_trip(calls[0], calls[1], SYSTEM);
        assert_eq!(
            calls[0].output_messages.as_ref().unwrap()[0]
                .finish_reason
                .as_deref(),
            Some("tool-calls")
        );
        let run = named(&spans, "ai.generateText")[0];
        let (input, output) = messages(run);
        assert_eq!(
            input,
            [
                Message::new("system", vec![text(SYSTEM)]),
                Message::new("user", vec![text("Where is my order A-17?")]),
            ]
        );
        assert_eq!(output[0].parts, [text(ANSWER)]);
    }

    #[test]
    fn langfuse_sdk_generations() {
        let spans = spans("langfuse_sdk");
        let plan = named(&spans, "chat-plan")[0];
        let answer = named(&spans, "chat-answer")[0];
        let (input, output) = messages(plan);
        assert_eq!(roles(&input), ["system", "user"]);
        assert_eq!(output[0].parts, [lookup_call()]);
        let (input, output) = messages(answer);
        assert_eq!(roles(&input), ["system", "user", "assistant", "tool"]);
        assert_eq!(input[2].parts, [lookup_call()]);
        assert_eq!(input[3].parts, [lookup_result()]);
        assert_eq!(output, [Message::new("assistant", vec![text(ANSWER)])]);
        for name in ["lookup_order", "support-agent", "notify-customer"] {
            let s = named(&spans, name)[0];
            assert!(s.input_messages.is_none(), "{name}");
            assert!(s.output_messages.is_none(), "{name}");
        }
    }
}

#[test]
fn attributes_the_caller_parsed_are_read_from_its_parse() {
    let s = span(json!({
        "gen_ai.input.messages": GENAI_USER,
        "gen_ai.output.messages": r#"[{"role":"assistant","parts":[{"type":"text","content":"hi"}]}]"#,
    }));
    // A parse that differs from the attribute shows which one was read.
    let given = json!([{"role": "user", "parts": [{"type": "text", "content": "given"}]}]);
    let (input, output) = derive_parsed(&s, Parsed::new(&[("gen_ai.input.messages", &given)]));
    assert_eq!(input.unwrap()[0].parts, [text("given")]);
    assert_eq!(
        output,
        derive(&s).1,
        "keys not given are parsed from the span"
    );
    assert_eq!(derive(&s).0.unwrap()[0].parts, [text("from gen_ai")]);
}
