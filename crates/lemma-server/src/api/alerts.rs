//! `/api/v1/alerts`: a project's alert rules and notification channels, a test send, and the
//! history of what fired.

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use lemma_core::alerts::{AlertConfig, AlertEvent, AlertRule, Channel, ChannelKind};
use lemma_store::{Project, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::json_body;
use crate::error::{ApiError, ErrorBody};
use crate::openapi::responses::Keyed;
use crate::server::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_rules, create_rule))
        .routes(routes!(replace_rule, delete_rule))
        .routes(routes!(list_channels, create_channel))
        .routes(routes!(replace_channel, delete_channel))
        .routes(routes!(test_channel))
        .routes(routes!(events))
}

/// Tries a change of the project's alert config again when another change came first.
const TRIES: usize = 3;

/// Applies `change` to the stored config and stores it, retrying over concurrent changes.
async fn change<T>(
    state: &AppState,
    p: &Project,
    change: impl Fn(&mut AlertConfig) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    for _ in 0..TRIES {
        let mut config = state.store.alert_config(p.id).await?;
        let expected = config.version;
        let out = change(&mut config)?;
        match state.store.set_alert_config(p.id, &config, expected).await {
            Ok(_) => {
                state.alerts.config_changed(p.id);
                return Ok(out);
            }
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::new(
        StatusCode::CONFLICT,
        "conflict",
        "the alert rules kept changing meanwhile: try again",
    ))
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}_{:012x}", rand::random::<u64>() >> 16)
}

#[derive(Serialize, ToSchema)]
struct RulesAnswer {
    rules: Vec<AlertRule>,
}

#[derive(Serialize, ToSchema)]
struct RuleAnswer {
    rule: AlertRule,
}

#[utoipa::path(get, path = "/api/v1/alerts/rules", operation_id = "list_alert_rules", tag = "alerts",
    responses((status = 200, description = "The project's alert rules.", body = RulesAnswer), Keyed))]
async fn list_rules(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
) -> Result<Json<RulesAnswer>, ApiError> {
    let config = state.store.alert_config(p.id).await?;
    Ok(Json(RulesAnswer {
        rules: config.rules,
    }))
}

const BAD_RULE: &str = "A rule that cannot be kept, with the reason: no name, a query that does not parse (with the position), a window out of range (10 s to 30 days), a threshold that can never be passed, or an unknown channel.";

#[utoipa::path(post, path = "/api/v1/alerts/rules", operation_id = "create_alert_rule", tag = "alerts",
    request_body(content = AlertRule, description = "The rule; its `id` is assigned."),
    responses(
        (status = 201, description = "The rule, with its id. It applies from the next run evaluated and the next window measured.", body = RuleAnswer),
        (status = 400, description = BAD_RULE, body = ErrorBody),
        Keyed
    ))]
async fn create_rule(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    body: Result<Json<AlertRule>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(mut rule) = body.map_err(|e| json_body(e, "expected an alert rule"))?;
    rule.id = new_id("ar");
    let made = rule.clone();
    change(&state, &p, move |c| {
        c.rules.push(rule.clone());
        Ok(())
    })
    .await?;
    Ok((StatusCode::CREATED, Json(RuleAnswer { rule: made })).into_response())
}

fn path_id(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    let Path(id) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    Ok(id)
}

#[utoipa::path(put, path = "/api/v1/alerts/rules/{rule_id}", operation_id = "replace_alert_rule", tag = "alerts",
    params(("rule_id" = String, Path, description = "The rule's id.")),
    request_body(content = AlertRule, description = "The rule as it should be (its `id` is the path's)."),
    responses(
        (status = 200, description = "The rule as kept.", body = RuleAnswer),
        (status = 400, description = BAD_RULE, body = ErrorBody),
        (status = 404, description = "No such rule.", body = ErrorBody),
        Keyed
    ))]
async fn replace_rule(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<AlertRule>, JsonRejection>,
) -> Result<Json<RuleAnswer>, ApiError> {
    let id = path_id(path)?;
    let Json(mut rule) = body.map_err(|e| json_body(e, "expected an alert rule"))?;
    rule.id = id.clone();
    let kept = rule.clone();
    change(&state, &p, move |c| {
        let slot = c
            .rules
            .iter_mut()
            .find(|r| r.id == id)
            .ok_or_else(|| ApiError::not_found(format!("no alert rule {id:?}")))?;
        *slot = rule.clone();
        Ok(())
    })
    .await?;
    Ok(Json(RuleAnswer { rule: kept }))
}

#[utoipa::path(delete, path = "/api/v1/alerts/rules/{rule_id}", operation_id = "delete_alert_rule", tag = "alerts",
    params(("rule_id" = String, Path, description = "The rule's id.")),
    responses((status = 204, description = "Deleted; its history stays."), (status = 404, description = "No such rule.", body = ErrorBody), Keyed))]
async fn delete_rule(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let id = path_id(path)?;
    change(&state, &p, |c| {
        let before = c.rules.len();
        c.rules.retain(|r| r.id != id);
        match c.rules.len() < before {
            true => Ok(()),
            false => Err(ApiError::not_found(format!("no alert rule {id:?}"))),
        }
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A channel as shown: never its secret.
#[derive(Serialize, ToSchema)]
struct ChannelView {
    id: String,
    name: String,
    kind: ChannelKind,
    url: String,
    /// Requests are signed (`X-Lemma-Signature`).
    signed: bool,
}

impl From<&Channel> for ChannelView {
    fn from(c: &Channel) -> Self {
        ChannelView {
            id: c.id.clone(),
            name: c.name.clone(),
            kind: c.kind,
            url: c.url.clone(),
            signed: c.secret.is_some(),
        }
    }
}

#[derive(Serialize, ToSchema)]
struct ChannelsAnswer {
    channels: Vec<ChannelView>,
}

#[derive(Serialize, ToSchema)]
struct ChannelAnswer {
    channel: ChannelView,
}

#[utoipa::path(get, path = "/api/v1/alerts/channels", operation_id = "list_alert_channels", tag = "alerts",
    responses((status = 200, description = "The project's channels, without their secrets.", body = ChannelsAnswer), Keyed))]
async fn list_channels(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
) -> Result<Json<ChannelsAnswer>, ApiError> {
    let config = state.store.alert_config(p.id).await?;
    Ok(Json(ChannelsAnswer {
        channels: config.channels.iter().map(ChannelView::from).collect(),
    }))
}

const BAD_CHANNEL: &str =
    "A channel that cannot be kept: no name, a URL that is not http(s), or a secret over 256 characters.";

#[utoipa::path(post, path = "/api/v1/alerts/channels", operation_id = "create_alert_channel", tag = "alerts",
    request_body(content = Channel, description = "`kind` is `webhook` (the event as JSON) or `slack` (a Slack-compatible incoming webhook); `secret` signs each request."),
    responses((status = 201, description = "The channel, with its id.", body = ChannelAnswer), (status = 400, description = BAD_CHANNEL, body = ErrorBody), Keyed))]
async fn create_channel(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    body: Result<Json<Channel>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(mut channel) = body.map_err(|e| json_body(e, "expected a channel"))?;
    channel.id = new_id("ch");
    let view = ChannelView::from(&channel);
    change(&state, &p, move |c| {
        c.channels.push(channel.clone());
        Ok(())
    })
    .await?;
    Ok((StatusCode::CREATED, Json(ChannelAnswer { channel: view })).into_response())
}

#[utoipa::path(put, path = "/api/v1/alerts/channels/{channel_id}", operation_id = "replace_alert_channel", tag = "alerts",
    params(("channel_id" = String, Path, description = "The channel's id.")),
    request_body(content = Channel, description = "The channel as it should be. Leave `secret` out to keep the one it has; `\"\"` removes it."),
    responses((status = 200, description = "The channel as kept.", body = ChannelAnswer), (status = 400, description = BAD_CHANNEL, body = ErrorBody), (status = 404, description = "No such channel.", body = ErrorBody), Keyed))]
async fn replace_channel(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<Channel>, JsonRejection>,
) -> Result<Json<ChannelAnswer>, ApiError> {
    let id = path_id(path)?;
    let Json(channel) = body.map_err(|e| json_body(e, "expected a channel"))?;
    let view = change(&state, &p, move |c| {
        let slot = c
            .channels
            .iter_mut()
            .find(|k| k.id == id)
            .ok_or_else(|| ApiError::not_found(format!("no alert channel {id:?}")))?;
        let secret = match channel.secret.as_deref() {
            None => slot.secret.clone(),
            Some("") => None,
            Some(s) => Some(s.to_string()),
        };
        *slot = Channel {
            id: id.clone(),
            secret,
            ..channel.clone()
        };
        Ok(ChannelView::from(&*slot))
    })
    .await?;
    Ok(Json(ChannelAnswer { channel: view }))
}

#[utoipa::path(delete, path = "/api/v1/alerts/channels/{channel_id}", operation_id = "delete_alert_channel", tag = "alerts",
    params(("channel_id" = String, Path, description = "The channel's id.")),
    responses((status = 204, description = "Deleted."), (status = 400, description = "A rule still notifies it (named).", body = ErrorBody), (status = 404, description = "No such channel.", body = ErrorBody), Keyed))]
async fn delete_channel(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let id = path_id(path)?;
    change(&state, &p, |c| {
        if !c.channels.iter().any(|k| k.id == id) {
            return Err(ApiError::not_found(format!("no alert channel {id:?}")));
        }
        if let Some(r) = c.rules.iter().find(|r| r.channels.contains(&id)) {
            return Err(ApiError::bad_request(format!(
                "rule {:?} notifies this channel: take it out of the rule first",
                r.name
            )));
        }
        c.channels.retain(|k| k.id != id);
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
struct TestAnswer {
    /// The receiver answered 2xx.
    delivered: bool,
    /// The receiver's HTTP status, if it answered.
    status: Option<u16>,
    error: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/alerts/channels/{channel_id}/test", operation_id = "test_alert_channel", tag = "alerts",
    params(("channel_id" = String, Path, description = "The channel's id.")),
    responses((status = 200, description = "What the receiver answered to one test event (`\"test\": true`), sent now without retries.", body = TestAnswer), (status = 404, description = "No such channel.", body = ErrorBody), Keyed))]
async fn test_channel(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<TestAnswer>, ApiError> {
    let id = path_id(path)?;
    let config = state.store.alert_config(p.id).await?;
    let channel = config
        .channels
        .iter()
        .find(|c| c.id == id)
        .ok_or_else(|| ApiError::not_found(format!("no alert channel {id:?}")))?;
    let outcome = state.alerts.test_send(&p, channel).await;
    Ok(Json(TestAnswer {
        delivered: outcome.ok,
        status: outcome.status,
        error: outcome.error,
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct EventParams {
    /// Only this rule's events.
    rule: Option<String>,
    /// At most this many (1 to 1000; 50 by default).
    limit: Option<usize>,
}

#[derive(Serialize, ToSchema)]
struct EventsAnswer {
    /// Newest first.
    events: Vec<AlertEvent>,
}

#[utoipa::path(get, path = "/api/v1/alerts/events", operation_id = "list_alert_events", tag = "alerts",
    params(EventParams),
    responses((status = 200, description = "What the project's rules raised, newest first, with each delivery's outcome.", body = EventsAnswer), (status = 400, description = "A limit out of range.", body = ErrorBody), Keyed))]
async fn events(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    params: Result<Query<EventParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<EventsAnswer>, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let limit = params.limit.unwrap_or(super::DEFAULT_LIMIT);
    if !(1..=super::MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {}",
            super::MAX_LIMIT
        )));
    }
    let events = state
        .store
        .alert_events(
            p.id,
            params.rule.as_deref().filter(|r| !r.is_empty()),
            limit,
        )
        .await?;
    Ok(Json(EventsAnswer { events }))
}
