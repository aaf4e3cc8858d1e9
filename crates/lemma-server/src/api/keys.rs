//! A project's API keys, for its admins: list, create (the secret is shown once) and revoke.

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use lemma_store::{KeyInfo, KeyScope, Project};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{iso, json_body};
use crate::error::{ApiError, ErrorBody};
use crate::openapi::responses::Keyed;
use crate::server::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(revoke))
}

#[derive(Serialize, ToSchema)]
struct KeyView {
    id: i64,
    /// The Basic-auth user name (Langfuse SDKs' public key).
    public_key: String,
    /// The secret's first characters, to tell keys apart.
    hint: String,
    /// `ingest`, `read` or `admin`.
    scope: String,
    created_at: String,
    revoked: bool,
}

impl From<KeyInfo> for KeyView {
    fn from(k: KeyInfo) -> KeyView {
        KeyView {
            id: k.id,
            public_key: k.public_key,
            hint: k.hint,
            scope: k.scope.name().to_string(),
            created_at: iso(k.created_at_unix_nano),
            revoked: k.revoked,
        }
    }
}

#[derive(Serialize, ToSchema)]
struct KeysAnswer {
    /// Oldest first, revoked ones included.
    keys: Vec<KeyView>,
}

#[utoipa::path(
    get,
    path = "/api/v1/keys",
    operation_id = "list_keys",
    tag = "keys",
    responses((status = 200, description = "The project's keys (never their secrets).", body = KeysAnswer), Keyed)
)]
async fn list(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
) -> Result<Json<KeysAnswer>, ApiError> {
    let keys = state.store.list_keys(Some(&p.name)).await?;
    Ok(Json(KeysAnswer {
        keys: keys.into_iter().map(KeyView::from).collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewKeyBody {
    /// `ingest` (send spans, logs and metric events), `read` (read everything, change
    /// nothing) or `admin` (everything).
    scope: String,
}

#[derive(Serialize, ToSchema)]
struct NewKeyAnswer {
    key: KeyView,
    /// The key itself: shown this once, stored only as a hash.
    secret: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/keys",
    operation_id = "create_key",
    tag = "keys",
    request_body(content = NewKeyBody, description = "`{\"scope\": \"ingest\"}`"),
    responses(
        (status = 201, description = "The new key, with its secret (shown once).", body = NewKeyAnswer),
        (status = 400, description = "Not a scope of ingest, read or admin.", body = ErrorBody),
        Keyed
    )
)]
async fn create(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    body: Result<Json<NewKeyBody>, JsonRejection>,
) -> Result<(StatusCode, Json<NewKeyAnswer>), ApiError> {
    let Json(body) = body.map_err(|e| json_body(e, "expected {\"scope\": \"ingest\"}"))?;
    let scope = KeyScope::parse(&body.scope).ok_or_else(|| {
        ApiError::bad_request(format!(
            "scope must be ingest, read or admin, not {:?}",
            body.scope
        ))
    })?;
    let key = state.store.create_key(&p.name, None, scope).await?;
    Ok((
        StatusCode::CREATED,
        Json(NewKeyAnswer {
            key: key.info.into(),
            secret: key.secret,
        }),
    ))
}

#[utoipa::path(
    delete,
    path = "/api/v1/keys/{key}",
    operation_id = "revoke_key",
    tag = "keys",
    params(("key" = String, Path, description = "The key's id or public key.")),
    responses(
        (status = 204, description = "Revoked: the key stops working (on other servers sharing a ClickHouse store within 5 seconds)."),
        (status = 404, description = "The project has no such key.", body = ErrorBody),
        Keyed
    )
)]
async fn revoke(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path(key) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    // Only this project's keys: the store revokes by id or public key across projects.
    let keys = state.store.list_keys(Some(&p.name)).await?;
    let Some(found) = keys
        .iter()
        .find(|k| k.public_key == key || k.id.to_string() == key)
    else {
        return Err(ApiError::not_found(format!(
            "project {:?} has no key {key:?}",
            p.name
        )));
    };
    state.store.revoke_key(&found.public_key).await?;
    Ok(StatusCode::NO_CONTENT)
}
