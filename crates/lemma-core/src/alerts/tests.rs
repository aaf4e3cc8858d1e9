use super::*;
use crate::run::{Run, RunSignal, Severity};

fn no_parse(_: &str) -> Result<(), String> {
    Ok(())
}

fn channel(id: &str) -> Channel {
    Channel {
        id: id.into(),
        name: "ops".into(),
        kind: ChannelKind::Webhook,
        url: "https://hooks.example.com/x".into(),
        secret: Some("s3cret".into()),
    }
}

fn rule(condition: AlertCondition) -> AlertRule {
    AlertRule {
        id: "ar_1".into(),
        name: "loops in prod".into(),
        query: "signal:loop".into(),
        condition,
        channels: vec!["ch_1".into()],
        enabled: true,
    }
}

fn window(measure: Measure, threshold: f64, window_secs: u64) -> AlertCondition {
    AlertCondition::Window {
        measure,
        op: CmpOp::Gt,
        threshold,
        window_secs,
    }
}

#[test]
fn rules_are_checked_with_reasons() {
    let channels = [channel("ch_1")];
    assert!(rule(AlertCondition::EachRun)
        .validate(&channels, no_parse)
        .is_ok());
    let err = |r: AlertRule| r.validate(&channels, no_parse).unwrap_err();
    assert!(err(rule(window(Measure::Count, 5.0, 5))).contains("window_secs"));
    assert!(err(rule(window(Measure::Count, 5.0, 31 * 86_400))).contains("window_secs"));
    assert!(err(rule(window(Measure::ErrorRate, 1.5, 300))).contains("never be passed"));
    assert!(err(rule(window(Measure::CostUsd, f64::NAN, 300))).contains("threshold"));
    let mut r = rule(AlertCondition::EachRun);
    r.channels = vec!["ch_9".into()];
    assert!(err(r).contains("no channel \"ch_9\""));
    let mut r = rule(AlertCondition::EachRun);
    r.name = " ".into();
    assert!(err(r).contains("name"));
    let bad_query = rule(AlertCondition::EachRun)
        .validate(&channels, |_| Err("at position 0: nope".into()))
        .unwrap_err();
    assert_eq!(bad_query, "the rule's query is invalid at position 0: nope");
}

#[test]
fn channels_need_a_web_url() {
    assert!(channel("c").validate().is_ok());
    for url in ["ftp://x", "hooks.example.com", "https://a b", ""] {
        let c = Channel {
            url: url.into(),
            ..channel("c")
        };
        assert!(c.validate().unwrap_err().contains("url"), "{url}");
    }
}

#[test]
fn a_config_needs_unique_ids() {
    let config = AlertConfig {
        version: 1,
        rules: vec![rule(AlertCondition::EachRun)],
        channels: vec![channel("ch_1"), channel("ch_1")],
    };
    assert!(config.validate(no_parse).unwrap_err().contains("unique"));
}

#[test]
fn conditions_and_events_serialise_as_documented() {
    let json = serde_json::to_value(window(Measure::P95LatencyMs, 2_000.0, 300)).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"type": "window", "measure": "p95_latency_ms", "op": ">", "threshold": 2000.0, "window_secs": 300})
    );
    assert!(CmpOp::Ge.holds(2.0, 2.0) && !CmpOp::Gt.holds(2.0, 2.0) && CmpOp::Lt.holds(1.0, 2.0));
    let a = event_id("ar_1", "run", AlertState::Firing, None);
    assert_eq!(
        a,
        event_id("ar_1", "run", AlertState::Firing, None),
        "the same on every server"
    );
    assert_ne!(a, event_id("ar_1", "run", AlertState::Resolved, None));
    assert_ne!(a, event_id("ar_1", "run", AlertState::Firing, Some("ae_x")));
    assert!(a.starts_with("ae_") && a.len() == 27);
}

#[test]
fn slack_messages_cannot_be_made_into_links_by_span_content() {
    let event = AlertEvent {
        id: "ae_1".into(),
        rule_id: "ar_1".into(),
        rule_name: "<!channel> rule".into(),
        key: "r".into(),
        state: AlertState::Firing,
        at_unix_nano: 1,
        run_id: Some("r".into()),
        value: None,
        message: "run <http://evil|click> & more".into(),
        deliveries: vec![],
    };
    let signal = RunSignal {
        kind: "loop".into(),
        severity: Severity::Warning,
        explanation: "<@U123> ping".into(),
        ..RunSignal::default()
    };
    let run = Run {
        run_id: "r".into(),
        ..Run::default()
    };
    let n = Notice {
        project: "default",
        event: &event,
        run: Some(&run),
        signals: std::slice::from_ref(&signal),
        link: Some("https://lemma.example.com/runs/r".into()),
        test: false,
    };
    let text = slack_body(&n)["text"].as_str().unwrap().to_string();
    assert!(
        !text.contains("<!channel>") && !text.contains("<http://evil") && !text.contains("<@U123>"),
        "{text}"
    );
    assert!(
        text.contains("&lt;!channel&gt;") && text.contains("&amp; more"),
        "{text}"
    );
    assert!(
        text.ends_with("<https://lemma.example.com/runs/r|Open in Lemma>"),
        "{text}"
    );
    let body = webhook_body(&n);
    assert_eq!(body["type"], "alert.firing");
    assert_eq!(body["event"]["message"], "run <http://evil|click> & more");
    assert_eq!(body["run"]["in_progress"], true);
    assert_eq!(body["signals"][0]["kind"], "loop");
}
