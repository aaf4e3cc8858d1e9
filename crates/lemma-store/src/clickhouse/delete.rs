//! Deleting a run. Two rows make it gone for every read at once: a summary row marked deleted
//! that outranks every summary of the run so far, and a `run_deletes` row that hides the
//! spans, words, metric events, log records, signal evaluations and experiment links of the
//! run's current generation. Removing those rows is left to ClickHouse, in the background; no
//! read depends on it having run (links stay: see `experiment_runs` in schema/tables.sql). A
//! span of the run arriving later starts it anew, in the next generation.

use clickhouse::Row;
use serde::Serialize;

use super::rows::RunRow;
use super::sql::Sql;
use super::write::insert_all;
use super::{ch_err, client_for, now_ns, runs, Inner};
use crate::{ProjectId, Result};

#[derive(Row, Serialize)]
struct DeleteRow {
    project_id: i64,
    trace_id: String,
    generation: u32,
    deleted_ns: u64,
}

/// Appends a condition that holds for rows (with `trace_id` and `generation` columns) of their
/// run's current generation. Deletions are recorded for a run's generations in turn and rows
/// are written in their run's current generation, so a row whose pair no deletion names is
/// current. Binds the project.
pub(super) fn not_deleted(sql: &mut Sql, project: ProjectId) {
    let text = format!(
        "(trace_id, generation) NOT IN
           (SELECT trace_id, generation FROM run_deletes WHERE project_id = {})",
        sql.bind(project.0)
    );
    sql.push(&text);
}

/// Whether the project held anything of the run (spans, metric events, log records, signal
/// evaluations or links to experiments' cases).
pub async fn delete_run(inner: &Inner, project: ProjectId, run_id: &str) -> Result<bool> {
    if !lemma_core::otlp::is_trace_id(run_id) {
        return Ok(false);
    }
    let generation = runs::generation(inner, project, run_id).await?;
    if !holds(inner, project, run_id, generation).await? {
        return Ok(false);
    }
    let now = now_ns();
    // The summary first: should the second insert fail, the run reads as deleted already and
    // a retry (same generation, rows still there) writes both again.
    let summary = RunRow {
        project_id: project.0,
        trace_id: run_id.to_string(),
        version: runs::version(generation + 1, 0, 0),
        deleted: 1,
        first_inserted: (now / 1_000_000_000) as u32,
        usage_by_model: "[]".into(),
        ..RunRow::default()
    };
    insert_all(inner, "runs", &[summary]).await?;
    let row = DeleteRow {
        project_id: project.0,
        trace_id: run_id.to_string(),
        generation,
        deleted_ns: now,
    };
    insert_all(inner, "run_deletes", std::slice::from_ref(&row)).await?;
    forget(inner, project, run_id, generation).await;
    Ok(true)
}

/// Whether any span, metric event, log record, signal evaluation or experiment link of the
/// run's `generation` is stored.
async fn holds(inner: &Inner, project: ProjectId, run_id: &str, generation: u32) -> Result<bool> {
    let mut sql = Sql::new("SELECT ");
    for (i, table) in ["spans", "metrics", "logs", "run_signals", "experiment_runs"]
        .into_iter()
        .enumerate()
    {
        let text = format!(
            "{}(SELECT count() FROM {table} WHERE project_id = {} AND trace_id = {} AND generation = {})",
            if i == 0 { "" } else { " + " },
            sql.bind(project.0),
            sql.bind(run_id),
            sql.bind(u64::from(generation)),
        );
        sql.push(&text);
    }
    let count: u64 = sql
        .query(&inner.client)
        .fetch_one()
        .await
        .map_err(|e| ch_err("looking for a run's rows", e))?;
    Ok(count > 0)
}

/// The servers a mutation goes to, and the suffix of their tables' names: mutations go to the
/// tables holding the rows, on a cluster each shard's local tables.
pub(super) fn row_holders(inner: &Inner) -> (Vec<clickhouse::Client>, &'static str) {
    let config = &inner.config;
    match config.cluster {
        None => (vec![inner.client.clone()], ""),
        Some(_) => {
            let db = Some(config.database.as_str());
            let clients = config
                .shards
                .iter()
                .map(|s| client_for(config, s, db))
                .collect();
            (clients, "_local")
        }
    }
}

/// Asks every server to remove the rows of the deleted generations (a mutation, which
/// ClickHouse runs in the background). A failure is only logged: the rows are hidden anyway.
async fn forget(inner: &Inner, project: ProjectId, run_id: &str, generation: u32) {
    let (clients, suffix) = row_holders(inner);
    for client in &clients {
        for table in ["spans", "span_terms", "metrics", "logs", "run_signals"] {
            let table = format!("{table}{suffix}");
            let mut sql = Sql::new(format!(
                "ALTER TABLE {table} DELETE WHERE project_id = ? AND trace_id = ? AND generation <= ?"
            ));
            sql.params = vec![
                project.0.into(),
                run_id.into(),
                u64::from(generation).into(),
            ];
            if let Err(e) = sql.query(client).execute().await {
                // ch_err logs it.
                let _ = ch_err(&format!("removing a deleted run's rows from {table}"), e);
            }
        }
    }
}
