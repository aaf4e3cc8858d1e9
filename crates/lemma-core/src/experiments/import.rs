//! Cases in and out as JSON lines (one case object per line) and CSV (a header row; columns
//! `id`, `input`, `expected`, `tags` separated by `;`, and `metadata.<key>`).

use serde_json::{Map, Value};

use super::Case;

/// Cases from JSON lines; blank lines are skipped. An error names the line (from 1).
pub fn from_jsonl(text: &str) -> Result<Vec<Case>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let case: Case =
            serde_json::from_str(line).map_err(|e| format!("line {}: not a case ({e})", i + 1))?;
        out.push(case);
    }
    Ok(out)
}

pub fn to_jsonl(cases: &[Case]) -> String {
    cases
        .iter()
        .map(|c| serde_json::to_string(c).expect("a case serialises") + "\n")
        .collect()
}

/// A cell as a value: JSON objects, arrays, numbers and booleans as such, the rest as text.
fn cell(text: &str) -> Value {
    let t = text.trim();
    if t.starts_with('{') || t.starts_with('[') || t == "true" || t == "false" {
        if let Ok(v) = serde_json::from_str::<Value>(t) {
            return v;
        }
    }
    Value::String(text.to_string())
}

/// Cases from CSV with a header row. An error names the row (from 1, the header being 1).
pub fn from_csv(text: &str) -> Result<Vec<Case>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| format!("the header row: {e}"))?
        .clone();
    if !headers.iter().any(|h| h == "input") {
        return Err("the header row needs an `input` column".into());
    }
    for h in &headers {
        if !matches!(h, "id" | "input" | "expected" | "tags") && !h.starts_with("metadata.") {
            return Err(format!(
                "unknown column {h:?}: use id, input, expected, tags or metadata.<key>"
            ));
        }
    }
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| format!("row {}: {e}", i + 2))?;
        let mut case = Case::default();
        let mut metadata = Map::new();
        for (h, v) in headers.iter().zip(record.iter()) {
            match h {
                "id" => case.id = v.trim().to_string(),
                "input" => case.input = if v.is_empty() { Value::Null } else { cell(v) },
                "expected" if !v.is_empty() => case.expected = Some(cell(v)),
                "tags" => {
                    case.tags = v
                        .split(';')
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .map(str::to_string)
                        .collect()
                }
                key => {
                    if let Some(k) = key.strip_prefix("metadata.") {
                        if !v.is_empty() {
                            metadata.insert(k.to_string(), cell(v));
                        }
                    }
                }
            }
        }
        case.metadata = metadata;
        out.push(case);
    }
    Ok(out)
}

/// Cases as CSV, with a `metadata.<key>` column per key any case has.
pub fn to_csv(cases: &[Case]) -> String {
    let mut keys: Vec<&String> = cases.iter().flat_map(|c| c.metadata.keys()).collect();
    keys.sort();
    keys.dedup();
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec![
        "id".to_string(),
        "input".into(),
        "expected".into(),
        "tags".into(),
    ];
    header.extend(keys.iter().map(|k| format!("metadata.{k}")));
    w.write_record(&header).expect("writing to memory");
    for c in cases {
        let mut row = vec![
            c.id.clone(),
            text(&c.input),
            c.expected.as_ref().map(text).unwrap_or_default(),
            c.tags.join(";"),
        ];
        row.extend(
            keys.iter()
                .map(|k| c.metadata.get(*k).map(text).unwrap_or_default()),
        );
        w.write_record(&row).expect("writing to memory");
    }
    String::from_utf8(w.into_inner().expect("flushed")).expect("CSV of UTF-8 text")
}
