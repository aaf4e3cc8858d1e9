//! Signals over the shape of a run's tree: sub-agents nested too deep, or too many started
//! by one span.

use std::collections::{BTreeMap, HashMap};

use super::SignalSettings;
use crate::model::SpanKind;
use crate::run::{RunSignal, Severity, SpanDigest};

/// `agent_depth`: an agent nested under more agents than allowed (the deepest one found).
pub fn depth(spans: &[&SpanDigest], settings: &SignalSettings) -> Vec<RunSignal> {
    let by_id: HashMap<&str, &SpanDigest> =
        spans.iter().map(|s| (s.span_id.as_str(), *s)).collect();
    let mut deepest: Option<(u32, &SpanDigest)> = None;
    for s in spans.iter().filter(|s| s.kind == SpanKind::Agent) {
        // Agents on the path up, this one included; a cycle of parents stops at the length of
        // the run.
        let mut n = 1u32;
        let mut at = s.parent_span_id.as_deref();
        let mut steps = 0;
        while let Some(p) = at.and_then(|id| by_id.get(id)) {
            steps += 1;
            if steps > spans.len() {
                break;
            }
            n += u32::from(p.kind == SpanKind::Agent);
            at = p.parent_span_id.as_deref();
        }
        if deepest.is_none_or(|(d, _)| n > d) {
            deepest = Some((n, s));
        }
    }
    deepest
        .filter(|(d, _)| *d > settings.max_agent_depth)
        .map(|(d, s)| RunSignal {
            kind: "agent_depth".into(),
            severity: Severity::Warning,
            span_id: Some(s.span_id.clone()),
            explanation: format!(
                "agents are nested {d} deep (more than {}), down to {}",
                settings.max_agent_depth,
                s.agent_name.as_deref().unwrap_or(&s.name)
            ),
            repeats: d,
            ..RunSignal::default()
        })
        .into_iter()
        .collect()
}

/// `fan_out`: one span started more sub-agents than allowed (the span that started most).
pub fn fan_out(spans: &[&SpanDigest], settings: &SignalSettings) -> Vec<RunSignal> {
    let mut children: BTreeMap<&str, u32> = BTreeMap::new();
    for s in spans.iter().filter(|s| s.kind == SpanKind::Agent) {
        if let Some(p) = &s.parent_span_id {
            *children.entry(p).or_default() += 1;
        }
    }
    let Some((parent, n)) = children
        .into_iter()
        .max_by_key(|(id, n)| (*n, std::cmp::Reverse(*id)))
    else {
        return Vec::new();
    };
    if n <= settings.max_fan_out {
        return Vec::new();
    }
    let name = spans
        .iter()
        .find(|s| s.span_id == parent)
        .map(|s| s.agent_name.clone().unwrap_or_else(|| s.name.clone()))
        .unwrap_or_else(|| "a span not yet arrived".into());
    vec![RunSignal {
        kind: "fan_out".into(),
        severity: Severity::Warning,
        span_id: Some(parent.to_string()),
        explanation: format!(
            "{name} started {n} sub-agents (more than {})",
            settings.max_fan_out
        ),
        repeats: n,
        ..RunSignal::default()
    }]
}
