//! A project's HTTP classifier: each finished run in its sample is POSTed once (its user text,
//! output and tool calls in one request), and the label it answers is kept as a metric event
//! of the run (source `classifier`), which the run's next evaluation turns into a signal.
//!
//! The budget is per server and day, in memory; the sample is chosen by run ID, so servers
//! sharing a store send the same runs.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lemma_core::metrics::{CLASSIFIED_NOTHING, CLASSIFIER_SOURCE};
use lemma_core::signals::{user_text, ClassifierSettings};
use lemma_core::{MetricEvent, MetricValue, Run, SpanDigest, SpanKind};
use lemma_store::{ProjectId, Store};
use serde::Deserialize;
use serde_json::{json, Value};

use super::watch::Watch;

const TIMEOUT: Duration = Duration::from_secs(10);
/// Tool calls sent per run; a longer run sends its first ones.
const MAX_TOOL_CALLS: usize = 200;
/// Characters of each text sent.
const MAX_TEXT: usize = 20_000;

pub struct Classifier {
    client: reqwest::Client,
    in_flight: Mutex<HashSet<(ProjectId, String)>>,
    /// Per project: the day (days since 1970) and calls made that day.
    spent: Mutex<HashMap<ProjectId, (u64, u32)>>,
}

#[derive(Deserialize)]
struct Answer {
    label: Option<String>,
    score: Option<f64>,
    explanation: Option<String>,
}

impl Classifier {
    pub fn new() -> Classifier {
        Classifier {
            client: reqwest::Client::builder()
                .timeout(TIMEOUT)
                .build()
                .expect("a client with a timeout"),
            in_flight: Mutex::default(),
            spent: Mutex::default(),
        }
    }

    /// Sends the run if it is finished, in the sample, not sent before, and within budget.
    #[allow(clippy::too_many_arguments)]
    pub fn consider(
        self: &Arc<Self>,
        store: Arc<dyn Store>,
        watch: Arc<Watch>,
        project: ProjectId,
        run: &Run,
        digests: &[SpanDigest],
        metrics: &[MetricEvent],
        settings: &ClassifierSettings,
    ) {
        let sent = metrics
            .iter()
            .any(|m| m.source.as_deref() == Some(CLASSIFIER_SOURCE));
        if !run.has_root || sent || !settings.samples(&run.run_id) {
            return;
        }
        let key = (project, run.run_id.clone());
        if !lock(&self.in_flight).insert(key.clone()) {
            return;
        }
        if !self.spend(project, settings.daily_budget) {
            lock(&self.in_flight).remove(&key);
            tracing::debug!(
                run_id = run.run_id,
                "the classifier's daily budget is spent"
            );
            return;
        }
        let body = request(run, digests);
        let (this, url, run_id, root) = (
            self.clone(),
            settings.url.clone(),
            run.run_id.clone(),
            run.root_span_id.clone(),
        );
        tokio::spawn(async move {
            match this.call(&url, &body).await {
                Ok(answer) => {
                    let event = event(&run_id, root, answer);
                    match store.write_metrics(project, vec![event]).await {
                        Ok(_) => watch.touched([(project, run_id.clone())]),
                        Err(e) => {
                            tracing::warn!(error = %e, run_id, "keeping the classifier's answer failed")
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, run_id, url, "the classifier failed; the run is not classified")
                }
            }
            lock(&this.in_flight).remove(&(project, run_id));
        });
    }

    fn spend(&self, project: ProjectId, budget: u32) -> bool {
        let day = crate::api::now_unix_nano() / 86_400_000_000_000;
        let mut spent = lock(&self.spent);
        let entry = spent.entry(project).or_insert((day, 0));
        if entry.0 != day {
            *entry = (day, 0);
        }
        if entry.1 >= budget {
            return false;
        }
        entry.1 += 1;
        true
    }

    async fn call(&self, url: &str, body: &Value) -> anyhow::Result<Answer> {
        let resp = self.client.post(url).json(body).send().await?;
        let status = resp.status();
        if !status.is_success() {
            anyhow::bail!("it answered {status}");
        }
        Ok(resp.json().await?)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn cut(s: &str) -> String {
    s.chars().take(MAX_TEXT).collect()
}

/// What the classifier is sent: the user's text, the answer, and the tool calls in order.
fn request(run: &Run, digests: &[SpanDigest]) -> Value {
    let text = |v: &Option<Value>| {
        v.as_ref().map(|v| match v {
            Value::String(s) => cut(s),
            other => cut(&other.to_string()),
        })
    };
    let mut tools: Vec<&SpanDigest> = digests
        .iter()
        .filter(|d| d.kind == SpanKind::Tool)
        .collect();
    tools.sort_by_key(|d| (d.start_time_unix_nano, d.span_id.clone()));
    let tool_calls: Vec<Value> = tools
        .iter()
        .take(MAX_TOOL_CALLS)
        .map(|d| {
            json!({
                "name": d.tool_name.as_deref().unwrap_or(&d.name),
                "arguments": d.tool_args.as_deref().map(cut),
                "status": d.status,
            })
        })
        .collect();
    json!({
        "run_id": run.run_id,
        "agent": run.agent_name,
        "thread_id": run.thread_id,
        "status": run.status,
        "user_text": run.input.as_ref().and_then(user_text).map(|t| cut(&t)),
        "input": text(&run.input),
        "output": text(&run.output),
        "tool_calls": tool_calls,
    })
}

/// The answer as a metric event of the run; "nothing found" is kept too, under
/// [`CLASSIFIED_NOTHING`].
fn event(run_id: &str, root: Option<String>, answer: Answer) -> MetricEvent {
    let label = answer
        .label
        .map(|l| l.trim().to_ascii_lowercase().replace(' ', "_"))
        .filter(|l| !matches!(l.as_str(), "" | "none" | "ok" | "null"))
        .filter(|l| lemma_core::signals::valid_name(l));
    let found = label.is_some();
    MetricEvent {
        id: format!("classifier-{run_id}"),
        run_id: run_id.to_string(),
        span_id: root,
        name: label.unwrap_or_else(|| CLASSIFIED_NOTHING.into()),
        value: match (found, answer.score.filter(|s| s.is_finite())) {
            (true, Some(score)) => MetricValue::Number(score),
            (true, None) => MetricValue::Bool(true),
            (false, _) => MetricValue::Text("none".into()),
        },
        comment: answer.explanation.map(|e| e.chars().take(300).collect()),
        source: Some(CLASSIFIER_SOURCE.into()),
        time_unix_nano: crate::api::now_unix_nano(),
    }
}
