//! What the SQLite store promises beyond the conformance suite: the query plans that keep reads
//! fast as a project grows, and how spans are stored.

use lemma_core::{Message, Part, Span, SpanKind};
use rusqlite::Connection;

use super::filter::{compile, Target};
use super::{read, schema, stats, text, write};
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
    let run = plan(&conn, &read::run_spans_sql());
    assert!(
        run.contains("USING INDEX spans_id (project_id=? AND trace_id=?)"),
        "{run}"
    );
    // A run's outline: its row ids from the index, its rows in row id order.
    let outline = plan(&conn, &super::outline::outline_sql());
    assert!(
        outline.contains("USING INTEGER PRIMARY KEY (rowid=?)")
            && outline.contains("USING COVERING INDEX spans_id (project_id=? AND trace_id=?)"),
        "{outline}"
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
    // The statistics `PRAGMA optimize` sampled from a 1M-span store, under which SQLite
    // prefers the time index for a failed-runs page over a range.
    conn.execute_batch(
        "ANALYZE;
         INSERT INTO sqlite_stat1 VALUES
           ('runs', 'runs_status', '17515 401 401 1'), ('runs', 'runs_time', '17515 401 1 1'),
           ('runs', 'runs_thread', '17515 401 29 1'), ('runs', 'runs_user', '17515 401 101 1'),
           ('runs', 'runs_agent', '17515 401 201 1'), ('runs', 'runs', '17515 401 1');
         ANALYZE sqlite_schema;",
    )
    .unwrap();
    let listing = |q: &str| {
        let filter = lemma_core::query::parse(q, 1).unwrap();
        let f = compile(&filter, Target::Runs, &text::Parts::read(&conn).unwrap()).unwrap();
        plan(
            &conn,
            &read::list_runs_sql(&filter, &f.sql, "", Default::default()),
        )
    };
    let failed = listing("agent:coding_agent status:error since:2020-01-01 until:2021-01-01");
    assert!(failed.contains("USING INDEX runs_status"), "{failed}");
    assert!(
        !failed.contains("TEMP B-TREE FOR ORDER BY"),
        "a full sort: {failed}"
    );
    let thread = listing("thread:t-42 status:error");
    assert!(thread.contains("runs_thread"), "{thread}");
    let text = listing("chargeback status:error");
    assert!(!text.contains("CORRELATED"), "{text}");
    let all = listing("since:2020-01-01");
    assert!(all.contains("runs_time"), "{all}");
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
    let text = crate::search::searchable_text(&span);
    for new in ["charlie", "delta", "echo"] {
        assert!(text.contains(new), "{new} missing from {text:?}");
    }
    for resent in ["alpha", "bravo"] {
        assert!(!text.contains(resent), "{resent} indexed again in {text:?}");
    }
    let first = crate::search::searchable_text(&chat(
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

fn with_project() -> (Connection, ProjectId) {
    let conn = store();
    conn.execute(
        "INSERT INTO projects (id, name, created_ns) VALUES (1, 'p', 0)",
        [],
    )
    .unwrap();
    (conn, ProjectId(1))
}

/// A model call as an OTel GenAI exporter sends it: the conversation so far in
/// `gen_ai.input.messages`, normalised as on ingest.
fn genai_chat(trace: &str, n: usize, history: usize, filler: &str) -> Span {
    let messages: Vec<serde_json::Value> = (0..history)
        .map(|i| {
            serde_json::json!({
                "role": if i % 2 == 0 { "user" } else { "assistant" },
                "parts": [{"type": "text", "content": format!("turn {i}: {filler}")}],
            })
        })
        .collect();
    let mut span = Span {
        trace_id: trace.repeat(16),
        span_id: format!("{n:016x}"),
        name: "chat gpt-4o".into(),
        start_time_unix_nano: 1_700_000_000_000_000_000 + n as u64 * 1_000,
        end_time_unix_nano: 1_700_000_000_000_000_500 + n as u64 * 1_000,
        ..Span::default()
    };
    for (key, value) in [
        ("gen_ai.operation.name", "chat".to_string()),
        ("gen_ai.request.model", "gpt-4o".to_string()),
        (
            "gen_ai.input.messages",
            serde_json::to_string(&messages).unwrap(),
        ),
        (
            "gen_ai.output.messages",
            format!(
                r#"[{{"role":"assistant","parts":[{{"type":"text","content":"answer {n}"}}]}}]"#
            ),
        ),
        ("gen_ai.usage.input_tokens", "12".to_string()),
    ] {
        span.attributes.insert(key.into(), value.into());
    }
    span.resource
        .insert("service.name".into(), "support-agent".into());
    lemma_core::semconv::normalize(&mut span);
    assert!(span.input_messages.is_some());
    span
}

fn run_spans(conn: &Connection, project: ProjectId, trace: &str) -> Vec<Span> {
    read::get_run(conn, project, &trace.repeat(16))
        .unwrap()
        .expect("the run is stored")
        .1
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn each_runs_spans_in_a_batch_share_one_block_and_read_back_whole() {
    let (mut conn, project) = with_project();
    let filler = "the order shipped from the Lisbon warehouse on Tuesday";
    // Two runs interleaved, each call resending the conversation so far.
    let batch: Vec<(ProjectId, Span)> = (0..20)
        .map(|n| {
            let trace = if n % 2 == 0 { "aa" } else { "bb" };
            (project, genai_chat(trace, n, n + 1, filler))
        })
        .collect();
    let alone: usize = batch
        .iter()
        .map(|(_, s)| super::codec::encode_span(&mut s.clone()).unwrap().len())
        .sum();
    let stats = write::write_batch(&mut conn, write::encode_batch(batch.clone()).unwrap()).unwrap();
    assert_eq!(stats.inserted, 20);
    assert_eq!(count(&conn, "SELECT count(*) FROM span_blocks"), 2);
    assert_eq!(
        count(
            &conn,
            "SELECT count(*) FROM spans WHERE block IS NULL OR length(body) > 0"
        ),
        0
    );
    let together = count(&conn, "SELECT sum(length(body)) FROM span_blocks") as usize;
    assert!(
        together * 3 < alone,
        "blocks take {together} bytes, the spans compressed alone {alone}"
    );
    for trace in ["aa", "bb"] {
        let expected: Vec<&Span> = batch
            .iter()
            .map(|(_, s)| s)
            .filter(|s| s.trace_id == trace.repeat(16))
            .collect();
        let read = run_spans(&conn, project, trace);
        assert_eq!(read.iter().collect::<Vec<_>>(), expected);
    }
    let listed = read::search_spans(
        &conn,
        project,
        &crate::ListQuery {
            limit: 100,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(listed.items.len(), 20);
    assert!(listed.items.iter().all(|s| s.input_messages.is_some()));

    // A retried export stores nothing new, not even a block.
    let again = write::write_batch(&mut conn, write::encode_batch(batch.clone()).unwrap()).unwrap();
    assert_eq!((again.inserted, again.duplicates), (0, 20));
    assert_eq!(count(&conn, "SELECT count(*) FROM span_blocks"), 2);

    // Spans stored before blocks existed keep their body inline and read as before.
    let first = &batch[0].1;
    conn.execute(
        "UPDATE spans SET body = ?1, block = NULL, block_pos = NULL WHERE span_id = ?2",
        rusqlite::params![
            super::codec::encode_span(&mut first.clone()).unwrap(),
            hex::decode(&first.span_id).unwrap()
        ],
    )
    .unwrap();
    assert_eq!(&run_spans(&conn, project, "aa")[0], first);
}

#[test]
fn a_long_run_is_split_into_blocks_of_bounded_size() {
    let (mut conn, project) = with_project();
    // Each span carries ~16 KB of distinct text, so the run needs several blocks.
    let batch: Vec<(ProjectId, Span)> = (0..48)
        .map(|n| {
            let filler: String = (0..4_000)
                .map(|i| format!("{:x}", (i * 7919 + n * 104_729) % 65_521))
                .collect();
            (project, genai_chat("cc", n, 1, &filler))
        })
        .collect();
    write::write_batch(&mut conn, write::encode_batch(batch.clone()).unwrap()).unwrap();
    let blocks = count(&conn, "SELECT count(*) FROM span_blocks");
    assert!(blocks >= 3, "{blocks} blocks");
    let read = run_spans(&conn, project, "cc");
    assert_eq!(read, batch.into_iter().map(|(_, s)| s).collect::<Vec<_>>());
}

#[test]
fn digests_keep_only_what_the_columns_do_not_and_older_ones_still_read() {
    use lemma_core::run::SpanDigest;
    let (mut conn, project) = with_project();
    let plain = genai_chat("dd", 1, 1, "hello");
    let mut full = genai_chat("dd", 2, 1, "hello");
    full.trace_name = Some("checkout".into());
    full.status = lemma_core::StatusCode::Error;
    full.status_message = Some("rate limited".into());
    full.response_id = Some("chatcmpl-42".into());
    full.usage.cache_read_tokens = Some(7);
    full.usage.reasoning_tokens = Some(3);
    full.tool_args = Some(serde_json::json!({"order": 42}));
    full.tags = vec!["beta".into()];
    full.metadata.insert("tier".into(), "gold".into());
    full.cost_usd = Some(0.25);
    write::write_batch(
        &mut conn,
        write::encode_batch(vec![(project, plain.clone()), (project, full.clone())]).unwrap(),
    )
    .unwrap();
    let digest_of = |conn: &Connection, span: &Span| -> SpanDigest {
        let sql = format!(
            "SELECT {} FROM spans WHERE span_id = ?1",
            super::codec::DIGEST_COLUMNS
        );
        let mut stmt = conn.prepare(&sql).unwrap();
        let mut rows = stmt.query([hex::decode(&span.span_id).unwrap()]).unwrap();
        super::codec::digest_from_row(rows.next().unwrap().unwrap()).unwrap()
    };
    assert_eq!(digest_of(&conn, &plain), SpanDigest::from(&plain));
    assert_eq!(digest_of(&conn, &full), SpanDigest::from(&full));
    let plain_bytes = count(
        &conn,
        "SELECT length(digest) FROM spans WHERE span_id = X'0000000000000001'",
    );
    assert_eq!(
        plain_bytes, 0,
        "a span with nothing beyond its columns has an empty digest"
    );

    // Older rows hold the whole digest, as plain JSON or compressed; it wins over the columns.
    let mut old = SpanDigest::from(&full);
    old.name = "named before".into();
    for stored in [
        serde_json::to_vec(&old).unwrap(),
        super::codec::encode(&old).unwrap(),
    ] {
        conn.execute(
            "UPDATE spans SET digest = ?1 WHERE span_id = X'0000000000000002'",
            [stored],
        )
        .unwrap();
        assert_eq!(digest_of(&conn, &full), old);
    }
}

/// Every span of every recorded SDK request in `shared/fixtures/`, normalised as on ingest.
fn fixture_spans() -> Vec<Span> {
    let root = format!("{}/../../../shared/fixtures", env!("CARGO_MANIFEST_DIR"));
    let mut spans = Vec::new();
    for scenario in std::fs::read_dir(&root).unwrap_or_else(|e| panic!("{root}: {e}")) {
        let scenario = scenario.unwrap().path();
        if !scenario.is_dir() || scenario.ends_with("expected") {
            continue;
        }
        for file in std::fs::read_dir(&scenario).unwrap() {
            let file = file.unwrap().path();
            if !file.to_string_lossy().ends_with(".otlp.json") {
                continue;
            }
            let request = lemma_core::otlp::decode_trace_request(
                &std::fs::read(&file).unwrap(),
                lemma_core::otlp::Encoding::Json,
            )
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let mut batch = lemma_core::otlp::extract_spans(request).spans;
            batch.iter_mut().for_each(lemma_core::semconv::normalize);
            spans.extend(batch);
        }
    }
    assert!(spans.len() > 100, "only {} fixture spans", spans.len());
    spans
}

#[test]
fn payloads_an_attribute_holds_are_stored_once_and_every_sdks_spans_read_back_whole() {
    use super::codec::{encode_stored_span, span_from_json};
    let (mut marked, mut saved) = (0, 0);
    for span in fixture_spans() {
        let stored = encode_stored_span(&mut span.clone()).unwrap();
        assert_eq!(span_from_json(&stored).unwrap(), span, "{}", span.name);
        let mut whole = span.clone();
        whole.input_messages = None;
        whole.output_messages = None;
        let whole = serde_json::to_vec(&whole).unwrap();
        if stored.len() < whole.len() {
            marked += 1;
            saved += whole.len() - stored.len();
        }
    }
    // OTel GenAI, OpenInference, OpenLLMetry, Langfuse and Vercel spans all carry their payloads
    // as attributes.
    assert!(marked > 50, "payloads marked in {marked} spans");
    assert!(saved > 20_000, "{saved} bytes saved");
}

#[test]
fn a_payload_unlike_its_attribute_or_short_is_stored_as_is() {
    use super::codec::{encode_stored_span, span_from_json};
    let long = "x".repeat(100);
    let mut span = Span {
        trace_id: "ee".repeat(16),
        span_id: "1".repeat(16),
        name: "tool".into(),
        input: Some(serde_json::json!({"query": long, "page": 2})),
        output: Some(serde_json::json!("ok")),
        tool_args: Some(serde_json::json!({"query": long})),
        ..Span::default()
    };
    // The attribute says page 1: the normalised input is not what it holds.
    span.attributes.insert(
        "input.value".into(),
        serde_json::json!({"query": long, "page": 1})
            .to_string()
            .into(),
    );
    span.attributes.insert("output.value".into(), "ok".into());
    let stored = encode_stored_span(&mut span.clone()).unwrap();
    let raw: serde_json::Value = serde_json::from_slice(&stored).unwrap();
    assert_eq!(raw["input"], span.input.clone().unwrap());
    assert_eq!(raw["output"], "ok");
    assert_eq!(span_from_json(&stored).unwrap(), span);

    // A marker whose attribute is gone is a corrupt row, not a silently empty payload.
    span.attributes.insert(
        "input.value".into(),
        span.input.clone().unwrap().to_string().into(),
    );
    let stored = encode_stored_span(&mut span.clone()).unwrap();
    let mut raw: serde_json::Value = serde_json::from_slice(&stored).unwrap();
    assert_ne!(raw["input"], span.input.clone().unwrap());
    raw["attributes"]
        .as_object_mut()
        .unwrap()
        .remove("input.value");
    let err = span_from_json(&serde_json::to_vec(&raw).unwrap()).unwrap_err();
    assert!(err.to_string().contains("input.value"), "{err}");
}

#[test]
fn text_is_indexed_in_parts_and_a_term_is_found_in_every_part() {
    let (mut conn, project) = with_project();
    let write = |conn: &mut Connection, spans: Vec<Span>| {
        let batch = spans.into_iter().map(|s| (project, s)).collect();
        write::write_batch(conn, write::encode_batch(batch).unwrap()).unwrap();
    };
    write(
        &mut conn,
        (0..5)
            .map(|n| genai_chat("a1", n, 1, if n == 2 { "alpha" } else { "plain" }))
            .collect(),
    );
    // Another project's row moves the row ids to just before the end of part 1.
    conn.execute(
        "INSERT INTO spans (rowid, project_id, trace_id, span_id, name, kind, start_ns, end_ns,
         status, digest, body) VALUES (?1, 2, X'00', X'00', 'x', 'span', 0, 0, 'ok', X'', X'')",
        [2 * text::PART_SPANS - 4],
    )
    .unwrap();
    write(
        &mut conn,
        (10..20)
            .map(|n| {
                let word = match n {
                    10 => "charlie",
                    19 => "bravo",
                    _ => "plain",
                };
                genai_chat("b2", n, 1, word)
            })
            .collect(),
    );
    let parts = text::Parts::read(&conn).unwrap();
    assert_eq!(
        parts.names(),
        ["span_text", "span_text_0", "span_text_1", "span_text_2"]
    );
    // What was indexed before parts existed is still found.
    let legacy: i64 = conn
        .query_row(
            "SELECT min(rowid) FROM spans WHERE project_id = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    conn.execute(
        "INSERT INTO span_text (rowid, text) VALUES (?1, 'delta')",
        [legacy],
    )
    .unwrap();
    let runs = |q: &str| -> Vec<String> {
        let query = crate::ListQuery {
            filter: lemma_core::query::parse(q, 1).unwrap(),
            limit: 10,
            ..Default::default()
        };
        let page = read::list_runs(&conn, project, &query).unwrap();
        page.items
            .into_iter()
            .map(|r| r.run_id[..2].to_string())
            .collect()
    };
    assert_eq!(runs("alpha"), ["a1"]);
    assert_eq!(runs("charlie"), ["b2"]);
    assert_eq!(runs("bravo"), ["b2"]);
    assert_eq!(runs("delta"), ["a1"]);
    assert!(runs("zulu").is_empty());
    let spans = read::search_spans(
        &conn,
        project,
        &crate::ListQuery {
            filter: lemma_core::query::parse("bravo", 1).unwrap(),
            limit: 10,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(spans.items.len(), 1);
    assert_eq!(spans.items[0].span_id, format!("{:016x}", 19));

    // Part names are spliced into SQL, so a name of another shape is refused.
    conn.execute(
        "INSERT INTO text_parts (name) VALUES ('span_text; DROP TABLE spans')",
        [],
    )
    .unwrap();
    assert!(text::Parts::read(&conn).is_err());
}

#[test]
fn token_sums_past_the_integer_range_saturate_and_threads_still_list() {
    let (mut conn, project) = with_project();
    // Stored as older versions did, before counts were bounded at normalisation.
    let batch: Vec<(ProjectId, Span)> = ["ee", "ff"]
        .into_iter()
        .flat_map(|trace| (0..4).map(move |n| (trace, n)))
        .map(|(trace, n)| {
            let mut span = genai_chat(trace, n, 1, "hi");
            span.parent_span_id = None;
            span.thread_id = Some("t-huge".into());
            span.usage.input_tokens = Some(1 << 62);
            span.usage.total_tokens = Some(1 << 62);
            (project, span)
        })
        .collect();
    write::write_batch(&mut conn, write::encode_batch(batch).unwrap()).unwrap();
    let stored = count(&conn, "SELECT min(total_tokens) FROM runs");
    assert_eq!(stored, i64::MAX);
    let (run, _) = read::get_run(&conn, project, &"ee".repeat(16))
        .unwrap()
        .unwrap();
    assert_eq!(run.total_tokens, u64::MAX);
    let threads = read::list_threads(&conn, project, &crate::ListQuery::default()).unwrap();
    assert_eq!(threads.items[0].total_tokens, u64::MAX);
    let (thread, _) = read::get_thread(&conn, project, "t-huge").unwrap().unwrap();
    assert_eq!(thread.total_tokens, threads.items[0].total_tokens);
}

/// `depth` nested arrays around `1`, built without a parser's limit.
fn nested(depth: usize) -> serde_json::Value {
    (0..depth).fold(serde_json::json!(1), |v, _| serde_json::json!([v]))
}

#[test]
fn rows_stored_before_values_were_bounded_still_read_back() {
    use lemma_core::value::{deeper_than, MAX_DEPTH};
    let (mut conn, project) = with_project();
    // What older versions stored: values as deep as serde_json parses (127), or deeper, in a
    // span's payloads, attributes and metadata, and so in its digest and run summary.
    let deep_text = nested(127).to_string();
    let mut root = genai_chat("ab", 1, 1, "hi");
    root.parent_span_id = None;
    root.thread_id = Some("t-old".into());
    root.attributes
        .insert("lemma.input".into(), deep_text.clone().into());
    root.input = Some(nested(127));
    root.output = Some(nested(300));
    root.metadata.insert("x".into(), nested(200));
    root.events.push(lemma_core::SpanEvent {
        name: "e".into(),
        time_unix_nano: 1,
        attributes: serde_json::json!({"deep": nested(126)})
            .as_object()
            .cloned()
            .unwrap(),
        dropped_attributes_count: 0,
    });
    let mut child = genai_chat("ab", 2, 1, "hi");
    child.parent_span_id = Some(root.span_id.clone());
    child.metadata.insert("y".into(), nested(127));
    let batch = vec![(project, root.clone()), (project, child)];
    write::write_batch(&mut conn, write::encode_batch(batch).unwrap()).unwrap();
    // A later span of the run re-reads the deep digests inside its commit.
    let late = genai_chat("ab", 3, 1, "hi");
    write::write_batch(
        &mut conn,
        write::encode_batch(vec![(project, late)]).unwrap(),
    )
    .unwrap();

    let runs = read::list_runs(&conn, project, &crate::ListQuery::default()).unwrap();
    assert_eq!(runs.items.len(), 1);
    let (run, spans) = read::get_run(&conn, project, &"ab".repeat(16))
        .unwrap()
        .unwrap();
    assert_eq!(spans.len(), 3);
    // The payload an attribute held is read as that attribute would be parsed today.
    assert_eq!(spans[0].input, Some(deep_text.into()));
    let (_, thread_runs) = read::get_thread(&conn, project, "t-old").unwrap().unwrap();
    let found = read::search_spans(&conn, project, &crate::ListQuery::default()).unwrap();
    let values = spans
        .iter()
        .chain(&found.items)
        .flat_map(|s| {
            [&s.input, &s.output]
                .into_iter()
                .flatten()
                .chain(s.metadata.values())
                .chain(s.events.iter().flat_map(|e| e.attributes.values()))
        })
        .chain(
            [&run, &runs.items[0], &thread_runs[0]]
                .into_iter()
                .flat_map(|r| {
                    [&r.input, &r.output]
                        .into_iter()
                        .flatten()
                        .chain(r.metadata.values())
                }),
        );
    for value in values {
        assert!(!deeper_than(value, MAX_DEPTH + 8), "{value}");
    }
    assert!(run.metadata.contains_key("x") && run.metadata.contains_key("y"));
}

#[test]
fn a_row_that_cannot_be_read_is_left_out_and_fails_nothing() {
    let (mut conn, project) = with_project();
    let batch: Vec<(ProjectId, Span)> = ["a1", "b2", "c3"]
        .into_iter()
        .enumerate()
        .flat_map(|(i, trace)| {
            (0..2).map(move |n| {
                let mut span = genai_chat(trace, 10 * i + n, 1, "hi");
                span.thread_id = Some("t".into());
                (project, span)
            })
        })
        .collect();
    write::write_batch(&mut conn, write::encode_batch(batch).unwrap()).unwrap();
    let record = lemma_core::LogRecord {
        trace_id: Some("c3".repeat(16)),
        span_id: Some(format!("{:016x}", 20)),
        ..Default::default()
    };
    super::logs::write_batch(&mut conn, &[(project, record)]).unwrap();
    // Damage a summary, a digest, a block and a log record.
    conn.execute_batch(&format!(
        "UPDATE runs SET summary = X'00', usage_by_model = '[' WHERE trace_id = X'{a1}';
         UPDATE spans SET digest = X'01FF' WHERE trace_id = X'{b2}' AND span_id = X'000000000000000a';
         UPDATE span_blocks SET body = X'28B52FFD00' WHERE id =
           (SELECT block FROM spans WHERE trace_id = X'{c3}' AND span_id = X'0000000000000015');
         UPDATE logs SET body = X'00';",
        a1 = "a1".repeat(16),
        b2 = "b2".repeat(16),
        c3 = "c3".repeat(16),
    ))
    .unwrap();
    let all = crate::ListQuery {
        limit: 100,
        ..Default::default()
    };
    let runs = read::list_runs(&conn, project, &all).unwrap().items;
    let ids: Vec<&str> = runs.iter().map(|r| &r.run_id[..2]).collect();
    assert_eq!(ids, ["c3", "b2"], "the damaged summary is left out");
    let (_, thread_runs) = read::get_thread(&conn, project, "t").unwrap().unwrap();
    assert_eq!(thread_runs.len(), 2);
    // A run whose summary is damaged is summarised again from its spans.
    let (run, spans) = read::get_run(&conn, project, &"a1".repeat(16))
        .unwrap()
        .unwrap();
    assert_eq!((run.span_count, spans.len()), (2, 2));
    // The spans of a damaged block are left out of the run and of search.
    let (_, spans) = read::get_run(&conn, project, &"c3".repeat(16))
        .unwrap()
        .unwrap();
    assert!(spans.is_empty());
    assert_eq!(
        read::search_spans(&conn, project, &all)
            .unwrap()
            .items
            .len(),
        4
    );
    let query = StatsQuery {
        from_unix_nano: 1_700_000_000_000_000_000,
        to_unix_nano: 1_700_000_000_000_000_000 + 3_600_000_000_000,
        bucket_seconds: 3_600,
        ..StatsQuery::default()
    };
    assert_eq!(stats::stats(&conn, project, &query).unwrap().totals.runs, 2);
    // A commit touching the run with a damaged digest summarises it from the rest.
    let late = genai_chat("b2", 12, 1, "hi");
    write::write_batch(
        &mut conn,
        write::encode_batch(vec![(project, late)]).unwrap(),
    )
    .unwrap();
    let (run, _) = read::get_run(&conn, project, &"b2".repeat(16))
        .unwrap()
        .unwrap();
    assert_eq!(run.span_count, 2);
}

#[test]
fn a_long_run_merges_batches_into_its_state_and_a_damaged_state_is_built_again() {
    let (mut conn, project) = with_project();
    let n = write::MERGE_FROM_SPANS;
    let batch = |range: std::ops::Range<usize>| {
        range
            .map(|i| (project, genai_chat("e5", i, 1, "hi")))
            .collect::<Vec<_>>()
    };
    let span_count = |conn: &Connection| {
        read::get_run(conn, project, &"e5".repeat(16))
            .unwrap()
            .unwrap()
            .0
            .span_count
    };
    let states = |conn: &Connection| count(conn, "SELECT count(*) FROM run_state");
    write::write_batch(&mut conn, write::encode_batch(batch(0..n - 1)).unwrap()).unwrap();
    assert_eq!(states(&conn), 0, "a short run keeps no state");
    write::write_batch(&mut conn, write::encode_batch(batch(n - 1..n + 1)).unwrap()).unwrap();
    assert_eq!((states(&conn), span_count(&conn)), (1, n as u64 + 1));
    assert!(count(&conn, "SELECT count(*) FROM run_calls") > 0);
    // A damaged state is built again from the spans, and the run stays whole.
    conn.execute_batch("UPDATE run_state SET state = X'00'")
        .unwrap();
    write::write_batch(&mut conn, write::encode_batch(batch(n + 1..n + 2)).unwrap()).unwrap();
    assert_eq!(span_count(&conn), n as u64 + 2);
    write::write_batch(&mut conn, write::encode_batch(batch(n + 2..n + 3)).unwrap()).unwrap();
    assert_eq!(span_count(&conn), n as u64 + 3);
    // Deleting the run leaves none of its rows behind.
    assert!(super::delete::delete_run(&mut conn, project, &"e5".repeat(16)).unwrap());
    for table in ["run_state", "run_calls", "run_cover", "run_tools"] {
        assert_eq!(
            count(&conn, &format!("SELECT count(*) FROM {table}")),
            0,
            "{table}"
        );
    }
}

#[test]
fn deleting_a_run_leaves_no_block_or_index_row_behind() {
    let (mut conn, project) = with_project();
    let batch: Vec<(ProjectId, Span)> = (0..6)
        .map(|n| (project, genai_chat(["d1", "d2"][n % 2], n, 2, "pelican")))
        .collect();
    write::write_batch(&mut conn, write::encode_batch(batch).unwrap()).unwrap();
    let indexed = |conn: &Connection| count(conn, "SELECT count(*) FROM span_text_0");
    let (blocks, rows) = (
        count(&conn, "SELECT count(*) FROM span_blocks"),
        indexed(&conn),
    );
    assert!(super::delete::delete_run(&mut conn, project, &"d1".repeat(16)).unwrap());
    assert_eq!(count(&conn, "SELECT count(*) FROM span_blocks"), blocks - 1);
    assert_eq!(indexed(&conn), rows - 3);
    assert_eq!(count(&conn, "SELECT count(*) FROM spans"), 3);
    assert_eq!(count(&conn, "SELECT count(*) FROM runs"), 1);
}

#[test]
fn a_full_disk_is_unavailable_not_an_error_and_passes_once_space_returns() {
    use crate::StoreError;
    let (mut conn, project) = with_project();
    let first = vec![(project, genai_chat("f1", 1, 1, "before"))];
    write::write_batch(&mut conn, write::encode_batch(first).unwrap()).unwrap();
    // No page may be added: as a full disk refuses the write, SQLite answers SQLITE_FULL.
    let pages = count(&conn, "PRAGMA page_count");
    conn.pragma_update(None, "max_page_count", pages).unwrap();
    let filler: String = (0..20_000).map(|i| format!("{i:x}")).collect();
    let batch = vec![(project, genai_chat("f2", 2, 1, &filler))];
    match write::write_batch(&mut conn, write::encode_batch(batch.clone()).unwrap()) {
        Err(StoreError::Unavailable(m)) => assert!(m.contains("full"), "{m}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    // Nothing of the refused batch was kept; reads still answer.
    assert_eq!(count(&conn, "SELECT count(*) FROM spans"), 1);
    assert_eq!(run_spans(&conn, project, "f1").len(), 1);
    conn.pragma_update(None, "max_page_count", 1_000_000)
        .unwrap();
    write::write_batch(&mut conn, write::encode_batch(batch).unwrap()).unwrap();
    assert_eq!(run_spans(&conn, project, "f2").len(), 1);
}

#[test]
fn conditions_of_the_disk_or_a_lock_are_unavailable_and_the_rest_backend_errors() {
    use crate::StoreError;
    use rusqlite::ffi;
    let err = |code| super::sql_err(rusqlite::Error::SqliteFailure(ffi::Error::new(code), None));
    for code in [
        ffi::SQLITE_FULL,
        ffi::SQLITE_READONLY,
        ffi::SQLITE_IOERR,
        ffi::SQLITE_IOERR_WRITE,
        ffi::SQLITE_IOERR_FSYNC,
        ffi::SQLITE_BUSY,
        ffi::SQLITE_LOCKED,
        ffi::SQLITE_READONLY_DBMOVED,
    ] {
        assert!(matches!(err(code), StoreError::Unavailable(_)), "{code}");
    }
    for code in [
        ffi::SQLITE_CORRUPT,
        ffi::SQLITE_NOTADB,
        ffi::SQLITE_CONSTRAINT,
    ] {
        assert!(matches!(err(code), StoreError::Backend(_)), "{code}");
    }
}

#[test]
fn a_file_that_is_not_lemmas_database_is_refused_at_open_and_left_as_it_was() {
    use super::SqliteStore;
    let dir = tempfile::tempdir().unwrap();
    let refused = |name: &str, bytes: &[u8], needle: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let err = match SqliteStore::open(&path) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("{name} was opened"),
        };
        assert!(err.contains(needle), "{name}: {err}");
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{name} was changed");
        err
    };
    let noise: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let err = refused("noise.db", &noise, "not a SQLite database");
    assert!(err.contains("move it aside"), "{err}");

    // Lemma's own database, cut short.
    let whole = dir.path().join("whole.db");
    {
        let store = SqliteStore::open(&whole).unwrap();
        let mut conn = store.inner.writer.lock().unwrap();
        conn.execute(
            "INSERT INTO projects (name, created_ns) VALUES ('p', 0)",
            [],
        )
        .unwrap();
        let batch = (0..40)
            .map(|n| {
                (
                    ProjectId(1),
                    genai_chat("ab", n, 3, "a long enough conversation"),
                )
            })
            .collect();
        write::write_batch(&mut conn, write::encode_batch(batch).unwrap()).unwrap();
    }
    let bytes = std::fs::read(&whole).unwrap();
    assert!(bytes.len() > 100_000, "{}", bytes.len());
    refused("cut.db", &bytes[..bytes.len() / 2], "damaged");

    // Another program's database, and one a newer Lemma wrote.
    let foreign = dir.path().join("foreign.db");
    Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);")
        .unwrap();
    let err = refused(
        "foreign.db",
        &std::fs::read(&foreign).unwrap(),
        "not Lemma's",
    );
    assert!(err.contains("customers"), "{err}");
    Connection::open(&whole)
        .unwrap()
        .pragma_update(None, "user_version", 999)
        .unwrap();
    refused(
        "newer.db",
        &std::fs::read(&whole).unwrap(),
        "schema version 999",
    );

    // A database of an older Lemma, from before the header mark, still opens.
    let older = dir.path().join("older.db");
    std::fs::copy(&whole, &older).unwrap();
    let conn = Connection::open(&older).unwrap();
    conn.pragma_update(None, "user_version", schema::MIGRATIONS.len())
        .unwrap();
    conn.pragma_update(None, "application_id", 0).unwrap();
    drop(conn);
    SqliteStore::open(&older).expect("an older Lemma's database opens");
}
