//! Alert rules, channels and events: the same answers from every store.

use lemma_core::alerts::{
    AlertCondition, AlertConfig, AlertEvent, AlertRule, AlertState, Channel, ChannelKind, CmpOp,
    Delivery, DeliveryStatus, Measure,
};

use crate::{Store, StoreError};

fn config() -> AlertConfig {
    AlertConfig {
        version: 0,
        channels: vec![Channel {
            id: "ch_1".into(),
            name: "ops".into(),
            kind: ChannelKind::Slack,
            url: "https://hooks.example.com/T/B/X".into(),
            secret: Some("s3cret".into()),
        }],
        rules: vec![
            AlertRule {
                id: "ar_1".into(),
                name: "critical signals".into(),
                query: "signal.severity:critical env:prod".into(),
                condition: AlertCondition::EachRun,
                channels: vec!["ch_1".into()],
                enabled: true,
            },
            AlertRule {
                id: "ar_2".into(),
                name: "error rate".into(),
                query: String::new(),
                condition: AlertCondition::Window {
                    measure: Measure::ErrorRate,
                    op: CmpOp::Gt,
                    threshold: 0.2,
                    window_secs: 300,
                },
                channels: vec![],
                enabled: false,
            },
        ],
    }
}

fn event(id: &str, rule: &str, at: u64, state: AlertState) -> AlertEvent {
    AlertEvent {
        id: id.into(),
        rule_id: rule.into(),
        rule_name: "critical signals".into(),
        key: "run".into(),
        state,
        at_unix_nano: at,
        run_id: Some(format!("{:032x}", 7)),
        value: None,
        message: "run 7 matched".into(),
        deliveries: vec![Delivery {
            channel_id: "ch_1".into(),
            status: DeliveryStatus::Pending,
            attempts: 0,
            response_status: None,
            error: None,
        }],
    }
}

pub async fn alerts<S: Store>(store: &S) {
    let p = store.create_project("alerting").await.unwrap().id;
    let q = store.create_project("not-alerting").await.unwrap().id;

    assert_eq!(store.alert_config(p).await.unwrap(), AlertConfig::default());
    let v1 = store.set_alert_config(p, &config(), 0).await.unwrap();
    assert_eq!(v1, 1);
    let stored = store.alert_config(p).await.unwrap();
    assert_eq!(
        stored,
        AlertConfig {
            version: 1,
            ..config()
        },
        "reads back whole, secret too"
    );
    assert_eq!(
        store.alert_config(q).await.unwrap(),
        AlertConfig::default(),
        "per project"
    );

    // A change over an older version is refused, and changes nothing.
    let mut other = config();
    other.rules.truncate(1);
    assert!(matches!(
        store.set_alert_config(p, &other, 0).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.alert_config(p).await.unwrap().rules.len(), 2);
    assert_eq!(store.set_alert_config(p, &other, 1).await.unwrap(), 2);
    assert_eq!(store.alert_config(p).await.unwrap().rules.len(), 1);

    // Rules that cannot be kept are refused with the reason.
    let mut bad = config();
    bad.rules[0].query = "signal.severity:nope".into();
    match store.set_alert_config(p, &bad, 2).await {
        Err(StoreError::Invalid(m)) => assert!(m.contains("unknown severity"), "{m}"),
        other => panic!("{other:?}"),
    }
    let mut bad = config();
    bad.rules[0].channels = vec!["ch_missing".into()];
    assert!(matches!(
        store.set_alert_config(p, &bad, 2).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(store.alert_config(p).await.unwrap().version, 2);

    // Events: newest first, per rule, replaced by id as their deliveries go on.
    let first = event("ae_1", "ar_1", 10, AlertState::Firing);
    store.put_alert_event(p, &first).await.unwrap();
    store
        .put_alert_event(p, &event("ae_2", "ar_2", 20, AlertState::Firing))
        .await
        .unwrap();
    store
        .put_alert_event(p, &event("ae_3", "ar_1", 30, AlertState::Resolved))
        .await
        .unwrap();
    let mut delivered = first.clone();
    delivered.deliveries[0].status = DeliveryStatus::Delivered;
    delivered.deliveries[0].attempts = 2;
    delivered.deliveries[0].response_status = Some(200);
    store.put_alert_event(p, &delivered).await.unwrap();
    let all = store.alert_events(p, None, 10).await.unwrap();
    let ids: Vec<&str> = all.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["ae_3", "ae_2", "ae_1"]);
    assert_eq!(all[2], delivered);
    let of_rule: Vec<String> = store
        .alert_events(p, Some("ar_1"), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(of_rule, ["ae_3", "ae_1"]);
    assert_eq!(store.alert_events(p, None, 1).await.unwrap().len(), 1);
    assert!(
        store.alert_events(q, None, 10).await.unwrap().is_empty(),
        "per project"
    );
}
