//! Reads of one run: its spans in full, in outline, by id, or those matching a filter.

use clickhouse::Row;
use lemma_core::query::Filter;
use lemma_core::{Run, Span, SpanKind, SpanOutline, StatusCode};
use serde::Deserialize;

use super::filter::{condition, Target};
use super::rows::BodyRow;
use super::runs::{self, live_spans};
use super::sql::Sql;
use super::{ch_err, logs, Inner};
use crate::encoding::decode_span;
use crate::{readable, ProjectId, Result, StoreError};

/// A run and every span of it, in start order, with their log records.
pub async fn get_run(
    inner: &Inner,
    project: ProjectId,
    run_id: &str,
) -> Result<Option<(Run, Vec<Span>)>> {
    let Some((run, generation)) = runs::summary_and_generation(inner, project, run_id).await?
    else {
        return Ok(None);
    };
    let mut sql = Sql::new("SELECT body FROM ");
    live_spans(
        &mut sql,
        "body, start_ns, end_ns, span_id",
        project,
        run_id,
        generation,
    );
    sql.push(" ORDER BY start_ns, end_ns, span_id");
    let mut spans = bodies(inner, &sql).await?;
    logs::attach_run(inner, project, run_id, generation, &mut spans).await?;
    Ok(Some((run, spans)))
}

async fn bodies(inner: &Inner, sql: &Sql) -> Result<Vec<Span>> {
    let rows: Vec<BodyRow> = sql
        .query(&inner.client)
        .fetch_all()
        .await
        .map_err(|e| ch_err("reading spans", e))?;
    let mut spans = Vec::with_capacity(rows.len());
    for row in rows {
        spans.extend(readable("span", decode_span(&row.body))?);
    }
    Ok(spans)
}

#[derive(Row, Deserialize)]
struct OutlineRow {
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

/// The light fields of every span of a run, in start order, without any payload.
pub async fn run_outline(
    inner: &Inner,
    project: ProjectId,
    run_id: &str,
) -> Result<Option<Vec<SpanOutline>>> {
    if !lemma_core::otlp::is_trace_id(run_id) {
        return Ok(None);
    }
    let generation = runs::generation(inner, project, run_id).await?;
    let mut sql = Sql::new(format!("SELECT {OUTLINE_COLUMNS} FROM "));
    live_spans(&mut sql, OUTLINE_COLUMNS, project, run_id, generation);
    sql.push(" ORDER BY start_ns, end_ns, span_id");
    let rows: Vec<OutlineRow> = sql
        .query(&inner.client)
        .fetch_all()
        .await
        .map_err(|e| ch_err("reading a run's outline", e))?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.extend(readable("span", outline_of(row))?);
    }
    Ok(Some(out))
}

/// Spans of a run by id, in start order, with their log records.
pub async fn get_spans(
    inner: &Inner,
    project: ProjectId,
    run_id: &str,
    span_ids: Vec<String>,
) -> Result<Vec<Span>> {
    if !lemma_core::otlp::is_trace_id(run_id) || span_ids.is_empty() {
        return Ok(Vec::new());
    }
    let generation = runs::generation(inner, project, run_id).await?;
    let mut sql = Sql::new("SELECT body FROM ");
    live_spans(
        &mut sql,
        "body, start_ns, end_ns, span_id",
        project,
        run_id,
        generation,
    );
    let ids: Vec<&str> = span_ids.iter().map(|id| sql.bind(id.as_str())).collect();
    sql.push(&format!(
        " WHERE span_id IN ({}) ORDER BY start_ns, end_ns, span_id",
        ids.join(", ")
    ));
    let mut spans = bodies(inner, &sql).await?;
    logs::attach_run(inner, project, run_id, generation, &mut spans).await?;
    Ok(spans)
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
