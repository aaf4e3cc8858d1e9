//! The data dir under stress, through a real `lemma serve`: a full disk is answered with 503
//! (never 200 for what was not stored) while reads go on, and ingest recovers by itself once
//! space returns.
//!
//! The full disk is a tmpfs made for the test, which takes root (as CI runs): without it the
//! test fails, saying so, rather than skipping.

mod common;

use std::path::Path;
use std::process::Command;
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
