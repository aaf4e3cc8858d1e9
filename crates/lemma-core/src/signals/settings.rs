//! A project's thresholds for the signals found by rules, with defaults for every one.

use serde::{Deserialize, Serialize};

/// The thresholds [`super::detect`] applies. Missing fields take their defaults, so a project
/// can set one threshold and keep the rest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct SignalSettings {
    /// Off: no signal is found by rules, attributes or evaluations (loops still come with the
    /// run's summary).
    pub enabled: bool,
    /// Repeats that make a stretch of similar calls or a cycle of calls a signal (≥ 2).
    pub repeats: u32,
    /// How alike two calls' arguments must be (0–1, trigram similarity) for `similar_calls`.
    pub similar_arguments: f64,
    /// Failed tool or model calls in a row that make an `error_streak` (≥ 2).
    pub error_streak: u32,
    /// Failures of one tool in a run that make `tool_failing` (≥ 2).
    pub tool_failures: u32,
    /// A run using this many times its agent's median tokens or cost is a spike (> 1).
    pub spike_factor: f64,
    /// Finished runs of the agent needed before spikes are judged.
    pub spike_min_runs: u32,
    /// Tokens a run must use before it can be a token spike.
    pub spike_min_tokens: u64,
    /// Share of the model's context window a call's input may fill before `context_window`
    /// (0–1).
    pub context_share: f64,
    /// Sub-agents nested deeper than this make `agent_depth`.
    pub max_agent_depth: u32,
    /// More sub-agents started by one span than this make `fan_out`.
    pub max_fan_out: u32,
    /// An open run (root not ended) with no new span for this long is `stalled`.
    pub stall_after_secs: u64,
    /// How alike a user's message must be to the previous one (0–1) to be a `rephrase`.
    pub rephrase_similarity: f64,
    /// A thread whose last turn went wrong and that saw no new turn for this long is
    /// `abandoned`.
    pub abandon_after_secs: u64,
    /// An HTTP classifier each finished run is sent to (off unless set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classifier: Option<ClassifierSettings>,
}

/// A classifier Lemma calls with each finished run's text and tool calls; what it answers
/// (a label and a score) becomes a signal of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ClassifierSettings {
    /// Where runs are POSTed (http or https).
    pub url: String,
    /// The share of finished runs sent, 0–1 (chosen by run ID, so every server picks the
    /// same runs).
    #[serde(default = "all")]
    pub sample_rate: f64,
    /// At most this many calls per day, per server.
    #[serde(default = "thousand")]
    pub daily_budget: u32,
}

fn all() -> f64 {
    1.0
}

fn thousand() -> u32 {
    1_000
}

impl ClassifierSettings {
    /// Whether a run is in the sample: the run ID's first 8 hex digits as a share of all.
    pub fn samples(&self, run_id: &str) -> bool {
        let head = u32::from_str_radix(run_id.get(..8).unwrap_or("0"), 16).unwrap_or(0);
        (f64::from(head) / f64::from(u32::MAX)) < self.sample_rate
    }
}

impl Default for SignalSettings {
    fn default() -> Self {
        SignalSettings {
            enabled: true,
            repeats: 3,
            similar_arguments: 0.85,
            error_streak: 3,
            tool_failures: 3,
            spike_factor: 3.0,
            spike_min_runs: 5,
            spike_min_tokens: 2_000,
            context_share: 0.9,
            max_agent_depth: 5,
            max_fan_out: 25,
            stall_after_secs: 300,
            rephrase_similarity: 0.6,
            abandon_after_secs: 1_800,
            classifier: None,
        }
    }
}

/// The longest a time threshold may be: 30 days.
const MAX_SECS: u64 = 30 * 86_400;

impl SignalSettings {
    /// Why the settings cannot be used, naming the field and its range.
    pub fn validate(&self) -> Result<(), String> {
        let share = |name: &str, v: f64| {
            (v.is_finite() && v > 0.0 && v <= 1.0)
                .then_some(())
                .ok_or(format!("{name} must be more than 0 and at most 1, not {v}"))
        };
        let count = |name: &str, v: u32, min: u32| {
            (min..=10_000)
                .contains(&v)
                .then_some(())
                .ok_or(format!("{name} must be from {min} to 10000, not {v}"))
        };
        let secs = |name: &str, v: u64| {
            (1..=MAX_SECS).contains(&v).then_some(()).ok_or(format!(
                "{name} must be from 1 to {MAX_SECS} seconds, not {v}"
            ))
        };
        count("repeats", self.repeats, 2)?;
        share("similar_arguments", self.similar_arguments)?;
        count("error_streak", self.error_streak, 2)?;
        count("tool_failures", self.tool_failures, 2)?;
        if !(self.spike_factor.is_finite() && self.spike_factor > 1.0 && self.spike_factor <= 1e6) {
            return Err(format!(
                "spike_factor must be more than 1 and at most 1000000, not {}",
                self.spike_factor
            ));
        }
        count("spike_min_runs", self.spike_min_runs, 1)?;
        share("context_share", self.context_share)?;
        count("max_agent_depth", self.max_agent_depth, 1)?;
        count("max_fan_out", self.max_fan_out, 1)?;
        secs("stall_after_secs", self.stall_after_secs)?;
        share("rephrase_similarity", self.rephrase_similarity)?;
        secs("abandon_after_secs", self.abandon_after_secs)?;
        if let Some(c) = &self.classifier {
            let lower = c.url.to_ascii_lowercase();
            if !(lower.starts_with("http://") || lower.starts_with("https://"))
                || c.url.len() > 2_000
            {
                return Err(format!(
                    "classifier.url must be an http:// or https:// URL, not {:?}",
                    c.url
                ));
            }
            if !(c.sample_rate.is_finite() && c.sample_rate > 0.0 && c.sample_rate <= 1.0) {
                return Err(format!(
                    "classifier.sample_rate must be more than 0 and at most 1, not {}",
                    c.sample_rate
                ));
            }
            if !(1..=10_000_000).contains(&c.daily_budget) {
                return Err(format!(
                    "classifier.daily_budget must be from 1 to 10000000 calls, not {}",
                    c.daily_budget
                ));
            }
        }
        Ok(())
    }
}
