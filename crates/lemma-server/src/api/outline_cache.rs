//! Built outlines of long runs, kept so that paging through one does not read and sort all its
//! spans again: bounded by bytes, least recently used out first.
//!
//! A key holds the run's span count and end time, so a run that grows gets a new entry (the
//! old one is dropped); deleting a run drops its entries. Requests for a key being built wait
//! for that one build: eight clients opening the same 100k-span run read it once.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use lemma_core::present::Outline;
use lemma_store::ProjectId;
use tokio::sync::OnceCell;

/// The default bound: a 100k-span run's outline is about 31 MB.
pub const DEFAULT_MAX_BYTES: usize = 64 * 1024 * 1024;

/// Which version of which run an outline is of.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub project: ProjectId,
    pub run_id: String,
    pub span_count: u64,
    pub end_time_unix_nano: u64,
}

pub struct OutlineCache {
    max_bytes: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    entries: HashMap<Key, Entry>,
    bytes: usize,
    clock: u64,
}

struct Entry {
    cell: Arc<OnceCell<Arc<Outline>>>,
    /// 0 until built.
    bytes: usize,
    used: u64,
}

impl OutlineCache {
    pub fn new(max_bytes: usize) -> OutlineCache {
        OutlineCache {
            max_bytes,
            state: Mutex::new(State::default()),
        }
    }

    /// The outline under `key`, built by `build` unless it is kept or being built. A build
    /// that fails is not kept: the next request tries again.
    pub async fn get_or_build<E, F, Fut>(&self, key: Key, build: F) -> Result<Arc<Outline>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Arc<Outline>, E>>,
    {
        let cell = {
            let mut state = self.lock();
            state.clock += 1;
            let now = state.clock;
            // An older version of the run is of no more use.
            state.remove_where(|k| k.project == key.project && k.run_id == key.run_id && *k != key);
            let entry = state.entries.entry(key.clone()).or_insert_with(|| Entry {
                cell: Arc::new(OnceCell::new()),
                bytes: 0,
                used: now,
            });
            entry.used = now;
            entry.cell.clone()
        };
        let outline = cell.get_or_try_init(build).await?.clone();
        self.account(&key, &cell, outline.size_bytes());
        Ok(outline)
    }

    /// Drops every outline of the run (it was deleted).
    pub fn forget_run(&self, project: ProjectId, run_id: &str) {
        self.lock()
            .remove_where(|k| k.project == project && k.run_id == run_id);
    }

    /// Bytes held by built outlines.
    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Counts a built outline's bytes once, then evicts the least recently used outlines
    /// until the cache is within its bound (an outline larger than the bound is served but
    /// not kept).
    fn account(&self, key: &Key, cell: &Arc<OnceCell<Arc<Outline>>>, bytes: usize) {
        let mut state = self.lock();
        match state.entries.get_mut(key) {
            Some(e) if Arc::ptr_eq(&e.cell, cell) && e.bytes == 0 => e.bytes = bytes.max(1),
            _ => return,
        }
        state.bytes += bytes.max(1);
        while state.bytes > self.max_bytes {
            let oldest = state
                .entries
                .iter()
                .filter(|(_, e)| e.bytes > 0)
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone());
            let Some(oldest) = oldest else { break };
            state.remove_where(|k| *k == oldest);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl State {
    fn remove_where(&mut self, doomed: impl Fn(&Key) -> bool) {
        let mut freed = 0;
        self.entries.retain(|k, e| {
            let keep = !doomed(k);
            if !keep {
                freed += e.bytes;
            }
            keep
        });
        self.bytes -= freed;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use lemma_core::SpanOutline;

    use super::*;

    fn key(run: &str, span_count: u64) -> Key {
        Key {
            project: ProjectId(1),
            run_id: run.into(),
            span_count,
            end_time_unix_nano: 0,
        }
    }

    fn outline(spans: usize) -> Arc<Outline> {
        let rows = (0..spans)
            .map(|i| SpanOutline {
                span_id: format!("{i:016x}"),
                ..SpanOutline::default()
            })
            .collect();
        Arc::new(Outline::new(rows))
    }

    #[tokio::test]
    async fn concurrent_requests_build_once_and_the_bound_evicts_the_oldest() {
        let one = outline(100).size_bytes();
        let cache = Arc::new(OutlineCache::new(one * 2 + one / 2));
        let builds = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (cache, builds) = (cache.clone(), builds.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_build(key("a", 100), || async {
                        builds.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        Ok::<_, ()>(outline(100))
                    })
                    .await
                    .unwrap()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().len(), 100);
        }
        assert_eq!(builds.load(Ordering::SeqCst), 1);
        assert_eq!(cache.bytes(), one);

        let get = |k: Key| {
            let (cache, builds) = (cache.clone(), builds.clone());
            async move {
                cache
                    .get_or_build(k, || async {
                        builds.fetch_add(1, Ordering::SeqCst);
                        Ok::<_, ()>(outline(100))
                    })
                    .await
                    .unwrap();
            }
        };
        get(key("b", 100)).await;
        get(key("a", 100)).await; // "a" is now newer than "b"
        get(key("c", 100)).await; // over the bound: "b" goes
        assert_eq!(builds.load(Ordering::SeqCst), 3);
        assert_eq!(cache.bytes(), 2 * one);
        get(key("a", 100)).await;
        assert_eq!(builds.load(Ordering::SeqCst), 3, "a was kept");
        get(key("b", 100)).await;
        assert_eq!(builds.load(Ordering::SeqCst), 4, "b was evicted");

        // A run that grew is built again and its old version dropped; a deleted one is gone.
        get(key("a", 101)).await;
        assert_eq!(builds.load(Ordering::SeqCst), 5);
        cache.forget_run(ProjectId(1), "a");
        get(key("a", 101)).await;
        assert_eq!(builds.load(Ordering::SeqCst), 6);
        assert!(cache.bytes() <= 2 * one + one / 2);
    }

    #[tokio::test]
    async fn a_failed_build_is_not_kept() {
        let cache = OutlineCache::new(DEFAULT_MAX_BYTES);
        let failed = cache
            .get_or_build(key("a", 1), || async { Err("no") })
            .await;
        assert_eq!(failed.unwrap_err(), "no");
        let built = cache
            .get_or_build(key("a", 1), || async { Ok::<_, &str>(outline(1)) })
            .await;
        assert_eq!(built.unwrap().len(), 1);
    }
}
