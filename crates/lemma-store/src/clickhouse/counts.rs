//! What a project holds, counted as reads see it (`Store::counts`): each span, metric event
//! and log record once however often it was stored, none of a deleted run's generations.

use super::runs::live_runs;
use super::sql::Sql;
use super::{ch_err, Inner};
use crate::{Counts, ProjectId, Result};

/// Distinct `key` values (of the trace id and `columns`) of `table`'s rows of the project that belong to their run's current
/// generation: a run deleted `n` times lists generations up to `n - 1` in `run_deletes`, and
/// rows of no deleted run match no row there (the join's default, 0, lets them through).
fn live_distinct(table: &str, columns: &str, key: &str, project: ProjectId) -> Sql {
    let mut sql = Sql::new("");
    let text = format!(
        "SELECT uniqExact({key}) FROM
           (SELECT trace_id, generation, {columns} FROM {table} WHERE project_id = {}) AS t
         ANY LEFT JOIN
           (SELECT trace_id, toUInt32(max(generation) + 1) AS live FROM run_deletes
            WHERE project_id = {} GROUP BY trace_id) AS d
         USING trace_id WHERE generation >= live",
        sql.bind(project.0),
        sql.bind(project.0),
    );
    sql.push(&text);
    sql
}

async fn count(inner: &Inner, sql: Sql, what: &str) -> Result<u64> {
    sql.query(&inner.client)
        .fetch_one::<u64>()
        .await
        .map_err(|e| ch_err(what, e))
}

pub async fn counts(inner: &Inner, project: ProjectId) -> Result<Counts> {
    let mut runs = Sql::new("SELECT count() FROM ");
    live_runs(&mut runs, project);
    let (spans, runs, metrics, logs) = tokio::try_join!(
        count(
            inner,
            live_distinct("spans", "span_id", "trace_id, span_id", project),
            "counting spans"
        ),
        count(inner, runs, "counting runs"),
        count(
            inner,
            live_distinct("metrics", "id", "id", project),
            "counting metric events"
        ),
        count(
            inner,
            live_distinct("logs", "hash", "hash", project),
            "counting log records"
        ),
    )?;
    Ok(Counts {
        spans,
        runs,
        metrics,
        logs,
    })
}
