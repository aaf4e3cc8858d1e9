//! Datasets, their cases and versions, and experiments over them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Cases one dataset version may hold.
pub const MAX_CASES: usize = 100_000;
const MAX_ID: usize = 128;
const MAX_TAGS: usize = 32;

/// One test case: what the agent is given, and optionally what it should answer.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Stable across versions, so experiments of two versions compare case by case; assigned
    /// (`case-<n>`) when left out.
    #[serde(default)]
    pub id: String,
    pub input: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<Value>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

/// A dataset as it was at one version: never changed once made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DatasetVersion {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// From 1.
    pub version: u32,
    pub created_at_unix_nano: u64,
    pub cases: Vec<Case>,
}

/// A dataset as listed: its latest version, without the cases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DatasetInfo {
    pub name: String,
    pub description: String,
    pub version: u32,
    pub cases: u64,
    pub updated_at_unix_nano: u64,
}

/// One run of an agent over one dataset version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Experiment {
    /// Unique in the project; `experiment:<name>` finds its runs.
    pub name: String,
    pub dataset: String,
    pub dataset_version: u32,
    #[serde(default)]
    pub description: String,
    /// What was tried: the model, the prompt's version, ...
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
    #[serde(default)]
    pub created_at_unix_nano: u64,
}

/// A case of an experiment and the run that answered it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseRun {
    pub case_id: String,
    pub run_id: String,
}

/// Names of datasets and experiments: 1–128 letters, digits, `_`, `-`, `.` or `:`, so they
/// are query values as they are.
pub fn check_name(what: &str, name: &str) -> Result<(), String> {
    if name.is_empty()
        || name.len() > MAX_ID
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
    {
        return Err(format!(
            "a {what} name is 1–128 letters, digits, '_', '-', '.' or ':', not {name:?}"
        ));
    }
    Ok(())
}

impl DatasetVersion {
    /// Assigns missing case ids and checks every case, naming the first wrong one by its
    /// position (from 1).
    pub fn prepare(&mut self) -> Result<(), String> {
        check_name("dataset", &self.name)?;
        if self.description.chars().count() > 4_000 {
            return Err("a dataset's description is at most 4000 characters".into());
        }
        if self.cases.len() > MAX_CASES {
            return Err(format!(
                "a dataset holds at most {MAX_CASES} cases, not {}",
                self.cases.len()
            ));
        }
        // Fresh ids skip every id given, wherever it is.
        let given: std::collections::HashSet<String> = self
            .cases
            .iter()
            .filter(|c| !c.id.is_empty())
            .map(|c| c.id.clone())
            .collect();
        let mut next = 1usize;
        let mut seen = std::collections::HashSet::new();
        for (i, case) in self.cases.iter_mut().enumerate() {
            let at = format!("case {} ", i + 1);
            if case.id.is_empty() {
                while given.contains(&format!("case-{next}"))
                    || seen.contains(&format!("case-{next}"))
                {
                    next += 1;
                }
                case.id = format!("case-{next}");
                next += 1;
            }
            check_name("case", &case.id).map_err(|e| format!("{at}: {e}"))?;
            if !seen.insert(case.id.clone()) {
                return Err(format!("{at}: the id {:?} is used twice", case.id));
            }
            if case.input.is_null() || case.input == Value::String(String::new()) {
                return Err(format!("{at}({}): it has no input", case.id));
            }
            if case.tags.len() > MAX_TAGS || case.tags.iter().any(|t| t.is_empty() || t.len() > 128)
            {
                return Err(format!(
                    "{at}({}): at most {MAX_TAGS} tags of 1–128 characters",
                    case.id
                ));
            }
        }
        Ok(())
    }

    pub fn case(&self, id: &str) -> Option<&Case> {
        self.cases.iter().find(|c| c.id == id)
    }
}

impl Experiment {
    pub fn validate(&self) -> Result<(), String> {
        check_name("experiment", &self.name)?;
        check_name("dataset", &self.dataset)?;
        if self.dataset_version == 0 {
            return Err("dataset_version starts at 1".into());
        }
        if self.description.chars().count() > 4_000 {
            return Err("an experiment's description is at most 4000 characters".into());
        }
        Ok(())
    }
}
