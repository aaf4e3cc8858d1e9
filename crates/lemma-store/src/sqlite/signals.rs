//! Signals: each run's latest evaluation, and a project's thresholds.

use lemma_core::signals::SignalSettings;
use lemma_core::RunSignal;
use rusqlite::{params, Connection, OptionalExtension};

use super::codec::{run_id_blob, sql_u64};
use super::sql_err;
use crate::{ProjectId, Result, RunSignals, SignalCount, StoreError};

pub fn put(conn: &Connection, project: ProjectId, found: &RunSignals) -> Result<()> {
    let Some(trace) = run_id_blob(&found.run_id) else {
        return Err(StoreError::Invalid(format!(
            "run id {:?} is not 32 hex characters",
            found.run_id
        )));
    };
    let json =
        serde_json::to_string(&found.signals).map_err(|e| StoreError::Backend(e.to_string()))?;
    conn.prepare_cached(
        "INSERT INTO run_signals (project_id, trace_id, evaluated_ns, span_count, start_ns, signals)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (project_id, trace_id) DO UPDATE SET
           evaluated_ns = excluded.evaluated_ns, span_count = excluded.span_count,
           start_ns = excluded.start_ns, signals = excluded.signals
         WHERE excluded.evaluated_ns >= run_signals.evaluated_ns",
    )
    .map_err(sql_err)?
    .execute(params![
        project.0,
        trace,
        sql_u64(found.evaluated_unix_nano),
        sql_u64(found.span_count),
        sql_u64(found.start_unix_nano),
        json
    ])
    .map_err(sql_err)?;
    Ok(())
}

pub fn of_runs(
    conn: &Connection,
    project: ProjectId,
    run_ids: &[String],
) -> Result<Vec<RunSignals>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT evaluated_ns, span_count, start_ns, signals FROM run_signals
             WHERE project_id = ?1 AND trace_id = ?2",
        )
        .map_err(sql_err)?;
    let mut out = Vec::new();
    for run_id in run_ids {
        let Some(trace) = run_id_blob(run_id) else {
            continue;
        };
        let row = stmt
            .query_row(params![project.0, trace], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .optional()
            .map_err(sql_err)?;
        let Some((evaluated, spans, start, json)) = row else {
            continue;
        };
        // A list that cannot be read is skipped: the next evaluation replaces it.
        let Ok(signals) = serde_json::from_str::<Vec<RunSignal>>(&json) else {
            tracing::warn!(run_id, "stored signals could not be read; skipped");
            continue;
        };
        out.push(RunSignals {
            run_id: run_id.to_ascii_lowercase(),
            evaluated_unix_nano: evaluated as u64,
            span_count: spans as u64,
            start_unix_nano: start as u64,
            signals,
        });
    }
    Ok(out)
}

pub fn counts(
    conn: &Connection,
    project: ProjectId,
    since: u64,
    until: u64,
    bucket_ns: u64,
) -> Result<Vec<SignalCount>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT (g.start_ns - ?2) / ?4 AS b, json_extract(j.value, '$.kind') AS name,
                    coalesce(json_extract(j.value, '$.severity'), 'warning') AS sev,
                    COUNT(DISTINCT g.trace_id)
             FROM run_signals g, json_each(g.signals) j
             WHERE g.project_id = ?1 AND g.start_ns >= ?2 AND g.start_ns < ?3
             GROUP BY b, name, sev ORDER BY b, name, sev",
        )
        .map_err(sql_err)?;
    let rows = stmt
        .query_map(
            params![
                project.0,
                sql_u64(since),
                sql_u64(until),
                sql_u64(bucket_ns.max(1))
            ],
            |r| {
                Ok(SignalCount {
                    bucket_unix_nano: since + r.get::<_, i64>(0)? as u64 * bucket_ns.max(1),
                    name: r.get(1)?,
                    severity: r.get(2)?,
                    runs: r.get::<_, i64>(3)? as u64,
                })
            },
        )
        .map_err(sql_err)?;
    rows.collect::<rusqlite::Result<_>>().map_err(sql_err)
}

pub fn settings(conn: &Connection, project: ProjectId) -> Result<SignalSettings> {
    let json: Option<String> = conn
        .prepare_cached("SELECT settings FROM signal_settings WHERE project_id = ?1")
        .map_err(sql_err)?
        .query_row(params![project.0], |r| r.get(0))
        .optional()
        .map_err(sql_err)?;
    crate::admin::decode_signal_settings(json.as_deref())
}

pub fn set_settings(
    conn: &Connection,
    project: ProjectId,
    settings: &SignalSettings,
) -> Result<()> {
    let json = crate::admin::encode_signal_settings(settings)?;
    conn.prepare_cached(
        "INSERT INTO signal_settings (project_id, settings) VALUES (?1, ?2)
         ON CONFLICT (project_id) DO UPDATE SET settings = excluded.settings",
    )
    .map_err(sql_err)?
    .execute(params![project.0, json])
    .map_err(sql_err)?;
    Ok(())
}
