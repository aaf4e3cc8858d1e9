//! Experiments: datasets of test cases, versioned so an old experiment always compares
//! against what it ran over, experiments that link each case to the run that answered it,
//! and the comparison of experiments case by case. Pure: stores keep them, the server and the
//! SDKs run them.

mod compare;
mod dataset;
mod import;
#[cfg(test)]
mod tests;

pub use compare::{compare, CaseResult, CaseRow, Comparison, ExperimentTotals, ScoreDelta};
pub use dataset::{check_name, Case, CaseRun, DatasetInfo, DatasetVersion, Experiment, MAX_CASES};
pub use import::{from_csv, from_jsonl, to_csv, to_jsonl};
