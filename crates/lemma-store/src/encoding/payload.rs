//! Payloads stored once: a span's `input`, `output` or `tool_args` that an attribute holds as
//! received (usually as JSON text, e.g. `gen_ai.input.messages`) is stored as a marker naming
//! that attribute, and rebuilt from it on read.

use std::fmt;

use lemma_core::Span;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::StoreError;

/// The payload fields that may be stored as markers.
pub fn fields(span: &mut Span) -> [&mut Option<Value>; 3] {
    [&mut span.input, &mut span.output, &mut span.tool_args]
}

/// Marker keys: the payload is attribute `key` parsed as JSON, or attribute `key` as is. A key
/// starting with NUL never occurs in a payload an exporter sends.
const FROM_JSON_ATTRIBUTE: &str = "\u{0}json";
const FROM_ATTRIBUTE: &str = "\u{0}attr";

/// Below this size a payload is stored as is: the marker would save little or nothing.
const MIN_MARKED_BYTES: usize = 64;

/// The marker for `value` when an attribute holds it.
pub fn marker(attributes: &Map<String, Value>, value: &Value) -> Option<Value> {
    let marker = |kind: &str, key: &str| {
        Some(Value::Object(Map::from_iter([(
            kind.to_string(),
            Value::String(key.to_string()),
        )])))
    };
    for (key, attribute) in attributes {
        let Value::String(text) = attribute else {
            continue;
        };
        if text.len() < MIN_MARKED_BYTES {
            continue;
        }
        if attribute == value {
            return marker(FROM_ATTRIBUTE, key);
        }
        let opens = match value {
            Value::Object(_) => '{',
            Value::Array(_) => '[',
            _ => continue,
        };
        if text.trim_start().starts_with(opens) && json_text_equals(text, value) {
            return marker(FROM_JSON_ATTRIBUTE, key);
        }
    }
    None
}

/// The payload a marker stands for; `None` when `value` is no marker.
pub fn resolve(
    attributes: &Map<String, Value>,
    value: &Value,
) -> Option<Result<Value, StoreError>> {
    let (kind, key) = marker_parts(value)?;
    let missing = || StoreError::Backend(format!("stored span lacks attribute {key:?}"));
    Some(match attributes.get(key) {
        // Parsed as on ingest: a payload stored before values were bounded may nest deeper
        // than `MAX_DEPTH`, and is then the attribute's text, as it would be now.
        Some(Value::String(text)) if kind == FROM_JSON_ATTRIBUTE => {
            Ok(lemma_core::value::parse_json_str(text)
                .unwrap_or_else(|| Value::String(text.clone())))
        }
        Some(attribute) if kind == FROM_ATTRIBUTE => Ok(attribute.clone()),
        _ => Err(missing()),
    })
}

/// The attribute a marker's payload is parsed from, when it is one whose JSON text is an object
/// or array: then the payload is also what `lemma_core::value::lenient_json` reads from that
/// attribute, so readers of the attribute may reuse it.
pub fn parsed_from<'a>(attributes: &Map<String, Value>, value: &'a Value) -> Option<&'a str> {
    let (kind, key) = marker_parts(value)?;
    let Some(Value::String(text)) = attributes.get(key) else {
        return None;
    };
    let opens = text.trim_start().starts_with(['{', '[']);
    (kind == FROM_JSON_ATTRIBUTE && opens).then_some(key)
}

/// A marker's kind and attribute key.
fn marker_parts(value: &Value) -> Option<(&str, &str)> {
    let Value::Object(map) = value else {
        return None;
    };
    let (kind, Value::String(key)) = map.iter().next()? else {
        return None;
    };
    let known = kind == FROM_JSON_ATTRIBUTE || kind == FROM_ATTRIBUTE;
    (map.len() == 1 && known).then_some((kind.as_str(), key.as_str()))
}

/// Whether `text` parses to exactly `value` (`serde_json::from_str(text) == Ok(value)`),
/// checked while parsing and without building the parsed value: this runs for every model
/// call on ingest, and parsing the conversation again took a tenth of the server's CPU.
pub fn json_text_equals(text: &str, value: &Value) -> bool {
    let mut parser = serde_json::Deserializer::from_str(text);
    Expect(value).deserialize(&mut parser).is_ok() && parser.end().is_ok()
}

/// Deserializes by comparing with a known value; any difference is an error.
struct Expect<'v>(&'v Value);

impl<'de> DeserializeSeed<'de> for Expect<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

fn differs<E: de::Error>() -> Result<(), E> {
    Err(E::custom("differs"))
}

impl<'de> Visitor<'de> for Expect<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}", self.0)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        match self.0 {
            Value::Bool(b) if *b == v => Ok(()),
            _ => differs(),
        }
    }

    // Numbers compare as `serde_json::Number` does: by representation, so 1 is not 1.0.
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        match self.0 {
            Value::Number(n) if n.is_u64() && n.as_u64() == Some(v) => Ok(()),
            _ => differs(),
        }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        match self.0 {
            Value::Number(n) if n.is_i64() && !n.is_u64() && n.as_i64() == Some(v) => Ok(()),
            _ => differs(),
        }
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        match self.0 {
            Value::Number(n) if n.is_f64() && n.as_f64() == Some(v) => Ok(()),
            _ => differs(),
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        match self.0 {
            Value::String(s) if s == v => Ok(()),
            _ => differs(),
        }
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        match self.0 {
            Value::Null => Ok(()),
            _ => differs(),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Value::Array(items) = self.0 else {
            return differs();
        };
        for item in items {
            if seq.next_element_seed(Expect(item))?.is_none() {
                return differs();
            }
        }
        match seq.next_element::<de::IgnoredAny>()? {
            None => Ok(()),
            Some(_) => differs(),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Value::Object(fields) = self.0 else {
            return differs();
        };
        // Every key found, none twice (a repeated key would leave the parsed object smaller:
        // a difference), and as many as expected: then they are the same set.
        let mut seen = Seen::new(fields.len());
        while let Some(expected) = map.next_key_seed(Lookup(fields))? {
            let Some(expected) = expected else {
                return differs();
            };
            if !seen.insert(expected) {
                return differs();
            }
            map.next_value_seed(Expect(expected))?;
        }
        if seen.len() == fields.len() {
            Ok(())
        } else {
            differs()
        }
    }
}

/// The expected values matched so far, by address; objects of a few keys need no allocation.
enum Seen {
    Few(usize, [*const Value; 8]),
    Many(std::collections::HashSet<*const Value>),
}

impl Seen {
    fn new(keys: usize) -> Seen {
        if keys <= 8 {
            Seen::Few(0, [std::ptr::null(); 8])
        } else {
            Seen::Many(std::collections::HashSet::with_capacity(keys))
        }
    }

    /// False when `value` was seen before. Every value comes from the expected object, so
    /// `Few` never holds more than its 8.
    fn insert(&mut self, value: &Value) -> bool {
        let value: *const Value = value;
        match self {
            Seen::Few(n, seen) => {
                if seen[..*n].contains(&value) {
                    return false;
                }
                seen[*n] = value;
                *n += 1;
                true
            }
            Seen::Many(seen) => seen.insert(value),
        }
    }

    fn len(&self) -> usize {
        match self {
            Seen::Few(n, _) => *n,
            Seen::Many(seen) => seen.len(),
        }
    }
}

/// Reads an object key and finds its expected value, without copying the key.
struct Lookup<'v>(&'v Map<String, Value>);

impl<'de, 'v> DeserializeSeed<'de> for Lookup<'v> {
    type Value = Option<&'v Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'v> Visitor<'_> for Lookup<'v> {
    type Value = Option<&'v Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(self.0.get(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_equals_a_value_exactly_when_it_parses_to_it() {
        let cases = [
            r#"{"a":[1,-2,3.5,"x",true,null,{"b":"\u00e9\n"}],"c":{}}"#,
            r#" [ {"role": "user", "parts": [{"type": "text", "content": "hi \"you\""}]} ] "#,
            "[]",
            "{}",
            r#"{"n":18446744073709551615,"m":-9223372036854775808,"f":1e300}"#,
            r#"{"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10}"#,
        ];
        let others = [
            r#"{"a":1}"#,
            r#"{"a":1.0}"#,
            r#"{"a":-1}"#,
            r#"{"a":"1"}"#,
            r#"{"a":1,"b":2}"#,
            r#"{"b":1}"#,
            r#"{"a":1,"a":1}"#,
            r#"{"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k9":9}"#,
            r#"[1]"#,
            r#"[1,1]"#,
            r#"{"a":[1]}"#,
            r#"{"a":null}"#,
            r#"{"a":1} x"#,
            r#"{"a":1"#,
        ];
        for text in cases.iter().chain(&others) {
            for other in cases.iter().chain(&others) {
                let Ok(value) = serde_json::from_str::<Value>(other) else {
                    continue;
                };
                let parsed = serde_json::from_str::<Value>(text).ok();
                let equal = json_text_equals(text, &value);
                if text.contains(r#""a":1,"a":1"#) || text.contains(r#""k9":9,"k9""#) {
                    // A repeated key is reported as a difference (safe: the payload is then
                    // stored as is), though parsing keeps the last value.
                    assert!(!equal, "{text} against {other}");
                } else {
                    assert_eq!(
                        equal,
                        parsed.as_ref() == Some(&value),
                        "{text} against {other}"
                    );
                }
            }
        }
    }
}
