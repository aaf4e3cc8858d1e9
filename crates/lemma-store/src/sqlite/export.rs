//! The whole store, read out a page at a time for `lemma migrate`: spans, log records and
//! metric events in the order they were stored (by rowid), each page after where the previous
//! one ended, so a copy can stop anywhere and go on from its last page. Not part of the
//! `Store` trait: only the embedded store is ever copied out.
//!
//! Items come as reads give them (spans decoded as `get_run` decodes them, without the log
//! records reads join to them, which are exported on their own). An item that cannot be read
//! is left out with a warning, as reads leave it out (`readable`).

use lemma_core::{LogRecord, MetricEvent, Span};
use rusqlite::{params, Connection};

use super::blocks::{SpanBodies, BODY_COLUMNS};
use super::codec::decode;
use super::{metrics, readable, sql_err, SqliteStore};
use crate::{ProjectId, Result, StoredKey};

/// A page of items with their projects.
#[derive(Debug)]
pub struct ExportPage<T> {
    pub items: Vec<(ProjectId, T)>,
    /// The rowid of the page's last row, read or left out: the next page starts after it.
    /// `None` when nothing is stored after where the page started.
    pub last: Option<i64>,
    /// Rows left out because they cannot be read.
    pub unreadable: u64,
}

impl<T> ExportPage<T> {
    fn new() -> ExportPage<T> {
        ExportPage {
            items: Vec::new(),
            last: None,
            unreadable: 0,
        }
    }

    fn push(&mut self, rowid: i64, project: ProjectId, item: Option<T>) {
        self.last = Some(rowid);
        match item {
            Some(item) => self.items.push((project, item)),
            None => self.unreadable += 1,
        }
    }
}

impl SqliteStore {
    /// Every API key, with its secret's hash, oldest first.
    pub async fn export_keys(&self) -> Result<Vec<StoredKey>> {
        self.read(keys).await
    }

    /// Up to `limit` spans stored after rowid `after`, fewer when their stored JSON passes
    /// `max_bytes` (at least one).
    pub async fn export_spans(
        &self,
        after: i64,
        limit: usize,
        max_bytes: usize,
    ) -> Result<ExportPage<Span>> {
        self.read(move |conn| spans(conn, after, limit, max_bytes))
            .await
    }

    /// Up to `limit` log records stored after rowid `after`.
    pub async fn export_logs(&self, after: i64, limit: usize) -> Result<ExportPage<LogRecord>> {
        self.read(move |conn| logs(conn, after, limit)).await
    }

    /// Up to `limit` metric events stored after rowid `after`: posted ones and the ones spans
    /// and log records carried.
    pub async fn export_metrics(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<ExportPage<MetricEvent>> {
        self.read(move |conn| metric_events(conn, after, limit))
            .await
    }
}

fn keys(conn: &Connection) -> Result<Vec<StoredKey>> {
    let mut stmt = conn
        .prepare(
            "SELECT p.name, k.public_key, k.secret_hash, k.hint, k.created_ns, k.revoked_ns, k.scope
             FROM api_keys k JOIN projects p ON p.id = k.project_id ORDER BY k.id",
        )
        .map_err(sql_err)?;
    let rows = stmt
        .query_map([], |r| {
            Ok(StoredKey {
                project: r.get(0)?,
                public_key: r.get(1)?,
                secret_hash: r.get(2)?,
                hint: r.get(3)?,
                created_at_unix_nano: r.get::<_, i64>(4)? as u64,
                revoked_at_unix_nano: r.get::<_, Option<i64>>(5)?.map(|t| t as u64),
                scope: super::admin::scope(&r.get::<_, String>(6)?),
            })
        })
        .map_err(sql_err)?;
    rows.collect::<rusqlite::Result<_>>().map_err(sql_err)
}

fn spans(
    conn: &Connection,
    after: i64,
    limit: usize,
    max_bytes: usize,
) -> Result<ExportPage<Span>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT rowid, project_id, {BODY_COLUMNS} FROM spans WHERE rowid > ?1
             ORDER BY rowid LIMIT ?2"
        ))
        .map_err(sql_err)?;
    let mut rows = stmt.query(params![after, limit as i64]).map_err(sql_err)?;
    // One page's blocks are inflated once each, and dropped with the page.
    let mut bodies = SpanBodies::new(conn);
    let (mut page, mut bytes) = (ExportPage::new(), 0);
    while let Some(row) = rows.next().map_err(sql_err)? {
        let rowid: i64 = row.get(0).map_err(sql_err)?;
        let project = ProjectId(row.get(1).map_err(sql_err)?);
        let span = readable("span", bodies.read_sized(row, 2))?.map(|(span, size)| {
            bytes += size;
            span
        });
        page.push(rowid, project, span);
        if bytes >= max_bytes {
            break;
        }
    }
    Ok(page)
}

fn logs(conn: &Connection, after: i64, limit: usize) -> Result<ExportPage<LogRecord>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT rowid, project_id, body FROM logs WHERE rowid > ?1 ORDER BY rowid LIMIT ?2",
        )
        .map_err(sql_err)?;
    let mut rows = stmt.query(params![after, limit as i64]).map_err(sql_err)?;
    let mut page = ExportPage::new();
    while let Some(row) = rows.next().map_err(sql_err)? {
        let rowid: i64 = row.get(0).map_err(sql_err)?;
        let project = ProjectId(row.get(1).map_err(sql_err)?);
        let body = row.get_ref(2).map_err(sql_err)?;
        let record = body
            .as_blob()
            .map_err(|e| crate::StoreError::Backend(format!("stored log record: {e}")))
            .and_then(decode::<LogRecord>);
        page.push(rowid, project, readable("log record", record)?);
    }
    Ok(page)
}

fn metric_events(conn: &Connection, after: i64, limit: usize) -> Result<ExportPage<MetricEvent>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, span_id, name, kind, num, text, comment, source, created_ns,
             rowid, project_id, trace_id FROM metrics WHERE rowid > ?1 ORDER BY rowid LIMIT ?2",
        )
        .map_err(sql_err)?;
    let mut rows = stmt.query(params![after, limit as i64]).map_err(sql_err)?;
    let mut page = ExportPage::new();
    while let Some(row) = rows.next().map_err(sql_err)? {
        let run_id = hex::encode(row.get::<_, Vec<u8>>(11).map_err(sql_err)?);
        let event = metrics::event(row, &run_id).map_err(sql_err)?;
        page.push(
            row.get(9).map_err(sql_err)?,
            ProjectId(row.get(10).map_err(sql_err)?),
            Some(event),
        );
    }
    Ok(page)
}

#[cfg(test)]
mod tests {
    use lemma_core::{semconv, LogRecord, MetricEvent, MetricValue, Span};
    use serde_json::json;

    use super::*;
    use crate::Store;

    fn span(trace: u8, id: u8, text: &str) -> Span {
        let mut s = Span {
            trace_id: format!("{trace:032x}"),
            span_id: format!("{id:016x}"),
            name: "chat m".into(),
            start_time_unix_nano: u64::from(id) * 1_000,
            end_time_unix_nano: u64::from(id) * 1_000 + 500,
            attributes: json!({
                "gen_ai.operation.name": "chat", "gen_ai.request.model": "m",
                "gen_ai.usage.input_tokens": 10, "lemma.cost_usd": 0.5,
                "gen_ai.input.messages": format!("[{{\"role\":\"user\",\"content\":\"{text}\"}}]"),
            })
            .as_object()
            .cloned()
            .unwrap(),
            ..Span::default()
        };
        semconv::normalize(&mut s);
        s
    }

    /// Every span once, in pages that each start after the last, read as `get_run` reads
    /// them; a page stops early at its byte budget.
    #[tokio::test]
    async fn pages_cover_every_item_once_as_reads_give_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("lemma.db")).unwrap();
        let a = store.create_project("a").await.unwrap().id;
        let b = store.create_project("b").await.unwrap().id;
        // Two batches, runs interleaved, so blocks hold several spans of a run.
        for batch in 0..2u8 {
            let spans = (0..10u8)
                .map(|i| {
                    let p = if i % 2 == 0 { a } else { b };
                    (p, span(1 + i % 2, batch * 10 + i + 1, "hello"))
                })
                .collect();
            store.write_spans(spans).await.unwrap();
        }
        let (mut after, mut seen, mut pages) = (0, Vec::new(), 0);
        loop {
            let page = store.export_spans(after, 3, usize::MAX).await.unwrap();
            let Some(last) = page.last else { break };
            assert!(page.items.len() <= 3 && last > after);
            assert_eq!(page.unreadable, 0);
            seen.extend(page.items);
            after = last;
            pages += 1;
        }
        assert_eq!((seen.len(), pages), (20, 7));
        for (project, trace) in [(a, 1u8), (b, 2)] {
            let (_, read) = store
                .get_run(project, &format!("{trace:032x}"))
                .await
                .unwrap()
                .unwrap();
            let mut exported: Vec<Span> = seen
                .iter()
                .filter(|(p, s)| *p == project && s.trace_id == read[0].trace_id)
                .map(|(_, s)| s.clone())
                .collect();
            exported.sort_by_key(|s| s.start_time_unix_nano);
            assert_eq!(exported, read);
            assert!(exported[0].input_messages.is_some() && exported[0].cost_usd == Some(0.5));
        }
        let small = store.export_spans(0, 100, 1).await.unwrap();
        assert_eq!(small.items.len(), 1, "a page holds one span at least");
    }

    #[tokio::test]
    async fn keys_logs_and_metric_events_come_out_as_stored() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("lemma.db")).unwrap();
        let p = store.create_project("p").await.unwrap().id;
        let live = store
            .create_key("p", Some("lm_live-secret".into()), crate::KeyScope::Ingest)
            .await
            .unwrap();
        let gone = store
            .create_key("p", None, crate::KeyScope::Admin)
            .await
            .unwrap();
        store.revoke_key(&gone.info.public_key).await.unwrap();
        let keys = store.export_keys().await.unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].public_key, live.info.public_key);
        assert_eq!(keys[0].scope, crate::KeyScope::Ingest);
        assert_eq!(
            keys[0].secret_hash,
            crate::keys::hash_secret("lm_live-secret")
        );
        assert_eq!(keys[0].created_at_unix_nano, live.info.created_at_unix_nano);
        assert_eq!(keys[0].revoked_at_unix_nano, None);
        assert!(keys[1].revoked_at_unix_nano.is_some());

        let run = format!("{:032x}", 9);
        let record = LogRecord {
            trace_id: Some(run.clone()),
            span_id: Some(format!("{:016x}", 1)),
            time_unix_nano: 5,
            event_name: Some("gen_ai.choice".into()),
            body: Some(json!({"content": "hi"})),
            ..LogRecord::default()
        };
        store.write_logs(vec![(p, record.clone())]).await.unwrap();
        let event = MetricEvent {
            id: String::new(),
            run_id: run,
            span_id: Some(format!("{:016x}", 1)),
            name: "score".into(),
            value: MetricValue::Number(0.75),
            comment: Some("fine".into()),
            source: Some("user".into()),
            time_unix_nano: 7,
        };
        let stored = store.write_metrics(p, vec![event]).await.unwrap();
        let logs = store.export_logs(0, 10).await.unwrap();
        assert_eq!(logs.items, [(p, record)]);
        let events = store.export_metrics(0, 10).await.unwrap();
        assert_eq!(events.items, [(p, stored[0].clone())]);
        let after = events.last.unwrap();
        assert!(store
            .export_metrics(after, 10)
            .await
            .unwrap()
            .last
            .is_none());
    }
}
