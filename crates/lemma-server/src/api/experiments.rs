//! `/api/v1/datasets`, `/api/v1/experiments` and `/api/v1/compare`: versioned datasets of test
//! cases, experiments linking cases to the runs that answered them, and experiments compared
//! case by case.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use lemma_core::experiments::{
    compare, from_csv, from_jsonl, to_csv, to_jsonl, Case, CaseRun, Comparison, DatasetInfo,
    DatasetVersion, Experiment,
};
use lemma_core::{MetricEvent, Run};
use lemma_store::{ListQuery, Project, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::json_body;
use crate::error::{ApiError, ErrorBody};
use crate::openapi::responses::Keyed;
use crate::server::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_datasets, create_dataset))
        .routes(routes!(get_dataset, replace_dataset, delete_dataset))
        .routes(routes!(add_cases))
        .routes(routes!(list_experiments, create_experiment))
        .routes(routes!(get_experiment))
        .routes(routes!(link_runs))
        .routes(routes!(link_from_query))
        .routes(routes!(compare_experiments))
}

fn name_of(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    let Path(name) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    Ok(name)
}

fn conflict(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
        other => other.into(),
    }
}

#[derive(Serialize, ToSchema)]
struct DatasetsAnswer {
    datasets: Vec<DatasetInfo>,
}

#[utoipa::path(get, path = "/api/v1/datasets", operation_id = "list_datasets", tag = "experiments",
    responses((status = 200, description = "The project's datasets at their latest versions.", body = DatasetsAnswer), Keyed))]
async fn list_datasets(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
) -> Result<Json<DatasetsAnswer>, ApiError> {
    Ok(Json(DatasetsAnswer {
        datasets: state.store.list_datasets(p.id).await?,
    }))
}

/// A new dataset, or a new version of one.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DatasetBody {
    /// Only when creating; a version keeps the dataset's name.
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    cases: Vec<Case>,
    /// When changing: the version the change was made over (409 if another came since).
    #[serde(default)]
    expected_version: Option<u32>,
}

const BAD_DATASET: &str = "A dataset that cannot be kept, naming the first wrong case: no input, an id used twice, a bad name, more than 100,000 cases.";

#[utoipa::path(post, path = "/api/v1/datasets", operation_id = "create_dataset", tag = "experiments",
    request_body(content = DatasetBody, description = "`{\"name\", \"description\"?, \"cases\": [{\"id\"?, \"input\", \"expected\"?, \"metadata\"?, \"tags\"?}]}`."),
    responses(
        (status = 201, description = "Version 1 of the dataset, with case ids assigned.", body = DatasetVersion),
        (status = 400, description = BAD_DATASET, body = ErrorBody),
        (status = 409, description = "The project has a dataset of that name.", body = ErrorBody),
        Keyed
    ))]
async fn create_dataset(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    body: Result<Json<DatasetBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(|e| json_body(e, "expected {\"name\", \"cases\": [...]}"))?;
    let made = state
        .store
        .put_dataset(p.id, version_of(body.name, body.description, body.cases), 0)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "the project has a dataset of that name: add a version with PUT /api/v1/datasets/{name}",
            ),
            other => other.into(),
        })?;
    Ok((StatusCode::CREATED, Json(made)).into_response())
}

fn version_of(name: String, description: String, cases: Vec<Case>) -> DatasetVersion {
    DatasetVersion {
        name,
        description,
        version: 0,
        created_at_unix_nano: 0,
        cases,
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct DatasetParams {
    /// A version (the latest by default).
    version: Option<u32>,
    /// `json` (default), `jsonl` (a case per line) or `csv`.
    format: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/datasets/{name}", operation_id = "get_dataset", tag = "experiments",
    params(("name" = String, Path, description = "The dataset's name."), DatasetParams),
    responses(
        (status = 200, description = "The version with its cases: JSON, or its cases as JSON lines or CSV.", body = DatasetVersion),
        (status = 400, description = "An unknown format.", body = ErrorBody),
        (status = 404, description = "No such dataset or version.", body = ErrorBody),
        Keyed
    ))]
async fn get_dataset(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    path: Result<Path<String>, PathRejection>,
    params: Result<Query<DatasetParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let name = name_of(path)?;
    let Query(params) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let dataset = state
        .store
        .dataset(p.id, &name, params.version)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no dataset {name:?} (version {:?})",
                params.version
            ))
        })?;
    Ok(match params.format.as_deref().unwrap_or("json") {
        "json" => Json(dataset).into_response(),
        "jsonl" => (
            [(header::CONTENT_TYPE, "application/x-ndjson")],
            to_jsonl(&dataset.cases),
        )
            .into_response(),
        "csv" => ([(header::CONTENT_TYPE, "text/csv")], to_csv(&dataset.cases)).into_response(),
        other => {
            return Err(ApiError::bad_request(format!(
                "format must be json, jsonl or csv, not {other:?}"
            )))
        }
    })
}

#[utoipa::path(put, path = "/api/v1/datasets/{name}", operation_id = "replace_dataset", tag = "experiments",
    params(("name" = String, Path, description = "The dataset's name.")),
    request_body(content = DatasetBody, description = "The cases of the new version, and `expected_version`: the version they were edited from."),
    responses(
        (status = 200, description = "The new version. Experiments over older versions keep comparing against those.", body = DatasetVersion),
        (status = 400, description = BAD_DATASET, body = ErrorBody),
        (status = 409, description = "Another version was made since `expected_version` (or the dataset does not exist).", body = ErrorBody),
        Keyed
    ))]
async fn replace_dataset(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<DatasetBody>, JsonRejection>,
) -> Result<Json<DatasetVersion>, ApiError> {
    let name = name_of(path)?;
    let Json(body) =
        body.map_err(|e| json_body(e, "expected {\"cases\": [...], \"expected_version\": N}"))?;
    let expected = body.expected_version.ok_or_else(|| {
        ApiError::bad_request(
            "expected_version is required: the version the cases were edited from",
        )
    })?;
    let made = state
        .store
        .put_dataset(
            p.id,
            version_of(name, body.description, body.cases),
            expected.max(1),
        )
        .await
        .map_err(conflict)?;
    Ok(Json(made))
}

#[utoipa::path(delete, path = "/api/v1/datasets/{name}", operation_id = "delete_dataset", tag = "experiments",
    params(("name" = String, Path, description = "The dataset's name.")),
    responses((status = 204, description = "Deleted with every version; its experiments stay."), (status = 404, description = "No such dataset.", body = ErrorBody), Keyed))]
async fn delete_dataset(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let name = name_of(path)?;
    match state.store.delete_dataset(p.id, &name).await? {
        true => Ok(StatusCode::NO_CONTENT),
        false => Err(ApiError::not_found(format!("no dataset {name:?}"))),
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AddParams {
    /// The body: `json` (default: `{"cases": [...]}`), `jsonl` or `csv`.
    format: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/datasets/{name}/cases", operation_id = "add_dataset_cases", tag = "experiments",
    params(("name" = String, Path, description = "The dataset's name; made when missing."), AddParams),
    request_body(content = String, description = "Cases to add: `{\"cases\": [...]}`, JSON lines, or CSV with a header (`id`, `input`, `expected`, `tags`, `metadata.<key>`)."),
    responses(
        (status = 201, description = "The new version: the latest's cases and these after them.", body = DatasetVersion),
        (status = 400, description = "Cases that do not parse (the line or row named) or cannot be kept.", body = ErrorBody),
        Keyed
    ))]
async fn add_cases(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    path: Result<Path<String>, PathRejection>,
    params: Result<Query<AddParams>, QueryRejection>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let name = name_of(path)?;
    let Query(params) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::bad_request("the body is not UTF-8 text"))?;
    let added = match params.format.as_deref().unwrap_or("json") {
        "json" => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Cases {
                cases: Vec<Case>,
            }
            serde_json::from_str::<Cases>(text)
                .map_err(|e| ApiError::bad_request(format!("expected {{\"cases\": [...]}}: {e}")))?
                .cases
        }
        "jsonl" => from_jsonl(text).map_err(ApiError::bad_request)?,
        "csv" => from_csv(text).map_err(ApiError::bad_request)?,
        other => {
            return Err(ApiError::bad_request(format!(
                "format must be json, jsonl or csv, not {other:?}"
            )))
        }
    };
    for _ in 0..3 {
        let latest = state.store.dataset(p.id, &name, None).await?;
        let (expected, description, mut cases) = match latest {
            Some(d) => (d.version, d.description, d.cases),
            None => (0, String::new(), Vec::new()),
        };
        cases.extend(added.iter().cloned());
        match state
            .store
            .put_dataset(p.id, version_of(name.clone(), description, cases), expected)
            .await
        {
            Ok(made) => return Ok((StatusCode::CREATED, Json(made)).into_response()),
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::new(
        StatusCode::CONFLICT,
        "conflict",
        "the dataset kept changing meanwhile: try again",
    ))
}

#[derive(Serialize, ToSchema)]
struct ExperimentsAnswer {
    /// Newest first.
    experiments: Vec<Experiment>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ExperimentParams {
    /// Only the experiments over this dataset.
    dataset: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/experiments", operation_id = "list_experiments", tag = "experiments",
    params(ExperimentParams),
    responses((status = 200, description = "The project's experiments, newest first.", body = ExperimentsAnswer), Keyed))]
async fn list_experiments(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    params: Result<Query<ExperimentParams>, QueryRejection>,
) -> Result<Json<ExperimentsAnswer>, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    Ok(Json(ExperimentsAnswer {
        experiments: state
            .store
            .list_experiments(p.id, params.dataset.as_deref())
            .await?,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ExperimentBody {
    name: String,
    dataset: String,
    /// The latest by default.
    dataset_version: Option<u32>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    metadata: Map<String, Value>,
}

#[utoipa::path(post, path = "/api/v1/experiments", operation_id = "create_experiment", tag = "experiments",
    request_body(content = ExperimentBody),
    responses(
        (status = 201, description = "The experiment, over the dataset version named (the latest by default).", body = Experiment),
        (status = 400, description = "An unknown dataset or version, or a bad name.", body = ErrorBody),
        (status = 409, description = "The project has an experiment of that name.", body = ErrorBody),
        Keyed
    ))]
async fn create_experiment(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    body: Result<Json<ExperimentBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(|e| json_body(e, "expected {\"name\", \"dataset\"}"))?;
    let version = match body.dataset_version {
        Some(v) => v,
        None => {
            state
                .store
                .dataset(p.id, &body.dataset, None)
                .await?
                .ok_or_else(|| ApiError::bad_request(format!("no dataset {:?}", body.dataset)))?
                .version
        }
    };
    let made = state
        .store
        .create_experiment(
            p.id,
            Experiment {
                name: body.name,
                dataset: body.dataset,
                dataset_version: version,
                description: body.description,
                metadata: body.metadata,
                created_at_unix_nano: 0,
            },
        )
        .await
        .map_err(conflict)?;
    Ok((StatusCode::CREATED, Json(made)).into_response())
}

#[derive(Serialize, ToSchema)]
struct ExperimentAnswer {
    experiment: Experiment,
    /// Each case run, by case id.
    runs: Vec<CaseRun>,
}

#[utoipa::path(get, path = "/api/v1/experiments/{name}", operation_id = "get_experiment", tag = "experiments",
    params(("name" = String, Path, description = "The experiment's name.")),
    responses((status = 200, description = "The experiment and the runs that answered its cases.", body = ExperimentAnswer), (status = 404, description = "No such experiment.", body = ErrorBody), Keyed))]
async fn get_experiment(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<ExperimentAnswer>, ApiError> {
    let name = name_of(path)?;
    let experiment = state
        .store
        .experiment(p.id, &name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no experiment {name:?}")))?;
    let runs = state.store.experiment_runs(p.id, &name).await?;
    Ok(Json(ExperimentAnswer { experiment, runs }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct LinkBody {
    runs: Vec<CaseRun>,
}

#[derive(Serialize, ToSchema)]
struct LinkedAnswer {
    linked: usize,
}

#[utoipa::path(post, path = "/api/v1/experiments/{name}/runs", operation_id = "link_experiment_runs", tag = "experiments",
    params(("name" = String, Path, description = "The experiment's name.")),
    request_body(content = LinkBody, description = "`{\"runs\": [{\"case_id\", \"run_id\"}]}`; a case linked again keeps its latest run."),
    responses(
        (status = 200, description = "Linked.", body = LinkedAnswer),
        (status = 400, description = "A case the experiment's dataset version does not have, or a bad run id.", body = ErrorBody),
        (status = 404, description = "No such experiment.", body = ErrorBody),
        Keyed
    ))]
async fn link_runs(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<LinkBody>, JsonRejection>,
) -> Result<Json<LinkedAnswer>, ApiError> {
    let name = name_of(path)?;
    let Json(body) =
        body.map_err(|e| json_body(e, "expected {\"runs\": [{\"case_id\", \"run_id\"}]}"))?;
    let mut runs = body.runs;
    for r in &mut runs {
        r.run_id = r.run_id.to_ascii_lowercase();
    }
    check_cases(&state, &p, &name, &runs).await?;
    state.store.link_runs(p.id, &name, &runs).await?;
    Ok(Json(LinkedAnswer { linked: runs.len() }))
}

/// Refuses cases the experiment's dataset version does not have.
async fn check_cases(
    state: &AppState,
    p: &Project,
    experiment: &str,
    runs: &[CaseRun],
) -> Result<(), ApiError> {
    let e = state
        .store
        .experiment(p.id, experiment)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no experiment {experiment:?}")))?;
    if let Some(d) = state
        .store
        .dataset(p.id, &e.dataset, Some(e.dataset_version))
        .await?
    {
        if let Some(bad) = runs.iter().find(|r| d.case(&r.case_id).is_none()) {
            return Err(ApiError::bad_request(format!(
                "dataset {:?} version {} has no case {:?}",
                e.dataset, e.dataset_version, bad.case_id
            )));
        }
    }
    Ok(())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct FromQueryBody {
    /// Which runs, in the query language.
    query: String,
    /// The metadata key holding each run's case id (`case_id` by default).
    #[serde(default = "case_id_key")]
    case_key: String,
}

fn case_id_key() -> String {
    "case_id".into()
}

#[utoipa::path(post, path = "/api/v1/experiments/{name}/runs/from-query", operation_id = "link_experiment_runs_from_query", tag = "experiments",
    params(("name" = String, Path, description = "The experiment's name.")),
    request_body(content = FromQueryBody, description = "Links the runs a query finds (at most 10,000) to the cases their metadata names: runs made by any app or language can take part."),
    responses(
        (status = 200, description = "How many runs were linked.", body = LinkedAnswer),
        (status = 400, description = "A query that does not parse, or a case the dataset version does not have.", body = ErrorBody),
        (status = 404, description = "No such experiment.", body = ErrorBody),
        Keyed
    ))]
async fn link_from_query(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<FromQueryBody>, JsonRejection>,
) -> Result<Json<LinkedAnswer>, ApiError> {
    let name = name_of(path)?;
    let Json(body) = body.map_err(|e| json_body(e, "expected {\"query\", \"case_key\"?}"))?;
    let filter = super::parse_query(&body.query, super::now_unix_nano())?;
    let runs = all_runs(&state, &p, filter, 10_000).await?;
    let links: Vec<CaseRun> = runs
        .iter()
        .filter_map(|r| {
            let case = r.metadata.get(&body.case_key)?;
            let case_id = match case {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            Some(CaseRun {
                case_id,
                run_id: r.run_id.clone(),
            })
        })
        .collect();
    check_cases(&state, &p, &name, &links).await?;
    state.store.link_runs(p.id, &name, &links).await?;
    Ok(Json(LinkedAnswer {
        linked: links.len(),
    }))
}

/// Every run matching the filter, up to `max`, following cursors.
async fn all_runs(
    state: &AppState,
    p: &Project,
    filter: lemma_core::query::Filter,
    max: usize,
) -> Result<Vec<Run>, ApiError> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = state
            .store
            .list_runs(
                p.id,
                ListQuery {
                    filter: filter.clone(),
                    limit: lemma_store::MAX_LIMIT,
                    cursor,
                    order: Default::default(),
                },
            )
            .await?;
        out.extend(page.items);
        match page.next_cursor {
            Some(c) if out.len() < max => cursor = Some(lemma_store::Cursor::decode(&c)?),
            _ => return Ok(out),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct CompareParams {
    /// Two or more experiment names, comma-separated; the first is the baseline.
    experiments: String,
    /// Only the cases whose results differ.
    #[serde(default)]
    changed: bool,
}

#[utoipa::path(get, path = "/api/v1/compare", operation_id = "compare_experiments", tag = "experiments",
    params(CompareParams),
    responses(
        (status = 200, description = "The experiments side by side, case by case, with totals, score deltas and the cases worse than in the baseline (`regressions`).", body = Comparison),
        (status = 400, description = "Fewer than two experiments, or more than ten.", body = ErrorBody),
        (status = 404, description = "An unknown experiment (named).", body = ErrorBody),
        Keyed
    ))]
async fn compare_experiments(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    params: Result<Query<CompareParams>, QueryRejection>,
) -> Result<Json<Comparison>, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let names: Vec<&str> = params
        .experiments
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    if !(2..=10).contains(&names.len()) {
        return Err(ApiError::bad_request(
            "experiments takes 2 to 10 experiment names, comma-separated, the baseline first",
        ));
    }
    let mut sides = Vec::new();
    for name in &names {
        let e = state
            .store
            .experiment(p.id, name)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no experiment {name:?}")))?;
        let links = state.store.experiment_runs(p.id, name).await?;
        sides.push((e, links));
    }
    let cases = state
        .store
        .dataset(p.id, &sides[0].0.dataset, Some(sides[0].0.dataset_version))
        .await?
        .map(|d| d.cases)
        .unwrap_or_default();
    // The runs in one listing by experiment, their scores run by run.
    let filter = super::parse_query(&format!("experiment:{}", names.join(",")), 0)?;
    let runs: HashMap<String, Run> = all_runs(&state, &p, filter, usize::MAX)
        .await?
        .into_iter()
        .map(|r| (r.run_id.clone(), r))
        .collect();
    let ids: Vec<String> = runs.keys().cloned().collect();
    let metrics: HashMap<String, Vec<MetricEvent>> = stream::iter(ids)
        .map(|id| {
            let store = state.store.clone();
            async move {
                let m = store.list_metrics(p.id, &id).await?;
                Ok::<_, StoreError>((id, m))
            }
        })
        .buffer_unordered(16)
        .try_collect()
        .await?;
    let mut c = compare(&cases, &sides, &runs, &metrics);
    if params.changed {
        c.cases.retain(|r| r.changed);
    }
    Ok(Json(c))
}
