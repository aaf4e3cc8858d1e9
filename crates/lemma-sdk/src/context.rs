//! The run context (thread, user, session, environment, tags, metadata): set on a run, copied
//! onto every span started inside it.
//!
//! In this process it lives in the OTel [`Context`] as a value of its own, so nothing limits
//! its size. A copy travels in W3C baggage under `lemma.*` keys (`lemma.tags` as a JSON array)
//! so that another process continuing the trace gets it too; baggage is read first and the
//! local value wins.

use std::collections::BTreeMap;

use opentelemetry::baggage::{Baggage, BaggageExt};
use opentelemetry::{Array, Context, KeyValue, StringValue, Value};

pub(crate) const THREAD_ID: &str = "lemma.thread_id";
pub(crate) const USER_ID: &str = "lemma.user_id";
pub(crate) const SESSION_ID: &str = "lemma.session_id";
pub(crate) const ENVIRONMENT: &str = "lemma.environment";
pub(crate) const TAGS: &str = "lemma.tags";
pub(crate) const METADATA_PREFIX: &str = "lemma.metadata.";

/// The attributes a run hands down to its spans. Also the update an agent builder collects.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct RunContext {
    pub(crate) thread_id: Option<String>,
    pub(crate) user_id: Option<String>,
    pub(crate) session_id: Option<String>,
    pub(crate) environment: Option<String>,
    pub(crate) tags: Vec<String>,
    pub(crate) metadata: BTreeMap<String, String>,
}

impl RunContext {
    pub(crate) fn is_empty(&self) -> bool {
        self == &RunContext::default()
    }

    /// `self` with `update` on top: set fields replace, tags add up, metadata merges by key.
    fn merged(mut self, update: &RunContext) -> RunContext {
        let replace = |mine: &mut Option<String>, theirs: &Option<String>| {
            if theirs.is_some() {
                mine.clone_from(theirs);
            }
        };
        replace(&mut self.thread_id, &update.thread_id);
        replace(&mut self.user_id, &update.user_id);
        replace(&mut self.session_id, &update.session_id);
        replace(&mut self.environment, &update.environment);
        for tag in &update.tags {
            if !self.tags.contains(tag) {
                self.tags.push(tag.clone());
            }
        }
        self.metadata
            .extend(update.metadata.iter().map(|(k, v)| (k.clone(), v.clone())));
        self
    }

    /// The context's `lemma.*` baggage entries.
    fn from_baggage(baggage: &Baggage) -> RunContext {
        let mut rc = RunContext::default();
        for (key, (value, _)) in baggage.iter() {
            let value = value.as_str();
            match key.as_str() {
                THREAD_ID => rc.thread_id = Some(value.to_string()),
                USER_ID => rc.user_id = Some(value.to_string()),
                SESSION_ID => rc.session_id = Some(value.to_string()),
                ENVIRONMENT => rc.environment = Some(value.to_string()),
                TAGS => rc.tags = parse_tags(value),
                other => {
                    if let Some(name) = other.strip_prefix(METADATA_PREFIX) {
                        rc.metadata.insert(name.to_string(), value.to_string());
                    }
                }
            }
        }
        rc
    }

    /// The span attributes: `lemma.thread_id`, ..., `lemma.tags` as a string array.
    pub(crate) fn attributes(&self) -> Vec<KeyValue> {
        let mut out = Vec::new();
        for (key, value) in self.scalar_entries() {
            out.push(KeyValue::new(key, value.to_string()));
        }
        if !self.tags.is_empty() {
            let tags: Vec<StringValue> = self.tags.iter().cloned().map(Into::into).collect();
            out.push(KeyValue::new(TAGS, Value::Array(Array::String(tags))));
        }
        for (name, value) in &self.metadata {
            out.push(KeyValue::new(
                format!("{METADATA_PREFIX}{name}"),
                value.clone(),
            ));
        }
        out
    }

    /// The baggage entries that carry this context to another process.
    fn baggage_entries(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .scalar_entries()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if !self.tags.is_empty() {
            let tags = serde_json::to_string(&self.tags).unwrap_or_default();
            out.push((TAGS.to_string(), tags));
        }
        for (name, value) in &self.metadata {
            out.push((format!("{METADATA_PREFIX}{name}"), value.clone()));
        }
        out
    }

    fn scalar_entries(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            (THREAD_ID, &self.thread_id),
            (USER_ID, &self.user_id),
            (SESSION_ID, &self.session_id),
            (ENVIRONMENT, &self.environment),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k, v.as_deref()?)))
    }
}

/// Tags from baggage: a JSON array of strings, else a comma-separated list.
fn parse_tags(value: &str) -> Vec<String> {
    if let Ok(tags) = serde_json::from_str::<Vec<String>>(value) {
        return tags;
    }
    value
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(String::from)
        .collect()
}

/// The run context in effect in `cx`.
pub(crate) fn run_context(cx: &Context) -> RunContext {
    let from_baggage = RunContext::from_baggage(cx.baggage());
    match cx.get::<RunContext>() {
        Some(local) => from_baggage.merged(local),
        None => from_baggage,
    }
}

/// `cx` with `update` applied to its run context, in the context value and in baggage.
pub(crate) fn with_run_context(cx: &Context, update: &RunContext) -> Context {
    if update.is_empty() {
        return cx.clone();
    }
    let merged = run_context(cx).merged(update);
    let mut baggage = Baggage::new();
    for (key, (value, metadata)) in cx.baggage().iter() {
        baggage.insert_with_metadata(key.clone(), value.clone(), metadata.clone());
    }
    // Best effort: an entry over the W3C limits stays local to this process.
    for (key, value) in merged.baggage_entries() {
        baggage.insert(key, value);
    }
    cx.with_value(merged).with_baggage(baggage)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RunContext {
        RunContext {
            thread_id: Some("t-1".into()),
            user_id: Some("u-1".into()),
            tags: vec!["beta".into()],
            metadata: [("plan".to_string(), "gold".to_string())].into(),
            ..Default::default()
        }
    }

    #[test]
    fn context_round_trips_through_baggage_only() {
        let cx = with_run_context(&Context::new(), &sample());
        // What another process sees: the baggage alone.
        let remote = Context::new().with_baggage(
            cx.baggage()
                .iter()
                .map(|(k, (v, _))| KeyValue::new(k.clone(), v.clone()))
                .collect::<Vec<_>>(),
        );
        assert_eq!(run_context(&remote), sample());
    }

    #[test]
    fn updates_replace_fields_and_add_tags() {
        let outer = with_run_context(&Context::new(), &sample());
        let update = RunContext {
            thread_id: Some("t-2".into()),
            tags: vec!["beta".into(), "sub".into()],
            metadata: [("step".to_string(), "2".to_string())].into(),
            ..Default::default()
        };
        let inner = run_context(&with_run_context(&outer, &update));
        assert_eq!(inner.thread_id.as_deref(), Some("t-2"));
        assert_eq!(inner.user_id.as_deref(), Some("u-1"));
        assert_eq!(inner.tags, ["beta", "sub"]);
        assert_eq!(inner.metadata.len(), 2);
    }

    #[test]
    fn other_baggage_is_kept() {
        let cx = Context::new().with_baggage([KeyValue::new("tenant", "acme")]);
        let cx = with_run_context(&cx, &sample());
        assert_eq!(cx.baggage().get("tenant").map(|v| v.as_str()), Some("acme"));
        assert_eq!(cx.baggage().get(THREAD_ID).map(|v| v.as_str()), Some("t-1"));
    }

    #[test]
    fn tags_parse_from_json_or_commas() {
        assert_eq!(parse_tags(r#"["a","b c"]"#), ["a", "b c"]);
        assert_eq!(parse_tags("a, b,,c"), ["a", "b", "c"]);
    }

    #[test]
    fn attributes_are_typed() {
        let attrs = sample().attributes();
        let get = |k: &str| {
            attrs
                .iter()
                .find(|kv| kv.key.as_str() == k)
                .map(|kv| &kv.value)
        };
        assert_eq!(get(THREAD_ID), Some(&Value::from("t-1")));
        assert_eq!(
            get(TAGS),
            Some(&Value::Array(Array::String(vec!["beta".into()])))
        );
        assert_eq!(get("lemma.metadata.plan"), Some(&Value::from("gold")));
        assert_eq!(get(SESSION_ID), None);
    }
}
