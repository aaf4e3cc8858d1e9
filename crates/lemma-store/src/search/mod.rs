//! Full-text search that both stores share: which text of a span is searchable
//! ([`searchable_text`]) and how that text splits into words ([`words`]).
//!
//! SQLite indexes the text with FTS5's `unicode61 remove_diacritics 2` tokenizer; the
//! ClickHouse store splits it here (`tokenizer`: our own implementation of the same rules
//! from Unicode's data, checked against SQLite's tokenizer by its tests), and stores each word
//! with its positions. Both read a query's free text as one phrase: the span holds
//! the phrase's words one after another. Splitting both the same way is what makes the two
//! stores find the same spans.

mod tokenizer;

use lemma_core::{Message, Part, Span};
use serde_json::Value;

pub use tokenizer::words;

/// Longest text indexed per input or output; the full payload is still stored.
const MAX_INDEXED_CHARS: usize = 32 * 1024;

/// The longest word (in bytes) a search can find. FTS5 cuts longer words to this length
/// when it indexes them and when it reads a query, and no query word is that long (a query
/// holds at most `lemma_core::query::MAX_QUERY_CHARS` characters), so longer words need not
/// be indexed at all.
pub const MAX_WORD_BYTES: usize = 32_768;

/// The text full-text search sees: the span name and the strings inside its input and output.
///
/// A model call's input resends the conversation so far, so only the messages since the last
/// assistant turn are indexed: the earlier ones were indexed where they first appeared (an
/// earlier call's input or output), and indexing every resend would grow the index, and the
/// time to write it, with the square of the conversation's length.
pub fn searchable_text(span: &Span) -> String {
    let mut text = span.name.clone();
    let start = text.len();
    match span.input_messages.as_deref() {
        Some(messages) if !messages.is_empty() => {
            let new_from = messages
                .iter()
                .rposition(|m| m.role == "assistant")
                .map_or(0, |i| i + 1);
            for message in &messages[new_from..] {
                collect_message(message, &mut text, start + MAX_INDEXED_CHARS);
            }
        }
        _ => {
            if let Some(input) = &span.input {
                collect_strings(input, &mut text, start + MAX_INDEXED_CHARS);
            }
        }
    }
    let start = text.len();
    match (&span.output, span.output_messages.as_deref()) {
        (Some(output), _) => collect_strings(output, &mut text, start + MAX_INDEXED_CHARS),
        (None, Some(messages)) => {
            for message in messages {
                collect_message(message, &mut text, start + MAX_INDEXED_CHARS);
            }
        }
        (None, None) => {}
    }
    text
}

/// A message's text, tool arguments and tool results.
fn collect_message(message: &Message, out: &mut String, limit: usize) {
    for part in &message.parts {
        match part {
            Part::Text { content } | Part::Reasoning { content } => push_text(content, out, limit),
            Part::ToolCall {
                name, arguments, ..
            } => {
                push_text(name, out, limit);
                if let Some(arguments) = arguments {
                    collect_strings(arguments, out, limit);
                }
            }
            Part::ToolCallResponse { response, .. } => collect_strings(response, out, limit),
            Part::Media { .. } => {}
            Part::Other { value } => collect_strings(value, out, limit),
        }
    }
}

fn collect_strings(value: &Value, out: &mut String, limit: usize) {
    if out.len() >= limit {
        return;
    }
    match value {
        Value::String(s) => push_text(s, out, limit),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out, limit)),
        Value::Object(map) => map.values().for_each(|v| collect_strings(v, out, limit)),
        Value::Number(n) => push_text(&n.to_string(), out, limit),
        _ => {}
    }
}

/// Appends `s` on a line of its own, cut so `out` stays within `limit` bytes.
fn push_text(s: &str, out: &mut String, limit: usize) {
    if out.len() >= limit {
        return;
    }
    out.push('\n');
    let room = limit.saturating_sub(out.len());
    let cut = s
        .char_indices()
        .map(|(i, _)| i)
        .find(|&i| i > room)
        .unwrap_or(s.len());
    out.push_str(&s[..cut.min(s.len())]);
}
