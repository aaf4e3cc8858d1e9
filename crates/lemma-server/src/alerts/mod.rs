//! Alert rules at work: each evaluated run is checked against the rules that fire per run,
//! windows are measured every few seconds, and every change of state becomes an event that
//! is stored and delivered to the rule's channels.
//!
//! Which rule fires for which key is kept in memory, loaded from the stored events when a
//! project is first seen. Event ids are derived from the change ([`event_id`]), so two
//! servers raising the same change store one event and send the same id (receivers can drop
//! repeats by `X-Lemma-Event-Id`).

mod deliver;
mod window;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use lemma_core::alerts::{
    by_signals, event_id, slack_body, webhook_body, AlertCondition, AlertConfig, AlertEvent,
    AlertRule, AlertState, Channel, Notice,
};
use lemma_core::query::{Clause, Condition, Field};
use lemma_core::{Run, RunSignal};
use lemma_store::{ListQuery, Project, ProjectId, Store};
use tokio::sync::broadcast::error::RecvError;

use crate::recent::Recent;
use crate::signals::{Evaluated, Signals};
pub use deliver::{Deliverer, Outcome};

/// Events read back to know what fires when a project is first seen.
const STATE_EVENTS: usize = 1_000;

type Firing = HashMap<(String, String), (String, AlertState)>;

pub struct Alerts {
    store: Arc<dyn Store>,
    configs: Recent<ProjectId, Arc<AlertConfig>>,
    projects: Recent<(), Arc<Vec<Project>>>,
    /// Per project: (rule id, key) → the last event's id and state.
    state: Mutex<HashMap<ProjectId, Firing>>,
    deliverer: Deliverer,
    public_url: Option<String>,
}

/// What an event is raised with.
struct Context<'a> {
    run: Option<&'a Run>,
    signals: &'a [RunSignal],
    value: Option<f64>,
    message: String,
}

impl Alerts {
    /// Starts checking runs as `signals` evaluates them, and windows on a timer.
    pub fn start(
        store: Arc<dyn Store>,
        signals: &Signals,
        public_url: Option<String>,
    ) -> anyhow::Result<Arc<Alerts>> {
        let alerts = Arc::new(Alerts {
            store,
            configs: Recent::default(),
            projects: Recent::default(),
            state: Mutex::default(),
            deliverer: Deliverer::new()?,
            public_url: public_url.map(|u| u.trim_end_matches('/').to_string()),
        });
        tokio::spawn(each_run(Arc::downgrade(&alerts), signals.subscribe()));
        tokio::spawn(window::run(Arc::downgrade(&alerts)));
        Ok(alerts)
    }

    /// The project's rules and channels, looked up at most every few seconds.
    pub async fn config(&self, project: ProjectId) -> lemma_store::Result<Arc<AlertConfig>> {
        if let Some(c) = self.configs.get(&project) {
            return Ok(c);
        }
        let c = Arc::new(self.store.alert_config(project).await?);
        self.configs.put(project, c.clone());
        Ok(c)
    }

    /// Forgets cached rules after they changed here, so they apply at once.
    pub fn config_changed(&self, project: ProjectId) {
        self.configs.forget(&project);
    }

    /// Sends a test event to a channel now, once, and says what the receiver answered.
    pub async fn test_send(&self, project: &Project, channel: &Channel) -> Outcome {
        let event = AlertEvent {
            id: format!("ae_test_{:024x}", rand::random::<u128>() >> 32),
            rule_id: "test".into(),
            rule_name: "Test alert".into(),
            key: "test".into(),
            state: AlertState::Firing,
            at_unix_nano: crate::api::now_unix_nano(),
            run_id: None,
            value: None,
            message: format!("a test of channel {:?} from Lemma", channel.name),
            deliveries: Vec::new(),
        };
        let notice = Notice {
            project: &project.name,
            event: &event,
            run: None,
            signals: &[],
            link: self.public_url.clone(),
            test: true,
        };
        let body = match channel.kind {
            lemma_core::alerts::ChannelKind::Webhook => webhook_body(&notice),
            lemma_core::alerts::ChannelKind::Slack => slack_body(&notice),
        };
        self.deliverer.send(channel, &event.id, &body).await
    }

    async fn project_name(&self, project: ProjectId) -> String {
        let projects = match self.projects.get(&()) {
            Some(p) => p,
            None => match self.store.list_projects().await {
                Ok(p) => {
                    let p = Arc::new(p);
                    self.projects.put((), p.clone());
                    p
                }
                Err(_) => Arc::default(),
            },
        };
        projects
            .iter()
            .find(|p| p.id == project)
            .map(|p| p.name.clone())
            .unwrap_or_else(|| project.0.to_string())
    }

    /// The project's last event per rule and key, read from the store once.
    async fn load_state(&self, project: ProjectId) -> lemma_store::Result<()> {
        if self.lock().contains_key(&project) {
            return Ok(());
        }
        let events = self.store.alert_events(project, None, STATE_EVENTS).await?;
        let mut firing = Firing::new();
        // Newest first: the first seen of a rule and key is its state.
        for e in events {
            firing
                .entry((e.rule_id.clone(), e.key.clone()))
                .or_insert((e.id.clone(), e.state));
        }
        self.lock().entry(project).or_insert(firing);
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ProjectId, Firing>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Raises an event if the rule's state for `key` changes to `firing`.
    async fn transition(
        &self,
        project: ProjectId,
        config: &AlertConfig,
        rule: &AlertRule,
        key: &str,
        firing: bool,
        ctx: Context<'_>,
    ) -> lemma_store::Result<()> {
        self.load_state(project).await?;
        let state = if firing {
            AlertState::Firing
        } else {
            AlertState::Resolved
        };
        let previous = {
            let map = self.lock();
            map.get(&project)
                .and_then(|f| f.get(&(rule.id.clone(), key.to_string())))
                .cloned()
        };
        let was_firing = matches!(previous, Some((_, AlertState::Firing)));
        if firing == was_firing {
            return Ok(());
        }
        let channels: Vec<Channel> = config
            .channels
            .iter()
            .filter(|c| rule.channels.contains(&c.id))
            .cloned()
            .collect();
        let event = AlertEvent {
            id: event_id(
                &rule.id,
                key,
                state,
                previous.as_ref().map(|(id, _)| id.as_str()),
            ),
            rule_id: rule.id.clone(),
            rule_name: rule.name.clone(),
            key: key.to_string(),
            state,
            at_unix_nano: crate::api::now_unix_nano(),
            run_id: ctx.run.map(|r| r.run_id.clone()),
            value: ctx.value,
            message: ctx.message,
            deliveries: deliver::pending(&channels),
        };
        self.store.put_alert_event(project, &event).await?;
        self.lock().entry(project).or_default().insert(
            (rule.id.clone(), key.to_string()),
            (event.id.clone(), state),
        );
        tracing::info!(rule = rule.name, key, state = ?state, "alert");
        if channels.is_empty() {
            return Ok(());
        }
        let name = self.project_name(project).await;
        let link = self.public_url.as_ref().map(|u| match ctx.run {
            Some(r) => format!("{u}/runs/{}", r.run_id),
            None => format!("{u}/runs?q={}", urlencoding(&rule.query)),
        });
        let notice = Notice {
            project: &name,
            event: &event,
            run: ctx.run,
            signals: ctx.signals,
            link,
            test: false,
        };
        let bodies = deliver::Bodies {
            webhook: webhook_body(&notice),
            slack: slack_body(&notice),
        };
        self.deliverer
            .deliver(self.store.clone(), project, event, channels, bodies);
        Ok(())
    }

    /// Each-run rules over one evaluated run.
    async fn on_evaluated(&self, e: &Evaluated) -> lemma_store::Result<()> {
        let config = self.config(e.project).await?;
        for rule in config.rules.iter().filter(|r| r.enabled) {
            if rule.condition != AlertCondition::EachRun {
                continue;
            }
            let filter = lemma_core::query::parse(&rule.query, crate::api::now_unix_nano())
                .map_err(|e| lemma_store::StoreError::Invalid(e.to_string()))?;
            let matched = match by_signals(&filter, &e.found.signals) {
                Some(m) => m,
                None => self.matches(e.project, filter, &e.run.run_id).await?,
            };
            let message = match matched {
                true => run_message(&e.run, &rule.query, &e.found.signals),
                false => format!(
                    "run {} no longer matches {:?}",
                    run_label(&e.run),
                    rule.query
                ),
            };
            let ctx = Context {
                run: Some(&e.run),
                signals: &e.found.signals,
                value: None,
                message,
            };
            self.transition(e.project, &config, rule, &e.run.run_id, matched, ctx)
                .await?;
        }
        Ok(())
    }

    /// Whether the run matches the filter, asked of the store so every field of the query
    /// language means what it means in a listing (rules only about signals are decided from
    /// the evaluation, [`by_signals`]).
    async fn matches(
        &self,
        project: ProjectId,
        mut filter: lemma_core::query::Filter,
        run_id: &str,
    ) -> lemma_store::Result<bool> {
        filter.clauses.push(Clause {
            negated: false,
            condition: Condition::OneOf {
                field: Field::Run,
                values: vec![run_id.to_string()],
            },
        });
        let page = self
            .store
            .list_runs(
                project,
                ListQuery {
                    filter,
                    limit: 1,
                    cursor: None,
                    order: Default::default(),
                },
            )
            .await?;
        Ok(!page.items.is_empty())
    }
}

fn run_label(run: &Run) -> String {
    format!("{} ({})", run.name, &run.run_id[..run.run_id.len().min(8)])
}

fn run_message(run: &Run, query: &str, signals: &[RunSignal]) -> String {
    let mut m = format!("run {} matches {query:?}", run_label(run));
    if !run.has_root {
        m.push_str(" while still running");
    }
    if let Some(s) = signals.first() {
        m.push_str(&format!(": {} ({})", s.kind, s.explanation));
    }
    m
}

/// Percent-encodes a query for a link.
fn urlencoding(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Checks every evaluated run against the each-run rules, until the service is gone.
async fn each_run(
    alerts: Weak<Alerts>,
    mut evaluations: tokio::sync::broadcast::Receiver<Evaluated>,
) {
    loop {
        let e = match evaluations.recv().await {
            Ok(e) => e,
            Err(RecvError::Lagged(n)) => {
                tracing::warn!(missed = n, "alert rules fell behind the run evaluations; some runs are checked at their next evaluation");
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        let Some(alerts) = alerts.upgrade() else {
            return;
        };
        if let Err(err) = alerts.on_evaluated(&e).await {
            tracing::warn!(error = %err, run_id = e.run.run_id, "checking a run against alert rules failed");
        }
    }
}
