use lemma_core::{semconv, LogRecord, Span};
use serde_json::json;

use crate::clickhouse::{local::LocalServer, ClickHouseStore};
use crate::Store;

fn span(trace: u8, id: u8) -> Span {
    let mut s = Span {
        trace_id: format!("{trace:032x}"),
        span_id: format!("{id:016x}"),
        name: "chat".into(),
        start_time_unix_nano: 1,
        end_time_unix_nano: 2,
        ..Span::default()
    };
    semconv::normalize(&mut s);
    s
}

/// A record naming the span, its ids in upper case as some exporters send them.
fn record(trace: u8, span: u8, time: u64, text: &str) -> LogRecord {
    LogRecord {
        trace_id: Some(format!("{trace:032X}")),
        span_id: Some(format!("{span:016X}")),
        time_unix_nano: time,
        event_name: Some("gen_ai.user.message".into()),
        body: Some(json!({ "content": text })),
        ..LogRecord::default()
    }
}

fn texts(span: &Span) -> Vec<String> {
    span.logs
        .iter()
        .map(|r| {
            r.body.as_ref().unwrap()["content"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attach_joins_the_records_of_live_spans_of_several_runs() {
    let dir = tempfile::tempdir().unwrap();
    let server = LocalServer::start(dir.path()).unwrap();
    let address = format!("clickhouse://127.0.0.1:{}/lemma", server.http_port);
    let store = ClickHouseStore::open(&address).await.unwrap();
    let p = store.create_project("alpha").await.unwrap().id;
    let q = store.create_project("beta").await.unwrap().id;
    let spans = [
        span(0xa1, 0xb1),
        span(0xa1, 0xb2),
        span(0xa2, 0xb1),
        span(0xa3, 0xb1),
    ];
    store
        .write_spans(spans.iter().map(|s| (p, s.clone())).collect())
        .await
        .unwrap();
    let w = store
        .write_logs(vec![
            (p, record(0xa1, 0xb1, 2, "late")),
            (p, record(0xa1, 0xb1, 1, "early")),
            (p, record(0xa1, 0xb1, 1, "early")),
            (p, record(0xa2, 0xb1, 1, "other run")),
            (p, record(0xa3, 0xb1, 1, "deleted run")),
            (q, record(0xa1, 0xb2, 1, "other project")),
        ])
        .await
        .unwrap();
    assert_eq!((w.inserted, w.duplicates), (5, 1));
    // A run deleted and started anew has none of its earlier records.
    assert!(store.delete_run(p, &spans[3].trace_id).await.unwrap());
    store
        .write_spans(vec![(p, spans[3].clone())])
        .await
        .unwrap();

    let mut found = vec![
        spans[0].clone(),
        spans[2].clone(),
        spans[1].clone(),
        spans[3].clone(),
        spans[0].clone(),
    ];
    let mut generations = Vec::new();
    for s in &found {
        let g = crate::clickhouse::runs::generation(&store.inner, p, &s.trace_id).await;
        generations.push(g.unwrap());
    }
    super::attach(&store.inner, p, &mut found, &generations)
        .await
        .unwrap();
    let got: Vec<Vec<String>> = found.iter().map(texts).collect();
    assert_eq!(
        got,
        [
            vec!["early", "late"],
            vec!["other run"],
            vec![],
            vec![],
            vec!["early", "late"]
        ]
    );
    assert!(
        found[0].input_messages.is_some(),
        "messages derived from the records"
    );
    let mut none: Vec<Span> = Vec::new();
    super::attach(&store.inner, p, &mut none, &[])
        .await
        .unwrap();
}
