//! Signing in to the dashboard as a person: `POST /api/v1/auth/login` checks a user's
//! password and sets a session cookie; `GET /api/v1/auth/session` says who is signed in;
//! `POST /api/v1/auth/logout` ends the session. These routes take no key (they are how a
//! person gets one's equivalent), so they sit outside the key-checking layer.

use std::sync::LazyLock;

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use lemma_store::users::{hash_password, hash_token, new_tokens, verify_password};
use lemma_store::{Role, Session};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::now_unix_nano;
use crate::auth::session::{self, SignedIn, COOKIE, SESSION_TTL};
use crate::error::{ApiError, ErrorBody};
use crate::server::AppState;

/// A sign-in is a name and a password.
const MAX_LOGIN_BYTES: usize = 4 * 1024;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(current))
        .routes(routes!(methods))
        .layer(DefaultBodyLimit::max(MAX_LOGIN_BYTES))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    username: String,
    password: String,
}

#[derive(Serialize, ToSchema)]
struct SessionAnswer {
    user: String,
    /// The projects the user belongs to; name one in `X-Lemma-Project` on each request.
    projects: Vec<ProjectRole>,
    /// Send in `X-CSRF-Token` on every request that changes something.
    csrf_token: String,
    expires_at: String,
}

#[derive(Serialize, ToSchema)]
struct ProjectRole {
    name: String,
    /// `viewer`, `member` or `admin`.
    #[schema(value_type = String)]
    role: Role,
}

fn answer(signed_in: &SignedIn) -> SessionAnswer {
    SessionAnswer {
        user: signed_in.session.user.clone(),
        projects: signed_in
            .memberships
            .iter()
            .map(|m| ProjectRole {
                name: m.project.name.clone(),
                role: m.role,
            })
            .collect(),
        csrf_token: signed_in.session.csrf.clone(),
        expires_at: super::iso(signed_in.session.expires_at_unix_nano),
    }
}

/// Checked when the user does not exist, so a wrong name takes as long as a wrong password.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_password("no user has this password").unwrap_or_default());

/// Whether the browser reached the server over TLS (a proxy in front says so): cookies are
/// then `Secure`.
pub(crate) fn over_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

fn session_cookie(headers: &HeaderMap, value: &str, max_age_secs: u64) -> HeaderValue {
    let text = format!(
        "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{}",
        if over_tls(headers) { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    operation_id = "login",
    tag = "auth",
    security(()),
    request_body(content = LoginBody, description = "A user made with `lemma users create`."),
    responses(
        (status = 200, description = "Signed in: the session cookie (HttpOnly, SameSite=Strict) is set, for 7 days.", body = SessionAnswer),
        (status = 400, description = "Not `{\"username\", \"password\"}`.", body = ErrorBody),
        (status = 401, description = "The user name or the password is wrong (the answer does not say which).", body = ErrorBody),
        (status = 429, description = "Five sign-ins of this user name failed: each further attempt waits twice as long as the last (1 s, 2 s, ... up to 60 s), given in `Retry-After`.", body = ErrorBody),
    )
)]
async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<LoginBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) =
        body.map_err(|e| super::json_body(e, "expected {\"username\", \"password\"}"))?;
    if let Err(wait) = state.logins.check(&body.username) {
        let seconds = wait.as_secs().max(1);
        return Err(ApiError {
            retry_after: Some(seconds as u32),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                format!("too many failed sign-ins for this user: try again in {seconds} s"),
            )
        });
    }
    let stored = state.store.password_hash(&body.username).await?;
    let known = stored.is_some();
    let hash = stored.unwrap_or_else(|| DUMMY_HASH.clone());
    // Argon2 is slow on purpose: off the async threads.
    let password = body.password;
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(|e| ApiError::internal(format!("checking a password failed: {e}")))?;
    if !(known && matches) {
        state.logins.failed(&body.username);
        tracing::info!(user = %body.username, "a sign-in failed");
        return Err(ApiError::unauthorized("wrong user name or password"));
    }
    state.logins.succeeded(&body.username);
    let (signed_in, cookie) = start_session(&state, &headers, &body.username).await?;
    let mut response = Json(answer(&signed_in)).into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

/// A new session for `user` (who has proved who they are), and the cookie that carries it.
pub(crate) async fn start_session(
    state: &AppState,
    headers: &HeaderMap,
    user: &str,
) -> Result<(SignedIn, HeaderValue), ApiError> {
    let (token, csrf) = new_tokens();
    let now = now_unix_nano();
    let session = Session {
        user: user.to_string(),
        csrf,
        created_at_unix_nano: now,
        expires_at_unix_nano: now + SESSION_TTL.as_nanos() as u64,
    };
    state
        .store
        .create_session(&hash_token(&token), &session)
        .await?;
    let signed_in = SignedIn {
        memberships: state.store.memberships(&session.user).await?,
        session,
    };
    let cookie = session_cookie(headers, &token, SESSION_TTL.as_secs());
    Ok((signed_in, cookie))
}

#[derive(Serialize, ToSchema)]
struct SignInMethods {
    /// Users with a password sign in with `POST /api/v1/auth/login`.
    password: bool,
    /// Set when people can sign in through an OpenID Connect provider, at
    /// `GET /api/v1/auth/oidc/start`.
    oidc: Option<OidcMethod>,
}

#[derive(Serialize, ToSchema)]
struct OidcMethod {
    /// The provider's name, for the button ("Sign in with ...").
    name: String,
}

#[utoipa::path(
    get,
    path = "/api/v1/auth/methods",
    operation_id = "sign_in_methods",
    tag = "auth",
    security(()),
    responses(
        (status = 200, description = "How people can sign in to this server's dashboard.", body = SignInMethods),
    )
)]
async fn methods(State(state): State<AppState>) -> Json<SignInMethods> {
    Json(SignInMethods {
        password: true,
        oidc: state.oidc.as_ref().map(|o| OidcMethod {
            name: o.name().to_string(),
        }),
    })
}

async fn signed_in(state: &AppState, headers: &HeaderMap) -> Result<(String, SignedIn), ApiError> {
    let refused = || ApiError::unauthorized("not signed in (or the session ended): sign in again");
    let token = session::token(headers).ok_or_else(refused)?;
    let signed_in = state
        .sessions
        .get(state.store.as_ref(), &token)
        .await?
        .ok_or_else(refused)?;
    Ok((token, signed_in))
}

#[utoipa::path(
    get,
    path = "/api/v1/auth/session",
    operation_id = "get_session",
    tag = "auth",
    security(("session" = [])),
    responses(
        (status = 200, description = "Who is signed in with this cookie, their projects and the CSRF token.", body = SessionAnswer),
        (status = 401, description = "No live session.", body = ErrorBody),
    )
)]
async fn current(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<SessionAnswer>, ApiError> {
    let (_, signed_in) = signed_in(&state, &headers).await?;
    Ok(Json(answer(&signed_in)))
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    operation_id = "logout",
    tag = "auth",
    security(("session" = [])),
    responses(
        (status = 204, description = "Signed out: the session ends on every server, and the cookie is cleared."),
        (status = 401, description = "No live session.", body = ErrorBody),
        (status = 403, description = "Without the session's `X-CSRF-Token`.", body = ErrorBody),
    )
)]
async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let (token, signed_in) = signed_in(&state, &headers).await?;
    let sent = headers
        .get(session::CSRF_HEADER)
        .and_then(|v| v.to_str().ok());
    if !sent.is_some_and(|s| {
        lemma_store::keys::hashes_equal(s.as_bytes(), signed_in.session.csrf.as_bytes())
    }) {
        return Err(ApiError::forbidden("missing or wrong X-CSRF-Token"));
    }
    state.store.delete_session(&hash_token(&token)).await?;
    state.sessions.forget_all();
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&headers, "", 0));
    Ok(response)
}
