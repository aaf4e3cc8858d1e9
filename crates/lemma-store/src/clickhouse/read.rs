//! Reads of one run: its spans in full, in outline, by id, or those matching a filter.

use clickhouse::Row;
use lemma_core::query::Filter;
use lemma_core::{Run, Span, SpanKind, SpanOutline, StatusCode};
use serde::Deserialize;

use super::filter::{condition, Target};
use super::runs::{self, live_spans, spans_of_every_generation};
use super::sql::Sql;
use super::{ch_err, logs, Inner};
use crate::encoding::decode_span;
use crate::{readable, ProjectId, Result, StoreError};

/// A run and every span of it, in start order, with their log records. The summary, the spans
/// and the records are read at once, spans and records of every generation the run had: the
/// summary's generation then picks the live ones.
pub async fn get_run(
    inner: &Inner,
    project: ProjectId,
    run_id: &str,
) -> Result<Option<(Run, Vec<Span>)>> {
    if !lemma_core::otlp::is_trace_id(run_id) {
        return Ok(None);
    }
    let (summary, rows, records) = tokio::try_join!(
        runs::summary_and_generation(inner, project, run_id),
        every_generation(inner, project, run_id),
        logs::of_run(inner, project, run_id, None),
    )?;
    let Some((run, generation)) = summary else {
        return Ok(None);
    };
    Ok(Some((run, live(rows, records, generation)?)))
}

/// The spans of `generation` among `rows`, decoded, with their log records from `records`.
fn live(
    rows: Vec<GenerationBodyRow>,
    records: Vec<logs::RecordRow>,
    generation: u32,
) -> Result<Vec<Span>> {
    let mut spans = Vec::with_capacity(rows.len());
    for row in rows.into_iter().filter(|r| r.generation == generation) {
        spans.extend(readable("span", decode_span(&row.body))?);
    }
    logs::attach_of_generation(&mut spans, records, generation)?;
    Ok(spans)
}

#[derive(Row, Deserialize)]
struct GenerationBodyRow {
    generation: u32,
    #[serde(with = "serde_bytes")]
    body: Vec<u8>,
}

/// The bodies of a run's spans in each generation, in start order.
async fn every_generation(
    inner: &Inner,
    project: ProjectId,
    run_id: &str,
) -> Result<Vec<GenerationBodyRow>> {
    let mut sql = Sql::new("SELECT generation, body FROM ");
    spans_of_every_generation(&mut sql, "body, start_ns, end_ns, span_id", project, run_id);
    sql.push(" ORDER BY start_ns, end_ns, span_id");
    generation_bodies(inner, &sql).await
}

async fn generation_bodies(inner: &Inner, sql: &Sql) -> Result<Vec<GenerationBodyRow>> {
    sql.query(&inner.client)
        .fetch_all()
        .await
        .map_err(|e| ch_err("reading spans", e))
}

#[derive(Row, Deserialize)]
struct OutlineRow {
    generation: u32,
    span_id: String,
    parent_span_id: Option<String>,
    name: String,
    kind: String,
    start_ns: u64,
    end_ns: u64,
    status: String,
    model: Option<String>,
    tool_name: Option<String>,
    agent_name: Option<String>,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    total_tokens: Option<u64>,
    cost_usd: Option<f64>,
}

const OUTLINE_COLUMNS: &str = "span_id, parent_span_id, name, kind, start_ns, end_ns, status,
    model, tool_name, agent_name, input_tokens, output_tokens, total_tokens, cost_usd";

fn outline_of(r: OutlineRow) -> Result<SpanOutline> {
    Ok(SpanOutline {
        kind: SpanKind::parse(&r.kind)
            .ok_or_else(|| StoreError::Backend(format!("unknown stored span kind {:?}", r.kind)))?,
        status: StatusCode::parse(&r.status)
            .ok_or_else(|| StoreError::Backend(format!("unknown stored status {:?}", r.status)))?,
        span_id: r.span_id,
        parent_span_id: r.parent_span_id,
        name: r.name,
        start_time_unix_nano: r.start_ns,
        end_time_unix_nano: r.end_ns,
        model: r.model,
        tool_name: r.tool_name,
        agent_name: r.agent_name,
        input_tokens: r.input_tokens,
        output_tokens: r.output_tokens,
        total_tokens: r.total_tokens,
        cost_usd: r.cost_usd,
    })
}

/// The light fields of every span of a run, in start order, without any payload. The spans of
/// every generation are read at once with the run's generation, which then picks the live
/// ones.
pub async fn run_outline(
    inner: &Inner,
    project: ProjectId,
    run_id: &str,
) -> Result<Option<Vec<SpanOutline>>> {
    if !lemma_core::otlp::is_trace_id(run_id) {
        return Ok(None);
    }
    let mut sql = Sql::new(format!("SELECT generation, {OUTLINE_COLUMNS} FROM "));
    spans_of_every_generation(&mut sql, OUTLINE_COLUMNS, project, run_id);
    sql.push(" ORDER BY start_ns, end_ns, span_id");
    let outline = async {
        sql.query(&inner.client)
            .fetch_all::<OutlineRow>()
            .await
            .map_err(|e| ch_err("reading a run's outline", e))
    };
    let (generation, rows) = tokio::try_join!(runs::generation(inner, project, run_id), outline)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows.into_iter().filter(|r| r.generation == generation) {
        out.extend(readable("span", outline_of(row))?);
    }
    Ok((!out.is_empty()).then_some(out))
}

/// Spans of a run by id, in start order, with their log records: the run's generation, the
/// spans and their records are read at once, like a whole run's.
pub async fn get_spans(
    inner: &Inner,
    project: ProjectId,
    run_id: &str,
    span_ids: Vec<String>,
) -> Result<Vec<Span>> {
    if !lemma_core::otlp::is_trace_id(run_id) || span_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new("SELECT generation, body FROM ");
    spans_of_every_generation(&mut sql, "body, start_ns, end_ns, span_id", project, run_id);
    let ids: Vec<&str> = span_ids.iter().map(|id| sql.bind(id.as_str())).collect();
    sql.push(&format!(
        " WHERE span_id IN ({}) ORDER BY start_ns, end_ns, span_id",
        ids.join(", ")
    ));
    let (generation, rows, records) = tokio::try_join!(
        runs::generation(inner, project, run_id),
        generation_bodies(inner, &sql),
        logs::of_run(inner, project, run_id, Some(&span_ids)),
    )?;
    live(rows, records, generation)
}

/// The `spans` columns a span filter may read (all but the payloads).
pub(super) const FILTER_COLUMNS: &str =
    "project_id, trace_id, span_id, generation, parent_span_id, name,
    kind, status, start_ns, end_ns, model, provider, tool_name, agent_name, thread_id, user_id,
    session_id, environment, service_name, input_tokens, output_tokens, total_tokens, cost_usd";

/// The ids of the run's live spans matching `filter`, in start order, at most `limit`.
pub async fn find_in_run(
    inner: &Inner,
    project: ProjectId,
    run_id: &str,
    filter: &Filter,
    limit: usize,
) -> Result<Vec<String>> {
    if !lemma_core::otlp::is_trace_id(run_id) {
        return Ok(Vec::new());
    }
    let mut test = Sql::default();
    condition(filter, Target::Spans, project, &mut test)?;
    let generation = runs::generation(inner, project, run_id).await?;
    let mut sql = Sql::new("SELECT s.span_id FROM ");
    live_spans(&mut sql, FILTER_COLUMNS, project, run_id, generation);
    sql.push(" AS s WHERE ");
    sql.push(&test.text);
    sql.params.extend(test.params);
    let l = sql.bind(limit as u64);
    sql.push(&format!(
        " ORDER BY s.start_ns, s.end_ns, s.span_id LIMIT {l}"
    ));
    sql.query(&inner.client)
        .fetch_all()
        .await
        .map_err(|e| ch_err("finding spans in a run", e))
}
