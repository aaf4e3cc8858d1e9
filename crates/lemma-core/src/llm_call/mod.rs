//! A model API call seen on the wire, as Lemma's LLM proxy sees it: the provider's request and
//! response bodies (OpenAI chat completions, Responses and embeddings, Anthropic messages), read
//! into the attributes of a GenAI span. Pure: the proxy does the I/O, and the span then goes
//! through ingest like any exporter's (normalisation derives the messages from the bodies).

pub mod stream;
#[cfg(test)]
mod tests;

use serde_json::{json, Map, Value};

use crate::value::as_u64;

/// The provider APIs the proxy records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    OpenAiChat,
    OpenAiResponses,
    OpenAiEmbeddings,
    AnthropicMessages,
}

/// The provider families the proxy speaks, each behind its own route and upstream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    OpenAi,
    Anthropic,
}

impl Provider {
    /// `gen_ai.provider.name`.
    pub fn name(self) -> &'static str {
        match self {
            Provider::OpenAi => "openai",
            Provider::Anthropic => "anthropic",
        }
    }
}

impl Api {
    /// The API a request path names, relative to the provider's base URL as its SDK sees it
    /// (`chat/completions` under OpenAI's `…/v1`, `v1/messages` under Anthropic's root). Other
    /// paths (model lists, token counts, files) are passed through without being recorded.
    pub fn of_path(provider: Provider, path: &str) -> Option<Api> {
        let path = path.trim_matches('/');
        match (provider, path) {
            (Provider::OpenAi, "chat/completions") => Some(Api::OpenAiChat),
            (Provider::OpenAi, "responses") => Some(Api::OpenAiResponses),
            (Provider::OpenAi, "embeddings") => Some(Api::OpenAiEmbeddings),
            (Provider::Anthropic, "v1/messages") => Some(Api::AnthropicMessages),
            _ => None,
        }
    }

    pub fn provider(self) -> Provider {
        match self {
            Api::AnthropicMessages => Provider::Anthropic,
            _ => Provider::OpenAi,
        }
    }

    /// `gen_ai.operation.name`.
    pub fn operation(self) -> &'static str {
        match self {
            Api::OpenAiEmbeddings => "embeddings",
            _ => "chat",
        }
    }
}

/// One recorded call: what was asked, what came back, and how it ended.
#[derive(Debug, Clone, Default)]
pub struct Call {
    /// The request body, when it was JSON.
    pub request: Option<Value>,
    /// The response body, when it was JSON; for a stream, the response the stream adds up to.
    pub response: Option<Value>,
    /// The provider's HTTP status; `None` when it never answered.
    pub status: Option<u16>,
    /// Why the call did not complete (the provider unreachable, the client gone mid-stream).
    pub failure: Option<String>,
    pub streamed: bool,
    /// Seconds from the request to the first streamed content.
    pub time_to_first_chunk: Option<f64>,
}

/// The span's name, as the GenAI conventions give it: `chat gpt-4o`.
pub fn span_name(api: Api, call: &Call) -> String {
    match request_model(call) {
        Some(model) => format!("{} {model}", api.operation()),
        None => api.operation().to_string(),
    }
}

fn request_model(call: &Call) -> Option<&str> {
    call.request.as_ref()?.get("model")?.as_str()
}

/// The error the span ends with, if the call failed: the provider's own message when it sent
/// one.
pub fn error(call: &Call) -> Option<String> {
    if let Some(failure) = &call.failure {
        return Some(failure.clone());
    }
    let status = call.status?;
    if status < 400 {
        return None;
    }
    let message = call
        .response
        .as_ref()
        .and_then(|r| r.pointer("/error/message"))
        .and_then(Value::as_str);
    Some(match message {
        Some(message) => format!("{status}: {message}"),
        None => format!("the provider answered {status}"),
    })
}

/// The span's attributes: GenAI conventions for what they name, `lemma.input` / `lemma.output`
/// for the bodies (from which normalisation derives the messages, as for any exporter that
/// records raw provider bodies).
pub fn attributes(api: Api, call: &Call) -> Map<String, Value> {
    let mut a = Map::new();
    a.insert("gen_ai.operation.name".into(), json!(api.operation()));
    a.insert("gen_ai.provider.name".into(), json!(api.provider().name()));
    if let Some(model) = request_model(call) {
        a.insert("gen_ai.request.model".into(), json!(model));
    }
    if let Some(request) = &call.request {
        request_parameters(request, &mut a);
        a.insert("lemma.input".into(), Value::String(request.to_string()));
    }
    if let Some(response) = &call.response {
        let failed = call.status.is_some_and(|s| s >= 400);
        if !failed {
            response_attributes(api, response, &mut a);
        }
        a.insert(
            "lemma.output".into(),
            Value::String(output_body(api, response).to_string()),
        );
    }
    if let Some(status) = call.status {
        a.insert("http.response.status_code".into(), json!(status));
        if status >= 400 {
            let kind = call
                .response
                .as_ref()
                .and_then(|r| r.pointer("/error/type"))
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| status.to_string());
            a.insert("error.type".into(), json!(kind));
        }
    }
    if call.streamed {
        a.insert("lemma.proxy.stream".into(), json!(true));
    }
    if let Some(ttfc) = call.time_to_first_chunk {
        a.insert("gen_ai.response.time_to_first_chunk".into(), json!(ttfc));
    }
    a
}

/// The request parameters the GenAI conventions name.
fn request_parameters(request: &Value, a: &mut Map<String, Value>) {
    for (key, attribute) in [
        ("temperature", "gen_ai.request.temperature"),
        ("top_p", "gen_ai.request.top_p"),
        ("max_tokens", "gen_ai.request.max_tokens"),
        ("max_completion_tokens", "gen_ai.request.max_tokens"),
        ("max_output_tokens", "gen_ai.request.max_tokens"),
        ("seed", "gen_ai.request.seed"),
    ] {
        if let Some(value) = request.get(key).filter(|v| v.is_number()) {
            a.insert(attribute.into(), value.clone());
        }
    }
}

fn response_attributes(api: Api, response: &Value, a: &mut Map<String, Value>) {
    if let Some(model) = response.get("model").and_then(Value::as_str) {
        a.insert("gen_ai.response.model".into(), json!(model));
    }
    // Embeddings answers have no id; the others' ids tie this call to the same call recorded by
    // an instrumentation in the calling process, so a run counts it once.
    if let Some(id) = response.get("id").and_then(Value::as_str) {
        a.insert("gen_ai.response.id".into(), json!(id));
    }
    let reasons = finish_reasons(api, response);
    if !reasons.is_empty() {
        a.insert("gen_ai.response.finish_reasons".into(), json!(reasons));
    }
    let usage = usage(api, response);
    for (key, count) in [
        ("gen_ai.usage.input_tokens", usage.input),
        ("gen_ai.usage.output_tokens", usage.output),
        ("gen_ai.usage.cache_read.input_tokens", usage.cache_read),
        ("gen_ai.usage.cache_write.input_tokens", usage.cache_write),
        ("gen_ai.usage.reasoning.output_tokens", usage.reasoning),
    ] {
        if let Some(count) = count {
            a.insert(key.into(), json!(count));
        }
    }
}

fn finish_reasons(api: Api, response: &Value) -> Vec<String> {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    match api {
        Api::OpenAiChat => response
            .get("choices")
            .and_then(Value::as_array)
            .map(|choices| {
                choices
                    .iter()
                    .filter_map(|c| text(c.get("finish_reason")))
                    .collect()
            })
            .unwrap_or_default(),
        Api::OpenAiResponses => text(response.pointer("/incomplete_details/reason"))
            .or_else(|| text(response.get("status")))
            .into_iter()
            .collect(),
        Api::AnthropicMessages => text(response.get("stop_reason")).into_iter().collect(),
        Api::OpenAiEmbeddings => Vec::new(),
    }
}

/// Token counts in Lemma's terms: input includes cache reads and writes, output includes
/// reasoning.
#[derive(Debug, Default, PartialEq)]
pub struct Usage {
    pub input: Option<u64>,
    pub output: Option<u64>,
    pub cache_read: Option<u64>,
    pub cache_write: Option<u64>,
    pub reasoning: Option<u64>,
}

pub fn usage(api: Api, response: &Value) -> Usage {
    let Some(u) = response.get("usage").filter(|u| u.is_object()) else {
        return Usage::default();
    };
    let at = |pointer: &str| u.pointer(pointer).and_then(as_u64);
    match api {
        // OpenAI's prompt count already includes its cached part, the completion count its
        // reasoning.
        Api::OpenAiChat => Usage {
            input: at("/prompt_tokens"),
            output: at("/completion_tokens"),
            cache_read: at("/prompt_tokens_details/cached_tokens"),
            cache_write: None,
            reasoning: at("/completion_tokens_details/reasoning_tokens"),
        },
        Api::OpenAiResponses => Usage {
            input: at("/input_tokens"),
            output: at("/output_tokens"),
            cache_read: at("/input_tokens_details/cached_tokens"),
            cache_write: None,
            reasoning: at("/output_tokens_details/reasoning_tokens"),
        },
        Api::OpenAiEmbeddings => Usage {
            input: at("/prompt_tokens"),
            ..Usage::default()
        },
        // Anthropic counts cache reads and writes apart from `input_tokens`.
        Api::AnthropicMessages => {
            let cache_read = at("/cache_read_input_tokens");
            let cache_write = at("/cache_creation_input_tokens");
            let input =
                at("/input_tokens").map(|n| n + cache_read.unwrap_or(0) + cache_write.unwrap_or(0));
            Usage {
                input,
                output: at("/output_tokens"),
                cache_read,
                cache_write,
                reasoning: None,
            }
        }
    }
}

/// The response body as recorded: embeddings vectors are replaced by their length, which is
/// what a person reading a trace can use of them.
fn output_body(api: Api, response: &Value) -> Value {
    if api != Api::OpenAiEmbeddings {
        return response.clone();
    }
    let mut response = response.clone();
    if let Some(data) = response.get_mut("data").and_then(Value::as_array_mut) {
        for item in data {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            let dimensions = match item.remove("embedding") {
                Some(Value::Array(values)) => json!(values.len()),
                // base64 floats: four bytes each.
                Some(Value::String(b64)) => json!(b64.len() * 3 / 4 / 4),
                _ => continue,
            };
            item.insert("dimensions".into(), dimensions);
        }
    }
    response
}
