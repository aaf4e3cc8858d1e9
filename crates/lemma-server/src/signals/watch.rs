//! Which runs are due for an evaluation: runs that just received spans (after a short pause,
//! so a burst of batches is evaluated once), open runs that went quiet, and the last turns of
//! threads nobody came back to.
//!
//! This is per server and in memory: a restarted server finds a run stalled only once the run
//! is touched again, and a thread abandoned only once a turn of it ends again.

use std::collections::HashMap;
use std::sync::{Mutex, Weak};
use std::time::{Duration, Instant};

use lemma_core::Run;
use lemma_store::ProjectId;

use super::Signals;

/// How long a touched run waits for more batches before it is evaluated.
pub const SETTLE: Duration = Duration::from_millis(200);
/// How often due runs are looked for.
const TICK: Duration = Duration::from_millis(100);
/// Evaluations at once.
const PARALLEL: usize = 4;
/// Runs remembered, each map; past it the oldest half is forgotten.
const MAX_RUNS: usize = 100_000;
/// A long run is evaluated at most once per this many spans' worth of time (100,000 spans: 2 s).
const SPANS_PER_SECOND: u64 = 50_000;

type Key = (ProjectId, String);

/// How long a run, or its thread, has been quiet, as this server saw it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Quiet {
    /// Since the run was last touched, when its root has not arrived.
    pub open_ns: Option<u64>,
    /// Since the run was seen ended, when it is the newest turn of its thread seen.
    pub thread_ns: Option<u64>,
}

struct Open {
    last_touch: Instant,
    stall_after: Duration,
    /// Evaluated since it went quiet.
    flagged: bool,
}

struct ThreadEnd {
    run_id: String,
    start_ns: u64,
    ended: Instant,
    abandon_after: Duration,
    checked: bool,
}

#[derive(Default)]
struct State {
    /// Touched runs and when they were first touched since their last evaluation.
    pending: HashMap<Key, Instant>,
    /// When a run may be evaluated again (long runs).
    not_before: HashMap<Key, Instant>,
    open: HashMap<Key, Open>,
    /// The newest ended run of each thread.
    threads: HashMap<(ProjectId, String), ThreadEnd>,
    /// Runs of a thread seen ended (root arrived), so each is reported ended once.
    ended: HashMap<Key, ()>,
}

#[derive(Default)]
pub struct Watch(Mutex<State>);

impl Watch {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn touched(&self, runs: impl IntoIterator<Item = Key>) {
        let now = Instant::now();
        let mut s = self.lock();
        for key in runs {
            if let Some(o) = s.open.get_mut(&key) {
                o.last_touch = now;
                o.flagged = false;
            }
            s.pending.entry(key).or_insert(now);
        }
        bound(&mut s.pending);
    }

    pub fn quiet(&self, project: ProjectId, run: &Run) -> Quiet {
        let s = self.lock();
        let key = (project, run.run_id.clone());
        let open_ns = s
            .open
            .get(&key)
            .map(|o| o.last_touch.elapsed().as_nanos() as u64);
        let thread_ns = run.thread_id.as_ref().and_then(|t| {
            s.threads
                .get(&(project, t.clone()))
                .filter(|e| e.run_id == run.run_id)
                .map(|e| e.ended.elapsed().as_nanos() as u64)
        });
        Quiet { open_ns, thread_ns }
    }

    /// Whether this server holds time facts about the run (it saw it open, or end a thread).
    pub fn knows(&self, project: ProjectId, run: &Run) -> bool {
        self.quiet(project, run) != Quiet::default()
    }

    /// Records what an evaluation saw, for the timers. True when the run is a turn of a thread
    /// seen ended for the first time.
    pub fn evaluated(
        &self,
        project: ProjectId,
        run: &Run,
        stall_after: u64,
        abandon_after: u64,
    ) -> bool {
        let now = Instant::now();
        let key = (project, run.run_id.clone());
        let mut s = self.lock();
        let wait = Duration::from_millis(run.span_count.saturating_mul(1_000) / SPANS_PER_SECOND);
        if wait > SETTLE {
            s.not_before.insert(key.clone(), now + wait);
        }
        if run.has_root {
            s.open.remove(&key);
        } else {
            let o = s.open.entry(key).or_insert(Open {
                last_touch: now,
                stall_after: Duration::ZERO,
                flagged: false,
            });
            o.stall_after = Duration::from_secs(stall_after);
        }
        if let (true, Some(thread)) = (run.has_root, &run.thread_id) {
            let newer = match s.threads.get(&(project, thread.clone())) {
                Some(e) if e.run_id == run.run_id => false,
                Some(e) => run.start_time_unix_nano > e.start_ns,
                None => true,
            };
            if newer {
                s.threads.insert(
                    (project, thread.clone()),
                    ThreadEnd {
                        run_id: run.run_id.clone(),
                        start_ns: run.start_time_unix_nano,
                        ended: now,
                        abandon_after: Duration::from_secs(abandon_after),
                        checked: false,
                    },
                );
            }
        }
        let newly_ended = run.has_root
            && run.thread_id.is_some()
            && s.ended.insert((project, run.run_id.clone()), ()).is_none();
        bound(&mut s.open);
        bound(&mut s.threads);
        bound(&mut s.not_before);
        bound(&mut s.ended);
        newly_ended
    }

    /// Every run waiting for an evaluation, whether due or not, taken from the queue.
    pub fn take_pending(&self) -> Vec<Key> {
        let mut s = self.lock();
        let mut out: Vec<Key> = s.pending.drain().map(|(k, _)| k).collect();
        out.sort();
        out
    }

    /// Runs due now, each once.
    fn due(&self) -> Vec<Key> {
        let now = Instant::now();
        let mut s = self.lock();
        let State {
            pending,
            not_before,
            open,
            threads,
            ..
        } = &mut *s;
        let mut out: Vec<Key> = Vec::new();
        pending.retain(|key, first| {
            let ready = now.duration_since(*first) >= SETTLE
                && not_before.get(key).is_none_or(|t| *t <= now);
            if ready {
                out.push(key.clone());
            }
            !ready
        });
        for (key, o) in open.iter_mut() {
            if !o.flagged && o.last_touch.elapsed() >= o.stall_after {
                o.flagged = true;
                out.push(key.clone());
            }
        }
        for ((project, _), e) in threads.iter_mut() {
            if !e.checked && e.ended.elapsed() >= e.abandon_after {
                e.checked = true;
                out.push((*project, e.run_id.clone()));
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

/// Forgets the oldest half of a map grown past [`MAX_RUNS`] (by iteration order, which is
/// arbitrary: what is forgotten is only evaluated later or not timed).
fn bound<K: Clone + Eq + std::hash::Hash, V>(map: &mut HashMap<K, V>) {
    if map.len() > MAX_RUNS {
        let drop: Vec<K> = map.keys().take(map.len() / 2).cloned().collect();
        for k in drop {
            map.remove(&k);
        }
    }
}

/// Evaluates due runs until the service is gone.
pub async fn run(signals: Weak<Signals>) {
    let mut running = tokio::task::JoinSet::new();
    loop {
        tokio::time::sleep(TICK).await;
        let Some(service) = signals.upgrade() else {
            return;
        };
        for (project, run_id) in service.watch.due() {
            while running.len() >= PARALLEL {
                running.join_next().await;
            }
            let service = service.clone();
            running.spawn(async move {
                if let Err(e) = service.evaluate(project, &run_id).await {
                    tracing::warn!(error = %e, run_id, "evaluating a run's signals failed; it is evaluated again when it next changes");
                }
            });
        }
        while running.try_join_next().is_some() {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: &str, has_root: bool, thread: Option<&str>) -> Run {
        Run {
            run_id: id.into(),
            has_root,
            thread_id: thread.map(str::to_string),
            span_count: 3,
            ..Run::default()
        }
    }

    #[test]
    fn a_touched_run_is_due_once_it_settles() {
        let w = Watch::default();
        let p = ProjectId(1);
        w.touched([(p, "a".to_string())]);
        assert!(w.due().is_empty());
        std::thread::sleep(SETTLE);
        assert_eq!(w.due(), [(p, "a".to_string())]);
        assert!(w.due().is_empty(), "once");
    }

    #[test]
    fn an_open_run_is_due_when_quiet_and_a_threads_last_turn_when_abandoned() {
        let w = Watch::default();
        let p = ProjectId(1);
        w.evaluated(p, &run("open", false, None), 0, 3_600);
        assert!(w.quiet(p, &run("open", false, None)).open_ns.is_some());
        assert_eq!(w.due(), [(p, "open".to_string())]);
        assert!(w.due().is_empty(), "flagged once until touched again");
        w.touched([(p, "open".to_string())]);
        w.evaluated(p, &run("open", true, None), 0, 0);
        assert_eq!(w.quiet(p, &run("open", true, None)).open_ns, None, "ended");

        let first = Run {
            start_time_unix_nano: 1,
            ..run("t1", true, Some("th"))
        };
        let second = Run {
            start_time_unix_nano: 2,
            ..run("t2", true, Some("th"))
        };
        w.evaluated(p, &first, 300, 0);
        w.evaluated(p, &second, 300, 0);
        assert!(w.quiet(p, &second).thread_ns.is_some());
        assert_eq!(w.quiet(p, &first).thread_ns, None, "not the last turn");
        std::thread::sleep(SETTLE);
        let due = w.due();
        assert!(due.contains(&(p, "t2".to_string())), "{due:?}");
        assert!(!due.contains(&(p, "t1".to_string())), "{due:?}");
    }
}
