//! A streamed answer (server-sent events) added up, chunk by chunk as it passes through, into
//! the response the same call would have answered unstreamed, so that a streamed call is
//! recorded like any other.
//!
//! Cost per chunk is one scan for event boundaries and one JSON parse per event; what is kept
//! is the answer being assembled, never the raw stream.

use serde_json::{json, Map, Value};

use super::Api;

/// An event larger than this is not assembled (the answer is recorded without it); the bytes
/// still pass through untouched.
const MAX_EVENT_BYTES: usize = 8 * 1024 * 1024;

/// Splits a byte stream into server-sent events' `data` fields (with the event name).
#[derive(Default)]
struct Decoder {
    pending: Vec<u8>,
    /// Where the search for the next boundary resumes, so an event arriving in many chunks is
    /// scanned once.
    scanned: usize,
    /// The current event outgrew `MAX_EVENT_BYTES`: skipped to its end.
    skipping: bool,
}

struct Event {
    name: Option<String>,
    data: String,
}

impl Decoder {
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<Event>) {
        self.pending.extend_from_slice(bytes);
        while let Some((end, gap)) = boundary(&self.pending, self.scanned) {
            let raw: Vec<u8> = self.pending.drain(..end + gap).collect();
            self.scanned = 0;
            if std::mem::take(&mut self.skipping) {
                continue;
            }
            if let Some(event) = parse_event(&raw[..end]) {
                out.push(event);
            }
        }
        // A boundary may straddle this chunk and the next.
        self.scanned = self.pending.len().saturating_sub(2);
        if self.pending.len() > MAX_EVENT_BYTES {
            self.pending.clear();
            self.scanned = 0;
            self.skipping = true;
        }
    }
}

/// The end of the first complete event at or after `from`, and the length of the blank line
/// after it.
fn boundary(bytes: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut i = from;
    while i + 1 < bytes.len() {
        if bytes[i] == b'\n' {
            if bytes[i + 1] == b'\n' {
                return Some((i, 2));
            }
            if bytes[i + 1] == b'\r' && bytes.get(i + 2) == Some(&b'\n') {
                return Some((i, 3));
            }
        }
        i += 1;
    }
    None
}

fn parse_event(raw: &[u8]) -> Option<Event> {
    let text = String::from_utf8_lossy(raw);
    let mut name = None;
    let mut data: Option<String> = None;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => name = Some(value.to_string()),
            "data" => match &mut data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => data = Some(value.to_string()),
            },
            _ => {}
        }
    }
    data.map(|data| Event { name, data })
}

/// Adds a stream up into a response.
pub struct Assembler {
    api: Api,
    decoder: Decoder,
    events: Vec<Event>,
    answer: Answer,
    content_seen: bool,
    /// The provider's final event arrived (`[DONE]`, a finish reason, `message_stop`,
    /// `response.completed`): a stream that ends without it was cut short.
    complete: bool,
    /// An error event in the stream (the provider failed mid-answer).
    error: Option<Value>,
}

enum Answer {
    Chat(Chat),
    /// The Responses API sends its whole response object in its last events.
    Responses(Option<Value>),
    Anthropic(Anthropic),
    Other,
}

impl Assembler {
    pub fn new(api: Api) -> Assembler {
        let answer = match api {
            Api::OpenAiChat => Answer::Chat(Chat::default()),
            Api::OpenAiResponses => Answer::Responses(None),
            Api::AnthropicMessages => Answer::Anthropic(Anthropic::default()),
            Api::OpenAiEmbeddings => Answer::Other,
        };
        Assembler {
            api,
            decoder: Decoder::default(),
            events: Vec::new(),
            answer,
            content_seen: false,
            complete: false,
            error: None,
        }
    }

    /// Takes the next bytes of the stream, as they arrived.
    pub fn feed(&mut self, bytes: &[u8]) {
        let mut events = std::mem::take(&mut self.events);
        self.decoder.feed(bytes, &mut events);
        for event in events.drain(..) {
            self.event(event);
        }
        self.events = events;
    }

    /// Whether content (text, a tool call) has arrived: the first time it is true marks the
    /// time to first chunk.
    pub fn content_seen(&self) -> bool {
        self.content_seen
    }

    /// Whether the provider's final event (or an error event) arrived.
    pub fn complete(&self) -> bool {
        self.complete || self.error.is_some()
    }

    /// The response the stream added up to (`None` if nothing usable arrived). A stream that
    /// carried an error event answers that error, as an unstreamed call would have.
    pub fn finish(self) -> Option<Value> {
        if let Some(error) = self.error {
            return Some(error);
        }
        match self.answer {
            Answer::Chat(chat) => chat.response(),
            Answer::Responses(response) => response,
            Answer::Anthropic(message) => message.response(),
            Answer::Other => None,
        }
    }

    fn event(&mut self, event: Event) {
        if event.data == "[DONE]" {
            self.complete = true;
            return;
        }
        let Ok(Value::Object(data)) = serde_json::from_str::<Value>(&event.data) else {
            return;
        };
        let kind = data
            .get("type")
            .and_then(Value::as_str)
            .or(event.name.as_deref())
            .unwrap_or_default()
            .to_string();
        if kind == "error" || (self.api == Api::OpenAiChat && data.contains_key("error")) {
            self.error = Some(Value::Object(data));
            return;
        }
        let content = match &mut self.answer {
            Answer::Chat(chat) => {
                let content = chat.chunk(&data);
                self.complete |= chat.finished();
                content
            }
            Answer::Responses(response) => {
                if let Some(r) = data.get("response").filter(|r| r.is_object()) {
                    *response = Some(r.clone());
                }
                self.complete |= matches!(
                    kind.as_str(),
                    "response.completed" | "response.failed" | "response.incomplete"
                );
                kind.ends_with(".delta")
            }
            Answer::Anthropic(message) => {
                self.complete |= kind == "message_stop";
                message.event(&kind, &data)
            }
            Answer::Other => false,
        };
        self.content_seen |= content;
    }
}

/// OpenAI chat completion chunks, merged by choice index.
#[derive(Default)]
struct Chat {
    head: Map<String, Value>,
    choices: Vec<ChatChoice>,
    usage: Option<Value>,
}

#[derive(Default)]
struct ChatChoice {
    index: u64,
    role: Option<String>,
    content: Option<String>,
    refusal: Option<String>,
    tool_calls: Vec<Map<String, Value>>,
    finish_reason: Option<Value>,
}

impl Chat {
    /// Merges one chunk; true when it carried content.
    fn chunk(&mut self, data: &Map<String, Value>) -> bool {
        for key in [
            "id",
            "model",
            "created",
            "system_fingerprint",
            "service_tier",
        ] {
            if let Some(v) = data.get(key).filter(|v| !v.is_null()) {
                self.head.insert(key.into(), v.clone());
            }
        }
        if let Some(usage) = data.get("usage").filter(|u| u.is_object()) {
            self.usage = Some(usage.clone());
        }
        let mut content = false;
        for choice in data
            .get("choices")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let index = choice.get("index").and_then(Value::as_u64).unwrap_or(0);
            let at = match self.choices.iter().position(|c| c.index == index) {
                Some(at) => at,
                None => {
                    self.choices.push(ChatChoice {
                        index,
                        ..ChatChoice::default()
                    });
                    self.choices.len() - 1
                }
            };
            let merged = &mut self.choices[at];
            if let Some(reason) = choice.get("finish_reason").filter(|r| !r.is_null()) {
                merged.finish_reason = Some(reason.clone());
            }
            let Some(delta) = choice.get("delta") else {
                continue;
            };
            if let Some(role) = delta.get("role").and_then(Value::as_str) {
                merged.role = Some(role.to_string());
            }
            for (key, slot) in [
                ("content", &mut merged.content),
                ("refusal", &mut merged.refusal),
            ] {
                if let Some(text) = delta.get(key).and_then(Value::as_str) {
                    slot.get_or_insert_with(String::new).push_str(text);
                    content |= !text.is_empty();
                }
            }
            for call in delta
                .get("tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                content = true;
                merge_tool_call(&mut merged.tool_calls, call);
            }
        }
        content
    }

    /// Every choice has its finish reason (servers that send no `[DONE]` end there).
    fn finished(&self) -> bool {
        !self.choices.is_empty() && self.choices.iter().all(|c| c.finish_reason.is_some())
    }

    fn response(self) -> Option<Value> {
        if self.head.is_empty() && self.choices.is_empty() {
            return None;
        }
        let mut response = self.head;
        response.insert("object".into(), json!("chat.completion"));
        let choices: Vec<Value> = self
            .choices
            .into_iter()
            .map(|c| {
                let mut message = Map::new();
                message.insert(
                    "role".into(),
                    json!(c.role.unwrap_or_else(|| "assistant".into())),
                );
                message.insert("content".into(), json!(c.content));
                if let Some(refusal) = c.refusal {
                    message.insert("refusal".into(), json!(refusal));
                }
                if !c.tool_calls.is_empty() {
                    message.insert("tool_calls".into(), json!(c.tool_calls));
                }
                json!({"index": c.index, "message": message, "finish_reason": c.finish_reason})
            })
            .collect();
        response.insert("choices".into(), json!(choices));
        if let Some(usage) = self.usage {
            response.insert("usage".into(), usage);
        }
        Some(Value::Object(response))
    }
}

/// A streamed tool call arrives as its id and name, then its arguments in pieces, all under
/// one index.
fn merge_tool_call(calls: &mut Vec<Map<String, Value>>, delta: &Value) {
    let index = delta.get("index").and_then(Value::as_u64).unwrap_or(0);
    let at = calls
        .iter()
        .position(|c| c.get("index").and_then(Value::as_u64) == Some(index));
    let call = match at {
        Some(at) => &mut calls[at],
        None => {
            calls.push(Map::from_iter([
                ("index".to_string(), json!(index)),
                ("type".to_string(), json!("function")),
                ("function".to_string(), json!({"name": "", "arguments": ""})),
            ]));
            calls.last_mut().expect("just pushed")
        }
    };
    if let Some(id) = delta.get("id").and_then(Value::as_str) {
        call.insert("id".into(), json!(id));
    }
    let Some(function) = delta.get("function") else {
        return;
    };
    let Some(Value::Object(merged)) = call.get_mut("function") else {
        return;
    };
    for key in ["name", "arguments"] {
        if let Some(piece) = function.get(key).and_then(Value::as_str) {
            if let Some(Value::String(text)) = merged.get_mut(key) {
                text.push_str(piece);
            }
        }
    }
}

/// Anthropic's message events: the message, its content blocks by index, and the usage and
/// stop reason of the final delta.
#[derive(Default)]
struct Anthropic {
    message: Option<Map<String, Value>>,
    blocks: Vec<(u64, Map<String, Value>, String)>,
}

impl Anthropic {
    fn event(&mut self, kind: &str, data: &Map<String, Value>) -> bool {
        match kind {
            "message_start" => {
                if let Some(Value::Object(message)) = data.get("message") {
                    self.message = Some(message.clone());
                }
                false
            }
            "content_block_start" => {
                let index = data.get("index").and_then(Value::as_u64).unwrap_or(0);
                if let Some(Value::Object(block)) = data.get("content_block") {
                    self.blocks.push((index, block.clone(), String::new()));
                }
                false
            }
            "content_block_delta" => {
                let index = data.get("index").and_then(Value::as_u64).unwrap_or(0);
                let Some(delta) = data.get("delta") else {
                    return false;
                };
                let Some((_, block, json_text)) =
                    self.blocks.iter_mut().find(|(i, _, _)| *i == index)
                else {
                    return false;
                };
                let piece = |key: &str| delta.get(key).and_then(Value::as_str);
                match delta.get("type").and_then(Value::as_str) {
                    Some("text_delta") => append(block, "text", piece("text")),
                    Some("thinking_delta") => append(block, "thinking", piece("thinking")),
                    Some("signature_delta") => append(block, "signature", piece("signature")),
                    Some("input_json_delta") => {
                        json_text.push_str(piece("partial_json").unwrap_or_default())
                    }
                    _ => {}
                }
                true
            }
            "message_delta" => {
                let Some(message) = self.message.as_mut() else {
                    return false;
                };
                if let Some(Value::Object(delta)) = data.get("delta") {
                    for (key, value) in delta {
                        message.insert(key.clone(), value.clone());
                    }
                }
                // The final counts; keys it leaves out keep the start's.
                if let Some(Value::Object(usage)) = data.get("usage") {
                    let merged = message
                        .entry("usage")
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(merged) = merged {
                        for (key, value) in usage.iter().filter(|(_, v)| !v.is_null()) {
                            merged.insert(key.clone(), value.clone());
                        }
                    }
                }
                false
            }
            _ => false,
        }
    }

    fn response(self) -> Option<Value> {
        let mut message = self.message?;
        let mut blocks = self.blocks;
        blocks.sort_by_key(|(index, _, _)| *index);
        let content: Vec<Value> = blocks
            .into_iter()
            .map(|(_, mut block, json_text)| {
                if !json_text.is_empty() {
                    let input =
                        serde_json::from_str(&json_text).unwrap_or(Value::String(json_text));
                    block.insert("input".into(), input);
                }
                Value::Object(block)
            })
            .collect();
        message.insert("content".into(), Value::Array(content));
        Some(Value::Object(message))
    }
}

fn append(block: &mut Map<String, Value>, key: &str, piece: Option<&str>) {
    let Some(piece) = piece else {
        return;
    };
    match block.get_mut(key) {
        Some(Value::String(text)) => text.push_str(piece),
        _ => {
            block.insert(key.into(), json!(piece));
        }
    }
}
