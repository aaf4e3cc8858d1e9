//! Listings across a project: runs, spans and threads, filtered by the query language and
//! paged by cursor (newest first), as the embedded store lists them (`sqlite/read.rs`).
//!
//! Runs and spans are read in two steps: the page's keys first, from the few columns the
//! filter and the order need, then the payloads (summaries, span bodies) of just those rows.
//! ClickHouse reads every column a query names for every row the query sorts, so one query
//! would read the payload of every candidate row to return a page of them.

use std::collections::HashMap;

use clickhouse::Row;
use lemma_core::query::Filter;
use lemma_core::{Run, Span};
use serde::Deserialize;

use super::filter::{condition, split_by_version, Target};
use super::runs::live_runs;
use super::sql::{Param, Sql};
use super::{ch_err, logs, Inner};
use crate::encoding::{decode, decode_span};
use crate::order::after;
use crate::{
    readable, Cursor, ListQuery, Page, ProjectId, Result, RunFacets, RunOrder, StoreError,
    ThreadSummary, MAX_LIMIT,
};

fn limit(q: &ListQuery) -> usize {
    q.limit.clamp(1, MAX_LIMIT)
}

/// A page of the items `keys` (the query's rows, at most `limit + 1`) stand for, as the
/// embedded store pages: an item that cannot be read is left out, and there is a next page
/// when a row is left after `limit` items.
fn page<K, T>(
    keys: Vec<K>,
    limit: usize,
    mut item: impl FnMut(K) -> Result<Option<(T, Cursor)>>,
) -> Result<Page<T>> {
    let mut items = Vec::new();
    let mut last = None;
    let mut more = false;
    for key in keys {
        if items.len() == limit {
            more = true;
            break;
        }
        let Some((v, c)) = item(key)? else {
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

/// ` AND` the rows after the cursor in `order` (a sort value, then time and id), for a
/// listing of hex ids.
fn cursor_clause(
    sql: &mut Sql,
    cursor: Option<&Cursor>,
    order: RunOrder,
    time: &str,
    id: &str,
) -> Result<()> {
    let Some(c) = cursor else {
        return Ok(());
    };
    if hex::decode(&c.id).is_err() {
        return Err(StoreError::Invalid(
            "invalid cursor: pass back a next_cursor unchanged".into(),
        ));
    }
    let sorted = order
        .by
        .expression()
        .map(|_| c.sorted.map_or(0, |(_, v)| v).into());
    let values: Vec<Param> = sorted
        .into_iter()
        .chain([c.time_unix_nano.into(), c.id.to_ascii_lowercase().into()])
        .collect();
    let text = after(&order.columns(time, id), order.ascending, |i| {
        sql.bind(values[i].clone()).to_string()
    });
    sql.push(" AND ").push(&text);
    Ok(())
}

async fn fetch<T>(inner: &Inner, sql: &Sql, what: &str) -> Result<Vec<T>>
where
    T: clickhouse::RowOwned + clickhouse::RowRead,
{
    sql.query(&inner.client)
        .fetch_all()
        .await
        .map_err(|e| ch_err(what, e))
}

pub async fn list_runs(inner: &Inner, project: ProjectId, q: &ListQuery) -> Result<Page<Run>> {
    let limit = limit(q);
    let order = q.order;
    let value = order.by.expression().unwrap_or("0");
    let mut sql = Sql::new(format!(
        "SELECT r.trace_id, r.version, toInt64({value}) FROM "
    ));
    live_runs(&mut sql, project);
    sql.push(" AS r WHERE ");
    condition(&q.filter, Target::Runs, project, &mut sql)?;
    cursor_clause(&mut sql, q.position()?, order, "r.start_ns", "r.trace_id")?;
    let l = sql.bind(limit as u64 + 1);
    sql.push(&order.order_by("r.start_ns", "r.trace_id"))
        .push(&format!(" LIMIT {l}"));
    let rows: Vec<(String, u64, i64)> = fetch(inner, &sql, "listing runs").await?;
    let keys: Vec<(String, u64)> = rows.iter().map(|(t, v, _)| (t.clone(), *v)).collect();
    let mut summaries = summaries(inner, project, &keys).await?;
    page(rows, limit, |(trace_id, version, value)| {
        let Some(summary) = summaries.remove(&(trace_id, version)) else {
            return Ok(None);
        };
        Ok(
            readable("run summary", decode::<Run>(&summary))?.map(|run| {
                let cursor = Cursor {
                    time_unix_nano: run.start_time_unix_nano,
                    id: run.run_id.clone(),
                    sorted: (order != RunOrder::default()).then_some((order, value)),
                };
                (run, cursor)
            }),
        )
    })
}

#[derive(Row, Deserialize)]
struct SummaryRow {
    trace_id: String,
    version: u64,
    #[serde(with = "serde_bytes")]
    summary: Vec<u8>,
}

/// The summaries of the given (trace id, version) rows.
async fn summaries(
    inner: &Inner,
    project: ProjectId,
    keys: &[(String, u64)],
) -> Result<HashMap<(String, u64), Vec<u8>>> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let mut sql = Sql::new("SELECT trace_id, version, summary FROM runs WHERE project_id = ");
    let p = sql.bind(project.0);
    sql.push(p);
    sql.push(" AND (trace_id, version) IN (");
    sql.push_tuples(keys, |(t, v)| vec![t.as_str().into(), (*v).into()]);
    sql.push(") LIMIT 1 BY trace_id, version");
    let rows: Vec<SummaryRow> = fetch(inner, &sql, "reading run summaries").await?;
    Ok(rows
        .into_iter()
        .map(|r| ((r.trace_id, r.version), r.summary))
        .collect())
}

/// A span's newest stored row.
#[derive(Row, Deserialize)]
struct SpanKey {
    trace_id: String,
    span_id: String,
    generation: u32,
    version: u32,
}

/// Spans matching the filter across the project's live runs, newest first.
///
/// A span may have several rows (a write retried on another server, a re-pricing's newer
/// `version`): the newest version is the span (of equal ones, the row stored first). Clauses
/// every row of a span answers alike narrow the rows before that pick, so it sorts only
/// matching rows; cost clauses (re-pricing changes costs) test the picked row.
pub async fn search_spans(inner: &Inner, project: ProjectId, q: &ListQuery) -> Result<Page<Span>> {
    // A filter's errors are reported in the order of its clauses, as the embedded store does.
    condition(&q.filter, Target::Spans, project, &mut Sql::default())?;
    let (fixed, versioned) = split_by_version(&q.filter);
    let limit = limit(q);
    let mut sql = Sql::new(
        "SELECT s.trace_id, s.span_id, s.generation, s.version FROM (SELECT * FROM spans AS s
         WHERE s.project_id = ? AND (s.trace_id, s.generation) NOT IN
             (SELECT trace_id, generation FROM run_deletes WHERE project_id = ?) AND ",
    );
    sql.params = vec![project.0.into(), project.0.into()];
    condition(&fixed, Target::Spans, project, &mut sql)?;
    cursor_clause(
        &mut sql,
        q.position()?,
        RunOrder::default(),
        "s.start_ns",
        "s.span_id",
    )?;
    sql.push(
        " ORDER BY s.start_ns DESC, s.span_id DESC, s.trace_id DESC, s.version DESC, s.inserted
          LIMIT 1 BY s.trace_id, s.span_id",
    );
    if versioned.is_empty() {
        let l = sql.bind(limit as u64 + 1);
        sql.push(&format!(" LIMIT {l}"));
    }
    sql.push(") AS s WHERE ");
    condition(&versioned, Target::Spans, project, &mut sql)?;
    let l = sql.bind(limit as u64 + 1);
    sql.push(&format!(
        " ORDER BY s.start_ns DESC, s.span_id DESC, s.trace_id DESC LIMIT {l}"
    ));
    let keys: Vec<SpanKey> = fetch(inner, &sql, "searching spans").await?;
    let mut bodies = span_bodies(inner, project, &keys).await?;
    let mut generations = Vec::new();
    let mut found = page(keys, limit, |key| {
        let Some(body) = bodies.remove(&(key.trace_id.clone(), key.span_id.clone())) else {
            return Ok(None);
        };
        Ok(readable("span", decode_span(&body))?.map(|span| {
            generations.push(key.generation);
            let cursor = Cursor {
                time_unix_nano: span.start_time_unix_nano,
                id: span.span_id.clone(),
                sorted: None,
            };
            (span, cursor)
        }))
    })?;
    logs::attach(inner, project, &mut found.items, &generations).await?;
    Ok(found)
}

/// The bodies of the given span rows, by (trace id, span id).
async fn span_bodies(
    inner: &Inner,
    project: ProjectId,
    keys: &[SpanKey],
) -> Result<HashMap<(String, String), Vec<u8>>> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    #[derive(Row, Deserialize)]
    struct BodyRow {
        trace_id: String,
        span_id: String,
        #[serde(with = "serde_bytes")]
        body: Vec<u8>,
    }
    let mut sql = Sql::new("SELECT trace_id, span_id, body FROM spans WHERE project_id = ");
    let p = sql.bind(project.0);
    sql.push(p);
    sql.push(" AND (trace_id, span_id, generation, version) IN (");
    sql.push_tuples(keys, |k| {
        vec![
            k.trace_id.as_str().into(),
            k.span_id.as_str().into(),
            u64::from(k.generation).into(),
            u64::from(k.version).into(),
        ]
    });
    sql.push(") ORDER BY inserted LIMIT 1 BY trace_id, span_id");
    let rows: Vec<BodyRow> = fetch(inner, &sql, "reading spans").await?;
    Ok(rows
        .into_iter()
        .map(|r| ((r.trace_id, r.span_id), r.body))
        .collect())
}

/// A thread's aggregates over its live runs. Tokens are summed as floats, as the embedded
/// store sums them: a thread's listing must never fail on its counts.
const THREAD_COLUMNS: &str = "assumeNotNull(r.thread_id) AS t_id, count() AS t_runs,
    countIf(r.status = 'error') AS t_errors, min(r.start_ns) AS t_first, max(r.end_ns) AS t_end,
    max(r.start_ns) AS t_last, sum(toFloat64(r.total_tokens)) AS t_tokens,
    sum(r.cost_usd) AS t_cost, max(r.user_id) AS t_user,
    arraySort(groupUniqArray(r.agent_name)) AS t_agents";

#[derive(Row, Deserialize)]
struct ThreadRow {
    thread_id: String,
    run_count: u64,
    error_count: u64,
    start: u64,
    end: u64,
    last_start: u64,
    total_tokens: f64,
    cost_usd: Option<f64>,
    user_id: Option<String>,
    agent_names: Vec<String>,
}

impl From<ThreadRow> for ThreadSummary {
    fn from(t: ThreadRow) -> ThreadSummary {
        ThreadSummary {
            thread_id: t.thread_id,
            run_count: t.run_count,
            error_count: t.error_count,
            start_time_unix_nano: t.start,
            end_time_unix_nano: t.end,
            last_start_time_unix_nano: t.last_start,
            // Saturating, as every token sum.
            total_tokens: t.total_tokens as u64,
            cost_usd: t.cost_usd,
            user_id: t.user_id,
            agent_names: t.agent_names,
        }
    }
}

pub async fn list_threads(
    inner: &Inner,
    project: ProjectId,
    q: &ListQuery,
) -> Result<Page<ThreadSummary>> {
    let limit = limit(q);
    let mut sql = Sql::new(format!("SELECT {THREAD_COLUMNS} FROM "));
    live_runs(&mut sql, project);
    sql.push(" AS r WHERE r.thread_id IS NOT NULL AND ");
    condition(&q.filter, Target::Runs, project, &mut sql)?;
    sql.push(" GROUP BY t_id");
    if let Some(c) = q.position()? {
        let text = format!(
            " HAVING t_last < {} OR (t_last = {} AND t_id < {})",
            sql.bind(c.time_unix_nano),
            sql.bind(c.time_unix_nano),
            sql.bind(c.id.as_str()),
        );
        sql.push(&text);
    }
    let l = sql.bind(limit as u64 + 1);
    sql.push(&format!(" ORDER BY t_last DESC, t_id DESC LIMIT {l}"));
    let rows: Vec<ThreadRow> = fetch(inner, &sql, "listing threads").await?;
    page(rows, limit, |row| {
        let t = ThreadSummary::from(row);
        let cursor = Cursor {
            time_unix_nano: t.last_start_time_unix_nano,
            id: t.thread_id.clone(),
            sorted: None,
        };
        Ok(Some((t, cursor)))
    })
}

/// `FROM` the live runs of one thread: the newest rows of the runs that ever had a row in
/// it, if that row still has it. Binds the project, the thread id, the project again and the
/// thread id again.
fn thread_runs(sql: &mut Sql, project: ProjectId, thread_id: &str) {
    let text = format!(
        "(SELECT * FROM (SELECT * FROM runs WHERE project_id = {} AND trace_id IN
             (SELECT trace_id FROM runs WHERE project_id = {} AND thread_id = {})
          ORDER BY trace_id, version DESC LIMIT 1 BY trace_id)
          WHERE deleted = 0 AND thread_id = {})",
        sql.bind(project.0),
        sql.bind(project.0),
        sql.bind(thread_id),
        sql.bind(thread_id),
    );
    sql.push(&text);
}

pub async fn get_thread(
    inner: &Inner,
    project: ProjectId,
    thread_id: &str,
) -> Result<Option<(ThreadSummary, Vec<Run>)>> {
    let mut sql = Sql::new(format!("SELECT {THREAD_COLUMNS} FROM "));
    thread_runs(&mut sql, project, thread_id);
    sql.push(" AS r GROUP BY t_id");
    let found: Vec<ThreadRow> = fetch(inner, &sql, "reading a thread").await?;
    let Some(summary) = found.into_iter().next() else {
        return Ok(None);
    };
    let mut sql = Sql::new("SELECT r.summary FROM ");
    thread_runs(&mut sql, project, thread_id);
    sql.push(" AS r ORDER BY r.start_ns, r.trace_id");
    #[derive(Row, Deserialize)]
    struct SummaryOnly {
        #[serde(with = "serde_bytes")]
        summary: Vec<u8>,
    }
    let rows: Vec<SummaryOnly> = fetch(inner, &sql, "reading a thread's runs").await?;
    let mut runs = Vec::with_capacity(rows.len());
    for row in rows {
        runs.extend(readable("run summary", decode::<Run>(&row.summary))?);
    }
    Ok(Some((summary.into(), runs)))
}

#[derive(Row, Deserialize)]
struct FacetRow {
    agents: Vec<String>,
    models: Vec<String>,
    tools: Vec<String>,
    tags: Vec<String>,
    user_id: Option<String>,
    thread_id: Option<String>,
    environment: Option<String>,
    meta_keys: Vec<String>,
    meta_values: Vec<Option<String>>,
}

/// The suggested fields of the newest `limit` runs matching the filter (`Store::run_facets`).
pub async fn run_facets(
    inner: &Inner,
    project: ProjectId,
    filter: &Filter,
    limit: usize,
) -> Result<Vec<RunFacets>> {
    let mut sql = Sql::new(
        "SELECT r.agents, r.models, r.tools, r.tags, r.user_id, r.thread_id, r.environment,
                r.meta_keys, r.meta_values FROM ",
    );
    live_runs(&mut sql, project);
    sql.push(" AS r WHERE ");
    condition(filter, Target::Runs, project, &mut sql)?;
    let l = sql.bind(limit as u64);
    sql.push(&format!(
        " ORDER BY r.start_ns DESC, r.trace_id DESC LIMIT {l}"
    ));
    let rows: Vec<FacetRow> = fetch(inner, &sql, "reading run facets").await?;
    Ok(rows
        .into_iter()
        .map(|r| RunFacets {
            agents: r.agents,
            models: r.models,
            tools: r.tools,
            tags: r.tags,
            user_id: r.user_id,
            thread_id: r.thread_id,
            environment: r.environment,
            metadata: r.meta_keys.into_iter().zip(r.meta_values).collect(),
        })
        .collect())
}
