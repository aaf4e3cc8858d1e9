//! Stats: the matching live runs of a time range, streamed row by row into the pure
//! aggregator, and the metric events of those runs into the metric aggregator.

use clickhouse::Row;
use lemma_core::metrics::MetricAggregator;
use lemma_core::stats::{check_range, Aggregator, Stats};
use lemma_core::{Run, StatusCode};
use serde::Deserialize;

use super::filter::{condition, Target};
use super::metrics::{ValueRow, VALUE_COLUMNS};
use super::runs::live_runs;
use super::sql::Sql;
use super::{ch_err, delete, Inner};
use crate::{readable, ProjectId, Result, StatsQuery, StoreError};

/// What stats reads of a run summary.
#[derive(Row, Deserialize)]
struct RunStatsRow {
    name: String,
    agent_name: Option<String>,
    status: String,
    start_ns: u64,
    duration_ms: f64,
    input_tokens: u64,
    output_tokens: u64,
    total_tokens: u64,
    cost_usd: Option<f64>,
    usage_by_model: String,
}

impl RunStatsRow {
    fn run(self) -> Result<Run> {
        let usage_by_model = serde_json::from_str(&self.usage_by_model)
            .map_err(|e| StoreError::Backend(format!("corrupt usage_by_model: {e}")))?;
        Ok(Run {
            name: self.name,
            agent_name: self.agent_name,
            status: StatusCode::parse(&self.status).unwrap_or_default(),
            start_time_unix_nano: self.start_ns,
            duration_ms: self.duration_ms,
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            total_tokens: self.total_tokens,
            cost_usd: self.cost_usd,
            usage_by_model,
            ..Run::default()
        })
    }
}

/// `FROM` the project's live runs as `r`, `WHERE` they start in the range and match the
/// filter.
fn matching(sql: &mut Sql, project: ProjectId, q: &StatsQuery) -> Result<()> {
    live_runs(sql, project);
    let text = format!(
        " AS r WHERE r.start_ns >= {} AND r.start_ns < {} AND (",
        sql.bind(q.from_unix_nano),
        sql.bind(q.to_unix_nano)
    );
    sql.push(&text);
    condition(&q.filter, Target::Runs, project, sql)?;
    sql.push(")");
    Ok(())
}

pub async fn stats(inner: &Inner, project: ProjectId, q: &StatsQuery) -> Result<Stats> {
    check_range(q.from_unix_nano, q.to_unix_nano, q.bucket_seconds)
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    let mut sql = Sql::new(
        "SELECT r.name, r.agent_name, r.status, r.start_ns, r.duration_ms, r.input_tokens,
                r.output_tokens, r.total_tokens, r.cost_usd, r.usage_by_model FROM ",
    );
    matching(&mut sql, project, q)?;
    // The order makes floating-point sums repeatable.
    sql.push(" ORDER BY r.start_ns, r.trace_id");
    let mut agg = Aggregator::new(q.from_unix_nano, q.to_unix_nano, q.bucket_seconds);
    let mut rows = sql
        .query(&inner.client)
        .fetch::<RunStatsRow>()
        .map_err(|e| ch_err("reading runs for stats", e))?;
    while let Some(row) = rows
        .next()
        .await
        .map_err(|e| ch_err("reading runs for stats", e))?
    {
        if let Some(run) = readable("run summary", row.run())? {
            agg.add(&run);
        }
    }
    let mut stats = agg.finish();

    // The events of those runs' current generations, each id once.
    let mut sql = Sql::new(format!(
        "SELECT {VALUE_COLUMNS} FROM (
           SELECT {VALUE_COLUMNS}, id, trace_id, created_ns FROM metrics WHERE project_id = "
    ));
    let text = format!("{} AND ", sql.bind(project.0));
    sql.push(&text);
    delete::not_deleted(&mut sql, project);
    sql.push(" AND trace_id IN (SELECT r.trace_id FROM ");
    matching(&mut sql, project, q)?;
    sql.push(
        ") ORDER BY id, inserted LIMIT 1 BY id)
         ORDER BY trace_id, created_ns, id",
    );
    let mut by_metric = MetricAggregator::default();
    let mut rows = sql
        .query(&inner.client)
        .fetch::<ValueRow>()
        .map_err(|e| ch_err("reading metric events for stats", e))?;
    while let Some(row) = rows
        .next()
        .await
        .map_err(|e| ch_err("reading metric events for stats", e))?
    {
        let (name, value) = row.value();
        by_metric.add(&name, &value);
    }
    stats.by_metric = by_metric.finish();
    Ok(stats)
}
