//! Credentials that authenticated recently, so a request costs no ClickHouse round trip for
//! its key. An entry lives [`KEY_CACHE_TTL`]: a key revoked through another Lemma server stops
//! working within that time, and through this server at once (any change to keys clears the
//! cache). Only successes are kept, so a key created elsewhere works at its first request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::{Credential, KeyGrant};

/// How long a successful authentication is trusted without asking ClickHouse again.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(5);

/// Entries kept at most; past that the cache starts over (it refills from ClickHouse).
const MAX_ENTRIES: usize = 10_000;

#[derive(Default)]
pub(super) struct KeyCache {
    entries: Mutex<HashMap<[u8; 32], (KeyGrant, Instant)>>,
}

/// The cache key of a credential: a digest of everything in it, never the secret itself.
fn digest(credential: &Credential) -> [u8; 32] {
    let mut h = Sha256::new();
    match credential {
        Credential::Key(secret) => {
            h.update(b"key\0");
            h.update(secret.as_bytes());
        }
        Credential::Basic { public_key, secret } => {
            h.update(b"basic\0");
            h.update(public_key.as_bytes());
            h.update(b"\0");
            h.update(secret.as_bytes());
        }
    }
    h.finalize().into()
}

impl KeyCache {
    pub fn get(&self, credential: &Credential) -> Option<KeyGrant> {
        self.get_at(credential, Instant::now())
    }

    fn get_at(&self, credential: &Credential, now: Instant) -> Option<KeyGrant> {
        let entries = self.entries.lock().expect("key cache lock");
        let (project, at) = entries.get(&digest(credential))?;
        (now.saturating_duration_since(*at) < KEY_CACHE_TTL).then(|| project.clone())
    }

    pub fn put(&self, credential: &Credential, project: KeyGrant) {
        let mut entries = self.entries.lock().expect("key cache lock");
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(digest(credential), (project, Instant::now()));
    }

    /// Forgets every entry: a key changed through this server.
    pub fn clear(&self) {
        self.entries.lock().expect("key cache lock").clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ProjectId;

    fn project() -> KeyGrant {
        KeyGrant {
            project: crate::Project {
                id: ProjectId(1),
                name: "default".into(),
                created_at_unix_nano: 0,
            },
            scope: crate::KeyScope::Read,
        }
    }

    #[test]
    fn an_entry_holds_for_its_credential_until_it_expires_or_is_cleared() {
        let cache = KeyCache::default();
        let key = Credential::Key("lm_secret".into());
        let basic = Credential::Basic {
            public_key: "pk".into(),
            secret: "lm_secret".into(),
        };
        assert!(cache.get(&key).is_none());
        cache.put(&key, project());
        assert_eq!(cache.get(&key).map(|g| g.project.id), Some(ProjectId(1)));
        assert!(cache.get(&basic).is_none(), "another credential");
        assert!(cache.get_at(&key, Instant::now() + KEY_CACHE_TTL).is_none());
        cache.clear();
        assert!(cache.get(&key).is_none());
    }
}
