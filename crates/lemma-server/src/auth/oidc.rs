//! Signing in through an OpenID Connect provider (Okta, Entra ID, Google, Keycloak, ...): the
//! authorization code flow with PKCE and a nonce. The `openidconnect` crate does the protocol
//! (discovery, the code exchange, the ID token's signature, issuer, audience, expiry and nonce);
//! this module keeps the provider's metadata and decides which Lemma user an ID token names.
//!
//! The flow keeps no state on the server: what the callback must check (state, nonce, PKCE
//! verifier, where to go next) travels in a short-lived HttpOnly cookie, so any of several
//! servers sharing a store can finish a sign-in another one started.

use std::sync::Arc;
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdTokenClaims, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, SubjectIdentifier, TokenResponse,
};
use serde::{Deserialize, Serialize};

use crate::config::{OidcConfig, UserClaim};

/// The provider's metadata and keys are fetched again after this long, so a key rotation is
/// picked up; an ID token signed with a key not yet seen also fetches them (at most once per
/// `REFETCH_GAP`).
const METADATA_TTL: Duration = Duration::from_secs(3600);
const REFETCH_GAP: Duration = Duration::from_secs(30);
/// Each request to the provider (discovery, keys, the code exchange).
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a person may take at the provider before the callback is refused.
pub const FLOW_TTL: Duration = Duration::from_secs(600);

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// What a sign-in in progress must remember until the callback (kept in the flow cookie).
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Flow {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    /// The dashboard page to return to.
    pub next: String,
}

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The provider could not be reached or answered wrongly: worth trying again later.
    #[error("the identity provider did not answer as expected: {0}")]
    Provider(String),
    /// This sign-in cannot succeed: the message says why, for the person signing in.
    #[error("{0}")]
    Refused(String),
}

pub struct Oidc {
    config: OidcConfig,
    http: openidconnect::reqwest::Client,
    provider: tokio::sync::Mutex<Option<(Arc<Client>, Instant)>>,
}

impl Oidc {
    pub fn new(config: OidcConfig) -> anyhow::Result<Oidc> {
        let http = openidconnect::reqwest::Client::builder()
            // Following redirects would let a provider's answer send the server elsewhere.
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(PROVIDER_TIMEOUT)
            .build()?;
        // Checked now, so a typo fails the start rather than the first sign-in.
        IssuerUrl::new(config.issuer.clone())?;
        RedirectUrl::new(config.redirect_url.clone())?;
        Ok(Oidc {
            config,
            http,
            provider: tokio::sync::Mutex::new(None),
        })
    }

    /// What the sign-in button says.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// The provider's client: discovered on first use, then kept for `METADATA_TTL`. With
    /// `fresh`, fetched again unless it was fetched within `REFETCH_GAP`.
    async fn client(&self, fresh: bool) -> Result<Arc<Client>, OidcError> {
        let mut held = self.provider.lock().await;
        if let Some((client, at)) = held.as_ref() {
            let gap = if fresh { REFETCH_GAP } else { METADATA_TTL };
            if at.elapsed() < gap {
                return Ok(client.clone());
            }
        }
        let issuer = IssuerUrl::new(self.config.issuer.clone())
            .map_err(|e| OidcError::Provider(e.to_string()))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| {
                OidcError::Provider(format!(
                    "discovery at {} failed: {}",
                    self.config.issuer,
                    chain(&e)
                ))
            })?;
        let redirect = RedirectUrl::new(self.config.redirect_url.clone())
            .map_err(|e| OidcError::Provider(e.to_string()))?;
        let client = Arc::new(
            CoreClient::from_provider_metadata(
                metadata,
                ClientId::new(self.config.client_id.clone()),
                self.config.client_secret.clone().map(ClientSecret::new),
            )
            .set_redirect_uri(redirect),
        );
        *held = Some((client.clone(), Instant::now()));
        Ok(client)
    }

    /// Where to send the browser, and what to remember until it comes back.
    pub async fn begin(&self, next: String) -> Result<(String, Flow), OidcError> {
        let client = self.client(false).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in self.config.user_claim.scopes() {
            request = request.add_scope(Scope::new(scope.to_string()));
        }
        let (url, state, nonce) = request.url();
        let flow = Flow {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            verifier: verifier.secret().clone(),
            next,
        };
        Ok((url.to_string(), flow))
    }

    /// Exchanges the callback's code for an ID token, checks it, and says which user it names.
    pub async fn finish(&self, flow: &Flow, code: String) -> Result<String, OidcError> {
        let client = self.client(false).await?;
        let token = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| OidcError::Provider(format!("no token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(flow.verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| match &e {
                openidconnect::RequestTokenError::ServerResponse(answer) => OidcError::Refused(
                    format!("the identity provider refused the sign-in: {answer}"),
                ),
                _ => OidcError::Provider(format!("the code exchange failed: {}", chain(&e))),
            })?;
        let id_token = token
            .id_token()
            .ok_or_else(|| OidcError::Provider("its answer has no ID token".into()))?;
        let nonce = Nonce::new(flow.nonce.clone());
        let mut identity = match id_token.claims(&client.id_token_verifier(), &nonce) {
            Ok(claims) => Identity::of_id_token(claims),
            Err(openidconnect::ClaimsVerificationError::SignatureVerification(_)) => {
                // Perhaps a key the provider rotated in since the metadata was fetched.
                let client = self.client(true).await?;
                let verifier = client.id_token_verifier();
                let claims = id_token
                    .claims(&verifier, &nonce)
                    .map_err(|e| refused_token(&e))?;
                Identity::of_id_token(claims)
            }
            Err(e) => return Err(refused_token(&e)),
        };
        // Many providers put profile claims in the ID token only when no access token is
        // issued; the rest are at the userinfo endpoint, for the same subject.
        if !identity.names(self.config.user_claim) {
            let subject = SubjectIdentifier::new(identity.subject.clone());
            if let Ok(request) = client.user_info(token.access_token().clone(), Some(subject)) {
                let info: CoreUserInfoClaims =
                    request.request_async(&self.http).await.map_err(|e| {
                        OidcError::Provider(format!("its userinfo failed: {}", chain(&e)))
                    })?;
                identity.add_user_info(&info);
            }
        }
        identity.user_name(self.config.user_claim)
    }
}

fn refused_token(e: &openidconnect::ClaimsVerificationError) -> OidcError {
    OidcError::Refused(format!("the ID token did not check out: {}", chain(e)))
}

/// What the provider said about the person: from the checked ID token, completed from the
/// userinfo endpoint.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Identity {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub preferred_username: Option<String>,
}

impl Identity {
    fn of_id_token(claims: &CoreIdTokenClaims) -> Identity {
        Identity {
            subject: claims.subject().to_string(),
            email: claims.email().map(|e| e.to_string()),
            email_verified: claims.email_verified(),
            preferred_username: claims.preferred_username().map(|n| n.to_string()),
        }
    }

    fn add_user_info(&mut self, info: &CoreUserInfoClaims) {
        if self.email.is_none() {
            self.email = info.email().map(|e| e.to_string());
            self.email_verified = info.email_verified();
        }
        if self.preferred_username.is_none() {
            self.preferred_username = info.preferred_username().map(|n| n.to_string());
        }
    }

    /// Whether the claim that names the user is here.
    fn names(&self, claim: UserClaim) -> bool {
        match claim {
            UserClaim::Email => self.email.is_some(),
            UserClaim::PreferredUsername => self.preferred_username.is_some(),
            UserClaim::Subject => true,
        }
    }

    /// The Lemma user this is, by the configured claim. An email address counts only when
    /// the provider says it verified it; emails are compared in lower case.
    pub fn user_name(&self, claim: UserClaim) -> Result<String, OidcError> {
        let missing = |what: &str| {
            OidcError::Refused(format!(
                "The identity provider did not say the account's {what}: ask its administrator \
                 to share that claim, or start Lemma with another --oidc-user-claim."
            ))
        };
        match claim {
            UserClaim::Email => {
                let email = self.email.as_deref().ok_or_else(|| missing("email"))?;
                if self.email_verified != Some(true) {
                    return Err(OidcError::Refused(format!(
                        "The identity provider has not verified the email address {email}."
                    )));
                }
                Ok(email.to_lowercase())
            }
            UserClaim::PreferredUsername => self
                .preferred_username
                .clone()
                .ok_or_else(|| missing("preferred_username")),
            UserClaim::Subject => Ok(self.subject.clone()),
        }
    }
}

/// An error with its causes, for a message that says what actually went wrong.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(source) = cause {
        text.push_str(": ");
        text.push_str(&source.to_string());
        cause = source.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person() -> Identity {
        Identity {
            subject: "00u1".into(),
            email: Some("Ada.Lovelace@Example.com".into()),
            email_verified: Some(true),
            preferred_username: Some("ada".into()),
        }
    }

    #[test]
    fn the_configured_claim_names_the_user() {
        assert_eq!(
            person().user_name(UserClaim::Email).unwrap(),
            "ada.lovelace@example.com"
        );
        assert_eq!(
            person().user_name(UserClaim::PreferredUsername).unwrap(),
            "ada"
        );
        assert_eq!(person().user_name(UserClaim::Subject).unwrap(), "00u1");
    }

    #[test]
    fn an_unverified_or_missing_email_names_no_one() {
        for verified in [None, Some(false)] {
            let identity = Identity {
                email_verified: verified,
                ..person()
            };
            let Err(OidcError::Refused(why)) = identity.user_name(UserClaim::Email) else {
                panic!("an unverified email was taken ({verified:?})");
            };
            assert!(why.contains("not verified"), "{why}");
        }
        let identity = Identity {
            email: None,
            preferred_username: None,
            ..person()
        };
        for claim in [UserClaim::Email, UserClaim::PreferredUsername] {
            let Err(OidcError::Refused(why)) = identity.user_name(claim) else {
                panic!("a missing claim was taken");
            };
            assert!(why.contains("--oidc-user-claim"), "{why}");
        }
        assert!(!identity.names(UserClaim::Email));
        assert!(identity.names(UserClaim::Subject));
    }
}
