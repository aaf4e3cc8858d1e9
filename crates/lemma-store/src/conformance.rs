//! The behaviour every [`Store`] must have, as one suite any implementation's tests call
//! ([`run_all`]). Its checks are public too, for running one at a time while a backend is
//! being written; they build on what the checks before them (in `run_all`'s order) stored.

use lemma_core::pricing::{self, Price, PriceTable};
use lemma_core::query::parse;
use lemma_core::{semconv, CostSource, LogRecord, MetricEvent, MetricValue, Span, StatusCode};
use serde_json::json;

use crate::{Credential, KeyScope, ListQuery, ProjectId, StatsQuery, Store, StoreError};

mod alerts;
mod experiments;
mod long_runs;
mod moving;
mod orders;
mod proxy_sessions;
mod signals;
mod users;

pub use moving::{counts, import_key};
pub use orders::{run_facets, run_orders};
mod windows;

/// A normalised span as the suite writes them: ids from small numbers, 1 ms long.
pub fn span(
    trace: u8,
    id: u8,
    parent: Option<u8>,
    name: &str,
    start: u64,
    attrs: serde_json::Value,
) -> Span {
    let mut s = Span {
        trace_id: format!("{trace:032x}"),
        span_id: format!("{id:016x}"),
        parent_span_id: parent.map(|p| format!("{p:016x}")),
        name: name.into(),
        start_time_unix_nano: start,
        end_time_unix_nano: start + 1_000_000,
        attributes: attrs.as_object().cloned().unwrap_or_default(),
        ..Span::default()
    };
    semconv::normalize(&mut s);
    s
}

/// The ids of the first runs matching `q`, newest first.
async fn run_ids<S: Store>(store: &S, p: ProjectId, q: &str) -> Vec<String> {
    let page = store.list_runs(p, query(q, 10)).await.unwrap();
    page.items.into_iter().map(|r| r.run_id).collect()
}

fn query(q: &str, limit: usize) -> ListQuery {
    ListQuery {
        filter: parse(q, u64::MAX / 2).expect("valid query"),
        limit,
        cursor: None,
        order: Default::default(),
    }
}

/// Runs every check against a fresh, empty store.
pub async fn run_all<S: Store>(store: &S) {
    let a = store.create_project("alpha").await.expect("create project");
    let b = store.create_project("beta").await.expect("create project");
    assert!(matches!(
        store.create_project("alpha").await,
        Err(StoreError::Conflict(_))
    ));
    keys(store).await;
    moving::import_key(store).await;
    out_of_order_and_dedup(store, a.id).await;
    isolation(store, a.id, b.id).await;
    filters_and_paging(store, a.id).await;
    model_snapshots(store).await;
    threads(store, a.id).await;
    prices(store, a.id, b.id).await;
    logs(store, a.id, b.id).await;
    stats(store, a.id, b.id).await;
    metrics(store, a.id, b.id).await;
    hostile_content(store).await;
    delete_run(store).await;
    moving::counts(store).await;
    long_runs::long_run_in_shuffled_batches(store, a.id).await;
    windows::run_windows(store, a.id, b.id).await;
    run_orders(store).await;
    run_facets(store).await;
    retention(store, a.id, b.id).await;
    redaction(store, a.id, b.id).await;
    users::users(store, a.id, b.id).await;
    proxy_sessions::proxy_sessions(store, a.id, b.id).await;
    signals::signals(store).await;
    alerts::alerts(store).await;
    experiments::experiments(store).await;
}

pub async fn redaction<S: Store>(store: &S, a: ProjectId, b: ProjectId) {
    use lemma_core::redact::{Detector, Pattern, RedactionRules};
    assert!(
        store.redaction(a).await.unwrap().is_empty(),
        "none by default"
    );
    let rules = RedactionRules {
        detectors: vec![Detector::Email, Detector::Secret],
        patterns: vec![Pattern {
            name: "order".into(),
            regex: r"ORD-\d+".into(),
        }],
        drop_keys: vec!["http.request.header.*".into()],
    };
    store.set_redaction(a, &rules).await.unwrap();
    assert_eq!(store.redaction(a).await.unwrap(), rules);
    assert!(store.redaction(b).await.unwrap().is_empty(), "per project");
    let bad = RedactionRules {
        patterns: vec![Pattern {
            name: "broken".into(),
            regex: "(".into(),
        }],
        ..RedactionRules::default()
    };
    match store.set_redaction(a, &bad).await {
        Err(StoreError::Invalid(message)) => assert!(message.contains("broken"), "{message}"),
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert_eq!(
        store.redaction(a).await.unwrap(),
        rules,
        "kept after a refusal"
    );
    let fewer = RedactionRules {
        detectors: vec![Detector::Phone],
        ..RedactionRules::default()
    };
    store.set_redaction(a, &fewer).await.unwrap();
    assert_eq!(
        store.redaction(a).await.unwrap(),
        fewer,
        "the newest rules hold"
    );

    let day = 20_000;
    store
        .record_redactions(a, day, &[("email".into(), 3), ("order".into(), 1)])
        .await
        .unwrap();
    store
        .record_redactions(a, day, &[("email".into(), 2)])
        .await
        .unwrap();
    store
        .record_redactions(a, day + 1, &[("drop_keys".into(), 4)])
        .await
        .unwrap();
    store
        .record_redactions(b, day, &[("email".into(), 100)])
        .await
        .unwrap();
    let counts: Vec<(u32, String, u64)> = store
        .redaction_counts(a, day)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.day, c.rule, c.count))
        .collect();
    assert_eq!(
        counts,
        vec![
            (day, "email".into(), 5),
            (day, "order".into(), 1),
            (day + 1, "drop_keys".into(), 4),
        ]
    );
    let later = store.redaction_counts(a, day + 1).await.unwrap();
    assert_eq!(later.len(), 1, "counts before since_day are left out");
}

pub async fn retention<S: Store>(store: &S, a: ProjectId, b: ProjectId) {
    assert_eq!(
        store.retention(a).await.unwrap(),
        None,
        "kept forever by default"
    );
    store.set_retention(a, Some(30)).await.unwrap();
    assert_eq!(store.retention(a).await.unwrap(), Some(30));
    assert_eq!(store.retention(b).await.unwrap(), None, "per project");
    store.set_retention(a, Some(7)).await.unwrap();
    assert_eq!(
        store.retention(a).await.unwrap(),
        Some(7),
        "the newest setting holds"
    );
    assert!(matches!(
        store.set_retention(a, Some(0)).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(store.retention(a).await.unwrap(), Some(7));
    store.set_retention(a, None).await.unwrap();
    assert_eq!(store.retention(a).await.unwrap(), None);
}

pub async fn keys<S: Store>(store: &S) {
    let k = store
        .create_key("alpha", None, KeyScope::Admin)
        .await
        .unwrap();
    let found = store
        .authenticate(&Credential::Key(k.secret.clone()))
        .await
        .unwrap();
    assert_eq!(
        found.map(|g| (g.project.name, g.scope)),
        Some(("alpha".into(), KeyScope::Admin))
    );
    // Each scope is kept, returned by authentication and listed.
    for scope in [KeyScope::Ingest, KeyScope::Read] {
        let scoped = store.create_key("alpha", None, scope).await.unwrap();
        assert_eq!(scoped.info.scope, scope);
        for credential in [
            Credential::Key(scoped.secret.clone()),
            Credential::Basic {
                public_key: scoped.info.public_key.clone(),
                secret: scoped.secret.clone(),
            },
        ] {
            let grant = store.authenticate(&credential).await.unwrap().unwrap();
            assert_eq!(grant.scope, scope);
        }
        let listed = store.list_keys(Some("alpha")).await.unwrap();
        let found = listed
            .iter()
            .find(|i| i.public_key == scoped.info.public_key);
        assert_eq!(found.map(|i| i.scope), Some(scope));
        assert!(store.revoke_key(&scoped.info.public_key).await.unwrap());
    }
    let basic = Credential::Basic {
        public_key: k.info.public_key.clone(),
        secret: k.secret.clone(),
    };
    assert!(store.authenticate(&basic).await.unwrap().is_some());
    let wrong = Credential::Basic {
        public_key: k.info.public_key.clone(),
        secret: "lm_wrong-secret".into(),
    };
    assert!(store.authenticate(&wrong).await.unwrap().is_none());
    assert!(store
        .authenticate(&Credential::Key("nope-nope".into()))
        .await
        .unwrap()
        .is_none());
    let fixed = store
        .create_key("beta", Some("fixed-key-123".into()), KeyScope::Admin)
        .await
        .unwrap();
    assert_eq!(fixed.secret, "fixed-key-123");
    assert!(matches!(
        store
            .create_key("beta", Some("fixed-key-123".into()), KeyScope::Ingest)
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.create_key("nope", None, KeyScope::Admin).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(store.revoke_key(&k.info.public_key).await.unwrap());
    assert!(store
        .authenticate(&Credential::Key(k.secret))
        .await
        .unwrap()
        .is_none());
    assert!(!store.revoke_key("pk-lm-missing").await.unwrap());
    let listed = store.list_keys(Some("alpha")).await.unwrap();
    assert_eq!(listed.len(), 3);
    assert!(listed.iter().all(|k| k.revoked));
}

pub async fn out_of_order_and_dedup<S: Store>(store: &S, p: ProjectId) {
    let root = span(
        1,
        1,
        None,
        "invoke_agent bot",
        1_000,
        json!({
            "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "bot",
            "lemma.thread_id": "t-1", "gen_ai.input.messages": "[{\"role\":\"user\",\"content\":\"hello refund\"}]",
        }),
    );
    let llm = span(
        1,
        2,
        Some(1),
        "chat m",
        2_000,
        json!({
            "gen_ai.operation.name": "chat", "gen_ai.request.model": "m",
            "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 2,
        }),
    );
    let tool = span(
        1,
        3,
        Some(1),
        "execute_tool search",
        3_000,
        json!({
            "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search",
        }),
    );
    // Children first, root later, in two writes.
    let w1 = store
        .write_spans(vec![(p, tool.clone()), (p, llm.clone())])
        .await
        .unwrap();
    assert_eq!(w1.inserted, 2);
    let (run, _) = store
        .get_run(p, &root.trace_id)
        .await
        .unwrap()
        .expect("run exists before its root");
    assert!(!run.has_root);
    store.write_spans(vec![(p, root.clone())]).await.unwrap();
    // A retry re-sends everything.
    let w3 = store
        .write_spans(vec![(p, root.clone()), (p, llm), (p, tool)])
        .await
        .unwrap();
    assert_eq!((w3.inserted, w3.duplicates), (0, 3));
    let (run, spans) = store.get_run(p, &root.trace_id).await.unwrap().unwrap();
    assert!(run.has_root);
    assert_eq!(run.span_count, 3);
    assert_eq!(spans.len(), 3);
    assert_eq!(spans[0].span_id, root.span_id, "spans in start order");
    assert_eq!(run.agent_name.as_deref(), Some("bot"));
    assert_eq!(run.total_tokens, 12);
    assert_eq!(run.status, StatusCode::Ok);
    assert_eq!(run.input, root.input);
    assert!(store
        .get_run(p, &format!("{:032x}", 99))
        .await
        .unwrap()
        .is_none());
    assert!(store.get_run(p, "not-a-run-id").await.unwrap().is_none());
}

pub async fn isolation<S: Store>(store: &S, a: ProjectId, b: ProjectId) {
    let trace = format!("{:032x}", 1);
    assert!(store.get_run(b, &trace).await.unwrap().is_none());
    assert!(store
        .list_runs(b, query("", 10))
        .await
        .unwrap()
        .items
        .is_empty());
    assert!(store
        .search_spans(b, query("", 10))
        .await
        .unwrap()
        .items
        .is_empty());
    assert!(store
        .list_threads(b, query("", 10))
        .await
        .unwrap()
        .items
        .is_empty());
    assert!(store.get_thread(b, "t-1").await.unwrap().is_none());
    assert_eq!(
        store.list_runs(a, query("", 10)).await.unwrap().items.len(),
        1
    );
}

pub async fn filters_and_paging<S: Store>(store: &S, p: ProjectId) {
    let mut batch = Vec::new();
    for t in 10..20u8 {
        let mut root = span(
            t,
            1,
            None,
            "invoke_agent",
            t as u64 * 1_000_000_000,
            json!({
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": if t % 2 == 0 { "even" } else { "odd" },
                "lemma.thread_id": "t-2",
                "lemma.metadata.tier": if t == 13 { "gold" } else { "free" },
            }),
        );
        if t == 15 {
            root.status = StatusCode::Error;
        }
        batch.push((p, root));
    }
    store.write_spans(batch).await.unwrap();
    let even = store.list_runs(p, query("agent:even", 100)).await.unwrap();
    assert_eq!(even.items.len(), 5);
    assert!(
        even.items
            .windows(2)
            .all(|w| w[0].start_time_unix_nano >= w[1].start_time_unix_nano),
        "newest first"
    );
    let err = store
        .list_runs(p, query("status:error", 100))
        .await
        .unwrap();
    assert_eq!(err.items.len(), 1);
    assert_eq!(
        store
            .list_runs(p, query("meta.tier=gold", 100))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert_eq!(
        store
            .list_runs(p, query("refund", 100))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert_eq!(
        store
            .list_runs(p, query("-agent:even agent:*d*", 100))
            .await
            .unwrap()
            .items
            .len(),
        5
    );
    assert_eq!(
        store
            .search_spans(p, query("kind:tool", 100))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    // Paging: every run once, in order, with no repeats.
    let mut seen = Vec::new();
    let mut q = query("", 3);
    loop {
        let page = store.list_runs(p, q.clone()).await.unwrap();
        seen.extend(page.items.iter().map(|r| r.run_id.clone()));
        match page.next_cursor {
            Some(c) => q.cursor = Some(crate::Cursor::decode(&c).unwrap()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 11);
    let mut dedup = seen.clone();
    dedup.dedup();
    assert_eq!(dedup, seen);
}

/// `model:` finds a model and its dated snapshots (the model a call asked for is often
/// answered by a snapshot), never another model that extends its name; stats count a snapshot
/// under its model.
pub async fn model_snapshots<S: Store>(store: &S) {
    let p = store.create_project("snapshots").await.unwrap().id;
    let models = [
        "gpt-4o-2024-08-06",
        "gpt-4o-mini-2024-07-18",
        "gpt-4.1",
        "claude-3-5-sonnet-20241022",
    ];
    let batch = models
        .iter()
        .zip(60u8..)
        .map(|(model, t)| {
            let call = span(
                t,
                1,
                None,
                &format!("chat {model}"),
                t as u64 * 1_000_000_000,
                json!({"gen_ai.operation.name": "chat", "gen_ai.request.model": "requested",
                       "gen_ai.response.model": model, "gen_ai.usage.input_tokens": 10,
                       "gen_ai.usage.output_tokens": 5}),
            );
            (p, call)
        })
        .collect();
    store.write_spans(batch).await.unwrap();
    let run = |i: usize| format!("{:032x}", 60 + i);
    for (q, want) in [
        ("model:gpt-4o", vec![run(0)]),
        ("model:gpt-4o-mini", vec![run(1)]),
        ("model:gpt-4o-2024-08-06", vec![run(0)]),
        ("model:gpt-4", vec![]),
        ("model:gpt-4.1", vec![run(2)]),
        ("model:claude-3-5-sonnet", vec![run(3)]),
        ("model:gpt-4o*", vec![run(1), run(0)]),
        ("-model:gpt-4o", vec![run(3), run(2), run(1)]),
        ("model:gpt-4o,claude-3-5-sonnet", vec![run(3), run(0)]),
    ] {
        assert_eq!(run_ids(store, p, q).await, want, "runs matching {q}");
    }
    let spans = store
        .search_spans(p, query("model:gpt-4o", 10))
        .await
        .unwrap();
    let names: Vec<&str> = spans.items.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["chat gpt-4o-2024-08-06"],
        "spans matching model:gpt-4o"
    );
    let stats = store
        .stats(p, stats_query("", 0, 3_600 * 1_000_000_000, 3_600))
        .await
        .unwrap();
    let mut by_model: Vec<(String, Vec<String>)> = stats
        .by_model
        .into_iter()
        .map(|m| (m.model, m.snapshots))
        .collect();
    by_model.sort();
    assert_eq!(
        by_model,
        [
            (
                "claude-3-5-sonnet".into(),
                vec!["claude-3-5-sonnet-20241022".into()]
            ),
            ("gpt-4.1".into(), vec![]),
            ("gpt-4o".into(), vec!["gpt-4o-2024-08-06".into()]),
            ("gpt-4o-mini".into(), vec!["gpt-4o-mini-2024-07-18".into()]),
        ]
    );
}

pub async fn threads<S: Store>(store: &S, p: ProjectId) {
    let page = store.list_threads(p, query("", 10)).await.unwrap();
    let ids: Vec<_> = page.items.iter().map(|t| t.thread_id.as_str()).collect();
    assert_eq!(ids, vec!["t-2", "t-1"]);
    let (t, runs) = store.get_thread(p, "t-2").await.unwrap().unwrap();
    assert_eq!(t.run_count, 10);
    assert_eq!(t.error_count, 1);
    assert!(
        runs.windows(2)
            .all(|w| w[0].start_time_unix_nano <= w[1].start_time_unix_nano),
        "oldest first"
    );
    assert_eq!(
        store
            .list_threads(p, query("agent:odd", 10))
            .await
            .unwrap()
            .items[0]
            .run_count,
        5
    );
}

fn price(input: f64, output: f64) -> Price {
    Price {
        input,
        output,
        cache_read: None,
        cache_write: None,
        reasoning: None,
    }
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

/// The project's effective table, as the server builds it.
async fn table<S: Store>(store: &S, p: ProjectId) -> PriceTable {
    let overrides = store.list_prices(p).await.unwrap();
    PriceTable::with_overrides(overrides.iter().map(|o| (o.model.as_str(), o.price)))
}

/// A run's cost, and each of its spans' cost and source in start order.
async fn run_costs<S: Store>(
    store: &S,
    p: ProjectId,
    run_id: &str,
) -> (Option<f64>, Vec<(Option<f64>, Option<CostSource>)>) {
    let (run, spans) = store.get_run(p, run_id).await.unwrap().unwrap();
    let costs = spans.iter().map(|s| (s.cost_usd, s.cost_source)).collect();
    (run.cost_usd, costs)
}

pub async fn prices<S: Store>(store: &S, a: ProjectId, b: ProjectId) {
    // Overrides: normalised, replaced, validated, scoped to their project.
    assert!(store.list_prices(a).await.unwrap().is_empty());
    let set = store
        .set_price(a, " Acme/Acme-LM ", price(1.0, 2.0))
        .await
        .unwrap();
    assert_eq!(set.model, "acme-lm");
    store
        .set_price(a, "acme-lm", price(2.0, 4.0))
        .await
        .unwrap();
    let listed = store.list_prices(a).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].model.as_str(), listed[0].price),
        ("acme-lm", price(2.0, 4.0))
    );
    assert!(store.list_prices(b).await.unwrap().is_empty());
    assert!(matches!(
        store.set_price(a, "acme-lm", price(-1.0, 1.0)).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.set_price(a, "  ", price(1.0, 1.0)).await,
        Err(StoreError::Invalid(_))
    ));

    // A run with a span nothing priced yet, a provided cost, and a cost computed at ingest.
    let llm = |id: u8, model: &str, extra: serde_json::Value| {
        let mut attrs = json!({
            "gen_ai.operation.name": "chat", "gen_ai.request.model": model,
            "gen_ai.usage.input_tokens": 1_000_000, "gen_ai.usage.output_tokens": 1_000_000,
        });
        attrs
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().cloned().unwrap_or_default());
        span(
            40,
            id,
            Some(1),
            &format!("chat {id}"),
            50_000_000_000 + id as u64,
            attrs,
        )
    };
    let root = span(
        40,
        1,
        None,
        "invoke_agent",
        50_000_000_000,
        json!({"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "pricey"}),
    );
    let unpriced = llm(2, "acme-lm-2025-01-01", json!({}));
    let provided = llm(3, "acme-lm", json!({"lemma.cost_usd": 5.0}));
    let mut computed = llm(4, "gpt-4o-mini", json!({}));
    pricing::price_span(&mut computed, PriceTable::builtin());
    assert!(close(computed.cost_usd, 0.75));
    store
        .write_spans(vec![
            (a, root.clone()),
            (a, unpriced),
            (a, provided),
            (a, computed),
        ])
        .await
        .unwrap();
    assert!(close(run_costs(store, a, &root.trace_id).await.0, 5.75));

    // Re-pricing prices what it can, and never touches a provided cost.
    assert_eq!(store.reprice(a, &table(store, a).await).await.unwrap(), 1);
    let (cost, spans) = run_costs(store, a, &root.trace_id).await;
    assert!(close(cost, 11.75), "{cost:?}");
    assert!(close(spans[1].0, 6.0) && spans[1].1 == Some(CostSource::Computed));
    assert_eq!(spans[2], (Some(5.0), Some(CostSource::Provided)));
    assert_eq!(store.reprice(a, &table(store, a).await).await.unwrap(), 0);
    // Another project's re-pricing changes nothing here.
    let other = PriceTable::with_overrides([("acme-lm", price(100.0, 100.0))]);
    assert_eq!(store.reprice(b, &other).await.unwrap(), 0);
    assert!(close(run_costs(store, a, &root.trace_id).await.0, 11.75));

    // A new price reaches computed costs; the indexed columns follow.
    store
        .set_price(a, "gpt-4o-mini", price(1.0, 1.0))
        .await
        .unwrap();
    assert_eq!(store.reprice(a, &table(store, a).await).await.unwrap(), 1);
    assert!(close(run_costs(store, a, &root.trace_id).await.0, 13.0));
    let expensive = store.list_runs(a, query("cost>12", 10)).await.unwrap();
    assert_eq!(expensive.items.len(), 1);
    assert_eq!(expensive.items[0].run_id, root.trace_id);
    let spans = store.search_spans(a, query("cost>2.5", 10)).await.unwrap();
    assert_eq!(
        spans.items.len(),
        2,
        "the provided and the re-priced acme span"
    );

    // Without a price, a computed cost goes away.
    assert!(store.delete_price(a, "ACME-LM").await.unwrap());
    assert!(!store.delete_price(a, "acme-lm").await.unwrap());
    assert!(!store.delete_price(b, "gpt-4o-mini").await.unwrap());
    assert_eq!(store.reprice(a, &table(store, a).await).await.unwrap(), 1);
    let (cost, spans) = run_costs(store, a, &root.trace_id).await;
    assert!(close(cost, 7.0), "{cost:?}");
    assert_eq!(spans[1], (None, None));
    assert_eq!(store.list_prices(a).await.unwrap().len(), 1);
}

fn log(trace: u8, id: u8, event: &str, time: u64, body: serde_json::Value) -> LogRecord {
    LogRecord {
        trace_id: Some(format!("{trace:032x}")),
        span_id: Some(format!("{id:016x}")),
        time_unix_nano: time,
        event_name: Some(event.into()),
        body: Some(body),
        ..LogRecord::default()
    }
}

/// Log records join their span whichever arrives first, retries add nothing, and another
/// project's records never show.
pub async fn logs<S: Store>(store: &S, a: ProjectId, b: ProjectId) {
    let user = log(
        119,
        1,
        "gen_ai.user.message",
        2,
        json!({"content": "Where is A-17?"}),
    );
    let choice = log(
        119,
        1,
        "gen_ai.choice",
        3,
        json!({"index": 0, "finish_reason": "stop", "message": {"content": "Shipped."}}),
    );
    let stray = log(
        119,
        1,
        "gen_ai.user.message",
        1,
        json!({"content": "other project"}),
    );
    store.write_logs(vec![(b, stray)]).await.unwrap();
    let early = store.write_logs(vec![(a, user.clone())]).await.unwrap();
    assert_eq!(early.inserted, 1);
    let llm = span(
        119,
        1,
        None,
        "chat logged-model",
        1,
        json!({"gen_ai.operation.name": "chat", "gen_ai.request.model": "logged-model"}),
    );
    store.write_spans(vec![(a, llm.clone())]).await.unwrap();
    let late = store
        .write_logs(vec![(a, choice), (a, user)])
        .await
        .unwrap();
    assert_eq!((late.inserted, late.duplicates), (1, 1));

    let (_, spans) = store.get_run(a, &llm.trace_id).await.unwrap().unwrap();
    let names: Vec<_> = spans[0].logs.iter().map(|l| l.event_name.clone()).collect();
    assert_eq!(
        names,
        [
            Some("gen_ai.user.message".into()),
            Some("gen_ai.choice".into())
        ]
    );
    let input = spans[0].input_messages.as_ref().expect("input from logs");
    assert_eq!(input.len(), 1);
    assert!(spans[0].output_messages.is_some());
    let found = store
        .search_spans(a, query("model:logged-model", 10))
        .await
        .unwrap();
    assert_eq!(
        found.items[0].logs.len(),
        2,
        "search results carry logs too"
    );
}

const SECOND: u64 = 1_000_000_000;
const HOUR: u64 = 3_600 * SECOND;
/// Far from every other group's runs, and on an hour boundary.
const STATS_BASE: u64 = 1_000 * HOUR;

fn stats_query(q: &str, from: u64, to: u64, bucket_seconds: u64) -> StatsQuery {
    StatsQuery {
        filter: parse(q, u64::MAX / 2).expect("valid query"),
        from_unix_nano: from,
        to_unix_nano: to,
        bucket_seconds,
    }
}

/// An agent run lasting `seconds`, with one model call. The agent span repeats the call's usage
/// and cost, as some SDKs do, so a store that counted it would count the call twice.
fn stats_run(
    trace: u8,
    agent: &str,
    start: u64,
    seconds: u64,
    model: &str,
    (input, output): (u64, u64),
    cost: Option<f64>,
) -> Vec<Span> {
    let mut usage = json!({
        "gen_ai.usage.input_tokens": input, "gen_ai.usage.output_tokens": output,
    });
    if let Some(c) = cost {
        usage["lemma.cost_usd"] = json!(c);
    }
    let mut root_attrs =
        json!({"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": agent});
    root_attrs
        .as_object_mut()
        .unwrap()
        .extend(usage.as_object().cloned().unwrap());
    let mut root = span(trace, 1, None, "invoke_agent", start, root_attrs);
    root.end_time_unix_nano = start + seconds * SECOND;
    let mut llm_attrs = json!({
        "gen_ai.operation.name": "chat", "gen_ai.request.model": model,
        "gen_ai.provider.name": "openai",
    });
    llm_attrs
        .as_object_mut()
        .unwrap()
        .extend(usage.as_object().cloned().unwrap());
    let llm = span(trace, 2, Some(1), "chat", start + SECOND / 10, llm_attrs);
    vec![root, llm]
}

pub async fn stats<S: Store>(store: &S, a: ProjectId, b: ProjectId) {
    let (from, to) = (STATS_BASE, STATS_BASE + 2 * HOUR);

    // A project without runs: zeroed totals, every bucket present and empty.
    let empty = store
        .stats(b, stats_query("", from, to, 1_800))
        .await
        .unwrap();
    assert_eq!((empty.totals.runs, empty.totals.errors), (0, 0));
    assert_eq!(empty.totals.error_rate, 0.0);
    assert_eq!((empty.totals.p50_ms, empty.totals.cost_usd), (None, None));
    assert_eq!(empty.series.len(), 4);
    assert!(empty
        .series
        .iter()
        .all(|s| s.runs == 0 && s.total_tokens == 0));
    assert_eq!(empty.series[3].start, STATS_BASE + 3 * HOUR / 2);
    assert!(empty.by_agent.is_empty() && empty.by_model.is_empty());

    let minute = 60 * SECOND;
    let mut spans = Vec::new();
    spans.extend(stats_run(
        200,
        "support",
        from + 10 * minute,
        2,
        "large",
        (100, 20),
        Some(0.2),
    ));
    let mut failed = stats_run(
        201,
        "support",
        from + 20 * minute,
        4,
        "small",
        (10, 5),
        None,
    );
    failed[0].status = StatusCode::Error;
    spans.extend(failed);
    spans.extend(stats_run(
        202,
        "billing",
        from + 65 * minute,
        1,
        "large",
        (50, 10),
        Some(0.1),
    ));
    // Outside the range: just after it, and just before.
    spans.extend(stats_run(203, "support", to, 1, "large", (1, 1), Some(1.0)));
    spans.extend(stats_run(
        204,
        "support",
        from - 1,
        1,
        "large",
        (1, 1),
        Some(1.0),
    ));
    store
        .write_spans(spans.into_iter().map(|s| (a, s)).collect())
        .await
        .unwrap();
    // Another project's run in the same range.
    let other = stats_run(
        205,
        "support",
        from + 10 * minute,
        9,
        "large",
        (900, 100),
        Some(9.0),
    );
    store
        .write_spans(other.into_iter().map(|s| (b, s)).collect())
        .await
        .unwrap();

    let s = store
        .stats(a, stats_query("", from, to, 3_600))
        .await
        .unwrap();
    assert_eq!((s.from, s.to, s.bucket_seconds), (from, to, 3_600));
    let t = &s.totals;
    assert_eq!((t.runs, t.errors), (3, 1));
    assert!((t.error_rate - 1.0 / 3.0).abs() < 1e-12);
    assert_eq!((t.p50_ms, t.p95_ms), (Some(2_000.0), Some(4_000.0)));
    assert_eq!(
        (t.input_tokens, t.output_tokens, t.total_tokens),
        (160, 35, 195),
        "each model call once"
    );
    assert!(close(t.cost_usd, 0.3), "{:?}", t.cost_usd);
    let series: Vec<_> = s
        .series
        .iter()
        .map(|b| (b.start, b.runs, b.errors))
        .collect();
    assert_eq!(series, [(from, 2, 1), (from + HOUR, 1, 0)]);
    let agents: Vec<_> = s
        .by_agent
        .iter()
        .map(|g| (g.agent.as_deref(), g.runs, g.errors))
        .collect();
    assert_eq!(agents, [(Some("support"), 2, 1), (Some("billing"), 1, 0)]);
    let models: Vec<_> = s
        .by_model
        .iter()
        .map(|m| {
            (
                m.model.as_str(),
                m.provider.as_deref(),
                m.calls,
                m.runs,
                m.total_tokens,
            )
        })
        .collect();
    assert_eq!(
        models,
        [
            ("large", Some("openai"), 2, 2, 180),
            ("small", Some("openai"), 1, 1, 15)
        ]
    );
    assert!(close(s.by_model[0].cost_usd, 0.3));
    assert_eq!(s.by_model[1].cost_usd, None);

    // The filter narrows; it combines with the range.
    let billing = store
        .stats(a, stats_query("agent:billing", from, to, 3_600))
        .await
        .unwrap();
    assert_eq!(billing.totals.runs, 1);
    assert_eq!(billing.series[0].runs, 0);
    let small = store
        .stats(a, stats_query("model:small", from, to, 3_600))
        .await
        .unwrap();
    assert_eq!((small.totals.runs, small.totals.errors), (1, 1));
    assert_eq!(small.by_model.len(), 1);
    let wide = store
        .stats(
            a,
            stats_query("agent:support", from - HOUR, to + HOUR, 3_600),
        )
        .await
        .unwrap();
    assert_eq!(
        wide.totals.runs, 4,
        "the runs just outside the range count in a wider one"
    );

    // Each project sees only its own runs.
    let theirs = store
        .stats(b, stats_query("", from, to, 3_600))
        .await
        .unwrap();
    assert_eq!((theirs.totals.runs, theirs.totals.total_tokens), (1, 1_000));
    assert!(close(theirs.totals.cost_usd, 9.0));

    for bad in [
        stats_query("", to, from, 60),
        stats_query("", from, from, 60),
        stats_query("", from, to, 0),
        stats_query("", from, to, 1),
    ] {
        assert!(matches!(
            store.stats(a, bad).await,
            Err(StoreError::Invalid(_))
        ));
    }
}

fn metric(run: u8, name: &str, value: MetricValue, time: u64) -> MetricEvent {
    MetricEvent {
        id: String::new(),
        run_id: format!("{run:032x}"),
        span_id: None,
        name: name.into(),
        value,
        comment: None,
        source: Some("user".into()),
        time_unix_nano: time,
    }
}

pub async fn metrics<S: Store>(store: &S, a: ProjectId, b: ProjectId) {
    use MetricValue::{Bool, Number, Text};
    let base = 2_000 * HOUR;

    // Posted before any span of run 250 exists: accepted, and read back once spans arrive.
    let early = store
        .write_metrics(a, vec![metric(250, "resolved", Bool(true), 1)])
        .await
        .unwrap();
    assert_eq!(early.len(), 1);
    assert_eq!(early[0].id.len(), 32);
    store
        .write_spans(vec![
            (a, span(250, 1, None, "agent", base, json!({}))),
            (a, span(251, 1, None, "agent", base + SECOND, json!({}))),
            (b, span(252, 1, None, "agent", base, json!({}))),
        ])
        .await
        .unwrap();
    let mut late = metric(250, "quality", Number(0.25), 2);
    late.span_id = Some(format!("{:016x}", 1));
    late.comment = Some("terse".into());
    store
        .write_metrics(
            a,
            vec![
                late,
                metric(251, "quality", Number(0.75), 3),
                metric(251, "resolved", Bool(false), 4),
                metric(251, "feedback", Text("great".into()), 5),
            ],
        )
        .await
        .unwrap();
    let read = store
        .list_metrics(a, &format!("{:032x}", 250))
        .await
        .unwrap();
    let names: Vec<&str> = read.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["resolved", "quality"]);
    assert_eq!(read[0], early[0]);
    assert_eq!(read[1].span_id, Some(format!("{:016x}", 1)));
    assert_eq!(read[1].comment.as_deref(), Some("terse"));
    assert_eq!(read[1].value, Number(0.25));

    // A batch with one bad event stores nothing and names the event.
    let mut bad = metric(250, "quality", Number(f64::INFINITY), 6);
    bad.name = "quality".into();
    let err = store
        .write_metrics(a, vec![metric(250, "ok", Bool(true), 6), bad])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Invalid(m) if m.contains("metric 1")),
        "{err}"
    );
    assert_eq!(
        store
            .list_metrics(a, &format!("{:032x}", 250))
            .await
            .unwrap()
            .len(),
        2
    );

    // Another project's run is neither writable nor readable; its own runs are.
    assert!(matches!(
        store
            .write_metrics(a, vec![metric(252, "x", Bool(true), 7)])
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.list_metrics(a, &format!("{:032x}", 252)).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(store
        .list_metrics(b, &format!("{:032x}", 250))
        .await
        .is_err());
    assert!(store
        .list_metrics(b, &format!("{:032x}", 252))
        .await
        .unwrap()
        .is_empty());

    // Filters.
    let ids = |q: &'static str| async move {
        let page = store.list_runs(a, query(q, 10)).await.unwrap();
        let mut ids: Vec<String> = page.items.into_iter().map(|r| r.run_id).collect();
        ids.sort();
        ids
    };
    let r250 = format!("{:032x}", 250);
    let r251 = format!("{:032x}", 251);
    assert_eq!(ids("metric.resolved=true").await, [r250.as_str()]);
    assert_eq!(ids("metric.resolved:false").await, [r251.as_str()]);
    assert_eq!(ids("metric.quality<0.5").await, [r250.as_str()]);
    assert_eq!(ids("metric.quality>=0.5").await, [r251.as_str()]);
    assert_eq!(ids("metric.quality=0.75").await, [r251.as_str()]);
    assert_eq!(ids("has:metric.feedback").await, [r251.as_str()]);
    assert_eq!(ids("metric.feedback=gr*").await, [r251.as_str()]);
    assert_eq!(
        ids("-has:metric.feedback has:metric.resolved").await,
        [r250.as_str()]
    );
    assert!(ids("metric.resolved=yes").await.is_empty());
    let spans = store
        .search_spans(a, query("has:metric.feedback", 10))
        .await
        .unwrap();
    assert_eq!(spans.items.len(), 1);
    assert_eq!(spans.items[0].trace_id, r251);

    // Stats aggregate the events of the runs in range, and no other project's.
    store
        .write_metrics(b, vec![metric(252, "quality", Number(100.0), 8)])
        .await
        .unwrap();
    let s = store
        .stats(a, stats_query("", base, base + HOUR, 3_600))
        .await
        .unwrap();
    let by: std::collections::HashMap<&str, _> =
        s.by_metric.iter().map(|m| (m.name.as_str(), m)).collect();
    assert_eq!(by["quality"].count, 2);
    assert!((by["quality"].mean.unwrap() - 0.5).abs() < 1e-9);
    assert_eq!(by["resolved"].true_rate, Some(0.5));
    assert_eq!(by["feedback"].values.get("great"), Some(&1));
    let filtered = store
        .stats(
            a,
            stats_query("metric.resolved=true", base, base + HOUR, 3_600),
        )
        .await
        .unwrap();
    assert_eq!(filtered.totals.runs, 1);
    let names: Vec<&str> = filtered.by_metric.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"resolved") && names.contains(&"quality"));

    // Evaluation results in spans and log records are stored as evaluator events, once each
    // however often they are re-sent, whichever arrives first.
    let mut evaluated = span(
        253,
        1,
        None,
        "judge",
        base,
        json!({
            "annotations.0.annotation.name": "correctness",
            "annotations.0.annotation.score": 0.5,
            "annotations.0.annotation.explanation": "half right",
        }),
    );
    evaluated.events.push(lemma_core::SpanEvent {
        name: "gen_ai.evaluation.result".into(),
        time_unix_nano: base,
        attributes: json!({"gen_ai.evaluation.name": "tone",
                           "gen_ai.evaluation.score.label": "polite"})
        .as_object()
        .cloned()
        .unwrap(),
        dropped_attributes_count: 0,
    });
    let record = LogRecord {
        trace_id: Some(format!("{:032x}", 253)),
        span_id: Some(format!("{:016x}", 1)),
        time_unix_nano: base,
        event_name: Some("gen_ai.evaluation.result".into()),
        attributes: json!({"gen_ai.evaluation.name": "faithfulness",
                           "gen_ai.evaluation.score.value": 1})
        .as_object()
        .cloned()
        .unwrap(),
        ..LogRecord::default()
    };
    for _ in 0..2 {
        store.write_logs(vec![(a, record.clone())]).await.unwrap();
        store
            .write_spans(vec![(a, evaluated.clone())])
            .await
            .unwrap();
    }
    let derived = store
        .list_metrics(a, &format!("{:032x}", 253))
        .await
        .unwrap();
    let mut got: Vec<(&str, &MetricValue)> = derived
        .iter()
        .map(|m| (m.name.as_str(), &m.value))
        .collect();
    got.sort_by_key(|(n, _)| *n);
    assert_eq!(
        got,
        [
            ("correctness", &Number(0.5)),
            ("faithfulness", &Number(1.0)),
            ("tone", &Text("polite".into())),
        ]
    );
    assert!(derived
        .iter()
        .all(|m| m.source.as_deref() == Some("evaluator")));
    assert_eq!(
        ids("metric.correctness<=0.5").await,
        [format!("{:032x}", 253)]
    );
}

/// Whatever a span holds, once accepted it reads back, and so does everything it is part of:
/// its run, its thread, listings, search and stats, also after more spans of its run arrive.
pub async fn hostile_content<S: Store>(store: &S) {
    let p = store.create_project("hostile").await.unwrap().id;
    // Nested as deep as serde_json reads on its own: wrapped in a stored span or an answer, it
    // would not be.
    let deep = format!("{}1{}", "[".repeat(127), "]".repeat(127));
    let attrs = json!({
        "gen_ai.operation.name": "invoke_agent", "lemma.thread_id": "t-deep",
        "lemma.input": deep, "lemma.output": deep, "lemma.metadata.x": deep,
        "lemma.tool.args": deep,
    });
    let root = span(60, 1, None, "invoke_agent", 5_000, attrs.clone());
    let child = span(60, 2, Some(1), "chat", 6_000, attrs.clone());
    let other = span(61, 1, None, "untouched", 7_000, json!({}));
    store
        .write_spans(vec![(p, root), (p, child), (p, other)])
        .await
        .expect("a batch holding the deep spans commits");
    // A later span re-summarises the run from the stored spans.
    let late = span(60, 3, Some(1), "late", 8_000, attrs);
    store.write_spans(vec![(p, late)]).await.unwrap();

    let runs = store.list_runs(p, query("", 10)).await.unwrap().items;
    assert_eq!(runs.len(), 2);
    let (run, spans) = store
        .get_run(p, &format!("{:032x}", 60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(spans.len(), 3);
    // Too deep to keep as structure: kept as the text it came as.
    assert_eq!(run.input, Some(json!(deep)));
    assert_eq!(run.metadata["x"], json!(deep));
    assert_eq!(spans[0].output, Some(json!(deep)));
    let (thread, thread_runs) = store.get_thread(p, "t-deep").await.unwrap().unwrap();
    assert_eq!((thread.run_count, thread_runs.len()), (1, 1));
    let found = store.search_spans(p, query("", 10)).await.unwrap().items;
    assert_eq!(found.len(), 4);
    assert_eq!(
        store
            .list_threads(p, query("", 10))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    // What the API answers wraps these in a few more levels; a client must still read it.
    let answer = json!({"runs": runs, "run": run, "spans": spans, "found": found}).to_string();
    serde_json::from_str::<serde_json::Value>(&answer).expect("the answer reads back");
    let stats = store
        .stats(p, stats_query("", 0, 3_600 * SECOND, 3_600))
        .await
        .unwrap();
    assert_eq!(stats.totals.runs, 2);
}

/// Deleting a run removes it and what was posted to it, in its project only.
pub async fn delete_run<S: Store>(store: &S) {
    let p = store.create_project("deleting").await.unwrap().id;
    let q = store.create_project("keeping").await.unwrap().id;
    let run = |trace: u8| {
        let root = span(
            trace,
            1,
            None,
            "invoke_agent",
            trace as u64 * SECOND,
            json!({"gen_ai.operation.name": "invoke_agent", "lemma.thread_id": "t-del",
                   "lemma.input": "a unique pelican"}),
        );
        let llm = span(
            trace,
            2,
            Some(1),
            "chat",
            trace as u64 * SECOND + 1,
            json!({"gen_ai.operation.name": "chat", "gen_ai.request.model": "m",
                   "gen_ai.usage.input_tokens": 5}),
        );
        vec![root, llm]
    };
    let id = |trace: u8| format!("{trace:032x}");
    let batch = [70, 71]
        .into_iter()
        .flat_map(|t| run(t).into_iter().map(move |s| (p, s)))
        .chain(run(73).into_iter().map(|s| (q, s)))
        .collect();
    store.write_spans(batch).await.unwrap();
    store
        .write_metrics(p, vec![metric(70, "resolved", MetricValue::Bool(true), 1)])
        .await
        .unwrap();
    let record = log(70, 2, "gen_ai.choice", 2, json!({"content": "pelican"}));
    store.write_logs(vec![(p, record.clone())]).await.unwrap();

    // Another project's run, or no run at all: nothing is deleted.
    assert!(!store.delete_run(q, &id(70)).await.unwrap());
    assert!(!store.delete_run(p, &id(73)).await.unwrap());
    assert!(!store.delete_run(p, &id(72)).await.unwrap());
    assert!(!store.delete_run(p, "not-a-run-id").await.unwrap());
    assert_eq!(store.get_run(q, &id(73)).await.unwrap().unwrap().1.len(), 2);

    assert!(store.delete_run(p, &id(70).to_uppercase()).await.unwrap());
    assert!(store.get_run(p, &id(70)).await.unwrap().is_none());
    assert_eq!(run_ids(store, p, "").await, [id(71)]);
    let spans = store.search_spans(p, query("", 10)).await.unwrap().items;
    assert!(spans.iter().all(|s| s.trace_id == id(71)), "{spans:?}");
    assert_eq!(
        store
            .search_spans(p, query("pelican", 10))
            .await
            .unwrap()
            .items
            .len(),
        1,
        "the full-text index lost the deleted run's spans"
    );
    assert!(store.list_metrics(p, &id(70)).await.unwrap().is_empty());
    let (thread, _) = store.get_thread(p, "t-del").await.unwrap().unwrap();
    assert_eq!(thread.run_count, 1);
    assert!(!store.delete_run(p, &id(70)).await.unwrap(), "deleted once");
    assert_eq!(
        store.list_runs(q, query("", 10)).await.unwrap().items.len(),
        1
    );

    // Re-sent spans and records start the run anew, the log record joined again.
    store
        .write_spans(run(70).into_iter().map(|s| (p, s)).collect())
        .await
        .unwrap();
    store.write_logs(vec![(p, record)]).await.unwrap();
    let (_, back) = store.get_run(p, &id(70)).await.unwrap().unwrap();
    assert_eq!(back.len(), 2);
    assert_eq!(back[1].logs.len(), 1);
}
