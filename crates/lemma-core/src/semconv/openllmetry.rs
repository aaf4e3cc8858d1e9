//! OpenLLMetry (Traceloop): the SDK's decorator spans (`traceloop.span.kind`,
//! `traceloop.entity.*`), workflow context (`traceloop.workflow.name`,
//! `traceloop.association.properties.*`), prompt registry keys (`traceloop.prompt.*`), and the
//! `llm.*` keys of its first releases. Its current LLM spans use `gen_ai.*` (read by the GenAI
//! readers).

use serde_json::{Map, Value};

use super::genai_legacy::flattened_messages;
use super::{Attrs, Fields};
use crate::model::{SpanKind, Usage};
use crate::value::{as_text, lenient_json};

const ASSOCIATION: &str = "traceloop.association.properties.";

pub fn read(a: &Attrs) -> Fields {
    let raw_kind = a.text("traceloop.span.kind");
    let role = raw_kind.as_deref().map(str::to_ascii_lowercase);
    let role = role.as_deref();
    let entity = a.text("traceloop.entity.name");
    let input = entity_value(a, "traceloop.entity.input");
    let tool_like = matches!(role, Some("tool" | "handoff"));
    Fields {
        kind: role.and_then(span_kind),
        operation: raw_kind,
        model: a.text_any(&["llm.response.model", "llm.request.model"]),
        provider: a.text("llm.vendor"),
        response_id: a.text("llm.response.id"),
        usage: Usage {
            input_tokens: a.u64("llm.usage.prompt_tokens"),
            output_tokens: a.u64("llm.usage.completion_tokens"),
            ..Usage::default()
        },
        tool_name: match role {
            Some("tool") => entity.clone(),
            // The GenAI reader names it after the target agent when the span says which.
            Some("handoff") => Some("handoff".into()),
            _ => None,
        },
        tool_args: input.as_ref().filter(|_| tool_like).map(call_arguments),
        input: input.or_else(|| flattened_messages(a, "llm.prompts")),
        output: entity_value(a, "traceloop.entity.output")
            .or_else(|| flattened_messages(a, "llm.completions")),
        agent_name: entity.filter(|_| role == Some("agent")),
        user_id: a.text(&format!("{ASSOCIATION}user_id")),
        session_id: a.text(&format!("{ASSOCIATION}session_id")),
        metadata: metadata(a),
        ..Fields::default()
    }
}

/// `traceloop.span.kind` to kind; `unknown` and anything else claim no kind.
fn span_kind(role: &str) -> Option<SpanKind> {
    Some(match role {
        "workflow" | "task" => SpanKind::Chain,
        "agent" => SpanKind::Agent,
        "tool" | "handoff" => SpanKind::Tool,
        _ => return None,
    })
}

/// The decorators record values JSON-encoded, so a returned string arrives quoted
/// (`"\"Shipped.\""`); it is unquoted. Objects and arrays are parsed leniently.
fn entity_value(a: &Attrs, key: &str) -> Option<Value> {
    match a.get(key)? {
        Value::String(s) if s.starts_with('"') => Some(
            serde_json::from_str::<String>(s)
                .map(Value::String)
                .unwrap_or_else(|_| Value::String(s.clone())),
        ),
        _ => a.json(key),
    }
}

/// The decorators record a call as `{"args": [...], "kwargs": {...}}`. Tools are called with
/// keyword arguments, so those are the arguments; with positional ones the whole record is
/// kept. Anything else (including JSON cut short by the length limit) is kept as it is.
fn call_arguments(input: &Value) -> Value {
    let positional_empty = |m: &Map<String, Value>| match m.get("args") {
        None => true,
        Some(Value::Array(args)) => args.is_empty(),
        Some(_) => false,
    };
    match input {
        Value::Object(m) if positional_empty(m) => match m.get("kwargs") {
            Some(kwargs @ Value::Object(_)) => kwargs.clone(),
            _ => input.clone(),
        },
        _ => input.clone(),
    }
}

/// Association properties other than the session and user, then the workflow, entity and
/// prompt-registry keys. A property the application set is never overwritten.
fn metadata(a: &Attrs) -> Map<String, Value> {
    let mut meta: Map<String, Value> = a
        .with_prefix(ASSOCIATION)
        .filter(|(k, _)| !matches!(*k, "session_id" | "user_id"))
        .map(|(k, v)| (k.to_string(), lenient_json(v)))
        .collect();
    let named = [
        ("workflow", "traceloop.workflow.name"),
        ("entity_path", "traceloop.entity.path"),
        ("entity_version", "traceloop.entity.version"),
    ];
    for (name, key) in named {
        if let Some(v) = a.get(key).and_then(as_text) {
            meta.entry(name).or_insert(Value::String(v));
        }
    }
    for (k, v) in a.with_prefix("traceloop.prompt.") {
        meta.entry(format!("prompt_{k}"))
            .or_insert_with(|| lenient_json(v));
    }
    meta
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::Span;
    use crate::semconv::test_support::{fixture_spans, normalized, read_raw};

    #[test]
    fn span_kinds_any_case_operation_raw() {
        for (raw, kind) in [
            ("workflow", Some(SpanKind::Chain)),
            ("task", Some(SpanKind::Chain)),
            ("agent", Some(SpanKind::Agent)),
            ("Tool", Some(SpanKind::Tool)),
            ("handoff", Some(SpanKind::Tool)),
            ("unknown", None),
        ] {
            let f = read_raw(read, json!({"traceloop.span.kind": raw}));
            assert_eq!(f.kind, kind, "{raw}");
            assert_eq!(f.operation.as_deref(), Some(raw));
        }
    }

    #[test]
    fn entity_name_is_the_agent_or_the_tool() {
        let agent = read_raw(
            read,
            json!({
                "traceloop.span.kind": "agent",
                "traceloop.entity.name": "support",
            }),
        );
        assert_eq!(agent.agent_name.as_deref(), Some("support"));
        assert_eq!(agent.tool_name, None);
        let tool = read_raw(
            read,
            json!({
                "traceloop.span.kind": "tool",
                "traceloop.entity.name": "lookup",
            }),
        );
        assert_eq!(tool.tool_name.as_deref(), Some("lookup"));
        assert_eq!(tool.agent_name, None);
        let task = read_raw(
            read,
            json!({
                "traceloop.span.kind": "task",
                "traceloop.entity.name": "format",
            }),
        );
        assert_eq!((task.agent_name, task.tool_name), (None, None));
    }

    #[test]
    fn tool_arguments_are_the_kwargs_when_no_positional_args() {
        let f = read_raw(
            read,
            json!({
                "traceloop.span.kind": "tool",
                "traceloop.entity.input": "{\"args\": [], \"kwargs\": {\"order_id\": \"A-17\"}}",
            }),
        );
        assert_eq!(f.tool_args, Some(json!({"order_id": "A-17"})));
        // The input stays the decorator's record, as sent.
        assert_eq!(
            f.input,
            Some(json!({"args": [], "kwargs": {"order_id": "A-17"}}))
        );
    }

    #[test]
    fn tool_arguments_with_positional_args_are_the_whole_record() {
        let f = read_raw(
            read,
            json!({
                "traceloop.span.kind": "tool",
                "traceloop.entity.input": "{\"args\": [\"A-17\"], \"kwargs\": {\"verbose\": true}}",
            }),
        );
        assert_eq!(
            f.tool_args,
            Some(json!({"args": ["A-17"], "kwargs": {"verbose": true}}))
        );
    }

    #[test]
    fn truncated_entity_input_stays_a_string() {
        let cut = "{\"args\": [], \"kwargs\": {\"query\": \"a very long";
        let f = read_raw(
            read,
            json!({
                "traceloop.span.kind": "tool",
                "traceloop.entity.input": cut,
                "traceloop.entity.output": "{\"rows\": [1, 2",
            }),
        );
        assert_eq!(f.tool_args, Some(json!(cut)));
        assert_eq!(f.input, Some(json!(cut)));
        assert_eq!(f.output, Some(json!("{\"rows\": [1, 2")));
    }

    #[test]
    fn quoted_string_results_are_unquoted_unless_cut_short() {
        let f = read_raw(read, json!({"traceloop.entity.output": "\"Shipped.\""}));
        assert_eq!(f.output, Some(json!("Shipped.")));
        let cut = read_raw(read, json!({"traceloop.entity.output": "\"Ship"}));
        assert_eq!(cut.output, Some(json!("\"Ship")));
    }

    #[test]
    fn no_tool_arguments_on_other_spans() {
        let f = read_raw(
            read,
            json!({
                "traceloop.span.kind": "task",
                "traceloop.entity.input": "{\"args\": [], \"kwargs\": {\"a\": 1}}",
            }),
        );
        assert_eq!(f.tool_args, None);
        assert!(f.input.is_some());
    }

    #[test]
    fn association_properties_session_user_and_metadata() {
        let f = read_raw(
            read,
            json!({
                "traceloop.association.properties.session_id": "s-1",
                "traceloop.association.properties.user_id": 42,
                "traceloop.association.properties.tier": "gold",
                "traceloop.association.properties.workflow": "mine",
                "traceloop.workflow.name": "support",
                "traceloop.entity.path": "support.answer",
                "traceloop.entity.version": 2,
                "traceloop.prompt.key": "greeting",
                "traceloop.prompt.version": 3,
                "traceloop.prompt.template_variables": "{\"name\": \"Ada\"}",
            }),
        );
        assert_eq!(f.session_id.as_deref(), Some("s-1"));
        assert_eq!(f.user_id.as_deref(), Some("42"));
        let m = &f.metadata;
        assert_eq!(m["tier"], "gold");
        assert_eq!(m["workflow"], "mine");
        assert_eq!(m["entity_path"], "support.answer");
        assert_eq!(m["entity_version"], "2");
        assert_eq!(m["prompt_key"], "greeting");
        assert_eq!(m["prompt_version"], 3);
        assert_eq!(m["prompt_template_variables"], json!({"name": "Ada"}));
        assert!(!m.contains_key("session_id") && !m.contains_key("user_id"));
    }

    #[test]
    fn association_session_is_the_thread_when_nothing_else_names_one() {
        let s = normalized(
            "w.workflow",
            json!({
                "traceloop.span.kind": "workflow",
                "traceloop.association.properties.session_id": "s-1",
                "session.id": "otel-session",
            }),
        );
        assert_eq!(s.session_id.as_deref(), Some("s-1"));
        assert_eq!(s.thread_id.as_deref(), Some("s-1"));
    }

    #[test]
    fn first_release_llm_keys() {
        let f = read_raw(
            read,
            json!({
                "llm.vendor": "OpenAI",
                "llm.request.type": "chat",
                "llm.request.model": "gpt-3.5-turbo",
                "llm.response.model": "gpt-3.5-turbo-0613",
                "llm.response.id": "chatcmpl-1",
                "llm.usage.prompt_tokens": 9,
                "llm.usage.completion_tokens": 3,
                "llm.prompts.0.role": "user",
                "llm.prompts.0.content": "hi",
                "llm.completions.0.role": "assistant",
                "llm.completions.0.content": "hello",
            }),
        );
        assert_eq!(f.model.as_deref(), Some("gpt-3.5-turbo-0613"));
        assert_eq!(f.provider.as_deref(), Some("OpenAI"));
        assert_eq!(f.response_id.as_deref(), Some("chatcmpl-1"));
        assert_eq!(f.usage.input_tokens, Some(9));
        assert_eq!(f.usage.output_tokens, Some(3));
        assert_eq!(f.input, Some(json!([{"role": "user", "content": "hi"}])));
        assert_eq!(
            f.output,
            Some(json!([{"role": "assistant", "content": "hello"}]))
        );
    }

    #[test]
    fn dual_emission_genai_wins_over_traceloop() {
        let s = normalized(
            "support.agent",
            json!({
                "traceloop.span.kind": "agent",
                "traceloop.entity.name": "entity-name",
                "traceloop.entity.input": "{\"args\": [\"q\"], \"kwargs\": {}}",
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": "support_agent",
                "gen_ai.input.messages": "[{\"role\": \"user\", \"parts\": []}]",
            }),
        );
        assert_eq!(s.kind, SpanKind::Agent);
        assert_eq!(s.operation.as_deref(), Some("invoke_agent"));
        assert_eq!(s.agent_name.as_deref(), Some("support_agent"));
        assert_eq!(s.input, Some(json!([{"role": "user", "parts": []}])));
    }

    #[test]
    fn agents_sdk_handoff_via_openllmetry() {
        let s = normalized(
            "triage → refunds.handoff",
            json!({
                "traceloop.span.kind": "handoff",
                "gen_ai.provider.name": "openai",
                "gen_ai.agent.name": "triage",
                "gen_ai.handoff.from_agent": "triage",
                "gen_ai.handoff.to_agent": "refunds",
            }),
        );
        assert_eq!(s.kind, SpanKind::Tool);
        assert_eq!(s.operation.as_deref(), Some("handoff"));
        assert_eq!(s.tool_name.as_deref(), Some("handoff to refunds"));
        assert_eq!(s.agent_name.as_deref(), Some("triage"));
        assert_eq!(s.metadata["handoff_to"], "refunds");

        // Target unknown: OpenLLMetry leaves the keys out and names the span `… → unknown`.
        let s = normalized(
            "triage → unknown.handoff",
            json!({"traceloop.span.kind": "handoff"}),
        );
        assert_eq!(s.tool_name.as_deref(), Some("handoff"));
    }

    #[test]
    fn fixture_openllmetry() {
        let spans = fixture_spans("openllmetry");
        let by_name =
            |name: &str| -> Vec<&Span> { spans.iter().filter(|s| s.name == name).collect() };

        let workflow = by_name("support_workflow.workflow")[0];
        assert_eq!(workflow.kind, SpanKind::Chain);
        assert_eq!(workflow.operation.as_deref(), Some("workflow"));
        assert!(workflow.input.is_some() && workflow.output.is_some());
        assert_eq!(workflow.thread_id.as_deref(), Some("conv-ollm-1"));
        assert_eq!(workflow.user_id.as_deref(), Some("user-ollm-5"));
        assert_eq!(workflow.metadata["workflow"], "support_workflow");

        let agent = by_name("support_agent.agent")[0];
        assert_eq!(agent.kind, SpanKind::Agent);
        assert_eq!(agent.agent_name.as_deref(), Some("support_agent"));
        assert_eq!(
            agent.input.as_ref().unwrap()["args"][1],
            "Where is my order A-17?"
        );
        assert_eq!(
            agent.output,
            Some(json!(
                "Order A-17 shipped on 2024-05-02 and arrives Friday. Anything else?"
            ))
        );

        let tool = by_name("lookup_order.tool")[0];
        assert_eq!(tool.kind, SpanKind::Tool);
        assert_eq!(tool.tool_name.as_deref(), Some("lookup_order"));
        assert_eq!(tool.tool_args, Some(json!({"order_id": "A-17"})));
        assert_eq!(tool.output.as_ref().unwrap()["status"], "shipped");

        let task = by_name("format_answer.task")[0];
        assert_eq!(task.kind, SpanKind::Chain);
        assert!(task.input.is_some() && task.output.is_some());

        let mut llms = by_name("openai.chat");
        llms.sort_by_key(|s| s.start_time_unix_nano);
        for (llm, (input, output)) in llms.into_iter().zip([(50, 12), (80, 20)]) {
            assert_eq!(llm.kind, SpanKind::Llm);
            assert_eq!(llm.model.as_deref(), Some("gpt-4o-mini"));
            assert_eq!(llm.usage.input_tokens, Some(input));
            assert_eq!(llm.usage.output_tokens, Some(output));
            assert!(llm.input.is_some() && llm.output.is_some());
            assert_eq!(llm.thread_id.as_deref(), Some("conv-ollm-1"));
            assert_eq!(llm.user_id.as_deref(), Some("user-ollm-5"));
        }
    }
}
