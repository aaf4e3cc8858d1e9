//! The transcript: the run's conversation in reading order, built from the span tree.

use std::collections::HashSet;

use serde_json::Value;

use super::fold::{fold, Class, Unit};
use super::spans::SpanTree;
use super::{budget, error_of, indent, message_text, tool_args, tool_key, tool_name, truncate};
use super::{value_text, Budget, Page};
use crate::messages::{Message, Part};
use crate::model::{Span, SpanKind};
use crate::run::Run;

/// The run as a conversation, paged by step.
pub fn transcript(run: &Run, spans: &[Span], budget: &Budget) -> Page {
    let t = SpanTree::new(spans);
    let steps = steps(run, &t);
    let units = fold(
        steps.len(),
        |n| steps[n].depth,
        |n| match &steps[n].kind {
            Kind::Tool(span) => Class::Tool(tool_key(span)),
            Kind::Model { .. } => Class::Between,
            _ => Class::Other,
        },
    );
    let entries: Vec<String> = units
        .iter()
        .filter_map(|unit| match unit {
            Unit::One(n) => Some(indent(&render(&steps[*n], budget)?, steps[*n].depth)),
            Unit::Fold { items, count } => Some(indent(
                &render_fold(&steps[items.clone()], *count, budget),
                steps[items.start].depth,
            )),
        })
        .collect();
    budget::paginate(&super::header(run, "transcript"), &entries, budget)
}

/// One step of the transcript, at a sub-agent nesting depth.
struct Step<'a> {
    depth: usize,
    kind: Kind<'a>,
}

enum Kind<'a> {
    /// What the run or its agent was asked.
    Input(&'a Value),
    /// A model call's messages not shown before.
    Model {
        span: &'a Span,
        messages: Vec<Message>,
    },
    /// A tool call: the tool span has its arguments and result.
    Tool(&'a Span),
    Retrieval(&'a Span),
    /// A sub-agent's section begins; its steps follow one level deeper.
    AgentStart(&'a Span),
    /// A sub-agent's section ends, with its output unless its steps showed it.
    AgentEnd {
        span: &'a Span,
        output: Option<&'a Value>,
    },
    /// Any other span that carries content or failed.
    Other(&'a Span),
    /// The run's output, when no step showed it.
    Output(&'a Value),
}

/// One conversation: the messages it has shown, and the output it is expected to end with.
struct Frame<'a> {
    seen: HashSet<String>,
    in_agent: bool,
    expected: Option<&'a Value>,
    output_shown: bool,
}

impl<'a> Frame<'a> {
    fn new(expected: Option<&'a Value>, in_agent: bool) -> Frame<'a> {
        Frame {
            seen: HashSet::new(),
            in_agent,
            expected,
            output_shown: false,
        }
    }
}

enum Visit {
    Enter(usize),
    /// After a container's children: its own failure.
    LeaveContainer(usize),
    LeaveMainAgent(usize),
    LeaveSubAgent(usize),
}

/// The steps, in reading order. The walk is iterative: a run may be thousands of spans deep.
fn steps<'a>(run: &'a Run, t: &SpanTree<'a>) -> Vec<Step<'a>> {
    let call_ids = tool_calls_with_spans(t);
    let mut frames = vec![Frame::new(present(run.output.as_ref()), false)];
    let mut out = Vec::new();
    if let Some(input) = present(run.input.as_ref()) {
        out.push(Step {
            depth: 0,
            kind: Kind::Input(input),
        });
        mark_seen(&mut frames[0].seen, input);
    }
    let roots = t.order.iter().filter(|&&i| t.depth[i] == 0);
    let mut stack: Vec<Visit> = roots.rev().map(|&i| Visit::Enter(i)).collect();
    let mut visited = vec![false; t.spans.len()];
    while let Some(visit) = stack.pop() {
        let depth = frames.len() - 1;
        let frame = frames.last_mut().expect("the run's frame stays");
        let mut push = |kind| out.push(Step { depth, kind });
        let i = match visit {
            Visit::Enter(i) => i,
            Visit::LeaveContainer(i) => {
                if error_of(t.spans[i]).is_some() {
                    push(Kind::Other(t.spans[i]));
                }
                continue;
            }
            Visit::LeaveMainAgent(i) => {
                frame.in_agent = false;
                if error_of(t.spans[i]).is_some() {
                    push(Kind::Other(t.spans[i]));
                }
                continue;
            }
            Visit::LeaveSubAgent(i) => {
                let span = t.spans[i];
                let inner = frames.pop().expect("pushed on entering the sub-agent");
                let outer = frames.last_mut().expect("the run's frame stays");
                if same(span.output.as_ref(), outer.expected) {
                    outer.output_shown = true;
                }
                let output = present(span.output.as_ref()).filter(|_| !inner.output_shown);
                if output.is_some() || error_of(span).is_some() {
                    out.push(Step {
                        depth: frames.len() - 1,
                        kind: Kind::AgentEnd { span, output },
                    });
                }
                continue;
            }
        };
        if std::mem::replace(&mut visited[i], true) {
            continue;
        }
        let span = t.spans[i];
        let children = t.children[i].iter().rev().map(|&c| Visit::Enter(c));
        match span.kind {
            SpanKind::Llm => push(Kind::Model {
                span,
                messages: new_messages(span, frame, &call_ids),
            }),
            SpanKind::Tool => push(Kind::Tool(span)),
            SpanKind::Retrieval => push(Kind::Retrieval(span)),
            SpanKind::Agent if frame.in_agent => {
                push(Kind::AgentStart(span));
                let mut inner = Frame::new(present(span.output.as_ref()), true);
                if let Some(input) = present(span.input.as_ref()) {
                    mark_seen(&mut inner.seen, input);
                }
                frames.push(inner);
                stack.push(Visit::LeaveSubAgent(i));
            }
            SpanKind::Agent => {
                if let Some(input) = present(span.input.as_ref()) {
                    if !is_seen(&frame.seen, input) && !same(Some(input), run.input.as_ref()) {
                        push(Kind::Input(input));
                        mark_seen(&mut frame.seen, input);
                    }
                }
                frame.in_agent = true;
                stack.push(Visit::LeaveMainAgent(i));
            }
            _ if !t.children[i].is_empty() => stack.push(Visit::LeaveContainer(i)),
            _ => {
                let content = present(span.input.as_ref()).is_some()
                    || present(span.output.as_ref()).is_some();
                if content || error_of(span).is_some() {
                    push(Kind::Other(span));
                }
            }
        }
        stack.extend(children);
    }
    if let Some(output) = present(run.output.as_ref()).filter(|_| !frames[0].output_shown) {
        out.push(Step {
            depth: 0,
            kind: Kind::Output(output),
        });
    }
    out
}

/// A model call's input messages not shown before, then its output, without the tool calls
/// and results that a tool span of the run shows.
fn new_messages(span: &Span, frame: &mut Frame, call_ids: &HashSet<&str>) -> Vec<Message> {
    let inputs = span.input_messages.as_deref().unwrap_or_default();
    let outputs = span.output_messages.as_deref().unwrap_or_default();
    let mut out = Vec::new();
    for m in inputs {
        if frame.seen.insert(message_key(m)) {
            out.extend(without_tool_parts(m, call_ids));
        }
    }
    for m in outputs {
        frame.seen.insert(message_key(m));
        out.extend(without_tool_parts(m, call_ids));
    }
    let last_text = outputs.last().map(message_text).unwrap_or_default();
    if (!outputs.is_empty() && same(span.output.as_ref(), frame.expected))
        || (!last_text.is_empty() && Some(last_text) == frame.expected.map(expected_text))
    {
        frame.output_shown = true;
    }
    out
}

fn without_tool_parts(m: &Message, call_ids: &HashSet<&str>) -> Option<Message> {
    let stands_for_span = |p: &Part| match p {
        Part::ToolCall { id: Some(id), .. } | Part::ToolCallResponse { id: Some(id), .. } => {
            call_ids.contains(id.as_str())
        }
        _ => false,
    };
    if !m.parts.iter().any(stands_for_span) {
        return Some(m.clone());
    }
    let parts: Vec<Part> = m
        .parts
        .iter()
        .filter(|p| !stands_for_span(p))
        .cloned()
        .collect();
    (!parts.is_empty()).then(|| Message { parts, ..m.clone() })
}

/// Ids of the tool calls a tool span of the run stands for. Most emitters record the call id
/// on the tool span; for those that do not, a call is matched to the first unclaimed tool span
/// of the same name that starts after the model call.
fn tool_calls_with_spans<'a>(t: &SpanTree<'a>) -> HashSet<&'a str> {
    let by_start = |kind: SpanKind| {
        let mut v: Vec<&'a Span> = t.spans.iter().copied().filter(|s| s.kind == kind).collect();
        v.sort_by_key(|s| s.start_time_unix_nano);
        v
    };
    let tools = by_start(SpanKind::Tool);
    let mut ids: HashSet<&'a str> = tools
        .iter()
        .filter_map(|s| s.tool_call_id.as_deref())
        .collect();
    let mut anonymous: Vec<Option<&Span>> = tools
        .into_iter()
        .filter(|s| s.tool_call_id.is_none())
        .map(Some)
        .collect();
    if anonymous.is_empty() {
        return ids;
    }
    for model in by_start(SpanKind::Llm) {
        let calls = model
            .output_messages
            .iter()
            .flatten()
            .flat_map(|m| &m.parts);
        for part in calls {
            let Part::ToolCall {
                id: Some(id), name, ..
            } = part
            else {
                continue;
            };
            if ids.contains(id.as_str()) {
                continue;
            }
            let found = anonymous.iter_mut().find(|t| {
                t.is_some_and(|t| {
                    tool_name(t) == name && t.start_time_unix_nano >= model.start_time_unix_nano
                })
            });
            if let Some(slot) = found {
                *slot = None;
                ids.insert(id);
            }
        }
    }
    ids
}

/// Identity of a message across model calls: role and content, whatever else was added.
fn message_key(m: &Message) -> String {
    format!(
        "{}:{}",
        m.role.to_lowercase(),
        serde_json::to_string(&m.parts).unwrap_or_default()
    )
}

fn text_message(text: &str) -> Message {
    Message {
        role: "user".into(),
        parts: vec![Part::Text {
            content: text.to_string(),
        }],
        name: None,
        finish_reason: None,
    }
}

/// A payload's messages: a message list's, or text as one user message.
fn as_messages(value: &Value) -> Vec<Message> {
    match value {
        Value::String(s) => vec![text_message(s)],
        Value::Array(items) => items
            .iter()
            .filter_map(|m| serde_json::from_value(m.clone()).ok())
            .collect(),
        _ => Vec::new(),
    }
}

fn mark_seen(seen: &mut HashSet<String>, value: &Value) {
    seen.extend(as_messages(value).iter().map(message_key));
}

fn is_seen(seen: &HashSet<String>, value: &Value) -> bool {
    let messages = as_messages(value);
    !messages.is_empty() && messages.iter().all(|m| seen.contains(&message_key(m)))
}

/// The text an expected output ends with: itself, its one field, or its last message's text.
fn expected_text(value: &Value) -> String {
    match value {
        Value::Object(map) if map.len() == 1 => match map.values().next() {
            Some(Value::String(s)) => s.trim().to_string(),
            _ => String::new(),
        },
        Value::Array(items) => items
            .last()
            .and_then(|m| serde_json::from_value::<Message>(m.clone()).ok())
            .map(|m| message_text(&m))
            .unwrap_or_default(),
        other => value_text(other),
    }
}

/// The value, unless it is null or empty.
fn present(value: Option<&Value>) -> Option<&Value> {
    value.filter(|v| match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    })
}

fn same(a: Option<&Value>, b: Option<&Value>) -> bool {
    matches!((present(a), present(b)), (Some(a), Some(b)) if a == b)
}

/// A step as text, or nothing for a model call with nothing new.
fn render(step: &Step, budget: &Budget) -> Option<String> {
    let cut = |s: &str| truncate(s, budget.max_item_chars);
    let mut lines = Vec::new();
    match &step.kind {
        Kind::Input(v) => lines.push(format!("User: {}", cut(&value_text(v)))),
        Kind::Output(v) => lines.push(format!("Final output: {}", cut(&value_text(v)))),
        Kind::Model { span, messages } => {
            for m in messages {
                lines.push(format!(
                    "{}: {}",
                    label(m, span),
                    cut(&parts_text(m, budget))
                ));
            }
            if let Some(e) = error_of(span) {
                lines.push(format!("model call {} failed: {}", span.name, cut(&e)));
            }
        }
        Kind::Tool(span) => tool_lines(span, &mut lines, budget),
        Kind::Retrieval(span) => {
            let query = span.input.as_ref().map(value_text).unwrap_or_default();
            lines.push(format!("→ retrieval {} {}", span.name, cut(&query)));
            result_lines(span, &mut lines, budget);
        }
        Kind::AgentStart(span) => {
            lines.push(format!("Sub-agent {}:", agent_name(span)));
            if let Some(input) = present(span.input.as_ref()) {
                lines.push(format!("  Input: {}", cut(&value_text(input))));
            }
        }
        Kind::AgentEnd { span, output } => {
            if let Some(output) = output {
                lines.push(format!(
                    "Sub-agent {} answered: {}",
                    agent_name(span),
                    cut(&value_text(output))
                ));
            }
            if let Some(e) = error_of(span) {
                lines.push(format!(
                    "Sub-agent {} failed: {}",
                    agent_name(span),
                    cut(&e)
                ));
            }
        }
        Kind::Other(span) => {
            lines.push(format!("· {} {}", span.kind.as_str(), span.name));
            if let Some(input) = present(span.input.as_ref()) {
                lines.push(format!("  in: {}", cut(&value_text(input))));
            }
            if let Some(output) = present(span.output.as_ref()) {
                lines.push(format!("  out: {}", cut(&value_text(output))));
            }
            if let Some(e) = error_of(span) {
                lines.push(format!("  {}", cut(&e)));
            }
        }
    }
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// A fold: the first call and its result, how many identical calls, and their failures.
fn render_fold(steps: &[Step], count: usize, budget: &Budget) -> String {
    let tools: Vec<&Span> = steps
        .iter()
        .filter_map(|s| match s.kind {
            Kind::Tool(span) => Some(span),
            _ => None,
        })
        .collect();
    let models = steps
        .iter()
        .filter(|s| matches!(s.kind, Kind::Model { .. }))
        .count();
    let first = tools[0];
    let mut lines = Vec::new();
    tool_lines(first, &mut lines, budget);
    lines[0].push_str(&format!("  × {count} identical {} calls", tool_name(first)));
    if models > 0 {
        lines[0].push_str(&format!(" ({models} model calls between)"));
    }
    let errors: Vec<String> = tools.iter().filter_map(|s| error_of(s)).collect();
    if errors.len() > 1 || (errors.len() == 1 && error_of(first).is_none()) {
        lines.push(format!(
            "  {} of {count} failed, the first with: {}",
            errors.len(),
            truncate(&errors[0], budget.max_item_chars)
        ));
    }
    lines.join("\n")
}

fn tool_lines(span: &Span, lines: &mut Vec<String>, budget: &Budget) {
    let args = tool_args(span).map(Value::to_string).unwrap_or_default();
    lines.push(format!(
        "→ tool {} {}",
        tool_name(span),
        truncate(&args, budget.max_item_chars)
    ));
    result_lines(span, lines, budget);
}

fn result_lines(span: &Span, lines: &mut Vec<String>, budget: &Budget) {
    if let Some(output) = present(span.output.as_ref()) {
        lines.push(format!(
            "  ← {}",
            truncate(&value_text(output), budget.max_item_chars)
        ));
    }
    if let Some(e) = error_of(span) {
        lines.push(format!("  ← {}", truncate(&e, budget.max_item_chars)));
    }
}

fn agent_name(span: &Span) -> &str {
    span.agent_name.as_deref().unwrap_or(&span.name)
}

/// Who speaks: the role, with the model for an assistant message.
fn label(m: &Message, span: &Span) -> String {
    let role = m.role.to_lowercase();
    let mut out = match role.as_str() {
        "user" | "human" => "User".to_string(),
        "assistant" | "ai" | "model" => "Assistant".to_string(),
        "system" | "developer" => "System".to_string(),
        "tool" | "function" => "Tool".to_string(),
        other => {
            let mut c = other.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_else(|| "Message".into())
        }
    };
    if out == "Assistant" {
        if let Some(model) = &span.model {
            out.push_str(&format!(" ({model})"));
        }
    }
    out
}

fn parts_text(m: &Message, budget: &Budget) -> String {
    let cut = |s: &str| truncate(s, budget.max_item_chars);
    m.parts
        .iter()
        .map(|p| match p {
            Part::Text { content } => content.trim().to_string(),
            Part::Reasoning { content } => format!("(reasoning) {}", content.trim()),
            Part::ToolCall {
                name, arguments, ..
            } => {
                let args = arguments.as_ref().map(Value::to_string).unwrap_or_default();
                format!("→ call {name} {}", cut(&args))
            }
            Part::ToolCallResponse { response, .. } => format!("← {}", cut(&value_text(response))),
            Part::Media {
                modality,
                uri,
                file_id,
                mime_type,
            } => {
                let at = uri.as_ref().or(file_id.as_ref()).or(mime_type.as_ref());
                format!(
                    "[{modality}{}]",
                    at.map(|a| format!(" {a}")).unwrap_or_default()
                )
            }
            Part::Other { value } => value.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}
