//! Signals as spans arrive: every committed batch marks its runs, and a run is evaluated
//! (`lemma_core::signals::detect` over all its spans) shortly after, while it is still going.
//! Each evaluation is announced to subscribers (alerts), and stored when it changes what the
//! run shows.
//!
//! An evaluation reads the run again from the store, so it does not matter which server
//! received which spans: any server's evaluation sees them all, and of two the later read
//! holds (`Store::put_signals`).

mod classifier;
mod evidence;
mod watch;

use std::sync::Arc;

use lemma_core::signals::{detect, with_loops, Evidence, SignalSettings};
use lemma_core::Run;
use lemma_store::{ProjectId, RunSignals, Store};
use tokio::sync::broadcast;

use crate::recent::Recent;

/// A run was evaluated.
#[derive(Debug, Clone)]
pub struct Evaluated {
    pub project: ProjectId,
    pub run: Arc<Run>,
    pub found: Arc<RunSignals>,
    /// Whether its signals differ from those stored before.
    pub changed: bool,
}

/// The signal service a server runs: marks runs touched, evaluates them, keeps and announces
/// what changed.
pub struct Signals {
    store: Arc<dyn Store>,
    watch: Arc<watch::Watch>,
    /// Runs are evaluated as they change (else only when asked for).
    watching: bool,
    classifier: Arc<classifier::Classifier>,
    settings: Recent<ProjectId, SignalSettings>,
    baselines: Recent<(ProjectId, String), lemma_core::signals::Baseline>,
    previous_turns: Recent<(ProjectId, String), Option<lemma_core::signals::PreviousTurn>>,
    /// Each run's stored signals as last read or written, so unchanged evaluations write
    /// nothing.
    remembered: Recent<(ProjectId, String), Arc<RunSignals>>,
    evaluations: broadcast::Sender<Evaluated>,
}

impl Signals {
    /// Starts the service and its background task (which ends with the last handle). Not
    /// `watching`, runs are evaluated only when asked for.
    pub fn start(store: Arc<dyn Store>, watching: bool) -> Arc<Signals> {
        let (evaluations, _) = broadcast::channel(4096);
        let signals = Arc::new(Signals {
            store,
            watch: Arc::default(),
            watching,
            classifier: Arc::new(classifier::Classifier::new()),
            settings: Recent::default(),
            baselines: Recent::default(),
            previous_turns: Recent::default(),
            remembered: Recent::default(),
            evaluations,
        });
        if watching {
            tokio::spawn(watch::run(Arc::downgrade(&signals)));
        }
        signals
    }

    /// Marks runs that just received spans or metric events, to be evaluated shortly.
    pub fn touched(&self, runs: impl IntoIterator<Item = (ProjectId, String)>) {
        if self.watching {
            self.watch.touched(runs);
        }
    }

    /// Evaluates every run still waiting, before the server stops, so a run touched just
    /// before does not wait for its next change to be evaluated. Gives up after `within`.
    pub async fn drain(&self, within: std::time::Duration) {
        let pending = self.watch.take_pending();
        if pending.is_empty() {
            return;
        }
        let all = async {
            for (project, run_id) in &pending {
                if let Err(e) = self.evaluate(*project, run_id).await {
                    tracing::warn!(error = %e, run_id, "evaluating a run's signals at shutdown failed");
                }
            }
        };
        if tokio::time::timeout(within, all).await.is_err() {
            tracing::warn!(runs = pending.len(), "stopped before every waiting run was evaluated; they are evaluated when they next change");
        }
    }

    /// Every evaluation from now on. A receiver that falls behind misses some (and is told
    /// so).
    pub fn subscribe(&self) -> broadcast::Receiver<Evaluated> {
        self.evaluations.subscribe()
    }

    /// The project's thresholds, looked up at most every few seconds.
    pub async fn settings(&self, project: ProjectId) -> lemma_store::Result<SignalSettings> {
        if let Some(s) = self.settings.get(&project) {
            return Ok(s);
        }
        let s = self.store.signal_settings(project).await?;
        self.settings.put(project, s.clone());
        Ok(s)
    }

    /// Forgets cached thresholds after they changed here, so they apply at once.
    pub fn settings_changed(&self, project: ProjectId) {
        self.settings.forget(&project);
    }

    /// Evaluates a run now, stores the result if it changed, and returns it with the run;
    /// `None` when the project has no such run.
    pub async fn evaluate(
        &self,
        project: ProjectId,
        run_id: &str,
    ) -> lemma_store::Result<Option<(Run, RunSignals)>> {
        let read_at = crate::api::now_unix_nano();
        let store = self.store.as_ref();
        let Some(run) = store.run_summary(project, run_id).await? else {
            return Ok(None);
        };
        let digests = store
            .run_digests(project, run_id)
            .await?
            .unwrap_or_default();
        let metrics = store.list_metrics(project, run_id).await?;
        let settings = self.settings(project).await?;
        let before = self.stored(project, &run.run_id).await?;
        let mut e = Evidence::new(&run, &digests);
        e.metrics = &metrics;
        if settings.enabled {
            if let Some(agent) = &run.agent_name {
                e.baseline = Some(self.baseline(project, agent, &run.run_id).await?);
            }
            e.previous_turn = self.previous_turn(project, &run).await?;
            let quiet = self.watch.quiet(project, &run);
            e.open_quiet_ns = quiet.open_ns.filter(|_| !run.has_root);
            // Another server may have received the thread's next turn.
            let abandon = settings.abandon_after_secs.saturating_mul(1_000_000_000);
            e.thread_quiet_ns = match quiet.thread_ns {
                Some(q)
                    if q >= abandon
                        && evidence::next_turn(store, project, &run).await?.is_some() =>
                {
                    None
                }
                other => other,
            };
        }
        let mut signals = with_loops(detect(&e, &settings), &run.signals);
        // Signals of time (stalled, abandoned) hold while the run is as it was, also when
        // evaluated by a server that did not see it go quiet.
        if let Some(b) = before.as_ref().filter(|b| b.span_count == run.span_count) {
            if settings.enabled && !self.watch.knows(project, &run) {
                for s in b
                    .signals
                    .iter()
                    .filter(|s| TIMED.contains(&s.kind.as_str()))
                {
                    if !signals.iter().any(|n| n.kind == s.kind) {
                        signals.push(s.clone());
                    }
                }
            }
        }
        let newly_ended = self.watch.evaluated(
            project,
            &run,
            settings.stall_after_secs,
            settings.abandon_after_secs,
        );
        // The next turn's `rephrase` reads this one: when this turn has just ended (its
        // answer is known), a next turn that came first is evaluated again.
        if newly_ended && settings.enabled {
            if let Some(next) = evidence::next_turn(store, project, &run).await? {
                self.previous_turns.forget(&(project, next.clone()));
                self.watch.touched([(project, next)]);
            }
        }
        if let Some(c) = settings.classifier.as_ref().filter(|_| settings.enabled) {
            self.classifier.consider(
                self.store.clone(),
                self.watch.clone(),
                project,
                &run,
                &digests,
                &metrics,
                c,
            );
        }
        let found = RunSignals {
            run_id: run.run_id.clone(),
            evaluated_unix_nano: read_at,
            span_count: run.span_count,
            start_unix_nano: run.start_time_unix_nano,
            signals,
        };
        let unchanged = match &before {
            Some(b) => b.signals == found.signals,
            None => found.signals.is_empty(),
        };
        if !unchanged {
            self.store.put_signals(project, found.clone()).await?;
            self.remembered
                .put((project, run.run_id.clone()), Arc::new(found.clone()));
        }
        // Nobody listening is fine.
        let _ = self.evaluations.send(Evaluated {
            project,
            run: Arc::new(run.clone()),
            found: Arc::new(found.clone()),
            changed: !unchanged,
        });
        Ok(Some((run, found)))
    }

    /// The run's stored signals, remembered for a few seconds.
    async fn stored(
        &self,
        project: ProjectId,
        run_id: &str,
    ) -> lemma_store::Result<Option<Arc<RunSignals>>> {
        let key = (project, run_id.to_string());
        if let Some(s) = self.remembered.get(&key) {
            return Ok(Some(s));
        }
        let stored = self
            .store
            .signals_of(project, &[run_id.to_string()])
            .await?;
        let stored = stored.into_iter().next().map(Arc::new);
        if let Some(s) = &stored {
            self.remembered.put(key, s.clone());
        }
        Ok(stored)
    }

    /// The turn before the run in its thread, looked up at most every few seconds per run.
    async fn previous_turn(
        &self,
        project: ProjectId,
        run: &Run,
    ) -> lemma_store::Result<Option<lemma_core::signals::PreviousTurn>> {
        if run.thread_id.is_none() {
            return Ok(None);
        }
        let key = (project, run.run_id.clone());
        if let Some(p) = self.previous_turns.get(&key) {
            return Ok(p);
        }
        let p = evidence::previous_turn(self.store.as_ref(), project, run).await?;
        self.previous_turns.put(key, p.clone());
        Ok(p)
    }

    async fn baseline(
        &self,
        project: ProjectId,
        agent: &str,
        run_id: &str,
    ) -> lemma_store::Result<lemma_core::signals::Baseline> {
        let key = (project, agent.to_string());
        if let Some(b) = self.baselines.get(&key) {
            return Ok(b);
        }
        let b = evidence::baseline(self.store.as_ref(), project, agent, run_id).await?;
        self.baselines.put(key, b.clone());
        Ok(b)
    }
}

/// Signals found from how long a run or thread has been quiet.
const TIMED: &[&str] = &["stalled", "abandoned"];

/// Runs with their signals: each run's latest evaluation, with the loops its summary found
/// since (an evaluation follows its spans by a moment).
pub async fn attach(
    store: &dyn Store,
    project: ProjectId,
    runs: &mut [Run],
) -> lemma_store::Result<()> {
    if runs.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = runs.iter().map(|r| r.run_id.clone()).collect();
    let found = store.signals_of(project, &ids).await?;
    for f in found {
        if let Some(run) = runs.iter_mut().find(|r| r.run_id == f.run_id) {
            run.signals = with_loops(f.signals, &run.signals);
        }
    }
    Ok(())
}
