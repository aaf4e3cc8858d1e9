//! How spans, digests and summaries are stored, the same in every store: JSON,
//! zstd-compressed (agent payloads repeat a lot and compress well).
//!
//! Each thread keeps one compression and one decompression context: making a context costs
//! more than compressing a typical span.

use std::cell::RefCell;

use lemma_core::{Span, SpanDigest, SpanKind, StatusCode, Usage};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::{Map, Value};
use zstd::bulk::{Compressor, Decompressor};

mod payload;
use crate::StoreError;

const LEVEL: i32 = 3;

/// The largest payload a frame may claim to hold when read back (a span is bounded by the
/// request size limit, far below this).
const MAX_DECODED_BYTES: u64 = 1 << 30;

thread_local! {
    static COMPRESSOR: RefCell<Option<Compressor<'static>>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<Decompressor<'static>>> = const { RefCell::new(None) };
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    let json = serde_json::to_vec(value).map_err(backend)?;
    compress(&json)
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    from_json(&decompress(bytes)?, "payload")
}

/// The depth stored JSON is read to. Values nest at most `MAX_DEPTH` levels and sit a few
/// levels into what stores them (a span's event attributes: three), so this leaves what new
/// rows hold whole, and what the API wraps around it within the 128 levels clients read.
const STORED_DEPTH: usize = lemma_core::value::MAX_DEPTH + 8;

/// Reads stored JSON. Rows stored before values were bounded (`lemma_core::value`) may nest
/// deeper than serde_json reads; rather than lift its limit (unbounded recursion, and answers
/// no client could read), their parts past `STORED_DEPTH` are read as JSON text.
pub fn from_json<T: DeserializeOwned>(json: &[u8], what: &str) -> Result<T, StoreError> {
    serde_json::from_slice(json)
        .or_else(
            |e| match lemma_core::value::cap_json_text(json, STORED_DEPTH) {
                Some(capped) => serde_json::from_slice(&capped),
                None => Err(e),
            },
        )
        .map_err(|e| StoreError::Backend(format!("corrupt {what}: {e}")))
}

pub fn compress(data: &[u8]) -> Result<Vec<u8>, StoreError> {
    COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(Compressor::new(LEVEL).map_err(backend)?);
        }
        slot.as_mut()
            .expect("set above")
            .compress(data)
            .map_err(backend)
    })
}

pub fn decompress(frame: &[u8]) -> Result<Vec<u8>, StoreError> {
    let size = match zstd::zstd_safe::get_frame_content_size(frame) {
        Ok(Some(size)) if size <= MAX_DECODED_BYTES => size as usize,
        // Frames without a recorded size (none are written so) take the streaming path.
        Ok(None) => return zstd::stream::decode_all(frame).map_err(backend),
        _ => return Err(StoreError::Backend("corrupt payload frame".into())),
    };
    DECOMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(Decompressor::new().map_err(backend)?);
        }
        slot.as_mut()
            .expect("set above")
            .decompress(frame, size)
            .map_err(backend)
    })
}

/// A span as stored, uncompressed: JSON without what it can be rebuilt from.
///
/// - Its message lists, which `messages::derive` rebuilds from the attributes and events.
/// - Its `input`, `output` and `tool_args` when an attribute holds them as received (usually
///   as JSON text, e.g. `gen_ai.input.messages`): a marker naming the attribute takes their
///   place (`payload::marker`).
///
/// A model call's conversation is then stored once, in the attribute that carried it, instead
/// of three times.
pub fn encode_stored_span(span: &mut Span) -> Result<Vec<u8>, StoreError> {
    let input_messages = span.input_messages.take();
    let output_messages = span.output_messages.take();
    let mut kept: [Option<Value>; 3] = Default::default();
    {
        let Span {
            input,
            output,
            tool_args,
            attributes,
            ..
        } = &mut *span;
        for (slot, field) in kept.iter_mut().zip([input, output, tool_args]) {
            if let Some(marker) = field.as_ref().and_then(|v| payload::marker(attributes, v)) {
                *slot = field.replace(marker);
            }
        }
    }
    let json = serde_json::to_vec(span).map_err(backend);
    for (slot, field) in kept.into_iter().zip(payload::fields(span)) {
        if slot.is_some() {
            *field = slot;
        }
    }
    span.input_messages = input_messages;
    span.output_messages = output_messages;
    json
}

/// A span stored alone (see `blocks` for the usual case): compressed.
pub fn encode_span(span: &mut Span) -> Result<Vec<u8>, StoreError> {
    compress(&encode_stored_span(span)?)
}

/// A span stored alone, made whole.
pub fn decode_span(bytes: &[u8]) -> Result<Span, StoreError> {
    span_from_json(&decompress(bytes)?)
}

/// A stored span's JSON, made whole again (spans stored before payloads were left out keep
/// theirs).
pub fn span_from_json(json: &[u8]) -> Result<Span, StoreError> {
    let mut span: Span = from_json(json, "span")?;
    let attributes = std::mem::take(&mut span.attributes);
    // Input and output rebuilt from an attribute's JSON, by that attribute's key: the messages
    // are read from the same attribute, which is then not parsed again. `payload::fields` lists
    // input and output first, in this order.
    let mut parsed_from: [Option<String>; 2] = [None, None];
    for (i, field) in payload::fields(&mut span).into_iter().enumerate() {
        let Some(marker) = field.as_ref() else {
            continue;
        };
        if let Some(value) = payload::resolve(&attributes, marker) {
            if let Some(slot) = parsed_from.get_mut(i) {
                *slot = payload::parsed_from(&attributes, marker).map(str::to_string);
            }
            *field = Some(value?);
        }
    }
    span.attributes = attributes;
    if span.input_messages.is_none() && span.output_messages.is_none() {
        let parsed: Vec<(&str, &Value)> = parsed_from
            .iter()
            .zip([&span.input, &span.output])
            .filter_map(|(key, value)| Some((key.as_deref()?, value.as_ref()?)))
            .collect();
        let (input, output) =
            lemma_core::messages::derive_parsed(&span, lemma_core::messages::Parsed::new(&parsed));
        span.input_messages = input;
        span.output_messages = output;
    }
    Ok(span)
}

/// What a span's digest holds beyond the span's own columns. One-letter names: a digest is
/// stored with every span.
#[derive(Default, Serialize, Deserialize)]
struct DigestRest {
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    trace_name: Option<String>,
    #[serde(rename = "m", default, skip_serializing_if = "Option::is_none")]
    status_message: Option<String>,
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    response_id: Option<String>,
    #[serde(rename = "cr", default, skip_serializing_if = "Option::is_none")]
    cache_read_tokens: Option<u64>,
    #[serde(rename = "cw", default, skip_serializing_if = "Option::is_none")]
    cache_write_tokens: Option<u64>,
    #[serde(rename = "rt", default, skip_serializing_if = "Option::is_none")]
    reasoning_tokens: Option<u64>,
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    tool_args: Option<String>,
    #[serde(rename = "t", default, skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
    #[serde(rename = "d", default, skip_serializing_if = "Map::is_empty")]
    metadata: Map<String, Value>,
    #[serde(rename = "k", default, skip_serializing_if = "Vec::is_empty")]
    marks: Vec<lemma_core::signals::SpanMark>,
}

/// Marks a digest that holds only `DigestRest`; earlier ones were the whole digest, as plain
/// JSON (`{`) or a zstd frame.
const REST_MARK: u8 = 1;

/// A span's digest as stored: the part its columns do not hold, as JSON after a mark byte, or
/// nothing at all (most spans).
pub fn encode_digest(digest: &SpanDigest) -> Result<Vec<u8>, StoreError> {
    let rest = DigestRest {
        trace_name: digest.trace_name.clone(),
        status_message: digest.status_message.clone(),
        response_id: digest.response_id.clone(),
        cache_read_tokens: digest.usage.cache_read_tokens,
        cache_write_tokens: digest.usage.cache_write_tokens,
        reasoning_tokens: digest.usage.reasoning_tokens,
        tool_args: digest.tool_args.clone(),
        tags: digest.tags.clone(),
        metadata: digest.metadata.clone(),
        marks: digest.marks.clone(),
    };
    let json = serde_json::to_vec(&rest).map_err(backend)?;
    if json == b"{}" {
        return Ok(Vec::new());
    }
    let mut out = Vec::with_capacity(json.len() + 1);
    out.push(REST_MARK);
    out.extend_from_slice(&json);
    Ok(out)
}

/// Where a span's cost came from, as its column stores it.
pub fn cost_source_name(source: lemma_core::CostSource) -> &'static str {
    match source {
        lemma_core::CostSource::Provided => "provided",
        lemma_core::CostSource::Computed => "computed",
    }
}

/// The columns a span's digest is stored in besides its rest (`encode_digest`), as every
/// store keeps them: ids in hex, kind and status as their names.
pub struct DigestColumns {
    pub span_id: String,
    pub parent_span_id: Option<String>,
    pub name: String,
    pub kind: String,
    pub start_ns: u64,
    pub end_ns: u64,
    pub status: String,
    pub model: Option<String>,
    pub provider: Option<String>,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub total_tokens: Option<u64>,
    pub cost_usd: Option<f64>,
    pub tool_name: Option<String>,
    pub agent_name: Option<String>,
    pub thread_id: Option<String>,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub environment: Option<String>,
}

/// A span's digest from its columns and its stored rest (`encode_digest`, or an older whole
/// digest).
pub fn digest_from_parts(c: DigestColumns, rest: &[u8]) -> Result<SpanDigest, StoreError> {
    let rest: DigestRest = match rest.first() {
        None => DigestRest::default(),
        Some(&REST_MARK) => from_json(&rest[1..], "digest")?,
        Some(b'{') => return from_json(rest, "digest"),
        Some(_) => return decode(rest),
    };
    Ok(SpanDigest {
        span_id: c.span_id,
        parent_span_id: c.parent_span_id,
        name: c.name,
        trace_name: rest.trace_name,
        kind: SpanKind::parse(&c.kind)
            .ok_or_else(|| StoreError::Backend(format!("unknown stored span kind {:?}", c.kind)))?,
        start_time_unix_nano: c.start_ns,
        end_time_unix_nano: c.end_ns,
        status: StatusCode::parse(&c.status)
            .ok_or_else(|| StoreError::Backend(format!("unknown stored status {:?}", c.status)))?,
        status_message: rest.status_message,
        model: c.model,
        provider: c.provider,
        response_id: rest.response_id,
        usage: Usage {
            input_tokens: c.input_tokens,
            output_tokens: c.output_tokens,
            total_tokens: c.total_tokens,
            cache_read_tokens: rest.cache_read_tokens,
            cache_write_tokens: rest.cache_write_tokens,
            reasoning_tokens: rest.reasoning_tokens,
        },
        cost_usd: c.cost_usd,
        tool_name: c.tool_name,
        tool_args: rest.tool_args,
        agent_name: c.agent_name,
        thread_id: c.thread_id,
        user_id: c.user_id,
        session_id: c.session_id,
        environment: c.environment,
        tags: rest.tags,
        metadata: rest.metadata,
        marks: rest.marks,
    })
}

/// A metadata value as filters compare it: text as is, numbers as written, booleans as 1 or
/// 0, null as absent, anything else as its JSON (as the embedded store's `json_extract`).
pub(crate) fn meta_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.into()),
        Value::Number(n) => Some(n.to_string()),
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip_and_corruption_is_an_error() {
        let value = serde_json::json!({"text": "x".repeat(10_000), "n": [1, 2, 3]});
        let bytes = encode(&value).unwrap();
        assert!(bytes.len() < 1_000);
        assert_eq!(decode::<serde_json::Value>(&bytes).unwrap(), value);
        assert_eq!(
            decode::<serde_json::Value>(&encode(&value).unwrap()).unwrap(),
            value
        );
        assert!(decode::<serde_json::Value>(b"not zstd").is_err());
        assert!(decode::<serde_json::Value>(&bytes[..bytes.len() / 2]).is_err());
    }

    #[test]
    fn spans_are_stored_without_message_lists_and_read_back_with_them() {
        let mut span = Span {
            trace_id: "0".repeat(32),
            span_id: "1".repeat(16),
            name: "chat".into(),
            ..Span::default()
        };
        span.attributes
            .insert("gen_ai.operation.name".into(), "chat".into());
        span.attributes.insert(
            "gen_ai.input.messages".into(),
            r#"[{"role":"user","parts":[{"type":"text","content":"Where is order 42?"}]}]"#.into(),
        );
        lemma_core::semconv::normalize(&mut span);
        assert!(span.input_messages.is_some());
        let stored = encode_span(&mut span).unwrap();
        assert!(
            span.input_messages.is_some(),
            "the caller's span is left whole"
        );
        let raw: serde_json::Value = decode(&stored).unwrap();
        assert!(
            raw.get("input_messages").is_none_or(|m| m.is_null()),
            "{raw}"
        );
        assert_eq!(decode_span(&stored).unwrap(), span);
    }
}
