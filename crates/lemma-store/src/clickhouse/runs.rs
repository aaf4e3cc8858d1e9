//! Run summaries. Each commit summarises every run it touched from all of the run's stored
//! spans, read after its own spans were acknowledged, and adds that summary as a new row.
//!
//! Why the newest answer wins without locks between servers: a run's spans only grow, so of
//! two summaries the one computed from more spans saw everything the other did. Whichever
//! commit reads last sees every span acknowledged before its read, its own included, so the
//! summary with the highest span count is complete. `version` puts the span count in its low
//! bits, above it how often the run's spans were re-priced, and on top the run's generation
//! (how often it was deleted), so a deletion outranks everything before it and a run
//! started anew outranks its deletion.

use std::collections::HashMap;

use lemma_core::run::summarize;
use lemma_core::{Run, Span};

use super::rows::{DigestRow, RunRow};
use super::sql::{Sql, KEYS_PER_QUERY};
use super::write::insert_all;
use super::{ch_err, Inner};
use crate::encoding::{decode, decode_span, encode, meta_text};
use crate::{readable, ProjectId, Result};

/// Orders a run's summaries; see the module's comment.
pub(super) fn version(generation: u32, reprices: u32, span_count: u64) -> u64 {
    (u64::from(generation) << 44)
        | (u64::from(reprices.min(0xfff)) << 32)
        | span_count.min(u64::from(u32::MAX))
}

/// The generation a summary's `version` was written in (the inverse of [`version`]'s top bits).
pub(super) fn generation_of(version: u64) -> u32 {
    (version >> 44) as u32
}

/// How often each run was deleted: the generation its spans are stored with from now on.
pub(super) async fn generations(
    inner: &Inner,
    runs: &[(ProjectId, String)],
) -> Result<HashMap<(ProjectId, String), u32>> {
    let mut out = HashMap::new();
    for chunk in runs.chunks(KEYS_PER_QUERY) {
        let mut sql = Sql::new(
            "SELECT project_id, trace_id, toUInt32(max(generation) + 1) FROM run_deletes
             WHERE (project_id, trace_id) IN (",
        );
        sql.push_tuples(chunk, |(p, t)| vec![p.0.into(), t.as_str().into()]);
        sql.push(") GROUP BY project_id, trace_id");
        let rows: Vec<(i64, String, u32)> = sql
            .query(&inner.client)
            .fetch_all()
            .await
            .map_err(|e| ch_err("reading run deletions", e))?;
        for (p, t, g) in rows {
            out.insert((ProjectId(p), t), g);
        }
    }
    Ok(out)
}

pub(super) async fn generation(inner: &Inner, project: ProjectId, trace_id: &str) -> Result<u32> {
    let key = (project, trace_id.to_string());
    let found = generations(inner, std::slice::from_ref(&key)).await?;
    Ok(found.get(&key).copied().unwrap_or(0))
}

/// `FROM` a run's live spans: one row per span (the newest version), of its current
/// generation. Binds project, trace and generation.
pub(super) fn live_spans(
    sql: &mut Sql,
    columns: &str,
    project: ProjectId,
    trace_id: &str,
    generation: u32,
) {
    let text = format!(
        "(SELECT {columns} FROM spans WHERE project_id = {} AND trace_id = {} AND generation = {}
          ORDER BY span_id, version DESC, inserted LIMIT 1 BY span_id)",
        sql.bind(project.0),
        sql.bind(trace_id),
        sql.bind(u64::from(generation)),
    );
    sql.push(&text);
}

/// `FROM` a run's spans in every generation it had: one row per generation and span (the newest
/// version). For reads made beside the run's summary or generation, which then keep the live
/// generation's rows (only a run deleted and sent again has more than one, until ClickHouse
/// removes the deleted rows). Binds project and trace.
pub(super) fn spans_of_every_generation(
    sql: &mut Sql,
    columns: &str,
    project: ProjectId,
    trace_id: &str,
) {
    let text = format!(
        "(SELECT generation, {columns} FROM spans WHERE project_id = {} AND trace_id = {}
          ORDER BY generation, span_id, version DESC, inserted LIMIT 1 BY generation, span_id)",
        sql.bind(project.0),
        sql.bind(trace_id),
    );
    sql.push(&text);
}

/// `FROM` the project's live runs: each run's newest summary row, unless the run was deleted.
/// Binds the project.
pub(super) fn live_runs(sql: &mut Sql, project: ProjectId) {
    let text = format!(
        "(SELECT * FROM (SELECT * FROM runs WHERE project_id = {}
          ORDER BY trace_id, version DESC LIMIT 1 BY trace_id) WHERE deleted = 0)",
        sql.bind(project.0)
    );
    sql.push(&text);
}

pub(super) const DIGEST_COLUMNS: &str = "project_id, trace_id, span_id, parent_span_id, name,
    kind, start_ns, end_ns, status, model, provider, input_tokens, output_tokens, total_tokens,
    cost_usd, tool_name, agent_name, thread_id, user_id, session_id, environment, digest, version,
    inserted";

/// A run's live span digests, with the highest re-pricing count among them and when its first
/// span arrived.
#[derive(Default)]
struct RunDigests {
    digests: Vec<lemma_core::SpanDigest>,
    reprices: u32,
    first_inserted: u32,
}

/// The live digests of several runs, read in one query.
async fn digests(
    inner: &Inner,
    runs: &[(ProjectId, &str, u32)],
) -> Result<HashMap<(ProjectId, String), RunDigests>> {
    let mut out: HashMap<(ProjectId, String), RunDigests> = HashMap::new();
    let mut rows: Vec<DigestRow> = Vec::new();
    for chunk in runs.chunks(KEYS_PER_QUERY) {
        let mut sql = Sql::new(format!(
            "SELECT {DIGEST_COLUMNS} FROM spans WHERE (project_id, trace_id, generation) IN ("
        ));
        sql.push_tuples(chunk, |(p, t, g)| {
            vec![p.0.into(), (*t).into(), u64::from(*g).into()]
        });
        sql.push(
            ") ORDER BY project_id, trace_id, span_id, version DESC, inserted
             LIMIT 1 BY project_id, trace_id, span_id",
        );
        let found: Vec<DigestRow> = sql
            .query(&inner.client)
            .fetch_all()
            .await
            .map_err(|e| ch_err("reading runs' spans", e))?;
        rows.extend(found);
    }
    for row in rows {
        let run = out
            .entry((ProjectId(row.project_id), row.trace_id.clone()))
            .or_insert_with(|| RunDigests {
                first_inserted: u32::MAX,
                ..RunDigests::default()
            });
        run.reprices = run.reprices.max(row.version);
        run.first_inserted = run.first_inserted.min(row.inserted);
        run.digests.extend(readable("span digest", row.digest())?);
    }
    Ok(out)
}

/// The digests of a run's live spans (none when it has none).
pub(super) async fn live_digests(
    inner: &Inner,
    project: ProjectId,
    trace_id: &str,
) -> Result<Vec<lemma_core::SpanDigest>> {
    let g = generation(inner, project, trace_id).await?;
    let mut found = digests(inner, &[(project, trace_id, g)]).await?;
    Ok(found
        .remove(&(project, trace_id.to_string()))
        .map(|d| d.digests)
        .unwrap_or_default())
}

/// Spans' bodies by (project, run, span), read in one query; those stored and readable.
async fn bodies(
    inner: &Inner,
    spans: &[(ProjectId, &str, u32, &str)],
) -> Result<HashMap<(ProjectId, String, String), Span>> {
    let mut out = HashMap::new();
    #[derive(clickhouse::Row, serde::Deserialize)]
    struct Row {
        project_id: i64,
        trace_id: String,
        span_id: String,
        #[serde(with = "serde_bytes")]
        body: Vec<u8>,
    }
    for chunk in spans.chunks(KEYS_PER_QUERY) {
        let mut sql = Sql::new(
            "SELECT project_id, trace_id, span_id, body FROM spans
             WHERE (project_id, trace_id, span_id, generation) IN (",
        );
        sql.push_tuples(chunk, |(p, t, g, s)| {
            vec![p.0.into(), (*t).into(), (*s).into(), u64::from(*g).into()]
        });
        sql.push(
            ") ORDER BY project_id, trace_id, span_id, version DESC, inserted
             LIMIT 1 BY project_id, trace_id, span_id",
        );
        let rows: Vec<Row> = sql
            .query(&inner.client)
            .fetch_all()
            .await
            .map_err(|e| ch_err("reading spans", e))?;
        for r in rows {
            if let Some(span) = readable("span", decode_span(&r.body))? {
                out.insert((ProjectId(r.project_id), r.trace_id, r.span_id), span);
            }
        }
    }
    Ok(out)
}

/// A run to summarise: its key and generation, and the spans of the current commit (whose
/// bodies need not be read back).
pub(super) struct Touched<'a> {
    pub project: ProjectId,
    pub trace_id: &'a str,
    pub generation: u32,
    pub fresh: HashMap<&'a str, &'a Span>,
}

/// Summarises each run from all its live spans and stores the summaries, in one insert. The
/// runs' spans are read in one query, and the roots the commit did not carry in another.
pub(super) async fn resummarize(inner: &Inner, runs: &[Touched<'_>]) -> Result<()> {
    let keys: Vec<(ProjectId, &str, u32)> = runs
        .iter()
        .map(|t| (t.project, t.trace_id, t.generation))
        .collect();
    let mut all = digests(inner, &keys).await?;
    let mut summaries = Vec::with_capacity(runs.len());
    for t in runs {
        let Some(found) = all.remove(&(t.project, t.trace_id.to_string())) else {
            continue;
        };
        if found.digests.is_empty() {
            continue;
        }
        let run = summarize(t.trace_id, &found.digests);
        summaries.push((t, run, found.reprices, found.first_inserted));
    }
    let missing_roots: Vec<(ProjectId, &str, u32, &str)> = summaries
        .iter()
        .filter_map(|(t, run, _, _)| {
            let root = run.root_span_id.as_deref()?;
            (!t.fresh.contains_key(root)).then_some((t.project, t.trace_id, t.generation, root))
        })
        .collect();
    let stored_roots = bodies(inner, &missing_roots).await?;
    let mut rows = Vec::with_capacity(summaries.len());
    for (t, mut run, reprices, first) in summaries {
        if let Some(root_id) = run.root_span_id.clone() {
            let root = match t.fresh.get(root_id.as_str()) {
                Some(span) => Some(*span),
                None => stored_roots.get(&(t.project, t.trace_id.to_string(), root_id)),
            };
            if let Some(root) = root {
                run.input = root.input.clone();
                run.output = root.output.clone();
            }
        }
        let version = version(t.generation, reprices, run.span_count);
        rows.push(run_row(t.project, &run, version, first)?);
    }
    insert_all(inner, "runs", &rows).await
}

pub(super) fn run_row(
    project: ProjectId,
    run: &Run,
    version: u64,
    first_inserted: u32,
) -> Result<RunRow> {
    Ok(RunRow {
        project_id: project.0,
        trace_id: run.run_id.clone(),
        version,
        deleted: 0,
        first_inserted,
        name: run.name.clone(),
        agent_name: run.agent_name.clone(),
        status: run.status.as_str().to_string(),
        start_ns: run.start_time_unix_nano,
        end_ns: run.end_time_unix_nano,
        duration_ms: run.duration_ms,
        span_count: run.span_count,
        error_count: run.error_count,
        input_tokens: run.input_tokens,
        output_tokens: run.output_tokens,
        total_tokens: run.total_tokens,
        cost_usd: run.cost_usd,
        thread_id: run.thread_id.clone(),
        user_id: run.user_id.clone(),
        session_id: run.session_id.clone(),
        environment: run.environment.clone(),
        has_root: u8::from(run.has_root),
        agents: run.agent_names.clone(),
        models: run.models.clone(),
        tools: run.tools.clone(),
        tags: run.tags.clone(),
        signals: run.signals.iter().map(|s| s.kind.clone()).collect(),
        kinds: run.kind_counts.keys().cloned().collect(),
        meta_keys: run.metadata.keys().cloned().collect(),
        meta_values: run.metadata.values().map(meta_text).collect(),
        usage_by_model: json(&run.usage_by_model),
        summary: encode(run)?,
    })
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

/// The live summary row of a run (deleted runs have none).
pub(super) async fn summary(
    inner: &Inner,
    project: ProjectId,
    trace_id: &str,
) -> Result<Option<Run>> {
    Ok(summary_and_generation(inner, project, trace_id)
        .await?
        .map(|(run, _)| run))
}

/// The live summary of a run and the generation its spans are read in (from the summary's
/// version, so reading a run needs no query of its deletions).
pub(super) async fn summary_and_generation(
    inner: &Inner,
    project: ProjectId,
    trace_id: &str,
) -> Result<Option<(Run, u32)>> {
    if !lemma_core::otlp::is_trace_id(trace_id) {
        return Ok(None);
    }
    let mut sql = Sql::new(
        "SELECT summary, deleted, version FROM runs WHERE project_id = ? AND trace_id = ?
         ORDER BY version DESC LIMIT 1",
    );
    sql.params = vec![project.0.into(), trace_id.into()];
    #[derive(clickhouse::Row, serde::Deserialize)]
    struct Row {
        #[serde(with = "serde_bytes")]
        summary: Vec<u8>,
        deleted: u8,
        version: u64,
    }
    let row: Option<Row> = sql
        .query(&inner.client)
        .fetch_optional()
        .await
        .map_err(|e| ch_err("reading a run", e))?;
    let Some(r) = row.filter(|r| r.deleted == 0) else {
        return Ok(None);
    };
    let g = generation_of(r.version);
    let run = match readable("run summary", decode::<Run>(&r.summary))? {
        Some(run) => Some(run),
        // A run is a function of its spans: one whose summary cannot be read is summarised
        // again.
        None => digests(inner, &[(project, trace_id, g)])
            .await?
            .into_values()
            .next()
            .filter(|d| !d.digests.is_empty())
            .map(|d| summarize(trace_id, &d.digests)),
    };
    Ok(run.map(|run| (run, g)))
}
