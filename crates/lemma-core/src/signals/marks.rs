//! Signals an app or a classifier wrote onto spans, and evaluation results as signals.
//!
//! - `lemma.signal.<name>`: `true` (a flag), a number (a score) or a string (a label);
//!   `lemma.signal.<name>.severity` (`info`, `warning`, `critical`) and
//!   `lemma.signal.<name>.explanation` go with it. `false` is no signal.
//! - The common boolean flags in [`FLAGS`] under any prefix (`guard.jailbreak_attempt`).
//! - Evaluation results (`gen_ai.evaluation.result` events, OpenInference annotations), which
//!   are stored as metric events from the `evaluator` source.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::metrics::{
    MetricEvent, MetricValue, CLASSIFIED_NOTHING, CLASSIFIER_SOURCE, EVALUATOR_SOURCE,
};
use crate::run::{RunSignal, Severity, SignalSource, SpanDigest};

const PREFIX: &str = "lemma.signal.";
/// Marks kept per span; more are an app writing data, not signals.
const MAX_MARKS: usize = 16;
const MAX_NAME: usize = 64;
const MAX_TEXT: usize = 300;

/// Boolean attributes classifiers commonly set, with the signal each becomes.
pub const FLAGS: &[(&str, &str, Severity)] = &[
    ("is_agent_looping", "agent_looping", Severity::Warning),
    ("jailbreak_attempt", "jailbreak_attempt", Severity::Critical),
    ("is_jailbreak", "jailbreak_attempt", Severity::Critical),
    ("prompt_injection", "prompt_injection", Severity::Critical),
    (
        "is_prompt_injection",
        "prompt_injection",
        Severity::Critical,
    ),
    ("pii_detected", "pii_detected", Severity::Warning),
    ("is_toxic", "toxic", Severity::Warning),
    ("is_user_frustrated", "user_frustrated", Severity::Warning),
    ("hallucination_detected", "hallucination", Severity::Warning),
];

/// A signal written onto a span, kept in the span's digest.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SpanMark {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
}

/// The marks in a span's attributes, by name.
pub fn marks_of(attributes: &Map<String, Value>) -> Vec<SpanMark> {
    let mut marks: Vec<SpanMark> = Vec::new();
    let mut extras: Vec<(&str, &str, &Value)> = Vec::new();
    for (key, value) in attributes {
        if let Some(rest) = key.strip_prefix(PREFIX) {
            match rest.rsplit_once('.') {
                Some((name, field @ ("severity" | "explanation" | "score" | "label"))) => {
                    extras.push((name, field, value))
                }
                _ => marks.extend(mark(rest, value, None)),
            }
        } else {
            let last = key.rsplit('.').next().unwrap_or(key);
            if let Some(&(_, name, severity)) = FLAGS.iter().find(|(flag, ..)| *flag == last) {
                if is_true(value) && !marks.iter().any(|m| m.name == name) {
                    marks.push(SpanMark {
                        name: name.into(),
                        severity: Some(severity),
                        ..SpanMark::default()
                    });
                }
            }
        }
    }
    for (name, field, value) in extras {
        let text = || value.as_str().map(|s| cut(s, MAX_TEXT));
        let existing = marks.iter().position(|m| m.name == name);
        let m = match existing {
            Some(i) => &mut marks[i],
            // `lemma.signal.x.score` alone is a scored signal.
            None if matches!(field, "score" | "label") && valid_name(name) => {
                marks.push(SpanMark {
                    name: name.into(),
                    ..SpanMark::default()
                });
                marks.last_mut().expect("pushed")
            }
            None => continue,
        };
        match field {
            "severity" => m.severity = value.as_str().and_then(Severity::parse),
            "explanation" => m.explanation = text(),
            "score" => m.score = value.as_f64().filter(|f| f.is_finite()),
            _ => m.label = text(),
        }
    }
    marks.truncate(MAX_MARKS);
    marks
}

fn mark(name: &str, value: &Value, severity: Option<Severity>) -> Option<SpanMark> {
    if !valid_name(name) {
        return None;
    }
    let mut m = SpanMark {
        name: name.into(),
        severity,
        ..SpanMark::default()
    };
    match value {
        Value::Bool(true) => {}
        Value::Number(n) => m.score = n.as_f64().filter(|f| f.is_finite()),
        Value::String(s) if s.eq_ignore_ascii_case("true") => {}
        Value::String(s) if s.eq_ignore_ascii_case("false") || s.is_empty() => return None,
        Value::String(s) => m.label = Some(cut(s, MAX_TEXT)),
        _ => return None,
    }
    Some(m)
}

fn is_true(v: &Value) -> bool {
    matches!(v, Value::Bool(true)) || v.as_str().is_some_and(|s| s.eq_ignore_ascii_case("true"))
}

/// Signal names are short words: letters, digits, `_`, `-` and `.`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn cut(s: &str, max: usize) -> String {
    super::calls::cut(s, max)
}

/// A signal per mark, in span order.
pub fn from_spans(spans: &[&SpanDigest]) -> Vec<RunSignal> {
    let mut out = Vec::new();
    for s in spans {
        for m in &s.marks {
            let what = match (&m.label, m.score) {
                (Some(l), _) => format!(" as {l}"),
                (None, Some(score)) => format!(" with a score of {score}"),
                _ => String::new(),
            };
            out.push(RunSignal {
                kind: m.name.clone(),
                severity: m.severity.unwrap_or(match m.score {
                    Some(_) => Severity::Info,
                    None => Severity::Warning,
                }),
                source: SignalSource::Attribute,
                span_id: Some(s.span_id.clone()),
                explanation: m
                    .explanation
                    .clone()
                    .unwrap_or_else(|| format!("{} was marked {}{what}", s.name, m.name)),
                score: m.score,
                label: m.label.clone(),
                tool_name: s.tool_name.clone(),
                ..RunSignal::default()
            });
        }
    }
    out
}

/// Labels that mean an evaluator judged against the run.
const FAILING_LABELS: &[&str] = &[
    "fail",
    "failed",
    "false",
    "incorrect",
    "wrong",
    "bad",
    "toxic",
    "hallucinated",
    "unsafe",
    "irrelevant",
    "no",
];

/// A signal per evaluation result (`evaluator` metric events): a warning when its label says
/// the run failed it, else information. A classifier's answer (`classifier` events: the label
/// as the name, the score as the value) is a warning, or critical for the flags that are.
pub fn from_evaluations(metrics: &[MetricEvent]) -> Vec<RunSignal> {
    metrics
        .iter()
        .filter(|m| valid_name(&m.name))
        .filter_map(|m| match m.source.as_deref() {
            Some(EVALUATOR_SOURCE) => Some(evaluation(m)),
            Some(CLASSIFIER_SOURCE) if m.name != CLASSIFIED_NOTHING => Some(classified(m)),
            _ => None,
        })
        .collect()
}

fn evaluation(m: &MetricEvent) -> RunSignal {
    let (score, label, failing) = match &m.value {
        MetricValue::Number(n) => (Some(*n), None, false),
        MetricValue::Bool(b) => (None, Some(b.to_string()), !b),
        MetricValue::Text(t) => (
            None,
            Some(cut(t, MAX_TEXT)),
            FAILING_LABELS.contains(&t.to_ascii_lowercase().as_str()),
        ),
    };
    let value = label
        .clone()
        .or(score.map(|s| s.to_string()))
        .unwrap_or_default();
    RunSignal {
        kind: m.name.clone(),
        severity: if failing {
            Severity::Warning
        } else {
            Severity::Info
        },
        source: SignalSource::Evaluation,
        span_id: m.span_id.clone(),
        explanation: m
            .comment
            .clone()
            .map(|c| cut(&c, MAX_TEXT))
            .unwrap_or_else(|| format!("evaluated {}: {value}", m.name)),
        score,
        label,
        ..RunSignal::default()
    }
}

fn classified(m: &MetricEvent) -> RunSignal {
    let score = match m.value {
        MetricValue::Number(n) => Some(n),
        _ => None,
    };
    let severity = FLAGS
        .iter()
        .find(|(_, name, _)| *name == m.name)
        .map_or(Severity::Warning, |&(_, _, s)| s);
    RunSignal {
        kind: m.name.clone(),
        severity,
        source: SignalSource::Classifier,
        span_id: m.span_id.clone(),
        explanation: m
            .comment
            .clone()
            .map(|c| cut(&c, MAX_TEXT))
            .unwrap_or_else(|| match score {
                Some(s) => format!("the classifier labelled the run {} ({s})", m.name),
                None => format!("the classifier labelled the run {}", m.name),
            }),
        score,
        label: Some(m.name.clone()),
        ..RunSignal::default()
    }
}
