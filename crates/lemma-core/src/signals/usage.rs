//! Signals over what a run used: calls that filled most of their model's context window, and
//! runs that used far more tokens or money than their agent usually does.

use super::SignalSettings;
use crate::model::SpanKind;
use crate::run::{Run, RunSignal, Severity, SpanDigest};

/// Context windows (input tokens) by model name prefix; the longest matching prefix wins.
const WINDOWS: &[(&str, u64)] = &[
    ("gpt-3.5-turbo", 16_385),
    ("gpt-4", 8_192),
    ("gpt-4-32k", 32_768),
    ("gpt-4-turbo", 128_000),
    ("gpt-4o", 128_000),
    ("gpt-4.1", 1_047_576),
    ("gpt-4.5", 128_000),
    ("gpt-5", 400_000),
    ("o1", 200_000),
    ("o3", 200_000),
    ("o4", 200_000),
    ("claude", 200_000),
    ("gemini-1.5-pro", 2_097_152),
    ("gemini-1.5-flash", 1_048_576),
    ("gemini-2", 1_048_576),
    ("gemini-3", 1_048_576),
    ("mistral-large", 128_000),
    ("mistral-small", 32_000),
    ("llama-3.1", 128_000),
    ("llama-3.2", 128_000),
    ("llama-3.3", 128_000),
    ("command-r", 128_000),
    ("deepseek", 128_000),
];

/// The context window of a model, in input tokens, when Lemma knows it. A provider prefix
/// (`openai/gpt-4o`, `models/gemini-2.0-flash`) and case are ignored.
pub fn context_window(model: &str) -> Option<u64> {
    let m = model
        .rsplit('/')
        .next()
        .unwrap_or(model)
        .to_ascii_lowercase();
    WINDOWS
        .iter()
        .filter(|(prefix, _)| m.starts_with(prefix))
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|&(_, w)| w)
}

/// `context_window`: model calls whose input filled at least the set share of the model's
/// window (the fullest call, with how many did).
pub fn context(spans: &[&SpanDigest], settings: &SignalSettings) -> Vec<RunSignal> {
    let mut over = 0u32;
    let mut fullest: Option<(f64, &SpanDigest, u64, u64)> = None;
    for s in spans.iter().filter(|s| s.kind == SpanKind::Llm) {
        let (Some(model), Some(input)) = (s.model.as_deref(), s.usage.input_tokens) else {
            continue;
        };
        let Some(window) = context_window(model) else {
            continue;
        };
        let share = input as f64 / window as f64;
        if share >= settings.context_share {
            over += 1;
            if fullest.is_none_or(|(f, ..)| share > f) {
                fullest = Some((share, s, input, window));
            }
        }
    }
    let Some((share, s, input, window)) = fullest else {
        return Vec::new();
    };
    let more = match over {
        1 => String::new(),
        n => format!(" ({n} calls over {:.0}%)", settings.context_share * 100.0),
    };
    vec![RunSignal {
        kind: "context_window".into(),
        severity: if share >= 1.0 {
            Severity::Critical
        } else {
            Severity::Warning
        },
        span_id: Some(s.span_id.clone()),
        explanation: format!(
            "a call to {} sent {input} input tokens, {:.0}% of its {window}-token window{more}",
            s.model.as_deref().unwrap_or("a model"),
            share * 100.0
        ),
        score: Some((share * 1000.0).round() / 1000.0),
        repeats: over,
        ..RunSignal::default()
    }]
}

/// `token_spike` and `cost_spike`: the run used the set factor or more of its agent's median
/// over its recent runs.
pub fn spikes(run: &Run, baseline: &super::Baseline, settings: &SignalSettings) -> Vec<RunSignal> {
    if baseline.runs < settings.spike_min_runs {
        return Vec::new();
    }
    let agent = run.agent_name.as_deref().unwrap_or(&run.name);
    let mut out = Vec::new();
    let tokens = run.total_tokens as f64;
    if run.total_tokens >= settings.spike_min_tokens
        && baseline.median_tokens > 0.0
        && tokens >= settings.spike_factor * baseline.median_tokens
    {
        out.push(RunSignal {
            kind: "token_spike".into(),
            severity: Severity::Warning,
            span_id: run.root_span_id.clone(),
            explanation: format!(
                "{} tokens, {:.1}× the median of {agent}'s last {} runs ({:.0})",
                run.total_tokens,
                tokens / baseline.median_tokens,
                baseline.runs,
                baseline.median_tokens
            ),
            score: Some(((tokens / baseline.median_tokens) * 100.0).round() / 100.0),
            ..RunSignal::default()
        });
    }
    if let (Some(cost), Some(median)) = (run.cost_usd, baseline.median_cost_usd) {
        if median > 0.0 && cost >= settings.spike_factor * median {
            out.push(RunSignal {
                kind: "cost_spike".into(),
                severity: Severity::Warning,
                span_id: run.root_span_id.clone(),
                explanation: format!(
                    "${cost:.4}, {:.1}× the median of {agent}'s last {} runs (${median:.4})",
                    cost / median,
                    baseline.runs
                ),
                score: Some(((cost / median) * 100.0).round() / 100.0),
                ..RunSignal::default()
            });
        }
    }
    out
}
