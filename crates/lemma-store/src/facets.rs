//! Values a filter can take, for suggestions: which agents, models, tools, tags, users,
//! threads, environments and metadata the newest runs hold, each with how many runs hold it.
//!
//! A store reads the fields of the newest [`FACET_RUNS`] runs matching a filter
//! (`Store::run_facets`); counting them is this pure step, the same for every store. A bound
//! sample rather than the whole store: suggestions must answer at once in a store of any size,
//! and what the newest runs hold is what a user is looking for.

use std::collections::{BTreeSet, HashMap};

use lemma_core::pricing::model_family;
use serde::Serialize;

/// How many runs, newest first, suggestions are drawn from.
pub const FACET_RUNS: usize = 10_000;

/// One run's values of the suggested fields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunFacets {
    pub agents: Vec<String>,
    pub models: Vec<String>,
    pub tools: Vec<String>,
    pub tags: Vec<String>,
    pub user_id: Option<String>,
    pub thread_id: Option<String>,
    pub environment: Option<String>,
    /// Metadata keys and their values as filters compare them (`meta.<key>:`).
    pub metadata: Vec<(String, Option<String>)>,
}

/// A field values are suggested for, named as in the query language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FacetField {
    Agent,
    Model,
    Tool,
    Tag,
    User,
    Thread,
    Env,
    /// Metadata keys (`meta.<key>` fields).
    MetaKey,
    /// The values of one metadata key.
    Meta(String),
}

/// A value and the number of runs (of those read) holding it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ValueCount {
    pub value: String,
    pub runs: u64,
}

impl FacetField {
    /// Field names the API takes, for its errors and its documentation.
    pub const NAMES: &'static str = "agent, model, tool, tag, user, thread, env, meta (the \
        metadata keys) or meta.<key> (one key's values)";

    pub fn parse(name: &str) -> Option<FacetField> {
        Some(match name {
            "agent" => FacetField::Agent,
            "model" => FacetField::Model,
            "tool" => FacetField::Tool,
            "tag" | "tags" => FacetField::Tag,
            "user" => FacetField::User,
            "thread" => FacetField::Thread,
            "env" | "environment" => FacetField::Env,
            "meta" => FacetField::MetaKey,
            _ => {
                let key = name.strip_prefix("meta.")?;
                if key.is_empty() {
                    return None;
                }
                FacetField::Meta(key.to_string())
            }
        })
    }

    /// The distinct values of this field in one run. A model also stands for its family
    /// (`gpt-4o` for `gpt-4o-2024-08-06`), since `model:gpt-4o` finds both.
    fn of(&self, run: &RunFacets) -> BTreeSet<String> {
        let list = |v: &[String]| v.iter().cloned().collect();
        let one = |v: &Option<String>| v.iter().cloned().collect();
        match self {
            FacetField::Agent => list(&run.agents),
            FacetField::Model => run
                .models
                .iter()
                .flat_map(|m| [m.clone(), model_family(m).to_string()])
                .collect(),
            FacetField::Tool => list(&run.tools),
            FacetField::Tag => list(&run.tags),
            FacetField::User => one(&run.user_id),
            FacetField::Thread => one(&run.thread_id),
            FacetField::Env => one(&run.environment),
            FacetField::MetaKey => run.metadata.iter().map(|(k, _)| k.clone()).collect(),
            FacetField::Meta(key) => run
                .metadata
                .iter()
                .filter(|(k, _)| k == key)
                .filter_map(|(_, v)| v.clone())
                .collect(),
        }
    }
}

/// The values of `field` in `runs` that start with `prefix` (ignoring case), most common first
/// (then alphabetically), at most `limit` of them.
pub fn values(
    runs: &[RunFacets],
    field: &FacetField,
    prefix: &str,
    limit: usize,
) -> Vec<ValueCount> {
    let prefix = prefix.to_lowercase();
    let mut counts: HashMap<String, u64> = HashMap::new();
    for run in runs {
        for value in field.of(run) {
            if value.to_lowercase().starts_with(&prefix) {
                *counts.entry(value).or_default() += 1;
            }
        }
    }
    let mut out: Vec<ValueCount> = counts
        .into_iter()
        .map(|(value, runs)| ValueCount { value, runs })
        .collect();
    out.sort_by(|a, b| b.runs.cmp(&a.runs).then_with(|| a.value.cmp(&b.value)));
    out.truncate(limit);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(agents: &[&str], models: &[&str], meta: &[(&str, Option<&str>)]) -> RunFacets {
        RunFacets {
            agents: agents.iter().map(|s| s.to_string()).collect(),
            models: models.iter().map(|s| s.to_string()).collect(),
            metadata: meta
                .iter()
                .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
                .collect(),
            ..RunFacets::default()
        }
    }

    fn pairs(v: Vec<ValueCount>) -> Vec<(String, u64)> {
        v.into_iter().map(|c| (c.value, c.runs)).collect()
    }

    #[test]
    fn counts_runs_not_occurrences_most_common_first() {
        let runs = [
            run(&["support-agent", "search", "search"], &[], &[]),
            run(&["support-agent"], &[], &[]),
            run(&["Billing"], &[], &[]),
        ];
        let s = |v: &str, n| (v.to_string(), n);
        assert_eq!(
            pairs(values(&runs, &FacetField::Agent, "", 10)),
            [s("support-agent", 2), s("Billing", 1), s("search", 1)]
        );
        assert_eq!(
            pairs(values(&runs, &FacetField::Agent, "bi", 10)),
            [s("Billing", 1)],
            "a prefix matches ignoring case"
        );
        assert_eq!(values(&runs, &FacetField::Agent, "", 1).len(), 1);
    }

    #[test]
    fn a_snapshot_also_counts_for_its_model() {
        let runs = [
            run(&[], &["gpt-4o-2024-08-06"], &[]),
            run(&[], &["gpt-4o", "gpt-4o-mini-2024-07-18"], &[]),
        ];
        let got = pairs(values(&runs, &FacetField::Model, "gpt-4o", 10));
        assert_eq!(got[0], ("gpt-4o".to_string(), 2));
        assert!(got.contains(&("gpt-4o-mini".to_string(), 1)));
        assert!(got.contains(&("gpt-4o-2024-08-06".to_string(), 1)));
    }

    #[test]
    fn metadata_keys_and_values() {
        let runs = [
            run(&[], &[], &[("plan", Some("pro")), ("beta", None)]),
            run(&[], &[], &[("plan", Some("free"))]),
        ];
        assert_eq!(
            pairs(values(&runs, &FacetField::MetaKey, "", 10)),
            [("plan".to_string(), 2), ("beta".to_string(), 1)]
        );
        assert_eq!(
            pairs(values(
                &runs,
                &FacetField::parse("meta.plan").unwrap(),
                "p",
                10
            )),
            [("pro".to_string(), 1)]
        );
    }

    #[test]
    fn field_names() {
        assert_eq!(FacetField::parse("environment"), Some(FacetField::Env));
        assert_eq!(FacetField::parse("meta."), None);
        assert_eq!(FacetField::parse("status"), None);
    }
}
