//! Attribute values: OTLP `AnyValue` to JSON, and lenient reading of JSON held in strings.

use base64::Engine;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use serde_json::{Map, Number, Value};

/// Converts an OTLP value to JSON. Bytes become base64 strings; non-finite doubles become
/// strings, since JSON has no NaN.
pub fn any_value_to_json(value: &AnyValue) -> Value {
    match &value.value {
        None => Value::Null,
        Some(any_value::Value::StringValue(s)) => Value::String(s.clone()),
        Some(any_value::Value::BoolValue(b)) => Value::Bool(*b),
        Some(any_value::Value::IntValue(i)) => Value::Number((*i).into()),
        Some(any_value::Value::DoubleValue(d)) => Number::from_f64(*d)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(d.to_string())),
        Some(any_value::Value::ArrayValue(a)) => {
            Value::Array(a.values.iter().map(any_value_to_json).collect())
        }
        Some(any_value::Value::KvlistValue(kv)) => Value::Object(key_values_to_map(&kv.values)),
        Some(any_value::Value::BytesValue(b)) => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        // A reference into a profiles dictionary; traces never carry one.
        Some(any_value::Value::StringValueStrindex(_)) => Value::Null,
    }
}

/// Converts an OTLP attribute list to a JSON object. On duplicate keys the last one wins, as
/// in the OTel SDKs.
pub fn key_values_to_map(kvs: &[KeyValue]) -> Map<String, Value> {
    let mut map = Map::with_capacity(kvs.len());
    for kv in kvs {
        let v = kv
            .value
            .as_ref()
            .map(any_value_to_json)
            .unwrap_or(Value::Null);
        map.insert(kv.key.clone(), v);
    }
    map
}

/// Reads a value that may be JSON serialised into a string. Anything that does not parse is
/// kept as the string it was: bad JSON never fails ingestion (emitters truncate mid-JSON).
pub fn lenient_json(value: &Value) -> Value {
    match value {
        Value::String(s) => parse_json_str(s).unwrap_or_else(|| value.clone()),
        other => other.clone(),
    }
}

/// Parses a string as JSON when it looks like an object or array and parses completely.
pub fn parse_json_str(s: &str) -> Option<Value> {
    let t = s.trim_start();
    if t.starts_with('{') || t.starts_with('[') {
        serde_json::from_str(t).ok()
    } else {
        None
    }
}

/// A non-empty string from a value; numbers and booleans are rendered as text (ids are often
/// sent as integers).
pub fn as_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A non-negative integer from a value that may be a number, a float with no fraction, or a
/// numeric string.
pub fn as_u64(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| *f >= 0.0 && f.fract() == 0.0)
                .map(|f| f as u64)
        }),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    }
}

pub fn as_f64(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

/// How many string layers of JSON encoding [`decode_json_layers`] peels; real emitters use two
/// at most, the bound keeps hostile input cheap.
const MAX_ENCODINGS: usize = 4;

/// Like [`lenient_json`], also peeling string layers of double encoding: `"\"gold\""` becomes
/// `gold`, `"\"{\\\"a\\\":1}\""` becomes `{"a":1}` (the Langfuse Python SDK's metadata, tool
/// arguments of some providers). Anything that does not parse stays as it was.
pub fn decode_json_layers(value: &Value) -> Value {
    let mut current = lenient_json(value);
    for _ in 0..MAX_ENCODINGS {
        let Value::String(s) = &current else { break };
        let t = s.trim();
        if !t.starts_with('"') {
            break;
        }
        match serde_json::from_str::<Value>(t) {
            Ok(inner @ Value::String(_)) => current = lenient_json(&inner),
            _ => break,
        }
    }
    current
}

/// Tags from an array, a JSON array in a string, a comma-separated string, or a single tag.
pub fn tag_list(value: &Value) -> Vec<String> {
    let items = match decode_json_layers(value) {
        Value::Array(items) => items.iter().filter_map(as_text).collect(),
        Value::String(s) => s.split(',').map(str::to_string).collect(),
        other => as_text(&other).into_iter().collect::<Vec<_>>(),
    };
    items
        .into_iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

/// A list of strings from an array, a JSON-array string, or a comma-free single string.
pub fn as_string_list(value: &Value) -> Vec<String> {
    match lenient_json(value) {
        Value::Array(items) => items.iter().filter_map(as_text).collect(),
        other => as_text(&other).into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lenient_json_parses_objects_and_keeps_bad_json() {
        assert_eq!(lenient_json(&json!("{\"a\":1}")), json!({"a": 1}));
        assert_eq!(lenient_json(&json!("[1,2")), json!("[1,2"));
        assert_eq!(lenient_json(&json!("plain text")), json!("plain text"));
        assert_eq!(lenient_json(&json!(42)), json!(42));
    }

    #[test]
    fn numbers_from_strings_and_floats() {
        assert_eq!(as_u64(&json!("12")), Some(12));
        assert_eq!(as_u64(&json!(12.0)), Some(12));
        assert_eq!(as_u64(&json!(-1)), None);
        assert_eq!(as_u64(&json!(1.5)), None);
        assert_eq!(as_text(&json!(7)), Some("7".into()));
        assert_eq!(as_text(&json!("  ")), None);
    }

    #[test]
    fn double_encoded_json_is_peeled() {
        assert_eq!(decode_json_layers(&json!("\"gold\"")), json!("gold"));
        assert_eq!(
            decode_json_layers(&json!("\"{\\\"city\\\":\\\"Paris\\\"}\"")),
            json!({"city": "Paris"})
        );
        assert_eq!(
            decode_json_layers(&json!("\"unterminated")),
            json!("\"unterminated")
        );
        assert_eq!(decode_json_layers(&json!("{\"a\":1")), json!("{\"a\":1"));
    }

    #[test]
    fn tags_in_every_shape() {
        assert_eq!(tag_list(&json!(["a", " b "])), vec!["a", "b"]);
        assert_eq!(tag_list(&json!("[\"a\",\"b\"]")), vec!["a", "b"]);
        assert_eq!(tag_list(&json!("a, b,,c")), vec!["a", "b", "c"]);
        assert_eq!(tag_list(&json!("solo")), vec!["solo"]);
    }

    #[test]
    fn string_lists() {
        assert_eq!(as_string_list(&json!(["a", "b"])), vec!["a", "b"]);
        assert_eq!(as_string_list(&json!("[\"a\"]")), vec!["a"]);
        assert_eq!(as_string_list(&json!("solo")), vec!["solo"]);
    }
}
