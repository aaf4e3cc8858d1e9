//! Metric events: stored as they arrive, joined to their runs on read. An event's id names it
//! within its project, so rows repeating an id (a re-sent span's evaluations, a retried batch)
//! read as one. Only events of their run's current generation show (`runs::generation`).

use std::collections::HashSet;

use clickhouse::Row;
use lemma_core::metrics::validate;
use lemma_core::{MetricEvent, MetricValue};
use serde::Deserialize;

use super::rows::MetricRow;
use super::sql::Sql;
use super::write::insert_all;
use super::{ch_err, delete, now_ns, runs, Inner};
use crate::{ProjectId, Result, StoreError};

/// Stores events as they are (ids set, values valid), each in the generation given with it.
/// Ids stored before are stored again: reads keep one row of each.
pub(super) async fn insert(
    inner: &Inner,
    events: &[(ProjectId, u32, MetricEvent)],
    inserted: u32,
) -> Result<()> {
    let rows: Vec<MetricRow> = events
        .iter()
        .map(|(p, g, e)| row(*p, *g, e, inserted))
        .collect();
    insert_all(inner, "metrics", &rows).await
}

fn row(project: ProjectId, generation: u32, e: &MetricEvent, inserted: u32) -> MetricRow {
    let (num, text) = match &e.value {
        MetricValue::Number(n) => (Some(*n), None),
        MetricValue::Bool(b) => (Some(f64::from(u8::from(*b))), None),
        MetricValue::Text(t) => (None, Some(t.clone())),
    };
    MetricRow {
        project_id: project.0,
        trace_id: e.run_id.to_ascii_lowercase(),
        generation,
        id: e.id.clone(),
        // Ids read back in lowercase hex, as the embedded store's blobs do.
        span_id: e.span_id.as_deref().map(str::to_ascii_lowercase),
        name: e.name.clone(),
        kind: e.value.kind().to_string(),
        num,
        text,
        comment: e.comment.clone(),
        source: e.source.clone(),
        created_ns: e.time_unix_nano,
        inserted,
    }
}

/// Validates a batch, refuses runs of other projects, assigns missing ids and stores the
/// events whose ids the project does not hold yet. Returns the events with their ids.
pub async fn write_batch(
    inner: &Inner,
    project: ProjectId,
    mut events: Vec<MetricEvent>,
) -> Result<Vec<MetricEvent>> {
    for (i, e) in events.iter().enumerate() {
        validate(e).map_err(|m| StoreError::Invalid(format!("metric {i}: {m}")))?;
    }
    if events.is_empty() {
        return Ok(events);
    }
    let mut run_ids: Vec<String> = events.iter().map(|e| e.run_id.clone()).collect();
    run_ids.sort();
    run_ids.dedup();
    check_owners(inner, project, &run_ids).await?;
    // Only ids the client chose can be stored already; fresh ones are new by construction.
    let chosen: Vec<String> = events
        .iter()
        .filter(|e| !e.id.is_empty())
        .map(|e| e.id.clone())
        .collect();
    let stored = stored_ids(inner, project, chosen).await?;
    for e in events.iter_mut() {
        if e.id.is_empty() {
            e.id = format!("{:032x}", rand::random::<u128>());
        }
    }
    let keys: Vec<(ProjectId, String)> = run_ids.into_iter().map(|r| (project, r)).collect();
    let generations = runs::generations(inner, &keys).await?;
    let mut seen = HashSet::new();
    let new: Vec<(ProjectId, u32, MetricEvent)> = events
        .iter()
        .filter(|e| !stored.contains(&e.id) && seen.insert(e.id.as_str()))
        .map(|e| {
            let g = generations
                .get(&(project, e.run_id.clone()))
                .copied()
                .unwrap_or(0);
            (project, g, e.clone())
        })
        .collect();
    insert(inner, &new, (now_ns() / 1_000_000_000) as u32).await?;
    Ok(events)
}

/// Which of `ids` the project holds in a live generation of their run.
async fn stored_ids(
    inner: &Inner,
    project: ProjectId,
    ids: Vec<String>,
) -> Result<HashSet<String>> {
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    let mut sql = Sql::new("SELECT DISTINCT id FROM metrics WHERE project_id = ");
    let text = format!("{} AND id IN ", sql.bind(project.0));
    sql.push(&text);
    let list = sql.list(ids);
    sql.push(&list).push(" AND ");
    delete::not_deleted(&mut sql, project);
    let rows: Vec<String> = sql
        .query(&inner.client)
        .fetch_all()
        .await
        .map_err(|e| ch_err("checking for metric events stored before", e))?;
    Ok(rows.into_iter().collect())
}

/// A run known only to other projects is not this project's to read or annotate. A run
/// unknown everywhere is fine: its spans may still be on their way. The `runs` table's live
/// rows tell which projects hold a run.
async fn check_owners(inner: &Inner, project: ProjectId, run_ids: &[String]) -> Result<()> {
    let mut sql = Sql::new(
        "SELECT DISTINCT trace_id, project_id FROM (
           SELECT trace_id, project_id, deleted FROM runs WHERE trace_id IN ",
    );
    let list = sql.list(run_ids.iter().map(String::as_str));
    sql.push(&list).push(
        " ORDER BY trace_id, project_id, version DESC LIMIT 1 BY trace_id, project_id)
         WHERE deleted = 0",
    );
    let owners: Vec<(String, i64)> = sql
        .query(&inner.client)
        .fetch_all()
        .await
        .map_err(|e| ch_err("finding which projects hold runs", e))?;
    for run_id in run_ids {
        let mut held = owners.iter().filter(|(t, _)| t == run_id).peekable();
        if held.peek().is_some() && !held.any(|(_, p)| *p == project.0) {
            return Err(StoreError::NotFound(format!("run {run_id}")));
        }
    }
    Ok(())
}

/// The columns `ValueRow` reads.
pub(super) const VALUE_COLUMNS: &str = "name, kind, num, text";

/// A stored event's name and value (`VALUE_COLUMNS`).
#[derive(Row, Deserialize)]
pub(super) struct ValueRow {
    pub name: String,
    pub kind: String,
    pub num: Option<f64>,
    pub text: Option<String>,
}

impl ValueRow {
    pub fn value(self) -> (String, MetricValue) {
        (self.name, value(&self.kind, self.num, self.text))
    }
}

fn value(kind: &str, num: Option<f64>, text: Option<String>) -> MetricValue {
    match kind {
        "bool" => MetricValue::Bool(num.unwrap_or(0.0) != 0.0),
        "text" => MetricValue::Text(text.unwrap_or_default()),
        _ => MetricValue::Number(num.unwrap_or(0.0)),
    }
}

#[derive(Row, Deserialize)]
struct EventRow {
    id: String,
    span_id: Option<String>,
    name: String,
    kind: String,
    num: Option<f64>,
    text: Option<String>,
    comment: Option<String>,
    source: Option<String>,
    created_ns: u64,
}

/// A run's events, oldest first (events of one instant in arrival order, as far as known).
pub async fn list(inner: &Inner, project: ProjectId, run_id: &str) -> Result<Vec<MetricEvent>> {
    check_owners(inner, project, &[run_id.to_string()]).await?;
    let generation = runs::generation(inner, project, run_id).await?;
    let mut sql = Sql::new(
        "SELECT id, span_id, name, kind, num, text, comment, source, created_ns FROM (
           SELECT * FROM metrics WHERE project_id = ? AND trace_id = ? AND generation = ?
           ORDER BY id, inserted LIMIT 1 BY id)
         ORDER BY created_ns, inserted, id",
    );
    sql.params = vec![
        project.0.into(),
        run_id.into(),
        u64::from(generation).into(),
    ];
    let rows: Vec<EventRow> = sql
        .query(&inner.client)
        .fetch_all()
        .await
        .map_err(|e| ch_err("reading metric events", e))?;
    Ok(rows
        .into_iter()
        .map(|r| MetricEvent {
            id: r.id,
            run_id: run_id.to_string(),
            span_id: r.span_id,
            value: value(&r.kind, r.num, r.text),
            name: r.name,
            comment: r.comment,
            source: r.source,
            time_unix_nano: r.created_ns,
        })
        .collect())
}
