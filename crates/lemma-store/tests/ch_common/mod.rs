//! What the ClickHouse store's tests share: a fresh store on its own local server, and spans
//! built the way the conformance suite builds them.
// Each test file uses a part of it.
#![allow(dead_code)]

use lemma_core::{semconv, Span};
use lemma_store::clickhouse::{local::LocalServer, ClickHouseStore};

/// A store on a server of its own, both gone when dropped (fields drop in order).
pub struct Fixture {
    pub store: ClickHouseStore,
    pub server: LocalServer,
    _dir: tempfile::TempDir,
}

impl Fixture {
    pub async fn start() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let server = LocalServer::start(dir.path()).unwrap();
        let store = ClickHouseStore::open(&format!(
            "clickhouse://127.0.0.1:{}/lemma",
            server.http_port
        ))
        .await
        .unwrap();
        Fixture {
            store,
            server,
            _dir: dir,
        }
    }

    /// A plain client of the server, to look at rows as stored.
    pub fn client(&self) -> clickhouse::Client {
        clickhouse::Client::default()
            .with_url(self.server.http_url())
            .with_database("lemma")
            .with_validation(false)
    }
}

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

pub fn run_id(trace: u8) -> String {
    format!("{trace:032x}")
}
