//! OTLP log records: stored as they arrive, joined to their spans on read. GenAI evaluation
//! results among them are also stored as metric events.

use std::collections::HashMap;

use lemma_core::{LogRecord, Span};
use rusqlite::{params, Connection};
use sha2::{Digest, Sha256};

use super::codec::{decode, encode, id_blob};
use super::{metrics, readable, sql_err};
use crate::{ProjectId, Result, StoreError, WriteStats};

pub fn write_batch(conn: &mut Connection, batch: &[(ProjectId, LogRecord)]) -> Result<WriteStats> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sql_err)?;
    let mut stats = WriteStats::default();
    {
        let mut insert = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO logs (project_id, trace_id, span_id, time_ns, hash, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(sql_err)?;
        for (project, record) in batch {
            let json =
                serde_json::to_vec(record).map_err(|e| StoreError::Backend(e.to_string()))?;
            let hash = Sha256::digest(&json).to_vec();
            let changed = insert
                .execute(params![
                    project.0,
                    record.trace_id.as_deref().map(id_blob),
                    record.span_id.as_deref().map(id_blob),
                    record.time_unix_nano as i64,
                    hash,
                    encode(record)?,
                ])
                .map_err(sql_err)?;
            if changed == 0 {
                stats.duplicates += 1;
                continue;
            }
            stats.inserted += 1;
            // The record's hash names the event, so a re-sent record is stored once.
            let id = format!("log-{}", hex::encode(&hash[..16]));
            if let Some(event) = lemma_core::metrics::from_log(record, id) {
                metrics::insert(&tx, *project, &[event])?;
            }
        }
    }
    tx.commit().map_err(sql_err)?;
    Ok(stats)
}

/// Joins to each span the log records naming it. The spans may belong to several traces.
pub fn attach(conn: &Connection, project: ProjectId, spans: &mut [Span]) -> Result<()> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT body FROM logs WHERE project_id = ?1 AND trace_id = ?2 AND span_id = ?3",
        )
        .map_err(sql_err)?;
    for span in spans.iter_mut() {
        let mut rows = stmt
            .query(params![
                project.0,
                id_blob(&span.trace_id),
                id_blob(&span.span_id)
            ])
            .map_err(sql_err)?;
        let mut records = Vec::new();
        while let Some(row) = rows.next().map_err(sql_err)? {
            let body = row.get::<_, Vec<u8>>(0).map_err(sql_err)?;
            records.extend(readable("log record", decode::<LogRecord>(&body))?);
        }
        lemma_core::logs::attach(span, records);
    }
    Ok(())
}

/// Joins a whole trace's records in one query (a run's detail view).
pub fn attach_trace(
    conn: &Connection,
    project: ProjectId,
    trace_id: &str,
    spans: &mut [Span],
) -> Result<()> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT body FROM logs WHERE project_id = ?1 AND trace_id = ?2 AND span_id IS NOT NULL",
        )
        .map_err(sql_err)?;
    let mut rows = stmt
        .query(params![project.0, id_blob(trace_id)])
        .map_err(sql_err)?;
    let mut by_span: HashMap<String, Vec<LogRecord>> = HashMap::new();
    while let Some(row) = rows.next().map_err(sql_err)? {
        let body = row.get::<_, Vec<u8>>(0).map_err(sql_err)?;
        let Some(record) = readable("log record", decode::<LogRecord>(&body))? else {
            continue;
        };
        if let Some(span_id) = record.span_id.clone() {
            by_span.entry(span_id).or_default().push(record);
        }
    }
    for span in spans.iter_mut() {
        if let Some(records) = by_span.remove(&span.span_id) {
            lemma_core::logs::attach(span, records);
        }
    }
    Ok(())
}
