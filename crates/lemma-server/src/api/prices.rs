//! `/api/v1/prices`: the project's effective price table, its overrides, and re-pricing stored
//! runs after a change.

use std::collections::HashMap;

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use lemma_core::pricing::{normalize_pattern, Price, PriceEntry, PriceSource, PriceTable};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use lemma_store::Project;

use super::json_body;
use super::views::iso;
use crate::error::{ApiError, ErrorBody};
use crate::openapi::responses::Keyed;
use crate::server::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(apply))
        .routes(routes!(set, delete))
}

/// A model's prices, USD per million tokens, and where they come from.
///
/// The prices are listed rather than a flattened [`Price`]: a request's `Price` refuses unknown
/// fields, and its schema says so, which no object with more fields could match.
#[derive(Serialize, ToSchema)]
#[schema(as = PriceEntry)]
struct PriceView<'a> {
    /// The model pattern (`*` matches any run of characters).
    model: &'a str,
    /// Uncached input tokens.
    input: f64,
    /// Output tokens, reasoning included unless `reasoning` is set.
    output: f64,
    /// Input tokens read from the cache; the input price when `null`.
    cache_read: Option<f64>,
    /// Input tokens written to the cache; the input price when `null`.
    cache_write: Option<f64>,
    /// Reasoning tokens, for a model that prices them apart from other output.
    reasoning: Option<f64>,
    source: PriceSource,
    /// RFC 3339, for the project's own prices.
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct PricesAnswer<'a> {
    prices: Vec<PriceView<'a>>,
    /// The date of the built-in table, `YYYY-MM-DD`.
    builtin_as_of: &'static str,
}

#[derive(Serialize, ToSchema)]
struct PriceAnswer<'a> {
    price: PriceView<'a>,
}

#[derive(Serialize, ToSchema)]
struct DeletedAnswer {
    /// The model pattern, normalised.
    deleted: String,
}

#[derive(Serialize, ToSchema)]
struct ApplyAnswer {
    spans_changed: u64,
}

fn view(entry: &PriceEntry, updated_ns: Option<u64>) -> PriceView<'_> {
    PriceView {
        model: &entry.model,
        input: entry.price.input,
        output: entry.price.output,
        cache_read: entry.price.cache_read,
        cache_write: entry.price.cache_write,
        reasoning: entry.price.reasoning,
        source: entry.source,
        updated_at: updated_ns.map(iso),
    }
}

fn model_from(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    let Path(model) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    Ok(model)
}

#[utoipa::path(
    get,
    path = "/api/v1/prices",
    operation_id = "list_prices",
    tag = "prices",
    responses((status = 200, description = "The effective price table: built-in prices and the project's own.", body = PricesAnswer), Keyed)
)]
async fn list(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
) -> Result<Response, ApiError> {
    let overrides = state.store.list_prices(p.id).await?;
    let updated: HashMap<&str, u64> = overrides
        .iter()
        .map(|o| (o.model.as_str(), o.updated_at_unix_nano))
        .collect();
    let table = PriceTable::with_overrides(overrides.iter().map(|o| (o.model.as_str(), o.price)));
    let prices: Vec<PriceView> = table
        .entries()
        .into_iter()
        .map(|e| match e.source {
            PriceSource::Override => view(e, updated.get(e.model.as_str()).copied()),
            PriceSource::Builtin => view(e, None),
        })
        .collect();
    Ok(Json(PricesAnswer {
        prices,
        builtin_as_of: PriceTable::builtin_as_of(),
    })
    .into_response())
}

#[utoipa::path(
    put,
    path = "/api/v1/prices/{model}",
    operation_id = "set_price",
    tag = "prices",
    params(("model" = String, Path, description = "A model ID or pattern (`*` matches any run of characters).")),
    request_body(content = Price, description = "USD per million tokens, non-negative. At most 1 MiB."),
    responses(
        (status = 200, description = "The project's own price, as set.", body = PriceAnswer),
        (status = 400, description = "An invalid price or model pattern.", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB.", body = ErrorBody),
        Keyed
    )
)]
async fn set(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<Price>, JsonRejection>,
) -> Result<Response, ApiError> {
    let model = model_from(path)?;
    let invalid =
        |why: String| ApiError::bad_request(format!("invalid price for {model:?}: {why}"));
    let Json(price) = body.map_err(|e| {
        let e = json_body(
            e,
            "send {\"input\": N, \"output\": N} in USD per million tokens, optionally with \
             \"cache_read\", \"cache_write\" and \"reasoning\"",
        );
        ApiError {
            message: format!("invalid price for {model:?}: {}", e.message),
            ..e
        }
    })?;
    price.validate().map_err(invalid)?;
    let saved = state.store.set_price(p.id, &model, price).await?;
    state.prices.invalidate(p.id);
    let entry = PriceEntry {
        model: saved.model,
        price: saved.price,
        source: PriceSource::Override,
    };
    Ok(Json(PriceAnswer {
        price: view(&entry, Some(saved.updated_at_unix_nano)),
    })
    .into_response())
}

#[utoipa::path(
    delete,
    path = "/api/v1/prices/{model}",
    operation_id = "delete_price",
    tag = "prices",
    params(("model" = String, Path, description = "A model pattern the project set a price for.")),
    responses(
        (status = 200, description = "The project's own price is removed.", body = DeletedAnswer),
        (status = 400, description = "Not a model pattern a price could be stored under.", body = ErrorBody),
        (status = 404, description = "The project has no price of its own for it.", body = ErrorBody),
        Keyed
    )
)]
async fn delete(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<DeletedAnswer>, ApiError> {
    let model = model_from(path)?;
    // A pattern no price could be stored under is a mistake to explain, not a missing price.
    let model = normalize_pattern(&model)
        .map_err(|why| ApiError::bad_request(format!("invalid model pattern: {why}")))?;
    if !state.store.delete_price(p.id, &model).await? {
        return Err(ApiError::not_found(format!(
            "project {:?} has no price of its own for {model:?} (built-in prices are overridden, \
             not deleted)",
            p.name
        )));
    }
    state.prices.invalidate(p.id);
    Ok(Json(DeletedAnswer { deleted: model }))
}

#[utoipa::path(
    post,
    path = "/api/v1/prices/apply",
    operation_id = "apply_prices",
    tag = "prices",
    responses((status = 200, description = "The project's stored spans and runs are priced again.", body = ApplyAnswer), Keyed)
)]
async fn apply(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
) -> Result<Json<ApplyAnswer>, ApiError> {
    let table = state.prices.table(p.id).await?;
    let spans_changed = state.store.reprice(p.id, &table).await?;
    Ok(Json(ApplyAnswer { spans_changed }))
}
