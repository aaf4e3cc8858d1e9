//! Signals over the API: a run's signals as of now (what an agent asks mid-way), a project's
//! thresholds, and signal counts over time.

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use lemma_core::signals::SignalSettings;
use lemma_core::stats::{check_range, pick_bucket};
use lemma_core::RunSignal;
use lemma_store::Project;
use serde::{Deserialize, Serialize};
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::stats::{given, parse_seconds, parse_time, range_error, TIME_FORMS};
use super::views::iso;
use super::{json_body, now_unix_nano};
use crate::error::{ApiError, ErrorBody};
use crate::openapi::params::{self, RunPath};
use crate::openapi::responses::Keyed;
use crate::server::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(run_signals))
        .routes(routes!(settings, set_settings))
        .routes(routes!(counts))
}

#[derive(Serialize, ToSchema)]
struct RunSignalsAnswer {
    run_id: String,
    /// The run's root span has not arrived: the run is still going (or was cut off).
    in_progress: bool,
    span_count: u64,
    /// When the run's spans were read for this answer (RFC 3339).
    evaluated_at: String,
    /// Most severe first.
    signals: Vec<RunSignal>,
}

#[utoipa::path(
    get,
    path = "/api/v1/runs/{run_id}/signals",
    operation_id = "get_run_signals",
    tag = "signals",
    params(RunPath),
    responses(
        (status = 200, description = "The run's signals, evaluated over every span stored when asked. Any key of the project may ask, an ingest key too, so an agent can check its own run while it runs (spans it has not exported yet are not counted: flush first).", body = RunSignalsAnswer),
        (status = 400, description = "Not a run ID.", body = ErrorBody),
        (status = 404, description = "The key's project has no span of the run yet.", body = ErrorBody),
        Keyed
    )
)]
async fn run_signals(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<RunSignalsAnswer>, ApiError> {
    let run_id = super::metrics::run_id(path)?;
    let (run, found) = state
        .signals
        .evaluate(p.id, &run_id)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!("run {run_id} not found in project {:?}", p.name))
        })?;
    Ok(Json(RunSignalsAnswer {
        run_id,
        in_progress: !run.has_root,
        span_count: found.span_count,
        evaluated_at: iso(found.evaluated_unix_nano),
        signals: found.signals,
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/signals/settings",
    operation_id = "get_signal_settings",
    tag = "signals",
    responses(
        (status = 200, description = "The project's signal thresholds (the defaults until set).", body = SignalSettings),
        Keyed
    )
)]
async fn settings(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
) -> Result<Json<SignalSettings>, ApiError> {
    Ok(Json(state.store.signal_settings(p.id).await?))
}

#[utoipa::path(
    put,
    path = "/api/v1/signals/settings",
    operation_id = "set_signal_settings",
    tag = "signals",
    request_body(content = SignalSettings, description = "The thresholds to keep; fields left out take their defaults."),
    responses(
        (status = 200, description = "The thresholds now in force. Runs are judged by them from their next evaluation.", body = SignalSettings),
        (status = 400, description = "An unknown field, or a threshold out of its range (named).", body = ErrorBody),
        Keyed
    )
)]
async fn set_settings(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    body: Result<Json<SignalSettings>, JsonRejection>,
) -> Result<Json<SignalSettings>, ApiError> {
    let Json(body) = body.map_err(|e| json_body(e, "expected the signal thresholds as JSON"))?;
    state.store.set_signal_settings(p.id, &body).await?;
    state.signals.settings_changed(p.id);
    Ok(Json(body))
}

#[derive(Debug, Deserialize)]
pub struct CountParams {
    from: Option<String>,
    to: Option<String>,
    bucket: Option<String>,
}

impl IntoParams for CountParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            params::text(
                "from",
                &format!("Runs started from: {TIME_FORMS}; by default a day before `to`."),
                false,
            ),
            params::text(
                "to",
                &format!("Runs started before: {TIME_FORMS}; by default now."),
                false,
            ),
            params::text(
                "bucket",
                "Bucket width such as 5m, 1h or 1d; by default one giving about 60 buckets.",
                false,
            ),
        ]
    }
}

#[derive(Serialize, ToSchema)]
struct SignalCountView {
    /// The bucket's start (RFC 3339).
    time: String,
    name: String,
    severity: String,
    /// Runs started in the bucket with the signal.
    runs: u64,
}

#[derive(Serialize, ToSchema)]
struct SignalCountsAnswer {
    from_time: String,
    to_time: String,
    bucket_seconds: u64,
    /// Buckets with no run of a signal are left out; oldest first.
    counts: Vec<SignalCountView>,
}

#[utoipa::path(
    get,
    path = "/api/v1/stats/signals",
    operation_id = "get_signal_counts",
    tag = "signals",
    params(CountParams),
    responses(
        (status = 200, description = "How many runs had each signal, by the time they started.", body = SignalCountsAnswer),
        (status = 400, description = "A time or bucket out of form, or too many buckets.", body = ErrorBody),
        Keyed
    )
)]
async fn counts(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    Query(params): Query<CountParams>,
) -> Result<Json<SignalCountsAnswer>, ApiError> {
    const SECOND: u64 = 1_000_000_000;
    let now = now_unix_nano();
    let to = match given(&params.to) {
        Some(t) => parse_time("to", t, now)?,
        None => now,
    };
    let from = match given(&params.from) {
        Some(f) => parse_time("from", f, now)?,
        None => to.saturating_sub(86_400 * SECOND),
    };
    let bucket = match given(&params.bucket) {
        Some(b) => parse_seconds(b).filter(|s| *s > 0).ok_or_else(|| {
            ApiError::bad_request(format!(
                "bucket must be a duration such as 1m, 5m, 1h or 1d, not {b:?}"
            ))
        })?,
        None => pick_bucket(from, to),
    };
    check_range(from, to, bucket).map_err(|e| range_error(e, from, to, bucket))?;
    let counts = state
        .store
        .signal_counts(p.id, from, to, bucket * SECOND)
        .await?;
    Ok(Json(SignalCountsAnswer {
        from_time: iso(from),
        to_time: iso(to),
        bucket_seconds: bucket,
        counts: counts
            .into_iter()
            .map(|c| SignalCountView {
                time: iso(c.bucket_unix_nano),
                name: c.name,
                severity: c.severity,
                runs: c.runs,
            })
            .collect(),
    }))
}
