//! Experiments compared case by case (`GET /api/v1/compare`): totals, score deltas, each
//! case's run in each experiment, and the regressions against the first (the baseline), for a
//! CI gate.

use std::collections::BTreeMap;
use std::future::{Future, IntoFuture};
use std::pin::Pin;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::{json_answer, Target};
use crate::config::Config;
use crate::Error;

/// Experiments side by side, case by case, as Lemma compared them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// In the order asked; the first is the baseline.
    pub experiments: Vec<ExperimentTotals>,
    /// Each score's mean per experiment, and the last one's change from the baseline.
    pub scores: Vec<ScoreDelta>,
    /// Each case, in the baseline's dataset order.
    pub cases: Vec<ComparedCase>,
    /// Cases worse in any experiment than in the baseline: a CI gate checks it is 0.
    pub regressions: u64,
    /// Cases whose status, output or scores differ between experiments.
    pub changed: u64,
}

impl Comparison {
    /// The cases that got worse, each with its [`reasons`](ComparedCase::reasons).
    pub fn regressed(&self) -> impl Iterator<Item = &ComparedCase> {
        self.cases.iter().filter(|c| c.regression)
    }
}

/// One experiment's totals in a comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExperimentTotals {
    /// The experiment.
    pub name: String,
    /// Its dataset.
    pub dataset: String,
    /// The dataset version it ran over.
    pub dataset_version: u32,
    /// Cases with a run.
    pub answered: u64,
    /// Cases whose run failed.
    pub failed: u64,
    /// The median run duration.
    #[serde(default)]
    pub p50_duration_ms: Option<f64>,
    /// The mean run duration.
    #[serde(default)]
    pub mean_duration_ms: Option<f64>,
    /// Tokens over all runs.
    #[serde(default)]
    pub total_tokens: u64,
    /// Cost over all runs, when known.
    #[serde(default)]
    pub cost_usd: Option<f64>,
    /// Each score's mean over the cases that have it.
    #[serde(default)]
    pub scores: BTreeMap<String, f64>,
}

/// One score across the compared experiments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoreDelta {
    /// The score (metric) name.
    pub name: String,
    /// Per experiment, in order; `None` where no case has it.
    pub means: Vec<Option<f64>>,
    /// The last experiment's mean minus the baseline's.
    #[serde(default)]
    pub delta: Option<f64>,
}

/// One case across the compared experiments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComparedCase {
    /// The case.
    pub case_id: String,
    /// Its input.
    #[serde(default)]
    pub input: Option<Value>,
    /// Its expected answer.
    #[serde(default)]
    pub expected: Option<Value>,
    /// Per experiment, in order; `None` where the case was not run.
    pub results: Vec<Option<ComparedRun>>,
    /// Its status, output or scores differ between experiments.
    pub changed: bool,
    /// It is worse in some experiment than in the baseline.
    pub regression: bool,
    /// Why it is a regression, for a person.
    #[serde(default)]
    pub reasons: Vec<String>,
}

/// A case's run in one experiment of a comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComparedRun {
    /// The run.
    pub run_id: String,
    /// `ok`, `error` or `unset`; `None` until the run's spans arrived.
    #[serde(default)]
    pub status: Option<String>,
    /// The run's output.
    #[serde(default)]
    pub output: Option<Value>,
    /// How long it took.
    #[serde(default)]
    pub duration_ms: Option<f64>,
    /// Its tokens.
    #[serde(default)]
    pub total_tokens: u64,
    /// Its cost, when known.
    #[serde(default)]
    pub cost_usd: Option<f64>,
    /// Each metric event's latest value, by name.
    #[serde(default)]
    pub scores: BTreeMap<String, Value>,
}

/// Compares experiments case by case, the first being the baseline (2 to 10 of them). Await
/// it (or `send_blocking()` in code that is not async):
///
/// ```no_run
/// # async fn gate() -> Result<(), lemma_sdk::Error> {
/// let report = lemma_sdk::compare(["support-qa-main", "support-qa-pr-42"]).await?;
/// for case in report.regressed() {
///     eprintln!("{}: {}", case.case_id, case.reasons.join("; "));
/// }
/// assert_eq!(report.regressions, 0);
/// # Ok(()) }
/// ```
///
/// Lemma's refusal is an [`Error::Api`]: 404 naming an unknown experiment, 400 for fewer than
/// two.
pub fn compare<I, S>(experiments: I) -> CompareRequest
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    CompareRequest::new(experiments.into_iter().map(Into::into).collect())
}

/// A comparison about to be asked for; see [`compare`].
#[derive(Clone, Debug)]
#[must_use = "nothing is asked until it is awaited, or `send_blocking`"]
pub struct CompareRequest {
    experiments: Vec<String>,
    changed_only: bool,
    target: Target,
}

impl CompareRequest {
    pub(crate) fn new(experiments: Vec<String>) -> CompareRequest {
        CompareRequest {
            experiments,
            changed_only: false,
            target: Target::Default,
        }
    }

    pub(crate) fn target(mut self, target: Target) -> Self {
        self.target = target;
        self
    }

    /// Only the cases whose results differ.
    pub fn changed_only(mut self) -> Self {
        self.changed_only = true;
        self
    }

    /// Asks the server `config` names (its URL, key and timeout) instead of the default.
    pub fn config(mut self, config: &Config) -> Self {
        self.target = Target::from_config(config);
        self
    }

    /// Asks (what awaiting the request does). Needs a tokio runtime (reqwest's async client).
    pub async fn send(self) -> Result<Comparison, Error> {
        let (target, url) = self.prepare()?;
        let (status, body) = target.send(Method::GET, &url, None).await?;
        json_answer(status, &body)
    }

    /// [`send`](Self::send) for code that is not async. It blocks the calling thread, so do
    /// not call it on an async runtime's thread.
    pub fn send_blocking(self) -> Result<Comparison, Error> {
        let (target, url) = self.prepare()?;
        let (status, body) = target.send_blocking(Method::GET, &url, None)?;
        json_answer(status, &body)
    }

    fn prepare(&self) -> Result<(crate::api::ApiTarget, reqwest::Url), Error> {
        let target = self.target.resolve()?;
        let mut url = target.api_url(&["compare"]);
        url.query_pairs_mut()
            .append_pair("experiments", &self.experiments.join(","));
        if self.changed_only {
            url.query_pairs_mut().append_pair("changed", "true");
        }
        Ok((target, url))
    }
}

impl IntoFuture for CompareRequest {
    type Output = Result<Comparison, Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_comparison_reads_with_its_regressions() {
        let body = json!({
            "experiments": [
                {"name": "a", "dataset": "d", "dataset_version": 1, "answered": 2, "failed": 0,
                 "p50_duration_ms": 3.0, "mean_duration_ms": 3.5, "total_tokens": 0,
                 "cost_usd": null, "scores": {"exact_match": 1.0}},
                {"name": "b", "dataset": "d", "dataset_version": 1, "answered": 2, "failed": 1,
                 "p50_duration_ms": null, "mean_duration_ms": null, "total_tokens": 7,
                 "cost_usd": 0.01, "scores": {"exact_match": 0.5}}
            ],
            "scores": [{"name": "exact_match", "means": [1.0, 0.5], "delta": -0.5}],
            "cases": [
                {"case_id": "c1", "input": "2+2", "expected": "4", "changed": false,
                 "regression": false, "results": [
                    {"run_id": "r1", "status": "ok", "output": "4", "duration_ms": 3.0,
                     "total_tokens": 0, "cost_usd": null, "scores": {"exact_match": true}},
                    null]},
                {"case_id": "c2", "input": "3*5", "changed": true, "regression": true,
                 "reasons": ["failed in experiment 2"], "results": [null, null]}
            ],
            "regressions": 1, "changed": 1
        });
        let read: Comparison = json_answer(200, body.to_string().as_bytes()).unwrap();
        assert_eq!(read.experiments[1].failed, 1);
        assert_eq!(read.scores[0].delta, Some(-0.5));
        assert_eq!(read.cases[0].reasons, Vec::<String>::new());
        assert_eq!(
            read.cases[0].results[0].as_ref().unwrap().scores["exact_match"],
            json!(true)
        );
        let regressed: Vec<&str> = read.regressed().map(|c| c.case_id.as_str()).collect();
        assert_eq!(regressed, ["c2"]);
    }

    #[test]
    fn the_experiments_go_in_one_query_parameter() {
        let request = compare(["main", "pr-42"])
            .changed_only()
            .config(&Config::new().url("http://lemma:4318/"));
        let (_, url) = request.prepare().unwrap();
        assert_eq!(
            url.as_str(),
            "http://lemma:4318/api/v1/compare?experiments=main%2Cpr-42&changed=true"
        );
    }
}
