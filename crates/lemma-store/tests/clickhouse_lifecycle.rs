//! The ClickHouse store's rows over their life: deleted runs, re-priced spans, metric events
//! of deleted runs. Rows are only added; these tests check that reads pick the live ones at
//! once, before ClickHouse removes or merges anything.

mod ch_common;

use std::time::{Duration, Instant};

use ch_common::{run_id, span, Fixture};
use lemma_core::pricing::{self, Price, PriceTable};
use lemma_core::{CostSource, LogRecord, MetricEvent, MetricValue, RunSignal};
use lemma_store::{ListQuery, RunSignals, StatsQuery, Store};
use serde_json::json;

const SECOND: u64 = 1_000_000_000;

fn all_time() -> StatsQuery {
    StatsQuery {
        from_unix_nano: 0,
        to_unix_nano: 3_600 * SECOND,
        bucket_seconds: 3_600,
        ..StatsQuery::default()
    }
}

fn metric(run: u8, id: &str, name: &str, value: f64) -> MetricEvent {
    MetricEvent {
        id: id.into(),
        run_id: run_id(run),
        span_id: None,
        name: name.into(),
        value: MetricValue::Number(value),
        comment: None,
        source: Some("user".into()),
        time_unix_nano: 1,
    }
}

fn evaluation_record(run: u8, span: u8) -> LogRecord {
    LogRecord {
        trace_id: Some(run_id(run)),
        span_id: Some(format!("{span:016x}")),
        time_unix_nano: 5,
        event_name: Some("gen_ai.evaluation.result".into()),
        attributes: json!({"gen_ai.evaluation.name": "faithfulness",
                           "gen_ai.evaluation.score.value": 1})
        .as_object()
        .cloned()
        .unwrap(),
        ..LogRecord::default()
    }
}

async fn count(client: &clickhouse::Client, sql: &str, trace: &str) -> u64 {
    client.query(sql).bind(trace).fetch_one().await.unwrap()
}

/// Waits until ClickHouse ran every mutation.
async fn mutations_done(client: &clickhouse::Client) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let pending: u64 = client
            .query("SELECT count() FROM system.mutations WHERE is_done = 0")
            .fetch_one()
            .await
            .unwrap();
        if pending == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{pending} mutations still pending"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_run_is_gone_at_once_and_a_resent_span_starts_it_anew() {
    let f = Fixture::start().await;
    let (store, client) = (&f.store, f.client());
    let p = store.create_project("alpha").await.unwrap().id;
    let root = span(
        1,
        1,
        None,
        "invoke_agent",
        SECOND,
        json!({"gen_ai.agent.name": "bot"}),
    );
    let judged = span(
        1,
        2,
        Some(1),
        "judge",
        SECOND + 1,
        json!({"annotations.0.annotation.name": "correctness",
               "annotations.0.annotation.score": 0.5}),
    );
    let other = span(2, 1, None, "invoke_agent", 2 * SECOND, json!({}));
    store
        .write_spans(vec![(p, root), (p, judged.clone()), (p, other)])
        .await
        .unwrap();
    store
        .write_metrics(p, vec![metric(1, "", "quality", 0.5)])
        .await
        .unwrap();
    store
        .write_logs(vec![(p, evaluation_record(1, 2))])
        .await
        .unwrap();
    assert_eq!(store.list_metrics(p, &run_id(1)).await.unwrap().len(), 3);
    let evaluation = RunSignals {
        run_id: run_id(1),
        evaluated_unix_nano: 1,
        span_count: 2,
        start_unix_nano: SECOND,
        signals: vec![RunSignal {
            kind: "stalled".into(),
            ..RunSignal::default()
        }],
    };
    store.put_signals(p, evaluation).await.unwrap();

    // Nothing may remove rows: reads must hide them by themselves.
    client.query("SYSTEM STOP MERGES").execute().await.unwrap();
    assert!(store.delete_run(p, &run_id(1)).await.unwrap());
    let spans_sql = "SELECT count() FROM spans WHERE trace_id = ?";
    assert_eq!(
        count(&client, spans_sql, &run_id(1)).await,
        2,
        "rows still stored"
    );
    let asked: Vec<String> = client
        .query("SELECT table FROM system.mutations WHERE database = 'lemma' ORDER BY table")
        .fetch_all()
        .await
        .unwrap();
    assert_eq!(
        asked,
        ["logs", "metrics", "run_signals", "span_terms", "spans"]
    );

    assert!(store.get_run(p, &run_id(1)).await.unwrap().is_none());
    assert!(store.run_summary(p, &run_id(1)).await.unwrap().is_none());
    assert!(store.run_outline(p, &run_id(1)).await.unwrap().is_none());
    assert!(store.list_metrics(p, &run_id(1)).await.unwrap().is_empty());
    assert!(store.signals_of(p, &[run_id(1)]).await.unwrap().is_empty());
    let stats = store.stats(p, all_time()).await.unwrap();
    assert_eq!(stats.totals.runs, 1);
    assert!(stats.by_metric.is_empty(), "{:?}", stats.by_metric);
    assert!(!store.delete_run(p, &run_id(1)).await.unwrap());
    assert!(store.get_run(p, &run_id(2)).await.unwrap().is_some());

    // A re-sent span starts the run anew: it alone, with what it carries, and nothing else.
    let w = store.write_spans(vec![(p, judged.clone())]).await.unwrap();
    assert_eq!((w.inserted, w.duplicates), (1, 0));
    let (run, spans) = store.get_run(p, &run_id(1)).await.unwrap().unwrap();
    assert_eq!((run.span_count, run.has_root), (1, false));
    assert_eq!(spans.len(), 1);
    assert!(
        spans[0].logs.is_empty(),
        "the record belonged to the deleted run"
    );
    let names: Vec<String> = store
        .list_metrics(p, &run_id(1))
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(names, ["correctness"]);
    assert!(
        store.signals_of(p, &[run_id(1)]).await.unwrap().is_empty(),
        "the evaluation belonged to the deleted run"
    );
    let stalled = ListQuery {
        filter: lemma_core::query::parse("signal:stalled", u64::MAX / 2).unwrap(),
        limit: 10,
        cursor: None,
        order: Default::default(),
    };
    assert!(store.list_runs(p, stalled).await.unwrap().items.is_empty());
    assert_eq!(store.stats(p, all_time()).await.unwrap().totals.runs, 2);

    // Once ClickHouse removed the deleted generation's rows, reads answer the same.
    client.query("SYSTEM START MERGES").execute().await.unwrap();
    mutations_done(&client).await;
    assert_eq!(count(&client, spans_sql, &run_id(1)).await, 1);
    let metrics_sql = "SELECT count() FROM metrics WHERE trace_id = ?";
    assert_eq!(count(&client, metrics_sql, &run_id(1)).await, 1);
    let logs_sql = "SELECT count() FROM logs WHERE trace_id = ?";
    assert_eq!(count(&client, logs_sql, &run_id(1)).await, 0);
    let (run, _) = store.get_run(p, &run_id(1)).await.unwrap().unwrap();
    assert_eq!(run.span_count, 1);
    assert!(store.delete_run(p, &run_id(1)).await.unwrap());
    assert!(store.get_run(p, &run_id(1)).await.unwrap().is_none());
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

fn llm(trace: u8, id: u8, model: Option<&str>, provided: Option<f64>) -> lemma_core::Span {
    let mut attrs = json!({
        "gen_ai.operation.name": "chat",
        "gen_ai.usage.input_tokens": 1_000_000, "gen_ai.usage.output_tokens": 1_000_000,
    });
    if let Some(m) = model {
        attrs["gen_ai.request.model"] = json!(m);
    }
    if let Some(c) = provided {
        attrs["lemma.cost_usd"] = json!(c);
    }
    let mut s = span(trace, id, Some(1), "chat", SECOND + id as u64, attrs);
    pricing::price_span(&mut s, PriceTable::builtin());
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reprice_changes_only_computed_costs_and_the_run_follows() {
    let f = Fixture::start().await;
    let (store, client) = (&f.store, f.client());
    let p = store.create_project("alpha").await.unwrap().id;
    let root = span(1, 1, None, "invoke_agent", SECOND, json!({}));
    let spans = vec![
        (p, root),
        (p, llm(1, 2, Some("gpt-4o-mini"), None)),
        (p, llm(1, 3, Some("gpt-4o-mini"), Some(5.0))),
        (p, llm(1, 4, None, None)),
        (p, llm(1, 5, Some("unknown-model"), None)),
    ];
    store.write_spans(spans).await.unwrap();
    let (run, _) = store.get_run(p, &run_id(1)).await.unwrap().unwrap();
    assert!(close(run.cost_usd, 5.75), "{:?}", run.cost_usd);

    let price = Price {
        input: 10.0,
        output: 10.0,
        cache_read: None,
        cache_write: None,
        reasoning: None,
    };
    let table = PriceTable::with_overrides([("gpt-4o-mini", price)]);
    assert_eq!(store.reprice(p, &table).await.unwrap(), 1);
    let (run, spans) = store.get_run(p, &run_id(1)).await.unwrap().unwrap();
    assert!(close(run.cost_usd, 25.0), "{:?}", run.cost_usd);
    let costs: Vec<_> = spans.iter().map(|s| (s.cost_usd, s.cost_source)).collect();
    assert_eq!(
        costs,
        [
            (None, None),
            (Some(20.0), Some(CostSource::Computed)),
            (Some(5.0), Some(CostSource::Provided)),
            (None, None),
            (None, None),
        ]
    );
    assert_eq!(
        spans[1].name, "chat",
        "the body is the span's, but its cost"
    );
    let versions: Vec<u32> = client
        .query("SELECT version FROM spans WHERE span_id = ? ORDER BY version")
        .bind(format!("{:016x}", 2))
        .fetch_all()
        .await
        .unwrap();
    assert_eq!(versions, [0, 1], "a new row, the old one left");
    let by_model = store.stats(p, all_time()).await.unwrap().by_model;
    let mini = by_model.iter().find(|m| m.model == "gpt-4o-mini").unwrap();
    assert!(close(mini.cost_usd, 25.0), "{by_model:?}");
    assert_eq!(
        store.reprice(p, &table).await.unwrap(),
        0,
        "nothing left to change"
    );

    // A span arriving later summarises the run from the re-priced rows.
    store
        .write_spans(vec![(p, llm(1, 6, Some("gpt-4o-mini"), None))])
        .await
        .unwrap();
    let run = store.run_summary(p, &run_id(1)).await.unwrap().unwrap();
    assert!(close(run.cost_usd, 25.75), "{:?}", run.cost_usd);
    // Re-pricing another span of the run again: its summary follows once more.
    assert_eq!(store.reprice(p, &table).await.unwrap(), 1);
    let run = store.run_summary(p, &run_id(1)).await.unwrap().unwrap();
    assert!(close(run.cost_usd, 45.0), "{:?}", run.cost_usd);

    // A deleted run's spans are not re-priced.
    assert!(store.delete_run(p, &run_id(1)).await.unwrap());
    assert_eq!(store.reprice(p, PriceTable::builtin()).await.unwrap(), 0);
    assert!(store.run_summary(p, &run_id(1)).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_of_a_deleted_run_are_gone() {
    let f = Fixture::start().await;
    let store = &f.store;
    let p = store.create_project("alpha").await.unwrap().id;
    store
        .write_spans(vec![(p, span(1, 1, None, "agent", SECOND, json!({})))])
        .await
        .unwrap();
    store
        .write_metrics(p, vec![metric(1, "fixed", "quality", 1.0)])
        .await
        .unwrap();
    // A client's id names its event: sent again, the first one stays.
    store
        .write_metrics(p, vec![metric(1, "fixed", "quality", 2.0)])
        .await
        .unwrap();
    store
        .write_logs(vec![(p, evaluation_record(1, 1))])
        .await
        .unwrap();
    let listed = store.list_metrics(p, &run_id(1)).await.unwrap();
    let values: Vec<_> = listed.iter().map(|m| (m.name.as_str(), &m.value)).collect();
    assert_eq!(
        values,
        [
            ("quality", &MetricValue::Number(1.0)),
            ("faithfulness", &MetricValue::Number(1.0))
        ]
    );
    assert_eq!(store.stats(p, all_time()).await.unwrap().by_metric.len(), 2);

    assert!(store.delete_run(p, &run_id(1)).await.unwrap());
    assert!(store.list_metrics(p, &run_id(1)).await.unwrap().is_empty());
    assert!(store
        .stats(p, all_time())
        .await
        .unwrap()
        .by_metric
        .is_empty());

    // The deleted run's ids are free again; the run is started anew by its events alone.
    store
        .write_metrics(p, vec![metric(1, "fixed", "quality", 3.0)])
        .await
        .unwrap();
    let listed = store.list_metrics(p, &run_id(1)).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].value, MetricValue::Number(3.0));
    assert!(
        store.delete_run(p, &run_id(1)).await.unwrap(),
        "its events are the run's"
    );
    assert!(store.list_metrics(p, &run_id(1)).await.unwrap().is_empty());
}

/// Two servers share the store: a key revoked through one stops working there at once, and on
/// the other (which authenticated it just before) within `KEY_CACHE_TTL`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_key_stops_working_everywhere_within_the_key_cache_ttl() {
    use lemma_store::clickhouse::{ClickHouseStore, KEY_CACHE_TTL};
    use lemma_store::Credential;

    let f = Fixture::start().await;
    let other = ClickHouseStore::open(&format!(
        "clickhouse://127.0.0.1:{}/lemma",
        f.server.http_port
    ))
    .await
    .unwrap();
    f.store.create_project("shop").await.unwrap();
    let key = f
        .store
        .create_key("shop", None, lemma_store::KeyScope::Read)
        .await
        .unwrap();
    let credential = Credential::Key(key.secret.clone());
    let project = |found: Option<lemma_store::KeyGrant>| found.map(|g| g.project.name);
    assert_eq!(
        project(other.authenticate(&credential).await.unwrap()),
        Some("shop".into()),
        "a key created through one server works on the other at its first request"
    );

    assert!(f.store.revoke_key(&key.info.public_key).await.unwrap());
    let revoked_at = Instant::now();
    assert_eq!(
        project(f.store.authenticate(&credential).await.unwrap()),
        None
    );
    while project(other.authenticate(&credential).await.unwrap()).is_some() {
        assert!(
            revoked_at.elapsed() < KEY_CACHE_TTL + Duration::from_secs(1),
            "the other server still takes the key {:?} after its revocation",
            revoked_at.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn runs_matching(store: &impl Store, p: lemma_store::ProjectId, q: &str) -> Vec<String> {
    let query = ListQuery {
        filter: lemma_core::query::parse(q, u64::MAX / 2).unwrap(),
        limit: 10,
        cursor: None,
        order: Default::default(),
    };
    let page = store.list_runs(p, query).await.unwrap();
    page.items.into_iter().map(|r| r.run_id).collect()
}

/// A deleted dataset is gone at once and its name starts again from version 1; a deleted
/// run's links are gone at once, and the links they replaced stay replaced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_datasets_and_runs_leave_experiments_at_once() {
    use lemma_core::experiments::{Case, CaseRun, DatasetVersion, Experiment};

    let f = Fixture::start().await;
    let (store, client) = (&f.store, f.client());
    let p = store.create_project("alpha").await.unwrap().id;
    let version = |input: &str| DatasetVersion {
        name: "support".into(),
        description: input.into(),
        version: 0,
        created_at_unix_nano: 0,
        cases: vec![Case {
            id: "a".into(),
            input: json!(input),
            ..Case::default()
        }],
    };
    store.put_dataset(p, version("one"), 0).await.unwrap();
    store.put_dataset(p, version("two"), 1).await.unwrap();
    store
        .create_experiment(
            p,
            Experiment {
                name: "e".into(),
                dataset: "support".into(),
                dataset_version: 2,
                description: String::new(),
                metadata: Default::default(),
                created_at_unix_nano: 0,
            },
        )
        .await
        .unwrap();

    // Nothing may remove rows: reads must hide them by themselves.
    client.query("SYSTEM STOP MERGES").execute().await.unwrap();
    assert!(store.delete_dataset(p, "support").await.unwrap());
    assert_eq!(store.dataset(p, "support", None).await.unwrap(), None);
    assert_eq!(store.dataset(p, "support", Some(2)).await.unwrap(), None);
    assert!(store.list_datasets(p).await.unwrap().is_empty());
    assert!(!store.delete_dataset(p, "support").await.unwrap());
    let again = store.put_dataset(p, version("anew"), 0).await.unwrap();
    assert_eq!(again.version, 1);
    assert_eq!(
        store.dataset(p, "support", None).await.unwrap(),
        Some(again.clone())
    );
    assert_eq!(store.dataset(p, "support", Some(2)).await.unwrap(), None);
    let listed = store.list_datasets(p).await.unwrap();
    assert_eq!((listed.len(), listed[0].version), (1, 1));
    assert_eq!(listed[0].description, "anew");

    for trace in [1u8, 2] {
        store
            .write_spans(vec![(
                p,
                span(
                    trace,
                    1,
                    None,
                    "agent",
                    u64::from(trace) * SECOND,
                    json!({}),
                ),
            )])
            .await
            .unwrap();
    }
    let link = |t: u8| CaseRun {
        case_id: "a".into(),
        run_id: run_id(t),
    };
    store.link_runs(p, "e", &[link(1)]).await.unwrap();
    store.link_runs(p, "e", &[link(2)]).await.unwrap();
    assert_eq!(runs_matching(store, p, "case:a").await, [run_id(2)]);
    assert!(store.delete_run(p, &run_id(2)).await.unwrap());
    assert!(store.experiment_runs(p, "e").await.unwrap().is_empty());
    assert!(runs_matching(store, p, "case:a").await.is_empty());
    assert!(runs_matching(store, p, "experiment:e").await.is_empty());
    // The run sent again is another run: the link was the deleted one's.
    store
        .write_spans(vec![(p, span(2, 1, None, "agent", 2 * SECOND, json!({})))])
        .await
        .unwrap();
    assert!(runs_matching(store, p, "dataset:support").await.is_empty());
    store.link_runs(p, "e", &[link(2)]).await.unwrap();
    assert_eq!(store.experiment_runs(p, "e").await.unwrap(), [link(2)]);
    assert_eq!(
        runs_matching(store, p, "dataset:support").await,
        [run_id(2)]
    );

    // Once ClickHouse removed the deleted versions, reads answer the same.
    client.query("SYSTEM START MERGES").execute().await.unwrap();
    mutations_done(&client).await;
    let stored: u64 = client
        .query("SELECT count() FROM datasets")
        .fetch_one()
        .await
        .unwrap();
    assert_eq!(stored, 1);
    assert_eq!(
        store.dataset(p, "support", None).await.unwrap(),
        Some(again)
    );
}
