//! What a sample span is before it gets ids and times: a name, attributes and how long it
//! takes, with its children in the order they ran.

use serde_json::Value;

/// Pause between one child span's end and the next one's start.
pub const GAP_MS: u64 = 3;

/// One span and the spans under it.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanSpec {
    pub name: String,
    /// OTel span kind CLIENT (a call to a provider or store) rather than INTERNAL.
    pub client: bool,
    /// Attribute values as JSON: strings, integers, floats and string arrays are sent as such;
    /// objects are sent as JSON text, as GenAI emitters do.
    pub attributes: Vec<(String, Value)>,
    /// A leaf's duration; for a parent, its own time, half before its children and half after.
    pub own_ms: u64,
    pub children: Vec<SpanSpec>,
    pub failure: Option<Failure>,
}

/// One sample run: its root span, how long after the previous run it ended, and the scores
/// posted to it afterwards as metric events.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSpec {
    pub root: SpanSpec,
    pub minutes_after_previous: u32,
    pub scores: Vec<Score>,
}

/// A metric event of a sample run: an outcome, a user's feedback or an evaluator's grade.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    pub name: &'static str,
    pub value: Value,
    pub source: &'static str,
    pub comment: Option<&'static str>,
}

impl Score {
    pub fn new(name: &'static str, value: impl Into<Value>, source: &'static str) -> Score {
        Score {
            name,
            value: value.into(),
            source,
            comment: None,
        }
    }

    pub fn comment(self, comment: &'static str) -> Score {
        Score {
            comment: Some(comment),
            ..self
        }
    }

    /// The event as `POST /api/v1/runs/{run_id}/metrics` takes it.
    pub fn body(&self) -> Value {
        let mut body = serde_json::json!({
            "name": self.name, "value": self.value, "source": self.source,
        });
        if let Some(comment) = self.comment {
            body["comment"] = comment.into();
        }
        body
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub message: String,
    pub exception: Option<Exception>,
}

/// What an `exception` span event records.
#[derive(Debug, Clone, PartialEq)]
pub struct Exception {
    pub kind: String,
    pub message: String,
    pub stacktrace: String,
}

impl SpanSpec {
    pub fn new(name: impl Into<String>, client: bool, own_ms: u64) -> SpanSpec {
        SpanSpec {
            name: name.into(),
            client,
            attributes: Vec::new(),
            own_ms,
            children: Vec::new(),
            failure: None,
        }
    }

    /// Adds an attribute; `null` values are left out.
    pub fn attr(&mut self, key: &str, value: impl Into<Value>) -> &mut SpanSpec {
        let value = value.into();
        if !value.is_null() {
            self.attributes.push((key.to_string(), value));
        }
        self
    }

    /// Start to end, children run one after another.
    pub fn total_ms(&self) -> u64 {
        self.own_ms
            + self
                .children
                .iter()
                .map(|c| c.total_ms() + GAP_MS)
                .sum::<u64>()
    }

    /// This span and all below it.
    pub fn count(&self) -> usize {
        1 + self.children.iter().map(SpanSpec::count).sum::<usize>()
    }

    #[cfg(test)]
    pub fn attribute(&self, key: &str) -> Option<&Value> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Every span of the tree, parents before children.
    #[cfg(test)]
    pub fn pre_order(&self) -> Vec<&SpanSpec> {
        let mut out = vec![self];
        for c in &self.children {
            out.extend(c.pre_order());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_and_counts_include_children() {
        let mut root = SpanSpec::new("root", false, 10);
        let mut child = SpanSpec::new("child", true, 100);
        child.children.push(SpanSpec::new("leaf", false, 7));
        root.children.push(child);
        root.children.push(SpanSpec::new("other", false, 20));
        assert_eq!(root.count(), 4);
        assert_eq!(
            root.total_ms(),
            10 + (100 + 7 + GAP_MS) + GAP_MS + 20 + GAP_MS
        );
        let names: Vec<&str> = root.pre_order().iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["root", "child", "leaf", "other"]);
    }

    #[test]
    fn null_attributes_are_left_out() {
        let mut s = SpanSpec::new("s", false, 1);
        s.attr("a", Value::Null).attr("b", "x");
        assert_eq!(s.attributes.len(), 1);
        assert_eq!(s.attribute("b"), Some(&Value::from("x")));
    }
}
