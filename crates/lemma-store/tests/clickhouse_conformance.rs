//! The conformance suite against a real ClickHouse (Debian's 18.16, started here:
//! `scripts/clickhouse-setup` installs it), on one server and on a cluster of two shards.

use lemma_store::clickhouse::local::{LocalServer, CLUSTER};
use lemma_store::clickhouse::ClickHouseStore;
use lemma_store::Store;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clickhouse_store_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let server = LocalServer::start(dir.path()).expect("starting ClickHouse");
    let address = format!("clickhouse://127.0.0.1:{}/lemma", server.http_port);
    let store = ClickHouseStore::open(&address).await.unwrap();
    lemma_store::conformance::run_all(&store).await;
    // Stateless: a second store on the same database sees everything the first stored.
    let other = ClickHouseStore::open(&address).await.unwrap();
    let projects = store.list_projects().await.unwrap();
    assert!(projects.len() >= 5, "{projects:?}");
    assert_eq!(other.list_projects().await.unwrap(), projects);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clickhouse_cluster_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let shards = LocalServer::start_cluster(dir.path(), 2).expect("starting ClickHouse shards");
    let list = format!(
        "127.0.0.1:{},127.0.0.1:{}",
        shards[0].http_port, shards[1].http_port
    );
    let address = format!(
        "clickhouse://127.0.0.1:{}/lemma?cluster={CLUSTER}&shards={list}",
        shards[1].http_port
    );
    let store = ClickHouseStore::open(&address).await.unwrap();
    lemma_store::conformance::run_all(&store).await;
}
