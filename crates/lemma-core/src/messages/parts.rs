//! Content parts, whatever family wrote them. GenAI parts, OpenAI chat and Responses content,
//! Anthropic blocks and AI SDK parts are told apart by their `type`, which rarely collide;
//! Gemini's parts have no `type` and are told apart by their single key.
//!
//! Media keeps a reference (modality, MIME type, URI, file id), never the inline bytes.

use serde_json::{Map, Value};

use super::lookup::{first, id, text_at};
use super::Part;
use crate::value::{as_text, decode_json_layers};

/// Keys holding a tool call's or tool result's id: the Responses API's `call_id` comes first
/// because its `id` names the item, not the call.
const ID_KEYS: &[&str] = &["call_id", "toolCallId", "tool_use_id", "id"];

/// Objects in which provider parts nest their media reference (`image_url.url`,
/// `source.media_type`, `file.file_id`, `inlineData.mimeType`, OpenInference `image.url`).
const MEDIA_NESTED: &[&str] = &[
    "image_url",
    "input_audio",
    "file",
    "source",
    "image",
    "audio",
    "video",
    "inlineData",
    "inline_data",
    "fileData",
    "file_data",
];
const MEDIA_URI_KEYS: &[&str] = &[
    "uri",
    "url",
    "fileUri",
    "file_uri",
    "file_url",
    "image_url",
    "image",
    "data",
];
const MEDIA_MIME_KEYS: &[&str] = &["mime_type", "mimeType", "mediaType", "media_type"];

/// One part; `None` for nothing worth keeping (null, empty text).
pub fn part(value: &Value) -> Option<Part> {
    match value {
        Value::Null => None,
        Value::String(s) => text(s),
        Value::Object(obj) => match obj.get("type").and_then(Value::as_str) {
            Some(kind) => typed(kind, obj, value),
            None => untyped(obj, value),
        },
        other => Some(other_part(other)),
    }
}

/// A list of parts, or a single one.
pub fn parts(value: &Value) -> Vec<Part> {
    match value {
        Value::Array(items) => items.iter().filter_map(part).collect(),
        other => part(other).into_iter().collect(),
    }
}

pub fn text(s: &str) -> Option<Part> {
    (!s.is_empty()).then(|| Part::Text {
        content: s.to_string(),
    })
}

/// A tool call; one without a name is kept as received rather than invented.
pub fn tool_call(
    call_id: Option<&Value>,
    name: Option<&Value>,
    arguments: Option<&Value>,
    raw: &Value,
) -> Part {
    match name.and_then(as_text) {
        Some(name) => Part::ToolCall {
            id: id(call_id),
            name,
            arguments: arguments.and_then(decode_arguments),
        },
        None => other_part(raw),
    }
}

/// A tool's result as readers want it: JSON in strings parsed (even double-encoded), the AI
/// SDK's `{type: json|text, value}` wrapper and Anthropic's text blocks unwrapped.
pub fn response(value: &Value) -> Value {
    match value {
        Value::Object(o) => match (o.get("type").and_then(Value::as_str), o.get("value")) {
            (Some("json" | "text"), Some(inner)) => decode_json_layers(inner),
            _ => value.clone(),
        },
        Value::Array(items) => match joined_text(items) {
            Some(text) => decode_json_layers(&Value::String(text)),
            None => value.clone(),
        },
        other => decode_json_layers(other),
    }
}

fn decode_arguments(value: &Value) -> Option<Value> {
    match value {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        other => Some(decode_json_layers(other)),
    }
}

fn typed(kind: &str, obj: &Map<String, Value>, raw: &Value) -> Option<Part> {
    Some(match kind {
        "text" | "input_text" | "output_text" => match obj.get("text").or(obj.get("content")) {
            Some(Value::String(s)) => return text(s),
            _ => other_part(raw),
        },
        "refusal" => match obj.get("refusal") {
            Some(Value::String(s)) => return text(s),
            _ => other_part(raw),
        },
        "reasoning" | "thinking" => match reasoning(obj) {
            Some(content) => Part::Reasoning { content },
            None => other_part(raw),
        },
        "tool_call" | "tool-call" | "tool_use" | "function_call" | "server_tool_call"
        | "server_tool_use" => tool_call(
            first(obj, ID_KEYS),
            first(obj, &["name", "toolName"]),
            first(obj, &["arguments", "input", "args", "server_tool_call"]),
            raw,
        ),
        "tool_call_response"
        | "tool-result"
        | "tool_result"
        | "function_call_output"
        | "server_tool_call_response" => tool_result(obj),
        // Anthropic's server tools: `web_search_tool_result`, `code_execution_tool_result`, ...
        k if k.ends_with("_tool_result") => tool_result(obj),
        "blob" | "file" | "uri" | "image" | "image_url" | "input_image" | "audio"
        | "input_audio" | "input_file" | "video" | "document" => media(kind, Some(obj)),
        _ => other_part(raw),
    })
}

/// Gemini parts: `{text, thought?}`, `{functionCall}`, `{functionResponse}`, `{inlineData}`,
/// `{fileData}` (camelCase on the wire, snake_case in the Python SDK).
fn untyped(obj: &Map<String, Value>, raw: &Value) -> Option<Part> {
    let nested = |keys: &[&str]| first(obj, keys).and_then(Value::as_object);
    if let Some(call) = nested(&["functionCall", "function_call"]) {
        return Some(tool_call(
            call.get("id"),
            call.get("name"),
            call.get("args"),
            raw,
        ));
    }
    if let Some(result) = nested(&["functionResponse", "function_response"]) {
        return Some(Part::ToolCallResponse {
            id: id(result.get("id")),
            response: result.get("response").map(response).unwrap_or(Value::Null),
        });
    }
    if first(obj, &["inlineData", "inline_data", "fileData", "file_data"]).is_some() {
        return Some(media("file", Some(obj)));
    }
    match obj.get("text") {
        Some(Value::String(s)) if obj.get("thought") == Some(&Value::Bool(true)) => {
            (!s.is_empty()).then(|| Part::Reasoning { content: s.clone() })
        }
        Some(Value::String(s)) => text(s),
        _ => Some(other_part(raw)),
    }
}

fn tool_result(obj: &Map<String, Value>) -> Part {
    Part::ToolCallResponse {
        id: id(first(obj, ID_KEYS)),
        response: first(
            obj,
            &[
                "response",
                "result",
                "output",
                "content",
                "server_tool_call_response",
            ],
        )
        .map(response)
        .unwrap_or(Value::Null),
    }
}

/// Visible reasoning: GenAI `content`, AI SDK `text`, Anthropic `thinking`, or the Responses
/// API's `summary` list.
fn reasoning(obj: &Map<String, Value>) -> Option<String> {
    text_at(obj, &["content", "text", "thinking", "reasoning"]).or_else(|| {
        let summary = obj.get("summary")?.as_array()?;
        let lines: Vec<&str> = summary
            .iter()
            .filter_map(|s| s.get("text").unwrap_or(s).as_str())
            .collect();
        Some(lines.join("\n")).filter(|s| !s.is_empty())
    })
}

/// A media reference from a part of type `kind`, looking in the part and the objects providers
/// nest in it. Inline data (base64, data URLs) only lends its MIME type.
pub fn media(kind: &str, obj: Option<&Map<String, Value>>) -> Part {
    let layers: Vec<&Map<String, Value>> = obj
        .into_iter()
        .flat_map(|o| {
            std::iter::once(o).chain(
                MEDIA_NESTED
                    .iter()
                    .filter_map(move |k| o.get(*k).and_then(Value::as_object)),
            )
        })
        .collect();
    let strings = |keys: &'static [&'static str]| {
        layers
            .iter()
            .flat_map(move |m| keys.iter().filter_map(move |k| m.get(*k)?.as_str()))
    };
    let mut uri = None;
    let mut data_mime = None;
    for s in strings(MEDIA_URI_KEYS) {
        match reference(s) {
            Reference::Url(u) if uri.is_none() => uri = Some(u),
            Reference::Data(Some(m)) if data_mime.is_none() => data_mime = Some(m),
            _ => {}
        }
    }
    let mime_type = strings(MEDIA_MIME_KEYS)
        .find(|m| !m.is_empty())
        .map(str::to_string)
        .or(data_mime);
    let modality = strings(&["modality"])
        .find(|m| !m.is_empty())
        .map(str::to_string)
        .or_else(|| modality_of_kind(kind).map(str::to_string))
        .or_else(|| {
            mime_type
                .as_deref()
                .and_then(modality_of_mime)
                .map(str::to_string)
        })
        .unwrap_or_else(|| "document".to_string());
    Part::Media {
        modality,
        mime_type,
        uri,
        file_id: strings(&["file_id", "fileId"])
            .find(|f| !f.is_empty())
            .map(str::to_string),
    }
}

enum Reference {
    Url(String),
    /// A `data:` URL, with its MIME type when it names one.
    Data(Option<String>),
    /// Bare base64 or anything else that is not a reference.
    Inline,
}

fn reference(s: &str) -> Reference {
    let s = s.trim();
    if let Some(rest) = s.strip_prefix("data:") {
        let mime = rest.split([';', ',']).next().unwrap_or_default();
        return Reference::Data((!mime.is_empty()).then(|| mime.to_string()));
    }
    match s.find("://") {
        Some(i)
            if (1..=16).contains(&i)
                && s[..i]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
        {
            Reference::Url(s.to_string())
        }
        _ => Reference::Inline,
    }
}

fn modality_of_kind(kind: &str) -> Option<&'static str> {
    match kind {
        "image" | "image_url" | "input_image" => Some("image"),
        "audio" | "input_audio" => Some("audio"),
        "video" => Some("video"),
        "document" => Some("document"),
        _ => None,
    }
}

fn modality_of_mime(mime: &str) -> Option<&'static str> {
    ["image", "audio", "video"].into_iter().find(|m| {
        mime.strip_prefix(m)
            .is_some_and(|rest| rest.starts_with('/'))
    })
}

/// Text blocks (`[{type: text, text}]`) joined, as tool results often arrive.
fn joined_text(items: &[Value]) -> Option<String> {
    if items.is_empty() {
        return None;
    }
    items
        .iter()
        .map(|item| match item.get("type").and_then(Value::as_str) {
            Some("text" | "input_text" | "output_text") => item.get("text")?.as_str(),
            _ => None,
        })
        .collect()
}

fn other_part(raw: &Value) -> Part {
    Part::Other { value: raw.clone() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(v: Value) -> Part {
        part(&v).expect("a part")
    }

    fn media_of(v: Value) -> (String, Option<String>, Option<String>, Option<String>) {
        match one(v) {
            Part::Media {
                modality,
                mime_type,
                uri,
                file_id,
            } => (modality, mime_type, uri, file_id),
            other => panic!("not media: {other:?}"),
        }
    }

    #[test]
    fn text_from_genai_openai_and_plain_strings() {
        let expected = Part::Text {
            content: "hi".into(),
        };
        assert_eq!(one(json!({"type": "text", "content": "hi"})), expected);
        assert_eq!(one(json!({"type": "input_text", "text": "hi"})), expected);
        assert_eq!(one(json!("hi")), expected);
        assert_eq!(
            one(json!({"type": "text", "content": "__REDACTED__"})),
            Part::Text {
                content: "__REDACTED__".into()
            }
        );
        assert_eq!(part(&json!({"type": "text", "content": ""})), None);
        assert_eq!(part(&Value::Null), None);
    }

    #[test]
    fn tool_call_arguments_are_parsed_even_double_encoded() {
        let double = json!({"type": "tool_call", "id": "c1", "name": "weather",
            "arguments": "\"{\\\"city\\\":\\\"Paris\\\"}\""});
        assert_eq!(
            one(double),
            Part::ToolCall {
                id: Some("c1".into()),
                name: "weather".into(),
                arguments: Some(json!({"city": "Paris"})),
            }
        );
        let invalid =
            json!({"type": "tool_call", "name": "weather", "arguments": "{\"city\": \"Par"});
        assert_eq!(
            one(invalid),
            Part::ToolCall {
                id: None,
                name: "weather".into(),
                arguments: Some(json!("{\"city\": \"Par")),
            }
        );
        let plain = json!({"type": "tool_call", "name": "echo", "arguments": "hello"});
        assert!(matches!(one(plain), Part::ToolCall { arguments: Some(a), .. } if a == "hello"));
    }

    #[test]
    fn tool_call_without_a_name_is_kept_as_received() {
        let raw = json!({"type": "tool_call", "id": "c1"});
        assert_eq!(one(raw.clone()), Part::Other { value: raw });
    }

    #[test]
    fn tool_call_shapes_of_each_family() {
        let expect = |id: &str| Part::ToolCall {
            id: Some(id.into()),
            name: "f".into(),
            arguments: Some(json!({"a": 1})),
        };
        // Anthropic, AI SDK v5+, AI SDK v4, Responses API (call_id wins over the item id).
        assert_eq!(
            one(json!({"type": "tool_use", "id": "t", "name": "f", "input": {"a": 1}})),
            expect("t")
        );
        assert_eq!(
            one(
                json!({"type": "tool-call", "toolCallId": "t", "toolName": "f", "input": {"a": 1}})
            ),
            expect("t")
        );
        assert_eq!(
            one(
                json!({"type": "tool-call", "toolCallId": "t", "toolName": "f", "args": "{\"a\":1}"})
            ),
            expect("t")
        );
        assert_eq!(
            one(
                json!({"type": "function_call", "id": "fc_1", "call_id": "t", "name": "f", "arguments": "{\"a\":1}"})
            ),
            expect("t")
        );
        // Gemini.
        assert_eq!(
            one(json!({"functionCall": {"id": "t", "name": "f", "args": {"a": 1}}})),
            expect("t")
        );
    }

    #[test]
    fn tool_results_accept_response_or_result_and_trim_ids() {
        let expect = Part::ToolCallResponse {
            id: Some("call_1".into()),
            response: json!({"temp": 20}),
        };
        // The GenAI registry example uses `result` and a leading space in the id.
        assert_eq!(
            one(json!({"type": "tool_call_response", "id": " call_1", "result": {"temp": 20}})),
            expect
        );
        assert_eq!(
            one(
                json!({"type": "tool_call_response", "id": "call_1", "response": "{\"temp\": 20}"})
            ),
            expect
        );
        assert_eq!(
            one(
                json!({"type": "tool-result", "toolCallId": "call_1", "toolName": "w",
                "output": {"type": "json", "value": {"temp": 20}}})
            ),
            expect
        );
        assert_eq!(
            one(json!({"type": "tool_result", "tool_use_id": "call_1",
                "content": [{"type": "text", "text": "{\"temp\": 20}"}]})),
            expect
        );
        assert_eq!(
            one(
                json!({"type": "function_call_output", "call_id": "call_1", "output": "{\"temp\": 20}"})
            ),
            expect
        );
        assert_eq!(
            one(
                json!({"functionResponse": {"id": "call_1", "name": "w", "response": {"temp": 20}}})
            ),
            expect
        );
    }

    #[test]
    fn server_tool_calls_are_calls_and_responses() {
        assert_eq!(
            one(
                json!({"type": "server_tool_call", "id": "s1", "name": "web_search",
                "server_tool_call": {"type": "web_search", "query": "rust"}})
            ),
            Part::ToolCall {
                id: Some("s1".into()),
                name: "web_search".into(),
                arguments: Some(json!({"type": "web_search", "query": "rust"})),
            }
        );
        assert_eq!(
            one(json!({"type": "server_tool_call_response", "id": "s1",
                "server_tool_call_response": {"type": "web_search", "results": []}})),
            Part::ToolCallResponse {
                id: Some("s1".into()),
                response: json!({"type": "web_search", "results": []}),
            }
        );
    }

    #[test]
    fn reasoning_from_each_family() {
        let expect = Part::Reasoning {
            content: "think".into(),
        };
        assert_eq!(
            one(json!({"type": "reasoning", "content": "think"})),
            expect
        );
        assert_eq!(one(json!({"type": "reasoning", "text": "think"})), expect);
        assert_eq!(
            one(json!({"type": "thinking", "thinking": "think", "signature": "x"})),
            expect
        );
        assert_eq!(
            one(
                json!({"type": "reasoning", "summary": [{"type": "summary_text", "text": "think"}]})
            ),
            expect
        );
        assert_eq!(one(json!({"text": "think", "thought": true})), expect);
        let encrypted = json!({"type": "reasoning", "encrypted_content": "gAAA"});
        assert_eq!(one(encrypted.clone()), Part::Other { value: encrypted });
    }

    #[test]
    fn media_never_copies_inline_bytes() {
        let blob = json!({"type": "blob", "modality": "image", "mime_type": "image/png", "content": "iVBORw0KGgo="});
        assert_eq!(
            media_of(blob),
            ("image".into(), Some("image/png".into()), None, None)
        );
        let data_url =
            json!({"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}});
        assert_eq!(
            media_of(data_url),
            ("image".into(), Some("image/jpeg".into()), None, None)
        );
        let anthropic = json!({"type": "image", "source": {"type": "base64", "media_type": "image/gif", "data": "R0lGOD"}});
        assert_eq!(
            media_of(anthropic),
            ("image".into(), Some("image/gif".into()), None, None)
        );
        let ai_sdk = json!({"type": "image", "image": "iVBORw0KGgo=", "mediaType": "image/png"});
        assert_eq!(
            media_of(ai_sdk),
            ("image".into(), Some("image/png".into()), None, None)
        );
        let gemini = json!({"inlineData": {"mimeType": "audio/wav", "data": "UklGRg=="}});
        assert_eq!(
            media_of(gemini),
            ("audio".into(), Some("audio/wav".into()), None, None)
        );
    }

    #[test]
    fn media_keeps_uris_and_file_ids() {
        let uri = json!({"type": "uri", "modality": "video", "uri": "gs://b/clip.mp4"});
        assert_eq!(
            media_of(uri),
            ("video".into(), None, Some("gs://b/clip.mp4".into()), None)
        );
        let file = json!({"type": "file", "modality": "document", "mime_type": "application/pdf", "file_id": "file-1"});
        assert_eq!(
            media_of(file),
            (
                "document".into(),
                Some("application/pdf".into()),
                None,
                Some("file-1".into())
            )
        );
        let openai_file =
            json!({"type": "file", "file": {"file_id": "file-2", "filename": "a.pdf"}});
        assert_eq!(
            media_of(openai_file),
            ("document".into(), None, None, Some("file-2".into()))
        );
        let responses = json!({"type": "input_image", "image_url": "https://x.test/a.png"});
        assert_eq!(
            media_of(responses),
            (
                "image".into(),
                None,
                Some("https://x.test/a.png".into()),
                None
            )
        );
        let gemini = json!({"fileData": {"mimeType": "video/mp4", "fileUri": "gs://b/v.mp4"}});
        assert_eq!(
            media_of(gemini),
            (
                "video".into(),
                Some("video/mp4".into()),
                Some("gs://b/v.mp4".into()),
                None
            )
        );
    }

    #[test]
    fn unknown_parts_are_kept_as_received() {
        for raw in [
            json!({"type": "compaction", "content": "..."}),
            json!({"type": "redacted_thinking", "data": "abc"}),
            json!({"weird": true}),
            json!(42),
        ] {
            assert_eq!(one(raw.clone()), Part::Other { value: raw });
        }
    }

    #[test]
    fn decode_stops_at_bad_json_and_keeps_plain_strings() {
        assert_eq!(
            decode_json_layers(&json!("\"just a string\"")),
            json!("just a string")
        );
        assert_eq!(decode_json_layers(&json!("\"{bad")), json!("\"{bad"));
        assert_eq!(decode_json_layers(&json!("42")), json!("42"));
        assert_eq!(decode_json_layers(&json!({"a": 1})), json!({"a": 1}));
    }
}
