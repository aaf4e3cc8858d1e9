//! The MCP server: its tools, each a REST call (or a few) and a rendering.
//!
//! Every failure a model can fix (a bad argument, an unknown run, a query that does not parse)
//! is a tool error saying how to fix the call, never a protocol error the model cannot see.

use std::sync::Arc;

use http::request::Parts;
use http::HeaderMap;
use lemma_core::present::{self, Budget};
use lemma_core::stats::Stats;
use lemma_core::{MetricEvent, Run, Span};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::service::RequestContext;
use rmcp::{tool, tool_handler, tool_router, ErrorData, RoleServer, ServerHandler};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::api::{Api, ApiCall, ApiFailure};
use crate::params::{self, within, AddMetric, GetRun, GetSpan, GetStats, GetThread};
use crate::params::{CompareExperiments, ListThreads, MetricValue, RecentErrors, RunSignals};
use crate::params::{SearchRuns, View};
use crate::render;

/// The most failed spans `recent_errors` reads (two API pages).
const MAX_ERROR_SPANS: usize = 2_000;
const ERROR_PAGE: usize = 1_000;
/// Payloads inside a run's text are cut to this; `get_span` shows them whole.
const ITEM_CHARS: usize = 500;

const INSTRUCTIONS: &str = "Lemma stores traces of AI agent runs: one run per agent \
execution (its ID is the trace ID), with every model call, tool call, retrieval and sub-agent \
as a span. Start with search_runs (the query language finds failures, loops, slow or costly \
runs) or recent_errors; read a run with get_run (transcript or tree) and one span in full \
with get_span; compare_experiments compares experiments case by case; get_run_signals says what is worth a look in a run (loops, failure streaks, \
stalls, classifier flags), also while it is still going; follow a conversation with \
list_threads and get_thread; get_stats answers how many, how slow, how costly; add_metric \
records a judgement on a run.";

const QUERY_HELP: &str = "Query language (terms ANDed, `-` negates, `a,b` either, `*` \
wildcard): bare words or \"quoted phrases\" search names, inputs and outputs; agent:NAME, \
status:error|ok, model:, provider:, tool:, kind:llm|tool|retrieval|agent, thread:, user:, \
session:, env:, tag:, meta.KEY=VALUE, signal:NAME (loop, error_streak, tool_failing, \
similar_calls, cycle, stalled, rephrase, context_window, token_spike, ... or a name apps \
write), signal.severity:critical|warning|info, \
duration>5s, tokens>1k, cost>0.01, spans>=100, errors>0, since:24h, until:2026-11-01, \
metric.NAME=VALUE, metric.NAME<0.5, has:error|thread|metric.NAME, run:RUN_ID.";

/// Lemma's MCP server over an [`Api`].
#[derive(Clone)]
pub struct LemmaMcp {
    api: Arc<dyn Api>,
    tool_router: ToolRouter<LemmaMcp>,
}

/// What a tool ends with: its answer, or what to tell the model.
type Answer = Result<String, String>;

#[tool_router]
impl LemmaMcp {
    pub fn new(api: Arc<dyn Api>) -> LemmaMcp {
        LemmaMcp {
            api,
            tool_router: Self::tool_router(),
        }
    }

    #[tool(
        description = "Search agent runs, newest first. Each line: run ID, start, agent, \
status, duration, spans (failed), tokens, cost, thread, signals, error, input preview. Pass a \
run ID to get_run to read it.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn search_runs(
        &self,
        Parameters(p): Parameters<SearchRuns>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        respond(self.search_runs_text(p, headers(&ctx)).await)
    }

    #[tool(
        description = "Read one run: as a transcript (default; the conversation with each \
model call's new messages only, tool calls with arguments and results, sub-agents, errors with \
exceptions, identical repeated tool calls folded) or as a tree (one line per span, ending \
with the span ID for get_span). Starts with the run's thread, user, cost and metric events. \
Long runs are paged: a cut page ends with `offset=N`; call again with that offset.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn get_run(
        &self,
        Parameters(p): Parameters<GetRun>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        respond(self.get_run_text(p, headers(&ctx)).await)
    }

    #[tool(
        description = "One span in full, as JSON: its attributes, input and output \
(messages for model calls), tokens, cost, events (exceptions with stack traces) and logs. \
Get span IDs from get_run with view \"tree\" or from recent_errors.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn get_span(
        &self,
        Parameters(p): Parameters<GetSpan>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        respond(self.get_span_text(p, headers(&ctx)).await)
    }

    #[tool(
        description = "What is worth a look in a run, evaluated now over every span stored: \
each signal's severity, name, the span it points at and why (failure streaks, loops, cycles, \
stalls, context windows nearly full, token spikes, rephrased turns, flags written by \
classifiers). Works while the run is still going, so an agent can check its own run.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn get_run_signals(
        &self,
        Parameters(p): Parameters<RunSignals>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        respond(self.get_run_signals_text(p, headers(&ctx)).await)
    }

    #[tool(
        description = "Compare experiments (runs of an agent over a dataset of test cases) \
case by case: totals per experiment, score means and deltas, and the cases that got worse \
than in the first (the baseline), with why. Find runs of an experiment with search_runs and \
`experiment:NAME`.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn compare_experiments(
        &self,
        Parameters(p): Parameters<CompareExperiments>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        respond(self.compare_experiments_text(p, headers(&ctx)).await)
    }

    #[tool(
        description = "List conversation threads (runs sharing a thread ID), most recently \
active first, with run count, failures, tokens, cost, user and agents.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn list_threads(
        &self,
        Parameters(p): Parameters<ListThreads>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        respond(self.list_threads_text(p, headers(&ctx)).await)
    }

    #[tool(
        description = "Read a thread turn by turn, oldest first: each run's newest user \
message, the agent's answer, status and errors, with the run ID to read it in full.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn get_thread(
        &self,
        Parameters(p): Parameters<GetThread>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        respond(self.get_thread_text(p, headers(&ctx)).await)
    }

    #[tool(
        description = "Aggregates over the runs that started in a time range (default the \
last 24h): run count, error rate, latency p50/p95/p99, tokens and cost; then by agent, by \
model (calls, tokens, cost) and by metric (count, mean, true rate); optionally a time series.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn get_stats(
        &self,
        Parameters(p): Parameters<GetStats>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        respond(self.get_stats_text(p, headers(&ctx)).await)
    }

    #[tool(
        description = "Recent failures grouped by message (numbers, IDs and quoted names \
set aside), most runs affected first: how many runs and spans, first and last seen, where \
(tool or span names), the newest message, and an example run and span ID to read.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn recent_errors(
        &self,
        Parameters(p): Parameters<RecentErrors>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        respond(self.recent_errors_text(p, headers(&ctx)).await)
    }

    #[tool(
        description = "Record a metric event on a run: a named value (number, boolean or \
string) such as resolved=true, quality=0.4 or root_cause=\"stale cache\", with an optional \
comment and span. The run's spans need not have arrived yet. Filter on it later with \
metric.NAME in search_runs.",
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn add_metric(
        &self,
        Parameters(p): Parameters<AddMetric>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        respond(self.add_metric_text(p, headers(&ctx)).await)
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for LemmaMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("lemma", env!("CARGO_PKG_VERSION")))
            .with_instructions(format!("{INSTRUCTIONS}\n\n{QUERY_HELP}"))
    }
}

impl LemmaMcp {
    async fn search_runs_text(&self, p: SearchRuns, caller: Option<&HeaderMap>) -> Answer {
        let limit = within("limit", p.limit, 20, 1..=100)?.to_string();
        let body = self
            .call(
                ApiCall::get(
                    &["runs"],
                    &[("q", &p.query), ("limit", &limit), ("cursor", &p.cursor)],
                ),
                caller,
            )
            .await?;
        let runs: Vec<Run> = field(&body, "runs")?;
        Ok(render::runs(&runs, &p.query, body["next_cursor"].as_str()))
    }

    async fn get_run_text(&self, p: GetRun, caller: Option<&HeaderMap>) -> Answer {
        let run_id = params::run_id(&p.run_id)?;
        let max_chars = within("max_chars", p.max_chars, 12_000, 1_000..=100_000)?;
        let body = match self
            .api
            .call(ApiCall::get(&["runs", &run_id], &[]), caller)
            .await
        {
            // Too long to read whole: read the page asked for from the run's windows.
            Err(ApiFailure::Status { status: 422, .. }) => {
                return self.long_run_text(&run_id, &p, max_chars, caller).await;
            }
            other => other.map_err(word)?,
        };
        let run: Run = field(&body, "run")?;
        let spans: Vec<Span> = field(&body, "spans")?;
        let metrics: Vec<MetricEvent> = field(&body["run"], "metrics").unwrap_or_default();
        let (facts, budget) = self.facts_and_budget(&run, &metrics, &p, max_chars);
        let page = match p.view {
            View::Transcript => present::transcript(&run, &spans, &budget),
            View::Tree => present::tree(&run, &spans, &budget),
        };
        Ok(with_facts(&page.text, &facts))
    }

    /// A page of a run too long for `GET /runs/{id}`: outline rows for the tree, transcript
    /// steps for the transcript, each window as long as a page can hold.
    async fn long_run_text(
        &self,
        run_id: &str,
        p: &GetRun,
        max_chars: usize,
        caller: Option<&HeaderMap>,
    ) -> Answer {
        let offset = p.offset.to_string();
        let rows = present::rows_for(max_chars).to_string();
        let outline_query = match p.view {
            View::Tree => [("offset", offset.as_str()), ("limit", rows.as_str())],
            View::Transcript => [("offset", "0"), ("limit", "1")],
        };
        let outline = self
            .call(
                ApiCall::get(&["runs", run_id, "outline"], &outline_query),
                caller,
            )
            .await?;
        let run: Run = field(&outline, "run")?;
        let metrics: Vec<MetricEvent> = field(&outline["run"], "metrics").unwrap_or_default();
        let (facts, budget) = self.facts_and_budget(&run, &metrics, p, max_chars);
        let start = p.offset as usize;
        let page = match p.view {
            View::Tree => {
                let rows: Vec<present::WindowRow> = field(&outline, "rows")?;
                let total = outline["total"].as_u64().unwrap_or(0) as usize;
                present::tree_window(&run, &rows, start, total, &budget)
            }
            View::Transcript => {
                let steps = present::steps_for(max_chars).to_string();
                let body = self
                    .call(
                        ApiCall::get(
                            &["runs", run_id, "transcript"],
                            &[("from", offset.as_str()), ("limit", steps.as_str())],
                        ),
                        caller,
                    )
                    .await?;
                let steps: Vec<present::WindowStep> = field(&body, "steps")?;
                let total = body["total_steps"].as_u64().unwrap_or(0) as usize;
                present::transcript_window(&run, &steps, start, total, &budget)
            }
        };
        Ok(with_facts(&page.text, &facts))
    }

    /// The run's facts for the first page, and the budget left for the page's steps.
    fn facts_and_budget(
        &self,
        run: &Run,
        metrics: &[MetricEvent],
        p: &GetRun,
        max_chars: usize,
    ) -> (String, Budget) {
        let facts = if p.offset == 0 {
            render::run_facts(run, metrics)
        } else {
            String::new()
        };
        let budget = Budget {
            max_chars: max_chars.saturating_sub(facts.chars().count()).max(500),
            max_item_chars: ITEM_CHARS,
            offset: p.offset as usize,
        };
        (facts, budget)
    }

    async fn get_span_text(&self, p: GetSpan, caller: Option<&HeaderMap>) -> Answer {
        let run_id = params::run_id(&p.run_id)?;
        let span_id = params::span_id(&p.span_id)?;
        let max_chars = within("max_chars", p.max_chars, 20_000, 1_000..=100_000)?;
        let span = match self
            .api
            .call(
                ApiCall::get(&["runs", &run_id, "spans", &span_id], &[]),
                caller,
            )
            .await
        {
            Err(ApiFailure::Status { status: 404, .. }) => {
                return Err(format!(
                    "run {run_id} has no span {span_id}: call get_run with view \"tree\" to \
                     list its span IDs"
                ));
            }
            other => other.map_err(word)?,
        };
        let text = render::span_json(&span["span"]);
        let heading = format!("span {span_id} of run {run_id}:\n");
        Ok(heading + &render::page(&text, max_chars, p.offset as usize))
    }

    async fn get_run_signals_text(&self, p: RunSignals, caller: Option<&HeaderMap>) -> Answer {
        let run_id = params::run_id(&p.run_id)?;
        let answer = match self
            .api
            .call(ApiCall::get(&["runs", &run_id, "signals"], &[]), caller)
            .await
        {
            Err(ApiFailure::Status { status: 404, .. }) => {
                return Err(format!(
                    "no span of run {run_id} has arrived yet: check the run ID, or flush the \
                     exporter and ask again"
                ));
            }
            other => other.map_err(word)?,
        };
        let signals: Vec<lemma_core::RunSignal> = field(&answer, "signals")?;
        let state = match answer["in_progress"].as_bool() {
            Some(true) => "still going",
            _ => "ended",
        };
        Ok(render::signals(&run_id, state, &signals))
    }

    async fn compare_experiments_text(
        &self,
        p: CompareExperiments,
        caller: Option<&HeaderMap>,
    ) -> Answer {
        let names = p.experiments.join(",");
        let mut query = vec![("experiments", names.as_str())];
        if p.changed_only {
            query.push(("changed", "true"));
        }
        let body = self
            .call(ApiCall::get(&["compare"], &query), caller)
            .await?;
        let c: lemma_core::experiments::Comparison = serde_json::from_value(body)
            .map_err(|e| format!("unexpected comparison answer: {e}"))?;
        Ok(render::comparison(&c, ITEM_CHARS))
    }

    async fn list_threads_text(&self, p: ListThreads, caller: Option<&HeaderMap>) -> Answer {
        let limit = within("limit", p.limit, 20, 1..=100)?.to_string();
        let body = self
            .call(
                ApiCall::get(
                    &["threads"],
                    &[("q", &p.query), ("limit", &limit), ("cursor", &p.cursor)],
                ),
                caller,
            )
            .await?;
        let threads: Vec<Value> = field(&body, "threads")?;
        Ok(render::threads(&threads, body["next_cursor"].as_str()))
    }

    async fn get_thread_text(&self, p: GetThread, caller: Option<&HeaderMap>) -> Answer {
        let thread_id = p.thread_id.trim();
        if thread_id.is_empty() {
            return Err("`thread_id` is empty: list_threads lists thread IDs".into());
        }
        let max_chars = within("max_chars", p.max_chars, 12_000, 1_000..=100_000)?;
        let body = self
            .call(ApiCall::get(&["threads", thread_id], &[]), caller)
            .await?;
        let runs: Vec<Run> = field(&body, "runs")?;
        let budget = Budget {
            max_chars,
            max_item_chars: ITEM_CHARS,
            offset: p.offset as usize,
        };
        Ok(present::thread(thread_id, &runs, &budget).text)
    }

    async fn get_stats_text(&self, p: GetStats, caller: Option<&HeaderMap>) -> Answer {
        let from = if p.from.trim().is_empty() {
            "24h"
        } else {
            p.from.trim()
        };
        let body = self
            .call(
                ApiCall::get(
                    &["stats"],
                    &[
                        ("q", &p.query),
                        ("from", from),
                        ("to", &p.to),
                        ("bucket", &p.series_bucket),
                    ],
                ),
                caller,
            )
            .await?;
        let stats: Stats =
            serde_json::from_value(body).map_err(|e| format!("unexpected stats answer: {e}"))?;
        Ok(render::stats(
            &stats,
            &p.query,
            !p.series_bucket.trim().is_empty(),
        ))
    }

    async fn recent_errors_text(&self, p: RecentErrors, caller: Option<&HeaderMap>) -> Answer {
        let since = if p.since.trim().is_empty() {
            "24h"
        } else {
            p.since.trim()
        };
        if since.contains(|c: char| c.is_whitespace() || c == '"') {
            return Err(format!(
                "`since` must be one time such as 24h, 7d or 2026-11-01T10:00:00Z, not {since:?}"
            ));
        }
        let limit = within("limit", p.limit, 10, 1..=50)?;
        let query = format!("status:error since:{since} {}", p.query.trim());
        let page_size = ERROR_PAGE.to_string();
        let mut spans: Vec<Span> = Vec::new();
        let mut cursor = String::new();
        let more = loop {
            let body = self
                .call(
                    ApiCall::get(
                        &["spans"],
                        &[("q", &query), ("limit", &page_size), ("cursor", &cursor)],
                    ),
                    caller,
                )
                .await?;
            spans.extend(field::<Vec<Span>>(&body, "spans")?);
            match body["next_cursor"].as_str() {
                Some(next) if spans.len() < MAX_ERROR_SPANS => cursor = next.to_string(),
                next => break next.is_some(),
            }
        };
        let groups = present::group_errors(&spans);
        Ok(render::errors(&groups, limit, spans.len(), more))
    }

    async fn add_metric_text(&self, p: AddMetric, caller: Option<&HeaderMap>) -> Answer {
        let run_id = params::run_id(&p.run_id)?;
        let span_id = p.span_id.as_deref().map(params::span_id).transpose()?;
        let value = match p.value {
            MetricValue::Bool(b) => json!(b),
            MetricValue::Number(n) => json!(n),
            MetricValue::Text(t) => json!(t),
        };
        let event = json!({
            "name": p.name,
            "value": value,
            "comment": p.comment,
            "source": p.source.unwrap_or_else(|| "mcp".into()),
            "span_id": span_id,
        });
        let body = self
            .call(ApiCall::post(&["runs", &run_id, "metrics"], event), caller)
            .await?;
        let stored: Vec<MetricEvent> = field(&body, "metrics")?;
        let lines: Vec<String> = stored.iter().map(render::metric).collect();
        Ok(format!("Recorded on run {run_id}: {}\n", lines.join("; ")))
    }

    /// One API call, its failure worded for the model.
    async fn call(&self, call: ApiCall, caller: Option<&HeaderMap>) -> Result<Value, String> {
        self.api.call(call, caller).await.map_err(word)
    }
}

/// An API failure worded for the model.
fn word(f: ApiFailure) -> String {
    match f {
        ApiFailure::Status {
            status: 400,
            message,
        } => {
            if message.contains("query") {
                format!("Lemma refused the call: {message}. {QUERY_HELP}")
            } else {
                format!("Lemma refused the call: {message}")
            }
        }
        ApiFailure::Status {
            status: 401 | 403,
            message,
        } => format!(
            "Lemma refused the API key ({message}): the MCP server's key \
             (LEMMA_API_KEY, or the Authorization header over HTTP) must be a valid key"
        ),
        ApiFailure::Status {
            status: 404,
            message,
        } => {
            format!("{message}: search_runs and list_threads list what exists in this project")
        }
        ApiFailure::Status { status, message } => {
            format!("Lemma answered {status}: {message}")
        }
        ApiFailure::Unreachable(message) => message,
    }
}

/// A page's text with the run's facts after its first line.
fn with_facts(text: &str, facts: &str) -> String {
    match text.split_once('\n') {
        Some((header, rest)) => format!("{header}\n{facts}{rest}"),
        None => format!("{text}\n{facts}"),
    }
}

/// The MCP request's HTTP headers, when it came over HTTP.
fn headers(ctx: &RequestContext<RoleServer>) -> Option<&HeaderMap> {
    ctx.extensions.get::<Parts>().map(|p| &p.headers)
}

/// `body[key]` as `T`.
fn field<T: DeserializeOwned>(body: &Value, key: &str) -> Result<T, String> {
    serde_json::from_value(body[key].clone())
        .map_err(|e| format!("unexpected answer from Lemma ({key}): {e}"))
}

fn respond(answer: Answer) -> Result<CallToolResult, ErrorData> {
    Ok(match answer {
        Ok(text) => CallToolResult::success(vec![ContentBlock::text(text)]),
        Err(why) => CallToolResult::error(vec![ContentBlock::text(why)]),
    })
}
