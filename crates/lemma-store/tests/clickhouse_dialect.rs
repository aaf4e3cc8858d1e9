//! Every statement the ClickHouse store sends runs on current ClickHouse too, not only on the
//! 18.16 server the tests start: the conformance suite runs with the statement log on
//! (`LEMMA_CLICKHOUSE_SQL_LOG`), and `tests/clickhouse/dialect.py` runs each logged statement
//! on the current engine that chdb-core embeds (`scripts/clickhouse-setup` installs it).

use std::path::Path;
use std::process::Command;

use lemma_store::clickhouse::local::LocalServer;
use lemma_store::clickhouse::ClickHouseStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_statement_runs_on_current_clickhouse_too() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = root.join(".cache/clickhouse/venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/clickhouse-setup",
        python.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("statements.jsonl");
    // Read once, when the store first sends a statement; this test binary holds only this test.
    std::env::set_var("LEMMA_CLICKHOUSE_SQL_LOG", &log);
    let server = LocalServer::start(&dir.path().join("server")).expect("starting ClickHouse");
    let address = format!("clickhouse://127.0.0.1:{}/lemma", server.http_port);
    let store = ClickHouseStore::open(&address).await.unwrap();
    lemma_store::conformance::run_all(&store).await;

    let logged = std::fs::read_to_string(&log).unwrap();
    let count = logged.lines().count();
    assert!(count > 50, "only {count} statements were logged");
    for kind in [
        "SELECT",
        "INSERT INTO spans",
        "INSERT INTO runs",
        "CREATE TABLE",
        "ALTER TABLE",
    ] {
        assert!(
            logged.lines().any(|l| l.starts_with(&format!("\"{kind}"))),
            "no {kind} statement was logged"
        );
    }
    let out = Command::new(&python)
        .arg(root.join("tests/clickhouse/dialect.py"))
        .arg(&log)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "statements failed on current ClickHouse:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("{count} of {count} statements ran")),
        "{stdout}"
    );
}
