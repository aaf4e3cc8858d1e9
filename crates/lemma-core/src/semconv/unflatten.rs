//! Reassembles flattened attribute keys (`prefix.<n>.role`, `prefix.<n>.tool_calls.<m>.name`)
//! into JSON. Numeric segments become arrays ordered by index, whatever the attribute order;
//! sparse indices leave no holes.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

#[derive(Default)]
struct Node {
    value: Option<Value>,
    children: BTreeMap<Segment, Node>,
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Segment {
    Index(u64),
    Key(String),
}

/// Nesting deeper than any convention uses. Building, converting and dropping the tree recurse
/// once per level, so a hostile key with thousands of dots must not add thousands of levels:
/// past this depth the rest of the key stays one segment.
const MAX_DEPTH: usize = 16;

/// Builds the value held under `prefix` (without its trailing dot), or `None` if no key has it.
pub fn unflatten(attrs: &Map<String, Value>, prefix: &str) -> Option<Value> {
    let mut root = Node::default();
    let dotted = format!("{prefix}.");
    for (key, value) in attrs {
        let Some(rest) = key.strip_prefix(&dotted) else {
            continue;
        };
        let mut node = &mut root;
        for part in rest.splitn(MAX_DEPTH, '.') {
            let seg = part
                .parse::<u64>()
                .map(Segment::Index)
                .unwrap_or_else(|_| Segment::Key(part.to_string()));
            node = node.children.entry(seg).or_default();
        }
        node.value = Some(value.clone());
    }
    (!root.children.is_empty()).then(|| root.into_value())
}

impl Node {
    fn into_value(self) -> Value {
        if self.children.is_empty() {
            return self.value.unwrap_or(Value::Null);
        }
        if self.children.keys().all(|s| matches!(s, Segment::Index(_))) {
            Value::Array(self.children.into_values().map(Node::into_value).collect())
        } else {
            let mut map = Map::new();
            for (seg, child) in self.children {
                let key = match seg {
                    Segment::Index(i) => i.to_string(),
                    Segment::Key(k) => k,
                };
                map.insert(key, child.into_value());
            }
            Value::Object(map)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn huge_sparse_index_allocates_one_slot() {
        let attrs = json!({"p.4000000000.role": "user", "p.7.role": "system"});
        let v = unflatten(attrs.as_object().unwrap(), "p").unwrap();
        assert_eq!(v, json!([{"role": "system"}, {"role": "user"}]));
    }

    #[test]
    fn deep_keys_do_not_exhaust_the_stack() {
        let key = format!("p.{}x", "a.".repeat(200_000));
        let attrs = json!({ key: 1 });
        let v = unflatten(attrs.as_object().unwrap(), "p").unwrap();
        let mut depth = 0;
        let mut node = &v;
        while let Some((_, child)) = node.as_object().and_then(|o| o.iter().next()) {
            node = child;
            depth += 1;
        }
        assert_eq!(depth, MAX_DEPTH);
        assert_eq!(node, &json!(1));
    }
}
