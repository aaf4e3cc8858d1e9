//! A run as a graph of its agents, tools and model calls (`lemma_core::present::RunGraph`),
//! built from the run's cached outline: one pass over its rows, an answer bounded by
//! [`MAX_GRAPH_NODES`] whatever the run's length.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use lemma_core::present::{RunGraph, MAX_GRAPH_NODES};
use lemma_store::Project;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::windows::{outline_of, summary};
use crate::error::{ApiError, ErrorBody};
use crate::openapi::params::RunPath;
use crate::openapi::responses::Keyed;
use crate::server::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(graph))
}

#[utoipa::path(
    get,
    path = "/api/v1/runs/{run_id}/graph",
    operation_id = "get_run_graph",
    tag = "runs",
    params(RunPath),
    responses(
        (status = 200, description = "The run as a graph: one node per agent, tool, model or span name with its spans' count, failures, duration, tokens and cost; an edge from each step's caller (its nearest agent, else the root) with the calls' count, `back` where it closes a cycle. At most 300 nodes: past that the least called names are merged into an `other` node per caller (`capped`).", body = RunGraph),
        (status = 400, description = "Not a run ID.", body = ErrorBody),
        (status = 404, description = "The key's project has no such run.", body = ErrorBody),
        Keyed
    )
)]
async fn graph(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let run_id = super::metrics::run_id(path)?;
    let run = summary(&state, &p, &run_id).await?;
    let outline = outline_of(&state, &p, &run).await?;
    // A pass over up to 100k rows: off the async threads.
    let graph = tokio::task::spawn_blocking(move || RunGraph::of(&outline, MAX_GRAPH_NODES))
        .await
        .map_err(|e| ApiError::internal(format!("building the graph failed: {e}")))?;
    Ok(Json(graph).into_response())
}
