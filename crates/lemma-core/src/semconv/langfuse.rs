//! Langfuse SDK attributes (`langfuse.*`), as the Python and JS SDKs write them over OTLP:
//! observation type, model, usage and cost details, level, input/output, and the trace-level
//! name, user, session, tags, metadata, environment and release.
//!
//! Langfuse's usage details list cached tokens apart from `input`; Lemma's input includes them
//! (the OTel rule), so they are added back, once.

use serde_json::{Map, Value};

use super::{Attrs, Fields};
use crate::model::{SpanKind, Usage};
use crate::value::{as_f64, as_text, as_u64, decode_json_layers, tag_list};

pub fn read(a: &Attrs) -> Fields {
    let operation = a.text("langfuse.observation.type");
    let level = a
        .text("langfuse.observation.level")
        .map(|l| normalize_level(&l));
    let is_root = a.span.parent_span_id.is_none();
    let meta = user_metadata(a);

    let mut metadata = meta.rest;
    for (key, attrs) in [
        (
            "model_parameters",
            &["langfuse.observation.model.parameters"][..],
        ),
        (
            "prompt_name",
            &["langfuse.observation.prompt.name", "langfuse.prompt.name"],
        ),
        (
            "prompt_version",
            &[
                "langfuse.observation.prompt.version",
                "langfuse.prompt.version",
            ],
        ),
        (
            "completion_start_time",
            &["langfuse.observation.completion_start_time"],
        ),
        ("version", &["langfuse.version"]),
    ] {
        if let Some(v) = attrs.iter().find_map(|k| a.get(k)) {
            metadata.insert(key.into(), decode_json_layers(v));
        }
    }
    if let Some(release) = a.get_or_resource("langfuse.release").and_then(as_text) {
        metadata.insert("release".into(), Value::String(release));
    }
    if let Some(level) = level.as_deref().filter(|l| *l != "DEFAULT") {
        metadata.insert("level".into(), Value::String(level.into()));
    }

    // The Langfuse SDKs name the agent through trace metadata (Python `update_current_trace`,
    // JS `propagateAttributes`): `{"gen_ai.agent.name": "..."}`.
    let agent_name = metadata.get("gen_ai.agent.name").and_then(as_text);
    let kind = operation.as_deref().and_then(observation_kind);
    let input = a
        .json("langfuse.observation.input")
        .or_else(|| a.json("langfuse.trace.input").filter(|_| is_root));
    Fields {
        kind,
        operation,
        // A tool observation's input is its call's arguments.
        tool_args: input.clone().filter(|_| kind == Some(SpanKind::Tool)),
        input,
        trace_name: a.text("langfuse.trace.name"),
        model: a.text("langfuse.observation.model.name"),
        usage: a
            .json("langfuse.observation.usage_details")
            .and_then(|d| d.as_object().map(usage_from_details))
            .unwrap_or_default(),
        cost_usd: a
            .json("langfuse.observation.cost_details")
            .and_then(|d| d.as_object().and_then(cost_from_details)),
        output: a
            .json("langfuse.observation.output")
            .or_else(|| a.json("langfuse.trace.output").filter(|_| is_root)),
        user_id: a.text("langfuse.user.id").or(meta.user_id),
        session_id: a.text("langfuse.session.id").or(meta.session_id),
        environment: a.get_or_resource("langfuse.environment").and_then(as_text),
        tags: a
            .get("langfuse.trace.tags")
            .or_else(|| a.get("langfuse.tags"))
            .map(tag_list)
            .or(meta.tags)
            .filter(|t| !t.is_empty()),
        error: (level.as_deref() == Some("ERROR"))
            .then(|| a.text("langfuse.observation.status_message")),
        metadata,
        agent_name,
        ..Fields::default()
    }
}

/// `langfuse.observation.type` to kind. Only `span` and `event` say "plain span" explicitly;
/// unknown types say nothing.
fn observation_kind(t: &str) -> Option<SpanKind> {
    Some(match t.to_ascii_lowercase().as_str() {
        "generation" => SpanKind::Llm,
        "agent" => SpanKind::Agent,
        "tool" => SpanKind::Tool,
        "chain" => SpanKind::Chain,
        "retriever" => SpanKind::Retrieval,
        "embedding" => SpanKind::Embedding,
        "guardrail" => SpanKind::Guardrail,
        "evaluator" => SpanKind::Evaluator,
        "span" | "event" => SpanKind::Span,
        _ => return None,
    })
}

/// Langfuse's level aliases, upper-cased; unknown levels are kept as sent.
fn normalize_level(level: &str) -> String {
    let upper = level.trim().to_ascii_uppercase();
    match upper.as_str() {
        "ERROR" | "FATAL" | "CRITICAL" => "ERROR",
        "WARNING" | "WARN" => "WARNING",
        "DEBUG" | "TRACE" | "VERBOSE" => "DEBUG",
        "DEFAULT" | "INFO" | "LOG" | "NOTICE" | "OK" | "SUCCESS" => "DEFAULT",
        _ => return upper,
    }
    .into()
}

/// The keys of a usage-details object, by meaning. The first spelling present is read; spellings
/// of one count are never summed.
const INPUT: &[&str] = &["input", "input_tokens", "prompt_tokens"];
const OUTPUT: &[&str] = &["output", "output_tokens", "completion_tokens"];
const TOTAL: &[&str] = &["total", "total_tokens"];
const CACHE_READ: &[&str] = &[
    "input_cache_read",
    "cache_read_input_tokens",
    "input_cached_tokens",
    "cache_read",
    "cache_read_tokens",
    "cached_tokens",
];
const CACHE_WRITE: &[&str] = &[
    "input_cache_creation",
    "cache_creation_input_tokens",
    "input_cache_write",
    "cache_write",
    "cache_creation",
    "cache_write_tokens",
];
const REASONING: &[&str] = &[
    "output_reasoning_tokens",
    "output_reasoning",
    "reasoning",
    "reasoning_tokens",
];

fn first_count(
    details: &Map<String, Value>,
    keys: &'static [&'static str],
) -> Option<(&'static str, u64)> {
    keys.iter()
        .find_map(|&k| details.get(k).and_then(as_u64).map(|n| (k, n)))
}

fn count(details: &Map<String, Value>, keys: &'static [&'static str]) -> Option<u64> {
    first_count(details, keys).map(|(_, n)| n)
}

/// Usage from `langfuse.observation.usage_details`, in Lemma's terms: input includes cache reads
/// and writes, output includes reasoning.
///
/// Whether a count already includes its subsets is decided by the reported total when there is
/// one (the sum that matches it wins); without a total, Langfuse's own `input` key is taken to
/// exclude cached tokens (the SDKs subtract them) and the provider spellings to include them.
fn usage_from_details(details: &Map<String, Value>) -> Usage {
    let input = first_count(details, INPUT);
    let output = count(details, OUTPUT);
    let total = count(details, TOTAL);
    let cache_read = count(details, CACHE_READ);
    let cache_write = count(details, CACHE_WRITE);
    let reasoning = count(details, REASONING);

    // Saturating: counts are hostile input and must not overflow.
    let sum = |parts: &[u64]| parts.iter().fold(0u64, |acc, n| acc.saturating_add(*n));
    let i = input.map_or(0, |(_, n)| n);
    let o = output.unwrap_or(0);
    let cache = sum(&[cache_read.unwrap_or(0), cache_write.unwrap_or(0)]);
    let r = reasoning.unwrap_or(0);
    let (cache_apart, reasoning_apart) = match total {
        Some(t) if t == sum(&[i, o]) => (false, false),
        Some(t) if t == sum(&[i, cache, o]) => (true, false),
        Some(t) if t == sum(&[i, cache, o, r]) => (true, true),
        Some(t) if t == sum(&[i, o, r]) => (false, true),
        _ => (matches!(input, Some(("input", _))), false),
    };
    Usage {
        input_tokens: input.map(|(_, n)| if cache_apart { sum(&[n, cache]) } else { n }),
        output_tokens: output.map(|n| if reasoning_apart { sum(&[n, r]) } else { n }),
        total_tokens: total,
        cache_read_tokens: cache_read,
        cache_write_tokens: cache_write,
        reasoning_tokens: reasoning,
    }
}

/// Cost from `langfuse.observation.cost_details`: its `total`, else the sum of its amounts.
fn cost_from_details(details: &Map<String, Value>) -> Option<f64> {
    details.get("total").and_then(as_f64).or_else(|| {
        details
            .values()
            .filter_map(as_f64)
            .fold(None, |sum, c| Some(sum.unwrap_or(0.0) + c))
    })
}

/// Metadata the SDKs attach, with the keys Langfuse reserves for trace fields taken out.
struct UserMetadata {
    rest: Map<String, Value>,
    user_id: Option<String>,
    session_id: Option<String>,
    tags: Option<Vec<String>>,
}

/// Observation metadata before trace metadata, per-key attributes before whole objects: the
/// more specific value wins. The reserved `langfuse_user_id`, `langfuse_session_id` and
/// `langfuse_tags` keys become fields, not metadata.
fn user_metadata(a: &Attrs) -> UserMetadata {
    let mut rest = Map::new();
    for (whole, per_key) in [
        (
            "langfuse.observation.metadata",
            "langfuse.observation.metadata.",
        ),
        ("langfuse.trace.metadata", "langfuse.trace.metadata."),
        ("langfuse.metadata", "langfuse.metadata."),
    ] {
        for (k, v) in a.with_prefix(per_key).filter(|(k, _)| !k.is_empty()) {
            rest.entry(k).or_insert_with(|| decode_json_layers(v));
        }
        if let Some(Value::Object(m)) = a.json(whole) {
            for (k, v) in m {
                rest.entry(k).or_insert(v);
            }
        }
    }
    let user_id = rest.remove("langfuse_user_id").as_ref().and_then(as_text);
    let session_id = rest
        .remove("langfuse_session_id")
        .as_ref()
        .and_then(as_text);
    let tags = rest.remove("langfuse_tags").as_ref().map(tag_list);
    UserMetadata {
        rest,
        user_id,
        session_id,
        tags,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::model::{Span, StatusCode};
    use crate::semconv::normalize;

    fn span(attrs: Value) -> Span {
        Span {
            name: "obs".into(),
            parent_span_id: Some("00000000000000aa".into()),
            attributes: attrs.as_object().unwrap().clone(),
            ..Span::default()
        }
    }

    fn fields(attrs: Value) -> Fields {
        read(&Attrs::new(&span(attrs)))
    }

    fn usage(details: Value) -> Usage {
        usage_from_details(details.as_object().unwrap())
    }

    #[test]
    fn observation_types_map_to_kinds() {
        for (t, kind) in [
            ("generation", SpanKind::Llm),
            ("agent", SpanKind::Agent),
            ("tool", SpanKind::Tool),
            ("chain", SpanKind::Chain),
            ("retriever", SpanKind::Retrieval),
            ("embedding", SpanKind::Embedding),
            ("guardrail", SpanKind::Guardrail),
            ("evaluator", SpanKind::Evaluator),
            ("span", SpanKind::Span),
            ("event", SpanKind::Span),
            ("GENERATION", SpanKind::Llm),
        ] {
            let f = fields(json!({"langfuse.observation.type": t}));
            assert_eq!(f.kind, Some(kind), "{t}");
            assert_eq!(f.operation.as_deref(), Some(t));
        }
        assert_eq!(
            fields(json!({"langfuse.observation.type": "novel"})).kind,
            None
        );
        assert_eq!(fields(json!({})).kind, None);
    }

    #[test]
    fn explicit_span_type_is_not_inferred_as_llm() {
        let mut s = span(json!({
            "langfuse.observation.type": "span",
            "gen_ai.request.model": "m",
            "gen_ai.usage.input_tokens": 3,
        }));
        normalize(&mut s);
        assert_eq!(s.kind, SpanKind::Span);
    }

    #[test]
    fn langfuse_input_excludes_cache_so_it_is_added_back() {
        let u = usage(json!({"input": 60, "input_cached_tokens": 40, "output": 10}));
        assert_eq!(u.input_tokens, Some(100));
        assert_eq!(u.cache_read_tokens, Some(40));
        assert_eq!(u.output_tokens, Some(10));
        assert_eq!(u.total_tokens, None);

        let u = usage(json!({
            "input": 20, "cache_read_input_tokens": 70, "cache_creation_input_tokens": 10,
            "output": 5, "total": 105,
        }));
        assert_eq!(u.input_tokens, Some(100));
        assert_eq!(u.cache_write_tokens, Some(10));
        assert_eq!(u.total_tokens, Some(105));
    }

    #[test]
    fn total_that_already_includes_cache_prevents_double_counting() {
        let u = usage(json!({"input": 100, "input_cache_read": 40, "output": 10, "total": 110}));
        assert_eq!(u.input_tokens, Some(100));
        assert_eq!(u.cache_read_tokens, Some(40));
        // Provider spellings include their cache unless a total says otherwise.
        let u = usage(json!({"prompt_tokens": 100, "cached_tokens": 40, "completion_tokens": 10}));
        assert_eq!(u.input_tokens, Some(100));
    }

    #[test]
    fn spellings_of_one_count_are_not_summed() {
        let u = usage(json!({
            "input": 10, "input_cache_read": 5, "cache_read": 5, "cache_read_input_tokens": 5,
            "output": 2,
        }));
        assert_eq!(u.cache_read_tokens, Some(5));
        assert_eq!(u.input_tokens, Some(15));
    }

    #[test]
    fn reasoning_is_added_to_output_only_when_the_total_says_it_was_apart() {
        let u = usage(json!({"input": 10, "output": 4, "output_reasoning_tokens": 6, "total": 20}));
        assert_eq!(u.output_tokens, Some(10));
        assert_eq!(u.reasoning_tokens, Some(6));
        let u = usage(json!({"input": 10, "output": 10, "reasoning": 6, "total": 20}));
        assert_eq!(u.output_tokens, Some(10));
        let u = usage(json!({"input": 10, "output": 10, "reasoning": 6}));
        assert_eq!(u.output_tokens, Some(10));
    }

    #[test]
    fn huge_counts_do_not_overflow() {
        let u = usage(
            json!({"input": u64::MAX, "cache_read": u64::MAX, "output": u64::MAX, "total": 1}),
        );
        assert_eq!(u.input_tokens, Some(u64::MAX));
    }

    #[test]
    fn invalid_usage_json_falls_through_to_weaker_conventions() {
        let f = fields(json!({"langfuse.observation.usage_details": "{\"input\": 5"}));
        assert!(f.usage.is_empty());
        let mut s = span(json!({
            "langfuse.observation.usage_details": "{\"input\": 5",
            "gen_ai.usage.input_tokens": 7,
        }));
        normalize(&mut s);
        assert_eq!(s.usage.input_tokens, Some(7));
        let f = fields(json!({"langfuse.observation.usage_details": "[1, 2]"}));
        assert!(f.usage.is_empty());
    }

    #[test]
    fn cost_is_the_total_else_the_sum() {
        let f = fields(json!({
            "langfuse.observation.cost_details": "{\"input\": 0.5, \"output\": 1.0, \"total\": 1.25}"
        }));
        assert_eq!(f.cost_usd, Some(1.25));
        let f = fields(json!({
            "langfuse.observation.cost_details": "{\"input\": 0.5, \"output\": 1.0, \"note\": \"x\"}"
        }));
        assert_eq!(f.cost_usd, Some(1.5));
        assert_eq!(
            fields(json!({"langfuse.observation.cost_details": "{}"})).cost_usd,
            None
        );
    }

    #[test]
    fn error_level_alone_marks_the_span_failed() {
        // The JS SDK sets the level but not the OTel status.
        let mut s = span(json!({
            "langfuse.observation.level": "error",
            "langfuse.observation.status_message": "SMTP refused",
        }));
        normalize(&mut s);
        assert_eq!(s.status, StatusCode::Error);
        assert_eq!(s.status_message.as_deref(), Some("SMTP refused"));
        assert_eq!(s.metadata["level"], "ERROR");

        let f = fields(json!({"langfuse.observation.level": "FATAL"}));
        assert_eq!(f.error, Some(None));
    }

    #[test]
    fn other_levels_go_to_metadata() {
        let f = fields(json!({"langfuse.observation.level": "warn"}));
        assert_eq!(f.error, None);
        assert_eq!(f.metadata["level"], "WARNING");
        assert_eq!(
            fields(json!({"langfuse.observation.level": "TRACE"})).metadata["level"],
            "DEBUG"
        );
        assert!(fields(json!({"langfuse.observation.level": "DEFAULT"}))
            .metadata
            .get("level")
            .is_none());
    }

    #[test]
    fn trace_input_is_a_fallback_on_root_spans_only() {
        let attrs = json!({
            "langfuse.trace.input": "{\"q\": 1}",
            "langfuse.trace.output": "done",
        });
        let child = fields(attrs.clone());
        assert_eq!((child.input, child.output), (None, None));
        let mut root = span(attrs);
        root.parent_span_id = None;
        let f = read(&Attrs::new(&root));
        assert_eq!(f.input, Some(json!({"q": 1})));
        assert_eq!(f.output, Some(json!("done")));

        root.attributes.insert(
            "langfuse.observation.input".into(),
            json!("[{\"role\": \"user\"}]"),
        );
        let f = read(&Attrs::new(&root));
        assert_eq!(f.input, Some(json!([{"role": "user"}])));
    }

    #[test]
    fn invalid_json_input_is_kept_as_a_string() {
        let f = fields(json!({"langfuse.observation.input": "{\"q\": "}));
        assert_eq!(f.input, Some(json!("{\"q\": ")));
    }

    #[test]
    fn tags_in_every_shape() {
        assert_eq!(tag_list(&json!(["a", " b "])), vec!["a", "b"]);
        assert_eq!(tag_list(&json!("[\"a\", \"b\"]")), vec!["a", "b"]);
        assert_eq!(tag_list(&json!("a, b,,c")), vec!["a", "b", "c"]);
        assert_eq!(tag_list(&json!("solo")), vec!["solo"]);
        assert_eq!(tag_list(&json!("[broken")), vec!["[broken"]);
        let f = fields(json!({"langfuse.tags": "x,y"}));
        assert_eq!(f.tags, Some(vec!["x".into(), "y".into()]));
        let f = fields(json!({"langfuse.trace.tags": ["t"], "langfuse.tags": "x"}));
        assert_eq!(f.tags, Some(vec!["t".into()]));
        assert_eq!(fields(json!({"langfuse.tags": ""})).tags, None);
    }

    #[test]
    fn metadata_values_encoded_by_the_python_sdk_are_decoded() {
        let f = fields(json!({
            "langfuse.trace.metadata.tier": "\"gold\"",
            "langfuse.trace.metadata.limits": "{\"max\": 3}",
            "langfuse.observation.metadata.region": "eu",
            "langfuse.metadata.count": "42",
        }));
        assert_eq!(f.metadata["tier"], "gold");
        assert_eq!(f.metadata["limits"], json!({"max": 3}));
        assert_eq!(f.metadata["region"], "eu");
        assert_eq!(f.metadata["count"], "42");
    }

    #[test]
    fn the_agent_is_named_through_trace_metadata() {
        let f = fields(json!({"langfuse.trace.metadata.gen_ai.agent.name": "support-agent"}));
        assert_eq!(f.agent_name.as_deref(), Some("support-agent"));
        let f = fields(json!({"langfuse.trace.metadata": "{\"gen_ai.agent.name\": \"triage\"}"}));
        assert_eq!(f.agent_name.as_deref(), Some("triage"));
        let f =
            fields(json!({"langfuse.trace.metadata.gen_ai.agent.name": "{\"not\": \"a name\"}"}));
        assert_eq!(f.agent_name, None, "only text names an agent");
        assert_eq!(
            fields(json!({"langfuse.trace.metadata.tier": "gold"})).agent_name,
            None
        );
    }

    #[test]
    fn metadata_objects_and_reserved_keys() {
        let f = fields(json!({
            "langfuse.trace.metadata": "{\"tier\": \"silver\", \"langfuse_user_id\": \"u-9\", \"langfuse_tags\": [\"m\"]}",
            "langfuse.observation.metadata.tier": "gold",
            "langfuse.metadata.langfuse_session_id": "\"s-9\"",
        }));
        assert_eq!(f.metadata["tier"], "gold");
        assert_eq!(f.user_id.as_deref(), Some("u-9"));
        assert_eq!(f.session_id.as_deref(), Some("s-9"));
        assert_eq!(f.tags, Some(vec!["m".into()]));
        assert!(f.metadata.get("langfuse_user_id").is_none());
        assert!(f.metadata.get("langfuse_tags").is_none());

        let f = fields(json!({
            "langfuse.user.id": "u-1",
            "langfuse.session.id": "s-1",
            "langfuse.metadata": "not an object",
            "langfuse.trace.metadata.langfuse_user_id": "u-2",
        }));
        assert_eq!(f.user_id.as_deref(), Some("u-1"));
        assert_eq!(f.session_id.as_deref(), Some("s-1"));
        assert!(f.metadata.is_empty());
    }

    #[test]
    fn trace_fields_and_observation_details() {
        let mut s = span(json!({
            "langfuse.trace.name": "support-request",
            "langfuse.observation.model.name": "gpt-4o-mini",
            "langfuse.observation.model.parameters": "{\"temperature\": 0.0}",
            "langfuse.observation.prompt.name": "answer",
            "langfuse.observation.prompt.version": 3,
            "langfuse.observation.completion_start_time": "\"2024-05-02T10:00:00Z\"",
            "langfuse.version": "1.2",
        }));
        s.resource
            .insert("langfuse.environment".into(), json!("staging"));
        s.resource.insert("langfuse.release".into(), json!("r-7"));
        let f = read(&Attrs::new(&s));
        assert_eq!(f.trace_name.as_deref(), Some("support-request"));
        assert_eq!(f.model.as_deref(), Some("gpt-4o-mini"));
        assert_eq!(f.environment.as_deref(), Some("staging"));
        assert_eq!(f.metadata["model_parameters"], json!({"temperature": 0.0}));
        assert_eq!(f.metadata["prompt_name"], "answer");
        assert_eq!(f.metadata["prompt_version"], 3);
        assert_eq!(f.metadata["completion_start_time"], "2024-05-02T10:00:00Z");
        assert_eq!(f.metadata["release"], "r-7");
        assert_eq!(f.metadata["version"], "1.2");

        s.attributes
            .insert("langfuse.environment".into(), json!("prod"));
        s.attributes.insert("langfuse.release".into(), json!("r-8"));
        let f = read(&Attrs::new(&s));
        assert_eq!(f.environment.as_deref(), Some("prod"));
        assert_eq!(f.metadata["release"], "r-8");
    }

    #[test]
    fn decode_json_layers_unwraps_double_encoding() {
        assert_eq!(
            decode_json_layers(&json!("\"{\\\"city\\\":\\\"Paris\\\"}\"")),
            json!({"city": "Paris"})
        );
        assert_eq!(decode_json_layers(&json!("\"gold\"")), json!("gold"));
        assert_eq!(decode_json_layers(&json!("{\"a\":1}")), json!({"a": 1}));
        assert_eq!(
            decode_json_layers(&json!("\"unterminated")),
            json!("\"unterminated")
        );
        assert_eq!(decode_json_layers(&json!(7)), json!(7));
    }

    #[test]
    fn fixture_langfuse_python_sdk() {
        let spans = crate::semconv::test_support::fixture_spans("langfuse_sdk");
        let by_name = |n: &str| spans.iter().find(|s| s.name == n).unwrap();
        assert_eq!(spans.len(), 5);

        let root = by_name("support-agent");
        assert_eq!(root.kind, SpanKind::Agent);
        assert_eq!(root.trace_name.as_deref(), Some("support-request"));
        assert_eq!(root.user_id.as_deref(), Some("user-lf-3"));
        assert_eq!(root.thread_id.as_deref(), Some("sess-lf-1"));
        assert_eq!(root.tags, vec!["conformance", "langfuse-sdk"]);
        assert_eq!(root.metadata["tier"], "gold");
        assert_eq!(root.metadata["region"], "eu");
        assert!(root.input.is_some() && root.output.is_some());
        assert_ne!(root.status, StatusCode::Error);

        for (name, input, output) in [("chat-plan", 50, 12), ("chat-answer", 80, 20)] {
            let s = by_name(name);
            assert_eq!(s.kind, SpanKind::Llm, "{name}");
            assert_eq!(s.model.as_deref(), Some("gpt-4o-mini"));
            assert_eq!(s.usage.input_tokens, Some(input));
            assert_eq!(s.usage.output_tokens, Some(output));
            assert_eq!(s.usage.total_tokens, Some(input + output));
            assert_eq!(s.metadata["model_parameters"], json!({"temperature": 0.0}));
            assert!(s.input.is_some() && s.output.is_some());
        }

        let tool = by_name("lookup_order");
        assert_eq!(tool.kind, SpanKind::Tool);
        assert_eq!(tool.tool_name.as_deref(), Some("lookup_order"));
        assert_eq!(tool.input, Some(json!({"order_id": "A-17"})));
        assert_eq!(tool.tool_args, Some(json!({"order_id": "A-17"})));
        assert_eq!(tool.output.as_ref().unwrap()["status"], "shipped");

        let failed = by_name("notify-customer");
        assert_eq!(failed.kind, SpanKind::Span);
        assert_eq!(failed.status, StatusCode::Error);
        assert_eq!(
            failed.status_message.as_deref(),
            Some("SMTP relay refused connection")
        );
        assert!(failed.input.is_some() && failed.output.is_some());
    }
}
