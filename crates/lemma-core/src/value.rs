//! Attribute values: OTLP `AnyValue` to JSON, and lenient reading of JSON held in strings.
//!
//! Every value built here from span content nests at most [`MAX_DEPTH`] arrays and objects.

use base64::Engine;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use serde_json::{Map, Number, Value};

/// The deepest nesting of arrays and objects in a value built from span content. A stored span
/// or run wraps its values in a few more levels and an API answer in a few more again, and
/// serde_json (the server's and most clients') reads at most 128 levels: a value deeper than
/// that could be accepted and then never read back. Past this depth, JSON text stays the
/// string it came as and an OTLP value's deeper part becomes its JSON text.
pub const MAX_DEPTH: usize = 64;

/// Converts an OTLP value to JSON. Bytes become base64 strings; non-finite doubles become
/// strings, since JSON has no NaN; arrays and lists nested deeper than [`MAX_DEPTH`] become
/// their JSON text.
pub fn any_value_to_json(value: &AnyValue) -> Value {
    to_json(value, MAX_DEPTH)
}

/// `value` as JSON, with at most `depth` levels of arrays and objects.
fn to_json(value: &AnyValue, depth: usize) -> Value {
    match &value.value {
        None => Value::Null,
        Some(any_value::Value::StringValue(s)) => Value::String(s.clone()),
        Some(any_value::Value::BoolValue(b)) => Value::Bool(*b),
        Some(any_value::Value::IntValue(i)) => Value::Number((*i).into()),
        Some(any_value::Value::DoubleValue(d)) => Number::from_f64(*d)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(d.to_string())),
        // The OTLP decoders bound a value's nesting, so converting the rest whole is too.
        Some(any_value::Value::ArrayValue(_) | any_value::Value::KvlistValue(_)) if depth == 0 => {
            Value::String(to_json(value, usize::MAX).to_string())
        }
        Some(any_value::Value::ArrayValue(a)) => {
            Value::Array(a.values.iter().map(|v| to_json(v, depth - 1)).collect())
        }
        Some(any_value::Value::KvlistValue(kv)) => Value::Object(to_map(&kv.values, depth - 1)),
        Some(any_value::Value::BytesValue(b)) => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        // A reference into a profiles dictionary; traces never carry one.
        Some(any_value::Value::StringValueStrindex(_)) => Value::Null,
    }
}

/// A JSON value as OTLP, the inverse of [`any_value_to_json`] for what it builds: whole numbers
/// as ints, other numbers as doubles, objects as key-value lists, null as an empty value.
pub fn json_to_any_value(value: &Value) -> AnyValue {
    let value = match value {
        Value::Null => None,
        Value::Bool(b) => Some(any_value::Value::BoolValue(*b)),
        Value::Number(n) => Some(match n.as_i64() {
            Some(i) => any_value::Value::IntValue(i),
            None => any_value::Value::DoubleValue(n.as_f64().unwrap_or(0.0)),
        }),
        Value::String(s) => Some(any_value::Value::StringValue(s.clone())),
        Value::Array(items) => Some(any_value::Value::ArrayValue(
            opentelemetry_proto::tonic::common::v1::ArrayValue {
                values: items.iter().map(json_to_any_value).collect(),
            },
        )),
        Value::Object(map) => Some(any_value::Value::KvlistValue(
            opentelemetry_proto::tonic::common::v1::KeyValueList {
                values: map_to_key_values(map),
            },
        )),
    };
    AnyValue { value }
}

/// A JSON object as an OTLP attribute list, the inverse of [`key_values_to_map`].
pub fn map_to_key_values(map: &Map<String, Value>) -> Vec<KeyValue> {
    map.iter()
        .map(|(key, value)| KeyValue {
            key: key.clone(),
            value: Some(json_to_any_value(value)),
            ..Default::default()
        })
        .collect()
}

/// Converts an OTLP attribute list to a JSON object. On duplicate keys the last one wins, as
/// in the OTel SDKs.
pub fn key_values_to_map(kvs: &[KeyValue]) -> Map<String, Value> {
    to_map(kvs, MAX_DEPTH)
}

fn to_map(kvs: &[KeyValue], depth: usize) -> Map<String, Value> {
    let mut map = Map::with_capacity(kvs.len());
    for kv in kvs {
        let v = kv
            .value
            .as_ref()
            .map(|v| to_json(v, depth))
            .unwrap_or(Value::Null);
        map.insert(kv.key.clone(), v);
    }
    map
}

/// Whether `value` nests more than `depth` levels of arrays and objects (a scalar nests none).
pub fn deeper_than(value: &Value, depth: usize) -> bool {
    match value {
        Value::Array(items) => depth == 0 || items.iter().any(|v| deeper_than(v, depth - 1)),
        Value::Object(map) => depth == 0 || map.values().any(|v| deeper_than(v, depth - 1)),
        _ => false,
    }
}

/// Replaces the arrays and objects of `value` nested more than `depth` levels down by their
/// JSON text, so it nests at most `depth` levels.
pub fn cap_depth(value: &mut Value, depth: usize) {
    match value {
        Value::Array(_) | Value::Object(_) if depth == 0 => {
            *value = Value::String(value.to_string());
        }
        Value::Array(items) => items.iter_mut().for_each(|v| cap_depth(v, depth - 1)),
        Value::Object(map) => map.values_mut().for_each(|v| cap_depth(v, depth - 1)),
        _ => {}
    }
}

/// JSON text with its arrays and objects nested more than `depth` levels down replaced by
/// their text as a JSON string, as [`cap_depth`] does to a value; `None` when nothing nests
/// that deep. It reads the text without recursing, so text deeper than a parser accepts (JSON
/// stored before values were bounded) can be capped and then parsed.
pub fn cap_json_text(json: &[u8], depth: usize) -> Option<Vec<u8>> {
    let mut out: Option<Vec<u8>> = None;
    // Bytes of `json` already in `out`, and where the subtree being cut starts.
    let mut copied = 0;
    let mut cut = None;
    let (mut level, mut in_string, mut escaped) = (0usize, false, false);
    for (i, &b) in json.iter().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                level += 1;
                if level == depth + 1 {
                    cut = Some(i);
                }
            }
            b']' | b'}' => {
                if let (true, Some(start)) = (level == depth + 1, cut) {
                    let out = out.get_or_insert_with(|| Vec::with_capacity(json.len() + 64));
                    out.extend_from_slice(&json[copied..start]);
                    let text = String::from_utf8_lossy(&json[start..=i]);
                    serde_json::to_writer(&mut *out, &text).expect("writing to a Vec");
                    copied = i + 1;
                    cut = None;
                }
                level = level.saturating_sub(1);
            }
            _ => {}
        }
    }
    let mut out = out?;
    out.extend_from_slice(&json[copied..]);
    Some(out)
}

/// Reads a value that may be JSON serialised into a string. Anything that does not parse is
/// kept as the string it was: bad JSON never fails ingestion (emitters truncate mid-JSON).
pub fn lenient_json(value: &Value) -> Value {
    match value {
        Value::String(s) => parse_json_str(s).unwrap_or_else(|| value.clone()),
        other => other.clone(),
    }
}

/// Parses a string as JSON when it looks like an object or array, parses completely and nests
/// at most [`MAX_DEPTH`] levels.
pub fn parse_json_str(s: &str) -> Option<Value> {
    let t = s.trim_start();
    if t.starts_with('{') || t.starts_with('[') {
        serde_json::from_str(t)
            .ok()
            .filter(|v| !deeper_than(v, MAX_DEPTH))
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

    fn nested(depth: usize) -> String {
        format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
    }

    fn depth(value: &Value) -> usize {
        (0..).find(|&d| !deeper_than(value, d)).unwrap()
    }

    #[test]
    fn json_text_nested_deeper_than_the_bound_stays_a_string() {
        let deepest = nested(MAX_DEPTH);
        assert_eq!(depth(&parse_json_str(&deepest).unwrap()), MAX_DEPTH);
        // Still within serde_json's own limit: the bound is Lemma's, not the parser's.
        for text in [nested(MAX_DEPTH + 1), nested(127), nested(5_000)] {
            assert_eq!(parse_json_str(&text), None);
            assert_eq!(lenient_json(&json!(text)), json!(text));
            assert_eq!(decode_json_layers(&json!(text)), json!(text));
            let encoded = serde_json::to_string(&text).unwrap();
            assert_eq!(decode_json_layers(&json!(encoded)), json!(text));
        }
        let wide = format!("{{\"a\":{},\"b\":{}}}", nested(3), nested(MAX_DEPTH));
        assert_eq!(lenient_json(&json!(wide)), json!(wide));
    }

    /// `depth` levels of OTLP arrays, alternating with key-value lists, around `1`.
    fn otlp_nested(depth: usize) -> AnyValue {
        use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};
        (0..depth).fold(
            AnyValue {
                value: Some(any_value::Value::IntValue(1)),
            },
            |inner, level| AnyValue {
                value: Some(if level % 2 == 0 {
                    any_value::Value::ArrayValue(ArrayValue {
                        values: vec![inner],
                    })
                } else {
                    any_value::Value::KvlistValue(KeyValueList {
                        values: vec![KeyValue {
                            key: "k".into(),
                            value: Some(inner),
                            ..Default::default()
                        }],
                    })
                }),
            },
        )
    }

    #[test]
    fn otlp_values_nested_deeper_than_the_bound_end_in_their_json_text() {
        assert_eq!(
            depth(&any_value_to_json(&otlp_nested(MAX_DEPTH))),
            MAX_DEPTH
        );
        let mut value = any_value_to_json(&otlp_nested(MAX_DEPTH + 10));
        assert_eq!(depth(&value), MAX_DEPTH);
        // The innermost level kept is the JSON text of the rest.
        for _ in 0..MAX_DEPTH {
            value = match value {
                Value::Array(mut items) => items.remove(0),
                Value::Object(mut map) => map.remove("k").unwrap(),
                other => panic!("{other}"),
            };
        }
        let rest: Value = serde_json::from_str(value.as_str().unwrap()).unwrap();
        assert_eq!(depth(&rest), 10);
        // An attribute list is one level itself, its values up to the bound below it.
        let attrs = key_values_to_map(&[KeyValue {
            key: "deep".into(),
            value: Some(otlp_nested(200)),
            ..Default::default()
        }]);
        assert_eq!(depth(&attrs["deep"]), MAX_DEPTH);
    }

    #[test]
    fn capping_a_value_or_its_text_keeps_what_is_within_the_depth() {
        let docs = [
            json!({"a": [1, {"b": [[["x]}\\\"{["]]]}], "c": {"d": {}}, "e": "[[[[", "f": []}),
            json!([[[[]]], [[["\\"]]], {"k": {"k": {"k": {"k": null}}}}]),
            json!("plain"),
        ];
        for doc in docs {
            let text = serde_json::to_vec(&doc).unwrap();
            for max in 0..6 {
                let mut capped = doc.clone();
                cap_depth(&mut capped, max);
                assert!(!deeper_than(&capped, max), "{capped}");
                let from_text = match cap_json_text(&text, max) {
                    Some(t) => serde_json::from_slice(&t).unwrap(),
                    None => {
                        assert!(!deeper_than(&doc, max), "{doc} at {max}");
                        doc.clone()
                    }
                };
                assert_eq!(from_text, capped, "{doc} at {max}");
            }
        }
        // Deeper than serde_json reads: capped, the text parses, and holds the rest verbatim.
        let text = format!("{{\"input\":{}}}", nested(10_000));
        let capped: Value =
            serde_json::from_slice(&cap_json_text(text.as_bytes(), 3).unwrap()).unwrap();
        assert_eq!(capped["input"][0][0], json!(nested(9_998)));
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
