//! Stored values as SQLite rows hold them: the shared encoding (`crate::encoding`), ids as
//! blobs, counts as signed integers.

pub use crate::encoding::*;

use lemma_core::SpanDigest;

use super::sql_err;
use crate::StoreError;

/// The `spans` columns `digest_from_row` reads, in order.
pub const DIGEST_COLUMNS: &str = "span_id, parent_span_id, name, kind, start_ns, end_ns, status,
     model, provider, input_tokens, output_tokens, total_tokens, cost_usd, tool_name, agent_name,
     thread_id, user_id, session_id, environment, digest";

/// A span's digest from a row selecting `DIGEST_COLUMNS` (from column 0).
pub fn digest_from_row(row: &rusqlite::Row) -> Result<SpanDigest, StoreError> {
    let tokens = |i: usize| -> Result<Option<u64>, StoreError> {
        Ok(row
            .get::<_, Option<i64>>(i)
            .map_err(sql_err)?
            .map(|v| v as u64))
    };
    let text = |i: usize| row.get::<_, Option<String>>(i).map_err(sql_err);
    let rest = row.get_ref(19).map_err(sql_err)?;
    let rest = rest
        .as_blob()
        .map_err(|e| StoreError::Backend(e.to_string()))?;
    let columns = DigestColumns {
        span_id: hex::encode(row.get::<_, Vec<u8>>(0).map_err(sql_err)?),
        parent_span_id: row
            .get::<_, Option<Vec<u8>>>(1)
            .map_err(sql_err)?
            .map(hex::encode),
        name: row.get(2).map_err(sql_err)?,
        kind: row.get(3).map_err(sql_err)?,
        start_ns: row.get::<_, i64>(4).map_err(sql_err)? as u64,
        end_ns: row.get::<_, i64>(5).map_err(sql_err)? as u64,
        status: row.get(6).map_err(sql_err)?,
        model: text(7)?,
        provider: text(8)?,
        input_tokens: tokens(9)?,
        output_tokens: tokens(10)?,
        total_tokens: tokens(11)?,
        cost_usd: row.get(12).map_err(sql_err)?,
        tool_name: text(13)?,
        agent_name: text(14)?,
        thread_id: text(15)?,
        user_id: text(16)?,
        session_id: text(17)?,
        environment: text(18)?,
    };
    digest_from_parts(columns, rest)
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
