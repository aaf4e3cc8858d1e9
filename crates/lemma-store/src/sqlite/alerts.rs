//! Alerts: a project's rules and channels (one versioned JSON document), and its events.

use lemma_core::alerts::{AlertConfig, AlertEvent};
use rusqlite::{params, Connection, OptionalExtension};

use super::codec::sql_u64;
use super::sql_err;
use crate::admin::{alert_conflict, decode_alert_config, encode_alert_config};
use crate::{ProjectId, Result, StoreError};

pub fn config(conn: &Connection, project: ProjectId) -> Result<AlertConfig> {
    let row: Option<(i64, String)> = conn
        .prepare_cached("SELECT version, config FROM alert_config WHERE project_id = ?1")
        .map_err(sql_err)?
        .query_row(params![project.0], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .map_err(sql_err)?;
    match row {
        None => Ok(AlertConfig::default()),
        Some((version, json)) => Ok(AlertConfig {
            version: version as u64,
            ..decode_alert_config(&json)?
        }),
    }
}

pub fn set_config(
    conn: &mut Connection,
    project: ProjectId,
    config: &AlertConfig,
    expected: u64,
) -> Result<u64> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sql_err)?;
    let stored = self::config(&tx, project)?.version;
    if stored != expected {
        return Err(alert_conflict(stored, expected));
    }
    let version = stored + 1;
    let json = encode_alert_config(&AlertConfig {
        version,
        ..config.clone()
    })?;
    tx.prepare_cached(
        "INSERT INTO alert_config (project_id, version, config) VALUES (?1, ?2, ?3)
         ON CONFLICT (project_id) DO UPDATE SET version = excluded.version, config = excluded.config",
    )
    .map_err(sql_err)?
    .execute(params![project.0, sql_u64(version), json])
    .map_err(sql_err)?;
    tx.commit().map_err(sql_err)?;
    Ok(version)
}

pub fn put_event(conn: &Connection, project: ProjectId, event: &AlertEvent) -> Result<()> {
    let json = serde_json::to_string(event).map_err(|e| StoreError::Backend(e.to_string()))?;
    conn.prepare_cached(
        "INSERT INTO alert_events (project_id, id, rule_id, at_ns, event) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (project_id, id) DO UPDATE SET event = excluded.event",
    )
    .map_err(sql_err)?
    .execute(params![
        project.0,
        event.id,
        event.rule_id,
        sql_u64(event.at_unix_nano),
        json
    ])
    .map_err(sql_err)?;
    Ok(())
}

pub fn events(
    conn: &Connection,
    project: ProjectId,
    rule_id: Option<&str>,
    limit: usize,
) -> Result<Vec<AlertEvent>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT event FROM alert_events
             WHERE project_id = ?1 AND (?2 IS NULL OR rule_id = ?2)
             ORDER BY at_ns DESC, id DESC LIMIT ?3",
        )
        .map_err(sql_err)?;
    let rows = stmt
        .query_map(
            params![project.0, rule_id, limit.min(crate::MAX_LIMIT) as i64],
            |r| r.get::<_, String>(0),
        )
        .map_err(sql_err)?;
    let mut out = Vec::new();
    for json in rows {
        let json = json.map_err(sql_err)?;
        match serde_json::from_str(&json) {
            Ok(e) => out.push(e),
            Err(e) => tracing::warn!(error = %e, "a stored alert event could not be read; skipped"),
        }
    }
    Ok(out)
}
