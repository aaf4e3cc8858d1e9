//! Payload encoding: JSON, zstd-compressed (agent payloads repeat a lot and compress well).
//!
//! Each thread keeps one compression and one decompression context: making a context costs
//! more than compressing a typical span.

use std::cell::RefCell;

use lemma_core::{Span, SpanDigest, SpanKind, StatusCode, Usage};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::{Map, Value};
use zstd::bulk::{Compressor, Decompressor};

use super::payload;
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

/// The `spans` columns `digest_from_row` reads, in order.
pub const DIGEST_COLUMNS: &str = "span_id, parent_span_id, name, kind, start_ns, end_ns, status,
     model, provider, input_tokens, output_tokens, total_tokens, cost_usd, tool_name, agent_name,
     thread_id, user_id, session_id, environment, digest";

/// A span's digest from a row selecting `DIGEST_COLUMNS` (from column 0).
pub fn digest_from_row(row: &rusqlite::Row) -> Result<SpanDigest, StoreError> {
    let bytes = row.get_ref(19).map_err(super::sql_err)?;
    let bytes = bytes.as_blob().map_err(backend)?;
    let rest: DigestRest = match bytes.first() {
        None => DigestRest::default(),
        Some(&REST_MARK) => from_json(&bytes[1..], "digest")?,
        Some(b'{') => return from_json(bytes, "digest"),
        Some(_) => return decode(bytes),
    };
    let get = |e: rusqlite::Error| super::sql_err(e);
    let tokens = |i: usize| -> Result<Option<u64>, StoreError> {
        Ok(row.get::<_, Option<i64>>(i).map_err(get)?.map(|v| v as u64))
    };
    let text = |i: usize| row.get::<_, Option<String>>(i).map_err(get);
    let kind: String = row.get(3).map_err(get)?;
    let status: String = row.get(6).map_err(get)?;
    Ok(SpanDigest {
        span_id: hex::encode(row.get::<_, Vec<u8>>(0).map_err(get)?),
        parent_span_id: row
            .get::<_, Option<Vec<u8>>>(1)
            .map_err(get)?
            .map(hex::encode),
        name: row.get(2).map_err(get)?,
        trace_name: rest.trace_name,
        kind: SpanKind::parse(&kind)
            .ok_or_else(|| StoreError::Backend(format!("unknown stored span kind {kind:?}")))?,
        start_time_unix_nano: row.get::<_, i64>(4).map_err(get)? as u64,
        end_time_unix_nano: row.get::<_, i64>(5).map_err(get)? as u64,
        status: StatusCode::parse(&status)
            .ok_or_else(|| StoreError::Backend(format!("unknown stored status {status:?}")))?,
        status_message: rest.status_message,
        model: text(7)?,
        provider: text(8)?,
        response_id: rest.response_id,
        usage: Usage {
            input_tokens: tokens(9)?,
            output_tokens: tokens(10)?,
            total_tokens: tokens(11)?,
            cache_read_tokens: rest.cache_read_tokens,
            cache_write_tokens: rest.cache_write_tokens,
            reasoning_tokens: rest.reasoning_tokens,
        },
        cost_usd: row.get(12).map_err(get)?,
        tool_name: text(13)?,
        tool_args: rest.tool_args,
        agent_name: text(14)?,
        thread_id: text(15)?,
        user_id: text(16)?,
        session_id: text(17)?,
        environment: text(18)?,
        tags: rest.tags,
        metadata: rest.metadata,
    })
}

/// A count or time as SQLite's signed integer, saturating: counts are bounded per span
/// (`lemma_core::model::MAX_TOKENS`) and times at extraction, but a run's sums may pass
/// `i64::MAX`, and a wrapped one would read back negative.
pub fn sql_u64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Hex id to the blob stored; ids were validated when the span was decoded.
pub fn id_blob(hex_id: &str) -> Vec<u8> {
    hex::decode(hex_id).unwrap_or_default()
}

/// A run ID from a request, checked.
pub fn run_id_blob(run_id: &str) -> Option<Vec<u8>> {
    lemma_core::otlp::is_trace_id(run_id).then(|| id_blob(run_id))
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
