//! Window rules: every few seconds, each project's window rules measure the runs their query
//! matches that started within the window.

use std::sync::Weak;
use std::time::Duration;

use lemma_core::alerts::{AlertCondition, AlertRule, Measure};
use lemma_core::stats::Totals;
use lemma_store::{ProjectId, StatsQuery};

use super::{Alerts, Context};

/// How often windows are measured.
pub const TICK: Duration = Duration::from_secs(5);

pub async fn run(alerts: Weak<Alerts>) {
    loop {
        tokio::time::sleep(TICK).await;
        let Some(alerts) = alerts.upgrade() else {
            return;
        };
        let projects = match alerts.store.list_projects().await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "listing projects for alert windows failed");
                continue;
            }
        };
        for p in projects {
            if let Err(e) = check(&alerts, p.id).await {
                tracing::warn!(error = %e, project = p.name, "measuring alert windows failed");
            }
        }
    }
}

async fn check(alerts: &Alerts, project: ProjectId) -> lemma_store::Result<()> {
    let config = alerts.config(project).await?;
    for rule in config.rules.iter().filter(|r| r.enabled) {
        let AlertCondition::Window {
            measure,
            op,
            threshold,
            window_secs,
        } = rule.condition
        else {
            continue;
        };
        let now = crate::api::now_unix_nano();
        let filter = lemma_core::query::parse(&rule.query, now)
            .map_err(|e| lemma_store::StoreError::Invalid(e.to_string()))?;
        let stats = alerts
            .store
            .stats(
                project,
                StatsQuery {
                    filter,
                    from_unix_nano: now.saturating_sub(window_secs * 1_000_000_000),
                    to_unix_nano: now,
                    bucket_seconds: window_secs,
                },
            )
            .await?;
        let value = value(measure, &stats.totals);
        let firing = op.holds(value, threshold);
        let ctx = Context {
            run: None,
            signals: &[],
            value: Some(value),
            message: message(rule, value, firing),
        };
        alerts
            .transition(project, &config, rule, "window", firing, ctx)
            .await?;
    }
    Ok(())
}

/// The measure over the window's runs; over no runs every measure is 0, so a rule fired by
/// runs resolves once they have left the window.
pub fn value(measure: Measure, t: &Totals) -> f64 {
    match measure {
        Measure::Count => t.runs as f64,
        Measure::ErrorRate => t.error_rate,
        Measure::P95LatencyMs => t.p95_ms.unwrap_or(0.0),
        Measure::CostUsd => t.cost_usd.unwrap_or(0.0),
    }
}

fn message(rule: &AlertRule, value: f64, firing: bool) -> String {
    let AlertCondition::Window {
        measure,
        op,
        threshold,
        window_secs,
    } = rule.condition
    else {
        return String::new();
    };
    let shown = match measure {
        Measure::ErrorRate => format!("{:.1}%", value * 100.0),
        Measure::CostUsd => format!("${value:.4}"),
        Measure::Count => format!("{value}"),
        Measure::P95LatencyMs => format!("{value:.0} ms"),
    };
    let over = match rule.query.is_empty() {
        true => "all runs".to_string(),
        false => format!("runs matching {:?}", rule.query),
    };
    let when = if firing { "is" } else { "is back to" };
    format!(
        "{} of {over} over the last {window_secs} s {when} {shown} (alert when {} {threshold})",
        measure.name(),
        op.symbol()
    )
}
