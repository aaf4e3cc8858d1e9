//! The ClickHouse store's write path against a real server: batches too large for one
//! statement, and two stores (two Lemma servers) writing the same runs at once.

use lemma_core::{semconv, Span};
use lemma_store::clickhouse::local::LocalServer;
use lemma_store::clickhouse::ClickHouseStore;
use lemma_store::{ProjectId, Store};

fn span(run: u32, id: u32, parent: Option<u32>) -> Span {
    let mut s = Span {
        trace_id: format!("{run:032x}"),
        span_id: format!("{id:016x}"),
        parent_span_id: parent.map(|p| format!("{p:016x}")),
        name: format!("step {id}"),
        start_time_unix_nano: 1_700_000_000_000_000_000 + u64::from(id),
        end_time_unix_nano: 1_700_000_000_000_000_000 + u64::from(id) + 1_000,
        ..Span::default()
    };
    semconv::normalize(&mut s);
    s
}

async fn open(server: &LocalServer) -> ClickHouseStore {
    ClickHouseStore::open(&format!(
        "clickhouse://127.0.0.1:{}/lemma",
        server.http_port
    ))
    .await
    .unwrap()
}

/// A batch of 5,000 spans of 5,000 runs: every key list is longer than one statement may be.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_larger_than_one_statement_is_stored_and_deduplicated() {
    let dir = tempfile::tempdir().unwrap();
    let server = LocalServer::start(dir.path()).unwrap();
    let store = open(&server).await;
    let p = store.create_project("alpha").await.unwrap().id;
    let batch: Vec<(ProjectId, Span)> = (1..=5_000).map(|i| (p, span(i, 1, None))).collect();
    let first = store.write_spans(batch.clone()).await.unwrap();
    assert_eq!((first.inserted, first.duplicates), (5_000, 0));
    let again = store.write_spans(batch).await.unwrap();
    assert_eq!((again.inserted, again.duplicates), (0, 5_000));
    for run in [1, 2_500, 5_000] {
        let summary = store
            .run_summary(p, &format!("{run:032x}"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(summary.span_count, 1);
    }
}

/// Two stores on one database (two Lemma servers) write the halves of the same runs at once,
/// in many small batches each; every run's summary ends complete, as if one store wrote all.
/// (Summaries are written after their spans, so each store's last summary may have missed the
/// other's last spans: the complete one must win however the two were interleaved.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_writing_the_same_runs_at_once_leave_complete_summaries() {
    const RUNS: u32 = 20;
    const SPANS: u32 = 40;
    let dir = tempfile::tempdir().unwrap();
    let server = LocalServer::start(dir.path()).unwrap();
    let (a, b) = (open(&server).await, open(&server).await);
    let p = a.create_project("alpha").await.unwrap().id;
    let roots: Vec<(ProjectId, Span)> = (1..=RUNS).map(|run| (p, span(run, 1, None))).collect();
    a.write_spans(roots).await.unwrap();
    let half = |store: ClickHouseStore, parity: u32| {
        tokio::spawn(async move {
            for id in (2..=SPANS).filter(|id| id % 2 == parity) {
                let batch = (1..=RUNS).map(|run| (p, span(run, id, Some(1)))).collect();
                store.write_spans(batch).await.unwrap();
            }
        })
    };
    let (x, y) = (half(a.clone(), 0), half(b.clone(), 1));
    x.await.unwrap();
    y.await.unwrap();
    // No write follows the last two: the summary that saw more spans must be the one read.
    for run in 1..=RUNS {
        let id = format!("{run:032x}");
        for store in [&a, &b] {
            let summary = store.run_summary(p, &id).await.unwrap().unwrap();
            assert_eq!(summary.span_count, u64::from(SPANS), "run {run}");
            assert!(summary.has_root, "run {run}");
            let (_, spans) = store.get_run(p, &id).await.unwrap().unwrap();
            assert_eq!(spans.len(), SPANS as usize);
        }
    }
}
