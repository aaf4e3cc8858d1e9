//! A seeded stream of agent runs as OTLP protobuf requests.
//!
//! Each run is an agent root with chat and tool spans alternating under it, the way a tool-using
//! agent works: the model answers with a tool call, the tool runs, the model reads the result.
//! Chat spans carry the GenAI input and output messages, and the input grows turn by turn with
//! the conversation, windowed to stay within [`MAX_INPUT_BYTES`] like an agent trimming its
//! context. Spans are exported in the order they end (children before their root), in requests
//! of [`SPANS_PER_REQUEST`], so a run may straddle requests as it does with a batching exporter.
//!
//! Which runs are long, fail or mention the rare word is fixed by their position, so that even a
//! small load has each shape; everything else but the clock is drawn from one seeded generator,
//! so the same seed and start time give byte-identical requests.

use std::collections::VecDeque;

use bytes::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value, AnyValue, ArrayValue, InstrumentationScope, KeyValue,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    span::{Event, SpanKind},
    status::StatusCode,
    ResourceSpans, ScopeSpans, Span, Status,
};
use prost::Message;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

pub const SPANS_PER_REQUEST: usize = 100;
/// Chat inputs are trimmed to this many bytes of messages (oldest turns first, the task kept).
pub const MAX_INPUT_BYTES: usize = 3_000;
/// One run in this many is a long agent session.
pub const LONG_RUN_EVERY: u64 = 100;
/// Tool rounds of a long run: 2 spans each, plus the final answer and the root.
const LONG_RUN_ROUNDS: usize = 150;
/// Spans of a long run.
pub const LONG_RUN_SPANS: usize = 2 * LONG_RUN_ROUNDS + 2;
/// One run in this many (3%) has a tool fail and ends in error.
pub const ERROR_RUN_EVERY: u64 = 33;
/// One run in this many (2%) mentions [`RARE_WORD`] in its task, for full-text search.
pub const RARE_WORD_EVERY: u64 = 50;
/// A word only those runs contain.
pub const RARE_WORD: &str = "chargeback";
/// Wall time between the starts of consecutive runs.
pub const RUN_SPACING_NANOS: u64 = 10 * SECOND;
pub const SERVICE_NAME: &str = "bench-agents";

const SECOND: u64 = 1_000_000_000;
const MS: u64 = 1_000_000;

pub const AGENTS: [&str; 6] = [
    "support_agent",
    "coding_agent",
    "research_agent",
    "billing_agent",
    "travel_agent",
    "data_agent",
];
/// (request model, provider).
pub const MODELS: [(&str, &str); 4] = [
    ("gpt-4o", "openai"),
    ("gpt-4o-mini", "openai"),
    ("claude-sonnet-4-5", "anthropic"),
    ("gemini-2.5-pro", "gcp.gemini"),
];
pub const TOOLS: [&str; 8] = [
    "search_docs",
    "read_file",
    "run_sql",
    "http_get",
    "lookup_order",
    "send_email",
    "calculator",
    "web_search",
];
pub const THREAD_POOL: u64 = 500;
pub const USER_POOL: u64 = 100;

const WORDS: [&str; 96] = [
    "account", "address", "agent", "answer", "api", "balance", "batch", "billing", "branch",
    "budget", "cache", "call", "card", "change", "check", "client", "code", "column", "config",
    "cost", "customer", "data", "database", "date", "delivery", "deploy", "detail", "document",
    "error", "estimate", "event", "field", "file", "filter", "flight", "function", "hotel",
    "index", "invoice", "issue", "item", "job", "key", "latency", "limit", "list", "log", "merge",
    "message", "method", "metric", "model", "module", "network", "note", "order", "owner",
    "package", "page", "payment", "plan", "policy", "price", "product", "query", "queue", "record",
    "refund", "region", "release", "report", "request", "result", "route", "row", "schema",
    "search", "server", "service", "session", "shipment", "source", "status", "step", "summary",
    "table", "task", "test", "ticket", "total", "trace", "update", "user", "value", "version",
    "window",
];
const FILLER: [&str; 16] = [
    "the", "a", "for", "with", "from", "and", "then", "after", "before", "which", "that", "this",
    "is", "was", "should", "could",
];

/// What a run holds, for the queries to pick from and check answers against.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    /// 32 lowercase hex characters: the OTLP trace id, Lemma's run id.
    pub trace_id: String,
    /// 16 hex characters.
    pub root_span_id: String,
    pub agent: &'static str,
    pub model: &'static str,
    pub thread: String,
    pub user: String,
    pub error: bool,
    pub spans: usize,
    pub long: bool,
    pub rare_word: bool,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
    /// Input and output tokens of its chat spans.
    pub tokens: u64,
}

/// One request ready to send.
#[derive(Debug, Clone)]
pub struct Batch {
    pub body: Bytes,
    pub spans: usize,
    /// Runs whose root is in this request (their last span to be exported).
    pub completed: Vec<RunInfo>,
}

/// The seeded generator: runs one after another, cut into requests.
pub struct Workload {
    rng: StdRng,
    start_unix_nano: u64,
    next_run: u64,
    pending: VecDeque<(Span, Option<RunInfo>)>,
}

impl Workload {
    /// Run `i` starts at `start_unix_nano + i * RUN_SPACING_NANOS`.
    pub fn new(seed: u64, start_unix_nano: u64) -> Workload {
        Workload {
            rng: StdRng::seed_from_u64(seed),
            start_unix_nano,
            next_run: 0,
            pending: VecDeque::new(),
        }
    }

    /// How long before now a workload of `spans` spans should start so that its runs all
    /// end in the past.
    pub fn time_span_nanos(spans: u64) -> u64 {
        (spans / 18 + 1) * RUN_SPACING_NANOS + 3600 * SECOND
    }

    /// The next request of exactly [`SPANS_PER_REQUEST`] spans.
    pub fn next_batch(&mut self) -> Batch {
        while self.pending.len() < SPANS_PER_REQUEST {
            let (spans, info) = self.next_run();
            let last = spans.len() - 1;
            for (i, span) in spans.into_iter().enumerate() {
                let done = (i == last).then(|| info.clone());
                self.pending.push_back((span, done));
            }
        }
        self.drain(SPANS_PER_REQUEST)
    }

    fn drain(&mut self, n: usize) -> Batch {
        let (spans, completed): (Vec<Span>, Vec<Option<RunInfo>>) = self.pending.drain(..n).unzip();
        Batch {
            spans: spans.len(),
            body: request(spans).encode_to_vec().into(),
            completed: completed.into_iter().flatten().collect(),
        }
    }

    /// Requests holding at least `spans` spans and ending on a run's end, so that every run
    /// they start is complete: full requests, then one with the rest.
    pub fn batches(&mut self, spans: u64) -> Vec<Batch> {
        let mut out = Vec::new();
        let mut emitted = 0;
        while emitted < spans || !self.pending.is_empty() {
            let batch = if emitted < spans {
                self.next_batch()
            } else {
                self.drain(self.pending.len().min(SPANS_PER_REQUEST))
            };
            emitted += batch.spans as u64;
            out.push(batch);
        }
        out
    }

    /// The next run's spans in export order (root last) and its summary.
    pub fn next_run(&mut self) -> (Vec<Span>, RunInfo) {
        let index = self.next_run;
        self.next_run += 1;
        let start = self.start_unix_nano + index * RUN_SPACING_NANOS;
        let long = index % LONG_RUN_EVERY == 7;
        let rounds = if long {
            LONG_RUN_ROUNDS
        } else {
            self.rng.random_range(8..=11)
        };
        let plan = RunPlan {
            trace_id: nonzero(&mut self.rng),
            agent: AGENTS[self.rng.random_range(0..AGENTS.len())],
            model: MODELS[self.rng.random_range(0..MODELS.len())],
            thread: format!("thread-{:04}", self.rng.random_range(0..THREAD_POOL)),
            user: format!("user-{:03}", self.rng.random_range(0..USER_POOL)),
            rounds,
            fails_at: (index % ERROR_RUN_EVERY == 20).then(|| self.rng.random_range(0..rounds)),
            rare_word: index % RARE_WORD_EVERY == 3,
            long,
            start,
        };
        build_run(&mut self.rng, &plan)
    }
}

pub(crate) struct RunPlan {
    pub(crate) trace_id: [u8; 16],
    pub(crate) agent: &'static str,
    pub(crate) model: (&'static str, &'static str),
    pub(crate) thread: String,
    pub(crate) user: String,
    pub(crate) rounds: usize,
    /// The tool round whose tool fails, ending the run.
    pub(crate) fails_at: Option<usize>,
    pub(crate) rare_word: bool,
    pub(crate) long: bool,
    pub(crate) start: u64,
}

/// The spans of one run, children in the order they end, then the root.
/// A model's turn that calls a random tool: the call and the assistant message carrying it.
pub(crate) struct ToolCall {
    pub tool: &'static str,
    pub call_id: String,
    pub args: Value,
    pub reply: Value,
}

pub(crate) fn tool_call(rng: &mut StdRng) -> ToolCall {
    let tool = TOOLS[rng.random_range(0..TOOLS.len())];
    let call_id = format!("call_{}", hex(&nonzero::<8>(rng)));
    let args = tool_args(rng, tool);
    let say = sentence(rng, 8, 24);
    let reply = json!({"role": "assistant", "finish_reason": "tool_call", "parts": [
        {"type": "text", "content": say},
        {"type": "tool_call", "id": call_id, "name": tool, "arguments": args},
    ]});
    ToolCall {
        tool,
        call_id,
        args,
        reply,
    }
}

/// The message carrying a tool's result back to the model.
pub(crate) fn tool_response(call_id: &str, result: Value) -> Value {
    json!({"role": "tool", "parts": [
        {"type": "tool_call_response", "id": call_id, "response": result},
    ]})
}

/// The model's closing answer: its text and the assistant message.
pub(crate) fn final_answer(rng: &mut StdRng) -> (String, Value) {
    let answer = paragraph(rng, 2, 4);
    let reply = json!({"role": "assistant", "finish_reason": "stop", "parts": [
        {"type": "text", "content": answer},
    ]});
    (answer, reply)
}

fn build_run(rng: &mut StdRng, plan: &RunPlan) -> (Vec<Span>, RunInfo) {
    let root_id: [u8; 8] = nonzero(rng);
    let task = task_text(rng, plan.rare_word);
    let mut history = vec![json!({"role": "user", "parts": [{"type": "text", "content": task}]})];
    let mut spans = Vec::new();
    let mut tokens = 0;
    let mut t = plan.start + 20 * MS;
    let mut failure = None;
    for round in 0..plan.rounds {
        let ToolCall {
            tool,
            call_id,
            args,
            reply,
        } = tool_call(rng);
        let input = window(&history, MAX_INPUT_BYTES);
        let (chat, used, end) = chat_span(rng, plan, &root_id, &input, &reply, t);
        spans.push(chat);
        tokens += used;
        history.push(reply);
        t = end + 5 * MS;
        let fails = plan.fails_at == Some(round);
        let result = tool_result(rng, tool);
        let (tool_span, end) = tool_span(
            rng, plan, &root_id, tool, &call_id, &args, &result, fails, t,
        );
        spans.push(tool_span);
        t = end + 5 * MS;
        if fails {
            failure = Some(format!("tool {tool} failed: upstream timed out"));
            break;
        }
        history.push(tool_response(&call_id, result));
    }
    let output = if failure.is_none() {
        let (answer, reply) = final_answer(rng);
        let input = window(&history, MAX_INPUT_BYTES);
        let (chat, used, end) = chat_span(rng, plan, &root_id, &input, &reply, t);
        spans.push(chat);
        tokens += used;
        t = end + 5 * MS;
        Some(answer)
    } else {
        None
    };
    let end = t + 10 * MS;
    let mut attributes = vec![
        kv("gen_ai.operation.name", "invoke_agent"),
        kv("gen_ai.agent.name", plan.agent),
        kv("gen_ai.provider.name", plan.model.1),
        kv("gen_ai.conversation.id", &plan.thread),
        kv("user.id", &plan.user),
        kv("ai.agent.input", &task),
        kv("deployment.environment.name", "production"),
    ];
    if let Some(output) = &output {
        attributes.push(kv("ai.agent.output", output));
    }
    spans.push(Span {
        trace_id: plan.trace_id.to_vec(),
        span_id: root_id.to_vec(),
        name: format!("invoke_agent {}", plan.agent),
        kind: SpanKind::Internal as i32,
        start_time_unix_nano: plan.start,
        end_time_unix_nano: end,
        attributes,
        status: Some(match &failure {
            Some(message) => Status {
                code: StatusCode::Error as i32,
                message: message.clone(),
            },
            None => Status {
                code: StatusCode::Ok as i32,
                message: String::new(),
            },
        }),
        ..Default::default()
    });
    let info = RunInfo {
        trace_id: hex(&plan.trace_id),
        root_span_id: hex(&root_id),
        agent: plan.agent,
        model: plan.model.0,
        thread: plan.thread.clone(),
        user: plan.user.clone(),
        error: failure.is_some(),
        spans: spans.len(),
        long: plan.long,
        rare_word: plan.rare_word,
        start_unix_nano: plan.start,
        end_unix_nano: end,
        tokens,
    };
    (spans, info)
}

/// A chat span answering `input` (the messages sent, as JSON) with `reply`; returns it, its
/// tokens and its end.
pub(crate) fn chat_span(
    rng: &mut StdRng,
    plan: &RunPlan,
    parent: &[u8; 8],
    input: &str,
    reply: &Value,
    start: u64,
) -> (Span, u64, u64) {
    let output = json!([reply]).to_string();
    let input_tokens = (input.len() / 4) as i64 + 350;
    let output_tokens = (output.len() / 4) as i64;
    let end = start + (300 + rng.random_range(0..900) + output_tokens as u64 * 10) * MS;
    let (model, provider) = plan.model;
    let finish = reply["finish_reason"].as_str().unwrap_or("stop");
    let span = Span {
        trace_id: plan.trace_id.to_vec(),
        span_id: nonzero::<8>(rng).to_vec(),
        parent_span_id: parent.to_vec(),
        name: format!("chat {model}"),
        kind: SpanKind::Client as i32,
        start_time_unix_nano: start,
        end_time_unix_nano: end,
        attributes: vec![
            kv("gen_ai.operation.name", "chat"),
            kv("gen_ai.provider.name", provider),
            kv("gen_ai.request.model", model),
            kv("gen_ai.response.model", model),
            kv(
                "gen_ai.response.id",
                &format!("resp_{}", hex(&nonzero::<12>(rng))),
            ),
            KeyValue {
                key: "gen_ai.response.finish_reasons".into(),
                value: Some(AnyValue {
                    value: Some(any_value::Value::ArrayValue(ArrayValue {
                        values: vec![string(finish)],
                    })),
                }),
                ..Default::default()
            },
            int("gen_ai.usage.input_tokens", input_tokens),
            int("gen_ai.usage.output_tokens", output_tokens),
            kv("gen_ai.input.messages", input),
            kv("gen_ai.output.messages", &output),
        ],
        status: Some(Status {
            code: StatusCode::Unset as i32,
            message: String::new(),
        }),
        ..Default::default()
    };
    (span, (input_tokens + output_tokens) as u64, end)
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn tool_span(
    rng: &mut StdRng,
    plan: &RunPlan,
    parent: &[u8; 8],
    tool: &str,
    call_id: &str,
    args: &Value,
    result: &Value,
    fails: bool,
    start: u64,
) -> (Span, u64) {
    let end = start + rng.random_range(5..800) * MS;
    let mut attributes = vec![
        kv("gen_ai.operation.name", "execute_tool"),
        kv("gen_ai.tool.name", tool),
        kv("gen_ai.tool.type", "function"),
        kv("gen_ai.tool.call.id", call_id),
        kv("gen_ai.tool.call.arguments", &args.to_string()),
    ];
    let (status, events) = if fails {
        attributes.push(kv("error.type", "TimeoutError"));
        let event = Event {
            time_unix_nano: end,
            name: "exception".into(),
            attributes: vec![
                kv("exception.type", "TimeoutError"),
                kv("exception.message", "upstream timed out after 30 s"),
                kv(
                    "exception.stacktrace",
                    &format!("Traceback (most recent call last):\n  File \"tools/{tool}.py\", line 88, in run\nTimeoutError: upstream timed out after 30 s"),
                ),
            ],
            dropped_attributes_count: 0,
        };
        let status = Status {
            code: StatusCode::Error as i32,
            message: "upstream timed out".into(),
        };
        (status, vec![event])
    } else {
        attributes.push(kv("gen_ai.tool.call.result", &result.to_string()));
        (
            Status {
                code: StatusCode::Unset as i32,
                message: String::new(),
            },
            Vec::new(),
        )
    };
    let span = Span {
        trace_id: plan.trace_id.to_vec(),
        span_id: nonzero::<8>(rng).to_vec(),
        parent_span_id: parent.to_vec(),
        name: format!("execute_tool {tool}"),
        kind: SpanKind::Internal as i32,
        start_time_unix_nano: start,
        end_time_unix_nano: end,
        attributes,
        events,
        status: Some(status),
        ..Default::default()
    };
    (span, end)
}

/// The messages as sent: all of them, or the task and the most recent ones that fit in
/// `max_bytes`, never starting on a tool result whose call was cut off.
pub fn window(history: &[Value], max_bytes: usize) -> String {
    let size = |m: &Value| m.to_string().len() + 1;
    let mut budget = max_bytes.saturating_sub(size(&history[0]) + 2);
    let mut from = history.len();
    while from > 1 && size(&history[from - 1]) <= budget {
        budget -= size(&history[from - 1]);
        from -= 1;
    }
    while from < history.len() && history[from]["role"] == "tool" {
        from += 1;
    }
    let mut sent = vec![history[0].clone()];
    sent.extend_from_slice(&history[from..]);
    Value::Array(sent).to_string()
}

pub(crate) fn task_text(rng: &mut StdRng, rare_word: bool) -> String {
    let mut text = paragraph(rng, 8, 12);
    if rare_word {
        text.push_str(&format!(
            " The customer opened a {RARE_WORD} on the last payment."
        ));
    }
    text
}

pub(crate) fn tool_args(rng: &mut StdRng, tool: &str) -> Value {
    match tool {
        "search_docs" | "web_search" => json!({"query": sentence(rng, 3, 8), "top_k": 5}),
        "read_file" => json!({"path": format!("src/{}/{}.rs", word(rng), word(rng))}),
        "run_sql" => json!({"sql": format!(
            "SELECT {0}, count(*) FROM {1} WHERE {2} > ? GROUP BY {0} LIMIT 50",
            word(rng), word(rng), word(rng)), "params": [rng.random_range(1..1000)]}),
        "http_get" => {
            json!({"url": format!("https://api.example.com/v2/{}/{}", word(rng), rng.random_range(1..99_999))})
        }
        "lookup_order" => json!({"order_id": format!("A-{}", rng.random_range(10_000..99_999))}),
        "send_email" => {
            json!({"to": format!("{}@example.com", word(rng)), "subject": sentence(rng, 3, 7), "body": sentence(rng, 20, 40)})
        }
        _ => {
            json!({"expression": format!("{} * {} + {}", rng.random_range(1..999), rng.random_range(1..99), rng.random_range(1..9999))})
        }
    }
}

pub(crate) fn tool_result(rng: &mut StdRng, tool: &str) -> Value {
    match tool {
        "search_docs" | "web_search" => Value::Array(
            (0..rng.random_range(2..5))
                .map(|i| json!({"rank": i + 1, "title": sentence(rng, 3, 6), "snippet": sentence(rng, 15, 35)}))
                .collect(),
        ),
        "read_file" => json!({"content": paragraph(rng, 2, 6), "lines": rng.random_range(20..400)}),
        "run_sql" => json!({"rows": (0..rng.random_range(3..9))
            .map(|_| json!([word(rng), rng.random_range(0..10_000)]))
            .collect::<Vec<_>>(), "elapsed_ms": rng.random_range(1..300)}),
        "lookup_order" => json!({"status": word(rng), "items": rng.random_range(1..6),
            "total": rng.random_range(500..50_000) as f64 / 100.0, "note": sentence(rng, 8, 20)}),
        "send_email" => json!({"sent": true, "message_id": hex(&nonzero::<8>(rng))}),
        _ => json!({"status": 200, "body": sentence(rng, 10, 40)}),
    }
}

fn word(rng: &mut StdRng) -> &'static str {
    WORDS[rng.random_range(0..WORDS.len())]
}

/// Between `min` and `max` words, a third of them filler, ending with a full stop.
pub(crate) fn sentence(rng: &mut StdRng, min: usize, max: usize) -> String {
    let n = rng.random_range(min..=max);
    let words: Vec<&str> = (0..n)
        .map(|_| {
            if rng.random_range(0..3) == 0 {
                FILLER[rng.random_range(0..FILLER.len())]
            } else {
                word(rng)
            }
        })
        .collect();
    let mut s = words.join(" ");
    if let Some(first) = s.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    s.push('.');
    s
}

pub(crate) fn paragraph(rng: &mut StdRng, min: usize, max: usize) -> String {
    let n = rng.random_range(min..=max);
    (0..n)
        .map(|_| sentence(rng, 8, 18))
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn request(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    kv("service.name", SERVICE_NAME),
                    kv("service.version", "1.4.2"),
                    kv("telemetry.sdk.language", "python"),
                ],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "bench.agents".into(),
                    version: "1.4.2".into(),
                    ..Default::default()
                }),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn string(s: &str) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::StringValue(s.to_string())),
    }
}

pub(crate) fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(string(value)),
        ..Default::default()
    }
}

fn int(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(value)),
        }),
        ..Default::default()
    }
}

/// OTLP ids must not be all zeros.
pub(crate) fn nonzero<const N: usize>(rng: &mut StdRng) -> [u8; N] {
    loop {
        let id: [u8; N] = rng.random();
        if id.iter().any(|&b| b != 0) {
            return id;
        }
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_700_000_000 * SECOND;

    fn spans_of(batch: &Batch) -> Vec<Span> {
        let req = ExportTraceServiceRequest::decode(&batch.body[..]).unwrap();
        req.resource_spans[0].scope_spans[0].spans.clone()
    }

    fn attr<'a>(span: &'a Span, key: &str) -> Option<&'a any_value::Value> {
        span.attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.as_ref()?.value.as_ref())
    }

    fn text<'a>(span: &'a Span, key: &str) -> &'a str {
        match attr(span, key) {
            Some(any_value::Value::StringValue(s)) => s,
            other => panic!("{key}: {other:?}"),
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes() {
        let bodies = |seed| -> Vec<Bytes> {
            Workload::new(seed, T0)
                .batches(1_000)
                .into_iter()
                .map(|b| b.body)
                .collect()
        };
        let (a, b, c) = (bodies(7), bodies(7), bodies(8));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn requests_carry_100_spans_and_every_run_completes_once() {
        let mut w = Workload::new(1, T0);
        let mut runs = Vec::new();
        let mut spans = 0;
        for round in [20_000, 1_000] {
            let batches = w.batches(round);
            let (last, full) = batches.split_last().unwrap();
            for b in full {
                assert_eq!(b.spans, SPANS_PER_REQUEST);
                assert_eq!(spans_of(b).len(), SPANS_PER_REQUEST);
            }
            assert_eq!(spans_of(last).len(), last.spans);
            assert!(
                spans_of(last).last().unwrap().parent_span_id.is_empty(),
                "ends on a root"
            );
            spans += batches.iter().map(|b| b.spans).sum::<usize>();
            runs.extend(batches.iter().flat_map(|b| b.completed.iter().cloned()));
        }
        assert_eq!(
            runs.iter().map(|r| r.spans).sum::<usize>(),
            spans,
            "every run is whole"
        );
        assert!(spans >= 21_000);
        let mut ids: Vec<&str> = runs.iter().map(|r| r.trace_id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), runs.len());
        assert!(runs.iter().any(|r| r.long && r.spans == LONG_RUN_SPANS));
        assert!(runs
            .iter()
            .filter(|r| !r.long)
            .all(|r| r.error || (18..=24).contains(&r.spans)));
        assert!(runs.iter().any(|r| r.spans == 20));
        let errors = runs.iter().filter(|r| r.error).count() as f64 / runs.len() as f64;
        assert!((0.025..0.035).contains(&errors), "error share {errors}");
        assert!(runs.iter().any(|r| r.rare_word));
        let agents: std::collections::HashSet<_> = runs.iter().map(|r| r.agent).collect();
        assert_eq!(agents.len(), AGENTS.len());
    }

    #[test]
    fn a_run_is_a_tree_under_its_root_which_is_exported_last() {
        let mut w = Workload::new(3, T0);
        let (spans, info) = w.next_run();
        assert_eq!(spans.len(), info.spans);
        let root = spans.last().unwrap();
        assert!(root.parent_span_id.is_empty());
        assert_eq!(hex(&root.span_id), info.root_span_id);
        assert_eq!(hex(&root.trace_id), info.trace_id);
        assert_eq!(text(root, "gen_ai.agent.name"), info.agent);
        assert_eq!(text(root, "gen_ai.conversation.id"), info.thread);
        for (i, s) in spans[..spans.len() - 1].iter().enumerate() {
            assert_eq!(s.parent_span_id, root.span_id);
            assert!(s.start_time_unix_nano >= root.start_time_unix_nano);
            assert!(s.end_time_unix_nano <= root.end_time_unix_nano);
            let expected = if i % 2 == 0 { "chat" } else { "execute_tool" };
            assert_eq!(text(s, "gen_ai.operation.name"), expected);
        }
        assert_eq!(info.end_unix_nano, root.end_time_unix_nano);
    }

    #[test]
    fn chat_inputs_grow_turn_by_turn_within_the_window() {
        let mut w = Workload::new(5, T0);
        let (spans, info) = (0..8).map(|_| w.next_run()).find(|(_, i)| i.long).unwrap();
        assert!(info.long);
        let sizes: Vec<usize> = spans
            .iter()
            .filter(|s| s.name.starts_with("chat "))
            .map(|s| text(s, "gen_ai.input.messages").len())
            .collect();
        assert!(sizes[1] > sizes[0] && sizes[2] > sizes[1], "{sizes:?}");
        assert!(
            sizes.iter().all(|&n| (500..=MAX_INPUT_BYTES).contains(&n)),
            "{sizes:?}"
        );
        assert!(
            sizes[3..].iter().all(|&n| n > 1_500),
            "a long run fills its window: {sizes:?}"
        );
        for s in spans.iter().filter(|s| s.name.starts_with("chat ")) {
            let messages: Value = serde_json::from_str(text(s, "gen_ai.input.messages")).unwrap();
            assert_eq!(messages[0]["role"], "user", "the task is always sent");
            assert_ne!(
                messages[1]["role"], "tool",
                "never a result without its call"
            );
        }
    }

    #[test]
    fn an_error_run_ends_on_its_failed_tool() {
        let mut w = Workload::new(11, T0);
        let (spans, info) = (0..400)
            .map(|_| w.next_run())
            .find(|(_, i)| i.error)
            .unwrap();
        let root = spans.last().unwrap();
        assert_eq!(root.status.as_ref().unwrap().code, StatusCode::Error as i32);
        let failed = &spans[spans.len() - 2];
        assert!(failed.name.starts_with("execute_tool "));
        assert_eq!(
            failed.status.as_ref().unwrap().code,
            StatusCode::Error as i32
        );
        assert_eq!(failed.events[0].name, "exception");
        assert!(attr(root, "ai.agent.output").is_none());
        assert!(info.error);
    }

    #[test]
    fn window_keeps_the_task_and_skips_orphan_results() {
        let msg =
            |role: &str, n: usize| json!({"role": role, "parts": [{"content": "x".repeat(n)}]});
        let history = vec![
            msg("user", 100),
            msg("assistant", 100),
            msg("tool", 100),
            msg("assistant", 100),
            msg("tool", 100),
        ];
        let all: Value = serde_json::from_str(&window(&history, 10_000)).unwrap();
        assert_eq!(all.as_array().unwrap().len(), 5);
        let cut: Value = serde_json::from_str(&window(&history, 300)).unwrap();
        let roles: Vec<&str> = cut
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["role"].as_str().unwrap())
            .collect();
        assert_eq!(roles, ["user"]);
        let cut: Value = serde_json::from_str(&window(&history, 460)).unwrap();
        let roles: Vec<&str> = cut
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["role"].as_str().unwrap())
            .collect();
        assert_eq!(roles, ["user", "assistant", "tool"]);
    }
}
