//! Metric events: named values tied to a run (and optionally one of its spans), such as user
//! feedback, task success or an evaluator's score. They may arrive before the run's spans, so
//! they are kept apart from spans and joined to runs when read.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::model::{LogRecord, Span};
use crate::otlp::is_trace_id;

pub const MAX_NAME_CHARS: usize = 128;
pub const MAX_TEXT_CHARS: usize = 1_000;
pub const MAX_COMMENT_CHARS: usize = 4_000;
pub const MAX_SOURCE_CHARS: usize = 64;
/// How many distinct text values [`MetricStats::values`] keeps.
pub const TOP_TEXT_VALUES: usize = 10;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetricEvent {
    /// Unique within the project; assigned by the store when empty.
    pub id: String,
    pub run_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_id: Option<String>,
    pub name: String,
    pub value: MetricValue,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Who produced it: `user`, `sdk`, `evaluator`, or any short label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub time_unix_nano: u64,
}

/// A metric's value, serialised as the bare JSON number, boolean or string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum MetricValue {
    Number(f64),
    Bool(bool),
    Text(String),
}

impl MetricValue {
    /// The stored kind: `number`, `bool` or `text`.
    pub fn kind(&self) -> &'static str {
        match self {
            MetricValue::Number(_) => "number",
            MetricValue::Bool(_) => "bool",
            MetricValue::Text(_) => "text",
        }
    }

    /// Reads a value typed on a command line: `true`/`false`, a number, else text.
    pub fn guess(text: &str) -> MetricValue {
        match text {
            "true" => MetricValue::Bool(true),
            "false" => MetricValue::Bool(false),
            _ => match text.parse::<f64>() {
                Ok(n) if n.is_finite() => MetricValue::Number(n),
                _ => MetricValue::Text(text.to_string()),
            },
        }
    }
}

/// Checks a metric name: 1–128 letters, digits, `_`, `-`, `.` or `:`.
pub fn check_name(name: &str) -> Result<(), String> {
    let chars = name.chars().count();
    if chars == 0 {
        return Err("name must not be empty".into());
    }
    if chars > MAX_NAME_CHARS {
        return Err(format!(
            "name must be at most {MAX_NAME_CHARS} characters, not {chars}"
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':')))
    {
        return Err(format!(
            "name {name:?} may only contain letters, digits, '_', '-', '.' and ':' (found {c:?})"
        ));
    }
    Ok(())
}

/// Checks everything a client controls in an event, with a message saying how to fix it.
pub fn validate(event: &MetricEvent) -> Result<(), String> {
    if !is_trace_id(&event.run_id) {
        return Err(format!(
            "run id {:?} must be 32 lowercase hex characters",
            event.run_id
        ));
    }
    if let Some(span_id) = &event.span_id {
        if span_id.len() != 16 || !span_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("span_id {span_id:?} must be 16 hex characters"));
        }
    }
    check_name(&event.name)?;
    match &event.value {
        MetricValue::Number(n) if !n.is_finite() => {
            return Err("value must be a finite number".into())
        }
        MetricValue::Text(t) if t.chars().count() > MAX_TEXT_CHARS => {
            return Err(format!(
                "a text value must be at most {MAX_TEXT_CHARS} characters, not {}",
                t.chars().count()
            ))
        }
        _ => {}
    }
    if let Some(comment) = &event.comment {
        let n = comment.chars().count();
        if n > MAX_COMMENT_CHARS {
            return Err(format!(
                "comment must be at most {MAX_COMMENT_CHARS} characters, not {n}"
            ));
        }
    }
    if let Some(source) = &event.source {
        let n = source.chars().count();
        if n == 0 || n > MAX_SOURCE_CHARS || source.chars().any(char::is_control) {
            return Err(format!(
                "source must be 1 to {MAX_SOURCE_CHARS} printable characters, such as user, \
                 sdk or evaluator"
            ));
        }
    }
    Ok(())
}

/// Reads one event as posted to a run (`{name, value, comment?, source?, span_id?}`) and
/// validates it. `time_unix_nano` is when it was received.
pub fn from_json(v: &Value, run_id: &str, time_unix_nano: u64) -> Result<MetricEvent, String> {
    let Some(obj) = v.as_object() else {
        return Err("expected an object such as {\"name\": \"resolved\", \"value\": true}".into());
    };
    if let Some(key) = obj.keys().find(|k| {
        !matches!(
            k.as_str(),
            "name" | "value" | "comment" | "source" | "span_id"
        )
    }) {
        return Err(format!(
            "unknown field {key:?}; expected name, value, comment, source and span_id"
        ));
    }
    let name = match obj.get("name") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err("name must be a string".into()),
        None => return Err("name is required".into()),
    };
    let value = match obj.get("value") {
        Some(Value::Bool(b)) => MetricValue::Bool(*b),
        Some(Value::String(s)) => MetricValue::Text(s.clone()),
        Some(Value::Number(n)) => MetricValue::Number(
            n.as_f64()
                .ok_or_else(|| "value must be a finite number".to_string())?,
        ),
        Some(_) => return Err("value must be a number, a boolean or a string".into()),
        None => return Err("value is required (a number, a boolean or a string)".into()),
    };
    let optional = |key: &str| -> Result<Option<String>, String> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("{key} must be a string")),
        }
    };
    let event = MetricEvent {
        id: String::new(),
        run_id: run_id.to_string(),
        span_id: optional("span_id")?.map(|s| s.to_ascii_lowercase()),
        name,
        value,
        comment: optional("comment")?,
        source: optional("source")?,
        time_unix_nano,
    };
    validate(&event)?;
    Ok(event)
}

/// The event name OpenTelemetry GenAI gives evaluation results (span events and log records).
pub const GENAI_EVALUATION_EVENT: &str = "gen_ai.evaluation.result";
/// The source of events derived from evaluation results in telemetry.
pub const EVALUATOR_SOURCE: &str = "evaluator";
/// The source of events a project's HTTP classifier answered (a label as the name, its
/// score as the value).
pub const CLASSIFIER_SOURCE: &str = "classifier";
/// The name of a classifier's event that found nothing: kept so a run is classified once.
pub const CLASSIFIED_NOTHING: &str = "classifier";

/// Evaluation results a span carries, as metric events: OpenInference
/// `annotations.<n>.annotation.*` attributes and GenAI `gen_ai.evaluation.result` span events.
/// Ids are derived from the span, so a re-sent span yields the same events. Results that do
/// not make a valid event (no name, no value, a bad name) are left out.
pub fn from_span(span: &Span) -> Vec<MetricEvent> {
    let mut out = Vec::new();
    let mut annotations: BTreeMap<u32, Map<String, Value>> = BTreeMap::new();
    for (key, value) in &span.attributes {
        let Some(rest) = key.strip_prefix("annotations.") else {
            continue;
        };
        let Some((index, field)) = rest.split_once(".annotation.") else {
            continue;
        };
        if let Ok(index) = index.parse::<u32>() {
            annotations
                .entry(index)
                .or_default()
                .insert(field.to_string(), value.clone());
        }
    }
    for (index, a) in annotations {
        let result = Evaluation {
            name: a.get("name"),
            score: a.get("score"),
            label: a.get("label"),
            explanation: a.get("explanation"),
        };
        let id = format!("{}-{}-a{index}", span.trace_id, span.span_id);
        out.extend(result.event(
            id,
            &span.trace_id,
            Some(&span.span_id),
            span.end_time_unix_nano,
        ));
    }
    for (index, e) in span.events.iter().enumerate() {
        if e.name != GENAI_EVALUATION_EVENT {
            continue;
        }
        let id = format!("{}-{}-e{index}", span.trace_id, span.span_id);
        out.extend(Evaluation::genai(&e.attributes).event(
            id,
            &span.trace_id,
            Some(&span.span_id),
            e.time_unix_nano,
        ));
    }
    out
}

/// A GenAI `gen_ai.evaluation.result` log record as a metric event, if it is one and names
/// its run. `id` should be stable for the record, so a re-sent record is stored once.
pub fn from_log(record: &LogRecord, id: String) -> Option<MetricEvent> {
    let is_evaluation = record.event_name.as_deref() == Some(GENAI_EVALUATION_EVENT)
        || record.attributes.get("event.name").and_then(Value::as_str)
            == Some(GENAI_EVALUATION_EVENT);
    if !is_evaluation {
        return None;
    }
    let trace_id = record.trace_id.as_deref()?;
    Evaluation::genai(&record.attributes).event(
        id,
        trace_id,
        record.span_id.as_deref(),
        record.time_unix_nano,
    )
}

/// The parts of an evaluation result, as found in telemetry.
struct Evaluation<'a> {
    name: Option<&'a Value>,
    score: Option<&'a Value>,
    label: Option<&'a Value>,
    explanation: Option<&'a Value>,
}

impl<'a> Evaluation<'a> {
    fn genai(attributes: &'a Map<String, Value>) -> Evaluation<'a> {
        Evaluation {
            name: attributes.get("gen_ai.evaluation.name"),
            score: attributes.get("gen_ai.evaluation.score.value"),
            label: attributes.get("gen_ai.evaluation.score.label"),
            explanation: attributes.get("gen_ai.evaluation.explanation"),
        }
    }

    /// The score when numeric, else the label; the explanation as the comment.
    fn event(
        &self,
        id: String,
        trace_id: &str,
        span_id: Option<&str>,
        time_unix_nano: u64,
    ) -> Option<MetricEvent> {
        let name = self.name?.as_str()?.to_string();
        let value = match (self.score.and_then(Value::as_f64), self.label) {
            (Some(score), _) => MetricValue::Number(score),
            (None, Some(Value::String(label))) => MetricValue::Text(label.clone()),
            (None, Some(Value::Bool(b))) => MetricValue::Bool(*b),
            _ => return None,
        };
        let event = MetricEvent {
            id,
            run_id: trace_id.to_string(),
            span_id: span_id.map(str::to_string),
            name,
            value,
            comment: self
                .explanation
                .and_then(Value::as_str)
                .map(|c| c.chars().take(MAX_COMMENT_CHARS).collect()),
            source: Some(EVALUATOR_SOURCE.to_string()),
            time_unix_nano,
        };
        validate(&event).ok().map(|()| event)
    }
}

/// One metric name across the runs of a stats range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetricStats {
    pub name: String,
    /// Events of every kind.
    pub count: u64,
    /// Mean of the numeric events, if any.
    pub mean: Option<f64>,
    /// Share of the boolean events that are true, if any.
    pub true_rate: Option<f64>,
    /// The most frequent text values and their counts (at most [`TOP_TEXT_VALUES`]).
    pub values: BTreeMap<String, u64>,
}

#[derive(Default)]
struct MetricGroup {
    count: u64,
    numbers: u64,
    sum: f64,
    bools: u64,
    trues: u64,
    texts: HashMap<String, u64>,
}

/// Folds metric values into [`MetricStats`], one group per name.
#[derive(Default)]
pub struct MetricAggregator {
    groups: BTreeMap<String, MetricGroup>,
}

impl MetricAggregator {
    pub fn add(&mut self, name: &str, value: &MetricValue) {
        let g = match self.groups.get_mut(name) {
            Some(g) => g,
            None => self.groups.entry(name.to_string()).or_default(),
        };
        g.count += 1;
        match value {
            MetricValue::Number(n) => {
                g.numbers += 1;
                g.sum += n;
            }
            MetricValue::Bool(b) => {
                g.bools += 1;
                g.trues += u64::from(*b);
            }
            MetricValue::Text(t) => *g.texts.entry(t.clone()).or_default() += 1,
        }
    }

    /// Most frequent names first.
    pub fn finish(self) -> Vec<MetricStats> {
        let mut out: Vec<MetricStats> = self
            .groups
            .into_iter()
            .map(|(name, g)| {
                let mut texts: Vec<(String, u64)> = g.texts.into_iter().collect();
                texts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                texts.truncate(TOP_TEXT_VALUES);
                MetricStats {
                    name,
                    count: g.count,
                    mean: (g.numbers > 0).then(|| g.sum / g.numbers as f64),
                    true_rate: (g.bools > 0).then(|| g.trues as f64 / g.bools as f64),
                    values: texts.into_iter().collect(),
                }
            })
            .collect();
        // Stable: equal counts stay in name order.
        out.sort_by_key(|m| std::cmp::Reverse(m.count));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const RUN: &str = "0123456789abcdef0123456789abcdef";

    fn event(v: Value) -> Result<MetricEvent, String> {
        from_json(&v, RUN, 7)
    }

    #[test]
    fn reads_every_kind_of_value() {
        let e = event(
            json!({"name": "quality", "value": 0.25, "source": "evaluator",
            "comment": "terse", "span_id": "00112233445566AA"}),
        )
        .unwrap();
        assert_eq!(e.value, MetricValue::Number(0.25));
        assert_eq!(e.span_id.as_deref(), Some("00112233445566aa"));
        assert_eq!(e.source.as_deref(), Some("evaluator"));
        assert_eq!(e.time_unix_nano, 7);
        assert_eq!(
            event(json!({"name": "resolved", "value": true}))
                .unwrap()
                .value,
            MetricValue::Bool(true)
        );
        assert_eq!(
            event(json!({"name": "feedback", "value": "great"}))
                .unwrap()
                .value,
            MetricValue::Text("great".into())
        );
    }

    #[test]
    fn invalid_events_say_what_is_wrong() {
        let cases = [
            (json!({"value": 1}), "name is required"),
            (json!({"name": "", "value": 1}), "must not be empty"),
            (json!({"name": "a b", "value": 1}), "may only contain"),
            (json!({"name": "x".repeat(129), "value": 1}), "at most 128"),
            (json!({"name": "q"}), "value is required"),
            (
                json!({"name": "q", "value": null}),
                "number, a boolean or a string",
            ),
            (
                json!({"name": "q", "value": [1]}),
                "number, a boolean or a string",
            ),
            (
                json!({"name": "q", "value": "x".repeat(1001)}),
                "at most 1000",
            ),
            (
                json!({"name": "q", "value": 1, "comment": "x".repeat(4001)}),
                "at most 4000",
            ),
            (json!({"name": "q", "value": 1, "span_id": "xyz"}), "16 hex"),
            (
                json!({"name": "q", "value": 1, "source": ""}),
                "source must be",
            ),
            (
                json!({"name": "q", "value": 1, "vaule": 2}),
                "unknown field \"vaule\"",
            ),
            (json!([1]), "expected an object"),
        ];
        for (input, fragment) in cases {
            let err = event(input.clone()).unwrap_err();
            assert!(err.contains(fragment), "{input}: {err}");
        }
        let mut e = event(json!({"name": "q", "value": 1})).unwrap();
        e.value = MetricValue::Number(f64::NAN);
        assert!(validate(&e).unwrap_err().contains("finite"));
        e.value = MetricValue::Number(1.0);
        e.run_id = "abc".into();
        assert!(validate(&e).unwrap_err().contains("32 lowercase hex"));
    }

    #[test]
    fn names_allow_the_documented_punctuation() {
        assert!(check_name("eval:helpfulness.v2-final_x").is_ok());
        assert!(check_name("ünï").is_ok());
        assert!(check_name("a/b").is_err());
    }

    #[test]
    fn values_serialise_bare() {
        let e = event(json!({"name": "resolved", "value": false})).unwrap();
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["value"], json!(false));
        assert!(v.get("comment").is_none());
        let back: MetricEvent = serde_json::from_value(v).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn guesses_command_line_values() {
        assert_eq!(MetricValue::guess("true"), MetricValue::Bool(true));
        assert_eq!(MetricValue::guess("-0.5"), MetricValue::Number(-0.5));
        assert_eq!(MetricValue::guess("NaN"), MetricValue::Text("NaN".into()));
        assert_eq!(MetricValue::guess("meh"), MetricValue::Text("meh".into()));
    }

    #[test]
    fn aggregates_by_name_and_kind() {
        let mut agg = MetricAggregator::default();
        for v in [0.2, 0.4, 0.9] {
            agg.add("quality", &MetricValue::Number(v));
        }
        for b in [true, false, true, true] {
            agg.add("resolved", &MetricValue::Bool(b));
        }
        for i in 0..12 {
            for _ in 0..=i {
                agg.add("label", &MetricValue::Text(format!("v{i:02}")));
            }
        }
        let stats = agg.finish();
        let names: Vec<&str> = stats.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["label", "resolved", "quality"]);
        let quality = &stats[2];
        assert_eq!(quality.count, 3);
        assert!((quality.mean.unwrap() - 0.5).abs() < 1e-9);
        assert_eq!(quality.true_rate, None);
        assert_eq!(stats[1].true_rate, Some(0.75));
        assert_eq!(stats[1].mean, None);
        let label = &stats[0];
        assert_eq!(label.values.len(), TOP_TEXT_VALUES);
        assert_eq!(label.values.get("v11"), Some(&12));
        assert!(!label.values.contains_key("v01"));
    }

    #[test]
    fn evaluation_results_in_spans_become_events() {
        let mut span = Span {
            trace_id: RUN.into(),
            span_id: "00000000000000aa".into(),
            end_time_unix_nano: 9,
            ..Span::default()
        };
        for (k, v) in [
            ("annotations.0.annotation.name", json!("correctness")),
            ("annotations.0.annotation.score", json!(0.8)),
            (
                "annotations.0.annotation.explanation",
                json!("mostly right"),
            ),
            ("annotations.0.annotation.annotator_kind", json!("LLM")),
            ("annotations.1.annotation.name", json!("tone")),
            ("annotations.1.annotation.label", json!("friendly")),
            ("annotations.2.annotation.name", json!("no value")),
            ("annotations.3.annotation.name", json!("bad name!")),
            ("annotations.3.annotation.score", json!(1)),
        ] {
            span.attributes.insert(k.into(), v);
        }
        let mut attributes = Map::new();
        attributes.insert("gen_ai.evaluation.name".into(), json!("relevance"));
        attributes.insert("gen_ai.evaluation.score.label".into(), json!("relevant"));
        span.events.push(crate::SpanEvent {
            name: GENAI_EVALUATION_EVENT.into(),
            time_unix_nano: 5,
            attributes,
            dropped_attributes_count: 0,
        });
        span.events.push(crate::SpanEvent {
            name: "other".into(),
            time_unix_nano: 6,
            attributes: Map::new(),
            dropped_attributes_count: 0,
        });
        let events = from_span(&span);
        let got: Vec<(&str, &MetricValue)> =
            events.iter().map(|e| (e.name.as_str(), &e.value)).collect();
        assert_eq!(
            got,
            [
                ("correctness", &MetricValue::Number(0.8)),
                ("tone", &MetricValue::Text("friendly".into())),
                ("relevance", &MetricValue::Text("relevant".into())),
            ]
        );
        assert_eq!(events[0].comment.as_deref(), Some("mostly right"));
        assert_eq!(events[0].source.as_deref(), Some(EVALUATOR_SOURCE));
        assert_eq!(events[0].span_id.as_deref(), Some("00000000000000aa"));
        assert_eq!(events[0].time_unix_nano, 9);
        assert_eq!(events[2].time_unix_nano, 5);
        // Stable ids: the same span gives the same events.
        assert_eq!(from_span(&span), events);
        assert_ne!(events[0].id, events[1].id);
    }

    #[test]
    fn evaluation_log_records_become_events() {
        let mut record = LogRecord {
            trace_id: Some(RUN.into()),
            event_name: Some(GENAI_EVALUATION_EVENT.into()),
            time_unix_nano: 3,
            ..LogRecord::default()
        };
        record
            .attributes
            .insert("gen_ai.evaluation.name".into(), json!("faithfulness"));
        record
            .attributes
            .insert("gen_ai.evaluation.score.value".into(), json!(0.4));
        let e = from_log(&record, "x".into()).unwrap();
        assert_eq!(
            (e.name.as_str(), &e.value),
            ("faithfulness", &MetricValue::Number(0.4))
        );
        assert_eq!(e.run_id, RUN);
        record.trace_id = None;
        assert!(from_log(&record, "x".into()).is_none());
        record.trace_id = Some(RUN.into());
        record.event_name = Some("something.else".into());
        assert!(from_log(&record, "x".into()).is_none());
    }
}
