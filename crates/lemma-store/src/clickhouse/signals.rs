//! Signals: each run's evaluations, of which the one that read the run's spans last holds
//! (argMax by `evaluated_ns`, whatever order they arrived in), and a project's thresholds (the
//! newest row holds). Evaluations carry their run's generation, so deleting the run hides
//! them as it hides its metric events.

use clickhouse::Row;
use lemma_core::signals::SignalSettings;
use lemma_core::{RunSignal, SpanDigest};
use serde::{Deserialize, Serialize};

use super::sql::{Sql, KEYS_PER_QUERY};
use super::write::insert_all;
use super::{ch_err, delete, now_ns, runs, Inner};
use crate::admin::{decode_signal_settings, encode_signal_settings};
use crate::{ProjectId, Result, RunSignals, SignalCount, StoreError};

#[derive(Row, Serialize)]
struct EvaluationRow {
    project_id: i64,
    trace_id: String,
    generation: u32,
    evaluated_ns: u64,
    span_count: u64,
    start_ns: u64,
    names: Vec<String>,
    severities: Vec<String>,
    signals: String,
    /// DateTime: unix seconds.
    inserted: u32,
}

#[derive(Row, Deserialize)]
struct LatestRow {
    trace_id: String,
    evaluated: u64,
    spans: u64,
    run_start: u64,
    found: String,
}

#[derive(Row, Serialize, Deserialize)]
struct SettingsRow {
    project_id: i64,
    settings: String,
    updated_ns: u64,
}

/// The digests of a run's live spans; `None` when it has none (or `run_id` is no run id).
pub async fn digests(
    inner: &Inner,
    project: ProjectId,
    run_id: &str,
) -> Result<Option<Vec<SpanDigest>>> {
    if !lemma_core::otlp::is_trace_id(run_id) {
        return Ok(None);
    }
    let found = runs::live_digests(inner, project, run_id).await?;
    Ok((!found.is_empty()).then_some(found))
}

pub async fn put(inner: &Inner, project: ProjectId, found: &RunSignals) -> Result<()> {
    let trace_id = found.run_id.to_ascii_lowercase();
    if !lemma_core::otlp::is_trace_id(&trace_id) {
        return Err(StoreError::Invalid(format!(
            "run id {:?} is not 32 hex characters",
            found.run_id
        )));
    }
    let signals =
        serde_json::to_string(&found.signals).map_err(|e| StoreError::Backend(e.to_string()))?;
    let row = EvaluationRow {
        project_id: project.0,
        generation: runs::generation(inner, project, &trace_id).await?,
        trace_id,
        evaluated_ns: found.evaluated_unix_nano,
        span_count: found.span_count,
        start_ns: found.start_unix_nano,
        names: found.signals.iter().map(|s| s.kind.clone()).collect(),
        severities: found
            .signals
            .iter()
            .map(|s| s.severity.name().to_string())
            .collect(),
        signals,
        inserted: (now_ns() / 1_000_000_000) as u32,
    };
    insert_all(inner, "run_signals", std::slice::from_ref(&row)).await
}

/// `FROM` the latest evaluation of each run of the project in its live generation, with
/// `columns` (argMax expressions over `run_signals`) besides `trace_id`. Binds the project;
/// `and` is a condition on the rows (the text after ` AND `), or empty.
fn latest(sql: &mut Sql, columns: &str, project: ProjectId, and: impl FnOnce(&mut Sql)) {
    let text = format!(
        "(SELECT trace_id, {columns} FROM run_signals WHERE project_id = {} AND ",
        sql.bind(project.0)
    );
    sql.push(&text);
    and(sql);
    delete::not_deleted(sql, project);
    sql.push(" GROUP BY trace_id)");
}

pub async fn of_runs(
    inner: &Inner,
    project: ProjectId,
    run_ids: &[String],
) -> Result<Vec<RunSignals>> {
    let ids: Vec<String> = run_ids
        .iter()
        .map(|id| id.to_ascii_lowercase())
        .filter(|id| lemma_core::otlp::is_trace_id(id))
        .collect();
    let mut out = Vec::new();
    for chunk in ids.chunks(KEYS_PER_QUERY) {
        let mut sql = Sql::new("SELECT * FROM ");
        latest(
            &mut sql,
            // Aliases differ from the columns, which the argMax calls read.
            "max(evaluated_ns) AS evaluated, argMax(span_count, evaluated_ns) AS spans, \
             argMax(start_ns, evaluated_ns) AS run_start, argMax(signals, evaluated_ns) AS found",
            project,
            |sql| {
                let list = sql.list(chunk.iter().map(String::as_str));
                sql.push(&format!("trace_id IN {list} AND "));
            },
        );
        let rows: Vec<LatestRow> = sql
            .query(&inner.client)
            .fetch_all()
            .await
            .map_err(|e| ch_err("reading runs' signals", e))?;
        for r in rows {
            // A list that cannot be read is skipped: the next evaluation replaces it.
            let Ok(signals) = serde_json::from_str::<Vec<RunSignal>>(&r.found) else {
                tracing::warn!(
                    run_id = r.trace_id,
                    "stored signals could not be read; skipped"
                );
                continue;
            };
            out.push(RunSignals {
                run_id: r.trace_id,
                evaluated_unix_nano: r.evaluated,
                span_count: r.spans,
                start_unix_nano: r.run_start,
                signals,
            });
        }
    }
    Ok(out)
}

pub async fn counts(
    inner: &Inner,
    project: ProjectId,
    since: u64,
    until: u64,
    bucket_ns: u64,
) -> Result<Vec<SignalCount>> {
    let bucket_ns = bucket_ns.max(1);
    let mut sql = Sql::new("");
    let head = format!(
        "SELECT toUInt64(intDiv(run_start - {}, {})) AS bucket, name, severity,
                uniqExact(trace_id) AS runs
         FROM ",
        sql.bind(since),
        sql.bind(bucket_ns)
    );
    sql.push(&head);
    latest(
        &mut sql,
        "argMax(start_ns, evaluated_ns) AS run_start, argMax(names, evaluated_ns) AS found, \
         argMax(severities, evaluated_ns) AS found_severities",
        project,
        |_| {},
    );
    let tail = format!(
        " AS g ARRAY JOIN found AS name, found_severities AS severity
         WHERE run_start >= {} AND run_start < {}
         GROUP BY bucket, name, severity ORDER BY bucket, name, severity",
        sql.bind(since),
        sql.bind(until)
    );
    sql.push(&tail);
    let rows: Vec<(u64, String, String, u64)> = sql
        .query(&inner.client)
        .fetch_all()
        .await
        .map_err(|e| ch_err("counting signals", e))?;
    Ok(rows
        .into_iter()
        .map(|(bucket, name, severity, runs)| SignalCount {
            bucket_unix_nano: since + bucket * bucket_ns,
            name,
            severity,
            runs,
        })
        .collect())
}

pub async fn settings(inner: &Inner, project: ProjectId) -> Result<SignalSettings> {
    let mut sql = Sql::new(
        "SELECT project_id, settings, updated_ns FROM signal_settings
         WHERE project_id = ? ORDER BY updated_ns DESC LIMIT 1",
    );
    sql.bind(project.0);
    let row: Option<SettingsRow> = sql
        .query(&inner.client)
        .fetch_optional()
        .await
        .map_err(|e| ch_err("reading a project's signal thresholds", e))?;
    decode_signal_settings(row.as_ref().map(|r| r.settings.as_str()))
}

pub async fn set_settings(
    inner: &Inner,
    project: ProjectId,
    settings: &SignalSettings,
) -> Result<()> {
    let row = SettingsRow {
        project_id: project.0,
        settings: encode_signal_settings(settings)?,
        updated_ns: now_ns(),
    };
    insert_all(inner, "signal_settings", std::slice::from_ref(&row)).await
}
