//! `/api/v1/prices`: the project's effective price table, its overrides, and re-pricing stored
//! runs after a change.

use std::collections::HashMap;

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::routing::{get, post, put};
use axum::{Extension, Json, Router};
use lemma_core::pricing::{normalize_pattern, Price, PriceEntry, PriceSource, PriceTable};
use serde::Serialize;
use serde_json::{json, Value};

use lemma_store::Project;

use super::json_body;
use super::views::iso;
use crate::error::ApiError;
use crate::server::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/prices", get(list))
        .route("/api/v1/prices/apply", post(apply))
        .route("/api/v1/prices/{model}", put(set).delete(delete))
}

#[derive(Serialize)]
struct PriceView<'a> {
    model: &'a str,
    #[serde(flatten)]
    price: Price,
    source: PriceSource,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at: Option<String>,
}

fn view(entry: &PriceEntry, updated_ns: Option<u64>) -> PriceView<'_> {
    PriceView {
        model: &entry.model,
        price: entry.price,
        source: entry.source,
        updated_at: updated_ns.map(iso),
    }
}

fn model_from(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    let Path(model) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    Ok(model)
}

async fn list(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
) -> Result<Json<Value>, ApiError> {
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
    Ok(Json(
        json!({"prices": prices, "builtin_as_of": PriceTable::builtin_as_of()}),
    ))
}

async fn set(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<Price>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
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
    Ok(Json(
        json!({"price": view(&entry, Some(saved.updated_at_unix_nano))}),
    ))
}

async fn delete(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
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
    Ok(Json(json!({"deleted": model})))
}

async fn apply(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
) -> Result<Json<Value>, ApiError> {
    let table = state.prices.table(p.id).await?;
    let changed = state.store.reprice(p.id, &table).await?;
    Ok(Json(json!({"spans_changed": changed})))
}
