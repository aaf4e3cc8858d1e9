//! Deleting a run: its spans with their bodies and full-text rows, its summary and the rows it
//! is merged from, and the metric events and log records posted to it, in one transaction.

use rusqlite::{params, Connection};

use super::codec::run_id_blob;
use super::{sql_err, text};
use crate::{ProjectId, Result};

/// Whether the project held anything of the run (spans, metric events or log records).
pub fn delete_run(conn: &mut Connection, project: ProjectId, run_id: &str) -> Result<bool> {
    let Some(trace) = run_id_blob(run_id) else {
        return Ok(false);
    };
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sql_err)?;
    let rowids = tx
        .prepare_cached("SELECT rowid FROM spans WHERE project_id = ?1 AND trace_id = ?2")
        .map_err(sql_err)?
        .query_map(params![project.0, trace], |r| r.get::<_, i64>(0))
        .map_err(sql_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(sql_err)?;
    text::remove(&tx, &rowids)?;
    let mut deleted = 0;
    for sql in [
        // A block holds the spans of one run only (`blocks::pack`), so the run's are its own.
        "DELETE FROM span_blocks WHERE id IN
           (SELECT block FROM spans WHERE project_id = ?1 AND trace_id = ?2 AND block IS NOT NULL)",
        "DELETE FROM spans WHERE project_id = ?1 AND trace_id = ?2",
        "DELETE FROM runs WHERE project_id = ?1 AND trace_id = ?2",
        "DELETE FROM metrics WHERE project_id = ?1 AND trace_id = ?2",
        "DELETE FROM logs WHERE project_id = ?1 AND trace_id = ?2",
        "DELETE FROM run_state WHERE project_id = ?1 AND trace_id = ?2",
        "DELETE FROM run_calls WHERE project_id = ?1 AND trace_id = ?2",
        "DELETE FROM run_cover WHERE project_id = ?1 AND trace_id = ?2",
        "DELETE FROM run_tools WHERE project_id = ?1 AND trace_id = ?2",
        "DELETE FROM run_signals WHERE project_id = ?1 AND trace_id = ?2",
        "DELETE FROM experiment_runs WHERE project_id = ?1 AND trace_id = ?2",
    ] {
        deleted += tx
            .prepare_cached(sql)
            .map_err(sql_err)?
            .execute(params![project.0, trace])
            .map_err(sql_err)?;
    }
    tx.commit().map_err(sql_err)?;
    Ok(deleted > 0)
}
