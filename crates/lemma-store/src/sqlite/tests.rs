//! What the SQLite store promises beyond the conformance suite: the query plans that keep reads
//! fast as a project grows, and how spans are stored.

use lemma_core::{Message, Part, Span, SpanKind};
use rusqlite::Connection;

use super::filter::{compile, Target};
use super::{read, schema, stats, write};
use crate::{ProjectId, StatsQuery};

fn store() -> Connection {
    let mut conn = Connection::open_in_memory().unwrap();
    schema::migrate(&mut conn).unwrap();
    conn
}

fn plan(conn: &Connection, sql: &str) -> String {
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    let n = stmt.parameter_count();
    let params: Vec<rusqlite::types::Value> =
        (0..n).map(|_| rusqlite::types::Value::Integer(1)).collect();
    let rows = stmt
        .query_map(rusqlite::params_from_iter(params), |r| {
            r.get::<_, String>(3)
        })
        .unwrap();
    rows.map(Result::unwrap).collect::<Vec<_>>().join(" | ")
}

#[test]
fn a_run_and_a_thread_are_read_through_their_own_indexes() {
    let conn = store();
    let run = plan(&conn, read::RUN_SPANS);
    assert!(
        run.contains("USING INDEX spans_id (project_id=? AND trace_id=?)"),
        "{run}"
    );
    let thread = plan(&conn, &read::thread_summary_sql());
    assert!(
        thread.contains("USING INDEX runs_thread (project_id=? AND thread_id=?)"),
        "{thread}"
    );
}

#[test]
fn failed_runs_over_a_range_use_the_status_index_and_text_matches_are_found_once() {
    let conn = store();
    let filter = |q: &str| {
        let f = compile(&lemma_core::query::parse(q, 1).unwrap(), Target::Runs).unwrap();
        format!("SELECT r.trace_id FROM runs r WHERE r.project_id = ? AND ({}) ORDER BY r.start_ns DESC LIMIT 50", f.sql)
    };
    let failed = plan(&conn, &filter("status:error since:2020-01-01"));
    assert!(failed.contains("runs_status"), "{failed}");
    let text = plan(&conn, &filter("chargeback"));
    assert!(!text.contains("CORRELATED"), "{text}");
}

fn chat(id: &str, history: &[(&str, &str)], answer: &str) -> Span {
    let message = |role: &str, text: &str| Message {
        role: role.into(),
        parts: vec![Part::Text {
            content: text.into(),
        }],
        name: None,
        finish_reason: None,
    };
    let mut span = Span {
        trace_id: "ab".repeat(16),
        span_id: id.repeat(16),
        name: "chat".into(),
        kind: SpanKind::Llm,
        model: Some("gpt-4o".into()),
        start_time_unix_nano: 1_700_000_000_000_000_000,
        end_time_unix_nano: 1_700_000_001_000_000_000,
        input_messages: Some(history.iter().map(|(r, t)| message(r, t)).collect()),
        output_messages: Some(vec![message("assistant", answer)]),
        ..Span::default()
    };
    span.usage.input_tokens = Some(100);
    span.usage.output_tokens = Some(10);
    span.usage.total_tokens = Some(110);
    span
}

#[test]
fn a_model_call_indexes_only_the_messages_since_the_last_answer() {
    let span = chat(
        "1",
        &[
            ("user", "where is order alpha"),
            ("assistant", "looking bravo"),
            ("tool", "shipped charlie"),
            ("user", "thanks delta"),
        ],
        "you are welcome echo",
    );
    let text = write::searchable_text(&span);
    for new in ["charlie", "delta", "echo"] {
        assert!(text.contains(new), "{new} missing from {text:?}");
    }
    for resent in ["alpha", "bravo"] {
        assert!(!text.contains(resent), "{resent} indexed again in {text:?}");
    }
    let first = write::searchable_text(&chat(
        "2",
        &[("system", "be brief foxtrot"), ("user", "hello golf")],
        "hi",
    ));
    assert!(
        first.contains("foxtrot") && first.contains("golf"),
        "{first}"
    );
}

#[test]
fn stats_read_usage_by_model_from_its_column_or_from_older_summaries() {
    let mut conn = store();
    let project = ProjectId(1);
    conn.execute(
        "INSERT INTO projects (id, name, created_ns) VALUES (1, 'p', 0)",
        [],
    )
    .unwrap();
    let batch =
        write::encode_batch(vec![(project, chat("1", &[("user", "hi")], "hello"))]).unwrap();
    write::write_batch(&mut conn, batch).unwrap();
    let query = StatsQuery {
        filter: Default::default(),
        from_unix_nano: 1_699_999_000_000_000_000,
        to_unix_nano: 1_700_001_000_000_000_000,
        bucket_seconds: 3_600,
    };
    let fresh = stats::stats(&conn, project, &query).unwrap();
    assert_eq!(fresh.by_model.len(), 1, "{fresh:?}");
    assert_eq!(
        (
            fresh.by_model[0].model.as_str(),
            fresh.by_model[0].total_tokens
        ),
        ("gpt-4o", 110)
    );
    conn.execute("UPDATE runs SET usage_by_model = NULL", [])
        .unwrap();
    assert_eq!(stats::stats(&conn, project, &query).unwrap(), fresh);
}
