//! Queries: runs, spans and threads, filtered by the compiled query language and paged by
//! cursor (newest first).

use lemma_core::query::Filter;
use lemma_core::run::summarize;
use lemma_core::{Run, Span};
use rusqlite::types::Value as Sql;
use rusqlite::{params_from_iter, Connection, OptionalExtension};

use super::blocks::{SpanBodies, BODY_COLUMNS};
use super::codec::{decode, run_id_blob};
use super::filter::{compile, run_list_index, Target};
use super::text::Parts;
use super::write::read_digests;
use super::{readable, sql_err};
use crate::encoding::meta_text;
use crate::order::after;
use crate::{
    Cursor, ListQuery, Page, ProjectId, Result, RunFacets, RunOrder, ThreadSummary, MAX_LIMIT,
};

fn limit(q: &ListQuery) -> usize {
    q.limit.clamp(1, MAX_LIMIT)
}

/// Runs a paged query whose rows end with (time, id blob) sort-key columns. A row whose item
/// cannot be read is left out (`readable`).
fn page<T>(
    conn: &Connection,
    sql: &str,
    params: Vec<Sql>,
    limit: usize,
    what: &str,
    mut item: impl FnMut(&rusqlite::Row) -> Result<(T, Cursor)>,
) -> Result<Page<T>> {
    let mut stmt = conn.prepare_cached(sql).map_err(sql_err)?;
    let mut rows = stmt.query(params_from_iter(params)).map_err(sql_err)?;
    let mut items = Vec::new();
    let mut last = None;
    let mut more = false;
    while let Some(row) = rows.next().map_err(sql_err)? {
        if items.len() == limit {
            more = true;
            break;
        }
        let Some((v, c)) = readable(what, item(row))? else {
            continue;
        };
        items.push(v);
        last = Some(c);
    }
    Ok(Page {
        items,
        next_cursor: if more { last.map(|c| c.encode()) } else { None },
    })
}

pub fn list_runs(conn: &Connection, project: ProjectId, q: &ListQuery) -> Result<Page<Run>> {
    let f = compile(
        &q.filter,
        Target::Runs,
        &Parts::for_filter(conn, &q.filter)?,
    )?;
    let mut params = vec![Sql::Integer(project.0)];
    params.extend(f.params);
    let order = q.order;
    let after = cursor_clause(
        q.position()?,
        order,
        "r.start_ns",
        "r.trace_id",
        &mut params,
    )?;
    let limit = limit(q);
    params.push(Sql::Integer(limit as i64 + 1));
    let sql = list_runs_sql(&q.filter, &f.sql, &after, order);
    page(conn, &sql, params, limit, "run summary", |row| {
        let run: Run = decode(&row.get::<_, Vec<u8>>(0).map_err(sql_err)?)?;
        let value: f64 = row.get(1).map_err(sql_err)?;
        let value = value as i64; // whole numbers (`RunSort::expression`)
        let cursor = Cursor {
            time_unix_nano: run.start_time_unix_nano,
            id: run.run_id.clone(),
            sorted: (order != RunOrder::default()).then_some((order, value)),
        };
        Ok((run, cursor))
    })
}

pub(super) fn list_runs_sql(
    filter: &Filter,
    condition: &str,
    after: &str,
    order: RunOrder,
) -> String {
    let hint = run_list_index(filter)
        .map(|index| format!("INDEXED BY {index}"))
        .unwrap_or_default();
    let value = order.by.expression().unwrap_or("0");
    let order_by = order.order_by("r.start_ns", "r.trace_id");
    format!(
        "SELECT r.summary, {value} FROM runs r {hint}
         WHERE r.project_id = ? AND ({condition}) {after} {order_by} LIMIT ?"
    )
}

/// `AND` the rows after the cursor in `order` (a sort value, then time and id); ids are hex
/// in cursors, blobs in rows.
fn cursor_clause(
    cursor: Option<&Cursor>,
    order: RunOrder,
    time: &str,
    id: &str,
    params: &mut Vec<Sql>,
) -> Result<String> {
    let Some(c) = cursor else {
        return Ok(String::new());
    };
    let id_value = hex::decode(&c.id).map(Sql::Blob).map_err(|_| {
        crate::StoreError::Invalid("invalid cursor: pass back a next_cursor unchanged".into())
    })?;
    let sorted = order
        .by
        .expression()
        .map(|_| Sql::Integer(c.sorted.map_or(0, |(_, v)| v)));
    let values: Vec<Sql> = sorted
        .into_iter()
        .chain([Sql::Integer(c.time_unix_nano as i64), id_value])
        .collect();
    let columns = order.columns(time, id);
    let text = after(&columns, order.ascending, |i| {
        params.push(values[i].clone());
        "?".into()
    });
    Ok(format!("AND {text}"))
}

/// A run's spans in start order. Without the hint SQLite may walk the project's time index to
/// skip the sort, reading every span of the project instead of the run's few.
pub(super) fn run_spans_sql() -> String {
    format!(
        "SELECT {BODY_COLUMNS} FROM spans INDEXED BY spans_id
         WHERE project_id = ?1 AND trace_id = ?2 ORDER BY start_ns, end_ns, span_id"
    )
}

pub fn get_run(
    conn: &Connection,
    project: ProjectId,
    run_id: &str,
) -> Result<Option<(Run, Vec<Span>)>> {
    let Some(trace) = run_id_blob(run_id) else {
        return Ok(None);
    };
    let summary: Option<Vec<u8>> = conn
        .query_row(
            "SELECT summary FROM runs WHERE project_id = ?1 AND trace_id = ?2",
            rusqlite::params![project.0, trace],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql_err)?;
    let Some(summary) = summary else {
        return Ok(None);
    };
    let mut spans = Vec::new();
    {
        let mut bodies = SpanBodies::new(conn);
        let mut stmt = conn.prepare_cached(&run_spans_sql()).map_err(sql_err)?;
        let mut rows = stmt
            .query(rusqlite::params![project.0, trace])
            .map_err(sql_err)?;
        while let Some(row) = rows.next().map_err(sql_err)? {
            spans.extend(readable("span", bodies.read(row, 0))?);
        }
    }
    super::logs::attach_trace(conn, project, run_id, &mut spans)?;
    let run = match readable("run summary", decode(&summary))? {
        Some(run) => run,
        // A run is a function of its spans: one whose summary cannot be read is summarised
        // again (without the root's payloads, which only a commit reads).
        None => summarize(run_id, &read_digests(conn, project, run_id)?),
    };
    Ok(Some((run, spans)))
}

pub fn search_spans(conn: &Connection, project: ProjectId, q: &ListQuery) -> Result<Page<Span>> {
    let f = compile(
        &q.filter,
        Target::Spans,
        &Parts::for_filter(conn, &q.filter)?,
    )?;
    let mut params = vec![Sql::Integer(project.0)];
    params.extend(f.params);
    let after = cursor_clause(
        q.position()?,
        RunOrder::default(),
        "s.start_ns",
        "s.span_id",
        &mut params,
    )?;
    let limit = limit(q);
    params.push(Sql::Integer(limit as i64 + 1));
    let sql = format!(
        "SELECT {BODY_COLUMNS} FROM spans s WHERE s.project_id = ? AND ({}) {after}
         ORDER BY s.start_ns DESC, s.span_id DESC LIMIT ?",
        f.sql
    );
    let mut bodies = SpanBodies::new(conn);
    let mut found = page(conn, &sql, params, limit, "span", |row| {
        let span = bodies.read(row, 0)?;
        let cursor = Cursor {
            time_unix_nano: span.start_time_unix_nano,
            id: span.span_id.clone(),
            sorted: None,
        };
        Ok((span, cursor))
    })?;
    super::logs::attach(conn, project, &mut found.items)?;
    Ok(found)
}

/// Tokens are summed with `TOTAL` (a float), not `SUM`: an integer `SUM` past `i64::MAX` is an
/// error, and a thread's listing must never fail on its counts.
const THREAD_COLUMNS: &str =
    "r.thread_id, COUNT(*), SUM(r.status = 'error'), MIN(r.start_ns), MAX(r.end_ns),
     MAX(r.start_ns), TOTAL(r.total_tokens), SUM(r.cost_usd), MAX(r.user_id),
     json_group_array(DISTINCT r.agent_name)";

/// One thread's summary; the hint keeps SQLite from scanning the project's runs to group them.
pub(super) fn thread_summary_sql() -> String {
    format!(
        "SELECT {THREAD_COLUMNS} FROM runs r INDEXED BY runs_thread
         WHERE r.project_id = ?1 AND r.thread_id = ?2 GROUP BY r.thread_id"
    )
}

fn thread_row(row: &rusqlite::Row) -> rusqlite::Result<ThreadSummary> {
    let agents: String = row.get(9)?;
    let agent_names: Vec<Option<String>> = serde_json::from_str(&agents).unwrap_or_default();
    Ok(ThreadSummary {
        thread_id: row.get(0)?,
        run_count: row.get::<_, i64>(1)? as u64,
        error_count: row.get::<_, i64>(2)? as u64,
        start_time_unix_nano: row.get::<_, i64>(3)? as u64,
        end_time_unix_nano: row.get::<_, i64>(4)? as u64,
        last_start_time_unix_nano: row.get::<_, i64>(5)? as u64,
        // Saturating, as every token sum.
        total_tokens: row.get::<_, f64>(6)? as u64,
        cost_usd: row.get(7)?,
        user_id: row.get(8)?,
        agent_names: agent_names.into_iter().flatten().collect(),
    })
}

pub fn list_threads(
    conn: &Connection,
    project: ProjectId,
    q: &ListQuery,
) -> Result<Page<ThreadSummary>> {
    let f = compile(
        &q.filter,
        Target::Runs,
        &Parts::for_filter(conn, &q.filter)?,
    )?;
    let mut params = vec![Sql::Integer(project.0)];
    params.extend(f.params);
    let having = match q.position()? {
        Some(c) => {
            params.extend([
                Sql::Integer(c.time_unix_nano as i64),
                Sql::Integer(c.time_unix_nano as i64),
                Sql::Text(c.id.clone()),
            ]);
            "HAVING MAX(r.start_ns) < ? OR (MAX(r.start_ns) = ? AND r.thread_id < ?)"
        }
        None => "",
    };
    let limit = limit(q);
    params.push(Sql::Integer(limit as i64 + 1));
    let sql = format!(
        "SELECT {THREAD_COLUMNS} FROM runs r
         WHERE r.project_id = ? AND r.thread_id IS NOT NULL AND ({})
         GROUP BY r.thread_id {having}
         ORDER BY MAX(r.start_ns) DESC, r.thread_id DESC LIMIT ?",
        f.sql
    );
    page(conn, &sql, params, limit, "thread", |row| {
        let t = thread_row(row).map_err(sql_err)?;
        let cursor = Cursor {
            time_unix_nano: t.last_start_time_unix_nano,
            id: t.thread_id.clone(),
            sorted: None,
        };
        Ok((t, cursor))
    })
}

pub fn get_thread(
    conn: &Connection,
    project: ProjectId,
    thread_id: &str,
) -> Result<Option<(ThreadSummary, Vec<Run>)>> {
    let summary = conn
        .query_row(
            &thread_summary_sql(),
            rusqlite::params![project.0, thread_id],
            thread_row,
        )
        .optional()
        .map_err(sql_err)?;
    let Some(summary) = summary else {
        return Ok(None);
    };
    let runs = decode_all(
        conn,
        "SELECT summary FROM runs WHERE project_id = ?1 AND thread_id = ?2 ORDER BY start_ns, trace_id",
        rusqlite::params![project.0, thread_id],
        "run summary",
        decode,
    )?;
    Ok(Some((summary, runs)))
}

/// Every row's first column, a compressed payload, read with `decode`; rows that cannot be
/// are left out (`readable`).
fn decode_all<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    what: &str,
    decode: impl Fn(&[u8]) -> Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql).map_err(sql_err)?;
    let mut rows = stmt.query(params).map_err(sql_err)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(sql_err)? {
        let payload = row.get_ref(0).map_err(sql_err)?;
        let payload = payload
            .as_blob()
            .map_err(|e| crate::StoreError::Backend(format!("stored payload: {e}")));
        out.extend(readable(what, payload.and_then(&decode))?);
    }
    Ok(out)
}

/// The suggested fields of the newest `limit` runs matching the filter (`Store::run_facets`).
pub fn run_facets(
    conn: &Connection,
    project: ProjectId,
    filter: &Filter,
    limit: usize,
) -> Result<Vec<RunFacets>> {
    let f = compile(filter, Target::Runs, &Parts::for_filter(conn, filter)?)?;
    let mut params = vec![Sql::Integer(project.0)];
    params.extend(f.params);
    params.push(Sql::Integer(limit as i64));
    let sql = format!(
        "SELECT r.agents, r.models, r.tools, r.tags, r.user_id, r.thread_id, r.environment,
                r.metadata
         FROM runs r WHERE r.project_id = ? AND ({})
         ORDER BY r.start_ns DESC, r.trace_id DESC LIMIT ?",
        f.sql
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(sql_err)?;
    let list = |text: String| serde_json::from_str::<Vec<String>>(&text).unwrap_or_default();
    let rows = stmt
        .query_map(params_from_iter(params), |row| {
            let metadata: String = row.get(7)?;
            let metadata =
                serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&metadata)
                    .unwrap_or_default();
            Ok(RunFacets {
                agents: list(row.get(0)?),
                models: list(row.get(1)?),
                tools: list(row.get(2)?),
                tags: list(row.get(3)?),
                user_id: row.get(4)?,
                thread_id: row.get(5)?,
                environment: row.get(6)?,
                metadata: metadata
                    .iter()
                    .map(|(k, v)| (k.clone(), meta_text(v)))
                    .collect(),
            })
        })
        .map_err(sql_err)?;
    rows.collect::<rusqlite::Result<_>>().map_err(sql_err)
}
