//! API-key authentication: `Authorization: Bearer KEY`, `x-api-key: KEY`, or
//! `Authorization: Basic base64(public_key:secret)` as the Langfuse SDKs send; then whether
//! the key's scope allows what the request does (`access`).

pub mod access;
pub mod oidc;
pub mod session;
pub mod throttle;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use lemma_store::{Credential, KeyGrant, Store};

use access::Access;

use crate::error::ApiError;
use crate::server::AppState;

const HOW: &str = "send an API key as 'Authorization: Bearer <key>' or 'x-api-key: <key>' \
                   (or Basic auth with the public key as user name and the key as password)";

/// The credential a request presents, from HTTP headers or gRPC metadata values.
pub fn credential(
    authorization: Option<&str>,
    api_key: Option<&str>,
) -> Result<Credential, ApiError> {
    if let Some(key) = api_key.map(str::trim).filter(|k| !k.is_empty()) {
        return Ok(Credential::Key(key.to_string()));
    }
    let Some(value) = authorization.map(str::trim) else {
        return Err(ApiError::unauthorized(format!("missing API key: {HOW}")));
    };
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
        return Ok(Credential::Key(rest.to_string()));
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        if let Some((public_key, secret)) = decoded.as_deref().and_then(|d| d.split_once(':')) {
            return Ok(Credential::Basic {
                public_key: public_key.to_string(),
                secret: secret.to_string(),
            });
        }
        return Err(ApiError::unauthorized(format!(
            "malformed Basic credentials: {HOW}"
        )));
    }
    Err(ApiError::unauthorized(format!(
        "unsupported Authorization scheme: {HOW}"
    )))
}

pub async fn authenticate(
    store: &dyn Store,
    credential: &Credential,
) -> Result<KeyGrant, ApiError> {
    if let Some(grant) = store.authenticate(credential).await? {
        return Ok(grant);
    }
    let Credential::Basic { public_key, secret } = credential else {
        return Err(ApiError::unauthorized(format!(
            "invalid or revoked API key: {HOW}"
        )));
    };
    // Basic auth carries two parts: say which one is wrong. The secret alone proves the key.
    let secret_works = store
        .authenticate(&Credential::Key(secret.clone()))
        .await?
        .is_some();
    Err(ApiError::unauthorized(if secret_works {
        format!(
            "the public key {public_key:?} (the Basic user name) is not this secret key's: \
             use the public key `lemma keys list` shows for it, or {HOW}"
        )
    } else {
        format!("the secret key (the Basic password) is invalid or revoked: {HOW}")
    }))
}

pub async fn from_headers(store: &dyn Store, headers: &HeaderMap) -> Result<KeyGrant, ApiError> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let cred = credential(get("authorization"), get("x-api-key"))?;
    authenticate(store, &cred).await
}

/// 403 unless the key's scope allows `access`, saying which scope would.
pub fn check(grant: &KeyGrant, access: Access) -> Result<(), ApiError> {
    if access::scope_allows(grant.scope, access) {
        return Ok(());
    }
    let needed = match access {
        Access::Identify => "any key",
        Access::Ingest => "an ingest or admin key",
        Access::Read => "a read or admin key",
        Access::Check => "an ingest, read or admin key",
        Access::Write | Access::Admin => "an admin key",
    };
    Err(ApiError::forbidden(format!(
        "this is {} key of project {:?}: it cannot {} ({} access); use {needed} \
         (`lemma keys create --project {:?} --scope ...`)",
        match grant.scope.name() {
            "admin" => "an admin".to_string(),
            "ingest" => "an ingest".to_string(),
            other => format!("a {other}"),
        },
        grant.project.name,
        match access {
            Access::Identify => "name its project",
            Access::Ingest => "send data",
            Access::Read => "read data",
            Access::Check => "read a run's signals",
            Access::Write => "delete data",
            Access::Admin => "change the project's settings or keys",
        },
        access.name(),
        grant.project.name,
    )))
}

/// Middleware in front of every route that takes a key: authenticates from the headers alone,
/// before any handler or extractor reads the body, checks the key's scope allows the route
/// (`access::required`), and hands the key's project to the handler as a request extension
/// (`Extension<Project>`). A refusal is 401 with how to send a key, or 403 with the scope
/// needed.
pub async fn require_project(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.extensions().get::<MatchedPath>().map_or_else(
        || request.uri().path().to_string(),
        |p| p.as_str().to_string(),
    );
    let access = access::required(request.method(), &path);
    match grant_for(&state, request.headers(), request.method(), access).await {
        Ok(project) => {
            request.extensions_mut().insert(project);
            next.run(request).await
        }
        Err(refused) if refused.status == axum::http::StatusCode::UNAUTHORIZED => {
            let mut response = refused.into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"lemma\""),
            );
            response
        }
        Err(refused) => refused.into_response(),
    }
}

/// The project a request acts on: its key's, or (with no key, a session cookie) the one the
/// signed-in person names, if their role there allows `access`.
async fn grant_for(
    state: &AppState,
    headers: &HeaderMap,
    method: &axum::http::Method,
    access: Access,
) -> Result<lemma_store::Project, ApiError> {
    let has_key = headers.contains_key(header::AUTHORIZATION) || headers.contains_key("x-api-key");
    if !has_key {
        if let Some(token) = session::token(headers) {
            let signed_in = state
                .sessions
                .get(state.store.as_ref(), &token)
                .await?
                .ok_or_else(|| {
                    ApiError::unauthorized("your session has expired or was ended: sign in again")
                })?;
            return session::authorize(&signed_in, headers, method, access);
        }
    }
    let grant = from_headers(state.store.as_ref(), headers).await?;
    check(&grant, access)?;
    Ok(grant.project)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_forms() {
        assert_eq!(
            credential(Some("Bearer abc"), None).unwrap(),
            Credential::Key("abc".into())
        );
        assert_eq!(
            credential(None, Some("k")).unwrap(),
            Credential::Key("k".into())
        );
        let basic = base64::engine::general_purpose::STANDARD.encode("pk-lm-x:lm_secret");
        assert_eq!(
            credential(Some(&format!("Basic {basic}")), None).unwrap(),
            Credential::Basic {
                public_key: "pk-lm-x".into(),
                secret: "lm_secret".into()
            }
        );
        assert!(credential(None, None).is_err());
        assert!(credential(Some("Bearer "), None).is_err());
        assert!(credential(Some("Basic !!!"), None).is_err());
        assert!(credential(Some("Token x"), None).is_err());
    }
}
