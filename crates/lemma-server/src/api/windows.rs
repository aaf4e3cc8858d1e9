//! A run read in windows, for runs too long to answer whole (`GET /api/v1/runs/{id}` stops at
//! [`MAX_WHOLE_RUN_SPANS`]): the summary and a window of light rows in tree order, one span in
//! full, a search inside the run, an overview of where its errors, loops and slow spans lie,
//! and the transcript's steps in windows.
//!
//! Every window is cut from the run's outline (all its light rows in pre-order), built once
//! per version of the run and kept in the [`OutlineCache`].

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use lemma_core::present::{Outline, OutlineRow, Overview};
use lemma_core::Run;
use lemma_store::Project;
use serde::{Deserialize, Serialize};
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::outline_cache::Key;
use super::views::RunView;
use crate::error::{ApiError, ErrorBody};
use crate::openapi::params::{self, RunPath};
use crate::openapi::responses::Keyed;
use crate::server::AppState;

/// The most spans `GET /api/v1/runs/{id}` answers whole; past it the run is read in windows.
pub const MAX_WHOLE_RUN_SPANS: u64 = 5_000;
/// Rows of an outline window unless asked otherwise, and at most.
pub const DEFAULT_ROWS: usize = 500;
pub const MAX_ROWS: usize = 2_000;
/// Matches a search answers unless asked otherwise, at most, and the most it looks through.
pub const DEFAULT_MATCHES: usize = 100;
pub const MAX_MATCHES: usize = 1_000;
pub const MAX_FIND_SCAN: usize = 10_000;
/// Transcript steps a window holds unless asked otherwise, and at most.
pub const DEFAULT_SPANS: usize = 100;
pub const MAX_SPANS: usize = 500;
pub const DEFAULT_STEPS: usize = 50;
pub const MAX_STEPS: usize = 200;
/// Overview buckets unless asked otherwise, and at most.
pub const DEFAULT_BUCKETS: usize = 100;
pub const MAX_BUCKETS: usize = 2_000;
/// An outline window stops before its rows pass this many bytes of JSON, whatever `limit`
/// asked (rows are at most a few hundred bytes, but names can be long): with the summary, the
/// answer stays within about 200 KB.
pub const MAX_ROWS_BYTES: usize = 175_000;
/// A run's input or output larger than this (as JSON) is left out of an outline's summary:
/// the root span's own route has it.
pub const MAX_SUMMARY_PAYLOAD_BYTES: usize = 16 * 1024;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(outline))
        .routes(routes!(span))
        .routes(routes!(spans))
        .routes(routes!(find))
        .routes(routes!(overview))
        .routes(routes!(transcript))
}

/// The parameters each window takes, as documented: the same constants [`number`] enforces.
struct OutlineParams;
struct FindParams;
struct OverviewParams;
struct TranscriptParams;
struct SpansParams;

impl IntoParams for SpansParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            params::number(
                "offset",
                "The first position (in tree order); past the end gives no spans.",
                0,
                0,
                None,
            ),
            params::number("limit", "Spans at most.", DEFAULT_SPANS, 1, Some(MAX_SPANS)),
        ]
    }
}

impl IntoParams for OutlineParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            params::number(
                "offset",
                "The first position (in tree order); past the end gives no rows.",
                0,
                0,
                None,
            ),
            params::number(
                "limit",
                "Rows at most; a window also stops once its rows pass 150 KB of JSON, so \
                 continue from `offset` + the rows received.",
                DEFAULT_ROWS,
                1,
                Some(MAX_ROWS),
            ),
        ]
    }
}

impl IntoParams for FindParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            params::text(
                "q",
                "The query language's span terms: `status:error`, `kind:tool`, `name:search*`, \
                 `tool:`, `model:`, words.",
                true,
            ),
            params::number(
                "limit",
                "Matches at most.",
                DEFAULT_MATCHES,
                1,
                Some(MAX_MATCHES),
            ),
            params::number("from", "The first position to answer from.", 0, 0, None),
        ]
    }
}

impl IntoParams for OverviewParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![params::number(
            "buckets",
            "Slices of positions (fewer when the run has fewer spans).",
            DEFAULT_BUCKETS,
            1,
            Some(MAX_BUCKETS),
        )]
    }
}

impl IntoParams for TranscriptParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            params::number("from", "The first step.", 0, 0, None),
            params::number("limit", "Steps at most.", DEFAULT_STEPS, 1, Some(MAX_STEPS)),
        ]
    }
}

/// `{run_id}` and `{span_id}`.
struct SpanPath;

impl IntoParams for SpanPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            params::run_id(),
            params::path(
                "span_id",
                "The span's ID: 16 hex characters (any case).",
                Some("^[0-9a-fA-F]{16}$"),
            ),
        ]
    }
}

/// What `GET /api/v1/runs/{id}` answers for a run too long to answer whole.
pub fn too_long(run_id: &str, span_count: u64) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        "run_too_long",
        format!(
            "run {run_id} has {span_count} spans, more than the {MAX_WHOLE_RUN_SPANS} this route \
             answers whole: read it in windows with GET /api/v1/runs/{run_id}/outline \
             (?offset=&limit=), /spans/{{span_id}}, /find?q= and /overview"
        ),
    )
}

/// Query parameters as text, parsed here so a bad one gets the API's JSON error.
#[derive(Debug, Deserialize)]
struct Params {
    offset: Option<String>,
    limit: Option<String>,
    q: Option<String>,
    from: Option<String>,
    buckets: Option<String>,
}

/// `name` as a number in `min..=max`, `default` when absent or empty.
pub(super) fn number(
    name: &str,
    value: Option<&str>,
    default: usize,
    min: usize,
    max: usize,
) -> Result<usize, ApiError> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(default);
    };
    match v.parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ if max == usize::MAX => Err(ApiError::bad_request(format!(
            "{name} must be a whole number, {min} or more, not {v:?}"
        ))),
        _ => Err(ApiError::bad_request(format!(
            "{name} must be a number from {min} to {max}, not {v:?}"
        ))),
    }
}

/// The run of the path as the key's project has it, or 404.
pub(super) async fn summary(state: &AppState, p: &Project, run_id: &str) -> Result<Run, ApiError> {
    let mut run = state
        .store
        .run_summary(p.id, run_id)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!("run {run_id} not found in project {:?}", p.name))
        })?;
    crate::signals::attach(state.store.as_ref(), p.id, std::slice::from_mut(&mut run)).await?;
    Ok(run)
}

/// The run's outline, from the cache or built (once, whoever else asks meanwhile).
pub(super) async fn outline_of(
    state: &AppState,
    p: &Project,
    run: &Run,
) -> Result<Arc<Outline>, ApiError> {
    let key = Key {
        project: p.id,
        run_id: run.run_id.clone(),
        span_count: run.span_count,
        end_time_unix_nano: run.end_time_unix_nano,
    };
    state
        .outlines
        .get_or_build(key, || async {
            let rows = state
                .store
                .run_outline(p.id, &run.run_id)
                .await?
                .unwrap_or_default();
            // Sorting 100k rows is CPU work: off the async threads.
            tokio::task::spawn_blocking(move || Arc::new(Outline::new(rows)))
                .await
                .map_err(|e| ApiError::internal(format!("building the outline failed: {e}")))
        })
        .await
}

#[derive(Serialize, ToSchema)]
struct OutlineAnswer<'a> {
    /// With its metric events (`metrics`).
    run: RunView<'a>,
    /// The run's input and output were too large to include: read the root span.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    run_payloads_omitted: bool,
    /// Rows in the whole outline.
    total: usize,
    offset: usize,
    /// The window, in tree pre-order.
    rows: Vec<OutlineRow<'a>>,
}

/// 400 for a path or parameter out of form; 404 for a run the key's project does not have.
const BAD_WINDOW: &str = "Not a run ID, or a parameter that is not a number in its range.";
const NO_RUN: &str = "The key's project has no such run.";

#[utoipa::path(
    get,
    path = "/api/v1/runs/{run_id}/outline",
    operation_id = "get_run_outline",
    tag = "runs",
    params(RunPath, OutlineParams),
    responses(
        (status = 200, description = "The run and a window of its spans' light fields in tree order.", body = OutlineAnswer),
        (status = 400, description = BAD_WINDOW, body = ErrorBody),
        (status = 404, description = NO_RUN, body = ErrorBody),
        Keyed
    )
)]
async fn outline(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    path: Result<Path<String>, PathRejection>,
    Query(params): Query<Params>,
) -> Result<Response, ApiError> {
    let run_id = super::metrics::run_id(path)?;
    let offset = number("offset", params.offset.as_deref(), 0, 0, usize::MAX)?;
    let limit = number("limit", params.limit.as_deref(), DEFAULT_ROWS, 1, MAX_ROWS)?;
    let mut run = summary(&state, &p, &run_id).await?;
    let (outline, metrics) = tokio::try_join!(outline_of(&state, &p, &run), async {
        Ok::<_, ApiError>(state.store.list_metrics(p.id, &run_id).await?)
    },)?;
    let omitted = omit_large_payloads(&mut run);
    Ok(Json(OutlineAnswer {
        run: RunView::from(&run).with_metrics(&metrics),
        run_payloads_omitted: omitted,
        total: outline.len(),
        offset,
        rows: within_bytes(outline.window(offset, limit), MAX_ROWS_BYTES),
    })
    .into_response())
}

/// The first rows whose JSON fits in `budget` bytes (at least one).
fn within_bytes(mut rows: Vec<OutlineRow<'_>>, budget: usize) -> Vec<OutlineRow<'_>> {
    let mut used = 0;
    let fit = rows
        .iter()
        .position(|row| {
            let mut counter = ByteCount(0);
            let _ = serde_json::to_writer(&mut counter, row);
            used += counter.0 + 1;
            used > budget
        })
        .unwrap_or(rows.len());
    rows.truncate(fit.max(1));
    rows
}

/// Drops the run's input and output when together they pass [`MAX_SUMMARY_PAYLOAD_BYTES`].
fn omit_large_payloads(run: &mut Run) -> bool {
    let size = |v: &Option<serde_json::Value>| {
        let mut counter = ByteCount(0);
        if let Some(v) = v {
            let _ = serde_json::to_writer(&mut counter, v);
        }
        counter.0
    };
    if size(&run.input) + size(&run.output) <= MAX_SUMMARY_PAYLOAD_BYTES {
        return false;
    }
    run.input = None;
    run.output = None;
    true
}

/// Counts what is written, keeping none of it.
struct ByteCount(usize);

impl std::io::Write for ByteCount {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[derive(Serialize, ToSchema)]
struct SpanAnswer<'a> {
    /// In full, with its log records.
    span: &'a lemma_core::Span,
}

#[utoipa::path(
    get,
    path = "/api/v1/runs/{run_id}/spans/{span_id}",
    operation_id = "get_span",
    tag = "runs",
    params(SpanPath),
    responses(
        (status = 200, description = "One span in full, with its log records.", body = SpanAnswer),
        (status = 400, description = "Not a run ID or not a span ID.", body = ErrorBody),
        (status = 404, description = "The run has no such span in the key's project.", body = ErrorBody),
        Keyed
    )
)]
async fn span(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path((run_id, span_id)) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let run_id = super::metrics::run_id(Ok(Path(run_id)))?;
    let span_id = span_id.to_ascii_lowercase();
    if span_id.len() != 16 || !span_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::bad_request(format!(
            "{span_id:?} is not a span ID: expected 16 hex characters"
        )));
    }
    let span = state
        .store
        .get_span(p.id, &run_id, &span_id)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "span {span_id} not found in run {run_id} of project {:?}",
                p.name
            ))
        })?;
    Ok(Json(SpanAnswer { span: &span }).into_response())
}

#[derive(Serialize, ToSchema)]
struct SpansAnswer {
    /// The run's spans.
    total: usize,
    offset: usize,
    /// In full with their log records, in tree order from `offset`.
    spans: Vec<lemma_core::Span>,
}

#[utoipa::path(
    get,
    path = "/api/v1/runs/{run_id}/spans",
    operation_id = "get_run_spans",
    tag = "runs",
    params(RunPath, SpansParams),
    responses(
        (status = 200, description = "A window of the run's spans in full, in tree order: a run of any length read whole, a window at a time (exports, copies to another backend).", body = SpansAnswer),
        (status = 400, description = BAD_WINDOW, body = ErrorBody),
        (status = 404, description = NO_RUN, body = ErrorBody),
        Keyed
    )
)]
async fn spans(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    path: Result<Path<String>, PathRejection>,
    Query(params): Query<Params>,
) -> Result<Response, ApiError> {
    let run_id = super::metrics::run_id(path)?;
    let offset = number("offset", params.offset.as_deref(), 0, 0, usize::MAX)?;
    let limit = number(
        "limit",
        params.limit.as_deref(),
        DEFAULT_SPANS,
        1,
        MAX_SPANS,
    )?;
    let run = summary(&state, &p, &run_id).await?;
    let outline = outline_of(&state, &p, &run).await?;
    let positions: Vec<usize> = (offset..offset.saturating_add(limit).min(outline.len())).collect();
    let spans = spans_at(&state, &p, &run_id, &outline, &positions).await?;
    Ok(Json(SpansAnswer {
        total: outline.len(),
        offset,
        spans: spans.into_iter().map(|(_, span)| span).collect(),
    })
    .into_response())
}

/// The spans at these positions of the run's outline, in full, in the positions' order, each
/// with its position's index in `positions`; a span deleted since the outline was built is left
/// out.
async fn spans_at(
    state: &AppState,
    p: &Project,
    run_id: &str,
    outline: &Outline,
    positions: &[usize],
) -> Result<Vec<(usize, lemma_core::Span)>, ApiError> {
    let ids = positions
        .iter()
        .filter_map(|&pos| Some(outline.row(pos)?.span.span_id.clone()))
        .collect();
    // The store answers in start order: put them back in tree order.
    let mut found = state.store.get_spans(p.id, run_id, ids).await?;
    let mut out = Vec::with_capacity(positions.len());
    for (i, &position) in positions.iter().enumerate() {
        let Some(row) = outline.row(position) else {
            continue;
        };
        if let Some(at) = found.iter().position(|s| s.span_id == row.span.span_id) {
            out.push((i, found.swap_remove(at)));
        }
    }
    Ok(out)
}

#[derive(Serialize, ToSchema)]
struct Match<'a> {
    span_id: &'a str,
    /// The span's position in tree order.
    position: usize,
}

#[derive(Serialize, ToSchema)]
struct FindAnswer<'a> {
    /// Matches in the run (of the first 10,000 in start order).
    total: usize,
    /// More spans matched than were looked through.
    truncated: bool,
    /// In tree order, from `from`.
    matches: Vec<Match<'a>>,
}

#[utoipa::path(
    get,
    path = "/api/v1/runs/{run_id}/find",
    operation_id = "find_in_run",
    tag = "runs",
    params(RunPath, FindParams),
    responses(
        (status = 200, description = "The run's spans matching `q`, by position in tree order.", body = FindAnswer),
        (status = 400, description = "Not a run ID, no `q`, a query that does not parse, or a parameter out of range.", body = ErrorBody),
        (status = 404, description = NO_RUN, body = ErrorBody),
        Keyed
    )
)]
async fn find(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    path: Result<Path<String>, PathRejection>,
    Query(params): Query<Params>,
) -> Result<Response, ApiError> {
    let run_id = super::metrics::run_id(path)?;
    let text = params.q.as_deref().map(str::trim).unwrap_or("");
    if text.is_empty() {
        return Err(ApiError::bad_request(
            "q is required: a query as span search takes it, e.g. status:error, kind:tool, \
             name:search* or words from inputs and outputs",
        ));
    }
    let filter = super::parse_query(text, super::now_unix_nano())?;
    let limit = number(
        "limit",
        params.limit.as_deref(),
        DEFAULT_MATCHES,
        1,
        MAX_MATCHES,
    )?;
    let from = number("from", params.from.as_deref(), 0, 0, usize::MAX)?;
    let run = summary(&state, &p, &run_id).await?;
    let (outline, ids) = tokio::try_join!(outline_of(&state, &p, &run), async {
        // One more than looked through, to tell whether there were more.
        Ok::<_, ApiError>(
            state
                .store
                .find_in_run(p.id, &run_id, filter, MAX_FIND_SCAN + 1)
                .await?,
        )
    })?;
    let truncated = ids.len() > MAX_FIND_SCAN;
    // Spans that arrived after the outline was built have no position yet.
    let mut found: Vec<(usize, &str)> = ids
        .iter()
        .take(MAX_FIND_SCAN)
        .filter_map(|id| Some((outline.position(id)?, id.as_str())))
        .collect();
    found.sort_unstable();
    let total = found.len();
    let matches = found
        .into_iter()
        .filter(|&(position, _)| position >= from)
        .take(limit)
        .map(|(position, span_id)| Match { span_id, position })
        .collect();
    Ok(Json(FindAnswer {
        total,
        truncated,
        matches,
    })
    .into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/runs/{run_id}/overview",
    operation_id = "get_run_overview",
    tag = "runs",
    params(RunPath, OverviewParams),
    responses(
        (status = 200, description = "The tree order cut into equal slices of positions, with where errors, loops and slow spans lie.", body = Overview),
        (status = 400, description = BAD_WINDOW, body = ErrorBody),
        (status = 404, description = NO_RUN, body = ErrorBody),
        Keyed
    )
)]
async fn overview(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    path: Result<Path<String>, PathRejection>,
    Query(params): Query<Params>,
) -> Result<Response, ApiError> {
    let run_id = super::metrics::run_id(path)?;
    let buckets = number(
        "buckets",
        params.buckets.as_deref(),
        DEFAULT_BUCKETS,
        1,
        MAX_BUCKETS,
    )?;
    let run = summary(&state, &p, &run_id).await?;
    let outline = outline_of(&state, &p, &run).await?;
    let overview = tokio::task::spawn_blocking(move || outline.overview(buckets, &run.signals))
        .await
        .map_err(|e| ApiError::internal(format!("building the overview failed: {e}")))?;
    Ok(Json(overview).into_response())
}

#[derive(Serialize, ToSchema)]
struct Step {
    step: usize,
    /// The span's position in tree order.
    position: usize,
    depth: u32,
    /// Input messages left out of a model call: those up to its last assistant message.
    #[serde(skip_serializing_if = "is_zero")]
    earlier_messages: usize,
    /// In full, except that a model call keeps only the input messages after its last
    /// assistant message (and drops its raw `input`).
    span: lemma_core::Span,
}

#[derive(Serialize, ToSchema)]
struct TranscriptAnswer {
    total_steps: usize,
    from: usize,
    steps: Vec<Step>,
}

#[utoipa::path(
    get,
    path = "/api/v1/runs/{run_id}/transcript",
    operation_id = "get_run_transcript",
    tag = "runs",
    params(RunPath, TranscriptParams),
    responses(
        (status = 200, description = "The transcript's steps (model calls, tool calls, retrievals, agents and failed spans, in tree order) in a window.", body = TranscriptAnswer),
        (status = 400, description = BAD_WINDOW, body = ErrorBody),
        (status = 404, description = NO_RUN, body = ErrorBody),
        Keyed
    )
)]
async fn transcript(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    path: Result<Path<String>, PathRejection>,
    Query(params): Query<Params>,
) -> Result<Response, ApiError> {
    let run_id = super::metrics::run_id(path)?;
    let from = number("from", params.from.as_deref(), 0, 0, usize::MAX)?;
    let limit = number(
        "limit",
        params.limit.as_deref(),
        DEFAULT_STEPS,
        1,
        MAX_STEPS,
    )?;
    let run = summary(&state, &p, &run_id).await?;
    let outline = outline_of(&state, &p, &run).await?;
    let steps = outline.steps();
    let window = &steps[from.min(steps.len())..from.saturating_add(limit).min(steps.len())];
    let spans = spans_at(&state, &p, &run_id, &outline, window).await?;
    let mut out = Vec::with_capacity(spans.len());
    for (i, mut span) in spans {
        let position = window[i];
        let depth = outline.row(position).map_or(0, |row| row.depth);
        let earlier_messages = match span.kind {
            lemma_core::SpanKind::Llm => lemma_core::present::keep_new_messages(&mut span),
            _ => 0,
        };
        out.push(Step {
            step: from + i,
            position,
            depth,
            earlier_messages,
            span,
        });
    }
    Ok(Json(TranscriptAnswer {
        total_steps: steps.len(),
        from,
        steps: out,
    })
    .into_response())
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}
