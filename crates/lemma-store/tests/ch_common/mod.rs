//! What the ClickHouse store's tests share: a fresh store on its own local server, and spans
//! built the way the conformance suite builds them (its own `span`).
// Each test file uses a part of it.
#![allow(dead_code)]

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

pub use lemma_store::conformance::span;

pub fn run_id(trace: u8) -> String {
    format!("{trace:032x}")
}
