//! `POST`/`GET /api/v1/runs/{run_id}/metrics`: metric events (feedback, task success, an
//! evaluator's score) posted to a run, possibly before its spans arrive.

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Extension;
use axum::Json;
use lemma_core::metrics::from_json;
use lemma_core::redact::Tally;
use lemma_core::MetricEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use lemma_store::Project;

use super::{json_body, now_unix_nano};
use crate::error::{ApiError, ErrorBody};
use crate::openapi::params::RunPath;
use crate::openapi::responses::Keyed;
use crate::server::AppState;

/// The most events one request may carry.
pub const MAX_BATCH: usize = 1_000;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create))
}

/// The run ID of the path, lowercased and checked.
pub fn run_id(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    let Path(run_id) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let run_id = run_id.to_ascii_lowercase();
    if !lemma_core::otlp::is_trace_id(&run_id) {
        return Err(ApiError::bad_request(format!(
            "{run_id:?} is not a run ID: expected 32 hex characters"
        )));
    }
    Ok(run_id)
}

/// One event object, or `{"metrics": [...]}`; every event must be valid or none is stored.
fn events(body: &Value, run_id: &str, now: u64) -> Result<Vec<MetricEvent>, ApiError> {
    let Some(items) = body.get("metrics") else {
        return from_json(body, run_id, now)
            .map(|e| vec![e])
            .map_err(ApiError::bad_request);
    };
    let Some(items) = items.as_array() else {
        return Err(ApiError::bad_request(
            "metrics must be an array of {name, value, comment?, source?, span_id?} objects",
        ));
    };
    if items.is_empty() || items.len() > MAX_BATCH {
        return Err(ApiError::bad_request(format!(
            "metrics must hold 1 to {MAX_BATCH} events, not {}",
            items.len()
        )));
    }
    let mut errors = Vec::new();
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match from_json(item, run_id, now) {
            Ok(e) => out.push(e),
            Err(m) => errors.push(format!("metrics[{i}]: {m}")),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(ApiError::bad_request(format!(
            "nothing was stored: {}",
            errors.join("; ")
        )))
    }
}

/// One event as posted (the body is read as JSON and checked by `lemma_core::metrics`).
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
struct NewMetric {
    /// 1–128 letters, digits, `_`, `-`, `.` or `:`.
    #[schema(pattern = "^[A-Za-z0-9_.:-]{1,128}$")]
    name: String,
    /// A finite number, a boolean, or a string of at most 1,000 characters.
    value: lemma_core::metrics::MetricValue,
    /// At most 4,000 characters.
    comment: Option<String>,
    /// A short label: `user`, `sdk`, `evaluator`, ...
    source: Option<String>,
    /// One of the run's spans: 16 hex characters.
    #[schema(pattern = "^[0-9a-fA-F]{16}$")]
    span_id: Option<String>,
}

/// A batch: every event valid, or none stored.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
struct NewMetrics {
    #[schema(min_items = 1, max_items = 1000)]
    metrics: Vec<NewMetric>,
}

#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
#[serde(untagged)]
enum MetricsBody {
    One(NewMetric),
    Batch(NewMetrics),
}

#[derive(Serialize, ToSchema)]
struct MetricsAnswer {
    /// Oldest first.
    metrics: Vec<MetricEvent>,
}

#[utoipa::path(
    post,
    path = "/api/v1/runs/{run_id}/metrics",
    operation_id = "post_metrics",
    tag = "metrics",
    params(RunPath),
    request_body(content = MetricsBody, description = "One event, or `{\"metrics\": [...]}` (1–1000 events). At most 1 MiB."),
    responses(
        (status = 201, description = "The events as stored, with their IDs and times.", body = MetricsAnswer),
        (status = 400, description = "Not a run ID, not JSON, or an invalid event (in a batch, each by its index; nothing is stored).", body = ErrorBody),
        (status = 404, description = "The run belongs to another project.", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB.", body = ErrorBody),
        Keyed
    )
)]
async fn create(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<MetricsAnswer>), ApiError> {
    let run_id = run_id(path)?;
    let Json(body) = body.map_err(|e| {
        json_body(
            e,
            "expected a JSON body such as {\"name\": \"resolved\", \"value\": true}",
        )
    })?;
    let mut events = events(&body, &run_id, now_unix_nano())?;
    let mut tally = Tally::default();
    if let Some(redactor) = state.redaction.redactor(p.id).await?.as_ref() {
        for event in &mut events {
            redactor.metric(event, &mut tally);
        }
    }
    let stored = state.store.write_metrics(p.id, events).await?;
    // An evaluator's result is a signal of its run.
    state
        .signals
        .touched(stored.iter().map(|e| (p.id, e.run_id.clone())));
    state.redaction.count(p.id, tally);
    Ok((StatusCode::CREATED, Json(MetricsAnswer { metrics: stored })))
}

#[utoipa::path(
    get,
    path = "/api/v1/runs/{run_id}/metrics",
    operation_id = "list_metrics",
    tag = "metrics",
    params(RunPath),
    responses(
        (status = 200, description = "The run's metric events, oldest first (none for a run not seen yet).", body = MetricsAnswer),
        (status = 400, description = "Not a run ID.", body = ErrorBody),
        Keyed
    )
)]
async fn list(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<MetricsAnswer>, ApiError> {
    let run_id = run_id(path)?;
    let metrics = state.store.list_metrics(p.id, &run_id).await?;
    Ok(Json(MetricsAnswer { metrics }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const RUN: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn one_event_or_a_batch() {
        let one = events(&json!({"name": "resolved", "value": true}), RUN, 1).unwrap();
        assert_eq!(one.len(), 1);
        let batch = events(
            &json!({"metrics": [{"name": "a", "value": 1}, {"name": "b", "value": "x"}]}),
            RUN,
            1,
        )
        .unwrap();
        assert_eq!(batch.len(), 2);
        assert_eq!(batch[1].name, "b");
    }

    #[test]
    fn a_bad_batch_names_every_bad_event() {
        let err = events(
            &json!({"metrics": [
                {"name": "ok", "value": 1},
                {"name": "q"},
                {"name": "a b", "value": 1}
            ]}),
            RUN,
            1,
        )
        .unwrap_err();
        let msg = err.message;
        assert!(msg.contains("metrics[1]: value is required"), "{msg}");
        assert!(msg.contains("metrics[2]: name"), "{msg}");
        assert!(!msg.contains("metrics[0]"), "{msg}");
        assert!(events(&json!({"metrics": []}), RUN, 1).is_err());
        assert!(events(&json!({"metrics": {}}), RUN, 1).is_err());
    }
}
