//! Payload encoding: JSON, zstd-compressed (agent payloads repeat a lot and compress well).

use serde::{de::DeserializeOwned, Serialize};

use crate::StoreError;

const LEVEL: i32 = 3;

pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    let json = serde_json::to_vec(value).map_err(|e| StoreError::Backend(e.to_string()))?;
    zstd::bulk::compress(&json, LEVEL).map_err(|e| StoreError::Backend(e.to_string()))
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    let json = zstd::stream::decode_all(bytes).map_err(|e| StoreError::Backend(e.to_string()))?;
    serde_json::from_slice(&json).map_err(|e| StoreError::Backend(format!("corrupt payload: {e}")))
}

/// Hex id to the blob stored; ids were validated when the span was decoded.
pub fn id_blob(hex_id: &str) -> Vec<u8> {
    hex::decode(hex_id).unwrap_or_default()
}

/// A run ID from a request, checked.
pub fn run_id_blob(run_id: &str) -> Option<Vec<u8>> {
    lemma_core::otlp::is_trace_id(run_id).then(|| id_blob(run_id))
}
