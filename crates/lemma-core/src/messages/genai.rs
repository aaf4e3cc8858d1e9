//! GenAI semantic conventions (≥ v1.37): `gen_ai.input.messages` with
//! `gen_ai.system_instructions`, and `gen_ai.output.messages`, structured or as JSON strings.
//! Read from span attributes and from the `gen_ai.client.inference.operation.details` event.

use serde_json::{Map, Value};

use super::lookup::Parsed;
use super::message::{self, with_system};
use super::{provider, Dir, Message};

pub fn read(attrs: &Map<String, Value>, parsed: Parsed, dir: Dir) -> Option<Vec<Message>> {
    match dir {
        Dir::Input => {
            let messages = parsed
                .json_at(attrs, "gen_ai.input.messages")
                .and_then(|v| provider::messages(&v, dir.role()));
            let system = parsed
                .json_at(attrs, "gen_ai.system_instructions")
                .and_then(|v| message::system(&v));
            with_system(system, messages)
        }
        Dir::Output => parsed
            .json_at(attrs, "gen_ai.output.messages")
            .and_then(|v| provider::messages(&v, dir.role())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::Part;
    use serde_json::json;

    fn attrs(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn structured_and_string_forms_read_the_same() {
        let messages = json!([
            {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]},
            {"role": "assistant", "parts": [{"type": "tool_call", "id": "c1", "name": "weather",
                "arguments": {"city": "Paris"}}]},
            {"role": "tool", "parts": [{"type": "tool_call_response", "id": " c1", "result": "rainy"}]}
        ]);
        let structured = read(
            &attrs(json!({"gen_ai.input.messages": messages})),
            Parsed::NONE,
            Dir::Input,
        );
        let string = read(
            &attrs(json!({"gen_ai.input.messages": messages.to_string()})),
            Parsed::NONE,
            Dir::Input,
        );
        assert_eq!(structured, string);
        let input = structured.unwrap();
        assert_eq!(input.len(), 3);
        assert_eq!(
            input[2].parts,
            [Part::ToolCallResponse {
                id: Some("c1".into()),
                response: json!("rainy"),
            }]
        );
    }

    #[test]
    fn system_instructions_are_prepended_when_no_system_message() {
        let a = attrs(json!({
            "gen_ai.system_instructions": "[{\"type\":\"text\",\"content\":\"Be brief.\"}]",
            "gen_ai.input.messages": "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"content\":\"Hi\"}]}]",
        }));
        let input = read(&a, Parsed::NONE, Dir::Input).unwrap();
        assert_eq!(input[0].role, "system");
        assert_eq!(
            input[0].parts,
            [Part::Text {
                content: "Be brief.".into()
            }]
        );
        assert_eq!(input[1].role, "user");
    }

    #[test]
    fn output_messages_keep_finish_reason() {
        let a = attrs(
            json!({"gen_ai.output.messages": [{"role": "assistant", "finish_reason": "stop",
            "parts": [{"type": "text", "content": "Sunny."}]}]}),
        );
        let output = read(&a, Parsed::NONE, Dir::Output).unwrap();
        assert_eq!(output[0].finish_reason.as_deref(), Some("stop"));
        assert!(read(&a, Parsed::NONE, Dir::Input).is_none());
    }

    #[test]
    fn truncated_json_yields_nothing() {
        let a = attrs(json!({"gen_ai.output.messages": "[{\"role\":\"assistant\""}));
        assert!(read(&a, Parsed::NONE, Dir::Output).is_none());
    }
}
