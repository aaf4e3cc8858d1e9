//! One run growing long: a coding or research agent's session of thousands of spans, sent in
//! [`LONG_BATCH_SPANS`]-span requests by one exporter, to see whether committing a batch costs
//! more as the run it belongs to grows.
//!
//! The run is an agent root with chat and tool spans alternating under it. Each chat span's
//! input is the task and the [`HISTORY_MESSAGES`] latest messages (model turns with tool calls,
//! tool results), its output the model's next turn; tool spans carry arguments and results, as
//! in [`crate::workload`]. Spans are exported in the order they end, so the root comes last, in
//! the final request: until then the run has no root, as a long session has while it runs.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, status::StatusCode, Span, Status};
use prost::Message;
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::Serialize;
use serde_json::{json, Value};

use crate::procfs;
use crate::report::human;
use crate::stats::ms;
use crate::target::lemma::{Lemma, StoreKind};
use crate::target::Target;
use crate::workload::{
    chat_span, final_answer, hex, kv, nonzero, request, task_text, tool_call, tool_response,
    tool_result, tool_span, RunPlan, ToolCall, AGENTS, MODELS,
};

/// Spans per OTLP request (the OpenTelemetry SDKs' default export batch).
pub const LONG_BATCH_SPANS: usize = 512;
/// Messages a chat span sends besides the task.
pub const HISTORY_MESSAGES: usize = 12;

const MS: u64 = 1_000_000;
const SECOND: u64 = 1_000 * MS;

/// The requests of one run of `spans` spans, made one at a time.
pub struct LongRun {
    rng: StdRng,
    plan: RunPlan,
    root_id: [u8; 8],
    task: Value,
    history: VecDeque<Value>,
    /// The clock: where the next span starts.
    t: u64,
    rounds_left: usize,
    /// Spans made but not yet sent.
    pending: VecDeque<Span>,
    done: bool,
    pub trace_id: String,
    pub spans: usize,
}

impl LongRun {
    /// A run of `spans` spans (at least 4, rounded down to an even count) starting far enough
    /// before now to end in the past.
    pub fn new(seed: u64, spans: usize) -> LongRun {
        let mut rng = StdRng::seed_from_u64(seed);
        let rounds = spans.max(4).saturating_sub(2) / 2;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        // A round lasts under 3 s of the run's clock.
        let start = (now.saturating_sub(3 * rounds as u64 + 3600)) * SECOND;
        let plan = RunPlan {
            trace_id: nonzero(&mut rng),
            agent: AGENTS[1],
            model: MODELS[2],
            thread: "thread-long".into(),
            user: "user-long".into(),
            rounds,
            fails_at: None,
            rare_word: false,
            long: true,
            start,
        };
        let root_id = nonzero(&mut rng);
        let task = json!({"role": "user", "parts": [{"type": "text", "content": task_text(&mut rng, false)}]});
        LongRun {
            trace_id: hex(&plan.trace_id),
            spans: 2 * rounds + 2,
            rng,
            root_id,
            task,
            history: VecDeque::new(),
            t: start + 20 * MS,
            rounds_left: rounds,
            pending: VecDeque::new(),
            done: false,
            plan,
        }
    }

    /// The next request (its encoded body and span count), `None` once the root is sent.
    pub fn next_batch(&mut self) -> Option<(Vec<u8>, usize)> {
        while self.pending.len() < LONG_BATCH_SPANS && !self.done {
            self.next_round();
        }
        if self.pending.is_empty() {
            return None;
        }
        let n = self.pending.len().min(LONG_BATCH_SPANS);
        let spans: Vec<Span> = self.pending.drain(..n).collect();
        Some((request(spans).encode_to_vec(), n))
    }

    /// The messages a chat span sends now: the task and the latest turns.
    fn input(&self) -> String {
        let mut sent = vec![self.task.clone()];
        let skip = self
            .history
            .iter()
            .take_while(|m| m["role"] == "tool")
            .count();
        sent.extend(self.history.iter().skip(skip).cloned());
        Value::Array(sent).to_string()
    }

    fn remember(&mut self, message: Value) {
        self.history.push_back(message);
        while self.history.len() > HISTORY_MESSAGES {
            self.history.pop_front();
        }
    }

    /// One tool round (a chat span calling a tool, the tool span), or, when none is left, the
    /// final answer and the root.
    fn next_round(&mut self) {
        let rng = &mut self.rng;
        if self.rounds_left > 0 {
            self.rounds_left -= 1;
            let ToolCall {
                tool,
                call_id,
                args,
                reply,
            } = tool_call(rng);
            let input = self.input();
            let rng = &mut self.rng;
            let (chat, _, end) = chat_span(rng, &self.plan, &self.root_id, &input, &reply, self.t);
            self.pending.push_back(chat);
            let result = tool_result(rng, tool);
            let (tool_span, end) = tool_span(
                rng,
                &self.plan,
                &self.root_id,
                tool,
                &call_id,
                &args,
                &result,
                false,
                end + 5 * MS,
            );
            self.pending.push_back(tool_span);
            self.t = end + 5 * MS;
            self.remember(reply);
            self.remember(tool_response(&call_id, result));
            return;
        }
        let (answer, reply) = final_answer(rng);
        let input = self.input();
        let (chat, _, end) = chat_span(
            &mut self.rng,
            &self.plan,
            &self.root_id,
            &input,
            &reply,
            self.t,
        );
        self.pending.push_back(chat);
        let plan = &self.plan;
        self.pending.push_back(Span {
            trace_id: plan.trace_id.to_vec(),
            span_id: self.root_id.to_vec(),
            name: format!("invoke_agent {}", plan.agent),
            kind: SpanKind::Internal as i32,
            start_time_unix_nano: plan.start,
            end_time_unix_nano: end + 10 * MS,
            attributes: vec![
                kv("gen_ai.operation.name", "invoke_agent"),
                kv("gen_ai.agent.name", plan.agent),
                kv("gen_ai.provider.name", plan.model.1),
                kv("gen_ai.conversation.id", &plan.thread),
                kv("user.id", &plan.user),
                kv(
                    "ai.agent.input",
                    self.task["parts"][0]["content"].as_str().unwrap_or(""),
                ),
                kv("ai.agent.output", &answer),
                kv("deployment.environment.name", "production"),
            ],
            status: Some(Status {
                code: StatusCode::Ok as i32,
                message: String::new(),
            }),
            ..Default::default()
        });
        self.done = true;
    }
}

/// What sending one long run measured.
#[derive(Debug, Clone, Serialize)]
pub struct LongRunFigure {
    /// Spans the run was to have.
    pub size: usize,
    /// Spans acknowledged (fewer than `size` when the time budget ran out).
    pub spans: usize,
    pub requests: usize,
    pub bytes: u64,
    /// First request sent to last acknowledgement.
    pub seconds: f64,
    pub spans_per_second: f64,
    /// Mean request latency (send to acknowledgement, i.e. to commit) over the first, middle
    /// and last tenth of the requests, in ms.
    pub first_decile_ms: f64,
    pub middle_decile_ms: f64,
    pub last_decile_ms: f64,
    pub max_request_ms: f64,
    /// `GET /api/v1/runs/{id}` once everything is stored: median of 3, and the answer's size
    /// (none past the route's span limit).
    pub get_run_ms: Option<f64>,
    pub get_run_bytes: Option<u64>,
    /// `span_count` of the run as the API reports it.
    pub reported_spans: Option<u64>,
    /// Reading the run in windows.
    pub windows: crate::windows::WindowFigures,
    pub peak_rss_bytes: u64,
    pub cpu_seconds: f64,
}

/// Sends one run of `size` spans to a fresh `lemma serve` and measures it, giving up on
/// sending after `budget`.
pub async fn measure(
    lemma_bin: &std::path::Path,
    seed: u64,
    size: usize,
    budget: Duration,
    keep_data: bool,
) -> Result<LongRunFigure> {
    let lemma = Lemma::start(lemma_bin, keep_data, StoreKind::Sqlite)?;
    let client = reqwest::Client::new();
    let mut run = LongRun::new(seed, size);
    let mut latencies = Vec::new();
    let (mut spans, mut bytes) = (0, 0);
    let started = Instant::now();
    let mut sending = Duration::ZERO;
    while let Some((body, n)) = tokio::task::block_in_place(|| run.next_batch()) {
        if started.elapsed() > budget {
            eprintln!(
                "long run: time budget spent after {} of {} spans",
                human(spans as u64),
                human(run.spans as u64)
            );
            break;
        }
        bytes += body.len() as u64;
        let sent = Instant::now();
        loop {
            let resp = client
                .post(lemma.otlp_url())
                .headers(lemma.otlp_headers())
                .body(body.clone())
                .send()
                .await?;
            match resp.status().as_u16() {
                200 => break,
                429 | 503 => tokio::time::sleep(Duration::from_millis(50)).await,
                s => bail!("export: {s} {}", resp.text().await.unwrap_or_default()),
            }
        }
        let took = sent.elapsed();
        sending += took;
        latencies.push(took);
        spans += n;
        if latencies.len() % 20 == 0 {
            eprintln!(
                "long run: {} spans sent, last request {:.0} ms",
                human(spans as u64),
                ms(took)
            );
        }
    }
    let mean =
        |part: &[Duration]| part.iter().map(|d| ms(*d)).sum::<f64>() / part.len().max(1) as f64;
    let tenth = (latencies.len() / 10).max(1);
    let mid = latencies.len() / 2 - latencies.len().min(tenth) / 2;
    // The whole run is answered up to its span limit only; past it, the windows are read.
    let mut gets = Vec::new();
    let mut answer = None;
    let path = format!("/api/v1/runs/{}", run.trace_id);
    for _ in 0..3 {
        let asked = Instant::now();
        let (status, body) = lemma.get_status(&path).await?;
        gets.push(asked.elapsed());
        answer = (status == 200).then_some(body);
    }
    gets.sort();
    let reported_spans = answer.as_ref().and_then(|b| {
        let v: Value = serde_json::from_slice(b).ok()?;
        v["run"]["span_count"].as_u64()
    });
    let windows = crate::windows::measure(&lemma, &run.trace_id).await?;
    let usage = procfs::usage(lemma.server().pid());
    Ok(LongRunFigure {
        size,
        spans,
        requests: latencies.len(),
        bytes,
        seconds: sending.as_secs_f64(),
        spans_per_second: spans as f64 / sending.as_secs_f64().max(1e-9),
        first_decile_ms: mean(&latencies[..tenth.min(latencies.len())]),
        middle_decile_ms: mean(&latencies[mid..(mid + tenth).min(latencies.len())]),
        last_decile_ms: mean(&latencies[latencies.len().saturating_sub(tenth)..]),
        max_request_ms: latencies.iter().map(|d| ms(*d)).fold(0.0, f64::max),
        get_run_ms: answer.as_ref().map(|_| ms(gets[1])),
        get_run_bytes: answer.as_ref().map(|b| b.len() as u64),
        reported_spans,
        windows,
        peak_rss_bytes: usage.peak_rss_bytes,
        cpu_seconds: usage.cpu_seconds,
    })
}

/// The figures as a Markdown table.
pub fn markdown(figures: &[LongRunFigure]) -> String {
    let mut out = String::from(
        "| run | spans sent | requests | first 10% | middle 10% | last 10% | slowest | spans/s | GET run | answer | peak RSS | CPU |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    let opt = |v: Option<String>| v.unwrap_or_else(|| "–".into());
    for f in figures {
        out.push_str(&format!(
            "| {} spans | {}{} | {} | {:.0} ms | {:.0} ms | {:.0} ms | {:.0} ms | {:.0} | {} | {} | {:.0} MB | {:.0} s |\n",
            human(f.size as u64),
            human(f.spans as u64),
            if f.spans < f.size { " (budget)" } else { "" },
            f.requests,
            f.first_decile_ms,
            f.middle_decile_ms,
            f.last_decile_ms,
            f.max_request_ms,
            f.spans_per_second,
            opt(f.get_run_ms.map(|v| format!("{v:.0} ms"))),
            opt(f.get_run_bytes.map(|v| format!("{:.1} MB", v as f64 / 1e6))),
            f.peak_rss_bytes as f64 / 1e6,
            f.cpu_seconds,
        ));
    }
    out.push_str(
        "\n| run | outline first answer | cold | warm | span by id | find | overview | 8 clients paging | RSS before → peak | GET run |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for f in figures {
        let w = &f.windows;
        out.push_str(&format!(
            "| {} spans | {:.0} KB | {:.0} ms | {:.1} ms | {:.1} ms | {:.0} ms | {:.0} ms | {} pages in {:.1} s | {:.0} → {:.0} MB | {} |\n",
            human(f.size as u64),
            w.outline_first_bytes as f64 / 1e3,
            w.outline_cold_ms,
            w.outline_warm_ms,
            w.span_ms,
            w.find_ms,
            w.overview_ms,
            w.paging_pages,
            w.paging_seconds,
            w.rss_before_paging_bytes as f64 / 1e6,
            w.rss_paging_peak_bytes as f64 / 1e6,
            w.whole_run_status,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

    #[test]
    fn a_long_run_is_sent_whole_in_full_requests_root_last() {
        let mut run = LongRun::new(7, 1_100);
        let mut sizes = Vec::new();
        let mut last = None;
        while let Some((body, n)) = run.next_batch() {
            let req = ExportTraceServiceRequest::decode(body.as_slice()).unwrap();
            let spans = &req.resource_spans[0].scope_spans[0].spans;
            assert_eq!(spans.len(), n);
            sizes.push(n);
            last = spans.last().cloned();
        }
        assert_eq!(sizes, [512, 512, 76]);
        assert_eq!(run.spans, 1_100);
        let root = last.unwrap();
        assert!(root.parent_span_id.is_empty(), "the root is sent last");
    }

    #[test]
    fn chat_inputs_hold_the_task_and_a_window_of_history() {
        let mut run = LongRun::new(7, 100);
        for _ in 0..20 {
            run.next_round();
        }
        let input: Vec<Value> = serde_json::from_str(&run.input()).unwrap();
        assert!(input.len() <= HISTORY_MESSAGES + 1);
        assert_eq!(input[0]["role"], "user");
        assert_ne!(input[1]["role"], "tool");
    }
}
