//! Redaction at ingest: each project's compiled rules (cached like price tables), and the
//! counts of what they redacted, added up in memory and written to the store every
//! `FLUSH_EVERY` and at shutdown. Counts are statistics, not data: a server killed outright
//! loses at most the last interval's, never a span.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lemma_core::redact::{Redactor, Tally};
use lemma_store::{ProjectId, RedactionCount, Store, StoreError};

use crate::project_cache::ProjectCache;

pub const FLUSH_EVERY: Duration = Duration::from_secs(10);
const NANOS_PER_DAY: u64 = 86_400 * 1_000_000_000;

pub struct Redaction {
    store: Arc<dyn Store>,
    rules: ProjectCache<Option<Redactor>>,
    /// Counts not yet written, by project and day.
    pending: Mutex<HashMap<(ProjectId, u32), Tally>>,
}

/// Days since 1970-01-01 at `unix_nano`.
pub fn day_of(unix_nano: u64) -> u32 {
    (unix_nano / NANOS_PER_DAY) as u32
}

impl Redaction {
    pub fn new(store: Arc<dyn Store>) -> Redaction {
        Redaction {
            store,
            rules: ProjectCache::default(),
            pending: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(ProjectId, u32), Tally>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The project's compiled rules; `None` inside when it has none.
    pub async fn redactor(&self, project: ProjectId) -> Result<Arc<Option<Redactor>>, StoreError> {
        self.rules
            .get(project, || async {
                let rules = self.store.redaction(project).await?;
                // Stored rules were checked when set; failing here fails ingest rather than
                // storing what the project asked to remove.
                Redactor::new(&rules).map_err(StoreError::Backend)
            })
            .await
    }

    /// Call after the project's rules changed.
    pub fn invalidate(&self, project: ProjectId) {
        self.rules.invalidate(project);
    }

    /// Adds what one request's redaction did, once its data is stored.
    pub fn count(&self, project: ProjectId, tally: Tally) {
        if !tally.is_empty() {
            let day = day_of(crate::api::now_unix_nano());
            self.lock().entry((project, day)).or_default().merge(tally);
        }
    }

    /// Writes the pending counts; what fails to be written stays pending for the next flush.
    pub async fn flush(&self) {
        let pending = std::mem::take(&mut *self.lock());
        for ((project, day), tally) in pending {
            let counts: Vec<(String, u64)> =
                tally.iter().map(|(r, n)| (r.to_string(), n)).collect();
            if let Err(e) = self.store.record_redactions(project, day, &counts).await {
                tracing::warn!(error = %e, "writing redaction counts failed; retrying later");
                self.lock().entry((project, day)).or_default().merge(tally);
            }
        }
    }

    /// The project's counts from `since_day` on: stored and pending, by day and rule.
    pub async fn counts(
        &self,
        project: ProjectId,
        since_day: u32,
    ) -> Result<Vec<RedactionCount>, StoreError> {
        let mut counts: HashMap<(u32, String), u64> = self
            .store
            .redaction_counts(project, since_day)
            .await?
            .into_iter()
            .map(|c| ((c.day, c.rule), c.count))
            .collect();
        for ((p, day), tally) in self.lock().iter() {
            if *p == project && *day >= since_day {
                for (rule, n) in tally.iter() {
                    *counts.entry((*day, rule.to_string())).or_default() += n;
                }
            }
        }
        let mut out: Vec<RedactionCount> = counts
            .into_iter()
            .map(|((day, rule), count)| RedactionCount { day, rule, count })
            .collect();
        out.sort_by(|a, b| (a.day, &a.rule).cmp(&(b.day, &b.rule)));
        Ok(out)
    }
}

/// Flushes every `FLUSH_EVERY`, forever.
pub async fn flush_forever(redaction: Arc<Redaction>) {
    loop {
        tokio::time::sleep(FLUSH_EVERY).await;
        redaction.flush().await;
    }
}
