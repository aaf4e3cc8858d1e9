//! Failures grouped by what they say: "which errors keep happening" rather than a list of spans.
//!
//! Two failures belong together when their messages match once the parts that vary from one
//! occurrence to the next (numbers, ids, quoted names) are set aside.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::{error_message, tool_name};
use crate::model::{Span, SpanKind};

/// The longest message part a pattern is made from: enough to tell failures apart, and bounded
/// however long a traceback a span carries.
const PATTERN_CHARS: usize = 500;
/// How many places (span or tool names) a group lists.
const MAX_SOURCES: usize = 3;

/// Failures that read the same.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorGroup {
    /// What the group shares: the message with numbers as `N`, ids as `<id>` and quoted text
    /// as `"…"`.
    pub pattern: String,
    /// The newest failure's message as recorded.
    pub message: String,
    /// Failed spans in the group.
    pub spans: usize,
    /// Distinct runs they belong to.
    pub runs: usize,
    pub first_unix_nano: u64,
    pub last_unix_nano: u64,
    /// Where it fails (tool names for tools, else span names), most often first.
    pub sources: Vec<(String, usize)>,
    /// The newest failed span: where to look first.
    pub example_run_id: String,
    pub example_span_id: String,
}

/// Groups the failed spans among `spans` (those with an error status or an exception), most
/// runs affected first, then most recent first.
pub fn group_errors(spans: &[Span]) -> Vec<ErrorGroup> {
    #[derive(Default)]
    struct Acc<'a> {
        spans: usize,
        runs: HashSet<&'a str>,
        first: u64,
        newest: Option<(&'a Span, String)>,
        sources: HashMap<&'a str, usize>,
    }
    let mut groups: BTreeMap<String, Acc> = BTreeMap::new();
    for span in spans {
        let Some(message) = error_message(span) else {
            continue;
        };
        let message = if message.is_empty() {
            format!("{} failed without a message", span.kind.as_str())
        } else {
            message
        };
        let acc = groups.entry(pattern(&message)).or_default();
        acc.spans += 1;
        acc.runs.insert(&span.trace_id);
        let source = if span.kind == SpanKind::Tool {
            tool_name(span)
        } else {
            &span.name
        };
        *acc.sources.entry(source).or_default() += 1;
        let start = span.start_time_unix_nano;
        if acc.spans == 1 || start < acc.first {
            acc.first = start;
        }
        if acc
            .newest
            .as_ref()
            .is_none_or(|(s, _)| start >= s.start_time_unix_nano)
        {
            acc.newest = Some((span, message));
        }
    }
    let mut out: Vec<ErrorGroup> = groups
        .into_iter()
        .filter_map(|(pattern, acc)| {
            let (newest, message) = acc.newest?;
            let mut sources: Vec<(String, usize)> = acc
                .sources
                .into_iter()
                .map(|(name, n)| (name.to_string(), n))
                .collect();
            sources.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            sources.truncate(MAX_SOURCES);
            Some(ErrorGroup {
                pattern,
                message,
                spans: acc.spans,
                runs: acc.runs.len(),
                first_unix_nano: acc.first,
                last_unix_nano: newest.start_time_unix_nano,
                sources,
                example_run_id: newest.trace_id.clone(),
                example_span_id: newest.span_id.clone(),
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.runs
            .cmp(&a.runs)
            .then(b.last_unix_nano.cmp(&a.last_unix_nano))
            .then_with(|| a.pattern.cmp(&b.pattern))
    });
    out
}

/// The message with what varies between occurrences replaced, whitespace collapsed.
fn pattern(message: &str) -> String {
    let chars: Vec<char> = message.chars().take(PATTERN_CHARS).collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' || c == '`' {
            if let Some(len) = chars[i + 1..].iter().take(120).position(|&d| d == c) {
                out.push(c);
                out.push('…');
                out.push(c);
                i += len + 2;
                continue;
            }
        }
        if c.is_ascii_hexdigit() && (i == 0 || !is_word(chars[i - 1])) {
            let len = chars[i..]
                .iter()
                .take_while(|d| d.is_ascii_hexdigit() || **d == '-')
                .count();
            let token = &chars[i..i + len];
            let is_id = len >= 8
                && token.iter().any(char::is_ascii_digit)
                && chars.get(i + len).is_none_or(|d| !is_word(*d));
            if is_id {
                out.push_str("<id>");
                i += len;
                continue;
            }
        }
        if c.is_ascii_digit() {
            out.push('N');
            while i < chars.len()
                && (chars[i].is_ascii_digit()
                    || (matches!(chars[i], '.' | ',')
                        && chars.get(i + 1).is_some_and(char::is_ascii_digit)))
            {
                i += 1;
            }
            continue;
        }
        if c.is_whitespace() {
            if !out.ends_with(' ') && !out.is_empty() {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
        i += 1;
    }
    out.trim_end().to_string()
}

/// Ids are whole words: a hex-looking run inside a word such as `decoded` is not one.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SpanEvent, StatusCode};
    use serde_json::json;

    fn failed(run: &str, id: &str, kind: SpanKind, name: &str, start: u64, msg: &str) -> Span {
        Span {
            trace_id: run.into(),
            span_id: id.into(),
            name: name.into(),
            kind,
            start_time_unix_nano: start,
            status: StatusCode::Error,
            status_message: Some(msg.into()),
            ..Span::default()
        }
    }

    #[test]
    fn messages_differing_in_numbers_ids_and_names_group_together() {
        assert_eq!(
            pattern("timeout after 30s reading 'orders/A-17.json' (request 9f8e7d6c5b4a3921)"),
            pattern("timeout  after 45s reading 'orders/B-2.json' (request 0a1b2c3d4e5f6789)")
        );
        assert_eq!(
            pattern("timeout after 30s reading 'x' (request 9f8e7d6c5b4a3921)"),
            "timeout after Ns reading '…' (request <id>)"
        );
        assert_ne!(pattern("rate limited"), pattern("connection refused"));
        // Words made of hex letters are not ids.
        assert_eq!(pattern("decoded face"), "decoded face");
        assert_eq!(pattern("cost 1,234.50 over"), "cost N over");
    }

    #[test]
    fn groups_count_spans_and_runs_and_keep_the_newest_example() {
        let spans = vec![
            failed(
                "r1",
                "a",
                SpanKind::Tool,
                "execute_tool fetch",
                10,
                "HTTP 503 from shop",
            ),
            failed(
                "r1",
                "b",
                SpanKind::Agent,
                "agent",
                11,
                "HTTP 503 from shop",
            ),
            failed(
                "r2",
                "c",
                SpanKind::Tool,
                "execute_tool fetch",
                30,
                "HTTP 502 from shop",
            ),
            failed("r3", "d", SpanKind::Llm, "chat", 20, "rate limited"),
            Span {
                status: StatusCode::Ok,
                ..failed("r4", "e", SpanKind::Tool, "ok", 40, "")
            },
        ];
        let groups = group_errors(&spans);
        assert_eq!(groups.len(), 2, "{groups:?}");
        let http = &groups[0];
        assert_eq!((http.spans, http.runs), (3, 2));
        assert_eq!((http.first_unix_nano, http.last_unix_nano), (10, 30));
        assert_eq!(http.message, "HTTP 502 from shop");
        assert_eq!(
            (http.example_run_id.as_str(), http.example_span_id.as_str()),
            ("r2", "c")
        );
        assert_eq!(
            http.sources,
            vec![
                ("execute_tool fetch".to_string(), 2),
                ("agent".to_string(), 1)
            ]
        );
        assert_eq!(
            (groups[1].runs, groups[1].message.as_str()),
            (1, "rate limited")
        );
    }

    #[test]
    fn exceptions_and_silent_failures_have_messages() {
        let mut with_exception = failed("r1", "a", SpanKind::Tool, "t", 1, "");
        with_exception.status_message = None;
        with_exception.events.push(SpanEvent {
            name: "exception".into(),
            attributes: json!({"exception.type": "KeyError", "exception.message": "'sku'"})
                .as_object()
                .unwrap()
                .clone(),
            time_unix_nano: 1,
            dropped_attributes_count: 0,
        });
        let mut silent = failed("r2", "b", SpanKind::Llm, "chat", 2, "");
        silent.status_message = None;
        let groups = group_errors(&[with_exception, silent]);
        let messages: Vec<&str> = groups.iter().map(|g| g.message.as_str()).collect();
        assert!(messages.contains(&"KeyError: 'sku'"), "{messages:?}");
        assert!(
            messages.contains(&"llm failed without a message"),
            "{messages:?}"
        );
    }

    #[test]
    fn hostile_messages_are_bounded() {
        let long = "x".repeat(100_000) + "\"unterminated";
        let spans = vec![failed("r", "s", SpanKind::Tool, "t", 1, &long)];
        let groups = group_errors(&spans);
        assert!(groups[0].pattern.chars().count() <= PATTERN_CHARS);
        assert_eq!(pattern(""), "");
        assert_eq!(pattern("\"\u{0}'"), "\"\u{0}'");
    }
}
