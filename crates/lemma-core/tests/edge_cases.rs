//! The normaliser's edge cases, one test each, numbered as in the conventions reference
//! (Part A §A.9). The convention modules test their own rules in detail; these pin the behaviour
//! a user relies on end to end, from OTLP to the normalised span and run.

use lemma_core::otlp::{decode_trace_request, extract_spans, Encoding};
use lemma_core::run::{summarize, SpanDigest};
use lemma_core::{semconv, Part, PayloadState, Span, SpanKind};
use serde_json::{json, Value};

fn span(name: &str, attrs: Value) -> Span {
    let mut s = Span {
        name: name.into(),
        attributes: attrs.as_object().unwrap().clone(),
        ..Span::default()
    };
    semconv::normalize(&mut s);
    s
}

fn tool_calls(s: &Span) -> Vec<(String, Option<Value>)> {
    s.output_messages
        .iter()
        .flatten()
        .flat_map(|m| &m.parts)
        .filter_map(|p| match p {
            Part::ToolCall {
                name, arguments, ..
            } => Some((name.clone(), arguments.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn a9_01_json_in_strings_or_structured_values_read_the_same() {
    let messages = json!([{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]);
    let structured = span(
        "chat",
        json!({"gen_ai.operation.name": "chat", "gen_ai.input.messages": messages}),
    );
    let string = span(
        "chat",
        json!({"gen_ai.operation.name": "chat", "gen_ai.input.messages": messages.to_string()}),
    );
    assert_eq!(structured.input_messages, string.input_messages);
    assert!(structured.input_messages.is_some());
    // Invalid JSON never fails: the raw string is kept.
    let bad = span(
        "task",
        json!({"traceloop.span.kind": "task", "traceloop.entity.output": "{\"a\": [1, 2"}),
    );
    assert_eq!(bad.output, Some(json!("{\"a\": [1, 2")));
}

#[test]
fn a9_02_double_encoded_tool_arguments_are_parsed() {
    let inner = json!({"city": "Paris"}).to_string();
    let args = Value::String(inner).to_string(); // a JSON string whose content is JSON
    let output = json!([{"role": "assistant", "finish_reason": "tool_call", "parts": [
        {"type": "tool_call", "id": "c1", "name": "weather", "arguments": args}]}]);
    let s = span(
        "chat",
        json!({"gen_ai.operation.name": "chat", "gen_ai.output.messages": output.to_string()}),
    );
    assert_eq!(
        tool_calls(&s),
        [("weather".to_string(), Some(json!({"city": "Paris"})))]
    );
}

#[test]
fn a9_03_tool_results_under_result_or_response_with_stray_spaces_in_ids() {
    for key in ["response", "result"] {
        let input = json!([{"role": "tool", "parts": [
            {"type": "tool_call_response", "id": " call_1", key: {"temp": 21}}]}]);
        let s = span(
            "chat",
            json!({"gen_ai.operation.name": "chat", "gen_ai.input.messages": input}),
        );
        let part = &s.input_messages.unwrap()[0].parts[0];
        assert_eq!(
            part,
            &Part::ToolCallResponse {
                id: Some("call_1".into()),
                response: json!({"temp": 21})
            },
            "{key}"
        );
    }
}

#[test]
fn a9_04_flattened_keys_sparse_out_of_order_and_deep() {
    let s = span(
        "ChatCompletion",
        json!({
            "openinference.span.kind": "LLM",
            "llm.input_messages.3.message.role": "user",
            "llm.input_messages.3.message.content": "second",
            "llm.input_messages.1.message.role": "system",
            "llm.input_messages.1.message.content": "first",
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "lookup",
            "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": "{\"id\": 7}",
        }),
    );
    let roles: Vec<_> = s
        .input_messages
        .as_ref()
        .unwrap()
        .iter()
        .map(|m| m.role.clone())
        .collect();
    assert_eq!(roles, ["system", "user"]);
    assert_eq!(
        tool_calls(&s),
        [("lookup".to_string(), Some(json!({"id": 7})))]
    );
}

#[test]
fn a9_05_dropped_attribute_counts_are_surfaced() {
    let body = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c",
      "spanId":"eee19b7ec3c1b174","name":"openai.chat","droppedAttributesCount":37,"droppedEventsCount":2}]}]}]}"#;
    let spans = extract_spans(decode_trace_request(body, Encoding::Json).unwrap()).spans;
    assert_eq!(spans[0].dropped_attributes_count, 37);
    assert_eq!(spans[0].dropped_events_count, 2);
}

#[test]
fn a9_06_redacted_truncated_and_absent_are_told_apart() {
    let s = span(
        "ChatCompletion",
        json!({"openinference.span.kind": "LLM", "input.value": "__REDACTED__",
               "output.value": "{\"id\": \"chatcmpl-1\", \"choices\": [{\"mess"}),
    );
    assert_eq!(s.input_state, Some(PayloadState::Redacted));
    assert_eq!(s.output_state, Some(PayloadState::Truncated));
    let absent = span("ChatCompletion", json!({"openinference.span.kind": "LLM"}));
    assert_eq!((absent.input.as_ref(), absent.input_state), (None, None));
}

#[test]
fn a9_07_content_in_span_events() {
    let mut s = Span {
        name: "chat".into(),
        attributes: json!({"gen_ai.system": "openai"})
            .as_object()
            .unwrap()
            .clone(),
        events: vec![lemma_core::SpanEvent {
            name: "gen_ai.content.prompt".into(),
            time_unix_nano: 1,
            attributes: json!({"gen_ai.prompt": "[{\"role\": \"user\", \"content\": \"hello\"}]"})
                .as_object()
                .unwrap()
                .clone(),
            dropped_attributes_count: 0,
        }],
        ..Span::default()
    };
    semconv::normalize(&mut s);
    let input = s.input_messages.expect("messages from the event");
    assert_eq!(
        input[0].parts,
        [Part::Text {
            content: "hello".into()
        }]
    );
    // Content carried by OTLP log records is joined by `lemma_core::logs` (tested there and end
    // to end in the server's tests).
}

#[test]
fn a9_08_dual_emission_follows_one_precedence() {
    // OpenInference dual-emitting gen_ai.*: the current GenAI keys win, OpenInference fills gaps.
    let s = span(
        "ChatCompletion",
        json!({"openinference.span.kind": "LLM", "llm.model_name": "oi-model",
               "llm.token_count.prompt": 5, "llm.token_count.completion": 1,
               "gen_ai.operation.name": "chat", "gen_ai.request.model": "genai-model"}),
    );
    assert_eq!(s.model.as_deref(), Some("genai-model"));
    assert_eq!(
        (s.usage.input_tokens, s.usage.output_tokens),
        (Some(5), Some(1))
    );
    // Lemma's own attributes beat every convention.
    let s = span(
        "x",
        json!({"lemma.span.kind": "tool", "openinference.span.kind": "LLM", "gen_ai.operation.name": "chat"}),
    );
    assert_eq!(s.kind, SpanKind::Tool);
}

#[test]
fn a9_09_token_semantics_cache_spellings_and_aggregates() {
    for key in [
        "gen_ai.usage.cache_write.input_tokens",
        "gen_ai.usage.cache_creation.input_tokens",
        "gen_ai.usage.cache_creation_input_tokens",
    ] {
        let s = span(
            "chat",
            json!({"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 100, key: 40}),
        );
        assert_eq!(s.usage.cache_write_tokens, Some(40), "{key}");
        assert_eq!(
            s.usage.input_tokens,
            Some(100),
            "cache is part of input, not added"
        );
    }
    // Langfuse lists cached tokens apart from input; Lemma adds them back once.
    let lf = span(
        "gen",
        json!({"langfuse.observation.type": "generation",
               "langfuse.observation.usage_details": "{\"input\": 60, \"cache_read_input_tokens\": 40, \"output\": 5}"}),
    );
    assert_eq!(
        (lf.usage.input_tokens, lf.usage.cache_read_tokens),
        (Some(100), Some(40))
    );
    // An agent root repeating its calls' usage, and one call recorded by two instrumentations,
    // are counted once in the run.
    let mut root = span(
        "ai.generateText",
        json!({"ai.operationId": "ai.generateText",
        "ai.usage.promptTokens": 130, "ai.usage.completionTokens": 32}),
    );
    root.span_id = "r".into();
    let call = |id: &str, i: u64| {
        let mut s = span(
            "chat",
            json!({"gen_ai.operation.name": "chat", "gen_ai.response.id": "resp-1",
            "gen_ai.usage.input_tokens": i, "gen_ai.usage.output_tokens": 32}),
        );
        s.span_id = id.into();
        s.parent_span_id = Some("r".into());
        s
    };
    let (a, b) = (call("a", 130), call("b", 130));
    let digests: Vec<SpanDigest> = [&root, &a, &b].into_iter().map(SpanDigest::from).collect();
    let run = summarize("t", &digests);
    assert_eq!((run.input_tokens, run.output_tokens), (130, 32));
}

#[test]
fn a9_10_provider_vocabularies_map_to_one() {
    for (key, raw) in [
        ("gen_ai.provider.name", "x_ai"),
        ("llm.provider", "xai"),
        ("gen_ai.system", "xAI"),
    ] {
        let mut attrs = json!({key: raw});
        if key == "llm.provider" {
            attrs["openinference.span.kind"] = json!("LLM");
        }
        let s = span("chat", attrs);
        assert_eq!(s.provider.as_deref(), Some("x_ai"), "{key}={raw}");
        assert_eq!(s.attributes[key], raw, "the raw value stays");
    }
}

#[test]
fn a9_11_tool_parameters_schema_is_not_taken_for_arguments() {
    let schema = span(
        "lookup",
        json!({"openinference.span.kind": "TOOL", "tool.name": "lookup",
               "tool.parameters": "{\"type\": \"object\", \"properties\": {\"id\": {\"type\": \"string\"}}}"}),
    );
    assert_eq!(schema.tool_args, None);
    let args = span(
        "lookup",
        json!({"openinference.span.kind": "TOOL", "tool.name": "lookup",
               "tool.parameters": "{\"id\": \"A-17\"}", "input.value": "{\"id\": \"A-18\"}"}),
    );
    assert_eq!(
        args.tool_args,
        Some(json!({"id": "A-18"})),
        "input.value is preferred"
    );
}

#[test]
fn a9_12_kind_case_and_unknown_operations() {
    assert_eq!(
        span("x", json!({"openinference.span.kind": "llm"})).kind,
        SpanKind::Llm
    );
    let unknown = span("x", json!({"gen_ai.operation.name": "speech"}));
    assert_eq!(unknown.kind, SpanKind::Span);
    assert_eq!(unknown.operation.as_deref(), Some("speech"));
}

#[test]
fn a9_13_agent_names_come_from_attributes_not_span_names() {
    // Vercel v7 puts the model id in the root span's name.
    let s = span(
        "invoke_agent gpt-4o-mini",
        json!({"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "support-agent"}),
    );
    assert_eq!(s.agent_name.as_deref(), Some("support-agent"));
}

#[test]
fn a9_14_children_before_parents_and_a_missing_root() {
    let mut child = span("chat", json!({"gen_ai.operation.name": "chat"}));
    child.span_id = "c".into();
    child.parent_span_id = Some("never-arrives".into());
    let run = summarize("t", &[SpanDigest::from(&child)]);
    assert!(!run.has_root);
    assert_eq!(run.root_span_id.as_deref(), Some("c"));
}
