//! OTLP log records: stored as they arrive, joined to their spans on read. A record's hash
//! names it, so a re-sent record is one row however often it arrives. GenAI evaluation results
//! among them are also stored as metric events, named by the same hash.

use std::collections::{BTreeSet, HashMap, HashSet};

use lemma_core::{LogRecord, MetricEvent, Span};
use sha2::{Digest, Sha256};

use super::rows::LogRow;
use super::sql::{Param, Sql};
use super::write::insert_all;
use super::{ch_err, metrics, now_ns, runs, Inner};
use crate::encoding::{decode, encode};
use crate::{readable, ProjectId, Result, StoreError, WriteStats};

/// A record ready to store: its row, and the metric event it carries, if any.
struct Prepared {
    row: LogRow,
    event: Option<MetricEvent>,
}

/// Hashing and compressing records is CPU work, done off the async threads.
fn prepare(batch: Vec<(ProjectId, LogRecord)>, inserted: u32) -> Result<Vec<Prepared>> {
    let mut out = Vec::with_capacity(batch.len());
    for (project, record) in batch {
        let json = serde_json::to_vec(&record).map_err(|e| StoreError::Backend(e.to_string()))?;
        let hash = Sha256::digest(&json);
        // The record's hash names the event, so a re-sent record is stored once.
        let event =
            lemma_core::metrics::from_log(&record, format!("log-{}", hex::encode(&hash[..16])));
        out.push(Prepared {
            row: LogRow {
                project_id: project.0,
                // Ids join in lowercase hex, as the embedded store's blobs do; no id is ''.
                trace_id: record
                    .trace_id
                    .as_deref()
                    .unwrap_or("")
                    .to_ascii_lowercase(),
                span_id: record.span_id.as_deref().unwrap_or("").to_ascii_lowercase(),
                generation: 0,
                hash: hex::encode(hash),
                time_ns: record.time_unix_nano,
                body: encode(&record)?,
                inserted,
            },
            event,
        });
    }
    Ok(out)
}

pub async fn write_batch(inner: &Inner, batch: Vec<(ProjectId, LogRecord)>) -> Result<WriteStats> {
    let mut stats = WriteStats::default();
    if batch.is_empty() {
        return Ok(stats);
    }
    let inserted = (now_ns() / 1_000_000_000) as u32;
    let mut prepared = tokio::task::spawn_blocking(move || prepare(batch, inserted))
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))??;
    let keys: Vec<(ProjectId, String)> = prepared
        .iter()
        .filter(|p| !p.row.trace_id.is_empty())
        .map(|p| (ProjectId(p.row.project_id), p.row.trace_id.clone()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let generations = runs::generations(inner, &keys).await?;
    for p in &mut prepared {
        let key = (ProjectId(p.row.project_id), p.row.trace_id.clone());
        p.row.generation = generations.get(&key).copied().unwrap_or(0);
    }
    let stored = stored_hashes(inner, &prepared).await?;
    let mut seen = HashSet::new();
    let (mut rows, mut events) = (Vec::new(), Vec::new());
    for p in prepared {
        let key = (p.row.project_id, p.row.hash.clone());
        if stored.contains(&key) || !seen.insert(key) {
            stats.duplicates += 1;
            continue;
        }
        stats.inserted += 1;
        if let Some(event) = p.event {
            events.push((ProjectId(p.row.project_id), p.row.generation, event));
        }
        rows.push(p.row);
    }
    // Events first: a retry after a failure in between finds the records new and stores
    // their events again, which reads take as one.
    metrics::insert(inner, &events, inserted).await?;
    insert_all(inner, "logs", &rows).await?;
    Ok(stats)
}

/// Which of the records are stored already (in their run's current generation), by
/// (project, hash).
async fn stored_hashes(inner: &Inner, records: &[Prepared]) -> Result<HashSet<(i64, String)>> {
    let mut sql = Sql::new(
        "SELECT DISTINCT project_id, hash FROM logs
         WHERE (project_id, trace_id, span_id, generation, hash) IN (",
    );
    for (i, p) in records.iter().enumerate() {
        let r = &p.row;
        let tuple = sql.list::<Param>([
            r.project_id.into(),
            r.trace_id.as_str().into(),
            r.span_id.as_str().into(),
            u64::from(r.generation).into(),
            r.hash.as_str().into(),
        ]);
        sql.push(if i == 0 { "" } else { ", " }).push(&tuple);
    }
    sql.push(")");
    let rows: Vec<(i64, String)> = sql
        .query(&inner.client)
        .fetch_all()
        .await
        .map_err(|e| ch_err("checking for log records stored before", e))?;
    Ok(rows.into_iter().collect())
}

#[derive(clickhouse::Row, serde::Deserialize)]
pub(super) struct RecordRow {
    generation: u32,
    trace_id: String,
    span_id: String,
    #[serde(with = "serde_bytes")]
    body: Vec<u8>,
}

/// Reads records, each once (re-sent ones are one), oldest first.
async fn records(inner: &Inner, sql: &Sql) -> Result<Vec<RecordRow>> {
    sql.query(&inner.client)
        .fetch_all()
        .await
        .map_err(|e| ch_err("reading log records", e))
}

const RECORD_COLUMNS: &str = "SELECT generation, trace_id, span_id, body FROM logs";

const RECORD_ORDER: &str =
    " ORDER BY time_ns, inserted, hash LIMIT 1 BY generation, trace_id, span_id, hash";

/// The log records of one run that name a span (or one of `spans`), of every generation the
/// run had: read beside the run's summary or generation, which tells which generation is live
/// ([`attach_of_generation`]).
pub(super) async fn of_run(
    inner: &Inner,
    project: ProjectId,
    trace_id: &str,
    spans: Option<&[String]>,
) -> Result<Vec<RecordRow>> {
    let mut sql = Sql::new(RECORD_COLUMNS);
    let text = format!(
        " WHERE project_id = {} AND trace_id = {} AND span_id != ''",
        sql.bind(project.0),
        sql.bind(trace_id)
    );
    sql.push(&text);
    if let Some(spans) = spans {
        let ids: Vec<&str> = spans.iter().map(|id| sql.bind(id.as_str())).collect();
        sql.push(&format!(" AND span_id IN ({})", ids.join(", ")));
    }
    sql.push(RECORD_ORDER);
    records(inner, &sql).await
}

/// Joins to each span the records of `rows` naming it that are of `generation`.
pub(super) fn attach_of_generation(
    spans: &mut [Span],
    rows: Vec<RecordRow>,
    generation: u32,
) -> Result<()> {
    join(
        spans,
        rows.into_iter().filter(|r| r.generation == generation),
    )
}

/// Joins to each span the log records naming it, in one query; `generations[i]` is the
/// generation of `spans[i]`'s run.
pub(super) async fn attach(
    inner: &Inner,
    project: ProjectId,
    spans: &mut [Span],
    generations: &[u32],
) -> Result<()> {
    if spans.is_empty() {
        return Ok(());
    }
    let keys: BTreeSet<(&str, &str, u32)> = spans
        .iter()
        .zip(generations)
        .map(|(s, g)| (s.trace_id.as_str(), s.span_id.as_str(), *g))
        .collect();
    let keys: Vec<_> = keys.into_iter().collect();
    let mut sql = Sql::new(RECORD_COLUMNS);
    let text = format!(
        " WHERE project_id = {} AND (trace_id, span_id, generation) IN (",
        sql.bind(project.0)
    );
    sql.push(&text);
    sql.push_tuples(&keys, |(t, s, g)| {
        vec![(*t).into(), (*s).into(), u64::from(*g).into()]
    });
    sql.push(")").push(RECORD_ORDER);
    let rows = records(inner, &sql).await?;
    join(spans, rows.into_iter())
}

fn join(spans: &mut [Span], rows: impl Iterator<Item = RecordRow>) -> Result<()> {
    let mut found: HashMap<(String, String), Vec<LogRecord>> = HashMap::new();
    for row in rows {
        if let Some(record) = readable("log record", decode::<LogRecord>(&row.body))? {
            found
                .entry((row.trace_id, row.span_id))
                .or_default()
                .push(record);
        }
    }
    for span in spans.iter_mut() {
        if let Some(records) = found.get(&(span.trace_id.clone(), span.span_id.clone())) {
            lemma_core::logs::attach(span, records.clone());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
