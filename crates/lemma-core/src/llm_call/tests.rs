use serde_json::{json, Value};

use super::stream::Assembler;
use super::*;
use crate::model::SpanKind;
use crate::semconv::test_support::normalized;

fn call(request: Value, response: Value) -> Call {
    Call {
        request: Some(request),
        response: Some(response),
        status: Some(200),
        ..Call::default()
    }
}

/// SSE text, `data:` lines of these JSON events (named when a name is given).
fn sse(events: &[(Option<&str>, Value)]) -> String {
    let mut out = String::new();
    for (name, data) in events {
        if let Some(name) = name {
            out.push_str(&format!("event: {name}\n"));
        }
        out.push_str(&format!("data: {data}\n\n"));
    }
    out
}

/// Feeds `text` to an assembler in pieces of `size` bytes; checks whether it says it saw the
/// whole answer.
fn assembled(api: Api, text: &str, size: usize) -> (Option<Value>, bool) {
    let mut assembler = Assembler::new(api);
    for piece in text.as_bytes().chunks(size) {
        assembler.feed(piece);
    }
    let seen = assembler.content_seen();
    (assembler.finish(), seen)
}

fn complete(api: Api, text: &str) -> bool {
    let mut assembler = Assembler::new(api);
    assembler.feed(text.as_bytes());
    assembler.complete()
}

#[test]
fn paths_name_the_apis_the_proxy_records() {
    assert_eq!(
        Api::of_path(Provider::OpenAi, "/chat/completions"),
        Some(Api::OpenAiChat)
    );
    assert_eq!(
        Api::of_path(Provider::OpenAi, "responses"),
        Some(Api::OpenAiResponses)
    );
    assert_eq!(
        Api::of_path(Provider::OpenAi, "embeddings"),
        Some(Api::OpenAiEmbeddings)
    );
    assert_eq!(
        Api::of_path(Provider::Anthropic, "v1/messages"),
        Some(Api::AnthropicMessages)
    );
    for other in ["models", "v1/messages/count_tokens", "files", ""] {
        assert_eq!(Api::of_path(Provider::OpenAi, other), None, "{other}");
        assert_eq!(Api::of_path(Provider::Anthropic, other), None, "{other}");
    }
}

#[test]
fn an_openai_chat_call_becomes_an_llm_span_with_usage_and_messages() {
    let c = call(
        json!({"model": "gpt-4o-mini", "temperature": 0.2, "max_tokens": 100,
               "messages": [{"role": "system", "content": "Be brief."},
                            {"role": "user", "content": "Weather in Paris?"}]}),
        json!({"id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini-2024-07-18",
               "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null,
                   "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}}]}}],
               "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150,
                         "prompt_tokens_details": {"cached_tokens": 100},
                         "completion_tokens_details": {"reasoning_tokens": 10}}}),
    );
    assert_eq!(span_name(Api::OpenAiChat, &c), "chat gpt-4o-mini");
    assert_eq!(error(&c), None);
    let a = attributes(Api::OpenAiChat, &c);
    assert_eq!(a["gen_ai.response.id"], "chatcmpl-1");
    assert_eq!(a["gen_ai.response.finish_reasons"], json!(["tool_calls"]));
    assert_eq!(a["gen_ai.request.temperature"], 0.2);
    assert_eq!(a["gen_ai.request.max_tokens"], 100);

    let span = normalized("chat gpt-4o-mini", Value::Object(a));
    assert_eq!(span.kind, SpanKind::Llm);
    assert_eq!(span.model.as_deref(), Some("gpt-4o-mini-2024-07-18"));
    assert_eq!(span.provider.as_deref(), Some("openai"));
    assert_eq!(span.response_id.as_deref(), Some("chatcmpl-1"));
    assert_eq!(span.usage.input_tokens, Some(120));
    assert_eq!(span.usage.output_tokens, Some(30));
    assert_eq!(span.usage.cache_read_tokens, Some(100));
    assert_eq!(span.usage.reasoning_tokens, Some(10));
    let input = span.input_messages.expect("input messages");
    assert_eq!(input.len(), 2);
    let output = serde_json::to_string(&span.output_messages.expect("output messages")).unwrap();
    assert!(
        output.contains("weather") && output.contains("Paris"),
        "{output}"
    );
}

#[test]
fn anthropic_input_counts_include_its_cache_reads_and_writes() {
    let c = call(
        json!({"model": "claude-sonnet-4-5", "max_tokens": 1024, "system": "Be brief.",
               "messages": [{"role": "user", "content": "Hello"}]}),
        json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
               "content": [{"type": "text", "text": "Hi!"}], "stop_reason": "end_turn",
               "usage": {"input_tokens": 10, "output_tokens": 5,
                         "cache_read_input_tokens": 200, "cache_creation_input_tokens": 50}}),
    );
    let a = attributes(Api::AnthropicMessages, &c);
    assert_eq!(a["gen_ai.provider.name"], "anthropic");
    assert_eq!(a["gen_ai.usage.input_tokens"], 260);
    assert_eq!(a["gen_ai.usage.cache_read.input_tokens"], 200);
    assert_eq!(a["gen_ai.usage.cache_write.input_tokens"], 50);
    assert_eq!(a["gen_ai.response.finish_reasons"], json!(["end_turn"]));
    let span = normalized("chat claude-sonnet-4-5", Value::Object(a));
    assert_eq!(span.kind, SpanKind::Llm);
    let output = serde_json::to_string(&span.output_messages.expect("output messages")).unwrap();
    assert!(output.contains("Hi!"), "{output}");
    let input = serde_json::to_string(&span.input_messages.expect("input messages")).unwrap();
    assert!(
        input.contains("Be brief.") && input.contains("Hello"),
        "{input}"
    );
}

#[test]
fn responses_and_embeddings_calls_read_their_own_usage_shapes() {
    let c = call(
        json!({"model": "gpt-4.1", "input": "Say hi", "max_output_tokens": 50}),
        json!({"id": "resp_1", "object": "response", "model": "gpt-4.1", "status": "completed",
               "output": [{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "hi"}]}],
               "usage": {"input_tokens": 8, "output_tokens": 2, "input_tokens_details": {"cached_tokens": 0},
                         "output_tokens_details": {"reasoning_tokens": 0}}}),
    );
    let a = attributes(Api::OpenAiResponses, &c);
    assert_eq!(a["gen_ai.usage.input_tokens"], 8);
    assert_eq!(a["gen_ai.request.max_tokens"], 50);
    assert_eq!(a["gen_ai.response.finish_reasons"], json!(["completed"]));

    let c = call(
        json!({"model": "text-embedding-3-small", "input": ["a", "b"]}),
        json!({"object": "list", "model": "text-embedding-3-small",
               "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2, 0.3]},
                        {"object": "embedding", "index": 1, "embedding": "AAAAAAAAAAAAAAAA"}],
               "usage": {"prompt_tokens": 2, "total_tokens": 2}}),
    );
    let a = attributes(Api::OpenAiEmbeddings, &c);
    assert_eq!(a["gen_ai.operation.name"], "embeddings");
    assert_eq!(a["gen_ai.usage.input_tokens"], 2);
    // The vectors are not kept, only their length.
    let output: Value = serde_json::from_str(a["lemma.output"].as_str().unwrap()).unwrap();
    assert_eq!(output["data"][0]["dimensions"], 3);
    assert_eq!(output["data"][1]["dimensions"], 3);
    assert!(output["data"][0].get("embedding").is_none());
    let span = normalized("embeddings text-embedding-3-small", Value::Object(a));
    assert_eq!(span.kind, SpanKind::Embedding);
}

#[test]
fn a_refused_or_failed_call_says_why() {
    let mut c = call(
        json!({"model": "gpt-4o"}),
        json!({"error": {"message": "Rate limit reached", "type": "rate_limit_error"}}),
    );
    c.status = Some(429);
    assert_eq!(error(&c).as_deref(), Some("429: Rate limit reached"));
    let a = attributes(Api::OpenAiChat, &c);
    assert_eq!(a["error.type"], "rate_limit_error");
    assert_eq!(a["http.response.status_code"], 429);
    assert!(a.get("gen_ai.usage.input_tokens").is_none());

    let c = Call {
        request: Some(json!({"model": "gpt-4o"})),
        failure: Some("the provider did not answer within 600 s".into()),
        ..Call::default()
    };
    assert_eq!(
        error(&c).as_deref(),
        Some("the provider did not answer within 600 s")
    );
    assert_eq!(c.status, None);
    assert_eq!(
        attributes(
            Api::OpenAiChat,
            &Call {
                status: Some(502),
                ..Call::default()
            }
        )["error.type"],
        "502"
    );
}

#[test]
fn a_streamed_chat_adds_up_to_the_unstreamed_answer_whatever_the_chunking() {
    let chunk = |delta: Value, finish: Value| {
        (
            None,
            json!({"id": "chatcmpl-9", "object": "chat.completion.chunk", "model": "gpt-4o",
                       "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}),
        )
    };
    let mut events = vec![
        chunk(json!({"role": "assistant", "content": ""}), Value::Null),
        chunk(json!({"content": "Hel"}), Value::Null),
        chunk(json!({"content": "lo"}), Value::Null),
        chunk(
            json!({"tool_calls": [{"index": 0, "id": "call_7", "type": "function",
                                     "function": {"name": "lookup", "arguments": ""}}]}),
            Value::Null,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"q\":"}}]}),
            Value::Null,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"x\"}"}}]}),
            Value::Null,
        ),
        chunk(json!({}), json!("tool_calls")),
    ];
    events.push((None, json!({"id": "chatcmpl-9", "object": "chat.completion.chunk", "model": "gpt-4o", "choices": [],
                              "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}})));
    let mut text = sse(&events);
    text.push_str("data: [DONE]\n\n");
    let crlf = text.replace('\n', "\r\n");
    let mut answers = Vec::new();
    for (text, size) in [(&text, 1), (&text, 7), (&text, 4096), (&crlf, 3)] {
        let (response, seen) = assembled(Api::OpenAiChat, text, size);
        assert!(seen);
        answers.push(response.expect("a response"));
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:#?}");
    assert!(complete(Api::OpenAiChat, &text));
    let cut = &text[..text.find("\"lookup\"").unwrap()];
    assert!(
        !complete(Api::OpenAiChat, cut),
        "a stream cut short is not complete"
    );
    let r = &answers[0];
    assert_eq!(r["choices"][0]["message"]["content"], "Hello");
    assert_eq!(
        r["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"],
        "{\"q\":\"x\"}"
    );
    assert_eq!(r["choices"][0]["message"]["tool_calls"][0]["id"], "call_7");
    assert_eq!(r["choices"][0]["finish_reason"], "tool_calls");
    let a = attributes(
        Api::OpenAiChat,
        &call(json!({"model": "gpt-4o"}), r.clone()),
    );
    assert_eq!(a["gen_ai.usage.input_tokens"], 9);
    assert_eq!(a["gen_ai.response.id"], "chatcmpl-9");
}

#[test]
fn a_streamed_anthropic_message_adds_up_with_its_final_usage() {
    let events = [
        (
            Some("message_start"),
            json!({"type": "message_start", "message": {"id": "msg_5", "type": "message", "role": "assistant",
            "model": "claude-haiku-4-5", "content": [], "stop_reason": null,
            "usage": {"input_tokens": 20, "output_tokens": 1, "cache_read_input_tokens": 5}}}),
        ),
        (
            Some("content_block_start"),
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
        (Some("ping"), json!({"type": "ping"})),
        (
            Some("content_block_delta"),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Let me "}}),
        ),
        (
            Some("content_block_delta"),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "check."}}),
        ),
        (
            Some("content_block_stop"),
            json!({"type": "content_block_stop", "index": 0}),
        ),
        (
            Some("content_block_start"),
            json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "search", "input": {}}}),
        ),
        (
            Some("content_block_delta"),
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"query\": \"ru"}}),
        ),
        (
            Some("content_block_delta"),
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "st\"}"}}),
        ),
        (
            Some("content_block_stop"),
            json!({"type": "content_block_stop", "index": 1}),
        ),
        (
            Some("message_delta"),
            json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": 42}}),
        ),
        (Some("message_stop"), json!({"type": "message_stop"})),
    ];
    assert!(complete(Api::AnthropicMessages, &sse(&events)));
    assert!(!complete(Api::AnthropicMessages, &sse(&events[..9])));
    let (response, seen) = assembled(Api::AnthropicMessages, &sse(&events), 5);
    assert!(seen);
    let r = response.expect("a message");
    assert_eq!(r["content"][0]["text"], "Let me check.");
    assert_eq!(r["content"][1]["input"], json!({"query": "rust"}));
    assert_eq!(r["stop_reason"], "tool_use");
    let a = attributes(
        Api::AnthropicMessages,
        &call(json!({"model": "claude-haiku-4-5"}), r),
    );
    assert_eq!(a["gen_ai.usage.output_tokens"], 42);
    assert_eq!(a["gen_ai.usage.input_tokens"], 25);
    assert_eq!(a["gen_ai.response.id"], "msg_5");
}

#[test]
fn a_streamed_response_is_its_last_response_object_and_errors_are_answers() {
    let events = [
        (
            Some("response.created"),
            json!({"type": "response.created", "response": {"id": "resp_2", "status": "in_progress", "output": []}}),
        ),
        (
            Some("response.output_text.delta"),
            json!({"type": "response.output_text.delta", "delta": "Hi"}),
        ),
        (
            Some("response.completed"),
            json!({"type": "response.completed", "response": {"id": "resp_2", "status": "completed", "model": "gpt-4.1",
            "output": [{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hi"}]}],
            "usage": {"input_tokens": 3, "output_tokens": 1}}}),
        ),
    ];
    let (response, seen) = assembled(Api::OpenAiResponses, &sse(&events), 11);
    assert!(seen);
    assert_eq!(response.unwrap()["status"], "completed");

    let events = [
        (
            Some("message_start"),
            json!({"type": "message_start", "message": {"id": "msg_6", "role": "assistant", "content": [], "usage": {"input_tokens": 1}}}),
        ),
        (
            Some("error"),
            json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
        ),
    ];
    let (response, seen) = assembled(Api::AnthropicMessages, &sse(&events), 64);
    assert!(!seen);
    let response = response.unwrap();
    assert_eq!(response["error"]["message"], "Overloaded");
}

#[test]
fn a_stream_of_nothing_usable_assembles_to_nothing() {
    let (response, seen) = assembled(Api::OpenAiChat, ": keep-alive\n\ndata: not json\n\n", 4);
    assert_eq!(response, None);
    assert!(!seen);
    // An event past the size limit is skipped; the next ones are still read.
    let mut assembler = Assembler::new(Api::OpenAiChat);
    assembler.feed(b"data: ");
    assembler.feed(&vec![b'x'; 9 * 1024 * 1024]);
    assembler.feed(b"\n\n");
    assembler.feed(
        sse(&[(
            None,
            json!({"id": "c", "choices": [{"index": 0, "delta": {"content": "ok"}}]}),
        )])
        .as_bytes(),
    );
    assert_eq!(
        assembler.finish().unwrap()["choices"][0]["message"]["content"],
        "ok"
    );
}
