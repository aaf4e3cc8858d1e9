//! Experiments side by side, case by case: each case's run in each experiment (status,
//! output, latency, tokens, cost, scores), totals per experiment, score deltas, and the cases
//! that got worse than in the first experiment (the baseline).
//!
//! Scores are the metric events of each case's run: numbers as they are, booleans as 1 and 0,
//! the latest event of a name counting; higher is better.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Case, CaseRun, Experiment};
use crate::metrics::MetricEvent;
use crate::model::StatusCode;
use crate::run::Run;

/// Score differences smaller than this are equal (floating point noise).
const EPSILON: f64 = 1e-9;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Comparison {
    /// In the order asked; the first is the baseline.
    pub experiments: Vec<ExperimentTotals>,
    /// Each score's mean per experiment, and the last experiment's change from the first.
    pub scores: Vec<ScoreDelta>,
    pub cases: Vec<CaseRow>,
    /// Cases worse in any experiment than in the baseline.
    pub regressions: u64,
    /// Cases whose status, output or scores differ between experiments.
    pub changed: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExperimentTotals {
    pub name: String,
    pub dataset: String,
    pub dataset_version: u32,
    /// Cases with a run.
    pub answered: u64,
    pub failed: u64,
    pub p50_duration_ms: Option<f64>,
    pub mean_duration_ms: Option<f64>,
    pub total_tokens: u64,
    pub cost_usd: Option<f64>,
    /// Each score's mean over the cases that have it.
    pub scores: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScoreDelta {
    pub name: String,
    /// Per experiment, in order; `null` where no case has it.
    pub means: Vec<Option<f64>>,
    /// The last experiment's mean minus the baseline's.
    pub delta: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseRow {
    pub case_id: String,
    pub input: Option<Value>,
    pub expected: Option<Value>,
    /// Per experiment, in order; `null` where the case was not run.
    pub results: Vec<Option<CaseResult>>,
    pub changed: bool,
    pub regression: bool,
    /// Why it is a regression, for a person.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseResult {
    pub run_id: String,
    /// `None` until the run's spans arrive.
    pub status: Option<StatusCode>,
    pub output: Option<Value>,
    pub duration_ms: Option<f64>,
    pub total_tokens: u64,
    pub cost_usd: Option<f64>,
    /// Each metric event's latest value, by name.
    pub scores: BTreeMap<String, Value>,
}

/// Compares experiments over `cases` (the baseline's dataset version; cases only others ran
/// are added after them). `runs` and `metrics` are keyed by run id.
pub fn compare(
    cases: &[Case],
    sides: &[(Experiment, Vec<CaseRun>)],
    runs: &HashMap<String, Run>,
    metrics: &HashMap<String, Vec<MetricEvent>>,
) -> Comparison {
    let mut order: Vec<String> = cases.iter().map(|c| c.id.clone()).collect();
    let known: BTreeSet<String> = order.iter().cloned().collect();
    let mut extra: BTreeSet<String> = BTreeSet::new();
    for (_, links) in sides {
        extra.extend(
            links
                .iter()
                .map(|l| l.case_id.clone())
                .filter(|c| !known.contains(c)),
        );
    }
    order.extend(extra);

    let by_case: Vec<HashMap<&str, &str>> = sides
        .iter()
        .map(|(_, links)| {
            links
                .iter()
                .map(|l| (l.case_id.as_str(), l.run_id.as_str()))
                .collect()
        })
        .collect();
    let mut rows = Vec::with_capacity(order.len());
    for id in &order {
        let case = cases.iter().find(|c| &c.id == id);
        let results: Vec<Option<CaseResult>> = by_case
            .iter()
            .map(|m| m.get(id.as_str()).map(|run| result(run, runs, metrics)))
            .collect();
        let reasons = regressions(&results);
        let changed = results.windows(2).any(|w| differs(&w[0], &w[1]));
        rows.push(CaseRow {
            case_id: id.clone(),
            input: case.map(|c| c.input.clone()),
            expected: case.and_then(|c| c.expected.clone()),
            regression: !reasons.is_empty(),
            reasons,
            changed,
            results,
        });
    }
    let experiments: Vec<ExperimentTotals> = sides
        .iter()
        .enumerate()
        .map(|(i, (e, _))| totals(e, rows.iter().filter_map(|r| r.results[i].as_ref())))
        .collect();
    let names: BTreeSet<&String> = experiments.iter().flat_map(|e| e.scores.keys()).collect();
    let scores = names
        .into_iter()
        .map(|name| {
            let means: Vec<Option<f64>> = experiments
                .iter()
                .map(|e| e.scores.get(name).copied())
                .collect();
            let delta = match (
                means.first().copied().flatten(),
                means.last().copied().flatten(),
            ) {
                (Some(a), Some(b)) if means.len() > 1 => Some(b - a),
                _ => None,
            };
            ScoreDelta {
                name: name.clone(),
                means,
                delta,
            }
        })
        .collect();
    Comparison {
        regressions: rows.iter().filter(|r| r.regression).count() as u64,
        changed: rows.iter().filter(|r| r.changed).count() as u64,
        experiments,
        scores,
        cases: rows,
    }
}

fn result(
    run_id: &str,
    runs: &HashMap<String, Run>,
    metrics: &HashMap<String, Vec<MetricEvent>>,
) -> CaseResult {
    let run = runs.get(run_id);
    let mut scores = BTreeMap::new();
    let mut events: Vec<&MetricEvent> = metrics
        .get(run_id)
        .map(|m| m.iter().collect())
        .unwrap_or_default();
    events.sort_by_key(|e| e.time_unix_nano);
    for e in events {
        scores.insert(
            e.name.clone(),
            serde_json::to_value(&e.value).unwrap_or(Value::Null),
        );
    }
    CaseResult {
        run_id: run_id.to_string(),
        status: run.map(|r| r.status),
        output: run.and_then(|r| r.output.clone()),
        duration_ms: run.map(|r| r.duration_ms),
        total_tokens: run.map_or(0, |r| r.total_tokens),
        cost_usd: run.and_then(|r| r.cost_usd),
        scores,
    }
}

/// A score as a number: numbers as they are, booleans as 1 and 0, text not at all.
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
}

fn differs(a: &Option<CaseResult>, b: &Option<CaseResult>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.status != b.status || a.output != b.output || a.scores != b.scores,
        (None, None) => false,
        _ => true,
    }
}

/// How each experiment's result of a case is worse than the baseline's.
fn regressions(results: &[Option<CaseResult>]) -> Vec<String> {
    let Some(Some(base)) = results.first() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, r) in results.iter().enumerate().skip(1) {
        let Some(r) = r else {
            out.push(format!("not run in experiment {}", i + 1));
            continue;
        };
        if base.status != Some(StatusCode::Error) && r.status == Some(StatusCode::Error) {
            out.push(format!("failed in experiment {}", i + 1));
        }
        for (name, was) in &base.scores {
            let (Some(was), Some(now)) = (number(was), r.scores.get(name).and_then(number)) else {
                continue;
            };
            if now < was - EPSILON {
                out.push(format!(
                    "{name} fell from {was} to {now} in experiment {}",
                    i + 1
                ));
            }
        }
    }
    out
}

fn totals<'a>(e: &Experiment, results: impl Iterator<Item = &'a CaseResult>) -> ExperimentTotals {
    let results: Vec<&CaseResult> = results.collect();
    let mut durations: Vec<f64> = results.iter().filter_map(|r| r.duration_ms).collect();
    durations.sort_by(f64::total_cmp);
    let mut sums: BTreeMap<String, (f64, u64)> = BTreeMap::new();
    for r in &results {
        for (name, v) in &r.scores {
            if let Some(n) = number(v) {
                let s = sums.entry(name.clone()).or_default();
                s.0 += n;
                s.1 += 1;
            }
        }
    }
    let costs: Vec<f64> = results.iter().filter_map(|r| r.cost_usd).collect();
    ExperimentTotals {
        name: e.name.clone(),
        dataset: e.dataset.clone(),
        dataset_version: e.dataset_version,
        answered: results.len() as u64,
        failed: results
            .iter()
            .filter(|r| r.status == Some(StatusCode::Error))
            .count() as u64,
        p50_duration_ms: (!durations.is_empty()).then(|| durations[(durations.len() - 1) / 2]),
        mean_duration_ms: (!durations.is_empty())
            .then(|| durations.iter().sum::<f64>() / durations.len() as f64),
        total_tokens: results.iter().map(|r| r.total_tokens).sum(),
        cost_usd: (!costs.is_empty()).then(|| costs.iter().sum()),
        scores: sums
            .into_iter()
            .map(|(k, (sum, n))| (k, sum / n as f64))
            .collect(),
    }
}
