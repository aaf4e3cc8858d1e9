//! People who sign in to the dashboard: accounts (passwords hashed with Argon2id), their role
//! in each project, and their sessions. Stores keep what is here; hashing and checking
//! passwords happen here, once for every store.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Project, Result, StoreError};

/// What a person may do in a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads runs, threads, stats and settings.
    Viewer,
    /// Also sends metric events (feedback, scores) and deletes runs.
    Member,
    /// Also changes the project's settings, prices, keys and members.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Member, Role::Admin];

    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Member => "member",
            Role::Admin => "admin",
        }
    }

    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name() == name)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    pub name: String,
    pub created_at_unix_nano: u64,
}

/// A project a user belongs to, with their role in it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Membership {
    pub project: Project,
    pub role: Role,
}

/// A user of a project, with their role in it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Member {
    pub user: String,
    pub role: Role,
}

/// A signed-in browser. Stores keep it under the SHA-256 of its token, never the token.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub user: String,
    /// Sent back in `X-CSRF-Token` by every request that changes something.
    pub csrf: String,
    pub created_at_unix_nano: u64,
    pub expires_at_unix_nano: u64,
}

/// 1 to 128 of letters, digits, `.`, `_`, `-`, `+` and `@` (an email address fits).
pub fn check_user_name(name: &str) -> Result<&str> {
    let valid = (1..=128).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '@'));
    if valid {
        Ok(name)
    } else {
        Err(StoreError::Invalid(format!(
            "a user name is 1 to 128 of letters, digits, '.', '_', '-', '+' and '@', not {name:?}"
        )))
    }
}

/// Passwords of at least this many characters are taken.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// An Argon2id hash of the password (PHC string, salt included), or `Invalid` for one too short.
pub fn hash_password(password: &str) -> Result<String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(StoreError::Invalid(format!(
            "a password has at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| StoreError::Backend(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Backend(format!("hashing a password: {e}")))
}

/// Whether the password is the one `hash` was made from.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A new session token (what the cookie holds) and CSRF token, both random.
pub fn new_tokens() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    rand::rng().fill_bytes(&mut bytes);
    (token, hex::encode(bytes))
}

/// What a store keeps of a session token.
pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterY", &hash));
        assert!(!verify_password("correct horse battery", "not a hash"));
        assert_ne!(
            hash,
            hash_password("correct horse battery").unwrap(),
            "salted"
        );
        assert!(matches!(
            hash_password("short"),
            Err(StoreError::Invalid(_))
        ));
    }

    #[test]
    fn user_names() {
        for ok in [
            "ada",
            "ada.lovelace+lemma@example.com",
            "a-b_c.9",
            &"x".repeat(128),
        ] {
            assert!(check_user_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a b", "ada;drop", "auth0|42", &"x".repeat(129)] {
            assert!(check_user_name(bad).is_err(), "{bad}");
        }
    }
}
