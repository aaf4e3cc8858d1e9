//! `lemma backup` while a real server ingests, and `lemma restore` of it into a new data dir a
//! server then reads: every run acknowledged before the backup is there, whole; and clear
//! refusals.

use crate::common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use common::otlp::{hex, request, string_attr};
use common::{fixtures, lemma_bin, Server};
use opentelemetry_proto::tonic::trace::v1::Span;

/// A three-span run, sent in one request (one batch: stored whole or not at all).
fn three_spans(n: u32) -> Vec<Span> {
    let mut trace_id = [7u8; 16];
    trace_id[..4].copy_from_slice(&n.to_be_bytes());
    let start = 1_700_000_000_000_000_000 + n as u64 * 1_000_000;
    (1..=3u8)
        .map(|i| Span {
            trace_id: trace_id.to_vec(),
            span_id: vec![i, 0, 0, 0, 0, 0, 0, 1],
            parent_span_id: if i == 1 {
                vec![]
            } else {
                vec![1, 0, 0, 0, 0, 0, 0, 1]
            },
            name: format!("step {i}"),
            start_time_unix_nano: start,
            end_time_unix_nano: start + 1_000,
            attributes: vec![string_attr("gen_ai.agent.name", "backer")],
            ..Default::default()
        })
        .collect()
}

/// `lemma <args>` with no store in the environment.
fn lemma(args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(lemma_bin())
        .args(args)
        .env_remove("LEMMA_DATA_DIR")
        .env_remove("LEMMA_STORE")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_backup_taken_during_ingest_restores_every_run_acknowledged_before_it_whole() {
    let source = Server::start();
    fixtures::load_all_http(&source);
    let fixture_runs = source.all_runs("-agent:backer");

    // Runs keep arriving while the backup is taken.
    let acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let url = source.url("/v1/traces");
    let sender = {
        let (acked, stop) = (acked.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let body = prost::Message::encode_to_vec(&request(three_spans(n)));
                let resp = common::client()
                    .post(&url)
                    .bearer_auth(common::KEY)
                    .header("content-type", "application/x-protobuf")
                    .body(body)
                    .send()
                    .unwrap();
                if resp.status() == 200 {
                    acked.lock().unwrap().push(n);
                }
            }
        })
    };
    while acked.lock().unwrap().len() < 20 {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let before: Vec<u32> = acked.lock().unwrap().clone();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lemma.backup");
    let data_dir = source.data_dir.to_str().unwrap();
    let (ok, out, err) = lemma(&[
        "backup",
        "--data-dir",
        data_dir,
        "--out",
        file.to_str().unwrap(),
    ]);
    std::thread::sleep(std::time::Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    sender.join().unwrap();
    assert!(ok, "{err}");
    assert!(out.starts_with("Backed up 1 projects, "), "{out}");

    let restored_dir = dir.path().join("restored");
    let (ok, out, err) = lemma(&[
        "restore",
        file.to_str().unwrap(),
        "--data-dir",
        restored_dir.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("lemma serve --data-dir"), "{out}");
    let restored = Server::start_in(&restored_dir, &[]);
    let backed: Vec<serde_json::Value> = restored.all_runs("agent:backer");
    assert!(
        backed.len() >= before.len(),
        "{} < {}",
        backed.len(),
        before.len()
    );
    for run in &backed {
        assert_eq!(run["span_count"], 3, "a run is in a backup whole: {run}");
    }
    let ids: std::collections::BTreeSet<String> = backed
        .iter()
        .map(|r| r["run_id"].as_str().unwrap().to_string())
        .collect();
    for n in before {
        let mut trace_id = [7u8; 16];
        trace_id[..4].copy_from_slice(&n.to_be_bytes());
        assert!(
            ids.contains(&hex(&trace_id)),
            "run {n} was acknowledged before the backup"
        );
    }
    assert_eq!(
        restored.all_runs("-agent:backer"),
        fixture_runs,
        "the recorded runs read back the same"
    );
}

#[test]
fn backup_and_restore_refuse_what_would_lose_data() {
    let mut source = Server::start();
    fixtures::load_all_http(&source);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("first.backup");
    let data_dir = source.data_dir.to_str().unwrap().to_string();
    let data_dir = data_dir.as_str();
    let (ok, _, err) = lemma(&[
        "backup",
        "--data-dir",
        data_dir,
        "--out",
        file.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");

    // Never over an existing file.
    let (ok, _, err) = lemma(&[
        "backup",
        "--data-dir",
        data_dir,
        "--out",
        file.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(err.contains("already exists"), "{err}");
    // Nothing to back up in an empty folder.
    let empty = dir.path().join("empty");
    let (ok, _, err) = lemma(&[
        "backup",
        "--data-dir",
        empty.to_str().unwrap(),
        "--out",
        "x",
    ]);
    assert!(!ok);
    assert!(err.contains("holds no Lemma database"), "{err}");
    // ClickHouse has its own tools.
    let (ok, _, err) = lemma(&[
        "backup",
        "--store",
        "clickhouse://127.0.0.1:1/x",
        "--out",
        "x",
    ]);
    assert!(!ok);
    assert!(err.contains("ClickHouse with its own tools"), "{err}");

    // Not a Lemma database: refused, the target untouched.
    let junk = dir.path().join("junk.backup");
    std::fs::write(&junk, b"not a database at all, just text").unwrap();
    let target = dir.path().join("target");
    let (ok, _, err) = lemma(&[
        "restore",
        junk.to_str().unwrap(),
        "--data-dir",
        target.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(err.contains("is not a Lemma database"), "{err}");
    assert!(!target.join("lemma.db").exists());

    // Over a database only with --replace.
    let restore = |extra: &[&str]| {
        let mut args = vec!["restore", file.to_str().unwrap(), "--data-dir", data_dir];
        args.extend_from_slice(extra);
        lemma(&args)
    };
    let (ok, _, err) = restore(&[]);
    assert!(!ok);
    assert!(err.contains("--replace"), "{err}");
    let runs = source.all_runs("");
    source.stop(); // the server stopped, as a restore over its database asks
    let (ok, _, err) = restore(&["--replace"]);
    assert!(ok, "{err}");
    let again = Server::start_in(std::path::Path::new(data_dir), &[]);
    assert_eq!(again.all_runs(""), runs);
}
