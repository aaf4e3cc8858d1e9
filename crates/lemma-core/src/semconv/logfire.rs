//! Pydantic AI (and Logfire) keys that predate, or sit beside, its GenAI attributes: the agent
//! run span's `agent_name`, `model_name`, `final_result` and message history, and the older
//! tool spans' `tool_arguments` / `tool_response`. These bare keys are generic, so they are read
//! only on spans from the `pydantic-ai` or `logfire` tracers or carrying `logfire.msg`.

use serde_json::Value;

use super::{Attrs, Fields};
use crate::model::SpanKind;

pub fn read(a: &Attrs) -> Fields {
    if !is_logfire(a) {
        return Fields::default();
    }
    // Only the agent run span names its agent; it carries the run's aggregated usage too, so
    // without a kind it would pass for an LLM call.
    let agent_name = a.text("agent_name");
    Fields {
        kind: agent_name.as_ref().map(|_| SpanKind::Agent),
        agent_name,
        model: a.text("model_name"),
        tool_args: a.json("tool_arguments"),
        // The whole conversation the run ended with (v2+ `pydantic_ai.all_messages`, v1 events).
        input: a
            .json("pydantic_ai.all_messages")
            .or_else(|| a.json("all_messages_events")),
        output: a.json("final_result").or_else(|| a.json("tool_response")),
        metadata: match a.json("metadata") {
            Some(Value::Object(m)) => m,
            _ => Default::default(),
        },
        ..Fields::default()
    }
}

fn is_logfire(a: &Attrs) -> bool {
    matches!(a.span.scope.name.as_str(), "pydantic-ai" | "logfire")
        || a.get("logfire.msg").is_some()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::{Scope, Span};
    use crate::semconv::normalize;

    fn span(scope: &str, attrs: Value) -> Span {
        Span {
            name: "agent run".into(),
            attributes: attrs.as_object().unwrap().clone(),
            scope: Scope {
                name: scope.into(),
                ..Scope::default()
            },
            ..Span::default()
        }
    }

    #[test]
    fn agent_run_span() {
        let mut s = span(
            "pydantic-ai",
            json!({
                "agent_name": "support",
                "model_name": "gpt-4o",
                "logfire.msg": "support run",
                "gen_ai.usage.input_tokens": 51,
                "gen_ai.usage.output_tokens": 7,
                "pydantic_ai.all_messages": "[{\"role\": \"user\", \"parts\": [{\"type\": \"text\", \"content\": \"hi\"}]}]",
                "final_result": "hello",
                "metadata": "{\"tier\": \"gold\"}",
            }),
        );
        normalize(&mut s);
        assert_eq!(s.kind, SpanKind::Agent);
        assert_eq!(s.agent_name.as_deref(), Some("support"));
        assert_eq!(s.model.as_deref(), Some("gpt-4o"));
        assert_eq!(s.input.unwrap()[0]["role"], "user");
        assert_eq!(s.output, Some(json!("hello")));
        assert_eq!(s.metadata["tier"], "gold");
    }

    #[test]
    fn version_one_message_events_as_structured_value() {
        let s = span(
            "pydantic-ai",
            json!({"all_messages_events": [{"event.name": "gen_ai.user.message", "content": "hi"}]}),
        );
        let f = read(&Attrs::new(&s));
        assert_eq!(f.input.unwrap()[0]["content"], "hi");
    }

    #[test]
    fn old_tool_span_arguments_and_response() {
        let mut s = span(
            "pydantic-ai",
            json!({
                "gen_ai.tool.name": "lookup",
                "tool_arguments": "{\"id\": 7}",
                "tool_response": "{\"status\": \"ok\"",
            }),
        );
        normalize(&mut s);
        assert_eq!(s.kind, SpanKind::Tool);
        assert_eq!(s.tool_args, Some(json!({"id": 7})));
        assert_eq!(s.input, Some(json!({"id": 7})));
        // Cut short: kept as the string it was.
        assert_eq!(s.output, Some(json!("{\"status\": \"ok\"")));
    }

    #[test]
    fn logfire_msg_alone_is_enough() {
        let s = span("my.app", json!({"logfire.msg": "run", "agent_name": "a"}));
        assert_eq!(read(&Attrs::new(&s)).agent_name.as_deref(), Some("a"));
    }

    #[test]
    fn generic_keys_on_other_spans_are_ignored() {
        let s = span(
            "my.app",
            json!({"agent_name": "a", "model_name": "m", "final_result": "x", "metadata": "{\"k\": 1}"}),
        );
        assert_eq!(read(&Attrs::new(&s)), Fields::default());
    }

    #[test]
    fn genai_keys_win_over_pydantic_ai_keys() {
        let mut s = span(
            "pydantic-ai",
            json!({
                "agent_name": "old",
                "gen_ai.agent.name": "new",
                "gen_ai.operation.name": "invoke_agent",
                "model_name": "m-old",
                "gen_ai.request.model": "m-new",
            }),
        );
        normalize(&mut s);
        assert_eq!(s.agent_name.as_deref(), Some("new"));
        assert_eq!(s.model.as_deref(), Some("m-new"));
    }
}
