//! Ingestion health: what this server refused and from whom spans arrive (its ingest
//! `activity`, since it started), and the problems visible in the project's recent runs
//! (`lemma_core::diagnose`), each with an example and the fix.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::{Extension, Json};
use lemma_core::diagnose::{diagnose, Finding, Problem};
use lemma_core::query;
use lemma_store::{ListQuery, Project, RunOrder};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::windows::outline_of;
use super::{iso, now_unix_nano};
use crate::error::ApiError;
use crate::ingest::activity::{Count, Snapshot, RATE_MINUTES};
use crate::openapi::responses::Keyed;
use crate::server::AppState;

/// The newest runs checked for problems.
pub const CHECK_RUNS: usize = 100;
/// Spans read, over all checked runs, at most; a run that would pass it is skipped.
pub const CHECK_SPANS: u64 = 50_000;
/// How far back runs are checked.
const CHECK_SINCE: &str = "24h";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(ingestion))
}

#[derive(Serialize, ToSchema)]
struct IngestionAnswer {
    /// When this server started counting (its start): refusals, services and late spans are
    /// what it saw since, not what other servers sharing the store saw.
    counting_since: String,
    services: Vec<ServiceView>,
    refused: RefusedView,
    /// Problems found, the most frequent first; empty when none.
    problems: Vec<ProblemView>,
    /// What the problems were looked for in.
    checked: Checked,
}

#[derive(Serialize, ToSchema)]
struct ServiceView {
    /// `service.name` of the spans' resource, or `(no service.name)`.
    service: String,
    last_seen: String,
    spans_total: u64,
    spans_last_minute: u64,
    spans_last_hour: u64,
}

#[derive(Serialize, ToSchema)]
struct RefusedView {
    /// Refused requests of this project (partial successes included).
    total: u64,
    /// By reason: an error code (`bad_request`, `payload_too_large`, `busy`, `unavailable`,
    /// ...) or `partial` for a request stored in part.
    by_reason: Vec<ReasonView>,
    /// The latest refusals, newest first (at most 50).
    recent: Vec<RefusalView>,
    /// Requests refused before a project could be told (a missing, unknown or revoked key),
    /// for the whole server.
    unauthenticated: Vec<ReasonView>,
}

#[derive(Serialize, ToSchema)]
struct ReasonView {
    reason: String,
    count: u64,
    last_at: String,
}

#[derive(Serialize, ToSchema)]
struct RefusalView {
    at: String,
    reason: String,
    /// The HTTP status answered (gRPC calls: the HTTP equivalent).
    status: u16,
    /// `http` or `grpc`.
    transport: &'static str,
    /// `traces` or `logs`.
    signal: &'static str,
    message: String,
    /// Spans or log records lost, for a partial success.
    rejected: Option<u64>,
}

#[derive(Serialize, ToSchema)]
struct ProblemView {
    problem: Problem,
    title: &'static str,
    /// What to change in the app.
    fix: &'static str,
    /// Runs it shows in (0 for late spans, which are counted as they arrive).
    runs: u64,
    /// Instances: spans for most problems, runs for runs without a root.
    count: u64,
    example: Example,
}

#[derive(Serialize, ToSchema)]
struct Example {
    run_id: String,
    span_id: Option<String>,
    detail: String,
}

#[derive(Serialize, ToSchema)]
struct Checked {
    /// The newest runs that started in the last 24 hours, at most 100.
    runs: usize,
    spans: u64,
    /// Runs left out because reading them would pass the 50,000 spans a check reads.
    skipped_runs: usize,
}

#[utoipa::path(
    get,
    path = "/api/v1/ingestion",
    operation_id = "get_ingestion_health",
    tag = "project",
    responses(
        (status = 200, description = "How the project's spans arrive: refused requests with their reasons, the services sending and their rates, and problems seen in the newest runs of the last 24 hours (spans whose parent never arrived, runs without a root, clock skew, calls recorded twice, late spans), each with an example run and what to change.", body = IngestionAnswer),
        Keyed
    )
)]
async fn ingestion(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
) -> Result<Json<IngestionAnswer>, ApiError> {
    let now = now_unix_nano();
    let (problems, checked) = check_runs(&state, &p, now).await?;
    let snapshot = state.activity.snapshot(p.id);
    let mut problems = problems;
    if let Some(late) = late_problem(&snapshot) {
        problems.push(late);
    }
    problems.sort_by(|a, b| b.count.cmp(&a.count).then(a.problem.cmp(&b.problem)));
    Ok(Json(IngestionAnswer {
        counting_since: iso(state.started_unix_nano),
        services: services(&snapshot, now),
        refused: refused(&snapshot),
        problems,
        checked,
    }))
}

/// The newest runs' problems, grouped by kind with the first instance as the example.
async fn check_runs(
    state: &AppState,
    p: &Project,
    now: u64,
) -> Result<(Vec<ProblemView>, Checked), ApiError> {
    let filter = query::parse(&format!("since:{CHECK_SINCE}"), now)
        .map_err(|e| ApiError::internal(e.message))?;
    let page = state
        .store
        .list_runs(
            p.id,
            ListQuery {
                filter,
                limit: CHECK_RUNS,
                cursor: None,
                order: RunOrder::default(),
            },
        )
        .await?;
    let mut checked = Checked {
        runs: 0,
        spans: 0,
        skipped_runs: 0,
    };
    let mut groups: BTreeMap<Problem, (u64, u64, Option<Example>)> = BTreeMap::new();
    for run in &page.items {
        if checked.spans + run.span_count > CHECK_SPANS {
            checked.skipped_runs += 1;
            continue;
        }
        let outline = outline_of(state, p, run).await?;
        checked.runs += 1;
        checked.spans += outline.len() as u64;
        let findings = diagnose(run, outline.rows(), now);
        let mut kinds: Vec<Problem> = findings.iter().map(|f| f.problem).collect();
        kinds.dedup();
        for finding in findings {
            let group = groups.entry(finding.problem).or_default();
            group.1 += 1;
            group.2.get_or_insert_with(|| example(&run.run_id, finding));
        }
        for kind in kinds {
            groups.entry(kind).or_default().0 += 1;
        }
    }
    let problems = groups
        .into_iter()
        .filter_map(|(problem, (runs, count, example))| {
            Some(ProblemView {
                problem,
                title: problem.title(),
                fix: problem.fix(),
                runs,
                count,
                example: example?,
            })
        })
        .collect();
    Ok((problems, checked))
}

fn example(run_id: &str, finding: Finding) -> Example {
    Example {
        run_id: run_id.to_string(),
        span_id: finding.span_id,
        detail: finding.detail,
    }
}

fn late_problem(snapshot: &Snapshot) -> Option<ProblemView> {
    let late = &snapshot.project.late;
    let worst = late.worst.as_ref()?;
    let service = worst
        .service
        .as_deref()
        .map_or(String::new(), |s| format!(" from {s}"));
    Some(ProblemView {
        problem: Problem::LateSpans,
        title: Problem::LateSpans.title(),
        fix: Problem::LateSpans.fix(),
        runs: 0,
        count: late.spans,
        example: Example {
            run_id: worst.run_id.clone(),
            span_id: Some(worst.span_id.clone()),
            detail: format!(
                "a span{service} arrived {} after it ended",
                minutes(worst.delay_ns)
            ),
        },
    })
}

fn minutes(ns: u64) -> String {
    let minutes = ns / 60_000_000_000;
    match minutes {
        m if m >= 2 * 24 * 60 => format!("{} days", m / (24 * 60)),
        m if m >= 120 => format!("{} hours", m / 60),
        m => format!("{m} minutes"),
    }
}

fn services(snapshot: &Snapshot, now: u64) -> Vec<ServiceView> {
    let mut out: Vec<ServiceView> = snapshot
        .project
        .services
        .iter()
        .map(|(name, s)| ServiceView {
            service: name.clone(),
            last_seen: iso(s.last_seen_ns),
            spans_total: s.spans,
            spans_last_minute: s.spans_in_last(1, now),
            spans_last_hour: s.spans_in_last(RATE_MINUTES, now),
        })
        .collect();
    out.sort_by(|a, b| {
        b.last_seen
            .cmp(&a.last_seen)
            .then(a.service.cmp(&b.service))
    });
    out
}

fn reasons(counts: &BTreeMap<String, Count>) -> Vec<ReasonView> {
    let mut out: Vec<ReasonView> = counts
        .iter()
        .map(|(reason, c)| ReasonView {
            reason: reason.clone(),
            count: c.count,
            last_at: iso(c.last_ns),
        })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then(a.reason.cmp(&b.reason)));
    out
}

fn refused(snapshot: &Snapshot) -> RefusedView {
    let project = &snapshot.project;
    RefusedView {
        total: project.reasons.values().map(|c| c.count).sum(),
        by_reason: reasons(&project.reasons),
        recent: project
            .refused
            .iter()
            .rev()
            .map(|r| RefusalView {
                at: iso(r.at_ns),
                reason: r.reason.clone(),
                status: r.status,
                transport: r.transport,
                signal: r.signal,
                message: r.message.clone(),
                rejected: r.rejected,
            })
            .collect(),
        unauthenticated: reasons(&snapshot.unattributed),
    }
}
