//! Typed reads of a span's attributes, with the resource as a fallback for the keys that
//! conventions allow there.

use serde_json::{Map, Value};

use crate::model::{Span, SpanEvent};
use crate::value::{as_f64, as_string_list, as_text, as_u64, lenient_json};

pub struct Attrs<'a> {
    pub span: &'a Span,
}

impl<'a> Attrs<'a> {
    pub fn new(span: &'a Span) -> Self {
        Attrs { span }
    }

    pub fn map(&self) -> &'a Map<String, Value> {
        &self.span.attributes
    }

    pub fn events(&self) -> &'a [SpanEvent] {
        &self.span.events
    }

    pub fn name(&self) -> &'a str {
        &self.span.name
    }

    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.span.attributes.get(key).filter(|v| !v.is_null())
    }

    /// A span attribute, else the same key on the resource.
    pub fn get_or_resource(&self, key: &str) -> Option<&'a Value> {
        self.get(key)
            .or_else(|| self.span.resource.get(key).filter(|v| !v.is_null()))
    }

    pub fn text(&self, key: &str) -> Option<String> {
        self.get(key).and_then(as_text)
    }

    /// The first of several keys that holds text.
    pub fn text_any(&self, keys: &[&str]) -> Option<String> {
        keys.iter().find_map(|k| self.text(k))
    }

    pub fn u64(&self, key: &str) -> Option<u64> {
        self.get(key).and_then(as_u64)
    }

    pub fn u64_any(&self, keys: &[&str]) -> Option<u64> {
        keys.iter().find_map(|k| self.u64(k))
    }

    pub fn f64(&self, key: &str) -> Option<f64> {
        self.get(key).and_then(as_f64)
    }

    /// A value with JSON held in strings parsed (leniently).
    pub fn json(&self, key: &str) -> Option<Value> {
        self.get(key)
            .map(lenient_json)
            .filter(|v| !matches!(v, Value::String(s) if s.is_empty()))
    }

    pub fn list(&self, key: &str) -> Option<Vec<String>> {
        self.get(key).map(as_string_list).filter(|l| !l.is_empty())
    }

    /// Attributes under `prefix` (with the prefix removed), e.g. `lemma.metadata.`.
    pub fn with_prefix(&self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a Value)> + 'a {
        self.span
            .attributes
            .iter()
            .filter_map(move |(k, v)| k.strip_prefix(prefix).map(|rest| (rest, v)))
    }

    pub fn has_prefix(&self, prefix: &str) -> bool {
        self.span.attributes.keys().any(|k| k.starts_with(prefix))
    }
}
