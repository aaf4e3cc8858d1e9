//! The write path: one transaction per batch (group commit), spans deduplicated by id, and
//! every affected run's summary brought up to date in the same transaction by merging in the
//! spans the batch inserted (`lemma_core::run::ledger`), with the evaluation results spans
//! carry stored as metric events.

use std::collections::{BTreeMap, HashMap};

use lemma_core::run::ledger::{self, RunState};
use lemma_core::run::{summarize, SpanDigest};
use lemma_core::{Run, Span};
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::blocks::{self, BlockRef, Blocks, SpanBodies, BODY_COLUMNS};
use super::codec::cost_source_name;
use super::codec::{
    decode, digest_from_row, encode, encode_digest, id_blob, sql_u64, DIGEST_COLUMNS,
};
use super::ledger::SqliteRunIndex;
use super::{metrics, readable, sql_err, text};
use crate::{ProjectId, Result, WriteStats};

/// A batch ready to store: each span with what it is stored as. Encoding (serialising and
/// compressing) is most of a write's CPU; it is done apart from the writer connection, so one
/// batch encodes while another commits.
pub struct EncodedBatch {
    spans: Vec<(ProjectId, Span)>,
    encoded: Vec<Encoded>,
    blocks: Blocks,
}

struct Encoded {
    /// The digest as its row stores it, and whole, for the run's summary.
    digest_row: Vec<u8>,
    digest: SpanDigest,
    text: String,
    body: BlockRef,
}

pub fn encode_batch(mut spans: Vec<(ProjectId, Span)>) -> Result<EncodedBatch> {
    let (blocks, places) = blocks::pack(&mut spans)?;
    let encoded = spans
        .iter()
        .zip(places)
        .map(|((_, span), body)| {
            let digest = SpanDigest::from(span);
            Ok(Encoded {
                digest_row: encode_digest(&digest)?,
                digest,
                text: crate::search::searchable_text(span),
                body,
            })
        })
        .collect::<Result<_>>()?;
    Ok(EncodedBatch {
        spans,
        encoded,
        blocks,
    })
}

pub fn write_batch(conn: &mut Connection, batch: EncodedBatch) -> Result<WriteStats> {
    let EncodedBatch {
        spans: batch,
        encoded,
        blocks,
    } = batch;
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sql_err)?;
    let block_ids = blocks::insert(&tx, &blocks)?;
    let mut block_used = vec![false; block_ids.len()];
    let mut stats = WriteStats::default();
    // Each run's spans this batch inserted, in batch order.
    let mut touched: BTreeMap<(ProjectId, &str), Vec<SpanDigest>> = BTreeMap::new();
    // The batch's own spans, so a root's payload need not be read back from disk.
    let mut fresh: HashMap<(ProjectId, &str, &str), &Span> = HashMap::new();
    {
        let mut insert = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO spans (project_id, trace_id, span_id, parent_span_id, name,
                 kind, start_ns, end_ns, status, model, provider, tool_name, agent_name, thread_id,
                 user_id, session_id, environment, service_name, input_tokens, output_tokens,
                 total_tokens, cost_usd, cost_source, digest, body, block, block_pos)
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24,X'',?25,?26)",
            )
            .map_err(sql_err)?;
        let mut index = text::Writer::new(&tx);
        for ((project, span), encoded) in batch.iter().zip(encoded) {
            let changed = insert
                .execute(params![
                    project.0,
                    id_blob(&span.trace_id),
                    id_blob(&span.span_id),
                    span.parent_span_id.as_deref().map(id_blob),
                    span.name,
                    span.kind.as_str(),
                    span.start_time_unix_nano as i64,
                    span.end_time_unix_nano as i64,
                    span.status.as_str(),
                    span.model,
                    span.provider,
                    span.tool_name,
                    span.agent_name,
                    span.thread_id,
                    span.user_id,
                    span.session_id,
                    span.environment,
                    span.service_name(),
                    span.usage.input_tokens.map(sql_u64),
                    span.usage.output_tokens.map(sql_u64),
                    span.usage.total_tokens.map(sql_u64),
                    span.cost_usd,
                    span.cost_source.map(cost_source_name),
                    encoded.digest_row,
                    block_ids[encoded.body.block],
                    encoded.body.pos,
                ])
                .map_err(sql_err)?;
            if changed == 0 {
                stats.duplicates += 1;
                continue;
            }
            stats.inserted += 1;
            block_used[encoded.body.block] = true;
            index.add(tx.last_insert_rowid(), &encoded.text)?;
            metrics::insert(&tx, *project, &lemma_core::metrics::from_span(span))?;
            touched
                .entry((*project, &span.trace_id))
                .or_default()
                .push(encoded.digest);
            fresh.insert((*project, &span.trace_id, &span.span_id), span);
        }
    }
    blocks::remove_unused(
        &tx,
        block_ids
            .iter()
            .zip(&block_used)
            .filter(|(_, used)| !**used)
            .map(|(id, _)| *id),
    )?;
    for ((project, trace_id), new) in &touched {
        update_run(&tx, *project, trace_id, Some(new), &fresh)?;
        stats.runs_updated += 1;
    }
    tx.commit().map_err(sql_err)?;
    Ok(stats)
}

/// Runs shorter than this are summarised from all their digests on each commit that touches
/// them, with nothing stored beside them: for the short runs most agents produce, reading a few
/// digests costs less than the merge's lookups and rows (which cost a third of ingest's
/// throughput on the main benchmark). A run that reaches it gets a state, from all its spans
/// once, and from then on each commit merges its new spans.
pub const MERGE_FROM_SPANS: usize = 1_000;

/// Brings a run's summary up to date. A run with a state merges `new` (spans just inserted,
/// each once) into it; otherwise, or with `None` (re-priced spans), or when its state cannot be
/// read, the run is summarised from all its stored spans, and gets a state if it is long.
/// `fresh` holds spans of the current batch, read instead of their stored bodies.
pub(super) fn update_run(
    tx: &Transaction,
    project: ProjectId,
    trace_id: &str,
    new: Option<&[SpanDigest]>,
    fresh: &HashMap<(ProjectId, &str, &str), &Span>,
) -> Result<()> {
    let trace = id_blob(trace_id);
    let mut index = SqliteRunIndex::new(tx, project, trace_id);
    let (mut run, previous) = match (index.state()?, new) {
        (Some(mut state), Some(new)) => {
            ledger::apply(&mut index, &mut state, new)?;
            index.save_state(&state)?;
            (
                state.finish(trace_id),
                previous_summary(tx, project, &trace)?,
            )
        }
        (stored, _) => {
            if stored.is_some() {
                index.clear()?;
            }
            let all = read_digests(tx, project, trace_id)?;
            if all.len() >= MERGE_FROM_SPANS {
                let mut state = RunState::default();
                ledger::apply(&mut index, &mut state, &all)?;
                index.save_state(&state)?;
                (state.finish(trace_id), None)
            } else {
                (summarize(trace_id, &all), None)
            }
        }
    };
    if let Some(root_id) = run.root_span_id.clone() {
        let root: Option<Span> = match (fresh.get(&(project, trace_id, root_id.as_str())), previous)
        {
            (Some(span), _) => Some((*span).clone()),
            // The same root as before: its payloads are the previous summary's.
            (None, Some(prev)) if prev.root_span_id.as_deref() == Some(root_id.as_str()) => {
                Some(Span {
                    input: prev.input,
                    output: prev.output,
                    ..Span::default()
                })
            }
            (None, _) => {
                let mut stmt = tx
                    .prepare_cached(&format!(
                        "SELECT {BODY_COLUMNS} FROM spans
                         WHERE project_id = ?1 AND trace_id = ?2 AND span_id = ?3"
                    ))
                    .map_err(sql_err)?;
                let mut rows = stmt
                    .query(params![project.0, trace, id_blob(&root_id)])
                    .map_err(sql_err)?;
                match rows.next().map_err(sql_err)? {
                    Some(row) => readable("span", SpanBodies::new(tx).read(row, 0))?,
                    None => None,
                }
            }
        };
        if let Some(root) = root {
            run.input = root.input;
            run.output = root.output;
        }
    }
    tx.prepare_cached(
        "INSERT OR REPLACE INTO runs (project_id, trace_id, name, agent_name, status, start_ns,
         end_ns, duration_ms, span_count, error_count, input_tokens, output_tokens, total_tokens,
         cost_usd, thread_id, user_id, session_id, environment, has_root, agents, models, tools,
         tags, signals, kind_counts, metadata, summary, usage_by_model)
         VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24,?25,?26,?27,?28)",
    )
    .map_err(sql_err)?
    .execute(params![
        project.0,
        trace,
        run.name,
        run.agent_name,
        run.status.as_str(),
        run.start_time_unix_nano as i64,
        run.end_time_unix_nano as i64,
        run.duration_ms,
        sql_u64(run.span_count),
        sql_u64(run.error_count),
        sql_u64(run.input_tokens),
        sql_u64(run.output_tokens),
        sql_u64(run.total_tokens),
        run.cost_usd,
        run.thread_id,
        run.user_id,
        run.session_id,
        run.environment,
        run.has_root,
        json(&run.agent_names),
        json(&run.models),
        json(&run.tools),
        json(&run.tags),
        json(&run.signals.iter().map(|s| s.kind.clone()).collect::<Vec<_>>()),
        json(&run.kind_counts),
        json(&run.metadata),
        encode(&run)?,
        json(&run.usage_by_model),
    ])
    .map_err(sql_err)?;
    Ok(())
}

/// The digests of a run's stored spans, those that can be read (`readable`): a damaged row
/// must not fail every later commit that touches its run.
pub(super) fn read_digests(
    conn: &Connection,
    project: ProjectId,
    trace_id: &str,
) -> Result<Vec<SpanDigest>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {DIGEST_COLUMNS} FROM spans WHERE project_id = ?1 AND trace_id = ?2"
        ))
        .map_err(sql_err)?;
    let mut rows = stmt
        .query(params![project.0, id_blob(trace_id)])
        .map_err(sql_err)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(sql_err)? {
        out.extend(readable("span digest", digest_from_row(row))?);
    }
    Ok(out)
}

/// The run's stored summary, if it has one that can be read.
fn previous_summary(tx: &Transaction, project: ProjectId, trace: &[u8]) -> Result<Option<Run>> {
    let bytes: Option<Vec<u8>> = tx
        .prepare_cached("SELECT summary FROM runs WHERE project_id = ?1 AND trace_id = ?2")
        .map_err(sql_err)?
        .query_row(params![project.0, trace], |r| r.get(0))
        .optional()
        .map_err(sql_err)?;
    match bytes {
        Some(b) => readable("run summary", decode(&b)),
        None => Ok(None),
    }
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}
