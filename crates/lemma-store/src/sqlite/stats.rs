//! Stats: the matching runs of a time range, streamed row by row into the pure aggregator.

use lemma_core::metrics::MetricAggregator;
use lemma_core::run::ModelUsage;
use lemma_core::stats::{check_range, Aggregator, Stats};
use lemma_core::{Run, StatusCode};
use rusqlite::types::Value as Sql;
use rusqlite::{params_from_iter, Connection};
use serde::Deserialize;

use super::codec::decode;
use super::filter::{compile, Target};
use super::metrics;
use super::sql_err;
use crate::{ProjectId, Result, StatsQuery, StoreError};

/// The part of a stored summary stats read; serde skips the rest (payloads included) without
/// building it.
#[derive(Deserialize)]
struct Summary {
    name: String,
    agent_name: Option<String>,
    status: StatusCode,
    start_time_unix_nano: u64,
    duration_ms: f64,
    input_tokens: u64,
    output_tokens: u64,
    total_tokens: u64,
    cost_usd: Option<f64>,
    #[serde(default)]
    usage_by_model: Vec<ModelUsage>,
}

impl From<Summary> for Run {
    fn from(s: Summary) -> Run {
        Run {
            name: s.name,
            agent_name: s.agent_name,
            status: s.status,
            start_time_unix_nano: s.start_time_unix_nano,
            duration_ms: s.duration_ms,
            input_tokens: s.input_tokens,
            output_tokens: s.output_tokens,
            total_tokens: s.total_tokens,
            cost_usd: s.cost_usd,
            usage_by_model: s.usage_by_model,
            ..Run::default()
        }
    }
}

fn sql_time(unix_nano: u64) -> Sql {
    Sql::Integer(i64::try_from(unix_nano).unwrap_or(i64::MAX))
}

pub fn stats(conn: &Connection, project: ProjectId, q: &StatsQuery) -> Result<Stats> {
    check_range(q.from_unix_nano, q.to_unix_nano, q.bucket_seconds)
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    let f = compile(&q.filter, Target::Runs)?;
    let mut params = vec![
        Sql::Integer(project.0),
        sql_time(q.from_unix_nano),
        sql_time(q.to_unix_nano),
    ];
    params.extend(f.params);
    // A range scan of `runs_time`; the order makes floating-point sums repeatable.
    let sql = format!(
        "SELECT r.summary FROM runs r
         WHERE r.project_id = ? AND r.start_ns >= ? AND r.start_ns < ? AND ({})
         ORDER BY r.start_ns, r.trace_id",
        f.sql
    );
    let mut agg = Aggregator::new(q.from_unix_nano, q.to_unix_nano, q.bucket_seconds);
    let mut stmt = conn.prepare_cached(&sql).map_err(sql_err)?;
    let mut rows = stmt.query(params_from_iter(&params)).map_err(sql_err)?;
    while let Some(row) = rows.next().map_err(sql_err)? {
        let blob = row
            .get_ref(0)
            .map_err(sql_err)?
            .as_blob()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        let summary: Summary = decode(blob)?;
        agg.add(&Run::from(summary));
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
