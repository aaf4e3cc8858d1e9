//! The tools' arguments: their JSON schemas (field docs become the descriptions a model reads)
//! and the checks serde cannot express, each failing with how to fix the call.

use schemars::JsonSchema;
use serde::Deserialize;

/// What a check says when an argument is out of range.
pub type Invalid = String;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchRuns {
    /// Lemma query language, terms ANDed, e.g. `status:error since:24h`,
    /// `agent:support_agent tool:web_search`, `"refund policy" duration>5s`. Empty: all runs.
    #[serde(default)]
    pub query: String,
    /// Runs per page, 1–100 (default 20).
    pub limit: Option<u32>,
    /// The `next_cursor` of a previous page, to read the next one.
    #[serde(default)]
    pub cursor: String,
}

#[derive(Debug, Deserialize, JsonSchema, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum View {
    /// The conversation: each model call's new messages, tool calls with arguments and
    /// results, sub-agents, errors, the final output.
    #[default]
    Transcript,
    /// One line per span (kind, name, duration, model, tokens, tool arguments, error) ending
    /// with the span id to pass to `get_span`.
    Tree,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetRun {
    /// The run ID: 32 hex characters (the trace ID), as `search_runs` lists them.
    pub run_id: String,
    /// `transcript` (default) or `tree`.
    #[serde(default)]
    pub view: View,
    /// Longest answer in characters, 1000–100000 (default 12000). Longer runs are paged.
    pub max_chars: Option<u32>,
    /// The step to start from: the `offset=N` a previous page ended with (default 0).
    #[serde(default)]
    pub offset: u32,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompareExperiments {
    /// Two to ten experiment names; the first is the baseline.
    pub experiments: Vec<String>,
    /// Only the cases whose results differ.
    #[serde(default)]
    pub changed_only: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunSignals {
    /// The run ID (32 hex characters).
    pub run_id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetSpan {
    /// The run ID (32 hex characters).
    pub run_id: String,
    /// The span ID (16 hex characters), as `get_run` with view `tree` shows after `#`.
    pub span_id: String,
    /// Longest answer in characters, 1000–100000 (default 20000). A longer span is paged.
    pub max_chars: Option<u32>,
    /// The character to start from: the `offset=N` a previous page ended with (default 0).
    #[serde(default)]
    pub offset: u32,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListThreads {
    /// Lemma query language over the threads' runs, e.g. `user:u-7 since:7d`. Empty: all.
    #[serde(default)]
    pub query: String,
    /// Threads per page, 1–100 (default 20).
    pub limit: Option<u32>,
    /// The `next_cursor` of a previous page.
    #[serde(default)]
    pub cursor: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetThread {
    /// The thread ID, as `list_threads` or a run shows it.
    pub thread_id: String,
    /// Longest answer in characters, 1000–100000 (default 12000). Longer threads are paged.
    pub max_chars: Option<u32>,
    /// The turn to start from: the `offset=N` a previous page ended with (default 0).
    #[serde(default)]
    pub offset: u32,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetStats {
    /// Lemma query language narrowing the runs, e.g. `agent:support_agent env:prod`.
    #[serde(default)]
    pub query: String,
    /// Start of the range: how long ago (`30m`, `24h`, `7d`), an RFC 3339 time or a date.
    /// Default `24h`.
    #[serde(default)]
    pub from: String,
    /// End of the range, same forms (default now).
    #[serde(default)]
    pub to: String,
    /// Also list the time series, bucketed by this width (`1h`, `1d`, ...).
    #[serde(default)]
    pub series_bucket: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecentErrors {
    /// How far back: how long ago (`30m`, `24h`, `7d`), an RFC 3339 time or a date.
    /// Default `24h`.
    #[serde(default)]
    pub since: String,
    /// More Lemma query language terms, e.g. `agent:support_agent` or `tool:web_search`.
    #[serde(default)]
    pub query: String,
    /// Groups to list, 1–50 (default 10).
    pub limit: Option<u32>,
}

/// A metric's value.
#[derive(Debug, JsonSchema)]
#[serde(untagged)]
pub enum MetricValue {
    Bool(bool),
    Number(f64),
    Text(String),
}

/// By hand, so that a wrong value is refused naming the argument and what it may be.
impl<'de> Deserialize<'de> for MetricValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::Bool(b) => Ok(MetricValue::Bool(b)),
            serde_json::Value::Number(n) => n
                .as_f64()
                .map(MetricValue::Number)
                .ok_or_else(|| serde::de::Error::custom("`value` is not a finite number")),
            serde_json::Value::String(t) => Ok(MetricValue::Text(t)),
            other => Err(serde::de::Error::custom(format!(
                "`value` must be a number, a boolean or a string, not {other}"
            ))),
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMetric {
    /// The run ID (32 hex characters). The run's spans need not have arrived yet.
    pub run_id: String,
    /// The metric's name: 1–128 letters, digits, `_`, `-`, `.` or `:` (e.g. `resolved`,
    /// `quality`, `root_cause`).
    pub name: String,
    /// A number, a boolean, or a string of at most 1000 characters.
    pub value: MetricValue,
    /// Why: at most 4000 characters.
    pub comment: Option<String>,
    /// Who judged: a short label (default `mcp`).
    pub source: Option<String>,
    /// The span it is about (16 hex characters), if one.
    pub span_id: Option<String>,
}

/// `value`, or `default`, checked to lie in `range`.
pub fn within(
    name: &str,
    value: Option<u32>,
    default: u32,
    range: std::ops::RangeInclusive<u32>,
) -> Result<usize, Invalid> {
    let v = value.unwrap_or(default);
    if range.contains(&v) {
        Ok(v as usize)
    } else {
        Err(format!(
            "`{name}` must be between {} and {} (got {v}); leave it out for {default}",
            range.start(),
            range.end()
        ))
    }
}

/// A run ID as the API expects it: 32 hex characters, any case.
pub fn run_id(value: &str) -> Result<String, Invalid> {
    hex_id("run_id", value, 32, "search_runs lists run IDs")
}

/// A span ID: 16 hex characters, any case.
pub fn span_id(value: &str) -> Result<String, Invalid> {
    hex_id(
        "span_id",
        value,
        16,
        "get_run with view \"tree\" shows each span's ID after #",
    )
}

fn hex_id(name: &str, value: &str, len: usize, hint: &str) -> Result<String, Invalid> {
    let v = value.trim().trim_start_matches('#');
    if v.len() == len && v.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(v.to_ascii_lowercase())
    } else {
        Err(format!(
            "`{name}` must be {len} hex characters, not {value:?}; {hint}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked_and_normalised() {
        assert_eq!(
            run_id(" 4BF92F3577B34DA6A3CE929D0E0E4736 ").unwrap(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(span_id("#00f067aa0ba902b7").unwrap(), "00f067aa0ba902b7");
        let e = run_id("run-1").unwrap_err();
        assert!(
            e.contains("32 hex characters") && e.contains("search_runs"),
            "{e}"
        );
        assert!(span_id("xyz").unwrap_err().contains("view \"tree\""));
    }

    #[test]
    fn ranges_name_the_argument_and_the_default() {
        assert_eq!(within("limit", None, 20, 1..=100), Ok(20));
        assert_eq!(within("limit", Some(100), 20, 1..=100), Ok(100));
        let e = within("limit", Some(0), 20, 1..=100).unwrap_err();
        assert_eq!(
            e,
            "`limit` must be between 1 and 100 (got 0); leave it out for 20"
        );
    }

    #[test]
    fn unknown_arguments_and_bad_views_are_refused() {
        let e = serde_json::from_value::<GetRun>(serde_json::json!({"run_id": "x", "viw": "tree"}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("viw"), "{e}");
        let e =
            serde_json::from_value::<GetRun>(serde_json::json!({"run_id": "x", "view": "graph"}))
                .unwrap_err()
                .to_string();
        assert!(e.contains("transcript") && e.contains("tree"), "{e}");
        let v: AddMetric =
            serde_json::from_value(serde_json::json!({"run_id": "x", "name": "ok", "value": true}))
                .unwrap();
        assert!(matches!(v.value, MetricValue::Bool(true)));
        let e = serde_json::from_value::<AddMetric>(
            serde_json::json!({"run_id": "x", "name": "ok", "value": [1]}),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("`value` must be a number, a boolean or a string"),
            "{e}"
        );
    }
}
