//! Rows as ClickHouse stores them (RowBinary, field order = column order in the SQL that
//! names `?fields`).

use clickhouse::Row;
use lemma_core::SpanDigest;
use serde::{Deserialize, Serialize};

use crate::encoding::{digest_from_parts, DigestColumns};
use crate::Result;

/// A span as inserted (and as re-pricing reads it back: the fields are the table's columns,
/// in order).
#[derive(Row, Serialize, Deserialize)]
pub struct SpanRow {
    pub project_id: i64,
    pub trace_id: String,
    pub span_id: String,
    pub generation: u32,
    pub version: u32,
    /// DateTime: unix seconds.
    pub inserted: u32,
    pub parent_span_id: Option<String>,
    pub name: String,
    pub kind: String,
    pub status: String,
    pub start_ns: u64,
    pub end_ns: u64,
    pub model: Option<String>,
    pub provider: Option<String>,
    pub tool_name: Option<String>,
    pub agent_name: Option<String>,
    pub thread_id: Option<String>,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub environment: Option<String>,
    pub service_name: Option<String>,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub total_tokens: Option<u64>,
    pub cost_usd: Option<f64>,
    pub cost_source: Option<String>,
    #[serde(with = "serde_bytes")]
    pub digest: Vec<u8>,
    #[serde(with = "serde_bytes")]
    pub body: Vec<u8>,
}

/// What a run's summary is computed from: a span's digest columns and rest.
#[derive(Row, Deserialize)]
pub struct DigestRow {
    pub project_id: i64,
    pub trace_id: String,
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
    #[serde(with = "serde_bytes")]
    pub digest: Vec<u8>,
    /// The span's re-pricing count, which orders its rows.
    pub version: u32,
    /// When the span arrived (DateTime: unix seconds).
    pub inserted: u32,
}

impl DigestRow {
    pub fn digest(self) -> Result<SpanDigest> {
        digest_from_parts(
            DigestColumns {
                span_id: self.span_id,
                parent_span_id: self.parent_span_id,
                name: self.name,
                kind: self.kind,
                start_ns: self.start_ns,
                end_ns: self.end_ns,
                status: self.status,
                model: self.model,
                provider: self.provider,
                input_tokens: self.input_tokens,
                output_tokens: self.output_tokens,
                total_tokens: self.total_tokens,
                cost_usd: self.cost_usd,
                tool_name: self.tool_name,
                agent_name: self.agent_name,
                thread_id: self.thread_id,
                user_id: self.user_id,
                session_id: self.session_id,
                environment: self.environment,
            },
            &self.digest,
        )
    }
}

/// A run summary as inserted and as listings read it.
#[derive(Row, Serialize, Deserialize, Default)]
pub struct RunRow {
    pub project_id: i64,
    pub trace_id: String,
    pub version: u64,
    pub deleted: u8,
    /// DateTime: unix seconds.
    pub first_inserted: u32,
    pub name: String,
    pub agent_name: Option<String>,
    pub status: String,
    pub start_ns: u64,
    pub end_ns: u64,
    pub duration_ms: f64,
    pub span_count: u64,
    pub error_count: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub total_tokens: u64,
    pub cost_usd: Option<f64>,
    pub thread_id: Option<String>,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub environment: Option<String>,
    pub has_root: u8,
    pub agents: Vec<String>,
    pub models: Vec<String>,
    pub tools: Vec<String>,
    pub tags: Vec<String>,
    pub signals: Vec<String>,
    pub kinds: Vec<String>,
    pub meta_keys: Vec<String>,
    pub meta_values: Vec<Option<String>>,
    pub usage_by_model: String,
    #[serde(with = "serde_bytes")]
    pub summary: Vec<u8>,
}

/// A word of a span's searchable text and where it occurs (clickhouse/text.rs).
#[derive(Row, Serialize)]
pub struct TermRow {
    pub project_id: i64,
    pub term: String,
    pub trace_id: String,
    pub generation: u32,
    /// The spans of the run (of one write) holding the word ...
    pub spans: Vec<String>,
    /// ... and the word's places in each of them.
    pub positions: Vec<Vec<u32>>,
    /// DateTime: unix seconds.
    pub inserted: u32,
}

/// A metric event as stored.
#[derive(Row, Serialize, Deserialize)]
pub struct MetricRow {
    pub project_id: i64,
    pub trace_id: String,
    pub generation: u32,
    pub id: String,
    pub span_id: Option<String>,
    pub name: String,
    pub kind: String,
    pub num: Option<f64>,
    pub text: Option<String>,
    pub comment: Option<String>,
    pub source: Option<String>,
    pub created_ns: u64,
    /// DateTime: unix seconds.
    pub inserted: u32,
}

/// An OTLP log record as stored.
#[derive(Row, Serialize, Deserialize)]
pub struct LogRow {
    pub project_id: i64,
    pub trace_id: String,
    pub span_id: String,
    pub generation: u32,
    pub hash: String,
    pub time_ns: u64,
    #[serde(with = "serde_bytes")]
    pub body: Vec<u8>,
    /// DateTime: unix seconds.
    pub inserted: u32,
}
