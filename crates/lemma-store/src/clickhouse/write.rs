//! The write path. A batch is acknowledged only after ClickHouse acknowledged every insert it
//! made (on a cluster, every shard: `insert_distributed_sync`). Inserts go in an order that
//! makes a retry after any failure complete the work: the rows only reads through a span
//! find (words, metric events) first, then the spans, then the summaries of every run the
//! batch touched, even runs whose spans were all stored before (a retried batch finishes the
//! summaries of the attempt that failed).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use clickhouse::{RowOwned, RowWrite};
use lemma_core::Span;

use super::rows::{SpanRow, TermRow};
use super::runs::{self, Touched};
use super::sql::{Sql, KEYS_PER_QUERY};
use super::{ch_err, metrics, now_ns, text, Inner};
use crate::encoding::{cost_source_name, encode_digest, encode_span};
use crate::{ProjectId, Result, StoreError, WriteStats};

pub async fn write_spans(inner: &Inner, batch: Vec<(ProjectId, Span)>) -> Result<WriteStats> {
    let mut stats = WriteStats::default();
    if batch.is_empty() {
        return Ok(stats);
    }
    let run_keys: Vec<(ProjectId, String)> = batch
        .iter()
        .map(|(p, s)| (*p, s.trace_id.clone()))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let generations = runs::generations(inner, &run_keys).await?;
    let generation =
        |p: ProjectId, t: &str| generations.get(&(p, t.to_string())).copied().unwrap_or(0);
    let stored = stored_spans(inner, &batch, &generation).await?;

    // The batch's new spans, each once.
    let mut seen = HashSet::new();
    let mut new: Vec<&(ProjectId, Span)> = Vec::new();
    for item in &batch {
        let (p, s) = item;
        let key = (*p, s.trace_id.as_str(), s.span_id.as_str());
        if stored.contains(&(p.0, s.trace_id.clone(), s.span_id.clone())) || !seen.insert(key) {
            stats.duplicates += 1;
        } else {
            new.push(item);
        }
    }
    stats.inserted = new.len() as u64;

    let inserted = (now_ns() / 1_000_000_000) as u32;
    let owned: Vec<(ProjectId, Span, u32)> = new
        .iter()
        .map(|(p, s)| (*p, s.clone(), generation(*p, &s.trace_id)))
        .collect();
    let (span_rows, term_rows) = tokio::task::spawn_blocking(move || encode(owned, inserted))
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))??;

    let events: Vec<_> = new
        .iter()
        .flat_map(|(p, s)| {
            let g = generation(*p, &s.trace_id);
            lemma_core::metrics::from_span(s)
                .into_iter()
                .map(move |e| (*p, g, e))
        })
        .collect();
    // Words and metric events go in together; the spans only after both are stored.
    tokio::try_join!(
        text::insert(inner, term_rows),
        metrics::insert(inner, &events, inserted)
    )?;
    insert_all(inner, "spans", &span_rows).await?;

    let mut touched: BTreeMap<(ProjectId, &str), HashMap<&str, &Span>> = BTreeMap::new();
    for (p, s) in &batch {
        touched.entry((*p, &s.trace_id)).or_default();
    }
    for (p, s) in &new {
        if let Some(fresh) = touched.get_mut(&(*p, s.trace_id.as_str())) {
            fresh.insert(&s.span_id, s);
        }
    }
    let touched: Vec<Touched> = touched
        .into_iter()
        .map(|((project, trace_id), fresh)| Touched {
            project,
            trace_id,
            generation: generation(project, trace_id),
            fresh,
        })
        .collect();
    stats.runs_updated = touched.len() as u64;
    runs::resummarize(inner, &touched).await?;
    Ok(stats)
}

/// Which of the batch's spans are stored already (in their run's current generation). Asked
/// by run, then by span id: the set ClickHouse matches against each part's index is a few runs
/// rather than hundreds of (run, span) pairs, for the same granules read.
async fn stored_spans(
    inner: &Inner,
    batch: &[(ProjectId, Span)],
    generation: &impl Fn(ProjectId, &str) -> u32,
) -> Result<HashSet<(i64, String, String)>> {
    let keys: BTreeSet<((ProjectId, &str), &str)> = batch
        .iter()
        .map(|(p, s)| ((*p, s.trace_id.as_str()), s.span_id.as_str()))
        .collect();
    let keys: Vec<_> = keys.into_iter().collect();
    let mut stored = HashSet::new();
    for chunk in keys.chunks(KEYS_PER_QUERY) {
        let runs: BTreeSet<(ProjectId, &str)> = chunk.iter().map(|(run, _)| *run).collect();
        let mut sql = Sql::new(
            "SELECT DISTINCT project_id, trace_id, span_id FROM spans
             WHERE (project_id, trace_id, generation) IN (",
        );
        sql.push_tuples(&runs, |(p, t)| {
            vec![p.0.into(), (*t).into(), u64::from(generation(*p, t)).into()]
        });
        let ids = sql.list(chunk.iter().map(|(_, id)| *id));
        sql.push(&format!(") AND span_id IN {ids}"));
        let rows: Vec<(i64, String, String)> = sql
            .query(&inner.client)
            .fetch_all()
            .await
            .map_err(|e| ch_err("checking for spans stored before", e))?;
        stored.extend(rows);
    }
    Ok(stored)
}

/// The rows of new spans: compressing bodies and splitting text into words is most of a
/// write's CPU, done off the async threads.
fn encode(
    spans: Vec<(ProjectId, Span, u32)>,
    inserted: u32,
) -> Result<(Vec<SpanRow>, Vec<TermRow>)> {
    let mut runs: BTreeMap<(ProjectId, &str, u32), Vec<&Span>> = BTreeMap::new();
    for (project, span, generation) in &spans {
        runs.entry((*project, span.trace_id.as_str(), *generation))
            .or_default()
            .push(span);
    }
    let terms = runs
        .into_iter()
        .flat_map(|((project, trace_id, generation), spans)| {
            text::term_rows(project, trace_id, &spans, generation, inserted)
        })
        .collect();
    let mut rows = Vec::with_capacity(spans.len());
    for (project, mut span, generation) in spans {
        let digest = lemma_core::SpanDigest::from(&span);
        rows.push(SpanRow {
            project_id: project.0,
            generation,
            version: 0,
            inserted,
            parent_span_id: span.parent_span_id.clone(),
            name: span.name.clone(),
            kind: span.kind.as_str().to_string(),
            status: span.status.as_str().to_string(),
            start_ns: span.start_time_unix_nano,
            end_ns: span.end_time_unix_nano,
            model: span.model.clone(),
            provider: span.provider.clone(),
            tool_name: span.tool_name.clone(),
            agent_name: span.agent_name.clone(),
            thread_id: span.thread_id.clone(),
            user_id: span.user_id.clone(),
            session_id: span.session_id.clone(),
            environment: span.environment.clone(),
            service_name: span.service_name().map(str::to_string),
            input_tokens: span.usage.input_tokens,
            output_tokens: span.usage.output_tokens,
            total_tokens: span.usage.total_tokens,
            cost_usd: span.cost_usd,
            cost_source: span.cost_source.map(|c| cost_source_name(c).to_string()),
            digest: encode_digest(&digest)?,
            body: encode_span(&mut span)?,
            trace_id: span.trace_id,
            span_id: span.span_id,
        });
    }
    Ok((rows, terms))
}

/// Inserts rows in one request; returns once ClickHouse acknowledged them.
pub(super) async fn insert_all<T: RowOwned + RowWrite>(
    inner: &Inner,
    table: &str,
    rows: &[T],
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let what = format!("storing {table}");
    super::sql::log_insert(table, T::COLUMN_NAMES);
    let mut insert = inner
        .client
        .insert::<T>(table)
        .await
        .map_err(|e| ch_err(&what, e))?;
    for row in rows {
        insert.write(row).await.map_err(|e| ch_err(&what, e))?;
    }
    insert.end().await.map_err(|e| ch_err(&what, e))
}
