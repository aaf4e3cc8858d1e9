//! The data dir under stress, through a real `lemma serve`: a full disk is answered with 503
//! (never 200 for what was not stored) while reads go on, and ingest recovers by itself once
//! space returns; a damaged, foreign or newer database is refused at start with a message
//! naming the file and what to do, and left as it was.
//!
//! The full disk is a tmpfs made for the test, which takes root (as CI runs): without it the
//! test fails, saying so, rather than skipping.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::fixtures::send_grpc;
use common::otlp::{hex, request, string_attr};
use common::{client, Server, KEY};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

/// A tmpfs of a given size, mounted on a fresh directory; unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output();
        match out {
            Ok(out) if out.status.success() => Tmpfs { dir },
            other => panic!(
                "this test needs a small filesystem of its own and could not mount one \
                 (mount -t tmpfs needs root, as CI runs): {other:?}"
            ),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Text that does not compress, so the store needs about as many bytes as it holds. It is one
/// word, so the full-text index of it stays small.
fn incompressible(len: usize, seed: u64) -> String {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(
                b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                    [(x % 62) as usize],
            )
        })
        .collect()
}

/// One run of one span carrying `bytes` of payload, over OTLP/HTTP; its run ID.
fn export(server: &Server, n: u32, bytes: usize) -> (reqwest::blocking::Response, String) {
    let (request, run_id) = run_request(n, bytes);
    let resp = client()
        .post(server.url("/v1/traces"))
        .bearer_auth(KEY)
        .header("content-type", "application/x-protobuf")
        .body(request.encode_to_vec())
        .send()
        .unwrap();
    (resp, run_id)
}

fn run_request(n: u32, bytes: usize) -> (ExportTraceServiceRequest, String) {
    let mut trace_id = vec![0x7e; 16];
    trace_id[12..].copy_from_slice(&n.to_be_bytes());
    let span = Span {
        trace_id: trace_id.clone(),
        span_id: vec![1; 8],
        name: format!("run {n}"),
        start_time_unix_nano: 1_700_000_000_000_000_000 + u64::from(n),
        end_time_unix_nano: 1_700_000_001_000_000_000,
        attributes: vec![
            string_attr("gen_ai.operation.name", "invoke_agent"),
            string_attr("lemma.input", &incompressible(bytes, u64::from(n))),
        ],
        ..Default::default()
    };
    (request(vec![span]), hex(&trace_id))
}

#[test]
fn a_full_disk_gets_503_reads_go_on_and_ingest_recovers_when_space_returns() {
    let disk = Tmpfs::mount("48m");
    let server = Server::start_in(&disk.path().join("data"), &[]);
    // Room kept aside, given back later as a cleanup would. It must hold the write-ahead log's
    // pages, which are copied into the database file before the log can start over (up to
    // 16 MB): until they are, a freed disk fills again.
    let ballast = disk.path().join("ballast");
    std::fs::write(&ballast, vec![7u8; 24 << 20]).unwrap();

    let mut stored = Vec::new();
    let mut refused = Vec::new();
    for n in 0..200 {
        let (resp, run_id) = export(&server, n, 256 * 1024);
        match resp.status().as_u16() {
            200 => stored.push(run_id),
            503 => {
                assert!(
                    resp.headers().contains_key("retry-after"),
                    "a 503 without Retry-After"
                );
                refused.push((n, run_id));
                if refused.len() == 3 {
                    break;
                }
            }
            other => panic!("export {n} answered {other}: {:?}", resp.text()),
        }
    }
    assert!(
        !stored.is_empty(),
        "nothing was stored before the disk filled"
    );
    assert_eq!(refused.len(), 3, "the disk never filled");
    // Over gRPC the same is UNAVAILABLE, which exporters retry.
    let (request, _) = run_request(refused[0].0, 256 * 1024);
    let status = send_grpc(&server, request, KEY).expect_err("a full disk stored a gRPC export");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");

    // Reads go on, and hold every acknowledged run and none of the refused.
    let listed: Vec<String> = server
        .all_runs("")
        .iter()
        .map(|r| r["run_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed.len(), stored.len());
    assert!(stored.iter().all(|id| listed.contains(id)));
    let (status, _) = server.get(&format!("/api/v1/runs/{}", stored[0]));
    assert_eq!(status, 200);
    let (status, _) = server.get(&format!("/api/v1/runs/{}", refused[0].1));
    assert_eq!(status, 404);

    // Space returns: the refused exports, retried, land without a restart.
    std::fs::remove_file(&ballast).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    for (n, run_id) in refused {
        loop {
            let (resp, _) = export(&server, n, 256 * 1024);
            match resp.status().as_u16() {
                200 => break,
                503 if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(200)),
                other => panic!("retrying export {n} after space returned: {other}"),
            }
        }
        stored.push(run_id);
    }
    for id in &stored {
        let (status, body) = server.get(&format!("/api/v1/runs/{id}"));
        assert_eq!(status, 200, "acknowledged run {id}: {body}");
        assert_eq!(body["spans"].as_array().unwrap().len(), 1, "{id}");
    }
    assert_eq!(server.all_runs("").len(), stored.len());
}

/// `lemma serve` on `data_dir`, which must refuse to start; its error output.
fn refused_start(data_dir: &Path) -> String {
    let mut child = common::serve_command(data_dir, Some(KEY), &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("lemma serve started on {}", data_dir.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let db = data_dir.join("lemma.db");
    assert!(
        stderr.starts_with("error: ") && stderr.contains(&db.display().to_string()),
        "the message names the file: {stderr}"
    );
    stderr
}

/// A data dir holding a store with a few runs, closed.
fn stored_data_dir(parent: &Path) -> PathBuf {
    let dir = parent.join("data");
    let mut server = Server::start_in(&dir, &[]);
    for n in 0..20 {
        let (resp, _) = export(&server, n, 4 * 1024);
        assert_eq!(resp.status(), 200);
    }
    assert!(server.stop());
    dir
}

/// Refused with `needle` in the message, and the file left as it was.
fn assert_refused(dir: &Path, needle: &str) -> String {
    let db = dir.join("lemma.db");
    let before = std::fs::read(&db).unwrap();
    let err = refused_start(dir);
    assert!(err.contains(needle), "{err}");
    assert_eq!(std::fs::read(&db).unwrap(), before, "the file was changed");
    err
}

#[test]
fn a_damaged_foreign_or_newer_database_is_refused_at_start_and_left_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();

    // Not SQLite at all.
    let noise = tmp.path().join("noise");
    std::fs::create_dir_all(&noise).unwrap();
    std::fs::write(noise.join("lemma.db"), incompressible(10_000, 1)).unwrap();
    let err = assert_refused(&noise, "not a SQLite database");
    assert!(err.contains("move it aside"), "{err}");

    // Lemma's, cut short (once what the write-ahead log held is in the file).
    let cut = stored_data_dir(&tmp.path().join("cut"));
    let db = cut.join("lemma.db");
    rusqlite::Connection::open(&db)
        .unwrap()
        .pragma_update(None, "wal_checkpoint", "TRUNCATE")
        .unwrap();
    let len = std::fs::metadata(&db).unwrap().len();
    assert!(len > 64 * 1024, "{len}");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&db)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    assert_refused(&cut, "damaged");

    // Another program's.
    let foreign = tmp.path().join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    rusqlite::Connection::open(foreign.join("lemma.db"))
        .unwrap()
        .execute_batch("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL);")
        .unwrap();
    let err = assert_refused(&foreign, "not Lemma's");
    assert!(
        err.contains("invoices") && err.contains("--data-dir"),
        "{err}"
    );

    // Written by a newer Lemma.
    let newer = stored_data_dir(&tmp.path().join("newer"));
    rusqlite::Connection::open(newer.join("lemma.db"))
        .unwrap()
        .pragma_update(None, "user_version", 1000)
        .unwrap();
    let err = assert_refused(&newer, "newer Lemma");
    assert!(err.contains("schema version 1000"), "{err}");

    // The admin commands refuse it the same way.
    let out = Command::new(common::lemma_bin())
        .args(["projects", "list", "--data-dir"])
        .arg(&foreign)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not Lemma's"), "{stderr}");
}
