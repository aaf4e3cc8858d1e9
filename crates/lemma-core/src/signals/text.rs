//! Text for comparing what users said: the user's words in a run's input, and how alike two
//! texts are.

use std::collections::HashSet;

use serde_json::Value;

use crate::messages::{Message, Part};

/// Longest text compared; longer inputs are compared on their start.
const MAX_CHARS: usize = 4_000;

/// What the user said in a run's input: the last user message of a message list, a plain
/// string, or a prompt-like field of an object. `None` when nothing reads as user text.
pub fn user_text(input: &Value) -> Option<String> {
    let text = match input {
        Value::String(s) => s.trim().to_string(),
        Value::Array(items) => {
            let messages: Vec<Message> = items
                .iter()
                .filter_map(|m| serde_json::from_value(m.clone()).ok())
                .collect();
            let last_user = messages.iter().rev().find(|m| m.role == "user")?;
            last_user
                .parts
                .iter()
                .filter_map(|p| match p {
                    Part::Text { content } => Some(content.trim()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join("\n")
        }
        Value::Object(obj) => {
            let keys = [
                "input", "question", "query", "prompt", "message", "messages", "content",
            ];
            return keys.iter().find_map(|k| obj.get(*k).and_then(user_text));
        }
        _ => return None,
    };
    (!text.is_empty()).then(|| text.chars().take(MAX_CHARS).collect())
}

/// How alike two texts are, from 0 to 1: the Dice coefficient of their character trigrams,
/// case and punctuation ignored. Equal texts give 1, texts with no trigram in common 0.
pub fn similarity(a: &str, b: &str) -> f64 {
    let (ta, tb) = (trigrams(a), trigrams(b));
    if ta.is_empty() && tb.is_empty() {
        return if normal(a) == normal(b) { 1.0 } else { 0.0 };
    }
    let shared = ta.intersection(&tb).count();
    2.0 * shared as f64 / (ta.len() + tb.len()) as f64
}

fn normal(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(MAX_CHARS));
    let mut space = true;
    for c in s.chars().take(MAX_CHARS) {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
            space = false;
        } else if !space {
            out.push(' ');
            space = true;
        }
    }
    out.trim_end().to_string()
}

fn trigrams(s: &str) -> HashSet<[char; 3]> {
    let chars: Vec<char> = format!(" {} ", normal(s)).chars().collect();
    chars.windows(3).map(|w| [w[0], w[1], w[2]]).collect()
}
