//! The REST API under `/api/v1`: JSON in and out, every route authenticated and scoped to the
//! key's project.

pub mod account;
mod alerts;
mod experiments;
mod graph;
mod ingestion;
mod keys;
mod members;
mod metrics;
pub mod oidc;
pub mod outline_cache;
mod prices;
mod redaction;
mod signals;
mod stats;
mod values;
mod views;
mod windows;

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use lemma_core::query;
use lemma_store::{Cursor, ListQuery, Project, RunOrder, RunSort};
use serde::{Deserialize, Serialize};
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorBody};
use crate::openapi::params::{self, RunPath};
use crate::openapi::responses::Keyed;
use crate::server::AppState;
use views::{RunView, ThreadView};

pub(crate) use views::iso;

pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 1_000;

/// The largest JSON body an API route reads: a batch of 1,000 metric events with comments fits.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Every route authenticates (`crate::auth::require_project`) before any extractor reads the
/// body, and finds the key's project in its request's extensions. Each is registered with its
/// documentation (`routes!`), so none is missing from the OpenAPI document.
pub fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(project))
        .routes(routes!(set_retention))
        .routes(routes!(list_runs))
        .routes(routes!(get_run, delete_run))
        .routes(routes!(search_spans))
        .routes(routes!(list_threads))
        .routes(routes!(get_thread))
        .merge(metrics::routes())
        .merge(prices::routes())
        .merge(redaction::routes())
        .merge(stats::routes())
        .merge(signals::routes())
        .merge(alerts::routes())
        .merge(experiments::routes())
        .merge(values::routes())
        .merge(windows::routes())
        .merge(graph::routes())
        .merge(ingestion::routes())
        .merge(keys::routes())
        .merge(members::routes())
        .merge(crate::proxy::sessions::routes())
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .route_layer(middleware::from_fn_with_state(
            MAX_BODY_BYTES,
            crate::body_limit::refuse_declared_over,
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            crate::auth::require_project,
        ))
}

/// A JSON body's rejection as the API's error: 413 past [`MAX_BODY_BYTES`], else 400 with
/// `hint` (what the route expects) and serde's reason.
pub(crate) fn json_body(e: JsonRejection, hint: &str) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return crate::body_limit::too_large(MAX_BODY_BYTES);
    }
    ApiError::bad_request(format!("{hint}: {}", e.body_text()))
}

#[derive(Debug, Deserialize)]
pub struct ListParams {
    q: Option<String>,
    /// Parsed by `to_query`, so a non-number gets the API's JSON error rather than axum's
    /// plain-text query rejection.
    limit: Option<String>,
    cursor: Option<String>,
}

impl ListParams {
    fn to_query(&self) -> Result<ListQuery, ApiError> {
        let text = self.q.as_deref().unwrap_or("");
        let filter = parse_query(text, now_unix_nano())?;
        let limit = match self.limit.as_deref().map(str::trim) {
            None | Some("") => DEFAULT_LIMIT,
            Some(l) => l.parse().map_err(|_| {
                ApiError::bad_request(format!(
                    "limit must be a number between 1 and {MAX_LIMIT}, not {l:?}"
                ))
            })?,
        };
        if limit == 0 || limit > MAX_LIMIT {
            return Err(ApiError::bad_request(format!(
                "limit must be between 1 and {MAX_LIMIT}"
            )));
        }
        let cursor = self
            .cursor
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(Cursor::decode)
            .transpose()?;
        Ok(ListQuery {
            filter,
            limit,
            cursor,
            order: Default::default(),
        })
    }
}

/// A run listing's parameters: a list's, and its order.
#[derive(Debug, Deserialize)]
pub struct RunListParams {
    #[serde(flatten)]
    list: ListParams,
    sort: Option<String>,
    order: Option<String>,
}

const SORT_HELP: &str = "start_time, duration, cost, tokens, spans or errors";

impl RunListParams {
    fn to_query(&self) -> Result<ListQuery, ApiError> {
        let by = match self.sort.as_deref().map(str::trim) {
            None | Some("") => RunSort::Start,
            Some(s) => RunSort::parse(s).ok_or_else(|| {
                ApiError::bad_request(format!("sort must be one of {SORT_HELP}, not {s:?}"))
            })?,
        };
        let ascending = match self.order.as_deref().map(str::trim) {
            None | Some("") | Some("desc") => false,
            Some("asc") => true,
            Some(o) => {
                return Err(ApiError::bad_request(format!(
                    "order must be asc or desc, not {o:?}"
                )))
            }
        };
        // A cursor of another order is the store's to refuse (`ListQuery::position`).
        Ok(ListQuery {
            order: RunOrder { by, ascending },
            ..self.list.to_query()?
        })
    }
}

impl IntoParams for RunListParams {
    fn into_params(in_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let mut list = ListParams::into_params(in_);
        let sorts: Vec<&str> = RunSort::ALL.iter().map(|s| s.name()).collect();
        list.extend([
            params::one_of(
                "sort",
                "What runs are sorted by; ties are broken by start time, then run ID. Runs \
                 without a cost sort below every priced run. A `cursor` continues only the \
                 sort and order it came from.",
                &sorts,
                RunSort::Start.name(),
            ),
            params::one_of(
                "order",
                "Largest (or newest) first, or smallest first.",
                &["desc", "asc"],
                "desc",
            ),
        ]);
        list
    }
}

impl IntoParams for ListParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            params::q(),
            params::number(
                "limit",
                "Items per page.",
                DEFAULT_LIMIT,
                1,
                Some(MAX_LIMIT),
            ),
            params::text(
                "cursor",
                "The previous page's `next_cursor`, for the page after it.",
                false,
            ),
        ]
    }
}

/// A query in the query language, or a 400 naming where it stops making sense.
pub(crate) fn parse_query(text: &str, now_unix_nano: u64) -> Result<query::Filter, ApiError> {
    query::parse(text, now_unix_nano).map_err(|e| {
        ApiError::bad_request(format!(
            "invalid query at position {}: {}",
            e.position, e.message
        ))
    })
}

pub(crate) fn now_unix_nano() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

#[derive(Serialize, ToSchema)]
struct ProjectAnswer {
    project: ProjectName,
}

#[derive(Serialize, ToSchema)]
struct ProjectName {
    name: String,
    /// How many days the project keeps its runs; `null`: forever.
    retention_days: Option<u32>,
}

#[utoipa::path(
    get,
    path = "/api/v1/project",
    operation_id = "get_project",
    tag = "project",
    responses((status = 200, description = "The project the key belongs to.", body = ProjectAnswer), Keyed)
)]
async fn project(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
) -> Result<Json<ProjectAnswer>, ApiError> {
    let retention_days = state.store.retention(p.id).await?;
    Ok(Json(ProjectAnswer {
        project: ProjectName {
            name: p.name,
            retention_days,
        },
    }))
}

/// `PUT /api/v1/project/retention`'s body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RetentionBody {
    /// Keep runs this many days (1 to 100000); `null` keeps them forever.
    days: Option<u32>,
}

#[utoipa::path(
    put,
    path = "/api/v1/project/retention",
    operation_id = "set_project_retention",
    tag = "project",
    request_body(content = RetentionBody, description = "`{\"days\": 30}`, or `{\"days\": null}` to keep runs forever."),
    responses(
        (status = 200, description = "The project, with its new retention. The server deletes older runs (with their spans, metric events and log records) at its next retention pass, at most an hour later by default.", body = ProjectAnswer),
        (status = 400, description = "Not a number of days from 1 to 100000, nor null.", body = ErrorBody),
        Keyed
    )
)]
async fn set_retention(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    body: Result<Json<RetentionBody>, JsonRejection>,
) -> Result<Json<ProjectAnswer>, ApiError> {
    let Json(body) =
        body.map_err(|e| json_body(e, "expected {\"days\": N} or {\"days\": null}"))?;
    state.store.set_retention(p.id, body.days).await?;
    project(State(state), Extension(p)).await
}

/// 400 for a bad query, limit or cursor.
const BAD_LIST: &str = "A query that does not parse (with the position), a limit out of range or                         a cursor this route did not hand out.";

#[derive(Serialize, ToSchema)]
struct RunsPage<'a> {
    /// Newest first, or in the order asked for.
    runs: Vec<RunView<'a>>,
    /// Pass as `cursor` for the next page; `null` on the last.
    next_cursor: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/runs",
    tag = "runs",
    params(RunListParams),
    responses(
        (status = 200, description = "A page of runs, newest first unless `sort` or `order` say otherwise.", body = RunsPage),
        (status = 400, description = BAD_LIST, body = ErrorBody),
        Keyed
    )
)]
async fn list_runs(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    Query(params): Query<RunListParams>,
) -> Result<Response, ApiError> {
    let mut page = state.store.list_runs(p.id, params.to_query()?).await?;
    crate::signals::attach(state.store.as_ref(), p.id, &mut page.items).await?;
    let runs: Vec<RunView> = page.items.iter().map(RunView::from).collect();
    Ok(Json(RunsPage {
        runs,
        next_cursor: page.next_cursor,
    })
    .into_response())
}

#[derive(Serialize, ToSchema)]
struct RunAnswer<'a> {
    /// With its metric events (`metrics`).
    run: RunView<'a>,
    /// Every span, in start order.
    spans: &'a [lemma_core::Span],
}

#[utoipa::path(
    get,
    path = "/api/v1/runs/{run_id}",
    tag = "runs",
    params(RunPath),
    responses(
        (status = 200, description = "The run and every span of it, for runs of up to 5,000 spans.", body = RunAnswer),
        (status = 400, description = "Not a run ID.", body = ErrorBody),
        (status = 404, description = "The key's project has no such run.", body = ErrorBody),
        (status = 422, description = "The run is too long to answer whole (`code`: `run_too_long`): read it in windows (`/outline`, `/spans/{span_id}`, `/find`, `/overview`, `/transcript`).", body = ErrorBody),
        Keyed
    )
)]
async fn get_run(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let run_id = metrics::run_id(path)?;
    // Never an unbounded answer: a long run is read in windows.
    if let Some(run) = state.store.run_summary(p.id, &run_id).await? {
        if run.span_count > windows::MAX_WHOLE_RUN_SPANS {
            return Err(windows::too_long(&run_id, run.span_count));
        }
    }
    let (mut run, spans) = state.store.get_run(p.id, &run_id).await?.ok_or_else(|| {
        ApiError::not_found(format!("run {run_id} not found in project {:?}", p.name))
    })?;
    let metrics = state.store.list_metrics(p.id, &run_id).await?;
    crate::signals::attach(state.store.as_ref(), p.id, std::slice::from_mut(&mut run)).await?;
    // Typed rather than `json!`, which would build the whole answer as a tree of values first.
    Ok(Json(RunAnswer {
        run: RunView::from(&run).with_metrics(&metrics),
        spans: &spans,
    })
    .into_response())
}

/// 204 once the run and what was posted to it are gone; 404 when the project held none of it.
#[utoipa::path(
    delete,
    path = "/api/v1/runs/{run_id}",
    tag = "runs",
    params(RunPath),
    responses(
        (status = 204, description = "The run's spans, summary, metric events and log records are deleted, in one commit."),
        (status = 400, description = "Not a run ID.", body = ErrorBody),
        (status = 404, description = "The key's project has none of the run.", body = ErrorBody),
        Keyed
    )
)]
async fn delete_run(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let run_id = metrics::run_id(path)?;
    let deleted = state.store.delete_run(p.id, &run_id).await?;
    state.outlines.forget_run(p.id, &run_id);
    if deleted {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!(
            "run {run_id} not found in project {:?}",
            p.name
        )))
    }
}

#[derive(Serialize, ToSchema)]
struct SpansPage<'a> {
    spans: &'a [lemma_core::Span],
    /// Pass as `cursor` for the next page; `null` on the last.
    next_cursor: Option<&'a str>,
}

#[utoipa::path(
    get,
    path = "/api/v1/spans",
    tag = "spans",
    params(ListParams),
    responses(
        (status = 200, description = "A page of spans matching the query, across runs.", body = SpansPage),
        (status = 400, description = BAD_LIST, body = ErrorBody),
        Keyed
    )
)]
async fn search_spans(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    Query(params): Query<ListParams>,
) -> Result<Response, ApiError> {
    let page = state.store.search_spans(p.id, params.to_query()?).await?;
    Ok(Json(SpansPage {
        spans: &page.items,
        next_cursor: page.next_cursor.as_deref(),
    })
    .into_response())
}

#[derive(Serialize, ToSchema)]
struct ThreadsPage<'a> {
    /// Most recently active first.
    threads: Vec<ThreadView<'a>>,
    /// Pass as `cursor` for the next page; `null` on the last.
    next_cursor: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/threads",
    tag = "threads",
    params(ListParams),
    responses(
        (status = 200, description = "A page of threads, most recently active first.", body = ThreadsPage),
        (status = 400, description = BAD_LIST, body = ErrorBody),
        Keyed
    )
)]
async fn list_threads(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    Query(params): Query<ListParams>,
) -> Result<Response, ApiError> {
    let page = state.store.list_threads(p.id, params.to_query()?).await?;
    let threads: Vec<ThreadView> = page.items.iter().map(ThreadView::from).collect();
    Ok(Json(ThreadsPage {
        threads,
        next_cursor: page.next_cursor,
    })
    .into_response())
}

#[derive(Serialize, ToSchema)]
struct ThreadAnswer<'a> {
    thread: ThreadView<'a>,
    /// Oldest first.
    runs: Vec<RunView<'a>>,
}

#[utoipa::path(
    get,
    path = "/api/v1/threads/{thread_id}",
    tag = "threads",
    params(("thread_id" = String, Path, description = "The thread's ID, as its spans carry it.")),
    responses(
        (status = 200, description = "The thread and its runs, oldest first.", body = ThreadAnswer),
        (status = 404, description = "The key's project has no such thread.", body = ErrorBody),
        Keyed
    )
)]
async fn get_thread(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(thread_id) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let (thread, mut runs) = state
        .store
        .get_thread(p.id, &thread_id)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "thread {thread_id:?} not found in project {:?}",
                p.name
            ))
        })?;
    crate::signals::attach(state.store.as_ref(), p.id, &mut runs).await?;
    let runs: Vec<RunView> = runs.iter().map(RunView::from).collect();
    Ok(Json(ThreadAnswer {
        thread: ThreadView::from(&thread),
        runs,
    })
    .into_response())
}
