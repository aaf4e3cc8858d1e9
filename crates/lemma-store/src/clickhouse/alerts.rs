//! Alerts: a project's rules and channels (one versioned JSON document, the highest version
//! holds) and its events (one row per change of an event, the newest holds). Reads take argMax
//! themselves, so they are exact before the engine's merges drop the older rows.

use clickhouse::Row;
use lemma_core::alerts::{AlertConfig, AlertEvent};
use serde::{Deserialize, Serialize};

use super::sql::Sql;
use super::write::insert_all;
use super::{ch_err, now_ns, Inner};
use crate::admin::{alert_conflict, decode_alert_config, encode_alert_config};
use crate::{ProjectId, Result, StoreError};

#[derive(Row, Serialize)]
struct ConfigRow {
    project_id: i64,
    version: u64,
    config: String,
    updated_ns: u64,
}

#[derive(Row, Deserialize)]
struct ConfigRead {
    newest: u64,
    found: String,
}

#[derive(Row, Serialize)]
struct EventRow {
    project_id: i64,
    id: String,
    rule_id: String,
    at_ns: u64,
    event: String,
    updated_ns: u64,
    /// DateTime: unix seconds.
    inserted: u32,
}

pub async fn config(inner: &Inner, project: ProjectId) -> Result<AlertConfig> {
    // Aliases differ from the columns, which the aggregates read. Rows of one version exist
    // only after a race (see `set_config`); `updated_ns` picks the same one for every read.
    let mut sql = Sql::new(
        "SELECT max(version) AS newest, argMax(config, (version, updated_ns)) AS found
         FROM alert_config WHERE project_id = ? GROUP BY project_id",
    );
    sql.bind(project.0);
    let row: Option<ConfigRead> = sql
        .query(&inner.client)
        .fetch_optional()
        .await
        .map_err(|e| ch_err("reading a project's alert rules", e))?;
    match row {
        None => Ok(AlertConfig::default()),
        Some(r) => Ok(AlertConfig {
            version: r.newest,
            ..decode_alert_config(&r.found)?
        }),
    }
}

/// Stores `config` as the version after `expected`, if that is still the stored one.
///
/// ClickHouse has no transactions, so the check and the insert are not atomic: two changes
/// over the same version, made at the same instant (through two servers, or two requests to
/// one), can both pass the check and both be stored as the same next version. Both callers
/// are told they succeeded, yet only one change holds (the engine keeps the last inserted row
/// of equal versions when it merges; reads pick the later `updated_ns` before that). Saving
/// rules is a rare, manual act, so this window is accepted rather than locked against.
pub async fn set_config(
    inner: &Inner,
    project: ProjectId,
    config: &AlertConfig,
    expected: u64,
) -> Result<u64> {
    let stored = self::config(inner, project).await?.version;
    if stored != expected {
        return Err(alert_conflict(stored, expected));
    }
    let version = stored + 1;
    let row = ConfigRow {
        project_id: project.0,
        version,
        config: encode_alert_config(&AlertConfig {
            version,
            ..config.clone()
        })?,
        updated_ns: now_ns(),
    };
    insert_all(inner, "alert_config", std::slice::from_ref(&row)).await?;
    Ok(version)
}

pub async fn put_event(inner: &Inner, project: ProjectId, event: &AlertEvent) -> Result<()> {
    let now = now_ns();
    let row = EventRow {
        project_id: project.0,
        id: event.id.clone(),
        rule_id: event.rule_id.clone(),
        at_ns: event.at_unix_nano,
        event: serde_json::to_string(event).map_err(|e| StoreError::Backend(e.to_string()))?,
        // The newest change of an id holds: its deliveries only go on.
        updated_ns: now,
        inserted: (now / 1_000_000_000) as u32,
    };
    insert_all(inner, "alert_events", std::slice::from_ref(&row)).await
}

pub async fn events(
    inner: &Inner,
    project: ProjectId,
    rule_id: Option<&str>,
    limit: usize,
) -> Result<Vec<AlertEvent>> {
    let mut sql = Sql::new("");
    let head = format!(
        "SELECT found FROM
           (SELECT id, argMax(at_ns, updated_ns) AS event_at, argMax(event, updated_ns) AS found
            FROM alert_events WHERE project_id = {}",
        sql.bind(project.0)
    );
    sql.push(&head);
    if let Some(rule) = rule_id {
        // An event's rule never changes, so any of its rows tells.
        let text = format!(" AND rule_id = {}", sql.bind(rule));
        sql.push(&text);
    }
    let tail = format!(
        " GROUP BY id) ORDER BY event_at DESC, id DESC LIMIT {}",
        sql.bind(limit.min(crate::MAX_LIMIT) as u64)
    );
    sql.push(&tail);
    let rows: Vec<String> = sql
        .query(&inner.client)
        .fetch_all()
        .await
        .map_err(|e| ch_err("reading a project's alert events", e))?;
    let mut out = Vec::with_capacity(rows.len());
    for json in rows {
        match serde_json::from_str(&json) {
            Ok(e) => out.push(e),
            Err(e) => tracing::warn!(error = %e, "a stored alert event could not be read; skipped"),
        }
    }
    Ok(out)
}
