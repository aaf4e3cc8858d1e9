//! Each project's effective price table (built-in prices and the project's overrides), cached
//! so ingest prices spans without a store query per batch. A change through this server's API
//! invalidates the project's entry at once; a change through another server sharing the store
//! (the ClickHouse store's scale-out) is read within `MAX_AGE`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lemma_core::pricing::PriceTable;
use lemma_store::{ProjectId, Store, StoreError};

pub struct PriceCache {
    store: Arc<dyn Store>,
    inner: Mutex<Cached>,
}

/// How long a table is used before it is read again.
pub const MAX_AGE: Duration = Duration::from_secs(5);

#[derive(Default)]
struct Cached {
    /// Bumped by every invalidation, so a table read before one is not cached after it.
    generation: u64,
    tables: HashMap<ProjectId, (Instant, Arc<PriceTable>)>,
}

impl PriceCache {
    pub fn new(store: Arc<dyn Store>) -> PriceCache {
        PriceCache {
            store,
            inner: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cached> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The project's effective table; reads the store on the first call after a change, and
    /// once `MAX_AGE` passed.
    pub async fn table(&self, project: ProjectId) -> Result<Arc<PriceTable>, StoreError> {
        let generation = {
            let cached = self.lock();
            if let Some((read, table)) = cached.tables.get(&project) {
                if read.elapsed() < MAX_AGE {
                    return Ok(table.clone());
                }
            }
            cached.generation
        };
        let read = Instant::now();
        let overrides = self.store.list_prices(project).await?;
        let table = Arc::new(PriceTable::with_overrides(
            overrides.iter().map(|o| (o.model.as_str(), o.price)),
        ));
        let mut cached = self.lock();
        if cached.generation == generation {
            cached.tables.insert(project, (read, table.clone()));
        }
        Ok(table)
    }

    /// Call after the project's overrides changed.
    pub fn invalidate(&self, project: ProjectId) {
        let mut cached = self.lock();
        cached.generation += 1;
        cached.tables.remove(&project);
    }
}
