//! Search, listings and threads of the ClickHouse store against a real ClickHouse server:
//! the shared conformance checks, and the same queries asked of the SQLite store, whose
//! answers the ClickHouse store must give.

use lemma_core::query::parse;
use lemma_core::{semconv, Span};
use lemma_store::clickhouse::{local::LocalServer, ClickHouseStore};
use lemma_store::sqlite::SqliteStore;
use lemma_store::{Cursor, ListQuery, ProjectId, Store, StoreError};
use serde_json::json;

struct Server {
    _dir: tempfile::TempDir,
    server: LocalServer,
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let server = LocalServer::start(dir.path()).unwrap();
        Server { _dir: dir, server }
    }

    async fn store(&self, database: &str) -> ClickHouseStore {
        let url = format!(
            "clickhouse://127.0.0.1:{}/{database}",
            self.server.http_port
        );
        ClickHouseStore::open(&url).await.unwrap()
    }

    /// Runs SQL as is, for what the store's interface cannot do (simulating a re-pricing or
    /// a deletion's marker row).
    async fn execute(&self, sql: &str) {
        clickhouse::Client::default()
            .with_url(self.server.http_url())
            .with_validation(false)
            .query(sql)
            .execute()
            .await
            .unwrap();
    }
}

fn span(trace: u8, id: u8, name: &str, attrs: serde_json::Value) -> Span {
    let mut s = Span {
        trace_id: format!("{trace:032x}"),
        span_id: format!("{id:016x}"),
        parent_span_id: (id > 1).then(|| format!("{:016x}", 1)),
        name: name.into(),
        start_time_unix_nano: u64::from(trace) * 1_000_000_000 + u64::from(id),
        end_time_unix_nano: u64::from(trace) * 1_000_000_000 + u64::from(id) + 5_000_000,
        attributes: attrs.as_object().cloned().unwrap_or_default(),
        ..Span::default()
    };
    semconv::normalize(&mut s);
    s
}

fn query(q: &str, limit: usize) -> ListQuery {
    ListQuery {
        filter: parse(q, u64::MAX / 2).unwrap_or_else(|e| panic!("{q}: {e}")),
        limit,
        cursor: None,
        order: Default::default(),
    }
}

/// The same spans in a ClickHouse and a SQLite store, asked the same questions.
struct Both {
    ch: ClickHouseStore,
    ch_project: ProjectId,
    lite: SqliteStore,
    lite_project: ProjectId,
    _dir: tempfile::TempDir,
}

impl Both {
    async fn new(ch: ClickHouseStore, spans: Vec<Span>) -> Both {
        let dir = tempfile::tempdir().unwrap();
        let lite = SqliteStore::open(dir.path().join("lemma.db")).unwrap();
        let ch_project = ch.create_project("search").await.unwrap().id;
        let lite_project = lite.create_project("search").await.unwrap().id;
        ch.write_spans(spans.iter().map(|s| (ch_project, s.clone())).collect())
            .await
            .unwrap();
        lite.write_spans(spans.into_iter().map(|s| (lite_project, s)).collect())
            .await
            .unwrap();
        Both {
            ch,
            ch_project,
            lite,
            lite_project,
            _dir: dir,
        }
    }

    /// The (run, span) ids `search_spans` finds, in order; both stores must agree.
    async fn spans(&self, q: &str) -> Vec<(u128, u64)> {
        let ids = |page: lemma_store::Page<Span>| -> Vec<(u128, u64)> {
            page.items
                .iter()
                .map(|s| {
                    let t = u128::from_str_radix(&s.trace_id, 16).unwrap();
                    (t, u64::from_str_radix(&s.span_id, 16).unwrap())
                })
                .collect()
        };
        let ch = ids(self
            .ch
            .search_spans(self.ch_project, query(q, 100))
            .await
            .unwrap());
        let lite = ids(self
            .lite
            .search_spans(self.lite_project, query(q, 100))
            .await
            .unwrap());
        assert_eq!(ch, lite, "search_spans {q:?}");
        ch
    }

    /// The run ids `list_runs` finds, in order; both stores must agree.
    async fn runs(&self, q: &str) -> Vec<u128> {
        let ids = |page: lemma_store::Page<lemma_core::Run>| -> Vec<u128> {
            page.items
                .iter()
                .map(|r| u128::from_str_radix(&r.run_id, 16).unwrap())
                .collect()
        };
        let ch = ids(self
            .ch
            .list_runs(self.ch_project, query(q, 100))
            .await
            .unwrap());
        let lite = ids(self
            .lite
            .list_runs(self.lite_project, query(q, 100))
            .await
            .unwrap());
        assert_eq!(ch, lite, "list_runs {q:?}");
        ch
    }

    /// Both stores refuse the query as invalid, with the same message, in span search and
    /// (`runs`) in run listings.
    async fn refused(&self, q: &str, runs: bool) {
        let (ch, lite) = if runs {
            let ch = self.ch.list_runs(self.ch_project, query(q, 10)).await;
            let lite = self.lite.list_runs(self.lite_project, query(q, 10)).await;
            (ch.map(|_| ()), lite.map(|_| ()))
        } else {
            let ch = self.ch.search_spans(self.ch_project, query(q, 10)).await;
            let lite = self
                .lite
                .search_spans(self.lite_project, query(q, 10))
                .await;
            (ch.map(|_| ()), lite.map(|_| ()))
        };
        match (ch, lite) {
            (Err(StoreError::Invalid(a)), Err(StoreError::Invalid(b))) => assert_eq!(a, b),
            other => panic!("{q}: {other:?}"),
        }
    }
}

fn text_span(trace: u8, id: u8, name: &str, input: &str) -> Span {
    span(trace, id, name, json!({"lemma.input": input}))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phrases_match_as_in_sqlite() {
    let server = Server::start();
    let both = Both::new(
        server.store("phrases").await,
        vec![
            text_span(1, 1, "chat", "the refund policy is clear"),
            text_span(1, 2, "chat", "refund the policy"),
            text_span(2, 1, "answer", "Réfund — POLICY, then REFUND"),
            text_span(3, 1, "loop", "go go went"),
            text_span(3, 2, "tool", "policy refund"),
            text_span(4, 1, "naïve café", "straße Øre"),
        ],
    )
    .await;
    assert_eq!(both.spans("\"refund policy\"").await, [(2, 1), (1, 1)]);
    // Not adjacent, or not in this order: no match.
    assert_eq!(both.spans("\"refund, the policy\"").await, [(1, 2)]);
    assert_eq!(both.spans("\"policy is\"").await, [(1, 1)]);
    assert_eq!(
        both.spans("\"clear refund\"").await,
        Vec::<(u128, u64)>::new()
    );
    // One word matches wherever it is; case and diacritics do not matter.
    assert_eq!(both.spans("REFÚND").await, [(3, 2), (2, 1), (1, 2), (1, 1)]);
    assert_eq!(both.spans("naive CAFE").await, [(4, 1)]);
    assert_eq!(both.spans("\"naive cafe\"").await, [(4, 1)]);
    assert_eq!(both.spans("strasse").await, Vec::<(u128, u64)>::new());
    assert_eq!(both.spans("straße øre").await, [(4, 1)]);
    // Repeated words: each needs its own place.
    assert_eq!(both.spans("\"go go\"").await, [(3, 1)]);
    assert_eq!(both.spans("\"go go went\"").await, [(3, 1)]);
    assert_eq!(both.spans("\"go go go\"").await, Vec::<(u128, u64)>::new());
    assert_eq!(
        both.spans("\"go went go\"").await,
        Vec::<(u128, u64)>::new()
    );
    // The name and the input are one text: a phrase may run from one into the other.
    assert_eq!(both.spans("\"loop go\"").await, [(3, 1)]);
    // Text with no word finds nothing.
    assert_eq!(both.spans("\"--\"").await, Vec::<(u128, u64)>::new());
    // Several terms: each must hold; negated, runs without the text.
    assert_eq!(both.spans("refund then").await, [(2, 1)]);
    assert_eq!(both.runs("\"policy refund\"").await, [3]);
    assert_eq!(both.runs("-refund").await, [4]);
    assert_eq!(both.runs("refund -\"refund policy\"").await, [3]);
    assert_eq!(both.spans("-refund kind:span").await, [(4, 1), (3, 1)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_match_as_in_sqlite() {
    let server = Server::start();
    let agent = |trace: u8, name: &str, agent: &str, extra: serde_json::Value| {
        let mut attrs = json!({
            "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": agent,
        });
        attrs
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().cloned().unwrap_or_default());
        span(trace, 1, name, attrs)
    };
    let llm = |trace: u8, model: &str, provider: &str| {
        span(
            trace,
            2,
            "chat",
            json!({"gen_ai.operation.name": "chat", "gen_ai.request.model": model,
                   "gen_ai.system": provider, "gen_ai.usage.input_tokens": 7,
                   "lemma.cost_usd": f64::from(trace) / 10.0}),
        )
    };
    let both = Both::new(
        server.store("filters").await,
        vec![
            agent(
                10,
                "50%_off",
                "a_b",
                json!({"lemma.metadata.tier": "gold", "lemma.user_id": "u1"}),
            ),
            agent(
                11,
                "50xyoff",
                "axb",
                json!({"lemma.metadata.tier": "it's ? \\ \"x\""}),
            ),
            agent(12, "a\\b", "a%b", json!({"lemma.thread_id": "t"})),
            agent(
                13,
                "it's ? \\ \"quoted\"",
                "Ab",
                json!({"lemma.metadata.n": 5}),
            ),
            llm(10, "gpt-4o", "openai"),
            llm(11, "gpt-4o-mini", "openai"),
            llm(12, "claude", "anthropic"),
        ],
    )
    .await;
    // Wildcards: `*` only; %, _ and \ are literal, and case matters.
    assert_eq!(both.spans("name:50%_*").await, [(10, 1)]);
    assert_eq!(both.spans("name:50*off").await, [(11, 1), (10, 1)]);
    assert_eq!(both.spans("name:a\\*").await, [(12, 1)]);
    assert_eq!(both.runs("agent:a_*").await, [10]);
    assert_eq!(both.runs("agent:a%*").await, [12]);
    assert_eq!(both.runs("agent:a*").await, [12, 11, 10]);
    assert_eq!(both.runs("agent:A*").await, [13]);
    // Hostile values are values: quotes, backslashes and placeholders match themselves.
    assert_eq!(
        both.spans(r#"name:"it's ? \\ \"quoted\"""#).await,
        [(13, 1)]
    );
    assert_eq!(both.runs(r#"meta.tier="it's ? \\ \"x\"""#).await, [11]);
    assert_eq!(both.runs(r#"meta.tier:"it's ?*""#).await, [11]);
    assert_eq!(
        both.runs(r#"agent:"x'); DROP TABLE spans; --",?"#).await,
        Vec::<u128>::new()
    );
    assert_eq!(both.spans("\"it's ? \\\\\"").await, [(13, 1)]);
    assert_eq!(
        both.runs("").await,
        [13, 12, 11, 10],
        "every table is still there"
    );
    // Span fields of runs, negation of missing values, metadata, numbers.
    assert_eq!(both.runs("provider:openai").await, [11, 10]);
    assert_eq!(both.runs("-provider:open*").await, [13, 12]);
    assert_eq!(both.runs("model:gpt-4o*").await, [11, 10]);
    assert_eq!(both.runs(&format!("span:{:016x}", 2)).await, [12, 11, 10]);
    assert_eq!(both.runs("-thread:t").await, [13, 11, 10]);
    assert_eq!(both.runs("-user:u1 has:user").await, Vec::<u128>::new());
    assert_eq!(both.runs("meta.n=5 has:meta.n").await, [13]);
    assert_eq!(both.runs("-meta.tier=gold").await, [13, 12, 11]);
    assert_eq!(both.runs("cost>1.05").await, [12, 11]);
    assert_eq!(
        both.spans("cost<=1.1 -kind:agent").await,
        [(11, 2), (10, 2)]
    );
    assert_eq!(
        both.spans("-cost>1.05").await,
        [(13, 1), (12, 1), (11, 1), (10, 2), (10, 1)]
    );
    assert_eq!(
        both.spans("input_tokens>=7 has:model").await,
        [(12, 2), (11, 2), (10, 2)]
    );
    assert_eq!(
        both.spans("duration>4 has:root").await,
        [(13, 1), (12, 1), (11, 1), (10, 1)]
    );
    assert_eq!(both.runs("spans>=2 errors<1").await, [12, 11, 10]);
    assert_eq!(
        both.runs(&format!("run:{:032X},{:032x}", 10, 12)).await,
        [12, 10]
    );
    for bad in [
        "run:xyz",
        "tag:a",
        "has:signal",
        "spans>1",
        "meta.a=1",
        "attr.x=1",
    ] {
        both.refused(bad, false).await;
    }
    for bad in [
        "run:xyz",
        "span:12",
        "meta.a\\b=1",
        "has:meta.a\\b",
        "attr.x=1",
    ] {
        both.refused(bad, true).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_are_found_once_with_their_newest_row_and_paged() {
    let server = Server::start();
    let store = server.store("paging").await;
    let p = store.create_project("p").await.unwrap().id;
    let mut spans = Vec::new();
    for trace in 1..=3u8 {
        for id in 1..=4u8 {
            spans.push((
                p,
                span(trace, id, "step", json!({"lemma.input": "same words"})),
            ));
        }
    }
    spans.push((p, span(4, 1, "priced", json!({"lemma.cost_usd": 1.0}))));
    store.write_spans(spans.clone()).await.unwrap();
    // A retried write stores nothing twice; a re-pricing adds a newer row with another cost.
    store.write_spans(spans).await.unwrap();
    server
        .execute(&format!(
            "INSERT INTO paging.spans SELECT project_id, trace_id, span_id, generation,
                 toUInt32(version + 1), inserted, parent_span_id, name, kind, status, start_ns,
                 end_ns, model, provider, tool_name, agent_name, thread_id, user_id, session_id,
                 environment, service_name, input_tokens, output_tokens, total_tokens,
                 toNullable(9.5), cost_source, digest, body
             FROM paging.spans WHERE trace_id = '{:032x}'",
            4
        ))
        .await;
    let found = |q: &'static str| {
        let store = store.clone();
        async move {
            let page = store.search_spans(p, query(q, 100)).await.unwrap();
            page.items
                .iter()
                .map(|s| (s.trace_id.clone(), s.span_id.clone()))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(found("cost>5").await.len(), 1, "the newest row's cost");
    assert!(found("cost<2").await.is_empty(), "not an older row's");
    assert_eq!(found("-cost<2 name:priced").await.len(), 1);
    assert_eq!(found("").await.len(), 13);

    // Pages of 5: every span once, newest first.
    let mut q = query("\"same words\"", 5);
    let mut seen: Vec<(u64, String, String)> = Vec::new();
    loop {
        let page = store.search_spans(p, q.clone()).await.unwrap();
        assert!(page.items.len() <= 5);
        seen.extend(page.items.iter().map(|s| {
            (
                s.start_time_unix_nano,
                s.span_id.clone(),
                s.trace_id.clone(),
            )
        }));
        match page.next_cursor {
            Some(c) => q.cursor = Some(Cursor::decode(&c).unwrap()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 12);
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    sorted.dedup();
    assert_eq!(seen, sorted);

    // A cursor that is not one is refused.
    let mut bad = query("", 5);
    bad.cursor = Some(Cursor {
        sorted: None,
        time_unix_nano: 1,
        id: "not hex".into(),
    });
    for result in [
        store.search_spans(p, bad.clone()).await.map(|_| ()),
        store.list_runs(p, bad).await.map(|_| ()),
    ] {
        assert!(matches!(result, Err(StoreError::Invalid(_))), "{result:?}");
    }

    // A deleted generation's spans and words are gone from search; the run's others stay.
    server
        .execute(&format!(
            "INSERT INTO paging.run_deletes VALUES ({}, '{:032x}', 0, 1)",
            p.0, 2
        ))
        .await;
    assert_eq!(found("").await.len(), 9);
    assert_eq!(found("\"same words\"").await.len(), 8);
    assert!(found("\"same words\"")
        .await
        .iter()
        .all(|(t, _)| *t != format!("{:032x}", 2)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn find_in_run_and_get_spans() {
    let server = Server::start();
    let store = server.store("inrun").await;
    let p = store.create_project("p").await.unwrap().id;
    let run = format!("{:032x}", 7);
    let spans: Vec<_> = (1..=5u8)
        .map(|id| {
            let kind = if id % 2 == 0 { "execute_tool" } else { "chat" };
            (
                p,
                span(
                    7,
                    id,
                    &format!("step {id}"),
                    json!({"gen_ai.operation.name": kind, "gen_ai.tool.name": "search",
                           "lemma.input": format!("needle {id}")}),
                ),
            )
        })
        .collect();
    store.write_spans(spans).await.unwrap();
    let find = |q: &'static str, limit: usize| {
        let store = store.clone();
        let run = run.clone();
        async move {
            store
                .find_in_run(p, &run, parse(q, 0).unwrap(), limit)
                .await
                .unwrap()
        }
    };
    let id = |n: u8| format!("{n:016x}");
    assert_eq!(find("kind:tool", 10).await, [id(2), id(4)]);
    assert_eq!(find("needle", 3).await, [id(1), id(2), id(3)]);
    assert_eq!(find("\"needle 5\"", 10).await, [id(5)]);
    assert!(find("needle", 0).await.is_empty());
    assert!(store
        .find_in_run(p, "nope", parse("", 0).unwrap(), 10)
        .await
        .unwrap()
        .is_empty());
    assert!(matches!(
        store
            .find_in_run(p, &run, parse("tag:x", 0).unwrap(), 10)
            .await,
        Err(StoreError::Invalid(_))
    ));
    let got = store
        .get_spans(p, &run, vec![id(4), id(2).to_uppercase(), "ffff".into()])
        .await
        .unwrap();
    let ids: Vec<&str> = got.iter().map(|s| s.span_id.as_str()).collect();
    assert_eq!(ids, [id(2), id(4)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threads_match_as_in_sqlite() {
    let server = Server::start();
    let mut spans = Vec::new();
    let threads = ["t-a", "t-b", "t-a", "it's \\ ?", "t-b", "t-a", "", "t-c"];
    for (i, thread) in threads.iter().enumerate() {
        let trace = 20 + i as u8;
        let mut attrs = json!({
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": format!("agent-{}", i % 3),
            "lemma.user_id": format!("u{}", i % 2),
        });
        if !thread.is_empty() {
            attrs["lemma.thread_id"] = json!(thread);
        }
        let mut root = span(trace, 1, "run", attrs);
        if i == 4 {
            root.status = lemma_core::StatusCode::Error;
        }
        spans.push(root);
        spans.push(span(
            trace,
            2,
            "chat",
            json!({"gen_ai.operation.name": "chat", "gen_ai.request.model": "m",
                   "gen_ai.usage.input_tokens": 1_000 * (i + 1), "gen_ai.usage.output_tokens": 3,
                   "lemma.cost_usd": if i % 2 == 0 { json!(0.25) } else { json!(null) }}),
        ));
    }
    let both = Both::new(server.store("threads").await, spans).await;
    let normal = |mut t: lemma_store::ThreadSummary| {
        t.agent_names.sort();
        t
    };
    for q in ["", "agent:agent-1", "-user:u0", "has:error"] {
        // Page by two: both stores give the same pages.
        let (mut ch_q, mut lite_q) = (query(q, 2), query(q, 2));
        let mut pages = 0;
        loop {
            let ch = both
                .ch
                .list_threads(both.ch_project, ch_q.clone())
                .await
                .unwrap();
            let lite = both
                .lite
                .list_threads(both.lite_project, lite_q.clone())
                .await
                .unwrap();
            let ch_items: Vec<_> = ch.items.into_iter().map(normal).collect();
            let lite_items: Vec<_> = lite.items.into_iter().map(normal).collect();
            assert_eq!(ch_items, lite_items, "{q:?} page {pages}");
            assert!(ch_items.len() <= 2);
            pages += 1;
            match (ch.next_cursor, lite.next_cursor) {
                (Some(a), Some(b)) => {
                    ch_q.cursor = Some(Cursor::decode(&a).unwrap());
                    lite_q.cursor = Some(Cursor::decode(&b).unwrap());
                }
                (None, None) => break,
                other => panic!("{q:?}: {other:?}"),
            }
        }
        if q.is_empty() {
            assert_eq!(pages, 2, "four threads, two pages");
        }
    }
    for thread in ["t-a", "t-b", "it's \\ ?", "nope", ""] {
        let ch = both.ch.get_thread(both.ch_project, thread).await.unwrap();
        let lite = both
            .lite
            .get_thread(both.lite_project, thread)
            .await
            .unwrap();
        let runs = |(t, runs): (lemma_store::ThreadSummary, Vec<lemma_core::Run>)| {
            let ids: Vec<String> = runs.into_iter().map(|r| r.run_id).collect();
            (normal(t), ids)
        };
        assert_eq!(ch.map(runs), lite.map(runs), "{thread:?}");
    }
    let (t, runs) = both
        .ch
        .get_thread(both.ch_project, "t-a")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (t.run_count, runs.len(), t.total_tokens),
        (3, 3, 1_003 + 3_003 + 6_003)
    );
    assert_eq!(
        (t.cost_usd, t.agent_names),
        (Some(0.5), vec!["agent-0".to_string(), "agent-2".into()])
    );
}

/// Metric filters, with events stored as the metric writer stores them (one row each, keyed
/// by the run's generation): events of another generation do not count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metric_filters_match_as_in_sqlite() {
    use lemma_core::{MetricEvent, MetricValue};
    let server = Server::start();
    let spans = (30..=32u8)
        .map(|t| {
            span(
                t,
                1,
                "run",
                json!({"gen_ai.operation.name": "invoke_agent"}),
            )
        })
        .collect();
    let both = Both::new(server.store("metrics").await, spans).await;
    let events = [
        (30, "resolved", MetricValue::Bool(true)),
        (31, "resolved", MetricValue::Bool(false)),
        (31, "quality", MetricValue::Number(0.75)),
        (32, "quality", MetricValue::Number(0.25)),
        (31, "feedback", MetricValue::Text("great".into())),
    ];
    let mut rows = Vec::new();
    for (i, (run, name, value)) in events.iter().enumerate() {
        let event = MetricEvent {
            id: String::new(),
            run_id: format!("{run:032x}"),
            span_id: None,
            name: name.to_string(),
            value: value.clone(),
            comment: None,
            source: None,
            time_unix_nano: i as u64,
        };
        both.lite
            .write_metrics(both.lite_project, vec![event])
            .await
            .unwrap();
        let (kind, num, text) = match value {
            MetricValue::Bool(b) => ("bool", format!("{}", u8::from(*b)), "NULL".to_string()),
            MetricValue::Number(n) => ("number", n.to_string(), "NULL".into()),
            MetricValue::Text(t) => ("text", "NULL".into(), format!("'{t}'")),
        };
        rows.push(format!(
            "({}, '{run:032x}', 0, 'e{i}', NULL, '{name}', '{kind}', {num}, {text}, NULL, NULL, {i}, 0)",
            both.ch_project.0
        ));
    }
    // An event of a later generation of run 30 (after a deletion) is not run 30's now.
    rows.push(format!(
        "({}, '{:032x}', 1, 'late', NULL, 'late', 'bool', 1, NULL, NULL, NULL, 9, 0)",
        both.ch_project.0, 30
    ));
    server
        .execute(&format!(
            "INSERT INTO metrics.metrics VALUES {}",
            rows.join(", ")
        ))
        .await;
    assert_eq!(both.runs("metric.resolved=true").await, [30]);
    assert_eq!(both.runs("metric.resolved:false").await, [31]);
    assert_eq!(both.runs("metric.quality<0.5").await, [32]);
    assert_eq!(both.runs("metric.quality>=0.5").await, [31]);
    assert_eq!(both.runs("metric.quality=0.75,0.25").await, [32, 31]);
    assert_eq!(both.runs("metric.feedback=gr*").await, [31]);
    assert_eq!(
        both.runs("-has:metric.feedback has:metric.resolved").await,
        [30]
    );
    assert_eq!(both.runs("-metric.quality>0.5").await, [32, 30]);
    assert!(both.runs("metric.resolved=yes").await.is_empty());
    assert_eq!(both.spans("has:metric.feedback").await, [(31, 1)]);
    let late = both
        .ch
        .list_runs(both.ch_project, query("has:metric.late", 10));
    assert!(late.await.unwrap().items.is_empty());
}
