//! Metric events: stored as they arrive, joined to their runs on read.

use lemma_core::metrics::validate;
use lemma_core::{MetricEvent, MetricValue};
use rusqlite::{params, Connection, Row};

use super::codec::id_blob;
use super::sql_err;
use crate::{ProjectId, Result, StoreError};

pub fn write_batch(
    conn: &mut Connection,
    project: ProjectId,
    mut events: Vec<MetricEvent>,
) -> Result<Vec<MetricEvent>> {
    for (i, e) in events.iter().enumerate() {
        validate(e).map_err(|m| StoreError::Invalid(format!("metric {i}: {m}")))?;
    }
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sql_err)?;
    let mut checked: Vec<String> = Vec::new();
    for e in &events {
        if !checked.contains(&e.run_id) {
            check_owner(&tx, project, &e.run_id)?;
            checked.push(e.run_id.clone());
        }
    }
    for e in events.iter_mut() {
        if e.id.is_empty() {
            e.id = format!("{:032x}", rand::random::<u128>());
        }
    }
    insert(&tx, project, &events)?;
    tx.commit().map_err(sql_err)?;
    Ok(events)
}

/// Inserts events as they are (ids set, values valid); an id already stored is skipped.
pub fn insert(conn: &Connection, project: ProjectId, events: &[MetricEvent]) -> Result<()> {
    let mut insert = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO metrics (project_id, trace_id, span_id, name, kind, num,
             text, comment, source, created_ns, id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )
        .map_err(sql_err)?;
    for e in events {
        let (num, text) = match &e.value {
            MetricValue::Number(n) => (Some(*n), None),
            MetricValue::Bool(b) => (Some(f64::from(u8::from(*b))), None),
            MetricValue::Text(t) => (None, Some(t.as_str())),
        };
        insert
            .execute(params![
                project.0,
                id_blob(&e.run_id),
                e.span_id.as_deref().map(id_blob),
                e.name,
                e.value.kind(),
                num,
                text,
                e.comment,
                e.source,
                e.time_unix_nano as i64,
                e.id,
            ])
            .map_err(sql_err)?;
    }
    Ok(())
}

/// A run's events, oldest first.
pub fn list(conn: &Connection, project: ProjectId, run_id: &str) -> Result<Vec<MetricEvent>> {
    check_owner(conn, project, run_id)?;
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, span_id, name, kind, num, text, comment, source, created_ns
             FROM metrics WHERE project_id = ?1 AND trace_id = ?2
             ORDER BY created_ns, rowid",
        )
        .map_err(sql_err)?;
    let rows = stmt
        .query_map(params![project.0, id_blob(run_id)], |row| {
            event(row, run_id)
        })
        .map_err(sql_err)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(sql_err)
}

/// A run known only to another project is not this project's to read or annotate. A run
/// unknown everywhere is fine: its spans may still be on their way.
fn check_owner(conn: &Connection, project: ProjectId, run_id: &str) -> Result<()> {
    let trace = id_blob(run_id);
    let owners: Vec<i64> = conn
        .prepare_cached("SELECT project_id FROM runs WHERE trace_id = ?1")
        .map_err(sql_err)?
        .query_map(params![trace], |r| r.get(0))
        .map_err(sql_err)?
        .collect::<rusqlite::Result<_>>()
        .map_err(sql_err)?;
    if owners.is_empty() || owners.contains(&project.0) {
        Ok(())
    } else {
        Err(StoreError::NotFound(format!("run {run_id}")))
    }
}

pub(super) fn event(row: &Row, run_id: &str) -> rusqlite::Result<MetricEvent> {
    let value = value(&row.get::<_, String>(3)?, row.get(4)?, row.get(5)?);
    Ok(MetricEvent {
        id: row.get(0)?,
        run_id: run_id.to_string(),
        span_id: row.get::<_, Option<Vec<u8>>>(1)?.map(hex::encode),
        name: row.get(2)?,
        value,
        comment: row.get(6)?,
        source: row.get(7)?,
        time_unix_nano: row.get::<_, i64>(8)? as u64,
    })
}

/// The metric values of the runs a stats query matches, for `MetricAggregator`.
pub fn stats_sql(filter_sql: &str) -> String {
    format!(
        "SELECT m.name, m.kind, m.num, m.text FROM runs r
         JOIN metrics m ON m.project_id = r.project_id AND m.trace_id = r.trace_id
         WHERE r.project_id = ? AND r.start_ns >= ? AND r.start_ns < ? AND ({filter_sql})"
    )
}

/// A stats row's name and value.
pub fn stats_row(row: &Row) -> rusqlite::Result<(String, MetricValue)> {
    let value = value(&row.get::<_, String>(1)?, row.get(2)?, row.get(3)?);
    Ok((row.get(0)?, value))
}

fn value(kind: &str, num: Option<f64>, text: Option<String>) -> MetricValue {
    match kind {
        "bool" => MetricValue::Bool(num.unwrap_or(0.0) != 0.0),
        "text" => MetricValue::Text(text.unwrap_or_default()),
        _ => MetricValue::Number(num.unwrap_or(0.0)),
    }
}
