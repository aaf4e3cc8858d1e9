//! API key material: generation and hashing, the same for every store.
//!
//! A key is a secret string; only its SHA-256 is stored (keys are random and long, so a slow
//! password hash buys nothing). Each key also has a public key naming it, which Langfuse-style
//! clients send as the Basic-auth user name.

use rand::distr::{Alphanumeric, SampleString};
use sha2::{Digest, Sha256};

pub const SECRET_PREFIX: &str = "lm_";
pub const PUBLIC_PREFIX: &str = "pk-lm-";

pub fn generate_secret() -> String {
    format!(
        "{SECRET_PREFIX}{}",
        Alphanumeric.sample_string(&mut rand::rng(), 40)
    )
}

pub fn generate_public_key() -> String {
    format!(
        "{PUBLIC_PREFIX}{}",
        Alphanumeric
            .sample_string(&mut rand::rng(), 16)
            .to_lowercase()
    )
}

pub fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// What `keys list` shows of a secret.
pub fn hint(secret: &str) -> String {
    let shown: String = secret.chars().take(7).collect();
    format!("{shown}…")
}

/// Compares two hashes in time independent of where they differ.
pub fn hashes_equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_unique_and_hashed() {
        let (a, b) = (generate_secret(), generate_secret());
        assert_ne!(a, b);
        assert!(a.starts_with(SECRET_PREFIX) && a.len() == 43);
        assert!(hashes_equal(&hash_secret(&a), &hash_secret(&a)));
        assert!(!hashes_equal(&hash_secret(&a), &hash_secret(&b)));
        assert!(generate_public_key().starts_with(PUBLIC_PREFIX));
    }
}
