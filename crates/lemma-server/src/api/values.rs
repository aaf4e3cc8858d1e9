//! `/api/v1/values`: the values a query field takes in the project's newest runs, most common
//! first, for suggestions as a query is typed (the dashboard's filter builder, a CLI's
//! completion).

use axum::extract::{Query, State};
use axum::{Extension, Json};
use lemma_store::facets::{values, FacetField, ValueCount, FACET_RUNS};
use lemma_store::Project;
use serde::{Deserialize, Serialize};
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::windows::number;
use super::{now_unix_nano, parse_query};
use crate::error::{ApiError, ErrorBody};
use crate::openapi::params;
use crate::openapi::responses::Keyed;
use crate::server::AppState;

const DEFAULT_VALUES: usize = 20;
const MAX_VALUES: usize = 200;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(field_values))
}

#[derive(Debug, Deserialize)]
pub struct ValuesParams {
    field: Option<String>,
    prefix: Option<String>,
    q: Option<String>,
    limit: Option<String>,
}

impl IntoParams for ValuesParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            params::text("field", &format!("The field: {}.", FacetField::NAMES), true),
            params::text(
                "prefix",
                "Only values starting with this text (ignoring case).",
                false,
            ),
            params::q(),
            params::number(
                "limit",
                "Most values returned.",
                DEFAULT_VALUES,
                1,
                Some(MAX_VALUES),
            ),
        ]
    }
}

#[derive(Serialize, ToSchema)]
struct ValuesAnswer {
    field: String,
    /// Most common first, then alphabetically. A model also counts for its family
    /// (`gpt-4o` for `gpt-4o-2024-08-06`), as `model:gpt-4o` finds both.
    values: Vec<ValueCount>,
    /// How many runs were read: the newest runs matching `q`, at most `runs_limit`.
    runs_read: usize,
    /// The most runs read; counts are of these runs, not of the whole project.
    runs_limit: usize,
}

#[utoipa::path(
    get,
    path = "/api/v1/values",
    tag = "runs",
    params(ValuesParams),
    responses(
        (status = 200, description = "The field's values in the newest runs matching `q`, each with how many of those runs hold it.", body = ValuesAnswer),
        (status = 400, description = "An unknown or missing field, a query that does not parse, or a limit out of range.", body = ErrorBody),
        Keyed
    )
)]
async fn field_values(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    Query(params): Query<ValuesParams>,
) -> Result<Json<ValuesAnswer>, ApiError> {
    let name = params.field.as_deref().unwrap_or("").trim();
    let field = FacetField::parse(name).ok_or_else(|| {
        ApiError::bad_request(format!(
            "field must be one of {}, not {name:?}",
            FacetField::NAMES
        ))
    })?;
    let limit = number(
        "limit",
        params.limit.as_deref(),
        DEFAULT_VALUES,
        1,
        MAX_VALUES,
    )?;
    let filter = parse_query(params.q.as_deref().unwrap_or(""), now_unix_nano())?;
    let runs = state.store.run_facets(p.id, filter, FACET_RUNS).await?;
    Ok(Json(ValuesAnswer {
        field: name.to_string(),
        values: values(&runs, &field, params.prefix.as_deref().unwrap_or(""), limit),
        runs_read: runs.len(),
        runs_limit: FACET_RUNS,
    }))
}
