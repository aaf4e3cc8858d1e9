//! Canonical chat messages: every LLM span's input and output as one list of
//! [`Message`]s, whatever shape the emitter recorded (GenAI parts JSON, flattened
//! OpenInference / OpenLLMetry keys, provider request/response bodies, Vercel prompts, Langfuse
//! input/output, legacy span events and log events).
//!
//! The shape follows the GenAI input/output message schema, trimmed to what a reader needs.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::Span;

/// One chat message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// A span's input and output messages, from the strongest source that has them.
pub fn derive(_span: &Span) -> (Option<Vec<Message>>, Option<Vec<Message>>) {
    (None, None)
}
