//! Redaction: a project's rules, applied to spans, log records and metric events as they
//! arrive, before anything is stored or forwarded. What a rule removes is never written, so no
//! read path (API, dashboard, MCP, exports, full-text search) can return it.
//!
//! Strings are redacted wherever they are: attribute values at any depth, event and link
//! attributes, resource and scope, span names and status messages, log bodies. A string holding
//! JSON (the usual shape of inputs, outputs and message lists) is parsed and redacted value by
//! value, so escaped text is seen as it reads and the result stays valid JSON.

mod detectors;

use std::collections::BTreeMap;

use regex::{Regex, RegexBuilder, RegexSet};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use detectors::Detector;
use detectors::Matcher;

use crate::{LogRecord, MetricEvent, MetricValue, Span};

/// A project's redaction rules. Empty rules redact nothing (the default).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RedactionRules {
    /// Built-in detectors to apply.
    #[serde(default)]
    pub detectors: Vec<Detector>,
    /// The project's own regular expressions (Rust `regex` syntax, matched in linear time).
    #[serde(default)]
    pub patterns: Vec<Pattern>,
    /// Attribute keys whose values are dropped whole, at any depth (also keys of JSON objects
    /// inside string values). A key ending in `*` drops every key it starts.
    #[serde(default)]
    pub drop_keys: Vec<String>,
}

/// A custom pattern: each match is replaced by `[REDACTED:<name>]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Pattern {
    /// 1 to 40 of `a-z`, `0-9`, `_` and `-`; not a detector's name.
    pub name: String,
    pub regex: String,
}

pub const MAX_PATTERNS: usize = 50;
pub const MAX_DROP_KEYS: usize = 200;
pub const MAX_REGEX_CHARS: usize = 1_000;
/// The name counts of dropped keys are kept under.
pub const DROPPED_KEYS: &str = "drop_keys";

impl RedactionRules {
    pub fn is_empty(&self) -> bool {
        self.detectors.is_empty() && self.patterns.is_empty() && self.drop_keys.is_empty()
    }

    /// Checks the rules; the error says what to change.
    pub fn validate(&self) -> Result<(), String> {
        Redactor::new(self).map(|_| ())
    }
}

/// Redactions made, by rule name (a detector's, a pattern's, or [`DROPPED_KEYS`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally(BTreeMap<String, u64>);

impl Tally {
    fn add(&mut self, rule: &str, n: u64) {
        if n > 0 {
            *self.0.entry(rule.to_string()).or_default() += n;
        }
    }

    pub fn merge(&mut self, other: Tally) {
        for (rule, n) in other.0 {
            *self.0.entry(rule).or_default() += n;
        }
    }

    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.0.iter().map(|(rule, n)| (rule.as_str(), *n))
    }
}

/// One rule's expression with the placeholder it writes.
struct Rule {
    name: String,
    placeholder: String,
    matcher: MatcherRef,
}

enum MatcherRef {
    Builtin(&'static Matcher),
    Custom(Matcher),
}

impl MatcherRef {
    fn get(&self) -> &Matcher {
        match self {
            MatcherRef::Builtin(m) => m,
            MatcherRef::Custom(m) => m,
        }
    }
}

/// Compiled rules.
pub struct Redactor {
    rules: Vec<Rule>,
    /// Every rule's expression, so one scan tells which rules a string needs.
    any: RegexSet,
    drop_exact: Vec<String>,
    drop_prefixes: Vec<String>,
}

impl Redactor {
    /// Compiles the rules; `None` when they are empty. An error says which rule is wrong.
    pub fn new(rules: &RedactionRules) -> Result<Option<Redactor>, String> {
        if rules.patterns.len() > MAX_PATTERNS {
            return Err(format!("at most {MAX_PATTERNS} patterns"));
        }
        if rules.drop_keys.len() > MAX_DROP_KEYS {
            return Err(format!("at most {MAX_DROP_KEYS} drop_keys"));
        }
        if rules.is_empty() {
            return Ok(None);
        }
        let mut compiled = Vec::new();
        let mut detectors = rules.detectors.clone();
        detectors.sort();
        detectors.dedup();
        for detector in detectors {
            for matcher in detector.matchers() {
                compiled.push(Rule {
                    name: detector.name().to_string(),
                    placeholder: placeholder(detector.name()),
                    matcher: MatcherRef::Builtin(matcher),
                });
            }
        }
        let mut names = Vec::new();
        for pattern in &rules.patterns {
            check_pattern_name(&pattern.name, &names)?;
            names.push(pattern.name.as_str());
            compiled.push(Rule {
                name: pattern.name.clone(),
                placeholder: placeholder(&pattern.name),
                matcher: MatcherRef::Custom(Matcher::custom(compile_pattern(pattern)?)),
            });
        }
        let any = RegexSet::new(compiled.iter().map(|r| r.matcher.get().regex.as_str()))
            .map_err(|e| format!("the patterns together are too large: {e}"))?;
        let (mut drop_exact, mut drop_prefixes) = (Vec::new(), Vec::new());
        for key in &rules.drop_keys {
            let key = key.trim();
            if key.is_empty() || key == "*" || key.len() > 256 {
                return Err(format!(
                    "drop_keys: {key:?} is not a key (1 to 256 characters, and not only `*`)"
                ));
            }
            match key.strip_suffix('*') {
                Some(prefix) => drop_prefixes.push(prefix.to_string()),
                None => drop_exact.push(key.to_string()),
            }
        }
        Ok(Some(Redactor {
            rules: compiled,
            any,
            drop_exact,
            drop_prefixes,
        }))
    }

    /// Redacts a span as decoded, before normalisation reads it: its name, status message,
    /// attributes, events, links, resource and scope. The fields normalisation derives
    /// (input, output, messages, user, ...) then come from redacted values.
    pub fn span(&self, span: &mut Span, tally: &mut Tally) {
        self.string(&mut span.name, tally);
        if let Some(message) = &mut span.status_message {
            self.string(message, tally);
        }
        self.map(&mut span.attributes, tally);
        for event in &mut span.events {
            self.string(&mut event.name, tally);
            self.map(&mut event.attributes, tally);
        }
        for link in &mut span.links {
            self.map(&mut link.attributes, tally);
        }
        self.map(&mut span.resource, tally);
        self.map(&mut span.scope.attributes, tally);
    }

    pub fn log(&self, record: &mut LogRecord, tally: &mut Tally) {
        if let Some(body) = &mut record.body {
            self.value(body, tally);
        }
        if let Some(name) = &mut record.event_name {
            self.string(name, tally);
        }
        self.map(&mut record.attributes, tally);
        self.map(&mut record.resource, tally);
        self.map(&mut record.scope.attributes, tally);
    }

    /// A metric event's free text: its comment and a text value.
    pub fn metric(&self, event: &mut MetricEvent, tally: &mut Tally) {
        if let Some(comment) = &mut event.comment {
            self.string(comment, tally);
        }
        if let MetricValue::Text(text) = &mut event.value {
            self.string(text, tally);
        }
    }

    /// The redacted text, or `None` when nothing in it is redacted.
    pub fn text(&self, text: &str, tally: &mut Tally) -> Option<String> {
        let trimmed = text.trim_start();
        if trimmed.starts_with('{') || trimmed.starts_with('[') {
            if let Ok(mut parsed) = serde_json::from_str::<Value>(text) {
                let before = tally.total();
                self.value(&mut parsed, tally);
                return (tally.total() != before).then(|| parsed.to_string());
            }
        }
        self.plain(text, tally)
    }

    fn plain(&self, text: &str, tally: &mut Tally) -> Option<String> {
        let hits = self.any.matches(text);
        if !hits.matched_any() {
            return None;
        }
        let mut out: Option<String> = None;
        for index in hits.iter() {
            let rule = &self.rules[index];
            let mut n = 0;
            let current = out.as_deref().unwrap_or(text);
            let replaced =
                rule.matcher
                    .get()
                    .regex
                    .replace_all(current, |caps: &regex::Captures| {
                        rule.matcher.get().replace(caps, &rule.placeholder, &mut n)
                    });
            if n > 0 {
                let replaced = replaced.into_owned();
                tally.add(&rule.name, n);
                out = Some(replaced);
            }
        }
        out
    }

    fn string(&self, text: &mut String, tally: &mut Tally) {
        if let Some(redacted) = self.text(text, tally) {
            *text = redacted;
        }
    }

    fn value(&self, value: &mut Value, tally: &mut Tally) {
        match value {
            Value::String(text) => self.string(text, tally),
            Value::Array(items) => items.iter_mut().for_each(|v| self.value(v, tally)),
            Value::Object(map) => self.map(map, tally),
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    fn map(&self, map: &mut Map<String, Value>, tally: &mut Tally) {
        if !self.drop_exact.is_empty() || !self.drop_prefixes.is_empty() {
            let before = map.len();
            map.retain(|key, _| !self.drops(key));
            tally.add(DROPPED_KEYS, (before - map.len()) as u64);
        }
        map.values_mut().for_each(|v| self.value(v, tally));
    }

    fn drops(&self, key: &str) -> bool {
        self.drop_exact.iter().any(|k| k == key)
            || self
                .drop_prefixes
                .iter()
                .any(|p| key.starts_with(p.as_str()))
    }
}

fn placeholder(rule: &str) -> String {
    format!("[REDACTED:{rule}]")
}

fn check_pattern_name(name: &str, taken: &[&str]) -> Result<(), String> {
    let valid = (1..=40).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !valid {
        return Err(format!(
            "pattern name {name:?}: use 1 to 40 of a-z, 0-9, `_` and `-`"
        ));
    }
    if Detector::ALL.iter().any(|d| d.name() == name) || name == DROPPED_KEYS {
        return Err(format!(
            "pattern name {name:?} is a built-in rule's name; choose another"
        ));
    }
    if taken.contains(&name) {
        return Err(format!("pattern name {name:?} is used twice"));
    }
    Ok(())
}

fn compile_pattern(pattern: &Pattern) -> Result<Regex, String> {
    let name = &pattern.name;
    if pattern.regex.is_empty() || pattern.regex.chars().count() > MAX_REGEX_CHARS {
        return Err(format!(
            "pattern {name:?}: the regex must have 1 to {MAX_REGEX_CHARS} characters"
        ));
    }
    let regex = RegexBuilder::new(&pattern.regex)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| format!("pattern {name:?}: {e}"))?;
    if regex.is_match("") {
        return Err(format!(
            "pattern {name:?} matches empty text, so it would match everywhere; \
             make it require at least one character"
        ));
    }
    Ok(regex)
}

#[cfg(test)]
mod tests;
