//! Re-pricing: every computed cost of the project's live spans recomputed with a price table.
//! A span whose cost changes gets a new row with the same content but its cost (columns,
//! digest and body); provided costs are never touched. The new row's `version` is above every
//! span version of its run, so the run's highest span version counts how often it was
//! re-priced, and the run's new summary outranks the ones before (`runs::version`).

use std::collections::BTreeSet;
use std::collections::HashMap;

use lemma_core::pricing::{self, PriceTable};
use lemma_core::{CostSource, SpanDigest};

use crate::clickhouse::rows::{DigestRow, SpanRow};
use crate::clickhouse::runs::{self, Touched, DIGEST_COLUMNS};
use crate::clickhouse::sql::{Param, Sql};
use crate::clickhouse::write::insert_all;
use crate::clickhouse::{ch_err, delete, Inner};
use crate::encoding::{cost_source_name, decode_span, encode_digest, encode_span};
use crate::{readable, ProjectId, Result, StoreError};

/// Spans read back and rewritten per request.
const CHUNK: usize = 500;

/// The columns of `SpanRow`, in order.
const SPAN_COLUMNS: &str = "project_id, trace_id, span_id, generation, version, inserted,
    parent_span_id, name, kind, status, start_ns, end_ns, model, provider, tool_name,
    agent_name, thread_id, user_id, session_id, environment, service_name, input_tokens,
    output_tokens, total_tokens, cost_usd, cost_source, digest, body";

/// A span whose cost changes: the row it changes, its digest with the new cost and the
/// version of its new row.
struct Changed {
    trace_id: String,
    span_id: String,
    generation: u32,
    version: u32,
    new_version: u32,
    digest: SpanDigest,
}

/// Returns how many spans' costs changed.
pub async fn reprice(inner: &Inner, project: ProjectId, table: &PriceTable) -> Result<u64> {
    let mut rest = changed_costs(inner, project, table).await?;
    let mut count = 0;
    let mut touched = BTreeSet::new();
    while !rest.is_empty() {
        let later = rest.split_off(rest.len().min(CHUNK));
        let chunk = std::mem::replace(&mut rest, later);
        let rows = current_rows(inner, project, &chunk).await?;
        let rewritten = tokio::task::spawn_blocking(move || rewrite(rows, chunk))
            .await
            .map_err(|e| StoreError::Backend(e.to_string()))??;
        insert_all(inner, "spans", &rewritten).await?;
        count += rewritten.len() as u64;
        touched.extend(rewritten.into_iter().map(|r| (r.trace_id, r.generation)));
    }
    let touched: Vec<(String, u32)> = touched.into_iter().collect();
    for runs in touched.chunks(CHUNK) {
        let runs: Vec<Touched> = runs
            .iter()
            .map(|(trace_id, generation)| Touched {
                project,
                trace_id,
                generation: *generation,
                fresh: HashMap::new(),
            })
            .collect();
        runs::resummarize(inner, &runs).await?;
    }
    Ok(count)
}

/// The live spans whose cost the table changes. Only spans with a model and a cost that was
/// not provided can change; whether a span has them is the same in each of its rows.
async fn changed_costs(
    inner: &Inner,
    project: ProjectId,
    table: &PriceTable,
) -> Result<Vec<Changed>> {
    let mut sql = Sql::new(format!(
        "SELECT {DIGEST_COLUMNS}, trace_id, generation FROM spans WHERE project_id = "
    ));
    let text = format!(
        "{} AND model IS NOT NULL AND (cost_source IS NULL OR cost_source = 'computed') AND ",
        sql.bind(project.0)
    );
    sql.push(&text);
    delete::not_deleted(&mut sql, project);
    sql.push(
        " ORDER BY trace_id, span_id, generation, version DESC, inserted
          LIMIT 1 BY trace_id, span_id, generation",
    );
    let mut cursor = sql
        .query(&inner.client)
        .fetch::<(DigestRow, String, u32)>()
        .map_err(|e| ch_err("reading spans to re-price", e))?;
    let mut changed = Vec::new();
    // The highest version of each run's spans: only re-priced spans have versions above 0,
    // and each of them is read here.
    let mut highest: HashMap<String, u32> = HashMap::new();
    while let Some((row, trace_id, generation)) = cursor
        .next()
        .await
        .map_err(|e| ch_err("reading spans to re-price", e))?
    {
        let (span_id, version) = (row.span_id.clone(), row.version);
        let top = highest.entry(trace_id.clone()).or_default();
        *top = (*top).max(version);
        let Some(mut digest) = readable("span digest", row.digest())? else {
            continue;
        };
        if pricing::reprice_digest(&mut digest, table) {
            changed.push(Changed {
                trace_id,
                span_id,
                generation,
                version,
                new_version: 0,
                digest,
            });
        }
    }
    for c in &mut changed {
        c.new_version = highest.get(&c.trace_id).map_or(0, |v| v.saturating_add(1));
    }
    Ok(changed)
}

/// The rows `changed` names, in full.
async fn current_rows(
    inner: &Inner,
    project: ProjectId,
    changed: &[Changed],
) -> Result<Vec<SpanRow>> {
    let mut sql = Sql::new(format!(
        "SELECT {SPAN_COLUMNS} FROM spans WHERE project_id = "
    ));
    let text = format!(
        "{} AND (trace_id, span_id, generation, version) IN (",
        sql.bind(project.0)
    );
    sql.push(&text);
    for (i, c) in changed.iter().enumerate() {
        let tuple = sql.list::<Param>([
            c.trace_id.as_str().into(),
            c.span_id.as_str().into(),
            u64::from(c.generation).into(),
            u64::from(c.version).into(),
        ]);
        sql.push(if i == 0 { "" } else { ", " }).push(&tuple);
    }
    sql.push(") ORDER BY trace_id, span_id, inserted LIMIT 1 BY trace_id, span_id");
    sql.query(&inner.client)
        .fetch_all()
        .await
        .map_err(|e| ch_err("reading spans to re-price", e))
}

/// Each row again, in its new version, with the new cost. A span whose body cannot be read keeps
/// its cost: no row is written for it.
fn rewrite(rows: Vec<SpanRow>, changed: Vec<Changed>) -> Result<Vec<SpanRow>> {
    let mut digests: HashMap<(String, String), (u32, SpanDigest)> = changed
        .into_iter()
        .map(|c| ((c.trace_id, c.span_id), (c.new_version, c.digest)))
        .collect();
    let mut out = Vec::with_capacity(rows.len());
    for mut row in rows {
        let Some((version, digest)) = digests.remove(&(row.trace_id.clone(), row.span_id.clone()))
        else {
            continue;
        };
        let Some(mut span) = readable("span", decode_span(&row.body))? else {
            continue;
        };
        span.cost_usd = digest.cost_usd;
        span.cost_source = digest.cost_usd.map(|_| CostSource::Computed);
        row.version = version;
        row.cost_usd = span.cost_usd;
        row.cost_source = span.cost_source.map(|c| cost_source_name(c).to_string());
        row.digest = encode_digest(&digest)?;
        row.body = encode_span(&mut span)?;
        out.push(row);
    }
    Ok(out)
}
