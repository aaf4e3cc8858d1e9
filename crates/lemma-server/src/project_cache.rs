//! A value per project read from the store (a price table, redaction rules) and kept for
//! `MAX_AGE`, so ingest does not query the store per batch. A change through this server's
//! API invalidates the project's entry at once; a change through another server sharing the
//! store (the ClickHouse store's scale-out) is read within `MAX_AGE`.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lemma_store::{ProjectId, StoreError};

/// How long a value is used before it is read again.
pub const MAX_AGE: Duration = Duration::from_secs(5);

pub struct ProjectCache<T> {
    inner: Mutex<Cached<T>>,
}

struct Cached<T> {
    /// Bumped by every invalidation, so a value read before one is not cached after it.
    generation: u64,
    values: HashMap<ProjectId, (Instant, Arc<T>)>,
}

impl<T> Default for ProjectCache<T> {
    fn default() -> Self {
        ProjectCache {
            inner: Mutex::new(Cached {
                generation: 0,
                values: HashMap::new(),
            }),
        }
    }
}

impl<T> ProjectCache<T> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Cached<T>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The project's value: cached, or read with `load` on the first call after a change and
    /// once `MAX_AGE` passed.
    pub async fn get<F, Fut>(&self, project: ProjectId, load: F) -> Result<Arc<T>, StoreError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        let generation = {
            let cached = self.lock();
            if let Some((read, value)) = cached.values.get(&project) {
                if read.elapsed() < MAX_AGE {
                    return Ok(value.clone());
                }
            }
            cached.generation
        };
        let read = Instant::now();
        let value = Arc::new(load().await?);
        let mut cached = self.lock();
        if cached.generation == generation {
            cached.values.insert(project, (read, value.clone()));
        }
        Ok(value)
    }

    /// Call after the project's value changed in the store.
    pub fn invalidate(&self, project: ProjectId) {
        let mut cached = self.lock();
        cached.generation += 1;
        cached.values.remove(&project);
    }
}
