//! The retention pass: runs that started longer ago than their project keeps runs
//! (`Store::retention`) are deleted, with their spans, metric events and log records, as
//! `DELETE /api/v1/runs/{id}` deletes one. It runs at start and then every interval.

use std::sync::Arc;
use std::time::Duration;

use lemma_core::query;
use lemma_store::{ListQuery, Project, Store, MAX_LIMIT};

/// Runs the pass every `interval`, forever.
pub async fn run(store: Arc<dyn Store>, interval: Duration) {
    loop {
        if let Err(e) = pass(store.as_ref(), crate::api::now_unix_nano()).await {
            tracing::warn!(error = %e, "the retention pass failed; it runs again later");
        }
        tokio::time::sleep(interval).await;
    }
}

/// One pass over every project with a retention; returns how many runs it deleted.
pub async fn pass(store: &dyn Store, now: u64) -> lemma_store::Result<u64> {
    let mut deleted = 0;
    for project in store.list_projects().await? {
        if let Some(days) = store.retention(project.id).await? {
            deleted += expire(store, &project, days, now).await?;
        }
    }
    Ok(deleted)
}

/// Deletes the project's runs that started before `now` less `days`.
async fn expire(
    store: &dyn Store,
    project: &Project,
    days: u32,
    now: u64,
) -> lemma_store::Result<u64> {
    let cutoff = now.saturating_sub(days as u64 * 86_400 * 1_000_000_000);
    let filter = query::parse(&format!("until:{}", crate::api::iso(cutoff)), now)
        .map_err(|e| lemma_store::StoreError::Invalid(e.message))?;
    let mut deleted = 0;
    // Always the first page: what was deleted is gone from it.
    loop {
        let page = store
            .list_runs(
                project.id,
                ListQuery {
                    filter: filter.clone(),
                    limit: MAX_LIMIT,
                    ..ListQuery::default()
                },
            )
            .await?;
        let before = deleted;
        for run in &page.items {
            if store.delete_run(project.id, &run.run_id).await? {
                deleted += 1;
            }
        }
        // An empty page, or one whose runs were all gone already: nothing is left to delete.
        if deleted == before {
            break;
        }
    }
    if deleted > 0 {
        tracing::info!(project = %project.name, days, runs = deleted, "retention deleted old runs");
    }
    Ok(deleted)
}
