//! A project's alert rules and channels, checked as a whole when set.

use serde::{Deserialize, Serialize};

/// Rules a project may have.
pub const MAX_RULES: usize = 100;
/// Channels a project may have.
pub const MAX_CHANNELS: usize = 50;
/// The shortest and longest window a rule may watch.
const MIN_WINDOW_SECS: u64 = 10;
const MAX_WINDOW_SECS: u64 = 30 * 86_400;

/// A project's rules and channels, versioned so two changes made at once cannot lose one.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AlertConfig {
    /// Bumped by every change; 0 until the first.
    pub version: u64,
    pub rules: Vec<AlertRule>,
    pub channels: Vec<Channel>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertRule {
    /// Assigned when the rule is made.
    #[serde(default)]
    pub id: String,
    pub name: String,
    /// Which runs the rule looks at, in the query language (`signal:loop env:prod`); empty
    /// for every run.
    #[serde(default)]
    pub query: String,
    pub condition: AlertCondition,
    /// The ids of the channels it notifies.
    #[serde(default)]
    pub channels: Vec<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// When a rule fires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AlertCondition {
    /// Each run matching the query, as soon as it does (also while it is still going).
    EachRun,
    /// A measure over the runs matching the query that started in the last `window_secs`.
    Window {
        measure: Measure,
        op: CmpOp,
        threshold: f64,
        window_secs: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Runs.
    Count,
    /// Failed runs over runs, 0 to 1.
    ErrorRate,
    /// The 95th percentile of run duration, in milliseconds.
    P95LatencyMs,
    /// The runs' summed cost, in USD.
    CostUsd,
}

impl Measure {
    pub fn name(self) -> &'static str {
        match self {
            Measure::Count => "runs",
            Measure::ErrorRate => "error rate",
            Measure::P95LatencyMs => "p95 latency (ms)",
            Measure::CostUsd => "cost (USD)",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = AlertOp))]
pub enum CmpOp {
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
}

impl CmpOp {
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            CmpOp::Gt => value > threshold,
            CmpOp::Ge => value >= threshold,
            CmpOp::Lt => value < threshold,
            CmpOp::Le => value <= threshold,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
        }
    }
}

/// Where a rule's events go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Channel {
    /// Assigned when the channel is made.
    #[serde(default)]
    pub id: String,
    pub name: String,
    pub kind: ChannelKind,
    /// An http(s) URL the event is POSTed to.
    pub url: String,
    /// Signs each request (`X-Lemma-Signature`), so the receiver can tell it came from
    /// Lemma. Never shown again once set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// The event as JSON.
    Webhook,
    /// A Slack-compatible incoming webhook (`{"text": ...}`).
    Slack,
}

impl AlertRule {
    /// Why the rule cannot be kept, for a person to fix; `parse` checks the query.
    pub fn validate(
        &self,
        channels: &[Channel],
        parse: impl Fn(&str) -> Result<(), String>,
    ) -> Result<(), String> {
        check_name("rule", &self.name)?;
        parse(&self.query).map_err(|e| format!("the rule's query is invalid {e}"))?;
        if let AlertCondition::Window {
            measure,
            threshold,
            window_secs,
            ..
        } = &self.condition
        {
            if !(MIN_WINDOW_SECS..=MAX_WINDOW_SECS).contains(window_secs) {
                return Err(format!(
                    "window_secs must be from {MIN_WINDOW_SECS} to {MAX_WINDOW_SECS} (30 days), not {window_secs}"
                ));
            }
            if !threshold.is_finite() || *threshold < 0.0 {
                return Err(format!(
                    "threshold must be a number of 0 or more, not {threshold}"
                ));
            }
            if *measure == Measure::ErrorRate && *threshold > 1.0 {
                return Err(format!(
                    "an error rate is from 0 to 1, so a threshold of {threshold} can never be passed"
                ));
            }
        }
        for c in &self.channels {
            if !channels.iter().any(|k| &k.id == c) {
                return Err(format!("no channel {c:?}: make it first, or leave it out"));
            }
        }
        Ok(())
    }
}

impl Channel {
    pub fn validate(&self) -> Result<(), String> {
        check_name("channel", &self.name)?;
        let lower = self.url.to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://"))
            || self.url.len() > 2_000
            || self.url.chars().any(char::is_whitespace)
        {
            return Err(format!(
                "url must be an http:// or https:// URL of at most 2000 characters, not {:?}",
                self.url
            ));
        }
        if let Some(s) = &self.secret {
            if s.is_empty() || s.len() > 256 {
                return Err("secret must be 1 to 256 characters (or left out)".into());
            }
        }
        Ok(())
    }
}

impl AlertConfig {
    /// Checks every rule and channel, and that ids are unique.
    pub fn validate(&self, parse: impl Fn(&str) -> Result<(), String>) -> Result<(), String> {
        if self.rules.len() > MAX_RULES {
            return Err(format!("at most {MAX_RULES} rules per project"));
        }
        if self.channels.len() > MAX_CHANNELS {
            return Err(format!("at most {MAX_CHANNELS} channels per project"));
        }
        for c in &self.channels {
            c.validate()?;
        }
        for r in &self.rules {
            r.validate(&self.channels, &parse)?;
        }
        let mut ids: Vec<&str> = self.rules.iter().map(|r| r.id.as_str()).collect();
        ids.extend(self.channels.iter().map(|c| c.id.as_str()));
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) || ids.iter().any(|i| i.is_empty()) {
            return Err("rule and channel ids must be set and unique".into());
        }
        Ok(())
    }
}

fn check_name(what: &str, name: &str) -> Result<(), String> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 100 || n.chars().any(char::is_control) {
        return Err(format!(
            "a {what} needs a name of 1 to 100 characters without control characters"
        ));
    }
    Ok(())
}
