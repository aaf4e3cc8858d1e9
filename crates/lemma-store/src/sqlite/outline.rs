//! Reading a long run in pieces: its summary alone, its spans' light fields from the `spans`
//! columns (no body is inflated), one span in full, and which of its spans match a filter.

use lemma_core::query::Filter;
use lemma_core::{Run, Span, SpanKind, SpanOutline, StatusCode};
use rusqlite::types::Value as Sql;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};

use super::blocks::{SpanBodies, BODY_COLUMNS};
use super::codec::{decode, id_blob, run_id_blob};
use super::filter::{compile, Target};
use super::text::Parts;
use super::write::read_digests;
use super::{readable, sql_err};
use crate::{ProjectId, Result, StoreError};

pub fn run_summary(conn: &Connection, project: ProjectId, run_id: &str) -> Result<Option<Run>> {
    let Some(trace) = run_id_blob(run_id) else {
        return Ok(None);
    };
    let summary: Option<Vec<u8>> = conn
        .query_row(
            "SELECT summary FROM runs WHERE project_id = ?1 AND trace_id = ?2",
            params![project.0, trace],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql_err)?;
    let Some(summary) = summary else {
        return Ok(None);
    };
    Ok(Some(match readable("run summary", decode(&summary))? {
        Some(run) => run,
        // As `read::get_run`: a summary that cannot be read is made again from the digests.
        None => lemma_core::run::summarize(run_id, &read_digests(conn, project, run_id)?),
    }))
}

/// The `spans` columns `outline_row` reads, in order.
const OUTLINE_COLUMNS: &str = "span_id, parent_span_id, name, kind, start_ns, end_ns, status,
     model, tool_name, agent_name, input_tokens, output_tokens, total_tokens, cost_usd";

/// Every span's light fields, in start order; `None` when the project holds no span of the
/// run. The run's row ids come from `spans_id` (the hint keeps SQLite on the run's rows, see
/// `read::run_spans_sql`) and SQLite visits them in row id order, the order they were written
/// in: through the index directly it visits them by span id, at random across the table, and
/// a long run's rows outgrow a reader's page cache. They are sorted by start here, which at
/// 100k spans is cheaper than SQLite's sorter.
pub fn run_outline(
    conn: &Connection,
    project: ProjectId,
    run_id: &str,
) -> Result<Option<Vec<SpanOutline>>> {
    let Some(trace) = run_id_blob(run_id) else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached(&outline_sql()).map_err(sql_err)?;
    let mut rows = stmt.query(params![project.0, trace]).map_err(sql_err)?;
    let mut out = Vec::new();
    let mut any = false;
    while let Some(row) = rows.next().map_err(sql_err)? {
        any = true;
        out.extend(readable("span outline", outline_row(row))?);
    }
    out.sort_unstable_by(|a, b| {
        (a.start_time_unix_nano, a.end_time_unix_nano, &a.span_id).cmp(&(
            b.start_time_unix_nano,
            b.end_time_unix_nano,
            &b.span_id,
        ))
    });
    Ok(any.then_some(out))
}

pub(super) fn outline_sql() -> String {
    format!(
        "SELECT {OUTLINE_COLUMNS} FROM spans WHERE rowid IN
         (SELECT rowid FROM spans INDEXED BY spans_id WHERE project_id = ?1 AND trace_id = ?2)"
    )
}

fn outline_row(row: &Row) -> Result<SpanOutline> {
    let get = |e: rusqlite::Error| sql_err(e);
    let text = |i: usize| row.get::<_, Option<String>>(i).map_err(get);
    let count = |i: usize| -> Result<Option<u64>> {
        Ok(row.get::<_, Option<i64>>(i).map_err(get)?.map(|v| v as u64))
    };
    let kind: String = row.get(3).map_err(get)?;
    let status: String = row.get(6).map_err(get)?;
    Ok(SpanOutline {
        span_id: hex::encode(row.get_ref(0).map_err(get)?.as_blob().map_err(backend)?),
        parent_span_id: row
            .get_ref(1)
            .map_err(get)?
            .as_blob_or_null()
            .map_err(backend)?
            .map(hex::encode),
        name: row.get(2).map_err(get)?,
        kind: SpanKind::parse(&kind)
            .ok_or_else(|| StoreError::Backend(format!("unknown stored span kind {kind:?}")))?,
        start_time_unix_nano: row.get::<_, i64>(4).map_err(get)? as u64,
        end_time_unix_nano: row.get::<_, i64>(5).map_err(get)? as u64,
        status: StatusCode::parse(&status)
            .ok_or_else(|| StoreError::Backend(format!("unknown stored status {status:?}")))?,
        model: text(7)?,
        tool_name: text(8)?,
        agent_name: text(9)?,
        input_tokens: count(10)?,
        output_tokens: count(11)?,
        total_tokens: count(12)?,
        cost_usd: row.get(13).map_err(get)?,
    })
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("stored span: {e}"))
}

/// One span of the run in full, its log records joined.
pub fn get_span(
    conn: &Connection,
    project: ProjectId,
    run_id: &str,
    span_id: &str,
) -> Result<Option<Span>> {
    let (Some(trace), true) = (run_id_blob(run_id), is_span_id(span_id)) else {
        return Ok(None);
    };
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {BODY_COLUMNS} FROM spans
             WHERE project_id = ?1 AND trace_id = ?2 AND span_id = ?3"
        ))
        .map_err(sql_err)?;
    let mut rows = stmt
        .query(params![project.0, trace, id_blob(span_id)])
        .map_err(sql_err)?;
    let Some(row) = rows.next().map_err(sql_err)? else {
        return Ok(None);
    };
    // A span that cannot be read is an error here, not left out: it is all that was asked.
    let mut span = SpanBodies::new(conn).read(row, 0)?;
    super::logs::attach(conn, project, std::slice::from_mut(&mut span))?;
    Ok(Some(span))
}

/// Spans of the run by id, in full with their log records, in start order; ids the run does
/// not hold are skipped. Each block is inflated once however many of its spans are asked for.
pub fn get_spans(
    conn: &Connection,
    project: ProjectId,
    run_id: &str,
    span_ids: &[String],
) -> Result<Vec<Span>> {
    let Some(trace) = run_id_blob(run_id) else {
        return Ok(Vec::new());
    };
    let ids: Vec<&String> = span_ids.iter().filter(|id| is_span_id(id)).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; ids.len()].join(",");
    let mut params = vec![Sql::Integer(project.0), Sql::Blob(trace)];
    params.extend(ids.iter().map(|id| Sql::Blob(id_blob(id))));
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {BODY_COLUMNS} FROM spans
             WHERE project_id = ? AND trace_id = ? AND span_id IN ({marks})
             ORDER BY start_ns, end_ns, span_id"
        ))
        .map_err(sql_err)?;
    let mut rows = stmt.query(params_from_iter(params)).map_err(sql_err)?;
    let mut bodies = SpanBodies::new(conn);
    let mut spans = Vec::new();
    while let Some(row) = rows.next().map_err(sql_err)? {
        spans.extend(readable("span", bodies.read(row, 0))?);
    }
    super::logs::attach(conn, project, &mut spans)?;
    Ok(spans)
}

fn is_span_id(id: &str) -> bool {
    id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The ids of the run's spans matching `filter`, in start order, at most `limit`.
pub fn find_in_run(
    conn: &Connection,
    project: ProjectId,
    run_id: &str,
    filter: &Filter,
    limit: usize,
) -> Result<Vec<String>> {
    let Some(trace) = run_id_blob(run_id) else {
        return Ok(Vec::new());
    };
    let f = compile(filter, Target::Spans, &Parts::for_filter(conn, filter)?)?;
    let mut params = vec![Sql::Integer(project.0), Sql::Blob(trace)];
    params.extend(f.params);
    params.push(Sql::Integer(limit.min(i64::MAX as usize) as i64));
    let sql = format!(
        "SELECT s.span_id FROM spans s INDEXED BY spans_id
         WHERE s.project_id = ? AND s.trace_id = ? AND ({})
         ORDER BY s.start_ns, s.end_ns, s.span_id LIMIT ?",
        f.sql
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(sql_err)?;
    let ids = stmt
        .query_map(params_from_iter(params), |r| r.get::<_, Vec<u8>>(0))
        .map_err(sql_err)?
        .map(|id| id.map(hex::encode).map_err(sql_err))
        .collect();
    ids
}
