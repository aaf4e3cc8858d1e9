//! How values become attribute text: strings as they are, anything else as JSON.

use serde::Serialize;
use serde_json::Value;

/// The attribute text for `value`: a string is written as is (so a prompt reads as a prompt,
/// not as a quoted JSON string), anything else JSON-encoded. `None` when serialization fails,
/// so recording never fails user code.
pub(crate) fn to_text<T: Serialize + ?Sized>(value: &T) -> Option<String> {
    match serde_json::to_value(value).ok()? {
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}

/// The JSON value of `value`, `None` when it does not serialize.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> Option<Value> {
    serde_json::to_value(value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_stay_text_and_the_rest_is_json() {
        assert_eq!(to_text("hello").as_deref(), Some("hello"));
        assert_eq!(to_text(&String::from("a\"b")).as_deref(), Some("a\"b"));
        assert_eq!(to_text(&42).as_deref(), Some("42"));
        assert_eq!(
            to_text(&json!({"city": "Paris"})).as_deref(),
            Some(r#"{"city":"Paris"}"#)
        );
        assert_eq!(to_text(&vec!["a", "b"]).as_deref(), Some(r#"["a","b"]"#));
    }

    #[test]
    fn unserializable_values_are_skipped() {
        // A map with non-string keys cannot become JSON.
        let mut map = std::collections::HashMap::new();
        map.insert((1, 2), "x");
        assert_eq!(to_text(&map), None);
    }
}
