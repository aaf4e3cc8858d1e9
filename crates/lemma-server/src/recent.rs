//! What was looked up lately (the proxy's sessions and keys, projects' signal thresholds),
//! kept for `TTL` so a hot path costs no store read or API call: a session ended, a key
//! revoked or a threshold changed elsewhere takes effect within it.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const TTL: Duration = Duration::from_secs(5);
const MAX_ENTRIES: usize = 10_000;

pub struct Recent<K, V>(Mutex<HashMap<K, (V, Instant)>>);

impl<K, V> Default for Recent<K, V> {
    fn default() -> Self {
        Recent(Mutex::default())
    }
}

impl<K: Eq + Hash, V: Clone> Recent<K, V> {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, (V, Instant)>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The value put for `key` within `TTL`.
    pub fn get(&self, key: &K) -> Option<V> {
        self.lock()
            .get(key)
            .filter(|(_, at)| at.elapsed() < TTL)
            .map(|(value, _)| value.clone())
    }

    /// Keeps `value` for `key`; when full, the stale entries go (all of them, if none is).
    pub fn put(&self, key: K, value: V) {
        let mut map = self.lock();
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, (_, at)| at.elapsed() < TTL);
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert(key, (value, Instant::now()));
    }

    pub fn forget(&self, key: &K) {
        self.lock().remove(key);
    }
}
