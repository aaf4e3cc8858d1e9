//! Experiments: an agent run over every case of a dataset, each answer scored, and the runs
//! linked to their cases, so that Lemma compares experiments case by case
//! ([`compare`](crate::compare)).
//!
//! Datasets and experiments are kept by Lemma (`/api/v1/datasets`, `/api/v1/experiments`);
//! the cases run here, each as a traced run of its own, and each score is posted as a metric
//! event on its run (`source` "experiment"), where Lemma's comparison reads it.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::stream::{self, StreamExt};
use reqwest::{Method, Url};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::api::{json_answer, ApiTarget, Target};
use crate::compare::CompareRequest;
use crate::config::Config;
use crate::metric::MetricValue;
use crate::scorers::{Score, Scorer};
use crate::setup::flush_exports;
use crate::span::RunId;
use crate::Error;

/// Links per request: a dataset may hold 100,000 cases.
const LINK_BATCH: usize = 1000;

/// One test case of a dataset: what the agent is given, and optionally what it should answer.
///
/// ```
/// use lemma_sdk::Case;
/// use serde_json::json;
///
/// let case = Case::new("2+2").id("add").expected("4").tag("easy");
/// assert_eq!(serde_json::to_value(&case).unwrap(),
///            json!({"id": "add", "input": "2+2", "expected": "4", "tags": ["easy"]}));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// Stable across the dataset's versions; assigned by Lemma (`case-<n>`) when left empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// What the agent is given.
    pub input: Value,
    /// What it should answer, for the scorers that compare.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<Value>,
    /// Free-form fields.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
    /// Labels; they become the tags of the case's run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

impl Case {
    /// A case of `input` (text, a number, or any JSON with `serde_json::json!`).
    pub fn new(input: impl Into<Value>) -> Case {
        Case {
            input: input.into(),
            ..Case::default()
        }
    }

    /// Its id (1–128 letters, digits, `_`, `-`, `.` or `:`).
    pub fn id(mut self, id: impl Into<String>) -> Case {
        self.id = id.into();
        self
    }

    /// What the agent should answer.
    pub fn expected(mut self, expected: impl Into<Value>) -> Case {
        self.expected = Some(expected.into());
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, tag: impl Into<String>) -> Case {
        self.tags.push(tag.into());
        self
    }

    /// Sets a metadata field.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<Value>) -> Case {
        self.metadata.insert(key.into(), value.into());
        self
    }
}

/// How the agent did on one case.
#[derive(Clone, Debug, PartialEq)]
pub struct CaseResult {
    /// The case.
    pub case_id: String,
    /// The run that answered it (its agent span's trace id).
    pub run_id: RunId,
    /// The case's input.
    pub input: Value,
    /// The case's expected answer, if it has one.
    pub expected: Option<Value>,
    /// What the agent returned, as JSON; `None` when it failed.
    pub output: Option<Value>,
    /// The agent's error, when it returned one.
    pub error: Option<String>,
    /// Each score recorded on the run, by scorer name.
    pub scores: BTreeMap<String, Score>,
    /// The scorers that failed (or whose score Lemma refused), and why: nothing was recorded.
    pub score_errors: BTreeMap<String, String>,
}

impl CaseResult {
    /// Whether the agent failed on this case.
    pub fn failed(&self) -> bool {
        self.error.is_some()
    }
}

/// What [`Experiment::run`] did: the experiment, each case's run and scores.
#[derive(Clone, Debug)]
pub struct ExperimentResult {
    /// The experiment's name.
    pub name: String,
    /// The dataset it ran over.
    pub dataset: String,
    /// The dataset's version it ran over.
    pub dataset_version: u32,
    /// In the dataset's order.
    pub cases: Vec<CaseResult>,
    /// Each score's mean over the cases that have it (booleans as 1 and 0).
    pub scores: BTreeMap<String, f64>,
    /// The experiment over the same dataset made just before this one, if any.
    pub previous: Option<String>,
    /// `{url}/api/v1/compare?experiments=<previous>,<name>`, when there is a previous one.
    pub compare_url: Option<String>,
    /// `{url}/api/v1/experiments/<name>`: the experiment and its linked runs.
    pub url: String,
    target: ApiTarget,
}

impl ExperimentResult {
    /// The cases the agent failed on.
    pub fn failed(&self) -> impl Iterator<Item = &CaseResult> {
        self.cases.iter().filter(|c| c.failed())
    }

    /// This experiment compared with `baseline` (e.g. [`previous`](Self::previous)), the
    /// baseline first, on the same server; see [`compare`](crate::compare).
    pub fn compare(&self, baseline: &str) -> CompareRequest {
        CompareRequest::new(vec![baseline.to_string(), self.name.clone()])
            .target(Target::Given(self.target.clone()))
    }
}

/// Starts an experiment over dataset `dataset`: its latest version (or
/// [`version`](Experiment::version)), or the cases [`cases`](Experiment::cases) gives, kept
/// under that name. Nothing happens until [`run`](Experiment::run).
///
/// ```no_run
/// # async fn f() -> Result<(), lemma_sdk::Error> {
/// use lemma_sdk::{experiment, scorers, Case};
///
/// let result = experiment("arithmetic")
///     .cases([Case::new("2+2").expected("4"), Case::new("3*5").expected("15")])
///     .scorer(scorers::exact_match())
///     .scorer(scorers::from_fn("short", |output, _| output.is_some_and(|o| o.to_string().len() < 5)))
///     .agent_name("calculator")
///     .run(|case| async move { Ok::<_, std::io::Error>(answer(&case.input)) })
///     .await?;
/// println!("{}: {:?}", result.name, result.scores);
/// if let Some(previous) = &result.previous {
///     let comparison = result.compare(previous).await?;
///     assert_eq!(comparison.regressions, 0, "{:?}", comparison.regressed().collect::<Vec<_>>());
/// }
/// # Ok(()) }
/// # fn answer(_: &serde_json::Value) -> String { String::new() }
/// ```
pub fn experiment(dataset: impl Into<String>) -> Experiment {
    Experiment {
        dataset: dataset.into(),
        cases: None,
        version: None,
        name: None,
        description: String::new(),
        metadata: Map::new(),
        scorers: Vec::new(),
        concurrency: 4,
        agent_name: "experiment_agent".to_string(),
        target: Target::Default,
    }
}

/// An experiment about to run; see [`experiment`].
#[must_use = "nothing happens until `run(agent).await`"]
pub struct Experiment {
    dataset: String,
    cases: Option<Vec<Case>>,
    version: Option<u32>,
    name: Option<String>,
    description: String,
    metadata: Map<String, Value>,
    scorers: Vec<Box<dyn Scorer>>,
    concurrency: usize,
    agent_name: String,
    target: Target,
}

impl fmt::Debug for Experiment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scorers: Vec<&str> = self.scorers.iter().map(|s| s.name()).collect();
        f.debug_struct("Experiment")
            .field("dataset", &self.dataset)
            .field("cases", &self.cases.as_ref().map(Vec::len))
            .field("version", &self.version)
            .field("name", &self.name)
            .field("scorers", &scorers)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

impl Experiment {
    /// Keeps these cases as the dataset: it is created, or given a new version when its latest
    /// has other cases (a program run again adds no version).
    pub fn cases(mut self, cases: impl IntoIterator<Item = Case>) -> Self {
        self.cases = Some(cases.into_iter().collect());
        self
    }

    /// Runs this version of the dataset instead of its latest.
    pub fn version(mut self, version: u32) -> Self {
        self.version = Some(version);
        self
    }

    /// The experiment's name (unique in the project); default `<dataset>-<UTC time>`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// What the experiment tries.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Sets a metadata field of the experiment, e.g. the model tried.
    pub fn metadata<T: Serialize + ?Sized>(mut self, key: impl Into<String>, value: &T) -> Self {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        self.metadata.insert(key.into(), value);
        self
    }

    /// Adds a scorer (see [`scorers`](crate::scorers)); its name is the metric its scores are
    /// recorded as.
    pub fn scorer(mut self, scorer: impl Scorer + 'static) -> Self {
        self.scorers.push(Box::new(scorer));
        self
    }

    /// How many cases run at once (default 4; 0 counts as 1).
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// The agent name of each case's run (default `experiment_agent`).
    pub fn agent_name(mut self, name: impl Into<String>) -> Self {
        self.agent_name = name.into();
        self
    }

    /// Uses the server `config` names (its URL, key and timeout) instead of the default. An
    /// invalid URL is reported by `run`.
    pub fn config(mut self, config: &Config) -> Self {
        self.target = Target::from_config(config);
        self
    }

    /// Runs `agent` on every case, each inside a run of its own ([`agent`](crate::agent),
    /// named [`agent_name`](Self::agent_name)) whose input is the case's, output what `agent`
    /// returns, metadata `case_id` and `experiment`, and tags the case's. An `Err` fails the
    /// run and is recorded; the other cases go on. Each scorer then scores the answer (`None`
    /// as the output after an `Err`), each score is posted as a metric event on the case's run,
    /// each case is linked to its run, and every span is flushed.
    ///
    /// Needs a tokio runtime (reqwest's async client) and tracing set up with
    /// [`init`](crate::init) (or [`span_processor`](crate::span_processor)). Fails with
    /// [`Error::Api`] when Lemma refuses the dataset (400, naming the first bad case), has no
    /// such dataset (404), or already has an experiment of that name (409);
    /// [`Error::InvalidExperiment`] for a scorer without a metric name, or no tracing.
    pub async fn run<F, Fut, T, E>(self, agent: F) -> Result<ExperimentResult, Error>
    where
        F: Fn(Case) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        T: Serialize,
        E: fmt::Display + fmt::Debug,
    {
        self.check_scorers()?;
        let target = self.target.resolve()?;
        let version = self.dataset_version(&target).await?;
        let name = self
            .name
            .clone()
            .unwrap_or_else(|| format!("{}-{}", version.name, utc_stamp(SystemTime::now())));

        let mut listing = target.api_url(&["experiments"]);
        listing
            .query_pairs_mut()
            .append_pair("dataset", &version.name);
        let listed = call(&target, Method::GET, listing, None).await?;
        let previous = listed["experiments"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["name"].as_str())
            .find(|n| *n != name)
            .map(str::to_string);
        let body = json!({
            "name": name,
            "dataset": version.name,
            "dataset_version": version.version,
            "description": self.description,
            "metadata": self.metadata,
        });
        call(
            &target,
            Method::POST,
            target.api_url(&["experiments"]),
            Some(&body),
        )
        .await?;

        // In order, a few at a time, all in this task.
        let results: Vec<Result<CaseResult, Error>> = stream::iter(&version.cases)
            .map(|case| self.run_case(&target, &agent, &name, case))
            .buffered(self.concurrency)
            .collect()
            .await;
        let results = results.into_iter().collect::<Result<Vec<_>, _>>()?;

        let links: Vec<Value> = results
            .iter()
            .map(|r| json!({"case_id": r.case_id, "run_id": r.run_id.as_str()}))
            .collect();
        for batch in links.chunks(LINK_BATCH) {
            let url = target.api_url(&["experiments", &name, "runs"]);
            call(&target, Method::POST, url, Some(&json!({ "runs": batch }))).await?;
        }
        // The comparison reads each run's status and output from its spans.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let _ = runtime.spawn_blocking(flush_exports).await;
            }
            Err(_) => flush_exports(),
        }

        let compare_url = previous.as_ref().map(|p| {
            let mut url = target.api_url(&["compare"]);
            url.set_query(Some(&format!("experiments={p},{name}")));
            url.to_string()
        });
        Ok(ExperimentResult {
            url: target.api_url(&["experiments", &name]).to_string(),
            scores: means(&results),
            name,
            dataset: version.name,
            dataset_version: version.version,
            cases: results,
            previous,
            compare_url,
            target,
        })
    }

    /// Scorer names are metric names, one scorer each.
    fn check_scorers(&self) -> Result<(), Error> {
        let mut seen = std::collections::BTreeSet::new();
        for scorer in &self.scorers {
            let name = scorer.name();
            let valid = (1..=128).contains(&name.len())
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'));
            if !valid {
                return Err(Error::InvalidExperiment(format!(
                    "a scorer's name is a metric name (1-128 letters, digits, '_', '-', '.' or \
                     ':'), not {name:?}: rename it with `.named(...)`"
                )));
            }
            if !seen.insert(name) {
                return Err(Error::InvalidExperiment(format!(
                    "two scorers are named {name:?}: rename one with `.named(...)`"
                )));
            }
        }
        Ok(())
    }

    /// Runs one case in a run of its own, then scores it; only tracing being off fails it.
    async fn run_case<F, Fut, T, E>(
        &self,
        target: &ApiTarget,
        agent: &F,
        experiment: &str,
        case: &Case,
    ) -> Result<CaseResult, Error>
    where
        F: Fn(Case) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        T: Serialize,
        E: fmt::Display + fmt::Debug,
    {
        let traced = {
            // A run of its own, even when the experiment is run inside another run.
            let _root = opentelemetry::Context::new().attach();
            crate::agent(self.agent_name.clone())
                .input(&case.input)
                .metadata("case_id", &case.id)
                .metadata("experiment", experiment)
                .tags(case.tags.iter().cloned())
                .run(|run| {
                    // Without tracing no run could be linked: the agent is not called at all.
                    let answer = run.run_id().is_valid().then(|| agent(case.clone()));
                    async move {
                        match answer {
                            Some(answer) => answer.await.map(Some),
                            None => Ok(None),
                        }
                    }
                })
        };
        let (answer, run_id) = traced.await;
        if !run_id.is_valid() {
            return Err(Error::InvalidExperiment(
                "each case is recorded as a run: set up tracing with lemma_sdk::init first".into(),
            ));
        }
        let (output, error) = match answer {
            Ok(output) => (output.and_then(|o| serde_json::to_value(o).ok()), None),
            Err(e) => (None, Some(e.to_string())),
        };

        let mut scores = BTreeMap::new();
        let mut score_errors = BTreeMap::new();
        for scorer in &self.scorers {
            let name = scorer.name();
            let score = match scorer.score(output.as_ref(), case).await {
                Ok(Some(score)) => score,
                Ok(None) => continue,
                Err(reason) => {
                    score_errors.insert(name.to_string(), reason);
                    continue;
                }
            };
            let value = match score {
                Score::Bool(b) => MetricValue::Bool(b),
                Score::Number(n) => MetricValue::Number(n),
            };
            let posted = crate::metric(&run_id, name, value)
                .source("experiment")
                .target(Target::Given(target.clone()))
                .send()
                .await;
            match posted {
                Ok(_) => {
                    scores.insert(name.to_string(), score);
                }
                Err(e) => {
                    score_errors.insert(name.to_string(), format!("not recorded: {e}"));
                }
            }
        }
        Ok(CaseResult {
            case_id: case.id.clone(),
            run_id,
            input: case.input.clone(),
            expected: case.expected.clone(),
            output,
            error,
            scores,
            score_errors,
        })
    }

    /// The dataset version to run, as Lemma has it (cases with their ids).
    async fn dataset_version(&self, target: &ApiTarget) -> Result<DatasetVersion, Error> {
        let url = target.api_url(&["datasets", &self.dataset]);
        let Some(cases) = &self.cases else {
            let mut url = url;
            if let Some(v) = self.version {
                url.query_pairs_mut().append_pair("version", &v.to_string());
            }
            return match call(target, Method::GET, url, None).await {
                Err(Error::Api {
                    status: 404, code, ..
                }) => {
                    let version = self
                        .version
                        .map(|v| format!(" version {v}"))
                        .unwrap_or_default();
                    Err(Error::Api {
                        status: 404,
                        code,
                        message: format!(
                            "no dataset {:?}{version}: create it (POST /api/v1/datasets), or give \
                             its cases with `.cases(...)`",
                            self.dataset
                        ),
                    })
                }
                answer => read_version(answer?),
            };
        };
        if self.version.is_some() {
            return Err(Error::InvalidExperiment(
                "`.version(...)` runs a version Lemma has, not the cases `.cases(...)` gives"
                    .into(),
            ));
        }
        let made = json!({"name": self.dataset, "cases": cases});
        match call(
            target,
            Method::POST,
            target.api_url(&["datasets"]),
            Some(&made),
        )
        .await
        {
            Err(Error::Api { status: 409, .. }) => {}
            answer => return read_version(answer?),
        }
        let latest = read_version(call(target, Method::GET, url.clone(), None).await?)?;
        if same_cases(&latest.cases, cases) {
            return Ok(latest);
        }
        // A new version keeps the dataset's description.
        let body = json!({
            "cases": cases,
            "expected_version": latest.version,
            "description": latest.description,
        });
        read_version(call(target, Method::PUT, url, Some(&body)).await?)
    }
}

/// A dataset version as Lemma answers it.
#[derive(Deserialize)]
struct DatasetVersion {
    name: String,
    #[serde(default)]
    description: String,
    version: u32,
    cases: Vec<Case>,
}

fn read_version(json: Value) -> Result<DatasetVersion, Error> {
    serde_json::from_value(json).map_err(|e| Error::UnexpectedResponse(format!("a dataset: {e}")))
}

/// Whether Lemma's cases are the given ones (ids only compared where given).
fn same_cases(stored: &[Case], given: &[Case]) -> bool {
    stored.len() == given.len()
        && stored.iter().zip(given).all(|(have, want)| {
            (want.id.is_empty() || want.id == have.id)
                && have.input == want.input
                && have.expected == want.expected
                && have.metadata == want.metadata
                && have.tags == want.tags
        })
}

/// One call to Lemma's REST API: the answer's JSON, or the server's error.
pub(crate) async fn call(
    target: &ApiTarget,
    method: Method,
    url: Url,
    body: Option<&Value>,
) -> Result<Value, Error> {
    let (status, answer) = target.send(method, &url, body).await?;
    json_answer(status, &answer)
}

fn means(results: &[CaseResult]) -> BTreeMap<String, f64> {
    let mut sums: BTreeMap<String, (f64, u32)> = BTreeMap::new();
    for score in results.iter().flat_map(|r| &r.scores) {
        let sum = sums.entry(score.0.clone()).or_default();
        sum.0 += score.1.as_f64();
        sum.1 += 1;
    }
    sums.into_iter()
        .map(|(name, (sum, n))| (name, sum / f64::from(n)))
        .collect()
}

/// The time as a name may hold it: `20260301T101502.123Z`.
fn utc_stamp(now: SystemTime) -> String {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let seconds = since.as_secs();
    let (year, month, day) = civil_date(seconds / 86_400);
    let time = seconds % 86_400;
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}.{:03}Z",
        time / 3600,
        time % 3600 / 60,
        time % 60,
        since.subsec_millis()
    )
}

/// The Gregorian date `days` days after 1970-01-01.
fn civil_date(mut days: u64) -> (u64, u64, u64) {
    let leap = |y: u64| (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    let mut year = 1970;
    loop {
        let length = if leap(year) { 366 } else { 365 };
        if days < length {
            break;
        }
        days -= length;
        year += 1;
    }
    let february = if leap(year) { 29 } else { 28 };
    let mut month = 1;
    for length in [31, february, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] {
        if days < length {
            break;
        }
        days -= length;
        month += 1;
    }
    (year, month, days + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_name_holds_the_utc_time() {
        let at = |seconds: u64, millis: u64| {
            utc_stamp(UNIX_EPOCH + Duration::from_secs(seconds) + Duration::from_millis(millis))
        };
        assert_eq!(at(0, 0), "19700101T000000.000Z");
        // 2024-02-29 (a leap day) 13:05:09.042, and the day after.
        assert_eq!(at(1_709_211_909, 42), "20240229T130509.042Z");
        assert_eq!(at(1_709_251_200, 0), "20240301T000000.000Z");
        assert_eq!(at(1_735_689_599, 999), "20241231T235959.999Z");
    }

    #[test]
    fn cases_write_what_is_set_and_read_what_lemma_sends() {
        let case = Case::new(serde_json::json!({"q": 1}))
            .expected("a")
            .metadata("source", "tickets");
        assert_eq!(
            serde_json::to_value(&case).unwrap(),
            json!({"input": {"q": 1}, "expected": "a", "metadata": {"source": "tickets"}})
        );
        let read: Case = serde_json::from_value(json!({"id": "case-1", "input": "hi"})).unwrap();
        assert_eq!(read, Case::new("hi").id("case-1"));
    }

    #[test]
    fn the_same_cases_are_those_lemma_has_ids_aside_where_none_was_given() {
        let stored = vec![
            Case::new("a").id("case-1").expected(1),
            Case::new("b").id("x"),
        ];
        assert!(same_cases(
            &stored,
            &[Case::new("a").expected(1), Case::new("b").id("x")]
        ));
        assert!(!same_cases(
            &stored,
            &[Case::new("a").expected(2), Case::new("b")]
        ));
        assert!(!same_cases(
            &stored,
            &[Case::new("a").expected(1), Case::new("b").id("y")]
        ));
        assert!(!same_cases(&stored, &[Case::new("a").expected(1)]));
    }

    #[test]
    fn scorers_need_metric_names_one_each() {
        let bad = experiment("ds").scorer(crate::scorers::contains("x").named("no spaces"));
        assert!(
            matches!(bad.check_scorers(), Err(Error::InvalidExperiment(m)) if m.contains("\"no spaces\""))
        );
        let twice = experiment("ds")
            .scorer(crate::scorers::exact_match())
            .scorer(crate::scorers::exact_match());
        assert!(
            matches!(twice.check_scorers(), Err(Error::InvalidExperiment(m)) if m.contains("two scorers"))
        );
        assert!(experiment("ds")
            .scorer(crate::scorers::exact_match())
            .scorer(crate::scorers::contains("x"))
            .check_scorers()
            .is_ok());
    }
}
