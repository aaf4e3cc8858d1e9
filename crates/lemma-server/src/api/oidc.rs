//! Signing in to the dashboard through an OpenID Connect provider (`lemma serve --oidc-issuer`):
//! `GET /api/v1/auth/oidc/start` sends the browser to the provider, and the provider sends it
//! back to `GET /api/v1/auth/oidc/callback`, which checks the answer, starts a session like a
//! password sign-in, and returns to the dashboard. Both are navigations, not API calls: they
//! answer with redirects, and a refused sign-in goes back to the sign-in page with the reason.

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use lemma_store::users::check_user_name;
use lemma_store::StoreError;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::oidc::{Flow, Oidc, OidcError, FLOW_TTL};
use crate::auth::session;
use crate::error::{ApiError, ErrorBody};
use crate::server::AppState;

/// Holds the sign-in in progress. SameSite=Lax: it must come back with the provider's redirect,
/// a top-level navigation from another site.
const FLOW_COOKIE: &str = "lemma_oidc";
const FLOW_PATH: &str = "/api/v1/auth/oidc";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(start))
        .routes(routes!(callback))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct StartQuery {
    /// The dashboard page to return to once signed in (a path of this server).
    next: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/auth/oidc/start",
    operation_id = "oidc_start",
    tag = "auth",
    security(()),
    params(StartQuery),
    responses(
        (status = 303, description = "To the identity provider's sign-in page, with a short-lived cookie holding the sign-in's state, nonce and PKCE verifier."),
        (status = 404, description = "The server signs no one in through OpenID Connect (no `--oidc-issuer`).", body = ErrorBody),
        (status = 503, description = "The identity provider's metadata could not be fetched.", body = ErrorBody),
    )
)]
async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<StartQuery>,
) -> Result<Response, ApiError> {
    let oidc = configured(&state)?;
    let next = safe_next(query.next.as_deref());
    let (url, flow) = oidc.begin(next).await.map_err(|e| {
        tracing::warn!(error = %e, "an OpenID Connect sign-in could not start");
        ApiError {
            retry_after: Some(10),
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "provider_unavailable",
                e.to_string(),
            )
        }
    })?;
    let value = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(&flow).unwrap_or_default());
    let mut response = see_other(&url);
    response.headers_mut().append(
        header::SET_COOKIE,
        flow_cookie(&headers, &value, FLOW_TTL.as_secs()),
    );
    Ok(response)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    /// Set instead of `code` when the provider did not sign the person in.
    error: Option<String>,
    error_description: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/auth/oidc/callback",
    operation_id = "oidc_callback",
    tag = "auth",
    security(()),
    params(CallbackQuery),
    responses(
        (status = 303, description = "Signed in: the session cookie is set and the browser goes back to the dashboard. Refused (a wrong state, a token that does not check out, an unknown user): back to the sign-in page, which shows why."),
        (status = 404, description = "The server signs no one in through OpenID Connect.", body = ErrorBody),
    )
)]
async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Result<Response, ApiError> {
    let oidc = configured(&state)?;
    let flow = session::cookie(&headers, FLOW_COOKIE).and_then(|value| decode_flow(&value));
    let next = flow
        .as_ref()
        .map(|f| f.next.clone())
        .unwrap_or_else(|| safe_next(None));
    let mut response = match sign_in(&state, oidc, &headers, flow, query).await {
        Ok(cookie) => {
            let mut response = see_other(&signin_page(&next, None));
            response.headers_mut().append(header::SET_COOKIE, cookie);
            response
        }
        Err(reason) => {
            tracing::info!(reason = %reason, "an OpenID Connect sign-in was refused");
            see_other(&signin_page(&next, Some(&reason)))
        }
    };
    // The sign-in is over either way: its state cannot be used twice.
    response
        .headers_mut()
        .append(header::SET_COOKIE, flow_cookie(&headers, "", 0));
    Ok(response)
}

/// The session cookie, or why there is none (said to the person signing in).
async fn sign_in(
    state: &AppState,
    oidc: &Oidc,
    headers: &HeaderMap,
    flow: Option<Flow>,
    query: CallbackQuery,
) -> Result<HeaderValue, String> {
    if let Some(error) = query.error {
        let detail = query.error_description.unwrap_or(error);
        return Err(format!(
            "The identity provider did not sign you in: {detail}"
        ));
    }
    let flow = flow.ok_or(
        "This sign-in expired or was started in another browser: sign in again.".to_string(),
    )?;
    let sent_state = query.state.unwrap_or_default();
    if !lemma_store::keys::hashes_equal(sent_state.as_bytes(), flow.state.as_bytes()) {
        return Err(
            "This sign-in does not match the one this browser started: sign in again.".into(),
        );
    }
    let code = query
        .code
        .ok_or("The identity provider sent no authorization code: sign in again.".to_string())?;
    let user = oidc.finish(&flow, code).await.map_err(|e| match e {
        OidcError::Refused(why) => why,
        OidcError::Provider(_) => {
            tracing::warn!(error = %e, "an OpenID Connect sign-in failed");
            format!("{e}. Try again in a moment.")
        }
    })?;
    let user = known_user(state, &user).await?;
    let (_, cookie) = crate::api::account::start_session(state, headers, &user)
        .await
        .map_err(|e| e.message)?;
    tracing::info!(user = %user, "signed in through OpenID Connect");
    Ok(cookie)
}

/// The user the provider named, created first with `--oidc-create-users`.
async fn known_user(state: &AppState, user: &str) -> Result<String, String> {
    check_user_name(user).map_err(|_| {
        format!(
            "{user:?} cannot be a Lemma user name (letters, digits, '.', '_', '-', '+' and '@'): \
             choose another --oidc-user-claim"
        )
    })?;
    let store_error = |e: StoreError| format!("The store did not answer: {e}. Try again.");
    if state
        .store
        .password_hash(user)
        .await
        .map_err(store_error)?
        .is_some()
    {
        return Ok(user.to_string());
    }
    let create = state.config.oidc.as_ref().is_some_and(|c| c.create_users);
    if !create {
        return Err(format!(
            "There is no Lemma user {user}: ask an administrator to create it \
             (lemma users create {user} --no-password)."
        ));
    }
    // Without a password: this person signs in through the provider only.
    match state.store.create_user(user, "").await {
        Ok(_) | Err(StoreError::Conflict(_)) => Ok(user.to_string()),
        Err(e) => Err(store_error(e)),
    }
}

fn configured(state: &AppState) -> Result<&Oidc, ApiError> {
    state.oidc.as_deref().ok_or_else(|| {
        ApiError::not_found(
            "this server signs no one in through OpenID Connect: start it with --oidc-issuer",
        )
    })
}

fn decode_flow(value: &str) -> Option<Flow> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(value)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// A path of this server's dashboard, never another site: `next` comes from a URL anyone can
/// craft. The sign-in page itself is not a destination.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.starts_with("/signin")
                && !path.chars().any(char::is_control) =>
        {
            path.to_string()
        }
        _ => "/runs".to_string(),
    }
}

/// The dashboard's sign-in page, which goes on to `next` once it finds the session, or shows
/// `reason`.
fn signin_page(next: &str, reason: Option<&str>) -> String {
    let mut query = openidconnect::url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("next", next);
    if let Some(reason) = reason {
        query.append_pair("reason", reason);
    }
    format!("/signin?{}", query.finish())
}

fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn flow_cookie(headers: &HeaderMap, value: &str, max_age_secs: u64) -> HeaderValue {
    let text =
        format!(
        "{FLOW_COOKIE}={value}; Path={FLOW_PATH}; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{}",
        if crate::api::account::over_tls(headers) { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_only_ever_a_page_of_this_server() {
        assert_eq!(safe_next(Some("/runs/abc?q=x")), "/runs/abc?q=x");
        for hostile in [
            "//evil.example/",
            "/\\evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            "/signin?next=//evil.example",
            "/runs\r\nSet-Cookie: x=1",
            "",
        ] {
            assert_eq!(safe_next(Some(hostile)), "/runs", "{hostile:?}");
        }
        assert_eq!(safe_next(None), "/runs");
    }

    #[test]
    fn the_flow_cookie_reads_back_and_refuses_anything_else() {
        let flow = Flow {
            state: "s".into(),
            nonce: "n".into(),
            verifier: "v".into(),
            next: "/threads".into(),
        };
        let value = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(&flow).unwrap());
        assert_eq!(decode_flow(&value), Some(flow));
        assert_eq!(decode_flow("not base64!"), None);
        assert_eq!(decode_flow("e30"), None); // {}
    }

    #[test]
    fn the_signin_page_carries_next_and_the_reason_encoded() {
        assert_eq!(
            signin_page("/runs?q=a b", Some("No & such")),
            "/signin?next=%2Fruns%3Fq%3Da+b&reason=No+%26+such"
        );
    }
}
