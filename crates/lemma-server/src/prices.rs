//! Each project's effective price table (built-in prices and the project's overrides), cached
//! (`ProjectCache`) so ingest prices spans without a store query per batch.

use std::sync::Arc;

use lemma_core::pricing::PriceTable;
use lemma_store::{ProjectId, Store, StoreError};

use crate::project_cache::ProjectCache;

pub struct PriceCache {
    store: Arc<dyn Store>,
    tables: ProjectCache<PriceTable>,
}

impl PriceCache {
    pub fn new(store: Arc<dyn Store>) -> PriceCache {
        PriceCache {
            store,
            tables: ProjectCache::default(),
        }
    }

    /// The project's effective table.
    pub async fn table(&self, project: ProjectId) -> Result<Arc<PriceTable>, StoreError> {
        self.tables
            .get(project, || async {
                let overrides = self.store.list_prices(project).await?;
                Ok(PriceTable::with_overrides(
                    overrides.iter().map(|o| (o.model.as_str(), o.price)),
                ))
            })
            .await
    }

    /// Call after the project's overrides changed.
    pub fn invalidate(&self, project: ProjectId) {
        self.tables.invalidate(project);
    }
}
