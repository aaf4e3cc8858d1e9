//! What a channel receives: the event as JSON for webhooks, or a message for Slack-compatible
//! incoming webhooks. Both are built here from a [`Notice`], so every channel says the same.

use serde::Serialize;
use serde_json::{json, Value};

use super::{AlertEvent, AlertState};
use crate::run::{Run, RunSignal};

/// An event with what a receiver needs to act on it.
#[derive(Debug, Clone, Serialize)]
pub struct Notice<'a> {
    pub project: &'a str,
    pub event: &'a AlertEvent,
    /// The run, for each-run rules.
    pub run: Option<&'a Run>,
    /// The run's signals when the event was raised.
    pub signals: &'a [RunSignal],
    /// A link to the run (or the runs the rule matches) in the dashboard, when the server
    /// knows its public URL.
    pub link: Option<String>,
    /// A test send from the dashboard or API, not a real event.
    pub test: bool,
}

/// The generic webhook's body.
pub fn webhook_body(n: &Notice) -> Value {
    let run = n.run.map(|r| {
        json!({
            "run_id": r.run_id,
            "name": r.name,
            "agent_name": r.agent_name,
            "status": r.status,
            "in_progress": !r.has_root,
            "span_count": r.span_count,
            "error_count": r.error_count,
            "duration_ms": r.duration_ms,
            "total_tokens": r.total_tokens,
            "cost_usd": r.cost_usd,
            "thread_id": r.thread_id,
            "user_id": r.user_id,
            "environment": r.environment,
        })
    });
    json!({
        "type": match n.event.state {
            AlertState::Firing => "alert.firing",
            AlertState::Resolved => "alert.resolved",
        },
        "test": n.test,
        "project": n.project,
        "event": n.event,
        "run": run,
        "signals": n.signals,
        "link": n.link,
    })
}

/// A Slack-compatible message: `text` with the event's line, its run and its signals.
pub fn slack_body(n: &Notice) -> Value {
    let e = n.event;
    let icon = match e.state {
        AlertState::Firing => ":rotating_light:",
        AlertState::Resolved => ":white_check_mark:",
    };
    let state = match e.state {
        AlertState::Firing => "firing",
        AlertState::Resolved => "resolved",
    };
    let test = if n.test { " (test)" } else { "" };
    let mut text = format!(
        "{icon} *{}* {state}{test} in {}: {}",
        escape(&e.rule_name),
        escape(n.project),
        escape(&e.message)
    );
    for s in n.signals.iter().take(5) {
        text.push_str(&format!(
            "\n• {} `{}`: {}",
            s.severity.name(),
            escape(&s.kind),
            escape(&s.explanation)
        ));
    }
    if let Some(link) = &n.link {
        // Slack's link syntax; the URL is the server's own, never span content.
        text.push_str(&format!("\n<{}|Open in Lemma>", link.replace('|', "%7C")));
    }
    json!({ "text": text })
}

/// Slack reads `&`, `<` and `>` as markup: span content must not make links or mentions.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
