//! Dashboard sessions: a signed-in person's cookie, checked like a key. The cookie is
//! HttpOnly and SameSite=Strict, and every request that changes something must also carry the
//! session's CSRF token in `X-CSRF-Token`, which a page of another origin cannot read. The
//! project is named per request (`X-Lemma-Project`), so one person can work in several.
//!
//! Sessions and roles are read from the store and kept for `CACHE_TTL`: a sign-out or a role
//! change through this server applies at once, through another server sharing the store
//! within that time.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, Method};
use lemma_store::users::hash_token;
use lemma_store::{Membership, Project, Session, Store};

use super::access::{self, Access};
use crate::error::ApiError;

pub const COOKIE: &str = "lemma_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
pub const PROJECT_HEADER: &str = "x-lemma-project";
/// How long a session lasts after sign-in.
pub const SESSION_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
pub const CACHE_TTL: Duration = Duration::from_secs(5);
const MAX_ENTRIES: usize = 10_000;

/// The session token in the request's cookies.
pub fn token(headers: &HeaderMap) -> Option<String> {
    cookie(headers, COOKIE)
}

/// The value of the request's cookie `name`, if it has one that is not empty.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// A signed-in person: their session and their projects.
#[derive(Clone)]
pub struct SignedIn {
    pub session: Session,
    pub memberships: Vec<Membership>,
}

#[derive(Default)]
pub struct Sessions {
    cache: Mutex<HashMap<Vec<u8>, (SignedIn, Instant)>>,
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Vec<u8>, (SignedIn, Instant)>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The live session of this token, with the user's projects; `None` when there is none.
    pub async fn get(&self, store: &dyn Store, token: &str) -> Result<Option<SignedIn>, ApiError> {
        let hash = hash_token(token);
        if let Some((signed_in, at)) = self.lock().get(&hash) {
            if at.elapsed() < CACHE_TTL && signed_in.session.expires_at_unix_nano > now() {
                return Ok(Some(signed_in.clone()));
            }
        }
        let Some(session) = store.session(&hash, now()).await? else {
            self.lock().remove(&hash);
            return Ok(None);
        };
        let memberships = store.memberships(&session.user).await?;
        let signed_in = SignedIn {
            session,
            memberships,
        };
        let mut cache = self.lock();
        if cache.len() >= MAX_ENTRIES {
            cache.clear();
        }
        cache.insert(hash, (signed_in.clone(), Instant::now()));
        Ok(Some(signed_in))
    }

    /// Forgets what is kept: a sign-out, or roles changed through this server.
    pub fn forget_all(&self) {
        self.lock().clear();
    }
}

fn now() -> u64 {
    crate::api::now_unix_nano()
}

/// The project a signed-in request acts on, if the person's role there allows `access`.
pub fn authorize(
    signed_in: &SignedIn,
    headers: &HeaderMap,
    method: &Method,
    access: Access,
) -> Result<Project, ApiError> {
    if !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        let sent = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        let expected = signed_in.session.csrf.as_bytes();
        if !sent.is_some_and(|s| lemma_store::keys::hashes_equal(s.as_bytes(), expected)) {
            return Err(ApiError::forbidden(
                "missing or wrong X-CSRF-Token: a signed-in request that changes something \
                 sends the csrf_token its sign-in answered",
            ));
        }
    }
    let named = headers.get(PROJECT_HEADER).and_then(|v| v.to_str().ok());
    let membership = match named {
        Some(name) => signed_in
            .memberships
            .iter()
            .find(|m| m.project.name == name)
            .ok_or_else(|| {
                ApiError::forbidden(format!(
                    "{} is not a member of project {name:?}",
                    signed_in.session.user
                ))
            })?,
        None => match signed_in.memberships.as_slice() {
            [only] => only,
            [] => {
                return Err(ApiError::forbidden(format!(
                    "{} is not a member of any project: an admin adds them with `lemma users \
                     grant {} --project NAME --role viewer`",
                    signed_in.session.user, signed_in.session.user
                )))
            }
            _ => {
                return Err(ApiError::bad_request(
                    "you belong to several projects: name one in the X-Lemma-Project header",
                ))
            }
        },
    };
    if !access::role_allows(membership.role, access) {
        return Err(ApiError::forbidden(format!(
            "{} is a {} of project {:?}: that role cannot make this request ({} access needed)",
            signed_in.session.user,
            membership.role.name(),
            membership.project.name,
            access.name()
        )));
    }
    Ok(membership.project.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            axum::http::header::COOKIE,
            HeaderValue::from_static("theme=dark; lemma_session=abc123; other=1"),
        );
        assert_eq!(token(&headers).as_deref(), Some("abc123"));
        headers.insert(
            axum::http::header::COOKIE,
            HeaderValue::from_static("lemma_session="),
        );
        assert_eq!(token(&headers), None);
    }
}
