//! OTLP decoding and normalisation on arbitrary bytes and on mutations of the recorded requests
//! of `shared/fixtures`: decoding is total (a request or an error naming the encoding), and
//! whatever decodes goes through what ingest does before storing (extraction, normalisation,
//! pricing, run summaries, log records joined to spans) without panicking and keeping its
//! promises: every span is kept or rejected, raw attributes are untouched, normalising twice
//! changes nothing, a run's summary does not depend on the order of its spans, and the JSON and
//! protobuf forms of a request give the same spans.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::LazyLock;

use lemma_core::otlp::{
    decode_logs_request, decode_trace_request, extract_logs, extract_spans, DecodeError, Encoding,
};
use lemma_core::pricing::{price_span, PriceTable};
use lemma_core::run::{summarize, SpanDigest};
use lemma_core::{logs, semconv, Span};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use proptest::prelude::*;
use proptest::sample::select;
use prost::Message;
use serde_json::{json, Map, Value};

// ---------------------------------------------------------------------------------------------
// The recorded requests
// ---------------------------------------------------------------------------------------------

/// One recorded request: its protobuf body (inflated) and its canonical OTLP/JSON form.
struct Fixture {
    name: String,
    protobuf: Vec<u8>,
    json: Value,
}

/// Every recorded request, and every attribute key they use (the keys each convention reads).
struct Fixtures {
    requests: Vec<Fixture>,
    keys: Vec<String>,
}

static FIXTURES: LazyLock<Fixtures> = LazyLock::new(load_fixtures);

fn fixtures_dir() -> PathBuf {
    std::env::var_os("LEMMA_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures")
        })
}

fn load_fixtures() -> Fixtures {
    let dir = fixtures_dir();
    let mut metas: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("fixtures {} missing: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .flat_map(|scenario| std::fs::read_dir(scenario).unwrap())
        .map(|f| f.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".meta.json"))
        .collect();
    metas.sort();
    let mut requests = Vec::new();
    for meta_path in metas {
        let meta: Value = serde_json::from_slice(&std::fs::read(&meta_path).unwrap()).unwrap();
        let folder = meta_path.parent().unwrap();
        let read = |field: &str| std::fs::read(folder.join(meta[field].as_str().unwrap())).unwrap();
        let mut body = read("body_file");
        if meta["content_encoding"] == "gzip" {
            let mut inflated = Vec::new();
            flate2::read::GzDecoder::new(&body[..])
                .read_to_end(&mut inflated)
                .unwrap();
            body = inflated;
        }
        let json: Value = serde_json::from_slice(&read("decoded_file")).unwrap();
        let protobuf = if meta["content_type"].as_str().unwrap().contains("json") {
            let request: ExportTraceServiceRequest = serde_json::from_slice(&body).unwrap();
            request.encode_to_vec()
        } else {
            body
        };
        let name = meta_path.strip_prefix(&dir).unwrap().display().to_string();
        requests.push(Fixture {
            name,
            protobuf,
            json,
        });
    }
    let mut keys: Vec<String> = requests
        .iter()
        .flat_map(|f| attribute_keys(&f.json))
        .collect();
    keys.sort();
    keys.dedup();
    assert!(requests.len() >= 7 && keys.len() >= 50, "fixtures missing");
    Fixtures { requests, keys }
}

fn attribute_keys(json: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(json, &mut |v| {
        if let Some(Value::Array(attributes)) = v.get("attributes") {
            out.extend(
                attributes
                    .iter()
                    .filter_map(|kv| kv["key"].as_str().map(str::to_string)),
            );
        }
    });
    out
}

fn walk(value: &Value, visit: &mut impl FnMut(&Value)) {
    visit(value);
    match value {
        Value::Array(items) => items.iter().for_each(|v| walk(v, visit)),
        Value::Object(map) => map.values().for_each(|v| walk(v, visit)),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// What ingest does with a decoded request, and what must hold
// ---------------------------------------------------------------------------------------------

/// Decoding either succeeds or says which encoding failed; it never panics.
fn check_error(e: &DecodeError, encoding: Encoding) -> Result<(), TestCaseError> {
    let message = e.to_string();
    let prefix = match encoding {
        Encoding::Protobuf => "invalid OTLP protobuf: ",
        Encoding::Json => "invalid OTLP JSON: ",
    };
    prop_assert!(
        message.starts_with(prefix) && message.len() > prefix.len(),
        "{}",
        message
    );
    Ok(())
}

/// Extraction, normalisation, pricing and run summaries, as ingest runs them; the spans as
/// JSON, as the store would keep them.
fn ingest_spans(request: ExportTraceServiceRequest) -> Result<Vec<Value>, TestCaseError> {
    let sent: usize = request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum();
    let extracted = extract_spans(request);
    prop_assert_eq!(extracted.spans.len() + extracted.rejected as usize, sent);
    prop_assert!(extracted.rejections.len() <= 10);
    prop_assert_eq!(extracted.rejections.is_empty(), extracted.rejected == 0);
    let mut runs: BTreeMap<String, Vec<SpanDigest>> = BTreeMap::new();
    let mut out = Vec::new();
    for mut span in extracted.spans {
        prop_assert!(
            is_id(&span.trace_id, 32) && is_id(&span.span_id, 16),
            "{:?}",
            span
        );
        let raw = (
            span.attributes.clone(),
            span.resource.clone(),
            span.events.clone(),
        );
        semconv::normalize(&mut span);
        prop_assert_eq!(
            &raw,
            &(
                span.attributes.clone(),
                span.resource.clone(),
                span.events.clone()
            ),
            "normalising changed the raw attributes"
        );
        let once = as_json(&span)?;
        semconv::normalize(&mut span);
        prop_assert_eq!(
            &once,
            &as_json(&span)?,
            "normalising twice changed the span"
        );
        price_span(&mut span, PriceTable::builtin());
        runs.entry(span.trace_id.clone())
            .or_default()
            .push(SpanDigest::from(&span));
        out.push(as_json(&span)?);
    }
    for (run_id, mut digests) in runs {
        // The store keeps one span per id, the first to arrive.
        let mut seen = std::collections::HashSet::new();
        digests.retain(|d| seen.insert(d.span_id.clone()));
        let summary = as_json(&summarize(&run_id, &digests))?;
        digests.reverse();
        prop_assert_eq!(
            &summary,
            &as_json(&summarize(&run_id, &digests))?,
            "the summary of run {} depends on the order of its spans",
            run_id
        );
    }
    Ok(out)
}

/// Extraction of log records, then joining them to a normalised span of the same ids.
fn ingest_logs(request: ExportLogsServiceRequest) -> Result<(), TestCaseError> {
    let sent: usize = request
        .resource_logs
        .iter()
        .flat_map(|r| &r.scope_logs)
        .map(|s| s.log_records.len())
        .sum();
    let extracted = extract_logs(request);
    prop_assert_eq!(extracted.spans.len() + extracted.rejected as usize, sent);
    let mut span = Span {
        trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
        span_id: "b7ad6b7169203331".into(),
        name: "chat".into(),
        ..Span::default()
    };
    semconv::normalize(&mut span);
    let records = extracted
        .spans
        .into_iter()
        .filter(|r| {
            r.trace_id.as_deref() == Some(&span.trace_id)
                && r.span_id.as_deref() == Some(&span.span_id)
        })
        .collect();
    logs::attach(&mut span, records);
    as_json(&span)?;
    Ok(())
}

fn is_id(id: &str, len: usize) -> bool {
    id.len() == len
        && id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        && id.bytes().any(|b| b != b'0')
}

/// A value as the JSON the store writes: serialising must not fail.
fn as_json(value: &impl serde::Serialize) -> Result<Value, TestCaseError> {
    serde_json::to_value(value).map_err(|e| TestCaseError::fail(format!("does not serialise: {e}")))
}

/// A trace request that decoded from JSON: through ingest, and again after a round trip
/// through protobuf, with the same spans.
fn ingest_both_ways(request: ExportTraceServiceRequest) -> Result<(), TestCaseError> {
    let protobuf = request.encode_to_vec();
    let spans = ingest_spans(request)?;
    let again = decode_trace_request(&protobuf, Encoding::Protobuf)
        .map_err(|e| TestCaseError::fail(format!("its own protobuf does not decode: {e}")))?;
    prop_assert_eq!(again.encode_to_vec(), protobuf);
    prop_assert_eq!(spans, ingest_spans(again)?);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------------------------

/// A change to a protobuf body, at offsets taken modulo its length.
#[derive(Debug, Clone)]
enum ByteEdit {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Truncate(usize),
    /// Copies `len` bytes from the first offset to the second: fields and messages repeat.
    Copy(usize, usize, usize),
}

fn byte_edit() -> impl Strategy<Value = ByteEdit> {
    prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(at, bits)| ByteEdit::Flip(at, bits)),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, bytes)| ByteEdit::Insert(at, bytes)),
        (any::<usize>(), 1..64usize).prop_map(|(at, n)| ByteEdit::Delete(at, n)),
        any::<usize>().prop_map(ByteEdit::Truncate),
        (any::<usize>(), any::<usize>(), 1..256usize)
            .prop_map(|(from, to, len)| ByteEdit::Copy(from, to, len)),
    ]
}

fn apply_bytes(mut body: Vec<u8>, edits: &[ByteEdit]) -> Vec<u8> {
    for edit in edits {
        let at = |i: usize, body: &Vec<u8>| i % (body.len() + 1);
        match edit {
            ByteEdit::Flip(i, bits) => {
                if !body.is_empty() {
                    let i = i % body.len();
                    body[i] ^= bits;
                }
            }
            ByteEdit::Insert(i, bytes) => {
                let i = at(*i, &body);
                body.splice(i..i, bytes.iter().copied());
            }
            ByteEdit::Delete(i, n) => {
                let i = at(*i, &body);
                body.drain(i..(i + n).min(body.len()));
            }
            ByteEdit::Truncate(i) => body.truncate(at(*i, &body)),
            ByteEdit::Copy(from, to, len) => {
                let from = at(*from, &body);
                let slice = body[from..(from + len).min(body.len())].to_vec();
                let to = at(*to, &body);
                body.splice(to..to, slice);
            }
        }
    }
    body
}

/// A change to a request's OTLP/JSON form. Indexes pick a node (in pre-order), a span or an
/// attribute key of the fixtures, modulo how many there are.
#[derive(Debug, Clone)]
enum JsonEdit {
    /// The node becomes this value.
    Replace(usize, Value),
    /// The node leaves its object or array.
    Remove(usize),
    /// An array node's items repeat.
    Repeat(usize, usize),
    /// A span gets an attribute (one the fixtures use) with this OTLP value.
    Attribute(usize, usize, Value),
}

/// Object keys OTLP/JSON and the conventions' message payloads use.
const KEYS: &[&str] = &[
    "resourceSpans",
    "scopeSpans",
    "spans",
    "resource",
    "scope",
    "attributes",
    "key",
    "value",
    "stringValue",
    "intValue",
    "doubleValue",
    "boolValue",
    "bytesValue",
    "arrayValue",
    "kvlistValue",
    "values",
    "traceId",
    "spanId",
    "parentSpanId",
    "name",
    "kind",
    "startTimeUnixNano",
    "endTimeUnixNano",
    "events",
    "links",
    "status",
    "code",
    "message",
    "timeUnixNano",
    "role",
    "content",
    "parts",
    "type",
    "text",
    "tool_calls",
    "function",
    "arguments",
    "id",
    "tool_call_id",
    "finish_reason",
    "messages",
    "input",
    "output",
    "usage",
    "prompt_tokens",
    "completion_tokens",
    "input_tokens",
    "output_tokens",
    "response",
];

/// Strings: words the conventions look for, ids of every length, numbers as text, JSON
/// fragments and anything else.
fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        select(vec![
            "user",
            "assistant",
            "system",
            "tool",
            "text",
            "tool_call",
            "tool_call_response",
            "invoke_agent",
            "chat",
            "execute_tool",
            "LLM",
            "AGENT",
            "TOOL",
            "CHAIN",
            "gpt-4o",
            "openai",
            "0",
            "-1",
            "1e400",
            "NaN",
            "null",
            "{",
            "[",
            "\"",
            "{\"role\":\"user\"}",
            "0af7651916cd43dd8448eb211c80319c",
            "b7ad6b7169203331",
            "",
        ])
        .prop_map(str::to_string),
        "[0-9a-f]{0,40}",
        any::<String>(),
    ]
}

/// Any JSON, leaning towards the shapes OTLP and the message conventions use.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        string().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::vec((select(KEYS), inner), 0..6).prop_map(|entries| {
                Value::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect::<Map<_, _>>(),
                )
            }),
        ]
    })
}

/// An OTLP `AnyValue` in JSON form, strings often holding JSON as the conventions send it.
fn any_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        string().prop_map(|s| json!({"stringValue": s})),
        json_value().prop_map(|v| json!({"stringValue": v.to_string()})),
        any::<i64>().prop_map(|i| json!({"intValue": i.to_string()})),
        any::<f64>().prop_map(|d| json!({"doubleValue": d})),
        any::<bool>().prop_map(|b| json!({"boolValue": b})),
        "[A-Za-z0-9+/]{0,12}={0,2}".prop_map(|b| json!({"bytesValue": b})),
        Just(json!({})),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4)
                .prop_map(|values| json!({"arrayValue": {"values": values}})),
            prop::collection::vec((string(), inner), 0..4).prop_map(|kvs| {
                let values: Vec<Value> = kvs
                    .into_iter()
                    .map(|(key, value)| json!({"key": key, "value": value}))
                    .collect();
                json!({"kvlistValue": {"values": values}})
            }),
        ]
    })
}

fn json_edit() -> impl Strategy<Value = JsonEdit> {
    prop_oneof![
        1 => (any::<usize>(), json_value()).prop_map(|(at, v)| JsonEdit::Replace(at, v)),
        1 => (any::<usize>(), any_value()).prop_map(|(at, v)| JsonEdit::Replace(at, v)),
        1 => any::<usize>().prop_map(JsonEdit::Remove),
        1 => (any::<usize>(), 2..20usize).prop_map(|(at, n)| JsonEdit::Repeat(at, n)),
        3 => (any::<usize>(), any::<usize>(), any_value())
            .prop_map(|(span, key, v)| JsonEdit::Attribute(span, key, v)),
    ]
}

/// JSON pointers of every node, in pre-order.
fn pointers(value: &Value) -> Vec<String> {
    fn go(value: &Value, at: String, out: &mut Vec<String>) {
        match value {
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    go(v, format!("{at}/{i}"), out);
                }
            }
            Value::Object(map) => {
                for (k, v) in map {
                    go(
                        v,
                        format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                        out,
                    );
                }
            }
            _ => {}
        }
        out.push(at);
    }
    let mut out = Vec::new();
    go(value, String::new(), &mut out);
    out
}

fn apply_json(mut request: Value, edits: &[JsonEdit]) -> Value {
    for edit in edits {
        let nodes = pointers(&request);
        let pick = |i: usize| nodes[i % nodes.len()].clone();
        match edit {
            JsonEdit::Replace(i, v) => {
                if let Some(node) = request.pointer_mut(&pick(*i)) {
                    *node = v.clone();
                }
            }
            JsonEdit::Remove(i) => {
                let at = pick(*i);
                let Some((parent, last)) = at.rsplit_once('/') else {
                    continue;
                };
                match request.pointer_mut(parent) {
                    Some(Value::Array(items)) => {
                        if let Ok(i) = last.parse::<usize>() {
                            items.remove(i);
                        }
                    }
                    Some(Value::Object(map)) => {
                        map.remove(&last.replace("~1", "/").replace("~0", "~"));
                    }
                    _ => {}
                }
            }
            JsonEdit::Repeat(i, n) => {
                if let Some(Value::Array(items)) = request.pointer_mut(&pick(*i)) {
                    let copies: Vec<Value> = items
                        .iter()
                        .cycle()
                        .take(items.len() * n)
                        .cloned()
                        .collect();
                    *items = copies;
                }
            }
            JsonEdit::Attribute(span, key, value) => {
                let spans: Vec<String> = nodes
                    .iter()
                    .filter(|p| {
                        p.rsplit_once('/').is_some_and(|(parent, i)| {
                            parent.ends_with("/spans") && i.parse::<usize>().is_ok()
                        })
                    })
                    .cloned()
                    .collect();
                if spans.is_empty() {
                    continue;
                }
                let keys = &FIXTURES.keys;
                let attribute = json!({"key": keys[key % keys.len()], "value": value});
                if let Some(Value::Object(span)) = request.pointer_mut(&spans[span % spans.len()]) {
                    match span.get_mut("attributes") {
                        Some(Value::Array(attributes)) => attributes.push(attribute),
                        _ => {
                            span.insert("attributes".into(), json!([attribute]));
                        }
                    }
                }
            }
        }
    }
    request
}

/// A logs request in OTLP/JSON: records naming the span `ingest_logs` joins them to (or ids
/// of any length), with the GenAI event names, bodies and attributes of any shape.
fn log_request() -> impl Strategy<Value = Value> {
    let id = |good: &'static str| {
        prop_oneof![
            3 => Just(good.to_string()),
            1 => "[0-9a-f]{0,34}",
        ]
    };
    let name = select(vec![
        "gen_ai.system.message",
        "gen_ai.user.message",
        "gen_ai.assistant.message",
        "gen_ai.tool.message",
        "gen_ai.choice",
        "gen_ai.client.inference.operation.details",
        "",
        "other",
    ]);
    let record = (
        id("0af7651916cd43dd8448eb211c80319c"),
        id("b7ad6b7169203331"),
        name,
        any_value(),
        prop::collection::vec((select(LOG_KEYS), any_value()), 0..4),
        any::<u64>(),
    )
        .prop_map(|(trace, span, name, body, attributes, time)| {
            let attributes: Vec<Value> = attributes
                .into_iter()
                .map(|(key, value)| json!({"key": key, "value": value}))
                .collect();
            json!({"traceId": trace, "spanId": span, "eventName": name, "body": body,
                   "attributes": attributes, "timeUnixNano": time.to_string()})
        });
    prop::collection::vec(record, 0..8)
        .prop_map(|records| json!({"resourceLogs": [{"scopeLogs": [{"logRecords": records}]}]}))
}

/// Attribute keys log records carry.
const LOG_KEYS: &[&str] = &[
    "event.name",
    "gen_ai.system",
    "gen_ai.provider.name",
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "content",
    "role",
    "index",
    "finish_reason",
];

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

/// The JSON and protobuf recordings of each request decode to the same request.
#[test]
fn every_fixture_decodes_the_same_from_json_and_protobuf() {
    for fixture in &FIXTURES.requests {
        let json = serde_json::to_vec(&fixture.json).unwrap();
        let from_json = decode_trace_request(&json, Encoding::Json).unwrap();
        let from_protobuf = decode_trace_request(&fixture.protobuf, Encoding::Protobuf).unwrap();
        assert_eq!(from_json, from_protobuf, "{}", fixture.name);
    }
}

proptest! {
    #![proptest_config(crate::config(256))]

    #[test]
    fn any_bytes_decode_or_fail_naming_the_encoding(
        body in prop::collection::vec(any::<u8>(), 0..256),
        logs in any::<bool>(),
        json in any::<bool>(),
    ) {
        let encoding = if json { Encoding::Json } else { Encoding::Protobuf };
        if logs {
            match decode_logs_request(&body, encoding) {
                Ok(request) => ingest_logs(request)?,
                Err(e) => check_error(&e, encoding)?,
            }
        } else {
            match decode_trace_request(&body, encoding) {
                Ok(request) => {
                    ingest_spans(request)?;
                }
                Err(e) => check_error(&e, encoding)?,
            }
        }
    }

    #[test]
    fn any_json_decodes_or_fails_naming_the_encoding(
        value in prop_oneof![json_value(), json_value().prop_map(|v| json!({"resourceSpans": v}))]
    ) {
        let body = serde_json::to_vec(&value).unwrap();
        match decode_trace_request(&body, Encoding::Json) {
            Ok(request) => ingest_both_ways(request)?,
            Err(e) => check_error(&e, Encoding::Json)?,
        }
    }

    #[test]
    fn log_records_of_any_shape_join_their_span(request in log_request()) {
        let body = serde_json::to_vec(&request).unwrap();
        match decode_logs_request(&body, Encoding::Json) {
            Ok(request) => ingest_logs(request)?,
            Err(e) => check_error(&e, Encoding::Json)?,
        }
    }
}

proptest! {
    // Whole recorded requests, some of 200 spans: fewer cases.
    #![proptest_config(crate::config(48))]

    #[test]
    fn edited_protobuf_requests_decode_or_fail_naming_the_encoding(
        fixture in any::<usize>(),
        edits in prop::collection::vec(byte_edit(), 1..6),
    ) {
        let fixtures = &FIXTURES.requests;
        let body = apply_bytes(fixtures[fixture % fixtures.len()].protobuf.clone(), &edits);
        match decode_trace_request(&body, Encoding::Protobuf) {
            Ok(request) => {
                ingest_spans(request)?;
            }
            Err(e) => check_error(&e, Encoding::Protobuf)?,
        }
    }

    #[test]
    fn edited_json_requests_decode_or_fail_naming_the_encoding(
        fixture in any::<usize>(),
        edits in prop::collection::vec(json_edit(), 1..6),
    ) {
        let fixtures = &FIXTURES.requests;
        let request = apply_json(fixtures[fixture % fixtures.len()].json.clone(), &edits);
        let body = serde_json::to_vec(&request).unwrap();
        match decode_trace_request(&body, Encoding::Json) {
            Ok(request) => ingest_both_ways(request)?,
            Err(e) => check_error(&e, Encoding::Json)?,
        }
    }
}
