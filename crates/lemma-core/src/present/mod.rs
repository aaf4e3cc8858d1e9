//! A run read as text: a compact span tree, or the conversation as a transcript, cut to a
//! character budget and paged by step, for terminals and language models alike; likewise a
//! thread turn by turn, and failures grouped by message.
//!
//! Agents resend the whole conversation on every model call, so the transcript shows each
//! model call's new messages only; a tool call and the tool span that ran it are one step;
//! sub-agents are indented sections; repeated identical tool calls fold into one step.

mod budget;
mod errors;
mod fold;
mod graph;
mod outline;
mod spans;
mod thread;
mod transcript;
mod tree;
mod window;

#[cfg(test)]
mod graph_tests;
#[cfg(test)]
mod outline_tests;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{Span, StatusCode};
use crate::run::Run;

pub use errors::{group_errors, ErrorGroup};
pub use graph::{GraphEdge, GraphNode, RunGraph, MAX_GRAPH_NODES, OTHER_LABEL};
pub use outline::{Bucket, Outline, OutlineRow, Overview};
pub use thread::thread;
pub use transcript::transcript;
pub use tree::tree;
pub use window::{
    keep_new_messages, rows_for, steps_for, transcript_window, tree_window, WindowRow, WindowStep,
};

/// How much text a page may hold, and where it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budget {
    /// The page's length in characters (a page holds at least one step, cut to fit).
    pub max_chars: usize,
    /// The length any one payload (a message, arguments, a result) is cut to.
    pub max_item_chars: usize,
    /// The first step shown, from 0: a previous page's `next_offset`.
    pub offset: usize,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget {
            max_chars: 20_000,
            max_item_chars: 500,
            offset: 0,
        }
    }
}

/// One page of a run's text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    pub text: String,
    /// Where the next page starts, when this one did not reach the end.
    pub next_offset: Option<usize>,
    pub total_steps: usize,
    pub shown_steps: usize,
}

/// The first line of every page: which run, how it went, how big it is.
fn header(run: &Run, view: &str) -> String {
    let mut line = format!("run {} · {}", run.run_id, run.name);
    if let Some(agent) = &run.agent_name {
        line.push_str(&format!(" · agent {agent}"));
    }
    line.push_str(&format!(
        " · {} · {} · {} spans",
        match run.status {
            StatusCode::Error => "ERROR",
            other => other.as_str(),
        },
        duration(run.duration_ms),
        run.span_count
    ));
    if run.total_tokens > 0 {
        line.push_str(&format!(" · {} tokens", run.total_tokens));
    }
    line.push_str(&format!(" · {view}"));
    line
}

/// A duration in milliseconds as `850µs`, `42ms` or `3.2s`.
pub fn duration(ms: f64) -> String {
    if ms < 1.0 {
        format!("{:.0}µs", ms * 1000.0)
    } else if ms < 1000.0 {
        format!("{ms:.0}ms")
    } else {
        format!("{:.1}s", ms / 1000.0)
    }
}

/// A time as `2026-11-20 10:02:11Z` (UTC, to the second).
pub fn timestamp(unix_nano: u64) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]Z");
    time::OffsetDateTime::from_unix_timestamp_nanos(unix_nano as i128)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| unix_nano.to_string())
}

fn span_duration(span: &Span) -> String {
    duration(span.duration_ns() as f64 / 1e6)
}

/// `s` cut to `max` characters, saying how much was left out.
fn truncate(s: &str, max: usize) -> String {
    let len = s.chars().count();
    if len <= max {
        return s.to_string();
    }
    let note = format!("… (+{} chars)", len.saturating_sub(max));
    let keep = max.saturating_sub(note.chars().count());
    let mut out: String = s.chars().take(keep).collect();
    out.push_str(&note);
    out
}

/// A payload as one piece of text: strings as they are, a message list as its messages'
/// text, anything else as compact JSON.
fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.trim().to_string(),
        Value::Array(items) => {
            let texts: Vec<String> = items
                .iter()
                .filter_map(|m| serde_json::from_value::<crate::Message>(m.clone()).ok())
                .map(|m| message_text(&m))
                .collect();
            if texts.len() == items.len() && !texts.is_empty() {
                texts.join("\n")
            } else {
                value.to_string()
            }
        }
        other => other.to_string(),
    }
}

/// The text parts of a message.
fn message_text(message: &crate::Message) -> String {
    message
        .parts
        .iter()
        .filter_map(|p| match p {
            crate::Part::Text { content } => Some(content.trim()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Why a span failed, as one line: its exceptions (`Type: message`) and its status message.
/// `None` when it neither failed nor recorded an exception; empty when it failed silently.
pub fn error_message(span: &Span) -> Option<String> {
    let exceptions: Vec<String> = span
        .events
        .iter()
        .filter(|e| e.name == "exception")
        .map(|e| {
            let attr = |k: &str| e.attributes.get(k).map(value_text).unwrap_or_default();
            match (attr("exception.type"), attr("exception.message")) {
                (t, m) if t.is_empty() => m,
                (t, m) if m.is_empty() => t,
                (t, m) => format!("{t}: {m}"),
            }
        })
        .filter(|s| !s.is_empty())
        .collect();
    if span.status != StatusCode::Error && exceptions.is_empty() {
        return None;
    }
    let status = span.status_message.as_deref().unwrap_or("").trim();
    let mut out = exceptions;
    if !status.is_empty() && !out.iter().any(|e| e.contains(status)) {
        out.insert(0, status.to_string());
    }
    Some(out.join("; "))
}

/// A failure as a step shows it: `ERROR` and the message.
fn error_of(span: &Span) -> Option<String> {
    error_message(span).map(|m| {
        if m.is_empty() {
            "ERROR".into()
        } else {
            format!("ERROR {m}")
        }
    })
}

/// What makes two tool calls identical: the tool and its arguments.
fn tool_key(span: &Span) -> (&str, Option<&Value>) {
    (tool_name(span), tool_args(span))
}

fn tool_name(span: &Span) -> &str {
    span.tool_name.as_deref().unwrap_or(&span.name)
}

fn tool_args(span: &Span) -> Option<&Value> {
    span.tool_args.as_ref().or(span.input.as_ref())
}

/// Deeper than this, lines say their depth rather than grow their indentation.
const MAX_INDENT: usize = 24;

/// Indents every line of `text` by `depth` levels.
fn indent(text: &str, depth: usize) -> String {
    let pad = if depth > MAX_INDENT {
        format!("{}(depth {depth}) ", "  ".repeat(MAX_INDENT))
    } else {
        "  ".repeat(depth)
    };
    text.lines()
        .map(|l| format!("{pad}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
