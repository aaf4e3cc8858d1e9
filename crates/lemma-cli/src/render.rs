//! Terminal rendering: aligned tables, span trees, and compact numbers and times.

use std::collections::HashMap;

use serde_json::Value;

pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn print(&self) {
        print!("{}", self.render());
    }

    /// The table as text, a line per row.
    pub fn render(&self) -> String {
        let width = |i: usize| {
            self.rows
                .iter()
                .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                .chain([self.header[i].len()])
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..self.header.len()).map(width).collect();
        let mut out = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let line: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
                .collect();
            out += line.join("  ").trim_end();
            out.push('\n');
        }
        out
    }
}

pub fn duration_ms(ms: f64) -> String {
    if ms < 1.0 {
        format!("{:.0}µs", ms * 1000.0)
    } else if ms < 1000.0 {
        format!("{ms:.0}ms")
    } else if ms < 60_000.0 {
        format!("{:.1}s", ms / 1000.0)
    } else {
        format!(
            "{:.0}m{:02.0}s",
            (ms / 60_000.0).floor(),
            (ms % 60_000.0) / 1000.0
        )
    }
}

pub fn count(n: u64) -> String {
    match n {
        0 => "-".into(),
        n if n < 10_000 => n.to_string(),
        n if n < 1_000_000 => format!("{:.1}k", n as f64 / 1e3),
        n => format!("{:.1}M", n as f64 / 1e6),
    }
}

pub fn cost(c: Option<f64>) -> String {
    match c {
        Some(c) if c > 0.0 => format!("${c:.4}"),
        _ => "-".into(),
    }
}

pub fn status(s: &str, errors: u64) -> String {
    match (s, errors) {
        ("error", _) => "ERROR".into(),
        (s, 0) => s.into(),
        (s, n) => format!("{s} ({n} err)"),
    }
}

pub fn time_ago(unix_nano: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let secs = now.saturating_sub(unix_nano) / 1_000_000_000;
    match secs {
        s if s < 60 => format!("{s}s ago"),
        s if s < 3600 => format!("{}m ago", s / 60),
        s if s < 86_400 => format!("{}h ago", s / 3600),
        s => format!("{}d ago", s / 86_400),
    }
}

/// One line of a payload: the last message's text if it is a chat, else the JSON.
pub fn preview(v: &Value, max: usize) -> String {
    let text = match v {
        Value::Null => return "-".into(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.last().map(message_text).unwrap_or_default(),
        other => other.to_string(),
    };
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > max {
        format!("{}…", one_line.chars().take(max - 1).collect::<String>())
    } else {
        one_line
    }
}

fn message_text(m: &Value) -> String {
    if let Some(parts) = m["parts"].as_array() {
        let texts: Vec<String> = parts
            .iter()
            .map(|p| match p["type"].as_str() {
                Some("text") => p["content"].as_str().unwrap_or("").to_string(),
                Some("tool_call") => format!(
                    "→ {}({})",
                    p["name"].as_str().unwrap_or("?"),
                    p["arguments"]
                ),
                _ => String::new(),
            })
            .collect();
        return texts.join(" ");
    }
    match &m["content"] {
        Value::String(s) => s.clone(),
        Value::Null => m.to_string(),
        other => other.to_string(),
    }
}

/// The spans as an indented tree: kind, name, duration, tokens, errors.
/// Metric events, one a line: `  name = value  (source, span …)  comment`.
pub fn metrics(events: &[Value]) -> String {
    let mut out = String::new();
    for e in events {
        let value = match &e["value"] {
            Value::String(s) => format!("{s:?}"),
            // Stored as floating point: print 4, not 4.0.
            Value::Number(n) => n.as_f64().map(|f| f.to_string()).unwrap_or_default(),
            v => v.to_string(),
        };
        let mut about = Vec::new();
        if let Some(source) = e["source"].as_str() {
            about.push(source.to_string());
        }
        if let Some(span) = e["span_id"].as_str() {
            about.push(format!("span {span}"));
        }
        let mut line = format!("  {} = {value}", e["name"].as_str().unwrap_or("?"));
        if !about.is_empty() {
            line.push_str(&format!("  ({})", about.join(", ")));
        }
        if let Some(comment) = e["comment"].as_str() {
            line.push_str(&format!(
                "  {}",
                preview(&Value::String(comment.into()), 80)
            ));
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

pub fn span_tree(spans: &[Value]) -> String {
    let ids: HashMap<&str, usize> = spans
        .iter()
        .enumerate()
        .filter_map(|(i, s)| Some((s["span_id"].as_str()?, i)))
        .collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); spans.len()];
    let mut roots = Vec::new();
    for (i, s) in spans.iter().enumerate() {
        match s["parent_span_id"].as_str().and_then(|p| ids.get(p)) {
            Some(&p) if p != i => children[p].push(i),
            _ => roots.push(i),
        }
    }
    let mut out = String::new();
    let mut seen = vec![false; spans.len()];
    for (n, &r) in roots.iter().enumerate() {
        walk(
            spans,
            &children,
            r,
            "",
            n + 1 == roots.len(),
            true,
            &mut seen,
            &mut out,
        );
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn walk(
    spans: &[Value],
    children: &[Vec<usize>],
    i: usize,
    prefix: &str,
    last: bool,
    top: bool,
    seen: &mut [bool],
    out: &mut String,
) {
    if std::mem::replace(&mut seen[i], true) {
        return;
    }
    let s = &spans[i];
    let dur = (s["end_time_unix_nano"].as_u64().unwrap_or(0))
        .saturating_sub(s["start_time_unix_nano"].as_u64().unwrap_or(0));
    let mut line = format!(
        "{:<9} {}  {}",
        s["kind"].as_str().unwrap_or("span"),
        s["name"].as_str().unwrap_or(""),
        duration_ms(dur as f64 / 1e6)
    );
    if let Some(m) = s["model"].as_str() {
        line += &format!("  {m}");
    }
    if let (Some(i), Some(o)) = (s["input_tokens"].as_u64(), s["output_tokens"].as_u64()) {
        line += &format!("  {i}→{o} tok");
    }
    if s["kind"] == "tool" {
        if let Some(args) = s["tool_args"].as_object() {
            line += &format!("  {}", preview(&Value::Object(args.clone()), 60));
        }
    }
    if s["status"] == "error" {
        line += &format!("  ✗ {}", s["status_message"].as_str().unwrap_or("error"));
    }
    let branch = if top {
        ""
    } else if last {
        "└─ "
    } else {
        "├─ "
    };
    out.push_str(&format!("{prefix}{branch}{line}\n"));
    let child_prefix = if top {
        prefix.to_string()
    } else {
        format!("{prefix}{}", if last { "   " } else { "│  " })
    };
    let kids = &children[i];
    for (n, &c) in kids.iter().enumerate() {
        walk(
            spans,
            children,
            c,
            &child_prefix,
            n + 1 == kids.len(),
            false,
            seen,
            out,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tree_nests_children_and_marks_errors() {
        let spans = vec![
            json!({"span_id": "a", "name": "root", "kind": "agent", "start_time_unix_nano": 0, "end_time_unix_nano": 2_000_000_000u64}),
            json!({"span_id": "b", "parent_span_id": "a", "name": "chat", "kind": "llm", "model": "m", "input_tokens": 5, "output_tokens": 1,
                   "start_time_unix_nano": 0, "end_time_unix_nano": 1_000_000}),
            json!({"span_id": "c", "parent_span_id": "a", "name": "tool", "kind": "tool", "status": "error", "status_message": "boom",
                   "start_time_unix_nano": 0, "end_time_unix_nano": 0}),
        ];
        let tree = span_tree(&spans);
        let lines: Vec<&str> = tree.lines().collect();
        assert!(lines[0].starts_with("agent") && lines[0].contains("2.0s"));
        assert!(lines[1].starts_with("├─ llm") && lines[1].contains("5→1 tok"));
        assert!(lines[2].starts_with("└─ tool") && lines[2].contains("✗ boom"));
    }

    #[test]
    fn formats() {
        assert_eq!(duration_ms(1500.0), "1.5s");
        assert_eq!(duration_ms(0.5), "500µs");
        assert_eq!(count(12_345), "12.3k");
        assert_eq!(
            preview(
                &json!([{"role": "user", "parts": [{"type": "text", "content": "hi  there"}]}]),
                40
            ),
            "hi there"
        );
    }

    #[test]
    fn metrics_show_value_source_and_comment() {
        let out = metrics(&[
            json!({"name": "resolved", "value": true, "source": "user"}),
            json!({"name": "score", "value": 4.0}),
            json!({"name": "label", "value": "good", "span_id": "00000000000000aa",
                   "comment": "short and right"}),
        ]);
        assert_eq!(
            out,
            "  resolved = true  (user)\n  score = 4\n  label = \"good\"  (span 00000000000000aa)  short and right\n"
        );
    }
}
