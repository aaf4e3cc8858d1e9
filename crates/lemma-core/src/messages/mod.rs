//! Canonical chat messages: every LLM span's input and output as one list of
//! [`Message`]s, whatever shape the emitter recorded (GenAI parts JSON, flattened
//! OpenInference / OpenLLMetry keys, provider request/response bodies, Vercel prompts, Langfuse
//! input/output, legacy span events and log events).
//!
//! The shape follows the GenAI input/output message schema, trimmed to what a reader needs.

mod events;
mod flattened;
mod genai;
mod lookup;
mod message;
mod parts;
mod provider;
mod vercel;

pub use lookup::Parsed;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{Span, SpanKind};

/// One chat message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message {
    /// `system`, `user`, `assistant`, `tool`, or whatever the emitter used.
    pub role: String,
    #[serde(default)]
    pub parts: Vec<Part>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
}

/// One piece of a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Part {
    Text {
        content: String,
    },
    Reasoning {
        content: String,
    },
    ToolCall {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        name: String,
        /// Parsed JSON when the arguments were JSON (even double-encoded), else the raw text.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        arguments: Option<Value>,
    },
    ToolCallResponse {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        response: Value,
    },
    /// An image, audio, video or document: a reference, never the inline bytes.
    Media {
        /// `image`, `audio`, `video` or `document`.
        modality: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mime_type: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        uri: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file_id: Option<String>,
    },
    /// A part of a type Lemma does not model, kept as received.
    Other {
        value: Value,
    },
}

impl Message {
    pub(crate) fn new(role: &str, parts: Vec<Part>) -> Message {
        Message {
            role: role.to_string(),
            parts,
            name: None,
            finish_reason: None,
        }
    }
}

/// Which side of the call a reader is asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    Input,
    Output,
}

impl Dir {
    /// The role of a message that does not name one.
    fn role(self) -> &'static str {
        self.pick("user", "assistant")
    }

    fn pick<T>(self, input: T, output: T) -> T {
        match self {
            Dir::Input => input,
            Dir::Output => output,
        }
    }
}

type Source = fn(&Span, Parsed, Dir) -> Option<Vec<Message>>;

/// Message sources, strongest first, mirroring the conventions' precedence
/// (`semconv::CONVENTIONS`). Input and output are looked up separately, so a span whose output
/// only one source records still gets it.
const SOURCES: &[Source] = &[
    langfuse,
    |s, parsed, dir| genai::read(&s.attributes, parsed, dir),
    |s, _, dir| events::details(s, dir),
    openinference,
    |s, _, dir| vercel::read(&s.attributes, dir),
    |s, _, dir| flattened::openllmetry(&s.attributes, dir),
    |s, _, dir| events::legacy(s, dir),
    lemma_bodies,
];

/// A span's input and output messages, from the strongest source that has them.
pub fn derive(span: &Span) -> (Option<Vec<Message>>, Option<Vec<Message>>) {
    derive_parsed(span, Parsed::NONE)
}

/// [`derive`], reusing attributes the caller has already parsed (see [`Parsed`]).
pub fn derive_parsed(span: &Span, parsed: Parsed) -> (Option<Vec<Message>>, Option<Vec<Message>>) {
    (
        read(span, parsed, Dir::Input),
        read(span, parsed, Dir::Output),
    )
}

fn read(span: &Span, parsed: Parsed, dir: Dir) -> Option<Vec<Message>> {
    SOURCES
        .iter()
        .find_map(|source| source(span, parsed, dir))
        .or_else(|| plain_text(span, dir))
}

/// A model call's `lemma.input` / `lemma.output` holding the provider's request and response
/// bodies, as Lemma's LLM proxy records them. Only on model calls: on other spans these are an
/// agent's or a step's own values.
fn lemma_bodies(span: &Span, parsed: Parsed, dir: Dir) -> Option<Vec<Message>> {
    if span.kind != SpanKind::Llm {
        return None;
    }
    let body = parsed.json_at(&span.attributes, dir.pick("lemma.input", "lemma.output"))?;
    provider::messages(&body, dir.role())
}

/// Langfuse input/output, when it is a conversation rather than arbitrary JSON or text.
fn langfuse(span: &Span, parsed: Parsed, dir: Dir) -> Option<Vec<Message>> {
    let key = dir.pick("langfuse.observation.input", "langfuse.observation.output");
    let value = parsed.json_at(&span.attributes, key)?;
    provider::messages(&value, dir.role())
}

/// Flattened messages first; else `input.value` / `output.value` when it is a provider body;
/// else the completions API's prompts and choices.
fn openinference(span: &Span, parsed: Parsed, dir: Dir) -> Option<Vec<Message>> {
    let attrs = &span.attributes;
    flattened::openinference(attrs, dir)
        .or_else(|| {
            let body = parsed.json_at(attrs, dir.pick("input.value", "output.value"))?;
            provider::messages(&body, dir.role())
        })
        .or_else(|| flattened::openinference_completions(attrs, dir))
}

/// An LLM call whose input or output is plain text (a completion prompt, a Langfuse string) is
/// one user or assistant message.
fn plain_text(span: &Span, dir: Dir) -> Option<Vec<Message>> {
    if span.kind != SpanKind::Llm {
        return None;
    }
    let text = dir.pick(&span.input, &span.output).as_ref()?.as_str()?;
    Some(vec![Message::new(dir.role(), vec![parts::text(text)?])])
}

#[cfg(test)]
mod tests;
