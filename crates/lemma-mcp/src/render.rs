//! The tools' answers as compact text: what a model reads best per token. Runs and spans read
//! as text come from `lemma_core::present`; this module writes the lists and summaries.

use lemma_core::present::{duration, ErrorGroup};
use lemma_core::stats::Stats;
use lemma_core::{MetricEvent, MetricValue, Run, RunSignal, StatusCode};
use serde_json::Value;

/// Longest input preview in a run list.
const PREVIEW_CHARS: usize = 120;

/// A page of runs, one line each, and how to read the next page.
pub fn runs(runs: &[Run], query: &str, next_cursor: Option<&str>) -> String {
    let mut out = match (runs.len(), query.trim()) {
        (0, "") => "No runs yet.\n".to_string(),
        (0, q) => format!("No runs match {q:?}.\n"),
        (n, "") => format!("{}, newest first:\n", count(n as u64, "run")),
        (n, q) => format!("{} matching {q:?}, newest first:\n", count(n as u64, "run")),
    };
    for run in runs {
        out.push_str(&run_line(run));
        out.push('\n');
    }
    if let Some(cursor) = next_cursor {
        out.push_str(&format!(
            "More runs: call again with cursor={cursor:?} (same query).\n"
        ));
    }
    out
}

fn run_line(run: &Run) -> String {
    let mut line = format!(
        "{} · {} · {} · {} · {} · {} spans",
        run.run_id,
        time(run.start_time_unix_nano),
        run.agent_name.as_deref().unwrap_or(&run.name),
        status(run.status),
        duration(run.duration_ms),
        run.span_count
    );
    if run.error_count > 0 {
        line.push_str(&format!(" ({} failed)", run.error_count));
    }
    if run.total_tokens > 0 {
        line.push_str(&format!(" · {} tokens", run.total_tokens));
    }
    if let Some(cost) = run.cost_usd {
        line.push_str(&format!(" · {}", usd(cost)));
    }
    if let Some(thread) = &run.thread_id {
        line.push_str(&format!(" · thread {thread}"));
    }
    for signal in &run.signals {
        line.push_str(&format!(" · {}", signal_text(signal)));
    }
    if let Some(message) = run
        .status_message
        .as_deref()
        .filter(|_| run.status == StatusCode::Error)
    {
        line.push_str(&format!(" · {}", cut(message, PREVIEW_CHARS)));
    }
    if let Some(input) = run.input.as_ref().map(text).filter(|t| !t.is_empty()) {
        line.push_str(&format!(" · input: {}", cut(&input, PREVIEW_CHARS)));
    }
    line
}

/// What the run page adds above its tree or transcript: where the run belongs, what it cost,
/// how it was judged.
pub fn run_facts(run: &Run, metrics: &[MetricEvent]) -> String {
    let mut facts = Vec::new();
    for (label, value) in [
        ("thread", &run.thread_id),
        ("user", &run.user_id),
        ("session", &run.session_id),
        ("env", &run.environment),
    ] {
        if let Some(v) = value {
            facts.push(format!("{label} {v}"));
        }
    }
    facts.push(format!("started {}", time(run.start_time_unix_nano)));
    if !run.tags.is_empty() {
        facts.push(format!("tags {}", run.tags.join(", ")));
    }
    if run.total_tokens > 0 {
        facts.push(format!(
            "tokens {} in, {} out",
            run.input_tokens, run.output_tokens
        ));
    }
    if let Some(cost) = run.cost_usd {
        facts.push(format!("cost {}", usd(cost)));
    }
    for signal in &run.signals {
        facts.push(signal_text(signal));
    }
    if !run.has_root {
        facts.push("the root span has not arrived yet".into());
    }
    let mut out = facts.join(" · ");
    out.push('\n');
    if !metrics.is_empty() {
        out.push_str("metrics: ");
        out.push_str(&metrics.iter().map(metric).collect::<Vec<_>>().join("; "));
        out.push('\n');
    }
    out
}

/// `signal loop: read_file ×12` and the like.
fn signal_text(s: &RunSignal) -> String {
    match &s.tool_name {
        Some(tool) if s.repeats > 1 => format!("signal {}: {tool} ×{}", s.kind, s.repeats),
        Some(tool) => format!("signal {}: {tool}", s.kind),
        None => format!("signal {}", s.kind),
    }
}

/// A run's signals, one line each: `critical error_streak (span …): why`.
pub fn signals(run_id: &str, state: &str, signals: &[RunSignal]) -> String {
    let mut out = format!("run {run_id} ({state}): ");
    if signals.is_empty() {
        out.push_str("no signals\n");
        return out;
    }
    out.push_str(&format!("{} signals\n", signals.len()));
    for s in signals {
        let at = s
            .span_id
            .as_deref()
            .map(|id| format!(" (span {id})"))
            .unwrap_or_default();
        out.push_str(&format!(
            "- {} {}{at}: {}\n",
            s.severity.name(),
            s.kind,
            cut(&s.explanation, PREVIEW_CHARS * 2)
        ));
    }
    out
}

/// `name=value (source, span …): comment`.
pub fn metric(m: &MetricEvent) -> String {
    let mut out = format!("{}={}", m.name, metric_value(&m.value));
    let mut by = Vec::new();
    if let Some(source) = &m.source {
        by.push(source.clone());
    }
    if let Some(span) = &m.span_id {
        by.push(format!("span {span}"));
    }
    if !by.is_empty() {
        out.push_str(&format!(" ({})", by.join(", ")));
    }
    if let Some(comment) = &m.comment {
        out.push_str(&format!(": {}", cut(comment, PREVIEW_CHARS)));
    }
    out
}

fn metric_value(v: &MetricValue) -> String {
    match v {
        MetricValue::Number(n) => n.to_string(),
        MetricValue::Bool(b) => b.to_string(),
        MetricValue::Text(t) => format!("{t:?}"),
    }
}

/// A page of threads (the API's THREAD objects), most recently active first.
pub fn threads(threads: &[Value], next_cursor: Option<&str>) -> String {
    let mut out = if threads.is_empty() {
        "No threads.\n".to_string()
    } else {
        format!(
            "{}, most recently active first:\n",
            count(threads.len() as u64, "thread")
        )
    };
    for t in threads {
        let mut line = format!(
            "{} · {}",
            t["thread_id"].as_str().unwrap_or("?"),
            count(t["run_count"].as_u64().unwrap_or(0), "run")
        );
        if let Some(errors) = t["error_count"].as_u64().filter(|e| *e > 0) {
            line.push_str(&format!(" ({errors} failed)"));
        }
        if let Some(last) = t["last_start_time_unix_nano"].as_u64() {
            line.push_str(&format!(" · last run {}", time(last)));
        }
        if let Some(tokens) = t["total_tokens"].as_u64().filter(|t| *t > 0) {
            line.push_str(&format!(" · {tokens} tokens"));
        }
        if let Some(cost) = t["cost_usd"].as_f64() {
            line.push_str(&format!(" · {}", usd(cost)));
        }
        if let Some(user) = t["user_id"].as_str() {
            line.push_str(&format!(" · user {user}"));
        }
        let agents: Vec<&str> = t["agent_names"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if !agents.is_empty() {
            line.push_str(&format!(" · agents {}", agents.join(", ")));
        }
        out.push_str(&line);
        out.push('\n');
    }
    if let Some(cursor) = next_cursor {
        out.push_str(&format!(
            "More threads: call again with cursor={cursor:?} (same query).\n"
        ));
    }
    out
}

/// Totals, then breakdowns by agent, model and metric, then the series when asked for.
pub fn stats(s: &Stats, query: &str, with_series: bool) -> String {
    let t = &s.totals;
    let mut out = format!(
        "Runs from {} to {}{}:\n",
        time(s.from),
        time(s.to),
        if query.trim().is_empty() {
            String::new()
        } else {
            format!(" matching {:?}", query.trim())
        }
    );
    out.push_str(&format!(
        "{} · {} failed ({}) · latency p50 {} p95 {} p99 {} · tokens {} ({} in, {} out) · cost {}\n",
        count(t.runs, "run"),
        t.errors,
        percent(t.error_rate),
        opt_duration(t.p50_ms),
        opt_duration(t.p95_ms),
        opt_duration(t.p99_ms),
        t.total_tokens,
        t.input_tokens,
        t.output_tokens,
        t.cost_usd.map(usd).unwrap_or_else(|| "n/a".into())
    ));
    if !s.by_agent.is_empty() {
        out.push_str("\nBy agent:\n");
        for a in &s.by_agent {
            out.push_str(&format!(
                "{} · {} · {} failed ({}) · p50 {} · p95 {} · {} tokens · {}\n",
                a.agent.as_deref().unwrap_or("(no agent)"),
                count(a.runs, "run"),
                a.errors,
                percent(a.error_rate),
                opt_duration(a.p50_ms),
                opt_duration(a.p95_ms),
                a.total_tokens,
                a.cost_usd.map(usd).unwrap_or_else(|| "cost n/a".into())
            ));
        }
    }
    if !s.by_model.is_empty() {
        out.push_str("\nBy model:\n");
        for m in &s.by_model {
            let name = match &m.provider {
                Some(p) => format!("{} ({p})", m.model),
                None => m.model.clone(),
            };
            out.push_str(&format!(
                "{name} · {} in {} · {} tokens ({} in, {} out) · {}\n",
                count(m.calls, "call"),
                count(m.runs, "run"),
                m.total_tokens,
                m.input_tokens,
                m.output_tokens,
                m.cost_usd.map(usd).unwrap_or_else(|| "cost n/a".into())
            ));
        }
    }
    if !s.by_metric.is_empty() {
        out.push_str("\nBy metric:\n");
        for m in &s.by_metric {
            let mut line = format!("{} · {}", m.name, count(m.count, "event"));
            if let Some(mean) = m.mean {
                line.push_str(&format!(" · mean {}", round(mean)));
            }
            if let Some(rate) = m.true_rate {
                line.push_str(&format!(" · true {}", percent(rate)));
            }
            if !m.values.is_empty() {
                let values: Vec<String> =
                    m.values.iter().map(|(v, n)| format!("{v:?}×{n}")).collect();
                line.push_str(&format!(" · {}", values.join(", ")));
            }
            out.push_str(&line);
            out.push('\n');
        }
    }
    if with_series {
        out.push_str(&format!(
            "\nSeries ({}s buckets; start · runs · failed · p95 · tokens):\n",
            s.bucket_seconds
        ));
        for b in s.series.iter().filter(|b| b.runs > 0) {
            out.push_str(&format!(
                "{} · {} · {} · {} · {}\n",
                time(b.start),
                b.runs,
                b.errors,
                opt_duration(b.p95_ms),
                b.total_tokens
            ));
        }
    }
    out
}

/// Error groups, and what they were drawn from.
pub fn errors(groups: &[ErrorGroup], limit: usize, scanned: usize, more: bool) -> String {
    if groups.is_empty() {
        return "No failed spans in that range.\n".to_string();
    }
    let mut out = format!(
        "{} of failure in {}{}, most runs affected first:\n",
        count(groups.len() as u64, "kind"),
        count(scanned as u64, "failed span"),
        if more {
            " (the newest ones: narrow the range or query to see older ones)"
        } else {
            ""
        }
    );
    for (n, g) in groups.iter().take(limit).enumerate() {
        let sources: Vec<String> = g
            .sources
            .iter()
            .map(|(name, count)| format!("{name} ×{count}"))
            .collect();
        out.push_str(&format!(
            "{}. {}, {} · first {} · last {} · in {}\n   {}\n   e.g. run {} span {}\n",
            n + 1,
            count(g.runs as u64, "run"),
            count(g.spans as u64, "span"),
            time(g.first_unix_nano),
            time(g.last_unix_nano),
            sources.join(", "),
            cut(&g.message, 400),
            g.example_run_id,
            g.example_span_id
        ));
    }
    if groups.len() > limit {
        out.push_str(&format!(
            "… {} more kinds: raise limit to see them.\n",
            groups.len() - limit
        ));
    }
    out
}

/// The fields a reader of a span looks at first, in this order; the rest follow by name.
const SPAN_FIRST: [&str; 16] = [
    "name",
    "kind",
    "span_id",
    "parent_span_id",
    "status",
    "status_message",
    "start_time_unix_nano",
    "end_time_unix_nano",
    "model",
    "provider",
    "tool_name",
    "tool_call_id",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cost_usd",
];

/// A span (the API's SPAN object) as indented JSON, its main fields first and the empty ones
/// (null, `[]`, `{}`, zero dropped counts) left out: they say nothing and cost tokens.
pub fn span_json(span: &Value) -> String {
    let Some(fields) = span.as_object() else {
        return span.to_string();
    };
    let says_something = |(key, value): &(&String, &Value)| match value {
        Value::Null => false,
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Number(n) => !(key.starts_with("dropped_") && n.as_u64() == Some(0)),
        _ => true,
    };
    let rank = |key: &str| {
        SPAN_FIRST
            .iter()
            .position(|k| *k == key)
            .unwrap_or(SPAN_FIRST.len())
    };
    let mut entries: Vec<(&String, &Value)> = fields.iter().filter(says_something).collect();
    entries.sort_by(|a, b| rank(a.0).cmp(&rank(b.0)).then_with(|| a.0.cmp(b.0)));
    let lines: Vec<String> = entries
        .iter()
        .map(|(key, value)| {
            let value = serde_json::to_string_pretty(value).unwrap_or_default();
            format!(
                "  {}: {}",
                Value::from(key.as_str()),
                value.replace('\n', "\n  ")
            )
        })
        .collect();
    format!("{{\n{}\n}}", lines.join(",\n"))
}

/// A long text cut to `max_chars` from character `offset`, ending with how to read on.
pub fn page(text: &str, max_chars: usize, offset: usize) -> String {
    let total = text.chars().count();
    if offset >= total && total > 0 {
        return format!("(nothing from offset {offset}: the text has {total} characters)\n");
    }
    let shown: String = text.chars().skip(offset).take(max_chars).collect();
    let end = offset + shown.chars().count();
    let mut out = shown;
    if end < total {
        out.push_str(&format!(
            "\n… {} more characters (characters {offset}–{end} of {total} shown): call again with offset={end}\n",
            total - end
        ));
    }
    out
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.split_whitespace().collect::<Vec<_>>().join(" "),
        other => other.to_string(),
    }
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn status(s: StatusCode) -> &'static str {
    match s {
        StatusCode::Error => "ERROR",
        other => other.as_str(),
    }
}

fn time(unix_nano: u64) -> String {
    lemma_core::present::timestamp(unix_nano)
}

fn opt_duration(ms: Option<f64>) -> String {
    ms.map(duration).unwrap_or_else(|| "n/a".into())
}

fn percent(rate: f64) -> String {
    format!("{:.1}%", rate * 100.0)
}

/// Dollars to the cent, small amounts to two significant digits (agents' calls often cost
/// fractions of a cent).
fn usd(cost: f64) -> String {
    if cost >= 1.0 || cost == 0.0 {
        return format!("${cost:.2}");
    }
    let decimals = (1 - cost.log10().floor() as i32).clamp(2, 10) as usize;
    let mut text = format!("{cost:.decimals$}");
    while text.ends_with('0') && text.len() - text.find('.').unwrap_or(0) > 3 {
        text.pop();
    }
    format!("${text}")
}

/// `1 run`, `3 runs`.
fn count(n: impl Into<u64>, noun: &str) -> String {
    match n.into() {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}

fn round(v: f64) -> String {
    format!("{:.3}", v)
        .trim_end_matches('0')
        .trim_end_matches('.')
        .to_string()
}

/// A comparison of experiments: totals, score deltas, then each changed case with its
/// results, regressions first.
pub fn comparison(c: &lemma_core::experiments::Comparison, item_chars: usize) -> String {
    let mut out = String::new();
    for e in &c.experiments {
        out.push_str(&format!(
            "{} (dataset {} v{}): {} answered, {} failed, {} tokens{}",
            e.name,
            e.dataset,
            e.dataset_version,
            e.answered,
            e.failed,
            e.total_tokens,
            e.cost_usd
                .map(|c| format!(", {}", usd(c)))
                .unwrap_or_default()
        ));
        for (name, mean) in &e.scores {
            out.push_str(&format!(", {name} {mean:.3}"));
        }
        out.push('\n');
    }
    for s in c.scores.iter().filter(|s| s.delta.is_some()) {
        out.push_str(&format!(
            "score {}: {:+.3}\n",
            s.name,
            s.delta.unwrap_or(0.0)
        ));
    }
    out.push_str(&format!(
        "{} cases, {} changed, {} worse than the baseline\n",
        c.cases.len(),
        c.changed,
        c.regressions
    ));
    let mut rows: Vec<&lemma_core::experiments::CaseRow> =
        c.cases.iter().filter(|r| r.changed).collect();
    rows.sort_by_key(|r| !r.regression);
    for r in rows {
        let mark = if r.regression { "WORSE " } else { "" };
        out.push_str(&format!("- {mark}case {}", r.case_id));
        if let Some(input) = &r.input {
            out.push_str(&format!(" · input: {}", cut(&text(input), item_chars)));
        }
        if !r.reasons.is_empty() {
            out.push_str(&format!(" · {}", r.reasons.join("; ")));
        }
        out.push('\n');
        for (i, res) in r.results.iter().enumerate() {
            match res {
                Some(res) => out.push_str(&format!(
                    "  {}: run {} {} · output: {}\n",
                    c.experiments.get(i).map_or("?", |e| e.name.as_str()),
                    res.run_id,
                    res.status
                        .map_or("pending".to_string(), |s| s.as_str().to_string()),
                    res.output
                        .as_ref()
                        .map(|o| cut(&text(o), item_chars))
                        .unwrap_or_else(|| "-".into())
                )),
                None => out.push_str(&format!(
                    "  {}: not run\n",
                    c.experiments.get(i).map_or("?", |e| e.name.as_str())
                )),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: &str) -> Run {
        Run {
            run_id: id.into(),
            name: "agent".into(),
            agent_name: Some("support_agent".into()),
            status: StatusCode::Error,
            status_message: Some("tool lookup failed".into()),
            start_time_unix_nano: 1_763_700_000_000_000_000,
            duration_ms: 3_200.0,
            span_count: 12,
            error_count: 2,
            total_tokens: 1_234,
            cost_usd: Some(0.0123),
            thread_id: Some("t-42".into()),
            input: Some(Value::String("Where is\n my order?".into())),
            has_root: true,
            ..Run::default()
        }
    }

    #[test]
    fn run_lines_carry_what_a_reader_filters_on() {
        let text = runs(&[run("ab")], "status:error", Some("c1"));
        assert_eq!(
            text,
            "1 run matching \"status:error\", newest first:\n\
             ab · 2025-11-21 04:40:00Z · support_agent · ERROR · 3.2s · 12 spans (2 failed) · 1234 tokens · $0.012 · thread t-42 · tool lookup failed · input: Where is my order?\n\
             More runs: call again with cursor=\"c1\" (same query).\n"
        );
        assert_eq!(runs(&[], "x", None), "No runs match \"x\".\n");
        assert!(runs(&[run("a"), run("b")], "", None).starts_with("2 runs, newest first:\n"));
    }

    #[test]
    fn costs_keep_two_significant_digits() {
        assert_eq!(usd(12.345), "$12.35");
        assert_eq!(usd(0.0123), "$0.012");
        assert_eq!(usd(0.000031), "$0.000031");
        assert_eq!(usd(0.5), "$0.50");
        assert_eq!(usd(0.0), "$0.00");
    }

    #[test]
    fn spans_read_main_fields_first_without_empty_ones() {
        let span = serde_json::json!({
            "attributes": {"a\"b": [1, 2]},
            "cost_usd": null,
            "dropped_events_count": 0,
            "dropped_links_count": 2,
            "events": [],
            "kind": "tool",
            "name": "execute_tool lookup",
            "metadata": {},
        });
        let text = span_json(&span);
        assert_eq!(
            text,
            "{\n  \"name\": \"execute_tool lookup\",\n  \"kind\": \"tool\",\n  \"attributes\": {\n    \"a\\\"b\": [\n      1,\n      2\n    ]\n  },\n  \"dropped_links_count\": 2\n}"
        );
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["attributes"]["a\"b"], serde_json::json!([1, 2]));
    }

    #[test]
    fn pages_say_how_to_read_on() {
        let text = "é".repeat(25);
        let first = page(&text, 10, 0);
        assert!(first.starts_with(&"é".repeat(10)));
        assert!(
            first.contains("15 more characters") && first.contains("offset=10"),
            "{first}"
        );
        let last = page(&text, 10, 20);
        assert_eq!(last, "é".repeat(5));
        assert!(page(&text, 10, 99).contains("has 25 characters"));
    }

    #[test]
    fn metrics_read_as_name_value_source() {
        let m = MetricEvent {
            id: "1".into(),
            run_id: "r".into(),
            span_id: Some("00f067aa0ba902b7".into()),
            name: "quality".into(),
            value: MetricValue::Number(0.25),
            comment: Some("missed the refund rule".into()),
            source: Some("evaluator".into()),
            time_unix_nano: 0,
        };
        assert_eq!(
            metric(&m),
            "quality=0.25 (evaluator, span 00f067aa0ba902b7): missed the refund rule"
        );
        let facts = run_facts(&run("ab"), &[m]);
        assert!(facts.starts_with("thread t-42 · started 2025-11-21 04:40:00Z · tokens 0 in, 0 out · cost $0.012\nmetrics: quality=0.25"), "{facts}");
    }
}
