//! Payload encoding: JSON, zstd-compressed (agent payloads repeat a lot and compress well).
//!
//! Each thread keeps one compression and one decompression context: making a context costs
//! more than compressing a typical span.

use std::cell::RefCell;

use lemma_core::{Span, SpanDigest};
use serde::{de::DeserializeOwned, Serialize};
use zstd::bulk::{Compressor, Decompressor};

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
    let json = decompress(bytes)?;
    serde_json::from_slice(&json).map_err(|e| StoreError::Backend(format!("corrupt payload: {e}")))
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

/// A span as stored: without its message lists, which `messages::derive` rebuilds from the
/// attributes and events stored with it. A model call's conversation is then kept once (in
/// the attribute that carried it) instead of once more in canonical form.
pub fn encode_span(span: &mut Span) -> Result<Vec<u8>, StoreError> {
    let input = span.input_messages.take();
    let output = span.output_messages.take();
    let encoded = encode(span);
    span.input_messages = input;
    span.output_messages = output;
    encoded
}

/// A stored span with its message lists (spans stored before they were left out keep theirs).
pub fn decode_span(bytes: &[u8]) -> Result<Span, StoreError> {
    let mut span: Span = decode(bytes)?;
    if span.input_messages.is_none() && span.output_messages.is_none() {
        let (input, output) = lemma_core::messages::derive(&span);
        span.input_messages = input;
        span.output_messages = output;
    }
    Ok(span)
}

/// A span's digest as stored: compressed JSON.
pub fn encode_digest(digest: &SpanDigest) -> Result<Vec<u8>, StoreError> {
    encode(digest)
}

/// A stored digest; those written before digests were compressed are plain JSON.
pub fn decode_digest(bytes: &[u8]) -> Result<SpanDigest, StoreError> {
    if bytes.first() == Some(&b'{') {
        serde_json::from_slice(bytes)
            .map_err(|e| StoreError::Backend(format!("corrupt digest: {e}")))
    } else {
        decode(bytes)
    }
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
    fn digests_are_compressed_and_old_plain_ones_still_read() {
        let digest = SpanDigest {
            span_id: "1".repeat(16),
            name: "chat gpt-4o".into(),
            ..SpanDigest::default()
        };
        let stored = encode_digest(&digest).unwrap();
        assert_ne!(stored.first(), Some(&b'{'));
        assert_eq!(decode_digest(&stored).unwrap(), digest);
        assert_eq!(
            decode_digest(&serde_json::to_vec(&digest).unwrap()).unwrap(),
            digest
        );
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
