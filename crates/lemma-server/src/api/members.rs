//! A project's members, for its admins: who may sign in to it, with which role. Users are
//! made with `lemma users create` (administration on the store); here they are given roles.

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use lemma_store::{Project, Role};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::json_body;
use crate::error::{ApiError, ErrorBody};
use crate::openapi::responses::Keyed;
use crate::server::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(set, remove))
}

#[derive(Serialize, ToSchema)]
struct MemberView {
    user: String,
    /// `viewer`, `member` or `admin`.
    role: String,
}

#[derive(Serialize, ToSchema)]
struct MembersAnswer {
    members: Vec<MemberView>,
}

#[utoipa::path(
    get,
    path = "/api/v1/members",
    operation_id = "list_members",
    tag = "members",
    responses((status = 200, description = "The project's members, by name.", body = MembersAnswer), Keyed)
)]
async fn list(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
) -> Result<Json<MembersAnswer>, ApiError> {
    let members = state.store.members(p.id).await?;
    Ok(Json(MembersAnswer {
        members: members
            .into_iter()
            .map(|m| MemberView {
                user: m.user,
                role: m.role.name().to_string(),
            })
            .collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RoleBody {
    /// `viewer` (reads), `member` (also sends feedback and deletes runs) or `admin` (also
    /// changes settings, keys and members).
    role: String,
}

fn user(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    path.map(|Path(u)| u)
        .map_err(|e| ApiError::bad_request(e.body_text()))
}

#[utoipa::path(
    put,
    path = "/api/v1/members/{user}",
    operation_id = "set_member",
    tag = "members",
    params(("user" = String, Path, description = "A user made with `lemma users create`.")),
    request_body(content = RoleBody, description = "`{\"role\": \"viewer\"}`"),
    responses(
        (status = 200, description = "The member with their role (effective on other servers sharing the store within 5 seconds).", body = MemberView),
        (status = 400, description = "Not a role of viewer, member or admin.", body = ErrorBody),
        (status = 404, description = "No such user.", body = ErrorBody),
        Keyed
    )
)]
async fn set(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<RoleBody>, JsonRejection>,
) -> Result<Json<MemberView>, ApiError> {
    let user = user(path)?;
    let Json(body) = body.map_err(|e| json_body(e, "expected {\"role\": \"viewer\"}"))?;
    let role = Role::parse(&body.role).ok_or_else(|| {
        ApiError::bad_request(format!(
            "role must be viewer, member or admin, not {:?}",
            body.role
        ))
    })?;
    state.store.set_role(&user, p.id, Some(role)).await?;
    state.sessions.forget_all();
    Ok(Json(MemberView {
        user,
        role: role.name().to_string(),
    }))
}

#[utoipa::path(
    delete,
    path = "/api/v1/members/{user}",
    operation_id = "remove_member",
    tag = "members",
    params(("user" = String, Path, description = "A member of the project.")),
    responses(
        (status = 204, description = "No longer a member."),
        (status = 404, description = "Not a member of the project.", body = ErrorBody),
        Keyed
    )
)]
async fn remove(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let user = user(path)?;
    let members = state.store.members(p.id).await?;
    if !members.iter().any(|m| m.user == user) {
        return Err(ApiError::not_found(format!(
            "{user:?} is not a member of project {:?}",
            p.name
        )));
    }
    state.store.set_role(&user, p.id, None).await?;
    state.sessions.forget_all();
    Ok(StatusCode::NO_CONTENT)
}
