//! The REST API under `/api/v1`: JSON in and out, every route authenticated and scoped to the
//! key's project.

mod metrics;
pub mod outline_cache;
mod prices;
mod stats;
mod views;
mod windows;

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use lemma_core::query;
use lemma_store::{Cursor, ListQuery, Project};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::server::AppState;
use views::{RunView, ThreadView};

pub const DEFAULT_LIMIT: usize = 50;

/// The largest JSON body an API route reads: a batch of 1,000 metric events with comments fits.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Every route authenticates (`crate::auth::require_project`) before any extractor reads the
/// body, and finds the key's project in its request's extensions.
pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/api/v1/project", get(project))
        .route("/api/v1/runs", get(list_runs))
        .route("/api/v1/runs/{run_id}", get(get_run).delete(delete_run))
        .route("/api/v1/spans", get(search_spans))
        .route("/api/v1/threads", get(list_threads))
        .route("/api/v1/threads/{thread_id}", get(get_thread))
        .merge(metrics::routes())
        .merge(prices::routes())
        .merge(stats::routes())
        .merge(windows::routes())
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
fn json_body(e: JsonRejection, hint: &str) -> ApiError {
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
        let filter = query::parse(text, now_unix_nano()).map_err(|e| {
            ApiError::bad_request(format!(
                "invalid query at position {}: {}",
                e.position, e.message
            ))
        })?;
        let limit = match self.limit.as_deref().map(str::trim) {
            None | Some("") => DEFAULT_LIMIT,
            Some(l) => l.parse().map_err(|_| {
                ApiError::bad_request(format!(
                    "limit must be a number between 1 and 1000, not {l:?}"
                ))
            })?,
        };
        if limit == 0 || limit > 1000 {
            return Err(ApiError::bad_request("limit must be between 1 and 1000"));
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
        })
    }
}

fn now_unix_nano() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

async fn project(Extension(p): Extension<Project>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({"project": {"name": p.name}})))
}

async fn list_runs(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    Query(params): Query<ListParams>,
) -> Result<Json<Value>, ApiError> {
    let page = state.store.list_runs(p.id, params.to_query()?).await?;
    let runs: Vec<RunView> = page.items.iter().map(RunView::from).collect();
    Ok(Json(json!({"runs": runs, "next_cursor": page.next_cursor})))
}

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
    let (run, spans) = state.store.get_run(p.id, &run_id).await?.ok_or_else(|| {
        ApiError::not_found(format!("run {run_id} not found in project {:?}", p.name))
    })?;
    let metrics = state.store.list_metrics(p.id, &run_id).await?;
    // Typed rather than `json!`, which would build the whole answer as a tree of values first.
    #[derive(Serialize)]
    struct Answer<'a> {
        run: RunView<'a>,
        spans: &'a [lemma_core::Span],
    }
    Ok(Json(Answer {
        run: RunView::from(&run).with_metrics(&metrics),
        spans: &spans,
    })
    .into_response())
}

/// 204 once the run and what was posted to it are gone; 404 when the project held none of it.
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

async fn search_spans(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    Query(params): Query<ListParams>,
) -> Result<Response, ApiError> {
    let page = state.store.search_spans(p.id, params.to_query()?).await?;
    #[derive(Serialize)]
    struct Answer<'a> {
        spans: &'a [lemma_core::Span],
        next_cursor: Option<&'a str>,
    }
    Ok(Json(Answer {
        spans: &page.items,
        next_cursor: page.next_cursor.as_deref(),
    })
    .into_response())
}

async fn list_threads(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    Query(params): Query<ListParams>,
) -> Result<Json<Value>, ApiError> {
    let page = state.store.list_threads(p.id, params.to_query()?).await?;
    let threads: Vec<ThreadView> = page.items.iter().map(ThreadView::from).collect();
    Ok(Json(
        json!({"threads": threads, "next_cursor": page.next_cursor}),
    ))
}

async fn get_thread(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(thread_id) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let (thread, runs) = state
        .store
        .get_thread(p.id, &thread_id)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "thread {thread_id:?} not found in project {:?}",
                p.name
            ))
        })?;
    let runs: Vec<RunView> = runs.iter().map(RunView::from).collect();
    Ok(Json(
        json!({"thread": ThreadView::from(&thread), "runs": runs}),
    ))
}
