use serde_json::json;

use super::test_support::normalized as span;
use super::*;
use crate::model::{PayloadState, Span, SpanEvent, SpanKind, StatusCode};

#[test]
fn genai_chat_span() {
    let s = span(
        "chat gpt-4o-mini",
        json!({
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
            "gen_ai.response.id": "r1",
            "gen_ai.usage.input_tokens": 50,
            "gen_ai.usage.output_tokens": 12,
            "gen_ai.usage.cache_read.input_tokens": 10,
            "gen_ai.usage.cache_creation.input_tokens": 5,
            "gen_ai.usage.reasoning.output_tokens": 3,
            "gen_ai.input.messages": "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"content\":\"hi\"}]}]",
            "gen_ai.output.messages": "[{\"role\":\"assistant\"",
        }),
    );
    assert_eq!(s.kind, SpanKind::Llm);
    assert_eq!(s.model.as_deref(), Some("gpt-4o-mini-2024-07-18"));
    assert_eq!(s.provider.as_deref(), Some("openai"));
    assert_eq!(s.response_id.as_deref(), Some("r1"));
    assert_eq!(s.usage.input_tokens, Some(50));
    assert_eq!(s.usage.output_tokens, Some(12));
    assert_eq!(s.usage.total_tokens, Some(62));
    assert_eq!(s.usage.cache_read_tokens, Some(10));
    assert_eq!(s.usage.cache_write_tokens, Some(5));
    assert_eq!(s.usage.reasoning_tokens, Some(3));
    assert_eq!(s.input.unwrap()[0]["role"], "user");
    // Truncated JSON is kept as the string it was.
    assert_eq!(s.output, Some(json!("[{\"role\":\"assistant\"")));
    // Raw attributes stay.
    assert_eq!(s.attributes["gen_ai.usage.input_tokens"], 50);
}

#[test]
fn cache_write_new_spelling_wins_over_old() {
    let s = span(
        "chat",
        json!({"gen_ai.operation.name": "chat",
               "gen_ai.usage.cache_write.input_tokens": 7,
               "gen_ai.usage.cache_creation.input_tokens": 5,
               "gen_ai.usage.cache_creation_input_tokens": 3}),
    );
    assert_eq!(s.usage.cache_write_tokens, Some(7));
    let old = span(
        "chat",
        json!({"gen_ai.operation.name": "chat", "gen_ai.usage.cache_creation_input_tokens": 3}),
    );
    assert_eq!(old.usage.cache_write_tokens, Some(3));
}

#[test]
fn genai_tool_span_uses_arguments_as_input() {
    let s = span(
        "execute_tool lookup_order",
        json!({
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "lookup_order",
            "gen_ai.tool.call.id": "call_1",
            "gen_ai.tool.call.arguments": "{\"order_id\": \"A-17\"}",
            "gen_ai.tool.call.result": "{\"status\": \"shipped\"}",
        }),
    );
    assert_eq!(s.kind, SpanKind::Tool);
    assert_eq!(s.tool_name.as_deref(), Some("lookup_order"));
    assert_eq!(s.tool_call_id.as_deref(), Some("call_1"));
    assert_eq!(s.tool_args, Some(json!({"order_id": "A-17"})));
    assert_eq!(s.input, Some(json!({"order_id": "A-17"})));
    assert_eq!(s.output, Some(json!({"status": "shipped"})));
}

#[test]
fn tool_without_name_falls_back_to_span_name() {
    let s = span("search", json!({"gen_ai.operation.name": "execute_tool"}));
    assert_eq!(s.tool_name.as_deref(), Some("search"));
}

#[test]
fn operation_names_map_to_kinds() {
    for (op, kind) in [
        ("invoke_agent", SpanKind::Agent),
        ("create_agent", SpanKind::Agent),
        ("text_completion", SpanKind::Llm),
        ("generate_content", SpanKind::Llm),
        ("embeddings", SpanKind::Embedding),
        ("retrieval", SpanKind::Retrieval),
        ("agent_step", SpanKind::Chain),
        ("rerank", SpanKind::Reranker),
    ] {
        assert_eq!(
            span("x", json!({"gen_ai.operation.name": op})).kind,
            kind,
            "{op}"
        );
    }
    assert_eq!(
        span("x", json!({"gen_ai.operation.name": "something_new"})).kind,
        SpanKind::Span
    );
}

#[test]
fn lemma_attributes_win_over_genai() {
    let s = span(
        "ai.agent.run",
        json!({
            "lemma.agent.name": "planner",
            "gen_ai.agent.name": "other",
            "gen_ai.operation.name": "invoke_agent",
            "lemma.thread_id": "t-1",
            "gen_ai.conversation.id": "conv-9",
            "lemma.user_id": "u-1",
            "user.id": "u-2",
            "lemma.environment": "prod",
            "lemma.tags": ["a", "b"],
            "lemma.metadata.tier": "gold",
            "ai.agent.input": "{\"question\":\"q\"}",
            "ai.agent.output": "plain answer",
        }),
    );
    assert_eq!(s.kind, SpanKind::Agent);
    assert_eq!(s.agent_name.as_deref(), Some("planner"));
    assert_eq!(s.thread_id.as_deref(), Some("t-1"));
    assert_eq!(s.user_id.as_deref(), Some("u-1"));
    assert_eq!(s.environment.as_deref(), Some("prod"));
    assert_eq!(s.tags, vec!["a", "b"]);
    assert_eq!(s.metadata["tier"], "gold");
    assert_eq!(s.input, Some(json!({"question": "q"})));
    assert_eq!(s.output, Some(json!("plain answer")));
}

#[test]
fn lemma_run_span_name_alone_is_an_agent() {
    assert_eq!(span("ai.agent.run", json!({})).kind, SpanKind::Agent);
    assert_eq!(
        span("x", json!({"lemma.span.kind": "retrieval"})).kind,
        SpanKind::Retrieval
    );
}

#[test]
fn a_root_agent_span_of_lemmas_sdks_names_the_run_after_its_agent() {
    let root = span("ai.agent.run", json!({"lemma.agent.name": "support-agent"}));
    assert_eq!(root.trace_name.as_deref(), Some("support-agent"));
    let mut sub =
        super::test_support::raw("ai.agent.run", json!({"lemma.agent.name": "researcher"}));
    sub.parent_span_id = Some("00000000000000aa".into());
    super::normalize(&mut sub);
    assert_eq!(sub.trace_name, None, "a sub-agent does not name the run");
    let other = span("handle", json!({"lemma.agent.name": "support-agent"}));
    assert_eq!(
        other.trace_name, None,
        "a span its app named keeps naming the run"
    );
}

#[test]
fn thread_falls_back_to_conversation_then_session() {
    let s = span(
        "x",
        json!({"gen_ai.conversation.id": "c", "session.id": "s"}),
    );
    assert_eq!(s.thread_id.as_deref(), Some("c"));
    assert_eq!(s.session_id.as_deref(), Some("s"));
    let s = span("x", json!({"session.id": "s"}));
    assert_eq!(s.thread_id.as_deref(), Some("s"));
}

#[test]
fn environment_from_resource() {
    let mut s = Span {
        name: "x".into(),
        ..Span::default()
    };
    s.resource
        .insert("deployment.environment.name".into(), json!("staging"));
    normalize(&mut s);
    assert_eq!(s.environment.as_deref(), Some("staging"));
}

#[test]
fn legacy_flattened_prompt_and_completion() {
    let s = span(
        "openai.chat",
        json!({
            "llm.request.type": "chat",
            "gen_ai.system": "openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.prompt_tokens": 11,
            "gen_ai.usage.completion_tokens": 4,
            "llm.usage.total_tokens": 15,
            // Sparse and out of order: index 2 before index 0, no index 1.
            "gen_ai.prompt.2.role": "user",
            "gen_ai.prompt.2.content": "second",
            "gen_ai.prompt.0.role": "system",
            "gen_ai.prompt.0.content": "[{\"type\":\"text\",\"text\":\"be brief\"}]",
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.tool_calls.0.name": "search",
            "gen_ai.completion.0.tool_calls.0.arguments": "{\"q\":\"x\"}",
        }),
    );
    assert_eq!(s.kind, SpanKind::Llm);
    assert_eq!(s.provider.as_deref(), Some("openai"));
    assert_eq!(s.model.as_deref(), Some("gpt-4o"));
    assert_eq!(s.usage.input_tokens, Some(11));
    assert_eq!(s.usage.output_tokens, Some(4));
    assert_eq!(s.usage.total_tokens, Some(15));
    let input = s.input.unwrap();
    assert_eq!(input.as_array().unwrap().len(), 2);
    assert_eq!(input[0]["role"], "system");
    assert_eq!(input[0]["content"][0]["text"], "be brief");
    assert_eq!(input[1]["content"], "second");
    assert_eq!(s.output.unwrap()[0]["tool_calls"][0]["name"], "search");
}

#[test]
fn current_genai_wins_over_legacy_keys() {
    let s = span(
        "chat",
        json!({
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "anthropic",
            "gen_ai.system": "Anthropic",
            "gen_ai.usage.input_tokens": 9,
            "gen_ai.usage.prompt_tokens": 8,
        }),
    );
    assert_eq!(s.provider.as_deref(), Some("anthropic"));
    assert_eq!(s.usage.input_tokens, Some(9));
}

#[test]
fn legacy_content_events() {
    let mut s = Span {
        name: "chat".into(),
        events: vec![
            SpanEvent {
                name: "gen_ai.user.message".into(),
                time_unix_nano: 1,
                attributes: json!({"content": "hello"}).as_object().unwrap().clone(),
                dropped_attributes_count: 0,
            },
            SpanEvent {
                name: "gen_ai.choice".into(),
                time_unix_nano: 2,
                attributes: json!({"message": "{\"content\":\"hi\"}", "finish_reason": "stop"})
                    .as_object()
                    .unwrap()
                    .clone(),
                dropped_attributes_count: 0,
            },
        ],
        ..Span::default()
    };
    s.attributes.insert("gen_ai.system".into(), json!("openai"));
    normalize(&mut s);
    assert_eq!(s.input, Some(json!([{"role": "user", "content": "hello"}])));
    assert_eq!(s.output.unwrap()[0]["message"]["content"], "hi");
}

#[test]
fn legacy_prompt_event() {
    let mut s = Span {
        name: "chat".into(),
        events: vec![SpanEvent {
            name: "gen_ai.content.prompt".into(),
            time_unix_nano: 1,
            attributes: json!({"gen_ai.prompt": "[{\"role\":\"user\",\"content\":\"x\"}]"})
                .as_object()
                .unwrap()
                .clone(),
            dropped_attributes_count: 0,
        }],
        ..Span::default()
    };
    normalize(&mut s);
    assert_eq!(s.input.unwrap()[0]["content"], "x");
}

#[test]
fn unknown_span_with_model_and_usage_is_llm() {
    let s = span(
        "custom",
        json!({"gen_ai.request.model": "m", "gen_ai.usage.input_tokens": 1}),
    );
    assert_eq!(s.kind, SpanKind::Llm);
}

#[test]
fn status_is_kept_from_otlp() {
    let mut s = Span {
        status: StatusCode::Error,
        status_message: Some("boom".into()),
        ..Span::default()
    };
    normalize(&mut s);
    assert_eq!(s.status, StatusCode::Error);
    assert_eq!(s.status_message.as_deref(), Some("boom"));
}

#[test]
fn unflatten_nests_five_levels() {
    let attrs = json!({
        "llm.output_messages.0.message.contents.1.tool_call.function.arguments": "{}",
        "llm.output_messages.0.message.role": "assistant",
    });
    let v = unflatten(attrs.as_object().unwrap(), "llm.output_messages").unwrap();
    assert_eq!(v[0]["message"]["role"], "assistant");
    assert_eq!(
        v[0]["message"]["contents"][0]["tool_call"]["function"]["arguments"],
        "{}"
    );
}

#[test]
fn redacted_truncated_and_absent_payloads_are_told_apart() {
    let s = span(
        "ChatCompletion",
        json!({"openinference.span.kind": "LLM", "input.value": "__REDACTED__",
               "output.value": "{\"choices\": [{\"message\": {\"content\": \"cut he"}),
    );
    assert_eq!(s.input_state, Some(PayloadState::Redacted));
    assert_eq!(s.output_state, Some(PayloadState::Truncated));
    // The raw text is kept either way.
    assert_eq!(s.input, Some(json!("__REDACTED__")));
    let whole = span(
        "task",
        json!({"traceloop.span.kind": "task", "traceloop.entity.input": "{\"a\": 1}"}),
    );
    assert_eq!((whole.input_state, whole.output_state), (None, None));
    assert_eq!(whole.output, None, "absent is simply no payload");
    let text = span(
        "chat",
        json!({"gen_ai.operation.name": "chat", "gen_ai.input.messages": "[not json, just text"}),
    );
    assert_eq!(text.input_state, Some(PayloadState::Truncated));
}

#[test]
fn unknown_operations_keep_their_name_and_fall_back_to_span() {
    let s = span(
        "transcribe",
        json!({"gen_ai.operation.name": "transcription", "gen_ai.provider.name": "openai"}),
    );
    assert_eq!(s.operation.as_deref(), Some("transcription"));
    assert_eq!(s.kind, SpanKind::Span);
    let known = span("chat", json!({"gen_ai.operation.name": "chat"}));
    assert_eq!(known.operation.as_deref(), Some("chat"));
}

#[test]
fn provider_names_use_one_vocabulary_and_the_raw_value_stays() {
    let oi = span(
        "ChatCompletion",
        json!({"openinference.span.kind": "LLM", "llm.provider": "xai"}),
    );
    assert_eq!(oi.provider.as_deref(), Some("x_ai"));
    assert_eq!(oi.attributes["llm.provider"], "xai");
    let vercel = span(
        "ai.generateText.doGenerate",
        json!({"ai.operationId": "ai.generateText.doGenerate", "ai.model.provider": "openai.chat"}),
    );
    assert_eq!(vercel.provider.as_deref(), Some("openai"));
}

#[test]
fn absurd_token_counts_are_absent_and_never_priced() {
    let absurd = "18446744073709551615";
    let s = span(
        "chat",
        json!({
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.input_tokens": absurd,
            "gen_ai.usage.output_tokens": 1_000_000_000_001u64,
            "gen_ai.usage.cache_read.input_tokens": 1_000_000_000_000u64,
        }),
    );
    assert_eq!(s.usage.input_tokens, None);
    assert_eq!(s.usage.output_tokens, None);
    assert_eq!(s.usage.total_tokens, None);
    assert_eq!(s.usage.cache_read_tokens, Some(crate::model::MAX_TOKENS));
    assert_eq!(s.attributes["gen_ai.usage.input_tokens"], absurd);
    let mut priced = s.clone();
    crate::pricing::price_span(&mut priced, crate::pricing::PriceTable::builtin());
    assert_eq!(priced.cost_usd, None);

    // A weaker convention's sane count fills in for a stronger one's absurd count.
    let s = span(
        "chat",
        json!({
            "gen_ai.operation.name": "chat",
            "gen_ai.usage.input_tokens": absurd,
            "gen_ai.usage.prompt_tokens": 12,
        }),
    );
    assert_eq!(s.usage.input_tokens, Some(12));
}

#[test]
fn every_value_a_span_is_given_nests_at_most_max_depth() {
    use crate::value::{deeper_than, MAX_DEPTH};
    let deep = format!("{}1{}", "[".repeat(127), "]".repeat(127));
    // JSON found inside JSON: each within the bound alone, deeper together.
    let inner = format!(
        "{}1{}",
        "[".repeat(MAX_DEPTH - 1),
        "]".repeat(MAX_DEPTH - 1)
    );
    let outer = json!([[{"content": inner}]]).to_string();
    let s = span(
        "chat",
        json!({
            "lemma.input": deep,
            "lemma.output": outer,
            "lemma.metadata.x": deep,
            "gen_ai.prompt.0.role": "user",
            "gen_ai.prompt.0.content": inner,
        }),
    );
    assert_eq!(s.input, Some(json!(deep)));
    assert_eq!(s.metadata["x"], json!(deep));
    let values = [&s.input, &s.output, &s.tool_args]
        .into_iter()
        .flatten()
        .chain(s.metadata.values())
        .chain(s.attributes.values());
    for v in values {
        assert!(!deeper_than(v, MAX_DEPTH), "{v}");
    }
}
