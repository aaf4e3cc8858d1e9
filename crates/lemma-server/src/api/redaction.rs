//! A project's redaction rules: read, replace, preview against recent spans, and the counts
//! of what they redacted.

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::{Extension, Json};
use lemma_core::query::Filter;
use lemma_core::redact::{Detector, RedactionRules, Redactor, Tally};
use lemma_core::Span;
use lemma_store::{ListQuery, Project, RunOrder};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{iso, json_body, now_unix_nano};
use crate::error::{ApiError, ErrorBody};
use crate::openapi::responses::Keyed;
use crate::redaction::day_of;
use crate::server::AppState;

/// The days of counts an answer covers.
pub const COUNT_DAYS: u32 = 30;
/// The newest spans a preview applies rules to.
pub const PREVIEW_SPANS: usize = 200;
/// The most examples a preview lists.
pub const PREVIEW_EXAMPLES: usize = 50;
/// Characters of text shown on each side of a change.
const EXCERPT_CHARS: usize = 80;

pub fn routes() -> OpenApiRouter<crate::server::AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_redaction, set_redaction))
        .routes(routes!(preview))
}

#[derive(Serialize, ToSchema)]
struct RedactionAnswer {
    rules: RedactionRules,
    /// The built-in detectors a rule can name.
    detectors: Vec<DetectorInfo>,
    /// What the project's rules redacted in the last 30 days (UTC days).
    counts: Counts,
}

#[derive(Serialize, ToSchema)]
struct DetectorInfo {
    name: Detector,
    description: &'static str,
}

#[derive(Serialize, ToSchema)]
struct Counts {
    /// The first day counted (`YYYY-MM-DD`).
    since: String,
    total: u64,
    /// Per rule: a detector's name, a pattern's name, or `drop_keys`.
    by_rule: Vec<RuleCount>,
    by_day: Vec<DayCount>,
}

#[derive(Serialize, ToSchema)]
struct RuleCount {
    rule: String,
    count: u64,
}

#[derive(Serialize, ToSchema)]
struct DayCount {
    /// `YYYY-MM-DD`
    day: String,
    rule: String,
    count: u64,
}

fn date(day: u32) -> String {
    iso(day as u64 * 86_400 * 1_000_000_000)[..10].to_string()
}

fn by_rule(counts: impl Iterator<Item = (String, u64)>) -> Vec<RuleCount> {
    let mut sums = std::collections::BTreeMap::<String, u64>::new();
    for (rule, n) in counts {
        *sums.entry(rule).or_default() += n;
    }
    sums.into_iter()
        .map(|(rule, count)| RuleCount { rule, count })
        .collect()
}

async fn answer(state: &AppState, p: &Project) -> Result<RedactionAnswer, ApiError> {
    let rules = state.store.redaction(p.id).await?;
    let since = day_of(now_unix_nano()).saturating_sub(COUNT_DAYS - 1);
    let counts = state.redaction.counts(p.id, since).await?;
    Ok(RedactionAnswer {
        rules,
        detectors: Detector::ALL
            .iter()
            .map(|&d| DetectorInfo {
                name: d,
                description: d.description(),
            })
            .collect(),
        counts: Counts {
            since: date(since),
            total: counts.iter().map(|c| c.count).sum(),
            by_rule: by_rule(counts.iter().map(|c| (c.rule.clone(), c.count))),
            by_day: counts
                .into_iter()
                .map(|c| DayCount {
                    day: date(c.day),
                    rule: c.rule,
                    count: c.count,
                })
                .collect(),
        },
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/project/redaction",
    operation_id = "get_redaction",
    tag = "project",
    responses(
        (status = 200, description = "The project's redaction rules, the detectors they can use, and what they redacted in the last 30 days.", body = RedactionAnswer),
        Keyed
    )
)]
async fn get_redaction(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
) -> Result<Json<RedactionAnswer>, ApiError> {
    Ok(Json(answer(&state, &p).await?))
}

const RULES_HINT: &str = "expected redaction rules: {\"detectors\": [\"email\", \"card\", \
                          \"secret\", \"phone\"], \"patterns\": [{\"name\": \"...\", \"regex\": \
                          \"...\"}], \"drop_keys\": [\"...\"]}";

#[utoipa::path(
    put,
    path = "/api/v1/project/redaction",
    operation_id = "set_redaction",
    tag = "project",
    request_body(content = RedactionRules, description = "The rules that replace the project's: applied to every span, log record and metric event that arrives afterwards (on other servers sharing the store, within 5 seconds), before it is stored or forwarded. Data stored before is not changed. `{}` turns redaction off."),
    responses(
        (status = 200, description = "The new rules, with the counts.", body = RedactionAnswer),
        (status = 400, description = "An unknown detector or field, a regex that does not compile or matches empty text, a pattern name that is taken or malformed, or too many rules; the message says which.", body = ErrorBody),
        Keyed
    )
)]
async fn set_redaction(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    body: Result<Json<RedactionRules>, JsonRejection>,
) -> Result<Json<RedactionAnswer>, ApiError> {
    let Json(rules) = body.map_err(|e| json_body(e, RULES_HINT))?;
    state.store.set_redaction(p.id, &rules).await?;
    state.redaction.invalidate(p.id);
    Ok(Json(answer(&state, &p).await?))
}

#[derive(Serialize, ToSchema)]
struct PreviewAnswer {
    /// The newest spans the rules were applied to (at most 200).
    spans_checked: usize,
    /// How many of them the rules would change.
    spans_changed: usize,
    counts: Vec<RuleCount>,
    /// Changes, newest span first (at most 50).
    examples: Vec<PreviewExample>,
}

#[derive(Serialize, ToSchema)]
struct PreviewExample {
    run_id: String,
    span_id: String,
    span_name: String,
    /// Where the change is: `name`, `status_message`, `attributes.<key>`,
    /// `events[<i>].<key>`, `resource.<key>`.
    field: String,
    /// The text around the first change, as stored.
    before: String,
    /// The same text redacted; `null` when the key is dropped.
    after: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/project/redaction/preview",
    operation_id = "preview_redaction",
    tag = "project",
    request_body(content = RedactionRules, description = "Rules to try; nothing is stored or changed."),
    responses(
        (status = 200, description = "What the rules would redact in the project's newest spans (as stored, so already under the current rules).", body = PreviewAnswer),
        (status = 400, description = "Rules that do not check (as for PUT).", body = ErrorBody),
        Keyed
    )
)]
async fn preview(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    body: Result<Json<RedactionRules>, JsonRejection>,
) -> Result<Json<PreviewAnswer>, ApiError> {
    let Json(rules) = body.map_err(|e| json_body(e, RULES_HINT))?;
    let redactor = Redactor::new(&rules).map_err(ApiError::bad_request)?;
    let page = state
        .store
        .search_spans(
            p.id,
            ListQuery {
                filter: Filter::default(),
                limit: PREVIEW_SPANS,
                cursor: None,
                order: RunOrder::default(),
            },
        )
        .await?;
    let mut answer = PreviewAnswer {
        spans_checked: page.items.len(),
        spans_changed: 0,
        counts: Vec::new(),
        examples: Vec::new(),
    };
    let Some(redactor) = redactor else {
        return Ok(Json(answer));
    };
    let mut total = Tally::default();
    for span in &page.items {
        let mut redacted = span.clone();
        let mut tally = Tally::default();
        redactor.span(&mut redacted, &mut tally);
        if tally.is_empty() {
            continue;
        }
        answer.spans_changed += 1;
        total.merge(tally);
        for (field, before, after) in changes(span, &redacted) {
            if answer.examples.len() == PREVIEW_EXAMPLES {
                break;
            }
            let (before, after) = excerpts(&before, after.as_deref());
            answer.examples.push(PreviewExample {
                run_id: span.trace_id.clone(),
                span_id: span.span_id.clone(),
                span_name: span.name.clone(),
                field,
                before,
                after,
            });
        }
    }
    answer.counts = by_rule(total.iter().map(|(r, n)| (r.to_string(), n)));
    Ok(Json(answer))
}

type Change = (String, String, Option<String>);

/// The fields the redacted span differs in: (field, before, after or `None` if dropped).
fn changes(before: &Span, after: &Span) -> Vec<Change> {
    let mut out = Vec::new();
    if before.name != after.name {
        out.push(("name".into(), before.name.clone(), Some(after.name.clone())));
    }
    if before.status_message != after.status_message {
        out.push((
            "status_message".into(),
            before.status_message.clone().unwrap_or_default(),
            after.status_message.clone(),
        ));
    }
    map_changes(
        "attributes",
        &before.attributes,
        &after.attributes,
        &mut out,
    );
    for (i, (b, a)) in before.events.iter().zip(&after.events).enumerate() {
        map_changes(
            &format!("events[{i}]"),
            &b.attributes,
            &a.attributes,
            &mut out,
        );
    }
    map_changes("resource", &before.resource, &after.resource, &mut out);
    out
}

fn map_changes(
    prefix: &str,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
    out: &mut Vec<Change>,
) {
    for (key, value) in before {
        let field = format!("{prefix}.{key}");
        match after.get(key) {
            None => out.push((field, text(value), None)),
            Some(new) if new != value => out.push((field, text(value), Some(text(new)))),
            Some(_) => {}
        }
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Both texts cut to the part around their first difference.
fn excerpts(before: &str, after: Option<&str>) -> (String, Option<String>) {
    let Some(after) = after else {
        return (cut(before, 0, 2 * EXCERPT_CHARS), None);
    };
    let common = before
        .chars()
        .zip(after.chars())
        .take_while(|(a, b)| a == b)
        .count();
    let start = common.saturating_sub(EXCERPT_CHARS);
    (
        cut(before, start, 2 * EXCERPT_CHARS),
        Some(cut(after, start, 2 * EXCERPT_CHARS)),
    )
}

/// `len` characters from character `start`, with `…` where text was left out.
fn cut(text: &str, start: usize, len: usize) -> String {
    let total = text.chars().count();
    let mut out: String = text.chars().skip(start).take(len).collect();
    if start > 0 {
        out.insert(0, '…');
    }
    if start + len < total {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_show_the_change_in_context() {
        let long = format!("{}ada@example.com{}", "x".repeat(300), "y".repeat(300));
        let redacted = long.replace("ada@example.com", "[REDACTED:email]");
        let (before, after) = excerpts(&long, Some(&redacted));
        assert!(before.starts_with('…') && before.ends_with('…'));
        assert!(before.contains("ada@example.com"), "{before}");
        assert!(after.unwrap().contains("[REDACTED:email]"));
        assert_eq!(
            excerpts("short", Some("sh")),
            ("short".into(), Some("sh".into()))
        );
        assert_eq!(cut("héllo", 1, 2), "…él…");
    }
}
