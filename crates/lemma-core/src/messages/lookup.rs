//! Field lookups shared by the message readers. They work on plain JSON maps because messages
//! come from span attributes, event attributes and log bodies alike.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::value::{as_text, lenient_json};

/// The first of `keys` that holds a non-null value.
pub fn first<'a>(obj: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a Value> {
    keys.iter()
        .find_map(|k| obj.get(*k).filter(|v| !v.is_null()))
}

/// The first of `keys` that holds non-empty text (numbers rendered, as ids often are).
pub fn text_at(obj: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| obj.get(*k).and_then(as_text))
}

/// A value with JSON held in a string parsed.
pub fn json_at(obj: &Map<String, Value>, key: &str) -> Option<Value> {
    obj.get(key).filter(|v| !v.is_null()).map(lenient_json)
}

/// Attributes a caller has already parsed as [`json_at`] would, by key. A model call's
/// conversation is its largest attribute; a reader that parsed it for the span's payload hands
/// it over instead of having it parsed again for the messages.
#[derive(Debug, Clone, Copy, Default)]
pub struct Parsed<'a>(&'a [(&'a str, &'a Value)]);

impl<'a> Parsed<'a> {
    pub const NONE: Parsed<'static> = Parsed(&[]);

    /// `entries` must hold, for each key, what `json_at` reads from that attribute.
    pub fn new(entries: &'a [(&'a str, &'a Value)]) -> Self {
        Parsed(entries)
    }

    /// [`json_at`], from the parsed entries when they hold `key`.
    pub fn json_at<'m>(&self, obj: &'m Map<String, Value>, key: &str) -> Option<Cow<'m, Value>>
    where
        'a: 'm,
    {
        match self.0.iter().find(|(k, _)| *k == key) {
            Some((_, value)) => Some(Cow::Borrowed(*value)),
            None => json_at(obj, key).map(Cow::Owned),
        }
    }
}

/// An identifier, with the stray whitespace some emitters leave around it removed.
pub fn id(value: Option<&Value>) -> Option<String> {
    value
        .and_then(as_text)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// The items of a rebuilt flattened list in index order. A list is normally an array; when
/// stray non-numeric keys sit next to the indices it is an object, whose numeric keys are used.
pub fn indexed(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        Value::Object(map) => {
            let mut items: Vec<(u64, &Value)> = map
                .iter()
                .filter_map(|(k, v)| Some((k.parse::<u64>().ok()?, v)))
                .collect();
            items.sort_by_key(|(i, _)| *i);
            items.into_iter().map(|(_, v)| v).collect()
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_are_trimmed_and_numbers_rendered() {
        assert_eq!(id(Some(&json!(" call_1 "))), Some("call_1".into()));
        assert_eq!(id(Some(&json!(7))), Some("7".into()));
        assert_eq!(id(Some(&json!("  "))), None);
        assert_eq!(id(None), None);
    }

    #[test]
    fn indexed_orders_numeric_keys_and_drops_others() {
        let v = json!({"10": "c", "2": "b", "x": "junk", "0": "a"});
        assert_eq!(indexed(&v), [&json!("a"), &json!("b"), &json!("c")]);
        assert_eq!(indexed(&json!(["a"])), [&json!("a")]);
        assert!(indexed(&json!("a")).is_empty());
    }
}
