//! Stats: the matching runs of a time range, streamed row by row into the pure aggregator.

use lemma_core::metrics::MetricAggregator;
use lemma_core::run::ModelUsage;
use lemma_core::stats::{check_range, Aggregator, Stats};
use lemma_core::{Run, StatusCode};
use rusqlite::types::Value as Sql;
use rusqlite::{params_from_iter, Connection};
use serde::Deserialize;

use super::codec::{decode, sql_u64};
use super::filter::{compile, Target};
use super::text::Parts;
use super::{metrics, readable, sql_err};
use crate::{ProjectId, Result, StatsQuery, StoreError};

/// The part of a stored summary stats needs when a run has no `usage_by_model` column yet;
/// serde skips the rest (payloads included) without building it.
#[derive(Deserialize)]
struct Usage {
    #[serde(default)]
    usage_by_model: Vec<ModelUsage>,
}

/// A run as stats reads it: the summary's columns, and its usage per model from its own column
/// (or, for runs summarised before that column existed, from the compressed summary).
fn run_of(row: &rusqlite::Row) -> Result<Run> {
    let text = |i| row.get::<_, Option<String>>(i).map_err(sql_err);
    let int = |i| {
        row.get::<_, i64>(i)
            .map_err(sql_err)
            .map(|v| v.max(0) as u64)
    };
    let usage_by_model = match text(9)? {
        Some(json) => serde_json::from_str(&json)
            .map_err(|e| StoreError::Backend(format!("corrupt usage_by_model: {e}")))?,
        None => {
            let blob = row
                .get_ref(10)
                .map_err(sql_err)?
                .as_blob()
                .map_err(|e| StoreError::Backend(e.to_string()))?;
            decode::<Usage>(blob)?.usage_by_model
        }
    };
    Ok(Run {
        name: text(0)?.unwrap_or_default(),
        agent_name: text(1)?,
        status: StatusCode::parse(&text(2)?.unwrap_or_default()).unwrap_or_default(),
        start_time_unix_nano: int(3)?,
        duration_ms: row.get(4).map_err(sql_err)?,
        input_tokens: int(5)?,
        output_tokens: int(6)?,
        total_tokens: int(7)?,
        cost_usd: row.get(8).map_err(sql_err)?,
        usage_by_model,
        ..Run::default()
    })
}

fn sql_time(unix_nano: u64) -> Sql {
    Sql::Integer(sql_u64(unix_nano))
}

pub fn stats(conn: &Connection, project: ProjectId, q: &StatsQuery) -> Result<Stats> {
    check_range(q.from_unix_nano, q.to_unix_nano, q.bucket_seconds)
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    let f = compile(
        &q.filter,
        Target::Runs,
        &Parts::for_filter(conn, &q.filter)?,
    )?;
    let mut params = vec![
        Sql::Integer(project.0),
        sql_time(q.from_unix_nano),
        sql_time(q.to_unix_nano),
    ];
    params.extend(f.params);
    // A range scan of `runs_time`; the order makes floating-point sums repeatable.
    let sql = format!(
        "SELECT r.name, r.agent_name, r.status, r.start_ns, r.duration_ms, r.input_tokens,
                r.output_tokens, r.total_tokens, r.cost_usd, r.usage_by_model,
                CASE WHEN r.usage_by_model IS NULL THEN r.summary END
         FROM runs r
         WHERE r.project_id = ? AND r.start_ns >= ? AND r.start_ns < ? AND ({})
         ORDER BY r.start_ns, r.trace_id",
        f.sql
    );
    let mut agg = Aggregator::new(q.from_unix_nano, q.to_unix_nano, q.bucket_seconds);
    let mut stmt = conn.prepare_cached(&sql).map_err(sql_err)?;
    let mut rows = stmt.query(params_from_iter(&params)).map_err(sql_err)?;
    while let Some(row) = rows.next().map_err(sql_err)? {
        if let Some(run) = readable("run summary", run_of(row))? {
            agg.add(&run);
        }
    }
    let mut stats = agg.finish();
    let mut by_metric = MetricAggregator::default();
    let mut stmt = conn
        .prepare_cached(&metrics::stats_sql(&f.sql))
        .map_err(sql_err)?;
    let mut rows = stmt.query(params_from_iter(&params)).map_err(sql_err)?;
    while let Some(row) = rows.next().map_err(sql_err)? {
        let (name, value) = metrics::stats_row(row).map_err(sql_err)?;
        by_metric.add(&name, &value);
    }
    stats.by_metric = by_metric.finish();
    Ok(stats)
}
