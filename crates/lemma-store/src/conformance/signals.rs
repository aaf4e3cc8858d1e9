//! Signals: evaluations kept per run, filters over them, counts over time and thresholds, the
//! same in every store.

use lemma_core::signals::SignalSettings;
use lemma_core::{RunSignal, Severity, SignalSource};
use serde_json::json;

use super::{run_ids, span};
use crate::{ProjectId, RunSignals, Store, StoreError};

const SECOND: u64 = 1_000_000_000;
const BASE: u64 = 3_000 * 3_600 * SECOND;

fn run_id(trace: u8) -> String {
    format!("{trace:032x}")
}

fn signal(kind: &str, severity: Severity) -> RunSignal {
    RunSignal {
        kind: kind.into(),
        severity,
        span_id: Some(format!("{:016x}", 2)),
        explanation: format!("{kind} happened"),
        repeats: 3,
        ..RunSignal::default()
    }
}

fn found(trace: u8, at: u64, signals: Vec<RunSignal>) -> RunSignals {
    RunSignals {
        run_id: run_id(trace),
        evaluated_unix_nano: at,
        span_count: 2,
        start_unix_nano: BASE + u64::from(trace) * SECOND,
        signals,
    }
}

pub async fn signals<S: Store>(store: &S) {
    let p = store.create_project("signalling").await.unwrap().id;
    let q = store.create_project("quiet").await.unwrap().id;
    for trace in [201u8, 202, 203] {
        let start = BASE + u64::from(trace) * SECOND;
        store
            .write_spans(vec![
                (p, span(trace, 1, None, "agent", start, json!({}))),
                (
                    p,
                    span(
                        trace,
                        2,
                        Some(1),
                        "classify",
                        start + 1_000,
                        json!({"lemma.signal.off_topic": true,
                               "lemma.signal.off_topic.severity": "critical",
                               "lemma.signal.toxicity": 0.25}),
                    ),
                ),
            ])
            .await
            .unwrap();
    }
    store
        .write_spans(vec![(q, span(201, 1, None, "agent", BASE, json!({})))])
        .await
        .unwrap();

    digests(store, p, q).await;
    evaluations(store, p, q).await;
    filters(store, p, q).await;
    counts(store, p, q).await;
    settings(store, p, q).await;

    // Deleting a run deletes its evaluation.
    assert!(store.delete_run(p, &run_id(202)).await.unwrap());
    assert!(store
        .signals_of(p, &[run_id(202)])
        .await
        .unwrap()
        .is_empty());
}

async fn digests<S: Store>(store: &S, p: ProjectId, q: ProjectId) {
    let mut d = store
        .run_digests(p, &run_id(201))
        .await
        .unwrap()
        .expect("digests");
    d.sort_by(|a, b| a.span_id.cmp(&b.span_id));
    assert_eq!(d.len(), 2);
    assert_eq!(d[1].name, "classify");
    let marks: Vec<(&str, Option<Severity>, Option<f64>)> = d[1]
        .marks
        .iter()
        .map(|m| (m.name.as_str(), m.severity, m.score))
        .collect();
    assert_eq!(
        marks,
        [
            ("off_topic", Some(Severity::Critical), None),
            ("toxicity", None, Some(0.25))
        ],
        "marks written onto a span read back in its digest"
    );
    assert!(d[0].marks.is_empty());
    assert_eq!(store.run_digests(p, &run_id(99)).await.unwrap(), None);
    assert_eq!(
        store.run_digests(q, &run_id(202)).await.unwrap(),
        None,
        "another project's run"
    );
    assert_eq!(store.run_digests(p, "not-a-run").await.unwrap(), None);
}

async fn evaluations<S: Store>(store: &S, p: ProjectId, q: ProjectId) {
    let first = found(
        201,
        10,
        vec![
            signal("error_streak", Severity::Critical),
            RunSignal {
                source: SignalSource::Attribute,
                score: Some(0.25),
                label: Some("mild".into()),
                ..signal("toxicity", Severity::Info)
            },
        ],
    );
    store.put_signals(p, first.clone()).await.unwrap();
    store
        .put_signals(
            p,
            found(202, 10, vec![signal("stalled", Severity::Warning)]),
        )
        .await
        .unwrap();
    let got = store
        .signals_of(p, &[run_id(201), run_id(203), run_id(99)])
        .await
        .unwrap();
    assert_eq!(
        got,
        vec![first.clone()],
        "what was put reads back, runs without none"
    );
    assert!(
        store
            .signals_of(q, &[run_id(201)])
            .await
            .unwrap()
            .is_empty(),
        "per project"
    );
    assert!(store.signals_of(p, &[]).await.unwrap().is_empty());

    // An evaluation that read the spans earlier does not replace a later one...
    store
        .put_signals(p, found(201, 5, vec![signal("stale", Severity::Info)]))
        .await
        .unwrap();
    assert_eq!(
        store.signals_of(p, &[run_id(201)]).await.unwrap(),
        vec![first.clone()]
    );
    // ...a later one does, even when it found nothing: the stalled run went on.
    store.put_signals(p, found(202, 20, vec![])).await.unwrap();
    let got = store.signals_of(p, &[run_id(202)]).await.unwrap();
    assert_eq!(got.len(), 1);
    assert!(got[0].signals.is_empty());
    assert_eq!(got[0].evaluated_unix_nano, 20);
    store
        .put_signals(
            p,
            found(202, 30, vec![signal("rephrase", Severity::Warning)]),
        )
        .await
        .unwrap();
    // A run id that is not one is refused.
    let mut bad = found(1, 1, vec![]);
    bad.run_id = "not-a-run".into();
    assert!(matches!(
        store.put_signals(p, bad).await,
        Err(StoreError::Invalid(_))
    ));
}

async fn filters<S: Store>(store: &S, p: ProjectId, q: ProjectId) {
    let (r201, r202, r203) = (run_id(201), run_id(202), run_id(203));
    assert_eq!(
        run_ids(store, p, "signal:error_streak").await,
        std::slice::from_ref(&r201)
    );
    assert_eq!(
        run_ids(store, p, "signal:error*").await,
        std::slice::from_ref(&r201)
    );
    assert_eq!(
        run_ids(store, p, "signal:rephrase,toxicity").await,
        [r202.clone(), r201.clone()]
    );
    assert_eq!(
        run_ids(store, p, "signal.severity:critical").await,
        std::slice::from_ref(&r201)
    );
    assert_eq!(
        run_ids(store, p, "signal.severity:warning,info").await,
        [r202.clone(), r201.clone()]
    );
    assert_eq!(
        run_ids(store, p, "signal.severity:warning signal:toxicity").await,
        Vec::<String>::new()
    );
    assert_eq!(
        run_ids(store, p, "-signal:error_streak").await,
        [r203.clone(), r202.clone()]
    );
    assert_eq!(
        run_ids(store, p, "has:signal").await,
        [r202.clone(), r201.clone()]
    );
    assert_eq!(run_ids(store, p, "-has:signal").await, [r203]);
    // The stale evaluation's signal is gone, and another project sees none of it.
    assert!(run_ids(store, p, "signal:stale").await.is_empty());
    assert!(run_ids(store, q, "has:signal").await.is_empty());
    assert!(run_ids(store, q, "signal:error_streak").await.is_empty());
}

async fn counts<S: Store>(store: &S, p: ProjectId, q: ProjectId) {
    let since = BASE + 200 * SECOND;
    let got = store
        .signal_counts(p, since, since + 10 * SECOND, 2 * SECOND)
        .await
        .unwrap();
    let got: Vec<(u64, &str, &str, u64)> = got
        .iter()
        .map(|c| {
            (
                (c.bucket_unix_nano - since) / SECOND,
                c.name.as_str(),
                c.severity.as_str(),
                c.runs,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (0, "error_streak", "critical", 1),
            (0, "toxicity", "info", 1),
            (2, "rephrase", "warning", 1),
        ],
        "runs 201 and 202 start 1 and 2 seconds after `since`"
    );
    // Outside the window, and in another project: nothing.
    assert!(store
        .signal_counts(p, since + 10 * SECOND, since + 20 * SECOND, SECOND)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .signal_counts(q, since, since + 10 * SECOND, SECOND)
        .await
        .unwrap()
        .is_empty());
}

async fn settings<S: Store>(store: &S, p: ProjectId, q: ProjectId) {
    assert_eq!(
        store.signal_settings(p).await.unwrap(),
        SignalSettings::default()
    );
    let mine = SignalSettings {
        error_streak: 5,
        stall_after_secs: 60,
        ..SignalSettings::default()
    };
    store.set_signal_settings(p, &mine).await.unwrap();
    assert_eq!(store.signal_settings(p).await.unwrap(), mine);
    assert_eq!(
        store.signal_settings(q).await.unwrap(),
        SignalSettings::default(),
        "per project"
    );
    let bad = SignalSettings {
        context_share: 2.0,
        ..SignalSettings::default()
    };
    assert!(matches!(
        store.set_signal_settings(p, &bad).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        store.signal_settings(p).await.unwrap(),
        mine,
        "a refused change changes nothing"
    );
    // Set again: the newest holds.
    store
        .set_signal_settings(p, &SignalSettings::default())
        .await
        .unwrap();
    assert_eq!(
        store.signal_settings(p).await.unwrap(),
        SignalSettings::default()
    );
}
